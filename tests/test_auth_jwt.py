"""Bearer JWT authentication: secrets, public keys, JWKS, claim checks and rejections."""
from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

import canister
from canister import session
from helpers import (assert_keys_unavailable, b64url, basic, bearer, claims, client, hand_made_token, hs256_signer, jwk,
                     public_pem, read_log, signed_token)
from servers import Client, held_port, wait_until

SECRET = 'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4Kl1Mz8Nx5Cv3Bb6Vn0Q'  # 64 bytes


# -- helpers ---------------------------------------------------------------------

def me_json_app(make_app, calls=None, **overrides):
    """An app whose /me route answers {'user': ...} with the logged-in user (and counts its calls)."""
    app = make_app(**overrides)
    calls = calls if calls is not None else []

    @app.get('/me')
    def me():
        calls.append(1)
        return {'user': session.user}

    return app


def secret_app(make_app, calls=None, **overrides):
    overrides.setdefault('auth_jwt_secret', SECRET)
    return me_json_app(make_app, calls, **overrides)


def bearer_challenge(response):
    challenges = [c for c in response.headers.getall('WWW-Authenticate') if c.startswith('Bearer ')]
    assert challenges, response.headers
    return challenges[0]


def assert_invalid_token(response, calls=None):
    assert response.status_int == 401, response
    challenge = bearer_challenge(response)
    assert 'error="invalid_token"' in challenge
    match = re.search(r'error_description="([^"]+)"', challenge)
    assert match and match.group(1).strip(), challenge
    if calls is not None:
        assert calls == []
    return match.group(1)


def refusal_of(make_app, token, **overrides):
    """What ``secret_app`` with these overrides says refusing ``token`` (asserted an invalid_token 401, the
    handler not called)."""
    calls = []
    app = secret_app(make_app, calls, **overrides)
    return assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


@pytest.fixture(scope='module')
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope='module')
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def rsa_pem_file(tmp_path, rsa_key):
    path = tmp_path / 'rsa-public.pem'
    path.write_bytes(public_pem(rsa_key))
    return path


# -- shared secrets --------------------------------------------------------------

@pytest.mark.parametrize('algorithm', ['HS256', 'HS384', 'HS512'])
def test_hmac_token_logs_the_user_in_with_its_claims(make_app, algorithm):
    app = secret_app(make_app)
    token_claims = claims(name='Alice', roles=['admin'])
    token = pyjwt.encode(token_claims, SECRET, algorithm=algorithm)
    response = client(app).get('/me', headers=bearer(token))
    assert response.status_int == 200
    assert response.json == {'user': token_claims}


def test_token_signed_with_another_secret_is_refused(make_app):
    refusal_of(make_app, signed_token(SECRET[::-1]))


def test_bearer_scheme_name_is_case_insensitive(make_app):
    app = secret_app(make_app)
    response = client(app).get('/me', headers={'Authorization': 'bearer ' + signed_token(SECRET)})
    assert response.json['user']['sub'] == 'alice'


def test_config_keys_from_app_config_enable_jwt(make_app):
    app = me_json_app(make_app, config={'auth_jwt_secret': SECRET, 'auth_jwt_leeway': '0'})
    assert client(app).get('/me', headers=bearer(signed_token(SECRET))).json['user']['sub'] == 'alice'


@pytest.mark.parametrize('encoding,encode,alphabet', [('base64std', base64.b64encode, '+/'),
                                                      ('base64url', base64.urlsafe_b64encode, '-_')],
                         ids=['base64std', 'base64url'])
def test_a_base64_secret_without_padding_is_decoded(make_app, encoding, encode, alphabet):
    raw = b'\xfb\xff\xbe' * 21 + b'\xfa'  # 64 bytes, encodes with the two letters of its alphabet and needs padding
    encoded = encode(raw).decode()
    assert encoded.endswith('=') and (alphabet[0] in encoded or alphabet[1] in encoded)
    app = secret_app(make_app, auth_jwt_secret=encoded.rstrip('='), auth_jwt_encoding=encoding)
    response = client(app).get('/me', headers=bearer(signed_token(raw)))
    assert response.json['user']['sub'] == 'alice'


def test_base64_secret_is_not_used_as_its_text(make_app):
    raw = b'\xfb\xff\xbe' * 21 + b'\xfa'
    encoded = base64.urlsafe_b64encode(raw).decode().rstrip('=')
    app = secret_app(make_app, auth_jwt_secret=encoded, auth_jwt_encoding='base64url')
    response = client(app).get('/me', headers=bearer(signed_token(encoded)), expect_errors=True)
    assert_invalid_token(response)


@pytest.mark.parametrize('algorithm', ['HS256', 'HS512'])
def test_a_token_signed_with_a_base64_secret_as_written_is_refused_and_logged_with_the_fix(make_app, log_dir,
                                                                                          algorithm):
    encoded = base64.urlsafe_b64encode(b'\xfb\xff\xbe' * 21 + b'\xfa').decode().rstrip('=')
    app = secret_app(make_app, auth_jwt_secret=encoded, auth_jwt_encoding='base64url')
    response = client(app).get('/me', headers=bearer(signed_token(encoded, algorithm)), expect_errors=True)
    assert assert_invalid_token(response) == 'the token signature is invalid'  # the client is told no more
    assert ('Authentication failed: the token signature is invalid: it is signed with auth_jwt_secret as written, '
            'which auth_jwt_encoding = base64url says to decode first; sign with the decoded bytes, or set '
            'auth_jwt_encoding = clear') in read_log(log_dir)


def test_a_token_signed_with_a_clear_secret_decoded_from_base64_is_refused_and_logged_with_the_fix(make_app,
                                                                                                   log_dir):
    text = base64.urlsafe_b64encode(b'\xfb\xff\xbe' * 21 + b'\xfa').decode().rstrip('=')
    app = secret_app(make_app, auth_jwt_secret=text)  # auth_jwt_encoding = clear, the default
    decoded = base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    response = client(app).get('/me', headers=bearer(signed_token(decoded)), expect_errors=True)
    assert assert_invalid_token(response) == 'the token signature is invalid'
    assert ('Authentication failed: the token signature is invalid: it is signed with auth_jwt_secret decoded from '
            'base64, which auth_jwt_encoding = clear uses as written; set auth_jwt_encoding = base64url (or '
            'base64std), or sign with the text') in read_log(log_dir)


