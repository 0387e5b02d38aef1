"""A Basic user and a provider's token without ``iss`` whose ``sub`` is that user's name are one person to
``sessions_of``, ``end_sessions`` and ``session_max_per_user`` (a token without ``iss`` is keyed by its ``sub``, as
the dict an app makes of a name is): the install warns of a provider's keys beside Basic users without
``auth_jwt_issuer``, and with it set, such a token is refused and one with an ``iss`` is a person of its own
(real HTTP to waitress, a real JWKS endpoint on 127.0.0.1)."""
import json

import jwt as pyjwt
import pytest

import canister
from canister import session
from helpers import basic, bearer, claims, install_warned, jwk, public_pem, read_log, write_users
from session_kit import Browser, add_session_routes, plugin_of

ISSUER = 'https://idp.example/'
SECRET = 'Zq4Xw8Ve1Rt6Yu3Io9Pa2Sd7Fg5Hj0Kl-Mn8Bv4Cx1Za6Qw3Er9Ty2Ui7Op5As0Df'  # 64 bytes


def warning_of(provider):
    return ('canister.%s is set with Basic users and without auth_jwt_issuer: a token without iss is keyed by its '
            'sub as a name, so a provider account whose sub is a Basic user\'s name (alice) shares that user\'s '
            'sessions_of, end_sessions and session_max_per_user; set auth_jwt_issuer to the provider\'s issuer (a '
            'token without iss is then refused)' % provider)


@pytest.fixture
def provider_keys(tmp_path, rsa_key, jwks_server):
    """Both ways of giving a provider's keys: ``{'auth_jwt_jwks_url': ...}`` and ``{'auth_jwt_public_key': ...}``."""
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    pem = tmp_path / 'provider.pem'
    pem.write_bytes(public_pem(rsa_key))
    return {'auth_jwt_jwks_url': jwks_server.url, 'auth_jwt_public_key': str(pem)}


@pytest.mark.parametrize('provider', ['auth_jwt_jwks_url', 'auth_jwt_public_key'])
@pytest.mark.parametrize('users', ['auth_basic_username', 'auth_basic_users_file'])
def test_a_providers_keys_beside_basic_users_without_an_issuer_are_warned_of_at_install(
        provider, users, provider_keys, tmp_path, log_dir):
    basic_users = ({'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland'} if users == 'auth_basic_username'
                   else {'auth_basic_users_file': str(write_users(tmp_path / 'users.txt', alice='wonderland'))})
    app, said = install_warned(log_dir, dict(basic_users, auth_jwt_client_id='my-api',
                                             **{provider: provider_keys[provider]}))

    assert warning_of(provider) in said
    assert 'WARNING' in next(line for line in read_log(log_dir).splitlines() if warning_of(provider) in line)
    app.uninstall(True)


@pytest.mark.parametrize('jwt_config', ['issuer', 'secret', 'no basic'])
def test_an_issuer_set_the_apps_own_secret_or_no_basic_users_give_no_such_warning(jwt_config, provider_keys, log_dir):
    config = {'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland', 'auth_jwt_client_id': 'my-api',
              'auth_jwt_jwks_url': provider_keys['auth_jwt_jwks_url'], 'auth_jwt_issuer': ISSUER}
    if jwt_config == 'secret':  # (the app signs its tokens for its own users: their sub is meant as a name)
        config.update(auth_jwt_jwks_url='', auth_jwt_issuer='', auth_jwt_secret=SECRET)
    elif jwt_config == 'no basic':
        config.update(auth_basic_username='', auth_basic_password='', auth_jwt_issuer='')
    app, said = install_warned(log_dir, config)

    assert not [text for text in said if 'without auth_jwt_issuer' in text]
    assert 'without auth_jwt_issuer' not in read_log(log_dir)
    app.uninstall(True)


def served(make_app, serve, jwks_server, **config):
    """An app of Basic user alice and the provider's JWKS (``config`` added), with ``/who`` (the user as JSON)
    and the session routes, served: (app, origin)."""
    app = make_app(config=dict({'auth_basic_username': 'alice',
                                'auth_basic_password': canister.hash_password('wonderland', iterations=1000),
                                'auth_jwt_jwks_url': jwks_server.url, 'auth_jwt_client_id': 'my-api'}, **config))
    add_session_routes(app)
    app.get('/who')(lambda: json.dumps(session.user))
    return app, serve(app)


def provider_token(rsa_key, **extra):
    """Headers with the provider's token of ``sub`` alice (``extra`` added, an ``iss`` among them, a None left out)."""
    return bearer(pyjwt.encode(claims(aud='my-api', **extra), rsa_key, algorithm='RS256', headers={'kid': 'key-1'}))


def logged_in(origin, headers):
    browser = Browser(origin)
    assert browser.get('/set?key=cart&value=1', headers).status == 200
    return browser


def test_without_an_issuer_end_sessions_of_a_basic_users_name_ends_a_providers_token_without_iss_of_that_sub(
        make_app, serve, jwks_server, rsa_key, provider_keys):
    with pytest.warns(canister.CanisterWarning, match='without auth_jwt_issuer'):
        app, origin = served(make_app, serve, jwks_server)
    basic_alice = logged_in(origin, {'Authorization': basic('alice', 'wonderland')})
    outsider = logged_in(origin, provider_token(rsa_key))
    assert outsider.get('/who').json()['sub'] == 'alice'

    assert len(plugin_of(app).sessions_of('alice')) == 2
    assert plugin_of(app).end_sessions('alice') == 2
    assert basic_alice.get('/who').json() is None
    assert outsider.get('/who').json() is None


def test_with_an_issuer_a_providers_token_without_iss_is_refused(
        make_app, serve, jwks_server, rsa_key, provider_keys, log_dir):
    app, origin = served(make_app, serve, jwks_server, auth_jwt_issuer=ISSUER)

    refused = Browser(origin).get('/who', provider_token(rsa_key))
    assert (refused.status, refused.text) == (401, 'Authentication failed: the token lacks the iss claim\n')
    assert 'Authentication failed: the token lacks the iss claim' in read_log(log_dir)
    assert plugin_of(app).sessions_of('alice') == []


def test_with_an_issuer_a_providers_token_whose_sub_is_a_basic_users_name_keeps_its_sessions_apart(
        make_app, serve, jwks_server, rsa_key, provider_keys):
    app, origin = served(make_app, serve, jwks_server, auth_jwt_issuer=ISSUER)
    basic_alice = logged_in(origin, {'Authorization': basic('alice', 'wonderland')})
    provider_alice = logged_in(origin, provider_token(rsa_key, iss=ISSUER))

    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert plugin_of(app).end_sessions('alice') == 1
    assert basic_alice.get('/who').json() is None
    assert provider_alice.get('/who').json() == dict(provider_alice.get('/who').json(), sub='alice', iss=ISSUER)
    assert len(plugin_of(app).sessions_of({'iss': ISSUER, 'sub': 'alice'})) == 1
