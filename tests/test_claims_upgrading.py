"""The canister 1.x docs' examples, run unchanged, and the README's Upgrading lines tests/test_upgrading.py leaves open.

Each example below is the 1.x docs' text with its indentation put back (the placeholder
``<my-config-file-path>`` filled in); a test that changes one says where and why.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import subprocess
import sys
import traceback
import warnings
from typing import Iterator

import bottle
import pytest

import canister
from canister import session
from helpers import (ROOT, app_with_ini, banner_value, basic, bearer, client, read_log, signed_token,
                     warning_lines)
from servers import Client, served_on_a_free_port

README = (ROOT / 'README.md').read_text(encoding='utf-8')

#: The first example of the 1.x docs: a whole program, served by its own ``app.run()``.
FIRST_APP_1X = """import bottle
import canister
from canister import session

app = bottle.Bottle()
app.config.load_config('app.ini')
app.install(canister.Canister())

@app.get('/')
def index(foo=None):
    if 'counter' in session.data:
        session.data['counter'] += 1
    else:
        session.data['counter'] = 0
    return '''
        <pre>
        Session sid: %s
        Session user: %s
        Session data: %s
        "?foo=...": %s
        </pre>
    ''' % (session.sid, session.user, session.data, foo)

app.run()
"""

#: The ini snippets of the 1.x docs (logging, sessions, CORS), each with the banner line it sets.
LOGGING_INI_1X = """[canister]
# The logs directory
log_path = ./logs/
# Logging levels: DISABLED, DEBUG, INFO, WARNING, ERROR, CRITICAL
log_level = INFO
# Log older than that will be deleted
log_days = 30
"""
SESSION_INI_1X = """[canister]
# how long the session data will still be available after the last access, in seconds
session_timout = 3600
"""
CORS_INI_1X = """[canister]
# applies CORS to responses, write * to allow AJAX requests from anywhere
CORS = *
"""

#: The logging example of the 1.x docs (a fragment: ``app`` is the app canister is installed on).
LOGGING_EXAMPLE_1X = """
@app.get('/')
def index():
    app.log.info('Hey!')
    return 'Ho!'
"""

#: The parameter example of the 1.x docs (a fragment on Bottle's default app, ``from bottle import get``).
PARAMETER_EXAMPLE_1X = """
@get('/hi')
def hello(foo, bar=''):
    if bar:
        return 'Hi %s and %s!' % (foo, bar)
    else:
        return 'Hi %s!' % foo
"""

#: The session example of the 1.x docs (a fragment on Bottle's default app; ``# ...`` left as it is).
SESSION_EXAMPLE_1X = """
import bottle
import canister
from canister import session

@get('/')
def index():
    if 'counter' in session.data:
        session.data['counter'] += 1
    else:
        session.data['counter'] = 0
    # ...
