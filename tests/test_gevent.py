"""Canister under gevent: ``bottle.run(server='gevent')`` after ``gevent.monkey.patch_all()``, and
gunicorn's gevent worker.

Every request is a greenlet of one thread: ``threading.local`` is per greenlet, ``threading.Lock``
is gevent's and ``time.sleep`` gives way to the other greenlets, while a wait inside a C library
(SQLite's for a locked file) stops all of them.  Each test talks real HTTP from client threads to a
real gevent server in a subprocess (tests/apps/gevent_app.py, whose handlers sleep in the middle of
their work so that the requests interleave), on each store canister ships (memory, a SQLite file, a
real redis-server), and checks what a user sees: the answers, the log lines, the descriptors the
server holds.  Nothing is mocked.

gevent comes with the test extra (``pip install -e '.[test]'``): it has wheels for every Python
canister supports (3.9 gets gevent 26.7, the newest release that supports it), so these tests
fail, never skip, where it is missing.
"""
import http.client
import os
import re
import sqlite3
import threading
import time

import pytest

from helpers import log_entries, sqlite_url
from servers import AppServer, wait_until
from session_kit import STORES, Browser, make_store_url, run_threads

try:
    import gevent  # noqa: F401  (only the server processes use it; here, to say what is missing)
except ImportError:  # pragma: no cover - an environment without the test extra
    pytest.fail("gevent is not installed: `pip install -e '.[test]'` (or `pip install gevent`) brings it; "
                'it has wheels for Python 3.9 to 3.13', pytrace=False)

APP = 'gevent_app:app'
CLIENTS = 16
BUMPS = 8


def browser_at(origin, number):
    """A browser at the address 10.0.1.<number> (named in X-Forwarded-For, which the app trusts from 127.0.0.1)."""
    browser = Browser(origin)
    browser.address = '10.0.1.%d' % number
    return browser


def get_from(browser, path, request_id=None):
    """GET ``path`` from ``browser``'s address, with ``request_id`` as X-Request-ID if given."""
    headers = {'X-Forwarded-For': browser.address}
    if request_id:
        headers['X-Request-ID'] = request_id
    return browser.get(path, headers=headers)


def crowd_of_one(origin, number):
    """One client logging in and bumping its counter three times; it checks every answer."""
    browser = browser_at(origin, number)
    assert get_from(browser, '/login?name=c%d' % number).status == 200
    for bump in range(1, 4):
        answer = get_from(browser, '/bump?name=c%d' % number)
        assert (answer.status, answer.json()['counter'], answer.json()['user']) == (200, bump, 'c%d' % number)


def descriptors_on(pid, path):
    """How many descriptors process ``pid`` holds on the file at ``path`` (and its -wal and -shm)."""
    count = 0
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            count += os.readlink('/proc/%d/fd/%s' % (pid, fd)).startswith(str(path))
        except OSError:  # closed meanwhile
            pass
    return count


def gevent_app_server(workdir, url, **options):
    """gevent_app on the store at ``url``, logging to ``workdir``/logs (``log_dir``), not started;
    ``options`` go to AppServer (by default ``bottle.run(server='gevent')``, one process)."""
    options.setdefault('server', 'gevent')
    server = AppServer(APP, env={'CANISTER_SESSION_STORE': url, 'CANISTER_LOG_PATH': str(workdir / 'logs')}, **options)
    server.log_dir = workdir / 'logs'
    return server


@pytest.fixture(scope='module', params=STORES)
def gevent_server(request, tmp_path_factory):
    """gevent_app under ``bottle.run(server='gevent')`` on each store, started; its AppServer."""
    workdir = tmp_path_factory.mktemp('gevent-%s' % request.param)
    server = gevent_app_server(workdir, make_store_url(request.param, workdir, request))
    yield server.start()
    server.cleanup()


