"""CPU instructions per request of canister's parts, counted under valgrind.

Timings on a shared virtual machine move by a factor of three from one hour to
the next; instruction counts do not. This script runs the ``GET /?foo=bar`` job
of ``overhead.py`` (the same app builders) under ``valgrind --tool=callgrind``
and reports instructions per request for five apps, each adding one part,
and for the job written by hand:

  a        bare Bottle route that only echoes ``foo`` (the floor)
  entry    canister installed (log DISABLED, CORS ``*``), a route that reads
           ``foo`` itself and never touches the session: canister's WSGI
           entry and route wrapper
  bind     the same, with ``foo`` bound as a handler parameter
  d        the full job of ``overhead.py``'s variant d: ``foo`` bound and a
           session counter bumped behind a cookie
  c        the same with the log on (variant c): the request and response
           lines written to a file
  b        the job written by hand in plain Bottle (variant b), for c/b

Each app is run twice in a fresh interpreter, for ``--base`` and for
``--base + --requests`` requests (after a warm-up), with a fixed hash seed; the
difference divided by ``--requests`` cancels start-up and import costs.
Instruction counts are not times (a cache miss costs more than an addition),
but they show where the work is and they compare across runs.

Two other counts say why canister's share of the time is larger than its share
of the instructions: ``--cache`` runs cachegrind instead, with its cache and
branch simulation, and adds the level-1 cache misses and the mispredicted
branches per request; ``--bytecodes`` (no valgrind, seconds) counts the Python
bytecodes each app executes per request (``sys.settrace`` opcode events over
``--requests`` requests after the same warm-up; the loop that calls the app is
left out).

Run (from the repository root; about three minutes, needs ``valgrind``):

    python benchmarks/instructions.py [--requests 500] [--markdown] [--cache | --bytecodes]
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import REPO_ROOT, environment_line, table

APPS = {
    "a": "bare Bottle route (floor)",
    "entry": "+ canister's WSGI entry and route wrapper",
    "bind": "+ binding foo as a parameter",
    "d": "+ the session counter (variant d)",
    "c": "+ the request and response lines logged (variant c)",
    "b": "the job by hand, logged (variant b)",
}
WARM_UP = 100


def build(name: str, workdir: Path) -> Any:
    import overhead
    if name == "a":
        return overhead.build_bare(workdir)
    if name == "d":
        return overhead.build_canister(workdir, "DISABLED")
    if name == "c":
        return overhead.build_canister(workdir)
    if name == "b":
        return overhead.build_by_hand(workdir)
    sys.path.insert(0, str(REPO_ROOT))
    import bottle
    import canister
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(workdir / "logs"), cors="*", log_level="DISABLED"))
    if name == "entry":
        app.route("/", callback=lambda: bottle.request.query.get("foo", ""))
    else:
        app.route("/", callback=lambda foo: foo)
    return app


def child(name: str, count: int, trace: bool = False) -> None:
    """Make ``WARM_UP + count`` requests and check the job happened; with ``trace``, then print
    the bytecodes the app executes per request over ``count`` more.

    A lean loop rather than ``WsgiClient``, so that the client's own work adds
    as little as possible to every app's count.
    """
    app = build(name, Path(tempfile.mkdtemp()))
    template = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "foo=bar", "SCRIPT_NAME": "",
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8080", "HTTP_ORIGIN": "http://localhost:3000",
                "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr}
    answer: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer[:] = (status, headers)

    def serve(requests: int) -> None:
        for _ in range(requests):
            body = b"".join(app(dict(template), start_response))
            for key, value in answer[1]:
                if key == "Set-Cookie":
                    template["HTTP_COOKIE"] = value.split(";")[0]
            if not answer[0].startswith("200") or body != b"bar":
                raise SystemExit(f"{name}: unexpected answer {answer[0]} {body!r}")

    serve(WARM_UP + count)
    if name in ("b", "c", "d"):
        counter = b"".join(app(dict(template, PATH_INFO="/_counter", QUERY_STRING=""), start_response))
        if int(counter) != WARM_UP + count:
            raise SystemExit(f"{name}: the session counter is {counter!r}, expected {WARM_UP + count}")
    if trace:
        executed = 0
        driver = (serve.__code__, start_response.__code__)

        def tracer(frame: Any, event: str, arg: Any) -> Any:
            nonlocal executed
            if frame.f_code in driver:
                return None
            frame.f_trace_opcodes = True
            if event == "opcode":
                executed += 1
            return tracer

        sys.settrace(tracer)
        serve(count)
        sys.settrace(None)
        print(executed / count)


#: What cachegrind's summary calls the counts ``--cache`` reports (its level-1 data misses are
#: reads and writes together).
CACHE_EVENTS = {"instructions": r"I\s+refs:", "L1 instruction misses": r"I1\s+misses:",
                "L1 data misses": r"D1\s+misses:", "mispredicted branches": r"Mispredicts:"}


def instructions(name: str, count: int) -> int:
    """Instructions valgrind counted for a whole run of ``child(name, count)``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--child", name, str(count)]
    found = re.search(r"Collected : (\d+)", _run_child(name, command))
    if not found:
        raise SystemExit(f"{name}: no instruction count in valgrind's output")
    return int(found.group(1))


