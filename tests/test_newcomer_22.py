"""What a Flask or Starlette developer met in a first hour with canister that went wrong without a word:
an ini value written in quotes (as .env, TOML and YAML write it), a config line without its ``=``, ..."""
from __future__ import annotations

import configparser
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

from decimal import Decimal
from typing import Callable, Dict, List, Tuple

import bottle
import pytest

import canister
from helpers import ROOT, app_with_ini, basic, client, read_log, sigint_as_in_a_terminal, warning_lines
from servers import HOST, Client, _terminate, served_on_a_free_port, wait_until

HASH = canister.hash_password('my-secret', iterations=1000)

#: The end of the message of a quoted value.
IN_QUOTES = ("is in quotes, which stay part of the value (Bottle's load_config keeps those of an ini file, which is "
             "not .env, TOML or YAML): write it without them")


def install_ini(directory, text: str) -> bottle.Bottle:
    """An app whose ini file has this text, canister installed on it (its log in ``directory/logs``)."""
    app = app_with_ini(directory, text)
    app.config.setdefault('canister.log_path', str(directory / 'logs'))
    app.install(canister.Canister())
    return app


# -- values in quotes -------------------------------------------------------------------------

def test_bottle_keeps_the_quotes_of_an_ini_value(tmp_path):
    """Why the check exists: Bottle's load_config (0.12 and 0.13) reads `"./logs"` with its quotes."""
    assert app_with_ini(tmp_path, '[canister]\nlog_path = "./logs"\n').config['canister.log_path'] == '"./logs"'


@pytest.mark.parametrize('line', ['log_path = "./app-logs"', "log_path = './app-logs'", 'CORS = "*"',
                                  'session_store = "sqlite:///sessions.db"', 'csrf = "false"'])
def test_a_value_in_quotes_is_refused_naming_the_key_and_nothing_is_made_in_the_working_directory(
        tmp_path, monkeypatch, line):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\n%s\n' % line)
    key, value = (part.strip() for part in line.split('=', 1))
    assert str(raised.value) == 'canister.%s = %r %s' % (key.lower(), value, IN_QUOTES)
    assert [path.name for path in tmp_path.iterdir()] == ['app.ini']  # no directory named `".`, no logs


def test_a_password_hash_in_quotes_is_refused_without_echoing_it_rather_than_taken_as_clear_text(tmp_path):
    """Before, `"pbkdf2_sha256:..."` was a clear-text password (no hash starts with a quote): every login
    with the right password was a 401, and the log said only 'wrong password'."""
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\nauth_basic_username = alice\nauth_basic_password = "%s"\n' % HASH)
    assert str(raised.value) == 'canister.auth_basic_password ' + IN_QUOTES
    assert HASH.split(':')[2] not in str(raised.value)


def test_a_value_in_quotes_given_as_a_keyword_argument_is_refused_without_blaming_an_ini_file(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        bottle.Bottle().install(canister.Canister(log_path='"%s"' % (tmp_path / 'logs')))
    assert str(raised.value) == ('canister.log_path = %r is in quotes, which are part of the string given as a '
                                 'keyword argument: write it without them' % ('"%s"' % (tmp_path / 'logs')))
    assert list(tmp_path.iterdir()) == []


def test_a_value_in_quotes_set_in_the_apps_config_from_python_is_refused_naming_both_places_it_may_come_from(
        tmp_path):
    app = bottle.Bottle()
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    app.config['canister.session_store'] = "'memory'"
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister())
    assert str(raised.value) == "canister.session_store = \"'memory'\" " + IN_QUOTES


