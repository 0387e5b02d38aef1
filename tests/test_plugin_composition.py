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
from helpers import ROOT, SQLiteInjector, basic, bearer, client, described, read_log, signed_token

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


#: The HS256 secret of ``watched_app``'s Bearer tokens.
JWT_SECRET = 'a-secret-of-at-least-32-bytes-for-hs256'


class UserWatcher:
    """A plugin that notes the ``session.user`` its wrapper sees, before the handler runs, at each request."""

    name = 'user_watcher'
    api = 2

    def __init__(self) -> None:
        self.seen: List[Any] = []

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        def watch(*args: Any, **kwargs: Any) -> Any:
            self.seen.append(canister.session.user)
            return callback(*args, **kwargs)
        return watch


@pytest.fixture
def watched_app(log_dir: pathlib.Path, uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]
                ) -> Callable[[str], bottle.Bottle]:
    """``watched_app(order)``: an app with the Basic user alice, and canister and a ``UserWatcher``
    (``app.watcher``) installed in ``order``; GET /me answers the user the handler sees (and keeps the session)."""
    def build(order: str) -> bottle.Bottle:
        app = bottle.Bottle()
        app.catchall = False
        app.watcher = UserWatcher()
        plugins = [canister.Canister(log_path=str(log_dir), auth_basic_username='alice',
                                     auth_basic_password='wonderland', auth_jwt_secret=JWT_SECRET), app.watcher]
        for plugin in plugins if order == 'canister_first' else reversed(plugins):
            app.install(plugin)

        @app.get('/me')
        def me() -> Dict[str, Any]:
            canister.session.data['seen'] = True
            return {'user': canister.session.user}

        return uninstall_at_end(app)

    return build


@pytest.mark.parametrize('scheme', ['basic', 'bearer'])
def test_a_plugin_installed_before_canister_sees_no_user_of_the_authorization_header_but_the_handler_does(
        watched_app, scheme):
    app = watched_app('canister_last')
    headers = {'Authorization': basic('alice', 'wonderland')} if scheme == 'basic' else bearer(signed_token(JWT_SECRET))
    user = client(app).get('/me', headers=headers).json['user']
    assert user == 'alice' if scheme == 'basic' else user['sub'] == 'alice'
    assert app.watcher.seen == [None]


def test_a_plugin_installed_before_canister_sees_the_user_of_the_session_cookie(watched_app):
    app = watched_app('canister_last')
    web = client(app)
    web.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert web.get('/me').json == {'user': 'alice'}
    assert app.watcher.seen == [None, 'alice']


def test_a_plugin_installed_after_canister_sees_the_user_of_the_authorization_header(watched_app):
    app = watched_app('canister_first')
    assert client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')}).json == {'user': 'alice'}
    assert app.watcher.seen == ['alice']


def test_the_readme_says_a_plugin_installed_before_canister_sees_no_user_of_the_authorization_header():
    section = (ROOT / 'README.md').read_text(encoding='utf-8').split('\n## Authentication\n', 1)[1].split('\n## ', 1)[0]
    bullet = section.split('- **Plugins installed before canister.** ', 1)[1].split('\n', 1)[0]
    assert 'the user of the session cookie, but `None` for a request whose Basic or Bearer credentials' in bullet
    assert 'install canister first' in bullet and 'read `session.user` in the handler' in bullet
