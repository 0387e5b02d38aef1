"""Canister behind a real WSGI server: waitress on 127.0.0.1, real sockets, real HTTP."""
from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request

import bottle
import pytest

import canister
from helpers import counter_app, read_log
from servers import InProcessWaitress

STAMP = r'\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}'


class LiveServer(InProcessWaitress):
    """A waitress server for ``app`` on 127.0.0.1:<ephemeral port>, in a background thread."""

    def __init__(self, app: bottle.Bottle) -> None:
        super().__init__(app, threads=4, channel_timeout=10)

    def request(self, method: str, path: str, headers: dict = None, body: bytes = None):
        """One request on a fresh connection: (status, headers, body text)."""
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode('utf-8')
        finally:
            connection.close()


@pytest.fixture
def live_server():
    """``live_server(app)``: the app on a LiveServer, closed after the test."""
    servers = []

    def start(app: bottle.Bottle) -> LiveServer:
        server = LiveServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def counter_app_with_whoami(make_app) -> bottle.Bottle:
    """``counter_app`` with GET /whoami: the thread's name and the request id."""
    app = counter_app(make_app)

    @app.get('/whoami')
    def whoami():
        return {'thread': threading.current_thread().name, 'request_id': canister.request_id()}

    return app


def session_cookie(headers) -> str:
    """``session_id=...`` from a response's Set-Cookie header."""
    cookies = headers.get_all('Set-Cookie') or []
    assert len(cookies) == 1, cookies
    return cookies[0].split(';', 1)[0]


def test_the_counter_goes_0_1_2_when_the_cookie_is_carried(make_app, live_server):
    server = live_server(counter_app_with_whoami(make_app))
    status, headers, body = server.request('GET', '/')
    assert (status, body) == (200, '0')
    cookie = session_cookie(headers)
    assert re.fullmatch(r'session_id=[A-Za-z0-9_-]{43,}', cookie)
    assert 'HttpOnly' in headers['Set-Cookie'] and 'SameSite=Lax' in headers['Set-Cookie']
    status, headers, body = server.request('GET', '/', {'Cookie': cookie})
    assert (status, body) == (200, '1')
    assert headers.get_all('Set-Cookie') is None
    status, headers, body = server.request('GET', '/', {'Cookie': cookie})
    assert (status, body) == (200, '2')


def test_without_the_cookie_each_request_starts_again_at_0(make_app, live_server):
    server = live_server(counter_app_with_whoami(make_app))
    assert server.request('GET', '/')[2] == '0'
    assert server.request('GET', '/')[2] == '0'


def test_the_log_file_has_request_and_response_lines_named_after_the_client(make_app, live_server, log_dir):
    server = live_server(counter_app_with_whoami(make_app))
    _, headers, _ = server.request('GET', '/')
    cookie = session_cookie(headers)
    server.request('GET', '/?again=1', {'Cookie': cookie})
    sid6 = cookie.split('=', 1)[1][:6]
    log = read_log(log_dir)
    host = '127.0.0.1:%d' % server.port
    assert re.search(r'^%s INFO     \[127\.0\.0\.1-\.\.\.\]   GET http://%s/$' % (STAMP, re.escape(host)), log, re.M)
    assert re.search(r'^%s INFO     \[127\.0\.0\.1-%s\]   Response: 200 \(\d+ms\)$' % (STAMP, sid6), log, re.M)
    assert re.search(r'^%s INFO     \[127\.0\.0\.1-%s\]   GET http://%s/\?again=1$' % (STAMP, sid6, re.escape(host)),
                     log, re.M)
    assert len(re.findall(r'\]   Response: 200 \(\d+ms\)$', log, re.M)) == 2
    assert cookie.split('=', 1)[1] not in log


def test_the_worker_thread_is_renamed_during_the_request_and_restored_after(make_app, live_server):
    server = live_server(counter_app_with_whoami(make_app))
    _, headers, body = server.request('GET', '/whoami', {'X-Request-ID': 'live-1'})
    answer = json.loads(body)
    assert answer == {'thread': '127.0.0.1-...', 'request_id': 'live-1'}
    assert headers['X-Request-ID'] == 'live-1'
    names = [thread.name for thread in threading.enumerate()]
    assert not any(name.startswith('127.0.0.1-') for name in names), names


def test_urllib_with_a_cookie_jar_sees_the_counter_climb(make_app, live_server):
    server = live_server(counter_app_with_whoami(make_app))
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    seen = [opener.open(server.origin + '/', timeout=30).read().decode() for _ in range(3)]
    assert seen == ['0', '1', '2']