def test_quotes_inside_a_value_are_kept_as_a_content_security_policy_needs_them(tmp_path):
    app = install_ini(tmp_path, "[canister]\ncontent_security_policy = default-src 'self'; img-src 'self' data:\n"
                                "auth_basic_username = alice\nauth_basic_password = %s\n" % HASH)
    try:
        app.route('/me', callback=lambda: str(canister.session.user))
        answer = client(app).get('/me', headers={'Authorization': basic('alice', 'my-secret')})
        assert answer.text == 'alice'
        assert answer.headers['Content-Security-Policy'] == "default-src 'self'; img-src 'self' data:"
    finally:
        app.uninstall(True)


# -- a line without = -------------------------------------------------------------------------

def refused_by_bottle_012(directory, text: str) -> bool:
    """True on bottle 0.12, whose ``load_config`` refuses an ini line without ``=`` itself (as the README says):
    the file with this text is refused there; False on 0.13, which reads such a line as a key without a value."""
    if not bottle.__version__.startswith('0.12'):
        return False
    with pytest.raises(configparser.ParsingError):
        app_with_ini(directory, text)
    return True


def installed_with_warnings(app: bottle.Bottle, log_dir, **overrides) -> list:
    """Install canister on ``app`` (its log in ``log_dir``, ``overrides`` to ``Canister()``), uninstall it, and
    give the ``CanisterWarning``s said."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.config.setdefault('canister.log_path', str(log_dir))
        app.install(canister.Canister(**overrides))
    app.uninstall(True)
    return [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def test_a_config_line_without_its_equals_sign_is_reported_with_the_line_to_write(tmp_path):
    """Bottle 0.13 reads `log_path stderr` as the key `log_path stderr` without a value: the unknown key's
    hint said 'did you mean log_path?', as if the name were misspelt, and the app ran with the default."""
    if refused_by_bottle_012(tmp_path, '[canister]\nlog_level   DEBUG\n'):
        return
    said = installed_with_warnings(app_with_ini(tmp_path, '[canister]\nlog_level   DEBUG\n'), tmp_path / 'logs')
    note = ('unknown config key canister.log_level   debug (the line has no =, so Bottle reads all of it as the name '
            'of a key without a value: write log_level = debug)')
    assert said == [note]
    assert any(line.endswith(note) for line in warning_lines(tmp_path / 'logs'))


def test_a_url_on_a_line_without_its_equals_sign_is_reported_with_where_the_name_ended(tmp_path):
    """An ini line's name ends at its first ``:`` too: `session_store sqlite:///x.db` is the name
    `session_store sqlite` with the value `///x.db`."""
    said = installed_with_warnings(app_with_ini(tmp_path, '[canister]\nsession_store sqlite:///x.db\n'),
                                   tmp_path / 'logs')
    assert said == ['unknown config key canister.session_store sqlite (a line without = after session_store, whose '
                    'name Bottle reads up to its first : or =: write session_store = and then the whole value)']


def test_a_password_on_a_line_without_its_equals_sign_is_shown_nowhere(log_dir):
    app = bottle.Bottle()
    app.config['canister.auth_basic_password hunter2-secret'] = None  # (bottle 0.13's reading of such a line)
    said = installed_with_warnings(app, log_dir)
    assert said == ['unknown config key canister.auth_basic_password *** (a line without =, which Bottle reads as the '
                    'name of a key: write auth_basic_password = and then the value)']
    assert 'hunter2' not in read_log(log_dir)


def test_a_misspelt_name_on_a_line_without_its_equals_sign_gets_the_closest_key(log_dir):
    app = bottle.Bottle()
    app.config['canister.sesion_timeout 600'] = None
    assert installed_with_warnings(app, log_dir) == [
        'unknown config key canister.sesion_timeout 600 (the line has no =, so Bottle reads all of it as the name '
        'of a key without a value: write session_timeout = 600)']


# -- a list sent with brackets ----------------------------------------------------------------

def list_app(make_app) -> bottle.Bottle:
    """An app whose ``/tags`` route takes a list of integers, a list of files and ``**extra``."""
    app = make_app()

    @app.route('/tags', ['GET', 'POST'])
    def tags(tags: List[int] = (), files: List[bottle.FileUpload] = (), **extra):
        return {'tags': list(tags), 'files': [upload.filename for upload in files], 'extra': extra}

    return app


@pytest.mark.parametrize('send', [
    lambda web: web.get('/tags?tags[]=1&tags[]=2'),                      # jQuery's $.param, axios' params
    lambda web: web.get('/tags?tags%5B%5D=1&tags%5B%5D=2'),              # the same, percent-encoded
    lambda web: web.post('/tags', 'tags[]=1&tags[]=2'),                  # a PHP-style form
    lambda web: web.post_json('/tags', {'tags[]': [1, 2]}),              # such a form's fields sent as JSON
])
def test_a_list_parameter_takes_the_values_of_its_name_with_brackets_as_jquery_and_axios_send_them(make_app, send):
    """Before, the handler got its default, [], without a word."""
    assert send(client(list_app(make_app))).json == {'tags': [1, 2], 'files': [], 'extra': {}}


def test_a_decimal_list_sent_as_json_under_its_name_with_brackets_keeps_the_digits_sent(make_app):
    """Bound from a JSON key with brackets as from its plain name: read again with the numbers' own digits."""
    app = make_app()

    @app.post('/prices')
    def prices(prices: List[Decimal] = ()):
        return {'prices': [str(price) for price in prices]}

    answer = client(app).post('/prices', '{"prices[]": [0.1, 1e-7]}', content_type='application/json')
    assert answer.json == {'prices': ['0.1', '1E-7']}


