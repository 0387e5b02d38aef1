"""A parent app whose canister holds the sessions, with a child mounted at /a/ that logs users in with Basic
from a users file of its own (the parent has none).

Configured by environment variables:
  CANISTER_SESSION_STORE  the parent's session store URL (memory, sqlite:////abs.db, redis://h:p/db)
  CANISTER_LOG_PATH       canister's log directory (or stderr/stdout)
  MOUNTED_USERS_FILE      the child's users file

Routes (on both apps: /me on the parent, /a/me on the child):
  GET /me   the session's user, 401 for nobody
"""
import os

import bottle

import canister
from _common import canister_app, mark_ready, quiet_when_slow
from canister import session


def add_me(app: bottle.Bottle) -> bottle.Bottle:
    """GET /me: the user, 401 for nobody."""
    @app.get('/me')
    @canister.require_user
    def me():
        session.data['seen'] = True
        return {'user': session.user, 'pid': os.getpid()}

    return app


child = add_me(bottle.Bottle())
child.install(canister.Canister(**quiet_when_slow({'log_path': os.environ.get('CANISTER_LOG_PATH', 'stderr'),
                                                   'auth_basic_users_file': os.environ['MOUNTED_USERS_FILE']})))
app, _ = canister_app()
add_me(app)
app.mount('/a/', child)

mark_ready()