def test_a_token_signed_with_another_secret_is_logged_as_only_an_invalid_signature(make_app, log_dir):
    app = secret_app(make_app, auth_jwt_secret=SECRET)
    client(app).get('/me', headers=bearer(signed_token(SECRET + 'x')), expect_errors=True)
    line = [line for line in read_log(log_dir).splitlines() if 'Authentication failed' in line][0]
    assert line.endswith('Authentication failed: the token signature is invalid')


def test_hand_made_hs256_token_is_accepted_with_the_right_secret(make_app):
    """Proves the hand-made tokens of the attack tests below are well formed."""
    app = secret_app(make_app)
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, claims(), hs256_signer(SECRET))
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


# -- public keys -----------------------------------------------------------------

def test_rs256_token_is_accepted_with_the_public_key_pem(make_app, rsa_key, rsa_pem_file):
    app = me_json_app(make_app, auth_jwt_public_key=str(rsa_pem_file))
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256')
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


def test_es256_token_is_accepted_with_the_public_key_pem(make_app, ec_key, tmp_path):
    pem = tmp_path / 'ec-public.pem'
    pem.write_bytes(public_pem(ec_key))
    app = me_json_app(make_app, auth_jwt_public_key=str(pem))
    token = pyjwt.encode(claims(), ec_key, algorithm='ES256')
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


@pytest.mark.parametrize('algorithm, private_key', [
    ('PS256', lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ('PS512', lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ('EdDSA', ed25519.Ed25519PrivateKey.generate),
    ('EdDSA', ed448.Ed448PrivateKey.generate),
])
def test_ps_and_eddsa_tokens_are_accepted_with_the_public_key_pem_by_default(make_app, tmp_path, algorithm,
                                                                               private_key):
    """README: auth_jwt_algorithms defaults to RS, ES, PS and EdDSA when keys are set."""
    key = private_key()
    pem = tmp_path / 'public.pem'
    pem.write_bytes(public_pem(key))
    app = me_json_app(make_app, auth_jwt_public_key=str(pem))
    token = pyjwt.encode(claims(), key, algorithm=algorithm)
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


def test_rs256_token_signed_by_another_key_is_refused(make_app, rsa_pem_file, other_rsa_key):
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_public_key=str(rsa_pem_file))
    token = pyjwt.encode(claims(), other_rsa_key, algorithm='RS256')
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


def test_hs256_token_signed_with_the_public_key_pem_is_refused(make_app, rsa_pem_file):
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_public_key=str(rsa_pem_file))
    pem = rsa_pem_file.read_bytes()
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, claims(), hs256_signer(pem))
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


def test_key_confusion_is_refused_even_when_hmac_is_also_configured(make_app, rsa_pem_file):
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_public_key=str(rsa_pem_file), auth_jwt_secret=SECRET)
    pem = rsa_pem_file.read_bytes()
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, claims(), hs256_signer(pem))
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


def test_es256_token_is_refused_when_only_rs256_is_allowed(make_app, ec_key, tmp_path):
    pem = tmp_path / 'ec-public.pem'
    pem.write_bytes(public_pem(ec_key))
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_public_key=str(pem), auth_jwt_algorithms='RS256')
    token = pyjwt.encode(claims(), ec_key, algorithm='ES256')
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


# -- rejected tokens ---------------------------------------------------------------

@pytest.mark.parametrize('alg', ['none', 'None', 'NONE'])
def test_unsigned_alg_none_token_is_refused(make_app, alg):
    token = hand_made_token({'alg': alg, 'typ': 'JWT'}, claims())
    assert token.endswith('.')
    refusal_of(make_app, token)


def test_algorithm_off_the_allow_list_is_refused(make_app):
    refusal_of(make_app, signed_token(SECRET, algorithm='HS256'), auth_jwt_algorithms='HS512')


def test_algorithm_on_the_allow_list_is_accepted(make_app):
    app = secret_app(make_app, auth_jwt_algorithms='HS384, HS512')
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, algorithm='HS512')))
    assert response.json['user']['sub'] == 'alice'


def test_token_expired_within_the_default_leeway_is_accepted(make_app):
    app = secret_app(make_app)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, exp=int(time.time()) - 5)))
    assert response.status_int == 200
    assert response.json['user']['sub'] == 'alice'


def test_token_expired_beyond_the_leeway_is_refused(make_app):
    description = refusal_of(make_app, signed_token(SECRET, exp=int(time.time()) - 60))
    assert 'expired' in description


def test_token_expired_is_refused_when_the_leeway_is_zero(make_app):
    app = secret_app(make_app, auth_jwt_leeway=0)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, exp=int(time.time()) - 5)), expect_errors=True)
    assert_invalid_token(response)


def test_larger_leeway_accepts_an_older_token(make_app):
    app = secret_app(make_app, auth_jwt_leeway=120)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, exp=int(time.time()) - 60)))
    assert response.json['user']['sub'] == 'alice'


def test_token_for_the_client_id_is_accepted(make_app):
    app = secret_app(make_app, auth_jwt_client_id='my-app')
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, aud='my-app')))
    assert response.json['user']['aud'] == 'my-app'


def test_token_whose_audience_list_holds_the_client_id_is_accepted(make_app):
    app = secret_app(make_app, auth_jwt_client_id='my-app')
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, aud=['other-app', 'my-app'])))
    assert response.json['user']['sub'] == 'alice'


def test_token_for_another_audience_is_refused(make_app):
    description = refusal_of(make_app, signed_token(SECRET, aud='other-app'), auth_jwt_client_id='my-app')
    assert 'audience' in description


def test_token_without_audience_is_refused_when_a_client_id_is_set(make_app):
    refusal_of(make_app, signed_token(SECRET), auth_jwt_client_id='my-app')