def test_a_file_and_a_text_under_a_name_with_brackets_are_refused_as_under_the_plain_name(make_app):
    answer = client(list_app(make_app)).post('/tags', {'tags[]': '1'}, upload_files=[('tags[]', 'x.txt', b'')],
                                             status=400)
    assert "parameter 'tags' was sent 1 file upload and 1 text under one name" in answer.text


def test_a_list_of_files_takes_a_file_input_named_with_brackets(make_app):
    answer = client(list_app(make_app)).post('/tags', upload_files=[('files[]', 'a.txt', b'a'),
                                                                    ('files[]', 'b.txt', b'b')])
    assert answer.json == {'tags': [], 'files': ['a.txt', 'b.txt'], 'extra': {}}


def test_a_value_with_brackets_that_does_not_convert_is_a_400_naming_the_parameter(make_app, log_dir):
    answer = client(list_app(make_app)).get('/tags?tags[]=1&tags[]=two', status=400)
    assert answer.text == "Bad request: parameter 'tags' (at tags[1]) must be an integer, got 'two'\n"
    assert any(line.endswith("parameter 'tags' (at tags[1]) must be an integer, got 'two'")
               for line in warning_lines(log_dir))


def test_the_plain_name_and_the_name_with_brackets_together_are_a_400(make_app):
    """Before, the plain name's ``[3]`` was taken and the ``1`` dropped without a word."""
    answer = client(list_app(make_app)).get('/tags?tags[]=1&tags=3', status=400)
    assert answer.text == ("Bad request: parameter 'tags' was sent both as tags and as tags[] in the query: send the "
                           "list under one name, not both\n")


def test_brackets_fill_no_single_valued_parameter(make_app):
    app = make_app()
    app.route('/one', callback=lambda tag='none', **extra: {'tag': tag, 'extra': extra})
    assert client(app).get('/one?tag[]=a').json == {'tag': 'none', 'extra': {'tag[]': 'a'}}


# -- Bottle's reloader --------------------------------------------------------------------------

#: What the log of an app on the memory store says in each process Bottle's reloader serves from.
RELOADER_NOTE = ("Bottle's reloader (bottle.run(reloader=True)) starts this process again at each change of a file, "
                 "and the sessions of the memory store end with it: everyone is logged out; session_store = "
                 "sqlite:///sessions.db keeps them")

