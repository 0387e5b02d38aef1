"""Per-request cost of the Redis session store on one server, over TLS, under Sentinel and on Cluster.

The job is benchmarks/stores.py's session counter (``GET /?foo=bar`` bumps
``session.data['counter']`` behind the session cookie), run by that script's own worker
processes (direct WSGI calls, no HTTP server), one per variant, interleaved round by round:

  redis     ``redis://127.0.0.1:<port>/0``: one redis-server
  tls       ``rediss://127.0.0.1:<port>/0?ssl_ca_certs=...``: a redis-server on a TLS port only,
            with certificates made by openssl
  sentinel  ``redis+sentinel://...,.../canister/0``: a master, one replica, three sentinels
  cluster   ``redis+cluster://...``: three masters with one replica each

all started on 127.0.0.1 by tests/redis_topologies.py (temp dirs, no persistence) and stopped at
the end.

Reported: median microseconds per request and the median of the per-round ratios to the single
server; and, counted on the servers (the master under Sentinel, the three masters on Cluster),
round trips per request (``total_reads_processed``: read events) and commands per request
(``cmdstat_*`` calls, commands run inside the update script included) for the counter job, and
for requests that only read their session. The servers' own traffic (sentinels' PING and PUBLISH,
replicas' REPLCONF ACK, these counters' INFO) is measured while idle and taken out.

Run (from the repository root; about a minute with the defaults):

    python benchmarks/stores_topologies.py [--rounds 10] [--requests 1000] [--markdown]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from _harness import REPO_ROOT, Worker, environment_line, median, median_ratio, table

sys.path.insert(0, str(REPO_ROOT / "tests"))
from redis_topologies import ClusterSetup, SentinelSetup, TlsRedis  # noqa: E402
from servers import RedisServer  # noqa: E402

VARIANTS = ["redis", "tls", "sentinel", "cluster"]
STORES_SCRIPT = str(Path(__file__).with_name("stores.py"))
#: commands the servers and this script send by themselves, not the app
BACKGROUND = ("cmdstat_info", "cmdstat_ping", "cmdstat_publish", "cmdstat_replconf", "cmdstat_subscribe")


class Counters:
    """Read events and app commands summed over the servers an app talks to."""

    def __init__(self, clients: List[Any]) -> None:
        self.clients = clients

    def read(self) -> Tuple[int, int]:
        reads = commands = 0
        for client in self.clients:
            info = client.info("stats", "commandstats")  # one INFO: one read event of its own
            reads += int(info["total_reads_processed"]) - 1
            commands += sum(int(stats["calls"]) for name, stats in info.items()
                            if name.startswith("cmdstat_") and name not in BACKGROUND
                            and not name.startswith(("cmdstat_cluster", "cmdstat_config")))
        return reads, commands


class Background:
    """Read events per second on the servers while the app is idle (sentinels, replicas)."""

    def __init__(self, counters: Counters, seconds: float = 2.0) -> None:
        reads_before, _ = counters.read()
        started = time.monotonic()
        time.sleep(seconds)
        reads_after, _ = counters.read()
        self.rate = max(0, reads_after - reads_before) / (time.monotonic() - started)


def start(variant: str) -> Tuple[Any, str, List[Any]]:
    """(the deployment, its session_store URL, clients of the servers that hold the sessions)."""
    if variant == "redis":
        server = RedisServer(args=["--appendonly", "no"]).start()
        import redis
        return server, server.url, [redis.Redis(host="127.0.0.1", port=server.port)]
    if variant == "tls":
        tls = TlsRedis().start()
        return tls, tls.url(), [tls.client()]
    if variant == "sentinel":
        sentinel = SentinelSetup().start()
        return sentinel, sentinel.url, [sentinel.master_client()]
    cluster = ClusterSetup().start()
    return cluster, cluster.url, [cluster.master_of_slot(slot).client() for slot in (0, 8000, 16383)]


def run(args: argparse.Namespace) -> None:
    deployments: Dict[str, Any] = {}
    workers: Dict[str, Worker] = {}
    counters: Dict[str, Counters] = {}
    timings: Dict[str, List[float]] = {variant: [] for variant in VARIANTS}
    per_request: Dict[str, Tuple[float, float, float, float]] = {}
    try:
        for variant in VARIANTS:
            deployment, url, clients = start(variant)
            deployments[variant] = deployment
            counters[variant] = Counters(clients)
            workers[variant] = Worker(variant, [STORES_SCRIPT, "--worker", variant, "--url", url])
        for variant in VARIANTS:
            workers[variant].call("warmup", requests=args.warmup)
        background = {variant: Background(counters[variant]) for variant in VARIANTS}
        before = {variant: counters[variant].read() for variant in VARIANTS}
        rounds_started = time.monotonic()
        for round_index in range(args.rounds):
            shift = round_index % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                timings[variant].append(workers[variant].call("time", requests=args.requests))
        span = time.monotonic() - rounds_started  # the servers' own traffic ran all along
        for variant in VARIANTS:
            reads, commands = counters[variant].read()
            total = args.rounds * args.requests
            changing_trips = (reads - before[variant][0] - background[variant].rate * span) / total
            changing_commands = (commands - before[variant][1]) / total
            started = time.monotonic()
            workers[variant].call("read_only", requests=args.requests)
            elapsed = time.monotonic() - started
            reads_after, commands_after = counters[variant].read()
            read_trips = (reads_after - reads - background[variant].rate * elapsed) / args.requests
            read_commands = (commands_after - commands) / args.requests
            per_request[variant] = (changing_trips, changing_commands, read_trips, read_commands)
        for variant in VARIANTS:
            workers[variant].call("verify")
    finally:
        for worker in workers.values():
            worker.stop()
        for counter in counters.values():
            for client in counter.clients:
                client.close()
        for deployment in deployments.values():
            deployment.cleanup()
    report(args, timings, per_request)


def report(args: argparse.Namespace, timings: Dict[str, List[float]],
           per_request: Dict[str, Tuple[float, float, float, float]]) -> None:
    title = (f"canister's Redis session store by deployment: GET /?foo=bar counter job, {args.rounds} rounds x "
             f"{args.requests} requests each, direct WSGI calls, one process per variant")
    headers = ["deployment", "median µs/request" if args.markdown else "median us/req", "vs one server",
               "round trips (change)", "commands (change)", "round trips (read)", "commands (read)"]
    rows = [[variant, f"{median(timings[variant]):.1f}", f"{median_ratio(timings[variant], timings['redis']):.2f}"]
            + [f"{value:.2f}" for value in per_request[variant]] for variant in VARIANTS]
    if args.markdown:
        print(f"{title}; {environment_line()}.\n")
        print(table(headers, rows, markdown=True))
    else:
        print(title)
        print(environment_line())
        print()
        print(table(headers, rows))
    print("\n(commands include the GET and SET the update script runs on the server)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds (default 10)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per variant per round")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per variant")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
