"""Per-request overhead of canister, against plain Bottle and canister 1.5.2.

Measures the cost of one ``GET /?foo=bar`` (sent with an ``Origin`` header, as
a browser's cross-origin fetch is) doing "the job": bump a session
counter behind a cookie, echo ``foo``, send ``Access-Control-Allow-Origin: *``
and log the request line and the response line to a file. Six variants:

  a  bare Bottle route that only echoes ``foo`` (the floor, no job)
  b  the job written by hand in plain Bottle (dict of sessions keyed by a
     ``secrets.token_urlsafe`` cookie, two ``logger.info`` calls to a
     ``logging.FileHandler``, the CORS header set in the route)
  c  canister 2.0 (``../canister.py``), everything on:
     ``Canister(log_path=tmpdir, cors='*')``
  d  the same canister 2.0 app with ``log_level='DISABLED'``
  e  canister 1.5.2 from PyPI (installed once with
     ``pip install --target benchmarks/.cache/canister-1.5.2 --no-deps
     canister==1.5.2``; ``inspect.getargspec`` is shimmed in the worker)
  f  the job by hand of b with its logger turned off (level CRITICAL): the
     fair reference for d, which does the same job with logging disabled

Each variant runs in its own worker process (two modules named ``canister``
cannot share one) that calls its app's WSGI callable directly, building a
fresh environ per request and carrying the cookie between requests: no HTTP
server, no socket. At warm-up every worker asserts that the job really
happens (counter increments with the cookie, ``foo`` echoed, CORS header
present, log file grows, or stays put for ``d``); at the end it asserts the
counter equals the number of requests it served. Then, for R rounds, the
parent asks each worker in turn (rotating the order) to time N requests.
Reported: median microseconds per request, and ratios taken as the median of
the per-round ratios.  Many short rounds (100 of 300 requests, a few ms per
variant) keep the variants of one round close in time, so that a shared
machine's slowdowns, which last longer than that, hit all of them alike: on
this project's virtual machine, runs of 20 rounds of 2,000 requests gave d/a
anywhere from 1.54 to 1.75, runs of the defaults 1.61 to 1.65.

Run (from the repository root; about a minute with the defaults):

    python benchmarks/overhead.py [--rounds 100] [--requests 300] [--markdown]

``--variants abe`` runs a subset (e.g. without canister 2.0).  ``--baseline DIR`` adds
variants C and D: the same as c and d with the ``canister.py`` of DIR (a worktree of an
earlier commit, say), so a change is measured against its baseline in one run.
"""
from __future__ import annotations

import argparse
import inspect
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import (CACHE_DIR, REPO_ROOT, Worker, WsgiClient, add_counter_routes, directory_size,
                      environment_line, median, median_ratio, run_or_work, serve, table,
                      time_requests, timing_options, wait_for_growth)

LEGACY_VERSION = "1.5.2"
DEFAULT_LEGACY_DIR = CACHE_DIR / f"canister-{LEGACY_VERSION}"

VARIANTS: dict[str, str] = {
    "a": "bare Bottle, echo only (floor)",
    "b": "plain Bottle, job by hand",
    "c": "canister 2.0, all on",
    "d": "canister 2.0, log DISABLED",
    "e": f"canister {LEGACY_VERSION} (PyPI)",
    "f": "plain Bottle, job by hand, log off",
    "C": "canister from --baseline, all on",
    "D": "canister from --baseline, log DISABLED",
}
#: (numerator, denominator, meaning) of the reported ratios.
RATIOS: list[tuple[str, str, str]] = [
    ("c", "b", "canister 2.0 vs the same job by hand"),
    ("c", "e", f"canister 2.0 vs canister {LEGACY_VERSION}"),
    ("d", "a", "canister 2.0 without logging vs the floor"),
    ("d", "f", "canister 2.0 without logging vs the job by hand without logging"),
    ("b", "a", "the job by hand vs the floor"),
    ("e", "a", f"canister {LEGACY_VERSION} vs the floor"),
    ("C", "b", "the baseline canister vs the same job by hand"),
    ("D", "a", "the baseline canister without logging vs the floor"),
    ("c", "C", "this canister vs the baseline, everything on"),
    ("d", "D", "this canister vs the baseline, logging off"),
]
QUERY = "foo=bar"
#: Sent with every request, as a browser does on a cross-origin fetch: canister
#: (rightly) adds CORS headers only to requests that carry an Origin.
HEADERS = {"Origin": "http://localhost:3000"}


