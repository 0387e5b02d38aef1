"""A newcomer from Starlette builds a REST API for a browser front end on another origin (CORS with credentials,
cookie sessions, a Bearer JWT login, JSON bodies): the keyword names of Starlette's middleware given to
Canister(...) are each answered with canister's own key or a plain "no such setting", and Starlette's habits in a
handler (request.session, request.user, HTTPException(status_code=...)) are logged with what to write instead."""
from __future__ import annotations

import base64
import json
import time
import warnings

import bottle
import pytest

import canister
from canister import session
from helpers import ROOT, Server, page_app, page_fetch, read_log, with_notes_route
from servers import Client

NO_HOST_CHECK = ("canister has no such setting: it answers whatever the Host header names, so a reverse proxy "
                 "(nginx's server_name) or a before_request hook of the app turns other hosts away; trusted_proxies "
                 'takes the addresses of reverse proxies')
NO_GZIP = "canister has no such setting: it compresses no answer, a reverse proxy can (nginx's gzip on)"
NO_REDIRECT = ('canister has no such setting: it redirects nothing; hsts_max_age keeps browsers that came over HTTPS '
               'on it')

#: Each keyword of Starlette's CORSMiddleware, SessionMiddleware, TrustedHostMiddleware and GZipMiddleware (and a
#: name for HTTPSRedirectMiddleware, which takes none) as a Starlette user passes it, and what canister says.
STARLETTE_KEYWORDS = [
    ('allow_origins', ['http://localhost:5173'], 'did you mean cors? it takes the allowed origins'),
    ('allow_origin_regex', r'https://.*\.example\.com', 'canister takes no regular expression: list the origins in '
                                                        'cors, https://*.example.com for every subdomain'),
    ('allow_methods', ['*'], 'did you mean cors_methods?'),
    ('allow_headers', ['*'], 'did you mean cors_headers?'),
    ('allow_credentials', True, 'did you mean cors_credentials?'),
    ('expose_headers', ['X-Request-ID'], 'did you mean cors_expose_headers?'),
    ('max_age', 600, "did you mean cors_max_age (a preflight's), session_cookie_max_age (the cookie's) or "
                     "session_max_age (the session's)?"),
    ('secret_key', 'change-me', 'canister needs no secret key for sessions: the cookie holds a random id of a '
                                'session kept on the server, nothing signed; the secret that signs Bearer tokens '
                                '(JWT) is auth_jwt_secret'),                          # was: without the JWT's key
    ('same_site', 'lax', 'did you mean session_samesite?'),
    ('https_only', True, 'did you mean session_secure?'),
    ('path', '/', 'canister has no such setting: the session cookie has Path=/, which no setting changes '
                  '(log_path is the directory of the log)'),                       # was: did you mean log_path?
    ('domain', 'example.com', 'canister has no such setting: the cookie never has a Domain, so it stays with '
                              'this host'),
    ('allowed_hosts', ['example.com'], NO_HOST_CHECK),                             # was: the families of keys
    ('trusted_hosts', ['example.com'], NO_HOST_CHECK),  # Flask 3.1's TRUSTED_HOSTS; was: trusted_proxies
    ('minimum_size', 500, NO_GZIP),                                                # was: the families of keys
    ('compresslevel', 9, NO_GZIP),                                                 # was: the families of keys
    ('https_redirect', True, NO_REDIRECT),                                         # was: the families of keys
]

#: What the same user writes for the Bearer tokens the login hands out: PyJWT's keywords of jwt.decode, and the
#: settings of FastAPI's tutorial on tokens.
JWT_KEYWORDS = [
    ('session_secret', 'change-me', STARLETTE_KEYWORDS[7][2]),                     # was: session_secure
    ('audience', 'my-api', 'did you mean auth_jwt_client_id? a token must name it in its aud'),  # was: the families
    ('jwt_audience', 'my-api', 'did you mean auth_jwt_client_id? a token must name it in its aud'),  # the families
    ('issuer', 'https://id.example.com/', 'did you mean auth_jwt_issuer?'),        # was: the families of keys
    ('leeway', 10, 'did you mean auth_jwt_leeway?'),                               # was: the families of keys
    ('access_token_expire_minutes', 30, 'canister has no such setting: it checks tokens and issues none, so the code '
                                        'that signs one gives it its exp (which canister requires)'),  # the families
]


@pytest.mark.parametrize('name, value, hint', STARLETTE_KEYWORDS + JWT_KEYWORDS)
def test_a_keyword_of_starlettes_middleware_given_to_canister_is_answered_with_canisters_own(
        make_app, name, value, hint):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(**{name: value})
    # (only canister's own: a ResourceWarning of an earlier test's body file may land here when it is collected)
    assert [str(warning.message) for warning in caught if issubclass(warning.category, canister.CanisterWarning)] == [
        'unknown config key canister.%s (%s)' % (name, hint)]


