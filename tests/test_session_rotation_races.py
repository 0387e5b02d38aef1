"""Requests that overlap a session moving to a new id (a login, ``session.user = None``, ``regenerate()``).

The old id then holds, for a minute, a marker naming the new id (on the server only): a logout
that loaded the session before the move ends the new id too, a login of the same person adopts it,
the move keeps what a parallel request saved meanwhile, and ``end_sessions`` follows it.  Real
waitress servers, every store canister ships (a real redis-server), handlers held open on events.
"""
from __future__ import annotations

import threading

import pytest

import canister
from canister import session
from helpers import warning_lines
from session_kit import (STORES, Browser, BytesStore, anonymous, held_across, held_across_moves, held_in_turn,
                         hold_request, logged_in, make_store_url, plugin_of, rotation_app,
                         served_rotation_app)


# --------------------------------------------------------------------------
# R6: a logout that loaded the session before another request moved it

@pytest.mark.parametrize('logout', ['invalidate', 'anonymous'])
def test_a_logout_that_loaded_the_session_before_a_regenerate_ends_the_new_id_too(
        make_app, serve_with_gates, store_url, logout):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, cart='3')
    old = browser.sid
    # the regenerate moves the session, and is answered, first
    held = held_across_moves(app, origin, browser, '/hold-then?name=a&action=' + logout, '/regenerate')
    moved_to = browser.sid

    assert held.status == 200 and held.text == 'done', held
    assert Browser(origin, moved_to).read() == [None, {}], 'the new id is still logged in after the logout'
    assert plugin_of(app).sessions_of('alice') == []
    if logout == 'invalidate':
        assert held.new_sid == '', held  # the cookie is expired
    else:  # a new anonymous session, as a logout by session.user = None gives
        assert held.new_sid and held.new_sid not in (old, moved_to), held
        assert Browser(origin, held.new_sid).read() == [None, {}]


