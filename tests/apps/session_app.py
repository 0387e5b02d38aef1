"""A Bottle app with the canister plugin and one session counter.

Configured by environment variables:
  CANISTER_SESSION_STORE  session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout)
  CANISTER_LOG_LEVEL      canister's log level (default INFO)

Routes:
  GET /ping   does not touch the session; answers {"pong": true, "pid": ...}
  GET /count  returns the session's counter (starting at 0) and increments it
  GET /peek   returns the session's counter without changing it
"""
import os

import bottle

import canister
from canister import session

from _common import mark_ready

app = bottle.Bottle()
app.install(canister.Canister(
    session_store=os.environ.get('CANISTER_SESSION_STORE', 'memory'),
    log_path=os.environ.get('CANISTER_LOG_PATH', 'stderr'),
    log_level=os.environ.get('CANISTER_LOG_LEVEL', 'INFO'),
))


@app.get('/ping')
def ping():
    return {'pong': True, 'pid': os.getpid()}


@app.get('/count')
def count():
    counter = session.data.get('counter', 0)
    session.data['counter'] = counter + 1
    return {'counter': counter, 'pid': os.getpid()}


@app.get('/peek')
def peek():
    return {'counter': session.data.get('counter'), 'pid': os.getpid()}


mark_ready()
