"""The SQLite session file over the life of a running app: deleted or replaced under it, and closed.

* An operator (or a cleanup job) deletes ``sessions.db`` with its ``-wal`` and ``-shm`` to log
  everyone out: within about a second every thread of every worker process goes on in one new
  file, made readable by its owner only and set up as at install; the old sessions are gone.
* A file replaced by another (a backup put back) is the one used from then on.
* Uninstalling canister closes every connection to the file, whichever thread opened it (the
  login throttle's too), while the server's threads live on.

Real SQLite files, real server threads (waitress in this process) and real gunicorn workers;
what is asserted is what a client or an operator sees: statuses, sessions, the files on disk and
their modes, and the descriptors in /proc/self/fd.
"""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import canister
from canister import session
from helpers import (COOKIE, basic, client, cookie_value, cookieless_client, json_counter_app, read_log, sqlite_url,
                     with_cookie)
from servers import AppServer, Client

THREADS = 8  # the ``serve`` fixture's waitress threads
#: A connection looks at its file again at most once a second.
NOTICED = 1.2


def at_once_app(make_app, path, **overrides):
    """An app on the SQLite file at ``path``; GET /at-once?name=... waits until 8 requests are in it
    (so one is on each of the server's threads), logs ``name`` in and answers the session id."""
    app = make_app(session_store=sqlite_url(path), **overrides)
    together = threading.Barrier(THREADS)

    @app.get('/at-once')
    def at_once(name):
        together.wait(30)
        session.user = name
        return session.sid

    @app.get('/me')
    def me():
        return json.dumps(session.user)

    return app


def on_every_thread(origin, path, cookies=None, headers=None):
    """GET ``path`` 8 times at once, the i-th with ``cookies[i]``; the responses in that order."""
    responses = [None] * THREADS
    together = threading.Barrier(THREADS)

    def send(index):
        client = Client(origin)
        if cookies:
            client.cookies[COOKIE] = cookies[index]
        together.wait(30)
        responses[index] = client.get(path, headers=headers)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


def log_in_on_every_thread(origin, prefix):
    """Log in 8 users at once, one on each server thread; their session ids."""
    responses = on_every_thread(origin, '/at-once?name=%s' % prefix)
    assert [response.status for response in responses] == [200] * THREADS, responses
    return [response.text for response in responses]


def delete_session_files(path):
    """What an operator does to log everyone out: the file and its -wal and -shm deleted."""
    for suffix in ('', '-wal', '-shm'):
        try:
            os.remove('%s%s' % (path, suffix))
        except FileNotFoundError:
            pass


def modes(path):
    """The permission bits of the file and its -wal and -shm."""
    return [oct(os.stat('%s%s' % (path, suffix)).st_mode & 0o777) for suffix in ('', '-wal', '-shm')]


def sessions_on_disk(path):
    """The (sid, user_key) rows of the file on disk, read without creating it."""
    assert path.exists(), '%s is not on disk' % path
    with sqlite3.connect('file:%s?mode=ro' % path, uri=True) as connection:
        return sorted(connection.execute('SELECT sid, user_key FROM canister_sessions').fetchall())


def open_descriptors(path):
    """The descriptors of this process open on the file, its -wal or its -shm (deleted or not)."""
    found = []
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


# --------------------------------------------------------------------------
# the file deleted or replaced while the app runs

