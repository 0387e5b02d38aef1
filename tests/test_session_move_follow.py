"""A change made by a request that loaded the session before a parallel login or ``regenerate()``
moved it to a new id follows the move: it is merged into the session under the new id when that
session is still the same person's (or the request loaded it anonymous and the move was the login),
and the new id is never sent to the request that followed.  Real waitress servers, every store
canister ships (a real redis-server), handlers held open on events.
"""
from __future__ import annotations

import pytest

from canister import session
from helpers import warning_lines as warnings_in
from session_kit import (Browser, held_across_moves, logged_in, plugin_of, rotation_app, served_rotation_app,
                         wait_at_gate)


def held_change_across(app, origin, browser, moves, path='/hold?name=a&key=cart&value=book'):
    """Hold ``path`` (a data change) on the browser's session while the browser requests each of
    ``moves`` in turn; the held request's answer, once released."""
    held = held_across_moves(app, origin, browser, path, *moves)
    assert held.status == 200 and held.text == 'held', held
    return held


def assert_tells_nothing_of(answer, sid):
    """The answer names ``sid`` nowhere: no cookie of it, no header, not in the body."""
    assert answer.set_cookies == [], answer
    assert not any(sid in value for _, value in answer.headers.items()), answer.headers.items()
    assert sid not in answer.text


def test_a_change_made_in_parallel_with_a_login_from_an_anonymous_session_survives_the_login(
        make_app, serve_with_gates, store_url, log_dir):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = Browser(origin)
    assert browser.get('/set?key=a&value=1').status == 200
    old = browser.sid

    held = held_change_across(app, origin, browser, ['/login?name=alice'])

    assert browser.read() == ['alice', {'a': '1', 'cart': 'book'}]
    assert_tells_nothing_of(held, browser.sid)
    assert Browser(origin, old).read() == [None, {}]
    assert warnings_in(log_dir) == []
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_a_change_made_in_parallel_with_a_regenerate_is_kept_under_the_new_id(
        make_app, serve_with_gates, store_url, log_dir):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, x='1')
    old = browser.sid

    held = held_change_across(app, origin, browser, ['/regenerate'])

    assert browser.read() == ['alice', {'x': '1', 'cart': 'book'}]
    assert_tells_nothing_of(held, browser.sid)
    assert Browser(origin, old).read() == [None, {}]
    assert warnings_in(log_dir) == []


def test_a_change_made_in_parallel_with_another_persons_login_is_not_applied_to_that_persons_session(
        make_app, serve_with_gates, store_url, log_dir):
    """(Today's behaviour, kept: it never follows into another person's session.)"""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, x='1')

    held = held_change_across(app, origin, browser, ['/login?name=bob'])

    assert held.set_cookies == [], held  # bob's cookie stands
    assert browser.read() == ['bob', {}]
    assert plugin_of(app).sessions_of('alice') == []
    assert any('moved to a new id' in line for line in warnings_in(log_dir)), warnings_in(log_dir)


def test_a_remembered_session_changed_across_a_login_keeps_the_change_and_sends_no_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """A remembered session sends its persistent cookie with every answer that stores it: not so
    when the change went to the new id, which only the request that moved the session may send."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = Browser(origin)
    assert browser.get('/set?key=a&value=1').status == 200
    assert browser.get('/remember').status == 200

    held = held_change_across(app, origin, browser, ['/login?name=alice'])

    assert_tells_nothing_of(held, browser.sid)
    assert browser.read() == ['alice', {'a': '1', 'cart': 'book'}]
    assert warnings_in(log_dir) == []


def test_a_remember_made_in_parallel_with_a_login_is_kept_under_the_new_id(make_app, serve_with_gates, store_url):
    """The lifetime follows too: the browser's next answer sends the remembered persistent cookie."""
    app = rotation_app(make_app, store_url)

    @app.get('/hold-remember')
    def hold_remember(name):
        wait_at_gate(app, name)
        session.remember(600)
        return 'held'

    origin = serve_with_gates(app)
    browser = Browser(origin)
    assert browser.get('/set?key=a&value=1').status == 200

    held = held_change_across(app, origin, browser, ['/login?name=alice'], path='/hold-remember?name=a')

    assert_tells_nothing_of(held, browser.sid)
    answer = browser.get('/read')
    assert answer.json() == {'user': 'alice', 'data': {'a': '1'}}
    assert answer.new_sid == browser.sid and 'Max-Age=600' in answer.set_cookies[0], answer


@pytest.mark.parametrize('user', ['alice', None], ids=['logged-in', 'anonymous'])
def test_a_change_follows_up_to_three_moves_of_the_same_persons_session(
        make_app, serve_with_gates, store_url, log_dir, user):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, user, x='1') if user else Browser(origin)
    if not user:
        assert browser.get('/set?key=x&value=1').status == 200

    held = held_change_across(app, origin, browser, ['/regenerate'] * 3)

    assert browser.read() == [user, {'x': '1', 'cart': 'book'}]
    assert_tells_nothing_of(held, browser.sid)
    assert warnings_in(log_dir) == []


def test_a_change_does_not_follow_more_than_three_moves(make_app, serve_with_gates, store_url, log_dir):
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, x='1')

    held = held_change_across(app, origin, browser, ['/regenerate'] * 4)

    assert held.set_cookies == [], held
    assert browser.read() == ['alice', {'x': '1'}]
    assert any('moved to a new id' in line for line in warnings_in(log_dir)), warnings_in(log_dir)


def test_an_anonymous_change_does_not_follow_a_login_on_to_another_persons_login(
        make_app, serve_with_gates, store_url, log_dir):
    """Markers do not say whose each step was: past one move, an anonymous session's change goes
    only where the session is still anonymous, never to bob, whose login started without its data."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = Browser(origin)
    assert browser.get('/set?key=a&value=1').status == 200

    held = held_change_across(app, origin, browser, ['/login?name=alice', '/login?name=bob'])

    assert held.set_cookies == [], held
    assert browser.read() == ['bob', {}]
    assert any('moved to a new id' in line for line in warnings_in(log_dir)), warnings_in(log_dir)


def test_a_request_that_changes_the_user_itself_does_not_follow(make_app, serve_with_gates, store_url, log_dir):
    """New claims of the same person (a refreshed token) are a change of the user: such a request
    stores nothing where the session moved, as a login or logout of its own does."""
    app = rotation_app(make_app, store_url)

    @app.get('/claims')
    def claims(role, name=''):
        if name:
            wait_at_gate(app, name)
            session.data['cart'] = 'book'
        session.user = {'sub': 'alice', 'role': role}
        return 'held'

    origin = serve_with_gates(app)
    browser = Browser(origin)
    assert browser.get('/claims?role=reader').status == 200

    held = held_change_across(app, origin, browser, ['/regenerate'], path='/claims?role=admin&name=a')

    assert held.set_cookies == [], held
    assert browser.read() == [{'sub': 'alice', 'role': 'reader'}, {}]
    assert any('moved to a new id' in line for line in warnings_in(log_dir)), warnings_in(log_dir)
