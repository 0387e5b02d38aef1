"""Where an ``Authorization`` header's scheme ends, and tokens whose claims hold text with no UTF-8 form.

* The scheme is read as Bottle's ``request.auth`` reads it: up to the first run of whitespace (spaces, a
  tab, a no-break space...). ``Basic<TAB>credentials`` was left to the app unchecked while
  ``bottle.request.auth`` handed it the name and the wrong password; it is checked now, as with a space: a
  wrong password is a 401 with a WARNING and counts against the throttle, a right one logs in.  A Bearer
  token after a tab is checked as a token, and exempts the request from the CSRF check as one after a space
  does (one function decides the scheme for both).
* A signed token whose claims hold a lone surrogate (JSON's ``"\\ud800"``: no UTF-8 stands for it) in its
  ``sub``, its ``iss`` or any other claim is refused with a 401 and a WARNING, whatever the store; a ``sub``
  as the user's key gave a 500 on the SQLite and Redis stores.
"""
from __future__ import annotations

import base64
import json
import time

import bottle
import pytest

import canister
from canister import session
from helpers import client, hand_made_token, hs256_signer, read_log, readme_section, signed_token, warning_lines
from servers import raw_request

SECRET = 'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4Kl1Mz8Nx5Cv3Bb6Vn0Q'  # 64 bytes
#: Whitespace a real server (waitress) passes on between the scheme and the credentials, all of which
#: Bottle's ``request.auth`` splits at: spaces, a tab, a no-break space, a next-line (latin-1's 0x85).
SERVER_SEPARATORS = [' ', '  ', '\t', ' \t ', '\xa0', '\x85']
SERVER_IDS = ['space', 'two spaces', 'tab', 'space tab space', 'no-break space', 'next line']
#: Whitespace waitress refuses in a header (400) but another WSGI server may pass on.
OTHER_SEPARATORS = ['\x0b', '\x0c', '\x1c']
OTHER_IDS = ['vertical tab', 'form feed', 'file separator']


def credentials(name: str, password: str) -> str:
    return base64.b64encode(('%s:%s' % (name, password)).encode('utf-8')).decode('ascii')


def audit_app(make_app, calls, **overrides):
    """GET /audit answers what Bottle's request.auth and session.user hold (and counts its calls); POST /act
    answers session.user; GET /keep too, once it stored the session."""
    overrides.setdefault('auth_basic_username', 'alice')
    overrides.setdefault('auth_basic_password', 'wonderland')
    app = make_app(**overrides)

    @app.get('/audit')
    def audit():
        calls.append(1)
        return {'request_auth': list(bottle.request.auth or []), 'user': session.user}

    @app.post('/act')
    def act():
        calls.append(1)
        return {'user': session.user}

    @app.get('/keep')
    def keep():
        calls.append(1)
        session.data['seen'] = True  # (the session is stored, under its user's key)
        return {'user': session.user}

    return app


def get(serve, app, authorization: str) -> bytes:
    """GET /audit from the app on a real waitress, with this Authorization header sent as latin-1 bytes."""
    port = int(serve(app).rpartition(':')[2])
    return raw_request(port, b'GET /audit HTTP/1.0\r\nHost: localhost\r\nAuthorization: '
                       + authorization.encode('latin-1') + b'\r\n\r\n')


def warned(log_dir, message: str) -> bool:
    """Whether the log has a WARNING line that ends with ``message``."""
    return any(line.endswith('   ' + message) for line in warning_lines(log_dir))


def head_and_body(answer: bytes):
    """The status line, the headers (by their lowercase names) and the body of a raw answer."""
    head, _, body = answer.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = dict(line.split(': ', 1) for line in lines[1:])
    return lines[0], {name.lower(): value for name, value in headers.items()}, body.decode('utf-8')


# -- Basic: the scheme ends at any whitespace ---------------------------------------------------

