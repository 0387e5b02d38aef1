"""Canister: what every Bottle app ends up writing by hand, as one plugin.

Install it once and a Bottle app gets:

* request logs in daily files (or a stream), with client and session on every line;
* handler arguments unpacked from the URL, query string, form or JSON body, converted
  by their annotations;
* server-side sessions behind an HTTP-only cookie, in memory, SQLite or Redis;
* authentication from the ``Authorization`` header (Basic, and Bearer JWT for OAuth2), and ``log_in``
  for a login form under the same login throttle;
* CORS for browser front ends and CSRF protection for cookie sessions;
* security headers on every response (nosniff, frame and referrer policies, optional HSTS and CSP).

Only ``bottle`` is required.  Optional: ``pip install 'PyJWT[crypto]>=2.12'`` for Bearer
tokens, ``pip install 'redis>=4.2'`` for the Redis session store (the ``jwt`` and ``redis``
extras of a canister checkout), ``bcrypt`` or ``argon2-cffi`` for such password hashes.

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


def _interrupted_loading(number: int, frame: Any) -> None:
    """The SIGINT handler of ``python -m canister`` until ``main`` runs (while Python imports the modules canister
    and bottle need, say), and once it has returned: a Ctrl-C exits with 130 and one line, as during a command
    (see Command Line), not with the KeyboardInterrupt's traceback and a death by signal.  If the line cannot be
    written (a broken pipe; a RuntimeError, the reentrant call Python's buffered stderr refuses should the Ctrl-C
    land inside a write to it), the exit is the same, without it.  (``os._exit`` flushes
    nothing, and needs not: what the commands print on stdout is flushed line by line, ``_print_out``.)"""
    import os
    import sys
    if sys.stderr is not None:  # (closed, ``2>&-``: the line goes nowhere, never to stdout)
        try:
            sys.stderr.write('python -m canister: error: interrupted\n')
            sys.stderr.flush()
        except Exception:
            pass
    os._exit(130)


if __name__ == '__main__':  # (never on ``import canister``: a library sets no signal handler)
    import _signal  # (the C module, there at once: ``signal`` imports ``enum`` first, time a Ctrl-C could take)
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # (not where SIGINT is ignored: ``nohup``)
        _signal.signal(_signal.SIGINT, _interrupted_loading)

import atexit
import base64
import binascii
import collections
import collections.abc
import contextlib
import dataclasses
import datetime
import decimal
import difflib
import dis
import enum
import errno
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
import pathlib
import random
import re
import secrets
import select
import socket
import sqlite3
import stat
import sys
import tempfile
import threading
import time
import traceback
import types
import typing
import urllib.error
import urllib.parse
import urllib.request
import warnings
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

import bottle

__version__ = '2.0.0.dev0'
__all__ = [
    'Canister', 'session', 'request_id', 'client_address', 'require_user', 'require', 'log_in', 'csrf_exempt', 'hash_password',
    'verify_password', 'SessionStore', 'MemoryStore', 'SQLiteStore', 'RedisStore',
    'CanisterError', 'ConfigError', 'MissingExtraError', 'StoreUnavailable', 'SessionDataError',
    'CanisterWarning',
]

Headers = List[Tuple[str, str]]


###############################################################################
# Helpers Used Everywhere #####################################################
###############################################################################

#: The wall clock, in seconds since the epoch: session expiry, login lapses, the users file's re-read (and
#: whether a changed one is at rest) and the time (and so the day's file) of canister's log lines all ask it.
#: The one seam for time: a test replaces ``canister._now`` to move time on instead of sleeping.  (Redis expires keys by its own
#: clock, PyJWT checks ``exp`` by its own, and a line of a handler the app added to ``app.log`` has the
#: logging module's time.)
_now = time.time

#: The clock no NTP step moves, in seconds, for what a request's path does once a second: the log's check that
#: its file is still the one its name gives (the seam of it, as ``_now`` is the wall clock's).
_monotonic = time.monotonic

#: The name of a ``(name, value)`` header: ``map(_header_name, headers)`` scans a header list in C.
_header_name = operator.itemgetter(0)


class _Local(threading.local):
    """Per-thread state: the context of the request the thread serves (None between requests)."""

    #: The ``_RequestContext`` of the request the thread serves, None between requests.
    context: Any = None


_local = _Local()


#: The modules of Python's own ``threading.local`` (C and pure Python): per thread, never per greenlet
#: (monkey-patching replaces it, in ``_thread`` too, by a class of gevent's or eventlet's).
_PLAIN_LOCALS = ('_thread', '_threading_local')


def _in_spawned_greenlet() -> bool:
    """True if this code runs in a greenlet other than its thread's main one (a gevent or eventlet
    server's request): greenlets of one thread share what a plain ``threading.local`` holds."""
    greenlet = sys.modules.get('greenlet')
    getcurrent = getattr(greenlet, 'getcurrent', None)
    return getcurrent is not None and getcurrent().parent is not None


class _Once:
    """The latch of a WARNING said once per process, whichever app's request comes first: ``claim()`` is
    True for one caller only (a ``pop`` is atomic: of two requests at once, one says it)."""

    #: The one attribute of a latch (no ``__dict__``: latches are module-level, made once).
    __slots__ = ('_unclaimed',)

    #: Every latch made (an ``_OncePerKey`` too), so that ``_forget_once_warnings`` finds them all.
    made: typing.ClassVar[List[Any]] = []

    def __init__(self) -> None:
        #: One item until a caller claims it (``claim`` pops it).
        self._unclaimed: typing.List[None] = [None]
        _Once.made.append(self)

    def said(self) -> bool:
        """True once a caller claimed it (a cheap look before the work of deciding whether to say it)."""
        return not self._unclaimed

    def claim(self) -> bool:
        """True for the first caller only: the one that says the WARNING."""
        try:
            self._unclaimed.pop()
        except IndexError:
            return False
        return True

    def reset(self) -> None:
        """Unclaimed again, as in a new process."""
        self._unclaimed = [None]


class _OncePerKey:
    """The latches of a WARNING said once per process for each key (a page's origin), for ``limit`` keys at most:
    any client can send a key, so the memory is bounded.  ``claim(key)`` is True for one caller of each key only
    (``setdefault`` is atomic: of two requests at once, one says it)."""

    __slots__ = ('_told', '_limit')

    def __init__(self, limit: int) -> None:
        #: The keys claimed, each with the token of the caller that claimed it.
        self._told: Dict[Any, object] = {}
        self._limit = limit
        _Once.made.append(self)

    def claim(self, key: Any) -> bool:
        """True for the first caller of ``key`` only, and for none once ``limit`` keys were claimed."""
        told, token = self._told, object()
        return len(told) < self._limit and told.setdefault(key, token) is token

    def reset(self) -> None:
        """Nothing claimed, as in a new process."""
        self._told = {}


#: The ports a URL's scheme stands for when it names none.
_DEFAULT_PORTS = {'http': '80', 'https': '443'}


def _port_split(host: str) -> Tuple[str, str]:
    """A ``host[:port]`` as its name and its port ('' if none); an IPv6 address keeps its brackets."""
    name, colon, port = host.rpartition(':')
    if not colon or name.endswith(':') or not port.isdigit():
        return host, ''
    return name, port


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    origin = origin.strip().lower().rstrip('/')
    scheme, sep, host = origin.partition('://')
    if sep and host.endswith(':' + _DEFAULT_PORTS.get(scheme, '-')):
        host = host.rsplit(':', 1)[0]
    return scheme + sep + host


def _forget_once_warnings() -> None:
    """Let every once-per-process WARNING be said again, as in a new process (for tests)."""
    for once in _Once.made:
        once.reset()


class _LocalsCheck:
    """Whether the thread-locals made at import keep apart the requests a process serves at once:
    canister's ``_local`` and Bottle's (``bottle.request``, ``bottle.response``).

    They do unless ``threading.local`` was replaced after they were made.  gevent's monkey-patching
    makes it per greenlet, but a local made before the patching stays per thread, and so is shared
    by every greenlet of the thread: one request would read another's environ, response and session.
    That is ``gunicorn -k gevent --preload`` (the master imports the app, each worker patches after
    the fork) or an app that imports bottle and then patches.  Nor do they when greenlets serve the
    requests and nothing was patched (gevent's own server run without ``patch_all``, or with
    ``thread=False``).  Asked at a process's first request,
    when any patching is done, and again in a child made by ``os.fork``.
    """

    #: A request of this process found the locals of the kind ``threading.local`` makes now.
    passed = False

    def __init__(self) -> None:
        #: Claimed by the first request of this process that passed (``first``).
        self._first = _Once()

    def problem(self) -> str:
        """'' if the locals keep requests apart (remembered for the process), else what to fix."""
        current = threading.local
        if isinstance(_local, current) and isinstance(bottle.local, current):
            if current.__module__ in _PLAIN_LOCALS and _in_spawned_greenlet():
                return ('Refused: this request is served by a greenlet (gevent\'s or eventlet\'s server) but '
                        'threading.local was never monkey-patched, so bottle\'s and canister\'s request, response '
                        'and session are shared by every greenlet of the thread and concurrent requests would see '
                        'each other\'s. Call gevent.monkey.patch_all() (with thread=True, the default) before '
                        'bottle and canister are imported, or run bottle.run(server=\'gevent\'), which checks it')
            self.passed = True
            return ''
        return ('Refused: threading.local was replaced (now %s.%s: monkey-patching, as gevent\'s) after bottle '
                'and canister were imported, so their request, response and session are shared by every greenlet '
                'of the thread and concurrent requests would see each other\'s. Call gevent.monkey.patch_all() '
                'before bottle and canister are imported: under gunicorn -k gevent, drop --preload, or call it '
                'at the top of a gunicorn config file (-c)' % (current.__module__, current.__qualname__))

    def first(self) -> bool:
        """True for one caller only per process (a worker's first request that passed, several at once)."""
        return self._first.claim()

    def ask_again(self) -> None:
        """In a child made by ``os.fork``: it may be patched after the fork (gunicorn's gevent worker)."""
        self.passed = False
        self._first.reset()


_LOCALS = _LocalsCheck()


def _sleep_lets_others_run() -> bool:
    """True under gevent's monkey-patching, where ``time.sleep`` lets the other greenlets run but
    whatever holds the thread in C (a wait inside SQLite for a locked file, a password's hash)
    stops every one of them: the thread is theirs too."""
    monkey = sys.modules.get('gevent.monkey')
    return monkey is not None and bool(monkey.is_module_patched('time'))


_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')
#: Generated request ids: this prefix, random per process (a forked child draws its own), then a counter.
_ID_PREFIX = secrets.token_hex(4) + '-'
_ID_COUNTER = itertools.count(1)


def _request_id(environ: Dict[str, Any]) -> str:
    """The request's id: the client's ``X-Request-ID`` if it is a plain token, else a new one.
    It is kept in the environ as ``canister.request_id``."""
    rid = environ.get('HTTP_X_REQUEST_ID')
    if rid is None or not _REQUEST_ID.fullmatch(rid):
        rid = _ID_PREFIX + str(next(_ID_COUNTER))
    environ['canister.request_id'] = rid
    return rid


#: How a log line shows a control character a client sent.
_NONPRINTABLE = {code: '\\x%02x' % code for code in itertools.chain(range(32), range(127, 160))}
_NONPRINTABLE.update({10: '\\n', 13: '\\r', 9: '\\t'})


def _escape(text: str) -> str:
    """Make client-supplied text safe for one log line (no forged lines)."""
    if text.isprintable():
        return text
    return ''.join(char if char.isprintable() else _NONPRINTABLE.get(ord(char), repr(char)[1:-1])
                   for char in text)


def _safe_text(value: Any) -> str:
    """``str(value)`` of a value canister did not make (an exception of the app's, of a store's or a package's),
    for a message or a log line: never raises, where the value's ``__str__`` does (or gives no text), what it is."""
    try:
        return str(value)
    except Exception:
        return '<%s object (its str() failed)>' % type(value).__name__


def _special_file(path: str) -> str:
    """What ``path`` is when it exists but is neither a regular file nor a directory (``a character device``,
    as ``/dev/zero`` is), else ''."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return ''
    kinds = ((stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'), (stat.S_ISFIFO, 'a named pipe'),
             (stat.S_ISSOCK, 'a socket'))
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ''
    return next((kind for test, kind in kinds if test(mode)), 'not a regular file')


def _lists_token(value: str, token: str) -> bool:
    """Whether the comma-separated header value ``value`` (a Vary's) holds ``token``, in any case."""
    return token.lower() in [part.strip().lower() for part in value.split(',')]


def _merge_header(headers: Headers, name: str, token: str) -> None:
    """Add a token to a comma-separated header such as Vary, once."""
    lowered = name.lower()
    for index, (key, value) in enumerate(headers):
        if key.lower() == lowered:
            if not _lists_token(value, token):
                headers[index] = (key, value + ', ' + token)
            return
    headers.append((name, token))


def _merge_response_header(name: str, token: str) -> None:
    """Add a token to a comma-separated header of ``bottle.response`` such as Vary, once."""
    value = bottle.response.get_header(name)
    if value is None:
        bottle.response.set_header(name, token)
    elif not _lists_token(value, token):
        bottle.response.set_header(name, value + ', ' + token)


#: The status lines of the responses canister sends itself.
_HTTP_STATUS = {400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden',
                404: '404 Not Found', 413: '413 Content Too Large', 429: '429 Too Many Requests',
                431: '431 Request Header Fields Too Large', 500: '500 Internal Server Error',
                503: '503 Service Unavailable', 204: '204 No Content'}
#: The code of each status line Bottle or canister writes (``200 OK``), looked up: ``int(line[:3])``
#: costs several times as much on every response.  Any other line is read with ``int``.
_STATUS_CODES = {'%d %s' % (code, reason): code for code, reason in bottle.HTTP_CODES.items()}
_STATUS_CODES.update((line, code) for code, line in _HTTP_STATUS.items())


#: A quality value of zero (RFC 9110 section 12.4.2): the media range is not acceptable.
_ZERO_QUALITY = re.compile(r'\s*q\s*=\s*0(?:\.0{0,3})?\s*$', re.IGNORECASE)


#: On every error answer whose body ``Accept`` chose (JSON or text, JSON or Bottle's page), so that a
#: cache keeps one of each kind rather than giving a browser the JSON an API client was sent.
_VARY_ACCEPT = ('Vary', 'Accept')
#: The headers an error answer adds for what chose its body (``_wants_json``): ``Accept``, or the config alone.
_BY_ACCEPT: Headers = [_VARY_ACCEPT]
_BY_CONFIG: Headers = []


def _wants_json(environ: Mapping[str, Any]) -> Tuple[bool, Headers]:
    """Whether an error answer's body is JSON, and the headers to send for what chose it: the one place
    that decides, read on error answers only.  With ``error_format = json`` (of the canister serving the
    request) it always is, and the body does not depend on ``Accept`` (no ``Vary: Accept``); else it is
    when the client's ``Accept`` names ``application/json`` with a quality above zero, and ``Vary: Accept``
    goes with either body."""
    context = _local.context
    if context is not None and context.plugin.json_errors:
        return True, _BY_CONFIG
    for media_range in environ.get('HTTP_ACCEPT', '').split(','):
        media_type, *parameters = media_range.split(';')
        if (media_type.strip().lower() == 'application/json'
                and not any(_ZERO_QUALITY.match(parameter) for parameter in parameters)):
            return True, _BY_ACCEPT
    return False, _BY_ACCEPT


def _media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` value, in lower case and without its parameters."""
    return content_type.split(';')[0].strip().lower()


def _is_json_type(media_type: str) -> bool:
    """True for a JSON media type as ``_media_type`` gives it: ``application/json`` or a ``+json`` one."""
    return media_type == 'application/json' or media_type.endswith('+json')


def _json_error(status: int, message: Any) -> bytes:
    """The JSON body of an error: ``{"error": reason, "message": message}`` (ValueError or TypeError
    for a message JSON cannot hold)."""
    reason = _HTTP_STATUS[status][4:] if status in _HTTP_STATUS else bottle.HTTP_CODES.get(status, 'Unknown')
    return json.dumps({'error': reason, 'message': message}, allow_nan=False).encode()


def _error_body(status: int, message: str, environ: Mapping[str, Any]) -> Tuple[bytes, str, Headers]:
    """The body and content type of an error with a plain message, and the headers to send with them
    (``_wants_json``'s: ``Vary: Accept`` where ``Accept`` chose)."""
    json_body, vary = _wants_json(environ)
    if json_body:
        return _json_error(status, message), 'application/json', vary
    return (message + '\n').encode('utf-8'), 'text/plain; charset=utf-8', vary


class _PlainResponse(typing.NamedTuple):
    """A response canister sends itself, outside Bottle (a refusal, a CORS preflight)."""

    #: The status code.
    code: int
    #: The headers, without those canister adds to every response (``_RequestContext._finish_headers``).
    headers: Headers
    #: The whole body.
    body: bytes


def _plain_response(code: int, message: str, environ: Mapping[str, Any]) -> _PlainResponse:
    """The response canister sends itself for an error, with a plain message (JSON where ``_wants_json`` says)."""
    body, content_type, vary = _error_body(code, message, environ)
    return _PlainResponse(code, [('Content-Type', content_type), ('Content-Length', str(len(body))), *vary], body)


class _OwnError(bottle.HTTPError):
    """An error canister answers (``_error_response``) as a ``bottle.HTTPError``, for the app's own error
    handler of its status: passed on as it is where canister turns Bottle's errors into its own (a body
    over ``max_body_size``, refused while Bottle reads it, is not one Bottle refused)."""


def _error_response(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> bottle.HTTPResponse:
    """An error response with a plain message (JSON where ``_wants_json`` says), not an HTML page;
    in a route of an app with an error handler of its own for that status (``@app.error(401)``),
    the ``bottle.HTTPError`` that Bottle answers with that handler, as it does its own errors.  In a
    child's route that its parent's entry serves (``Canister._serve``), the child's handlers count
    too: ``Canister._error_answer`` answers with the child's, as the child's entry would."""
    environ = bottle.request.environ
    # (Bottle sets it as it starts serving a request; canister's early answers, made before that, when this
    # thread's bottle.request may still be the last request's, are _plain_response's, never this one's)
    app = environ.get('bottle.app')
    if app is not None and status in app.error_handler or status in _served_childs_error_handlers():
        return _OwnError(status, message, headers=headers)
    body, content_type, vary = _error_body(status, message, environ)
    response = bottle.HTTPResponse(body, status=_HTTP_STATUS.get(status, status), headers=headers)
    response.content_type = content_type
    for header in vary:
        response.add_header(*header)
    return response


def _served_childs_error_handlers() -> Mapping[int, Any]:
    """The error handlers of the app whose route ``Canister._serve`` serves in this thread (a child's, its
    parent's entry serving it, the child's own canister serving the route); none elsewhere."""
    context = _local.context
    if context is None or context.route is None:
        return {}
    return getattr(context.plugin.app, 'error_handler', None) or {}


def _http_error_body(error: bottle.HTTPError, environ: Mapping[str, Any]) -> Tuple[Optional[bytes], Headers]:
    """The JSON body of a ``bottle.HTTPError`` (a 404 or 405 of the router, ``abort()``, the 500 of an
    exception) as canister answers its own errors, where ``_wants_json`` says JSON; None for any other
    client: Bottle's HTML page, as without canister.  In Bottle's debug mode an error that carries an
    exception gets Bottle's page too, whose traceback is the point of that mode: the JSON never holds more
    than the error's message (Bottle's 500 says only "Internal Server Error").  With it, the headers to
    send for what chose the body (``_wants_json``'s)."""
    json_body, vary = _wants_json(environ)
    if not json_body or (bottle.DEBUG and (error.exception is not None or error.traceback)):
        return None, vary
    body = _error_message(error)
    if isinstance(body, (dict, list)):
        try:
            return _json_error(error.status_code, body), vary
        except (TypeError, ValueError, RecursionError):  # (a set in it, NaN, a cycle): its text, as Bottle's page shows
            pass
    message = body.decode('utf-8', 'replace') if isinstance(body, bytes) else str(body or '')
    return _json_error(error.status_code, message or error.status_line.partition(' ')[2]), vary


def _error_message(error: bottle.HTTPError) -> Any:
    """The body of a ``bottle.HTTPError`` as the ``message`` of its JSON: a dict or list as it is, also
    when Bottle's JSON plugin (on unless ``autojson`` is off) made the dict JSON text and the error
    ``application/json``; else the body (bytes, text, or another value)."""
    body = error.body
    if isinstance(body, str) and body[:1] in ('{', '[') and _is_json_type(_media_type(error.content_type or '')):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return body


#: Every ``_ForkLocks`` of this process, in the order the sections made them (the order of the file).
_FORK_LOCKS: List[_ForkLocks] = []


class _ForkLocks:
    """The locks of one kind of object, still usable in a child made by ``os.fork``.

    A child has only the thread that forked: a lock another thread held at that moment stays held
    in the child for good, and the child's first use of its object waits forever.  So a fork waits
    for each such lock, holds it across the fork and lets go of it after, in the parent and in the
    child.  A lock that may be held for long (while something downloads) is not waited for: with
    ``renew``, each object gets a new one in the child instead.  ``after`` then runs on each object in the
    child, told whether its old lock was held at the fork (to put right what a thread the child lacks left
    half done).

    A section makes one for each kind of object when it is imported; an object registers itself
    in one line once it has its lock (``self._lock``), ``_SOME_LOCKS.add(self)``, and leaves when
    it goes away.  A fork takes the kinds in the reverse of the order they were made: sections
    refer only backwards, so a later section's code may take an earlier section's lock while it
    holds its own (to write a log line, say), never the other way round, and the fork takes
    them in that same order.  Within a kind, ``first`` comes first, then ``before`` runs on each
    object, then the objects' locks are taken in no particular order (none may take another's).
    A kind made with ``last`` is taken after all the others: its lock is one that a garbage
    collector's finalizer takes, which a thread runs at whatever allocation, holding whatever lock
    (a fork that held it first would wait for that one forever, and the thread for it).
    """

    def __init__(self, first: Optional[Any] = None, before: Optional[Callable[[Any], None]] = None,
                 renew: bool = False, last: bool = False,
                 after: Optional[Callable[[Any, bool], None]] = None) -> None:
        #: A lock of the section taken before the objects' (the one it makes and drops them under).
        self.first = first
        #: Run on each object before a fork, ``first`` held and before the objects' locks are taken.
        self.before = before
        #: True: the objects' locks are not held across a fork, and in the child each gets a new one.
        self.renew = renew
        #: Run on each object in the child after a fork, once it has its new lock (``renew``), with whether its
        #: old one was held then (by a thread in the middle of a change, which the child lacks).
        self.after = after
        #: A weak reference to each object -> its lock.  A plain dict, copied in one step at a fork
        #: while other threads may add to it (a WeakSet is iterated step by step).
        self._objects: Dict[weakref.ref[Any], Any] = {}
        #: The locks a fork holds, in the order it took them.
        self._held: List[Any] = []
        if last:  # (a fork takes the kinds from the end of the list)
            _FORK_LOCKS.insert(0, self)
        else:
            _FORK_LOCKS.append(self)

    def add(self, owner: Any) -> None:
        """Register ``owner``, which has its ``_lock`` already, for every fork from now on while it exists."""
        self._objects[weakref.ref(owner, self._forget)] = owner._lock

    def _forget(self, gone: weakref.ref[Any]) -> None:
        self._objects.pop(gone, None)

    def hold(self) -> None:
        """Before a fork: take ``first``, run ``before`` on each object, then take the objects' locks."""
        self._held = held = [] if self.first is None else [self.first]
        for lock in held:
            lock.acquire()
        objects = self._objects.copy()
        if self.before is not None:
            for owner in (ref() for ref in objects):
                if owner is not None:
                    self.before(owner)
        if not self.renew:
            for lock in objects.values():
                lock.acquire()
                held.append(lock)

    def release(self, in_child: bool) -> None:
        """After a fork, in the parent and in the child: let go of what ``hold`` took; in the child,
        ``renew`` gives each object a new lock, then ``after`` runs on it."""
        held, self._held = self._held, []
        for lock in reversed(held):
            lock.release()
        if in_child and self.renew:
            for owner in (ref() for ref in self._objects.copy()):
                if owner is not None:
                    held_at_fork, owner._lock = owner._lock.locked(), threading.Lock()
                    if self.after is not None:
                        self.after(owner, held_at_fork)


def _hold_locks_before_fork() -> None:
    """Take the locks of every kind, the last made first (see ``_ForkLocks``)."""
    failure: Optional[Exception] = None
    for kind in reversed(_FORK_LOCKS):
        try:
            kind.hold()
        except Exception as error:  # (the other kinds are held all the same; Python reports it)
            failure = error
    if failure is not None:
        raise failure


def _new_request_ids() -> None:
    """In a child made by ``os.fork`` (gunicorn's workers after ``--preload``): a prefix of its own for the
    request ids it makes.  With the parent's prefix and count, every worker would hand out the same ids
    (``<prefix>-1``, ``<prefix>-2``), and one id would name requests of several workers in their shared log."""
    global _ID_PREFIX, _ID_COUNTER  # (module globals, so that _request_id reads them as fast as before)
    _ID_PREFIX = secrets.token_hex(4) + '-'
    _ID_COUNTER = itertools.count(1)


def _release_locks_after_fork(in_child: bool) -> None:
    """Let go of the locks ``_hold_locks_before_fork`` took (in the parent, and in the child)."""
    for kind in _FORK_LOCKS:
        kind.release(in_child)


if hasattr(os, 'register_at_fork'):  # (not on Windows, which has no fork)
    os.register_at_fork(before=_hold_locks_before_fork,
                        after_in_parent=functools.partial(_release_locks_after_fork, False),
                        after_in_child=functools.partial(_release_locks_after_fork, True))
    os.register_at_fork(after_in_child=_LOCALS.ask_again)
    os.register_at_fork(after_in_child=_new_request_ids)


class _Gone:
    """An attribute of canister 1.x that 2.0 lacks, on the class that had it: reading it raises the AttributeError
    Python would, with what to use instead after its words.  (A descriptor on the one name, not a ``__getattr__``:
    a class with ``__getattr__`` has every attribute read through the slow generic path, some 8,000 instructions a
    request on the plugin and the session manager.)"""

    def __init__(self, note: str) -> None:
        #: What to use instead, said after Python's words.
        self.note = note
        #: The attribute's name (``__set_name__``).
        self.name = ''

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: Optional[type] = None) -> Any:
        error = AttributeError("'%s' object has no attribute %r: %s"
                               % ((owner or type(obj)).__name__, self.name, self.note))
        error.name = self.name  # (no ``obj``: Python would add a "Did you mean" to the note that says what to use)
        raise error


def _dir_without_gone(obj: object) -> List[str]:
    """``dir(obj)`` less the names a ``_Gone`` holds: neither completion nor Python's "Did you mean" offers them."""
    gone = {name for klass in type(obj).__mro__ for name, value in vars(klass).items() if isinstance(value, _Gone)}
    return [name for name in object.__dir__(obj) if name not in gone]


###############################################################################
# Exceptions ##################################################################
###############################################################################

class CanisterError(Exception):
    """Base class of every error canister raises."""


class ConfigError(CanisterError, ValueError):
    """A configuration value is invalid; raised at install, never per request."""


class MissingExtraError(CanisterError, ImportError):
    """The configuration needs an optional package that is not installed."""


#: What installs each optional module: the pip requirement (quoted for zsh), and the extra of
#: canister's own ``pyproject.toml`` that holds it, if any (floors as in that file).
_INSTALL_HINTS: Dict[str, Tuple[str, str]] = {
    'jwt': ("'PyJWT[crypto]>=2.12'", 'jwt'),
    'cryptography': ("'PyJWT[crypto]>=2.12'", 'jwt'),
    'redis': ("'redis>=4.2'", 'redis'),
    'bcrypt': ('bcrypt', ''),
    'argon2': ('argon2-cffi', ''),
}


def _install_hint(module: str) -> str:
    """The command that installs an optional module: ``pip install 'redis>=4.2' (or ...)``."""
    requirement, extra = _INSTALL_HINTS[module]
    hint = 'pip install %s' % requirement
    if extra:
        hint += " (or pip install '.[%s]' in a checkout of canister)" % extra
    return hint


def _require(module: str) -> Any:
    """Import an optional dependency, or say which command installs it."""
    try:
        return __import__(module, fromlist=['_'])
    except ImportError as error:
        raise MissingExtraError(
            'canister needs the %r package for this configuration: run %s'
            % (module, _install_hint(module))) from error


#: The oldest version of each optional package canister is tested with (pyproject.toml's floors).
_OLDEST_TESTED: Dict[str, Tuple[str, Tuple[int, int]]] = {'jwt': ('PyJWT', (2, 12)), 'redis': ('redis', (4, 2))}


def _untested_version(module: str, found: Any) -> Optional[str]:
    """What to say at install when an optional package is older than canister is tested with (a
    ``canister.py`` dropped beside an app meets whatever the machine has); None if it is not."""
    name, oldest = _OLDEST_TESTED[module]
    version = str(getattr(found, '__version__', ''))
    match = re.match(r'(\d+)\.(\d+)', version)
    if match is None or (int(match.group(1)), int(match.group(2))) >= oldest:
        return None
    return ('canister is tested with %s %d.%d or later, and this is %s %s: some of its fixes may be missing '
            '(run %s)' % (name, oldest[0], oldest[1], name, version, _install_hint(module)))


class StoreUnavailable(CanisterError):
    """The session store cannot be reached; the request answers 503."""

    #: Raised by ``plugin.tidy_sessions()``: how many entries of ended sessions the tidy had removed
    #: before the store failed (they stay removed), as the store counted them (None for a store that keeps no
    #: count: no ``tidy_removed``); by a call that ends sessions of a user (``plugin.end_sessions()``,
    #: ``session.end_other_sessions()``, the drop of a users file's user): how many sessions it had ended (they
    #: stay ended; 0 if none); None elsewhere.
    removed: Optional[int] = None
    #: What the 503 tells the client, when not the usual words of a store that is down (the login throttle's).
    answer: Optional[str] = None
    #: The store refused a write for want of memory (a Redis at ``maxmemory`` under ``noeviction``), which it
    #: would take once it has room: it still deletes (what ends a session then, see ``RedisStore.update``).
    full = False
    #: The store cannot have made the change: the command was never sent (no connection could be made, no master
    #: was found, or Redis was taken to be stalled and not asked), or a SQLite file stayed locked for the whole busy
    #: timeout (the write rolled back): there is nothing to undo, and nothing runs it later.  (A SQLite store says
    #: it of every failed ``create`` once, with ``failed_create_writes_nothing``.)
    unapplied = False
    #: The store did not answer in time, and another command now would wait as long: a Redis may have run the
    #: command; a SQLite file that another connection held locked for the whole busy timeout ran nothing.
    timed_out = False


class SessionDataError(CanisterError, TypeError):
    """Session data holds a value that cannot be stored as JSON."""


def _a_type(value: Any) -> str:
    """The type of a value with its article, for a message: ``an object``, ``a set``, ``a UUID``."""
    name = type(value).__name__
    return '%s %s' % ('an' if name[:1] in 'aeiouAEIO' else 'a', name)


class BadRequest(CanisterError):
    """A request parameter is missing or does not convert; answered with 400 (or ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        #: The HTTP status to answer with.
        self.status = status


class AuthFailure(CanisterError):
    """Credentials were presented and are not valid; answered with 401.  ``reason`` goes to the
    client and the log, ``logged`` (if given) to the log instead.  ``counted`` False: the refusal
    is no guess, which the login throttle does not count (a token genuine but out of its time,
    a user whom a users file being written lacks for the moment)."""

    def __init__(self, reason: str, scheme: str, logged: Optional[str] = None, counted: bool = True) -> None:
        super().__init__(reason)
        #: Why the credentials are refused, for the client and the log.
        self.reason = reason
        #: The ``Authorization`` scheme they came with (``basic``, ``bearer``).
        self.scheme = scheme
        #: What the log says of the failure (``reason`` unless told otherwise).
        self.logged = reason if logged is None else logged
        #: A failure to the login throttle (False: no guess).
        self.counted = counted


###############################################################################
# Configuration ###############################################################
###############################################################################

_TRUE = frozenset(('1', 'true', 'yes', 'on'))
_FALSE = frozenset(('0', 'false', 'no', 'off'))  # not '': `csrf =` must not turn a protection off
_LEVELS = {
    'DISABLED': logging.CRITICAL + 10, 'DEBUG': logging.DEBUG, 'INFO': logging.INFO,
    'WARNING': logging.WARNING, 'ERROR': logging.ERROR, 'CRITICAL': logging.CRITICAL,
}
#: The one list of secret-looking names, for config keys, query strings and parameter errors.
#: A name (decoded, any case) is secret if it contains one of the first words anywhere, or
#: ends in one of the second as a word of its own (``api_key``, ``x-auth``, ``apiKey``, ``x_bearer``), or followed by
#: nothing but the brackets of a nested or array name (``user[api_key]``, ``sig[]``, ``key[0]``): words
#: that are parts of ordinary words or of config keys (``monkey``, ``inside``, ``session_store``,
#: ``auth_jwt_issuer``) go in the second.  ``session[^a-z0-9]{0,2}id`` is ``sessionid``, ``session_id``,
#: ``session.id`` or ``session[id]``; ``card[^a-z0-9]{0,2}num`` is ``cardnumber``, ``card_num`` or Stripe's ``card[number]``; the
#: words of two, written apart too, anywhere: ``pass_word``, ``pass-phrase``, ``private_key_pem``, ``api_key_value``.
#: Payment cards and national ids: ``cvv`` and ``cvc`` anywhere, ``card`` only as the last word
#: (``credit_card``, not ``discard`` or ``cards_count``), ``ssn`` too (not ``classname``).  The third words, of the
#: second that name one secret each, count in the plural too as the last of several words (``api_keys``,
#: ``private_keys``, ``apiKeys``, ``backup_codes``): not alone (``keys``, a JWKS's member, ``codes``), nor
#: ``sessions``, ``cookies``, ``cards`` or ``assertions``, the names of a count or a list as often as of secrets.
_SECRET_WORDS = (('passw', 'pass[^a-z0-9]{1,2}word', 'pass[^a-z0-9]{0,2}phrase', 'pass[^a-z0-9]{0,2}code', 'pwd',
                  'secret', 'token', 'api[^a-z0-9]{0,2}key', 'private[^a-z0-9]{0,2}key', 'authoriz',
                  'credential', 'hmac', 'totp', 'sessid', 'session[^a-z0-9]{0,2}id', 'saml[^a-z0-9]{0,2}response',
                  'cvv', 'cvc', 'card[^a-z0-9]{0,2}num', 'social[^a-z0-9]{0,2}security', 'national[^a-z0-9]{0,2}id'),
                 ('key', 'code', 'auth', 'sig', 'signature', 'pass', 'pw', 'otp', 'pin', 'jwt', 'bearer', 'sid',
                  'session', 'verifier', 'assertion', 'cookie', 'card', 'creditcard', 'card[^a-z0-9]{0,2}no', 'pan',
                  'csc', 'cc[^a-z0-9]{0,2}num(?:ber)?', 'ssn'),
                 ('key', 'code', 'sig', 'signature', 'pw', 'otp', 'pin', 'jwt', 'ssn'))
#: canister's own keys whose names look secret but whose values are none: the session cookie's name.
_SHOWN_KEYS = frozenset(('session_cookie',))
#: What may follow a word of the second kind at the end of a name: the brackets of a nested or array name.
_NAME_BRACKETS = r'(?:\[[0-9]*\]|\])*'
#: Where a word of the second kind begins: after a character that is no letter or digit, or as a capitalised word.
_WORD_START = r'(?:[^a-z0-9]|(?-i:(?<=[a-z0-9])(?=[A-Z])))'


def _secret_name_words(end: str) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
    """The words of ``_SECRET_WORDS`` as the rule of a secret name has them: the first ones as they are (anywhere in a
    name), the second ones and the plurals of the third followed by nothing but brackets (``_NAME_BRACKETS``) and then
    ``end``.  With the conditions on where a word starts, which ``_SECRET_NAME`` adds, the one place that says what a
    secret name is: ``_SECRET_NAME`` and the pre-filters in front of it (``_SECRET_STEM``, ``_QUERY_STEM``) are made
    from it."""
    return (_SECRET_WORDS[0], tuple(word + _NAME_BRACKETS + end for word in _SECRET_WORDS[1]),
            tuple(word + 's' + _NAME_BRACKETS + end for word in _SECRET_WORDS[2]))


_SECRET_NAME = re.compile(r'(?i){0}|(?:^|{3})(?:{1})|.{3}(?:{2})'.format(
    *('|'.join(words) for words in _secret_name_words('$')), _WORD_START))


def _stem_pattern(end: str) -> str:
    """The rule of a secret name without its conditions on where a word starts, ``end`` for the end of the name,
    the words grouped by first letter (``p(?:assw|wd|...)``: fewer branches to try at each character).  A pattern
    without a condition matches wherever the same one with it does (and more): a stem is never narrower than the rule."""
    words = sorted(itertools.chain(*_secret_name_words(end)))
    return '|'.join('%s(?:%s)' % (first, '|'.join(word[1:] for word in group))
                    for first, group in itertools.groupby(words, key=lambda word: word[0]))


#: The rule of a secret name, made from the same words (``_stem_pattern``), a name ending at ``=`` or the end of
#: the text: an ASCII name can match ``_SECRET_NAME`` only where it matches, and a query without ``%`` (only ``+``
#: decodes, to a space, which no word contains) can give a secret-looking name a value only where ``=`` ends it.
#: (Searched in ``text.lower()``: an ASCII text lower-cases exactly, as ``(?i)`` reads it, and a case-sensitive
#: search is several times faster than ``(?i)``.)
_SECRET_STEM = re.compile(_stem_pattern('(?:=|$)'))
#: The same, with ``;`` too for the end of a name (``api_key;x=``, which Bottle's name of a value ends with, as
#: :func:`_redact_query` splits a query at ``&`` and ``;``: a name before an ``&`` has no value to mask), an
#: ``@`` or a ``"``: a query without ``%`` can hold a secret only where it matches (a raw ``@`` being a URL's user
#: information in a value, ``next=https://bob:pw@host/``, as :func:`_query_value_holds_user_information` looks for
#: it; a raw ``"`` a JSON member's name, ``cfg={"api_key":...}``, which ends in no ``=``, as
#: :func:`_query_value_holds_secret_member` does).  One search; tests/test_redaction_fast_path.py checks that
#: every query the full rule masks gets past it.
_QUERY_STEM = re.compile(_stem_pattern('(?:[=;]|$)') + '|[@"]')
#: A URL in a text, to the next space, and the quote before it if any.  Its user information runs
#: to the last ``@``, so a password holding ``/?#@`` is all of it.
_URL = re.compile(r'(?i)([\'"]?)\b([a-z][a-z0-9+.-]*://)(\S*)')


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError('expected true or false (also yes/no, on/off, 1/0)')


#: The most seconds a duration key takes (about 100 years): a longer one, kept in milliseconds,
#: would not fit the stores' 64-bit expiry times, and a save would fail at request time.
_SECONDS_MAX = 100 * 366 * 86400


#: What one of a unit is, in the unit a key takes, for the hint after a number written with it (``1h``, ``10MB``).
#: A decimal prefix is answered with its binary reading too (``10MB``: 10000000, and 10MiB 10485760).
_UNIT_SIZES: Dict[str, Dict[str, Union[int, str]]] = {
    'seconds': {'ms': '0.001', **dict.fromkeys(('s', 'sec', 'secs', 'second', 'seconds'), 1),
                **dict.fromkeys(('m', 'min', 'mins', 'minute', 'minutes'), 60),
                **dict.fromkeys(('h', 'hr', 'hrs', 'hour', 'hours'), 3600),
                **dict.fromkeys(('d', 'day', 'days'), 86400)},
    'bytes': {'b': 1, 'kb': 1000, 'mb': 1000 ** 2, 'gb': 1000 ** 3, 'kib': 1024, 'mib': 1024 ** 2, 'gib': 1024 ** 3},
    'days': dict.fromkeys(('d', 'day', 'days'), 1),
}
#: The same as decimals, whose products are exact (``1.1MB``: 1100000, where floats give 1100000.0000000002).
_UNITS = {unit: {name: decimal.Decimal(size) for name, size in sizes.items()} for unit, sizes in _UNIT_SIZES.items()}
#: A number followed by letters: a value written with a unit (digits few enough for an exact product).
_WITH_UNIT = re.compile(r'\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([A-Za-z]+)\s*')


def _in_unit(kind: type, number: str, size: decimal.Decimal) -> Optional[str]:
    """``number`` times ``size`` as a key of ``kind`` takes it (None if an integer key cannot: ``1.5s``)."""
    value = decimal.Decimal(number) * size
    if value == value.to_integral_value():
        return str(int(value))
    return None if kind is int else str(value.normalize())


def _unit_problem(kind: type, unit: str, text: str) -> Optional[str]:
    """What to say of ``text`` given to a key in ``unit`` (seconds, bytes, days) if it is a number with a
    unit of its own (``1h``): that the key takes a bare number, and what the text is in it, for the common units."""
    match = _WITH_UNIT.fullmatch(text)
    if not match:
        return None
    problem = 'expected a %s of %s, without a unit' % ('whole number' if kind is int else 'number', unit)
    number, name = match.group(1), match.group(2).lower()
    shown = _in_unit(kind, number, _UNITS[unit][name]) if name in _UNITS[unit] else None
    if shown is None:
        return problem
    hints = ['%s is %s' % (text.strip(), shown)]
    binary = _in_unit(kind, number, _UNITS[unit][name[0] + 'ib']) if name in ('kb', 'mb', 'gb') else None
    if binary is not None:
        hints.append('%s%siB is %s' % (number, name[0].upper(), binary))
    return '%s (%s)' % (problem, '; '.join(hints))


def _as_number(kind: type, minimum: Optional[float] = None, maximum: Optional[float] = None,
               unit: str = '') -> Callable[[Any], Any]:
    """A parser of an integer (``kind`` int; 2.0 is 2, 2.9 is refused) or a finite number (float), of
    ``unit`` (seconds, bytes or days: named when the text carries a unit of its own, ``1h``)."""
    expected = 'expected %s' % ('an integer' if kind is int else 'a finite number')

    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(expected)
        if isinstance(value, datetime.timedelta):
            raise ValueError('%s, not a timedelta: this key is no number of seconds' % expected)
        if isinstance(value, str) and not value.isascii():  # (int() and float() take '٣' and '３' for 3)
            raise ValueError('%s written with the digits 0-9: %r holds characters other than ASCII' % (expected, value))
        try:
            number = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
            problem = _unit_problem(kind, unit, value) if unit and isinstance(value, str) else None
            raise ValueError(problem or expected) from None
        if (isinstance(value, float) and number != value) or (kind is float and not math.isfinite(number)):
            raise ValueError(expected)
        if minimum is not None and number < minimum:
            raise ValueError('expected a number >= %s' % minimum)
        if maximum is not None and number > maximum:
            raise ValueError('expected a number <= %s' % maximum)
        return number
    return parse


def _whole_seconds(delta: datetime.timedelta) -> int:
    """The seconds of a ``timedelta``; ValueError for one with a fraction of a second."""
    seconds, rest = divmod(delta, datetime.timedelta(seconds=1))
    if rest:
        raise ValueError('expected whole seconds, not the timedelta %s' % delta)
    return typing.cast(int, seconds)


def _as_seconds(kind: type, minimum: Optional[float] = None, maximum: float = _SECONDS_MAX) -> Callable[[Any], Any]:
    """A parser of a duration: a number of seconds as :func:`_as_number` takes it, or a ``timedelta``
    (``timedelta(hours=1)``: whole seconds for an integer key)."""
    number = _as_number(kind, minimum, maximum, 'seconds')

    def parse(value: Any) -> Any:
        if isinstance(value, datetime.timedelta):
            value = _whole_seconds(value) if kind is int else value.total_seconds()
        return number(value)
    return parse


def _as_days(minimum: int, maximum: int) -> Callable[[Any], int]:
    """A parser of a number of days: an integer as :func:`_as_number` takes it, or a ``timedelta`` of
    whole days (``timedelta(days=30)``)."""
    number = _as_number(int, minimum, maximum, 'days')

    def parse(value: Any) -> int:
        if isinstance(value, datetime.timedelta):
            days, rest = divmod(value, datetime.timedelta(days=1))
            if rest:
                raise ValueError('expected whole days, not the timedelta %s' % value)
            value = days
        return typing.cast(int, number(value))
    return parse


def _as_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value is None:  # (Flask's SESSION_COOKIE_SAMESITE = None means no attribute, not SameSite=None)
            raise ValueError("expected one of %s, written as text: Python's None is no value%s"
                             % (', '.join(choice or "''" for choice in choices),
                                " (write 'None' for SameSite=None, or leave the key out)" if 'None' in choices else ''))
        for choice in choices:
            if str(value).strip().lower() == choice.lower():
                return choice
        raise ValueError('expected one of %s' % ', '.join(choice or '(empty)' for choice in choices))
    return parse


def _as_list(value: Any) -> Tuple[str, ...]:
    if value is None or isinstance(value, (bool, datetime.timedelta)):  # (whose str() would be taken as an item)
        raise ValueError('expected a list, or text of items separated by commas or spaces, not %r' % value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items: Iterable[Any] = value
        for item in items:
            if item is None or isinstance(item, bool):  # as for the value itself
                raise ValueError('expected items of text, not %r (its str() would be an item named %r)'
                                 % (item, str(item)))
    else:
        items = re.split(r'[\s,]+', str(value))
    return tuple(str(item).strip() for item in items if str(item).strip())


def _as_text(value: Any) -> str:
    """A text setting: a ``str``, a path, UTF-8 ``bytes`` or a number.  Anything else is refused:
    ``str()`` would make a password of ``b'...'`` or ``['...']``, which the real value never matches."""
    if value is None:
        return ''
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError:
            raise ValueError('expected text: these bytes are not UTF-8') from None
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError('expected text, not a %s' % type(value).__name__)
    return str(value).strip()


def _as_basic_username(value: Any) -> str:
    """The Basic user's name: text without a colon, where a Basic header parts the name from the password
    (a name holding one could never log in)."""
    name = _as_text(value)
    if ':' in name:
        raise ValueError('a Basic user name cannot hold a colon: the Authorization header parts the name from '
                         'the password at the first one, so this user could never log in')
    return name


def _as_path(value: Any) -> str:
    """A file or directory name, refused when it starts with ``~``: a shell's home directory, which
    nothing expands in a config, so the name would be a directory ``~`` in the working directory."""
    path = _as_text(value)
    if '\x00' in path:  # (the system's calls refuse it, in an error that names no key)
        raise ValueError('a path cannot hold a NUL character')
    if path.startswith('~'):
        raise ValueError('canister does not expand ~ to a home directory, as a shell does: the path would start at a '
                         'directory named ~ in the working directory; write it in full')
    return path


def _as_log_path(value: Any) -> str:
    """A directory, or ``stderr``/``stdout`` in any case (``STDOUT`` is meant as the stream, as the
    other choices of the config are case-insensitive; ``./STDOUT`` names a directory)."""
    path = _as_path(value)
    if not path:  # (else the files would go to the working directory, where nobody looks for them)
        raise ValueError('expected a directory (./logs/ when the key is left out), or stderr or stdout (what an '
                         'empty log_path meant in canister 1.x)')
    return path.lower() if path.lower() in ('stderr', 'stdout') else path


def _as_store_url(value: Any) -> str:
    """``memory`` in any case, or a URL with its scheme in lower case (``SQLite:///s.db``): the other
    choices of the config are case-insensitive, and so are URL schemes (RFC 3986)."""
    url = _as_text(value)
    scheme, separator, rest = url.partition('://')
    if separator:
        if scheme.lower() == 'sqlite':  # (its path percent-decoded, as _sqlite_path reads it: %7E is a ~ too)
            _as_path(urllib.parse.unquote(rest[1:]))
        return scheme.lower() + separator + rest
    return 'memory' if url.lower() == 'memory' else url


def _as_secret(value: Any) -> Union[str, bytes]:
    """A shared secret: text as :func:`_as_text` takes it, or ``bytes`` kept as they are
    (``secrets.token_bytes(32)``: a key need not be text)."""
    return value if isinstance(value, bytes) else _as_text(value)


def _is_plain_http_afar(url: str) -> bool:
    """True for an ``http://`` URL whose host is not this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != 'http':
        return False
    host = (parts.hostname or '').rstrip('.')
    if host == 'localhost' or host.endswith('.localhost'):  # (RFC 6761: resolved to loopback)
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name
        return True


def _as_jwks_url(value: Any) -> str:
    """An http(s) URL to fetch keys from, without credentials (urllib cannot send them, and the
    error it gives would put the password in the log)."""
    url = _as_text(value)
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ('http', 'https') or not parts.netloc:
        raise ValueError('expected an http:// or https:// URL')
    if '@' in parts.netloc:
        raise ValueError('a user name or password in the URL cannot be sent: give the URL without them')
    return url


# An HTTP token (RFC 9110 section 5.6.2): a method or a header name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# scheme://host[:port] as a browser sends it in Origin: a host name (or a `*.` wildcard before one),
# an IPv4 address or a bracketed IPv6 address. A label may hold `_` and `-` anywhere, first and last too (Chromium
# sends `my_app.example.com` and `a-.localhost` as they are).
_ORIGIN = re.compile(r'(?i)https?://(?P<host>(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*'
                     r'|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?/?')
#: A host name's last label that makes a browser read the whole host as an IPv4 address (the URL Standard's
#: "ends in a number": digits, or 0x and hex digits), which it then writes as four decimals (``127.1``: 127.0.0.1).
_NUMERIC_LABEL = re.compile(r'(?i)[0-9]+|0x[0-9a-f]*')
#: An IPv4 address as a browser writes it in an Origin: four decimals from 0 to 255, without leading zeros.
_DOTTED_QUAD = re.compile(r'(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}'
                          r'(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
# Whitespace then `;` or `#`: an inline comment, which Bottle's load_config keeps in the value.
_INLINE_COMMENT = re.compile(r'\s[;#]')
# A whole value in quotes, as .env, TOML and YAML files write it: an ini file's value keeps them.
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
#: Why a value with an inline comment is refused, given as a keyword argument (no ini file read it: the comment
#: is in the Python string), and in the app's config.
_COMMENT_KEYWORD = ('has an inline comment (whitespace then ; or #), which is part of the string given as a keyword '
                    'argument: write the value without it')
_COMMENT_CONFIG = ('has an inline comment (whitespace then ; or #): Bottle\'s load_config keeps it as part '
                   'of the value; put the comment on a line of its own')
#: Why a value in quotes is refused, given as a keyword argument (a Python string: the quotes are in it).
_QUOTED_KEYWORD = 'is in quotes, which are part of the string given as a keyword argument: write it without them'
#: Why, in the app's config (read from an ini file by Bottle's load_config, or set in Python: which is not known).
_QUOTED_CONFIG = ('is in quotes, which stay part of the value (Bottle\'s load_config keeps those of an ini file, '
                  'which is not .env, TOML or YAML): write it without them')


def _written_wrong(value: str, keyword: bool) -> str:
    """Why a text value is refused for an inline comment or quotes ('' if it is not), worded for a ``keyword``
    argument or for the app's config."""
    if _INLINE_COMMENT.search(value):
        return _COMMENT_KEYWORD if keyword else _COMMENT_CONFIG
    if _QUOTED.fullmatch(value.strip()):
        return _QUOTED_KEYWORD if keyword else _QUOTED_CONFIG
    return ''


#: The JWT algorithms of a shared secret, and of a public key.
_JWT_SYMMETRIC = ('HS256', 'HS384', 'HS512')
_JWT_ASYMMETRIC = ('RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA')


def _as_algorithms(value: Any) -> Tuple[str, ...]:
    """JWT algorithm names, as PyJWT spells them (``none`` is never one), whether or not a key is configured."""
    items = _as_list(value)
    for item in items:
        if item not in _JWT_SYMMETRIC + _JWT_ASYMMETRIC:
            raise ValueError('%r is not allowed (choose from %s)' % (item, ', '.join(_JWT_SYMMETRIC + _JWT_ASYMMETRIC)))
    return items


def _as_tokens(value: Any) -> Tuple[str, ...]:
    items = _as_list(value)
    for item in items:
        if not _TOKEN.fullmatch(item):
            raise ValueError('%r is not an HTTP token (letters, digits and !#$%%&\'*+-.^_`|~)' % item)
    return items


def _as_paths(value: Any) -> Tuple[str, ...]:
    """URL path prefixes, as the WSGI server hands the path over (decoded: no ``%``), each from ``/``."""
    items = _as_list(value)
    for item in items:
        if not item.startswith('/') or any(c in item for c in '%?#*') or not item.isprintable():
            raise ValueError('%r is not a path prefix: write each as the path starts, from /, without %%-escapes, '
                             'wildcards, query or fragment (/api covers /api and everything under /api/)' % item)
    return items


def _as_origins(value: Any) -> Tuple[str, ...]:
    text = str(value).strip().lower() if isinstance(value, (str, bool)) else None
    if text in _FALSE:
        return ()  # canister 1.x wrote `cors = false` for "off"
    if text in _TRUE:  # Flask-CORS's `cors=True`: which origins is the question
        raise ValueError('a true/false value does not say which origins may call: write * for any origin '
                         '(without cors_credentials), or the list of allowed origins, e.g. https://app.example.com')
    items = _as_list(value)
    for item in items:
        if item == '*':
            if len(items) > 1:
                raise ValueError('* allows every origin and cannot be combined with others')
        elif item.lower() != 'null':
            _check_origin(item)
    return items


def _as_trusted_origins(value: Any) -> Tuple[str, ...]:
    """The origins of ``csrf_trusted_origins``: written as those of ``cors``, but neither ``*`` nor ``null``."""
    items = _as_list(value)
    for item in items:
        if item == '*':
            raise ValueError('* would let every site\'s forms post here with the user\'s cookie: list the origins, '
                             'or set csrf = false to turn the check off')
        if item.lower() == 'null':
            raise ValueError('null is the origin any site\'s page can send from a sandboxed frame: it cannot be '
                             'trusted')
        _check_origin(item, 'csrf_trusted_origins', '')
    return items


def _check_origin(item: str, key: str = 'cors', others: str = ', null, or * alone') -> None:
    """ValueError unless ``item`` is an origin a browser could send (or a ``*.`` pattern of them), as ``key``
    lists it (``others``: what else it takes)."""
    # (first: under IGNORECASE, _ORIGIN's [a-z] also matches the Kelvin sign, the long s and the dotless i)
    if not item.isascii():
        raise ValueError('%r is not an origin as a browser sends it: a browser writes a host name with letters '
                         'other than a-z in its ASCII form (xn--..., punycode), and %s must too' % (item, key))
    match = _ORIGIN.fullmatch(item)
    if not match:
        raise ValueError('%r is not an origin: expected scheme://host[:port] with scheme http or '
                         'https (the host may start with *.)%s' % (item, others))
    host = match.group('host')
    if _NUMERIC_LABEL.fullmatch(host.rpartition('.')[2]) and not _DOTTED_QUAD.fullmatch(host):
        raise ValueError('%r can never match an Origin: a browser reads a host that ends in a number as an IPv4 '
                         'address, refuses one with a part over 255, and writes the others as four decimals from 0 '
                         'to 255 without leading zeros (192.0.2.1), with no wildcard' % item)
    port = match.group('port')
    if port is not None and (port.startswith('0') or int(port) > 65535):
        raise ValueError('%r: a browser never sends the port %s (it writes one from 1 to 65535, without '
                         'leading zeros)' % (item, port))


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
    #: The key, as written after ``canister.``.
    name: str
    #: The value when the config does not set it.
    default: Any
    #: Turns a config value (a string from an ini file, or a Python value) into the setting; ValueError if invalid.
    parse: Callable[[Any], Any]
    #: The README table's description.
    meaning: str


#: Every configuration key: name, default, parser and what it means (the README's table).
KEYS: Dict[str, _Key] = {key.name: key for key in (
    _Key('log_path', './logs/', _as_log_path,
         'directory of the daily log files, or `stderr`/`stdout` (in any case; `./stdout` is a directory)'),
    _Key('log_level', 'INFO', _as_choice(*_LEVELS), 'DISABLED, DEBUG, INFO, WARNING, ERROR or CRITICAL'),
    _Key('log_days', 30, _as_days(0, 36600), 'days of log files kept; older files are deleted (0: none is, as in 1.x)'),
    _Key('log_format', 'text', _as_choice('text', 'json'), '`text` (the classic line) or `json` (one object per line)'),
    _Key('log_slow', 1.0, _as_seconds(float, 0), 'seconds; a slower response is logged at WARNING (0 = never)'),
    _Key('trusted_proxies', (), _as_list,
         'proxy IPs/networks (`unix`: a peer on a UNIX socket) whose X-Forwarded-For/-Proto/-Host are believed'),
    _Key('max_body_size', 10 * 1024 * 1024, _as_number(int, 0, unit='bytes'),
         'bytes; a larger body gets 413 (from its Content-Length, or once a chunked body passes it)'),
    _Key('max_form_parts', 1000, _as_number(int, 0),
         'parts of a multipart form; a form with more gets 413 before Bottle parses it (0: no limit)'),
    _Key('max_header_size', 8192, _as_number(int, 256, unit='bytes'),
         'bytes, at least 256; a larger Authorization or Cookie header gets 431'),
    _Key('error_format', 'auto', _as_choice('auto', 'json'),
         "body of canister's error answers (its own 4xx and 5xx, and Bottle's error pages it answers): `auto`, JSON "
         "when the client's `Accept` names `application/json`, else text (Bottle's page for Bottle's errors); `json`, "
         'JSON to every client (see [Limits and error answers](#limits-and-error-answers))'),
    _Key('debug', False, _as_bool, 'accepted for compatibility with canister 1.x; has no effect'),
    _Key('session_store', 'memory', _as_store_url, '`memory`, `sqlite:///file.db`, `sqlite:////abs/file.db`, or a Redis URL: '
         '`redis://host:port/db`, `rediss://...` (TLS), `redis+sentinel://host:port,.../service/db` or '
         '`redis+cluster://host:port,...` (see [Scaling out](#scaling-out))'),
    _Key('session_redis_prefix', 'canister:session:', _as_text,
         "prefix of canister's Redis keys, so several apps can share one Redis"),
    _Key('session_redis_wait', 0, _as_number(int, 0),
         'Redis replicas a save waits for (`WAIT`) before the answer goes out; 0: none'),
    _Key('session_redis_timeout', 1.0, _as_seconds(float, 0.01, 60.0),
         'seconds, 0.01 to 60, a Redis command (or a connection to Redis) may take before the store counts as down '
         'and the request answers 503'),
    _Key('session_cookie', 'session_id', _as_text, 'name of the session cookie'),
    _Key('session_timeout', 3600, _as_seconds(int),
         'seconds of inactivity before a session ends (0 or less: never); alias `session_timout` '
         '(both with different values: `ConfigError`)'),
    _Key('session_max_age', 0, _as_seconds(int, 0), 'absolute session lifetime in seconds (0: none)'),
    _Key('session_max', 100000, _as_number(int, 1),
         'most sessions the memory store keeps (over it, the least recently used anonymous session goes first; '
         'a session with a user goes only when no anonymous session other than the one being saved, and the one '
         'a login or `regenerate()` moves it from, is left in its shard); the markers a move or logout leaves on old ids '
         'are kept besides them, at most as many again (the oldest goes, never the note `end_sessions` leaves)'),
    _Key('session_max_per_user', 1000, _as_number(int, 0),
         'most live sessions of one user (0: no cap); a login past it ends the least recently used others of '
         "that user's sessions, as `end_sessions` does, and up to a tenth of the cap more among those not used "
         'since their login'),
    _Key('session_samesite', 'Lax', _as_choice('Lax', 'Strict', 'None'),
         'SameSite of the cookie: Lax, Strict or None (None forces Secure)'),
    _Key('session_secure', False, _as_bool, 'always mark the cookie Secure (it is anyway on HTTPS requests)'),
    _Key('session_partitioned', False, _as_bool,
         'mark the cookie Partitioned (CHIPS), for a page of another site calling with credentials in browsers '
         'that block third-party cookies (forces Secure; with `session_samesite = None`)'),
    _Key('session_cookie_max_age', 0, _as_seconds(int, 0),
         'cookie Max-Age in seconds (0: a browser-session cookie)'),
    _Key('auth_realm', 'canister', _as_header_value,
         'realm named in WWW-Authenticate challenges (printable ASCII on one line)'),
    _Key('auth_basic_username', '', _as_basic_username, 'the Basic auth user (a name without `:`)'),
    _Key('auth_basic_password', '', _as_text, 'its password, as `auth_basic_encryption` says'),
    _Key('auth_basic_encryption', 'auto', _as_choice('auto', 'clear', 'sha256', 'pbkdf2', 'scrypt', 'bcrypt', 'argon2'),
         '`clear`, `sha256` (hex), `pbkdf2`, `scrypt` (as `python -m canister hash-password` prints them), `bcrypt`, '
         '`argon2`; `auto` tells a hash by its prefix, anything else is clear text'),
    _Key('auth_basic_users_file', '', _as_path, 'file of `user:hash` lines, reloaded when it changes'),
    _Key('auth_max_failures', 10, _as_number(int, 1), 'failed logins per client (IPv6: per /64) per minute before 429; '
         'shared through a SQLite or Redis session store'),
    _Key('auth_jwt_client_id', '', _as_text, 'required audience (`aud`) of Bearer tokens'),
    _Key('auth_jwt_secret', '', _as_secret, 'shared secret of HS256/384/512 tokens (text, or `bytes` as they are)'),
    _Key('auth_jwt_encoding', 'clear', _as_choice('clear', 'base64std', 'base64url'),
         'how the secret is written: `clear`, `base64std` or `base64url` (padding optional)'),
    _Key('auth_jwt_algorithms', (), _as_algorithms, 'accepted algorithms (default: HS256/384/512 with a secret; RS256/384/512, '
         'ES256/384/512, PS256/384/512 and EdDSA with a public key or a JWKS URL)'),
    _Key('auth_jwt_public_key', '', _as_path, "PEM file of the provider's public key"),
    _Key('auth_jwt_jwks_url', '', _as_jwks_url,
         'JWKS URL of an OAuth2/OIDC provider, `http://` or `https://` (keys cached, refetched on an unknown `kid`); '
         'one with a user name or password in it is refused at install, since they could not be sent, and an '
         '`http://` one to a host other than this machine is warned of'),
    _Key('auth_jwt_jwks_refetch', 10.0, _as_seconds(float, 0.1),
         'seconds; an unknown `kid` refetches the JWKS at most this often (the `Retry-After` of the 503 while '
         'it cannot be fetched)'),
    _Key('auth_jwt_jwks_timeout', 5.0, _as_seconds(float, 0.1, 60.0),
         'seconds a JWKS download may take (the request that starts it waits that long at most, others far less)'),
    _Key('auth_jwt_issuer', '', _as_text, 'required issuer (`iss`), if set'),
    _Key('auth_jwt_leeway', 10, _as_seconds(int, 0), 'seconds of clock skew allowed on `exp`/`nbf`/`iat`'),
    _Key('auth_jwt_require_exp', True, _as_bool, 'refuse tokens without `exp`'),
    _Key('cors', '', _as_origins,
         '`*`, or allowed origins (comma/space separated, `https://*.example.com` allowed); '
         'empty or `false` (also `no`, `off`, `0`): off'),
    _Key('cors_credentials', False, _as_bool, 'allow cookies/credentials (needs an explicit origin list)'),
    _Key('cors_methods', (), _as_tokens, 'methods granted to preflights (empty or `*`: those the route accepts)'),
    _Key('cors_headers', ('Content-Type', 'Authorization', 'X-Request-ID'), _as_tokens,
         'request headers granted to preflights (`*`: any)'),
    _Key('cors_expose_headers', ('X-Request-ID', 'Retry-After'), _as_tokens,
         'response headers the page may read (`Retry-After`: when to try a 429 or 503 again)'),
    _Key('cors_max_age', 600, _as_seconds(int, 0), 'seconds a browser may cache a preflight answer'),
    _Key('cors_paths', (), _as_paths,
         'path prefixes CORS is limited to (`/api` covers `/api` and `/api/...`); empty: every path'),
    _Key('csrf', True, _as_bool, 'refuse unsafe requests from foreign origins (Sec-Fetch-Site, Origin, Referer)'),
    _Key('csrf_trusted_origins', (), _as_trusted_origins,
         'origins (as in `cors`, but not `*` or `null`) whose unsafe requests, forms among them, pass the CSRF '
         'check on every path, without CORS: their pages cannot read the answers'),
    _Key('x_content_type_options', 'nosniff', _as_choice('nosniff', ''),
         '`X-Content-Type-Options` of every answer (empty: not sent)'),
    _Key('x_frame_options', 'DENY', _as_choice('DENY', 'SAMEORIGIN', ''),
         '`X-Frame-Options` of every answer: `DENY` or `SAMEORIGIN` (empty: not sent)'),
    _Key('referrer_policy', 'strict-origin-when-cross-origin', _as_referrer_policy,
         '`Referrer-Policy` of every answer, one value or a fallback list (empty: not sent)'),
    _Key('hsts_max_age', 0, _as_seconds(int, 0),
         'seconds of `Strict-Transport-Security` on HTTPS answers (0: not sent)'),
    _Key('hsts_include_subdomains', False, _as_bool, 'add `includeSubDomains` to `Strict-Transport-Security`'),
    _Key('content_security_policy', '', _as_header_value, '`Content-Security-Policy` of every answer (empty: not sent)'),
)}
#: Alternative spellings accepted for compatibility.
ALIASES = {'session_timout': 'session_timeout'}
# The names Flask (Flask-CORS, Flask-WTF, Flask-Session, Flask-Login), Django (and django-cors-headers) and
# Starlette's middleware give their settings, which a newcomer writes first: the hint for each when it arrives
# as a canister key.  Closeness of spelling finds none for some, and the wrong key for others (max_age,
# session_redis, session_engine).
_FAMILIAR_NAMES = {
    **dict.fromkeys(('origins', 'cors_origins', 'allow_origins', 'cors_allow_origins', 'allowed_origins',
                     'cors_allowed_origins', 'cors_origin_whitelist'), 'did you mean cors? it takes the allowed origins'),
    **dict.fromkeys(('supports_credentials', 'cors_supports_credentials', 'allow_credentials'),
                    'did you mean cors_credentials?'),
    'allow_headers': 'did you mean cors_headers?',
    'allow_methods': 'did you mean cors_methods?',
    'max_age': "did you mean cors_max_age (a preflight's), session_cookie_max_age (the cookie's) or "
               "session_max_age (the session's)?",
    **dict.fromkeys(('csrf_enabled', 'wtf_csrf_enabled', 'csrf_protect'),
                    'did you mean csrf? it checks the origin of unsafe requests, with no token in the form'),
    'config': 'settings go in as keyword arguments, Canister(session_store=...), or in the app\'s config: '
              'app.config.load_config(\'app.ini\') before app.install(canister.Canister())',
    'session_use_signer': 'canister needs no secret key: the cookie holds a random id of a session kept on the '
                          'server, nothing signed',
    **dict.fromkeys(('secret_key', 'session_secret'),
                    'canister needs no secret key for sessions: the cookie holds a random id of a session kept on the '
                    'server, nothing signed; the secret that signs Bearer tokens (JWT) is auth_jwt_secret'),
    **dict.fromkeys(('audience', 'jwt_audience'), 'did you mean auth_jwt_client_id? a token must name it in its aud'),
    'issuer': 'did you mean auth_jwt_issuer?',
    'leeway': 'did you mean auth_jwt_leeway?',
    'access_token_expire_minutes': 'canister has no such setting: it checks tokens and issues none, so the code that '
                                   'signs one gives it its exp (which canister requires)',
    **dict.fromkeys(('permanent_session_lifetime', 'session_lifetime'),
                    'did you mean session_timeout? session.remember(seconds) gives one session its own'),
    'https_only': 'did you mean session_secure?',
    'session_cookie_name': 'did you mean session_cookie?',
    'session_cookie_httponly': 'canister has no such setting: the cookie is always HttpOnly',
    **dict.fromkeys(('session_cookie_domain', 'domain'),
                    'canister has no such setting: the cookie never has a Domain, so it stays with this host'),
    'session_cookie_path': 'canister has no such setting: the cookie has Path=/',
    'path': 'canister has no such setting: the session cookie has Path=/, which no setting changes (log_path is '
            'the directory of the log)',
    **dict.fromkeys(('session_type', 'session_redis', 'session_backend', 'session_redis_url', 'session_url',
                     'session_sqlalchemy', 'session_file_dir', 'session_engine', 'session_file_path',
                     'session_cache_alias'),
                    'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// URL'),
    'session_key_prefix': 'did you mean session_redis_prefix?',
    **dict.fromkeys(('session_permanent', 'remember_cookie_duration'),
                    'canister has no such setting: session.remember(seconds) in the login handler gives that '
                    'session a persistent cookie; session_cookie_max_age gives every session cookie a Max-Age'),
    **dict.fromkeys(('cors_enabled', 'enable_cors', 'cors_origin', 'origin'),
                    'did you mean cors? it takes the allowed origins, or *'),
    **dict.fromkeys(('allow_origin_regex', 'cors_origin_regex', 'origin_regex', 'cors_allowed_origin_regexes',
                     'cors_origin_regex_whitelist'),
                    'canister takes no regular expression: list the origins in cors, https://*.example.com for '
                    'every subdomain'),
    **dict.fromkeys(('resources', 'cors_resources'), 'did you mean cors_paths? it takes path prefixes, such as /api'),
    **dict.fromkeys(('automatic_options', 'cors_automatic_options'),
                    'canister has no such setting: it answers CORS preflights itself'),
    **dict.fromkeys(('vary_header', 'cors_vary_header'),
                    'canister has no such setting: its CORS answers always carry Vary: Origin'),
    **dict.fromkeys(('send_wildcard', 'cors_send_wildcard'),
                    'canister has no such setting: cors = * answers *, and a list of origins the origin of the '
                    'request'),
    **dict.fromkeys(('intercept_exceptions', 'cors_intercept_exceptions'),
                    'canister has no such setting: its error answers to an allowed origin carry the CORS headers '
                    'too'),
    'trusted_origins': 'did you mean csrf_trusted_origins? an origin it lists passes the CSRF check (cors lets its '
                       'pages read the answers too); trusted_proxies takes the addresses of reverse proxies',
    **dict.fromkeys(('wtf_csrf_time_limit', 'wtf_csrf_secret_key', 'wtf_csrf_field_name', 'wtf_csrf_headers',
                     'wtf_csrf_methods', 'wtf_csrf_ssl_strict', 'wtf_csrf_check_default', 'csrf_cookie_name',
                     'csrf_cookie_age', 'csrf_cookie_domain', 'csrf_cookie_path', 'csrf_cookie_secure',
                     'csrf_cookie_httponly', 'csrf_cookie_samesite', 'csrf_cookie_masked', 'csrf_header_name',
                     'csrf_use_sessions'),
                    'canister has no such setting: its CSRF check takes no token, it reads where an unsafe request '
                    'comes from (Sec-Fetch-Site, Origin, Referer); csrf turns it off'),
    'session_protection': "canister has no such setting: a session is not tied to the client's address or "
                          'browser, and a login gives it a new id',
    **dict.fromkeys(('login_view', 'login_url'),
                    'canister has no such setting: an @app.error(401) handler of the app can send a browser to '
                    'the login form (see A login form in the README)'),
    **dict.fromkeys(('login_redirect_url', 'logout_redirect_url'),
                    'canister has no such setting: the handler that logs in (canister.log_in) or out '
                    '(session.invalidate()) answers as it likes, bottle.redirect(...) say'),
    **dict.fromkeys(('max_content_length', 'data_upload_max_memory_size'), 'did you mean max_body_size?'),
    **dict.fromkeys(('data_upload_max_number_fields', 'data_upload_max_number_files'),
                    'did you mean max_form_parts? it counts the parts of a multipart form'),
    **dict.fromkeys(('session_refresh_each_request', 'session_save_every_request'),
                    'canister has no such setting: each request extends its session (session_timeout slides), '
                    'and session.remember(seconds) sends the cookie again'),
    'session_cookie_age': 'did you mean session_timeout? it is how long an unused session lives; the cookie ends '
                          'with the browser unless session_cookie_max_age (or session.remember(seconds)) gives it '
                          'a Max-Age',
    'session_expire_at_browser_close': 'canister has no such setting: the cookie ends with the browser unless '
                                       'session_cookie_max_age (or session.remember(seconds)) gives it a Max-Age',
    'session_serializer': 'canister has no such setting: session data is stored as JSON',
    'secure_hsts_seconds': 'did you mean hsts_max_age?',
    **dict.fromkeys(('secure_proxy_ssl_header', 'use_x_forwarded_host', 'use_x_forwarded_port'),
                    'did you mean trusted_proxies? it takes the addresses of the reverse proxies whose '
                    'X-Forwarded-For, -Proto and -Host canister believes'),
    **dict.fromkeys(('secure_ssl_redirect', 'https_redirect', 'ssl_redirect', 'force_https'),
                    'canister has no such setting: it redirects nothing; hsts_max_age keeps browsers that came over '
                    'HTTPS on it'),
    **dict.fromkeys(('allowed_hosts', 'trusted_hosts'),
                    'canister has no such setting: it answers whatever the Host header names, so a reverse proxy '
                    '(nginx\'s server_name) or a before_request hook of the app turns other hosts away; '
                    'trusted_proxies takes the addresses of reverse proxies'),
    **dict.fromkeys(('minimum_size', 'compresslevel', 'compress_level', 'gzip', 'compress'),
                    'canister has no such setting: it compresses no answer, a reverse proxy can (nginx\'s gzip on)'),
    **dict.fromkeys(('cors_allow_all_origins', 'cors_origin_allow_all'), 'did you mean cors? cors = * allows every '
                                                                          'origin'),
    'cors_urls_regex': 'did you mean cors_paths? it takes path prefixes, such as /api, no regular expression',
    'secret': 'did you mean auth_jwt_secret (of Bearer tokens)? sessions need no secret: the cookie holds a random id',
    'csrf_failure_view': "canister has no such setting: the CSRF check's refusal is canister's own 403, with its "
                         "message and a WARNING line, which the app's @app.error(403) handler does not replace",
}
# Flask's own settings (and Flask-CORS's, Flask-Session's, Flask-WTF's), which a Flask user puts at the top
# of the config (``app.config['SESSION_COOKIE_SECURE'] = True``), where canister never looks: each is
# reported with the canister key that does its work (None: canister has none, and its ``_FAMILIAR_NAMES`` hint says
# what does the work instead, or why none is needed: TRUSTED_HOSTS's, SESSION_USE_SIGNER's).  (SECRET_KEY is not:
# nothing goes wrong without it.)
_FLASK_SETTINGS: Dict[str, Optional[str]] = {
    'session_cookie_name': 'session_cookie', 'session_cookie_secure': 'session_secure',
    'session_cookie_samesite': 'session_samesite', 'session_cookie_partitioned': 'session_partitioned',
    'permanent_session_lifetime': 'session_timeout', 'session_type': 'session_store',
    'session_redis': 'session_store', 'max_content_length': 'max_body_size', 'cors_origins': 'cors',
    'cors_supports_credentials': 'cors_credentials', 'cors_allow_headers': 'cors_headers',
    'cors_expose_headers': 'cors_expose_headers', 'cors_methods': 'cors_methods', 'cors_max_age': 'cors_max_age',
    'wtf_csrf_enabled': 'csrf', 'trusted_hosts': None, 'cors_resources': 'cors_paths',
    'session_permanent': None, 'remember_cookie_duration': None, 'session_protection': None,
    'wtf_csrf_time_limit': None, 'session_use_signer': None,
}
# Django's settings (and django-cors-headers'), which a Django user puts at the top of the config
# (``app.config.load_module('settings')``), reported as Flask's are; the names both use are "Flask or Django".
_DJANGO_SETTINGS: Dict[str, Optional[str]] = {
    'session_cookie_name': 'session_cookie', 'session_cookie_secure': 'session_secure',
    'session_cookie_samesite': 'session_samesite', 'session_cookie_age': 'session_timeout',
    'session_engine': 'session_store', 'csrf_trusted_origins': 'csrf_trusted_origins',
    'data_upload_max_memory_size': 'max_body_size',
    'secure_hsts_seconds': 'hsts_max_age', 'secure_hsts_include_subdomains': 'hsts_include_subdomains',
    'secure_referrer_policy': 'referrer_policy', 'secure_content_type_nosniff': 'x_content_type_options',
    'x_frame_options': 'x_frame_options', 'secure_proxy_ssl_header': 'trusted_proxies',
    'use_x_forwarded_host': 'trusted_proxies', 'cors_allowed_origins': 'cors', 'cors_allow_all_origins': 'cors',
    'cors_allow_credentials': 'cors_credentials', 'cors_allow_headers': 'cors_headers',
    'cors_allow_methods': 'cors_methods', 'cors_expose_headers': 'cors_expose_headers',
    'cors_preflight_max_age': 'cors_max_age', 'allowed_hosts': None,
}
#: Each other framework's setting at the top of the config: whose it is, and the canister key that does its work
#: (None for one that canister has no key for).
_FRAMEWORK_SETTINGS = {
    **{name: ('Django', key) for name, key in _DJANGO_SETTINGS.items()},
    **{name: ('Flask or Django' if name in _DJANGO_SETTINGS else 'Flask', key) for name, key in _FLASK_SETTINGS.items()},
}


class CanisterWarning(UserWarning):
    """A problem that does not stop canister: found in the configuration at install (an unknown key), or a
    clear-text stored password given to ``verify_password``."""


def _warn_at_install(message: str) -> None:
    """A :class:`CanisterWarning` that names the app's own line: the first frame outside canister and
    bottle, the line of ``app.install(...)`` or of ``bottle.install(...)`` (which adds a frame of bottle's),
    or of a config change made after install (``Canister._config_changed``)."""
    inside = (_warn_at_install.__code__.co_filename, bottle.Bottle.install.__code__.co_filename)
    frame = sys._getframe(1)
    level = 2  # warnings counts 1 for this function, 2 for its caller
    while frame.f_back is not None and frame.f_code.co_filename in inside:
        frame = frame.f_back
        level += 1
    warnings.warn(message, CanisterWarning, stacklevel=level)


def _prefixes() -> str:
    """The families of keys, for a hint: ``auth_*, cors*, csrf, ...``."""
    families: Dict[str, List[str]] = {}
    for name in KEYS:
        families.setdefault(name.split('_', 1)[0], []).append(name)
    return ', '.join(names[0] if len(names) == 1 else first + ('*' if first in names else '_*')
                     for first, names in sorted(families.items()))


def _without_equals(name: str, value: str) -> str:
    """What to say of an ini line without its ``=``, which bottle 0.13 reads as a key of the whole line
    without a value (``None``): the line to write instead."""
    return ('the line has no =, so Bottle reads all of it as the name of a key without a value: write %s = %s'
            % (name, value))


def _unknown_line_note(key: str, words: List[str], known: bool) -> Union[str, List[str]]:
    """The warning of an unknown key that is no known key's name followed by the rest of a line: after a name that
    looks secret, the rest masked (``secret_key hunter2``: it is the secret); else the closest key of a line's first
    word (a list, maybe empty), to say what to write."""
    if len(words) == 2 and not known and _is_secret_name(words[0]):
        return 'unknown config key canister.%s *** (%s)' % (words[0], _unknown_key_hint(words[0]))
    close = difflib.get_close_matches(words[0], list(KEYS) + list(ALIASES), n=1) if len(words) == 2 else []
    if len(words) < 2 or not (known or close):
        return 'unknown config key canister.%s (%s)' % (key, _unknown_key_hint(key))
    return close


def _unknown_key_note(key: str, value: Any) -> str:
    """The warning of an unknown key; for an ini line without its ``=`` (``log_path stderr``, which bottle
    0.13 reads as a key of that name without a value), the line to write instead."""
    words = key.split(None, 1)
    known = ALIASES.get(words[0], words[0]) in KEYS if words else False
    close = _unknown_line_note(key, words, known)
    if isinstance(close, str):
        return close
    name = words[0] if known else close[0]
    if _redacted(name, words[1]) == '***':  # (a password after the name: shown nowhere)
        return ('unknown config key canister.%s *** (a line without =, which Bottle reads as the name of a key: '
                'write %s = and then the value)' % (words[0], name))
    if value is None:
        return 'unknown config key canister.%s (%s)' % (key, _without_equals(name, words[1]))
    return ('unknown config key canister.%s (a line without = after %s, whose name Bottle reads up to its first : '
            'or =: write %s = and then the whole value)' % (key, words[0], name))


def _unknown_key_hint(key: str) -> str:
    """The hint after an unknown key: canister's for a name Flask or Starlette users know, else the
    closest known key, else the families of keys."""
    if key in _FAMILIAR_NAMES:
        return _FAMILIAR_NAMES[key]
    close = difflib.get_close_matches(key, list(KEYS) + list(ALIASES), n=1)
    if close:
        return 'did you mean %s?' % close[0]
    return ('no known key is close; keys start with %s, and '
            '`python -m canister keys` lists them all' % _prefixes())


def _is_secret_name(name: str) -> bool:
    """True if a (decoded) name looks like it holds a secret: ``password``, ``PWD``, ``api_key``..."""
    if name.isascii() and _SECRET_STEM.search(name.lower()) is None:
        return False  # (see _SECRET_STEM)
    return _SECRET_NAME.search(name) is not None


#: A member's name in JSON text (``"password":``), as a query value or a form field may carry one.
_JSON_MEMBER = re.compile(r'"((?:[^"\\]|\\.){1,100})"\s*:')


def _member_name(written: str) -> str:
    """A JSON member's name as JSON reads it: its escapes decoded (``pass\\u0077ord`` is ``password``)."""
    if '\\' not in written:
        return written
    try:
        return json.loads('"%s"' % written)
    except ValueError:
        return written


def _holds_secret_member(text: str) -> bool:
    """True if a (decoded) text holds a JSON member whose name looks secret (``cfg={"password": ...}``)."""
    return '"' in text and any(_is_secret_name(_member_name(name)) for name in _JSON_MEMBER.findall(text))


def _query_value_holds_secret_member(value: str) -> bool:
    """``_holds_secret_member`` of a query value as sent: decoded only when it can hold a ``"`` (as
    itself or ``%22``), so that the values of other queries are not decoded for nothing."""
    return ('"' in value or '%22' in value) and _holds_secret_member(urllib.parse.unquote_plus(value))


def _query_value_holds_user_information(value: str) -> bool:
    """True if a query value as sent holds a URL with user information, encoded or not (``https://bob:pw@host/``),
    which :func:`_mask_urls` would mask: decoded only when it can hold one (an ``@``, as itself or ``%40``)."""
    if '@' not in value and '%40' not in value:
        return False
    return any('@' in match.group(3) for match in _URL.finditer(urllib.parse.unquote_plus(value)))


def _redact_query(query: str) -> str:
    """The query string with the value of every secret-looking name (decoded) written as ``***``.
    A ``;`` separates names too, as some servers and parsers have it (Bottle does not, so the
    masked value runs on to the next ``&``): ``lang=en;access_token=***&page=2``.  So is a value holding
    JSON text with a secret-looking member: ``cfg=***`` for ``cfg={"password": ...}``, and a value holding a URL with
    user information: ``next=***`` for ``next=https://bob:pw@host/``."""
    if '%' not in query and query.isascii() and _QUERY_STEM.search(query.lower()) is None:
        return query  # no name can decode to a secret one, no value holds a URL's password (see _QUERY_STEM)
    return _masked_query(query)


def _masked_query(query: str) -> str:
    """:func:`_redact_query` by the full rule, every name decoded and every value looked at (no pre-filter)."""
    parts = []
    for part in query.split('&'):
        start = 0
        for piece in part.split(';'):
            name, _, value = piece.partition('=')
            if (_is_secret_name(urllib.parse.unquote_plus(name)) or _query_value_holds_secret_member(value)
                    or _query_value_holds_user_information(value)):
                equals = part.find('=', start)  # (Bottle's name `access_token;x` looks secret too)
                if equals >= 0:
                    part = part[:equals + 1] + '***'
                break
            start += len(piece) + 1
        parts.append(part)
    return '&'.join(parts)


def _mask_urls(text: str) -> str:
    """Hide the secrets of every URL in a text: the password of its user information
    (``redis://:pw@host`` -> ``redis://:***@host``) and the values of secret-looking names in its
    query and fragment (``?password=***``, ``#access_token=***``, as :func:`_redact_query` masks them)."""
    if '@' not in text and '?' not in text:
        return text

    def mask(match: typing.Match[str]) -> str:
        quote, scheme, rest = match.groups()
        close = ''
        if quote and rest.endswith(quote):  # 'redis://...' in a message: the quote is no part of the URL
            rest, close = rest[:-1], quote
        userinfo, at, rest = rest.rpartition('@')
        if at:
            user, sep, _ = userinfo.partition(':')
            userinfo = (user + ':***' if sep else '***') + at
        rest, hash_, fragment = rest.partition('#')
        rest, question, query = rest.partition('?')
        return (quote + scheme + userinfo + rest + question + _redact_query(query) + hash_ + _redact_query(fragment)
                + close)
    return _URL.sub(mask, text)


#: The start of a value that is one URL, up to its user information: the scheme, ``:`` and any ``/``.
_URL_START = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:/*')
#: The keys whose whole value is one URL (or ``memory``, a file's ``sqlite:///`` URL).
_URL_KEYS = frozenset(('session_store', 'auth_jwt_jwks_url'))


def _mask_url_value(url: str) -> str:
    """A value that is one URL, as the log may show it: everything between the scheme and the value's last ``@``
    masked, whatever it holds (a password with a space, or a URL missing its ``//``: ``redis:pw@host``), then the
    rest as :func:`_mask_urls` masks it.  A file's ``sqlite:///`` URL is a path, ``@`` and all (``app@blue/``)."""
    if url[:10].lower() == 'sqlite:///':
        return url
    start = _URL_START.match(url)
    at = url.rfind('@')
    if start is not None and at > start.end():
        user, sep, _ = url[start.end():at].partition(':')
        url = url[:start.end()] + (user + ':***' if sep else '***') + url[at:]
    return _mask_urls(url)


def _shown_origin(origin: str) -> str:
    """A client's ``Origin`` as a log line and a 403 show it: its user information masked (no browser sends
    one, any client can: ``http://bob:***@evil.example``), escaped, cut to 100 characters."""
    return _escape(_mask_url_value(origin))[:100]


def _redacted(key: str, value: Any) -> Any:
    """A value as the log may show it: ``***`` for a secret key, passwords in URLs masked.  A switch
    is no secret, whatever its name says (``cors_credentials``): its value, even a mistyped one, is shown;
    nor is the name of the session cookie (``session_cookie``)."""
    spec = KEYS.get(key)
    if value and _is_secret_name(key) and key not in _SHOWN_KEYS and not (spec is not None and spec.parse is _as_bool):
        return '***'
    if isinstance(value, str):
        return _mask_url_value(value) if key in _URL_KEYS else _mask_urls(value)
    return value


def _framework_settings_notes(settings: List[Any], given: typing.Set[str]) -> List[str]:
    """What to say of the Flask or Django ``settings`` at the top of the app's config: each with the canister
    key that does its work, but for a key ``given`` too (then the setting is for another app sharing the config);
    one canister has no key for (ALLOWED_HOSTS) with what does its work instead, as that name's hint says it."""
    notes = []
    for name in settings:
        framework, key = _FRAMEWORK_SETTINGS[str(name).lower()]
        if key is None:
            notes.append('app.config[%r] is a %s setting, which canister does not read (%s)'
                         % (name, framework, _FAMILIAR_NAMES[str(name).lower()]))
        elif key not in given:
            notes.append("app.config[%r] is a %s setting, which canister does not read: write canister.%s "
                         "(or Canister(%s=...))" % (name, framework, key, key))
    return notes


#: How the names of canister's keys that no other part of an app would use begin.
_OWN_KEY_NAMES = ('session_', 'auth_', 'cors', 'csrf', 'trusted_proxies', 'hsts_')


def _keys_elsewhere(app_config: Mapping[str, Any], overrides: Mapping[str, Any]) -> List[str]:
    """What to say of canister's keys outside its section (``[app] session_store = ...`` in an ini
    file: ``app.session_store``) when the app's config has none in it: they are not used, and the
    app would run on the defaults, the memory store among them, without a word.  Only names no
    other part of an app would use are looked for (``log_level`` or ``debug`` may be the app's own),
    and not those given as keyword arguments."""
    stray = sorted(str(key) for key in app_config if str(key).rpartition('.')[2].lower() in KEYS
                   and str(key).rpartition('.')[2].lower().startswith(_OWN_KEY_NAMES)
                   and str(key).rpartition('.')[2].lower() not in overrides)
    if not stray:
        return []
    them = 'it' if len(stray) == 1 else 'them'
    return ['the app\'s config holds %s, but canister reads only the keys of its own section (canister.%s: '
            '[canister] in an ini file), and has none there, so it does not use %s; move %s under [canister]'
            % (', '.join(stray), stray[0].rpartition('.')[2].lower(), them, them)]


def _is_canister_key(key: Any) -> bool:
    """True for a key of the app's config that canister reads: ``canister.*`` in any case (bottle 0.12 keeps an
    ini file's ``[Canister]`` section as written, ``Canister.session_timeout``; 0.13 puts it in lower case)."""
    return str(key).lower().startswith('canister.')


class Config(Dict[str, Any]):
    """Validated canister settings, parsed once when the plugin is installed."""

    def __init__(self, values: Optional[Mapping[str, Any]] = None, **overrides: Any) -> None:
        super().__init__()
        #: Messages about unknown keys, logged once logging is ready.
        self.warnings: List[str] = []
        #: Known keys the app's config gives as None (an ini line without ``=``, as bottle 0.13 reads it, or a
        #: None set in Python: nothing tells the two apart).
        self._bare: typing.Set[str] = set()
        #: Known keys given as keyword arguments (Python values, which no ini file read).
        self._keyword: typing.Set[str] = set()
        given = self._known(values, overrides)
        if self._log_path_unused(given, 'log_level' in self._keyword):
            given['log_path'] = 'stderr'  # (empty, as 1.x wrote it: read as 1.x did, where nothing is written)
        for spec in KEYS.values():
            self[spec.name] = self._parse(spec, given.get(spec.name, spec.default), spec.name in self._bare,
                                          spec.name in self._keyword)
        self.warnings += self._without_effect()

    @classmethod
    def _log_path_unused(cls, given: Mapping[str, Any], keyword: bool = False) -> bool:
        """True if ``log_path`` is given empty (``log_path =``, None) with ``log_level = DISABLED``, which
        writes no line anywhere: the emptiness that is refused otherwise harms nothing there."""
        path = given.get('log_path', KEYS['log_path'].default)
        if path is not None and not (isinstance(path, (str, bytes)) and not path.strip()):
            return False
        level = cls._parse(KEYS['log_level'], given.get('log_level', KEYS['log_level'].default), keyword=keyword)
        return bool(level == 'DISABLED')

    def _without_effect(self) -> List[str]:
        """A warning for each setting that does nothing, or lets in too much, without another one
        (the install goes on)."""
        notes = (self._basic_auth_without_effect() + self._jwt_without_effect() + self._names_meet_subs()
                 + self._cors_without_effect())
        if self['session_partitioned'] and self['session_samesite'] != 'None':
            notes.append('canister.session_partitioned is set without session_samesite = None: the requests of '
                         'another site\'s page, which it is for, neither get nor send the cookie')
        if self['csrf_trusted_origins'] and not self['csrf']:
            notes.append('canister.csrf_trusted_origins is set with csrf = false: it has no effect (every origin '
                         'passes when the check is off)')
        if self._csrf_refuses_own_forms():
            notes.append('canister.referrer_policy = no-referrer with csrf on: under that policy a browser sends '
                         'Origin: null on the app\'s own form posts, and one that sends no Sec-Fetch-Site (any '
                         'browser over plain HTTP to a host that is not loopback, as localhost and 127.0.0.1 are, '
                         'and an older one, such as Safari before 16.4, over HTTPS too) is refused there with 403; '
                         'keep another policy, such as the default or same-origin')
        if self['debug']:  # (1.x's docs wrote debug=False; True is someone asking for tracebacks)
            notes.append('canister.debug = True has no effect, as in canister 1.x: for Bottle\'s debug mode, whose '
                         'error pages show the traceback, call bottle.debug(True) (never in production)')
        return notes

    def _cors_without_effect(self) -> List[str]:
        """The warnings of ``_without_effect`` about CORS with credentials."""
        if not self['cors']:
            return ['canister.%s is set without cors: it has no effect' % key
                    for key in ('cors_credentials', 'cors_paths') if self[key]]
        if not self['cors_credentials']:
            return []
        notes = []
        if any(origin.lower() == 'null' for origin in self['cors']):
            notes.append('canister.cors lists null with cors_credentials = true: any site\'s page sends the null '
                         'origin from a sandboxed frame, so every site may call with the user\'s credentials and '
                         'read the answers, as cors = * with credentials would (which is refused); list the '
                         'origins that need credentials instead')
        if '*' in self['cors_expose_headers']:
            notes.append('canister.cors_expose_headers = * with cors_credentials = true: on a request with '
                         'credentials a browser reads * as a header named "*", and the page reads no header of the '
                         'answer (not even X-Request-ID); list the header names instead')
        return notes

    def _csrf_refuses_own_forms(self) -> bool:
        """True if the CSRF check refuses the app's own form posts from a browser without ``Sec-Fetch-Site``:
        the policy it uses (the last of a list) is ``no-referrer``, and ``null`` is not a listed origin."""
        policy = self['referrer_policy'].rpartition(',')[2].strip()
        return (bool(self['csrf']) and policy == 'no-referrer'
                and not any(origin.lower() == 'null' for origin in self['cors']))

    def _basic_auth_without_effect(self) -> List[str]:
        """The warnings of :meth:`_without_effect` about a Basic user without a password, or the reverse."""
        notes = []
        if self['auth_basic_username'] and not self['auth_basic_password']:
            notes.append('canister.auth_basic_username = %r has no auth_basic_password: that user cannot log in '
                         '(an empty password is never accepted); give it the line python -m canister '
                         'hash-password prints' % self['auth_basic_username'])
        if self['auth_basic_password'] and not self['auth_basic_username']:
            notes.append('canister.auth_basic_password is set without auth_basic_username: it is not used')
        return notes

    def _names_meet_subs(self) -> List[str]:
        """The warning of :meth:`_without_effect` about Basic users beside a provider's tokens of no pinned issuer,
        where a token without ``iss`` is keyed by its ``sub`` as a name (``_user_key``): the Basic user of that name."""
        provider = 'auth_jwt_jwks_url' if self['auth_jwt_jwks_url'] else 'auth_jwt_public_key'
        if not (self[provider] and (self['auth_basic_username'] or self['auth_basic_users_file'])
                and not self['auth_jwt_issuer']):
            return []
        return ['canister.%s is set with Basic users and without auth_jwt_issuer: a token without iss is keyed by '
                'its sub as a name, so a provider account whose sub is a Basic user\'s name (alice) shares that '
                'user\'s sessions_of, end_sessions and session_max_per_user; set auth_jwt_issuer to the provider\'s '
                'issuer (a token without iss is then refused)' % provider]

    def _jwt_without_effect(self) -> List[str]:
        """The warnings of :meth:`_without_effect` about a JWT client id without a key, or the reverse."""
        notes = []
        if self['auth_jwt_client_id'] and not (self['auth_jwt_secret'] or self['auth_jwt_public_key']
                                               or self['auth_jwt_jwks_url']):
            notes.append('canister.auth_jwt_client_id is set without auth_jwt_secret, auth_jwt_public_key or '
                         'auth_jwt_jwks_url: Bearer tokens are not checked, and nobody logs in with one')
        provider = 'auth_jwt_jwks_url' if self['auth_jwt_jwks_url'] else 'auth_jwt_public_key'
        if self[provider] and not self['auth_jwt_client_id']:
            notes.append('canister.%s is set without auth_jwt_client_id: a token the provider signed for any '
                         'other application logs in too; set auth_jwt_client_id to this app\'s client id (the '
                         'audience its tokens name)' % provider)
        if _is_plain_http_afar(self['auth_jwt_jwks_url']):
            notes.append('canister.auth_jwt_jwks_url = %s is plain http:// to another host: anyone on the network '
                         'path can answer with keys of their own, and then sign tokens that log in; use the '
                         'provider\'s https:// URL' % self['auth_jwt_jwks_url'])
        return notes

    def _known(self, values: Optional[Mapping[str, Any]], overrides: Mapping[str, Any]) -> Dict[str, Any]:
        """The given values of known keys (aliases resolved); a warning for each unknown key.

        Keyword overrides win over the app's config; within one of them, a key given under two
        spellings (``session_timout`` and ``session_timeout``, ``CORS`` and ``cors``) must have one value.
        """
        given: Dict[str, Any] = {}
        for source in (dict(values or {}), overrides):
            spelled: Dict[str, str] = {}
            for raw_key, value in source.items():
                key = str(raw_key).lower()
                key = ALIASES.get(key, key)
                if key in KEYS:
                    if key in spelled:
                        self._same_value(KEYS[key], spelled[key], given[key], str(raw_key), value, source is overrides)
                    spelled[key] = str(raw_key)
                    given[key] = value
                    if source is overrides:
                        self._keyword.add(key)
                    if value is None and source is not overrides:
                        self._bare.add(key)
                    else:
                        self._bare.discard(key)
                else:
                    self.warnings.append(_unknown_key_note(key, value))
        return given

    @classmethod
    def _same_value(cls, spec: _Key, name: str, value: Any, other_name: str, other: Any, keyword: bool) -> None:
        """Refuse one setting given twice with different values (which one won would depend on the order)."""
        if value == other or cls._parse(spec, value, keyword=keyword) == cls._parse(spec, other, keyword=keyword):
            return
        raise ConfigError('canister.%s = %r and canister.%s = %r both set %s, with different values: give it once'
                          % (name, _redacted(spec.name, value), other_name, _redacted(spec.name, other), spec.name))

    @staticmethod
    def _parse(spec: _Key, value: Any, bare: bool = False, keyword: bool = False) -> Any:
        """One key's value, parsed and checked; :class:`ConfigError` says what is wrong (for a None that
        is ``bare``, from the app's config: that it has no value, set in Python or on an ini line without ``=``;
        for an inline comment or quotes, worded for a ``keyword`` argument or for the app's config, which an ini
        file or Python may fill)."""
        if isinstance(value, str):
            problem = _written_wrong(value, keyword)
            if problem:
                shown = _redacted(spec.name, value)
                raise ConfigError('canister.%s%s %s' % (spec.name, '' if shown == '***' else ' = %r' % shown, problem))
        if bare and value is None:  # (before parsing: a text key would take None as '')
            raise ConfigError('canister.%s has no value (None: set in Python, as os.environ.get() gives for a variable '
                              'that is not set, give it a value or leave the key out; in an ini file, %s)'
                              % (spec.name, _without_equals(spec.name, 'and then the value')))
        try:
            return spec.parse(value)
        except ValueError as error:
            # (the reason may quote the value, as an origin's does: masked as the value is)
            raise ConfigError('canister.%s = %r is not valid: %s'
                              % (spec.name, _redacted(spec.name, value), _mask_urls(str(error)))) from None

    @classmethod
    def from_app(cls, app_config: Mapping[str, Any], overrides: Mapping[str, Any]) -> 'Config':
        """Read the ``canister.*`` keys of a Bottle config, then apply keyword overrides."""
        values = {key[len('canister.'):]: value for key, value in app_config.items() if _is_canister_key(key)}
        config = cls(values, **overrides)
        others = [key for key in app_config if str(key).lower() in _FRAMEWORK_SETTINGS]
        config.warnings += _framework_settings_notes(others, {str(key).lower() for key in values} | set(overrides))
        if not values:  # (a Flask or Django setting is named once, as such)
            config.warnings.extend(_keys_elsewhere({key: None for key in app_config if key not in others}, overrides))
        for message in config.warnings:  # on the terminal, at the app's install line, as well as in the log
            _warn_at_install(message)
        return config

    def redacted_items(self) -> List[Tuple[str, Any]]:
        """The settings, with every value whose key names a secret written as ``***``."""
        return [(key, _redacted(key, value)) for key, value in self.items()]


###############################################################################
# Request Logging #############################################################
###############################################################################

_LOG_FILE = re.compile(r'^log\.(\d{4}-\d{2}-\d{2})$')

#: A line's time, ``2026-07-02 09:38:31,022``: the second's text, then the milliseconds.
_STAMP = '%s,%03d'
#: The second's text of a line's time (``time.strftime``'s format, local time).
_SECOND = '%Y-%m-%d %H:%M:%S'


#: ``os.open``'s flag that refuses a symbolic link in a log file's place (0 where the system has none: Windows).
_NO_FOLLOW = getattr(os, 'O_NOFOLLOW', 0)
#: A last line that has been left unended this long (seconds since the log file last changed) is cut short: its
#: writer is gone (``_LogSink._end_line_cut_short``).
_CUT_AFTER = 1.0


def _stamp(now: float) -> str:
    """The time ``now`` as a log line starts with it (``2026-07-02 09:38:31,022``, local time)."""
    second = int(now)
    return _STAMP % (time.strftime(_SECOND, time.localtime(second)), (now - second) * 1000)


class _LogSink:
    """Writes finished lines to today's file, opened by its date and never renamed.

    Every line is one ``os.write`` on a file opened with ``O_APPEND``, so several
    processes can share a directory without interleaving, and the day boundary
    needs no rename (the classic rotation race).  The write happens under the lock
    that guards the descriptor: a thread must never write to a number another thread
    has just closed, since the next accepted connection may get that number.
    """

    def __init__(self, path: str, days: int, line_format: str) -> None:
        #: The log directory, or ``stderr`` or ``stdout``.
        self.path = path
        #: Days of daily files kept (older ones are deleted).
        self.days = days
        #: Guards the descriptor: taken around every write, switch and close.
        self._lock = threading.Lock()
        _SINK_LOCKS.add(self)
        #: The date of the open file (``YYYY-MM-DD``); ``*`` for a stream, which has no days.
        self._day = ''
        #: The open file (or 1, 2 for a stream); -1 when none is open.
        self._fd = -1
        #: When (``time.monotonic()``) that file was opened: a clock no NTP step moves, to tell a leap of the date
        #: from days of a process that wrote nothing (``_leapt``).
        self._opened_at = time.monotonic()
        #: Writing failed, and stderr said so (until a line is written again).
        self._failing = False
        #: The last line was cut short (a full disk took part of it): the next one ends it first.
        self._cut = False
        #: When (``_monotonic()``) the file is next checked to still be the one its name gives.
        self._next_check = 0.0
        #: The day's file could not be opened, and lines go on to the one open before (``_switch``).
        self._kept = False
        #: No new attempt to open the day's file before this ``time.monotonic()`` (once one failed).
        self._retry_at = 0.0
        #: The ``log_days`` of each installed plugin that writes here (``days`` is the largest).
        self.retention: List[int] = [days]
        #: The ``log_format`` of each installed plugin that writes here (known before the first file's
        #: old files are deleted, whose failure ``_tell`` writes in it).
        self.formats: List[str] = [line_format]
        #: Old files whose deletion failed, and stderr said so.
        self._undeletable: typing.Set[str] = set()
        #: Why the directory could not be listed, as stderr said it ('' once it can be again): told once, not daily.
        self._unlistable = ''
        if path in ('stderr', 'stdout'):
            self._fd = 2 if path == 'stderr' else 1
            self._day = '*'
        else:
            with self._lock:
                self._open(time.strftime('%Y-%m-%d', time.localtime(_now())))

    def _open(self, day: str) -> None:
        """Switch to the file of ``day`` (called with the lock held)."""
        os.makedirs(self.path, 0o750, exist_ok=True)  # (as the files' 0640: their group may read, no one else)
        name = os.path.join(self.path, 'log.' + day)
        try:
            fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NO_FOLLOW, 0o640)
        except OSError as error:
            if error.errno == errno.ELOOP and _NO_FOLLOW:
                # Whoever could put a link here could aim it at any file the app may write: its lines (a URL the
                # client chose) would be appended there.
                raise OSError(errno.ELOOP, 'log.%s is a symbolic link, which canister does not follow' % day) from None
            raise
        old, before, self._fd, self._day = self._fd, self._day, fd, day
        opened_before, self._opened_at = self._opened_at, time.monotonic()
        # A new file has no line cut short to end.  ``_failing`` stays as it is: if opening failed
        # before (midnight on a full disk), the first line written here says logging works again.
        self._cut = False
        if old >= 0:
            os.close(old)
        self._end_line_cut_short(wait=True)
        if not self._leapt(before, day, self._opened_at - opened_before):
            self._delete_old(day)

    def _leapt(self, before: str, day: str, elapsed: float) -> bool:
        """True, and stderr told, if the date went on from ``before`` (the day of the file open until now) to
        ``day`` by more than ``days`` beyond the ``elapsed`` seconds since that file was opened: a wall clock set
        ahead (by a year, an NTP server gone wrong) would otherwise delete every file of the log, today's before
        the leap too.  The next day's file deletes them.  (A process that wrote nothing for as long is no leap:
        judged by the date alone, one that writes less often than every ``days`` days would never delete.)"""
        if not self.days or not _LOG_FILE.match('log.' + before) or before > day:
            return False
        leap = (datetime.date.fromisoformat(day) - datetime.date.fromisoformat(before)).days
        if leap - elapsed / 86400 <= self.days:
            return False
        self._tell('canister: the date went from %s to %s, %d days at once, more than log_days (%d): no old log '
                   'file is deleted now (a clock set ahead would take every file with it); those older than %d days '
                   'are deleted at the next day\'s file' % (before, day, leap, self.days, self.days))
        return True

    def _delete_old(self, today: str) -> None:
        """Delete the files more than ``days`` days older than ``today``, counted in calendar days
        (not in 86,400 seconds: a day of a daylight saving change has 23 or 25 hours)."""
        if not self.days:  # (log_days = 0: every file is kept)
            return
        cutoff = (datetime.date.fromisoformat(today) - datetime.timedelta(days=self.days)).isoformat()
        # A failure here is told, never raised: the day's file is open and in use, whatever this finds.
        for name in self._names(today):
            match = _LOG_FILE.match(name)
            if match and match.group(1) < cutoff:
                path = os.path.join(self.path, name)
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass  # (another worker sharing the directory deleted it first: the aim is met)
                except OSError as error:
                    if path not in self._undeletable:  # (once per file: each new day's file tries again)
                        self._undeletable.add(path)
                        self._tell('canister: cannot delete the old log file %s: %s' % (path, error.strerror or error))

    def _names(self, today: str) -> List[str]:
        """The names in the log directory; none if it cannot be listed, which stderr is told once until the
        reason changes or it can be listed again (not at every day's file)."""
        try:
            names = os.listdir(self.path)
        except OSError as error:
            why = str(error.strerror or error)
            if why != self._unlistable:
                self._unlistable = why
                self._tell('canister: cannot delete the log files older than %d days: cannot list %s: %s; lines go '
                           'on to %s' % (self.days, self.path, why, os.path.join(self.path, 'log.' + today)))
            return []
        self._unlistable = ''
        return names

    def _end_line_cut_short(self, wait: bool = False) -> None:
        """End the file's last line if it is cut short (called with the lock held, at open and once a second).

        A process killed mid-write (a gunicorn worker past its timeout, the OOM killer) can leave part of a
        line: the kernel may stop a write at any page boundary of the file.  The next line would go on it.
        But another process's line being written is in the file only in part too (its pages appear one after
        the other): ended then, it would be followed by an empty line.  So a last line is taken as cut short
        only if the file was last changed ``_CUT_AFTER`` seconds ago or more (each write sets that time as it
        begins: no write takes that long).  With ``wait`` (at open), a last line that is not yet that old is
        looked at again until it is, or is ended by its writer, or the file changes: a worker started after
        another was killed then ends the cut line before its first line, at the cost of up to that time.  (What is
        left: a line another process begins in the microseconds between the look and the newline, or another process
        ending the same line at that moment, after a second without any line, meets an empty line.)"""
        reader = self._reader()
        if reader < 0:
            return
        try:
            cut = self._cut_for(reader, wait)
        finally:
            os.close(reader)
        if cut:
            os.write(self._fd, b'\n')

    def _reader(self) -> int:
        """A descriptor reading the open day's file by its name (the log's own is open for writing only), or -1
        if it cannot be opened."""
        try:
            return os.open(os.path.join(self.path, 'log.' + self._day), os.O_RDONLY | _NO_FOLLOW)
        except OSError:
            return -1

    @staticmethod
    def _unended(reader: int, size: int) -> bool:
        """True if the file read by ``reader``, ``size`` bytes long, ends in a line not yet ended."""
        return size > 0 and os.pread(reader, 1, size - 1) != b'\n'

    @staticmethod
    def _cut_for(reader: int, wait: bool) -> bool:
        """True if the file read by ``reader`` ends in a line not yet ended and was last changed ``_CUT_AFTER``
        seconds ago or more (with ``wait``, waiting for that while its end stays as it is)."""
        give_up = time.monotonic() + _CUT_AFTER
        seen: Optional[int] = None
        while True:
            status = os.fstat(reader)
            if not _LogSink._unended(reader, status.st_size):
                return False
            if time.time() - status.st_mtime >= _CUT_AFTER:  # (the wall clock, as the file's time is)
                return True
            if not wait or seen not in (None, status.st_size) or time.monotonic() >= give_up:
                return False  # (a file that changes has a writer: it ends the line, or the next check looks)
            seen = status.st_size
            time.sleep(0.01)

    def _still_there(self) -> bool:
        """True if the open file is still the one its name leads to (not deleted or replaced)."""
        try:
            named = os.stat(os.path.join(self.path, 'log.' + self._day))
            opened = os.fstat(self._fd)
        except OSError:
            return False
        return (named.st_ino, named.st_dev) == (opened.st_ino, opened.st_dev)

    def _switch(self, day: str) -> None:
        """Open the file of ``day`` (with the lock held).  If it cannot be opened (a directory made
        unwritable, a file that logrotate's ``create`` made for another user) while the file open now is
        still on disk (renamed, or yesterday's), lines go on to that one, and opening is tried again
        each second: no line is lost meanwhile."""
        if self._kept and time.monotonic() < self._retry_at:
            return
        try:
            self._open(day)
        except OSError as error:
            if self._fd < 0 or os.fstat(self._fd).st_nlink == 0:
                raise
            self._retry_at = time.monotonic() + 1.0
            if not self._kept:
                self._kept = True
                self._tell('canister: cannot open %s: %s; lines go on to the file open before (log.%s, or the '
                           'name it was renamed to) until it can' % (os.path.join(self.path, 'log.' + day),
                                                                     error.strerror or error, self._day))
            return
        if self._kept:
            self._kept = False
            self._tell('canister: logging to %s works again' % self.path, 'INFO')

    def close(self) -> None:
        with self._lock:
            if self._fd > 2:
                os.close(self._fd)
            self._fd, self._day = -1, 'closed'  # a straggling line after uninstall is dropped

    def write(self, line: str, day: str) -> None:
        """Append one line (ending in a newline), switching files when the day changed."""
        data = line.encode('utf-8', 'backslashreplace')
        lock = self._lock
        try:
            lock.acquire()  # (not ``with``: its __enter__ and __exit__ calls cost twice this, on every line)
            try:
                if self._fd < 0:
                    return
                if self._day != '*':
                    if day != self._day:
                        self._switch(day)
                    elif _monotonic() >= self._next_check:
                        self._next_check = _monotonic() + 1.0
                        if not self._still_there():
                            self._switch(day)
                        else:
                            self._end_line_cut_short()
                if self._failing:  # (a cut line fails too)
                    self._write_again(data)
                else:
                    self._put(data)
            finally:
                lock.release()
        except OSError as error:
            self._next_check = 0.0  # the file is looked at again before the next line goes to it
            if not self._failing:
                self._failing = True
                self._tell('canister: logging to %s failed: %s' % (self.path, error), 'ERROR')

    def _write_again(self, data: bytes) -> None:
        """Write a line after writing failed (with the lock held): end a line cut short first (if the file still
        ends in it: a ``copytruncate`` may have emptied it since), and once it is written, say that logging works
        again."""
        if self._cut and self._ends_unended():
            data = b'\n' + data
        self._put(data)
        self._cut = self._failing = False
        self._tell('canister: logging to %s works again' % self.path, 'INFO')

    def _ends_unended(self) -> bool:
        """True if the open day's file ends in a line not yet ended (looked at only after a line was cut short)."""
        reader = self._reader()
        if reader < 0:
            return True  # (as before the look: a file that cannot be read is not known to end in a newline)
        try:
            return self._unended(reader, os.fstat(reader).st_size)
        finally:
            os.close(reader)

    def _put(self, data: bytes) -> None:
        """Write ``data`` (with the lock held).  A pipe (``stdout``, ``stderr``) takes a long line in
        parts when a signal arrives while the write waits for room, and is given the rest; a file
        that takes only part of a line is full, and the line is cut short."""
        if self._day == '*' and _sleep_lets_others_run():
            # Under gevent a write that waits for room in a full pipe (a collector that stopped
            # reading) would stop every greenlet, the thread being theirs too: gevent's select waits
            # for the room in the hub instead (the other greenlets run; those that log wait for the lock).
            select.select((), (self._fd,), ())
        written = os.write(self._fd, data)
        if written != len(data):  # (the rare case in a function of its own: one test for every line)
            self._put_rest(data, written)

    def _put_rest(self, data: bytes, written: int) -> None:
        """``_put`` of a line the first write took only part of (with the lock held)."""
        try:
            while 0 < written < len(data) and self._day == '*':
                written += os.write(self._fd, data[written:])
        finally:
            if written != len(data):
                self._cut = True
        if written != len(data):
            raise OSError('a line was cut short (is the disk full?)')

    def _tell(self, text: str, level: str = 'WARNING') -> None:
        """One line on stderr about the log itself (its failures, once per outage), after the time as a
        log line writes it, so that it can be put beside the log's lines; a JSON object as canister's JSON
        lines are (``request_id`` empty) when an app logging here writes them: stderr may be the log itself,
        or read by the same collector."""
        try:
            if 'json' in self.formats:
                line = _LineFormat(True).line(_now(), level, threading.current_thread().name, text, '')[0]
            else:
                line = '%s %s\n' % (_stamp(_now()), text)
            sys.stderr.write(line)
        except Exception:
            pass


_SINKS: Dict[str, _LogSink] = {}
_SINKS_LOCK = threading.Lock()
#: Each sink's lock is held across a fork, after ``_SINKS_LOCK``: a child must not inherit one
#: locked by a thread it lacks (its first log line would wait forever).  The descriptors themselves
#: are shared: every line is one ``O_APPEND`` write, whoever writes it.
_SINK_LOCKS = _ForkLocks(first=_SINKS_LOCK)


def _days_kept(retention: List[int]) -> int:
    """The ``log_days`` of files shared by apps that asked for ``retention``: no app's files are deleted sooner
    than it asked, and 0 (keep every file) outlasts any number."""
    return 0 if 0 in retention else max(retention)


def _sink_for(path: str, days: int, line_format: str) -> _LogSink:
    """One sink per destination, shared by every app that logs there (``line_format``: its
    ``log_format``, which ``_format_clash`` compares with the others')."""
    key = path if path in ('stderr', 'stdout') else os.path.abspath(path)
    with _SINKS_LOCK:
        sink = _SINKS.get(key)
        if sink is None:
            try:
                sink = _LogSink(key, days, line_format)
            except OSError as error:
                raise ConfigError('canister cannot write its log to %s: %s (fix canister.log_path, '
                                  'or set log_path = stderr)' % (key, error.strerror or error)) from None
            _SINKS[key] = sink
            if key not in ('stderr', 'stdout'):
                _tell_terminal_where(sink)
            return sink
        sink.retention.append(days)
        sink.days = _days_kept(sink.retention)
        sink.formats.append(line_format)
        return sink


#: The directories of log files this process told its terminal of (``_tell_terminal_where``): each once, also when
#: an uninstall closed their sink and a later install opens it again.
_TERMINAL_TOLD: typing.Set[str] = set()


def _tell_terminal_where(sink: _LogSink) -> None:
    """Say where the log goes, in one line on stderr, when this process first logs to files there and stderr is a
    terminal: a newcomer's ``app.run()`` shows Bottle's access lines there, and else none of canister's.  Not when
    stderr is no terminal (a server under systemd, a pipe, tests, CI), nor in the child of Bottle's reloader, whose
    parent said it (each reload would say it again).  A server's workers that each import the app, with stderr on a
    terminal (``gunicorn app:app`` typed in), say it each, as each says it is booting.  Called under
    ``_SINKS_LOCK``."""
    if sink.path in _TERMINAL_TOLD:
        return
    try:
        if os.environ.get('BOTTLE_CHILD') or sys.stderr is None or not sys.stderr.isatty():
            return
    except (AttributeError, ValueError):  # (a stderr replaced by something without isatty, or closed)
        return
    _TERMINAL_TOLD.add(sink.path)
    sink._tell("canister: the log goes to files in %s, not to this terminal: set log_path = stderr (under "
               "[canister], or Canister(log_path='stderr')) to see it here" % sink.path, 'INFO')


def _format_clash(sink: _LogSink, line_format: str) -> Optional[str]:
    """What to say when an app writing ``line_format`` lines shares ``sink`` with one writing the
    other format (a collector reading JSON lines would meet text ones), or None."""
    if all(other == line_format for other in sink.formats):
        return None
    where = sink.path if sink.path in ('stderr', 'stdout') else 'the files in %s' % sink.path
    return ('canister.log_format = %s, but another app of this process writes %s lines to %s, which will hold lines '
            'of both formats: give this app a log_path of its own, or the same log_format'
            % (line_format, 'text' if line_format == 'json' else 'json', where))


def _release_sink(sink: _LogSink, days: int, line_format: str) -> None:
    """A plugin that kept files ``days`` stops writing ``line_format`` lines to this sink: close it
    once no plugin does."""
    with _SINKS_LOCK:
        sink.formats.remove(line_format)
        sink.retention.remove(days)
        if sink.retention:
            sink.days = _days_kept(sink.retention)
        elif _SINKS.get(sink.path) is sink:
            del _SINKS[sink.path]
            sink.close()


class _LineFormat:
    """Formats log lines in one pass, byte for byte canister 1.x's layout
    ``'%(asctime)s %(levelname)-8s [%(threadName)s]   %(message)s'``:
    ``2026-07-02 09:38:31,022 INFO     [thread]   message``."""

    #: A line's time, ``2026-07-02 09:38:31,022``: the second's text, then the milliseconds.
    STAMP = _STAMP
    #: A text line: the time, the level padded to 8, the thread's name, the message (one format per line).
    TEXT = STAMP + ' %-8s [%s]   %s\n'

    def __init__(self, json_lines: bool) -> None:
        #: Lines are JSON objects (``log_format = json``), not text.
        self.json_lines = json_lines
        #: The last second stamped: its start, its end (start + 1), its text (``YYYY-MM-DD HH:MM:SS``)
        #: and its day; one ``strftime`` per second.
        self._second: Tuple[float, float, str, str] = (-1.0, -1.0, '', '')

    def line(self, now: float, level: str, thread: str, message: str, request_id: Optional[str],
             traceback: str = '') -> Tuple[str, str]:
        """The finished line and the day (``YYYY-MM-DD``) whose file it belongs in.  ``request_id``:
        None for the id of the request the thread serves, looked up only by a JSON line (a text
        line has no place for it)."""
        cached = self._second
        if not cached[0] <= now < cached[1]:  # (compared, not int(now) on every line: a call less)
            second = int(now)
            text = time.strftime(_SECOND, time.localtime(second))
            cached = self._second = (float(second), second + 1.0, text, text[:10])
        millis = (now - cached[0]) * 1000
        if not message.isprintable():
            message = _escape(message)
        if self.json_lines:
            if request_id is None:
                context = _local.context
                request_id = context.request_id if context is not None else ''
            entry = {'time': self.STAMP % (cached[2], millis), 'level': level, 'thread': thread,
                     'request_id': request_id, 'message': message}
            if traceback:
                entry['traceback'] = traceback
            return json.dumps(entry) + '\n', cached[3]
        text = self.TEXT % (cached[2], millis, level, thread, message)
        if traceback:
            # Every continuation line is indented, so a line that starts with a date is always
            # a real record, whatever an exception message contains.
            text += '  %s\n' % '\n  '.join(_escape(line) for line in traceback.rstrip('\n').split('\n'))
        return text, cached[3]


class _CanisterHandler(logging.Handler):
    """Sends ``app.log`` records through canister's line format to its sink."""

    def __init__(self, sink: _LogSink, line_format: _LineFormat) -> None:
        super().__init__()
        #: Where the formatted lines go.
        self.sink = sink
        #: The line layout, shared with canister's own lines.
        self.line_format = line_format
        #: Formats a record's traceback (``exc_info``) for the line's end.
        self._formatter = logging.Formatter()

    def format_exception(self, exc_info: Any) -> str:
        """The traceback text of ``exc_info``, as the logging module writes it."""
        return self._formatter.formatException(exc_info)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            traceback = self.format_exception(record.exc_info) if record.exc_info else ''
            thread = getattr(record, 'canister_thread', None) or record.threadName or '-'
            # The time of the line (and so its day's file) is canister's clock, as its own lines' are, not the
            # record's (the logging module's clock): a test that moves ``_now`` past midnight moves every line.
            line, day = self.line_format.line(_now(), record.levelname, thread, record.getMessage(),
                                              getattr(record, 'canister_request_id', None), traceback)
            self.sink.write(line, day)
        except Exception:
            self.handleError(record)


#: What the logger of an uninstalled plugin holds instead of canister's handler.  A line logged late (a
#: streamed response that ends after the uninstall) is dropped, as the closed sink drops one, rather than
#: reaching the logging module's last resort, which prints it bare on stderr; handlers the app added to
#: ``app.log`` still get it.  (Keeping the sink open until the last request ends would hold the log file
#: open for as long as a stream runs, and count requests on every request's path.)
_DROP_LATE_LINES = logging.NullHandler()


#: The line of a failure ``write_repeated`` held back: its text, how many more met it, in which process (the
#: worker: the line has no request of its own to tell it by, and its thread's name is one every worker has), and
#: over what time.
_MORE_LIKE_IT = '%s (and %d more like it in process %d in the last %.1fs)'


def _thread_name(client: str, sid: Optional[str]) -> str:
    """The name of a thread while it serves a request, the ``[...]`` of its log lines: the client's address, and
    the first 6 characters of the session id (``...`` while there is none)."""
    return client + ('-' + sid[:6] if sid else '-...')


def _own_thread_name() -> str:
    """The current thread's name as it is outside any request (the one it had before the outermost request
    it serves renamed it)."""
    name = threading.current_thread().name
    context = _local.context
    while context is not None:
        if context.thread is not None:
            name = context.outer_thread_name
        context = context.outer
    return name


class RequestLog:
    """The logger of one app, plus a fast path for canister's own per-request lines."""

    #: Numbers the installs, so each app after the first gets a logger of its own.
    _count = itertools.count(1)

    def __init__(self, app: bottle.Bottle, config: Config) -> None:
        #: The log is the process's stderr or stdout.
        self._on_stream = config['log_path'] in ('stderr', 'stdout')
        self._take_level(_LEVELS[config['log_level']])
        name = getattr(app, '_canister_logger_name', None)
        if name is None:
            number = next(self._count)  # (not id(app): a new app could get a dead one's logger, handlers and all)
            name = 'canister' if number == 1 else 'canister.app%d' % number
            app._canister_logger_name = name
        #: The app's ``logging.Logger`` (``app.log``): ``canister``, or ``canister.appN`` for later apps.
        self.logger = logging.getLogger(name)
        self.logger.propagate = False
        for handler in list(self.logger.handlers):
            if isinstance(handler, _CanisterHandler) or handler is _DROP_LATE_LINES:
                self.logger.removeHandler(handler)
        self.logger.setLevel(self.level)
        #: The handler writing to the sink (None when canister writes no lines).
        self.handler: Optional[_CanisterHandler] = None
        #: ``text`` or ``json`` (``log_format``).
        self.format: str = config['log_format']
        #: The layout of every line written (text or JSON).
        self.line_format = _LineFormat(self.format == 'json')
        #: ``log_level = DISABLED`` at install: no log was opened, and ``setLevel`` says it turns nothing on.
        self._disabled = not self.writes_lines
        #: The name of each level canister writes at, as the logging module says it (``%(levelname)s``).
        self._level_names = {level: logging.getLevelName(level) for level in _LEVELS.values()}
        #: Days of log files this app keeps (the sink keeps the most any app sharing it asked for).
        self.days: int = config['log_days']
        #: What the install warns of: another app of this process writes the other format to the same place.
        self.warnings: List[str] = []
        #: For each text of ``write_repeated``: when its last line was written, how many it left out since,
        #: and its level.
        self._repeats: Dict[str, List[float]] = {}
        #: For each WARNING this app says once (``first_to_say``): an item until a request claims it.
        self._unsaid: Dict[str, List[None]] = {}
        if self.writes_lines:
            sink = _sink_for(config['log_path'], self.days, self.format)
            clash = _format_clash(sink, self.format)
            if clash:
                self.warnings.append(clash)
            self.handler = _CanisterHandler(sink, self.line_format)
            self.logger.addHandler(self.handler)
        # app.log.setLevel too (1.x's plugin.log was app.log): the logger's own method, replaced for this
        # logger alone, so the level read per request stays an attribute of this object
        self.logger.setLevel = self.setLevel  # type: ignore[method-assign]

    def _take_level(self, level: int) -> None:
        """Set the level, and what follows from it for every request (read there without comparing levels)."""
        #: The level of ``log_level`` (or of ``setLevel``): lines below it are not written.
        self.level = level
        #: Canister writes lines (``log_level`` is not DISABLED); only then is a thread named after
        #: the client and session it serves, for the ``[...]`` part of its lines (``_RequestContext``).
        self.writes_lines = level <= logging.CRITICAL
        #: Canister's ERROR lines, a handler's traceback with them, go to the process's stderr or stdout.
        self.errors_on_stream = level <= logging.ERROR and self._on_stream
        #: A response line may be written (a 5xx's at ERROR): requests are timed.
        self.times_requests = level <= logging.ERROR
        #: Request lines are written (INFO).
        self.writes_requests = level <= logging.INFO
        #: DEBUG lines are written.
        self.writes_debug = level <= logging.DEBUG

    def setLevel(self, level: Union[int, str]) -> None:
        """``app.log.setLevel``, as 1.x's ``plugin.log`` had it: canister's own lines follow the new
        level from now on too (``log_level`` is the level at install)."""
        logging.Logger.setLevel(self.logger, level)
        if self._disabled:
            self._disabled = False  # (said once)
            _warn_at_install('app.log.setLevel(%s) turns on no line of canister\'s: canister.log_level = DISABLED '
                             'at install opened no log; set log_level in the config instead'
                             % logging.getLevelName(self.logger.level))
        if self.handler is None:  # (no log: DISABLED at install, or the plugin uninstalled)
            return
        self._take_level(self.logger.getEffectiveLevel())

    def close(self) -> None:
        """Detach from the logger and the sink (when the plugin is uninstalled): later lines are dropped."""
        self._write_held(every=True)
        _LOGS_HOLDING.discard(self)
        if vars(self.logger).get('setLevel') == self.setLevel:
            del self.logger.setLevel  # (the logger's own method again)
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            _release_sink(self.handler.sink, self.days, self.format)
            self.handler = None
        self.logger.addHandler(_DROP_LATE_LINES)

    # Canister 1.x's ``plugin.log`` was the app's logger (``app.log``): code that logs through it still works.
    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.debug``, as 1.x's ``plugin.log`` had it."""
        self.logger.debug(msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.info``, as 1.x's ``plugin.log`` had it."""
        self.logger.info(msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.warning``, as 1.x's ``plugin.log`` had it."""
        self.logger.warning(msg, *args, **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.error``, as 1.x's ``plugin.log`` had it."""
        self.logger.error(msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.exception``, as 1.x's ``plugin.log`` had it."""
        self.logger.exception(msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.critical``, as 1.x's ``plugin.log`` had it."""
        self.logger.critical(msg, *args, **kwargs)

    def warn(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """``app.log.warning``: 1.x's own code called ``log.warn``, a name Python's loggers keep only as deprecated."""
        self.logger.warning(msg, *args, **kwargs)

    @property
    def handlers(self) -> List[logging.Handler]:
        """``app.log.handlers``, as 1.x's ``plugin.log`` had them."""
        return self.logger.handlers

    def write(self, level: int, fmt: str, *args: Any, request_id: Optional[str] = None,
              exc_info: Any = False, thread_name: Optional[str] = None) -> None:
        """Log one line, ``fmt % args`` (formatted only when ``level`` is on; ``fmt`` as it is without
        ``args``), tagged with the current request's id (or ``request_id``), followed by the
        traceback of the exception being handled when ``exc_info`` is true (or of the exception
        whose ``(type, value, traceback)`` it is: one Bottle caught).  ``thread_name``: the current
        thread's name, where the caller knows it (looking it up costs two Python calls per line).

        The one way canister logs.  Lines go straight to the sink in one pass, unless the app
        added handlers of its own to ``app.log``: then through the logging module, to all of them.
        """
        if level < self.level:
            return
        handler = self.handler
        if handler is None or len(self.logger.handlers) != 1:
            # (the request id and thread given ride on the record: canister's handler writes them, not the current ones)
            extra = None if request_id is None and thread_name is None else {
                'canister_request_id': request_id, 'canister_thread': thread_name}
            self.logger.log(level, fmt, *args, exc_info=exc_info, extra=extra)
            return
        line, day = self.line_format.line(_now(), self._level_names[level],
                                          threading.current_thread().name if thread_name is None else thread_name,
                                          fmt % args if args else fmt, request_id,
                                          handler.format_exception(exc_info if type(exc_info) is tuple
                                                                   else sys.exc_info()) if exc_info else '')
        handler.sink.write(line, day)

    def said(self, warning: str) -> bool:
        """True once a request of this app claimed ``warning`` (a cheap look before deciding to say it)."""
        return self._unsaid.get(warning) == []

    def first_to_say(self, warning: str) -> bool:
        """True for the first request of this app only to claim ``warning``, a WARNING this app's log says once
        (per app, not per process: another app's log says it too; a ``pop`` is atomic, so of two at once one does)."""
        try:
            self._unsaid.setdefault(warning, [None]).pop()
        except IndexError:
            return False
        return True

    def write_repeated(self, level: int, text: str, like: Optional[str] = None) -> None:
        """Log ``text``, a failure that every request meets while it lasts (a session store that is down),
        once a second at most: the first line after that second says how many requests met it meanwhile,
        whether it is one more of ``text`` or any other line canister writes to this log (an outage that ended
        within the second) or of the app's own through ``app.log``, or the plugin is uninstalled first, or the
        process exits.  (Each request that met it keeps its ``Response`` line.)  ``like``: the words counted
        in place of ``text``, which holds something a client chooses (a count): else each new one would be
        written at once, and such a client could flood the log."""
        if level < self.level:
            return
        now = _now()
        repeats = self._repeats
        key = text if like is None else like
        seen = repeats.get(key)
        if seen is not None and 0 <= now - seen[0] < 1:
            seen[1] += 1  # (unlocked: two threads at once may count one; the Response lines are exact)
            if seen[1] == 1:
                self._hold()
                _LOGS_HOLDING.add(self)
            return
        if len(repeats) >= 256:  # (texts that name a session or a time: let go of the old ones)
            self._write_held(every=True)
            repeats.clear()
        repeats[key] = [now, 0, level]
        if seen is not None and seen[1]:  # (in the words counted, as _write_held writes them)
            self.write(level, _MORE_LIKE_IT, key, seen[1], os.getpid(), now - seen[0])
        else:
            self.write(level, '%s', text)

    def _hold(self) -> None:
        """While a count is held back, every line written to this log first writes the counts whose second
        has passed: canister's (``write``) and the app's (``app.log``, through canister's handler).  Both are
        replaced on these instances only, so that neither checks anything on every request's path."""
        self.__dict__['write'] = self._write_after_held
        if self.handler is not None:
            self.handler.__dict__['emit'] = self._emit_after_held

    def _let_go(self) -> None:
        """No count is held back: ``write`` and the handler's ``emit`` are the classes' own again."""
        self.__dict__.pop('write', None)
        if self.handler is not None:
            self.handler.__dict__.pop('emit', None)

    def _write_after_held(self, level: int, fmt: str, *args: Any, **options: Any) -> None:
        """``write`` while ``write_repeated`` holds a count back: the counts whose second has passed are
        written before this line."""
        self._write_held()
        RequestLog.write(self, level, fmt, *args, **options)

    def _emit_after_held(self, record: logging.LogRecord) -> None:
        """The handler's ``emit`` of a line of the app's own while ``write_repeated`` holds a count back."""
        handler = self.handler
        self._write_held()
        if handler is not None:
            _CanisterHandler.emit(handler, record)

    def _write_held(self, every: bool = False) -> None:
        """Write each count ``write_repeated`` holds back whose second has passed (``every``: all of them), in
        the line ``write_repeated`` would have written, which starts the text's next second."""
        self._let_go()  # (first: a count held meanwhile holds again)
        now = _now()
        for text, seen in list(self._repeats.items()):
            first, count, level = seen
            if not count:
                continue
            if every or not 0 <= now - first < 1:
                seen[:] = [now, 0, level]
                # (the count is of other requests: written as a line outside any request is, not as this one's)
                RequestLog.write(self, int(level), _MORE_LIKE_IT, text, count, os.getpid(), max(0.0, now - first),
                                 request_id='', thread_name=_own_thread_name())
            else:
                self._hold()

    def banner(self, config: Config) -> None:
        """The install banner in 1.x's shape: versions, then every setting (``canister.key = value``,
        the keys padded to the longest one's length) with secrets masked."""
        info = functools.partial(self.write, logging.INFO)
        for text in ('============', 'Initializing', '============'):
            info(text)
        info('python version: %s', sys.version.replace('\n', ' '))
        info('bottle version: %s', bottle.__version__)
        info('canister version: %s', __version__)
        info('------------------------------------------')
        items = config.redacted_items()
        width = max(len('canister.' + key) for key, _ in items)  # (1.x padded to 30, which four keys pass)
        for key, value in items:
            info('%-*s = %s', width, 'canister.' + key, ', '.join(value) if isinstance(value, tuple) else value)
        info('------------------------------------------')


#: The logs that held a count back (``write_repeated``) since the process started: each writes what it still
#: holds when the process exits (a worker a server stops or replaces, which uninstalls nothing).
_LOGS_HOLDING: 'weakref.WeakSet[RequestLog]' = weakref.WeakSet()


@atexit.register
def _write_held_at_exit() -> None:
    """At the process's exit, write the count each log still holds back."""
    for log in list(_LOGS_HOLDING):
        if log.handler is not None:
            log._write_held(every=True)


def _forget_held_in_child() -> None:
    """After a fork, in the child: the counts held back are of the parent's requests, which the parent
    writes; the child's own first failure is then written at once."""
    for log in list(_LOGS_HOLDING):
        log._let_go()
        log._repeats.clear()
    _LOGS_HOLDING.clear()


if hasattr(os, 'register_at_fork'):  # (not on Windows, which has no fork)
    os.register_at_fork(after_in_child=_forget_held_in_child)


def _logger_call(name: str) -> Callable[..., Any]:
    """A method of :class:`RequestLog` that is ``app.log``'s method ``name``, as 1.x's ``plugin.log`` was the
    logger.  (Methods, not ``__getattr__``: a class with ``__getattr__`` makes every attribute read of its
    instances slower, and a ``RequestLog`` is read on every request.)"""
    def call(self: RequestLog, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.logger, name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = '``app.log.%s``, as 1.x\'s ``plugin.log`` had it.' % name
    return call


for _name in ('log', 'getEffectiveLevel', 'isEnabledFor', 'addHandler', 'removeHandler', 'hasHandlers',
              'addFilter', 'removeFilter', 'getChild'):
    setattr(RequestLog, _name, _logger_call(_name))
del _name


#: A path with nothing to quote for the log.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")


def _in_wsgi_form(path: str) -> bool:
    """Whether ``path`` is UTF-8 bytes as latin-1 text (PEP 3333's form, which a handler may have written
    into the copy), not a path Bottle decoded already (``/café``: no UTF-8 as latin-1)."""
    try:
        path.encode('latin-1').decode('utf-8')
    except UnicodeError:
        return False
    return True


def _decoded_by_bottle(environ: Mapping[str, Any]) -> bool:
    """Whether the environ's ``PATH_INFO`` is the one a Bottle decoded from its ``bottle.raw_path`` (the path
    as it came, which Bottle keeps there), exactly as Bottle leaves it: decoded, then shifted by a mount point
    (``bottle.path_shift``: its first segments moved to the end of ``SCRIPT_NAME``), so that ``bottle.raw_path``
    is this request's path as it came.  Not so for a sub-request given a path of its own: a handler's copy of
    its own request's environ (``dict(bottle.request.environ)``) keeps the caller's ``bottle.raw_path`` until
    the other app's Bottle sets its own, after canister has judged the path; a path that merely ends with the
    caller's is not the caller's."""
    raw = environ.get('bottle.raw_path')
    if raw is None:
        return False
    # what each Bottle makes of it (0.12 refuses what 0.13 drops: those never reach a handler under 0.12)
    decoded = raw.encode('latin-1', 'replace').decode('utf-8', 'ignore')
    path = environ.get('PATH_INFO', '')
    if path == decoded:
        return True
    whole = '/' + decoded.lstrip('/')  # (the path Bottle's request.path_shift shifts: request.path)
    segments = len(whole.strip('/').split('/')) if whole != '/' else 0  # (as many as a shift can move)
    for depth in range(1, segments + 1):
        moved, rest = bottle.path_shift('', whole, depth)
        if rest == path:
            return environ.get('SCRIPT_NAME', '').endswith(moved)
    return False


def _request_url(environ: Mapping[str, Any], scheme: str, host: str) -> str:
    """The URL of the request line: path and query made printable, secret query values masked."""
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if not _PLAIN_PATH.fullmatch(path):
        # the path as the client sent it: the UTF-8 of one Bottle decoded already (an app mounted in another,
        # whose Bottle decodes it before this app's canister sees it), else the bytes of WSGI's latin-1 text
        decoded = not path.isascii() and not _in_wsgi_form(path) and _decoded_by_bottle(environ)
        raw = path.encode('utf-8', 'surrogatepass') if decoded else path.encode('latin1', 'replace')
        path = urllib.parse.quote(raw, safe="/:@!$&'()*+,;=-._~")
    # (the log escapes a line's control characters anyway, but not for a handler the app added to app.log)
    origin = _escape('%s://%s' % (scheme, host))
    url = origin + path
    if '@' in url:  # an absolute-form target that the server passed on (``GET http://bob:pw@host/x``), or a
        # Host header with user information (``bob:pw@host``: the origin is one URL, masked to its last @, spaces too)
        url = _mask_url_value(origin) + _mask_urls(path)
    query = environ.get('QUERY_STRING')
    if query:
        if not query.isascii() or not query.isprintable():
            query = urllib.parse.quote(query.encode('latin1', 'replace'), safe="=&%+;/:@,-._~")
        url += '?' + _redact_query(query)
    return url


def _request_log(log: RequestLog) -> RequestLog:
    """The log of the request this thread serves, that of the canister whose WSGI entry took it (a parent's, for a
    child app mounted or merged into an app with canister); ``log``, a canister's own, outside a request (at the
    install, in a thread of canister's own)."""
    context = _local.context
    return log if context is None else context.plugin.log


###############################################################################
# Parameter Unpacking #########################################################
###############################################################################

_BOOL_WORDS = {'true': True, '1': True, 'yes': True, 'on': True,
               'false': False, '0': False, 'no': False, 'off': False}
_ROUTE_WILDCARD = re.compile(r'<([a-zA-Z_][a-zA-Z_0-9]*)[^>]*>|(?<!\\):([a-zA-Z_][a-zA-Z_0-9]*)')
_EMPTY = inspect.Parameter.empty


def _plain_digits(value: Any) -> bool:
    """False for a text Python would read as a number but a client means otherwise: ``1_000`` (an
    "id or slug" union would take that slug for the id 1000), digits of other scripts (``١``), or
    a number with blanks around it (``?n=%205%20``, ``5\n``), which ``int()`` strips."""
    return not isinstance(value, str) or (value.isascii() and '_' not in value and value == value.strip())


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _plain_digits(value):
        raise ValueError('must be an integer')
    try:
        return int(value)
    except ValueError:
        raise ValueError(_int_problem(str(value))) from None


def _int_digits_limit() -> int:
    """How many digits ``int()`` reads at most (``sys.set_int_max_str_digits``, asked each time: the app may set
    it); 0 for no limit, as on a Python before the limit (3.11, and the security releases 3.9.14 and 3.10.7)."""
    return getattr(sys, 'get_int_max_str_digits', lambda: 0)()


def _int_problem(text: str) -> str:
    """The 400's words for a text ``int()`` refused: an integer longer than Python reads is one all the same."""
    digits = text[1:] if text[:1] in '+-' else text
    limit = _int_digits_limit()
    if limit and digits.isdigit() and len(digits) > limit:
        return ('must be an integer of at most %d digits (Python\'s limit, sys.set_int_max_str_digits), not %d'
                % (limit, len(digits)))
    return 'must be an integer'


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not _plain_digits(value):
        raise ValueError('must be a number')
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError('must be a number') from None
    if not math.isfinite(number):  # nan, inf, Infinity, 1e999
        raise ValueError('must be a finite number')
    return number


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, decimal.Decimal)) or not _plain_digits(value):
        raise ValueError('must be a number')
    if type(value) is _Digits:  # (a JSON number of a body read again for a Decimal, _JSON_DIGITS: its own digits)
        value = value.text
    try:
        # (a float: its shortest text, 0.1 and not the 0.1000000000000000055... of its binary value)
        number = decimal.Decimal(repr(value) if isinstance(value, float) else value)
    except (decimal.InvalidOperation, ValueError):
        raise ValueError('must be a number') from None
    if not number.is_finite():  # NaN, sNaN, Infinity
        raise ValueError('must be a finite number')
    return number


class _EmptyFlag(ValueError):
    """An empty text for a ``bool``: what a bare ``?flag`` sends (Bottle cannot tell it from ``?flag=``)."""


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOL_WORDS:  # (no blanks around it, as for a number)
        return _BOOL_WORDS[value.lower()]
    raise _EmptyFlag('must be true or false') if value == '' else ValueError('must be true or false')


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError('must be a string')


def _resolve(callback: Callable[..., Any], annotation: Any) -> Any:
    """One annotation, evaluated if it is a string in the handler's module; raises what the
    evaluation raises (a name defined elsewhere, ``int | None`` before Python 3.10)."""
    if not isinstance(annotation, str):
        return annotation
    namespace = dict(getattr(inspect.unwrap(callback), '__globals__', {}))
    namespace.update({'Optional': Optional, 'List': List, 'typing': typing})
    return eval(annotation, namespace)  # noqa: S307 - the handler's own annotation text


#: What a constructor raises for a value it cannot take: the wrong type (``TypeError``; an
#: ``AttributeError`` when it calls a ``str`` method on a number, as ``uuid.UUID(5)`` does), the wrong
#: form (``ValueError``, ``UnicodeError`` among them), a number out of range or a ``decimal`` signal
#: (``ArithmeticError``), a name it does not know (``LookupError``: ``KeyError``, ``IndexError``).
#: Anything else (``RuntimeError``, ``OSError``, ...) is a fault of the class or of what it relies on:
#: a 500, logged with its traceback.
_BAD_VALUE_ERRORS = (TypeError, ValueError, AttributeError, ArithmeticError, LookupError)


def _other_converter(kind: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            return kind(value)
        except _BAD_VALUE_ERRORS:
            raise ValueError('must be a valid %s' % getattr(kind, '__name__', kind)) from None
    return convert


#: complex() with its TypeError or ValueError (a list, a text it cannot read) as the 400 of a complex parameter.
_complex_of = _other_converter(complex)


def _to_complex(value: Any) -> complex:
    # (JSON true is no number, and 1_0, digits of other scripts or blanks around it are a 400, as for an int or a float)
    if isinstance(value, bool) or not _plain_digits(value):
        raise ValueError('must be a valid complex')
    number = _complex_of(value)
    if not (math.isfinite(number.real) and math.isfinite(number.imag)):  # nan, inf, 1e999, thousands of digits
        raise ValueError('must be a finite number')
    return number


#: How many of an enum's values the 400 for a value that is none of them lists.
_ENUM_VALUES_SHOWN = 10


def _enum_converter(kind: Any) -> Callable[[Any], Any]:
    """An ``enum.Enum``: the member of the value as sent, or of the text of its value, since a query,
    a form or a URL holds text only (``?priority=2`` gives ``Priority.HIGH`` of an ``IntEnum``)."""
    by_text = {str(member.value): member for member in kind}
    # (how Python words the TypeError of a _missing_ that returned no member, 3.6 to 3.13)
    broken = 'error in %s._missing_:' % kind.__name__
    # (the values, not the names: a client that sends RED for RED = 'red' learns what to send)
    members = list(kind)
    shown = ', '.join(repr(member.value) for member in members[:_ENUM_VALUES_SHOWN])
    if len(members) > _ENUM_VALUES_SHOWN:
        shown += ', and %d more' % (len(members) - _ENUM_VALUES_SHOWN)
    flags = issubclass(kind, enum.Flag)  # (a combination of its flags is a value of it too: 3 for A=1 with B=2)
    problem = 'must be a valid %s' % getattr(kind, '__name__', kind) + (
        ' (its value%s: %s%s)' % ('' if len(members) == 1 else 's', shown, ', or a sum of them' if flags else '')
        if members else '')

    def convert(value: Any) -> Any:
        if flags and isinstance(value, int) and value < 0:  # (Python reads -1 as ~0: every flag; no sum of them)
            raise ValueError(problem)
        try:
            member = kind(value)
        except _BAD_VALUE_ERRORS as error:  # its _missing_'s own ValueError too: the values listed tell more
            if isinstance(value, str) and value in by_text:
                return by_text[value]
            if isinstance(error, TypeError) and str(error).startswith(broken):
                raise  # a _missing_ that returned no member: a fault of the class, a 500 (logged)
            if flags and isinstance(value, str):
                return _flag_of_text(kind, value, problem)
            raise ValueError(problem) from None
        # (JSON true equals 1, and 1.0 equals 1: neither is an int, as for an int parameter)
        if isinstance(value, (bool, float)) and not isinstance(member.value, bool if isinstance(value, bool) else float):
            raise ValueError(problem)
        return member
    return convert


def _flag_of_text(kind: Any, text: str, problem: str) -> Any:
    """The member of an ``enum.Flag`` whose value the text of an integer is, a combination of flags too
    (``?f=3``), if the class takes it; else a ``ValueError`` saying ``problem``, also for a negative number
    (``-1``, which Python reads as the complement of no flag: every flag)."""
    try:
        number = _to_int(text)
        if number >= 0:
            return kind(number)
    except _BAD_VALUE_ERRORS:
        pass
    raise ValueError(problem) from None


def _bytes_converter(kind: Any) -> Callable[[Any], Any]:
    """``bytes`` or ``bytearray`` of the text as UTF-8.  Not of a JSON number, which the class
    would take as a size: a 20-byte body would ask for gigabytes."""
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            return kind(value.encode('utf-8'))
        raise ValueError('must be text')
    return convert


def _iso_converter(kind: Any, example: str) -> Callable[[Any], Any]:
    """``datetime.date``, ``datetime.datetime`` or ``datetime.time`` from its ISO 8601 text, as
    ``fromisoformat`` of this Python reads it (the constructors take no text)."""
    def convert(value: Any) -> Any:
        try:
            if isinstance(value, str):
                return kind.fromisoformat(value)
        except ValueError:
            pass
        raise ValueError('must be an ISO 8601 %s such as %s' % (kind.__name__, example))
    return convert


#: An ISO 8601 duration of weeks, days, hours, minutes and seconds (``P1DT2H``, ``PT1.5S``; not years or months,
#: whose length varies), as pydantic reads and writes a ``timedelta``.
_ISO_DURATION = re.compile(r'([-+]?)P(?!$)(?:([0-9]+(?:\.[0-9]+)?)W)?(?:([0-9]+(?:\.[0-9]+)?)D)?'
                           r'(?:T(?=[0-9])(?:([0-9]+(?:\.[0-9]+)?)H)?(?:([0-9]+(?:\.[0-9]+)?)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?')
_DURATION_UNITS = ('weeks', 'days', 'hours', 'minutes', 'seconds')


def _to_timedelta(value: Any) -> datetime.timedelta:
    """``datetime.timedelta`` from a number of seconds (text or JSON) or an ISO 8601 duration, as FastAPI reads
    one (the constructor would take a JSON number for days, and no text at all)."""
    try:
        if isinstance(value, str) and value[:2].lstrip('+-')[:1] == 'P':
            match = _ISO_DURATION.fullmatch(value)
            if match:
                parts = {unit: float(part) for unit, part in zip(_DURATION_UNITS, match.groups()[1:]) if part}
                duration = datetime.timedelta(**parts)
                return -duration if match.group(1) == '-' else duration
        else:
            return datetime.timedelta(seconds=_to_float(value))
    except (ValueError, OverflowError):
        pass
    raise ValueError('must be a duration: a number of seconds such as 90 or 1.5, or ISO 8601 such as PT90S or P1DT2H')


_CONVERTERS: Dict[Any, Callable[[Any], Any]] = {
    int: _to_int, float: _to_float, decimal.Decimal: _to_decimal, bool: _to_bool, str: _to_str, complex: _to_complex,
    datetime.date: _iso_converter(datetime.date, '2024-05-31'),
    datetime.datetime: _iso_converter(datetime.datetime, '2024-05-31T14:30:00'),
    datetime.time: _iso_converter(datetime.time, '14:30:00'), datetime.timedelta: _to_timedelta,
    bytes: _bytes_converter(bytes), bytearray: _bytes_converter(bytearray),
}


def _literal_converter(kind: Any) -> Callable[[Any], Any]:
    """``typing.Literal[...]``: the value read as each literal's type reads it (a ``str`` literal
    compares the text; an ``int`` or ``bool`` one converts first, as ``int`` and ``bool`` parameters
    do), and the literal it equals; else a ``ValueError`` that lists the allowed values."""
    choices = typing.get_args(kind)
    by_type: Dict[Any, List[Any]] = {}
    for choice in choices:
        by_type.setdefault(type(choice), []).append(choice)
    readers = [(_FROM_TEXT.of(choice_type), same_type) for choice_type, same_type in by_type.items()]
    shown = [repr(choice) for choice in choices]
    problem = 'must be %s' % shown[0] if len(shown) == 1 else \
        'must be one of %s or %s' % (', '.join(shown[:-1]), shown[-1])

    def convert(value: Any) -> Any:
        for read, same_type in readers:
            try:
                converted = read(value) if read else value
            except ValueError:
                continue
            for choice in same_type:
                if converted == choice:
                    return choice
        raise ValueError(problem)
    return convert


class _Unconvertible(Exception):
    """An annotation canister has no way to convert a value to: its parameter is bound as text, and
    the plugin says so at WARNING when it applies itself to the route."""


def _type_name(kind: Any) -> str:
    """A type as a message shows it: ``int``, ``datetime.date``, ``Literal['a', 'b']``."""
    if isinstance(kind, type) and typing.get_origin(kind) is None:
        module = getattr(kind, '__module__', 'builtins')
        return kind.__qualname__ if module == 'builtins' else '%s.%s' % (module, kind.__qualname__)
    return repr(kind).replace('typing.', '')


def _either(names: List[str]) -> str:
    """``int``, ``int or str``, ``one of int, float or str``."""
    if len(names) < 3:
        return ' or '.join(names)
    return 'one of %s or %s' % (', '.join(names[:-1]), names[-1])


def _is_union(kind: Any) -> bool:
    """True for ``Union[X, Y]`` and ``Optional[X]``, and for ``X | Y`` from Python 3.10 on."""
    return typing.get_origin(kind) is typing.Union or type(kind).__name__ == 'UnionType'


def _unwrap_optional(kind: Any) -> Tuple[Any, bool]:
    """``Optional[X]`` (or ``X | None``, or a ``Literal`` with ``None`` among its values) as
    ``(X, True)``; ``Union[X, Y, None]`` as ``(Union[X, Y], True)``."""
    if _is_union(kind):
        members = tuple(arg for arg in typing.get_args(kind) if arg is not type(None))
        optional = len(members) < len(typing.get_args(kind))
        return (members[0] if len(members) == 1 else typing.Union[members]), optional
    if typing.get_origin(kind) is typing.Literal and None in typing.get_args(kind):
        values = tuple(arg for arg in typing.get_args(kind) if arg is not None)
        return (typing.Literal[values] if values else _EMPTY), True
    return kind, False


#: The annotations read from repeated values (or a JSON array), and the container each gives the
#: handler: the annotation's own class, or a list for an abstract one such as ``Sequence[int]``.
_MANY: Dict[Any, Any] = {
    list: list, tuple: tuple, set: set, frozenset: frozenset,
    collections.abc.Sequence: list, collections.abc.MutableSequence: list, collections.abc.Collection: list,
    collections.abc.Iterable: list, collections.abc.Set: frozenset, collections.abc.MutableSet: set,
    collections.deque: collections.deque,
}


def _tuple_shape(kind: Any, args: Tuple[Any, ...]) -> Tuple[Any, Any, Optional[Tuple[Any, ...]]]:
    """``_unwrap_many`` of a tuple annotation whose arguments are ``args``."""
    if args == ((),) or (not args and getattr(kind, '__args__', None) == ()):
        return _EMPTY, tuple, ()  # Tuple[()]: its arguments are ((),) before Python 3.11, () since
    if not args:
        return _EMPTY, tuple, None
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0], tuple, None
    return _EMPTY, tuple, args


def _unwrap_many(kind: Any) -> Tuple[Any, Any, Optional[Tuple[Any, ...]]]:
    """``List[X]`` and the other containers of repeated values as ``(X, container, None)``, a
    fixed-length ``Tuple[X, Y]`` as ``(_EMPTY, tuple, (X, Y))``, any other annotation as
    ``(kind, None, None)``. A bare ``list``, ``tuple``, ``set`` or ``frozenset`` gives its class holding
    the values as sent; ``Tuple[X, ...]`` a tuple of X."""
    origin = typing.get_origin(kind) or kind
    try:
        container = _MANY.get(origin)
    except TypeError:  # an annotation that is no type at all, and cannot be hashed
        return kind, None, None
    if container is None:
        return kind, None, None
    args = typing.get_args(kind)
    if origin is tuple:
        return _tuple_shape(kind, args)
    return (args[0] if args else _EMPTY), container, None


def _takes_empty_text(kind: Any) -> bool:
    """True for a ``Literal`` with ``''`` among its values, or a union with one: an empty text sent to
    it is that value, even where the parameter is ``Optional`` (which takes an empty text as None)."""
    if _is_union(kind):
        return any(_takes_empty_text(member) for member in typing.get_args(kind))
    return typing.get_origin(kind) is typing.Literal and '' in typing.get_args(kind)


def _optional_converter(convert: Optional[Callable[[Any], Any]], empty_text: bool = False) -> Callable[[Any], Any]:
    """``Optional[X]`` as an item of a container: None for a JSON ``null`` or an empty text (unless
    ``empty_text``: ``''`` is a value of X), else X."""
    def optional(value: Any) -> Any:
        if value is None or (value == '' and not empty_text):
            return None
        return convert(value) if convert else value
    return optional


def _union_rank(member: Any) -> int:
    """Where a union's member is tried: the exact before the loose, text last (any text is one).
    Not the order written, which Python does not keep: ``List[Union[int, str]]`` may come back
    as ``List[Union[str, int]]`` when that was made first (typing caches by equality)."""
    if typing.get_origin(member) is typing.Literal:
        return 0
    if member in (str, bytes, bytearray):
        return 9
    return _UNION_RANKS.get(member, 8)


#: The rank of the members :func:`_union_rank` orders by class (others: 8, text 9).  A date before
#: a datetime: ``2024-05-31`` is a date, and a text with a time only converts to the datetime.
_UNION_RANKS = {int: 1, float: 2, decimal.Decimal: 3, bool: 4, datetime.date: 5, datetime.datetime: 6,
                datetime.time: 7}


def _union_classes(members: Tuple[Any, ...], from_json: bool) -> Tuple[type, ...]:
    """The member classes of a union whose values it takes as they are.  Not ``str`` and its
    subclasses for a text (from the query, a form or the URL): a text is no value of a type yet,
    whatever the str members say.  Not ``Any``, a class since Python 3.11 that ``isinstance`` refuses (and
    ``typing_extensions.Any`` before it, :func:`_is_any`): its reader takes the value as sent."""
    return tuple(member for member in members if isinstance(member, type) and not _is_any(member)
                 and typing.get_origin(member) is None
                 and (from_json or not issubclass(member, str)) and _record_fields(member) is None)


def _first_that_converts(readers: List[Optional[Callable[[Any], Any]]], classes: Tuple[type, ...],
                         problem: str) -> Callable[[Any], Any]:
    """A union's converter: a value of one of ``classes`` as it is (``bool`` only when one of them
    takes it), else what the first of ``readers`` makes of it (None: as sent), else ``problem``."""
    takes_bool = any(issubclass(member, bool) for member in classes)

    def convert(value: Any) -> Any:
        if isinstance(value, classes) and (takes_bool or not isinstance(value, bool)):
            return value
        for read in readers:
            if read is None:
                return value
            try:
                return read(value)
            except ValueError:
                continue
        raise ValueError(problem)
    return convert


def _plain_when_as_sent(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A union's ``convert`` for a value of the body read again for a ``Decimal``: a value it takes as it is (a
    ``float`` member's) with plain floats, as the first reading gives (:func:`_plain_floats`)."""
    def union(value: Any) -> Any:
        converted = convert(value)
        return _plain_floats(converted) if converted is value else converted
    return union


def _holds_union(kind: Any) -> bool:
    """True for a union, and for an annotation with one inside (``List[Union[int, str]]``)."""
    return _is_union(kind) or any(_holds_union(arg) for arg in typing.get_args(kind))


def _holds_decimal(kind: Any, records: Tuple[Any, ...] = ()) -> bool:
    """True for ``Decimal``, and for an annotation with one inside, at any depth: a container (``List[Decimal]``,
    ``Dict[str, Decimal]``), a union, a field of a dataclass, ``NamedTuple`` or ``TypedDict`` (a pydantic model reads
    its own).  ``records``: those the search is inside (a record that holds itself is searched once)."""
    kind = _beneath_newtype(kind)
    if kind is decimal.Decimal:
        return True
    origin = typing.get_origin(kind) or kind
    if origin in records or _record_fields(origin) is None:
        return any(_holds_decimal(arg, records) for arg in typing.get_args(kind))
    try:
        hints = typing.get_type_hints(origin)
    except Exception:  # (the record is bound as text, saying why: _Converters._record)
        return False
    arguments = dict(zip(getattr(origin, '__parameters__', ()), typing.get_args(kind)))
    return any(_holds_decimal(_substituted(_beneath_initvar(hint), arguments), records + (origin,))
               for hint in hints.values())


def _holds_float(value: Any) -> bool:
    """True for a float, and for a JSON array or object with one inside, at any depth (no recursion: the value may
    be nested as deep as the JSON reader allowed)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, float):
            return True
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
    return False


#: Annotations whose value is taken as sent (``object``: anything is one; and ``Any``, :func:`_is_any`).
_AS_SENT = (_EMPTY, object, bottle.FileUpload)


def _is_any(kind: Any) -> bool:
    """True for ``typing.Any``, and for ``typing_extensions.Any``, a class of its own before Python 3.11 (the same
    object from 3.11 on), told by its module and name: canister imports no typing_extensions."""
    return kind is Any or (getattr(kind, '__module__', None) == 'typing_extensions'
                           and getattr(kind, '__qualname__', None) == 'Any')


def _beneath_newtype(kind: Any) -> Any:
    """The type a ``typing.NewType`` wraps (``NewType('UserId', int)``: int, since the NewType
    itself returns its argument unchanged); any other annotation as it is."""
    while hasattr(kind, '__supertype__'):
        kind = kind.__supertype__
    return kind


def _record_fields(kind: Any) -> Optional[Dict[str, bool]]:
    """For a dataclass, a ``typing.NamedTuple`` or a ``TypedDict``, whose constructor takes its fields by name,
    each field the constructor takes and whether it is required; None for any other annotation."""
    if not isinstance(kind, type):
        return None
    if dataclasses.is_dataclass(kind):
        return _dataclass_fields(kind)
    defaults = getattr(kind, '_field_defaults', None)
    if issubclass(kind, tuple) and isinstance(defaults, dict):  # a NamedTuple (collections.namedtuple too)
        return {name: name not in defaults for name in getattr(kind, '_fields', ())}
    return _typed_dict_fields(kind)


def _dataclass_fields(kind: type) -> Dict[str, bool]:
    """:func:`_record_fields` of a dataclass: its fields that ``__init__`` takes (not the ``init=False`` ones), and its
    ``InitVar`` pseudo-fields, which ``dataclasses.fields`` leaves out though ``__init__`` takes them too."""
    fields = {field.name: field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
              for field in dataclasses.fields(kind) if field.init}
    declared = getattr(kind, '__dataclass_fields__', {})  # (the InitVar ones too, and the ClassVar ones)
    try:
        parameters = inspect.signature(kind).parameters.values()
    except (TypeError, ValueError):  # (an __init__ of its own that hides its signature)
        return fields
    for parameter in parameters:  # (a ClassVar is no parameter of __init__)
        if parameter.name in declared and parameter.name not in fields:
            fields[parameter.name] = parameter.default is _EMPTY
    return fields


def _typed_dict_fields(kind: type) -> Optional[Dict[str, bool]]:
    """:func:`_record_fields` of a ``TypedDict``; None for any other class."""
    if issubclass(kind, dict) and hasattr(kind, '__required_keys__'):  # (a plain dict at run time)
        try:  # (under ``from __future__ import annotations`` __required_keys__ misses Required[] and NotRequired[])
            marked = typing.get_type_hints(kind, include_extras=True)
        except Exception:  # (the converter says why: _Converters._record)
            marked = {}
        return {name: _marked_required(marked.get(name), name in kind.__required_keys__)
                for name in kind.__annotations__}  # (its bases' too)
    return None


def _marked_required(hint: Any, required: bool) -> bool:
    """Whether a ``TypedDict`` field annotated ``hint`` is required: as ``Required[...]`` or ``NotRequired[...]`` in it
    says (inside ``Annotated[...]`` too), else ``required``, as the class's ``total`` says."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    name = getattr(typing.get_origin(hint), '_name', None)
    return name == 'Required' if name in ('Required', 'NotRequired') else required


#: The records whose converters this thread is making (Bottle applies plugins at a route's first request, in
#: whichever thread serves it).
_RECORDS_MADE = threading.local()


def _beneath_initvar(hint: Any) -> Any:
    """The type of a dataclass's ``InitVar[X]`` pseudo-field, X; any other annotation as it is."""
    return hint.type if isinstance(hint, dataclasses.InitVar) else hint


def _substituted(hint: Any, arguments: Dict[Any, Any]) -> Any:
    """A field's annotation in a parameterised generic record (``Box[int]``): each type variable in it replaced by
    its argument (``T`` by ``int``, ``List[T]`` by ``List[int]``); one not given (a bare ``Box``) by ``Any``."""
    if isinstance(hint, typing.TypeVar):
        return arguments.get(hint, Any)
    variables = getattr(hint, '__parameters__', ())
    if not variables or typing.get_origin(hint) is None:  # (a class: Generic's own __parameters__)
        return hint
    try:
        return hint[tuple(arguments.get(variable, Any) for variable in variables)]
    except TypeError:  # (an alias that takes no arguments after all: as it is)
        return hint


#: How many generic records of one class may be made one inside the other (``Box[Box[int]]`` is two): more is
#: taken for one that holds itself with other arguments at each level (a field ``Box[List[T]]`` of ``Box[T]``),
#: which would be made without end (its converter holds its own, as ``Box[T]`` in ``Box[T]`` would).
_GENERIC_NESTING = 8


def _refused_record(name: str, error: BaseException, sent: Dict[str, Any]) -> '_InvalidModel':
    """The 400 of a record whose own check (a dataclass's ``__post_init__``, an ``assert`` in it) refused the values
    ``sent``: its message, escaped and cut as a pydantic model's is, and not shown when it holds a value sent to a
    field whose name looks secret."""
    message = _safe_text(error) or type(error).__name__  # (a bare assert says nothing)
    return _InvalidModel('must be a valid %s' % name, [{'loc': (), 'msg': message, 'input': sent}], sent)


def _model_validator(kind: Any) -> Optional[Callable[[Any], Any]]:
    """For a pydantic model (``BaseModel``, told by what it has: a callable ``model_validate`` and a dict
    ``model_fields``; pydantic 1's ``parse_obj`` and ``__fields__``), what builds one from a dict; None for any
    other annotation.  Pydantic itself is never imported: only an app that has such a model uses it."""
    if not isinstance(kind, type):
        return None
    for validate, fields in (('model_validate', 'model_fields'), ('parse_obj', '__fields__')):
        if callable(getattr(kind, validate, None)) and isinstance(getattr(kind, fields, None), dict):
            return typing.cast(Callable[[Any], Any], getattr(kind, validate))
    return None


#: How many of a model's failing fields the 400 names, and how much of each message it shows.
_MODEL_ERRORS_SHOWN = 3
_MODEL_MESSAGE_SHOWN = 120


class _InvalidModel(ValueError):
    """What a pydantic model's validation refused, as the 400 words it: each failing field and pydantic's message,
    but a message that holds a value sent to a field whose name looks secret (``password``), whichever field's
    validator wrote it (a ``confirm`` checked against ``password``, a model's own validator)."""

    def __init__(self, problem: str, errors: List[Any], sent: Any, secret: bool = False,
                 around: typing.FrozenSet[str] = frozenset()) -> None:
        #: What the parameter had to be (``parameter 'item' must be a valid Item``), without the fields' messages.
        self.problem = problem
        #: The entries of pydantic's ``ValidationError.errors()``, each a dict with ``loc`` and ``msg``.
        self.errors = errors
        #: The JSON object the model was built from.
        self.sent = sent
        #: Every field is a secret one: the name of the parameter, or of the member or field holding it, looks secret.
        self.all_secret = secret
        #: The values sent to secret-looking fields of what holds the model (a dataclass with a ``password`` field).
        self.around = around
        hidden = _secret_texts(sent, secret) | around
        shown = [_model_error_text(error, secret, hidden) for error in errors[:_MODEL_ERRORS_SHOWN]]
        if len(errors) > _MODEL_ERRORS_SHOWN:
            shown.append('and %d more' % (len(errors) - _MODEL_ERRORS_SHOWN))
        super().__init__('%s (%s)' % (problem, '; '.join(shown)) if shown else problem)

    def secret(self) -> '_InvalidModel':
        """The same refusal for a parameter whose name looks secret: every field's value is then kept out."""
        return _InvalidModel(self.problem, self.errors, self.sent, True, self.around)

    def within(self, problem: str, secret: bool, container: Any = None) -> '_InvalidModel':
        """The same refusal of a model held in a container (a ``Dict[str, Item]``'s member, a dataclass's field),
        which says ``problem``; ``secret``: the member's or field's name looks secret; ``container``: the value sent
        for the container, whose secret-looking members' values the messages must not show either."""
        return _InvalidModel(problem, self.errors, self.sent, self.all_secret or secret,
                             self.around | _secret_texts(container, False))

    def failed_alone(self, shown: Any) -> Tuple[Any, bool]:
        """What its 400 shows after ``got``: the value of the one field that failed (``'z'`` of ``field 'qty'``),
        as a record's field shows it, or none (True) when that field's name looks secret or its message holds a
        secret; ``shown`` (the object sent, secret members masked) when several failed or the model's own check did."""
        error = self.errors[0] if len(self.errors) == 1 else None
        if not isinstance(error, dict) or not error.get('loc') or 'input' not in error:
            return shown, False
        text = _model_error_text(error, self.all_secret, _secret_texts(self.sent, self.all_secret) | self.around)
        if self.all_secret or text.endswith(_HIDDEN_MESSAGE + ')') or any(
                isinstance(part, str) and _is_secret_name(part) for part in error['loc']):
            return shown, True
        return error['input'], False


def _secret_texts(value: Any, secret: bool) -> typing.FrozenSet[str]:
    """The values, as text, that a model's messages must not show: those of the members of ``value`` whose names
    look secret, at any depth; ``secret``: all of them."""
    texts = set()
    pending = [(value, secret)]
    while pending:  # (no recursion: as deep as the JSON reader allowed)
        value, secret = pending.pop()
        if isinstance(value, dict):
            pending.extend((item, secret or (isinstance(key, str) and _is_secret_name(key)))
                           for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, secret) for item in value)
        elif secret and not isinstance(value, (bool, type(None))):  # (a number too: a PIN)
            texts.add(str(value))
    texts.discard('')
    return frozenset(texts)


def _model_error_text(error: Any, secret: bool, hidden: typing.FrozenSet[str]) -> str:
    """One entry of a pydantic ``ValidationError.errors()``: ``field 'qty': Input should be a valid integer``;
    ``secret``: every field is a secret one (the parameter's name looks secret); ``hidden``: the values sent to
    secret-looking fields (:func:`_secret_texts`)."""
    if not isinstance(error, dict):
        return _escape(str(error))[:_MODEL_MESSAGE_SHOWN]
    parts = error.get('loc') or ()
    message = _escape(_model_message(error, secret or any(isinstance(part, str) and _is_secret_name(part)
                                                          for part in parts), hidden))
    if len(message) > _MODEL_MESSAGE_SHOWN:
        message = message[:_MODEL_MESSAGE_SHOWN - 3] + '...'
    location = '.'.join(str(part) for part in parts)
    if not location:  # (the model's own check: the 400's brackets hold it)
        return message
    if message == _HIDDEN_MESSAGE:  # (after a field's name, in brackets of its own)
        message = '(%s)' % message
    return 'field %r: %s' % (_escape(location)[:60], message)


#: What a 400 says in place of a model's message that holds a value sent to a field whose name looks secret.
_HIDDEN_MESSAGE = 'its message is not shown: it holds the value sent, and the name looks secret'


def _model_message(error: Dict[str, Any], secret: bool, hidden: typing.FrozenSet[str]) -> str:
    """Pydantic's message of one error, secrets in it masked; none when it holds a value sent to a secret field
    (a validator's own ``ValueError('%s is too short' % password)``), or, ``secret``, the value of its own field."""
    message = _text_without_secrets(str(error.get('msg', 'invalid')))
    sent = error.get('input')
    if (secret and (sent if isinstance(sent, str) else str(sent)) in message) or any(text in message
                                                                                    for text in hidden):
        return _HIDDEN_MESSAGE
    return message


def _record_names(kind: Any) -> typing.AbstractSet[str]:
    """The names of the members of a JSON object that a record takes (a pydantic model's aliases among them)."""
    kind = typing.get_origin(kind) or kind
    fields = _record_fields(kind)
    if fields is not None:
        return fields.keys()
    models = getattr(kind, 'model_fields', None)
    if not isinstance(models, dict):
        models = getattr(kind, '__fields__', {})
    return {name for field, info in models.items() for name in (field, getattr(info, 'alias', None) or field)}


def _is_record(kind: Any) -> bool:
    """True for a dataclass, a ``NamedTuple``, a ``TypedDict`` or a pydantic model (a generic one parameterised too,
    ``Box[int]``): a class built from a JSON object."""
    kind = typing.get_origin(kind) or kind
    return _record_fields(kind) is not None or _model_validator(kind) is not None


def _model_converter(kind: Any, validate: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A pydantic model from a JSON object, ``Model.model_validate(value)``, as FastAPI builds one: anything but a
    JSON object (a text from the query or a form among them), or an object the model refuses (its
    ``ValidationError``, an exception with an ``errors()`` method), is a ``ValueError`` naming the failing fields."""
    fields = getattr(kind, 'model_fields', None)
    if not isinstance(fields, dict):
        fields = getattr(kind, '__fields__', {})
    names = [getattr(info, 'alias', None) or name for name, info in fields.items()]
    problem = 'must be a JSON object with the fields of %s (%s)' % (kind.__name__, ', '.join(names))
    refused = 'must be a valid %s' % kind.__name__

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(problem)
        try:
            return validate(value)
        except Exception as error:
            errors = getattr(error, 'errors', None)
            if not callable(errors):
                raise  # not pydantic's refusal of the value: a fault of the model's code, a 500 (logged)
            raise _InvalidModel(refused, list(errors()), value) from None
    return convert


#: Classes whose constructor makes something else of a value than a user means by the annotation (``Counter('abc')``
#: counts letters, ``type('5')`` is ``str``), and why.
_NOT_FROM_A_VALUE: Dict[Any, str] = {
    type: 'a class is no value a request sends',
    collections.Counter: 'Counter() would count the letters of a text: write Dict[str, int]',
    collections.OrderedDict: 'write Dict[K, V], whose keys and values canister converts',
    collections.defaultdict: 'write Dict[K, V], whose keys and values canister converts',
    collections.ChainMap: 'write Dict[K, V], whose keys and values canister converts',
}


#: The annotations of a dict whose keys and values are converted (``Dict[K, V]``, ``Mapping[K, V]``): a dict each
#: (a bare ``Mapping`` too, as a bare ``dict``).
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _plain_reader(convert: Optional[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """``convert`` (None: as sent) of a value of the body read again for a ``Decimal`` that holds none: of the value
    with plain floats (:func:`_plain_floats`)."""
    if convert is None:
        return _plain_floats

    def plain(value: Any) -> Any:
        return convert(_plain_floats(value))
    return plain


def _plain_floats(value: Any) -> Any:
    """A JSON value of the body read again for a ``Decimal`` with each :class:`_Digits` in it a plain ``float``, as
    the first reading gives: its arrays and objects copied, without recursion (they may be nested as deep as the
    JSON reader allowed); a ``ValueError`` for a number too large for a float, as the first reading refuses one."""
    top = [value]
    pending: List[Tuple[Any, Any]] = [(top, 0)]
    while pending:
        holder, key = pending.pop()
        item = holder[key]
        if type(item) is _Digits:
            holder[key] = float(item)
            if holder[key] in _INFINITIES:  # (1e999: only a Decimal takes it, _read_json)
                raise ValueError('%s: %s' % _TOO_LARGE)
        elif type(item) is list:
            holder[key] = item = list(item)
            pending.extend((item, index) for index in range(len(item)))
        elif type(item) is dict:
            holder[key] = item = dict(item)
            pending.extend((item, name) for name in item)
    return top[0]


def _path_converter(kind: Any) -> Callable[[Any], Any]:
    """A ``pathlib.Path``: an empty text is no path (``Path('')`` would be ``Path('.')``, the current directory) but a
    400, as an empty text is no ``int``."""
    convert = _other_converter(kind)
    problem = 'must be a path'

    def path(value: Any) -> Any:
        if value == '':
            raise ValueError(problem)
        return convert(value)
    return path


class _ItemRefused(ValueError):
    """A value held in a container that did not convert: an item of a list (``List[Item]``, ``List[int]``, in a
    JSON array inside one, ``rows[1][1]``), a position of a fixed-length tuple, a ``Dict``'s member or a record's
    field.  It holds where it stands (an item's and a position's index; a member's or a field's name is in the
    words of its error, ``its member 'b' ``), what was wrong, and the innermost value that failed, which a
    parameter's 400 shows alone (``(at ids[1]) ..., got '2.5'``, ``its member 'b' ..., got 'x'``), not the whole
    container; or, held under a name that looks secret (``password``), no value (nor, for a ``Dict``'s key, the
    key in its words: :func:`_item_refusal_shown`)."""

    def __init__(self, indexes: Tuple[int, ...], error: ValueError, item: Any, hidden: bool = False,
                 key: str = '') -> None:
        #: Its index, then those of the lists inside it that hold it (``(0, 1)`` for ``items[0][1]``); none for a
        #: member or a field, which its error names.
        self.indexes = indexes
        #: What its conversion raised.
        self.error = error
        #: The value that did not convert, as sent (the innermost: ``'x'`` of ``pairs[1][0]``, of ``its member 'b'``).
        self.item = item
        #: A member or field whose name looks secret holds it: the 400 does not show it.
        self.hidden = hidden
        #: For a ``Dict``'s key that did not convert, the words naming it in its error (``its key 'x' ``); else ''.
        self.key = key
        super().__init__('(at %s) %s' % (self.where(''), error) if indexes else str(error))

    def where(self, name: str) -> str:
        """Where it stands in the list ``name``: ``items[1]``, ``items[0][1]``."""
        return name + ''.join('[%d]' % index for index in self.indexes)

    def inside(self, index: int) -> '_ItemRefused':
        """The same refusal, of the item ``index`` (of a list, or a tuple's position) that holds it."""
        return _ItemRefused((index,) + self.indexes, self.error, self.item, self.hidden, self.key)


def _indexed_items(convert: Callable[[Any], Any], values: List[Any]) -> List[Any]:
    """Each of ``values`` converted, records, tuples, dicts or lists (:func:`_names_items`), or the items of a JSON
    array; one that does not convert, as a whole (a tuple of another length, a text where a JSON array belongs) or
    inside, is an :class:`_ItemRefused` saying where it stands."""
    items = []
    for index, value in enumerate(values):
        try:
            items.append(convert(value))
        except _ItemRefused as error:  # (in a list inside the list, a tuple's position, a member or a field)
            raise error.inside(index) from None
        except ValueError as error:
            raise _ItemRefused((index,), error, value) from None
    return items


def _refusal_within(error: ValueError, text: str, name: str, secret: bool, container: Any = None) -> ValueError:
    """The refusal of a value held in something (a record's field, a dict's member, a list parameter) as its 400 says
    it: ``text`` (``...: its field 'items' ``), then where in it an item of a list failed (``(at items[1]) ``,
    ``name`` being the field's or member's), then what was wrong.  A pydantic model's refusal stays one, its messages
    kept out as before (``secret``: the field's or member's name looks secret), and those holding the value of a
    secret-looking member of ``container``, the value sent for what holds it, too."""
    if isinstance(error, _ItemRefused):
        if error.indexes:
            text = '%s(at %s) ' % (text, error.where(name))
        error = error.error
    if isinstance(error, _InvalidModel):
        return error.within(text + error.problem, secret, container)
    # (still a _NotAnArray: a list's 400 then does not say to repeat the name, which gives no JSON array either)
    return (_NotAnArray if isinstance(error, _NotAnArray) else ValueError)(text + str(error))


def _member_refused(error: ValueError, text: str, name: str, secret: bool, container: Any, value: Any,
                    key: str = '') -> _ItemRefused:
    """The refusal of a ``Dict``'s member or a record's field ``name`` (or of a ``Dict``'s key, ``key`` the words of
    ``text`` naming it), sent ``value`` in the JSON object ``container``: worded by :func:`_refusal_within` after ``text``,
    holding the innermost value that failed, not shown if a secret-looking name holds it (``secret``: this one's, as
    sent, not cut; or one inside), nor then a key that failed (:func:`_item_refusal_shown`)."""
    if isinstance(error, _ItemRefused):
        value, secret, key = error.item, secret or error.hidden, error.key
    return _ItemRefused((), _refusal_within(error, text, name, secret, container), value, secret, key)


def _names_items(kind: Any) -> bool:
    """True for the items a 400 names by their index in a list (``items[1]``), whether one failed as a whole or
    inside: a record (a dataclass, ...), a ``Dict`` (``rows[1]``, then its member), and a container (a fixed-length
    tuple, ``pairs[1]``, a position in it ``pairs[1][0]``; a list, ``rows[1]``, an item of it ``rows[1][1]``)."""
    kind = _unwrap_optional(_beneath_newtype(kind))[0]
    if _unwrap_many(kind)[1] is not None:
        return True
    return _is_record(kind) or (typing.get_origin(kind) or kind) in _DICTS


class _NotAnArray(ValueError):
    """A value of a container inside a container that is no JSON array (of the right length): repeating
    the name in the query, which gives more texts, would not help."""


def _positioned(positions: Tuple[Optional[Callable[[Any], Any]], ...], values: List[Any]) -> Tuple[Any, ...]:
    """A fixed-length ``Tuple[X, Y]``'s values, each converted by the reader of its position (None: as sent); a
    value that did not convert is an :class:`_ItemRefused` naming its position (``pair[1]``), an item of a list
    of records in one the position too (``pair[0][1]``)."""
    converted = []
    for position, (read, value) in enumerate(zip(positions, values)):
        try:
            converted.append(read(value) if read else value)
        except _ItemRefused as error:
            raise error.inside(position) from None
        except ValueError as error:
            raise _ItemRefused((position,), error, value) from None
    return tuple(converted)


def _count_problem(fixed: Optional[Tuple[Any, ...]]) -> str:
    """For a fixed-length ``Tuple[X, Y]`` the 400's words for another count of values; else ``''``."""
    if fixed is None:
        return ''
    return 'must have %d value%s (%s)' % (
        len(fixed), '' if len(fixed) == 1 else 's', ', '.join(_type_name(item) for item in fixed))


def _defaults_to_none(parameter: inspect.Parameter, annotation: Any) -> bool:
    """True for an annotated parameter whose default is None (``page: int = None``): the handler takes None."""
    return parameter.default is None and annotation not in (_EMPTY, Any, object)


def _is_required(parameter: inspect.Parameter, optional: bool) -> bool:
    """True when the request must fill ``parameter``: it has no default and is not ``optional``, or its default is
    FastAPI's ``...``, which says "required" (``q: int = ...``; ``q: Optional[int] = ...`` too, an empty value
    giving None), and which the handler would otherwise get as the Ellipsis object."""
    return (parameter.default is _EMPTY and not optional) or parameter.default is Ellipsis


class _Converters:
    """Makes the converters for the values of one source: a text (the query, a form, the URL), a JSON value
    (``from_json``: a union takes one as it is when it is a value of a member class), or a JSON value of the body read
    again for a ``Decimal`` (``digits``, ``_JSON_DIGITS``: what holds no ``Decimal`` converts, or takes as sent, the
    value with plain floats, as the first reading gives, and only a ``Decimal`` a :class:`_Digits`).  Made once,
    :data:`_FROM_TEXT`, :data:`_FROM_JSON` and :data:`_FROM_DIGITS`, the source chosen once per converter: a value
    held in another (an item, a position, a union's member) is converted by the same one, a record's field and a
    dict's member by :attr:`_json`, a dict's key (a text) by :data:`_FROM_TEXT`."""

    #: The two attributes below and no others (no instance dict).
    __slots__ = ('from_json', 'digits')

    def __init__(self, from_json: bool, digits: bool = False) -> None:
        #: The values come from a JSON body.
        self.from_json = from_json
        #: The values come from the JSON body read again for a ``Decimal``.
        self.digits = digits

    @property
    def _json(self) -> '_Converters':
        """The maker for a value held in a JSON object, a record's field or a dict's member: a JSON value whatever
        holds it (this one, or :data:`_FROM_JSON` for a record or dict converted from a text, which it refuses)."""
        return self if self.from_json else _FROM_JSON

    def of(self, kind: Any) -> Optional[Callable[[Any], Any]]:
        """The function converting a value to ``kind``, or None to take it as sent."""
        kind = _beneath_newtype(kind)
        if self.digits and not _holds_decimal(kind):
            return _plain_reader(_FROM_JSON.of(kind))
        if kind in _AS_SENT or _is_any(kind):
            return None
        origin = typing.get_origin(kind)
        if _is_union(kind):
            return self._union(kind)
        if origin is typing.Literal:
            return _literal_converter(kind)
        if not callable(kind):
            return None
        if isinstance(origin, type):
            return self._alias(kind, origin)
        return self._class(dict if kind in _DICTS else kind)

    def positions(self, fixed: Optional[Tuple[Any, ...]]) -> Optional[Tuple[Optional[Callable[[Any], Any]], ...]]:
        """For a fixed-length ``Tuple[X, Y]`` (``fixed``: its types) the converter of each position; else None."""
        return None if fixed is None else tuple(self.of(item) for item in fixed)

    def _union(self, kind: Any) -> Callable[[Any], Any]:
        """``Union[X, Y, ...]``: a JSON value (``from_json``) that already is one of the member classes as
        it is (JSON ``true`` is no ``int``, as for an ``int`` parameter), else the first member that
        converts it, in the order of :func:`_union_rank`; else a ``ValueError`` naming the members.
        With ``None`` among them: see :func:`_optional_converter`."""
        members = tuple(sorted((arg for arg in typing.get_args(kind) if arg is not type(None)), key=_union_rank))
        if len(members) < len(typing.get_args(kind)):
            rest = typing.Union[members] if len(members) > 1 else members[0]
            return _optional_converter(self.of(rest), _takes_empty_text(rest))
        for member in members:
            if _unwrap_many(member)[1] is not None:
                raise _Unconvertible('a union member, %s, is a container' % _type_name(member))
        convert = _first_that_converts([self.of(member) for member in members],
                                       _union_classes(members, self.from_json),
                                       'must be %s' % _either([_type_name(member) for member in members]))
        return _plain_when_as_sent(convert) if self.digits else convert

    def _alias(self, kind: Any, origin: type) -> Callable[[Any], Any]:
        """:meth:`of` a parameterised class, ``Deque[int]`` and the like: the container, its items as sent;
        but a container inside a container, a dict and a generic record convert what they hold."""
        fields = _record_fields(origin)
        if fields is not None and _model_validator(origin) is None:  # a generic record, Box[int]: T is int
            return self._record(origin, fields, typing.get_args(kind))
        if origin in _MANY:  # List[int] inside List[...]: each value converted as a list of its own
            return self._nested(kind)
        if origin in _DICTS and len(typing.get_args(kind)) == 2:  # Dict[str, int]: each key and value converted
            key_type, value_type = typing.get_args(kind)
            return self._dict(key_type, value_type)
        convert = self._class(dict if origin in _DICTS else origin)
        return _plain_reader(convert) if self.digits else convert  # (Counter[Decimal]: its items as sent)

    def _class(self, kind: Any) -> Callable[[Any], Any]:
        """:meth:`of` a class: an enum, a record of fields (a dataclass, ...), or a class of its own."""
        if isinstance(kind, type) and kind in _NOT_FROM_A_VALUE:
            raise _Unconvertible(_NOT_FROM_A_VALUE[kind])
        if inspect.isabstract(kind):  # Mapping[str, int], an abstract class of the app's: nothing to call
            raise _Unconvertible('%s is an abstract class' % _type_name(kind))
        if isinstance(kind, enum.EnumMeta):
            return _enum_converter(kind)
        validate = _model_validator(kind)
        if validate is not None:
            return _model_converter(kind, validate)
        fields = _record_fields(kind)
        if fields is not None:
            return self._record(kind, fields, ())
        if isinstance(kind, type) and issubclass(kind, pathlib.PurePath):
            return _path_converter(kind)
        return _CONVERTERS.get(kind) or _other_converter(kind)

    def _record(self, kind: Any, fields: Dict[str, bool], arguments: Tuple[Any, ...]) -> Callable[[Any], Any]:
        """A dataclass, ``NamedTuple`` or ``TypedDict`` from a JSON object, as FastAPI builds a model: each member a
        field, converted as its annotation says (a JSON value, as for a parameter from a JSON body); a member it has
        no field for, a required field missing, or anything but a JSON object is a ``ValueError``.  A ``NamedTuple``
        takes a JSON array too, its items the fields in order, as pydantic reads one.  ``arguments``: those of a
        parameterised generic record (``Box[int]``), which its fields' type variables stand for."""
        making = _RECORDS_MADE.__dict__.setdefault('kinds', set())
        if (kind, arguments) in making or sum(made is kind for made, _ in making) >= _GENERIC_NESTING:
            raise _Unconvertible('%s holds itself in a field, at some depth' % _type_name(kind))
        making.add((kind, arguments))
        try:
            hints = typing.get_type_hints(kind)
            variables = dict(zip(getattr(kind, '__parameters__', ()), arguments))
            readers = {name: self._json.of(_substituted(_beneath_initvar(hints.get(name, _EMPTY)), variables))
                       for name in fields}
        except _Unconvertible:
            raise
        except Exception as error:  # a field's annotation naming a type defined inside a function, say
            raise _Unconvertible('the annotations of the fields of %s cannot be evaluated (%s: %s)'
                                 % (_type_name(kind), type(error).__name__, error)) from None
        finally:
            making.discard((kind, arguments))
        name = kind.__name__
        positional = issubclass(kind, tuple)  # a NamedTuple
        problem = 'must be a JSON object with the fields of %s (%s)%s' % (
            name, ', '.join(fields), ', or a JSON array of them in that order' if positional else '')
        required = [field for field, needed in fields.items() if needed]

        def convert(value: Any) -> Any:
            if positional and isinstance(value, list):
                if len(value) > len(readers):
                    raise ValueError('%s: %s has %d fields, not %d' % (problem, name, len(readers), len(value)))
                value = dict(zip(readers, value))
            if not isinstance(value, dict):
                raise ValueError(problem)
            values = {}
            for field, item in value.items():
                if field not in readers:
                    raise ValueError('%s: %s has no field %r' % (problem, name, _escape(str(field))[:60]))
                read = readers[field]
                try:
                    values[field] = read(item) if read else item
                except ValueError as error:
                    raise _member_refused(error, '%s: its field %r ' % (problem, field), field, _is_secret_name(field),
                                          value, item) from None
            missing = [field for field in required if field not in values]
            if missing:
                raise ValueError('%s: the field %r is missing' % (problem, missing[0]))
            try:
                return kind(**values)
            except (AssertionError, *_BAD_VALUE_ERRORS) as error:  # its own check (__post_init__) refused them
                raise _refused_record(name, error, value) from None
        return convert

    def _dict(self, key_type: Any, value_type: Any) -> Callable[[Any], Any]:
        """``Dict[K, V]``: a dict from a JSON object, each key converted to K as a text is (a JSON object's keys are
        texts: ``{"1": ...}`` for ``Dict[int, ...]``), each value to V as a JSON value is; else a ``ValueError``."""
        read_key, read_value = _FROM_TEXT.of(key_type), self._json.of(value_type)
        problem = 'must be a JSON object, each key %s and each value %s' % (_type_name(key_type),
                                                                          _type_name(value_type))

        def convert(value: Any) -> Any:
            if not isinstance(value, dict):
                raise ValueError(problem)
            converted = {}
            for key, item in value.items():
                try:
                    read = read_key(key) if read_key else key
                except ValueError as error:  # (the key itself, shown: its text names the member anyway)
                    shown = _escape(key)[:60]
                    words = 'its key %r ' % shown
                    raise _member_refused(error, '%s: %s' % (problem, words), shown, False, value, key,
                                          words) from None
                try:
                    converted[read] = read_value(item) if read_value else item
                except ValueError as error:
                    shown = _escape(key)[:60]
                    raise _member_refused(error, '%s: its member %r ' % (problem, shown), shown, _is_secret_name(key),
                                          value, item) from None
                except TypeError:  # a key converted to a value a dict cannot hold (a list, a dict)
                    raise ValueError('%s: its member %r makes no key of a dict'
                                     % (problem, _escape(key)[:60])) from None
            return converted
        return convert

    def _nested(self, kind: Any) -> Callable[[Any], Any]:
        """A container inside a container (``List[List[int]]``): each value a JSON array, its items converted as
        the inner annotation says (a text, which holds no array, and an item that does not convert are refused)."""
        item, container, fixed = _unwrap_many(kind)
        convert = self.of(item)
        positions = self.positions(fixed)
        # (said after where it stands: a JSON array of that many values, or of what the list holds)
        problem = 'must be a JSON array ' + ('of %d value%s (%s)' % (
            len(fixed), '' if len(fixed) == 1 else 's', ', '.join(map(_type_name, fixed))) if fixed is not None
            else '(a %s)' % _type_name(kind))

        def nested(value: Any) -> Any:
            if not isinstance(value, list) or (positions is not None and len(value) != len(positions)):
                raise _NotAnArray(problem)
            if positions is not None:
                return _positioned(positions, value)
            # (a 400 names the item that failed: items[1], pairs[1][0], rows[1][1])
            items = list(value) if convert is None else _indexed_items(convert, value)
            try:
                return container(items)
            except TypeError:  # a JSON array or object in a set
                raise ValueError('must hold values a set can hold (a JSON array or object is not one)') from None
        return nested


#: The converters of a text (the query, a form, the URL), of a JSON value, and of a JSON value of the body read again
#: for a ``Decimal``.
_FROM_TEXT = _Converters(from_json=False)
_FROM_JSON = _Converters(from_json=True)
_FROM_DIGITS = _Converters(from_json=True, digits=True)



class _Param:
    """How one handler parameter is filled, decided once per route."""

    #: A route may have many parameters, each read on every request: no instance dict.
    __slots__ = ('name', 'convert', 'many', 'required', 'optional', 'is_file', 'plain', 'wire_name', 'exact',
                 'none_if_absent', 'container', 'positions', 'count_problem', 'json_convert', 'json_positions',
                 'empty_text', 'record', 'plain_items', 'names_itself', 'digits_convert',
                 'digits_positions')

    def __init__(self, parameter: inspect.Parameter, annotation: Any) -> None:
        """Raises :class:`_Unconvertible` for an annotation canister cannot convert to."""
        #: The handler's parameter name.
        self.name = parameter.name
        #: The annotation is ``Optional[X]`` (or ``X | None``), or the default is None (``page: int = None``:
        #: the handler takes None, so an empty value gives it).
        kind, self.optional = _unwrap_optional(annotation)
        self.optional = self.optional or _defaults_to_none(parameter, annotation)
        kind, container, fixed = _unwrap_many(kind)
        #: It takes every value of its name (a list, tuple or set annotation), not one.
        self.many = container is not None
        #: What a list of the values becomes: None to keep the list, else ``tuple``, ``set`` or ``frozenset``.
        self.container = None if container is list else container
        #: A ``bottle.FileUpload``: filled from the form's files.
        self.is_file = kind is bottle.FileUpload
        self._set_converters(kind, fixed)
        #: The request must fill it: no default, and not ``Optional``; or FastAPI's default ``...``, which says
        #: "required" (``q: int = ...``; ``Optional[int] = ...``: required, and an empty value gives None).
        self.required = _is_required(parameter, self.optional)
        #: ``Optional[X]`` without a default: None when absent (with one, the handler's default).
        self.none_if_absent = self.optional and parameter.default is _EMPTY
        #: A text taken as sent (no conversion, or ``str``'s, which gives a text back as it is; one value): the
        #: common case, bound on a short path.
        self.plain = self.convert in (None, _to_str) and not (self.many or self.is_file or self.optional)
        #: The name as Bottle keys it in query and form dicts (latin-1 text of the UTF-8 bytes).
        self.wire_name = self.name.encode('utf-8').decode('latin1')
        #: A dataclass, ``NamedTuple``, ``TypedDict`` or pydantic model (one, not a list of them): when it is the handler's lone
        #: parameter, a JSON body without a member of its name is that record itself, as in FastAPI.
        self.record = container is None and _is_record(kind)
        self._set_record_kind(kind, container)
        #: A ``Decimal``, or an annotation with one inside (a list, a dict, a record's field): a JSON number in its value
        #: is read again from its text, not through a binary float.
        self.exact = _holds_decimal(annotation)
        #: The two JSON converters for a value of the body read again for it (:data:`_FROM_DIGITS`).
        self.digits_convert, self.digits_positions = self.json_convert, self.json_positions
        if self.exact:
            self.digits_convert = _FROM_DIGITS.of(kind)
            self.digits_positions = _FROM_DIGITS.positions(fixed)

    def _set_record_kind(self, kind: Any, container: Any) -> None:
        """Set what a record (``kind``), or a ``container`` of them, changes in binding and in the 400."""
        #: A list of plain values (``List[int]``; not of records, dicts, tuples nor lists, :func:`_names_items`, whose
        #: 400 always names the one that failed by its index): a 400 for one not sent alone (among several, or in a
        #: JSON array) names it by its index and shows it alone, ``(at ids[1]) ..., got '2.5'``.
        self.plain_items = container is not None and not _names_items(kind)
        #: A record with a field named as the parameter (``item: Item`` whose ``Item`` has a field ``item``): as the
        #: handler's lone parameter it is always built from the whole JSON body, whose member ``item`` is that field.
        self.names_itself = self.record and self.name in _record_names(kind)

    def _set_converters(self, kind: Any, fixed: Optional[Tuple[Any, ...]]) -> None:
        """Set the converters: to ``kind``, or for a fixed-length tuple to each of its ``fixed`` types;
        for a text, and for a JSON value; and whether an empty text is a value of ``kind``."""
        self.convert: Optional[Callable[[Any], Any]] = _FROM_TEXT.of(kind)
        #: ``''`` is one of its values (``sort: Literal['', 'asc'] = None``): an empty text is that value,
        #: not the None an ``Optional`` parameter takes for it (JSON ``null`` still is None).
        self.empty_text = self.optional and _takes_empty_text(kind)
        #: A fixed-length ``Tuple[X, Y]``: the converter of each position (None: as sent), and the
        #: 400's words for another count of values.
        self.positions = _FROM_TEXT.positions(fixed)
        self.count_problem = _count_problem(fixed)
        #: The same two for a value from a JSON body: they differ for a union only (a JSON string
        #: stays a string for ``Union[int, str]``, where a text from the query may convert to an int).
        self.json_convert = self.convert
        self.json_positions = self.positions
        if any(_holds_union(item) for item in (fixed or (kind,))):
            self.json_convert = _FROM_JSON.of(kind)
            self.json_positions = _FROM_JSON.positions(fixed)


def _type_hints(callback: Callable[..., Any]) -> Dict[str, Any]:
    """The handler's evaluated annotations; none if any of them cannot be evaluated."""
    try:
        return typing.get_type_hints(callback)
    except Exception:
        return {}


def _without_metadata(callback: Callable[..., Any], annotation: Any) -> Any:
    """``Annotated[X, ...]`` as X, at any depth (FastAPI's ``Annotated[int, Query(gt=0)]``), as ``_type_hints`` gives
    it; for a handler with another annotation that cannot be evaluated, whose hints are read one by one."""
    def holder() -> None:
        """Carries the one annotation for typing.get_type_hints, which takes out the metadata."""
    holder.__annotations__ = {'value': annotation}
    try:  # (a name inside, List['Item'], is the handler module's, as in _resolve: not one of canister's own)
        return typing.get_type_hints(holder, globalns=getattr(inspect.unwrap(callback), '__globals__', {}))['value']
    except Exception:  # a forward reference inside, List['Item']: as it is
        return annotation


def _has_body(environ: Dict[str, Any]) -> bool:
    """True if the request announces a body: a Content-Length other than 0, or chunks."""
    return (environ.get('CONTENT_LENGTH', '') not in ('', '0')
            or environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked')


#: The methods whose body fills no parameter, as Werkzeug's ``request.values`` and Django's ``request.POST`` ignore
#: it: such a body has no defined meaning (RFC 9110 section 9.3.1), and a shared cache keys their answers on the URL
#: alone, so a body that chose the answer (``GET /greet?name=bob`` with ``{"name": "eve"}``) would poison it.
_BODY_FILLS_NOTHING = frozenset(('GET', 'HEAD'))


def _body_fills_nothing(environ: Dict[str, Any]) -> bool:
    """True for a request whose body is left to the handler: parameters come from the URL and the query only."""
    return environ.get('REQUEST_METHOD', '').upper() in _BODY_FILLS_NOTHING


def _body_fills_parameters(environ: Dict[str, Any]) -> bool:
    """True if the request has a body that parameters may come from: one is sent, by a method other than GET's
    and HEAD's.  The one test of reading the body, and of telling of it in a 400."""
    return _has_body(environ) and not _body_fills_nothing(environ)


#: The media types of a form body, which fills parameters as JSON does.
_FORM_TYPES = ('application/x-www-form-urlencoded', 'multipart/form-data')


def _bottle_content_type(content_type: str) -> Optional[str]:
    """A body's ``Content-Type`` as both Bottles parse it, or None if it is that already.  Bottle 0.13 raises
    ``ValueError`` on a parameter without ``=`` (the trailing ``;`` of ``multipart/form-data; boundary=x;``),
    which 0.12 passes over, as this does; and a form's media type is case-insensitive, but bottle 0.13 reads
    a body of ``Multipart/Form-Data`` as a urlencoded form (its fields lost) and 0.12's ``cgi`` fails on it."""
    readable = content_type
    if ';' in readable and '"' not in readable:  # (with quotes, which may hold a ';', 0.13 reads them another way)
        readable = ','.join(';'.join(parameter for number, parameter in enumerate(value.split(';'))
                                     if not number or '=' in parameter)
                            for value in readable.split(','))
    media_type, semicolon, parameters = readable.partition(';')
    if media_type.strip().lower() in _FORM_TYPES:
        readable = media_type.strip().lower() + semicolon + parameters
    return None if readable == content_type else readable


#: A media type worth naming back to the client (``text/plain``), not any text it sent.
_MEDIA_TYPE = re.compile(r'[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,40}')


def _unread_body_note(body: Any, environ: Dict[str, Any]) -> str:
    """Why a body sent along filled no parameter, for the 400 of a missing one ('' when it did or
    was not sent): a type canister does not read (``fetch`` sends a text body as ``text/plain``),
    JSON that is no object, JSON sent as a form (``curl -d`` without a ``Content-Type``), or a JSON body that is
    empty (a client that sets the type and forgets the body)."""
    content_type = _media_type(environ.get('CONTENT_TYPE', ''))
    if not _body_fills_parameters(environ):
        if _body_fills_nothing(environ):
            return (_BODY_FILLS_NOTHING_NOTE % environ['REQUEST_METHOD'].upper()
                    if _has_body(environ) or _is_json_type(content_type) else '')
        return ' (the JSON body is empty)' if _is_json_type(content_type) else ''
    if body is None:
        return _unread_type_note(content_type)
    return _json_as_form_note(body, content_type)


def _json_as_form_note(body: Any, content_type: str) -> str:
    """:func:`_unread_body_note` for a body read as a form: JSON sent as one (``curl -d``), or ''."""
    if isinstance(body, bottle.FormsDict) and len(body) == 1 and content_type == 'application/x-www-form-urlencoded':
        field = next(iter(body))
        if isinstance(field, str) and field.lstrip()[:1] in ('{', '['):
            return ' (the form body looks like JSON: send it with Content-Type: application/json)'
    return ''


#: The 400's note for a parameter missing from a GET or HEAD request that sent a body (or named JSON as its type).
_BODY_FILLS_NOTHING_NOTE = (' (the body of a %s request fills no parameter: send the parameters in the query string, '
                            'or the body with POST; the handler can read the body itself: bottle.request.json, '
                            'bottle.request.forms)')

#: The 400's note for a file parameter missing from a request that is no multipart form (a JSON body, a
#: urlencoded form, ``curl -d``), none of which can hold a file.
_FILE_NOT_MULTIPART_NOTE = (' (files come only in a multipart form, which <form method="post" '
                            'enctype="multipart/form-data"> and curl -F send; a JSON body or a urlencoded form holds '
                            'no file)')


def _multipart_note(environ: Optional[Dict[str, Any]] = None) -> str:
    """The note for a file parameter of a request (``environ``, else Bottle's current one) that is no multipart form."""
    content_type = (bottle.request.environ if environ is None else environ).get('CONTENT_TYPE', '')
    return '' if _media_type(content_type) == 'multipart/form-data' else _FILE_NOT_MULTIPART_NOTE


def _unread_type_note(content_type: str) -> str:
    """:func:`_unread_body_note` for a body read as nothing: JSON that is no object, or a type canister does not read."""
    if _is_json_type(content_type):
        return ' (the JSON body is not an object: only an object\'s members fill parameters)'
    named = content_type if _MEDIA_TYPE.fullmatch(content_type) else 'another type' if content_type else 'no type'
    return ' (the body, of %s, fills no parameter: send a JSON object with Content-Type: application/json, or a form)' % named


#: The 400's note for a record or model parameter (a dataclass, a pydantic model, ...) missing from a form, which holds
#: texts only: a ``<form>`` posted to ``def create(item: Item)``.
_RECORD_NOT_IN_A_FORM_NOTE = (' (it is built from a JSON object, which a form cannot hold: send the body as JSON, '
                              'with Content-Type: application/json)')


#: What follows a list parameter's name in the keys that jQuery, axios and PHP's forms send a list under
#: (``tags[]=a&tags[]=b``): taken when the plain name is not sent (``ParameterBinder._values``).
_LIST_SUFFIX = '[]'


def _json_values(param: _Param, body: Dict[str, Any], suffix: str = '') -> Optional[List[Any]]:
    """The values of one parameter in a JSON body (under its name followed by ``suffix``), or None if the
    body does not have it."""
    name = param.name + suffix
    if name not in body or param.is_file:
        return None
    value = body[name]
    return _JsonArray(value) if isinstance(value, list) and param.many else _JsonValue((value,))


class _JsonValue(list):
    """The one value of a parameter in a JSON body (see :meth:`ParameterBinder._convert`)."""


class _JsonArray(_JsonValue):
    """The items of a JSON array sent to a parameter of many values: ``[null]`` is one item, ``null``,
    where the JSON ``null`` itself means none (see :func:`_many_values`)."""


#: The problem of a JSON body nested deeper than Python's recursion limit lets it be read.
_TOO_DEEP = ('the JSON body is nested too deeply: more arrays and objects inside each other than Python\'s '
             'recursion limit lets canister read')


def _refuse_cut_short(request: Any, size: int) -> None:
    """:class:`BadRequest` for a body that ended before its ``Content-Length``: the client stopped sending,
    and gunicorn and wsgiref hand over what came, of which a form's first fields are a form too
    (``amount=10`` of ``amount=1000``)."""
    expected = request.content_length
    if 0 <= size < expected:
        raise BadRequest('the body ended after %d of its %d bytes (Content-Length)' % (size, expected))


def _json_text(body: Any) -> str:
    """A JSON body's bytes as text, as ``json.loads`` decodes them; :class:`BadRequest` for bytes that are not
    UTF-8 (latin-1 text, say, whatever charset the Content-Type names: JSON is UTF-8)."""
    if not isinstance(body, (bytes, bytearray)):
        return body
    encoding = json.detect_encoding(body)
    try:
        return body.decode(encoding, 'surrogatepass')
    except UnicodeDecodeError:
        if encoding == 'utf-8':
            raise BadRequest('the JSON body is not valid UTF-8: JSON is sent as UTF-8, whatever charset the '
                             'Content-Type names') from None
        # (zero bytes among the first four read as UTF-16 or UTF-32, as json.loads does: valid ones are taken)
        raise BadRequest('the JSON body is not valid %s, which its first bytes make it: send JSON as UTF-8'
                         % encoding.upper()) from None


def _read_json(request: Any, decoder: Optional[json.JSONDecoder] = None,
               huge: Optional[typing.AbstractSet[str]] = frozenset()) -> Optional[Dict[str, Any]]:
    """A JSON object body; None for any other JSON value (an array, ``null``, a string: left to the
    handler, as in canister 1.x); :class:`BadRequest` for a body that is not valid JSON, or that holds a number too
    large for a float (``1e999``, which Python reads as Infinity) but under the members ``huge`` names (None: any),
    whose ``Decimal`` parameters take one.  ``decoder``: ``_JSON_DIGITS`` to keep the digits of a number with a
    fraction or an exponent."""
    try:
        text = request.body.read()  # Bottle's request.body starts at the beginning each time
    except _OwnError:  # canister's own refusal (a chunked body over max_body_size), for the app's handler
        raise
    except bottle.HTTPError as error:  # Bottle's: chunk framing it cannot read (bottle.run()'s server passes it on)
        raise BadRequest('the body could not be read (%s)' % str(error.body).rstrip('.')) from None
    _refuse_cut_short(request, len(text))
    text = _json_text(text)
    try:
        data = _decoded(text, decoder or _JSON_BODY, huge)
    except _NotJson as error:
        raise BadRequest(_constant_problem(text, error, huge)) from None
    except json.JSONDecodeError:
        raise BadRequest('the body is not valid JSON') from None
    except ValueError:  # int()'s own, from a number of more digits than Python reads
        raise BadRequest('the JSON body holds a number of more than %d digits (Python\'s limit, '
                         'sys.set_int_max_str_digits)' % _int_digits_limit()) from None
    except RecursionError:  # (valid JSON, as the client may well know: say what is wrong with it)
        raise BadRequest(_TOO_DEEP) from None
    if not isinstance(data, dict):
        return None
    if _may_hold_lone_surrogates(text):
        _refuse_lone_surrogates(data)
    return data


#: The code of Bottle's ``request.json`` and ``request.POST`` (behind ``forms``, ``files`` and ``params``), which a
#: handler reading the body itself runs, each with the name of the body it reads.
_BOTTLE_BODY_READERS = {getattr(getattr(vars(bottle.BaseRequest).get(name), 'getter', None), '__code__', None): body
                        for name, body in (('json', 'JSON'), ('POST', 'form'))}


#: What a 400 says of a form body Bottle's parser cannot read, whoever read it (canister or the handler).
_MALFORMED_FORM = 'the form body is malformed'


#: Bottle 0.13's form parser's own 400 (0.12 has none: its cgi module raises ValueError).
_BOTTLE_FORM_ERRORS: Tuple[type, ...] = tuple(getattr(bottle, name) for name in ('MultipartError',) if hasattr(bottle, name))


def _bottle_reader_of(error: BaseException) -> Optional[str]:
    """The body (``JSON`` or ``form``) whose Bottle reader ``error`` was raised in, or None if raised elsewhere."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code not in _BOTTLE_BODY_READERS:
        frames = frames.tb_next
    return None if frames is None else _BOTTLE_BODY_READERS[frames.tb_frame.f_code]


def _bottle_body_refusal(error: BaseException) -> Optional[str]:
    """What is wrong with a body that Bottle's ``request.json`` or ``request.forms``, read by the handler itself,
    raised ``error`` for, as canister's own reading says it; None for an exception raised anywhere else.  (Bottle
    0.12 lets a body that is no JSON or no UTF-8 raise, both Bottles one nested past the recursion limit, and
    their form parsers a boundary, a charset or a part header they cannot read.)"""
    if not isinstance(error, (ValueError, TypeError, LookupError, RecursionError)):
        return None
    body = _bottle_reader_of(error)
    if body is None:
        return None
    if body == 'form':
        return _MALFORMED_FORM
    if isinstance(error, RecursionError):
        return _TOO_DEEP
    if isinstance(error, UnicodeDecodeError):
        return 'the JSON body is not valid UTF-8: JSON is sent as UTF-8, whatever charset the Content-Type names'
    return 'the body is not valid JSON'


def _bottle_body_answer(error: BaseException) -> Optional[str]:
    """What is wrong with a body that Bottle 0.13's ``request.json`` or ``request.forms``, read by the handler
    itself, answered its own 400 for (``Invalid JSON``, ``MultipartError: ...``), as canister's own reading says
    it; None for any other response, the app's own ``abort(400)`` among them (raised outside Bottle's readers)."""
    if not isinstance(error, bottle.HTTPError) or error.status_code != 400 or _bottle_reader_of(error) is None:
        return None
    if isinstance(error, _BOTTLE_FORM_ERRORS):
        return _MALFORMED_FORM
    cause = error.__context__  # (json's own exception, which Bottle 0.13 answers 'Invalid JSON' for)
    refusal = _bottle_body_refusal(cause) if cause is not None else None
    return refusal or 'the body could not be read (%s)' % str(error.body).rstrip('.')


def _may_hold_lone_surrogates(text: str) -> bool:
    """Whether a JSON text may give text that is not UTF-8: a surrogate escaped (``\\ud800``; or a
    pair, which is fine) or as raw bytes, which ``'surrogatepass'`` let in.  Most bodies have neither."""
    return '\\ud' in text or '\\uD' in text or not text.isascii() and not _is_utf8(text)


def _is_utf8(text: str) -> bool:
    """False for text with a lone surrogate, which no UTF-8 bytes stand for."""
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def _refuse_lone_surrogates(data: Dict[str, Any]) -> None:
    """:class:`BadRequest` naming the first field of a JSON object whose name or value holds text
    with a lone surrogate: passed on, it would fail wherever the handler writes it as UTF-8."""
    found = _unwritable_field(data)
    if found is not None:
        raise BadRequest('parameter %r is not valid UTF-8 (it holds a lone surrogate)' % found[0][:60])


def _unwritable_field(data: Dict[str, Any], numbers: bool = False) -> Optional[Tuple[str, Any]]:
    """The first field of a JSON object (a body, a token's claims) whose name or value holds text with a lone
    surrogate, at any depth, with that text; None if all its text has a UTF-8 form.  ``numbers``: or a number
    that is not finite (:func:`_not_json_number`), with that number: a token's claims, which PyJWT read (a
    body's reading refused NaN and Infinity already, :func:`_refuse_constant`)."""
    for key, value in data.items():
        pending = [key, value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                if not item.isascii() and not _is_utf8(item):
                    return str(key), item
            elif isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item)
                pending.extend(item.values())
            elif numbers and _not_json_number(item):
                return str(key), item
    return None


def _read_form(request: Any) -> Any:
    """A urlencoded or multipart body, as Bottle parses it; its refusals become :class:`BadRequest`."""
    try:
        form = request.POST
        _refuse_cut_short(request, request.body.seek(0, os.SEEK_END))
        return form
    except BadRequest:
        raise
    except _OwnError:  # canister's own refusal (a chunked body over max_body_size), for the app's handler
        raise
    except bottle.HTTPError as error:  # Bottle's own refusals
        if error.status_code != 413:
            raise BadRequest(_MALFORMED_FORM) from None
        raise BadRequest('the form body is too large: Bottle reads at most %d bytes of a urlencoded '
                         'form (bottle.BaseRequest.MEMFILE_MAX)' % request.MEMFILE_MAX,
                         status=413) from None
    except bottle.HTTPResponse:  # canister's own response (a chunked body over max_body_size)
        raise
    except UnicodeError:  # bottle 0.13's multipart parser: a field that is not UTF-8
        raise BadRequest('the form body is not valid UTF-8') from None
    except Exception:  # a parser error (its class would tell the client nothing but which parser it was)
        raise BadRequest(_MALFORMED_FORM) from None


#: Bottle 0.12 reads a multipart body with ``cgi.FieldStorage``, which turns bytes that are not
#: UTF-8 into U+FFFD (0.13's own parser, ``_MultipartParser``, refuses them).
_MULTIPART_REPLACES_BAD_BYTES = not hasattr(bottle, '_MultipartParser')


def _recode(source: Any, value: Any, name: Optional[str]) -> Any:
    """Bottle keeps query and urlencoded values as latin-1; give back real UTF-8 text.  ``name``:
    the parameter's, or None when ``value`` is itself a name.  A multipart text that bottle 0.12
    decoded with U+FFFD in it came with bytes that are not UTF-8: refused as they are elsewhere."""
    if not isinstance(value, str) or value.isascii():
        return value
    if getattr(source, 'recode_unicode', False):
        try:
            return value.encode('latin1').decode('utf-8')
        except UnicodeError:
            pass
    elif not (_MULTIPART_REPLACES_BAD_BYTES and '\ufffd' in value):
        return value
    raise BadRequest('a parameter name is not valid UTF-8' if name is None else 'parameter %r is not valid UTF-8' % name)


def _chosen_files(sent: List[Any]) -> List[Any]:
    """The parts sent to a file parameter but those of a file input left empty, which a browser sends with
    ``filename=""``: no file, whether Bottle reads one as an empty text (0.13) or a nameless FileUpload (0.12)."""
    return [value for value in sent if value != '' and getattr(value, 'raw_filename', None) != '']


def _refuse_other_kind(param: _Param, sent: List[Any], values: List[Any]) -> None:
    """:class:`BadRequest` for parts of the other kind (texts to a file parameter, files to a text one): alone,
    or mixed with its own kind, since dropping them would hand the handler part of what came."""
    if not values:
        raise BadRequest('parameter %r must be %s' % (param.name, 'a file upload%s' % _multipart_note() if param.is_file
                                                      else 'text, not a file upload'))
    texts = [value for value in sent if not isinstance(value, bottle.FileUpload)]
    files = len(sent) - len(texts)
    raise BadRequest('parameter %r was sent %d file upload%s and %d text%s under one name: send %s only'
                     % (param.name, files, '' if files == 1 else 's', len(texts), '' if len(texts) == 1 else 's',
                        'files' if param.is_file else 'texts'))


def _form_values(param: _Param, body: Any, suffix: str = '') -> Optional[List[Any]]:
    """The values of one parameter in a form body (files for a file parameter), or None; ``suffix`` is
    what follows its name in the form's keys (``[]``, see ``ParameterBinder._values``)."""
    key = (param.wire_name if getattr(body, 'recode_unicode', False) else param.name) + suffix
    sent = _chosen_files(body.getall(key)) if param.is_file else body.getall(key)
    values = [value for value in sent if isinstance(value, bottle.FileUpload) == param.is_file]
    if len(values) < len(sent):
        _refuse_other_kind(param, sent, values)
    if not values:
        return None
    return [_recode(body, value, param.name) for value in values]


#: How many levels, and members of each array or object, of a JSON value an error message looks at: no more
#: of it fits the 60 characters it shows (each level takes one character at least, each member three).
_SHOWN_JSON = 60


def _without_secrets(value: Any, depth: int = 0) -> Any:
    """A JSON value as an error message shows it: each member of its objects whose name looks secret
    (``{"user": {"password": ...}}``) as ``'***'``, at any level the message can show; in a text, the value
    of each secret-looking ``name=value`` as the request line masks it (``1;access_token=***``)."""
    if depth >= _SHOWN_JSON:
        return None  # (past what the message shows)
    if isinstance(value, dict):
        return {key: '***' if isinstance(key, str) and _is_secret_name(key) else _without_secrets(item, depth + 1)
                for key, item in itertools.islice(value.items(), _SHOWN_JSON)}
    if isinstance(value, list):
        return [_without_secrets(item, depth + 1) for item in value[:_SHOWN_JSON]]
    return _text_without_secrets(value) if isinstance(value, str) else value


def _text_without_secrets(text: str) -> str:
    """A text as an error message shows it: ``'***'`` for JSON text with a secret-looking member (sent as a
    query value or a form field), else the value of each secret-looking ``name=value`` in it masked (a query
    value, Bottle's up to the next ``&``, may hold ``;name=value`` pieces, which the request line masks)."""
    if _holds_secret_member(text):
        return '***'
    if '=' in text:
        text = _redact_query(text)
    return _mask_urls(text) if '://' in text else text  # (a URL's password: https://bob:***@host/)


def _shown_json(value: Any) -> str:
    """A JSON value as an error message shows it: at most 60 characters, secret members as ``'***'``."""
    shown = repr(_without_secrets(value))
    return shown[:57] + '...' if len(shown) > 60 else shown


def _empty_flag_failure(param: _Param, error: ValueError) -> 'BadRequest':
    """The 400 for an empty text sent to a ``bool``, what a bare ``?flag`` sends: how to send one, worded
    for where it came from (looked up here, on the error path only)."""
    request = bottle.request
    if param.name in request.url_args:  # (a route whose wildcard matches an empty segment)
        return BadRequest('parameter %r %s, got an empty value: send true or false' % (param.name, error))
    field = _form_field_sent(param, request)
    if field:
        return BadRequest('parameter %r %s, got an empty value (the form field %s was sent empty): send %s=true '
                          'or %s=false' % ((param.name, error) + (field,) * 3))
    bracketed = param.name + _LIST_SUFFIX
    name = bracketed if param.many and param.name not in request.query and bracketed in request.query else param.name
    return BadRequest('parameter %r %s, got an empty value (a bare ?%s, or ?%s=, sends one): send ?%s=true '
                      'or ?%s=false' % ((param.name, error) + (name,) * 4))


def _form_field_sent(param: _Param, request: bottle.BaseRequest) -> Optional[str]:
    """The name of the form field that sent the parameter: its own, or a list's with brackets (``flags[]``);
    None if the body is no form, fills no parameter (a GET's), or sent neither."""
    environ = request.environ
    if not _body_fills_parameters(environ) or _media_type(environ.get('CONTENT_TYPE', '')) not in _FORM_TYPES:
        return None
    return next((param.name + suffix for suffix in ('', _LIST_SUFFIX) if _form_values(param, request.POST, suffix)),
                None)


def _sent_alone(values: List[Any]) -> bool:
    """True for the one value of a list parameter sent as one (``?ids=x``, ``?ids=1,2,3``, JSON ``"x"``), not in a
    JSON array: if it does not convert, the 400 shows it in a list, with no index (and a text with commas the hint to
    repeat the name); an item of a JSON array, even of one, is named by its index (``(at ids[0]) ..., got 'x'``)."""
    return len(values) == 1 and type(values) is not _JsonArray


def _comma_separated(param: _Param, values: List[Any], error: ValueError) -> bool:
    """True for one text with commas sent to a list parameter, which it did not convert as one item (``?ids=1,2``)."""
    return (param.many and _sent_alone(values) and isinstance(values[0], str) and ',' in values[0]
            and not isinstance(error, _NotAnArray))


def _item_refusal_shown(error: _ItemRefused, name: str, values: List[Any], hidden: str) -> Tuple[ValueError, str]:
    """For :func:`_refusal_shown`, of a value held in something (``values`` sent for the parameter ``name``): what
    was wrong, as the 400 says it, and what it does not show (``hidden``, the parameter's name looking secret: the
    value), a secret-looking name at any depth holding it: the value, and a ``Dict``'s key that did not convert,
    whose words (``its key 'x' ``, the innermost dict's: the last) then say "a key of it"."""
    hidden = hidden or ('value' if error.hidden else '')
    words = _refusal_within(error, '', name, False, values)
    if not (hidden and error.key):
        return words, hidden
    head, _, tail = str(words).rpartition(error.key)
    return type(words)(head + 'a key of it ' + tail), 'key'


def _refusal_shown(param: _Param, values: List[Any], error: ValueError) -> Tuple[ValueError, Any, str]:
    """For :func:`_conversion_failure`: what was wrong, as the 400 says it; the value it shows after ``got``, the
    innermost that failed (a list's item, ``items[1]``, ``pairs[1][0]``; a member, a field, alone) or else what was
    sent; and what it does not show (``''``, ``'value'``, or a ``Dict``'s ``'key'``), a secret-looking name holding
    it (the parameter's, a member's, a field's)."""
    shown: Any = values[-1] if not param.many else list(values)
    secret = _is_secret_name(param.name)
    hidden = 'value' if secret else ''
    if isinstance(error, _ItemRefused):
        shown = error.item
        error, hidden = _item_refusal_shown(error, param.name, values, hidden)
    if isinstance(error, _InvalidModel):
        if secret:  # (pydantic's messages may repeat a field's value)
            error = error.secret()
        shown, field_secret = error.failed_alone(shown)
        hidden = hidden or ('value' if field_secret else '')
    return error, shown, hidden


def _conversion_failure(param: _Param, values: List[Any], error: ValueError) -> 'BadRequest':
    """The 400 for a value that does not convert: what was wrong, and the value unless its name looks secret
    (nor, in a JSON object, the value of a member whose name does)."""
    inner = error.error if isinstance(error, _ItemRefused) else error  # (what a tuple's position raised)
    error, shown_value, hidden = _refusal_shown(param, values, error)
    if hidden:
        return BadRequest('parameter %r %s (the %s is not shown: the name looks secret)' % (param.name, error, hidden))
    if isinstance(inner, _EmptyFlag) and not isinstance(values, _JsonValue):
        return _empty_flag_failure(param, error)
    shown = _shown_json(shown_value)
    if _comma_separated(param, values, inner):
        return BadRequest('parameter %r %s, got %s (one value, commas and all: a list takes its name repeated, '
                          '?%s=...&%s=..., or a JSON array)' % (param.name, error, shown, param.name, param.name))
    return BadRequest('parameter %r %s, got %s' % (param.name, error, shown))


def _lone_parameter(params: List[_Param], takes_extra: bool, record: bool = False) -> Optional[_Param]:
    """The handler's only parameter to fill from the request (without ``**kwargs``), if it is mandatory and
    no file; else None.  ``record``: if it is instead a record (a dataclass, ...) that need not be filled."""
    if len(params) != 1 or takes_extra or params[0].is_file:
        return None
    param = params[0]
    wanted = (param.record and not param.required) if record else param.required
    return param if wanted else None


def _named_as_a_field(*lone: Optional[_Param]) -> Optional[_Param]:
    """Of the handler's lone parameters (mandatory, or an optional record), the record with a field of its name."""
    return next((param for param in lone if param is not None and param.names_itself), None)


def _filled_when_absent(params: List[_Param], optional_record: Optional[_Param]) -> typing.FrozenSet[_Param]:
    """The parameters a request that lacks them still fills: ``Optional[X]`` without a default (None), and
    the lone optional record (from the body)."""
    return frozenset(param for param in params if param.none_if_absent or param is optional_record)


def _whole_body_note(param: _Param, body: Any) -> str:
    """For the 400 of a handler's lone parameter missing from a JSON object (FastAPI's ``def create(item)``,
    which takes the whole body): how canister binds the body, and how to get all of it ('' for another body)."""
    if not isinstance(body, dict):
        return ''
    return (' (the members of a JSON body fill the handler\'s parameters one by one, by name, and this body, %s, '
            'has no member %r: to take the whole body as one object, give the handler no parameter for it and '
            'read bottle.request.json)' % (_shown_json(body), param.name))


def _fixed_values(param: _Param, positions: Tuple[Optional[Callable[[Any], Any]], ...],
                  values: List[Any]) -> Tuple[Any, ...]:
    """A fixed-length ``Tuple[X, Y]``: one value for each position, converted by its reader (None: as sent)."""
    if len(values) != len(positions):
        raise ValueError(param.count_problem)
    return _positioned(positions, values)


def _sent_empty(param: _Param, values: List[Any]) -> bool:
    """True for the values of ``Optional[List[X]]`` that give None: one empty text (unless ``''`` is a
    value of X), or JSON ``null``."""
    return values == [None] or (values == [''] and not param.empty_text)


def _items_of(param: _Param, values: List[Any], convert: Optional[Callable[[Any], Any]]) -> List[Any]:
    """The items of a parameter of many values, each converted by ``convert`` (None: as sent); the one that does not
    convert is an :class:`_ItemRefused` holding it, for one record of a ``List[Item]`` with its index (``items[2]``),
    for a position of a tuple in a ``List[Tuple[int, str]]`` the tuple's index and the position (``pairs[1][0]``),
    for an item of a ``List[List[int]]`` both indexes (``rows[1][1]``), and for one plain value of a ``List[int]``,
    not sent alone (:func:`_sent_alone`), its index (``ids[1]``)."""
    if convert is None:
        return list(values)
    if param.plain_items:
        return _plain_items(convert, values)
    return _indexed_items(convert, values)


def _plain_items(convert: Callable[[Any], Any], values: List[Any]) -> List[Any]:
    """Each of the plain values (``List[int]``) converted; the first that does not convert is an
    :class:`_ItemRefused`, but one value sent alone (:func:`_sent_alone`) raises what it raised (its 400 shows it,
    and a text with commas the hint to repeat the name)."""
    items = []
    for value in values:
        try:
            items.append(convert(value))
        except ValueError as error:
            if _sent_alone(values):
                raise
            raise _ItemRefused((len(items),), error, value) from None
    return items


def _many_values(param: _Param, values: List[Any], convert: Optional[Callable[[Any], Any]],
                 positions: Optional[Tuple[Optional[Callable[[Any], Any]], ...]]) -> Any:
    """A parameter of many values: each converted by ``convert`` (None: as sent), or for a fixed-length tuple each
    by its position's reader, in the parameter's container; None for ``Optional[List[X]]`` sent empty (or JSON
    ``null``, not ``[null]``)."""
    if param.optional and type(values) is not _JsonArray and _sent_empty(param, values):
        return None
    if positions is not None:
        return _fixed_values(param, positions, values)
    items = _items_of(param, values, convert)
    if param.container is None:
        return items
    try:
        return param.container(items)
    except TypeError:  # set([[1]]): a JSON array or object in a set
        raise ValueError('must hold values a set can hold (a JSON array or object is not one)') from None


def _bound_keywords(callback: Callable[..., Any]) -> typing.FrozenSet[str]:
    """The keywords a ``functools.partial`` handler (under any wrappers) binds: values the app
    chose, which a client must not replace (``partial(dashboard, role='guest')``)."""
    inner = inspect.unwrap(callback)
    return frozenset(inner.keywords) if isinstance(inner, functools.partial) else frozenset()


def _function_under(callback: Callable[..., Any]) -> Any:
    """The function a call of ``callback`` runs in the end: under wrappers, partials, bound
    methods and callable objects (at most 100 deep)."""
    inner = callback
    for _ in range(100):
        inner = inspect.unwrap(inner)
        if isinstance(inner, functools.partial):
            inner = inner.func
        elif inspect.ismethod(inner):
            inner = inner.__func__
        elif not inspect.isroutine(inner) and not isinstance(inner, type) and callable(inner):
            inner = type(inner).__call__
        else:
            break
    return inner


def _filled_by_the_call(callback: Callable[..., Any]) -> typing.FrozenSet[str]:
    """The parameters of the function under ``callback`` that calling it fills already, so that
    its signature leaves them out: ``self`` of a bound method or a callable object, ``cls`` of a
    class method, a ``functools.partial``'s positional arguments.  A client's key of such a name
    must not reach ``**kwargs``, where it would be a second value for it (a ``TypeError``)."""
    try:
        own, seen = inspect.signature(_function_under(callback)).parameters, inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return frozenset()
    fixed = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return frozenset(name for name, parameter in own.items() if parameter.kind not in fixed and name not in seen)


#: A ``<name:filter>`` wildcard, or an anonymous ``<:filter>`` (with the filter's config, if any), in a route's rule, as
#: Bottle reads it.
_FILTERED_WILDCARD = re.compile(r'<([A-Za-z_]\w*)?:([A-Za-z_]\w*)(?::(?:\\.|[^\\>])*)?>')
#: What Bottle's spelling of Flask's converters is, for a rule written ``<int:id>``.
_FLASK_CONVERTERS = {'int': '<%s:int>', 'float': '<%s:float>', 'path': '<%s:path>', 'string': '<%s>',
                     'uuid': "<%s> with the annotation uuid.UUID on the handler's parameter"}
#: A ``{name}`` (or ``{name:type}``) placeholder of Starlette and FastAPI in a route's rule.
_BRACED_PLACEHOLDER = re.compile(r'\{([A-Za-z_]\w*)(?::[^{}/]*)?\}')


def _unknown_filter_problem(route: bottle.Route, filters: Mapping[str, Any]) -> Optional[str]:
    """Why Bottle could not add ``route``, when its rule names a filter the router lacks: Flask's ``<int:id>``
    (which Bottle reads as the wildcard ``int`` with the filter ``id``) with Bottle's spelling; else None."""
    for match in _FILTERED_WILDCARD.finditer(str(route.rule)):
        name, mode = match.groups()
        if mode in filters:
            continue
        if name in _FLASK_CONVERTERS:
            return ("Route %s %s has the wildcard %s, Flask's spelling, which Bottle reads as the name %s with the "
                    "filter %s, which it does not have: write %s (Bottle's: the name first, then the filter)"
                    % (route.method, route.rule, match.group(0), name, mode, _FLASK_CONVERTERS[name] % mode))
        return ('Route %s %s has the wildcard %s, whose filter %s Bottle does not have: its filters are %s '
                '(app.router.add_filter adds one)' % (route.method, route.rule, match.group(0), mode,
                                                      ', '.join(sorted(filters))))
    return None


def _flask_methods_problem(route: bottle.Route) -> Optional[str]:
    """Why ``route`` cannot be served as written, when it was given Flask's ``methods=[...]``: Bottle keeps that
    as a setting of the route and answers the route's one method (GET unless told), so a handler written for
    POST would run on GET, which the CSRF check never looks at; else None."""
    methods = route.config.get('methods')
    if methods is None or methods is getattr(route.app, 'config', {}).get('methods'):  # (0.13: the app's, seen through)
        return None
    answered = 'every method' if route.method == 'ANY' else '%s alone (405 to the other methods)' % route.method
    return ("Route %s %s was given methods=%r, Flask's keyword, which Bottle keeps as a setting of the route and "
            "does not read: the route would answer %s; write method=%r instead (Bottle's keyword)"
            % (route.method, route.rule, methods, answered, methods))


def _refuse_unfillable(param: _Param, callback: Callable[..., Any], rule: str) -> None:
    """A CanisterError for a mandatory ``Tuple[()]``: it takes no value, and a query or form value is
    one, so nothing but a JSON ``[]`` fills it (a mistake of the handler's, not of its clients)."""
    if param.required and param.positions == ():
        raise CanisterError('canister: parameter %r of %s (route %s) is a Tuple[()] without a default, which only '
                            'a JSON [] would fill: give it the default () or the annotation Optional[Tuple[()]], or '
                            'write Tuple[str, ...] for a tuple of any length'
                            % (param.name, getattr(callback, '__name__', '?'), rule))


def _request_object_note(param: _Param) -> List[str]:
    """What to log about a required parameter ``request``, Starlette's ``def homepage(request)``: Bottle hands a
    handler no request object, so every request without a value of that name would answer 400."""
    if param.name != 'request' or not param.required:
        return []
    return ["parameter 'request' is filled from a value named request in the query, form or JSON body, as every "
            'parameter is, so a request without one answers 400: Bottle hands a handler no request object, as '
            'Starlette does; read bottle.request in the handler instead, and take the parameter out']


#: A named wildcard of a rule, ``<name>`` or ``<name:filter...>``, which Bottle passes to the handler by name.
_NAMED_WILDCARD = re.compile(r'<([A-Za-z_][A-Za-z_0-9]*)(?::[^>]*)?>')


def _stray_wildcard_notes(signature: inspect.Signature, rule: str) -> List[str]:
    """What to log about each named wildcard of ``rule`` that no parameter of the handler takes (``/items/<id>``
    over ``def item(item_id)``, a name changed on one side only): Bottle passes it by name, a TypeError."""
    parameters = signature.parameters
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters.values()):
        return []
    named = list(dict.fromkeys(_NAMED_WILDCARD.findall(rule)))
    others = [name for name in parameters if name not in named]
    fix = ('name a parameter %%s, or the wildcard after one of the handler\'s (%s)' % ', '.join(others) if others
           else 'give the handler a parameter %s')
    return ['the wildcard <%s> of the rule is no parameter of the handler, which Bottle passes it to by name, %s=... '
            '(a TypeError, a 500, once its other parameters are given): %s' % (name, name, fix % name)
            for name in named if name not in parameters]


class ParameterBinder:
    """Fills a handler's parameters from the request: URL args, then body, then query.

    ``injected`` names the parameters another plugin of the route fills (see ``Canister.apply``);
    a ``functools.partial`` handler's bound keywords join them.  They are neither required from the
    request nor taken from it, and a value that arrives for one as a keyword argument of the call
    (from a plugin outside canister's wrapper) is passed on as it is.
    """

    def __init__(self, callback: Callable[..., Any], rule: str,
                 injected: typing.AbstractSet[str] = frozenset()) -> None:
        signature = inspect.signature(callback)
        injected = _bound_keywords(callback) | injected
        hints = _type_hints(callback)
        url_names = {a or b for a, b in _ROUTE_WILDCARD.findall(rule)}
        #: The parameters the request fills, in the signature's order.
        self.params: List[_Param] = []
        #: URL arguments with an annotation to convert them by.
        self.url_params: List[_Param] = []
        #: The ``Decimal`` parameters, whose JSON numbers are read again from their text.
        self.exact: List[_Param] = []
        #: The handler has ``**kwargs``: the values no parameter takes go there.
        self.takes_extra = False
        #: The positional-only parameters, in order, and their defaults (see :meth:`adapt`).
        self.positional: List[Tuple[str, Any]] = []
        #: What the plugin logs at WARNING when it applies itself: the annotations it cannot evaluate.
        self.notes: List[str] = []
        #: The parameters left to another plugin: never filled from the request, nor from ``**kwargs`` extras.
        self.injected: typing.Set[str] = set()
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                self.takes_extra = True
            elif parameter.kind is parameter.VAR_POSITIONAL:
                continue
            elif parameter.name in injected:
                self.injected.add(parameter.name)
            else:
                self._add(callback, parameter, hints, url_names, rule)
                if parameter.kind is parameter.POSITIONAL_ONLY:
                    self.positional.append((parameter.name, parameter.default))
        #: Every name the handler takes (a list's with brackets too, see :meth:`_values`): not an extra for
        #: ``**kwargs``.
        self.names = self._taken_names(callback)
        self.notes.extend(_stray_wildcard_notes(signature, rule))
        #: Every parameter is a text from the query or the body: a GET binds on a short path.
        self.texts_only = self._takes_texts_only()
        #: The one parameter the request must fill, when the handler has no other to fill (FastAPI's lone
        #: model parameter, ``def create(item)``): a JSON object without it gets :func:`_whole_body_note`.
        self.lone = _lone_parameter(self.params, self.takes_extra)
        #: The handler's one parameter to fill when it is a record that may be left out (``item: Item | None``,
        #: or with a default): FastAPI takes the body as it too, so a JSON object without a member of its name
        #: is the record itself, as for a mandatory one (:meth:`_whole_body`).
        self.optional_record = _lone_parameter(self.params, self.takes_extra, record=True)
        #: That lone record, mandatory or not, when its record has a field named as the parameter (``item: Item``
        #: with a field ``item``): a JSON object body is always the record itself, its member ``item`` that field.
        self.whole_body = _named_as_a_field(self.lone, self.optional_record)
        #: The parameters :meth:`_fill_absent` fills when the request lacks them.
        self.filled_when_absent = _filled_when_absent(self.params, self.optional_record)
        #: The members of a JSON body that may hold a number too large for a float, for a ``Decimal`` (None: any).
        self.huge = self._huge_members()

    def _huge_members(self) -> Optional[typing.FrozenSet[str]]:
        """For :attr:`huge`: the names of the parameters holding a ``Decimal`` (a list's with brackets too, as
        :meth:`_values` reads it: a single one's with brackets goes to ``**kwargs``), or None when one is the lone
        record, which the whole body may be."""
        if any(param.record and param in (self.lone, self.optional_record) for param in self.exact):
            return None
        return (frozenset(param.name for param in self.exact)
                | {param.name + _LIST_SUFFIX for param in self.exact if param.many})

    def _taken_names(self, callback: Callable[..., Any]) -> typing.FrozenSet[str]:
        """The names of :attr:`names`: the parameters', a list's with brackets, and the injected ones; with
        ``**kwargs``, also those the call fills (never among the extras either)."""
        names = (frozenset(param.name for param in self.params) | self.injected
                 | {param.name + _LIST_SUFFIX for param in self.params if param.many})
        return names | _filled_by_the_call(callback) if self.takes_extra else names

    def _takes_texts_only(self) -> bool:
        """True when every parameter is a plain text, and there is no URL argument to convert and no ``**kwargs``."""
        return all(param.plain for param in self.params) and not (self.url_params or self.takes_extra)

    def _add(self, callback: Callable[..., Any], parameter: inspect.Parameter, hints: Dict[str, Any],
             url_names: typing.AbstractSet[str], rule: str) -> None:
        """Take one named parameter: to fill from the request, or a URL argument to convert."""
        try:
            annotation = hints.get(parameter.name) or _without_metadata(callback, _resolve(callback, parameter.annotation))
        except Exception as error:  # bound as text, and said in the log
            annotation = _EMPTY
            self.notes.append('parameter %r is bound as text: its annotation %r cannot be evaluated (%s: %s)'
                              % (parameter.name, parameter.annotation, type(error).__name__, error))
        try:
            param = _Param(parameter, annotation)
        except _Unconvertible as error:  # the same
            param = _Param(parameter, _EMPTY)
            self.notes.append('parameter %r is bound as text: canister cannot convert to its annotation %s (%s)'
                              % (parameter.name, _type_name(annotation), error))
        if parameter.name not in url_names:
            _refuse_unfillable(param, callback, rule)
            self.notes.extend(_request_object_note(param))
            self.params.append(param)
            if param.exact:
                self.exact.append(param)
        elif param.convert is not None and param.convert is not _to_str and not param.many:
            self.url_params.append(param)

    def __bool__(self) -> bool:
        return bool(self.params) or bool(self.url_params) or self.takes_extra

    def adapt(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """``callback`` to call with the bound keyword arguments: itself, or for a handler with
        positional-only parameters (``def double(n: int, /)``) a wrapper that passes those by position."""
        if not self.positional:
            return callback
        positional = tuple(self.positional)

        def call_positionally(*args: Any, **kwargs: Any) -> Any:
            values = []
            for name, default in positional:
                if name in kwargs:
                    values.append(kwargs.pop(name))
                elif default is not _EMPTY:
                    values.append(default)
                else:
                    break
            return callback(*args, *values, **kwargs)
        return call_positionally

    def bind(self, url_args: Dict[str, Any]) -> Dict[str, Any]:
        """Return the keyword arguments for the handler, or raise :class:`BadRequest`.

        Three paths: a request without a body to a handler taking only texts binds from the
        query, straight from ``QUERY_STRING`` when nothing in it needs decoding
        (:meth:`_bind_plain_query`) or else through Bottle's parser (:meth:`_bind_query`);
        every other request takes the full path (:meth:`_bind_all`).
        """
        request = bottle.request
        environ = request.environ
        if self.texts_only and not environ.get('CONTENT_LENGTH') and 'HTTP_TRANSFER_ENCODING' not in environ:
            text = environ.get('QUERY_STRING', '')
            # Nothing to decode, and Bottle has not parsed the query yet ('bottle.get': see _bind_plain_query).
            if text.isascii() and '%' not in text and '+' not in text and 'bottle.get' not in environ:
                return self._bind_plain_query(url_args, text)
            return self._bind_query(url_args, request.query)
        return self._bind_all(url_args, request)

    def _bind_plain_query(self, url_args: Dict[str, Any], text: str) -> Dict[str, Any]:
        """The query fast path: fill the text parameters from a ``QUERY_STRING`` with nothing to decode.

        Called only for an ASCII query without ``%`` or ``+``, and only while ``'bottle.get'`` is
        not in the environ. That key is the Bottle detail relied on: the first read of
        ``request.query`` (or ``request.GET``, ``request.params``) parses the query into a
        ``FormsDict``, stores it in ``environ['bottle.get']`` and keeps it for the rest of the
        request; bottle 0.12.25 and 0.13.x do this in the same code (``BaseRequest.query``) and parse
        with the same ``_parse_qsl``. Without the key nothing (a hook, another plugin) has read or
        changed the parsed query in this request, so splitting the text gives what Bottle's parser
        would: pairs split on ``&`` only, a key ends at the first ``=`` (none: an empty value),
        unquoting changes nothing, and the last value of a key wins, as ``getall(name)[-1]`` (each
        is a ``str``, since a handler without annotations expects one). With the key,
        :meth:`_bind_query` reads Bottle's own dict instead.
        """
        pairs: Dict[str, str] = {}
        if text:
            for pair in text.split('&'):
                key, _, item = pair.partition('=')
                pairs[key] = item
        for param in self.params:
            name = param.name
            if name not in url_args:
                value = pairs.get(name)
                if value is not None:
                    url_args[name] = value
                elif param.required:
                    raise BadRequest('missing parameter %r' % name)
        return url_args

    def _bind_query(self, url_args: Dict[str, Any], query: Any) -> Dict[str, Any]:
        """Fill the text parameters from Bottle's parsed query (values to decode, or read already)."""
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

    def _bind_all(self, url_args: Dict[str, Any], request: Any) -> Dict[str, Any]:
        """The full path: URL arguments converted, each parameter from the body or the query, then extras."""
        body: Any = self._read_body(request)
        query = request.query
        kwargs = dict(url_args)
        self._convert_url_args(kwargs)
        exact_body = self._exact_body(body, request)
        for param in self.params:
            if param.name in url_args:
                continue
            source = exact_body if param.exact else body
            if param is self.whole_body and isinstance(body, dict):
                values: Optional[List[Any]] = _JsonValue((source,))
            else:
                values = self._values(param, source, query)
            if values is not None:
                kwargs[param.name] = self._convert(param, values, source is not body)
            elif param.required:
                kwargs[param.name] = self._whole_body(param, source, request.environ, source is not body)
            elif param in self.filled_when_absent:
                self._fill_absent(param, source, kwargs, source is not body)
        if self.takes_extra:
            self._add_extras(kwargs, body, query)
        return kwargs

    def _fill_absent(self, param: _Param, body: Any, kwargs: Dict[str, Any], digits: bool) -> None:
        """Fill a parameter the request lacks that need not be sent: the lone optional record from a JSON object
        body (:attr:`optional_record`; ``digits``: the body read again for a ``Decimal``), else None for
        ``Optional[X]`` without a default."""
        if param is self.optional_record and isinstance(body, dict):
            kwargs[param.name] = self._convert(param, _JsonValue((body,)), digits)
        elif param.none_if_absent and param.name not in kwargs:
            kwargs[param.name] = None

    def _whole_body(self, param: _Param, body: Any, environ: Dict[str, Any], digits: bool) -> Any:
        """A mandatory parameter the request lacks: FastAPI's lone model parameter (``def create(item: Item)``, a
        dataclass, ``NamedTuple`` or ``TypedDict``) built from a JSON object body without a member ``item``, the
        body being the record itself (a pydantic model too; ``digits``: the body read again for a ``Decimal``);
        else :meth:`_missing`'s 400."""
        if param is self.lone and param.record and isinstance(body, dict):
            return self._convert(param, _JsonValue((body,)), digits)
        raise self._missing(param, body, environ)

    def _missing(self, param: _Param, body: Any, environ: Dict[str, Any]) -> BadRequest:
        """The 400 of a mandatory parameter the request lacks, with what the body it sent says (if anything)."""
        note = _whole_body_note(param, body) if param is self.lone else ''
        if param.is_file:
            note = _multipart_note(environ)
        note = note or _unread_body_note(body, environ)
        if not note and param.record and isinstance(body, bottle.FormsDict):
            note = _RECORD_NOT_IN_A_FORM_NOTE
        return BadRequest('missing parameter %r%s' % (param.name, note))

    def _exact_body(self, body: Any, request: Any) -> Any:
        """The JSON body read again with its numbers' own digits (``_JSON_DIGITS``) when a parameter holding a
        ``Decimal`` was sent a number with a fraction or an exponent; else ``body`` as it is."""
        if not self.exact or not isinstance(body, dict):
            return body
        for param in self.exact:  # (the values it is bound from, under whichever name; a record's: the whole body may be it)
            sent = [body] if param.record else self._values(param, body, request.query) or ()
            if any(_holds_float(value) for value in sent):
                return _read_json(request, _JSON_DIGITS)
        return body

    def _convert_url_args(self, kwargs: Dict[str, Any]) -> None:
        """Convert the URL arguments whose parameter has an annotation (Bottle gives texts)."""
        for param in self.url_params:
            value = kwargs.get(param.name)
            if isinstance(value, str):
                kwargs[param.name] = self._convert(param, [value])

    def _add_extras(self, kwargs: Dict[str, Any], body: Any, query: Any) -> None:
        """For a ``**kwargs`` handler: the other fields of the body, then of the query."""
        for source in (body, query):
            if isinstance(source, dict):
                for key, value in source.items():
                    if key not in kwargs and key not in self.names:
                        kwargs[key] = value
            elif isinstance(source, bottle.FormsDict):
                self._add_form_extras(kwargs, source)

    def _add_form_extras(self, kwargs: Dict[str, Any], source: Any) -> None:
        """The other fields of a query or form (the last value of each), as UTF-8 text.  A key is
        recoded before it is compared: ``größe`` arrives as the latin-1 text of its UTF-8 bytes."""
        for key in source:
            if isinstance(key, str) and key:
                name = _recode(source, key, None)
                if name not in kwargs and name not in self.names:
                    kwargs[name] = _recode(source, source.getall(key)[-1], name)

    def _read_body(self, request: Any) -> Any:
        """The body: a dict from a JSON object, Bottle's form dict, or None for no body, another JSON value,
        another content type or a GET's or HEAD's body (parameters then come from the URL and the query only)."""
        if not _body_fills_parameters(request.environ):
            return None
        content_type = _media_type(request.environ.get('CONTENT_TYPE', ''))
        json_body = _is_json_type(content_type)
        if not json_body and content_type not in _FORM_TYPES:
            return None
        coding = request.environ.get('HTTP_CONTENT_ENCODING', '').strip()
        if coding and coding.lower() != 'identity':  # (read as it is, gzip would be "not valid JSON")
            raise BadRequest('Unsupported Content-Encoding %s: canister does not decode request bodies; send the '
                             'body uncompressed' % _escape(coding)[:40], status=415)
        return _read_json(request, None, self.huge) if json_body else _read_form(request)

    @staticmethod
    def _values(param: _Param, body: Any, query: Any) -> Optional[List[Any]]:
        """The values sent for one parameter: from the body if it has them, else from the query;
        None if it is absent (a JSON ``[]`` for a list parameter is sent, and empty).  A list parameter
        absent under its name takes those of its name with brackets, as jQuery, axios and PHP's forms
        write a list (``tags[]=a&tags[]=b``, ``<input type=file name="files[]" multiple>``), from a
        JSON object too: :attr:`names` keeps that name out of ``**kwargs`` wherever it was sent."""
        values = ParameterBinder._sent(param, body, query, '')
        if values is None and param.many:
            values = ParameterBinder._sent(param, body, query, _LIST_SUFFIX)
        return values

    @staticmethod
    def _sent(param: _Param, body: Any, query: Any, suffix: str) -> Optional[List[Any]]:
        """The values of :meth:`_values` under the parameter's name followed by ``suffix``."""
        if isinstance(body, dict):
            values = _json_values(param, body, suffix)
        elif body is not None:
            values = _form_values(param, body, suffix)
        else:
            values = None
        if values is not None or param.is_file:
            return values
        values = query.getall(param.wire_name + suffix)
        return [_recode(query, value, param.name) for value in values] if values else None

    @staticmethod
    def _convert(param: _Param, values: List[Any], digits: bool = False) -> Any:
        """The handler's value from the values sent: converted, a list of them, or None.  ``digits``: values of the
        JSON body read again for a ``Decimal`` (:data:`_FROM_DIGITS`)."""
        if not isinstance(values, _JsonValue):  # (from the query, a form or the URL, whatever the body sent)
            convert, positions = param.convert, param.positions
        elif digits:
            convert, positions = param.digits_convert, param.digits_positions
        else:
            convert, positions = param.json_convert, param.json_positions
        try:
            if param.many:
                return _many_values(param, values, convert, positions)
            value = values[-1]
            if param.optional and (value is None or (value == '' and not param.empty_text)):  # empty, JSON null
                return None
            return convert(value) if convert else value
        except ValueError as error:
            raise _conversion_failure(param, values, error) from None


class _NotJson(ValueError):
    """A JSON text holds ``NaN``, ``Infinity`` or ``-Infinity``, which Python reads and JSON lacks."""


#: What is wrong with ``NaN``, ``Infinity`` and ``-Infinity``, in a body (:func:`_constant_problem`) or a token.
_CONSTANTS_NOT_JSON = 'NaN, Infinity and -Infinity are not JSON values'


def _refuse_constant(constant: str) -> Any:
    raise _NotJson(constant)


class _TooLarge(_NotJson):
    """A JSON text holds a number too large for a float (``1e999``), which Python reads as Infinity."""


#: What is wrong with a number too large for a float, in a body (:func:`_constant_problem`) or a value
#: (:func:`_plain_floats`): what holds it, then where, then why.
_TOO_LARGE = ('holds a number too large for a float', 'it reads as Infinity, and ' + _CONSTANTS_NOT_JSON)

#: What Python reads a number too large for a float as.
_INFINITIES = (math.inf, -math.inf)


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or an exponent as a float (``parse_float``, called for those only); a
    :class:`_TooLarge` for one too large for a float."""
    number = float(text)
    if number in _INFINITIES:
        raise _TooLarge(text)
    return number


def _decoded(text: str, decoder: json.JSONDecoder, huge: Optional[typing.AbstractSet[str]]) -> Any:
    """``text`` read by ``decoder``; one holding a number too large for a float (:class:`_TooLarge`) read again
    taking it, if it is a JSON object holding it under the members ``huge`` names only (None: any), for a
    ``Decimal`` (the error path: a body of none, or read for no ``Decimal``, is read once)."""
    try:
        return decoder.decode(text)
    except _TooLarge:
        if huge is not None and not huge:
            raise
    data = _JSON_ANY_SIZE.decode(text)
    if not isinstance(data, dict) or (huge is not None and _member_holding(text, True, huge) is not None):
        raise _TooLarge(text)
    return data


def _not_json_number(value: Any) -> bool:
    """A number JSON cannot hold: what Python's parser reads ``NaN``, ``Infinity``, ``-Infinity`` (which
    :func:`_refuse_constant` refuses in a body) and ``1e999`` as, in JSON read by another parser (PyJWT's)."""
    return isinstance(value, float) and not math.isfinite(value)


#: Reads a JSON body; made once (json.loads with an option would make a decoder per call).  Its ``parse_float``
#: runs for a number with a fraction or an exponent only: a body of none reads as fast as without it.
_JSON_BODY = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)

#: Reads a JSON body taking a number too large for a float, for a ``Decimal`` (:func:`_decoded`).
_JSON_ANY_SIZE = json.JSONDecoder(parse_constant=_refuse_constant)


class _Digits(float):
    """A JSON number with a fraction or an exponent, a float that keeps the text it was read from, for a ``Decimal``
    to take (``0.1`` as ``Decimal('0.1')``, not the binary float nearest to it); the handler never gets one:
    anything else of that reading is given plain floats (:data:`_FROM_DIGITS`)."""

    #: One slot, for the text: no ``__dict__`` per number.
    __slots__ = ('text',)
    #: The number as the JSON body wrote it.
    text: str

    def __new__(cls, text: str) -> '_Digits':
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        """Its text as sent, as a 400's ``got ...`` shows it (``0.10``, not the float's ``0.1``)."""
        return self.text

    #: ``str()`` is the float's, as what converts it sees it (a model's message quoting a secret's value, which
    #: :func:`_secret_texts` must find there): only the 400's ``got ...`` shows the text.
    __str__ = float.__repr__


#: Reads the body again for a parameter holding a ``Decimal`` (a field of a dataclass too) sent a number with a
#: fraction or an exponent: each such number a :class:`_Digits`.
_JSON_DIGITS = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_Digits)


class _Pairs(list):
    """A JSON object's (key, value) pairs as read, duplicates included."""


class _Constant(str):
    """Where a refused constant stood, found by a second, slower reading (errors only)."""


def _constant_problem(text: Any, error: _NotJson, huge: Optional[typing.AbstractSet[str]] = frozenset()) -> str:
    """The 400 message for a JSON body with NaN or Infinity (``error``), or a number too large for a float
    (:class:`_TooLarge`, which the members ``huge`` names may hold, :func:`_decoded`): which parameter holds it."""
    too_large = isinstance(error, _TooLarge)
    found = _member_holding(text, too_large, (huge or frozenset()) if too_large else frozenset())
    where = 'parameter %r: ' % found[:60] if found is not None else ''
    if too_large:
        return 'the JSON body %s: %s%s' % (_TOO_LARGE[0], where, _TOO_LARGE[1])
    return 'the body is not valid JSON: %s%s' % (where, _CONSTANTS_NOT_JSON)


def _member_holding(text: Any, too_large: bool, huge: typing.AbstractSet[str]) -> Optional[str]:
    """The first member of the JSON object ``text`` that holds NaN or Infinity (``too_large``: a number too large
    for a float), at any depth, but those ``huge`` names; None if none does, or ``text`` is no JSON object (one pass
    over the body, whatever its shape)."""
    parsed = _marked_reading(text, too_large)
    if type(parsed) is not _Pairs:
        return None
    return next((key for key, value in parsed if key not in huge and _holds_marked(value)), None)


def _holds_marked(value: Any) -> bool:
    """True if a value of :func:`_marked_reading` is, or holds at any depth, a :class:`_Constant` (no recursion:
    it may be nested as deep as the JSON reader allowed)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, _Constant):
            return True
        if type(value) is _Pairs:
            pending.extend(item for _, item in value)
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _marked_reading(text: Any, too_large: bool) -> Any:
    """For :func:`_constant_problem`: ``text`` read with each object its :class:`_Pairs`, and each refused constant
    (``too_large``: each number too large for a float) a :class:`_Constant`; None for text it cannot read."""
    try:
        if too_large:
            return json.loads(text, parse_constant=float, parse_float=_marked_float, object_pairs_hook=_Pairs)
        return json.loads(text, parse_constant=_Constant, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return None


def _marked_float(text: str) -> Any:
    """A JSON number with a fraction or an exponent as a float; a :class:`_Constant` for one too large for one."""
    number = float(text)
    return _Constant(text) if number in _INFINITIES else number


###############################################################################
# Session Stores ##############################################################
###############################################################################

def _unstorable(value: Any) -> Any:
    """The encoders' answer to a value JSON has no form for."""
    raise TypeError('%s is not JSON serializable' % type(value).__name__)


# Session records are small JSON texts, coded on every request that uses the session:
# call the C coder directly where there is one (json.dumps and json.loads spend most
# of their time on a small record in setting up and checking their arguments).  Without
# it (PyPy, some embedded builds) the pure-Python coder makes the same text.
_c_encoder = getattr(json.encoder, 'c_make_encoder', None)
_c_scanner = getattr(getattr(json, 'scanner', None), 'c_make_scanner', None)
if _c_encoder is not None:
    #: ``_encode_chunks(value, 0)``: the pieces of the compact JSON text of ``value``.
    _encode_chunks: Callable[[Any, int], Iterable[str]] = _c_encoder(
        None, _unstorable, json.encoder.encode_basestring_ascii, None, ':', ',', False, False, True)
else:
    _encode_chunks = json.JSONEncoder(separators=(',', ':'), default=_unstorable,  # type: ignore[assignment]
                                      check_circular=False).iterencode
_scan_record = _c_scanner(json.JSONDecoder()) if _c_scanner is not None else None


def _encode_json(value: Any) -> str:
    """The compact JSON text of ``value``."""
    return ''.join(_encode_chunks(value, 0))


#: The types JSON gives back as they were (a subclass such as an IntEnum comes back as its base).
_SCALARS = frozenset((str, int, float, bool, type(None)))
#: Why a session cannot store a value JSON has no form for, by the name the app knows it by.
_STORABLE_RULE = {'session.data': 'session values must be JSON-serializable',
                  'session.user': "a user must be JSON-serializable (a str, or a dict such as a token's claims)"}


def _key_refused(value: Dict[Any, Any]) -> Optional[Tuple[str, str]]:
    """The first key of a dict that is not text, as what it is and why a session cannot keep it (JSON
    would turn 42 into "42"); None if all are text."""
    for key in value:
        if type(key) is not str:
            back = ''
            if isinstance(key, str):  # a StrEnum, say: JSON keeps its text alone
                back = ', so it would come back as %s (a plain str)' % _encode_json(str.__str__(key))
            elif key is None or isinstance(key, (int, float)):
                back = ', so it would come back as %s' % _encode_json(str(key))
            return 'holds the key %r (%s)' % (key, _a_type(key)), 'JSON keys are text%s; use text keys' % back
    return None


def _unstorable_itself(value: Any, within: Tuple[int, ...]) -> Optional[Tuple[Tuple[Any, ...], str, str]]:
    """``value`` itself as :func:`_unstorable_member` names it, if JSON has no form for it (or it is a list
    or dict that ``within``, the ids of the ones it is in, holds: JSON text cannot hold itself); else None."""
    if isinstance(value, (str, int, float)) or value is None:  # (bool is an int)
        return None
    if id(value) in within:
        return (), 'holds the %s it is in' % type(value).__name__, ''
    return (), ('holds %s' if within else '= %s') % _a_type(value), ''


def _unstorable_member(value: Any, within: Tuple[int, ...] = ()) -> Optional[Tuple[Tuple[Any, ...], str, str]]:
    """The first part of ``value`` a session cannot store, as the keys that reach it, what is there and why
    it cannot be kept ('' for JSON has no form for it); None if there is none."""
    if not isinstance(value, (dict, list, tuple)) or id(value) in within:
        return _unstorable_itself(value, within)
    members: Iterable[Tuple[Any, Any]] = enumerate(value)
    if isinstance(value, dict):
        refused = _key_refused(value)
        if refused is not None:
            return ((),) + refused
        members = value.items()
    inner = within + (id(value),)
    for key, item in members:
        if type(item) in _SCALARS:
            continue
        found = _unstorable_member(item, inner)
        if found is not None:
            return ((key,) + found[0],) + found[1:]
    return None


def _unstorable_error(value: Any, name: str) -> Optional[SessionDataError]:
    """The error naming the part of ``value`` (the app's ``session.data`` or ``session.user``, ``name``)
    a session cannot store, and its type; None if a session can store all of it."""
    try:
        found = _unstorable_member(value)
    except RecursionError:
        found = (), 'is nested too deeply', ''
    if found is None:
        return None
    keys, what, why = found
    return SessionDataError('%s%s %s, which a session cannot store: %s' % (
        name, ''.join('[%r]' % key for key in keys), what, why or _STORABLE_RULE[name]))


# The record codec.  A record is the JSON array ``[data, user, created, user_expires, lifetime]``
# (``_Record``), with a sixth element, the login line, for a user logged in through Basic's users
# file (records of versions before it have five).  The part after the data (``_record_tail``) seldom
# changes: a session keeps it as text between requests, and encoding a record is then one call of
# the C encoder on the data.

class _Record(typing.NamedTuple):
    """A session as stored: ``[data, user, created, user_expires, lifetime]`` in JSON, then the login line if any."""

    #: ``session.data``.
    data: Dict[str, Any]
    #: ``session.user`` (None: nobody).
    user: Any
    #: When the session was made, in ms since the epoch.
    created_ms: int
    #: When the user's login lapses by itself (a token's ``exp``), in seconds; 0: never.
    user_expires: int
    #: The session's own sliding lifetime in seconds (``session.remember``); 0: the configured timeout.
    lifetime: int
    #: A short digest of the users-file line the user logged in with (``BasicAuth.login_line``); None: no
    #: such login (anonymous, a user the app or a token set, a line without salt, a record from before).
    line: Optional[str] = None
    #: The new id a move of this session (a regenerate, ``end_other_sessions``, a login again of its person)
    #: is storing it under, noted in the old id's record while both ids are listed (``_MOVING``); else None.
    moving: Optional[str] = None


def _decode_record(text: Any) -> Any:
    """The JSON value of a stored text (bytes from a custom store too); ValueError if it is not JSON."""
    if not isinstance(text, str):  # a custom store may hand back bytes, as json.loads accepts
        text = bytes(text).decode('utf-8')
    try:
        if _scan_record is None:
            return json.loads(text)
        value, end = _scan_record(text, 0)
    except StopIteration:
        raise ValueError('not JSON') from None
    except RecursionError:
        return _decode_deep_record(text)
    if end != len(text):
        raise ValueError('extra text after the JSON value')
    return value


def _decode_deep_record(text: str) -> Any:
    """``json.loads(text)`` in a thread of its own: a record nested nearly as deep as the recursion limit
    (data a handler stored as a client sent it) may be too deep for the stack of the request that reads
    it, which is deeper than the one that stored it; a new thread's stack is empty.  ValueError if it is
    not JSON or too deep even there."""
    outcome: List[Any] = [ValueError('nested too deeply to decode')]

    def decode() -> None:
        try:
            outcome[0] = json.loads(text)
        except (ValueError, RecursionError):
            pass  # (the ValueError above)

    reader = threading.Thread(target=decode, name='canister-decode', daemon=True)
    reader.start()
    reader.join()
    if isinstance(outcome[0], ValueError):
        raise outcome[0]
    return outcome[0]


#: What begins the note, the last value of a record, by which a move of a session to another id of the same
#: person (a regenerate, ``end_other_sessions``, a login again with a new users-file line) names the new id in
#: the old id's record before it stores the new one: until the old id is marked (``_MOVED_TO``) both are
#: listed under the person, and the cap per user and ``sessions_of`` count them as one session.  The version
#: before reads a record with the note as corrupt, for the moment the move lasts.
_MOVING = 'moving:'


def _extras_of(stored: List[Any]) -> Tuple[Optional[str], Optional[str]]:
    """The login line and the move's note (``_MOVING``) a decoded record has after its five values, taken off
    ``stored``: ``[..., line]``, ``[..., line or null, "moving:<new id>"]``; what else is there stays."""
    moving = None
    if len(stored) == 7 and type(stored[6]) is str and stored[6].startswith(_MOVING):
        moving = stored.pop()[len(_MOVING):]
        if stored[5] is None:
            stored.pop()
    line = stored.pop() if len(stored) == 6 and type(stored[5]) is str else None
    return line, moving


def _read_record(text: Any) -> _Record:
    """Decode a stored record; ValueError if it is not one canister wrote."""
    try:
        stored = _decode_record(text)
        line = moving = None
        if type(stored) is list and len(stored) != 5:
            line, moving = _extras_of(stored)
        if type(stored) is not list or len(stored) != 5:
            raise ValueError('not a session record')
        data, user, created_ms, user_expires, lifetime = stored
        if type(data) is not dict:
            raise ValueError('data is not an object')
        return _Record(data, user, int(created_ms), int(user_expires), int(lifetime), line, moving)
    except (TypeError, OverflowError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None


def _record_tail(user: Any, created_ms: int, user_expires: int, lifetime: int, line: Optional[str] = None,
                 moving: Optional[str] = None) -> str:
    """The text of a record after its data: ``,user,created,user_expires,lifetime]``, the login line
    before the ``]`` if there is one, and the note of a move to the id ``moving`` (``_MOVING``) after it."""
    tail = ',%s,%d,%d,%d]' % ('null' if user is None else _encode_json(user), created_ms, user_expires, lifetime)
    if moving is not None:
        return '%s,%s,%s]' % (tail[:-1], 'null' if line is None else _encode_json(line), _encode_json(_MOVING + moving))
    return tail if line is None else '%s,%s]' % (tail[:-1], _encode_json(line))


def _record_line(record: Any) -> Optional[str]:
    """The login line of a stored record (None if it has none or cannot be read)."""
    try:
        return _read_record(record).line
    except ValueError:
        return None


def _encode_record(data: Dict[str, Any], tail: str) -> str:
    """The record of ``data`` and the text after it (``_record_tail``); TypeError or ValueError
    if a value cannot be stored."""
    return '[' + ''.join(_encode_chunks(data, 0)) + tail


def _tail_of(record: str, data: Dict[str, Any]) -> Optional[str]:
    """The text after the data of a record decoded to ``data``, if canister's coder wrote the record
    (then re-encoding ``data`` finds it unchanged at the start); None otherwise."""
    data_text = ''.join(_encode_chunks(data, 0))
    end = len(data_text) + 1
    if record.startswith(data_text, 1) and record.startswith(',', end):
        return record[end:]
    return None


#: What a session id holds for a while after a login or regenerate gave the session a new id:
#: ``"moved:<new id>"`` (``_MOVED_TO % sid``; it stays on the server, never sent to a client).  A
#: request still running on the old id learns that it moved (not ended), and where to: a logout
#: ends the new id too, a login of the same person adopts it.  It is not a record: a request that
#: sends the old id has no session.  ``_MOVED``, the form without an id (written by 2.0's
#: development versions), is read as a move to an unknown id; it is also what a request is told.
_MOVED = '"moved"'
_MOVED_TO = '"moved:%s"'
_MOVED_TTL = 60
#: What the id of an ended session holds for ``_MOVED_TTL`` (``SessionManager.end_session``: a logout,
#: ``end_sessions``): a request that would move it meanwhile finds it ended instead, one that reads it
#: no session, and one that loaded it before and saves learns that it was ended (and expires the cookie).
_ENDING = '"ended"'


def _marker(record: Any) -> Optional[str]:
    """The text of a marker (``moved``, ``moved:<id>`` or ``ended``; text or UTF-8 bytes, as ``load``
    may return any record); None for anything else."""
    if type(record) is not str:
        if not isinstance(record, (bytes, bytearray, memoryview)):
            return None
        record = bytes(record).decode('utf-8', 'replace')
    if len(record) < 7 or record[0] != '"' or record[-1] != '"' or not record.startswith(('"moved', '"ended')):
        return None
    return record[1:-1]


def _noting_move(record: Any, user_key: str, sid: str) -> Optional[Tuple[str, _Record]]:
    """The session record ``record`` of the person ``user_key`` noting a move to the new id ``sid`` (``_MOVING``),
    and what it holds; None if it is no session record (nothing, a marker, corrupt) or another person's."""
    if record is None:
        return None
    try:
        stored = _read_record(record)
    except ValueError:
        return None
    if _user_key(stored.user) != user_key:
        return None
    return _encode_record(stored.data, _record_tail(stored.user, stored.created_ms, stored.user_expires,
                                                    stored.lifetime, stored.line, sid)), stored


def _noted_elsewhere(record: Any, sid: str) -> Optional[str]:
    """The new id of another move than the one to ``sid`` that the session record ``record`` notes (``_MOVING``);
    None if it notes none, or is no session record (nothing, a marker, corrupt)."""
    try:
        moving = _read_record(record).moving if record is not None and _marker(record) is None else None
    except ValueError:
        return None
    return moving if moving != sid else None


def _moved_to(record: Any) -> Optional[str]:
    """The id a moved marker names ('' for the form without one); None if ``record`` is no moved marker."""
    text = _marker(record)
    if text is None or not text.startswith('moved'):
        return None
    return text[6:]


#: What begins the key of a token's user (a dict with ``iss`` and ``sub``) and of any user that is neither a name nor
#: a dict with a ``sub``, so that no name is such a key: a Basic user ``alice`` and a token with an ``iss`` whose
#: ``sub`` is ``alice`` are two people.  A token without ``iss`` is its ``sub``'s person, as the dict an app makes of
#: a name is: the Basic user ``alice`` for a ``sub`` of ``alice`` (``auth_jwt_issuer`` makes every token carry an
#: ``iss``; ``Config._names_meet_subs`` warns of a provider's keys beside Basic users without it).
_OTHER_USER = '\x1f'


def _user_key(user: Any) -> Optional[str]:
    """The key a user's sessions are found by: a str user itself, a dict user's ``iss`` and ``sub`` (its
    ``sub`` as a name when it has no ``iss``, as a dict the app makes of a name; its JSON text when it has no
    ``sub``), the JSON text of any other user; None for nobody.  Only names lack the ``_OTHER_USER`` mark."""
    if user is None or user == '':
        return None
    if isinstance(user, dict) and user.get('sub') not in (None, ''):
        issuer = user.get('iss')
        if issuer in (None, ''):
            user = str(user['sub'])
        else:  # (a subject is unique within its issuer only: OpenID Connect Core 1.0, section 2)
            return _OTHER_USER + 'sub ' + _encode_json([issuer, user['sub']])
    if isinstance(user, str):  # (a subclass too: stored, it comes back a plain str)
        return str(user) if user[0] != _OTHER_USER else _OTHER_USER + _encode_json(str(user))
    return _OTHER_USER + _encode_json(user)


def _key_before(key: str) -> Optional[str]:
    """The key the version before listed the person ``key`` under, where it was another: a token's ``sub``
    alone, the JSON text of another user unmarked, a name that begins with the mark as it is; else None."""
    if key[:1] != _OTHER_USER:
        return None
    text = key[1:]
    if text.startswith('sub '):
        return str(json.loads(text[4:])[1])
    return text if text[:1] != '"' else json.loads(text)


def _record_user_key(record: str) -> Optional[str]:
    """The user key of a stored record (None if it has no user or cannot be read)."""
    try:
        stored = _decode_record(record)
    except ValueError:
        return None
    return _user_key(stored[1]) if type(stored) is list and len(stored) > 1 else None


def _now_ms() -> int:
    return int(_now() * 1000)


def _expiry_ms(ttl: float) -> int:
    """When a session given ``ttl`` seconds from now expires, in ms since the epoch (0: never)."""
    return int(_now() * 1000 + ttl * 1000) if ttl > 0 else 0


#: How many entries a store's ``tidy`` takes at a time unless told (``plugin.tidy_sessions()`` and the
#: command's ``--batch`` pass it on).
_TIDY_BATCH = 1000


class SessionStore:
    """Where sessions live.  Subclass it to keep sessions in another database.

    A record is a JSON text made by canister; ``ttl`` is the number of seconds it
    stays valid from now, with a fractional part (canister keeps expiry to the
    millisecond); 0 or less: forever.  Every method may raise
    :class:`StoreUnavailable` when the backend cannot be reached; the request then
    answers 503.

    ``load``, ``save``, ``touch`` and ``delete`` are required.  ``update``, ``create``
    and ``sessions_of`` carry canister's guarantees; the versions here are built
    from the required four and are not atomic (canister warns at install when a store
    relies on them): override them with atomic ones.
    """

    #: True if the store's ``load_and_touch`` extends a session to its own length (what ``session.remember``
    #: gave it) rather than to ``ttl``, as Redis's read script does: a request that stores nothing (a 5xx)
    #: then has no length to give back to a remembered session, and canister sends the store nothing more.
    keeps_lifetime_on_load = False
    #: True if ``create`` writes nothing when it raises (a transaction rolled back, a dict left as it was): canister
    #: then does not ``delete`` the new id of a session whose ``create`` failed, a call that on a store that waits
    #: (SQLite's busy timeout) would make the 503 wait twice.  False, the default and Redis's: a command may have
    #: run before its answer was lost, and the id is deleted so that no session stays that no cookie names.
    failed_create_writes_nothing = False

    def load(self, sid: str) -> Optional[str]:
        """Return the record of a live session, or None if unknown or expired."""
        raise NotImplementedError

    def save(self, sid: str, record: str, ttl: float) -> None:
        """Create or replace a session, valid for ``ttl`` seconds from now."""
        raise NotImplementedError

    def touch(self, sid: str, ttl: float) -> None:
        """Extend a live session's life to ``ttl`` seconds from now, record unchanged; never
        bring back a session that is gone, nor shorten a life that is longer already."""
        raise NotImplementedError

    def delete(self, sid: str) -> Optional[bool]:
        """Forget a session (no error if it does not exist); True if it existed."""
        raise NotImplementedError

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        """Replace a live session's record if it is still ``expected``, atomically.

        Return ``(True, None)`` when replaced; otherwise ``(False, current)`` with the
        record stored now, or ``(False, None)`` if the session is gone: an update never
        creates a session.
        """
        current = self.load(sid)
        if current is None or current != expected:
            return False, current
        self.save(sid, record, ttl)
        return True, None

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        """Store a new session (a fresh random id), listed under ``user_key`` if it has one."""
        self.save(sid, record, ttl)

    def sessions_of(self, user_key: str) -> List[Tuple[str, str, int]]:
        """The live sessions listed under ``user_key``: (sid, record, expiry in ms, 0: never)."""
        raise CanisterError('the session store %s cannot list the sessions of a user: it has no '
                            'sessions_of() method' % type(self).__name__)

    def check(self) -> Optional[str]:
        """Return a problem description if the store cannot be reached now, else None."""
        return None

    def tidy(self, batch: int = _TIDY_BATCH) -> int:
        """Remove what ended sessions left behind that the store does not drop by itself (for Redis,
        their ids in the users' sets), ``batch`` entries at a time; return how many went.  Nothing here: 0."""
        return 0

    def close(self) -> None:
        """Release connections; called at uninstall for stores canister opened itself."""


_DONE: Tuple[bool, Optional[str]] = (True, None)
_GONE: Tuple[bool, Optional[str]] = (False, None)
#: What the SQLite store's ``update`` of a record to itself gives beside True when the disk had no room to extend
#: the session's life: served as it is, its expiry unchanged (``SQLiteStore._serve_unextended``), so its
#: persistent cookie is not sent again with a new ``Max-Age`` (``Session._extend``).
_UNEXTENDED = '"unextended"'


def _store_check(store: Any) -> Optional[str]:
    """What the store's optional ``check()`` says: None if it answers (or has no ``check()``), else why.  An
    exception of a store of the app's own (its client's ``ConnectionError``) is a why too, named by its type;
    canister's own ``ConfigError`` (refused credentials, a file that is no database) is raised."""
    check = getattr(store, 'check', None)   # optional, as close() and load_and_touch()
    if not callable(check):
        return None
    try:
        problem = check()
    except CanisterError:
        raise
    except Exception as error:
        problem = '%s: %s' % (type(error).__name__, _safe_text(error))
    return _safe_text(problem) if problem else None


class _Shard:
    """One slice of the memory store: two dicts of records, each in least-recently-used order,
    and one of markers.

    A dict iterates in insertion order, so taking a session out and putting it back
    moves it to the end: the front of a dict is its least recently used session, the
    end the most recent.  ``anonymous`` holds the sessions without a user, ``users``
    those with one; each session is in exactly one of them, so eviction takes the front
    of ``anonymous`` and only when it has none the front of ``users``: a flood of
    anonymous sessions (a bot) does not log people out.  A use, an expiry and an
    eviction are each a few dict operations done in C.  ``last`` is the session saved
    most recently, at the end of its dict, whose record is replaced in place (a
    returning client's next request usually lands there).  Each session costs one dict
    item whose key and value are strings, and dicts that hold only strings are
    invisible to the garbage collector: a million sessions add nothing to its pauses.
    ``markers`` holds the ids a session moved from (or that were ended) for the
    minute their marker lives: they are no sessions, so eviction never takes one to
    make room for a session, and a request racing the move still finds where it went.
    """

    #: Up to 1024 shards, each made once: slots keep them small.
    __slots__ = ('anonymous', 'users', 'markers', 'last', 'check_at')

    def __init__(self) -> None:
        #: sid -> entry: the expiry in ms (13 digits, 0: never), ``u`` if the session has a
        #: user (it is in ``users`` and the store's user index) or ``-`` (it is in
        #: ``anonymous``), then the record; oldest use first.
        self.anonymous: Dict[str, str] = {}
        #: Entries as in ``anonymous``, of the sessions that have a user.
        self.users: Dict[str, str] = {}
        #: sid -> entry of a marker (``_MOVED_TO``, ``_ENDING``; flag ``m``), oldest first: each lives
        #: ``_MOVED_TTL``, so the front also expires first.  Never ``last``.
        self.markers: Dict[str, str] = {}
        #: The sid used last: already at the end of its dict, so its entry is replaced in place.
        self.last: Optional[str] = None
        #: No session of the shard expires before this time (a lower bound: look again then).
        self.check_at = 0.0


class MemoryStore(SessionStore):
    """Sessions in this process's memory: fast, bounded, lost on restart.

    Sessions are spread over shards kept in least-recently-used order, so eviction
    (beyond ``max_sessions``) and expiry happen at the front of a shard, a few
    entries per write: there is no global sweep and no request waits on housekeeping.
    A shard holds about 4096 sessions (up to 1024 shards), so the rare resize of its
    dicts copies a few thousand items, not the whole store.  Anonymous sessions are
    evicted first.  Markers (an id a session moved from, or one ended) are kept apart and not counted:
    at most ``max_sessions`` of them besides the sessions, the oldest going first beyond.
    Sessions with a user are also listed in an index by user (anonymous ones are not);
    every change is made under one lock, so an update never brings back a session
    deleted meanwhile.
    """

    #: A ``create`` that raised changed nothing.
    failed_create_writes_nothing = True

    def __init__(self, max_sessions: int = 100000) -> None:
        #: The most sessions kept: the least recently used are evicted beyond it.
        self.max_sessions = max_sessions
        #: The shards, a sid's found by its hash: each with its own order of use.
        self._shards = [_Shard() for _ in range(min(1024, max(1, max_sessions // 4096)))]
        #: ``len(_shards)``, read on every look-up.
        self._shard_count = len(self._shards)
        #: How many sessions the shards hold.
        self._size = 0
        #: How many markers the shards hold (not counted in ``_size``).
        self._marked = 0
        #: Guards the shards, the user index and the counts.
        self._lock = threading.Lock()
        _MEMORY_LOCKS.add(self)
        #: 30 bits of a user key's hash -> the sid of its one session, or a set of sids when it has
        #: several (an int under 2**30 is the smallest Python int, smaller than the key; the rare
        #: users that share those bits share an entry, and the records tell them apart).
        self._users: Dict[int, Any] = {}
        #: The logins of this process under way into this store (``_LoginUnderWay``): id -> the person's
        #: user key, None while not known yet.  ``end_sessions`` leaves its note only when one could need it.
        self.logins_under_way: Dict[int, Optional[str]] = {}

    def __len__(self) -> int:
        return self._size

    def load(self, sid: str) -> Optional[str]:
        shard = self._shards[hash(sid) % self._shard_count]
        entry = shard.anonymous.get(sid)
        if entry is None:
            entry = shard.users.get(sid)
            if entry is None:  # absent, a marker, or being moved by a write: look again
                with self._lock:
                    entry = shard.anonymous.get(sid) or shard.users.get(sid) or shard.markers.get(sid)
                if entry is None:
                    return None
        expires = float(entry[:13])  # (exact for 13 digits, and read faster than by int(): on every load)
        if expires and expires <= _now() * 1000:
            return None
        return entry[14:]

    def save(self, sid: str, record: str, ttl: float) -> None:
        """Create or replace a session, listed under the user its record names (canister itself
        calls ``create`` and ``update``, which are told the user or keep it)."""
        self.create(sid, record, ttl, _record_user_key(record))

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str],
               moved_from: Optional[str] = None) -> None:
        """Store a new session; ``moved_from``: the id a login or regenerate moves it from, which
        making room never evicts (it is about to become a marker, which the bound does not count)."""
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            if sid in shard.anonymous or sid in shard.users or sid in shard.markers:  # (ids are fresh: never)
                self._drop(shard, sid)
            self._add(shard, sid, '%013d' % _expiry_ms(ttl), record, user_key, moved_from)

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        shard = self._shards[hash(sid) % self._shard_count]
        now = _now() * 1000
        expires = '%013d' % (now + ttl * 1000) if ttl > 0 else '0000000000000'
        lock = self._lock
        lock.acquire()  # (not ``with``: its __enter__ and __exit__ calls cost twice this, on every request)
        try:
            entries = shard.anonymous
            entry = entries.get(sid)
            if entry is None:
                entries = shard.users
                entry = entries.get(sid)
                if entry is None:
                    return self._update_marker(shard, sid, expected, record, expires, now)
            if entry[0] != '0' and float(entry[:13]) <= now:  # '0...': never (float: as in load)
                return _GONE  # (expired while the request ran: as in the other stores, it stays so)
            if entry[14:] != expected:
                return False, entry[14:]
            if record[0] == '"':  # a marker (moved to a new id, or ended; a record is never ''): kept apart
                self._drop(shard, sid)  # (out of the user index and of its dict)
                self._mark(shard, sid, expires + 'm' + record)
            elif sid == shard.last:  # already the most recent of its dict: replaced in place
                entries[sid] = expires + entry[13] + record
            else:
                self._use(shard, sid, expires + entry[13] + record)
            return _DONE
        finally:
            lock.release()

    def _update_marker(self, shard: _Shard, sid: str, expected: str, record: str, expires: str,
                       now: float) -> Tuple[bool, Optional[str]]:
        """``update`` of an id that holds no session: a marker (replaced only if it is ``expected``,
        which canister never asks), or nothing."""
        entry = shard.markers.get(sid)
        if entry is None or (entry[0] != '0' and int(entry[:13]) <= now):
            return _GONE
        if entry[14:] != expected:
            return False, entry[14:]
        self._drop(shard, sid)
        self._add(shard, sid, expires, record, _record_user_key(record))
        return _DONE

    def touch(self, sid: str, ttl: float) -> None:
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            entry = shard.anonymous.get(sid)
            if entry is None:
                entry = shard.users.get(sid)
            # looked up under the lock: a deleted session stays deleted, an expired one expired, and
            # one whose life a parallel request made longer (remember) keeps it; '0...' lives forever
            if entry is None:
                return
            if entry[0] != '0':
                expires, new = int(entry[:13]), _expiry_ms(ttl)
                if expires <= _now() * 1000:
                    return
                if not new or new > expires:
                    entry = '%013d%s' % (new, entry[13:])
            self._use(shard, sid, entry)  # (now the most recently used)

    def delete(self, sid: str) -> bool:
        shard = self._shards[hash(sid) % self._shard_count]
        with self._lock:
            return self._drop(shard, sid)

    def sessions_of(self, user_key: str) -> List[Tuple[str, str, int]]:
        found = []
        now = _now() * 1000
        with self._lock:
            listed = self._users.get(hash(user_key) & 0x3FFFFFFF)
            for sid in ((listed,) if type(listed) is str else tuple(listed or ())):
                entry = self._shards[hash(sid) % self._shard_count].users.get(sid)
                if entry is not None:
                    expires = int(entry[:13])
                    if not expires or expires > now:
                        found.append((sid, entry[14:], expires))
        return found

    def count_of(self, user_key: str) -> int:
        """No fewer than the sessions ``sessions_of`` gives: the entry of the user index (users that share
        its 30 bits of hash share it), which the cap per user reads before it lists them."""
        with self._lock:
            listed = self._users.get(hash(user_key) & 0x3FFFFFFF)
            return 0 if listed is None else 1 if type(listed) is str else len(listed)

    def _index(self, user_key: str, sid: str) -> None:
        key = hash(user_key) & 0x3FFFFFFF
        listed = self._users.get(key)
        if listed is None:
            self._users[key] = sid
        elif type(listed) is str:
            self._users[key] = {listed, sid}
        else:
            listed.add(sid)

    def _unindex(self, entry: str, sid: str) -> None:
        user_key = _record_user_key(entry[14:])
        if user_key is None:
            return
        key = hash(user_key) & 0x3FFFFFFF
        listed = self._users.get(key)
        if listed == sid:
            del self._users[key]
        elif type(listed) is set:
            listed.discard(sid)
            if len(listed) == 1:
                self._users[key] = listed.pop()

    def _drop(self, shard: _Shard, sid: str) -> bool:
        entry = shard.anonymous.pop(sid, None)
        if entry is None:
            entry = shard.users.pop(sid, None)
            if entry is None:
                if shard.markers.pop(sid, None) is None:
                    return False
                self._marked -= 1
                return True  # (a marker is never ``last``)
            self._unindex(entry, sid)
        self._size -= 1
        if sid == shard.last:
            shard.last = None
        return True

    def _add(self, shard: _Shard, sid: str, expires: str, record: str, user_key: Optional[str],
             moved_from: Optional[str] = None) -> None:
        """Put a record that is in no dict yet where it belongs: a marker in ``markers``, a session
        at the end of its dict (listed under ``user_key`` if it has one); see ``create``."""
        if record[:1] == '"':
            self._mark(shard, sid, expires + 'm' + record)
            return
        if user_key is not None:
            self._index(user_key, sid)
        self._use(shard, sid, expires + ('-' if user_key is None else 'u') + record, moved_from)

    def _use(self, shard: _Shard, sid: str, entry: str, moved_from: Optional[str] = None) -> None:
        """Put the session at the end of its dict (``users`` or ``anonymous``, by its flag), which it
        is already in if it exists: a flag changes only in ``update`` (and an id in use in ``create``),
        which drop the old entry first.  ``moved_from``: see ``create``."""
        entries = shard.users if entry[13] == 'u' else shard.anonymous
        if sid == shard.last:  # already at the end of its dict: replaced in place
            entries[sid] = entry
            return
        if entries.pop(sid, None) is None:
            self._size += 1
        entries[sid] = entry
        shard.last = sid
        if self._size > self.max_sessions or shard.check_at <= _now():
            self._housekeep(shard, moved_from)

    def _mark(self, shard: _Shard, sid: str, entry: str) -> None:
        """Put a marker, in no dict yet, at the end of the shard's markers; beyond ``max_sessions``
        markers (that many moves within their minute), the oldest goes, never a note of ``end_sessions``
        (``ended:<user key>``, one per user: evicted, a login checked before it would have stayed)."""
        shard.markers[sid] = entry
        self._marked += 1
        if self._marked > self.max_sessions:
            for markers in itertools.chain((shard.markers,), (other.markers for other in self._shards)):
                # (a note of end_sessions, whose key has a colon, stays its minute)
                oldest = next((marked for marked in itertools.islice(markers, 4) if marked != sid
                               and ':' not in marked), None)
                if oldest is not None:
                    del markers[oldest]
                    self._marked -= 1
                    break
        if shard.check_at <= _now():
            self._housekeep(shard)

    def _housekeep(self, shard: _Shard, moved_from: Optional[str] = None, budget: int = 8) -> None:
        """Evict a session if the store is over its bound (neither the one just saved nor ``moved_from``,
        see ``create``), then drop the expired entries at the fronts of the shard's three dicts: at
        most ``budget`` entries looked at, all told."""
        if self._size > self.max_sessions:
            self._evict(shard, (shard.last, moved_from))
            budget -= 1
        now = _now()
        check_at = math.inf
        for entries in (shard.anonymous, shard.users, shard.markers):
            for sid in list(itertools.islice(entries, budget)):
                budget -= 1
                expires = int(entries[sid][:13]) / 1000
                if not expires or expires > now:
                    check_at = min(check_at, expires or now + 60.0)
                    break
                self._drop(shard, sid)
            else:
                if entries:  # more may be due: look again at the next write
                    check_at = 0.0
        shard.check_at = now + 60.0 if check_at == math.inf else check_at

    def _evict(self, shard: _Shard, keep: Tuple[Optional[str], ...]) -> None:
        """Take one session out of the shard (those in ``keep`` stay: the one just saved, and the
        one a login or regenerate moves it from): the least recently used anonymous one, or when
        there is none the least recently used one with a user, so that a flood of anonymous
        sessions (a bot) does not log people out; when the shard has only those, the same in
        another shard.  When the store holds nothing else (``max_sessions`` 1), none goes: the
        id moved from becomes a marker next, which the bound does not count."""
        if self._evict_in(shard, keep):
            return
        for other in self._shards:
            if other is not shard and self._evict_in(other, keep):
                return

    def _evict_in(self, shard: _Shard, keep: Tuple[Optional[str], ...]) -> bool:
        """``_evict`` in one shard; False if it has no session but those in ``keep``.  Only the first
        three sessions of each dict are looked at (``keep`` is two)."""
        for entries in (shard.anonymous, shard.users):
            victim = next((sid for sid in itertools.islice(entries, 3) if sid not in keep), None)
            if victim is not None:
                self._drop(shard, victim)
                return True
        return False


#: Each memory store's lock is held across a fork: a child must not inherit one locked by a thread
#: it lacks (its first request with a session would wait forever), nor a store half changed.
#: Nothing is done under the lock but a few dict operations, so a fork waits no longer than that.
_MEMORY_LOCKS = _ForkLocks()


#: Held while a SQLite file is created and while a connection opens one and joins the file's
#: connections.  Closing any descriptor of a file drops every lock this process holds on it (POSIX
#: record locks): the descriptor that creates the file is closed before a connection of this
#: process can open it.  A fork waits for it too, so that a child never inherits a connection
#: half made.
_SQLITE_OPENING = threading.Lock()


def _sqlite_busy(error: sqlite3.OperationalError) -> bool:
    """True for the errors of a file that another connection holds for a moment (worth a retry)."""
    return 'locked' in str(error) or 'busy' in str(error)


#: SQLite's primary result codes of a file that may work again by itself: held by another connection
#: (SQLITE_BUSY, SQLITE_LOCKED), a disk I/O error (SQLITE_IOERR, a full disk among its causes), a full disk
#: (SQLITE_FULL); and the errnos of the same when the file is made.
_SQLITE_PASSING = (5, 6, 10, 13)
_PASSING_ERRNOS = tuple(getattr(errno, name) for name in ('ENOSPC', 'EDQUOT', 'EIO') if hasattr(errno, name))


def _sqlite_passing(error: Exception) -> bool:
    """True if the file may work again by itself after ``error`` (locked, disk full, I/O): an install
    warns and goes on; False for what stays until someone acts (permissions, not a database)."""
    if isinstance(error, OSError):
        return error.errno in _PASSING_ERRNOS
    code = getattr(error, 'sqlite_errorcode', None)  # (Python 3.11 and later; the text before)
    if code is not None:
        return code & 0xff in _SQLITE_PASSING
    return isinstance(error, sqlite3.OperationalError) and (
        _sqlite_busy(error) or str(error) in ('database or disk is full', 'disk I/O error'))


def _sqlite_permissions(path: str) -> str:
    """Why this process may not use the SQLite file ``path`` by its permissions (its own, those of the
    ``-wal`` and ``-shm`` beside it, or its directory's when one of them has to be made), or ''.

    Said where opening or writing the file failed: SQLite's own words (``unable to open database
    file``, ``attempt to write a readonly database``) name no cause.
    """
    directory = os.path.dirname(path)
    try:
        for name in (path, path + '-wal', path + '-shm'):
            if not os.path.exists(name):
                name, wanted, verb = directory, os.W_OK | os.X_OK, 'make files in'
            else:
                wanted, verb = os.R_OK | os.W_OK, 'read and write'
            if not os.access(name, wanted):
                status = os.stat(name)
                return ('this process (uid %d) may not %s %s (owner uid %d, mode %04o): the file and its directory '
                        'must be writable by the user the app runs as (a gunicorn master started with --preload '
                        'and --user makes them as its own user, at install)'
                        % (getattr(os, 'geteuid', lambda: -1)(), verb, name, status.st_uid, status.st_mode & 0o7777))
    except OSError:  # (gone meanwhile: nothing to say)
        pass
    return ''


def _sqlite_no_room(error: Exception) -> bool:
    """True if ``error`` is SQLite's (or the system's) "database or disk is full"."""
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    code = getattr(error, 'sqlite_errorcode', None)  # (Python 3.11 and later; the text before)
    return code & 0xff == 13 if code is not None else str(error) == 'database or disk is full'


def _sqlite_disk_full(path: str) -> str:
    """Why saves to the SQLite file ``path`` fail for want of room on its disk (asked once one did), or ''."""
    try:
        disk = os.statvfs(os.path.dirname(path))
    except (OSError, AttributeError):  # (no statvfs on Windows)
        return ''
    free = (disk.f_bfree if getattr(os, 'geteuid', lambda: -1)() == 0 else disk.f_bavail) * disk.f_frsize
    return 'database or disk is full (%d bytes free)' % free if free < _SQLITE_ROOM else ''


#: Bytes free on the disk of a SQLite file below which ``check`` says it is full, once a save failed for want
#: of room (never before: saves fit in the ``-wal`` SQLite keeps, with no byte free, until it must grow).
_SQLITE_ROOM = 16 * 1024


@contextlib.contextmanager
def _sqlite_transaction(connection: sqlite3.Connection) -> typing.Iterator[None]:
    """A transaction that holds the file's write lock from its start (``BEGIN IMMEDIATE``: one writer at a time,
    so what it reads stays true until it writes): committed at the end, rolled back if anything raises."""
    connection.execute('BEGIN IMMEDIATE')
    try:
        yield
        connection.execute('COMMIT')
    except BaseException:
        if connection.in_transaction:  # (SQLite ends it itself on some errors, a full disk's at COMMIT among them)
            connection.execute('ROLLBACK')
        raise


def _sqlite_write_lock(connection: sqlite3.Connection) -> None:
    """Take the file's write lock and let go of it, writing nothing: fails as a save would on a connection
    that could open the file for reading only, or while another holds the lock (after ``busy_timeout``)."""
    connection.execute('BEGIN IMMEDIATE')
    connection.execute('ROLLBACK')


def _sqlite_exposure(path: str) -> Optional[str]:
    """What the install says of a SQLite file (or its ``-wal`` or ``-shm``) that users other than this
    process's may read or write: it holds live session ids, each as good as its user's login, and
    whoever may write it can make sessions of any user.  None when only this process's user may, or
    also a group this process is in (0660 or 0640: shared on purpose, as the usual umasks do not make it)."""
    euid = getattr(os, 'geteuid', None)
    if euid is None:  # (not POSIX: no owner and mode bits to go by)
        return None
    groups = {os.getegid(), *os.getgroups()}
    for name in (path, path + '-wal', path + '-shm'):
        try:
            status = os.stat(name)
        except OSError:  # (not there: SQLite makes it with the file's mode)
            continue
        shared = status.st_gid in groups and status.st_mode & 0o070  # (this process's group: an admin's choice)
        if status.st_mode & 0o007 or (status.st_mode & 0o070 or status.st_uid != euid()) and not shared:
            return ('The SQLite session file %s can be read or written by other users than this process\'s (owner '
                    'uid %d, mode %04o): it holds live session ids, with which whoever reads them is logged in as '
                    'their users, and whoever may write it can make sessions of any user; make it this user\'s, '
                    'readable and writable by its owner only (chmod 600 %s)'
                    % (name, status.st_uid, status.st_mode & 0o7777, name))
    return None


def _sqlite_uri(path: str, mode: str) -> str:
    """The ``file:`` URI that opens the SQLite file at ``path`` in ``mode`` (``ro``, ``rw``): the path's bytes as the
    file system has them, percent-encoded (a name the locale's codec could not decode, ``José.db`` under an ASCII
    locale, holds lone surrogates that a UTF-8 encoding would refuse)."""
    return 'file:%s?mode=%s' % (urllib.parse.quote(os.fsencode(path)), mode)


class _SQLiteConnection:
    """One connection to a SQLite file, used by one request at a time, and the file it opened
    (inode and device)."""

    #: One per open connection, which its file keeps in a weak set (hence ``__weakref__``): no instance dict.
    __slots__ = ('connection', 'identity', 'next_check', 'lock', '__weakref__')

    def __init__(self, connection: sqlite3.Connection, identity: Tuple[int, int]) -> None:
        #: The connection (None once closed).
        self.connection: Optional[sqlite3.Connection] = connection
        #: ``(st_ino, st_dev)`` of the file.
        self.identity = identity
        #: When the name is next compared with the open file (monotonic clock).
        self.next_check = time.monotonic() + 1.0
        #: Held while the connection is used: ``_SQLiteFile.close`` from another thread waits for it.
        self.lock = threading.Lock()


class _SQLiteFile:
    """A SQLite file that many threads use, each request through a connection no other uses meanwhile.

    The connections are kept for the next request, not for a thread: a server that gives each
    request a thread or greenlet of its own (gevent) would otherwise open one per request and
    leave it to the garbage collector, and its descriptors with it.  So there are as many as
    requests have used at the same moment.  A connection is looked at again at most once a second:
    when the name no longer leads to the file it opened (deleted or replaced, say by an operator
    logging everyone out), it is closed and the file opened anew, created if missing (readable by
    its owner only, as at install) and set up again.  ``close`` closes them all; the file cannot be
    used after it.  A fork closes them too (see ``close_before_fork``): the child, like this
    process, opens its own when it next uses the file.

    SQLite waits for a file another connection holds (``busy_timeout``) inside the thread.  Under
    gevent that thread is every greenlet's, so the connections there do not wait: ``run`` does,
    in pauses that let the others go on.
    """

    #: Why a file cannot be used after ``close``.
    _CLOSED = 'it is closed (by close(), as at uninstall)'
    #: Seconds a statement waits for the file while another connection holds it (``busy_timeout``);
    #: opening a connection, retries and set-up included, takes no longer.
    BUSY_TIMEOUT = 5.0
    #: The longest pause of ``run`` between two tries on a file another connection holds (under gevent).
    LONGEST_PAUSE = 0.05
    #: Bytes of ``-wal`` (or rollback journal) left on disk after a checkpoint (``journal_size_limit``):
    #: a -wal that a long reader (a backup) or a busy moment let grow is cut back to this, not kept
    #: at its largest size for good.
    JOURNAL_KEPT = 16 * 1024 * 1024

    def __init__(self, path: str, set_up: Callable[[sqlite3.Connection], None]) -> None:
        #: The file's absolute path.
        self.path = os.path.abspath(path)  # (never ':memory:', which SQLiteStore refuses)
        #: Run on every connection opened, before its first use: they make the schema of a new file.
        self.set_ups = [set_up]
        #: Guards ``_open``, ``_idle`` and ``_closed``.
        self._lock = threading.Lock()
        #: The connections open now.
        self._open: 'weakref.WeakSet[_SQLiteConnection]' = weakref.WeakSet()
        #: Those no request uses now; the last one given back is taken first.
        self._idle: List[_SQLiteConnection] = []
        #: Closed for good (``close``): no connection is opened again.
        self._closed = False
        #: Seconds a statement waits inside SQLite for the file while another connection holds it:
        #: ``BUSY_TIMEOUT``, or none under gevent, where ``run`` waits instead.
        self._busy_timeout = 0.0 if _sleep_lets_others_run() else self.BUSY_TIMEOUT
        _SQLITE_LOCKS.add(self)

    def run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Return ``work(connection)`` on a connection no other request uses meanwhile (sqlite3.Error or
        OSError if it fails).  ``work`` may be run again if the file was locked: it is one statement,
        or one transaction that it rolls back when it fails."""
        if self._busy_timeout:
            return self._run_once(work)
        deadline = time.monotonic() + self.BUSY_TIMEOUT
        pause = 0.001
        while True:
            try:
                return self._run_once(work)
            except sqlite3.OperationalError as error:
                if not _sqlite_busy(error) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)  # gevent's: the other greenlets run meanwhile (the one holding the file, say)
            pause = min(pause * 2, self.LONGEST_PAUSE)

    def _run_once(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """``work(connection)`` on an idle connection (or a new one), given back afterwards."""
        while True:
            held = self._take()
            try:
                with held.lock:
                    if held.connection is not None:
                        return work(held.connection)
            finally:
                self._give_back(held)
            # Closed meanwhile, by close() or before a fork (see close_before_fork): opened anew.

    def _take(self) -> _SQLiteConnection:
        """The idle connection given back last, or a new one if there is none or it no longer
        leads to the file the name does (ProgrammingError after ``close``)."""
        with self._lock:
            held = self._idle.pop() if self._idle else None
        if held is None or held.connection is None or (
                time.monotonic() >= held.next_check and not self._still_there(held)):
            held = self._reopen(held)
        return held

    def _give_back(self, held: _SQLiteConnection) -> None:
        """Keep a connection for the next request (unless it was closed meanwhile)."""
        with self._lock:
            if held.connection is not None and not self._closed:
                self._idle.append(held)

    def _still_there(self, held: _SQLiteConnection) -> bool:
        """True if the open file is still the one its name leads to (not deleted or replaced)."""
        held.next_check = time.monotonic() + 1.0
        if held.connection is None:
            return True
        try:
            named = os.stat(self.path)
        except OSError:
            return False
        return (named.st_ino, named.st_dev) == held.identity

    def _reopen(self, old: Optional[_SQLiteConnection]) -> _SQLiteConnection:
        """Close a connection to a file that is gone (if any) and open the one there now."""
        if old is not None:
            self._release(old)
        if self._closed:
            raise sqlite3.ProgrammingError(self._CLOSED)
        return self._connect()

    def _connect(self) -> _SQLiteConnection:
        """A connection set up by ``set_ups``, one of ``_open``; several processes may open or create the file at once."""
        # Several worker processes start at once on one file, or make it again at once after it was
        # deleted (and, after a crash, one of them recovers its WAL): SQLite may answer "database is
        # locked" here without waiting for its busy timeout, so this is retried, for as long as a
        # statement waits (BUSY_TIMEOUT): a request never waits longer for its connection.
        deadline = time.monotonic() + self.BUSY_TIMEOUT
        while True:
            if self._closed:
                raise sqlite3.ProgrammingError(self._CLOSED)
            try:
                held = self._open_joined()
                if self._run_set_ups(held, deadline):
                    return held
                # Closed by a fork (opened again) or by close() (the next turn says so).
            except FileNotFoundError:  # deleted between the creation and the connection: made again
                if not os.path.isdir(os.path.dirname(self.path)) or time.monotonic() > deadline:
                    raise
            except sqlite3.OperationalError as error:
                if not self._worth_a_retry(error, deadline):
                    raise
                time.sleep(0.05)

    def _open_joined(self) -> _SQLiteConnection:
        """A connection from ``_open_file``, among ``_open`` (which a fork or ``close()`` closes);
        ProgrammingError if the file was closed meanwhile."""
        with _SQLITE_OPENING:  # a fork waits: a child never inherits a connection half made
            held = self._open_file()
            with self._lock:
                joined = not self._closed
                if joined:  # from now on a fork or close() closes it too
                    self._open.add(held)
        if not joined:
            self._release(held)
            raise sqlite3.ProgrammingError(self._CLOSED)
        return held

    def _run_set_ups(self, held: _SQLiteConnection, deadline: float) -> bool:
        """Run ``set_ups`` on a new connection, waiting for locks until ``deadline`` at most; False
        if a fork or ``close()`` closed it meanwhile (any error closes it too)."""
        try:
            with held.lock:  # (a fork meanwhile waits for the set-ups, then closes it)
                connection = held.connection
                if connection is not None:
                    # (none under gevent: the caller waits, see _connect)
                    wait = self._busy_timeout and max((deadline - time.monotonic()) * 1000, 1)
                    connection.execute('PRAGMA busy_timeout=%d' % wait)
                    for set_up in self.set_ups:
                        set_up(connection)
                    connection.execute('PRAGMA busy_timeout=%d' % (self._busy_timeout * 1000))
        except BaseException:
            self._release(held)
            raise
        return held.connection is not None

    def _worth_a_retry(self, error: sqlite3.OperationalError, deadline: float) -> bool:
        """True if opening the file may succeed if tried again before ``deadline``: it was locked
        (busy), or is gone (being made again)."""
        return (_sqlite_busy(error) or not os.path.exists(self.path)) and time.monotonic() <= deadline

    def _open_file(self) -> _SQLiteConnection:
        """Connect to the file, created first if missing with the owner's permissions only.

        SQLite itself never creates it (``mode=rw``): it would take the process umask.
        """
        try:  # (_SQLITE_OPENING is held)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            named = os.stat(self.path)
        else:
            try:
                named = os.fstat(fd)
            finally:
                os.close(fd)
        # A file replaced between the stat and here is found at the first look, and opened again.
        connection = sqlite3.connect(_sqlite_uri(self.path, 'rw'), uri=True,
                                     timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        held = _SQLiteConnection(connection, (named.st_ino, named.st_dev))
        try:
            connection.execute('PRAGMA synchronous=NORMAL')
            connection.execute('PRAGMA journal_size_limit=%d' % self.JOURNAL_KEPT)
        except BaseException:
            self._release(held)
            raise
        return held

    def _release(self, held: _SQLiteConnection) -> None:
        """Close one connection (waiting for the thread that uses it to finish its statement)."""
        with held.lock:
            connection, held.connection = held.connection, None
            if connection is not None:
                connection.close()
        with self._lock:
            self._open.discard(held)

    def close(self) -> None:
        """Close every connection; using the file afterwards raises ProgrammingError."""
        with self._lock:
            self._closed = True
            everyone = list(self._open)
            self._idle.clear()
        for held in everyone:
            self._release(held)

    def is_open(self) -> bool:
        """True if a connection to the file is open (none before its first success, nor after ``close``)."""
        with self._lock:
            return bool(self._open)

    def close_before_fork(self) -> None:
        """Close every connection before ``os.fork`` (gunicorn's workers, say, after ``--preload``);
        the parent and each child open their own again when they next use the file.

        SQLite forbids using a connection in a child process that it did not open there: the
        child has none of its parent's file locks, so, say, the parent's ``close`` could check
        the WAL in and delete it while the child still writes to it.  Closing them here (rather
        than dropping them in the child) leaves the child nothing of SQLite's of these files.
        """
        with self._lock:
            everyone = list(self._open)
            self._idle.clear()
        for held in everyone:
            self._release(held)


#: Before a fork, with ``_SQLITE_OPENING`` held (no connection is half made), each file's
#: connections are closed (``close_before_fork``); its lock is held across the fork, so that the
#: child never inherits one locked by a thread it lacks.
_SQLITE_LOCKS = _ForkLocks(first=_SQLITE_OPENING, before=_SQLiteFile.close_before_fork)


#: Why ``:memory:`` is refused, with the ``session_store`` value.
_MEMORY_REFUSED = ('canister.session_store = %r: an in-memory SQLite database belongs to the one connection '
                   'that opened it, and canister opens one for each request using the store at the same moment, '
                   'so requests would keep sessions the others never see; use memory for sessions kept in this process')


def _names_memory(path: str) -> bool:
    """True if SQLite would take ``path`` (or the URI filename it looks like) for an in-memory database."""
    return path == ':memory:' or path.startswith('file::memory:') or 'mode=memory' in path


class SQLiteStore(SessionStore):
    """Sessions in a SQLite file: they survive restarts and crashes, and several
    threads and processes on one host can share them.

    The file may be the app's own database: canister makes its tables there if they are
    missing and touches nothing else (no other table, nor ``PRAGMA user_version``, nor the
    journal mode, which is WAL only in a file that holds canister's tables alone).  A
    ``canister_sessions`` table of another shape is not canister's, and is left alone:
    the store cannot be used (a ConfigError at install).  A file that another process holds locked, or
    that a full disk (or an I/O error) keeps from being set up, is no ConfigError: that may pass by itself,
    so ``check`` tells it and the store answers 503 until then.  The file (and SQLite's ``-wal``
    and ``-shm`` beside it, which take its mode) is created readable by its owner only:
    it holds live session ids.  An update is one conditional ``UPDATE`` (the row count
    tells whether it happened); sessions with a user carry its key in an indexed column.
    A file deleted or replaced while the app runs is noticed within a second by every
    connection, and made again empty (every session ends).  ``close`` closes every
    connection; the store cannot be used after it.
    """

    #: A ``create`` that raised wrote nothing: its one statement's transaction was rolled back.
    failed_create_writes_nothing = True
    #: The columns of ``canister_sessions``.
    _COLUMNS = ['sid', 'record', 'expires', 'user_key']
    #: Those of 2.0's development versions (never released): such a table is made anew, its sessions dropped.
    _DEVELOPMENT_COLUMNS = ['sid', 'record', 'expires']
    #: The first name in the file that is not canister's nor SQLite's (an app's table, index, view or trigger).
    _OTHERS = (r"SELECT name FROM sqlite_master WHERE name NOT LIKE 'canister\_%' ESCAPE '\' "
               r"AND name NOT LIKE 'sqlite\_%' ESCAPE '\' LIMIT 1")
    #: The table of sessions and its indexes.
    _SCHEMA = ('CREATE TABLE IF NOT EXISTS canister_sessions ('
               'sid TEXT PRIMARY KEY, record TEXT NOT NULL, expires INTEGER NOT NULL, user_key TEXT)',
               'CREATE INDEX IF NOT EXISTS canister_sessions_expires ON canister_sessions (expires)',
               'CREATE INDEX IF NOT EXISTS canister_sessions_user ON canister_sessions (user_key) '
               'WHERE user_key IS NOT NULL')
    #: The condition of a live row, given the time now in ms.
    _LIVE = '(expires = 0 OR expires > ?)'
    #: Not a marker (an ended or moved id keeps its row, and user, for the marker's minute).
    _NO_MARKER = " AND substr(record, 1, 1) <> '\"'"

    def __init__(self, path: str, cleanup_every: int = 100, cleanup_batch: int = 200) -> None:
        #: The file, as given.
        self.path = path
        #: Expired rows are deleted at one save in this many.
        self.cleanup_every = cleanup_every
        #: The most expired rows one cleanup deletes.
        self.cleanup_batch = cleanup_batch
        #: Told why a cleanup of expired rows failed (for whoever uses the store to log).
        self.cleanup_failed: Optional[Callable[[str], None]] = None
        #: Told the id and the reason when a session read was not given more life for want of room on the disk
        #: (``_serve_unextended``; for whoever uses the store to log).
        self.extension_failed: Optional[Callable[[str, str], None]] = None
        #: Counts the saves, for ``cleanup_every``.
        self._writes = itertools.count(1)
        if _names_memory(path):
            raise ConfigError(_MEMORY_REFUSED % path)
        target = os.path.abspath(path)
        names_directory = path.endswith(('/', os.sep))  # (sessions/: no file would be made there)
        directory = target if names_directory else os.path.dirname(target)
        if not os.path.isdir(directory):
            raise ConfigError('canister.session_store: directory %s does not exist%s' % (directory, '' if names_directory
                              else ': canister makes the file, not the directory it goes in; create it first'))
        if names_directory or os.path.isdir(target):
            raise ConfigError('canister.session_store: %s is a directory, not a file: name a file in it, such as %s'
                              % (target, os.path.join(target, 'sessions.db')))
        #: The connections, one for each request using the file at the same moment, each set up by
        #: ``_set_up`` (a new file gets the schema).
        self._file = _SQLiteFile(path, self._set_up)
        #: Why the file could not be used at install, when that may pass by itself (``check`` says it once).
        self._install_problem = self._try_file()
        #: What the install says of a file that other users may read or write (``_sqlite_exposure``).
        self.exposure_note = _sqlite_exposure(self.file_path)

    @property
    def file_path(self) -> str:
        """The file by its absolute path (made at install), as the store's texts name it."""
        return self._file.path

    def _try_file(self) -> Optional[str]:
        """Open and set up the file now, and take its write lock as a save does (writing nothing): None if
        a save would work, the reason if that may pass by itself (the file locked by another process, the
        disk full, an I/O error: the store answers 503 until then, and sets the file up at its first
        success); ConfigError for what stays until someone acts (permissions, a file that is not a
        database, a table of canister's name that is not canister's)."""
        path = self.file_path
        try:
            self._file.run(_sqlite_write_lock)
        except (sqlite3.Error, OSError) as error:
            problem = _sqlite_permissions(path)
            if _sqlite_passing(error) and not problem:
                return self._failed(error)
            raise ConfigError('canister.session_store: the SQLite file %s cannot be used: %s%s'
                              % (path, error, '; ' + problem if problem else '')) from None
        problem = _sqlite_permissions(path)  # (made read-only after the connections opened, which still write)
        if problem:
            raise ConfigError('canister.session_store: the SQLite file %s cannot be used: %s' % (path, problem))
        if self._short_of_room:  # (a save failed for want of room: until the disk has room, so do others)
            problem = _sqlite_disk_full(path)
            if problem:
                return self._failed(problem)
            self._short_of_room = False
        return None

    def check(self) -> Optional[str]:
        """None if sessions can be saved in the file now, else why (what the store's making found, told once:
        it was just tried); ConfigError if they never can without someone acting."""
        problem, self._install_problem = self._install_problem, None
        return problem or self._try_file()

    def _set_up(self, connection: sqlite3.Connection) -> None:
        """Make canister's tables if missing, beside whatever else the file holds (decided from the
        tables themselves: ``user_version`` may be the app's)."""
        if connection.execute('PRAGMA journal_mode').fetchone()[0].lower() != 'wal' and not \
                connection.execute(self._OTHERS).fetchall():  # the app's file keeps its journal
            connection.execute('PRAGMA journal_mode=WAL')
        if self._columns(connection) == self._COLUMNS:
            return
        with _sqlite_transaction(connection):
            columns = self._columns(connection)  # (again, now that no other connection can make it)
            if columns == self._DEVELOPMENT_COLUMNS:  # a development version's table: its sessions are not kept
                connection.execute('DROP TABLE canister_sessions')
            elif columns and columns != self._COLUMNS:
                raise sqlite3.DatabaseError('its table canister_sessions is not canister\'s (its columns: %s); '
                                            'give canister a file of its own' % ', '.join(columns))
            for statement in self._SCHEMA:
                connection.execute(statement)

    @staticmethod
    def _columns(connection: sqlite3.Connection) -> List[str]:
        """The columns of ``canister_sessions`` in order (none if it is missing)."""
        return [row[1] for row in connection.execute('PRAGMA table_info(canister_sessions)')]

    def _failed(self, cause: Any, problem: str = '') -> str:
        """What is said of the file when it cannot be used for now: by a request's 503 ERROR line, and in the same
        words by ``check`` (``store_problem()``, the install's WARNING), so that one condition has one text.  The
        file's absolute path (made at install), as the ConfigErrors say it: a relative one names no directory."""
        return 'the SQLite session store %s failed: %s%s' % (self.file_path, cause, '; ' + problem if problem else '')

    #: The last save failed for want of room on the disk (cleared by one that succeeds, or room found by ``check``).
    _short_of_room = False

    def _call(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            return self._file.run(work)
        except (sqlite3.Error, OSError) as error:
            raise self._unavailable(error) from None

    def _unavailable(self, error: Exception) -> StoreUnavailable:
        """What a request that met ``error`` raises (its 503), noting a want of room (``check`` then tells it)."""
        if _sqlite_no_room(error):
            self._short_of_room = True
        unavailable = StoreUnavailable(self._failed(error, _sqlite_permissions(self.file_path)))
        unavailable.timed_out = isinstance(error, sqlite3.OperationalError) and _sqlite_busy(error)
        unavailable.unapplied = unavailable.timed_out  # (rolled back: nothing runs it later, as a stalled Redis may)
        return unavailable

    def _change(self, sql: str, args: Tuple[Any, ...]) -> int:
        """Run a statement that changes rows; the number it changed."""
        return typing.cast(int, self._call(lambda connection: connection.execute(sql, args).rowcount))

    def _run(self, sql: str, args: Tuple[Any, ...]) -> List[Any]:
        return typing.cast(List[Any], self._call(lambda connection: connection.execute(sql, args).fetchall()))

    def load(self, sid: str) -> Optional[str]:
        rows = self._run('SELECT record FROM canister_sessions WHERE sid = ? AND ' + self._LIVE, (sid, _now_ms()))
        return rows[0][0] if rows else None

    def save(self, sid: str, record: str, ttl: float) -> None:
        self._run('INSERT INTO canister_sessions (sid, record, expires) VALUES (?, ?, ?) '
                  'ON CONFLICT (sid) DO UPDATE SET record = excluded.record, expires = excluded.expires',
                  (sid, record, _expiry_ms(ttl)))
        self._short_of_room = False
        self._maybe_cleanup()

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        self._run('INSERT OR REPLACE INTO canister_sessions (sid, record, expires, user_key) VALUES (?, ?, ?, ?)',
                  (sid, record, _expiry_ms(ttl), user_key))
        self._short_of_room = False
        self._maybe_cleanup()

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        args = (record, _expiry_ms(ttl), sid, expected, _now_ms())
        try:
            changed = self._file.run(lambda connection: connection.execute(self._UPDATE, args).rowcount)
        except (sqlite3.Error, OSError) as error:
            if record == expected and _sqlite_no_room(error):  # (only its life would change: a read's extension)
                return self._serve_unextended(sid, expected, error)
            raise self._unavailable(error) from None
        if changed:
            self._short_of_room = False
            self._maybe_cleanup()
            return True, None
        return False, self.load(sid)

    #: ``update``: replace a live session's record if it is still the one expected, giving it its new expiry.
    _UPDATE = 'UPDATE canister_sessions SET record = ?, expires = ? WHERE sid = ? AND record = ? AND ' + _LIVE

    def _serve_unextended(self, sid: str, expected: str, error: Exception) -> Tuple[bool, Optional[str]]:
        """``update`` of a record to itself (how a request that only read its session extends its life), which
        the disk had no room for: the session as it is, its life not extended this time, if the file still
        holds ``expected`` (a read, which needs no room), so that the request is served, as a full Redis serves
        it; told to ``extension_failed`` when so, and True comes with ``_UNEXTENDED``.  Noted as a save's want of
        room is (``check`` tells it)."""
        self._short_of_room = True
        current = self.load(sid)
        if current != expected:
            return False, current
        if self.extension_failed is not None:
            self.extension_failed(sid, self._failed(error))
        return True, _UNEXTENDED

    def touch(self, sid: str, ttl: float) -> None:
        new = _expiry_ms(ttl)  # not back from expiry, never shorter (0: lives forever, and stays so)
        self._run('UPDATE canister_sessions SET expires = ? WHERE sid = ? AND expires > ? AND (? = 0 OR expires < ?)',
                  (new, sid, _now_ms(), new, new))
        self._maybe_cleanup()

    def delete(self, sid: str) -> bool:
        return self._change('DELETE FROM canister_sessions WHERE sid = ?', (sid,)) > 0

    def sessions_of(self, user_key: str) -> List[Tuple[str, str, int]]:
        return [tuple(row) for row in self._run(
            'SELECT sid, record, expires FROM canister_sessions WHERE user_key = ? AND ' + self._LIVE + self._NO_MARKER,
            (user_key, _now_ms()))]

    def count_of(self, user_key: str) -> int:
        """How many sessions ``sessions_of`` gives, counted in the index (the cap per user reads it first)."""
        return int(self._run('SELECT COUNT(*) FROM canister_sessions WHERE user_key = ? AND ' + self._LIVE
                             + self._NO_MARKER, (user_key, _now_ms()))[0][0])

    #: Deletes up to ``?`` expired rows, given the time now in ms.
    _CLEANUP = ('DELETE FROM canister_sessions WHERE sid IN (SELECT sid FROM canister_sessions '
                'WHERE expires > 0 AND expires <= ? LIMIT ?)')

    def _maybe_cleanup(self) -> None:
        """Every ``cleanup_every`` writes, delete a batch of expired rows.  The write before it is
        done, so a failure here (the file locked for longer than the busy timeout, say) fails no
        request: it is told to ``cleanup_failed``, and the next cleanup tries again."""
        if next(self._writes) % self.cleanup_every:
            return
        try:
            self._file.run(lambda connection: connection.execute(self._CLEANUP, (_now_ms(), self.cleanup_batch)))
        except (sqlite3.Error, OSError) as error:
            if self.cleanup_failed is not None:
                self.cleanup_failed('Expired sessions were not deleted from %s this time (the session itself was '
                                    'saved; the next cleanup, %d writes on, tries again): %s'
                                    % (self.file_path, self.cleanup_every, error))

    def tidy(self, batch: int = _TIDY_BATCH) -> int:
        """Delete every expired row, ``batch`` at a time (writes delete a few as they go, a file
        nobody writes keeps its rows); return how many.  A user's sessions are a column of their rows:
        no list of ids outlives them.  ``tidy_removed`` counts as it goes (what a tidy that failed had done)."""
        self.tidy_removed = 0
        while True:
            deleted = self._change(self._CLEANUP, (_now_ms(), batch))
            self.tidy_removed += deleted
            if deleted < batch:
                return self.tidy_removed

    #: How many rows the last ``tidy`` deleted, counted batch by batch (each batch is committed).
    tidy_removed = 0

    def close(self) -> None:
        """Close every connection (the login throttle's too, which shares them)."""
        self._file.close()


#: Query parameters a Redis URL may carry (TLS options), with their parsers.
_REDIS_URL_OPTIONS: Dict[str, Callable[[str], Any]] = {
    'ssl_ca_certs': str, 'ssl_certfile': str, 'ssl_keyfile': str,
    'ssl_cert_reqs': lambda value: _as_choice('required', 'optional', 'none')(value),
    'ssl_check_hostname': lambda value: _as_bool(value),
}
_REDIS_SCHEMES = ('redis', 'rediss', 'redis+sentinel', 'rediss+sentinel', 'redis+cluster', 'rediss+cluster')


class _RedisUrl(typing.NamedTuple):
    """A ``session_store`` Redis URL, parsed and checked at install."""

    #: ``single``, ``sentinel`` or ``cluster``.
    mode: str
    #: The server, the sentinels or the cluster nodes to start from.
    hosts: List[Tuple[str, int]]
    #: The user name of the URL, if any.
    username: Optional[str]
    #: The password of the URL, if any.
    password: Optional[str]
    #: The database number (always 0 on a cluster).
    db: int
    #: The Sentinel service (master) name.
    service: str
    #: Connection options: TLS, from the scheme and the query.
    options: Dict[str, Any]

    @classmethod
    def parse(cls, url: str) -> '_RedisUrl':
        """Parse ``redis[s]://``, ``redis[s]+sentinel://`` or ``redis[s]+cluster://``; ConfigError says what is wrong."""
        def invalid(why: str) -> ConfigError:
            return ConfigError('canister.session_store = %r is not a valid Redis URL: %s'
                               % (_mask_urls(url), why))
        scheme, sep, rest = url.partition('://')
        if not sep or scheme.lower() not in _REDIS_SCHEMES:
            raise invalid('the scheme must be one of %s' % ', '.join(s + '://' for s in _REDIS_SCHEMES))
        scheme = scheme.lower()
        mode = scheme.partition('+')[2] or 'single'
        location, _, query = rest.partition('?')
        netloc, _, path = location.partition('/')
        if '@' in path or ('@' in query and ('@' not in netloc or not cls._only_options(query))):
            raise invalid("a '/' or '?' in the user name or password must be written %2F or %3F "
                          "(and an '@' after the host %40)")  # the user information held a '/' or a '?'
        credentials, at, hostlist = netloc.rpartition('@')
        username, password = cls._credentials(credentials) if at else (None, None)
        hosts = cls._hosts(hostlist, mode, invalid)
        service, db = cls._path(path, mode, invalid)
        options = cls._options(query, scheme, invalid)
        return cls(mode, hosts, username, password, db, service, options)

    @staticmethod
    def _only_options(query: str) -> bool:
        """The query is ``name=value`` pairs of known options only (an ``@`` in a value, a file's
        path, is then no sign of a password cut short by a '?')."""
        return all(name in _REDIS_URL_OPTIONS and equals
                   for name, equals, _ in (pair.partition('=') for pair in query.split('&')))

    @staticmethod
    def _credentials(credentials: str) -> Tuple[Optional[str], Optional[str]]:
        """User name and password from ``user:password`` (each unquoted; None if absent)."""
        user_text, colon, password_text = credentials.partition(':')
        return (urllib.parse.unquote(user_text) or None), (urllib.parse.unquote(password_text) if colon else None)

    @classmethod
    def _hosts(cls, hostlist: str, mode: str, invalid: Callable[[str], ConfigError]) -> List[Tuple[str, int]]:
        """The ``host:port`` list (localhost and the mode's default port when left out)."""
        default = 26379 if mode == 'sentinel' else 6379
        hosts = [cls._host(entry, default, invalid) for entry in (hostlist or 'localhost').split(',')]
        if mode == 'single' and len(hosts) > 1:
            raise invalid('a plain Redis URL names one host (use redis+sentinel:// or redis+cluster:// for several)')
        return hosts

    @classmethod
    def _host(cls, entry: str, default: int, invalid: Callable[[str], ConfigError]) -> Tuple[str, int]:
        """One ``host[:port]`` (an IPv6 address in brackets: ``[::1]:6379``)."""
        host, port_text = cls._split_host(entry.strip(), invalid)
        if port_text and not port_text.isdigit():
            raise invalid('%r is not a port number' % port_text)
        if port_text and not 0 < int(port_text) < 65536:  # (redis-py's ValueError would name no key; a Cluster's, no error)
            raise invalid('%r is not a port number: use 1 to 65535' % port_text)
        return (host or 'localhost'), (int(port_text) if port_text else default)

    @staticmethod
    def _split_host(entry: str, invalid: Callable[[str], ConfigError]) -> Tuple[str, str]:
        """The host and the port's text of ``host[:port]`` or ``[IPv6]:port``; an unclosed or unbracketed
        IPv6 address is refused (``[::1:6379`` would otherwise read as the host ``::1`` on port 6379)."""
        if entry.startswith('['):
            host, bracket, after = entry[1:].partition(']')
            if bracket and '[' not in host and after[:1] in ('', ':'):
                return host, after[1:]
        elif '[' not in entry and ']' not in entry and entry.count(':') < 2:
            host, _, port_text = entry.partition(':')
            return host, port_text
        raise invalid('%r: write an IPv6 address in brackets, then the port: [::1]:6379' % entry)

    @classmethod
    def _path(cls, path: str, mode: str, invalid: Callable[[str], ConfigError]) -> Tuple[str, int]:
        """The Sentinel service (sentinel mode only) and the database number after the hosts."""
        parts = [part for part in path.split('/') if part]
        service = ''
        if mode == 'sentinel':
            if not parts:
                raise invalid('name the service after the hosts: redis+sentinel://host:26379/service/db')
            service = urllib.parse.unquote(parts.pop(0))
        return service, cls._db(parts, mode, invalid)

    @staticmethod
    def _db(parts: List[str], mode: str, invalid: Callable[[str], ConfigError]) -> int:
        """The database number: the one path part left, 0 when none; a cluster has only 0."""
        if len(parts) > 1 or (parts and not parts[0].isdigit()):
            raise invalid('%r is not a database number' % '/'.join(parts))
        db = int(parts[0]) if parts else 0
        if mode == 'cluster' and db:
            raise invalid('Redis Cluster has only database 0')
        return db

    @classmethod
    def _options(cls, query: str, scheme: str, invalid: Callable[[str], ConfigError]) -> Dict[str, Any]:
        """Connection options: ``ssl`` from a ``rediss`` scheme, TLS options from the query."""
        options: Dict[str, Any] = {}
        if scheme.startswith('rediss'):
            options['ssl'] = True
        for name, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
            options[name] = cls._option(name, values[-1], invalid)
        if any(name.startswith('ssl_') for name in options) and not options.get('ssl'):
            raise invalid('TLS options need a rediss:// scheme (rediss+sentinel://, rediss+cluster://)')
        return options

    @staticmethod
    def _option(name: str, value: str, invalid: Callable[[str], ConfigError]) -> Any:
        """One query option, parsed; a file it names must exist."""
        parser = _REDIS_URL_OPTIONS.get(name)
        if parser is None:
            raise invalid('unknown option %r (known: %s)' % (name, ', '.join(_REDIS_URL_OPTIONS)))
        try:
            parsed = parser(value)
        except ValueError as error:
            raise invalid('%s: %s' % (name, error)) from None
        if name in ('ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile') and not os.path.isfile(parsed):
            raise invalid('%s: no file %s' % (name, parsed))
        return parsed

    def client(self, redis: Any, timeout: float, retry: Any) -> Any:
        """A redis-py client for this URL (its own pool; nothing is connected yet)."""
        common: Dict[str, Any] = dict(self.options, username=self.username, password=self.password,
                                      socket_timeout=timeout, socket_connect_timeout=timeout)
        if retry is not None:
            common['retry'] = retry
        if self.mode == 'sentinel':
            from redis.sentinel import Sentinel
            sentinel_options = dict(self.options, socket_timeout=timeout, socket_connect_timeout=timeout)
            if retry is not None:  # (redis-py's default retries a dead sentinel with back-off: seconds)
                sentinel_options['retry'] = retry
            sentinel = Sentinel(self.hosts, sentinel_kwargs=sentinel_options, **common)
            return sentinel.master_for(self.service, db=self.db, **common)
        if self.mode == 'cluster':
            from redis.cluster import ClusterNode, RedisCluster
            return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in self.hosts], **common)
        host, port = self.hosts[0]
        return redis.Redis(host=host, port=port, db=self.db, **common)


#: The address in the text of a redis-py connection object.
_REDIS_ADDRESS = re.compile(r'\bhost=([^,<>()]+),port=(\d+)')


def _redis_errors(redis: Any) -> Tuple[typing.Type[Exception], ...]:
    """What redis-py raises when Redis cannot answer: its errors, a Cluster's own (which are not
    ``RedisError``: every node down, a slot no node serves), and the socket's."""
    cluster_error = getattr(redis.exceptions, 'RedisClusterException', OSError)
    return (redis.exceptions.RedisError, cluster_error, OSError)


#: redis-py's note on the command of a pipeline that failed quotes its first 100 characters: a
#: session's key (its full id) and record, which must not reach the log.  Only the command's name is kept.
_REDIS_PIPELINE_NOTE = re.compile(r'Command # \d+ \((\S*).*\) of pipeline caused error: ', re.DOTALL)
#: What Redis adds to the error of a command a Lua script ran (a session's read is one): which script, which line;
#: before Redis 7, in front of the command's error (its code too: ``-OOM ``) and with spaces after it.
_REDIS_SCRIPT_NOTE = re.compile(r' script: [0-9a-f]{40}, on @user_script:\d+\.|'
                                r'Error running script \(call to f_[0-9a-f]{40}\): @user_script:\d+: '
                                r'@user_script: \d+: (-[A-Z]+ )?')
#: What Redis answers a write once it holds ``maxmemory`` under ``maxmemory-policy noeviction``.
_REDIS_FULL = "used memory > 'maxmemory'"
#: What redis-py's Cluster client says when no node answered a command, or its topology refresh after one
#: (before redis-py 8, with no class of its own): the nodes stalled, as a timeout says of a single server.
_REDIS_CLUSTER_UNANSWERED = 'Redis Cluster cannot be connected'
#: What Redis answers a write it refuses while it answers reads: a full one (``maxmemory``, its words above), one
#: whose last snapshot failed (``MISCONF``), one short of ``min-replicas-to-write`` (``NOREPLICAS``).
_REDIS_REFUSALS = (_REDIS_FULL, 'MISCONF', 'NOREPLICAS')
#: The key a readiness check writes (for a second) while Redis refuses writes, to see whether it takes them again:
#: no session id is this short (43 characters), and ``tidy`` looks only under ``user:``.
_REDIS_PROBE = 'ready-probe'


def _redis_error_text(error: Exception) -> str:
    """The text of a redis-py error, each connection object it shows cut to its address (a
    Sentinel's "no master found" prints a long object per sentinel, too long for a log line),
    with no key or value of a pipelined command, no note of the script that ran it, and what to do when
    Redis is full."""
    text, start = _REDIS_SCRIPT_NOTE.sub('', _REDIS_PIPELINE_NOTE.sub(r'\1 failed: ', str(error))).rstrip(), 0
    if _REDIS_FULL in text:
        text += (' (Redis is full (maxmemory reached): raise maxmemory, and keep maxmemory-policy noeviction: a '
                 'policy that evicts would take keys canister needs besides sessions, the login throttle\'s counts '
                 'among them)')
    parts: List[str] = []
    while True:
        begin = text.find('<redis.', start)
        if begin < 0:
            return ''.join(parts) + text[start:]
        depth, end = 0, len(text) - 1
        for index in range(begin, len(text)):  # to the '>' that closes this object's text
            depth += (text[index] == '<') - (text[index] == '>')
            if depth == 0:
                end = index
                break
        address = _REDIS_ADDRESS.search(text, begin, end)
        parts.append(text[start:begin] + ('%s:%s' % address.groups() if address else '<redis client>'))
        start = end + 1


def _eviction_note(policy: str, limit: Any, sets_too: bool) -> str:
    """The install's WARNING for a Redis whose ``maxmemory-policy`` evicts keys once ``maxmemory`` is reached;
    ``sets_too``: the users' sets may go too (any key under ``allkeys-*``; with ``session_max_age`` they expire)."""
    sets = ('the users\' sets of sessions (end_sessions, a logout everywhere, then misses those sessions, which stay '
            'logged in), ' if sets_too else '')
    return ('Redis has maxmemory %s and maxmemory-policy %s: once full it evicts keys canister needs besides '
            'sessions: %sthe notes end_sessions leaves for a login under way, the markers of ended and moved '
            'sessions, and the login throttle\'s counts (a guesser gets more tries than the limit); set '
            'maxmemory-policy noeviction (a full Redis then refuses writes, and those requests answer 503 saying '
            'so) and give it room for the sessions' % (limit, policy, sets))


#: The first line of every Lua script canister runs on Redis: its writes are replicated (to replicas, and to the AOF)
#: as the commands it ran, not as the script run again.  Redis 3.2 to 6.x run a script again on a replica and from the
#: AOF under ``lua-replicate-commands no`` (3.2 and 4's default), where a replica ignores ``maxmemory`` (the marker
#: a full master refused is set there, while the master deleted the session: ``_REDIS_UPDATE``), the key's expiry is
#: seen by another clock (``PTTL``), and a relative ``PX`` or ``PEXPIRE`` counts from the replay.  Redis 7 always
#: replicates so; there ``redis.replicate_commands()`` does nothing and answers true.
_REDIS_EFFECTS = 'if redis.replicate_commands then redis.replicate_commands() end\n'


#: Replace a Redis session's record only if it is still the one expected (KEYS[1]: the
#: session; ARGV: expected record, new record, ttl in ms or 0).  Returns {1} when
#: replaced, {0, current} when another request changed it, {0} when it is gone.  With ARGV[4]
#: (the "ended" marker of ``RedisStore.update``), a full Redis that refuses the ``SET`` (``OOM``) has
#: the key deleted instead, which adds no memory (Redis 5 as 7 run it), and {2} is returned: a logout on
#: a full Redis is one script, whose single ``WAIT`` confirms the delete.  Any other refusal is raised
#: as Redis words it (the ``SET`` sent again as ``redis.call``).
_REDIS_UPDATE = _REDIS_EFFECTS + """
local current = redis.call('GET', KEYS[1])
if not current then return {0} end
if current ~= ARGV[1] then return {0, current} end
local function set(call)
  if tonumber(ARGV[3]) > 0 then return call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  return call('SET', KEYS[1], ARGV[2])
end
local reply = set(ARGV[4] and redis.pcall or redis.call)
if type(reply) == 'table' and reply.err then
  if string.find(reply.err, 'OOM', 1, true) then
    redis.call('DEL', KEYS[1])
    return {2}
  end
  set(redis.call)
end
return {1}
"""

#: Extend a session's life to ARGV[1] ms from now: never shorter (a parallel request may have made it
#: longer), never for a session that is gone, and a session without expiry stays so.
_REDIS_EXTEND = _REDIS_EFFECTS + """
local left = redis.call('PTTL', KEYS[1])
if left >= 0 and left < tonumber(ARGV[1]) then return redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 0
"""

#: Read a session and extend its life in the same step, never shortening it: to ARGV[1] ms from now, or to
#: the record's own lifetime (``session.remember``, the last number of the record's tail, ``_record_tail``;
#: the login line's 16 characters may follow it) when it has one, and only where less is left.  A
#: remembered session thus keeps its own length whether or not the request that read it gets to save.
#: A marker (``_marker``: a JSON string, ``"moved..."`` or ``"ended"``) is returned as it is and keeps its
#: minute, so that a client polling an old id cannot keep it for ever.  (A second reading of the record's
#: layout: tests/test_redis_remember_kept.py fails if the codec moves the lifetime.)
_REDIS_LOAD = _REDIS_EFFECTS + """
local record = redis.call('GET', KEYS[1])
if not record then return false end
local head = string.sub(record, 1, 6)
if (head == '"moved' or head == '"ended') and string.sub(record, -1) == '"' then return record end
local life = ARGV[1]
local tail = string.sub(record, -48)
local own = string.match(tail, ',(%d+)%]$') or string.match(tail, ',(%d+),"[^"]*"%]$')
if own and own ~= '0' then life = own .. '000' end
local left = redis.call('PTTL', KEYS[1])
if left >= 0 and left < tonumber(life) then redis.call('PEXPIRE', KEYS[1], life) end
return record
"""

#: What ``RedisStore.update`` gives with True when a full Redis refused the "ended" marker and the session was
#: deleted instead (``_REDIS_UPDATE``'s {2}): ``end_session`` says so in a WARNING.
_UNMARKED = '"unmarked"'

#: What ``_replicated`` says a WAIT counted for a write redis-py sent again on its own (``_sent_with_wait``).
_RESENT = '0 (the write was sent again alone, after a MOVED or ASK redirect as while its slot moves to another master)'


def _resent_through(pipe: Any) -> str:
    """The attribute of a redis-py Cluster pipeline (``pipe``) through which it sends a command again on its own
    (``_sent_with_wait`` notes it): ``parent_execute_command`` (redis-py 6.1 and later), else the client's
    ``_execute_command``, which a pipeline of redis-py 4.2 to 6.0 reaches only so (its ``execute_command`` queues;
    a resend calls ``RedisCluster.execute_command``, which sends each command through ``self._execute_command``)."""
    return 'parent_execute_command' if hasattr(pipe, 'parent_execute_command') else '_execute_command'


#: How many members of a user's set of sessions a login looks at, to take the ended ones out.
_TIDY_SAMPLE = 16


class RedisStore(SessionStore):
    """Sessions in Redis, shared by many processes on many hosts: one server, Sentinel or Cluster.

    Redis expires them itself; a request that only reads its session is one round trip
    (a script reads it and extends its life, never shortening it), one that changes it two
    (that read, then a script that replaces the record only if no other request changed
    it meanwhile); pooled connections with short timeouts, so an outage turns into quick
    503s rather than hung requests.  Each script touches one key, so every guarantee holds on Redis
    Cluster too.  The sessions of a user are listed in a set (``<prefix>user:<key>``),
    tidied when they are listed, and 16 at random when the user logs in again.

    ``url`` is a ``session_store`` URL; or pass ``client``, a redis-py client the app
    built (``redis.Redis``, ``Sentinel.master_for(...)`` or ``RedisCluster``).  With
    ``wait`` > 0, a save waits (Redis ``WAIT``) until that many replicas have it.  With
    ``max_age`` (``session_max_age``, in seconds), a user's set expires that long after
    the user's latest session was made, when every session it lists has ended too.
    """

    #: The read script (``_REDIS_LOAD``) extends a remembered session to its own length, never to ``ttl``.
    keeps_lifetime_on_load = True

    def __init__(self, url: Optional[str] = None, prefix: str = 'canister:session:', timeout: float = 1.0,
                 client: Any = None, wait: int = 0, max_age: float = 0) -> None:
        redis = _require('redis')
        #: What the install says of the redis package's version, if it is older than canister is tested with.
        self.version_note = _untested_version('redis', redis)
        if (url is None) == (client is None):
            raise ConfigError('RedisStore takes either a url or a client')
        if not prefix:
            raise ConfigError('canister.session_redis_prefix must not be empty')
        #: The start of every key canister writes (``session_redis_prefix``).
        self.prefix = prefix
        #: How many replicas must have a save before it counts (Redis ``WAIT``); 0: none.
        self.wait = wait
        #: ``wait`` is ``session_redis_wait`` (``open_store`` made the store), not the app's own: what warnings name.
        self._wait_from_config = False
        #: Seconds a command (and a connection) may take before the store counts as down.
        self.timeout = timeout
        #: The WAIT that follows a write with ``wait`` (``_wait_in``): that many replicas, for half the timeout.
        self._wait_command = ('WAIT', wait, int(timeout * 500))
        #: How long after a command timed out the requests answer 503 at once (``_stalled``): the timeout's length,
        #: but no more than the second after which the 503's ``Retry-After: 1`` tells the client to try again.
        self._stall_window = min(timeout, 1.0)
        #: ``session_max_age``: a user's set of sessions expires that long after the latest was made; 0: never.
        self.max_age = max_age
        #: What redis-py raises when Redis cannot answer (a 503).
        self._errors = _redis_errors(redis)
        #: redis-py's error for a command the server refused.
        self._response_error = redis.exceptions.ResponseError
        #: redis-py's error for a script the server no longer has (loaded again).
        self._no_script = redis.exceptions.NoScriptError
        #: redis-py's error for credentials the server refuses (which will not pass by itself).
        self._auth_error = redis.exceptions.AuthenticationError
        #: redis-py's error for a write sent to a read-only replica (READONLY): an old master, after a failover.
        self._read_only_error = redis.exceptions.ReadOnlyError
        #: What a command (or connection) that took longer than ``timeout`` raises: Redis stalled (redis-py's
        #: error, or the socket's where redis-py lets it through, as in a TLS handshake).
        self._timeout_error = (redis.exceptions.TimeoutError, TimeoutError)
        #: What redis-py raises before it sends a command (besides its ``Error 111 connecting to ...``): no master
        #: found (Sentinel), a refused connection the socket reports as it is.  Not a Cluster's "no node reachable"
        #: (``_REDIS_CLUSTER_UNANSWERED``): redis-py 8 raises it too for a command it sent and got no answer to,
        #: once the topology refresh after it reached no node.
        self._unapplied_errors = (
            getattr(getattr(redis, 'sentinel', None), 'MasterNotFoundError', ConnectionRefusedError),
            ConnectionRefusedError)
        if client is None:
            try:
                from redis.backoff import NoBackoff
                from redis.retry import Retry
                retry: Any = Retry(NoBackoff(), 0)
            except ImportError:  # pragma: no cover - very old redis-py
                retry = None
            assert url is not None
            if url.startswith('unix://'):
                options: Dict[str, Any] = {'socket_timeout': timeout, 'socket_connect_timeout': timeout}
                if retry is not None:
                    options['retry'] = retry
                try:
                    client = redis.Redis.from_url(url, **options)
                except ValueError as error:  # (its query: ``?db=x``)
                    raise ConfigError('canister.session_store = %r is not a valid Redis URL: %s'
                                      % (_mask_urls(url), error)) from None
                #: The client is a Redis Cluster's.
                self._cluster = False
            else:
                parsed = _RedisUrl.parse(url)
                self._cluster = parsed.mode == 'cluster'
                self._make_client = functools.partial(parsed.client, redis, timeout, retry)
        else:
            cluster = getattr(getattr(redis, 'cluster', None), 'RedisCluster', None)
            self._cluster = cluster is not None and isinstance(client, cluster)
        #: The redis-py client: None until it is made (a Cluster client connects as it is made,
        #: so one whose every node is down is made at the first request that finds one up).
        self._client: Any = client
        #: Held while the client is made, so one thread makes it.
        self._connecting = threading.Lock()
        #: The SHA1 of each Lua script run so far, by its text (see ``run_script``): hashed once, not at each call.
        self._shas: Dict[str, str] = {}

    #: Makes the client of a URL (not called for a client given as it is).
    _make_client: Callable[[], Any]

    #: Redis stalled (a command timed out): the 503's text, which the requests of the next second
    #: (``_stall_window``) get at once instead of each waiting for a timeout of its own; '' when it answers.
    #: Not on a Cluster, where a node that stalls holds only its own slots' sessions.
    _stalled = ''
    #: Until when (``time.monotonic()``) a request meeting ``_stalled`` answers at once, without asking Redis.
    _stalled_until = 0.0

    def _still_stalled(self, stalled: str) -> None:
        """StoreUnavailable (``stalled``, the text read once: another thread may clear it meanwhile) at once
        while Redis is taken to be stalled; once its second has passed, one request PINGs (the others still
        answering at once meanwhile), and goes on if Redis answers."""
        now = time.monotonic()
        if now < self._stalled_until:
            unasked = StoreUnavailable(stalled)
            unasked.unapplied = True
            raise unasked
        # (no other request asks while this PING may wait; two threads here at once may both ask: no harm)
        self._stalled_until = now + self.timeout
        try:
            self._client.ping()
        except self._errors as error:
            unanswered = self._unreachable(error)
            unanswered.unapplied = True  # (only the PING was sent)
            raise unanswered from None
        self._stalled = ''

    @property
    def client(self) -> Any:
        """The redis-py client; made now if it could not be made before (StoreUnavailable if not now either)."""
        stalled = self._stalled
        if stalled:
            self._still_stalled(stalled)
        client = self._client
        if client is None:
            with self._connecting:
                if self._client is None:
                    try:
                        self._client = self._make_client()
                    except self._errors as error:
                        unmade = self._unreachable(error)
                        unmade.unapplied = True  # (no client yet: nothing was sent)
                        raise unmade from None
                client = self._client
        return client

    def _sha(self, source: str) -> str:
        """The SHA1 by which Redis knows the Lua script ``source`` (``EVALSHA``)."""
        sha = self._shas.get(source)
        if sha is None:
            sha = self._shas[source] = hashlib.sha1(source.encode('utf-8')).hexdigest()
        return sha

    def run_script(self, source: str, key: str, *args: Any) -> Any:
        """Run the Lua script ``source`` on ``key`` (for the login throttle too): one ``EVALSHA``, and where
        the server lacks it (restarted, ``SCRIPT FLUSH``, a replica that took over; on a Cluster, the node of
        the key's slot) ``SCRIPT LOAD`` and the ``EVALSHA`` again.  A bare ``EVALSHA``, not redis-py's
        ``Script``, which costs more on the client than the script on the server."""
        client = self._client
        if client is None or self._stalled:
            client = self.client  # (made now, or StoreUnavailable at once while Redis is stalled)
        sha = self._sha(source)
        try:
            return client.evalsha(sha, 1, key, *args)
        except self._no_script:
            client.script_load(source)  # (on a Cluster, every master: the one of the key's slot among them)
            return client.evalsha(sha, 1, key, *args)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except self._errors as error:
            raise self._unreachable(error) from None

    def _unreachable(self, error: Exception, what: str = 'the Redis session store is unavailable') -> StoreUnavailable:
        """The StoreUnavailable of ``error``, its text beginning with ``what`` and saying what to do."""
        text = _redis_error_text(error)
        if isinstance(error, self._auth_error):  # (its password changed on the server, say: it will not pass by itself)
            text += (' (Redis refused the credentials: fix the user name and password of session_store, '
                     'then restart the app)')
        elif isinstance(error, self._read_only_error) and not self._cluster:  # (a Cluster client finds its master)
            # A failover that keeps the old master as a replica (ElastiCache, a DNS name moved by hand): the pool's
            # connections stay open to it, and would refuse every write until the app restarts.
            self._drop_connections()
            text += (' (the server is a read-only replica now, as after a failover: its connections are dropped, '
                     'and the next request connects again to the server that the URL names now)')
        unavailable, said = StoreUnavailable('%s: %s' % (what, text)), 'the Redis session store is unavailable: ' + text
        self._say_what_failed(unavailable, error, text)
        if isinstance(error, self._read_only_error) or any(refusal in text for refusal in _REDIS_REFUSALS):
            self._refusing = said  # (what ``check`` says until a write of its own succeeds)
        if isinstance(error, self._timeout_error) and not self._cluster:
            # One request a second waits out the timeout, not every one: threads (a sync worker's one) stay free.
            self._stalled, self._stalled_until = said, time.monotonic() + self._stall_window
        elif self._stalled:  # (Redis answered, if with an error, or refuses connections: which is quick)
            self._stalled = ''
        return unavailable

    def _say_what_failed(self, unavailable: StoreUnavailable, error: Exception, text: str) -> None:
        """Note on ``unavailable`` what ``error`` (its ``text``) tells of the write that failed: refused for want of
        memory (``full``), unanswered in time (``timed_out``: on a Cluster, by no node), or never sent
        (``unapplied``: redis-py's ``Error 111 connecting to ...``, raised as it connects, before it sends; no master
        found).  A Cluster none of whose nodes answered is never taken to have been sent nothing, whatever connection
        error its text quotes: redis-py says so of a command it sent too (a timeout, then a topology refresh that
        reached no node); nor is the failed command of a Cluster's pipeline (redis-py's note names it): redis-py sends
        again, one at a time, the commands whose connection failed once they were sent (whatever retries the client
        has), and the error of that second try, ``connecting to`` a node that died meanwhile, is what it raises."""
        unanswered = _REDIS_CLUSTER_UNANSWERED in text
        unavailable.full = _REDIS_FULL in text
        unavailable.timed_out = unanswered or isinstance(error, self._timeout_error)
        unavailable.unapplied = not unanswered and (isinstance(error, self._unapplied_errors) or (
            ' connecting to ' in text and not (self._cluster and _REDIS_PIPELINE_NOTE.match(str(error)))))

    def _drop_connections(self) -> None:
        """Close the pool's idle connections, the one that met READONLY among them (redis-py gave it back): the next
        command connects again (and looks the host name up again)."""
        try:
            pool = self._client.connection_pool
        except Exception:  # (a client of the app's own without a pool: it reconnects as it does)
            return
        # not those other threads are using: closed under a command in flight, one fails it with redis-py's
        # AttributeError (a 500); each meets READONLY in turn, and is given back and dropped then.  A pool whose
        # disconnect takes no argument (BlockingConnectionPool's, in some redis-py releases) closes them all.
        for arguments in ({'inuse_connections': False}, {}):
            try:
                pool.disconnect(**arguments)
            except TypeError:
                continue
            except Exception:
                pass
            return

    @staticmethod
    def _text(value: Any) -> Optional[str]:
        return value.decode('utf-8') if isinstance(value, bytes) else value

    def _user_set(self, user_key: str) -> str:
        return self.prefix + 'user:' + user_key

    def _replicated(self, replicas: Any) -> None:
        """With ``wait``: make sure that many replicas have the write, or raise StoreUnavailable; ``replicas`` is the
        answer of the WAIT that ``_wait_in`` put in the write's own pipeline."""
        if replicas is _RESENT or int(replicas or 0) < self.wait:
            self._count_replicas()  # (an install that found Redis down could not say why: known now)
            raise StoreUnavailable('the Redis session store saved the session but only %s of %d replica(s) '
                                   'confirmed it in time' % (replicas, self.wait))

    def _pipeline(self) -> Any:
        return self.client.pipeline(transaction=False)

    @staticmethod
    def _send(pipe: Any) -> List[Any]:
        """A pipeline's answers, Redis's errors raised as redis-py raises them (``_execute`` makes them a 503)."""
        return typing.cast(List[Any], pipe.execute())

    def _wait_in(self, pipe: Any, key: str) -> bool:
        """With ``wait``, add WAIT to a pipeline that writes ``key``, after the write; True if added.  WAIT counts the
        replicas that have the writes of the connection it goes on: a pipeline sends its commands on one connection
        (a Cluster's, those to one node: WAIT goes to the key's), where WAIT sent on its own may take another of the
        pool's connections, whose writes replicas may have confirmed long ago, and answer at once."""
        if not self.wait:
            return False
        if self._cluster:
            try:  # (a slot no node serves for now, as during a failover: a 503, as for the write itself)
                node = self.client.get_node_from_key(key)
            except self._errors as error:
                raise self._unreachable(error) from None
            pipe.execute_command(*self._wait_command, target_nodes=node)
        else:
            pipe.execute_command(*self._wait_command)
        return True

    def _confirmed(self, pipe: Any, key: str) -> List[Any]:
        """Send a pipeline that writes ``key``, with WAIT after the write where ``wait`` asks for it (``_wait_in``);
        the answers of the other commands, or StoreUnavailable (Redis down, or too few replicas confirmed)."""
        if not self._wait_in(pipe, key):
            return self._execute(pipe)
        results = self._sent_with_wait(pipe, self._execute)
        self._replicated(results.pop())
        return results

    def _sent_with_wait(self, pipe: Any, send: Callable[[Any], List[Any]]) -> List[Any]:
        """``send(pipe)``'s answers, for a pipeline whose last command is the WAIT of ``_wait_in``: WAIT's count made
        ``_RESENT`` (confirmed by no replica) where redis-py sent a command of it again on its own after the pipeline (a
        Cluster's MOVED or ASK redirect, as while the key's slot moves to another master; TRYAGAIN; a lost connection).
        It sends it alone, on another connection, to the node now named, whose replicas the WAIT never asked about:
        the WAIT answered at the old node for the writes of its own connection, not for this one.  Unconfirmed, it is a
        503, as a write too few replicas confirmed is (the write may well be saved on the new node all the same)."""
        if not self._cluster:
            return send(pipe)
        through = _resent_through(pipe)
        resend, resent = getattr(pipe, through), []

        def resend_noted(*args: Any, **kwargs: Any) -> Any:
            resent.append(args)
            return resend(*args, **kwargs)

        setattr(pipe, through, resend_noted)
        try:
            results = send(pipe)
        finally:
            setattr(pipe, through, resend)
        if resent:
            results[-1] = _RESENT
        return results

    def load(self, sid: str) -> Optional[str]:
        return self._text(self._call('get', self.prefix + sid))

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.create(sid, record, ttl, None)

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        key = self.prefix + sid
        pipe = self._pipeline()
        pipe.set(key, record, px=int(ttl * 1000) if ttl > 0 else None)
        if user_key is not None and not self._cluster:
            self._list_in_user_set(pipe, user_key, sid)
        results = self._confirmed(pipe, key)
        if user_key is None:
            return
        try:  # (the key is written: a failure from here on has something to undo, whatever it says of its command)
            if self._cluster:  # the key's node (and its replicas) confirmed it before the set lists the id (see
                pipe = self._pipeline()  # _list_in_user_set)
                self._list_in_user_set(pipe, user_key, sid)
                results = self._execute(pipe, key)
            self._tidy_user_set(user_key, results[-1])
        except StoreUnavailable as error:
            error.unapplied = False
            raise

    def _execute(self, pipe: Any, stored_apart: Optional[str] = None) -> List[Any]:
        """Send a pipeline; its answers, or StoreUnavailable.  ``stored_apart``: the session key a login stored
        on its own before this pipeline lists it in its user's set (a Cluster's), deleted if this fails: no set
        would list it, and no cookie names it, until it expired."""
        try:
            return typing.cast(List[Any], pipe.execute())
        except self._errors as error:
            if stored_apart is not None:
                try:
                    self.client.delete(stored_apart)
                except self._errors:  # (its node does not answer either: it expires unlisted)
                    pass
            raise self._unreachable(error) from None

    def _list_in_user_set(self, pipe: Any, user_key: str, sid: str) -> None:
        """Add the session to its user's set in ``pipe``, then read up to 16 of its members, at random
        (to tidy: a login costs the same however many sessions the user has).

        An id in a set whose session key is missing is taken for an ended session and taken out
        (here, in ``sessions_of`` and in ``tidy``), so the key must be there first.  One server
        runs a pipeline's commands in order; a Cluster sends the key and the set to their nodes at
        once, and either may land first: there ``create`` sends the key alone and waits for it (a
        round trip more per login).  Checking the key again before taking an id out would narrow
        that window, not close it: the key's write may still be on its way after the second look.
        """
        user_set = self._user_set(user_key)
        pipe.sadd(user_set, sid)
        if self.max_age:  # no session made before this one outlives this expiry
            pipe.pexpire(user_set, int(self.max_age * 1000))
        pipe.srandmember(user_set, _TIDY_SAMPLE)

    def _tidy_user_set(self, user_key: str, members: Iterable[Any]) -> None:
        """Take the ended sessions out of a user's set, given some of its members (when several)."""
        listed = [member.decode('utf-8') if isinstance(member, bytes) else member for member in members]
        if len(listed) > 1:
            self._live_members(user_key, listed)

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        """The compare-and-set of ``SessionStore.update``.  One that finds ``record`` itself there counts as done
        (``_holds_already``): with ``wait`` on a Cluster, redis-py resends each command of a pipeline whose
        connection dropped while WAIT blocked, the script that already ran among them, which then finds its
        own write.  One that writes the "ended" marker and finds it there gives ``(False, "ended")`` (another
        request may have ended the session), but with ``wait`` only once replicas confirm the marker, as
        ``_holds_already`` has them do (else StoreUnavailable): a logout whose write was resent is confirmed too.

        The "ended" marker, which a full Redis refuses, has the script delete the session instead, only if it still
        holds ``expected`` (``_REDIS_UPDATE``'s {2}): True and ``_UNMARKED``, so that a logout happens while Redis is
        full.  Its absence then works as a marker evicted would: a request that loaded the session before saves only
        over the record it read, finds nothing, and stores nothing.  The delete goes in the script, not after it, so
        that one ``WAIT``, in the same pipeline, confirms it: a WAIT after a refused write would wait for the
        connection's earlier writes, for nothing.  A delete resent that finds nothing there is not taken for done
        (``_holds_already`` is for a record found): a session gone is one that expired or another request ended."""
        key = self.prefix + sid
        ttl_ms = int(ttl * 1000) if ttl > 0 else 0
        args = (expected, record, ttl_ms, 1) if record == _ENDING else (expected, record, ttl_ms)
        try:
            result, replicas = self._run_and_wait(_REDIS_UPDATE, key, *args)
        except self._errors as error:
            raise self._unreachable(error) from None
        if result[0]:
            if result[0] == 2:  # (Redis is full: checks say so until it takes a write again, as after a refusal)
                self._refusing = 'the Redis session store is unavailable: ' + _redis_error_text(
                    Exception('OOM command not allowed when ' + _REDIS_FULL))
            if self.wait:
                self._replicated(replicas)
            return True, None if result[0] == 1 else _UNMARKED
        current = self._text(result[1]) if len(result) > 1 else None
        if current == record:
            return self._holds_already(key, record, ttl_ms)
        return False, current

    def _holds_already(self, key: str, record: str, ttl_ms: int) -> Tuple[bool, Optional[str]]:
        """For ``update``, whose compare-and-set failed finding ``record`` there, the very text it writes: the store
        holds what was asked, so the update is done, as ``(True, None)``.  This call's own write, as often as not:
        redis-py (7 and 8) resends on its own each command of a Cluster pipeline whose connection dropped while
        WAIT's answer was read, though canister asks for no retries, so the script that ran runs again and finds
        its write (a marker naming a new id only this request made, say); or another request's that wrote the same
        text.  Not the "ended" marker, which any request ending the session writes alike: that it is there says
        the session was ended, not by this call (``end_session`` counts the sessions it ended itself): there the
        answer is ``(False, "ended")``, but only once confirmed as below, since the marker may be this call's own.

        With ``wait``, no WAIT answered counts for that write: the resent WAIT went on a connection of its own,
        whose writes are not that one (it may answer at once while the replicas lag), and another request's write
        was on another connection.  So the record is written once more, over itself (the same compare-and-set,
        from ``record`` to ``record``: the same text and lifetime), with its WAIT in the same pipeline, which confirms
        both writes (replicas apply a master's writes in order), or raises StoreUnavailable as for any save too
        few replicas confirmed.  If the record changed meanwhile, its text is returned as for any failed update."""
        found = (False, record) if record == _ENDING else (True, None)
        if not self.wait:
            return found
        try:
            result, replicas = self._run_and_wait(_REDIS_UPDATE, key, record, record, ttl_ms)
        except self._errors as error:
            raise self._unreachable(error) from None
        if result[0] != 1:
            return False, self._text(result[1]) if len(result) > 1 else None
        self._replicated(replicas)
        return found

    def _run_and_wait(self, source: str, key: str, *args: Any) -> Tuple[Any, Any]:
        """The answer of the Lua script ``source`` run on ``key``, and with ``wait`` WAIT's count of replicas (else
        None): the bare ``EVALSHA`` and WAIT in one pipeline, one round trip on one connection (``_wait_in``); where
        the server lacks the script (``NOSCRIPT``), a ``SCRIPT LOAD`` and the pipeline once more, as ``run_script``
        does for a script alone (which is what goes without ``wait``).  The same on a Cluster, where the pipeline
        sends both to the key's node on one connection: the ``EVALSHA`` goes as a bare command, as redis-py before
        8 refuses the pipeline's ``evalsha`` method there (not the command itself)."""
        if not self.wait:
            return self.run_script(source, key, *args), None
        for attempt in (1, 2):
            pipe = self._pipeline()
            pipe.execute_command('EVALSHA', self._sha(source), 1, key, *args)
            self._wait_in(pipe, key)
            try:
                result, replicas = self._sent_with_wait(pipe, self._send)
                return result, replicas
            except self._no_script:
                if attempt == 2:
                    raise
                self.client.script_load(source)  # a server that restarted or just took over (a Cluster: every master)
        raise AssertionError('unreachable')

    def touch(self, sid: str, ttl: float) -> None:
        if ttl > 0:
            try:
                self.run_script(_REDIS_EXTEND, self.prefix + sid, int(ttl * 1000))
            except self._errors as error:
                raise self._unreachable(error) from None

    def load_and_touch(self, sid: str, ttl: float) -> Optional[str]:
        """Read a session and extend its life to ``ttl`` seconds, or to its own lifetime if it has one, in one
        round trip (``_REDIS_LOAD``): never shorter than it has left, so a remembered session keeps its length
        even when the request that read it never saves (a worker killed mid-request)."""
        try:
            return self._text(self.run_script(_REDIS_LOAD, self.prefix + sid, int(ttl * 1000)))
        except self._errors as error:
            raise self._unreachable(error) from None

    def delete(self, sid: str) -> bool:
        return bool(self._call('delete', self.prefix + sid))

    def sessions_of(self, user_key: str) -> List[Tuple[str, str, int]]:
        members = [member.decode('utf-8') if isinstance(member, bytes) else member
                   for member in self._call('smembers', self._user_set(user_key))]
        return self._live_members(user_key, members)

    def count_of(self, user_key: str) -> int:
        """No fewer than the sessions ``sessions_of`` gives: the size of the user's set (one ``SCARD``), which
        the cap per user reads before it lists them."""
        return int(self._call('scard', self._user_set(user_key)))

    def unlist(self, user_key: str, sids: List[str]) -> None:
        """Take ids out of the user's set now: sessions the cap per user has just ended, which would
        otherwise stay listed for their marker's minute and be read again at every login meanwhile."""
        self._call('srem', self._user_set(user_key), *sids)

    def _live_members(self, user_key: str, members: List[str]) -> List[Tuple[str, str, int]]:
        """The sessions of a user set that still live; the others are taken out of the set."""
        pipe = self._pipeline()
        for sid in members:
            pipe.get(self.prefix + sid)
            pipe.pttl(self.prefix + sid)
        values = self._execute(pipe)
        now, found, gone = _now_ms(), [], []
        for index, sid in enumerate(members):
            record, remaining = values[2 * index], values[2 * index + 1]
            if record is None:
                gone.append(sid)
            else:
                found.append((sid, self._text(record), now + remaining if remaining > 0 else 0))
        if gone:
            self._call('srem', self._user_set(user_key), *gone)
        return found  # type: ignore[return-value]

    def tidy(self, batch: int = _TIDY_BATCH) -> int:
        """Take the ids of ended sessions out of every user's set (a set left empty goes with its last
        id); return how many went.  SCAN walks the keys (on every master of a Cluster) while requests go on;
        ``batch``: how many keys each of its steps asks for, how many sets are read at once, and how many
        ids are looked up at once.  ``tidy_removed`` counts as it goes (what a tidy that failed had done)."""
        pattern = re.sub(r'([\\*?\[\]])', r'\\\1', self._user_set('')) + '*'  # (a prefix may hold * or ?)
        self.tidy_removed = self.tidy_skipped = 0
        try:
            user_sets = self.client.scan_iter(match=pattern, count=batch)
            while True:
                group = list(itertools.islice(user_sets, batch))
                if not group:
                    return self.tidy_removed
                self._tidy_sets(group, batch)
        except self._errors as error:
            raise self._unreachable(error) from None

    #: How many ids the last ``tidy`` took out, counted as it goes: a tidy that failed partway had taken
    #: out that many for good (those Redis confirmed: a batch it was sent may have gone too).
    tidy_removed = 0
    #: How many keys the last ``tidy`` found under the users' sets' prefix that are not sets (it left them alone).
    tidy_skipped = 0

    def _tidy_sets(self, user_sets: List[Any], batch: int) -> None:
        """Take the ids of ended sessions out of some users' sets, the small ones together (a few round
        trips for them all, not a few each): one SSCAN step of each in a pipeline, which gives a small set
        whole; a set that needs more steps is then tidied on its own."""
        pipe = self._pipeline()
        for user_set in user_sets:
            pipe.sscan(user_set, 0, count=batch)
        listed: List[Tuple[Any, Any]] = []
        for user_set, answer in zip(user_sets, pipe.execute(raise_on_error=False)):
            if isinstance(answer, Exception):
                if not str(answer).startswith('WRONGTYPE'):
                    raise answer
                self.tidy_skipped += 1  # not canister's (another app's key under the prefix): left alone
            elif int(answer[0]):  # a large set: all of it, from the start, ``batch`` ids at a time
                members = self.client.sscan_iter(user_set, count=batch)
                while True:
                    chunk = [(user_set, sid) for sid in itertools.islice(members, batch)]
                    if not chunk:
                        break
                    self._remove_ended(chunk, batch)
            else:
                listed.extend((user_set, sid) for sid in answer[1])
        self._remove_ended(listed, batch)

    def _remove_ended(self, listed: List[Tuple[Any, Any]], batch: int) -> None:
        """Take each ``(set, id)`` whose session has no key out of its set, looking ``batch`` ids up at a time.
        A session replaced by its marker still has a key: its id goes at a later tidy."""
        ended: Dict[Any, List[Any]] = {}
        for start in range(0, len(listed), batch):
            chunk = listed[start:start + batch]
            pipe = self._pipeline()
            for _, sid in chunk:
                pipe.exists(self.prefix + typing.cast(str, self._text(sid)))
            for (user_set, sid), found in zip(chunk, self._execute(pipe)):
                if not found:
                    ended.setdefault(user_set, []).append(sid)
        if ended:
            pipe = self._pipeline()
            for user_set, sids in ended.items():
                pipe.srem(user_set, *sids)
            self.tidy_removed += sum(int(count) for count in self._execute(pipe))

    def check(self) -> Optional[str]:
        """None if Redis answers; what is wrong if it cannot be reached, or refuses writes (``_try_write``).
        Credentials or a database number it refuses, and a URL of the wrong kind (one server, or a Cluster), are a
        ConfigError: they would fail every request, or most, not only until Redis is back.  The first check Redis
        answers (at install, or the first after an install that found it down) also loads the update script, looks
        at the kind of server and at its ``maxmemory-policy``, and counts the replicas; each later one
        (``store_problem()``, a readiness probe) is a PING, and a SET of a key of its own while a write of this
        process was refused (``_refusing``)."""
        try:
            client = self.client
            client.ping()
            if not self._checked:
                self._load_scripts(client)
                self._check_mode(client)
                self._check_eviction(client)
            self._try_write(client)
        except StoreUnavailable as error:
            if 'Cluster mode is not enabled' in str(error):  # (a plain server named in a redis+cluster:// URL)
                raise ConfigError('canister.session_store: %s (the URL is a Cluster URL, redis+cluster://, and the '
                                  'server is not a node of a Redis Cluster: use redis://host:port/db for a single '
                                  'server)' % error) from None
            return str(error)
        except self._errors as error:
            text = _redis_error_text(error)
            if "unknown command 'SENTINEL'" in text:  # (a Redis server named where a Sentinel URL wants sentinels)
                raise ConfigError('canister.session_store: %s (the URL is a Sentinel URL, redis+sentinel://, and an '
                                  'address it lists is a Redis server, not a sentinel: list the sentinels (port 26379 '
                                  'by default), or use redis://host:port/db for a single server)' % text) from None
            if isinstance(error, self._auth_error) or text.startswith(('WRONGPASS', 'NOAUTH', 'NOPERM')):
                raise ConfigError('canister.session_store: Redis refused the credentials: %s (check the user '
                                  'name and password of the URL, or of the client given as store)' % text) from None
            if 'DB index is out of range' in text:  # (it would fail every request too: Redis has no such database)
                raise ConfigError('canister.session_store: Redis refused the database number: %s (a Redis server '
                                  'has databases 0 to 15 unless its databases setting gives more)' % text) from None
            return str(self._unreachable(error))  # (the words of the 503's ERROR line: one text for one outage)
        if not self._checked:
            self._count_replicas()
            self._checked = self._replicas_counted  # (else the next check asks again)
        return None

    def _try_write(self, client: Any) -> None:
        """After a write of this process was refused, write a key of its own (for a second): a full or read-only
        Redis answers a PING, and only a write tells when it takes writes again (raises while it does not)."""
        if self._refusing:
            client.set(self.prefix + _REDIS_PROBE, '1', px=1000)
            self._refusing = ''

    #: A check found Redis answering and the URL of the right kind: later checks only PING.
    _checked = False
    #: Why Redis refused a write of this process (read-only, full, ``MISCONF``): each check then writes a key of its
    #: own and says this until Redis takes it ('' when no write was refused, or a check's write succeeded since).
    _refusing = ''

    def _load_scripts(self, client: Any) -> None:
        """Load the read and update scripts (on every master of a Cluster), so that their first use is one round
        trip too; one server takes both in one pipeline."""
        if self._cluster:
            for source in (_REDIS_LOAD, _REDIS_UPDATE):
                client.script_load(source)
            return
        pipe = client.pipeline(transaction=False)
        for source in (_REDIS_LOAD, _REDIS_UPDATE):
            pipe.script_load(source)
        pipe.execute()

    def _check_mode(self, client: Any) -> None:
        """ConfigError if a URL for one server (``redis://``) names a node of a Redis Cluster: the node
        answers only for the keys of its own slots, so most sessions would answer 503 (``MOVED``)."""
        if self._cluster:
            return
        try:
            enabled = int(client.info('cluster').get('cluster_enabled', 0))
        except self._errors:  # (INFO not allowed by an ACL: nothing to tell)
            return
        if enabled:
            raise ConfigError('canister.session_store: the server is a node of a Redis Cluster, which answers only '
                              'for its own slots (most sessions would answer 503): use redis+cluster://host:port,... '
                              'to name the Cluster')

    #: What the install says when Redis may evict keys canister needs (``_check_eviction``); None if it may not.
    eviction_note: Optional[str] = None

    def _check_eviction(self, client: Any) -> None:
        """Set ``eviction_note`` when Redis has a ``maxmemory`` and a ``maxmemory-policy`` other than
        ``noeviction``: once full it evicts keys canister needs, not only sessions; on a Cluster, that of any master
        (redis-py asks one node at random unless told).  Nothing where ``CONFIG`` is refused (managed Redis renames
        it, an ACL may deny it)."""
        try:
            if self._cluster:
                answer = client.config_get('maxmemory*', target_nodes=client.PRIMARIES)
            else:
                answer = client.config_get('maxmemory*')
        except self._response_error:
            return
        answers = [answer] if 'maxmemory-policy' in answer else list(answer.values())  # (a Cluster's: by node)
        for found in answers:
            policy, limit = found.get('maxmemory-policy'), found.get('maxmemory')
            if policy and policy != 'noeviction' and limit not in (None, '0', 0):
                self.eviction_note = _eviction_note(policy, limit, policy.startswith('allkeys-') or bool(self.max_age))
                return

    #: What the install says when a master has fewer replicas than ``wait`` (set by ``_count_replicas``).
    wait_note: Optional[str] = None
    #: The replicas were counted (``wait_note`` is what they say).
    _replicas_counted = False

    def _count_replicas(self) -> None:
        """Set ``wait_note``, once: at the first check Redis answers, or at the first save that too few
        replicas confirmed if that comes first (an install that found Redis down, no probe since)."""
        if self._replicas_counted:
            return
        try:
            self.wait_note = self._replicas_short()
        except self._errors:  # (Redis stopped answering between the PING and INFO: counted at the next chance)
            return
        self._replicas_counted = True

    def _replicas_short(self) -> Optional[str]:
        """With ``wait``: what is wrong if a master has fewer replicas connected than ``wait`` (every
        save would answer 503); None when each has enough, or INFO is not allowed (an ACL)."""
        if not self.wait:
            return None
        try:
            if self._cluster:
                answers = self.client.info('replication', target_nodes=self.client.PRIMARIES)
                infos = [answers] if 'role' in answers else list(answers.values())
            else:
                infos = [self.client.info('replication')]
        except self._response_error:  # (INFO not allowed by an ACL: nothing to tell; Redis down: raised)
            return None
        fewest = min(int(info.get('connected_slaves', 0)) for info in infos)
        if fewest >= self.wait:
            return None
        setting, name = (('canister.session_redis_wait = %d' % self.wait, 'session_redis_wait')
                         if self._wait_from_config else ('RedisStore(wait=%d)' % self.wait, "RedisStore's wait"))
        return ('%s, but %s has %d replica(s) connected: every save answers 503 (the session is saved, but not '
                'confirmed by %d replica(s)) until enough replicas connect; set %s to at most the replicas each '
                'master keeps' % (setting, 'a master' if self._cluster else 'the master', fewest, self.wait, name))

    def close(self) -> None:
        """Close the client's connections, those to the sentinels too (the client's ``close`` leaves
        them open: a socket per sentinel asked, for as long as the store object lives)."""
        if self._client is not None:
            self._client.close()
            manager = getattr(getattr(self._client, 'connection_pool', None), 'sentinel_manager', None)
            for sentinel in getattr(manager, 'sentinels', ()):
                sentinel.close()


def _sqlite_path(url: str) -> str:
    """The file a ``sqlite:///`` URL names: its path, percent-decoded as in any URL.

    A query string or a fragment would otherwise become part of the file's name: canister
    takes no options there (nor a SQLite URI filename's), so both are refused.
    """
    text = url[len('sqlite:///'):]
    if _names_memory(urllib.parse.unquote(text)):
        raise ConfigError(_MEMORY_REFUSED % url)
    if '?' in text or '#' in text:
        raise ConfigError('canister.session_store = %r: a sqlite:/// URL names a file and takes no options '
                          '(no ?... or #...); a file whose name holds ? or # is written %%3F or %%23' % url)
    try:
        path = urllib.parse.unquote(text, errors='strict')
    except UnicodeDecodeError:
        raise ConfigError('canister.session_store = %r: its %%-escapes are not UTF-8' % url) from None
    if not path:
        raise ConfigError('canister.session_store = %r names no file' % url)
    return path


def open_store(url: str, max_sessions: int = 100000, redis_prefix: str = 'canister:session:',
               redis_wait: int = 0, max_age: float = 0, redis_timeout: float = 1.0) -> SessionStore:
    """Make the store a ``session_store`` URL names."""
    if url == 'memory':
        return MemoryStore(max_sessions)
    if url.startswith('sqlite:///'):
        return SQLiteStore(_sqlite_path(url))
    if url.startswith(('redis://', 'rediss://', 'unix://', 'redis+', 'rediss+')):
        store = RedisStore(url, prefix=redis_prefix, timeout=redis_timeout, wait=redis_wait, max_age=max_age)
        store._wait_from_config = True
        return store
    raise ConfigError('canister.session_store = %r is not valid: expected memory, sqlite:///file.db, '
                      'sqlite:////absolute/file.db, redis://host:port/db, rediss://..., '
                      'redis+sentinel://host:port,.../service/db or redis+cluster://host:port,...'
                      % _mask_url_value(url))


#: The keys that only a store ``session_store`` names with a Redis URL reads (``open_store``).
_REDIS_STORE_KEYS = ('session_redis_prefix', 'session_redis_wait', 'session_redis_timeout')


def _configured_store(config: Config) -> SessionStore:
    """Make the store a config's ``session_store`` names, with the settings of that store."""
    return open_store(config['session_store'], config['session_max'], config['session_redis_prefix'],
                      config['session_redis_wait'], config['session_max_age'], config['session_redis_timeout'])


###############################################################################
# Sessions ####################################################################
###############################################################################

_SID = re.compile(r'[A-Za-z0-9_-]{43,128}')


def _is_someone(user: Any) -> bool:
    return user is not None and user != ''


#: The most pages' origins a session manager tells of a session cookie their browser will not keep
#: (``SessionManager.note_cross_site``): any client can send an ``Origin``, so the set is bounded.
_CROSS_SITE_TOLD_MAX = 64
#: The origins of pages told so, in this process (each once); not attributes of the session manager, whose
#: attributes every request reads: more of them would make each of those reads slower.
_CROSS_SITE_TOLD = _OncePerKey(_CROSS_SITE_TOLD_MAX)
#: An IPv4 address, whose site is the whole address (not its last two numbers).
_IPV4 = re.compile(r'[0-9.]+')


def _site_of(origin: str) -> str:
    """The site of an origin as canister guesses it, without the Public Suffix List: its scheme and the last two
    labels of its host name (``https://example.com`` for ``https://api.example.com:8443``), or its whole IP address
    or one-label name (``http://127.0.0.1``, ``http://localhost``); the port never counts.  Under a suffix of two
    labels (``co.uk``) two sites look like one: then it tells too little, never too much."""
    scheme, _, host = _normal_origin(origin).partition('://')
    host = _port_split(host.rpartition('@')[2])[0].rstrip('.')
    if host.startswith('['):  # an IPv6 address
        return scheme + '://' + host
    if not _IPV4.fullmatch(host):
        host = '.'.join(host.split('.')[-2:])
    return scheme + '://' + host


#: ``Sec-Fetch-Dest`` of a top-level navigation (empty: a browser that sends none).
_TOP_LEVEL = frozenset(('document', ''))


def _is_page_origin(origin: str) -> bool:
    """True for an ``Origin`` a page of a site sends, ``http(s)://host[:port]``, whose call is worth telling of (and
    counting toward ``_CROSS_SITE_TOLD_MAX``): not junk any client can send (``x``, an empty one, ``http://%``), nor
    ``null`` (a page opened from a file, a sandboxed frame: no site to open the app under, nor to list in cors)."""
    return _ORIGIN.fullmatch(origin.strip()) is not None and '*' not in origin


def _is_cross_site_call(environ: Mapping[str, Any], origin: str, own_origin: str) -> bool:
    """True if a browser keeps no ``SameSite=Lax`` or ``Strict`` cookie the answer to this request sets: one that a
    page of another site sent, but a top-level navigation (a link, a form), whose answer's cookie the browser keeps.
    The browser's ``Sec-Fetch-Site`` says it (``cross-site``); without it (plain HTTP to a host that is not loopback,
    older browsers), the site of ``origin`` and the app's own (``own_origin``) differ (``_site_of``)."""
    site = environ.get('HTTP_SEC_FETCH_SITE')
    if site is None:
        return _site_of(origin) != _site_of(own_origin)
    if site.strip().lower() != 'cross-site':
        return False
    return not (environ.get('HTTP_SEC_FETCH_MODE', '').strip().lower() == 'navigate'
                and environ.get('HTTP_SEC_FETCH_DEST', '').strip().lower() in _TOP_LEVEL)


#: Decoded records kept by a session manager (each of at most ``_PARSED_LONGEST`` characters).
_PARSED_MAX = 1024
#: The longest record (characters) kept decoded: the cache holds the text and its values, so without a
#: bound 1,024 sessions of a megabyte each (a draft or a cart an app keeps there) would stay in each
#: process, on a SQLite or Redis store too.  A longer record is decoded at each request, as before the cache.
_PARSED_LONGEST = 8192
#: How often a save is tried again when other requests keep changing the same session.
_UPDATE_TRIES = 10
#: How long a move of a session waits, at most, for another request's move of it that is under way (its note in
#: the old id's record, ``_MOVING``) before it moves the session all the same (``SessionState._other_move_done``).
_MOVE_WAIT = 1.0
#: For how long (s) a login's cap per user spares a session of that person made after its own: a
#: login at the same time, which ends the older of the two itself (``SessionManager._beyond_cap``).
_PARALLEL_LOGIN = 1.0
#: A login past the cap per user ends a ``1/_CAP_ROOM`` of the cap more than it must (none under 10): listing
#: a user's sessions costs as many reads as the cap, so the logins of one account at the cap list them once
#: per tenth of the cap, not at every login (one client sending Basic credentials without a cookie logs in
#: at each request).  Only sessions not used since their login go so (``_UNUSED_SINCE_LOGIN``).
_CAP_ROOM = 10
#: A session last used within this many seconds of its creation was not used after the request that made
#: it: those a cookieless client leaves at each login, which the cap's room may end.  A browser in use (one
#: of a kiosk's on a shared account) is ended only to keep the user within the cap, never for the room.
_UNUSED_SINCE_LOGIN = 1.0
#: How many moves (logins, regenerates) a change follows from the id it loaded the session under.
_FOLLOW_HOPS = 3
#: What ``SessionState._store`` says when this request's changes went where a parallel request
#: moved the session: nothing more to do (no cookie: that id is never sent to this request's client).
_FOLLOWED = '"followed"'
#: What ``SessionState._store`` and ``_extend`` say when the store holds nothing at all under the
#: session's id, neither its record nor a marker: it expired, or was ended or moved longer ago than a
#: marker lives (``_MOVED_TTL``), or the store lost it (a Redis restarted without persistence).  Which
#: one cannot be told, so the answer leaves the cookie alone: the browser may hold a newer id by now.
_ABSENT = '"absent"'
#: What ``SessionState._store`` returns when it stored nothing (see ``_stored_otherwise``).
_NOT_STORED = (_ENDING, _MOVED, _FOLLOWED, _ABSENT)
#: The key under which the store keeps, for ``_MOVED_TTL``, when ``end_sessions`` last ended a person's
#: sessions (``"ended:<seconds since the epoch>"``, a marker to every reader; no session id has a colon):
#: a login made before then and stored after, which the listing could not see, ends its own session.
_ENDS_AT = 'ended:%s'

#: The headers of a response built from a session, when it has neither already.
_PRIVATE = (('Vary', 'Cookie'), ('Cache-Control', 'private'))
#: Their names as Bottle writes them, and in lower case (any other spelling is also found, more slowly).
_CACHING_HEADERS = frozenset(('Vary', 'Cache-Control', 'vary', 'cache-control'))


#: What a request changed in its session since it loaded it (``SessionState._changes``): keys
#: set, keys deleted, whether the user changed, whether the lifetime did.
_Changes = Tuple[Dict[str, Any], List[str], bool, bool]


def _one_per_move(listed: List[Tuple[str, _Record, int]],
                  keep: Optional[str] = None) -> Tuple[List[Tuple[str, _Record, int]], Dict[str, str]]:
    """A user's sessions as listed (sid, record, expiry), with each session that a move has under two listed
    ids (the old id's record notes the new one, ``_MOVING``, until it is marked) there once, under its new id
    (its old one if that is ``keep``, the caller's); and the id left out for each id kept of such a pair."""
    moves = _moves_within(listed)
    if not moves:  # (the usual listing: no move under way)
        return listed, {}
    pairs = {new: old for old, new in moves.items()}
    if keep in moves:
        pairs[keep] = pairs.pop(moves[keep])
    left_out = set(pairs.values())
    return [entry for entry in listed if entry[0] not in left_out], pairs


def _moves_within(listed: List[Tuple[str, _Record, int]]) -> Dict[str, str]:
    """The moves under way among a user's sessions as listed: each old id whose record notes (``_MOVING``) a
    new id that is listed too, and that id."""
    ids = {sid for sid, _, _ in listed}
    return {sid: record.moving for sid, record, _ in listed if record.moving in ids and record.moving != sid}


def _with_halves(sids: List[str], halves: Dict[str, str]) -> List[Tuple[str, ...]]:
    """The ids of each session of ``sids``: the old id first, then the new one, for a session a move has
    under two (``halves``, as ``_one_per_move`` gives them); else its one id."""
    return [(halves[sid], sid) if sid in halves else (sid,) for sid in sids]


def _may_follow(current: Any, loaded: Optional[str], hops: int) -> bool:
    """Whether a change to a session loaded as ``loaded``'s (a user key; None: anonymous) may be
    applied to ``current``, what the id ``hops`` moves on holds: a live session of the same person,
    or, one move on from an anonymous session, of whoever logged in there.

    A login keeps an anonymous session's data, so a cart item added in parallel with the login
    must survive it too.  Someone holding an anonymous id they fixated gains nothing new by it:
    what they wrote before the login was carried into the new session anyway.  Only one move
    on, since markers do not say whose each step was: after two, the session may have gone from
    the person who logged in to another one, whose login started it without the old data."""
    if current is None or _marker(current) is not None:
        return False
    person = _record_user_key(current)
    return person == loaded or (loaded is None and hops == 1)


def _stop_of(marker: Any) -> str:
    """What a request that finds ``marker`` where its session was is told: ``_MOVED`` for a move, else ``_ENDING``."""
    return _MOVED if _moved_to(marker) is not None else _ENDING


def _pause_after_collision(attempt: int, started: float) -> None:
    """Sleep at random up to 2**attempt times the failed try's length (at least 1 ms), so that
    requests colliding on one session spread out over a slow store as over a fast one."""
    time.sleep(random.random() * max(time.monotonic() - started, 0.001) * 2 ** min(attempt, 5))


def _is_flat(data: Dict[str, Any]) -> bool:
    """True if every key is text and every value a JSON scalar (the decoded cache keeps only such data)."""
    for key, value in data.items():
        if type(key) is not str or type(value) not in _SCALARS:
            return False
    return True


class _Parsed(typing.NamedTuple):
    """A record recently saved or read, kept decoded (see ``SessionManager.parsed``)."""

    #: The record's text as stored: the cache entry holds only while the store holds this same text.
    record: str
    #: ``_Record.data``, never handed out: a request gets a copy of it.
    data: Dict[str, Any]
    #: ``_Record.user``.
    user: Any
    #: ``_Record.created_ms``.
    created_ms: int
    #: ``_Record.user_expires``.
    user_expires: int
    #: ``_Record.lifetime``.
    lifetime: int
    #: ``_Record.line``.
    line: Optional[str]
    #: The record's text after the data.
    tail: str


#: ``_new_parsed(_Parsed, values)`` makes a ``_Parsed`` without the Python-level ``__new__`` a
#: NamedTuple call goes through (this runs on every save).
_new_parsed = tuple.__new__


def _private_directives(values: Iterable[str]) -> List[str]:
    """The directives of ``Cache-Control`` values without ``public``, and with ``private`` first
    unless ``private`` or ``no-store`` is among them."""
    kept = [part.strip() for value in values for part in value.split(',')]
    kept = [part for part in kept if part and part.lower() != 'public']
    if not any(part.lower().startswith(('private', 'no-store')) for part in kept):
        kept.insert(0, 'private')
    return kept


def _make_private(headers: Headers) -> None:
    """Turn a handler's ``Cache-Control`` (if any) private: a response that sets a cookie is
    never cached for others (``no-store`` and ``private`` stay as they are, ``public`` goes).
    Every ``Cache-Control`` header counts: several are one list of directives, made one header."""
    found = [index for index, (name, _) in enumerate(headers) if name.lower() == 'cache-control']
    if not found:
        return
    kept = _private_directives(headers[index][1] for index in found)
    headers[found[0]] = (headers[found[0]][0], ', '.join(kept))
    for index in reversed(found[1:]):
        del headers[index]


def _count_ended(listed: List[Tuple[str, _Record, int]], done: Set[str]) -> int:
    """How many sessions of ``listed`` the ids ``done`` ended, a session that a move has under two listed ids
    (``_one_per_move``) counted once."""
    return len(done) - sum(1 for new, old in _one_per_move(listed)[1].items() if new in done and old in done)


def _line_spared(line: Optional[str], spare: Optional[str], tag: Optional[str]) -> bool:
    """Whether ending a user's sessions leaves alone one logged in with the login line ``line``: the line
    ``spare``, or one that a users file other than that of ``tag`` gave (a session without a line never)."""
    return line is not None and (line == spare or (tag is not None and not line.startswith(tag)))


#: What canister 1.x's table of sessions (``plugin.sessions``) had, and what to use instead: the AttributeError says.
_SESSIONS_1X_NOTE = (
    "plugin.sessions is no longer canister 1.x's table of sessions: use session in a handler (session.data, "
    'session.user, session.invalidate()), and the plugin\'s sessions_of(user) and end_sessions(user) from a script')


class SessionManager:
    """Session policy (cookie, expiry, rotation, concurrent saves) on top of a store."""

    #: Whether a new session cookie that goes to a page of another site is told of (``note_cross_site``): False
    #: only for ``SameSite=None``, set at install (a class default: one attribute more on each manager would
    #: make every request's reads of its attributes slower).
    tells_cross_site = True

    if not typing.TYPE_CHECKING:  # (seen by mypy, they would be valid attributes)
        #: canister 1.x's table of sessions: reading one says what to use instead.
        get, set, delete = _Gone(_SESSIONS_1X_NOTE), _Gone(_SESSIONS_1X_NOTE), _Gone(_SESSIONS_1X_NOTE)
        __dir__ = _dir_without_gone

    def __init__(self, config: Config, store: Optional[SessionStore], log: RequestLog) -> None:
        #: The app's log.
        self.log = log
        #: Where the sessions are kept: the one given, else the configured ``session_store``.
        self.store = store if store is not None else _configured_store(config)
        #: What the install should say about this store (the plugin logs and shows them).
        self.warnings: List[str] = []
        if store is not None and config['session_store'] != 'memory':
            self.warnings.append('canister.session_store = %s is not used: the store given as Canister(store=...) is'
                                 % _mask_url_value(config['session_store']))
        self.warnings.extend(self._unused_redis_keys(config, given=store is not None))
        version_note = getattr(self.store, 'version_note', None)  # (RedisStore's)
        if isinstance(version_note, str):
            self.warnings.append(version_note)
        if isinstance(self.store, SQLiteStore):
            self.store.cleanup_failed = lambda message: log.write(logging.WARNING, '%s', message)
            self.store.extension_failed = self._warn_unextended
        self._adopt_store_methods()
        self._set_up_cookie(config)
        self._set_up_expiry(config)
        #: ``session_max_per_user``, or 0 for a store that cannot list a user's sessions (no ``sessions_of``).
        self.max_per_user = config['session_max_per_user'] if self._lists_users() else 0
        if isinstance(self.store, MemoryStore) and 0 < self.store.max_sessions <= self.max_per_user:
            self.warnings.append(self._cap_note(self.store.max_sessions, given=store is not None))
        #: sid -> the decoded values of records recently saved or read, all immutable (a flat
        #: data object, a scalar user): a request whose record is unchanged since takes a copy
        #: of the data instead of decoding it.
        self.parsed: Dict[str, _Parsed] = {}
        #: Whether a session of a users-file login (its user, its login line) is to end now, by the users
        #: file that logged it in (set at install: Basic's ``is_stale_login`` where the app has a users file,
        #: else ``_is_stale_login``, which finds the file of a mounted app's canister; None before).
        self.is_stale_login: Optional[Callable[[Any, str], bool]] = None

    def _cap_note(self, bound: int, given: bool) -> str:
        """Why a cap per user of at least the memory store's bound protects nobody, and what to set: the
        bound of a store ``given`` as ``Canister(store=...)`` is its own, which ``session_max`` does not set."""
        harm = ('one user logging in again and again can fill the store, which then evicts the sessions of '
                'everyone else')
        if given:
            return ('canister.session_max_per_user = %d is not below max_sessions = %d of the MemoryStore given as '
                    'Canister(store=...), the most sessions it keeps: %s; set session_max_per_user well below %d '
                    '(say %d), or make the store with a larger bound, MemoryStore(max_sessions=...) (session_max '
                    'does not change it)' % (self.max_per_user, bound, harm, bound, max(bound // 10, 1)))
        return ('canister.session_max_per_user = %d is not below session_max = %d, the most sessions the memory '
                'store keeps: %s; set session_max_per_user well below session_max (say %d), or raise session_max'
                % (self.max_per_user, bound, harm, max(bound // 10, 1)))

    def _set_up_cookie(self, config: Config) -> None:
        """Check the cookie's name against its settings; make its attributes and the patterns that find it."""
        self.cookie_name = config['session_cookie']
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", self.cookie_name):
            raise ConfigError('canister.session_cookie = %r is not a valid cookie name' % self.cookie_name)
        self.always_secure = (config['session_secure'] or config['session_samesite'] == 'None'
                              or config['session_partitioned'])
        # (__Host-Http- starts with __Host-; Path=/ and no Domain, which __Host- needs too, it always has,
        # and HttpOnly, which __Http- needs too)
        prefix = re.match(r'(?i)__(host|secure|http)-', self.cookie_name)
        if prefix and not self.always_secure:
            raise ConfigError('canister.session_cookie = %r needs canister.session_secure = true: browsers drop a '
                              'cookie named %s... that comes without Secure' % (self.cookie_name, prefix.group(0)))
        #: The attributes of every Set-Cookie of the session, the one that expires it included: a
        #: browser takes the removal of a partitioned cookie only as Partitioned, and, in a response to
        #: another site's page, only with SameSite=None (without it, the browser reads Lax, and refuses).
        self._same_cookie = '; Path=/; HttpOnly; SameSite=%s%s' % (
            config['session_samesite'], '; Partitioned' if config['session_partitioned'] else '')
        attributes = self._same_cookie
        if config['session_samesite'] == 'None':  # (a cookie every site's page keeps: nothing to tell)
            self.tells_cross_site = False
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
        #: Every cookie of that name, whatever its value (``note_unknown_among_several``).
        self._all_named = re.compile(r'(?:^|;)\s*%s' % re.escape(self._cookie_prefix)).findall

    def _set_up_expiry(self, config: Config) -> None:
        """Take the expiry rules, and how a session is loaded under them."""
        self.timeout = max(config['session_timeout'], 0)
        self.max_age = config['session_max_age']
        #: A store that can read a session and extend its life in one step (``load_and_touch``,
        #: Redis's read script) does so at every load while the expiry is the sliding timeout alone:
        #: a request that leaves its session unchanged then needs no separate touch.
        load_and_touch: Any = getattr(self.store, 'load_and_touch', None)
        self.touches_on_load = callable(load_and_touch) and self.timeout > 0 and not self.max_age
        self.load_record: Callable[[str], Any] = (functools.partial(load_and_touch, ttl=self.timeout)
                                                  if self.touches_on_load else self.store.load)
        #: Whether that read may have cut a remembered session to the timeout, so that a request which stores
        #: nothing must give it its own length back (not on a store whose read keeps it: Redis's).
        self.load_cuts_lifetime = self.touches_on_load and not getattr(self.store, 'keeps_lifetime_on_load', False)

    def _unused_redis_keys(self, config: Config, given: bool) -> List[str]:
        """The install's note of the ``session_redis_*`` keys set for a store that reads none of them: a store
        given as ``Canister(store=...)`` (``given``), or one no Redis URL named."""
        unused = [key for key in _REDIS_STORE_KEYS if config[key] != KEYS[key].default]
        if not unused or not (given or not isinstance(self.store, RedisStore)):
            return []
        return ['canister.%s %s set without a Redis session_store URL: %s no effect (%s)' % (
            ' and '.join(unused), 'is' if len(unused) == 1 else 'are', 'it has' if len(unused) == 1 else 'they have',
            'a store given as Canister(store=...) reads nothing of the config: give it to canister.RedisStore as '
            'prefix=, wait= or timeout=' if given else 'the store is %s' % type(self.store).__name__)]

    def cookie_sid(self, header: str) -> Optional[str]:
        """The well-formed session id the Cookie header carries, if any."""
        if self._lone_cookie(header) is not None:
            return header[self._prefix_length:]
        if self._cookie_prefix not in header:
            return None
        match = self._cookie_value(header)
        return match.group(1) if match else None

    def note_unknown_among_several(self, header: str) -> None:
        """Log it when the id the request's Cookie header gave (``cookie_sid``), which names no session, came
        with other cookies of the session's name: the request is anonymous though it may carry the user's own
        session, since another site of the domain (cookie tossing) or a narrower path set one that goes first."""
        count = len(self._all_named(header))
        if count > 1:
            # Any client can send this: once a second at most, so that it cannot flood the log.
            words = ('cookies named %s, and the first well-formed one names no session: the request has none, the '
                     'others are never tried (another site of the domain or a narrower path set one; a __Host- name, '
                     'with session_secure = true, keeps other sites from setting it)' % self.cookie_name)
            self.log.write_repeated(logging.WARNING, 'Session: the request carries %d %s' % (count, words),
                                    like='Session: a request carries several ' + words)

    def remember(self, sid: str, record: str, data: Dict[str, Any], user: Any, created_ms: int,
                 expires: int, lifetime: int, line: Optional[str], tail: Optional[str] = None,
                 flat: Optional[bool] = None) -> Optional[str]:
        """Keep a record's values if decoding it gives back exactly them, all immutable (see
        ``parsed``) and the record is short enough (``_PARSED_LONGEST``); return its tail (found in the
        record when not given), or None if not kept.  ``flat``: whether ``_is_flat(data)``, when known."""
        if (type(user) not in _SCALARS or len(record) > _PARSED_LONGEST
                or not (_is_flat(data) if flat is None else flat)):
            return None
        if tail is None:  # a record read from the store: its tail, if canister's coder wrote it
            tail = _tail_of(record, data)
            if tail is None:
                return None
        parsed = self.parsed
        if len(parsed) >= _PARSED_MAX and sid not in parsed:
            try:
                del parsed[next(iter(parsed))]
            except (KeyError, RuntimeError, StopIteration):  # another thread changed it meanwhile
                pass
        parsed[sid] = _new_parsed(_Parsed, (record, data.copy(), user, created_ms, expires, lifetime, line, tail))
        return tail

    def _adopt_store_methods(self) -> None:
        """Check the store has the four required methods; take ``create`` and ``update`` from it, or
        the base class's (not atomic: a WARNING says so) for a store written without them."""
        store = self.store
        for method in ('load', 'save', 'touch', 'delete'):
            if not callable(getattr(store, method, None)):
                raise ConfigError('canister: the session store %r has no %s() method' % (store, method))
        self.create: Callable[..., None] = getattr(store, 'create', None) or functools.partial(
            SessionStore.create, store)
        self.update: Callable[..., Tuple[bool, Optional[str]]] = getattr(store, 'update', None) or \
            functools.partial(SessionStore.update, store)
        #: The store's optional ``count_of`` and ``unlist`` (see ``cap_sessions``), or None; taken once, as
        #: ``create`` and ``update`` are, not looked up at every login.
        count_of, unlist = getattr(store, 'count_of', None), getattr(store, 'unlist', None)
        self._count_of: Optional[Callable[[str], int]] = count_of if callable(count_of) else None
        self._unlist: Optional[Callable[[str, List[str]], None]] = unlist if callable(unlist) else None
        #: The store lists sessions by user: ``end_sessions`` notes when it ran, which a login under way
        #: reads when it stores its session (``ended_since``).
        self.notes_ends = self._lists_users()
        kind = type(store)
        #: ``create`` of the new id of a session a login or regenerate moves, told the id it moves from
        #: (the last argument): the memory store, which evicts as it creates, then never evicts that one.
        self.create_moved: Callable[..., None] = (store.create if getattr(kind, 'create', None) is MemoryStore.create
                                                  else self._create_moved)
        #: The store's ``update`` is its own (taken as atomic): a request that left its session unchanged
        #: extends its life with a compare-and-set of the record to itself rather than ``touch``.
        self.atomic_update = getattr(kind, 'update', SessionStore.update) is not SessionStore.update
        if not self.atomic_update:
            self.warnings.append(
                'The session store %s has no atomic update(): concurrent requests of one session may lose '
                'changes, and a request that overlaps a logout may bring the session back (see "Writing a store" '
                'in the README)' % kind.__name__)

    def _warn_unextended(self, sid: str, why: str) -> None:
        """The SQLite store served a session's read without extending its life, for want of room (``why``): every
        read of every session meets it while the disk is full, so the WARNING is written once a second at most."""
        words = ('Session: %s was read, but its life was not extended (the request is served; the session ends at '
                 'the expiry it had, unless a read once there is room extends it): %s')
        self.log.write_repeated(logging.WARNING, words % (sid[:6] + '...', why), like=words % ('a session', why))

    def _create_moved(self, sid: str, record: str, ttl: float, user_key: Optional[str], moved_from: str) -> None:
        """``create_moved`` for a store that evicts nothing as it creates."""
        self.create(sid, record, ttl, user_key)

    def find(self, sid: str) -> Optional[_Parsed]:
        """The live session ``sid`` as stored (decoded), or None: unknown, expired, moved or corrupt."""
        record = self.load_record(sid)
        if record is None:
            return None
        entry = self.parsed.get(sid)
        if entry is None or entry[0] != record:  # (the usual request finds the record it or another saved)
            entry = self.decoded(sid, record)
            if entry is None:
                return None
        if self.max_age and self.aged_out(entry[3]):
            return None
        return entry

    def aged_out(self, created_ms: int) -> bool:
        """Whether a session made at ``created_ms`` is past ``session_max_age`` now: no request finds it,
        though the store may hold it a while yet (the setting was lowered since it was stored)."""
        return self.max_age > 0 and created_ms + self.max_age * 1000 <= _now() * 1000

    def decoded(self, sid: str, record: Any) -> Optional[_Parsed]:
        """The values of the record just loaded for ``sid``, which ``parsed`` does not hold: decoded (and
        kept there if it can be); None for the moved marker or a corrupt record (logged).  The caller
        copies the data before changing it."""
        try:
            data, user, created_ms, expires, lifetime, line, _ = _read_record(record)
        except ValueError as error:
            if _marker(record) is None:  # (a marker is no record, but not corrupt: never in the cache)
                self.log.write(logging.WARNING, 'Ignoring a corrupt session record (%s)', error)
            return None
        tail = (self.remember(sid, record, data, user, created_ms, expires, lifetime, line)
                if type(record) is str else None)
        return _new_parsed(_Parsed, (record, data, user, created_ms, expires, lifetime, line, tail))

    def ttl(self, lifetime: int, created_ms: int) -> float:
        """Seconds a session may live from now, by both expiry rules (0: forever)."""
        ttl: float = lifetime or self.timeout
        if self.max_age:
            remaining = max(created_ms / 1000 + self.max_age - _now(), 0.001)
            ttl = min(ttl, remaining) if ttl > 0 else remaining
        return ttl

    def set_cookie(self, headers: Headers, sid: str, https: bool, expire: bool = False, max_age: float = 0,
                   request: Optional[SessionState] = None) -> None:
        """Add the session cookie; a response that sets it is never cached for others.  ``request``: the request
        a new id is sent to, whose page the log tells when its browser will not keep it (``note_cross_site``)."""
        if expire:
            cookie = self._cookie_prefix + self._same_cookie + '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
        elif max_age:
            cookie = self._cookie_prefix + sid + self._same_cookie + '; Max-Age=%d' % math.ceil(max_age)
        else:
            cookie = self._cookie_prefix + sid + self._attributes
        if https or self.always_secure:
            cookie += '; Secure'
        headers.append(('Set-Cookie', cookie))
        _make_private(headers)
        if request is not None and self.tells_cross_site and 'HTTP_ORIGIN' in request.environ:
            self.note_cross_site(request)

    def note_cross_site(self, request: SessionState) -> None:
        """Log a WARNING, once for each page's origin in this process, when the session cookie (``SameSite=Lax`` or ``Strict``)
        goes to a request that a page of another site sent by script (``fetch``, XMLHttpRequest): the browser
        neither keeps that cookie nor sends one back with that page's requests, so each comes without a session,
        and nothing else tells (``_is_cross_site_call``)."""
        origin = request.environ['HTTP_ORIGIN']
        if not _is_page_origin(origin):
            return
        own = request.own_origin()
        if not _is_cross_site_call(request.environ, origin, own):
            return
        if not _CROSS_SITE_TOLD.claim(_normal_origin(origin)):
            return
        shown = _shown_origin(origin)
        scheme, _, host = own.partition('://')
        page_port = _port_split(_normal_origin(origin).partition('://')[2])[1]
        same_host = '%s://%s%s' % (scheme, _port_split(host)[0], ':' + page_port if page_port else '')
        self.log.write(logging.WARNING,
                       'Session: the session cookie %s (SameSite=%s) goes to a call of a page of another site, %s '
                       '(this app is %s://%s): the browser neither keeps it nor sends it back with that page\'s '
                       'requests, so each of them comes without a session (a login answers 200, the next call is '
                       'anonymous). In development, open the page and the app under one host name (the page at '
                       '%s, or the app on the page\'s host: another port of one host is the same site); across sites '
                       '(in production, over HTTPS), set session_samesite = None with session_secure = true (and '
                       'session_partitioned = true for browsers that block third-party cookies) and list %s in cors '
                       'with cors_credentials = true: CSRF protection lets in the unsafe requests of the origins '
                       'cors lists, and refuses those of every other site (said once for this origin)',
                       self.cookie_name, self._same_cookie.partition('SameSite=')[2].partition(';')[0], shown,
                       _escape(scheme)[:10], _escape(host)[:100], _escape(same_host)[:120], shown)

    @staticmethod
    def mark_private(headers: Headers) -> None:
        """A response built from a session: ``Vary: Cookie``, and ``Cache-Control: private``
        unless the handler chose its own caching."""
        if _CACHING_HEADERS.isdisjoint(map(_header_name, headers)):  # the usual response: neither header yet
            headers += _PRIVATE
            return
        vary, cache_control = -1, False
        for index, (name, _) in enumerate(headers):
            lowered = name.lower()
            if lowered == 'vary':
                vary = index
            elif lowered == 'cache-control':
                cache_control = True
        if vary < 0:
            headers.append(('Vary', 'Cookie'))
        elif 'cookie' not in [part.strip().lower() for part in headers[vary][1].split(',')]:
            headers[vary] = (headers[vary][0], headers[vary][1] + ', Cookie')
        if not cache_control:
            headers.append(('Cache-Control', 'private'))

    # -- the sessions of a user ----------------------------------------------
    def _listed(self, user: Any) -> List[Tuple[str, _Record, int]]:
        key = _user_key(user)
        return [] if key is None else self._listed_under(key)

    def _listed_under(self, key: str) -> List[Tuple[str, _Record, int]]:
        """The live sessions of the person ``key`` (a user key, ``_user_key``): (sid, record, expiry in ms)."""
        store_sessions_of = getattr(self.store, 'sessions_of', None) or functools.partial(
            SessionStore.sessions_of, self.store)
        listed = store_sessions_of(key)
        before = _key_before(key)
        if before is not None:  # (a session stored by the version before, listed there, is this person's too)
            listed = itertools.chain(listed, store_sessions_of(before))
        found, seen = [], set()
        for sid, text, expires in listed:
            try:
                record = _read_record(text)
            except ValueError:
                continue
            # (the index may still list a session whose login lapsed; the key before, other people's too)
            if sid not in seen and _user_key(record.user) == key:
                seen.add(sid)
                found.append((sid, record, expires))
        return found

    def _live(self, listed: List[Tuple[str, _Record, int]]) -> List[Tuple[str, _Record, int]]:
        """Those of ``listed`` that a request could still load: not expired, nor past ``session_max_age``
        (``aged_out``).  Not for ``end_sessions``, which ends these too: a session that a higher
        ``session_max_age`` brought back later would otherwise have outlived its end."""
        now = _now() * 1000
        return [(sid, record, expires) for sid, record, expires in listed
                if not (expires and expires <= now) and not self.aged_out(record.created_ms)]

    def sessions_of(self, user: Any) -> List[Dict[str, Any]]:
        """The live sessions of a user, oldest first: when each was created and last used (None
        where the expiry rules do not tell), which one is the current request's, and whether each is remembered."""
        context = self._caller()
        replaced = context.old_sid if context is not None else None
        listed = [(sid, record, expires) for sid, record, expires in self._live(self._listed(user)) if sid != replaced]
        current = self._current_id(context, user, [sid for sid, _, _ in listed])
        listed, _ = _one_per_move(listed, current)
        sessions = [self._entry(record, expires, sid == current) for sid, record, expires in listed]
        if context is not None and current == context.sid and not any(entry['current'] for entry in sessions):
            sessions.extend(self._unstored(context, user))
        sessions.sort(key=lambda entry: entry['created'])
        return sessions

    def _current_id(self, context: Optional['SessionState'], user: Any, listed: List[str]) -> Optional[str]:
        """The id of the calling request's session (None: no request); where it is now (``_where_now``) when
        it was stored and ``user``'s as this request loaded it, and is no longer listed under that id though
        this request did not move it."""
        if context is None or context.sid is None or context.sid in listed or not context.exists or context.old_sid:
            return None if context is None else context.sid
        key = _user_key(context.user)
        return context.sid if key is None or key != _user_key(user) else self._where_now(context.sid, context)

    def _where_now(self, sid: str, context: 'SessionState') -> Optional[str]:
        """The id a session loaded as ``sid`` has now: ``sid`` while its record is there (a store whose list
        lags behind), where a parallel login or regenerate moved it (as far as a request's changes follow,
        ``_FOLLOW_HOPS``), or None when it was ended or is gone (nobody's session then, never current)."""
        record = self.store.load(sid)
        if record is not None and _marker(record) is None:
            return sid
        moved_to, _, _ = context._through_markers(sid, record, 0)
        return None if moved_to == sid else moved_to

    def _caller(self) -> Optional['SessionState']:
        """The session of the request calling, if it is one of this manager's: loaded now if
        it was not (the handler may ask before it reads the session)."""
        context = _local.context
        if context is None or context.manager is not self:
            return None
        context.load()
        return context

    def _entry(self, record: _Record, expires: int, current: bool) -> Dict[str, Any]:
        """What ``sessions_of`` tells of one stored session."""
        life = record.lifetime or self.timeout
        capped = self.max_age and expires >= record.created_ms + self.max_age * 1000 - 1
        last_used = (expires / 1000 - life) if expires and life > 0 and not capped else None
        return {'created': record.created_ms / 1000, 'last_used': last_used, 'current': current,
                'remembered': record.lifetime > 0}

    def _unstored(self, context: 'SessionState', user: Any) -> List[Dict[str, Any]]:
        """The entry of the calling request's session if it is ``user``'s and stored only when the
        response starts (a login in this request, a regenerate): it is that user's session too."""
        key = _user_key(user)
        if key is None or _user_key(context.user) != key or not (context.exists or context.keep_empty or context.data):
            return []
        now = _now()
        if not context.created_ms:  # (as the save would take it, in ms: the time told here is the one stored)
            context.created_ms = int(now * 1000)
        life = context.lifetime or self.timeout
        return [{'created': context.created_ms / 1000, 'last_used': now if life > 0 else None, 'current': True,
                 'remembered': context.lifetime > 0}]

    def end_session(self, sid: str, person: Optional[str], keep: Tuple[Optional[str], ...] = (),
            expected: Any = None, spare: Optional[str] = None, tag: Optional[str] = None) -> bool:
        """End the session ``sid`` (``expected``: its record, if known); True if it was live.
        ``spare``: a login line (``_Record.line``) whose session is left alone, found where the
        session is now (a login with the new password may have moved it, or given it that line).
        ``tag``: a users file's tag (``BasicAuth._file_tag``): a session that another file's line
        logged in is left alone too (a mounted app's own file's, whose users are not this file's).

        A request in flight may be moving it to a new id: the record is replaced by ``_ENDING``,
        only if unchanged, so that the move either finds it ended or has left its marker here,
        which names the new id; that one is ended too while it is ``person``'s.  The marker stays
        for its minute (``_MOVED_TTL``): a request that loaded the session before and saves in that
        time learns that it was ended, and its answer expires the cookie.  A session that other
        requests keep changing through every try gets the marker all the same (``_end_anyway``)."""
        store, followed = self.store, False
        current = store.load(sid) if expected is None else expected
        for _ in range(_UPDATE_TRIES):
            if current is None:
                return False
            if _marker(current) is not None:
                target = self._moved_on(sid, current)
                if target is None or target in keep:
                    return False
                sid, followed, current = target, True, store.load(target)
            elif self._spared(current, followed, person, spare, tag):
                return False
            else:
                ending = current
                done, current = self.update(sid, current, _ENDING, _MOVED_TTL)
                if done:
                    self.parsed.pop(sid, None)
                    if current is _UNMARKED:
                        self._ended_unmarked(sid, _record_user_key(ending))
                    return True
        return self._end_anyway(sid, current, followed, person)

    def _ended_unmarked(self, sid: str, key: Optional[str]) -> None:
        """``end_session`` ended ``sid`` (the person ``key``'s session) by deleting it, since a full Redis refused
        its "ended" marker (``RedisStore.update``): its id leaves the person's set now (``SREM`` adds no memory),
        and a WARNING says what the missing marker means."""
        if key is not None and self._unlist is not None:
            try:
                self._unlist(key, [sid])
            except StoreUnavailable:  # (a later listing or tidy takes it out: its key is gone)
                pass
        self.log.write(logging.WARNING, 'Session: %s... ended by deleting it: Redis is full (maxmemory reached) and '
                       'refused its "ended" marker; as after a marker evicted, a request that loaded the session '
                       'before and saves after stores nothing, but a login made in such a request is kept, in a new '
                       'session; raise maxmemory', sid[:6])

    @staticmethod
    def _spared(current: Any, followed: bool, person: Optional[str], spare: Optional[str],
                tag: Optional[str]) -> bool:
        """Whether ``end_session`` leaves alone the session it found as ``current``: another person's,
        where a move led (``followed``), one of the login line ``spare``, or one that a users file other
        than that of ``tag`` logged in."""
        if followed and _record_user_key(current) != person:
            return True
        return (spare is not None or tag is not None) and _line_spared(_record_line(current), spare, tag)

    def _end_anyway(self, sid: str, current: Any, followed: bool, person: Optional[str]) -> bool:
        """``end_session`` lost every try to requests that changed the session ``sid`` (``current``: its
        record now): write the "ended" marker over it without comparing, since whoever holds its cookie
        could otherwise keep a session alive through a logout or ``end_sessions`` by changing it without
        pause.  The marker, not a delete: a request still running on it then finds it ended, as after any
        end (nothing stored, the cookie expired), not gone (the cookie left).  ``followed``: ``sid`` is the
        id the session moved to, which must still be ``person``'s.  True if it was ended."""
        if current is None or _marker(current) is not None or (followed and _record_user_key(current) != person):
            return False
        self.store.save(sid, _ENDING, _MOVED_TTL)
        self.parsed.pop(sid, None)
        self.log.write(logging.WARNING, 'Session: %s... kept changing under concurrent requests while it was '
                       'ended: ended without the usual check that it was unchanged', sid[:6])
        return True

    def _moved_on(self, sid: str, marker: Any) -> Optional[str]:
        """``end_session`` finds ``marker`` under ``sid``: the id the session moved to, to end next (the
        moved marker gives way to the "ended" one, for the rest of a minute: a logout sent later with a
        cookie naming ``sid`` expires it); None if it was ended already (that marker stays its minute) or
        moved to an id the marker does not name.  Written as every "ended" marker is, through ``update``:
        a full Redis, which refuses it, deletes the moved marker instead, and the session is still followed."""
        target = _moved_to(marker)
        if target is None:
            return None
        self.update(sid, marker, _ENDING, _MOVED_TTL)
        self.parsed.pop(sid, None)
        return target or None

    def _lists_users(self) -> bool:
        """Whether the store has a ``sessions_of`` of its own (the base class's raises)."""
        method = getattr(self.store, 'sessions_of', None)
        return callable(method) and getattr(type(self.store), 'sessions_of', None) is not SessionStore.sessions_of

    def cap_sessions(self, key: str, sid: str) -> int:
        """After a login of the person ``key`` into the session ``sid``: end the least recently used
        of that person's other sessions beyond ``max_per_user``, and up to a tenth of it more among those
        not used since their login (``_CAP_ROOM``), as ``end_sessions`` ends them, so they stay ended;
        return how many were ended.  Without it, one account logging in again and again (no cookie) would
        fill the memory store with its sessions and evict everyone else's."""
        count_of = self._count_of  # (cheap, and never fewer: the usual login stops here)
        if count_of is not None and count_of(key) <= self.max_per_user:
            return 0
        ended = self._end_beyond_cap(key, sid)
        if ended:
            self.log.write(logging.INFO, 'Session: ended %d session(s) of a user beyond session_max_per_user = %d',
                           ended, self.max_per_user)
        return ended

    def _end_beyond_cap(self, key: str, sid: str) -> int:
        """End the sessions of ``cap_sessions`` (``_beyond_cap``), and tell the store's ``unlist`` their ids;
        how many were ended (a session under two ids, moving, is one)."""
        beyond = self._beyond_cap(key, sid)
        gone = {old for ids in beyond for old in ids if self.end_session(old, key, (sid,))}
        ended = [ids for ids in beyond if not gone.isdisjoint(ids)]
        if ended and self._unlist is not None:
            self._unlist(key, [old for ids in ended for old in ids])
        return len(ended)

    def _beyond_cap(self, key: str, sid: str) -> List[Tuple[str, ...]]:
        """The ids of the person's sessions other than ``sid`` past ``max_per_user``, least recently used
        first: by the last use where the expiry tells it, else by creation; then the room (``_CAP_ROOM``),
        taken from the next ones only where not used since their login.  A session used after
        ``sid`` was stored (its login), within the last ``_PARALLEL_LOGIN`` seconds, is spared: a login
        of the same person at the same time, whose own cap sees ``sid`` as the older and ends it (two
        logins that each ended the other's session left the person logged out twice).  The last use
        orders them, not the creation (a login into an anonymous session restarts it): a session made long
        ago and used a moment ago on another device is not the least recently used.  Sessions no request
        could load any more (``_live``) are not counted.  Nothing when ``sid`` is no longer listed: another
        request ended it meanwhile (a later login's cap, which has kept that login's session; a logout), and
        this login, ended itself, ends no one else's.  A session that a move has under two ids, both listed
        (``_one_per_move``), counts once, used at the move, and goes with both: its old id first, so that the
        move finds it ended (the new id goes too, where the move is done)."""
        listed, halves = _one_per_move(self._live(self._listed_under(key)))
        own = next(((self._last_use(record, expires), listed_sid) for listed_sid, record, expires in listed
                    if listed_sid == sid), None)
        if own is None:
            return []
        others = [(self._last_use(record, expires), listed_sid, record) for listed_sid, record, expires in listed
                  if listed_sid != sid]
        others.sort(key=lambda entry: (entry[0], entry[2].created_ms))
        excess = max(len(others) + 1 - self.max_per_user, 0)
        if not excess:
            return []
        recent = _now() - _PARALLEL_LOGIN
        endable = [(other, last_use - record.created_ms / 1000 <= _UNUSED_SINCE_LOGIN)
                   for last_use, other, record in others if (last_use, other) < own or last_use < recent]
        return _with_halves(self._with_room(endable, excess), halves)

    def _with_room(self, endable: List[Tuple[str, bool]], excess: int) -> List[str]:
        """The first ``excess`` ids of ``endable`` (each with whether it was unused since its login), then the
        room (``_CAP_ROOM``): up to a tenth of the cap more of the next ones, those unused since their login."""
        room = [other for other, never_used in endable[excess:] if never_used][:self.max_per_user // _CAP_ROOM]
        return [other for other, _ in endable[:excess]] + room

    def _last_use(self, record: _Record, expires: int) -> float:
        """When a stored session was last used, as ``sessions_of`` tells it (else its creation)."""
        last_used = self._entry(record, expires, False)['last_used']
        return record.created_ms / 1000 if last_used is None else last_used

    def end_sessions(self, user: Any, keep: Tuple[Optional[str], ...] = ()) -> int:
        """End every live session of a user but those in ``keep``; return how many were ended."""
        ended = self.end_sessions_unlogged(user, keep)
        if ended:
            self.log.write(logging.INFO, 'Session: ended %d session(s) of a user', ended)
        return ended

    def end_sessions_unlogged(self, user: Any, keep: Tuple[Optional[str], ...] = (),
                              spare: Optional[str] = None, tag: Optional[str] = None) -> int:
        """``end_sessions`` without its log line, for a caller that says what it ended in a line of its own.
        ``spare``: the sessions of this login line (``_Record.line``) are left alone, and with ``tag``
        those another users file logged in (see ``end_session``).

        Noted in the store first (``_note_ends``): a login of that user under way in another request (not
        stored yet, so not listed) ends its session when it stores it (``ended_since``)."""
        person = _user_key(user)
        if person is not None and self.notes_ends and self._may_be_logging_in(person):
            self._note_ends(person, spare, tag)
        ended = self._end_listed(user, person, keep, spare, tag)
        context = _local.context
        if not keep and context is not None and self._holds(context, user, spare, tag):
            context.invalidate()  # this request's own session is one of them: it ends here too
        return ended

    def _end_listed(self, user: Any, person: Optional[str], keep: Tuple[Optional[str], ...], spare: Optional[str],
                    tag: Optional[str]) -> int:
        """The ends of ``end_sessions_unlogged`` of the sessions listed under ``user`` (its key: ``person``); how
        many were ended, a session that a move has under two listed ids (``_one_per_move``) counted once.  A
        ``StoreUnavailable`` meanwhile goes on with its ``removed`` saying how many it had ended (they stay ended),
        as ``tidy``'s says what the tidy had removed."""
        listed = self._listed(user)
        # (a kept session's move under way, whose old id's record notes its new id, loses that new id: whoever
        # moved it may hold a copy of the cookie, a thief's, which end_other_sessions must leave with no session)
        done: Set[str] = set()
        try:
            for sid, _, _ in listed:
                if sid not in keep and self.end_session(sid, person, keep, spare=spare, tag=tag):
                    done.add(sid)
        except StoreUnavailable as error:
            error.removed = _count_ended(listed, done)
            raise
        return _count_ended(listed, done)

    def _may_be_logging_in(self, key: str) -> bool:
        """Whether a login of the person ``key`` may be under way, which ``end_sessions`` must leave its note
        for.  A store of this process alone (memory) tells: a login registers (``_LoginUnderWay``) before it
        takes the time its check started, so one this misses started after ``end_sessions`` did, and one
        that is done has stored its session, which ``end_sessions`` lists next.  Without that note, ends of
        names that never log in (a "forgot password" form's) leave nothing for a minute.  Other stores are
        shared by processes that this one cannot see: always."""
        logins = getattr(self.store, 'logins_under_way', None)
        if not isinstance(logins, dict):
            return True
        keys = list(logins.values())  # (one copy, made without letting another thread in)
        return key in keys or None in keys

    def _note_ends(self, key: str, spare: Optional[str], tag: Optional[str]) -> None:
        """Leave for ``_MOVED_TTL`` the note of ``end_sessions_unlogged`` of the person ``key``: when it ran,
        and for a users file's (``tag``) the login line it spared (``"ended:<time> <tag> <line or nothing>"``),
        beside the ends noted before that it does not cover (``;`` between): a plain end covers every earlier
        one, a users file's its own file's earlier end only (an ``end_sessions`` of the minute before, or
        another file's change, still ends the logins it caught)."""
        now = _now()
        kept = [] if tag is None else [entry for entry in self._noted_ends(key) if entry[1] != tag]
        # (the time as it is, not rounded: rounded up, it was later than a login checked at the same instant)
        entries = ['%r' % at if noted is None else '%r %s %s' % (at, noted, spared or '')
                   for at, noted, spared in kept + [(now, tag, spare)]]
        try:
            self.store.save(_ENDS_AT % key, '"ended:%s"' % ';'.join(entries), _MOVED_TTL)
        except StoreUnavailable as error:
            if not error.full:
                raise
            # (the sessions listed are ended all the same, each deleted: end_session's WARNING)
            self.log.write(logging.WARNING, 'Session: end_sessions could not leave its note for a login under way: '
                           'Redis is full (maxmemory reached); a login of that user checked before now and stored '
                           'after it (once Redis has room) stays logged in, as after a note evicted; raise maxmemory')

    def _noted_ends(self, key: str) -> List[Tuple[float, Optional[str], Optional[str]]]:
        """The ends of the person ``key`` noted in the last ``_MOVED_TTL`` seconds (``_note_ends``): when each
        ran, and for a users file's its tag and the login line it spared (None, None for ``end_sessions``)."""
        text = _marker(self.store.load(_ENDS_AT % key))
        if text is None or not text.startswith('ended:'):
            return []
        ends = []
        for entry in text[6:].split(';'):
            at, _, spared = entry.partition(' ')
            tag, _, spare = spared.partition(' ')
            try:
                ends.append((float(at), tag or None, spare or None))
            except ValueError:
                continue
        return ends

    def ended_since(self, key: str, since: float, line: Optional[str] = None) -> bool:
        """Whether a login of the person ``key`` whose check started at ``since`` (seconds since the epoch)
        and logged in with the login line ``line`` was overtaken by an end of that person's sessions, noted
        within the last ``_MOVED_TTL`` seconds (``_note_ends``): by ``end_sessions``, any such login; by a
        change of a users file, one with a line of that file other than the line it spared (a login without
        a line is that file's ``end_if_overtaken``'s to judge, or not the file's at all)."""
        return any(at > since and (tag is None or (line is not None and not _line_spared(line, spare, tag)))
                   for at, tag, spare in self._noted_ends(key))

    def _holds(self, context: 'SessionState', user: Any, spare: Optional[str], tag: Optional[str]) -> bool:
        """Whether the request of ``context`` holds, loaded, a session of this manager that ``end_sessions``
        of ``user`` ends (one of the login line ``spare``, or of a users file other than ``tag``'s, stays)."""
        return (context.manager is self and context.loaded and _user_key(context.user) == _user_key(user)
                and not _line_spared(context.login_line, spare, tag))

    def tidy(self) -> int:
        """The store's ``tidy`` (optional, as ``check``; 0 for a store without one), logged."""
        tidy = getattr(self.store, 'tidy', None)
        try:
            removed = int(tidy(_TIDY_BATCH)) if callable(tidy) else 0  # (as the README writes it: tidy(batch), no default)
        except StoreUnavailable as error:  # what went before stays gone: the caller learns how much
            done = getattr(self.store, 'tidy_removed', None)
            error.removed = done if isinstance(done, int) else None
            if error.removed == 0:  # (not "failed after removing 0": it never got going)
                self.log.write(logging.WARNING, 'Session: the store could not be tidied, nothing was removed: %s',
                               _mask_urls(_safe_text(error)))
            else:
                self.log.write(logging.WARNING, 'Session: tidying the store failed after removing %s entries of ended '
                               'sessions: %s', '?' if error.removed is None else error.removed,
                               _mask_urls(_safe_text(error)))
            raise
        self.log.write(logging.INFO, 'Session: tidied the store, %d entries of ended sessions removed', removed)
        return removed


class _LoginUnderWay:
    """A login registered with a store of this process (``MemoryStore.logins_under_way``) until the request
    that holds it lets go of it (its end), when it leaves the register."""

    #: The attributes below and no others.
    __slots__ = ('logins',)

    def __init__(self, logins: Dict[int, Optional[str]], key: Optional[str]) -> None:
        #: The store's register.
        self.logins = logins
        logins[id(self)] = key

    def __del__(self) -> None:
        self.logins.pop(id(self), None)


def _timed_out(failure: Optional[Exception]) -> bool:
    """True if ``failure`` is a store that did not answer in time (``timed_out``): asked again, it would keep the
    request waiting as long again."""
    return isinstance(failure, StoreUnavailable) and failure.timed_out


def _create_wrote_nothing(store: Any, failure: Exception) -> bool:
    """True if the ``create`` of ``store`` that raised ``failure`` cannot have written anything: the store says a
    failed ``create`` writes nothing (``failed_create_writes_nothing``: memory, SQLite), or ``failure`` says
    nothing was sent (``unapplied``: a Redis refused the connection, say)."""
    return bool(getattr(store, 'failed_create_writes_nothing', False)
                or (isinstance(failure, StoreUnavailable) and failure.unapplied))


def _session_user_key(user: Any) -> Optional[str]:
    """``_user_key`` of a user set as ``session.user``; one that cannot be stored is refused in words of its own."""
    try:
        return _user_key(user)
    except (TypeError, ValueError, RecursionError):  # its JSON text is its key: said here, not as JSON's words
        raise _unstorable_error(user, 'session.user') or SessionDataError('session.user: %s' % _STORABLE_RULE[
            'session.user']) from None


class SessionState:
    """One request's view of its session, loaded from the store on first use.

    Every attribute has its default at class level, so making one costs nothing until
    the request touches its session (the plugin's request context is a subclass).
    """

    #: The session policy and store of the app serving the request.
    manager: Optional[SessionManager] = None
    #: The well-formed id the request's cookie named (not adopted before it is found in the store).
    cookie_sid: Optional[str] = None
    #: The request's WSGI environ (the class default is never handed out: the request context's ``begin`` sets it).
    environ: Dict[str, Any] = types.MappingProxyType({})  # type: ignore[assignment]
    #: The client's address (the start of the thread's name).
    client = '-'
    #: The store was asked for the session (once per request, at the first use).
    loaded = False
    #: The session was found live in the store: saving it is an update, never a creation.
    exists = False
    #: The id the session has now (a new one after a login, logout or regenerate).
    sid: Optional[str] = None
    #: ``finish`` ran when the response started (a streamed body's session read later has not been stored).
    settled = False
    #: The record as loaded: what an update expects to find in the store ('' if none).
    snapshot = ''
    #: The request's own dict (``load`` gives every request its own; the read-only default is never handed out).
    data: Dict[str, Any] = types.MappingProxyType({})  # type: ignore[assignment]
    #: Who is logged in (``session.user``), None if nobody.
    user: Any = None
    #: The digest of the users-file line that user logged in with (``BasicAuth.login_line``); None for
    #: any other session.
    login_line: Optional[str] = None
    #: When that login lapses by itself (a token's ``exp``), in seconds since the epoch; 0: never.
    user_expires = 0.0
    #: The user of a login that lapsed (``session.user`` is then None): kept in the record, so
    #: that the same person logging in again keeps the data and anyone else starts without it.
    lapsed_user: Any = None
    #: When the session was made, in milliseconds since the epoch (0: not yet, set when it is
    #: first saved): an integer is cheaper to write than a float.
    created_ms = 0
    #: This request logged a person into an anonymous session, whose creation time it restarts: a merge
    #: with what a parallel request stored meanwhile keeps this request's (``_merged``).
    created_anew = False
    #: The session's own lifetime in seconds (``remember``); 0: the configured timeout.
    lifetime = 0
    #: The session is to be stored even with no data and no user (its id was handed out, or a
    #: user logged in or out): a request with nothing to keep stores nothing.
    keep_empty = False
    #: The id this request replaced (login, logout, regenerate): deleted when the new one is stored.
    old_sid: Optional[str] = None
    #: Ids ended in this request (logout), deleted from the store at the end.
    dead: Tuple[str, ...] = ()
    #: The record as loaded of the session this request ended (what ``SessionManager.end_session`` expects);
    #: or the move's marker its cookie's id held, when the session had moved before this request read it
    #: (``_end_where_moved``).
    dead_snapshot: Any = ''
    #: The record's text after the data (user, created, user expiry, lifetime), while those stay as loaded.
    tail: Optional[str] = None
    #: Another request ended this session while this one ran: nothing of it is stored.
    ended = False
    #: When this request logged a new person in (seconds since the epoch; 0: it did not), by the start of
    #: canister's check of the credentials if it made one: a login that ``end_sessions`` of that person, or a
    #: change of the users file, overtook before it was stored ends its session (``_ended_while_logging_in``).
    login_at = 0.0
    #: This request's login, registered with its store from before its check started until the request
    #: is done (``_LoginUnderWay``; a store of this process alone); None: none under way.
    login_under_way: Optional['_LoginUnderWay'] = None
    #: This request called ``end_other_sessions()``: a move of its session that another request made after that
    #: listed the user's sessions (a ``regenerate()``, the browser's or a thief's with a copy of the cookie) is
    #: ended where it went when this request stores its own (``_moved_first``).
    ends_others = False
    #: This request's write marking its old id moved (``_write_marker``) was sent and not answered in time: the store
    #: may still run it (``_left_after_timeout`` says what the browser then finds).  A timeout before it (the read
    #: of ``_ended_while_logging_in``) leaves nothing that could land.
    marker_unanswered = False

    def login_starts(self, user_named: Callable[[], Any] = lambda: None) -> float:
        """A login starts its check, of the user ``user_named()`` says (None: not known yet): registered
        first (``SessionManager._may_be_logging_in``); the time now, when the check starts."""
        manager = self.manager
        logins = getattr(manager.store, 'logins_under_way', None) if manager is not None else None
        if isinstance(logins, dict):
            user = user_named()
            self.login_under_way = _LoginUnderWay(logins, _user_key(user) if isinstance(user, str) and user else None)
        return _now()

    def load(self) -> None:
        """Fetch the session named by the cookie, once; a dead or unknown id is never adopted."""
        if self.loaded:
            return
        self.loaded = True
        self.data = {}
        sid, manager = self.cookie_sid, self.manager
        if sid is None or manager is None:
            return
        entry = manager.find(sid)
        if entry is None:
            manager.note_unknown_among_several(self.environ.get('HTTP_COOKIE', ''))  # (cookie_sid came from it)
            return
        record, data, user, created_ms, expires, lifetime, line, tail = entry
        if line is not None and self._login_ended(manager, sid, record, user, line):  # (a users-file login)
            return
        self.exists = True
        self.sid = sid
        self.snapshot = record
        # (login_line set here even when None: the save reads it, and an attribute of the instance is cheaper)
        self.data, self.created_ms, self.lifetime, self.tail, self.login_line = (data.copy(), created_ms, lifetime,
                                                                                  tail, line)
        if user is not None or expires:  # (an anonymous session keeps the class defaults: nobody, no expiry)
            self._take_user(user, expires)
        if manager.log.writes_debug:
            manager.log.write(logging.DEBUG, 'Session: %s... loaded', sid[:6])

    def _login_ended(self, manager: SessionManager, sid: str, record: str, user: Any, line: str) -> bool:
        """End the session ``sid`` just loaded as ``record``, of ``user`` logged in with the users-file
        line ``line``, and return True, if the users file no longer gives ``user`` that line (the
        manager's ``is_stale_login``): whoever holds its cookie is nobody from now on, in every process,
        even one that has not looked at the file since it changed.  Its cookie is expired, as at a logout."""
        is_stale = manager.is_stale_login
        if is_stale is None or not is_stale(user, line):
            return False
        manager.end_session(sid, _user_key(user), expected=record)
        self.dead, self.dead_snapshot = (sid,), record  # (ended again at the end: a no-op, and the cookie expires)
        manager.log.write(logging.INFO, 'Session: %s... ended: its user logged in with a password the users file '
                          'no longer gives them', sid[:6])
        return True

    def _take_user(self, user: Any, expires: int) -> None:
        """Take the stored user, as logged in, or as lapsed when its login (a JWT's) has expired."""
        if not expires or expires > _now():
            self.user, self.lapsed_user = user, None
        else:
            self.user, self.lapsed_user = None, user
        self.user_expires = expires

    def _record_user(self) -> Any:
        """The user the record names: the logged-in one, or the one whose login lapsed."""
        return self.user if self.user is not None else self.lapsed_user

    def get_sid(self) -> str:
        self.load()
        if self.sid is None:
            self._new_sid()
        assert self.sid is not None
        self.keep_empty = True
        return self.sid

    def _new_sid(self) -> str:
        sid = self.sid = secrets.token_urlsafe(32)
        if self.manager is not None:
            if self.manager.log.writes_lines:  # (the thread's name is the [...] of its log lines)
                threading.current_thread().name = _thread_name(self.client, sid)
            self.manager.log.write(logging.DEBUG, 'Session: %s... created', sid[:6])
        return sid

    def _rotate(self) -> None:
        """Give the session a new id; the old one is deleted when the new one is stored."""
        if self.exists and self.old_sid is None:
            self.old_sid = self.sid
            self._new_sid()
            self.tail = None  # (the record as loaded may note another request's move: never under the new id)

    def set_user(self, user: Any, expires: float = 0, remember: bool = True, line: Optional[str] = None,
                 checked_at: float = 0.0) -> bool:
        """Log a user in (or out with None); return True if the person changed.

        People are told apart by ``_user_key`` (a dict user's ``sub``): the same person with
        new claims (a refreshed token) keeps the session as it is.  Another person rotates the
        session id.  The data belongs to the person the record names (even if that login has
        lapsed): a login from anonymous keeps it, anyone else, or nobody, starts without it.
        With ``remember=False`` (credentials sent with a request that has no session)
        the user holds for this request only, unless the handler makes the session real.
        ``line``: the users-file line of a Basic or form login (``BasicAuth.login_line``); a login
        with another line than the session's moves it to a new id too.  Without one, the same
        person keeps the session's line, anyone else has none.  ``checked_at``: when the check of the
        credentials started (``_now()``), for a login that canister checked (``login_at``); else now.
        """
        self.load()
        key = _session_user_key(user)
        if key is None:  # (a logout: with a cookie whose session had moved, it ends it there, as invalidate())
            self._end_where_moved_too()
        recorded = _user_key(self._record_user())  # (the person of a lapsed login too)
        if recorded != key:
            self._new_person(recorded)
        changed = key != _user_key(self.user)
        self._note_login(key, changed, checked_at)
        if changed or recorded != key or (line is not None and line != self.login_line):
            self._rotate()
            self.login_line = line
        self.user, self.lapsed_user = user, None
        self.user_expires = expires
        self.tail = None
        if remember or self.exists:
            self.keep_empty = True
        return changed

    def _new_person(self, recorded: Optional[str]) -> None:
        """The session, of the person ``recorded`` (None: anonymous), is given to another: nothing of another
        person's is kept, not even its age; a login from anonymous keeps the data, but its creation time
        restarts, so that ``session_max_age`` bounds how long the login lasts."""
        if recorded is not None:
            self.data, self.lifetime, self.created_ms = {}, 0, 0
        elif self.created_ms:  # (the time in ms, as stored: sessions_of in this request tells the same)
            self.created_ms, self.created_anew = int(_now() * 1000), True

    def _note_login(self, key: Optional[str], changed: bool, checked_at: float) -> None:
        """Note when a new person logged in (``login_at``: when its check started, if it had one), where
        ``end_sessions`` or a change of the users file may overtake the login."""
        manager = self.manager
        if changed and key is not None and manager is not None and manager.notes_ends:
            if self.login_under_way is not None:  # (registered when canister's check started, maybe nameless)
                self.login_under_way.logins[id(self.login_under_way)] = key
                self.login_at = checked_at or _now()
            else:
                self.login_at = checked_at or self.login_starts(lambda: key)
        elif not self.login_at:  # (a login earlier in this request, not stored yet, stays under way)
            self.login_under_way = None  # (the same person again: no login to overtake)

    def end_if_overtaken(self, user: Any, overtaken: Callable[[], bool]) -> None:
        """Have this request's ``finish`` end the session it stores, while it is still ``user``'s, when
        ``overtaken()`` then says so: a login without a line (an unsalted users-file hash) checked against
        a reading of the file whose change ended the user's sessions before this one was stored, which no
        later check would catch.  Asked once the session is stored, so that a change ending sessions later
        finds it in the store.  Only this request's object gets the wrapped ``finish``: others pay nothing."""
        finish = self.finish

        def finish_then_check(headers: Headers, https: bool) -> None:
            finish(headers, https)
            manager, sid = self.manager, self.sid
            if manager is None or sid is None or self.user != user or not overtaken():
                return
            manager.end_session(sid, _user_key(user))
            manager.log.write(logging.INFO, 'Session: %s... ended: the users file dropped its user or changed their '
                              'password while this login was checked, and ended that user\'s sessions', sid[:6])
        self.finish = finish_then_check  # type: ignore[method-assign]

    def regenerate(self) -> str:
        """Give the session a new id, keeping its data and user; return the new id."""
        self.load()
        if self.exists:
            self._rotate()
        elif self.sid is None:
            self._new_sid()
        self.keep_empty = True
        assert self.sid is not None
        return self.sid

    def remember(self, seconds: Union[int, datetime.timedelta]) -> None:
        """Give this session its own sliding lifetime and a persistent cookie of that length."""
        if isinstance(seconds, bool):  # (an int to Python: Flask-Login's remember=True would be 1 second)
            raise TypeError('session.remember() takes a number of seconds or a datetime.timedelta, not %r: write '
                            'session.remember(30 * 86400) or session.remember(timedelta(days=30))' % seconds)
        whole = seconds
        if isinstance(seconds, datetime.timedelta) and not seconds % datetime.timedelta(seconds=1):
            whole = seconds // datetime.timedelta(seconds=1)
        if not isinstance(whole, int) or not 0 < whole <= _SECONDS_MAX:
            raise ValueError('session.remember() takes a whole number of seconds from 1 to %d (about 100 years), '
                             'not %r' % (_SECONDS_MAX, seconds))
        self.load()
        self.lifetime = whole
        self.tail = None
        self.keep_empty = True

    def invalidate(self) -> None:
        """End the session; anything stored afterwards goes to a brand new one."""
        self.load()
        if self.exists:
            self.dead_snapshot = self.snapshot
        self._end_where_moved_too()
        self.dead += tuple(sid for sid in (self.old_sid, self.sid if self.exists else None) if sid)
        self.exists, self.sid, self.old_sid, self.snapshot, self.keep_empty = False, None, None, '', False
        self.data, self.user, self.user_expires, self.created_ms, self.tail = {}, None, 0, 0, None
        self.lifetime, self.lapsed_user, self.login_line = 0, None, None

    def _end_where_moved_too(self) -> None:
        """For a logout (``invalidate()``, ``session.user = None``): if it found no session under its cookie's id,
        and the id holds a move's marker, put the id among those ended here, with the marker, so that the session
        is ended where it moved at the end (``_end_where_moved``) and the cookie naming the id is not kept.  The
        "ended" marker (another logout, or ``end_sessions``, ended the session within its minute) is put there too:
        nothing is left to end, but the answer expires the cookie, as the other logout's did."""
        if (not self.exists and self.cookie_sid is not None and self.cookie_sid not in self.dead
                and self.manager is not None):
            marker = self.manager.store.load(self.cookie_sid)
            if _marker(marker) is not None:
                self.dead, self.dead_snapshot = self.dead + (self.cookie_sid,), marker

    def _end_where_moved(self, sid: str, marker: Any) -> None:
        """End the session that moved from the id ``sid`` before this request's logout read it, where its markers
        lead (``_FOLLOW_HOPS`` moves at most), whoever's it is there: the old cookie's holder cannot be told from
        the browser that moved it, and ending is the safe failure.  ``marker``: what the id held when a logout
        (``invalidate()``, ``session.user = None``) found no session under it, a move's marker (a login,
        ``regenerate()`` or ``end_other_sessions()`` of the same browser moved the session just before, and this
        request left before that answer came back); the id was then put among those ended here (``dead``), so the
        cookie expires (or names the new anonymous session of ``session.user = None``).  Any
        other cookie naming no session (nothing there, an ended session's) is left as it was.  The markers on the
        way stay for their minute; logged."""
        manager = self.manager
        assert manager is not None
        target, current, _ = self._through_markers(sid, marker, 0)
        ended = (current is not None and _marker(current) is None
                 and manager.end_session(target, _record_user_key(current), expected=current))
        manager.log.write(logging.INFO, 'Session: %s... moved to a new id (login, regenerate) before this logout came '
                          'with it: %s', sid[:6], 'ended there too' if ended else
                          'nothing was left to end there (ended already, or gone)')

    def record(self) -> str:
        """The JSON text stored for this session (a new one's creation time is now); explains which
        value cannot be stored."""
        if not self.created_ms:
            self.created_ms = int(_now() * 1000)
        try:
            tail = self.tail
            if tail is None:
                tail = self.tail = _record_tail(self._record_user(), self.created_ms, int(self.user_expires),
                                                self.lifetime, self.login_line, self._noted_move())
            return _encode_record(self.data, tail)
        except (TypeError, ValueError, RecursionError):
            pass  # find which value it is
        raise (_unstorable_error(self.data, 'session.data') or _unstorable_error(self._record_user(), 'session.user')
               or SessionDataError('session.data: %s' % _STORABLE_RULE['session.data']))

    def _noted_move(self) -> Optional[str]:
        """The new id that the record as loaded notes (``_MOVING``: another request is moving the session), which
        the record this request writes under the same id keeps (a ``remember()``, the same person set again):
        without it, both ids counted again until the old one is marked.  None when this request moves the
        session itself, or nothing is noted."""
        end: Any = self.snapshot[-80:]  # (the note is the record's last value: an id of 43 characters)
        if type(end) is not str:  # (a store of the app's own may give bytes)
            end = bytes(end).decode('utf-8', 'replace')
        if self.old_sid is not None or ',"' + _MOVING not in end:
            return None
        try:
            return _read_record(self.snapshot).moving
        except ValueError:
            return None

    def own_origin(self) -> str:
        """The app's origin as the client asked for it, normalised: the request context's (``_RequestContext``,
        which believes trusted proxies).  A state made for no request (a merge's stand-in) has none, and never
        sends a cookie to a request."""
        raise NotImplementedError('the request context tells the origin of the app')

    def _check_keys(self) -> None:
        """Refuse data whose dicts have keys other than text (before it is stored)."""
        error = _unstorable_error(self.data, 'session.data')
        if error is not None:
            raise error

    def finish(self, headers: Headers, https: bool) -> None:
        """Store the session as the request left it (create, update, touch or delete), add the cookie.

        The response is then to be marked private (``SessionManager.mark_private``): the plugin
        does it together with its other headers."""
        manager = self.manager
        if not self.loaded or manager is None or self._nothing_to_keep(headers, https):
            return
        record = self.record()
        ttl = manager.ttl(self.lifetime, self.created_ms)
        sid = self.sid if self.sid is not None else self._new_sid()
        if self.exists and not self.old_sid and record == self.snapshot:
            self._touch(headers, https, sid, ttl)
            return
        flat = _is_flat(self.data)
        if not flat:  # (flat data has text keys)
            self._check_keys()
        stored = self._store(sid, record, ttl)
        if stored is record:
            self._saved(headers, https, sid, record, ttl, flat)
        else:  # (maybe under another id: adopted from a parallel login)
            self._stored_otherwise(headers, https, sid, stored)

    def _saved(self, headers: Headers, https: bool, sid: str, record: str, ttl: float,
               flat: Optional[bool] = None) -> None:
        """The session is stored as ``record``: keep it decoded, and send its cookie if the client
        does not hold it yet (or it has a lifetime of its own, which slides).  ``flat``: whether
        ``_is_flat(self.data)``, if known."""
        manager = self.manager
        assert manager is not None
        manager.remember(sid, record, self.data, self._record_user(), self.created_ms, int(self.user_expires),
                         self.lifetime, self.login_line, self.tail or '', flat)
        if sid != self.cookie_sid or self.lifetime:
            manager.set_cookie(headers, sid, https, max_age=ttl if self.lifetime else 0, request=self)

    def _stored_otherwise(self, headers: Headers, https: bool, sid: str, stored: str) -> None:
        """The session changed while this request ran: this request's changes were merged into the
        record ``stored`` now, or into the session under the new id a parallel request moved it to
        (``_FOLLOWED``), or not stored (``_ENDING``, ``_MOVED`` or ``_ABSENT``: see ``_ended``)."""
        manager = self.manager
        assert manager is not None
        if stored is _FOLLOWED:  # (no cookie: the client of the old id must not learn the new one)
            manager.log.write(logging.INFO, 'Session: %s... moved to a new id (login, regenerate) while this request ran: '
                              'its changes were saved there', (self.sid or sid)[:6])
        elif stored is _ENDING or stored is _MOVED or stored is _ABSENT:
            self._ended(headers, https, stored)
        else:  # merged into what a parallel request stored (under its id, if adopted): its lifetime may be another
            self._saved(headers, https, self.sid or sid, stored, manager.ttl(self.lifetime, self.created_ms))

    def _nothing_to_keep(self, headers: Headers, https: bool) -> bool:
        """Delete the ids this request ended; True if nothing is left to store (no session, data
        or user), and then the cookie of a session ended here is expired."""
        if self.dead:
            self._end_dead_ids()
        if self.exists or self.keep_empty or self.data:
            return False
        if self.dead and self.cookie_sid:
            assert self.manager is not None
            self.manager.set_cookie(headers, '', https, expire=True)
        return True

    def end_on_error(self, headers: Headers, https: bool) -> None:
        """An error answer (5xx) stores nothing, but a session this request ended (``invalidate()``) stays
        ended, and the cookie that named it is expired: a logout whose handler failed afterwards still logs out."""
        if not self.dead:
            return
        manager = self.manager
        assert manager is not None
        try:
            self._end_dead_ids()
        except Exception:  # (the error answer goes out all the same, and the browser still forgets the id)
            manager.log.write(logging.ERROR, 'Session: a session this request ended could not be ended in the store '
                              'with its error answer', exc_info=True)
        if self.cookie_sid in self.dead:
            manager.set_cookie(headers, '', https, expire=True)

    def _end_dead_ids(self) -> None:
        """End the sessions this request ended: the loaded one with the "ended" marker (it ends where a
        parallel login moved it, too, and a request that loaded it before learns that it ended)."""
        manager = self.manager
        assert manager is not None
        for sid in self.dead:
            if sid == self.cookie_sid and _marker(self.dead_snapshot) is not None:
                if _moved_to(self.dead_snapshot) is not None:  # (else ended already: its marker stays its minute)
                    self._end_where_moved(sid, self.dead_snapshot)
            elif sid == self.cookie_sid and self.dead_snapshot:
                manager.end_session(sid, _record_user_key(self.dead_snapshot), expected=self.dead_snapshot)
            else:
                manager.store.delete(sid)

    def _touch(self, headers: Headers, https: bool, sid: str, ttl: float) -> None:
        """The session is as loaded: only its life slides (unless loading it did that already).

        Only while the store holds the record this request loaded (``_extend``): a request that
        changed it meanwhile set its life then, maybe to another length (``remember``), which
        stands.  A store without an atomic ``update`` is touched, which can only lengthen it.
        A session with a lifetime of its own sends its cookie again (it slides too), with the
        length stored, but only once the store confirms the session still lives under this id:
        a login in another request may have moved it meanwhile, and the browser's cookie must
        stay the new id."""
        manager = self.manager
        assert manager is not None
        if not self.lifetime:
            if manager.touches_on_load:
                return
            if manager.atomic_update:
                self._extend(sid, ttl)
            else:
                manager.store.touch(sid, ttl)
            return
        stopped, ttl = self._extend(sid, ttl)
        if stopped is not None:
            self._ended(headers, https, stopped)
        elif ttl:
            manager.set_cookie(headers, sid, https, max_age=ttl, request=self)

    def _store(self, sid: str, record: str, ttl: float) -> str:
        """Store ``record`` under ``sid``: a new session, one moved to a new id, or an update of the
        loaded one.  Return what is stored now (under ``self.sid``: another id if this request adopted
        the one a parallel login moved the session to); ``_ENDING`` if another request ended the
        session meanwhile, ``_MOVED`` if it gave the session a new id meanwhile, ``_FOLLOWED`` if it
        did and this request's changes went there (see ``_follow``), ``_ABSENT`` if the store holds
        nothing under the id any more."""
        manager = self.manager
        assert manager is not None
        if self.old_sid:  # a new id for a live session: the old id moves first, and only once
            return self._move_and_cap(sid, record, ttl)
        if not self.exists:
            key = _user_key(self._record_user())
            overtaken = self._create_new(sid, record, ttl, key)
            if key is not None:  # a login without a session
                return self._logged_in(sid, key, record, overtaken)
        elif not manager.update(sid, self.snapshot, record, ttl)[0]:  # changed meanwhile, or ended
            return self._update()
        return record

    def _move_and_cap(self, sid: str, record: str, ttl: float) -> str:
        """``_move_old_id``; then, if the move logged a person in whom the session did not have
        (not a ``regenerate()``, nor a login again of a lapsed one), ``_logged_in``."""
        manager = self.manager
        assert manager is not None
        key = _user_key(self._record_user()) if manager.max_per_user or self.login_at else None
        if key is not None and key == _record_user_key(self.snapshot):  # no login: regenerate(), or a lapsed one again
            key = None
        stored, overtaken = self._move_old_id(sid, record, ttl, key)
        if key is None or stored in _NOT_STORED:  # (a record is a JSON array: never one of them)
            return stored
        return self._logged_in(self.sid or sid, key, stored, overtaken)

    def _logged_in(self, sid: str, key: str, stored: str, overtaken: bool) -> str:
        """After a login of the person ``key`` stored the session ``sid`` as ``stored``: ``_ENDING`` if
        ``end_sessions`` overtook it (``_create_new``), else ``stored``, once the person's sessions
        are capped.  The login is complete by then: a store that fails while capping leaves the cap to
        the person's next login (logged), and the answer still gives the browser its new cookie."""
        manager = self.manager
        assert manager is not None
        if overtaken:
            return _ENDING
        if manager.max_per_user:
            try:
                manager.cap_sessions(key, sid)
            except StoreUnavailable as error:
                manager.log.write(logging.WARNING, 'Session: %s... logged in, but its user\'s sessions beyond '
                                  'session_max_per_user could not be ended (left to the next login): %s', sid[:6],
                                  _mask_urls(_safe_text(error)))
            except Exception:  # (a store of the app's own: a bug in it, logged, and the login stands all the same)
                manager.log.write(logging.ERROR, 'Session: %s... logged in, but capping its user\'s sessions raised',
                                  sid[:6], exc_info=True)
        return stored

    def _create_new(self, sid: str, record: str, ttl: float, key: Optional[str]) -> bool:
        """Store a new session, ``record`` under its new id ``sid``, listed under ``key`` if it is a person's;
        for a login, then ``_overtaken_at_login`` (whose answer this is).  When the store fails at either
        step, ``sid`` is removed first (``_undo_new_id``), which the store may have written all the same (a Redis
        connection cut after the command ran), so that the 503 leaves no session behind that no cookie names:
        a person's would be listed and counted, an anonymous one would take room in the store until it expired
        (not after a failed ``create`` of a store whose failed ``create`` writes nothing, nor after a store that
        did not answer in time)."""
        manager = self.manager
        assert manager is not None
        try:
            manager.create(sid, record, ttl, key)
        except Exception as error:
            self._undo_new_id(sid, error, create_failed=True)
            raise
        try:
            return self._overtaken_at_login(sid, key)
        except Exception as error:
            self._undo_new_id(sid, error)
            raise

    def _ended_while_logging_in(self, sid: str, key: str) -> bool:
        """After this request's login of the person ``key`` stored the session ``sid``: if ``end_sessions``
        of that person ran after the login was made (its listing could not see ``sid``), end ``sid`` too,
        and return True: a login checked before an account was revoked does not outlive the revocation."""
        manager = self.manager
        assert manager is not None
        if not manager.ended_since(key, self.login_at, self.login_line):
            return False
        manager.end_session(sid, key)
        manager.log.write(logging.WARNING, 'Session: %s... ended: its user\'s sessions were ended (end_sessions, or a '
                          'change of the users file) after this request checked the login and before it stored the '
                          'session', sid[:6])
        return True

    def _move_old_id(self, sid: str, record: str, ttl: float, login: Optional[str] = None) -> Tuple[str, bool]:
        """Move the session from its old id to the new id ``sid``: store it there, then replace the old id's
        record by a marker naming ``sid`` (requests still on the old id learn it moved, not ended, and where
        to).  What is stored now, as ``_store`` says, and for a ``login`` (the person's key) whether
        ``end_sessions`` overtook it.  The steps, each a function, and the states they take and leave:

        1. loaded -> noted (``_note_move``): the old id's record notes ``sid`` (``_MOVING``), so that both ids
           count as one session of its person while both are listed (on a store that lists a person's
           sessions; else it stays as loaded); another request's move under way is waited for first
           (``_other_move_done``).  Or -> moved first: the old id holds a marker by then
           (another request moved or ended the session): ``_moved_first`` says what happens, no new id is
           stored, and the move ends there.
        2. noted -> created (``_create_new_id``): the session stored under ``sid``, first, so that the marker
           names a session that exists.
        3. for a login, created -> overtaken or not (``_overtaken_at_login``), asked once the new id is
           listed.
        4. created -> marked (``_mark_old_id``): the old id's record replaced by the marker, what a parallel
           request saved there meanwhile merged into the new record (not when the person changed: the data
           then starts empty).  Or settled otherwise (``_settled_before_move``): the session gone
           (``_gone_before_move``), moved first (``_moved_first``), or backed off (``_taken_over``: another
           move noted itself over this one).
        5. on a failure of steps 2 to 4 while no marker names ``sid`` -> undone (``_undo_new_id``): ``sid``
           and the note go, the old id stays as it was, its cookie working, and the error goes on (a 503),
           unless the old id turns out marked all the same (``_write_marker``).

        The decisions after each outcome are made here; the steps only report them."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        user_key = _user_key(self._record_user())
        expected = self._note_move(sid, user_key)  # (the old id's record as this request knows it, or a marker)
        if _marker(expected) is not None:  # moved first, before the note: no new id to store
            return self._moved_first(sid, record, expected), False
        created = False
        try:
            self._create_new_id(sid, record, ttl, user_key)
            created = True
            overtaken = self._overtaken_at_login(sid, login)
            stored = self._mark_old_id(sid, record, expected)
        except Exception as error:
            if self.sid == sid:  # (no marker names it yet; an id adopted, ``_moved_first``, is another's)
                self._undo_new_id(sid, error, create_failed=not created, expected=expected)
            raise
        adopted = self.sid or sid  # (where a parallel login of the person moved it, if it adopted that id)
        if overtaken and adopted != sid and stored not in _NOT_STORED:
            manager.end_session(adopted, login)  # (overtaken: what it adopted is ended too)
        return stored, overtaken

    def _note_move(self, sid: str, user_key: Optional[str]) -> str:
        """Step 1 of ``_move_old_id`` of a session of the person ``user_key`` (None: nobody's) to the new id
        ``sid``, loaded -> noted, before the new id is stored: if the session was that person's already, the old
        id's record as loaded, noted with ``sid`` (``_MOVING``), if unchanged.  What the old id holds then, as far
        as this request knows (as loaded, when another request changed it first, or nothing was noted: step 4,
        ``_mark_old_id``, finds what it is).
        From the moment the new id is listed until the old one is marked, the cap per user of a login on
        another device and ``sessions_of`` see both ids under the person: the note makes them one session.
        A request that saved into the old id after this one loaded it, just before the note, leaves a record
        that the note goes into then (once), if it is still the person's session: what is returned is still
        the record as loaded, noted (not what the old id holds), so that step 4 finds that save and merges it
        into the new id, as it merges any save made while the move runs.
        A record that notes another request's move of the session (two tabs, or a copy of the cookie, moving it
        at once) is not noted over: this move waits for that one (``_other_move_done``), since two new ids would
        be listed and only one noted.  When the old id holds a marker by then (that move is done, or another
        request ended the session), that marker is returned: this move stores no new id (``_moved_first``)."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        if user_key is None or not manager.notes_ends:
            return self.snapshot  # (nothing counted twice: nobody's session, or a store listing none)
        loaded = _noting_move(self.snapshot, user_key, sid)
        if loaded is None:
            return self.snapshot  # (nor in another person's listing)
        current: Any = self.snapshot
        deadline = time.monotonic() + _MOVE_WAIT  # (one wait for both tries, not one each)
        for _ in range(2):  # the record as loaded, then as a save into the old id meanwhile left it
            current = self._other_move_done(current, sid, deadline)
            noted = _noting_move(current, user_key, sid)
            if noted is None:
                break
            text, stored = noted
            done, current = manager.update(self.old_sid, current, text, manager.ttl(stored.lifetime, stored.created_ms))
            if done:
                return loaded[0]
        return current if _marker(current) is not None else self.snapshot

    def _other_move_done(self, current: Any, sid: str, deadline: float) -> Any:
        """For ``_note_move`` (to the new id ``sid``) of the old id's record ``current``: ``current`` if it notes
        no other move; else what the old id holds once that other request's move is no longer under way: its
        marker (done), the "ended" marker, nothing, or a record noting no move there (it failed).  The old id
        is read again at growing intervals; at ``deadline`` (``_MOVE_WAIT`` seconds after the move began to note
        itself: that request died between its two steps, or its store is that slow), what it holds then: this
        move notes its own new id over the other's, logged (by the call that waited)."""
        other = _noted_elsewhere(current, sid)
        if other is None:
            return current
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        pause, waited = 0.002, False
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause, waited = min(pause * 2, 0.05), True
            current = manager.store.load(self.old_sid)
            other = _noted_elsewhere(current, sid)  # (another move still: the same, or one that took over from it)
            if other is None:
                return current
        if waited:
            manager.log.write(logging.WARNING, 'Session: %s... was still being moved to %s... by another request '
                              'after %s s: this request moves it all the same', self.old_sid[:6], other[:6],
                              _MOVE_WAIT)
        return current

    def _create_new_id(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        """Step 2 of ``_move_old_id``, noted -> created: the session stored under its new id ``sid``, listed
        under its person ``user_key`` (None: nobody's).  If the store fails, it may have written ``sid`` all the
        same (a Redis connection cut after the command ran: once the note goes, it would count as another
        session of its user until it expired): ``_move_old_id`` undoes the move (``_undo_new_id``)."""
        manager = self.manager
        assert manager is not None
        manager.create_moved(sid, record, ttl, user_key, self.old_sid)

    def _overtaken_at_login(self, sid: str, login: Optional[str]) -> bool:
        """Step 3 of ``_move_old_id``, for a ``login`` (the person's key; None: no login), created -> overtaken
        or not: whether ``end_sessions`` of that person ran after the login was checked, and so ended ``sid``
        (``_ended_while_logging_in``).  ``_create_new`` asks it too, of a login without a session: the one place
        this is decided."""
        return bool(login is not None and self.login_at and self._ended_while_logging_in(sid, login))

    def _mark_old_id(self, sid: str, record: str, expected: str) -> str:
        """Step 4 of ``_move_old_id``, created -> marked: the old id's record (``expected``, as this request
        left it) replaced by the marker naming ``sid`` (``_write_marker``); a save another request made there
        meanwhile is merged into ``sid`` and the marker tried again; a try that finds the move settled otherwise
        ends it with what ``_settled_before_move`` says.  When every try loses to requests changing the session,
        a logout or a login of another person ends the old id all the same (``_leave_changing``); else the
        ``StoreUnavailable`` raised says so, and ``_move_old_id`` removes ``sid`` (``_undo_new_id``)."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        user_key = _user_key(self._record_user())
        changes = None
        for attempt in range(_UPDATE_TRIES):
            started = time.monotonic()
            done, current = self._write_marker(sid, expected)
            if done:
                return record
            settled = self._settled_before_move(sid, record, current, user_key)
            if settled is not None:
                return settled
            assert current is not None
            if changes is None:
                changes = self._changes() if _record_user_key(self.snapshot) in (None, user_key) else ()
            moved = self._merged_under(sid, record, current, changes)
            if moved is None:  # the new id was ended meanwhile (end_sessions)
                return _ENDING
            record, expected = moved, current
            _pause_after_collision(attempt, started)
        if user_key != _record_user_key(self.snapshot):
            return self._leave_changing(record)
        raise StoreUnavailable('the session %s... kept changing under concurrent requests' % self.old_sid[:6])

    def _write_marker(self, sid: str, expected: str) -> Tuple[bool, Optional[str]]:
        """One try of ``_mark_old_id``: the store's ``update`` of the old id from ``expected`` to the marker
        naming ``sid``.  If it raises, the old id is read back first: when it holds that marker all the same
        (the store ran the write and lost its answer, as a Redis connection cut after the command ran does),
        the move is complete and the login stands (logged); otherwise, or if the store cannot tell, the
        error goes on (and the new id is removed, as for any failure).  A store that did not answer in time
        (``_timed_out``) is not read back: that would be a second wait before the 503 (``_undo_new_id`` then
        asks it nothing either)."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        try:
            return manager.update(self.old_sid, expected, _MOVED_TO % sid, _MOVED_TTL)
        except Exception as failure:
            if _timed_out(failure):
                self.marker_unanswered = not getattr(failure, 'unapplied', False)  # (not if unsent or rolled back)
                raise
            try:
                marked = _moved_to(manager.store.load(self.old_sid)) == sid
            except Exception:
                marked = False
            if not marked:
                raise
        manager.log.write(logging.WARNING, 'Session: %s... moved to %s...: the store failed answering the write '
                          'that marks the old id moved, but the old id is marked: the move stands',
                          self.old_sid[:6], sid[:6])
        return True, None

    def _settled_before_move(self, sid: str, record: str, current: Optional[str],
                             user_key: Optional[str]) -> Optional[str]:
        """For ``_mark_old_id``, whose try to mark the old id found ``current`` there instead: what is stored when
        that settles the move, one outcome each: gone (nothing there, ``_gone_before_move``), moved first (ended or
        moved by another request, ``_moved_first``), or backed off (taken over by another move, ``_taken_over``:
        ``sid`` goes, ``_MOVED``); None when it is a save made meanwhile, to merge and try again."""
        if current is None:  # (expired, or ended or moved longer ago than a marker lives)
            return self._gone_before_move(sid, record, user_key)
        if _marker(current) is not None:
            return self._moved_first(sid, record, current)
        if self._taken_over(current, sid, user_key):
            manager = self.manager
            assert manager is not None
            manager.store.delete(sid)
            return _MOVED
        return None

    def _gone_before_move(self, sid: str, record: str, user_key: Optional[str]) -> str:
        """The old id holds nothing when this request comes to move it (``_move_old_id``): the session
        expired while the request ran, or the store lost it.  A login (a new person: the credentials
        were checked in this request) keeps its new session, as a login without a session would have
        made one; anything else (a logout, ``regenerate()``) stores nothing: ``_ABSENT``."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        if user_key is not None and user_key != _record_user_key(self.snapshot):
            manager.log.write(logging.WARNING, 'Session: %s... was no longer in the store when the login of this '
                              'request saved it (it expired meanwhile, or the store lost it): the login was kept '
                              'in a new session', self.old_sid[:6])
            return record
        manager.store.delete(sid)
        return _ABSENT

    def _moved_first(self, sid: str, record: str, current: Any) -> str:
        """Another request ended the old id (``current`` is ``_ENDING``) or moved it (a marker)
        before this one could (-> moved first, found at step 1 or 4 of ``_move_old_id``).  Ended: nothing is
        stored (``_ENDING``: the answer expires the cookie, as any request's that outlives a logout does).
        A logout (``session.user = None``) ends the session where it moved to, if it is still the same
        person's, and keeps its own new session (``record``).  A login of the same person as the session moved
        to adopts that id (its changes merged in): it proved who it is.  A request that called
        ``end_other_sessions()`` ends the session where it moved to too, if it is still the same person's
        (whoever moved it may hold a copy of the cookie), and stores nothing (``_ENDING``).  Anything else
        stores nothing (``_MOVED``: the browser's cookie, if it got one, stands), a ``regenerate()`` included:
        a stolen id racing one gains nothing."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        target = _moved_to(current)
        if not target:  # (None: the "ended" marker; '': a move to an id the marker does not name)
            manager.store.delete(sid)
            return _stop_of(current)
        loaded = _record_user_key(self.snapshot)
        user_key = _user_key(self._record_user())
        stored = self._ended_where_it_went(sid, record, current, loaded, user_key)
        if stored is not None:
            return stored
        manager.store.delete(sid)
        there = manager.store.load(target)
        if (loaded == user_key or there is None or _marker(there) is not None
                or _record_user_key(there) != user_key):  # not a login, or not its person's session
            return _MOVED
        self.sid = target  # the same person: this request's changes go where the session is now
        return self._update()

    def _ended_where_it_went(self, sid: str, record: str, current: str, loaded: Optional[str],
                             user_key: Optional[str]) -> Optional[str]:
        """For ``_moved_first``: a logout (``user_key`` None) or a request that called ``end_other_sessions()``
        ends the session where another request moved it (``current``: the old id's marker), if it is still the
        same person's (``loaded``); what is stored then: the logout's own new session (``record``), or nothing
        (``_ENDING``: the new id ``sid`` goes, the answer expires the cookie).  None: nothing was ended."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        if loaded is None or not (user_key is None or self.ends_others):
            return None
        if not manager.end_session(self.old_sid, loaded, expected=current):
            return None
        if user_key is None:
            return record
        manager.store.delete(sid)
        return _ENDING

    def _taken_over(self, current: str, sid: str, user_key: Optional[str]) -> bool:
        """For ``_mark_old_id`` (of a move to ``sid``): the old id's record ``current`` notes another move, one that
        waited for this one longer than ``_MOVE_WAIT`` and then noted its own new id over this one's
        (``_other_move_done``), and this move is a plain one (a ``regenerate()``, the same person's): that move
        moves the session, and this one stores nothing, as a move that finds the other's marker first does (a
        logout, a login of another person and ``end_other_sessions()`` go on, as against a save)."""
        return (not self.ends_others and user_key is not None and user_key == _record_user_key(self.snapshot)
                and _noted_elsewhere(current, sid) is not None)

    def _merged_under(self, sid: str, record: str, current: Any, changes: Any) -> Optional[str]:
        """This request's ``changes`` (none when the person changed) applied to ``current``, the old
        id's record as a parallel request left it, stored under the new id ``sid`` in place of
        ``record``; the record it holds now, or None if the new id ended meanwhile (end_sessions)."""
        merged = self._merged(current, changes, noted=False) if changes else None
        if merged is None:
            return record
        manager = self.manager
        assert manager is not None  # (the lifetime, too, may be another's now)
        return merged if manager.update(sid, record, merged, manager.ttl(self.lifetime, self.created_ms))[0] else None

    def _leave_changing(self, record: str) -> str:
        """``_move_old_id`` of a logout or a login of another person lost every try to requests that changed
        the old id's session: that person's session ends here all the same, its record replaced by the
        "ended" marker without comparing (whoever holds a copy of its cookie could otherwise keep it, and
        make the logout a 503, by changing it without pause), as ``_end_anyway`` does: a request still
        running on the old id then finds it ended (nothing stored, the cookie expired).  An anonymous
        session that a login lost to is deleted instead: its parallel requests are the browser's own,
        whose expired cookie would log out the person who just logged in.  The session stays under its
        new id: ``record``."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        if _record_user_key(self.snapshot) is None:
            manager.store.delete(self.old_sid)
            marker = 'deleted'
        else:
            manager.store.save(self.old_sid, _ENDING, _MOVED_TTL)
            marker = 'ended without the usual check that it was unchanged'
        manager.parsed.pop(self.old_sid, None)
        manager.log.write(logging.WARNING, 'Session: %s... kept changing under concurrent requests while its user '
                          'changed: %s', self.old_sid[:6], marker)
        return record

    def _undo_new_id(self, sid: str, failure: Exception, create_failed: bool = False,
                     expected: Optional[str] = None) -> None:
        """A step of storing the session under its new id ``sid`` failed (the request answers 503 or 500) before
        the browser could learn that id (for a move, step 5 of ``_move_old_id``: -> undone): undo what the store
        may hold of it, in one decision.  ``sid`` goes,
        since no cookie names it and it would be listed, and counted, among its user's sessions until it
        expired; for a move (``expected``: the old id's record as ``_note_move`` left it), so does its note in
        the old id's record (``_drop_note``).  ``sid`` is not asked about when the step that failed was the
        store's ``create`` (``create_failed``) and it cannot have written the id (``_create_wrote_nothing``).
        Nothing at all is asked when the store did not answer in time (``timed_out``), nor after a removal of
        ``sid`` that did not: each call would wait out one more timeout before the 503 (on a single Redis it is
        refused unasked anyway, ``RedisStore._still_stalled``); what stays is logged (``_left_after_timeout``)."""
        manager = self.manager
        assert manager is not None
        manager.parsed.pop(sid, None)
        written = not (create_failed and _create_wrote_nothing(manager.store, failure))
        noted = expected is not None and expected != self.snapshot
        if _timed_out(failure):  # (maybe the old id's marker, which the store may still run)
            self._left_after_timeout(sid, written, noted, marking=self.marker_unanswered)
        elif written and _timed_out(self._delete_new_id(sid)):
            self._left_after_timeout(sid, False, noted)
        elif noted:
            self._drop_note(sid)

    def _delete_new_id(self, sid: str) -> Optional[Exception]:
        """For ``_undo_new_id``: remove ``sid``; the error of a store that could not (logged), else None."""
        manager = self.manager
        assert manager is not None
        try:
            manager.store.delete(sid)
        except Exception as error:  # (the store is down: what failed first is what the answer tells)
            manager.log.write(logging.WARNING, 'Session: %s... could not be removed after saving the session '
                              'failed (it stays in the store until it expires): %s', sid[:6],
                              _mask_urls(_safe_text(error)) or type(error).__name__)
            return error
        return None

    def _left_after_timeout(self, sid: str, written: bool, noted: bool, marking: bool = False) -> None:
        """For ``_undo_new_id``, which asks a store that did not answer in time nothing more: one WARNING saying
        what stays, the new id ``sid`` if the store may have ``written`` it, the note of the move if ``noted``, and,
        when the write that timed out is the old id's marker (``marking``: ``marker_unanswered``), what the browser
        finds if the store runs it after all (a stalled Redis does, once it resumes; a SQLite write that waited out
        its busy timeout was rolled back, ``unapplied``, and is not ``marking``): no session, since its cookie
        still names the old id and a marker is not followed to a new id (whoever holds a copy of that cookie would
        gain the session).  For a move (``old_sid``), the WARNING says the session goes on under its old id."""
        manager = self.manager
        assert manager is not None
        late = ''
        if marking:
            assert self.old_sid is not None
            late = (', unless the store still runs the write that marks %s... moved (a stalled Redis does, once it '
                    'resumes): the browser, whose cookie names that id, then finds no session there (it starts anew, '
                    'logged out, its data gone: the user logs in again)' % self.old_sid[:6])
        if not noted:
            if written:
                manager.log.write(logging.WARNING, 'Session: %s... may stay in the store until it expires: the '
                                  'store did not answer in time while saving it, and is not asked again to remove '
                                  'it (a second wait before the 503)%s', sid[:6],
                                  '.  The session goes on under its old id' + late if self.old_sid else '')
            return
        assert self.old_sid is not None
        manager.log.write(
            logging.WARNING, 'Session: %s... keeps the note of its failed move to %s...%s: the store did not answer '
            'in time, and is not asked again (a second wait before the 503).  The session goes on under its old '
            'id%s; the note counts only while the new id is stored (the two ids then count as one session of the '
            'user); a logout ends it with the session, and the next move of the session (a login, regenerate()) '
            'waits %s s for the failed one, then notes itself over it', self.old_sid[:6], sid[:6],
            ', which may stay in the store until it expires' if written else '', late, _MOVE_WAIT)

    def _drop_note(self, sid: str) -> None:
        """For ``_undo_new_id`` of a move to the new id ``sid`` that ``_note_move`` noted (``_MOVING``): the old
        id's record no longer notes it, if the store lets: a compare-and-set, tried again (``_UPDATE_TRIES`` at
        most) when a request saving into the old id meanwhile wrote the record anew, its note kept.  Left there,
        the note would name an id no cookie holds while the session went on under its old one, its next move
        would wait for this one (``_other_move_done``), and the version before would read the record as corrupt."""
        manager = self.manager
        assert manager is not None and self.old_sid is not None
        try:
            current = manager.store.load(self.old_sid)
            for _ in range(_UPDATE_TRIES):
                stored = _read_record(current) if current is not None else None
                if stored is None or stored.moving != sid:
                    return
                unnoted = _encode_record(stored.data, _record_tail(stored.user, stored.created_ms, stored.user_expires,
                                                                   stored.lifetime, stored.line))
                done, current = manager.update(self.old_sid, current, unnoted,
                                               manager.ttl(stored.lifetime, stored.created_ms))
                if done:
                    return
        except Exception:  # (ValueError: no record any more; else the store is down: what failed first is told)
            pass

    def _extend(self, sid: str, ttl: float) -> Tuple[Optional[str], float]:
        """Give the session ``sid`` ``ttl`` seconds from now if the store still holds the record this
        request loaded (a compare-and-set of that record to itself).  Return what stops it (``_ENDING``
        when another request ended the session, ``_MOVED`` when one moved it, ``_ABSENT`` when the
        store holds nothing under the id; None while it lives)
        and the length the store gives it: ``ttl``, or, when another request changed the record
        meanwhile and set its life then (not set again here), the length of that record if it has
        one of its own (0 if not); 0 when the store kept its life as it was (``_UNEXTENDED``: a full disk), so
        that its cookie is not sent again promising a lifetime the store did not record."""
        manager = self.manager
        assert manager is not None
        done, current = manager.update(sid, self.snapshot, self.snapshot, ttl)
        if done:
            return None, ttl if current is None else 0.0
        if current is None:
            return _ABSENT, 0.0
        if _marker(current) is not None:  # ended or moved
            return _stop_of(current), 0.0
        try:
            stored = _read_record(current)
        except ValueError:  # (corrupt: no session for the next request either)
            return None, 0.0
        return None, manager.ttl(stored.lifetime, stored.created_ms) if stored.lifetime else 0.0

    def _update(self) -> str:
        """Replace the stored record with this request's changes; or what stops it (``_ENDING`` when
        another request ended the session, ``_MOVED`` when one gave it a new id, ``_ABSENT`` when the
        store holds nothing under the id); ``_FOLLOWED`` when the changes went to that new id instead
        (see ``_follow``).

        Called when the record is no longer the one this request loaded: this request's
        changes (the keys of ``data`` it set or deleted, the user, the lifetime) are applied
        to what is stored now, which is replaced if still unchanged; tried a few times, each
        after a short random pause so that requests colliding on one session spread out.
        """
        manager = self.manager
        assert manager is not None and self.sid is not None
        changes = self._changes()
        for attempt in range(_UPDATE_TRIES):
            started = time.monotonic()
            current = manager.store.load(self.sid)
            if current is None:
                return _ABSENT
            if _moved_to(current) is not None:
                return self._follow(current, changes)
            merged = self._merged(current, changes)
            if merged is None:  # ended (its marker), or no longer a session record: nothing to apply the changes to
                return _ENDING
            if manager.update(self.sid, current, merged, manager.ttl(self.lifetime, self.created_ms))[0]:
                self.snapshot = merged
                return merged
            _pause_after_collision(attempt, started)
        raise StoreUnavailable('the session %s... kept changing under concurrent requests; '
                               'this request\'s changes were not saved' % self.sid[:6])

    def _follow(self, marker: Any, changes: _Changes) -> str:
        """A parallel login or regenerate moved the session after this request loaded it (``marker``:
        what the loaded id holds now): apply this request's changes where the session went, merged
        as ``_update`` merges them, if this request left the user alone and the session there is its
        person's.  ``_FOLLOWED`` once applied; ``_MOVED`` (nothing stored) when not allowed, or when
        the session there is another person's, ended, or still a marker after ``_FOLLOW_HOPS`` moves."""
        if self.old_sid is not None or changes[2]:  # a login, logout or regenerate of its own: not here
            return _MOVED
        manager = self.manager
        assert manager is not None and self.sid is not None
        loaded = _record_user_key(self.snapshot)
        stand_in = SessionState()  # takes the merge: this request's own view (a streamed body's) stays its own
        stand_in.lifetime = self.lifetime
        sid, current, hops = self.sid, marker, 0
        for attempt in range(_UPDATE_TRIES):
            started = time.monotonic()
            sid, current, hops = self._through_markers(sid, current, hops)
            merged = stand_in._merged(current, changes) if _may_follow(current, loaded, hops) else None
            if merged is None:
                return _MOVED
            done, current = manager.update(sid, current, merged, manager.ttl(stand_in.lifetime, stand_in.created_ms))
            if done:
                return _FOLLOWED
            _pause_after_collision(attempt, started)
        raise StoreUnavailable('the session %s... kept changing under concurrent requests; '
                               'this request\'s changes were not saved' % sid[:6])

    def _through_markers(self, sid: str, record: Any, hops: int) -> Tuple[str, Any, int]:
        """From ``record``, what ``sid`` holds, to where its moved markers lead, ``_FOLLOW_HOPS``
        moves at most in all (``hops``: those made already): that id, what it holds, the moves."""
        manager = self.manager
        assert manager is not None
        target = _moved_to(record)
        while target and hops < _FOLLOW_HOPS:
            sid, record, hops = target, manager.store.load(target), hops + 1
            target = _moved_to(record)
        return sid, record, hops

    def _changes(self) -> _Changes:
        """What this request changed since it loaded: keys set, keys deleted, user, lifetime."""
        try:
            base = _read_record(self.snapshot)
        except ValueError:
            base = _Record({}, None, 0, 0, 0, None)
        old = base.data
        changed = {key: value for key, value in self.data.items()
                   if key not in old or _encode_json(value) != _encode_json(old[key])}
        deleted = [key for key in old if key not in self.data]
        user_changed = ((self._record_user(), int(self.user_expires), self.login_line)
                        != (base.user, base.user_expires, base.line))
        return changed, deleted, user_changed, self.lifetime != base.lifetime

    def _merged(self, current: str, changes: _Changes, noted: bool = True) -> Optional[str]:
        """This request's changes applied to the record stored now (self takes the result); None if
        that is no session record (corrupt: a request reading it finds no session, as after a logout).
        The note of a move under way (``_MOVING``) that record has stays, for a result stored under the
        same id; not with ``noted=False``, for one that the move stores under its new id."""
        changed, deleted, user_changed, lifetime_changed = changes
        try:
            stored = _read_record(current)
        except ValueError:
            return None
        data = dict(stored.data)
        data.update(changed)
        for key in deleted:
            data.pop(key, None)
        self.data = data
        if not self.created_anew:
            self.created_ms = stored.created_ms
        if not user_changed:
            self._take_user(stored.user, stored.user_expires)
            self.login_line = stored.line
        if not lifetime_changed:
            self.lifetime = stored.lifetime
        # (the note as stored now, not as this request loaded it: else the pair counted twice again)
        self.tail = _record_tail(self._record_user(), self.created_ms, int(self.user_expires), self.lifetime,
                                 self.login_line, stored.moving if noted else None)
        return self.record()

    def _ended(self, headers: Headers, https: bool, stop: str) -> None:
        """The session cannot be saved, and nothing is stored: another request ended it (``stop`` is
        ``_ENDING``: logout, ``end_sessions``) or moved it to a new id (``_MOVED``: login, regenerate)
        while this one ran, or the store holds nothing under its id any more (``_ABSENT``).  Only
        after an end is the cookie expired.  After a move the browser's cookie is the new id, which
        must stay; a session that is simply absent may have expired, or ended or moved longer ago
        than a marker lives, and the browser may hold a newer id by now (a cookie naming no session
        only means a fresh one at the next request)."""
        manager = self.manager
        assert manager is not None
        self.ended = True
        shown = (self.old_sid or self.sid or '')[:6]
        if stop is _ABSENT:
            manager.log.write(logging.WARNING, 'Session: %s... is no longer in the store (it expired, was ended or moved '
                              'over %d s ago, or the store lost it): nothing was saved and the cookie is left as it is',
                              shown, _MOVED_TTL)
            return
        manager.log.write(logging.WARNING, 'Session: %s... was %s by another request while this request ran: '
                          'nothing was saved', shown,
                          'moved to a new id (login) or ended' if stop is _MOVED else 'ended (logout)')
        if stop is _ENDING and self.cookie_sid:
            manager.set_cookie(headers, '', https, expire=True)

    # -- a body streamed after the response started (see _StreamedBody) --------
    def settle(self) -> None:
        """After ``finish``: what the store now holds becomes the baseline of ``finish_late``."""
        self.settled = True
        self.old_sid, self.dead = None, ()
        if self.ended:
            self.exists, self.sid = False, None
        elif self.sid is not None and (self.exists or self.keep_empty or self.data):  # finish stored it
            self.exists, self.cookie_sid, self.snapshot = True, self.sid, self.record()

    def _needs_new_id(self) -> bool:
        """True if storing the session now would need a cookie other than the one the client holds."""
        new_id = self.old_sid is not None or self.sid is None or self.sid != self.cookie_sid
        return new_id and bool(self.keep_empty or self.data or self.exists)

    def finish_late(self) -> Optional[str]:
        """Save what a streamed body changed after the response started; or say why it cannot be.

        The cookie went out with the headers: changes to the session the client holds are
        saved, ended sessions are deleted, but a change that needs a new id (a new session,
        a login or logout) cannot reach the client and is not stored.
        """
        manager = self.manager
        if not self.loaded or manager is None or self.ended:
            return None
        if self._needs_new_id():
            self._delete_left_ids()
            return ('the session changed after the answer started in a way that needs a new session '
                    'cookie, which can no longer be sent: the change was not saved')
        if self.dead or not self.exists or self.record() != self.snapshot or not self.settled:
            self.finish([], False)  # (first read after the response started: its life slides here)
        return None

    def _delete_left_ids(self) -> None:
        """End the sessions this request ended, and delete the one it moved away from."""
        assert self.manager is not None
        self._end_dead_ids()
        if self.old_sid:
            self.manager.store.delete(self.old_sid)

    def keep_own_lifetime(self) -> None:
        """For a request that stores nothing (a 5xx, or data it could not store): a store that extends
        a session's life as it loads it may have given a remembered session the plain timeout (a store of
        the app's own; Redis's read keeps a session's own length, and is left alone); give it its own length
        back, if it is still the session this request loaded."""
        manager = self.manager
        if not (self.loaded and self.exists and manager is not None and manager.load_cuts_lifetime) or self.old_sid:
            return
        try:
            lifetime = _read_record(self.snapshot).lifetime
        except ValueError:
            return
        if lifetime and self.sid is not None:
            self._extend(self.sid, manager.ttl(lifetime, self.created_ms))


def _served_without_canister() -> bool:
    """Whether the app of the request bottle serves (or served last) in this thread has no canister
    installed: a handler of an app it was never installed on, the likely cause of a session missing."""
    try:
        app = bottle.request.environ.get('bottle.app')
    except RuntimeError:  # no request in this thread yet
        return False
    return app is not None and not any(getattr(plugin, 'name', None) == 'canister' for plugin in app.plugins)


def _outside() -> CanisterError:
    """The error of a change to ``session`` where canister serves no request (it would be lost)."""
    if _served_without_canister():
        return CanisterError('canister.session is only available while canister serves a request, and the app '
                             'bottle serves (or served last) in this thread has no canister installed: '
                             'app.install(canister.Canister()) on the app whose routes use the session')
    return CanisterError('canister.session is only available while canister serves a request, in the thread that '
                         'serves it (not at import time, in another thread, or after the response)')


def _state() -> SessionState:
    """The session of the request this thread serves; CanisterError outside one (a change would be lost)."""
    context = _local.context
    if context is None:
        raise _outside()
    return context


class _OutsideData(Dict[str, Any]):
    """``session.data`` where no request is served: empty, and refusing changes, which would be lost."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise _outside()

    #: The dict methods that change the data, each refused (``|=`` too: dict's own merges in place
    #: without calling ``update``).
    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _refuse


_OUTSIDE_DATA = _OutsideData()


#: What Flask's logout (``session.clear()``, ``session.pop('user_id')``) means here: emptying the data
#: would leave the user logged in.
_LOGOUT_HINT = ("canister's session is not a dict: to log out, call session.invalidate() (or assign "
                "session.user = None); %s would leave the user logged in")


class Session:
    """The current request's session: ``sid``, ``user``, ``data`` and ``invalidate()``.

    Nothing is created until it is needed: reading ``data`` or ``user`` on a request
    without a session gives ``{}`` and ``None``; reading ``sid``, setting ``user`` or
    storing something in ``data`` makes the session real.  Where no request is served,
    reading gives ``{}`` and ``None`` too, and anything else raises :class:`CanisterError`.
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
            return _OUTSIDE_DATA
        if not state.loaded:
            state.load()
        return state.data

    @data.setter
    def data(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise SessionDataError('session.data must be set to a dict, not a %s' % type(value).__name__)
        state = _state()
        state.load()
        state.data = dict(value)

    @property
    def user(self) -> Any:
        """The logged-in user, or None (also where no request is served)."""
        state = _local.context
        if state is None:
            return None
        if not state.loaded:
            state.load()
        return state.user

    @user.setter
    def user(self, value: Any) -> None:
        state = _state()
        if type(value) is not str:  # refused here, where the app can see which line did it
            error = _unstorable_error(value, 'session.user')
            if error is not None:
                raise error
        state.set_user(value)

    def invalidate(self) -> None:
        """End the session: delete it on the server and expire the cookie (logout)."""
        _state().invalidate()

    def regenerate(self) -> str:
        """Move the session to a new id, keeping data and user (after raising privileges)."""
        return _state().regenerate()

    def remember(self, seconds: Union[int, datetime.timedelta]) -> None:
        """Keep this session for ``seconds`` (or a ``timedelta``) of inactivity, with a persistent cookie ("remember me")."""
        _state().remember(seconds)

    def end_other_sessions(self) -> int:
        """End every other live session of the logged-in user, and move this one to a new id (a copy of its
        cookie, a thief's, is another device too: only this answer carries the new id); return how many were ended."""
        state = _state()
        if state.manager is None:
            return 0
        state.load()
        if not _is_someone(state.user):
            return 0
        ended = state.manager.end_sessions(state.user, keep=(state.sid, state.old_sid, state.cookie_sid))
        state.login_at = 0.0  # (a login of this request, kept: the one ending the others)
        state.ends_others = True
        if state.exists:  # (no stored session, a cookie-less client's login: none to move, none made)
            state.regenerate()  # (a login of this request has its new id already: it keeps it)
        return ended

    #: What a Flask habit of setting an attribute on the session means here.
    _ATTRIBUTE_HINTS = {
        'permanent': 'for a persistent cookie, call session.remember(seconds)',
        'modified': 'canister sees every change to session.data, nested values included, and saves it',
    }

    def __setattr__(self, name: str, value: Any) -> None:
        """Only ``data`` and ``user`` are set: ``session`` is one object for every request, so an attribute
        set on it (``session.cart = ...``, Flask's ``session.permanent = True``) would be every user's."""
        if name in ('data', 'user'):
            object.__setattr__(self, name, value)
            return
        raise AttributeError("canister's session takes no attribute %r: it is one object for every request, so "
                             "its value would be every user's; %s" % (name, self._ATTRIBUTE_HINTS.get(
                                 name, 'keep values in session.data[%r]' % name)))

    def __getitem__(self, key: Any) -> Any:
        raise TypeError("canister's session is not a dict: its values are session.data[%r]" % (key,))

    #: The keys a Flask app's login puts the user under (Flask-Login's ``_user_id`` among them).
    _USER_KEYS = frozenset(('user', 'user_id', '_user_id', 'userid', 'username', 'user_name', 'logged_in'))

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, str) and key.lower() in self._USER_KEYS:  # a login, written as Flask apps write it
            raise TypeError("canister's session is not a dict: for a login, assign session.user = ... (which gives "
                            "the session a new id, against session fixation) or call canister.log_in(name, "
                            "password); other values go in session.data[%r] = ..." % (key,))
        raise TypeError("canister's session is not a dict: write session.data[%r] = ..." % (key,))

    def __delitem__(self, key: Any) -> None:
        if isinstance(key, str) and key.lower() in self._USER_KEYS:  # a logout, written as Flask apps write it
            raise TypeError(_LOGOUT_HINT % ('del session.data[%r]' % (key,)))
        raise TypeError("canister's session is not a dict: write del session.data[%r]" % (key,))

    def __contains__(self, key: Any) -> bool:  # (else ``in`` would try session[0], and say so)
        raise TypeError("canister's session is not a dict: its values are in session.data (%r in session.data)"
                        % (key,))

    def __iter__(self) -> typing.Iterator[Any]:
        raise TypeError("canister's session is not a dict: its values are in session.data")

    def __len__(self) -> int:
        raise TypeError("canister's session is not a dict: its values are in session.data (len(session.data))")

    def __bool__(self) -> bool:  # (else ``if session:``, Flask's "has it values?", would be true for everyone)
        raise TypeError("canister's session is not a dict, neither empty nor not: write if session.data: for its "
                        "values, or if session.user: for a login")

    def __repr__(self) -> str:
        state = _local.context
        if state is None:
            return '<canister session (no request)>'
        return '<canister session %s user=%r data=%r>' % (
            (state.sid or '-')[:6], state.user, state.data)


def _not_a_dict(name: str) -> Callable[..., Any]:
    """A dict method called on ``session`` itself, a Flask habit (``session.get('cart')``): it says
    where the values are, or how to log out for Flask's logout (``session.clear()``, ``session.pop('user_id')``)."""
    def refuse(self: Session, *args: Any, **kwargs: Any) -> Any:
        if name == 'clear':
            raise TypeError(_LOGOUT_HINT % 'session.data.clear()')
        if name == 'pop' and args and isinstance(args[0], str) and args[0].lower() in Session._USER_KEYS:
            raise TypeError(_LOGOUT_HINT % ('session.data.pop(%r)' % (args[0],)))
        raise TypeError("canister's session is not a dict: its values are in session.data (session.data.%s)" % name)
    refuse.__name__ = name
    return refuse


for _name in ('get', 'pop', 'setdefault', 'update', 'clear', 'keys', 'values', 'items', 'copy', 'popitem'):
    setattr(Session, _name, _not_a_dict(_name))
del _name

#: The current request's session (thread local, like ``bottle.request``).
session = Session()


def request_id() -> str:
    """The current request's id (also sent back in the ``X-Request-ID`` header)."""
    context = _local.context
    return context.request_id if context is not None else ''


def client_address() -> str:
    """The current request's client address, as the log gives it: ``REMOTE_ADDR``, or what a proxy
    listed in ``trusted_proxies`` says (a client cannot forge it with ``X-Forwarded-For``, as it can
    Bottle's ``request.remote_addr``); ``-`` if the server gives none, '' outside a request."""
    context = _local.context
    return context.client if context is not None else ''


###############################################################################
# Authentication ##############################################################
###############################################################################

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode('ascii').rstrip('=')


def _realm(config: Config) -> str:
    """``auth_realm`` as the quoted string of a challenge: its quotes left out, a backslash escaped (a
    browser would read ``a\\b`` as ``ab``)."""
    return '"%s"' % config['auth_realm'].replace('"', '').replace('\\', '\\\\')


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


#: The PBKDF2 rounds of :func:`hash_password` by default (OWASP's advice for PBKDF2-HMAC-SHA256).
_PBKDF2_ROUNDS = 600000
#: The most ``hashlib`` takes: PBKDF2's rounds, and scrypt's ``maxmem`` (a C int each).
_HASHLIB_MOST = 2 ** 31 - 1


def _scrypt_maxmem(n: int, r: int) -> int:
    """The memory scrypt of ``n`` and ``r`` is allowed: twice what it needs, and a MiB."""
    return 128 * n * r * 2 + 2 ** 20


def _hash_cost_refusal(scheme: str, numbers: List[int]) -> Optional[str]:
    """Why ``hashlib`` would refuse these costs (PBKDF2's rounds; scrypt's ``n``, ``r``, ``p``), or ``None``."""
    if scheme == 'pbkdf2':
        rounds = numbers[0]
        return None if 1 <= rounds <= _HASHLIB_MOST else 'rounds must be from 1 to %d, not %d' % (_HASHLIB_MOST, rounds)
    n, r, p = numbers
    if n < 2 or n & (n - 1):
        return 'n must be a power of 2 of at least 2, not %d' % n
    if r < 1 or p < 1:
        return 'r and p must be at least 1, not %d and %d' % (r, p)
    if n.bit_length() > 16 * r:
        return 'n must be below 2**%d with r=%d (OpenSSL), not %d' % (16 * r, r, n)
    maxmem = _scrypt_maxmem(n, r)
    if maxmem > _HASHLIB_MOST:
        most = 1 << ((_HASHLIB_MOST - 2 ** 20) // (256 * r)).bit_length() - 1
        return ('n=%d with r=%d needs more memory than hashlib allows (maxmem %d bytes at most, so n up to %d)'
                % (n, r, _HASHLIB_MOST, most))
    if 128 * r * (n + p + 2) > maxmem:
        return 'p=%d is too large for n=%d and r=%d' % (p, n, r)
    return None


def hash_password(password: str, scheme: str = 'pbkdf2', iterations: Optional[int] = None) -> str:
    """Hash a password for ``auth_basic_password`` or the users file.

    The result uses only letters, digits, ``-``, ``_`` and ``:``, so it can be pasted
    as is into an ini file (no ``%`` or ``$``) and after ``user:`` in the users file.
    """
    if scheme not in ('pbkdf2', 'scrypt'):
        raise ValueError('scheme must be pbkdf2 or scrypt')
    cost = iterations if iterations is not None else _PBKDF2_ROUNDS if scheme == 'pbkdf2' else 2 ** 14
    refusal = _hash_cost_refusal(scheme, [cost] if scheme == 'pbkdf2' else [cost, 8, 1])
    if refusal:
        raise ValueError('hash_password: iterations=%d is refused for %s: %s' % (cost, scheme, refusal))
    salt = os.urandom(16)
    secret = password.encode('utf-8')
    if scheme == 'pbkdf2':
        digest = hashlib.pbkdf2_hmac('sha256', secret, salt, cost)
        return 'pbkdf2_sha256:%d:%s:%s' % (cost, _b64(salt), _b64(digest))
    digest = hashlib.scrypt(secret, salt=salt, n=cost, r=8, p=1, maxmem=_scrypt_maxmem(cost, 8))
    return 'scrypt:%d:8:1:%s:%s' % (cost, _b64(salt), _b64(digest))


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


def _verify_clear(password: str, secret: bytes, encoded: str) -> bool:
    """A password stored as is (compared as digests, of one length, so the time tells nothing of its length)."""
    return hmac.compare_digest(hashlib.sha256(secret).digest(), hashlib.sha256(encoded.encode('utf-8')).digest())


def _verify_sha256(password: str, secret: bytes, encoded: str) -> bool:
    """A hex SHA-256 digest, with or without its ``sha256:`` prefix."""
    expected = encoded[7:] if encoded.startswith('sha256:') else encoded
    return hmac.compare_digest(hashlib.sha256(secret).hexdigest(), expected.strip().lower())


def _verify_pbkdf2(password: str, secret: bytes, encoded: str) -> bool:
    """``pbkdf2_sha256:rounds:salt:digest`` from :func:`hash_password`."""
    _, rounds, salt, digest = encoded.split(':')
    actual = hashlib.pbkdf2_hmac('sha256', secret, _unb64(salt), int(rounds))
    return hmac.compare_digest(actual, _unb64(digest))


def _verify_scrypt(password: str, secret: bytes, encoded: str) -> bool:
    """``scrypt:n:r:p:salt:digest`` from :func:`hash_password`."""
    _, n, r, p, salt, digest = encoded.split(':')
    actual = hashlib.scrypt(secret, salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_scrypt_maxmem(int(n), int(r)))
    return hmac.compare_digest(actual, _unb64(digest))


def _verify_bcrypt(password: str, secret: bytes, encoded: str) -> bool:
    """A bcrypt hash (``$2b$...``), with the bcrypt extra.  bcrypt hashes the first 72 bytes of a
    password: the bcrypt versions before 5.0 dropped the rest themselves, so a longer password was
    hashed as its first 72 bytes, and is checked so here (5.0 refuses it with a ValueError)."""
    bcrypt = _require('bcrypt')
    return bool(bcrypt.checkpw(secret[:72], encoded.encode('ascii')))


def _verify_argon2(password: str, secret: bytes, encoded: str) -> bool:
    """An argon2 hash (``$argon2id$...``), with the argon2 extra."""
    argon2 = _require('argon2')
    try:
        return bool(argon2.PasswordHasher().verify(encoded, password))
    except argon2.exceptions.VerificationError:
        return False


#: How each scheme checks a password: ``check(password, its UTF-8 bytes, stored form)``.
_PASSWORD_CHECKS: Dict[str, Callable[[str, bytes, str], bool]] = {
    'clear': _verify_clear, 'sha256': _verify_sha256, 'pbkdf2': _verify_pbkdf2, 'scrypt': _verify_scrypt,
    'bcrypt': _verify_bcrypt, 'argon2': _verify_argon2,
}


def _check_in_gevent_pool(check: Callable[[str, bytes, str], bool], password: str, secret: bytes,
                          encoded: str) -> bool:
    """``check(password, secret, encoded)`` in a thread of gevent's pool, where the hash runs without
    the GIL while the greenlets of this thread go on; it raises here what the check raised."""
    def outcome() -> Tuple[bool, Optional[Exception]]:
        try:
            return bool(check(password, secret, encoded)), None
        except Exception as error:  # handed back, not raised: gevent would print a traceback for it
            return False, error

    result, error = sys.modules['gevent'].get_hub().threadpool.apply(outcome)
    if error is not None:
        raise error
    return result


#: Why a stored form that is no hash is refused (``%s``: whose), and how to make one.
_CLEAR_TEXT_REFUSED = ('%s is no hash (clear text?) and is refused, as the users file refuses it: store '
                       'canister.hash_password(password), or the hash python -m canister hash-password prints')


def _stored_text(encoded: Any) -> Optional[str]:
    """The stored form given to :func:`verify_password` as text (``bytes`` read as UTF-8), or None for one that is
    neither, a number or a record where the app's users keep their hashes, with a warning at the app's line."""
    if isinstance(encoded, (bytes, bytearray)):
        return encoded.decode('utf-8', 'replace')
    if encoded is None or isinstance(encoded, str):
        return encoded
    warnings.warn('canister.verify_password: the stored form is a value of type %s, not a stored password (text '
                  'or bytes), and is refused' % type(encoded).__name__, CanisterWarning, stacklevel=3)
    return None


def verify_password(password: str, encoded: Union[str, bytes, None], scheme: Optional[str] = None) -> bool:
    """Check a password against a stored form, in constant time for that form.

    An empty password is never right, and nothing is right for no stored form (``None`` or empty:
    the ``users.get(name)`` of an unknown user), whatever the scheme: a login form that checks
    ``verify_password(password, users.get(name, ''))`` must not let in ``password=`` (as ``'' == ''``
    would), nor is a password that is not text (a JSON number from a request) or has no UTF-8 form
    (a lone surrogate).  A stored form in ``bytes`` is read as UTF-8 (a hash from ``bcrypt.hashpw``); one
    that is neither (a number, a record) is refused with a :class:`CanisterWarning`.
    A stored form that is no hash is refused as clear text, as the users file refuses it, with a
    :class:`CanisterWarning` (``scheme='clear'`` compares it all the same).  Under gevent's
    monkey-patching the hash runs in gevent's thread pool, so the other greenlets run meanwhile.
    """
    encoded = _stored_text(encoded)
    if not isinstance(password, str) or not password or not encoded:
        return False
    scheme = scheme or _hash_scheme(encoded)
    if scheme is None:
        warnings.warn(_CLEAR_TEXT_REFUSED % 'canister.verify_password: the stored form', CanisterWarning, stacklevel=2)
        return False
    check = _PASSWORD_CHECKS.get(scheme)
    if check is None:
        return False
    try:  # (text with a lone surrogate, a JSON body's "\ud800", has no UTF-8: never right, as a ValueError)
        secret = password.encode('utf-8')
        if _sleep_lets_others_run():
            return _check_in_gevent_pool(check, password, secret, encoded)
        return check(password, secret, encoded)
    except (ValueError, OverflowError, TypeError, binascii.Error):  # (hashlib's for a cost no C number holds)
        return False


#: The part of a stored form that sets the work of checking it (its scheme's parameters), per scheme.
_HASH_COSTS = {
    'pbkdf2': re.compile(r'(pbkdf2_sha256:\d+):[\w-]+:[\w-]+'),
    'scrypt': re.compile(r'(scrypt:\d+:\d+:\d+):[\w-]+:[\w-]+'),
    # (the salt's 22nd character carries 2 bits of the 16-byte salt and 4 zero bits: one of '.Oeu', or bcrypt refuses it)
    'bcrypt': re.compile(r'(\$2[aby]\$(?:0[4-9]|[12]\d|3[01])\$)[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}'),
    'argon2': re.compile(r'(\$argon2(?:id|i|d)(?:\$v=\d+)?\$m=\d+,t=\d+,p=\d+)\$[A-Za-z0-9+/]+\$([A-Za-z0-9+/]+)'),
}


def _hash_cost(encoded: str, scheme: str) -> Tuple[str, str]:
    """What a check of this stored form costs: its scheme and the parameters that set the work
    (``pbkdf2_sha256:600000``, ``$2b$12$``, ``$argon2id$v=19$m=65536,t=3,p=4$32``: the last, the
    digest's length); sha256, clear or a malformed hash (refused at once): ``('sha256', '')``."""
    pattern = _HASH_COSTS.get(scheme)
    match = pattern.fullmatch(encoded) if pattern else None
    if match is None:
        return 'sha256', ''
    if scheme == 'argon2':
        return scheme, '%s$%d' % (match.group(1), len(match.group(2)) * 3 // 4)
    return scheme, match.group(1)


def _dummy_hash(scheme: str, cost: str) -> str:
    """A stored form of that scheme and cost (from :func:`_hash_cost`) that no password matches,
    made without paying for a hash: a random salt and digest."""
    if scheme == 'pbkdf2':
        return '%s:%s:%s' % (cost, _b64(os.urandom(16)), _b64(os.urandom(32)))
    if scheme == 'scrypt':
        return '%s:%s:%s' % (cost, _b64(os.urandom(16)), _b64(os.urandom(64)))
    if scheme == 'bcrypt':   # bcrypt's own salt (not every 22 characters are one), then 31 of its alphabet
        salt = _require('bcrypt').gensalt(int(cost[4:6]), b'2a' if cost.startswith('$2a') else b'2b')
        alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
        return salt.decode('ascii') + ''.join(secrets.choice(alphabet) for _ in range(31))
    if scheme == 'argon2':
        head, _, length = cost.rpartition('$')
        return '%s$%s$%s' % (head, base64.b64encode(os.urandom(16)).decode('ascii').rstrip('='),
                             base64.b64encode(os.urandom(int(length))).decode('ascii').rstrip('='))
    return secrets.token_hex(32)


def _unknown_user_hash(entries: Iterable[Tuple[str, str]], default: Tuple[str, str]) -> Tuple[str, str]:
    """What an unknown user's password is checked against, decided from the users alone (never from which
    of them a client tried): a stored form, and its scheme, of the most common scheme and cost among the
    users' (stored form, scheme) ``entries``, with a random salt and digest; ``default`` if there are none."""
    costs = collections.Counter(_hash_cost(stored, scheme) for stored, scheme in entries)
    if not costs:
        return default
    scheme, cost = costs.most_common(1)[0][0]
    return _dummy_hash(scheme, cost), scheme


def _check_login(username: str, password: str, entry: Optional[Tuple[str, str]], dummy: Tuple[str, str]) -> None:
    """Check a login's password against the user's stored form and scheme (``entry``), or, for an
    unknown user (None), against ``dummy``, one of the same cost: the time of a refusal does not
    tell which names exist (a user of another cost is refused after both checks).  AuthFailure if it is wrong."""
    stored, scheme = entry or dummy
    if verify_password(password, stored, scheme) and entry is not None:
        return
    if entry is not None and _hash_cost(stored, scheme) != _hash_cost(*dummy):
        # a user whose hash costs less than an unknown name's (a sha256 line left from 1.x among PBKDF2 ones)
        # pays that cost too: a quick refusal would tell that the name exists
        verify_password(password, *dummy)
    # an unknown name may be the password typed into the wrong field: never shown
    raise AuthFailure('wrong user name or password', 'basic',
                      'wrong password for %r' % username if entry is not None
                      else 'unknown user name (not shown: it may be a password)')


def _hash_problem(encoded: str, scheme: str) -> Optional[str]:
    """Why a stored form of a salted scheme can never match (a part missing or malformed, or costs that
    ``hashlib`` cannot run), or None if its check can use each of its parts."""
    malformed = 'a part of it is missing or malformed (copy it again, in full)'
    if not _HASH_COSTS[scheme].fullmatch(encoded):
        return malformed
    if scheme not in ('pbkdf2', 'scrypt'):
        return None
    *numbers, salt, digest = encoded.split(':')[1:]
    if len(salt) % 4 == 1 or len(digest) % 4 == 1:
        return malformed  # (a base64 text of 4k+1 characters decodes to nothing)
    refusal = _hash_cost_refusal(scheme, [int(number) for number in numbers])
    return None if refusal is None else 'its costs are more than hashlib can run: %s' % refusal


def _check_hash(encoded: str, scheme: str, where: str) -> None:
    """Refuse at install a stored password that could never match."""
    if scheme in ('bcrypt', 'argon2'):
        _require(scheme)
    if scheme == 'sha256' and not re.fullmatch(r'(sha256:)?[0-9a-fA-F]{64}', encoded):
        raise ConfigError('%s is not a hex SHA-256 digest (64 hex characters)' % where)
    if scheme in ('pbkdf2', 'scrypt') and _hash_scheme(encoded) != scheme:
        raise ConfigError('%s is not a %s hash from python -m canister hash-password' % (where, scheme))
    problem = _hash_problem(encoded, scheme) if scheme in _HASH_COSTS else None
    if problem is not None:  # (a check of it would fail every time)
        raise ConfigError('%s is not a whole %s hash: %s' % (where, scheme, problem))


#: The locks of Basic's users and of the in-process login throttles are held across a fork: a
#: child must not inherit one locked by a thread it lacks (its first login would wait forever).
#: They guard a few dict operations.
_AUTH_LOCKS = _ForkLocks()
#: Held across a fork too, but after every other lock (``last``): a finalizer takes it (``_USERS_FILES``, below).
_USERS_FILES_LOCK = threading.RLock()
_ForkLocks(first=_USERS_FILES_LOCK, last=True)


def _users_file_entries(data: bytes) -> List[Tuple[int, Optional[str], str]]:
    """The line number, user and hash of each line of a users file that is not blank or a comment;
    the user is None for a line without one (no ``:``, or nothing before it).  UnicodeDecodeError
    if the file is not UTF-8.

    The one reading of the file's lines: ``hash-password --user`` reads its own line back with it,
    so it never prints a line that this reads as another user, a comment or two lines.
    """
    entries = []
    # (a byte order mark, which Windows editors write first, is no part of the first user's name)
    for number, line in enumerate(data.decode('utf-8-sig').splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, sep, stored = line.partition(':')
        entries.append((number, (name.strip() if sep else '') or None, stored))
    return entries


#: The hash schemes whose stored form has a random salt: a digest of such a line (``BasicAuth.login_line``)
#: tells nothing that helps guess the password.  An unsalted one (``sha256:``, a clear config password) is
#: the password's own function, which a dictionary would match: such a login keeps no line.
_SALTED_SCHEMES = frozenset(('pbkdf2', 'scrypt', 'bcrypt', 'argon2'))


#: The Basic of each users file in this process, by its tag (``BasicAuth._file_tag``, the first 4 characters
#: of a login line): a session's users-file check is made with the file that logged it in, whichever app's
#: canister loads it (a mounted app's sessions are loaded by the parent's, which may have no users file).
_USERS_FILES: 'weakref.WeakValueDictionary[str, BasicAuth]' = weakref.WeakValueDictionary()
#: Every Basic of this process that reads a users file, until closed: when the one ``_USERS_FILES`` holds for a
#: file goes (uninstalled, or its app dropped), another that reads the same file takes its place there.
_USERS_FILE_READERS: 'weakref.WeakSet[BasicAuth]' = weakref.WeakSet()
# (``_USERS_FILES_LOCK``, above, guards a look at ``_USERS_FILES`` and the change that follows from it, so two
# uninstalls at once cannot hand the file to a reader being closed; an RLock, since a finalizer calls
# ``_users_file_gone`` at whatever allocation the garbage collector runs at, also one under the lock)


def _users_file_gone(tag: str) -> None:
    """The Basic ``_USERS_FILES`` held for the users file of ``tag`` went: another that reads it takes its place."""
    with _USERS_FILES_LOCK:
        if _USERS_FILES.get(tag) is None:
            for basic in list(_USERS_FILE_READERS):
                if basic._file_tag == tag:
                    _USERS_FILES[tag] = basic
                    return


def _is_stale_login(user: Any, line: str) -> bool:
    """``BasicAuth.is_stale_login`` of the users file that logged in the session of ``user`` with ``line``;
    False when no canister of this process has that file (its logins are left alone)."""
    basic = _USERS_FILES.get(line[:4])
    return basic is not None and basic.is_stale_login(user, line)


class _LoginInCheck:
    """A login without a line (an unsalted users-file hash) from its check until its session is stored:
    called, True if a change of the file ended the user's sessions after the reading it was checked
    against (``SessionState.end_if_overtaken``).  While a request holds it, the ends it may need are kept."""

    #: The attributes below and no others (a weak reference: BasicAuth's ``_checking`` holds none other).
    __slots__ = ('basic', 'name', 'reading', '__weakref__')

    def __init__(self, basic: 'BasicAuth', name: str, reading: int) -> None:
        #: The Basic of the users file checked against.
        self.basic = basic
        #: The user logging in.
        self.name = name
        #: Which reading of the file the login was checked against (``BasicAuth._reading``).
        self.reading = reading

    def __call__(self) -> bool:
        return self.basic._ended_at.get(self.name, -1) > self.reading


class BasicAuth:
    """HTTP Basic: one user from the config and/or many from a users file."""

    #: The ``Authorization`` scheme it handles, in lower case.
    scheme = 'basic'

    def __init__(self, config: Config, log: RequestLog) -> None:
        #: The app's log.
        self.log = log
        #: The ``WWW-Authenticate`` value of a 401 (``auth_realm``).
        self.challenge = 'Basic realm=%s, charset="UTF-8"' % _realm(config)
        #: user name -> (stored password, its scheme): the config's user and the users file's.
        self.users: Dict[str, Tuple[str, str]] = {}
        username, password = config['auth_basic_username'], config['auth_basic_password']
        if username and password:  # (a user without a password cannot log in: the install warned)
            scheme = config['auth_basic_encryption']
            if scheme == 'auto':
                scheme = _hash_scheme(password) or 'clear'
            _check_hash(password, scheme, 'canister.auth_basic_password')
            self.users[username] = (password, scheme)
        #: The config's user alone, which every reading of the users file starts from.
        self._config_users = dict(self.users)
        #: The users file (``auth_basic_users_file``); empty: none.
        self.users_file = config['auth_basic_users_file']
        #: The first 4 characters of its login lines (``login_line``): which users file, by its name as
        #: configured, so that a parent app's canister leaves a mounted app's own file's logins alone.
        self._file_tag = _b64(hashlib.sha256(b'canister users file\n' + self.users_file.encode('utf-8')).digest()[:3])
        #: ``login_line``'s answers, by the user, stored hash and scheme it digests (so never one of a
        #: changed line): a session's check at each request pays a look-up, not a SHA-256.  Emptied
        #: when the file is read anew, so that it holds the lines of one reading or two at most.
        self._lines: Dict[Tuple[str, str, str], str] = {}
        #: The users file's times, size and inode when it was read (None: not yet).
        self._file_stamp: Optional[Tuple[int, ...]] = None
        #: When (``_now``) the file of ``_file_stamp`` was read.
        self._read_at = 0.0
        #: The users file is not looked at again before this time (``_now``): once a second at most.
        self._next_stat = 0.0
        #: The users as they were when the sessions of users the file dropped were last ended (see ``_settle``).
        self._settled = self.users
        #: The file was read anew since, and the sessions of the users it dropped are not ended yet.
        self._unsettled = False
        #: Which reading of the file ``users`` is (counted up each time it is read anew).
        self._reading = 0
        #: user -> the reading whose change of that user's line ended their sessions (``_settle``,
        #: ``_settle_login``): a login without a line checked against an earlier one is then ended too.
        #: Only the ends a login still in its check may need are kept (``_mark_ended``).
        self._ended_at: Dict[str, int] = {}
        #: The logins without a line between their check and the store (``_LoginInCheck``), until dropped.
        self._checking: 'weakref.WeakSet[_LoginInCheck]' = weakref.WeakSet()
        #: Ends every session of each of the users named but those of the login line given with the name
        #: (None: all of them) and those another users file than that of the tag given logged in, returns
        #: how many (the plugin's, set at install).
        self.end_sessions_of: Optional[Callable[[Dict[str, Optional[str]], str], int]] = None
        #: Guards ``_verified``, ``_settled``, ``_unsettled``, ``_reading``, ``_ended_at`` and ``_checking``.
        self._lock = threading.Lock()
        _AUTH_LOCKS.add(self)
        #: Verified credentials (keyed by a keyed hash, never the password), so a
        #: slow hash is paid once per 5 minutes per user, not on every request.
        self._verified: 'collections.OrderedDict[bytes, float]' = collections.OrderedDict()
        #: The random key of ``_verified``'s keyed hashes, made at install.
        self._cache_key = os.urandom(32)
        #: What an unknown user's password is checked against (``_make_dummy``), so the answer takes as long.
        self._dummy = self._make_dummy()
        if self.users_file:
            if not os.path.isfile(self.users_file):  # (a relative name is read from the working directory)
                path = os.path.abspath(self.users_file)
                special = _special_file(path)
                why = ('is a directory, not a file' if os.path.isdir(path) else
                       'is %s, not a regular file' % special if special else 'no such file')
                raise ConfigError('canister.auth_basic_users_file = %r: %s (%s)' % (self.users_file, why, path))
            self._reload(at_install=True)
            self._settled = self.users
            with _USERS_FILES_LOCK:  # (once read: a failed install leaves another app's reading in place)
                _USERS_FILES[self._file_tag] = self
                _USERS_FILE_READERS.add(self)
            weakref.finalize(self, _users_file_gone, self._file_tag).atexit = False

    def _make_dummy(self) -> Tuple[str, str]:
        """A stored form to check unknown users against, as costly as a real one: the scheme and
        cost of the most common among the users' hashes, with a random salt and digest."""
        return _unknown_user_hash(self.users.values(), (secrets.token_hex(32), 'sha256'))

    def _reload(self, at_install: bool = False) -> bool:
        """Read the users file again if it changed.  One that cannot be read fails the install
        (ConfigError); later, the users read before stay, and an ERROR line says why.  True if the
        users now read are those of a file at rest (``_at_rest``)."""
        before = self._file_stamp  # (what was in use as this read began: see _overtaken)
        try:
            status = os.stat(self.users_file)  # (a new hash has the old one's size, and rsync -t, cp -p or
            # a build with fixed times keep its time: the change time and the inode tell a new file)
            stamp = (status.st_mtime_ns, status.st_size, status.st_ctime_ns, status.st_ino, status.st_dev)
            if stamp == self._file_stamp:
                return self._at_rest(status)
            with open(self.users_file, 'rb') as handle:
                entries = _users_file_entries(handle.read())
        except (OSError, UnicodeError) as error:
            if at_install:
                raise ConfigError('canister.auth_basic_users_file = %r cannot be read: %s' % (
                    self.users_file, error)) from None
            _request_log(self.log).write(logging.ERROR, 'Cannot read the users file %s: %s', self.users_file, error)
            return False
        users = dict(self._config_users)
        log = _request_log(self.log)  # (the request's, as a look is made by one; at the install, this app's)
        for number, name, stored in entries:
            scheme = _hash_scheme(stored)
            if name is None:
                log.write(logging.WARNING, 'Users file %s line %d ignored: expected user:hash', self.users_file, number)
                continue
            if scheme is None:
                log.write(logging.WARNING, 'Users file %s line %d ignored: a clear-text password is refused; '
                          'write user:hash with a hash from python -m canister hash-password --user NAME',
                          self.users_file, number)
                continue
            try:
                _check_hash(stored, scheme, 'its hash')
            except (ConfigError, MissingExtraError) as error:  # (said as the other lines left out are)
                log.write(logging.WARNING, 'Users file %s line %d ignored: %s', self.users_file, number, error)
                continue
            users[name] = (stored, scheme)
        with self._lock:
            # (else another request read this very file meanwhile, or a newer one, and took it)
            if stamp != self._file_stamp and not self._overtaken(stamp, before):
                self.users, self._lines, self._reading = users, {}, self._reading + 1
                self._file_stamp, self._read_at = stamp, _now()
                self._unsettled = not at_install
                self._verified.clear()
                self._dummy = self._make_dummy()
        return self._at_rest(status)

    def _overtaken(self, stamp: Tuple[int, ...], before: Optional[Tuple[int, ...]]) -> bool:
        """True if another request took a read of the file since ``before`` was in use, of a file changed
        later (change time, then modification time) than the one of ``stamp`` that this read saw: a read
        that ended later, but began with the older file (a slow disk), would bring that one back for a
        second.  A read that nothing overtook is taken even if its file is older (the clock went back)."""
        current = self._file_stamp
        return current is not before and current is not None and (current[2], current[0]) > (stamp[2], stamp[0])

    def _at_rest(self, status: os.stat_result) -> bool:
        """Whether the users file of this ``os.stat`` is not being written (one read half-way would drop
        users): unchanged since it was read a second ago or more, or last changed a second ago or more
        (the file system's time, the wall clock's, against canister's one clock ``_now``, which is the wall
        clock but in tests).  A change read from one that is not is looked at again at the next request, not a
        second later: a reading half-way (``cat >``) lasts until the file is written whole."""
        now = _now()
        if now - self._read_at >= 1.0 or now - status.st_ctime_ns / 1e9 >= 1.0:
            return True
        if self._unsettled:
            self._next_stat = 0.0
        return False

    def watch(self) -> None:
        """Re-read the users file if it changed (looked at once a second at most); once the file is at
        rest, end the sessions of the users it dropped or gave another password (before each route's
        handler runs, and at each Basic or form login)."""
        if self._look_due() and self._reload() and self._unsettled:
            self._settle()

    def _look_due(self) -> bool:
        """True, and not again for a second, if the users file was last looked at a second ago or more (or
        later than now: the wall clock was set back, by an NTP step, which would otherwise put off the next
        look, and the removal of a user, by as much)."""
        now = _now()
        if self._next_stat - 1.0 <= now < self._next_stat:
            return False
        self._next_stat = now + 1.0
        return True

    def _settle(self) -> None:
        """End every session of each user that the users file no longer lists, or lists with another hash,
        since the sessions were last settled: whoever holds one of their cookies is no longer that user.
        One request does it (the one that clears ``_unsettled``); a store that fails has it tried again."""
        settling = self._take_settle()
        if settling is None:
            return
        users, gone = settling
        ended = 0
        log = _request_log(self.log)  # (the request's: a parent's, for a child app mounted or merged into another)
        try:
            if gone and self.end_sessions_of is not None:  # (a login with the line the file has now stays)
                ended = self.end_sessions_of({name: self.login_line(name, users) for name in gone}, self._file_tag)
        except StoreUnavailable as error:
            with self._lock:
                self._unsettled = True  # (ending is done again at the next look: what ended stays ended)
            log.write(logging.ERROR, 'Users file %s changed, but the sessions of %d user(s) it dropped or gave '
                      'another password could not be ended (tried again in a second): %s',
                      self.users_file, len(gone), _mask_urls(_safe_text(error)))
            return
        except CanisterError as error:  # a store of the app's own that cannot list a user's sessions
            log.write(logging.WARNING, 'Users file %s changed, but the sessions of %d user(s) it dropped or gave '
                      'another password cannot be ended: %s', self.users_file, len(gone), error)
        with self._lock:
            self._settled = users
        if gone:
            log.write(logging.INFO, 'Users file %s changed: ended %d session(s) of %d user(s) it dropped or '
                      'gave another password', self.users_file, ended, len(gone))

    def _take_settle(self) -> Optional[Tuple[Dict[str, Tuple[str, str]], List[str]]]:
        """For the request that clears ``_unsettled``: the users now, and the names whose sessions are to end,
        each marked as ended by this reading first (``_ended_at``), so that a login without a line checked
        against an earlier one and stored after the settle ends itself; None for every other request."""
        with self._lock:
            if not self._unsettled:
                return None
            self._unsettled = False
            settled, users = self._settled, self.users
            gone = sorted(name for name, (stored, _) in settled.items() if users.get(name, ('',))[0] != stored)
            self._mark_ended(gone, self._reading)
        return users, gone

    def _mark_ended(self, names: List[str], reading: int) -> None:
        """Note, with the lock held, that ``reading`` ended the sessions of the users ``names`` (``_ended_at``),
        and drop the notes that no login in its check can need: those of the reading of the oldest, or before."""
        ended = self._ended_at
        for name in names:
            ended[name] = max(reading, ended.get(name, -1))
        oldest = min((check.reading for check in self._checking), default=self._reading)
        for gone in [name for name, at in ended.items() if at <= oldest]:
            del ended[gone]

    def authenticate(self, credentials: str) -> Tuple[str, float, str, Optional[str], Optional[_LoginInCheck]]:
        """Return (user, expiry, name to log, login line, overtaken test as ``check`` gives) or raise
        :class:`AuthFailure`."""
        decoded, username, password = self._decode(credentials)
        key = self._key_of(decoded)
        users, reading, overtaken = self._checked_against(username)
        if not (self._recently_verified(key) and username in users):
            self._check_login(username, password, users)
            self._settle_login(username, users, reading)
            self._remember(key, users)
        return username, 0, username, self.login_line(username, users), overtaken

    def check(self, username: str, password: str) -> Tuple[Optional[str], Optional[_LoginInCheck]]:
        """Check a user name and password given another way (a login form); AuthFailure if wrong, else
        the login line, and for a users-file login without one (an unsalted hash) a test of whether a change
        of the file has since ended the user's sessions (``SessionState.end_if_overtaken``).  Always checked
        in full: only the header's credentials are remembered."""
        users, reading, overtaken = self._checked_against(username)
        self._check_login(username, password, users)
        self._settle_login(username, users, reading)
        return self.login_line(username, users), overtaken

    def _check_login(self, username: str, password: str, users: Dict[str, Tuple[str, str]]) -> None:
        """``_check_login`` against ``users``; a user that this reading lacks, but that the file gave at
        its last reading at rest, is refused uncounted by the throttle while the change is not settled:
        the file may be half-written (``cat > users.txt``), and no password could pass for that name."""
        try:
            _check_login(username, password, users.get(username), self._dummy)
        except AuthFailure as failure:
            if self._unsettled and username not in users and username in self._settled:
                failure.counted = False
            raise

    def _checked_against(self, name: str) -> Tuple[Dict[str, Tuple[str, str]], int, Optional[_LoginInCheck]]:
        """The users a login of ``name`` is checked against (the file re-read first if it changed), which
        reading they are, and for a users-file user without a login line (an unsalted hash) its ``_LoginInCheck``."""
        self._current_users()
        with self._lock:  # (the table and its reading together: a re-read meanwhile replaces both)
            users, reading = self.users, self._reading
            entry = users.get(name) if self.users_file else None
            if entry is None or entry[1] in _SALTED_SCHEMES:
                return users, reading, None
            check = _LoginInCheck(self, name, reading)
            self._checking.add(check)
        return users, reading, check

    def login_line(self, name: str, users: Dict[str, Tuple[str, str]]) -> Optional[str]:
        """What a session keeps of the users-file line ``name`` logs in with, in ``users``: the file's tag,
        then 12 characters of a SHA-256 of the user and stored hash, which tell a session of the line the
        file has now from one of a line it had before.  None without a users file, for a user it lacks, and
        for a line without salt (see ``_SALTED_SCHEMES``), whose sessions the settle ends whatever their line.

        The stored hash holds a random salt, so the digest (in a store that others may read) helps no
        guess of the password: testing one needs that salt."""
        entry = users.get(name) if self.users_file else None
        if entry is None:
            return None
        key = (name, entry[0], entry[1])
        line = self._lines.get(key)
        if line is None:
            if entry[1] not in _SALTED_SCHEMES:
                return None
            text = '%s\n%s' % (name, entry[0])
            line = self._file_tag + _b64(hashlib.sha256(b'canister login line\n' + text.encode('utf-8')).digest()[:9])
            self._lines[key] = line
        return line

    def is_stale_login(self, user: Any, line: str) -> bool:
        """Whether a session of ``user`` logged in with the login line ``line`` is to end: the users file
        no longer gives ``user`` that line.  This process may have read the file before another logged
        the user in with a new line (it looks at most once a second): the file itself is looked at first
        when its view differs, and only a file at rest ends anything (one half-written may lack a user)."""
        if not line.startswith(self._file_tag):  # (another file's: an app mounted with its own checks it)
            return _is_stale_login(user, line)
        if not isinstance(user, str):  # (only a users-file login has a line: a record no canister wrote)
            return True
        if self._look_due():  # no route of this app looked at the file in the last second: the session is loaded
            # before one does (a before_request hook, an error page), or on the routes of the app this one is
            # mounted in, which never look; the settle waits for the next look (on a route of this app, which ends the
            # sessions in the store of the canister serving the request: the parent's, for this app mounted in one)
            self._reload()
        if self.login_line(user, self.users) == line:  # (the usual request of a logged-in user)
            return False
        at_rest = self._reload()
        return at_rest and self.login_line(user, self.users) != line

    def _settle_login(self, name: str, checked: Dict[str, Tuple[str, str]], reading: int) -> None:
        """A login of ``name`` checked against ``checked``, the users of a reading (``reading``) of the file
        read anew but not yet settled (not at rest): if the file gave ``name`` another hash, end ``name``'s
        sessions now, before this login's session is stored, and count ``name`` settled, so that the settle to
        come spares the session of the new password.  The password that matched the new hash shows its line
        was written whole.  A store that fails leaves ``name`` to that settle (StoreUnavailable: this login
        answers 503)."""
        if not self._unsettled:  # (the usual login: nothing read anew since the last settle)
            return
        with self._lock:
            entry, settled = self.users.get(name), self._settled
            if not self._unsettled or entry is None or settled.get(name, entry)[0] == entry[0]:
                return  # (a user the file adds had no sessions to end)
            self._settled = dict(settled, **{name: entry})
            # (a re-read during the check that kept this hash does not end this login: only a later change does)
            self._mark_ended([name], reading if checked.get(name) == entry else self._reading)
        try:  # (the sessions of a login with the new line through another process meanwhile stay)
            line = self.login_line(name, {name: entry})
            ended = self.end_sessions_of({name: line}, self._file_tag) if self.end_sessions_of is not None else 0
        except CanisterError as error:  # (the settle tries again, or says why it cannot)
            with self._lock:
                self._settled = dict(self._settled, **{name: settled[name]})
            if isinstance(error, StoreUnavailable):
                raise
            return
        _request_log(self.log).write(logging.INFO, 'Users file %s changed: ended %d session(s) of 1 user(s) it gave '
                                     'another password, at a login with the new one', self.users_file, ended)

    def _current_users(self) -> Dict[str, Tuple[str, str]]:
        """The users, the file re-read first if it changed (looked at once a second at most)."""
        if self.users_file:
            self.watch()
        return self.users

    def close(self) -> None:
        """At uninstall: the sessions of this users file are no longer checked by this reading of it."""
        with _USERS_FILES_LOCK:
            _USERS_FILE_READERS.discard(self)
            if _USERS_FILES.get(self._file_tag) is self:
                del _USERS_FILES[self._file_tag]
                _users_file_gone(self._file_tag)  # (another app of this process may read the same file)

    def is_guess(self, credentials: str) -> bool:
        """True unless these exact credentials were verified in the last 5 minutes: checking
        them could confirm a guessed password, so they take a place against the throttle."""
        try:
            decoded = self._decode(credentials)[0]
        except AuthFailure:
            return True
        return not self._recently_verified(self._key_of(decoded))

    def _key_of(self, decoded: str) -> bytes:
        """The cache key of ``user:password`` (a keyed hash: the password is never kept)."""
        return hmac.new(self._cache_key, decoded.encode('utf-8'), hashlib.sha256).digest()

    def _recently_verified(self, key: bytes) -> bool:
        with self._lock:
            seen = self._verified.get(key)
        return seen is not None and seen > _now()

    def user_named(self, credentials: str) -> Optional[str]:
        """The user Basic credentials name, before they are checked; None if they cannot be decoded."""
        try:
            return self._decode(credentials)[1]
        except AuthFailure:
            return None

    @staticmethod
    def _decode(credentials: str) -> Tuple[str, str, str]:
        """The ``user:password`` text of Basic credentials, then the user and the password."""
        try:
            decoded = base64.b64decode(credentials, validate=True).decode('utf-8')
        except (ValueError, binascii.Error):
            raise AuthFailure('the Basic credentials are not valid base64 of UTF-8 text', 'basic') from None
        username, sep, password = decoded.partition(':')
        if not sep:
            raise AuthFailure('the Basic credentials have no ":" between user and password', 'basic')
        return decoded, username, password

    def _remember(self, key: bytes, users: Dict[str, Tuple[str, str]]) -> None:
        """Keep verified credentials for 5 minutes (the 1024 most recent), unless the users file
        was re-read since ``users``, the table they were checked against, was current."""
        with self._lock:
            if users is not self.users:
                return
            self._verified[key] = _now() + 300
            while len(self._verified) > 1024:
                self._verified.popitem(last=False)


class _HeldFilter:
    """A warning filter canister holds while installs ask for it (see ``_hold_warning_filter``)."""

    #: The three attributes below and no others (no instance dict).
    __slots__ = ('key', 'item', 'holders')

    def __init__(self, key: Tuple[str, type], item: Any) -> None:
        #: The filter's message and category.
        self.key = key
        #: The filter as in ``warnings.filters``, None if the app had put the same one there itself.
        self.item = item
        #: How many installs hold it.
        self.holders = 0


#: The warning filters canister holds, by message and category, and the lock of their counts.
_WARNING_FILTERS: Dict[Tuple[str, type], _HeldFilter] = {}
_WARNING_FILTERS_LOCK = threading.Lock()


def _is_ignore_filter(item: Any, message: str, category: type) -> bool:
    """True if ``item`` of ``warnings.filters`` is what ``filterwarnings('ignore', message, category)`` adds."""
    return (item[0] == 'ignore' and item[1] is not None and item[1].pattern == message and item[2] is category
            and item[3] is None and not item[4])


def _hold_warning_filter(message: str, category: type) -> _HeldFilter:
    """Ignore the warnings of ``category`` whose text starts with ``message`` until the last install that
    holds it lets go (``_release_warning_filter``); a filter the app set itself is left as it is."""
    key = (message, category)
    with _WARNING_FILTERS_LOCK:
        present = [item for item in warnings.filters if _is_ignore_filter(item, message, category)]
        held = _WARNING_FILTERS.get(key)
        # (catch_warnings puts back the list it copied: a filter added meanwhile is gone, and so are its holders)
        if held is None or (not present if held.item is None else all(item is not held.item for item in present)):
            if not present:
                warnings.filterwarnings('ignore', message, category)
            held = _WARNING_FILTERS[key] = _HeldFilter(key, None if present else warnings.filters[0])
        held.holders += 1
        return held


def _release_warning_filter(held: _HeldFilter) -> None:
    """Let go of a filter of ``_hold_warning_filter``: the last to let go removes it, if canister added it."""
    with _WARNING_FILTERS_LOCK:
        held.holders -= 1
        if held.holders > 0:
            return
        if _WARNING_FILTERS.get(held.key) is held:
            del _WARNING_FILTERS[held.key]
        filters = typing.cast(List[Any], warnings.filters)  # (a list: typeshed calls it a Sequence)
        kept = [item for item in filters if item is not held.item]
        if held.item is not None and len(kept) < len(filters):
            filters[:] = kept
            mutated = getattr(warnings, '_filters_mutated', None)  # (what filterwarnings calls: caches forgotten)
            if callable(mutated):
                mutated()


class _JwksRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, but none from https to http, whose answer anyone on the network path could
    replace by keys of their own, none to plain http on another host than this machine or the one asked
    (the install warns of a configured URL like that, never of one a redirect names), and none to a
    scheme other than http or https (urllib would follow ftp)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        before, after = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        old, new = before.scheme.lower(), after.scheme.lower()
        if new not in ('http', 'https') or (old == 'https' and new == 'http'):
            fp.close()
            raise urllib.error.URLError('refused the redirect (%d) from %s:// to %s' % (
                code, old, _mask_urls(newurl)[:200]))
        if _is_plain_http_afar(newurl) and after.hostname != before.hostname:
            fp.close()
            raise urllib.error.URLError('refused the redirect (%d) from %s to %s: plain http:// to another host' % (
                code, _mask_urls(req.full_url)[:200], _mask_urls(newurl)[:200]))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _WatchedConnections:
    """An urllib handler that keeps each connection it opens in ``opened``, and its socket once connected,
    so that a download given up at its deadline can be cut (``_Jwks._report``): the socket's timeout bounds
    each read only, and an answer whose status line and headers trickle in, a byte within each timeout,
    would go on for hours; so would a chunked body's chunk-size line, which one ``read1`` waits for whole."""

    def __init__(self, result: Dict[str, Any]) -> None:
        super().__init__()
        #: The download's ``result`` (``_Jwks._download``): ``'abandoned'`` in it once its request gave up.
        self.result = result
        #: The connections opened and their sockets, which a download given up at its deadline shuts.
        self.opened: List[Any] = result['opened']

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        def connection(*args: Any, **options: Any) -> Any:
            made = http_class(*args, **options)
            self.opened.append(made)
            connect = made.connect

            def connect_and_keep() -> None:
                connect()
                self.opened.append(made.sock)  # (urllib drops made.sock once the head is read: the body comes on it)
                if 'abandoned' in self.result:  # (connected after its request gave up, which cut what it found)
                    self.result['cut'] = True
                    made.sock.shutdown(socket.SHUT_RDWR)  # (the next read fails at once)
            made.connect = connect_and_keep
            return made
        return super().do_open(connection, req, **kwargs)  # type: ignore[misc]


class _WatchedHTTP(_WatchedConnections, urllib.request.HTTPHandler):
    """``_WatchedConnections`` for http:// URLs."""


class _WatchedHTTPS(_WatchedConnections, urllib.request.HTTPSHandler):
    """``_WatchedConnections`` for https:// URLs (the default TLS context: certificates checked)."""


#: A JWKS key cache's lock is held only while a request looks whether a download is due and starts
#: it, or a download puts its keys in place, never while one runs: a fork does not wait for it, the
#: child gets a new one.  A download under way is in a thread the child lacks: there it counts as failed
#: at the fork (``_Jwks.forked``), as does one that the lock held then was starting or putting in place, and the
#: child fetches the keys itself when next due.
_JWKS_LOCKS = _ForkLocks(renew=True, after=lambda jwks, held: jwks.forked(held))
#: What a client is told when its token names a key canister does not hold and the provider's keys cannot be
#: fetched now: the token may well be good (a key the provider has just rotated in), so no 401 that would
#: make the client drop it and send its user to log in again.
_KEYS_UNAVAILABLE = ('Service unavailable: the token could not be checked, as the signing keys of its issuer '
                     '(the JWKS) cannot be fetched now; retry shortly')


class _KeysUnavailable(CanisterError):
    """A token names a key not held, and the provider's keys cannot be fetched now; answered with 503."""

    def __init__(self, logged: str, retry_after: int, level: int = logging.ERROR) -> None:
        super().__init__(logged)
        #: The seconds of the 503's ``Retry-After``: when the next download may start.
        self.retry_after = retry_after
        #: The level of its log line: ERROR for a failed download, WARNING for one only slow (still running).
        self.level = level


def _shown_kid(kid: Any) -> str:
    """A key id as log lines show it, a token's and the JWKS keys' alike: its ``repr`` (quotes that show a
    space at either end, escapes for what is not printable, a number from the JWKS told from text), 64 characters at most."""
    shown = repr(kid)
    return shown if len(shown) <= 64 else shown[:61] + '...'


#: The shortest RSA key canister takes without a word (NIST SP 800-131A; PyJWT warns below it too).
_RSA_MIN_BITS = 2048


def _short_rsa_key_bits(key: Any) -> Optional[int]:
    """The size in bits of an RSA key shorter than ``_RSA_MIN_BITS``; None for a longer one or another kind."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
    if isinstance(key, (RSAPublicKey, RSAPrivateKey)) and key.key_size < _RSA_MIN_BITS:
        return int(key.key_size)
    return None


class _JwksKeys(Dict[Optional[str], Any]):
    """A JWKS's usable signing keys by ``kid``, with the algorithm each is for where the JWKS names one
    (``algorithms``): one object, so that a download replaces the keys and their algorithms together."""

    def __init__(self) -> None:
        super().__init__()
        #: kid -> the ``alg`` the JWKS gives that key (a key without one takes any accepted algorithm of its type).
        self.algorithms: Dict[Optional[str], str] = {}
        #: The kids of the entries that hold a private key: anyone can sign tokens of these, which are refused.
        self.private: typing.Set[Optional[str]] = set()


class _SaidOnce:
    """The keys a JWKS log line was written for, to write it once each: the latest ``most`` only, the one
    longest unseen forgotten first, so a provider that rotates keys forever does not grow it (a key forgotten
    that comes back is said again)."""

    #: The attributes below and no others (no instance dict).
    __slots__ = ('most', '_seen')

    def __init__(self, most: int = 256) -> None:
        #: How many keys it keeps at most.
        self.most = most
        #: The keys, the one longest unseen first.
        self._seen: 'collections.OrderedDict[Any, None]' = collections.OrderedDict()

    def first(self, key: Any) -> bool:
        """True if ``key`` is not among the keys kept (its line is to be written), and keep it as the latest."""
        seen = self._seen
        if key in seen:
            seen.move_to_end(key)
            return False
        seen[key] = None
        while len(seen) > self.most:
            seen.popitem(last=False)
        return True


class _Jwks:
    """A provider's signing keys, cached; refetched on an unknown ``kid`` at most every ``min_interval`` s.

    Only the request that starts a download waits for it to end (up to ``timeout``); another with an
    unknown ``kid`` meanwhile waits ``share_wait`` at most, and a known ``kid`` never waits.  So a
    provider that hangs holds one thread per download, not every thread of the server.
    """

    #: Seconds a request with an unknown ``kid`` waits for a download another request started: a
    #: provider that answers as usual (within a few hundred ms) serves a burst of such tokens with one
    #: download (at start-up, after a rotation); one that hangs, or tokens with made-up kids, hold each
    #: of these requests' threads a twentieth of the 5 s a download may take.
    share_wait = 0.25
    #: Seconds after which the keys are downloaded again, unasked, at the next token of a key already
    #: fetched (which does not wait for it): a key the provider dropped, one it revoked while it signs
    #: with another that canister holds already, goes then, where no unknown ``kid`` would ever start a download.
    max_age = 300.0

    def __init__(self, url: str, jwt: Any, log: RequestLog, timeout: float = 5.0, min_interval: float = 10.0) -> None:
        #: The provider's JWKS URL (``auth_jwt_jwks_url``).
        self.url = url
        #: The PyJWT module.
        self.jwt = jwt
        #: The app's log.
        self.log = log
        #: Seconds a download may take.
        self.timeout = timeout
        #: Seconds between two downloads at least (``auth_jwt_jwks_refetch``).
        self.min_interval = min_interval
        #: kid -> key, as last downloaded (replaced whole by a download).
        self.keys = _JwksKeys()
        #: When (``time.monotonic()``) the last download started.
        self._fetched_at = -math.inf
        #: Seconds after which a token of a known key starts a download no request waits for (``_refresh``).
        self.refresh_after = max(self.max_age, min_interval)
        #: Guards the start of a download.
        self._lock = threading.Lock()
        #: The thread of the download under way, if any.
        self._worker: Optional[threading.Thread] = None
        #: The ``result`` of the last download started: it has ``keys`` or ``error`` once that download ended.
        self._result: Optional[Dict[str, Any]] = None
        #: Why the last download brought no keys (masked, escaped), None once one did: a token of a key
        #: not held is then no proof of a forgery, and is answered 503, not 401 (``_refuse``).
        self._failure: Optional[str] = None
        #: The RSA keys shorter than ``_RSA_MIN_BITS`` already logged, by (kid, modulus): once each (the latest ones).
        self._short_keys_said = _SaidOnce()
        #: The JWKS entries holding a secret (a private key, a shared one) already logged, by a hash of their kid and
        #: key: once each (the latest ones).
        self._secrets_said = _SaidOnce()
        #: The filters of PyJWT's warning of an RSA key that short, by its bits, held for the short keys it
        #: fetched (``_say_if_short``) until ``close``; None once closed.
        self._filters: Optional[Dict[int, _HeldFilter]] = {}
        _JWKS_LOCKS.add(self)

    def close(self) -> None:
        """Let go of the filters of PyJWT's short-key warning (at uninstall): PyJWT warns again once no plugin holds them."""
        with self._lock:
            filters, self._filters = self._filters, None
        for held in (filters or {}).values():
            _release_warning_filter(held)

    def forked(self, held: bool) -> None:
        """In a child made by ``os.fork`` (``_JWKS_LOCKS``): a download the parent had under way goes on in the
        parent's thread only, and brings the child nothing, so it counts as failed at the fork.  Tokens of keys
        not held get 503 until the next download may start (``min_interval`` after it began), not a 401 for a
        kid no download of the child's has looked for.  So does one that a thread was starting, or putting in
        place, under the lock when the process forked (``held``: the keys, ``_result`` and ``_failure`` may then
        be half changed, the download's start time taken but not its ``_result``, its keys in ``_result`` but not
        yet in ``keys``)."""
        result, self._worker = self._result, None
        if held or (result is not None and 'keys' not in result and 'error' not in result):
            self._failure = 'its download was under way when this process was forked, and went on in the parent only'

    def key_for(self, kid: Optional[str], algorithm: str) -> Any:
        """The key named ``kid`` for a token of ``algorithm``, the keys downloaded again first when it is unknown;
        AuthFailure if none, or if the JWKS gives that key for another algorithm."""
        key, meant = self._lookup(kid)
        if key is None:
            gave_up = self._await_download()
            key, meant = self._lookup(kid)
            if key is None:
                self._refuse(kid, gave_up)
        elif time.monotonic() - self._fetched_at >= self.refresh_after:
            self._refresh()
        if meant is not None and meant != algorithm:  # (RFC 8725, 3.1: a key is used with one algorithm)
            raise AuthFailure('the token algorithm is not the one its key is for', 'bearer',
                              'the token algorithm is not the one its key is for (its alg is %r; the JWKS gives the '
                              'key of kid %s for %r)' % (algorithm, _shown_kid(kid), meant))
        return key

    def _refuse(self, kid: Optional[str], gave_up: bool) -> typing.NoReturn:
        """Refuse a token whose key is not held, even after the download it waited for: a 401 when that
        download brought the provider's keys (the kid is made up, or long gone), else _KeysUnavailable
        (503): the last download failed, or another request's is still under way (``gave_up``).  Either way
        no more downloads start than ``min_interval`` allows, so made-up kids cannot hammer the provider."""
        if kid in self.keys.private:  # (held keys that say so, whatever the last download did)
            raise AuthFailure('the token was signed with a key whose private half the JWKS publishes: anyone can sign '
                              'with it', 'bearer', 'the token was signed with a key whose private half the JWKS '
                              'publishes: anyone can sign with it (its kid is %s)' % ('(none)' if kid is None else
                                                                                      _shown_kid(kid)))
        failure = 'its download for another request has not ended yet' if gave_up else self._failure
        if failure is None:
            raise AuthFailure('the token was signed with an unknown key', 'bearer', self._unknown_key_logged(kid))
        wait = 1 if gave_up else math.ceil(self._fetched_at + self.min_interval - time.monotonic())
        # (no kid in the line, which is written once a second with a count of the others: made-up kids would
        # make each line a new one)
        raise _KeysUnavailable('Cannot check Bearer tokens of keys not held: the JWKS keys cannot be fetched '
                               'from %s: %s' % (_escape(_mask_urls(self.url))[:200], failure), max(1, wait),
                               logging.WARNING if gave_up else logging.ERROR)  # (slow at start-up is no failure yet)

    def _unknown_key_logged(self, kid: Optional[str]) -> str:
        """The log's words for a token of a key not held: its ``kid`` beside those held (a kid the issuer of
        the tokens spells otherwise than the JWKS is the usual slip), or that none is held."""
        keys = self.keys
        named = 'its header names no kid' if kid is None else 'its kid is %s' % _shown_kid(kid)
        held = ('the JWKS URL gave %d key(s), kids: %s' % (len(keys), self._kids(keys)) if keys else
                'the JWKS URL gave no signing key canister can use')
        return 'the token was signed with an unknown key (%s; %s)' % (named, held)

    def _refresh(self) -> None:
        """Start a download of the keys that no request waits for, unless one runs or began ``max_age`` ago or less."""
        with self._lock:
            worker = self._worker
            if ((worker is not None and worker.is_alive())
                    or time.monotonic() - self._fetched_at < self.refresh_after):
                return
            self._fetched_at = time.monotonic()
            self._result = result = {'opened': [], 'unasked': True}
            self._worker = threading.Thread(target=self._download, args=(result,), name='canister-jwks', daemon=True)
            self._worker.start()

    def _lookup(self, kid: Optional[str]) -> Tuple[Any, Optional[str]]:
        """The key of ``kid`` (None if not held) and the algorithm the JWKS gives it for (None: any)."""
        keys = self.keys  # (one dict: a download replaces it whole)
        if kid is None and len(keys) == 1:
            kid = next(iter(keys))
        return keys.get(kid), keys.algorithms.get(kid)

    def _await_download(self) -> bool:
        """Start a download if one is due and wait for it (``timeout`` at most), or wait ``share_wait``
        for one under way; True if this request stopped waiting for another's download still running."""
        result: Dict[str, Any] = {'opened': []}  # (the download's connections: see _WatchedConnections)
        with self._lock:
            worker = self._worker
            starts = ((worker is None or not worker.is_alive())
                      and time.monotonic() - self._fetched_at >= self.min_interval)
            if starts:
                self._fetched_at = time.monotonic()
                self._result = result
                worker = self._worker = threading.Thread(target=self._download, args=(result,),
                                                         name='canister-jwks', daemon=True)
                worker.start()
        if worker is None:
            return False
        worker.join(self.timeout if starts else self.share_wait)
        if starts:
            self._report(worker, result)
            return False
        return worker.is_alive()

    def _report(self, worker: threading.Thread, result: Dict[str, Any]) -> None:
        """Log how the download this request waited for went (a slow provider keeps its thread, never a request), in
        the request's log (a parent's, for a child app mounted or merged into an app with canister)."""
        log = _request_log(self.log)
        with self._lock:  # (the download, putting its keys in place meanwhile, logs them if this one gives up)
            abandoned = 'keys' not in result and 'error' not in result
            if abandoned:
                result['abandoned'] = time.monotonic()
                self._failure = 'no complete answer within %gs' % self.timeout
        if abandoned:
            for opened in result['opened']:  # (what is left of it is cut: a late answer is given up too)
                sock = opened if isinstance(opened, socket.socket) else opened.sock  # (a connection's, while it connects)
                if sock is not None:
                    result['cut'] = True  # (the download's failure is then this cut's: its line says no more)
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            log.write(logging.WARNING, 'Cannot fetch the JWKS keys from %s: no complete answer within %gs',
                      _escape(_mask_urls(self.url))[:200], self.timeout)
        elif 'error' in result:
            log.write(logging.WARNING, 'Cannot fetch the JWKS keys from %s: %s', _escape(_mask_urls(self.url))[:200],
                      _escape(_mask_urls(str(result['error'])))[:200])
        else:
            log.write(logging.INFO, 'Fetched %d signing keys from the JWKS URL; kids: %s', len(result['keys']),
                      self._kids(result['keys']))

    def _download(self, result: Dict[str, Any]) -> None:
        """Fetch the keys and use them (also in ``result['keys']``), or put the reason not into
        ``result['error']`` (in its own thread, so the requests that wait for it see the keys as it ends)."""
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.build_opener(_JwksRedirects, _WatchedHTTP(result), _WatchedHTTPS(result)).open(
                    self.url, timeout=self.timeout) as answer:
                text = self._read(answer, deadline)
            keys = self._signing_keys(json.loads(text))
        except Exception as error:
            with self._lock:  # (as for keys: the request logs the error, or has logged that it gave up)
                result['error'] = error
                abandoned = result.get('abandoned')
                if not result.get('cut'):  # (a cut one's cause is the abandoning's, said already)
                    self._failure = _escape(_mask_urls(str(error)))[:200]
            if result.get('unasked'):
                self._report_unasked(result)
            elif abandoned is not None and not result.get('cut'):
                self._report_late_failure(error, time.monotonic() - abandoned)
            return
        with self._lock:
            result['keys'] = self.keys = keys
            self._failure = None
            abandoned = result.get('abandoned')
        if result.get('unasked'):
            self._report_unasked(result)
        elif abandoned is not None:
            self._report_late(keys, time.monotonic() - abandoned)

    def _report_unasked(self, result: Dict[str, Any]) -> None:
        """Say how a download of ``_refresh`` went, which no request waited for."""
        if 'error' in result:
            self.log.write(logging.WARNING, 'Cannot fetch the JWKS keys from %s: %s (a download of keys %gs old or '
                           'more; the keys fetched before are kept)', _escape(_mask_urls(self.url))[:200],
                           _escape(_mask_urls(str(result['error'])))[:200], self.refresh_after)
            return
        self.log.write(logging.INFO, 'Fetched %d signing keys from the JWKS URL, the keys held being %gs old or more; '
                       'kids: %s', len(result['keys']), self.refresh_after, self._kids(result['keys']))

    def _report_late(self, keys: Dict[Optional[str], Any], late: float) -> None:
        """Say that keys came after the request that started their download logged that none came."""
        self.log.write(logging.WARNING, 'Fetched %d signing keys from the JWKS URL %.1fs after the request that '
                       'started the download stopped waiting (%gs); kids: %s', len(keys), late, self.timeout,
                       self._kids(keys))

    @staticmethod
    def _kids(keys: Dict[Optional[str], Any]) -> str:
        """The kids of ``keys`` as a log line shows them: sorted, escaped, ten at most."""
        kids = sorted('(none)' if kid is None else _shown_kid(kid) for kid in keys)
        return ', '.join(kids[:10]) + (', ...' if len(kids) > 10 else '')

    def _report_late_failure(self, error: Exception, late: float) -> None:
        """Say why a download failed after the request that started it logged that no answer came (one still
        connecting then, or looking up the host: one that had a connection was cut, which says nothing more)."""
        self.log.write(logging.WARNING, 'Cannot fetch the JWKS keys from %s: %s (%.1fs after the request that started '
                       'the download stopped waiting (%gs); the keys fetched before are kept)',
                       _escape(_mask_urls(self.url))[:200], _escape(_mask_urls(str(error)))[:200], late, self.timeout)

    @staticmethod
    def _read(answer: Any, deadline: float) -> bytes:
        """The answer's body: at most about 1 MiB, read before the deadline, else ValueError.  Each read
        takes what has come (``read1``): ``read(n)`` waits for all n bytes, so an answer that trickles in
        a byte at a time, each within the socket's timeout, would hold the download for hours, and with it
        every later one (one runs at a time): the keys of a rotation would never be fetched."""
        chunks: List[bytes] = []
        size = 0
        while size <= 1024 * 1024 and time.monotonic() < deadline:
            chunk = answer.read1(16384)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        else:
            raise ValueError('the JWKS answer is too large or too slow')
        return b''.join(chunks)

    def _signing_keys(self, document: Any) -> _JwksKeys:
        """The usable signing keys of a JWKS document by ``kid`` (other entries are skipped: of another type, for
        another use than signatures, by ``use`` or by ``key_ops`` without ``verify``, or holding a private key),
        each with its ``alg`` if it names one."""
        keys = _JwksKeys()
        for entry in document.get('keys', []):
            if not self._of_a_key_pair(entry):
                continue
            if 'd' in entry:  # (the private exponent of RSA, the private scalar of EC and OKP: RFC 7518 section 6)
                self._refuse_private(entry, keys)
                continue
            if not self._checks_signatures(entry):
                continue
            kid, algorithm = entry.get('kid'), entry.get('alg')
            try:  # (a kid no dict can hold, a list, skips its entry too)
                keys[kid] = self.jwt.PyJWK(entry).key
            except Exception:
                continue
            self._say_if_short(kid, keys[kid])
            keys.algorithms.pop(kid, None)  # (a later entry of the same kid replaces the key, and its algorithm)
            if isinstance(algorithm, str):
                keys.algorithms[kid] = algorithm
        for kid in keys.private:  # (a public entry of the same kid, before or after, is no better: its key is out)
            keys.pop(kid, None)
            keys.algorithms.pop(kid, None)
        return keys

    @staticmethod
    def _checks_signatures(entry: Dict[str, Any]) -> bool:
        """Whether a JWKS entry's ``use`` and ``key_ops`` let its key check signatures (``verify``: ``sign`` is its
        private half's operation, whose entry is refused before)."""
        operations = entry.get('key_ops', ['verify'])
        return entry.get('use', 'sig') == 'sig' and isinstance(operations, list) and 'verify' in operations

    def _refuse_private(self, entry: Dict[str, Any], keys: _JwksKeys) -> None:
        """Refuse the tokens of a JWKS entry that holds a private key, and log an ERROR once per kid and key:
        whoever has read the JWKS can sign tokens with it, so none of its tokens proves who sent it."""
        kid = entry.get('kid')
        if isinstance(kid, str) or kid is None:  # (a token's kid is text: another kid names no token's key)
            keys.private.add(kid)
        if self._said_before(entry):
            return
        self.log.write(logging.ERROR, 'The JWKS at %s publishes the private key of kid %s: anyone who has read the '
                       'JWKS can sign tokens with it, so the tokens of that kid are refused (401); ask the provider '
                       'to rotate that key (a new key pair, of which the JWKS gives only the public half)',
                       _escape(_mask_urls(self.url))[:200], '(none)' if kid is None else _shown_kid(kid))

    def _of_a_key_pair(self, entry: Any) -> bool:
        """Whether a JWKS entry is a key of a key pair (RSA, EC, OKP); one holding a shared secret (``kty`` oct) is
        not, and canister takes no HMAC key from a JWKS, but whoever has read the JWKS can sign HS256 tokens with
        it: an ERROR says so, once per kid and key."""
        if not isinstance(entry, dict):
            return False
        if entry.get('kty') != 'oct' or self._said_before(entry):
            return entry.get('kty') in ('RSA', 'EC', 'OKP')
        kid = entry.get('kid')
        self.log.write(logging.ERROR, 'The JWKS at %s publishes a shared secret (kty oct) as kid %s: anyone who has '
                       'read the JWKS can sign HS256 tokens with it; canister never uses a shared secret of a JWKS '
                       '(the tokens of that kid are refused), but any other service that accepts it is open: ask '
                       'the provider to take it out of the JWKS and to replace that secret',
                       _escape(_mask_urls(self.url))[:200], '(none)' if kid is None else _shown_kid(kid))
        return False

    def _said_before(self, entry: Dict[str, Any]) -> bool:
        """Whether the secret a JWKS entry holds was logged already, across downloads (once per kid and key);
        noted as logged if not."""
        # The key by its public part; a shared secret, already published, by itself: only a hash of it is kept.
        key = [entry.get(name) for name in ('kty', 'crv', 'n', 'x', 'y', 'k')]
        return not self._secrets_said.first(hashlib.sha256(repr((entry.get('kid'), key)).encode()).digest())

    def _say_if_short(self, kid: Any, key: Any) -> None:
        """Log once a WARNING of an RSA key shorter than ``_RSA_MIN_BITS``: it is kept (the provider's keys are
        not the app's to fix, and refusing it would refuse every login it signs), but the app should know."""
        bits = _short_rsa_key_bits(key)
        if bits is None:
            return
        self._quiet_pyjwt(bits)
        modulus = key.public_numbers().n  # (a public key: an entry holding a private one is refused before)
        if not self._short_keys_said.first((kid, modulus)):
            return
        self.log.write(logging.WARNING, 'The JWKS key %s is an RSA key of %d bits, below the %d bits that NIST SP '
                       '800-131A asks for: the tokens it signs are accepted, but a key that short can be broken and '
                       'then tokens forged; ask the provider (%s) for a key of %d bits or more',
                       '(none)' if kid is None else _shown_kid(kid), bits, _RSA_MIN_BITS,
                       _escape(_mask_urls(self.url))[:200], _RSA_MIN_BITS)

    def _quiet_pyjwt(self, bits: int) -> None:
        """Keep PyJWT's own warning of an RSA key of ``bits`` off stderr while this JWKS is in use: canister's
        WARNING has said it, in the log, with what to do, and PyJWT's would say it again at the first token, as a
        Python warning from a request.  A filter of that length's message (as for a short ``auth_jwt_secret``), set
        once: PyJWT still warns of a key of another length the app uses itself."""
        category = getattr(self.jwt, 'InsecureKeyLengthWarning', None)  # (PyJWT 2.10 and later)
        if category is None:
            return
        with self._lock:
            if self._filters is not None and bits not in self._filters:
                self._filters[bits] = _hold_warning_filter('The RSA key is %d bits long' % bits, category)


class JwtAuth:
    """Bearer tokens (JWT), signed with a shared secret or a provider's keys."""

    #: The ``Authorization`` scheme it handles, in lower case.
    scheme = 'bearer'
    #: The algorithms of a shared secret.
    _SYMMETRIC = _JWT_SYMMETRIC
    #: The algorithms of a public key.
    _ASYMMETRIC = _JWT_ASYMMETRIC
    #: The shortest secret installed without a WARNING: HS256's hash length (RFC 7518 section 3.2).
    _SECRET_MIN = 32
    #: The hash of each HMAC algorithm, to tell a token signed with the secret read the other way.
    _HMAC_HASHES = {'HS256': hashlib.sha256, 'HS384': hashlib.sha384, 'HS512': hashlib.sha512}

    def __init__(self, config: Config, log: RequestLog) -> None:
        #: The PyJWT module.
        self.jwt = _require('jwt')
        note = _untested_version('jwt', self.jwt)
        if note:
            log.write(logging.WARNING, '%s', note)
            _warn_at_install(note)
        #: The ``WWW-Authenticate`` value of a 401 (``auth_realm``).
        self.challenge = 'Bearer realm=%s' % _realm(config)
        #: The ``aud`` a token must have (``auth_jwt_client_id``); None: any.
        self.audience = config['auth_jwt_client_id'] or None
        #: The ``iss`` a token must have (``auth_jwt_issuer``); None: any.
        self.issuer = config['auth_jwt_issuer'] or None
        #: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat`` (``auth_jwt_leeway``).
        self.leeway = config['auth_jwt_leeway']
        #: The claims a token must carry: ``exp`` with ``auth_jwt_require_exp``.
        self.required = ['exp'] if config['auth_jwt_require_exp'] else []
        #: The warning filter this install holds (see ``_warn_short_secret``), until ``close``.
        self._filtered: Optional[_HeldFilter] = None
        #: The provider's keys (``auth_jwt_jwks_url``); None: no JWKS.
        self.jwks: Optional[_Jwks] = None
        try:
            self._load_keys(config, log)
            self._choose_algorithms(config, log)
        except BaseException:  # (an install refused here, as for want of cryptography, keeps no filter of PyJWT's)
            self.close()
            raise

    def _load_keys(self, config: Config, log: RequestLog) -> None:
        """Take the keys that check signatures: the shared secret, the public key, the provider's JWKS."""
        self.secret = self._secret(config['auth_jwt_secret'], config['auth_jwt_encoding'])
        self._misread = self._misread_secret(config['auth_jwt_secret'], config['auth_jwt_encoding'])
        self.public_key: Any = None
        if config['auth_jwt_public_key']:
            self.public_key = self._public_key(config['auth_jwt_public_key'])
        if config['auth_jwt_jwks_url']:
            self.jwks = _Jwks(config['auth_jwt_jwks_url'], self.jwt, log, timeout=config['auth_jwt_jwks_timeout'],
                              min_interval=config['auth_jwt_jwks_refetch'])

    def _choose_algorithms(self, config: Config, log: RequestLog) -> None:
        """Take the accepted algorithms (by default those the keys can check), refusing any without a
        key; warn of a secret too short for them."""
        self.algorithms = frozenset(config['auth_jwt_algorithms'] or self._default_algorithms())
        for algorithm in self.algorithms:
            self._check_algorithm(algorithm)
        if self.secret and len(self.secret) < self._SECRET_MIN and self.algorithms & set(self._SYMMETRIC):
            self._warn_short_secret(log)
        if not self.algorithms.issubset(self._SYMMETRIC):
            # PyJWT installs without it, and then knows no RS/ES/PS/EdDSA key: every token would be refused.
            _require('cryptography')

    def _warn_short_secret(self, log: RequestLog) -> None:
        """Say at install that the secret is too short, and only then: PyJWT's own warning at the first
        token would repeat it, on stderr, from a request, without what to do."""
        note = ('canister.auth_jwt_secret is %d bytes: one token is enough to find a secret shorter than %d '
                'bytes by trying candidates offline, and then anyone can sign tokens; use %d random bytes or '
                'more (python -c "import secrets; print(secrets.token_urlsafe(32))", auth_jwt_encoding = clear)'
                % (len(self.secret), self._SECRET_MIN, self._SECRET_MIN))
        log.write(logging.WARNING, '%s', note)
        _warn_at_install(note)
        category = getattr(self.jwt, 'InsecureKeyLengthWarning', None)  # (PyJWT 2.10 and later)
        if category is not None:
            # A filter set once, not catch_warnings around each decode: that costs every Bearer request, and
            # swaps the process's filters under other threads.  It names this key's length, so PyJWT still
            # warns of a key of another length the app uses itself; it goes when the plugin is uninstalled.
            self._filtered = _hold_warning_filter('The HMAC key is %d bytes long' % len(self.secret), category)

    def close(self) -> None:
        """Let go of the filters of PyJWT's short-key warnings (at uninstall): PyJWT warns again once no plugin holds them."""
        if self._filtered is not None:
            _release_warning_filter(self._filtered)
            self._filtered = None
        if self.jwks is not None:
            self.jwks.close()

    @staticmethod
    def is_guess(credentials: str) -> bool:
        """False: a signed token cannot be guessed, so checking one confirms nothing (a failed
        one still counts against the throttle)."""
        return False

    def _default_algorithms(self) -> Tuple[str, ...]:
        """Every algorithm the configured keys can check: HMAC with a secret, the others with public keys."""
        default: Tuple[str, ...] = ()
        if self.secret:
            default += self._SYMMETRIC
        if self.public_key is not None or self.jwks is not None:
            default += self._ASYMMETRIC
        return default

    def _check_algorithm(self, algorithm: str) -> None:
        """Refuse at install an algorithm that has no key to check it (the config refused unknown ones)."""
        if algorithm in self._SYMMETRIC and not self.secret:
            raise ConfigError('canister.auth_jwt_algorithms: %s needs auth_jwt_secret' % algorithm)
        if algorithm not in self._SYMMETRIC and self.public_key is None and self.jwks is None:
            raise ConfigError('canister.auth_jwt_algorithms: %s needs auth_jwt_public_key '
                              'or auth_jwt_jwks_url' % algorithm)

    @staticmethod
    def _secret(secret: Union[str, bytes], encoding: str) -> bytes:
        if isinstance(secret, bytes):  # given as bytes: the key itself, or its base64 in ASCII
            if encoding == 'clear':
                return secret
            secret = secret.decode('ascii', 'replace')  # (a byte that is not ASCII is not base64 either)
        if not secret or encoding == 'clear':
            return secret.encode('utf-8')
        padded = secret + '=' * (-len(secret) % 4)
        try:
            if encoding == 'base64url':
                return base64.urlsafe_b64decode(padded)
            return base64.b64decode(padded, validate=True)
        except (ValueError, binascii.Error):
            # 1.x's docs wrote a text secret under base64url: say which key to change, not only what is wrong.
            raise ConfigError('canister.auth_jwt_secret is not valid %s, as auth_jwt_encoding = %s says it is: '
                              'write it in %s, or set auth_jwt_encoding = clear for a secret written as it is'
                              % (encoding, encoding, encoding)) from None

    def _misread_secret(self, secret: Union[str, bytes], encoding: str) -> Optional[Tuple[bytes, str]]:
        """The secret read the other way, and what to log of a token it signs: the text as written when
        ``auth_jwt_encoding`` says to decode it (the newcomer's token signed with the line of the config),
        or its base64url decoding when the encoding is clear.  None if there is no other reading."""
        written = secret if isinstance(secret, bytes) else secret.encode('utf-8')
        if encoding != 'clear':
            return (written, 'the token signature is invalid: it is signed with auth_jwt_secret as written, which '
                             'auth_jwt_encoding = %s says to decode first; sign with the decoded bytes, or set '
                             'auth_jwt_encoding = clear' % encoding) if written != self.secret else None
        try:
            decoded = base64.urlsafe_b64decode(written + b'=' * (-len(written) % 4))
        except (ValueError, binascii.Error):
            return None
        return (decoded, 'the token signature is invalid: it is signed with auth_jwt_secret decoded from base64, '
                         'which auth_jwt_encoding = clear uses as written; set auth_jwt_encoding = base64url (or '
                         'base64std), or sign with the text') if decoded and decoded != written else None

    def _signature_failure(self, token: str, algorithm: str) -> AuthFailure:
        """The 401 of a token whose signature is invalid; its log line says so when the token is signed with
        the secret read the other way (a failed token only: no request with a good one pays for this)."""
        failure = AuthFailure('the token signature is invalid', 'bearer')
        if self._misread is None or algorithm not in self._HMAC_HASHES:
            return failure
        signed, _, signature = token.encode('utf-8', 'replace').rpartition(b'.')
        expected = base64.urlsafe_b64encode(hmac.new(self._misread[0], signed, self._HMAC_HASHES[algorithm]).digest())
        if hmac.compare_digest(expected.rstrip(b'='), signature):
            failure.logged = self._misread[1]
        return failure

    @staticmethod
    def _public_key(path: str) -> Any:
        _require('cryptography')
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        if '-----BEGIN' in path or '\n' in path:  # a key pasted in place of its file's path: maybe a private one
            raise ConfigError('canister.auth_jwt_public_key holds the text of a PEM key (not shown), not the path of '
                              'a file: save the provider\'s public key to a file and give its path')
        try:
            with open(path, 'rb') as handle:
                key = load_pem_public_key(handle.read())
        except OSError as error:
            if JwtAuth._is_key_text(path):  # a PEM key's base64 lines pasted without the markers
                raise ConfigError('canister.auth_jwt_public_key holds the base64 text of a key (not shown), not the '
                                  'path of a file: the key takes a file path; save the provider\'s public key to a '
                                  'PEM file (its text between -----BEGIN PUBLIC KEY----- and -----END PUBLIC '
                                  'KEY-----) and give its path') from None
            failure: Exception = error
        except ValueError as error:
            failure = error
        else:
            bits = _short_rsa_key_bits(key)
            if bits is None:
                return key
            raise ConfigError('canister.auth_jwt_public_key = %r: an RSA key of %d bits is refused, below the %d '
                              'bits that NIST SP 800-131A asks for (a key that short can be broken, and then tokens '
                              'forged): sign with a key of %d bits or more' % (path, bits, _RSA_MIN_BITS, _RSA_MIN_BITS))
        raise ConfigError('canister.auth_jwt_public_key = %r: cannot load a PEM public key (%s)'
                          % (path, failure)) from None

    @staticmethod
    def _is_key_text(value: str) -> bool:
        """True if ``value`` (which names no file) is the base64 of a DER key, 40 characters or more: a PEM
        key's body, which starts with an ASN.1 SEQUENCE (byte 0x30, so its text with ``M``)."""
        text = ''.join(value.split())
        if len(text) < 40 or not text.startswith('M'):
            return False
        try:
            return base64.b64decode(text, validate=True)[:1] == b'\x30'
        except (binascii.Error, ValueError):
            return False

    def authenticate(self, token: str) -> Tuple[Any, float, str, None, None]:
        """Return (claims, expiry, subject to log, no login line, no overtaken test) or raise :class:`AuthFailure`."""
        jwt = self.jwt
        problem = self._header_problem(token)
        if problem:
            raise AuthFailure(problem, 'bearer')
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure('the token is malformed', 'bearer') from None
        algorithm = self._algorithm(header)
        claims = self._decode(token, self._key(header, algorithm), algorithm)
        if self.issuer is not None and claims.get('iss') != self.issuer:
            # PyJWT 2.10.0 took an iss that is part of the issuer for it (CVE-2024-53861): canister.py
            # dropped beside an app may meet that PyJWT, so the issuer is compared here once more.
            raise self._mismatch('the token is from another issuer', claims, 'iss')
        # (JSON's \ud800 escape gives text that no UTF-8 stands for: as the user, or in its key, a sub or iss,
        # it fails wherever it is written as UTF-8, a SQLite or Redis store, a handler's page; NaN, which PyJWT's
        # json reads, would be stored as a record other JSON readers refuse, as canister refuses it in a body)
        found = _unwritable_field(claims, numbers=True)
        if found is not None:
            field, item = found
            raise AuthFailure('the token is malformed: its claim %r %s' % (field[:60], (
                'is not valid UTF-8 (it holds a lone surrogate)' if isinstance(item, str)
                else 'is not a finite number (%s)' % _CONSTANTS_NOT_JSON)), 'bearer')
        return claims, self._expiry(claims), str(claims.get('sub', '?')), None, None

    @staticmethod
    def _header_problem(token: str) -> str:
        """Why the token's header, read without any check, is refused whatever PyJWT's version ('' if it is not).

        canister.py dropped beside an app may meet an old PyJWT, as only the jwt extra asks for a newer one.
        RFC 7515 (4.1.11): a critical extension not understood refuses the token, and canister understands
        none; PyJWT before 2.12 ignored ``crit`` (CVE-2026-32597).  A ``kid`` that is not a string would be
        looked up among a JWKS's keys (a list cannot be: a TypeError); PyJWT before 2.6 let it through."""
        # read as PyJWT reads it: its bytes in UTF-8, padded by their count, and base64 that passes over bytes
        # outside its alphabet (PyJWT before 2.14 reads a header with a non-ASCII character in it so)
        head = token.partition('.')[0].encode('utf-8', 'surrogatepass')
        try:
            header = json.loads(base64.urlsafe_b64decode(head + b'=' * (-len(head) % 4)))
        except (ValueError, binascii.Error, RecursionError):  # (not JSON, base64 or UTF-8; arrays nested too
            return ''                                              # deep): PyJWT says it is malformed
        if not isinstance(header, dict):
            return ''
        if 'crit' in header:
            return 'the token has a critical header (crit) that canister does not understand'
        if 'kid' in header and not isinstance(header['kid'], str):
            return 'the token is malformed: its key id (kid) is not a string'
        return ''

    def _algorithm(self, header: Any) -> str:
        """The token's ``alg``, if it is one of the accepted algorithms."""
        algorithm = header.get('alg') if isinstance(header, dict) else None
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise AuthFailure('the token algorithm %r is not accepted' % str(algorithm)[:20], 'bearer')
        return algorithm

    def _key(self, header: Dict[str, Any], algorithm: str) -> Any:
        """The key to check the signature with: the secret, the public key or the provider's key of ``kid``."""
        if algorithm in self._SYMMETRIC:
            return self.secret
        if self.public_key is not None and (self.jwks is None or 'kid' not in header):
            return self.public_key
        if self.jwks is not None:
            return self.jwks.key_for(header.get('kid'), algorithm)
        raise AuthFailure('no key for this token', 'bearer')

    def _decode(self, token: str, key: Any, algorithm: str) -> Dict[str, Any]:
        """The verified claims; each way a token fails becomes an :class:`AuthFailure` saying which."""
        jwt = self.jwt
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={'require': self.required,
                                                             'verify_aud': self.audience is not None})
        except jwt.ExpiredSignatureError:  # (PyJWT checks the times after the signature: genuine, but lapsed)
            raise AuthFailure('the token has expired', 'bearer', counted=False) from None
        except jwt.InvalidAudienceError:
            raise self._mismatch('the token is not for this audience', self._claims_read(token), 'aud') from None
        except jwt.InvalidIssuerError:
            raise self._mismatch('the token is from another issuer', self._claims_read(token), 'iss') from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure('the token is not valid yet', 'bearer', counted=False) from None
        except jwt.InvalidSignatureError:
            raise self._signature_failure(token, algorithm) from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthFailure('the token lacks the %s claim' % error.claim, 'bearer') from None
        except jwt.InvalidTokenError as error:  # (PyJWT's words name what is malformed: a claim, the payload)
            raise AuthFailure('the token is malformed: %s' % _escape(str(error))[:120], 'bearer') from None
        except Exception:  # (its class would tell the client nothing but which library failed)
            raise AuthFailure('the token is invalid', 'bearer') from None
        if not isinstance(claims, dict):
            raise AuthFailure('the token payload is not an object', 'bearer')
        return claims

    def _claims_read(self, token: str) -> Dict[str, Any]:
        """The claims of a token whose signature PyJWT has checked (it checks the claims after it), read again."""
        try:
            claims = self.jwt.decode(token, options={'verify_signature': False})
        except Exception:
            return {}
        return claims if isinstance(claims, dict) else {}

    def _mismatch(self, reason: str, claims: Dict[str, Any], claim: str) -> AuthFailure:
        """The refusal of a token whose ``iss`` or ``aud`` is not the one configured: the log names both, since
        they often differ by little (an issuer's last ``/``), and the client gets ``reason`` alone."""
        key, wanted = ('auth_jwt_issuer', self.issuer) if claim == 'iss' else ('auth_jwt_client_id', self.audience)
        shown = [repr(value) if len(repr(value)) <= 200 else repr(value)[:197] + '...'
                 for value in (claims.get(claim), wanted)]
        return AuthFailure(reason, 'bearer', logged='%s (its %s is %s; canister.%s is %s)'
                           % (reason, claim, shown[0], key, shown[1]))

    @staticmethod
    def _expiry(claims: Dict[str, Any]) -> float:
        """The ``exp`` claim as a number (0.0 when there is none)."""
        exp = claims.get('exp')
        if isinstance(exp, str):  # PyJWT accepts a numeric string and checks int(exp): so does the session
            try:
                exp = int(exp)
            except ValueError:
                exp = None
        return float(min(exp, 2 ** 53)) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else 0.0


#: RFC 6052's well-known NAT64 prefix: a translator puts the IPv4 clients behind it, each at the
#: address its last 32 bits spell.
_NAT64 = ipaddress.IPv6Network('64:ff9b::/96')
#: RFC 8215's NAT64 prefix for local use, of which an operator takes a prefix of any length RFC 6052
#: allows (/32 to /96): where the IPv4 address sits in it depends on that length, which canister does not
#: know, but each IPv4 client still has an address of its own there.
_NAT64_LOCAL = ipaddress.IPv6Network('64:ff9b:1::/48')


def _throttle_key(client: str) -> str:
    """The address a client is counted by: an IPv6 client by its /64, which one host usually
    holds whole (so it cannot step to the next address), an IPv4-mapped one as IPv4, and one a
    NAT64 translator stands for (all of them share one /64) as the IPv4 client it embeds, or under
    the local-use prefix by its whole address."""
    if ':' not in client:
        return client
    try:
        address = ipaddress.IPv6Address(client.partition('%')[0])
    except ValueError:
        return client
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address in _NAT64:
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _NAT64_LOCAL:
        return str(address)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


#: The 503's text for a login the throttle's store could not count (the log's ERROR line says why).
_THROTTLE_UNAVAILABLE = ('Service unavailable: the login cannot be counted against the limit of failed logins (the '
                         'session store that keeps the count cannot be reached or written), retry shortly')


class _Throttle:
    """Login attempts per client, in this process: at most ``max_failures`` per window.

    An attempt that could confirm a guess takes its place (``claim``) before its credentials
    are checked, so concurrent guesses cannot all slip in while a slow hash runs; a successful
    one gives its place back (``release``) if its window has not ended meanwhile (a place in a
    new window is a failure's), a failed one keeps it until the window ends.  Other
    attempts (a token, a password verified minutes ago) only ask whether the client is locked
    out (``wait``), and take a place once they failed.  A window starts with a client's first
    attempt and lasts ``window`` seconds.

    At most ``max_clients`` clients are counted, and none is forgotten inside its window: were the
    oldest dropped to make room, an attacker with more addresses than that (a /48 of IPv6 holds 65,536
    /64s) would take turns among them and each would find its count gone, for guesses without end.
    A client not counted yet finds room once the first window ends, and is refused until then.
    """

    #: The ``ends`` of a claim refused because ``max_clients`` others are counted, each in its window.
    FULL = -1.0

    def __init__(self, max_failures: int, window: float = 60.0, max_clients: int = 10000) -> None:
        #: Failed logins a client may make in a window (``auth_max_failures``).
        self.max_failures = max_failures
        #: Seconds of a client's window.
        self.window = window
        #: The most clients counted at once: a client with no place left to claim waits for one.
        self.max_clients = max_clients
        #: client -> [attempts, end of its window (monotonic)], the first window to end first (windows
        #: are all ``window`` long, so in the order they began).  A count back at 0 is no client's.
        self._clients: 'collections.OrderedDict[str, List[float]]' = collections.OrderedDict()
        #: Guards ``_clients``.
        self._lock = threading.Lock()
        _AUTH_LOCKS.add(self)

    def claim(self, client: str) -> Tuple[int, float]:
        """Take a place for an attempt: ``(0, the end of its window)``, which ``release`` is given,
        or ``(the seconds to wait, 0.0)``, or ``(the seconds to wait, FULL)`` for a new window while
        ``max_clients`` others are counted."""
        with self._lock:
            now = time.monotonic()
            clients = self._clients
            entry = clients.get(client)
            if entry is None or entry[1] <= now:
                if entry is not None:
                    del clients[client]
                first_ends = self._make_room(now)
                if first_ends:
                    return max(math.ceil(first_ends - now), 1), self.FULL
                entry = clients[client] = [0, now + self.window]
            if entry[0] >= self.max_failures:
                return max(math.ceil(entry[1] - now), 1), 0.0
            entry[0] += 1
            return 0, entry[1]

    def _make_room(self, now: float) -> float:
        """Forget the clients whose window has ended (the first ones); 0.0 if there is room for one more,
        else when the first window ends.  Called with ``_lock`` held."""
        clients = self._clients
        while clients:
            first_ends = clients[next(iter(clients))][1]
            if first_ends > now:
                return first_ends if len(clients) >= self.max_clients else 0.0
            clients.popitem(last=False)
        return 0.0

    def wait(self, client: str) -> int:
        """The seconds the client must wait (its places are all taken), or 0; takes no place."""
        with self._lock:
            now = time.monotonic()
            entry = self._clients.get(client)
            if entry is None or entry[1] <= now or entry[0] < self.max_failures:
                return 0
            return max(math.ceil(entry[1] - now), 1)

    def release(self, client: str, ends: float) -> None:
        """The attempt succeeded: give back its place, in the window ending at ``ends`` (``claim``'s)."""
        with self._lock:
            entry = self._clients.get(client)
            if entry is not None and entry[1] == ends and entry[0] > 0:
                entry[0] -= 1
                if not entry[0]:  # no failure, no attempt under way: nothing to keep (successful logins take no room)
                    del self._clients[client]


class _SQLiteThrottle(_Throttle):
    """The same counts in the SQLite session file, so every process using it shares them.

    It uses the store's connections: the store's ``close`` closes them, and a file made
    again after a deletion gets this table too.
    """

    #: The table of failed attempts per client key.
    _SCHEMA = ('CREATE TABLE IF NOT EXISTS canister_throttle ('
               'client TEXT PRIMARY KEY, attempts INTEGER NOT NULL, window_ends REAL NOT NULL)')
    #: Its columns: a ``canister_throttle`` table with others is not canister's, and is left alone.
    _COLUMNS = ['client', 'attempts', 'window_ends']

    def __init__(self, store: SQLiteStore, max_failures: int, window: float = 60.0, cleanup_every: int = 100) -> None:
        super().__init__(max_failures, window)
        #: The session file, by its absolute path (as the store's texts name it).
        self.path = store.file_path
        #: Ended windows are deleted at one claim in this many.
        self.cleanup_every = cleanup_every
        #: Counts the claims, for ``cleanup_every``.
        self._claims = itertools.count(1)
        #: The store's connections to the file.
        self._file = store._file
        #: The store: a write of the throttle's that failed for want of room is one its readiness check must tell.
        self._store = store
        if self._set_up not in self._file.set_ups:  # on every connection opened from now on
            self._file.set_ups.append(self._set_up)
        if not self._file.is_open():  # (the store could not open it yet: its first connection makes the table)
            return
        try:  # (a connection open already made no table of the throttle's: one run makes it in the file)
            self._file.run(self._set_up)
        except (sqlite3.Error, OSError) as error:
            if not _sqlite_passing(error):
                raise ConfigError('canister.session_store: the SQLite file %s cannot hold the login throttle: %s'
                                  % (self.path, error)) from None
            self._file.close_before_fork()  # locked meanwhile: every connection opened anew, this set-up run then

    @staticmethod
    def _set_up(connection: sqlite3.Connection) -> None:
        """Make the table if it is missing (in a file that may hold the app's tables too)."""
        connection.execute(_SQLiteThrottle._SCHEMA)
        columns = [row[1] for row in connection.execute('PRAGMA table_info(canister_throttle)')]
        if columns != _SQLiteThrottle._COLUMNS:
            raise sqlite3.DatabaseError("its table canister_throttle is not canister's (its columns: %s); "
                                        'give canister a file of its own' % ', '.join(columns))

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            return self._file.run(work)
        except (sqlite3.Error, OSError) as error:
            if _sqlite_no_room(error):  # (a failed login writes the throttle's count alone: no save fails to tell it)
                self._store._short_of_room = True
            unavailable = StoreUnavailable('the SQLite login throttle %s failed: %s' % (self.path, error))
            unavailable.answer = _THROTTLE_UNAVAILABLE
            raise unavailable from None

    def claim(self, client: str) -> Tuple[int, float]:
        def work(connection: sqlite3.Connection) -> Tuple[int, float]:
            with _sqlite_transaction(connection):  # one writer at a time: read and count as one step
                now = _now()
                row = connection.execute('SELECT attempts, window_ends FROM canister_throttle WHERE client = ?',
                                         (client,)).fetchone()
                attempts, ends = (0, now + self.window) if row is None or self._ended(row[1], now) else row
                if attempts >= self.max_failures:
                    wait, ends = max(math.ceil(ends - now), 1), 0.0
                else:
                    wait = 0
                    connection.execute('INSERT OR REPLACE INTO canister_throttle (client, attempts, window_ends) '
                                       'VALUES (?, ?, ?)', (client, attempts + 1, ends))
                if next(self._claims) % self.cleanup_every == 0:
                    connection.execute('DELETE FROM canister_throttle WHERE window_ends <= ? OR window_ends > ?',
                                       (now, now + self.window))
            return wait, ends
        return typing.cast(Tuple[int, float], self._run(work))

    def _ended(self, ends: float, now: float) -> bool:
        """True if a window ending at ``ends`` has ended: by ``now``, or, since the ends are times of the wall
        clock (the one the processes sharing the file share), by a clock set back since to more than a window
        before its end (an NTP step), which would otherwise stretch a minute's lockout by as much."""
        return not now < ends <= now + self.window

    def wait(self, client: str) -> int:
        now = _now()
        row = self._run(lambda connection: connection.execute(
            'SELECT attempts, window_ends FROM canister_throttle WHERE client = ?', (client,)).fetchone())
        if row is None or self._ended(row[1], now) or row[0] < self.max_failures:
            return 0
        return max(math.ceil(row[1] - now), 1)

    def release(self, client: str, ends: float) -> None:
        self._run(lambda connection: connection.execute(
            'UPDATE canister_throttle SET attempts = attempts - 1 WHERE client = ? AND attempts > 0 '
            'AND window_ends = ?', (client, ends)))


class _RedisThrottle(_Throttle):
    """The same counts in the Redis session server, so every process and host using it shares them.

    Each step is one Lua script, so the read, the count and the expiry happen as one.
    """

    #: Take a place for an attempt: {0, the milliseconds left of its window}, or {the milliseconds until
    #: the client may try again, 0}.
    _CLAIM = _REDIS_EFFECTS + """
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if attempts <= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
redis.call('DECR', KEYS[1])
return {math.max(redis.call('PTTL', KEYS[1]), 1), 0}
"""
    #: The milliseconds until the client may try again, or 0 (no place taken).
    _WAIT = _REDIS_EFFECTS + """
local attempts = tonumber(redis.call('GET', KEYS[1]) or '0')
if attempts < tonumber(ARGV[1]) then return 0 end
return math.max(redis.call('PTTL', KEYS[1]), 1)
"""
    #: Give back the place of an attempt that succeeded, unless its window has ended: ARGV[1] is the
    #: milliseconds its window had left by the claim's count, ARGV[2] the window's length.  A window
    #: begun since ends a whole window later, far beyond half a window of error in that count.
    _RELEASE = _REDIS_EFFECTS + """
local left = redis.call('PTTL', KEYS[1])
if left < 0 or left > tonumber(ARGV[1]) + tonumber(ARGV[2]) / 2 then return 0 end
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
return 0
"""

    def __init__(self, store: RedisStore, max_failures: int, window: float = 60.0) -> None:
        super().__init__(max_failures, window)
        #: The start of its keys: the store's prefix and ``throttle:``.
        self.prefix = store.prefix + 'throttle:'
        #: The store's: what redis-py raises when Redis cannot answer.
        self._errors = store._errors
        #: The store's note of an error (``RedisStore._unreachable``): a write refused or a stall, for the readiness check.
        self._unreachable = store._unreachable
        #: Runs a Lua script on a key (``RedisStore.run_script``).
        self._run_script = store.run_script

    def _run(self, source: str, client: str, *args: Any) -> Any:
        try:
            return self._run_script(source, self.prefix + client, *args)
        except StoreUnavailable as error:  # (a client that could not be made, or Redis stalled: the store's words)
            error.answer = _THROTTLE_UNAVAILABLE
            raise
        except self._errors as error:
            # The same Redis as the sessions': a write refused here (NOREPLICAS, READONLY, full) is one the store's
            # readiness check must tell, though no session was saved (a Basic login's count is written first); its
            # words say what to do (a read-only replica's among them).
            unavailable = self._unreachable(error, 'the Redis login throttle is unavailable')
            unavailable.answer = _THROTTLE_UNAVAILABLE
            raise unavailable from None

    def claim(self, client: str) -> Tuple[int, float]:
        wait_ms, left_ms = self._run(self._CLAIM, client, self.max_failures, int(self.window * 1000))
        if wait_ms:
            return math.ceil(int(wait_ms) / 1000), 0.0
        return 0, time.monotonic() + int(left_ms) / 1000  # (this process's clock: Redis's may differ)

    def wait(self, client: str) -> int:
        wait_ms = int(self._run(self._WAIT, client, self.max_failures))
        return math.ceil(wait_ms / 1000) if wait_ms else 0

    def release(self, client: str, ends: float) -> None:
        self._run(self._RELEASE, client, int((ends - time.monotonic()) * 1000), int(self.window * 1000))


def _throttle_for(store: Optional[SessionStore], max_failures: int) -> _Throttle:
    """Share the counts through the session store when it is shared (SQLite, Redis)."""
    if isinstance(store, SQLiteStore):
        return _SQLiteThrottle(store, max_failures)
    if isinstance(store, RedisStore):
        return _RedisThrottle(store, max_failures)
    return _Throttle(max_failures)


#: The WARNING of X-Forwarded-For from a peer not in trusted_proxies (said once by each app's log).
_UNTRUSTED_FORWARD = 'untrusted forward'
#: The WARNING of a login through a trusted proxy with other forwarding headers but no X-Forwarded-For (the same).
_UNFORWARDED = 'unforwarded'
#: Headers a proxy sends about its client (as WSGI names them) other than X-Forwarded-For, which canister does not read
#: the client's address from: their presence without X-Forwarded-For shows a proxy that does not send it.
_OTHER_FORWARDING = (('HTTP_X_REAL_IP', 'X-Real-IP'), ('HTTP_FORWARDED', 'Forwarded'),
                     ('HTTP_X_FORWARDED_PROTO', 'X-Forwarded-Proto'), ('HTTP_X_FORWARDED_HOST', 'X-Forwarded-Host'))
#: What WSGI servers give as REMOTE_ADDR (``-`` here when empty) for a peer that has no IP
#: address, a proxy on a UNIX socket: nothing (gunicorn) or ``localhost`` (waitress).  The
#: ``unix`` entry of trusted_proxies trusts such a peer.
_UNIX_PEERS = frozenset(('-', 'localhost'))


def _auth_scheme(header: str) -> Tuple[str, str]:
    """An ``Authorization`` header's scheme, lowercased, and its credentials ('' for none), split as Bottle's
    ``request.auth`` splits them: at the first run of whitespace.  RFC 9110 (11.4) puts one or more spaces there;
    Bottle takes any whitespace (a tab, a form feed, a no-break space), and so does canister, so that no header Bottle
    reads as a user and password is left unchecked where canister is configured for Basic."""
    parts = header.split(None, 1)
    if not parts:
        return '', ''
    return parts[0].lower(), parts[1].strip() if len(parts) > 1 else ''


def _is_page_script(environ: Mapping[str, Any]) -> bool:
    """True for a request a browser labels as not a navigation (``Sec-Fetch-Mode``: a page's ``fetch`` or
    XMLHttpRequest, an image): a Basic challenge on its 401 would open the browser's own login dialog
    over the page (and leave the script's call waiting until someone answers it)."""
    mode = environ.get('HTTP_SEC_FETCH_MODE')
    return bool(mode) and mode != 'navigate'


def _form_entry(stored: Any) -> Optional[Tuple[str, str]]:
    """A form login's stored password (``bytes`` read as UTF-8) and its scheme (``clear`` for no hash),
    or None if there is none."""
    if isinstance(stored, (bytes, bytearray)):
        stored = stored.decode('utf-8', 'replace')
    if not isinstance(stored, str) or not stored:  # (a value that is no text, a number or a record: see _unusable)
        return None
    return stored, _hash_scheme(stored) or 'clear'


def _is_false_value(value: Any) -> bool:
    """True for a false number or an empty container (``False``, ``0``, ``{}``): what a users lookup may answer for a
    name it does not know, as ``None`` is.  (Only these types: ``bool()`` of another object may raise, or cost.)"""
    return isinstance(value, (int, float, dict, list, tuple, set, frozenset)) and not value


def _same_value(value: Any, seen: Any) -> bool:
    """Whether a users mapping's value is the one seen when the mapping was read: the same object, or equal text
    (a mapping built anew from the same rows); other values, by their identity only."""
    return value is seen or (type(value) is type(seen) and isinstance(value, (str, bytes, int)) and value == seen)


def _mapping_marks(users: Any) -> Tuple[int, Any]:
    """What tells a users mapping changed, in a few steps whatever its size: its size (-2 without ``len()``) and
    its first value (an object of its own, never seen before, if another thread changed the dict meanwhile)."""
    try:
        size = len(users)
    except TypeError:   # (a mapping without len(): its first value and the name's tell a change)
        size = -2
    try:
        return size, next(iter(users.values()), None)
    except RuntimeError:  # (a dict another thread changed between those two steps: read again)
        return size, object()


class _MappingRead(typing.NamedTuple):
    """A users mapping as a form login last read it (``Authenticator._dummy_of_mapping``)."""

    #: Its users' values by name, as read (a shallow copy: the names and values are the mapping's own objects).
    values: Dict[Any, Any]
    #: Its size then (-2: it has no ``len()``).
    size: int
    #: Its first value then (None for no users).
    first: Any
    #: What an unknown name is checked against: a stored form of its users' most common cost, and its scheme.
    dummy: Tuple[str, str]


class Authenticator:
    """Checks logins: the Authorization header's, for the schemes canister is configured for, and
    a login form's (:func:`log_in`), both under one login throttle."""

    def __init__(self, config: Config, log: RequestLog, store: Optional[SessionStore] = None) -> None:
        #: The app's log.
        self.log = log
        #: The ``Authorization`` schemes configured, by name (``basic``, ``bearer``).
        self.schemes: Dict[str, Any] = {}
        if config['auth_basic_username'] or config['auth_basic_users_file']:
            self.schemes['basic'] = BasicAuth(config, log)
        if config['auth_jwt_secret'] or config['auth_jwt_public_key'] or config['auth_jwt_jwks_url']:
            self.schemes['bearer'] = JwtAuth(config, log)
        #: The ``WWW-Authenticate`` values of a 401, one per scheme.
        self.challenges = [handler.challenge for handler in self.schemes.values()]
        #: The challenge of a 401 that has no scheme's to carry (none configured, or only Basic's to a
        #: page's script): RFC 9110 wants one on every 401, and no browser opens a dialog for this one.
        self.session_challenge = 'Session realm=%s' % _realm(config)
        #: The session store, where a shared login throttle keeps its counts.
        self._store = store
        #: ``auth_max_failures``, for a throttle made later.
        self._max_failures = config['auth_max_failures']
        #: The login throttle: made at install for the header's schemes, else by the first form
        #: login (a SQLite session file gets its table only where logins happen).
        self._throttle = _throttle_for(store, self._max_failures) if self.schemes else None
        #: What a form login with a lookup function checks an unknown user's password against: a stored
        #: form of the scheme and cost of the last known user's (before any, of :func:`hash_password`'s).
        self._form_cost = ('pbkdf2', 'pbkdf2_sha256:%d' % _PBKDF2_ROUNDS)
        #: That stored form and its scheme.
        self._form_dummy = (_dummy_hash(*self._form_cost), 'pbkdf2')
        #: The users of the last mapping a form login read, and what its unknown names are checked against.
        self._mapping_read = _MappingRead({}, -1, None, self._form_dummy)
        #: What an unknown name of a mapping without users is checked against (:func:`hash_password`'s cost).
        self._default_dummy = self._form_dummy
        #: Guards the making of the throttle at the first form login.
        self._lock = threading.Lock()
        _AUTH_LOCKS.add(self)

    def __bool__(self) -> bool:
        return bool(self.schemes)

    def close(self) -> None:
        """Release what the schemes hold beyond the plugin (at uninstall)."""
        for handler in self.schemes.values():
            close = getattr(handler, 'close', None)
            if callable(close):
                close()

    @property
    def throttle(self) -> _Throttle:
        """The login throttle, made now if this is the first login of an app without a header scheme."""
        if self._throttle is None:
            with self._lock:
                if self._throttle is None:
                    try:
                        self._throttle = _throttle_for(self._store, self._max_failures)
                    except ConfigError as error:  # (the SQLite file cannot hold its table)
                        unavailable = StoreUnavailable(str(error))
                        unavailable.answer = _THROTTLE_UNAVAILABLE
                        raise unavailable from None
        return self._throttle

    def log_in(self, session: Any, header: str, environ: Mapping[str, Any], trusted: bool) -> None:
        """Log the header's user in to ``session``, or raise the 401/429 response.  ``trusted``:
        the request came through a trusted proxy (its X-Forwarded-For counts).  ``session``: the request's context
        (``_RequestContext``, below); the lines are in the request's log, its ``plugin``'s (a parent's, for a child
        app mounted or merged into an app with canister)."""
        scheme, credentials = _auth_scheme(header)
        handler = self.schemes.get(scheme)
        if handler is None:
            return  # a scheme the app handles itself
        log = session.plugin.log
        self._untrusted_forward(log, environ, trusted)
        named = getattr(handler, 'user_named', None)  # (Basic's; a token's user is known once it is checked)
        checked_at = session.login_starts(lambda: named(credentials) if named is not None else None)
        try:
            user, expires, shown, line, overtaken = self._attempt(session, handler.is_guess(credentials),
                                                                  lambda: self._authenticate(handler, credentials))
        except AuthFailure as failure:
            raise self.unauthorized('Authentication failed: %s' % failure.reason, failure) from None
        except _KeysUnavailable as unavailable:  # (each request of the outage meets it: one line a second)
            log.write_repeated(unavailable.level, str(unavailable))
            raise _error_response(503, _KEYS_UNAVAILABLE, {'Retry-After': str(unavailable.retry_after)}) from None
        if not session.set_user(user, expires, remember=False, line=line, checked_at=checked_at):
            return  # (the session's own user again: a change ending their sessions ends this one, saved or not)
        log.write(logging.INFO, 'Logged in as: %s', _escape(shown))  # (escaped here for the app's own handlers too)
        if overtaken is not None:
            session.end_if_overtaken(user, overtaken)

    def log_in_form(self, session: Any, username: str, password: str, users: Any,
                    environ: Mapping[str, Any], trusted: bool) -> bool:
        """Log in ``username`` if ``password`` is right, as :func:`log_in` says; True if it was (logged as
        ``log_in`` logs)."""
        log = session.plugin.log
        self._untrusted_forward(log, environ, trusted)
        checked_at = session.login_starts(lambda: username)
        try:
            line, overtaken = self._attempt(session, True, lambda: self._check_form(log, username, password, users))
        except AuthFailure:
            return False
        # (a name a sign-up form took as sent may hold a line break)
        if session.set_user(username, line=line, checked_at=checked_at):
            log.write(logging.INFO, 'Logged in as: %s', _escape(username))
            if overtaken is not None:  # (the session's own user again is ended with it by the change, saved or not)
                session.end_if_overtaken(username, overtaken)
        return True

    def _attempt(self, session: Any, guess: bool, check: Callable[[], Any]) -> Any:
        """Run a login's ``check`` under the throttle and return what it returns, or log and re-raise
        its AuthFailure; raise the 429 of a client locked out.  ``guess``: the credentials could be
        a guess, so they take a place before the check, given back if they are right; others only
        look whether the client is locked out, and take a place once they failed."""
        client = _throttle_key(session.client)
        log = session.plugin.log
        throttle = self.throttle
        wait, ends = throttle.claim(client) if guess else (throttle.wait(client), 0.0)
        if wait:
            raise self._refusal(log, client, wait, ends == _Throttle.FULL, throttle.max_clients)
        try:
            result = check()
        except AuthFailure as failure:
            self._failed(log, client, guess, ends, failure)
            raise
        except BaseException:
            if guess:
                throttle.release(client, ends)
            raise
        if guess:
            throttle.release(client, ends)
        return result

    def _failed(self, log: RequestLog, client: str, guess: bool, ends: float, failure: AuthFailure) -> None:
        """Count a failed login (its place, taken before the check of a guess, is kept until the window ends; any
        other takes one now) and log it; raise the 429 of a failure that finds no place left to take."""
        throttle = self.throttle
        wait = 0
        if not failure.counted:  # (a lapsed token is no guess: an app sends it until it refreshes it)
            if guess:
                throttle.release(client, ends)
        elif not guess:
            wait, ends = throttle.claim(client)
        log.write(logging.WARNING, 'Authentication failed: %s', failure.logged)
        if wait:  # (as a guess would have been refused before its check)
            raise self._refusal(log, client, wait, ends == _Throttle.FULL, throttle.max_clients) from None

    def _refusal(self, log: RequestLog, client: str, wait: int, full: bool, most: int) -> bottle.HTTPResponse:
        """The 429 of a login the throttle refused, logged: the client is locked out, or (``full``) not counted
        yet while the throttle counts its most clients (``most``), each in its window."""
        if not full:
            log.write(logging.WARNING, 'Too many failed logins from %s: refused for %ds', client, wait)
            return _error_response(429, 'Too many failed login attempts: retry in %d seconds' % wait,
                                   {'Retry-After': str(wait)})
        log.write_repeated(logging.WARNING, 'The login throttle of this process counts %d clients, its most, each '
                                'with failed logins in its window (a guessing attack from many addresses?): logins '
                                'from clients it does not count yet are refused with 429 until the first window ends, '
                                'rather than forgetting a count' % most)
        return _error_response(429, 'Too many clients with failed logins at once: retry in %d seconds' % wait,
                               {'Retry-After': str(wait)})

    @staticmethod
    def _authenticate(handler: Any, credentials: str) -> Tuple[Any, int, str, Optional[str], Optional[_LoginInCheck]]:
        """The user of the credentials, when the login lapses, how to log it, its login line (Basic's users
        file: ``BasicAuth.login_line``) and Basic's overtaken test (``BasicAuth.check``); AuthFailure if not valid."""
        if not credentials or len(credentials.split()) != 1:  # (none, or whitespace inside)
            raise AuthFailure('the Authorization header must be "%s <credentials>"' % handler.scheme.title(),
                              handler.scheme)
        return handler.authenticate(credentials)

    def _check_form(self, log: RequestLog, username: str, password: str,
                    users: Any) -> Tuple[Optional[str], Optional[Callable[[], bool]]]:
        """Check a form's user name and password against ``users`` (a mapping or a lookup), or, for
        None, the users of Basic; AuthFailure if wrong, else the login line (Basic's, or None) and
        Basic's test of whether a change of its users file overtook the login (``BasicAuth.check``)."""
        if not (username.isascii() or _is_utf8(username)):  # (a lone surrogate: as the user's key, no store takes it)
            verify_password(password, *self._form_dummy)  # (at an unknown name's cost, as any wrong name)
            raise AuthFailure('wrong user name or password', 'basic',
                              'the user name is not valid UTF-8 (it holds a lone surrogate; not shown)')
        if users is None:
            basic = self.schemes.get('basic')
            if basic is None:
                raise CanisterError('canister.log_in: no users given, and none configured: pass users= (a mapping '
                                    'or a function of the name), or set auth_basic_username and auth_basic_password '
                                    'or auth_basic_users_file')
            return typing.cast(Tuple[Optional[str], Optional[Callable[[], bool]]], basic.check(username, password))
        if callable(users) or not callable(getattr(users, 'items', None)):
            stored = users(username) if callable(users) else users.get(username)
            entry = _form_entry(stored)
            dummy = self._lookup_dummy(entry)
        else:
            stored = users.get(username)
            entry, dummy = _form_entry(stored), self._dummy_of_mapping(users, username, stored)
        refused = self._unusable(log, username, stored, entry)
        if refused:  # refused at an unknown user's cost, as a wrong password is
            verify_password(password, *dummy)
            raise AuthFailure('wrong user name or password', 'basic', refused)
        _check_login(username, password, entry, dummy)
        return None, None

    def _unusable(self, log: RequestLog, username: str, stored: Any, entry: Optional[Tuple[str, str]]) -> Optional[str]:
        """Why the users' value for ``username`` can log nobody in, for the log (never the value itself): clear
        text, or no stored form at all (a number, a record: an ERROR, the app's users are wrong); None if usable."""
        if entry is not None:
            return _CLEAR_TEXT_REFUSED % ('the stored password of %r' % username) if entry[1] == 'clear' else None
        if stored is None or isinstance(stored, (str, bytes, bytearray)) or _is_false_value(stored):
            # (an unknown user, or an empty stored form: nothing is right against it; a lookup's own False, 0 or {}
            # for a name it does not know, as `name in db and db[name]` gives, is no user either: the name, maybe a
            # password typed into the wrong field, is not logged)
            return None
        log.write(logging.ERROR, 'canister.log_in: the users entry of %r is unusable: a value of type %s, not a '
                       'stored password (text or bytes), so it logs nobody in; store canister.hash_password(password) for '
                       'that user', username[:200], type(stored).__name__[:64])
        return 'the users entry of %r is unusable (no stored password)' % username

    def _dummy_of_mapping(self, users: Any, username: str, stored: Any) -> Tuple[str, str]:
        """What an unknown name of the mapping ``users`` is checked against: Basic's rule, the most common
        scheme and cost among all its users, so no client's choice of names to try moves it.  Read when the
        mapping looks changed since it was last read: another size or first value (users added or taken out,
        all rehashed in place, another mapping), or another value for the name tried (``stored``, that user
        rehashed, before their check); a mapping of the same users, built anew for each request, is not read
        again.  Each look is a few steps, whatever the number of users (``_mapping_marks``)."""
        size, first = _mapping_marks(users)
        read = self._mapping_read
        if (size != read.size or not _same_value(first, read.first)
                or (stored is not None and not _same_value(stored, read.values.get(username)))):
            # (dict(): a dict the app adds users to in other threads is copied in one step, where a list of its
            # items is not; a value that is no stored form, a number or a record, refuses its own name only)
            values = dict(users)
            entries = (_form_entry(value) for value in values.values())
            dummy = _unknown_user_hash((entry for entry in entries if entry is not None and entry[1] != 'clear'),
                                       self._default_dummy)   # (clear text is refused: it sets no cost)
            read = self._mapping_read = _MappingRead(values, size, first, dummy)
        return read.dummy

    def _lookup_dummy(self, entry: Optional[Tuple[str, str]]) -> Tuple[str, str]:
        """What an unknown name of a lookup function is checked against: a function shows no users but the
        one it is asked for, so the scheme and cost of the last known user's (not clear text, which sets none)."""
        cost = _hash_cost(*entry) if entry is not None and entry[1] != 'clear' else self._form_cost
        if cost != self._form_cost:
            self._form_dummy, self._form_cost = (_dummy_hash(*cost), cost[0]), cost
        return self._form_dummy

    def _untrusted_forward(self, log: RequestLog, environ: Mapping[str, Any], trusted: bool) -> None:
        """Say once in the request's log (``log``: that of the app whose entry judged ``trusted``) that
        X-Forwarded-For from an untrusted peer is ignored (and that a trusted proxy sends none)."""
        if trusted:
            self._unforwarded(log, environ)
            return
        if 'HTTP_X_FORWARDED_FOR' not in environ or log.said(_UNTRUSTED_FORWARD):
            return
        peer = environ.get('REMOTE_ADDR') or '-'
        if not log.first_to_say(_UNTRUSTED_FORWARD):  # the first login says it
            return
        if peer in _UNIX_PEERS:
            log.write(logging.WARNING, 'X-Forwarded-For came from a peer without an IP address (REMOTE_ADDR '
                           '%r: a proxy on a UNIX socket), which trusted_proxies does not list: every client is '
                           'logged and throttled as that one peer; if it is your proxy, add unix to '
                           'trusted_proxies', environ.get('REMOTE_ADDR', ''))
        else:
            log.write(logging.WARNING, 'X-Forwarded-For came from %s, which is not in trusted_proxies: '
                           'clients are logged and throttled by that address (a proxy\'s address counts all its '
                           'clients as one); list the proxy in trusted_proxies', _escape(peer)[:64])

    def _unforwarded(self, log: RequestLog, environ: Mapping[str, Any]) -> None:
        """Say once in the request's log that a trusted proxy sends headers about its client, but no X-Forwarded-For:
        every client behind it then counts as the proxy, and one client's failed logins lock out all."""
        if 'HTTP_X_FORWARDED_FOR' in environ or log.said(_UNFORWARDED):
            return
        sent = [name for key, name in _OTHER_FORWARDING if key in environ]
        if not sent or not log.first_to_say(_UNFORWARDED):  # the first login says it
            return
        log.write(logging.WARNING, 'A login came through the trusted proxy %s with %s but no X-Forwarded-For, '
                       'the only header canister takes the client\'s address from: every client of that proxy is '
                       'logged and throttled as the proxy, and one client\'s failed logins lock all of them out; '
                       'have the proxy send X-Forwarded-For (nginx: proxy_set_header X-Forwarded-For '
                       '$proxy_add_x_forwarded_for; waitress drops it unless started with '
                       '--no-clear-untrusted-proxy-headers)', _escape(environ.get('REMOTE_ADDR') or '-')[:64],
                       ', '.join(sent))

    def unauthorized(self, message: str, failure: Optional[AuthFailure] = None) -> bottle.HTTPResponse:
        """A 401 response with the challenges of the configured schemes (but Basic's, to a page's script),
        or the ``Session`` one when that leaves none."""
        challenges = self.challenges
        if _is_page_script(bottle.request.environ):
            challenges = [c for c in challenges if not c.startswith('Basic')]
        if failure is not None and failure.scheme == 'bearer':
            description = re.sub(r'[^ -~]|["\\]', '', failure.reason)
            challenges = [c + ', error="invalid_token", error_description="%s"' % description
                          if c.startswith('Bearer') else c for c in challenges]
        response = _error_response(401, message)
        if not challenges:  # the app's own login (a form, canister.log_in) is the way in
            challenges = [self.session_challenge]
        for challenge in challenges:
            response.add_header('WWW-Authenticate', challenge)
        return response


def _served_route(context: Any) -> Any:
    """The route Bottle is serving in the request of ``context`` (None before routing).  Bottle keeps
    it in the environ it serves, which is a copy of the context's when a WSGI callable between a parent
    and a mounted child copies it."""
    try:
        environ = bottle.request.environ
    except RuntimeError:  # (Bottle has bound no request in this thread)
        environ = context.environ
    return environ.get('bottle.route')


def _route_plugin(context: Any) -> Any:
    """The canister that wraps the route being served, whose credentials rule its login: in an app
    mounted or merged into another that has a canister too ("On both" in the README), the child's
    own (which checks the ``Authorization`` header on its routes, and whose schemes a guard on a route that
    skips it logs in with: ``_log_in_on_unwrapped_route``), else the request's."""
    plugin = context.plugin
    route = _served_route(context)
    if route is not None and route.app is not plugin.app:
        for other in itertools.chain(route.all_plugins(), route.app.plugins):
            if getattr(other, 'name', None) == 'canister' and getattr(other, 'authenticator', None) is not None:
                return other
    return plugin


def _current_authenticator() -> Optional[Authenticator]:
    """The authenticator of the route being served, for the challenges of a 401: its canister's (the
    app's, for a route that skips canister); None where no canister serves."""
    context = _local.context
    if context is not None:
        return typing.cast(Authenticator, _route_plugin(context).authenticator)
    try:
        app = bottle.request.environ.get('bottle.app')
    except RuntimeError:  # (Bottle has bound no request in this thread)
        return None
    for plugin in getattr(app, 'plugins', ()):
        if getattr(plugin, 'name', None) == 'canister' and getattr(plugin, 'authenticator', None) is not None:
            return typing.cast(Authenticator, plugin.authenticator)
    return None


def _log_in_on_unwrapped_route(context: Any) -> None:
    """Check the request's ``Authorization`` for a guard that finds nobody logged in on a route no canister
    wraps: one that skips its app's canister (``skip=['canister']``), checked with that canister's schemes,
    or one of an app without canister mounted or merged into the request's, checked with the request's (whose
    challenge the guard's 401 sends).  The route wrapper that checks it did not run there, and the guard's 401
    would challenge for credentials it never looks at."""
    header = context.environ.get('HTTP_AUTHORIZATION')
    route = _served_route(context)
    if not header or route is None or any(getattr(p, 'name', None) == 'canister' for p in route.all_plugins()):
        return  # (a route canister wraps had the header checked there)
    own = [plugin for plugin in route.app.plugins if getattr(plugin, 'name', None) == 'canister']
    auth = getattr(own[0] if own else context.plugin, 'auth', None)
    if auth is not None:
        auth.log_in(context, header, context.environ, context.trusted)


def log_in(username: Optional[str], password: Optional[str],
           users: Union[Mapping[str, Any], Callable[[str], Any], None] = None) -> bool:
    """Log a user in from a login form: True, with ``session.user`` set, if the password is right.

    What canister does for the Authorization header, in a handler: the same login throttle
    (a 429 response raised while the client is locked out), an unknown user costing the hash of
    a known one, a WARNING for a failure.  ``users``: name -> stored form, as a mapping or a
    function (None for an unknown name); by default, the users Basic is configured with.
    """
    context = _local.context
    if context is None:
        if _served_without_canister():
            raise CanisterError('canister.log_in: the app bottle serves (or served last) in this thread has no '
                                'canister installed: app.install(canister.Canister()) first')
        raise CanisterError('canister.log_in is only available in a handler of a request canister serves, in the '
                            'thread that serves it (not at import time, in another thread, or after the response)')
    # a name or password that is not text (a JSON number, list or object an unannotated parameter passed
    # on as it came) is none: a login refused like an empty password, never a 500
    return typing.cast(bool, _route_plugin(context).authenticator.log_in_form(
        context, username if isinstance(username, str) else '', password if isinstance(password, str) else '',
        users, context.environ, context.trusted))


#: On a handler ``require`` made: its check (``functools.wraps`` copies it onto wrappers made later).
_GUARD_CHECK = '_canister_check'
#: On the function ``require`` decorated (under any wrappers): every check made for it.  ``apply``
#: enforces those its route's handler lacks, the sign of ``@require`` written above ``@app.get``.
_GUARD_CHECKS = '_canister_checks'
#: On the decorator ``require(predicate)`` returns: the predicate.  Routed as a handler, it is the sign of
#: ``@canister.require`` written without its predicate.
_GUARD_MAKER = '_canister_guard_of'


def require(predicate: Callable[[Any], bool],
            message: str = 'Forbidden') -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a handler: 401 if nobody is logged in, 403 if ``predicate(session.user)`` is false.

    A predicate that raises (``user.get`` on a Basic user, a text) refuses too: 403, and the
    exception logged at ERROR with its traceback, since the predicate has a bug to fix.
    """
    if not callable(predicate):  # a role's name, as Flask-HTTPAuth's login_required(role='admin') takes one
        raise TypeError('canister.require takes a function of the user that says whether to let them in, not %r: '
                        'write @canister.require(lambda user: ...) (for any logged-in user, @canister.require_user)'
                        % (predicate,))

    def decorate(callback: Callable[..., Any]) -> Callable[..., Any]:
        def check() -> None:
            user = session.user
            if not _is_someone(user) and _local.context is not None:  # (None, or '': nobody, as everywhere)
                _log_in_on_unwrapped_route(_local.context)
                user = session.user
            if not _is_someone(user):
                if _local.context is None and _served_without_canister():  # else a 401 for ever, unexplained
                    raise CanisterError('canister.require on %s: the app bottle serves has no canister installed, '
                                        'so nobody is ever logged in there: app.install(canister.Canister()) on '
                                        'the app of this route' % getattr(callback, '__name__', '?'))
                auth = _current_authenticator()
                if auth is not None:
                    raise auth.unauthorized('Authentication required')
                response = _error_response(401, 'Authentication required')
                response.add_header('WWW-Authenticate', 'Session realm="canister"')
                raise response
            try:
                allowed = predicate(user)
            except Exception:
                context = _local.context
                if context is not None:
                    context.plugin.log.write(logging.ERROR, 'The predicate of canister.require on %s raised: '
                                             'answered 403', getattr(callback, '__name__', '?'), exc_info=True)
                allowed = False
            if not allowed:
                raise _error_response(403, message)

        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            _run_guards((check,))
            return callback(*args, **kwargs)
        setattr(guarded, _GUARD_CHECK, check)
        _remember_check(callback, check)
        return guarded
    setattr(decorate, _GUARD_MAKER, predicate)
    return decorate


def require_user(callback: Optional[Callable[..., Any]] = None) -> Callable[..., Any]:
    """Decorate a handler so that it answers 401 unless a user is logged in (``@require_user()`` too)."""
    if callback is None:  # written with parentheses, as Flask-HTTPAuth's @auth.login_required() may be
        return require_user
    return require(lambda user: True)(callback)


def _innermost(callback: Any) -> Any:
    """The function under the wrappers made with ``functools.wraps`` (at most 100 deep)."""
    for _ in range(100):
        inner = getattr(callback, '__wrapped__', None)
        if inner is None:
            break
        callback = inner
    return callback


def _remember_check(callback: Callable[..., Any], check: Callable[[], None]) -> None:
    """Note on the function under ``callback`` that ``check`` guards it (nothing for a callable
    that takes no attributes: a guard written above its route decorator then stays unseen)."""
    target = _innermost(callback)
    target = getattr(target, '__func__', target)  # a bound method: its function
    try:
        checks = target.__dict__.setdefault(_GUARD_CHECKS, [])
    except (AttributeError, TypeError):
        return
    if isinstance(checks, list):
        checks.append(check)


def _checks_run(handler: Callable[..., Any]) -> Tuple[List[Callable[[], None]], Callable[..., Any]]:
    """The checks of ``require`` that ``handler`` runs (its wrappers', outermost first), and the
    function under them."""
    run = []
    for _ in range(100):
        check = getattr(handler, _GUARD_CHECK, None)
        if check is not None:
            run.append(check)
        inner = getattr(handler, '__wrapped__', None)
        if inner is None:
            break
        handler = inner
    return run, handler


def _leading_checks(handler: Callable[..., Any]) -> Tuple[Callable[[], None], ...]:
    """The checks of the ``require`` wrappers on top of ``handler``, outermost first, down to the
    first wrapper of another kind: those run before anything else the app wrote around the handler.
    A wrapper made with ``functools.wraps`` over a guard carries the guard's check as a copy, the
    same as its ``__wrapped__`` one: a decorator of the app's (one that logs a user in, say)."""
    leading = []
    for _ in range(100):
        check = getattr(handler, _GUARD_CHECK, None)
        inner = getattr(handler, '__wrapped__', None)
        if check is None or check is getattr(inner, _GUARD_CHECK, None):
            break
        leading.append(check)
        if inner is None:
            break
        handler = inner
    return tuple(leading)


def _unenforced_checks(route: Any, routes: List[Any]) -> List[Callable[[], None]]:
    """The checks of ``require`` made for the function under ``route``'s handler that the handler
    does not run, outermost first: those of a ``@require`` written above the route decorator.

    A check another route of the app (``routes``) runs was made for that route, and is left out
    when this route runs a check of its own (one function routed under two guards) or was added
    after that route (the function routed again, unguarded, on purpose); it stays when this
    route runs none and came first: ``@require`` stacked between two route decorators, or
    written above this route's decorator and the guarded name routed again later."""
    enforced, innermost = _checks_run(route.callback)
    made = getattr(innermost, _GUARD_CHECKS, None)
    if not isinstance(made, list):
        return []
    late = [check for check in reversed(made) if check not in enforced and callable(check)]
    if late:
        elsewhere = _checks_run_elsewhere(route, routes, bool(enforced))
        late = [check for check in late if check not in elsewhere]
    return late


def _checks_run_elsewhere(route: Any, routes: List[Any], guarded: bool) -> List[Callable[[], None]]:
    """The checks of ``require`` that the other routes in ``routes`` run: all of them if ``route``
    is ``guarded`` (runs a check of its own), else those that come before it."""
    position = next((index for index, other in enumerate(routes) if other is route), len(routes))
    elsewhere: List[Callable[[], None]] = []
    for index, other in enumerate(routes):
        if other is not route and (guarded or index < position):
            elsewhere += _checks_run(other.callback)[0]
    return elsewhere


def _run_guards(checks: Tuple[Callable[[], None], ...]) -> None:
    """Run the checks of ``require`` that this request has not passed yet (each raises the 401 or
    403 of a refusal), and note them as passed: a route's guards run before its parameters are
    bound (by the plugin's route wrapper), and the handler's own guard then does not ask again."""
    context = _local.context
    if context is None:  # (a guarded function called outside a request: its check says so)
        for check in checks:
            check()
        return
    for check in checks:  # (a wrapper made with functools.wraps lists its guard's check again)
        if check not in context.checks_passed:
            check()
            context.checks_passed += (check,)


###############################################################################
# CORS and CSRF ###############################################################
###############################################################################

ACL_ORIGIN = 'Access-Control-Allow-Origin'
ACL_CREDENTIALS = 'Access-Control-Allow-Credentials'
ACL_METHODS = 'Access-Control-Allow-Methods'
ACL_HEADERS = 'Access-Control-Allow-Headers'
ACL_EXPOSE = 'Access-Control-Expose-Headers'
ACL_MAX_AGE = 'Access-Control-Max-Age'
#: The headers an app may set itself that canister's take over (``CorsPolicy._add_over``).
_CORS_TAKEN_OVER = frozenset((ACL_ORIGIN, ACL_EXPOSE))
_UNSAFE_METHODS = frozenset(('POST', 'PUT', 'PATCH', 'DELETE'))
_ALL_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')


def _security_headers(config: Mapping[str, Any]) -> Tuple[Headers, Headers]:
    """The security headers of every response, as configured: over HTTP, and over HTTPS."""
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


#: Top-level names no public registry hands out (RFC 6761, RFC 6762, ICANN's .internal): a wildcard straight
#: over one of them (``http://*.localhost``) names the site's own private hosts, not every site of a registry.
_PRIVATE_TOP_NAMES = frozenset({'localhost', 'local', 'internal', 'test'})


def _wildcard_origins(origins: Iterable[str], key: str = 'cors') -> Optional[typing.Pattern[str]]:
    """One pattern matching the origins of ``https://*.example.com`` entries (any depth of
    subdomain), or None for none; ConfigError (naming ``key``) for a wildcard anywhere else."""
    patterns = []
    for origin in origins:
        scheme, sep, host = _normal_origin(origin).partition('://')
        if not sep or not host.startswith('*.') or '*' in host[2:]:
            raise ConfigError('canister.%s: %r is not valid: a wildcard must look like '
                              'https://*.example.com' % (key, origin))
        name = host[2:].partition(':')[0].rstrip('/')
        if '.' not in name and name.lower() not in _PRIVATE_TOP_NAMES:
            raise ConfigError('canister.%s: %r would trust every site under the top-level domain %r: name your '
                              'own domain after the wildcard, as https://*.example.com' % (key, origin, name))
        patterns.append(re.escape(scheme + '://') + r'[a-z0-9_-]+(?:\.[a-z0-9_-]+)*' + re.escape(host[1:]))
    return re.compile('|'.join('(?:%s)' % p for p in patterns)) if patterns else None


#: A list of origins: the exact ones (normalised), and one pattern for the wildcard ones (None without any).
_Origins = Tuple[typing.FrozenSet[str], Optional[typing.Pattern[str]]]


def _listed_origins(origins: Iterable[str], key: str = 'cors') -> _Origins:
    """The exact origins of a ``cors`` (or ``key``) list (normalised), and one pattern for its wildcard ones."""
    listed = [origin for origin in origins if origin != '*']
    exact = frozenset(_normal_origin(origin) for origin in listed if '*' not in origin)
    return exact, _wildcard_origins((origin for origin in listed if '*' in origin), key)


def _is_listed(origin: str, listed: _Origins) -> bool:
    """Exact, whole-string match of ``origin`` against a list of ``_listed_origins``."""
    origin = _normal_origin(origin)
    if origin in listed[0]:
        return True
    return listed[1] is not None and listed[1].fullmatch(origin) is not None


def _unique_names(values: Iterable[str]) -> str:
    """The names of comma-separated header values as one value, each once (compared without case)."""
    unique: Dict[str, str] = {}
    for value in values:
        for name in value.split(','):
            unique.setdefault(name.strip().lower(), name.strip())
    unique.pop('', None)
    return ', '.join(unique.values())


def _covered_paths(prefixes: Iterable[str]) -> Tuple[typing.FrozenSet[str], Tuple[str, ...]]:
    """The paths ``cors_paths`` covers exactly (``/api``), and the prefixes of those it covers below them
    (``/api/``), as WSGI writes a path: its UTF-8 bytes read as latin-1."""
    wsgi_paths = [path.encode('utf-8').decode('latin1') for path in prefixes]
    exact = frozenset(path for path in wsgi_paths if not path.endswith('/'))
    return exact, tuple(path if path.endswith('/') else path + '/' for path in wsgi_paths)


class CorsPolicy:
    """Which origins may call the app from a browser, and the headers that say so."""

    def __init__(self, config: Config, log: RequestLog) -> None:
        #: The app's log.
        self.log = log
        origins = config['cors']
        #: ``cors = *``: every origin is allowed, none with credentials.
        self.any_origin = '*' in origins
        #: ``cors_credentials``: a browser may send cookies, and read the response.
        self.credentials = config['cors_credentials']
        if self.any_origin and self.credentials:
            raise ConfigError('canister.cors = * cannot be combined with cors_credentials = true: '
                              'list the allowed origins explicitly')
        #: The listed origins, normalised (``_normal_origin``), and those with a wildcard subdomain
        #: as one pattern (None without any).
        self.listed = _listed_origins(origins)
        #: The methods preflights may be granted (empty: every method the route accepts, as with ``*``).
        self.methods = () if '*' in config['cors_methods'] else tuple(m.upper() for m in config['cors_methods'])
        #: ``cors_headers = *``: a preflight may be granted any request header.
        self.any_header = '*' in config['cors_headers']
        #: The request headers a preflight may be granted, in lower case.
        self.allowed_headers = frozenset(h.lower() for h in config['cors_headers'])
        #: How long a browser may keep a preflight's response (``cors_max_age``), as sent.
        self.max_age = str(config['cors_max_age'])
        #: The headers of a response to an allowed origin after ``Access-Control-Allow-Origin``.
        self._simple: Headers = [(ACL_CREDENTIALS, 'true')] if self.credentials else []
        if config['cors_expose_headers']:
            self._simple.append((ACL_EXPOSE, ', '.join(config['cors_expose_headers'])))
        #: All of them, with ``cors = *``.
        self._any = [(ACL_ORIGIN, '*')] + self._simple
        #: ``cors_paths``: the paths covered exactly, and the prefixes of those covered below them
        #: (empty tuple: every path).
        self.paths, self.below = _covered_paths(config['cors_paths'])

    def covers(self, environ: Mapping[str, Any]) -> bool:
        """True if CORS applies to the request's path (``SCRIPT_NAME`` and ``PATH_INFO``, which Bottle's
        ``mount`` shares between them, so a prefix is matched alike wherever canister is installed)."""
        if not self.below:
            return True
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        return path in self.paths or path.startswith(self.below)

    def is_allowed_origin(self, origin: str) -> bool:
        """True for any origin with ``*``, else an exact match against the list."""
        return self.any_origin or self.is_listed_origin(origin)

    def is_listed_origin(self, origin: str) -> bool:
        """Exact, whole-string match against the list (``null`` only if listed)."""
        return _is_listed(origin, self.listed)

    def apply(self, headers: Headers, origin: Optional[str]) -> None:
        """Add the CORS headers of a response, replacing any the app set itself (but the names of its
        ``Access-Control-Expose-Headers``, which join canister's: ``_add_over``)."""
        if self.any_origin:
            if origin is None:  # no CORS headers, so a shared cache must not give this response to a browser
                _merge_header(headers, 'Vary', 'Origin')
                return
            if _CORS_TAKEN_OVER.isdisjoint(map(_header_name, headers)):  # (Bottle writes names in Title-Case)
                headers.extend(self._any)
            else:  # the app set its own
                self._add_over(headers, self._any)
            return
        _merge_header(headers, 'Vary', 'Origin')
        headers[:] = [h for h in headers if h[0].lower() not in ('access-control-allow-origin',
                                                                   'access-control-allow-credentials')]
        if origin is None or not self.is_allowed_origin(origin):
            return
        if ACL_EXPOSE in map(_header_name, headers):  # the app set its own
            self._add_over(headers, [(ACL_ORIGIN, origin)] + self._simple)
        else:
            headers.append((ACL_ORIGIN, origin))
            headers.extend(self._simple)

    @staticmethod
    def _add_over(headers: Headers, added: Headers) -> None:
        """Add canister's CORS headers to those the app set itself: an ``Access-Control-Allow-Origin``
        is replaced, and the names of ``Access-Control-Expose-Headers`` are joined into one header,
        each once (the app's first): one header, as with the others (a proxy or client that keeps
        one of a repeated header would lose names)."""
        exposed = [value for key, value in headers if key == ACL_EXPOSE]
        headers[:] = [header for header in headers if header[0] not in _CORS_TAKEN_OVER]
        headers.extend(header for header in added if header[0] != ACL_EXPOSE)
        names = _unique_names(exposed + [value for key, value in added if key == ACL_EXPOSE])
        if names:
            headers.append((ACL_EXPOSE, names))

    def is_preflight(self, environ: Mapping[str, Any], method: str, origin: Optional[str]) -> bool:
        """True for a browser's preflight: OPTIONS with an ``Origin`` and ``Access-Control-Request-Method``."""
        return method == 'OPTIONS' and origin is not None and 'HTTP_ACCESS_CONTROL_REQUEST_METHOD' in environ

    def preflight_response(self, environ: Mapping[str, Any], origin: str, router: Any) -> Optional[_PlainResponse]:
        """The response to a preflight for a routed path, without calling its handler: 204 with what
        is granted, or 403 for an origin not allowed.  None for a path no route matches, or whose
        route's filter fails: Bottle answers it (404 or 500, with the CORS headers of ``apply``)."""
        methods = self._route_methods(environ, router)
        if methods is None:
            return None
        if not self.is_allowed_origin(origin):
            message = 'CORS preflight refused: origin %s is not allowed' % _shown_origin(origin)
            self.log.write(logging.WARNING, '%s', message)
            return _plain_response(403, message, environ)
        requested = environ.get('HTTP_ACCESS_CONTROL_REQUEST_HEADERS', '')
        granted = self._granted_methods(methods)
        headers = self.preflight(origin, requested, granted)
        if requested and not self.any_header:
            self._log_headers_not_granted(origin, requested)
        self._log_method_granted_in_capitals(origin, environ.get('HTTP_ACCESS_CONTROL_REQUEST_METHOD', ''), granted)
        headers.append(('Content-Length', '0'))
        return _PlainResponse(204, headers, b'')

    def _log_headers_not_granted(self, origin: str, requested: str) -> None:
        """A WARNING naming the headers a preflight asked for that ``cors_headers`` does not allow: the browser
        then blocks the request without a word to the server, so this line is the app's only trace of it."""
        refused = [name.strip() for name in requested.split(',')
                   if name.strip() and name.strip().lower() not in self.allowed_headers]
        if not refused:
            return
        names = _escape(', '.join(refused))[:200]
        plural = len(refused) > 1
        # Any client can send a preflight: once a second at most, so that none can flood the log.
        self.log.write_repeated(
            logging.WARNING, 'CORS preflight from %s asks for the request header%s %s, not granted: the browser '
                             'blocks the request; to allow %s, add %s to cors_headers'
                             % (_shown_origin(origin), 's' if plural else '', names, 'them' if plural else 'it',
                                'them' if plural else 'it'),
            like='CORS preflight: request headers not granted: the browser blocks the request; to allow them, add '
                 'them to cors_headers')

    def _log_method_granted_in_capitals(self, origin: str, method: str, granted: List[str]) -> None:
        """A WARNING for a preflight asking for a method granted only as its upper case (``patch``: a page's
        ``fetch`` sends a method as written, but for the six the Fetch standard upper-cases itself), which is
        not granted: the browser compares methods case by case and blocks the request without a word to the
        server.  (Not granted as written on purpose: WSGI servers refuse a method in lower case.)"""
        method = method.strip()
        upper = method.upper()
        if method == upper or upper not in granted:
            return
        # Any client can send a preflight: once a second at most, so that none can flood the log.
        self.log.write_repeated(
            logging.WARNING, "CORS preflight from %s asks for the method '%s', granted only as '%s': browsers "
                             "compare methods case by case and block the request; write %s in the page's fetch"
                             % (_shown_origin(origin), _escape(method)[:20], upper, upper),
            like="CORS preflight: a method granted only in capitals: browsers compare methods case by case and "
                 "block the request; write it in capitals in the page's fetch")

    def _route_methods(self, environ: Mapping[str, Any], router: Any) -> Optional[Iterable[str]]:
        """The methods the request's path is routed for, or None if no route matches it (or its filter fails)."""
        path = environ.get('PATH_INFO', '') or '/'
        try:
            path = path.encode('latin1').decode('utf-8')
        except UnicodeError:
            return None
        return self._methods_of(path, router)

    def _methods_of(self, path: str, router: Any) -> Optional[Iterable[str]]:
        """Bottle's router is asked with a method no route has: it answers 405 with an ``Allow``
        list for a path routed for some methods, and matches a route of any method (then the
        methods are ``cors_methods``, or all).  A Bottle app mounted as a WSGI app (bottle 0.12's
        ``mount``, 0.13's ``mount`` of a prefix without a trailing slash) is one such route: its
        own router is asked for the rest of the path."""
        try:
            route, _ = router.match({'REQUEST_METHOD': 'CANISTER-PROBE', 'PATH_INFO': path})
        except bottle.HTTPError as error:
            if error.status_code != 405:
                return None  # not routed
            return [m.strip() for m in error.headers.get('Allow', '').split(',') if m.strip()]
        except Exception:  # a route filter that fails on this path: Bottle answers (its 500, logged) as for any method
            return None
        mounted = route.config.get('mountpoint.target')
        if isinstance(mounted, bottle.Bottle):
            prefix = '/' + str(route.config.get('mountpoint.prefix', '')).strip('/')
            return self._methods_of(path[len(prefix):] or '/', mounted.router)
        return self.methods or _ALL_METHODS

    def _granted_methods(self, route_methods: Iterable[str]) -> List[str]:
        """The methods of the route that a preflight is granted: those ``cors_methods`` allows (all with ``*``)."""
        return [m for m in route_methods if not self.methods or m in self.methods]

    def preflight(self, origin: str, requested: str, granted: List[str]) -> Headers:
        """The headers of a 204 preflight response for an allowed origin, granted the methods ``granted``
        (``_granted_methods``)."""
        headers: Headers = [(ACL_ORIGIN, '*' if self.any_origin else origin)]
        if not self.any_origin:
            headers.append(('Vary', 'Origin'))
        if self.credentials:
            headers.append((ACL_CREDENTIALS, 'true'))
        if granted:
            headers.append((ACL_METHODS, ', '.join(granted)))
        granted = self._granted_headers(requested)
        if granted:
            headers.append((ACL_HEADERS, ', '.join(granted)))
        headers.append((ACL_MAX_AGE, self.max_age))
        return headers

    def _granted_headers(self, requested: str) -> List[str]:
        """The headers of ``Access-Control-Request-Headers`` that ``cors_headers`` allows: with ``*``, any
        header name (an HTTP token, as browsers send), never other text of the client's echoed back."""
        names = [name.strip() for name in requested.split(',')]
        if self.any_header:
            return [name for name in names if _TOKEN.fullmatch(name)]
        return [name for name in names if name and name.lower() in self.allowed_headers]


class CsrfGuard:
    """Refuses unsafe browser requests that come from a foreign origin.

    The browser's own word comes first: ``Sec-Fetch-Site`` (which no page can set) of
    ``same-origin`` or ``none`` (typed in, a bookmark) passes, and a ``same-site`` or
    ``cross-site`` request passes only from an origin listed in ``cors`` or in
    ``csrf_trusted_origins``.  Without that header (older browsers, non-browser clients) the
    ``Origin``, or else the ``Referer``, must be the app's own origin or a listed one.  With ``cors = *`` a foreign request also
    passes when a browser must have sent a preflight for it first (a method other than POST,
    or a content type neither a form nor the browser itself sends), because ``*`` never grants
    credentials to a preflighted request.  A Bearer token exempts a request: a browser never adds one by itself,
    whereas it resends Basic, Digest, NTLM and Negotiate credentials on its own.
    """

    #: The content types of POSTs sent without a preflight: a form's (or a page's no-cors fetch's), and those
    #: a browser sends by itself, with the cookies ``SameSite`` lets ride along: a link's ``ping``, the
    #: reports of CSP and the Reporting API, whose URL the page names, and the other exceptions the Fetch
    #: standard lists ("CORS protocol exceptions": Expect-CT and XSS auditor reports, OCSP requests).
    _UNPREFLIGHTED_TYPES = frozenset(('application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain', '',
                                      'text/ping', 'application/csp-report', 'application/reports+json',
                                      'application/expect-ct-report+json', 'application/xss-auditor-report',
                                      'application/ocsp-request'))
    #: ``Sec-Fetch-Site`` values of requests a page on another origin did not start.
    _OWN_SITES = frozenset(('same-origin', 'none'))
    #: ``Sec-Fetch-Site`` values of requests from another origin.
    _FOREIGN_SITES = frozenset(('same-site', 'cross-site'))

    def __init__(self, cors: Optional[CorsPolicy], trusted: _Origins = (frozenset(), None)) -> None:
        #: The CORS policy, whose allowed origins may send unsafe requests (None: no CORS).
        self.cors = cors
        #: ``csrf_trusted_origins`` (``_listed_origins``): origins whose unsafe requests pass on every path,
        #: without CORS.
        self.trusted = trusted

    def was_preflighted(self, environ: Mapping[str, Any]) -> bool:
        """True if no browser sends this request cross-origin without a preflight.  A browser's
        ``Sec-Fetch-Mode`` other than ``cors`` (``no-cors``, ``navigate``) says it sent none."""
        mode = environ.get('HTTP_SEC_FETCH_MODE')
        if mode is not None and mode.strip().lower() != 'cors':
            return False
        content_type = _media_type(environ.get('CONTENT_TYPE', ''))
        return environ['REQUEST_METHOD'].upper() != 'POST' or content_type not in self._UNPREFLIGHTED_TYPES

    @staticmethod
    def _has_bearer(environ: Mapping[str, Any]) -> bool:
        """True for a Bearer token: set by a script, a browser never adds one by itself."""
        return _auth_scheme(environ.get('HTTP_AUTHORIZATION', ''))[0] == 'bearer'

    @staticmethod
    def claimed_origin(environ: Mapping[str, Any], foreign: bool) -> Optional[str]:
        """The origin the request says it comes from: its ``Origin``, else its ``Referer``'s
        (``null`` if unreadable), ``null`` for a foreign request naming none; None for a request
        naming none that the browser did not call foreign (not from a page: a script, a bookmark).
        A ``Referer`` gives its scheme and host only: its path and query, and a user name and
        password in it, are no part of an origin (and must not reach the log)."""
        origin = environ.get('HTTP_ORIGIN')
        if origin is not None:
            return origin
        referer = environ.get('HTTP_REFERER')
        if not referer:
            return 'null' if foreign else None  # the browser says it is foreign but names no origin
        try:
            parts = urllib.parse.urlsplit(referer)
        except ValueError:  # e.g. an unbalanced IPv6 bracket
            return 'null'
        host = parts.netloc.rpartition('@')[2]
        return '%s://%s' % (parts.scheme, host) if parts.scheme and host else 'null'

    def _allowed_foreign(self, environ: Mapping[str, Any], origin: str, foreign: bool) -> bool:
        """True for a foreign origin listed in ``csrf_trusted_origins`` (which holds no ``null``), or in
        ``cors``, or any one with ``cors = *`` when a browser must have sent a preflight first.  A listed
        ``null`` counts as ``*`` does for a request the browser calls foreign (``foreign``): any site's page
        names no origin under ``no-referrer`` or from a sandboxed frame, and a same-site one's form gets a
        ``Lax`` cookie."""
        if _is_listed(origin, self.trusted):
            return True
        cors = self.cors
        if cors is None or not cors.covers(environ):
            return False
        if foreign and _normal_origin(origin) == 'null':
            return self.was_preflighted(environ) and (cors.any_origin or cors.is_listed_origin(origin))
        return cors.is_listed_origin(origin) or (cors.any_origin and self.was_preflighted(environ))

    def why_refused(self, environ: Mapping[str, Any], own_origin: str) -> Optional[str]:
        """Why the request must be refused, or None if it may go on."""
        method = environ['REQUEST_METHOD'].upper()
        site = environ.get('HTTP_SEC_FETCH_SITE', '').strip().lower()
        if method not in _UNSAFE_METHODS or site in self._OWN_SITES or self._has_bearer(environ):
            return None
        foreign = site in self._FOREIGN_SITES
        origin = self.claimed_origin(environ, foreign)
        if origin is None:
            return None
        if not foreign and _normal_origin(origin) == own_origin:
            return None
        if self._allowed_foreign(environ, origin, foreign):
            return None
        if 'HTTP_ORIGIN' not in environ and not environ.get('HTTP_REFERER'):
            origin = 'null (the browser calls the request %s and names no origin)' % _escape(site)[:20]
        return 'Cross-site request refused: origin %s may not send %s requests here' % (
            _shown_origin(origin), _escape(method)[:20])


def _how_to_let_in(cors: Optional[CorsPolicy], environ: Mapping[str, Any]) -> str:
    """What the CSRF refusal's WARNING tells the app to do for a foreign origin to be let in."""
    if cors is not None and not cors.covers(environ):
        # listing the origin would not help: CORS, and so the origins it lists, stop at cors_paths
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        listing = ('list it in cors and a prefix of its path %s in cors_paths (cors does not apply outside them)'
                   % _escape(path)[:100])
    elif cors is not None and cors.any_origin:
        listing = ('list it in cors instead of * (cors = * lets another origin send only what a browser '
                   'preflights: JSON, PUT, DELETE; never a form)')
    else:
        listing = 'list it in cors (its pages may then read the answers too)'
    if _normal_origin(CsrfGuard.claimed_origin(environ, True) or 'null') == 'null':
        return listing  # (csrf_trusted_origins holds no null: any site's page can send it)
    return listing + ' or in csrf_trusted_origins (its forms may post on every path, its pages read no answer)'


#: The attribute ``csrf_exempt`` sets on a handler.
_CSRF_EXEMPT = '_canister_csrf_exempt'


def csrf_exempt(callback: Optional[Callable[..., Any]] = None) -> Callable[..., Any]:
    """Decorate a handler whose route takes unsafe requests from any origin (a SAML ACS, an OIDC
    ``form_post`` callback): the same as the route keyword ``csrf=False``, above or below the
    route decorator (``@csrf_exempt()`` too).  Not a bound method: the mark would go to its class's
    function, and exempt the routes of every instance."""
    if callback is None:
        return csrf_exempt
    if inspect.ismethod(callback):
        raise TypeError('canister.csrf_exempt cannot mark the bound method %r: it would exempt the routes of '
                        'every instance of its class; give its route the keyword csrf=False instead' % (callback,))
    try:
        setattr(callback, _CSRF_EXEMPT, True)
    except (AttributeError, TypeError):
        raise TypeError('canister.csrf_exempt cannot mark %r: give its route the keyword csrf=False '
                        'instead' % (callback,)) from None
    return callback


def _is_csrf_exempt(route: bottle.Route) -> bool:
    """True if ``route`` takes unsafe requests from any origin: its route keywords have ``csrf=False``
    (``@app.post('/acs', csrf=False)``), or its handler is decorated with ``csrf_exempt``."""
    config = route.config
    # bottle 0.13's route config shows the app's config too (as "virtual" keys): only the route's own
    # counts.  (Asked of the class: bottle 0.12's config answers None for any attribute it lacks.)
    virtual = config._virtual_keys if hasattr(type(config), '_virtual_keys') else ()
    if config.get('csrf') is False and 'csrf' not in virtual:
        return True
    return getattr(route.callback, _CSRF_EXEMPT, False) is True


def _route_of(environ: Mapping[str, Any], router: Any) -> Optional[bottle.Route]:
    """The route Bottle will give the request to, or None if it answers 404 or 405 (or the path is
    not UTF-8).  For a Bottle app mounted as a WSGI app, the route of that app's own router."""
    path = environ.get('PATH_INFO', '') or '/'
    try:
        path = path.encode('latin1').decode('utf-8')
    except UnicodeError:
        return None
    return _routed(router, str(environ.get('REQUEST_METHOD', 'GET')).upper(), path)


def _routed(router: Any, method: str, path: str) -> Optional[bottle.Route]:
    """The route ``router`` matches (under a mounted Bottle app, its own router's), or None."""
    try:
        route, _ = router.match({'REQUEST_METHOD': method, 'PATH_INFO': path})
    except Exception:  # Bottle's 404 or 405 (an HTTPError), or a route filter that fails on this path
        return None
    mounted = route.config.get('mountpoint.target')
    if isinstance(mounted, bottle.Bottle):
        prefix = '/' + str(route.config.get('mountpoint.prefix', '')).strip('/')
        return _routed(mounted.router, method, path[len(prefix):] or '/')
    return route


###############################################################################
# Request Context and Early Responses #########################################
###############################################################################

_UNAVAILABLE = 'Service unavailable: the session store cannot be reached, retry shortly'
#: The ``Retry-After`` of that 503, in seconds: "shortly" as a client can act on it.  A try against a store
#: that is down fails within Redis' 1 s socket timeout, and a restart or failover takes seconds, so a client
#: that waits a second between tries neither hammers the store in a loop nor waits long after it is back.
_UNAVAILABLE_RETRY = {'Retry-After': '1'}
#: What a client is told when ``_LocalsCheck`` fails (the log says why).
_MISCONFIGURED = 'Internal server error: this server is misconfigured and refuses every request (see its log)'
_PATH_NOT_UTF8 = "Bad request: the path is not valid UTF-8"
#: Bottle 0.12's answer to such a path (0.13 drops the bytes that are no UTF-8).
_BOTTLE_PATH_NOT_UTF8 = 'Invalid path string. Expected UTF-8'
_CHUNKED_TOO_LARGE = 'Request body too large: more than %d bytes (chunked)'
_OTHER_CODING = ("Bad request: Transfer-Encoding '%s' is not supported: send the body chunked (and no other "
                 "coding), or with a Content-Length")
#: The refusal of a multipart body of more than ``max_form_parts`` parts.
_TOO_MANY_PARTS = 'Request body too large: a multipart form of more than %d parts (max_form_parts)'
#: The value of each ``boundary=`` in a Content-Type, up to the first character that Bottle's parsers (0.12's
#: ``cgi.parse_header``, 0.13's ``_parse_http_header``) may read another way: a prefix of the boundary they use.
_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"\\]*)|([^;,"]*))', re.IGNORECASE)


def _delimiters(content_type: str) -> typing.Set[bytes]:
    """The delimiters (``--`` and the boundary, or a prefix of it) of a multipart body of ``content_type``:
    one for each ``boundary=`` in it, since a quoted parameter may hold that text too."""
    return {b'--' + (quoted or plain.rstrip()).encode('latin-1', 'replace')
            for quoted, plain in _BOUNDARY.findall(content_type)} - {b'--'}


_BOTH_LENGTHS = ('Bad request: Content-Length and Transfer-Encoding together (RFC 9112 section 6.1: '
                 'a sign of request smuggling); send one of them')


def _trimmed_digits(length: str) -> str:
    """A ``Content-Length`` value without the spaces and tabs around it (HTTP's, no part of the value, which
    wsgiref passes on after it), or '' if that is not a run of digits."""
    length = length.strip(' \t')
    return length if length.isascii() and length.isdigit() else ''


def _without_port(entry: str) -> str:
    """The address of an X-Forwarded-For entry, without the port some proxies add (Azure's
    ``203.0.113.7:51234``, ``[2001:db8::7]:51234``): each connection of one client has a new port."""
    if entry.startswith('['):  # only [address] and [address]:port; anything else stays as sent, so no address
        address, bracket, rest = entry[1:].partition(']')
        return address if bracket and (not rest or (rest[0] == ':' and rest[1:].isdigit())) else entry
    host, colon, port = entry.rpartition(':')
    if colon and port.isdigit() and '.' in host and ':' not in host:
        return host
    return entry


class _Proxies:
    """Decides whose X-Forwarded-* headers to believe."""

    def __init__(self, entries: Iterable[str]) -> None:
        #: The addresses and networks of ``trusted_proxies``.
        self.networks = []
        #: The entry ``unix``: a peer without an IP address (``_UNIX_PEERS``) is a trusted proxy.
        self.unix = False
        for entry in entries:
            if entry.lower() == 'unix':
                self.unix = True
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ConfigError('canister.trusted_proxies: %r is not an IP address or network, nor unix (a proxy '
                                  'on a UNIX socket)' % entry) from None
        #: Addresses already looked up: whether each is a trusted proxy (at most 4096 kept).
        self._cache: Dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks) or self.unix

    def is_trusted(self, peer: str) -> bool:
        """True if the peer (``REMOTE_ADDR``) is one of the trusted proxies: a trusted hop, or, with
        ``unix``, one of the stand-ins servers give for a peer on a UNIX socket."""
        return self.is_trusted_hop(peer) or (self.unix and peer in _UNIX_PEERS)

    def is_trusted_hop(self, address: str) -> bool:
        """True if ``address`` is an IP address in a listed network, so a trusted proxy as an entry of
        X-Forwarded-For too (where ``localhost`` or ``-``, the UNIX socket peer's stand-ins, are only text
        a client may have sent).  An IPv4-mapped address (``::ffff:10.0.0.5``: what a server listening
        on ``[::]`` gives for an IPv4 peer, gunicorn's ``--bind [::]:8000``) is the IPv4 address it holds."""
        known = self._cache.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
                mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
                known = any(ip in network or (mapped is not None and mapped in network) for network in self.networks)
            except ValueError:
                known = False
            if len(self._cache) < 4096:
                self._cache[address] = known
        return known

    def client(self, environ: Mapping[str, Any], peer: str, log: RequestLog,
               sessions: SessionManager) -> Tuple[str, int]:
        """The client address, the last X-Forwarded-For entry not added by a trusted proxy, and how many
        trusted proxies the request passed: the peer and the trusted entries after the client's.  An entry
        there that is no IP address is not believed: the client is then the outermost trusted proxy (said
        once, in a line named as the request's, from ``sessions``' cookie)."""
        if not self.is_trusted(peer):
            return peer, 0
        chain = [_without_port(entry.strip()) for entry in environ.get('HTTP_X_FORWARDED_FOR', '').split(',')
                 if entry.strip()]
        hops = 1
        trusted = peer
        for entry in reversed(chain):
            if not self.is_trusted_hop(entry):
                address = _ip_address(entry)
                if not address:
                    _warn_unbelieved_client(log, entry, trusted, lambda: sessions.cookie_sid(environ.get('HTTP_COOKIE', '')))
                return address or trusted, hops
            trusted = entry
            hops += 1
        return peer, hops


def _ip_address(entry: str) -> str:
    """The IP address an X-Forwarded-For entry (its port taken off) is, without an IPv6 zone (``%eth0``:
    the proxy's own interface, and any text); '' if it is none."""
    try:
        ipaddress.ip_address(entry)
    except ValueError:
        return ''
    return entry.partition('%')[0]


#: The WARNING of a trusted proxy that passed on an X-Forwarded-For whose client entry is no IP address (said once by
#: each app's log).
_UNBELIEVED_CLIENT = 'unbelieved client'


def _warn_unbelieved_client(log: RequestLog, entry: str, trusted: str,
                            cookie_sid_of: Callable[[], Optional[str]]) -> None:
    """Say once in this app's log that the client's entry of X-Forwarded-For was no IP address, so not believed
    (``cookie_sid_of``: the request's session id, looked up only by the request that says it)."""
    if log.said(_UNBELIEVED_CLIENT) or not log.first_to_say(_UNBELIEVED_CLIENT):
        return
    # written before the request names its thread (_RequestContext.begin): named here as the request's lines are
    thread_name = _thread_name(trusted, cookie_sid_of())
    log.write(logging.WARNING, 'X-Forwarded-For came through the trusted proxy %s with %r where the client\'s '
              'address belongs, which is not an IP address: such an entry is not believed, and the client is '
              'logged and throttled as %s; a proxy that passes on the client\'s own X-Forwarded-For lets the client '
              'write there what it likes: have it append the address it sees (nginx: proxy_set_header '
              'X-Forwarded-For $proxy_add_x_forwarded_for) or set it', _escape(trusted)[:64], entry[:64],
              _escape(trusted)[:64], thread_name=thread_name)


#: The schemes an X-Forwarded-Proto of a trusted proxy is believed for (any other is ignored), and what each
#: means here: Traefik sends ``wss`` (``ws``) for a WebSocket's upgrade request that came over TLS (or not).
_WEB_SCHEMES = {'http': 'http', 'https': 'https', 'ws': 'http', 'wss': 'https'}


def _forwarded_value(value: str, hops: int) -> str:
    """The entry of an X-Forwarded-Proto or -Host that the outermost of ``hops`` trusted proxies wrote: each
    proxy that appends adds one, so it is the ``hops``-th from the right (what a client sent is further left).
    A header with fewer entries had some proxy overwrite it, or pass it on: its first entry is the outermost's."""
    if ',' not in value:
        return value.strip()
    entries = value.split(',')
    return entries[max(len(entries) - hops, 0)].strip()


class _ReadStream:
    """The rest of a WSGI input stream (PEP 3333) and of a binary file, for a handler that reads the body
    itself, made of the class's ``read`` and ``readline`` (so counted, or kept, as those are): iteration is
    looked up on the class, and the server's own ``readinto`` or ``readlines`` would go past them."""

    #: The server's ``wsgi.input`` (what no method here makes is looked up on it).
    stream: Any

    def read(self, size: Optional[int] = -1) -> bytes:
        raise NotImplementedError

    def readline(self, size: Optional[int] = -1) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: Any) -> Optional[int]:
        view = memoryview(buffer).cast('B')
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        lines: List[bytes] = []
        size = 0
        for line in self:
            lines.append(line)
            size += len(line)
            if hint is not None and 0 < hint <= size:
                break
        return lines

    def __iter__(self) -> _ReadStream:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _LimitedInput(_ReadStream):
    """A request body of unknown length (chunked) that answers 413 once it passes the limit.

    Bottle reads such a body whole before a handler sees it; counting the bytes as
    they arrive (chunk framing included) stops a client from streaming gigabytes in.
    A handler reading ``wsgi.input`` itself is counted too, whichever way it reads.
    """

    def __init__(self, stream: Any, limit: int, log: RequestLog) -> None:
        #: The server's ``wsgi.input``.
        self.stream = stream
        #: The most bytes read before the 413 (``max_body_size``).
        self.limit = limit
        #: The app's log.
        self.log = log
        #: The bytes read so far.
        self.count = 0

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            message = _CHUNKED_TOO_LARGE % self.limit
            self.log.write(logging.WARNING, '%s', message)
            raise _error_response(413, message)
        return data

    def _allowed(self, size: Optional[int]) -> int:
        """At most one byte past the limit: a read of Bottle's buffer size (``MEMFILE_MAX``) would
        otherwise wait for that much from a client whose body is already over a smaller limit."""
        room = max(0, self.limit + 1 - self.count)
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: Optional[int] = -1) -> bytes:
        return self._counted(self.stream.read(self._allowed(size)))

    def readline(self, size: Optional[int] = -1) -> bytes:
        return self._counted(self.stream.readline(self._allowed(size)))

    def read1(self, size: Optional[int] = -1) -> bytes:
        # (the server's read1: what has come, without waiting for all of size as read would)
        return self._counted(self.stream.read1(self._allowed(size)))


#: Said by each worker of a server running several processes, at its first request, in the log of each app
#: of the process that keeps its sessions in memory (``_IN_MEMORY_LOGS``).
_MEMORY_IN_WORKERS = ('The memory session store keeps sessions in this process, but the server runs several '
                      '(wsgi.multiprocess, as gunicorn with more than one worker): a client whose request reaches '
                      'another process loses its session and login there. Use session_store = sqlite:///sessions.db '
                      '(one host) or a Redis URL (see Scaling out in the README)')
#: The logs of the apps installed in this process that keep their sessions in memory: whichever app serves
#: a worker's first request (the process's first check, ``_LOCALS``), each of them is told.
_IN_MEMORY_LOGS: typing.Set[RequestLog] = set()


def _path_not_utf8(environ: Mapping[str, Any]) -> bool:
    """Whether the request's path is not UTF-8 once its ``%xx`` escapes are decoded (``/u/a%FFb``): the one
    rule ``_EarlyChecks`` refuses such a path by, which ``needed`` asks too.  An ASCII path costs one C call.
    A path that another Bottle decoded already (an app mounted in one without canister, whose bottle 0.13 drops
    the bytes that are no UTF-8) is judged as it came, in WSGI's form: ``bottle.raw_path``; a sub-request's path
    by itself, though its environ, a copy of the caller's, still holds the caller's (``_decoded_by_bottle``)."""
    path = (environ['bottle.raw_path'] if environ.get('bottle.raw_path') and _decoded_by_bottle(environ)
            else environ.get('PATH_INFO', ''))
    return not (path.isascii() or _in_wsgi_form(path))


class _EarlyChecks:
    """What canister answers itself, before Bottle sees a request: a body or a header over its
    limit, a multipart body of more parts than its limit, a body framed two ways at once, a path that is
    not UTF-8, an unsafe request CSRF protection refuses, and CORS preflights.  A chunked body is also
    made safe for Bottle here (read up to the limit).

    First of all, a process whose thread-locals would mix the requests it serves at once answers
    500 to every request (``_LocalsCheck``, asked until a request passes it); the request that passes
    it (the first of several at once) writes ``_MEMORY_IN_WORKERS`` to ``_IN_MEMORY_LOGS`` when the server
    says it runs several processes.

    ``needed`` tells which requests any of these can concern; ``Canister.wsgi`` skips the rest (most
    GETs).  It names every request header a check reads: a new check adds its header there.
    """

    def __init__(self, config: Config, log: RequestLog, csrf: Optional[CsrfGuard], router: Any) -> None:
        #: ``max_body_size``: the largest body answered; 0: no limit.
        self.max_body_size = config['max_body_size']
        #: ``max_header_size``: the largest request header answered; 0: no limit.
        self.max_header_size = config['max_header_size']
        #: ``max_form_parts``: the most parts of a multipart body answered; 0: no limit.
        self.max_form_parts = config['max_form_parts']
        #: The app's log.
        self.log = log
        #: The CSRF check (None: ``csrf = false``).
        self.csrf = csrf
        #: The app's router, which a preflight asks for the methods of a path.
        self.router = router
        #: The checks, in the order they run.
        self._checks = (self._shared_locals, self._body_length, self._header_sizes, self._csrf, self._path, self._chunked_body,
                        self._content_type, self._form_parts, self._preflight)

    def needed(self, context: _RequestContext, cookie: Optional[str]) -> bool:
        """True if a check below may answer the request or change its environ."""
        environ = context.environ
        return (not _LOCALS.passed or context.method in _UNSAFE_METHODS or bool(environ.get('CONTENT_LENGTH'))
                or 'HTTP_AUTHORIZATION' in environ or 'HTTP_TRANSFER_ENCODING' in environ
                or context.preflight or (cookie is not None and len(cookie) > self.max_header_size)
                or _path_not_utf8(environ))

    def response(self, context: _RequestContext) -> Optional[_PlainResponse]:
        """The response canister gives the request itself, or None: Bottle answers it."""
        for check in self._checks:
            response = check(context)
            if response is not None:
                return response
        return None

    def _refuse(self, code: int, message: str, environ: Mapping[str, Any]) -> _PlainResponse:
        self.log.write(logging.WARNING, '%s', message)
        return _plain_response(code, message, environ)

    def _shared_locals(self, context: _RequestContext) -> Optional[_PlainResponse]:
        if _LOCALS.passed:
            return None
        problem = _LOCALS.problem()
        if not problem:
            # (two first requests at once both pass: the one that is first says it)
            if context.environ.get('wsgi.multiprocess') and _LOCALS.first():
                for log in tuple(_IN_MEMORY_LOGS):
                    log.write(logging.WARNING, '%s', _MEMORY_IN_WORKERS)
            return None
        self.log.write(logging.ERROR, '%s', problem)
        return _plain_response(500, _MISCONFIGURED, context.environ)

    def _path(self, context: _RequestContext) -> Optional[_PlainResponse]:
        # whatever the method: Bottle 0.13 would drop the bytes that are no UTF-8 (GET /u/a%FFb reaching the
        # handler as 'ab'), 0.12 answer its own 400
        if not _path_not_utf8(context.environ):
            return None
        return self._refuse(400, _PATH_NOT_UTF8, context.environ)

    def _body_length(self, context: _RequestContext) -> Optional[_PlainResponse]:
        environ = context.environ
        length = environ.get('CONTENT_LENGTH')
        if not length:
            return None
        if 'HTTP_TRANSFER_ENCODING' in environ:
            return self._refuse(400, _BOTH_LENGTHS, environ)
        if not (length.isascii() and length.isdigit()):
            length = _trimmed_digits(length)
            if not length:
                return self._refuse(400, 'Bad request: invalid Content-Length', environ)
        digits = length.lstrip('0') or '0'
        if len(digits) > len(str(self.max_body_size)) or int(digits) > self.max_body_size:
            shown = digits if len(digits) <= 20 else 'a %d-digit number of' % len(digits)
            return self._refuse(413, 'Request body too large: %s bytes, the limit is %d'
                                % (shown, self.max_body_size), environ)
        environ['CONTENT_LENGTH'] = digits  # without leading zeros or whitespace: Bottle calls int() on it too
        return None

    def _header_sizes(self, context: _RequestContext) -> Optional[_PlainResponse]:
        environ = context.environ
        for header in ('HTTP_AUTHORIZATION', 'HTTP_COOKIE'):
            value = environ.get(header)
            if value is not None and len(value) > self.max_header_size:
                return self._refuse(431, 'Request header %s too large: the limit is %d bytes'
                                    % (header[5:].title(), self.max_header_size), environ)
        return None

    def _csrf(self, context: _RequestContext) -> Optional[_PlainResponse]:
        if self.csrf is None or context.method not in _UNSAFE_METHODS:
            return None
        environ = context.environ
        own_origin = context.own_origin()
        reason = self.csrf.why_refused(environ, own_origin)
        if reason is None:
            return None
        # only a request about to be refused asks for its route: the others pay nothing for exemptions
        route = context.route if context.route is not None else _route_of(environ, self.router)
        if route is not None and _is_csrf_exempt(route):
            origin = self.csrf.claimed_origin(environ, False) or 'none named'
            self.log.write(logging.INFO, 'Cross-site %s from %s let in: route %s %s is exempt from CSRF protection',
                           context.method, _shown_origin(origin), route.method, route.rule)
            return None
        # The log, not the answer, says what lets such a request in: its reader runs the app.
        listing = _how_to_let_in(self.csrf.cors, environ)
        self.log.write(logging.WARNING, '%s (this app sees its own origin as %s; to let another origin in, %s, or '
                       'give a route csrf=False; behind a proxy that changes the host or scheme, list the proxy in '
                       'trusted_proxies)', reason, _escape(_mask_url_value(own_origin))[:100], listing)
        return _plain_response(403, reason, environ)

    def _chunked_body(self, context: _RequestContext) -> Optional[_PlainResponse]:
        environ = context.environ
        if 'HTTP_TRANSFER_ENCODING' not in environ or environ.get('CONTENT_LENGTH') or 'wsgi.input' not in environ:
            return None
        coding = environ['HTTP_TRANSFER_ENCODING']
        if coding.strip().lower() != 'chunked':  # (Bottle reads 'gzip, chunked' as chunked, 'identity' as no body)
            return self._refuse(400, _OTHER_CODING % _escape(coding)[:60], environ)
        if environ.get('wsgi.input_terminated'):
            return self._buffer_body(environ)
        environ['wsgi.input'] = _LimitedInput(environ['wsgi.input'], self.max_body_size, self.log)
        return None

    def _buffer_body(self, environ: Dict[str, Any]) -> Optional[_PlainResponse]:
        """Read a body the server has already de-chunked (``wsgi.input_terminated``), up to the limit.

        Such servers (gunicorn) keep the ``Transfer-Encoding: chunked`` header without a
        Content-Length, and Bottle would then parse chunk framing that is no longer there
        (a 400).  Canister hands Bottle the body with its length instead.
        """
        stream = environ['wsgi.input']
        body = tempfile.SpooledTemporaryFile(max_size=bottle.BaseRequest.MEMFILE_MAX)
        size = 0
        try:
            while True:  # (a read never asks past the limit's first byte: it would wait for bytes never sent)
                chunk = stream.read(min(65536, self.max_body_size + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_body_size:
                    body.close()
                    return self._refuse(413, _CHUNKED_TOO_LARGE % self.max_body_size, environ)
                body.write(chunk)
        except Exception as error:  # the server's reader: a lost client (OSError), or framing it refuses (gunicorn's
            body.close()              # InvalidChunkSize, which is no OSError): the client's fault, not a 500
            return self._refuse(400, 'Bad request: the body could not be read (%s)' % type(error).__name__, environ)
        body.seek(0)
        environ['wsgi.input'] = body
        environ['CONTENT_LENGTH'] = str(size)
        del environ['HTTP_TRANSFER_ENCODING']
        return None

    @staticmethod
    def _content_type(context: _RequestContext) -> None:
        """Write a body's ``Content-Type`` as Bottle's parsers read it, for the handler's parameters and its
        own ``request.forms`` alike: ``Multipart/Form-Data``, or ``boundary=x;``, is no 400, 500 or lost fields."""
        environ = context.environ
        content_type = environ.get('CONTENT_TYPE')
        if content_type and _has_body(environ):
            readable = _bottle_content_type(content_type)
            if readable is not None:
                environ['CONTENT_TYPE'] = readable

    def _form_parts(self, context: _RequestContext) -> Optional[_PlainResponse]:
        """Read a multipart body with a length (its own, or the one ``_buffer_body`` gave it) before Bottle
        does, counting its parts: Bottle's parsers spend microseconds on each, so a body at ``max_body_size``
        of tiny parts would cost seconds of CPU.  A raw chunked body (``_LimitedInput``) is not counted:
        its chunk framing may split a delimiter."""
        environ = context.environ
        length = environ.get('CONTENT_LENGTH')
        if (not self.max_form_parts or not length or 'multipart/' not in environ.get('CONTENT_TYPE', '').lower()
                or 'wsgi.input' not in environ):
            return None
        delimiters = _delimiters(environ['CONTENT_TYPE'])
        if not delimiters:
            return None  # (Bottle refuses a multipart body without a boundary itself)
        if len(delimiters) > 4:
            return self._refuse(400, 'Bad request: the Content-Type names more than 4 multipart boundaries',
                                environ)
        body = tempfile.SpooledTemporaryFile(max_size=bottle.BaseRequest.MEMFILE_MAX)
        try:
            too_many = self._copy_counting(environ['wsgi.input'], int(length), body, delimiters)
        except Exception as error:  # the server's reader, as in _buffer_body
            body.close()
            return self._refuse(400, 'Bad request: the body could not be read (%s)' % type(error).__name__, environ)
        if too_many:
            body.close()
            return self._refuse(413, _TOO_MANY_PARTS % self.max_form_parts, environ)
        body.seek(0)
        environ['wsgi.input'] = body
        return None

    def _copy_counting(self, stream: Any, left: int, body: Any, delimiters: typing.Set[bytes]) -> bool:
        """Copy ``left`` bytes of ``stream`` to ``body`` (fewer if it ends first: the handler's reading of
        a body cut short says so, as without this check); True as soon as a delimiter is seen more
        than ``max_form_parts`` + 1 times (the last one closes the form)."""
        counts = dict.fromkeys(delimiters, 0)
        kept = max(map(len, delimiters)) - 1
        tail = b''  # (the end of the last reads, so that a delimiter split across two reads is counted)
        while left > 0:
            chunk = stream.read(min(65536, left))
            if not chunk:
                break
            left -= len(chunk)
            body.write(chunk)
            for delimiter in delimiters:
                counts[delimiter] += (tail[max(0, len(tail) + 1 - len(delimiter)):] + chunk).count(delimiter)
                if counts[delimiter] > self.max_form_parts + 1:
                    return True
            tail = (tail + chunk)[-kept:]
        return False

    def _preflight(self, context: _RequestContext) -> Optional[_PlainResponse]:
        if not context.preflight:
            return None
        assert context.cors is not None
        return context.cors.preflight_response(context.environ, context.origin or '', self.router)


#: How the page Bottle writes to ``wsgi.errors`` starts when an error handler of the app raised.
_BOTTLES_CRITICAL_PAGE = '<h1>Critical error while processing request: '


def _critical_error_answer(environ: Mapping[str, Any]) -> bottle.HTTPResponse:
    """Bottle's "Critical error" 500, which its entry answers (with ``catchall`` on) when an error handler of the
    app raised the exception being handled: the path, and in debug mode the exception and its traceback; the
    page written to ``wsgi.errors`` too, as Bottle's entry writes it (held back there while canister logs to a
    stream: ``_WithoutBottlesTraceback``)."""
    page = '%s%s</h1>' % (_BOTTLES_CRITICAL_PAGE, bottle.html_escape(environ.get('PATH_INFO', '/')))
    if bottle.DEBUG:
        page += ('<h2>Error:</h2>\n<pre>\n%s\n</pre>\n<h2>Traceback:</h2>\n<pre>\n%s\n</pre>\n'
                 % (bottle.html_escape(repr(sys.exc_info()[1])), bottle.html_escape(traceback.format_exc())))
    errors = environ.get('wsgi.errors')
    if errors is not None:
        errors.write(page)
        errors.flush()
    return bottle.HTTPResponse(page, status='500 INTERNAL SERVER ERROR',
                               headers={'Content-Type': 'text/html; charset=UTF-8'})


class _WithoutBottlesTraceback:
    """A request's ``wsgi.errors`` while canister logs to the process's stderr or stdout: Bottle (with
    ``catchall``, its default) writes the traceback of an exception it catches there as raw lines, most
    often into the same stream, which would break a stream of JSON lines apart.  That write (the
    traceback of the exception being handled, as ``traceback.format_exc`` gives it) is held back: Bottle
    makes it before canister's line when it caught the exception outside canister's route wrapper (a
    dict its JSON plugin cannot send, a ``before_request`` hook's); so is the HTML of its "Critical
    error" page (an error handler of the app raised), written before canister logs that exception.  At
    the request's end they are dropped if canister logged the exception, else written (an app mounted
    without canister).  Anything else reaches the server's stream."""

    def __init__(self, stream: Any) -> None:
        #: The ``wsgi.errors`` it stands in for, which gets everything but Bottle's traceback.
        self.stream = stream
        #: Bottle's traceback and "Critical error" page, held back until the request's end.
        self.held = ''

    def write(self, text: Any) -> Any:
        if isinstance(text, str) and (text.startswith('Traceback') and text == traceback.format_exc()
                                      or text.startswith(_BOTTLES_CRITICAL_PAGE) and sys.exc_info()[0] is not None):
            self.held += text
            return None
        return self.stream.write(text)

    def end(self, logged: bool) -> None:
        """The request ended: write the traceback held back unless canister ``logged`` the exception."""
        held, self.held = self.held, ''
        if held and not logged:
            self.stream.write(held)

    def writelines(self, lines: Iterable[Any]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, and whatever else the server's stream has
        return getattr(self.stream, name)


#: The name of the request id's header in a response Bottle made (Bottle writes names in Title-Case).
_REQUEST_ID_HEADER = 'X-Request-Id'
#: The header Bottle makes of Starlette's ``status_code=`` given to ``HTTPResponse`` or ``HTTPError`` (as Bottle
#: writes it: it sends a keyword it does not know as a header).
_STATUS_CODE_HEADER = 'Status-Code'

#: The code of the wrapper that Bottle's JSON plugin puts around every route (it turns a returned dict into
#: JSON), and the folder of the json module its ``dumps`` runs in.
_JSON_PLUGIN_WRAPPERS = frozenset(const for const in bottle.JSONPlugin.apply.__code__.co_consts
                                  if isinstance(const, types.CodeType))
_JSON_MODULE_DIR = os.path.dirname(json.__file__)


def _failed_in_json_plugin(error: BaseException) -> bool:
    """True if ``error`` was raised by ``json.dumps`` called from Bottle's JSON plugin: the handler returned
    a dict holding a value JSON has no type for (a datetime, a set).  The plugin, installed before canister,
    wraps canister's wrapper, so the exception reaches canister only once the route has returned."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        if (trace.tb_frame.f_code in _JSON_PLUGIN_WRAPPERS
                and trace.tb_next.tb_frame.f_code.co_filename.startswith(_JSON_MODULE_DIR)):
            return True
        trace = trace.tb_next
    return False


#: What Bottle can send, and what to write instead of the habits of other frameworks (a list turned
#: into JSON, a status returned beside the body): the end of every line about a result Bottle refused.
_SENDABLE = ("Bottle sends text, bytes, a file, a dict (as JSON, by its JSON plugin) or a list, tuple or "
             "generator of text or bytes: return {'items': [...]} for a list of values, str() for a number, and "
             "set a status with bottle.response.status = 201 before returning the body (or return "
             "bottle.HTTPResponse(body, status=201)), not Flask's return body, 201")
#: The start of the message of the 500 that Bottle answers for an iterable of anything but text or bytes.
_UNSUPPORTED_TYPE = 'Unsupported response type: '


def _unsendable_result(error: BaseException) -> Optional[str]:
    """What the handler returned, when ``error`` is the ``TypeError`` Bottle raised turning it into a body
    (``return 42``, or Flask's ``return 'Created', 201``, whose number Bottle cannot join to the text); else None."""
    trace = error.__traceback__
    if not isinstance(error, TypeError) or trace is None:
        return None
    while trace.tb_next is not None:
        trace = trace.tb_next
    if trace.tb_frame.f_code is not bottle.Bottle._cast.__code__:
        return None
    if 'not iterable' in str(error):  # iter(result) failed
        return 'a value Bottle cannot send (%s)' % _escape(str(error))
    return 'a list or tuple of text and other values (%s)' % _escape(str(error))


#: The ``TypeError`` of a call that lacks an argument the function needs.
_MISSING_ARGUMENT = re.compile(r'missing \d+ required (?:positional|keyword-only) arguments?: ')


#: What Starlette's and Flask's ``request`` carry that Bottle's lacks, which a newcomer reads first: whose name it
#: is, and what to read instead (canister's own or Bottle's).
_OTHER_REQUEST_ATTRIBUTES = {
    'session': ("Starlette's", "canister's session is imported with 'from canister import session', its values in "
                               'session.data'),
    'user': ("Starlette's", "the logged-in user is session.user (None when nobody is logged in), session imported "
                            "with 'from canister import session'"),
    'query_params': ("Starlette's", "Bottle's is bottle.request.query; or give the handler a parameter of the "
                                    "value's name, which canister fills from the query"),
    'args': ("Flask's", "Bottle's is bottle.request.query, bottle.request.query.getunicode('name') for a value; or "
                        "give the handler a parameter of the value's name, which canister fills from the query"),
    'values': ("Flask's", "Bottle's is bottle.request.params, the query and the form's fields together; or give the "
                          "handler a parameter of the value's name, which canister fills from either"),
    'get_json': ("Flask's", "Bottle's is bottle.request.json, the JSON body read already (None without one), "
                            'without a call; or give the handler parameters named as its members, which canister '
                            'fills'),
    **dict.fromkeys(('get_data', 'data'), ("Flask's", "Bottle's is bottle.request.body, the body as a file: write "
                                                      'bottle.request.body.read() for its bytes')),
    'state': ("Starlette's", "Bottle's request takes an attribute of the app's own as it is (bottle.request.db = ... "
                             'in a before_request hook, read in the handler); what lasts beyond the request goes in '
                             'session.data'),
    'form': ("Flask's and Starlette's", "Bottle's is bottle.request.forms, the form's fields read already, without a "
                                        "call: bottle.request.forms.getunicode('name'), and bottle.request.files for "
                                        'its files; or give the handler parameters named as the fields, which '
                                        'canister fills'),
}


def _stored_attribute(trace: types.TracebackType) -> Optional[str]:
    """The name of the attribute that the instruction where ``trace`` stopped sets (``x.status_code = 201``)."""
    for instruction in dis.get_instructions(trace.tb_frame.f_code):
        if instruction.offset == trace.tb_lasti:
            return instruction.argval if instruction.opname == 'STORE_ATTR' else None
    return None


#: The class a read-only property's ``AttributeError`` names, from Python 3.11 (``property 'status_code' of
#: 'LocalResponse' object has no setter``); 3.9 and 3.10 name none (``can't set attribute``).
_NAMED_CLASS = re.compile(r"^property '\w+' of '(\w+)' object has no setter$|^can't set attribute")


def _sets_a_responses_status_code(error: AttributeError, trace: types.TracebackType) -> bool:
    """True if ``error`` was raised setting ``status_code`` of a read-only property (a Bottle response's, where Python
    names the class); not on an object that has no such attribute at all (None, a class of the app's)."""
    named = _NAMED_CLASS.search(str(error))
    return (named is not None and _stored_attribute(trace) == 'status_code'
            and named.group(1) in (None, 'LocalResponse', 'BaseResponse', 'HTTPResponse', 'HTTPError'))


def _called_attribute(trace: types.TracebackType) -> Optional[str]:
    """The name of the attribute of Bottle's request that the call where ``trace`` stopped called
    (``request.json()``, ``bottle.request.json()``: json), if the instructions before the call load it from a name
    and attributes that are Bottle's request in the frame (``_is_bottle_request``): an app's ``mydata.json()``
    is none of its."""
    loads: Optional[List[str]] = None  # (the name, then the attributes loaded from it)
    for instruction in dis.get_instructions(trace.tb_frame.f_code):
        if instruction.offset == trace.tb_lasti:
            return loads[-1] if loads and len(loads) > 1 and _is_bottle_request(trace.tb_frame, loads[:-1]) else None
        loads = _loads_after(loads, instruction)
    return None


def _loads_after(loads: Optional[List[str]], instruction: dis.Instruction) -> Optional[List[str]]:
    """The name and attributes ``_called_attribute`` follows, after ``instruction``: None once it loads anything
    else."""
    if instruction.opname in _LOADS_A_NAME:  # (3.13's LOAD_FAST_LOAD_FAST loads two: the last is the owner)
        argval = instruction.argval
        return [argval[-1] if isinstance(argval, tuple) else argval]
    if instruction.opname in ('LOAD_ATTR', 'LOAD_METHOD'):
        return None if loads is None else loads + [instruction.argval]
    # (3.11's PRECALL; 3.13's PUSH_NULL after ``LOAD_ATTR json`` of a request imported by name, before the call)
    return loads if instruction.opname in ('PRECALL', 'PUSH_NULL', 'CACHE', 'EXTENDED_ARG') else None


#: The instructions that load a name, where ``_called_attribute`` starts following what is called.
_LOADS_A_NAME = frozenset(('LOAD_GLOBAL', 'LOAD_NAME', 'LOAD_FAST', 'LOAD_FAST_CHECK', 'LOAD_FAST_LOAD_FAST',
                           'LOAD_DEREF', 'LOAD_CLOSURE'))


def _is_bottle_request(frame: types.FrameType, names: List[str]) -> bool:
    """Whether the name ``names[0]`` in ``frame``, then its attributes ``names[1:]``, is a Bottle request
    (``bottle.request``).  The attributes are read as stored (``inspect.getattr_static``), running no code of
    the app's: a property is not a request."""
    scopes = (frame.f_locals, frame.f_globals, frame.f_builtins)
    owner = next((scope[names[0]] for scope in scopes if names[0] in scope), None)
    for name in names[1:]:
        owner = inspect.getattr_static(owner, name, None)
    return isinstance(owner, bottle.BaseRequest)


#: What to write instead of Starlette's methods of ``request`` that Bottle's has as values, read already, so that the
#: call raises "'<type>' object is not callable", by the attribute called and the types Bottle's value has there (an
#: app's own ``message.body()`` of a str gets no hint, and ``_called_attribute`` reads only what is called on
#: Bottle's request, so an app's ``mydata.json()`` of a dict gets none either): ``request.json()`` ('dict', 'list'
#: for an array body, or 'NoneType' without a JSON body: not a str, an app's own JSON text), ``request.body()`` (the
#: body's file: in memory, or a temporary file for a body over ``MEMFILE_MAX``), and ``request.forms()`` (a
#: FormsDict), written after its ``form()``.
_STARLETTE_CALLED = {
    'json': (('dict', 'list', 'NoneType'),
             ": Bottle's request.json is a value, the body's JSON (None without a JSON body), not a method (Starlette's "
             "await request.json()): write bottle.request.json, without the call; or give the handler parameters "
             "named as the JSON's keys, which canister fills"),
    'body': (('_io.BytesIO', '_io.BufferedRandom', '_TemporaryFileWrapper'),
             ": Bottle's request.body is a value, the body as a file, not a method (Starlette's await "
             'request.body()): write bottle.request.body.read() for its bytes (bottle.request.json for a JSON body, '
             'bottle.request.forms for a form)'),
    'forms': (('FormsDict',),
              ": Bottle's request.forms is a value, the form's fields read already, not a method (Starlette's await "
              "request.form()): write bottle.request.forms, without the call, bottle.request.forms.getunicode('name') "
              'for a field; or give the handler parameters named as the fields, which canister fills'),
}
#: The type in Python's "'<type>' object is not callable".
_NOT_CALLABLE = re.compile(r"'([\w.]+)' object is not callable$")


def _habit_note(error: BaseException) -> str:
    """What to write instead, after the ERROR line of a handler's exception that another framework's habit
    caused (Starlette's ``request.session`` or ``request.form``, which Bottle's ``request`` lacks, and
    ``request.json()`` or ``request.body()``, which Bottle's has as values; FastAPI's ``response.status_code = 201``,
    which Bottle's responses only read); else ''.
    Never raises: it reads the exception's text and walks the bytecode of the frame that raised it, and an
    exception of its own (an exception class whose ``str()`` fails, a frame ``dis`` cannot read) would lose the
    ERROR line it adds to."""
    try:
        return _habit_note_of(error)
    except Exception:
        return ''


def _habit_note_of(error: BaseException) -> str:
    """:func:`_habit_note`, which may raise."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return ''
    called = _NOT_CALLABLE.match(str(error)) if isinstance(error, TypeError) else None
    if called is not None:
        types_and_note = _STARLETTE_CALLED.get(_called_attribute(trace) or '')
        return types_and_note[1] if types_and_note is not None and called.group(1) in types_and_note[0] else ''
    return _attribute_habit_note(error, trace) if isinstance(error, AttributeError) else ''


def _attribute_habit_note(error: AttributeError, trace: types.TracebackType) -> str:
    """``_habit_note`` of an ``AttributeError`` raised where ``trace`` stopped: Starlette's ``request.session``,
    Flask's ``request.get_json()`` and the like, FastAPI's ``response.status_code = 201``; else ''."""
    if trace.tb_frame.f_code.co_filename != bottle.__file__:
        if not _sets_a_responses_status_code(error, trace):
            return ''
        return (": a Bottle response's status_code only reads its status (FastAPI's response.status_code = ...): "
                'write bottle.response.status = 201')
    name = next((name for name in _OTHER_REQUEST_ATTRIBUTES if str(error) == 'Attribute %r not defined.' % name), None)
    if name is None:
        return ''
    whose, note = _OTHER_REQUEST_ATTRIBUTES[name]
    return ': bottle.request has no %s (%s request.%s): %s' % (name, whose, name, note)


#: The ERROR line of an exception Bottle caught outside canister's route wrapper, whose cause is not known.
_CAUGHT_OUTSIDE = 'Unhandled exception (outside the route: a hook of the app, or a route canister does not wrap)'


def _caught_message(error: BaseException) -> str:
    """The ERROR line of an exception Bottle caught outside canister's route wrapper, saying what to change
    where the cause is known: a dict Bottle's JSON plugin cannot send, a result Bottle cannot send, a handler
    that canister did not give its arguments (a route of an app canister is not installed on).  Never raises:
    an exception class of the app's whose ``str()`` fails gets the line of an unknown cause, its traceback
    after it, not one of canister's own."""
    try:
        return _caught_message_of(error)
    except Exception:
        return _CAUGHT_OUTSIDE


def _caught_message_of(error: BaseException) -> str:
    """:func:`_caught_message`, which may raise."""
    if _failed_in_json_plugin(error):  # Bottle's JSON plugin wraps canister's wrapper: the handler did return
        return ("Unhandled exception: the handler returned a dict that Bottle's JSON plugin cannot turn into JSON "
                '(%s): convert such values in the handler (a datetime with .isoformat(), a Decimal with str(), a set '
                'with list())' % _escape(str(error))[:200])
    returned = _unsendable_result(error)
    if returned is not None:  # Bottle caught it turning the handler's result into a body
        return 'Unhandled exception: the handler returned %s: %s' % (returned, _SENDABLE)
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if (isinstance(error, TypeError) and _MISSING_ARGUMENT.search(str(error)) and trace is not None
            and trace.tb_frame.f_code.co_filename == bottle.__file__):  # Bottle (or its JSON plugin) made the call
        return ('Unhandled exception: a route that canister does not wrap called its handler without an argument '
                "(%s): canister fills handler arguments from the request only on the routes it wraps, those of the "
                "apps it is installed on (unless skip=['canister']): for a child app mounted or merged into this one "
                "(as a Flask blueprint is registered), install canister on the child too; or give the handler "
                "defaults and read bottle.request"
                % _escape(str(error)))
    if isinstance(error, CanisterError):  # canister's own refusal (of a route, when Bottle applies it): it says why
        return 'Unhandled exception: %s' % error
    return _CAUGHT_OUTSIDE + _habit_note(error)


class _RequestContext(SessionState):
    """Everything canister knows about the request a thread is serving, and its response's last step.

    It is the request's session state too (one object per request).  ``begin`` sets the
    attributes every request needs; the others keep their class-level defaults until used.
    """

    #: The request's id (``X-Request-ID``).
    request_id = ''
    #: The Canister plugin serving the request.
    plugin: Any = None
    #: The server's ``start_response``, which ``start_response`` below calls last.
    server_start_response: Optional[Callable[..., Any]] = None
    #: The request method, upper case.
    method = 'GET'
    #: ``http`` or ``https`` (as a trusted proxy says, if one is in front).
    scheme = 'http'
    #: The request came over HTTPS (the cookie gets ``Secure``, the response HSTS).
    https = False
    #: The request came through a trusted proxy (its X-Forwarded-* headers count).
    trusted = False
    #: How many trusted proxies the request came through (``_Proxies.client``).
    hops = 0
    #: The ``Origin`` header, if any.
    origin: Optional[str] = None
    #: The app's CORS policy if it covers the request's path (``cors_paths``), else None.
    cors: Optional[CorsPolicy] = None
    #: The request is a CORS preflight (logged at DEBUG, answered by canister).
    preflight = False
    #: The route to serve, when known before the early checks (a child app's route: ``Canister._serve``).
    route: Any = None
    #: ``time.perf_counter()`` at the start, when the response line is logged (0.0 otherwise).
    started = 0.0
    #: The handler's exception was logged already (by the route wrapper).
    error_logged = False
    #: The HTTPResponse the handler raised with Starlette's ``status_code=`` was logged already (the route wrapper).
    status_header_noted = False
    #: The request's ``wsgi.errors`` as canister holds back Bottle's traceback in it, while it logs to a stream.
    held_errors: Optional[_WithoutBottlesTraceback] = None
    #: The response's status code, once it started.
    code = 0
    #: The body of an error response that replaced Bottle's (the session could not be saved).
    replaced: Optional[List[bytes]] = None
    #: The handler returned a generator: its body runs after ``Canister.wsgi`` returns (_StreamedBody).
    streamed = False
    #: The thread's name while it serves this request.
    thread_name = ''
    #: The thread serving the request, when canister names it (only while it writes a log).
    thread: Any = None
    #: The thread's name before the request, given back when it is done.
    outer_thread_name = ''
    #: The context this one was made inside of (a request re-entering the entry), put back at the end.
    outer: Optional[_RequestContext] = None
    #: The checks of ``require`` this request passed (``_run_guards``): none ran twice.
    checks_passed: Tuple[Callable[[], None], ...] = ()

    @classmethod
    def begin(cls, plugin: Any, environ: Dict[str, Any],
              start_response: Optional[Callable[..., Any]]) -> _RequestContext:
        """Make the context of a request and make it the thread's: the client (through trusted
        proxies), the request id, the session cookie, the thread's name; then log the request line."""
        context = cls()
        context.environ = environ
        context.plugin = plugin
        context.manager = plugin.sessions
        context.server_start_response = start_response
        log = plugin.log
        if log.times_requests:
            context.started = time.perf_counter()
        scheme = context._locate(plugin, environ)
        context.request_id = _request_id(environ)
        method = context.method = environ.get('REQUEST_METHOD', 'GET').upper()
        origin = context.origin = environ.get('HTTP_ORIGIN')
        cors = plugin.cors
        if cors is not None and cors.covers(environ):
            context.cors = cors
            context.preflight = cors.is_preflight(environ, method, origin)
        cookie = environ.get('HTTP_COOKIE')
        cookie_sid = context.cookie_sid = plugin.sessions.cookie_sid(cookie) if cookie is not None else None
        context.outer = _local.context
        _local.context = context
        if log.writes_lines:  # the thread's name is the [...] of its log lines
            thread = context.thread = threading.current_thread()
            context.outer_thread_name = thread.name
            thread.name = name = _thread_name(context.client, cookie_sid)
            if log.errors_on_stream:  # (Bottle's traceback of what it catches would go there before canister's line)
                context._hold_bottles_traceback()
            if log.writes_requests:
                log.write(logging.DEBUG if context.preflight else logging.INFO, '%s %s',
                          _escape(method), _request_url(environ, scheme, context.host()), thread_name=name)
        return context

    def _locate(self, plugin: Any, environ: Mapping[str, Any]) -> str:
        """Set the client's address and the scheme, as a trusted proxy says if the peer is one;
        return the scheme."""
        peer = environ.get('REMOTE_ADDR') or '-'
        if plugin.has_proxies and plugin.proxies.is_trusted(peer):
            self.trusted = True
            self.client, self.hops = plugin.proxies.client(environ, peer, plugin.log, plugin.sessions)
            # (none sent, or not a scheme a proxy serves, ``javascript://``: the server's own)
            scheme = (_WEB_SCHEMES.get(_forwarded_value(environ.get('HTTP_X_FORWARDED_PROTO', ''), self.hops).lower())
                      or environ.get('wsgi.url_scheme', 'http'))
        else:
            self.client = peer
            scheme = environ.get('wsgi.url_scheme', 'http')
        if scheme != 'http':
            self.scheme = scheme
            self.https = scheme == 'https'
        return scheme

    def end(self) -> None:
        """Log the response line (ERROR for a 5xx, WARNING if slow), then give the thread back its
        name and the context it had before."""
        log = self.plugin.log
        if self.started:
            elapsed = time.perf_counter() - self.started
            code = self.code
            if code >= 500:
                level = logging.ERROR
            elif self.plugin.slow and elapsed >= self.plugin.slow:
                level = logging.WARNING
            else:
                level = logging.DEBUG if self.preflight else logging.INFO
            log.write(level, 'Response: %d (%dms)', code, elapsed * 1000,
                      thread_name=self.thread.name if self.thread is not None else None)
            if self.held_errors is not None:
                self.held_errors.end(self.error_logged)
        if self.thread is not None:
            self.thread.name = self.outer_thread_name
        _local.context = self.outer

    def handler_failed(self, log: RequestLog) -> None:
        """The route wrapper logged the handler's exception to ``log``, with its traceback: not again
        at the end; and where that log is the process's stderr or stdout, Bottle's own copy of the
        traceback stays out of the server's stream (``_WithoutBottlesTraceback``)."""
        self.error_logged = True
        if log.errors_on_stream:
            self._hold_bottles_traceback()

    def _hold_bottles_traceback(self) -> None:
        """Have the request's ``wsgi.errors`` hold back Bottle's traceback (``_WithoutBottlesTraceback``)."""
        errors = self.environ.get('wsgi.errors')
        if errors is not None and type(errors) is not _WithoutBottlesTraceback:
            self.held_errors = self.environ['wsgi.errors'] = _WithoutBottlesTraceback(errors)

    def failed(self) -> None:
        """An exception escaped the request: log it (unless the route wrapper did) and count a 500."""
        if not self.error_logged:
            self.plugin.log.write(logging.ERROR, 'Unhandled exception', exc_info=True)
        if not self.code:  # (before the answer started: Bottle's catchall is off)
            self.end_on_escape()
        self.code = 500

    def end_on_escape(self) -> None:
        """An exception passed canister by before the answer started (Bottle's ``catchall`` off, or the error page
        of an app without canister that serves this one's routes): as for any 5xx nothing is stored, but a session
        this request ended (``invalidate()``) stays ended, though the answer, not canister's, keeps its cookie."""
        if not self.loaded:
            return
        self.keep_length()
        if not self.dead:
            return
        self.end_on_error([], self.https)
        self.plugin.log.write(logging.INFO, 'Session: the session this request ended (session.invalidate()) stays '
                              "ended; the answer to the exception is not canister's (Bottle's catchall is off, or an "
                              'app without canister serves this route), so the browser keeps its cookie, which names '
                              'nobody now')

    def host(self) -> str:
        """The host the client asked for (as a trusted proxy says, if one is in front)."""
        environ = self.environ
        host = _forwarded_value(environ.get('HTTP_X_FORWARDED_HOST', ''), self.hops) if self.trusted else ''
        if not host:
            host = environ.get('HTTP_HOST') or '%s:%s' % (environ.get('SERVER_NAME', ''),
                                                          environ.get('SERVER_PORT', ''))
        return host

    def own_origin(self) -> str:
        """The app's origin as the client asked for it (as a trusted proxy says, if one is in front), normalised."""
        return _normal_origin(self.scheme + '://' + self.host())

    def send_early(self, response: _PlainResponse) -> List[bytes]:
        """Send a response canister gives itself (see ``_EarlyChecks``); return its body."""
        self.code = response.code
        headers = response.headers
        self._finish_headers(headers, cors=response.code != 204)  # a preflight's 204 has its own CORS headers
        assert self.server_start_response is not None
        self.server_start_response(_HTTP_STATUS.get(response.code, str(response.code)), headers)
        return [] if self.method == 'HEAD' else [response.body]  # (its Content-Length is the body a GET gets)

    def start_response(self, status_line: str, headers: Headers, exc_info: Any = None) -> Any:
        """Bottle's response on its way to the server: save the session, then finish the headers."""
        if exc_info is not None:
            self._log_passed_error(exc_info)
        code = self.code = _STATUS_CODES.get(status_line) or int(status_line[:3])
        if self.loaded and code < 500:
            try:
                self.finish(headers, self.https)
            except Exception as error:  # also a bug in the store: else Bottle answers its "Critical error" page
                headers, status_line = self._replace(error)
                if not isinstance(error, StoreUnavailable):  # (a store down hears nothing; one busy stored it)
                    self.keep_length()
        elif self.loaded:
            self.end_on_error(headers, self.https)
            self.keep_length()
        if self.streamed:
            self.keep_for_stream()
        self._finish_headers(headers)
        assert self.server_start_response is not None
        return self.server_start_response(status_line, headers, exc_info)

    def keep_length(self) -> None:
        """The request stores nothing (an error answer, or a session it could not save), but a remembered
        session keeps its length."""
        try:
            self.keep_own_lifetime()
        except Exception:
            self.plugin.log.write(logging.ERROR, 'Session: the length of a remembered session could not be '
                                  'kept after a request that stored nothing (%d)', self.code, exc_info=True)

    def _log_passed_error(self, exc_info: Any) -> None:
        """Bottle gives the response with the exception it caught (bottle 0.13): log it unless the
        route wrapper or the error page did, as for a ``before_request`` hook's exception."""
        if sys.exc_info()[1] is exc_info[1]:
            self._log_critical_error(exc_info[1])
        else:
            self.log_caught(exc_info[1])

    def log_error_page(self, error: bottle.HTTPError) -> None:
        """Log what lies behind an error Bottle answers with canister's page or the app's own: the exception
        of a 500 (unless the route wrapper logged it), the result of a handler that Bottle could not send, or
        the path, not UTF-8, of bottle 0.12's 400."""
        if error.exception is not None:
            self.log_caught(error.exception)
        elif error.status_code == 500 and isinstance(error.body, str) and error.body.startswith(_UNSUPPORTED_TYPE):
            self.plugin.log.write(logging.ERROR, 'The handler returned a list, tuple or generator of something '
                                  'other than text or bytes (%s): %s', _escape(error.body), _SENDABLE)
        elif error.status_code == 400 and error.body == _BOTTLE_PATH_NOT_UTF8:  # (one the early checks cannot judge)
            self.plugin.log.write(logging.WARNING, '%s', _PATH_NOT_UTF8)

    def log_caught(self, error: Optional[BaseException]) -> None:
        """Log an exception that Bottle caught outside the route wrapper (a ``before_request`` hook's,
        or a route's that canister does not wrap), once, with its traceback."""
        if self.error_logged or error is None:
            return
        self.error_logged = True
        self.plugin.log.write(logging.ERROR, '%s', _caught_message(error),
                              exc_info=(type(error), error, error.__traceback__))

    def _log_critical_error(self, error: Optional[BaseException]) -> None:
        """Bottle caught ``error`` after the route (in an error handler of the app, or in its own code)
        and answers its "Critical error" 500, whose traceback it writes nowhere: log it here (and
        drop the page's HTML Bottle wrote to ``wsgi.errors``: ``_WithoutBottlesTraceback``)."""
        self.error_logged = True
        if isinstance(error, bottle.HTTPResponse):  # what redirect() and abort() raise
            self.plugin.log.write(logging.ERROR, 'Unhandled exception in an error handler of the app (@app.error): '
                                  'Bottle sends no redirect() or abort() raised there, and answers 500; to send the '
                                  'browser elsewhere, set bottle.response.status = 303 and '
                                  "bottle.response.set_header('Location', url), and return", exc_info=True)
        elif error is not None and _unsendable_result(error) is not None:
            self.plugin.log.write(logging.ERROR, 'Unhandled exception: the handler returned %s: %s',
                                  _unsendable_result(error), _SENDABLE, exc_info=True)
        else:
            self.plugin.log.write(logging.ERROR, 'Unhandled exception in an error handler of the app (@app.error), '
                                  'or in Bottle while it built the answer', exc_info=True)

    def keep_for_stream(self) -> None:
        """The body goes on after ``Canister.wsgi`` returns (_StreamedBody): keep the thread's name for
        its steps, and make what the store now holds the baseline of the session's late changes."""
        if self.thread is not None:
            self.thread_name = self.thread.name
        if self.loaded and self.replaced is None and 0 < self.code < 500:
            self.settle()

    def _replace(self, error: Exception) -> Tuple[Headers, str]:
        """Replace Bottle's response by an error: the session could not be saved (503 if the store
        is unreachable, 500 if the data cannot be stored or the store raised anything else, logged
        with its traceback).  Return its headers and status line."""
        if isinstance(error, StoreUnavailable):
            self.plugin.log.write_repeated(logging.ERROR, _safe_text(error))
            self.plugin._tell_wait_note()
            code, message = 503, _UNAVAILABLE
        elif isinstance(error, SessionDataError):
            self.plugin.log.write(logging.ERROR, 'Session not saved: %s', error)
            code, message = 500, 'Internal server error: the session could not be saved: %s' % error
        else:  # called inside the except clause: exc_info is this error
            self.plugin.log.write(logging.ERROR, 'Session not saved: the session store raised %s',
                                  type(error).__name__, exc_info=True)
            code, message = 500, 'Internal server error: the session could not be saved'
        response = _plain_response(code, message, self.environ)
        if code == 503:
            response.headers.extend(_UNAVAILABLE_RETRY.items())
        self.code = code
        self.replaced = [] if self.method == 'HEAD' else [response.body]
        return response.headers, _HTTP_STATUS[code]

    def _finish_headers(self, headers: Headers, cors: bool = True) -> None:
        """Add what canister adds to every response: CORS, the request id, the cache headers of a
        response built from a session, and the security headers (none of them twice)."""
        plugin = self.plugin
        if cors and self.cors is not None:
            self.cors.apply(headers, self.origin)
        if plugin.added_names[self.loaded].isdisjoint(map(_header_name, headers)):  # the usual response: none yet
            headers += plugin.added[self.loaded][self.https]
            headers.append(('X-Request-ID', self.request_id))
        else:
            self._merge_headers(headers)

    def _merge_headers(self, headers: Headers) -> None:
        """``_finish_headers`` for a response that has some of canister's headers already (the handler
        set them): the request id replaces the app's (the log knows the request by it), the app's own
        caching and security headers stay."""
        plugin = self.plugin
        present = {name for name, _ in headers}
        if _STATUS_CODE_HEADER in present and not self.status_header_noted:
            self._note_status_header(headers)
        if _REQUEST_ID_HEADER in present:
            headers[:] = [header for header in headers if header[0] != _REQUEST_ID_HEADER]
        headers.append(('X-Request-ID', self.request_id))
        if self.loaded:  # built from a session: private
            SessionManager.mark_private(headers)
        # the security headers the app did not set (names compared as written: Bottle writes every
        # header name in Title-Case, as canister does)
        headers.extend(header for header in plugin.added[False][self.https] if header[0] not in present)


    def _note_status_header(self, headers: Headers) -> None:
        """Log, once for the route, the ``Status-Code`` header of a response the handler returned (or set up) with
        Starlette's keyword, ``bottle.HTTPResponse(body, status_code=201)``, which Bottle sends as a header, answering
        200: what to write instead."""
        route = self.environ.get('bottle.route')
        if not self.plugin.status_header_unsaid(route):
            return
        code = _escape(next(value for name, value in headers if name == _STATUS_CODE_HEADER))[:20]
        what = '%s %s' % (route.method, route.rule) if route is not None else self.method
        self.plugin.log.write(logging.WARNING, "Route %s: the answer has a header Status-Code: %s and the status %d: "
                              "bottle.HTTPResponse(body, status_code=%s) makes that header, since Bottle sends a "
                              "keyword it does not know as a header (status_code is Starlette's): write "
                              'bottle.HTTPResponse(body, status=%s), or set bottle.response.status = %s (said once '
                              'for this route)', what, code, self.code, code, code, code)


def _is_file(body: Any, environ: Mapping[str, Any]) -> bool:
    """True if Bottle's response body is a file it wrapped (left alone, so a server can send it its own way)."""
    wrapper = environ.get('wsgi.file_wrapper')
    return isinstance(body, bottle.WSGIFileWrapper) or (isinstance(wrapper, type) and isinstance(body, wrapper))


def _bound_environ() -> Optional[Dict[str, Any]]:
    """The environ of Bottle's ``request`` in this thread (None if Bottle never bound one here)."""
    try:
        return bottle.request.environ
    except RuntimeError:
        return None


#: A request's ``SCRIPT_NAME`` and ``PATH_INFO`` (None: absent).
_Path = Tuple[Optional[str], Optional[str]]


def _path_of(environ: Mapping[str, Any]) -> _Path:
    """The ``SCRIPT_NAME`` and ``PATH_INFO`` of ``environ`` now."""
    return environ.get('SCRIPT_NAME'), environ.get('PATH_INFO')


def _put_path(environ: Dict[str, Any], path: _Path) -> None:
    """Give ``environ`` the ``SCRIPT_NAME`` and ``PATH_INFO`` of ``path`` (``_path_of``) again."""
    for key, value in zip(('SCRIPT_NAME', 'PATH_INFO'), path):
        if value is None:  # (absent)
            environ.pop(key, None)
        else:
            environ[key] = value


class _StreamedBody:
    """A handler's generator, which the server iterates after canister's WSGI callable has returned.

    Each step runs with its request's context again (session, request id, thread name) and
    with the path the handler saw, an exception while streaming is logged, and session changes
    made after the response started are saved when the server closes the body (see
    ``SessionState.finish_late``).
    """

    def __init__(self, body: Any, context: _RequestContext, what: str) -> None:
        #: The chunks still to send (the handler's generator, after ``take_first`` a chain).
        self.body = iter(body)
        #: What the server closes: the generator, or any iterable with a ``close`` of its own.
        self.source = body
        #: The request the body belongs to.
        self.context = context
        #: The app's log.
        self.log = context.plugin.log
        #: The method and route (or path) that made the body, for the log.
        self.what = what
        #: The server took every chunk (the generator ran to its end).
        self.ended = False
        #: The environ the handler saw (Bottle's ``request``).
        self.environ = _bound_environ() or context.environ
        #: Its path then: the mount point of an app under Bottle's ``mount`` shifts it back when the app
        #: returns, before the later steps run (``_path_back``).
        self.path = _path_of(self.environ)
        context.streamed = True

    def take_first(self) -> None:
        """Run the handler to its first non-empty chunk now, as Bottle does before it starts the
        response: ``Canister._serve`` finishes the headers before Bottle sees the body, and what the
        handler did before its first ``yield`` (a new session, a login) must reach them."""
        taken: List[Any] = []
        try:
            while not taken or not taken[-1]:
                taken.append(self._run(next, self.body))
        except StopIteration:
            pass
        self.body = itertools.chain(taken, self.body)

    def __iter__(self) -> _StreamedBody:
        return self

    def __next__(self) -> Any:
        try:
            return self._run(next, self.body)
        except StopIteration:
            self.ended = True
            raise

    def close(self) -> None:
        """The server is done: end the handler's generator, then save what it changed."""
        self._run(self._close)

    def _close(self) -> None:
        close = getattr(self.source, 'close', None)
        if close is not None:
            close()
        context = self.context
        if context.replaced is not None or not 0 < context.code < 500:
            return  # an error response, or closed before the response started (HEAD, 204, 304): finish() saves
        self._log_end(context)
        try:
            problem = context.finish_late()
        except StoreUnavailable as error:  # (every stream meets it while it lasts: once a second, as at any save)
            self.log.write_repeated(logging.ERROR, 'Session not saved after the streamed response: %s'
                                    % _safe_text(error))
            return
        except SessionDataError as error:
            self.log.write(logging.ERROR, 'Session not saved after the streamed response: %s', error)
            context.keep_length()
            return
        if problem:
            self.log.write(logging.WARNING, 'Session: %s', problem)

    def _log_end(self, context: _RequestContext) -> None:
        """A WARNING for a stream the server closed before its end (the client went away), or for one
        slower in all than ``log_slow``: the response line went out with the headers, and timed only
        the first chunk."""
        if not context.started or context.error_logged or context.method == 'HEAD' or context.code in (204, 304):
            return  # (Bottle closes the body of those unread; an exception while streaming is logged already)
        elapsed = time.perf_counter() - context.started
        if not self.ended:
            self.log.write(logging.WARNING, 'Stream of %s cut after %dms: the server closed it before its end '
                           '(the client went away?)', self.what, elapsed * 1000)
        elif context.plugin.slow and elapsed >= context.plugin.slow:
            self.log.write(logging.WARNING, 'Slow stream of %s: %dms in all (its Response line timed the first '
                           'chunk)', self.what, elapsed * 1000)

    def _run(self, step: Callable[..., Any], *args: Any) -> Any:
        """One step of the body with its request's context (set again unless still inside the WSGI
        callable, where Bottle takes the first chunk); an exception is logged with its traceback."""
        context = self.context
        outer = _local.context
        again = outer is not context
        rejoined = self._rejoin(context) if again else None
        moved = self._path_back() if again else None
        _local.context = context
        try:
            return step(*args)
        except StopIteration:
            raise
        except Exception as error:
            self._log_failure(error, again)
            raise
        finally:
            if moved is not None:
                _put_path(self.environ, moved)
            if rejoined is not None:
                self._leave(*rejoined)
            _local.context = outer

    def _path_back(self) -> Optional[_Path]:
        """For a step after the WSGI callable returned: the path the handler saw, if the environ has
        another now (a mount point shifted it back); return the path to put back after the step."""
        now = _path_of(self.environ)
        if now == self.path:
            return None
        _put_path(self.environ, self.path)
        return now

    @staticmethod
    def _rejoin(context: _RequestContext) -> Tuple[Any, str]:
        """For a step after the WSGI callable returned: give the thread the request's name; return what
        ``_leave`` puts back.  (The body of a sub-request, which its caller reads, has its environ bound
        to Bottle's ``request`` by ``_HandedOnBody``.)"""
        thread = threading.current_thread() if context.thread is not None else None
        thread_name = thread.name if thread is not None else ''
        if thread is not None:
            thread.name = context.thread_name or thread_name
        return thread, thread_name

    @staticmethod
    def _leave(thread: Any, thread_name: str) -> None:
        """Undo ``_rejoin``: the thread's name as it was."""
        if thread is not None:
            thread.name = thread_name

    def _log_failure(self, error: Exception, started: bool) -> None:
        """Log the exception of a step with its traceback (called in its ``except`` clause).  A
        ``bottle.HTTPResponse`` (``abort``, ``redirect``) only once the response has ``started``: Bottle
        answers one raised in the first chunk, but after that nobody can."""
        context = self.context
        if not isinstance(error, bottle.HTTPResponse):
            self.log.write(logging.ERROR, 'Unhandled exception while streaming %s', self.what, exc_info=True)
        elif started:
            self.log.write(logging.ERROR, '%s raised while streaming %s, after the response started with %d: the '
                           'client gets that response cut short', type(error).__name__, self.what, context.code,
                           exc_info=True)
        else:
            return
        context.error_logged = True


###############################################################################
# The Plugin ##################################################################
###############################################################################

def _is_chunked_body(result: Any) -> bool:
    """True for a handler's result that the server iterates chunk by chunk after the handler returned, other
    than a generator (canister's route wrapper takes those): an iterable object of the app's own, with or without
    a ``close``, not text, bytes, a list, a mapping, a file or a response."""
    return (hasattr(result, '__iter__') and not hasattr(result, 'read')
            and not isinstance(result, (str, bytes, bytearray, list, tuple, dict, collections.abc.Mapping,
                                        bottle.BaseResponse, _StreamedBody, types.GeneratorType)))


def _bare_require_problem(route: bottle.Route) -> Optional[str]:
    """Why ``route`` can serve nothing, when its handler is the decorator ``canister.require`` returned for
    the handler itself (``@canister.require`` written without a predicate, which reads the handler as one);
    else None.  Routed, that decorator asks every client for a parameter ``callback``."""
    handler = getattr(route.callback, _GUARD_MAKER, None)
    if handler is None:
        return None
    return ('Route %s %s: @canister.require was written without a predicate, so it took the handler %s for one, '
            'and the route would call the decorator it returned: write @canister.require(lambda user: ...), or '
            '@canister.require_user for any logged-in user' % (route.method, route.rule,
                                                               getattr(handler, '__name__', repr(handler))))


def _route_problem(route: bottle.Route) -> Optional[str]:
    """Why canister refuses ``route``, written so that it would serve nothing or the wrong requests (a bare
    ``@canister.require``, Flask's ``methods=[...]``); else None.  (A filter the router lacks, Flask's
    ``<int:id>``, is the router's to find: ``_unknown_filter_problem`` says why it refused.)"""
    return _bare_require_problem(route) or _flask_methods_problem(route)


def _status_header_note(response: bottle.HTTPResponse) -> Optional[str]:
    """What to write instead, for an ``HTTPError`` (or ``HTTPResponse``) raised with Starlette's ``status_code=``
    (``HTTPException(status_code=404, detail=...)``), which Bottle takes for a header and answers 500 (200 for an
    ``HTTPResponse``); else None."""
    header = response.headers.get(_STATUS_CODE_HEADER)
    if header is None:
        return None
    code = _escape(header)[:20]
    return ("%s was raised with status_code=%s, Starlette's keyword, which Bottle sends as a header (Status-Code: "
            "%s) and answers %s: write bottle.abort(%s, '...') or bottle.HTTPError(%s, '...'), the status first and "
            "the text second (Starlette's detail= is a header too)"
            % (type(response).__name__, code, code, response.status_code, code, code))


class _ErrorHandlers(Dict[int, Callable[..., Any]]):
    """``app.error_handler`` while canister is installed: a dict returned by an error handler of the app
    (``@app.error(404)``, Flask's habit) is sent as JSON, as Bottle's JSON plugin sends a route's; Bottle
    itself would send the dict's keys run together as an HTML page.  Only Bottle's lookup of a handler
    (an error answer) goes through here."""

    def __init__(self, handlers: Mapping[int, Callable[..., Any]], app: bottle.Bottle) -> None:
        super().__init__(handlers)
        #: The app, whose JSON plugin (if it still has one) turns the dict into text.
        self.app = app

    def get(self, code: Any, default: Any = None) -> Any:
        """The app's handler for ``code``, made to send a dict as JSON; ``default`` if it has none."""
        handler = dict.get(self, code)
        if handler is None:
            return default
        return functools.partial(self._answer, handler)

    def _answer(self, handler: Callable[..., Any], error: bottle.HTTPError) -> Any:
        """What ``handler`` answers to ``error``, a dict turned into JSON."""
        context = _local.context
        if context is not None:  # as canister's own page does: what lies behind a 500, once
            context.log_error_page(error)
        result = _page_answer(handler, error)
        if isinstance(result, dict):
            dumps = next((plugin.json_dumps for plugin in self.app.plugins
                          if isinstance(plugin, bottle.JSONPlugin) and plugin.json_dumps), None)
            if dumps is not None:
                bottle.response.content_type = 'application/json'
                return dumps(result)
        return result


def _own_challenges(error: bottle.HTTPError) -> List[str]:
    """The challenges (``WWW-Authenticate``) of an error canister answers (``_OwnError``); none of another."""
    return list(error.headers.getall('WWW-Authenticate')) if isinstance(error, _OwnError) else []


def _page_answer(page: Callable[[bottle.HTTPError], Any], error: bottle.HTTPError) -> Any:
    """What an app's error page ``page`` answers to ``error``, canister's challenges taken off an answer the page
    gave another status (``_drop_challenges``)."""
    challenges = _own_challenges(error)
    result = page(error)
    if challenges and bottle.response.status_code != 401:
        _drop_challenges(challenges)
    return result


def _drop_challenges(challenges: List[str]) -> None:
    """Take canister's ``challenges`` off the answer an app's error handler made of its 401 with another status
    (a redirect to the login form): a challenge asks for credentials on a 401 only.  A ``WWW-Authenticate``
    the handler set itself stays."""
    kept = [value for value in bottle.response.headers.getall('WWW-Authenticate') if value not in challenges]
    bottle.response.headers.pop('WWW-Authenticate', None)
    for value in kept:
        bottle.response.add_header('WWW-Authenticate', value)


#: What Bottle's thread-local ``response`` holds (``LocalResponse``, bottle 0.12 and 0.13).
_RESPONSE_SLOTS = ('_status_line', '_status_code', '_cookies', '_headers', 'body')


def _response_slots() -> List[Any]:
    """What Bottle's ``response`` holds in this thread now."""
    return [getattr(bottle.response, name) for name in _RESPONSE_SLOTS]


def _put_response_slots(slots: List[Any]) -> None:
    """Make Bottle's ``response`` in this thread hold ``slots`` (from ``_response_slots``)."""
    for name, value in zip(_RESPONSE_SLOTS, slots):
        setattr(bottle.response, name, value)


def _callers_start_response(start_response: Callable[..., Any], outer: _RequestContext, environ: Dict[str, Any],
                            response: List[Any]) -> Callable[..., Any]:
    """The ``start_response`` to give a sub-request: the caller's, run in the calling request (its context,
    and Bottle's ``request`` and ``response``), so what it sets on ``bottle.response`` (the status, the
    other app's cookies) is the caller's response, whose slots ``response`` keeps."""
    def in_caller(*args: Any) -> Any:
        inner, inner_environ, inner_response = _local.context, _bound_environ(), _response_slots()
        _local.context = outer
        bottle.request.bind(environ)
        _put_response_slots(response)
        try:
            return start_response(*args)
        finally:
            response[:] = _response_slots()
            _put_response_slots(inner_response)
            if inner_environ is not None:
                bottle.request.bind(inner_environ)
            _local.context = inner
    return in_caller


def _mounted_in(outer: _RequestContext, environ: Mapping[str, Any]) -> bool:
    """Whether the request ``environ`` reaching an app's WSGI callable while ``outer`` is served is
    ``outer``'s request passed on to an app mounted under Bottle's ``mount`` (the same environ, or a
    copy that a WSGI wrapper between the two made, which carries the request's id); else it is a
    request of its own that a handler made (a sub-request)."""
    if outer.environ is not environ and environ.get('canister.request_id') != outer.request_id:
        return False
    route = environ.get('bottle.route')  # (the route being served: the mount point's, or the caller's)
    return route is not None and 'mountpoint.target' in route.config  # (Bottle's mount point: both versions flatten)


def _sub_request_environ(environ: Dict[str, Any], caller: Dict[str, Any]) -> Dict[str, Any]:
    """The environ to serve a sub-request on: a copy of the caller's own, handed on (Bottle and canister
    write the request's state into its environ), with a path that Bottle decoded already in its WSGI
    form again (the inner app's Bottle decodes it)."""
    if environ is caller:
        environ = dict(environ)
    path = environ.get('PATH_INFO')
    if (path and 'bottle.raw_path' in environ and not path.isascii()
            and (path == caller.get('PATH_INFO') or not _in_wsgi_form(path))):  # (the caller's: decoded for sure)
        environ['PATH_INFO'] = path.encode('utf-8', 'surrogatepass').decode('latin-1')
    return environ


#: What tells how much of the stream is the body: a sub-request handed another reads another body.
_BODY_LENGTH_KEYS = ('CONTENT_LENGTH', 'HTTP_TRANSFER_ENCODING')


class _KeptInput(_ReadStream):
    """The caller's body stream, unread, handed on to a sub-request: what the other app reads of it is
    kept, so that the caller still reads its whole body after the call (``give_back``), also when that
    app stopped part-way (its own ``max_body_size``, a handler that reads a part itself)."""

    def __init__(self, caller: Dict[str, Any], same_length: bool) -> None:
        #: The caller's environ.
        self.caller = caller
        #: The caller's stream.
        self.stream = caller['wsgi.input']
        #: The other app was handed the caller's length too: the body Bottle reads for it is the caller's.
        self.same_length = same_length
        #: The bytes read so far (None before the first).
        self.kept: Optional[typing.IO[bytes]] = None
        #: How many.
        self.size = 0

    def _keep(self, data: bytes) -> bytes:
        if data:
            if self.kept is None:
                self.kept = tempfile.SpooledTemporaryFile(max_size=bottle.BaseRequest.MEMFILE_MAX)
            self.kept.seek(0, 2)
            self.kept.write(data)
            self.size += len(data)
        return data

    def read(self, *size: Any) -> bytes:
        return self._keep(self.stream.read(*size))

    def readline(self, *size: Any) -> bytes:
        return self._keep(self.stream.readline(*size))

    def read1(self, *size: Any) -> bytes:
        return self._keep(self.stream.read1(*size))

    def readinto(self, buffer: Any) -> Optional[int]:
        count = self.stream.readinto(buffer)
        if count:
            self._keep(memoryview(buffer).cast('B')[:count].tobytes())
        return count

    def readlines(self, *hint: Any) -> List[bytes]:
        lines: List[bytes] = self.stream.readlines(*hint)
        self._keep(b''.join(lines))
        return lines

    def give_back(self, inner: Mapping[str, Any]) -> None:
        """Give the caller the body Bottle read for the sub-request (``inner``'s environ), as Bottle would
        have read it for the caller; or, if the other app read less or another length, its stream again:
        the bytes read, then the rest."""
        caller = self.caller
        if 'bottle.request.body' in caller:
            return
        body = inner.get('bottle.request.body') if self.same_length else None
        if body is not None:
            caller['bottle.request.body'] = caller['wsgi.input'] = body
            if self.kept is not None:  # (the body holds all of it: the copy, maybe a file on disk, now)
                self.kept.close()
                self.kept = None
        elif self.size and caller.get('wsgi.input') is self.stream:
            caller['wsgi.input'] = _ReplayedInput(self)


class _ReplayedInput(_ReadStream):
    """The caller's body stream after a sub-request read part of it (``_KeptInput``): those bytes again,
    then the rest of the stream."""

    def __init__(self, source: _KeptInput) -> None:
        #: What the sub-request read, and the stream.
        self.source = source
        #: How many of the kept bytes were read again.
        self.offset = 0

    def _again(self, size: int, line: bool = False) -> bytes:
        """Up to ``size`` (-1: all) of the kept bytes not read again yet (``line``: up to a newline)."""
        kept = self.source.kept
        if kept is None or self.offset >= self.source.size:
            return b''
        kept.seek(self.offset)
        data = kept.readline(size) if line else kept.read(size)
        self.offset += len(data)
        return data

    def read(self, size: Optional[int] = -1) -> bytes:
        stream = self.source.stream
        if size is None or size < 0:
            return self._again(-1) + stream.read()
        data = self._again(size)
        # the rest from the stream: Bottle takes a short read of a chunk's end (CRLF) for a broken body
        return data + stream.read(size - len(data)) if len(data) < size else data

    def readline(self, size: Optional[int] = -1) -> bytes:
        limit = -1 if size is None or size < 0 else size
        line = self._again(limit, line=True)
        if line.endswith(b'\n') or 0 <= limit <= len(line):
            return line
        return line + self.source.stream.readline(limit if limit < 0 else limit - len(line))

    def read1(self, size: Optional[int] = -1) -> bytes:
        limit = -1 if size is None or size < 0 else size
        return self._again(limit) or self.source.stream.read1(limit)

    @property
    def stream(self) -> Any:
        """The caller's stream, which the kept bytes came from."""
        return self.source.stream


class _HandedOnBody:
    """The streamed body of a request handed on to another app (a sub-request, or the request served
    to a mounted app), read after that app returned: each step, and the close, runs with Bottle's
    ``request`` bound to that request's environ, then to the one bound before."""

    def __init__(self, body: Iterable[bytes], environ: Dict[str, Any], kept: Optional[_KeptInput]) -> None:
        #: What the app returned.
        self.body = body
        #: Its chunks still to send.
        self.chunks = iter(body)
        #: The environ of the request handed on.
        self.environ = environ
        #: The caller's body stream, when a sub-request may read it (``_KeptInput.give_back``).
        self.kept = kept

    def __iter__(self) -> _HandedOnBody:
        return self

    def __next__(self) -> bytes:
        return self._run(next, self.chunks)

    def close(self) -> None:
        """End the body (a streamed request's session is saved then)."""
        close = getattr(self.body, 'close', None)
        if close is not None:
            self._run(close)

    def _run(self, step: Callable[..., Any], *args: Any) -> Any:
        bound = _bound_environ()
        bottle.request.bind(self.environ)
        try:
            return step(*args)
        finally:
            if bound is not None:
                bottle.request.bind(bound)
            if self.kept is not None:
                self.kept.give_back(self.environ)


class _MountedBody(_HandedOnBody):
    """The streamed body of an app mounted under Bottle's ``mount``, which the server reads after the mount
    point has shifted the path back: each step runs with the environ's ``SCRIPT_NAME`` and ``PATH_INFO``
    as the app saw them, then as they were."""

    def __init__(self, body: Iterable[bytes], environ: Dict[str, Any]) -> None:
        super().__init__(body, environ, None)
        #: The path as the mounted app saw it.
        self.path = _path_of(environ)

    def _run(self, step: Callable[..., Any], *args: Any) -> Any:
        outside = _path_of(self.environ)
        _put_path(self.environ, self.path)
        try:
            return super()._run(step, *args)
        finally:
            _put_path(self.environ, outside)


def _mount_point_path(router: Any, environ: Mapping[str, Any]) -> Optional[_Path]:
    """The ``SCRIPT_NAME`` and ``PATH_INFO`` that an app mounted as a WSGI app under Bottle's ``mount`` saw,
    when the mount point of ``router`` serves the request of ``environ`` (which has the path it shifted back);
    None if a route of the app's own serves it."""
    try:
        route, _ = router.match({'REQUEST_METHOD': environ.get('REQUEST_METHOD', 'GET'),
                                 'PATH_INFO': environ.get('PATH_INFO') or '/'})
    except Exception:  # (Bottle's 404 or 405, or a route filter that fails on this path)
        return None
    prefix = route.config.get('mountpoint.prefix')
    if not isinstance(prefix, str):
        return None
    depth = len([segment for segment in prefix.split('/') if segment])
    return bottle.path_shift(environ.get('SCRIPT_NAME', '/'), environ.get('PATH_INFO', '/'), depth)


def _settings_not_store(given: Any) -> str:
    """What ``Canister(given)`` says of settings given where a store object goes: a dict, a file's name or a URL
    (never the dict itself, which may hold a password)."""
    if isinstance(given, Mapping):
        return ('Canister() takes its settings as keyword arguments, not a dict: Canister(**settings), or '
                'app.config.load_dict({\'canister\': settings}) before app.install(canister.Canister()); its one '
                'positional argument is a session store object')
    return ('Canister() takes no file or URL as its argument: a file of settings goes to '
            'app.config.load_config(\'app.ini\') before app.install(canister.Canister()), a store URL to '
            'Canister(session_store=\'sqlite:///sessions.db\'); its one positional argument is a session store object')


class _FirstCall:
    """A route's ``call`` until its first call, which runs ``note(route)`` once and then the call Bottle
    makes (Bottle makes a route's ``call`` at its first call and keeps it, until ``route.reset()``)."""

    #: One stand-in per route of another app, made once: no ``__dict__``.
    __slots__ = ('route', 'note', 'kept', 'unclaimed')

    def __init__(self, route: bottle.Route, note: Callable[[bottle.Route], Any]) -> None:
        #: The route whose ``call`` this stands in for.
        self.route = route
        #: What to run at the route's first call, given the route.
        self.note = note
        #: The call Bottle made already, if it did (a route added in Bottle's debug mode), put back first.
        self.kept = route.__dict__.get('call')
        #: One item until a call claims it: a ``pop`` is atomic, so of two first calls at once one notes.
        self.unclaimed: typing.List[None] = [None]
        route.__dict__['call'] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        route = self.route
        if route.__dict__.get('call') is self:
            if self.kept is None:
                route.__dict__.pop('call', None)
            else:
                route.__dict__['call'] = self.kept
        try:
            self.unclaimed.pop()
        except IndexError:
            pass
        else:
            self.note(route)
        return route.call(*args, **kwargs)


class _SkippedRouteCall:
    """The ``call`` of a route of canister's app that skips it (``skip=['canister']``): the guards of a ``require``
    written above its route decorator, which canister's route wrapper runs on the other routes, run here, looked
    for at its first call (with a WARNING then).  It takes the route's ``reset`` too: Bottle's would drop it, and
    the route would answer everyone until the app's next reset, where a reset of another route re-applies canister."""

    #: One per skipped route: no ``__dict__``.
    __slots__ = ('route', 'plugin', 'call', 'guards', 'lock')

    def __init__(self, route: bottle.Route, plugin: Any) -> None:
        #: The route whose ``call`` this is.
        self.route = route
        #: The canister of the route's app.
        self.plugin = plugin
        #: The call Bottle makes (its plugins applied), made at the first call.
        self.call: Optional[Callable[..., Any]] = None
        #: The checks written above the route decorator, outermost first (None until the first call).
        self.guards: Optional[Tuple[Callable[[], None], ...]] = None
        #: Held by the first call while it looks (a request at the same time waits, and is guarded too).
        self.lock = threading.Lock()
        route.__dict__['call'] = self
        route.__dict__['reset'] = self.reset

    def reset(self) -> None:
        """``route.reset()``: Bottle's (the plugins applied again at the next call), then a new stand-in if the
        route still skips the canister of its app (its guards looked for again)."""
        route = self.route
        route.__dict__.pop('reset', None)
        route.reset()
        if self.plugin.app is route.app:  # (not after an uninstall, whose reset of the app comes last)
            self.plugin._watch_other_apps_route(route)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.guards is None:
            with self.lock:
                if self.guards is None:
                    self.call = self.route._make_callback()
                    self.guards = self.plugin._guards_above_skipped_route(self.route)
        if _local.context is None and self.plugin.app is self.route.app:
            # canister's WSGI callable did not run (the app is merged or mounted into another): do its work here,
            # as the route wrapper does on the other routes (its CSRF check, log lines and headers)
            return self.plugin._serve(self._served, self.route, args, kwargs)
        if self.guards:
            _run_guards(self.guards)
        return typing.cast(Callable[..., Any], self.call)(*args, **kwargs)

    def _served(self, *args: Any, **kwargs: Any) -> Any:
        """The call in the request ``Canister._serve`` begins: an exception logged, a generator's chunks given
        their request, as by the route wrapper (whose work around the call is left out: the route skips it)."""
        context = _local.context
        what = '%s %s' % (self.route.method, self.route.rule)
        try:
            if self.guards:
                _run_guards(self.guards)
            result = typing.cast(Callable[..., Any], self.call)(*args, **kwargs)
        except Exception as error:
            answer = self.plugin._handler_raised(error, context, self.route)
            if answer is None:
                raise
            raise answer from None
        if type(result) is types.GeneratorType:
            return _StreamedBody(result, context, what)
        return result


#: What canister 1.x's plugin had that 2.0's lacks, and what to use instead: the AttributeError says.
_PLUGIN_1X_NOTE = {
    'auth_basic': "canister 1.x's auth_basic is gone: canister checks Basic itself, configured by the "
                  'auth_basic_* keys; session.user is who logged in, and canister.log_in(name, password) checks a '
                  "form's password against the same users",
    'auth_jwt': "canister 1.x's auth_jwt is gone: canister checks Bearer tokens itself, configured by the "
                "auth_jwt_* keys; session.user holds the token's claims",
}


#: The settings of a canister that serve the requests of its app only where that app's WSGI entry is the request's:
#: those of a child app mounted or merged into an app with a canister are the parent's.  The others are the
#: child's canister's own (its ``auth_*``: it checks the logins on its routes), or have no effect (``debug``).
_SERVED_WITH_THE_ENTRYS_SETTINGS = tuple(key for key in KEYS if not key.startswith('auth_') and key != 'debug')


class Canister:
    """The Bottle plugin: ``app.install(Canister())``.

    Keyword arguments override the ``canister.*`` config keys of the app; ``store``
    may be a :class:`SessionStore` instance to keep sessions elsewhere.
    """

    #: Bottle's name for the plugin (``app.uninstall('canister')``).
    name = 'canister'
    #: The Bottle plugin API it implements.
    api = 2

    def __init__(self, store: Optional[SessionStore] = None, **overrides: Any) -> None:
        if isinstance(store, bottle.Bottle) or isinstance(overrides.get('app'), bottle.Bottle):
            # the habit of Flask's extensions, CORS(app): the app would run without canister, without a word
            raise TypeError('Canister() takes no app: install it on the app with app.install(canister.Canister())')
        if isinstance(store, (Mapping, str, bytes, os.PathLike)) and not callable(getattr(store, 'load', None)):
            raise TypeError(_settings_not_store(store))  # (taken for a store, it failed at install, dict and all)
        #: The keyword arguments given: config keys, which win over the app's ``canister.*``.
        self.overrides = overrides
        #: The store given as ``Canister(store=...)`` (None: the configured one).
        self.custom_store = store
        #: The app it is installed on (None before ``setup`` and after ``close``).
        self.app: Optional[bottle.Bottle] = None
        #: The config read at install.
        self.config: Optional[Config] = None
        #: ``error_format = json``: every error answer's body is JSON, whatever the client's ``Accept`` (``_wants_json``).
        self.json_errors = False
        #: The login checks, made at install.
        self.authenticator: Optional[Authenticator] = None
        #: The same, or None when no ``Authorization`` scheme is configured (routes then skip it).
        self.auth: Optional[Authenticator] = None
        #: Basic's look at its users file, made before each route's handler (None: no users file).
        self.watch_users: Optional[Callable[[], None]] = None
        #: The routes whose writing the log has looked at (``_note_foreign_routes``), and how many of the app's.
        self._foreign_routes_noted: typing.Set[bottle.Route] = set()
        #: How many of the app's routes ``_look_at_new_routes`` has looked at.
        self._routes_looked_at = 0
        #: The routes of Bottle's default app whose path answered 404 here, logged once each (``_note_default_app_route``).
        self._default_app_routes_noted: typing.Set[bottle.Route] = set()
        #: The routes of other apps served here whose parameters ``_note_unbound_route`` looked at, each once.
        self._other_apps_routes_looked_at: typing.Set[bottle.Route] = set()
        #: The child apps with a canister of their own whose settings ``_note_childs_own_settings`` compared with
        #: this one's, each once: app -> the token of the call that did.
        self._children_compared: Dict[bottle.Bottle, object] = {}
        #: The routes of the app that skip canister whose guards written above their decorator were logged, each once.
        self._skipped_routes_warned: typing.Set[bottle.Route] = set()
        #: The plugins that wrap canister's wrapper are yet to be looked at (``_note_outer_plugins``).
        self._outer_plugins_unnoted = True
        #: The routes whose answer with a ``Status-Code`` header was logged, each once, raised or returned: each
        #: route -> the token of the request that noted it first (``status_header_unsaid``).
        self.status_header_noted: Dict[Any, object] = {}

    if not typing.TYPE_CHECKING:  # (seen by mypy, they would be valid attributes)
        #: canister 1.x's authenticators: reading one says what to use instead.
        auth_basic = _Gone(_PLUGIN_1X_NOTE['auth_basic'])
        auth_jwt = _Gone(_PLUGIN_1X_NOTE['auth_jwt'])
        __dir__ = _dir_without_gone

    # -- install -----------------------------------------------------------
    def _warn_of_lost_keywords(self, replaced: Canister) -> None:
        """Warn when the Canister() this one replaces had keyword settings this one lacks: installed twice by
        mistake (a second ``app.install(canister.Canister())`` left in), the app would lose them without a word."""
        lost = sorted(key for key, value in replaced.overrides.items()
                      if key not in self.overrides or self.overrides[key] != value)
        if lost:
            note = ('The Canister() installed on this app before was given keyword arguments that this one, which '
                    'replaces it, does not repeat: %s; install one Canister() per app, with all of its keywords'
                    % ', '.join(lost))
            self.log.write(logging.WARNING, '%s', note)
            _warn_at_install(note)

    def setup(self, app: Optional[bottle.Bottle] = None) -> None:
        """Parse and check the config, open the log and the store, wrap the app's WSGI callable."""
        if not isinstance(self, Canister) or app is None:  # app.install(canister.Canister): the class itself
            raise TypeError('install a Canister object, not the class: app.install(canister.Canister())')
        if self.app is not None and self.app is not app:
            raise CanisterError('this Canister() is installed on another app already: install a Canister() of '
                                'its own on each app (its WSGI callable, log and settings belong to one app)')
        replaced = self._uninstall_others(app)
        config = self.config = Config.from_app(app.config, self.overrides)
        self.proxies = _Proxies(config['trusted_proxies'])
        self.has_proxies = bool(self.proxies)
        self.log = RequestLog(app, config)
        if replaced is not None:  # (close() leaves a store given as Canister(store=...) open: it is the app's)
            self.log.write(logging.INFO, 'This Canister() replaces the one installed on this app before, which is '
                           'uninstalled: %s', 'its session store is closed (sessions in a memory store end)'
                           if replaced.custom_store is None else 'its store, given as Canister(store=...), is left open')
            self._warn_of_lost_keywords(replaced)
        try:
            self._set_up_parts(app, config)
        except Exception as error:
            self.log.write(logging.ERROR, 'Install failed: %s', _mask_urls(_safe_text(error)))
            self.close()
            raise
        self.slow = config['log_slow']
        self.json_errors = config['error_format'] == 'json'
        self.app = app
        self._inner = app.wsgi
        app.__dict__['wsgi'] = self.wsgi  # bottle 0.13 refuses plain assignment of existing names
        self._take_error_pages(app)
        self._take_add_route(app)
        app.__dict__['log'] = self.log.logger
        #: The app's ``canister.*`` keys as read here, and those said since to have been set too late.
        self._installed_keys = {key: value for key, value in app.config.items() if _is_canister_key(key)}
        self._late_keys: typing.Set[str] = set()
        app.add_hook('config', self._config_changed)
        app.add_hook('app_reset', self._watch_other_apps_routes)  # (Bottle resets the app after the install too)

    def _refuse_route(self, route: bottle.Route) -> bottle.Bottle:
        """The app of a route canister can serve; :class:`CanisterError` for one it cannot (Bottle's 500 at the
        route's first request): a Canister() given to the route, one ``_route_problem`` refuses (added before the
        install), or an ``async def`` handler."""
        app = self.app
        if app is None or route.app is not app:  # (given to a route, apply=[Canister()]: its setup never ran)
            raise CanisterError('canister: a Canister() is installed on an app (app.install(canister.Canister())), '
                                'not given to one route: it serves the requests of the whole app')
        problem = _route_problem(route)
        if problem is not None:
            raise CanisterError('canister: %s' % problem)
        handler = _innermost(route.callback)
        if inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler):  # Starlette's habit
            raise CanisterError('canister: the handler of %s %s is an async def, which Bottle, a WSGI framework, '
                                'calls without ever running its body; write it as a plain def (a blocking call in it '
                                'holds its thread only, or its greenlet under gevent)' % (route.method, route.rule))
        return app

    def _note_foreign_routes(self, routes: Iterable[bottle.Route]) -> None:
        """Log once a WARNING for each of ``routes`` written as in another framework, which Bottle takes
        without a word: a ``{name}`` placeholder of Starlette and FastAPI (to Bottle, text that only the
        literal path matches: every other path answers 404)."""
        for route in routes:
            if route in self._foreign_routes_noted:
                continue
            self._foreign_routes_noted.add(route)
            placeholder = _BRACED_PLACEHOLDER.search(route.rule)
            if placeholder:
                self.log.write(logging.WARNING, "Route %s %s has the placeholder %s of Starlette and FastAPI, which is "
                               "text to Bottle, matched by that very path only (404 to every other): write <%s> "
                               "(Bottle's and Flask's), with an annotation on the handler's parameter to convert it",
                               route.method, route.rule, placeholder.group(0), placeholder.group(1))

    def _watch_other_apps_route(self, route: bottle.Route, prefix: str = '') -> None:
        """Have ``_note_unbound_route`` look, at its first call, at a route of another app that this app serves
        (merged, or mounted on bottle 0.13), or at each route of a Bottle app mounted through a mount point
        (bottle 0.12, and 0.13 for a prefix without the trailing ``/``).  Bottle makes a route's ``call`` at its
        first call and keeps it (until ``route.reset()``, as installing a plugin on the child does): a stand-in
        takes its place until then, so no request pays for the look but the first."""
        if route in self._other_apps_routes_looked_at or isinstance(route.__dict__.get('call'), _FirstCall):
            return
        target = route.config.get('mountpoint.target')
        if isinstance(target, bottle.Bottle):
            prefix = '/' + str(route.config.get('mountpoint.prefix', '')).strip('/')
            if target.routes:
                self._note_childs_canister(target.routes[0], prefix)
            _FirstCall(route, lambda mount_point: self._watch_children(target, prefix))
        elif route.app is not self.app:
            self._note_childs_canister(route, prefix)
            _FirstCall(route, lambda served: self._note_unbound_route(served, prefix))
        elif self not in route.all_plugins() and not isinstance(route.__dict__.get('call'), _SkippedRouteCall):
            _SkippedRouteCall(route, self)

    def _guards_above_skipped_route(self, route: bottle.Route) -> Tuple[Callable[[], None], ...]:
        """The checks of a ``require`` written above the route decorator of a route of the app that skips
        canister, said in a WARNING (once per route): at its first call, as for the other routes."""
        if self.app is None or route.app is not self.app:
            return ()
        late = tuple(_unenforced_checks(route, self.app.routes))
        if late and route not in self._skipped_routes_warned:
            self._skipped_routes_warned.add(route)
            self.log.write(logging.WARNING, 'Route %s %s skips canister, and @canister.require or '
                           '@canister.require_user is written above its route decorator, where it guards nothing: '
                           'canister applies it here, but put it below the route decorator', route.method,
                           route.rule)
        return late

    def _watch_children(self, child: bottle.Bottle, prefix: str) -> None:
        """``_watch_other_apps_route`` for each route of a child mounted at ``prefix`` through a mount point."""
        for route in child.routes:
            self._watch_other_apps_route(route, prefix)

    def _watch_other_apps_routes(self) -> None:
        """``_watch_other_apps_route`` for each of the app's routes: at the install and after every reset of the
        app (Bottle's ``app_reset`` hook), which drops the routes' ``call``."""
        if self.app is not None:
            for route in self.app.routes:
                self._watch_other_apps_route(route)

    def _note_unbound_route(self, route: bottle.Route, prefix: str) -> None:
        """Log once a WARNING for a route of a child app without canister whose handler takes parameters that
        canister would fill from the request: Bottle calls it without them, so each keeps its default whatever
        the request sends (or the call fails).  ``prefix``: the mount point's, where the child routes itself."""
        self._other_apps_routes_looked_at.add(route)
        if self.app is None:
            return  # (uninstalled since)
        if self._note_childs_canister(route, prefix):  # the child's own canister binds them
            return
        try:
            binder = ParameterBinder(route.callback, route.rule, self._injected_names(route))
        except Exception:  # (a callable without a signature, or one canister would refuse: nothing to say here)
            return
        names = [param.name for param in binder.params]
        if names:
            self.log.write(logging.WARNING, 'Route %s %s is of a child app mounted or merged into this one without '
                           'canister, so its handler is called without the parameters canister fills from the '
                           'request (%s): whatever the request sends, each keeps its default (one without a default '
                           'fails the call); install canister on the child app too', route.method,
                           prefix.rstrip('/') + route.rule, ', '.join(names))

    def _note_childs_canister(self, route: bottle.Route, prefix: str) -> bool:
        """``_note_childs_own_settings`` where the app of ``route``, a child's route this app serves (mounted or
        merged), has a canister: at the mount or merge, or at the install for a child put in before, so that the
        WARNING comes at startup (for a canister the child gets later, at a route's first request).  Whether it has."""
        own = [plugin for plugin in route.app.plugins if isinstance(plugin, Canister)]
        if own:
            self._note_childs_own_settings(own[0], route, prefix)
        return bool(own)

    def _note_childs_own_settings(self, child: Canister, route: bottle.Route, prefix: str) -> None:
        """Log once for each child app that has a canister of its own (at the mount or merge, see
        ``_note_childs_canister``, else at the first request of one of its routes)
        a WARNING naming the settings that canister was given that differ from this one's and do not apply: this
        canister serves the child's requests with its own ("On both" in the README); the child's binds its
        handlers' arguments and checks logins, with its ``auth_*`` settings."""
        token = object()
        if child.config is None or self.config is None or self._children_compared.setdefault(route.app, token) \
                is not token:
            return  # (uninstalled; or said already, maybe by another thread at the same time)
        differ = self._settings_not_applied(child)
        if not differ:
            return
        store = {'session_store', 'store'} & set(differ)
        self.log.write(logging.WARNING, "A child app mounted or merged into this one has a canister of its own, whose "
                       "settings do not apply here: this app's canister serves the requests of the child (its routes, "
                       "such as %s %s) with its own settings, which differ from the child's in: %s%s; set them on the "
                       "canister of this app, or mount the child into a Bottle app without canister", route.method,
                       prefix.rstrip('/') + route.rule, ', '.join(differ),
                       " (the child's session store is opened all the same, and keeps none of their sessions)"
                       if store else '')

    def _settings_not_applied(self, child: Canister) -> List[str]:
        """The settings the canister of a child app served here was given (keyword arguments, the child app's
        ``canister.*`` keys, ``Canister(store=...)``) that differ from this one's and do not apply, in order."""
        given = {str(key)[len('canister.'):].lower() for key in child._installed_keys} | set(child.overrides)
        config, own = typing.cast(Config, child.config), typing.cast(Config, self.config)
        differ = [key for key in _SERVED_WITH_THE_ENTRYS_SETTINGS if key in given and config[key] != own[key]]
        if child.custom_store is not None and child.custom_store is not self.custom_store:
            differ.append('store')
        return sorted(differ)

    def _look_at_new_routes(self) -> None:
        """``_note_foreign_routes`` for the app's routes added since the last look (so a bot's 404s cost no more)."""
        if self.app is not None and len(self.app.routes) > self._routes_looked_at:
            self._routes_looked_at = len(self.app.routes)
            self._note_foreign_routes(self.app.routes)

    def _note_default_app_route(self) -> None:
        """Log once a WARNING for a 404 whose path a route of Bottle's default app takes: one added with
        ``bottle.get`` (or ``@get`` imported from bottle) beside ``app = bottle.Bottle()``, as the 1.x docs wrote
        it, is on an app that nobody serves here, and Bottle answers its path 404 without a word.  Not for an app
        mounted on the default app (``bottle.mount``, bottle 0.12): that one is served, its routes answer."""
        default = bottle.default_app()
        if default is self.app or not default.routes:
            return
        environ = bottle.request.environ
        outer = environ.get('bottle.route')  # (the mount's route, when the request came through another app)
        if outer is not None and outer.app is default:
            return
        try:
            route = default.router.match(environ)[0]
        except Exception:  # (Bottle's 404 or 405 there too: nothing of the kind)
            return
        if route not in self._default_app_routes_noted:
            self._default_app_routes_noted.add(route)
            self.log.write(logging.WARNING, "Route %s %s is on Bottle's default app (added with bottle.route or "
                           "bottle.get, or @get imported from bottle), not on the app canister is installed on, so "
                           "this app answers its path 404: add it with @app.get or @app.route",
                           route.method, route.rule)

    def _take_error_pages(self, app: bottle.Bottle) -> None:
        """Answer the errors the app has no handler for (``_error_page``), and send the dict an error
        handler of the app returns as JSON (``_ErrorHandlers``); ``_give_error_pages_back`` undoes both."""
        #: What ``app.default_error_handler`` was before (Bottle's method, unless another plugin set one):
        #: the page of a client that does not ask for JSON, and what ``close`` puts back.
        self._bottle_error_page = app.default_error_handler
        self._replaced_error_page = app.__dict__.get('default_error_handler')
        app.__dict__['default_error_handler'] = self._error_page
        if type(app.error_handler) is dict:
            app.__dict__['error_handler'] = _ErrorHandlers(app.error_handler, app)

    def _take_add_route(self, app: bottle.Bottle) -> None:
        """Route every route added to the app from now on through ``_add_route``; ``_give_add_route_back`` undoes it."""
        #: The app's ``add_route`` before (Bottle's method, unless another plugin set one), which ``_add_route`` calls.
        self._bottle_add_route = app.add_route
        self._replaced_add_route = app.__dict__.get('add_route')
        app.__dict__['add_route'] = self._add_route

    def _add_route(self, route: bottle.Route) -> None:
        """The app's ``add_route`` while canister is installed: a route ``_route_problem`` refuses (Flask's
        ``methods=[...]``), or whose filter the router lacks (Flask's ``<int:id>``, Bottle's bare ``KeyError``),
        is a :class:`CanisterError` naming it and what to write, and is left out of ``app.routes``.  After the
        uninstall (another plugin that wrapped this may still call it), Bottle's alone."""
        app = self.app
        if app is None:
            self._bottle_add_route(route)
            return
        problem = _route_problem(route)
        if problem is not None:
            raise CanisterError('canister: %s' % problem)
        try:
            self._bottle_add_route(route)
        except KeyError:
            problem = _unknown_filter_problem(route, app.router.filters)
            if problem is None:
                raise
            if route in app.routes:  # (Bottle appends the route before its router refuses it)
                app.routes.remove(route)
            raise CanisterError('canister: %s' % problem) from None
        self._watch_other_apps_route(route)

    def _give_add_route_back(self, app: bottle.Bottle) -> None:
        """Undo ``_take_add_route`` (at uninstall)."""
        if app.__dict__.get('add_route') == self._add_route:
            if self._replaced_add_route is None:
                del app.__dict__['add_route']
            else:
                app.__dict__['add_route'] = self._replaced_add_route

    def _give_error_pages_back(self, app: bottle.Bottle) -> None:
        """Undo ``_take_error_pages`` (at uninstall)."""
        if app.__dict__.get('default_error_handler') == self._error_page:
            if self._replaced_error_page is None:
                del app.__dict__['default_error_handler']
            else:
                app.__dict__['default_error_handler'] = self._replaced_error_page
        if type(app.error_handler) is _ErrorHandlers:
            app.__dict__['error_handler'] = dict(app.error_handler)

    def _config_changed(self, *args: Any) -> None:
        """Bottle's ``config`` hook (bottle 0.12 passes the key and the value, 0.13 the config first):
        say once per key, in the log and at the app's line, that a ``canister.*`` key set after
        install has no effect (the config is read once, at install; a key a keyword argument of ``Canister()``
        sets, none at any install)."""
        key, value = str(args[-2]), args[-1]
        if not _is_canister_key(key) or key in self._late_keys:
            return
        if key in self._installed_keys:
            try:
                if self._installed_keys[key] is value or bool(self._installed_keys[key] == value):
                    return  # the value canister read (the same ini loaded again)
            except Exception:  # a value that cannot be compared counts as changed
                pass
        self._late_keys.add(key)
        words = key.split(None, 1)  # (an ini line without =, a name and the rest: after a secret's name, the secret)
        shown = words[0] + ' ***' if len(words) == 2 and _is_secret_name(words[0]) else key
        name = key[len('canister.'):].lower()  # (read in any case at install)
        if name in self.overrides:  # (the keyword wins over the app's config at every install)
            message = ('Config: %s was set after Canister was installed, and has no effect: the keyword argument '
                       '%s given to Canister() wins over it, also when the plugin is installed again; change that '
                       'keyword argument instead' % (shown, name))
        else:
            message = ('Config: %s was set after Canister was installed, and has no effect until the plugin is '
                       'installed again: set it before app.install(Canister()), or install a Canister() again'
                       % shown)
        self.log.write(logging.WARNING, '%s', message)
        _warn_at_install(message)

    def _set_up_parts(self, app: bottle.Bottle, config: Config) -> None:
        """Make the parts that serve requests (logging the banner and what the config warns of)."""
        self.log.banner(config)
        for warning in config.warnings:
            self.log.write(logging.WARNING, '%s', warning)
        self.cors = CorsPolicy(config, self.log) if config['cors'] else None
        # (the trusted origins are checked with csrf off too: nothing config-related fails later)
        trusted = _listed_origins(config['csrf_trusted_origins'], 'csrf_trusted_origins')
        self.csrf = CsrfGuard(self.cors, trusted) if config['csrf'] else None
        self.early = _EarlyChecks(config, self.log, self.csrf, app.router)
        plain, https = _security_headers(config)
        # (with Status-Code, which no answer has but one made with Starlette's status_code=, logged on that path)
        security_names = frozenset(name for name, _ in https) | {_REQUEST_ID_HEADER, _STATUS_CODE_HEADER}
        #: The headers canister adds to a response (but the request id), by ``[context.loaded][context.https]``:
        #: the security headers, and those of a response built from a session, which adds the cache headers
        #: (see ``SessionManager.mark_private``).  So one look at the usual response, which has none of them,
        #: decides for all.
        self.added = ((plain, https), (list(_PRIVATE) + plain, list(_PRIVATE) + https))
        #: The names of those, with the request id's, by ``[context.loaded]``.
        self.added_names = (security_names, security_names | _CACHING_HEADERS)
        self.sessions = SessionManager(config, self.custom_store, self.log)
        if isinstance(self.sessions.store, MemoryStore):
            _IN_MEMORY_LOGS.add(self.log)
            self._note_reloader()
        for note in self.log.warnings + self._store_notes():  # in the log, and on the terminal at the app's install line
            self.log.write(logging.WARNING, '%s', note)
            _warn_at_install(note)
        self._wait_note_untold = [] if isinstance(getattr(self.sessions.store, 'wait_note', None), str) else [True]
        self._eviction_note_untold = [] if isinstance(getattr(self.sessions.store, 'eviction_note', None), str) else [True]
        self.authenticator = Authenticator(config, self.log, self.sessions.store)
        #: The same when the Authorization header has a scheme to check (None: route wrappers skip it).
        self.auth = self.authenticator or None
        self._watch_users_file(self.authenticator.schemes.get('basic'))

    def _note_reloader(self) -> None:
        """Say in the log, under Bottle's reloader, that the memory store's sessions end at each change of a file."""
        if os.environ.get('BOTTLE_CHILD'):  # (set by bottle.run(reloader=True) in the process it serves from)
            self.log.write(logging.INFO, 'Bottle\'s reloader (bottle.run(reloader=True)) starts this process again at '
                           'each change of a file, and the sessions of the memory store end with it: everyone is '
                           'logged out; session_store = sqlite:///sessions.db keeps them')

    def _watch_users_file(self, basic: Optional[BasicAuth]) -> None:
        """Have Basic's look at its users file made before each route's handler, so that a request with the
        session cookie alone finds the sessions of a user the file dropped ended; and let it end them."""
        self.watch_users = basic.watch if basic is not None and basic.users_file else None
        if basic is not None:
            basic.end_sessions_of = self._end_sessions_of
        # A session of a line its users file no longer has ends at its next use, checked with the file that
        # logged it in: this app's, or that of an app mounted in it with a canister and a users file of its own.
        self.sessions.is_stale_login = basic.is_stale_login if basic is not None and basic.users_file else _is_stale_login

    def _store_notes(self) -> List[str]:
        """What the install warns of about the session store: the manager's notes, a store unreachable
        for now, a Redis master with fewer replicas than ``session_redis_wait``, and a SQLite file that other
        users may read or write."""
        notes = list(self.sessions.warnings)
        problem = _store_check(self.sessions.store)
        if problem:
            notes.append('The session store is unreachable for now (%s); requests that need a session '
                         'answer 503 until it is back' % _mask_urls(problem))
        for name in ('wait_note', 'eviction_note', 'exposure_note'):  # (RedisStore's, once checked; SQLiteStore's)
            note = getattr(self.sessions.store, name, None)
            if isinstance(note, str):
                notes.append(note)
        return notes

    #: One item while the store's ``wait_note`` (a Redis master with fewer replicas than ``session_redis_wait``)
    #: is still to be logged; the thread whose ``pop`` takes it logs it (a list's pop is atomic: of threads
    #: that get here at once, one does, where a flag's check then set could let each by).  Set by ``setup``.
    _wait_note_untold: List[bool]
    #: The same for the store's ``eviction_note`` (a Redis whose ``maxmemory-policy`` evicts keys canister needs).
    _eviction_note_untold: List[bool]

    def _tell_wait_note(self) -> None:
        """Log the store's replica and eviction warnings (WARNING, as at install) once known, if the install could
        not (it found Redis down): called after a probe (``store_problem``) and after a 503 of the store."""
        for name, untold in (('wait_note', self._wait_note_untold), ('eviction_note', self._eviction_note_untold)):
            note = getattr(self.sessions.store, name, None)
            if isinstance(note, str) and untold:
                try:
                    untold.pop()
                except IndexError:  # (another thread took it between the two lines)
                    continue
                self.log.write(logging.WARNING, '%s', note)

    def close(self) -> None:
        """Uninstall: give the app its own WSGI callable, error page and ``add_route`` back, and release the store."""
        if self.app is not None and self.app.__dict__.get('wsgi') == self.wsgi:
            del self.app.wsgi
        if self.app is not None:
            self._give_error_pages_back(self.app)
            self._give_add_route_back(self.app)
            self.app.remove_hook('config', self._config_changed)
            self.app.remove_hook('app_reset', self._watch_other_apps_routes)
        self._release_parts()
        if getattr(self, 'log', None) is not None:
            _IN_MEMORY_LOGS.discard(self.log)
            self.log.close()
        self.app = None

    def _release_parts(self) -> None:
        """At uninstall: close the store canister opened, and what the authenticator holds."""
        store = getattr(getattr(self, 'sessions', None), 'store', None)
        close = getattr(store, 'close', None)   # optional, as check() and load_and_touch()
        if self.custom_store is None and callable(close):
            close()
        authenticator = getattr(self, 'authenticator', None)
        if authenticator is not None:
            authenticator.close()

    def _uninstall_others(self, app: bottle.Bottle) -> Optional['Canister']:
        """Take this plugin and any other Canister() off the app before setting up; the other one, if any."""
        replaced = None
        for other in list(app.plugins):
            if isinstance(other, Canister):
                if other is self:
                    app.plugins.remove(self)  # installed again: Bottle appends it once more
                    self.close()
                else:
                    app.uninstall(other)
                    replaced = other
        return replaced

    # -- per route ---------------------------------------------------------
    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        """Wrap a route once: credentials checked, parameters bound as its signature says, and the
        request served in full when this app's WSGI callable did not run (see ``_serve``)."""
        app = self._refuse_route(route)
        try:
            binder: Optional[ParameterBinder] = ParameterBinder(route.callback, route.rule, self._injected_names(route))
        except (TypeError, ValueError):  # a callable without an inspectable signature
            binder = None
        bind = binder.bind if binder else None
        self._note_foreign_routes([route])
        log = self.log
        auth = self.auth  # apply runs after setup (installing again resets every route)
        watch_users = self.watch_users
        what = '%s %s' % (route.method, route.rule)
        alone = callback is route.callback  # no other plugin wraps the handler inside this wrapper
        if binder is not None:
            for note in binder.notes:
                log.write(logging.WARNING, 'Route %s: %s', what, note)
            callback = binder.adapt(callback)
        late = _unenforced_checks(route, app.routes)
        if late:  # Bottle registered the handler before the guard wrapped it: guard the route here
            log.write(logging.WARNING, 'Route %s: @canister.require or @canister.require_user is written above the '
                      'route decorator of %s, where it guards nothing: canister applies it here, but put it '
                      'below the route decorator', what, getattr(_innermost(route.callback), '__name__', '?'))
        # The route's guards run before its parameters are bound: a client they refuse gets their
        # 401 or 403, never a 400 that describes the parameters of a route closed to it, and no
        # value of its request is converted.  Only those that nothing else wraps, though: where
        # another plugin wraps the handler inside this wrapper (installed after canister), or a
        # decorator of the app's sits above a guard, that code may log the user in, so the guards
        # under it run after it, as written, and are asked here only when the parameters do not bind.
        guards = tuple(_checks_run(route.callback)[0]) + tuple(late)
        first = (_leading_checks(route.callback) if alone else ()) + tuple(late)

        def canister_route(*args: Any, **url_args: Any) -> Any:
            context = _local.context
            if context is None:  # canister's WSGI callable did not run (the app is mounted or merged into another)
                return self._serve(canister_route, route, args, url_args)
            try:
                if watch_users is not None:
                    watch_users()
                if auth is not None:
                    header = context.environ.get('HTTP_AUTHORIZATION')
                    if header:
                        try:
                            auth.log_in(context, header, context.environ, context.trusted)
                        except StoreUnavailable as error:
                            raise self._unavailable_response(error) from None
                if first:
                    _run_guards(first)
                if bind is not None:
                    try:
                        url_args = bind(url_args)
                    except BadRequest as error:
                        _run_guards(guards)
                        message = 'Bad request: %s' % error if error.status == 400 else str(error)
                        context.plugin.log.write(logging.WARNING, '%s', message)  # (the request's log: maybe a parent's)
                        raise _error_response(error.status, message) from None
            except bottle.HTTPResponse:
                raise
            except StoreUnavailable as error:  # a guard read the session (session.user) from a store that is down
                raise self._unavailable_response(error) from None
            except Exception:  # Bottle answers its 500 and logs nothing: log it here, with its traceback
                context.plugin.log.write(logging.ERROR, 'Unhandled exception in %s (before the handler ran)', what,
                                         exc_info=True)
                context.handler_failed(context.plugin.log)
                raise
            try:
                result = callback(*args, **url_args)
            except Exception as error:
                # (Bottle 0.13's own 400 for a body it cannot read, or 0.12's exception: the client's body, not the
                # handler, is at fault, a 400 as canister's own)
                refusal = _bottle_body_answer(error) or _bottle_body_refusal(error)
                if refusal is not None:
                    context.plugin.log.write(logging.WARNING, 'Bad request: %s', refusal)
                    raise _error_response(400, 'Bad request: %s' % refusal) from None
                answer = self._handler_raised(error, context, route)
                if answer is None:
                    raise
                raise answer from None
            if type(result) is types.GeneratorType:
                return _StreamedBody(result, context, what)
            return result
        return canister_route

    def _injected_names(self, route: bottle.Route) -> typing.FrozenSet[str]:
        """The handler arguments the route's other plugins fill by name: the ``keyword`` of each (``db``
        of bottle-sqlite, ``rdb`` of bottle-redis, the convention of Bottle's plugin tutorial).

        Canister leaves those parameters to them whatever the install order: installed before such
        a plugin, canister's wrapper is the outer one and the plugin fills the argument after it;
        installed after, the value arrives as a keyword argument of canister's wrapper.
        ``all_plugins`` is Bottle's own list of what applies to the route (``skip`` lists and
        route-level plugins included)."""
        keywords = (self._keyword_of(plugin, route) for plugin in route.all_plugins() if plugin is not self)
        return frozenset(keyword for keyword in keywords if isinstance(keyword, str))

    @staticmethod
    def _keyword_of(plugin: Any, route: bottle.Route) -> Any:
        """The handler argument ``plugin`` fills by name on ``route``, a route's own where it names
        one as bottle-sqlite reads it: ``@app.get(..., sqlite={'keyword': 'conn'})``, held by the
        route's config under the plugin's name (on bottle 0.12; 0.13 flattens it to ``sqlite.keyword``,
        where that plugin does not look, and neither does canister)."""
        keyword = getattr(plugin, 'keyword', None)
        name = getattr(plugin, 'name', None)
        overrides = route.config.get(name) if isinstance(name, str) else None
        get = getattr(overrides, 'get', None)
        return get('keyword', keyword) if callable(get) else keyword

    def status_header_unsaid(self, route: Any) -> bool:
        """True the first time it is asked for ``route``: whose answer with Starlette's ``status_code=`` (a
        ``Status-Code`` header), raised or returned, is to be logged then, once for the route: in one step (the
        dict's ``setdefault``), so that of threads asking at once only one is told True."""
        token = object()
        return self.status_header_noted.setdefault(route, token) is token

    def _handler_raised(self, error: Exception, context: Any, route: bottle.Route) -> Optional[bottle.HTTPResponse]:
        """What a call of ``route`` that raised ``error`` answers: the 503 of a session store that is down,
        or None to let ``error`` go on, a response as it is (one raised with Starlette's ``status_code=`` logged
        once for the route) and an exception logged first with its traceback (Bottle answers its 500 and logs
        nothing), in the request's log (a parent's, for a child app mounted or merged into an app with canister)."""
        what = '%s %s' % (route.method, route.rule)
        log = context.plugin.log
        if isinstance(error, bottle.HTTPResponse):
            note = _status_header_note(error)
            if note is not None:
                if self.status_header_unsaid(route):
                    log.write(logging.WARNING, 'Route %s: %s (said once for this route)', what, note)
                context.status_header_noted = True
            return None
        if isinstance(error, StoreUnavailable):
            return self._unavailable_response(error)
        log.write(logging.ERROR, 'Unhandled exception in %s%s', what, _habit_note(error), exc_info=True)
        context.handler_failed(log)
        return None

    def _unavailable_response(self, error: Exception) -> bottle.HTTPResponse:
        """The 503 response of a request whose session store cannot be reached (logged once a second), and the
        store's notes, by the canister that handles the request (a parent's, for a child app mounted or merged
        into an app with canister: its store failed, and its log has the request's lines)."""
        context = _local.context
        plugin = self if context is None else context.plugin
        plugin.log.write_repeated(logging.ERROR, _safe_text(error))
        plugin._tell_wait_note()
        return _error_response(503, getattr(error, 'answer', None) or _UNAVAILABLE, _UNAVAILABLE_RETRY)

    def _error_page(self, error: bottle.HTTPError) -> Any:
        """The app's ``default_error_handler``: what Bottle answers for an ``HTTPError`` the app has no
        ``@app.error`` handler for (Bottle asks those first).  JSON as canister's own errors for a client
        that accepts JSON (the headers the error carries, such as ``Allow``, kept), else the page of the
        handler it replaced.  The exception of a 500 is logged here, unless the route wrapper did; a
        session store found down outside the route (a ``before_request`` hook that reads the session)
        is the route's 503 instead."""
        context = _local.context
        if isinstance(error.exception, StoreUnavailable) and context is not None:
            context.error_logged = True  # (its one ERROR line is the 503's, as in a route: no traceback)
            return self._unavailable_response(error.exception)
        if context is not None:
            context.log_error_page(error)
        if error.status_code in (404, 405):  # (the router's: a route written as in another framework?)
            self._look_at_new_routes()
            if error.status_code == 404:  # (or one on Bottle's default app?)
                self._note_default_app_route()
        body, headers = _http_error_body(error, bottle.request.environ)
        for name, token in headers:  # (the error's own headers are the response's by now: a Vary among them)
            _merge_response_header(name, token)
        if body is None:
            return self._bottle_error_page(error)
        bottle.response.content_type = 'application/json'
        return body

    # -- the sessions of a user (inside a request or from a script) ----------
    def end_sessions(self, user: Any) -> int:
        """End every live session of ``user`` (log out everywhere); return how many were ended."""
        return self._user_sessions().end_sessions(user)

    def _end_sessions_of(self, users: Dict[str, Optional[str]], tag: str) -> int:
        """End every session of each user of ``users`` but those of the login line given with it and those
        that a users file other than that of ``tag`` logged in (Basic's, for the users its file dropped or
        gave another line); how many, unlogged."""
        manager = self._user_sessions()
        return sum(manager.end_sessions_unlogged(user, spare=line, tag=tag) for user, line in users.items())

    def sessions_of(self, user: Any) -> List[Dict[str, Any]]:
        """The live sessions of ``user``: ``created``, ``last_used``, ``current`` and ``remembered`` (never the id)."""
        return self._user_sessions().sessions_of(user)

    def tidy_sessions(self) -> int:
        """Remove what ended sessions left in the store (Redis: their ids in users' sets); return how many."""
        return self._user_sessions().tidy()

    def store_problem(self) -> Optional[str]:
        """None if the session store can be reached now, else why, its secrets masked (for a readiness check)."""
        try:
            problem = _store_check(self._user_sessions().store)
        except ConfigError as error:  # (refused credentials, a file that is not a database: not ready either)
            problem = str(error)
        self._tell_wait_note()
        return _mask_urls(problem) if problem else None

    def _user_sessions(self) -> SessionManager:
        """Where this app's sessions live: its own store, or, while a route of this app is served
        under the canister of an app it is mounted or merged into, that canister's (whose store
        holds the sessions of this app's requests: see "On both" in the README)."""
        context = _local.context
        if context is not None and context.plugin is not self and context.manager is not None:
            route = _served_route(context)
            if route is not None and route.app is self.app:
                return context.manager
        if self.app is None:  # (its store is made at install, and closed at uninstall)
            raise CanisterError('canister: end_sessions, sessions_of, tidy_sessions and store_problem need the plugin '
                                'installed on an app (app.install(plugin) first)')
        return self.sessions

    # -- per request -------------------------------------------------------
    def wsgi(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The app's WSGI callable: canister's work around Bottle's, for one request.

        1. ``_RequestContext.begin``: who the client is, the request id, the thread's name, the request line;
        2. ``_EarlyChecks``: limits, CSRF and CORS preflights, answered here when they refuse or answer;
        3. Bottle serves the request; the route wrapper (``apply``) checks credentials and binds parameters;
        4. ``_RequestContext.start_response``: the session saved, then CORS, cache and security headers;
        5. ``_RequestContext.end``: the response line, and the thread as it was.
        """
        outer = _local.context
        if outer is not None:
            if _mounted_in(outer, environ):
                return self._mounted(outer, environ, start_response)
            return self._sub_request(outer, environ, start_response)
        context = _RequestContext.begin(self, environ, start_response)
        try:
            early = self.early.response(context) if self.early.needed(context, environ.get('HTTP_COOKIE')) else None
            if early is not None:
                return context.send_early(early)
            result = self._inner(environ, context.start_response)
            if context.replaced is not None or type(result) is not list:
                result = self._body_to_send(context, result)
            return result
        except BaseException:
            context.failed()
            raise
        finally:
            context.end()

    def _mounted(self, outer: _RequestContext, environ: Dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve the request being served (``outer``), handed on to this app under Bottle's ``mount`` (the same
        environ, or a copy), through Bottle alone.  The mount point shifts the path for the call and back on the
        environ bound to ``request`` when the call returns: the caller's environ is bound again first,
        and a streamed body sees in every chunk the environ this app saw (``_MountedBody``).  The first such
        request has the serving canister name the settings of this one that do not apply (an app mounted as a
        plain WSGI callable, ``child.wsgi`` or inside middleware, whose routes it cannot see at the mount)."""
        app = self.app
        if app is not None and app.routes:  # (said once for each child: _note_childs_own_settings decides)
            mount_point = environ['bottle.route']  # (``_mounted_in``: a mount point's)
            outer.plugin._note_childs_own_settings(
                self, app.routes[0], '/' + str(mount_point.config.get('mountpoint.prefix', '')).strip('/'))
        bound = bottle.request.environ
        try:
            result = self._inner(environ, start_response)
        finally:
            if environ is not bound:
                bottle.request.bind(bound)
        if type(result) is list or _is_file(result, environ):
            return result
        return _MountedBody(result, environ)

    def _sub_request(self, outer: _RequestContext, environ: Dict[str, Any],
                     start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve a request that a handler of another app makes to this one (``app(environ_copy, ...)``)
        as a request of its own, then give the calling request back its context and Bottle's
        ``request`` and ``response``, which Bottle binds to the inner request.  Handed the caller's
        own environ, it serves a copy: the caller's comes back as it was."""
        environ_before = bottle.request.environ
        response_before = _response_slots()
        environ = _sub_request_environ(environ, environ_before)
        start_response = _callers_start_response(start_response, outer, environ_before, response_before)
        # the caller's body stream, unread, handed on: with its length, what Bottle reads of it is the caller's
        # body too (not with another: a GET made of a POST, without Content-Length, reads nothing of it); what
        # the other app reads of it, the caller reads again after the call
        kept = None
        if ('bottle.request.body' not in environ_before and 'wsgi.input' in environ
                and environ['wsgi.input'] is environ_before.get('wsgi.input')):
            kept = _KeptInput(environ_before, all(environ.get(key) == environ_before.get(key)
                                                  for key in _BODY_LENGTH_KEYS))
            environ['wsgi.input'] = kept
        _local.context = None
        try:
            result = self.wsgi(environ, start_response)
        finally:
            _local.context = outer
            bottle.request.bind(environ_before)
            _put_response_slots(response_before)
            if kept is not None:
                kept.give_back(environ)
        if type(result) is list:
            return result
        return _HandedOnBody(result, environ, kept)

    @staticmethod
    def _body_to_send(context: _RequestContext, result: Iterable[bytes]) -> Iterable[bytes]:
        """The body to send when Bottle's ``result`` is not a list to send as it is: the response that
        replaced it (the session could not be saved), or the generator of a route canister does not
        wrap, given its request."""
        if context.replaced is not None:  # the session could not be saved: that response instead
            close = getattr(result, 'close', None)
            if close is not None:
                close()
            return context.replaced
        if not context.streamed and not _is_file(result, context.environ):
            # the generator of a route canister does not wrap (a child app's): its chunks get the request too
            environ = _bound_environ() or context.environ  # (a mounted child's, which may be a copy)
            path = environ.get('SCRIPT_NAME', '').rstrip('/') + environ.get('PATH_INFO', '')  # (the whole path)
            streamed = _StreamedBody(result, context, _escape('%s %s' % (context.method, path)))  # (decoded: %0A too)
            app = context.plugin.app
            mounted = _mount_point_path(app.router, environ) if app is not None else None
            if mounted is not None:  # its later chunks see the path the child saw, as its first did
                streamed.path = mounted
            result = streamed
            context.keep_for_stream()
        return result

    # -- a route whose app's WSGI callable did not run ---------------------
    def _serve(self, route_call: Callable[..., Any], route: bottle.Route, args: Tuple[Any, ...],
               url_args: Dict[str, Any]) -> Any:
        """Do the WSGI callable's work around one route call, for a request that reached this app's
        route without passing through it: Bottle 0.13's ``mount`` and ``merge`` (both versions)
        copy a child app's routes into a parent, whose own WSGI callable then serves them.

        The context lives for this call only (and for the steps of a streamed body), so nothing
        of this request stays in the thread's slot for the next one.  The response's headers are
        finished on the response Bottle will send: the one raised or returned, or ``bottle.response``;
        an error the route raises is answered here as this app answers it (``_raised_answer``), not by
        the serving app's error page.
        """
        if self._outer_plugins_unnoted:
            self._note_outer_plugins(route)
        context = _RequestContext.begin(self, bottle.request.environ, None)
        context.route = route
        context.code = 500  # unless a response is finished below
        first_chunk = False  # (its failure Bottle answers otherwise: _caught_failure)
        try:
            early = self.early.response(context)
            if early is not None:
                raise bottle.HTTPResponse(early.body, status=early.code, headers=early.headers)
            result = route_call(*args, **url_args)
            if _is_chunked_body(result):  # (a generator's chunks get their request in the route wrapper already)
                result = _StreamedBody(result, context, '%s %s' % (route.method, route.rule))
            if isinstance(result, _StreamedBody):
                first_chunk = True
                result.take_first()
                first_chunk = False
            target = result if isinstance(result, bottle.HTTPResponse) else bottle.response
            sent = self._finish_response(context, target)
            return result if sent is target else sent
        except BaseException as raised:
            sent = self._raised_answer(context, raised, first_chunk)
            if sent is None:  # on to the serving app or the server, whose answer canister never sees
                context.end_on_escape()
                raise
            if sent is raised:
                raise
            raise sent from None
        finally:
            context.end()

    def _raised_answer(self, context: _RequestContext, raised: BaseException,
                       first_chunk: bool = False) -> Optional[bottle.HTTPResponse]:
        """The response, its headers finished, that a route that another app's entry serves (``_serve``) answers
        when it raised ``raised`` (a response, or an exception that becomes a 500), as when this app serves the
        request itself (Bottle's "Critical error" 500 when the app's error handler raised); None for an exception the
        serving app lets pass (``first_chunk``: raised by a streamed body's first chunk)."""
        if not isinstance(raised, bottle.HTTPResponse):
            failure = self._caught_failure(raised, first_chunk)
            if failure is None:
                return None
            raised = failure
        try:
            answer = self._error_answer(raised)
        except Exception as error:  # an error handler of the app's raised: as its own entry answers, or passes it
            context._log_critical_error(error)
            if not getattr(bottle.request.environ.get('bottle.app'), 'catchall', 0):
                context.end_on_escape()
                raise
            answer = _critical_error_answer(bottle.request.environ)
        return self._finish_response(context, answer)

    def _error_answer(self, raised: bottle.HTTPResponse) -> bottle.HTTPResponse:
        """What this app answers to ``raised``, a response raised in its route that another app's entry serves
        (``_serve``), as when it serves the request itself: an error answered by the app's own error handler
        for its status, else by canister's page (JSON to a JSON client); an error that page answers with (the 503
        of a session store found down) answered so in turn, as Bottle's own entry answers it.  Any other response,
        and an error whose status has a handler of the serving app's own but none of this app's, is left to the
        serving app (returned as it is), but for one that carries canister's challenge: the serving app's page
        answers it here, so that the challenge is taken off an answer it gives another status (a redirect to the
        login form), which the serving app, without canister, would send with it."""
        app = self.app
        if app is None or not isinstance(raised, bottle.HTTPError):
            return raised
        code = raised.status_code
        serving = bottle.request.environ.get('bottle.app')
        page = app.error_handler.get(code)  # (``_ErrorHandlers``: the challenges dropped there)
        if page is None and code in getattr(serving, 'error_handler', ()):
            if not _own_challenges(raised):
                return raised
            page = functools.partial(_page_answer, serving.error_handler[code])
        raised.apply(bottle.response)  # (as Bottle does before it asks the error handler, which may change it)
        body = (page or app.default_error_handler)(raised)
        if isinstance(body, bottle.HTTPError):  # (a page answering with an error, canister's 503: the app's page for it)
            return self._error_answer(body)
        answer = bottle.response.copy(cls=bottle.HTTPResponse)
        answer.body = body
        return answer

    @staticmethod
    def _caught_failure(error: BaseException, first_chunk: bool = False) -> Optional[bottle.HTTPError]:
        """The 500 that Bottle makes of ``error``, raised in a route that another app's entry serves (``_serve``),
        made here as the serving app's Bottle makes it, traceback written to ``wsgi.errors`` included; None where
        that app lets it pass (its ``catchall`` off, or an exit, interrupt or ``MemoryError``) or calls the route
        again (``bottle.RouteReset``).  Raised by a streamed body's first chunk (``first_chunk``), it is the 500
        that Bottle makes when it starts the body: ``Unhandled exception``, written nowhere, a reset too."""
        environ = bottle.request.environ
        serving = environ.get('bottle.app')
        if (not isinstance(error, Exception) or isinstance(error, MemoryError) or not getattr(serving, 'catchall', 0)
                or isinstance(error, bottle.RouteReset) and not first_chunk):
            return None
        stacktrace = traceback.format_exc()
        if first_chunk:
            return bottle.HTTPError(500, 'Unhandled exception', error, stacktrace)
        environ['wsgi.errors'].write(stacktrace)
        environ['wsgi.errors'].flush()
        environ['bottle.exc_info'] = sys.exc_info()
        return bottle.HTTPError(500, 'Internal Server Error', error, stacktrace)

    def _note_outer_plugins(self, route: bottle.Route) -> None:
        """Log once a WARNING naming the app's plugins installed before canister, whose wrappers wrap canister's:
        where another app's entry serves the app's routes (``_serve``) they run before canister begins the
        request, and see no session (Bottle's own JSON and template plugins read none)."""
        self._outer_plugins_unnoted = False
        plugins = list(route.all_plugins())  # (innermost first: the app's plugins installed last come first)
        outer = plugins[plugins.index(self) + 1:] if self in plugins else []
        names = [str(getattr(plugin, 'name', None) or getattr(plugin, '__name__', None) or type(plugin).__name__)
                 for plugin in outer if not isinstance(plugin, (bottle.JSONPlugin, bottle.TemplatePlugin))]
        if names:
            self.log.write(logging.WARNING, "This app's routes are served through another app's entry (merged into "
                           "it, or mounted on bottle 0.13), so the plugins installed on this app before canister "
                           "(%s) run before canister begins the request: there they see no session (session.user is "
                           "None, and a change raises CanisterError). Install canister on this app first, or on the "
                           "app it is merged or mounted into too", ', '.join(_escape(name) for name in names))

    @staticmethod
    def _finish_response(context: _RequestContext, response: Any) -> Any:
        """Finish the headers of the Bottle response ``response`` as ``_RequestContext.start_response``
        does (session, CORS, request id, security headers); return the response to send: an error
        response instead if the session could not be saved, else ``response`` itself."""
        sent: List[Tuple[str, Headers]] = []
        context.server_start_response = lambda status_line, headers, exc_info=None: sent.append(
            (status_line, headers))
        context.start_response(response.status_line, list(response.headers.allitems()))
        status_line, headers = sent[0]
        if context.replaced is not None:
            response = bottle.HTTPResponse(context.replaced[0], status=status_line)
        response.headers.dict.clear()
        for name, value in headers:
            response.add_header(name, value)
        return response


# What Django, Flask-Login, Flask-WTF, Flask-CORS and Starlette call their login, CSRF, CORS and error helpers, which
# a newcomer writes as ``canister.login_required`` first: the AttributeError names canister's own (or Bottle's).
# (Flask-Session's ``Session`` is not here: canister.Session is canister's own class.)
_OTHER_FRAMEWORKS_NAMES = {
    'requires': "write @canister.require_user (Starlette's requires('authenticated')), or "
                '@canister.require(lambda user: ...) for a condition on the user (a 403 when it is false)',
    'HTTPException': "raise bottle.HTTPError(404, 'text'), or call bottle.abort(404, 'text'): Bottle's, the status "
                     'first (status_code= would be sent as a header)',
    'login_required': 'write @canister.require_user (a 401 when nobody is logged in, which an @app.error(401) '
                      'handler can turn into a redirect to the login form)',
    'current_user': 'the user is session.user (None when nobody is logged in)',
    **dict.fromkeys(('login', 'login_user'),
                    'canister.log_in(name, password, users) checks a password and logs in; session.user = name '
                    'logs in a user the app checked itself'),
    **dict.fromkeys(('logout', 'logout_user'), 'session.invalidate() logs out and ends the session'),
    'authenticate': 'canister.verify_password(password, stored) checks a password; canister.log_in(name, '
                    'password, users) logs in too',
    **dict.fromkeys(('csrf_protect', 'csrf_token', 'get_token', 'generate_csrf'),
                    'the CSRF check is on for every route and takes no token: a form needs no hidden field and a '
                    'fetch no header (canister.csrf_exempt exempts a route)'),
    'CSRFProtect': 'canister protects every route from CSRF by default (csrf = true), with no token: a form needs no '
                   'hidden field and a fetch no header (see CSRF protection in the README; canister.csrf_exempt '
                   'exempts a route)',
    'CORS': 'canister answers CORS itself, preflights too: write cors = https://app.example.com (or *) in its config, '
            'Canister(cors=...), and cors_paths = /api to limit it to paths (see CORS in the README)',
    'cross_origin': "canister's CORS is set for the app, not for a route: write cors = https://app.example.com (or *) "
                    'in its config, and cors_paths = /api for the path prefixes it covers',
    'LoginManager': 'canister needs no login manager: session.user is the user (assign it to log in, None to log out), '
                    '@canister.require_user guards a route (a 401 when nobody is logged in), and '
                    'canister.log_in(name, password, users) checks a password and logs in',
    'UserMixin': 'session.user holds the user as the app gives it, a name or a dict, with no class to derive from',
    'FlaskForm': "canister has no form classes: give the handler parameters named as the form's fields, which canister "
                 'fills and converts by their annotations; the CSRF check needs no token field',
}


if not typing.TYPE_CHECKING:  # (seen by mypy, it would make every misspelt name of the module valid)
    def __getattr__(name: str) -> Any:
        """An AttributeError for a name canister lacks, saying what to write for another framework's."""
        if name in _OTHER_FRAMEWORKS_NAMES:
            raise AttributeError('module canister has no %s: %s' % (name, _OTHER_FRAMEWORKS_NAMES[name]))
        raise AttributeError('module %r has no attribute %r' % (__name__, name))


###############################################################################
# Command Line ################################################################
###############################################################################

_DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Canister demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {font: 15px/1.45 system-ui, sans-serif; max-width: 56em; margin: 1.5em auto; padding: 0 1em; color: #222}
h1 {margin-bottom: 0} h2 {margin: 1.4em 0 .4em; font-size: 1.15em; border-bottom: 1px solid #ddd}
table {border-collapse: collapse} th, td {text-align: left; vertical-align: top; padding: .15em .8em .15em 0}
th {font-weight: 600; white-space: nowrap} code, pre {font: 13px ui-monospace, monospace}
pre {background: #f4f4f4; padding: .6em; overflow-x: auto; white-space: pre-wrap}
button {margin: .15em .3em .15em 0} .note {color: #555; font-size: .93em}
</style></head>
<body>
<h1>Canister demo</h1>
<p class="note">A Bottle app with <code>app.install(canister.Canister())</code>: its code is
<code>_demo_app</code> in <code>canister.py</code>. Reload the page and watch what changes.</p>

<h2>What canister did for this request</h2>
<table id="this-request">
<tr><th>Session</th><td id="session">%(session)s</td></tr>
<tr><th>Session id</th><td><code>%(sid6)s&hellip;</code> (the log shows these 6 characters, never more)</td></tr>
<tr><th>Counter</th><td><span id="counter">%(counter)s</span> (<code>session.data['counter']</code>, kept on the server)</td></tr>
<tr><th>Session data</th><td><code id="data">%(data)s</code></td></tr>
<tr><th>User</th><td id="user">%(user)s</td></tr>
<tr><th>Request id</th><td><code id="request-id">%(request_id)s</code>
 (<code>canister.request_id()</code>, also sent back as <code>X-Request-ID</code>)</td></tr>
<tr><th><code>?foo=</code></th><td><code id="foo">%(foo)s</code> (a handler parameter filled from the query string)</td></tr>
</table>
<p>The log's line for this request (the demo logs to %(log_path)s):</p>
<pre id="log-line">%(log_line)s</pre>

<h2>Log in and out</h2>
<form id="login">user <input id="username" value="%(username)s" size="10">
password <input id="password" type="password" value="%(password)s" size="12">
<button type="submit">Log in with Basic auth</button>
<button type="button" id="logout">Log out</button></form>
<p class="note">Logging in calls <code>GET /api/me</code> with an <code>Authorization: Basic</code> header:
canister checks it, keeps the user in the session and gives the session a new id. Logging out posts
to <code>/logout</code>, whose handler calls <code>session.invalidate()</code>. Reload the page to see the user.</p>

<h2>Call the JSON endpoints</h2>
<p>
<button data-method="GET" data-path="/api/sum?a=1&amp;a=2&amp;a=3">GET /api/sum?a=1&amp;a=2&amp;a=3</button>
<button data-method="POST" data-path="/api/echo"
 data-json='{"message": "hello", "times": 2}'>POST /api/echo {"message": "hello", "times": 2}</button>
<button data-method="POST" data-path="/api/echo" data-json='{"message": "hi", "times": "two"}'>
POST /api/echo {"message": "hi", "times": "two"} (400)</button>
<button data-method="GET" data-path="/api/me">GET /api/me (your user; if not logged in, 401, without
a Basic challenge: the browser opens no password dialog over a page's fetch)</button>
</p>
<p>From another origin: the same demo under the host name <code id="other"></code>, which the browser treats as another site.<br>
<button data-method="POST" data-path="/api/echo" data-cross="1"
 data-json='{"message": "from afar"}'>cross-site JSON POST (preflighted, CORS allows it)</button>
<button data-method="POST" data-path="/api/echo" data-cross="1"
 data-form="message=from+a+form">cross-site form POST (CSRF refuses it: 403)</button>
</p>
<pre id="result">Press a button: its request, status, headers and body appear here.</pre>
<p class="note"><code>/api/sum</code> adds up every <code>a</code> of the query, each a whole number or a decimal
(<code>a: List[Union[int, float]]</code>): <code>a=1&amp;a=2&amp;a=3</code> gives 6, <code>a=1&amp;a=2.5</code> gives 3.5.
<code>/api/echo</code> takes <code>message</code> (text, required) and <code>times</code>
(an integer, default 1) from a JSON body, a form or the query string.</p>

<h2>Links</h2>
<ul>
<li><a href="%(base)s/hi?foo=John&amp;bar=Smith">%(base)s/hi?foo=John&amp;bar=Smith</a></li>
<li><a href="%(base)s/api/sum?a=1&amp;a=2&amp;a=3">%(base)s/api/sum?a=1&amp;a=2&amp;a=3</a></li>
<li><code>curl -u %(curl_user)s %(base)s/api/me</code></li>
<li><code>curl -H 'Content-Type: application/json' -d '{"message": "hi", "times": 3}' %(base)s/api/echo</code></li>
</ul>
<script>
const other = (location.hostname === 'localhost' ? '127.0.0.1' : 'localhost') + (location.port ? ':' + location.port : '');
document.getElementById('other').textContent = other;
const result = document.getElementById('result');
async function call(method, url, init) {
  result.textContent = method + ' ' + url + ' ...';
  try {
    init.headers = Object.assign({'Accept': 'application/json'}, init.headers);
    const response = await fetch(url, Object.assign({method: method}, init));
    const lines = [method + ' ' + url, 'Status: ' + response.status + ' ' + response.statusText];
    for (const name of ['Access-Control-Allow-Origin', 'X-Request-ID', 'Content-Type', 'WWW-Authenticate']) {
      const value = response.headers.get(name);
      if (value !== null) lines.push(name + ': ' + value);
    }
    result.textContent = lines.join('\\n') + '\\n\\n' + await response.text();
  } catch (error) {
    result.textContent = method + ' ' + url + '\\nThe browser refused to let this page read the answer: ' + error;
  }
}
for (const button of document.querySelectorAll('button[data-path]')) {
  button.addEventListener('click', () => {
    const init = {};
    if (button.dataset.json) {
      init.headers = {'Content-Type': 'application/json'};
      init.body = button.dataset.json;
    } else if (button.dataset.form) {
      init.headers = {'Content-Type': 'application/x-www-form-urlencoded'};
      init.body = button.dataset.form;
    }
    const base = button.dataset.cross ? location.protocol + '//' + other : '';
    call(button.dataset.method, base + button.dataset.path, init);
  });
}
document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const user = document.getElementById('username').value, password = document.getElementById('password').value;
  call('GET', '/api/me', {headers: {'Authorization': 'Basic ' + btoa(user + ':' + password)}});
});
document.getElementById('logout').addEventListener('click', () => call('POST', '/logout', {}));
</script>
</body></html>
"""


def _demo_app(config_file: Optional[str]) -> bottle.Bottle:
    """A small app that shows every feature, on one page that explains what happened."""
    app = bottle.Bottle()
    overrides: Dict[str, Any] = {}
    username = password = ''
    if config_file:
        app.config.load_config(config_file)
        if not any(_is_canister_key(key) for key in app.config):  # (the wrong file, or an empty section)
            warnings.warn("--config %s sets no key of a [canister] section: the demo runs on canister's defaults"
                          % config_file, CanisterWarning, stacklevel=2)
    else:
        username, password = 'alice', 'my-secret'
        overrides = {'log_path': 'stderr', 'cors': '*', 'auth_basic_username': username,
                     'auth_basic_password': hashlib.sha256(password.encode()).hexdigest(),
                     'auth_basic_encryption': 'sha256',
                     # So that the page's script can show the CORS header of a cross-origin answer too
                     # (with the default's Retry-After, which says when to try a 429 or a 503 again).
                     'cors_expose_headers': 'X-Request-ID, Retry-After, Access-Control-Allow-Origin'}
    plugin = Canister(**overrides)
    app.install(plugin)

    @app.get('/')
    def index(foo: Optional[str] = None) -> str:
        config = typing.cast(Config, plugin.config)
        request = bottle.request
        thread = threading.current_thread().name  # as it was when the request line was written
        if 'counter' in session.data:
            session.data['counter'] += 1
        else:
            session.data['counter'] = 0
        reused = request.get_cookie(config['session_cookie']) == session.sid  # else a new one was made
        # The scheme and host canister believes (Bottle's request.url believes any client's X-Forwarded-*).
        context = _local.context
        url = _request_url(request.environ, context.scheme, context.host())
        base = '%s://%s' % (context.scheme, context.host())
        line = plugin.log.line_format.line(_now(), 'INFO', thread, 'GET ' + url, request_id())[0]
        values = {
            'session': ('reused: your browser sent the %s cookie of an existing session' if reused else
                        'created on this request: the answer sets an HttpOnly %s cookie (no script can read it)')
            % config['session_cookie'],
            'sid6': session.sid[:6], 'counter': session.data['counter'], 'data': session.data,
            'user': 'not logged in (None)' if session.user is None else session.user,
            'request_id': request_id(), 'foo': foo, 'log_line': line.rstrip('\n'),
            'log_path': config['log_path'], 'username': username, 'password': password, 'base': base,
            'curl_user': '%s:%s' % (username, password) if username else 'USER:PASSWORD',
        }
        return _DEMO_PAGE % {key: bottle.html_escape(str(value)) for key, value in values.items()}

    @app.get('/hi')
    def hello(foo: str, bar: str = '') -> str:
        # as text: Bottle's default, HTML, would run a <script> sent in the query on the demo's origin
        bottle.response.content_type = 'text/plain; charset=utf-8'
        return 'Hi %s and %s!' % (foo, bar) if bar else 'Hi %s!' % foo

    @app.get('/api/sum')
    def total(a: List[Union[int, float]]) -> Dict[str, Any]:  # (List[float] would answer 6.0 for 1, 2 and 3)
        return {'sum': sum(a), 'request_id': request_id()}

    @app.route('/api/echo', method=['GET', 'POST'])
    def echo(message: str, times: int = 1) -> Dict[str, Any]:
        return {'echo': [message] * min(times, 10)}

    @app.get('/api/me')
    @require_user
    def me() -> Dict[str, Any]:
        return {'user': session.user}

    @app.post('/logout')  # (not GET: any site's page makes a browser send one, with the session cookie)
    def logout() -> Dict[str, Any]:
        session.invalidate()
        return {'logged_out': True}

    return app


#: Why a command with stdout closed prints nothing.
_STDOUT_CLOSED = 'it is closed (>&-): send it to a file, or to /dev/null'


class _StdoutFailed(Exception):
    """stdout could not take a command's result (closed, full, its reader gone): :func:`main` says so in one line."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        #: What writing raised (EBADF for a closed stdout, EPIPE for a reader gone, ENOSPC, ...).
        self.error = error


def _print_out(line: str, utf8: bool = False) -> None:
    """Write a line of a command's result to stdout at once (in UTF-8 if ``utf8``, whatever the locale's
    codec); :class:`_StdoutFailed` if stdout cannot take it."""
    try:
        if sys.stdout is None:  # (closed by the caller: `>&-`)
            raise OSError(errno.EBADF, _STDOUT_CLOSED)
        if utf8:
            sys.stdout.buffer.write(line.encode('utf-8') + b'\n')
        else:
            sys.stdout.write(line + '\n')
        sys.stdout.flush()
    except OSError as error:
        raise _StdoutFailed(error) from None


def _print_error(line: str) -> None:
    """Write a command's error or warning line to stderr; nothing if stderr is closed (``2>&-``): ``print`` would
    then write it to stdout, where a script reads the command's result; nothing either if stderr fails."""
    if sys.stderr is not None:
        # A stderr that fails (2>/dev/full, a log collector gone) loses the line: the command keeps its status.
        with contextlib.suppress(OSError, ValueError):
            print(line, file=sys.stderr, flush=True)


def _print_keys() -> None:
    """Every config key with its default and meaning (``python -m canister keys``): the README's
    table as plain text (no backticks; a link to a section is named as the README's).

    Three columns, the meaning wrapped to the terminal's width (80 to 100 columns; 100 into a
    pipe) under its column; a default too long for its column has the key's first line to itself.
    """
    import shutil
    import textwrap
    width = min(max(shutil.get_terminal_size((100, 24)).columns, 80), 100)
    indent = ' ' * 38  # key (24), default (12), a space after each
    for spec in KEYS.values():
        default = ', '.join(spec.default) if isinstance(spec.default, tuple) else spec.default
        head = '%-24s %-12s ' % (spec.name, default if default != '' else '(empty)')
        meaning = re.sub(r'\[([^\]]+)\]\(#[^)]*\)', r'\1 in the README', spec.meaning.replace('`', ''))
        if len(head) > len(indent):
            _print_out(head.rstrip())
            head = indent
        _print_out(textwrap.fill(meaning, width, initial_indent=head, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False))
    for alias, key in ALIASES.items():
        _print_out('%-24s %-12s alias of %s' % (alias, '', key))


def _as_utf8(text: str) -> str:
    """Text that Python decoded with the locale's codec (the command line, a pipe), the bytes that codec
    could not decode (kept by Python as lone surrogates) read as UTF-8: so ``--user José`` from a UTF-8
    terminal is José under an ASCII locale too.  UnicodeError if those bytes are not UTF-8 either."""
    return text.encode('utf-8', 'surrogateescape').decode('utf-8')


def _stdin_text(line: bytes) -> str:
    """A line read from stdin as text in stdin's encoding (see :func:`_as_utf8`), without its line break."""
    return _as_utf8(line.decode(sys.stdin.encoding, 'surrogateescape')).rstrip('\r\n')


def _hash_password_error(message: str) -> None:
    """One error line of ``python -m canister hash-password`` on stderr, in argparse's form, as all of them are."""
    _print_error('python -m canister hash-password: error: ' + message)


def _end_terminal_line() -> None:
    """End the line a prompt or a ``^C`` left open on the terminal, so that an error line starts a line of its own."""
    if sys.stderr is not None and sys.stderr.isatty():
        _print_error('')


def _typed_password() -> Optional[str]:
    """The password typed at the terminal, asked twice; None, said on stderr, if they differ or are not text."""
    try:
        password = getpass.getpass('Password: ')
        again = getpass.getpass('Again: ')
    except EOFError:  # Ctrl-D at a prompt (which getpass leaves without its line break)
        _end_terminal_line()
        _hash_password_error('no password was typed (Ctrl-D ends the input): type it, then Enter')
        return None
    except UnicodeDecodeError as error:  # getpass decodes with the locale's codec, strictly
        _hash_password_error("the password typed is not text in the terminal's encoding (%s): set a UTF-8 "
                             'locale, such as LC_ALL=C.UTF-8' % error.encoding)
        return None
    if password != again:
        _hash_password_error('the passwords differ')
        return None
    return password


def _read_password() -> Optional[str]:
    """The password from the terminal (asked twice) or a pipe (one line, or two that must match);
    None, said on stderr, if they differ or are not text."""
    if sys.stdin is not None and sys.stdin.isatty():
        return _typed_password()
    # (stdin None: closed by the caller, `<&-`, which reads as an empty pipe)
    first = b'' if sys.stdin is None else sys.stdin.buffer.readline()
    second = sys.stdin.buffer.readline() if first else b''
    if not first:  # (a cron job or script whose pipe is empty, < /dev/null: not the same as an empty line)
        _hash_password_error('nothing on stdin: pipe the password in as its first line, or run the command on a '
                             'terminal to be asked for it')
        return None
    try:
        password = _stdin_text(first)
        again = _stdin_text(second) if second else password  # (no second line: nothing to compare)
    except UnicodeError:
        _hash_password_error("the password on stdin is not text in the locale's encoding (%s) nor UTF-8"
                             % sys.stdin.encoding)
        return None
    if password != again:
        _hash_password_error('the passwords differ (the second line of the input must repeat the first)')
        return None
    return password


def _port(text: str) -> int:
    """``--port``: a TCP port, 1 to 65535 (0 would serve on a port the printed URL does not name)."""
    import argparse
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a port number' % text) from None
    if not 1 <= port <= 65535:  # the socket's bind would raise OverflowError, not an OSError
        raise argparse.ArgumentTypeError('%d is not a port number: use 1 to 65535' % port)
    return port


def _host(text: str) -> str:
    """``--host``: an address to listen on; not empty (which would listen on every address, under a printed URL
    that names none)."""
    import argparse
    if not text.strip():
        raise argparse.ArgumentTypeError('an empty address names no host: use 0.0.0.0 to listen on every address')
    return text


def _batch(text: str) -> int:
    """``--batch``: a whole number of keys, 1 to 100000."""
    import argparse
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100000:  # ('²' is a digit int() refuses)
        raise argparse.ArgumentTypeError('%r is not a batch size: use a whole number from 1 to 100000' % text)
    return int(text)


def _arguments(argv: Optional[List[str]]) -> Any:
    """The command line parsed: ``args.command`` names the command, the other attributes its options."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> typing.NoReturn:
            """Usage and error on stderr as argparse writes them, then status 2 even if stderr fails (before
            Python 3.11 argparse's own write would raise, and the status would be 1)."""
            _print_error(self.format_usage().rstrip('\n'))
            _print_error('%s: error: %s' % (self.prog, message))
            sys.exit(2)

        def print_help(self, file: Any = None) -> None:
            """The help (``--help``) on stdout, as the commands write their results: status 1 and one line on
            stderr if stdout cannot take it (argparse's own write loses the error, and the status is 0)."""
            if file is not None:
                super().print_help(file)
                return
            try:
                _print_out(self.format_help().rstrip('\n'))
            except _StdoutFailed as failed:
                _tell_stdout_failed(self.prog, failed.error)
                sys.exit(1)

    parser = Parser(
        prog='python -m canister', description='Canister %s' % __version__,
        epilog='Exit status: 0 when done, 1 when the command could not do it (one line on stderr says why), 2 for '
               'bad arguments, 130 when Ctrl-C stops it (but the demo, which serves until then: 0). '
               "python -m canister COMMAND --help describes a command's options.")
    commands = parser.add_subparsers(dest='command', required=True)
    demo = commands.add_parser(
        'demo', help='serve a small app showing every feature',
        description='Serve a small app showing every feature, on one page that explains what canister did for '
                    'each request, until Ctrl-C. Without --config it logs to stderr and logs in alice with the '
                    'password my-secret.')
    demo.add_argument('--config', metavar='FILE', help="an ini file with a [canister] section (it replaces all of "
                      "the demo's own settings)")
    demo.add_argument('--host', type=_host, default='127.0.0.1',
                      help='the address to listen on (default: %(default)s)')
    demo.add_argument('--port', type=_port, default=8080, help='the port to listen on (default: %(default)s)')
    hasher = commands.add_parser(
        'hash-password', help='hash a password for the config or the users file',
        description='Hash a password. On a terminal it is asked twice. From a pipe the first line is the '
                    'password; a second line, if there is one, must repeat it (nothing else confirms it).')
    hasher.add_argument('--scheme', choices=('pbkdf2', 'scrypt'), default='pbkdf2',
                        help='the hash function (default: %(default)s)')
    hasher.add_argument('--user', help='print a users-file line for this user instead of a config line')
    commands.add_parser('keys', help='list every config key with its default and meaning',
                        description='List every config key of the [canister] section with its default and meaning, '
                                    'then the aliases.')
    tidy = commands.add_parser(
        'tidy-sessions', help="remove what ended sessions left in the session store (on Redis: users' sets)",
        description="Remove what ended sessions left in the session store, once, and print how many entries went: "
                    "on Redis the ids of expired and ended sessions in the users' sets (a set left empty goes), on "
                    'SQLite the expired rows. The store is the config\'s session_store, or --store. Safe to run '
                    'while the app serves requests.')
    _add_store_options(tidy)
    tidy.add_argument('--batch', metavar='N', type=_batch, default=_TIDY_BATCH,
                      help='keys and ids asked for at a time (default: %(default)s)')
    user_help = ("a name, or a user held as a dict (a token's claims) in JSON: {\"iss\": ISSUER, \"sub\": SUBJECT} "
                 'is enough for a token\'s, {"sub": NAME} is the name NAME (write a name that begins with { so: '
                 '\'{"sub": "{name"}\')')
    lister = commands.add_parser(
        'sessions', help="list a user's live sessions (when made and last used, whether remembered)",
        description="List the live sessions of USER, as plugin.sessions_of does, one line each, oldest first: when it "
                    'was made and last used (UTC) and whether it is remembered; never its id. The store is the '
                    "config's session_store, or --store.")
    ender = commands.add_parser(
        'end-sessions', help="end a user's sessions (log out everywhere)",
        description='End every session of USER, as plugin.end_sessions does (log out everywhere: after a leaked '
                    "password, say), and print how many. The store is the config's session_store, or --store. Safe "
                    'to run while the app serves requests.')
    for command in (lister, ender):
        command.add_argument('user', metavar='USER', type=_cli_user, help=user_help)
        _add_store_options(command)
    args = parser.parse_args(argv)
    on_store = {'tidy-sessions': tidy, 'sessions': lister, 'end-sessions': ender}  # (_add_store_options's)
    if args.command in on_store and args.config is None and args.store is None:
        on_store[args.command].error('name the store: --config FILE or --store URL')
    return args


def _add_store_options(command: Any) -> None:
    """The options that name the session store of a command that works on it (``tidy-sessions``, ``sessions``,
    ``end-sessions``), which :func:`_arguments` then requires (``--config`` or ``--store``)."""
    command.add_argument('--config', metavar='FILE', help='an ini file with a [canister] section')
    command.add_argument('--store', metavar='URL', help="a session_store URL (instead of the config's)")
    command.add_argument('--prefix', help="a session_redis_prefix (instead of the config's)")


def _cli_user(text: str) -> Any:
    """``USER`` of ``sessions`` and ``end-sessions``: a name (see :func:`_as_utf8`), or, beginning with ``{``,
    a user held as a dict in JSON (a token's claims: ``iss`` and ``sub`` are enough), as ``end_sessions`` takes it.
    A name that begins with ``{`` is written as ``{"sub": NAME}``, the same person (``_user_key``): said when such
    a name is given, which is no JSON, rather than read as a name (a mistyped token's user would end nobody's)."""
    import argparse
    try:
        user = _as_utf8(text)
    except UnicodeError:
        raise argparse.ArgumentTypeError('%r is not UTF-8' % text) from None
    if user.lstrip().startswith('{'):
        try:
            user = json.loads(user)
        except ValueError as error:
            as_name = _escape(json.dumps({'sub': user}, ensure_ascii=False))  # (a name that begins with {)
            raise argparse.ArgumentTypeError('%r begins with { but is no JSON object (%s): write a token\'s user as '
                                             '{"iss": "https://idp.example/", "sub": "2481"}, and a name that begins '
                                             'with { as %s' % (text[:60], error, as_name)) from None
        except RecursionError:
            raise argparse.ArgumentTypeError('%r begins with { but is no JSON object canister can read: it nests too '
                                             'deeply' % text[:60]) from None
        if not isinstance(user, dict):
            raise argparse.ArgumentTypeError('%r is JSON but no object' % text[:60])
        # (Python's JSON reads NaN and Infinity, and \ud800 as text no UTF-8 stands for: refused as in a token)
        found = _unwritable_field(user, numbers=True)
        if found is not None:
            field, item = found
            raise argparse.ArgumentTypeError('%r: its field %r %s' % (text[:60], field[:60], (
                'is not valid UTF-8 (it holds a lone surrogate)' if isinstance(item, str)
                else 'is not a finite number (%s)' % _CONSTANTS_NOT_JSON)))
    if _user_key(user) is None:
        raise argparse.ArgumentTypeError('an empty name is nobody: name the user')
    return user


def _run_keys(args: Any) -> int:
    """``python -m canister keys``: see :func:`_print_keys`."""
    _print_keys()
    return 0


def _users_file_name(user: str) -> Optional[str]:
    """The name ``--user`` gives (see :func:`_as_utf8`) if the users file reads the line ``name:hash``
    as this name's, and as nothing else; None if it does not."""
    try:
        name = _as_utf8(user)
    except UnicodeError:
        return None
    return name if _users_file_entries((name + ':hash').encode('utf-8')) == [(1, name, 'hash')] else None


def _run_hash_password(args: Any) -> int:
    """``python -m canister hash-password``: print the hash as a config line or a users-file line."""
    name = None if args.user is None else _users_file_name(args.user)
    if args.user is not None and name is None:
        # (checked before the password is asked for, as argparse checks an option: status 2)
        _hash_password_error("--user %r: the users file would not read that name back (it must be UTF-8 and "
                             "cannot be empty, hold ':' or a line break, start with '#', or start or end with a "
                             'space)' % args.user)
        return 2
    password = _read_password()
    if password is None:
        return 1
    if not password:
        _hash_password_error('an empty password is not allowed')
        return 1
    encoded = hash_password(password, args.scheme)
    line = 'auth_basic_password = %s' % encoded if name is None else '%s:%s' % (name, encoded)
    # In UTF-8 whatever the locale's codec, which could not write every name or would write it otherwise:
    # the users file is read as UTF-8.
    _print_out(line, utf8=True)
    return 0


def _port_problem(host: str, port: int) -> str:
    """Why the demo could not listen on ``host:port`` (taken, or not an address of this host), or ''.
    Asked by binding a socket there for a moment, as the server will (address reuse on, as wsgiref's)."""
    import socket
    try:
        with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return ''


def _serve_demo(app: bottle.Bottle, host: str, port: int) -> None:
    """``bottle.run`` on wsgiref until Ctrl-C, also one that comes while a request is answered: wsgiref's handler
    would catch its KeyboardInterrupt there, print the traceback (to stdout if stderr is closed) and serve on."""
    import signal
    from wsgiref.simple_server import WSGIServer
    state = {'answering': False, 'interrupted': False}

    def interrupt(signum: int, frame: Any) -> None:
        state['interrupted'] = True
        if not state['answering']:  # (waiting for a request, or reading one: stop now)
            raise KeyboardInterrupt

    class Server(WSGIServer):
        def get_app(self) -> Any:
            # wsgiref asks for the app once the request is read, before its handler builds the environ: from
            # here on its handler would catch a KeyboardInterrupt and answer 500 (until the answer is sent:
            # wsgiref's server is one thread).
            state['answering'] = True
            return super().get_app()

        def finish_request(self, request: Any, client_address: Any) -> None:
            try:
                super().finish_request(request, client_address)
            finally:
                state['answering'] = False
            if state['interrupted']:  # (a Ctrl-C while the answer was made and sent, which it let finish)
                raise KeyboardInterrupt

    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler:  # (not where SIGINT is ignored, as in a job in the background)
        signal.signal(signal.SIGINT, interrupt)
    try:
        bottle.run(app, host=host, port=port, quiet=True, server_class=Server)
    finally:
        signal.signal(signal.SIGINT, handler)


def _run_demo(args: Any) -> int:
    """``python -m canister demo``: serve :func:`_demo_app` until stopped; 1 for a ``--config`` it cannot use."""
    import configparser
    if args.config is not None:
        # Bottle's load_config skips a file it cannot read: the demo would start with canister's defaults.
        try:
            with open(args.config, 'rb'):
                pass
        except OSError as error:
            _print_error('python -m canister demo: cannot read --config %s: %s' % (args.config, error.strerror or error))
            return 1
    problem = _port_problem(args.host, args.port)
    if problem:  # said before the app is made: no banner or "demo on" line for a server that never starts
        _print_error('python -m canister demo: cannot serve on %s:%d: %s' % (args.host, args.port, problem))
        return 1
    try:
        app = _demo_app(args.config)
    except (configparser.Error, CanisterError, OSError, ValueError, sqlite3.Error) as error:
        # Not an ini file, text the locale's codec cannot decode (a UnicodeError is a ValueError), a % or $
        # that Bottle's version interpolates, a setting canister refuses (ConfigError) or cannot act on (its
        # log directory, a session store it cannot open): one line, as for any mistake in the file.
        _print_error('python -m canister demo: --config %s: %s' % (args.config, ' '.join(str(error).split())))
        return 1
    print('Canister demo on http://%s:%d/ (Ctrl-C to stop)' % (args.host, args.port), flush=True)
    try:
        _serve_demo(app, args.host, args.port)
    except OSError as error:  # the port is taken, the address is not this host's
        _print_error('python -m canister demo: cannot serve on %s:%d: %s'
                     % (args.host, args.port, error.strerror or error))
        return 1
    return 0


def _load_tidy_config_file(app: bottle.Bottle, path: str, store_given: bool) -> None:
    """Load ``tidy-sessions``'s ``--config`` into the app's config; ConfigError if it cannot be read or, with
    no ``--store``, names no store (the wrong file, or a misspelt key: the default, memory, would say there is
    nothing to tidy, with status 0, and a cron job would go on tidying nothing)."""
    import configparser
    try:
        with open(path, 'rb'):  # (Bottle's load_config skips a file it cannot read)
            pass
    except OSError as error:
        raise ConfigError('cannot read --config %s: %s' % (path, error.strerror or error)) from None
    try:
        app.config.load_config(path)
    except (configparser.Error, ValueError) as error:  # not an ini file, or not text in the locale's codec
        raise ConfigError('--config %s: %s' % (path, error)) from None
    if not store_given and not any(str(key).lower() == 'canister.session_store' for key in app.config):
        raise ConfigError('--config %s sets no session_store in its [canister] section%s: name the store there, '
                          'or give --store URL' % (path, _misspelt_store_key(app.config)))


def _misspelt_store_key(config: Mapping[str, Any]) -> str:
    """`` (sesion_store: did you mean session_store?)`` for the first unknown ``canister.*`` key whose
    hint is ``session_store`` (a misspelt key is likelier than a missing one), else ``''``."""
    for key in config:
        name = str(key).lower()
        if name.startswith('canister.'):
            name = name[len('canister.'):]
            if name not in KEYS and name not in ALIASES and 'session_store' in _unknown_key_hint(name):
                return ' (%s: did you mean session_store?)' % name
    return ''


def _holds_sessions(path: str) -> bool:
    """True if the SQLite file at ``path`` has canister's sessions table; read only, so a file that is not
    a session store (another database of the app's, named by mistake) is left as it was."""
    connection = sqlite3.connect(_sqlite_uri(os.path.abspath(path), 'ro'), uri=True)
    try:
        return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'canister_sessions'"
                                  ).fetchone() is not None
    finally:
        connection.close()


def _store_config(args: Any, **settings: str) -> Config:
    """The settings a command on the session store reads (``tidy-sessions``, ``sessions``, ``end-sessions``): the
    ``--config`` file's, with ``settings``, ``--store`` and ``--prefix`` over them."""
    app = bottle.Bottle()
    if args.config is not None:
        _load_tidy_config_file(app, args.config, args.store is not None)
    overrides = dict(settings, session_store=args.store, session_redis_prefix=args.prefix)
    config = Config.from_app(app.config, {key: value for key, value in overrides.items() if value is not None})
    url = config['session_store']
    if args.prefix is not None and not url.startswith(('redis', 'rediss', 'unix://')):
        raise ConfigError('--prefix names the keys of a Redis store, and %s is not one' % _mask_url_value(url))
    if url.startswith('sqlite:///'):
        _check_session_file(url)
    return config


def _check_session_file(url: str) -> None:
    """ConfigError unless the ``sqlite:///`` file of ``url`` is a session store: a typo would make a new file, an
    app makes canister's table at install, and the command must not make it in another file (nor say it tidied
    that one, with status 0)."""
    path = _sqlite_path(url)
    if os.path.isdir(path):
        raise ConfigError('canister.session_store = %s: %s is a directory, not a session file'
                          % (url, os.path.abspath(path)))
    special = _special_file(path)
    if special:
        raise ConfigError('canister.session_store = %s: %s is %s, not a regular file'
                          % (url, os.path.abspath(path), special))
    if not os.path.isfile(path):
        if os.path.isabs(path):
            raise ConfigError('canister.session_store = %s: there is no such file' % url)
        raise ConfigError('canister.session_store = %s: there is no such file as %s (a relative path is read from '
                          'the directory the command runs in, the home directory under cron: run it from the '
                          'directory the app runs in, or write the path absolute, sqlite:////path/to/sessions.db)'
                          % (url, os.path.abspath(path)))
    try:
        holds = _holds_sessions(_sqlite_path(url))
    except sqlite3.Error as error:
        raise ConfigError('canister.session_store = %s: %s' % (url, error)) from None
    if not holds:
        raise ConfigError('canister.session_store = %s: the file has no canister_sessions table, so no app keeps its '
                          'sessions there (the wrong file?); it is left as it was' % url)


def _entries(count: int) -> str:
    """``1 entry``, ``3 entries``."""
    return '%d %s' % (count, 'entry' if count == 1 else 'entries')


def _tidy_failure(store_url: str, removed: int, error: Exception, why: str) -> str:
    """The line of a ``tidy-sessions`` that failed once the store was opened."""
    if not removed and isinstance(error, StoreUnavailable):  # (not "failed after removing 0": it never got going)
        return 'cannot reach %s, nothing was removed: %s' % (store_url, why)
    if not removed and isinstance(error, ConfigError):  # (what an install would refuse too: see _run_tidy_sessions)
        return 'cannot use %s, nothing was removed: %s' % (store_url, why)
    return 'tidying %s failed after removing %s of ended sessions: %s' % (store_url, _entries(removed), why)


def _refuse_unusable_redis(store: SessionStore) -> None:
    """StoreUnavailable if ``store`` is a Redis server that an install refuses (a database number Redis refuses,
    a URL of the wrong kind, a node of a Cluster, whose other masters a command would miss)."""
    if isinstance(store, RedisStore):
        problem = store.check()
        if problem:
            raise StoreUnavailable(problem)


def _checked_tidy(store: SessionStore, store_url: str, batch: int) -> int:
    """The store's ``tidy``, a Redis server checked first as an install checks it (a database number Redis refuses,
    a URL of the wrong kind, a node of a Cluster, whose other masters SCAN would miss); a Ctrl-C meanwhile raised
    again with what it had removed by then (which stays removed), for :func:`_run_command`'s line."""
    try:
        _refuse_unusable_redis(store)
        return store.tidy(batch)
    except KeyboardInterrupt:
        removed = getattr(store, 'tidy_removed', 0)
        raise KeyboardInterrupt(' after removing %s of ended sessions from %s (they stay removed)'
                                % (_entries(removed), store_url) if removed else
                                ', nothing was removed from %s' % store_url) from None


def _interrupted_before_tidying(url: Optional[str]) -> KeyboardInterrupt:
    """A Ctrl-C while ``tidy-sessions`` read its config or opened the store (a ``--config`` that does not answer,
    a Cluster's nodes asked for its slots): raised again saying that nothing was removed, from ``url`` once known."""
    return KeyboardInterrupt(', nothing was removed%s' % (' from %s' % _mask_url_value(url) if url else ''))


def _run_tidy_sessions(args: Any) -> int:
    """``python -m canister tidy-sessions``: the store's ``tidy``, once; 1 if the store cannot be used."""
    import configparser
    store = None
    url = args.store  # (known before the config is read when given: it wins over the file)
    try:
        config = _store_config(args)
        url = config['session_store']
        if config['session_store'] == 'memory':
            _print_out('Nothing to tidy: a memory store lives in the process of the app, which drops ended sessions '
                       'itself')
            return 0
        store = _configured_store(config)
        removed = _checked_tidy(store, _mask_url_value(config['session_store']), args.batch)
    except KeyboardInterrupt as interrupt:
        if interrupt.args:  # (_checked_tidy's, which says what it had removed)
            raise
        raise _interrupted_before_tidying(url) from None
    except (configparser.Error, CanisterError, OSError, ValueError, sqlite3.Error) as error:
        # as the demo's --config: one line (a store it cannot reach too: StoreUnavailable, its password masked)
        why = ' '.join(_mask_urls(str(error)).split())
        if store is not None:  # the store, and what the tidy did before it failed (it stays done)
            why = _tidy_failure(_mask_url_value(config['session_store']), getattr(store, 'tidy_removed', 0), error, why)
        _print_error('python -m canister tidy-sessions: %s' % why)
        return 1
    finally:
        if store is not None:
            store.close()
    _print_out('Removed %s of ended sessions from %s' % (_entries(removed), _mask_urls(config['session_store'])))
    skipped = getattr(store, 'tidy_skipped', 0)
    if skipped:  # (keys of another app under canister's prefix: canister's own writes could clash with them)
        _print_out('Left alone %d %s under %suser: that %s not a set of session ids (does another app use the prefix '
                   '%r?)' % (skipped, 'key' if skipped == 1 else 'keys', config['session_redis_prefix'],
                             'is' if skipped == 1 else 'are', config['session_redis_prefix']))
    return 0


def _on_user_sessions(args: Any, act: Callable[[SessionManager], Any]) -> Any:
    """What ``act`` returns, given the sessions of the store that ``sessions`` or ``end-sessions`` names (read as
    ``tidy-sessions`` reads it, a Redis server checked as an install checks it); None, said in one line on
    stderr, if the store cannot be used.  The log's WARNING lines go to stderr, as lines of the command
    (``_CommandLines``)."""
    import configparser
    name = 'python -m canister %s' % args.command
    manager: Optional[SessionManager] = None
    log: Optional[RequestLog] = None
    lines = _CommandLines(name)
    try:
        config = _store_config(args, log_path='stderr', log_level='WARNING')
        if config['session_store'] == 'memory':
            _print_error('%s: a memory store lives in the process of the app, and no other process sees its '
                         'sessions: call plugin.sessions_of(user) or plugin.end_sessions(user) in the app' % name)
            return None
        log = RequestLog(bottle.Bottle(), config)
        log.close()  # (no log sink: its lines go to lines, as the command's own)
        log.logger.addHandler(lines)
        manager = SessionManager(config, None, log)
        _refuse_unusable_redis(manager.store)
        return act(manager)
    except (configparser.Error, CanisterError, OSError, ValueError, sqlite3.Error) as error:
        # as tidy-sessions's: one line, a password in a URL masked, and what end_sessions had ended by then
        why = ' '.join(_mask_urls(str(error)).split())
        ended = getattr(error, 'removed', None)  # (StoreUnavailable's, as tidy-sessions reads it)
        if ended:
            why = 'ending the sessions of %s failed after ending %d session%s (they stay ended): %s' % (
                _shown_user(args.user), ended, '' if ended == 1 else 's', why)
        _print_error('%s: %s' % (name, why))
        return None
    finally:
        if manager is not None:
            manager.store.close()
        if log is not None:
            log.close()
            log.logger.removeHandler(lines)


class _CommandLines(logging.Handler):
    """The log's lines in ``sessions`` and ``end-sessions`` (WARNING and up), each one line on stderr that reads
    as the command's own (``python -m canister end-sessions: warning: Session: ...``), not the log's layout with
    its time, level and thread."""

    def __init__(self, command: str) -> None:
        super().__init__(logging.WARNING)
        self.command = command

    def emit(self, record: logging.LogRecord) -> None:
        _print_error('%s: %s: %s' % (self.command, record.levelname.lower(), ' '.join(record.getMessage().split())))


def _utc(moment: Optional[float]) -> str:
    """A time of ``sessions``'s lines: ``2026-12-06T19:20:03Z``; ``unknown`` for None."""
    return 'unknown' if moment is None else time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(moment))


def _shown_user(user: Any) -> str:
    """USER as a line of ``end-sessions`` names it: a name as it is, a dict in JSON; control characters escaped
    as the log escapes them (no escape sequence reaches the terminal)."""
    return _escape(user if isinstance(user, str) else json.dumps(user, ensure_ascii=False))


def _run_sessions(args: Any) -> int:
    """``python -m canister sessions USER``: one line per live session of USER (``sessions_of``), never its id."""
    entries = _on_user_sessions(args, lambda manager: manager.sessions_of(args.user))
    if entries is None:
        return 1
    for entry in entries:
        _print_out('created %s, last used %s, %s' % (_utc(entry['created']), _utc(entry['last_used']),
                                                     'remembered' if entry['remembered'] else 'not remembered'))
    return 0


def _run_end_sessions(args: Any) -> int:
    """``python -m canister end-sessions USER``: ``end_sessions`` of USER, and how many it ended."""
    ended = _on_user_sessions(args, lambda manager: manager.end_sessions(args.user))
    if ended is None:
        return 1
    _print_out('Ended %d session%s of %s' % (ended, '' if ended == 1 else 's', _shown_user(args.user)), utf8=True)
    return 0


#: What runs each command of :func:`_arguments`; each returns the exit status.
_COMMANDS: Dict[str, Callable[[Any], int]] = {'demo': _run_demo, 'hash-password': _run_hash_password, 'keys': _run_keys,
                                              'tidy-sessions': _run_tidy_sessions, 'sessions': _run_sessions,
                                              'end-sessions': _run_end_sessions}


def _cli_warning_shower(command: str, shown: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that shows a :class:`CanisterWarning` as one line after the command's name (not
    Python's header naming canister.py's line, which is no line of the user's), and others as ``shown`` does."""
    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if issubclass(category, CanisterWarning):
            _print_error('%s: warning: %s' % (command, ' '.join(str(message).split())))
        else:
            shown(message, category, filename, lineno, file, line)
    return show


def _tell_stdout_failed(name: str, error: OSError) -> None:
    """Say in one line on stderr that stdout could not take what the command ``name`` wrote (nothing for a reader
    gone from a pipe), and drop what is left in stdout's buffer, which would fail again at exit with a traceback."""
    if sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):  # (a stdout with no file descriptor: nothing is left)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if not isinstance(error, BrokenPipeError):
        _print_error('%s: error: cannot write to stdout: %s' % (name, error.strerror or error))


def _run_command(command: str, args: Any) -> int:
    """Run ``command``: its exit status, or 1 if stdout could not take its result and 130 if Ctrl-C stopped it,
    each said in one line on stderr (no traceback) but a reader gone from a pipe (``keys | head``)."""
    name = 'python -m canister %s' % command
    try:
        if sys.stdout is None and command != 'demo':  # (said before a password is asked for or a store tidied)
            raise _StdoutFailed(OSError(errno.EBADF, _STDOUT_CLOSED))
        return _COMMANDS[command](args)
    except _StdoutFailed as failed:
        _tell_stdout_failed(name, failed.error)
        return 1
    except KeyboardInterrupt as interrupt:  # (its argument, if any, says what was done by then)
        _end_terminal_line()
        _print_error('%s: error: interrupted%s' % (name, interrupt.args[0] if interrupt.args else ''))
        return 130


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m canister demo|hash-password|keys|tidy-sessions|sessions|end-sessions``: its exit status, 130 for a Ctrl-C (one
    line on stderr, no traceback) from the first line of canister.py on (``_interrupted_loading``)."""
    import signal
    loading = signal.getsignal(signal.SIGINT) is _interrupted_loading
    try:
        if loading:  # (a KeyboardInterrupt from here on: ``_run_command`` names the command it stopped)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        args = _arguments(argv)
        with warnings.catch_warnings():  # (puts Python's way of showing warnings back when the command returns)
            warnings.showwarning = _cli_warning_shower('python -m canister %s' % args.command, warnings.showwarning)
            return _run_command(args.command, args)
    except KeyboardInterrupt:  # (while the command line was read)
        _print_error('python -m canister: error: interrupted')
        return 130
    finally:
        if loading:  # (Python's exit after the command)
            signal.signal(signal.SIGINT, _interrupted_loading)


if __name__ == '__main__':
    sys.exit(main())
