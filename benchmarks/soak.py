"""Soak: minutes of steady load with sessions expiring and being created all the time.

tests/apps/load_app.py runs under waitress (8 threads) in a subprocess on
127.0.0.1, with a short ``session_timeout`` (default 2 s) and a ``session_max``
bound (default 64, below the number of sessions alive at once, so the memory
store evicts as well as expires), logging at INFO to a temporary directory.
``--clients`` threads then loop until ``--seconds`` have passed; each one, over and over:

* starts a new session: ``/login?name=<client>-<n>``, then 1 to 30 ``/bump``
  requests, each answer checked (its own user and owner, the counter one higher);
* now and then (one session in five) waits ``session_timeout`` + 1.2 s and bumps
  again: the session must have expired (a new cookie, the counter back at 1);
* then drops the cookie, so the old session is left to expire in the store.

Printed: the server's resident memory (VmRSS from /proc/<pid>/status) at the start,
every ``--report-every`` seconds and at the end, with the requests and req/s of the
interval, the sessions the memory store holds (``/stats``; it must stay within
``session_max``), errors, and the worst latency of the interval; at the end, the
RSS growth, the worst latency overall and the totals.  Everything is bounded (each
request times out after 10 s, the run stops at ``--seconds``) and everything started
here is stopped at the end, also on Ctrl-C.  The exit status is 1 on any error.

Run (from the repository root; 3 minutes by default):

    python benchmarks/soak.py [--seconds 180] [--clients 16] [--session-timeout 2]
                              [--session-max 64] [--report-every 30] [--store memory]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / 'tests'))

from servers import AppServer, Client, cleanup_all  # noqa: E402

COOKIE = 'session_id'


def rss_kib(pid: int) -> Optional[int]:
    """VmRSS of a process in KiB, or None if it is gone."""
    try:
        with open('/proc/%d/status' % pid) as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Totals:
    """Counters shared by the client threads (under a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.sessions = 0
        self.expired_checked = 0
        self.errors: List[str] = []
        self.worst = 0.0
        self.interval_worst = 0.0

    def record(self, elapsed: float) -> None:
        with self.lock:
            self.requests += 1
            self.worst = max(self.worst, elapsed)
            self.interval_worst = max(self.interval_worst, elapsed)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def client_loop(url: str, index: int, stop: threading.Event, totals: Totals, session_timeout: float,
                seed: int) -> None:
    rng = random.Random(seed * 1000 + index)
    serial = 0

    def get(web: Client, path: str, name: str) -> Optional[Dict[str, Any]]:
        try:
            answer = web.get('/%s?%s' % (path, urllib.parse.urlencode({'name': name})))
        except Exception as error:  # timeouts and resets are errors, never hangs
            totals.error('%s /%s: %s: %s' % (name, path, type(error).__name__, error))
            return None
        totals.record(answer.elapsed)
        if answer.status != 200:
            totals.error('%s /%s: status %d: %s' % (name, path, answer.status, answer.text[:200]))
            return None
        try:
            return answer.json()
        except ValueError:
            totals.error('%s /%s: not JSON: %r' % (name, path, answer.text[:200]))
            return None

    while not stop.is_set():
        serial += 1
        name = 'client%02d-%d' % (index, serial)
        web = Client(url, timeout=10)
        data = get(web, 'login', name)
        if data is None or data.get('user') != name:
            if data is not None:
                totals.error('%s /login: user %r' % (name, data.get('user')))
            continue
        with totals.lock:
            totals.sessions += 1
        counter = 0
        for _ in range(rng.randint(1, 30)):
            if stop.is_set():
                break
            data = get(web, 'bump', name)
            if data is None:
                break
            counter += 1
            if data.get('user') != name or data.get('data') != {'owner': name, 'counter': counter}:
                totals.error('%s /bump: saw user %r data %r, expected counter %d'
                             % (name, data.get('user'), data.get('data'), counter))
                break
        if stop.is_set() or rng.random() >= 0.2:
            continue
        sid = web.cookies.get(COOKIE)
        if stop.wait(session_timeout + 1.2):
            break
        data = get(web, 'bump', name)
        if data is None:
            continue
        with totals.lock:
            totals.expired_checked += 1
        if data.get('counter') != 1 or data.get('user') is not None or web.cookies.get(COOKIE) == sid:
            totals.error('%s: the session did not expire after %.1fs idle: %r'
                         % (name, session_timeout + 1.2, data))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=180.0)
    parser.add_argument('--clients', type=int, default=16)
    parser.add_argument('--session-timeout', type=int, default=2)
    parser.add_argument('--session-max', type=int, default=64)
    parser.add_argument('--report-every', type=float, default=30.0)
    parser.add_argument('--store', default='memory', help='memory, or sqlite (a temp file)')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.session_timeout < 1 or args.store not in ('memory', 'sqlite'):
        parser.error('--seconds > 0, --clients >= 1, --session-timeout >= 1, --store memory or sqlite')

    workdir = tempfile.mkdtemp(prefix='canister-soak-')
    env = {'CANISTER_LOG_PATH': os.path.join(workdir, 'logs'),
           'CANISTER_SESSION_TIMEOUT': str(args.session_timeout),
           'CANISTER_SESSION_MAX': str(args.session_max),
           'CANISTER_SESSION_STORE': ('memory' if args.store == 'memory'
                                      else 'sqlite:///' + os.path.join(workdir, 'sessions.db'))}
    server = AppServer('load_app:app', server='waitress', threads=8, env=env, start_timeout=30)
    stop = threading.Event()
    totals = Totals()
    threads: List[threading.Thread] = []
    failed = False
    try:
        server.start()
        probe = Client(server.url, timeout=10)
        pid = probe.get('/ping').json()['pid']
        assert pid == server.proc.pid, 'waitress serves from its own process'

        def held() -> str:
            try:
                value = probe.get('/stats').json()['sessions']
            except Exception as error:  # report, do not stop the run
                return 'stats failed (%s)' % type(error).__name__
            if value is not None and value > args.session_max:
                totals.error('the memory store holds %d sessions, more than session_max %d'
                             % (value, args.session_max))
            return '-' if value is None else str(value)

        start_rss = rss_kib(pid) or 0
        peak_rss = start_rss
        print('soak: %d clients for %.0fs against waitress pid %d (%s store, session_timeout %ds, '
              'session_max %d), reports every %.0fs'
              % (args.clients, args.seconds, pid, args.store, args.session_timeout, args.session_max,
                 args.report_every), flush=True)
        print('t=%5.0fs  RSS %7.1f MiB' % (0, start_rss / 1024), flush=True)
        began = time.monotonic()
        threads = [threading.Thread(target=client_loop, daemon=True, name='soak-%d' % i,
                                    args=(server.url, i, stop, totals, args.session_timeout, args.seed))
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        last_requests, last_time = 0, began
        end, next_report = began + args.seconds, began + args.report_every
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(max(min(next_report, end) - now, 0))
            now = time.monotonic()
            if now >= end - 0.01:
                break  # the end line follows
            next_report += args.report_every
            rss = rss_kib(pid)
            if rss is None:
                totals.error('the server process %d is gone' % pid)
                break
            peak_rss = max(peak_rss, rss)
            with totals.lock:
                requests, worst = totals.requests, totals.interval_worst
                totals.interval_worst = 0.0
                errors, sessions = len(totals.errors), totals.sessions
            print('t=%5.0fs  RSS %7.1f MiB  %7d requests (%5.0f req/s)  %6d sessions started  store holds %s  '
                  '%d errors  worst %4.0f ms' % (now - began, rss / 1024, requests - last_requests,
                                                (requests - last_requests) / max(now - last_time, 1e-9),
                                                sessions, held(), errors, worst * 1000), flush=True)
            last_requests, last_time = requests, now
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        elapsed = time.monotonic() - began
        stuck = [thread.name for thread in threads if thread.is_alive()]
        if stuck:
            totals.error('client threads still running at the end: %s' % ', '.join(stuck))
        end_rss = rss_kib(pid) or 0
        peak_rss = max(peak_rss, end_rss)
        print('t=%5.0fs  RSS %7.1f MiB  (end)  store holds %s' % (elapsed, end_rss / 1024, held()), flush=True)
        print('summary: %d requests in %.0fs (%.0f req/s), %d sessions started, %d expiries checked, %d errors; '
              'RSS start %.1f MiB, peak %.1f MiB, end %.1f MiB (%+.1f MiB); worst latency %.0f ms'
              % (totals.requests, elapsed, totals.requests / elapsed, totals.sessions, totals.expired_checked,
                 len(totals.errors), start_rss / 1024, peak_rss / 1024, end_rss / 1024,
                 (end_rss - start_rss) / 1024, totals.worst * 1000), flush=True)
        for error in totals.errors[:10]:
            print('  error: ' + error)
        failed = bool(totals.errors)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        failed = True
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        server.cleanup()
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
