"""Secrets never reach the log or an error answer: one list of secret-looking names, matched
against decoded names in any case, for the banner, the request line and parameter errors."""
from __future__ import annotations

import json
import re

import pytest

import canister
from helpers import client, read_log


def echo_app(make_app, **overrides):
    app = make_app(**overrides)

    @app.route('/echo', method=['GET', 'POST'])
    def echo(**params):
        return {'names': sorted(params)}

    return app


# -- the request line ------------------------------------------------------------------

@pytest.mark.parametrize('name', ['pwd', 'PWD', '%70assword', 'pass%77ord', 'authorization', 'Authorization',
                                  'api_key', 'apiKey', 'access_token', 'client_secret', 'x-auth', 'db_pass',
                                  'PassWord', 'pass+word%5Fkey', 'sig', 'code', 'apikey', 'credentials', 'otp',
                                  'x_signature', 'user.pass', 'AuthCode'])
def test_a_secret_looking_query_value_is_written_as_stars(make_app, log_dir, name):
    app = echo_app(make_app)
    value = 'Qz7-hidden-value-%d' % abs(hash(name))  # no secret word in it
    client(app).get('/echo?page=2&%s=%s&next=3' % (name, value))
    log = read_log(log_dir)
    assert value not in log
    assert re.search(r'\]   GET http://localhost:80/echo\?page=2&%s=\*\*\*&next=3$' % re.escape(name), log, re.M), log


@pytest.mark.parametrize('name', ['page', 'monkey', 'passport', 'zipcode', 'bypass', 'keyboard'])
def test_an_ordinary_query_value_is_logged_as_sent(make_app, log_dir, name):
    app = echo_app(make_app)
    client(app).get('/echo?%s=plain-value-7' % name)
    assert re.search(r'\]   GET http://localhost:80/echo\?%s=plain-value-7$' % name, read_log(log_dir), re.M)


def test_one_list_of_names_serves_config_keys_and_query_names_alike():
    # The config keys masked in the banner are the names the request line masks.
    for key in canister.KEYS:
        query = canister._redact_query('%s=value' % key)
        assert (query == '%s=***' % key) == (canister._redacted(key, 'value') == '***'), key


# -- the banner ------------------------------------------------------------------------

def test_a_password_in_the_session_store_url_is_masked_in_the_banner(make_app, log_dir):
    make_app(session_store='redis://:S3cretPw@127.0.0.1:1/0')  # unreachable: install goes on with a WARNING
    log = read_log(log_dir)
    assert 'S3cretPw' not in log
    assert re.search(r' INFO .*canister\.session_store +  = redis://:\*\*\*@127\.0\.0\.1:1/0$', log, re.M), log


def test_a_user_and_password_in_a_url_keep_the_user_and_mask_the_password(make_app, log_dir):
    make_app(session_store='redis://app-user:An0ther-Pw@127.0.0.1:1/0')
    log = read_log(log_dir)
    assert 'An0ther-Pw' not in log
    assert re.search(r'canister\.session_store +  = redis://app-user:\*\*\*@127\.0\.0\.1:1/0$', log, re.M), log


def test_a_failed_install_does_not_log_the_store_password(make_app, log_dir):
    with pytest.raises(canister.ConfigError):
        make_app(session_store='redis://:Fa1led-Pw@127.0.0.1:notaport/0')
    log = read_log(log_dir)
    assert 'Install failed' in log
    assert 'Fa1led-Pw' not in log


# -- parameter errors ------------------------------------------------------------------

def test_a_400_for_a_secret_named_query_parameter_does_not_echo_its_value(make_app, log_dir):
    app = make_app()

    @app.get('/key')
    def key(api_key: int):
        return {'key': api_key}

    response = client(app).get('/key?api_key=SECRET-VALUE', expect_errors=True)
    assert response.status_int == 400
    assert 'api_key' in response.text
    assert 'SECRET-VALUE' not in response.text
    log = read_log(log_dir)
    assert re.search(r" WARNING .*Bad request: parameter 'api_key' must be an integer", log)
    assert 'SECRET-VALUE' not in log


def test_a_400_for_a_secret_named_json_value_does_not_echo_it(make_app, log_dir):
    app = make_app()

    @app.post('/login')
    def login(password: str):
        return 'ok'

    response = client(app).post('/login', json.dumps({'password': 987654321}),
                                content_type='application/json', expect_errors=True)
    assert response.status_int == 400
    assert "'password' must be a string" in response.text
    assert '987654321' not in response.text
    log = read_log(log_dir)
    assert re.search(r" WARNING .*'password' must be a string", log)
    assert '987654321' not in log


def test_a_400_for_an_ordinary_parameter_still_shows_the_value(make_app):
    app = make_app()

    @app.get('/page')
    def page(number: int):
        return 'ok'

    response = client(app).get('/page?number=twelve', expect_errors=True)
    assert response.status_int == 400
    assert "parameter 'number' must be an integer, got 'twelve'" in response.text
