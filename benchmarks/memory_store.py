"""Memory footprint and worst-case latency of canister's in-memory session store.

Two measurements, in one process, on ``canister.MemoryStore`` used through
``Canister(store=...)`` (logging disabled):

1. Memory: RSS (``VmRSS`` of /proc/self/status) before and after filling a
   store with 1,000,000 live sessions through the store API
   (``store.save(sid, record, ttl)``), each with ``session.data ==
   {"counter": n}``. The sid is a fresh ``secrets.token_urlsafe(32)`` and the
   record is canister's own JSON shape, copied from a session made by a real
   request (the script checks that it rebuilds that record byte for byte, and
   that filled sessions work through the WSGI app with their cookie).
   Reported: RSS delta / sessions. Target: <= 400 bytes per session.

2. Latency under churn: a second store bounded at ``session_max`` = the same
   count, filled to the bound with sessions whose TTL is the app's short
   ``session_timeout`` (set just above the fill time, so they all expire
   during the run). Then, until every filled session has expired, the script
   loops over three requests made through the WSGI app, timing each one:
   a returning client with its cookie (counter job), a new visitor without a
   cookie (its new session evicts the least recently used one), and a client
   whose cookie names a filled session (live at first, expired later).
   Reported: latency percentiles and the worst single request, the store
   size before and after, and the full (generation 2) garbage collections
   observed meanwhile with their durations. Target: worst < 5 ms.

Exit status 1 when a target is missed (the numbers are printed first).

Run (from the repository root; about a minute with the defaults):

    python benchmarks/memory_store.py [--sessions 1000000] [--timeout SECONDS]
"""
from __future__ import annotations

import argparse
import array
import gc
import json
import math
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from _harness import REPO_ROOT, WsgiClient, environment_line, rss_bytes

sys.path.insert(0, str(REPO_ROOT))
import bottle  # noqa: E402
import canister  # noqa: E402
from canister import session  # noqa: E402

MAX_BYTES_PER_SESSION = 400
MAX_LATENCY_MS = 5.0
QUERY = "foo=bar"


# ---------------------------------------------------------------------------
# App and records
# ---------------------------------------------------------------------------

def make_app(store: canister.MemoryStore, timeout: int) -> bottle.Bottle:
    """The counter job on ``store``, with logging off."""
    app = bottle.Bottle()
    app.install(canister.Canister(store=store, session_timeout=timeout, log_level="DISABLED"))

    @app.get("/")
    def index(foo):
        session.data["counter"] = session.data.get("counter", 0) + 1
        return foo

    @app.get("/_counter")
    def counter():
        return str(session.data.get("counter", 0))

    return app


class RecordMaker:
    """Builds records of the shape canister stores, learnt from a real request."""

    def __init__(self, app: bottle.Bottle, store: canister.MemoryStore) -> None:
        client = WsgiClient(app)
        response = client.request("/", QUERY)
        assert response.status == 200 and response.body == b"bar", response
        (sid,) = client.cookies.values()
        record = store.load(sid)
        assert record is not None, "the session made by the request is not in the store"
        self.template: dict[str, Any] = json.loads(record)
        assert self.template["d"] == {"counter": 1}, record
        assert self.make(1, self.template["c"]) == record, (
            f"cannot rebuild canister's record {record!r} byte for byte")
        store.delete(sid)
        assert len(store) == 0

    def make(self, counter: int, created: float) -> str:
        stored = dict(self.template)
        stored["d"] = {"counter": counter}
        stored["c"] = created
        return json.dumps(stored, separators=(",", ":"))


def fill(store: canister.MemoryStore, maker: RecordMaker, count: int, ttl: int,
         keep_every: int) -> tuple[float, list[tuple[str, int]]]:
    """Save ``count`` sessions; return the seconds it took and a sample of (sid, counter)."""
    sample: list[tuple[str, int]] = []
    save, make, token, now = store.save, maker.make, secrets.token_urlsafe, time.time
    started = time.perf_counter()
    for n in range(count):
        sid = token(32)
        save(sid, make(n, now()), ttl)
        if n % keep_every == 0:
            sample.append((sid, n))
    return time.perf_counter() - started, sample


def client_with_session(app: bottle.Bottle, sid: str) -> WsgiClient:
    client = WsgiClient(app)
    client.cookies["session_id"] = sid
    return client


# ---------------------------------------------------------------------------
# 1. Memory
# ---------------------------------------------------------------------------

