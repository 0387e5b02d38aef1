"""Config traps a newcomer meets: inline ini comments, list items, unknown keys reported on the terminal,
and every ini block of the README installing as written, with each other value its comments offer."""
from __future__ import annotations

import linecache
import os
import re
import subprocess
import sys
import textwrap
import warnings

from datetime import timedelta

import bottle
import pytest

import canister
from helpers import (ROOT, FourMethodStore, app_with_ini, canister_warning_texts, client, json_counter_app, read_log,
                     readme_section, run_canister)

HASH = canister.hash_password('my-secret', iterations=1000)


def install_ini(tmp_path, text: str) -> bottle.Bottle:
    """An app configured by ``app.config.load_config`` from an ini file with this text."""
    app = app_with_ini(tmp_path, text)
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    app.install(canister.Canister())
    return app


# -- inline comments -----------------------------------------------------------------------

def test_bottle_keeps_an_inline_comment_as_part_of_the_value(tmp_path):
    """Why the check exists: Bottle's load_config (0.12 and 0.13) does not strip `; comment`."""
    ini = tmp_path / 'plain.ini'
    ini.write_text('[canister]\ncors = *    ; any origin\n')
    config = bottle.ConfigDict()
    config.load_config(str(ini))
    assert config['canister.cors'] == '*    ; any origin'


@pytest.mark.parametrize('line', ['CORS = *    ; any origin', 'cors = https://app.example.com # ours',
                                  'log_level = INFO\t; the default'])
def test_an_inline_comment_is_refused_naming_the_key_and_why(tmp_path, line):
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\n%s\n' % line)
    message = str(raised.value)
    key = line.split('=')[0].strip().lower()
    assert message.startswith('canister.%s = ' % key)
    assert 'inline comment' in message and "in an ini file, Bottle's load_config keeps it as part of the value" in message


def test_an_inline_comment_after_a_password_hash_is_refused_without_echoing_the_hash(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\nauth_basic_username = alice\n'
                              'auth_basic_password = %s   ; from hash-password\n' % HASH)
    message = str(raised.value)
    assert message.startswith('canister.auth_basic_password has an inline comment')
    assert HASH.split(':')[2] not in message and 'hash-password' not in message


def test_a_comment_given_as_a_keyword_argument_is_part_of_the_value_and_checked_as_such(tmp_path):
    """No ini file read a keyword argument: whitespace then ; is the value's own, here an origin's, refused as one
    (not as an ini file's comment, which session 38's audit found refusing passwords such as 'my pass #1')."""
    with pytest.raises(canister.ConfigError) as raised:
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path / 'logs'), cors='*    ; any origin'))
    assert str(raised.value).startswith("canister.cors = '*    ; any origin' is not valid: ")
    assert 'inline comment' not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_comment_on_its_own_line_is_fine_and_the_password_then_works(tmp_path):
    app = install_ini(tmp_path, '[canister]\nauth_basic_username = alice\n; from hash-password\n'
                                'auth_basic_password = %s\n' % HASH)
    try:
        app.route('/me', callback=lambda: str(canister.session.user))
        assert client(app).get('/me', headers={'Authorization': 'Basic YWxpY2U6bXktc2VjcmV0'}).text == 'alice'
    finally:
        app.uninstall(True)


# -- paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize('line', ['log_path = ~/app/logs', 'session_store = sqlite:///~/sessions.db',
                                  'auth_basic_users_file = ~/users.txt', 'auth_jwt_public_key = ~/idp.pem'])
def test_a_path_starting_with_a_tilde_is_refused_and_nothing_is_made_in_the_working_directory(tmp_path, monkeypatch,
                                                                                              line):
    work = tmp_path / 'work'
    work.mkdir()
    monkeypatch.chdir(work)
    app = app_with_ini(tmp_path, '[canister]\n%s\n' % line)
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister())
    key = line.split(' = ')[0]
    assert str(raised.value).startswith('canister.%s = ' % key)
    assert str(raised.value).endswith(' is not valid: canister does not expand ~ to a home directory, as a shell '
                                      'does: the path would start at a directory named ~ in the working directory; '
                                      'write it in full')
    assert list(work.iterdir()) == []  # (a log_path of ~/app/logs made ./~/app/logs, and logged there)


def test_a_sqlite_url_whose_path_starts_with_an_escaped_tilde_is_refused_as_a_tilde_is(tmp_path, monkeypatch):
    work = tmp_path / 'work'
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(canister.ConfigError) as raised:  # (it said to create the directory ~ first)
        bottle.Bottle().install(canister.Canister(session_store='sqlite:///%7E/sessions.db', log_path=str(tmp_path)))
    assert str(raised.value).startswith("canister.session_store = 'sqlite:///%7E/sessions.db' is not valid: canister "
                                        'does not expand ~ to a home directory')
    assert list(work.iterdir()) == []


def test_a_path_with_a_tilde_further_on_is_taken_as_written(make_app, tmp_path):
    make_app(session_store='sqlite:///%s' % (tmp_path / 'sessions~.db'),
             log_path=str(tmp_path / 'logs~'))
    assert (tmp_path / 'sessions~.db').is_file() and (tmp_path / 'logs~').is_dir()


