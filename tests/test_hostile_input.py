"""Hostile input: whatever a client sends, canister answers with a 4xx, never a crash.

One app uses every canister feature (tests/apps/hostile_app.py: Basic auth with a
pbkdf2 hash, Bearer JWT, a CORS origin list with credentials, CSRF, trusted
proxies, typed handlers, a session counter, login, ``require``).  Hypothesis
generates requests with arbitrary and malformed ``Authorization``, ``Cookie``,
``Origin``, ``Referer``, ``X-Forwarded-*``, ``Content-Type`` and ``Content-Length``
headers, query strings (with non-UTF-8 percent escapes), JSON, urlencoded and
multipart bodies, chunked bodies, and parameters that do not convert.  The app
runs in-process under WebTest (``catchall=True``, so a crash in a handler shows
as a 500 and a crash in canister's own WSGI entry raises), over the memory store,
over the SQLite store and over the Redis store (a real, private ``redis-server``
started for this module by tests/servers.py).

For every generated request:

* the status is 2xx, 3xx, 400, 401, 403, 404, 405, 413, 429 or 431 -- never 500;
* no exception escapes the WSGI app, the body never shows a traceback, and no
  response header holds CR or LF (a server would refuse to send it);
* right after it, a control client still gets 200 from ``/count`` with its
  counter exactly one higher, and 200 from ``/me`` with valid Basic credentials.

Header values are generated as a real server delivers them: latin-1 text without
CR, LF or NUL and without surrounding blanks.

The plain tests at the end pin the limits (413 from ``Content-Length`` alone, 431
for big ``Authorization``/``Cookie`` headers, both configurable; also through real
gunicorn and waitress servers) and every crash Hypothesis found, as minimal cases.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
import time
import urllib.parse
from typing import Any, Dict, Iterator, List, Optional, Tuple

import bottle
import pytest
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import client, read_log

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TESTS_DIR, 'apps'))
sys.path.insert(0, TESTS_DIR)
from hostile_app import (  # noqa: E402
    ALLOWED_ORIGIN, JWT_SECRET, PASSWORD, USERNAME, build_app,
)
from servers import chunked, raw_request, status_of  # noqa: E402

import jwt  # noqa: E402  (PyJWT, a test requirement)

ALLOWED_STATUSES = frozenset(range(200, 400)) | {400, 401, 403, 404, 405, 413, 429, 431}
#: The hostile app's body limit: big enough for "huge values", small enough to cross.
BODY_LIMIT = 256 * 1024
#: The control client's address; hostile requests never use it, so the login
#: throttle (10 failures per minute per client) never locks the control client out.
CONTROL_IP = '198.51.100.77'
CONTROL_BASIC = 'Basic ' + base64.b64encode(('%s:%s' % (USERNAME, PASSWORD)).encode()).decode()
#: Stands for the id of a real, live session in a generated Cookie header; replaced at send
#: time by the id of a session just created (logged in as ``victim``).
LIVE_SID = '<live-session>'
#: Stands for a client address no other request used (replaced at send time).
UNIQUE_ADDR = '<unique-address>'

HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------
# the app under attack, built once per store


class _NoCookies:
    """A WebTest cookie jar that keeps nothing: every hostile request sends
    exactly the headers it was generated with."""

    def add_cookie_header(self, request: Any) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass

    def clear(self) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        return iter(())


def make_request(method: str, path: str, query: str = '', headers: Optional[Dict[str, str]] = None,
                 stream: Any = None, body: bytes = b'', content_length: Optional[str] = None,
                 remote_addr: str = '127.0.0.1', host: str = 'localhost:80') -> webtest.TestRequest:
    """A WebTest request whose environ is exactly what is given (no header is added or fixed)."""
    request = webtest.TestRequest.blank('/')
    environ = request.environ
    for key in [k for k in environ if k.startswith('HTTP_') or k in ('CONTENT_TYPE', 'CONTENT_LENGTH')]:
        del environ[key]
    environ.update({
        'REQUEST_METHOD': method, 'SCRIPT_NAME': '', 'PATH_INFO': path, 'QUERY_STRING': query,
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'REMOTE_ADDR': remote_addr, 'HTTP_HOST': host, 'wsgi.input': stream if stream is not None else io.BytesIO(body),
    })
    for name, value in (headers or {}).items():
        key = name.upper().replace('-', '_')
        environ[key if key in ('CONTENT_TYPE', 'CONTENT_LENGTH') else 'HTTP_' + key] = value
    if content_length is not None:
        environ['CONTENT_LENGTH'] = content_length
    elif body and 'HTTP_TRANSFER_ENCODING' not in environ:
        environ['CONTENT_LENGTH'] = str(len(body))
    return request


class Target:
    """The hostile app over one store, a hostile client and a control client."""

    def __init__(self, store: str, tmp: Any, url: Optional[str] = None) -> None:
        self.store = store
        self.log_dir = tmp / 'logs'
        if url is None:
            url = 'memory' if store == 'memory' else 'sqlite:///' + str(tmp / 'sessions.db')
        self.app = build_app(catchall=True, log_path=str(self.log_dir), session_store=url,
                             max_body_size=BODY_LIMIT)
        self.hostile = webtest.TestApp(self.app, lint=False, cookiejar=_NoCookies())
        self.control = client(self.app, REMOTE_ADDR=CONTROL_IP)
        self.counter = 0
        self.requests = 0
        self.victim = client(self.app, REMOTE_ADDR=CONTROL_IP)

    def live_sid(self) -> str:
        """The id of a new session, logged in as ``victim``."""
        self.victim.reset()
        answer = self.victim.get('/login?name=victim')
        assert answer.status_int == 200
        return self.victim.cookies['session_id']

    def send(self, method: str, path: str, query: str = '', headers: Optional[Dict[str, str]] = None,
             body: bytes = b'', content_length: Optional[str] = None, remote_addr: str = '127.0.0.1',
             host: str = 'localhost:80') -> webtest.TestResponse:
        """One hostile request, its environ built by hand (as a server would)."""
        self.requests += 1
        if remote_addr == UNIQUE_ADDR:
            remote_addr = '100.%d.%d.%d' % (64 + self.requests // 65536 % 64, self.requests // 256 % 256,
                                            self.requests % 256)
        if headers and LIVE_SID in headers.get('Cookie', ''):
            headers = dict(headers, Cookie=headers['Cookie'].replace(LIVE_SID, self.live_sid()))
        request = make_request(method, path, query, headers, io.BytesIO(body), body, content_length,
                               remote_addr, host)
        return self.hostile.do_request(request, status=None, expect_errors=True)

    def check(self, response: webtest.TestResponse, what: str) -> None:
        """The rule every hostile request must follow, then the control requests."""
        status = response.status_int
        assert status in ALLOWED_STATUSES, '%s -> %s\n%s' % (what, response.status, response.body[:2000])
        # (the first line of any traceback: a client's own text, echoed in a refusal, may hold the word)
        assert b'Traceback (most recent call last)' not in response.body, what
        for name, value in response.headerlist:
            assert '\r' not in value and '\n' not in value, '%s: header %s: %r' % (what, name, value)
            value.encode('latin-1')
        self.check_control(what)

    def check_control(self, what: str = '') -> None:
        answer = self.control.get('/count', expect_errors=True)
        assert answer.status_int == 200, 'after %s, /count -> %s %s' % (what, answer.status, answer.body[:300])
        self.counter += 1
        assert answer.json == {'counter': self.counter}, 'after %s: %r' % (what, answer.json)
        answer = self.control.get('/me', headers={'Authorization': CONTROL_BASIC}, expect_errors=True)
        assert answer.status_int == 200, 'after %s, /me -> %s %s' % (what, answer.status, answer.body[:300])
        assert answer.json == {'user': USERNAME}


@pytest.fixture(scope='module', params=['memory', 'sqlite', 'redis'])
def target(request: Any, tmp_path_factory: Any) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp('hostile-%s' % request.param)
    url = request.getfixturevalue('module_redis_server').url if request.param == 'redis' else None
    result = Target(request.param, tmp, url)
    result.check_control('start')
    if url is not None:  # the control session really lives in that redis-server
        import redis
        assert redis.Redis.from_url(url).keys('canister:session:*'), 'no session in %s' % url
    yield result
    result.app.uninstall(True)


def send_and_check(target: Target, **request: Any) -> webtest.TestResponse:
    what = 'request %s' % _show(request)
    try:
        response = target.send(**request)
    except Exception as error:
        raise AssertionError('%s raised out of the WSGI app (a server answers 500): %s: %s'
                             % (what, type(error).__name__, error)) from error
    target.check(response, what)
    return response


def _show(request: Dict[str, Any]) -> str:
    shown = {}
    for key, value in request.items():
        text = repr(value)
        shown[key] = text if len(text) < 300 else text[:300] + '...(%d chars)' % len(text)
    return ', '.join('%s=%s' % item for item in shown.items())


# --------------------------------------------------------------------------
# strategies

ROUTES = ['/', '/ping', '/typed', '/upload', '/echo', '/items/7', '/hello/bob', '/count', '/login',
          '/logout', '/me', '/admin', '/nowhere']
PARAM_NAMES = ['n', 'flag', 'ids', 'ratio', 'file', 'note', 'count', 'name', 'times', 'detail', 'item_id',
               'access_token', 'password']
METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']
#: Method and path pairs the app routes (most generated requests get past routing).
ROUTED = [('GET', '/'), ('GET', '/ping'), ('GET', '/typed'), ('POST', '/typed'), ('PUT', '/typed'),
          ('PATCH', '/typed'), ('DELETE', '/typed'), ('POST', '/upload'), ('GET', '/echo'), ('POST', '/echo'),
          ('GET', '/items/7'), ('GET', '/hello/bob'), ('GET', '/count'), ('HEAD', '/count'), ('GET', '/login'),
          ('POST', '/login'), ('GET', '/logout'), ('GET', '/me'), ('GET', '/admin'), ('GET', '/sid'),
          ('OPTIONS', '/typed')]
#: The routes that read a body.
WITH_BODY = [('POST', '/typed'), ('POST', '/typed'), ('PUT', '/typed'), ('PATCH', '/typed'), ('DELETE', '/typed'),
             ('GET', '/typed'), ('POST', '/upload'), ('POST', '/upload'), ('POST', '/echo'), ('POST', '/echo'),
             ('POST', '/login'), ('GET', '/count')]

#: Latin-1 text as a server delivers a header value: no CR, LF or NUL, no surrounding blanks.
latin1 = st.characters(min_codepoint=1, max_codepoint=255, blacklist_characters='\r\n')
header_text = st.text(latin1, max_size=60).map(lambda text: text.strip(' \t'))
ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
any_text = st.text(max_size=30)  # any Unicode (for values that get encoded)
big_sizes = st.sampled_from([8191, 8192, 8193, 9000, 20000])

interesting_strings = st.sampled_from([
    '', ' ', '0', '-0', '1', '-1', '007', ' 7 ', '1_000', '0x10', '1e3', '1e999', '-1e999', 'nan', 'NaN',
    'inf', '-inf', 'Infinity', '1.5', '.5', '5.', 'true', 'false', 'yes', 'no', 'on', 'off', 'maybe',
    'True ', '\u00b2', '\u00b9\u00b2', '\u0663', '\uff11', '9' * 5000, '9' * 400, '1' + '0' * 400,
    '[1,2]', '{}', 'null', '\x00', '\u00e9', '\u2028', '\ud83d\ude00',
])
interesting_json = st.sampled_from([
    None, True, False, 0, -1, 1.5, 10 ** 400, -(10 ** 400), 10 ** 308 * 10, 2 ** 63, 1e308, -0.0,
    float('inf'), float('-inf'), float('nan'), '', 'x' * 100000, [], {}, [[1]], [1, '2', None], [True],
    {'n': 1}, [10 ** 400], ['1e999'], '\ud800',
])
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text, interesting_json)
json_values = st.recursive(json_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.one_of(st.sampled_from(PARAM_NAMES), any_text),
                                                    children, max_size=4)), max_leaves=12)


def _b64(data: bytes, urlsafe: bool = False) -> str:
    if urlsafe:
        return base64.urlsafe_b64encode(data).decode().rstrip('=')
    return base64.b64encode(data).decode()


def wsgi_text(text: str) -> str:
    """``text`` as a WSGI server puts it in the environ: its UTF-8 bytes read as latin-1."""
    return text.encode('utf-8', 'surrogatepass').decode('latin-1')


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode('utf-8', 'surrogatepass')


def _percent(data: bytes) -> str:
    return ''.join('%%%02X' % byte for byte in data)


@st.composite
def basic_credentials(draw: Any) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:  # well-formed, user and password arbitrary (sometimes right)
        user = draw(st.one_of(st.just(USERNAME), any_text.filter(lambda t: ':' not in t)))
        password = draw(st.one_of(st.just(PASSWORD), any_text))
        return _b64(('%s:%s' % (user, password)).encode('utf-8', 'surrogatepass'))
    if kind == 1:  # base64 of arbitrary bytes (not UTF-8, no colon...)
        return _b64(draw(st.binary(max_size=60)))
    if kind == 2:
        return draw(header_text)
    if kind == 3:  # broken padding / urlsafe alphabet / spaces inside
        return _b64(draw(st.binary(min_size=1, max_size=30)), urlsafe=True) + draw(st.sampled_from(['', '=', '===', ' x']))
    if kind == 4:  # huge
        return 'A' * draw(big_sizes)
    return draw(st.sampled_from(['', ':', 'Og==', '6', '=====', '\u00e9\u00e9']))


@st.composite
def bearer_tokens(draw: Any) -> str:
    kind = draw(st.integers(0, 6))
    if kind == 6:  # valid, with arbitrary extra claims
        claims = draw(st.dictionaries(st.sampled_from(['sub', 'name', 'roles', 'x', 'nbf']), json_values, max_size=4))
        claims['exp'] = int(time.time()) + draw(st.sampled_from([-100, -5, 5, 3600]))
        try:
            return jwt.encode(claims, JWT_SECRET, algorithm='HS256')
        except (TypeError, ValueError, OverflowError):
            return jwt.encode({'sub': 'x', 'exp': claims['exp']}, JWT_SECRET, algorithm='HS256')
    if kind == 0:  # forged: any JSON header and payload, any signature
        header = draw(st.one_of(json_values, st.fixed_dictionaries(
            {'alg': st.one_of(st.sampled_from(['HS256', 'none', 'RS256', 'HS512', 'ES256', '']), json_values)},
            optional={'typ': json_values, 'kid': json_values, 'crit': json_values})))
        payload = draw(json_values)
        parts = [_b64(_json_bytes(header), True), _b64(_json_bytes(payload), True),
                 _b64(draw(st.binary(max_size=40)), True)]
        return '.'.join(parts[:draw(st.integers(1, 3))]) + draw(st.sampled_from(['', '.', '..x']))
    if kind == 1:  # signed with the right secret, arbitrary claims
        claims = draw(st.dictionaries(st.sampled_from(['sub', 'exp', 'nbf', 'iat', 'aud', 'iss', 'x']),
                                      json_scalars, max_size=5))
        try:
            return jwt.encode(claims, JWT_SECRET, algorithm='HS256')
        except (TypeError, ValueError, OverflowError):
            return jwt.encode({'sub': 'x'}, JWT_SECRET, algorithm='HS256')
    if kind == 2:  # signed with another secret
        return jwt.encode({'sub': 'mallory', 'exp': int(time.time()) + 60}, 'not-the-secret' * 4,
                          algorithm='HS256')
    if kind == 3:  # a header nested deeply enough to blow a recursive parser
        depth = draw(st.sampled_from([500, 1100, 2000]))
        return _b64(b'[' * depth + b']' * depth, True) + '.e30.' + _b64(b'x', True)
    if kind == 4:
        return 'A' * draw(big_sizes)
    return draw(header_text)


authorization = st.one_of(
    st.builds(lambda scheme, creds: scheme + creds,
              st.sampled_from(['Basic ', 'basic ', 'BASIC  ', 'Basic\t']), basic_credentials()),
    st.builds(lambda scheme, token: scheme + token,
              st.sampled_from(['Bearer ', 'bearer ', 'Bearer  ']), bearer_tokens()),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(['Digest ', 'Custom ', 'Basic', 'Bearer']),
              header_text),
    header_text,
)

session_ids = st.one_of(
    st.text(st.sampled_from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
            min_size=43, max_size=130),
    header_text, st.just(''),
)
cookie_pairs = st.one_of(
    st.builds(lambda sid: 'session_id=' + sid, session_ids),
    st.just('session_id=' + LIVE_SID), st.just('session_id=' + LIVE_SID),
    st.builds(lambda name, value: name + '=' + value, ascii_text, header_text),
    header_text,
)
cookies = st.one_of(
    st.lists(cookie_pairs, max_size=4).map('; '.join),
    st.builds(lambda size: 'session_id=' + 'A' * size, big_sizes),
)

origins = st.one_of(
    st.sampled_from([ALLOWED_ORIGIN, ALLOWED_ORIGIN.upper(), ALLOWED_ORIGIN + '/', ALLOWED_ORIGIN + ':443',
                     'https://a.example.org', 'https://x.y.example.org', 'https://example.org',
                     'https://.example.org', 'https://a..example.org', 'http://localhost', 'http://localhost:80',
                     'null', 'file://', 'https://evil.example', 'https://app.example.com.evil.example',
                     '*', '', 'https://', '://']),
    st.builds(lambda scheme, host: scheme + '://' + host, st.sampled_from(['http', 'https', 'HTTPS', 'ftp', '']),
              header_text),
    header_text,
)
referers = st.one_of(
    st.sampled_from(['http://[', 'http://[::1', 'https://[::1]:99999/', 'http://a]b/', 'http://localhost/x',
                     ALLOWED_ORIGIN + '/page', 'https://evil.example/', '/relative', '//evil.example/',
                     'http://:80', 'http://user:pass@localhost/', 'http://%zz/', 'http://localhost:notaport/']),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(['http://', 'https://', 'http://[', '']),
              header_text),
    header_text,
)
forwarded_for = st.one_of(
    st.lists(st.one_of(st.ip_addresses().map(str), st.ip_addresses().map(str), header_text,
                       st.sampled_from(['unknown', '::1', '127.0.0.1', '10.1.2.3', '1.2.3.4:80', '[::1]:80',
                                        'fe80::1%eth0', '999.1.1.1', '-', 'a' * 100])),
             max_size=6).map(', '.join),
    header_text,
).filter(lambda value: CONTROL_IP not in value)
content_types = st.one_of(
    st.sampled_from(['application/json', 'application/json; charset=latin-1', 'application/vnd.api+json',
                     'APPLICATION/JSON', 'application/x-www-form-urlencoded',
                     'application/x-www-form-urlencoded; charset=utf-8', 'multipart/form-data',
                     'multipart/form-data; boundary=', 'multipart/form-data; boundary=XyZ',
                     'multipart/form-data; boundary="XyZ"', 'multipart/mixed; boundary=XyZ', 'text/plain',
                     'application/octet-stream', ';', '']),
    header_text,
)
content_lengths = st.one_of(
    st.integers(0, BODY_LIMIT * 2).map(str),
    st.sampled_from(['', '0', '-1', '+5', ' 5', '5 ', '0x10', '1e3', '00000000000000000000000000000012',
                     '99999999999999999999999999999', '\u00b2', '\u00b3\u00b9', '\u00bd', '1,2', '5, 5',
                     str(BODY_LIMIT), str(BODY_LIMIT + 1)]),
    header_text,
)
#: Mostly a new address for every request, so the login throttle (429 after 10 failures per
#: client and minute) neither hides the authentication code nor makes a failure flaky while
#: Hypothesis shrinks it; sometimes any address, or a few shared ones, to reach the throttle.
remote_addrs = st.one_of(
    st.just(UNIQUE_ADDR), st.just(UNIQUE_ADDR), st.ip_addresses().map(str),
    st.sampled_from(['127.0.0.1', '10.9.8.7', '::1', '192.0.2.10', '203.0.113.5']),
    st.sampled_from(['', '-', 'unix:/tmp/sock', 'not-an-ip']),
).filter(lambda addr: addr != CONTROL_IP)


@st.composite
def query_component(draw: Any, names: bool = False) -> str:
    kind = draw(st.integers(0, 5))
    if names and kind == 0:
        return draw(st.sampled_from(PARAM_NAMES))
    if kind <= 1:
        return urllib.parse.quote(draw(st.one_of(interesting_strings, any_text)).encode('utf-8', 'surrogatepass'))
    if kind == 2:  # percent escapes of arbitrary bytes: often not UTF-8
        return _percent(draw(st.binary(max_size=12)))
    if kind == 3:  # raw latin-1 characters, as some servers pass them through
        return draw(st.text(st.characters(min_codepoint=33, max_codepoint=255, blacklist_characters='&=#'),
                            max_size=12))
    if kind == 4:  # broken escapes
        return draw(st.sampled_from(['%', '%G1', '%e9%', '%%', '%u00e9', '%C3', '%C3%28', '%ED%A0%80', '%00',
                                     '%FF%FE', '+', '%2B']))
    return wsgi_text(draw(interesting_strings).replace('&', '%26').replace('=', '%3D').replace('#', '%23'))


query_pairs = st.lists(st.tuples(query_component(names=True), query_component()), max_size=6)


@st.composite
def query_strings(draw: Any) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60))
    separator = draw(st.sampled_from(['&', '&', ';', '&&']))
    return separator.join(k + ('=' + v if v or draw(st.booleans()) else '') for k, v in draw(query_pairs))


@st.composite
def typed_queries(draw: Any) -> str:
    """Queries for /typed: a valid ``n`` most of the time, so the other parameters get converted too."""
    pairs = []
    if draw(st.integers(0, 3)):
        pairs.append('n=' + draw(st.sampled_from(['1', '-7', '0', '12345678901234567890'])))
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(['flag', 'ids', 'ids', 'ratio', 'n', 'access_token']))
        value = draw(st.one_of(st.sampled_from(['1', '2', 'true', 'off', '0.5', '']), query_component()))
        pairs.append(name + '=' + value)
    return '&'.join(pairs)


DEEP = [b'[' * 10000 + b']' * 10000, b'{"n":' * 10000 + b'1' + b'}' * 10000, b'[' * 100000,
        b'{"ids": ' + b'[' * 990 + b']' * 990 + b'}', b'{"n": 1, "ids": [' + b'1,' * 20000 + b'1]}']


@st.composite
def json_bodies(draw: Any) -> bytes:
    kind = draw(st.integers(0, 7))
    if kind == 7:  # an object for /typed: a valid n, awkward values for the others
        document = {'n': draw(st.sampled_from([1, -3, 10 ** 18, '7']))}
        for name in draw(st.lists(st.sampled_from(['flag', 'ids', 'ratio', 'note', 'password']), max_size=4)):
            document[name] = draw(st.one_of(interesting_json, json_scalars, st.lists(json_scalars, max_size=3)))
        text = json.dumps(document)
    elif kind <= 2:  # an object with the handlers' parameter names and awkward values
        document = draw(st.dictionaries(st.sampled_from(PARAM_NAMES),
                                        st.one_of(interesting_json, json_values,
                                                  interesting_strings), max_size=5))
        if draw(st.booleans()):
            document.setdefault('n', 1)
        text = json.dumps(document)
    elif kind == 3:  # any JSON value (arrays, strings, numbers ... instead of an object)
        text = json.dumps(draw(json_values))
    elif kind == 4:
        return draw(st.sampled_from(DEEP))
    elif kind == 5:  # invalid JSON
        return draw(st.sampled_from([b'{', b'{"n": 1,}', b'{"n": 1', b"{'n': 1}", b'', b'nul', b'{"n": 01}',
                                     b'\xff\xfe{\x00}\x00', b'{"n": "\xe9"}', b'{"n": "\xed\xa0\x80"}',
                                     b'\xef\xbb\xbf{"n": 1}', b'{"n": 1}{"n": 2}', b'{"n": 1' + b' ' * 300000,
                                     b'{"n":' + b'9' * 5000 + b'}', b'{"ratio":' + b'9' * 400 + b'}',
                                     b'{"ratio": 1e400, "n": 2}']))
    else:
        return draw(st.binary(max_size=80))
    encoding = draw(st.sampled_from(['utf-8', 'utf-8', 'utf-16', 'utf-32-le', 'latin-1']))
    return text.encode(encoding, 'surrogatepass') if encoding != 'latin-1' else text.encode('latin-1', 'replace')


@st.composite
def form_bodies(draw: Any) -> bytes:
    if draw(st.integers(0, 5)) == 0:  # huge value
        return b'n=1&note=' + b'x' * draw(st.sampled_from([1000, 100000, BODY_LIMIT - 20, BODY_LIMIT + 5]))
    return draw(query_strings()).encode('latin-1')


@st.composite
def multipart_bodies(draw: Any) -> Tuple[bytes, str]:
    boundary = draw(st.sampled_from([b'XyZ', b'----b0und', b'a' * 70, b'\xe9t\xe9']))
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from([n.encode() for n in PARAM_NAMES]),
                              st.binary(max_size=10).filter(lambda b: b'"' not in b and b'\r' not in b)))
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if draw(st.booleans()):
            filename = draw(st.one_of(st.sampled_from([b'a.txt', b'', b'../../etc/passwd', b'\xe9\xff.bin',
                                                       b'C:\\x\\y.txt', b'a' * 300]),
                                      st.binary(max_size=20).filter(lambda b: b'"' not in b and b'\r' not in b)))
            disposition += b'; filename="' + filename + b'"'
        headers = [draw(st.sampled_from([disposition, disposition, b'Content-Disposition: attachment',
                                         b'Content-Disposition: form-data', b'X: y']))]
        if draw(st.booleans()):
            headers.append(b'Content-Type: ' + draw(st.sampled_from([b'text/plain', b'application/json',
                                                                     b'image/png', b'\xff'])))
        content = draw(st.one_of(st.binary(max_size=60), st.sampled_from([b'1', b'true', b'1.5', b'x' * 200000]),
                                 interesting_strings.map(lambda s: s.encode('utf-8', 'surrogatepass'))))
        parts.append(b'--' + boundary + b'\r\n' + b'\r\n'.join(headers) + b'\r\n\r\n' + content + b'\r\n')
    ending = draw(st.sampled_from([b'--' + boundary + b'--\r\n', b'--' + boundary + b'--', b'', b'--' + boundary,
                                   b'--' + boundary + b'\r\n', b'garbage']))
    body = b''.join(parts) + ending
    declared = draw(st.sampled_from([boundary, boundary, b'other', b'']))
    content_type = 'multipart/form-data; boundary=' + declared.decode('latin-1')
    if draw(st.integers(0, 5)) == 0:
        content_type = 'multipart/form-data'
    return body, content_type


@st.composite
def bodies(draw: Any) -> Tuple[bytes, Dict[str, str]]:
    """A body and the headers that describe it (sometimes wrongly)."""
    kind = draw(st.sampled_from(['none', 'json', 'json', 'form', 'form', 'multipart', 'multipart', 'raw']))
    headers: Dict[str, str] = {}
    if kind == 'none':
        body = b''
    elif kind == 'json':
        body = draw(json_bodies())
        headers['Content-Type'] = draw(st.sampled_from(['application/json', 'application/json; charset=utf-8',
                                                         'application/problem+json', 'Application/JSON ']))
    elif kind == 'form':
        body = draw(form_bodies())
        headers['Content-Type'] = 'application/x-www-form-urlencoded'
    elif kind == 'multipart':
        body, headers['Content-Type'] = draw(multipart_bodies())
    else:
        body = draw(st.binary(max_size=200))
        headers['Content-Type'] = draw(content_types)
    if draw(st.integers(0, 4)) == 0:  # the Content-Type of another kind of body
        headers['Content-Type'] = draw(content_types)
    if body and draw(st.integers(0, 7)) == 0:
        body = chunked(body, draw(st.integers(0, 3)))
        headers['Transfer-Encoding'] = draw(st.sampled_from(['chunked', 'Chunked', 'gzip, chunked']))
    return body, headers


paths = st.one_of(
    st.sampled_from(ROUTES),
    st.builds(lambda p: '/items/' + wsgi_text(p), st.one_of(interesting_strings, st.text(latin1, max_size=10))),
    st.builds(lambda p: '/hello/' + p, st.text(st.characters(min_codepoint=33, max_codepoint=255), max_size=12)),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30).map(lambda p: '/' + p),
)
methods = st.one_of(st.sampled_from(METHODS), st.sampled_from(['post', 'Get', 'TRACE', 'CONNECT', 'PROPFIND',
                                                                'M-SEARCH', 'X' * 50, '']))
#: (method, path): mostly routed pairs, sometimes anything.
request_lines = st.one_of(st.sampled_from(ROUTED), st.sampled_from(ROUTED), st.sampled_from(ROUTED),
                          st.tuples(methods, paths))

HEADER_STRATEGIES = {
    'Authorization': authorization,
    'Cookie': cookies,
    'Origin': origins,
    'Referer': referers,
    'X-Forwarded-For': forwarded_for,
    'X-Forwarded-Proto': st.one_of(st.sampled_from(['https', 'http', 'HTTPS', 'https, http', 'http, https', '']),
                                   header_text),
    'X-Forwarded-Host': st.one_of(st.sampled_from(['app.example.com', 'localhost', 'localhost:80', 'a:b:c', '']),
                                  header_text),
    'Accept': st.sampled_from(['application/json', 'text/html', '*/*', 'application/json;q=0', '']),
    'X-Request-ID': st.one_of(st.sampled_from(['abc-123', 'a' * 128, 'a' * 129, 'x y', '../../']), header_text),
    'Access-Control-Request-Method': st.one_of(st.sampled_from(METHODS), header_text),
    'Access-Control-Request-Headers': st.one_of(
        st.sampled_from(['content-type', 'Content-Type, Authorization', 'x-evil', '*', ',,,']), header_text),
}


@st.composite
def header_sets(draw: Any, names: Optional[List[str]] = None) -> Dict[str, str]:
    chosen = draw(st.lists(st.sampled_from(names or sorted(HEADER_STRATEGIES)), unique=True, max_size=6))
    return {name: draw(HEADER_STRATEGIES[name]) for name in chosen}


hosts = st.one_of(st.sampled_from(['localhost:80', 'localhost', 'LOCALHOST', 'app.example.com', '127.0.0.1:80',
                                   '[::1]:80', '']), header_text)


# --------------------------------------------------------------------------
# properties


@settings(HYPOTHESIS, max_examples=240)
@given(line=request_lines, headers=header_sets(), remote_addr=remote_addrs)
def test_hostile_headers(target: Target, line: Tuple[str, str], headers: Dict[str, str], remote_addr: str) -> None:
    """Arbitrary Authorization, Cookie, Origin, Referer, X-Forwarded-* ... headers."""
    method, path = line
    body = b'n=1' if method in ('POST', 'PUT', 'PATCH', 'DELETE') else b''
    if body:
        headers.setdefault('Content-Type', 'application/x-www-form-urlencoded')
    send_and_check(target, method=method, path=path, headers=headers, body=body, remote_addr=remote_addr)


@settings(HYPOTHESIS, max_examples=200)
@given(line=st.one_of(st.sampled_from(ROUTED), st.sampled_from([('GET', '/typed'), ('DELETE', '/typed')]),
                     st.tuples(st.sampled_from(['GET', 'POST', 'DELETE']), paths)),
       query=st.one_of(query_strings(), typed_queries()))
def test_hostile_query_strings(target: Target, line: Tuple[str, str], query: str) -> None:
    """Query strings with non-UTF-8 escapes and values that do not convert; odd paths."""
    method, path = line
    send_and_check(target, method=method, path=path, query=query)


@settings(HYPOTHESIS, max_examples=240)
@given(line=st.sampled_from(WITH_BODY), body=bodies(), query=st.one_of(st.just(''), st.just('n=1'), query_strings()))
def test_hostile_bodies(target: Target, line: Tuple[str, str], body: Tuple[bytes, Dict[str, str]],
                        query: str) -> None:
    """JSON (invalid, not an object, 10000 levels deep, huge numbers), urlencoded, multipart, chunked."""
    method, path = line
    data, headers = body
    send_and_check(target, method=method, path=path, query=query, headers=headers, body=data)


@settings(HYPOTHESIS, max_examples=120)
@given(line=request_lines, query=query_strings(), headers=header_sets(), body=bodies(),
       content_length=st.one_of(st.none(), st.none(), content_lengths), remote_addr=remote_addrs, host=hosts)
def test_hostile_everything(target: Target, line: Tuple[str, str], query: str, headers: Dict[str, str],
                            body: Tuple[bytes, Dict[str, str]], content_length: Optional[str], remote_addr: str,
                            host: str) -> None:
    """All of it at once, with an arbitrary (often lying) Content-Length and Host."""
    method, path = line
    data, body_headers = body
    headers = dict(body_headers, **headers)
    send_and_check(target, method=method, path=path, query=query, headers=headers, body=data,
                   content_length=content_length, remote_addr=remote_addr, host=host)


@settings(HYPOTHESIS, max_examples=80)
@given(length=content_lengths, line=st.sampled_from(WITH_BODY + [('GET', '/')]))
def test_hostile_content_length(target: Target, length: str, line: Tuple[str, str]) -> None:
    """Any Content-Length value, with a short body."""
    method, path = line
    send_and_check(target, method=method, path=path, body=b'n=1', content_length=length,
                   headers={'Content-Type': 'application/x-www-form-urlencoded'})


@settings(HYPOTHESIS, max_examples=400)
@given(path=st.sampled_from(['/me', '/me', '/admin', '/count', '/sid', '/ping']), auth=authorization,
       cookie=st.one_of(st.none(), cookies), remote_addr=remote_addrs)
def test_hostile_authorization(target: Target, path: str, auth: str, cookie: Optional[str], remote_addr: str) -> None:
    """Any Authorization header (forged, expired, malformed, huge JWTs; Basic with any bytes),
    with or without a session: an authentication answer, never a crash."""
    headers = {'Authorization': auth}
    if cookie is not None:
        headers['Cookie'] = cookie
    response = send_and_check(target, method='GET', path=path, headers=headers, remote_addr=remote_addr)
    if len(auth) > 8192 or len(headers.get('Cookie', '')) > 8192:
        assert response.status_int == 431
    elif path == '/ping':  # a route that asks for no user still checks credentials that are sent
        assert response.status_int in (200, 401, 429)
    else:
        assert response.status_int in (200, 401, 403, 429), response.body


#: Origins canister must trust for CSRF: its own, and those the CORS list allows
#: (compared case-insensitively, without a trailing slash or the scheme's default port).
CORS_ALLOWED = [ALLOWED_ORIGIN, ALLOWED_ORIGIN.upper(), ALLOWED_ORIGIN + '/', ALLOWED_ORIGIN + ':443',
                'https://a.example.org', 'https://x-y.b.example.org', 'https://a_b.example.org']
OWN = ['http://localhost', 'http://localhost:80', 'HTTP://LOCALHOST']
FOREIGN = ['https://evil.example', 'https://app.example.com.evil.example', 'null', 'https://example.org',
           'http://app.example.com', 'https://app.example.com:8443', 'http://localhost:8080', 'https://localhost',
           'https://.example.org', 'https://a..example.org', 'https://a.example.org.evil']
TRUSTED_REFERERS = ['http://localhost/page', ALLOWED_ORIGIN + '/x?y=1', 'https://a.example.org/']
FOREIGN_REFERERS = ['https://evil.example/', 'https://app.example.com.evil.example/x', 'http://localhost:8080/']


@settings(HYPOTHESIS, max_examples=300)
@given(method=st.sampled_from(['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'Delete']),
       origin=st.one_of(st.none(), st.sampled_from(OWN + CORS_ALLOWED + FOREIGN)),
       referer=st.one_of(st.none(), st.sampled_from(TRUSTED_REFERERS + FOREIGN_REFERERS)),
       cookie=st.sampled_from([None, 'session_id=' + LIVE_SID]),
       authorization=st.sampled_from([None, None, CONTROL_BASIC, 'Bearer x.y.z']),
       content_type=st.sampled_from(['application/x-www-form-urlencoded', 'text/plain', 'application/json',
                                     'multipart/form-data; boundary=x']),
       remote_addr=remote_addrs)
def test_hostile_cross_site_requests(target: Target, method: str, origin: Optional[str], referer: Optional[str],
                                     cookie: Optional[str], authorization: Optional[str], content_type: str,
                                     remote_addr: str) -> None:
    """An unsafe request is refused (403) exactly when its Origin -- or, without one, its
    Referer -- is foreign and it carries no token (Basic credentials, which a browser
    resends by itself, do not exempt it); whatever the case of
    the method (Bottle routes ``post`` to POST handlers)."""
    headers = {'Content-Type': content_type}
    for name, value in (('Origin', origin), ('Referer', referer), ('Cookie', cookie),
                        ('Authorization', authorization)):
        if value is not None:
            headers[name] = value
    response = send_and_check(target, method=method, path='/typed', query='n=1', headers=headers,
                              remote_addr=remote_addr)
    if origin is not None:
        foreign = origin in FOREIGN
    else:
        foreign = referer in FOREIGN_REFERERS
    exempt = authorization is not None and not authorization.startswith('Basic ')
    if foreign and not exempt:
        assert response.status_int == 403, response.body
    else:
        assert response.status_int != 403, response.body


@settings(HYPOTHESIS, max_examples=300)
@given(path=st.sampled_from(ROUTES), origin=st.one_of(st.sampled_from(CORS_ALLOWED + OWN + FOREIGN), origins),
       request_method=st.one_of(st.sampled_from(METHODS), header_text),
       request_headers=st.one_of(st.none(), HEADER_STRATEGIES['Access-Control-Request-Headers']),
       others=header_sets(['Cookie', 'Authorization', 'X-Forwarded-For', 'Accept', 'Referer']),
       remote_addr=remote_addrs)
def test_hostile_preflights(target: Target, path: str, origin: str, request_method: str,
                            request_headers: Optional[str], others: Dict[str, str], remote_addr: str) -> None:
    """CORS preflights with any origin, method and header list: 204 with the CORS headers for
    an allowed origin on a routed path, 403 for another origin, 404 off the routes."""
    headers = dict(others, Origin=origin)
    headers['Access-Control-Request-Method'] = request_method
    if request_headers is not None:
        headers['Access-Control-Request-Headers'] = request_headers
    response = send_and_check(target, method='OPTIONS', path=path, headers=headers, remote_addr=remote_addr)
    if len(headers.get('Cookie', '')) > 8192 or len(headers.get('Authorization', '')) > 8192:
        assert response.status_int == 431
    elif path == '/nowhere':
        assert response.status_int == 404
    elif origin in CORS_ALLOWED:
        assert response.status_int == 204, response.body
        assert response.headers['Access-Control-Allow-Origin'] == origin
        assert response.headers['Access-Control-Allow-Credentials'] == 'true'
    elif origin in FOREIGN:
        assert response.status_int == 403, response.body
        assert 'Access-Control-Allow-Origin' not in response.headers

# --------------------------------------------------------------------------
# crashes Hypothesis found, as minimal cases (the assertions are the correct behaviour)


@pytest.fixture
def app_target(tmp_path: Any) -> Iterator[Target]:
    result = Target('memory', tmp_path)
    yield result
    result.app.uninstall(True)


def _forged_token(header: Any) -> str:
    return '%s.e30.%s' % (_b64(json.dumps(header).encode(), True), _b64(b'sig', True))


@pytest.mark.parametrize('alg', [['HS256'], {'a': 1}], ids=['list', 'object'])
def test_bearer_token_whose_alg_is_not_a_string_gets_401(app_target: Target, alg: Any) -> None:
    """A forged JWT header ``{"alg": ["HS256"]}``: ``alg in frozenset`` raised TypeError (500)."""
    response = send_and_check(app_target, method='GET', path='/me',
                              headers={'Authorization': 'Bearer ' + _forged_token({'alg': alg})})
    assert response.status_int == 401


@pytest.mark.parametrize('referer', ['http://[', 'http://[::1', 'http://a]b/'])
def test_unsafe_request_with_unparsable_referer_gets_403(app_target: Target, referer: str) -> None:
    """A POST without Origin whose Referer urlsplit() cannot parse: ValueError escaped the app."""
    response = send_and_check(app_target, method='POST', path='/typed', body=b'n=1', headers={
        'Referer': referer, 'Content-Type': 'application/x-www-form-urlencoded'})
    assert response.status_int == 403


@pytest.mark.parametrize('length', ['\u00b2', '\u00b9\u00b2\u00b3'])
def test_content_length_of_superscript_digits_gets_400(app_target: Target, length: str) -> None:
    """``'²'.isdigit()`` is True but ``int('²')`` fails: ValueError escaped the app.
    (WSGI servers such as wsgiref pass the header through as latin-1 text.)"""
    response = send_and_check(app_target, method='GET', path='/', content_length=length)
    assert response.status_int == 400


@pytest.mark.parametrize('body', [b'{"n": 1, "ratio": 1' + b'0' * 400 + b'}',
                                  b'{"n": 1, "ratio": ' + str(-(10 ** 309)).encode() + b'}'],
                         ids=['big', 'negative'])
def test_json_integer_too_large_for_a_float_parameter_gets_400(app_target: Target, body: bytes) -> None:
    """``float(10**400)`` raises OverflowError, which the converter did not catch (500)."""
    response = send_and_check(app_target, method='POST', path='/typed', body=body,
                              headers={'Content-Type': 'application/json'})
    assert response.status_int == 400
    assert b'ratio' in response.body


@pytest.mark.parametrize('opening', [b'[', b'{"a":'], ids=['arrays', 'objects'])
def test_json_body_nested_deeper_than_the_recursion_limit_gets_400_that_says_so(app_target: Target,
                                                                                 opening: bytes) -> None:
    """Valid JSON that Python cannot read at this depth was answered "the body is not valid JSON"."""
    closing = b']' if opening == b'[' else b'}'
    body = b'{"n": 1, "ids": ' + opening * 20000 + b'1' + closing * 20000 + b'}'  # (too deep on 3.13 too)
    response = send_and_check(app_target, method='POST', path='/typed', body=body,
                              headers={'Content-Type': 'application/json'})
    assert response.status_int == 400
    assert response.text == ("Bad request: the JSON body is nested too deeply: more arrays and objects inside each "
                             "other than Python's recursion limit lets canister read\n")
    assert response.text.strip() in read_log(app_target.log_dir)


def test_valid_jwt_whose_exp_does_not_fit_a_float_gets_no_500(app_target: Target) -> None:
    """A correctly signed token with ``exp`` = 10**400 (far future, so PyJWT accepts it):
    ``float(expires)`` raised OverflowError out of the authentication (500)."""
    token = jwt.encode({'sub': 'bob', 'exp': 10 ** 400}, JWT_SECRET, algorithm='HS256')
    response = send_and_check(app_target, method='GET', path='/me', headers={'Authorization': 'Bearer ' + token})
    assert response.status_int in (200, 401)


def test_multipart_part_without_a_name_to_a_kwargs_handler_gets_no_500(app_target: Target) -> None:
    """A multipart part whose Content-Disposition has no name: Bottle files it under the key
    None, and binding ``**params`` passed it on, so ``callback(**kwargs)`` raised
    ``TypeError: keywords must be strings`` (500)."""
    response = send_and_check(app_target, method='POST', path='/echo',
                              body=b'--XyZ\r\nContent-Disposition: attachment\r\n\r\n\r\n--XyZ--\r\n',
                              headers={'Content-Type': 'multipart/form-data; boundary=XyZ'})
    assert response.status_int in (200, 400)


UPLOAD = (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n'
          b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--XyZ--\r\n')


@pytest.mark.parametrize('content_type', ['application/x-www-form-urlencoded;', 'application/x-www-form-urlencoded;; '
                                          'charset=utf-8', 'application/x-www-form-urlencoded; charset'])
def test_a_form_whose_content_type_has_a_parameter_without_a_value_fills_parameters(app_target: Target,
                                                                                      content_type: str) -> None:
    """A trailing ``;`` (or ``;;``, or a bare ``charset``): bottle 0.13's header parser raised ValueError,
    answered ``400 the form body is malformed (ValueError)``, where bottle 0.12 reads the form."""
    response = send_and_check(app_target, method='POST', path='/typed', body=b'n=5&flag=yes',
                              headers={'Content-Type': content_type})
    assert (response.status_int, response.json) == (200, {'n': 5, 'flag': True, 'ids': None, 'ratio': None})


@pytest.mark.parametrize('content_type', ['multipart/form-data; boundary=XyZ;', 'Multipart/Form-Data; boundary=XyZ',
                                          'MULTIPART/FORM-DATA;boundary=XyZ; '])
def test_an_upload_whose_content_type_is_in_capitals_or_ends_in_a_semicolon_fills_parameters(
        app_target: Target, content_type: str) -> None:
    """Media types are case-insensitive: bottle 0.13 read a ``Multipart/Form-Data`` body as a urlencoded
    form (the file lost: 400 missing parameter), and 0.12's cgi module raised TypeError (400 ``malformed``)."""
    response = send_and_check(app_target, method='POST', path='/upload', body=UPLOAD,
                              headers={'Content-Type': content_type})
    assert (response.status_int, response.json) == (200, {'size': 5, 'filename': 'a.txt', 'note': 'hi', 'count': 1})


