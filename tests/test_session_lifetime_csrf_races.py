"""Two requests of one session at once, where one changes the session's lifetime or id and the other is a
form POST, a ``remember()`` or a login: what the CSRF check, the cookie and the store make of it.

The CSRF check reads where an unsafe request comes from (``Sec-Fetch-Site``, ``Origin``, ``Referer``) and takes
no token, so no login, ``regenerate()`` or logout makes a form of the app's own page stale.  Each test holds one
request open inside its handler on a gate (``session_kit``) while another request of the same session, or of a
copy of its cookie, runs to its end; real waitress servers, every store canister ships (a real redis-server).
"""
from __future__ import annotations

from typing import Any

import pytest

from canister import session
from helpers import warning_lines
from session_kit import (Browser, add_end_others_routes, add_hold_remember_route, anonymous, held_across,
                         held_across_moves, held_in_turn, hold_request, logged_in, max_age, plain_timeout,
                         plugin_of, rotation_app, wait_at_gate)

CROSS_SITE = {'Origin': 'http://evil.example', 'Sec-Fetch-Site': 'cross-site'}


def same_origin(origin: str) -> dict:
    """The headers a browser sends with a form of the app's own page."""
    return {'Origin': origin, 'Sec-Fetch-Site': 'same-origin'}


def lifetime_app(make_app: Any, url: str, **config: Any) -> Any:
    """``rotation_app`` plus a form (``POST /note``, and ``POST /hold-note?name=``, held before it saves),
    ``/hold-remember?name=&seconds=`` (held before it calls ``remember``) and ``/end-others``."""
    import bottle
    app = add_hold_remember_route(add_end_others_routes(rotation_app(make_app, url, **config)))

    @app.post('/note')
    def note():
        session.data['note'] = bottle.request.forms.note
        return 'noted'

    @app.post('/hold-note')
    def hold_note(name):
        wait_at_gate(app, name)
        session.data['note'] = bottle.request.forms.note
        return 'noted'

    @app.get('/hold-login')
    def hold_login(name, user, seconds: int = 0):
        wait_at_gate(app, name)
        session.user = user
        if seconds:
            session.remember(seconds)
        return 'in'

    return app


# --------------------------------------------------------------------------
# a form of the app's page against a login or regenerate of its session

@pytest.mark.parametrize('move', ['/login?name=alice', '/regenerate'])
def test_a_form_of_the_apps_page_posted_while_a_login_moved_its_session_passes_and_its_note_follows(
        make_app, serve_with_gates, store_url, move):
    """A form POST whose session was loaded before a parallel login (or ``regenerate()``) moved it: the CSRF
    check has no token to find stale, so it passes; its change goes where the session went, and its answer
    carries no cookie (neither the old id, which would log the browser out, nor the new one)."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    path = '/hold-note?name=a'

    def post(holder):
        return holder.post(path, {'note': 'gift'}, same_origin(origin))
    release = hold_request(app, origin, browser.sid, path, post)
    old = browser.sid
    assert browser.get(move).status == 200 and browser.sid not in (None, old)
    held = release()

    assert held.status == 200 and held.text == 'noted' and held.set_cookies == [], held
    assert browser.read()[1] == {'cart': '3', 'note': 'gift'}
    assert Browser(origin, old).read() == [None, {}]


@pytest.mark.parametrize('move', ['/login?name=alice', '/regenerate', '/end-others'])
def test_a_form_of_a_page_shown_before_a_login_passes_after_it_and_another_sites_form_is_refused(
        make_app, serve_with_gates, store_url, move):
    """The page was shown, then the session moved to a new id (a login in another tab, ``regenerate()``,
    ``end_other_sessions()``): its form, posted with the browser's new cookie, passes, as Django's rotated
    token would not; the same form from another site is refused with 403, before the handler, and changes
    nothing."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = logged_in(origin, cart='3') if move == '/end-others' else anonymous(origin, cart='3')
    assert browser.get('/read').status == 200  # the page with the form
    old = browser.sid
    assert browser.get(move).status == 200 and browser.sid not in (None, old)

    refused = browser.post('/note', {'note': 'evil'}, CROSS_SITE)
    posted = browser.post('/note', {'note': 'gift'}, same_origin(origin))

    assert refused.status == 403 and refused.set_cookies == [], refused
    assert posted.status == 200 and posted.text == 'noted', posted
    assert browser.read()[1] == {'cart': '3', 'note': 'gift'}


