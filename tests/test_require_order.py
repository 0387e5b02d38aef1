"""``@require_user`` or ``@require(...)`` written above ``@app.get`` (where Bottle already holds the
unguarded function) still guards the route, and says at its first call to move the decorator below."""
from __future__ import annotations

import functools
from typing import Any, Dict, List

import bottle
import pytest

from helpers import basic, client, read_log, readme_section
from servers import Client

import canister
from canister import session

ADVICE = ('where Bottle alone would never run it: canister finds it and guards the route anyway, but put it below '
          "the route decorator, where it is part of the handler Bottle calls (and guards a child app's route too, "
          'which canister does not see)')


def with_login(app: bottle.Bottle) -> bottle.Bottle:
    """Add GET /login?name=..., which logs that user in to the session."""
    @app.get('/login')
    def login() -> str:
        session.user = bottle.request.query.get('name')
        return 'in'

    return app


def advice_lines(log_dir: Any) -> List[str]:
    """The log lines advising to move the guard below the route decorator."""
    return [line for line in read_log(log_dir).splitlines() if ADVICE in line]


def test_require_user_above_the_route_decorator_answers_401_without_a_user_and_200_with_one(make_app, log_dir):
    app = with_login(make_app())

    @canister.require_user
    @app.get('/me')
    def me() -> Dict[str, Any]:
        return {'user': session.user}

    web = client(app)
    res = web.get('/me', expect_errors=True)
    assert res.status_int == 401
    assert 'Authentication required' in res.text
    web.get('/login?name=alice')
    assert web.get('/me').json == {'user': 'alice'}


def test_the_wrong_order_logs_one_warning_naming_the_handler_and_the_fix(make_app, log_dir):
    app = with_login(make_app())

    @canister.require_user
    @app.get('/me')
    def show_me() -> str:
        return 'me'

    web = client(app)
    web.get('/me', expect_errors=True)
    web.get('/me', expect_errors=True)
    lines = advice_lines(log_dir)
    assert len(lines) == 1
    assert ' WARNING ' in lines[0]
    assert 'Route GET /me: @canister.require, @canister.require_user or @canister.require_scope is written above ' \
           'the route decorator of show_me, ' in lines[0]


def test_require_above_the_route_decorator_checks_its_predicate(make_app):
    app = with_login(make_app())

    @canister.require(lambda user: user == 'admin', 'admins only')
    @app.delete('/items/<item_id>')
    def delete(item_id: int) -> Dict[str, Any]:
        return {'deleted': item_id}

    web = client(app)
    assert web.delete('/items/7', expect_errors=True).status_int == 401
    web.get('/login?name=alice')
    res = web.delete('/items/7', expect_errors=True)
    assert (res.status_int, res.text.strip()) == (403, 'admins only')
    web.get('/login?name=admin')
    assert web.delete('/items/7').json == {'deleted': 7}  # parameters still bound by the annotation


def test_the_late_guard_answers_with_the_challenge_of_the_configured_scheme(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='secret', auth_basic_encryption='clear')

    @canister.require_user
    @app.get('/me')
    def me() -> Any:
        return {'user': session.user}

    res = client(app).get('/me', expect_errors=True)
    assert res.status_int == 401
    assert res.headers['WWW-Authenticate'].startswith('Basic realm="canister"')
    assert client(app).get('/me', headers={'Authorization': basic('alice', 'secret')}).json == {'user': 'alice'}


def test_the_right_order_is_guarded_once_and_warns_of_nothing(make_app, log_dir):
    app = with_login(make_app())
    asked: List[str] = []

    @app.get('/me')
    @canister.require(lambda user: asked.append(user) or True)
    def me() -> str:
        return 'me'

    web = client(app)
    assert web.get('/me', expect_errors=True).status_int == 401
    web.get('/login?name=alice')
    assert web.get('/me').text == 'me'
    assert asked == ['alice']
    assert advice_lines(log_dir) == []