def test_a_handler_that_reads_the_form_itself_gets_it_whatever_the_case_and_semicolons(make_app: Any) -> None:
    """Canister hands Bottle the body's Content-Type as its parsers read it, so ``request.forms`` and
    ``request.files`` work too: bottle 0.13 answered 500 to a trailing ``;`` (whatever the type: it reads
    any body that is no multipart form as a urlencoded one), and 0.12 to capitals."""
    app = make_app()

    @app.post('/raw')
    def raw() -> Dict[str, Any]:
        upload = bottle.request.files.get('file')
        return {'note': bottle.request.forms.get('note'), 'file': upload.filename if upload else None}

    web = client(app)
    for content_type in ('multipart/form-data; boundary=XyZ;', 'Multipart/Form-Data; boundary=XyZ'):
        response = web.post('/raw', UPLOAD, headers={'Content-Type': content_type})
        assert response.json == {'note': 'hi', 'file': 'a.txt'}
    response = web.post('/raw', b'note=hi', headers={'Content-Type': 'text/plain;'})
    assert response.json == {'note': 'hi', 'file': None}


@pytest.mark.parametrize('body, said', [
    (b'{"n": 1', 'the body is not valid JSON'),
    (b'{"name": "caf\xe9"}', 'the JSON body is not valid UTF-8: JSON is sent as UTF-8, whatever charset the '
                            'Content-Type names'),
    (b'[' * 50000, "the JSON body is nested too deeply: more arrays and objects inside each other than Python's "
                   "recursion limit lets canister read"),
], ids=['not-json', 'latin-1', 'too-deep'])
def test_a_handler_reading_request_json_itself_gets_a_400_for_a_body_bottle_cannot_read(
        make_app: Any, log_dir: Any, body: bytes, said: str) -> None:
    """The 1.x way, ``bottle.request.json`` in the handler: bottle 0.12 let json's ValueError (and
    UnicodeDecodeError) out of it, and both Bottles the RecursionError of a body nested too deeply: a 500
    with a traceback in the log.  Bottle 0.13 answered the first two with its own 400, ``Invalid JSON``,
    and no WARNING line: now the same 400 and line as on 0.12."""
    app = make_app()

    @app.post('/raw')
    def raw() -> Dict[str, Any]:
        return {'json': bottle.request.json}

    response = client(app).post('/raw', body, headers={'Content-Type': 'application/json'}, expect_errors=True)
    assert (response.status_int, response.text) == (400, 'Bad request: %s\n' % said)
    assert 'WARNING' in read_log(log_dir) and said in read_log(log_dir)
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('body, content_type, refused_by', [
    (UPLOAD, 'multipart/form-data; boundary=', {'0.12': 'canister', '0.13': 'bottle'}),
    (UPLOAD, 'multipart/form-data; boundary=XyZ; charset=utf-32', {'0.12': None, '0.13': 'canister'}),
    (b'--XyZ\r\nContent-Disposition: form-data; name=n; x\r\n\r\n1\r\n--XyZ--\r\n', 'multipart/form-data; boundary=XyZ',
     {'0.12': None, '0.13': 'canister'}),
], ids=['empty-boundary', 'utf-32-headers', 'part-header-parameter-without-value'])
def test_a_handler_reading_request_forms_itself_gets_a_400_for_a_form_bottle_cannot_parse(
        make_app: Any, log_dir: Any, body: bytes, content_type: str, refused_by: Dict[str, Optional[str]]) -> None:
    """Bottle's form parsers raise more than their own 400: 0.12's cgi a ValueError for an empty boundary,
    0.13's a UnicodeDecodeError for headers not in the charset named and a ValueError for a part header's
    parameter without ``=``; out of a handler reading ``request.forms``, a 500 with a traceback in the log.
    A form one Bottle reads is read (0.12: the last two), and 0.13's own refusal is canister's 400 too."""
    app = make_app()

    @app.post('/raw')
    def raw() -> Dict[str, Any]:
        return {'fields': sorted(bottle.request.forms), 'files': sorted(bottle.request.files)}

    response = client(app).post('/raw', body, headers={'Content-Type': content_type}, expect_errors=True)
    if refused_by['0.12' if bottle.__version__.startswith('0.12') else '0.13'] is None:
        assert response.status_int == 200
    else:  # (Bottle 0.13's own refusal, 'bottle', was its 400 page and no WARNING line)
        assert (response.status_int, response.text) == (400, 'Bad request: the form body is malformed\n')
        assert 'WARNING' in read_log(log_dir) and 'Bad request: the form body is malformed' in read_log(log_dir)
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('body, content_type', [
    (b'no boundary here', 'multipart/form-data; boundary=XyZ'),
    (b'--XyZ\r\nContent-Disposition: form-data; name="n"\r\n\r\n1', 'multipart/form-data; boundary=XyZ'),
    (UPLOAD, 'multipart/form-data'),
], ids=['no-boundary-in-body', 'cut-short', 'no-boundary-parameter'])
def test_a_handler_reading_request_forms_itself_gets_canisters_400_and_a_warning_for_a_broken_form(
        make_app: Any, log_dir: Any, body: bytes, content_type: str) -> None:
    """Bottle 0.13 answered these with its own 400 (``MultipartError: Stream does not contain boundary``,
    naming a class) and the log had only ``Response: 400``; 0.12's cgi module reads some of them."""
    app = make_app()

    @app.post('/raw')
    def raw() -> Dict[str, Any]:
        return {'fields': sorted(bottle.request.forms)}

    response = client(app).post('/raw', body, headers={'Content-Type': content_type}, expect_errors=True)
    if bottle.__version__.startswith('0.13') or response.status_int != 200:
        assert (response.status_int, response.text) == (400, 'Bad request: the form body is malformed\n')
        assert re.search(r'WARNING.*Bad request: the form body is malformed', read_log(log_dir))