@pytest.fixture
def umask_022():
    """The usual umask, under which a file made without care is 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_every_server_thread_goes_on_in_one_new_private_file_after_the_sqlite_file_is_deleted(
        make_app, serve, tmp_path, umask_022):
    path = tmp_path / 'sessions.db'
    origin = serve(at_once_app(make_app, path))
    early = log_in_on_every_thread(origin, 'early')  # every thread holds a connection to the file now

    delete_session_files(path)
    time.sleep(NOTICED)
    late = log_in_on_every_thread(origin, 'late')

    assert modes(path) == ['0o600'] * 3
    assert sessions_on_disk(path) == sorted((sid, 'late') for sid in late)
    for sid in late:  # each late session is seen by every thread
        responses = on_every_thread(origin, '/me', [sid] * THREADS)
        assert [(response.status, response.json()) for response in responses] == [(200, 'late')] * THREADS
    responses = on_every_thread(origin, '/me', early)  # logged out, as everyone
    assert [(response.status, response.json()) for response in responses] == [(200, None)] * THREADS


def test_a_thread_that_first_connects_after_the_sqlite_file_is_deleted_serves_sessions(
        make_app, serve, tmp_path, umask_022):
    path = tmp_path / 'sessions.db'
    origin = serve(at_once_app(make_app, path))  # only the install's connection is open, kept for requests

    delete_session_files(path)
    time.sleep(NOTICED)  # it looks at its file again after a second; the other requests connect for the first time
    sids = log_in_on_every_thread(origin, 'alice')

    assert modes(path) == ['0o600'] * 3
    assert sessions_on_disk(path) == sorted((sid, 'alice') for sid in sids)


def test_a_sqlite_file_replaced_by_a_backup_is_the_one_used_from_then_on(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    app = at_once_app(make_app, path)

    @app.get('/login')
    def login(name):
        session.user = name
        return session.sid

    web = cookieless_client(app)
    alice = web.get('/login?name=alice').text
    with sqlite3.connect(str(path)) as live, sqlite3.connect(str(tmp_path / 'backup.db')) as backup:
        live.backup(backup)
    bob = web.get('/login?name=bob').text

    delete_session_files(path)
    os.replace(str(tmp_path / 'backup.db'), str(path))  # the backup put back
    time.sleep(NOTICED)

    assert json.loads(web.get('/me', headers=with_cookie(alice)).text) == 'alice'
    response = web.get('/me', headers=with_cookie(bob))
    assert json.loads(response.text) is None
    assert cookie_value(response) is None  # no session started for a read


# --------------------------------------------------------------------------
# several gunicorn workers on one file that is deleted

@pytest.fixture
def gunicorn_session_app(tmp_path):
    """tests/apps/session_app.py on 3 gunicorn workers over tmp_path/sessions.db; its AppServer."""
    logs = tmp_path / 'logs'
    logs.mkdir()
    env = {'CANISTER_SESSION_STORE': sqlite_url(tmp_path / 'sessions.db'), 'CANISTER_LOG_PATH': str(logs)}
    server = AppServer('session_app:app', server='gunicorn', workers=3, env=env)
    server.start()
    yield server
    server.cleanup()


def count_on_several_workers(server, client, expected):
    """GET /count until it went ``expected`` to ``expected + 11`` (or further) and more than one worker answered;
    a worker that served a request waits for the next on a held connection, so others must serve.  (Which worker
    takes a held connection, and when, is the kernel's and the load's: the counting goes on, 30 s at most, until a
    second worker answered.)"""
    pids = set()
    counter, deadline = expected, time.monotonic() + 30
    while counter < expected + 12 or (len(pids) < 2 and time.monotonic() < deadline):
        held = [socket.create_connection((server.host, server.port), timeout=5)
                for _ in range(counter % server.workers)]
        try:
            time.sleep(0.05 * len(held))  # (a worker may take each meanwhile)
            response = client.get('/count')
        finally:
            for connection in held:
                connection.close()
        assert response.status == 200, response
        assert response.json()['counter'] == counter, (counter, response)
        pids.add(response.json()['pid'])
        counter += 1
    assert len(pids) > 1, 'only worker %s answered' % pids


def test_gunicorn_workers_share_one_new_private_file_after_the_sqlite_file_is_deleted(
        gunicorn_session_app, tmp_path):
    path = tmp_path / 'sessions.db'
    old = Client(gunicorn_session_app.url)
    count_on_several_workers(gunicorn_session_app, old, 0)

    delete_session_files(path)
    time.sleep(NOTICED)  # every worker's connection is due for a look: they make the file again at once
    visitors = [Client(gunicorn_session_app.url) for _ in range(6)]
    statuses = []
    threads = [threading.Thread(target=lambda v=visitor: statuses.append(v.get('/count').status))
               for visitor in visitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 6

    count_on_several_workers(gunicorn_session_app, visitors[0], 1)
    assert modes(path) == ['0o600'] * 3
    assert len(sessions_on_disk(path)) == 6
    peek = old.get('/peek')
    assert (peek.status, peek.json()['counter']) == (200, None)  # its session ended with the file


# --------------------------------------------------------------------------
# every connection closed at uninstall

#: How large canister lets a -wal file stay once a checkpoint has copied it into the file.
WAL_KEPT = 16 * 1024 * 1024


def test_a_wal_that_a_long_reader_let_grow_is_cut_back_once_the_reader_is_done(make_app, tmp_path):
    # A backup or a report (sqlite3 sessions.db ...) reading the file keeps every write since it
    # began in the -wal: no checkpoint can pass it.  Once it is done, the -wal goes back to at most
    # WAL_KEPT on disk rather than staying the size of the busiest moment.
    path = tmp_path / 'sessions.db'
    app = make_app(session_store=sqlite_url(path))

    @app.get('/big')
    def big(number):
        session.data['page'] = number * 100_000  # a ~100 KB record: each save adds ~25 pages
        return 'ok'

    web = cookieless_client(app)
    reader = sqlite3.connect(str(path), isolation_level=None)
    reader.execute('BEGIN')
    assert reader.execute('SELECT count(*) FROM canister_sessions').fetchone()
    for number in range(300):
        web.get('/big', {'number': str(number % 10)})
    grown = os.path.getsize('%s-wal' % path)
    assert grown > 2 * WAL_KEPT  # the reader kept it all
    reader.execute('COMMIT')
    reader.close()
    for number in range(20):  # the next writes checkpoint it
        web.get('/big', {'number': str(number % 10)})
    assert os.path.getsize('%s-wal' % path) <= WAL_KEPT
    with sqlite3.connect('file:%s?mode=ro' % path, uri=True) as connection:
        assert connection.execute('PRAGMA integrity_check').fetchone() == ('ok',)
        assert connection.execute('SELECT count(*) FROM canister_sessions').fetchone()[0] == 320


def test_uninstall_closes_the_sqlite_connections_of_every_server_thread(make_app, serve, tmp_path):
    path = tmp_path / 'sessions.db'
    app = at_once_app(make_app, path)
    origin = serve(app)
    log_in_on_every_thread(origin, 'alice')
    assert open_descriptors(path)

    app.uninstall('canister')  # the server and its threads go on

    assert open_descriptors(path) == []


def test_uninstall_closes_the_sqlite_connections_of_the_login_throttle(make_app, serve, tmp_path):
    path = tmp_path / 'sessions.db'
    app = make_app(session_store=sqlite_url(path), auth_basic_username='alice',
                   auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))

    @app.get('/me')
    def me():
        return json.dumps(session.user)

    origin = serve(app)
    responses = on_every_thread(origin, '/me', headers={'Authorization': basic('alice', 'guess')})
    assert [response.status for response in responses] == [401] * THREADS  # each counted by the throttle

    app.uninstall('canister')

    assert open_descriptors(path) == []


def test_a_closed_sqlite_store_holds_no_descriptor_and_refuses_work_in_every_thread(tmp_path):
    path = tmp_path / 'sessions.db'
    store = canister.SQLiteStore(str(path))
    used, closed, seen = threading.Event(), threading.Event(), []

    def server_thread():
        store.save('a' * 32, '{}', 0)
        used.set()
        closed.wait(30)
        try:
            seen.append(store.load('a' * 32))
        except canister.StoreUnavailable as error:
            seen.append(str(error))

    thread = threading.Thread(target=server_thread)
    thread.start()
    used.wait(30)
    store.close()
    assert open_descriptors(path) == []
    closed.set()
    thread.join(30)
    assert len(seen) == 1 and 'closed' in seen[0], seen
    assert open_descriptors(path) == []


def test_a_cleanup_of_expired_rows_that_fails_leaves_the_save_before_it_answered_200(make_app, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    app = json_counter_app(make_app, store=canister.SQLiteStore(str(path), cleanup_every=1))

    with sqlite3.connect(str(path)) as db:  # an expired row, and a file that refuses to let it go
        db.execute("INSERT INTO canister_sessions (sid, record, expires) VALUES ('gone', '{}', 1)")
        db.execute("CREATE TRIGGER keep_expired BEFORE DELETE ON canister_sessions WHEN OLD.expires > 0 "
                   "AND OLD.expires <= CAST(strftime('%s', 'now') AS INTEGER) * 1000 "
                   "BEGIN SELECT RAISE(ABORT, 'the test keeps expired rows'); END")
    web = client(app)
    assert web.get('/count').json == {'n': 1}
    assert web.get('/count').json == {'n': 2}  # saved, and found again
    log = read_log(log_dir)
    assert 'Expired sessions were not deleted from %s this time' % path in log
    assert 'the test keeps expired rows' in log


#: Run by another process: leaves a -wal of some 2,000 pages not checked in (its own writes, ``wal_autocheckpoint``
#: off), says ``ready``, then takes the write lock as soon as another connection commits, while that connection
#: checks those pages in (its commit passed the 1,000 pages after which SQLite does so): so between a write and
#: the statement after it on the same connection.  Holds it until told (a line on its stdin).
TAKES_THE_LOCK_AFTER_A_COMMIT = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
connection.execute('PRAGMA wal_autocheckpoint=0')
connection.execute('CREATE TABLE IF NOT EXISTS theirs (x)')
connection.execute('INSERT INTO theirs VALUES (zeroblob(8 * 1024 * 1024))')
before = connection.execute('PRAGMA data_version').fetchone()[0]
print('ready', flush=True)
while connection.execute('PRAGMA data_version').fetchone()[0] == before:
    pass
while True:
    try:
        connection.execute('BEGIN EXCLUSIVE')
        break
    except sqlite3.OperationalError:
        pass
print('held', flush=True)
sys.stdin.readline()
connection.execute('ROLLBACK')
"""