def test_token_from_the_configured_issuer_is_accepted(make_app):
    app = secret_app(make_app, auth_jwt_issuer='https://id.example.com/')
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, iss='https://id.example.com/')))
    assert response.json['user']['iss'] == 'https://id.example.com/'


def test_token_from_another_issuer_is_refused(make_app):
    description = refusal_of(make_app, signed_token(SECRET, iss='https://evil.example.com/'), auth_jwt_issuer='https://id.example.com/')
    assert 'issuer' in description


@pytest.mark.parametrize('issuer', ['https://id.example.com', 'id.example.com', 'example', ''])
def test_token_whose_issuer_is_only_part_of_the_configured_one_is_refused(make_app, issuer):
    assert 'issuer' in refusal_of(make_app, signed_token(SECRET, iss=issuer), auth_jwt_issuer='https://id.example.com/')


def test_token_without_exp_is_refused_by_default(make_app):
    description = refusal_of(make_app, signed_token(SECRET, exp=None))
    assert 'exp' in description


def test_token_without_exp_is_accepted_when_exp_is_not_required(make_app):
    app = secret_app(make_app, auth_jwt_require_exp=False)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, exp=None)))
    assert response.json == {'user': {'sub': 'alice'}}


def test_token_not_valid_before_a_future_time_is_refused(make_app):
    refusal_of(make_app, signed_token(SECRET, nbf=int(time.time()) + 60))


def test_token_whose_nbf_is_past_is_accepted(make_app):
    app = secret_app(make_app)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, nbf=int(time.time()) - 60)))
    assert response.json['user']['sub'] == 'alice'


def test_token_issued_later_than_the_leeway_ahead_is_refused_as_not_valid_yet(make_app):
    """README: exp is checked with auth_jwt_leeway seconds of leeway, like nbf and iat (10 s by default)."""
    assert 'not valid yet' in refusal_of(make_app, signed_token(SECRET, iat=int(time.time()) + 60))


def test_token_issued_within_the_leeway_ahead_is_accepted(make_app):
    app = secret_app(make_app)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, iat=int(time.time()) + 5)))
    assert response.json['user']['sub'] == 'alice'


def test_token_with_a_tampered_payload_is_refused(make_app):
    header, _, signature = signed_token(SECRET, role='user').split('.')
    forged = b64url(json.dumps(claims(role='admin')).encode())
    refusal_of(make_app, '.'.join((header, forged, signature)))


def test_token_with_a_stripped_signature_is_refused(make_app):
    header, payload, _ = signed_token(SECRET).split('.')
    refusal_of(make_app, header + '.' + payload + '.')


@pytest.mark.parametrize('token', ['abc.def', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9', '..', 'e30.e30.e30'])
def test_malformed_token_is_refused(make_app, token):
    refusal_of(make_app, token)


@pytest.mark.parametrize('token', ['garbage', '%%%%', '\u00e9\u00e8\u00ea', 'x' * 4000])
def test_garbage_token_is_refused(make_app, token):
    refusal_of(make_app, token)


def test_token_whose_payload_is_not_an_object_is_refused(make_app):
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, [1, 2, 3], hs256_signer(SECRET))
    refusal_of(make_app, token)


@pytest.mark.parametrize('payload, said', [
    (claims(sub=5), 'Subject must be a string'), (claims(exp='soon'), 'Expiration Time claim (exp) must be'),
    (claims(iat='x'), 'Issued At claim (iat) must be'), ([1, 2, 3], 'must be a json object'),
], ids=['sub', 'exp', 'iat', 'payload'])
def test_a_signed_token_whose_claims_are_malformed_gets_a_401_saying_which_in_words(make_app, log_dir, payload, said):
    """The 401 said ``the token is invalid (DecodeError)`` (or ``InvalidSubjectError``): PyJWT's exception
    class, where its message says what is wrong."""
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, payload, hs256_signer(SECRET))
    description = refusal_of(make_app, token)
    assert description.startswith('the token is malformed: ') and said in description
    assert 'Error' not in description
    assert 'Authentication failed: ' + description in read_log(log_dir)


@pytest.mark.parametrize('header', ['Bearer', 'Bearer ', 'Bearer a b'])
def test_bearer_header_with_the_wrong_number_of_parts_is_refused(make_app, header):
    calls = []
    app = secret_app(make_app, calls)
    response = client(app).get('/me', headers={'Authorization': header}, expect_errors=True)
    assert response.status_int == 401
    assert bearer_challenge(response)
    assert calls == []


def test_refused_token_is_logged_as_a_warning_without_the_token(make_app, log_dir):
    app = secret_app(make_app)
    token = signed_token('another-secret-that-is-long-enough-for-hs256!!')
    client(app).get('/me', headers=bearer(token), expect_errors=True)
    log = read_log(log_dir)
    assert re.search(r' WARNING .*Authentication failed: the token signature is invalid', log)
    assert token not in log
    assert token.split('.')[2] not in log


def test_successful_token_login_logs_the_subject(make_app, log_dir):
    app = secret_app(make_app)
    client(app).get('/me', headers=bearer(signed_token(SECRET, sub='alice@example.com')))
    lines = [line for line in read_log(log_dir).splitlines() if 'Logged in as: alice@example.com' in line]
    assert len(lines) == 1 and ' INFO ' in lines[0]


def test_no_secret_or_token_reaches_the_log_files(make_app, log_dir):
    app = secret_app(make_app, log_level='DEBUG', auth_max_failures=100)

    @app.get('/login')
    def login():
        return session.sid

    good = signed_token(SECRET)
    bad = signed_token(SECRET[::-1])
    c = client(app)
    for token in (good, bad, good + 'x', 'garbage-token-value'):
        c.get('/me', headers=bearer(token), expect_errors=True)
        c.get('/login?access_token=' + token, headers=bearer(token), expect_errors=True)
    log = ''.join(path.read_text(encoding='utf-8', errors='replace') for path in log_dir.iterdir())
    assert 'Logged in as: alice' in log and 'Authentication failed' in log
    for secret in (SECRET, SECRET[::-1], good, bad, good.split('.')[2], bad.split('.')[2], 'garbage-token-value'):
        assert secret not in log, secret


