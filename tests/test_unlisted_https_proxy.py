"""A TLS-terminating proxy's scheme headers that canister does not believe, on a real server (waitress on 127.0.0.1,
passing those headers on).

From a proxy that ``trusted_proxies`` does not list, ``X-Forwarded-Proto: https`` (or ``Forwarded: proto=https``) is
not believed, so the session cookie goes without ``Secure``: a WARNING, at most once a minute for each peer, says so,
naming ``trusted_proxies`` and ``session_secure = true``; a client that sends the header itself first does not use it
up.  From a listed proxy, ``Forwarded: proto=https`` without X-Forwarded-Proto is not read either: a WARNING gives
nginx's lines that send X-Forwarded-Proto (and X-Forwarded-For).
"""
from __future__ import annotations

import http.client
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


def cookie_from(source: str, origin: str, headers: Dict[str, str]) -> str:
    """The Set-Cookie of a GET /count sent with ``headers`` from the loopback address ``source`` (127.0.0.2: a peer
    other than the proxy on 127.0.0.1)."""
    host, port = origin.rpartition('/')[2].split(':')
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        connection.request('GET', '/count', headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.headers['Set-Cookie']
    finally:
        connection.close()


def lines_with(tmp_path, needle: str) -> List[str]:
    return [line for line in read_log(tmp_path / 'logs').splitlines() if needle in line]


def test_a_client_sending_x_forwarded_proto_first_does_not_use_up_the_warning_about_the_proxy(serve, tmp_path,
                                                                                              monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    origin = serve()
    # a client that reaches the app itself sends the header before the real (unlisted) proxy's first request
    assert '; Secure' not in cookie_from('127.0.0.2', origin, {'X-Forwarded-Proto': 'https'})
    assert '; Secure' not in cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
    client_lines = lines_with(tmp_path, 'A request came from 127.0.0.2 with X-Forwarded-Proto')
    proxy_lines = lines_with(tmp_path, 'A request came from 127.0.0.1 with X-Forwarded-Proto')
    assert len(client_lines) == 1 and len(proxy_lines) == 1
    assert ' WARNING ' in proxy_lines[0] and WARNING in proxy_lines[0]
    assert '(said at most once a minute for each peer)' in proxy_lines[0]
    clock[0] += 59
    assert '; Secure' not in cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
    assert len(lines_with(tmp_path, 'A request came from 127.0.0.1 with')) == 1
    clock[0] += 2
    assert '; Secure' not in cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
    assert len(lines_with(tmp_path, 'A request came from 127.0.0.1 with')) == 2
    assert len(lines_with(tmp_path, 'A request came from 127.0.0.2 with')) == 1


FORWARDED_ONLY = ('The trusted proxy 127.0.0.1 sent Forwarded saying the client used HTTPS, but no X-Forwarded-Proto, '
                  'the only header canister takes the scheme from, so canister takes the request as plain HTTP: the '
                  'session cookie goes without Secure')
NGINX_PROTO = 'proxy_set_header X-Forwarded-Proto $scheme;'
NGINX_FOR = 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;'


def test_a_listed_proxy_sending_only_forwarded_https_is_a_warning_with_the_lines_to_add(serve, tmp_path,
                                                                                     monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    origin = serve(trusted_proxies='127.0.0.1')
    forwarded = {'Forwarded': 'for=198.51.100.7;proto=https'}
    # with X-Forwarded-Proto, or a Forwarded that says http, nothing is lost and nothing said
    assert cookie_of(origin, dict(forwarded, **{'X-Forwarded-Proto': 'https'})).endswith('; Secure')
    assert '; Secure' not in cookie_of(origin, {'Forwarded': 'for=198.51.100.7;proto=http'})
    assert '; Secure' not in cookie_of(origin, {'X-Forwarded-Proto': 'http', 'Forwarded': 'proto=https'})
    assert 'sent Forwarded' not in read_log(tmp_path / 'logs')
    assert '; Secure' not in cookie_of(origin, forwarded)
    assert '; Secure' not in cookie_of(origin, forwarded)
    lines = lines_with(tmp_path, FORWARDED_ONLY)
    assert len(lines) == 1
    line = lines[0]
    assert ' WARNING ' in line and '[127.0.0.1-...]' in line  # (no X-Forwarded-For: the client is the proxy)
    assert NGINX_PROTO in line and NGINX_FOR in line and 'logged and throttled as the proxy' in line
    assert '(said at most once a minute for each proxy)' in line
    clock[0] += 61
    assert '; Secure' not in cookie_of(origin, dict(forwarded, **{'X-Forwarded-For': '198.51.100.7'}))
    lines = lines_with(tmp_path, FORWARDED_ONLY)
    assert len(lines) == 2
    assert '[198.51.100.7-...]' in lines[1] and NGINX_PROTO in lines[1] and NGINX_FOR not in lines[1]



def test_a_flood_of_peers_is_16_lines_a_minute_and_only_delays_the_one_about_the_proxy(serve, tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    origin = serve()
    for last in range(2, 20):  # 18 peers, 127.0.0.2 to 127.0.0.19
        cookie_from('127.0.0.%d' % last, origin, {'X-Forwarded-Proto': 'https'})
    cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
    assert len(lines_with(tmp_path, 'is not in trusted_proxies, so canister takes the request as plain HTTP')) == 16
    assert not lines_with(tmp_path, 'A request came from 127.0.0.1 with')
    clock[0] += 60
    cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
    assert len(lines_with(tmp_path, 'A request came from 127.0.0.1 with')) == 1


def test_a_sustained_flood_from_16_peers_delays_the_line_about_the_proxy_by_two_minutes_at_most(serve, tmp_path,
                                                                                                monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    origin = serve()
    any_peer = 'is not in trusted_proxies, so canister takes the request as plain HTTP'
    said_at: List[float] = []  # (the simulated second of each line)
    proxy_said_at: List[float] = []
    for second in range(0, 360, 10):  # six minutes: each of 16 peers sends every 10 seconds, all along
        clock[0] = 1000.0 + second
        for last in range(2, 18):
            cookie_from('127.0.0.%d' % last, origin, {'X-Forwarded-Proto': 'https'})
        if second >= 20 and second % 30 == 20:  # the proxy, from second 20 on, every 30 seconds
            cookie_from('127.0.0.1', origin, {'X-Forwarded-Proto': 'https'})
        lines = lines_with(tmp_path, any_peer)
        said_at += [second] * (len(lines) - len(said_at))
        if len(lines_with(tmp_path, 'A request came from 127.0.0.1 with')) > len(proxy_said_at):
            proxy_said_at.append(second)
    assert proxy_said_at and proxy_said_at[0] - 20 <= 120
    assert all(len([when for when in said_at if start <= when < start + 60]) <= 16 for start in range(0, 360, 10))
