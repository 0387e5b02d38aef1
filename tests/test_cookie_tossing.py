"""Several session cookies in one Cookie header (cookie tossing), and the ``__Host-``, ``__Secure-`` and
``__Http-`` names.

A sibling subdomain can set ``session_id=<junk>; Domain=.example.com; Path=/account``; browsers send it
before the user's own cookie on /account.  These tests send such a raw Cookie header over real HTTP
(waitress) in both orders.
"""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse

import pytest

from helpers import ROOT, read_log, readme_section, warning_lines

import canister
from canister import session

TOSSED = 'T' * 43

#: The README's words on the WARNING and the count of those held back (*Several cookies of one name*).
SEVERAL = readme_section('## Sessions').split('*Several cookies of one name.*', 1)[1].split('\n', 1)[0]


def thread_of(line):
    """The ``[...]`` of a log line: the thread's name."""
    return re.search(r' \[([^\]]*)\] ', line).group(1)


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
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
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
    assert ("Its text shows no id, and its `[...]` is the request's, as on the request's other lines: the first 6 "
            "characters of that first cookie, which names no session, never of the others.") in SEVERAL
    assert thread_of(line) == '127.0.0.1-' + TOSSED[:6]  # the thread's name, as every line of the request has it
    assert line.count(TOSSED[:6]) == 1 and real[:6] not in line
    requests = [other for other in read_log(log_dir).splitlines() if ' GET ' in other and other.endswith('/account')]
    assert thread_of(requests[-1]) == thread_of(line)


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


def test_the_tossed_cookie_warning_cannot_flood_the_log_with_a_new_count_each_time(origin, log_dir, clock):
    """The count is the client's to choose: requests of 2, 3, ... 13 cookies are one warning, not one each."""
    for count in range(2, 14):  # (within one second of canister's clock, stopped)
        send_cookies(origin, 'GET', '/account', TOSSED, *['junk'] * (count - 1))
    lines = [line for line in warning_lines(log_dir) if 'cookies named' in line]
    assert len(lines) == 1, lines
    assert 'the request carries 2 cookies named session_id' in lines[0]
    clock.advance(1.1)  # (canister's clock, stopped: the 12 within one second however loaded the machine, then past it)
    real = login_sid(origin)  # (the next line written, its request line, brings the count held back)
    assert ('The count is written in a line of its own, just before the first line the log writes once that second '
            "is over (any line: the next request's request line, say)") in SEVERAL
    assert "whose `[...]` is the thread's own name (`[MainThread]`, or the server's worker thread)" in SEVERAL
    lines = read_log(log_dir).splitlines()
    [at] = [index for index, line in enumerate(lines) if 'more like it in process' in line]
    assert 'Session: a request carries several cookies named session_id, and the first well-formed one names no ' \
        'session' in lines[at] and '(and 11 more like it in process' in lines[at]
    assert 'POST http://127.0.0.1' in lines[at + 1] and '/login/alice' in lines[at + 1]  # the login's request line
    assert thread_of(lines[at + 1]) == '127.0.0.1-...'
    assert thread_of(lines[at]).startswith('waitress-')  # no request's: no id, neither the tossed nor the login's
    assert TOSSED[:6] not in lines[at] and real[:6] not in lines[at]


def test_the_count_of_tossed_cookie_warnings_is_in_the_words_counted_when_another_such_request_brings_it(
        make_app, serve, log_dir, clock):
    """With no INFO lines between (log_level warning), the line that brought the count told that request's number
    of cookies, as if all the others had carried it."""
    origin = serve(tossing_app(make_app, log_level='warning'))
    for count in range(2, 5):
        send_cookies(origin, 'GET', '/account', TOSSED, *['junk'] * (count - 1))
    clock.advance(1.1)  # (canister's clock, stopped: the 3 within one second however loaded the machine)
    send_cookies(origin, 'GET', '/account', TOSSED, 'junk')  # (the next such request brings the count held back)
    counted = [line for line in warning_lines(log_dir) if 'more like it in process' in line]
    assert len(counted) == 1 and 'Session: a request carries several cookies named session_id, and the first ' \
        'well-formed one names no session' in counted[0] and '(and 2 more like it' in counted[0], counted
    assert ("When the line that brings it is such a request's own WARNING (under `log_level = warning`, where no "
            "request line comes first), that WARNING is the count line, in that request's `[...]`.") in SEVERAL
    assert thread_of(counted[0]) == '127.0.0.1-' + TOSSED[:6]
    assert len([line for line in warning_lines(log_dir) if 'cookies named' in line]) == 2  # (its own is the count)


def test_the_count_of_tossed_cookie_warnings_still_held_back_is_written_at_the_processs_exit():
    assert "or at the uninstall or the process's exit" in SEVERAL
    script = '''if True:
        import time, bottle, webtest, canister
        from canister import session
        stopped = time.time()
        canister._now = lambda: stopped  # (the three requests within one second, however loaded the machine)
        app = bottle.Bottle()
        app.install(canister.Canister(log_path='stderr', log_level='warning'))
        app.get('/account', callback=lambda: {'user': session.user})
        for _ in range(3):
            webtest.TestApp(app, extra_environ={'REMOTE_ADDR': '127.0.0.1'}).get(
                '/account', headers={'Cookie': 'session_id=%s; session_id=junk'})
    ''' % TOSSED
    done = subprocess.run([sys.executable, '-c', script], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if 'cookies named' in line]
    assert len(lines) == 2, done.stderr
    assert thread_of(lines[0]) == '127.0.0.1-' + TOSSED[:6]
    assert '(and 2 more like it in process' in lines[1] and thread_of(lines[1]) == 'MainThread'


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