def test_a_handlers_own_abort_400_while_reading_the_body_keeps_its_own_message(make_app: Any, log_dir: Any) -> None:
    """Only Bottle's own body-reading 400 is canister's: the app's ``abort(400, ...)`` after catching it is left be."""
    app = make_app()

    @app.post('/raw')
    def raw() -> Dict[str, Any]:
        try:
            return {'json': bottle.request.json}
        except (bottle.HTTPError, ValueError):
            bottle.abort(400, 'send me JSON')
            raise

    response = client(app).post('/raw', b'{"n": 1', headers={'Content-Type': 'application/json'}, expect_errors=True)
    assert response.status_int == 400 and 'send me JSON' in response.text
    assert 'Bad request: the body is not valid JSON' not in read_log(log_dir)


@pytest.mark.parametrize('body, content_type', [
    (b'--XyZ\r\nContent-Disposition: form-data; name=n; x\r\n\r\n1\r\n--XyZ--\r\n', 'multipart/form-data; boundary=XyZ'),
    (b'--\r\nContent-Disposition: form-data; name="n"\r\n\r\n1\r\n----\r\n', 'multipart/form-data; boundary='),
], ids=['part-header-parameter-without-value', 'empty-boundary'])
def test_a_form_bottle_cannot_parse_gets_a_400_that_names_no_exception_class(app_target: Target, body: bytes,
                                                                            content_type: str) -> None:
    """The 400 said ``the form body is malformed (ValueError)``: the parser's exception class, which tells a
    client nothing.  (Bottle 0.12 reads the first body; 0.13 refuses it.  The empty boundary is 0.12's ValueError
    and 0.13's own 400, which canister answers with its words too.)"""
    response = send_and_check(app_target, method='POST', path='/typed', body=body,
                              headers={'Content-Type': content_type})
    if bottle.__version__.startswith('0.12') and content_type.endswith('XyZ'):
        assert response.status_int == 200
    else:
        assert (response.status_int, response.text) == (400, 'Bad request: the form body is malformed\n')
        assert 'Bad request: the form body is malformed' in read_log(app_target.log_dir)

