"""README "Configuration", claims no test held before: the ini example logs alice in with my-secret, every
Django setting the README names at the top of the config is reported as it says, and every row of the table
of install warnings is a warning at install."""
from __future__ import annotations

import itertools
import re
import warnings
from typing import Any, Dict

import bottle
import pytest
from helpers import ROOT, basic, client, demo_ctrl_c_can_stop, install_warned, json_counter_app, read_log

import canister


def _configuration_section() -> str:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return readme.split('\n## Configuration\n', 1)[1].split('\n## ', 1)[0]


def test_the_ini_example_of_the_readme_installs_and_its_password_line_is_the_hash_of_my_secret(
        tmp_path, monkeypatch):
    """The ``[canister]`` block as a file: alice logs in with my-secret (and with nothing else), CORS allows
    https://app.example.com (``CORS`` arrives lower-cased), and the banner shows the rest."""
    block = re.search(r'```ini\n(.*?)```', _configuration_section(), re.S).group(1)
    assert '(here for the password my-secret)' in block
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'app.ini').write_text(block, encoding='utf-8')
    app = bottle.Bottle()
    app.config.load_config(str(tmp_path / 'app.ini'))
    app.install(canister.Canister())
    try:
        app.get('/me', callback=lambda: 'user=%s' % canister.session.user)
        web = client(app)
        answer = web.get('/me', headers={'Authorization': basic('alice', 'my-secret'),
                                         'Origin': 'https://app.example.com'})
        assert answer.text == 'user=alice'
        assert answer.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
        web.get('/me', headers={'Authorization': basic('alice', 'my-secreT')}, status=401)
        log = read_log(tmp_path / 'logs')
        assert re.search(r'canister\.session_timeout +  = 3600$', log, re.M)
        assert re.search(r'canister\.log_level +  = INFO$', log, re.M)
    finally:
        app.uninstall(True)


def _django_passage() -> str:
    """The README's passage on Django's own settings at the top of the config."""
    return _configuration_section().split("  - *Django's own settings.*", 1)[1].split('\n', 1)[0]


DJANGO_ALONE, BOTH = _django_passage().split('A name both frameworks use', 1)
BOTH = BOTH.split(' is called', 1)[0]


@pytest.mark.parametrize('name, framework', [(name, 'a Django setting')
                                             for name in re.findall(r'`([A-Z][A-Z_]+)`', DJANGO_ALONE)] +
                         [(name, 'a Flask or Django setting') for name in re.findall(r'`([A-Z][A-Z_]+)`', BOTH)])
def test_every_django_setting_the_readme_names_at_the_top_of_the_config_is_reported_as_it_says(
        log_dir, name, framework):
    """Each name of "Django's own settings" (django-cors-headers' among them), then those both frameworks use."""
    app = bottle.Bottle()
    app.config[name] = '1'
    with pytest.warns(canister.CanisterWarning) as caught:
        app.install(canister.Canister(log_path=str(log_dir)))
    try:
        said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
        assert len(said) == 1
        assert said[0].startswith("app.config['%s'] is %s, which canister does not read: write canister." % (
            name, framework))
        assert said[0] in read_log(log_dir)
    finally:
        app.uninstall(True)


def test_the_readme_names_the_django_settings_the_install_reports():
    """(So that the test above tries what the README says, and the README is not cut short unnoticed.)"""
    assert {'SESSION_COOKIE_AGE', 'SESSION_ENGINE', 'CSRF_TRUSTED_ORIGINS', 'DATA_UPLOAD_MAX_MEMORY_SIZE',
            'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS',
            'CORS_ALLOWED_ORIGINS'} <= set(re.findall(r'`([A-Z][A-Z_]+)`', DJANGO_ALONE))
    assert set(re.findall(r'`([A-Z][A-Z_]+)`', BOTH)) == {
        'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_NAME', 'SESSION_COOKIE_SAMESITE', 'CORS_ALLOW_HEADERS',
        'CORS_EXPOSE_HEADERS'}


