"""Faults under load: Redis SIGKILLed and restarted, the app server SIGKILLed over SQLite.

Real processes on 127.0.0.1 (tests/servers.py): a private ``redis-server`` with
append-only persistence, tests/apps/session_app.py served by gunicorn (several sync
workers) or waitress (several threads), and many client threads, each with its own
cookie session, each sending ``GET /count`` again and again (one connection per
request). Nothing is mocked.

``/count`` answers the counter the session held *before* this request and stores it
plus one, so a client can check every answer against the number of its increments
that were answered 200. The one case a client cannot decide is a request in flight
when the fault hits: the store may have applied its write while the answer was lost
(a 503, or a broken connection). Each client sends one request at a time, so it has
at most one such request, and the tests allow exactly that one extra increment for
exactly that client, nothing else.
"""
import collections
import os
import shutil
import sqlite3
import threading
import time

import pytest

from helpers import COOKIE, read_log
from servers import AppServer, Client, RedisServer, ServerError, wait_until

APP = 'session_app:app'
CLIENTS = 24
#: No answer to a session request may take longer, outage or not.
MAX_ANSWER_SECONDS = 3.0
#: Every client must get a 200 again this soon after redis answers PING again.
MAX_RECOVERY_SECONDS = 5.0
UNAVAILABLE_TEXT = 'Service unavailable: the session store cannot be reached'

Attempt = collections.namedtuple('Attempt', 'started ended status counter error text cookie')


# --------------------------------------------------------------------------
# fixtures and the client driver

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def start_session_app(started, tmp_path, server, store):
    """tests/apps/session_app.py on ``server`` (3 workers, 8 threads) over ``store``, logging to tmp_path/logs; its AppServer."""
    env = {'CANISTER_SESSION_STORE': store, 'CANISTER_LOG_PATH': str(tmp_path / 'logs'),
           'CANISTER_LOG_LEVEL': 'INFO'}
    app = AppServer(APP, server=server, workers=3, threads=8, env=env)
    started.append(app)
    return app.start()


class Hammer(threading.Thread):
    """One client: its own session, ``GET /count`` until told to stop; every attempt kept."""

    def __init__(self, url, index, stop, pause_after_failure=0.01):
        super().__init__(name='fault-client-%d' % index, daemon=True)
        self.web = Client(url, timeout=10)
        self.stop = stop
        self.pause = pause_after_failure
        self.attempts = []

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            status = counter = error = text = None
            try:
                answer = self.web.get('/count')
            except Exception as exc:  # refused, reset, timed out: recorded, judged by the test
                error = '%s: %s' % (type(exc).__name__, exc)
            else:
                status, text = answer.status, answer.text
                if status == 200:
                    counter = answer.json()['counter']
            self.attempts.append(Attempt(started, time.monotonic(), status, counter, error, text,
                                         self.web.cookies.get(COOKIE)))
            if status != 200:
                time.sleep(self.pause)

    def ok(self, since=float('-inf')):
        return [a for a in self.attempts if a.status == 200 and a.started >= since]


def start_hammers(url, stop, clients=CLIENTS):
    hammers = [Hammer(url, i, stop) for i in range(clients)]
    for hammer in hammers:
        hammer.start()
    return hammers


def stop_hammers(hammers, stop):
    stop.set()
    for hammer in hammers:
        hammer.join(30)
    stuck = [h.name for h in hammers if h.is_alive()]
    assert not stuck, 'client threads still running: %s' % stuck


def wait_for(hammers, predicate, timeout, what):
    """Until ``predicate(hammer)`` holds for every client."""
    try:
        wait_until(lambda: all(predicate(h) for h in hammers), timeout, interval=0.05, what=what)
    except ServerError as exc:
        behind = [(h.name, collections.Counter(a.status or a.error for a in h.attempts[-20:]))
                  for h in hammers if not predicate(h)]
        pytest.fail('%s; clients behind: %s' % (exc, behind[:5]))


def in_flight(attempt, fault_began, fault_done):
    """Sent before the fault was complete and not answered before it began."""
    return attempt.started < fault_done and attempt.ended > fault_began