def test_a_semicolon_or_hash_inside_a_value_is_not_a_comment(make_app):
    make_app(auth_basic_username='alice', auth_basic_password='pa;ss#word', auth_basic_encryption='clear')


# -- list items ------------------------------------------------------------------------------

@pytest.mark.parametrize('origins', ['*', 'null', 'https://app.example.com', 'http://127.0.0.1:8080',
                                     'https://*.example.com, https://app.example.com:8443', 'http://[::1]:3000',
                                     'https://App.Example.com/', 'https://my_app.example.com', 'https://_a.b_.example.com',
                                     'https://*.my_app.example.com', 'http://-a.localhost:8080', 'http://a-.localhost:8080'])
def test_valid_cors_origins_install(make_app, origins):
    make_app(cors=origins)


@pytest.mark.parametrize('origins, bad', [
    ('* https://app.example.com', '* allows every origin and cannot be combined'),
    ('https://a.example.com, https://b.example.com/path', "'https://b.example.com/path' is not an origin"),
    ('app.example.com', "'app.example.com' is not an origin"),
    ('ftp://files.example.com', "'ftp://files.example.com' is not an origin"),
    ('https://*.*.example.com', "'https://*.*.example.com' is not an origin"),
    ('https://example.com:port', "'https://example.com:port' is not an origin"),
    ('https://example.com:0443', "'https://example.com:0443': a browser never sends the port 0443"),
    ('http://localhost:0', "'http://localhost:0': a browser never sends the port 0 "),
    ('http://localhost:99999', "'http://localhost:99999': a browser never sends the port 99999"),
    # a host ending in a number is an IPv4 address to a browser: refused over 255, written as four decimals
    ('https://256.1.1.1', "'https://256.1.1.1' can never match an Origin: a browser reads a host that ends in a "
                          'number as an IPv4 address, refuses one with a part over 255'),
    ('http://127.1:8080', "'http://127.1:8080' can never match an Origin"),        # sent as http://127.0.0.1:8080
    ('http://0x7f.0.0.1', "'http://0x7f.0.0.1' can never match an Origin"),
    ('http://010.0.0.1', "'http://010.0.0.1' can never match an Origin"),          # octal: sent as http://8.0.0.1
    ('https://*.10.0.0.1', "'https://*.10.0.0.1' can never match an Origin"),
])
def test_every_cors_origin_is_checked(make_app, origins, bad):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(cors=origins)
    assert str(raised.value).startswith("canister.cors = %r is not valid: " % origins)
    assert bad in str(raised.value)


@pytest.mark.parametrize('value', [True, 'true', 'yes', 'on', '1', 'TRUE'])
def test_a_true_cors_says_to_write_star_or_the_origins(make_app, value):
    """Flask-CORS's habit (``cors=True``) names no origin: the answer says what to write instead."""
    with pytest.raises(canister.ConfigError) as raised:
        make_app(cors=value)
    assert 'a true/false value does not say which origins may call: write * for any origin ' \
           '(without cors_credentials), or the list of allowed origins' in str(raised.value)
    assert 'is not an origin' not in str(raised.value)


@pytest.mark.parametrize('value', [False, 'false', 'False', 'no', 'off', '0', ''])
def test_a_false_cors_is_off_as_in_1x(make_app, value):
    app = make_app(cors=value)
    app.route('/x', callback=lambda: 'ok')
    answer = client(app).get('/x', headers={'Origin': 'https://app.example.com'})
    assert answer.text == 'ok' and 'Access-Control-Allow-Origin' not in answer.headers


@pytest.mark.parametrize('key, value, bad', [
    ('cors_methods', 'GET, PO(ST', 'PO(ST'), ('cors_headers', 'Content-Type, X:Custom', 'X:Custom'),
    ('cors_expose_headers', 'X-Request-ID, "X-Total"', '"X-Total"'),
])
def test_methods_and_header_names_must_be_http_tokens(make_app, key, value, bad):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(cors='*', **{key: value})
    assert str(raised.value).startswith('canister.%s = ' % key)
    assert '%r is not an HTTP token' % bad in str(raised.value)


def test_token_lists_install(make_app):
    make_app(cors='*', cors_methods='GET PUT', cors_headers='*', cors_expose_headers='X-Request-ID, X-Total')


# -- unknown keys: a warning on the terminal too ------------------------------------------------

def test_an_unknown_key_is_a_canister_warning_pointing_at_the_install_line(make_app):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(sesion_timeout='60')
    assert canister_warning_texts(caught) == [
        'unknown config key canister.sesion_timeout (did you mean session_timeout?)']
    assert caught[0].filename == os.path.join(str(ROOT), 'tests', 'conftest.py')
    assert issubclass(canister.CanisterWarning, UserWarning) and 'CanisterWarning' in canister.__all__


