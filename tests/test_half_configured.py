"""Settings that cannot work alone are reported at install, and none of them opens a door: a Basic
user without a password cannot log in with an empty one (canister 1.x turned Basic off there too)."""
from __future__ import annotations

import warnings

import bottle
import pytest

import canister
from helpers import basic, client, read_log


def install(tmp_path, config=None, **overrides):
    """An app with /me (the session's user), installed with this config; (app, the install's warnings)."""
    app = bottle.Bottle()
    if config:
        app.config.load_dict({'canister': config})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path), **overrides))
    app.route('/me', callback=lambda: repr(canister.session.user))
    return app, [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


@pytest.mark.parametrize('password', ['', None])
@pytest.mark.parametrize('encryption', ['auto', 'clear'])
def test_a_basic_user_without_a_password_cannot_log_in_with_an_empty_one(tmp_path, password, encryption):
    config = {'auth_basic_username': 'alice', 'auth_basic_encryption': encryption}
    if password is not None:
        config['auth_basic_password'] = password       # an ini line left empty
    app, said = install(tmp_path, config)
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
])
def test_a_setting_that_does_nothing_alone_is_reported_at_install(tmp_path, config, warning):
    _, said = install(tmp_path, config)
    assert said == [warning]
    assert warning in read_log(tmp_path)


def test_a_store_object_and_a_session_store_url_together_say_which_is_used(tmp_path):
    store = canister.MemoryStore()
    app, said = install(tmp_path, {'session_store': 'sqlite:///%s' % (tmp_path / 'unused.db')}, store=store)
    assert said == ['canister.session_store = sqlite:///%s is not used: the store given as Canister(store=...) is'
                    % (tmp_path / 'unused.db')]
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    client(app).get('/count')
    assert len(store) == 1 and not (tmp_path / 'unused.db').exists()


def test_a_complete_config_installs_without_a_word(tmp_path):
    _, said = install(tmp_path, {'auth_basic_username': 'alice', 'auth_basic_password': 'pw',
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
