"""How long a request waits for a SQLite connection to open while another process holds the file, and an
install that finds the file held: a WARNING, 503 meanwhile, and the store set up once the file is free."""
import os
import sqlite3
import threading
import time

import bottle

import canister
from canister import session
from helpers import (basic, client, cookieless_client, held_by_another_process, install_warned, read_log,
                     sqlite_held_note, sqlite_url, warning_lines)


def test_a_request_opening_a_connection_to_a_held_file_answers_503_within_the_busy_timeout(tmp_path, log_dir):
    """The file is replaced by one that another connection holds locked (say a restore still
    running): a thread's first request on it answers 503 after about the 5 s busy timeout, as a
    statement on a connection already open would, not after retrying for 10 s and more."""
    path = tmp_path / 'sessions.db'
    app = bottle.Bottle()
    app.config['catchall'] = False
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    app.install(canister.Canister(session_store=sqlite_url(path), log_path=str(log_dir)))
    held = tmp_path / 'held.db'
    locker = sqlite3.connect(str(held), isolation_level=None)
    locker.execute('CREATE TABLE t (x)')
    locker.execute('BEGIN EXCLUSIVE')  # no other connection may even read it
    locker.execute('INSERT INTO t VALUES (1)')
    os.replace(str(held), str(path))
    time.sleep(1.1)  # every connection looks again at the name (at most once a second)
    answers = []

    def first_request_of_a_thread():
        started = time.monotonic()
        response = client(app).get('/count', expect_errors=True)
        answers.append((response.status_int, response.text, time.monotonic() - started))

    try:
        thread = threading.Thread(target=first_request_of_a_thread)
        thread.start()
        thread.join(30)
    finally:
        locker.execute('ROLLBACK')
        locker.close()
    [(status, text, seconds)] = answers
    assert status == 503, text
    assert 'session store' in text, text
    assert 'database is locked' in read_log(log_dir)
    assert 4.5 < seconds < 9.5, seconds  # one 5 s busy timeout, not two (load lengthens it, never past a second one)
    started = time.monotonic()
    assert client(app).get('/count').text == '1'  # released: the file works at once
    # (half the busy timeout the locked one waited, seconds for sub-second work: waited again, it takes all of it)
    assert time.monotonic() - started < seconds / 2, (time.monotonic() - started, seconds)


def test_a_file_another_process_holds_at_install_gives_a_warning_then_503_and_works_once_released(
        tmp_path, uninstall_at_end, log_dir):
    path = tmp_path / 'sessions.db'
    holder = held_by_another_process(path)
    try:
        app, said = install_warned(log_dir, session_store=sqlite_url(path), auth_basic_username='alice',
                                   auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
        uninstall_at_end(app)  # (the install waited the 5 s busy timeout)
        note = sqlite_held_note(path, 'database is locked')
        assert said == [note] and [line for line in warning_lines(log_dir) if line.endswith(note)]
        app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
        app.route('/ping', callback=lambda: 'pong')
        assert client(app).get('/ping').text == 'pong'
        held = client(app).get('/count', status=503)
        assert held.headers['Retry-After'] == '1' and 'session store' in held.text
    finally:
        holder.communicate('\n', timeout=30)
    web = client(app)
    assert web.get('/count').text == '1'  # released: the file is set up now, no restart
    assert web.get('/count', headers={'Authorization': basic('alice', 'wonderland')}).text == '1'
    app.uninstall(True)
    connection = sqlite3.connect(str(path))
    try:
        assert sorted(row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                      ) == ['canister_sessions', 'canister_throttle']
        assert connection.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
    finally:
        connection.close()


def test_a_new_session_on_a_sqlite_file_locked_for_the_whole_busy_timeout_answers_503_after_5_s_not_10(
        tmp_path, make_app, log_dir):
    """The file locked by another connection (a backup, say) for the whole busy timeout: a cookieless request's
    503 comes after those 5 s, not 10; nothing was written, so its new id is not removed (no second wait for a
    delete, no WARNING that it may stay)."""
    path = tmp_path / 'sessions.db'
    app = make_app(session_store=sqlite_url(path))
    app.get('/')(lambda: str(session.data.setdefault('n', 1)))
    web = cookieless_client(app)
    assert web.get('/').text == '1'                   # a connection open, the file set up
    holder = sqlite3.connect(str(path), isolation_level=None)
    try:
        holder.execute('BEGIN IMMEDIATE')             # the write lock, held past the 5 s busy timeout
        started = time.monotonic()
        answer = web.get('/', expect_errors=True)
        waited = time.monotonic() - started
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    assert (answer.status_int, answer.headers.get('Retry-After')) == (503, '1'), answer
    assert 'session store' in answer.text and 'Set-Cookie' not in answer.headers
    assert 4.5 < waited < 9.5, waited                 # one busy timeout, not a create's and then a delete's
    assert 'database is locked' in read_log(log_dir)
    assert not [line for line in warning_lines(log_dir) if 'may stay in the store' in line]
    assert web.get('/').text == '1'                   # released: served at once