@pytest.mark.parametrize('name, hint', [
    ('cors_origins', 'did you mean cors? it takes the allowed origins'),                        # Flask-CORS
    ('allow_origins', 'did you mean cors? it takes the allowed origins'),                       # Starlette
    ('max_age', "did you mean cors_max_age (a preflight's), session_cookie_max_age (the cookie's) or "
                "session_max_age (the session's)?"),
    ('wtf_csrf_enabled', 'did you mean csrf? it checks the origin of unsafe requests, with no token in the form'),
    ('secret_key', 'canister needs no secret key for sessions: the cookie holds a random id of a session kept on '
                   'the server, nothing signed; the secret that signs Bearer tokens (JWT) is auth_jwt_secret'),
    ('permanent_session_lifetime', 'did you mean session_timeout? session.remember(seconds) gives one session '
                                   'its own'),
    ('https_only', 'did you mean session_secure?'),
    ('session_cookie_httponly', 'canister has no such setting: the cookie is always HttpOnly'),
    ('session_cookie_domain', 'canister has no such setting: the cookie never has a Domain, so it stays with '
                              'this host'),
    ('session_redis', 'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// URL'),
])
def test_a_setting_under_its_flask_or_starlette_name_is_pointed_to_canisters_own(make_app, name, hint):
    """Closeness of spelling found nothing for the first names a Flask or Starlette user writes, or the wrong
    key (``max_age``: hsts_max_age; ``session_redis``: session_redis_wait; ``session_cookie_httponly``:
    session_cookie)."""
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={name.upper(): '1'})
    assert canister_warning_texts(caught) == ['unknown config key canister.%s (%s)' % (name, hint)]


def install_the_1x_way(plugin: canister.Canister) -> bottle.Bottle:
    """``bottle.install(plugin)``, the module-level install of the 1.x docs, on a default app of its own."""
    app = bottle.app.push()
    try:
        bottle.install(plugin)
    finally:
        bottle.app.pop()
    return app


def install_on_the_app(plugin: canister.Canister) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(plugin)
    return app


@pytest.mark.parametrize('install', [install_on_the_app, install_the_1x_way])
@pytest.mark.parametrize('config, warned', [
    ({'sesion_timeout': '60'}, 'unknown config key canister.sesion_timeout'),   # from the config's check
    ({'store': FourMethodStore()}, 'has no atomic update'),                        # from the store's (its touch works)
], ids=['unknown-key', 'store'])
def test_an_install_warning_points_at_the_line_that_installs_in_both_ways(tmp_path, install, config, warned):
    assert ("pointing at the line that installs the plugin (`app.install(...)`, or `bottle.install(...)` on "
            "Bottle's default app)" in (ROOT / 'README.md').read_text(encoding='utf-8'))
    with pytest.warns(canister.CanisterWarning, match=warned) as caught:
        app = install(canister.Canister(log_path=str(tmp_path / 'logs'), **config))
    try:
        assert len(caught) == 1
        assert caught[0].filename == __file__
        assert 'install(plugin)' in linecache.getline(caught[0].filename, caught[0].lineno)
    finally:
        app.uninstall(True)


def test_an_unknown_key_with_no_close_match_names_the_families_and_the_keys_command(make_app):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(frobnicate='yes')
    message = str(caught[0].message)
    assert message.startswith('unknown config key canister.frobnicate (no known key is close; keys start with auth_*, ')
    assert 'log_*' in message and 'session_*' in message and 'cors*' in message
    assert message.endswith('`python -m canister keys` lists them all)')


def test_known_keys_give_no_warning(make_app):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        make_app(session_timeout='60', CORS='*')


def test_the_warning_can_be_made_an_error(make_app):
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        with pytest.raises(canister.CanisterWarning):
            make_app(sesion_timeout='60')


def test_an_unknown_key_in_an_ini_file_is_printed_on_the_terminal(tmp_path):
    (tmp_path / 'app.ini').write_text('[canister]\nlog_path = logs\nsesion_timeout = 60\n')
    (tmp_path / 'app.py').write_text(textwrap.dedent('''\
        import bottle, canister
        app = bottle.Bottle()
        app.config.load_config('app.ini')
        app.install(canister.Canister())
        print('installed')
    '''))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop('PYTHONWARNINGS', None)
    result = subprocess.run([sys.executable, 'app.py'], cwd=str(tmp_path), env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'installed\n'
    assert re.search(r'app\.py:4: CanisterWarning: unknown config key canister\.sesion_timeout '
                     r'\(did you mean session_timeout\?\)', result.stderr), result.stderr
    log = ''.join(path.read_text() for path in (tmp_path / 'logs').glob('log.*'))
    assert 'WARNING  [MainThread]   unknown config key canister.sesion_timeout (did you mean session_timeout?)' in log


# -- the README's ini blocks -------------------------------------------------------------------

def readme_ini_blocks() -> list:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return re.findall(r'```ini\n(.*?)```', readme, re.S)


def test_the_readme_has_ini_blocks():
    assert len(readme_ini_blocks()) >= 4


def install_readme_block(tmp_path, monkeypatch, block: str) -> None:
    """Install canister from an ini file of this text, run from tmp_path, and answer a request; a ConfigError or an
    unknown key fails.  The files the block names are made there; a Redis store it names is unreachable here (no
    TLS redis-server among the fixtures, and the hosts are the README's), which only warns: its URL is checked
    all the same."""
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    ini = tmp_path / 'app.ini'
    ini.write_text(block)
    app.config.load_config(str(ini))
    # Files a block names are made here, in the working directory, with the content they need.
    public_key = app.config.get('canister.auth_jwt_public_key')
    if public_key:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        (tmp_path / public_key).write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    users_file = app.config.get('canister.auth_basic_users_file')
    if users_file:
        (tmp_path / users_file).write_text('bob:%s\n' % HASH)
    for certificate in re.findall(r'ssl_(?:ca_certs|certfile|keyfile)=([^&\s]+)', app.config.get('canister.session_store', '')):
        (tmp_path / certificate).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / certificate).write_text('')  # the store is unreachable here: only the file's presence is checked
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)  # (a Redis of the examples is unreachable here)
        warnings.filterwarnings('error', 'unknown config key', canister.CanisterWarning)  # a misspelt key fails
        app.install(canister.Canister())
    try:
        app.route('/', callback=lambda: 'ok')
        assert client(app).get('/').text == 'ok'
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('block', readme_ini_blocks(), ids=lambda block: block.split('\n')[1][:40])
def test_every_ini_block_of_the_readme_installs_as_written(tmp_path, monkeypatch, block):
    install_readme_block(tmp_path, monkeypatch, block)


