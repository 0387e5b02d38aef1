"""``%`` and ``$`` in an ini file read by Bottle's ``load_config``: its configparser interpolates ``%`` on
bottle 0.12 and ``$`` on 0.13, so the README's Configuration section says how to write them, and an ini
file written that way loads and installs on the bottle these tests run on (CI runs them on both)."""
from __future__ import annotations

import configparser
import warnings

import argon2
import bcrypt
import bottle
import pytest

import canister
from helpers import ROOT, app_with_ini, basic, client

README = (ROOT / 'README.md').read_text(encoding='utf-8')
#: The character this bottle's load_config interpolates, and how it is written.
SPECIAL = '%' if bottle.__version__.startswith('0.12') else '$'
#: A Redis URL whose password holds a '/', written %2F as the README's Redis URLs ask.
REDIS_URL = 'redis://:p%2Fw@127.0.0.1:1/0'
BCRYPT_HASH = bcrypt.hashpw(b'bob-pw', bcrypt.gensalt(4)).decode()
ARGON2_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash('carol-pw')


def as_the_readme_says(value: str) -> str:
    """A value as the README says to write it in an ini file for this bottle."""
    return value.replace(SPECIAL, SPECIAL * 2)


def test_the_readme_says_how_to_write_percent_and_dollar_in_an_ini_file():
    section = README.split('\n## Configuration\n', 1)[1].split('\n## ', 1)[0]
    assert ("on bottle 0.12 write every `%` as `%%` (a Redis password's `%2F` as `%%2F`), on bottle 0.13 every "
            "`$` as `$$` (a bcrypt hash `$2b$12$...` as `$$2b$$12$$...`, an argon2 hash likewise)") in section
    assert ('the users file, keyword arguments and `app.config.update` are not interpolated, so values there are '
            'written as they are') in section


def test_a_value_with_the_interpolated_character_written_once_does_not_load(tmp_path):
    value = {'%': REDIS_URL, '$': BCRYPT_HASH}[SPECIAL]
    with pytest.raises(configparser.InterpolationSyntaxError):
        app_with_ini(tmp_path, '[canister]\nauth_basic_password = %s\n' % value)


def test_a_bcrypt_hash_written_as_the_readme_says_loads_and_logs_in(tmp_path):
    users = tmp_path / 'users.txt'
    users.write_text('carol:%s\n' % ARGON2_HASH)   # read by canister itself: as it is
    app = app_with_ini(tmp_path, '[canister]\nlog_path = %s\nauth_basic_username = bob\nauth_basic_password = %s\n'
                           'auth_basic_users_file = %s\n'
                 % (tmp_path / 'logs', as_the_readme_says(BCRYPT_HASH), users))
    assert app.config['canister.auth_basic_password'] == BCRYPT_HASH
    app.install(canister.Canister())
    try:
        app.route('/me', callback=lambda: str(canister.session.user))
        assert client(app).get('/me', headers={'Authorization': basic('bob', 'bob-pw')}).text == 'bob'
        assert client(app).get('/me', headers={'Authorization': basic('carol', 'carol-pw')}).text == 'carol'
        client(app).get('/me', headers={'Authorization': basic('bob', 'wrong')}, status=401)
    finally:
        app.uninstall(True)


def test_a_redis_url_written_as_the_readme_says_loads_and_installs(tmp_path):
    app = app_with_ini(tmp_path, '[canister]\nlog_path = %s\nsession_store = %s\n'
                 % (tmp_path / 'logs', as_the_readme_says(REDIS_URL)))
    assert app.config['canister.session_store'] == REDIS_URL
    plugin = canister.Canister()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # nothing listens on port 1
        app.install(plugin)
    try:
        assert plugin.config['session_store'] == REDIS_URL
    finally:
        app.uninstall(True)
