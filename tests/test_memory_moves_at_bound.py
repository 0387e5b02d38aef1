"""The memory store at its bound (``session_max``) while sessions move to new ids (a login, ``regenerate()``).

The old id holds a marker naming the new id for a minute.  The memory store keeps markers apart from
its sessions: a flood of new sessions evicts anonymous sessions, never a marker, so a request that
loaded the old id before the move still finds where the session went.  And a login at the bound never
evicts the very session it logs in.  Real waitress servers, handlers held open on events.  The bounds are
tiny, so the apps take no cap per user (one as large as the bound caps nothing, and the install says so).
"""
from __future__ import annotations

import json

import canister
from helpers import warning_lines
from session_kit import Browser, anonymous, held_across_moves, logged_in, plugin_of, served_rotation_app


def flood(origin: str, visitors: int = 4) -> None:
    """New visitors (a bot), each given an anonymous session: over the bound, each evicts one."""
    for number in range(visitors):
        assert anonymous(origin, visit=str(number)).sid


def test_a_change_racing_a_login_follows_it_after_a_flood_of_new_sessions(make_app, serve_with_gates, log_dir):
    """The marker on the old id outlives the flood: the held change goes to the logged-in session, and its
    answer leaves the browser's new cookie alone (it used to find the old id gone and expire the cookie)."""
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', session_max=3, session_max_per_user=0,
                                      log_slow=0)  # (no WARNING for a request that load made slower than 1 s)
    browser = anonymous(origin, cart='1')
    held = held_across_moves(app, origin, browser, '/hold?name=a&key=note&value=late', '/login?name=alice',
                             meanwhile=lambda: flood(origin))

    assert held.status == 200 and held.set_cookies == [], held
    assert browser.read() == ['alice', {'cart': '1', 'note': 'late'}]
    assert warning_lines(log_dir) == []


def test_a_logout_racing_a_regenerate_ends_the_new_id_after_a_flood_of_new_sessions(make_app, serve_with_gates):
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', session_max=3, session_max_per_user=0)
    browser = logged_in(origin, cart='3')
    held = held_across_moves(app, origin, browser, '/hold-then?name=a&action=invalidate', '/regenerate',
                             meanwhile=lambda: flood(origin))
    moved_to = browser.sid

    assert held.status == 200 and held.new_sid == '', held  # the cookie is expired
    assert Browser(origin, moved_to).read() == [None, {}], 'the new id is still logged in after the logout'
    assert plugin_of(app).sessions_of('alice') == []


def test_a_login_at_the_bound_keeps_the_session_it_logs_in(make_app, serve_with_gates, log_dir):
    """Two people logged in and a visitor with a cart fill the store: the visitor's login stores the new id
    first, which is one session too many; the session it moves from is not the one evicted (it becomes a
    marker at once), so the login holds and the cart survives it.  The least recently used login goes."""
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', session_max=3, session_max_per_user=0,
                                      log_slow=0)  # (no WARNING for a request that load made slower than 1 s)
    first, second = logged_in(origin, 'u1'), logged_in(origin, 'u2')
    browser = anonymous(origin, cart='3')
    old = browser.sid
    answer = browser.get('/login?name=carol')

    assert answer.status == 200 and answer.new_sid not in (None, '', old), answer
    assert browser.read() == ['carol', {'cart': '3'}]
    assert Browser(origin, old).read() == [None, {}]  # the old id is no session
    assert second.read() == ['u2', {}]
    assert Browser(origin, first.sid).read() == [None, {}]  # evicted, as the documented order says
    assert warning_lines(log_dir) == []


def test_a_regenerate_at_a_bound_of_one_session_keeps_the_session(make_app, serve_with_gates, log_dir):
    """session_max = 1: the store holds the new id and the old one for the moment of the move, then the old
    one is a marker, which the bound does not count."""
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', session_max=1, session_max_per_user=0,
                                      log_slow=0)  # (no WARNING for a request that load made slower than 1 s)
    browser = anonymous(origin, cart='3')
    old = browser.sid
    answer = browser.get('/regenerate')

    assert answer.status == 200 and answer.new_sid not in (None, '', old), answer
    assert browser.read() == [None, {'cart': '3'}]
    assert Browser(origin, old).read() == [None, {}]
    assert warning_lines(log_dir) == []


def test_markers_are_not_counted_in_the_bound_and_expire_after_their_minute(clock):
    store = canister.MemoryStore(max_sessions=3)
    for number in range(3):
        store.create('sid-%d' % number, '[{},null,0,0,0]', 0, None)
    assert store.update('sid-0', '[{},null,0,0,0]', canister._MOVED_TO % 'elsewhere', 60) == (True, None)
    assert store.update('sid-1', '[{},null,0,0,0]', canister._ENDING, 60) == (True, None)
    for number in range(3, 20):  # a flood: the sessions go, least recently used first; the markers stay
        store.create('sid-%d' % number, '[{},null,0,0,0]', 0, None)
        assert len(store) == min(number - 1, 3)
    assert store.load('sid-0') == canister._MOVED_TO % 'elsewhere' and store.load('sid-1') == canister._ENDING
    assert [store.load('sid-%d' % number) is not None for number in range(2, 20)] == [False] * 15 + [True] * 3
    clock.advance(59.9)
    store.create('sid-20', '[{},null,0,0,0]', 0, None)
    assert store.load('sid-0') is not None
    clock.advance(0.2)
    assert store.load('sid-0') is None and store.load('sid-1') is None
    assert store.update('sid-0', canister._MOVED_TO % 'elsewhere', '[{},null,0,0,0]', 0) == (False, None)


def test_beyond_session_max_markers_the_oldest_marker_goes():
    """Markers are small, but bounded too: at most as many as session_max, besides the sessions."""
    store = canister.MemoryStore(max_sessions=3)
    for number in range(6):
        store.create('sid-%d' % number, '[{},"u%d",0,0,0]' % number, 0, 'u%d' % number)
        assert store.update('sid-%d' % number, store.load('sid-%d' % number), canister._MOVED_TO % number, 60)[0]
    assert [store.load('sid-%d' % number) for number in range(6)] == [None] * 3 + [
        canister._MOVED_TO % number for number in range(3, 6)]
    assert len(store) == 0 and store.sessions_of('u5') == []


def test_a_marker_is_replaced_by_an_update_that_expects_it_and_then_is_a_session_again():
    """What ``SessionStore.update`` promises holds for a marker too (canister itself never replaces one)."""
    store = canister.MemoryStore(max_sessions=3)
    store.create('sid', '[{},"alice",0,0,0]', 0, 'alice')
    assert store.update('sid', '[{},"alice",0,0,0]', canister._MOVED_TO % 'new', 60) == (True, None)
    assert store.sessions_of('alice') == []
    assert store.update('sid', '[{},"alice",0,0,0]', '[{},"bob",0,0,0]', 0) == (False, canister._MOVED_TO % 'new')
    assert store.update('sid', canister._MOVED_TO % 'new', '[{},"alice",0,0,0]', 0) == (True, None)
    assert len(store) == 1 and [sid for sid, _, _ in store.sessions_of('alice')] == ['sid']
    assert json.loads(store.load('sid')) == [{}, 'alice', 0, 0, 0]
