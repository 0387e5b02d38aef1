"""A Bottle app with canister for load and soak runs: one session per client.

Configured by environment variables:
  CANISTER_SESSION_STORE    session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH         canister's log directory (or stderr/stdout; default stderr)
  CANISTER_LOG_LEVEL        canister's log level (default INFO)
  CANISTER_LOG_FORMAT       canister's log format (default text)
  CANISTER_SESSION_TIMEOUT  canister.session_timeout (default: canister's)
  CANISTER_SESSION_MAX      canister.session_max (default: canister's)

Routes (JSON answers carry the serving process id as ``pid``):
  GET /ping           does not touch the session
  GET /login?name=N   session.user = N and session.data['owner'] = N
  GET /bump?name=N    increments session.data['counter']; answers the session's user and data
  GET /boom?name=N    writes poison into the session (data, counter, user), then raises: the
                      answer is a 500 and nothing of it may be saved or seen by a later request
  GET /dated          returns a dict holding a datetime, which Bottle's JSON plugin cannot send: a 500
                      Bottle catches outside canister's route wrapper
  GET /unwrapped-boom raises in a route canister does not wrap (skip=['canister']): a 500 Bottle catches
  GET /broken-page    answers 418, whose error page (@app.error(418)) raises: Bottle's "Critical error" 500
  GET /whoami         the session's user and data, unchanged
  GET /stats          sessions held by the store (memory store only, else null); no session
"""
import datetime
import os

import bottle

from canister import session

from _common import add_login_route, canister_app, mark_ready

_overrides = {}
for _key in ('session_timeout', 'session_max'):
    if os.environ.get('CANISTER_' + _key.upper()):
        _overrides[_key] = os.environ['CANISTER_' + _key.upper()]

# (the load and soak runs are many clients from one address, 127.0.0.1: no limit of new sessions per client)
_overrides.setdefault('session_new_max', 0)
app, plugin = canister_app(**_overrides)
add_login_route(app)
PID = os.getpid()


@app.get('/bump')
def bump(name: str = ''):
    session.data['counter'] = session.data.get('counter', 0) + 1
    return {'counter': session.data['counter'], 'user': session.user, 'data': session.data, 'pid': PID}


@app.get('/boom')
def boom(name: str = ''):
    session.data['poison'] = name
    session.data['counter'] = -1000000
    session.user = 'hijacked-by-' + name
    raise RuntimeError('boom after touching the session')


@app.get('/dated')
def dated():
    return {'at': datetime.datetime(2026, 12, 5)}


@app.get('/unwrapped-boom', skip=['canister'])
def unwrapped_boom():
    raise RuntimeError('boom outside the route wrapper')


@app.get('/broken-page')
def broken_page():
    bottle.abort(418, 'a page that breaks')


@app.error(418)
def page_that_raises(error):
    raise RuntimeError('the error page broke')


@app.get('/whoami')
def whoami():
    return {'user': session.user, 'data': session.data, 'pid': PID}


@app.get('/stats')
def stats():
    try:
        held = len(plugin.sessions.store)
    except TypeError:
        held = None
    return {'sessions': held, 'pid': PID}


mark_ready()
