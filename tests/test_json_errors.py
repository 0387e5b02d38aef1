"""Bottle's own errors (the router's 404 and 405, ``abort()``, a raised ``HTTPError``, the 500 of an
exception) answered as canister answers its own: JSON to a client whose ``Accept`` asks for it,
Bottle's HTML page, unchanged, to any other (but for a result Bottle cannot send: test_unsendable_result_page.py).
An app's ``@app.error`` handler still comes first."""
from __future__ import annotations

import json
import pathlib
from typing import Any, Callable, Dict, Iterator, Optional

import bottle
import pytest

from helpers import client, vary_tokens

import canister

JSON = {'Accept': 'application/json'}
BOTTLE_0_12 = bottle.__version__.startswith('0.12')


def add_error_routes(app: bottle.Bottle) -> bottle.Bottle:
    @app.get('/item')
    def item() -> str:
        bottle.abort(404, 'no such item')

    @app.get('/private')
    def private() -> str:
        raise bottle.HTTPError(401, 'log in first', **{'WWW-Authenticate': 'Basic realm="shop"'})

    @app.get('/crash')
    def crash() -> str:
        raise RuntimeError('the database password is hunter2')

    @app.get('/fine')
    def fine() -> str:
        return 'fine'

    return app


@pytest.fixture
def app(make_app: Callable[..., bottle.Bottle]) -> bottle.Bottle:
    """An app with canister whose 500s Bottle answers (catchall on)."""
    return add_error_routes(make_app(catchall=True))


@pytest.fixture
def debug_mode() -> Iterator[None]:
    bottle.debug(True)
    yield
    bottle.debug(False)


def ask(app: bottle.Bottle, path: str, status: int, headers: Optional[Dict[str, str]] = None,
        method: str = 'GET') -> Any:
    """The app's answer to a request, which must have that status (a 500 writes to wsgi.errors, which
    WebTest counts as a failure unless told)."""
    response = client(app).request(path, method=method, headers=headers or {}, expect_errors=True)
    assert response.status_int == status, response
    return response


def json_error(response: Any) -> Any:
    assert response.content_type == 'application/json'
    return json.loads(response.body)


def test_a_path_without_a_route_answers_404_as_json(app: bottle.Bottle) -> None:
    response = ask(app, '/nowhere', 404, JSON)
    assert json_error(response) == {'error': 'Not Found', 'message': "Not found: '/nowhere'"}


def test_a_method_the_route_does_not_take_answers_405_as_json_with_its_allow_header(app: bottle.Bottle) -> None:
    response = ask(app, '/fine', 405, JSON, 'DELETE')
    assert json_error(response) == {'error': 'Method Not Allowed', 'message': 'Method not allowed.'}
    assert 'GET' in response.headers['Allow']


def test_abort_in_a_handler_answers_json_with_its_message(app: bottle.Bottle) -> None:
    response = ask(app, '/item', 404, JSON)
    assert json_error(response) == {'error': 'Not Found', 'message': 'no such item'}
    assert int(response.headers['Content-Length']) == len(response.body)


def test_a_raised_http_error_keeps_the_headers_it_carries(app: bottle.Bottle) -> None:
    response = ask(app, '/private', 401, JSON)
    assert json_error(response) == {'error': 'Unauthorized', 'message': 'log in first'}
    assert response.headers['WWW-Authenticate'] == 'Basic realm="shop"'


def test_the_500_of_an_exception_answers_json_without_the_exception(app: bottle.Bottle) -> None:
    response = ask(app, '/crash', 500, JSON)
    assert json_error(response) == {'error': 'Internal Server Error', 'message': 'Internal Server Error'}
    assert b'hunter2' not in response.body and b'Traceback' not in response.body
    assert b'RuntimeError' not in response.body


def test_in_debug_mode_the_500_of_an_exception_keeps_bottles_page_with_its_traceback(
        app: bottle.Bottle, debug_mode: None) -> None:
    response = ask(app, '/crash', 500, JSON)
    assert response.content_type == 'text/html'
    assert b'hunter2' in response.body and b'Traceback' in response.body


def test_in_debug_mode_an_error_without_an_exception_still_answers_json(
        app: bottle.Bottle, debug_mode: None) -> None:
    response = ask(app, '/item', 404, JSON)
    assert json_error(response) == {'error': 'Not Found', 'message': 'no such item'}


def test_the_apps_own_error_handler_comes_first(app: bottle.Bottle) -> None:
    @app.error(404)
    def not_found(error: bottle.HTTPError) -> str:
        return 'our own page'

    assert ask(app, '/item', 404, JSON).body == b'our own page'
    assert ask(app, '/nowhere', 404, JSON).body == b'our own page'
    assert json_error(ask(app, '/private', 401, JSON))['message'] == 'log in first'


