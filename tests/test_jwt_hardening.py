"""Bearer tokens at the edges PyJWT accepts: a numeric-string exp, an unknown critical header, a JWKS key's alg
and key_ops."""
from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
import time
import warnings

import jwt as pyjwt
import pytest

import canister
from canister import session
from helpers import ROOT, b64url, bearer, claims, client, hand_made_token, hs256_signer, jwk, read_log, warning_lines
from test_auth_jwt import public_pem

SECRET = 'x7Rt2Lq9Wv4Zk1Mn8Bc5Hd3Jf6Gs0Pa-Ty7Ue2Io9Pl4Kj1Hg8Fd5Sa3Zx6Cv0B'


def signed(header, payload):
    """An HS256 token built by hand, so its header and claims can be anything."""
    return hand_made_token(header, payload, hs256_signer(SECRET))


def jwt_app(make_app, **overrides):
    app = make_app(auth_jwt_secret=SECRET, **overrides)

    @app.get('/login')
    def login():
        return session.sid

    @app.get('/me')
    def me():
        return {'user': session.user}

    return app


def test_a_token_user_does_not_outlive_a_numeric_string_exp(make_app, clock):
    c = client(jwt_app(make_app, auth_jwt_leeway=0))
    exp = math.ceil(clock.now + 60)  # (a minute: the requests before it take no part of it, however slow)
    token = signed({'alg': 'HS256', 'typ': 'JWT'}, claims(exp=str(exp)))
    response = c.get('/login', headers=bearer(token))
    assert response.status_int == 200 and 'Set-Cookie' in response.headers
    assert c.get('/me').json['user']['exp'] == str(exp)
    clock.advance(exp - clock.now + 0.1)
    assert c.get('/me').json == {'user': None}


def test_a_token_with_a_numeric_string_exp_in_the_past_is_refused(make_app):
    c = client(jwt_app(make_app, auth_jwt_leeway=0))
    token = signed({'alg': 'HS256', 'typ': 'JWT'}, claims(exp=str(int(time.time()) - 5)))
    response = c.get('/me', headers=bearer(token), expect_errors=True)
    assert response.status_int == 401
    assert 'expired' in response.text


def test_a_token_with_an_unknown_critical_header_is_refused(make_app):
    c = client(jwt_app(make_app))
    mallory = claims(sub='mallory')
    plain = signed({'alg': 'HS256', 'typ': 'JWT'}, mallory)
    assert c.get('/me', headers=bearer(plain)).json['user']['sub'] == 'mallory'
    token = signed({'alg': 'HS256', 'typ': 'JWT', 'crit': ['x'], 'x': 1}, mallory)
    response = c.get('/me', headers=bearer(token), expect_errors=True)
    assert response.status_int == 401
    # canister refuses it itself, not only through PyJWT 2.12+ (an older one accepts it: CVE-2026-32597)
    assert response.text == 'Authentication failed: the token has a critical header (crit) that canister does not ' \
                            'understand\n'
    assert 'error_description="the token has a critical header (crit)' in response.headers['WWW-Authenticate']


def test_a_token_whose_header_nests_arrays_too_deep_to_read_is_a_401_not_a_500(make_app):
    c = client(jwt_app(make_app))
    header = base64.urlsafe_b64encode(b'[' * 4000).decode('ascii').rstrip('=')
    for token in (header, header + '.e30.c2ln'):
        response = c.get('/me', headers=bearer(token), expect_errors=True)
        assert response.status_int == 401, response.text
        assert response.text == 'Authentication failed: the token is malformed\n'


def test_the_jwt_extras_require_a_pyjwt_that_refuses_unknown_critical_headers():
    pyproject = (ROOT / 'pyproject.toml').read_text(encoding='utf-8')
    floors = re.findall(r'"PyJWT\[crypto\]>=([0-9.]+)"', pyproject)
    assert len(floors) == 2  # the jwt extra and the test extra
    assert all(tuple(map(int, floor.split('.'))) >= (2, 12) for floor in floors)
    assert tuple(map(int, pyjwt.__version__.split('.')[:2])) >= (2, 12)