# --------------------------------------------------------------------------
# remember() against a login, a regenerate or end_other_sessions of the same session

@pytest.mark.parametrize('move', ['/login?name=alice', '/regenerate', '/end-others'])
def test_a_remember_held_across_the_browsers_own_login_gives_its_length_to_the_session_under_its_new_id(
        make_app, serve_with_gates, store_url, move):
    """``remember()`` of a request that loaded the session before a parallel login moved it: the length goes
    where the session went (as a change of a key does), without a cookie in the held answer; the browser's
    next answer carries its persistent cookie."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    if move != '/login?name=alice':
        assert browser.get('/login?name=alice').status == 200
    held = held_across_moves(app, origin, browser, '/hold-remember?name=a&seconds=600', move)

    assert held.status == 200 and held.set_cookies == [], held
    later = browser.get('/read')
    assert later.json() == {'user': 'alice', 'data': {'cart': '3'}}, later
    assert later.new_sid == browser.sid and max_age(later) == 600, later


@pytest.mark.parametrize('move', ['/login?name=bob', '/anonymous'])
def test_a_remember_held_across_another_persons_login_leaves_that_session_its_plain_length(
        make_app, serve_with_gates, store_url, log_dir, move):
    """alice's ``remember()`` (of her request, or of a thief's copy of her cookie) loaded before bob logged in
    on the browser: bob's session is a new one, which neither takes alice's length nor hands her request a
    cookie."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = logged_in(origin, 'alice', cart='3')
    held = held_across_moves(app, origin, browser, '/hold-remember?name=a&seconds=600', move)

    assert held.status == 200 and held.set_cookies == [], held
    later = browser.get('/read')
    assert later.json() == {'user': 'bob' if 'bob' in move else None, 'data': {}}, later
    assert later.set_cookies == [], later
    assert plugin_of(app).sessions_of('alice') == []


# --------------------------------------------------------------------------
# remember() against an end of the session: logout elsewhere, end_sessions, end_other_sessions

@pytest.mark.parametrize('ending', ['end_sessions', 'end_other_sessions'])
def test_a_remember_held_across_an_end_of_its_session_stores_nothing_and_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir, ending):
    """The device (or a thief's copy of its cookie) calls ``remember(3600)`` while an admin's ``end_sessions``
    or the user's ``end_other_sessions`` on another device ends its session: the session is not brought back,
    long-lived or not."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    device = logged_in(origin, 'alice', cart='3')
    other = logged_in(origin, 'alice')
    sid = device.sid

    release = hold_request(app, origin, sid, '/hold-remember?name=a&seconds=3600')
    if ending == 'end_sessions':
        assert plugin_of(app).end_sessions('alice') == 2
    else:
        assert other.get('/end-others').text == '1'
    held = release()

    assert held.status == 200 and held.new_sid == '', held  # the cookie expired
    assert Browser(origin, sid).read() == [None, {}]
    left = plugin_of(app).sessions_of('alice')
    assert len(left) == (0 if ending == 'end_sessions' else 1), left
    assert any('ended' in line for line in warning_lines(log_dir)), warning_lines(log_dir)


@pytest.mark.parametrize('call', ['/remember?seconds=3600', '/regenerate'])
def test_a_copy_of_the_cookie_used_after_the_logout_gets_a_new_empty_session_not_the_ended_one(
        make_app, serve_with_gates, store_url, call):
    """A thief's copy of the cookie, sent after the owner logged out, to a handler that calls ``remember()`` or
    ``regenerate()``: it gets an anonymous session of its own, with nothing of the owner's."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, 'alice', cart='3')
    stolen = owner.sid
    assert owner.get('/logout').status == 200 and owner.sid is None

    thief = Browser(origin, stolen)
    answer = thief.get(call)

    assert answer.status == 200 and answer.new_sid not in (None, '', stolen), answer
    assert thief.read() == [None, {}]
    assert Browser(origin, stolen).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_by_session_user_none_held_across_a_remember_leaves_an_anonymous_session_of_the_plain_length(
        make_app, serve_with_gates, store_url, request):
    """The logout loaded alice's session; meanwhile another request (hers, or a thief's copy of her cookie) made
    it long-lived: the anonymous session the logout gives the browser has neither her data nor her length."""
    timeout, past_the_timeout = plain_timeout(store_url, request)
    app = lifetime_app(make_app, store_url, session_timeout=timeout)
    origin = serve_with_gates(app)
    browser = logged_in(origin, 'alice', cart='3')
    old = browser.sid

    out = held_across(app, origin, old, '/hold-then?name=a&action=anonymous', '/remember?seconds=3600')

    assert out.status == 200 and out.new_sid not in (None, '', old) and max_age(out) is None, out
    later = Browser(origin, out.new_sid).get('/set?key=seen&value=1')
    assert later.status == 200 and later.set_cookies == [], later  # the same session, no persistent cookie
    assert Browser(origin, out.new_sid).read() == [None, {'seen': '1'}]
    past_the_timeout()  # well within the 3600 s
    assert Browser(origin, out.new_sid).get('/set?key=seen&value=2').new_sid not in (None, out.new_sid)
    assert Browser(origin, old).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


