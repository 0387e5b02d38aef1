"""One Bottle app that uses every canister feature, for the hostile-input tests.

``build_app(**overrides)`` returns a fresh app (no side effects at import), so
tests/test_hostile_input.py can drive it in-process through WebTest, while
tests/apps/limits_app.py serves the same app from gunicorn or waitress.

Features on: Basic auth (one user ``alice``, password ``wonderland``, a pbkdf2
hash with 1000 iterations so the tests stay fast), Bearer JWT (HS256 secret
``JWT_SECRET``), CORS with an origin list, a wildcard and credentials, CSRF,
``trusted_proxies``, typed handlers (int, bool, list[int], Optional[float],
FileUpload, ``**kwargs``, URL arguments), a session counter, login/logout and
``require_user``/``require``.

Routes (all answer JSON except ``/``):
  GET  /                       'ok', no session
  GET  /ping                   no session
  ANY  /typed                  n: int, flag: bool, ids: list[int], ratio: Optional[float]
  POST /upload                 file: FileUpload, note: Optional[str], count: int
  ANY  /echo                   **params: the parameter names it received
  GET  /items/<item_id:int>    detail: bool
  GET  /hello/<name>           times: int
  GET  /count                  bumps session.data['counter']
  ANY  /login                  name: str -> session.user
  GET  /sid                    session.sid (creates the session)
  GET  /logout                 session.invalidate()
  GET  /me                     require_user
  GET  /admin                  require(user == 'alice')
"""
from typing import Any, Dict, List, Optional

import bottle

import canister
from canister import session

from _common import quiet_when_slow

USERNAME = 'alice'
PASSWORD = 'wonderland'
JWT_SECRET = 'hostile-input-test-secret-0123456789abcdef'
ALLOWED_ORIGIN = 'https://app.example.com'
WILDCARD_ORIGIN = 'https://*.example.org'
TRUSTED_PROXIES = '127.0.0.1 10.0.0.0/8 ::1'

_HASH: Dict[str, str] = {}


def password_hash() -> str:
    """The pbkdf2 hash of PASSWORD (1000 iterations), computed once per process."""
    if 'hash' not in _HASH:
        _HASH['hash'] = canister.hash_password(PASSWORD, 'pbkdf2', iterations=1000)
    return _HASH['hash']


def build_app(catchall: bool = True, **overrides: Any) -> bottle.Bottle:
    """A fresh app with canister installed; ``overrides`` go to ``Canister(...)`` (log_slow 0 unless given: see
    ``_common.quiet_when_slow``)."""
    settings: Dict[str, Any] = {
        'log_path': 'stderr',
        'auth_basic_username': USERNAME,
        'auth_basic_password': password_hash(),
        'auth_basic_encryption': 'pbkdf2',
        'auth_jwt_secret': JWT_SECRET,
        'auth_jwt_algorithms': 'HS256',
        'cors': '%s %s' % (ALLOWED_ORIGIN, WILDCARD_ORIGIN),
        'cors_credentials': True,
        'csrf': True,
        'trusted_proxies': TRUSTED_PROXIES,
    }
    settings.update(overrides)
    app = bottle.Bottle()
    app.catchall = catchall  # (the catchall= argument is deprecated in Bottle 0.13)
    app.install(canister.Canister(**quiet_when_slow(settings)))

    @app.get('/')
    def index() -> str:
        return 'ok'

    @app.get('/ping')
    def ping() -> Dict[str, Any]:
        return {'pong': True}

    @app.route('/typed', method=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
    def typed(n: int, flag: bool = False, ids: Optional[List[int]] = None,
              ratio: Optional[float] = None) -> Dict[str, Any]:
        return {'n': n, 'flag': flag, 'ids': ids, 'ratio': ratio}

    @app.post('/upload')
    def upload(file: bottle.FileUpload, note: Optional[str] = None, count: int = 1) -> Dict[str, Any]:
        data = file.file.read()
        return {'size': len(data), 'filename': file.filename, 'note': note, 'count': count}

    @app.route('/echo', method=['GET', 'POST'])
    def echo(**params: Any) -> Dict[str, Any]:
        return {'keys': sorted(str(key) for key in params)}

    @app.get('/items/<item_id:int>')
    def item(item_id: int, detail: bool = False) -> Dict[str, Any]:
        return {'item': item_id, 'detail': detail}

    @app.get('/hello/<name>')
    def hello(name: str, times: int = 1) -> Dict[str, Any]:
        return {'hello': name, 'times': max(0, min(times, 3))}

    @app.get('/count')
    def count() -> Dict[str, Any]:
        session.data['counter'] = session.data.get('counter', 0) + 1
        return {'counter': session.data['counter']}

    @app.route('/login', method=['GET', 'POST'])
    def login(name: str) -> Dict[str, Any]:
        session.user = name
        return {'user': name}

    @app.get('/sid')
    def sid() -> Dict[str, Any]:
        return {'sid': session.sid[:6], 'user': session.user if isinstance(session.user, str) else None}

    @app.get('/logout')
    def logout() -> Dict[str, Any]:
        session.invalidate()
        return {'logged_out': True}

    @app.get('/me')
    @canister.require_user
    def me() -> Dict[str, Any]:
        user = session.user
        return {'user': user if isinstance(user, str) else (user or {}).get('sub')}

    @app.get('/admin')
    @canister.require(lambda user: user == USERNAME)
    def admin() -> Dict[str, Any]:
        return {'admin': True}

    return app
