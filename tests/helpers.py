"""Helpers the test files share: clients, cookies, credentials, the log, and a clock to move by hand.

Fixtures live in conftest.py; what a test imports lives here, each helper defined once.
"""
from __future__ import annotations

import base64
import http.cookiejar
import pathlib
import sys
from typing import Any, Dict, List, Optional

import webtest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # canister.py of this checkout, not an installed one
    sys.path.insert(0, str(ROOT))

import canister  # noqa: E402

COOKIE = 'session_id'


def client(app: Any, **environ: Any) -> webtest.TestApp:
    """A WebTest client that keeps cookies, as if from 127.0.0.1."""
    extra = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:80'}
    extra.update(environ)
    return webtest.TestApp(app, extra_environ=extra)


class _NoJar(http.cookiejar.CookieJar):
    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def cookieless_client(app: Any, **environ: Any) -> webtest.TestApp:
    """A WebTest client that keeps no cookies: each request carries only the ones a test gives it."""
    web = client(app, **environ)
    web.cookiejar = _NoJar()
    return web


def read_log(log_dir: pathlib.Path) -> str:
    """Everything written to the log files of a directory, in date order."""
    if not log_dir.exists():
        return ''
    return ''.join(path.read_text(encoding='utf-8') for path in sorted(log_dir.glob('log.*')))


def set_cookies(response: Any) -> List[str]:
    """The Set-Cookie headers of a WebTest response."""
    return response.headers.getall('Set-Cookie')


def cookie_value(response: Any, name: str = COOKIE) -> Optional[str]:
    """The value a WebTest response gives to a cookie ('' if it expires it), or None if it does not set it."""
    for header in set_cookies(response):
        cookie_name, _, rest = header.partition('=')
        if cookie_name == name:
            return rest.split(';')[0]
    return None


def with_cookie(sid: str, name: str = COOKIE) -> Dict[str, str]:
    """Request headers that send the cookie ``name`` (the session cookie unless told) with value ``sid``."""
    return {'Cookie': '%s=%s' % (name, sid)}


def basic(username: str, password: str) -> str:
    """An ``Authorization`` header value of the Basic scheme for these credentials."""
    raw = ('%s:%s' % (username, password)).encode('utf-8')
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def write_users(path: pathlib.Path, **passwords: str) -> pathlib.Path:
    """Write a Basic users file, a line per user with a quick PBKDF2 hash of the password; its path."""
    path.write_text(''.join('%s:%s\n' % (name, canister.hash_password(password, 'pbkdf2', iterations=1000))
                            for name, password in passwords.items()))
    return path


def sqlite_url(path: Any) -> str:
    """The session_store URL of an SQLite file at an absolute path: sqlite:////tmp/..."""
    return 'sqlite:///' + str(path)


class Clock:
    """A stand-in for ``canister._now`` that stands still until a test moves it on (fixture ``clock``)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time on by ``seconds``."""
        self.now += seconds