#: Rows of "Other install warnings", each with a config that gives its warning and a word that warning holds.
WARNED: Dict[str, Any] = {
    '`session_redis_prefix`, `session_redis_wait`, `session_redis_timeout` or `session_redis_keepalive`':
        ({'session_redis_prefix': 'app:'}, 'session_redis_prefix is set without a Redis session_store URL'),
    '`session_max_per_user` not below the memory store': (
        {'session_max': '100', 'session_max_per_user': '100'}, 'session_max_per_user = 100 is not below'),
    '`auth_basic_username` without a password': ({'auth_basic_username': 'alice'}, 'has no auth_basic_password'),
    '`auth_basic_password` without a user name': ({'auth_basic_password': 'x'}, 'without auth_basic_username'),
    '`auth_jwt_client_id` without a secret': ({'auth_jwt_client_id': 'c'}, 'auth_jwt_client_id is set without'),
    '`cors_credentials` or `cors_paths` without `cors`': ({'cors_paths': '/api'}, 'cors_paths is set without cors'),
    '`session_partitioned` without': ({'session_partitioned': 'true'}, 'without session_samesite = None'),
    '`csrf_trusted_origins` with `csrf = false`':
        ({'csrf_trusted_origins': 'https://a.example', 'csrf': 'false'}, 'csrf_trusted_origins is set with csrf'),
    '`debug = true`': ({'debug': 'true'}, 'canister.debug = True has no effect'),
    '`cors_expose_headers = *` with `cors_credentials`': (
        {'cors': 'https://a.example', 'cors_credentials': 'true', 'cors_expose_headers': '*'},
        'cors_expose_headers = * with cors_credentials'),
    'a JWKS URL or public key without': ({'auth_jwt_jwks_url': 'https://idp.example/jwks'},
                                         'auth_jwt_jwks_url is set without auth_jwt_client_id'),
    'a JWKS URL or public key beside Basic users': (
        {'auth_jwt_jwks_url': 'https://idp.example/jwks', 'auth_jwt_client_id': 'c', 'auth_basic_username': 'alice',
         'auth_basic_password': canister.hash_password('wonderland', iterations=1000)},
        'auth_jwt_jwks_url is set with Basic users and without auth_jwt_issuer'),
    'a plain `http://` JWKS URL': ({'auth_jwt_jwks_url': 'http://idp.example/jwks', 'auth_jwt_client_id': 'c'},
                                   'is plain http:// to another host'),
    'an `auth_jwt_secret` shorter than 32 bytes': ({'auth_jwt_secret': 'short'}, 'auth_jwt_secret is 5 bytes'),
    '`null` among the `cors` origins': ({'cors': 'null https://a.example', 'cors_credentials': 'true'},
                                        'cors lists null with cors_credentials'),
    '`referrer_policy = no-referrer`': ({'referrer_policy': 'no-referrer'}, 'referrer_policy = no-referrer'),
    'a `trusted_proxies` network wider than a /8': ({'trusted_proxies': '0.0.0.0/0'},
                                                    'canister.trusted_proxies lists 0.0.0.0/0, which takes in public'),
}

#: Rows whose setting needs more than a config (a server, a file's mode, an old package), with their tests.
TESTED_ELSEWHERE = {
    'a session store that cannot be reached yet':
        'test_redis_urls.py::test_an_unreachable_store_is_reported_on_the_terminal_at_install',
    'a `session_redis_wait` above the replicas': 'test_redis_topologies.py::'
        'test_session_redis_wait_above_the_replicas_of_a_plain_server_is_a_warning_at_install',
    'a custom store without an atomic `update`':
        'test_redis_urls.py::test_a_store_without_an_atomic_update_is_reported_on_the_terminal_at_install',
    'a custom store whose `touch` does nothing': 'test_store_protocol_mistakes.py::'
        'test_a_store_whose_touch_does_nothing_where_canister_calls_it_is_warned_at_install',
    'a SQLite session file': 'test_attack_19.py::'
        'test_a_sqlite_session_file_that_other_users_may_read_or_write_is_reported_at_install',
    'the directory that holds the SQLite file': 'test_sqlite_hostile_file.py::'
        'test_a_directory_other_users_may_write_is_warned_about_at_install',
    'a `session_store` URL next to a store object':
        'test_half_configured.py::test_a_store_object_and_a_session_store_url_together_say_which_is_used',
    'a `log_format` other than': 'test_logging.py::'
        'test_an_app_writing_json_to_the_directory_of_an_app_writing_text_is_warned_and_the_file_says_so',
    'a PyJWT or redis package older': 'test_install_hints.py::'
        'test_an_older_pyjwt_than_canister_is_tested_with_is_reported_at_install',
}