def test_the_values_starlette_takes_are_taken_by_the_canister_keys_its_hints_name(make_app, serve):
    """What each hint points to takes the value as a Starlette user writes it: a list of origins, ``['*']`` for
    the methods and headers, True for the credentials, ``'lax'`` in lower case."""
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app = make_app(cors=['http://localhost:5173'], cors_methods=['*'], cors_headers=['*'], cors_credentials=True,
                       cors_expose_headers=['X-Request-ID'], cors_max_age=600, session_samesite='lax',
                       session_secure=True)
    app.post('/api/notes', callback=lambda: {'ok': True})
    answer = Client(serve(app)).request('OPTIONS', '/api/notes', headers={
        'Origin': 'http://localhost:5173', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, x-trace'})
    assert answer.status == 204
    assert [answer.headers[name] for name in ('Access-Control-Allow-Origin', 'Access-Control-Allow-Credentials',
                                              'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers',
                                              'Access-Control-Max-Age')] == [
        'http://localhost:5173', 'true', 'POST', 'content-type, x-trace', '600']


def starlette_habits_app(make_app) -> bottle.Bottle:
    app = make_app(catchall=True)  # (Bottle's default, which answers 500 to an exception)

    @app.post('/api/notes')
    def add_note(text: str):
        bottle.request.session.setdefault('notes', []).append(text)  # Starlette's request.session
        return {'notes': bottle.request.session['notes']}

    @app.get('/api/me')
    def me():
        return {'user': bottle.request.user}  # Starlette's request.user (AuthenticationMiddleware)

    @app.get('/api/search')
    def search():
        return {'q': bottle.request.query_params['q']}  # Starlette's request.query_params

    @app.get('/api/items/<item_id>')
    def item(item_id):
        raise bottle.HTTPError(status_code=404, detail='no item %s' % item_id)  # as HTTPException(...)

    return app


@pytest.mark.parametrize('method, path, body, name, whose, instead', [
    ('POST', '/api/notes', {'text': 'hi'}, 'session', "Django's and Starlette's",
     "canister's session is imported with 'from canister import session', its values in session.data"),
    ('GET', '/api/me', None, 'user', "Django's and Starlette's",
     "the logged-in user is session.user (None when nobody is logged in), session imported with 'from canister "
     "import session'"),
    ('GET', '/api/search?q=tea', None, 'query_params', "Starlette's",
     "Bottle's is bottle.request.query; or give the handler a parameter of the value's name, which canister fills "
     'from the query'),
])
def test_starlettes_request_session_and_request_user_answer_500_and_the_log_says_what_to_read_instead(
        make_app, serve, log_dir, method, path, body, name, whose, instead):
    browser = Client(serve(starlette_habits_app(make_app)))
    answer = browser.request(method, path, body=json.dumps(body) if body else None,
                             headers={'Content-Type': 'application/json', 'Accept': 'application/json'})
    assert (answer.status, answer.json()) == (500, {'error': 'Internal Server Error',
                                                    'message': 'Internal Server Error'})
    assert ('ERROR    [127.0.0.1-...]   Unhandled exception in %s %s: bottle.request has no %s (%s request.%s): '
            '%s\n' % (method, path.split('?')[0], name, whose, name, instead)) in read_log(log_dir)
    assert "AttributeError: Attribute '%s' not defined." % name in read_log(log_dir)  # the traceback still follows


def test_starlettes_request_user_read_in_a_before_request_hook_is_logged_with_what_to_read_instead(
        make_app, serve, log_dir):
    """Starlette's AuthenticationMiddleware habit, the user looked at before every route: in a hook of the app."""
    app = make_app(catchall=True)

    @app.hook('before_request')
    def only_users():
        if not bottle.request.user:
            bottle.abort(401)

    app.get('/api/me', callback=lambda: {'user': session.user})
    assert Client(serve(app)).request('GET', '/api/me').status == 500
    assert ("ERROR    [127.0.0.1-...]   Unhandled exception (outside the route: a hook of the app, or a route "
            "canister does not wrap): bottle.request has no user (Django's and Starlette's request.user): the logged-in "
            "user is session.user (None when nobody is logged in), session imported with 'from canister import session'\n"
            ) in read_log(log_dir)


def test_starlettes_request_state_set_in_a_hook_is_logged_with_bottles_own_attributes(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.hook('before_request')
    def open_db():
        bottle.request.state.db = 'a connection'  # Starlette's request.state

    app.get('/api/items', callback=lambda: {'db': bottle.request.state.db})
    assert Client(serve(app)).request('GET', '/api/items').status == 500
    assert ("Unhandled exception (outside the route: a hook of the app, or a route canister does not wrap): "
            "bottle.request has no state (Starlette's request.state): Bottle's request takes an attribute of the "
            "app's own as it is (bottle.request.db = ... in a before_request hook, read in the handler); what lasts "
            "beyond the request goes in session.data\n") in read_log(log_dir)


def test_an_attribute_of_the_apps_own_set_on_bottles_request_in_a_hook_is_read_in_the_handler(make_app, serve):
    """What the hint above says to write works."""
    app = make_app()

    @app.hook('before_request')
    def open_db():
        bottle.request.db = 'a connection'

    app.get('/api/items', callback=lambda: {'db': bottle.request.db})
    assert Client(serve(app)).request('GET', '/api/items').json() == {'db': 'a connection'}


def test_fastapis_response_status_code_set_in_a_handler_is_logged_with_bottles_status(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.post('/api/notes')
    def create(text: str):
        bottle.response.status_code = 201  # FastAPI's response.status_code = 201
        return {'text': text}

    answer = Client(serve(app)).request('POST', '/api/notes', json.dumps({'text': 'hi'}),
                                        {'Content-Type': 'application/json'})
    assert answer.status == 500
    assert ("ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/notes: a Bottle response's status_code only "
            "reads its status (FastAPI's response.status_code = ...): write bottle.response.status = 201\n"
            ) in read_log(log_dir)


def test_bottles_response_status_set_as_the_hint_says_answers_201(make_app, serve):
    app = make_app()

    @app.post('/api/notes')
    def create(text: str):
        bottle.response.status = 201
        return {'text': text}

    answer = Client(serve(app)).request('POST', '/api/notes', json.dumps({'text': 'hi'}),
                                        {'Content-Type': 'application/json'})
    assert (answer.status, answer.json()) == (201, {'text': 'hi'})


def test_another_attribute_error_of_a_handler_gets_no_hint(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.get('/api/broken')
    def broken():
        return {'n': len(None.items)}

    assert Client(serve(app)).request('GET', '/api/broken').status == 500
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/broken\n' in read_log(log_dir)


def test_an_http_error_raised_with_starlettes_status_code_is_logged_with_bottles_spelling(make_app, serve, log_dir):
    browser = Client(serve(starlette_habits_app(make_app)))
    answer = browser.request('GET', '/api/items/7', headers={'Accept': 'application/json'})
    assert answer.status == 500  # Bottle's: status_code=404 became a header
    assert answer.headers['Status-Code'] == '404'
    assert ("WARNING  [127.0.0.1-...]   Route GET /api/items/<item_id>: HTTPError was raised with status_code=404, "
            "Starlette's keyword, which Bottle sends as a header (Status-Code: 404) and answers 500: write "
            "bottle.abort(404, '...') or bottle.HTTPError(404, '...'), the status first and the text second "
            "(Starlette's detail= is a header too) (said once for this route)\n") in read_log(log_dir)


def test_bottles_own_abort_and_redirect_log_no_such_line(make_app, serve, log_dir):
    app = make_app()
    app.get('/gone', callback=lambda: bottle.abort(404, 'no such item'))
    app.get('/old', callback=lambda: bottle.redirect('/new'))
    browser = Client(serve(app))
    assert browser.request('GET', '/gone').status == 404
    assert browser.request('GET', '/old').status in (302, 303)
    assert 'status_code' not in read_log(log_dir)


def test_an_attribute_the_app_put_on_bottles_request_is_not_mistaken_for_starlettes(make_app, serve, log_dir):
    """A hook of the app's that sets ``bottle.request.user`` itself: the handler reads it, and nothing is said."""
    app = make_app()

    @app.hook('before_request')
    def who():
        bottle.request.user = 'app-user'

    app.get('/me', callback=lambda: {'user': bottle.request.user})
    assert Client(serve(app)).request('GET', '/me').json() == {'user': 'app-user'}
    assert "Starlette's" not in read_log(log_dir)


@pytest.mark.parametrize('name, hint', [
    ('requires', "write @canister.require_user (Starlette's requires('authenticated')), "
                 "@canister.require_scope('write:items') for the scopes of a Bearer token, or "
                 '@canister.require(lambda user: ...) for a condition on the user (a 403 when it is false)'),
    ('HTTPException', "raise bottle.HTTPError(404, 'text'), or call bottle.abort(404, 'text'): Bottle's, the status "
                      'first (status_code= would be sent as a header)'),
])
def test_starlettes_helpers_written_on_the_module_name_canisters_or_bottles_own(name, hint):
    with pytest.raises(AttributeError) as raised:
        getattr(canister, name)
    assert str(raised.value) == 'module canister has no %s: %s' % (name, hint)


SECRET = base64.urlsafe_b64encode(b'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4').decode().rstrip('=')


def rest_api(make_app, front: str = 'http://localhost:5173') -> bottle.Bottle:
    """The app as the README's sections give it: CORS with credentials for the front end's origin, a JSON login
    that checks the password with canister.log_in and hands out a token signed with the secret as canister reads
    it, routes guarded by require_user, JSON bodies bound to parameters, and dicts returned as JSON."""
    import jwt
    app = make_app(config={'cors': front, 'cors_credentials': 'true', 'auth_jwt_client_id': 'my-api',
                           'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'base64url'})
    users = {'alice': canister.hash_password('my-secret', iterations=1000)}

    @app.post('/api/login')
    def login(username: str, password: str):
        if not canister.log_in(username, password, users):
            bottle.abort(401, 'wrong user name or password')
        token = jwt.encode({'sub': username, 'aud': 'my-api', 'exp': int(time.time()) + 3600},
                           base64.urlsafe_b64decode(SECRET + '=='), algorithm='HS256')
        return {'access_token': token, 'token_type': 'bearer'}

    return with_notes_route(app)


def test_the_readmes_parts_make_a_rest_api_with_a_cookie_session_and_a_bearer_login_over_http(make_app, serve):
    origin = {'Origin': 'http://localhost:5173', 'Content-Type': 'application/json', 'Accept': 'application/json'}
    front = Client(serve(rest_api(make_app)))
    refused = front.request('POST', '/api/login', json.dumps({'username': 'alice', 'password': 'wrong'}), origin)
    assert (refused.status, refused.json()['message']) == (401, 'wrong user name or password')
    logged_in = front.request('POST', '/api/login', json.dumps({'username': 'alice', 'password': 'my-secret'}),
                              origin)
    assert logged_in.status == 200
    assert logged_in.headers['Access-Control-Allow-Origin'] == 'http://localhost:5173'
    assert logged_in.headers['Access-Control-Allow-Credentials'] == 'true'
    by_cookie = front.request('POST', '/api/notes', json.dumps({'text': 'one'}), origin)
    assert (by_cookie.status, by_cookie.json()) == (200, {'notes': ['one'], 'user': 'alice'})
    script = Client('http://%s:%s' % (front.host, front.port))  # another client, without the cookie: the token alone
    by_token = script.request('POST', '/api/notes', json.dumps({'text': 'two'}),
                              dict(origin, Authorization='Bearer ' + logged_in.json()['access_token']))
    assert by_token.status == 200
    assert by_token.json()['user']['sub'] == 'alice'
    stranger = Client('http://%s:%s' % (front.host, front.port))  # neither cookie nor token
    assert stranger.request('POST', '/api/notes', json.dumps({'text': 'three'}), origin).status == 401


def cors_section() -> str:
    return (ROOT / 'README.md').read_text(encoding='utf-8').split('\n## CORS\n', 1)[1].split('\n## ', 1)[0]


def test_the_readme_says_that_a_pages_fetch_sends_and_keeps_the_cookie_only_with_credentials_include():
    assert ("with `cors_credentials`, when the page's `fetch` asks for it with `credentials: 'include'`"
            in cors_section())


@pytest.mark.parametrize('credentials, notes', [
    (None, 401),        # fetch's default, same-origin: the login's cookie is neither kept nor sent
    ('include', 200),
])
def test_a_front_end_of_another_origin_keeps_its_session_in_chromium_only_when_its_fetch_includes_credentials(
        page, make_app, credentials, notes):
    """The front end on another port of localhost (another origin of the same site, as a dev server's) logs in
    by a JSON POST and then posts a note: the note needs the login's session cookie."""
    front = Server(page_app())
    front_origin = 'http://localhost:%d' % front.port
    api = Server(rest_api(make_app, front_origin))
    try:
        page.goto(front_origin + '/')
        init = {'method': 'POST', 'headers': {'Content-Type': 'application/json'}}
        if credentials:
            init['credentials'] = credentials
        url = 'http://localhost:%d' % api.port
        login = page_fetch(page, url + '/api/login', body=json.dumps({'username': 'alice', 'password': 'my-secret'}),
                           **init)
        assert (login['ok'], login['status']) == (True, 200)
        note = page_fetch(page, url + '/api/notes', body=json.dumps({'text': 'one'}), **init)
        assert (note['ok'], note['status']) == (True, notes)
    finally:
        api.close()
        front.close()
