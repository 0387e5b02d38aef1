"""``log=False`` on a route (``@app.get('/ping', log=False)``): a load balancer's or Kubernetes' probe every two
seconds from every node no longer fills the day's log.  Its successes (below 400, not slower than ``log_slow``) write
neither the request line nor the response line; a 4xx or 5xx, a slow answer, a traceback or any other line about
such a request writes both, the request line first.  Served over real HTTP (waitress), the log files read."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import bottle
import pytest

from helpers import read_log, readme_section
from servers import InProcessWaitress, held_port

import canister


def get(server, path, request_id='-'):
    """The status of ``GET path`` from ``server``, sent with ``X-Request-ID: request_id``."""
    request = urllib.request.Request(server.origin + path, headers={'X-Request-ID': request_id})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


class Reader:
    """Reads the lines a log directory gained since the last read."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.seen = len(read_log(log_dir).splitlines())

    def new(self, seconds=30):
        """The lines written since the last read, once a response line is among them (or after ``seconds``)."""
        deadline = time.monotonic() + seconds
        while True:
            lines = read_log(self.log_dir).splitlines()[self.seen:]
            if any('Response: ' in line for line in lines) or time.monotonic() > deadline:
                self.seen += len(lines)
                return lines
            time.sleep(0.02)


def levels_and_messages(lines):
    """``(level, message)`` of each text line (the lines of a traceback left out)."""
    return [(line.split()[2], line.split(']   ', 1)[1]) for line in lines if not line.startswith('  ')]


#: The log_slow of the server of the test's slow quiet answer, whose /slow takes a fifth of a second more (a sleep that
#: load only makes longer).  The test's other requests go to a server of its own whose log_slow of 30 s no load
#: reaches, so none of them is logged as slow however long another job makes it take.
SLOW = 0.5


@pytest.fixture
def served(make_app):
    """``served(**config)``: a waitress server of an app with a quiet ``/ping``, ``/ready`` (503 when told) and
    ``/slow``, a quiet ``/boom`` that raises, a quiet ``/items/<n>`` (400 for a non-number), and a logged ``/``."""
    servers = []

    def serve(**config):
        app = make_app(**config)
        state = {'ready': True}

        @app.get('/ping', log=False)
        def ping():
            if bottle.request.query.get('note'):
                app.log.info('Pinged with a note')
            return 'ok\n'

        @app.get('/ready', log=False)
        def ready():
            if not state['ready']:
                app.log.warning('Not ready: the store is down')
                return bottle.HTTPResponse('not ready\n', status=503)
            return 'ready\n'

        @app.get('/slow', log=False)
        def slow():
            time.sleep(SLOW + 0.2)
            return 'late\n'

        @app.get('/boom', log=False)
        def boom():
            raise RuntimeError('probe broke')

        @app.get('/items/<n>', log=False)
        def item(n: int):
            return str(n)

        @app.get('/')
        def index():
            return 'home\n'

        server = InProcessWaitress(app)
        servers.append(server)
        server.state = state
        return server
    yield serve
    for server in servers:
        server.close()


def test_a_quiet_routes_success_writes_neither_line_and_other_routes_still_log(served, log_dir):
    server = served(log_slow=30)
    log = Reader(log_dir)
    assert get(server, '/ping') == 200
    assert get(server, '/ready') == 200
    assert get(server, '/items/7') == 200
    assert get(server, '/') == 200
    assert levels_and_messages(log.new())[:1] == [('INFO', 'GET %s/' % server.origin)]
    text = read_log(log_dir)
    assert '/ping' not in text and '/ready' not in text and '/items/' not in text
    assert text.count('Response: 200 (') == 1


def test_a_quiet_routes_4xx_5xx_slow_answer_and_traceback_are_logged_in_full(served, log_dir):
    server = served(log_slow=30)  # (no load makes these slow; /slow goes to a server of its own)
    slow_server = served(log_slow=SLOW)
    log = Reader(log_dir)
    server.state['ready'] = False
    assert get(server, '/ready') == 503
    lines = levels_and_messages(log.new())
    # the request line first, then the app's own WARNING, then the response line at ERROR
    assert [level for level, _ in lines] == ['INFO', 'WARNING', 'ERROR']
    assert lines[0][1] == 'GET %s/ready' % server.origin and lines[1][1] == 'Not ready: the store is down'
    assert lines[2][1].startswith('Response: 503 (')

    assert get(server, '/items/x') == 400
    lines = levels_and_messages(log.new())
    assert [level for level, _ in lines] == ['INFO', 'WARNING', 'INFO']
    assert lines[0][1] == 'GET %s/items/x' % server.origin and lines[2][1].startswith('Response: 400 (')

    assert get(server, '/nope') == 404  # (no route: nothing quiet)
    assert levels_and_messages(log.new())[-1][1].startswith('Response: 404 (')

    assert get(slow_server, '/slow') == 200
    lines = levels_and_messages(log.new())
    assert lines[0] == ('INFO', 'GET %s/slow' % slow_server.origin)
    assert lines[1][0] == 'WARNING' and lines[1][1].startswith('Response: 200 (')

    assert get(server, '/boom') == 500
    new = log.new()
    lines = levels_and_messages(new)
    assert lines[0] == ('INFO', 'GET %s/boom' % server.origin)
    assert lines[1][0] == 'ERROR' and lines[1][1].startswith('Unhandled exception in GET /boom')
    assert 'RuntimeError: probe broke' in '\n'.join(new)
    assert lines[-1][0] == 'ERROR' and lines[-1][1].startswith('Response: 500 (')

    assert get(server, '/ping?note=1') == 200  # (a line of the app's own about a success)
    assert levels_and_messages(log.new()) == [('INFO', 'GET %s/ping?note=1' % server.origin),
                                              ('INFO', 'Pinged with a note'), ('INFO', levels_and_messages(
                                                  read_log(log_dir).splitlines()[-1:])[0][1])]
    assert read_log(log_dir).splitlines()[-1].split(']   ', 1)[1].startswith('Response: 200 (')

    assert get(server, '/ping') == 200  # (and the next success is quiet again: the lines up to those of the next
    assert get(server, '/') == 200      # logged request are those alone)
    assert [message.split(' (')[0] for _, message in levels_and_messages(log.new())] == [
        'GET %s/' % server.origin, 'Response: 200']


