"""Canister: what every Bottle app ends up writing by hand, as one plugin.

Install it once and a Bottle app gets:

* request logs in daily files (or a stream), with client and session on every line;
* handler arguments unpacked from the URL, query string, form or JSON body, converted
  by their annotations;
* server-side sessions behind an HTTP-only cookie, in memory, SQLite or Redis;
* authentication from the ``Authorization`` header (Basic, and Bearer JWT for OAuth2);
* CORS for browser front ends and CSRF protection for cookie sessions;
* security headers on every answer (nosniff, frame and referrer policies, optional HSTS and CSP).

Only ``bottle`` is required.  Extras: ``pip install canister[jwt]`` for Bearer tokens,
``pip install canister[redis]`` for the Redis session store.

Example::

    import bottle
    import canister
    from canister import session

    app = bottle.Bottle()
    app.config.load_config('app.ini')          # a [canister] section, optional
    app.install(canister.Canister())

    @app.get('/')
    def index(name: str = 'world'):
        session.data['visits'] = session.data.get('visits', 0) + 1
        return 'Hello %s, visit %d' % (name, session.data['visits'])
"""
from __future__ import annotations

import base64
import binascii
import collections
import difflib
import functools
import getpass
import hashlib
import hmac
import inspect
import ipaddress
import itertools
import json
import logging
import math
import operator
import os
import re
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
import types
import typing
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import bottle

__version__ = '2.0.0.dev0'
__all__ = [
    'Canister', 'session', 'request_id', 'require_user', 'require', 'hash_password',
    'verify_password', 'SessionStore', 'MemoryStore', 'SQLiteStore', 'RedisStore',
    'CanisterError', 'ConfigError', 'MissingExtraError', 'StoreUnavailable', 'SessionDataError',
]

Headers = List[Tuple[str, str]]


###############################################################################
# Compatibility and Optional Extras ###########################################
###############################################################################

def _require(module: str, extra: str) -> Any:
    """Import an optional dependency, or explain which extra installs it."""
    try:
        return __import__(module, fromlist=['_'])
    except ImportError as error:
        raise MissingExtraError(
            'canister needs the %r package for this configuration: '
            'run  pip install canister[%s]' % (module, extra)) from error


###############################################################################
# Exceptions ##################################################################
###############################################################################

class CanisterError(Exception):
    """Base class of every error canister raises."""


class ConfigError(CanisterError, ValueError):
    """A configuration value is invalid; raised at install, never per request."""


class MissingExtraError(CanisterError, ImportError):
    """The configuration needs an optional package that is not installed."""


class StoreUnavailable(CanisterError):
    """The session store cannot be reached; the request answers 503."""


class SessionDataError(CanisterError, TypeError):
    """Session data holds a value that cannot be stored as JSON."""


###############################################################################
# Configuration ###############################################################
###############################################################################

_TRUE = frozenset(('1', 'true', 'yes', 'on'))
_FALSE = frozenset(('0', 'false', 'no', 'off', ''))
_LEVELS = {
    'DISABLED': logging.CRITICAL + 10, 'DEBUG': logging.DEBUG, 'INFO': logging.INFO,
    'WARNING': logging.WARNING, 'ERROR': logging.ERROR, 'CRITICAL': logging.CRITICAL,
}
_SECRET_WORDS = ('password', 'secret', 'token', 'key')


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError('expected true or false (also yes/no, on/off, 1/0)')


def _as_number(kind: type, minimum: Optional[float] = None) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError('expected a number')
        try:
            number = kind(str(value).strip()) if isinstance(value, str) else kind(value)
        except (TypeError, ValueError):
            raise ValueError('expected %s' % ('an integer' if kind is int else 'a number')) from None
        if minimum is not None and number < minimum:
            raise ValueError('expected a number >= %s' % minimum)
        return number
    return parse


def _as_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        for choice in choices:
            if str(value).strip().lower() == choice.lower():
                return choice
        raise ValueError('expected one of %s' % ', '.join(choice or '(empty)' for choice in choices))
    return parse