"""

#: Runs a program (argv[1]) whose ``run()`` call names no port on the port argv[2], as ``python app.py`` would.
RUN_ON_PORT = """import functools, runpy, sys, bottle
bottle.run = functools.partial(bottle.run, host='127.0.0.1', port=int(sys.argv[2]), quiet=True)
runpy.run_path(sys.argv[1], run_name='__main__')
"""


def accepts(port: int) -> bool:
    """Something listens on 127.0.0.1:port."""
    with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def served(directory, program: str) -> Iterator[Client]:
    """``program`` run as ``python app.py`` in ``directory`` (its ``run()`` on a free port): a client of it."""
    (directory / 'app.py').write_text(program)

    def start(port: int) -> subprocess.Popen:
        with open(directory / 'stderr.txt', 'wb') as stderr:
            return subprocess.Popen([sys.executable, '-c', RUN_ON_PORT, 'app.py', str(port)], cwd=str(directory),
                                    env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=stderr, stderr=stderr)
    process, port = served_on_a_free_port(start, accepts, [directory / 'stderr.txt'], what='the 1.x program')
    try:
        assert process.poll() is None, (directory / 'stderr.txt').read_text()
        yield Client('http://127.0.0.1:%d' % port)
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def default_app(uninstall_at_end) -> Iterator[bottle.Bottle]:
    """A fresh Bottle default app (what ``bottle.get`` and ``bottle.install`` act on), popped at the end."""
    app = bottle.default_app.push()
    app.catchall = False
    yield app
    uninstall_at_end(app)
    bottle.default_app.pop()


def run_fragment(fragment: str, **names) -> None:
    """Runs a 1.x docs fragment with ``bottle.get`` as ``get`` and ``names`` (``app``) in scope."""
    exec(compile(fragment, '1.x docs', 'exec'), dict(get=bottle.get, **names))


# -- the 1.x docs' examples, unchanged --------------------------------------------------------------

def test_the_1x_docs_first_app_runs_unchanged_on_its_own_server_counting_and_logging_as_documented(tmp_path):
    (tmp_path / 'app.ini').write_text(LOGGING_INI_1X)
    with served(tmp_path, FIRST_APP_1X) as web:
        pages = [web.get('/?foo=bar').body.decode() for _ in range(3)]
    sid = pages[0].split('Session sid: ')[1].split()[0]
    for count, page in enumerate(pages):
        assert 'Session sid: %s\n' % sid in page and 'Session user: None\n' in page
        assert "Session data: {'counter': %d}\n" % count in page and '"?foo=...": bar\n' in page
    assert all(re.fullmatch(r'log\.\d{4}-\d\d-\d\d', path.name) for path in (tmp_path / 'logs').iterdir())
    log = read_log(tmp_path / 'logs')  # (every day's file: the run may cross midnight)
    assert ' INFO     [MainThread]   Initializing\n' in log
    assert ' INFO     [127.0.0.1-...]   GET http://127.0.0.1:' in log  # the first request, before its session
    assert ' INFO     [127.0.0.1-%s]   Response: 200 (' % sid[:6] in log  # the thread named by the sid's start
    assert sid not in log and 'Session id' not in log  # (1.x's docs show a 'Session id: ...' line)


def test_the_1x_docs_logging_example_writes_its_line_in_the_requests_layout(tmp_path, monkeypatch, uninstall_at_end):
    monkeypatch.chdir(tmp_path)
    app = uninstall_at_end(app_with_ini(tmp_path, LOGGING_INI_1X))
    app.install(canister.Canister())
    run_fragment(LOGGING_EXAMPLE_1X, app=app)
    assert client(app).get('/').text == 'Ho!'
    assert ' INFO     [127.0.0.1-...]   Hey!\n' in read_log(tmp_path / 'logs')


def test_the_1x_docs_parameter_example_answers_as_its_code_says_and_a_missing_foo_is_a_400(default_app, log_dir):
    bottle.install(canister.Canister(log_path=str(log_dir)))
    run_fragment(PARAMETER_EXAMPLE_1X)
    web = client(default_app)
    # (the 1.x docs' text says "Hi John Smith!"; their code, 1.x's and 2.0's answer, has the "and")
    assert web.get('/hi?foo=John&bar=Smith').text == 'Hi John and Smith!'
    assert web.get('/hi?foo=John').text == 'Hi John!'
    assert "missing parameter 'foo'" in web.get('/hi', status=400).text


def test_the_1x_docs_parameter_example_beside_the_first_apps_own_app_is_a_404_that_one_warning_explains(
        default_app, make_app, log_dir):
    said = ("Route GET /hi is on Bottle's default app (added with bottle.route or bottle.get, or @get imported from "
            "bottle), not on the app canister is installed on, so this app answers its path 404: add it with @app.get "
            "or @app.route")
    assert '`%s`' % said in README
    app = make_app()   # the first example's app = bottle.Bottle(), canister installed on it, @get on another
    run_fragment(PARAMETER_EXAMPLE_1X)
    web = client(app)
    for path in ('/hi?foo=John&bar=Smith', '/hi', '/elsewhere'):
        web.get(path, status=404)
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [said]


def test_a_404_of_a_default_app_route_says_nothing_of_it_when_the_app_answers_404_with_its_own_error_page(
        default_app, make_app, log_dir):
    assert "(unless the app answers 404 with its own `@app.error(404)` page)" in README
    app = make_app()
    app.error(404)(lambda error: 'no such page here')
    run_fragment(PARAMETER_EXAMPLE_1X)
    assert client(app).get('/hi?foo=John', status=404).text == 'no such page here'
    assert warning_lines(log_dir) == []


def test_a_404_of_a_path_the_default_app_does_not_route_either_says_nothing_of_it(default_app, make_app, log_dir):
    app = make_app()
    app.route('/here', callback=lambda: 'here')
    run_fragment(PARAMETER_EXAMPLE_1X)
    client(app).get('/there', status=404)
    assert warning_lines(log_dir) == []


def test_a_404_of_an_app_mounted_on_the_default_app_says_nothing_of_the_default_apps_own_routes(
        default_app, make_app, log_dir):
    """The default app is the one served here (``bottle.mount('/api/', api)``, then ``bottle.run()``): its own
    route ``/`` answers at ``/``, and a 404 at ``/api/`` is the mounted app's, not a route added on the wrong app."""
    default_app.route('/', callback=lambda: 'home')
    api = make_app()
    api.route('/items', callback=lambda: 'items')
    default_app.mount('/api/', api)
    web = client(default_app)

    assert web.get('/').text == 'home' and web.get('/api/items').text == 'items'
    web.get('/api/', status=404)

    assert warning_lines(log_dir) == []