def _warning_rows() -> list:
    table = _configuration_section().split('| Warned at install | Why, or where to read more |', 1)[1]
    return re.findall(r'^  \| (.*?) \| .*\|$', table.split('\n- **', 1)[0], re.M)[1:]  # (past the |---| line)


def test_every_row_of_the_install_warnings_table_is_tried_here_or_by_a_test_named_here():
    rows = _warning_rows()
    assert len(rows) == 26
    unmatched = [row for row in rows
                 if sum(row.startswith(start) or start in row for start in [*WARNED, *TESTED_ELSEWHERE]) != 1]
    assert unmatched == []
    for test in TESTED_ELSEWHERE.values():
        path, name = test.split('::')
        assert re.search(r'^def %s\(' % name, (ROOT / 'tests' / path).read_text(encoding='utf-8'), re.M), test


@pytest.mark.parametrize('row', sorted(WARNED))
def test_each_setting_of_the_install_warnings_table_warns_in_the_log_and_as_a_canister_warning(log_dir, row):
    config, words = WARNED[row]
    app, said = install_warned(log_dir, config)
    try:
        assert len(said) == 1 and words in said[0], said
        assert ' WARNING  [MainThread]   ' + said[0] in read_log(log_dir)
    finally:
        app.uninstall(True)


def test_no_referrer_is_not_warned_when_cors_lists_null(log_dir):
    """The table's "unless `cors` lists `null`"."""
    app, said = install_warned(log_dir, {'referrer_policy': 'no-referrer', 'cors': 'null'})
    app.uninstall(True)
    assert said == []


def _quoted_messages(pattern: str) -> list:
    return re.findall(r'`(%s[^`]*)`' % pattern, _configuration_section())


@pytest.mark.parametrize('message', _quoted_messages(r"canister\.[a-z_]+ = '"))
def test_each_refusal_the_configuration_section_quotes_is_what_the_install_says_for_that_ini_line(
        tmp_path, monkeypatch, message):
    """``canister.log_level = 'LOUD' is not valid: ...``: the line ``log_level = LOUD`` in an ini file."""
    key, value = re.match(r"canister\.([a-z_]+) = '(.*?)' is ", message).groups()
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'app.ini').write_text('[canister]\n%s = %s\n' % (key, value), encoding='utf-8')
    app = bottle.Bottle()
    app.config.load_config(str(tmp_path / 'app.ini'))
    with pytest.raises(canister.ConfigError) as refused:
        app.install(canister.Canister())
    assert str(refused.value) == message


@pytest.mark.parametrize('message', _quoted_messages(r'canister\.[a-z_]+ has no value'))
def test_the_refusal_of_a_key_without_a_value_the_configuration_section_quotes_is_what_the_install_says(
        tmp_path, message):
    key = re.match(r'canister\.([a-z_]+) has', message).group(1)
    app = bottle.Bottle()
    app.config['canister.%s' % key] = None
    with pytest.raises(canister.ConfigError) as refused:
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    assert str(refused.value) == message


@pytest.mark.parametrize('message', _quoted_messages(r'unknown config key ') + _quoted_messages(r"app\.config\['[A-Z_]+'\] is "))
def test_each_warning_the_configuration_section_quotes_is_what_the_install_says_for_that_setting(log_dir, message):
    """An unknown key (one Bottle 0.13 reads from a line without ``=`` holds None), or another framework's
    setting at the top of the config."""
    app = bottle.Bottle()
    if message.startswith('unknown'):
        name = re.match(r'unknown config key (canister\.[a-z_ ]+?) \(', message).group(1)
        app.config[name] = None if 'the line has no =' in message else '60'
    else:
        app.config[re.match(r"app\.config\['([A-Z_]+)'\]", message).group(1)] = '1'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    app.uninstall(True)
    assert [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning] == [message]


def test_the_configuration_section_quotes_the_messages_tried_above():
    assert len(_quoted_messages(r"canister\.[a-z_]+ = '")) == 3
    assert len(_quoted_messages(r'canister\.[a-z_]+ has no value')) == 1
    assert len(_quoted_messages(r'unknown config key ') + _quoted_messages(r"app\.config\['[A-Z_]+'\] is ")) == 5


# -- "The two commands": the demo's --config ----------------------------------------------------------