def _as_list(value: Any) -> Tuple[str, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        items: Iterable[Any] = value
    else:
        items = re.split(r'[\s,]+', str(value))
    return tuple(str(item).strip() for item in items if str(item).strip())


def _as_text(value: Any) -> str:
    return '' if value is None else str(value).strip()


#: The values ``Referrer-Policy`` allows (a comma-separated list of them gives fallbacks).
_REFERRER_POLICIES = ('no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin',
                      'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'unsafe-url')


def _as_referrer_policy(value: Any) -> str:
    tokens = [token.strip().lower() for token in _as_text(value).split(',') if token.strip()]
    for token in tokens:
        if token not in _REFERRER_POLICIES:
            raise ValueError('expected one of %s (or a comma-separated list of them)' % ', '.join(_REFERRER_POLICIES))
    return ', '.join(tokens)


def _as_header_value(value: Any) -> str:
    text = _as_text(value)
    if not (text.isascii() and text.isprintable()):
        raise ValueError('expected printable ASCII on one line')
    return text


class _Key(typing.NamedTuple):
    name: str
    default: Any
    parse: Callable[[Any], Any]
    meaning: str


#: Every configuration key: name, default, parser and what it means (the README's table).
KEYS: Dict[str, _Key] = {key.name: key for key in (
    _Key('log_path', './logs/', _as_text, 'directory of the daily log files, or `stderr`/`stdout`'),
    _Key('log_level', 'INFO', _as_choice(*_LEVELS), 'DISABLED, DEBUG, INFO, WARNING, ERROR or CRITICAL'),
    _Key('log_days', 30, _as_number(int, 1), 'days of log files kept; older files are deleted'),
    _Key('log_format', 'text', _as_choice('text', 'json'), '`text` (the classic line) or `json` (one object per line)'),
    _Key('log_slow', 1.0, _as_number(float, 0), 'seconds; a slower response is logged at WARNING (0 = never)'),
    _Key('trusted_proxies', (), _as_list, 'proxy IPs/networks whose X-Forwarded-For/-Proto/-Host are believed'),
    _Key('max_body_size', 10 * 1024 * 1024, _as_number(int, 0),
         'bytes; a larger body gets 413 (from its Content-Length, or once a chunked body passes it)'),
    _Key('max_header_size', 8192, _as_number(int, 256), 'bytes; a larger Authorization or Cookie header gets 431'),
    _Key('debug', False, _as_bool, 'accepted for compatibility with canister 1.x; has no effect'),
    _Key('session_store', 'memory', _as_text, '`memory`, `sqlite:///file.db`, `sqlite:////abs/file.db` or `redis://host:port/db`'),
    _Key('session_cookie', 'session_id', _as_text, 'name of the session cookie'),
    _Key('session_timeout', 3600, _as_number(int), 'seconds of inactivity before a session ends (0 or less: never)'),
    _Key('session_max_age', 0, _as_number(int, 0), 'absolute session lifetime in seconds (0: none)'),
    _Key('session_max', 100000, _as_number(int, 1), 'most sessions the memory store keeps (least recently used evicted)'),
    _Key('session_samesite', 'Lax', _as_choice('Lax', 'Strict', 'None'), 'SameSite of the cookie; None forces Secure'),
    _Key('session_secure', False, _as_bool, 'always mark the cookie Secure (it is anyway on HTTPS requests)'),
    _Key('session_cookie_max_age', 0, _as_number(int, 0), 'cookie Max-Age in seconds (0: a browser-session cookie)'),
    _Key('auth_realm', 'canister', _as_text, 'realm named in WWW-Authenticate challenges'),
    _Key('auth_basic_username', '', _as_text, 'the Basic auth user'),
    _Key('auth_basic_password', '', _as_text, 'its password, as `auth_basic_encryption` says'),
    _Key('auth_basic_encryption', 'auto', _as_choice('auto', 'clear', 'sha256', 'pbkdf2', 'scrypt', 'bcrypt', 'argon2'),
         '`clear`, `sha256` (hex), or a salted hash from `python -m canister hash-password`; `auto` tells by its prefix'),
    _Key('auth_basic_users_file', '', _as_text, 'file of `user:hash` lines, reloaded when it changes'),
    _Key('auth_max_failures', 10, _as_number(int, 1), 'failed logins per client IP per minute before 429'),
    _Key('auth_jwt_client_id', '', _as_text, 'required audience (`aud`) of Bearer tokens'),
    _Key('auth_jwt_secret', '', _as_text, 'shared secret of HS256/384/512 tokens'),
    _Key('auth_jwt_encoding', 'clear', _as_choice('clear', 'base64std', 'base64url'), 'how the secret is written'),
    _Key('auth_jwt_algorithms', (), _as_list, 'accepted algorithms (default: HS* with a secret, RS*/ES*/PS256 with keys)'),
    _Key('auth_jwt_public_key', '', _as_text, 'PEM file of the provider public key (RS/ES/PS tokens)'),
    _Key('auth_jwt_jwks_url', '', _as_text, 'JWKS URL of an OAuth2/OIDC provider (keys cached, refetched on unknown kid)'),
    _Key('auth_jwt_issuer', '', _as_text, 'required issuer (`iss`), if set'),
    _Key('auth_jwt_leeway', 10, _as_number(int, 0), 'seconds of clock skew allowed on exp/nbf/iat'),
    _Key('auth_jwt_require_exp', True, _as_bool, 'refuse tokens without `exp`'),
    _Key('cors', '', _as_list, '`*`, or allowed origins (comma/space separated, `https://*.example.com` allowed); empty: off'),
    _Key('cors_credentials', False, _as_bool, 'allow cookies/credentials (needs an explicit origin list)'),
    _Key('cors_methods', (), _as_list, 'methods granted to preflights (default: those the route accepts)'),
    _Key('cors_headers', ('Content-Type', 'Authorization', 'X-Request-ID'), _as_list,
         'request headers granted (`*`: any)'),
    _Key('cors_expose_headers', ('X-Request-ID',), _as_list, 'response headers readable by the page'),
    _Key('cors_max_age', 600, _as_number(int, 0), 'seconds a browser may cache a preflight answer'),
    _Key('csrf', True, _as_bool, 'refuse unsafe requests from foreign origins (Sec-Fetch-Site, Origin, Referer)'),
    _Key('x_content_type_options', 'nosniff', _as_choice('nosniff', ''),
         '`X-Content-Type-Options` of every answer (empty: not sent)'),
    _Key('x_frame_options', 'DENY', _as_choice('DENY', 'SAMEORIGIN', ''),
         '`X-Frame-Options` of every answer: `DENY` or `SAMEORIGIN` (empty: not sent)'),
    _Key('referrer_policy', 'strict-origin-when-cross-origin', _as_referrer_policy,
         '`Referrer-Policy` of every answer (empty: not sent)'),
    _Key('hsts_max_age', 0, _as_number(int, 0),
         'seconds of `Strict-Transport-Security` on HTTPS answers (0: not sent)'),
    _Key('hsts_include_subdomains', False, _as_bool, 'add `includeSubDomains` to `Strict-Transport-Security`'),
    _Key('content_security_policy', '', _as_header_value, '`Content-Security-Policy` of every answer (empty: not sent)'),
)}
#: Alternative spellings accepted for compatibility.
ALIASES = {'session_timout': 'session_timeout'}


class Config(Dict[str, Any]):
    """Validated canister settings, parsed once when the plugin is installed."""

    def __init__(self, values: Optional[Mapping[str, Any]] = None, **overrides: Any) -> None:
        super().__init__()
        #: Messages about unknown keys, logged once logging is ready.
        self.warnings: List[str] = []
        given: Dict[str, Any] = {}
        for source in (dict(values or {}), overrides):
            for raw_key, value in source.items():
                key = str(raw_key).lower()
                key = ALIASES.get(key, key)
                if key in KEYS:
                    given[key] = value
                else:
                    close = difflib.get_close_matches(key, list(KEYS) + list(ALIASES), n=1)
                    self.warnings.append('unknown config key canister.%s (did you mean %s?)'
                                         % (key, close[0] if close else 'one in the README'))
        for spec in KEYS.values():
            value = given.get(spec.name, spec.default)
            try:
                self[spec.name] = spec.parse(value)
            except ValueError as error:
                raise ConfigError('canister.%s = %r is not valid: %s'
                                  % (spec.name, _redacted(spec.name, value), error)) from None

    @classmethod
    def from_app(cls, app_config: Mapping[str, Any], overrides: Mapping[str, Any]) -> 'Config':
        """Read the ``canister.*`` keys of a Bottle config, then apply keyword overrides."""
        values = {key[len('canister.'):]: value for key, value in app_config.items()
                  if str(key).lower().startswith('canister.')}
        return cls(values, **overrides)

    def redacted_items(self) -> List[Tuple[str, Any]]:
        """The settings, with every value whose key names a secret written as ``***``."""
        return [(key, _redacted(key, value)) for key, value in self.items()]


def _redacted(key: str, value: Any) -> Any:
    if value and any(word in key for word in _SECRET_WORDS):
        return '***'
    return value


###############################################################################
# Request Logging #############################################################
###############################################################################

_LOG_FILE = re.compile(r'^log\.(\d{4}-\d{2}-\d{2})$')
_NONPRINTABLE = {code: '\\x%02x' % code for code in itertools.chain(range(32), range(127, 160))}
_NONPRINTABLE.update({10: '\\n', 13: '\\r', 9: '\\t'})


def _escape(text: str) -> str:
    """Make client-supplied text safe for one log line (no forged lines)."""
    if text.isprintable():
        return text
    return ''.join(char if char.isprintable() else _NONPRINTABLE.get(ord(char), repr(char)[1:-1])
                   for char in text)


class _LogSink:
    """Writes finished lines to today's file, opened by its date and never renamed.

    Every line is one ``os.write`` on a file opened with ``O_APPEND``, so several
    processes can share a directory without interleaving, and the day boundary
    needs no rename (the classic rotation race).  The write happens under the lock
    that guards the descriptor: a thread must never write to a number another thread
    has just closed, since the next accepted connection may get that number.
    """

    def __init__(self, path: str, days: int) -> None:
        self.path = path
        self.days = days
        self._lock = threading.Lock()
        self._day = ''
        self._fd = -1
        self._failing = False
        self._next_check = 0.0
        #: How many installed plugins write here.
        self.users = 0
        if path in ('stderr', 'stdout'):
            self._fd = 2 if path == 'stderr' else 1
            self._day = '*'
        else:
            with self._lock:
                self._open(time.strftime('%Y-%m-%d'))

    def _open(self, day: str) -> None:
        """Switch to the file of ``day`` (called with the lock held)."""
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, 'log.' + day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        old, self._fd, self._day = self._fd, fd, day
        self._failing = False
        if old >= 0:
            os.close(old)
        self._delete_old(day)

    def _delete_old(self, today: str) -> None:
        cutoff = time.strftime('%Y-%m-%d', time.localtime(time.mktime(time.strptime(today, '%Y-%m-%d'))
                                                          - self.days * 86400))
        for name in os.listdir(self.path):
            match = _LOG_FILE.match(name)
            if match and match.group(1) < cutoff:
                try:
                    os.remove(os.path.join(self.path, name))
                except OSError:
                    pass

    def _still_there(self) -> bool:
        """True if the open file is still the one its name leads to (not deleted or replaced)."""
        try:
            named = os.stat(os.path.join(self.path, 'log.' + self._day))
            opened = os.fstat(self._fd)
        except OSError:
            return False
        return (named.st_ino, named.st_dev) == (opened.st_ino, opened.st_dev)

    def close(self) -> None:
        with self._lock:
            if self._fd > 2:
                os.close(self._fd)
            self._fd, self._day = -1, 'closed'  # a straggling line after uninstall is dropped

    def write(self, line: str, day: str) -> None:
        """Append one line (ending in a newline), switching files when the day changed."""
        data = line.encode('utf-8', 'backslashreplace')
        try:
            with self._lock:
                if self._fd < 0:
                    return
                if self._day != '*':
                    if day != self._day:
                        self._open(day)
                    elif time.monotonic() >= self._next_check:
                        self._next_check = time.monotonic() + 1.0
                        if not self._still_there():
                            self._open(day)
                os.write(self._fd, data)
        except OSError as error:
            if not self._failing:
                self._failing = True
                try:
                    sys.stderr.write('canister: logging to %s failed: %s\n' % (self.path, error))
                except Exception:
                    pass


_SINKS: Dict[str, _LogSink] = {}
_SINKS_LOCK = threading.Lock()


def _sink_for(path: str, days: int) -> _LogSink:
    """One sink per destination, shared by every app that logs there."""
    key = path if path in ('stderr', 'stdout') else os.path.abspath(path)
    with _SINKS_LOCK:
        sink = _SINKS.get(key)
        if sink is None:
            try:
                sink = _LogSink(key, days)
            except OSError as error:
                raise CanisterError('canister cannot write its log to %s: %s (fix log_path, '
                                    'or set log_path = stderr)' % (key, error.strerror or error)) from None
            _SINKS[key] = sink
        else:
            sink.days = min(sink.days, days)
        sink.users += 1
        return sink


def _release_sink(sink: _LogSink) -> None:
    """Close a sink once no installed plugin writes to it any more."""
    with _SINKS_LOCK:
        sink.users -= 1
        if sink.users <= 0 and _SINKS.get(sink.path) is sink:
            del _SINKS[sink.path]
            sink.close()


class _LineFormat:
    """Formats log lines in one pass: ``2026-07-02 09:38:31,022 INFO [thread] message``."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._second: Tuple[int, str] = (-1, '')

    def stamp(self, now: float) -> str:
        second = int(now)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(second)))
            self._second = cached
        return '%s,%03d' % (cached[1], (now - second) * 1000)

    def line(self, now: float, level: str, thread: str, message: str, request_id: str,
             traceback: str = '') -> Tuple[str, str]:
        """The finished line and the day (``YYYY-MM-DD``) whose file it belongs in."""
        stamp = self.stamp(now)
        return self._text(stamp, level, thread, message, request_id, traceback), stamp[:10]

    def _text(self, stamp: str, level: str, thread: str, message: str, request_id: str,
              traceback: str) -> str:
        if not message.isprintable():
            message = _escape(message)
        if self.json_lines:
            entry = {'time': stamp, 'level': level, 'thread': thread, 'request_id': request_id,
                     'message': message}
            if traceback:
                entry['traceback'] = traceback
            return json.dumps(entry) + '\n'
        if traceback:
            # Every continuation line is indented, so a line that starts with a date is always
            # a real record, whatever an exception message contains.
            lines = [_escape(line) for line in traceback.rstrip('\n').split('\n')]
            return '%s %s [%s] %s\n  %s\n' % (stamp, level, thread, message, '\n  '.join(lines))
        return '%s %s [%s] %s\n' % (stamp, level, thread, message)


class _CanisterHandler(logging.Handler):
    """Sends ``app.log`` records through canister's line format to its sink."""

    def __init__(self, sink: _LogSink, line_format: _LineFormat) -> None:
        super().__init__()
        self.sink = sink
        self.line_format = line_format
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            traceback = self._formatter.formatException(record.exc_info) if record.exc_info else ''
            context = _local.context
            line, day = self.line_format.line(record.created, record.levelname, record.threadName or '-',
                                              record.getMessage(), context.request_id if context else '',
                                              traceback)
            self.sink.write(line, day)
        except Exception:
            self.handleError(record)


class RequestLog:
    """The logger of one app, plus a fast path for canister's own per-request lines."""

    _count = itertools.count(1)

    def __init__(self, app: bottle.Bottle, config: Config) -> None:
        self.level = _LEVELS[config['log_level']]
        name = getattr(app, '_canister_logger_name', None)
        if name is None:
            name = 'canister' if next(self._count) == 1 else 'canister.app%d' % id(app)
            app._canister_logger_name = name
        self.logger = logging.getLogger(name)
        self.logger.propagate = False
        for handler in list(self.logger.handlers):
            if isinstance(handler, _CanisterHandler):
                self.logger.removeHandler(handler)
        self.logger.setLevel(self.level)
        self.handler: Optional[_CanisterHandler] = None
        self.line_format = _LineFormat(config['log_format'] == 'json')
        if self.level <= logging.CRITICAL:
            sink = _sink_for(config['log_path'], config['log_days'])
            self.handler = _CanisterHandler(sink, self.line_format)
            self.logger.addHandler(self.handler)

    def close(self) -> None:
        """Detach from the logger and the sink (when the plugin is uninstalled)."""
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            _release_sink(self.handler.sink)
            self.handler = None

    def enabled(self, level: int) -> bool:
        """True when a line at this level would be written."""
        return level >= self.level

    def write(self, level: int, message: str, request_id: Optional[str] = None) -> None:
        """Log one of canister's own lines; ``message`` is already formatted."""
        if level < self.level:
            return
        handler = self.handler
        if handler is not None and len(self.logger.handlers) == 1:
            if request_id is None:
                context = _local.context
                request_id = context.request_id if context is not None else ''
            now = time.time()
            line, day = self.line_format.line(now, logging.getLevelName(level),
                                              threading.current_thread().name, message, request_id)
            handler.sink.write(line, day)
        else:
            self.logger.log(level, '%s', message)

    def banner(self, config: Config) -> None:
        """The install banner: versions, then every setting with secrets masked."""
        info = self.logger.info
        for text in ('============', 'Initializing', '============'):
            info(text)
        info('python version: %s', sys.version.replace('\n', ' '))
        info('bottle version: %s', bottle.__version__)
        info('canister version: %s', __version__)
        info('------------------------------------------')
        for key, value in config.redacted_items():
            info('%s: %s', key, ', '.join(value) if isinstance(value, tuple) else value)
        info('------------------------------------------')


###############################################################################
# Parameter Unpacking #########################################################
###############################################################################

_BOOL_WORDS = {'true': True, '1': True, 'yes': True, 'on': True,
               'false': False, '0': False, 'no': False, 'off': False}
_ROUTE_WILDCARD = re.compile(r'<([a-zA-Z_][a-zA-Z_0-9]*)[^>]*>|(?<!\\):([a-zA-Z_][a-zA-Z_0-9]*)')
_EMPTY = inspect.Parameter.empty


class BadRequest(CanisterError):
    """A request parameter is missing or does not convert; answered with 400 (or ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError('must be an integer')
    try:
        return int(value)
    except ValueError:
        raise ValueError('must be an integer') from None


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError('must be a number')
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise ValueError('must be a number') from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    raise ValueError('must be true or false')


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError('must be a string')


def _resolve(callback: Callable[..., Any], annotation: Any) -> Any:
    """One annotation, evaluated if it is a string; unknown names mean "no annotation"."""
    if not isinstance(annotation, str):
        return annotation
    namespace = dict(getattr(inspect.unwrap(callback), '__globals__', {}))
    namespace.update({'Optional': Optional, 'List': List, 'typing': typing})
    try:
        return eval(annotation, namespace)  # noqa: S307 - the handler's own annotation text
    except Exception:
        return _EMPTY


def _other_converter(kind: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            return kind(value)
        except (TypeError, ValueError, ArithmeticError):
            raise ValueError('must be a valid %s' % getattr(kind, '__name__', kind)) from None
    return convert


_CONVERTERS: Dict[Any, Callable[[Any], Any]] = {int: _to_int, float: _to_float, bool: _to_bool, str: _to_str}


class _Param:
    """How one handler parameter is filled, decided once per route."""

    __slots__ = ('name', 'convert', 'many', 'required', 'optional', 'is_file', 'plain', 'wire_name')

    def __init__(self, parameter: inspect.Parameter, annotation: Any) -> None:
        self.name = parameter.name
        self.optional = False
        self.many = False
        self.is_file = False
        kind = annotation
        if typing.get_origin(kind) is typing.Union or type(kind).__name__ == 'UnionType':
            members = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            self.optional = len(members) < len(typing.get_args(kind))
            kind = members[0] if len(members) == 1 else _EMPTY
        if kind in (list, tuple, set) or typing.get_origin(kind) in (list, tuple, set):
            self.many = True
            args = typing.get_args(kind)
            kind = args[0] if args else _EMPTY
        self.is_file = kind is bottle.FileUpload
        if kind is _EMPTY or kind is Any or self.is_file or not callable(kind):
            self.convert: Optional[Callable[[Any], Any]] = None
        else:
            self.convert = _CONVERTERS.get(kind) or _other_converter(kind)
        self.required = parameter.default is _EMPTY and not self.optional
        #: A text taken as sent (no conversion, one value): the common case, bound on a short path.
        self.plain = self.convert is None and not (self.many or self.is_file or self.optional)
        #: The name as Bottle keys it in query and form dicts (latin-1 text of the UTF-8 bytes).
        self.wire_name = self.name.encode('utf-8').decode('latin1')


class ParameterBinder:
    """Fills a handler's parameters from the request: URL args, then body, then query."""

    def __init__(self, callback: Callable[..., Any], rule: str) -> None:
        signature = inspect.signature(callback)
        try:
            hints = typing.get_type_hints(callback)
        except Exception:
            hints = {}
        url_names = {a or b for a, b in _ROUTE_WILDCARD.findall(rule)}
        self.params: List[_Param] = []
        #: URL arguments with an annotation to convert them by.
        self.url_params: List[_Param] = []
        self.takes_extra = False
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                self.takes_extra = True
            elif parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                annotation = hints.get(parameter.name) or _resolve(callback, parameter.annotation)
                param = _Param(parameter, annotation)
                if parameter.name not in url_names:
                    self.params.append(param)
                elif param.convert is not None and param.convert is not _to_str and not param.many:
                    self.url_params.append(param)
        self.names = frozenset(param.name for param in self.params)
        #: Every parameter is a text from the query or the body: a GET binds on a short path.
        self.texts_only = all(param.plain for param in self.params) and not (self.url_params or self.takes_extra)

    def __bool__(self) -> bool:
        return bool(self.params) or bool(self.url_params) or self.takes_extra

    def bind(self, url_args: Dict[str, Any]) -> Dict[str, Any]:
        """Return the keyword arguments for the handler, or raise :class:`BadRequest`."""
        request = bottle.request
        environ = request.environ
        if self.texts_only and not environ.get('CONTENT_LENGTH') and 'HTTP_TRANSFER_ENCODING' not in environ:
            text = environ.get('QUERY_STRING', '')
            if text.isascii() and '%' not in text and '+' not in text and 'bottle.get' not in environ:
                # Nothing to decode: the last value of each key, as Bottle's own parser would give
                # (each is a str, since a handler without annotations expects one).
                pairs = dict(pair.partition('=')[::2] for pair in text.split('&')) if text else {}
                for param in self.params:
                    name = param.name
                    if name not in url_args:
                        value = pairs.get(name)
                        if value is not None:
                            url_args[name] = value
                        elif param.required:
                            raise BadRequest('missing parameter %r' % name)
                return url_args
            query = request.query
            for param in self.params:
                name = param.name
                if name not in url_args:
                    values = query.getall(param.wire_name)
                    if values:
                        value = values[-1]
                        url_args[name] = value if value.isascii() else _recode(query, value, name)
                    elif param.required:
                        raise BadRequest('missing parameter %r' % name)
            return url_args
        body: Any = None
        if environ.get('CONTENT_LENGTH', '') not in ('', '0') \
                or environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked':
            body = self._read_body(request)
        query = request.query
        kwargs = dict(url_args)
        for param in self.url_params:
            value = kwargs.get(param.name)
            if isinstance(value, str):
                kwargs[param.name] = self._convert(param, [value])
        for param in self.params:
            if param.name in url_args:
                continue
            values = self._values(param, body, query)
            if not values:
                if param.required:
                    raise BadRequest('missing parameter %r' % param.name)
                if param.optional and param.name not in kwargs:
                    kwargs[param.name] = None
                continue
            kwargs[param.name] = self._convert(param, values)
        if self.takes_extra:
            for source in (body, query):
                if isinstance(source, dict):
                    for key, value in source.items():
                        if key not in kwargs and key not in self.names:
                            kwargs[key] = value
                elif isinstance(source, bottle.FormsDict):
                    for key in source:
                        if isinstance(key, str) and key and key not in kwargs and key not in self.names:
                            kwargs[_recode(source, key, 'parameter name')] = \
                                _recode(source, source.getall(key)[-1], key)
        return kwargs

    @staticmethod
    def _read_body(request: Any) -> Any:
        content_type = request.environ.get('CONTENT_TYPE', '').split(';')[0].strip().lower()
        if content_type == 'application/json' or content_type.endswith('+json'):
            try:
                data = json.loads(request.body.read())
            except (ValueError, RecursionError):
                raise BadRequest('the body is not valid JSON') from None
            if not isinstance(data, dict):
                raise BadRequest('a JSON body must be an object to fill parameters')
            return data
        if content_type in ('application/x-www-form-urlencoded', 'multipart/form-data'):
            try:
                return request.POST
            except bottle.HTTPError as error:  # Bottle's own refusals
                if error.status_code != 413:
                    raise BadRequest('the form body is malformed') from None
                raise BadRequest('the form body is too large: Bottle reads at most %d bytes of a urlencoded '
                                 'form (bottle.BaseRequest.MEMFILE_MAX)' % request.MEMFILE_MAX,
                                 status=413) from None
            except bottle.HTTPResponse:  # canister's own answer (a chunked body over max_body_size)
                raise
            except Exception as error:  # a parser error
                raise BadRequest('the form body is malformed (%s)' % type(error).__name__) from None
        return None

    @staticmethod
    def _values(param: _Param, body: Any, query: Any) -> List[Any]:
        name = param.name
        if isinstance(body, dict):
            if name in body and not param.is_file:
                value = body[name]
                return list(value) if isinstance(value, list) and param.many else [value]
        elif body is not None:
            key = param.wire_name if getattr(body, 'recode_unicode', False) else name
            values = [value for value in body.getall(key) if isinstance(value, bottle.FileUpload) == param.is_file]
            if values:
                return [_recode(body, value, name) for value in values]
        if param.is_file:
            return []
        return [_recode(query, value, name) for value in query.getall(param.wire_name)]

    @staticmethod
    def _convert(param: _Param, values: List[Any]) -> Any:
        convert = param.convert
        try:
            if param.many:
                return [convert(value) for value in values] if convert else list(values)
            value = values[-1]
            if param.optional and (value is None or (value == '' and convert is not _to_str)):
                return None
            return convert(value) if convert else value
        except ValueError as error:
            shown = repr(values[-1] if not param.many else values)
            if len(shown) > 60:
                shown = shown[:57] + '...'
            raise BadRequest('parameter %r %s, got %s' % (param.name, error, shown)) from None


def _recode(source: Any, value: Any, name: str) -> Any:
    """Bottle keeps query and urlencoded values as latin-1; give back real UTF-8 text."""
    if isinstance(value, str) and getattr(source, 'recode_unicode', False) and not value.isascii():
        try:
            return value.encode('latin1').decode('utf-8')
        except UnicodeError:
            raise BadRequest('parameter %r is not valid UTF-8' % name) from None
    return value


###############################################################################
# Session Stores ##############################################################
###############################################################################

class SessionStore:
    """Where sessions live.  Subclass it to keep sessions in another database.

    A record is a JSON text made by canister; ``ttl`` is the number of seconds it
    stays valid from now (0 or less: forever).  Every method may raise
    :class:`StoreUnavailable` when the backend cannot be reached; the request then
    answers 503.
    """

    def load(self, sid: str) -> Optional[str]:
        """Return the record of a live session, or None if unknown or expired."""
        raise NotImplementedError

    def save(self, sid: str, record: str, ttl: int) -> None:
        """Create or replace a session, valid for ``ttl`` seconds from now."""
        raise NotImplementedError

    def touch(self, sid: str, ttl: int) -> None:
        """Extend a session's life to ``ttl`` seconds from now, record unchanged."""
        raise NotImplementedError

    def delete(self, sid: str) -> None:
        """Forget a session (no error if it does not exist)."""
        raise NotImplementedError

    def check(self) -> Optional[str]:
        """Return a problem description if the store cannot be reached now, else None."""
        return None

    def close(self) -> None:
        """Release connections; called at uninstall for stores canister opened itself."""


def _expiry(ttl: int) -> int:
    return math.ceil(time.time() + ttl) if ttl > 0 else 0


class _Shard:
    """One slice of the memory store: a dict of records kept in least-recently-used order.

    A dict iterates in insertion order, so taking a session out and putting it back
    moves it to the end: the front of ``entries`` is the least recently used session,
    the end the most recent.  A use, an expiry and an eviction are each a few dict
    operations done in C.  ``last`` is the session saved most recently, whose record
    is replaced in place (a returning client's next request usually lands there).
    Each session costs one dict item whose key and value are strings, and dicts that
    hold only strings are invisible to the garbage collector: a million sessions add
    nothing to its pauses.
    """

    __slots__ = ('entries', 'last', 'check_at')

    def __init__(self) -> None:
        #: sid -> ten-digit expiry (0: never) followed by the record, oldest use first.
        self.entries: Dict[str, str] = {}
        self.last: Optional[str] = None
        #: No session of the shard expires before this time (a lower bound: look again then).
        self.check_at = 0.0


class MemoryStore(SessionStore):
    """Sessions in this process's memory: fast, bounded, lost on restart.

    Sessions are spread over shards kept in least-recently-used order, so eviction
    (beyond ``max_sessions``) and expiry happen at the front of a shard, a few
    entries per write: there is no global sweep and no request waits on housekeeping.
    A shard holds about 4096 sessions (up to 1024 shards), so the rare resize of its
    dict copies a few thousand items, not the whole store.
    """

    def __init__(self, max_sessions: int = 100000) -> None:
        self.max_sessions = max_sessions
        self._shards = [_Shard() for _ in range(min(1024, max(1, max_sessions // 4096)))]
        self._shard_count = len(self._shards)
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def load(self, sid: str) -> Optional[str]:
        entry = self._shards[hash(sid) % self._shard_count].entries.get(sid)
        if entry is None:
            return None
        expires = int(entry[:10])
        if expires and expires <= time.time():
            return None
        return entry[10:]

    def save(self, sid: str, record: str, ttl: int) -> None:
        entry = '%010d%s' % (_expiry(ttl), record)
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            if sid == shard.last:  # already the most recent of its shard: replaced in place
                shard.entries[sid] = entry
            else:
                self._use(shard, sid, entry)

    def touch(self, sid: str, ttl: int) -> None:
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            entry = shard.entries.get(sid)
            if entry is not None:  # looked up under the lock: a deleted session stays deleted
                self._use(shard, sid, '%010d%s' % (_expiry(ttl), entry[10:]))

    def delete(self, sid: str) -> None:
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            if shard.entries.pop(sid, None) is not None:
                self._size -= 1
                if sid == shard.last:
                    shard.last = None

    def _use(self, shard: _Shard, sid: str, entry: str) -> None:
        entries = shard.entries
        if sid == shard.last:
            entries[sid] = entry
            return
        if entries.pop(sid, None) is None:
            self._size += 1
        entries[sid] = entry
        shard.last = sid
        if self._size > self.max_sessions or shard.check_at <= time.time():
            self._housekeep(shard)

    def _housekeep(self, shard: _Shard, budget: int = 8) -> None:
        """Drop expired or surplus sessions from the shard's front: a bounded amount of work."""
        now = time.time()
        entries = shard.entries
        for sid in list(itertools.islice(entries, budget)):
            if self._size <= self.max_sessions:
                expires = int(entries[sid][:10])
                if not expires or expires > now:
                    shard.check_at = expires or now + 60.0
                    return
            elif sid == shard.last:  # the session just saved, alone in its shard: evict elsewhere
                self._evict_elsewhere(shard)
                return
            del entries[sid]
            self._size -= 1
            if sid == shard.last:
                shard.last = None
        shard.check_at = 0.0 if entries else now + 60.0  # more may be due: look again at the next write

    def _evict_elsewhere(self, keep: _Shard) -> None:
        for other in self._shards:
            if other is not keep and other.entries:
                sid = next(iter(other.entries))
                del other.entries[sid]
                self._size -= 1
                if sid == other.last:
                    other.last = None
                return


class SQLiteStore(SessionStore):
    """Sessions in a SQLite file (WAL mode): they survive restarts and crashes,
    and several threads and processes on one host can share them."""

    _SCHEMA = ('CREATE TABLE IF NOT EXISTS canister_sessions ('
               'sid TEXT PRIMARY KEY, record TEXT NOT NULL, expires INTEGER NOT NULL)',
               'CREATE INDEX IF NOT EXISTS canister_sessions_expires ON canister_sessions (expires)')

    def __init__(self, path: str, cleanup_every: int = 100, cleanup_batch: int = 200) -> None:
        self.path = path
        self.cleanup_every = cleanup_every
        self.cleanup_batch = cleanup_batch
        self._local = threading.local()
        self._writes = itertools.count(1)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise ConfigError('canister.session_store: directory %s does not exist' % directory)
        # Several worker processes start at once on one file (and, after a crash, one of them
        # recovers its WAL): SQLite may answer "database is locked" here without waiting for
        # its busy timeout, so the setup is retried for a while instead of failing the worker.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                connection = self._connection()
                if connection.execute('PRAGMA journal_mode').fetchone()[0].lower() != 'wal':
                    connection.execute('PRAGMA journal_mode=WAL')
                for statement in self._SCHEMA:
                    connection.execute(statement)
                return
            except sqlite3.OperationalError as error:
                if ('locked' not in str(error) and 'busy' not in str(error)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _connection(self) -> sqlite3.Connection:
        connection: Optional[sqlite3.Connection] = getattr(self._local, 'connection', None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                                         check_same_thread=False)
            connection.execute('PRAGMA busy_timeout=5000')
            connection.execute('PRAGMA synchronous=NORMAL')
            self._local.connection = connection
        return connection

    def _run(self, sql: str, args: Tuple[Any, ...]) -> List[Any]:
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise StoreUnavailable('the SQLite session store %s failed: %s' % (self.path, error)) from None

    def load(self, sid: str) -> Optional[str]:
        rows = self._run('SELECT record FROM canister_sessions WHERE sid = ? AND (expires = 0 OR expires > ?)',
                         (sid, time.time()))
        return rows[0][0] if rows else None

    def save(self, sid: str, record: str, ttl: int) -> None:
        self._run('INSERT OR REPLACE INTO canister_sessions (sid, record, expires) VALUES (?, ?, ?)',
                  (sid, record, _expiry(ttl)))
        self._maybe_cleanup()

    def touch(self, sid: str, ttl: int) -> None:
        self._run('UPDATE canister_sessions SET expires = ? WHERE sid = ?', (_expiry(ttl), sid))
        self._maybe_cleanup()

    def delete(self, sid: str) -> None:
        self._run('DELETE FROM canister_sessions WHERE sid = ?', (sid,))

    def _maybe_cleanup(self) -> None:
        if next(self._writes) % self.cleanup_every == 0:
            self._run('DELETE FROM canister_sessions WHERE sid IN (SELECT sid FROM canister_sessions '
                      'WHERE expires > 0 AND expires <= ? LIMIT ?)', (time.time(), self.cleanup_batch))

    def close(self) -> None:
        connection = getattr(self._local, 'connection', None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class RedisStore(SessionStore):
    """Sessions in Redis, shared by many processes on many hosts.

    Redis expires them itself; a request that only reads its session is one round trip
    (GETEX reads and extends it), one that changes it two (GETEX, then SET); pooled
    connections with short timeouts, so an outage turns into quick 503s rather than
    hung requests.
    """

    def __init__(self, url: str, prefix: str = 'canister:session:', timeout: float = 1.0) -> None:
        redis = _require('redis', 'redis')
        self.prefix = prefix
        options: Dict[str, Any] = {'socket_timeout': timeout, 'socket_connect_timeout': timeout}
        try:
            from redis.backoff import NoBackoff
            from redis.retry import Retry
            options['retry'] = Retry(NoBackoff(), 0)
        except ImportError:  # pragma: no cover - very old redis-py
            pass
        self._errors = (redis.exceptions.RedisError, OSError)
        self._response_error = redis.exceptions.ResponseError
        self._getex = hasattr(redis.Redis, 'getex')
        try:
            self.client = redis.Redis.from_url(url, **options)
        except ValueError as error:
            raise ConfigError('canister.session_store = %r is not a valid Redis URL: %s' % (url, error)) from None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except self._errors as error:
            raise self._unavailable(error) from None

    @staticmethod
    def _unavailable(error: Exception) -> StoreUnavailable:
        return StoreUnavailable('the Redis session store is unavailable: %s' % error)

    @staticmethod
    def _text(value: Any) -> Optional[str]:
        return value.decode('utf-8') if isinstance(value, bytes) else value

    def load(self, sid: str) -> Optional[str]:
        return self._text(self._call('get', self.prefix + sid))

    def save(self, sid: str, record: str, ttl: int) -> None:
        self._call('set', self.prefix + sid, record, ex=ttl if ttl > 0 else None)

    def touch(self, sid: str, ttl: int) -> None:
        if ttl > 0:
            self._call('expire', self.prefix + sid, ttl)

    def load_and_touch(self, sid: str, ttl: int) -> Optional[str]:
        """Read a session and extend its life in one round trip: GETEX (Redis 6.2 and later),
        or GET and EXPIRE sent together in a pipeline where the server or client lacks it."""
        key = self.prefix + sid
        if self._getex:
            try:
                return self._text(self.client.getex(key, ex=ttl))
            except self._response_error as error:
                if 'unknown command' not in str(error).lower():
                    raise self._unavailable(error) from None
                self._getex = False  # a server before Redis 6.2: the pipeline from now on
            except self._errors as error:
                raise self._unavailable(error) from None
        try:
            values = self.client.pipeline(transaction=False).get(key).expire(key, ttl).execute()
        except self._errors as error:
            raise self._unavailable(error) from None
        return self._text(values[0])

    def delete(self, sid: str) -> None:
        self._call('delete', self.prefix + sid)

    def check(self) -> Optional[str]:
        try:
            self.client.ping()
        except self._errors as error:
            return str(error)
        return None

    def close(self) -> None:
        self.client.close()


def open_store(url: str, max_sessions: int = 100000) -> SessionStore:
    """Make the store a ``session_store`` URL names."""
    if url == 'memory':
        return MemoryStore(max_sessions)
    if url.startswith('sqlite:///'):
        path = url[len('sqlite:///'):]
        if not path:
            raise ConfigError('canister.session_store = %r names no file' % url)
        return SQLiteStore(path)
    if url.startswith(('redis://', 'rediss://', 'unix://')):
        return RedisStore(url)
    raise ConfigError('canister.session_store = %r is not valid: expected memory, '
                      'sqlite:///file.db, sqlite:////absolute/file.db or redis://host:port/db' % url)


###############################################################################
# Sessions ####################################################################
###############################################################################

_SID = re.compile(r'[A-Za-z0-9_-]{43,128}')


def _unstorable(value: Any) -> Any:
    raise TypeError('%s is not JSON serializable' % type(value).__name__)


# Session records are small JSON texts, coded on every request that uses the session:
# call the C coder directly where there is one (json.dumps and json.loads spend most
# of their time on a small record in setting up and checking their arguments).
_c_encoder = getattr(json.encoder, 'c_make_encoder', None)
_c_scanner = getattr(getattr(json, 'scanner', None), 'c_make_scanner', None)
if _c_encoder is not None and _c_scanner is not None:
    _encode_chunks = _c_encoder(None, _unstorable, json.encoder.encode_basestring_ascii, None,
                                ':', ',', False, False, True)
    _scan_record = _c_scanner(json.JSONDecoder())

    def _encode_json(value: Any) -> str:
        return ''.join(_encode_chunks(value, 0))

    def _decode_record(text: Any) -> Any:
        if not isinstance(text, str):  # a custom store may hand back bytes, as json.loads accepts
            text = bytes(text).decode('utf-8')
        try:
            value, end = _scan_record(text, 0)
        except StopIteration:
            raise ValueError('not JSON') from None
        if end != len(text):
            raise ValueError('extra text after the JSON value')
        return value
else:  # pragma: no cover - Python builds without the _json accelerator
    _encode_json = json.JSONEncoder(separators=(',', ':'), default=_unstorable).encode  # type: ignore[assignment]
    _decode_record = json.loads  # type: ignore[assignment]


class _Local(threading.local):
    """Per-thread state: the context of the request the thread serves (None between requests)."""

    context: Any = None


_local = _Local()
#: Decoded records kept by a session manager (a few hundred bytes each).
_PARSED_MAX = 1024
#: The types JSON gives back as they were (a subclass such as an IntEnum comes back as its base).
_SCALARS = frozenset((str, int, float, bool, type(None)))


class SessionManager:
    """Session policy (cookie, expiry, rotation) on top of a store."""

    def __init__(self, config: Config, store: Optional[SessionStore], log: RequestLog) -> None:
        self.log = log
        self.store = store if store is not None else open_store(config['session_store'], config['session_max'])
        for method in ('load', 'save', 'touch', 'delete'):
            if not callable(getattr(self.store, method, None)):
                raise ConfigError('canister: the session store %r has no %s() method' % (self.store, method))
        self.cookie_name = config['session_cookie']
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", self.cookie_name):
            raise ConfigError('canister.session_cookie = %r is not a valid cookie name' % self.cookie_name)
        self.timeout = max(config['session_timeout'], 0)
        self.max_age = config['session_max_age']
        #: A store that can read a session and extend its life in one step (``load_and_touch``,
        #: Redis's GETEX) does so at every load while the expiry is the sliding timeout alone:
        #: a request that leaves its session unchanged then needs no separate touch.
        load_and_touch: Any = getattr(self.store, 'load_and_touch', None)
        self.touches_on_load = callable(load_and_touch) and self.timeout > 0 and not self.max_age
        self.load_record: Callable[[str], Any] = (functools.partial(load_and_touch, ttl=self.timeout)
                                                  if self.touches_on_load else self.store.load)
        self.always_secure = config['session_secure'] or config['session_samesite'] == 'None'
        attributes = '; Path=/; HttpOnly; SameSite=%s' % config['session_samesite']
        if config['session_cookie_max_age']:
            attributes += '; Max-Age=%d' % config['session_cookie_max_age']
        self._attributes = attributes
        self._cookie_prefix = self.cookie_name + '='
        #: The first well-formed id among the cookies of that name (one regex pass).
        self._cookie_value = re.compile(r'(?:^|;)\s*%s(%s)\s*(?:;|$)'
                                        % (re.escape(self._cookie_prefix), _SID.pattern)).search
        self._prefix_length = len(self._cookie_prefix)
        #: The usual header: that cookie alone, with a well-formed id (one C call to check).
        self._lone_cookie = re.compile(r'%s%s' % (re.escape(self._cookie_prefix), _SID.pattern)).fullmatch
        #: sid -> (record, data, user, created_ms, user_expires, tail) of records recently saved or
        #: read whose values are all immutable (a flat data object, a scalar user): a request
        #: whose record is unchanged since takes a copy of the data instead of decoding it.
        self.parsed: Dict[str, Tuple[str, Dict[str, Any], Any, int, int, str]] = {}

    def cookie_sid(self, header: str) -> Optional[str]:
        """The well-formed session id the Cookie header carries, if any."""
        if self._lone_cookie(header) is not None:
            return header[self._prefix_length:]
        if self._cookie_prefix not in header:
            return None
        match = self._cookie_value(header)
        return match.group(1) if match else None

    def remember(self, sid: str, record: str, data: Dict[str, Any], user: Any, created_ms: int,
                 expires: int, tail: Optional[str] = None) -> Optional[str]:
        """Keep a record's values if decoding it gives back exactly them, all immutable (see
        ``parsed``); return its tail (found in the record when not given), or None if not kept."""
        if type(user) not in _SCALARS:
            return None
        for key, value in data.items():
            if type(key) is not str or type(value) not in _SCALARS:
                return None
        if tail is None:  # a record read from the store: its tail, if canister's coder wrote it
            data_text = ''.join(_encode_chunks(data, 0))
            end = len(data_text) + 1
            if not (record.startswith(data_text, 1) and record.startswith(',', end)):
                return None
            tail = record[end:]
        parsed = self.parsed
        if len(parsed) >= _PARSED_MAX and sid not in parsed:
            try:
                del parsed[next(iter(parsed))]
            except (KeyError, RuntimeError, StopIteration):  # another thread changed it meanwhile
                pass
        parsed[sid] = (record, data.copy(), user, created_ms, expires, tail)
        return tail

    def ttl(self, created: float, now: float) -> int:
        """Seconds the session may live from now, by both expiry rules."""
        ttl = self.timeout
        if self.max_age:
            remaining = max(int(created + self.max_age - now), 1)
            ttl = min(ttl, remaining) if ttl else remaining
        return ttl

    def set_cookie(self, headers: Headers, sid: str, https: bool, expire: bool = False) -> None:
        """Add the session cookie, and the cache headers that keep it private."""
        cookie = self._cookie_prefix + sid + self._attributes
        if expire:
            cookie = self._cookie_prefix + '; Path=/; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
        if https or self.always_secure:
            cookie += '; Secure'
        headers.append(('Set-Cookie', cookie))
        _merge_header(headers, 'Vary', 'Cookie')
        for index, (name, value) in enumerate(headers):
            if name.lower() == 'cache-control':
                if 'private' not in value and 'no-store' not in value:
                    kept = [part.strip() for part in value.split(',') if part.strip().lower() != 'public']
                    headers[index] = (name, ', '.join(['private'] + kept))
                break
        else:
            headers.append(('Cache-Control', 'private'))


class SessionState:
    """One request's view of its session, loaded from the store on first use.

    Every attribute has its default at class level, so making one costs nothing until
    the request touches its session (the plugin's request context is a subclass).
    """

    manager: Optional[SessionManager] = None
    #: The well-formed id the request's cookie named (not adopted before it is found in the store).
    cookie_sid: Optional[str] = None
    client = '-'
    loaded = False
    exists = False
    sid: Optional[str] = None
    snapshot = ''
    data: Dict[str, Any] = {}  # replaced by the request's own dict in load(), never mutated here
    user: Any = None
    user_expires = 0.0
    #: When the session was made, in milliseconds since the epoch (0: not yet, set when it is
    #: first saved): an integer is cheaper to write than a float.
    created_ms = 0
    real = False
    old_sid: Optional[str] = None
    #: Ids ended in this request (logout), deleted from the store at the end.
    dead: Tuple[str, ...] = ()
    #: The record's text after the data (user, created, user expiry), while those stay as loaded.
    tail: Optional[str] = None

    def load(self) -> None:
        """Fetch the session named by the cookie, once; a dead or unknown id is never adopted."""
        if self.loaded:
            return
        self.loaded = True
        self.data = {}
        sid, manager = self.cookie_sid, self.manager
        if sid is None or manager is None:
            return
        record = manager.load_record(sid)
        if record is None:
            return
        parsed = manager.parsed.get(sid)
        if parsed is not None and parsed[0] == record:
            _, data, user, created_ms, expires, tail = parsed
            data = data.copy()
        else:
            tail = None
            try:
                stored = _decode_record(record)
                if type(stored) is list:  # [data, user, created (ms since the epoch), user expiry (s)]
                    data, user, created_ms, expires = stored
                else:  # the object form of 2.0's first development versions (created in seconds)
                    data, user, expires = stored['d'], stored.get('u'), stored.get('x', 0)
                    created_ms = int(float(stored['c']) * 1000)
                created_ms, expires = int(created_ms), int(expires)
                if type(data) is not dict:
                    raise ValueError('data is not an object')
            except (ValueError, KeyError, TypeError, OverflowError) as error:
                manager.log.write(logging.WARNING, 'Ignoring a corrupt session record (%s)' % error)
                return
            if type(record) is str and type(stored) is list:
                tail = manager.remember(sid, record, data, user, created_ms, expires)
        if manager.max_age and created_ms + manager.max_age * 1000 <= time.time() * 1000:
            return
        self.exists = True
        self.sid = sid
        self.snapshot = record
        self.data, self.created_ms = data, created_ms
        if not expires or expires > time.time():  # a login with its own expiry (a JWT's) lapses by itself
            self.user, self.user_expires, self.tail = user, expires, tail
        if manager.log.level <= logging.DEBUG:
            manager.log.write(logging.DEBUG, 'Session: %s... loaded' % sid[:6])

    def get_sid(self) -> str:
        self.load()
        if self.sid is None:
            self._new_sid()
        assert self.sid is not None
        self.real = True
        return self.sid

    def _new_sid(self) -> str:
        sid = self.sid = secrets.token_urlsafe(32)
        threading.current_thread().name = '%s-%s' % (self.client, sid[:6])
        if self.manager is not None and self.manager.log.enabled(logging.DEBUG):
            self.manager.log.write(logging.DEBUG, 'Session: %s... created' % sid[:6])
        return sid

    def set_user(self, user: Any, expires: float = 0, remember: bool = True) -> bool:
        """Log a user in (or out with None); return True if the user changed.

        A change rotates the session id.  With ``remember=False`` (credentials sent
        with a request that has no session) the user holds for this request only,
        unless the handler makes the session real.
        """
        self.load()
        changed = user != self.user
        if changed and self.exists and self.old_sid is None:
            self.old_sid = self.sid
            self._new_sid()
        self.user = user
        self.user_expires = expires
        self.tail = None
        if remember or self.exists:
            self.real = True
        return changed

    def invalidate(self) -> None:
        """End the session; anything stored afterwards goes to a brand new one."""
        self.load()
        self.dead += tuple(sid for sid in (self.old_sid, self.sid if self.exists else None) if sid)
        self.exists, self.sid, self.old_sid, self.snapshot, self.real = False, None, None, '', False
        self.data, self.user, self.user_expires, self.created_ms, self.tail = {}, None, 0, 0, None

    def record(self) -> str:
        """The JSON text stored for this session; explains which value cannot be stored."""
        user = self.user
        try:  # [data, user, created (ms), user expiry (s)]: the part after the data seldom changes
            tail = self.tail
            if tail is None:
                tail = self.tail = ',%s,%d,%d]' % ('null' if user is None else _encode_json(user),
                                                   self.created_ms, self.user_expires)
            return '[' + ''.join(_encode_chunks(self.data, 0)) + tail
        except (TypeError, ValueError, RecursionError):
            pass  # find which value it is
        for key, value in self.data.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise SessionDataError('session.data[%r] holds a %s, which a session cannot store: session '
                                       'values must be JSON-serializable' % (key, type(value).__name__)) from None
        raise SessionDataError('session.user holds a %s, which a session cannot store: it must be '
                               'JSON-serializable' % type(self.user).__name__)

    def finish(self, headers: Headers, https: bool) -> None:
        """Save, touch or delete the session as the request left it; add the cookie if needed."""
        manager = self.manager
        if not self.loaded or manager is None:
            return
        store = manager.store
        for sid in self.dead:
            store.delete(sid)
        if not self.exists and not self.real and not self.data:
            if self.dead and self.cookie_sid:
                manager.set_cookie(headers, '', https, expire=True)
            return
        if not self.created_ms:
            self.created_ms = int(time.time() * 1000)
        record = self.record()
        ttl = manager.ttl(self.created_ms / 1000, time.time()) if manager.max_age else manager.timeout
        sid = self.sid if self.sid is not None else self._new_sid()
        if self.old_sid:
            store.delete(self.old_sid)
        elif record == self.snapshot:  # (the snapshot of a session that did not exist is '')
            if not manager.touches_on_load:
                store.touch(sid, ttl)
            return
        store.save(sid, record, ttl)
        manager.remember(sid, record, self.data, self.user, self.created_ms, int(self.user_expires),
                         self.tail or '')
        if sid != self.cookie_sid:
            manager.set_cookie(headers, sid, https)

    # -- a body streamed after the answer started (see _StreamedBody) --------
    def settle(self) -> None:
        """After ``finish``: what the store now holds becomes the baseline of ``finish_late``."""
        self.old_sid, self.dead = None, ()
        if self.sid is not None and (self.exists or self.real or self.data):  # finish stored it
            self.exists, self.cookie_sid, self.snapshot = True, self.sid, self.record()

    def finish_late(self) -> Optional[str]:
        """Save what a streamed body changed after the answer started; or say why it cannot be.

        The cookie went out with the headers: changes to the session the client holds are
        saved, ended sessions are deleted, but a change that needs a new id (a new session,
        a login or logout) cannot reach the client and is not stored.
        """
        manager = self.manager
        if not self.loaded or manager is None:
            return None
        needs_new_id = (self.old_sid is not None or self.sid is None or self.sid != self.cookie_sid) and bool(
            self.real or self.data or self.exists)
        if needs_new_id:
            for sid in self.dead + ((self.old_sid,) if self.old_sid else ()):
                manager.store.delete(sid)
            return ('the session changed after the answer started in a way that needs a new session '
                    'cookie, which can no longer be sent: the change was not saved')
        if self.dead or not self.exists or self.record() != self.snapshot:
            self.finish([], False)
        return None


def _state() -> SessionState:
    context = _local.context
    return context if context is not None else SessionState()


class Session:
    """The current request's session: ``sid``, ``user``, ``data`` and ``invalidate()``.

    Nothing is created until it is needed: reading ``data`` or ``user`` on a request
    without a session gives ``{}`` and ``None``; reading ``sid``, setting ``user`` or
    storing something in ``data`` makes the session real.
    """

    @property
    def sid(self) -> str:
        """The session id (creates the session if there was none)."""
        return _state().get_sid()

    @property
    def data(self) -> Dict[str, Any]:
        """The session's data, a plain dict of JSON-serializable values."""
        state = _local.context
        if state is None:
            return {}
        if not state.loaded:
            state.load()
        return state.data

    @property
    def user(self) -> Any:
        """The logged-in user, or None."""
        state = _state()
        if not state.loaded:
            state.load()
        return state.user

    @user.setter
    def user(self, value: Any) -> None:
        _state().set_user(value)

    def invalidate(self) -> None:
        """End the session: delete it on the server and expire the cookie (logout)."""
        _state().invalidate()

    def __repr__(self) -> str:
        state = _state()
        return '<canister session %s user=%r data=%r>' % (
            (state.sid or '-')[:6], state.user, state.data)


#: The current request's session (thread local, like ``bottle.request``).
session = Session()


def request_id() -> str:
    """The current request's id (also sent back in the ``X-Request-ID`` header)."""
    context = _local.context
    return context.request_id if context is not None else ''


###############################################################################
# Authentication ##############################################################
###############################################################################

class AuthFailure(CanisterError):
    """Credentials were presented and are not valid; answered with 401."""

    def __init__(self, reason: str, scheme: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.scheme = scheme


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def hash_password(password: str, scheme: str = 'pbkdf2', iterations: Optional[int] = None) -> str:
    """Hash a password for ``auth_basic_password`` or the users file.

    The result uses only letters, digits, ``-``, ``_`` and ``:``, so it can be pasted
    as is into an ini file (no ``%`` or ``$``) and after ``user:`` in the users file.
    """
    salt = os.urandom(16)
    secret = password.encode('utf-8')
    if scheme == 'pbkdf2':
        rounds = iterations or 600000
        digest = hashlib.pbkdf2_hmac('sha256', secret, salt, rounds)
        return 'pbkdf2_sha256:%d:%s:%s' % (rounds, _b64(salt), _b64(digest))
    if scheme == 'scrypt':
        n = iterations or 2 ** 14
        digest = hashlib.scrypt(secret, salt=salt, n=n, r=8, p=1, maxmem=128 * n * 8 * 2 + 2 ** 20)
        return 'scrypt:%d:8:1:%s:%s' % (n, _b64(salt), _b64(digest))
    raise ValueError('scheme must be pbkdf2 or scrypt')


def _hash_scheme(encoded: str) -> Optional[str]:
    if encoded.startswith('pbkdf2_sha256:'):
        return 'pbkdf2'
    if encoded.startswith('scrypt:'):
        return 'scrypt'
    if encoded.startswith('sha256:'):
        return 'sha256'
    if encoded.startswith(('$2a$', '$2b$', '$2y$')):
        return 'bcrypt'
    if encoded.startswith('$argon2'):
        return 'argon2'
    return None


def verify_password(password: str, encoded: str, scheme: Optional[str] = None) -> bool:
    """Check a password against a stored form, in constant time for that form."""
    scheme = scheme or _hash_scheme(encoded) or 'clear'
    secret = password.encode('utf-8')
    try:
        if scheme == 'clear':
            return hmac.compare_digest(secret, encoded.encode('utf-8'))
        if scheme == 'sha256':
            expected = encoded[7:] if encoded.startswith('sha256:') else encoded
            return hmac.compare_digest(hashlib.sha256(secret).hexdigest(), expected.strip().lower())
        if scheme == 'pbkdf2':
            _, rounds, salt, digest = encoded.split(':')
            actual = hashlib.pbkdf2_hmac('sha256', secret, _unb64(salt), int(rounds))
            return hmac.compare_digest(actual, _unb64(digest))
        if scheme == 'scrypt':
            _, n, r, p, salt, digest = encoded.split(':')
            cost = int(n) * int(r)
            actual = hashlib.scrypt(secret, salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                    maxmem=128 * cost * 2 + 2 ** 20)
            return hmac.compare_digest(actual, _unb64(digest))
        if scheme == 'bcrypt':
            bcrypt = _require('bcrypt', 'bcrypt')
            return bool(bcrypt.checkpw(secret, encoded.encode('ascii')))
        if scheme == 'argon2':
            argon2 = _require('argon2', 'argon2')
            try:
                return bool(argon2.PasswordHasher().verify(encoded, password))
            except argon2.exceptions.VerificationError:
                return False
    except (ValueError, binascii.Error):
        return False
    return False


def _check_hash(encoded: str, scheme: str, where: str) -> None:
    """Refuse at install a stored password that could never match."""
    if scheme in ('bcrypt', 'argon2'):
        _require(scheme, scheme)
    if scheme == 'sha256' and not re.fullmatch(r'(sha256:)?[0-9a-fA-F]{64}', encoded):
        raise ConfigError('%s is not a hex SHA-256 digest (64 hex characters)' % where)
    if scheme in ('pbkdf2', 'scrypt') and _hash_scheme(encoded) != scheme:
        raise ConfigError('%s is not a %s hash from python -m canister hash-password' % (where, scheme))


class BasicAuth:
    """HTTP Basic: one user from the config and/or many from a users file."""

    scheme = 'basic'

    def __init__(self, config: Config, log: RequestLog) -> None:
        self.log = log
        self.challenge = 'Basic realm="%s", charset="UTF-8"' % config['auth_realm'].replace('"', '')
        self.users: Dict[str, Tuple[str, str]] = {}
        username, password = config['auth_basic_username'], config['auth_basic_password']
        if username:
            scheme = config['auth_basic_encryption']
            if scheme == 'auto':
                scheme = _hash_scheme(password) or 'clear'
            _check_hash(password, scheme, 'canister.auth_basic_password')
            self.users[username] = (password, scheme)
        self._config_users = dict(self.users)
        self.users_file = config['auth_basic_users_file']
        self._file_stamp: Optional[Tuple[float, int]] = None
        self._next_stat = 0.0
        self._lock = threading.Lock()
        #: Verified credentials (keyed by a keyed hash, never the password), so a
        #: slow hash is paid once per 5 minutes per user, not on every request.
        self._verified: 'collections.OrderedDict[bytes, float]' = collections.OrderedDict()
        self._cache_key = os.urandom(32)
        self._dummy = self._make_dummy()
        if self.users_file:
            if not os.path.isfile(self.users_file):
                raise ConfigError('canister.auth_basic_users_file = %r: no such file' % self.users_file)
            self._reload()

    def _make_dummy(self) -> Tuple[str, str]:
        """A stored form to check unknown users against, as costly as a real one."""
        for stored, scheme in self.users.values():
            if scheme == 'pbkdf2':
                return hash_password(secrets.token_hex(8), 'pbkdf2', int(stored.split(':')[1])), 'pbkdf2'
            if scheme == 'scrypt':
                return hash_password(secrets.token_hex(8), 'scrypt', int(stored.split(':')[1])), 'scrypt'
        return secrets.token_hex(32), 'sha256'

    def _reload(self) -> None:
        try:
            status = os.stat(self.users_file)
            stamp = (status.st_mtime, status.st_size)
            if stamp == self._file_stamp:
                return
            with open(self.users_file, encoding='utf-8') as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeError) as error:
            self.log.write(logging.ERROR, 'Cannot read the users file %s: %s' % (self.users_file, error))
            return
        users = dict(self._config_users)
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            name, sep, stored = line.partition(':')
            scheme = _hash_scheme(stored)
            if not sep or not name or scheme is None:
                self.log.write(logging.WARNING, 'Users file %s line %d ignored: expected user:hash'
                               % (self.users_file, number))
                continue
            try:
                _check_hash(stored, scheme, 'users file line %d' % number)
            except (ConfigError, MissingExtraError) as error:
                self.log.write(logging.WARNING, 'Users file %s: %s' % (self.users_file, error))
                continue
            users[name.strip()] = (stored, scheme)
        with self._lock:
            self.users = users
            self._file_stamp = stamp
            self._verified.clear()
            self._dummy = self._make_dummy()

    def authenticate(self, credentials: str) -> Tuple[str, float, str]:
        """Return (user, expiry, name to log) or raise :class:`AuthFailure`."""
        if self.users_file and time.time() >= self._next_stat:
            self._next_stat = time.time() + 1.0
            self._reload()
        try:
            decoded = base64.b64decode(credentials, validate=True).decode('utf-8')
        except (ValueError, binascii.Error):
            raise AuthFailure('the Basic credentials are not valid base64 of UTF-8 text', 'basic') from None
        username, sep, password = decoded.partition(':')
        if not sep:
            raise AuthFailure('the Basic credentials have no ":" between user and password', 'basic')
        key = hmac.new(self._cache_key, decoded.encode('utf-8'), hashlib.sha256).digest()
        with self._lock:
            seen = self._verified.get(key)
        if seen is not None and seen > time.time() and username in self.users:
            return username, 0, username
        stored, scheme = self.users.get(username, self._dummy)
        valid = verify_password(password, stored, scheme) and username in self.users
        if not valid:
            raise AuthFailure('wrong user name or password for %r' % username, 'basic')
        with self._lock:
            self._verified[key] = time.time() + 300
            while len(self._verified) > 1024:
                self._verified.popitem(last=False)
        return username, 0, username


class _Jwks:
    """A provider's signing keys, cached; refetched on an unknown ``kid`` at most every 10 s."""

    def __init__(self, url: str, jwt: Any, log: RequestLog, timeout: float = 5.0, min_interval: float = 10.0) -> None:
        self.url = url
        self.jwt = jwt
        self.log = log
        self.timeout = timeout
        self.min_interval = min_interval
        self.keys: Dict[Optional[str], Any] = {}
        self._fetched_at = -math.inf
        self._lock = threading.Lock()
        self._worker: Optional[threading.Thread] = None

    def key_for(self, kid: Optional[str]) -> Any:
        key = self._lookup(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._lookup(kid)
            if key is None and time.monotonic() - self._fetched_at >= self.min_interval:
                self._fetch()
                key = self._lookup(kid)
        if key is None:
            raise AuthFailure('the token was signed with an unknown key', 'bearer')
        return key

    def _lookup(self, kid: Optional[str]) -> Any:
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return self.keys.get(kid)

    def _fetch(self) -> None:
        """Refresh the keys, waiting at most ``timeout`` seconds in all (a slow provider
        keeps its download thread, never a request)."""
        self._fetched_at = time.monotonic()
        if self._worker is not None and self._worker.is_alive():
            return
        result: Dict[str, Any] = {}
        worker = threading.Thread(target=self._download, args=(result,), name='canister-jwks', daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            self._worker = worker
            self.log.write(logging.WARNING, 'Cannot fetch the JWKS keys: no complete answer within %gs' % self.timeout)
        elif 'error' in result:
            self.log.write(logging.WARNING, 'Cannot fetch the JWKS keys: %s' % _escape(str(result['error']))[:200])
        else:
            self.keys = result['keys']
            self.log.write(logging.INFO, 'Fetched %d signing keys from the JWKS URL' % len(self.keys))

    def _download(self, result: Dict[str, Any]) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            chunks: List[bytes] = []
            with urllib.request.urlopen(self.url, timeout=self.timeout) as answer:
                while sum(map(len, chunks)) <= 1024 * 1024 and time.monotonic() < deadline:
                    chunk = answer.read(16384)
                    if not chunk:
                        break
                    chunks.append(chunk)
                else:
                    raise ValueError('the JWKS answer is too large or too slow')
            document = json.loads(b''.join(chunks))
            keys = {}
            for entry in document.get('keys', []):
                if not isinstance(entry, dict) or entry.get('kty') not in ('RSA', 'EC', 'OKP'):
                    continue
                if entry.get('use', 'sig') != 'sig':
                    continue
                try:
                    keys[entry.get('kid')] = self.jwt.PyJWK(entry).key
                except Exception:
                    continue
            result['keys'] = keys
        except Exception as error:
            result['error'] = error


class JwtAuth:
    """Bearer tokens (JWT), signed with a shared secret or a provider's keys."""

    scheme = 'bearer'
    _SYMMETRIC = ('HS256', 'HS384', 'HS512')
    _ASYMMETRIC = ('RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA')

    def __init__(self, config: Config, log: RequestLog) -> None:
        self.jwt = jwt = _require('jwt', 'jwt')
        self.challenge = 'Bearer realm="%s"' % config['auth_realm'].replace('"', '')
        self.audience = config['auth_jwt_client_id'] or None
        self.issuer = config['auth_jwt_issuer'] or None
        self.leeway = config['auth_jwt_leeway']
        self.required = ['exp'] if config['auth_jwt_require_exp'] else []
        self.secret = self._secret(config['auth_jwt_secret'], config['auth_jwt_encoding'])
        self.public_key: Any = None
        if config['auth_jwt_public_key']:
            self.public_key = self._public_key(config['auth_jwt_public_key'])
        self.jwks = _Jwks(config['auth_jwt_jwks_url'], jwt, log) if config['auth_jwt_jwks_url'] else None
        default: Tuple[str, ...] = ()
        if self.secret:
            default += self._SYMMETRIC
        if self.public_key is not None or self.jwks is not None:
            default += self._ASYMMETRIC
        self.algorithms = frozenset(config['auth_jwt_algorithms'] or default)
        for algorithm in self.algorithms:
            if algorithm not in self._SYMMETRIC + self._ASYMMETRIC:
                raise ConfigError('canister.auth_jwt_algorithms: %r is not allowed (choose from %s)'
                                  % (algorithm, ', '.join(self._SYMMETRIC + self._ASYMMETRIC)))
            if algorithm in self._SYMMETRIC and not self.secret:
                raise ConfigError('canister.auth_jwt_algorithms: %s needs auth_jwt_secret' % algorithm)
            if algorithm not in self._SYMMETRIC and self.public_key is None and self.jwks is None:
                raise ConfigError('canister.auth_jwt_algorithms: %s needs auth_jwt_public_key '
                                  'or auth_jwt_jwks_url' % algorithm)

    @staticmethod
    def _secret(secret: str, encoding: str) -> bytes:
        if not secret or encoding == 'clear':
            return secret.encode('utf-8')
        padded = secret + '=' * (-len(secret) % 4)
        try:
            if encoding == 'base64url':
                return base64.urlsafe_b64decode(padded)
            return base64.b64decode(padded, validate=True)
        except (ValueError, binascii.Error):
            raise ConfigError('canister.auth_jwt_secret is not valid %s' % encoding) from None

    @staticmethod
    def _public_key(path: str) -> Any:
        _require('cryptography', 'jwt')
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        try:
            with open(path, 'rb') as handle:
                return load_pem_public_key(handle.read())
        except (OSError, ValueError) as error:
            raise ConfigError('canister.auth_jwt_public_key = %r: cannot load a PEM public key (%s)'
                              % (path, error)) from None

    def authenticate(self, token: str) -> Tuple[Any, float, str]:
        """Return (claims, expiry, subject to log) or raise :class:`AuthFailure`."""
        jwt = self.jwt
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure('the token is malformed', 'bearer') from None
        algorithm = header.get('alg') if isinstance(header, dict) else None
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise AuthFailure('the token algorithm %r is not accepted' % str(algorithm)[:20], 'bearer')
        if algorithm in self._SYMMETRIC:
            key: Any = self.secret
        elif self.public_key is not None and (self.jwks is None or 'kid' not in header):
            key = self.public_key
        elif self.jwks is not None:
            key = self.jwks.key_for(header.get('kid'))
        else:
            raise AuthFailure('no key for this token', 'bearer')
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={'require': self.required,
                                                             'verify_aud': self.audience is not None})
        except jwt.ExpiredSignatureError:
            raise AuthFailure('the token has expired', 'bearer') from None
        except jwt.InvalidAudienceError:
            raise AuthFailure('the token is not for this audience', 'bearer') from None
        except jwt.InvalidIssuerError:
            raise AuthFailure('the token is from another issuer', 'bearer') from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure('the token is not valid yet', 'bearer') from None
        except jwt.InvalidSignatureError:
            raise AuthFailure('the token signature is invalid', 'bearer') from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthFailure('the token lacks the %s claim' % error.claim, 'bearer') from None
        except Exception as error:
            raise AuthFailure('the token is invalid (%s)' % type(error).__name__, 'bearer') from None
        if not isinstance(claims, dict):
            raise AuthFailure('the token payload is not an object', 'bearer')
        exp = claims.get('exp')
        expires = float(min(exp, 2 ** 53)) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else 0.0
        return claims, expires, str(claims.get('sub', '?'))


class _Throttle:
    """Counts failed logins per client; too many in a minute means 429 for a while."""

    def __init__(self, max_failures: int, window: float = 60.0, max_clients: int = 10000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._failures: 'collections.OrderedDict[str, collections.deque[float]]' = collections.OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds the client must wait, or 0 if it may try now."""
        with self._lock:
            times = self._failures.get(client)
            if not times:
                return 0
            now = time.monotonic()
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.max_failures:
                return 0
            return max(int(times[0] + self.window - now) + 1, 1)

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._failures.pop(client, None) or collections.deque(maxlen=self.max_failures)
            times.append(time.monotonic())
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


class Authenticator:
    """Reads the Authorization header for the schemes canister is configured for."""

    def __init__(self, config: Config, log: RequestLog) -> None:
        self.log = log
        self.schemes: Dict[str, Any] = {}
        if config['auth_basic_username'] or config['auth_basic_users_file']:
            self.schemes['basic'] = BasicAuth(config, log)
        if config['auth_jwt_secret'] or config['auth_jwt_public_key'] or config['auth_jwt_jwks_url']:
            self.schemes['bearer'] = JwtAuth(config, log)
        self.challenges = [handler.challenge for handler in self.schemes.values()]
        self.throttle = _Throttle(config['auth_max_failures'])

    def __bool__(self) -> bool:
        return bool(self.schemes)

    def check(self, context: _RequestContext, header: str) -> None:
        """Log in the header's user, or raise the 401/429 answer."""
        scheme, _, credentials = header.strip().partition(' ')
        handler = self.schemes.get(scheme.lower())
        if handler is None:
            return  # a scheme the app handles itself
        wait = self.throttle.retry_after(context.client)
        if wait:
            self.log.write(logging.WARNING, 'Too many failed logins from %s: refused for %ds' % (context.client, wait))
            raise _error_response(429, 'Too many failed login attempts: retry in %d seconds' % wait,
                                  {'Retry-After': str(wait)})
        credentials = credentials.strip()
        try:
            if not credentials or ' ' in credentials:
                raise AuthFailure('the Authorization header must be "%s <credentials>"' % handler.scheme.title(),
                                  handler.scheme)
            user, expires, shown = handler.authenticate(credentials)
        except AuthFailure as failure:
            self.throttle.failed(context.client)
            self.log.write(logging.WARNING, 'Authentication failed: %s' % failure.reason)
            raise self.unauthorized('Authentication failed: %s' % failure.reason, failure) from None
        if context.set_user(user, expires, remember=False):
            self.log.write(logging.INFO, 'Logged in as: %s' % shown)

    def unauthorized(self, message: str, failure: Optional[AuthFailure] = None) -> bottle.HTTPResponse:
        """A 401 answer with the challenges of the configured schemes."""
        challenges = list(self.challenges)
        if failure is not None and failure.scheme == 'bearer':
            description = re.sub(r'[^ -~]|["\\]', '', failure.reason)
            challenges = [c + ', error="invalid_token", error_description="%s"' % description
                          if c.startswith('Bearer') else c for c in challenges]
        response = _error_response(401, message)
        for challenge in challenges:
            response.add_header('WWW-Authenticate', challenge)
        return response


def _current_authenticator() -> Optional[Authenticator]:
    context = _local.context
    plugin = context.plugin if context is not None else None
    return plugin.auth if plugin is not None else None


def require(predicate: Callable[[Any], bool],
            message: str = 'Forbidden') -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a handler: 401 if nobody is logged in, 403 if ``predicate(session.user)`` is false."""
    def decorate(callback: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = session.user
            if user is None:
                auth = _current_authenticator()
                if auth is not None:
                    raise auth.unauthorized('Authentication required')
                raise _error_response(401, 'Authentication required')
            if not predicate(user):
                raise _error_response(403, message)
            return callback(*args, **kwargs)
        return guarded
    return decorate


def require_user(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a handler so that it answers 401 unless a user is logged in."""
    return require(lambda user: True)(callback)


###############################################################################
# CORS and CSRF ###############################################################
###############################################################################

ACL_ORIGIN = 'Access-Control-Allow-Origin'
ACL_CREDENTIALS = 'Access-Control-Allow-Credentials'
ACL_METHODS = 'Access-Control-Allow-Methods'
ACL_HEADERS = 'Access-Control-Allow-Headers'
ACL_EXPOSE = 'Access-Control-Expose-Headers'
ACL_MAX_AGE = 'Access-Control-Max-Age'
_DEFAULT_PORTS = {'http': '80', 'https': '443'}
_UNSAFE_METHODS = frozenset(('POST', 'PUT', 'PATCH', 'DELETE'))
_ALL_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    origin = origin.strip().lower().rstrip('/')
    scheme, sep, host = origin.partition('://')
    if sep and host.endswith(':' + _DEFAULT_PORTS.get(scheme, '-')):
        host = host.rsplit(':', 1)[0]
    return scheme + sep + host


def _merge_header(headers: Headers, name: str, token: str) -> None:
    """Add a token to a comma-separated header such as Vary, once."""
    lowered = name.lower()
    for index, (key, value) in enumerate(headers):
        if key.lower() == lowered:
            if token.lower() not in [part.strip().lower() for part in value.split(',')]:
                headers[index] = (key, value + ', ' + token)
            return
    headers.append((name, token))


def _security_headers(config: Mapping[str, Any]) -> Tuple[Headers, Headers]:
    """The security headers of every answer, as configured: over HTTP, and over HTTPS."""
    headers: Headers = []
    for key, name in (('x_content_type_options', 'X-Content-Type-Options'), ('x_frame_options', 'X-Frame-Options'),
                      ('referrer_policy', 'Referrer-Policy'), ('content_security_policy', 'Content-Security-Policy')):
        if config[key]:
            headers.append((name, config[key]))
    https = list(headers)
    if config['hsts_max_age']:
        hsts = 'max-age=%d' % config['hsts_max_age']
        https.append(('Strict-Transport-Security',
                      hsts + '; includeSubDomains' if config['hsts_include_subdomains'] else hsts))
    return headers, https


_header_name = operator.itemgetter(0)


def _add_absent(headers: Headers, extra: Headers, names: typing.AbstractSet[str]) -> None:
    """Add the ``extra`` headers (whose names are ``names``) that ``headers`` does not have yet.

    Names are compared as written: Bottle writes every header name in Title-Case, as canister does.
    """
    if names.isdisjoint(map(_header_name, headers)):
        headers += extra
    else:
        present = {name for name, _ in headers}
        headers.extend(header for header in extra if header[0] not in present)


class CorsPolicy:
    """Which origins may call the app from a browser, and the headers that say so."""

    def __init__(self, config: Config) -> None:
        origins = config['cors']
        self.any_origin = '*' in origins
        self.credentials = config['cors_credentials']
        if self.any_origin and self.credentials:
            raise ConfigError('canister.cors = * cannot be combined with cors_credentials = true: '
                              'list the allowed origins explicitly')
        self.origins = frozenset(_normal_origin(o) for o in origins if o != '*' and '*' not in o)
        patterns = []
        for origin in origins:
            if origin != '*' and '*' in origin:
                scheme, sep, host = _normal_origin(origin).partition('://')
                if not sep or not host.startswith('*.') or '*' in host[2:]:
                    raise ConfigError('canister.cors: %r is not valid: a wildcard must look like '
                                      'https://*.example.com' % origin)
                patterns.append(re.escape(scheme + '://') + r'[a-z0-9-]+(?:\.[a-z0-9-]+)*' + re.escape(host[1:]))
        self.pattern = re.compile('|'.join('(?:%s)' % p for p in patterns)) if patterns else None
        self.methods = tuple(m.upper() for m in config['cors_methods'])
        self.any_header = '*' in config['cors_headers']
        self.allowed_headers = frozenset(h.lower() for h in config['cors_headers'])
        self.max_age = str(config['cors_max_age'])
        simple: Headers = []
        if self.credentials:
            simple.append((ACL_CREDENTIALS, 'true'))
        if config['cors_expose_headers']:
            simple.append((ACL_EXPOSE, ', '.join(config['cors_expose_headers'])))
        self._simple = simple
        self._any = [(ACL_ORIGIN, '*')] + simple

    def is_allowed_origin(self, origin: str) -> bool:
        """True for any origin with ``*``, else an exact match against the list."""
        return self.any_origin or self.is_listed_origin(origin)

    def is_listed_origin(self, origin: str) -> bool:
        """Exact, whole-string match against the list (``null`` only if listed)."""
        origin = _normal_origin(origin)
        if origin in self.origins:
            return True
        return self.pattern is not None and self.pattern.fullmatch(origin) is not None

    def apply(self, headers: Headers, origin: Optional[str]) -> None:
        """Add the CORS headers of a response, replacing any the app set itself."""
        if self.any_origin:
            if origin is None:  # no CORS headers, so a shared cache must not give this answer to a browser
                _merge_header(headers, 'Vary', 'Origin')
                return
            for name, _ in headers:
                if name == ACL_ORIGIN:  # the app set its own (Bottle writes header names in Title-Case)
                    headers[:] = [h for h in headers if h[0] != ACL_ORIGIN]
                    break
            headers.extend(self._any)
            return
        _merge_header(headers, 'Vary', 'Origin')
        headers[:] = [h for h in headers if h[0].lower() not in ('access-control-allow-origin',
                                                                   'access-control-allow-credentials')]
        if origin is None or not self.is_allowed_origin(origin):
            return
        headers.append((ACL_ORIGIN, origin))
        headers.extend(self._simple)

    def preflight(self, origin: str, requested: str, route_methods: Iterable[str]) -> Headers:
        """The headers of a 204 preflight answer for an allowed origin."""
        headers: Headers = [(ACL_ORIGIN, '*' if self.any_origin else origin)]
        if not self.any_origin:
            headers.append(('Vary', 'Origin'))
        if self.credentials:
            headers.append((ACL_CREDENTIALS, 'true'))
        allowed = [m for m in route_methods if not self.methods or m in self.methods]
        if allowed:
            headers.append((ACL_METHODS, ', '.join(allowed)))
        granted = [h.strip() for h in requested.split(',') if h.strip()
                   and (self.any_header or h.strip().lower() in self.allowed_headers)]
        if granted:
            headers.append((ACL_HEADERS, ', '.join(granted)))
        headers.append((ACL_MAX_AGE, self.max_age))
        return headers


class CsrfGuard:
    """Refuses unsafe browser requests that come from a foreign origin.

    The browser's own word comes first: ``Sec-Fetch-Site`` (which no page can set) of
    ``same-origin`` or ``none`` (typed in, a bookmark) passes, and a ``same-site`` or
    ``cross-site`` request passes only from an origin listed in ``cors``.  Without that
    header (older browsers, non-browser clients) the ``Origin``, or else the ``Referer``,
    must be the app's own origin or a listed one.  With ``cors = *`` a foreign request also
    passes when a browser must have sent a preflight for it first (a method other than POST,
    or a content type a form cannot send), because ``*`` never grants credentials to a
    preflighted request.  A Bearer token exempts a request: a browser never adds one by itself,
    whereas it resends Basic, Digest, NTLM and Negotiate credentials on its own.
    """

    _FORM_TYPES = frozenset(('application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain', ''))
    #: ``Sec-Fetch-Site`` values of requests a page on another origin did not start.
    _OWN_SITES = frozenset(('same-origin', 'none'))
    #: ``Sec-Fetch-Site`` values of requests from another origin.
    _FOREIGN_SITES = frozenset(('same-site', 'cross-site'))

    def __init__(self, cors: Optional[CorsPolicy]) -> None:
        self.cors = cors

    def was_preflighted(self, environ: Mapping[str, Any]) -> bool:
        """True if no browser sends this request cross-origin without a preflight."""
        content_type = environ.get('CONTENT_TYPE', '').split(';')[0].strip().lower()
        return environ['REQUEST_METHOD'].upper() != 'POST' or content_type not in self._FORM_TYPES

    def refusal(self, environ: Dict[str, Any], own_origin: str) -> Optional[str]:
        """Why the request must be refused, or None if it may go on."""
        method = environ['REQUEST_METHOD'].upper()
        if method not in _UNSAFE_METHODS:
            return None
        authorization = environ.get('HTTP_AUTHORIZATION')
        if authorization and authorization.lstrip()[:7].lower() == 'bearer ':
            return None  # a token set by a script, which a browser never adds by itself
        site = environ.get('HTTP_SEC_FETCH_SITE', '').strip().lower()
        if site in self._OWN_SITES:
            return None
        foreign = site in self._FOREIGN_SITES
        origin = environ.get('HTTP_ORIGIN')
        if origin is None:
            referer = environ.get('HTTP_REFERER')
            if not referer:
                if not foreign:
                    return None
                origin = 'null'  # the browser says it is foreign but names no origin
            else:
                try:
                    parts = urllib.parse.urlsplit(referer)
                    origin = '%s://%s' % (parts.scheme, parts.netloc) if parts.scheme and parts.netloc else 'null'
                except ValueError:  # e.g. an unbalanced IPv6 bracket
                    origin = 'null'
        if not foreign and _normal_origin(origin) == own_origin:
            return None
        cors = self.cors
        if cors is not None and cors.is_listed_origin(origin):
            return None
        if cors is not None and cors.any_origin and self.was_preflighted(environ):
            return None
        return 'Cross-site request refused: origin %s may not send %s requests here' % (
            _escape(origin)[:100], _escape(method)[:20])


###############################################################################
# The Plugin ##################################################################
###############################################################################

_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")
_SECRET_QUERY = re.compile(r'(?i)(token|password|passwd|secret|key|auth|code|sig)')
_SECRET_NAME = re.compile(r'(?i)token|passw|secret|apikey|(^|[_.-])(key|code|auth|sig|signature|pwd)$')
_UNAVAILABLE = 'Service unavailable: the session store cannot be reached, retry shortly'
_CHUNKED_TOO_LARGE = 'Request body too large: more than %d bytes (chunked)'
_HTTP_STATUS = {400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden',
                404: '404 Not Found', 413: '413 Content Too Large', 429: '429 Too Many Requests',
                431: '431 Request Header Fields Too Large', 500: '500 Internal Server Error',
                503: '503 Service Unavailable', 204: '204 No Content'}


def _wants_json(environ: Mapping[str, Any]) -> bool:
    return 'application/json' in environ.get('HTTP_ACCEPT', '')


def _error_body(status: int, message: str, environ: Mapping[str, Any]) -> Tuple[bytes, str]:
    if _wants_json(environ):
        return (json.dumps({'error': _HTTP_STATUS.get(status, str(status))[4:], 'message': message}).encode(),
                'application/json')
    return (message + '\n').encode('utf-8'), 'text/plain; charset=utf-8'


def _error_answer(status: int, message: str, environ: Mapping[str, Any]) -> Tuple[Headers, bytes]:
    """Headers and body of an error canister answers itself, outside Bottle."""
    body, content_type = _error_body(status, message, environ)
    return [('Content-Type', content_type), ('Content-Length', str(len(body)))], body


def _error_response(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> bottle.HTTPResponse:
    """An error answer with a plain message (JSON if the client accepts JSON), not an HTML page."""
    body, content_type = _error_body(status, message, bottle.request.environ)
    response = bottle.HTTPResponse(body, status=status, headers=headers)
    response.content_type = content_type
    return response


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split('&'):
        name, sep, value = part.partition('=')
        parts.append(name + sep + '***' if sep and _SECRET_NAME.search(urllib.parse.unquote_plus(name)) else part)
    return '&'.join(parts)


class _Proxies:
    """Decides whose X-Forwarded-* headers to believe."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = []
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ConfigError('canister.trusted_proxies: %r is not an IP address or network' % entry) from None
        self._cache: Dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def is_trusted(self, address: str) -> bool:
        known = self._cache.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
                known = any(ip in network for network in self.networks)
            except ValueError:
                known = False
            if len(self._cache) < 4096:
                self._cache[address] = known
        return known

    def client(self, environ: Mapping[str, Any], peer: str) -> str:
        """The client address: the last X-Forwarded-For entry not added by a trusted proxy."""
        if not self.is_trusted(peer):
            return peer
        chain = [entry.strip() for entry in environ.get('HTTP_X_FORWARDED_FOR', '').split(',') if entry.strip()]
        for entry in reversed(chain):
            if not self.is_trusted(entry):
                return _escape(entry)[:64]
        return peer


class Canister:
    """The Bottle plugin: ``app.install(Canister())``.

    Keyword arguments override the ``canister.*`` config keys of the app; ``store``
    may be a :class:`SessionStore` instance to keep sessions elsewhere.
    """

    name = 'canister'
    api = 2

    def __init__(self, store: Optional[SessionStore] = None, **overrides: Any) -> None:
        self.overrides = overrides
        self.custom_store = store
        self.app: Optional[bottle.Bottle] = None
        self.config: Optional[Config] = None
        self.auth: Optional[Authenticator] = None

    # -- install -----------------------------------------------------------
    def setup(self, app: bottle.Bottle) -> None:
        """Parse and check the config, open the log and the store, wrap the app."""
        for other in list(app.plugins):
            if isinstance(other, Canister):
                if other is self:
                    app.plugins.remove(self)  # installed again: Bottle appends it once more
                    self.close()
                else:
                    app.uninstall(other)
        config = self.config = Config.from_app(app.config, self.overrides)
        self.proxies = _Proxies(config['trusted_proxies'])
        self.has_proxies = bool(self.proxies)
        self.cors = CorsPolicy(config) if config['cors'] else None
        self.csrf = CsrfGuard(self.cors) if config['csrf'] else None
        self.security_plain, self.security_https = _security_headers(config)
        self.security_names = frozenset(name for name, _ in self.security_https)
        self.log = RequestLog(app, config)
        try:
            self.log.banner(config)
            for warning in config.warnings:
                self.log.logger.warning(warning)
            self.sessions = SessionManager(config, self.custom_store, self.log)
            problem = self.sessions.store.check()
            if problem:
                self.log.logger.warning('The session store is unreachable for now (%s); requests that '
                                        'need a session answer 503 until it is back', problem)
            self.auth = Authenticator(config, self.log) or None
        except Exception as error:
            self.log.logger.error('Install failed: %s', error)
            self.close()
            raise
        self.max_body_size = config['max_body_size']
        self.max_header_size = config['max_header_size']
        self.slow = config['log_slow']
        self.app = app
        self._inner = app.wsgi
        app.__dict__['wsgi'] = self.wsgi  # bottle 0.13 refuses plain assignment of existing names
        app.__dict__['log'] = self.log.logger

    def close(self) -> None:
        """Uninstall: give the app its own WSGI entry back and release the store."""
        if self.app is not None and self.app.__dict__.get('wsgi') == self.wsgi:
            del self.app.wsgi
        if self.custom_store is None and getattr(self, 'sessions', None) is not None:
            self.sessions.store.close()
        if getattr(self, 'log', None) is not None:
            self.log.close()

    # -- per route ---------------------------------------------------------
    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        """Wrap a route once: parameters bound as its signature says, auth checked."""
        try:
            binder: Optional[ParameterBinder] = ParameterBinder(route.callback, route.rule)
        except (TypeError, ValueError):  # a callable without an inspectable signature
            binder = None
        bind = binder.bind if binder else None
        log = self.log
        auth = self.auth  # apply runs after setup (installing again resets every route)

        def canister_route(*args: Any, **url_args: Any) -> Any:
            context = _local.context
            if context is None:  # canister's entry did not run (the app is mounted or merged into another)
                return self._serve(canister_route, args, url_args)
            if auth is not None:
                header = context.environ.get('HTTP_AUTHORIZATION')
                if header:
                    try:
                        auth.check(context, header)
                    except StoreUnavailable as error:
                        raise self._unavailable(error) from None
            if bind is not None:
                try:
                    url_args = bind(url_args)
                except BadRequest as error:
                    message = 'Bad request: %s' % error if error.status == 400 else str(error)
                    log.write(logging.WARNING, message)
                    raise _error_response(error.status, message) from None
            try:
                result = callback(*args, **url_args)
            except bottle.HTTPResponse:
                raise
            except StoreUnavailable as error:
                raise self._unavailable(error) from None
            except Exception:
                if log.enabled(logging.ERROR):
                    log.logger.exception('Unhandled exception in %s %s', route.method, route.rule)
                context.error_logged = True
                raise
            if type(result) is types.GeneratorType:
                return _StreamedBody(result, context, self, route)
            return result
        return canister_route

    def _unavailable(self, error: Exception) -> bottle.HTTPResponse:
        self.log.write(logging.ERROR, str(error))
        return _error_response(503, _UNAVAILABLE)

    # -- per request -------------------------------------------------------
    def wsgi(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The app's WSGI entry: logging, limits, CORS, CSRF and sessions around Bottle."""
        # Every request runs this: it is written for speed (locals, attributes set on a bare
        # context, no call that only some requests need).
        outer_context = _local.context
        if outer_context is not None and outer_context.environ is environ:
            return self._inner(environ, start_response)  # mounted in another canister app, whose entry runs
        log = self.log
        started = time.perf_counter() if log.level <= logging.ERROR else 0.0
        peer = environ.get('REMOTE_ADDR') or '-'
        trusted = self.has_proxies and self.proxies.is_trusted(peer)
        if trusted:
            client = self.proxies.client(environ, peer)
            scheme = (environ.get('HTTP_X_FORWARDED_PROTO', '').split(',')[-1].strip().lower()
                      or environ.get('wsgi.url_scheme', 'http'))
        else:
            client = peer
            scheme = environ.get('wsgi.url_scheme', 'http')
        rid = environ.get('HTTP_X_REQUEST_ID')
        if rid is None or not _REQUEST_ID.fullmatch(rid):
            rid = _ID_PREFIX + str(next(_ID_COUNTER))
        environ['canister.request_id'] = rid
        cookie = environ.get('HTTP_COOKIE')
        method = environ.get('REQUEST_METHOD', 'GET').upper()
        origin = environ.get('HTTP_ORIGIN')
        context = _RequestContext()
        context.environ = environ
        context.plugin = self
        context.manager = self.sessions
        context.client = client
        context.request_id = rid
        context.server_start_response = start_response
        context.origin = origin
        if scheme == 'https':
            context.https = True
        _local.context = context
        thread: Any = threading.current_thread()
        thread_name = thread._name  # the attribute behind Thread.name (its setter only adds checks)
        cookie_sid = context.cookie_sid = self.sessions.cookie_sid(cookie) if cookie is not None else None
        thread._name = client + ('-' + cookie_sid[:6] if cookie_sid else '-...')
        preflight = (method == 'OPTIONS' and origin is not None and self.cors is not None
                     and 'HTTP_ACCESS_CONTROL_REQUEST_METHOD' in environ)
        if log.level <= logging.INFO:
            log.write(logging.DEBUG if preflight else logging.INFO,
                      '%s %s' % (_escape(method), self._url(environ, scheme, self._host(environ, trusted))), rid)
        try:
            answer = None  # only these requests can be answered before Bottle sees them:
            if (method in _UNSAFE_METHODS or environ.get('CONTENT_LENGTH') or 'HTTP_AUTHORIZATION' in environ
                    or 'HTTP_TRANSFER_ENCODING' in environ or preflight
                    or (cookie is not None and len(cookie) > self.max_header_size)):
                answer = self._early(environ, method, scheme, trusted, preflight, origin)
            if answer is None:
                result = self._inner(environ, context.start_response)
                if context.replaced is not None:  # the session could not be saved: that answer instead
                    close = getattr(result, 'close', None)
                    if close is not None:
                        close()
                    result = context.replaced
            else:
                code, headers, body = answer
                context.code = code
                if self.cors is not None and code != 204:
                    self.cors.apply(headers, origin)
                headers.append(('X-Request-ID', rid))
                if self.security_names:
                    _add_absent(headers, self.security_https if scheme == 'https' else self.security_plain,
                                self.security_names)
                start_response(_HTTP_STATUS.get(code, str(code)), headers)
                result = [body]
        except BaseException:
            if not context.error_logged and log.enabled(logging.ERROR):
                log.logger.exception('Unhandled exception')
            log.write(logging.ERROR, 'Response: 500 (%dms)' % ((time.perf_counter() - started) * 1000), rid)
            raise
        else:
            if log.level <= logging.ERROR:
                elapsed = time.perf_counter() - started
                code = context.code
                if code >= 500:
                    level = logging.ERROR
                elif self.slow and elapsed >= self.slow:
                    level = logging.WARNING
                else:
                    level = logging.DEBUG if preflight else logging.INFO
                if level >= log.level:
                    log.write(level, 'Response: %d (%dms)' % (code, elapsed * 1000), rid)
            return result
        finally:
            thread._name = thread_name
            _local.context = outer_context

    def _early(self, environ: Dict[str, Any], method: str, scheme: str, trusted: bool, preflight: bool,
               origin: Optional[str]) -> Optional[Tuple[int, Headers, bytes]]:
        """The answer to a request canister handles before Bottle sees it, if it is one."""
        answer = self._refusal(environ, method, scheme, trusted)
        if (answer is None and 'HTTP_TRANSFER_ENCODING' in environ and not environ.get('CONTENT_LENGTH')
                and 'wsgi.input' in environ):
            if environ.get('wsgi.input_terminated'):
                answer = self._buffer_body(environ)
            else:
                environ['wsgi.input'] = _LimitedInput(environ['wsgi.input'], self.max_body_size, self.log)
        if answer is None and preflight:
            answer = self._preflight(environ, origin or '')
        return answer

    def _host(self, environ: Mapping[str, Any], trusted: bool) -> str:
        host = environ.get('HTTP_X_FORWARDED_HOST', '').split(',')[-1].strip() if trusted else ''
        if not host:
            host = environ.get('HTTP_HOST') or '%s:%s' % (environ.get('SERVER_NAME', ''),
                                                          environ.get('SERVER_PORT', ''))
        return host

    @staticmethod
    def _url(environ: Mapping[str, Any], scheme: str, host: str) -> str:
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        if not _PLAIN_PATH.fullmatch(path):
            path = urllib.parse.quote(path.encode('latin1', 'replace'), safe="/:@!$&'()*+,;=-._~")
        url = '%s://%s%s' % (scheme, host, path)
        query = environ.get('QUERY_STRING')
        if query:
            if not query.isascii() or not query.isprintable():
                query = urllib.parse.quote(query.encode('latin1', 'replace'), safe="=&%+;/:@,-._~")
            if _SECRET_QUERY.search(query):
                query = _redact_query(query)
            url += '?' + query
        return url

    def _refusal(self, environ: Dict[str, Any], method: str, scheme: str,
                 trusted: bool) -> Optional[Tuple[int, Headers, bytes]]:
        """An early answer for a request canister refuses before Bottle sees it."""
        length = environ.get('CONTENT_LENGTH')
        if length:
            if not (length.isascii() and length.isdigit()):
                return self._plain(400, 'Bad request: invalid Content-Length', environ)
            if int(length) > self.max_body_size:
                return self._plain(413, 'Request body too large: %s bytes, the limit is %d'
                                   % (length, self.max_body_size), environ)
        for header in ('HTTP_AUTHORIZATION', 'HTTP_COOKIE'):
            value = environ.get(header)
            if value is not None and len(value) > self.max_header_size:
                return self._plain(431, 'Request header %s too large: the limit is %d bytes'
                                   % (header[5:].title(), self.max_header_size), environ)
        if self.csrf is not None and method in _UNSAFE_METHODS:
            reason = self.csrf.refusal(environ, _normal_origin(scheme + '://' + self._host(environ, trusted)))
            if reason is not None:
                return self._plain(403, reason, environ)
        return None

    def _buffer_body(self, environ: Dict[str, Any]) -> Optional[Tuple[int, Headers, bytes]]:
        """Read a body the server has already de-chunked (``wsgi.input_terminated``), up to the limit.

        Such servers (gunicorn) keep the ``Transfer-Encoding: chunked`` header without a
        Content-Length, and Bottle would then parse chunk framing that is no longer there
        (a 400).  Canister hands Bottle the body with its length instead.
        """
        stream = environ['wsgi.input']
        body = tempfile.SpooledTemporaryFile(max_size=bottle.BaseRequest.MEMFILE_MAX)
        size = 0
        try:
            while True:
                chunk = stream.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_body_size:
                    body.close()
                    return self._plain(413, _CHUNKED_TOO_LARGE % self.max_body_size, environ)
                body.write(chunk)
        except (OSError, ValueError) as error:
            body.close()
            return self._plain(400, 'Bad request: the body could not be read (%s)' % type(error).__name__, environ)
        body.seek(0)
        environ['wsgi.input'] = body
        environ['CONTENT_LENGTH'] = str(size)
        del environ['HTTP_TRANSFER_ENCODING']
        return None

    def _plain(self, code: int, message: str, environ: Mapping[str, Any]) -> Tuple[int, Headers, bytes]:
        self.log.write(logging.WARNING, message)
        headers, body = _error_answer(code, message, environ)
        return code, headers, body

    def _preflight(self, environ: Dict[str, Any], origin: str) -> Optional[Tuple[int, Headers, bytes]]:
        """Answer a CORS preflight for a routed path, without calling the handler."""
        assert self.cors is not None and self.app is not None
        path = environ.get('PATH_INFO', '') or '/'
        try:
            path = path.encode('latin1').decode('utf-8')
        except UnicodeError:
            return None
        try:
            self.app.router.match({'REQUEST_METHOD': 'CANISTER-PROBE', 'PATH_INFO': path})
            methods: Iterable[str] = self.cors.methods or _ALL_METHODS
        except bottle.HTTPError as error:
            if error.status_code != 405:
                return None  # not routed: Bottle answers 404 (with CORS headers)
            methods = [m.strip() for m in error.headers.get('Allow', '').split(',') if m.strip()]
        if not self.cors.is_allowed_origin(origin):
            return self._plain(403, 'CORS preflight refused: origin %s is not allowed' % _escape(origin)[:100],
                               environ)
        requested = environ.get('HTTP_ACCESS_CONTROL_REQUEST_HEADERS', '')
        headers = self.cors.preflight(origin, requested, methods)
        headers.append(('Content-Length', '0'))
        return 204, headers, b''

    # -- a route whose app's entry did not run -----------------------------
    def _serve(self, route_call: Callable[..., Any], args: Tuple[Any, ...], url_args: Dict[str, Any]) -> Any:
        """Do the entry's work around one route call, for a request that reached this app's route
        without passing through its WSGI entry: Bottle 0.13's ``mount`` and ``merge`` (both
        versions) copy a child app's routes into a parent, whose own entry then serves them.

        The context lives for this call only (and for the steps of a streamed body), so nothing
        of this request stays in the thread's slot for the next one.  The answer's headers are
        finished on the response Bottle will send: the one raised or returned, or ``bottle.response``.
        """
        environ = bottle.request.environ
        log = self.log
        started = time.perf_counter()
        peer = environ.get('REMOTE_ADDR') or '-'
        trusted = self.has_proxies and self.proxies.is_trusted(peer)
        scheme = environ.get('wsgi.url_scheme', 'http')
        client = peer
        if trusted:
            client = self.proxies.client(environ, peer)
            scheme = environ.get('HTTP_X_FORWARDED_PROTO', '').split(',')[-1].strip().lower() or scheme
        rid = environ.get('HTTP_X_REQUEST_ID')
        if rid is None or not _REQUEST_ID.fullmatch(rid):
            rid = _ID_PREFIX + str(next(_ID_COUNTER))
        environ['canister.request_id'] = rid
        method = environ.get('REQUEST_METHOD', 'GET').upper()
        cookie = environ.get('HTTP_COOKIE')
        context = _RequestContext()
        context.environ, context.plugin, context.manager = environ, self, self.sessions
        context.client, context.request_id, context.origin = client, rid, environ.get('HTTP_ORIGIN')
        context.https = scheme == 'https'
        cookie_sid = context.cookie_sid = self.sessions.cookie_sid(cookie) if cookie is not None else None
        thread: Any = threading.current_thread()
        thread_name = thread._name
        thread._name = client + ('-' + cookie_sid[:6] if cookie_sid else '-...')
        _local.context = context
        code = 500
        if log.level <= logging.INFO:
            log.write(logging.INFO, '%s %s' % (_escape(method), self._url(environ, scheme, self._host(environ, trusted))),
                      rid)
        try:
            answer = self._early(environ, method, scheme, trusted, False, context.origin)
            if answer is not None:
                code, headers, body = answer
                raise bottle.HTTPResponse(body, status=code, headers=headers)
            result = route_call(*args, **url_args)
            target = result if isinstance(result, bottle.HTTPResponse) else bottle.response
            code, sent = self._finish_answer(context, target)
            return result if sent is target else sent
        except bottle.HTTPResponse as raised:
            code, sent = self._finish_answer(context, raised)
            if sent is raised:
                raise
            raise sent from None
        finally:
            if log.level <= logging.ERROR:
                elapsed = time.perf_counter() - started
                level = (logging.ERROR if code >= 500 else logging.WARNING if self.slow and elapsed >= self.slow
                         else logging.INFO)
                if level >= log.level:
                    log.write(level, 'Response: %d (%dms)' % (code, elapsed * 1000), rid)
            thread._name = thread_name
            _local.context = None

    @staticmethod
    def _finish_answer(context: _RequestContext, answer: Any) -> Tuple[int, Any]:
        """Finish the headers of the Bottle response ``answer`` as the entry's ``start_response``
        does (session, CORS, request id, security headers); return its status code, and the answer
        to send instead if the session could not be saved (else ``answer`` itself)."""
        sent: List[Tuple[str, Headers]] = []
        context.server_start_response = lambda status_line, headers, exc_info=None: sent.append(
            (status_line, headers))
        context.start_response(answer.status_line, list(answer.headers.allitems()))
        status_line, headers = sent[0]
        if context.replaced is not None:
            answer = bottle.HTTPResponse(context.replaced[0], status=status_line)
        answer.headers.dict.clear()
        for name, value in headers:
            answer.add_header(name, value)
        return context.code, answer


class _RequestContext(SessionState):
    """Everything canister knows about the request a thread is serving, and its answer's last step.

    It is the request's session state too (one object per request): the entry sets the
    attributes a request needs, the others keep their class-level defaults.
    """

    environ: Dict[str, Any] = {}
    request_id = ''
    plugin: Optional[Canister] = None
    server_start_response: Optional[Callable[..., Any]] = None
    https = False
    origin: Optional[str] = None
    error_logged = False
    code = 0
    #: The body of an error answer that replaced Bottle's (the session could not be saved).
    replaced: Optional[List[bytes]] = None
    #: The handler returned a generator: its body runs after the entry returns (_StreamedBody).
    streamed = False
    #: The thread's name while it serves this request.
    thread_name = ''

    def start_response(self, status_line: str, headers: Headers, exc_info: Any = None) -> Any:
        """Bottle's answer on its way to the server: save the session, add CORS and the request id."""
        code = self.code = int(status_line[:3])
        plugin = self.plugin
        assert plugin is not None
        if self.loaded and code < 500:
            try:
                self.finish(headers, self.https)
            except (StoreUnavailable, SessionDataError) as error:
                log = plugin.log
                if isinstance(error, StoreUnavailable):
                    log.write(logging.ERROR, str(error), self.request_id)
                    code, message = 503, _UNAVAILABLE
                else:
                    log.write(logging.ERROR, 'Session not saved: %s' % error, self.request_id)
                    code, message = 500, 'Internal server error: the session could not be saved: %s' % error
                self.code = code
                headers, body = _error_answer(code, message, self.environ)
                self.replaced = [body]
                status_line = _HTTP_STATUS[code]
        if self.streamed:  # the handler's generator goes on after the entry returns (_StreamedBody)
            self.thread_name = threading.current_thread().name
            if self.loaded and self.replaced is None and code < 500:
                self.settle()
        if plugin.cors is not None:
            plugin.cors.apply(headers, self.origin)
        headers.append(('X-Request-ID', self.request_id))
        if plugin.security_names:
            _add_absent(headers, plugin.security_https if self.https else plugin.security_plain, plugin.security_names)
        assert self.server_start_response is not None
        return self.server_start_response(status_line, headers, exc_info)


class _StreamedBody:
    """A handler's generator, which the server iterates after canister's entry has returned.

    Each step runs with its request's context again (session, request id, thread name),
    an exception while streaming is logged, and session changes made after the answer
    started are saved when the server closes the body (see ``SessionState.finish_late``).
    """

    def __init__(self, body: Any, context: _RequestContext, plugin: Canister, route: bottle.Route) -> None:
        self.body = body
        self.context = context
        self.plugin = plugin
        self.route = route
        context.streamed = True

    def __iter__(self) -> _StreamedBody:
        return self

    def __next__(self) -> Any:
        return self._run(next, self.body)

    def close(self) -> None:
        """The server is done: end the handler's generator, then save what it changed."""
        self._run(self._close)

    def _close(self) -> None:
        self.body.close()
        context = self.context
        if context.replaced is not None or not 0 < context.code < 500:
            return  # an error answer, or closed before the answer started (HEAD, 204, 304): finish() saves
        log = self.plugin.log
        try:
            problem = context.finish_late()
        except (StoreUnavailable, SessionDataError) as error:
            log.write(logging.ERROR, 'Session not saved after the streamed answer: %s' % error, context.request_id)
            return
        if problem:
            log.write(logging.WARNING, 'Session: %s' % problem, context.request_id)

    def _run(self, step: Callable[..., Any], *args: Any) -> Any:
        context = self.context
        outer = _local.context
        if outer is context:  # still inside the entry (Bottle takes the first chunk there)
            return step(*args)
        thread: Any = threading.current_thread()
        thread_name = thread._name
        _local.context = context
        thread._name = context.thread_name or thread_name
        try:
            return step(*args)
        except StopIteration:
            raise
        except Exception:
            log = self.plugin.log
            if log.enabled(logging.ERROR):
                log.logger.exception('Unhandled exception while streaming %s %s', self.route.method, self.route.rule)
            raise
        finally:
            thread._name = thread_name
            _local.context = outer


class _LimitedInput:
    """A request body of unknown length (chunked) that answers 413 once it passes the limit.

    Bottle reads such a body whole before a handler sees it; counting the bytes as
    they arrive (chunk framing included) stops a client from streaming gigabytes in.
    """

    def __init__(self, stream: Any, limit: int, log: RequestLog) -> None:
        self.stream = stream
        self.limit = limit
        self.log = log
        self.count = 0

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            message = _CHUNKED_TOO_LARGE % self.limit
            self.log.write(logging.WARNING, message)
            raise _error_response(413, message)
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - self.count
        return self._counted(self.stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - self.count
        return self._counted(self.stream.readline(size))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


#: Generated request ids: this prefix, random per process, then a counter (the entry writes it inline).
_ID_PREFIX = secrets.token_hex(4) + '-'
_ID_COUNTER = itertools.count(1)


###############################################################################
# Command Line ################################################################
###############################################################################

def _demo_app(config_file: Optional[str]) -> bottle.Bottle:
    """A small app that shows every feature."""
    app = bottle.Bottle()
    overrides: Dict[str, Any] = {}
    if config_file:
        app.config.load_config(config_file)
    else:
        overrides = {'log_path': 'stderr', 'cors': '*', 'auth_basic_username': 'alice',
                     'auth_basic_password': hashlib.sha256(b'my-secret').hexdigest(),
                     'auth_basic_encryption': 'sha256'}
    app.install(Canister(**overrides))

    @app.get('/')
    def index(foo: Optional[str] = None) -> str:
        if 'counter' in session.data:
            session.data['counter'] += 1
        else:
            session.data['counter'] = 0
        return ('<pre>\nSession sid: %s\nSession user: %s\nSession data: %s\n"?foo=...": %s\n</pre>\n'
                '<p>Try <a href="/hi?foo=John&bar=Smith">/hi?foo=John&amp;bar=Smith</a>, '
                '<a href="/api/sum?a=1&a=2&a=3">/api/sum?a=1&amp;a=2&amp;a=3</a>, or '
                '<code>curl -u alice:my-secret http://HOST/api/me</code></p>'
                % tuple(bottle.html_escape(str(v)) for v in (session.sid[:6] + '...', session.user,
                                                             session.data, foo)))

    @app.get('/hi')
    def hello(foo: str, bar: str = '') -> str:
        return 'Hi %s and %s!' % (foo, bar) if bar else 'Hi %s!' % foo

    @app.get('/api/sum')
    def total(a: List[float]) -> Dict[str, Any]:
        return {'sum': sum(a), 'request_id': request_id()}

    @app.post('/api/echo')
    def echo(message: str, times: int = 1) -> Dict[str, Any]:
        return {'echo': [message] * min(times, 10)}

    @app.get('/api/me')
    @require_user
    def me() -> Dict[str, Any]:
        return {'user': session.user}

    @app.get('/logout')
    def logout() -> str:
        session.invalidate()
        return 'Logged out.'

    return app


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m canister demo|hash-password``."""
    import argparse
    parser = argparse.ArgumentParser(prog='python -m canister', description='Canister %s' % __version__)
    commands = parser.add_subparsers(dest='command', required=True)
    demo = commands.add_parser('demo', help='serve a small app showing every feature')
    demo.add_argument('--config', help='an ini file with a [canister] section')
    demo.add_argument('--host', default='127.0.0.1')
    demo.add_argument('--port', type=int, default=8080)
    hasher = commands.add_parser('hash-password', help='hash a password for the config or the users file')
    hasher.add_argument('--scheme', choices=('pbkdf2', 'scrypt'), default='pbkdf2')
    hasher.add_argument('--user', help='print a users-file line for this user instead of a config line')
    args = parser.parse_args(argv)
    if args.command == 'hash-password':
        if sys.stdin.isatty():
            password = getpass.getpass('Password: ')
            if password != getpass.getpass('Again: '):
                print('The passwords differ.', file=sys.stderr)
                return 1
        else:
            password = sys.stdin.readline().rstrip('\r\n')
        if not password:
            print('An empty password is not allowed.', file=sys.stderr)
            return 1
        encoded = hash_password(password, args.scheme)
        print('%s:%s' % (args.user, encoded) if args.user else 'auth_basic_password = %s' % encoded)
        return 0
    app = _demo_app(args.config)
    print('Canister demo on http://%s:%d/ (Ctrl-C to stop)' % (args.host, args.port), flush=True)
    bottle.run(app, host=args.host, port=args.port, quiet=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