@pytest.mark.parametrize('layout', ['both above', 'one above, one below'])
def test_guards_above_and_below_the_route_decorator_all_apply_each_once(make_app, log_dir, layout):
    app = with_login(make_app())
    asked: List[str] = []
    admins_only = canister.require(lambda user: asked.append(user) or user == 'admin', 'admins only')

    def admin() -> str:
        return 'admin'

    if layout == 'both above':  # @admins_only @require_user @app.get('/admin')
        admins_only(canister.require_user(app.get('/admin')(admin)))
    else:  # @admins_only @app.get('/admin') @require_user
        admins_only(app.get('/admin')(canister.require_user(admin)))
    web = client(app)
    assert web.get('/admin', expect_errors=True).status_int == 401
    web.get('/login?name=alice')
    assert web.get('/admin', expect_errors=True).status_int == 403
    web.get('/login?name=admin')
    assert web.get('/admin').text == 'admin'
    assert asked == ['alice', 'admin']
    assert len(advice_lines(log_dir)) == 1


def test_the_guard_is_found_under_other_wrappers(make_app):
    app = with_login(make_app())

    def traced(callback: Any) -> Any:
        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return callback(*args, **kwargs)
        return wrapper

    @canister.require_user
    @app.get('/me')
    @traced
    def me() -> str:
        return 'me'

    web = client(app)
    assert web.get('/me', expect_errors=True).status_int == 401
    web.get('/login?name=alice')
    assert web.get('/me').text == 'me'


def test_a_function_routed_once_guarded_and_once_not_keeps_each_route_as_written(make_app, log_dir):
    app = with_login(make_app())

    def report() -> str:
        return 'report'

    app.get('/guarded', callback=canister.require_user(report))
    app.get('/plain', callback=report)
    assert client(app).get('/guarded', expect_errors=True).status_int == 401
    assert client(app).get('/plain').text == 'report'
    assert advice_lines(log_dir) == []


def test_one_function_routed_under_two_guards_keeps_each_routes_own(make_app, log_dir):
    """A loop over roles, each route in the right order: a staff member may see /staff, not /admin."""
    app = with_login(make_app())

    def dashboard() -> str:
        return 'dashboard'

    app.get('/admin', callback=canister.require(lambda user: user == 'root')(dashboard))
    app.get('/staff', callback=canister.require(lambda user: user in ('root', 'sam'))(dashboard))
    web = client(app)
    web.get('/login?name=sam')
    assert web.get('/staff').text == 'dashboard'
    assert web.get('/admin', expect_errors=True).status_int == 403
    assert advice_lines(log_dir) == []


@pytest.mark.parametrize('order', ['above', 'below'])
def test_a_guarded_method_of_an_object_is_guarded_in_either_order(make_app, order):
    app = with_login(make_app())

    class Views:
        def me(self) -> str:
            return 'me'

    views = Views()
    if order == 'above':
        app.get('/me', callback=views.me)
        canister.require_user(views.me)
    else:
        app.get('/me', callback=canister.require_user(views.me))
    web = client(app)
    assert web.get('/me', expect_errors=True).status_int == 401
    web.get('/login?name=alice')
    assert web.get('/me').text == 'me'


def test_a_guard_stacked_between_two_route_decorators_guards_both_routes(make_app, log_dir):
    app = with_login(make_app())

    @app.get('/admin/report')
    @canister.require(lambda user: user == 'root')
    @app.get('/admin/report.json')
    def report() -> str:
        return 'secret report'

    web = client(app)
    assert web.get('/admin/report.json', expect_errors=True).status_int == 401
    assert web.get('/admin/report', expect_errors=True).status_int == 401
    web.get('/login?name=mallory')
    assert web.get('/admin/report.json', expect_errors=True).status_int == 403
    web.get('/login?name=root')
    assert web.get('/admin/report.json').text == 'secret report'
    assert len(advice_lines(log_dir)) == 1


@pytest.mark.parametrize('first_call', ['before', 'after'])
def test_a_guard_written_above_stays_whatever_is_routed_later_and_whenever_the_route_is_first_called(
        make_app, first_call):
    """Bottle applies plugins at a route's first call: the answer must not depend on it, nor on a
    merge that brings in a route of the guarded name."""
    app = with_login(make_app())

    @canister.require_user
    @app.get('/raw')
    def raw() -> str:
        return 'raw'

    web = client(app)
    if first_call == 'before':
        assert web.get('/raw', expect_errors=True).status_int == 401
    other = bottle.Bottle()
    other.get('/other', callback=raw)  # the guarded name, routed in the right order in another app
    app.merge(other)
    assert web.get('/raw', expect_errors=True).status_int == 401