# --------------------------------------------------------------------------
# limits, in-process


class _RecordingInput(io.BytesIO):
    """A wsgi.input that remembers how much the app read."""

    read_bytes = 0

    def read(self, size: Optional[int] = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: Optional[int] = -1) -> bytes:
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def _post_declaring(app: bottle.Bottle, declared: int, body: bytes = b'n=1', path: str = '/typed',
                    content_type: str = 'application/x-www-form-urlencoded') -> Tuple[webtest.TestResponse, int]:
    """POST ``body`` but declare a Content-Length of ``declared``; (answer, bytes read)."""
    stream = _RecordingInput(body)
    request = make_request('POST', path, headers={'Content-Type': content_type},
                           stream=stream, content_length=str(declared))
    response = webtest.TestApp(app, lint=False).do_request(request, status=None, expect_errors=True)
    return response, stream.read_bytes


def test_declared_content_length_over_the_default_limit_gets_413_unread(app_target: Target) -> None:
    """The default limit is 10 MiB: the declared length alone decides, the body is never read."""
    app = build_app(log_path=str(app_target.log_dir))
    try:
        response, read = _post_declaring(app, 10 * 1024 * 1024 + 1)
        assert response.status_int == 413
        assert read == 0
        assert b'10485760' in response.body
        # At the limit: not refused (a text/plain body is not read by canister's binder;
        # Bottle itself refuses urlencoded bodies over its MEMFILE_MAX of 100 KiB).
        response, read = _post_declaring(app, 10 * 1024 * 1024, path='/echo', content_type='text/plain')
        assert response.status_int == 200, response.body
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('limit', [1, 100, 4000])
def test_max_body_size_is_configurable(app_target: Target, limit: int) -> None:
    app = build_app(log_path=str(app_target.log_dir), max_body_size=limit)
    try:
        response, read = _post_declaring(app, limit + 1, b'n=1'.ljust(limit + 1, b'0'))
        assert response.status_int == 413 and read == 0
        if limit >= 3:
            response, _ = _post_declaring(app, limit, b'n=1'.ljust(limit, b'0'))
            assert response.status_int == 200, response.body
            assert response.json['n'] == int('1'.ljust(limit - 2, '0'))
    finally:
        app.uninstall(True)


