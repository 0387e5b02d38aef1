"""Every ERROR line about a request's unhandled exception, or about a result its handler returned that Bottle
cannot send, names the method and rule of the route the request went to (``Unhandled exception in GET
/orders/<number>: ...``), as the line of a handler's own exception does: the rule the handler was written for,
never the path as requested, whose segments and query may hold a secret.  A request that reached no route (a
``before_request`` hook's exception, a 404's error page) has none to name."""
from __future__ import annotations

import pathlib
from typing import Callable, List

import bottle
import pytest

import canister
from helpers import client, read_log, readme_section

#: A value in the requested path and one in its query, neither of which an ERROR line may hold.
REQUESTED = '/orders/7f3e-order?api_key=k3y9c1d'


def error_messages(log_dir: pathlib.Path) -> List[str]:
    """The messages of the log's ERROR lines (after the request's prefix), the response lines left out."""
    return [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines()
            if ' ERROR ' in line and 'Response: ' not in line]


def the_error_message(log_dir: pathlib.Path) -> str:
    """The one ERROR line's message, checked to hold nothing of the requested path but the route's rule."""
    [message] = error_messages(log_dir)
    assert '7f3e-order' not in message and 'k3y9c1d' not in message and 'api_key' not in message, message
    return message


def test_a_value_bottle_cannot_send_is_logged_with_its_route(make_app: Callable[..., bottle.Bottle],
                                                              log_dir: pathlib.Path) -> None:
    """Bottle's TypeError turning ``return 42`` into a body, caught by Bottle and shown to its error page."""
    app = make_app(catchall=True)
    app.get('/orders/<number>', callback=lambda number: 42)
    client(app).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir).startswith(
        "Unhandled exception in GET /orders/<number>: the handler returned a value Bottle cannot send ('int' object "
        "is not iterable): Bottle sends text")


def test_flasks_body_and_status_is_logged_with_its_route(make_app: Callable[..., bottle.Bottle],
                                                         log_dir: pathlib.Path) -> None:
    """Bottle's TypeError joining ``'Created', 201``, outside its own catch: its "Critical error" 500."""
    app = make_app(catchall=True)
    app.post('/orders/<number>', callback=lambda number: ('Created', 201))
    client(app).post(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir).startswith(
        'Unhandled exception in POST /orders/<number>: the handler returned a list or tuple of text and other values '
        '(sequence item 1: expected str instance, int found): Bottle sends text')


def test_a_list_of_dicts_is_logged_with_its_route(make_app: Callable[..., bottle.Bottle],
                                                  log_dir: pathlib.Path) -> None:
    """Bottle's own 500 for a result it cannot send, which carries no exception."""
    app = make_app(catchall=True)
    app.get('/orders/<number>', callback=lambda number: [{'id': 1}, {'id': 2}])
    client(app).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir).startswith(
        "Unhandled exception in GET /orders/<number>: the handler returned a list, tuple or generator of something "
        "other than text or bytes (Unsupported response type: <class 'dict'>): Bottle sends text")


def test_a_merged_childs_handler_called_without_its_argument_is_logged_with_its_route(
        make_app: Callable[..., bottle.Bottle], log_dir: pathlib.Path) -> None:
    app = make_app(catchall=True)
    child = bottle.Bottle()
    child.get('/orders/<number>', callback=lambda number, name: name)
    app.merge(child)
    client(app).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir).startswith(
        'Unhandled exception in GET /orders/<number>: a route that canister does not wrap called its handler without '
        'an argument (')


def test_canisters_refusal_of_a_route_at_its_first_request_is_logged_with_its_route(log_dir: pathlib.Path) -> None:
    """An ``async def`` handler added before the install: canister refuses it when Bottle applies the plugins."""
    app = bottle.Bottle()
    app.catchall = True

    @app.get('/orders/<number>')
    async def order(number):
        return 'never sent'

    app.install(canister.Canister(log_path=str(log_dir)))
    try:
        client(app).get(REQUESTED, status=500, expect_errors=True)
    finally:
        app.uninstall(True)
    assert the_error_message(log_dir).startswith(
        'Unhandled exception in GET /orders/<number>: canister: the handler of GET /orders/<number> is an async def')