def commented_alternatives() -> list:
    """Each other value a README ini block offers in a comment (``; or: CORS = ...``, ``; session_store = ...``):
    (the block with that value in place of its key's line, the key)."""
    found = []
    for block in readme_ini_blocks():
        for key, value in re.findall(r'^; (?:or: )?([A-Za-z_]+) = (.+)$', block, re.M):
            line = '%s = %s' % (key, value)  # (a function as the replacement: a backslash in the value stays as it is)
            found.append((re.sub(r'^%s = .*$' % re.escape(key), lambda _, line=line: line, block, count=1, flags=re.M),
                          key))
    return found


def test_the_readme_ini_blocks_offer_other_values_in_comments():
    assert len(commented_alternatives()) >= 3


@pytest.mark.parametrize('block, key', commented_alternatives(),
                         ids=lambda item: item.split('\n')[1][:40] if '\n' in item else item)
def test_every_value_a_readme_ini_block_offers_in_a_comment_installs_in_place_of_its_line(
        tmp_path, monkeypatch, block, key):
    assert block not in readme_ini_blocks(), 'the block has no line %s = ... for the comment to replace' % key
    install_readme_block(tmp_path, monkeypatch, block)


def test_the_readme_config_block_gives_what_it_says(tmp_path, monkeypatch):
    """The first block: Basic auth with the printed hash of my-secret, and CORS for its one origin."""
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    ini = tmp_path / 'app.ini'
    ini.write_text(readme_ini_blocks()[0])
    app.config.load_config(str(ini))
    app.install(canister.Canister())
    try:
        app.route('/me', callback=lambda: str(canister.session.user))
        web = client(app)
        assert web.get('/me', headers={'Authorization': 'Basic YWxpY2U6bXktc2VjcmV0'}).text == 'alice'
        answer = web.get('/me', headers={'Origin': 'https://app.example.com'})
        assert answer.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
        assert (tmp_path / 'logs').is_dir()
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('url, expected', [
    ('https://client:pa55word@idp.example.com/jwks', 'a user name or password in the URL cannot be sent'),
    ('ftp://idp.example.com/jwks', 'expected an http:// or https:// URL'),
    ('idp.example.com/jwks', 'expected an http:// or https:// URL'),
])
def test_a_jwks_url_that_cannot_be_fetched_is_refused_at_install(tmp_path, url, expected):
    app = bottle.Bottle()
    with pytest.raises(canister.ConfigError) as error:
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), auth_jwt_jwks_url=url))
    assert 'canister.auth_jwt_jwks_url' in str(error.value) and expected in str(error.value)
    assert 'pa55word' not in str(error.value)


@pytest.mark.parametrize('url, shown, expected', [
    ('https://idp.example:99999/keys?api_key=hunter2', 'https://idp.example:99999/keys?api_key=***',
     "'99999' is not a port number: use 1 to 65535"),
    ('http://idp.example:abc/keys?api_key=hunter2', 'http://idp.example:abc/keys?api_key=***',
     "'abc' is not a port number: use 1 to 65535"),
    ('https://idp.example:0/keys?api_key=hunter2', 'https://idp.example:0/keys?api_key=***',
     "'0' is not a port number: use 1 to 65535"),
    ('https://:443/keys?api_key=hunter2', 'https://:443/keys?api_key=***', 'the URL names no host'),
    ('https://idp.example/my keys?api_key=hunter2', 'https://idp.example/my keys?api_key=***',
     'a URL holds no whitespace or control character: percent-encode it (a space as %20)'),
    ('https://idp.example/keys?api_key=hun ter2', 'https://idp.example/keys?api_key=***',
     'a URL holds no whitespace or control character: percent-encode it (a space as %20)'),
    ('https://idp.example/keys?api_key=hunter2\x01', 'https://idp.example/keys?api_key=***',
     'a URL holds no whitespace or control character: percent-encode it (a space as %20)'),
    ('https://idp.example/kéys?api_key=hunter2', 'https://idp.example/kéys?api_key=***',
     "a URL's path and query are written in ASCII: percent-encode the other characters"),
])
def test_a_jwks_url_urllib_could_never_fetch_is_refused_at_install_its_query_masked(tmp_path, url, shown, expected):
    app = bottle.Bottle()
    with pytest.raises(canister.ConfigError) as error:
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), auth_jwt_jwks_url=url))
    assert str(error.value) == 'canister.auth_jwt_jwks_url = %r is not valid: %s' % (shown, expected)
    assert 'hunter2' not in str(error.value) and 'ter2' not in str(error.value)