# --------------------------------------------------------------------------
# two logins of different people at once on one browser

def test_a_login_held_while_another_person_logged_in_on_the_browser_leaves_its_data_out_of_that_session(
        make_app, serve_with_gates, store_url, log_dir):
    """alice's login, which also stores her card, loaded the anonymous session; bob's login on the same
    browser is stored first: alice's stores nothing (neither her user nor her card) and sends no cookie."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')

    held = held_across_moves(app, origin, browser, '/hold?name=a&user=alice&key=card&value=alice-card',
                             '/login?name=bob&remember=600')

    assert held.status == 200 and held.set_cookies == [], held
    later = browser.get('/read')
    assert later.json() == {'user': 'bob', 'data': {'cart': '3'}} and max_age(later) == 600, later
    assert plugin_of(app).sessions_of('alice') == []


def test_a_login_held_while_the_previous_person_remembered_their_session_starts_without_that_length(
        make_app, serve_with_gates, store_url):
    """bob's login loaded alice's session; meanwhile alice's other tab made it long-lived and stored a card:
    bob's session, stored after, is a new one, with neither her card nor her length."""
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = logged_in(origin, 'alice', cart='3')

    held = held_across(app, origin, browser.sid, '/hold?name=a&user=bob', '/remember?seconds=3600',
                       '/set?key=card&value=alice-card')

    assert held.status == 200 and held.new_sid and max_age(held) is None, held
    later = Browser(origin, held.new_sid).get('/read')
    assert later.json() == {'user': 'bob', 'data': {}} and later.set_cookies == [], later
    assert plugin_of(app).sessions_of('alice') == []


def test_end_other_sessions_held_across_a_remember_of_its_session_keeps_that_length_under_the_new_id(
        make_app, serve_with_gates, store_url):
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = logged_in(origin, 'alice', cart='3')

    held = held_across(app, origin, browser.sid, '/hold-end-others?name=a', '/remember?seconds=600')

    assert held.status == 200 and held.text == '0' and held.new_sid and max_age(held) == 600, held
    later = Browser(origin, held.new_sid).get('/read')
    assert later.json() == {'user': 'alice', 'data': {'cart': '3'}} and max_age(later) == 600, later


@pytest.mark.parametrize('first', ['remembered', 'plain'])
def test_a_login_submitted_twice_once_with_remember_me_leaves_the_browser_remembered_whichever_is_stored_first(
        make_app, serve_with_gates, store_url, first):
    app = lifetime_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    paths = ['/hold-login?name=a&user=alice&seconds=600', '/hold-login?name=b&user=alice']
    if first == 'plain':
        paths.reverse()

    earlier, later = held_in_turn(app, origin, browser.sid, *paths)

    assert earlier.new_sid and later.new_sid == earlier.new_sid and max_age(later) == 600, (earlier, later)
    browser.sid = later.new_sid
    again = browser.get('/read')
    assert again.json() == {'user': 'alice', 'data': {'cart': '3'}} and max_age(again) == 600, again
    assert len(plugin_of(app).sessions_of('alice')) == 1
