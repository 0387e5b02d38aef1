"""A signed token whose claims hold ``NaN``, ``Infinity`` or ``-Infinity`` is refused, as a JSON body is.

PyJWT reads a token's claims with Python's ``json``, which takes those literals (and a number too large for a
float, ``1e999``, as infinity) though JSON has none of them. A JSON body holding one is a 400 from canister; a
token holding one was let in and its claims stored in the session as they were, so that a SQLite or Redis
record held text other JSON readers refuse. It is a 401 ``invalid_token`` now, with its WARNING, whatever
the store, and nothing is stored; ordinary floats still log in.
"""
from __future__ import annotations

import time

import pytest

from canister import session
from helpers import b64url, client, hs256_signer, read_log, readme_section, warning_lines

SECRET = 'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4Kl1Mz8Nx5Cv3Bb6Vn0Q'  # 64 bytes


def token_of(claims: str) -> str:
    """A token signed with SECRET whose payload is the JSON object ``{"sub": "alice", "exp": ..., <claims>}``,
    written as given (so it may hold ``NaN`` and ``1e999``, which ``json.dumps`` would not write)."""
    payload = '{"sub": "alice", "exp": %d, %s}' % (int(time.time()) + 300, claims)
    signing_input = b64url(b'{"alg": "HS256", "typ": "JWT"}') + '.' + b64url(payload.encode('utf-8'))
    return signing_input + '.' + b64url(hs256_signer(SECRET)(signing_input.encode('ascii')))


def keeping_app(make_app, calls, store_url):
    """Bearer only; GET /keep stores the session (under its user's key) and answers session.user."""
    app = make_app(auth_jwt_secret=SECRET, session_store=store_url)

    @app.get('/keep')
    def keep():
        calls.append(1)
        session.data['seen'] = True
        return {'user': session.user}

    @app.get('/who')
    def who():
        return {'user': session.user}

    return app


NOT_FINITE = [('"score": NaN', 'score'), ('"score": Infinity', 'score'), ('"score": -Infinity', 'score'),
              ('"rank": 1e999', 'rank'), ('"rank": -1e999', 'rank'),
              ('"groups": ["staff", {"weight": [1, NaN]}]', 'groups'), ('"extra": {"a": {"b": Infinity}}', 'extra')]
NOT_FINITE_IDS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', 'nested in a list', 'nested in objects']


@pytest.mark.parametrize('claims, claim', NOT_FINITE, ids=NOT_FINITE_IDS)
def test_a_signed_token_whose_claims_hold_nan_or_infinity_is_a_401_on_every_store(make_app, log_dir, store_url,
                                                                                    claims, claim):
    calls = []
    web = client(keeping_app(make_app, calls, store_url))
    refused = web.get('/keep', headers={'Authorization': 'Bearer ' + token_of(claims)}, expect_errors=True)
    reason = ('the token is malformed: its claim %r is not a finite number (NaN, Infinity and -Infinity are not '
              'JSON values)' % claim)
    assert refused.status_int == 401, refused.text
    assert refused.text.strip() == 'Authentication failed: ' + reason
    challenge = refused.headers['WWW-Authenticate']
    assert challenge.startswith('Bearer ') and 'error="invalid_token"' in challenge, challenge
    assert 'error_description="%s"' % reason in challenge, challenge
    assert calls == [] and 'Set-Cookie' not in refused.headers  # (no session made, nothing stored)
    assert web.get('/who').json == {'user': None}
    log = read_log(log_dir)
    assert [line for line in warning_lines(log_dir) if line.endswith('   Authentication failed: ' + reason)], log
    assert 'Traceback' not in log and ' ERROR ' not in log


def test_a_token_with_ordinary_floats_still_logs_in_on_every_store(make_app, store_url):
    calls = []
    web = client(keeping_app(make_app, calls, store_url))
    token = token_of('"score": 1.5, "big": 1e300, "tiny": -2.5e-300, "nested": {"w": [0.25, -0.0]}')
    answer = web.get('/keep', headers={'Authorization': 'Bearer ' + token})
    assert answer.headers['Set-Cookie'] and calls == [1]
    user = answer.json['user']
    assert (user['sub'], user['score'], user['big'], user['tiny'], user['nested']) == (
        'alice', 1.5, 1e300, -2.5e-300, {'w': [0.25, -0.0]})
    assert web.get('/who').json['user']['big'] == 1e300  # (the session, stored, keeps the login)


def test_a_json_body_with_nan_is_refused_in_the_same_words(make_app):
    """The body's 400 and the token's 401 say the same thing of NaN: one rule, written once."""
    app = make_app()

    @app.post('/any')
    def anything(x):
        return {'x': repr(x)}

    answer = client(app).post('/any', '{"x": NaN}', content_type='application/json', expect_errors=True)
    assert answer.status_int == 400
    assert "parameter 'x': NaN, Infinity and -Infinity are not JSON values" in answer.text


def test_the_readme_says_a_token_with_nan_or_infinity_is_refused():
    section = readme_section('### Bearer JWT (OAuth2 / OIDC)')
    sentence = ("So is a token whose claims hold `NaN`, `Infinity` or `-Infinity` (refused in a JSON body too) "
                "or a number too large for a float (`1e999`, which Python reads as infinity), at any depth, whatever "
                "the session store: "
                "`the token is malformed: its claim 'score' is not a finite number (NaN, Infinity and -Infinity are "
                "not JSON values)`.")
    assert sentence in section
    assert section.index(sentence) > section.index('(it holds a lone surrogate)')  # (beside the lone surrogate's)