@pytest.mark.parametrize('url', ['https://[::1]:8443/keys', 'https://idp.example/keys?tenant=7',
                                 'https://café.example/keys'])
def test_a_jwks_url_with_a_port_an_ipv6_address_a_query_or_a_name_outside_ascii_installs(tmp_path, url):
    app = bottle.Bottle()
    plugin = canister.Canister(log_path=str(tmp_path / 'logs'), auth_jwt_jwks_url=url)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        app.install(plugin)
    try:
        assert plugin.config['auth_jwt_jwks_url'] == url
    finally:
        app.uninstall(True)


# -- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize('value', [0, '0', ' 0'])
def test_a_max_body_size_of_0_which_would_refuse_every_body_is_refused_at_install(tmp_path, value):
    app = bottle.Bottle()
    with pytest.raises(canister.ConfigError) as error:
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), max_body_size=value))
    assert str(error.value) == (
        'canister.max_body_size = %r is not valid: expected a number >= 1: 0 would answer 413 to every request with a '
        'body, not lift the limit as 0 does for max_form_parts; for no limit, write a size no body reaches '
        '(1099511627776 is 1 TiB)' % value)


def test_a_max_body_size_of_1_installs_and_answers_a_2_byte_body_413(tmp_path):
    app = bottle.Bottle()
    app.catchall = False
    app.install(canister.Canister(log_path=str(tmp_path / 'logs'), max_body_size=1))
    try:
        app.post('/echo', callback=lambda: 'ok')
        web = client(app)
        assert web.post('/echo', 'a', content_type='text/plain').text == 'ok'
        web.post('/echo', 'ab', content_type='text/plain', status=413)
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('key, value, why', [
    ('session_timeout', 2.9, 'expected an integer'),             # no silent 2
    ('max_body_size', '1.5', 'expected an integer'),
    ('session_timeout', float('inf'), 'expected an integer'),     # (was an OverflowError)
    ('log_slow', float('nan'), 'expected a finite number'),
    ('log_slow', 'inf', 'expected a finite number'),
    ('auth_jwt_jwks_refetch', 'nan', 'expected a finite number'),
    ('session_timeout', 10 ** 16, 'expected a number <= 3162240000'),   # "never": a save would fail every time
    ('session_max_age', '99999999999', 'expected a number <= 3162240000'),
    ('session_cookie_max_age', 10 ** 12, 'expected a number <= 3162240000'),
    ('log_days', 10 ** 9, 'expected a number <= 36600'),
    ('auth_jwt_jwks_timeout', 600, 'expected a number <= 60'),     # a request would hold its thread for it
    ('auth_jwt_jwks_timeout', 0, 'expected a number >= 0.1'),
    ('session_redis_timeout', 0, 'expected a number >= 0.01'),      # no timeout: a stalled Redis would hang requests
    ('session_redis_timeout', -1, 'expected a number >= 0.01'),
    ('session_redis_timeout', '250ms', 'expected a number of seconds, without a unit (250ms is 0.25)'),
    ('session_redis_timeout', 'fast', 'expected a finite number'),
    ('session_redis_timeout', 'nan', 'expected a finite number'),
    ('session_redis_timeout', 61, 'expected a number <= 60'),       # each request would hold its thread for it
    ('session_redis_timeout', 0.009, 'expected a number >= 0.01'),  # the README's ends, exactly
    ('session_redis_timeout', 60.1, 'expected a number <= 60'),
    ('session_redis_keepalive', -1, 'expected a number >= 0'),
    ('session_redis_keepalive', 7201, 'expected a number <= 7200'),   # past the 2 h a kernel waits by default
    ('session_redis_keepalive', 1.5, 'expected an integer'),          # (TCP_KEEPIDLE is whole seconds)
    ('session_redis_keepalive', '30s', 'expected a whole number of seconds, without a unit (30s is 30)'),
    ('auth_jwt_jwks_timeout', 0.09, 'expected a number >= 0.1'),
    ('auth_jwt_jwks_timeout', 60.1, 'expected a number <= 60'),
    ('session_timeout', timedelta(seconds=1.5), 'expected whole seconds, not the timedelta 0:00:01.500000'),
    ('hsts_max_age', timedelta(days=-1), 'expected a number >= 0'),
    ('log_days', timedelta(hours=36), 'expected whole days, not the timedelta 1 day, 12:00:00'),
    ('log_days', -1, 'expected a number >= 0'),
    ('session_max', timedelta(days=30), 'expected an integer, not a timedelta: this key is no number of seconds'),
    ('max_body_size', timedelta(seconds=10), 'expected an integer, not a timedelta'),
    ('max_form_parts', '\u0663', "expected an integer written with the digits 0-9: '\u0663' holds characters "
                                   'other than ASCII'),                # an Arabic-Indic three, which int() takes
    ('session_timeout', '\uff19\uff10', 'expected an integer written with the digits 0-9'),  # fullwidth 90
    ('log_slow', '\u0968.5', 'expected a finite number written with the digits 0-9'),     # float() takes it as 2.5
    ('session_timeout', '1_000', "expected an integer written with the digits 0-9: '1_000' holds a _ (write 1000)"),
    ('session_timeout', '+5', "expected an integer written with the digits 0-9: '+5' starts with + (write 5)"),
    ('max_body_size', '10_485_760', "expected an integer written with the digits 0-9: '10_485_760' holds a _ "
                                    '(write 10485760)'),
    ('log_days', ' +7', "expected an integer written with the digits 0-9: ' +7' starts with + (write 7)"),
    ('log_slow', '+1.5', "expected a finite number written with the digits 0-9: '+1.5' starts with + (write 1.5)"),
    ('auth_jwt_jwks_timeout', '0.2_5', "expected a finite number written with the digits 0-9: '0.2_5' holds a _ "
                                       '(write 0.25)'),
    ('session_timeout', '+x', 'expected an integer'),
])
def test_a_number_that_cannot_work_is_refused_at_install(tmp_path, key, value, why):
    with pytest.raises(canister.ConfigError) as caught:
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), **{key: value}))
    assert str(caught.value).startswith('canister.%s = %r is not valid: %s' % (key, value, why))


