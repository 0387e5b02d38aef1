#!/usr/bin/env bash
# Run canister's demo from a checkout, on a fresh machine with only python3 (Debian's own
# Python refuses `pip install` outside a virtual environment, PEP 668, and has no `python`).
# It makes a virtual environment in .venv/demo with python3 (installing Debian's python3-venv
# with apt-get when venv cannot bootstrap pip), installs this checkout there, then runs
# `python -m canister demo`; extra arguments go to the demo:
#   bash scripts/demo.sh                   # http://127.0.0.1:8080/
#   bash scripts/demo.sh --port 8000 --config app.ini
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv/demo

# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in the separate python3-venv package.
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "== installing python3-venv with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-venv
fi
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "== making $VENV with $PYTHON"
    "$PYTHON" -m venv --clear "$VENV"
fi
echo "== installing this checkout into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check .
exec "$VENV/bin/python" -m canister demo "$@"
