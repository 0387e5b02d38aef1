"""Two requests of one session at once: a replacement of the data, remember() and invalidate().

Each test holds one request open inside its handler on a gate (``session_kit.gated_app``) while
another request of the same session runs to its end, on every store canister ships (memory,
SQLite, a real redis-server), served over HTTP by a real server on 127.0.0.1.
"""
from __future__ import annotations

from typing import Any

import pytest

from helpers import read_log, warning_lines
from session_kit import (Browser, add_hold_remember_route, expires_cookie, gated_app, held_across, hold_request,
                         logged_in, max_age, plain_timeout, plugin_of, wait_at_gate)


def race_app(make_app: Any, url: str, **config: Any) -> Any:
    """``gated_app`` plus held routes that replace the data, call ``remember`` or ``invalidate``."""
    from canister import session
    app = add_hold_remember_route(gated_app(make_app, url, **config))

    @app.get('/hold-replace')
    def hold_replace(name, key, value):
        wait_at_gate(app, name)
        session.data = {key: value}
        return 'replaced'

    @app.get('/hold-invalidate')
    def hold_invalidate(name):
        wait_at_gate(app, name)
        session.invalidate()
        return 'bye'

    return app


def replaced_across(make_app: Any, serve_with_gates: Any, url: str, meanwhile: str, **data: str) -> Any:
    """alice's session, logged in with ``data``: its request that replaces the data with ``{'x': '9'}`` held while
    ``meanwhile`` of the same session runs to its end; the held request's answer and alice's browser."""
    app = race_app(make_app, url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, **data)
    return held_across(app, origin, owner.sid, '/hold-replace?name=a&key=x&value=9', meanwhile), owner


# --------------------------------------------------------------------------
# session.data = {...} against a request that sets one key

def test_a_replacement_of_the_data_keeps_a_key_a_parallel_request_added_meanwhile(
        make_app, serve_with_gates, store_url):
    """A replacement is saved as the keys it set and the keys it removed: a key that was not
    there when it loaded, added by a parallel request, is not among them, and stays."""
    held, owner = replaced_across(make_app, serve_with_gates, store_url, '/set?key=c&value=3', a='1', b='2')

    assert held.status == 200, held
    assert owner.read() == ['alice', {'x': '9', 'c': '3'}]


def test_a_replacement_saved_last_removes_a_key_a_parallel_request_changed_meanwhile(
        make_app, serve_with_gates, store_url):
    """A key the replacement drops is one it changed: of two changes to one key, the later save wins."""
    held, owner = replaced_across(make_app, serve_with_gates, store_url, '/set?key=a&value=5', a='1', b='2')

    assert held.status == 200, held
    assert owner.read() == ['alice', {'x': '9'}]


def test_a_replacement_that_leaves_a_key_as_loaded_keeps_the_value_a_parallel_request_gave_it(
        make_app, serve_with_gates, store_url):
    """Only the keys whose values a replacement changed are its changes: one it sets to the value it
    loaded is no change, and the value a parallel request saved meanwhile stays, though saved earlier."""
    held, owner = replaced_across(make_app, serve_with_gates, store_url, '/set?key=x&value=5', x='9', b='2')

    assert held.status == 200, held
    assert owner.read() == ['alice', {'x': '5'}]


def test_a_key_set_by_a_request_that_loaded_before_a_replacement_and_saves_after_it_is_kept(
        make_app, serve_with_gates, store_url):
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, a='1', b='2')
    release = hold_request(app, origin, owner.sid, '/hold?name=a&key=c&value=3')

    app.gates('b').release.set()  # the replacement runs straight through
    assert Browser(origin, owner.sid, follow=False).get('/hold-replace?name=b&key=x&value=9').status == 200
    assert release().status == 200

    assert owner.read() == ['alice', {'x': '9', 'c': '3'}]


# --------------------------------------------------------------------------
# remember() against a request that saves the session

def test_a_remember_that_saves_first_keeps_its_length_through_a_parallel_change_and_its_cookie(
        make_app, serve_with_gates, store_url):
    """The change saved after ``remember`` merges into the remembered session: its answer carries
    the remembered length, and so does every answer after it."""
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')
    changing = hold_request(app, origin, owner.sid, '/hold?name=a&key=note&value=late')

    remembered = Browser(origin, owner.sid, follow=False).get('/remember?seconds=600')
    changed = changing()

    assert remembered.status == changed.status == 200
    assert max_age(remembered) == max_age(changed) == 600, (remembered, changed)
    later = Browser(origin, owner.sid, follow=False).get('/read')
    assert max_age(later) == 600 and later.json()['data'] == {'cart': '3', 'note': 'late'}, later


