"""Helpers the test files share: clients, cookies, credentials, JWT claims and tokens, the log, values as a
handler shows them, the command line run as a subprocess and its ``keys`` listing, a clock to move by hand,
and the page servers and page scripts of the browser tests.

Fixtures live in conftest.py; what a test imports lives here, each helper defined once.
"""
from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import hmac
import inspect
import json
import logging
import os
import http.cookiejar
import pathlib
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
import warnings
from html import escape
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import bottle
import webtest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # canister.py of this checkout, not an installed one
    sys.path.insert(0, str(ROOT))

import canister  # noqa: E402
from canister import session  # noqa: E402
from servers import Client, InProcessWaitress, raw_request, served_on_a_free_port  # noqa: E402

COOKIE = 'session_id'


def client(app: Any, **environ: Any) -> webtest.TestApp:
    """A WebTest client that keeps cookies, as if from 127.0.0.1."""
    extra = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:80'}
    extra.update(environ)
    return webtest.TestApp(app, extra_environ=extra)


#: The origin of the app's own front end, which the CORS tests allow (``cors = APP_ORIGIN``).
APP_ORIGIN = 'https://app.example.com'
#: An origin that no test allows: the attacker's page.
EVIL_ORIGIN = 'https://evil.example.net'


def preflight(test_client: webtest.TestApp, path: str = '/', origin: str = APP_ORIGIN, method: str = 'PUT',
              headers: Optional[str] = None, **kwargs: Any) -> webtest.TestResponse:
    """A browser's CORS preflight (``OPTIONS``) from ``origin`` for ``method`` on ``path``, asking for ``headers``."""
    request_headers = {'Origin': origin, 'Access-Control-Request-Method': method}
    if headers is not None:
        request_headers['Access-Control-Request-Headers'] = headers
    return test_client.options(path, headers=request_headers, expect_errors=True, **kwargs)


class _NoJar(http.cookiejar.CookieJar):
    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def cookieless_client(app: Any, **environ: Any) -> webtest.TestApp:
    """A WebTest client that keeps no cookies: each request carries only the ones a test gives it."""
    web = client(app, **environ)
    web.cookiejar = _NoJar()
    return web


def readme_section(title: str) -> str:
    """The README's section under the heading ``title`` (``## ...``), its subsections included."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    level = len(title.split(' ', 1)[0])
    return re.split(r'\n#{1,%d} ' % level, readme.split('\n%s\n' % title, 1)[1], maxsplit=1)[0]


def today(offset_days: int = 0, at: Optional[float] = None) -> str:
    """The date (``YYYY-MM-DD``, local time) of today (or of the moment ``at``, a ``time.time()``), or of
    ``offset_days`` from it: the name of its log file after ``log.``."""
    return time.strftime('%Y-%m-%d', time.localtime((time.time() if at is None else at) + offset_days * 86400))


def day_file(log_dir: Union[str, pathlib.Path], when: Optional[float] = None) -> pathlib.Path:
    """The day's log file in ``log_dir`` at canister's clock (or at ``when``, a ``time.time()``): the one canister
    writes at that moment."""
    return pathlib.Path(log_dir) / ('log.' + today(at=canister._now() if when is None else when))


def noon_shift() -> Tuple[float, str]:
    """``(shift, day)``: the seconds that put a clock at noon of today (local time) if added now, for a served test
    app's $CANISTER_CLOCK_SHIFT (tests/apps/_common.py), and that day (``YYYY-MM-DD``), its log file's, for the
    next 12 hours whatever the hour of the run (a test's day's file named otherwise changes at midnight)."""
    now = time.time()
    day = today(at=now)
    return time.mktime(time.strptime(day + ' 12:00:00', '%Y-%m-%d %H:%M:%S')) - now, day


def days_since(started: float) -> List[str]:
    """The dates (``YYYY-MM-DD``) from the moment ``started`` (a ``time.time()``) to now: what a day's file that
    canister made in between may be named by, when a midnight passed meanwhile (a test runs for minutes at most)."""
    return sorted({today(at=started), today()})


#: A line canister writes on stderr about its own log: the time as a log line starts with it, then the message.
_TOLD = re.compile(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (canister: .*)')


def told(stderr: str) -> List[str]:
    """The messages of the lines canister wrote on stderr about its own log (``stderr``: all the process wrote
    there), each line's leading time (``2026-07-02 09:38:31,022``, as in the log files) checked and cut off."""
    lines = stderr.splitlines()
    assert not [line for line in lines if line.startswith('canister: ')], 'a line without its time: %r' % lines
    return [match.group(2) for match in map(_TOLD.fullmatch, lines) if match]


def read_log(log_dir: Union[str, pathlib.Path]) -> str:
    """Everything canister wrote to the log files of a directory, in date order ('' if there is none)."""
    log_dir = pathlib.Path(log_dir)
    if not log_dir.exists():
        return ''
    return ''.join(path.read_text(encoding='utf-8') for path in sorted(log_dir.glob('log.*')))


def log_after(log_dir: Union[str, pathlib.Path], needle: str, seconds: float = 30) -> str:
    """The log once a line holding ``needle`` is in it, or as it is after ``seconds`` (a server may write a request's
    lines after its answer has reached the client)."""
    deadline = time.monotonic() + seconds
    log = read_log(log_dir)
    while needle not in log and time.monotonic() < deadline:
        time.sleep(0.02)
        log = read_log(log_dir)
    return log


