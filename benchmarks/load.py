"""Load: many concurrent clients, each with its own session, against real servers.

The driver of tests/test_load.py, bigger: ``--clients`` threads start together, each
logs in as itself, bumps its own session counter ``--requests`` times in all (every
``--boom-every``-th request hits ``/boom``, a handler that writes poison into the
session and raises: a 500 that must leave nothing behind), then reads its session
back.  One connection per request, the cookie carried by hand
(tests/servers.py ``Client``).  The app is tests/apps/load_app.py, logging at
INFO to a temporary directory.

Setups (all on 127.0.0.1, every process started here is stopped at the end):

  memory-waitress   memory store, waitress with 8 threads
  sqlite-waitress   SQLite store (temp file), waitress with 8 threads
  redis-gunicorn3   Redis store (a private redis-server), gunicorn with 3 sync workers
  sqlite-gunicorn3  SQLite store shared by gunicorn's 3 sync workers
  redis-waitress    Redis store, waitress with 8 threads (by default with --concurrent-keys only)

Reported per setup: clients, requests, errors (wrong status, wrong user or data,
another client's session, a timeout), lost updates (bumps answered 200 but missing
from the final counter), req/s (the client is Python threads opening a connection
per request, so this is the whole path, not the server alone), worst latency, the
number of server processes that answered, and whether the log holds exactly one
request and one response line per request.  The exit status is 1 if any setup had an
error, a lost update or a log mismatch.

With ``--concurrent-keys N`` (N >= 2) each client runs N requests at a time on its one
session instead, each of its N threads changing its own key (tests/apps/concurrency_app.py,
``/incr?key=kJ``: read the key, wait ``--hold-ms`` milliseconds as a handler doing some work
would, add one).  First every thread sends its share of the
``--requests`` increments; the client then reads its session back: an increment answered 200
but missing from its key is a lost update.  Then a second, shorter round of increments on the
same cookie, during which one of the client's threads logs out (``/logout``) half way through
its share while the others keep writing with the old cookie; once every thread is done (and
again 0.2 s later) the old cookie must name no session: a user or data seen there counts as a
resurrected session.  Also reported: the increments whose answer expired the cookie (they had
loaded the session before the logout and finished after it, so their save was refused).  The
exit status is 1 if any setup had an error, a lost update or a resurrected session.

Run (from the repository root; about half a minute with the defaults):

    python benchmarks/load.py [--clients 64] [--requests 100] [--boom-every 10]
                              [--setups memory-waitress,sqlite-waitress,redis-gunicorn3,sqlite-gunicorn3]
    python benchmarks/load.py --concurrent-keys 4 [--hold-ms 5] [--clients 64] [--requests 100] [--setups ...]

(the second, with its five setups, takes about two minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / 'tests'))

from servers import Client, cleanup_all  # noqa: E402
from helpers import read_log  # noqa: E402
from test_load import SETUPS, check_log, expected_requests, run_clients, run_load, start_setup  # noqa: E402

#: The setups of tests/test_load.py, and Redis behind waitress's 8 threads (many requests of one
#: session at once in one process: the --concurrent-keys default runs it too).
ALL_SETUPS = dict(SETUPS, **{'redis-waitress': ('redis', 'waitress', 1)})
KEYS_SETUPS = ['memory-waitress', 'sqlite-waitress', 'redis-waitress', 'redis-gunicorn3', 'sqlite-gunicorn3']
COOKIE = 'session_id'
EXPIRES_COOKIE = re.compile(r';\s*max-age=0\s*(;|$)', re.IGNORECASE)


def run_setup(name: str, clients: int, requests: int, boom_every: int, workdir: str) -> Dict[str, Any]:
    started: List[Any] = []
    try:
        server, log_dir = start_setup(ALL_SETUPS[name], 'load_app:app', os.path.join(workdir, name), started,
                                      start_timeout=30)
        before = check_log(read_log(log_dir))
        result = run_load(server.url, clients, requests, boom_every, timeout=30,
                          deadline=max(60.0, clients * requests / 50.0))
        after = check_log(read_log(log_dir))
    finally:
        for item in reversed(started):
            item.cleanup()
    per_client = expected_requests(requests, boom_every)
    sent = clients * requests
    log_ok = (not after['broken'] and after['requests'] - before['requests'] == result.requests == sent
              and after['responses'] - before['responses'] == sent)
    statuses_ok = dict(result.paths) == {path: clients * count for path, count in per_client.items()}
    return {
        'setup': name, 'clients': clients, 'requests': result.requests, 'errors': len(result.errors),
        'lost': result.lost_updates, 'rate': result.rate, 'worst_ms': max(result.latencies or [0]) * 1000,
        'processes': len(result.pids), 'log_ok': log_ok and statuses_ok, 'first_errors': result.errors[:5],
        'seconds': result.seconds,
    }


# --------------------------------------------------------------------------
# --concurrent-keys: several requests at a time on one session

class KeysResult:
    """What a --concurrent-keys run saw, over all clients."""

    def __init__(self) -> None:
        self.requests = 0
        self.increments = 0
        self.lost_updates = 0
        self.resurrected = 0
        self.refused = 0
        self.errors: List[str] = []
        self.latencies: List[float] = []
        self.pids: collections.Counter = collections.Counter()
        self.seconds = 0.0
        self.lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Reply:
    """An answer 200 with its JSON ``data``, and what it did to the session cookie."""

    def __init__(self, data: Dict[str, Any], expired: bool, new_sid: Optional[str]) -> None:
        self.data, self.expired, self.new_sid = data, expired, new_sid


class SessionCaller:
    """Requests of one client, always with the cookie it is given (never one an answer sets)."""

    def __init__(self, url: str, name: str, result: KeysResult, timeout: float) -> None:
        self.url, self.name, self.result, self.timeout = url, name, result, timeout

    def get(self, path: str, sid: Optional[str]) -> Optional[Reply]:
        """The answer, or None after an error (recorded)."""
        web = Client(self.url, timeout=self.timeout)
        if sid:
            web.cookies[COOKIE] = sid
        try:
            answer = web.get(path)
        except Exception as error:  # a timeout or a reset counts as an error, never hangs the run
            self.error('%s: %s: %s' % (path, type(error).__name__, error))
            return None
        cookies = [value for value in answer.headers.get_all('Set-Cookie') or [] if value.startswith(COOKIE + '=')]
        expired = any(EXPIRES_COOKIE.search(value) for value in cookies)
        with self.result.lock:
            self.result.requests += 1
            self.result.latencies.append(answer.elapsed)
        if answer.status != 200:
            self.error('%s: status %d: %s' % (path, answer.status, answer.text[:200]))
            return None
        try:
            data = answer.json()
        except ValueError:
            self.error('%s: not JSON: %r' % (path, answer.text[:200]))
            return None
        with self.result.lock:
            self.result.pids[data.get('pid')] += 1
        return Reply(data, expired, web.cookies.get(COOKIE) if cookies and not expired else None)

    def error(self, message: str) -> None:
        with self.result.lock:
            self.result.errors.append('%s %s' % (self.name, message))


def run_together(targets: List[Callable[[], None]], timeout: float) -> bool:
    """Run the callables in threads of their own, at once; False if one is still running at ``timeout``."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.1))
    return not any(thread.is_alive() for thread in threads)