def cleanup_meets_a_lock_taken_after_the_save(web, path, count):
    """Another process takes the lock of the file at ``path`` right after the save of a request of ``web``
    (``TAKES_THE_LOCK_AFTER_A_COMMIT``), which counts to ``count``, and holds it for 3 s; the request's seconds."""
    holder = subprocess.Popen([sys.executable, '-c', TAKES_THE_LOCK_AFTER_A_COMMIT, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == 'ready\n'
        started = time.monotonic()
        assert web.get('/count').json == {'n': count}
        took = time.monotonic() - started
        assert holder.stdout.readline() == 'held\n'
        time.sleep(max(0.0, started + 3.0 - time.monotonic()))
    finally:
        holder.communicate('\n', timeout=30)
    return took


def test_a_cleanup_that_meets_a_file_another_process_holds_does_not_hold_its_request(make_app, tmp_path, log_dir):
    """The expired rows' cleanup runs in the request after its save: a file another process holds from between the
    two (a backup that began then) fails it after its short wait, told in a WARNING, and the request answers 200 at
    once.  The cleanup used to wait the lock out as the process's one request that may, holding the request (up to
    5 s) for rows that the next cleanup deletes as well."""
    path = tmp_path / 'sessions.db'
    app = json_counter_app(make_app, store=canister.SQLiteStore(str(path), cleanup_every=1))

    web = client(app)
    assert web.get('/count').json == {'n': 1}
    # The other process has the few ms of the commit's check-in to take the lock: tried again if it took it late,
    # or if the cleanup met the lock and another job's load slowed the request (one waiting the lock out meets no
    # lock, and takes the 3 s it is held)
    for attempt in range(2, 5):
        warned = read_log(log_dir).count('Expired sessions were not deleted')
        took = cleanup_meets_a_lock_taken_after_the_save(web, path, attempt)
        met_the_lock = read_log(log_dir).count('Expired sessions were not deleted') > warned
        if met_the_lock == (took < 1.5):
            break
    assert took < 1.5, took  # (it waited the lock out: 5 s)
    log = read_log(log_dir)
    assert 'Expired sessions were not deleted from %s this time' % path in log and 'database is locked' in log
    assert web.get('/count').json == {'n': attempt + 1}  # saved, found again
