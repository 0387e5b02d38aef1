"""A newcomer from Flask (Flask-Login, Flask-Session, Flask-WTF, flask-cors) or Starlette builds a login form,
a session page, a CORS API and a Bearer route: what stopped them, now said or shown."""
from __future__ import annotations

import json
import urllib.parse

import bottle
import jwt as pyjwt
import pytest

import canister
from canister import session
from helpers import bearer, canister_warning_texts, claims, client, jwk, signed_token, warning_lines
from servers import Client
from test_readme import readme_block_of_section

SECRET = 'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4Kl1Mz8Nx5Cv3Bb6Vn0Q'  # 64 bytes


@pytest.mark.parametrize('name, hint', [
    # closeness of spelling pointed these at a wrong key (given in the comment)
    ('trusted_origins', 'did you mean csrf_trusted_origins? an origin it lists passes the CSRF check (cors lets '
                        'its pages read the answers too); trusted_proxies takes the addresses of reverse '
                        'proxies'),                                                   # was: trusted_proxies
    ('wtf_csrf_methods', 'canister has no such setting: its CSRF check takes no token, it reads where an unsafe '
                         'request comes from (Sec-Fetch-Site, Origin, Referer); csrf turns it off'),  # cors_methods
    ('session_file_dir', 'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// '
                         'URL'),                                                             # was: session_secure
    ('session_redis_url', 'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// '
                          'URL'),                                                      # was: session_redis_prefix
    ('session_use_signer', 'canister needs no secret key: the cookie holds a random id of a session kept on the '
                           'server, nothing signed'),                                      # was: session_samesite
    ('session_protection', "canister has no such setting: a session is not tied to the client's address or "
                           'browser, and a login gives it a new id'),                   # was: session_partitioned
    ('cors_vary_header', 'canister has no such setting: its CORS answers always carry Vary: Origin'),  # cors_headers
    ('path', 'canister has no such setting: the session cookie has Path=/, which no setting changes (log_path is '
             'the directory of the log)'),                                              # Starlette's; was: log_path
    # no hint but the families of keys
    ('cors_automatic_options', 'canister has no such setting: it answers CORS preflights itself'),
    ('cors_send_wildcard', 'canister has no such setting: cors = * answers *, and a list of origins the origin '
                           'of the request'),
    ('cors_intercept_exceptions', 'canister has no such setting: its error answers to an allowed origin carry '
                                  'the CORS headers too'),
    ('wtf_csrf_time_limit', 'canister has no such setting: its CSRF check takes no token, it reads where an '
                            'unsafe request comes from (Sec-Fetch-Site, Origin, Referer); csrf turns it off'),
    ('domain', 'canister has no such setting: the cookie never has a Domain, so it stays with this host'),
    ('login_view', 'canister has no such setting: an @app.error(401) handler of the app can send a browser to the '
                   'login form (see A login form in the README)'),
])
def test_settings_of_flask_extensions_and_starlette_that_spelling_misleads_are_pointed_to_canisters_own(
        make_app, name, hint):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={name: '1'})
    assert canister_warning_texts(caught) == ['unknown config key canister.%s (%s)' % (name, hint)]


def test_cors_send_wildcard_says_what_canister_answers_to_cors_star(make_app):
    """The hint of ``cors_send_wildcard`` is what canister does: ``*`` itself to any origin."""
    app = make_app(cors='*')
    app.get('/items', callback=lambda: {'items': []})
    answer = client(app).get('/items', headers={'Origin': 'https://app.example.net'})
    assert answer.headers['Access-Control-Allow-Origin'] == '*'


@pytest.mark.parametrize('claim, token_value, setting, configured', [
    ('iss', 'https://id.example.com', 'auth_jwt_issuer', 'https://id.example.com/'),  # the last / of Auth0's
    ('aud', 'https://api.example.com/', 'auth_jwt_client_id', 'https://api.example.com'),
])
def test_a_token_of_another_issuer_or_audience_is_logged_with_both_values(make_app, log_dir, claim, token_value,
                                                                         setting, configured):
    """"From another issuer" alone left a newcomer comparing two URLs by eye: the line names the token's and the
    configured one (the 401 itself says no more than before)."""
    app = make_app(auth_jwt_secret=SECRET, **{setting: configured})
    app.get('/me', callback=lambda: {'user': session.user})
    token = signed_token(SECRET, **{claim: token_value})
    answer = client(app).get('/me', headers=bearer(token), status=401)
    reason = 'the token is from another issuer' if claim == 'iss' else 'the token is not for this audience'
    assert answer.text == 'Authentication failed: %s\n' % reason
    assert warning_lines(log_dir)[-1].endswith("Authentication failed: %s (its %s is %r; canister.%s is %r)"
                                               % (reason, claim, token_value, setting, configured))


def test_the_claim_of_a_token_in_the_log_line_is_quoted_and_cut(make_app, log_dir):
    """A provider's claim goes into the log quoted (a line break stays on the line) and at most 200 characters."""
    app = make_app(auth_jwt_secret=SECRET, auth_jwt_issuer='https://id.example.com/')
    app.get('/me', callback=lambda: {'user': session.user})
    issuer = 'https://id.example.com/\n2026-01-01 INFO forged' + 'x' * 300
    client(app).get('/me', headers=bearer(signed_token(SECRET, iss=issuer)), status=401)
    line = warning_lines(log_dir)[-1]
    assert "(its iss is 'https://id.example.com/\\n2026-01-01 INFO forged" + 'x' * 149 + "...; canister" in line


