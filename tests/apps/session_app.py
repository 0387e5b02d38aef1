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
from _common import add_counter_routes, canister_app, mark_ready

app, _ = canister_app()
add_counter_routes(app)

mark_ready()