# -- A JWKS key is used as the JWKS says (RFC 7517: alg, use, key_ops; RFC 8725: one algorithm per key) ----------

def jwks_app(make_app, jwks_server, *entries):
    """An app of a provider's JWKS (``jwks_server``, publishing ``entries``) whose /me answers the user."""
    jwks_server.publish(*entries)
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_client_id='my-api', auth_jwt_jwks_refetch=0.5)
    app.route('/me', callback=lambda: {'user': session.user})
    return app


def jwks_token(rsa_key, algorithm):
    return pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm=algorithm, headers={'kid': 'key-1'})


def test_a_jwks_key_given_for_rs256_does_not_check_a_ps256_token(make_app, rsa_key, jwks_server, log_dir):
    web = client(jwks_app(make_app, jwks_server, jwk(rsa_key, 'key-1')))   # (alg RS256)
    assert web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256'))).json['user']['sub'] == 'alice'
    refused = web.get('/me', headers=bearer(jwks_token(rsa_key, 'PS256')), status=401)
    assert refused.text == 'Authentication failed: the token algorithm is not the one its key is for\n'
    assert ("Authentication failed: the token algorithm is not the one its key is for (its alg is 'PS256'; the JWKS "
            "gives the key of kid 'key-1' for 'RS256')") in read_log(log_dir)


def test_a_jwks_key_that_names_no_alg_checks_each_accepted_algorithm_of_its_type(make_app, rsa_key, jwks_server):
    entry = jwk(rsa_key, 'key-1')
    del entry['alg']
    web = client(jwks_app(make_app, jwks_server, entry))
    for algorithm in ('RS256', 'PS256'):
        assert web.get('/me', headers=bearer(jwks_token(rsa_key, algorithm))).json['user']['sub'] == 'alice'


def test_a_jwks_key_whose_key_ops_lack_verify_checks_no_token(make_app, rsa_key, jwks_server, log_dir):
    entry = jwk(rsa_key, 'key-1')
    del entry['use']
    entry['key_ops'] = ['encrypt', 'wrapKey']
    web = client(jwks_app(make_app, jwks_server, entry))
    refused = web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256')), status=401)
    assert refused.text == 'Authentication failed: the token was signed with an unknown key\n'
    assert "(its kid is 'key-1'; the JWKS URL gave no signing key canister can use)" in read_log(log_dir)


# -- RSA keys shorter than 2048 bits (NIST SP 800-131A) ----------------------------------------------------------

@pytest.fixture(scope='module')
def short_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def test_a_configured_public_key_of_1024_bits_is_refused_at_install(make_app, short_rsa_key, tmp_path):
    pem = tmp_path / 'short.pem'
    pem.write_bytes(public_pem(short_rsa_key))
    with pytest.raises(canister.ConfigError, match=r"auth_jwt_public_key = '.*short\.pem': an RSA key of 1024 bits "
                                                   r"is refused, below the 2048 bits"):
        make_app(auth_jwt_public_key=str(pem), auth_jwt_client_id='my-api')


def test_a_jwks_key_of_1024_bits_is_used_and_logged_once_at_its_download(make_app, short_rsa_key, rsa_key,
                                                                         jwks_server, log_dir, monotonic):
    web = client(jwks_app(make_app, jwks_server, jwk(short_rsa_key, 'old-key')))
    token = pyjwt.encode(claims(aud='my-api'), short_rsa_key, algorithm='RS256', headers={'kid': 'old-key'})
    assert web.get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'
    said = [line for line in warning_lines(log_dir) if 'RSA key of' in line]
    assert len(said) == 1 and ("The JWKS key 'old-key' is an RSA key of 1024 bits, below the 2048 bits that NIST SP "
                               "800-131A asks for: the tokens it signs are accepted") in said[0]
    # a later download (a new kid after auth_jwt_jwks_refetch) brings the same key again: not said again
    jwks_server.publish(jwk(short_rsa_key, 'old-key'), jwk(rsa_key, 'new-key'))
    monotonic.advance(0.5)
    fresh = pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'new-key'})
    assert web.get('/me', headers=bearer(fresh)).json['user']['sub'] == 'alice'
    assert jwks_server.hits == 2
    assert [line for line in warning_lines(log_dir) if 'RSA key of' in line] == said


