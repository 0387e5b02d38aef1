"""tests/apps/hostile_app.py's app, served by gunicorn or waitress (tests/servers.py).

Configured by environment variables:
  CANISTER_LOG_PATH        canister's log directory (default stderr)
  CANISTER_MAX_BODY_SIZE   canister.max_body_size (default: canister's)
  CANISTER_MAX_HEADER_SIZE canister.max_header_size (default: canister's)
  CANISTER_SESSION_STORE   session store URL (default memory)
"""
import os

from _common import mark_ready
from hostile_app import build_app

_overrides = {'log_path': os.environ.get('CANISTER_LOG_PATH', 'stderr'),
              'session_store': os.environ.get('CANISTER_SESSION_STORE', 'memory')}
for _key in ('max_body_size', 'max_header_size'):
    if os.environ.get('CANISTER_' + _key.upper()):
        _overrides[_key] = os.environ['CANISTER_' + _key.upper()]

app = build_app(**_overrides)

mark_ready()
