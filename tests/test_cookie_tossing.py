"""Several session cookies in one Cookie header (cookie tossing), and the ``__Host-``, ``__Secure-`` and
``__Http-`` names.

A sibling subdomain can set ``session_id=<junk>; Domain=.example.com; Path=/account``; browsers send it
before the user's own cookie on /account.  These tests send such a raw Cookie header over real HTTP
(waitress) in both orders.
"""
from __future__ import annotations

import http.client
import json
import time
import urllib.parse

import pytest

from helpers import warning_lines

import canister
from canister import session

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


def send_cookies(origin, method, path, *sids, name='session_id'):
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


def login_sid(origin, name='alice'):
    """The session id a POST /login/<name> sets (logging that user in)."""
    return sid_set(send_cookies(origin, 'POST', '/login/' + name)[1])


@pytest.fixture
def origin(make_app, serve):
    return serve(tossing_app(make_app))


def test_the_first_well_formed_session_cookie_is_the_one_used(origin):
    """A browser sends the most specific cookie first: canister uses it, as canister always has."""
    real = login_sid(origin)
    assert send_cookies(origin, 'GET', '/account', real, TOSSED)[2]['user'] == 'alice'
    status, set_cookies, body = send_cookies(origin, 'GET', '/account', TOSSED, real)
    assert (status, body['user'], set_cookies) == (200, None, [])  # a tossed unknown id first: anonymous there


def test_a_first_cookie_naming_no_session_before_others_of_its_name_is_a_warning_without_the_ids(origin, log_dir):
    real = login_sid(origin)
    assert send_cookies(origin, 'GET', '/account', TOSSED)[2]['user'] is None  # alone: an ended session's cookie
    assert not [line for line in warning_lines(log_dir) if 'cookies named' in line]

    assert send_cookies(origin, 'GET', '/account', TOSSED, 'junk', real)[2]['user'] is None

    [line] = [line for line in warning_lines(log_dir) if 'cookies named' in line]
    assert ('Session: the request carries 3 cookies named session_id, and the first well-formed one names no '
            'session: the request has none, the others are never tried') in line
    assert 'a __Host- name, with session_secure = true, keeps other sites from setting it' in line
    assert TOSSED[:6] in line  # the thread's name, as every line of the request has it
    assert TOSSED not in line and real[:6] not in line


def at_most_once_a_second(seconds):
    """How many warnings written once a second at most the 12 requests sent in ``seconds`` may have brought: one,
    and one more each whole second they took (however the load of other jobs stretched them), and fewer than one
    each in any case."""
    return min(int(seconds) + 1, 11)


def test_the_tossed_cookie_warning_cannot_flood_the_log(origin, log_dir):
    """Any client can send two cookies of the name: the warning is written once a second at most."""
    started = time.monotonic()
    for _ in range(12):
        send_cookies(origin, 'GET', '/account', TOSSED, 'junk', TOSSED)
    lines = [line for line in warning_lines(log_dir) if 'cookies named' in line]
    assert 1 <= len(lines) <= at_most_once_a_second(time.monotonic() - started), lines


def test_the_tossed_cookie_warning_cannot_flood_the_log_with_a_new_count_each_time(origin, log_dir):
    """The count is the client's to choose: requests of 2, 3, ... 13 cookies are one warning, not one each."""
    started = time.monotonic()
    for count in range(2, 14):
        send_cookies(origin, 'GET', '/account', TOSSED, *['junk'] * (count - 1))
    lines = [line for line in warning_lines(log_dir) if 'cookies named' in line]
    assert 1 <= len(lines) <= at_most_once_a_second(time.monotonic() - started), lines
    assert 'the request carries 2 cookies named session_id' in lines[0]
    time.sleep(1.1)
    send_cookies(origin, 'GET', '/account')  # (the next line written brings the count held back)
    assert [line for line in warning_lines(log_dir) if 'a request carries several cookies named session_id, and '
            'the first well-formed one names no session' in line and 'more like it in process' in line]