def test_in_a_json_log_a_quiet_routes_failure_keeps_its_path(served, log_dir):
    server = served(log_format='json')
    log = Reader(log_dir)
    assert get(server, '/ping', 'ping-j') == 200
    server.state['ready'] = False
    assert get(server, '/ready', 'ready-j') == 503
    log.new()  # (once ready-j's response line is in: a line of ping-j's, answered before, would be in before it)
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    assert not [entry for entry in entries if entry['request_id'] == 'ping-j']
    mine = [entry for entry in entries if entry['request_id'] == 'ready-j']
    assert mine[0]['message'] == 'GET %s/ready' % server.origin
    assert (mine[-1]['path'], mine[-1]['status'], mine[-1]['level']) == ('/ready', 503, 'ERROR')


def assert_ping_logged_at_info(app, log_dir):
    """``app`` served: a GET of /ping is a 200, and the first line it logs is its INFO line."""
    server = InProcessWaitress(app)
    try:
        log = Reader(log_dir)
        assert get(server, '/ping') == 200
        assert levels_and_messages(log.new())[0] == ('INFO', 'GET %s/ping' % server.origin)
    finally:
        server.close()


@pytest.mark.parametrize('value', ['false', 0, None])
def test_only_log_false_quiets_a_route(make_app, log_dir, value):
    app = make_app()
    app.route('/ping', callback=lambda: 'ok', log=value)
    assert_ping_logged_at_info(app, log_dir)


def test_a_log_key_in_the_apps_config_quiets_nothing(make_app, log_dir):
    app = make_app()
    app.config['log'] = False
    app.route('/ping', callback=lambda: 'ok')
    assert_ping_logged_at_info(app, log_dir)


def test_a_route_added_before_the_install_is_quiet_too(log_dir, uninstall_at_end):
    app = bottle.Bottle()
    app.route('/ping', callback=lambda: 'ok', log=False)
    app.route('/', callback=lambda: 'home')
    uninstall_at_end(app).install(canister.Canister(log_path=str(log_dir)))
    server = InProcessWaitress(app)
    try:
        log = Reader(log_dir)
        assert get(server, '/ping') == 200
        assert get(server, '/') == 200
        assert levels_and_messages(log.new())[0] == ('INFO', 'GET %s/' % server.origin)
        assert '/ping' not in read_log(log_dir)
    finally:
        server.close()


def test_the_readme_says_it_where_route_options_and_the_log_are_described():
    logging_section = readme_section('## Request logging')
    assert '`log=False`' in logging_section
    deploying = readme_section('## Deploying')
    assert "@app.get('/ping', log=False)" in deploying and "@app.get('/ready', log=False)" in deploying


def test_a_quiet_routes_503_of_a_store_that_is_down_is_logged_in_full_each_time(make_app, log_dir):
    """The store's ERROR line is written once a second at most (the next ones counted): each 503 of a quiet route
    still has its request line, before its response line, and the next success is quiet again."""
    with held_port() as port:  # (nothing listens there)
        app = make_app(session_store='redis://127.0.0.1:%d/0' % port, session_redis_timeout=0.5)

        @app.get('/whoami', log=False)
        def whoami():
            canister.session.data['seen'] = True  # (saved as the answer goes out: the store is down)
            return 'seen'

        app.route('/ping', callback=lambda: 'ok', log=False)
        server = InProcessWaitress(app)
        try:
            log = Reader(log_dir)
            for _ in range(2):
                assert get(server, '/whoami') == 503
                lines = levels_and_messages(log.new())
                assert lines[0] == ('INFO', 'GET %s/whoami' % server.origin)
                assert lines[-1][0] == 'ERROR' and lines[-1][1].startswith('Response: 503 (')
            assert get(server, '/ping') == 200
            assert '/ping' not in read_log(log_dir)
        finally:
            server.close()
