"""The README's login form and its 401 handler in an app that also has a Basic admin: the browser still gets
Basic's challenge on the admin's route, a form user is sent to the form by a 303 that carries no challenge, and
the Basic user logs in on every route but only the admin passes the admin's guard."""
from __future__ import annotations

import re
import urllib.parse

import bottle

import canister
from canister import session
from helpers import basic, readme_section
from servers import Client
from test_readme import readme_block_of_section

PAGE = {'Accept': 'text/html,application/xhtml+xml,*/*;q=0.8', 'Sec-Fetch-Mode': 'navigate'}
CHALLENGE = 'Basic realm="canister", charset="UTF-8"'


def app_with_basic_admin(make_app):
    """The README's login form, its 401 handler and Basic's admin route, as written, with the admin configured
    for Basic, beside a page that needs any login."""
    app = make_app(config={'auth_basic_username': 'admin', 'auth_basic_password': canister.hash_password('root-pw')})
    namespace = {'app': app, 'bottle': bottle, 'canister': canister, 'session': session}
    for index in (1, 2):  # (block 0 of the section is the guards')
        exec(compile(readme_block_of_section('Authentication', index), 'README.md', 'exec'), namespace)
    exec(compile(re.findall(r'```python\n(.*?)```', readme_section('### Basic'), re.S)[0], 'README.md', 'exec'), namespace)

    @app.get('/account')
    @canister.require_user
    def account():
        return 'Hello %s' % session.user

    return app


def test_a_browser_opening_basics_route_gets_its_401_and_challenge_not_the_form(make_app, serve):
    page = Client(serve(app_with_basic_admin(make_app))).get('/admin', headers=PAGE)
    assert (page.status, page.headers.get_all('WWW-Authenticate'), page.headers['Location']) == (401, [CHALLENGE], None)


def test_the_admin_answering_the_browsers_dialog_opens_basics_route(make_app, serve):
    browser = Client(serve(app_with_basic_admin(make_app)))
    page = browser.get('/admin', headers=dict(PAGE, Authorization=basic('admin', 'root-pw')))
    assert (page.status, page.text) == (200, 'Hello admin')


def test_a_wrong_password_in_the_dialog_is_asked_again_not_sent_to_the_form(make_app, serve):
    browser = Client(serve(app_with_basic_admin(make_app)))
    for path in ('/admin', '/account'):
        page = browser.get(path, headers=dict(PAGE, Authorization=basic('admin', 'wrong')))
        assert (page.status, page.headers.get_all('WWW-Authenticate')) == (401, [CHALLENGE])


def test_a_form_users_page_is_sent_to_the_form_by_a_303_without_a_challenge(make_app, serve):
    page = Client(serve(app_with_basic_admin(make_app))).get('/account', headers=PAGE)
    assert (page.status, page.headers['Location'], page.headers.get_all('WWW-Authenticate')) == (303, '/login', None)


def test_a_form_user_logs_in_by_the_form_and_is_refused_the_admins_route(make_app, serve):
    browser = Client(serve(app_with_basic_admin(make_app)))
    login = browser.request('POST', '/login', urllib.parse.urlencode({'username': 'alice', 'password': 'my-secret'}),
                            dict(PAGE, **{'Content-Type': 'application/x-www-form-urlencoded'}))
    assert login.status == 200
    assert browser.get('/account', headers=PAGE).text == 'Hello alice'
    refused = browser.get('/admin', headers=PAGE)
    assert (refused.status, refused.text) == (403, 'admins only\n')


def test_the_basic_admin_passes_require_user_on_another_route(make_app, serve):
    page = Client(serve(app_with_basic_admin(make_app))).get('/account', headers={'Authorization': basic('admin', 'root-pw')})
    assert (page.status, page.text) == (200, 'Hello admin')


def test_the_basic_section_says_its_users_log_in_on_every_route():
    assert 'The configured users log in by Basic on every route, not on one' in readme_section('### Basic')


def redirecting_app(make_app, own_challenge=None):
    """An app with Basic whose 401 handler sends every request to /login (and adds ``own_challenge``, if any)."""
    app = make_app(config={'auth_basic_username': 'admin', 'auth_basic_password': canister.hash_password('root-pw')})

    @app.get('/account')
    @canister.require_user
    def account():
        return 'Hello %s' % session.user

    @app.error(401)
    def to_the_form(error):
        bottle.response.status = 303
        bottle.response.set_header('Location', '/login')
        if own_challenge:
            bottle.response.add_header('WWW-Authenticate', own_challenge)
        return ''

    return app


def test_an_error_handler_that_turns_canisters_401_into_a_redirect_sends_no_challenge(make_app, serve):
    for headers in (PAGE, {'Authorization': basic('admin', 'wrong')}):
        page = Client(serve(redirecting_app(make_app))).get('/account', headers=headers)
        assert (page.status, page.headers.get_all('WWW-Authenticate')) == (303, None)


def test_a_challenge_the_error_handler_adds_to_its_redirect_stays(make_app, serve):
    page = Client(serve(redirecting_app(make_app, 'Session realm="shop"'))).get('/account', headers=PAGE)
    assert (page.status, page.headers.get_all('WWW-Authenticate')) == (303, ['Session realm="shop"'])
