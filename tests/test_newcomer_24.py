"""A newcomer from Flask (Flask-Login, Flask-Session, Flask-WTF, flask-cors) or Starlette builds a login form,
a session page, a CORS API and a Bearer route: what stopped them, now said or shown."""
from __future__ import annotations

import pytest

import canister
from helpers import client


@pytest.mark.parametrize('name, hint', [
    # closeness of spelling pointed these at a wrong key (given in the comment)
    ('csrf_trusted_origins', 'did you mean cors? an origin it lists passes the CSRF check (and its pages may '
                             'read the answers); trusted_proxies takes the addresses of reverse proxies'),  # proxies
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
    ('path', 'did you mean log_path? (the session cookie has Path=/, which no setting changes)'),  # Starlette's
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
    assert [str(w.message) for w in caught] == ['unknown config key canister.%s (%s)' % (name, hint)]


def test_cors_send_wildcard_says_what_canister_answers_to_cors_star(make_app):
    """The hint of ``cors_send_wildcard`` is what canister does: ``*`` itself to any origin."""
    app = make_app(cors='*')
    app.get('/items', callback=lambda: {'items': []})
    answer = client(app).get('/items', headers={'Origin': 'https://app.example.net'})
    assert answer.headers['Access-Control-Allow-Origin'] == '*'
