"""A Bottle app with canister whose session routes leave time for other requests to overlap.

Configured by environment variables:
  CANISTER_SESSION_STORE  session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout; default stderr)
  CANISTER_LOG_LEVEL      canister's log level (default INFO)

Routes (JSON answers carry the serving process id as ``pid``):
  GET /ping                      does not touch the session
  GET /login?name=N&delay=S      session.user = N, then sleeps S seconds (a login made, not yet stored)
  GET /login?name=N&hold=P       session.user = N, then creates the file P.reached and waits until the test
                                 creates the file P (20 s at most): the login made, not yet stored, until then
  GET /logout                    session.invalidate()
  GET /set?key=K&value=V         session.data[K] = V
  GET /incr?key=K&delay=S        reads session.data, sleeps S seconds, then increments data[K]
                                 (the sleep holds the loaded session open while other requests
                                 of the same session run, in this worker or another)
  GET /regenerate?delay=S        session.regenerate(), then sleeps S seconds (a move made, not yet stored)
  GET /regenerate?hold=P         session.regenerate(), then held as /login?hold=P is
  GET /read                      the session's user and data, unchanged
  GET /end?name=N                plugin.end_sessions(N): ends every session of that user
"""
import os
import pathlib
import time

from canister import session

from _common import canister_app, mark_ready

app, plugin = canister_app()
PID = os.getpid()


def held(path: str, delay: float) -> None:
    """Sleep ``delay`` seconds; with a ``path``, say so (the file ``path``.reached) and wait for the file ``path``."""
    if delay:
        time.sleep(delay)
    if path:
        pathlib.Path(path + '.reached').touch()
        deadline = time.monotonic() + 60
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)


@app.get('/login')
def login(name: str, delay: float = 0.0, hold: str = ''):
    session.user = name
    held(hold, delay)
    return {'user': session.user, 'pid': PID}


@app.get('/logout')
def logout():
    session.invalidate()
    return {'pid': PID}


@app.get('/set')
def set_key(key: str, value: str):
    session.data[key] = value
    return {'pid': PID}


@app.get('/incr')
def incr(key: str, delay: float = 0.0):
    value = session.data.get(key, 0)
    if delay:
        time.sleep(delay)
    session.data[key] = value + 1
    return {'key': key, 'value': value + 1, 'pid': PID}


@app.get('/regenerate')
def regenerate(delay: float = 0.0, hold: str = ''):
    session.regenerate()
    held(hold, delay)
    return {'pid': PID}


@app.get('/read')
def read():
    return {'user': session.user, 'data': session.data, 'pid': PID}


@app.get('/end')
def end(name: str):
    return {'ended': plugin.end_sessions(name), 'pid': PID}


mark_ready()