#: An app of the JWKS at $JWKS sent the token in $TOKEN twice, then decoding with PyJWT itself the one in $OWN (of
#: the public key $OWN_KEY, of another length): its stderr is what a developer sees in the terminal.
SHORT_JWKS_KEY_APP = """
import os, bottle, jwt, webtest, canister
from cryptography.hazmat.primitives.serialization import load_pem_public_key
app = bottle.Bottle()
app.install(canister.Canister(log_path=os.environ['LOGS'], auth_jwt_jwks_url=os.environ['JWKS'],
                              auth_jwt_client_id='my-api'))
app.route('/me', callback=lambda: canister.session.user['sub'])
web = webtest.TestApp(app)
print(web.get('/me', headers={'Authorization': 'Bearer ' + os.environ['TOKEN']}).text)
print(web.get('/me', headers={'Authorization': 'Bearer ' + os.environ['TOKEN']}).text)
own = load_pem_public_key(os.environ['OWN_KEY'].encode())
print(jwt.decode(os.environ['OWN'], own, algorithms=['RS256'], audience='own')['sub'])
"""


def test_a_short_jwks_key_is_said_by_canisters_log_and_not_again_by_pyjwt_on_stderr(short_rsa_key, jwks_server,
                                                                                     tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=1536)
    jwks_server.publish(jwk(short_rsa_key, 'old-key'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', pyjwt.InsecureKeyLengthWarning)   # (PyJWT's, signing with them here)
        token = pyjwt.encode(claims(aud='my-api'), short_rsa_key, algorithm='RS256', headers={'kid': 'old-key'})
        own = pyjwt.encode(claims(aud='own', sub='own'), own_key, algorithm='RS256')
    env = dict(os.environ, PYTHONPATH=str(ROOT), LOGS=str(tmp_path), JWKS=jwks_server.url, TOKEN=token, OWN=own,
               OWN_KEY=public_pem(own_key).decode())
    env.pop('PYTHONWARNINGS', None)
    result = subprocess.run([sys.executable, '-c', SHORT_JWKS_KEY_APP], capture_output=True, text=True, env=env,
                            timeout=60)
    assert (result.returncode, result.stdout) == (0, 'alice\nalice\nown\n'), result.stderr
    assert "The JWKS key 'old-key' is an RSA key of 1024 bits" in ''.join(warning_lines(tmp_path))
    assert 'The RSA key is 1024 bits long' not in result.stderr
    # the filter is of that key's length only: PyJWT still warns of a short key of the app's own
    assert 'InsecureKeyLengthWarning: The RSA key is 1536 bits long' in result.stderr


def pyjwt_warnings_of_a_1024_bit_key(short_rsa_key):
    """The messages of PyJWT's InsecureKeyLengthWarning when the app decodes a token of a 1024-bit key itself."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', pyjwt.InsecureKeyLengthWarning)   # (signing: not what is looked at)
        token = pyjwt.encode(claims(aud='own'), short_rsa_key, algorithm='RS256')
    with warnings.catch_warnings(record=True) as caught:   # (the filters as they are, each warning recorded)
        assert pyjwt.decode(token, short_rsa_key.public_key(), algorithms=['RS256'], audience='own')['sub'] == 'alice'
    return [str(warning.message) for warning in caught if issubclass(warning.category, pyjwt.InsecureKeyLengthWarning)]


def test_pyjwt_warns_of_a_short_key_again_once_the_plugin_whose_jwks_gave_one_is_uninstalled(make_app, short_rsa_key,
                                                                                              jwks_server):
    app = jwks_app(make_app, jwks_server, jwk(short_rsa_key, 'old-key'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', pyjwt.InsecureKeyLengthWarning)   # (PyJWT's, signing with it here)
        token = pyjwt.encode(claims(aud='my-api'), short_rsa_key, algorithm='RS256', headers={'kid': 'old-key'})
    assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'
    while_installed = pyjwt_warnings_of_a_1024_bit_key(short_rsa_key)
    app.uninstall(next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)))
    after = pyjwt_warnings_of_a_1024_bit_key(short_rsa_key)
    assert while_installed == []
    assert len(after) == 1 and after[0].startswith('The RSA key is 1024 bits long'), after


def downloads(web, monotonic, rsa_key, jwks_server, *documents):
    """Have the app download each JWKS document in turn (a token of a kid not held, after auth_jwt_jwks_refetch on
    canister's clock, ``monotonic``)."""
    unknown = pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'not-held'})
    for entries in documents:
        monotonic.advance(0.5)
        jwks_server.publish(*entries)
        hits = jwks_server.hits
        web.get('/me', headers=bearer(unknown), status=401)
        assert jwks_server.hits == hits + 1