@pytest.mark.parametrize('key, value, parsed', [
    ('session_timeout', 2.0, 2), ('session_timeout', ' 90 ', 90), ('session_timeout', -1, -1),
    ('log_slow', '0.25', 0.25), ('session_max_age', 3162240000, 3162240000),
    ('session_timeout', timedelta(hours=8), 28800), ('session_timeout', timedelta(minutes=-1), -60),
    ('log_slow', timedelta(milliseconds=250), 0.25), ('auth_jwt_jwks_refetch', timedelta(minutes=1), 60.0),
    ('session_redis_timeout', ' 0.25 ', 0.25), ('session_redis_timeout', timedelta(milliseconds=250), 0.25),
    ('session_redis_timeout', 0.01, 0.01), ('session_redis_timeout', 60, 60.0),   # the README's ends, exactly
    ('session_redis_keepalive', 0, 0), ('session_redis_keepalive', 7200, 7200),   # the README's ends, exactly
    ('session_redis_keepalive', ' 60 ', 60), ('session_redis_keepalive', timedelta(minutes=1), 60),
    ('auth_jwt_jwks_timeout', 0.1, 0.1), ('auth_jwt_jwks_timeout', 60, 60.0),
    ('cors_max_age', timedelta(minutes=10), 600), ('session_cookie_max_age', timedelta(days=30), 2592000),
    ('log_days', timedelta(days=30), 30), ('log_days', timedelta(weeks=1), 7), ('log_days', timedelta(0), 0),
])
def test_a_number_that_works_is_taken(tmp_path, key, value, parsed):
    plugin = canister.Canister(log_path=str(tmp_path), **{key: value})
    bottle.Bottle().install(plugin)
    assert plugin.config[key] == parsed and type(plugin.config[key]) is type(parsed)


@pytest.mark.parametrize('key', ['session_timeout', 'max_form_parts', 'session_new_max', 'log_days'])
def test_an_ini_number_with_an_underscore_or_a_plus_is_refused_for_every_key_alike(tmp_path, key):
    for text, problem in (('1_000', 'holds a _ (write 1000)'), ('+5', 'starts with + (write 5)')):
        app = app_with_ini(tmp_path, '[canister]\nlog_path = %s\n%s = %s\n' % (tmp_path / 'logs', key, text))
        with pytest.raises(canister.ConfigError) as caught:
            app.install(canister.Canister())
        assert str(caught.value) == ("canister.%s = %r is not valid: expected an integer written with the digits 0-9: "
                                     "%r %s" % (key, text, text, problem))


@pytest.mark.parametrize('sentence', [
    pytest.param('one with a user name or password in it is refused at install, since they could not be sent, and so '
                 'is one urllib could never fetch: with no host, a port other than 1 to 65535, whitespace or a control '
                 'character, or a character outside ASCII but in its host', id='jwks-urls'),
    pytest.param('| `max_body_size` | `10485760` | bytes, at least 1; a larger body gets 413 (from its Content-Length, '
                 'or once a chunked body passes it); 0 is refused, since it would refuse every body, not lift the limit '
                 '|', id='max-body-size-0'),
    pytest.param("so are a `_` between digits and a leading `+`, which `int()` and `float()` take too (`1_000`, `+5`), "
                 "`expected an integer written with the digits 0-9: '1_000' holds a _ (write 1000)`.",
                 id='underscore-and-plus'),
])
def test_the_readme_says_what_is_refused_at_install(sentence):
    assert sentence in (ROOT / 'README.md').read_text(encoding='utf-8')


