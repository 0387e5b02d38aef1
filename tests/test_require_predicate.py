"""canister.require: the README's example works for Basic users and Bearer claims alike, and a
predicate that raises refuses with 403 and a logged traceback, never a 500."""
import re

import bottle
import pytest

import canister
from helpers import ROOT, basic, bearer, client, logged_traceback, read_log, signed_token

SECRET = 'r5Tz8Kq2Wm7Yx4Bn1Lc6Hv9Jd3Fg0Ps-Ua8Ie2Oo5Kl1Mz7Nx4Cv3Bb6Vn0QeR'  # 64 bytes


def both_schemes_app(make_app, predicate, calls):
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland', auth_jwt_secret=SECRET)

    @app.delete('/items/<item_id>')
    @canister.require(predicate, 'admins only')
    def delete(item_id):
        calls.append(item_id)
        return 'deleted %s' % item_id

    return app


def bob_bearer(**claims):
    """Request headers sending a token of bob with these claims, signed with SECRET."""
    return bearer(signed_token(SECRET, sub='bob', **claims))


def test_the_readme_require_example_answers_403_to_a_basic_user_and_checks_bearer_roles(make_app, log_dir):
    calls = []
    # the README's example, word for word
    app = both_schemes_app(make_app, lambda user: isinstance(user, dict) and 'admin' in user.get('roles', []), calls)
    web = client(app)
    response = web.delete('/items/1', headers={'Authorization': basic('alice', 'wonderland')}, expect_errors=True)
    assert response.status_int == 403
    assert response.text == 'admins only\n'
    assert web.delete('/items/2', headers=bob_bearer(roles=['user']), expect_errors=True).status_int == 403
    assert web.delete('/items/3', headers=bob_bearer(roles=['admin'])).text == 'deleted 3'
    assert calls == ['3']
    assert ' ERROR ' not in read_log(log_dir)


def test_a_predicate_that_raises_answers_403_and_logs_its_traceback(make_app, log_dir):
    calls = []
    app = both_schemes_app(make_app, lambda user: 'admin' in user.get('roles', []), calls)  # no .get on a str
    web = client(app)
    response = web.delete('/items/1', headers={'Authorization': basic('alice', 'wonderland'),
                                               'Accept': 'application/json'}, expect_errors=True)
    assert response.status_int == 403
    assert response.json['message'] == 'admins only'
    assert 'Traceback' not in response.text and 'AttributeError' not in response.text
    assert calls == []
    log = read_log(log_dir)
    traceback = logged_traceback(log, 'The predicate of canister.require on delete raised: answered 403')
    assert "AttributeError: 'str' object has no attribute 'get'" in traceback
    assert re.search(r'\]   Response: 403 \(\d+ms\)$', log, re.M)
    assert web.delete('/items/2', headers=bob_bearer(roles=['admin'])).text == 'deleted 2'


def test_a_predicate_that_raises_gives_nobody_access(make_app):
    calls = []

    def broken(user):
        raise RuntimeError('bug in the predicate')

    app = both_schemes_app(make_app, broken, calls)
    web = client(app)
    assert web.delete('/items/1', headers=bob_bearer(roles=['admin']), expect_errors=True).status_int == 403
    assert web.delete('/items/1', expect_errors=True).status_int == 401  # nobody logged in: still 401
    assert calls == []


@pytest.mark.parametrize('config, challenges', [
    ({}, ['Session realm="canister"']),
    ({'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland'}, ['Basic realm="canister", charset="UTF-8"']),
    ({'auth_jwt_secret': SECRET}, ['Bearer realm="canister"']),
    ({'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland', 'auth_jwt_secret': SECRET},
     ['Basic realm="canister", charset="UTF-8"', 'Bearer realm="canister"']),
], ids=['no-scheme', 'basic', 'bearer', 'both'])
def test_require_user_answers_401_with_the_schemes_challenges_or_else_a_session_one(make_app, config, challenges):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert ('@canister.require_user                      # 401 when nobody is logged in, with a '
            'WWW-Authenticate challenge\n') in readme
    app = make_app(**config)

    @app.get('/me')
    @canister.require_user
    def me():
        return {'user': canister.session.user}

    answer = client(app).get('/me', status=401)
    assert answer.headers.getall('WWW-Authenticate') == challenges


def test_require_user_answers_401_to_an_empty_user_as_to_none(make_app):
    app = make_app()
    calls = []

    @app.get('/logout-by-emptying')
    def logout():
        canister.session.user = ''  # nobody, as canister reads '' everywhere else
        return 'bye'

    @app.get('/me')
    @canister.require_user
    def me():
        calls.append(1)
        return 'secret page'

    web = client(app)
    web.get('/logout-by-emptying')
    assert web.get('/me', expect_errors=True).status_int == 401
    assert calls == []


