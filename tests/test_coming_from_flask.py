"""README for a Flask developer: the section "Coming from Flask", top-level beside "Coming from Django" and "Coming
from FastAPI", whose table says what each Flask habit becomes. The rows this file owns (the session's item access,
modified, permanent and clear, Flask-Login's login_user, logout_user and current_user, a typed query value, is_json
and host, abort with JSON errors, an error handler, SECRET_KEY, Flask-WTF's check, g, app.logger, the development
server) are each run as they say on a real server on 127.0.0.1; the rows moved from Configuration are run in
tests/test_newcomer_flask.py. Also the ERROR line of Flask's request attributes that Bottle's request lacks.

Flask is not installed in the test environments: nothing here imports it."""
from __future__ import annotations

import inspect
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import warnings
from datetime import timedelta

import bottle
import pytest

import canister
from canister import session
from helpers import ROOT, canister_names_checked, read_log, readme_section, sigint_as_in_a_terminal
from servers import HOST, Client, _terminate, served_on_a_free_port, wait_until

README = (ROOT / 'README.md').read_text(encoding='utf-8')
COMING_FROM_FLASK = readme_section('## Coming from Flask') if '\n## Coming from Flask\n' in README else ''
#: The table's rows: Flask's habit -> what it becomes here.
ROWS = dict(re.findall(r'^\| (.+?) \| (.+) \|$', COMING_FROM_FLASK, re.M))
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def row(flask: str) -> str:
    """What the table says Flask's ``flask`` becomes (the test fails, saying so, when the row is missing)."""
    assert flask in ROWS, (flask, sorted(ROWS))
    return ROWS[flask]


def error_lines(log_dir) -> list:
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]


# -- The section --------------------------------------------------------------------------------------------

def test_the_section_is_top_level_listed_in_contents_after_fastapis_and_configuration_points_to_it():
    contents = README.split('\n## Install\n', 1)[0]
    assert ('\n- [Coming from Django](#coming-from-django)\n- [Coming from FastAPI](#coming-from-fastapi)\n'
            '- [Coming from Flask](#coming-from-flask)\n- [Configuration](#configuration)\n') in contents
    assert (README.index('\n## Coming from FastAPI\n') < README.index('\n## Coming from Flask\n')
            < README.index('\n## Configuration\n'))
    assert ("\n  - *Coming from Flask.* What Flask's habits become here, besides these settings, is a section of its "
            "own: [Coming from Flask](#coming-from-flask).\n") in README
    assert README.count('| Flask | canister and Bottle |') == 1   # the table moved, not copied
    assert len(ROWS) == 26 and list(ROWS)[0] == 'Flask'


def test_every_canister_name_the_section_gives_exists_or_says_what_to_write_instead():
    names = canister_names_checked(COMING_FROM_FLASK)
    assert names >= {'require_user', 'log_in', 'login_required', 'login_user', 'logout_user', 'current_user',
                     'LoginManager', 'CORS', 'CSRFProtect'}, names


# -- The session ----------------------------------------------------------------------------------------------

def test_the_session_as_a_dict_is_session_data_and_item_access_says_so(make_app, serve):
    assert row("`session['cart']`, `session.get('cart', [])`").startswith(
        "`session.data['cart']`, `session.data.get('cart', [])`, with `from canister import session`; the logged-in "
        "user is `session.user`. `session` itself is no dict: `session['cart']` and `session.get(...)` raise a "
        "`TypeError` that says to write `session.data`")
    assert row("`session.modified = True` after changing a list in place") == (
        "nothing: a change inside a value (`session.data['cart'].append(item)`) is saved too, and "
        "`session.modified = True` raises an `AttributeError` that says so")
    app = make_app()

    @app.post('/cart')
    def add(item: str):
        session.data.setdefault('cart', []).append(item)    # changed in place, saved all the same
        return {'cart': session.data.get('cart', [])}

    @app.get('/flask/<habit>')
    def flask_habit(habit):
        try:
            if habit == 'item':
                return session['cart']
            if habit == 'get':
                return session.get('cart', [])
            session.modified = True
        except (TypeError, AttributeError) as error:
            return {'error': type(error).__name__, 'says': str(error)}
        return 'no error'

    browser = Client(serve(app))
    browser.request('POST', '/cart', 'item=pen', FORM)
    assert json.loads(browser.request('POST', '/cart', 'item=ink', FORM).text) == {'cart': ['pen', 'ink']}
    item, get, modified = (json.loads(browser.get('/flask/' + habit).text) for habit in ('item', 'get', 'modified'))
    assert item['error'] == get['error'] == 'TypeError'
    assert "session.data['cart']" in item['says'] and 'session.data' in get['says']
    assert modified['error'] == 'AttributeError' and 'nested values included, and saves it' in modified['says']