@pytest.fixture
def sqlite_gevent_server(tmp_path):
    """gevent_app under ``bottle.run(server='gevent')`` on a SQLite file of its own (``db``), started."""
    server = gevent_app_server(tmp_path, sqlite_url(tmp_path / 'sessions.db'))
    server.db = tmp_path / 'sessions.db'
    yield server.start()
    server.cleanup()


@pytest.fixture(scope='module')
def crowd(gevent_server):
    """16 clients at once, each from an address of its own, logging in as itself and then bumping its
    own counter 8 times, each bump pausing in the handler so that the greenlets interleave (request
    ids ``g<client>-login`` and ``g<client>-<bump>``); the answers by client, each with the session
    id it was sent with, and the session ids each client held."""
    origin = gevent_server.url
    answers = {number: [] for number in range(CLIENTS)}
    sids = {number: set() for number in range(CLIENTS)}

    def run(number):
        browser = browser_at(origin, number)
        assert get_from(browser, '/login?name=c%d' % number, 'g%d-login' % number).status == 200
        sids[number].add(browser.sid)
        for bump in range(BUMPS):
            answer = get_from(browser, '/bump?name=c%d&pause=0.01' % number, 'g%d-%d' % (number, bump))
            answers[number].append((answer.status, answer.json(), browser.sid))
            sids[number].add(browser.sid)

    errors = run_threads([lambda number=number: run(number) for number in range(CLIENTS)])
    assert not errors, errors
    return answers, sids


# --------------------------------------------------------------------------
# sessions of many clients, each request a greenlet

def test_many_clients_under_gevent_each_see_only_their_own_session(crowd):
    answers, _ = crowd
    for number, seen in answers.items():
        name = 'c%d' % number
        assert [status for status, _, _ in seen] == [200] * BUMPS
        assert [body['counter'] for _, body, _ in seen] == list(range(1, BUMPS + 1)), seen  # none lost
        assert {(body['user'], body['owner']) for _, body, _ in seen} == {(name, name)}


def test_under_gevent_each_handler_runs_in_a_thread_named_after_its_own_client_and_session(crowd):
    answers, _ = crowd
    for number, seen in answers.items():
        for bump, (_, body, sid) in enumerate(seen):
            assert body['thread'] == '10.0.1.%d-%s' % (number, sid[:6])
            assert body['request_id'] == 'g%d-%d' % (number, bump)


def test_under_gevent_each_log_line_carries_its_own_request_client_and_session(crowd, gevent_server):
    _, sids = crowd
    lines = {}
    for entry in log_entries(gevent_server.log_dir):
        match = re.fullmatch(r'g(\d+)-(\d+|login)', entry['request_id'])
        if match:
            number = int(match.group(1))
            address, _, sid6 = entry['thread'].partition('-')
            assert address == '10.0.1.%d' % number, entry
            assert sid6 == '...' or sid6 in {sid[:6] for sid in sids[number]}, entry
            lines.setdefault(entry['request_id'], []).append(entry['message'])
    assert len(lines) == CLIENTS * (BUMPS + 1)
    for request_id, messages in lines.items():
        number, _, which = request_id[1:].partition('-')
        assert messages[0].startswith('GET http://'), (request_id, messages)
        assert messages[1:-1] == ([] if which == 'login' else ['bump by c%s' % number]), (request_id, messages)
        assert messages[-1].startswith('Response: 200 ('), (request_id, messages)


def test_under_gevent_nothing_of_a_request_outlives_it(crowd, gevent_server):
    # Keep-alive connections left open: their greenlets live on, idle, after their requests ended.
    idle = [http.client.HTTPConnection('127.0.0.1', gevent_server.port, timeout=30) for _ in range(3)]
    try:
        for number, connection in enumerate(idle):
            connection.request('GET', '/login?name=idle', headers={'X-Forwarded-For': '10.0.2.%d' % number})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
        left = Browser(gevent_server.url).get('/leftovers').json()
    finally:
        for connection in idle:
            connection.close()

    assert left['patched']  # (the server runs under gevent's monkey-patching)
    assert left['contexts'] == 1  # this request's own
    assert len(left['threads']) >= 5  # the main thread, this request's and the three idle ones
    assert [name for name in left['threads'] if '10.0.' in name] == [], left  # no name of a request that ended


