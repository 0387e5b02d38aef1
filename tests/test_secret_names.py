"""Secrets never reach the log or an error answer: one list of secret-looking names, matched
against decoded names in any case, for the banner, the request line and parameter errors."""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import canister
from helpers import basic, client, read_log


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
    # The config keys masked in the banner are the names the request line masks (but a switch,
    # cors_credentials, whose true or false is no secret).
    # The session cookie's name is none either: the banner shows session_cookie, a query's cookie is masked; nor
    # is auth_jwt_public_key's file path (a key's text there is masked, tests/test_config_values_as_given.py).
    for key in canister.KEYS:
        if canister.KEYS[key].parse is canister._as_bool or key in ('session_cookie', 'auth_jwt_public_key'):
            continue
        query = canister._redact_query('%s=value' % key)
        assert (query == '%s=***' % key) == (canister._redacted(key, 'value') == '***'), key


#: Pieces of names: the words of the list, as they are and capitalised, and what may stand around them.
NAME_PIECES = ['passw', 'passphrase', 'passcode', 'pwd', 'secret', 'token', 'apikey', 'authoriz', 'credential',
               'hmac', 'totp', 'sessid', 'sessionid', 'session_id', 'session-id', 'key', 'code', 'auth', 'sig',
               'signature', 'pass', 'otp', 'pin', 'jwt', 'bearer', 'Bearer', 'sid', 'session', 'verifier', 'assertion',
               'samlresponse', 'saml', 'response', 'Response',
               'cvv', 'cvc', 'card', 'Card', 'number', 'Number', 'num', 'no', 'creditcard', 'pan', 'csc', 'cc',
               'ssn', 'Ssn', 'social', 'security', 'national', 'cookie', 'Key', 'Pin', 'Session',
               'Sid', 'Jwt', 'PWD', 'TOTP', 'privatekey', 's', 'Keys', 'word', 'Word', 'phrase', 'private', 'api',
               'a', 'x', 'Z', 'id', '_', '-', '.', '+', '1', '%5F', '\u017f', '\u212a',
               '[', ']', '[]', '[0]', '%5B', '%5D']


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(NAME_PIECES), max_size=5).map(''.join))
def test_the_quick_check_for_secret_words_never_changes_which_values_are_masked(name):
    # The request line skips a query, and a name, in which no word of the list could match; the
    # full rule (`_SECRET_NAME`) must give the same answer for every name.
    secret = canister._SECRET_NAME.search(urllib.parse.unquote_plus(name)) is not None
    assert canister._is_secret_name(urllib.parse.unquote_plus(name)) == secret
    assert canister._redact_query('page=2&%s=v&next=3' % name) == 'page=2&%s=%s&next=3' % (name, '***' if secret else 'v')


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

def assert_400_without_the_value(response, log_dir, value, said, logged):
    """A 400 whose body holds ``said``, logged as a WARNING matching ``logged``; ``value`` in neither."""
    assert response.status_int == 400
    assert said in response.text
    assert value not in response.text
    log = read_log(log_dir)
    assert re.search(r' WARNING .*' + logged, log)
    assert value not in log


def test_a_400_for_a_secret_named_query_parameter_does_not_echo_its_value(make_app, log_dir):
    app = make_app()

    @app.get('/key')
    def key(api_key: int):
        return {'key': api_key}

    response = client(app).get('/key?api_key=SECRET-VALUE', expect_errors=True)
    assert_400_without_the_value(response, log_dir, 'SECRET-VALUE', 'api_key',
                                 "Bad request: parameter 'api_key' must be an integer")


def test_a_400_for_a_secret_named_json_value_does_not_echo_it(make_app, log_dir):
    app = make_app()

    @app.post('/login')
    def login(password: str):
        return 'ok'

    response = client(app).post('/login', json.dumps({'password': 987654321}),
                                content_type='application/json', expect_errors=True)
    assert_400_without_the_value(response, log_dir, '987654321', "'password' must be a string",
                                 "'password' must be a string")


# -- names the list gained, and names it still leaves alone ----------------------------

@pytest.mark.parametrize('name', ['jwt', 'id_jwt', 'passphrase', 'key_passphrase', 'passcode', 'totp', 'totp_value',
                                  'hmac', 'hmac_digest', 'code_verifier', 'oauth_verifier', 'sid', 'x-sid', 'userSid',
                                  'session', 'user_session', 'sessid', 'PHPSESSID', 'JSESSIONID', 'sessionId',
                                  'session_id', 'session-id', 'pin', 'card_pin', 'cardPin', 'pw', 'PW', 'user_pw',
                                  'newPw', 'client_assertion', 'assertion', 'SAMLResponse', 'bearer', 'Bearer',
                                  'x_bearer', 'xBearer', 'user[bearer]', 'session.id', 'session[id]',
                                  'user[session][id]', 'session__id', 'saml_response', 'SAML-Response',
                                  # payment cards, national ids, cookies
                                  'cvv', 'CVV', 'cvv2', 'card_cvc', 'cvc', 'csc', 'card', 'card_number', 'cardNumber',
                                  'card%5Bnumber%5D', 'card[cvc]', 'credit_card', 'creditCard', 'creditcard', 'ccnum',
                                  'cc_number', 'card_no', 'pan', 'card_pan', 'ssn', 'user_ssn',
                                  'social_security_number', 'national_id', 'nationalId', 'cookie', 'session_cookie',
                                  # each spelling the README names
                                  'cardnumber', 'cardnum', 'card-num', 'card[number]', 'socialsecurity', 'nationalid',
                                  'cardno', 'ccnumber'])
