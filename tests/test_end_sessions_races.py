"""``end_sessions`` and ``end_other_sessions`` against a login under way in another request.

A login made before an admin ended the user's sessions (a revoked account, a password change) and
stored after ``end_sessions`` listed them must not leave that user logged in.  Real waitress servers,
every store canister ships (a real redis-server), handlers held open on events.
"""
from __future__ import annotations

import threading

import pytest

import canister
from canister import session
from helpers import basic, warning_lines
from session_kit import (Browser, add_end_others_routes, anonymous,
                         assert_a_login_held_through_end_sessions_stays_out, held_in_turn, hold_request, logged_in,
                         plugin_of, rotation_app, wait_at_gate)


def end_others_app(make_app, url, **config):
    """``rotation_app`` plus ``/login-held?name=&user=`` (a login made, then held before it is stored),
    ``/end-others`` and ``/hold-end-others?name=`` (held before it calls ``end_other_sessions``)."""
    app = add_end_others_routes(rotation_app(make_app, url, **config))

    @app.get('/login-held')
    def login_held(name, user):
        held = app.gates(name)
        session.user = user  # (the credentials were checked)
        held.loaded.set()
        assert held.release.wait(30), 'the test never released gate %s' % name
        return 'held'

    @app.get('/login-and-end-others')
    def login_and_end_others(name):
        session.user = name
        return str(session.end_other_sessions())

    return app


def alice_with_a_cart(make_app, serve_with_gates, store_url):
    """``end_others_app`` served with gates and a browser logged in as alice with cart=1: (app, origin, browser)."""
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    return app, origin, logged_in(origin, 'alice', cart='1')


def test_a_login_under_way_when_end_sessions_ran_does_not_stay_logged_in(
        make_app, serve_with_gates, store_url, log_dir):
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    logged_in(origin, 'alice')
    assert_a_login_held_through_end_sessions_stays_out(app, origin, '/login-held?name=a&user=alice', 1)
    assert any("its user's sessions were ended (end_sessions" in line for line in warning_lines(log_dir))


def test_a_login_into_an_anonymous_session_under_way_when_end_sessions_ran_does_not_stay_logged_in(
        make_app, serve_with_gates, store_url):
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    release = hold_request(app, origin, browser.sid, '/login-held?name=a&user=alice')

    assert plugin_of(app).end_sessions('alice') == 0
    held = release()

    assert held.status == 200 and held.new_sid == '', held  # the cookie is expired, as at a logout
    assert plugin_of(app).sessions_of('alice') == []
    assert Browser(origin, browser.sid).read() == [None, {}]


def test_end_other_sessions_ends_a_login_under_way_on_another_device(make_app, serve_with_gates, store_url):
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    here = logged_in(origin, 'alice', note='kept')
    release = hold_request(app, origin, None, '/login-held?name=a&user=alice')

    assert here.get('/end-others').text == '0'
    held = release()

    assert held.status == 200 and held.new_sid is None, held
    assert [entry['current'] for entry in plugin_of(app).sessions_of('alice')] == [False]
    assert here.read() == ['alice', {'note': 'kept'}]


def test_a_login_that_ends_the_users_other_sessions_in_its_own_request_stays_logged_in(
        make_app, serve_with_gates, store_url):
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    other = logged_in(origin, 'alice')
    browser = Browser(origin)

    assert browser.get('/login-and-end-others?name=alice').text == '1'

    assert browser.read() == ['alice', {}]
    assert other.read() == [None, {}]