# ---------------------------------------------------------------------------
# The variants (built inside their worker process)
# ---------------------------------------------------------------------------

def build_bare(workdir: Path) -> Any:
    import bottle
    app = bottle.Bottle()

    @app.get("/")
    def index() -> str:
        return bottle.request.query.get("foo", "")

    return app


def build_by_hand(workdir: Path, log_level: int = logging.INFO) -> Any:
    import secrets

    import bottle
    request, response = bottle.request, bottle.response

    log_dir = workdir / "logs"
    log_dir.mkdir()
    logger = logging.getLogger("plain-bottle")
    handler = logging.FileHandler(log_dir / "plain.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(log_level)
    logger.propagate = False

    sessions: dict[str, dict[str, Any]] = {}
    app = bottle.Bottle()

    def current_session() -> dict[str, Any]:
        sid = request.get_cookie("session_id")
        data = sessions.get(sid) if sid else None
        if data is None:
            sid = secrets.token_urlsafe(32)
            data = sessions[sid] = {}
            response.set_cookie("session_id", sid, path="/", httponly=True, samesite="Lax")
        return data

    @app.get("/")
    def index() -> str:
        logger.info("%s %s", request.method, request.url)
        data = current_session()
        data["counter"] = data.get("counter", 0) + 1
        response.set_header("Access-Control-Allow-Origin", "*")
        foo = request.query.get("foo", "")
        logger.info("Response: %d", response.status_code)
        return foo

    @app.get("/_counter")
    def counter() -> str:
        return str(current_session().get("counter", 0))

    return app


def build_canister(workdir: Path, log_level: str | None = None, root: Path = REPO_ROOT) -> Any:
    sys.path.insert(0, str(root))
    import bottle
    import canister
    from canister import session
    expected = root / "canister.py"
    if Path(canister.__file__).resolve() != expected:
        raise RuntimeError(f"imported {canister.__file__}, expected {expected}")

    options: dict[str, Any] = {"log_path": str(workdir / "logs"), "cors": "*"}
    if log_level is not None:
        options["log_level"] = log_level
    app = bottle.Bottle()
    app.install(canister.Canister(**options))
    add_counter_routes(app, session)

    return app


def build_legacy(workdir: Path, legacy_dir: Path) -> Any:
    # canister 1.5.2 calls inspect.getargspec on every request; it was removed
    # in Python 3.11. Restore it from getfullargspec before the import.
    if not hasattr(inspect, "getargspec"):
        from collections import namedtuple
        ArgSpec = namedtuple("ArgSpec", "args varargs keywords defaults")

        def getargspec(func: Any) -> Any:
            spec = inspect.getfullargspec(func)
            return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)

        inspect.getargspec = getargspec  # type: ignore[attr-defined]
    sys.path.insert(0, str(legacy_dir))
    import bottle
    import canister
    from canister import session
    if Path(canister.__file__).resolve().parent != legacy_dir.resolve():
        raise RuntimeError(f"imported {canister.__file__}, expected one in {legacy_dir}")

    app = bottle.Bottle()
    # 1.5.2 reads its configuration from app.config only (case-sensitive keys).
    app.config["canister.log_path"] = str(workdir / "logs")
    app.config["canister.log_level"] = "INFO"
    app.config["canister.CORS"] = "*"
    app.install(canister.Canister())
    add_counter_routes(app, session)  # (1.5.2 fills handler arguments from request.params by name)

    return app


# ---------------------------------------------------------------------------
# Worker process
# ---------------------------------------------------------------------------

