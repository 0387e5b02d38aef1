"""Per-request cost of canister's session stores, and Redis round trips.

The job is the session counter: ``GET /?foo=bar`` bumps
``session.data['counter']`` behind the session cookie and echoes ``foo``
(logging disabled, no CORS, so the store is what differs). Three variants,
each in its own worker process calling the WSGI app directly (no HTTP
server), interleaved round by round in one run:

  memory  ``session_store='memory'``
  sqlite  ``session_store='sqlite:////<tmpdir>/sessions.db'`` (a temp dir)
  redis   ``session_store='redis://127.0.0.1:<port>/0'`` against a
          ``redis-server`` this script starts on a free 127.0.0.1 port with a
          temp dir and no persistence, and stops at the end

Reported: median microseconds per request, ratios vs memory (median of the
per-round ratios), and for Redis the round trips and commands per request,
read on the server as deltas of ``INFO`` over all timed requests:
``total_reads_processed`` (read events, i.e. client round trips, whatever the
client library pipelines) and the sum of ``cmdstat_*`` calls (excluding the
script's own ``INFO``). The target is at most 2 round trips per request.
Then, for Redis alone, as many requests that only read their session
(``GET /_counter``, the counter unchanged): the target is 1 round trip each; and as
many again once the session has a length of its own (``session.remember(3600)``),
which a request that only reads it confirms with the update script (no target).
Every worker checks at warm-up that the counter increments with the cookie,
and at the end that it equals the number of requests it served.

``--baseline DIR`` adds a fourth variant, ``redis-baseline``: the canister.py in DIR (a
worktree of an earlier commit, say) on a redis-server of its own, timed in the same rounds,
with its round trips and commands counted on its server and its median per-round ratio to
this canister's Redis, so that a change to the Redis store is measured against its baseline
in one run.

Run (from the repository root; well under a minute with the defaults):

    python benchmarks/stores.py [--rounds 20] [--requests 1000] [--markdown] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (REPO_ROOT, Worker, WsgiClient, add_counter_routes, environment_line, median,
                      median_ratio, run_or_work, serve, table, time_requests, timing_options)

STORES = ["memory", "sqlite", "redis"]
QUERY = "foo=bar"
MAX_ROUND_TRIPS = 2
#: Round trips of a request that only reads its session.
MAX_READ_ROUND_TRIPS = 1


# ---------------------------------------------------------------------------
# Worker process
# ---------------------------------------------------------------------------

class StoreWorker:
    """One canister app on one store, driven by a cookie-keeping client."""

    def __init__(self, store: str, url: str, root: Path = REPO_ROOT) -> None:
        sys.path.insert(0, str(root))
        import bottle
        import canister
        from canister import session
        expected = root / "canister.py"
        if Path(canister.__file__).resolve() != expected:
            raise RuntimeError(f"imported {canister.__file__}, expected {expected}")

        self.store = store
        self.app = bottle.Bottle()
        self.app.install(canister.Canister(session_store=url, log_level="DISABLED"))

        add_counter_routes(self.app, session)

        @self.app.get("/_remember")
        def remember() -> str:
            session.remember(3600)
            return "remembered"

        self.client = WsgiClient(self.app)
        self.job_requests = 0

    def remember(self) -> None:
        """Give the session a length of its own (``session.remember``), as a "remember me" login does."""
        response = self.client.request("/_remember")
        assert response.status == 200 and response.body == b"remembered", response

    def counter(self) -> int:
        response = self.client.request("/_counter")
        assert response.status == 200, response
        return int(response.body)

    def warmup(self, requests: int) -> dict[str, Any]:
        first = self.client.request("/", QUERY)
        self.job_requests += 1
        assert first.status == 200 and first.body == b"bar", first
        assert self.client.cookies, f"no session cookie: {first.headers}"
        cookies = dict(self.client.cookies)
        assert self.counter() == 1, "counter is not 1 after the first request"
        second = self.client.request("/", QUERY)
        self.job_requests += 1
        assert second.status == 200 and second.body == b"bar", second
        assert self.counter() == 2, "counter did not increment with the cookie"
        assert self.client.cookies == cookies, "session cookie changed between requests"
        self.time(requests)
        assert self.counter() == self.job_requests, "counter lost increments during warm-up"
        return {"cookies": sorted(cookies)}

    def time(self, requests: int) -> float:
        result = time_requests(self.client, requests, "/", QUERY)
        self.job_requests += requests
        return result

    def read_only(self, requests: int) -> int:
        """``requests`` requests that only read the session (the counter stays as it is)."""
        value = self.counter()
        for _ in range(requests - 2):
            self.client.request("/_counter")
        assert self.counter() == value, "a read-only request changed the counter"
        return value

    def verify(self) -> dict[str, Any]:
        value = self.counter()
        assert value == self.job_requests, f"counter {value} != {self.job_requests} requests"
        return {"requests": self.job_requests}


def worker_main(args: argparse.Namespace) -> None:
    worker = StoreWorker(args.worker, args.url, Path(args.root) if args.root else REPO_ROOT)
    serve({"warmup": worker.warmup, "time": worker.time, "read_only": worker.read_only, "remember": worker.remember,
           "verify": worker.verify})


# ---------------------------------------------------------------------------
# Redis server for the run
# ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence)."""

    def __init__(self, directory: Path, executable: str = "redis-server") -> None:
        path = shutil.which(executable)
        if path is None:
            raise SystemExit(f"{executable} not found")
        self.port = free_port()
        self.process = subprocess.Popen(
            [path, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory),
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--logfile", str(directory / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        import redis
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"redis-server did not start; see {directory / 'redis.log'}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def counters(self) -> tuple[int, int]:
        """(read events, commands other than INFO) processed so far."""
        # One INFO for both sections, so that only its own read event is counted.
        info = self.client.info("stats", "commandstats")
        reads = int(info["total_reads_processed"])
        commands = sum(int(stats["calls"]) for name, stats in info.items()
                       if name.startswith("cmdstat_") and name != "cmdstat_info")
        return reads, commands

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------------------
# Parent process
# ---------------------------------------------------------------------------

def run(args: argparse.Namespace) -> None:
    if not (REPO_ROOT / "canister.py").is_file():
        sys.exit(f"{REPO_ROOT / 'canister.py'} not found")
    baseline = Path(args.baseline).resolve() if args.baseline else None
    if baseline is not None and not (baseline / "canister.py").is_file():
        sys.exit(f"--baseline {args.baseline}: no canister.py there")
    stores = STORES + (["redis-baseline"] if baseline is not None else [])
    workers: dict[str, Worker] = {}
    servers: dict[str, RedisServer] = {}
    with tempfile.TemporaryDirectory(prefix="canister-stores-") as tmp:
        try:
            for store in stores[2:]:  # a server each, so that each is counted on its own
                (Path(tmp) / store).mkdir()
                servers[store] = RedisServer(Path(tmp) / store)
            urls = {"memory": "memory", "sqlite": f"sqlite:///{Path(tmp) / 'sessions.db'}",
                    **{store: server.url for store, server in servers.items()}}
            for store in stores:
                root = ["--root", str(baseline)] if store == "redis-baseline" else []
                workers[store] = Worker(store, [__file__, "--worker", store, "--url", urls[store], *root])
            for store in stores:
                workers[store].call("warmup", requests=args.warmup)
            assert servers["redis"].client.dbsize() > 0, "nothing was stored in Redis"
            assert (Path(tmp) / "sessions.db").stat().st_size > 0, "nothing was stored in SQLite"

            timings: dict[str, list[float]] = {store: [] for store in stores}
            before = {store: server.counters() for store, server in servers.items()}
            for round_index in range(args.rounds):
                shift = round_index % len(stores)
                for store in stores[shift:] + stores[:shift]:
                    timings[store].append(workers[store].call("time", requests=args.requests))
            changed = {store: server.counters() for store, server in servers.items()}
            read, remembered = {}, {}
            for store, server in servers.items():
                workers[store].call("read_only", requests=args.requests)
                read[store] = server.counters()
                workers[store].call("remember")
                before_remembered = server.counters()
                workers[store].call("read_only", requests=args.requests)
                after_remembered = server.counters()
                remembered[store] = ((after_remembered[0] - before_remembered[0] - 1) / args.requests,
                                     (after_remembered[1] - before_remembered[1]) / args.requests)
            for store in stores:
                workers[store].call("verify")
        finally:
            for worker in workers.values():
                worker.stop()
            for server in servers.values():
                server.stop()

    # (round trips, commands) per request that changes its session, then per request that only reads it;
    # each later INFO's own read event is in its delta: take it out.
    counts = {store: ((changed[store][0] - before[store][0] - 1) / (args.rounds * args.requests),
                      (changed[store][1] - before[store][1]) / (args.rounds * args.requests),
                      (read[store][0] - changed[store][0] - 1) / args.requests,
                      (read[store][1] - changed[store][1]) / args.requests) for store in servers}
    report(args, stores, timings, counts, remembered)
    round_trips, _, read_round_trips, _ = counts["redis"]
    sys.stdout.flush()
    if round_trips > MAX_ROUND_TRIPS:
        sys.exit(f"FAIL: {round_trips:.2f} Redis round trips per request (target <= {MAX_ROUND_TRIPS})")
    if read_round_trips > MAX_READ_ROUND_TRIPS:
        sys.exit(f"FAIL: {read_round_trips:.2f} Redis round trips per read-only request "
                 f"(target <= {MAX_READ_ROUND_TRIPS})")


def report(args: argparse.Namespace, stores: list[str], timings: dict[str, list[float]],
           counts: dict[str, tuple[float, float, float, float]],
           remembered: dict[str, tuple[float, float]]) -> None:
    title = (f"canister session stores: GET /?foo=bar counter job, {args.rounds} rounds x "
             f"{args.requests} requests per store, direct WSGI calls, one process per store")
    rows = [[store, f"{median(timings[store]):.1f}", f"{min(timings[store]):.1f}",
             f"{max(timings[store]):.1f}", f"{median_ratio(timings[store], timings['memory']):.2f}"]
            for store in stores]
    headers = ["store", "median µs/request" if args.markdown else "median us/req", "min", "max",
               "vs memory"]
    lines = []
    for store, (round_trips, commands, read_round_trips, read_commands) in counts.items():
        name = "Redis" if store == "redis" else f"Redis of --baseline ({args.baseline})"
        verdict = "PASS" if round_trips <= MAX_ROUND_TRIPS else "FAIL"
        read_verdict = "PASS" if read_round_trips <= MAX_READ_ROUND_TRIPS else "FAIL"
        lines.append(f"{name} per request: {round_trips:.2f} round trips (server read events), "
                     f"{commands:.2f} commands; target <= {MAX_ROUND_TRIPS} round trips: {verdict}")
        lines.append(f"{name} per request that only reads its session: {read_round_trips:.2f} round trips, "
                     f"{read_commands:.2f} commands; target <= {MAX_READ_ROUND_TRIPS} round trip: {read_verdict}")
        lines.append(f"{name} per request that only reads a remembered session: {remembered[store][0]:.2f} "
                     f"round trips, {remembered[store][1]:.2f} commands")
    if "redis-baseline" in timings:
        lines.append(f"redis vs redis-baseline (median of per-round ratios): "
                     f"{median_ratio(timings['redis'], timings['redis-baseline']):.2f}")
    if args.markdown:
        print(f"{title}; {environment_line()}.\n")
        print(table(headers, rows, markdown=True))
        for line in lines:
            print(f"\n{line}.")
    else:
        print(title)
        print(environment_line())
        print()
        print(table(headers, rows))
        print()
        for line in lines:
            print(line)


def main() -> None:
    parser = timing_options(__doc__.split("\n\n")[0], rounds=20, requests=1000, warmup=200, unit="store")
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", help="a directory with another canister.py (say, a worktree of main), "
                                           "whose Redis store is timed beside this one's")
    run_or_work(parser, run, worker_main)


if __name__ == "__main__":
    main()
