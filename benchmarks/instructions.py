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

Three more counts back the README's reasons: ``--own`` (no valgrind) splits variant d's
bytecodes per request into canister's own, per function of ``canister.py``, and the rest;
``--gc`` (no valgrind) counts the garbage collections (``gc.get_stats()``) over
``--requests`` requests of a, d and c; ``--blocks`` counts, with callgrind, the calls to
Python's small-block allocator (``_PyObject_Malloc``) per request of a and d; ``--functions``
(Python 3.11 or later) counts, with callgrind, the instructions per request of some of canister's
functions on d, each with all it calls: callgrind collects only inside ``operator.call``, through
which that one function is then called, less what such a call costs by itself. The children of these
two, as those of every mode, draw their session ids from a seeded generator, move canister's clocks
(``canister._now``, ``canister._monotonic``) by a fixed step at each reading and get a fixed environment
(``CHILD_ENVIRONMENT``), so that no count follows the run's speed, its session id or the shell it was started
from: each gives the same in every run from one checkout (``--functions``' counts moved by up to about 2% with
the environment, which moves the addresses that threading.local's keys embed: see ``CHILD_ENVIRONMENT``).

Run (from the repository root; about three minutes, needs ``valgrind``):

    python benchmarks/instructions.py [--requests 500] [--markdown]
        [--cache | --bytecodes | --own | --gc | --blocks | --functions]
"""
from __future__ import annotations

import argparse
import collections
import functools
import gc
import inspect
import io
import itertools
import json
import os
import random
import re
import secrets
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


#: The functions of ``canister.py`` whose instructions ``--functions`` counts, each with all it calls, on variant
#: d: the README's names for them, and each one's class and name in ``canister.py``.
FUNCTIONS = {
    "the request context": "_RequestContext.begin",
    "the request id": "_request_id",
    "the check of the session cookie's form": "SessionManager.cookie_sid",
    "the early checks": "_EarlyChecks.needed",
    "loading the session": "SessionState.load",
    "saving it": "SessionState.finish",
    "encoding the record": "_encode_record",
    "the compare-and-set": "MemoryStore.update",
    "keeping the decoded record": "SessionManager.remember",
    "the headers": "_RequestContext._finish_headers",
}
#: The C function every call of the measured function goes through, once measuring starts, so that
#: ``callgrind --toggle-collect`` counts the instructions of those calls and nothing else (Python 3.11+).
THROUGH = "_operator_call"
_measuring = False


def _return() -> None:
    """A function that returns at once, to count what calling through ``THROUGH`` costs."""


def measure_through_c(qualified: str) -> None:
    """Make ``canister.<qualified>`` call itself through ``operator.call`` once ``_measuring`` is set."""
    import operator
    sys.path.insert(0, str(REPO_ROOT))
    import canister
    owner, _, attribute = qualified.rpartition(".")
    holder = getattr(canister, owner) if owner else canister
    found = inspect.getattr_static(holder, attribute)
    original = found.__func__ if isinstance(found, classmethod) else found

    @functools.wraps(original)
    def through_c(*args: Any, **kwargs: Any) -> Any:
        return operator.call(original, *args, **kwargs) if _measuring else original(*args, **kwargs)

    setattr(holder, attribute, classmethod(through_c) if isinstance(found, classmethod) else through_c)


#: Where the clock ``steady`` gives canister starts (2026-01-01, UTC), and how far it moves at each reading: about
#: as far as a request at full speed moves between two of its readings, so that no work canister does once a
#: second (or once a minute) falls among the counted requests, however slow valgrind and the machine's load make them.
STEADY_START, STEADY_STEP = 1_767_225_600.0, 0.000_02


def steady() -> None:
    """Make every child's counts independent of the run's speed and of chance (each child calls it first, whatever
    it counts): the session ids drawn from a seeded generator, not ``secrets`` (a random id moved d's count by a
    few blocks a request: an id whose hash is negative costs an int object at each look-up of its shard, and the
    cookie check's instructions follow its letters), the request ids' prefix fixed (the ``X-Request-ID`` of every
    answer the same in every run), and canister's clocks (``canister._now`` and ``canister._monotonic``, its seams
    for time) moved by ``STEADY_STEP`` at each reading from ``STEADY_START``, not read from the machine (c's log
    looks once a second at whether its file is still the one its name gives)."""
    import base64
    sys.path.insert(0, str(REPO_ROOT))
    import canister
    ids = random.Random(0)
    secrets.token_urlsafe = lambda nbytes=32: base64.urlsafe_b64encode(ids.randbytes(nbytes)).rstrip(b"=").decode()
    canister._ID_PREFIX = "steady00-"
    canister._now = canister._monotonic = itertools.count(STEADY_START, STEADY_STEP).__next__


def child(name: str, count: int, counted: str = "") -> None:
    """Make ``WARM_UP + count`` requests and check the job happened; with ``counted``, then print
    over ``count`` more the bytecodes the app executes per request (``bytecodes``), the same as JSON
    with those of each function of ``canister.py`` (``own``), or the garbage collections (``gc``).

    A lean loop rather than ``WsgiClient``, so that the client's own work adds
    as little as possible to every app's count.
    """
    if counted == "through:":  # (the cost of the measuring itself: a call through THROUGH of a function that returns)
        import operator
        for _ in range(count):
            operator.call(_return)
        return
    if counted.startswith("through:"):
        measure_through_c(counted.split(":", 1)[1])
        counted = "through"
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
    if counted == "through":
        global _measuring
        _measuring = True
        serve(count)
        _measuring = False
    elif counted == "gc":
        before = sum(generation["collections"] for generation in gc.get_stats())
        serve(count)
        print(sum(generation["collections"] for generation in gc.get_stats()) - before)
    elif counted:
        executed: collections.Counter[tuple[str, str]] = collections.Counter()
        driver = (serve.__code__, start_response.__code__)

        def tracer(frame: Any, event: str, arg: Any) -> Any:
            code = frame.f_code
            if code in driver:
                return None
            frame.f_trace_opcodes = True
            if event == "opcode":
                executed[code.co_filename, getattr(code, "co_qualname", code.co_name)] += 1
            return tracer

        sys.settrace(tracer)
        serve(count)
        sys.settrace(None)
        total = sum(executed.values()) / count
        if counted == "bytecodes":
            print(total)
            return
        own = str(REPO_ROOT / "canister.py")
        print(json.dumps({"total": total, "own": {function: n / count for (filename, function), n
                                                  in executed.most_common() if filename == own}}))


#: What cachegrind's summary calls the counts ``--cache`` reports (its level-1 data misses are
#: reads and writes together).
CACHE_EVENTS = {"instructions": r"I\s+refs:", "L1 instruction misses": r"I1\s+misses:",
                "L1 data misses": r"D1\s+misses:", "mispredicted branches": r"Mispredicts:"}


def child_command(name: str, count: int, counted: str = "") -> list[str]:
    """The command that runs ``child(name, count, counted)`` (after ``steady()``, as every child does)."""
    return [sys.executable, __file__, "--child", name, str(count)] + (["--count", counted] if counted else [])


def instructions(name: str, count: int) -> int:
    """Instructions valgrind counted for a whole run of ``child(name, count)``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + child_command(name, count)
    found = re.search(r"Collected : (\d+)", _run_child(name, command))
    if not found:
        raise SystemExit(f"{name}: no instruction count in valgrind's output")
    return int(found.group(1))


def cache_events(name: str, count: int) -> dict[str, int]:
    """Cachegrind's counts (``CACHE_EVENTS``) for a whole run of ``child(name, count)``."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
               "--cachegrind-out-file=/dev/null"] + child_command(name, count)
    output = _run_child(name, command)
    counts = {}
    for event, label in CACHE_EVENTS.items():
        found = re.search(label + r"\s+([\d,]+)", output)
        if not found:
            raise SystemExit(f"{name}: no {event} in cachegrind's output")
        counts[event] = int(found.group(1).replace(",", ""))
    return counts


def bytecodes(name: str, count: int) -> float:
    """Python bytecodes the app executes per request (``child(name, count, "bytecodes")``)."""
    return float(_run_child(name, child_command(name, count, "bytecodes"), stdout=True))


def counted_by_child(name: str, count: int, counted: str) -> Any:
    """What ``child(name, count, counted)`` prints, for ``own`` and ``gc``."""
    return json.loads(_run_child(name, child_command(name, count, counted), stdout=True))


def function_instructions(qualified: str, count: int) -> float:
    """Instructions per request of ``canister.<qualified>`` and all it calls, on d: callgrind collecting only
    inside ``THROUGH``, which only that function's calls go through, over ``count`` requests after warm-up."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
               f"--toggle-collect={THROUGH}"] + child_command("d", count, f"through:{qualified}")
    found = re.search(r"Collected : (\d+)", _run_child("d", command))
    if not found or not int(found.group(1)):
        raise SystemExit(f"d: callgrind counted no instruction in {qualified} (is it still called on this path?)")
    return int(found.group(1)) / count


