"""A Bottle app with Basic auth and canister's login throttle, for tests/test_login_throttle.py.

Configured by environment variables:
  CANISTER_SESSION_STORE      session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH           canister's log directory (default stderr)
  CANISTER_LOG_LEVEL          canister's log level (default INFO)
  CANISTER_AUTH_MAX_FAILURES  canister.auth_max_failures (default 5)
  CANISTER_TRUSTED_PROXIES    canister.trusted_proxies (default none)
  HASH_ITERATIONS             pbkdf2 iterations of alice's password (default 20000: a check takes a while)

Routes:
  GET /ping   no credentials needed: {"pong": true, "pid": ...}
  GET /me     {"user": ..., "pid": ...} (Basic alice / wonderland)
"""
import os

import canister
from canister import session

from _common import canister_app, mark_ready

app, _ = canister_app(
    auth_max_failures=os.environ.get('CANISTER_AUTH_MAX_FAILURES', '5'),
    trusted_proxies=os.environ.get('CANISTER_TRUSTED_PROXIES', ''),
    auth_basic_username='alice',
    auth_basic_password=canister.hash_password('wonderland', 'pbkdf2',
                                               int(os.environ.get('HASH_ITERATIONS', '20000'))),
)


@app.get('/me')
def me():
    return {'user': session.user, 'pid': os.getpid()}


mark_ready()