def test_a_timedelta_in_the_app_config_is_taken_for_a_key_in_seconds(tmp_path):
    app = bottle.Bottle()
    app.config.update('canister', session_max_age=timedelta(days=1), auth_jwt_leeway=timedelta(seconds=30))
    plugin = canister.Canister(log_path=str(tmp_path))
    app.install(plugin)
    assert (plugin.config['session_max_age'], plugin.config['auth_jwt_leeway']) == (86400, 30)


def remember_seconds_app(tmp_path, seconds):
    """An app whose /remember calls session.remember(seconds) and answers 'taken', or the error it raised."""
    app = bottle.Bottle()
    app.catchall = False
    app.install(canister.Canister(log_path=str(tmp_path)))

    @app.get('/remember')
    def remember():
        try:
            canister.session.remember(seconds)
        except (TypeError, ValueError) as error:
            return '%s: %s' % (type(error).__name__, error)
        return 'taken'

    return app


def test_remember_takes_a_timedelta_of_whole_seconds(tmp_path):
    answer = client(remember_seconds_app(tmp_path, timedelta(days=30))).get('/remember')
    assert answer.text == 'taken'
    assert 'Max-Age=2592000' in answer.headers['Set-Cookie']


def test_remember_refuses_true_with_a_type_error_that_says_what_to_pass(tmp_path):
    """Flask-Login's ``remember=True``: to Python an int, which would remember the session for one second."""
    assert client(remember_seconds_app(tmp_path, True)).get('/remember').text == (
        'TypeError: session.remember() takes a number of seconds or a datetime.timedelta, not True: write '
        'session.remember(30 * 86400) or session.remember(timedelta(days=30))')


@pytest.mark.parametrize('seconds', [0, -5, 2.5, 10 ** 16, timedelta(seconds=1.5), timedelta(0), timedelta(days=-1)])
def test_remember_refuses_a_length_no_store_can_keep(tmp_path, seconds):
    assert client(remember_seconds_app(tmp_path, seconds)).get('/remember').text == (
        'ValueError: session.remember() takes a whole number of seconds from 1 to 3162240000 (about 100 years), '
        'not %r' % (seconds,))


@pytest.mark.parametrize('key', ['csrf', 'auth_jwt_require_exp', 'session_secure'])
def test_an_empty_boolean_is_refused_rather_than_read_as_false(tmp_path, key):
    """`csrf =` in an ini file must not turn the protection off without a word."""
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\n%s =\n' % key)
    assert str(raised.value).startswith("canister.%s = '' is not valid: expected true or false" % key)


def test_a_mistyped_cors_credentials_is_shown_in_the_error_since_a_switch_is_no_secret(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\ncors = https://app.example.com\ncors_credentials = ture\n')
    assert str(raised.value).startswith("canister.cors_credentials = 'ture' is not valid: expected true or false")


def test_an_inline_comment_after_a_redis_url_is_refused_without_its_password(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\nsession_store = redis://:s3cret-pw@127.0.0.1:1/0   ; our cache\n')
    message = str(raised.value)
    assert 'inline comment' in message and 's3cret-pw' not in message
    assert message.startswith('canister.session_store = ') and '***' in message


def test_a_text_key_takes_a_path_and_a_number(tmp_path):
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=tmp_path / 'logs', auth_basic_username='alice', auth_basic_password=1234))

    @app.get('/me')
    def me():
        return 'user=%s' % canister.session.user

    response = client(app).get('/me', headers={'Authorization': 'Basic YWxpY2U6MTIzNA=='})  # alice:1234
    assert response.text == 'user=alice'
    assert any((tmp_path / 'logs').iterdir())


@pytest.mark.parametrize('written, in_a_file', [('Memory', False), ('MEMORY', False), ('SQLite:///sessions.db', True)])
def test_the_session_store_takes_memory_and_url_schemes_in_any_case_as_the_other_choices(make_app, tmp_path, monkeypatch,
                                                                                           written, in_a_file):
    monkeypatch.chdir(tmp_path)
    web = client(json_counter_app(make_app, config={'session_store': written}))
    assert [web.get('/count').json['n'] for _ in range(2)] == [1, 2]
    assert (tmp_path / 'sessions.db').exists() == in_a_file


