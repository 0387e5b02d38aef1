"""A SQLite session file written by the previous 2.0 development version keeps its sessions."""
from __future__ import annotations

import json
import sqlite3
import time

import canister
from helpers import client
from canister import session


def test_sessions_of_the_previous_file_format_are_kept_with_their_expiry(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    connection = sqlite3.connect(str(path))
    connection.execute('CREATE TABLE canister_sessions (sid TEXT PRIMARY KEY, record TEXT NOT NULL, '
                       'expires INTEGER NOT NULL)')
    created_ms = int(time.time() * 1000) - 5000
    live, dead = 'l' * 43, 'd' * 43
    connection.execute('INSERT INTO canister_sessions VALUES (?, ?, ?)',  # expiry in whole seconds then
                       (live, json.dumps([{'counter': 41}, 'alice', created_ms, 0]), int(time.time()) + 600))
    connection.execute('INSERT INTO canister_sessions VALUES (?, ?, ?)',
                       (dead, json.dumps([{'counter': 7}, 'bob', created_ms, 0]), int(time.time()) - 1))
    connection.commit()
    connection.close()
    app = make_app(session_store='sqlite:///%s' % path)

    @app.get('/')
    def count():
        session.data['counter'] += 1
        return '%s %d' % (session.user, session.data['counter'])

    @app.get('/peek')
    def peek():
        return '%s %s' % (session.user, session.data.get('counter'))

    assert client(app).get('/', headers={'Cookie': 'session_id=' + live}).text == 'alice 42'
    assert client(app).get('/peek', headers={'Cookie': 'session_id=' + dead}).text == 'None None'
    plugin = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)][0]
    assert len(plugin.sessions_of('alice')) == 1  # listed by its user, although written before the index
    expires = sqlite3.connect(str(path)).execute('SELECT expires FROM canister_sessions WHERE sid = ?',
                                                 (live,)).fetchone()[0]
    assert abs(expires - (time.time() + 3600) * 1000) < 5000  # now in milliseconds, slid by the request
