"""Per-request cost of the Redis session store on one server, over TLS, under Sentinel and on Cluster.

The job is benchmarks/stores.py's session counter (``GET /?foo=bar`` bumps
``session.data['counter']`` behind the session cookie), run by that script's worker (direct WSGI
calls, no HTTP server), one process per variant, interleaved round by round:

  redis     ``redis://127.0.0.1:<port>/0``: one redis-server
  tls       ``rediss://127.0.0.1:<port>/0?ssl_ca_certs=...``: a redis-server on a TLS port only,
            with certificates made by openssl
  sentinel  ``redis+sentinel://...,.../canister/0``: a master, one replica, three sentinels
  cluster   ``redis+cluster://...``: three masters with one replica each
  sentinel+wait, cluster+wait
            the same deployments with ``session_redis_wait = 1``: each save waits until a
            replica has it (Redis ``WAIT``)

all started on 127.0.0.1 by tests/redis_topologies.py (temp dirs, no persistence) and stopped at
the end.

Reported: median microseconds per request and the median of the per-round ratios to the single
server; and, counted on the servers (the master under Sentinel, the three masters on Cluster),
round trips per request (``total_reads_processed``: read events) and commands per request
(``cmdstat_*`` calls, commands run inside the read and update scripts included) for the counter job, and
for requests that only read their session, each variant run alone after the timed rounds
(``--requests`` of each). The servers' own traffic (sentinels' PING and PUBLISH,
replicas' REPLCONF ACK, these counters' INFO) is measured while idle and taken out.

Run (from the repository root; about a minute with the defaults):

    python benchmarks/stores_topologies.py [--rounds 10] [--requests 1000] [--markdown]
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Dict, List, Tuple

from _harness import (REPO_ROOT, Worker, WsgiClient, add_counter_routes, environment_line, median, median_ratio,
                      run_or_work, serve, table, timing_options)
from stores import StoreWorker

sys.path.insert(0, str(REPO_ROOT / "tests"))
from redis_topologies import ClusterSetup, SentinelSetup, TlsRedis  # noqa: E402
from servers import RedisServer  # noqa: E402

VARIANTS = ["redis", "tls", "sentinel", "sentinel+wait", "cluster", "cluster+wait"]
#: commands the servers and this script send by themselves, not the app
BACKGROUND = ("cmdstat_info", "cmdstat_ping", "cmdstat_publish", "cmdstat_replconf", "cmdstat_subscribe")


class TopologyWorker(StoreWorker):
    """benchmarks/stores.py's counter app and client, with ``session_redis_wait``."""

    def __init__(self, store: str, url: str, wait: int) -> None:  # noqa: D107 - same job as StoreWorker
        sys.path.insert(0, str(REPO_ROOT))
        import bottle
        import canister
        from canister import session
        self.store = store
        self.app = bottle.Bottle()
        self.app.install(canister.Canister(session_store=url, session_redis_wait=wait, log_level="DISABLED"))

        add_counter_routes(self.app, session)

        self.client = WsgiClient(self.app)
        self.job_requests = 0


def worker_main(args: argparse.Namespace) -> None:
    worker = TopologyWorker(args.worker, args.url, args.wait)
    serve({"warmup": worker.warmup, "time": worker.time, "read_only": worker.read_only, "verify": worker.verify})


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

    def __init__(self, counters: Counters, seconds: float = 1.0) -> None:
        reads_before, _ = counters.read()
        started = time.monotonic()
        time.sleep(seconds)
        reads_after, _ = counters.read()
        self.rate = max(0, reads_after - reads_before) / (time.monotonic() - started)


def start(variant: str, deployments: Dict[str, Any]) -> Tuple[Any, str, List[Any]]:
    """(the deployment, its session_store URL, clients of the servers that hold the sessions)."""
    if variant == "redis":
        server = RedisServer(args=["--appendonly", "no"]).start()
        import redis
        return server, server.url, [redis.Redis(host="127.0.0.1", port=server.port)]
    if variant == "tls":
        tls = TlsRedis().start()
        return tls, tls.url(), [tls.client()]
    if variant.endswith("+wait"):  # the same deployment, counted on the same servers
        base = variant[:-len("+wait")]
        return None, deployments[base][1], deployments[base][2]
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
            deployments[variant] = start(variant, deployments)
            counters[variant] = Counters(deployments[variant][2])
            wait = "1" if variant.endswith("+wait") else "0"
            workers[variant] = Worker(variant, [__file__, "--worker", variant, "--url", deployments[variant][1],
                                                "--wait", wait])
        for variant in VARIANTS:
            workers[variant].call("warmup", requests=args.warmup)
        for round_index in range(args.rounds):
            shift = round_index % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                timings[variant].append(workers[variant].call("time", requests=args.requests))
        # Then each variant alone, counted on its servers (two variants share each deployment).
        for variant in VARIANTS:
            background = Background(counters[variant])
            reads, commands = counters[variant].read()
            started = time.monotonic()
            workers[variant].call("time", requests=args.requests)
            elapsed = time.monotonic() - started
            reads_changed, commands_changed = counters[variant].read()
            workers[variant].call("read_only", requests=args.requests)
            elapsed_read = time.monotonic() - started - elapsed
            reads_read, commands_read = counters[variant].read()
            per_request[variant] = (
                (reads_changed - reads - background.rate * elapsed) / args.requests,
                (commands_changed - commands) / args.requests,
                (reads_read - reads_changed - background.rate * elapsed_read) / args.requests,
                (commands_read - commands_changed) / args.requests)
        for variant in VARIANTS:
            workers[variant].call("verify")
    finally:
        for worker in workers.values():
            worker.stop()
        for counter in counters.values():
            for client in counter.clients:
                client.close()
        for deployment, _, _ in deployments.values():
            if deployment is not None:
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
    print("\n(commands include those the scripts run on the server: the read script's GET, PTTL and, where the"
          "\n session has less than its length left, PEXPIRE; the update script's GET and SET; with +wait the read"
          "\n events include the replica's REPLCONF ACK that WAIT asks for, and the commands the WAIT)")


def main() -> None:
    parser = timing_options(__doc__.split("\n\n")[0], rounds=10, requests=1000, warmup=200)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--wait", type=int, default=0, help=argparse.SUPPRESS)
    run_or_work(parser, run, worker_main)


if __name__ == "__main__":
    main()