def raw_answer_and_log(url: str, log_dir: Union[str, pathlib.Path], head: bytes) -> Tuple[bytes, str]:
    """What the server at ``url`` (``http://host:port``) answers ``head`` sent byte for byte (headers no client
    library would send), and the log of ``log_dir`` once it has."""
    answer = raw_request(int(url.rsplit(':', 1)[1]), head)
    return answer, read_log(log_dir)


def log_entries(log_dir: Union[str, pathlib.Path]) -> List[Dict[str, Any]]:
    """The lines of a JSON log (``log_format='json'``) in the log files of a directory, as dicts."""
    return [json.loads(line) for line in read_log(log_dir).splitlines()]


def warning_lines(log_dir: Union[str, pathlib.Path]) -> List[str]:
    """The WARNING lines canister wrote to the log files of a directory."""
    return [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]


def canister_bytes() -> int:
    """What canister.py's allocations hold now (tracemalloc running)."""
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, canister.__file__)])
    return sum(stat.size for stat in snapshot.statistics('filename'))


def logged_traceback(log: str, message: str) -> str:
    """The traceback (its indented lines) under the ERROR line ``message`` of the log; the test fails if
    there is no such line or what follows it is not a traceback."""
    record = re.search(r' ERROR    \[[^\]]*\]   %s\n((?:  .*\n)+)' % re.escape(message), log)
    assert record, log
    assert record.group(1).startswith('  Traceback (most recent call last):'), record.group(1)
    return record.group(1)


class LogCollector(logging.Handler):
    """A handler an app adds to ``app.log`` (or any logger) itself: it keeps each record's message as the
    logging module gives it (``messages``), and the first line of the record as its formatter writes it
    (``lines``; ``format``: that formatter's format string, else the message alone)."""

    def __init__(self, format: Optional[str] = None) -> None:
        super().__init__()
        if format is not None:
            self.setFormatter(logging.Formatter(format))
        self.messages: List[str] = []
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.lines.append(self.format(record).split('\n', 1)[0])