@pytest.mark.parametrize('separator', SERVER_SEPARATORS, ids=SERVER_IDS)
def test_basic_with_a_wrong_password_after_any_whitespace_is_a_401_on_a_real_server(make_app, log_dir, serve,
                                                                                      separator):
    calls = []
    status, headers, body = head_and_body(get(serve, audit_app(make_app, calls),
                                              'Basic' + separator + credentials('alice', 'WRONG')))
    assert status.split()[1] == '401', (status, body)
    assert body.strip() == 'Authentication failed: wrong user name or password'
    assert headers['www-authenticate'] == 'Basic realm="canister", charset="UTF-8"', headers
    assert calls == []  # (the handler, and so bottle.request.auth, never sees the unchecked name)
    assert warned(log_dir, "Authentication failed: wrong password for 'alice'"), read_log(log_dir)
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('separator', SERVER_SEPARATORS, ids=SERVER_IDS)
def test_basic_with_the_right_password_after_any_whitespace_logs_in_on_a_real_server(make_app, serve, separator):
    calls = []
    status, _, body = head_and_body(get(serve, audit_app(make_app, calls),
                                        'Basic' + separator + credentials('alice', 'wonderland')))
    assert status.split()[1] == '200', (status, body)
    assert json.loads(body) == {'request_auth': ['alice', 'wonderland'], 'user': 'alice'}


@pytest.mark.parametrize('separator', OTHER_SEPARATORS, ids=OTHER_IDS)
def test_basic_after_whitespace_a_real_server_refuses_is_checked_too(make_app, log_dir, separator):
    calls = []
    web = client(audit_app(make_app, calls))
    wrong = web.get('/audit', headers={'Authorization': 'Basic' + separator + credentials('alice', 'WRONG')},
                    expect_errors=True)
    assert wrong.status_int == 401 and calls == []
    assert wrong.text.strip() == 'Authentication failed: wrong user name or password'
    assert wrong.headers['WWW-Authenticate'].startswith('Basic realm=')
    assert warned(log_dir, "Authentication failed: wrong password for 'alice'"), read_log(log_dir)
    right = web.get('/audit', headers={'Authorization': 'Basic' + separator + credentials('alice', 'wonderland')})
    assert right.json == {'request_auth': ['alice', 'wonderland'], 'user': 'alice'}


def test_wrong_passwords_after_a_tab_count_against_the_login_throttle(make_app):
    calls = []
    web = client(audit_app(make_app, calls, auth_max_failures=2))
    for _ in range(2):
        assert web.get('/audit', headers={'Authorization': 'Basic\t' + credentials('alice', 'WRONG')},
                       expect_errors=True).status_int == 401
    locked = web.get('/audit', headers={'Authorization': 'Basic ' + credentials('alice', 'wonderland')},
                     expect_errors=True)
    assert locked.status_int == 429 and locked.headers['Retry-After']
    assert calls == []


def test_a_scheme_canister_is_not_configured_for_is_still_the_apps_after_a_tab(make_app):
    """Only Bearer configured: Basic after a tab, as after a space, is the app's to check (request.auth)."""
    calls = []
    web = client(audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None,
                           auth_jwt_secret=SECRET))
    answer = web.get('/audit', headers={'Authorization': 'Basic\t' + credentials('alice', 'WRONG')})
    assert answer.json == {'request_auth': ['alice', 'WRONG'], 'user': None}


# -- Bearer: the same scheme, for the login and for the CSRF check -------------------------------

@pytest.mark.parametrize('separator', SERVER_SEPARATORS, ids=SERVER_IDS)
def test_a_bearer_token_after_any_whitespace_logs_in_on_a_real_server(make_app, serve, separator):
    calls = []
    app = audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None, auth_jwt_secret=SECRET)
    status, _, body = head_and_body(get(serve, app, 'Bearer' + separator + signed_token(SECRET)))
    assert status.split()[1] == '200', (status, body)
    assert json.loads(body)['user']['sub'] == 'alice'


