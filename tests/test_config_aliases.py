"""One setting given under two spellings (the 1.x alias `session_timout`, or the same key in two cases):
with different values the install refuses it naming both, instead of keeping whichever came last."""
from __future__ import annotations


import bottle
import pytest

import canister
from helpers import banner_value, read_log


@pytest.mark.parametrize('first, second', [('session_timout', 'session_timeout'),
                                           ('session_timeout', 'session_timout')])
def test_the_alias_and_the_key_with_different_values_are_refused_naming_both(make_app, first, second):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(config={first: '60', second: '120'})
    message = str(raised.value)
    assert 'canister.%s = ' % first in message and 'canister.%s = ' % second in message
    assert 'different values' in message


def test_the_alias_and_the_key_in_one_ini_file_are_refused(tmp_path):
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nsession_timout = 3600\nsession_timeout = 600\n')
    app = bottle.Bottle()
    app.config.load_config(str(ini))
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    with pytest.raises(canister.ConfigError, match='session_timout.*session_timeout'):
        app.install(canister.Canister())


def test_both_as_keyword_arguments_are_refused_too(tmp_path):
    with pytest.raises(canister.ConfigError, match='different values'):
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), session_timout=60, session_timeout=120))


def test_one_key_in_two_cases_as_keyword_arguments_is_refused_naming_both(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), cors='*', CORS='https://app.example.com'))
    message = str(raised.value)
    assert "canister.cors = '*'" in message and "canister.CORS = 'https://app.example.com'" in message


def test_a_keyword_argument_in_upper_case_takes_effect(make_app, log_dir):
    make_app(LOG_SLOW=2, Session_Timeout=90)
    assert banner_value(read_log(log_dir), 'log_slow') == '2.0'
    assert banner_value(read_log(log_dir), 'session_timeout') == '90'


@pytest.mark.parametrize('alias_value', ['120', 120, ' 120 '])
def test_the_alias_and_the_key_with_the_same_value_are_fine(make_app, log_dir, alias_value):
    make_app(config={'session_timout': alias_value, 'session_timeout': '120'})
    assert banner_value(read_log(log_dir), 'session_timeout') == '120'


def test_one_key_in_two_cases_with_different_values_is_refused_naming_both(make_app):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(config={'CORS': '*', 'cors': 'https://app.example.com'})
    message = str(raised.value)
    assert "canister.CORS = '*'" in message and "canister.cors = 'https://app.example.com'" in message


def test_a_secret_under_two_spellings_is_not_echoed(make_app):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(config={'auth_jwt_secret': 'first-secret-value-of-32-bytes!!',
                         'AUTH_JWT_SECRET': 'other-secret-value-of-32-bytes!!'})
    message = str(raised.value)
    assert 'secret-value' not in message and 'AUTH_JWT_SECRET' in message


def test_a_keyword_argument_still_overrides_the_app_config_under_either_spelling(make_app, log_dir):
    make_app(config={'session_timeout': '600'}, session_timout=60)
    assert banner_value(read_log(log_dir), 'session_timeout') == '60'