def test_session_permanent_is_remember_whose_session_lives_longer_in_a_cookie_with_max_age(make_app, serve, clock):
    assert row('`session.permanent = True`') == (
        '`session.remember(seconds)` (or a `timedelta`): that session lives as long without a request, in a cookie '
        'with `Max-Age`; `session.permanent = True` raises an `AttributeError` that says so')
    app = make_app()

    @app.post('/login')
    def login(remember: bool = False):
        session.user = 'alice'
        if remember:
            session.remember(timedelta(days=14))
        return 'in'

    app.get('/me', callback=lambda: str(session.user))

    @app.get('/permanent')
    def permanent():
        try:
            session.permanent = True
        except AttributeError as error:
            return str(error)
        return 'no error'

    origin = serve(app)
    remembered, plain = Client(origin), Client(origin)
    answer = remembered.request('POST', '/login', 'remember=true', FORM)
    assert 'Max-Age=1209600' in answer.headers['Set-Cookie']
    assert 'Max-Age' not in plain.request('POST', '/login', '', FORM).headers['Set-Cookie']
    clock.advance(13 * 86400)
    assert (remembered.get('/me').text, plain.get('/me').text) == ('alice', 'None')
    assert Client(origin).get('/permanent').text.endswith('for a persistent cookie, call session.remember(seconds)')


def test_session_clear_is_invalidate_to_log_out_or_an_empty_data_to_keep_the_session(make_app, serve):
    assert row('`session.clear()`') == (
        '`session.invalidate()` to log out and end the session, or `session.data = {}` to empty its values and keep '
        'it and its user; `session.clear()` raises a `TypeError` that says to log out with `session.invalidate()`')
    app = make_app()

    @app.post('/login')
    def login():
        session.user = 'alice'
        session.data['cart'] = ['pen']
        return 'in'

    @app.post('/empty')
    def empty():
        session.data = {}
        return 'emptied'

    @app.post('/logout')
    def logout():
        session.invalidate()
        return 'out'

    @app.post('/clear')
    def clear():
        try:
            session.clear()
        except TypeError as error:
            return str(error)
        return 'no error'

    app.get('/me', callback=lambda: {'user': session.user, 'data': session.data, 'sid': session.sid})
    browser = Client(serve(app))
    browser.request('POST', '/login', '', FORM)
    before = json.loads(browser.get('/me').text)
    browser.request('POST', '/empty', '', FORM)
    after = json.loads(browser.get('/me').text)
    assert (before['data'], after['data'], after['user'], after['sid']) == ({'cart': ['pen']}, {}, 'alice',
                                                                            before['sid'])
    assert 'to log out, call session.invalidate()' in browser.request('POST', '/clear', '', FORM).text
    assert browser.request('POST', '/logout', '', FORM).text == 'out'
    assert json.loads(browser.get('/me').text)['user'] is None


# -- Flask-Login ----------------------------------------------------------------------------------------------

