"""Generated requests to the parameter kinds, secret names, form logins and Authorization headers of round 26.

Hypothesis builds JSON bodies (numbers written with every digit, an exponent, a sign; records in lists in
tuples; generic dataclasses; pydantic models in dataclasses; members with secret-looking names at any depth),
query strings and forms with secret-looking names, form logins against a users mapping holding odd stored
forms, and Authorization headers of every shape.  The apps run in-process under WebTest with
``catchall=True`` (a crash in a handler is Bottle's 500), as tests/test_hostile_input.py drives its app.

For every request: the status is below 500, no traceback is in the body, no value sent under a
secret-looking name (nor a password) is in the log, and a 400 for a typed route's JSON object names the
parameter.  ``CANISTER_FUZZ_EXAMPLES`` raises the number of examples for a longer hunt on one's machine.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import string
import time
import urllib.parse
from decimal import Decimal
from typing import Any, Dict, Generic, List, Optional, Tuple, TypeVar, Union

import bottle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import canister
from helpers import client, read_log
from param_kit import Price

EXAMPLES = int(os.environ.get('CANISTER_FUZZ_EXAMPLES', '40'))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
#: A request that takes longer than this is taken as a hang.
SLOW = 5.0

T = TypeVar('T')


@dataclasses.dataclass
class Order:
    prices: List[Price]
    tip: Optional[Decimal] = None
    api_keys: Optional[List[str]] = None
    card_number: Optional[Decimal] = None


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 1
    password: str = ''


@dataclasses.dataclass
class Crate(Generic[T]):
    value: T
    more: List[T] = dataclasses.field(default_factory=list)


class Login(BaseModel):
    user: str
    pin: int


class Money(BaseModel):
    amount: Decimal


@dataclasses.dataclass
class Account:
    login: Login
    cash: Money
    fee: Decimal
    share: Union[float, str] = 0.0
    backup_codes: Optional[List[int]] = None


#: Each typed route: its path, the parameter's name, its annotation.
ROUTES: List[Tuple[str, str, Any]] = [
    ('/order', 'order', Order),
    ('/orders', 'orders', List[Order]),
    ('/pair', 'pair', Tuple[List[Item], int]),
    ('/pairs', 'pairs', List[Tuple[List[Item], int]]),
    ('/crate', 'crate', Crate[Decimal]),
    ('/crates', 'crates', Crate[List[Item]]),
    ('/account', 'account', Account),
    ('/prices', 'prices', Dict[str, Decimal]),
]


def typed_app(make_app: Any) -> bottle.Bottle:
    app = make_app(catchall=True)
    for path, name, annotation in ROUTES:
        def one(value: Any) -> Dict[str, str]:
            return {'got': repr(value)[:200]}

        one.__code__ = one.__code__.replace(co_varnames=(name,) + one.__code__.co_varnames[1:])
        one.__annotations__ = {name: annotation}  # (the object itself: no text to evaluate)
        app.route(path, ['POST'], one)

    @app.route('/echo', ['GET', 'POST'])
    def echo(**params: Any) -> Dict[str, Any]:
        return {'names': sorted(map(str, params))}

    return app


# -- generated values --------------------------------------------------------------------------------

#: A secret's value: a text of its own that nothing else in a request or the log holds.
SECRETS = st.text(string.ascii_letters + string.digits, min_size=8, max_size=12).map(lambda text: 'Zq9' + text)


class Raw(str):
    """A JSON number written as it is (``1e999``, ``-0.0``, ``12345678901234567890.123``)."""


#: A secret number: digits of its own (``7319`` then seven more), found in the log by its integer part.
SECRET_NUMBERS = st.integers(10 ** 6, 10 ** 7 - 1).map(lambda n: Raw('7319%d%s' % (n, '.25')))


NUMBER_TEXTS = ['0', '-0', '-0.0', '1.5', '2.50', '1e3', '1E-400', '1e999', '-1e999', '12345678901234567890.123',
                '0.1', '1e-7', '123456789012345678901234567890', '5e-324', '1.7976931348623157e308', '1' * 4400,
                '1.' + '0' * 400 + '1', '9' * 20 + 'e20']
NUMBERS = st.one_of(st.sampled_from(NUMBER_TEXTS).map(Raw), st.integers(),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False).map(lambda number: Raw(str(number))))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20),
                    st.sampled_from(['red', '2024-05-31', '', 'a=b;token=x']))
#: Names of members: the record's own fields, and names built of pieces of secret words and others.
NAME_PIECES = ['pass', 'word', 'api', '_', 'keys', 'Keys', 'key', 'backup', 'codes', 'Codes', 'private', 'token',
               'pin', 'sig', 's', 'session', 'id', 'amount', 'prices', 'rate', 'note', 'tip', 'name', 'qty', 'value',
               'more', 'login', 'cash', 'fee', 'share', 'user', '[]', '[0]', '-', '.', 'x', 'Otp', 'otps', 'jwt']
FIELD_NAMES = ['amount', 'rate', 'note', 'prices', 'tip', 'api_keys', 'name', 'qty', 'password', 'value', 'more',
               'login', 'cash', 'fee', 'share', 'backup_codes', 'user', 'pin']
NAMES = st.one_of(st.sampled_from(FIELD_NAMES), st.lists(st.sampled_from(NAME_PIECES), min_size=1, max_size=4).map(''.join))


def secret_name(name: str) -> bool:
    return canister._is_secret_name(name)


@st.composite
def members(draw: Any, values: Any) -> Dict[str, Any]:
    """A JSON object: each member under a secret-looking name holds a secret (or something holding one)."""
    result: Dict[str, Any] = {}
    for name in draw(st.lists(NAMES, max_size=5, unique=True)):
        if secret_name(name):
            result[name] = draw(st.one_of(SECRETS, SECRET_NUMBERS, st.lists(st.one_of(SECRETS, SECRET_NUMBERS), max_size=2),
                                          SECRETS.map(lambda s: {'x': s})))
        else:
            result[name] = draw(values)
    return result


JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), members(inner)), max_leaves=25)


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (json.dumps(key), to_json(item)) for key, item in value.items())
    if isinstance(value, list):
        return '[%s]' % ', '.join(to_json(item) for item in value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


def secrets_in(value: Any, under_secret: bool = False) -> List[str]:
    """The secrets of a generated value (those texts starting ``Zq9``)."""
    if isinstance(value, Raw):
        return [value.partition('.')[0]] if value.startswith('7319') else []
    if isinstance(value, str):
        return [value] if value.startswith('Zq9') else []
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in secrets_in(item, under_secret or secret_name(key))]
    if isinstance(value, list):
        return [found for item in value for found in secrets_in(item, under_secret)]
    return []


PRICE = st.fixed_dictionaries({'amount': NUMBERS}, optional={'rate': NUMBERS, 'note': JSON_VALUES})
ORDER = st.fixed_dictionaries({'prices': st.lists(st.one_of(PRICE, JSON_VALUES), max_size=3)},
                              optional={'tip': NUMBERS,
                                        'api_keys': st.one_of(st.lists(SECRETS, max_size=2), SECRETS, SECRET_NUMBERS),
                                        'card_number': st.one_of(SECRET_NUMBERS, SECRETS,
                                                                 st.lists(SECRET_NUMBERS, max_size=2))})
ITEM = st.fixed_dictionaries({'name': st.one_of(st.text(max_size=5), NUMBERS)},
                             optional={'qty': st.one_of(NUMBERS, st.text(max_size=3)),
                                       'password': st.one_of(SECRETS, SECRET_NUMBERS, st.lists(SECRETS, max_size=2))})
PAIR = st.one_of(st.tuples(st.lists(st.one_of(ITEM, JSON_VALUES), max_size=3),
                           st.one_of(NUMBERS, JSON_VALUES)).map(list),
                 st.lists(st.lists(ITEM, max_size=2), max_size=3))
ACCOUNT = st.fixed_dictionaries(
    {'login': st.one_of(st.fixed_dictionaries({'user': st.text(max_size=5), 'pin': st.one_of(SECRETS, SECRET_NUMBERS)}),
                        JSON_VALUES),
     'cash': st.one_of(st.fixed_dictionaries({'amount': st.one_of(NUMBERS, st.text(max_size=5))}), JSON_VALUES),
     'fee': st.one_of(NUMBERS, JSON_VALUES)},
    optional={'share': st.one_of(NUMBERS, st.text(max_size=5)),
              'backup_codes': st.one_of(SECRETS, SECRET_NUMBERS,
                                        st.lists(st.one_of(SECRETS, SECRET_NUMBERS), max_size=2))})
SHAPES = {
    'order': ORDER, 'orders': st.lists(ORDER, max_size=2), 'pair': PAIR, 'pairs': st.lists(PAIR, max_size=2),
    'crate': st.fixed_dictionaries({'value': NUMBERS}, optional={'more': st.lists(NUMBERS, max_size=3)}),
    'crates': st.fixed_dictionaries({'value': st.lists(ITEM, max_size=2)},
                                    optional={'more': st.lists(st.lists(ITEM, max_size=2), max_size=2)}),
    'account': ACCOUNT, 'prices': members(NUMBERS),
}


@st.composite
def typed_requests(draw: Any) -> Tuple[str, str, str, List[str]]:
    """A route, its parameter's name, a JSON body and the secrets it holds."""
    path, name, _ = draw(st.sampled_from(ROUTES))
    value = draw(st.one_of(SHAPES[name], SHAPES[name], JSON_VALUES))
    extra = draw(members(JSON_VALUES))
    body = draw(st.sampled_from(['member', 'lone']))
    if body == 'member' or not isinstance(value, dict):
        extra.pop(name, None)
        whole = dict(extra, **{name: value})
    else:
        whole = dict(value)
    return path, name, to_json(whole), secrets_in(whole)