def test_a_greenlet_a_handler_spawns_sees_no_session(gevent_server):
    answer = Browser(gevent_server.url).get('/spawned')

    assert answer.status == 200
    seen = answer.json()
    assert (seen['data'], seen['user'], seen['request_id']) == ({}, None, '')
    assert seen['sid'].startswith('CanisterError: canister.session is only available while canister serves a request')


# --------------------------------------------------------------------------
# concurrent requests of one session

def test_concurrent_requests_of_one_session_under_gevent_each_keep_their_own_key(gevent_server):
    browser = browser_at(gevent_server.url, 50)
    assert get_from(browser, '/login?name=keys').status == 200

    def bump_key(key):
        for _ in range(5):  # each loads the session, gives way to the others, then saves
            answer = Browser(gevent_server.url, browser.sid, follow=False).get('/incr?key=%s&delay=0.02' % key)
            assert answer.status == 200, answer

    errors = run_threads([lambda key=key: bump_key(key) for key in 'abcdef'])

    assert not errors, errors
    assert Browser(gevent_server.url, browser.sid).read() == ['keys', {'owner': 'keys', **dict.fromkeys('abcdef', 5)}]


def test_a_logout_while_another_request_of_the_session_gives_way_to_the_hub_sticks(gevent_server, tmp_path):
    browser = browser_at(gevent_server.url, 51)
    assert get_from(browser, '/login?name=leaving').status == 200
    sid = browser.sid
    held, hold = {}, tmp_path / 'logged-out'

    def slow_change():  # loads the session, waits for the logout (other greenlets run), then changes it
        held['answer'] = Browser(gevent_server.url, sid, follow=False).get(
            '/incr?key=late&hold=%s' % hold, headers={'X-Request-ID': 'held-across-logout'})

    thread = threading.Thread(target=slow_change)
    thread.start()
    wait_until(lambda: any(entry['request_id'] == 'held-across-logout' and entry['message'].startswith('incr')
                           for entry in log_entries(gevent_server.log_dir)), 30, what='the slow request to load its session')
    assert Browser(gevent_server.url, sid).get('/logout').status == 200
    hold.touch()
    thread.join(30)

    assert held['answer'].status == 200
    assert held['answer'].new_sid == ''  # its answer expires the cookie too
    assert Browser(gevent_server.url, sid).read() == [None, {}]
    [warning] = [entry['message'] for entry in log_entries(gevent_server.log_dir)
                 if entry['request_id'] == 'held-across-logout' and entry['level'] == 'WARNING'
                 and not entry['message'].startswith('Response: ')]  # (its line if load made it slower than 1 s)
    assert warning.startswith('Session: %s... was ended (logout)' % sid[:6]), warning


# --------------------------------------------------------------------------
# nothing stops the hub

def test_one_slow_request_does_not_hold_up_the_others_under_gevent(gevent_server, tmp_path):
    slow, hold = {}, tmp_path / 'crowd-answered'
    thread = threading.Thread(target=lambda: slow.update(answer=Browser(gevent_server.url).get('/slow?hold=%s' % hold)))
    thread.start()
    wait_until(lambda: (tmp_path / 'crowd-answered.reached').exists(), 10, what='the slow request to begin waiting')
    errors = run_threads([lambda number=number: crowd_of_one(gevent_server.url, 60 + number) for number in range(8)])
    answered_meanwhile = thread.is_alive()
    hold.touch()
    thread.join(30)

    assert not errors, errors
    assert answered_meanwhile, 'the other requests were answered only after the slow one'
    assert slow['answer'].status == 200


