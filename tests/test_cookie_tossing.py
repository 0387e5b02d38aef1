"""Several session cookies in one Cookie header (cookie tossing), and the ``__Host-``/``__Secure-`` names.

A sibling subdomain can set ``session_id=<junk>; Domain=.example.com; Path=/account``; browsers send it
before the user's own cookie on /account.  These tests send such a raw Cookie header over real HTTP
(waitress) in both orders.
"""
from __future__ import annotations

import http.client
import json
import re
import urllib.parse

import pytest

import canister
from canister import session
from helpers import read_log

TOSSED = 'T' * 43


def tossing_app(make_app, **config):
    app = make_app(**config)

    @app.post('/login/<name>')
    def login(name):
        session.user = name
        return {'user': name}

    @app.post('/logout')
    def logout():
        session.invalidate()
        return {'user': None}

    @app.post('/put/<value>')
    def put(value):
        session.data['value'] = value
        return {'user': session.user}

    @app.get('/account')
    def account():
        return {'user': session.user, 'value': session.data.get('value')}

    return app


def send(origin, method, path, *sids, name='session_id'):
    """A request whose Cookie header carries ``name=sid`` for each sid, in order: (status, the
    values the response sets the cookie to, body)."""
    parts = urllib.parse.urlsplit(origin)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {'Connection': 'close'}
    if sids:
        headers['Cookie'] = '; '.join('%s=%s' % (name, sid) for sid in sids)
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        body = json.loads(answer.read() or b'null')
        cookies = [header for header in answer.headers.get_all('Set-Cookie') or [] if header.startswith(name + '=')]
        return answer.status, cookies, body
    finally:
        connection.close()


def sid_set(cookies):
    """The id of the one session cookie a response sets."""
    assert len(cookies) == 1, cookies
    return cookies[0].split(';')[0].partition('=')[2]


def logged_in(origin, name='alice'):
    return sid_set(send(origin, 'POST', '/login/' + name)[1])


@pytest.fixture
def origin(make_app, serve):
    return serve(tossing_app(make_app))


@pytest.mark.parametrize('tossed_first', [True, False])
def test_an_unknown_id_beside_the_users_own_leaves_the_user_logged_in(origin, tossed_first):
    real = logged_in(origin)
    cookies = (TOSSED, real) if tossed_first else (real, TOSSED)
    status, set_cookies, body = send(origin, 'GET', '/account', *cookies)
    assert (status, body['user']) == (200, 'alice')
    assert set_cookies == []  # the browser holds the cookie of the session used


@pytest.mark.parametrize('tossed_first', [True, False])
def test_a_change_is_saved_to_the_live_session_and_no_other_cookie_is_set(origin, tossed_first):
    real = logged_in(origin)
    cookies = (TOSSED, real) if tossed_first else (real, TOSSED)
    status, set_cookies, _ = send(origin, 'POST', '/put/kept', *cookies)
    assert (status, set_cookies) == (200, [])
    assert send(origin, 'GET', '/account', real)[2] == {'user': 'alice', 'value': 'kept'}
    assert send(origin, 'GET', '/account', TOSSED)[2] == {'user': None, 'value': None}


@pytest.mark.parametrize('tossed_first', [True, False])
def test_a_login_beside_a_tossed_id_moves_the_live_session_to_a_new_cookie(origin, tossed_first):
    anonymous = sid_set(send(origin, 'POST', '/put/cart')[1])
    cookies = (TOSSED, anonymous) if tossed_first else (anonymous, TOSSED)
    new = sid_set(send(origin, 'POST', '/login/alice', *cookies)[1])
    assert new not in (TOSSED, anonymous)
    assert send(origin, 'GET', '/account', TOSSED, new)[2] == {'user': 'alice', 'value': 'cart'}
    assert send(origin, 'GET', '/account', anonymous)[2] == {'user': None, 'value': None}


@pytest.mark.parametrize('tossed_first', [True, False])
def test_a_logout_beside_a_tossed_id_ends_the_live_session(origin, tossed_first):
    real = logged_in(origin)
    cookies = (TOSSED, real) if tossed_first else (real, TOSSED)
    status, set_cookies, _ = send(origin, 'POST', '/logout', *cookies)
    assert status == 200 and len(set_cookies) == 1 and 'Max-Age=0' in set_cookies[0]
    assert send(origin, 'GET', '/account', real)[2]['user'] is None


@pytest.mark.parametrize('order', [(0, 1), (1, 0)])
def test_of_two_live_sessions_the_first_the_browser_sends_is_used(origin, order):
    sids = [logged_in(origin, 'alice'), logged_in(origin, 'bob')]
    first, second = (sids[index] for index in order)
    assert send(origin, 'GET', '/account', first, second)[2]['user'] == ('alice', 'bob')[order[0]]


def test_when_no_cookie_names_a_live_session_a_change_gets_a_new_id(origin):
    other = 'U' * 43
    new = sid_set(send(origin, 'POST', '/put/x', TOSSED, other)[1])
    assert new not in (TOSSED, other)
    assert send(origin, 'GET', '/account', TOSSED, other, new)[2] == {'user': None, 'value': 'x'}


@pytest.mark.parametrize('before, found', [(9, 'alice'), (10, None)])
def test_only_the_first_10_well_formed_session_cookies_are_looked_up(origin, before, found):
    real = logged_in(origin)
    tossed = ['%s%02d' % ('T' * 41, number) for number in range(before)]
    assert send(origin, 'GET', '/account', *tossed, 'junk', real)[2]['user'] == found


def test_the_log_lines_after_the_live_session_loads_name_it(origin, log_dir):
    real = logged_in(origin)
    send(origin, 'GET', '/account', TOSSED, real)
    log = read_log(log_dir).splitlines()
    assert re.search(r'\[127\.0\.0\.1-%s\] +Response: 200' % re.escape(real[:6]), log[-1]), log[-2:]


def test_a_malformed_first_cookie_is_passed_over_as_before(origin):
    real = logged_in(origin)
    assert send(origin, 'GET', '/account', 'junk', real)[2]['user'] == 'alice'


@pytest.mark.parametrize('name', ['__Host-sid', '__Secure-sid', '__host-sid'])
def test_a_prefixed_cookie_name_without_session_secure_is_refused_at_install(make_app, name):
    with pytest.raises(canister.ConfigError, match='needs canister.session_secure = true: browsers drop a cookie'):
        make_app(session_cookie=name)


@pytest.mark.parametrize('config', [{'session_secure': True}, {'session_samesite': 'None'}])
def test_a_host_prefixed_cookie_goes_out_with_secure_path_slash_and_no_domain_over_plain_http(make_app, serve, config):
    origin = serve(tossing_app(make_app, session_cookie='__Host-sid', **config))
    status, cookies, _ = send(origin, 'POST', '/login/alice', name='__Host-sid')
    attributes = [part.strip().lower() for part in cookies[0].split(';')[1:]]
    assert status == 200 and 'secure' in attributes and 'path=/' in attributes
    assert not [part for part in attributes if part.startswith('domain')]
    sid = sid_set(cookies)
    assert send(origin, 'GET', '/account', TOSSED, sid, name='__Host-sid')[2]['user'] == 'alice'
    expired = send(origin, 'POST', '/logout', sid, name='__Host-sid')[1]
    assert 'Max-Age=0' in expired[0] and '; Secure' in expired[0] and '; Path=/;' in expired[0]