def test_bearer_token_is_left_alone_when_only_basic_is_configured(make_app):
    app = me_json_app(make_app, auth_basic_username='alice', auth_basic_password='wonderland')
    response = client(app).get('/me', headers=bearer(signed_token(SECRET)))
    assert response.status_int == 200
    assert response.json == {'user': None}


def test_basic_header_is_left_alone_when_only_bearer_is_configured(make_app, log_dir):
    """README: a scheme canister is not configured for is left alone (no 401, no WARNING), for the app to handle."""
    calls = []
    app = secret_app(make_app, calls)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.status_int == 200 and 'WWW-Authenticate' not in response.headers
    assert response.json == {'user': None} and calls == [1]
    assert 'Authentication failed' not in read_log(log_dir)


def test_require_user_challenges_with_bearer_when_jwt_is_configured(make_app):
    app = secret_app(make_app)

    @app.get('/private')
    @canister.require_user
    def private():
        return 'secret'

    response = client(app).get('/private', expect_errors=True)
    assert response.status_int == 401
    assert bearer_challenge(response).startswith('Bearer realm="')


def test_require_checks_a_predicate_on_the_claims(make_app):
    app = secret_app(make_app)

    @app.get('/admin')
    @canister.require(lambda user: 'admin' in user.get('roles', []))
    def admin():
        return 'admin area'

    c = client(app)
    assert c.get('/admin', headers=bearer(signed_token(SECRET, roles=['user'])), expect_errors=True).status_int == 403
    assert c.get('/admin', headers=bearer(signed_token(SECRET, roles=['admin']))).text == 'admin area'


def test_failed_tokens_are_throttled_per_ip(make_app):
    app = secret_app(make_app, auth_max_failures=3)
    c = client(app)
    for _ in range(3):
        assert c.get('/me', headers=bearer('garbage'), expect_errors=True).status_int == 401
    response = c.get('/me', headers=bearer(signed_token(SECRET)), expect_errors=True)
    assert response.status_int == 429
    assert 'Retry-After' in response.headers
    assert client(app, REMOTE_ADDR='10.1.1.1').get('/me', headers=bearer(signed_token(SECRET))).status_int == 200


# -- sessions ---------------------------------------------------------------------

def test_stateless_tokens_leave_no_server_side_session(make_app):
    store = canister.MemoryStore()
    app = secret_app(make_app, store=store)
    c = client(app)
    for _ in range(5):
        response = c.get('/me', headers=bearer(signed_token(SECRET)))
        assert response.json['user']['sub'] == 'alice'
        assert 'Set-Cookie' not in response.headers
    assert len(store) == 0


def test_token_session_user_ends_when_the_token_expires(make_app, clock):
    app = secret_app(make_app, auth_jwt_leeway=0)

    @app.get('/login')
    def login():
        return session.sid

    c = client(app)
    exp = int(clock.now) + 60  # (PyJWT checks the token against the real clock: a minute is time enough to log in)
    response = c.get('/login', headers=bearer(signed_token(SECRET, exp=exp)))
    assert response.status_int == 200 and 'Set-Cookie' in response.headers
    clock.advance(exp - clock.now - 0.5)  # (canister's clock, which times the session's user)
    assert c.get('/me').json['user']['exp'] == exp
    clock.advance(1)
    assert c.get('/me').json == {'user': None}


# -- JWKS ------------------------------------------------------------------------

def test_jwks_token_with_a_published_kid_is_accepted(make_app, rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    response = client(app).get('/me', headers=bearer(token))
    assert response.json['user']['sub'] == 'alice'
    assert jwks_server.hits == 1


def test_jwks_keys_are_cached_between_requests(make_app, rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    c = client(app)
    for _ in range(3):
        assert c.get('/me', headers=bearer(token)).status_int == 200
    assert jwks_server.hits == 1


def test_jwks_token_with_an_unknown_kid_is_refused(make_app, rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-2'})
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True), calls)


def test_jwks_token_with_a_published_kid_but_another_key_is_refused(make_app, rsa_key, other_rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), other_rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    assert_invalid_token(client(app).get('/me', headers=bearer(token), expect_errors=True))


def test_jwks_unknown_kids_do_not_refetch_more_than_every_ten_seconds(make_app, rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    c = client(app)
    for number in range(5):
        token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'random-%d' % number})
        assert c.get('/me', headers=bearer(token), expect_errors=True).status_int == 401
    assert jwks_server.hits == 1


