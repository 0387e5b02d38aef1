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

Run (from the repository root; about three minutes, needs ``valgrind``):

    python benchmarks/instructions.py [--requests 500] [--markdown]
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


def child(name: str, count: int) -> None:
    """Make ``WARM_UP + count`` requests and check the job happened.

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

    for _ in range(WARM_UP + count):
        body = b"".join(app(dict(template), start_response))
        for key, value in answer[1]:
            if key == "Set-Cookie":
                template["HTTP_COOKIE"] = value.split(";")[0]
        if not answer[0].startswith("200") or body != b"bar":
            raise SystemExit(f"{name}: unexpected answer {answer[0]} {body!r}")
    if name in ("b", "c", "d"):
        counter = b"".join(app(dict(template, PATH_INFO="/_counter", QUERY_STRING=""), start_response))
        if int(counter) != WARM_UP + count:
            raise SystemExit(f"{name}: the session counter is {counter!r}, expected {WARM_UP + count}")


def instructions(name: str, count: int) -> int:
    """Instructions valgrind counted for a whole run of ``child(name, count)``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--child", name, str(count)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{name}: valgrind run failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--base", type=int, default=100)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("APP", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
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


if __name__ == "__main__":
    main()
