"""What reaches the log, tried as an attacker (or a careless operator) would: secrets in places the masking
did not look, through a real waitress server and the log files on disk, and in the errors of an install."""
from __future__ import annotations

import json
import urllib.parse

import pytest
from cryptography.hazmat.primitives import serialization

import canister
from helpers import banner_setting, raw_answer_and_log, read_log
from servers import Client, status_of


def _form_route(app):
    @app.post('/form')
    def form():
        return 'posted'


def _int_route(app):
    @app.route('/page', method=['GET', 'POST'])
    def page(number: int):
        return str(number)


@pytest.mark.parametrize('sent', ['json', 'query'])
def test_a_url_with_a_password_that_does_not_convert_is_shown_with_the_password_masked(make_app, serve, log_dir, sent):
    """A URL sent to a parameter it does not convert for was shown whole in the 400 and its WARNING line,
    the password of its user information with it: ``got 'https://bob:hunter2@host/x'``."""
    app = make_app()
    _int_route(app)
    web = Client(serve(app))
    url = 'https://bob:hunter2@example.com/hook'
    if sent == 'json':
        answer = web.request('POST', '/page', body=json.dumps({'number': url}),
                             headers={'Content-Type': 'application/json'})
    else:
        answer = web.get('/page?number=' + urllib.parse.quote(url, safe=''))
    log = read_log(log_dir)
    assert answer.status == 400
    assert "got 'https://bob:***@example.com/hook'" in answer.text
    assert "Bad request: parameter 'number' must be an integer, got 'https://bob:***@example.com/hook'" in log
    assert 'hunter2' not in answer.text + log


@pytest.mark.parametrize('query', ['next=https://bob:hunter2@example.com/x',
                                   'next=https%3A%2F%2Fbob%3Ahunter2%40example.com%2Fx'])
def test_a_query_value_holding_a_url_with_a_password_is_masked_whole_in_the_request_line(make_app, serve, log_dir,
                                                                                         query):
    """The request line masked query values by their names only: ``?next=https://bob:hunter2@host/`` (a return
    address, a webhook) was written as sent, raw or percent-encoded."""
    app = make_app()
    _int_route(app)
    answer = Client(serve(app)).get('/page?number=1&%s&mail=bob@example.com' % query)
    log = read_log(log_dir)
    assert answer.status == 200
    assert '/page?number=1&next=***&mail=bob@example.com\n' in log
    assert 'hunter2' not in log


def test_a_url_with_a_password_inside_a_json_object_that_does_not_convert_is_masked(make_app, serve, log_dir):
    """The members of a JSON object a 400 shows are masked by name; a member holding a URL kept its password."""
    app = make_app()
    _int_route(app)
    answer = Client(serve(app)).request('POST', '/page', body=json.dumps({'number': {'store': 'redis://:hunter2@db:6379/0'}}),
                                        headers={'Content-Type': 'application/json'})
    assert answer.status == 400
    assert "got {'store': 'redis://:***@db:6379/0'}" in answer.text
    assert 'hunter2' not in answer.text + read_log(log_dir)


def test_a_json_member_name_written_with_escapes_in_a_query_value_is_masked_as_its_decoded_name(make_app, serve,
                                                                                                 log_dir):
    """``{"pass\\u0077ord": ...}`` is the member ``password`` to any JSON reader, but a query value holding it
    was written as sent in the request line and in the 400: its name was matched as written, escapes and all."""
    app = make_app()
    _int_route(app)
    value = urllib.parse.quote('{"pass\\u0077ord": "hunter2"}', safe='')
    answer = Client(serve(app)).get('/page?number=' + value)
    log = read_log(log_dir)
    assert answer.status == 400
    assert "must be an integer, got '***'" in answer.text
    assert '/page?number=***' in log
    assert 'hunter2' not in answer.text + log


def test_an_origin_with_a_password_is_masked_in_the_reason_of_the_config_error_too(make_app):
    """The ConfigError masked the value it names, and then quoted it again unmasked in its reason:
    ``canister.cors = 'https://u:***@example.com' is not valid: 'https://u:hunter2@example.com' is not an origin``."""
    with pytest.raises(canister.ConfigError) as caught:
        make_app(cors='https://u:hunter2@example.com')
    assert "'https://u:***@example.com' is not an origin" in str(caught.value)
    assert 'hunter2' not in str(caught.value)


@pytest.mark.parametrize('url, shown', [
    ('redis://:hunter2 now@127.0.0.1:1/0', 'redis://:***@127.0.0.1:1/0'),
    ('redis://:hunter2\n@127.0.0.1:1/0', 'redis://:***@127.0.0.1:1/0'),
])
def test_a_store_url_whose_password_holds_a_space_is_masked_whole_in_the_banner(make_app, log_dir, url, shown):
    """A URL's user information was masked up to the first space or line break only, as in a message:
    ``canister.session_store = redis://:hunter2 now@...`` showed ``hunter2``."""
    with pytest.warns(canister.CanisterWarning):  # (nothing answers on port 1)
        make_app(session_store=url)
    log = read_log(log_dir)
    assert banner_setting('session_store', shown) + '\n' in log
    assert 'hunter2' not in log


@pytest.mark.parametrize('password', ['hunter2 now', 'hunter2\n'])
def test_a_jwks_url_whose_password_holds_a_space_or_a_line_break_is_masked_whole_in_its_config_error(
        make_app, log_dir, password):
    with pytest.raises(canister.ConfigError) as caught:
        make_app(auth_jwt_jwks_url='https://u:%s@127.0.0.1:1/jwks' % password)
    assert "canister.auth_jwt_jwks_url = 'https://u:***@127.0.0.1:1/jwks' is not valid" in str(caught.value)
    assert 'hunter2' not in str(caught.value) + read_log(log_dir)