def test_jwks_key_rotation_is_picked_up_on_a_new_kid(make_app, rsa_key, other_rsa_key, jwks_server, monotonic):
    new_key = other_rsa_key
    old_token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'old'})
    new_token = pyjwt.encode(claims(sub='bob'), new_key, algorithm='RS256', headers={'kid': 'new'})
    jwks_server.publish(jwk(rsa_key, 'old'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=2.0)
    c = client(app)
    assert c.get('/me', headers=bearer(old_token)).json['user']['sub'] == 'alice'
    jwks_server.publish(jwk(rsa_key, 'old'), jwk(new_key, 'new'))
    monotonic.advance(1.75)
    # too soon: the new kid is unknown until auth_jwt_jwks_refetch has passed since the first fetch
    too_soon = c.get('/me', headers=bearer(new_token), expect_errors=True).status_int
    assert too_soon == 401
    assert jwks_server.hits == 1
    monotonic.advance(0.25)
    response = c.get('/me', headers=bearer(new_token))
    assert response.json['user']['sub'] == 'bob'
    assert jwks_server.hits == 2


def _a_plain_request_while_a_bearer_one_hangs(make_app, token, hanging_server):
    """A fresh app's Bearer request downloading the keys from ``hanging_server``, and a plain request sent once it
    connected: (the plain answer, its seconds, whether it came while the Bearer one still waited, the Bearer one's
    answer and seconds)."""
    app = me_json_app(make_app, auth_jwt_jwks_url=hanging_server.url)
    outcome = {}

    def bearer_request():
        started = time.monotonic()
        response = client(app).get('/me', headers=bearer(token), expect_errors=True)
        outcome['response'], outcome['elapsed'] = response, time.monotonic() - started

    hanging_server.accepted.clear()
    thread = threading.Thread(target=bearer_request, daemon=True)
    thread.start()
    assert hanging_server.accepted.wait(30), 'canister never asked the JWKS endpoint'
    started = time.monotonic()
    plain = client(app).get('/me')
    plain_elapsed = time.monotonic() - started
    answered_while_it_hung = 'response' not in outcome
    assert plain.json == {'user': None}
    thread.join(30)
    assert not thread.is_alive(), 'the Bearer request is still hanging'
    assert_keys_unavailable(outcome['response'], retry_after='5')  # (a download may start 10 s after the last)
    return plain_elapsed, answered_while_it_hung, outcome['elapsed']


def test_jwks_endpoint_that_hangs_gives_503_without_blocking_other_requests(make_app, rsa_key, hanging_server):
    """The Bearer request gives up at the download's 5 s timeout; a plain request meanwhile is answered at once.
    A round (a fresh app) again only when another job's load slowed one: a plain request waiting for the download
    would take most of its 5 s, a Bearer one waiting past the timeout 6.5 s or more, in every round."""
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    for _ in range(3):
        plain_elapsed, answered_while_it_hung, bearer_elapsed = _a_plain_request_while_a_bearer_one_hangs(
            make_app, token, hanging_server)
        assert bearer_elapsed >= 4.9, bearer_elapsed  # (it waited for the download, its 5 s)
        if plain_elapsed < 1.0 and answered_while_it_hung and bearer_elapsed < 6.5:
            break
    assert plain_elapsed < 1.0 and answered_while_it_hung, plain_elapsed
    assert bearer_elapsed < 6.5, bearer_elapsed


def kid_token(key, kid, **extra):
    """Bearer headers of a token of :func:`helpers.claims` (``extra`` added) signed with ``key``, naming ``kid``."""
    return bearer(pyjwt.encode(claims(**extra), key, algorithm='RS256', headers={'kid': kid}))


def get_in_thread(origin, headers):
    """GET /me with ``headers`` over HTTP from a new thread: the thread, and a dict that gets the answer."""
    held = {}
    thread = threading.Thread(target=lambda: held.update(answer=Client(origin).get('/me', headers=headers)))
    thread.start()
    return thread, held


def test_while_the_jwks_endpoint_hangs_another_unknown_kid_is_answered_503_at_once(make_app, rsa_key, hanging_server,
                                                                               serve, log_dir):
    """A round (a fresh app and server) again only when another job's load spoiled it: a request without a token,
    sent beside the other kid's, took half a second or more too.  One waiting for the download waits its 5 s."""
    rounds = 0
    while rounds < 3:
        rounds += 1
        app = me_json_app(make_app, auth_jwt_jwks_url=hanging_server.url)
        origin = serve(app, threads=4)
        hanging_server.accepted.clear()
        first, held = get_in_thread(origin, kid_token(rsa_key, 'key-1'))
        assert hanging_server.accepted.wait(30), 'canister never asked the JWKS endpoint'

        other = Client(origin).get('/me', headers=kid_token(rsa_key, 'key-2'))
        first_still_waits = first.is_alive()
        baseline = Client(origin).get('/me')
        first.join(30)

        assert (other.status, other.headers['Retry-After'], first_still_waits) == (503, '1', True), other
        assert held['answer'].status == 503
        if other.elapsed * 2 < held['answer'].elapsed or baseline.elapsed < 0.5:
            break
    # (the first waits 5 s, as would this)
    assert other.elapsed * 2 < held['answer'].elapsed, (other, held['answer'], baseline)
    assert len(hanging_server.connections) == rounds  # (one download a round)
    logged = read_log(log_dir)
    assert re.search(r' WARNING .*Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched from '
                     r'%s: its download for another request has not ended yet\n' % re.escape(hanging_server.url), logged)
    assert not re.search(r' ERROR .*has not ended yet', logged)  # (a provider only slow at start-up is no failure)
    assert re.search(r' ERROR .*Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched from '
                     r'%s: no complete answer within 5s\n' % re.escape(hanging_server.url), logged)


def test_while_the_jwks_endpoint_hangs_a_server_of_two_threads_answers_a_request_without_a_token(
        make_app, rsa_key, hanging_server, serve):
    """A round (a fresh app and server) again only when another job's load slowed the plain request past the end of
    the download: one waiting for the thread that the download holds is answered after the first, in every round."""
    for _ in range(3):
        app = me_json_app(make_app, auth_jwt_jwks_url=hanging_server.url)
        origin = serve(app, threads=2)
        hanging_server.accepted.clear()
        first, held = get_in_thread(origin, kid_token(rsa_key, 'key-1'))
        assert hanging_server.accepted.wait(30), 'canister never asked the JWKS endpoint'
        others = [get_in_thread(origin, kid_token(rsa_key, 'key-%d' % number)) for number in (2, 3, 4)]
        time.sleep(0.1)  # (they reach the server first, and take the second thread in turn)

        plain = Client(origin).get('/me')
        first_still_waits = first.is_alive()
        for thread, _ in [(first, held)] + others:
            thread.join(30)

        assert (plain.status, plain.json()) == (200, {'user': None})
        assert [answer['answer'].status for _, answer in [(first, held)] + others] == [503] * 4
        if first_still_waits:
            break
    assert first_still_waits, plain  # (answered while the download holds the first thread)


def test_a_rotated_key_is_accepted_once_its_slow_download_ends_and_no_other_token_waits_for_it(
        make_app, rsa_key, other_rsa_key, jwks_server, serve, monotonic):
    jwks_server.publish(jwk(rsa_key, 'old'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=0.5)
    origin = serve(app, threads=4)
    assert Client(origin).get('/me', headers=kid_token(rsa_key, 'old')).status == 200
    jwks_server.publish(jwk(rsa_key, 'old'), jwk(other_rsa_key, 'new'))
    jwks_server.delay = 2.0
    jwks_server.held = threading.Event()  # (the download under way until the test lets it answer, 2 s later)
    monotonic.advance(0.5)  # (auth_jwt_jwks_refetch has passed, on canister's clock)

    first, held = get_in_thread(origin, kid_token(other_rsa_key, 'new', sub='bob'))
    wait_until(lambda: jwks_server.hits == 2, 30, what='the download for the new kid')
    known = Client(origin).get('/me', headers=kid_token(rsa_key, 'old', sub='carol'))
    rotated_meanwhile = Client(origin).get('/me', headers=kid_token(other_rsa_key, 'new', sub='dave'))
    first_still_waits = first.is_alive()
    jwks_server.held.set()
    first.join(30)
    rotated_after = Client(origin).get('/me', headers=kid_token(other_rsa_key, 'new', sub='erin'))

    assert (held['answer'].status, held['answer'].json()['user']['sub']) == (200, 'bob')
    assert (known.status, known.json()['user']['sub'], first_still_waits) == (200, 'carol', True)
    assert (rotated_meanwhile.status, rotated_meanwhile.headers['Retry-After']) == (503, '1'), rotated_meanwhile
    assert max(known.elapsed, rotated_meanwhile.elapsed) * 2 < held['answer'].elapsed, (known, rotated_meanwhile)
    assert (rotated_after.status, rotated_after.json()['user']['sub']) == (200, 'erin')
    assert jwks_server.hits == 2


def test_a_token_that_comes_while_a_quick_jwks_download_runs_waits_for_it_and_logs_in(make_app, rsa_key,
                                                                                       jwks_server, serve):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    jwks_server.delay = 0.1  # (a provider answering as usual: well within the quarter second the others wait)
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    origin = serve(app, threads=4)
    first, held = get_in_thread(origin, kid_token(rsa_key, 'key-1'))
    wait_until(lambda: jwks_server.hits == 1, 30, what='the download')

    other = Client(origin).get('/me', headers=kid_token(rsa_key, 'key-1', sub='bob'))
    first.join(30)

    assert (held['answer'].status, other.status, other.json()['user']['sub']) == (200, 200, 'bob'), other
    assert jwks_server.hits == 1


def test_keys_a_download_brings_after_its_request_stopped_waiting_are_logged_and_then_accepted(
        make_app, rsa_key, jwks_server, log_dir):
    # The answer comes at once, well within auth_jwt_jwks_timeout (1 s); reading its entries (PyJWT's, which a JWKS
    # of many slow keys can make outlast the wait) is held until the request that started the download has answered,
    # so that the keys come after it stopped waiting however loaded the machine (where timing the reading of slow
    # entries against the wait failed under load: a slow read of the answer, or a fast reading of the entries).
    entries = [jwk(rsa_key, 'key-1')] + [jwk(rsa_key, 's%04d' % number) for number in range(12)]
    jwks_server.body = json.dumps({'keys': entries}, separators=(',', ':')).encode()
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_timeout=1)
    jwks = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)).auth.schemes['bearer'].jwks
    answered, read_entries = threading.Event(), jwks._signing_keys

    def read_once_answered(document):
        answered.wait(60)
        return read_entries(document)

    jwks._signing_keys = read_once_answered
    c = client(app)

    first = c.get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)
    answered.set()
    wait_until(lambda: re.search(r' WARNING .*Fetched %d signing keys from the JWKS URL [0-9.]+s after the request '
                                 r"that started the download stopped waiting \(1s\); kids: 'key-1', 's0000', 's0001', "
                                 r"'s0002', 's0003', 's0004', 's0005', 's0006', 's0007', 's0008', \.\.\.\n" % len(entries),
                                 read_log(log_dir)),
               60, what='the line of the late keys')
    second = c.get('/me', headers=kid_token(rsa_key, 'key-1', sub='bob'))

    assert first.status_int == 503
    assert re.search(r' WARNING .*Cannot fetch the JWKS keys from %s: no complete answer within 1s\n'
                     % re.escape(jwks_server.url), read_log(log_dir))
    assert (second.status_int, second.json['user']['sub'], jwks_server.hits) == (200, 'bob', 1)


