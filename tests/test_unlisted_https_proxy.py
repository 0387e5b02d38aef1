"""A TLS-terminating proxy that ``trusted_proxies`` does not list, on a real server (waitress on 127.0.0.1,
passing those headers on).

Its ``X-Forwarded-Proto: https`` (or ``Forwarded: proto=https``) is not believed, so the session cookie goes without
``Secure``: one WARNING per process says so, naming ``trusted_proxies`` and ``session_secure = true``.
"""
from __future__ import annotations

import urllib.request
from typing import Any, Dict, List

import bottle
import pytest

from helpers import read_log
from servers import InProcessWaitress

import canister
from canister import session

WARNING = ('but 127.0.0.1 is not in trusted_proxies, so canister takes the request as plain HTTP: the session cookie '
           'goes without Secure')


@pytest.fixture
def serve(tmp_path):
    """serve(**config) -> the origin of an app whose GET /count writes the session, and its log directory."""
    started: List[Any] = []

    def start(**config: Any) -> str:
        app = bottle.Bottle()

        @app.get('/count')
        def count():
            session.data['count'] = session.data.get('count', 0) + 1
            return {'count': session.data['count']}

        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), **config))
        # (as gunicorn or wsgiref pass them on: waitress drops a peer's X-Forwarded-* unless told not to)
        server = InProcessWaitress(app, clear_untrusted_proxy_headers=False)
        started.append((server, app))
        return 'http://127.0.0.1:%d' % server.port

    yield start
    for server, app in started:
        server.close()
        app.close()


def cookie_of(origin: str, headers: Dict[str, str]) -> str:
    """The Set-Cookie of a GET /count sent with ``headers``."""
    with urllib.request.urlopen(urllib.request.Request(origin + '/count', headers=headers)) as answer:
        return answer.headers['Set-Cookie']


@pytest.mark.parametrize('headers', [{'X-Forwarded-Proto': 'https'}, {'Forwarded': 'for=198.51.100.7;proto=https'}])
def test_an_unlisted_proxy_saying_https_is_one_warning(serve, tmp_path, headers):
    origin = serve()
    assert '; Secure' not in cookie_of(origin, headers)
    assert '; Secure' not in cookie_of(origin, headers)
    log = read_log(tmp_path / 'logs')
    assert log.count(WARNING) == 1
    line = next(line for line in log.splitlines() if WARNING in line)
    assert ' WARNING ' in line and 'list it in trusted_proxies, or set session_secure = true' in line
    assert sorted(headers)[0] in line


def test_a_listed_proxy_or_plain_http_says_nothing(serve, tmp_path):
    listed = serve(trusted_proxies='127.0.0.1')
    assert cookie_of(listed, {'X-Forwarded-Proto': 'https'}).endswith('; Secure')
    plain = serve()
    assert '; Secure' not in cookie_of(plain, {})
    assert '; Secure' not in cookie_of(plain, {'X-Forwarded-Proto': 'http'})
    assert cookie_of(serve(session_secure=True), {'X-Forwarded-Proto': 'https'}).endswith('; Secure')
    assert 'not in trusted_proxies' not in read_log(tmp_path / 'logs')
