"""Canister beside a plugin that injects a handler argument by name, as bottle-sqlite (``db``),
bottle-redis (``rdb``) and the plugin of Bottle's plugin tutorial do: the parameter is left to
that plugin, whichever of the two is installed first.

Bottle applies plugins in reverse install order, so the one installed last wraps the handler
first: with canister installed first its wrapper is the outer one and the other plugin fills
the argument after canister has bound the rest; installed the other way round, the argument
arrives as a keyword argument of canister's wrapper.
"""
from __future__ import annotations

import pathlib
from typing import Any, Callable, Dict, Iterator, List

import bottle
import pytest

import canister
from helpers import SQLiteInjector, client, described, read_log

ORDERS = ['canister_first', 'canister_last']


@pytest.fixture
def injected_app(log_dir: pathlib.Path) -> Iterator[Callable[[str], bottle.Bottle]]:
    """``injected_app(order)``: an app with canister and the injecting plugin installed in ``order``,
    and ``GET`` or ``POST /page`` taking ``db`` from the plugin and ``name`` from the request."""
    apps: List[bottle.Bottle] = []

    def build(order: str) -> bottle.Bottle:
        app = bottle.Bottle()
        app.catchall = False
        plugins = [canister.Canister(log_path=str(log_dir)), SQLiteInjector()]
        for plugin in plugins if order == 'canister_first' else reversed(plugins):
            app.install(plugin)

        @app.route('/page', method=['GET', 'POST'])
        def page(db, name: int) -> Dict[str, Any]:
            return {'db': described(db), 'name': name + 1}

        apps.append(app)
        return app

    yield build
    for app in apps:
        app.uninstall(True)


@pytest.mark.parametrize('order', ORDERS)
def test_the_injected_argument_reaches_the_handler_and_canister_binds_the_others(injected_app, log_dir, order):
    response = client(injected_app(order)).get('/page?name=5')
    assert response.status_int == 200
    assert response.json == {'db': 42, 'name': 6}
    assert 'WARNING' not in read_log(log_dir)


@pytest.mark.parametrize('order', ORDERS)
def test_the_injected_argument_is_left_to_the_plugin_for_a_json_body_too(injected_app, order):
    response = client(injected_app(order)).post_json('/page', {'name': 5})
    assert response.json == {'db': 42, 'name': 6}


@pytest.mark.parametrize('order', ORDERS)
def test_a_client_cannot_replace_the_injected_argument(injected_app, order):
    web = client(injected_app(order))
    assert web.get('/page?name=5&db=evil').json == {'db': 42, 'name': 6}
    assert web.post_json('/page', {'name': 5, 'db': 'evil'}).json == {'db': 42, 'name': 6}


@pytest.mark.parametrize('order', ORDERS)
def test_a_missing_parameter_of_the_client_is_still_a_400_naming_it(injected_app, order):
    response = client(injected_app(order)).get('/page', expect_errors=True)
    assert response.status_int == 400
    assert "missing parameter 'name'" in response.text
    assert 'db' not in response.text


def test_a_route_level_plugin_injects_its_argument_too(make_app):
    app = make_app()

    @app.get('/page', apply=[SQLiteInjector()])
    def page(db, name: int) -> Dict[str, Any]:
        return {'db': described(db), 'name': name + 1}

    assert client(app).get('/page?name=5').json == {'db': 42, 'name': 6}


def test_canister_given_to_one_route_says_to_install_it_on_the_app(log_dir):
    app = bottle.Bottle()
    app.catchall = False

    @app.get('/page', apply=[canister.Canister(log_path=str(log_dir))])
    def page(name: int) -> Dict[str, Any]:
        return {'name': name}

    with pytest.raises(canister.CanisterError, match=r'installed on an app \(app\.install\(canister\.Canister'
                                                     r'\(\)\)\), not given to one route'):
        client(app).get('/page?name=5')


def test_a_route_that_skips_the_plugin_takes_the_argument_from_the_client(injected_app):
    app = injected_app('canister_first')

    @app.get('/own', skip=['sqlite'])
    def own(db, name: int) -> Dict[str, Any]:
        return {'db': described(db), 'name': name + 1}

    web = client(app)
    assert web.get('/own?name=5&db=mine').json == {'db': 'mine', 'name': 6}
    missing = web.get('/own?name=5', expect_errors=True)
    assert missing.status_int == 400
    assert "missing parameter 'db'" in missing.text


@pytest.mark.parametrize('order', ORDERS)
def test_the_annotation_of_an_injected_argument_is_not_canisters_to_evaluate(injected_app, log_dir, order):
    app = injected_app(order)

    @app.get('/typed')
    def typed(db: Connection, name: int) -> Dict[str, Any]:  # noqa: F821 (a name only a type checker knows)
        return {'db': described(db), 'name': name + 1}

    assert client(app).get('/typed?name=5').json == {'db': 42, 'name': 6}
    assert 'WARNING' not in read_log(log_dir)


@pytest.mark.parametrize('order', ORDERS)
def test_a_route_s_own_keyword_for_the_plugin_is_left_to_the_plugin_on_bottle_0_12(injected_app, order):
    app = injected_app(order)

    @app.get('/conn', sqlite={'keyword': 'conn'})
    def conn_page(conn, name: int) -> Dict[str, Any]:
        return {'conn': described(conn), 'name': name + 1}

    web = client(app)
    if bottle.__version__.startswith('0.12'):  # the route's config holds {'keyword': 'conn'} under 'sqlite'
        assert web.get('/conn?name=5').json == {'conn': 42, 'name': 6}
        assert web.get('/conn?name=5&conn=evil').json == {'conn': 42, 'name': 6}
    else:  # 0.13 flattens it to 'sqlite.keyword', which bottle-sqlite does not read: conn is the client's
        assert web.get('/conn?name=5&conn=mine').json == {'conn': 'mine', 'name': 6}