class LogWatch:
    """The log of one app, read from where the last check stopped."""

    def __init__(self, log_dir: Any) -> None:
        self.log_dir = log_dir
        self.seen = 0

    def new(self) -> str:
        log = read_log(self.log_dir)
        fresh, self.seen = log[self.seen:], len(log)
        return fresh


def check(response: Any, started: float, log: str, secrets: List[str], what: str) -> None:
    elapsed = time.monotonic() - started
    assert elapsed < SLOW, '%s took %.1f s' % (what, elapsed)
    assert response.status_int < 500, '%s -> %s\n%s' % (what, response.status, response.text[:800])
    assert 'Traceback' not in response.text, what
    for secret in secrets:
        assert secret not in log, '%s: %r in the log:\n%s' % (what, secret, log[-2000:])
        if response.status_int == 400:
            assert secret not in response.text, '%s: %r in the 400: %s' % (what, secret, response.text)


@FUZZ
@given(request=typed_requests())
def test_a_generated_json_body_for_records_decimals_and_tuples_is_answered_below_500(make_app, log_dir, request):
    app = getattr(make_app, 'app', None) or typed_app(make_app)
    make_app.app = app
    watch = getattr(make_app, 'watch', None) or LogWatch(log_dir)
    make_app.watch = watch
    path, name, text, secrets = request
    started = time.monotonic()
    response = client(app).post(path, text.encode(), headers={'Content-Type': 'application/json'}, expect_errors=True)
    what = 'POST %s %s' % (path, text[:300])
    check(response, started, watch.new(), secrets, what)
    if response.status_int == 400 and 'the JSON body' not in response.text and 'not valid JSON' not in response.text:
        assert repr(name) in response.text or name in response.text, '%s: %s' % (what, response.text)