def test_a_page_scripts_401_keeps_the_bearer_challenge_without_the_basic_one(make_app):
    app = both_schemes_app(make_app, lambda user: True, [])
    answer = client(app).delete('/items/1', headers={'Sec-Fetch-Mode': 'cors'}, status=401)
    assert answer.headers.getall('WWW-Authenticate') == ['Bearer realm="canister"']


def guarded_form_app(make_app):
    """POST /items (name: str, price: int) behind require_user, and GET /admin (month: int) behind
    require(user == 'root'), with Basic users alice and root."""
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland')

    @app.post('/items')
    @canister.require_user
    def create(name: str, price: int):
        return {'name': name, 'price': price}

    @app.get('/admin')
    @canister.require(lambda user: user == 'root', 'admins only')
    def admin(month: int):
        return {'month': month}

    return app


@pytest.mark.parametrize('body', [{}, {'name': 'tea', 'price': 'cheap'}], ids=['missing', 'unconvertible'])
def test_require_user_answers_401_to_nobody_even_when_the_parameters_are_wrong(make_app, log_dir, body):
    web = client(guarded_form_app(make_app))
    answer = web.post_json('/items', body, headers={'Accept': 'application/json'}, status=401)
    assert answer.json == {'error': 'Unauthorized', 'message': 'Authentication required'}
    assert answer.headers.getall('WWW-Authenticate') == ['Basic realm="canister", charset="UTF-8"']
    assert "parameter 'name'" not in read_log(log_dir) and "parameter 'price'" not in read_log(log_dir)


def test_require_answers_its_403_before_the_400_of_a_missing_parameter(make_app):
    web = client(guarded_form_app(make_app))
    headers = {'Authorization': basic('alice', 'wonderland')}
    assert web.get('/admin', headers=headers, status=403).text == 'admins only\n'
    assert web.get('/admin', status=401).text == 'Authentication required\n'


def test_a_user_the_guard_lets_in_still_gets_the_400_that_names_the_parameter(make_app):
    web = client(guarded_form_app(make_app))
    headers = {'Authorization': basic('alice', 'wonderland')}
    answer = web.post_json('/items', {'name': 'tea'}, headers=headers, status=400)
    assert answer.text == "Bad request: missing parameter 'price'\n"
    assert web.post_json('/items', {'name': 'tea', 'price': 3}, headers=headers).json == {'name': 'tea', 'price': 3}


def test_a_guard_written_above_the_route_decorator_also_answers_401_before_the_400(make_app):
    app = make_app()

    @canister.require_user
    @app.get('/report')
    def report(month: int):
        return {'month': month}

    assert client(app).get('/report', status=401).text == 'Authentication required\n'


class Expensive:
    """A parameter type whose conversion the app can see (a database lookup, say)."""
    made: list = []

    def __init__(self, text):
        Expensive.made.append(text)
        self.text = text


@pytest.mark.parametrize('above', [False, True], ids=['below', 'above'])
def test_a_client_the_guard_refuses_has_no_parameter_converted(make_app, above):
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland')
    Expensive.made = []

    def order(thing: Expensive):
        return {'thing': thing.text}

    guarded = canister.require(lambda user: user == 'root', 'admins only')
    if above:
        guarded(app.get('/order')(order))
    else:
        app.get('/order')(guarded(order))
    web = client(app)
    assert web.get('/order?thing=lamp', status=401).text == 'Authentication required\n'
    assert web.get('/order?thing=lamp', headers={'Authorization': basic('alice', 'wonderland')},
                   status=403).text == 'admins only\n'
    assert Expensive.made == []


def test_a_refused_client_s_json_body_is_not_read(make_app, log_dir):
    app = make_app()

    @app.post('/items')
    @canister.require_user
    def create(name: str):
        return {'name': name}

    answer = client(app).post('/items', '{"name": ', headers={'Content-Type': 'application/json'}, status=401)
    assert answer.text == 'Authentication required\n'
    assert 'not valid JSON' not in read_log(log_dir)


