"""Upgrading from canister 1.5.2: every line of the README's Upgrading section, run with a 1.x config.

Where a key restores the 1.x behaviour, the test sets that key and observes the 1.x behaviour;
where none does, it runs the 1.x docs' own config and observes what 2.0 does instead.
"""
from __future__ import annotations

import base64
import http.cookiejar
import logging
import re
import threading
import time
import urllib.request
import warnings

import bottle
import pytest

import canister
from canister import session
from helpers import (ROOT, LogCollector, SQLiteInjector, app_with_ini, banner_setting, bearer, client, described,
                     in_background, read_log, readme_section, signed_token)
from session_kit import plugin_of

import test_claims_upgrading as claims

#: The example config of the canister 1.x docs, as written there except for the JWT secret: the docs paired
#: base64url with `my-secret`, which is not base64 (1.x failed at install with binascii.Error).
CONFIG_1X = '''[canister]
# ...due to limitations of bottle's plugin mechanism,
debug=False
# Logs
log_path = ./logs/
log_level = INFO
log_days = 30
# how long the session data will still be available after the last access, in seconds
session_timout = 3600
# applies CORS to responses, write * to allow AJAX requests from anywhere
#CORS = *
# Basic auth
auth_basic_username = alice
auth_basic_encryption = clear
auth_basic_password = my-secret
# Auth using JWT (for OAuth2)
auth_jwt_client_id = ABC
# accepted encodings are "clear", "base64std" or "base64url"
auth_jwt_encoding = base64url
auth_jwt_secret = bXktc2VjcmV0
'''
ALICE = {'Authorization': 'Basic ' + base64.b64encode(b'alice:my-secret').decode()}
JWT_KEY = b'my-secret'


@pytest.fixture
def app_1x(tmp_path, monkeypatch, uninstall_at_end):
    """``app_1x(extra_lines)``: an app configured by the 1.x docs' ini file (plus lines), in a fresh directory."""
    monkeypatch.chdir(tmp_path)

    def build(extra: str = '', text: str = CONFIG_1X) -> bottle.Bottle:
        app = app_with_ini(tmp_path, text + extra)
        app.install(canister.Canister())
        return uninstall_at_end(app)

    return build


def user_app_1x(app_1x, extra: str = '', **kwargs) -> bottle.Bottle:
    """``app_1x(extra)`` with / answering the session's user."""
    app = app_1x(extra, **kwargs)
    app.route('/', callback=lambda: str(session.user))
    return app


def test_the_1x_docs_config_installs_unchanged_and_its_keys_work(app_1x, tmp_path):
    app = app_1x()
    app.route('/me', callback=lambda: str(session.user))
    assert client(app).get('/me', headers=ALICE).text == 'alice'
    assert (tmp_path / 'logs').is_dir()
    token = signed_token(JWT_KEY, sub='bob', aud='ABC')
    assert 'bob' in client(app).get('/me', headers=bearer(token)).text


def test_the_1x_docs_secret_that_is_not_base64_is_refused_naming_the_key(app_1x):
    # The message says which key makes it base64url and how to keep a text secret, as the 1.x docs' one is.
    with pytest.raises(canister.ConfigError, match=r'^canister.auth_jwt_secret is not valid base64url, as '
                       r'auth_jwt_encoding = base64url says it is: write it in base64url, or set '
                       r'auth_jwt_encoding = clear for a secret written as it is$'):
        app_1x(text=CONFIG_1X.replace('bXktc2VjcmV0', 'my-secret'))


def test_the_1x_docs_secret_written_clear_is_reported_as_too_short_and_works(app_1x, recwarn):
    """The second way out the message names: ``auth_jwt_encoding = clear`` keeps ``my-secret`` as it is."""
    app = app_1x(text=CONFIG_1X.replace('base64url', 'clear').replace('bXktc2VjcmV0', 'my-secret'))
    said = [str(warning.message) for warning in recwarn if warning.category is canister.CanisterWarning]
    assert [line for line in said if line.startswith('canister.auth_jwt_secret is 9 bytes')] == said and said
    app.route('/me', callback=lambda: str(session.user))
    token = signed_token(JWT_KEY, sub='bob', aud='ABC')
    assert "'sub': 'bob'" in client(app).get('/me', headers=bearer(token)).text


# -- logging --------------------------------------------------------------------------------

def test_without_log_path_the_log_goes_to_logs_and_log_path_stderr_restores_1x(app_1x, tmp_path, capfd):
    without = CONFIG_1X.replace('log_path = ./logs/\n', '')
    app_1x(text=without).route('/', callback=lambda: 'ok')
    assert list((tmp_path / 'logs').glob('log.*'))
    app = app_1x('log_path = stderr\n', text=without.replace('[canister]', '[canister]\n'))
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    assert 'GET http://localhost:80/' in capfd.readouterr().err