def test_the_demos_config_file_replaces_all_its_own_settings_and_keys_it_leaves_out_have_canisters_defaults(
        tmp_path):
    """With ``--config``: no alice login, no CORS for another origin, nothing logged to stderr, and the log in
    ./logs/ of the working directory, canister's default; without it, all three of the demo's own."""
    assert ("`--config FILE` replaces all of the demo's own settings, not only the keys the file names: with it "
            "there is no `alice` login, no CORS from anywhere and no logging to stderr unless the file sets them, "
            "and every key it leaves out has canister's default (logs in `./logs/`)."
            in (ROOT / 'README.md').read_text(encoding='utf-8'))
    alice = {'Authorization': basic('alice', 'my-secret'), 'Origin': 'https://elsewhere.example'}
    (tmp_path / 'own').mkdir()
    with demo_ctrl_c_can_stop(tmp_path / 'own') as (_, web):
        port = web.port
        answer = web.get('/api/me', headers=alice)
        assert answer.status == 200 and answer.headers['Access-Control-Allow-Origin'] in (
            '*', 'https://elsewhere.example')
    assert 'GET http://127.0.0.1:%d/api/me' % port in (tmp_path / 'own' / 'output.txt').read_text()  # its own: stderr
    (tmp_path / 'demo.ini').write_text('[canister]\nsession_cookie = demo_sid\n', encoding='utf-8')
    with demo_ctrl_c_can_stop(tmp_path, config='demo.ini') as (_, web):
        port = web.port
        answer = web.get('/api/me', headers=alice)
        assert answer.status == 401 and 'Access-Control-Allow-Origin' not in answer.headers
    assert 'GET http://' not in (tmp_path / 'output.txt').read_text()
    assert 'GET http://127.0.0.1:%d/api/me' % port in read_log(tmp_path / 'logs')


# -- the table's meanings no test tried ------------------------------------------------------------------

@pytest.mark.parametrize('value', ['', 'false', 'No', 'OFF', '0'])
def test_cors_empty_or_false_no_off_or_0_in_any_case_is_off(log_dir, value):
    """The table's ``cors``: empty or ``false`` (also ``no``, ``off``, ``0``): off; an origin it would
    otherwise allow gets no CORS header, and its preflight is Bottle's 405."""
    app = bottle.Bottle()
    app.config['canister.cors'] = value
    app.install(canister.Canister(log_path=str(log_dir)))
    try:
        app.route('/x', ['GET', 'PUT'], lambda: 'ok')
        web = client(app)
        assert 'Access-Control-Allow-Origin' not in web.get('/x', headers={'Origin': 'https://a.example'}).headers
        web.options('/x', status=405, headers={'Origin': 'https://a.example', 'Access-Control-Request-Method': 'PUT'})
    finally:
        app.uninstall(True)


def test_a_log_path_of_dot_slash_stdout_is_a_directory_of_daily_files_not_the_stream(tmp_path, monkeypatch, capfd):
    """The table's ``log_path``: ``stderr``/``stdout`` in any case; ``./stdout`` is a directory."""
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    app.install(canister.Canister(log_path='./stdout'))
    try:
        app.get('/', callback=lambda: 'ok')
        client(app).get('/')
    finally:
        app.uninstall(True)
    assert [path.name.startswith('log.') for path in (tmp_path / 'stdout').iterdir()] == [True]
    assert 'GET http://localhost:80/' in read_log(tmp_path / 'stdout')
    assert 'GET http://' not in capfd.readouterr().out


def test_installing_another_canister_ends_the_sessions_of_the_memory_store_it_replaces(log_dir, uninstall_at_end):
    """"Installing again": the one replaced is uninstalled, its memory store closed, so a visitor's counter
    starts again."""
    app = json_counter_app(lambda: uninstall_at_end(bottle.Bottle()))
    app.install(canister.Canister(log_path=str(log_dir)))
    web = client(app)
    assert [web.get('/count').json['n'] for _ in range(2)] == [1, 2]
    app.install(canister.Canister(log_path=str(log_dir)))
    assert web.get('/count').json['n'] == 1


# -- other frameworks' names ----------------------------------------------------------------------------

