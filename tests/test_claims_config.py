"""README's Configuration table, key by key: the default each key has, and a bad value of each refused at
install with a ConfigError naming the key (never later, at request time, and never another exception)."""
from __future__ import annotations

import pathlib
import warnings
from datetime import timedelta

import bottle
import pytest

import canister
from helpers import banner_value, basic, bearer, client, default_shown, read_log, signed_token

#: For every key of ``canister.KEYS``, values that cannot work: the wrong type, out of range, empty,
#: negative, with a unit, only whitespace, text that cannot go where the value goes.
BAD_VALUES = {
    'log_path': ['', '   ', 'a\x00b', '~/logs', None],
    'log_level': ['LOUD', '', '10', None],
    'log_days': ['-1', '30d', '1.5', '   ', 'nan', True],
    'log_format': ['xml', '', None],
    'log_slow': ['-1', '1s', 'inf', '', True],
    'trusted_proxies': ['not-an-ip', '10.0.0.0/33', None, True],
    'max_body_size': ['-1', '10MB', '1.5', '', '1e309'],
    'max_header_size': ['255', '8k', '', '0'],
    'max_form_parts': ['-1', 'many', '1.5', ''],
    'error_format': ['xml', 'text', '', None, True],
    'debug': ['maybe', '', None],
    'session_store': ['mysql://db/x', 'sqlite:///~/s.db', 'sqlite:///a%00b', '', 'redis://h:99999/0', None],
    'session_redis_prefix': [['a'], True, b'\xff'],
    'session_redis_wait': ['-1', '1.5', 'one', ''],
    'session_redis_timeout': ['0', '-1', '250ms', 'one', '', '61', True],
    'session_redis_keepalive': ['-1', '7201', '1.5', '30s', '', True],
    'session_cookie': ['', 'a b', 'a;b', True],
    'session_timeout': ['1h', '', 'nan', 10 ** 16],
    'session_max_age': ['-1', '1d', ''],
    'session_max': ['0', '-5', '1e5', ''],
    'session_max_per_user': ['-1', 'many', ''],
    'session_new_max': ['-1', 'lots', ''],
    'session_samesite': ['lax-ish', '', None],
    'session_secure': ['maybe', ''],
    'session_partitioned': ['maybe', ''],
    'session_cookie_max_age': ['-1', '30 days', ''],
    'auth_realm': ['a\nb', 'a\x00b', 'caf\xe9', ['x']],
    'auth_basic_username': [['alice'], True, b'\xff', 'al:ice'],
    'auth_basic_password': [['pw'], True, b'\xff'],
    'auth_basic_encryption': ['md5', '', None],
    'auth_basic_users_file': ['/no/such/users.txt', '~/users', 'a\x00b'],
    'auth_max_failures': ['0', '-1', 'ten', ''],
    'auth_jwt_client_id': [['app'], True],
    'auth_jwt_secret': [['s'], True],
    'auth_jwt_encoding': ['hex', '', None],
    'auth_jwt_algorithms': ['HS257', 'none', 'hs256', None, True],
    'auth_jwt_public_key': ['/no/such/key.pem', '~/key.pem', 'a\x00b'],
    'auth_jwt_jwks_url': ['ftp://idp.example/jwks', 'https://user:pw@idp.example/jwks', 'not a url'],
    'auth_jwt_jwks_refetch': ['0', '10s', ''],
    'auth_jwt_jwks_timeout': ['0', '61', '5s', ''],
    'auth_jwt_issuer': [['x'], True],
    'auth_jwt_leeway': ['-1', '10s', ''],
    'auth_jwt_require_exp': ['maybe', ''],
    'cors': ['true', 'example.com', '*, https://a.example', 'https://a.example:0443', None],
    'cors_credentials': ['maybe', ''],
    'cors_methods': ['GE(T', 'GET/POST', None, True],
    'cors_headers': ['X-A:b', None, True],
    'cors_expose_headers': ['a/b', None, True],
    'cors_max_age': ['-1', '10m', ''],
    'cors_paths': ['api', '/api/*', '/caf%C3%A9', None, True],
    'csrf': ['maybe', ''],
    'csrf_trusted_origins': ['*', 'null', 'true', 'example.com', 'https://*.com', 'https://a.example:0443', None, True],
    'x_content_type_options': ['sniff', None],
    'x_frame_options': ['ALLOW-FROM https://a.example', None],
    'referrer_policy': ['never', 'origin, never'],
    'hsts_max_age': ['-1', '1y', ''],
    'hsts_include_subdomains': ['maybe', ''],
    'content_security_policy': ["default-src 'self'\nscript-src x", 'caf\xe9', ['x']],
}