class VariantWorker:
    """Owns one variant's app and client; answers the parent's requests."""

    def __init__(self, variant: str, workdir: Path, legacy_dir: Path, baseline: Path | None = None) -> None:
        self.variant = variant
        self.workdir = workdir
        if variant == "a":
            self.app = build_bare(workdir)
        elif variant == "b":
            self.app = build_by_hand(workdir)
        elif variant == "f":
            self.app = build_by_hand(workdir, log_level=logging.CRITICAL)
        elif variant == "c":
            self.app = build_canister(workdir)
        elif variant == "d":
            self.app = build_canister(workdir, log_level="DISABLED")
        elif variant == "e":
            self.app = build_legacy(workdir, legacy_dir)
        elif variant in ("C", "D") and baseline is not None:
            self.app = build_canister(workdir, log_level="DISABLED" if variant == "D" else None, root=baseline)
        else:
            raise ValueError(f"unknown variant {variant!r}")
        self.log_dir = workdir / "logs"
        self.has_job = variant != "a"
        self.logs_expected = variant in ("b", "c", "e", "C")
        self.client = WsgiClient(self.app, headers=HEADERS)
        self.job_requests = 0  # requests to "/" made with this client

    def get(self) -> Any:
        response = self.client.request("/", QUERY)
        self.job_requests += 1
        return response

    def counter(self) -> int:
        response = self.client.request("/_counter")
        assert response.status == 200, response
        return int(response.body)

    def warmup(self, requests: int) -> dict[str, Any]:
        """Check that the job really happens, then warm up."""
        first = self.get()
        assert first.status == 200, f"status {first.status}: {first.body[:500]!r}"
        assert first.body == b"bar", f"foo not echoed: {first.body[:500]!r}"
        if not self.has_job:
            assert not first.header_all("Set-Cookie"), first
            assert first.header("Access-Control-Allow-Origin") is None, first
            time_requests(self.client, requests, "/", QUERY)
            self.job_requests += requests
            return {"checked": "echo"}

        assert first.header("Access-Control-Allow-Origin") == "*", f"no CORS header: {first.headers}"
        assert self.client.cookies, f"no session cookie set: {first.headers}"
        cookies = dict(self.client.cookies)
        assert self.counter() == 1, "counter is not 1 after the first request"

        size_before = directory_size(self.log_dir)
        second = self.get()
        assert second.status == 200 and second.body == b"bar", second
        assert second.header("Access-Control-Allow-Origin") == "*", second
        if self.logs_expected:
            size_after = wait_for_growth(self.log_dir, size_before)
            assert size_after > size_before, f"log in {self.log_dir} did not grow"
            tail = self._log_tail(size_before)
            assert "GET " in tail and "?foo=bar" in tail, f"no request line logged: {tail!r}"
            assert "200" in tail, f"no response line logged: {tail!r}"
        else:
            size_after = wait_for_growth(self.log_dir, size_before, timeout=0.2)
            assert size_after == size_before, f"log in {self.log_dir} grew with logging disabled"
        assert self.counter() == 2, "counter did not increment with the cookie"
        assert self.client.cookies == cookies, "session cookie changed between requests"

        time_requests(self.client, requests, "/", QUERY)
        self.job_requests += requests
        assert self.counter() == self.job_requests, "counter lost increments during warm-up"
        return {"checked": "job", "cookies": sorted(self.client.cookies),
                "log_bytes_per_request": (size_after - size_before) if self.logs_expected else 0}

    def _log_tail(self, offset_total: int) -> str:
        # The newest bytes across the log directory (one file in practice).
        texts = []
        for path in sorted(self.log_dir.iterdir()):
            texts.append(path.read_text(errors="replace"))
        return "".join(texts)[offset_total:]

    def time(self, requests: int) -> float:
        result = time_requests(self.client, requests, "/", QUERY)
        self.job_requests += requests
        return result

    def verify(self) -> dict[str, Any]:
        """At the end: every request of the run was counted in the session."""
        if self.has_job:
            value = self.counter()
            assert value == self.job_requests, f"counter {value} != {self.job_requests} requests"
        return {"requests": self.job_requests}


def worker_main(args: argparse.Namespace) -> None:
    worker = VariantWorker(args.worker, Path(args.workdir), Path(args.legacy_dir),
                           Path(args.baseline).resolve() if args.baseline else None)
    serve({"warmup": worker.warmup, "time": worker.time, "verify": worker.verify})