# -- queries and forms with secret-looking names --------------------------------------------------------

QUERY_NAMES = st.lists(st.sampled_from(NAME_PIECES + ['%5F', '%70ass', 'P', 'W', 'D', '+', '%5B%5D']),
                       min_size=1, max_size=4).map(''.join)


@FUZZ
@given(pairs=st.lists(st.tuples(QUERY_NAMES, st.one_of(SECRETS, st.text(string.ascii_letters, max_size=6))), min_size=1,
                      max_size=5), form=st.booleans())
def test_a_secret_looking_name_in_a_query_or_form_keeps_its_value_out_of_the_log(make_app, log_dir, pairs, form):
    app = getattr(make_app, 'app', None) or typed_app(make_app)
    make_app.app = app
    watch = getattr(make_app, 'watch', None) or LogWatch(log_dir)
    make_app.watch = watch
    pairs = [(name, value if secret_name(urllib.parse.unquote_plus(name)) == value.startswith('Zq9') else
              ('Zq9' + value if secret_name(urllib.parse.unquote_plus(name)) else value.lstrip('Zq9') or 'v'))
             for name, value in pairs]
    query = '&'.join('%s=%s' % pair for pair in pairs)
    secrets = [value for _, value in pairs if value.startswith('Zq9')]
    started = time.monotonic()
    web = client(app)
    if form:
        response = web.post('/echo?' + query, query.encode(), headers={'Content-Type': 'application/x-www-form-urlencoded'},
                            expect_errors=True)
    else:
        response = web.get('/echo?' + query, expect_errors=True)
    check(response, started, watch.new(), secrets, query)