def test_max_body_size_from_the_app_config(make_app: Any) -> None:
    app = make_app(config={'max_body_size': '2048', 'max_header_size': '512'})
    app.route('/', ['GET', 'POST'], lambda: 'ok')
    web = client(app)
    assert web.post('/', b'x' * 2049, content_type='text/plain', expect_errors=True).status_int == 413
    assert web.post('/', b'x' * 2048, content_type='text/plain').status_int == 200
    assert web.get('/', headers={'Cookie': 'a=' + 'b' * 511}, expect_errors=True).status_int == 431
    assert web.get('/', headers={'Cookie': 'a=' + 'b' * 510}).status_int == 200


@pytest.mark.parametrize('header', ['Authorization', 'Cookie'])
def test_header_over_8_kib_gets_431(app_target: Target, header: str) -> None:
    prefix = 'Basic ' if header == 'Authorization' else 'session_id='
    over = send_and_check(app_target, method='GET', path='/count',
                          headers={header: prefix + 'A' * (8193 - len(prefix))})
    assert over.status_int == 431
    assert header.encode() in over.body
    at_limit = send_and_check(app_target, method='GET', path='/count',
                              headers={header: prefix + 'A' * (8192 - len(prefix))})
    assert at_limit.status_int == (401 if header == 'Authorization' else 200)