@pytest.mark.parametrize('logout', ['invalidate', 'anonymous'])
def test_a_logout_that_loaded_the_session_before_another_person_logged_in_leaves_that_login(
        make_app, serve_with_gates, store_url, logout):
    """The session moved to someone else's login meanwhile: the logout ends alice's session, not bob's."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, cart='3')
    held = held_across_moves(app, origin, browser, '/hold-then?name=a&action=' + logout, '/login?name=bob')

    assert held.status == 200, held
    assert held.new_sid == ('' if logout == 'invalidate' else None), held  # session.user = None: bob's cookie stays
    assert Browser(origin, browser.sid).read() == ['bob', {}]
    assert plugin_of(app).sessions_of('alice') == []


# --------------------------------------------------------------------------
# R1: the move keeps what a parallel request saved meanwhile

@pytest.mark.parametrize('move', ['login', 'regenerate'])
def test_a_change_saved_while_a_login_or_regenerate_ran_is_kept_under_the_new_id(
        make_app, serve_with_gates, store_url, log_dir, move):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, a='1')
    if move == 'regenerate':
        assert browser.get('/login?name=alice').status == 200
    old = browser.sid
    path = '/hold?name=a&user=alice' if move == 'login' else '/hold-then?name=a&action=regenerate'
    held = held_across(app, origin, old, path, '/set?key=cart&value=book')

    assert held.status == 200 and held.new_sid and held.new_sid != old, held
    assert Browser(origin, held.new_sid).read() == ['alice', {'a': '1', 'cart': 'book'}]
    assert Browser(origin, old).read() == [None, {}]
    assert warning_lines(log_dir) == []
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_a_lifetime_set_while_a_login_ran_is_kept_under_the_new_id(make_app, serve_with_gates, store_url):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, a='1')
    held = held_across(app, origin, browser.sid, '/hold?name=a&user=alice', '/remember')

    assert held.status == 200 and held.new_sid, held
    assert 'Max-Age=600' in held.set_cookies[0], held  # the remembered length, under the new id
    assert Browser(origin, held.new_sid).read() == ['alice', {'a': '1'}]


def test_a_login_of_another_person_starts_with_empty_data_whatever_was_saved_meanwhile(
        make_app, serve_with_gates, store_url):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, x='1')
    held = held_across(app, origin, browser.sid, '/hold?name=a&user=bob', '/set?key=cart&value=book')

    assert held.status == 200 and held.new_sid, held
    assert Browser(origin, held.new_sid).read() == ['bob', {}]
    assert plugin_of(app).sessions_of('alice') == []


# --------------------------------------------------------------------------
# R7: a login submitted twice (the first answer never reaches the browser)

def test_a_login_submitted_twice_logs_the_browser_in_with_only_the_second_answer(
        make_app, serve_with_gates, store_url, log_dir):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, cart='3')
    # the first answer is lost: the browser aborted that submission
    lost, late = held_in_turn(app, origin, browser.sid, '/hold?name=a&user=alice',
                              '/hold?name=b&user=alice&key=seen&value=1')

    assert late.status == 200 and late.new_sid == lost.new_sid, (lost, late)
    browser.sid = late.new_sid
    assert browser.read() == ['alice', {'cart': '3', 'seen': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert warning_lines(log_dir) == []


def test_a_regenerate_that_finds_the_session_moved_stores_nothing_and_sends_no_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """Only a login adopts the id a parallel request moved the session to: a request holding a stolen
    id that calls ``regenerate()`` while the owner's request moves the session gets no cookie of it."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, cart='3')
    old = browser.sid
    # the owner's move, answered first
    late = held_across_moves(app, origin, browser, '/hold-then?name=a&action=regenerate', '/regenerate')

    assert late.status == 200 and late.set_cookies == [], late
    assert Browser(origin, old).read() == [None, {}]
    assert browser.read() == ['alice', {'cart': '3'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert any('moved to a new id' in line for line in warning_lines(log_dir))


def test_a_login_of_another_person_after_a_parallel_login_stores_nothing(make_app, serve_with_gates, store_url, log_dir):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, cart='3')
    moved, late = held_in_turn(app, origin, browser.sid, '/hold?name=a&user=alice', '/hold?name=b&user=bob')

    assert late.status == 200 and late.set_cookies == [], late  # the browser keeps the first login's cookie
    assert Browser(origin, moved.new_sid).read() == ['alice', {'cart': '3'}]
    assert plugin_of(app).sessions_of('bob') == []
    assert any('moved to a new id' in line for line in warning_lines(log_dir))


# --------------------------------------------------------------------------
# R4: end_sessions and end_other_sessions while a session moves

class _PausedListing:
    """A store whose ``sessions_of`` waits, after listing, until the test lets it go on."""

    def pause(self):
        self.listed, self.go_on = threading.Event(), threading.Event()

    def sessions_of(self, user_key):
        found = super().sessions_of(user_key)
        if hasattr(self, 'listed'):
            self.listed.set()
            assert self.go_on.wait(30), 'the test never let the listing go on'
        return found


def paused_store(kind, tmp_path, request):
    url = make_store_url(kind, tmp_path, request)
    if kind == 'memory':
        return type('Paused', (_PausedListing, canister.MemoryStore), {})()
    if kind == 'sqlite':
        return type('Paused', (_PausedListing, canister.SQLiteStore), {})(str(tmp_path / 'paused.db'))
    return type('Paused', (_PausedListing, canister.RedisStore), {})(url)


@pytest.mark.parametrize('kind', STORES)
def test_end_sessions_ends_a_session_moved_to_a_new_id_while_it_ran(
        make_app, serve_with_gates, tmp_path, request, kind):
    store = paused_store(kind, tmp_path, request)
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', store=store)
    browser = logged_in(origin, cart='3')
    old = browser.sid
    store.pause()
    result = {}
    ending = threading.Thread(target=lambda: result.update(ended=plugin_of(app).end_sessions('alice')))
    ending.start()
    assert store.listed.wait(30)

    assert browser.get('/regenerate').status == 200 and browser.sid != old  # after the listing
    store.go_on.set()
    ending.join(30)

    assert result['ended'] == 1
    assert browser.read() == [None, {}], 'alice is still logged in under the new id after end_sessions'
    del store.listed
    assert plugin_of(app).sessions_of('alice') == []


@pytest.mark.parametrize('kind', STORES)
def test_end_other_sessions_ends_a_session_moved_to_a_new_id_while_it_ran(
        make_app, serve_with_gates, tmp_path, request, kind):
    store = paused_store(kind, tmp_path, request)
    app = rotation_app(make_app, 'memory', store=store)

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    origin = serve_with_gates(app)
    here, other = logged_in(origin), logged_in(origin, cart='3')
    old = other.sid
    store.pause()
    result = {}
    ending = threading.Thread(target=lambda: result.update(answer=Browser(origin, here.sid).get('/end-others')))
    ending.start()
    assert store.listed.wait(30)

    assert other.get('/regenerate').status == 200 and other.sid != old
    store.go_on.set()
    ending.join(30)

    assert result['answer'].text == '1'
    assert other.read() == [None, {}], 'the other device is still logged in under its new id'
    here.sid = result['answer'].new_sid  # (the current session moves too: its answer carries the new id)
    assert here.read() == ['alice', {}]


def test_a_marker_without_an_id_is_still_read_as_a_move(make_app, serve_with_gates):
    """The marker's form of 2.0's development versions, in a store that outlived an upgrade."""
    store = canister.MemoryStore()
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', store=store)
    browser = logged_in(origin, cart='3')
    release = hold_request(app, origin, browser.sid, '/hold?name=a&key=note&value=late')
    assert store.update(browser.sid, store.load(browser.sid), canister._MOVED, 60)[0]
    held = release()

    assert held.status == 200 and held.set_cookies == [], held  # moved: the cookie stands
    assert browser.read() == [None, {}]
    assert plugin_of(app).end_sessions('alice') == 0


def test_a_logout_follows_the_marker_on_a_store_that_returns_bytes(make_app, serve_with_gates):
    app, origin = served_rotation_app(make_app, serve_with_gates, 'memory', store=BytesStore())
    browser = logged_in(origin, cart='3')
    held = held_across_moves(app, origin, browser, '/hold-then?name=a&action=invalidate', '/regenerate')

    assert held.status == 200 and held.new_sid == '', held
    assert browser.read() == [None, {}]