def _names_passages() -> str:
    """The two items, each with the sub-items below it (lines indented deeper than the item's ``  - ``)."""
    section = _configuration_section()
    items = []
    for start in ("  - *Other frameworks' names.*", "  - *Django's names.*"):
        lines = section.split(start, 1)[1].split('\n')
        items.append(' '.join([lines[0]] + list(itertools.takewhile(lambda line: line.startswith('    '), lines[1:]))))
    return ' '.join(items)


def _paired_names() -> list:
    """``(name, key)`` for each "`name` (and others) with `key`" (or "with `did you mean key?`") of the passages."""
    pairs = re.findall(r'((?:`[a-z_]+`(?:, | and | or )?)+) with `(?:did you mean )?([a-z_]+)\??`', _names_passages())
    return [(name, key) for names, key in pairs for name in re.findall(r'`([a-z_]+)`', names)]


@pytest.mark.parametrize('name, key', _paired_names())
def test_each_other_frameworks_name_the_readme_pairs_with_a_key_is_answered_with_that_key(log_dir, name, key):
    app, said = install_warned(log_dir, {name: '1'})
    app.uninstall(True)
    assert len(said) == 1 and said[0].startswith('unknown config key canister.%s (did you mean %s' % (name, key))


#: Names of the passages that are answered with a key though the README pairs them with none in so many words.
NAMED_OTHERWISE = {
    'max_age': 'did you mean cors_max_age (a preflight\'s), session_cookie_max_age (the cookie\'s) or session_max_age',
    'cors_allow_all_origins': 'did you mean cors? cors = * allows every origin',
    'path': 'the session cookie has Path=/, which no setting changes',
}


@pytest.mark.parametrize('name', sorted({name for name in re.findall(r'`([a-z_]+)`', _names_passages())
                                         if name not in canister.KEYS} - {'fetch', 'cors_'} - set(dict(_paired_names()))))
def test_each_other_frameworks_name_the_readme_pairs_with_no_key_is_answered_with_why_canister_has_none(log_dir, name):
    """``secret_key``, ``session_serializer``, ``login_redirect_url``, ...: why canister has no such setting (the
    README's "those canister has no use for with why"), never a key that closeness of spelling picks."""
    app, said = install_warned(log_dir, {name: '1'})
    app.uninstall(True)
    assert len(said) == 1 and said[0].startswith('unknown config key canister.%s (' % name)
    if name in NAMED_OTHERWISE:
        assert NAMED_OTHERWISE[name] in said[0]
    else:
        assert said[0].startswith('unknown config key canister.%s (canister ' % name), said[0]


def test_the_readme_pairs_the_names_tried_above():
    pairs = dict(_paired_names())
    assert len(pairs) >= 20 and pairs['cors_origins'] == 'cors' and pairs['session_engine'] == 'session_store'


def _flask_passage() -> str:
    return _configuration_section().split("  - *Flask's own settings.*", 1)[1].split('\n', 1)[0]


@pytest.mark.parametrize('name', sorted(set(re.findall(r'`([A-Z][A-Z_]+)`', _flask_passage())) - {'SECRET_KEY'}))
def test_every_flask_setting_the_readme_names_at_the_top_of_the_config_is_reported_as_flasks(log_dir, name):
    """``SESSION_COOKIE_SECURE``, which Django uses too, as "a Flask or Django setting"."""
    app = bottle.Bottle()
    app.config[name] = '1'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    app.uninstall(True)
    said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
    whose = 'a Flask or Django setting' if name == 'SESSION_COOKIE_SECURE' else 'a Flask setting'
    instead = (' (canister ' if canister._FRAMEWORK_SETTINGS[name.lower()][1] is None  # (no key: what does the work)
               else ': write canister.')
    assert len(said) == 1 and said[0].startswith("app.config['%s'] is %s, which canister does not read%s"
                                                  % (name, whose, instead)), said


def test_secret_key_and_a_flask_setting_whose_canister_key_is_set_too_are_not_reported(log_dir):
    assert {'SECRET_KEY', 'MAX_CONTENT_LENGTH', 'SESSION_COOKIE_SECURE'} <= set(
        re.findall(r'`([A-Z][A-Z_]+)`', _flask_passage()))
    app = bottle.Bottle()
    app.config.update(SECRET_KEY='dev', SESSION_COOKIE_SECURE=True)
    app.config['canister.session_secure'] = 'true'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    app.uninstall(True)
    assert [warning for warning in caught if warning.category is canister.CanisterWarning] == []