@pytest.mark.parametrize('separator', SERVER_SEPARATORS + OTHER_SEPARATORS, ids=SERVER_IDS + OTHER_IDS)
def test_a_forged_bearer_token_after_any_whitespace_is_a_401(make_app, log_dir, separator):
    calls = []
    web = client(audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None,
                           auth_jwt_secret=SECRET))
    refused = web.get('/audit', headers={'Authorization': 'Bearer' + separator + signed_token(SECRET[::-1])},
                      expect_errors=True)
    assert refused.status_int == 401 and calls == []
    assert refused.text.strip() == 'Authentication failed: the token signature is invalid'
    assert 'error="invalid_token"' in refused.headers['WWW-Authenticate']
    assert warned(log_dir, 'Authentication failed: the token signature is invalid'), read_log(log_dir)


@pytest.mark.parametrize('separator', [' ', '\t', '\xa0', '\x0c'], ids=['space', 'tab', 'no-break space', 'form feed'])
def test_a_bearer_token_after_any_whitespace_exempts_a_post_from_the_csrf_check(make_app, separator):
    """A browser never adds a Bearer token by itself: after a tab as after a space, the request is a script's,
    checked as a token (a forged one is a 401, never let through by the exemption)."""
    calls = []
    web = client(audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None,
                           auth_jwt_secret=SECRET))
    foreign = {'Origin': 'https://evil.example.net'}
    good = web.post('/act', headers=dict(foreign, Authorization='Bearer' + separator + signed_token(SECRET)))
    assert good.json['user']['sub'] == 'alice'
    forged = web.post('/act', headers=dict(foreign, Authorization='Bearer' + separator + signed_token(SECRET[::-1])),
                      expect_errors=True)
    assert forged.status_int == 401 and calls == [1]


# -- tokens whose claims hold a lone surrogate ----------------------------------------------------

def token_of(**payload) -> str:
    """A token signed with SECRET for ``payload`` (a lone surrogate in it written as JSON's ``\\ud800``)."""
    payload.setdefault('exp', int(time.time()) + 300)
    return hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, payload, hs256_signer(SECRET))


SURROGATE_TOKENS = [({'sub': '\ud800'}, 'sub'), ({'sub': 'ali\udfffce'}, 'sub'),
                    ({'sub': '\ud800', 'iss': 'https://idp.example.com'}, 'sub'),
                    ({'sub': 'alice', 'iss': 'https://idp\ud800.example.com'}, 'iss'),
                    ({'sub': 'alice', 'name': 'Al\udfffice'}, 'name'), ({'sub': 'alice', '\ud800': 1}, '\ud800'),
                    ({'sub': 'alice', 'groups': ['staff', {'team': '\ud800'}]}, 'groups')]
SURROGATE_IDS = ['sub', 'sub inside', 'sub with iss', 'iss', 'another claim', 'a claim name', 'nested']


@pytest.mark.parametrize('payload, claim', SURROGATE_TOKENS, ids=SURROGATE_IDS)
def test_a_signed_token_with_a_lone_surrogate_is_a_401_on_every_store(make_app, log_dir, store_url, payload, claim):
    calls = []
    web = client(audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None,
                           auth_jwt_secret=SECRET, session_store=store_url))
    refused = web.get('/keep', headers={'Authorization': 'Bearer ' + token_of(**payload)}, expect_errors=True)
    reason = 'the token is malformed: its claim %r is not valid UTF-8 (it holds a lone surrogate)' % claim
    assert refused.status_int == 401, refused.text
    assert refused.text.strip() == 'Authentication failed: ' + reason
    assert 'error="invalid_token"' in refused.headers['WWW-Authenticate']
    assert calls == [] and 'Set-Cookie' not in refused.headers
    log = read_log(log_dir)
    assert warned(log_dir, 'Authentication failed: ' + reason), log
    assert 'Traceback' not in log and ' ERROR ' not in log


