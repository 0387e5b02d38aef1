"""How long a request waits for a SQLite connection to open while another process holds the file."""
import os
import sqlite3
import threading
import time

import bottle

import canister
from helpers import client, read_log, sqlite_url


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
    assert 4.5 < seconds < 6.5, seconds
    started = time.monotonic()
    assert client(app).get('/count').text == '1'  # released: the file works at once
    assert time.monotonic() - started < 1.0