def test_the_count_of_tossed_cookie_warnings_is_in_the_words_counted_when_another_such_request_brings_it(
        make_app, serve, log_dir):
    """With no INFO lines between (log_level warning), the line that brought the count told that request's number
    of cookies, as if all the others had carried it."""
    origin = serve(tossing_app(make_app, log_level='warning'))
    for count in range(2, 5):
        send_cookies(origin, 'GET', '/account', TOSSED, *['junk'] * (count - 1))
    time.sleep(1.1)
    send_cookies(origin, 'GET', '/account', TOSSED, 'junk')  # (the next such request brings the count held back)
    counted = [line for line in warning_lines(log_dir) if 'more like it in process' in line]
    assert len(counted) == 1 and 'Session: a request carries several cookies named session_id, and the first ' \
        'well-formed one names no session' in counted[0] and '(and 2 more like it' in counted[0], counted


@pytest.mark.parametrize('order', [(0, 1), (1, 0)])
def test_of_two_live_sessions_the_first_the_browser_sends_is_used(origin, order):
    sids = [login_sid(origin, 'alice'), login_sid(origin, 'bob')]
    first, second = (sids[index] for index in order)
    assert send_cookies(origin, 'GET', '/account', first, second)[2]['user'] == ('alice', 'bob')[order[0]]


def test_a_live_session_sent_after_the_users_own_ended_one_is_never_adopted(origin):
    """Login CSRF: a cookie another site of the domain set for the attacker's logged-in session, sent
    after the user's own cookie once that session has ended, must not log the user in as the attacker."""
    attacker = login_sid(origin, 'mallory')
    victim = login_sid(origin, 'alice')
    assert send_cookies(origin, 'POST', '/logout', victim)[0] == 200
    status, set_cookies, body = send_cookies(origin, 'GET', '/account', victim, attacker)
    assert (status, body['user'], set_cookies) == (200, None, [])
    new = sid_set(send_cookies(origin, 'POST', '/put/mine', victim, attacker)[1])
    assert new not in (victim, attacker)
    assert send_cookies(origin, 'GET', '/account', attacker)[2] == {'user': 'mallory', 'value': None}


def test_a_malformed_first_cookie_is_passed_over(origin):
    real = login_sid(origin)
    assert send_cookies(origin, 'GET', '/account', 'junk', real)[2]['user'] == 'alice'


@pytest.mark.parametrize('name', ['__Host-sid', '__Secure-sid', '__host-sid', '__Http-sid', '__HTTP-sid',
                                  '__Host-Http-sid'])
def test_a_prefixed_cookie_name_without_session_secure_is_refused_at_install(make_app, name):
    with pytest.raises(canister.ConfigError, match='needs canister.session_secure = true: browsers drop a cookie'):
        make_app(session_cookie=name)


@pytest.mark.parametrize('name', ['__Http-sid', '__Host-Http-sid'])
def test_an_http_prefixed_cookie_name_with_session_secure_goes_out_secure_and_http_only(make_app, serve, name):
    origin = serve(tossing_app(make_app, session_cookie=name, session_secure=True))
    status, cookies, _ = send_cookies(origin, 'POST', '/login/alice', name=name)
    attributes = [part.strip().lower() for part in cookies[0].split(';')[1:]]
    assert status == 200 and 'secure' in attributes and 'httponly' in attributes
    assert send_cookies(origin, 'GET', '/account', sid_set(cookies), name=name)[2]['user'] == 'alice'


@pytest.mark.parametrize('config', [{'session_secure': True}, {'session_samesite': 'None'}])
def test_a_host_prefixed_cookie_goes_out_with_secure_path_slash_and_no_domain_over_plain_http(make_app, serve, config):
    origin = serve(tossing_app(make_app, session_cookie='__Host-sid', **config))
    status, cookies, _ = send_cookies(origin, 'POST', '/login/alice', name='__Host-sid')
    attributes = [part.strip().lower() for part in cookies[0].split(';')[1:]]
    assert status == 200 and 'secure' in attributes and 'path=/' in attributes
    assert not [part for part in attributes if part.startswith('domain')]
    sid = sid_set(cookies)
    assert send_cookies(origin, 'GET', '/account', sid, name='__Host-sid')[2]['user'] == 'alice'
    expired = send_cookies(origin, 'POST', '/logout', sid, name='__Host-sid')[1]
    assert 'Max-Age=0' in expired[0] and '; Secure' in expired[0] and '; Path=/;' in expired[0]
