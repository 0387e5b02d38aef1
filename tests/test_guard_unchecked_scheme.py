"""A guard's 401 to a request whose ``Authorization`` header is of a scheme canister is not configured for (a
Bearer token sent to an app set up for Basic alone, or for no scheme) says so in a WARNING: canister leaves such a
header to the app, and the 401 alone told neither the client nor the developer why the credentials were not taken."""
from __future__ import annotations

import canister
from helpers import basic, log_after, readme_section, warning_lines
from servers import Client

TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl'
BASIC_USER = {'auth_basic_username': 'alice', 'auth_basic_password': canister.hash_password('pw', iterations=1000)}


def guarded_app(make_app, config):
    app = make_app(config=config)

    @app.get('/me')
    @canister.require_user
    def me():
        return 'Hello %s' % canister.session.user

    @app.get('/open')
    def open_page():
        return 'open to %s' % canister.session.user

    return app


def answer_and_log(serve, app, log_dir, path, authorization):
    answer = Client(serve(app)).get(path, headers={'Authorization': authorization})
    return answer, log_after(log_dir, 'Response: %d' % answer.status)


def test_a_bearer_token_to_an_app_configured_for_basic_alone_gets_the_401_and_a_warning_saying_why(
        make_app, serve, log_dir):
    answer, log = answer_and_log(serve, guarded_app(make_app, BASIC_USER), log_dir, '/me', 'Bearer ' + TOKEN)
    assert answer.status == 401
    assert answer.headers['WWW-Authenticate'] == 'Basic realm="canister", charset="UTF-8"'
    assert warning_lines(log_dir)[-1].endswith(
        "The guard on me answered 401: nobody is logged in, and the request's Authorization header is of the scheme "
        "'Bearer', which canister is not configured for (it checks Basic), so canister left it to the app: to check "
        "it, set auth_jwt_secret, auth_jwt_public_key or auth_jwt_jwks_url")
    assert TOKEN not in log and TOKEN.split('.')[1] not in log


def test_basic_credentials_to_an_app_configured_for_no_scheme_get_a_warning_without_the_password(
        make_app, serve, log_dir):
    header = basic('alice', 'my-secret')
    answer, log = answer_and_log(serve, guarded_app(make_app, None), log_dir, '/me', header)
    assert answer.status == 401
    assert answer.headers['WWW-Authenticate'] == 'Session realm="canister"'
    assert warning_lines(log_dir)[-1].endswith(
        "the request's Authorization header is of the scheme 'Basic', which canister is not configured for (it "
        "checks none), so canister left it to the app: to check it, set auth_basic_username and "
        "auth_basic_password, or auth_basic_users_file")
    assert header.split()[1] not in log and 'my-secret' not in log


def test_a_scheme_of_the_apps_own_is_named_without_a_setting_to_set(make_app, serve, log_dir):
    answer, log = answer_and_log(serve, guarded_app(make_app, BASIC_USER), log_dir, '/me', 'Custom key-12345')
    assert answer.status == 401
    assert warning_lines(log_dir)[-1].endswith(
        "is of the scheme 'Custom', which canister is not configured for (it checks Basic), so canister left it to "
        "the app")
    assert 'key-12345' not in log


def test_a_route_without_a_guard_leaves_a_scheme_of_the_apps_own_alone_and_says_nothing(make_app, serve, log_dir):
    answer, _ = answer_and_log(serve, guarded_app(make_app, BASIC_USER), log_dir, '/open', 'Bearer ' + TOKEN)
    assert (answer.status, answer.text) == (200, 'open to None')
    assert warning_lines(log_dir) == []


def test_a_guards_401_to_a_request_without_credentials_logs_no_warning(make_app, serve, log_dir):
    answer = Client(serve(guarded_app(make_app, BASIC_USER))).get('/me')
    log_after(log_dir, 'Response: 401')
    assert answer.status == 401
    assert warning_lines(log_dir) == []


def test_the_readme_quotes_the_warning_as_the_log_writes_it(make_app, serve, log_dir):
    answer_and_log(serve, guarded_app(make_app, BASIC_USER), log_dir, '/me', 'Bearer ' + TOKEN)
    line = warning_lines(log_dir)[-1].split('   ', 1)[1]
    section = readme_section('### How a request is logged in')
    assert 'never the credentials' in section
    assert '`%s`' % line in section