def test_the_1x_docs_session_example_counts_in_session_data(default_app, log_dir):
    bottle.install(canister.Canister(log_path=str(log_dir)))
    run_fragment(SESSION_EXAMPLE_1X)
    default_app.route('/count', callback=lambda: repr(session.data))
    web = client(default_app)
    for _ in range(3):
        assert web.get('/').text == ''  # the fragment returns nothing: an empty 200
    assert web.get('/count').text == "{'counter': 2}"


@pytest.mark.parametrize('text, key, value', [(LOGGING_INI_1X, 'log_days', '30'),
                                              (SESSION_INI_1X, 'session_timeout', '3600'),
                                              (CORS_INI_1X, 'cors', '*')], ids=['logging', 'sessions', 'cors'])
def test_each_ini_snippet_of_the_1x_docs_installs_unchanged_without_a_warning(tmp_path, monkeypatch, uninstall_at_end,
                                                                               text, key, value):
    monkeypatch.chdir(tmp_path)
    app = uninstall_at_end(app_with_ini(tmp_path, text))
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app.install(canister.Canister())
    assert banner_value(read_log(tmp_path / 'logs'), key) == value


# -- lines of the Upgrading section ---------------------------------------------------------------

def test_an_empty_log_path_is_refused_naming_stderr_but_not_with_log_level_disabled(tmp_path, monkeypatch,
                                                                                     uninstall_at_end):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(canister.ConfigError, match=r"^canister.log_path = '' is not valid: .*or stderr or stdout"):
        bottle.Bottle().install(canister.Canister(log_path=''))
    app = uninstall_at_end(bottle.Bottle())
    app.install(canister.Canister(log_path='', log_level='DISABLED'))
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok' and list(tmp_path.iterdir()) == []


def test_log_path_none_is_refused_as_an_empty_one_is_but_not_with_log_level_disabled(tmp_path, monkeypatch,
                                                                                      uninstall_at_end):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(canister.ConfigError, match=r"^canister.log_path = None is not valid: .*or stderr or stdout"):
        bottle.Bottle().install(canister.Canister(log_path=None))
    app = uninstall_at_end(bottle.Bottle())
    app.install(canister.Canister(log_path=None, log_level='DISABLED'))
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok' and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('key, value', [('log_slow', '1.0'), ('session_max', '100000')])
def test_the_defaults_the_upgrading_section_names_are_the_defaults(log_dir, uninstall_at_end, key, value):
    uninstall_at_end(bottle.Bottle()).install(canister.Canister(log_path=str(log_dir)))  # (not make_app: log_slow 0)
    assert banner_value(read_log(log_dir), key) == value