def settings_for_tests(log_dir: Union[str, pathlib.Path], config: Optional[Dict[str, Any]],
                  overrides: Dict[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of a test's ``Canister()``: ``overrides``, and for each of ``log_path`` (``log_dir``)
    and ``log_slow`` (0, no slow-response WARNING) that the test gives neither there nor in ``config`` (in any
    case), that default.  (Under another job's load any request may take more than log_slow's default 1 s, and its
    WARNING line would upset a test that counts WARNINGs or reads the last line; a test about them sets log_slow.)"""
    given = {str(key).lower() for key in list(config or ()) + list(overrides)}
    defaults = {'log_path': str(log_dir), 'log_slow': 0}
    return dict({key: value for key, value in defaults.items() if key not in given}, **overrides)


def install_warned(log_dir: Union[str, pathlib.Path], config: Optional[Dict[str, Any]] = None,
                   **overrides: Any) -> Any:
    """A Bottle app with canister installed (``config`` under ``canister``, ``overrides`` to ``Canister()``,
    the log in ``log_dir``, log_slow 0 unless given: see ``settings_for_tests``), and the messages of the
    ``CanisterWarning``s its install gave: ``(app, said)``."""
    app = bottle.Bottle()
    if config:
        app.config.load_dict({'canister': config})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(**settings_for_tests(log_dir, config, overrides)))
    return app, [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def sqlite_held_note(path: Any, cause: str) -> str:
    """What an install says of a SQLite file it cannot use for now (locked, disk full), on the terminal and in the log."""
    return ('The session store is unreachable for now (the SQLite session store %s failed: %s); requests that need '
            'a session answer 503 until it is back' % (path, cause))


#: How wide the install banner pads a setting's name: the longest key's, ``canister.content_security_policy``.
BANNER_WIDTH = 32


def banner_setting(key: str, value: object) -> str:
    """A banner line's message, in canister 1.x's shape: ``canister.key = value``, the name padded to
    ``BANNER_WIDTH``."""
    return '%-*s = %s' % (BANNER_WIDTH, 'canister.' + key, value)


def banner_value(log: str, key: str) -> str:
    """The value the install banner (INFO lines) shows for one setting; the test fails if it shows none."""
    match = re.search(r' INFO     \[[^\]]*\]   canister\.%s *= (.*)$' % re.escape(key), log, re.M)
    assert match, 'no banner line for %s in:\n%s' % (key, log)
    return match.group(1)


def counter_app(make_app: Any, **overrides: Any) -> bottle.Bottle:
    """``make_app(**overrides)`` with GET / counting the session's requests from 0; the app (it answers the count)."""
    app = make_app(**overrides)

    @app.get('/')
    def index():
        if 'counter' in session.data:
            session.data['counter'] += 1
        else:
            session.data['counter'] = 0
        return str(session.data['counter'])

    return app


def json_counter_app(make_app: Any, **overrides: Any) -> bottle.Bottle:
    """``make_app(**overrides)`` with GET /count counting the session's requests from 1; the app (it answers
    ``{"n": count}``)."""
    app = make_app(**overrides)

    @app.get('/count')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return {'n': session.data['n']}

    return app


def count_route(app: bottle.Bottle, key: str = 'n') -> bottle.Bottle:
    """``app`` with GET /count, which adds one to the session's ``key`` (from 0) and answers it as text (a request
    that saves its session); the app."""
    @app.get('/count')
    def count():
        session.data[key] = session.data.get(key, 0) + 1
        return str(session.data[key])

    return app


def archived_app(make_app: Any, method: str = 'GET', annotation: Any = bool) -> bottle.Bottle:
    """``make_app()`` with ``method /items`` binding ``archived`` (an ``annotation``, False by default) and
    answering its ``repr``; the app."""
    app = make_app()

    def items(archived=False):
        return repr(archived)
    items.__annotations__ = {'archived': annotation}
    app.route('/items', method, items)
    return app


class SQLiteInjector:
    """A plugin written like bottle-sqlite: a connection as the ``db`` argument of each handler that takes one."""

    name = 'sqlite'
    api = 2
    keyword = 'db'

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        keyword = (route.config.get('sqlite') or {}).get('keyword', self.keyword)  # a route's own, as bottle-sqlite
        if keyword not in inspect.signature(route.callback).parameters:
            return callback

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = sqlite3.connect(':memory:')
            kwargs[keyword] = connection
            try:
                return callback(*args, **kwargs)
            finally:
                connection.close()
        return wrapper


def described(db: Any) -> Any:
    """What a handler was given as ``db``: the answer of a query (42) when it is a connection, else the value itself."""
    return db.execute('SELECT 6 * 7').fetchone()[0] if isinstance(db, sqlite3.Connection) else db


def set_cookies(response: Any) -> List[str]:
    """The Set-Cookie headers of a WebTest response."""
    return response.headers.getall('Set-Cookie')


def vary_tokens(response: Any) -> List[str]:
    """The tokens of every Vary header of a WebTest response, lower-cased, in order."""
    return [token.strip().lower() for value in response.headers.getall('Vary') for token in value.split(',')]


def cookie_value(response: Any, name: str = COOKIE) -> Optional[str]:
    """The value a WebTest response gives to a cookie ('' if it expires it), or None if it does not set it."""
    for header in set_cookies(response):
        cookie_name, _, rest = header.partition('=')
        if cookie_name == name:
            return rest.split(';')[0]
    return None


def with_cookie(sid: str, name: str = COOKIE) -> Dict[str, str]:
    """Request headers that send the cookie ``name`` (the session cookie unless told) with value ``sid``."""
    return {'Cookie': '%s=%s' % (name, sid)}


def app_with_ini(directory: pathlib.Path, text: str) -> bottle.Bottle:
    """A Bottle app (catchall off, nothing installed) whose config ``load_config`` read from an ini
    file with this text, written in ``directory``."""
    ini = directory / 'app.ini'
    ini.write_text(text)
    app = bottle.Bottle()
    app.catchall = False
    app.config.load_config(str(ini))
    return app


def basic(username: str, password: str) -> str:
    """An ``Authorization`` header value of the Basic scheme for these credentials."""
    raw = ('%s:%s' % (username, password)).encode('utf-8')
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def bearer(token: str) -> Dict[str, str]:
    """Request headers that send ``token`` in an ``Authorization`` header of the Bearer scheme."""
    return {'Authorization': 'Bearer ' + token}


def claims(**extra: Any) -> Dict[str, Any]:
    """JWT claims of alice for the next five minutes (``sub``, ``exp``), with ``extra`` added; a claim
    given as None is left out."""
    payload = {'sub': 'alice', 'exp': int(time.time()) + 300}
    payload.update(extra)
    return {key: value for key, value in payload.items() if value is not None}


def signed_token(key: Any, algorithm: str = 'HS256', **extra: Any) -> str:
    """A JWT of :func:`claims` (``extra`` added, a None left out) signed by PyJWT with ``key``."""
    import jwt  # the tests of tokens need PyJWT; the others import this module without it
    return jwt.encode(claims(**extra), key, algorithm=algorithm)


def jwk(private_key: Any, kid: str) -> Dict[str, Any]:
    """The public half of an RSA ``private_key`` as a JWKS entry named ``kid``, for RS256 signatures."""
    import jwt  # (as in signed_token)
    entry = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    entry.update(kid=kid, use='sig', alg='RS256')
    return entry


def public_pem(private_key: Any) -> bytes:
    """The public half of ``private_key`` (cryptography's) as a PEM file holds it, for ``auth_jwt_public_key``."""
    from cryptography.hazmat.primitives import serialization  # (as in signed_token)
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def b64url(data: bytes) -> str:
    """``data`` in base64url without padding, as each part of a JWT is written."""
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def hand_made_token(header: Dict[str, Any], payload: Any, sign: Optional[Callable[[bytes], bytes]] = None) -> str:
    """A compact JWT built by hand, so its header and claims can be anything; ``sign(signing_input) -> bytes``
    gives its signature (an empty one without)."""
    signing_input = b64url(json.dumps(header).encode()) + '.' + b64url(json.dumps(payload).encode())
    signature = sign(signing_input.encode('ascii')) if sign else b''
    return signing_input + '.' + b64url(signature)


def hs256_signer(secret: Union[str, bytes]) -> Callable[[bytes], bytes]:
    """A ``sign`` for :func:`hand_made_token`: HMAC-SHA256 with ``secret`` (text as UTF-8)."""
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    return lambda data: hmac.new(key, data, hashlib.sha256).digest()


def write_users(path: pathlib.Path, **passwords: str) -> pathlib.Path:
    """Write a Basic users file, a line per user with a quick PBKDF2 hash of the password; its path."""
    path.write_text(''.join('%s:%s\n' % (name, canister.hash_password(password, 'pbkdf2', iterations=1000))
                            for name, password in passwords.items()))
    return path


def sqlite_url(path: Any) -> str:
    """The session_store URL of an SQLite file at an absolute path: sqlite:////tmp/..."""
    return 'sqlite:///' + str(path)


class WriteLock:
    """Another connection to a SQLite file that holds its write lock until ``release()`` (or ``seconds`` pass)."""

    def __init__(self, path: Any, seconds: float) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute('BEGIN IMMEDIATE')
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(seconds,))
        self.thread.start()

    def _hold(self, seconds: float) -> None:
        self.released.wait(seconds)
        self.db.execute('COMMIT')
        self.db.close()

    def release(self) -> None:
        self.released.set()
        self.thread.join(30)


#: Run by another process: makes the file if missing and holds it (``BEGIN EXCLUSIVE``, nothing committed) until
#: told (a line on its stdin), as a backup or an operator's ``sqlite3 file 'BEGIN EXCLUSIVE'`` does.
SQLITE_HOLDER = """
import os, sqlite3, sys
os.umask(0o077)  # (its file is for this user alone, as canister's own: else the install says that too)
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute('BEGIN EXCLUSIVE')
connection.execute('CREATE TABLE theirs (x)')
print('held', flush=True)
sys.stdin.readline()
connection.execute('ROLLBACK')
connection.close()
"""


def held_by_another_process(path: Any) -> 'subprocess.Popen[str]':
    """Another process holding the SQLite file ``path`` (``SQLITE_HOLDER``), once it holds it; let go with
    ``.communicate('\\n')``."""
    holder = subprocess.Popen([sys.executable, '-c', SQLITE_HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == 'held\n'
    return holder


#: The body of the 503 of a request that needs a session store that is down, full or refusing writes.
UNAVAILABLE = 'Service unavailable: the session store cannot be reached, retry shortly\n'


def guarded_app(make_app: Any, store_url: str, **config: Any) -> bottle.Bottle:
    """An app on the session store ``store_url`` that logs alice in (``/login``) and out (``/logout``), ends her
    other sessions (``/others``, answering how many) or all of them (``/end``), with ``/me``, which answers only a
    logged-in user (``me: alice``)."""
    app = make_app(session_store=store_url, **config)
    app.get('/login')(lambda: setattr(session, 'user', 'alice') or 'in')
    app.get('/logout')(lambda: session.invalidate() or 'out')
    app.get('/others')(lambda: str(session.end_other_sessions()))
    plugin = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))
    app.get('/end')(lambda: str(plugin.end_sessions('alice')))
    app.get('/me')(canister.require_user(lambda: 'me: %s' % session.user))
    return app


def fill_up(server: Any) -> Any:
    """Make the redis-server ``server`` full (``maxmemory`` reached under ``noeviction``): it refuses what adds
    memory from here on, and still deletes.  A client of it (``config_set('maxmemory', '0')`` gives room again)."""
    import redis
    full = redis.Redis(port=server.port)
    full.config_set('maxmemory-policy', 'noeviction')
    full.config_set('maxmemory', '1')
    return full


def fill_file_system(directory: pathlib.Path) -> pathlib.Path:
    """Write a file in ``directory`` until its file system has no room left; the file's path."""
    filler = directory / 'filler'
    with open(filler, 'wb', buffering=0) as file:
        try:
            while True:
                file.write(b'\0' * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def checkpoint(path: pathlib.Path, mode: str = 'RESTART') -> None:
    """What SQLite does by itself every 1,000 pages (RESTART): copy the ``-wal`` into the file, its room kept for
    reuse; or another ``PRAGMA wal_checkpoint`` mode."""
    connection = sqlite3.connect(str(path))
    try:
        assert connection.execute('PRAGMA wal_checkpoint(%s)' % mode).fetchone()[0] == 0
    finally:
        connection.close()


def fill_after_emptying_the_wal(path: pathlib.Path) -> pathlib.Path:
    """The ``-wal`` of the SQLite file ``path`` cut to nothing, then its disk filled: its next write finds no room.
    The filler's path (unlink it for room again)."""
    checkpoint(path, 'TRUNCATE')
    return fill_file_system(path.parent)


def shown(value: Any) -> str:
    """The value's type and the value, a set's items sorted (its order is not the test's business)."""
    if isinstance(value, (set, frozenset)):
        return '%s %r' % (type(value).__name__, sorted(value, key=repr))
    return '%s %r' % (type(value).__name__, value)


def run_script(script: str, *args: str, **options: Any) -> subprocess.CompletedProcess:
    """Run ``python -c script ARGS`` in the work tree with its canister importable, for 60 s at most; ``options`` go
    to ``subprocess.run`` (``capture_output``, ``text``, ``stderr``, ``check``)."""
    return subprocess.run([sys.executable, '-c', script, *args], timeout=60, cwd=str(ROOT),
                          env={**os.environ, 'PYTHONPATH': str(ROOT)}, **options)


def nobody_or_me() -> int:
    """The uid a test of file permissions runs its script as: nobody's when the tests run as root (who may read
    and list anything), this user's otherwise."""
    import pwd
    return pwd.getpwnam('nobody').pw_uid if os.geteuid() == 0 else os.geteuid()


@contextlib.contextmanager
def directory_of_nobody(name: str = 'own') -> Iterator[str]:
    """A new directory ``name`` (mode 0700) owned by ``nobody_or_me()``, in a temporary directory anyone may enter
    (not under tmp_path, whose parents nobody may not enter); removed with it after."""
    parent = tempfile.mkdtemp()
    try:
        os.chmod(parent, 0o755)
        directory = os.path.join(parent, name)
        os.mkdir(directory, 0o700)
        os.chown(directory, nobody_or_me(), -1)
        yield directory
    finally:
        shutil.rmtree(parent)


def served_once(make_app: Any) -> webtest.TestApp:
    """A client of an app whose / answers 'ok', after its first request (the log directory and today's file
    exist)."""
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/').text == 'ok'
    return web


def run_canister(*args: Union[str, bytes], stdin: Union[str, bytes] = '', cwd: Optional[pathlib.Path] = None,
                 timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m canister ARGS`` with the work tree importable and ``env`` added to the environment;
    stdin is a pipe (not a tty).  A ``str`` stdin gives text output (UTF-8 both ways), ``bytes`` bytes."""
    text = isinstance(stdin, str)
    return subprocess.run([sys.executable, '-m', 'canister', *args], input=stdin, capture_output=True,
                          encoding='utf-8' if text else None, env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
                          cwd=str(cwd or ROOT), timeout=timeout)


def default_shown(default: Any, quote: str = '') -> str:
    """A config key's default as ``python -m canister keys`` prints it (``quote='`'``: as the README's table
    shows it): a list joined by commas, between ``quote``; ``(empty)`` for none."""
    text = ', '.join(default) if isinstance(default, tuple) else str(default)
    return '%s%s%s' % (quote, text, quote) if text else '(empty)'


def keys_listed(stdout: str) -> Dict[str, str]:
    """``python -m canister keys``'s entries by key, each as one line (a line starting with spaces continues one)."""
    entries: list = []
    for line in stdout.splitlines():
        if line.startswith(' '):
            entries[-1] += ' ' + line.strip()
        else:
            entries.append(line)
    return {entry.split()[0]: entry for entry in entries}


class Clock:
    """A stand-in for ``canister._now`` that stands still until a test moves it on (fixture ``clock``)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time on by ``seconds``."""
        self.now += seconds


# -- the browser tests: servers, pages and what runs inside a page --------------------------

class Server(InProcessWaitress):
    """A waitress server running ``app`` on 127.0.0.1:<free port> in a thread, for a browser.

    ``close()`` closes every socket from inside the server's own loop, so it returns
    cleanly even while Chromium still holds keep-alive connections.
    """

    def __init__(self, app: Any, threads: int = 4) -> None:
        super().__init__(app, threads=threads, channel_timeout=30, connection_limit=100)

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server."""
        return self.origin + path


class SignalRecorder:
    """WSGI middleware: remembers (method, path, Sec-Fetch-Site, Origin) of every request in ``seen``, and its
    ``Cookie`` header (None without one) in ``cookies``; with ``host``, it rewrites ``Host`` as a reverse proxy
    not listed in ``trusted_proxies`` does."""

    def __init__(self, app: Any, host: Optional[str] = None) -> None:
        self.app = app
        self.host = host
        self.seen: List[tuple] = []
        self.cookies: List[Optional[str]] = []

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Any:
        self.seen.append((environ['REQUEST_METHOD'], environ.get('PATH_INFO', ''),
                          environ.get('HTTP_SEC_FETCH_SITE'), environ.get('HTTP_ORIGIN')))
        self.cookies.append(environ.get('HTTP_COOKIE'))
        if self.host:
            environ['HTTP_HOST'] = self.host
        return self.app(environ, start_response)

    def posts(self) -> List[tuple]:
        """What ``seen`` holds of the POSTs."""
        return [entry for entry in self.seen if entry[0] == 'POST']


def page_app() -> bottle.Bottle:
    """A plain Bottle app (no canister) serving a blank page at / and a self-submitting /form?action=...&field=..."""
    app = bottle.Bottle()

    @app.get("/")
    def blank():
        return "<!doctype html><html><head><title>page</title></head><body>page</body></html>"

    @app.get("/form")
    def form():
        action = bottle.request.query.get("action", "")
        fields = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in bottle.request.query.items()
            if k != "action"
        )
        return auto_submit_form(action, fields)

    return app


def transfer_app() -> bottle.Bottle:
    """A plain Bottle app (no canister) whose POST /transfer records the form's ``amount`` in ``app.transfers``."""
    app = bottle.Bottle()
    app.transfers = []

    @app.post("/transfer")
    def transfer():
        app.transfers.append(bottle.request.forms.get("amount"))
        return "<!doctype html><title>done</title><p id=result>transferred</p>"

    return app


def navigation_app() -> bottle.Bottle:
    """The app of the SameSite navigation tests (tests/test_lax_navigation.py, tests/test_strict_navigation.py), before
    canister and each file's own routes: POST /login/<name>, GET /count (writes the session, as a flash message or a
    counter does), GET /me and an own /page."""
    app = bottle.Bottle()

    @app.post('/login/<name>')
    def login(name):
        session.user = name
        return {'user': name}

    @app.get('/count')
    def count():
        session.data['count'] = session.data.get('count', 0) + 1
        return {'user': session.user, 'count': session.data['count']}

    @app.get('/me')
    def me():
        return {'user': session.user, 'data': dict(session.data)}

    @app.get('/page')
    def own_page():
        return '<!doctype html><title>own page</title><p>own page</p>'

    return app


@contextlib.contextmanager
def served_on_a_site_of_its_own(app: bottle.Bottle, log_dir: pathlib.Path, **settings: Any) -> Iterator[str]:
    """``app`` with canister installed (its log in ``log_dir``, and ``settings``), served for a browser as
    ``http://app.site.localhost:<port>``, another site than ``page_app``'s ``localhost`` (log_slow 0 unless given:
    see ``settings_for_tests``); its origin."""
    app.install(canister.Canister(**settings_for_tests(log_dir, None, settings)))
    server = Server(app)
    try:
        yield 'http://app.site.localhost:%d' % server.port
    finally:
        server.close()
        app.close()


def me(page: Any) -> Any:
    """GET /me as the app's own page's ``fetch`` sees it."""
    return page.evaluate("fetch('/me').then(r => r.json())")


def session_cookies(context: Any) -> Tuple[Any, ...]:
    """The values of the session cookies a browser context holds."""
    return tuple(cookie['value'] for cookie in context.cookies() if cookie['name'] == 'session_id')


def auto_submit_form(action: str, fields_html: str) -> str:
    """An HTML page whose form (POST, urlencoded, to ``action``) submits itself once loaded."""
    return (
        "<!doctype html><html><head><title>form</title></head><body>"
        f'<form method="post" action="{escape(action)}">{fields_html}</form>'
        "<script>window.addEventListener('load', function () {"
        " setTimeout(function () { document.forms[0].submit(); }, 0); });"
        "</script></body></html>"
    )


# Runs inside the page: fetch(url, init) and report what the page could see.
FETCH_JS = """
async ([url, init]) => {
  try {
    const r = await fetch(url, init);
    return {ok: true, status: r.status, body: await r.text(),
            requestId: r.headers.get('X-Request-ID'), retryAfter: r.headers.get('Retry-After'),
            challenge: r.headers.get('WWW-Authenticate')};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}
"""


def page_fetch(page: Any, url: str, **init: Any) -> Dict[str, Any]:
    """What the page sees of ``fetch(url, init)``: {ok, status, body, requestId, retryAfter, challenge (its
    WWW-Authenticate)} or {ok: False, error}."""
    return page.evaluate(FETCH_JS, [url, init])


def open_self_submitting_form(page: Any, form_url: str, action_url: str) -> Any:
    """Open a page whose form submits itself; the Playwright response to the form's POST.

    The navigation is started from inside the page (after evaluate() has
    returned) rather than with page.goto(), whose wait for the form page
    would race with the form's own navigation.  Returns once the document
    answering the POST has loaded.
    """
    with page.expect_navigation(url=action_url):
        with page.expect_response(
            lambda r: r.url == action_url and r.request.method == "POST"
        ) as info:
            page.evaluate(
                "url => { setTimeout(() => { window.location.href = url; }, 0); }",
                form_url,
            )
    return info.value


def sleep_until(moment: float, clock: Callable[[], float] = time.time) -> None:
    """Sleep until ``clock()`` reads ``moment`` (not at all if it has passed)."""
    time.sleep(max(0.0, moment - clock()))


def least_time(call: Callable[[], Any], below: float, tries: int = 3, pause: float = 0.0) -> Tuple[float, List[float]]:
    """How long ``call()`` took: the least of up to ``tries`` tries, ``pause`` seconds apart, stopping at the first
    under ``below`` seconds.  The load of other jobs adds to a try's time and never takes from it, so a lower bound
    holds of every try (of the least), and an upper bound is told by the least.  That least time, and each try's."""
    times: List[float] = []
    for _ in range(tries):
        if times:
            time.sleep(pause)
        started = time.monotonic()
        call()
        times.append(time.monotonic() - started)
        if times[-1] < below:
            break
    return min(times), times


def at_once(calls: List[Callable[[], Any]], timeout: float = 60) -> List[Any]:
    """Run each call in a thread of its own, the threads released together; the results in the calls' order
    (the test fails if a call raised or was still running after ``timeout`` seconds)."""
    together = threading.Barrier(len(calls))
    results: List[Any] = [None] * len(calls)
    errors: List[BaseException] = []

    def run(index: int) -> None:
        try:
            together.wait(30)
            results[index] = calls[index]()
        except BaseException as error:  # reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), 'a call is still running after %ss' % timeout
    assert not errors, errors
    return results


def in_background(call: Callable[[], Any]) -> Callable[..., Any]:
    """Start ``call()`` in a thread of its own; a function that waits for it (``timeout`` seconds at most) and
    gives what it returned, or raises what it raised: a failed assertion in the thread fails the test, in the
    test's own thread (a thread's exception nobody collects is only a warning)."""
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome['result'] = call()
        except BaseException as error:  # raised again in the test's thread
            outcome['error'] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result(timeout: float = 30) -> Any:
        thread.join(timeout)
        assert not thread.is_alive(), 'the call in the background is still running after %ss' % timeout
        if 'error' in outcome:
            raise outcome['error']
        return outcome['result']

    return result


def assert_keys_unavailable(response: Any, calls: Optional[List[Any]] = None, retry_after: str = '1') -> None:
    """A 503 saying that the token could not be checked, the JWKS being out of reach (no challenge: the
    token is not refused), with ``Retry-After``; the handler not called."""
    assert response.status_int == 503, response
    assert response.text == ('Service unavailable: the token could not be checked, as the signing keys of its issuer '
                             '(the JWKS) cannot be fetched now; retry shortly\n')
    assert response.headers['Retry-After'] == retry_after
    assert 'WWW-Authenticate' not in response.headers
    if calls is not None:
        assert calls == []


def in_child(work: Any) -> int:
    """Fork; the child runs ``work()`` and exits 0 if it returned True (else 1, 2 if it raised); its pid."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = 0 if work() else 1
        finally:
            os._exit(code)
    return pid


def finishes_in_child(work: Any, within: float = 30.0) -> bool:
    """Fork; True if the child ran ``work()`` to a true result within ``within`` seconds (else it is killed)."""
    pid = in_child(work)
    deadline = time.monotonic() + within
    finished, status = os.waitpid(pid, os.WNOHANG)
    while finished == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
        finished, status = os.waitpid(pid, os.WNOHANG)
    if finished == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return False
    return os.waitstatus_to_exitcode(status) == 0


def compose_child(parent: bottle.Bottle, child: bottle.Bottle, composition: str) -> str:
    """Put ``child`` into ``parent`` as ``composition`` says: ``mount`` (a Bottle app at /a/),
    ``mount_wsgi`` (the same app as a plain WSGI callable), ``mount_copy`` (a WSGI callable that hands
    the child a copy of the environ, as middleware that leaves its caller's dict alone does) or
    ``merge``; the prefix of its routes."""
    if composition == 'mount':
        parent.mount('/a/', child)
        return '/a'
    if composition in ('mount_wsgi', 'mount_copy'):
        copy = composition == 'mount_copy'

        def plain_wsgi(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
            return child(dict(environ) if copy else environ, start_response)
        parent.mount('/a/', plain_wsgi)
        return '/a'
    parent.merge(child)
    return ''


def canister_warning_texts(caught: Any) -> List[str]:
    """The texts of the CanisterWarnings among warnings ``pytest.warns`` caught (a ResourceWarning of an earlier
    test's socket, collected meanwhile, is no business of the test)."""
    return [str(w.message) for w in caught if issubclass(w.category, canister.CanisterWarning)]


def sigint_as_in_a_terminal() -> None:
    """For a subprocess (``preexec_fn``): SIGINT as a terminal gives it, so that Ctrl-C (a SIGINT the test sends)
    interrupts it; a job started in the background (CI's, a nohup) has SIGINT ignored, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def demo_ctrl_c_can_stop(directory: pathlib.Path, port: Optional[int] = None, *python_args: str,
                         client_timeout: float = 30, start_timeout: float = 30, config: Optional[str] = None
                         ) -> Iterator[Tuple[subprocess.Popen, Client]]:
    """``python -m canister demo --port PORT`` (with ``--config CONFIG`` if given; or ``python *python_args PORT``: a
    script that runs the demo on the port it is given last) started in ``directory`` as from a terminal, so that a
    Ctrl-C the test sends stops it, its output in ``directory/output.txt``. Yields the process and a client of it
    (``web.port``, the demo's port) once it answers ``/hi?foo=x`` with 200 (within ``start_timeout`` seconds); kills
    it on leaving if it still runs. ``port`` None: a free one, and another if a test run beside this one takes it
    before the demo listens (``servers.served_on_a_free_port``)."""
    def start(port: int) -> subprocess.Popen:
        argv = ((*python_args, str(port)) if python_args else
                ('-m', 'canister', 'demo', '--port', str(port)) + (('--config', config) if config else ()))
        with open(directory / 'output.txt', 'wb') as sink:
            return subprocess.Popen([sys.executable, *argv], stdout=sink, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=str(directory),
                                    env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=sigint_as_in_a_terminal)

    clients: Dict[int, Client] = {}

    def answers(port: int) -> bool:
        web = clients[port] = Client('http://127.0.0.1:%d' % port, timeout=client_timeout)
        return web.get('/hi?foo=x').status == 200

    process = None
    try:
        if port is None:
            process, port = served_on_a_free_port(start, answers, [directory / 'output.txt'], timeout=start_timeout,
                                                  what='the demo')
        else:
            process = start(port)
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    assert answers(port)
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None, (
                        'the demo did not answer:\n' + (directory / 'output.txt').read_text())
                    time.sleep(0.05)
        yield process, clients[port]
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(30)


def connected_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a TCP connection to ``port`` (Linux's /proc): a command started in a
    subprocess is past its start (interpreter and imports, which a busy machine can stretch past any fixed pause)
    once it has connected to the server it works on."""
    sockets = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:  # (closed meanwhile)
            continue
        if target.startswith('socket:['):
            sockets.add(target[len('socket:['):-1])
    for table in ('/proc/%d/net/tcp' % pid, '/proc/%d/net/tcp6' % pid):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in sockets and int(fields[2].rpartition(':')[2], 16) == port:
                    return True
    return False


class FileEvent:
    """A ``threading.Event`` between processes: set once the file ``path`` exists (as an app in a process of its
    own drops it, or the test does), which ``wait(timeout)`` waits for."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def set(self) -> None:
        self.path.touch()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


@contextlib.contextmanager
def frozen(nodes: Iterable[Any]) -> Iterator[None]:
    """Within the block, each Redis server of ``nodes`` stopped (SIGSTOP: connections are accepted, nothing is
    answered); each resumed (SIGCONT) on leaving it."""
    nodes = list(nodes)
    for node in nodes:
        node.freeze()
    try:
        yield
    finally:
        for node in nodes:
            node.thaw()


def time_of_one_write(write: Callable[[], Any]) -> float:
    """How long ``write()``, one write to a store that does not answer, took to raise ``StoreUnavailable``: the
    yardstick of one wait, which a request that answered 503 after one write, not two, stays under."""
    started = time.monotonic()
    try:
        write()
    except canister.StoreUnavailable:
        return time.monotonic() - started
    raise AssertionError('the write to a store that does not answer raised no StoreUnavailable')


def sub_request(app: Any, environ: Dict[str, Any], path: str) -> Tuple[str, List[Tuple[str, str]], str]:
    """Call the WSGI app ``app`` with ``environ`` (a copy, as a handler makes a sub-request) for ``path`` (its
    ``PATH_INFO``): its status, headers and body."""
    environ['PATH_INFO'] = path
    started: List[Any] = []

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        started[:] = [status, headers]
        return lambda data: None

    body = app(environ, start_response)
    try:
        text = b''.join(body).decode()
    finally:
        getattr(body, 'close', lambda: None)()
    return started[0], started[1], text


class BlackHoleProxy:
    """A TCP proxy to a real Redis that, on cue, swallows every byte of the connections open at that moment (the
    client waits for ever, as behind a NAT that forgot them), while new connections work: the numbers of the
    connections (in ``connections``, by their order of arrival) in ``dead`` get nothing through."""

    def __init__(self, port):
        self.upstream = ('127.0.0.1', port)
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.url = 'redis://127.0.0.1:%d/0' % self.listener.getsockname()[1]
        self.connections, self.dead = [], set()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            number = len(self.connections)
            self.connections.append((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink, number), daemon=True).start()

    def _pump(self, source, sink, number):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if number not in self.dead:
                    sink.sendall(data)
        except OSError:
            pass

    def black_hole_all(self):
        self.dead.update(range(len(self.connections)))

    def close(self):
        self.listener.close()
        for pair in self.connections:
            for end in pair:
                end.close()


def canister_names_checked(text: str) -> set:
    """The names ``text`` (a README section) writes as ``canister.<name>``, each checked to exist on the module or,
    for another framework's name (``_OTHER_FRAMEWORKS_NAMES``), to raise the AttributeError that says what to write
    instead."""
    names = set(re.findall(r'canister\.(\w+)', text))
    for name in names:
        if name in canister._OTHER_FRAMEWORKS_NAMES:
            try:
                getattr(canister, name)
            except AttributeError as missing:
                assert str(missing).startswith('module canister has no %s: ' % name), missing
            else:
                raise AssertionError('canister.%s exists, where a hint was expected' % name)
        else:
            assert hasattr(canister, name), name
    return names



class DownStore(canister.SessionStore):
    """A session store whose backend cannot be reached."""

    def load(self, sid):
        raise canister.StoreUnavailable('the test store is down')

    def save(self, sid, record, ttl):
        raise canister.StoreUnavailable('the test store is down')

    def delete(self, sid):
        raise canister.StoreUnavailable('the test store is down')

    def touch(self, sid, ttl):
        raise canister.StoreUnavailable('the test store is down')


class CookieBrowser:
    """A client with a cookie jar, against the server at ``origin``: ``get`` gives the status and the text, errors
    included."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> Tuple[int, str]:
        try:
            with self.opener.open(self.origin + path, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def user_and_item(current_user: Any, item: str = 'x') -> str:
    """A handler under a decorator that gives it the user: says the user and the item."""
    return 'user=%s item=%s' % (current_user, item)


def user_of_kwargs(**kwargs: Any) -> str:
    """A handler of only ``**kwargs`` under a decorator that gives it the user: says the user it was given."""
    return 'user=%s' % kwargs.get('current_user')


def app_with_login(make_app: Callable[..., bottle.Bottle], **settings: Any) -> bottle.Bottle:
    """``make_app(**settings)`` with a route ``/login?name=...`` that logs its caller in under that name."""
    app = make_app(**settings)

    @app.get('/login')
    def login(name):
        session.user = name
        return 'ok'

    return app


def logged_in_as_bob(app: bottle.Bottle, serve: Callable[[bottle.Bottle], str]) -> CookieBrowser:
    """``app`` (one of ``app_with_login``) served, and a browser logged in to it as bob."""
    browser = CookieBrowser(serve(app))
    assert browser.get('/login?name=bob') == (200, 'ok')
    return browser


def with_notes_route(app: bottle.Bottle) -> bottle.Bottle:
    """``app`` with POST /api/notes for a logged-in user: adds ``text`` to the session's notes, answers them and
    the user."""
    @app.post('/api/notes')
    @canister.require_user
    def add_note(text: str):
        session.data.setdefault('notes', []).append(text)
        return {'notes': session.data['notes'], 'user': session.user}

    return app


def load_user() -> str:
    """What a decorator of the app's own gives its handler: the logged-in user, else 'anonymous'."""
    return session.user or 'anonymous'


class FourMethodStore:
    """A session store of one's own with the four methods README "Writing a store" requires (load, save, touch,
    delete) and nothing else (not a canister.SessionStore): records kept as text, every call noted in ``calls``."""

    def __init__(self) -> None:
        self.records: Dict[str, Tuple[str, float]] = {}
        self.calls: List[str] = []

    def load(self, sid: str) -> Any:
        self.calls.append('load')
        record, expiry = self.records.get(sid, ('', 0.0))
        return record if record and (not expiry or expiry > time.time()) else None

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.calls.append('save')
        self.records[sid] = (record, time.time() + ttl if ttl > 0 else 0.0)

    def touch(self, sid: str, ttl: float) -> None:
        self.calls.append('touch')
        if sid in self.records:
            self.records[sid] = (self.records[sid][0], time.time() + ttl if ttl > 0 else 0.0)

    def delete(self, sid: str) -> bool:
        self.calls.append('delete')
        return self.records.pop(sid, None) is not None