#: A first app as a newcomer runs it while writing it: Bottle's development server with its reloader.
RELOADED_APP = """
    import bottle, canister, os, sys
    from canister import session
    app = bottle.Bottle()
    app.install(canister.Canister(log_path='logs', session_store=os.environ['APP_STORE']))

    @app.get('/')
    def count():
        session.data['count'] = session.data.get('count', 0) + 1
        return str(session.data['count'])

    if __name__ == '__main__':
        bottle.run(app, host='127.0.0.1', port=int(sys.argv[1]), reloader=True, interval=0.2, quiet=True)
"""


def first_page(start: Callable[[int], subprocess.Popen], output: pathlib.Path) -> Tuple[subprocess.Popen, Client, str]:
    """``start(port)``, a server that writes its errors to ``output``, on a free port (another if a test run beside
    this one took it first): the server, a browser of it, and what the browser's first GET / got."""
    browsers: Dict[int, Client] = {}
    pages: Dict[int, str] = {}

    def answers(port: int) -> str:
        browser = browsers[port] = Client('http://%s:%d' % (HOST, port))
        pages[port] = browser.get('/').text
        return pages[port]
    server, port = served_on_a_free_port(start, answers, [output], what='the app')
    return server, browsers[port], pages[port]


def counts_across_a_reload(directory, store: str, gunicorn: bool = False) -> list:
    """The counts a client reads from the reloaded app (Bottle's reloader, or ``gunicorn --reload``) before
    and after its file changes."""
    script = directory / 'app.py'
    script.write_text(textwrap.dedent(RELOADED_APP))
    env = dict(os.environ, PYTHONPATH=str(ROOT), APP_STORE=store)

    def start(port: int) -> subprocess.Popen:
        command = [sys.executable, str(script), str(port)]
        if gunicorn:
            command = [sys.executable, '-m', 'gunicorn', '--bind', '%s:%d' % (HOST, port), '--reload', 'app:app']
        shutil.rmtree(directory / 'logs', ignore_errors=True)   # (the log of one whose port was taken meanwhile)
        # Bottle's reloader restarts by interrupt_main(), a SIGINT, which does nothing where SIGINT is ignored, as
        # for a job started in the background (CI's, a nohup): the server gets the disposition a terminal gives
        with open(directory / 'output.txt', 'wb') as output:
            return subprocess.Popen(command, cwd=str(directory), env=env, preexec_fn=sigint_as_in_a_terminal,
                                    start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
    server, browser, page = first_page(start, directory / 'output.txt')
    try:
        counts = [page, browser.get('/').text]
        starts = read_log(directory / 'logs').count('Initializing')  # (the reloader's own process installs too)
        changed = [script.stat().st_mtime]

        def restarted() -> bool:  # (changed again until seen: a reloader may note the times after the first)
            changed[0] += 1
            os.utime(script, (changed[0], changed[0]))
            return read_log(directory / 'logs').count('Initializing') > starts

        wait_until(restarted, 20, interval=0.25, what='the restart')
        # A change noted after the new process read the times restarts it once more, and a request it is serving
        # then gets the server's 500 (the interrupt is raised in it, as on a loaded CI machine): let that pass first.
        seen = [starts, 0.0]

        def at_rest() -> bool:
            count = read_log(directory / 'logs').count('Initializing')
            if count != seen[0]:
                seen[:] = [count, time.monotonic()]
            return time.monotonic() - seen[1] >= 2.5

        wait_until(at_rest, 30, interval=0.25, what='the reloader at rest')
        counts.append(wait_until(lambda: browser.get('/').text, 20, what='the app again'))
        return counts
    finally:
        _terminate(server, signal.SIGTERM, 10)


def test_under_bottles_reloader_the_memory_store_says_that_each_change_of_a_file_logs_everyone_out(tmp_path):
    """Before, the count started over at each change of the app's file without a word."""
    assert counts_across_a_reload(tmp_path, 'memory') == ['1', '2', '1']
    log = read_log(tmp_path / 'logs')
    notes = log.count(' INFO     [MainThread]   ' + RELOADER_NOTE)
    assert notes >= 2 and notes == log.count('Initializing') - 1  # each process served from, not the reloader's own


def test_under_bottles_reloader_a_sqlite_store_keeps_the_sessions_and_says_nothing_of_it(tmp_path):
    assert counts_across_a_reload(tmp_path, 'sqlite:///sessions.db') == ['1', '2', '3']
    assert "Bottle's reloader" not in read_log(tmp_path / 'logs')


def test_gunicorns_reloader_starts_the_app_again_at_each_change_and_the_memory_stores_sessions_end(tmp_path):
    """What the README says of ``gunicorn --reload``: the count starts over (canister has no word for it there)."""
    assert counts_across_a_reload(tmp_path, 'memory', gunicorn=True) == ['1', '2', '1']
    assert "Bottle's reloader" not in read_log(tmp_path / 'logs')


def test_without_the_reloader_the_memory_store_says_nothing_of_it(make_app, log_dir):
    make_app()
    assert "Bottle's reloader" not in read_log(log_dir)


def test_under_bottles_reloader_the_banner_is_written_twice_at_start_and_a_sqlite_store_shared_with_the_watcher_serves(
        tmp_path):
    """Bottle's watching process runs the app's module too, so canister is installed in it (nothing at install
    tells it apart); the SQLite file it opens, and never uses after, gets in no request's way."""
    script = tmp_path / 'app.py'
    script.write_text(textwrap.dedent(RELOADED_APP).replace('app.install(', "app.config['canister.sesion_max'] = '9'\n"
                                                                             'app.install('))
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONWARNINGS'}
    env.update(PYTHONPATH=str(ROOT), APP_STORE='sqlite:///sessions.db')

    def start(port: int) -> subprocess.Popen:
        shutil.rmtree(tmp_path / 'logs', ignore_errors=True)   # (the log of one whose port was taken meanwhile)
        with open(str(tmp_path / 'stderr.txt'), 'w') as stderr:
            return subprocess.Popen([sys.executable, str(script), str(port)], cwd=str(tmp_path), env=env,
                                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)
    server, browser, page = first_page(start, tmp_path / 'stderr.txt')
    try:
        counts = [page, browser.get('/').text]
    finally:
        _terminate(server, signal.SIGTERM, 10)
    assert counts == ['1', '2']
    log = read_log(tmp_path / 'logs')
    note = 'unknown config key canister.sesion_max (did you mean session_max?)'
    assert log.count(' INFO     [MainThread]   Initializing\n') == 2 and log.count(note) == 2
    assert (tmp_path / 'stderr.txt').read_text().count('CanisterWarning: ' + note) == 2


# -- settings given where a store goes ---------------------------------------------------------

def test_a_dict_of_settings_given_to_canister_is_refused_at_once_without_repeating_it():
    """Before, the dict was taken for a store: the install failed with 'the session store {...} has no load()
    method', the dict (and any password in it) printed whole."""
    with pytest.raises(TypeError) as raised:
        canister.Canister({'session_store': 'sqlite:///sessions.db', 'auth_basic_password': 'hunter2'})
    assert str(raised.value) == (
        "Canister() takes its settings as keyword arguments, not a dict: Canister(**settings), or "
        "app.config.load_dict({'canister': settings}) before app.install(canister.Canister()); its one positional "
        "argument is a session store object")


@pytest.mark.parametrize('given', ['app.ini', 'sqlite:///sessions.db', b'app.ini', pathlib.Path('app.ini')])
def test_a_file_name_or_a_url_given_to_canister_is_refused_with_where_each_goes(given):
    with pytest.raises(TypeError) as raised:
        canister.Canister(given)
    assert str(raised.value) == (
        "Canister() takes no file or URL as its argument: a file of settings goes to app.config.load_config('app.ini') "
        "before app.install(canister.Canister()), a store URL to Canister(session_store='sqlite:///sessions.db'); its "
        "one positional argument is a session store object")


def test_a_config_keyword_is_an_unknown_key_answered_with_where_settings_go(log_dir):
    assert installed_with_warnings(bottle.Bottle(), log_dir, config='app.ini') == [
        "unknown config key canister.config (settings go in as keyword arguments, Canister(session_store=...), or "
        "in the app's config: app.config.load_config('app.ini') before app.install(canister.Canister()))"]


def test_a_store_object_given_by_position_is_used(log_dir):
    store = canister.MemoryStore()
    app = bottle.Bottle()
    app.install(canister.Canister(store, log_path=str(log_dir)))
    try:
        app.route('/', callback=lambda: canister.session.sid)
        sid = client(app).get('/').text
        assert store.load(sid) is not None
    finally:
        app.uninstall(True)


# -- a number written with a unit --------------------------------------------------------------

@pytest.mark.parametrize('line, why', [
    ('session_timeout = 1h', 'expected a whole number of seconds, without a unit (1h is 3600)'),
    ('session_timeout = 3600s', 'expected a whole number of seconds, without a unit (3600s is 3600)'),
    ('session_max_age = 30 days', 'expected a whole number of seconds, without a unit (30 days is 2592000)'),
    ('cors_max_age = 10m', 'expected a whole number of seconds, without a unit (10m is 600)'),
    ('log_slow = 500ms', 'expected a number of seconds, without a unit (500ms is 0.5)'),
    ('max_body_size = 10MB', 'expected a whole number of bytes, without a unit (10MB is 10000000; 10MiB is 10485760)'),
    ('max_body_size = 1.1MB', 'expected a whole number of bytes, without a unit (1.1MB is 1100000)'),
    ('max_header_size = 16KiB', 'expected a whole number of bytes, without a unit (16KiB is 16384)'),
    ('log_days = 30d', 'expected a whole number of days, without a unit (30d is 30)'),
    ('session_timeout = 1.5s', 'expected a whole number of seconds, without a unit'),
    ('session_timeout = 2 fortnights', 'expected a whole number of seconds, without a unit'),
])
def test_a_number_written_with_a_unit_is_refused_saying_the_key_takes_a_bare_number_and_what_it_would_be(
        tmp_path, line, why):
    """Before, `session_timeout = 1h` was refused with 'expected an integer' alone."""
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\n%s\n' % line)
    key, value = (part.strip() for part in line.split('=', 1))
    assert str(raised.value) == 'canister.%s = %r is not valid: %s' % (key, value, why)


@pytest.mark.parametrize('key, written, meant', [
    ('session_timeout', '90s', '90'), ('session_timeout', '90 sec', '90'), ('session_timeout', '2min', '120'),
    ('session_timeout', '5 minutes', '300'), ('session_timeout', '2h', '7200'), ('session_timeout', '2 hours', '7200'),
    ('session_timeout', '1d', '86400'), ('log_slow', '1.5ms', '0.0015'), ('max_body_size', '512B', '512'),
    ('max_body_size', '2KB', '2000; 2KiB is 2048'), ('max_body_size', '2GB', '2000000000; 2GiB is 2147483648'),
    ('max_body_size', '3MiB', '3145728'), ('max_body_size', '1GiB', '1073741824'), ('log_days', '2 days', '2'),
])
def test_the_hint_after_a_number_with_a_unit_is_what_it_is_in_the_keys_unit(key, written, meant):
    with pytest.raises(canister.ConfigError) as raised:
        bottle.Bottle().install(canister.Canister(log_path='stderr', **{key: written}))
    assert str(raised.value).endswith(', without a unit (%s is %s)' % (written, meant))


def test_a_number_without_a_unit_that_is_no_integer_is_still_refused_as_one(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\nsession_timeout = 1e3\n')
    assert str(raised.value) == "canister.session_timeout = '1e3' is not valid: expected an integer"


# -- a known key on a line without = ------------------------------------------------------------

def no_value(key: str) -> str:
    """What an install says of a known key on a line without ``=`` or value."""
    return ('canister.%s has no value (None: set in Python, as os.environ.get() gives for a variable that is not set, '
            'give it a value or leave the key out; in an ini file, the line has no =, so Bottle reads all of it as the '
            'name of a key without a value: write %s = and then the value)' % (key, key))


@pytest.mark.parametrize('key', ['csrf', 'session_timeout', 'session_samesite', 'cors', 'auth_basic_password',
                                 'session_store', 'session_cookie', 'auth_jwt_secret'])
def test_a_known_key_alone_on_its_line_is_refused_saying_the_line_has_no_value(tmp_path, key):
    """Before, a bare `csrf` line was refused with `canister.csrf = None is not valid`: Python's None, of an ini line;
    a bare text key (`auth_basic_password`) was read as empty, and a bare `session_store` said `= '' is not valid`."""
    if refused_by_bottle_012(tmp_path, '[canister]\n%s\n' % key):
        return
    with pytest.raises(canister.ConfigError) as raised:
        install_ini(tmp_path, '[canister]\n%s\n' % key)
    assert str(raised.value) == no_value(key)


def test_none_in_the_apps_config_is_refused_as_a_bare_line_is_and_a_keyword_overrides_it(tmp_path):
    app = bottle.Bottle()
    app.config['canister.csrf'] = None  # (bottle 0.13's reading of a bare `csrf` line)
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister(log_path=str(tmp_path)))
    assert str(raised.value) == no_value('csrf')
    app.install(canister.Canister(log_path=str(tmp_path), csrf=False))
    try:
        app.route('/', 'POST', lambda: 'posted')
        assert client(app).post('/', headers={'Sec-Fetch-Site': 'cross-site'}).text == 'posted'
    finally:
        app.uninstall(True)


def test_a_text_key_set_to_none_in_python_is_refused_with_words_for_python_not_only_for_an_ini_line(tmp_path):
    """`os.environ.get()` of a variable that is not set: before, the message spoke only of an ini line without =."""
    app = bottle.Bottle()
    app.config['canister.auth_jwt_secret'] = os.environ.get('CANISTER_TEST_VARIABLE_NEVER_SET')
    with pytest.raises(canister.ConfigError) as raised:
        app.install(canister.Canister(log_path=str(tmp_path)))
    assert str(raised.value) == no_value('auth_jwt_secret')


def test_python_none_given_as_a_keyword_is_still_said_to_be_none(tmp_path):
    with pytest.raises(canister.ConfigError) as raised:
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path), csrf=None))
    assert str(raised.value).startswith("canister.csrf = None is not valid: expected true or false")


# -- what a newcomer sees on the terminal -------------------------------------------------------

FIRST_APP = """
    import bottle, canister
    app = bottle.Bottle()
    app.config.load_config('app.ini')
    app.install(canister.Canister())
"""


def test_a_misspelt_key_is_said_on_the_terminal_with_the_key_meant_at_the_default_settings(tmp_path):
    """The newcomer reads the terminal, not logs/: the warning is there, as well as in the log."""
    (tmp_path / 'app.ini').write_text('[canister]\nsesion_store = sqlite:///sessions.db\n')
    (tmp_path / 'app.py').write_text(textwrap.dedent(FIRST_APP))
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONWARNINGS'}
    done = subprocess.run([sys.executable, 'app.py'], cwd=str(tmp_path), env=dict(env, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    note = 'unknown config key canister.sesion_store (did you mean session_store?)'
    assert done.returncode == 0
    assert done.stderr.count('CanisterWarning: ' + note) == 1
    assert any(line.endswith(note) for line in warning_lines(tmp_path / 'logs'))