# -- form logins against odd users mappings ------------------------------------------------------------

QUICK_HASH = canister.hash_password('wonderland', 'pbkdf2', iterations=1000)
STORED = st.one_of(st.sampled_from([QUICK_HASH, QUICK_HASH.encode(), QUICK_HASH[:-3], QUICK_HASH + '$', '', '$', 'pbkdf2$',
                                    '$pbkdf2-sha256$1000$', '$2b$04$' + 'a' * 53, '$argon2id$v=19$m=8,t=1,p=1$',
                                    'wonderland', b'\xff\xfe', '\x00', 'pbkdf2_sha256$1$salt$hash']),
                   st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=2),
                   st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2), st.binary(max_size=20),
                   st.text(max_size=40))
B64 = st.sampled_from(['', 'A', 'AAAA', 'usYH4-u7Z3I-LiGaiyllMQ', 'c2FsdHNhbHQ', 'a/b+', '_-_-_', 'A' * 43])
STORED_SHAPES = st.one_of(
    st.builds('pbkdf2_sha256:{}:{}:{}'.format, st.sampled_from(['0', '1', '1000', '10' * 15, '', 'x']), B64, B64),
    st.builds('scrypt:{}:{}:{}:{}:{}'.format, st.sampled_from(['0', '1', '3', '1024', str(2 ** 40)]),
              st.sampled_from(['0', '1', '8', '10' * 10]), st.sampled_from(['0', '1', '10' * 10]), B64, B64),
    st.builds('$2b${}${}'.format, st.sampled_from(['04', '05', '32', '3x', '99', '']),  # (31: days, as bcrypt means)
              st.text('./ABCDEFGHIJabcdefghij0123456789', min_size=50, max_size=56)),
    st.builds('$argon2id$v={}$m={},t={},p={}${}${}'.format, st.sampled_from(['19', '16', '99']),
              st.sampled_from(['0', '1', '8', '64', str(2 ** 32)]), st.sampled_from(['0', '1', '2', str(2 ** 32)]),
              st.sampled_from(['0', '1', '2', str(2 ** 24 + 1)]), B64, B64),
    st.builds('sha256:{}'.format, st.text('0123456789abcdefXYZ', min_size=60, max_size=66)))
STORED = st.one_of(STORED, STORED_SHAPES, STORED_SHAPES.map(str.encode))
USER_NAMES = st.sampled_from(['alice', 'bob', 'carol', 'dave', '', ' alice', 'ALICE', 'al\u0131ce', 'a' * 300])


@FUZZ
@given(users=st.dictionaries(USER_NAMES, STORED, max_size=4), username=st.one_of(USER_NAMES, st.text(max_size=8)),
       password=st.one_of(st.just('wonderland'), SECRETS), address=st.integers(1, 250), typo=st.booleans(),
       lookup=st.sampled_from([None, None, False, [], (), {}]))
def test_a_form_login_against_any_stored_form_answers_200_or_401(make_app, log_dir, users, username, password, address,
                                                                   typo, lookup):
    if not hasattr(make_app, 'app'):
        app = make_app(catchall=True)
        make_app.watch = LogWatch(log_dir)

        @app.post('/login')
        def login(username: str = '', password: str = '') -> str:
            if not canister.log_in(username, password, make_app.users):
                bottle.abort(401, 'wrong user name or password')
            return 'user=%s' % canister.session.user

        make_app.app = app
    # the mapping itself, or a lookup answering None, False or an empty row for a name it lacks
    make_app.users = users if lookup is None else lambda name: users[name] if name in users else lookup
    secrets = [password] if password.startswith('Zq9') else []
    if typo:  # (a password typed into the name field: an unknown name is never shown)
        username = 'Zq9' + username + 'typo'
        secrets.append(username)
    started = time.monotonic()
    response = client(make_app.app, REMOTE_ADDR='10.9.%d.%d' % (address, len(users))).post(
        '/login', {'username': username, 'password': password}, expect_errors=True)
    what = 'login %r %r with %r' % (username, password, users)
    check(response, started, make_app.watch.new(), secrets, what)
    assert response.status_int in (200, 401, 429), '%s -> %s %s' % (what, response.status, response.text[:300])