def test_the_log_file_is_named_by_its_date_from_the_start_and_a_1x_log_file_found_there_is_warned_of(app_1x,
                                                                                                        tmp_path, clock):
    app = app_1x()
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    today = 'log.' + time.strftime('%Y-%m-%d', time.localtime(clock.now))  # (canister's clock, stopped: at midnight too)
    assert [path.name for path in (tmp_path / 'logs').iterdir()] == [today]
    assert 'canister 1.x wrote' not in read_log(tmp_path / 'logs')
    old = tmp_path / 'logs' / 'log'  # (1.x's file of the day, which a shipper or `tail -f logs/log` reads)
    old.write_text('2016-05-04 12:00:00,000 INFO     [MainThread]   Initializing\n')
    app_1x()
    lines = [line for line in read_log(tmp_path / 'logs').splitlines() if 'canister 1.x wrote' in line]
    assert len(lines) == 1 and ' WARNING ' in lines[0]
    assert lines[0].endswith('The file %s, which canister 1.x wrote its lines to, gets no more: each day\'s lines go '
                             'to a file named by its date, log.YYYY-MM-DD (today %s); point a log shipper or tail -f '
                             'at those (move the old file away to quiet this line)' % (old, today)), lines[0]
    assert old.read_text() == '2016-05-04 12:00:00,000 INFO     [MainThread]   Initializing\n'  # (left as it was)


def test_no_session_id_is_logged_and_no_session_line_is_written(app_1x, tmp_path):
    app = app_1x()

    @app.get('/')
    def index():
        session.data['counter'] = 0
        return session.sid

    sid = client(app).get('/').text
    log = read_log(tmp_path / 'logs')
    assert sid not in log and 'Session created' not in log and 'Session found' not in log
    assert 'Response: 200' in log


def test_a_slow_response_line_has_no_exclamation_marks_and_log_slow_sets_the_threshold(app_1x, tmp_path):
    app = app_1x('log_slow = 0.05\n')
    app.route('/', callback=lambda: time.sleep(0.1) or 'ok')
    client(app).get('/')
    log = read_log(tmp_path / 'logs')
    assert 'WARNING  [127.0.0.1-...]   Response: 200 (' in log and '!!!' not in log


def test_the_banner_lists_only_canisters_keys_with_secrets_masked(app_1x, tmp_path):
    (tmp_path / 'extra.ini').write_text('[db]\npassword = hunter2\n')
    app_1x()
    log = read_log(tmp_path / 'logs')
    assert banner_setting('auth_basic_password', '***') in log
    assert 'my-secret' not in log and 'hunter2' not in log and 'db.' not in log
    assert banner_setting('session_max_age', 0) + '\n' in log  # (a default, which the 1.x docs' config does not set)
    assert 'Session timeout is' not in log and 'authentication enabled' not in log


def test_the_logger_does_not_propagate_and_a_handler_on_app_log_sends_its_lines_elsewhere(app_1x, tmp_path):
    app_1x()
    assert 'The root logger has handlers' not in read_log(tmp_path / 'logs')  # (pytest's own are not counted)
    configured = logging.StreamHandler()  # (what logging.basicConfig() puts on the root logger)
    logging.getLogger().addHandler(configured)
    try:
        app = app_1x()
    finally:
        logging.getLogger().removeHandler(configured)
    [line] = [line for line in read_log(tmp_path / 'logs').splitlines() if 'The root logger has handlers' in line]
    assert line.endswith(" INFO     [MainThread]   The root logger has handlers (StreamHandler), which get none of "
                         "canister's lines: its logger %s does not propagate to the root logger; to send them there "
                         "too, add those handlers to app.log (for handler in logging.getLogger().handlers: "
                         "app.log.addHandler(handler))" % app.log.name), line
    root, catch = logging.getLogger(), LogCollector()
    seen = catch.messages
    root.addHandler(catch)
    try:
        app.log.warning('first')
    finally:
        root.removeHandler(catch)
    assert seen == [] and app.log.propagate is False
    app.log.addHandler(catch)
    try:
        app.log.warning('second')
    finally:
        app.log.removeHandler(catch)
    assert seen == ['second']


def test_the_plugins_log_takes_the_calls_of_a_logger_as_1x_plugin_log_did(tmp_path, monkeypatch, uninstall_at_end):
    monkeypatch.chdir(tmp_path)
    app = app_with_ini(tmp_path, CONFIG_1X)
    plugin = canister.Canister()
    app.install(plugin)
    uninstall_at_end(app)

    @app.get('/')
    def index():
        plugin.log.info('Hey from %s!', 'the plugin')
        plugin.log.warning('careful')
        try:
            int('not a number')
        except ValueError:
            plugin.log.exception('caught')
        return 'Ho!'

    assert client(app).get('/').text == 'Ho!'
    log = read_log(tmp_path / 'logs')
    assert ' INFO     [127.0.0.1-...]   Hey from the plugin!\n' in log
    assert ' WARNING  [127.0.0.1-...]   careful\n' in log
    assert ' ERROR    [127.0.0.1-...]   caught\n' in log and "ValueError: invalid literal" in log


