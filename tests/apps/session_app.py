"""A Bottle app with the canister plugin and one session counter.

Configured by environment variables:
  CANISTER_SESSION_STORE  session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout)
  CANISTER_LOG_LEVEL      canister's log level (default INFO)
  SESSION_APP_MEMORY_CHILD  if set, a second app with a canister of its own on the memory store is mounted
                            at /memory/ (its /ping and /count)
  SESSION_APP_SIGTERM_EXITS if set, SIGTERM makes the process exit normally (the README's lines for waitress)
  SESSION_APP_HOLD_DIR      if set, GET /count-held is served (see Routes), held by files in that directory

Routes:
  GET /ping   does not touch the session; answers {"pong": true, "pid": ...}
  GET /count  returns the session's counter (starting at 0) and increments it
  GET /peek   returns the session's counter without changing it
  GET /count-held  as /count, but the handler, once it changed the counter, makes a file held.<pid>.<thread> in
                   $SESSION_APP_HOLD_DIR and waits there until a file named release is there too (10 s at most)
"""
import os
import signal
import sys
import threading
import time

from _common import add_counter_routes, canister_app, mark_ready

from canister import session

app, _ = canister_app()
add_counter_routes(app)

if os.environ.get('SESSION_APP_MEMORY_CHILD'):
    child, _ = canister_app(session_store='memory')
    app.mount('/memory/', add_counter_routes(child))

if os.environ.get('SESSION_APP_HOLD_DIR'):
    @app.get('/count-held')
    def count_held():
        hold = os.environ['SESSION_APP_HOLD_DIR']
        counter = session.data.get('counter', 0)
        session.data['counter'] = counter + 1
        open(os.path.join(hold, 'held.%d.%d' % (os.getpid(), threading.get_ident())), 'w').close()
        end = time.monotonic() + 60
        while not os.path.exists(os.path.join(hold, 'release')) and time.monotonic() < end:
            time.sleep(0.01)
        return {'counter': counter, 'pid': os.getpid()}

if os.environ.get('SESSION_APP_SIGTERM_EXITS'):
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))   # a normal exit: atexit runs

mark_ready()
