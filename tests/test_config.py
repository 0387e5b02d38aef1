"""Configuration: where canister reads its settings, how it checks them, and installing it."""
from __future__ import annotations

import json
import logging
import re

import bottle
import pytest

import canister
from helpers import app_with_ini, banner_value, client, read_log

ORIGIN = {'HTTP_ORIGIN': 'https://front.example.com'}


def session_cookie_name(app: bottle.Bottle) -> str:
    """The name of the cookie that a GET / sets, / being a route added here that answers the session id."""
    app.route('/', callback=lambda: canister.session.sid)
    return client(app).get('/').headers['Set-Cookie'].split('=', 1)[0]


def new_app() -> bottle.Bottle:
    """A Bottle app that lets handler exceptions through (the test hands it to ``uninstall_at_end``)."""
    app = bottle.Bottle()
    app.config['catchall'] = False
    return app


def install(app: bottle.Bottle, **overrides) -> bottle.Bottle:
    """Install canister on an app the test built itself (uninstalled by the caller)."""
    app.install(canister.Canister(**overrides))
    return app


@pytest.fixture
def app_from_ini(tmp_path, uninstall_at_end):
    """``app_from_ini(text)``: an app configured from an ini file of that text, canister installed, / answering ok."""

    def build(text: str) -> bottle.Bottle:
        app = uninstall_at_end(install(app_with_ini(tmp_path, text)))
        app.route('/', callback=lambda: 'ok')
        return app

    return build


# -- where the settings come from -------------------------------------------

def test_an_ini_file_loaded_with_load_config_configures_canister(app_from_ini, log_dir):
    app = app_from_ini('[canister]\nCORS = *\nlog_path = %s\nlog_days = 7\n' % log_dir)
    response = client(app).get('/', headers={'Origin': 'https://front.example.com'})
    assert response.headers['Access-Control-Allow-Origin'] == '*'
    assert banner_value(read_log(log_dir), 'log_days') == '7'


def test_upper_case_keys_of_an_ini_file_are_understood(app_from_ini, log_dir):
    app = app_from_ini('[canister]\nLOG_PATH = %s\nCORS = https://front.example.com\n' % log_dir)
    response = client(app).get('/', headers={'Origin': 'https://front.example.com'})
    assert response.headers['Access-Control-Allow-Origin'] == 'https://front.example.com'
    assert banner_value(read_log(log_dir), 'cors') == 'https://front.example.com'


def test_load_dict_under_canister_configures_canister(make_app, log_dir):
    app = make_app(config={'cors': 'https://front.example.com', 'log_format': 'json'})
    app.route('/', callback=lambda: 'ok')
    response = client(app).get('/', headers={'Origin': 'https://front.example.com'})
    assert response.headers['Access-Control-Allow-Origin'] == 'https://front.example.com'
    assert read_log(log_dir).startswith('{')


def test_config_update_with_a_namespace_configures_canister(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.config.update('canister', log_path=str(log_dir), session_cookie='sid')
    install(app)
    app.route('/', callback=lambda: canister.session.sid)
    response = client(app).get('/')
    assert response.headers['Set-Cookie'].startswith('sid=%s;' % response.text)


def test_config_update_with_dotted_keys_configures_canister(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.config.update({'canister.log_path': str(log_dir), 'canister.session_cookie': 'sid'})
    install(app)
    assert session_cookie_name(app) == 'sid'


def test_keys_are_case_insensitive_in_load_dict(make_app, log_dir):
    app = make_app(config={'LOG_PATH': str(log_dir), 'Session_Cookie': 'sid'})
    assert session_cookie_name(app) == 'sid'


def test_choice_values_are_case_insensitive(make_app, log_dir):
    app = make_app(config={'log_level': 'warning', 'log_format': 'JSON'})
    app.log.info('quiet')
    app.log.warning('loud')
    lines = read_log(log_dir).splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])['message'] == 'loud'


def test_session_timout_is_an_alias_of_session_timeout(make_app, log_dir):
    make_app(config={'session_timout': '120'})
    log = read_log(log_dir)
    assert banner_value(log, 'session_timeout') == '120'
    assert 'unknown config key' not in log


def test_keyword_arguments_override_the_app_config(make_app, log_dir):
    app = make_app(config={'log_level': 'ERROR', 'session_cookie': 'from_config'}, session_cookie='from_kw',
                   log_level='INFO')
    assert session_cookie_name(app) == 'from_kw'
    assert 'GET http://localhost:80/' in read_log(log_dir)