def test_a_login_made_after_end_sessions_returned_stays_logged_in(make_app, serve_with_gates, store_url):
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    logged_in(origin, 'alice')
    assert plugin_of(app).end_sessions('alice') == 1

    browser = logged_in(origin, 'alice')

    assert browser.read() == ['alice', {}]
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_end_other_sessions_ends_the_new_id_a_parallel_request_moved_the_current_session_to(
        make_app, serve_with_gates, store_url):
    """Whoever moved it (the browser, or a thief with a copy of its cookie) cannot be told: it goes too."""
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    other = logged_in(origin, 'alice')
    browser = logged_in(origin, 'alice', cart='3')
    release = hold_request(app, origin, browser.sid, '/hold-end-others?name=a')

    old = browser.sid
    assert browser.get('/regenerate').status == 200 and browser.sid != old
    held = release()

    assert held.status == 200 and held.text == '2', held
    assert browser.read() == [None, {}]
    assert other.read() == [None, {}]


def test_a_login_whose_password_check_was_under_way_when_end_sessions_ran_does_not_stay_logged_in(
        make_app, serve_with_gates, store_url):
    """The check (a slow hash, here a user lookup held open) started before the revocation: the login
    is ended as it is stored, although the handler set the user only after end_sessions had run."""
    app = end_others_app(make_app, store_url)
    checking = app.gates('check')

    def look_up(name):
        checking.loaded.set()
        assert checking.release.wait(30), 'the test never released the check'
        return canister.hash_password('pw', iterations=1000) if name == 'alice' else None

    @app.get('/form-login')
    def form_login():
        return {'in': canister.log_in('alice', 'pw', users=look_up)}

    origin = serve_with_gates(app)
    browser, answers = Browser(origin), []
    thread = threading.Thread(target=lambda: answers.append(browser.get('/form-login')))
    thread.start()
    assert checking.loaded.wait(30)

    assert plugin_of(app).end_sessions('alice') == 0
    checking.release.set()
    thread.join(30)

    assert answers[0].json() == {'in': True} and answers[0].new_sid is None, answers[0]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_login_whose_user_the_handler_then_gives_more_claims_is_still_ended_by_end_sessions_run_meanwhile(
        make_app, serve_with_gates, store_url):
    """``canister.log_in``, then ``session.user`` set again to the same person with the roles the app adds: the
    second assignment is no new login, but the first is still not stored when ``end_sessions`` runs."""
    app = end_others_app(make_app, store_url)
    users = {'alice': canister.hash_password('pw', iterations=1000)}

    @app.get('/form-login-with-roles')
    def form_login_with_roles(name):
        assert canister.log_in('alice', 'pw', users)
        session.user = {'sub': 'alice', 'roles': ['admin']}
        wait_at_gate(app, name)
        return 'held'

    origin = serve_with_gates(app)
    assert_a_login_held_through_end_sessions_stays_out(app, origin, '/form-login-with-roles?name=a', 0)


def test_end_other_sessions_called_by_a_client_without_a_cookie_makes_no_session(make_app, serve_with_gates, store_url):
    """A script sending Basic credentials and keeping no cookie: its user holds for its request, and the new
    id that ``end_other_sessions`` gives the current session is no reason to store one for it."""
    app = end_others_app(make_app, store_url, auth_basic_username='alice',
                         auth_basic_password=canister.hash_password('pw', iterations=1000))
    origin = serve_with_gates(app)
    other = logged_in(origin, 'alice')

    answer = Browser(origin).get('/end-others', {'Authorization': basic('alice', 'pw')})

    assert answer.status == 200 and answer.text == '1' and answer.set_cookies == [], answer
    assert plugin_of(app).sessions_of('alice') == []
    assert other.read() == [None, {}]


def test_a_cart_item_saved_by_a_request_that_loaded_the_session_before_end_other_sessions_follows_it(
        make_app, serve_with_gates, store_url):
    app, origin, browser = alice_with_a_cart(make_app, serve_with_gates, store_url)
    release = hold_request(app, origin, browser.sid, '/hold?name=c&key=cart&value=5')
    assert browser.get('/end-others').text == '0'

    held = release()

    assert held.status == 200 and held.set_cookies == [], held  # (no cookie: the new id is the browser's own)
    assert browser.read() == ['alice', {'cart': '5'}]