def test_the_plugins_log_set_level_debug_turns_on_canisters_own_debug_lines_as_in_1x(make_app, log_dir):
    app = make_app(cors='*')
    app.route('/', callback=lambda: 'ok')
    preflight = {'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'GET'}
    client(app).options('/', headers=preflight, status=204)
    assert 'OPTIONS http://localhost:80/' not in read_log(log_dir)  # (a preflight's lines are DEBUG)
    plugin_of(app).log.setLevel(logging.DEBUG)
    client(app).options('/', headers=preflight, status=204)
    assert re.search(r' DEBUG +\[127\.0\.0\.1-\.\.\.\]   OPTIONS http://localhost:80/\n', read_log(log_dir))


def test_app_log_set_level_warning_quiets_canisters_own_info_lines(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    app.log.setLevel('WARNING')
    client(app).get('/?quiet')
    app.log.setLevel(logging.INFO)
    client(app).get('/?loud')
    log = read_log(log_dir)
    assert 'GET http://localhost:80/?quiet' not in log and 'GET http://localhost:80/?loud' in log


def test_set_level_under_log_level_disabled_warns_once_that_log_level_is_the_key(tmp_path, uninstall_at_end):
    app = bottle.Bottle()
    plugin = canister.Canister(log_level='DISABLED', log_path=str(tmp_path / 'logs'))
    app.install(plugin)
    uninstall_at_end(app)
    with pytest.warns(canister.CanisterWarning) as told:
        plugin.log.setLevel(logging.DEBUG)
    assert [str(warning.message) for warning in told] == [
        "app.log.setLevel(DEBUG) turns on no line of canister's: canister.log_level = DISABLED at install opened no "
        "log; set log_level in the config instead"]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        plugin.log.setLevel(logging.INFO)
    assert not (tmp_path / 'logs').exists()


def test_the_thread_name_is_given_back_after_the_request(app_1x):
    import threading
    app = app_1x()
    app.route('/', callback=lambda: threading.current_thread().name)
    before = threading.current_thread().name
    assert client(app).get('/').text == '127.0.0.1-...'
    assert threading.current_thread().name == before


# -- sessions ---------------------------------------------------------------------------------

def test_session_timout_takes_effect(app_1x, tmp_path):
    app_1x(text=CONFIG_1X.replace('session_timout = 3600', 'session_timout = 60'))
    assert banner_setting('session_timeout', 60) + '\n' in read_log(tmp_path / 'logs')


def test_a_request_that_does_not_use_the_session_gets_no_cookie_and_the_readmes_way_keeps_a_login(app_1x, serve):
    """A Basic login sent once, then the cookie alone, as ``curl -c``/``-b`` or a ``requests.Session`` do (here
    urllib with a cookie jar, against a real server): kept after a login route that reads ``session.sid`` or
    writes ``session.data``, as the README says to, and not after one that only reads ``session.user``."""
    app = app_1x()
    app.route('/', callback=lambda: 'ok')
    assert 'Set-Cookie' not in client(app).get('/').headers
    bullet = [line for line in readme_section('## Upgrading from canister 1.x').splitlines()
              if line.startswith('- A request that does not use the session')][0]
    assert "Reading `session.user` does not count: it creates no session" in bullet
    assert "read `session.sid`, or write to `session.data` (`session.data['logged_in'] = True`)" in bullet

    def writes():
        session.data['logged_in'] = True
        return 'hello %s' % session.user

    app.route('/login-reads-user', callback=lambda: 'hello %s' % session.user)
    app.route('/login-reads-sid', callback=lambda: 'hello %s' % (session.sid and session.user))
    app.route('/login-writes-data', callback=writes)
    app.route('/me', callback=lambda: 'me=%s' % session.user)
    origin = serve(app)
    seen = {}
    for login in ('/login-reads-user', '/login-reads-sid', '/login-writes-data'):
        jar = http.cookiejar.CookieJar()
        browse = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)).open
        with browse(urllib.request.Request(origin + login, headers=ALICE), timeout=30) as answer:
            assert answer.read() == b'hello alice'
        with browse(origin + '/me', timeout=30) as answer:
            seen[login] = (len(jar), answer.read())
    assert seen == {'/login-reads-user': (0, b'me=None'), '/login-reads-sid': (1, b'me=alice'),
                    '/login-writes-data': (1, b'me=alice')}


def test_the_cookie_is_a_random_http_only_lax_id_and_a_1x_cookie_is_not_adopted(app_1x):
    app = app_1x()

    @app.get('/')
    def index():
        session.data['n'] = session.data.get('n', 0) + 1
        return session.sid

    old = '"!aGVsbG8=?gAWVEQAAAAAAAACMCnNlc3Npb25faWSUjAE=="'
    answer = client(app).get('/', headers={'Cookie': 'session_id=' + old})
    cookie = answer.headers['Set-Cookie']
    assert cookie.startswith('session_id=%s;' % answer.text)
    assert 'HttpOnly' in cookie and 'SameSite=Lax' in cookie and 'Path=/;' in cookie
    assert len(answer.text) == 43