@pytest.mark.parametrize('header', ['Authorization', 'Cookie'])
def test_max_header_size_is_configurable(app_target: Target, header: str) -> None:
    app = build_app(log_path=str(app_target.log_dir), max_header_size=1024)
    try:
        web = client(app)
        prefix = 'Basic ' if header == 'Authorization' else 'session_id='
        over = web.get('/count', headers={header: prefix + 'A' * (1025 - len(prefix))}, expect_errors=True)
        assert over.status_int == 431
        within = web.get('/count', headers={header: prefix + 'A' * (1024 - len(prefix))}, expect_errors=True)
        assert within.status_int == (401 if header == 'Authorization' else 200)
        assert web.get('/count', headers={'Cookie': 'x=' + 'y' * 9000}, expect_errors=True).status_int == 431
    finally:
        app.uninstall(True)


def test_431_and_413_answer_json_to_json_clients(app_target: Target) -> None:
    response = send_and_check(app_target, method='GET', path='/', headers={
        'Cookie': 'a=' + 'b' * 9000, 'Accept': 'application/json'})
    assert response.status_int == 431 and response.json['error']
    response = send_and_check(app_target, method='POST', path='/typed', body=b'n=1',
                              content_length=str(BODY_LIMIT + 1),
                              headers={'Accept': 'application/json',
                                       'Content-Type': 'application/x-www-form-urlencoded'})
    assert response.status_int == 413 and response.json['error']


