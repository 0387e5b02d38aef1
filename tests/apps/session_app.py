"""A Bottle app with the canister plugin and one session counter.

Configured by environment variables:
  CANISTER_SESSION_STORE  session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout)
  CANISTER_LOG_LEVEL      canister's log level (default INFO)
  SESSION_APP_MEMORY_CHILD  if set, a second app with a canister of its own on the memory store is mounted
                            at /memory/ (its /ping and /count)

Routes:
  GET /ping   does not touch the session; answers {"pong": true, "pid": ...}
  GET /count  returns the session's counter (starting at 0) and increments it
  GET /peek   returns the session's counter without changing it
"""
import os

from _common import add_counter_routes, canister_app, mark_ready

app, _ = canister_app()
add_counter_routes(app)

if os.environ.get('SESSION_APP_MEMORY_CHILD'):
    child, _ = canister_app(session_store='memory')
    app.mount('/memory/', add_counter_routes(child))

mark_ready()
