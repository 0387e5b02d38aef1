"""``session_samesite = Lax`` (the default) and another site's form posting to the app, in a real headless Chromium.

Under Lax the browser sends no session cookie with a POST navigation that another site's page started (a form that
submits itself), but keeps a cookie its answer sets: a new anonymous session made for that request, by a route
without CSRF protection that writes the session (a SAML or OpenID callback popping its state, setting a flash
message), would replace the logged-in cookie, so any site could log a user out with a form.  The app with canister
is ``http://app.site.localhost:<B>``; another site's pages are ``http://localhost:<P>`` (helpers' ``page_app``,
whose /form posts itself).  Requirements are those of tests/test_browser.py.
"""
from __future__ import annotations

from urllib.parse import urlencode

import bottle
import pytest

from helpers import (Server, cookie_value, cookieless_client, me, navigation_app, page_app, read_log, readme_section,
                     served_on_a_site_of_its_own, session_cookies)

import canister
from canister import session

NOT_MADE = 'Session: a form of another site\'s page posted here (Sec-Fetch-Site: cross-site, a POST navigation)'
#: The headers Chromium sends with another site's form posting to the app (without the cookie, under Lax).
FORM_OF_ANOTHER_SITE = {'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document'}


def callback_app() -> bottle.Bottle:
    """``navigation_app`` and POST /acs and /acs-login, without CSRF protection as an identity provider's callback
    is: /acs pops its state and sets a flash message, /acs-login logs ``SAMLResponse`` in."""
    app = navigation_app()

    @app.post('/acs', csrf=False)
    def acs():
        state = session.data.pop('state', None)
        session.data['flash'] = 'no state' if state is None else 'ok'
        return {'user': session.user, 'state': state}

    @app.post('/acs-login', csrf=False)
    def acs_login():
        session.user = bottle.request.forms.get('SAMLResponse')
        return {'user': session.user}

    return app


@pytest.fixture(scope='module')
def pages():
    server = Server(page_app())
    yield server
    server.close()


@pytest.fixture
def lax_app(tmp_path):
    """(the app's origin, its log directory): canister installed with the default session_samesite = Lax."""
    with served_on_a_site_of_its_own(callback_app(), tmp_path / 'logs') as origin:
        yield origin, tmp_path / 'logs'


def form_elsewhere(pages: Server, action: str, **fields: str) -> str:
    """The URL of another site's page whose form posts ``fields`` to ``action`` as soon as it is loaded."""
    return 'http://localhost:%d/form?%s' % (pages.port, urlencode(dict(action=action, **fields)))


def test_a_form_of_another_site_posting_to_a_callback_does_not_log_the_user_out(browser_context, pages, lax_app):
    origin, logs = lax_app
    page = browser_context.new_page()
    page.goto(origin + '/page')
    assert page.evaluate("fetch('/login/victim', {method: 'POST'}).then(r => r.status)") == 200
    held = session_cookies(browser_context)
    assert len(held) == 1

    other = browser_context.new_page()
    for _ in range(2):  # (said once)
        with other.expect_navigation(url=origin + '/acs') as navigation:
            other.goto(form_elsewhere(pages, origin + '/acs', SAMLResponse='x'))
        assert navigation.value.status == 200
        assert navigation.value.json() == {'user': None, 'state': None}  # (answered without the session: none came)
        assert 'set-cookie' not in navigation.value.all_headers()
        assert session_cookies(browser_context) == held
        assert me(page) == {'user': 'victim', 'data': {}}
    assert read_log(logs).count(NOT_MADE) == 1
    quoted = readme_section('## Sessions').split('(`' + NOT_MADE, 1)[1].split(': ...`)', 1)[0]
    assert NOT_MADE + quoted in read_log(logs)  # (the README quotes the line as it is written)


def test_a_login_posted_by_another_site_still_logs_in(browser_context, pages, lax_app):
    # An identity provider's post to a SAML callback is such a navigation: the cookie its answer sets is kept.
    origin, logs = lax_app
    page = browser_context.new_page()
    with page.expect_navigation(url=origin + '/acs-login') as navigation:
        page.goto(form_elsewhere(pages, origin + '/acs-login', SAMLResponse='carol'))
    assert navigation.value.json() == {'user': 'carol'}
    assert len(session_cookies(browser_context)) == 1
    page.goto(origin + '/page')
    assert me(page)['user'] == 'carol'
    assert NOT_MADE not in read_log(logs)


def test_a_link_from_another_site_and_the_apps_own_form_still_make_a_new_session(browser_context, pages, lax_app):
    # Under Lax a link's GET brings the cookie along: one that came without it, the browser holds none.
    origin, logs = lax_app
    page = browser_context.new_page()
    page.goto('http://localhost:%d/' % pages.port)
    page.evaluate('url => { location.href = url; }', origin + '/count')
    page.wait_for_url(origin + '/count')
    assert len(session_cookies(browser_context)) == 1
    page.goto(origin + '/page')
    assert me(page)['data'] == {'count': 1}
    browser_context.clear_cookies()
    page.evaluate("""() => { const form = document.createElement('form'); form.method = 'post';
                             form.action = '/acs'; document.body.append(form); form.submit(); }""")
    page.wait_for_url(origin + '/acs')
    assert len(session_cookies(browser_context)) == 1
    page.goto(origin + '/page')
    assert me(page)['data'] == {'flash': 'no state'}
    assert NOT_MADE not in read_log(logs)


@pytest.mark.parametrize('samesite, made', [('Lax', False), ('None', True)])
def test_under_none_another_sites_form_makes_its_session_as_before(tmp_path, samesite, made):
    # Under None the browser sends the cookie with another site's form: one that came without it, it holds none.
    app = callback_app()
    app.install(canister.Canister(log_path=str(tmp_path / 'logs'), session_samesite=samesite,
                                  session_secure=samesite == 'None'))
    web = cookieless_client(app)
    answer = web.post('/acs', {'SAMLResponse': 'x'}, headers=FORM_OF_ANOTHER_SITE)
    assert answer.json == {'user': None, 'state': None}
    assert (cookie_value(answer) is not None) is made
    assert web.get('/me').json == {'user': None, 'data': {}}