def test_every_config_key_has_bad_values_tried_here():
    assert set(BAD_VALUES) == set(canister.KEYS)


@pytest.mark.parametrize('key, value', [(key, value) for key, values in BAD_VALUES.items() for value in values])
def test_a_bad_value_of_every_key_is_refused_at_install_naming_the_key(tmp_path, key, value):
    config = {key: value} if key == 'log_path' else {key: value, 'log_path': str(tmp_path / 'logs')}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        with pytest.raises(canister.ConfigError) as caught:
            bottle.Bottle().install(canister.Canister(**config))
    assert str(caught.value).startswith('canister.%s' % key)


@pytest.mark.parametrize('key, value', [(key, value) for key, values in BAD_VALUES.items() for value in values
                                        if isinstance(value, str) and value.strip() and '\n' not in value])
def test_a_bad_value_of_every_key_in_the_apps_config_is_refused_at_install_too(tmp_path, key, value):
    app = bottle.Bottle()
    app.config['canister.' + key] = value
    if key != 'log_path':
        app.config['canister.log_path'] = str(tmp_path / 'logs')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        with pytest.raises(canister.ConfigError) as caught:
            app.install(canister.Canister())
    assert str(caught.value).startswith('canister.%s' % key)


def test_a_log_path_that_cannot_be_written_is_a_config_error_naming_the_key(tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('not a directory\n')
    with pytest.raises(canister.ConfigError) as caught:
        bottle.Bottle().install(canister.Canister(log_path=str(blocker / 'logs')))
    assert 'canister.log_path' in str(caught.value) and str(blocker / 'logs') in str(caught.value)


def test_a_realm_on_two_lines_is_refused_at_install_not_answered_with_a_500(tmp_path):
    """A continuation line of an ini file gives a value a newline; as a header it failed every 401."""
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nauth_realm = Our\n  shop\nauth_basic_username = alice\n'
                   'auth_basic_password = %s\n' % canister.hash_password('secret', iterations=1000))
    app = bottle.Bottle()
    app.config.load_config(str(ini))
    assert app.config['canister.auth_realm'] == 'Our\nshop'
    with pytest.raises(canister.ConfigError, match=r"^canister\.auth_realm = 'Our\\nshop' is not valid: "
                                                   'expected printable ASCII on one line'):
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))


@pytest.mark.parametrize('realm, quoted', [('Our "shop"', '"Our shop"'),         # (its quotes left out)
                                           ('Back\\office', '"Back\\\\office"')])  # (a backslash escaped)
def test_the_realm_is_one_quoted_string_in_the_challenge(make_app, realm, quoted):
    app = make_app(auth_realm=realm, auth_basic_username='alice',
                   auth_basic_password=canister.hash_password('secret', iterations=1000))
    app.get('/', callback=lambda: 'ok')
    answer = client(app).get('/', headers={'Authorization': basic('alice', 'wrong')}, status=401)
    assert answer.headers['WWW-Authenticate'] == 'Basic realm=%s, charset="UTF-8"' % quoted


def test_an_algorithm_name_is_checked_even_with_no_jwt_key_configured(tmp_path):
    with pytest.raises(canister.ConfigError, match=r"^canister\.auth_jwt_algorithms = 'HS257' is not valid: "
                                                   r"'HS257' is not allowed \(choose from HS256, "):
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), auth_jwt_algorithms='HS257'))