def run_keys_client(url: str, index: int, keys: int, per_key: int, hold: float, result: KeysResult,
                    start: threading.Barrier, timeout: float) -> None:
    """One client: log in, ``keys`` threads incrementing their own key on the session, read it back;
    then a round during which one of its threads logs out while the others keep writing."""
    name = 'client%03d' % index
    caller = SessionCaller(url, name, result, timeout)
    start.wait(timeout=60)
    login = caller.get('/login?name=' + name, None)
    sid = login.new_sid if login is not None else None
    if not sid:
        caller.error('/login: no session cookie')
        return
    acked = [0] * keys

    def incrementer(key: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(per_key):
                answer = caller.get('/incr?key=k%d&delay=%g' % (key, hold), sid)
                if answer is None:
                    continue
                if answer.data.get('value') != acked[key] + 1:
                    caller.error('/incr k%d: answered %r after %d increments' % (key, answer.data.get('value'),
                                                                               acked[key]))
                acked[key] += 1
        return run

    if not run_together([incrementer(key) for key in range(keys)], timeout * per_key):
        caller.error('increments still running after %.0fs' % (timeout * per_key))
        return
    read = caller.get('/read', sid)
    lost = sum(acked)
    if read is not None:
        data = read.data.get('data') or {}
        lost = sum(max(acked[key] - data.get('k%d' % key, 0), 0) for key in range(keys))
        if read.data.get('user') != name or any(data.get('k%d' % key, 0) > acked[key] for key in range(keys)):
            caller.error('/read: user %r data %r after increments %r' % (read.data.get('user'), data, acked))

    refused = [0]
    logout_at = max(per_key // 4, 1)

    def writer(key: int) -> Callable[[], None]:
        def run() -> None:
            for number in range(max(per_key // 2, 2)):
                if key == 0 and number == logout_at:
                    caller.get('/logout', sid)
                    continue
                answer = caller.get('/incr?key=m%d&delay=%g' % (key, hold), sid)
                if answer is not None and answer.expired:
                    with result.lock:
                        refused[0] += 1
        return run

    if not run_together([writer(key) for key in range(keys)], timeout * per_key):
        caller.error('logout round still running after %.0fs' % (timeout * per_key))
        return
    resurrected = False
    for pause in (0.0, 0.2):
        time.sleep(pause)
        check = caller.get('/read', sid)
        if check is not None and (check.data.get('user') is not None or check.data.get('data')):
            resurrected = True
            caller.error('resurrected: after logout the old cookie shows user %r data %r'
                         % (check.data.get('user'), check.data.get('data')))
    with result.lock:
        result.increments += sum(acked)
        result.lost_updates += lost
        result.resurrected += resurrected
        result.refused += refused[0]


def run_keys_setup(name: str, clients: int, requests: int, keys: int, hold: float, workdir: str) -> Dict[str, Any]:
    per_key = max(requests // keys, 4)
    result = KeysResult()
    started: List[Any] = []
    try:
        server, _ = start_setup(ALL_SETUPS[name], 'concurrency_app:app', os.path.join(workdir, name), started,
                                start_timeout=30)
        start = threading.Barrier(clients + 1)
        timeout = 30.0
        threads = [threading.Thread(target=run_keys_client, name='keys-client-%d' % index, daemon=True,
                                    args=(server.url, index, keys, per_key, hold, result, start, timeout))
                   for index in range(clients)]
        result.seconds = run_clients(threads, start, max(120.0, clients * per_key * keys / 20.0), result.errors)
    finally:
        for item in reversed(started):
            item.cleanup()
    return {
        'setup': name, 'clients': clients, 'keys': keys, 'requests': result.requests,
        'increments': result.increments, 'errors': len(result.errors), 'lost': result.lost_updates,
        'resurrected': result.resurrected, 'refused': result.refused, 'rate': result.rate,
        'worst_ms': max(result.latencies or [0]) * 1000, 'processes': len(result.pids),
        'first_errors': result.errors[:5], 'seconds': result.seconds,
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--clients', type=int, default=64)
    parser.add_argument('--requests', type=int, default=100, help='requests per client (login + bumps + whoami)')
    parser.add_argument('--boom-every', type=int, default=10, help='every Nth request raises (0: never)')
    parser.add_argument('--setups', help='comma-separated, from: %s (default: all but redis-waitress; with '
                        '--concurrent-keys, all)' % ', '.join(ALL_SETUPS))
    parser.add_argument('--concurrent-keys', type=int, default=0, metavar='N',
                        help='each client runs N requests at a time on its session, each changing its own key; '
                             'reports lost updates and sessions brought back after a logout')
    parser.add_argument('--hold-ms', type=float, default=5.0,
                        help='with --concurrent-keys: how long each request holds its loaded session (default 5)')
    args = parser.parse_args(argv)
    chosen = args.setups or ','.join(KEYS_SETUPS if args.concurrent_keys else SETUPS)
    names = [name.strip() for name in chosen.split(',') if name.strip()]
    unknown = [name for name in names if name not in ALL_SETUPS]
    if unknown or args.clients < 1 or args.requests < 3:
        parser.error('unknown setup %s' % ', '.join(unknown) if unknown else '--clients >= 1, --requests >= 3')
    if args.concurrent_keys == 1 or args.concurrent_keys < 0:
        parser.error('--concurrent-keys must be 2 or more (0: the usual run)')
    if args.concurrent_keys:
        return main_keys(names, args.clients, args.requests, args.concurrent_keys, args.hold_ms / 1000.0)
    workdir = tempfile.mkdtemp(prefix='canister-load-')
    rows = []
    try:
        for name in names:
            row = run_setup(name, args.clients, args.requests, args.boom_every, workdir)
            rows.append(row)
            print('%-17s %4d clients %7d requests %5d errors %4d lost updates %7.0f req/s  worst %5.0f ms  '
                  '%d process(es)  log %s' % (row['setup'], row['clients'], row['requests'], row['errors'],
                                             row['lost'], row['rate'], row['worst_ms'], row['processes'],
                                             'ok' if row['log_ok'] else 'MISMATCH'), flush=True)
            for error in row['first_errors']:
                print('    ' + error)
    finally:
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [row for row in rows if row['errors'] or row['lost'] or not row['log_ok']]
    return 1 if failed else 0


def main_keys(names: List[str], clients: int, requests: int, keys: int, hold: float) -> int:
    workdir = tempfile.mkdtemp(prefix='canister-load-')
    rows = []
    try:
        for name in names:
            row = run_keys_setup(name, clients, requests, keys, hold, workdir)
            rows.append(row)
            print('%-17s %4d clients x %d keys %7d requests %5d errors %7d increments %4d lost updates '
                  '%3d resurrected (%d saves refused after logout) %7.0f req/s  worst %5.0f ms  %d process(es)'
                  % (row['setup'], row['clients'], row['keys'], row['requests'], row['errors'], row['increments'],
                     row['lost'], row['resurrected'], row['refused'], row['rate'], row['worst_ms'],
                     row['processes']), flush=True)
            for error in row['first_errors']:
                print('    ' + error)
    finally:
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [row for row in rows if row['errors'] or row['lost'] or row['resurrected']]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