def test_login_user_logout_user_and_current_user_are_log_in_invalidate_and_session_user(make_app, serve):
    assert row("Flask-Login's `login_user(user)`") == (
        '`canister.log_in(name, password, users)`, which checks the password too, or `session.user = name` once the '
        'app has checked it; either gives the session a new id and keeps its data')
    assert row("Flask-Login's `logout_user()`") == '`session.invalidate()`: the session ends, and its cookie is expired'
    assert row('`current_user`, `current_user.is_authenticated`') == (
        '`session.user`, None when nobody is logged in: `session.user is not None`')
    app = make_app()
    users = {'alice': canister.hash_password('my-secret')}

    @app.post('/visit')
    def visit():
        session.data['seen'] = True
        return 'seen'

    @app.post('/login')
    def login(name: str, password: str):
        return 'in' if canister.log_in(name, password, users) else 'refused'

    @app.post('/trust')
    def trust():
        session.user = 'bob'   # checked by the app itself
        return 'in'

    @app.post('/logout')
    def logout():
        session.invalidate()
        return 'out'

    app.get('/me', callback=lambda: {'user': session.user, 'authenticated': session.user is not None,
                                     'data': session.data})
    browser = Client(serve(app))
    browser.request('POST', '/visit', '', FORM)
    before = browser.cookies['session_id']
    assert json.loads(browser.get('/me').text) == {'user': None, 'authenticated': False, 'data': {'seen': True}}
    assert browser.request('POST', '/login', 'name=alice&password=wrong', FORM).text == 'refused'
    assert browser.request('POST', '/login', 'name=alice&password=my-secret', FORM).text == 'in'
    assert browser.cookies['session_id'] != before
    assert json.loads(browser.get('/me').text) == {'user': 'alice', 'authenticated': True, 'data': {'seen': True}}
    out = browser.request('POST', '/logout', '', FORM)
    assert 'Max-Age=0' in out.headers['Set-Cookie'] and 'session_id' not in browser.cookies
    assert json.loads(browser.get('/me').text)['user'] is None
    browser.request('POST', '/trust', '', FORM)
    assert json.loads(browser.get('/me').text)['user'] == 'bob'


# -- The request ----------------------------------------------------------------------------------------------

def test_a_typed_query_value_is_an_annotated_parameter_and_a_bad_one_a_400_naming_it(make_app, serve):
    assert row("`request.args.get('page', 1, type=int)`") == (
        'a parameter `page: int = 1` of the handler: converted by its annotation, and `?page=x` is a 400 naming the '
        'parameter')
    app = make_app()

    def notes(page: int = 1):
        return {'next': page + 1}

    app.get('/typed', callback=notes)
    origin = serve(app)
    assert json.loads(Client(origin).get('/typed?page=3').text) == {'next': 4}
    assert json.loads(Client(origin).get('/typed').text) == {'next': 2}
    refused = Client(origin).get('/typed?page=x')
    assert refused.status == 400 and "parameter 'page'" in refused.text


def test_is_json_and_host_are_the_json_read_already_and_the_host_header(make_app, serve):
    assert row('`request.is_json`, `request.host`') == (
        "`bottle.request.json is not None` (the body read already when it was sent as `application/json`), "
        "`bottle.request.get_header('Host')`")
    app = make_app()
    app.post('/kind', callback=lambda: {'is_json': bottle.request.json is not None,
                                        'host': bottle.request.get_header('Host')})
    origin = serve(app)
    sent_json = Client(origin).request('POST', '/kind', '{"n": 1}', {'Content-Type': 'application/json',
                                                                     'Host': 'shop.example.com:8443'})
    assert json.loads(sent_json.text) == {'is_json': True, 'host': 'shop.example.com:8443'}
    sent_form = Client(origin).request('POST', '/kind', 'n=1', FORM)
    assert json.loads(sent_form.text) == {'is_json': False, 'host': origin.split('//', 1)[1]}


#: Flask's request attributes Bottle's lacks, newly named in the ERROR line: a request, and the value that what
#: the line says to write gives for it (checked below on the same server).
FLASK_ATTRIBUTES = {
    'is_json': "Bottle's is bottle.request.json, the JSON body read already when it was sent as application/json, "
               'None otherwise: write bottle.request.json is not None; or give the handler parameters named as its '
               'members, which canister fills',
    'mimetype': "Bottle's is bottle.request.content_type, with its parameters (application/json; charset=utf-8): "
                "bottle.request.content_type.split(';')[0] is the bare type",
    'host': "Bottle's is bottle.request.get_header('Host'), the host and port the client asked for; behind a reverse "
            'proxy, the one the proxy passes on (nginx: proxy_set_header Host $host:$server_port;)',
    'view_args': "Bottle's is bottle.request.url_args, the route's wildcards by name; or give the handler parameters "
                 'named as the wildcards, which Bottle fills',
    'referrer': "Bottle's is bottle.request.get_header('Referer'), None without one",
    'user_agent': "Bottle's is bottle.request.get_header('User-Agent'), the header's text, None without one",
}


