"""More of ``log=False`` (README, Request logging, *Routes left out of the log*): a quiet route's streamed body is
logged in full, so a slow stream's WARNING or an exception while streaming follows its request line; a quiet
request writes nothing until it ends; a quiet path outside ASCII is quiet; a route of an app mounted as a WSGI app
is logged.  Served over real HTTP (waitress), the log files read."""
from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request

import bottle

from helpers import read_log, readme_section
from servers import InProcessWaitress


def fetch(server, path):
    """``GET path`` from ``server``, its body read as far as the server sends it."""
    try:
        with urllib.request.urlopen(server.origin + path, timeout=30) as answer:
            answer.read()
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        pass  # (a stream cut by an exception: the client reads a short body)


def messages_until(log_dir, seen, needle, seconds=30):
    """The messages of the text lines written after the first ``seen`` lines, once one holds ``needle``."""
    deadline = time.monotonic() + seconds
    while True:
        lines = [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines()[seen:]
                 if not line.startswith('  ')]
        if any(needle in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def line_count(log_dir):
    return len(read_log(log_dir).splitlines())


def logged_while_streaming(app, log_dir, path, needle):
    """``app`` served: its origin, and the messages logged from a GET of ``path`` once one holds ``needle``."""
    server = InProcessWaitress(app)
    try:
        seen = line_count(log_dir)
        fetch(server, path)
        return server.origin, messages_until(log_dir, seen, needle)
    finally:
        server.close()


def test_a_quiet_routes_slow_stream_follows_its_request_and_response_lines(make_app, log_dir):
    app = make_app(log_slow=0.1)

    @app.get('/export', log=False)
    def export():
        yield 'a'
        time.sleep(0.3)
        yield 'b'

    origin, lines = logged_while_streaming(app, log_dir, '/export', 'Slow stream of GET /export')
    assert lines[0] == 'GET %s/export' % origin
    assert lines[1].startswith('Response: 200 (')
    assert lines[2].startswith('Slow stream of GET /export: ')


def test_a_quiet_routes_exception_while_streaming_follows_its_request_and_response_lines(make_app, log_dir):
    app = make_app()

    @app.get('/broken', log=False)
    def broken():
        yield 'a'
        raise RuntimeError('mid-stream failure')

    origin, lines = logged_while_streaming(app, log_dir, '/broken', 'Unhandled exception while streaming GET /broken')
    assert lines[0] == 'GET %s/broken' % origin
    assert lines[1].startswith('Response: 200 (')
    assert lines[2] == 'Unhandled exception while streaming GET /broken'


def test_a_quiet_request_writes_nothing_until_it_ends(make_app, log_dir):
    app = make_app(log_slow=30)
    release = threading.Event()
    app.route('/ready', callback=lambda: release.wait(30) and 'ready', log=False)
    app.route('/status', callback=lambda: release.wait(30) and 'status')
    server = InProcessWaitress(app)
    clients = [threading.Thread(target=fetch, args=(server, path)) for path in ('/ready', '/status')]
    try:
        for client in clients:
            client.start()
        messages_until(log_dir, 0, 'GET %s/status' % server.origin)
        time.sleep(0.3)
        while_hanging = read_log(log_dir)
        assert 'GET %s/status' % server.origin in while_hanging  # (a logged route's line is out at once)
        assert '/ready' not in while_hanging
    finally:
        release.set()
        for client in clients:
            client.join()
        server.close()


def test_a_quiet_path_outside_ascii_is_quiet(make_app, log_dir):
    app = make_app(log_slow=0)  # (a quiet request that load made slower than 1 s would be logged)
    app.route('/\u00e9t\u00e9', callback=lambda: 'summer', log=False)
    app.route('/', callback=lambda: 'home')
    server = InProcessWaitress(app)
    try:
        fetch(server, '/%C3%A9t%C3%A9')
        fetch(server, '/')
        messages_until(log_dir, 0, 'Response: ')  # (written once the answer is out: it may come after it)
        log = read_log(log_dir)
        assert '%C3%A9' not in log and '\u00e9t\u00e9' not in log
        assert log.count('Response: ') == 1  # (that of /)
    finally:
        server.close()


def test_a_route_of_an_app_mounted_as_a_wsgi_app_is_logged_log_false_or_not(make_app, log_dir):
    app = make_app(log_slow=0)  # (a quiet request that load made slower than 1 s would be logged)
    child = bottle.Bottle()
    child.route('/ping', callback=lambda: 'ok', log=False)
    app.mount('/child', child)  # (no trailing /: a WSGI mount, under Bottle 0.13 too)
    app.route('/ping', callback=lambda: 'ok', log=False)
    server = InProcessWaitress(app)
    try:
        seen = line_count(log_dir)
        fetch(server, '/ping')
        fetch(server, '/child/ping')
        lines = messages_until(log_dir, seen, 'Response: ')
        assert lines[0] == 'GET %s/child/ping' % server.origin
        assert lines[1].startswith('Response: 200 (')
        assert '%s/ping' % server.origin not in read_log(log_dir)
    finally:
        server.close()


def test_the_readme_says_so():
    section = readme_section('## Request logging')
    assert 'A streamed body of such a route' in section
    assert 'writes nothing until it ends' in section
    assert "app.mount('/child', child)" in section
