"""``session_max_age`` and a user's sessions: a login from anonymous restarts the session's creation time
(the cart stays), and ``sessions_of`` and the cap per user count only the sessions a request could still load
once ``session_max_age`` is lowered.

On each store canister ships (memory, SQLite, a real redis-server), with canister's clock moved on by hand
(``clock``): WebTest for one request at a time, real HTTP with a request held open for the race.
"""
from __future__ import annotations

import json
import time

import pytest

import canister
from canister import session
from helpers import (basic, bearer, cookie_value, cookieless_client, read_log, signed_token, with_cookie,
                     write_users)
from session_kit import (add_session_routes, anonymous, held_across, held_across_moves, make_store_url, plugin_of,
                         rotation_app)

DAY = 86400


def age_app(make_app, store_url, **config):
    """Sessions that live ``session_max_age`` (a day unless told) from their creation, with no sliding timeout
    unless told."""
    settings = dict({'session_timeout': 0, 'session_max_age': DAY}, **config)
    if store_url:  # (else a store object in ``config``)
        settings['session_store'] = store_url
    app = make_app(**settings)
    add_session_routes(app)

    @app.get('/read')
    def read():
        return json.dumps([session.user, session.data])

    return app


def read(web, sid, **headers):
    """[user, data] of the session ``sid`` names."""
    return json.loads(web.get('/read', headers=dict(with_cookie(sid), **headers)).text)


def test_a_login_after_23_hours_of_browsing_anonymously_lasts_a_whole_session_max_age(make_app, store_url, clock):
    app = age_app(make_app, store_url)
    web = cookieless_client(app)
    cart = cookie_value(web.get('/set?key=cart&value=tea'))
    clock.advance(23 * 3600)
    logged_in_at = clock.now
    alice = cookie_value(web.get('/login?name=alice', headers=with_cookie(cart)))

    clock.advance(2 * 3600)  # past the day since the cart was made, within the day since the login
    assert read(web, alice) == ['alice', {'cart': 'tea'}]
    assert [entry['created'] for entry in plugin_of(app).sessions_of('alice')] == [int(logged_in_at * 1000) / 1000]
    clock.advance(DAY - 2 * 3600)
    assert read(web, alice) == [None, {}]


def test_a_basic_login_into_an_anonymous_session_restarts_its_session_max_age(make_app, store_url, clock, tmp_path):
    users = write_users(tmp_path / 'users', alice='a-pw')
    app = age_app(make_app, store_url, auth_basic_users_file=str(users))
    web = cookieless_client(app)
    cart = cookie_value(web.get('/set?key=cart&value=tea'))
    clock.advance(23 * 3600)
    alice = cookie_value(web.get('/read', headers=dict(with_cookie(cart), Authorization=basic('alice', 'a-pw'))))

    clock.advance(2 * 3600)
    assert read(web, alice) == ['alice', {'cart': 'tea'}]


def test_a_bearer_login_into_an_anonymous_session_restarts_its_session_max_age(make_app, store_url, clock):
    secret = 'a secret of the app, 32 bytes or more'
    app = age_app(make_app, store_url, auth_jwt_secret=secret)
    web = cookieless_client(app)
    cart = cookie_value(web.get('/set?key=cart&value=tea'))
    clock.advance(23 * 3600)
    token = signed_token(secret, exp=int(time.time()) + 3 * DAY)  # (PyJWT reads exp by the real clock)
    alice = cookie_value(web.get('/read', headers=dict(with_cookie(cart), **bearer(token))))

    clock.advance(2 * 3600)
    user, data = read(web, alice)
    assert user['sub'] == 'alice' and data == {'cart': 'tea'}


def test_a_form_login_into_an_anonymous_session_restarts_its_session_max_age(make_app, store_url, clock):
    app = age_app(make_app, store_url)

    @app.post('/form')
    def form():
        canister.log_in('alice', 'a-pw', {'alice': canister.hash_password('a-pw')})
        return 'ok'
    web = cookieless_client(app)
    cart = cookie_value(web.get('/set?key=cart&value=tea'))
    clock.advance(23 * 3600)
    alice = cookie_value(web.post('/form', headers=with_cookie(cart)))

    clock.advance(2 * 3600)
    assert read(web, alice) == ['alice', {'cart': 'tea'}]