@pytest.mark.parametrize('sub', ['José', '\U0001f600 smile', 'Zoë'], ids=['accent', 'astral (a surrogate pair)', 'diaeresis'])
def test_a_token_whose_sub_is_any_other_text_logs_in_on_every_store(make_app, store_url, sub):
    calls = []
    web = client(audit_app(make_app, calls, auth_basic_username=None, auth_basic_password=None,
                           auth_jwt_secret=SECRET, session_store=store_url))
    token = token_of(sub=sub, iss='https://idp.example.com')  # (json.dumps writes the astral one as a pair)
    assert '\\ud83d\\ude00' in base64.urlsafe_b64decode(token.split('.')[1] + '==').decode() or 'smile' not in sub
    answer = web.get('/keep', headers={'Authorization': 'Bearer ' + token})
    assert answer.json['user']['sub'] == sub and answer.headers['Set-Cookie']
    assert web.get('/audit').json['user']['sub'] == sub  # (the session, stored, keeps the login)


# -- a form login's name with a lone surrogate ------------------------------------------------------

PASSWORD_HASH = canister.hash_password('wonderland', iterations=1000)
#: Users an app may hand canister.log_in that would take a name with a lone surrogate: a lookup that answers
#: every name (a shared password, a directory that ignores what it cannot match), a mapping holding one.
FORM_USERS = [lambda name: PASSWORD_HASH, {'\ud800': PASSWORD_HASH, 'alice': PASSWORD_HASH}]


@pytest.mark.parametrize('users', FORM_USERS, ids=['lookup', 'mapping'])
def test_a_form_login_whose_name_holds_a_lone_surrogate_is_refused_on_every_store(make_app, log_dir, store_url, users):
    app = make_app(session_store=store_url, auth_max_failures=1)

    @app.post('/login')
    def login():
        body = bottle.request.json  # (Bottle's own reader lets "\ud800" through)
        if not canister.log_in(body['username'], body['password'], users):
            bottle.abort(401, 'wrong user name or password')
        session.data['seen'] = True
        return {'user': session.user}

    web = client(app)
    refused = web.post('/login', b'{"username": "\\ud800", "password": "wonderland"}',
                       headers={'Content-Type': 'application/json'}, expect_errors=True)
    assert refused.status_int == 401 and 'wrong user name or password' in refused.text
    assert 'Set-Cookie' not in refused.headers
    log = read_log(log_dir)
    assert warned(log_dir, 'Authentication failed: the user name is not valid UTF-8 (it holds a lone surrogate; '
                           'not shown)'), log
    assert 'Traceback' not in log and ' ERROR ' not in log
    locked = web.post('/login', json.dumps({'username': 'alice', 'password': 'wonderland'}),
                      headers={'Content-Type': 'application/json'}, expect_errors=True)
    assert locked.status_int == 429  # (counted by the throttle, as any wrong login)


# -- what the README says ---------------------------------------------------------------------

def test_the_readme_says_the_scheme_ends_at_any_whitespace_as_bottle_reads_it():
    assert ("Canister reads a header's scheme as Bottle does, as the word before the first whitespace: a space, as "
            "RFC 9110 writes it, or a run of spaces, a tab, a no-break space (`Basic<TAB>YWxpY2U6...`), so that where "
            "canister is configured for Basic, every pair `bottle.request.auth` holds has been checked: a wrong "
            "password after a tab is a 401 with its WARNING, counted by the throttle, as after a space."
            ) in readme_section('## Authentication')
    assert ("Its scheme is read as for the login (see [Authentication](#authentication)): `Bearer` then a space, a "
            "tab or other whitespace, the token then checked where canister is configured for Bearer."
            ) in readme_section('## CSRF protection')


def test_the_readme_says_a_token_with_a_lone_surrogate_is_refused():
    assert ("So is a token whose claims hold text that has no UTF-8 form, a lone surrogate (JSON's `\"\\ud800\"` "
            "without its pair), in its `sub`, its `iss`, any other claim or a claim's name, whatever the session store: "
            "`the token is malformed: its claim 'sub' is not valid UTF-8 (it holds a lone surrogate)`."
            ) in readme_section('### Bearer JWT (OAuth2 / OIDC)')
