"""An optional package that is missing: the install fails at once, naming a pip command that installs it.

Each case runs in a fresh interpreter with a directory first on ``sys.path`` whose package of that name
raises ``ModuleNotFoundError`` on import: what Python raises for a package that is not installed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import warnings

import pytest

import canister
from helpers import ROOT, read_log

SCRIPT = textwrap.dedent('''
    import json, sys, warnings
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(1, sys.argv[2])
    warnings.simplefilter('ignore')
    import bottle, canister
    app = bottle.Bottle()
    try:
        app.install(canister.Canister(**json.loads(sys.argv[3])))
    except canister.CanisterError as error:
        print('%s: %s' % (type(error).__name__, error))
    else:
        print('installed')
''')

README = (ROOT / 'README.md').read_text(encoding='utf-8')
BCRYPT_HASH = '$2b$12$' + 'a' * 53
ARGON2_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$' + 'a' * 43
SECRET = 'an-example-secret-of-32-bytes-!!'


def install_output(tmp_path, missing: str, **config) -> str:
    """What installing canister with this config prints when the package ``missing`` cannot be imported."""
    blocker = tmp_path / 'missing'
    if missing:
        package = blocker / missing
        package.mkdir(parents=True)
        (package / '__init__.py').write_text(
            'raise ModuleNotFoundError("No module named %r", name=%r)\n' % (missing, missing))
    else:
        blocker.mkdir(parents=True)
    config.setdefault('log_path', str(tmp_path / 'logs'))
    done = subprocess.run([sys.executable, '-c', SCRIPT, str(blocker), str(ROOT), json.dumps(config)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
    return done.stdout.strip()


def extra_requirement(name: str) -> str:
    """The requirement that the ``[project.optional-dependencies]`` extra ``name`` lists in pyproject.toml."""
    text = (ROOT / 'pyproject.toml').read_text()
    found = re.search(r'^%s = \["([^"]+)"\]$' % name, text, re.M)
    assert found, 'pyproject.toml has no one-package extra %r' % name
    return found.group(1)


JWT_HINT = "run pip install '%s' (or pip install '.[jwt]' in a checkout of canister)" % extra_requirement('jwt')
REDIS_HINT = "run pip install '%s' (or pip install '.[redis]' in a checkout of canister)" % extra_requirement('redis')


def test_the_hints_name_the_requirements_of_pyproject():
    assert extra_requirement('jwt') == 'PyJWT[crypto]>=2.12'
    assert extra_requirement('redis') == 'redis>=4.2'


@pytest.mark.parametrize('missing, config, hint', [
    ('jwt', {'auth_jwt_secret': SECRET}, JWT_HINT),
    ('redis', {'session_store': 'redis://127.0.0.1:1/0'}, REDIS_HINT),
    ('bcrypt', {'auth_basic_username': 'bob', 'auth_basic_password': BCRYPT_HASH}, 'run pip install bcrypt'),
    ('argon2', {'auth_basic_username': 'bob', 'auth_basic_password': ARGON2_HASH}, 'run pip install argon2-cffi'),
], ids=['jwt', 'redis', 'bcrypt', 'argon2'])
def test_a_missing_package_is_named_with_a_command_that_installs_it(tmp_path, missing, config, hint):
    out = install_output(tmp_path, missing, **config)
    assert out == ("MissingExtraError: canister needs the %r package for this configuration: %s" % (missing, hint))
    assert 'canister[' not in out and '  ' not in out


def test_the_bcrypt_and_argon2_hints_name_packages_that_provide_those_modules():
    """``pip install bcrypt`` gives ``import bcrypt``; argon2's module comes from ``argon2-cffi``
    (the package called ``argon2`` on the index is another, older project)."""
    import importlib.metadata as metadata
    for module, package in [('bcrypt', 'bcrypt'), ('argon2', 'argon2-cffi')]:
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError:
            pytest.skip('%s is not installed here (the test extra installs it)' % package)
        assert any(str(path).startswith(module + '/') for path in files)


def test_a_bcrypt_line_of_the_users_file_without_bcrypt_is_logged_with_the_command(tmp_path):
    users = tmp_path / 'users.txt'
    users.write_text('bob:%s\nalice:%s\n' % (BCRYPT_HASH, canister.hash_password('my-secret', iterations=1000)))
    assert install_output(tmp_path, 'bcrypt', auth_basic_users_file=str(users)) == 'installed'
    log = read_log(tmp_path / 'logs')
    assert ("Users file %s line 1 ignored: canister needs the 'bcrypt' package for this configuration: "
            "run pip install bcrypt\n" % users) in log


@pytest.mark.parametrize('missing, lines, hint', [
    ('bcrypt', ['bob:' + BCRYPT_HASH], "canister needs the 'bcrypt' package for this configuration: "
                                       'run pip install bcrypt'),
    ('argon2', ['bob:' + ARGON2_HASH, 'alice:' + ARGON2_HASH, 'carol:my-secret'],
     "canister needs the 'argon2' package for this configuration: run pip install argon2-cffi"),
], ids=['bcrypt', 'argon2-and-clear-text'])
def test_a_users_file_whose_every_line_is_left_out_for_a_missing_package_fails_the_install(
        tmp_path, missing, lines, hint):
    """Else the app would start and answer every Basic login 401, the command to run only in the log files."""
    users = tmp_path / 'users.txt'
    users.write_text('# the team\n' + '\n'.join(lines) + '\n')
    out = install_output(tmp_path, missing, auth_basic_users_file=str(users))
    assert out == 'ConfigError: canister.auth_basic_users_file = %r: every line of it is left out: %s' % (
        str(users), hint)


def test_the_install_section_says_a_users_file_with_no_line_left_stops_the_install(tmp_path, monkeypatch):
    install = README.split('\n## Install\n', 1)[1].split('\n## ', 1)[0]
    assert ('but a users file whose lines are all left out, one at least for want of such a package, stops the '
            'install with a `ConfigError` that names the command (`') in install
    quoted = re.search(r'stops the install with a `ConfigError` that names the command \(`([^`]*)`', install).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'users.txt').write_text('bob:%s\n' % BCRYPT_HASH)
    assert install_output(tmp_path, 'bcrypt', auth_basic_users_file='users.txt') == 'ConfigError: ' + quoted


def test_the_install_section_says_what_a_copied_canister_py_without_the_packages_does(tmp_path, monkeypatch):
    """The Install section's paragraph on copying canister.py: JWT and Redis stop the install with the command
    it quotes, a bcrypt password too, and a users file's bcrypt line is left out with the WARNING it quotes while
    its other users log in."""
    install = README.split('\n## Install\n', 1)[1].split('\n## ', 1)[0]   # (its sh block has lines that start '# ')
    for missing, config, command in [('jwt', {'auth_jwt_secret': SECRET}, "pip install 'PyJWT[crypto]>=2.12'"),
                                     ('redis', {'session_store': 'redis://127.0.0.1:1/0'}, "pip install 'redis>=4.2'"),
                                     ('bcrypt', {'auth_basic_username': 'bob', 'auth_basic_password': BCRYPT_HASH},
                                      'pip install bcrypt')]:
        assert '`%s`' % command in install
        assert 'run %s' % command in install_output(tmp_path / missing, missing, **config)
    assert ('a line of the users file that holds one is left out, and the install goes on (the file\'s other users '
            'log in), with a WARNING in the log that names the command: ') in install
    quoted = re.search(r'with a WARNING in the log that names the command: `([^`]*)`', install).group(1)
    monkeypatch.chdir(tmp_path)   # (the quoted line names the file as configured: users.txt, in the directory run in)
    (tmp_path / 'users.txt').write_text('bob:%s\nalice:%s\n' % (BCRYPT_HASH, canister.hash_password('my-secret',
                                                                                                   iterations=1000)))
    blocker = tmp_path / 'missing' / 'bcrypt'
    blocker.mkdir(parents=True)
    (blocker / '__init__.py').write_text('raise ModuleNotFoundError("No module named \'bcrypt\'", name=\'bcrypt\')\n')
    done = subprocess.run([sys.executable, '-c', LOG_IN_SCRIPT, str(blocker.parent), str(ROOT), str(tmp_path / 'logs')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
    assert done.stdout.split() == ['200', '401'], done.stdout   # alice logs in; bob, left out, does not
    assert '   %s\n' % quoted in read_log(tmp_path / 'logs')


#: An app on users.txt that answers alice's and then bob's Basic request, called as a WSGI server calls it.
LOG_IN_SCRIPT = textwrap.dedent('''
    import base64, sys, warnings
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(1, sys.argv[2])
    warnings.simplefilter('ignore')
    import bottle, canister
    from wsgiref.util import setup_testing_defaults
    app = bottle.Bottle()
    app.install(canister.Canister(auth_basic_users_file='users.txt', log_path=sys.argv[3]))
    app.get('/me', callback=canister.require_user(lambda: canister.session.user))
    for name, password in [('alice', 'my-secret'), ('bob', 'my-secret')]:
        environ = {'PATH_INFO': '/me', 'HTTP_AUTHORIZATION': 'Basic ' + base64.b64encode(
            ('%s:%s' % (name, password)).encode()).decode()}
        setup_testing_defaults(environ)
        statuses = []
        b''.join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        print(statuses[0].split()[0])
''')
# -- cryptography: PyJWT installs without it, and then checks no RS/ES/PS/EdDSA signature ----------------

@pytest.fixture
def pem_file(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path / 'key.pem'
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


@pytest.mark.parametrize('config', [
    {'auth_jwt_jwks_url': 'http://127.0.0.1:9/jwks.json'},
    {'auth_jwt_jwks_url': 'http://127.0.0.1:9/jwks.json', 'auth_jwt_algorithms': 'RS256'},
    {'auth_jwt_jwks_url': 'http://127.0.0.1:9/jwks.json', 'auth_jwt_secret': SECRET, 'auth_jwt_algorithms': 'HS256, EdDSA'},
    'public key',
], ids=['jwks', 'jwks-rs256', 'secret-and-eddsa', 'public-key'])
def test_keys_for_rs_es_ps_or_eddsa_without_cryptography_fail_at_install(tmp_path, pem_file, config):
    if config == 'public key':
        config = {'auth_jwt_public_key': pem_file}
    assert install_output(tmp_path / 'with', '', **config) == 'installed'
    out = install_output(tmp_path / 'without', 'cryptography', **config)
    assert out == "MissingExtraError: canister needs the 'cryptography' package for this configuration: " + JWT_HINT


def test_a_shared_secret_needs_no_cryptography(tmp_path):
    assert install_output(tmp_path, 'cryptography', auth_jwt_secret=SECRET) == 'installed'
    assert install_output(tmp_path / 'hs', 'cryptography', auth_jwt_secret=SECRET, auth_jwt_algorithms='HS256') == 'installed'


# -- an optional package older than canister is tested with ------------------------------

@pytest.mark.parametrize('version, warned', [('2.8.0', True), ('2.11.9', True), ('2.12.0', False), ('3.0', False)])
def test_an_older_pyjwt_than_canister_is_tested_with_is_reported_at_install(
        make_app, log_dir, monkeypatch, version, warned):
    import jwt
    import canister
    monkeypatch.setattr(jwt, '__version__', version)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        make_app(auth_jwt_secret=SECRET, auth_jwt_encoding='clear', auth_jwt_client_id='my-app')
    note = ("canister is tested with PyJWT 2.12 or later, and this is PyJWT %s: some of its fixes may be missing "
            "(run pip install 'PyJWT[crypto]>=2.12'" % version)
    shown = [str(warning.message) for warning in caught if issubclass(warning.category, canister.CanisterWarning)]
    assert any(text.startswith(note) for text in shown) is warned, shown
    assert (note in read_log(log_dir)) is warned


@pytest.mark.parametrize('version, warned', [('4.1.4', True), ('4.2.0', False), ('5.0.1', False)])
def test_an_older_redis_package_than_canister_is_tested_with_is_reported_at_install(
        make_app, log_dir, monkeypatch, redis_server, version, warned):
    import redis
    import canister
    monkeypatch.setattr(redis, '__version__', version)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        make_app(session_store=redis_server.url)
    note = ("canister is tested with redis 4.2 or later, and this is redis %s: some of its fixes may be missing "
            "(run pip install 'redis>=4.2'" % version)
    shown = [str(warning.message) for warning in caught if issubclass(warning.category, canister.CanisterWarning)]
    assert any(text.startswith(note) for text in shown) is warned, shown
    assert (note in read_log(log_dir)) is warned
