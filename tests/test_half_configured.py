"""Settings that cannot work alone are reported at install, and none of them opens a door: a Basic
user without a password cannot log in with an empty one (canister 1.x turned Basic off there too)."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import warnings

import bottle
import pytest

import canister
from helpers import ROOT, basic, client, hand_made_token, hs256_signer, install_warned, read_log, readme_section


def half_configured_app(tmp_path, config=None, **overrides):
    """An app with /me (the session's user), installed with this config; (app, the install's warnings)."""
    app, said = install_warned(tmp_path, config, **overrides)
    app.route('/me', callback=lambda: repr(canister.session.user))
    return app, said


@pytest.mark.parametrize('password', ['', None])
@pytest.mark.parametrize('encryption', ['auto', 'clear'])
def test_a_basic_user_without_a_password_cannot_log_in_with_an_empty_one(tmp_path, password, encryption):
    config = {'auth_basic_username': 'alice', 'auth_basic_encryption': encryption}
    if password is not None:
        config['auth_basic_password'] = password       # an ini line left empty
    app, said = half_configured_app(tmp_path, config)
    web = client(app)
    for credentials in ('alice:', 'alice:anything'):
        response = web.get('/me', headers={'Authorization': basic(*credentials.split(':'))}, status='*')
        assert response.status_int == 401, (credentials, response.text)
    assert said == ["canister.auth_basic_username = 'alice' has no auth_basic_password: that user cannot log in "
                    "(an empty password is never accepted); give it the line python -m canister hash-password prints"]
    assert said[0] in read_log(tmp_path)


@pytest.mark.parametrize('config, warning', [
    ({'auth_basic_password': 'x'}, 'canister.auth_basic_password is set without auth_basic_username: it is not used'),
    ({'auth_jwt_client_id': 'my-api'}, 'canister.auth_jwt_client_id is set without auth_jwt_secret, '
     'auth_jwt_public_key or auth_jwt_jwks_url: Bearer tokens are not checked, and nobody logs in with one'),
    ({'cors_credentials': 'true'}, 'canister.cors_credentials is set without cors: it has no effect'),
    ({'cors': 'https://app.example', 'cors_credentials': 'true', 'cors_expose_headers': '*'},
     'canister.cors_expose_headers = * with cors_credentials = true: on a request with credentials a browser reads '
     '* as a header named "*", and the page reads no header of the answer (not even X-Request-ID); list the header '
     'names instead'),
    ({'session_partitioned': 'true'}, 'canister.session_partitioned is set without session_samesite = None: the '
     "requests of another site's page, which it is for, neither get nor send the cookie"),
])
def test_a_setting_that_does_nothing_alone_is_reported_at_install(tmp_path, config, warning):
    _, said = half_configured_app(tmp_path, config)
    assert said == [warning]
    assert warning in read_log(tmp_path)


def test_a_store_object_and_a_session_store_url_together_say_which_is_used(tmp_path):
    store = canister.MemoryStore()
    app, said = half_configured_app(tmp_path, {'session_store': 'sqlite:///%s' % (tmp_path / 'unused.db')}, store=store)
    assert said == ['canister.session_store = sqlite:///%s is not used: the store given as Canister(store=...) is'
                    % (tmp_path / 'unused.db')]
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    client(app).get('/count')
    assert len(store) == 1 and not (tmp_path / 'unused.db').exists()


def test_a_redis_setting_without_a_redis_session_store_url_is_reported_at_install(tmp_path):
    _, said = half_configured_app(tmp_path, {'session_redis_timeout': '0.25'})
    assert said == ['canister.session_redis_timeout is set without a Redis session_store URL: it has no effect '
                    '(the store is MemoryStore)']
    assert said[0] in read_log(tmp_path)


def test_redis_settings_beside_a_store_object_are_reported_at_install_saying_where_they_go(tmp_path, redis_server):
    store = canister.RedisStore(redis_server.url)
    _, said = half_configured_app(tmp_path, {'session_redis_timeout': '0.25', 'session_redis_prefix': 'shop:'},
                                  store=store)
    assert said == ['canister.session_redis_prefix and session_redis_timeout are set without a Redis session_store '
                    'URL: they have no effect (a store given as Canister(store=...) reads nothing of the config: give '
                    'it to canister.RedisStore as prefix=, wait=, timeout= or keepalive=)']
    assert (store.prefix, store.timeout) == ('canister:session:', 1.0)


def test_a_complete_config_installs_without_a_word(tmp_path):
    _, said = half_configured_app(tmp_path, {'auth_basic_username': 'alice', 'auth_basic_password': 'pw',
                                 'auth_basic_encryption': 'clear', 'cors': 'https://a.example', 'cors_credentials': 'on'})
    assert said == []


def test_one_canister_installed_on_two_apps_is_refused(tmp_path):
    plugin = canister.Canister(log_path=str(tmp_path))
    shop, admin = bottle.Bottle(), bottle.Bottle()
    shop.route('/', callback=lambda: 'shop')
    admin.route('/', callback=lambda: 'admin')
    shop.install(plugin)
    with pytest.raises(canister.CanisterError, match='installed on another app already'):
        admin.install(plugin)
    assert client(shop).get('/').text == 'shop'
    shop.uninstall(plugin)
    admin.install(plugin)                  # once uninstalled, it may serve another app
    assert client(admin).get('/').text == 'admin'
    admin.uninstall(plugin)


@pytest.mark.parametrize('key', ['auth_jwt_jwks_url', 'auth_jwt_public_key'])
def test_a_provider_key_without_a_client_id_is_reported_at_install(tmp_path, key):
    """Without an audience, a token the provider signed for any other application would log in."""
    pem = tmp_path / 'public.pem'
    if key == 'auth_jwt_public_key':
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    value = 'https://login.example.com/keys' if key == 'auth_jwt_jwks_url' else str(pem)
    _, said = half_configured_app(tmp_path, {key: value})
    warning = ('canister.%s is set without auth_jwt_client_id: a token the provider signed for any other '
               "application logs in too; set auth_jwt_client_id to this app's client id (the audience its "
               'tokens name)' % key)
    assert said == [warning]
    assert warning in read_log(tmp_path)
    _, said = half_configured_app(tmp_path / 'with-id', {key: value, 'auth_jwt_client_id': 'my-api'})
    assert said == []


@pytest.mark.parametrize('secret, encoding, warned', [
    ('my-secret', 'clear', 9),                                          # the value of the 1.x docs
    ('x' * 31, 'clear', 31),
    ('x' * 32, 'clear', None),
    ('ZXhhbXBsZS1zZWNyZXQtcmVwbGFjZS13aXRoLTMyKy1yYW5kb20tYnl0ZXM', 'base64url', None),   # the README's
])
def test_a_jwt_secret_shorter_than_32_bytes_is_reported_at_install_and_still_works(tmp_path, secret, encoding, warned):
    import jwt
    app, said = half_configured_app(tmp_path, {'auth_jwt_secret': secret, 'auth_jwt_encoding': encoding})
    if warned is None:
        assert said == []
    else:
        assert len(said) == 1 and said[0].startswith('canister.auth_jwt_secret is %d bytes: one token is enough to '
                                                     'find a secret shorter than 32 bytes' % warned), said
        assert said[0] in read_log(tmp_path)
    key = secret.encode() if encoding == 'clear' else base64.urlsafe_b64decode(secret + '=' * (-len(secret) % 4))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # PyJWT's own InsecureKeyLengthWarning
        claims = {'sub': 'alice', 'exp': 4102444800}
        token = jwt.encode(claims, key, algorithm='HS256')
        assert client(app).get('/me', headers={'Authorization': 'Bearer ' + token}).text == repr(claims)


#: An app with a 9-byte JWT secret, sent the token in TOKEN, then decoding with PyJWT itself the one in OWN
#: (5-byte key): its stderr is what a developer sees in the terminal.
SHORT_SECRET_APP = """
import os, bottle, jwt, webtest, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=os.environ['LOGS'], auth_jwt_secret='my-secret', auth_jwt_encoding='clear'))
app.route('/me', callback=lambda: canister.session.user['sub'])
web = webtest.TestApp(app)
print(web.get('/me', headers={'Authorization': 'Bearer ' + os.environ['TOKEN']}).text)
print(web.get('/me', headers={'Authorization': 'Bearer ' + os.environ['TOKEN']}).text)
print(jwt.decode(os.environ['OWN'], 'short', algorithms=['HS256'])['sub'])
"""


def test_a_short_jwt_secret_is_said_once_by_canister_and_not_again_by_pyjwt_at_the_first_token(tmp_path):
    header, payload = {'alg': 'HS256', 'typ': 'JWT'}, {'sub': 'alice', 'exp': 4102444800}
    env = dict(os.environ, PYTHONPATH=str(ROOT), LOGS=str(tmp_path),
               TOKEN=hand_made_token(header, payload, hs256_signer('my-secret')),
               OWN=hand_made_token(header, dict(payload, sub='own'), hs256_signer('short')))
    env.pop('PYTHONWARNINGS', None)
    result = subprocess.run([sys.executable, '-c', SHORT_SECRET_APP], capture_output=True, text=True, env=env,
                            timeout=60)
    assert (result.returncode, result.stdout) == (0, 'alice\nalice\nown\n'), result.stderr
    assert result.stderr.count('CanisterWarning: canister.auth_jwt_secret is 9 bytes') == 1, result.stderr
    assert 'The HMAC key is 9 bytes long' not in result.stderr
    # the filter is canister's key's only: PyJWT still warns of a short key of the app's own
    assert 'InsecureKeyLengthWarning: The HMAC key is 5 bytes long' in result.stderr


@pytest.mark.parametrize('make', [lambda app: canister.Canister(app), lambda app: canister.Canister(app=app)],
                         ids=['Canister(app)', 'Canister(app=app)'])
def test_the_flask_habit_of_giving_the_app_to_the_constructor_says_how_to_install(make):
    """``CORS(app)`` installs Flask-CORS; ``Canister(app)`` took the app for a session store and installed
    nothing, so the app ran with no session, log or CSRF check, and no error."""
    app = bottle.Bottle()
    with pytest.raises(TypeError) as raised:
        make(app)
    assert str(raised.value) == 'Canister() takes no app: install it on the app with app.install(canister.Canister())'


def test_installing_the_class_instead_of_an_object_says_to_call_it():
    """``app.install(canister.Canister)`` (no parentheses) said only "setup() missing 1 required
    positional argument: 'app'", and installed nothing."""
    app = bottle.Bottle()
    with pytest.raises(TypeError) as raised:
        app.install(canister.Canister)
    assert str(raised.value) == 'install a Canister object, not the class: app.install(canister.Canister())'
    assert not any(plugin is canister.Canister for plugin in app.plugins)


