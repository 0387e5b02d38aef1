"""``session_samesite = Strict`` and links from other sites, in a real headless Chromium.

Under Strict the browser sends no session cookie with a navigation that another site's page started (a link, a
redirect), but keeps a cookie its answer sets: a new anonymous session made for that request (a page that writes
the session) would replace the logged-in cookie, so any site could log a user out with a link.  The app with
canister is ``http://app.site.localhost:<B>``; another site's pages are ``http://localhost:<P>`` (one plain Bottle
app).  Requirements are those of tests/test_browser.py.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import bottle
import pytest

from helpers import Server, me, navigation_app, page_app, read_log, served_on_a_site_of_its_own, session_cookies

from canister import session

NOT_MADE = 'Session: a navigation from another site\'s page (a link, Sec-Fetch-Site: cross-site) came without'


@pytest.fixture(scope='module')
def pages():
    """Another site's pages: /redirect?to= answers 302 to that URL, /link?to= is a page with a link to it."""
    app = page_app()

    @app.get('/redirect')
    def redirect():
        bottle.response.status = 302
        bottle.response.set_header('Location', bottle.request.query.to)
        return ''

    @app.get('/link')
    def link():
        return '<!doctype html><title>elsewhere</title><a id="go" href="%s">go</a>' % bottle.html_escape(
            bottle.request.query.to)

    server = Server(app)
    yield server
    server.close()


def account_app() -> bottle.Bottle:
    """``navigation_app`` and GET /magic/<name> (a login link, as a mail's)."""
    app = navigation_app()

    @app.get('/magic/<name>')
    def magic(name):
        session.user = name
        return {'user': name}

    return app


@pytest.fixture
def strict_app(tmp_path):
    """(the app's origin, its log directory): canister installed with session_samesite = Strict."""
    with served_on_a_site_of_its_own(account_app(), tmp_path / 'logs', session_samesite='Strict') as origin:
        yield origin, tmp_path / 'logs'


def elsewhere(pages: Server, path: str, to: str) -> str:
    """The URL of ``path`` on another site's page server, sending the browser ``to``."""
    return 'http://localhost:%d%s?%s' % (pages.port, path, urlencode({'to': to}))


def log_in(page: Any, origin: str) -> None:
    page.goto(origin + '/page')
    assert page.evaluate("fetch('/login/victim', {method: 'POST'}).then(r => r.status)") == 200
    assert me(page)['user'] == 'victim'


def test_a_link_from_another_site_to_a_page_that_writes_the_session_does_not_log_the_user_out(
        browser_context, pages, strict_app):
    origin, logs = strict_app
    page = browser_context.new_page()
    log_in(page, origin)
    held = session_cookies(browser_context)

    other = browser_context.new_page()
    other.goto(elsewhere(pages, '/link', origin + '/count'))
    with other.expect_navigation(url=origin + '/count') as navigation:
        other.click('#go')
    assert navigation.value.status == 200
    assert navigation.value.json() == {'user': None, 'count': 1}  # (answered without the session: none came)
    assert 'set-cookie' not in navigation.value.all_headers()

    assert session_cookies(browser_context) == held
    assert me(page) == {'user': 'victim', 'data': {}}
    other.goto(elsewhere(pages, '/redirect', origin + '/count'))  # (a redirect too, said once)
    assert session_cookies(browser_context) == held
    assert me(page)['user'] == 'victim'
    assert read_log(logs).count(NOT_MADE) == 1


def test_a_login_link_from_another_site_still_logs_in(browser_context, pages, strict_app):
    # A magic link in a mail is such a navigation: the cookie its answer sets is kept, and the login stands.
    origin, logs = strict_app
    page = browser_context.new_page()
    page.goto(elsewhere(pages, '/link', origin + '/magic/carol'))
    with page.expect_navigation(url=origin + '/magic/carol'):
        page.click('#go')
    assert len(session_cookies(browser_context)) == 1
    page.goto(origin + '/page')
    assert me(page)['user'] == 'carol'
    assert NOT_MADE not in read_log(logs)


def test_the_apps_own_pages_and_typed_urls_still_make_a_new_session(browser_context, strict_app):
    origin, logs = strict_app
    page = browser_context.new_page()
    page.goto(origin + '/count')  # (as typed: Sec-Fetch-Site none)
    assert len(session_cookies(browser_context)) == 1
    page.goto(origin + '/page')
    assert me(page)['data'] == {'count': 1}
    assert NOT_MADE not in read_log(logs)