def test_a_sqlite_store_whose_path_holds_an_at_sign_is_shown_whole_in_the_banner(make_app, log_dir, tmp_path):
    """A file's path is no user information: ``sqlite:////srv/app@blue/sessions.db`` was shown
    ``sqlite://***@blue/sessions.db``, naming no file the operator could look for."""
    folder = tmp_path / 'app@blue'
    folder.mkdir()
    url = 'sqlite:///%s/sessions.db' % folder

    make_app(session_store=url)

    assert banner_setting('session_store', url) + '\n' in read_log(log_dir)


def test_a_store_url_missing_its_slashes_is_refused_with_its_password_masked(make_app, log_dir):
    """``redis:pw@host`` (the ``//`` left out) is no URL to the masking, so the banner and the ConfigError
    showed the password as written."""
    with pytest.raises(canister.ConfigError) as caught:
        make_app(session_store='redis:hunter2@127.0.0.1')
    log = read_log(log_dir)
    assert "canister.session_store = 'redis:***@127.0.0.1' is not valid" in str(caught.value)
    assert banner_setting('session_store', 'redis:***@127.0.0.1') + '\n' in log
    assert 'hunter2' not in str(caught.value) + log


def test_a_key_pasted_as_auth_jwt_public_key_is_not_shown_in_the_error_or_the_log(make_app, log_dir, rsa_key):
    """``auth_jwt_public_key`` names a file; the text of a key given instead (a private one, pasted from a
    secret store) was quoted whole, twice, in the ConfigError and the log's ``Install failed`` line."""
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    body = pem.splitlines()[1]
    with pytest.raises(canister.ConfigError) as caught:
        make_app(auth_jwt_public_key=pem, auth_jwt_algorithms='RS256')
    log = read_log(log_dir)
    assert str(caught.value) == ('canister.auth_jwt_public_key holds the text of a PEM key (not shown), not the path '
                                 "of a file: save the provider's public key to a file and give its path")
    assert 'Install failed: canister.auth_jwt_public_key holds the text of a PEM key (not shown)' in log
    assert body not in str(caught.value) + log
    assert 'PRIVATE KEY' not in str(caught.value) + log


@pytest.mark.parametrize('form', [serialization.PublicFormat.SubjectPublicKeyInfo, 'private'])
def test_a_keys_base64_line_pasted_as_auth_jwt_public_key_is_not_shown_and_is_said_to_be_no_path(
        make_app, log_dir, rsa_key, form):
    """The base64 text of a key on one line, without its ``-----BEGIN`` lines, was quoted whole as a path that
    could not be opened."""
    if form == 'private':
        pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    else:
        pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, form)
    line = ''.join(pem.decode().splitlines()[1:-1])
    with pytest.raises(canister.ConfigError) as caught:
        make_app(auth_jwt_public_key=line, auth_jwt_algorithms='RS256')
    log = read_log(log_dir)
    assert str(caught.value).startswith('canister.auth_jwt_public_key holds the base64 text of a key (not shown), not '
                                        'the path of a file: the key takes a file path;')
    assert 'Install failed: canister.auth_jwt_public_key holds the base64 text of a key (not shown)' in log
    assert line[:40] not in str(caught.value) + log


def test_a_missing_auth_jwt_public_key_file_is_still_named_in_the_error(make_app, tmp_path):
    missing = str(tmp_path / 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA')
    with pytest.raises(canister.ConfigError, match='cannot load a PEM public key') as caught:
        make_app(auth_jwt_public_key=missing, auth_jwt_algorithms='RS256')
    assert repr(missing) in str(caught.value)


def test_a_host_header_whose_password_holds_a_space_is_masked_whole_in_the_request_line(make_app, serve, log_dir):
    """``Host: bob:pw@host`` is logged ``http://bob:***@host/``; a password with a space (which waitress and
    wsgiref both pass on) was masked up to the space only, and the rest written: ``http://bob:hunter2 now@...``."""
    app = make_app()
    _int_route(app)
    answer, log = raw_answer_and_log(serve(app), log_dir,
                                     b'GET /page?number=1 HTTP/1.1\r\nHost: bob:hunter2 now@example.com\r\n'
                                     b'Connection: close\r\n\r\n')
    assert status_of(answer) == 200
    assert 'GET http://bob:***@example.com/page?number=1\n' in log
    assert 'hunter2' not in log


def test_a_host_header_whose_password_holds_a_space_is_masked_whole_in_a_refused_cross_site_line(make_app, serve,
                                                                                                  log_dir):
    """The WARNING of a refused cross-site request names the origin the app sees, from the Host header: its
    password was masked up to a space only."""
    app = make_app()
    _form_route(app)
    answer, log = raw_answer_and_log(serve(app), log_dir,
                                     b'POST /form HTTP/1.1\r\nHost: bob:hunter2 now@127.0.0.1\r\nOrigin: http://evil.example\r\n'
                                     b'Content-Length: 0\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 403
    assert 'this app sees its own origin as http://bob:***@127.0.0.1;' in log
    assert 'hunter2' not in log


def test_an_origin_header_with_a_password_is_masked_in_the_refusal_and_its_line(make_app, serve, log_dir):
    """No browser sends user information in ``Origin``, but any client can: the refusal's answer and WARNING
    named the origin as sent, ``origin http://bob:hunter2@evil.example may not send POST requests here``."""
    app = make_app()
    _form_route(app)
    answer, log = raw_answer_and_log(serve(app), log_dir,
                                     b'POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://bob:hunter2@evil.example\r\n'
                                     b'Content-Length: 0\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 403
    assert 'Cross-site request refused: origin http://bob:***@evil.example may not send POST requests here' in log
    assert b'hunter2' not in answer
    assert 'hunter2' not in log
