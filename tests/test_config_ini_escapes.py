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
from helpers import ROOT, app_with_ini, basic, client, run_canister
from servers import held_port

README = (ROOT / 'README.md').read_text(encoding='utf-8')
#: The character this bottle's load_config interpolates, and how it is written.
SPECIAL = '%' if bottle.__version__.startswith('0.12') else '$'
#: What the commands say of a value with SPECIAL written once (after the file and key it names).
DOUBLE_IT = ("holds a {0} that bottle {1}'s load_config takes for the start of configparser's interpolation (a "
             "reference to another value): write each {0} in the file's values as {0}{0}\n").format(
                 SPECIAL, '0.12' if SPECIAL == '%' else '0.13')
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


def refused(name: str, text: str, cwd) -> str:
    """What ``python -m canister NAME`` writes on stderr when it reads ``text`` as its ``--config``, ``app.ini`` in
    ``cwd``, having checked that it ends with status 1 and writes nothing on stdout. The demo runs on a port this
    process holds free for it (the demo looks at its port before it reads the file; a port ``free_port()`` handed
    out could meanwhile be taken by a server of a test run beside this one)."""
    ini = cwd / 'app.ini'
    ini.write_text(text)
    extra = {'sessions': ['alice'], 'end-sessions': ['alice'], 'tidy-sessions': []}
    with held_port(reuse_address=True) as port:
        result = run_canister(name, *extra.get(name, ['--port', str(port)]), '--config', str(ini), cwd=cwd)
    assert (result.returncode, result.stdout) == (1, '')
    return result.stderr


@pytest.mark.parametrize('name', ['sessions', 'end-sessions', 'tidy-sessions', 'demo'])
def test_a_command_names_the_key_of_a_value_written_once_and_masks_its_redis_password(tmp_path, name):
    stderr = refused(name, '[canister]\nsession_store = redis://:hunter%ssecret@127.0.0.1/0\n' % SPECIAL, tmp_path)
    assert stderr == ("python -m canister %s: --config %s: the value of session_store in [canister], "
                      "'redis://:***@127.0.0.1/0', %s" % (name, tmp_path / 'app.ini', DOUBLE_IT))
    assert 'secret' not in stderr and 'hunter' not in stderr


@pytest.mark.parametrize('name', ['sessions', 'tidy-sessions', 'demo'])
def test_a_command_names_the_key_of_a_secret_value_written_once_without_its_value(tmp_path, name):
    stderr = refused(name, '[canister]\nsession_store = sqlite:///s.db\nauth_basic_password = pw%s40secret\n' % SPECIAL,
                     tmp_path)
    assert stderr == ('python -m canister %s: --config %s: the value of auth_basic_password in [canister] %s'
                      % (name, tmp_path / 'app.ini', DOUBLE_IT))


def test_a_command_names_the_key_of_a_reference_to_no_value_without_repeating_the_value(tmp_path):
    reference = '%(nothing)s' if SPECIAL == '%' else '${nothing}'
    stderr = refused('tidy-sessions', '[app]\ndsn = postgres://bob:pw%ssecret@db.example/shop\n' % reference, tmp_path)
    assert stderr == ("python -m canister tidy-sessions: --config %s: the value of dsn in [app], "
                      "'postgres://bob:***@db.example/shop', %s" % (tmp_path / 'app.ini', DOUBLE_IT))


def test_the_readme_says_a_command_names_the_key_of_such_a_value_and_not_its_secrets():
    section = README.split('\n## Configuration\n', 1)[1].split('\n## ', 1)[0]
    assert ("configparser's message repeats the value from that character on, a password included; canister's "
            "commands (`--config FILE`) instead name the file, the key and its section, say to double the "
            "character, and show the value as the log would, a URL's password masked and a secret key's value "
            "left out (exit status 1)") in section