def test_end_other_sessions_keeps_the_cart_item_a_parallel_request_saved_while_it_ran(
        make_app, serve_with_gates, store_url):
    app, origin, browser = alice_with_a_cart(make_app, serve_with_gates, store_url)
    release = hold_request(app, origin, browser.sid, '/hold-end-others?name=a')
    assert Browser(origin, browser.sid).get('/set?key=cart&value=5').status == 200

    held = release()

    assert held.status == 200 and held.text == '0', held
    assert Browser(origin, held.new_sid).read() == ['alice', {'cart': '5'}]


def test_two_end_other_sessions_at_once_from_one_browser_leave_it_logged_out(make_app, serve_with_gates, store_url):
    """The button clicked twice: the second ends the new id the first gave the session (the server cannot
    tell the browser's copy of the old cookie from a thief's), and itself finds the session moved."""
    app, origin, browser = alice_with_a_cart(make_app, serve_with_gates, store_url)
    first = hold_request(app, origin, browser.sid, '/hold-end-others?name=a')
    second = hold_request(app, origin, browser.sid, '/hold-end-others?name=b')

    moved, ending = first(), second()

    assert moved.text == '0' and moved.new_sid, moved
    assert ending.text == '1' and ending.set_cookies == [], ending
    assert Browser(origin, moved.new_sid).read() == [None, {}]
    assert browser.read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def raced_with_end_others(make_app, serve_with_gates, store_url, other, other_first):
    """alice's browser (cart=1) sends ``/hold-end-others?name=a`` and ``other`` (a gated path) at once, ``other``
    released first if ``other_first``: the app, its origin, end_other_sessions' answer and ``other``'s."""
    app, origin, browser = alice_with_a_cart(make_app, serve_with_gates, store_url)
    paths = ['/hold-end-others?name=a', other]
    if other_first:
        paths.reverse()

    answers = dict(zip(paths, held_in_turn(app, origin, browser.sid, *paths)))
    return app, origin, answers['/hold-end-others?name=a'], answers[other]


@pytest.mark.parametrize('first', ['end-others', 'logout'])
def test_a_logout_racing_end_other_sessions_on_one_browser_logs_it_out_whichever_stores_first(
        make_app, serve_with_gates, store_url, first):
    app, origin, moved, out = raced_with_end_others(make_app, serve_with_gates, store_url,
                                                    '/hold-then?name=b&action=invalidate', first == 'logout')

    assert out.new_sid == '', out  # the logout expires the cookie
    assert moved.new_sid is None or Browser(origin, moved.new_sid).read() == [None, {}], moved
    assert plugin_of(app).sessions_of('alice') == []


@pytest.mark.parametrize('first', ['end-others', 'bob'])
def test_a_login_of_another_person_racing_end_other_sessions_on_one_browser_leaves_it_to_whoever_stored_first(
        make_app, serve_with_gates, store_url, first):
    _, origin, moved, bob = raced_with_end_others(make_app, serve_with_gates, store_url, '/hold?name=b&user=bob',
                                                  first == 'bob')

    if first == 'end-others':  # bob's login finds alice's session moved: it stores nothing, sends no cookie
        assert bob.set_cookies == [] and Browser(origin, moved.new_sid).read() == ['alice', {'cart': '1'}]
    else:  # end_other_sessions finds the session bob's: it moves nothing
        assert moved.set_cookies == [] and Browser(origin, bob.new_sid).read() == ['bob', {}]


def test_a_login_the_handler_checks_itself_counts_from_when_it_sets_session_user(
        make_app, serve_with_gates, store_url):
    """Canister cannot see a check it does not make: ``end_sessions`` that runs while the handler checks the
    password its own way (held here) and before it sets ``session.user`` leaves that login standing."""
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    release = hold_request(app, origin, None, '/hold?name=a&user=alice')

    assert plugin_of(app).end_sessions('alice') == 0
    held = release()

    assert held.status == 200 and held.new_sid, held
    assert Browser(origin, held.new_sid).read() == ['alice', {}]