def test_session_samesite_sets_the_cookies_samesite(app_1x):
    app = app_1x('session_samesite = Strict\n')
    app.route('/', callback=lambda: session.sid)
    assert 'SameSite=Strict' in client(app).get('/').headers['Set-Cookie']


def test_a_login_gives_the_session_a_new_id_and_keeps_its_data(app_1x):
    app = app_1x()

    @app.get('/')
    def index():
        session.data['n'] = session.data.get('n', 0) + 1
        return '%s %s' % (session.sid, session.data['n'])

    @app.get('/as/<name>')
    def log_in_as(name):
        session.user = None if name == 'None' else name
        return 'ok'

    web = client(app)
    sid, _ = web.get('/').text.split()
    new_sid, count = web.get('/', headers=ALICE).text.split()
    assert new_sid != sid and count == '2'
    web.get('/as/bob')  # from alice to bob: nothing of alice's
    third_sid, count = web.get('/').text.split()
    assert third_sid != new_sid and count == '1'
    web.get('/as/None')  # a logout: a new id, and nothing of bob's (1.x: the same id, bob's data)
    fourth_sid, count = web.get('/').text.split()
    assert fourth_sid != third_sid and count == '1'


def test_a_response_built_from_a_session_is_private(app_1x):
    app = app_1x()

    @app.get('/')
    def index():
        return str(session.data.get('n', 0))

    @app.get('/cached')
    def cached():
        bottle.response.set_header('Cache-Control', 'max-age=60')
        return str(session.data.get('n', 0))

    answer = client(app).get('/')
    assert answer.headers['Vary'] == 'Cookie' and answer.headers['Cache-Control'] == 'private'
    assert client(app).get('/cached').headers['Cache-Control'] == 'max-age=60'


def test_concurrent_requests_keep_each_change_and_a_logout_sticks(app_1x):
    app = app_1x()
    loaded, release = threading.Event(), threading.Event()

    @app.get('/set/<key>')
    def set_key(key):
        session.data[key] = 1
        if key == 'slow':
            loaded.set()
            release.wait(30)
        return 'ok'

    @app.get('/logout')
    def logout():
        session.invalidate()
        return 'bye'

    @app.get('/keys')
    def keys():
        return ' '.join(sorted(session.data))

    web = client(app)
    web.get('/set/first')
    cookie = {'Cookie': 'session_id=' + web.cookies['session_id']}

    def held(path):
        answer = in_background(lambda: client(app).get(path, headers=cookie))
        assert loaded.wait(30)
        return answer

    slow = held('/set/slow')
    client(app).get('/set/fast', headers=cookie)
    release.set()
    assert slow().text == 'ok'
    assert client(app).get('/keys', headers=cookie).text == 'fast first slow'

    loaded.clear()
    release.clear()
    slow = held('/set/slow')
    client(app).get('/logout', headers=cookie)
    release.set()
    assert slow().text == 'ok'
    assert client(app).get('/keys', headers=cookie).text == ''


def test_session_data_must_be_json(app_1x):
    app = app_1x()

    @app.get('/')
    def index():
        session.data['when'] = object()
        return 'ok'

    answer = client(app).get('/', status=500)
    assert 'session values must be JSON-serializable' in answer.text
    assert "session.data['when']" in answer.text                      # naming its key

    @app.get('/pair')
    def pair():
        session.data['pair'] = (1, 2)
        session.data['nested'] = {'inner': (3, (4,))}
        return 'ok'

    app.route('/data', callback=lambda: repr(session.data))
    web = client(app)
    web.get('/pair')
    assert web.get('/data').text == "{'pair': [1, 2], 'nested': {'inner': [3, [4]]}}"   # tuples come back as lists


def test_the_memory_store_is_bounded_and_session_max_raises_the_bound(app_1x):
    with pytest.warns(canister.CanisterWarning, match='session_max_per_user = 1000 is not below session_max = 2,'):
        app = app_1x('session_max = 2\n')  # (2.0's cap per user, above so small a bound, caps nothing)
    app.route('/', callback=lambda: session.sid)
    first, second, third = client(app), client(app), client(app)
    sid = first.get('/').text
    second.get('/')
    third.get('/')
    assert first.get('/').text != sid  # the least recently used was evicted
    app = app_1x('session_max = 1000000\n')
    app.route('/', callback=lambda: session.sid)
    web = client(app)
    sid = web.get('/').text
    for _ in range(3):
        client(app).get('/')
    assert web.get('/').text == sid


# -- parameters ---------------------------------------------------------------------------------

