"""A Bottle app with the canister plugin whose handler can outlive gunicorn's ``--timeout``.

Configured by environment variables (and those of ``_common.canister_app``):
  REMEMBER_APP_TIMEOUT   session_timeout in seconds

Routes:
  GET /ping                             does not touch the session
  GET /login?name=N&remember=S          session.user = N; with S > 0, session.remember(S)
  GET /whoami                           the session's user ('' for nobody), the session unchanged
  GET /stall?seconds=S                  reads the session's user, then sleeps S seconds before answering
"""
import os
import time

from _common import canister_app, mark_ready

from canister import session

app, _ = canister_app(session_timeout=int(os.environ['REMEMBER_APP_TIMEOUT']))


@app.get('/login')
def login(name: str, remember: int = 0):
    session.user = name
    if remember:
        session.remember(remember)
    return name


@app.get('/whoami')
def whoami():
    return session.user or ''


@app.get('/stall')
def stall(seconds: float):
    user = session.user
    time.sleep(seconds)
    return user or ''


mark_ready()