def test_a_jwks_that_rotates_short_keys_forever_has_each_said_once_among_the_latest_and_an_old_one_said_again(
        make_app, short_rsa_key, rsa_key, jwks_server, log_dir, monotonic):
    # (each key said was kept for good: a provider rotating keys forever grew the app's memory without end)
    web = client(jwks_app(make_app, jwks_server))
    many = [jwk(short_rsa_key, 'gen-%d' % number) for number in range(1, 301)]
    downloads(web, monotonic, rsa_key, jwks_server, [jwk(short_rsa_key, 'gen-0')], many, [jwk(short_rsa_key, 'gen-300')],
              [jwk(short_rsa_key, 'gen-0')], [jwk(short_rsa_key, 'gen-0')])
    said = [line for line in warning_lines(log_dir) if 'is an RSA key of 1024 bits' in line]
    assert sum("The JWKS key 'gen-300' is" in line for line in said) == 1   # (still among the latest)
    assert sum("The JWKS key 'gen-0' is" in line for line in said) == 2     # (forgotten, then said again, once)
    assert len(said) == 302


def test_a_jwks_that_rotates_shared_secrets_forever_has_each_said_once_among_the_latest_and_an_old_one_said_again(
        make_app, rsa_key, jwks_server, log_dir, monotonic):
    def shared(number):
        return {'kty': 'oct', 'kid': 'shared-%d' % number, 'k': b64url(b'secret %d' % number), 'use': 'sig'}
    web = client(jwks_app(make_app, jwks_server))
    downloads(web, monotonic, rsa_key, jwks_server, [shared(0)], [shared(number) for number in range(1, 301)], [shared(300)],
              [shared(0)], [shared(0)])
    said = [line for line in read_log(log_dir).splitlines() if 'publishes a shared secret' in line]
    assert all(' ERROR ' in line for line in said)
    assert sum("as kid 'shared-300':" in line for line in said) == 1
    assert sum("as kid 'shared-0':" in line for line in said) == 2
    assert len(said) == 302


def test_a_critical_header_is_refused_when_its_segment_has_a_non_ascii_character_an_older_pyjwt_passes_over(make_app):
    c = client(jwt_app(make_app))
    header = b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'crit': ['x'], 'x': 1}).encode())
    header = header[:4] + '\u00e9' + header[4:]
    # PyJWT before 2.14 reads the header as base64 does by default, passing over the bytes outside its alphabet
    head = header.encode('utf-8')
    assert json.loads(base64.urlsafe_b64decode(head + b'=' * (-len(head) % 4)))['crit'] == ['x']
    signing_input = header + '.' + b64url(json.dumps(claims(sub='mallory')).encode())
    token = signing_input + '.' + b64url(hs256_signer(SECRET)(signing_input.encode('utf-8')))
    response = c.get('/me', headers=bearer(token), expect_errors=True)
    assert response.status_int == 401
    assert response.text == 'Authentication failed: the token has a critical header (crit) that canister does not ' \
                            'understand\n'


# -- typ is not checked: the audience tells an access token from an ID token ----------------------------------

def id_token(rsa_key, audience):
    """An OpenID Connect ID token as a provider issues one to the web app whose client id is ``audience``."""
    return pyjwt.encode(claims(aud=audience, azp=audience, nonce='n-0S6_WzA2Mj', auth_time=int(time.time())),
                        rsa_key, algorithm='RS256', headers={'kid': 'key-1', 'typ': 'JWT'})