def test_url_arguments_beat_query_values(app_1x):
    app = app_1x()
    app.route('/items/<name>', callback=lambda name: name)
    assert client(app).get('/items/tea?name=coffee').text == 'tea'


def test_kwargs_receives_the_remaining_parameters(app_1x):
    app = app_1x()
    app.route('/', callback=lambda foo, **rest: '%s %s' % (foo, sorted(rest.items())))
    assert client(app).get('/?foo=1&bar=2').text == "1 [('bar', '2')]"


def test_a_json_body_fills_parameters_too(app_1x):
    app = app_1x('csrf = false\n')
    app.route('/', method='POST', callback=lambda foo: repr(foo))
    app.route('/bulk', method='POST', callback=lambda dry_run='': repr((dry_run, bottle.request.json)))
    web = client(app)
    assert web.post_json('/', {'foo': [1, 2]}).text == '[1, 2]'
    assert web.post('/bulk?dry_run=1', '[1, 2]', content_type='application/json').text == "('1', [1, 2])"
    assert web.post('/bulk', 'null', content_type='application/json').text == "('', None)"


def test_a_get_or_head_body_fills_no_parameter_and_the_query_is_used(app_1x):
    app = app_1x()
    app.route('/greet', method=['GET', 'HEAD'], callback=lambda name='nobody': 'hello %s' % name)
    web = client(app)
    form = {'body': b'name=poison', 'content_type': 'application/x-www-form-urlencoded'}
    assert web.request('/greet?name=bob', method='GET', **form).text == 'hello bob'
    assert web.request('/greet', method='GET', **form).text == 'hello nobody'
    assert web.request('/greet', method='GET', body=b'{"name": "poison"}',
                       content_type='application/json').text == 'hello nobody'
    assert web.request('/greet?name=bob', method='HEAD', **form).status_int == 200


def test_annotated_parameters_are_converted(app_1x):
    app = app_1x()

    @app.get('/')
    def index(n: int, plain='', name: str = None, text=None):
        return repr((n, plain, name, text))

    assert client(app).get('/?n=3&plain=4').text == "(3, '4', None, None)"
    assert client(app).get('/?n=3&name=&text=').text == "(3, '', None, '')"


def test_a_missing_mandatory_parameter_answers_400(app_1x):
    app = app_1x()
    app.route('/hi', callback=lambda foo: foo)
    answer = client(app).get('/hi', status=400)
    assert "missing parameter 'foo'" in answer.text


def test_a_parameter_another_plugin_fills_is_left_to_it_in_either_install_order(app_1x):
    canister_first = app_1x()
    canister_first.install(SQLiteInjector())
    canister_last = app_1x()
    canister_last.uninstall('canister')
    canister_last.install(SQLiteInjector())
    canister_last.install(canister.Canister())
    for app in (canister_first, canister_last):
        app.route('/items/<name>', callback=lambda db, name, page=1: repr((described(db), name, page)))
        web = client(app)
        assert web.get('/items/tea?page=2').text == "(42, 'tea', '2')"
        assert web.get('/items/tea?page=2&db=evil').text == "(42, 'tea', '2')"


# -- authentication -------------------------------------------------------------------------------

def test_a_wrong_password_or_a_malformed_header_answers_401(app_1x):
    app = user_app_1x(app_1x)
    wrong = {'Authorization': 'Basic ' + base64.b64encode(b'alice:wrong').decode()}
    challenges = client(app).get('/', headers=wrong, status=401).headers.getall('WWW-Authenticate')
    assert any(challenge.startswith('Basic ') for challenge in challenges)
    client(app).get('/', headers={'Authorization': 'Basic not base64 at all'}, status=401)


def test_sha256_passwords_work(app_1x):
    app = app_1x(text=CONFIG_1X.replace('auth_basic_encryption = clear', 'auth_basic_encryption = sha256').replace(
        'auth_basic_password = my-secret',
        'auth_basic_password = 186ef76e9d6a723ecb570d4d9c287487d001e5d35f7ed4a313350a407950318e'))
    app.route('/', callback=lambda: str(session.user))
    assert client(app).get('/', headers=ALICE).text == 'alice'