def test_string_values_from_an_ini_file_are_converted(make_app, log_dir):
    app = make_app(config={'session_secure': 'yes', 'log_slow': '0.5', 'max_body_size': '10'})
    app.post('/', callback=lambda: 'ok')
    assert client(app).post('/', 'x' * 11, status=413).status_int == 413
    assert banner_value(read_log(log_dir), 'log_slow') == '0.5'
    assert banner_value(read_log(log_dir), 'session_secure') == 'True'


# -- bad values ----------------------------------------------------------------

def test_an_unknown_log_level_raises_a_value_error_naming_key_value_and_choices(make_app):
    with pytest.raises(ValueError) as caught:
        make_app(config={'log_level': 'LOUD'})
    message = str(caught.value)
    assert 'log_level' in message and 'LOUD' in message
    for level in ('DISABLED', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'):
        assert level in message


def test_a_negative_log_days_raises_a_config_error_naming_key_value_and_minimum(make_app):
    with pytest.raises(canister.ConfigError) as caught:
        make_app(config={'log_days': '-1'})
    message = str(caught.value)
    assert 'log_days' in message and '-1' in message and '>= 0' in message


def test_a_non_numeric_session_timeout_raises_a_config_error_asking_for_an_integer(make_app):
    with pytest.raises(canister.ConfigError) as caught:
        make_app(config={'session_timeout': 'soon'})
    message = str(caught.value)
    assert 'session_timeout' in message and 'soon' in message and 'integer' in message


def test_a_bad_value_given_as_keyword_argument_raises_at_install(make_app):
    with pytest.raises(canister.ConfigError, match='log_format'):
        make_app(log_format='xml')


def test_a_config_error_is_a_value_error():
    assert issubclass(canister.ConfigError, ValueError)


def test_a_bad_secret_value_is_not_repeated_in_the_error(make_app):
    with pytest.raises(canister.ConfigError) as caught:
        make_app(config={'auth_basic_username': 'bob', 'auth_basic_password': 'hunter2hunter2',
                         'auth_basic_encryption': 'sha256'})
    assert 'auth_basic_password' in str(caught.value)
    assert 'hunter2hunter2' not in str(caught.value)


def test_a_bad_value_fails_the_install_before_anything_is_logged(make_app, log_dir):
    with pytest.raises(canister.ConfigError):
        make_app(config={'log_level': 'LOUD'})
    assert not log_dir.exists()


# -- unknown keys --------------------------------------------------------------

def test_unknown_key_logs_a_warning_naming_the_closest_key(make_app, log_dir):
    make_app(config={'sesion_timeout': '5'})
    warnings = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]
    assert len(warnings) == 1
    assert 'canister.sesion_timeout' in warnings[0]
    assert 'session_timeout' in warnings[0].split('canister.sesion_timeout', 1)[1]


def test_unknown_keyword_argument_logs_a_warning_too(make_app, log_dir):
    make_app(log_levle='DEBUG')
    assert re.search(r' WARNING  \[.*\]   unknown config key canister\.log_levle .*log_level', read_log(log_dir))


def test_known_keys_log_no_warning(make_app, log_dir):
    make_app(config={'log_days': '3', 'cors': '*', 'session_timeout': '60'})
    assert ' WARNING ' not in read_log(log_dir)


