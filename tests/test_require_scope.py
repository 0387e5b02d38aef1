"""canister.require_scope: a route open to tokens that grant its scopes (``scope`` or ``scp``, as a text or a
list), 401 to nobody, and to a token without them a 403 with RFC 6750's ``insufficient_scope`` challenge and a
WARNING naming the missing scope; tested with HS256 tokens signed by PyJWT, on a real server on 127.0.0.1."""
import re

import bottle
import pytest

import canister
from canister import session
from helpers import basic, bearer, read_log, signed_token
from servers import Client

SECRET = 'Xq7Lp2Vd9Rk4Tn8Bw1Hs6Jf3Gz0Cm5-Ye2Ua7Io4Pl9Kj1Mh6Ng3Bv8Cx0Zs'  # 64 bytes
WRITE_CHALLENGE = 'Bearer realm="canister", error="insufficient_scope", scope="write:items"'


def token(**claims):
    """Request headers sending a token of alice with these claims, signed with SECRET."""
    return bearer(signed_token(SECRET, **claims))


def items_app(make_app, calls, **config):
    app = make_app(auth_jwt_secret=SECRET, auth_basic_username='bob', auth_basic_password='builder',
                   auth_basic_encryption='clear', **config)

    @app.post('/items')
    @canister.require_scope('write:items')
    def create():
        calls.append(session.user['sub'] if isinstance(session.user, dict) else session.user)
        return 'created'

    return app


def warnings_of(log_dir):
    return [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]


@pytest.mark.parametrize('claims', [
    {'scope': 'read:items write:items'},          # Auth0, Keycloak: a space-separated text
    {'scope': ['read:items', 'write:items']},     # a list
    {'scp': 'write:items'},                        # Azure AD
    {'scp': ['openid', 'write:items']},            # Okta
    {'scope': 'openid', 'scp': 'write:items'},     # both claims: their scopes together
], ids=['scope text', 'scope list', 'scp text', 'scp list', 'scope and scp'])
def test_a_token_that_grants_the_scope_reaches_the_handler(make_app, serve, claims):
    calls = []
    origin = serve(items_app(make_app, calls))
    answer = Client(origin).request('POST', '/items', headers=token(**claims))
    assert (answer.status, answer.text) == (200, 'created')
    assert calls == ['alice']


def test_a_token_without_the_scope_gets_403_with_the_insufficient_scope_challenge_and_a_warning(
        make_app, serve, log_dir):
    calls = []
    origin = serve(items_app(make_app, calls))
    answer = Client(origin).request('POST', '/items', headers=token(scope='read:items openid'))
    assert answer.status == 403
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]
    assert answer.text == 'Forbidden: the token lacks the scope write:items\n'
    assert calls == []
    assert warnings_of(log_dir)[-1].endswith('canister.require_scope on create answered 403: the token lacks the '
                                             'scope write:items (it grants openid read:items)')


def test_the_403_of_a_missing_scope_is_json_to_a_json_client(make_app, serve):
    origin = serve(items_app(make_app, []))
    headers = dict(token(scope='read:items'), Accept='application/json')
    answer = Client(origin).request('POST', '/items', headers=headers)
    assert answer.status == 403
    assert answer.json() == {'error': 'Forbidden', 'message': 'Forbidden: the token lacks the scope write:items'}
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]


def test_auth0_permissions_and_roles_do_not_count_as_scopes(make_app, serve, log_dir):
    origin = serve(items_app(make_app, []))
    answer = Client(origin).request('POST', '/items', headers=token(permissions=['write:items'],
                                                                     roles=['write:items']))
    assert answer.status == 403
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]
    assert warnings_of(log_dir)[-1].endswith('the token lacks the scope write:items (it grants none (no scope or '
                                             'scp claim, or an empty one))')


def test_nobody_logged_in_gets_401_with_the_usual_challenges(make_app, serve):
    calls = []
    origin = serve(items_app(make_app, calls))
    answer = Client(origin).request('POST', '/items')
    assert answer.status == 401
    assert answer.headers.get_all('WWW-Authenticate') == ['Basic realm="canister", charset="UTF-8"',
                                                          'Bearer realm="canister"']
    assert answer.text == 'Authentication required\n'
    assert calls == []