@pytest.mark.parametrize('install', [lambda app: app.install(canister), lambda app: bottle.install(canister)],
                         ids=['app.install', 'bottle.install'])
def test_installing_the_module_instead_of_an_object_says_what_to_install(install):
    """``app.install(canister)`` (the module, as ``import canister`` names it) got only Bottle's "Plugins must be
    callable or implement .apply()", which names no plugin; nor does the module become a name of canister's API."""
    app = bottle.Bottle()
    with pytest.raises(TypeError) as raised:
        install(app)
    assert str(raised.value) == 'install a Canister object, not the module: app.install(canister.Canister())'
    assert canister not in app.plugins and canister not in bottle.default_app().plugins
    assert 'setup' not in dir(canister) and 'setup' not in canister.__all__


def test_the_first_app_says_what_installing_the_class_or_the_module_raises():
    assert ('`app.install` takes a Canister object: given the class (`app.install(canister.Canister)`) or the module '
            '(`app.install(canister)`), it installs nothing and raises a `TypeError` that says to write '
            '`app.install(canister.Canister())`.') in readme_section('## A first app')
    for wrong in (canister.Canister, canister):
        app = bottle.Bottle()
        with pytest.raises(TypeError) as raised:
            app.install(wrong)
        assert str(raised.value).endswith(': app.install(canister.Canister())')
        assert wrong not in app.plugins