# --------------------------------------------------------------------------
# limits, through real servers and raw sockets


def test_real_server_answers_413_from_content_length_alone(serve_limits: Any) -> None:
    """gunicorn hands the request over once the headers are in: canister answers 413
    at once, without waiting for the 20 MB that were announced and never sent."""
    server = serve_limits('gunicorn')
    head = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: 20000000\r\nConnection: close\r\n\r\n')
    for _ in range(3):  # (sent again only when another job's load made the answer later than 3 s)
        started = time.monotonic()
        answer = raw_request(server.port, head, b'n=1', timeout=30)
        took = time.monotonic() - started
        assert status_of(answer) == 413, answer[:500]
        if took < 3:
            break
    assert took < 3, took
    assert b'10485760' in answer
    answer = raw_request(server.port, b'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', timeout=30)
    assert status_of(answer) == 200, answer[:500]


def test_real_server_limits_are_configurable(serve_limits: Any) -> None:
    server = serve_limits('gunicorn', CANISTER_MAX_BODY_SIZE='1000', CANISTER_MAX_HEADER_SIZE='300')
    head = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: %d\r\nConnection: close\r\n\r\n')
    answer = raw_request(server.port, head % 1001, b'n=1', timeout=30)
    assert status_of(answer) == 413, answer[:500]
    answer = raw_request(server.port, head % 1000, b'n=1'.ljust(1000, b'0'), timeout=30)
    assert status_of(answer) == 200, answer[:500]
    answer = raw_request(server.port, b'GET /count HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: a='
                         + b'b' * 299 + b'\r\nConnection: close\r\n\r\n', timeout=30)
    assert status_of(answer) == 431, answer[:500]