def measure_memory(count: int) -> dict[str, Any]:
    store = canister.MemoryStore(max_sessions=count)
    app = make_app(store, timeout=3600)
    maker = RecordMaker(app, store)
    gc.collect()
    before = rss_bytes()
    seconds, sample = fill(store, maker, count, ttl=3600, keep_every=max(count // 10, 1))
    gc.collect()
    after = rss_bytes()
    assert len(store) == count, f"{len(store)} sessions stored, expected {count}"
    for sid, n in sample[:3]:
        client = client_with_session(app, sid)
        response = client.request("/", QUERY)
        assert response.status == 200 and response.body == b"bar", response
        assert client.request("/_counter").body == str(n + 1).encode(), "filled session not usable"
    return {"count": count, "fill_seconds": seconds, "rss_before": before, "rss_after": after,
            "per_session": (after - before) / count}


# ---------------------------------------------------------------------------
# 2. Latency under expiry and eviction
# ---------------------------------------------------------------------------

class GcWatch:
    """Records the duration of every generation-2 collection (observation only)."""

    def __init__(self) -> None:
        self.durations_ms: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.durations_ms.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> "GcWatch":
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        gc.callbacks.remove(self)


def percentile(sorted_values: list[int], fraction: float) -> int:
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def measure_latency(count: int, timeout: int) -> dict[str, Any]:
    store = canister.MemoryStore(max_sessions=count)
    app = make_app(store, timeout=timeout)
    maker = RecordMaker(app, store)
    fill_seconds, sample = fill(store, maker, count, ttl=timeout, keep_every=max(count // 200_000, 1))
    # Half the sample is used by requests (which revive live sessions), half only checked at the end.
    used, untouched = sample[0::2], sample[1::2]
    filled_at = time.time()
    size_before = len(store)
    # Records expire at a whole second (canister rounds up); run one second past the last.
    run_until = math.ceil(filled_at + timeout) + 1.0

    returning = WsgiClient(app)
    returning_requests = 0
    kinds = ("returning", "new visitor", "filled cookie")
    latencies = {kind: array.array("q") for kind in kinds}
    new_sessions = 0
    stale = 0
    clock = time.perf_counter_ns
    with GcWatch() as watch:
        while time.time() < run_until:
            response_started = clock()
            response = returning.request("/", QUERY)
            latencies["returning"].append(clock() - response_started)
            returning_requests += 1
            assert response.status == 200 and response.body == b"bar", response

            visitor = WsgiClient(app)
            response_started = clock()
            response = visitor.request("/", QUERY)
            latencies["new visitor"].append(clock() - response_started)
            assert response.status == 200 and visitor.cookies, response
            new_sessions += 1

            sid, _ = used[stale % len(used)]
            stale += 1
            old = client_with_session(app, sid)
            response_started = clock()
            response = old.request("/", QUERY)
            latencies["filled cookie"].append(clock() - response_started)
            assert response.status == 200, response
            if old.cookies["session_id"] != sid:
                new_sessions += 1
    counter = int(returning.request("/_counter").body)
    assert counter == returning_requests, f"returning client's counter {counter} != {returning_requests}"
    still_live = sum(store.load(sid) is not None for sid, _ in untouched)
    assert still_live == 0, f"{still_live} filled sessions are still live after their expiry"

    everything = sorted(v for values in latencies.values() for v in values)
    return {
        "count": count, "timeout": timeout, "fill_seconds": fill_seconds,
        "size_before": size_before, "size_after": len(store), "new_sessions": new_sessions,
        "latencies": {kind: sorted(values) for kind, values in latencies.items()},
        "all": everything, "gc_ms": watch.durations_ms,
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def ms(nanoseconds: float) -> str:
    return f"{nanoseconds / 1e6:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000, help="sessions (default 1,000,000)")
    parser.add_argument("--timeout", type=int, default=0,
                        help="session_timeout of the latency run, seconds (default: fill time + 3)")
    parser.add_argument("--skip-memory", action="store_true", help="only the latency run")
    args = parser.parse_args()

    print(f"canister MemoryStore with {args.sessions:,} sessions; {environment_line()}")
    failed = []
    fill_rate = None
    if not args.skip_memory:
        memory = measure_memory(args.sessions)
        fill_rate = memory["count"] / memory["fill_seconds"]
        verdict = "PASS" if memory["per_session"] <= MAX_BYTES_PER_SESSION else "FAIL"
        if verdict == "FAIL":
            failed.append("memory")
        print(f"\n1. memory: {memory['count']:,} live sessions saved in {memory['fill_seconds']:.1f} s "
              f"({fill_rate:,.0f}/s)")
        print(f"   RSS {memory['rss_before'] / 2**20:.1f} MiB -> {memory['rss_after'] / 2**20:.1f} MiB: "
              f"{memory['per_session']:.0f} bytes per session "
              f"(target <= {MAX_BYTES_PER_SESSION}): {verdict}")
        del memory
        gc.collect()

    timeout = args.timeout
    if timeout <= 0:
        estimate = args.sessions / fill_rate if fill_rate else args.sessions / 80_000
        timeout = math.ceil(estimate) + 3
    latency = measure_latency(args.sessions, timeout)
    worst = latency["all"][-1]
    verdict = "PASS" if worst < MAX_LATENCY_MS * 1e6 else "FAIL"
    if verdict == "FAIL":
        failed.append("latency")
    total = len(latency["all"])
    print(f"\n2. latency: store bounded at {latency['count']:,}, filled in {latency['fill_seconds']:.1f} s "
          f"with session_timeout = {latency['timeout']} s; {total:,} requests until all had expired")
    print(f"   sessions in the store: {latency['size_before']:,} before, {latency['size_after']:,} after; "
          f"{latency['new_sessions']:,} new sessions made (each beyond the bound evicts one)")
    print(f"   {'requests':<14} {'count':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8} {'>5 ms':>6}")
    for kind, values in [*latency["latencies"].items(), ("all", latency["all"])]:
        over = sum(1 for v in values if v >= MAX_LATENCY_MS * 1e6)
        print(f"   {kind:<14} {len(values):>8,} {ms(percentile(values, 0.5)):>8} "
              f"{ms(percentile(values, 0.99)):>8} {ms(percentile(values, 0.999)):>9} "
              f"{ms(values[-1]):>8} {over:>6}")
    collections = latency["gc_ms"]
    if collections:
        print(f"   full garbage collections during the run: {len(collections)}, "
              f"{min(collections):.1f}-{max(collections):.1f} ms each")
    else:
        print("   full garbage collections during the run: none")
    print(f"   worst single request {ms(worst)} ms (target < {MAX_LATENCY_MS:g} ms): {verdict}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
