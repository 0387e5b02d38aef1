"""Values a README audit (session 38) found refused or shown wrongly at install.

A keyword argument holding whitespace then ``#`` or ``;`` (a clear-text password ``'my pass #1'``, a realm
``'Shop #1'``) was refused as an ini file's inline comment, told to write the value without it: no ini file read
it, and a password cannot be written without its own characters.  It is now taken as it is; the app's config,
which an ini file may have filled, still refuses it, saying how to give such a value.

``auth_jwt_public_key``'s ``~`` refusal showed the path as ``'***'`` (the name ends in ``key``) while its
PEM-load refusal showed it in clear: a file's path is shown everywhere, a key's text given there never.
"""
from __future__ import annotations

import base64

import bottle
import pytest

import canister
from helpers import app_with_ini, client, readme_section

PEM = ('-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEd0B6ED9SQr7MwpaU4u6U6Mk9Y5j3\n'
       'ia0P9o4S4D8Ym8d3zUtUFJmV4qf0cR1NoiXP2jVxq5H0ZQ5gG5fKbkL3dQ==\n-----END PUBLIC KEY-----\n')


def basic(user: str, password: str) -> dict:
    return {'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()}


@pytest.fixture
def installed(tmp_path, uninstall_at_end):
    """``installed(**keywords)``: an app with Canister(**keywords) installed, logging to tmp_path; GET /me
    answers the user's name."""
    def install(app=None, **keywords):
        app = uninstall_at_end(app or bottle.Bottle())
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), **keywords))
        app.route('/me', callback=canister.require_user(lambda: str(canister.session.user)))
        return app
    return install


def test_a_clear_text_password_with_a_hash_after_a_space_given_as_a_keyword_logs_in(installed):
    app = installed(auth_basic_username='alice', auth_basic_password='my pass #1', auth_basic_encryption='clear')
    web = client(app)
    assert web.get('/me', headers=basic('alice', 'my pass #1')).text == 'alice'
    assert web.get('/me', headers=basic('alice', 'my pass'), expect_errors=True).status_int == 401


def test_a_realm_with_a_hash_after_a_space_given_as_a_keyword_is_the_challenges(installed):
    app = installed(auth_basic_username='alice', auth_basic_password='my-secret', auth_basic_encryption='clear',
                    auth_realm='Shop #1 ; east')
    answer = client(app).get('/me', expect_errors=True)
    assert answer.status_int == 401
    assert answer.headers['WWW-Authenticate'] == 'Basic realm="Shop #1 ; east", charset="UTF-8"'


def test_the_same_value_set_in_python_in_the_apps_config_is_refused_saying_to_give_it_as_a_keyword(tmp_path):
    app = bottle.Bottle()
    app.config['canister.auth_realm'] = 'Shop #1'
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister())
    assert str(raised.value) == (
        "canister.auth_realm = 'Shop #1' has an inline comment (whitespace then ; or #): in an ini file, Bottle's "
        "load_config keeps it as part of the value, so put the comment on a line of its own; a value set in Python "
        "that holds one (a password) is taken as it is given as a keyword argument, Canister(auth_realm=...)")
    assert not (tmp_path / 'logs').exists()


def test_a_password_with_an_inline_comment_in_an_ini_file_is_refused_without_showing_it(tmp_path):
    app = app_with_ini(tmp_path, '[canister]\nauth_basic_username = alice\nauth_basic_password = my pass #1\n')
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister())
    assert str(raised.value).startswith('canister.auth_basic_password has an inline comment (whitespace then ; or #)')
    assert str(raised.value).endswith('Canister(auth_basic_password=...)') and 'my pass' not in str(raised.value)


def test_the_readme_says_which_values_are_checked_for_a_comment():
    section = readme_section('## Configuration')
    assert ('a value of the app\'s config (its `canister.*` keys, read from an ini file or set in Python, which '
            'canister cannot tell apart) with whitespace followed by `;` or `#` is refused at install') in section
    assert ('A keyword argument is taken as it is, since no ini file read it: '
            '`Canister(auth_basic_password=\'my pass #1\')`, `Canister(auth_realm=\'Shop #1\')`') in section


# -- auth_jwt_public_key: a path shown, a key's text masked --------------------------------------

def test_a_key_files_path_with_a_tilde_is_shown_in_the_refusal(installed):
    with pytest.raises(canister.ConfigError) as raised:
        installed(auth_jwt_public_key='~/idp.pem', auth_jwt_client_id='shop')
    assert str(raised.value).startswith("canister.auth_jwt_public_key = '~/idp.pem' is not valid: canister does not "
                                        'expand ~ to a home directory')


def test_a_key_files_path_is_shown_as_the_load_refusal_shows_it(installed, tmp_path):
    missing = str(tmp_path / 'idp.pem')
    with pytest.raises(canister.ConfigError) as raised:
        installed(auth_jwt_public_key=missing, auth_jwt_client_id='shop')
    assert str(raised.value).startswith('canister.auth_jwt_public_key = %r: cannot load a PEM public key' % missing)


@pytest.mark.parametrize('written', ['"%s"' % PEM, '"%s"' % ''.join(PEM.splitlines()[1:3])])
def test_a_keys_text_in_quotes_is_refused_without_showing_it(installed, written):
    with pytest.raises(canister.ConfigError) as raised:
        installed(auth_jwt_public_key=written, auth_jwt_client_id='shop')
    assert str(raised.value).startswith('canister.auth_jwt_public_key is in quotes')
    assert 'MFkwEwYH' not in str(raised.value)