def test_the_plugins_log_has_every_call_of_a_logger_the_upgrading_section_names(tmp_path, uninstall_at_end):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    intro = readme.split('## Upgrading from canister 1.x', 1)[1].split('that code written for 1.x makes: ', 1)[1]
    named = re.findall(r'`(\w+)`', intro.split(') and its config keys', 1)[0])
    assert len(named) == 18 and 'warn' in named and 'getChild' in named
    app = uninstall_at_end(bottle.Bottle())
    plugin = canister.Canister(log_path=str(tmp_path / 'logs'))
    app.install(plugin)
    log = plugin.log
    assert all(hasattr(log, name) for name in named)
    assert log.getEffectiveLevel() == logging.INFO and not log.isEnabledFor(logging.DEBUG) and log.hasHandlers()
    assert log.getChild('db') is app.log.getChild('db') and log.handlers == app.log.handlers
    hide = logging.Filter('nothing')  # (passes only the records of loggers named nothing...)
    log.addFilter(hide)
    log.error('hidden')
    log.removeFilter(hide)
    log.debug('below the level')
    log.error('an error')
    log.critical('a critical')
    log.log(logging.WARNING, 'a warning')
    lines = read_log(tmp_path / 'logs')
    assert 'hidden' not in lines and 'below the level' not in lines
    assert ' ERROR    [MainThread]   an error\n' in lines and ' CRITICAL [MainThread]   a critical\n' in lines
    assert ' WARNING  [MainThread]   a warning\n' in lines


def test_the_upgrading_section_names_what_the_1x_docs_examples_meet():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme.split('## Upgrading from canister 1.x', 1)[1].split('\n## ', 1)[0]
    # each backed by a test above: the first app's log, the header login without a session
    assert "(`Session id: ...` in the 1.x docs' example)" in section
    assert 'A Basic or Bearer login on such a request (a client\'s first, without a cookie) therefore holds for that ' \
           'request alone' in section


@pytest.mark.parametrize('written', ['WARN', 'FATAL', 'warn'])
def test_the_level_names_1x_passed_on_to_pythons_logging_are_refused_at_install(tmp_path, written):
    with pytest.raises(canister.ConfigError, match=r"^canister.log_level = '%s' is not valid: expected one of "
                       r'DISABLED, DEBUG, INFO, WARNING, ERROR, CRITICAL$' % written):
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), log_level=written))


def test_the_session_object_is_neither_true_nor_false_and_has_no_length(make_app):
    app = make_app(catchall=True)

    @app.get('/truth')
    def truth():
        return 'true' if session else 'false'  # always 'true' in 1.x

    @app.get('/length')
    def length():
        return str(len(session))

    web = client(app)
    assert web.get('/truth', expect_errors=True).status_int == 500
    assert web.get('/length', expect_errors=True).status_int == 500
    with pytest.raises(TypeError, match=r"^canister's session is not a dict, neither empty nor not: write if "
                       r'session.data: for its values, or if session.user: for a login$'):
        bool(session)
    with pytest.raises(TypeError, match=r"^canister's session is not a dict: its values are in session.data "
                       r'\(len\(session.data\)\)$'):
        len(session)


def test_a_header_login_without_a_session_holds_for_its_request_alone_and_is_kept_once_there_is_one(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='my-secret')
    app.route('/me', callback=lambda: str(session.user))
    app.route('/cart', callback=lambda: session.data.setdefault('cart', 'empty'))
    alice = {'Authorization': basic('alice', 'my-secret')}
    web = client(app)
    first = web.get('/me', headers=alice)
    assert first.text == 'alice' and 'Set-Cookie' not in first.headers
    assert web.get('/me').text == 'None'  # 1.x: 'alice', from the session its first request made
    web.get('/cart')
    assert web.get('/me', headers=alice).text == 'alice'
    assert web.get('/me').text == 'alice'  # "for the duration of the session", once there is one


def test_verify_password_refuses_clear_text_with_a_warning_unless_the_scheme_clear_is_given():
    with pytest.warns(canister.CanisterWarning, match=r'^canister.verify_password: the stored form is no hash'):
        assert canister.verify_password('my-secret', 'my-secret') is False
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert canister.verify_password('my-secret', 'my-secret', 'clear') is True
        assert canister.verify_password('wrong', 'my-secret', 'clear') is False


