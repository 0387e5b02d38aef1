"""A Bottle app with canister for the gevent tests: handlers that give way to gevent's hub.

tests/servers.py serves it with ``bottle.run(server='gevent')`` after ``gevent.monkey.patch_all()``,
or under gunicorn's gevent worker (which patches before it imports the app): ``time.sleep`` then
lets the other greenlets run, and ``threading.local`` is per greenlet.

Configured by environment variables:
  CANISTER_SESSION_STORE  session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout; default stderr)
  CANISTER_LOG_LEVEL      canister's log level (default INFO)
  CANISTER_ERROR_FORMAT   canister's error_format (default auto)
  GEVENT_APP_WARM_UP      if set, the app answers GET /ping once at import (in gunicorn's master
                          with --preload), as an app checking itself at start might
  GEVENT_APP_SLOW_HASH    if set, the stored form of the Basic user ``slow`` (a costly hash, for
                          the tests of logins that must not stop the other greenlets)
  GEVENT_APP_JWKS_URL     if set, Bearer tokens for the audience ``gevent-app`` are checked with the
                          keys of this JWKS URL, refetched on an unknown kid at most every
                          GEVENT_APP_JWKS_REFETCH seconds (default 10), and unasked once they are
                          GEVENT_APP_JWKS_MAX_AGE seconds old (canister's 5 minutes if not set)
The log is JSON lines, and 127.0.0.1 is a trusted proxy, so each test client names its own
address in ``X-Forwarded-For``.

Routes (JSON answers):
  GET /ping                   does not touch the session
  GET /login?name=N           session.user = N and session.data['owner'] = N
  GET /bump?name=N&pause=S    reads the counter, sleeps S seconds (other greenlets run), writes it
                              plus one and logs a line naming N through app.log; answers the counter,
                              the session's user and owner, the thread's name and the request id as
                              the handler sees them
  GET /incr?key=K&delay=S     reads data[K] and logs that it did, sleeps S seconds, writes data[K] + 1
  GET /incr?key=K&hold=P      the same, waiting (other greenlets run) until the test creates the file P
                              (20 s at most) instead of sleeping
  GET /logout                 session.invalidate()
  GET /read                   the session's user and data, unchanged
  GET /slow?seconds=S         sleeps S seconds without touching the session
  GET /slow?hold=P            the same, creating the file P.reached and waiting (other greenlets run) until the
                              test creates the file P (20 s at most) instead of sleeping
  GET /warn?text=T            logs T through app.log at WARNING
  GET /spawned                puts a key in the session, then a greenlet it spawns reads the session:
                              what that greenlet saw
  POST /form-login            canister.log_in(username, password, users) against the users ``slow``
                              (GEVENT_APP_SLOW_HASH) and ``broken`` (a PBKDF2 hash whose rounds are
                              not a number): the user, or 401
  GET /verify?password=P      canister.verify_password(P, GEVENT_APP_SLOW_HASH): whether it is right
  GET /leftovers              what requests that ended left in this process: their contexts still
                              alive, and the names of the threads (greenlets) alive; and whether
                              gevent patched threading
"""
import gc
import io
import os
import threading
import time

import bottle
import gevent
import gevent.monkey

import canister
from canister import session

from _common import add_login_route, canister_app, mark_ready

SLOW_HASH = os.environ.get('GEVENT_APP_SLOW_HASH')
JWKS_URL = os.environ.get('GEVENT_APP_JWKS_URL')
if os.environ.get('GEVENT_APP_JWKS_MAX_AGE'):
    canister._Jwks.max_age = float(os.environ['GEVENT_APP_JWKS_MAX_AGE'])
app, plugin = canister_app(log_format='json', trusted_proxies='127.0.0.1',
                           **({'auth_basic_username': 'slow', 'auth_basic_password': SLOW_HASH} if SLOW_HASH else {}),
                           **({'auth_jwt_jwks_url': JWKS_URL, 'auth_jwt_client_id': 'gevent-app',
                               'auth_jwt_jwks_refetch': os.environ.get('GEVENT_APP_JWKS_REFETCH', '10')}
                              if JWKS_URL else {}))
add_login_route(app)
PID = os.getpid()
FORM_USERS = {'slow': SLOW_HASH, 'broken': 'pbkdf2_sha256:many:c2FsdHNhbHRzYWx0c2FsdA:ZGlnZXN0'}


@app.get('/bump')
def bump(name: str, pause: float = 0.0):
    counter = session.data.get('counter', 0)
    time.sleep(pause)
    session.data['counter'] = counter + 1
    app.log.info('bump by %s', name)
    return {'counter': counter + 1, 'user': session.user, 'owner': session.data.get('owner'),
            'thread': threading.current_thread().name, 'request_id': canister.request_id()}


@app.get('/incr')
def incr(key: str, delay: float = 0.0, hold: str = ''):
    value = session.data.get(key, 0)
    app.log.info('incr %s: loaded %d', key, value)
    time.sleep(delay)
    deadline = time.monotonic() + 60
    while hold and not os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.01)
    session.data[key] = value + 1
    return {'key': key, 'value': value + 1}


@app.get('/logout')
def logout():
    session.invalidate()
    return {'pid': PID}


@app.get('/read')
def read():
    return {'user': session.user, 'data': session.data}


@app.get('/slow')
def slow(seconds: float = 0.0, hold: str = ''):
    time.sleep(seconds)
    if hold:
        open(hold + '.reached', 'w').close()
    deadline = time.monotonic() + 60
    while hold and not os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {'slept': seconds}


@app.get('/warn')
def warn(text: str):
    app.log.warning('%s', text)
    return {'warned': text}


@app.get('/spawned')
def spawned():
    session.data['mine'] = 'yes'
    seen = {}

    def look():
        seen['data'] = dict(session.data)
        seen['user'] = session.user
        seen['request_id'] = canister.request_id()
        try:
            seen['sid'] = session.sid
        except canister.CanisterError as error:
            seen['sid'] = 'CanisterError: %s' % error

    gevent.spawn(look).join()
    return seen


@app.post('/form-login')
def form_login(username: str = '', password: str = ''):
    if not canister.log_in(username, password, FORM_USERS):
        bottle.abort(401, 'wrong user name or password')
    return {'user': session.user}


@app.get('/verify')
def verify(password: str):
    return {'right': canister.verify_password(password, SLOW_HASH)}


@app.get('/leftovers')
def leftovers():
    gc.collect()
    contexts = [item for item in gc.get_objects() if isinstance(item, canister._RequestContext)]
    names = [thread.name for thread in threading.enumerate()]
    return {'contexts': len(contexts), 'threads': names, 'mine': threading.current_thread().name,
            'patched': gevent.monkey.is_module_patched('threading')}


if os.environ.get('GEVENT_APP_WARM_UP'):
    app.wsgi({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/ping', 'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '80',
              'REMOTE_ADDR': '127.0.0.1', 'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO()},
             lambda status, headers, exc_info=None: None)

mark_ready()
