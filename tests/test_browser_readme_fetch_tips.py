"""Two tips of the README for a page's fetch, in a real headless Chromium: a JSON API's fetch names JSON in
``Accept`` to get canister's 400 as JSON ("Limits and error answers"), and in development the page and the API
must be opened under one host name for the session cookie to go along ("CORS")."""
from __future__ import annotations

import json
import re
import textwrap

import pytest

from canister import session
from helpers import Server, page_app, page_fetch, readme_section

PAGE = '<!doctype html><html><body>page</body></html>'


def readme_block(section: str, language: str) -> str:
    """The first ```language block of a README section, taken out of its list item's indentation."""
    return textwrap.dedent(re.findall(r'```%s\n(.*?) *```' % language, readme_section(section), re.S)[0])


@pytest.fixture
def items_api(make_app):
    """The routes of the README's Parameter unpacking block, as written, and a page of the app's own."""
    app = make_app()
    exec(readme_block('## Parameter unpacking', 'python'), {'app': app})
    app.route('/page', callback=lambda: PAGE)
    server = Server(app)
    yield server
    server.close()


def run_fetch_block(page, block):
    """What the page gets running ``block`` (the README's fetch): the answer's status and the parsed body."""
    return page.evaluate('async () => {%s; return [answer.status, error];}' % block)


def test_the_readmes_fetch_naming_json_gets_canisters_400_as_the_json_it_shows(page, items_api):
    block = readme_block('## Limits and error answers', 'js')
    shown = json.loads(re.search(r'// status 400: (\{.*\})', block).group(1))
    page.goto(items_api.url('/page'))
    assert run_fetch_block(page, block) == [400, shown]
    assert shown == {'error': 'Bad Request', 'message': "Bad request: parameter 'name' must be a string, got 5"}


def test_the_same_fetch_without_accept_gets_the_text(page, items_api):
    page.goto(items_api.url('/page'))
    answer = page.evaluate("""async () => {
      const r = await fetch('/items/3', {method: 'PUT', body: JSON.stringify({name: 5}),
                                         headers: {'Content-Type': 'application/json'}});
      return [r.status, r.headers.get('Content-Type'), await r.text()];
    }""")
    assert answer == [400, 'text/plain; charset=utf-8', "Bad request: parameter 'name' must be a string, got 5\n"]
    assert ("Without that `Accept`, the same call gets `text/plain`, `Bad request: parameter 'name' must be a "
            "string, got 5`") in readme_section('## Limits and error answers')


@pytest.fixture(scope='module')
def front_end():
    """The front end's pages (no canister), on a port of their own."""
    server = Server(page_app())
    yield server
    server.close()


def login_api(make_app, page_origin):
    """An API that lists the page's origin in cors with credentials: POST /login logs alice in, GET /me
    says who is logged in."""
    app = make_app(cors=page_origin, cors_credentials=True)

    @app.post('/login')
    def login():
        session.user = 'alice'
        return 'in'

    @app.get('/me')
    def me():
        return str(session.user)

    return Server(app)


def login_then_me(page, api_origin):
    logged = page_fetch(page, api_origin + '/login', method='POST', credentials='include')
    me = page_fetch(page, api_origin + '/me', credentials='include')
    return (logged['status'], logged['body']), (me['status'], me['body'])


@pytest.mark.parametrize('api_host, user', [('localhost', 'alice'), ('127.0.0.1', 'None')])
def test_a_page_on_localhost_keeps_the_apis_session_only_under_the_same_host_name(page, make_app, front_end,
                                                                                   api_host, user):
    page_origin = 'http://localhost:%d' % front_end.port
    api = login_api(make_app, page_origin)
    try:
        page.goto(page_origin + '/')
        logged, me = login_then_me(page, 'http://%s:%d' % (api_host, api.port))
    finally:
        api.close()
    assert (logged, me) == ((200, 'in'), (200, user))


def test_the_cors_section_tells_to_open_both_under_one_host_name():
    assert ('open the front end and the API under one host name, both `localhost` (or both `127.0.0.1`): '
            '`localhost:5173` and `127.0.0.1:8000` are two sites') in readme_section('## CORS')