@pytest.mark.parametrize('encryption', ['', 'auth_basic_encryption = auto\n'], ids=['left-out', 'auto'])
def test_the_configs_basic_password_is_clear_text_under_auto_as_in_1x(tmp_path, monkeypatch, uninstall_at_end,
                                                                      encryption):
    monkeypatch.chdir(tmp_path)
    app = uninstall_at_end(app_with_ini(tmp_path, '[canister]\nauth_basic_username = alice\n'
                                        'auth_basic_password = my-secret\n' + encryption))
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app.install(canister.Canister())
    app.route('/', callback=lambda: str(session.user))
    assert client(app).get('/', headers={'Authorization': basic('alice', 'my-secret')}).text == 'alice'


@pytest.mark.parametrize('prefix', ['sha256:', 'pbkdf2_sha256:', 'scrypt:', '$2a$', '$2b$', '$2y$', '$argon2'])
def test_a_clear_basic_password_that_starts_as_a_hash_needs_encryption_clear(log_dir, uninstall_at_end, prefix):
    password, alice = prefix + 'hello', {'Authorization': basic('alice', prefix + 'hello')}
    for encryption in ('auto', 'clear'):
        app = uninstall_at_end(bottle.Bottle())
        try:
            app.install(canister.Canister(log_path=str(log_dir), auth_basic_username='alice',
                                          auth_basic_password=password, auth_basic_encryption=encryption))
        except canister.ConfigError:
            assert encryption == 'auto'  # (sha256: with no digest after it; a bcrypt or argon2 hash without the package)
            continue
        app.route('/', callback=lambda: str(session.user))
        answer = client(app).get('/', headers=alice, expect_errors=True)
        assert (answer.status_int, answer.text) == ((401, answer.text) if encryption == 'auto' else (200, 'alice'))


def test_flasks_methods_keyword_is_refused_where_the_route_is_added_or_answers_500_before_the_install(
        make_app, log_dir, uninstall_at_end):
    called = []
    app = make_app()
    with pytest.raises(canister.CanisterError, match=r"^canister: Route GET /delete was given methods=\['POST'\], "
                       r"Flask's keyword"):
        app.route('/delete', methods=['POST'], callback=lambda: called.append(1))  # 1.x: a GET route, run on a GET
    assert app.routes == []
    early = uninstall_at_end(bottle.Bottle())
    early.route('/delete', methods=['POST'], callback=lambda: called.append(1))
    early.install(canister.Canister(log_path=str(log_dir)))
    assert client(early).get('/delete', expect_errors=True).status_int == 500
    assert called == [] and "Route GET /delete was given methods=['POST'], Flask's keyword" in read_log(log_dir)


def upgrading_section() -> str:
    """The README's Upgrading from canister 1.x section."""
    return README.split('## Upgrading from canister 1.x', 1)[1].split('\n## ', 1)[0]


