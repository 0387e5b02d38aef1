"""The session cookie under attack, on every store: a client-chosen id (session fixation), ids of every
odd shape, and what each answer's ``Set-Cookie`` carries (error answers and redirects included)."""
from __future__ import annotations

import json
import re
import urllib.parse

import bottle
import pytest

from helpers import compose_child, cookie_value, cookieless_client, read_log, set_cookies, with_cookie
from servers import raw_request

from canister import session

#: Well-formed ids (43 to 128 URL-safe characters) that no session has.
FORGED = ['A' * 43, 'f0rged-by_the-client' * 3 + 'xyz', 'Z' * 128]


def fixation_app(make_app, store_url):
    """/put (writes to the session), /login/<name>, /me ([user, data, sid] without creating a session)."""
    app = make_app(session_store=store_url)

    @app.post('/put')
    def put():
        session.data['planted'] = 'yes'
        return session.sid

    @app.post('/login/<name>')
    def login(name):
        session.user = name
        return session.sid

    @app.get('/me')
    def me():
        return json.dumps([session.user, session.data])

    return app


@pytest.mark.parametrize('forged', FORGED)
@pytest.mark.parametrize('path', ['/put', '/login/alice'])
def test_a_well_formed_id_the_client_chose_is_never_adopted_on_any_store(make_app, store_url, forged, path):
    web = cookieless_client(fixation_app(make_app, store_url))

    response = web.post(path, headers=with_cookie(forged))

    assert response.text != forged and cookie_value(response) == response.text
    assert json.loads(web.get('/me', headers=with_cookie(forged)).text) == [None, {}]
    assert json.loads(web.get('/me', headers=with_cookie(response.text)).text)[0] == (
        'alice' if path.startswith('/login') else None)


def test_a_login_from_an_anonymous_session_rotates_the_id_on_any_store(make_app, store_url):
    web = cookieless_client(fixation_app(make_app, store_url))
    anonymous = web.post('/put').text

    logged_in = web.post('/login/alice', headers=with_cookie(anonymous)).text

    assert logged_in != anonymous and len(logged_in) == 43
    assert json.loads(web.get('/me', headers=with_cookie(logged_in)).text) == ['alice', {'planted': 'yes'}]
    assert json.loads(web.get('/me', headers=with_cookie(anonymous)).text) == [None, {}]
    assert web.post('/put', headers=with_cookie(anonymous)).text not in (anonymous, logged_in)


#: Cookie values that are no id (bytes as sent): past ASCII, quoted, percent-encoded, one short, one long.
ODD = [('é' * 43).encode(), b'\xe9' * 43, b'"' + b'A' * 43 + b'"', b'%41' + b'A' * 42, b'A' * 42, b'A' * 129]


@pytest.mark.parametrize('value', ODD, ids=['utf-8', 'latin-1', 'quoted', 'percent', 'short', 'long'])
def test_a_cookie_value_that_is_no_id_gets_a_fresh_session_over_http_on_any_store(make_app, store_url, serve, value):
    port = urllib.parse.urlsplit(serve(fixation_app(make_app, store_url))).port

    answer = raw_request(port, b'POST /put HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n'
                               b'Cookie: session_id=' + value + b'\r\n\r\n')

    head, _, body = answer.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200 ')
    assert re.search(rb'\r\nSet-Cookie: session_id=([A-Za-z0-9_-]{43}); Path=/; HttpOnly; SameSite=Lax\r\n',
                     head + b'\r\n').group(1) == body


def answering_app(make_app, store_url, answer):
    """/login, /remember and /logout, each then answering as ``answer`` says: 200, a redirect or a 4xx."""
    app = make_app(session_store=store_url, trusted_proxies='127.0.0.1')

    def done():
        if answer == 'redirect':
            bottle.redirect('/me')
        if answer == 'abort':
            bottle.abort(409, 'done, but no')
        return 'done'

    @app.post('/login')
    def login():
        session.user = 'alice'
        return done()

    @app.post('/remember')
    def remember():
        session.user = 'alice'
        session.remember(3600)
        return done()

    @app.post('/logout')
    def logout():
        session.invalidate()
        return done()

    return app


@pytest.mark.parametrize('answer', ['ok', 'redirect', 'abort'])
@pytest.mark.parametrize('path, lifetime', [('/login', None), ('/remember', 'Max-Age=3600'), ('/logout', 'Max-Age=0')])
def test_every_session_cookie_behind_a_trusted_https_proxy_is_secure_http_only_and_same_site_whatever_the_answer(
        make_app, store_url, answer, path, lifetime):
    web = cookieless_client(answering_app(make_app, store_url, answer), REMOTE_ADDR='127.0.0.1')
    proxied = {'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7'}
    sid = cookie_value(web.post('/login', headers=proxied, status='*')) if path == '/logout' else None
    headers = dict(proxied, **with_cookie(sid)) if sid else proxied

    response = web.post(path, headers=headers, status='*')

    assert response.status_int == {'ok': 200, 'redirect': 302, 'abort': 409}[answer]
    [cookie] = set_cookies(response)
    attributes = cookie.split('; ')[1:]
    assert attributes[:3] == ['Path=/', 'HttpOnly', 'SameSite=Lax'] and attributes[-1] == 'Secure'
    assert [part for part in attributes if part.startswith('Max-Age')] == ([lifetime] if lifetime else [])
    assert (cookie.split(';')[0] == 'session_id=') == (path == '/logout')


