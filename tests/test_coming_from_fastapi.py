"""README for a FastAPI developer: the section "Coming from FastAPI", top-level beside "Coming from Django", whose
table says what each FastAPI habit becomes. The rows this file owns (OAuth2PasswordBearer and a token route, the
CORS middleware, JSON errors, a model or a list of models returned, a body model beside a query parameter) are each
run as they say on a real server; the rows moved from Configuration are run in tests/test_newcomer_fastapi.py.
Also the module's names of FastAPI's (``canister.Depends``, ``OAuth2PasswordBearer``, ``CORSMiddleware``) and the
ERROR line of a handler that returns a list of models.

FastAPI is not installed in the test environments: nothing here imports it."""
from __future__ import annotations

import datetime
import json
import re
from typing import List

import bottle
import pytest
from pydantic import BaseModel

import canister
from helpers import ROOT, bearer, canister_names_checked, read_log, readme_section, signed_token
from servers import Client

README = (ROOT / 'README.md').read_text(encoding='utf-8')
COMING_FROM_FASTAPI = readme_section('## Coming from FastAPI') if '\n## Coming from FastAPI\n' in README else ''
#: The table's rows: FastAPI's habit -> what it becomes here.
ROWS = dict(re.findall(r'^\| (.+?) \| (.+) \|$', COMING_FROM_FASTAPI, re.M))
#: A secret of 32 bytes for HS256 tokens, as written in the config (``auth_jwt_encoding = clear``).
SECRET = 'a-secret-of-thirty-two-bytes-ok!'
JSON_BODY = {'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin'}


def row(fastapi: str) -> str:
    """What the table says FastAPI's ``fastapi`` becomes (the test fails, saying so, when the row is missing)."""
    assert fastapi in ROWS, (fastapi, sorted(ROWS))
    return ROWS[fastapi]


class Item(BaseModel):
    name: str
    qty: int
    added: datetime.datetime = datetime.datetime(2026, 7, 2, 9, 38, 31)


def error_lines(log_dir) -> List[str]:
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]


# -- The section --------------------------------------------------------------------------------------------

def test_the_section_is_top_level_listed_in_contents_after_djangos_and_configuration_points_to_it():
    contents = README.split('\n## Install\n', 1)[0]
    assert ('\n- [Coming from Django](#coming-from-django)\n- [Coming from FastAPI](#coming-from-fastapi)\n'
            in contents)
    assert README.index('\n## Coming from Django\n') < README.index('\n## Coming from FastAPI\n') < README.index(
        '\n## Configuration\n')
    assert ("\n  - *Coming from FastAPI.* What FastAPI's habits become here is a section of its own: "
            "[Coming from FastAPI](#coming-from-fastapi).\n") in README
    assert len(ROWS) == 19 and list(ROWS)[0] == 'FastAPI'


def test_every_canister_name_the_section_gives_exists_or_says_what_to_write_instead():
    names = canister_names_checked(COMING_FROM_FASTAPI)
    assert names >= {'require_user', 'require', 'session', 'Depends', 'OAuth2PasswordBearer', 'CORSMiddleware',
                     'HTTPException'}, names
    assert ('`canister.Depends`, `canister.OAuth2PasswordBearer`, `canister.CORSMiddleware` and '
            '`canister.HTTPException` raise an `AttributeError` that says what to write instead.') in COMING_FROM_FASTAPI