def test_a_sqlite_file_locked_by_another_process_does_not_stop_the_gevent_server(sqlite_gevent_server):
    origin = sqlite_gevent_server.url
    browser = browser_at(origin, 70)
    assert get_from(browser, '/login?name=waiting').status == 200
    waiting = {}
    other = sqlite3.connect(str(sqlite_gevent_server.db), isolation_level=None)
    try:
        other.execute('BEGIN IMMEDIATE')  # another process writes to the file until the pings are answered
        thread = threading.Thread(target=lambda: waiting.update(answer=get_from(browser, '/bump?name=c70', 'waits')))
        thread.start()
        wait_until(lambda: any(entry['request_id'] == 'waits' and entry['message'] == 'bump by c70'
                               for entry in log_entries(sqlite_gevent_server.log_dir)), 30, what='the bump to save')
        started = time.monotonic()
        pings = [Browser(origin).get('/ping').status for _ in range(3)]
        answered_in = time.monotonic() - started
        answered_while_it_waited = thread.is_alive()
    finally:
        other.execute('ROLLBACK')
        other.close()
    thread.join(30)

    assert pings == [200] * 3
    assert answered_while_it_waited, ('requests that do not use the file were answered after %.2fs, once the write '
                                      'waiting for it had given up: %r' % (answered_in, waiting))
    assert waiting['answer'].status == 200
    assert (waiting['answer'].json()['counter'], waiting['answer'].json()['user']) == (1, 'waiting')


def test_a_write_under_gevent_gives_up_on_a_sqlite_file_locked_for_good_after_5_s_with_503(sqlite_gevent_server):
    browser = browser_at(sqlite_gevent_server.url, 72)
    assert get_from(browser, '/login?name=patient').status == 200
    for _ in range(3):  # (measured again only when another job's load made the answer later than 7 s)
        other = sqlite3.connect(str(sqlite_gevent_server.db), isolation_level=None)
        try:
            other.execute('BEGIN IMMEDIATE')
            started = time.monotonic()
            answer = get_from(browser, '/bump?name=c72', 'gives-up')
            waited = time.monotonic() - started
        finally:
            other.execute('ROLLBACK')
            other.close()
        assert answer.status == 503
        assert 4.5 < waited, waited
        if waited < 7:
            break
    assert waited < 7, waited  # (three times later: the write waited longer than its 5 s)
    assert [entry['message'] for entry in log_entries(sqlite_gevent_server.log_dir)
            if entry['request_id'] == 'gives-up' and entry['level'] == 'ERROR'][0].endswith('database is locked')
    assert get_from(browser, '/read').json()['data'] == {'owner': 'patient'}  # nothing of it stored


def test_sqlite_connections_under_gevent_do_not_pile_up_with_the_requests(sqlite_gevent_server):
    browser = browser_at(sqlite_gevent_server.url, 71)
    pid = sqlite_gevent_server.proc.pid
    assert get_from(browser, '/login?name=many').status == 200
    held_at_first = descriptors_on(pid, sqlite_gevent_server.db)

    for _ in range(200):  # each on a connection of its own, so each in a greenlet of its own
        assert get_from(browser, '/bump?name=c71').status == 200

    assert get_from(browser, '/read').json()['data']['counter'] == 200
    assert descriptors_on(pid, sqlite_gevent_server.db) <= held_at_first


# --------------------------------------------------------------------------
# several worker processes

def test_gunicorns_gevent_workers_sharing_a_sqlite_file_keep_each_clients_session(tmp_path):
    server = gevent_app_server(tmp_path, sqlite_url(tmp_path / 'sessions.db'), server='gunicorn', workers=2,
                               worker_class='gevent')
    server.start()
    try:
        errors = run_threads([lambda number=number: crowd_of_one(server.url, 80 + number) for number in range(8)])
        patched = Browser(server.url).get('/leftovers').json()['patched']
    finally:
        server.cleanup()

    assert not errors, errors
    assert patched