def test_tokens_session_ids_one_time_codes_pins_cards_national_ids_and_cookies_are_written_as_stars(make_app, log_dir, name):
    app = echo_app(make_app)
    value = 'Qz7-hidden-value-%d' % abs(hash(name))
    client(app).get('/echo?page=2&%s=%s&next=3' % (name, value))
    log = read_log(log_dir)
    assert value not in log
    assert re.search(r'\]   GET http://localhost:80/echo\?page=2&%s=\*\*\*&next=3$' % re.escape(name), log, re.M), log


@pytest.mark.parametrize('name', ['consider', 'inside', 'sessions', 'session_count', 'obsession', 'spin', 'pinned',
                                  'opinion', 'hotpot', 'jwt_issuer', 'passenger', 'npw', 'pwa',
                                  'assertions', 'SAMLRequest', 'bearer_type', 'forbearer',
                                  # words that only hold a card or id word
                                  'discard', 'cards_count', 'cards', 'card_type', 'card_id', 'scorecard', 'cardinal',
                                  'span', 'japan', 'company', 'panel', 'classname', 'ssn_last4', 'nationality',
                                  'account_number', 'acc_number', 'cookies', 'cookie_consent'])
def test_words_that_only_hold_a_secret_word_are_logged_as_sent(make_app, log_dir, name):
    app = echo_app(make_app)
    client(app).get('/echo?%s=plain-value-7' % name)
    assert re.search(r'\]   GET http://localhost:80/echo\?%s=plain-value-7$' % name, read_log(log_dir), re.M)


@pytest.mark.parametrize('name, value, answer', [
    ('number', 'twelve', "Bad request: parameter 'number' must be an integer, got 'twelve'\n"),
    ('cvv', '12x', "Bad request: parameter 'cvv' must be an integer (the value is not shown: the name looks secret)\n")],
    ids=['an ordinary parameter still shows the value', 'a card security code does not echo the value'])
def test_a_400_shows_the_value_sent_unless_the_parameters_name_looks_secret(make_app, log_dir, name, value, answer):
    app = make_app()

    @app.get('/pay')
    def pay(number: int = 0, cvv: int = 0):
        return 'ok'

    response = client(app).get('/pay?%s=%s' % (name, value), expect_errors=True)
    assert response.status_int == 400
    assert response.text == answer
    log = read_log(log_dir)
    assert (value in log) is (name == 'number')
    assert re.search(r" WARNING .*\]   %s$" % re.escape(answer.strip()), log, re.M), log


def test_config_keys_about_sessions_and_jwt_still_show_their_values_in_the_banner(make_app, log_dir):
    make_app(session_cookie='app_sid', session_store='memory', auth_jwt_issuer='https://issuer.example/')
    log = read_log(log_dir)
    for key, value in [('session_cookie', 'app_sid'), ('session_store', 'memory'),
                       ('auth_jwt_issuer', 'https://issuer.example/'), ('auth_jwt_encoding', 'clear'),
                       ('session_timeout', '3600')]:
        assert re.search(r'canister\.%s += %s$' % (key, re.escape(value)), log, re.M), (key, log)


def test_a_400_for_a_one_time_code_or_a_pin_does_not_echo_the_value(make_app, log_dir):
    app = make_app()

    @app.route('/verify', method=['GET', 'POST'])
    def verify(totp: int = 0, pin: int = 0):
        return 'ok'

    by_query = client(app).get('/verify?totp=12345x', expect_errors=True)
    by_json = client(app).post('/verify', json.dumps({'pin': '98a7'}), content_type='application/json',
                               expect_errors=True)
    assert (by_query.status_int, by_json.status_int) == (400, 400)
    assert by_query.text == ("Bad request: parameter 'totp' must be an integer "
                             "(the value is not shown: the name looks secret)\n")
    assert by_json.text == "Bad request: parameter 'pin' must be an integer (the value is not shown: the name looks secret)\n"
    log = read_log(log_dir)
    assert re.search(r" WARNING .*Bad request: parameter 'pin' must be an integer \(the value is not shown", log)
    assert '12345x' not in log and '98a7' not in log


# -- ';' between names -----------------------------------------------------------------