def test_failed_logins_are_throttled_and_auth_max_failures_raises_the_limit(app_1x):
    wrong = {'Authorization': 'Basic ' + base64.b64encode(b'alice:wrong').decode()}
    app = app_1x()
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    statuses = [web.get('/', headers=wrong, expect_errors=True).status_int for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    app = app_1x('auth_max_failures = 1000\n')
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert {web.get('/', headers=wrong, expect_errors=True).status_int for _ in range(11)} == {401}


def test_a_token_without_exp_is_refused_unless_auth_jwt_require_exp_is_false(app_1x):
    token = signed_token(JWT_KEY, sub='bob', aud='ABC', exp=None)
    app = user_app_1x(app_1x)
    client(app).get('/', headers=bearer(token), status=401)
    app = user_app_1x(app_1x, 'auth_jwt_require_exp = false\n')
    assert 'bob' in client(app).get('/', headers=bearer(token)).text


def test_token_algorithms_come_from_an_allow_list_that_auth_jwt_algorithms_sets(app_1x):
    token = signed_token(JWT_KEY, 'HS512', sub='bob', aud='ABC')
    app = user_app_1x(app_1x, 'auth_jwt_algorithms = HS256\n')
    client(app).get('/', headers=bearer(token), status=401)
    app = user_app_1x(app_1x, 'auth_jwt_algorithms = HS256 HS512\n')
    assert 'bob' in client(app).get('/', headers=bearer(token)).text


def test_a_jwt_secret_without_a_client_id_turns_bearer_on_and_no_audience_is_checked(app_1x):
    without_client_id = CONFIG_1X.replace('auth_jwt_client_id = ABC\n', '')
    assert without_client_id != CONFIG_1X
    elsewhere = signed_token(JWT_KEY, sub='bob', aud='some-other-service')
    nowhere = signed_token(JWT_KEY, sub='carol')
    app = user_app_1x(app_1x, text=without_client_id)
    assert "'sub': 'bob'" in client(app).get('/', headers=bearer(elsewhere)).text
    assert "'sub': 'carol'" in client(app).get('/', headers=bearer(nowhere)).text
    app = user_app_1x(app_1x)   # with the 1.x docs' auth_jwt_client_id = ABC: the audience is checked
    client(app).get('/', headers=bearer(elsewhere), status=401)
    client(app).get('/', headers=bearer(nowhere), status=401)


# -- CORS, CSRF and limits -------------------------------------------------------------------------

def test_cors_in_an_ini_file_is_read_now(app_1x):
    app = app_1x('CORS = *\n')
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/', headers={'Origin': 'https://a.example.com'}).headers[
        'Access-Control-Allow-Origin'] == '*'


def test_cors_star_answers_only_requests_with_an_origin_and_lets_no_other_origins_form_in(app_1x):
    app = app_1x('CORS = *\n')
    app.route('/', method=['GET', 'POST', 'PUT'], callback=lambda: 'ok')
    plain = client(app).get('/')
    assert 'Access-Control-Allow-Origin' not in plain.headers and plain.headers['Vary'] == 'Origin'
    # jQuery's $.post from a page of another site (1.x's docs: "write * to allow AJAX requests from anywhere")
    jquery = {'Origin': 'http://x.example', 'Accept': '*/*'}
    form = {'params': 'a=1', 'content_type': 'application/x-www-form-urlencoded; charset=UTF-8', 'headers': jquery}
    refused = client(app).post('/', status=403, **form)
    assert refused.text == ('Cross-site request refused: origin http://x.example may not send POST requests here '
                            '(cors = * admits no form posts from other sites: list the origin in cors)\n')
    assert client(app).post_json('/', {'a': 1}, headers=jquery).text == 'ok'   # what a browser preflights
    assert client(app).put('/', 'a=1', headers=jquery).text == 'ok'
    app = app_1x('CORS = http://x.example\n')  # the way out the 403 names
    app.route('/', method='POST', callback=lambda: 'ok')
    answer = client(app).post('/', **form)
    assert answer.text == 'ok' and answer.headers['Access-Control-Allow-Origin'] == 'http://x.example'


def test_cors_false_still_means_off(app_1x):
    app = app_1x('CORS = false\n')
    app.route('/', callback=lambda: 'ok')
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': 'https://a.example.com'}).headers


def test_preflights_are_answered(app_1x):
    app = app_1x('CORS = *\n')
    app.route('/', method='PUT', callback=lambda: 'ok')
    answer = client(app).options('/', headers={'Origin': 'https://a.example.com',
                                               'Access-Control-Request-Method': 'PUT'}, status=204)
    assert 'PUT' in answer.headers['Access-Control-Allow-Methods']


def test_a_cross_site_form_post_is_refused_unless_csrf_is_false(app_1x):
    form = {'Origin': 'https://evil.example.net'}
    app = app_1x()
    app.route('/', method='POST', callback=lambda: 'done')
    client(app).post('/', {'a': '1'}, headers=form, status=403)
    app = app_1x('csrf = false\n')
    app.route('/', method='POST', callback=lambda: 'done')
    assert client(app).post('/', {'a': '1'}, headers=form).text == 'done'


def cors_by_hand_app(make_app, **config):
    """An app with Bottle's CORS recipe, an ``after_request`` hook that lets any origin read every answer."""
    app = make_app(**config)
    app.route('/', method=['GET', 'POST'], callback=lambda: 'done')

    @app.hook('after_request')
    def allow_any_origin():
        bottle.response.set_header('Access-Control-Allow-Origin', '*')

    return app


