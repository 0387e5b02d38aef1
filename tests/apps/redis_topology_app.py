"""A Bottle app with canister sessions on a Redis deployment (single, TLS, Sentinel or Cluster).

Configured by environment variables:
  CANISTER_SESSION_STORE    session store URL (redis://, rediss://, redis+sentinel://, redis+cluster://)
  CANISTER_REDIS_PREFIX     session_redis_prefix (default: canister's)
  CANISTER_REDIS_WAIT       session_redis_wait (default 0)
  CANISTER_REDIS_TIMEOUT    session_redis_timeout in seconds (default: canister's)
  CANISTER_SESSION_TIMEOUT  session_timeout in seconds (default: canister's)
  CANISTER_LOG_PATH         canister's log directory (or stderr/stdout; default stderr)
  CANISTER_LOG_LEVEL        canister's log level (default INFO)
  CANISTER_HOLD_DIR         where GET /hold drops its file "loaded" and waits for a file "release"

Routes:
  GET /ping                 does not touch the session
  GET /count                returns the session's counter (starting at 0) and increments it
  GET /peek                 returns the session's counter without changing it
  GET /set?key=K&value=V    session.data[K] = V
  GET /read                 {"user": session.user, "data": session.data}
  GET /login?name=N         session.user = N
  GET /logout               session.invalidate()
  GET /remember?seconds=S   session.remember(S)
  GET /end?name=N           plugin.end_sessions(N): the number ended
  GET /sessions?name=N      len(plugin.sessions_of(N))
  GET /hold?key=K&value=V   loads the session, waits (10 s at most) for the test (CANISTER_HOLD_DIR), sets K=V
  GET /redis-py             {"version": the version of redis-py this process runs}
"""
import os
import time

import redis

from canister import session

from _common import add_counter_routes, canister_app, mark_ready

options = {
    'session_store': os.environ['CANISTER_SESSION_STORE'],
    'session_redis_wait': int(os.environ.get('CANISTER_REDIS_WAIT', '0')),
    'session_new_max': 0,  # (benchmarks/failover.py's new browsers all come from 127.0.0.1)
}
if os.environ.get('CANISTER_REDIS_PREFIX'):
    options['session_redis_prefix'] = os.environ['CANISTER_REDIS_PREFIX']
if os.environ.get('CANISTER_REDIS_TIMEOUT'):
    options['session_redis_timeout'] = float(os.environ['CANISTER_REDIS_TIMEOUT'])
if os.environ.get('CANISTER_SESSION_TIMEOUT'):
    options['session_timeout'] = int(os.environ['CANISTER_SESSION_TIMEOUT'])

app, plugin = canister_app(**options)
add_counter_routes(app)


@app.get('/set')
def set_key(key, value):
    session.data[key] = value
    return {'ok': True}


@app.get('/read')
def read():
    return {'user': session.user, 'data': dict(session.data)}


@app.get('/login')
def login(name):
    session.user = name
    return {'ok': True}


@app.get('/logout')
def logout():
    session.invalidate()
    return {'ok': True}


@app.get('/remember')
def remember(seconds: int):
    session.remember(seconds)
    return {'ok': True}


@app.get('/end')
def end(name):
    return {'ended': plugin.end_sessions(name)}


@app.get('/sessions')
def sessions(name):
    return {'count': len(plugin.sessions_of(name))}


@app.get('/hold')
def hold(key, value):
    session.data.get(key)  # the session is loaded ...
    hold_dir = os.environ['CANISTER_HOLD_DIR']
    open(os.path.join(hold_dir, 'loaded'), 'w').close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists(os.path.join(hold_dir, 'release')):
        time.sleep(0.01)  # ... and kept while the test moves its slot
    session.data[key] = value
    return {'ok': True}


@app.get('/redis-py')
def redis_py():
    return {'version': redis.__version__}


mark_ready()