@pytest.mark.parametrize('name', sorted(FLASK_ATTRIBUTES))
def test_flasks_request_attributes_bottle_lacks_are_named_in_the_error_line_with_what_to_read(
        make_app, serve, log_dir, name):
    assert '`%s`' % name in COMING_FROM_FLASK.split("Flask's `bottle.request.get_json()`", 1)[1]
    app = make_app(catchall=True)
    app.post('/items/<item_id>', callback=lambda item_id: {'value': str(getattr(bottle.request, name))})
    answer = Client(serve(app)).request('POST', '/items/7', '{"n": 1}', {'Content-Type': 'application/json'})
    assert answer.status == 500 and 'Traceback' not in answer.text
    assert error_lines(log_dir)[0].endswith(
        "Unhandled exception in POST /items/<item_id>: bottle.request has no %s (Flask's request.%s): %s"
        % (name, name, FLASK_ATTRIBUTES[name]))


def test_what_the_attribute_lines_say_to_read_gives_what_flask_would(make_app, serve):
    app = make_app()

    @app.post('/items/<item_id>')
    def item(item_id):
        request = bottle.request
        return {'is_json': request.json is not None, 'mimetype': request.content_type.split(';')[0],
                'host': request.get_header('Host'), 'view_args': dict(request.url_args),
                'referrer': request.get_header('Referer'), 'user_agent': request.get_header('User-Agent')}

    origin = serve(app)
    headers = {'Content-Type': 'application/json; charset=utf-8', 'Host': 'shop.example.com',
               'Referer': 'http://shop.example.com/list', 'User-Agent': 'Mozilla/5.0 (X11)'}
    assert json.loads(Client(origin).request('POST', '/items/7', '{"n": 1}', headers).text) == {
        'is_json': True, 'mimetype': 'application/json', 'host': 'shop.example.com', 'view_args': {'item_id': '7'},
        'referrer': 'http://shop.example.com/list', 'user_agent': 'Mozilla/5.0 (X11)'}
    bare = json.loads(Client(origin).request('POST', '/items/7', 'n=1', FORM).text)
    assert (bare['is_json'], bare['mimetype'], bare['referrer']) == (False, 'application/x-www-form-urlencoded', None)


# -- Errors ---------------------------------------------------------------------------------------------------

def test_abort_is_bottles_and_error_format_json_makes_its_answer_json_to_every_client(make_app, serve):
    assert row('`abort(404)`') == (
        "`bottle.abort(404, 'text')`; with `error_format = json` in the `[canister]` section, every client gets "
        '`{"error": "Not Found", "message": "text"}`')
    app = make_app(config={'error_format': 'json'})
    app.get('/notes/<note_id>', callback=lambda note_id: bottle.abort(404, 'text'))
    answer = Client(serve(app)).get('/notes/9', headers={'Accept': 'text/html'})
    assert (answer.status, answer.headers['Content-Type'], json.loads(answer.text)) == (
        404, 'application/json', {'error': 'Not Found', 'message': 'text'})


def test_an_error_handler_is_app_error_taking_bottles_http_error_and_returning_a_dict_sent_as_json(make_app, serve):
    assert row('`@app.errorhandler(404)`') == (
        "`@app.error(404)`, whose function takes Bottle's `HTTPError` (`error.status_code`, `error.body`, the text "
        'given to `abort`) and may return a dict, sent as JSON')
    app = make_app()
    app.get('/notes/<note_id>', callback=lambda note_id: bottle.abort(404, 'no note %s' % note_id))
    app.error(404)(lambda error: {'status': error.status_code, 'said': error.body, 'kind': type(error).__name__})
    answer = Client(serve(app)).get('/notes/9')
    assert (answer.status, answer.headers['Content-Type'], json.loads(answer.text)) == (
        404, 'application/json', {'status': 404, 'said': 'no note 9', 'kind': 'HTTPError'})