def check_counters(hammer, final, fault_began, fault_done):
    """Walk one client's answers: each 200 shows the number of increments applied before it.

    That number must be the count of earlier 200 answers, plus at most one increment whose
    answer was lost because the request was in flight at the fault (a client sends one
    request at a time, and once the fault has cut one, nothing serves the next until the
    restart). Returns the number of such applied-but-unanswered increments (0 or 1)."""
    expected = 0
    ambiguous = 0  # requests since the last 200 that were in flight at the fault and not 200
    extra = 0
    history = []
    for attempt in hammer.attempts + [final]:
        history.append(attempt.counter if attempt.status == 200 else attempt.status or attempt.error)
        if attempt.status != 200:
            ambiguous += in_flight(attempt, fault_began, fault_done)
            continue
        gap = attempt.counter - expected
        assert gap >= 0, ('%s: lost update: %d increments answered 200, then the session held %d; '
                          'answers: %r' % (hammer.name, expected, attempt.counter, history[-12:]))
        assert gap <= min(ambiguous, 1), (
            '%s: %d increment(s) applied that no request in flight at the fault accounts for '
            '(counter %d after %d answered 200); answers: %r'
            % (hammer.name, gap, attempt.counter, expected, history[-12:]))
        extra += gap
        expected = attempt.counter + 1
        ambiguous = 0
    return extra


def peek(url, cookie):
    web = Client(url)
    web.cookies[COOKIE] = cookie
    answer = web.get('/peek')
    return Attempt(0, 0, answer.status, answer.json()['counter'] if answer.status == 200 else None,
                   None, answer.text, cookie)


def assert_one_session_per_client(hammers):
    owners = {}
    for hammer in hammers:
        cookies = {a.cookie for a in hammer.attempts}
        assert len(cookies) == 1 and None not in cookies, (
            '%s: the session cookie changed or went missing: %r' % (hammer.name, cookies))
        cookie = cookies.pop()
        assert owners.setdefault(cookie, hammer.name) == hammer.name, 'two clients shared a session'
    return owners


# --------------------------------------------------------------------------
# Redis SIGKILLed and restarted under load

@pytest.mark.parametrize('server', ['gunicorn', 'waitress'])
def test_redis_killed_under_load_gives_quick_503s_and_every_client_recovers_with_no_lost_update(
        server, started, tmp_path):
    redis = RedisServer(appendfsync='always')
    started.append(redis)
    redis.start()
    app = start_session_app(started, tmp_path, server, redis.url)
    stop = threading.Event()
    hammers = start_hammers(app.url, stop)
    try:
        wait_for(hammers, lambda h: len(h.ok()) >= 5, 20, 'every client to count to 5')

        kill_began = time.monotonic()
        redis.kill()  # SIGKILL: no shutdown, no AOF rewrite, connections cut
        kill_done = time.monotonic()
        # Two full requests per client after the kill, and at least two seconds of outage.
        wait_for(hammers, lambda h: len([a for a in h.attempts if a.started > kill_done]) >= 2, 15,
                 'every client to meet the outage')
        time.sleep(max(0.0, kill_done + 2.0 - time.monotonic()))

        restart_began = time.monotonic()
        redis.start()  # same port, same directory: the AOF is replayed
        restart_done = time.monotonic()
        wait_for(hammers, lambda h: len(h.ok(since=restart_done)) >= 5, 20,
                 'every client to count again after the restart')
    finally:
        stop_hammers(hammers, stop)

    attempts = [a for h in hammers for a in h.attempts]
    errors = [a.error for a in attempts if a.error]
    assert not errors, 'requests failed without an HTTP answer: %r' % errors[:5]
    statuses = collections.Counter(a.status for a in attempts)
    assert set(statuses) <= {200, 503}, statuses

    outage = [a for a in attempts if a.started > kill_done and a.ended < restart_began]
    assert outage and all(a.status == 503 for a in outage), collections.Counter(a.status for a in outage)
    unavailable = [a for a in attempts if a.status == 503]
    for attempt in unavailable:
        assert UNAVAILABLE_TEXT in attempt.text, attempt.text
        assert 'traceback' not in attempt.text.lower(), attempt.text
    slowest = max(a.ended - a.started for a in attempts)
    slowest_503 = max(a.ended - a.started for a in unavailable)
    assert slowest < MAX_ANSWER_SECONDS, 'an answer took %.2fs' % slowest

    recovery = [min(a.ended for a in h.ok(since=restart_done)) - restart_done for h in hammers]
    assert max(recovery) < MAX_RECOVERY_SECONDS, 'slowest recovery %.2fs' % max(recovery)

    log = read_log(tmp_path / 'logs')
    assert 'Traceback' not in log and 'Response: 500' not in log, log[-3000:]
    assert log.count('Response: 503 (') == len(unavailable), 'every 503 is logged, once'

    owners = assert_one_session_per_client(hammers)
    assert len(owners) == CLIENTS
    unanswered_but_applied = 0
    for hammer in hammers:
        final = peek(app.url, hammer.attempts[0].cookie)
        assert final.status == 200, final
        unanswered_but_applied += check_counters(hammer, final, kill_began, kill_done)
    print('\nredis SIGKILL under load (%s): %d clients, %d requests (%d during the outage), statuses %s, '
          'slowest answer %.3fs, slowest 503 %.3fs, outage %.2fs, recovery after PONG: max %.3fs, '
          'lost updates 0, applied-but-unanswered %d'
          % (server, CLIENTS, len(attempts), len(outage), dict(statuses), slowest, slowest_503,
             restart_done - kill_began, max(recovery), unanswered_but_applied))