class Unprintable(KeyError):
    """An exception of an app's whose text cannot be read."""

    def __str__(self) -> str:
        raise RuntimeError('no text')


@pytest.mark.parametrize('error', [LookupError('not found'), Unprintable()], ids=['plain', 'unprintable'])
def test_the_exception_of_a_route_canister_does_not_wrap_is_logged_with_its_route(
        make_app: Callable[..., bottle.Bottle], log_dir: pathlib.Path, error: Exception) -> None:
    """Also where the exception's text cannot be read (the line of an unknown cause, which canister falls back on)."""
    app = make_app(catchall=True)

    @app.get('/orders/<number>', skip=['canister'])
    def order(number):
        raise error

    client(app).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir) == ('Unhandled exception in GET /orders/<number> (outside the route: a hook '
                                          'of the app, or a route canister does not wrap)')


def test_an_exception_that_passes_bottle_by_is_logged_with_its_route(make_app: Callable[..., bottle.Bottle],
                                                                     log_dir: pathlib.Path) -> None:
    """Bottle's catchall off: the exception goes on to the server, and canister logs it on its way."""
    app = make_app(catchall=False)

    @app.get('/orders/<number>', skip=['canister'])
    def order(number):
        raise LookupError('not found')

    with pytest.raises(LookupError):
        client(app).get(REQUESTED)
    assert the_error_message(log_dir) == 'Unhandled exception in GET /orders/<number>'


def app_whose_401_page_raises(make_app: Callable[..., bottle.Bottle], page: Callable[[], None]) -> bottle.Bottle:
    app = make_app(catchall=True)
    app.error(401)(lambda error: page())

    @app.get('/orders/<number>')
    @canister.require_user
    def order(number):
        return 'yours'

    return app


def test_a_redirect_raised_in_the_apps_error_page_is_logged_with_the_route(
        make_app: Callable[..., bottle.Bottle], log_dir: pathlib.Path) -> None:
    app = app_whose_401_page_raises(make_app, lambda: bottle.redirect('/login'))
    client(app).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir).startswith(
        'Unhandled exception in GET /orders/<number> in an error handler of the app (@app.error): Bottle sends no '
        'redirect() or abort() raised there')


def test_an_exception_of_the_apps_error_page_is_logged_with_the_route(
        make_app: Callable[..., bottle.Bottle], log_dir: pathlib.Path) -> None:
    def broken() -> None:
        raise KeyError('no template')
    client(app_whose_401_page_raises(make_app, broken)).get(REQUESTED, status=500, expect_errors=True)
    assert the_error_message(log_dir) == ('Unhandled exception in GET /orders/<number> in an error handler of the '
                                          'app (@app.error), or in Bottle while it built the answer')


def test_a_request_that_reached_no_route_has_none_named(make_app: Callable[..., bottle.Bottle],
                                                        log_dir: pathlib.Path) -> None:
    """A ``before_request`` hook runs before Bottle matches the route; a 404 matched none."""
    app = make_app(catchall=True)

    @app.hook('before_request')
    def hook():
        if bottle.request.path.startswith('/orders/'):
            raise LookupError('the hook failed')

    @app.error(404)
    def not_found(error):
        raise KeyError('no template')

    app.get('/orders/<number>', callback=lambda number: 'never')
    web = client(app)
    web.get(REQUESTED, status=500, expect_errors=True)
    web.get('/nowhere', status=500, expect_errors=True)
    assert error_messages(log_dir) == [
        'Unhandled exception (outside the route: a hook of the app, or a route canister does not wrap)',
        'Unhandled exception in an error handler of the app (@app.error), or in Bottle while it built the answer']


def test_the_readme_says_the_lines_name_the_route() -> None:
    section = readme_section('## Request logging')
    assert ('Each such line names the method and rule of the route the request went to (`Unhandled exception in GET '
            '/orders/<number>: ...`, `Unhandled exception in GET /account in an error handler of the app (@app.error): '
            '...`), never the path as requested or its query') in section
    assert ("`Unhandled exception in GET /items: the handler returned a list, tuple or generator of something other "
            "than text or bytes (Unsupported response type: <class 'dict'>): Bottle sends text, ...") in section