def jwks_app(make_app, url):
    """An app that takes the tokens of the JWKS at ``url`` for the audience my-api."""
    app = make_app(auth_jwt_jwks_url=url, auth_jwt_client_id='my-api')
    app.get('/me', callback=lambda: {'user': session.user})
    return app


def kid_token(key, kid):
    return pyjwt.encode(claims(aud='my-api'), key, algorithm='RS256', headers={'kid': kid})


def test_a_token_of_a_kid_the_jwks_lacks_is_logged_with_its_kid_beside_the_kids_the_jwks_gave(
        make_app, log_dir, rsa_key, jwks_server):
    """A kid spelt one way where the tokens are made and another in the JWKS: the line shows both."""
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    answer = client(jwks_app(make_app, jwks_server.url)).get('/me', headers=bearer(kid_token(rsa_key, 'key 1')),
                                                             status=401)
    assert answer.text == 'Authentication failed: the token was signed with an unknown key\n'
    assert warning_lines(log_dir)[-1].endswith("Authentication failed: the token was signed with an unknown key "
                                               "(its kid is 'key 1'; the JWKS URL gave 1 key(s), kids: 'key-1')")


@pytest.mark.parametrize('token_kid, jwks_kid, shown', [
    ('key-1', 'key-1 ', "(its kid is 'key-1'; the JWKS URL gave 1 key(s), kids: 'key-1 ')"),
    ('k' * 100, 'k' * 100 + 'x', "(its kid is '%s...; the JWKS URL gave 1 key(s), kids: '%s...)" % ('k' * 60, 'k' * 60)),
], ids=['trailing-space', 'long'])
def test_a_tokens_kid_and_the_jwks_kids_are_shown_the_same_way(make_app, log_dir, rsa_key, jwks_server,
                                                                token_kid, jwks_kid, shown):
    """The token's kid was its repr cut at 80 characters, the JWKS's kids their text cut at 64: a kid's trailing
    space did not show in the list, and two long kids were cut at different places."""
    jwks_server.publish(jwk(rsa_key, jwks_kid))
    client(jwks_app(make_app, jwks_server.url)).get('/me', headers=bearer(kid_token(rsa_key, token_kid)), status=401)
    assert warning_lines(log_dir)[-1].endswith('Authentication failed: the token was signed with an unknown key ' + shown)


def test_a_token_met_when_the_jwks_gave_no_key_is_logged_saying_so(make_app, log_dir, rsa_key, jwks_server):
    client(jwks_app(make_app, jwks_server.url)).get('/me', headers=bearer(kid_token(rsa_key, 'key-1')), status=401)
    assert warning_lines(log_dir)[-1].endswith(
        "Authentication failed: the token was signed with an unknown key (its kid is 'key-1'; the JWKS URL gave no "
        "signing key canister can use)")


def login_form_app(make_app):
    """The README's login form and its 401 handler, as written, beside a page that needs a login."""
    app = make_app()
    namespace = {'app': app, 'bottle': bottle, 'canister': canister, 'session': session}
    for index in (1, 2):  # (block 0 of the section is the guards')
        exec(compile(readme_block_of_section('Authentication', index), 'README.md', 'exec'), namespace)

    @app.get('/account')
    @canister.require_user
    def account():
        return 'Hello %s' % session.user

    return app


def form_post(browser, path, **fields):
    return browser.request('POST', path, urllib.parse.urlencode(fields), {
        'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'text/html,*/*;q=0.8'})


def test_the_readmes_login_form_logs_in_with_the_right_password_and_out(make_app, serve):
    browser = Client(serve(login_form_app(make_app)))
    login = browser.request('POST', '/login', json.dumps({'username': 'alice', 'password': 'my-secret'}),
                            {'Content-Type': 'application/json'})
    assert (login.status, json.loads(login.text)) == (200, {'user': 'alice'})
    assert browser.get('/account').text == 'Hello alice'
    logout = browser.request('POST', '/logout', b'')
    assert (logout.status, json.loads(logout.text)) == (200, {'user': None})
    assert browser.get('/account', headers={'Accept': '*/*'}).status == 401


def test_the_readmes_401_handler_sends_a_browser_to_the_form_and_leaves_a_script_its_401(make_app, serve):
    browser = Client(serve(login_form_app(make_app)))
    page = browser.get('/account', headers={'Accept': 'text/html,application/xhtml+xml,*/*;q=0.8'})
    assert (page.status, page.headers['Location']) == (303, '/login')
    call = browser.get('/account', headers={'Accept': '*/*'})
    assert (call.status, call.text) == (401, 'Authentication required')


def test_the_readmes_401_handler_sends_a_refused_form_post_back_to_the_form(make_app, serve):
    browser = Client(serve(login_form_app(make_app)))
    refused = form_post(browser, '/login', username='alice', password='wrong')
    assert (refused.status, refused.headers['Location']) == (303, '/login')
    form_post(browser, '/login', username='alice', password='my-secret')
    assert browser.get('/account', headers={'Accept': 'text/html'}).text == 'Hello alice'