@pytest.mark.parametrize('query, logged', [
    ('lang=en;access_token=Sm1c0-Hidden&page=2', 'lang=en;access_token=***&page=2'),
    ('lang=en;x=1;pwd=Sm1c0-Hidden&page=2', 'lang=en;x=1;pwd=***&page=2'),
    ('page=2;access_token=Sm1c0-Hidden;Tail-Hidden&next=3', 'page=2;access_token=***&next=3'),
    ('access_token=Sm1c0-Hidden;Tail-Hidden&next=3', 'access_token=***&next=3'),
    ('access_token;x=Sm1c0-Hidden&next=3', 'access_token;x=***&next=3'),
    ('lang=en;page=2', 'lang=en;page=2'),
])
def test_a_semicolon_separates_names_for_masking_and_the_value_runs_to_the_next_ampersand(make_app, log_dir,
                                                                                         query, logged):
    # Bottle splits at '&' only: the value of `access_token` in `access_token=a;b` is `a;b`, all of it hidden.
    app = echo_app(make_app)
    client(app).get('/echo?' + query)
    log = read_log(log_dir)
    assert 'Hidden' not in log
    assert re.search(r'\]   GET http://localhost:80/echo\?%s$' % re.escape(logged), log, re.M), log


@pytest.mark.parametrize('sent, logged', [
    ('cfg={"password":"Sm1c0-Hidden"}&page=2', 'cfg=***&page=2'),
    ('cfg=%7B%22user%22%3A%7B%22api_key%22%3A%20%22Sm1c0-Hidden%22%7D%7D', 'cfg=***'),
    ('cfg=[{"token":"Sm1c0-Hidden"}]', 'cfg=***'),
    ('cfg={"name":"bob"}', 'cfg={"name":"bob"}'),
])
def test_json_text_with_a_secret_looking_member_in_a_query_value_is_masked_in_the_log_and_the_400(
        make_app, log_dir, sent, logged):
    app = make_app()

    @app.get('/cfg')
    def cfg(cfg: dict, page: int = 1):
        return 'ok'

    answer = client(app).get('/cfg?' + sent, status=400)
    log = read_log(log_dir)
    assert 'Hidden' not in log and 'Hidden' not in answer.text
    assert re.search(r'\]   GET http://localhost:80/cfg\?%s$' % re.escape(logged), log, re.M), log
    if logged != sent:
        assert "got '***'" in answer.text


def test_bottle_splits_the_query_at_ampersands_only(make_app):
    # So the value masked after a secret-looking name runs on to the next '&', past any ';'.
    app = make_app()

    @app.get('/lang')
    def lang(lang=''):
        return lang

    assert client(app).get('/lang?lang=en;access_token=Sm1c0&page=2').text == 'en;access_token=Sm1c0'


# -- Basic user names ------------------------------------------------------------------

def basic_app(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='Wonder1and-Pw')

    @app.get('/me')
    def me():
        return 'ok'

    return app


@pytest.mark.parametrize('username', ['Corr3ct-Horse-Battery', 'Pw' + 'x' * 4998])
def test_a_password_typed_as_the_user_name_reaches_neither_the_401_nor_the_log(make_app, log_dir, username):
    app = basic_app(make_app)
    response = client(app).get('/me', headers={'Authorization': basic(username, '')}, expect_errors=True)
    assert response.status_int == 401
    assert response.text == 'Authentication failed: wrong user name or password\n'
    log = read_log(log_dir)
    assert username[:6] not in log
    assert re.search(r" WARNING .*\]   Authentication failed: unknown user name \(not shown: it may be a password\)$",
                     log, re.M), log
    assert max(len(line) for line in log.splitlines()) < 400


def test_a_known_user_with_a_wrong_password_is_named_in_the_log_only(make_app, log_dir):
    app = basic_app(make_app)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'Guess3d-Pw')}, expect_errors=True)
    assert response.status_int == 401
    assert response.text == 'Authentication failed: wrong user name or password\n'
    log = read_log(log_dir)
    assert re.search(r" WARNING .*\]   Authentication failed: wrong password for 'alice'$", log, re.M), log
    assert 'Guess3d-Pw' not in log


# -- the path is not masked ----------------------------------------------------------

def test_a_secret_in_the_path_is_logged_and_one_in_the_query_under_a_secret_name_is_not(make_app, log_dir):
    """The README's advice: the request line writes the path as sent (a reset link's token in it is
    in the log); the same token as ``?token=`` is written ``token=***``."""
    app = make_app()

    @app.get('/reset/<code>')
    def reset_by_path(code):
        return 'ok'

    @app.get('/reset')
    def reset_by_query(token):
        return 'ok'

    web = client(app)
    web.get('/reset/Path-Hidden-4d2')
    web.get('/reset?token=Query-Hidden-9f1')
    log = read_log(log_dir)
    assert 'GET http://localhost:80/reset/Path-Hidden-4d2' in log
    assert 'Query-Hidden-9f1' not in log and '/reset?token=***' in log