# -- SECRET_KEY -----------------------------------------------------------------------------------------------

def installed_warnings(app: bottle.Bottle, log_dir) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    return [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def test_secret_key_is_not_needed_said_nothing_of_at_the_top_and_answered_under_canister(log_dir, serve,
                                                                                           uninstall_at_end):
    assert row("`app.config['SECRET_KEY']`") == (
        "not needed: the session cookie holds a random id, nothing signed. Left at the top of the app's config, "
        'canister says nothing of it; written as `secret_key` under `[canister]`, it is an unknown key answered with '
        '`canister needs no secret key for sessions: ...; the secret that signs Bearer tokens (JWT) is '
        'auth_jwt_secret`')
    flask_app = uninstall_at_end(bottle.Bottle())
    flask_app.config['SECRET_KEY'] = 'dev'
    assert installed_warnings(flask_app, log_dir) == []
    under_canister = uninstall_at_end(bottle.Bottle())
    under_canister.config['canister.secret_key'] = 'dev'
    assert installed_warnings(under_canister, log_dir) == [
        'unknown config key canister.secret_key (canister needs no secret key for sessions: the cookie holds a random '
        'id of a session kept on the server, nothing signed; the secret that signs Bearer tokens (JWT) is '
        'auth_jwt_secret)']
    bare = uninstall_at_end(bottle.Bottle())
    bare.install(canister.Canister(log_path=str(log_dir)))

    @bare.get('/')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    browser = Client(serve(bare))
    assert (browser.get('/').text, browser.get('/').text) == ('1', '2')
    assert re.fullmatch(r'[A-Za-z0-9_-]{43}', browser.cookies['session_id'])


# -- Flask-WTF ------------------------------------------------------------------------------------------------

def test_csrfprotect_is_nothing_a_form_without_a_token_passes_and_another_sites_request_is_a_403(make_app, serve):
    assert row("Flask-WTF's `CSRFProtect(app)`") == (
        'nothing: the check is on by default and takes no token, so a form needs no `csrf_token()` field and a '
        '`fetch` no `X-CSRFToken` header; an unsafe request another site\'s page sends (`Sec-Fetch-Site`, `Origin` or '
        '`Referer` says so) is a 403 (see [CSRF protection](#csrf-protection))')
    app = make_app()
    app.post('/notes', callback=lambda text: {'stored': text})
    origin = serve(app)
    own = [{'Sec-Fetch-Site': 'same-origin'}, {'Origin': origin}, {'Referer': origin + '/form'}]
    for headers in own:
        answer = Client(origin).request('POST', '/notes', 'text=hi', dict(FORM, **headers))
        assert (answer.status, json.loads(answer.text)) == (200, {'stored': 'hi'}), headers
    fetched = Client(origin).request('POST', '/notes', '{"text": "hi"}', {'Content-Type': 'application/json',
                                                                          'Sec-Fetch-Site': 'same-origin'})
    assert fetched.status == 200
    others = [{'Sec-Fetch-Site': 'cross-site'}, {'Origin': 'https://evil.example'},
              {'Referer': 'https://evil.example/page'}]
    for headers in others:
        assert Client(origin).request('POST', '/notes', 'text=hi', dict(FORM, **headers)).status == 403, headers


# -- Hooks, g, the logger -------------------------------------------------------------------------------------

def test_before_request_and_g_are_a_hook_and_an_attribute_of_bottles_request_for_that_request_alone(
        make_app, serve):
    assert row('`@app.before_request`') == "Bottle's `@app.hook('before_request')`"
    assert row('`g.db`') == (
        "`bottle.request.db = ...` in a `before_request` hook: an attribute of the app's own on Bottle's request lasts "
        'for that request alone (or a key of `bottle.request.environ`)')
    app = make_app()
    opened = []

    @app.hook('before_request')
    def open_db():
        if bottle.request.query.open:   # (a request without it gets nothing from the one before)
            opened.append(len(opened) + 1)
            bottle.request.db = 'connection %d' % opened[-1]
            bottle.request.environ['myapp.db'] = bottle.request.db

    app.get('/', callback=lambda: {'db': getattr(bottle.request, 'db', None),
                                   'environ': bottle.request.environ.get('myapp.db')})
    origin = serve(app, threads=1)   # (one thread: the same thread-local request each time)
    assert json.loads(Client(origin).get('/?open=1').text) == {'db': 'connection 1', 'environ': 'connection 1'}
    assert json.loads(Client(origin).get('/').text) == {'db': None, 'environ': None}
    assert json.loads(Client(origin).get('/?open=1').text) == {'db': 'connection 2', 'environ': 'connection 2'}


def test_app_logger_is_app_log_whose_lines_carry_the_prefix_of_the_requests_own(make_app, serve, log_dir):
    assert row('`app.logger.info(...)`') == (
        "`app.log.info(...)` after the install: canister's logger, whose lines go to its log with the prefix of the "
        "request's other lines (the client's address and the start of its session's id: see [Request "
        'logging](#request-logging))')
    app = make_app()

    @app.get('/')
    def index():
        session.data['seen'] = True
        app.log.info('cart emptied')
        return 'ok'

    browser = Client(serve(app))
    browser.get('/')
    browser.get('/')   # with the cookie the first answer gave
    said = [line.split(' ', 2)[2] for line in read_log(log_dir).splitlines() if '[127.0.0.1-' in line]
    prefix = 'INFO     [127.0.0.1-%s]   ' % browser.cookies['session_id'][:6]
    assert said[-3:-1] == [prefix + 'GET http://%s:%d/' % (browser.host, browser.port), prefix + 'cart emptied']
    assert said[-1].startswith(prefix + 'Response: 200 ('), said


# -- The development server -----------------------------------------------------------------------------------

#: A first app run as the row says, its port given so that the test shares the machine.
DEBUG_APP = """
    import sys
    import bottle
    import canister
    app = bottle.Bottle()
    app.install(canister.Canister(log_path='logs'))
    WORD = 'first'

    @app.get('/')
    def index():
        return WORD

    @app.get('/fail')
    def fail():
        return {}['missing']

    if __name__ == '__main__':
        app.run(debug=True, reloader=True, port=int(sys.argv[1]), interval=0.2, quiet=True)
"""


def test_flask_run_debug_is_app_run_with_debug_and_reloader_whose_500_shows_the_traceback_and_which_reloads(
        tmp_path):
    assert row('`flask run --debug`, `app.run(debug=True)`') == (
        "`app.run(debug=True, reloader=True)` under `if __name__ == '__main__':`, started with `python app.py`: "
        "Bottle's development server (on 127.0.0.1:8080 unless `host=` and `port=` say otherwise), whose 500 page "
        'shows the traceback and which starts again at each change of a file (which ends the sessions of the memory '
        'store: see [Stores](#stores))')
    defaults = inspect.signature(bottle.run).parameters
    assert (defaults['host'].default, defaults['port'].default) == ('127.0.0.1', 8080)
    script = tmp_path / 'app.py'
    script.write_text(textwrap.dedent(DEBUG_APP))
    env = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(ROOT)}
    output = tmp_path / 'output.txt'

    def start(port: int) -> subprocess.Popen:
        with open(output, 'wb') as sink:
            return subprocess.Popen([sys.executable, str(script), str(port)], cwd=str(tmp_path), env=env,
                                    preexec_fn=sigint_as_in_a_terminal, start_new_session=True,
                                    stdout=sink, stderr=subprocess.STDOUT)
    server, port = served_on_a_free_port(start, lambda port: Client('http://%s:%d' % (HOST, port)).get('/').text,
                                         [output], what='the app')
    browser = Client('http://%s:%d' % (HOST, port))
    try:
        assert browser.get('/').text == 'first'
        failed = browser.get('/fail')
        assert failed.status == 500 and 'Traceback' in failed.text and 'KeyError' in failed.text
        changed = [script.stat().st_mtime]
        script.write_text(textwrap.dedent(DEBUG_APP).replace("WORD = 'first'", "WORD = 'second'"))

        def reloaded() -> bool:   # (touched again until seen: the reloader may read the times after the first)
            try:
                if browser.get('/').text == 'second':
                    return True
            except OSError:   # (between two processes)
                pass
            changed[0] += 1
            os.utime(script, (changed[0], changed[0]))
            return False

        wait_until(reloaded, 30, interval=0.25, what='the reload')
    finally:
        _terminate(server, signal.SIGTERM, 10)


