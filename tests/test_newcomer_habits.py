"""Habits a Flask or Starlette user brings to a first canister app, which Bottle alone answers with a
500 whose log line says nothing a newcomer can act on, or with a wrong answer and no word at all:
each now says what to write instead, or does what the habit meant."""
from __future__ import annotations

import logging
import re
import warnings

import bottle
import pytest

import canister
from canister import session
from helpers import LogCollector, canister_warning_texts, client, read_log, warning_lines
from test_readme import readme_block_of_section

#: The end of every log line about a result Bottle cannot send: what to write instead.
WHAT_TO_WRITE = ("return {'items': [...]} for a list of values, str() for a number, and set a status with "
                 "bottle.response.status = 201 before returning the body (or return bottle.HTTPResponse(body, "
                 "status=201)), not Flask's return body, 201")


def error_lines(log_dir) -> list:
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]


def test_a_list_of_dicts_returned_by_a_handler_is_logged_with_what_bottle_sends_instead(make_app, log_dir):
    app = make_app()

    @app.get('/items')
    def items():
        return [{'id': 1}, {'id': 2}]

    assert client(app).get('/items', status=500)
    line = error_lines(log_dir)[0]
    assert line.endswith("Unhandled exception in GET /items: the handler returned a list, tuple or generator of "
                         "something other than text or bytes (Unsupported response type: <class 'dict'>): Bottle "
                         "sends text, bytes, a file, a dict (as JSON, by its JSON plugin) or a list, tuple or "
                         "generator of text or bytes: " + WHAT_TO_WRITE)


def test_flasks_body_and_status_tuple_is_logged_with_how_bottle_sets_a_status(make_app, log_dir):
    app = make_app(catchall=True)

    @app.post('/items')
    def create():
        return 'Created', 201

    assert client(app).post('/items', status=500, expect_errors=True)
    line = error_lines(log_dir)[0]
    assert ('Unhandled exception in POST /items: the handler returned a list or tuple of text and other values '
            '(sequence item 1: expected str instance, int found): ' in line), line
    assert line.endswith(WHAT_TO_WRITE)