def test_every_request_gets_its_two_lines_a_404_and_a_handler_that_raises_included_a_preflights_at_debug(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/abort')
    def refused():
        bottle.abort(403, 'no')

    app.route('/redirect', callback=lambda: bottle.redirect('/elsewhere'))
    app.route('/boom', callback=lambda: int('boom'))
    web = client(app)
    web.get('/nowhere', status=404)   # 1.x: no line at all (no route, so no wrapper of its)
    web.get('/abort', status=403)     # 1.x: the request line, then no Response line
    web.get('/redirect', status=302)  # (Bottle's 303 is for HTTP/1.1, and WebTest speaks 1.0)
    web.get('/boom', expect_errors=True)
    log = read_log(log_dir)
    for path, status in (('nowhere', 404), ('abort', 403), ('redirect', 302), ('boom', 500)):
        assert re.search(r'\]   GET http://localhost:80/%s\n(.*\n)*?.*\]   Response: %d \(' % (path, status), log), path
    assert re.search(r' ERROR +\[127\.0\.0\.1-\.\.\.\]   Unhandled exception in GET /boom\n  Traceback', log)
    assert re.search(r' ERROR +\[127\.0\.0\.1-\.\.\.\]   Response: 500 \(', log)
    # A CORS preflight's two lines are at DEBUG; a refused one still gets its WARNING.
    app = make_app(cors='https://app.example.com')
    app.route('/cors', method=['GET', 'PUT'], callback=lambda: 'ok')
    web = client(app)

    def preflight(origin, status):
        web.options('/cors', headers={'Origin': origin, 'Access-Control-Request-Method': 'PUT'}, status=status)

    preflight('https://app.example.com', 204)
    preflight('https://evil.example', 403)
    log = read_log(log_dir)
    assert 'OPTIONS http://localhost:80/cors' not in log and 'Response: 204' not in log
    assert ' WARNING  [127.0.0.1-...]   CORS preflight refused: origin https://evil.example is not allowed\n' in log
    app.log.setLevel(logging.DEBUG)
    preflight('https://app.example.com', 204)
    preflight('https://evil.example', 403)
    lines = [re.sub(r'^\S+ \S+ (\w+) +\[127\.0\.0\.1-\.\.\.\]   (.*?)(?: \(\d+ms\))?$', r'\1 \2', line)
             for line in read_log(log_dir)[len(log):].splitlines()]
    assert lines == ['DEBUG OPTIONS http://localhost:80/cors', 'DEBUG Response: 204',
                     'DEBUG OPTIONS http://localhost:80/cors',
                     'WARNING CORS preflight refused: origin https://evil.example is not allowed',
                     'DEBUG Response: 403'], lines


def test_forwarded_headers_make_the_logged_client_and_url_only_from_a_proxy_listed_in_trusted_proxies(make_app,
                                                                                                    log_dir):
    forwarded = {'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Host': 'shop.example.com',
                 'X-Forwarded-Proto': 'https'}
    for proxies, path in (('', '/unlisted'), ('127.0.0.1', '/listed')):
        app = make_app(trusted_proxies=proxies)
        app.route(path, callback=lambda: 'ok')
        client(app).get(path, headers=forwarded)
    log = read_log(log_dir)
    assert ' INFO     [127.0.0.1-...]   GET http://localhost:80/unlisted\n' in log  # 1.x: [203.0.113.9-...], shop
    assert ' INFO     [203.0.113.9-...]   GET https://shop.example.com/listed\n' in log


def test_an_attribute_of_the_apps_own_on_session_is_an_error_saying_to_use_session_data(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/cart')
    def cart():
        session.cart = ['tea']  # 1.x: kept on the thread, for whichever request it served next
        return 'ok'

    assert client(app).get('/cart', expect_errors=True).status_int == 500
    assert ("AttributeError: canister's session takes no attribute 'cart': it is one object for every request, so its "
            "value would be every user's; keep values in session.data['cart']") in read_log(log_dir)


def test_text_parameters_arrive_decoded_as_utf8_and_a_latin1_repair_now_fails(make_app):
    app = make_app(catchall=True, csrf=False)
    app.route('/hi', method=['GET', 'POST'], callback=lambda foo: 'Hi %s!' % foo)
    app.route('/repaired', callback=lambda foo: foo.encode('latin-1').decode('utf-8'))
    web = client(app)
    assert web.get('/hi?foo=J%C3%B6rg').text == 'Hi Jörg!'  # 1.x: 'Hi JÃ¶rg!' on bottle 0.12 and 0.13
    assert web.post('/hi', {'foo': 'Jörg'}).text == 'Hi Jörg!'
    assert web.get('/repaired?foo=Jorg').text == 'Jorg'
    assert web.get('/repaired?foo=J%C3%B6rg', expect_errors=True).status_int == 500


@pytest.mark.parametrize('header', ['Token abc', 'a b c', 'Bearer abc'])
def test_an_authorization_header_canister_does_not_read_is_left_to_the_handler_and_not_logged(make_app, log_dir,
                                                                                               header):
    assert ('An `Authorization` header canister does not read (another scheme, as in `Token abc` or `a b c`, or '
            '`Bearer` without a JWT key configured) is left to the handler, which runs without a user and logs '
            'nothing') in upgrading_section()
    app = make_app(auth_basic_username='alice', auth_basic_password='my-secret')
    app.route('/', callback=lambda: '%s %s' % (session.user, bottle.request.headers['Authorization']))
    assert client(app).get('/', headers={'Authorization': header}).text == 'None ' + header
    log = read_log(log_dir)
    assert 'Response: 200' in log and header not in log and warning_lines(log_dir) == []


def test_cors_with_one_origin_answers_only_a_request_from_that_origin(make_app):
    assert 'and with an origin (`CORS = https://app.example.com`) only a request from that origin gets it; 1.x sent ' \
           'the header, with the value as written, on every response' in upgrading_section()
    app = make_app(config={'CORS': 'https://app.example.com'})
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/', headers={'Origin': 'https://app.example.com'}).headers['Access-Control-Allow-Origin'] == \
        'https://app.example.com'
    assert 'Access-Control-Allow-Origin' not in web.get('/', headers={'Origin': 'https://other.example.com'}).headers
    assert 'Access-Control-Allow-Origin' not in web.get('/').headers


def test_logged_in_as_is_written_when_the_user_comes_into_the_session_not_on_every_request(make_app, log_dir):
    app = make_app(auth_basic_username='alice', auth_basic_password='my-secret')
    app.route('/', callback=lambda: session.data.setdefault('cart', 'empty'))
    app.route('/plain', callback=lambda: 'plain')
    alice = {'Authorization': basic('alice', 'my-secret')}
    client(app).get('/plain', headers=alice)  # no session: its own line
    web = client(app)
    for _ in range(3):  # as a browser sends it: on every request (1.x: a line each)
        web.get('/', headers=alice)
    assert read_log(log_dir).count('   Logged in as: alice\n') == 2


def test_logged_in_as_names_a_bearer_tokens_user_by_its_sub(make_app, log_dir):
    assert "naming a Bearer token's user by its `sub` (1.x wrote all the token's claims there" in upgrading_section()
    secret = 'a-secret-of-thirty-two-bytes-ok!'
    app = make_app(auth_jwt_client_id='ABC', auth_jwt_secret=secret)
    app.route('/', callback=lambda: 'ok')
    client(app).get('/', headers=bearer(signed_token(secret, sub='bob', aud='ABC', name='Bob')))
    assert '   Logged in as: bob\n' in read_log(log_dir)  # 1.x: Logged in as: {'sub': 'bob', 'aud': 'ABC', ...}


@pytest.mark.parametrize('hook', [False, True], ids=['2.0', 'with-the-hook'])
def test_a_session_lives_on_through_the_requests_that_use_it_and_a_hook_reading_the_user_makes_it_every_one(
        make_app, clock, hook):
    app = make_app(session_timeout=60)
    if hook:
        app.hook('before_request')(lambda: session.user)
    app.route('/set', callback=lambda: session.data.setdefault('cart', 'tea'))
    app.route('/cart', callback=lambda: session.data.get('cart', 'gone'))
    app.route('/article', callback=lambda: 'an article')  # a route that never looks at the session
    web = client(app)
    web.get('/set')
    for _ in range(3):
        clock.advance(40)
        web.get('/article')
    assert web.get('/cart').text == ('tea' if hook else 'gone')  # 1.x: 'tea', with or without the hook


def test_a_bearer_login_in_a_session_lapses_at_the_tokens_exp(make_app, clock):
    secret = 'a-secret-of-thirty-two-bytes-ok!'
    app = make_app(auth_jwt_client_id='ABC', auth_jwt_secret=secret, auth_jwt_leeway=0)
    app.route('/', callback=lambda: '%s %s' % (session.user and session.user['sub'],
                                                session.data.setdefault('cart', 'tea')))
    web = client(app)
    token = signed_token(secret, sub='bob', aud='ABC', exp=int(clock()) + 30)
    assert web.get('/', headers=bearer(token)).text == 'bob tea'
    clock.advance(20)
    assert web.get('/').text == 'bob tea'
    clock.advance(20)   # past the token's exp, well within session_timeout (1.x: still bob)
    assert web.get('/').text == 'None tea'
    fresh = signed_token(secret, sub='bob', aud='ABC', exp=int(clock()) + 30)
    assert web.get('/', headers=bearer(fresh)).text == 'bob tea'


def test_a_query_value_whose_name_looks_secret_is_logged_masked(make_app, log_dir):
    app = make_app()
    app.route('/callback', callback=lambda code, state: 'ok')
    client(app).get('/callback?code=abc123&state=xyz')  # an OAuth provider's redirect back (1.x: code=abc123)
    assert ' INFO     [127.0.0.1-...]   GET http://localhost:80/callback?code=***&state=xyz\n' in read_log(log_dir)


def test_a_returning_clients_request_line_carries_the_start_of_its_id(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: session.sid)
    web = client(app)
    sid = web.get('/?first').text
    assert web.get('/?again').text == sid
    log = read_log(log_dir)
    assert ' INFO     [127.0.0.1-...]   GET http://localhost:80/?first\n' in log
    assert ' INFO     [127.0.0.1-%s]   GET http://localhost:80/?again\n' % sid[:6] in log  # 1.x: [127.0.0.1-...]


def test_the_1x_attributes_of_the_plugin_raise_an_attributeerror_naming_what_to_use_instead(make_app):
    """README, Upgrading: before, each was Python's plain AttributeError, without a word of the replacement."""
    plugin = next(p for p in make_app().plugins if isinstance(p, canister.Canister))
    for name in ('get', 'set', 'delete'):
        with pytest.raises(AttributeError) as raised:
            getattr(plugin.sessions, name)
        assert str(raised.value) == (
            "'SessionManager' object has no attribute %r: plugin.sessions is no longer canister 1.x's table of "
            "sessions: use session in a handler (session.data, session.user, session.invalidate()), and the "
            "plugin's sessions_of(user) and end_sessions(user) from a script" % name)
    said = {
        'auth_basic': "'Canister' object has no attribute 'auth_basic': canister 1.x's auth_basic is gone: canister "
                      "checks Basic itself, configured by the auth_basic_* keys; session.user is who logged in, and "
                      "canister.log_in(name, password) checks a form's password against the same users",
        'auth_jwt': "'Canister' object has no attribute 'auth_jwt': canister 1.x's auth_jwt is gone: canister checks "
                    "Bearer tokens itself, configured by the auth_jwt_* keys; session.user holds the token's claims",
        'sesions_of': "'Canister' object has no attribute 'sesions_of'",  # any other name: Python's words
    }
    for name, message in said.items():
        with pytest.raises(AttributeError) as raised:
            getattr(plugin, name)
        assert str(raised.value) == message


def test_the_1x_attributes_are_offered_by_neither_completion_nor_pythons_did_you_mean(make_app):
    """``dir()`` (what completion and Python's "Did you mean" read) lists none of them, so a misspelt name is never
    pointed at one: ``plugin.auth_basik`` is no hint to use ``auth_basic``, which is gone."""
    plugin = next(p for p in make_app().plugins if isinstance(p, canister.Canister))
    assert {'auth_basic', 'auth_jwt'}.isdisjoint(dir(plugin)) and 'sessions_of' in dir(plugin)
    assert {'get', 'set', 'delete'}.isdisjoint(dir(plugin.sessions)) and 'store' in dir(plugin.sessions)
    for obj, name in ((plugin, 'auth_basik'), (plugin.sessions, 'gett'), (plugin.sessions, 'get')):
        try:
            getattr(obj, name)
        except AttributeError:
            shown = ''.join(traceback.format_exception(*sys.exc_info()))
        assert "Did you mean: 'auth_basic'" not in shown and "Did you mean: 'get'" not in shown
        assert "Did you mean: 'set'" not in shown


def test_the_plugin_keeps_none_of_the_undocumented_attributes_of_1_5_2(make_app):
    """README, Upgrading: ``sessions`` lost get/set/delete, ``auth_basic``/``auth_jwt`` are gone,
    ``cors`` is no longer the configured text; ``sessions_of`` and ``end_sessions`` are the way from a script."""
    app = make_app(cors='https://app.example.com')
    plugin = next(p for p in app.plugins if isinstance(p, canister.Canister))
    assert [name for name in ('get', 'set', 'delete') if hasattr(plugin.sessions, name)] == []
    assert not hasattr(plugin, 'auth_basic') and not hasattr(plugin, 'auth_jwt')
    assert not isinstance(plugin.cors, str)
    assert plugin.sessions_of('nobody') == [] and plugin.end_sessions('nobody') == 0