def test_a_jwks_download_whose_answer_is_still_coming_when_its_request_stops_waiting_is_cut_without_more_lines(
        make_app, rsa_key, jwks_server, log_dir):
    # Each line of the answer's head comes within the 1 s socket timeout, the whole head (a 503) after 2 s: the
    # request gives up at 1 s and cuts the download, whose failure is that cut's and adds no line of its own.
    jwks_server.status, jwks_server.pause = 503, 0.5
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url + '?api_key=hunter2', auth_jwt_jwks_timeout=1)
    first = client(app).get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)
    time.sleep(2)  # (the whole head would have come by now)

    log = read_log(log_dir)
    assert first.status_int == 503
    assert [line.split(' WARNING ')[1].strip() for line in log.splitlines() if ' WARNING ' in line and 'JWKS' in line] == [
        '[127.0.0.1-...]   Cannot fetch the JWKS keys from %s?api_key=***: no complete answer within 1s' % jwks_server.url]
    assert jwks_server.hits == 1
    assert 'hunter2' not in log


def test_a_jwks_download_whose_own_socket_times_out_before_its_request_stops_waiting_says_no_complete_answer_within(
        make_app, rsa_key, hanging_server, log_dir, monotonic):
    # The download's socket waits the JWKS timeout (5 s) as its request does, and a loaded machine can make it give
    # up a moment before the request: the lines then say what a download the request gave up on says, not the
    # socket's "timed out".  Its wait shortened (socket_timeout) to 0.1 s, that happens every time, here on a real
    # endpoint that accepts the connection and never answers.
    app = me_json_app(make_app, auth_jwt_jwks_url=hanging_server.url)
    next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)).auth.schemes[
        'bearer'].jwks.socket_timeout = 0.1
    answer = client(app).get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)

    logged = read_log(log_dir)
    assert_keys_unavailable(answer, retry_after='10')  # (auth_jwt_jwks_refetch, on canister's stopped clock)
    url = re.escape(hanging_server.url)
    assert re.search(r' WARNING .*Cannot fetch the JWKS keys from %s: no complete answer within 5s\n' % url, logged)
    assert re.search(r' ERROR .*Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched from '
                     r'%s: no complete answer within 5s\n' % url, logged)
    assert 'timed out' not in logged


