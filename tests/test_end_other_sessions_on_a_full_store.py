"""``session.end_other_sessions()`` on a store that is full: a Redis at its ``maxmemory`` under ``noeviction``
(Redis 7 and 5.0.6) and a SQLite file on a full disk (a real tmpfs of 1 MiB, its ``-wal`` emptied first).

Either way the request's own move to a new id is a write the store refuses: it answers the 503 of any store that is
down (``Retry-After: 1``), sets no cookie, and its browser stays logged in with the same cookie until a try once
there is room.  The other sessions: a full Redis still deletes (a delete adds no memory), so they are ended at
once; SQLite would need more room to delete a session than to write its "ended" marker, so they stay logged in
until that try, which ends them.
"""
import dataclasses
from typing import Callable

import pytest

from helpers import (UNAVAILABLE, client, cookie_value, fill_after_emptying_the_wal, fill_up, guarded_app,
                     sqlite_url, with_cookie)
from servers import RedisServer, old_redis_server_binary
from session_kit import plugin_of


@dataclasses.dataclass
class FullStore:
    url: str
    fill: Callable[[], None]          # the store refuses writes from here on
    make_room: Callable[[], None]     # it takes them again
    deletes_when_full: bool           # whether it still ends a session while it refuses writes


@pytest.fixture(params=['redis-7', 'redis-5.0.6', 'sqlite-on-a-full-disk'])
def full_store(request, started):
    """A store that fills up when told: a private redis-server (today's, or 5.0.6) or a SQLite file on a tmpfs."""
    if request.param == 'sqlite-on-a-full-disk':
        path = request.getfixturevalue('small_disk') / 'sessions.db'  # (set up before make_app: unmounted after it)
        fillers = []
        return FullStore(sqlite_url(path), lambda: fillers.append(fill_after_emptying_the_wal(path)),
                         lambda: fillers.pop().unlink(), deletes_when_full=False)
    server = RedisServer(binary=old_redis_server_binary() if request.param == 'redis-5.0.6' else None)
    started.append(server.start())
    return FullStore(server.url, lambda: fill_up(server), lambda: fill_up(server).config_set('maxmemory', '0'),
                     deletes_when_full=True)


def test_on_a_full_store_end_other_sessions_answers_503_keeping_this_session_and_ends_the_others_where_it_still_deletes(
        full_store, make_app):
    app = guarded_app(make_app, full_store.url, catchall=True)  # (catchall: an exception would be a 500)
    web, other = client(app), client(app)
    web.get('/login')
    other_sid = cookie_value(other.get('/login'))
    others_left = 0 if full_store.deletes_when_full else 1
    other_status = 401 if full_store.deletes_when_full else 200
    full_store.fill()

    answer = web.get('/others', expect_errors=True)

    assert (answer.status_int, answer.text, answer.headers['Retry-After']) == (503, UNAVAILABLE, '1'), answer
    assert 'Set-Cookie' not in answer.headers         # the browser keeps its cookie
    assert len(plugin_of(app).sessions_of('alice')) == 1 + others_left
    assert client(app).get('/me', headers=with_cookie(other_sid), expect_errors=True).status_int == other_status
    assert web.get('/me').text == 'me: alice'
    full_store.make_room()
    assert client(app).get('/me', headers=with_cookie(other_sid), expect_errors=True).status_int == other_status
    assert web.get('/me').text == 'me: alice'
    assert web.get('/others').text == str(others_left)
    assert client(app).get('/me', headers=with_cookie(other_sid), expect_errors=True).status_int == 401
    assert web.get('/me').text == 'me: alice'
