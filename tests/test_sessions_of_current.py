"""``plugin.sessions_of(user)`` lists the session of the request calling it as ``current`` even
before that session is stored: in the request that logs the user in, or that gives it a new id."""
from __future__ import annotations

import json

from canister import session
from helpers import basic, cookie_value, cookieless_client, with_cookie, write_users
from session_kit import plugin_of


def devices_app(make_app, **config):
    app = make_app(**config)
    plugin = plugin_of(app)

    @app.get('/login/<name>')
    def login(name):
        session.user = name
        return json.dumps(plugin.sessions_of(name))

    @app.get('/regenerate')
    def regenerate():
        session.regenerate()
        return json.dumps(plugin.sessions_of(session.user))

    @app.get('/devices')
    def devices():
        return json.dumps(plugin.sessions_of(session.user))

    @app.get('/cart')
    def cart():
        session.data['cart'] = 'book'
        return 'ok'

    return app


def currents(response):
    return [entry['current'] for entry in json.loads(response.text)]


def test_the_session_logging_in_is_listed_as_current_in_its_own_request(make_app, store_url):
    web = cookieless_client(devices_app(make_app, session_store=store_url))
    web.get('/login/alice')  # alice on another device
    here = web.get('/login/alice')  # alice logs in here, from no session
    assert sorted(currents(here)) == [False, True]
    assert sorted(currents(web.get('/devices', headers=with_cookie(cookie_value(here))))) == [False, True]


def test_a_session_logging_in_from_anonymous_is_listed_once_and_current(make_app, store_url):
    web = cookieless_client(devices_app(make_app, session_store=store_url))
    anonymous = cookie_value(web.get('/cart'))
    here = web.get('/login/alice', headers=with_cookie(anonymous))
    assert currents(here) == [True]
    created = json.loads(here.text)[0]['created']
    later = json.loads(web.get('/devices', headers=with_cookie(cookie_value(here))).text)
    assert [(entry['created'], entry['current']) for entry in later] == [(created, True)]  # the same session


def test_a_regenerated_session_is_listed_once_and_current_in_its_own_request(make_app, store_url):
    web = cookieless_client(devices_app(make_app, session_store=store_url))
    alice = cookie_value(web.get('/login/alice'))
    here = web.get('/regenerate', headers=with_cookie(alice))
    assert currents(here) == [True]  # not also the id it leaves
    assert currents(web.get('/devices', headers=with_cookie(cookie_value(here)))) == [True]


def test_a_login_for_this_request_only_lists_no_session(make_app, tmp_path):
    users = write_users(tmp_path / 'users.txt', alice='secret')
    web = cookieless_client(devices_app(make_app, auth_basic_users_file=str(users)))
    response = web.get('/devices', headers={'Authorization': basic('alice', 'secret')})
    assert json.loads(response.text) == [] and cookie_value(response) is None  # Basic on a request without a session


def test_a_login_without_a_session_lists_its_creation_in_milliseconds_as_it_is_stored(make_app, store_url, clock):
    clock.now = int(clock.now) + 0.123456  # (a time with microseconds; the store keeps milliseconds)
    web = cookieless_client(devices_app(make_app, session_store=store_url))
    here = web.get('/login/alice')
    [created] = [entry['created'] for entry in json.loads(here.text)]
    later = json.loads(web.get('/devices', headers=with_cookie(cookie_value(here))).text)
    assert created == int(clock.now * 1000) / 1000
    assert [(entry['created'], entry['current']) for entry in later] == [(created, True)]