@pytest.mark.parametrize('name, instead', [
    ('Depends', 'canister runs no dependency: guard the route with @canister.require_user (or '
                '@canister.require(lambda user: ...)) below the route decorator, read the logged-in user as '
                'canister.session.user, and call any other dependency in the handler'),
    ('OAuth2PasswordBearer', 'canister checks Bearer tokens itself, from the Authorization header, once '
                             'auth_jwt_secret (or auth_jwt_jwks_url, auth_jwt_public_key) is set: '
                             '@canister.require_user gives 401 without a valid one, and its claims are '
                             'canister.session.user; canister issues no token, so a token endpoint is the identity '
                             "provider's (or signs with PyJWT)"),
    ('CORSMiddleware', "canister answers CORS itself, preflights too: write cors = https://app.example.com "
                       "(Starlette's allow_origins; * for any) in its config, or Canister(cors=...), and cors_paths = "
                       '/api to limit it to paths (see CORS in the README)'),
])
def test_fastapis_names_written_on_the_module_say_what_to_write_instead(name, instead):
    with pytest.raises(AttributeError) as missing:
        getattr(canister, name)
    assert str(missing.value) == 'module canister has no %s: %s' % (name, instead)


def test_a_name_canister_lacks_and_no_framework_gives_keeps_pythons_plain_attribute_error():
    misspelt = 'OAuth2PasswordBearers'
    with pytest.raises(AttributeError, match=r"^module 'canister' has no attribute 'OAuth2PasswordBearers'$"):
        getattr(canister, misspelt)


# -- OAuth2PasswordBearer: canister checks tokens, issues none -------------------------------------------------

