"""A Bottle app with canister sessions on a Redis deployment (single, TLS, Sentinel or Cluster).

Configured by environment variables:
  CANISTER_SESSION_STORE    session store URL (redis://, rediss://, redis+sentinel://, redis+cluster://)
  CANISTER_REDIS_PREFIX     session_redis_prefix (default: canister's)
  CANISTER_REDIS_WAIT       session_redis_wait (default 0)
  CANISTER_SESSION_TIMEOUT  session_timeout in seconds (default: canister's)
  CANISTER_LOG_PATH         canister's log directory (or stderr/stdout; default stderr)
  CANISTER_LOG_LEVEL        canister's log level (default INFO)

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
"""
import os

from canister import session

from _common import add_counter_routes, canister_app, mark_ready

options = {
    'session_store': os.environ['CANISTER_SESSION_STORE'],
    'session_redis_wait': int(os.environ.get('CANISTER_REDIS_WAIT', '0')),
}
if os.environ.get('CANISTER_REDIS_PREFIX'):
    options['session_redis_prefix'] = os.environ['CANISTER_REDIS_PREFIX']
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


mark_ready()