def error_app(make_app: Callable[..., bottle.Bottle], body: Any, autojson: bool = True) -> bottle.Bottle:
    """An app whose GET /bad raises a 409 ``HTTPError`` with ``body`` (without Bottle's JSON plugin, which
    turns a dict body into JSON text, if not ``autojson``)."""
    app = make_app()
    if not autojson:
        app.uninstall(bottle.JSONPlugin)

    @app.get('/bad')
    def bad() -> str:
        raise bottle.HTTPError(409, body)

    return app


@pytest.mark.parametrize('autojson', [True, False])
@pytest.mark.parametrize('body', [{'title': 'required', 'tags': ['too many']}, ['title', 'tags']])
def test_an_http_error_with_a_dict_or_list_body_answers_json_with_it_as_the_message(
        make_app: Callable[..., bottle.Bottle], body: Any, autojson: bool) -> None:
    response = ask(error_app(make_app, body, autojson), '/bad', 409, JSON)
    assert json_error(response) == {'error': 'Conflict', 'message': body}


def test_an_http_error_with_a_bytes_body_answers_json_with_it_decoded(make_app: Callable[..., bottle.Bottle]) -> None:
    response = ask(error_app(make_app, 'caf\u00e9 '.encode() + b'\xff'), '/bad', 409, JSON)
    assert json_error(response)['message'] == 'caf\u00e9 \ufffd'


@pytest.mark.parametrize('body,message', [([{1, 2}], '[{1, 2}]'), ([float('nan')], '[nan]'),
                                          ({'x': float('nan')}, "{'x': nan}"), (42, '42')])
def test_an_http_error_with_a_body_json_cannot_hold_answers_its_text(
        make_app: Callable[..., bottle.Bottle], body: Any, message: str) -> None:
    response = ask(error_app(make_app, body), '/bad', 409, JSON)
    assert json_error(response) == {'error': 'Conflict', 'message': message}


@pytest.mark.parametrize('accept', [None, 'text/html', '*/*', 'application/json;q=0', 'application/json; q=0.0'])
@pytest.mark.parametrize('method,path,status', [('GET', '/nowhere', 404), ('DELETE', '/fine', 405),
                                                ('GET', '/item', 404), ('GET', '/private', 401),
                                                ('GET', '/crash', 500)])
def test_a_client_that_does_not_ask_for_json_gets_bottles_page_unchanged(
        app: bottle.Bottle, accept: Any, method: str, path: str, status: int) -> None:
    without = add_error_routes(bottle.Bottle())
    without.catchall = True
    headers = {'Accept': accept} if accept else {}
    plain = ask(without, path, status, headers, method)
    response = ask(app, path, status, headers, method)
    assert response.content_type == plain.content_type == 'text/html'
    assert response.body == plain.body
    assert b'<h1>Error: ' in response.body


def test_uninstalling_canister_puts_bottles_page_back(app: bottle.Bottle) -> None:
    app.uninstall(canister.Canister)
    assert 'default_error_handler' not in app.__dict__
    assert b'<h1>Error: 404' in ask(app, '/item', 404, JSON).body


def test_uninstalling_canister_puts_back_an_error_handler_set_on_the_app_before(
        app: bottle.Bottle, log_dir: pathlib.Path) -> None:
    def earlier_page(error: bottle.HTTPError) -> str:  # what an earlier plugin may have put on the app
        return 'earlier page'

    app.uninstall(canister.Canister)
    app.__dict__['default_error_handler'] = earlier_page
    plugin = canister.Canister(log_path=str(log_dir))
    app.install(plugin)
    assert json_error(ask(app, '/item', 404, JSON))['message'] == 'no such item'
    assert ask(app, '/item', 404).body == b'earlier page'  # the page it replaced, for any other client
    app.uninstall(plugin)
    assert app.__dict__['default_error_handler'] is earlier_page


# -- composed apps ------------------------------------------------------------------------------------

@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_a_child_with_canister_under_a_parent_with_canister_answers_json(
        make_app: Callable[..., bottle.Bottle], composition: str) -> None:
    parent = make_app(catchall=True)
    child = add_error_routes(make_app(catchall=True))
    prefix = '/child/' if composition == 'mount' else '/'
    if composition == 'mount':
        parent.mount(prefix, child)
    else:
        parent.merge(child)
    assert json_error(ask(parent, prefix + 'item', 404, JSON))['message'] == 'no such item'
    assert json_error(ask(parent, prefix + 'crash', 500, JSON))['message'] == 'Internal Server Error'
    assert json_error(ask(parent, prefix + 'nowhere', 404, JSON))['error'] == 'Not Found'
    assert b'<h1>Error: 404' in ask(parent, prefix + 'item', 404).body