def pyjwt_warnings_of_the_short_secret():
    """The messages of PyJWT's InsecureKeyLengthWarning when the app decodes a token of 'my-secret' itself."""
    import jwt
    token = hand_made_token({'alg': 'HS256', 'typ': 'JWT'}, {'sub': 'own', 'exp': 4102444800}, hs256_signer('my-secret'))
    with warnings.catch_warnings(record=True) as caught:   # (the filters as they are, each warning recorded)
        assert jwt.decode(token, 'my-secret', algorithms=['HS256'])['sub'] == 'own'
    return [str(warning.message) for warning in caught if issubclass(warning.category, jwt.InsecureKeyLengthWarning)]


def short_secret_app(tmp_path):
    """An app with canister installed with the 9-byte secret 'my-secret', and the plugin."""
    app = bottle.Bottle()
    plugin = canister.Canister(log_path=str(tmp_path), auth_jwt_secret='my-secret', auth_jwt_encoding='clear')
    app.install(plugin)
    return app, plugin


@pytest.fixture
def every_warning_shown():
    """The process's warning filters as they were after the test; meanwhile each warning is shown (not
    once per place), canister's own install warnings aside."""
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        warnings.simplefilter('ignore', canister.CanisterWarning)
        yield


def test_pyjwt_warns_of_the_short_secret_again_once_the_plugin_that_said_it_is_uninstalled(tmp_path,
                                                                                          every_warning_shown):
    app, plugin = short_secret_app(tmp_path)
    while_installed = pyjwt_warnings_of_the_short_secret()
    app.uninstall(plugin)
    after = pyjwt_warnings_of_the_short_secret()
    assert while_installed == []
    assert len(after) == 1 and after[0].startswith('The HMAC key is 9 bytes long'), after


def test_pyjwt_stays_quiet_of_the_short_secret_until_the_last_plugin_with_it_is_uninstalled(tmp_path,
                                                                                           every_warning_shown):
    first, first_plugin = short_secret_app(tmp_path / 'first')
    second, second_plugin = short_secret_app(tmp_path / 'second')
    first.uninstall(first_plugin)
    while_one_is_installed = pyjwt_warnings_of_the_short_secret()
    second.uninstall(second_plugin)
    assert while_one_is_installed == []
    assert len(pyjwt_warnings_of_the_short_secret()) == 1


def test_the_app_s_own_filter_of_pyjwt_s_short_key_warning_stays_after_uninstall(tmp_path, every_warning_shown):
    import jwt
    warnings.filterwarnings('ignore', 'The HMAC key is 9 bytes long', jwt.InsecureKeyLengthWarning)
    app, plugin = short_secret_app(tmp_path)
    app.uninstall(plugin)
    assert pyjwt_warnings_of_the_short_secret() == []
