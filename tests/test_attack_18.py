"""An outside review's attacks (session 18) that found a defect, each against a real server on 127.0.0.1.

* a thief holding a copy of a session's cookie kept the session alive through its owner's logout and
  through ``end_sessions``: ending a session replaces its record by the "ended" marker only if the record
  is unchanged, and gave up, silently, after ten tries that each found it changed; a thief whose requests
  change the session without pause (any route that writes to it) could make every try find it changed.
  Ending now writes the "ended" marker over such a session without that check once the ten tries are spent,
  and says so at WARNING; a request under way on it then finds it ended, as after any end.
* the same thief made a logout by ``session.user = None`` (and a login of another person on that session)
  answer 503 and left the session to the thief: the old id's move marker lost its ten tries the same way.
  A move that changes the person now writes the "ended" marker over the old id once they are spent (an
  anonymous one's is deleted), and the new session stays; a request under way on the old id finds it ended.
Here the store lets a real request of the thief's change the session before each try, on every store.
"""
from __future__ import annotations

from typing import Any, Optional

import pytest

import canister
from helpers import read_log
from session_kit import STORES, Browser, gated_app, hold_request, make_store_url, plugin_of

#: How the records begin that a store is asked to write over a session that ends (a logout, ``end_sessions``)
#: or moves to a new id (a login, ``session.user = None``): markers, never a session's record (a JSON array).
MARKERS = ('"ended"', '"moved')


def thief_store(kind: str, tmp_path: Any, request: Any) -> Any:
    """A store of ``kind`` in which the thief's browser (``store.thief``, once set) changes the session,
    with a real request, just before each try to end it or move it to a new id."""
    base: Any = {'memory': canister.MemoryStore, 'sqlite': canister.SQLiteStore, 'redis': canister.RedisStore}[kind]

    class ThiefRacedStore(base):  # type: ignore[misc, valid-type]
        thief: Optional[Browser] = None
        raced = 0

        def update(self, sid, expected, record, ttl):
            if record.startswith(MARKERS) and self.thief is not None:
                self.raced += 1
                assert self.thief.get('/incr?key=n').status == 200
            return super().update(sid, expected, record, ttl)

    if kind == 'memory':
        return ThiefRacedStore()
    if kind == 'sqlite':
        return ThiefRacedStore(str(tmp_path / 'sessions.db'))
    return ThiefRacedStore(make_store_url('redis', tmp_path, request))


def robbed(make_app: Any, serve: Any, tmp_path: Any, request: Any, kind: str) -> Any:
    """An app on a ``thief_store`` of ``kind``, its origin, the owner's browser logged in as alice, and the
    store, whose thief now sends a copy of the owner's cookie: ``(app, origin, owner, store)``."""
    store = thief_store(kind, tmp_path, request)
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    owner = Browser(origin)
    assert owner.get('/login?name=alice').status == 200 and owner.sid
    store.thief = Browser(origin, owner.sid, follow=False)
    return app, origin, owner, store


@pytest.mark.parametrize('kind', STORES)
def test_end_sessions_ends_a_session_that_a_thiefs_requests_keep_changing(make_app, serve, tmp_path, request,
                                                                          log_dir, kind):
    app, origin, owner, store = robbed(make_app, serve, tmp_path, request, kind)

    assert plugin_of(app).end_sessions('alice') == 1
    store.thief = None

    assert store.raced >= 10  # the thief's change came before every try
    assert Browser(origin, owner.sid, follow=False).read() == [None, {}], 'the thief is still logged in'
    assert 'kept changing under concurrent requests while it was ended' in read_log(log_dir)


@pytest.mark.parametrize('kind', STORES)
def test_a_logout_ends_the_session_for_a_thief_whose_requests_keep_changing_it(make_app, serve, tmp_path, request,
                                                                              kind):
    app, origin, owner, store = robbed(make_app, serve, tmp_path, request, kind)
    stolen = owner.sid

    answer = owner.get('/logout')
    store.thief = None

    assert answer.status == 200 and answer.new_sid == ''  # the owner's cookie is expired, as at any logout
    assert Browser(origin, stolen, follow=False).read() == [None, {}], 'the thief is still logged in'
    assert plugin_of(app).sessions_of('alice') == []


@pytest.mark.parametrize('kind', STORES)
@pytest.mark.parametrize('change', ['/anonymous', '/login?name=bob'])
def test_a_change_of_user_ends_the_old_session_for_a_thief_whose_requests_keep_changing_it(
        make_app, serve, tmp_path, request, log_dir, kind, change):
    """A logout by ``session.user = None``, or a login of another person, on a session the thief keeps changing."""
    app, origin, owner, store = robbed(make_app, serve, tmp_path, request, kind)
    stolen = owner.sid

    answer = owner.get(change)
    store.thief = None

    assert answer.status == 200, answer
    assert answer.new_sid and answer.new_sid != stolen
    assert owner.read() == [None if change == '/anonymous' else 'bob', {}]
    assert Browser(origin, stolen, follow=False).read() == [None, {}], 'the thief is still logged in'
    assert plugin_of(app).sessions_of('alice') == []
    assert 'kept changing under concurrent requests while its user changed' in read_log(log_dir)