def calls_instructions(count: int) -> dict[str, float]:
    """``function_instructions`` of each of ``FUNCTIONS``, less what calling through ``THROUGH`` costs."""
    measuring = function_instructions("", count)
    return {what: function_instructions(qualified, count) - measuring for what, qualified in FUNCTIONS.items()}


#: The entry of the allocator Python takes its objects from (blocks of up to 512 bytes from its pools, larger ones
#: passed on to malloc), which callgrind counts the calls of.
SMALL_BLOCKS = "_PyObject_Malloc"


def small_blocks(name: str, count: int) -> int:
    """Calls to ``SMALL_BLOCKS`` in a whole run of ``child(name, count)``, from callgrind's profile."""
    with tempfile.TemporaryDirectory() as directory:
        profile = Path(directory) / "callgrind.out"
        _run_child(name, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}"]
                   + child_command(name, count))
        names: dict[str, str] = {}
        called, calls = "", 0
        for line in profile.read_text(errors="replace").splitlines():
            found = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line)
            if found:
                kind, number, function = found.groups()
                names[number] = function or names[number]
                called = names[number] if kind == "cfn" else called
            elif line.startswith("calls=") and called == SMALL_BLOCKS:
                calls += int(line[6:].split()[0])
    if not calls:
        raise SystemExit(f"{name}: no call to {SMALL_BLOCKS} in callgrind's profile (a Python without symbols?)")
    return calls