def test_none_for_a_list_key_is_refused_rather_than_read_as_an_item_named_none(tmp_path):
    with pytest.raises(canister.ConfigError, match=r"^canister\.cors_expose_headers = None is not valid: "
                                                   'expected a list, or text of items separated by commas or spaces'):
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), cors='*', cors_expose_headers=None))


def test_a_list_key_takes_a_python_list_as_its_items(make_app):
    app = make_app(cors='*', cors_expose_headers=['X-Request-ID', 'X-Total'])
    app.get('/', callback=lambda: 'ok')
    answer = client(app).get('/', headers={'Origin': 'https://a.example'})
    assert answer.headers['Access-Control-Expose-Headers'] == 'X-Request-ID, X-Total'


#: The keys in seconds (or, ``log_days``, in days), which take a ``timedelta``.
DURATIONS = ('session_timeout', 'session_max_age', 'session_cookie_max_age', 'session_redis_timeout',
             'session_redis_keepalive', 'log_slow', 'auth_jwt_leeway', 'auth_jwt_jwks_refetch', 'auth_jwt_jwks_timeout',
             'cors_max_age', 'hsts_max_age', 'log_days')


@pytest.mark.parametrize('key', [key for key in canister.KEYS if key not in DURATIONS])
def test_every_key_not_in_seconds_refuses_a_timedelta_saying_so(tmp_path, key):
    config = {key: timedelta(seconds=10)} if key == 'log_path' else {key: timedelta(seconds=10), 'log_path': str(tmp_path)}
    with pytest.raises(canister.ConfigError) as caught:
        bottle.Bottle().install(canister.Canister(**config))
    assert str(caught.value).startswith('canister.%s = ' % key) and 'timedelta' in str(caught.value)


@pytest.mark.parametrize('key', DURATIONS)
def test_every_key_in_seconds_or_days_takes_a_timedelta(tmp_path, key):
    plugin = canister.Canister(log_path=str(tmp_path), **{key: timedelta(days=1) if key == 'log_days' else timedelta(seconds=30)})
    bottle.Bottle().install(plugin)
    assert plugin.config[key] == (1 if key == 'log_days' else 30)


#: Stored passwords with a part missing or malformed, which no password could ever match.
BROKEN_HASHES = [
    'pbkdf2_sha256:many:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',      # rounds not a number
    'pbkdf2_sha256:600000:c2FsdHNhbHQ',                     # no digest
    'pbkdf2_sha256:0:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',         # no rounds
    'scrypt:1:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',            # n must be a power of 2 above 1
    'scrypt:16384:8:1:c2FsdHNhbHQ:Z',                       # a digest of no byte
    'pbkdf2_sha256:2147483648:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',  # more rounds than hashlib takes (a 500 at each login)
    'scrypt:1048576:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',       # more memory than hashlib lets scrypt have
    'scrypt:16384:8:100000000:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',  # a p needing more memory than that
    'scrypt:65536:1:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',         # n not below 2 ** (16 r), as OpenSSL requires
    '$2b$12$tooshort',
    '$2b$31$' + 'a' * 21 + 'A' + 'b' * 31,                     # a salt bcrypt refuses (its 22nd character)
    '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ',           # no digest
]


@pytest.mark.parametrize('stored', BROKEN_HASHES)
@pytest.mark.parametrize('encryption', ['auto', 'named'])
def test_a_password_hash_with_a_part_missing_or_malformed_is_refused_at_install(tmp_path, stored, encryption):
    scheme = {'pbkdf2_': 'pbkdf2', 'scrypt:': 'scrypt', '$2b$': 'bcrypt', '$argon': 'argon2'}[
        next(prefix for prefix in ('pbkdf2_', 'scrypt:', '$2b$', '$argon') if stored.startswith(prefix))]
    with pytest.raises(canister.ConfigError, match=r'^canister\.auth_basic_password is not a whole %s hash' % scheme):
        bottle.Bottle().install(canister.Canister(
            log_path=str(tmp_path), auth_basic_username='alice', auth_basic_password=stored,
            auth_basic_encryption='auto' if encryption == 'auto' else scheme))


