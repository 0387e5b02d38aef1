"""An outside review's attacks (session 18) that found a defect, each against a real server on 127.0.0.1.

* a thief holding a copy of a session's cookie kept the session alive through its owner's logout and
  through ``end_sessions``: ending a session replaces its record by the "ended" marker only if the record
  is unchanged, and gave up, silently, after ten tries that each found it changed; a thief whose requests
  change the session without pause (any route that writes to it) could make every try find it changed.
  Ending now deletes such a session outright once the ten tries are spent, and says so at WARNING.
  Here the store lets a real request of the thief's change the session before each try, every store.
"""
from __future__ import annotations

from typing import Any, Optional

import pytest

import canister
from canister import session
from helpers import read_log
from session_kit import STORES, Browser, add_session_routes, make_store_url, plugin_of

#: The record a store is asked to write over a session that a logout or ``end_sessions`` ends.
ENDED = '"ended"'


def thief_store(kind: str, tmp_path: Any, request: Any) -> Any:
    """A store of ``kind`` in which the thief's browser (``store.thief``, once set) changes the session,
    with a real request, just before each try to end it."""
    base: Any = {'memory': canister.MemoryStore, 'sqlite': canister.SQLiteStore, 'redis': canister.RedisStore}[kind]

    class ThiefRacedStore(base):  # type: ignore[misc, valid-type]
        thief: Optional[Browser] = None
        raced = 0

        def update(self, sid, expected, record, ttl):
            if record == ENDED and self.thief is not None:
                self.raced += 1
                assert self.thief.get('/incr?key=n').status == 200
            return super().update(sid, expected, record, ttl)

    if kind == 'memory':
        return ThiefRacedStore()
    if kind == 'sqlite':
        return ThiefRacedStore(str(tmp_path / 'sessions.db'))
    return ThiefRacedStore(make_store_url('redis', tmp_path, request))


def thief_app(make_app: Any, store: Any) -> Any:
    app = add_session_routes(make_app(store=store))

    @app.get('/incr')
    def incr(key):
        session.data[key] = session.data.get(key, 0) + 1
        return str(session.data[key])

    @app.get('/read')
    def read():
        return {'user': session.user, 'data': session.data}

    return app


@pytest.mark.parametrize('kind', STORES)
def test_end_sessions_ends_a_session_that_a_thiefs_requests_keep_changing(make_app, serve, tmp_path, request,
                                                                          log_dir, kind):
    store = thief_store(kind, tmp_path, request)
    app = thief_app(make_app, store)
    origin = serve(app)
    owner = Browser(origin)
    assert owner.get('/login?name=alice').status == 200 and owner.sid
    store.thief = Browser(origin, owner.sid, follow=False)  # the cookie, copied

    assert plugin_of(app).end_sessions('alice') == 1
    store.thief = None

    assert store.raced >= 10  # the thief's change came before every try
    assert Browser(origin, owner.sid, follow=False).read() == [None, {}], 'the thief is still logged in'
    assert 'kept changing under concurrent requests while it was ended' in read_log(log_dir)


@pytest.mark.parametrize('kind', STORES)
def test_a_logout_ends_the_session_for_a_thief_whose_requests_keep_changing_it(make_app, serve, tmp_path, request,
                                                                              kind):
    store = thief_store(kind, tmp_path, request)
    app = thief_app(make_app, store)
    origin = serve(app)
    owner = Browser(origin)
    assert owner.get('/login?name=alice').status == 200 and owner.sid
    stolen = owner.sid
    store.thief = Browser(origin, stolen, follow=False)

    answer = owner.get('/logout')
    store.thief = None

    assert answer.status == 200 and answer.new_sid == ''  # the owner's cookie is expired, as at any logout
    assert Browser(origin, stolen, follow=False).read() == [None, {}], 'the thief is still logged in'
    assert plugin_of(app).sessions_of('alice') == []