#: The only variables of the environment a child gets (with ``PYTHONHASHSEED=0``): the environment is copied into
#: the child's memory before any object, so one variable more (``PYTEST_CURRENT_TEST``, a shell's ``OLDPWD``) moves
#: the addresses of its objects, and the thread-local objects' keys in the thread's dictionary embed their
#: addresses (``thread.local.0x...``): their hashes, so the probes of each look-up of ``threading.local``
#: attributes, followed the environment (``--functions``' count of the request context moved by 34 instructions).
CHILD_ENVIRONMENT = ("PATH", "HOME", "TMPDIR", "LANG", "TZ")


def _run_child(name: str, command: list[str], stdout: bool = False) -> str:
    """Run a child (under valgrind, or not) with a fixed hash seed and only ``CHILD_ENVIRONMENT`` of this process's
    environment; return its stderr, or its stdout."""
    env = {key: os.environ[key] for key in CHILD_ENVIRONMENT if key in os.environ}
    env["PYTHONHASHSEED"] = "0"
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
    counted.add_argument("--own", action="store_true",
                         help="split d's bytecodes per request into canister's own, per function, and the rest")
    counted.add_argument("--gc", action="store_true",
                         help="count the garbage collections over --requests requests of a, d and c (no valgrind)")
    counted.add_argument("--blocks", action="store_true",
                         help="count the small blocks taken from Python's allocator per request of a and d")
    counted.add_argument("--functions", action="store_true",
                         help="count the instructions per request of some of canister's functions on d (callgrind)")
    parser.add_argument("--child", nargs=2, metavar=("APP", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--count", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        steady()
        child(args.child[0], int(args.child[1]), args.count)
        return
    reports = {"bytecodes": report_bytecodes, "own": report_own, "gc": report_gc}
    for option, report in reports.items():
        if getattr(args, option):
            report(args)
            return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    if args.cache:
        report_cache(args)
        return
    if args.blocks:
        report_blocks(args)
        return
    if args.functions:
        report_functions(args)
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


#: The steps of d's request that ``--own`` adds canister's functions up into (as the README names them);
#: a function not listed is shown as a step of its own (on Python 3.9, which has no ``co_qualname``, all are).
STEPS = {
    "the entry and end": ("Canister.wsgi", "_RequestContext.begin", "_RequestContext._locate", "_request_id",
                          "SessionManager.cookie_sid", "CorsPolicy.covers", "CorsPolicy.is_preflight",
                          "_RequestContext.end"),
    "the early checks' question": ("_EarlyChecks.needed", "_Bottle012EarlyChecks.needed", "_path_not_utf8"),
    "the route wrapper and binding": ("Canister.apply.<locals>.canister_route", "ParameterBinder.bind",
                                      "ParameterBinder._bind_plain_query"),
    "loading the session": ("SessionManager.find", "SessionState.load", "MemoryStore.load", "Session.data"),
    "saving it": ("SessionState.finish", "SessionState._nothing_to_keep", "SessionState.record", "_is_flat",
                  "SessionState._record_user", "_encode_record", "SessionState._store", "SessionManager.ttl",
                  "MemoryStore.update", "SessionManager.remember", "SessionState._saved"),
    "the headers": ("_RequestContext.start_response", "CorsPolicy.apply", "_RequestContext._finish_headers"),
}


def report_own(args: argparse.Namespace) -> None:
    """``--own``: d's bytecodes per request, canister's own (per step, per function of ``canister.py``) and
    the rest."""
    counts = counted_by_child("d", args.requests, "own")
    own = sum(counts["own"].values())
    print(f"d: {counts['total']:,.0f} bytecodes per request, {own:,.0f} of them canister's own "
          f"(in canister.py), {counts['total'] - own:,.0f} Bottle's, the standard library's and the handler's; "
          f"{args.requests} requests; {environment_line()}.\n")
    step_of = {function: step for step, functions in STEPS.items() for function in functions}
    steps: collections.Counter[str] = collections.Counter(dict.fromkeys(STEPS, 0))
    for function, n in counts["own"].items():
        steps[step_of.get(function, function)] += n
    print(table(["step", "bytecodes/request"], [[step, f"{n:,.0f}"] for step, n in steps.items()], args.markdown))
    print()
    rows = [[function, step_of.get(function, ""), f"{n:,.1f}"] for function, n in counts["own"].items()]
    print(table(["canister.py function", "step", "bytecodes/request"], rows, args.markdown))


def report_gc(args: argparse.Namespace) -> None:
    """``--gc``: garbage collections (all generations, ``gc.get_stats()``) over ``--requests`` requests."""
    for name in ("a", "d", "c"):
        collected = counted_by_child(name, args.requests, "gc")
        print(f"{name}: {collected} garbage collections in {args.requests:,} requests")


def report_blocks(args: argparse.Namespace) -> None:
    """``--blocks``: calls to Python's small-block allocator per request (callgrind), d against the floor."""
    per_request = {}
    for name in ("a", "d"):
        low, high = small_blocks(name, args.base), small_blocks(name, args.base + args.requests)
        per_request[name] = (high - low) / args.requests
        print(f"{name}: {per_request[name]:,.1f} small blocks from Python's allocator ({SMALL_BLOCKS}) per request")
    print(f"d/a: {per_request['d'] / per_request['a']:.2f}; {args.requests} requests; {environment_line()}")


def report_functions(args: argparse.Namespace) -> None:
    """``--functions``: instructions per request of each of ``FUNCTIONS``, with all it calls, on d."""
    if sys.version_info < (3, 11):
        raise SystemExit("--functions needs Python 3.11 or later (operator.call, which it counts inside)")
    counts = calls_instructions(args.requests)
    rows = [[what, FUNCTIONS[what], f"{n:,.0f}"] for what, n in counts.items()]
    print(f"d: instructions per request of canister's functions, each with all it calls (a call made through C, "
          f"less its own cost), {args.requests} requests, valgrind callgrind; {environment_line()}.\n")
    print(table(["what", "canister.py function", "instructions/request"], rows, args.markdown))


if __name__ == "__main__":
    main()
