"""Resource exhaustion, tried as an attacker with a script would: what one client can make a process hold
or a store work through.  Real SQLite files and a real redis-server."""
from __future__ import annotations

import gc
import json
import tracemalloc

from canister import session
from helpers import cookieless_client, sqlite_url


def test_sessions_of_a_quarter_megabyte_each_on_a_sqlite_store_are_not_kept_in_the_process(make_app, tmp_path):
    """The decoded records a process keeps (up to 1,024) held the record and its values whatever their
    size: 64 drafts of 256 KiB kept 32 MiB in a process whose sessions live in a SQLite file."""
    app = make_app(session_store=sqlite_url(tmp_path / 'sessions.db'))

    @app.post('/draft')
    def draft(text: str):
        session.data['draft'] = text
        return 'kept'

    @app.get('/draft')
    def read_draft():
        return session.data['draft']

    web = cookieless_client(app)
    web.post('/draft', json.dumps({'text': 'warm-up'}), content_type='application/json')
    text = 'x' * 262144
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        answers = [web.post('/draft', json.dumps({'text': text[:-2] + '%02d' % number}),
                            content_type='application/json') for number in range(64)]
        del answers[1:]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4 << 20, grown
    cookie = answers[0].headers['Set-Cookie'].split(';')[0]
    assert web.get('/draft', headers={'Cookie': cookie}).text == text[:-2] + '00'