def test_oauth2_password_bearer_is_auth_jwt_and_require_user_with_the_claims_as_session_user(make_app, serve):
    assert row("`OAuth2PasswordBearer(tokenUrl='token')`, and a `/token` route that signs tokens") == (
        "`auth_jwt_secret` (or `auth_jwt_jwks_url`, `auth_jwt_public_key`) in the `[canister]` section: canister "
        "checks the token of every request's `Authorization: Bearer` header, `@canister.require_user` answers 401 "
        "without a valid one, and the token's claims are `canister.session.user`. Canister issues no token: the "
        "identity provider does, or a login route of the app's own signs one with PyJWT (see [Bearer JWT (OAuth2 / "
        "OIDC)](#bearer-jwt-oauth2--oidc))")
    app = make_app(config={'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'clear'})

    @app.get('/users/me')
    @canister.require_user
    def me():
        return {'sub': canister.session.user['sub']}

    origin = serve(app)
    signed = Client(origin).get('/users/me', headers=bearer(signed_token(SECRET.encode())))
    assert (signed.status, json.loads(signed.text)) == (200, {'sub': 'alice'})
    assert Client(origin).get('/users/me').status == 401
    assert Client(origin).get('/users/me', headers=bearer(signed_token(b'another-secret-of-32-bytes-long!'))
                              ).status == 401
    assert Client(origin).request('POST', '/token', 'username=alice&password=x', {
        'Content-Type': 'application/x-www-form-urlencoded'}).status == 404   # canister adds no token route


# -- CORSMiddleware --------------------------------------------------------------------------------------------

def test_cors_middlewares_allow_origins_is_the_cors_key_preflights_answered_too(make_app, serve):
    assert row("`app.add_middleware(CORSMiddleware, allow_origins=['https://app.example.com'])`") == (
        "`cors = https://app.example.com` in the `[canister]` section, or `Canister(cors=...)`; preflights are "
        "answered too (see [CORS](#cors))")
    app = make_app(config={'cors': 'https://app.example.com'})
    app.route('/items', method=['GET', 'PUT'], callback=lambda: {'items': []})
    origin = serve(app)
    simple = Client(origin).get('/items', headers={'Origin': 'https://app.example.com'})
    assert (simple.status, simple.headers['Access-Control-Allow-Origin']) == (200, 'https://app.example.com')
    preflight = Client(origin).request('OPTIONS', '/items', headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'PUT'})
    assert preflight.status in (200, 204) and 'PUT' in preflight.headers['Access-Control-Allow-Methods']
    assert preflight.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
    other = Client(origin).get('/items', headers={'Origin': 'https://evil.example'})
    assert other.headers['Access-Control-Allow-Origin'] is None


# -- JSON errors -----------------------------------------------------------------------------------------------

def test_json_errors_are_error_format_json_a_400_with_error_and_message_not_a_422_with_detail(make_app, serve):
    assert row('JSON errors, `{"detail": ...}`') == (
        '`error_format = json` in the `[canister]` section: canister\'s errors, and Bottle\'s 404, 405 and 500, are '
        '`{"error": ..., "message": ...}`; a value that does not validate is a 400 (not FastAPI\'s 422) whose message '
        'names the parameter (see [Limits and error answers](#limits-and-error-answers))')
    app = make_app(config={'error_format': 'json'})

    @app.post('/items')
    def create(item: Item):
        return {'name': item.name}

    origin = serve(app)
    for body in ('{"name": "pen", "qty": "many"}', '{"name": "pen"}'):
        refused = Client(origin).request('POST', '/items', body, JSON_BODY)   # no Accept: JSON all the same
        assert (refused.status, refused.headers['Content-Type']) == (400, 'application/json'), body
        answer = json.loads(refused.text)
        assert sorted(answer) == ['error', 'message'] and 'detail' not in answer
        assert answer['error'] == 'Bad Request' and "parameter 'item'" in answer['message'], answer
    missing = Client(origin).get('/nowhere', headers={'Accept': 'text/html'})
    assert (missing.status, sorted(json.loads(missing.text))) == (404, ['error', 'message'])


# -- A model returned, or a list of them ----------------------------------------------------------------------

def test_response_model_and_return_item_are_model_dump_in_json_mode_which_writes_a_datetime_as_text(
        make_app, serve, log_dir):
    assert row('`response_model=Item`') == (
        "`return item.model_dump(mode='json')`, or `item.model_dump(mode='json', include={...})` for some fields: a "
        "dict is sent as JSON. `mode='json'` writes a `datetime` field as text; a plain `model_dump()` keeps the "
        "`datetime`, which JSON cannot hold (a 500)")
    assert row('`return item` of a pydantic model') == "`return item.model_dump(mode='json')`"
    app = make_app(catchall=True)
    pen = Item(name='pen', qty=2)
    app.get('/json-mode', callback=lambda: pen.model_dump(mode='json'))
    app.get('/some', callback=lambda: pen.model_dump(mode='json', include={'name', 'added'}))
    app.get('/plain', callback=lambda: pen.model_dump())
    origin = serve(app)
    sent = Client(origin).get('/json-mode')
    assert (sent.status, json.loads(sent.text)) == (200, {'name': 'pen', 'qty': 2, 'added': '2026-07-02T09:38:31'})
    assert json.loads(Client(origin).get('/some').text) == {'name': 'pen', 'added': '2026-07-02T09:38:31'}
    assert Client(origin).get('/plain').status == 500
    assert error_lines(log_dir)[0].endswith(
        "(Object of type datetime is not JSON serializable): convert such values in the handler (a datetime with "
        ".isoformat(), a Decimal with str(), a set with list(), a pydantic model with .model_dump(mode='json'))")


def test_a_list_of_models_is_sent_wrapped_in_a_dict_or_as_a_json_array_written_by_json_dumps(make_app, serve):
    assert row('`return items`, a `List[Item]`') == (
        "Bottle sends a dict as JSON, not a list: `return {'items': [item.model_dump(mode='json') for item in "
        "items]}`; or, for a top-level array, `bottle.response.content_type = 'application/json'` and then "
        "`return json.dumps([...])`")
    app = make_app()
    items = [Item(name='pen', qty=2), Item(name='ink', qty=1)]
    app.get('/wrapped', callback=lambda: {'items': [item.model_dump(mode='json') for item in items]})

    @app.get('/array')
    def array():
        bottle.response.content_type = 'application/json'
        return json.dumps([item.model_dump(mode='json') for item in items])

    origin = serve(app)
    dumped = [{'name': 'pen', 'qty': 2, 'added': '2026-07-02T09:38:31'},
              {'name': 'ink', 'qty': 1, 'added': '2026-07-02T09:38:31'}]
    wrapped = Client(origin).get('/wrapped')
    assert (wrapped.headers['Content-Type'], json.loads(wrapped.text)) == ('application/json', {'items': dumped})
    array_sent = Client(origin).get('/array')
    assert (array_sent.status, array_sent.headers['Content-Type'], json.loads(array_sent.text)) == (
        200, 'application/json', dumped)


def test_a_returned_list_of_models_is_logged_with_the_model_and_what_to_return(make_app, serve, log_dir):
    app = make_app()
    app.get('/items', callback=lambda: [Item(name='pen', qty=2)])
    assert Client(serve(app)).get('/items').status == 500
    line = error_lines(log_dir)[0]
    assert line.endswith(
        "Unhandled exception in GET /items: the handler returned a list, tuple or generator of something other than "
        "text or bytes (Unsupported response type: <class 'test_coming_from_fastapi.Item'>): it returned a list of the "
        "pydantic model Item, which Bottle cannot send, where FastAPI sends it as a JSON array: return {'items': "
        "[item.model_dump(mode='json') for item in items]}, a dict, which Bottle sends as JSON"), line
    logging_section = readme_section('## Request logging')
    assert '`%s`' % line[line.index('it returned a list of'):] in logging_section


def test_a_returned_list_of_dicts_keeps_the_line_that_names_no_model(make_app, serve, log_dir):
    app = make_app()
    app.get('/items', callback=lambda: [{'name': 'pen'}])
    assert Client(serve(app)).get('/items').status == 500
    line = error_lines(log_dir)[0]
    assert "<class 'dict'>): Bottle sends text" in line and 'pydantic' not in line


# -- A body model beside a query parameter --------------------------------------------------------------------

def test_a_body_model_beside_a_query_parameter_takes_the_member_of_its_name_or_alone_takes_the_whole_body(
        make_app, serve):
    assert row('`def create(item: Item, notify: bool = False)`, sent the body `{"name": "pen", "qty": 2}`') == (
        "beside another parameter, the model takes only the body's member named `item`: send `{\"item\": {\"name\": "
        "\"pen\", \"qty\": 2}}` (and `?notify=true`, or a member `notify`); or make the model the handler's one "
        "parameter, which then takes the whole body, as in FastAPI, and read the flag from the query as text, "
        "`bottle.request.query.notify == 'true'`")
    app = make_app()

    @app.post('/items')
    def create(item: Item, notify: bool = False):
        return {'name': item.name, 'qty': item.qty, 'notify': notify}

    @app.post('/whole')
    def whole(item: Item):
        return {'name': item.name, 'qty': item.qty, 'notify': bottle.request.query.notify == 'true'}

    origin = serve(app)
    bare = Client(origin).request('POST', '/items?notify=true', '{"name": "pen", "qty": 2}', JSON_BODY)
    assert bare.status == 400 and "'item'" in bare.text
    wrapped = Client(origin).request('POST', '/items?notify=true', '{"item": {"name": "pen", "qty": 2}}', JSON_BODY)
    assert json.loads(wrapped.text) == {'name': 'pen', 'qty': 2, 'notify': True}
    member = Client(origin).request('POST', '/items', '{"item": {"name": "pen", "qty": 2}, "notify": true}',
                                    JSON_BODY)
    assert json.loads(member.text) == {'name': 'pen', 'qty': 2, 'notify': True}
    built = Client(origin).request('POST', '/whole?notify=true', '{"name": "pen", "qty": 2}', JSON_BODY)
    assert json.loads(built.text) == {'name': 'pen', 'qty': 2, 'notify': True}
    unflagged = Client(origin).request('POST', '/whole', '{"name": "pen", "qty": 2}', JSON_BODY)
    assert json.loads(unflagged.text) == {'name': 'pen', 'qty': 2, 'notify': False}
    assert Client(origin).request('POST', '/whole', '{"name": "pen", "qty": "x"}', JSON_BODY).status == 400