def test_an_id_token_whose_aud_is_auth_jwt_client_id_logs_in_as_an_access_token_would(make_app, rsa_key, jwks_server):
    web = client(jwks_app(make_app, jwks_server, jwk(rsa_key, 'key-1')))   # (auth_jwt_client_id = my-api)
    user = web.get('/me', headers=bearer(id_token(rsa_key, 'my-api'))).json['user']
    assert user['sub'] == 'alice' and user['nonce'] == 'n-0S6_WzA2Mj'
    access = pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'key-1', 'typ': 'at+jwt'})
    assert web.get('/me', headers=bearer(access)).json['user']['sub'] == 'alice'


def test_with_an_audience_of_the_apis_own_the_web_apps_id_token_is_refused(make_app, rsa_key, jwks_server):
    web = client(jwks_app(make_app, jwks_server, jwk(rsa_key, 'key-1')))   # the API's audience, my-api
    refused = web.get('/me', headers=bearer(id_token(rsa_key, 'web-app-client-id')), status=401)
    assert refused.text == 'Authentication failed: the token is not for this audience\n'


def test_a_jwks_entry_of_a_1024_bit_key_pair_is_refused_for_its_private_half_before_its_length_is_looked_at(
        make_app, short_rsa_key, jwks_server, log_dir):
    entry = pyjwt.algorithms.RSAAlgorithm.to_jwk(short_rsa_key, as_dict=True)   # (its private numbers too)
    entry.update(kid='old-pair', alg='RS256')
    web = client(jwks_app(make_app, jwks_server, entry))
    token = pyjwt.encode(claims(aud='my-api'), short_rsa_key, algorithm='RS256', headers={'kid': 'old-pair'})
    refused = web.get('/me', headers=bearer(token), status=401)
    assert refused.text == PRIVATE_KEY_REFUSED
    assert "The JWKS at %s publishes the private key of kid 'old-pair'" % jwks_server.url in read_log(log_dir)
    assert 'RSA key of 1024 bits' not in read_log(log_dir)


# -- A JWKS entry that holds a private key (its d) is refused: anyone who read the JWKS can sign tokens with it -----

PRIVATE_KEY_REFUSED = ('Authentication failed: the token was signed with a key whose private half the JWKS publishes: '
                       'anyone can sign with it\n')


def private_key_lines(log_dir):
    return [line for line in read_log(log_dir).splitlines() if 'publishes the private key' in line]


def key_pair_entry(private_key, kid):
    """``private_key`` as a JWKS entry named ``kid``, its private half included (``d``, and RSA's primes)."""
    algorithm = {'RSAPrivateKey': pyjwt.algorithms.RSAAlgorithm, 'Ed25519PrivateKey': pyjwt.algorithms.OKPAlgorithm}
    entry = algorithm.get(type(private_key).__name__.lstrip('_'), pyjwt.algorithms.ECAlgorithm).to_jwk(private_key,
                                                                                                      as_dict=True)
    entry.update(kid=kid)
    return entry


@pytest.mark.parametrize('kind', ['RS256', 'ES256', 'EdDSA'])
def test_a_jwks_entry_holding_a_private_key_refuses_its_tokens_with_a_401_that_says_so_and_an_error(
        make_app, rsa_key, jwks_server, log_dir, kind):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    leaked = {'RS256': rsa_key, 'ES256': ec.generate_private_key(ec.SECP256R1()),
              'EdDSA': ed25519.Ed25519PrivateKey.generate()}[kind]
    web = client(jwks_app(make_app, jwks_server, key_pair_entry(leaked, 'leaked')))
    forged = pyjwt.encode(claims(aud='my-api', sub='mallory'), leaked, algorithm=kind, headers={'kid': 'leaked'})
    refused = web.get('/me', headers=bearer(forged), status=401)
    assert refused.text == PRIVATE_KEY_REFUSED
    assert private_key_lines(log_dir) == [line for line in private_key_lines(log_dir) if ' ERROR ' in line]
    assert ("The JWKS at %s publishes the private key of kid 'leaked': anyone who has read the JWKS can sign tokens "
            "with it, so the tokens of that kid are refused (401); ask the provider to rotate that key (a new key "
            "pair, of which the JWKS gives only the public half)" % jwks_server.url) in private_key_lines(log_dir)[0]
    assert ("Authentication failed: the token was signed with a key whose private half the JWKS publishes: anyone "
            "can sign with it (its kid is 'leaked')") in read_log(log_dir)