def test_a_number_returned_by_a_handler_is_logged_as_the_handlers_result_not_as_a_hooks_exception(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/count')
    def count():
        return 42

    assert client(app).get('/count', status=500)
    line = error_lines(log_dir)[0]
    assert ("Unhandled exception in GET /count: the handler returned a value Bottle cannot send ('int' object is "
            "not iterable): "
            in line), line
    assert line.endswith(WHAT_TO_WRITE)
    assert 'outside the route' not in read_log(log_dir)


def test_a_dict_returned_by_an_error_handler_of_the_app_is_sent_as_json(make_app):
    app = make_app()

    @app.error(404)
    def not_found(error):
        return {'error': 'not found', 'path': bottle.request.path}

    response = client(app).get('/nowhere', status=404)
    assert response.content_type == 'application/json'
    assert response.json == {'error': 'not found', 'path': '/nowhere'}


def test_a_dict_from_the_apps_error_handler_for_canisters_401_keeps_the_challenge(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password=canister.hash_password('my-secret'))

    @app.error(401)
    def login_first(error):
        return {'login': '/login', 'message': error.body}

    @app.get('/me')
    @canister.require_user
    def me():
        return {'user': session.user}

    response = client(app).get('/me', status=401)
    assert response.json == {'login': '/login', 'message': 'Authentication required'}
    assert response.headers['WWW-Authenticate'] == 'Basic realm="canister", charset="UTF-8"'


def test_uninstalling_canister_gives_the_app_its_error_handlers_back_as_bottle_answers_them(make_app):
    app = make_app()

    @app.error(404)
    def not_found(error):
        return {'error': 'not found'}

    app.uninstall('canister')
    assert type(app.error_handler) is dict and app.error_handler[404] is not_found
    assert client(app).get('/nowhere', status=404).text == 'error'  # Bottle's own way: the dict's keys


def test_flasks_settings_at_the_top_of_the_config_are_reported_with_canisters_key(log_dir):
    app = bottle.Bottle()
    app.config['SESSION_COOKIE_SECURE'] = True
    app.config.update(CORS_ORIGINS='https://app.example.com', SECRET_KEY='not needed')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
    assert said == ["app.config['SESSION_COOKIE_SECURE'] is a Flask or Django setting, which canister does not read: write "
                    "canister.session_secure (or Canister(session_secure=...))",
                    "app.config['CORS_ORIGINS'] is a Flask setting, which canister does not read: write "
                    "canister.cors (or Canister(cors=...)): it takes the allowed origins"]
    assert all(' WARNING  [MainThread]   ' + message in read_log(log_dir) for message in said)
    app.uninstall(True)


@pytest.mark.parametrize('given', ['config', 'keyword'])
def test_a_flask_setting_whose_canister_key_is_set_too_is_not_reported(log_dir, given):
    """A config shared with a Flask app of the same site (``app.config.update(flask_app.config)``): canister's
    own key says the app did its part, and the Flask setting is Flask's."""
    app = bottle.Bottle()
    app.config.update(SESSION_COOKIE_SECURE=True, MAX_CONTENT_LENGTH=1 << 20)
    app.config['canister.max_body_size'] = 1 << 20
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        if given == 'config':
            app.config['canister.session_secure'] = True
            app.install(canister.Canister(log_path=str(log_dir)))
        else:
            app.install(canister.Canister(log_path=str(log_dir), session_secure=True))
    assert [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning] == []
    assert 'Flask setting' not in read_log(log_dir)
    app.uninstall(True)


def test_a_flask_setting_that_is_also_a_canister_name_is_reported_once_as_flasks(log_dir):
    # (CORS_MAX_AGE is flask-cors's, and cors_max_age canister's own: one line, not two with different advice)
    app = bottle.Bottle()
    app.config['CORS_MAX_AGE'] = 600
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
    assert said == ["app.config['CORS_MAX_AGE'] is a Flask setting, which canister does not read: write "
                    "canister.cors_max_age (or Canister(cors_max_age=...))"]
    app.uninstall(True)


def test_a_flask_login_that_puts_the_user_in_the_session_is_told_to_assign_session_user(make_app):
    app = make_app()

    @app.post('/login')
    def login():
        try:
            session['user_id'] = 'alice'
        except TypeError as error:
            return str(error)

    assert client(app).post('/login').text == (
        "canister's session is not a dict: for a login, assign session.user = ... (which gives the session a new "
        "id, against session fixation) or call canister.log_in(name, password); other values go in "
        "session.data['user_id'] = ...")


def test_flasks_if_session_and_len_of_the_session_say_to_ask_its_data_or_its_user(make_app):
    """``if not session: return redirect('/login')``, Flask's "nothing in it yet": canister's one object for every
    request was true for everyone, logged in or not."""
    app = make_app()

    @app.get('/')
    def index():
        said = []
        for attempt in (lambda: bool(session), lambda: len(session)):
            try:
                attempt()
            except TypeError as error:
                said.append(str(error))
        return '\n'.join(said)

    assert client(app).get('/').text.splitlines() == [
        "canister's session is not a dict, neither empty nor not: write if session.data: for its values, or if "
        "session.user: for a login",
        "canister's session is not a dict: its values are in session.data (len(session.data))"]


@pytest.mark.parametrize('name, hint', [
    ('cors_enabled', 'did you mean cors? it takes the allowed origins, or *'),                 # was: cors_headers
    ('allow_origin_regex', 'canister takes no regular expression: list the origins in cors, '  # Starlette
                           'https://*.example.com for every subdomain'),
    ('resources', 'did you mean cors_paths? it takes path prefixes, such as /api'),            # Flask-CORS
    ('max_content_length', 'did you mean max_body_size?'),                                     # Flask
    ('automatic_options', 'canister has no such setting: it answers CORS preflights itself'),  # was: auth_basic_...
    ('session_refresh_each_request', 'canister has no such setting: each request extends its session '
                                     '(session_timeout slides), and session.remember(seconds) sends the cookie '
                                     'again'),                                                 # was: session_redis_wait
])
def test_more_cors_and_session_settings_of_flask_and_starlette_are_pointed_to_canisters_own(make_app, name, hint):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={name: '1'})
    assert canister_warning_texts(caught) == ['unknown config key canister.%s (%s)' % (name, hint)]


def hello(name):
    return 'Hi %s!' % name