def cache_events(name: str, count: int) -> dict[str, int]:
    """Cachegrind's counts (``CACHE_EVENTS``) for a whole run of ``child(name, count)``."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
               "--cachegrind-out-file=/dev/null", sys.executable, __file__, "--child", name, str(count)]
    output = _run_child(name, command)
    counts = {}
    for event, label in CACHE_EVENTS.items():
        found = re.search(label + r"\s+([\d,]+)", output)
        if not found:
            raise SystemExit(f"{name}: no {event} in cachegrind's output")
        counts[event] = int(found.group(1).replace(",", ""))
    return counts


def bytecodes(name: str, count: int) -> float:
    """Python bytecodes the app executes per request (``child(name, count, trace=True)``)."""
    return float(_run_child(name, [sys.executable, __file__, "--child", name, str(count), "--trace"], stdout=True))


def _run_child(name: str, command: list[str], stdout: bool = False) -> str:
    """Run a child (under valgrind, or not) with a fixed hash seed; return its stderr, or its stdout."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{name}: the run failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return done.stdout if stdout else done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--base", type=int, default=100)
    parser.add_argument("--markdown", action="store_true")
    counted = parser.add_mutually_exclusive_group()
    counted.add_argument("--cache", action="store_true",
                         help="run cachegrind: add level-1 cache misses and mispredicted branches")
    counted.add_argument("--bytecodes", action="store_true",
                         help="count the Python bytecodes executed per request instead (no valgrind)")
    parser.add_argument("--child", nargs=2, metavar=("APP", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.trace)
        return
    if args.bytecodes:
        report_bytecodes(args)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    if args.cache:
        report_cache(args)
        return
    per_request = {}
    for name in APPS:
        low, high = instructions(name, args.base), instructions(name, args.base + args.requests)
        per_request[name] = (high - low) / args.requests
        print(f"  {name}: {per_request[name]:,.0f} instructions per request", file=sys.stderr)
    floor = per_request["a"]
    rows, previous = [], 0.0
    for name, what in APPS.items():
        step = per_request[name] - previous
        rows.append([name, what, f"{per_request[name]:,.0f}", f"{step:+,.0f}" if previous and name != "b" else "",
                     f"{per_request[name] / floor:.2f}"])
        previous = per_request[name]
    rows.append(["c/b", "canister with the log on, against the job by hand", "", "",
                 f"{per_request['c'] / per_request['b']:.2f}"])
    print(f"canister instructions per GET /?foo=bar, {args.requests} requests, valgrind callgrind; "
          f"{environment_line()}.\n")
    print(table(["app", "what", "instructions/request", "step", "vs a"], rows, args.markdown))


def report_cache(args: argparse.Namespace) -> None:
    """``--cache``: cachegrind's counts per request, each app against the floor."""
    per_request = {}
    for name in APPS:
        low, high = cache_events(name, args.base), cache_events(name, args.base + args.requests)
        per_request[name] = {event: (high[event] - low[event]) / args.requests for event in CACHE_EVENTS}
        print(f"  {name}: {per_request[name]}", file=sys.stderr)
    floor = per_request["a"]
    rows = [[name, what] + [f"{counts[event]:,.0f} ({counts[event] / floor[event]:.2f})" for event in CACHE_EVENTS]
            for (name, what), counts in zip(APPS.items(), per_request.values())]
    print(f"canister per GET /?foo=bar, {args.requests} requests, valgrind cachegrind (simulated caches and "
          f"branch predictor; in brackets: against a); {environment_line()}.\n")
    print(table(["app", "what"] + [f"{event}/request" for event in CACHE_EVENTS], rows, args.markdown))


def report_bytecodes(args: argparse.Namespace) -> None:
    """``--bytecodes``: Python bytecodes per request, each app against the floor."""
    per_request = {name: bytecodes(name, args.requests) for name in APPS}
    rows = [[name, what, f"{per_request[name]:,.0f}", f"{per_request[name] / per_request['a']:.2f}"]
            for name, what in APPS.items()]
    print(f"canister Python bytecodes per GET /?foo=bar, {args.requests} requests; {environment_line()}.\n")
    print(table(["app", "what", "bytecodes/request", "vs a"], rows, args.markdown))


if __name__ == "__main__":
    main()
