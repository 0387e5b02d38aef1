"""Parameters annotated with pydantic's own types (``SecretStr``, ``SecretBytes``, ``HttpUrl``, a class of the app's
that pydantic validates), with a subclass of ``str``, and with constraints inside ``Annotated[...]`` (``Field(le=100)``,
``annotated_types.Le(100)``, ``conint``, ``constr``, ``StringConstraints``), as FastAPI users write them.

pydantic validates the first and the last, through a ``TypeAdapter`` made once when the route is added; a ``str``
subclass takes a text only, as ``str`` does.  A constraint canister cannot check is said at WARNING.
"""
from __future__ import annotations

import dataclasses
import hmac
import importlib.util
import sys
from typing import Annotated, Any, List, Optional

import annotated_types
import bottle
import pydantic
import pydantic_core
import pytest

import canister
from helpers import client, read_log, warning_lines


class Username(str):
    """A text class of the app's."""


class Handle:
    """A class of the app's that pydantic validates: a text of letters, lower-cased."""

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        def build(text: str) -> 'Handle':
            if not text.isalpha():
                raise ValueError('a handle is letters only')
            return cls(text.lower())
        return pydantic_core.core_schema.no_info_after_validator_function(
            build, pydantic_core.core_schema.str_schema())


@dataclasses.dataclass
class Login:
    """A record with a secret field."""
    user: str
    code: pydantic.SecretStr