# -- Authorization headers of every shape ---------------------------------------------------------------

JWT_SECRET = 'a-jwt-secret-of-32-bytes-or-more-0123456789'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


CLAIMS = st.dictionaries(st.sampled_from(['sub', 'exp', 'nbf', 'iat', 'aud', 'iss', 'jti', 'scope', 'roles', 'name']),
                         st.one_of(SCALARS, st.lists(SCALARS, max_size=2),
                                   st.dictionaries(st.text(max_size=3), SCALARS, max_size=2)),
                         max_size=6)
HEADERS = st.dictionaries(st.sampled_from(['alg', 'typ', 'kid', 'crit', 'jku', 'b64']),
                          st.one_of(st.sampled_from(['HS256', 'none', 'RS256', 'HS512', 'JWT', '']), SCALARS), max_size=4)


@st.composite
def authorizations(draw: Any) -> Tuple[str, List[str]]:
    scheme = draw(st.sampled_from(['Basic', 'basic', 'BASIC', 'Bearer', 'bearer', 'Token', 'Digest', '', 'Basic:', 'Bearer\t']))
    gap = draw(st.sampled_from([' ', '  ', '\t', '', ' \t ']))
    kind = draw(st.sampled_from(['basic', 'jwt', 'signed', 'text', 'b64']))
    secrets: List[str] = []
    if kind == 'basic':
        password = draw(SECRETS)
        secrets.append(password)
        user = draw(st.sampled_from(['alice', '', 'alice:x', '\u00e9', 'a' * 200, 'Zq9unknownuser']))
        if user == 'Zq9unknownuser':
            secrets.append(user)
        joiner = draw(st.sampled_from([':', '', '::']))
        raw = (user + joiner + password).encode(draw(st.sampled_from(['utf-8', 'latin-1', 'utf-16'])), 'replace')
        payload = base64.b64encode(raw).decode()
        payload = draw(st.sampled_from([payload, payload.rstrip('='), payload + '=', payload + ' x', payload[:-1]]))
    elif kind == 'jwt':
        parts = [b64(to_json(draw(HEADERS)).encode()), b64(to_json(draw(CLAIMS)).encode()), b64(draw(st.binary(max_size=40)))]
        payload = '.'.join(parts[:draw(st.integers(1, 3))]) + draw(st.sampled_from(['', '.', '..', '.x']))
    elif kind == 'signed':
        claims = draw(CLAIMS)
        head = {'alg': 'HS256', 'typ': 'JWT'}
        head.update(draw(HEADERS))
        signing = '%s.%s' % (b64(to_json(head).encode()), b64(to_json(claims).encode()))
        payload = signing + '.' + b64(hmac.new(JWT_SECRET.encode(), signing.encode(), hashlib.sha256).digest())
    elif kind == 'text':
        payload = draw(st.text(st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters='\x7f'), max_size=60))
    else:
        payload = base64.b64encode(draw(st.binary(max_size=60))).decode()
    return (scheme + gap + payload).strip(' \t'), secrets


@FUZZ
@given(authorization=authorizations(), path=st.sampled_from(['/me', '/maybe']), address=st.integers(1, 250))
def test_any_authorization_header_is_answered_below_500(make_app, log_dir, authorization, path, address):
    if not hasattr(make_app, 'app'):
        app = make_app(catchall=True, auth_basic_username='alice', auth_basic_password='wonderland',
                       auth_jwt_secret=JWT_SECRET, auth_jwt_algorithms='HS256')
        make_app.watch = LogWatch(log_dir)

        @app.get('/me')
        @canister.require_user
        def me() -> str:
            return 'user=%s' % canister.session.user

        @app.get('/maybe')
        def maybe() -> str:
            return 'user=%s' % canister.session.user

        make_app.app = app
    header, secrets = authorization
    started = time.monotonic()
    response = client(make_app.app, REMOTE_ADDR='10.8.%d.1' % address).get(
        path, headers={'Authorization': header}, expect_errors=True)
    check(response, started, make_app.watch.new(), secrets, 'GET %s Authorization: %r' % (path, header))
    assert response.status_int in (200, 400, 401, 403, 429, 431), '%r -> %s %s' % (header, response.status, response.text[:300])