def test_a_basic_user_has_no_scopes_and_gets_403_without_a_bearer_challenge(make_app, serve, log_dir):
    calls = []
    origin = serve(items_app(make_app, calls))
    answer = Client(origin).request('POST', '/items', headers={'Authorization': basic('bob', 'builder')})
    assert answer.status == 403
    assert answer.headers.get_all('WWW-Authenticate') is None
    assert answer.text == 'Forbidden: this route needs a token with the scope write:items\n'
    assert calls == []
    assert warnings_of(log_dir)[-1].endswith('canister.require_scope on create answered 403: the user did not log in '
                                             'with a token (a Basic user, or one the app set), so has no scopes; it '
                                             'needs write:items')


def test_a_user_the_handler_set_as_text_has_no_scopes(make_app, serve):
    app = items_app(make_app, [])

    @app.post('/login')
    def login():
        session.user = 'carol'
        return 'ok'

    web = Client(serve(app))
    assert web.request('POST', '/login').status == 200
    answer = web.request('POST', '/items')
    assert (answer.status, answer.text) == (403, 'Forbidden: this route needs a token with the scope write:items\n')


def test_several_scopes_are_all_needed_and_the_challenge_names_them_all(make_app, serve, log_dir):
    app = make_app(auth_jwt_secret=SECRET)

    @app.delete('/items/<item_id>')
    @canister.require_scope('read:items', 'delete:items', 'read:items')
    def delete(item_id):
        return 'deleted %s' % item_id

    web = Client(serve(app))
    answer = web.request('DELETE', '/items/7', headers=token(scope='read:items'))
    assert answer.status == 403
    assert answer.headers.get_all('WWW-Authenticate') == [
        'Bearer realm="canister", error="insufficient_scope", scope="read:items delete:items"']
    assert warnings_of(log_dir)[-1].endswith('the token lacks the scope delete:items (it grants read:items)')
    assert web.request('DELETE', '/items/7', headers=token(scope='delete:items read:items')).text == 'deleted 7'


def test_a_token_scope_with_quotes_and_commas_never_reaches_the_challenge(make_app, serve, log_dir):
    origin = serve(items_app(make_app, []))
    answer = Client(origin).request('POST', '/items', headers=token(scope='read:items", scope="write:items,admin'))
    assert answer.status == 403
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]
    assert answer.text == 'Forbidden: the token lacks the scope write:items\n'
    assert warnings_of(log_dir)[-1].endswith(
        'the token lacks the scope write:items (it grants read:items", scope="write:items,admin)')


def test_a_scope_of_a_list_with_a_line_break_forges_no_log_line(make_app, serve, log_dir):
    origin = serve(items_app(make_app, []))
    answer = Client(origin).request('POST', '/items', headers=token(scope=['read:items', 'x\n2026 INFO forged']))
    assert (answer.status, answer.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE])
    forged = [line for line in read_log(log_dir).splitlines() if 'forged' in line]
    assert len(forged) == 1
    assert forged[0].endswith('the token lacks the scope write:items (it grants read:items x\\n2026 INFO forged)')


def test_a_token_whose_scope_claim_is_no_text_or_list_grants_nothing(make_app, serve):
    origin = serve(items_app(make_app, []))
    for claims in ({'scope': {'write:items': True}}, {'scope': 7}, {'scp': [['write:items']]}):
        answer = Client(origin).request('POST', '/items', headers=token(**claims))
        assert (answer.status, answer.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE]), claims


def test_the_message_given_replaces_the_403s_text(make_app, serve):
    app = make_app(auth_jwt_secret=SECRET)

    @app.post('/items')
    @canister.require_scope('write:items', message='you may not write items')
    def create():
        return 'created'

    answer = Client(serve(app)).request('POST', '/items', headers=token(scope='read:items'))
    assert (answer.status, answer.text) == (403, 'you may not write items\n')
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]


@pytest.mark.parametrize('scopes, shown', [
    ((), 'none'),
    (('read:items write:items',), "'read:items write:items'"),
    (('write"items',), '\'write"items\''),
    (('',), "''"),
    ((['write:items'],), "['write:items']"),
])
def test_a_scope_that_a_challenge_cannot_carry_is_refused_at_decoration(scopes, shown):
    with pytest.raises(TypeError) as raised:
        canister.require_scope(*scopes)
    assert str(raised.value) == (
        'canister.require_scope takes the names of the scopes a route needs, each a text without spaces or quotes '
        "(RFC 6749), not %s: write @canister.require_scope('write:items') (several: "
        "@canister.require_scope('read:items', 'write:items'), all needed)" % shown)