# -- Authentication's list of other frameworks' names ---------------------------------------------------------

def _names_passage() -> str:
    """The README's paragraph, under Authentication, on the names of other frameworks' helpers written on the module."""
    return readme_section('## Authentication').split('\nThe names Django, ', 1)[1].split('\n', 1)[0]


def test_authentications_list_of_other_frameworks_names_names_every_one_the_module_answers():
    passage = _names_passage()
    assert passage.startswith("Flask-Login, Flask-WTF, Flask-CORS, Starlette and FastAPI give their helpers are "
                              "answered with canister's own when written on the module")
    listed = set(re.findall(r'`(?:canister\.)?(\w+)`', passage.split(' Imported by name', 1)[0]))
    assert set(canister._OTHER_FRAMEWORKS_NAMES) <= listed, sorted(set(canister._OTHER_FRAMEWORKS_NAMES) - listed)


@pytest.mark.parametrize('name, listed_with, hint_says', [
    ('LoginManager', "Flask-Login's `LoginManager` and `UserMixin` (nothing to set up: `session.user` holds the user, "
                     'a name or a dict)', 'canister needs no login manager: session.user is the user'),
    ('UserMixin', None, 'session.user holds the user as the app gives it, a name or a dict'),
    ('CSRFProtect', "Flask-WTF's `CSRFProtect` and `FlaskForm` (the check is on by default and takes no token; the "
                    "handler's parameters take the form's fields)", 'by default (csrf = true), with no token'),
    ('FlaskForm', None, "give the handler parameters named as the form's fields"),
    ('CORS', "Flask-CORS's `CORS` and `cross_origin` and Starlette's `CORSMiddleware` (the `cors` key)",
     'write cors = https://app.example.com'),
    ('cross_origin', None, 'write cors = https://app.example.com'),
    ('CORSMiddleware', None, 'write cors = https://app.example.com'),
    ('Depends', "FastAPI's `Depends` (`@canister.require_user` below the route decorator, and a plain call of any other "
                'dependency)', 'guard the route with @canister.require_user'),
    ('OAuth2PasswordBearer', '`OAuth2PasswordBearer` (`auth_jwt_secret`: canister checks Bearer tokens itself, and '
                             'issues none)', 'canister checks Bearer tokens itself'),
    ('HttpResponseRedirect', "`redirect` and `HttpResponseRedirect` (`bottle.redirect('/next')`)",
     "call bottle.redirect('/next')"),
])
def test_each_name_added_to_the_list_is_listed_with_what_its_attribute_error_says(name, listed_with, hint_says):
    if listed_with:
        assert listed_with in _names_passage()
    with pytest.raises(AttributeError) as missing:
        getattr(canister, name)
    assert str(missing.value).startswith('module canister has no %s: ' % name) and hint_says in str(missing.value)
    assert 'issues no token' in canister._OTHER_FRAMEWORKS_NAMES['OAuth2PasswordBearer']


def test_limits_and_error_answers_names_each_new_flask_attribute_with_what_its_line_says_to_read():
    passage = readme_section('## Limits and error answers').split("*Flask's `request.get_json()`", 1)[1]
    bullet = passage.split('      - For `is_json`, ', 1)[1].split('\n', 1)[0]
    for name, read in (('is_json', 'bottle.request.json is not None'),
                       ('mimetype', "bottle.request.content_type.split(';')[0]"),
                       ('host', "bottle.request.get_header('Host')"), ('view_args', 'bottle.request.url_args'),
                       ('referrer', "bottle.request.get_header('Referer')"), ('user_agent', "get_header('User-Agent')")):
        assert '`%s`' % name in passage.split('.*', 1)[0] and '`%s`' % read in bullet, name
        assert read in FLASK_ATTRIBUTES[name] and FLASK_ATTRIBUTES[name] == canister._OTHER_REQUEST_ATTRIBUTES[name][1]
