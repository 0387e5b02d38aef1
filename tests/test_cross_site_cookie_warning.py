"""The WARNING of a session cookie that a page of another site's browser will not keep (README "CORS"): the line
the README quotes, how canister tells another site's call without ``Sec-Fetch-Site``, and its bounds."""
from __future__ import annotations

import re

import pytest

from canister import session
from helpers import client, readme_section, warning_lines

LOST = 'goes to a call of a page of another site'


def login_app(make_app, **config):
    app = make_app(cors='http://localhost:5173', cors_credentials=True, **config)

    @app.post('/login', csrf=False)  # (any origin's: CSRF protection is not what is tested)
    def login():
        session.user = 'alice'
        return 'in'

    return app


def log_in(app, origin, app_origin='http://127.0.0.1:8194', **headers):
    """A login posted from a page of ``origin`` to the app at ``app_origin``, without cookies (as the browser sends
    it)."""
    scheme, _, host = app_origin.partition('://')
    client(app, HTTP_HOST=host, **{'wsgi.url_scheme': scheme}).post('/login', headers=dict(headers, Origin=origin))


def lost(log_dir):
    return [line for line in warning_lines(log_dir) if LOST in line]


def test_the_line_the_readme_quotes_is_the_one_logged(make_app, log_dir):
    log_in(login_app(make_app), 'http://localhost:5173', **{'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors'})
    [line] = lost(log_dir)
    quoted = re.search(r'once a process for each page origin: `(.*?)`', readme_section('## CORS')).group(1)
    for part in quoted.split(' (...) '):
        assert part in line


@pytest.mark.parametrize('origin, app_origin, told', [
    ('http://localhost:5173', 'http://127.0.0.1:8194', True),
    ('http://127.0.0.1:5173', 'http://127.0.0.1:8194', False),
    ('https://app.example.com', 'https://api.example.com', False),
    ('https://app.example.com', 'https://api.example.net', True),
    ('http://app.example.com', 'https://app.example.com', True),
])
def test_without_sec_fetch_site_the_sites_of_the_origin_and_the_app_decide(make_app, log_dir, origin, app_origin,
                                                                           told):
    log_in(login_app(make_app), origin, app_origin)
    assert len(lost(log_dir)) == told


def test_the_browser_calling_the_request_same_site_is_believed(make_app, log_dir):
    log_in(login_app(make_app), 'http://localhost:5173', **{'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'cors'})
    assert lost(log_dir) == []


def test_a_samesite_none_cookie_is_not_told(make_app, log_dir):
    log_in(login_app(make_app, session_samesite='None', session_secure=True), 'http://localhost:5173')
    assert lost(log_dir) == []


def test_each_origin_is_told_once_and_only_the_first_64(make_app, log_dir):
    app = login_app(make_app)
    for port in range(1000, 1070):
        log_in(app, 'http://localhost:%d' % port)
        log_in(app, 'http://localhost:%d' % port)
    assert len(lost(log_dir)) == 64


@pytest.mark.parametrize('page, told', [('https://app.example.com', False), ('https://app.example.net', True)])
def test_behind_a_trusted_proxy_the_app_is_where_the_proxy_says_the_client_asked(make_app, log_dir, page, told):
    """The proxy reaches the app at 127.0.0.1:8194 over HTTP, for a client that asked for https://api.example.com:
    a page of example.com is of the app's own site, one of example.net is not."""
    app = login_app(make_app, trusted_proxies='127.0.0.1')
    log_in(app, page, 'http://127.0.0.1:8194', **{'X-Forwarded-Host': 'api.example.com', 'X-Forwarded-Proto': 'https',
                                                 'X-Forwarded-For': '203.0.113.9'})
    assert len(lost(log_dir)) == told


def test_without_a_host_header_the_app_is_at_its_server_name(make_app, log_dir):
    """An HTTP/1.0 client sends no Host: the app is at the server's name and port, as CSRF protection takes it, so
    a page of another port of localhost is of its site."""
    app = login_app(make_app)
    web = client(app, HTTP_HOST='', SERVER_NAME='localhost', SERVER_PORT='8194')
    del web.extra_environ['HTTP_HOST']
    web.post('/login', headers={'Origin': 'http://localhost:5173'})
    assert lost(log_dir) == []


@pytest.mark.parametrize('origin', ['x', '', 'http://%', 'null', 'ftp://files.example.net', 'https://*.example.net'])
def test_an_origin_no_page_of_a_site_sends_is_not_told(make_app, log_dir, origin):
    """Junk any client can send, and ``null`` (a page opened from a file, a sandboxed frame: no site to open the app
    under, nor to list in cors), without ``Sec-Fetch-Site`` or with it."""
    app = login_app(make_app)
    log_in(app, origin)
    log_in(app, origin, **{'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors'})
    assert lost(log_dir) == []


def test_junk_origins_do_not_use_up_the_64_origins_told(make_app, log_dir):
    app = login_app(make_app)
    for number in range(64):
        log_in(app, 'x%d' % number)
    log_in(app, 'http://localhost:5173')
    [line] = lost(log_dir)
    assert 'http://localhost:5173' in line


def test_the_readme_says_which_origins_are_told():
    assert ('Only an `Origin` a page of a site sends, `http(s)://host[:port]`, is told: not `null` (a page opened from '
            'a file, a sandboxed frame), nor junk (`x`, an empty one); and the first 64 such origins, no more (any '
            'client can send an `Origin`).') in readme_section('## CORS')