def test_the_predicate_of_a_route_runs_once_per_request(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland')
    asked = []

    def is_alice(user):
        asked.append(user)
        return user == 'alice'

    @app.get('/report')
    @canister.require(is_alice)
    def report(month: int):
        return {'month': month}

    web = client(app)
    headers = {'Authorization': basic('alice', 'wonderland')}
    assert web.get('/report?month=3', headers=headers).json == {'month': 3}
    assert asked == ['alice']
    web.get('/report?month=x', headers=headers, status=400)
    assert asked == ['alice', 'alice']


def test_a_guarded_function_called_by_another_handler_is_still_checked(make_app):
    app = make_app()

    @canister.require(lambda user: user == 'root', 'admins only')
    def secret_total():
        return 42

    @app.get('/login')
    def login(name: str):
        canister.session.user = name
        return 'in'

    @app.get('/summary')
    @canister.require_user
    def summary():
        return {'total': secret_total()}

    web = client(app)
    web.get('/login?name=alice')
    assert web.get('/summary', status=403).text == 'admins only\n'
    web.get('/login?name=root')
    assert web.get('/summary').json == {'total': 42}


class ApiKeyLogin:
    """An app's own login plugin, installed after canister (so Bottle applies it inside canister's
    wrapper): it logs in the user its X-Api-Key names."""
    api = 2
    name = 'api_key_login'

    def apply(self, callback, route):
        def logged_in(*args, **kwargs):
            key = canister.bottle.request.headers.get('X-Api-Key')
            if key:
                canister.session.user = key
            return callback(*args, **kwargs)
        return logged_in


def test_an_app_s_own_login_plugin_installed_after_canister_still_logs_in_before_the_guard(make_app):
    app = make_app()
    app.install(ApiKeyLogin())

    @app.get('/report')
    @canister.require(lambda user: user == 'root', 'admins only')
    def report(month: int):
        return {'month': month}

    web = client(app)
    assert web.get('/report?month=3', headers={'X-Api-Key': 'root'}).json == {'month': 3}
    assert web.get('/report?month=3', headers={'X-Api-Key': 'bob'}, status=403).text == 'admins only\n'
    assert client(app).get('/report?month=3', status=401).text == 'Authentication required\n'


def test_require_user_written_with_parentheses_guards_as_without(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland')

    @app.get('/me')
    @canister.require_user()  # Flask-HTTPAuth takes @auth.login_required with or without them
    def me():
        return {'user': canister.session.user}

    web = client(app)
    assert web.get('/me', status=401).text == 'Authentication required\n'
    assert web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).json == {'user': 'alice'}


def test_require_given_a_role_name_instead_of_a_predicate_says_what_to_write():
    with pytest.raises(TypeError) as raised:
        canister.require('admin')  # Flask-HTTPAuth's login_required(role='admin') habit
    assert str(raised.value) == ("canister.require takes a function of the user that says whether to let them in, "
                                 "not 'admin': write @canister.require(lambda user: ...) (for any logged-in user, "
                                 "@canister.require_user)")


BARE_REQUIRE = ('Route GET /admin: @canister.require was written without a predicate, so it took the handler admin '
                'for one, and the route would call the decorator it returned: write @canister.require(lambda user: '
                '...), or @canister.require_user for any logged-in user')


def test_a_bare_require_over_a_handler_stops_the_route_where_it_is_added(make_app):
    app = make_app()
    with pytest.raises(canister.CanisterError) as raised:
        @app.get('/admin')
        @canister.require  # meant as require_user: it takes the handler for the predicate
        def admin():
            return 'secret'
    assert str(raised.value) == 'canister: ' + BARE_REQUIRE
    assert app.routes == []


def test_a_bare_require_on_a_route_added_before_the_install_is_a_500_that_says_what_to_write(log_dir,
                                                                                            uninstall_at_end):
    app = bottle.Bottle()

    @app.get('/admin')
    @canister.require
    def admin():
        return 'secret'

    app.install(canister.Canister(log_path=str(log_dir)))
    uninstall_at_end(app)
    answer = client(app).get('/admin', status=500, expect_errors=True)
    assert 'secret' not in answer.text and "parameter 'callback'" not in answer.text
    assert 'canister: ' + BARE_REQUIRE in read_log(log_dir)


def test_a_form_login_apps_401_names_the_session_scheme_with_its_realm_on_a_route_that_skips_canister_too(make_app):
    app = make_app(auth_realm='Shop')

    @app.get('/me')
    @canister.require_user
    def me():
        return {'user': canister.session.user}

    @app.get('/raw', skip=['canister'])
    @canister.require_user
    def raw():
        return 'raw'

    web = client(app)
    for path in ('/me', '/raw'):
        answer = web.get(path, status=401)
        assert answer.headers.getall('WWW-Authenticate') == ['Session realm="Shop"'], path
