"""A session cookie a browser will not keep says so in the log: in a real headless Chromium, a page on ``localhost``
calling the app on ``127.0.0.1`` with ``credentials: 'include'`` (two sites: the ``SameSite=Lax`` cookie is neither
kept nor sent back) gets each call anonymous, and the log has one WARNING telling why and what to do; the same
calls with the page and the app under one host name (another port) keep the session and log no such line, and so
does another site's form whose top-level answer sets the cookie (the browser keeps that one)."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from canister import session
from helpers import Server, open_self_submitting_form, page_app, page_fetch, readme_section, warning_lines

LOST = 'Session: the session cookie session_id (SameSite=Lax) goes to a call of a page of another site'


@pytest.fixture(scope='module')
def front_end():
    """The front end's pages (no canister), on a port of their own."""
    server = Server(page_app())
    yield server
    server.close()


def shop_api(make_app, page_origin, **config):
    """An API that lists the page's origin in cors with credentials: POST /login logs alice in, POST /cart puts
    an item in the session's cart, GET /me says who is logged in and what the cart holds."""
    app = make_app(cors=page_origin, cors_credentials=True, **config)

    @app.post('/login', csrf=False)
    def login():
        session.user = 'alice'
        return 'in'

    @app.post('/cart')
    def cart():
        session.data.setdefault('cart', []).append('tea')
        return 'added'

    @app.get('/me')
    def me():
        return '%s %s' % (session.user, session.data.get('cart', []))

    return Server(app)


def login_cart_me(page, api_origin):
    """The page's fetches (credentials: 'include'): a login, a cart POST twice, then who it is; their bodies."""
    calls = [('/login', 'POST'), ('/cart', 'POST'), ('/cart', 'POST'), ('/me', 'GET')]
    answers = [page_fetch(page, api_origin + path, method=method, credentials='include') for path, method in calls]
    return [(answer['status'], answer['body']) for answer in answers]


def lost_cookie_lines(log_dir):
    return [line for line in warning_lines(log_dir) if LOST in line]


def test_a_page_on_localhost_calling_the_app_on_127_0_0_1_logs_once_that_the_browser_keeps_no_session_cookie(
        page, make_app, front_end, log_dir):
    page_origin = 'http://localhost:%d' % front_end.port
    api = shop_api(make_app, page_origin)
    try:
        page.goto(page_origin + '/')
        answers = login_cart_me(page, 'http://127.0.0.1:%d' % api.port)
    finally:
        api.close()
    assert answers == [(200, 'in'), (200, 'added'), (200, 'added'), (200, 'None []')]
    lines = lost_cookie_lines(log_dir)
    assert len(lines) == 1  # (three answers set a new session's cookie: said once for the page's origin)
    assert lines[0].endswith(
        "%s, %s (this app is http://127.0.0.1:%d): the browser neither keeps it nor sends it back with that page's "
        "requests, so each of them comes without a session (a login answers 200, the next call is anonymous). In "
        "development, open the page and the app under one host name (the page at http://127.0.0.1:%d, or the app on "
        "the page's host: another port of one host is the same site); across sites (in production, over HTTPS), set "
        "session_samesite = None with session_secure = true (and session_partitioned = true for browsers that block "
        "third-party cookies) and list %s in cors with cors_credentials = true: CSRF protection lets in the unsafe "
        "requests of the origins cors lists, and refuses those of every other site (said once for this origin)"
        % (LOST, page_origin, api.port, front_end.port, page_origin))


@pytest.mark.parametrize('host', ['127.0.0.1', 'localhost'])
def test_a_page_and_the_app_under_one_host_name_on_two_ports_keep_the_session_and_log_no_such_warning(
        page, make_app, front_end, log_dir, host):
    page_origin = 'http://%s:%d' % (host, front_end.port)
    api = shop_api(make_app, page_origin)
    try:
        page.goto(page_origin + '/')
        answers = login_cart_me(page, 'http://%s:%d' % (host, api.port))
    finally:
        api.close()
    assert answers == [(200, 'in'), (200, 'added'), (200, 'added'), (200, "alice ['tea', 'tea']")]
    assert lost_cookie_lines(log_dir) == []


def test_another_sites_form_whose_answer_sets_the_cookie_logs_no_such_warning(page, make_app, front_end, log_dir):
    page_origin = 'http://localhost:%d' % front_end.port
    api = shop_api(make_app, page_origin)
    try:
        action = api.url('/login')
        response = open_self_submitting_form(page, '%s/form?%s' % (page_origin, urlencode({'action': action})), action)
        page.goto(api.url('/me'))
        me = page.inner_text('body')
    finally:
        api.close()
    assert (response.request.header_value('sec-fetch-site'), response.status, me) == ('cross-site', 200, 'alice []')
    assert lost_cookie_lines(log_dir) == []


def test_the_cors_section_quotes_the_warning():
    assert ('the log says so in a WARNING, once a process for each page origin: `%s, http://localhost:5173 (this app is '
            'http://127.0.0.1:8194): the browser neither keeps it nor sends it back' % LOST) in readme_section('## CORS')