@pytest.mark.parametrize('kind', STORES)
def test_a_regenerate_on_a_session_that_keeps_changing_still_answers_503(make_app, serve, tmp_path, request, kind):
    """The same person keeps the session through a regenerate: the old id is left as it is, as before."""
    app, origin, owner, store = robbed(make_app, serve, tmp_path, request, kind)
    stolen = owner.sid

    answer = owner.get('/regenerate')
    store.thief = None

    assert answer.status == 503 and answer.new_sid is None, answer
    assert Browser(origin, stolen, follow=False).read()[0] == 'alice'


@pytest.mark.parametrize('kind', STORES)
def test_requests_of_a_session_ended_while_a_thief_kept_changing_it_find_it_ended_as_any_other(
        make_app, serve_with_gates, tmp_path, request, log_dir, kind):
    """A request of the session under way while it ends, and one that comes after, are answered as after
    any end: the one under way saves nothing, expires the cookie and says so; neither gets a session under
    the old id."""
    app, origin, owner, store = robbed(make_app, serve_with_gates, tmp_path, request, kind)
    stolen = owner.sid
    release = hold_request(app, origin, stolen, '/hold?name=a&key=note&value=late')  # loaded, not saved yet

    assert plugin_of(app).end_sessions('alice') == 1
    store.thief = None
    under_way = release()
    later = Browser(origin, stolen, follow=False).get('/incr?key=n')

    assert (under_way.status, under_way.new_sid) == (200, ''), under_way  # the cookie expired
    log = read_log(log_dir)
    assert 'Session: %s... was ended (logout) by another request while this request ran: nothing was saved' % (
        stolen[:6]) in log
    assert 'is no longer in the store' not in log
    assert later.status == 200 and later.text == '1' and later.new_sid not in (None, '', stolen), later
    assert Browser(origin, stolen, follow=False).read() == [None, {}]
    left = store.load(stolen)
    assert left is None or left.startswith(MARKERS), left  # no session under the old id
    assert plugin_of(app).sessions_of('alice') == []


@pytest.mark.parametrize('kind', STORES)
@pytest.mark.parametrize('change', ['/anonymous', '/login?name=bob'])
def test_a_request_under_way_on_a_session_whose_user_changed_while_a_thief_kept_changing_it_finds_it_ended(
        make_app, serve_with_gates, tmp_path, request, log_dir, kind, change):
    """The old id of a logout (``session.user = None``) or a login of another person that lost every try
    to the thief holds the "ended" marker: a request under way on it saves nothing and expires its cookie,
    as after any end, rather than finding the session gone."""
    app, origin, owner, store = robbed(make_app, serve_with_gates, tmp_path, request, kind)
    stolen = owner.sid
    release = hold_request(app, origin, stolen, '/hold?name=a&key=note&value=late')  # loaded, not saved yet

    assert owner.get(change).status == 200
    store.thief = None
    under_way = release()

    assert (under_way.status, under_way.new_sid) == (200, ''), under_way  # the cookie expired
    log = read_log(log_dir)
    assert 'Session: %s... was ended (logout) by another request while this request ran: nothing was saved' % (
        stolen[:6]) in log
    assert 'is no longer in the store' not in log
    assert store.load(stolen) == '"ended"'
    assert Browser(origin, stolen, follow=False).read() == [None, {}]
    assert owner.read()[0] == (None if change == '/anonymous' else 'bob')


@pytest.mark.parametrize('kind', STORES)
def test_a_login_over_an_anonymous_session_that_keeps_changing_leaves_the_browsers_cookie_alone(
        make_app, serve_with_gates, tmp_path, request, log_dir, kind):
    """An anonymous session is the browser's own: its parallel request under way on the old id must not
    expire the cookie of the login it just got."""
    store = thief_store(kind, tmp_path, request)
    app = gated_app(make_app, None, store=store)
    origin = serve_with_gates(app)
    owner = Browser(origin)
    assert owner.get('/set?key=cart&value=3').status == 200 and owner.sid
    old = owner.sid
    store.thief = Browser(origin, old, follow=False)
    release = hold_request(app, origin, old, '/hold?name=a&key=note&value=late')

    assert owner.get('/login?name=bob').status == 200
    store.thief = None
    under_way = release()

    assert under_way.status == 200 and under_way.new_sid is None, under_way
    assert store.load(old) is None
    assert owner.read()[0] == 'bob'
