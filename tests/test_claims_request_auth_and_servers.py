"""Two README sentences for a newcomer from Flask or Starlette: Bottle's ``request.auth`` is the Basic header's pair
as sent, not canister's logged-in user (``session.user``); and canister, being WSGI, is served by a WSGI server,
an ASGI server's call (``uvicorn app:app``) being one a WSGI app does not take."""
from __future__ import annotations

import asyncio

import bottle
import pytest

import canister
from canister import session
from helpers import ROOT, basic, readme_section
from servers import Client

README = (ROOT / 'README.md').read_text(encoding='utf-8')


def who_app(make_app, **config) -> bottle.Bottle:
    app = make_app(**config)
    app.get('/who', callback=lambda: {'auth': bottle.request.auth, 'user': session.user})

    @app.post('/login')
    def login(username: str, password: str):
        return {'ok': canister.log_in(username, password, {'alice': canister.hash_password('wonderland',
                                                                                            iterations=1000)})}

    return app


def test_the_readme_says_that_bottles_request_auth_is_the_basic_headers_pair_and_the_user_is_session_user():
    assert ("Bottle's own `bottle.request.auth` is no login: it is the `(name, password)` pair of a Basic header as "
            'the client sent it (`None` without one), which nothing checks where canister is not configured for '
            'Basic; the user canister logged in, by a header or by `canister.log_in`, is `session.user`.'
            ) in readme_section('## Authentication')


def test_request_auth_is_the_pair_of_a_basic_header_that_nothing_checks_where_basic_is_not_configured(
        make_app, serve):
    answer = Client(serve(who_app(make_app))).request('GET', '/who', headers={'Authorization': basic('alice', 'guess')})
    assert (answer.status, answer.json()) == (200, {'auth': ['alice', 'guess'], 'user': None})


def test_with_basic_configured_a_checked_header_is_both_request_auth_and_session_user(make_app, serve):
    browser = Client(serve(who_app(make_app, auth_basic_username='alice',
                                   auth_basic_password=canister.hash_password('wonderland', iterations=1000))))
    answer = browser.request('GET', '/who', headers={'Authorization': basic('alice', 'wonderland')})
    assert answer.json() == {'auth': ['alice', 'wonderland'], 'user': 'alice'}


def test_a_login_by_canister_log_in_is_session_user_while_request_auth_is_none(make_app, serve):
    browser = Client(serve(who_app(make_app)))
    assert browser.request('POST', '/login', '{"username": "alice", "password": "wonderland"}',
                           {'Content-Type': 'application/json'}).json() == {'ok': True}
    assert browser.request('GET', '/who').json() == {'auth': None, 'user': 'alice'}


def test_the_readme_says_to_serve_the_app_with_a_wsgi_server_and_not_uvicorn():
    assert ("Canister, as Bottle, is WSGI: serve it with a WSGI server, such as these two, not with an ASGI server "
            "(`uvicorn app:app`, the habit of Starlette and FastAPI): that calls the app with ASGI's arguments, which a "
            'WSGI app does not take, so every request fails.') in README.split('\n## A first app\n', 1)[1]


async def _receive() -> dict:
    return {'type': 'http.request', 'body': b'', 'more_body': False}


async def _send(message: dict) -> None:
    pass


SCOPE = {'type': 'http', 'asgi': {'version': '3.0'}, 'http_version': '1.1', 'method': 'GET', 'scheme': 'http',
         'path': '/who', 'raw_path': b'/who', 'query_string': b'', 'headers': [(b'host', b'localhost')],
         'server': ('127.0.0.1', 8000), 'client': ('127.0.0.1', 50000), 'root_path': ''}


@pytest.mark.parametrize('call', [
    lambda app: app(SCOPE),                     # ASGI 2, as uvicorn calls an object whose __call__ is no coroutine
    lambda app: app(SCOPE, _receive, _send),    # ASGI 3
])
def test_an_app_with_canister_called_as_an_asgi_server_calls_it_takes_no_such_call(make_app, serve, call):
    app = who_app(make_app)
    assert not asyncio.iscoroutinefunction(app.__call__)
    with pytest.raises(TypeError):
        call(app)
    assert Client(serve(app)).request('GET', '/who').json() == {'auth': None, 'user': None}  # a WSGI server serves it