def test_jwks_endpoint_with_garbage_json_gives_503(make_app, rsa_key, jwks_server, log_dir):
    jwks_server.body = b'{"keys": [this is not json'
    calls = []
    app = me_json_app(make_app, calls, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    assert_keys_unavailable(client(app).get('/me', headers=bearer(token), expect_errors=True), calls, '10')
    assert re.search(r' WARNING .*Cannot fetch the JWKS keys from %s: Expecting value' % re.escape(jwks_server.url),
                     read_log(log_dir))


def test_a_jwks_download_that_fails_while_its_request_waits_is_logged_with_its_url_masked(make_app, rsa_key, jwks_server,
                                                                                         log_dir):
    jwks_server.status = 503
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url + '?api_key=hunter2')
    answer = client(app).get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)
    log = read_log(log_dir)
    assert answer.status_int == 503
    assert re.search(r' WARNING .*Cannot fetch the JWKS keys from %s\?api_key=\*\*\*: HTTP Error 503: Service '
                     r'Unavailable\n' % re.escape(jwks_server.url), log)
    assert 'hunter2' not in log

def test_jwks_endpoint_with_a_non_object_document_gives_503(make_app, rsa_key, jwks_server):
    jwks_server.body = b'[1, 2, 3]'
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    assert_keys_unavailable(client(app).get('/me', headers=bearer(token), expect_errors=True), retry_after='10')


def test_a_token_whose_key_an_unreachable_jwks_could_not_give_is_answered_503_with_retry_after(make_app, rsa_key,
                                                                                                 log_dir):
    with held_port() as port:  # (nothing listens there, and no other job's server can start to)
        url = 'http://127.0.0.1:%d/jwks?api_key=hunter2' % port
        calls = []
        app = me_json_app(make_app, calls, auth_jwt_jwks_url=url)
        answer = client(app).get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)
        log = read_log(log_dir)
    assert_keys_unavailable(answer, calls, retry_after='10')  # (the next download may start 10 s after this one)
    assert re.search(r' ERROR .*Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched from '
                     r'%s\?api_key=\*\*\*: <urlopen error \[Errno 111\] Connection refused>\n'
                     % re.escape(url.partition('?')[0]), log), log
    assert 'Authentication failed' not in log and 'hunter2' not in log


def test_an_unreachable_jwks_costs_no_place_in_the_login_throttle(make_app, rsa_key):
    with held_port() as port:  # (nothing listens there)
        app = me_json_app(make_app, auth_jwt_jwks_url='http://127.0.0.1:%d/jwks' % port, auth_max_failures=1)
        c = client(app)
        statuses = [c.get('/me', headers=kid_token(rsa_key, 'key-%d' % number), expect_errors=True).status_int
                    for number in range(3)]
    assert statuses == [503, 503, 503]


def test_made_up_kids_while_the_jwks_fails_get_503_without_more_downloads_and_one_error_line_a_second(
        make_app, rsa_key, jwks_server, log_dir, clock):
    jwks_server.status = 500
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    c = client(app)
    started = time.monotonic()
    # (canister's clock stands still: on a busy machine the 30 requests, or the first one's download, could take
    # a second of the real one, and the second of the first line end among them)
    statuses = {c.get('/me', headers=kid_token(rsa_key, 'made-up-%d' % number), expect_errors=True).status_int
                for number in range(30)}
    elapsed = time.monotonic() - started
    clock.advance(1.05)  # (the second of the first line has passed: the next line counts the others)
    c.get('/me', headers=kid_token(rsa_key, 'made-up-30'), expect_errors=True)
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Cannot check' in line]
    assert statuses == {503} and jwks_server.hits == 1
    line = ('Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched from %s: HTTP Error 500: '
            'Internal Server Error' % jwks_server.url)
    assert len(errors) == 2 and errors[0].endswith(line), errors
    assert re.search(re.escape(line) + r' \(and 29 more like it in process \d+ in the last 1\.\ds\)$', errors[1]), errors
    for again in range(2):  # (30 more timed only when another job's load slowed these: a wait of each, every time;
        if elapsed < 3:     # a download may start again once 10 s have passed since the first)
            break
        started = time.monotonic()
        statuses = {c.get('/me', headers=kid_token(rsa_key, 'made-up-%d-%d' % (again, number)),
                          expect_errors=True).status_int for number in range(30)}
        elapsed = time.monotonic() - started
        assert statuses == {503}, statuses
    assert elapsed < 3, 'the made-up kids waited for something'


def test_a_new_kid_met_while_the_jwks_fails_gets_503_though_other_keys_are_held(make_app, rsa_key, other_rsa_key,
                                                                                jwks_server, monotonic):
    """Keys held, but the download for the new kid failed: the token may be of a key rotated in meanwhile."""
    jwks_server.publish(jwk(rsa_key, 'old'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=0.5)
    c = client(app)
    assert c.get('/me', headers=kid_token(rsa_key, 'old')).status_int == 200
    jwks_server.status = 502
    monotonic.advance(0.5)
    assert_keys_unavailable(c.get('/me', headers=kid_token(other_rsa_key, 'new'), expect_errors=True))
    assert c.get('/me', headers=kid_token(rsa_key, 'old', sub='bob')).json['user']['sub'] == 'bob'
    assert jwks_server.hits == 2


def test_a_made_up_kid_is_refused_with_401_once_the_jwks_answers_again(make_app, rsa_key, jwks_server, monotonic):
    jwks_server.status = 503
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=0.5)
    c = client(app)
    assert c.get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True).status_int == 503
    jwks_server.status = 200
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    monotonic.advance(0.5)
    assert_invalid_token(c.get('/me', headers=kid_token(rsa_key, 'made-up'), expect_errors=True))