def test_keys_outside_the_canister_section_are_ignored(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.config.load_dict({'other': {'log_level': 'LOUD'}, 'canister_x': 'y'})
    install(app, log_path=str(log_dir))
    assert ' WARNING ' not in read_log(log_dir)
    assert banner_value(read_log(log_dir), 'log_level') == 'INFO'


# -- installing ----------------------------------------------------------------

def lines_ending_with(log: str, text: str) -> int:
    """How many lines of ``log`` end with ``text``."""
    return sum(1 for line in log.splitlines() if line.endswith(text))


def test_installing_the_same_plugin_twice_does_not_duplicate_log_lines(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    plugin = canister.Canister(log_path=str(log_dir))
    app.install(plugin)
    app.install(plugin)
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok'
    log = read_log(log_dir)
    assert lines_ending_with(log, ' GET http://localhost:80/') == 1
    assert len(re.findall(r'Response: 200 \(\d+ms\)', log)) == 1


def test_installing_two_canister_plugins_on_one_app_keeps_one(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.install(canister.Canister(log_path=str(log_dir)))
    app.install(canister.Canister(log_path=str(log_dir)))
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    log = read_log(log_dir)
    assert lines_ending_with(log, ' GET http://localhost:80/') == 1
    assert len(re.findall(r'Response: 200', log)) == 1
    assert sum(isinstance(plugin, canister.Canister) for plugin in app.plugins) == 1
    assert lines_ending_with(log, 'This Canister() replaces the one installed on this app before, which is '
                                  'uninstalled: its session store is closed (sessions in a memory store end)') == 1


def test_replacing_a_canister_whose_store_the_app_gave_says_that_store_is_left_open(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    store = canister.MemoryStore()
    app.install(canister.Canister(log_path=str(log_dir), store=store))
    store.save('a' * 32, '[{}, null, 0, 0, 0]', 60)
    app.install(canister.Canister(log_path=str(log_dir)))
    assert store.load('a' * 32) is not None  # not closed: the app's own
    log = read_log(log_dir)
    assert lines_ending_with(log, 'This Canister() replaces the one installed on this app before, which is '
                                  'uninstalled: its store, given as Canister(store=...), is left open') == 1
    assert 'its session store is closed' not in log


def test_a_second_canister_without_the_keywords_of_the_first_is_a_warning_naming_them(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.install(canister.Canister(log_path=str(log_dir), session_cookie='shop', csrf=False))
    with pytest.warns(canister.CanisterWarning) as warned:
        app.install(canister.Canister(log_path=str(log_dir), csrf=True))  # a second install left in
    note = ('The Canister() installed on this app before was given keyword arguments that this one, which '
            'replaces it, does not repeat: csrf, session_cookie; install one Canister() per app, with all of its '
            'keywords')
    assert [str(warning.message) for warning in warned] == [note]
    assert lines_ending_with(read_log(log_dir), ' WARNING  [MainThread]   ' + note) == 1


def test_installing_the_same_canister_again_says_nothing_of_a_replacement(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    plugin = canister.Canister(log_path=str(log_dir))
    app.install(plugin)
    with pytest.warns(canister.CanisterWarning, match='session_cookie'):  # (set too late, until installed again)
        app.config['canister.session_cookie'] = 'later'
    app.install(plugin)
    assert 'replaces the one installed' not in read_log(log_dir)
    assert session_cookie_name(app) == 'later'  # set up anew with the config now


def test_reinstalling_applies_the_new_settings(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    app.install(canister.Canister(log_path=str(log_dir), session_cookie='first'))
    app.install(canister.Canister(log_path=str(log_dir), session_cookie='second'))
    assert session_cookie_name(app) == 'second'


def test_uninstalling_and_installing_again_works(log_dir, uninstall_at_end):
    app = uninstall_at_end(new_app())
    plugin = canister.Canister(log_path=str(log_dir))
    app.install(plugin)
    app.uninstall(plugin)
    app.install(canister.Canister(log_path=str(log_dir), session_cookie='again'))
    assert session_cookie_name(app) == 'again'
    assert lines_ending_with(read_log(log_dir), ' GET http://localhost:80/') == 1


def test_two_apps_logging_to_one_directory_write_each_line_once(make_app, log_dir):
    one = make_app()
    two = make_app()
    one.route('/one', callback=lambda: 'one')
    two.route('/two', callback=lambda: 'two')
    assert client(one).get('/one').text == 'one'
    assert client(two).get('/two').text == 'two'
    log = read_log(log_dir)
    assert lines_ending_with(log, ' GET http://localhost:80/one') == 1
    assert lines_ending_with(log, ' GET http://localhost:80/two') == 1
    assert len(re.findall(r'Response: 200', log)) == 2


def test_two_apps_have_separate_loggers_that_each_write_once(make_app, log_dir):
    one = make_app()
    two = make_app()
    assert one.log is not two.log
    one.log.info('from one')
    two.log.info('from two')
    log = read_log(log_dir)
    assert lines_ending_with(log, ']   from one') == 1
    assert lines_ending_with(log, ']   from two') == 1


def test_app_log_is_a_logger(make_app):
    app = make_app()
    assert isinstance(app.log, logging.Logger)


def test_app_log_info_in_a_handler_appears_in_the_log_file(make_app, log_dir):
    app = make_app()

    @app.get('/')
    def index():
        app.log.info('Hey!')
        return 'ok'

    client(app).get('/')
    assert re.search(r'^\S+ \S+ INFO     \[127\.0\.0\.1-[^\]]*\]   Hey!$', read_log(log_dir), re.M)


def test_app_log_respects_the_configured_level(make_app, log_dir):
    app = make_app(log_level='WARNING')

    @app.get('/')
    def index():
        app.log.info('quiet')
        app.log.warning('loud')
        return 'ok'

    client(app).get('/')
    log = read_log(log_dir)
    assert 'quiet' not in log
    assert re.search(r' WARNING  \[[^\]]*\]   loud$', log, re.M)


def test_uninstalling_gives_the_app_its_plain_behaviour_back(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    app.uninstall(canister.Canister)
    response = client(app).get('/')
    assert 'X-Request-ID' not in response.headers
    assert 'GET http://localhost:80/' not in read_log(log_dir)
