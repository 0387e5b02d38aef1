"""Concurrent clients against real servers: no lost update, no leak between sessions.

32 client threads run at once, each with its own session (the cookie carried by
hand, one connection per request).  Each logs in as itself (``/login?name=clientNN``),
bumps its own counter, and every sixth request hits ``/boom``, a handler that writes
poison into the session (data, counter and a new user) and then raises: that 500
must leave nothing behind for the next request served by the same thread or process.

Checked afterwards: every status as expected; every ``/bump`` answer names the
client's own user and data; the final counter equals the number of ``/bump``
requests (no lost update); no two clients ever shared a session id; and the log
holds exactly one request line and one response line per request, every line
whole (no interleaving between threads or processes).

Setups (tests/apps/load_app.py served from a subprocess, 127.0.0.1 only):
  memory  over waitress, 8 threads
  sqlite  over waitress, 8 threads
  redis   over gunicorn, 3 sync worker processes (a private redis-server)
  sqlite  over gunicorn, 3 sync worker processes (one database file)

benchmarks/load.py runs the same driver bigger and reports throughput.
"""
from __future__ import annotations

import collections
import os
import re
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

import pytest

from helpers import COOKIE, read_log
from servers import AppServer, Client, RedisServer

APP = 'load_app:app'
LOG_LINE = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\[[^\]]*\]   ')
REQUEST_LINE = re.compile(r'\]   GET http://127\.0\.0\.1:\d+/(login|bump|boom|whoami)\?')
RESPONSE_LINE = re.compile(r'\]   Response: (\d{3}) \(\d+ms\)$')


# --------------------------------------------------------------------------
# the driver (also used by benchmarks/load.py)

