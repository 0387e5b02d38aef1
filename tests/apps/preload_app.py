"""The session counter and login throttle apps in one, for ``gunicorn --preload`` (tests/test_sqlite_fork.py).

With ``--preload`` the master imports this module (installing canister, which opens the SQLite
store) and then forks the workers: each worker, not the master, marks itself ready.

Configured by environment variables:
  CANISTER_SESSION_STORE      session store URL (sqlite:////abs.db)
  CANISTER_LOG_PATH           canister's log directory (default stderr)

Routes:
  GET /ping   {"pong": true, "pid": ...}
  GET /count  the session's counter (from 0), then incremented
  GET /peek   the session's counter, unchanged
  GET /me     {"user": ..., "pid": ...} (Basic alice / wonderland; 5 failures per client a minute)
"""
import os

import canister
from canister import session

from _common import add_counter_routes, canister_app, mark_ready

app, _ = canister_app(auth_max_failures='5', auth_basic_username='alice',
                      auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
add_counter_routes(app)


@app.get('/me')
def me():
    return {'user': session.user, 'pid': os.getpid()}


os.register_at_fork(after_in_child=mark_ready)