def failing_logout_app(make_app, store_url):
    """/login (alice, with a cart), /me, and logouts whose handler fails after ``invalidate()`` or
    ``session.user = None``: an exception (Bottle's 500 page) or ``abort(503)``."""
    app = make_app(session_store=store_url, catchall=True)

    @app.post('/login')
    def login():
        session.user = 'alice'
        session.data['cart'] = ['book']
        return 'in'

    @app.post('/logout/raises')
    def logout_raises():
        session.invalidate()
        raise ValueError('the audit log could not be written')

    @app.post('/logout/aborts')
    def logout_aborts():
        session.invalidate()
        bottle.abort(503, 'the audit log is down')

    @app.post('/user-none/raises')
    def user_none_raises():
        session.user = None
        raise ValueError('the audit log could not be written')

    @app.get('/me')
    def me():
        return json.dumps([session.user, session.data])

    return app


@pytest.mark.parametrize('path, status', [('/logout/raises', 500), ('/logout/aborts', 503)])
def test_a_logout_whose_handler_fails_afterwards_still_ends_the_session_and_expires_the_cookie(
        make_app, store_url, path, status):
    web = cookieless_client(failing_logout_app(make_app, store_url))
    sid = cookie_value(web.post('/login'))

    response = web.post(path, headers=with_cookie(sid), status=status, expect_errors=True)

    [cookie] = set_cookies(response)
    assert cookie.startswith('session_id=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0;')
    assert json.loads(web.get('/me', headers=with_cookie(sid)).text) == [None, {}]


def test_a_logout_by_setting_the_user_to_none_whose_handler_fails_stores_nothing_as_any_change(make_app, store_url):
    web = cookieless_client(failing_logout_app(make_app, store_url))
    sid = cookie_value(web.post('/login'))

    response = web.post('/user-none/raises', headers=with_cookie(sid), status=500, expect_errors=True)

    assert set_cookies(response) == []
    assert json.loads(web.get('/me', headers=with_cookie(sid)).text) == ['alice', {'cart': ['book']}]


#: The INFO line of a logout whose handler's exception went on past canister.
ENDED_PAST_CANISTER = ('Session: the session this request ended (session.invalidate()) stays ended; the answer to the '
                       "exception is not canister's")


def test_a_logout_whose_exception_reaches_the_server_with_catchall_off_still_ends_the_session(
        make_app, store_url, log_dir):
    # (the exception skipped canister's start_response, where the ended session is ended in the store: the old
    # cookie still held alice)
    app = failing_logout_app(make_app, store_url)
    app.catchall = False
    web = cookieless_client(app)
    sid = cookie_value(web.post('/login'))

    with pytest.raises(ValueError, match='the audit log could not be written'):
        web.post('/logout/raises', headers=with_cookie(sid))

    assert json.loads(web.get('/me', headers=with_cookie(sid)).text) == [None, {}]
    assert ENDED_PAST_CANISTER in read_log(log_dir)


@pytest.mark.parametrize('catchall', [True, False])
@pytest.mark.parametrize('composition', ['merge', 'mount'])
def test_a_logout_whose_exception_reaches_a_parent_without_canister_still_ends_the_session(
        make_app, log_dir, composition, catchall):
    # (canister on the child alone, whose routes the parent serves: the server, or on bottle 0.12 the mounting
    # parent's error page, answers the exception, and the old cookie still held alice)
    child = failing_logout_app(make_app, 'memory')
    child.catchall = False  # (the parent's says what becomes of the exception: Bottle 0.12 calls a mounted child's
    # WSGI entry, where its own would answer 500 through canister)
    parent = bottle.Bottle()
    parent.catchall = catchall
    prefix = compose_child(parent, child, composition)
    web = cookieless_client(parent)
    sid = cookie_value(web.post(prefix + '/login'))

    if catchall:
        response = web.post(prefix + '/logout/raises', headers=with_cookie(sid), status=500, expect_errors=True)
    else:
        with pytest.raises(ValueError, match='the audit log could not be written'):
            web.post(prefix + '/logout/raises', headers=with_cookie(sid))

    assert json.loads(web.get(prefix + '/me', headers=with_cookie(sid)).text) == [None, {}]
    if catchall and not (composition == 'mount' and bottle.__version__.startswith('0.12')):
        # (the parent's entry serves the route: the 500 is the child's canister's, as served alone)
        [cookie] = set_cookies(response)
        assert cookie.startswith('session_id=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0;')
    else:
        assert ENDED_PAST_CANISTER in read_log(log_dir)