def test_a_change_saved_in_parallel_with_a_login_from_anonymous_keeps_the_logins_creation_time(
        make_app, serve_with_gates, store_url, clock):
    """The login loaded the anonymous session, another request of the browser saved to it, then the login saved:
    its user and creation time are applied to the record as that request left it, the note kept."""
    app = rotation_app(make_app, store_url, session_timeout=0, session_max_age=DAY)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='tea')
    clock.advance(23 * 3600)

    login = held_across(app, origin, browser.sid, '/hold?name=login&user=alice', '/set?key=note&value=x')

    assert login.status == 200 and login.new_sid, login
    clock.advance(2 * 3600)
    browser.sid = login.new_sid
    assert browser.read() == ['alice', {'cart': 'tea', 'note': 'x'}]


def test_a_request_that_saves_after_a_login_moved_its_anonymous_session_keeps_the_logins_creation_time(
        make_app, serve_with_gates, store_url, clock):
    """The request loaded the anonymous session before the login moved it: its change follows to the new id,
    onto the record the login stored, whose creation time stays the login's."""
    app = rotation_app(make_app, store_url, session_timeout=0, session_max_age=DAY)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='tea')
    clock.advance(23 * 3600)

    held = held_across_moves(app, origin, browser, '/hold?name=note&key=note&value=x', '/login?name=alice')

    assert held.status == 200, held
    clock.advance(2 * 3600)
    assert browser.read() == ['alice', {'cart': 'tea', 'note': 'x'}]


def restarted(make_app, app, **config):
    """``app`` started again on the same store (the memory store's object itself) with ``config`` changed."""
    return age_app(make_app, None, store=plugin_of(app).sessions.store, **config)


def test_after_session_max_age_is_lowered_sessions_of_lists_only_the_sessions_a_request_can_load(
        make_app, store_url, clock):
    app = age_app(make_app, store_url)
    web = cookieless_client(app)
    old = cookie_value(web.get('/login?name=alice'))
    clock.advance(3 * 3600)
    new = cookie_value(web.get('/login?name=alice'))

    lowered = restarted(make_app, app, session_max_age=2 * 3600)
    web = cookieless_client(lowered)
    assert (read(web, old), read(web, new)) == ([None, {}], ['alice', {}])
    assert [entry['created'] for entry in plugin_of(lowered).sessions_of('alice')] == [int(clock.now * 1000) / 1000]


def test_after_session_max_age_is_lowered_the_cap_per_user_ends_no_session_for_one_no_request_can_load(
        make_app, store_url, clock, log_dir):
    """The day-old session takes no place under the cap: a login that leaves two sessions loadable ends
    none (no INFO line saying one was ended)."""
    app = age_app(make_app, store_url, session_max_per_user=2)
    web = cookieless_client(app)
    old = cookie_value(web.get('/login?name=alice'))
    clock.advance(2 * 3600)
    kept = cookie_value(web.get('/login?name=alice'))
    clock.advance(3600)

    lowered = restarted(make_app, app, session_max_age=2 * 3600, session_max_per_user=2)
    web = cookieless_client(lowered)
    newest = cookie_value(web.get('/login?name=alice'))

    assert (read(web, kept), read(web, newest), read(web, old)) == (['alice', {}], ['alice', {}], [None, {}])
    assert 'beyond session_max_per_user' not in read_log(log_dir)
    assert len(plugin_of(lowered).sessions_of('alice')) == 2


@pytest.mark.parametrize('kind', ['memory', 'sqlite'])  # (Redis tells the last use by its real clock: not moved)
def test_a_session_logged_into_from_anonymous_and_unused_since_is_in_the_caps_tenth_more(
        make_app, kind, tmp_path, request, clock, log_dir):
    """Under a cap of 10 a login past it ends the least recently used session, and one more among those not
    used since their login: the cart browsed for a while, then logged into and left, is one of them."""
    app = age_app(make_app, make_store_url(kind, tmp_path, request), session_timeout=3600, session_max_age=0,
                  session_max_per_user=10)
    web = cookieless_client(app)
    cart = cookie_value(web.get('/set?key=cart&value=tea'))
    clock.advance(1)
    least_recent = cookie_value(web.get('/login?name=alice'))
    clock.advance(4)
    assert read(web, least_recent) == ['alice', {}]
    clock.advance(5)
    left = cookie_value(web.get('/login?name=alice', headers=with_cookie(cart)))
    used = []
    for _ in range(8):
        clock.advance(1)
        used.append(cookie_value(web.get('/login?name=alice')))
        clock.advance(2)
        assert read(web, used[-1]) == ['alice', {}]
    clock.advance(10)
    newest = cookie_value(web.get('/login?name=alice'))

    assert (read(web, least_recent), read(web, left)) == ([None, {}], [None, {}])
    assert [read(web, sid) for sid in used + [newest]] == [['alice', {}]] * 9
    assert 'ended 2 session(s) of a user beyond session_max_per_user = 10' in read_log(log_dir)