def test_a_public_entry_of_the_same_kid_does_not_save_a_key_whose_private_half_the_jwks_publishes(
        make_app, rsa_key, jwks_server):
    for entries in ([key_pair_entry(rsa_key, 'key-1'), jwk(rsa_key, 'key-1')],
                    [jwk(rsa_key, 'key-1'), key_pair_entry(rsa_key, 'key-1')]):
        web = client(jwks_app(make_app, jwks_server, *entries))
        assert web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256')), status=401).text == PRIVATE_KEY_REFUSED


@pytest.fixture(scope='module')
def ec_pair():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def test_the_other_keys_of_a_jwks_that_publishes_a_private_key_are_used(make_app, rsa_key, ec_pair, jwks_server):
    web = client(jwks_app(make_app, jwks_server, key_pair_entry(ec_pair, 'leaked'), jwk(rsa_key, 'key-1')))
    assert web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256'))).json['user']['sub'] == 'alice'


def test_a_private_key_of_a_jwks_is_logged_once_per_kid_and_key_across_downloads(make_app, rsa_key, ec_pair,
                                                                                  jwks_server, log_dir, monotonic):
    web = client(jwks_app(make_app, jwks_server, key_pair_entry(ec_pair, 'leaked'), jwk(rsa_key, 'key-1')))
    forged = pyjwt.encode(claims(aud='my-api'), ec_pair, algorithm='ES256', headers={'kid': 'leaked'})
    for _ in range(3):   # (each a download: a kid not held, after auth_jwt_jwks_refetch)
        assert web.get('/me', headers=bearer(forged), status=401).text == PRIVATE_KEY_REFUSED
        monotonic.advance(0.5)
    assert (jwks_server.hits, len(private_key_lines(log_dir))) == (3, 1)
    jwks_server.publish(key_pair_entry(rsa_key, 'leaked'))   # (another key under that kid, as private: said again)
    web.get('/me', headers=bearer(forged), status=401)
    assert (jwks_server.hits, len(private_key_lines(log_dir))) == (4, 2)


def test_a_shared_secret_in_a_jwks_signs_no_token_and_is_logged_as_an_error_once_per_kid(make_app, rsa_key,
                                                                                         jwks_server, log_dir, monotonic):
    secret = b'a secret for HS256 that anyone may read'
    shared = {'kty': 'oct', 'kid': 'shared', 'k': b64url(secret), 'alg': 'HS256', 'use': 'sig'}
    web = client(jwks_app(make_app, jwks_server, shared, jwk(rsa_key, 'key-1')))
    forged = pyjwt.encode(claims(aud='my-api', sub='mallory'), secret, algorithm='HS256', headers={'kid': 'shared'})
    web.get('/me', headers=bearer(forged), status=401)
    unknown = pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'key-2'})
    for _ in range(3):   # (each a download: a kid not held, after auth_jwt_jwks_refetch)
        web.get('/me', headers=bearer(unknown), status=401)
        monotonic.advance(0.5)
    said = [line for line in read_log(log_dir).splitlines() if 'publishes a shared secret' in line]
    assert (jwks_server.hits, len(said)) == (3, 1) and ' ERROR ' in said[0]
    assert ("The JWKS at %s publishes a shared secret (kty oct) as kid 'shared': anyone who has read the JWKS can sign "
            "HS256 tokens with it; canister never uses a shared secret of a JWKS (the tokens of that kid are refused), "
            "but any other service that accepts it is open: ask the provider to take it out of the JWKS and to replace "
            "that secret" % jwks_server.url) in said[0]
    assert web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256'))).json['user']['sub'] == 'alice'


