"""Shared bits for the app modules served by tests/servers.py.

These modules are imported by gunicorn/waitress in a subprocess, with
tests/apps and the repository root on PYTHONPATH (set by tests/servers.py).
"""
import os
import time
from typing import Any, Dict, Tuple

import bottle

import canister
from canister import session


def mark_ready():
    """Signal that this process finished importing the app.

    tests/servers.py passes TEST_READY_DIR; each worker process drops a file
    named after its pid there, so the harness can wait until every gunicorn
    worker is up (not only the first one).
    """
    ready_dir = os.environ.get('TEST_READY_DIR')
    if ready_dir:
        path = os.path.join(ready_dir, 'ready.%d' % os.getpid())
        with open(path, 'w') as f:
            f.write(str(os.getpid()))


def shift_clock() -> None:
    """Canister's clock moved on by $CANISTER_CLOCK_SHIFT seconds, when set (``helpers.noon_shift``: a test that
    must name the day's log file of its served app puts the app's clock at noon, whatever the hour of the run).
    It goes on at the real pace: only the date and the times in the log move."""
    shift = float(os.environ.get('CANISTER_CLOCK_SHIFT') or 0)
    if shift:
        canister._now = lambda: time.time() + shift


def quiet_when_slow(options: Dict[str, Any]) -> Dict[str, Any]:
    """``options`` (a plugin's settings), with ``log_slow`` $CANISTER_LOG_SLOW, else 0 (no slow-response WARNING),
    unless they give it (in any case); the dict.

    As make_app in tests/conftest.py: under another job's load any request may take longer than log_slow's default
    1 s, and its WARNING line would upset a test that counts WARNINGs or reads the last line; a test about slow
    responses sets log_slow (or $CANISTER_LOG_SLOW for a served app).
    """
    if 'log_slow' not in {str(key).lower() for key in options}:
        options['log_slow'] = os.environ.get('CANISTER_LOG_SLOW', 0)
    return options


def canister_app(**options: Any) -> Tuple[bottle.Bottle, canister.Canister]:
    """An app with GET /ping and a plugin on $CANISTER_SESSION_STORE, _LOG_PATH, _LOG_LEVEL, _LOG_FORMAT,
    _ERROR_FORMAT, _LOG_SLOW; (app, plugin); canister's clock shifted by $CANISTER_CLOCK_SHIFT (``shift_clock``).

    ``options`` go to the plugin as well; the defaults are memory, stderr, INFO, text, auto and 0 (no WARNING for
    a slow response: see ``quiet_when_slow``).
    """
    options.setdefault('session_store', os.environ.get('CANISTER_SESSION_STORE', 'memory'))
    options.setdefault('log_path', os.environ.get('CANISTER_LOG_PATH', 'stderr'))
    options.setdefault('log_level', os.environ.get('CANISTER_LOG_LEVEL', 'INFO'))
    options.setdefault('log_format', os.environ.get('CANISTER_LOG_FORMAT', 'text'))
    options.setdefault('error_format', os.environ.get('CANISTER_ERROR_FORMAT', 'auto'))
    shift_clock()
    app = bottle.Bottle()
    plugin = canister.Canister(**quiet_when_slow(options))
    app.install(plugin)

    @app.get('/ping')
    def ping():
        return {'pong': True, 'pid': os.getpid()}

    return app, plugin


def add_counter_routes(app: bottle.Bottle) -> bottle.Bottle:
    """Add GET /count (the session's counter, from 0, then incremented) and GET /peek (it, unchanged); the app."""

    @app.get('/count')
    def count():
        counter = session.data.get('counter', 0)
        session.data['counter'] = counter + 1
        return {'counter': counter, 'pid': os.getpid()}

    @app.get('/peek')
    def peek():
        return {'counter': session.data.get('counter'), 'pid': os.getpid()}

    return app


def add_login_route(app: bottle.Bottle) -> bottle.Bottle:
    """Add GET /login?name=N (session.user = N and session.data['owner'] = N; answers the user and the pid); the app."""

    @app.get('/login')
    def login(name: str):
        session.user = name
        session.data['owner'] = name
        return {'user': session.user, 'pid': os.getpid()}

    return app