def test_require_scope_written_bare_over_a_handler_raises_at_once():
    def create():
        return 'created'

    with pytest.raises(TypeError, match=re.escape('not <function test_require_scope_written_bare')):
        canister.require_scope(create)


def test_an_app_error_page_for_403_keeps_the_insufficient_scope_challenge(make_app, serve):
    app = items_app(make_app, [])

    @app.error(403)
    def forbidden(error):
        return 'page: %s' % error.body

    answer = Client(serve(app)).request('POST', '/items', headers=token(scope='read:items'))
    assert (answer.status, answer.text) == (403, 'page: Forbidden: the token lacks the scope write:items')
    assert answer.headers.get_all('WWW-Authenticate') == [WRITE_CHALLENGE]


def test_stacked_with_require_each_guard_answers_its_own_403(make_app, serve):
    app = make_app(auth_jwt_secret=SECRET)

    @app.post('/items')
    @canister.require(lambda user: user.get('tenant') == 'acme', 'acme only')
    @canister.require_scope('write:items')
    def create():
        return 'created'

    web = Client(serve(app))
    other_tenant = web.request('POST', '/items', headers=token(scope='write:items', tenant='other'))
    assert (other_tenant.status, other_tenant.text) == (403, 'acme only\n')
    assert other_tenant.headers.get_all('WWW-Authenticate') is None
    no_scope = web.request('POST', '/items', headers=token(scope='read:items', tenant='acme'))
    assert (no_scope.status, no_scope.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE])
    assert web.request('POST', '/items', headers=token(scope='write:items', tenant='acme')).text == 'created'
    assert web.request('POST', '/items').status == 401


def test_written_above_the_route_decorator_it_still_guards_and_says_so(make_app, serve, log_dir):
    app = make_app(auth_jwt_secret=SECRET)

    @canister.require_scope('write:items')
    @app.post('/items')
    @canister.require_user
    def create():
        return 'created'

    web = Client(serve(app))
    answer = web.request('POST', '/items', headers=token(scope='read:items'))
    assert (answer.status, answer.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE])
    assert web.request('POST', '/items', headers=token(scope='write:items')).text == 'created'
    assert any('Route POST /items: @canister.require, @canister.require_user or @canister.require_scope is written '
               'above the route decorator' in line for line in warnings_of(log_dir))


def test_on_a_route_that_skips_canister_it_checks_the_token_itself(make_app, serve):
    app = make_app(auth_jwt_secret=SECRET)

    @app.post('/items', skip=['canister'])
    @canister.require_scope('write:items')
    def create():
        return 'created by %s' % session.user['sub']

    web = Client(serve(app))
    assert web.request('POST', '/items', headers=token(scope='write:items')).text == 'created by alice'
    answer = web.request('POST', '/items', headers=token(scope='read:items'))
    assert (answer.status, answer.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE])
    assert web.request('POST', '/items').status == 401


def test_on_a_mounted_childs_route_it_answers_as_on_the_parents(make_app, serve):
    parent = make_app(auth_jwt_secret=SECRET)
    child = bottle.Bottle()

    @child.post('/items')
    @canister.require_scope('write:items')
    def create():
        return 'created'

    parent.mount('/api/', child)
    web = Client(serve(parent))
    assert web.request('POST', '/api/items', headers=token(scope='write:items')).text == 'created'
    answer = web.request('POST', '/api/items', headers=token(scope='read:items'))
    assert (answer.status, answer.headers.get_all('WWW-Authenticate')) == (403, [WRITE_CHALLENGE])
    assert web.request('POST', '/api/items').status == 401


def test_a_page_of_another_origin_reads_the_challenge_of_the_403_by_default(make_app, serve):
    origin = serve(items_app(make_app, [], cors='https://app.example.com'))
    headers = dict(token(scope='read:items'), Origin='https://app.example.com')
    answer = Client(origin).request('POST', '/items', headers=headers)
    assert answer.status == 403
    assert answer.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
    exposed = [name.strip() for name in answer.headers['Access-Control-Expose-Headers'].split(',')]
    assert 'WWW-Authenticate' in exposed
