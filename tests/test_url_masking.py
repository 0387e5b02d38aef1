"""The password of a Redis URL never reaches the log or an exception, whatever characters it holds
(`#`, `/`, `?`, `@`): the install banner, the install error and the ConfigError mask the whole user information."""
from __future__ import annotations

import re
import warnings

import pytest

import canister
from helpers import read_log
from servers import status_of, wsgiref_answer

#: Passwords, and the pieces of each that must never be seen (split at the characters that ended the old mask).
PASSWORDS = ['S3cr#Et9x', 'Zm9v/YmFy+pw', 'Qu3r?Y9ry', 'At7s@Gn4x', 'Al1x/Of2x?Th3x#Em4x@On5x', 'Pl4inPw9']


def pieces(password: str):
    return [piece for piece in re.split(r'[/?#@:]', password) if len(piece) >= 4]


def install_error(make_app, url: str) -> str:
    """Install with this session_store; the text of the ConfigError, or '' if it installed."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # nothing listens on port 1
        try:
            make_app(session_store=url)
        except canister.ConfigError as error:
            return str(error)
    return ''


@pytest.mark.parametrize('password', PASSWORDS)
@pytest.mark.parametrize('form', ['redis://:%s@127.0.0.1:1/0', 'redis://app:%s@127.0.0.1:1/0',
                                  'redis+sentinel://app:%s@127.0.0.1:1,127.0.0.1:2/mymaster/0'])
def test_no_piece_of_the_password_is_logged_or_raised(make_app, log_dir, password, form):
    error = install_error(make_app, form % password)
    log = read_log(log_dir)
    assert 'canister.session_store' in log                      # the banner was written
    for piece in pieces(password):
        assert piece not in log and piece not in error, (piece, log, error)
    assert form % '***' in log


@pytest.mark.parametrize('password', ['S3cr#Et9x', 'At7s@Gn4x', 'Pl4inPw9'])
def test_a_password_with_hash_or_at_sign_installs(make_app, log_dir, password):
    assert install_error(make_app, 'redis://:%s@127.0.0.1:1/0' % password) == ''
    assert 'Install failed' not in read_log(log_dir)


@pytest.mark.parametrize('password', ['Zm9v/YmFy+pw', 'Qu3r?Y9ry'])
def test_a_slash_or_question_mark_in_the_password_is_refused_saying_how_to_write_it(make_app, log_dir, password):
    error = install_error(make_app, 'redis://:%s@127.0.0.1:1/0' % password)
    assert error == ("canister.session_store = 'redis://:***@127.0.0.1:1/0' is not a valid Redis URL: a '/' or '?' "
                     "in the user name or password must be written %2F or %3F (and an '@' after the host %40)")
    assert 'Install failed: ' + error in read_log(log_dir)


def test_the_encoded_password_reaches_redis_decoded():
    store = canister.RedisStore('redis://:Zm9v%2FYmFy%3Fpw@127.0.0.1:1/0')
    assert store.client.connection_pool.connection_kwargs['password'] == 'Zm9v/YmFy?pw'


def test_an_at_sign_in_a_certificate_path_of_the_query_is_no_password(tmp_path):
    ca = tmp_path / 'ops@site-ca.pem'
    ca.write_text('')
    store = canister.RedisStore('rediss://:pw@127.0.0.1:1/0?ssl_ca_certs=%s' % ca)
    assert store.client.connection_pool.connection_kwargs['ssl_ca_certs'] == str(ca)
    store = canister.RedisStore('rediss://127.0.0.1:1/0?ssl_ca_certs=%s' % str(ca).replace('@', '%40'))
    assert store.client.connection_pool.connection_kwargs['ssl_ca_certs'] == str(ca)


@pytest.mark.parametrize('password', ['Qu3r?Y9ry', 'Qu3r?a=Y9ry', 'Qu3r?ssl_ca_certs=Y9ry'])
def test_a_question_mark_in_the_password_is_refused_whatever_follows_it(make_app, log_dir, password):
    error = install_error(make_app, 'rediss://:%s@127.0.0.1:1/0' % password)
    assert "a '/' or '?' in the user name or password must be written %2F or %3F" in error
    for piece in pieces(password):
        assert piece not in error and piece not in read_log(log_dir)


# -- secret-looking names in the query of a URL ----------------------------------------

def test_a_password_given_in_the_query_of_a_redis_url_is_masked_in_the_banner_the_error_and_the_log(make_app, log_dir):
    error = install_error(make_app, 'redis://127.0.0.1:6379/0?password=Sup3rS3cret')
    assert error.startswith("canister.session_store = 'redis://127.0.0.1:6379/0?password=***' is not a valid Redis "
                            "URL: unknown option 'password'"), error
    log = read_log(log_dir)
    assert 'Sup3rS3cret' not in log
    assert re.search(r' INFO .*canister\.session_store +  = redis://127\.0\.0\.1:6379/0\?password=\*\*\*$', log, re.M)
    assert 'Install failed: ' + error in log


def test_a_token_in_the_query_of_a_jwks_url_is_masked_in_the_banner_and_other_values_are_kept(make_app, log_dir):
    make_app(auth_jwt_jwks_url='https://idp.example/keys?tenant=acme;api_key=K3yInQu3ry&access_token=T0kInQu3ry'
                               '#view=1&id_token=Fr4gT0k')
    log = read_log(log_dir)
    assert 'K3yInQu3ry' not in log and 'T0kInQu3ry' not in log and 'Fr4gT0k' not in log
    assert re.search(r'canister\.auth_jwt_jwks_url +  = https://idp\.example/keys\?tenant=acme;api_key=\*\*\*'
                     r'&access_token=\*\*\*#view=1&id_token=\*\*\*$', log, re.M), log


def test_a_query_with_no_secret_looking_name_is_shown_as_given(tmp_path, make_app, log_dir):
    ca = tmp_path / 'ca.pem'
    ca.write_text('')
    install_error(make_app, 'rediss://:Pl4inPw9@127.0.0.1:1/0?ssl_ca_certs=%s' % ca)
    assert 'rediss://:***@127.0.0.1:1/0?ssl_ca_certs=%s' % ca in read_log(log_dir)


# -- the user information of an absolute-form request target --------------------------

def test_a_password_in_an_absolute_form_request_target_is_masked_in_the_request_line(make_app, log_dir):
    # wsgiref (bottle.run's default server) passes `GET http://user:pw@host/x` on in PATH_INFO.
    app = make_app()

    @app.get('/x')
    def x():
        return 'x'

    answer = wsgiref_answer(app, b'GET http://bob:Hunter2Secret@127.0.0.1/x?api_key=Qu3ryK3y HTTP/1.1\r\n'
                                 b'Host: 127.0.0.1\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 404
    log = read_log(log_dir)
    assert 'Hunter2Secret' not in log and 'Qu3ryK3y' not in log
    assert re.search(r'\]   GET http://127\.0\.0\.1http://bob:\*\*\*@127\.0\.0\.1/x\?api_key=\*\*\*$', log, re.M), log


# -- the user information of a Host header --------------------------------------------------

def host_with_password_sent(make_app, request: bytes) -> bytes:
    """``request`` (its head up to the Host header's value) sent to a served app with GET and POST /x, with
    ``Host: bob:Hunter2Secret@127.0.0.1`` (no browser sends user information there, a hand-made client may)."""
    app = make_app()
    app.route('/x', ['GET', 'POST'], lambda: 'x')
    return wsgiref_answer(app, request + b'Host: bob:Hunter2Secret@127.0.0.1\r\nConnection: close\r\n\r\n')


def test_a_password_in_the_host_header_is_masked_in_the_request_line(make_app, log_dir):
    assert status_of(host_with_password_sent(make_app, b'GET /x?api_key=Qu3ryK3y HTTP/1.1\r\n')) == 200
    log = read_log(log_dir)
    assert 'Hunter2Secret' not in log and 'Qu3ryK3y' not in log
    assert re.search(r'\]   GET http://bob:\*\*\*@127\.0\.0\.1/x\?api_key=\*\*\*$', log, re.M), log


def test_a_password_in_the_host_header_is_masked_in_the_line_of_a_refused_cross_site_request(make_app, log_dir):
    answer = host_with_password_sent(make_app, b'POST /x HTTP/1.1\r\nOrigin: https://evil.example\r\n')
    assert status_of(answer) == 403
    log = read_log(log_dir)
    assert 'Hunter2Secret' not in log
    assert 'this app sees its own origin as http://bob:***@127.0.0.1;' in log