#: Bottle 0.12 serves a mounted child through the child's own WSGI entry, which answers and logs its errors itself.
COMPOSITIONS = ['merge'] if bottle.__version__.startswith('0.12') else ['merge', 'mount']


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_a_child_without_canister_whose_handler_takes_arguments_is_logged_with_the_fix(make_app, log_dir, composition):
    """A Flask user's blueprint: a child app whose handlers take arguments, merged into (or, on bottle 0.13,
    mounted on) the app canister is installed on.  Bottle calls them without arguments; the line says why,
    and what to do.  (Bottle 0.12 serves a mounted child through the child's own WSGI entry, which answers
    and logs its errors itself.)"""
    app = make_app(catchall=True)
    child = bottle.Bottle()
    child.route('/hello', callback=hello)
    if composition == 'merge':
        app.merge(child)
    else:
        app.mount('/api/', child)
    prefix = '/api' if composition == 'mount' else ''
    assert client(app).get(prefix + '/hello?name=John', status=500, expect_errors=True)
    line = error_lines(log_dir)[0]
    # (named by the route's rule as Bottle holds it: a mounted child's routes are the parent's, under the prefix)
    assert line.endswith("Unhandled exception in GET " + prefix + "/hello: a route that canister does not wrap called "
                         "its handler without an argument (hello() missing 1 required positional argument: 'name'): "
                         "canister fills handler arguments from the request only on the routes it wraps, those of the "
                         "apps it is installed on (unless skip=['canister']): for a child app mounted or merged into "
                         "this one (as a Flask blueprint is registered), install canister on the child too; or give "
                         "the handler defaults and read bottle.request"), line


def test_flasks_logout_on_the_session_says_how_to_log_out_not_only_where_the_data_is(make_app):
    """``session.clear()`` and ``session.pop('user_id')``, Flask's logout: pointing at ``session.data`` alone
    would leave the user logged in."""
    app = make_app()

    @app.post('/logout')
    def logout():
        said = []
        for attempt in (session.clear, lambda: session.pop('user_id', None), lambda: session.__delitem__('user')):
            try:
                attempt()
            except TypeError as error:
                said.append(str(error))
        return '\n'.join(said)

    hint = ("canister's session is not a dict: to log out, call session.invalidate() (or assign session.user = "
            "None); %s would leave the user logged in")
    assert client(app).post('/logout').text.splitlines() == [
        hint % 'session.data.clear()', hint % "session.data.pop('user_id')", hint % "del session.data['user']"]


def test_python_none_for_the_samesite_of_the_cookie_is_refused_not_read_as_samesite_none(log_dir):
    """Flask's ``SESSION_COOKIE_SAMESITE = None`` means no attribute; read as the text, it sent ``SameSite=None``."""
    with pytest.raises(canister.ConfigError) as refused:
        bottle.Bottle().install(canister.Canister(log_path=str(log_dir), session_samesite=None))
    assert str(refused.value) == ("canister.session_samesite = None is not valid: expected one of Lax, Strict, None, "
                                  "written as text: Python's None is no value (write 'None' for SameSite=None, or "
                                  "leave the key out)")


