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
(``GET /_counter``, the counter unchanged): the target is 1 round trip each.
Every worker checks at warm-up that the counter increments with the cookie,
and at the end that it equals the number of requests it served.

Run (from the repository root; well under a minute with the defaults):

    python benchmarks/stores.py [--rounds 20] [--requests 1000] [--markdown]
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

    def __init__(self, store: str, url: str) -> None:
        sys.path.insert(0, str(REPO_ROOT))
        import bottle
        import canister
        from canister import session
        expected = REPO_ROOT / "canister.py"
        if Path(canister.__file__).resolve() != expected:
            raise RuntimeError(f"imported {canister.__file__}, expected {expected}")

        self.store = store
        self.app = bottle.Bottle()
        self.app.install(canister.Canister(session_store=url, log_level="DISABLED"))

        add_counter_routes(self.app, session)

        self.client = WsgiClient(self.app)
        self.job_requests = 0

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
    worker = StoreWorker(args.worker, args.url)
    serve({"warmup": worker.warmup, "time": worker.time, "read_only": worker.read_only, "verify": worker.verify})


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
    workers: dict[str, Worker] = {}
    redis_server: RedisServer | None = None
    with tempfile.TemporaryDirectory(prefix="canister-stores-") as tmp:
        try:
            redis_server = RedisServer(Path(tmp))
            urls = {"memory": "memory",
                    "sqlite": f"sqlite:///{Path(tmp) / 'sessions.db'}",
                    "redis": redis_server.url}
            for store in STORES:
                workers[store] = Worker(store, [__file__, "--worker", store, "--url", urls[store]])
            for store in STORES:
                workers[store].call("warmup", requests=args.warmup)
            assert redis_server.client.dbsize() > 0, "nothing was stored in Redis"
            assert (Path(tmp) / "sessions.db").stat().st_size > 0, "nothing was stored in SQLite"

            timings: dict[str, list[float]] = {store: [] for store in STORES}
            reads_before, commands_before = redis_server.counters()
            for round_index in range(args.rounds):
                shift = round_index % len(STORES)
                for store in STORES[shift:] + STORES[:shift]:
                    timings[store].append(workers[store].call("time", requests=args.requests))
            reads_after, commands_after = redis_server.counters()
            workers["redis"].call("read_only", requests=args.requests)
            reads_read_only, commands_read_only = redis_server.counters()
            for store in STORES:
                workers[store].call("verify")
        finally:
            for worker in workers.values():
                worker.stop()
            if redis_server is not None:
                redis_server.stop()

    redis_requests = args.rounds * args.requests
    # The second INFO's own read event is in the delta: take it out.
    round_trips = (reads_after - reads_before - 1) / redis_requests
    commands = (commands_after - commands_before) / redis_requests
    read_round_trips = (reads_read_only - reads_after - 1) / args.requests
    read_commands = (commands_read_only - commands_after) / args.requests
    report(args, timings, round_trips, commands)
    read_verdict = "PASS" if read_round_trips <= MAX_READ_ROUND_TRIPS else "FAIL"
    print(f"{'' if not args.markdown else chr(10)}Redis per request that only reads its session: {read_round_trips:.2f} "
          f"round trips, {read_commands:.2f} commands; target <= {MAX_READ_ROUND_TRIPS} round trip: {read_verdict}"
          f"{'.' if args.markdown else ''}")
    sys.stdout.flush()
    if round_trips > MAX_ROUND_TRIPS:
        sys.exit(f"FAIL: {round_trips:.2f} Redis round trips per request (target <= {MAX_ROUND_TRIPS})")
    if read_round_trips > MAX_READ_ROUND_TRIPS:
        sys.exit(f"FAIL: {read_round_trips:.2f} Redis round trips per read-only request "
                 f"(target <= {MAX_READ_ROUND_TRIPS})")


def report(args: argparse.Namespace, timings: dict[str, list[float]],
           round_trips: float, commands: float) -> None:
    title = (f"canister session stores: GET /?foo=bar counter job, {args.rounds} rounds x "
             f"{args.requests} requests per store, direct WSGI calls, one process per store")
    rows = [[store, f"{median(timings[store]):.1f}", f"{min(timings[store]):.1f}",
             f"{max(timings[store]):.1f}", f"{median_ratio(timings[store], timings['memory']):.2f}"]
            for store in STORES]
    verdict = "PASS" if round_trips <= MAX_ROUND_TRIPS else "FAIL"
    redis_line = (f"Redis per request: {round_trips:.2f} round trips (server read events), "
                  f"{commands:.2f} commands; target <= {MAX_ROUND_TRIPS} round trips: {verdict}")
    headers = ["store", "median µs/request" if args.markdown else "median us/req", "min", "max",
               "vs memory"]
    if args.markdown:
        print(f"{title}; {environment_line()}.\n")
        print(table(headers, rows, markdown=True))
        print(f"\n{redis_line}.")
    else:
        print(title)
        print(environment_line())
        print()
        print(table(headers, rows))
        print()
        print(redis_line)


def main() -> None:
    parser = timing_options(__doc__.split("\n\n")[0], rounds=20, requests=1000, warmup=200, unit="store")
    parser.add_argument("--url", help=argparse.SUPPRESS)
    run_or_work(parser, run, worker_main)


if __name__ == "__main__":
    main()