class LoadResult:
    """What a load run saw."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.requests = 0
        self.bumps = 0
        self.errors: List[str] = []
        self.lost_updates = 0
        self.seconds = 0.0
        self.pids: collections.Counter = collections.Counter()
        self.statuses: collections.Counter = collections.Counter()
        self.paths: collections.Counter = collections.Counter()
        self.latencies: List[float] = []
        self.sids: Dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        worst = max(self.latencies) if self.latencies else 0.0
        return ('%d clients, %d requests in %.2fs (%.0f req/s), %d errors, %d lost updates, worst latency %.0fms, '
                'processes %s, statuses %s' % (self.clients, self.requests, self.seconds, self.rate,
                                                len(self.errors), self.lost_updates, worst * 1000,
                                                dict(self.pids), dict(self.statuses)))


def _query(name: str) -> str:
    return '?' + urllib.parse.urlencode({'name': name})


def run_client(url: str, index: int, requests: int, boom_every: int, result: LoadResult,
               start: threading.Barrier, timeout: float) -> None:
    """One client: login, then bumps (and booms), then whoami; every answer checked."""
    name = 'client%03d' % index
    web = Client(url, timeout=timeout)
    errors: List[str] = []
    latencies: List[float] = []
    statuses: collections.Counter = collections.Counter()
    paths: collections.Counter = collections.Counter()
    pids: collections.Counter = collections.Counter()
    sids = set()
    bumps = 0
    counter: Optional[int] = None
    sent = 0

    def call(path: str, expected: int) -> Optional[Dict[str, Any]]:
        nonlocal sent
        sent += 1
        paths[path] += 1
        try:
            answer = web.get('/%s%s' % (path, _query(name)))
        except Exception as error:  # a timeout or a reset counts as an error, never hangs the run
            errors.append('%s /%s: %s: %s' % (name, path, type(error).__name__, error))
            return None
        latencies.append(answer.elapsed)
        statuses[answer.status] += 1
        if web.cookies.get(COOKIE):
            sids.add(web.cookies[COOKIE])
        if answer.status != expected:
            errors.append('%s /%s: status %d, expected %d: %s' % (name, path, answer.status, expected,
                                                                  answer.text[:200]))
            return None
        if expected != 200:
            return {}
        try:
            data = answer.json()
        except ValueError:
            errors.append('%s /%s: not JSON: %r' % (name, path, answer.text[:200]))
            return None
        pids[data.get('pid')] += 1
        return data

    start.wait(timeout=60)
    data = call('login', 200)
    if data is not None and data.get('user') != name:
        errors.append('%s /login: user %r' % (name, data.get('user')))
    for number in range(1, requests - 1):
        if boom_every and number % boom_every == 0:
            call('boom', 500)
            continue
        data = call('bump', 200)
        if data is None:
            continue
        bumps += 1
        expected = {'owner': name, 'counter': bumps}
        if data.get('user') != name or data.get('data') != expected or data.get('counter') != bumps:
            errors.append('%s /bump #%d: saw user %r data %r, expected user %r data %r'
                          % (name, bumps, data.get('user'), data.get('data'), name, expected))
            if isinstance(data.get('data'), dict) and isinstance(data['data'].get('counter'), int):
                bumps = data['data']['counter']  # report each divergence once
    data = call('whoami', 200)
    if data is not None:
        counter = (data.get('data') or {}).get('counter')
        if data.get('user') != name or data.get('data') != {'owner': name, 'counter': bumps}:
            errors.append('%s /whoami: saw user %r data %r, expected counter %d'
                          % (name, data.get('user'), data.get('data'), bumps))
    if len(sids) != 1:
        errors.append('%s: session ids seen: %d (expected one, set at login)' % (name, len(sids)))
    with result._lock:
        result.requests += sent
        result.bumps += bumps
        result.errors.extend(errors)
        result.latencies.extend(latencies)
        result.statuses.update(statuses)
        result.paths.update(paths)
        result.pids.update(pids)
        if counter is None or not isinstance(counter, int):
            result.lost_updates += bumps
        else:
            result.lost_updates += max(bumps - counter, 0)
        for sid in sids:
            other = result.sids.setdefault(sid, name)
            if other != name:
                result.errors.append('%s and %s shared a session id' % (other, name))


def run_clients(threads: List[threading.Thread], start: threading.Barrier, deadline: float,
                errors: List[str]) -> float:
    """Start the client threads, which wait at ``start`` (one party more than there are threads) to begin
    together, and wait for them at most ``deadline`` seconds; the seconds they ran.  A client still running
    then is an error."""
    for thread in threads:
        thread.start()
    start.wait(timeout=60)
    began = time.monotonic()
    for thread in threads:
        thread.join(max(deadline - (time.monotonic() - began), 0.1))
    seconds = time.monotonic() - began
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        errors.append('clients still running after %.0fs: %s' % (deadline, ', '.join(stuck)))
    return seconds


def run_load(url: str, clients: int = 32, requests: int = 25, boom_every: int = 6,
             timeout: float = 20.0, deadline: float = 120.0) -> LoadResult:
    """``clients`` threads at once, ``requests`` requests each; bounded by ``deadline`` seconds."""
    result = LoadResult(clients)
    start = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=run_client, name='load-client-%d' % i, daemon=True,
                                args=(url, i, requests, boom_every, result, start, timeout))
               for i in range(clients)]
    result.seconds = run_clients(threads, start, deadline, result.errors)
    return result


def expected_requests(requests: int, boom_every: int) -> Dict[str, int]:
    """How many of each path one client sends."""
    booms = len([n for n in range(1, requests - 1) if boom_every and n % boom_every == 0])
    return {'login': 1, 'bump': requests - 2 - booms, 'boom': booms, 'whoami': 1}


def check_log(text: str) -> Dict[str, Any]:
    """Count request and response lines; every line must be a whole log line or part of
    the traceback that follows an ERROR line (one write per record: no interleaving)."""
    requests = responses = 0
    codes: collections.Counter = collections.Counter()
    broken: List[str] = []
    in_traceback = False
    for line in text.splitlines():
        if LOG_LINE.match(line):
            in_traceback = ' ERROR    [' in line
            if REQUEST_LINE.search(line):
                requests += 1
            match = RESPONSE_LINE.search(line)
            if match:
                responses += 1
                codes[int(match.group(1))] += 1
        elif not in_traceback:
            broken.append(line)
    return {'requests': requests, 'responses': responses, 'codes': codes, 'broken': broken}


# --------------------------------------------------------------------------
# the tests

CLIENTS = 32
REQUESTS = 25
BOOM_EVERY = 6


SETUPS = {
    'memory-waitress': ('memory', 'waitress', 1),
    'sqlite-waitress': ('sqlite', 'waitress', 1),
    'redis-gunicorn3': ('redis', 'gunicorn', 3),
    'sqlite-gunicorn3': ('sqlite', 'gunicorn', 3),
}


def start_setup(setup: Tuple[str, str, int], app: str, directory: str, started: List[Any],
                start_timeout: float = 10) -> Tuple[AppServer, str]:
    """Start a setup's store and server (appended to ``started``), with the log and the SQLite
    file in ``directory``; return the server and its log directory."""
    store, server_kind, workers = setup
    log_dir = os.path.join(directory, 'logs')
    env = {'CANISTER_LOG_PATH': log_dir}
    if store == 'redis':
        redis = RedisServer()
        started.append(redis)
        redis.start()
        env['CANISTER_SESSION_STORE'] = redis.url
    elif store == 'sqlite':
        os.makedirs(directory, exist_ok=True)
        env['CANISTER_SESSION_STORE'] = 'sqlite:///' + os.path.join(directory, 'sessions.db')
    server = AppServer(app, server=server_kind, workers=workers, threads=8, env=env, start_timeout=start_timeout)
    started.append(server)
    server.start()
    return server, log_dir


@pytest.mark.parametrize('setup', list(SETUPS))
def test_concurrent_clients_keep_their_own_sessions(setup: str, tmp_path: Any, started: List[Any]) -> None:
    workers = SETUPS[setup][2]
    server, log_dir = start_setup(SETUPS[setup], APP, str(tmp_path), started)
    before = check_log(read_log(log_dir))

    result = run_load(server.url, CLIENTS, REQUESTS, BOOM_EVERY, timeout=30, deadline=120)

    assert not result.errors, '%d errors, first ones:\n%s\n%s' % (
        len(result.errors), '\n'.join(result.errors[:15]), result.summary())
    per_client = expected_requests(REQUESTS, BOOM_EVERY)
    assert result.requests == CLIENTS * REQUESTS
    assert dict(result.paths) == {path: CLIENTS * count for path, count in per_client.items()}
    assert result.statuses == {200: CLIENTS * (REQUESTS - per_client['boom']), 500: CLIENTS * per_client['boom']}
    assert result.bumps == CLIENTS * per_client['bump']
    assert result.lost_updates == 0
    assert len(result.sids) == CLIENTS
    if workers > 1:
        assert len(result.pids) > 1, 'every request went to one worker: %s' % dict(result.pids)

    after = check_log(read_log(log_dir))
    assert not after['broken'], 'mangled log lines:\n%s' % '\n'.join(after['broken'][:10])
    assert after['requests'] - before['requests'] == CLIENTS * REQUESTS
    assert after['responses'] - before['responses'] == CLIENTS * REQUESTS
    codes = after['codes'] - before['codes']
    assert codes == collections.Counter({200: CLIENTS * (REQUESTS - per_client['boom']),
                                         500: CLIENTS * per_client['boom']})
    # Every /boom left its traceback in the log, once.
    assert read_log(log_dir).count('RuntimeError: boom after touching the session') == CLIENTS * per_client['boom']