@pytest.mark.parametrize('header', ['Authorization', 'Cookie'])
def test_real_server_answers_431_for_big_headers(serve_limits: Any, header: str) -> None:
    """Through waitress (gunicorn itself refuses header lines over 8190 bytes)."""
    server = serve_limits('waitress')
    value = ('Basic ' if header == 'Authorization' else 'session_id=').encode()
    value += b'A' * (8193 - len(value))
    head = b'GET /count HTTP/1.1\r\nHost: 127.0.0.1\r\n%s: %s\r\nConnection: close\r\n\r\n' % (
        header.encode(), value)
    answer = raw_request(server.port, head, timeout=30)
    assert status_of(answer) == 431, answer[:500]
    answer = raw_request(server.port, b'GET /count HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', timeout=30)
    assert status_of(answer) == 200, answer[:500]


# --------------------------------------------------------------------------
# bodies without a Content-Length (chunked): counted as they arrive

def _post_chunked(app: bottle.Bottle, body: bytes, content_type: str = 'application/json',
                  path: str = '/json') -> Tuple[webtest.TestResponse, int]:
    stream = _RecordingInput(chunked(body, broken=0))
    request = make_request('POST', path, headers={'Content-Type': content_type, 'Transfer-Encoding': 'chunked'},
                           stream=stream, content_length=None)
    response = webtest.TestApp(app, lint=False).do_request(request, status=None, expect_errors=True)
    return response, stream.read_bytes


def _json_app(make_app: Any, **overrides: Any) -> bottle.Bottle:
    app = make_app(**overrides)

    @app.post('/json')
    def json_route(name: str) -> str:
        return 'hello ' + name

    return app


def test_chunked_body_over_max_body_size_gets_413_before_it_is_read_whole(make_app: Any, log_dir: Any) -> None:
    app = _json_app(make_app, max_body_size=10000)
    body = b'{"name": "' + b'x' * 200000 + b'"}'
    response, read = _post_chunked(app, body)
    assert response.status_int == 413
    assert b'more than 10000 bytes' in response.body
    assert b'Traceback' not in response.body
    assert read < 10000 + 8192  # stopped within one read of the limit, not after 200 kB
    assert 'WARNING' in read_log(log_dir) and 'more than 10000 bytes (chunked)' in read_log(log_dir)


def test_chunked_body_under_max_body_size_fills_parameters(make_app: Any) -> None:
    app = _json_app(make_app, max_body_size=10000)
    response, _ = _post_chunked(app, b'{"name": "J\\u00e9r\\u00f4me"}')
    assert response.status_int == 200
    assert response.text == 'hello Jérôme'


def test_urlencoded_form_over_bottles_memfile_max_gets_a_plain_413(make_app: Any, log_dir: Any) -> None:
    """Bottle refuses such forms itself; canister says why, as text, with the right status."""
    app = make_app()

    @app.post('/form')
    def form(name: str) -> str:
        return name

    body = b'name=' + b'x' * (bottle.BaseRequest.MEMFILE_MAX + 10)
    response = webtest.TestApp(app).post('/form', body, content_type='application/x-www-form-urlencoded',
                                         expect_errors=True)
    assert response.status_int == 413
    assert 'MEMFILE_MAX' in response.text and '<html' not in response.text.lower()
    assert 'MEMFILE_MAX' in read_log(log_dir)


_CHUNKED_HEAD = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                 b'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n')


@pytest.mark.parametrize('server', ['gunicorn', 'waitress'])
def test_real_server_binds_parameters_from_a_chunked_json_body(serve_limits: Any, server: str) -> None:
    """gunicorn de-chunks the body but keeps the header, which Bottle alone answers with a 400."""
    app = serve_limits(server, CANISTER_MAX_BODY_SIZE='1000')
    answer = raw_request(app.port, _CHUNKED_HEAD, chunked(b'{"n": 42, "flag": "yes"}', broken=0), timeout=30)
    assert status_of(answer) == 200, answer[:500]
    assert json.loads(answer.split(b'\r\n\r\n', 1)[1]) == {'n': 42, 'flag': True, 'ids': None, 'ratio': None}


@pytest.mark.parametrize('server', ['gunicorn', 'waitress'])
def test_real_server_answers_413_to_a_chunked_body_over_the_limit(serve_limits: Any, server: str) -> None:
    app = serve_limits(server, CANISTER_MAX_BODY_SIZE='1000')
    body = b'{"n": 1, "pad": "' + b'x' * 5000 + b'"}'
    answer = raw_request(app.port, _CHUNKED_HEAD, chunked(body, broken=0), timeout=30)
    assert status_of(answer) == 413, answer[:500]
    assert b'1000' in answer and b'<html' not in answer.lower()


@pytest.mark.parametrize('content_type', ['application/json', 'application/x-www-form-urlencoded'])
def test_a_compressed_body_gets_a_415_that_names_its_encoding(make_app: Any, log_dir: Any, content_type: str) -> None:
    import gzip
    app = make_app()

    @app.post('/typed')
    def typed(name: str) -> str:
        return name

    plain = b'{"name": "tea"}' if content_type == 'application/json' else b'name=tea'
    web = webtest.TestApp(app)
    response = web.post('/typed', gzip.compress(plain), headers={'Content-Type': content_type,
                                                                 'Content-Encoding': 'gzip'}, status=415)
    assert response.text == ('Unsupported Content-Encoding gzip: canister does not decode request bodies; '
                             'send the body uncompressed\n')
    assert 'Unsupported Content-Encoding gzip' in read_log(log_dir)
    assert web.post('/typed', plain, headers={'Content-Type': content_type,
                                              'Content-Encoding': 'identity'}).text == 'tea'


def test_a_compressed_body_sent_by_a_client_that_accepts_json_gets_its_415_as_json(make_app: Any) -> None:
    """The README lists the 415 among canister's own answers, as JSON to a client that accepts JSON."""
    import gzip
    app = make_app()
    app.post('/typed', callback=lambda name: name)
    response = webtest.TestApp(app).post('/typed', gzip.compress(b'{"name": "tea"}'), status=415, headers={
        'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Accept': 'application/json'})
    assert response.json == {'error': 'Unsupported Media Type', 'message': 'Unsupported Content-Encoding gzip: '
                             'canister does not decode request bodies; send the body uncompressed'}


# --------------------------------------------------------------------------
# a path that is not UTF-8


def _user_app(make_app: Any) -> Tuple[Any, List[str]]:
    """An app whose ``DELETE /u/<name>`` and ``GET /u/<name>`` note the name they were handed."""
    app, handed = make_app(), []

    @app.route('/u/<name>', method=['GET', 'DELETE'])
    def user(name: str) -> Dict[str, Any]:
        handed.append(name)
        return {'name': name}
    return app, handed


#: canister's answer to a path that is not UTF-8 (README: Bad input).
_PATH_MESSAGE = "Bad request: the path is not valid UTF-8"


@pytest.mark.parametrize('path', ['/u/%ff%fe', '/u/a%ffb'])
def test_a_change_to_a_path_that_is_not_utf8_gets_a_400_and_a_warning(make_app: Any, log_dir: Any, path: str) -> None:
    """Bottle 0.12 answered its own 400 with no WARNING line; 0.13 dropped the bytes (``/u/a%ffb`` deleted ``ab``)."""
    app, handed = _user_app(make_app)
    response = client(app).delete(path, expect_errors=True)
    assert (response.status_int, response.text) == (400, _PATH_MESSAGE + '\n')
    assert re.search('WARNING.*' + re.escape(_PATH_MESSAGE), read_log(log_dir))
    assert handed == []


def test_a_get_of_a_path_that_is_not_utf8_gets_canisters_400_and_a_warning_on_both_bottles(make_app: Any,
                                                                                          log_dir: Any) -> None:
    """Bottle 0.12 answered its own 400 (``Invalid path string. Expected UTF-8``); 0.13 routed the path without
    those bytes (``/u/a%ffb`` reached the handler as ``ab``)."""
    app, handed = _user_app(make_app)
    response = client(app).get('/u/a%ffb', expect_errors=True)
    assert (response.status_int, response.text) == (400, _PATH_MESSAGE + '\n')
    assert re.search('WARNING.*' + re.escape(_PATH_MESSAGE), read_log(log_dir))
    assert handed == []
    assert client(app).get('/u/caf%c3%a9').json == {'name': 'café'}


@pytest.mark.parametrize('headers', [{'Content-Length': '0'}, {'Authorization': 'Basic YTpi'}])
def test_a_get_of_a_path_that_is_not_utf8_gets_the_same_answer_whatever_its_headers(make_app: Any, headers: Any) -> None:
    """A header that makes canister's early checks run (as the process's first request does) changed the answer."""
    app, handed = _user_app(make_app)
    web = client(app)
    plain = web.get('/u/a%ffb', expect_errors=True)
    with_headers = web.get('/u/a%ffb', headers=headers, expect_errors=True)
    assert (with_headers.status_int, with_headers.text) == (plain.status_int, plain.text)
    assert handed == []
