#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the
# whole suite (ruff, mypy, pytest) against bottle 0.12 and bottle 0.13.
#   bash scripts/test.sh              # both bottle versions
#   BOTTLES="0.13.4" bash scripts/test.sh -k sessions   # one version, extra pytest args
set -euo pipefail
cd "$(dirname "$0")/.."

BOTTLES=${BOTTLES:-"0.12.25 0.13.4"}
PYTHON=${PYTHON:-python3}

# System packages: a real Redis server and a real headless Chromium.
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]} with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi

status=0
first=1
for version in $BOTTLES; do
    venv=".venv/bottle-$version"
    echo "== bottle $version in $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' "bottle==$version"
    if [ $first -eq 1 ]; then
        "$venv/bin/python" -m ruff check canister.py tests benchmarks || status=1
        "$venv/bin/python" -m mypy canister.py || status=1
        first=0
    fi
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=1
done
exit $status