def test_an_empty_log_path_is_refused_naming_stderr_which_it_meant_in_1x(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    app.config.load_dict({'canister': {'log_path': ''}})
    with pytest.raises(canister.ConfigError) as refused:
        app.install(canister.Canister())
    assert str(refused.value) == ("canister.log_path = '' is not valid: expected a directory (./logs/ when the key "
                                  "is left out), or stderr or stdout (what an empty log_path meant in canister 1.x)")
    assert list(tmp_path.iterdir()) == []  # (the day's file went to the working directory)


@pytest.mark.parametrize('empty', ['', None])
def test_an_empty_log_path_is_accepted_with_log_level_disabled_where_nothing_is_written(tmp_path, monkeypatch, capfd,
                                                                                         empty):
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    app.config.load_dict({'canister': {'log_level': 'DISABLED'}})
    plugin = app.install(canister.Canister(log_path=empty))
    try:
        @app.get('/')
        def index():
            return 'hello'

        assert client(app).get('/').text == 'hello'
        assert list(tmp_path.iterdir()) == []
        assert capfd.readouterr() == ('', '')
    finally:
        app.uninstall(plugin)


def flasks_methods_refusal(method: str, rule: str, methods, answered: str) -> str:
    """What canister says of a route given Flask's ``methods=`` (``answered``: what Bottle would answer)."""
    return ("canister: Route %s %s was given methods=%r, Flask's keyword, which Bottle keeps as a setting of the route "
            "and does not read: the route would answer %s; write method=%r instead (Bottle's keyword)"
            % (method, rule, methods, answered, methods))


def test_flasks_methods_keyword_is_refused_where_the_route_is_added_and_its_handler_never_runs(make_app):
    app = make_app()
    deleted = []
    with pytest.raises(canister.CanisterError) as refused:
        @app.route('/delete', methods=['POST'])  # to Bottle, a GET route: a cross-site GET the CSRF check lets by
        def delete():
            deleted.append(True)
            return 'deleted'
    assert str(refused.value) == flasks_methods_refusal('GET', '/delete', ['POST'], 'GET alone (405 to the other methods)')
    assert app.routes == []
    web = client(app)
    web.get('/delete', status=404)
    web.post('/delete', status=404)
    assert deleted == []


@pytest.mark.parametrize('options, method, answered', [
    (dict(methods=['GET', 'POST']), 'GET', 'GET alone (405 to the other methods)'),
    (dict(methods=['GET']), 'GET', 'GET alone (405 to the other methods)'),
    (dict(method='PUT', methods='PUT'), 'PUT', 'PUT alone (405 to the other methods)'),
    (dict(method='ANY', methods=['POST']), 'ANY', 'every method')])
def test_flasks_methods_keyword_is_refused_whatever_it_names_with_bottles_spelling(make_app, options, method, answered):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/items', callback=lambda: 'items', **options)
    assert str(refused.value) == flasks_methods_refusal(method, '/items', options['methods'], answered)
    assert app.routes == []


def test_a_setting_named_methods_in_the_apps_config_refuses_none_of_its_routes(make_app):
    app = make_app()
    app.config['methods'] = 'GET POST'  # (bottle 0.13: each route's config sees the app's through)
    app.route('/items', callback=lambda: 'items')
    assert client(app).get('/items').text == 'items'


def test_bottles_method_keyword_with_the_list_of_methods_routes_each_of_them(make_app):
    app = make_app()
    app.route('/login', method=['GET', 'POST'], callback=lambda: bottle.request.method)
    web = client(app)
    assert web.get('/login').text == 'GET'
    assert web.post('/login', headers={'Sec-Fetch-Site': 'same-origin'}).text == 'POST'


def test_flasks_methods_keyword_on_a_route_added_before_the_install_is_a_500_that_never_runs_its_handler(
        log_dir, uninstall_at_end):
    app = bottle.Bottle()
    deleted = []

    @app.route('/delete', methods=['POST'])
    def delete():
        deleted.append(True)
        return 'deleted'

    app.install(canister.Canister(log_path=str(log_dir)))
    uninstall_at_end(app)
    answer = client(app).get('/delete', status=500, expect_errors=True)
    assert 'deleted' not in answer.text and deleted == []
    assert flasks_methods_refusal('GET', '/delete', ['POST'], 'GET alone (405 to the other methods)') in read_log(log_dir)


def test_the_first_app_as_printed_imports_without_running_a_server(tmp_path, monkeypatch):
    """``gunicorn app:app`` imports the file: the README's first app, as printed, gives the server the app
    without starting Bottle's development server, which ``python app.py`` starts."""
    block = readme_block_of_section('A first app')
    runs = []
    monkeypatch.setattr(bottle.Bottle, 'run', lambda self, **options: runs.append(self))
    monkeypatch.chdir(tmp_path)
    for name in ('app', '__main__'):  # imported by gunicorn, then run as python app.py
        namespace = {'__name__': name}
        exec(compile(block, 'app.py', 'exec'), namespace)
        namespace['app'].uninstall(True)
    assert len(runs) == 1 and runs[0] is namespace['app']


def test_a_fastapi_placeholder_in_a_rule_is_logged_once_with_bottles_at_the_first_404(make_app, log_dir):
    app = make_app()

    @app.get('/items/{item_id}')
    def item(item_id: int):
        return 'item %d' % item_id

    web = client(app)
    web.get('/items/3', status=404)
    web.get('/items/4', status=404)
    said = [line for line in read_log(log_dir).splitlines() if 'has the placeholder' in line]
    assert len(said) == 1 and ' WARNING ' in said[0]
    assert said[0].endswith("Route GET /items/{item_id} has the placeholder {item_id} of Starlette and FastAPI, which "
                            "is text to Bottle, matched by that very path only (404 to every other): write <item_id> "
                            "(Bottle's and Flask's), with an annotation on the handler's parameter to convert it")


def test_a_route_added_after_the_first_404_is_looked_at_the_next_one(make_app, log_dir):
    app = make_app()
    web = client(app)
    web.get('/nothing', status=404)
    app.route('/users/{user_id:int}', callback=lambda user_id: user_id)
    web.get('/users/3', status=404)
    assert 'Route GET /users/{user_id:int} has the placeholder {user_id:int} of Starlette' in read_log(log_dir)


def test_debug_true_which_does_nothing_is_reported_with_bottles_debug_mode(log_dir):
    app = bottle.Bottle()
    app.config.load_dict({'canister': {'debug': 'true'}})
    with pytest.warns(canister.CanisterWarning) as caught:
        app.install(canister.Canister(log_path=str(log_dir)))
    assert [str(warning.message) for warning in caught] == [
        "canister.debug = True has no effect, as in canister 1.x: for Bottle's debug mode, whose error pages show "
        "the traceback, call bottle.debug(True) (never in production)"]
    app.uninstall(True)


STARLETTE_REQUEST = ("Route GET /: parameter 'request' is filled from a value named request in the query, form or JSON "
                     "body, as every parameter is, so a request without one answers 400: Bottle hands a handler no "
                     "request object, as Starlette does; read bottle.request in the handler instead, and take the "
                     "parameter out")


def test_a_starlette_request_parameter_is_told_in_the_log_to_be_bottle_request(make_app, log_dir):
    app = make_app()

    @app.get('/')
    def homepage(request):  # Starlette's endpoint signature
        return 'Hello from %s' % request.url

    assert client(app).get('/', status=400).text == "Bad request: missing parameter 'request'\n"
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [
        STARLETTE_REQUEST, "Bad request: missing parameter 'request'"]


def test_a_request_parameter_with_a_default_is_an_ordinary_value_and_not_told(make_app, log_dir):
    app = make_app()

    @app.get('/')
    def homepage(request='none'):
        return 'asked for %s' % request

    assert client(app).get('/?request=tea').text == 'asked for tea'
    assert warning_lines(log_dir) == []


def test_an_async_handler_is_refused_with_a_line_that_says_to_write_a_plain_def(make_app, log_dir):
    app = make_app(catchall=True)
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/items')
        async def items():
            return 'never sent'
    assert str(refused.value) == (
        'canister: the handler of GET /items is an async def, which Bottle, a WSGI framework, '
        'calls without ever running its body; write it as a plain def (a blocking call in it holds its thread only, '
        'or its greenlet under gevent)')
    client(app).get('/items', status=404)


def test_the_plugins_log_takes_warn_log_and_the_other_calls_of_a_logger_as_1x_plugin_log_did(log_dir):
    """1.x's ``plugin.log`` was the app's ``logging.Logger``; 1.x itself called its ``warn``."""
    plugin = canister.Canister(log_path=str(log_dir))
    app = bottle.Bottle()
    app.install(plugin)
    caught = LogCollector()
    plugin.log.addHandler(caught)
    plugin.log.warn('slow disk')
    plugin.log.log(logging.ERROR, 'disk %s', 'full')
    assert plugin.log.isEnabledFor(logging.INFO) and plugin.log.handlers[-1] is caught
    plugin.log.removeHandler(caught)
    app.uninstall(True)
    assert caught.messages == ['slow disk', 'disk full']
    log = read_log(log_dir)
    assert ' WARNING  [MainThread]   slow disk\n' in log and ' ERROR    [MainThread]   disk full\n' in log


def test_the_plugins_log_set_level_quiets_canisters_own_request_lines_as_1x_did(log_dir):
    """1.x wrote its lines through ``plugin.log``, so ``plugin.log.setLevel(logging.WARNING)`` silenced its INFO lines."""
    plugin = canister.Canister(log_path=str(log_dir))
    app = bottle.Bottle()
    app.install(plugin)
    app.route('/before', callback=lambda: 'ok')
    app.route('/after', callback=lambda: 'ok')
    web = client(app)
    web.get('/before')
    plugin.log.setLevel(logging.WARNING)
    web.get('/after')
    plugin.log.warning('still said')
    app.uninstall(True)
    log = read_log(log_dir)
    assert '/before' in log and ' WARNING  [MainThread]   still said\n' in log
    assert '/after' not in log


def test_the_plugins_log_set_level_from_critical_to_info_logs_the_response_line_with_its_time(log_dir):
    plugin = canister.Canister(log_path=str(log_dir), log_level='CRITICAL')
    app = bottle.Bottle()
    app.install(plugin)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    web.get('/?quiet')
    plugin.log.setLevel('INFO')
    web.get('/?loud')
    app.uninstall(True)
    log = read_log(log_dir)
    assert '?quiet' not in log
    assert re.search(r' INFO     \[[^\]]*\]   GET http://localhost:80/\?loud\n', log)
    assert len(re.findall(r' INFO     \[[^\]]*\]   Response: 200 \(\d+ms\)\n', log)) == 1


def test_the_plugins_log_set_level_to_debug_shows_canisters_debug_lines(log_dir):
    plugin = canister.Canister(log_path=str(log_dir))
    app = bottle.Bottle()
    app.install(plugin)

    @app.get('/count')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    plugin.log.setLevel('DEBUG')
    web = client(app)
    assert [web.get('/count').text for _ in range(2)] == ['1', '2']
    app.uninstall(True)
    assert re.search(r' DEBUG    \[[^\]]*\]   Session: \S+\.\.\. loaded\n', read_log(log_dir))