def test_a_merged_child_without_canister_answers_json_from_the_parents_canister(
        make_app: Callable[..., bottle.Bottle]) -> None:
    parent = make_app(catchall=True)
    parent.merge(add_error_routes(bottle.Bottle()))
    response = ask(parent, '/private', 401, JSON)
    assert json_error(response)['message'] == 'log in first'
    assert response.headers['WWW-Authenticate'] == 'Basic realm="shop"'


def test_the_errors_of_a_mounted_childs_routes_are_json_from_the_canister_of_either_app(
        make_app: Callable[..., bottle.Bottle]) -> None:
    # bottle 0.13 serves a mounted app's routes through the parent, which renders their errors, but for a child
    # with canister, which renders its routes' errors itself; bottle 0.12 calls the child's WSGI callable, which
    # renders its own
    with_parent = make_app(catchall=True)
    with_parent.mount('/child/', add_error_routes(bottle.Bottle()))
    with_child = bottle.Bottle()
    with_child.mount('/child/', add_error_routes(make_app(catchall=True)))
    from_parent = ask(with_parent, '/child/item', 404, JSON)
    from_child = ask(with_child, '/child/item', 404, JSON)
    if BOTTLE_0_12:
        assert from_parent.content_type == 'text/html'
    else:
        assert json_error(from_parent)['message'] == 'no such item'
    assert json_error(from_child)['message'] == 'no such item'
    assert json_error(ask(with_parent, '/nowhere', 404, JSON))['error'] == 'Not Found'  # the parent's own
    assert ask(with_child, '/nowhere', 404, JSON).content_type == 'text/html'


@pytest.mark.parametrize('headers', [JSON, {'Accept': 'text/html'}, {}], ids=['json', 'html', 'no-accept'])
@pytest.mark.parametrize('path, status', [('/nowhere', 404), ('/item', 404), ('/private', 401), ('/crash', 500)])
def test_bottles_errors_say_their_body_depends_on_accept(app: bottle.Bottle, path: str, status: int,
                                                         headers: Dict[str, str]) -> None:
    """A shared cache must not hand the JSON an API client got to a browser, or the page to the API."""
    response = ask(app, path, status, headers)
    assert vary_tokens(response).count('accept') == 1


@pytest.mark.parametrize('headers', [JSON, {}], ids=['json', 'text'])
def test_canisters_own_errors_say_their_body_depends_on_accept(make_app: Callable[..., bottle.Bottle],
                                                               headers: Dict[str, str]) -> None:
    app = make_app(max_body_size=10)

    @app.get('/number')
    def number(n: int) -> str:
        return str(n)

    @app.post('/upload')
    def upload() -> str:
        return 'stored'

    refused = ask(app, '/number?n=seven', 400, headers)      # the route wrapper's answer
    too_big = client(app).post('/upload', 'x' * 100, headers=headers, expect_errors=True)  # the early check's
    assert too_big.status_int == 413
    for response in (refused, too_big):
        assert vary_tokens(response).count('accept') == 1
        assert response.content_type == ('application/json' if headers else 'text/plain')


def test_an_error_built_from_a_session_varies_on_cookie_and_accept(make_app: Callable[..., bottle.Bottle]) -> None:
    app = make_app()

    @app.get('/cart')
    def cart() -> str:
        canister.session.data['seen'] = True
        bottle.abort(404, 'no cart yet')

    response = ask(app, '/cart', 404, JSON)
    assert sorted(vary_tokens(response)) == ['accept', 'cookie']


@pytest.mark.parametrize('result', ['dicts', 'model'])
def test_a_500_for_a_result_bottle_cannot_send_tells_a_json_client_only_internal_server_error(
        make_app: Callable[..., bottle.Bottle], log_dir: pathlib.Path, result: str) -> None:
    # (session 37: the JSON said "Unsupported response type: <class '__main__.Item'>", the app's class names)
    import pydantic

    from helpers import read_log, readme_section

    assert ("The client is told only `Internal Server Error`, in JSON or on Bottle's HTML page, as for any other 500: "
            "Bottle's words for such a result name the returned type, which can be one of the app's own classes, and "
            "stay in the log.") in readme_section('## Request logging')

    class Item(pydantic.BaseModel):
        name: str

    app = make_app(error_format='json')

    @app.get('/result')
    def returned() -> Any:
        return [{'name': 'pen'}] if result == 'dicts' else Item(name='pen')

    answer = client(app).get('/result', status=500)
    assert answer.json == {'error': 'Internal Server Error', 'message': 'Internal Server Error'}
    assert 'Unsupported response type' not in answer.text and 'Item' not in answer.text
    [line] = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Unsupported response' in line]
    assert ("<class 'dict'>" if result == 'dicts' else "<class 'tuple'>): it returned the pydantic model Item") in line