def test_a_remember_that_saves_after_a_parallel_change_sends_its_length_and_keeps_the_change(
        make_app, serve_with_gates, store_url):
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')

    remembered = held_across(app, origin, owner.sid, '/hold-remember?name=a&seconds=600', '/set?key=note&value=x')

    assert remembered.status == 200 and max_age(remembered) == 600, remembered
    later = Browser(origin, owner.sid, follow=False).get('/read')
    assert max_age(later) == 600 and later.json()['data'] == {'cart': '3', 'note': 'x'}, later


# --------------------------------------------------------------------------
# invalidate() against remember()

def test_a_remember_held_across_a_logout_stores_nothing_and_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')
    sid = owner.sid

    held = held_across(app, origin, sid, '/hold-remember?name=a&seconds=600', '/logout')

    assert held.status == 200, held
    assert held.set_cookies and all(expires_cookie(cookie) for cookie in held.set_cookies), held
    assert Browser(origin, sid).read() == [None, {}]
    assert any('ended' in line for line in warning_lines(log_dir)), warning_lines(log_dir)


def test_a_logout_held_across_a_remember_still_ends_the_session(make_app, serve_with_gates, store_url):
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')
    sid = owner.sid

    held = held_across(app, origin, sid, '/hold-invalidate?name=a', '/remember?seconds=600')

    assert held.status == 200 and held.set_cookies and expires_cookie(held.set_cookies[0]), held
    assert Browser(origin, sid).read() == [None, {}]


# --------------------------------------------------------------------------
# a request whose session cannot be saved (500) leaves a remembered session its own length

def remembered_with_unstorable_routes(make_app, serve_with_gates, url, timeout):
    """An app of the plain ``timeout`` whose ``/unstorable`` and ``/stream-unstorable`` (in its second chunk)
    put a datetime in the session, and a browser logged in there (``cart`` = 3) and remembered for 600 s."""
    import datetime
    from canister import session
    app = race_app(make_app, url, session_timeout=timeout)

    @app.get('/unstorable')
    def unstorable():
        session.data['when'] = datetime.datetime(2026, 1, 1)
        return 'ok'

    @app.get('/stream-unstorable')
    def stream_unstorable():
        def chunks():
            yield 'first '
            session.data['when'] = datetime.datetime(2026, 1, 1)  # the session is first read here
            yield 'second'
        return chunks()

    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')
    assert owner.get('/remember?seconds=600').status == 200
    return owner


@pytest.mark.parametrize('path', ['/unstorable', '/stream-unstorable'])
def test_a_request_whose_session_cannot_be_saved_leaves_a_remembered_session_its_own_length(
        make_app, serve_with_gates, store_url, log_dir, request, path):
    """A request whose handler put a value no session can store keeps nothing (a 500, or, once a streamed
    answer started, an ERROR line), the length included: on Redis, whose read gave the session the
    plain timeout, canister puts the remembered 600 s back, as after the handler's own 500."""
    timeout, past_the_timeout = plain_timeout(store_url, request)
    owner = remembered_with_unstorable_routes(make_app, serve_with_gates, store_url, timeout)

    failed = owner.get(path)
    past_the_timeout()  # well within the remembered 600 s

    assert failed.status == (500 if path == '/unstorable' else 200), failed
    assert 'Session not saved' in read_log(log_dir)
    assert owner.read() == ['alice', {'cart': '3'}]


# --------------------------------------------------------------------------
# a login racing a regenerate() of the anonymous session it logs into

def test_a_login_whose_anonymous_session_a_parallel_regenerate_moved_stores_nothing_and_sends_no_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """The new id may be a thief's, who held a copy of the anonymous cookie: the login does not go there."""
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = Browser(origin)
    assert browser.get('/set?key=cart&value=3').status == 200
    old = browser.sid

    release = hold_request(app, origin, old, '/hold?name=a&user=alice')
    assert browser.get('/regenerate').status == 200 and browser.sid not in (None, old)
    login = release()

    assert login.status == 200 and login.set_cookies == [], login
    assert plugin_of(app).sessions_of('alice') == []
    assert browser.read() == [None, {'cart': '3'}]  # the moved session, anonymous still
    assert any('moved' in line for line in warning_lines(log_dir)), warning_lines(log_dir)


# --------------------------------------------------------------------------
# regenerate(): the old id after the move

def test_a_request_that_sends_the_old_id_after_a_regenerate_writes_to_a_new_session_of_its_own(
        make_app, serve_with_gates, store_url):
    """The old id names no session once the move is stored: a write sent with it makes a fresh one,
    and neither the old id nor the moved session gets the change."""
    app = race_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, cart='3')
    old = owner.sid
    assert owner.get('/regenerate').status == 200 and owner.sid not in (None, old)

    late = Browser(origin, old).get('/set?key=note&value=late')

    assert late.status == 200 and late.new_sid not in (None, '', old, owner.sid), late
    assert Browser(origin, late.new_sid).read() == [None, {'note': 'late'}]
    assert Browser(origin, old).read() == [None, {}]
    assert owner.read() == ['alice', {'cart': '3'}]