def test_cors_written_by_hand_gets_403_for_another_origins_post_and_a_warning_to_list_it_in_cors(make_app, log_dir):
    web = client(cors_by_hand_app(make_app))
    assert web.get('/', headers={'Origin': 'https://app.example.com'}).headers['Access-Control-Allow-Origin'] == '*'
    refused = web.post_json('/', {}, headers={'Origin': 'https://app.example.com'}, status=403)
    assert 'Access-Control-Allow-Origin' not in refused.headers  # (the page sees a failed fetch, not the 403)
    [line] = [line for line in read_log(log_dir).splitlines() if 'Cross-site request refused' in line]
    assert ' WARNING ' in line and 'https://app.example.com' in line
    assert 'to let another origin in, list it in cors' in line


def test_cors_written_by_hand_with_the_origin_listed_in_cors_lets_the_post_in_with_one_allow_origin(make_app):
    web = client(cors_by_hand_app(make_app, cors='https://app.example.com'))
    answer = web.post_json('/', {}, headers={'Origin': 'https://app.example.com'})
    assert answer.text == 'done'
    assert answer.headers.getall('Access-Control-Allow-Origin') == ['https://app.example.com']


def test_bodies_and_headers_are_limited_and_the_keys_raise_the_limits(app_1x):
    body = b'x' * (10 * 1024 * 1024 + 1)
    cookie = {'Cookie': 'a=' + 'b' * 9000}
    app = app_1x('csrf = false\n')
    app.route('/', method=['GET', 'POST'], callback=lambda: 'ok')
    client(app).post('/', body, content_type='application/octet-stream', status=413)
    client(app).get('/', headers=cookie, status=431)
    app = app_1x('csrf = false\nmax_body_size = 20971520\nmax_header_size = 16384\n')
    app.route('/', method=['GET', 'POST'], callback=lambda: 'ok')
    assert client(app).post('/', body, content_type='application/octet-stream').text == 'ok'
    assert client(app).get('/', headers=cookie).text == 'ok'


def test_security_headers_are_sent_and_an_empty_value_turns_each_off(app_1x):
    app = app_1x()

    @app.get('/')
    def index():
        return 'ok'

    headers = client(app).get('/').headers
    assert headers['X-Content-Type-Options'] == 'nosniff'
    assert headers['X-Frame-Options'] == 'DENY'
    assert headers['Referrer-Policy'] == 'strict-origin-when-cross-origin'
    app = app_1x('x_content_type_options =\nx_frame_options =\nreferrer_policy =\n')

    @app.get('/')
    def plain():
        return 'ok'

    headers = client(app).get('/').headers
    assert not {'X-Content-Type-Options', 'X-Frame-Options', 'Referrer-Policy'} & set(headers)


def test_every_answer_carries_a_request_id(app_1x):
    app = app_1x()
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').headers['X-Request-ID']
    assert client(app).get('/missing', status=404).headers['X-Request-ID']