def api_key_login(handler: Any) -> Any:
    """An app's own decorator that logs in the client of a valid X-Api-Key."""
    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if bottle.request.headers.get('X-Api-Key') == 'k-123':
            session.user = 'robot'
        return handler(*args, **kwargs)
    return wrapper


def test_a_guard_under_an_apps_own_login_decorator_runs_after_it(make_app):
    app = make_app()

    @app.get('/report')
    @api_key_login
    @canister.require_user
    def report(year: int = 2026) -> str:
        return 'report %d for %s' % (year, session.user)

    assert client(app).get('/report?year=2025', headers={'X-Api-Key': 'k-123'}).text == 'report 2025 for robot'
    assert client(app).get('/report', expect_errors=True).status_int == 401
    assert client(app).get('/report?year=x', expect_errors=True).status_int == 401  # (still asked before a 400)


def test_a_guard_under_an_apps_own_decorator_asks_its_predicate_once_per_request(make_app):
    asked: List[str] = []

    def is_robot(user: Any) -> bool:
        asked.append(user)
        return user == 'robot'

    app = make_app()

    @app.get('/report')
    @api_key_login
    @canister.require(is_robot)
    def report(year: int) -> str:
        return 'report %d' % year

    robot = {'X-Api-Key': 'k-123'}
    assert client(app).get('/report?year=2025', headers=robot).text == 'report 2025'
    assert asked == ['robot']
    with_cookie = client(app)
    with_cookie.get('/report?year=2025', headers=robot)
    asked.clear()
    assert with_cookie.get('/report?year=x', expect_errors=True).status_int == 400  # (asked before the 400)
    assert asked == ['robot']


def test_a_guard_on_an_app_without_canister_says_to_install_it_rather_than_answer_401_for_ever(make_app):
    """Canister installed on another app (bottle's default one, say): no one could ever log in on this one."""
    make_app()
    app = bottle.Bottle()
    app.catchall = False

    @app.get('/me')
    @canister.require_user
    def me():
        return 'yours'

    with pytest.raises(canister.CanisterError) as raised:
        client(app).get('/me')
    assert str(raised.value) == ('canister.require on me: the app bottle serves has no canister installed, so nobody '
                                 'is ever logged in there: app.install(canister.Canister()) on the app of this route')


@pytest.mark.parametrize('skip', ['name', 'class', 'instance', 'all'])
def test_a_guard_written_above_the_decorator_of_a_route_that_skips_canister_guards_it_with_a_warning(
        make_app, log_dir, skip):
    # (canister's route wrapper, which finds such a guard on the other routes, does not run on a skipped route:
    # the guard went unnoticed, and the route answered everyone)
    app = make_app(auth_basic_username='alice', auth_basic_password='secret', auth_basic_encryption='clear')
    plugin = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)][0]
    skipped = {'name': ['canister'], 'class': [canister.Canister], 'instance': [plugin], 'all': True}[skip]

    @canister.require(lambda user: user == 'alice', 'alice only')
    @app.get('/above', skip=skipped)
    def above(name: str = 'unbound') -> str:
        return 'hello %s, %s' % (session.user, name)

    @app.get('/below', skip=skipped)
    @canister.require_user
    def below() -> str:
        return 'hello %s' % session.user

    c = client(app)
    assert c.get('/above?name=bob', expect_errors=True).status_int == 401
    assert c.get('/above', expect_errors=True).status_int == 401
    assert c.get('/above?name=bob', headers={'Authorization': basic('alice', 'secret')}).text == 'hello alice, unbound'
    assert c.get('/below', expect_errors=True).status_int == 401
    app.reset()  # (Bottle drops every route's call: the guard still runs)
    assert c.get('/above', expect_errors=True).status_int == 401
    warnings = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith('Route GET /above skips canister, and @canister.require, @canister.require_user or '
                                '@canister.require_scope is written above its route decorator, ' + ADVICE)