def test_a_public_jwks_key_whose_key_ops_name_only_sign_checks_no_token(make_app, rsa_key, jwks_server):
    entry = jwk(rsa_key, 'key-1')   # (sign is the private half's operation: a public key verifies)
    del entry['use']
    entry['key_ops'] = ['sign']
    web = client(jwks_app(make_app, jwks_server, entry))
    refused = web.get('/me', headers=bearer(jwks_token(rsa_key, 'RS256')), status=401)
    assert refused.text == 'Authentication failed: the token was signed with an unknown key\n'


#: An app that installs canister with a short HMAC secret and a provider's RS256 keys on a machine without the
#: cryptography package (the install fails, naming the extra), then signs and checks a token of its own.
SHORT_SECRET_WITHOUT_CRYPTOGRAPHY_APP = '''
import sys, warnings
sys.modules['cryptography'] = None  # (not installed: importing it raises ImportError)
import bottle, canister, jwt
app = bottle.Bottle()
app.config.update({'canister.log_path': 'stderr', 'canister.auth_jwt_secret': 'short-key',
                   'canister.auth_jwt_encoding': 'clear', 'canister.auth_jwt_algorithms': 'HS256,RS256',
                   'canister.auth_jwt_jwks_url': 'https://127.0.0.1:9/jwks.json'})
warnings.simplefilter('ignore', canister.CanisterWarning)
try:
    app.install(canister.Canister())
except canister.CanisterError as error:
    print('refused:', 'cryptography' in str(error))
with warnings.catch_warnings(record=True) as caught:
    jwt.encode({'sub': 'own'}, 'short-key', algorithm='HS256')
print([str(warning.message)[:28] for warning in caught if issubclass(warning.category, jwt.InsecureKeyLengthWarning)])
'''


def test_an_install_refused_for_want_of_cryptography_leaves_pyjwts_short_secret_warning_to_the_app(tmp_path):
    # (the install held its filter of PyJWT's 9-byte HMAC warning, then failed: the app's own short keys went unwarned)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop('PYTHONWARNINGS', None)
    result = subprocess.run([sys.executable, '-c', SHORT_SECRET_WITHOUT_CRYPTOGRAPHY_APP], capture_output=True,
                            text=True, env=env, timeout=60, cwd=str(tmp_path))
    assert result.stdout.splitlines() == ['refused: True', "['The HMAC key is 9 bytes long']"], result.stderr


@pytest.mark.parametrize('typ', ['logout+jwt', 'secevent+jwt', 'application/dpop+jwt', 'ID_TOKEN+JWT'])
def test_a_token_whose_typ_names_another_kind_of_jwt_is_refused_though_its_claims_pass(make_app, log_dir, typ):
    # an OpenID Connect back-channel logout token: same provider, same key, an aud of this client
    c = client(jwt_app(make_app, auth_jwt_client_id='my-client'))
    logout = claims(sub='alice', aud='my-client', jti='j1',
                    events={'http://schemas.openid.net/event/backchannel-logout': {}})
    assert c.get('/me', headers=bearer(signed({'alg': 'HS256', 'typ': 'JWT'}, logout))).json['user']['sub'] == 'alice'
    response = c.get('/me', headers=bearer(signed({'alg': 'HS256', 'typ': typ}, logout)), expect_errors=True)
    assert response.status_int == 401
    assert response.text == 'Authentication failed: the token is no access token: its type (typ) is %r\n' % typ
    assert 'its type (typ) is %r' % typ in read_log(log_dir)


@pytest.mark.parametrize('typ', ['at+jwt', 'application/at+jwt', 'AT+JWT', 'JWT', 'jwt', 'JOSE'])
def test_an_access_tokens_typ_or_a_plain_one_is_accepted(make_app, typ):
    c = client(jwt_app(make_app))
    token = signed({'alg': 'HS256', 'typ': typ}, claims(sub='alice'))
    assert c.get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'


def test_a_token_whose_typ_is_not_a_string_is_refused_as_malformed(make_app):
    c = client(jwt_app(make_app))
    response = c.get('/me', headers=bearer(signed({'alg': 'HS256', 'typ': ['JWT']}, claims())), expect_errors=True)
    assert response.status_int == 401
    assert response.text == 'Authentication failed: the token is malformed: its type (typ) is not a string\n'
