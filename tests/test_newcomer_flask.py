"""A Flask developer follows the README: Flask's request habits in a handler (request.get_json(), args, values,
get_data(), form) are logged with what to write instead, as Starlette's are; the first-line names of Flask-CORS,
Flask-WTF and Flask-Login, written as canister's, say what canister does instead; Flask's settings at the top of the
config that canister has a way for are reported; the README's "Coming from Flask" mappings run as it says; its
opening sentence on where a login is kept, its Contents, and its way to make a Bearer secret hold."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import warnings

import bottle
import pytest

import canister
from canister import session
from helpers import (ROOT, basic, bearer, client, cookie_value, cookieless_client, log_entries, read_log,
                     readme_section, signed_token)
from servers import Client

README = (ROOT / 'README.md').read_text(encoding='utf-8')
COMING_FROM_FLASK = readme_section('## Coming from Flask') if '\n## Coming from Flask\n' in README else ''


# -- Flask's request habits in a handler -------------------------------------------------------------------

def flask_habits_app(make_app) -> bottle.Bottle:
    app = make_app(catchall=True)
    app.post('/api/json', callback=lambda: {'n': bottle.request.get_json()['n']})  # Flask's request.get_json()
    app.get('/api/args', callback=lambda: {'q': bottle.request.args['q']})        # Flask's request.args
    app.post('/api/values', callback=lambda: {'q': bottle.request.values['q']})   # Flask's request.values
    app.post('/api/data', callback=lambda: {'size': len(bottle.request.get_data())})  # Flask's request.get_data()
    app.post('/api/raw', callback=lambda: {'size': len(bottle.request.data)})     # Flask's request.data
    app.post('/api/form', callback=lambda: {'n': bottle.request.form['n']})       # Flask's request.form['n']
    return app


QUERY = ("Bottle's is bottle.request.query, bottle.request.query.getunicode('name') for a value; or give the handler "
         "a parameter of the value's name, which canister fills from the query")
BODY = "Bottle's is bottle.request.body, the body as a file: write bottle.request.body.read() for its bytes"


@pytest.mark.parametrize('method, path, name, whose, instead', [
    ('POST', '/api/json', 'get_json', "Flask's",
     "Bottle's is bottle.request.json, the JSON body read already (None without one), without a call; or give the "
     'handler parameters named as its members, which canister fills'),
    ('GET', '/api/args?q=tea', 'args', "Flask's", QUERY),
    ('POST', '/api/values?q=tea', 'values', "Flask's",
     "Bottle's is bottle.request.params, the query and the form's fields together; or give the handler a parameter "
     "of the value's name, which canister fills from either"),
    ('POST', '/api/data', 'get_data', "Flask's", BODY),
    ('POST', '/api/raw', 'data', "Flask's", BODY),
    ('POST', '/api/form', 'form', "Flask's and Starlette's",
     "Bottle's is bottle.request.forms, the form's fields read already, without a call: "
     "bottle.request.forms.getunicode('name'), and bottle.request.files for its files; or give the handler "
     'parameters named as the fields, which canister fills'),
])
def test_flasks_request_habits_answer_500_and_the_error_line_says_what_to_read_instead(
        make_app, serve, log_dir, method, path, name, whose, instead):
    browser = Client(serve(flask_habits_app(make_app)))
    body, content_type = ('n=1', 'application/x-www-form-urlencoded') if name == 'form' else ('{"n": 1}',
                                                                                              'application/json')
    answer = browser.request(method, path, body=body if method == 'POST' else None,
                             headers={'Content-Type': content_type})
    assert answer.status == 500 and 'Traceback' not in answer.text
    log = read_log(log_dir)
    assert ('ERROR    [127.0.0.1-...]   Unhandled exception in %s %s: bottle.request has no %s (%s request.%s): %s\n'
            % (method, path.split('?')[0], name, whose, name, instead)) in log
    assert "AttributeError: Attribute '%s' not defined." % name in log  # the traceback still follows


def flask_session_app(make_app, **settings) -> bottle.Bottle:
    app = make_app(catchall=True, **settings)

    @app.get('/cart')
    def cart():
        return {'cart': session.get('cart', [])}        # Flask's session.get(...)

    @app.post('/remember')
    def remember():
        session.permanent = True                         # Flask's persistent session
        return 'ok'

    @app.post('/logout')
    def logout():
        session.clear()                                  # Flask's logout
        return 'ok'

    @app.get('/first')
    def first():
        return {'cart': session['cart']}                 # Flask's session['cart']

    return app


SESSION_HABITS = [
    ('GET', '/cart', 'TypeError',
     "canister's session is not a dict: its values are in session.data (session.data.get)"),
    ('POST', '/remember', 'AttributeError',
     "canister's session takes no attribute 'permanent': it is one object for every request, so its value would be "
     "every user's; for a persistent cookie, call session.remember(seconds)"),
    ('POST', '/logout', 'TypeError',
     "canister's session is not a dict: to log out, call session.invalidate() (or assign session.user = None); "
     'session.data.clear() would leave the user logged in'),
    ('GET', '/first', 'TypeError', "canister's session is not a dict: its values are session.data['cart']"),
]


@pytest.mark.parametrize('method, path, kind, hint', SESSION_HABITS)
def test_flasks_session_habits_put_their_hint_in_the_error_line_as_the_request_habits_do(
        make_app, serve, log_dir, method, path, kind, hint):
    browser = Client(serve(flask_session_app(make_app)))
    answer = browser.request(method, path)
    assert answer.status == 500 and 'Traceback' not in answer.text
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in %s %s: %s\n' % (method, path, hint) in log, log
    assert '%s: %s\n' % (kind, hint) in log  # the traceback still follows, ending with the same text
    if path == '/cart':  # the README's example, as logged
        assert '`Unhandled exception in GET /cart: %s`, in a JSON log\'s `message` too' % hint in COMING_FROM_FLASK


@pytest.mark.parametrize('method, path, kind, hint', SESSION_HABITS)
def test_flasks_session_habits_put_their_hint_in_a_json_logs_message(make_app, serve, log_dir, method, path, kind,
                                                                     hint):
    browser = Client(serve(flask_session_app(make_app, log_format='json')))
    assert browser.request(method, path).status == 500
    errors = [entry for entry in log_entries(log_dir) if entry['message'].startswith('Unhandled exception')]
    assert len(errors) == 1, errors
    assert errors[0]['message'] == 'Unhandled exception in %s %s: %s' % (method, path, hint), errors
    assert errors[0]['traceback'].rstrip().endswith('%s: %s' % (kind, hint)), errors


def test_a_session_error_of_the_apps_own_making_gets_no_hint_in_the_error_line(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.get('/own')
    def own():
        raise TypeError("canister's session is what the app says it is")   # not raised by canister's session

    assert Client(serve(app)).request('GET', '/own').status == 500
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /own\n' in read_log(log_dir)


APP_LOGGER_HINT = ("a Bottle app has no logger (Flask's app.logger): canister's is app.log, given to the app at the "
                   "install, whose lines go to canister's log with the request's prefix (app.log.info('...'))")


def app_logger_app(make_app, **settings) -> bottle.Bottle:
    app = make_app(catchall=True, **settings)

    @app.get('/')
    def index():
        app.logger.info('cart emptied')                  # Flask's app.logger
        return 'ok'

    return app


def test_flasks_app_logger_in_a_handler_answers_500_and_the_error_line_says_to_write_app_log(make_app, serve,
                                                                                              log_dir):
    answer = Client(serve(app_logger_app(make_app))).get('/')
    assert answer.status == 500 and 'Traceback' not in answer.text
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /: %s\n' % APP_LOGGER_HINT in log, log
    assert "AttributeError: 'Bottle' object has no attribute 'logger'\n" in log  # the traceback still follows
    assert '`Unhandled exception in GET /: %s`' % APP_LOGGER_HINT in COMING_FROM_FLASK


def test_flasks_app_logger_in_a_handler_is_told_in_a_json_logs_message(make_app, serve, log_dir):
    assert Client(serve(app_logger_app(make_app, log_format='json'))).get('/').status == 500
    errors = [entry for entry in log_entries(log_dir) if entry['message'].startswith('Unhandled exception')]
    assert [entry['message'] for entry in errors] == ['Unhandled exception in GET /: %s' % APP_LOGGER_HINT]


def test_another_objects_missing_logger_gets_no_hint(make_app, serve, log_dir):
    app = make_app(catchall=True)
    app.get('/', callback=lambda: bottle.request.logger.info('x'))   # (nor has Bottle's request)
    assert Client(serve(app)).get('/').status == 500
    log = read_log(log_dir)
    assert "AttributeError: Attribute 'logger' not defined.\n" in log and "Flask's app.logger" not in log


def test_what_the_hints_say_to_read_gives_the_values_flask_would(make_app):
    app = make_app()
    app.post('/api/json', callback=lambda: {'n': bottle.request.json['n']})
    app.get('/api/args', callback=lambda: {'q': bottle.request.query.getunicode('q')})
    app.post('/api/values', callback=lambda: {'q': bottle.request.params['q'], 'n': bottle.request.params['n']})
    app.post('/api/data', callback=lambda: {'size': len(bottle.request.body.read())})
    web = client(app)
    assert web.post_json('/api/json', {'n': 3}).json == {'n': 3}
    assert web.get('/api/args?q=tea').json == {'q': 'tea'}
    assert web.post('/api/values?q=tea', {'n': '2'}).json == {'q': 'tea', 'n': '2'}
    assert web.post('/api/data', b'12345', content_type='application/octet-stream').json == {'size': 5}


def test_the_readme_names_flasks_request_habits_beside_starlettes():
    passage = readme_section('## Limits and error answers').split('*Handlers written as in Starlette or Flask.*', 1)[1]
    assert passage.startswith(' Some habits of Starlette, FastAPI and Flask fail under Bottle.')
    assert ("*Flask's `request.get_json()`, `args`, `values`, `get_data()`, `data`, `is_json`, `mimetype`, `host`, "
            "`view_args`, `referrer` and `user_agent`.* Bottle's `request` has none "
            "of these either, and the ERROR line is labelled as Flask's, `bottle.request has no get_json (Flask's "
            "request.get_json): Bottle's is bottle.request.json, the JSON body read already (None without one), "
            "without a call; ...`") in passage
    for name in ('get_json', 'args', 'values', 'get_data', 'data', 'form'):
        assert name in canister._OTHER_REQUEST_ATTRIBUTES


# -- Flask extensions' names ---------------------------------------------------------------------------------

@pytest.mark.parametrize('name, says', [
    ('CORS', 'canister answers CORS itself, preflights too: write cors = https://app.example.com (or *) in its '
             'config, Canister(cors=...), and cors_paths = /api to limit it to paths (see CORS in the README)'),
    ('cross_origin', "canister's CORS is set for the app, not for a route: write cors = https://app.example.com (or "
                     '*) in its config, and cors_paths = /api for the path prefixes it covers'),
    ('CSRFProtect', 'canister protects every route from CSRF by default (csrf = true), with no token: a form needs no '
                    'hidden field and a fetch no header (see CSRF protection in the README; canister.csrf_exempt '
                    'exempts a route)'),
    ('LoginManager', 'canister needs no login manager: session.user is the user (assign it to log in, None to log '
                     'out), @canister.require_user guards a route (a 401 when nobody is logged in), and '
                     'canister.log_in(name, password, users) checks a password and logs in'),
    ('UserMixin', 'session.user holds the user as the app gives it, a name or a dict, with no class to derive from'),
    ('FlaskForm', "canister has no form classes: give the handler parameters named as the form's fields, which "
                  'canister fills and converts by their annotations; the CSRF check needs no token field'),
])
def test_a_flask_extensions_name_written_as_canisters_says_what_canister_does_instead(name, says):
    with pytest.raises(AttributeError) as raised:
        getattr(canister, name)
    assert str(raised.value) == 'module canister has no %s: %s' % (name, says)


def test_canisters_own_session_class_is_not_shadowed_by_flask_sessions_name():
    """Flask-Session's ``Session(app)`` has no hint: ``canister.Session`` is canister's own class."""
    assert canister.Session.__module__ == 'canister' and 'Session' not in canister._OTHER_FRAMEWORKS_NAMES
    assert all(name not in vars(canister) for name in canister._OTHER_FRAMEWORKS_NAMES)


def test_a_user_given_as_a_name_or_a_dict_is_the_user_as_the_usermixin_hint_says(make_app):
    app = make_app()

    @app.get('/login/<kind>')
    def login(kind):
        session.user = 'alice' if kind == 'name' else {'sub': 'alice', 'roles': ['admin']}
        return 'in'

    app.get('/me', callback=canister.require_user(lambda: {'user': session.user}))
    for kind, user in (('name', 'alice'), ('dict', {'sub': 'alice', 'roles': ['admin']})):
        web = client(app)
        web.get('/login/' + kind)
        assert web.get('/me').json == {'user': user}


# -- Flask's settings at the top of the config -------------------------------------------------------------

@pytest.mark.parametrize('name, value, said', [
    ('CORS_RESOURCES', {'/api/*': {'origins': '*'}},
     "app.config['CORS_RESOURCES'] is a Flask setting, which canister does not read: write canister.cors_paths (or "
     'Canister(cors_paths=...)): it takes path prefixes, such as /api'),
    ('SESSION_PERMANENT', True,
     "app.config['SESSION_PERMANENT'] is a Flask setting, which canister does not read (canister has no such "
     'setting: session.remember(seconds) in the login handler gives that session a persistent cookie; '
     'session_cookie_max_age gives every session cookie a Max-Age)'),
    ('REMEMBER_COOKIE_DURATION', 86400,
     "app.config['REMEMBER_COOKIE_DURATION'] is a Flask setting, which canister does not read (canister has no such "
     'setting: session.remember(seconds) in the login handler gives that session a persistent cookie; '
     'session_cookie_max_age gives every session cookie a Max-Age)'),
    ('SESSION_PROTECTION', 'strong',
     "app.config['SESSION_PROTECTION'] is a Flask setting, which canister does not read (canister has no such "
     "setting: a session is not tied to the client's address or browser, and a login gives it a new id)"),
    ('WTF_CSRF_TIME_LIMIT', 3600,
     "app.config['WTF_CSRF_TIME_LIMIT'] is a Flask setting, which canister does not read (canister has no such "
     'setting: its CSRF check takes no token, it reads where an unsafe request comes from (Sec-Fetch-Site, Origin, '
     'Referer); csrf turns it off)'),
    ('SESSION_USE_SIGNER', True,
     "app.config['SESSION_USE_SIGNER'] is a Flask setting, which canister does not read (canister needs no secret "
     'key: the cookie holds a random id of a session kept on the server, nothing signed)'),
])
def test_a_flask_setting_canister_has_a_way_for_is_reported_at_install_with_that_way(log_dir, name, value, said):
    app = bottle.Bottle()
    app.config[name] = value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    app.uninstall(True)
    assert [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning] == [said]
    assert read_log(log_dir).count(' WARNING  [MainThread]   ' + said + '\n') == 1


def test_cors_resources_beside_canisters_cors_paths_is_not_reported(log_dir):
    app = bottle.Bottle()
    app.config['CORS_RESOURCES'] = {'/api/*': {}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir), cors='*', cors_paths='/api'))
    app.uninstall(True)
    assert [warning for warning in caught if warning.category is canister.CanisterWarning] == []


def test_the_session_cookie_has_no_max_age_unless_remember_or_session_cookie_max_age_gives_one(make_app, log_dir):
    """What the SESSION_PERMANENT note says: session.remember(seconds) for one session, the key for every one."""
    def app_of(**overrides):
        app = make_app(**overrides)

        @app.get('/login')
        def login(remember: int = 0):
            session.user = 'alice'
            if remember:
                session.remember(remember)
            return 'in'

        return app

    def max_age(app, path):
        header = [value for value in client(app).get(path).headers.getall('Set-Cookie')
                  if value.startswith('session_id=')][0]
        found = re.search(r'Max-Age=(\d+)', header)
        return int(found.group(1)) if found else None

    assert max_age(app_of(), '/login') is None
    assert max_age(app_of(), '/login?remember=86400') == 86400
    assert max_age(app_of(session_cookie_max_age=7200), '/login') == 7200


# -- README: Coming from Flask ------------------------------------------------------------------------------

def test_every_canister_name_coming_from_flask_gives_exists_or_says_what_to_write():
    names = set(re.findall(r'canister\.(\w+)', COMING_FROM_FLASK))
    assert names >= {'require_user', 'log_in', 'login_required', 'LoginManager', 'CORS', 'CSRFProtect'}, names
    for name in names:
        if name in canister._OTHER_FRAMEWORKS_NAMES:
            with pytest.raises(AttributeError, match='^module canister has no %s: ' % name):
                getattr(canister, name)
        else:
            assert hasattr(canister, name), name
    for name in re.findall(r'`(\w+)`', COMING_FROM_FLASK.split("Flask's `bottle.request.get_json()`", 1)[1]
                           .split(' in a handler', 1)[0]):
        assert name in canister._OTHER_REQUEST_ATTRIBUTES, name


def test_the_coming_from_flask_section_follows_djangos_and_fastapis():
    assert README.index('\n## Coming from Django\n') < README.index('\n## Coming from FastAPI\n') < README.index(
        '\n## Coming from Flask\n')
    assert ("| `session['cart']`, `session.get('cart', [])` | `session.data['cart']`, `session.data.get('cart', [])`, "
            "with `from canister import session`; the logged-in user is `session.user`.") in COMING_FROM_FLASK


def test_flasks_handler_habits_become_what_the_readme_says(make_app):
    for row in ('| `abort(404)` | `bottle.abort(404, \'text\')`;', '| `jsonify(d)` | `return d`: a dict is sent as JSON |',
                '| `return body, 201` | `bottle.response.status = 201`, then `return body` |',
                '| `request.get_json()`, `request.args`, `request.form` | `bottle.request.json` (no call), '
                '`bottle.request.query`, `bottle.request.forms`; read a form\'s field with '
                '`bottle.request.forms.getunicode(\'x\')` or as an attribute, `bottle.request.forms.x`, since its '
                '`.get(\'x\')` and `[\'x\']` read non-ASCII text as latin-1 (`josÃ©` for `josé`); or parameters of '
                'the handler named as the values, which canister fills'):
        assert row in COMING_FROM_FLASK, row
    app = make_app()

    @app.post('/api/notes')
    def add_note():
        if session.user is None:
            bottle.abort(401, 'log in first')
        session.data['notes'] = session.data.get('notes', []) + [bottle.request.json['text']]
        bottle.response.status = 201
        return {'notes': session.data['notes'], 'tag': bottle.request.query.tag,
                'form': bottle.request.forms.getunicode('x')}

    app.post('/api/bound', callback=lambda text, tag: {'text': text, 'tag': tag})

    @app.get('/login')
    def login():
        session.user = 'alice'
        return 'in'

    web = client(app)
    refused = web.post_json('/api/notes?tag=a', {'text': 'hi'}, headers={'Accept': 'application/json'},
                            expect_errors=True)
    assert (refused.status_int, refused.json['message']) == (401, 'log in first')
    web.get('/login')
    answer = web.post_json('/api/notes?tag=a', {'text': 'hi'})
    assert (answer.status_int, answer.content_type, answer.json) == (201, 'application/json',
                                                                     {'notes': ['hi'], 'tag': 'a', 'form': None})
    assert web.post_json('/api/bound?tag=b', {'text': 'hi'}).json == {'text': 'hi', 'tag': 'b'}


def test_a_non_ascii_form_field_is_read_right_by_getunicode_and_attributes_and_as_latin_1_by_get_and_brackets(
        make_app, serve):
    assert ("read a form's field with `bottle.request.forms.getunicode('x')` or as an attribute, "
            "`bottle.request.forms.x`, since its `.get('x')` and `['x']` read non-ASCII text as latin-1 "
            "(`josÃ©` for `josé`)") in COMING_FROM_FLASK
    app = make_app()

    @app.post('/form')
    def form():
        forms = bottle.request.forms
        return {'getunicode': forms.getunicode('x'), 'attribute': forms.x, 'get': forms.get('x'), 'item': forms['x']}

    app.post('/bound', callback=lambda x: {'x': x})
    origin = serve(app)
    body, headers = 'x=jos%C3%A9', {'Content-Type': 'application/x-www-form-urlencoded'}   # a browser's form, UTF-8
    assert json.loads(Client(origin).request('POST', '/form', body, headers).text) == {
        'getunicode': 'josé', 'attribute': 'josé', 'get': 'josÃ©', 'item': 'josÃ©'}
    assert json.loads(Client(origin).request('POST', '/bound', body, headers).text) == {'x': 'josé'}

def test_login_required_and_loginmanager_are_require_user_and_log_in(make_app):
    assert ("| `@login_required`, Flask-Login's `LoginManager` | `@canister.require_user`, with nothing to set up: "
            "`canister.log_in(name, password, users)` or `session.user = name` logs in") in COMING_FROM_FLASK
    app = make_app()
    users = {'alice': canister.hash_password('my-secret')}
    app.post('/login', callback=lambda: canister.log_in(bottle.request.forms.getunicode('name'),
                                                         bottle.request.forms.getunicode('password'), users) and 'in')
    app.get('/me', callback=canister.require_user(lambda: session.user))
    web = client(app)
    assert web.get('/me', expect_errors=True).status_int == 401
    web.post('/login', {'name': 'alice', 'password': 'my-secret'})
    assert web.get('/me').text == 'alice'


def test_flask_cors_and_csrfprotect_are_the_cors_key_and_the_default_check(make_app):
    assert "| Flask-CORS's `CORS(app)` | `cors = https://app.example.com` in the `[canister]` section" in COMING_FROM_FLASK
    assert ("| Flask-WTF's `CSRFProtect(app)` | nothing: the check is on by default and takes no token"
            in COMING_FROM_FLASK)
    app = make_app(config={'cors': 'https://app.example.com'})
    app.get('/api/items', callback=lambda: {'items': []})
    app.post('/api/items', callback=lambda: 'stored')
    web = client(app)
    answer = web.get('/api/items', headers={'Origin': 'https://app.example.com'})
    assert answer.headers['Access-Control-Allow-Origin'] == 'https://app.example.com'
    forged = web.post('/api/items', {'x': '1'}, headers={'Origin': 'https://evil.example'}, expect_errors=True)
    assert forged.status_int == 403
    assert web.post('/api/items', {'x': '1'}).text == 'stored'   # a form without any token field (curl's: no Origin)


def test_secret_key_is_not_needed_and_settings_come_from_keywords_of_the_environments_values(make_app, tmp_path,
                                                                                             monkeypatch):
    assert ("| `app.config['SECRET_KEY']` | not needed: the session cookie holds a random id, nothing signed."
            in COMING_FROM_FLASK)
    assert ("| `app.config.from_object(...)`, values from the environment | the `[canister]` section of an ini file, "
            "or keyword arguments: `Canister(session_store=os.environ['SESSION_STORE'])` |") in COMING_FROM_FLASK
    monkeypatch.setenv('SESSION_STORE', 'sqlite:///%s' % (tmp_path / 'sessions.db'))
    app = make_app(session_store=os.environ['SESSION_STORE'])

    @app.get('/')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    web = client(app)
    first = web.get('/')
    assert (first.text, web.get('/').text) == ('1', '2')              # a session without any SECRET_KEY
    assert (tmp_path / 'sessions.db').exists()
    assert re.fullmatch(r'[A-Za-z0-9_-]{43}', cookie_value(first))   # the random id, nothing signed


def test_hooks_error_handlers_and_blueprints_are_bottles_own(make_app):
    assert "| `@app.before_request` | Bottle's `@app.hook('before_request')` |" in COMING_FROM_FLASK
    assert '| `@app.errorhandler(404)` | `@app.error(404)`,' in COMING_FROM_FLASK
    assert ("| a blueprint | a Bottle app of its own, mounted with `app.mount('/admin/', admin_app)`"
            in COMING_FROM_FLASK)
    app = make_app()

    @app.hook('before_request')
    def open_db():
        bottle.request.db = 'a connection'

    app.get('/', callback=lambda: bottle.request.db)
    app.error(404)(lambda error: {'missing': bottle.request.path})
    admin_app = bottle.Bottle()
    admin_app.get('/users', callback=lambda: {'users': ['alice']})
    app.mount('/admin/', admin_app)
    web = client(app)
    assert web.get('/').text == 'a connection'
    missing = web.get('/nowhere', expect_errors=True)
    assert (missing.status_int, missing.json) == (404, {'missing': '/nowhere'})
    assert web.get('/admin/users').json == {'users': ['alice']}


# -- README: the opening sentence, Contents, the Bearer secret ----------------------------------------------

def test_the_opening_says_basic_credentials_alone_log_in_for_their_request(make_app):
    opening = README.split('\n## Contents\n', 1)[0]
    assert ("with the user kept in the client's session when it has one or the handler starts one (otherwise, as "
            "for a cookie-less API client or a curl with a cookie jar, the credentials log in for their request "
            "alone)") in opening
    app = make_app(auth_basic_username='alice', auth_basic_password=canister.hash_password('pw'))
    app.get('/me', callback=canister.require_user(lambda: session.user))

    @app.get('/visit')
    def visit():
        session.data['seen'] = True
        return str(session.user)

    jar = client(app)   # keeps cookies, as curl -c/-b does
    answer = jar.get('/me', headers={'Authorization': basic('alice', 'pw')})
    assert (answer.text, answer.headers.getall('Set-Cookie')) == ('alice', [])
    assert jar.get('/me', expect_errors=True).status_int == 401         # no session: logged in for that request
    jar.get('/visit', headers={'Authorization': basic('alice', 'pw')})   # the handler starts one
    assert jar.get('/me').text == 'alice'
    other = client(app)
    other.get('/visit')                                                  # a session it has already
    other.get('/me', headers={'Authorization': basic('alice', 'pw')})
    assert other.get('/me').text == 'alice'


def _slug(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')


def test_every_link_of_the_contents_reaches_a_heading_and_authentications_subsections_are_listed():
    contents = readme_section('## Contents')
    anchors = {_slug(title) for title in re.findall(r'^#{2,4} (.+)$', README, re.M)}
    links = re.findall(r'^ *- \[([^\]]+)\]\(#([^)]+)\)$', contents, re.M)
    assert links and all(anchor in anchors for _, anchor in links), links
    listed = [title for title, _ in links]
    start = listed.index('Authentication')
    assert listed[start:start + 8] == ['Authentication', 'A login form', 'How a request is logged in',
                                       'More about guards', 'Login throttling', 'Basic',
                                       'Bearer JWT (OAuth2 / OIDC)', 'CORS']
    assert '\n  - [A login form](#a-login-form)\n' in contents


def test_a_secret_made_as_the_readme_says_is_long_enough_and_logs_in_signed_as_it_says(make_app, log_dir):
    bearer_section = readme_section('### Bearer JWT (OAuth2 / OIDC)')
    command = re.search(r'Make a secret of your own with `(python -c "[^`]+")`: 32 random bytes written in '
                        r'base64url, which `auth_jwt_encoding = base64url` decodes back to those bytes\.',
                        bearer_section)
    assert command, 'the README says how to make a secret'
    made = subprocess.run([sys.executable, '-c', command.group(1)[len('python -c "'):-1]], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert re.fullmatch(r'[A-Za-z0-9_-]{43}', made)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app = make_app(auth_jwt_secret=made, auth_jwt_encoding='base64url', auth_jwt_client_id='my-api')
    assert [warning for warning in caught if warning.category is canister.CanisterWarning] == []  # not short
    app.get('/me', callback=lambda: json.dumps(session.user and session.user['sub']))
    key = base64.urlsafe_b64decode(made + '==')           # as the README's signing example decodes it
    assert len(key) == 32
    web = cookieless_client(app)
    assert web.get('/me', headers=bearer(signed_token(key, aud='my-api'))).text == '"alice"'
    refused = web.get('/me', headers=bearer(signed_token(made, aud='my-api')), expect_errors=True)
    assert refused.status_int == 401                       # the line's text as written is refused, as it says