def installed_from_ini(tmp_path, text: str) -> list:
    """The CanisterWarnings of installing canister (its log in tmp_path/logs) on an app whose config is this ini text."""
    app = app_with_ini(tmp_path, text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    return [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def elsewhere(key: str, where: str, name: str, default: str) -> str:
    """The install's warning of the canister key ``name`` found in the app's config as ``key`` (``where``)."""
    return ("the app's config holds %s (%s), which canister does not read: it reads only the keys of its own section, "
            "so %s keeps its default (%s); move it there: %s under [canister] (canister.%s)"
            % (key, where, name, default, name, name))


def test_canister_keys_in_another_section_of_an_ini_file_are_named_at_install(tmp_path):
    """They used to be ignored without a word: the app ran on the memory store, logging to ./logs."""
    said = installed_from_ini(tmp_path, '[app]\nsession_store = sqlite:///sessions.db\nlog_level = DEBUG\n')
    expected = elsewhere('app.session_store', 'session_store under [app] in an ini file', 'session_store', 'memory')
    assert said == [expected]     # (log_level, a name the app may use itself, is not looked for)
    assert ' WARNING  [MainThread]   ' + expected in read_log(tmp_path / 'logs')


def test_canister_keys_in_another_section_are_named_beside_a_canister_section_too(tmp_path):
    """They were named only when [canister] held no key: with log_level there, the app ran on the memory store and
    without CORS, without a word."""
    said = installed_from_ini(tmp_path, '[canister]\nlog_level = INFO\n'
                                        '[app]\nsession_store = sqlite:///sessions.db\nCORS = https://app.example.com\n')
    assert said == [elsewhere('app.cors', 'cors under [app] in an ini file', 'cors', 'empty'),
                    elsewhere('app.session_store', 'session_store under [app] in an ini file', 'session_store',
                              'memory')]
    assert (' WARNING  [MainThread]   ' + elsewhere('app.cors', 'cors under [app] in an ini file', 'cors', 'empty')
            in read_log(tmp_path / 'logs'))


def test_a_section_named_after_a_keys_first_word_is_named_at_install(tmp_path):
    """``[session] store = ...`` for session_store, the section standing for the key's first word."""
    said = installed_from_ini(tmp_path, '[canister]\nlog_level = INFO\n[session]\nstore = sqlite:///sessions.db\n'
                                        'timeout = 60\n')
    assert said == [elsewhere('session.store', 'store under [session] in an ini file', 'session_store', 'memory'),
                    elsewhere('session.timeout', 'timeout under [session] in an ini file', 'session_timeout', '3600')]


def test_a_canister_key_at_the_top_of_the_config_is_named_beside_a_canister_section(tmp_path):
    said = installed_from_ini(tmp_path, '[canister]\nlog_level = INFO\n[bottle]\nhsts_max_age = 31536000\n')
    assert said == [elsewhere('hsts_max_age', 'at its top: [bottle] in an ini file', 'hsts_max_age', '0')]


def test_keys_of_the_apps_own_beside_a_canister_section_are_not_reported(tmp_path):
    """Only a known key's exact name, of those no other part of an app would use, is looked for."""
    assert installed_from_ini(tmp_path, '[canister]\nlog_level = INFO\n[app]\nstore = mine\nsession = on\n'
                                        'log_level = DEBUG\ndebug = true\ncors_origins = *\nsession_stores = 2\n'
                                        '[log]\nlevel = DEBUG\n[session]\nsecret = x\n') == []


def test_a_key_canister_has_in_its_own_section_is_not_reported_elsewhere(tmp_path):
    """The app's own copy (canister has its value), as a keyword argument's."""
    assert installed_from_ini(tmp_path, '[canister]\nsession_timout = 60\n[app]\nsession_timeout = 60\n') == []
    app = app_with_ini(tmp_path, '[app]\ncors = *\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), cors='https://app.example.com'))
    assert [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning] == []


def test_the_commands_config_names_a_canister_key_in_another_section_in_one_line(tmp_path):
    """``python -m canister tidy-sessions --config app.ini``, which reads the file as an app does."""
    url = 'sqlite:///%s' % (tmp_path / 'sessions.db')
    bottle.Bottle().install(canister.Canister(session_store=url, log_path='stderr', log_level='ERROR'))  # (its table)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_store = %s\n[app]\nsession_max_age = 86400\n' % url)
    result = run_canister('tidy-sessions', '--config', str(tmp_path / 'app.ini'), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == 'python -m canister tidy-sessions: warning: %s\n' % elsewhere(
        'app.session_max_age', 'session_max_age under [app] in an ini file', 'session_max_age', '0')


def test_the_commands_config_with_its_store_in_another_section_says_where_it_is(tmp_path):
    (tmp_path / 'app.ini').write_text('[app]\nsession_store = sqlite:///%s\n' % (tmp_path / 'sessions.db'))
    result = run_canister('tidy-sessions', '--config', str(tmp_path / 'app.ini'), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: --config %s sets no session_store in its [canister] '
                             'section (it has session_store under [app], which canister does not read: move it there): '
                             'name the store there, or give --store URL or --store-env NAME\n' % (tmp_path / 'app.ini'))


def test_a_canister_key_set_in_python_at_the_top_of_the_config_is_named(tmp_path):
    app = bottle.Bottle()
    app.config.update({'canister.log_level': 'INFO', 'session_store': 'sqlite:///sessions.db'})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    assert [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning] == [
        elsewhere('session_store', 'at its top: [bottle] in an ini file', 'session_store', 'memory')]


def test_the_readme_quotes_the_warning_of_a_key_in_another_section_as_the_install_says_it():
    text = ' '.join(readme_section('## Configuration').split())
    assert 'For instance `%s`' % elsewhere('app.session_store', 'session_store under [app] in an ini file',
                                           'session_store', 'memory') in text
    assert 'whether or not `[canister]` holds other keys' in text