#: Each line of the README's Upgrading section (by its opening words) and the test above that backs it.
BACKED_BY = {
    'Without `log_path`, 1.x logged to stderr': test_without_log_path_the_log_goes_to_logs_and_log_path_stderr_restores_1x,
    'The file of the day is named':
        test_the_log_file_is_named_by_its_date_from_the_start_and_a_1x_log_file_found_there_is_warned_of,
    'The `Session created: ...`': test_no_session_id_is_logged_and_no_session_line_is_written,
    "A request's first line already carries": claims.test_a_returning_clients_request_line_carries_the_start_of_its_id,
    'A query value whose name looks secret': claims.test_a_query_value_whose_name_looks_secret_is_logged_masked,
    "A slow response's line": test_a_slow_response_line_has_no_exclamation_marks_and_log_slow_sets_the_threshold,
    'The install banner lists': test_the_banner_lists_only_canisters_keys_with_secrets_masked,
    "Canister's logger no longer propagates":
        test_the_logger_does_not_propagate_and_a_handler_on_app_log_sends_its_lines_elsewhere,
    "The thread's name is given back": test_the_thread_name_is_given_back_after_the_request,
    '`Logged in as: alice` is written':
        claims.test_logged_in_as_is_written_when_the_user_comes_into_the_session_not_on_every_request,
    'Every request gets its two lines':
        claims.test_every_request_gets_its_two_lines_a_404_and_a_handler_that_raises_included_a_preflights_at_debug,
    'Behind a reverse proxy, 1.x took':
        claims.test_forwarded_headers_make_the_logged_client_and_url_only_from_a_proxy_listed_in_trusted_proxies,
    '`log_level = WARN` and `log_level = FATAL`':
        claims.test_the_level_names_1x_passed_on_to_pythons_logging_are_refused_at_install,
    '`session_timout`, the spelling': test_session_timout_takes_effect,
    'A request that does not use the session':
        test_a_request_that_does_not_use_the_session_gets_no_cookie_and_the_readmes_way_keeps_a_login,
    "A session's life (`session_timeout`":
        claims.test_a_session_lives_on_through_the_requests_that_use_it_and_a_hook_reading_the_user_makes_it_every_one,
    'The cookie holds a random 256-bit id': test_the_cookie_is_a_random_http_only_lax_id_and_a_1x_cookie_is_not_adopted,
    'A login (a new `session.user`)': test_a_login_gives_the_session_a_new_id_and_keeps_its_data,
    'A response built from a session carries': test_a_response_built_from_a_session_is_private,
    'Two requests of one session that run at once': test_concurrent_requests_keep_each_change_and_a_logout_sticks,
    "An attribute of the app's own on `session`":
        claims.test_an_attribute_of_the_apps_own_on_session_is_an_error_saying_to_use_session_data,
    '`if session:` and `len(session)`': claims.test_the_session_object_is_neither_true_nor_false_and_has_no_length,
    'Session data must be JSON-serializable': test_session_data_must_be_json,
    'The memory store keeps at most': test_the_memory_store_is_bounded_and_session_max_raises_the_bound,
    'URL arguments win': test_url_arguments_beat_query_values,
    '`**kwargs` receives': test_kwargs_receives_the_remaining_parameters,
    'A JSON object body fills parameters': test_a_json_body_fills_parameters_too,
    'The body of a GET or HEAD request fills no parameter': test_a_get_or_head_body_fills_no_parameter_and_the_query_is_used,
    'Text arrives decoded as UTF-8': claims.test_text_parameters_arrive_decoded_as_utf8_and_a_latin1_repair_now_fails,
    'Annotated parameters are converted': test_annotated_parameters_are_converted,
    'A missing mandatory parameter': test_a_missing_mandatory_parameter_answers_400,
    'A parameter that another plugin of the route fills':
        test_a_parameter_another_plugin_fills_is_left_to_it_in_either_install_order,
    "Flask's `methods=` keyword on a route":
        claims.test_flasks_methods_keyword_is_refused_where_the_route_is_added_or_answers_500_before_the_install,
    'Bad credentials': test_a_wrong_password_or_a_malformed_header_answers_401,
    '`auth_basic_encryption = sha256` works': test_sha256_passwords_work,
    '`auth_basic_password` with `auth_basic_encryption` left out':
        claims.test_the_configs_basic_password_is_clear_text_under_auto_as_in_1x,
    '`canister.verify_password(password, stored)`, new in 2.0':
        claims.test_verify_password_refuses_clear_text_with_a_warning_unless_the_scheme_clear_is_given,
    'More than `auth_max_failures`': test_failed_logins_are_throttled_and_auth_max_failures_raises_the_limit,
    "A Bearer login lasts until the token's `exp`": claims.test_a_bearer_login_in_a_session_lapses_at_the_tokens_exp,
    'Bearer tokens without `exp`': test_a_token_without_exp_is_refused_unless_auth_jwt_require_exp_is_false,
    'Bearer tokens are checked against an allow-list':
        test_token_algorithms_come_from_an_allow_list_that_auth_jwt_algorithms_sets,
    'A JWT secret without `auth_jwt_client_id`': test_a_jwt_secret_without_a_client_id_turns_bearer_on_and_no_audience_is_checked,
    '`CORS` in an ini file now takes effect': test_cors_in_an_ini_file_is_read_now,
    'With `CORS = *`, only a request': test_cors_star_answers_only_requests_with_an_origin_and_lets_no_other_origins_form_in,
    '`CORS = false`': test_cors_false_still_means_off,
    'Preflight `OPTIONS` requests': test_preflights_are_answered,
    'An unsafe request from another site': test_a_cross_site_form_post_is_refused_unless_csrf_is_false,
    'CORS written by hand': test_cors_written_by_hand_gets_403_for_another_origins_post_and_a_warning_to_list_it_in_cors,
    'A body over `max_body_size`': test_bodies_and_headers_are_limited_and_the_keys_raise_the_limits,
    'New default headers on every answer': test_security_headers_are_sent_and_an_empty_value_turns_each_off,
    'Every answer carries an `X-Request-ID`': test_every_answer_carries_a_request_id,
}


def test_every_line_of_the_upgrading_section_is_backed_by_a_test_here():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme.split('## Upgrading from canister 1.x', 1)[1].split('\n## ', 1)[0]
    lines = [line[2:] for line in section.splitlines() if line.startswith('- ')]
    backed = [[opening for opening in BACKED_BY if line.startswith(opening)] for line in lines]
    assert [line for line, found in zip(lines, backed) if len(found) != 1] == []
    assert sorted(opening for found in backed for opening in found) == sorted(BACKED_BY)
    assert 'installs unchanged but for one value' in section  # test_the_1x_docs_config_installs_unchanged...
    assert 'is then reported as too short' in section  # test_the_1x_docs_secret_written_clear_is_reported...
    assert "The log lines keep 1.x's layout" in section  # tests/test_log_layout.py