def test_a_guard_above_the_decorator_of_a_route_that_skips_canister_still_guards_it_after_the_route_is_reset(
        make_app, log_dir):
    # (Route.reset(), Bottle's public call, dropped canister's stand-in that runs the guard: the route answered
    # everyone until the next reset of the whole app; a route canister wraps gets its wrapper back at once)
    app = make_app(auth_basic_username='alice', auth_basic_password='secret', auth_basic_encryption='clear')

    @canister.require_user
    @app.get('/above', skip=['canister'])
    def above() -> str:
        return 'hello %s' % session.user

    c = client(app)
    assert c.get('/above', expect_errors=True).status_int == 401
    app.routes[0].reset()
    assert c.get('/above', expect_errors=True).status_int == 401
    app.routes[0].reset()
    app.routes[0].reset()
    assert c.get('/above', expect_errors=True).status_int == 401
    assert c.get('/above', headers={'Authorization': basic('alice', 'secret')}).text == 'hello alice'
    assert read_log(log_dir).count('Route GET /above skips canister') == 1


@pytest.mark.parametrize('skip', ['name', 'class', 'instance', 'all'])
def test_the_guard_of_a_route_that_skips_canister_checks_the_credentials_it_challenges_for(make_app, log_dir, skip):
    # (canister's route wrapper checks Authorization, and a skipped route has none: the guard refused the right
    # password with the same challenge, and a browser asked for it again for ever)
    app = make_app(auth_basic_username='alice', auth_basic_password='secret', auth_basic_encryption='clear')
    plugin = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)][0]

    @app.get('/below', skip={'name': ['canister'], 'class': [canister.Canister], 'instance': [plugin],
                             'all': True}[skip])
    @canister.require_user
    def below() -> str:
        return 'hello %s' % session.user

    c = client(app)
    assert c.get('/below', headers={'Authorization': basic('alice', 'secret')}).text == 'hello alice'
    assert 'Logged in as: alice' in read_log(log_dir)
    wrong = c.get('/below', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True)
    assert (wrong.status_int, wrong.headers['WWW-Authenticate']) == (401, 'Basic realm="canister", charset="UTF-8"')
    assert 'Authentication failed' in wrong.text
    assert c.get('/below', expect_errors=True).status_int == 401


def test_a_function_routed_open_then_routed_again_under_a_guard_by_hand_is_guarded_on_both_routes(make_app, serve):
    """README, *A route added before*: ``app.get('/public')(page)`` then ``app.get('/private')(require_user(page))``
    reads as a guard written above /public's route decorator (the same calls in the same order), so canister fails
    closed and /public answers 401 too; a function of its own, or the guarded route added first, keeps it open."""
    app = with_login(make_app())

    def page() -> str:
        return 'page of %s' % (session.user or 'nobody')

    def open_page() -> str:  # (the recipe: a function of its own for the open route)
        return page()

    def other() -> str:
        return 'other of %s' % (session.user or 'nobody')

    app.get('/public')(page)
    app.get('/private')(canister.require_user(page))
    app.get('/open')(open_page)
    app.get('/other/private')(canister.require_user(other))
    app.get('/other/public')(other)  # (the other recipe: the open route added after the guarded one)
    web = Client(serve(app))
    assert [web.get(path).status for path in ('/public', '/private', '/other/private')] == [401, 401, 401]
    assert [web.get(path).text for path in ('/open', '/other/public')] == ['page of nobody', 'other of nobody']
    web.get('/login?name=alice')
    assert [web.get(path).text for path in ('/public', '/private')] == ['page of alice', 'page of alice']
    text = ' '.join(readme_section('### More about guards').split())
    for claim in ["after `app.get('/public')(page)` and `app.get('/private')(canister.require_user(page))`, "
                  '`/public` answers 401 too', 'canister fails closed rather than leave such a route open',
                  "route a function of its own there (`def public_page(): return page()`), or add the guarded "
                  'route first']:
        assert claim in text, claim