def test_an_unhandled_exception_gives_the_client_a_500_and_the_log_a_traceback(make_app, live_server, log_dir):
    app = make_app(catchall=True)

    @app.get('/boom')
    def boom():
        raise RuntimeError('live kaboom')

    server = live_server(app)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.origin + '/boom', timeout=30)
    assert caught.value.code == 500
    assert 'live kaboom' not in caught.value.read().decode()
    log = read_log(log_dir)
    assert re.search(r'^%s ERROR    \[127\.0\.0\.1-\.\.\.\]   ' % STAMP, log, re.M)
    assert 'RuntimeError: live kaboom' in log
    assert re.search(r'\]   Response: 500 \(\d+ms\)$', log, re.M)


def test_concurrent_requests_each_log_their_own_pair_of_lines(make_app, live_server, log_dir):
    server = live_server(counter_app_with_whoami(make_app))
    results = []

    def fetch(number: int) -> None:
        results.append(server.request('GET', '/whoami', {'X-Request-ID': 'par-%d' % number})[0])

    workers = [threading.Thread(target=fetch, args=(number,)) for number in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert results == [200] * 8
    lines = read_log(log_dir).splitlines()
    assert len([line for line in lines if line.endswith('/whoami')]) == 8
    assert len([line for line in lines if re.search(r'\]   Response: 200 \(\d+ms\)$', line)]) == 8
    assert all(LINE_OK.match(line) for line in lines)


LINE_OK = re.compile(r'^%s (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\[[^\]]*\]   .*$' % STAMP)


def test_a_streamed_answer_keeps_its_session_over_real_http(make_app, live_server):
    app = counter_app_with_whoami(make_app)

    @app.get('/stream')
    def stream():
        for _ in range(3):
            yield '%d;' % canister.session.data['counter']
            canister.session.data['counter'] += 1

    server = live_server(app)
    status, headers, body = server.request('GET', '/')
    assert (status, body) == (200, '0')
    cookie = headers['Set-Cookie'].split(';')[0]
    status, headers, body = server.request('GET', '/stream', {'Cookie': cookie})
    assert (status, body) == (200, '0;1;2;')
    assert server.request('GET', '/', {'Cookie': cookie})[2] == '4'


def streaming_app(make_app, pause: float, **overrides) -> bottle.Bottle:
    """An app whose GET /stream yields 20 chunks of 64 KiB, ``pause`` seconds apart (and GET /quick one)."""
    app = make_app(**overrides)

    @app.get('/stream')
    def stream():
        for _ in range(20):
            yield b'x' * 65536
            time.sleep(pause)

    @app.get('/quick')
    def quick():
        yield 'done'

    return app


def test_a_stream_slower_in_all_than_log_slow_is_a_warning_when_it_ends(make_app, live_server, log_dir):
    server = live_server(streaming_app(make_app, 0.05, log_slow=0.5))
    status, _, body = server.request('GET', '/stream')
    assert (status, len(body)) == (200, 20 * 65536)
    assert server.request('GET', '/quick')[2] == 'done'
    deadline = time.monotonic() + 30   # (the server closes the body after sending its last bytes)
    while 'Slow stream' not in read_log(log_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    log = read_log(log_dir)
    slow = re.findall(r' WARNING  \[127\.0\.0\.1-\.\.\.\]   Slow stream of GET /stream: (\d+)ms in all \(its Response line '
                      r'timed the first chunk\)$', log, re.M)
    assert len(slow) == 1 and int(slow[0]) >= 950, log
    assert log.index('Response: 200') < log.index('Slow stream')   # the Response line went out with the headers
    assert 'stream of GET /quick' not in log and 'cut after' not in log


def test_a_stream_the_client_leaves_is_a_warning_naming_it_cut(make_app, live_server, log_dir):
    server = live_server(streaming_app(make_app, 0.05, log_slow=0.01))  # (slower than that: still only "cut")
    connection = socket.create_connection(('127.0.0.1', server.port))
    connection.sendall(b'GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    assert connection.recv(100).startswith(b'HTTP/1.1 200 OK')
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))  # a reset, at once
    connection.close()
    deadline = time.monotonic() + 30
    while 'cut after' not in read_log(log_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert re.search(r' WARNING  \[127\.0\.0\.1-\.\.\.\]   Stream of GET /stream cut after \d+ms: the server closed it '
                     r'before its end \(the client went away\?\)$', read_log(log_dir), re.M), read_log(log_dir)
    assert 'Slow stream' not in read_log(log_dir)
