"""A SQLite session file from a 2.0 development version (never released) is not read: its sessions
are dropped at install, and the file serves new sessions in the current format."""
from __future__ import annotations

import json
import sqlite3
import time

from helpers import client
from canister import session


def test_a_development_version_file_is_started_afresh_and_works(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    connection = sqlite3.connect(str(path))
    connection.execute('CREATE TABLE canister_sessions (sid TEXT PRIMARY KEY, record TEXT NOT NULL, '
                       'expires INTEGER NOT NULL)')
    created_ms = int(time.time() * 1000) - 5000
    old = 'l' * 43
    connection.execute('INSERT INTO canister_sessions VALUES (?, ?, ?)',  # expiry in whole seconds then
                       (old, json.dumps([{'counter': 41}, 'alice', created_ms, 0]), int(time.time()) + 600))
    connection.commit()
    connection.close()
    app = make_app(session_store='sqlite:///%s' % path)

    @app.get('/')
    def count():
        session.data['counter'] = session.data.get('counter', 0) + 1
        return '%s %d' % (session.user, session.data['counter'])

    browser = client(app)
    assert browser.get('/', headers={'Cookie': 'session_id=' + old}).text == 'None 1'  # not adopted
    assert browser.get('/').text == 'None 2'  # the new session it was given is stored and found
    rows = sqlite3.connect(str(path)).execute('SELECT sid, expires FROM canister_sessions').fetchall()
    assert [sid for sid, _ in rows] != [old] and len(rows) == 1
    assert abs(rows[0][1] - (time.time() + 3600) * 1000) < 5000  # expiry in milliseconds