# ---------------------------------------------------------------------------
# Parent process
# ---------------------------------------------------------------------------

def ensure_legacy(legacy_dir: Path) -> None:
    """Install canister 1.5.2 into its own directory once."""
    if (legacy_dir / "canister.py").is_file():
        return
    print(f"installing canister=={LEGACY_VERSION} into {legacy_dir} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(legacy_dir),
                    "--no-deps", f"canister=={LEGACY_VERSION}"], check=True)


def run(args: argparse.Namespace) -> None:
    if args.variants is None:
        args.variants = "abcdef" + ("CD" if args.baseline else "")
    variants = [v for v in VARIANTS if v in args.variants]
    if not variants or set(args.variants) - set(VARIANTS):
        sys.exit(f"--variants takes letters from {''.join(VARIANTS)}")
    if {"c", "d"} & set(variants) and not (REPO_ROOT / "canister.py").is_file():
        sys.exit(f"{REPO_ROOT / 'canister.py'} not found (use --variants abe)")
    if {"C", "D"} & set(variants) and not (args.baseline and (Path(args.baseline) / "canister.py").is_file()):
        sys.exit("variants C and D need --baseline DIR, a directory holding another canister.py")
    legacy_dir = Path(args.legacy_dir).resolve()
    if "e" in variants:
        ensure_legacy(legacy_dir)

    workers: dict[str, Worker] = {}
    with tempfile.TemporaryDirectory(prefix="canister-overhead-") as tmp:
        try:
            for v in variants:
                workdir = Path(tmp) / v
                workdir.mkdir()
                workers[v] = Worker(v, [__file__, "--worker", v, "--workdir", str(workdir),
                                        "--legacy-dir", str(legacy_dir)]
                                    + (["--baseline", str(Path(args.baseline).resolve())] if args.baseline else []))
            for v in variants:
                workers[v].call("warmup", requests=args.warmup)

            timings: dict[str, list[float]] = {v: [] for v in variants}
            for round_index in range(args.rounds):
                shift = round_index % len(variants)
                for v in variants[shift:] + variants[:shift]:
                    timings[v].append(workers[v].call("time", requests=args.requests))
            for v in variants:
                workers[v].call("verify")
        finally:
            for worker in workers.values():
                worker.stop()

    report(args, variants, timings)


def report(args: argparse.Namespace, variants: list[str], timings: dict[str, list[float]]) -> None:
    title = (f"canister overhead: GET /?foo=bar, {args.rounds} rounds x {args.requests} requests "
             f"per variant, direct WSGI calls, one process per variant")
    rows = [[v, VARIANTS[v], f"{median(timings[v]):.1f}", f"{min(timings[v]):.1f}",
             f"{max(timings[v]):.1f}"] for v in variants]
    ratio_rows = [[f"{n}/{d}", meaning, f"{median_ratio(timings[n], timings[d]):.2f}"]
                  for n, d, meaning in RATIOS if n in timings and d in timings]
    if args.markdown:
        print(f"{title}; {environment_line()}.\n")
        print(table(["variant", "what", "median µs/request", "min", "max"], rows, markdown=True))
        print()
        print(table(["ratio", "meaning", "median of per-round ratios"], ratio_rows, markdown=True))
    else:
        print(title)
        print(environment_line())
        print()
        print(table(["variant", "what", "median us/req", "min", "max"], rows))
        print()
        print(table(["ratio", "meaning", "median of per-round ratios"], ratio_rows))


def main() -> None:
    parser = timing_options(__doc__.split("\n\n")[0], rounds=100, requests=300, warmup=500)
    parser.add_argument("--variants", help="subset, e.g. abe (default: abcdef, and CD with --baseline)")
    parser.add_argument("--legacy-dir", default=str(DEFAULT_LEGACY_DIR),
                        help=f"where canister {LEGACY_VERSION} is (installed if missing)")
    parser.add_argument("--baseline", help="a directory with another canister.py (say, a worktree of main), "
                        "timed as variants C and D beside this one")
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    run_or_work(parser, run, worker_main)


if __name__ == "__main__":
    main()