@pytest.mark.parametrize('stored', ['pbkdf2_sha256:2147483647:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',
                                    'scrypt:524288:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'])  # (half a GiB)
def test_a_password_hash_with_the_most_costs_hashlib_takes_installs(tmp_path, stored):
    bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), auth_basic_username='alice',
                                              auth_basic_password=stored))


#: Costs hashlib refuses, given to hash_password: (scheme, iterations, the limit its ValueError names, a stored form).
REFUSED_COSTS = [
    ('pbkdf2', 2 ** 31, 'rounds must be from 1 to 2147483647', 'pbkdf2_sha256:2147483648:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
    ('pbkdf2', 0, 'rounds must be from 1 to 2147483647', 'pbkdf2_sha256:0:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
    ('pbkdf2', -5, 'rounds must be from 1 to 2147483647', 'pbkdf2_sha256:-5:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
    ('scrypt', 2 ** 20, 'more memory than hashlib allows (maxmem 2147483647 bytes at most, so n up to 524288)',
     'scrypt:1048576:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
    ('scrypt', 0, 'n must be a power of 2 of at least 2', 'scrypt:0:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
    ('scrypt', 3, 'n must be a power of 2 of at least 2', 'scrypt:3:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'),
]


@pytest.mark.parametrize('scheme, iterations, limit, stored', REFUSED_COSTS,
                         ids=['%s-%d' % (scheme, iterations) for scheme, iterations, _, _ in REFUSED_COSTS])
def test_hash_password_refuses_a_cost_hashlib_cannot_take_with_a_value_error_naming_the_limit(
        tmp_path, scheme, iterations, limit, stored):
    with pytest.raises(ValueError) as refused:
        canister.hash_password('secret', scheme, iterations=iterations)
    assert str(refused.value).startswith('hash_password: iterations=%d is refused for %s: ' % (iterations, scheme))
    assert limit in str(refused.value)
    with pytest.raises(canister.ConfigError, match='is not a whole %s hash' % scheme) as refused:  # as install refuses it
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), auth_basic_username='alice',
                                                  auth_basic_password=stored))
    said = str(refused.value)  # (a stored form with a minus sign is no cost at all: malformed)
    assert ('its costs are more than hashlib can run: ' in said and limit in said) if iterations >= 0 else 'malformed' in said


@pytest.mark.parametrize('scheme, iterations', [('pbkdf2', 1000), ('scrypt', 16)])
def test_a_hash_from_hash_password_installs_and_logs_in(make_app, scheme, iterations):
    app = make_app(auth_basic_username='alice',
                   auth_basic_password=canister.hash_password('secret', scheme, iterations=iterations))
    app.get('/', callback=lambda: 'user=%s' % canister.session.user)
    assert client(app).get('/', headers={'Authorization': basic('alice', 'secret')}).text == 'user=alice'


def test_a_users_file_line_whose_hash_is_broken_is_ignored_saying_so(make_app, tmp_path, log_dir):
    users = tmp_path / 'users.txt'
    users.write_text('bob:%s\nalice:%s\n' % (BROKEN_HASHES[0], canister.hash_password('secret', iterations=1000)))
    app = make_app(auth_basic_users_file=str(users))
    app.get('/', callback=lambda: 'user=%s' % canister.session.user)
    assert client(app).get('/', headers={'Authorization': basic('alice', 'secret')}).text == 'user=alice'
    assert ('Users file %s line 1 ignored: its hash is not a whole pbkdf2 hash: a part of it is missing or malformed'
            % users) in read_log(log_dir)


def test_a_jwt_secret_given_as_bytes_that_are_not_text_is_the_key_as_it_is(make_app):
    key = b'\xff\xfe' + bytes(range(30))  # (secrets.token_bytes(32) would do: these are never UTF-8)
    app = make_app(auth_jwt_secret=key)
    app.get('/', callback=lambda: 'sub=%s' % canister.session.user['sub'])
    assert client(app).get('/', headers=bearer(signed_token(key))).text == 'sub=alice'
    client(app).get('/', headers=bearer(signed_token(key[:-1] + b'!')), status=401)


# -- the defaults of the table -------------------------------------------------------------

def test_a_bare_install_takes_the_tables_default_of_every_key(log_dir, uninstall_at_end):
    """The install banner shows every setting: each that was not given is the table's default."""
    uninstall_at_end(bottle.Bottle()).install(canister.Canister(log_path=str(log_dir)))  # (not make_app: log_slow 0)
    log = read_log(log_dir)
    shown = {key: banner_value(log, key) for key in canister.KEYS if key != 'log_path'}
    assert shown == {key: default_shown(spec.default).replace('(empty)', '')
                     for key, spec in canister.KEYS.items() if key != 'log_path'}


def test_a_bare_install_writes_its_log_to_the_tables_log_path(tmp_path, monkeypatch, uninstall_at_end):
    monkeypatch.chdir(tmp_path)
    app = uninstall_at_end(bottle.Bottle())
    app.install(canister.Canister())
    app.get('/', callback=lambda: 'ok')
    client(app).get('/')
    assert canister.KEYS['log_path'].default == './logs/'
    assert 'GET http://localhost:80/' in read_log(tmp_path / 'logs')


def test_a_bare_install_answers_with_the_tables_header_defaults(make_app):
    app = make_app()

    @app.get('/')
    def index():
        canister.session.data['seen'] = True
        return 'ok'

    answer = client(app).get('/')
    cookie = answer.headers['Set-Cookie']
    assert cookie.startswith('session_id=') and 'SameSite=Lax' in cookie and 'HttpOnly' in cookie
    assert 'Secure' not in cookie and 'Max-Age' not in cookie and 'Partitioned' not in cookie
    assert answer.headers['X-Content-Type-Options'] == 'nosniff'
    assert answer.headers['X-Frame-Options'] == 'DENY'
    assert answer.headers['Referrer-Policy'] == 'strict-origin-when-cross-origin'
    assert 'Content-Security-Policy' not in answer.headers and 'Access-Control-Allow-Origin' not in answer.headers
    assert 'Strict-Transport-Security' not in client(app).get('/', extra_environ={'wsgi.url_scheme': 'https'}).headers


def test_a_bare_install_takes_a_body_of_max_body_size_and_refuses_one_byte_more(make_app):
    app = make_app()
    app.post('/', callback=lambda: 'ok')
    web = client(app)
    limit = canister.KEYS['max_body_size'].default
    assert limit == 10485760
    assert web.post('/', b'x' * limit, content_type='application/octet-stream').text == 'ok'
    web.post('/', b'x' * (limit + 1), content_type='application/octet-stream', status=413)


def test_a_bare_install_takes_a_cookie_header_of_max_header_size_and_refuses_one_byte_more(make_app):
    app = make_app()
    app.get('/', callback=lambda: 'ok')
    web = client(app)
    limit = canister.KEYS['max_header_size'].default
    assert limit == 8192
    assert web.get('/', headers={'Cookie': 'a=' + 'x' * (limit - 2)}).text == 'ok'
    web.get('/', headers={'Cookie': 'a=' + 'x' * (limit - 1)}, status=431)


def test_a_cors_origin_written_with_a_trailing_slash_as_an_address_bar_shows_it_allows_that_origin(make_app):
    readme = (pathlib.Path(__file__).parent.parent / 'README.md').read_text(encoding='utf-8')
    assert 'a trailing `/`, as an address bar shows an origin, is dropped: `https://app.example.com/` allows ' \
           '`https://app.example.com`' in readme
    app = make_app(cors='https://app.example.com/')
    app.route('/', callback=lambda: 'page')
    answer = client(app).get('/', headers={'Origin': 'https://app.example.com'})
    assert answer.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': 'https://evil.example'}).headers