def _seconds_of_a_token_after_the_retry_after(make_app, rsa_key, jwks_server, log_dir, monotonic):
    """A fresh app whose first Bearer request met the JWKS answering 503; the keys published, and the Retry-After
    it was told waited out (on canister's clock, ``monotonic``): the seconds of the next Bearer request, which logs
    in with one download more."""
    fetched = "Fetched 1 signing keys from the JWKS URL; kids: 'key-1'\n"
    fetched_before = read_log(log_dir).count(fetched)
    jwks_server.status, jwks_server.hits = 503, 0
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=1)
    c = client(app)
    refused = c.get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True)
    assert_keys_unavailable(refused)
    jwks_server.status = 200
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    monotonic.advance(int(refused.headers['Retry-After']))
    started = time.monotonic()
    answer = c.get('/me', headers=kid_token(rsa_key, 'key-1'))
    took = time.monotonic() - started
    assert (answer.json['user']['sub'], jwks_server.hits) == ('alice', 2)
    assert read_log(log_dir).count(fetched) == fetched_before + 1
    return took


def test_once_the_jwks_answers_again_a_token_is_accepted_after_the_retry_after_it_was_told(make_app, rsa_key,
                                                                                          jwks_server, log_dir, monotonic):
    """A round (a fresh app) again only when another job's load slowed the request: one waiting for a download
    allowed later than it was told would wait a second more in every round."""
    for _ in range(3):
        took = _seconds_of_a_token_after_the_retry_after(make_app, rsa_key, jwks_server, log_dir, monotonic)
        if took < 1:
            break
    assert took < 1, took


def test_a_jwks_that_cannot_be_fetched_is_no_problem_of_the_readiness_check(make_app, rsa_key):
    with held_port() as port:  # (nothing listens there)
        app = me_json_app(make_app, auth_jwt_jwks_url='http://127.0.0.1:%d/jwks' % port)
        assert client(app).get('/me', headers=kid_token(rsa_key, 'key-1'), expect_errors=True).status_int == 503
        [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
        assert plugin.store_problem() is None


def test_the_first_jwks_download_logs_the_kids_it_fetched(make_app, rsa_key, other_rsa_key, jwks_server, log_dir):
    jwks_server.publish(jwk(rsa_key, 'key-2'), jwk(other_rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    assert client(app).get('/me', headers=kid_token(rsa_key, 'key-2')).status_int == 200
    assert re.search(r" INFO .*Fetched 2 signing keys from the JWKS URL; kids: 'key-1', 'key-2'\n", read_log(log_dir))


def test_jwks_entries_with_bad_keys_are_skipped(make_app, rsa_key, jwks_server):
    jwks_server.publish({'kty': 'RSA', 'kid': 'broken', 'n': '!!', 'e': 'AQAB'}, 'not-a-dict', jwk(rsa_key, 'key-1'))
    app = me_json_app(make_app, auth_jwt_jwks_url=jwks_server.url)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


# -- installation ----------------------------------------------------------------

def test_jwt_config_without_pyjwt_explains_the_extra_to_install(make_app, monkeypatch):
    monkeypatch.setitem(sys.modules, 'jwt', None)
    with pytest.raises(canister.MissingExtraError, match=r"run pip install 'PyJWT\[crypto\]>=2\.12'"):
        make_app(auth_jwt_secret=SECRET)


def test_hmac_algorithm_without_a_secret_is_a_config_error(make_app, rsa_pem_file):
    with pytest.raises(canister.ConfigError):
        make_app(auth_jwt_public_key=str(rsa_pem_file), auth_jwt_algorithms='HS256')


def test_alg_none_in_the_allow_list_is_a_config_error(make_app):
    with pytest.raises(canister.ConfigError):
        make_app(auth_jwt_secret=SECRET, auth_jwt_algorithms='none')


# -- the challenge as the README quotes it -------------------------------------------

def test_expired_token_gets_the_challenge_the_readme_quotes(make_app):
    app = secret_app(make_app)
    response = client(app).get('/me', headers=bearer(signed_token(SECRET, exp=int(time.time()) - 60)), expect_errors=True)
    assert response.status_int == 401
    assert bearer_challenge(response) == (
        'Bearer realm="canister", error="invalid_token", error_description="the token has expired"')


# -- a secret given as bytes -----------------------------------------------------

def test_a_secret_given_as_bytes_is_the_key_itself(make_app):
    key = bytes(range(200, 248))  # random bytes are seldom UTF-8: these are not
    app = secret_app(make_app, auth_jwt_secret=key)
    assert client(app).get('/me', headers=bearer(signed_token(key))).json == {'user': claims()}
    forged = client(app).get('/me', headers=bearer(signed_token(str(key).encode())), expect_errors=True)
    assert forged.status_int == 401


def test_a_base64_secret_given_as_bytes_is_decoded(make_app):
    key = bytes(range(200, 248))
    app = secret_app(make_app, auth_jwt_secret=base64.b64encode(key), auth_jwt_encoding='base64std')
    assert client(app).get('/me', headers=bearer(signed_token(key))).status_int == 200


def test_a_secret_that_is_neither_text_nor_bytes_is_refused_at_install(make_app):
    with pytest.raises(canister.ConfigError, match='auth_jwt_secret.*expected text, not a list'):
        secret_app(make_app, auth_jwt_secret=[SECRET])


def test_a_lapsed_token_sent_again_and_again_does_not_lock_the_client_out(make_app):
    """A single-page app sends its expired token until it has refreshed it: genuine credentials out of
    their time are refused (401) but not counted as failures; a forged signature still is."""
    app = secret_app(make_app, auth_max_failures=2)
    web = client(app)
    expired = bearer(signed_token(SECRET, exp=int(time.time()) - 3600))
    early = bearer(signed_token(SECRET, nbf=int(time.time()) + 3600))
    for headers in [expired, early] * 4:
        assert web.get('/me', headers=headers, status=401).headers['WWW-Authenticate'].startswith('Bearer')
    assert web.get('/me', headers=bearer(signed_token(SECRET))).status_int == 200
    forged = bearer(signed_token(SECRET[::-1]))
    web.get('/me', headers=forged, status=401)
    web.get('/me', headers=forged, status=401)
    assert web.get('/me', headers=bearer(signed_token(SECRET)), status=429).headers['Retry-After']