# --------------------------------------------------------------------------
# the app server SIGKILLed over SQLite

def integrity(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute('PRAGMA integrity_check').fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize('server', ['gunicorn', 'waitress'])
def test_sqlite_sessions_survive_a_sigkill_of_the_server_in_the_middle_of_concurrent_requests(
        server, started, tmp_path):
    db = tmp_path / 'sessions.db'
    app = start_session_app(started, tmp_path, server, 'sqlite:///' + str(db))
    stop = threading.Event()
    hammers = start_hammers(app.url, stop)
    try:
        wait_for(hammers, lambda h: len(h.ok()) >= 10, 20, 'every client to count to 10')
        kill_began = time.monotonic()
        app.kill()  # SIGKILL to the server and all its workers, mid-request
        kill_done = time.monotonic()
    finally:
        stop_hammers(hammers, stop)

    # The files exactly as the crash left them, opened by another program.
    crashed = tmp_path / 'crashed'
    crashed.mkdir()
    for suffix in ('', '-wal'):
        if os.path.exists(str(db) + suffix):
            shutil.copy(str(db) + suffix, str(crashed / 'sessions.db') + suffix)
    assert integrity(str(crashed / 'sessions.db')) == [('ok',)]

    attempts = [a for h in hammers for a in h.attempts]
    before = [a for a in attempts if a.ended < kill_began]
    assert before and all(a.status == 200 for a in before), collections.Counter(a.status for a in before)
    failed = [a for a in attempts if a.status != 200]
    assert all(a.error and not a.status for a in failed), (
        'the kill gave HTTP answers instead of broken connections: %r' % [a for a in failed if a.status][:3])
    cut = [a for a in failed if in_flight(a, kill_began, kill_done)]
    assert cut, 'no request was in flight at the kill: the test proved nothing'

    app.start()  # same port, same database file
    assert_one_session_per_client(hammers)
    unanswered_but_applied = 0
    for hammer in hammers:
        final = peek(app.url, hammer.attempts[0].cookie)
        assert final.status == 200, final
        unanswered_but_applied += check_counters(hammer, final, kill_began, kill_done)
        again = Client(app.url)
        again.cookies[COOKIE] = hammer.attempts[0].cookie
        answer = again.get('/count')
        assert answer.status == 200 and answer.json()['counter'] == final.counter, answer
    assert integrity(str(db)) == [('ok',)]
    print('\nSQLite, %s SIGKILLed under load: %d clients, %d requests answered 200, %d cut by the kill, '
          'of which applied %d; integrity_check ok'
          % (server, CLIENTS, len(attempts) - len(failed), len(cut), unanswered_but_applied))