class NeedsAPackage:
    """A class pydantic validates with a package that is not installed (as EmailStr without email-validator)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        raise ImportError('some-package is not installed')


# -- pydantic's types -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sent', [{'$ne': None}, None, ['k-123'], 123])
def test_a_secretstr_parameter_sent_anything_but_a_json_string_is_a_400_that_does_not_show_it(make_app, log_dir, sent):
    app = make_app()

    @app.post('/check')
    def check(mnemonic: pydantic.SecretStr):
        return {'ok': hmac.compare_digest(mnemonic.get_secret_value(), 'k-123')}

    response = client(app).post_json('/check', {'mnemonic': sent}, status=400)
    assert ("parameter 'mnemonic' must be a valid SecretStr: Input should be a valid string (the value is not "
            'shown: a secret)') in response.text
    assert 'k-123' not in response.text and '$ne' not in response.text
    assert 'k-123' not in read_log(log_dir)


def test_a_secretstr_parameter_takes_a_json_string_or_a_query_text(make_app):
    app = make_app()

    @app.route('/check', method=['GET', 'POST'])
    def check(token: pydantic.SecretStr):
        return {'ok': hmac.compare_digest(token.get_secret_value(), 'k-123'), 'type': type(token).__name__}

    web = client(app)
    assert web.post_json('/check', {'token': 'k-123'}).json == {'ok': True, 'type': 'SecretStr'}
    assert web.get('/check?token=k-124').json == {'ok': False, 'type': 'SecretStr'}


def test_a_secretbytes_parameter_gets_the_utf8_bytes_of_a_text_and_refuses_a_list(make_app):
    app = make_app()

    @app.post('/seed')
    def seed(seed: pydantic.SecretBytes):
        return repr(seed.get_secret_value())

    web = client(app)
    assert web.post_json('/seed', {'seed': 'abc\u00e9'}).text == repr('abc\u00e9'.encode('utf-8'))
    refused = web.post_json('/seed', {'seed': ['xyz']}, status=400).text
    assert "parameter 'seed' must be a valid SecretBytes: Input should be a valid bytes (the value is not shown: " \
           'a secret)' in refused
    assert 'xyz' not in refused


def test_a_secretstr_field_of_a_dataclass_sent_a_list_is_not_shown_in_the_400(make_app):
    app = make_app()

    @app.post('/login')
    def login(login: Login):
        return login.user

    refused = client(app).post_json('/login', {'login': {'user': 'ann', 'code': ['zz-999']}}, status=400).text
    assert "its field 'code' must be a valid SecretStr" in refused
    assert 'zz-999' not in refused


def test_an_httpurl_parameter_is_validated_by_pydantic(make_app):
    app = make_app()

    @app.post('/site')
    def site(site: pydantic.HttpUrl):
        return str(site)

    web = client(app)
    assert web.post_json('/site', {'site': 'https://example.org'}).text == 'https://example.org/'
    assert ("parameter 'site' must be a valid HttpUrl: URL scheme should be 'http' or 'https', "
            "got 'javascript:alert(1)'") in web.post_json('/site', {'site': 'javascript:alert(1)'}, status=400).text


def test_a_class_of_the_apps_that_pydantic_validates_is_built_by_pydantic(make_app):
    app = make_app()

    @app.get('/user')
    def user(handle: Handle):
        return handle.text

    web = client(app)
    assert web.get('/user?handle=Ann').text == 'ann'
    assert ("parameter 'handle' must be a valid Handle: Value error, a handle is letters only, got 'a1'"
            in web.get('/user?handle=a1', status=400).text)


def test_a_pydantic_type_pydantic_cannot_validate_here_refuses_the_route_rather_than_take_any_value(make_app):
    app = make_app()

    @app.post('/to')
    def to(address: NeedsAPackage):
        return 'sent'

    with pytest.raises(canister.CanisterError) as raised:
        client(app).post_json('/to', {'address': ['x']})
    assert ("canister: parameter 'address' of to (route /to) has the annotation "
            'test_params_pydantic_types.NeedsAPackage, which pydantic cannot validate here (ImportError: some-package '
            'is not installed): install what it needs, or annotate it otherwise') in str(raised.value)


# -- a subclass of str ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sent', [{'$ne': None}, ['a'], None, 5])
def test_a_str_subclass_parameter_takes_a_json_string_only(make_app, sent):
    app = make_app()

    @app.post('/user')
    def user(name: Username):
        return {'type': type(name).__name__, 'name': name}

    web = client(app)
    assert "parameter 'name' must be a string, got" in web.post_json('/user', {'name': sent}, status=400).text
    assert web.post_json('/user', {'name': 'bob'}).json == {'type': 'Username', 'name': 'bob'}


def test_an_optional_str_subclass_parameter_takes_json_null_as_none(make_app):
    app = make_app()

    @app.post('/user')
    def user(name: Optional[Username] = None):
        return repr(name)

    web = client(app)
    assert web.post_json('/user', {'name': None}).text == 'None'
    assert web.post_json('/user', {'name': 'bob'}).text == "'bob'"


# -- constraints inside Annotated -------------------------------------------------------------------------------------

def _items_app(make_app: Any) -> bottle.Bottle:
    app = make_app()

    @app.get('/field')
    def field(limit: Annotated[int, pydantic.Field(ge=1, le=100)] = 10):
        return {'limit': limit}

    @app.get('/le')
    def le(limit: Annotated[int, annotated_types.Le(100)] = 10):
        return {'limit': limit}

    @app.get('/conint')
    def conint(limit: pydantic.conint(ge=1, le=100) = 10):  # type: ignore[valid-type]
        return {'limit': limit}

    @app.get('/constr')
    def constr(n: pydantic.constr(max_length=5)):  # type: ignore[valid-type]
        return {'n': n}

    @app.get('/strings')
    def strings(n: Annotated[str, pydantic.StringConstraints(max_length=5)]):
        return {'n': n}
    return app


@pytest.mark.parametrize('path, problem', [
    ('/field?limit=100000000', 'Input should be less than or equal to 100'),
    ('/field?limit=-5', 'Input should be greater than or equal to 1'),
    ('/le?limit=101', 'Input should be less than or equal to 100'),
    ('/conint?limit=0', 'Input should be greater than or equal to 1'),
])
def test_a_bound_inside_annotated_is_enforced_with_a_400_in_pydantics_words(make_app, path, problem):
    response = client(_items_app(make_app)).get(path, status=400)
    assert "parameter 'limit' must meet the constraints of its annotation: %s, got '%s'" % (
        problem, path.split('=')[1]) in response.text


@pytest.mark.parametrize('path', ['/constr', '/strings'])
def test_a_length_inside_annotated_is_enforced(make_app, path):
    web = client(_items_app(make_app))
    assert ("parameter 'n' must meet the constraints of its annotation: String should have at most 5 characters, "
            "got 'xxxxxx'") in web.get(path + '?n=xxxxxx', status=400).text
    assert web.get(path + '?n=xxxxx').json == {'n': 'xxxxx'}


def test_values_within_the_bounds_pass_and_the_default_is_left_alone(make_app):
    web = client(_items_app(make_app))
    assert web.get('/field?limit=100').json == {'limit': 100}
    assert web.get('/field').json == {'limit': 10}
    assert web.get('/conint?limit=1').json == {'limit': 1}


def test_a_bound_is_enforced_on_a_json_value_a_url_argument_an_optional_and_a_lists_items(make_app):
    app = make_app()

    @app.post('/items/<count>')
    def items(count: Annotated[int, annotated_types.Le(10)], page: Optional[Annotated[int, annotated_types.Ge(1)]] = None,
              ids: List[Annotated[int, annotated_types.Lt(5)]] = ()):  # noqa: B006
        return {'count': count, 'page': page, 'ids': list(ids)}

    web = client(app)
    assert web.post_json('/items/3', {'page': None, 'ids': [1, 4]}).json == {'count': 3, 'page': None, 'ids': [1, 4]}
    assert "parameter 'count' must meet the constraints of its annotation" in web.post_json(
        '/items/11', {}, status=400).text
    assert 'Input should be greater than or equal to 1, got 0' in web.post_json('/items/3', {'page': 0}, status=400).text
    assert "parameter 'ids' (at ids[1]) must meet the constraints of its annotation: Input should be less than 5, got 7" \
        in web.post_json('/items/3', {'ids': [1, 7]}, status=400).text


def test_a_constraint_canister_does_not_check_is_a_warning_when_the_route_is_added(make_app, log_dir):
    app = make_app()

    @app.post('/tags')
    def tags(tags: Annotated[List[str], annotated_types.MaxLen(3)]):
        return {'tags': tags}

    assert client(app).post_json('/tags', {'tags': ['a', 'b', 'c', 'd']}).json == {'tags': ['a', 'b', 'c', 'd']}
    assert any("Route POST /tags: parameter 'tags': the constraints MaxLen(max_length=3) of its annotation are not "
               'enforced' in line for line in warning_lines(log_dir))


def test_without_pydantic_a_constraint_inside_annotated_is_a_warning(make_app, log_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, 'pydantic', None)  # (as if pydantic were not installed: its import fails)
    app = make_app()

    @app.get('/items')
    def items(limit: Annotated[int, annotated_types.Le(100)] = 10):
        return {'limit': limit}

    assert client(app).get('/items?limit=1000').json == {'limit': 1000}
    assert any("Route GET /items: parameter 'limit': the constraints Le(le=100) of its annotation are not enforced, "
               'since pydantic cannot validate here (ModuleNotFoundError' in line for line in warning_lines(log_dir))


def test_a_route_without_constraints_binds_as_before_and_says_nothing(make_app, log_dir):
    app = make_app()

    @app.get('/plain')
    def plain(q: Annotated[str, 'a note of the app\'s'], n: Annotated[int, pydantic.Field(description='no bound')] = 1):
        return {'q': q, 'n': n}

    assert client(app).get('/plain?q=x&n=-3').json == {'q': 'x', 'n': -3}
    assert warning_lines(log_dir) == []


def test_a_bound_is_enforced_on_a_form_field_and_the_handler_gets_the_value_pydantic_gives_back(make_app):
    app = make_app()

    @app.post('/tag')
    def tag(tag: Annotated[str, pydantic.StringConstraints(to_lower=True, max_length=5)]):
        return tag

    web = client(app)
    assert web.post('/tag', {'tag': 'GREEN'}).text == 'green'
    assert ("parameter 'tag' must meet the constraints of its annotation: String should have at most 5 characters"
            in web.post('/tag', {'tag': 'yellow'}, status=400).text)


def test_json_null_for_a_plain_str_parameter_is_a_400(make_app):
    app = make_app()

    @app.post('/user')
    def user(name: str):
        return name

    assert "parameter 'name' must be a string, got None" in client(app).post_json('/user', {'name': None},
                                                                                   status=400).text


def test_a_secretstr_parameter_named_as_a_secret_says_so(make_app):
    app = make_app()

    @app.post('/login')
    def login(api_key: pydantic.SecretStr):
        return 'in'

    refused = client(app).post_json('/login', {'api_key': {'$ne': None}}, status=400).text
    assert "parameter 'api_key' must be a valid SecretStr: Input should be a valid string" in refused
    assert '$ne' not in refused


def test_an_emailstr_parameter_is_validated_or_without_email_validator_refuses_the_route(make_app):
    app = make_app()

    @app.post('/to')
    def to(to: pydantic.EmailStr):
        return to

    web = client(app)
    if importlib.util.find_spec('email_validator') is None:  # (not in the test extra: pydantic's [email] extra)
        with pytest.raises(canister.CanisterError, match="parameter 'to' of to .* pydantic cannot validate here "
                                                         r'\(ImportError: email-validator is not installed'):
            web.post_json('/to', {'to': ['x']})
    else:
        assert web.post_json('/to', {'to': 'ann@example.org'}).text == 'ann@example.org'
        assert "parameter 'to' must be a valid EmailStr" in web.post_json('/to', {'to': ['x']}, status=400).text
