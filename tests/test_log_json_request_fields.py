"""A JSON log's request line carries the request's ``method`` and ``path`` (masked as its message masks them), the
same two its response line has, so that a collector can count the requests that never got a response line: a
handler that hangs, a worker killed mid-request."""
import json
import os
import threading
import time

import pytest

from helpers import client, read_log
from servers import AppServer, Client

pytestmark = pytest.mark.usefixtures('nothing_left_running')

#: The members every JSON line has, in their order, and the two a request line adds after them.
MEMBERS = ['time', 'level', 'pid', 'thread', 'request_id', 'message']
REQUEST_MEMBERS = MEMBERS + ['method', 'path']


def entries(log_dir):
    return [json.loads(line) for line in read_log(log_dir).splitlines()]


def test_a_killed_workers_request_is_the_one_request_line_no_response_line_answers(tmp_path):
    """A real gunicorn, JSON lines: two requests answered, a third held in its handler when the worker is killed
    (SIGKILL). Every request line has ``method`` and ``path`` (a query's secret masked as in its message), the
    answered ones the same two as their response lines; the one request line whose ``request_id`` no response line
    has is the killed request's."""
    logs = tmp_path / 'logs'
    hold = str(tmp_path / 'hold')
    server = AppServer('concurrency_app:app', env={'CANISTER_LOG_PATH': str(logs), 'CANISTER_LOG_FORMAT': 'json',
                                                   'CANISTER_SESSION_STORE': 'memory'})
    server.start()
    try:
        for index, path in enumerate(['/ping?access_token=raw-secret-1', '/read']):
            assert Client(server.url).request('GET', path, headers={'X-Request-ID': 'done-%d' % index}).status == 200
        hung = threading.Thread(target=lambda: _ask_and_ignore(server.url, '/login?name=bob&hold=' + hold),
                                daemon=True)
        hung.start()
        deadline = time.monotonic() + 30
        while not os.path.exists(hold + '.reached'):   # (the handler runs: its request line is written)
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.kill()
        hung.join(30)
    finally:
        server.cleanup()
    lines = [entry for entry in entries(logs) if entry['request_id'] in ('done-0', 'done-1', 'hung-1')]
    requests = [entry for entry in lines if not entry['message'].startswith('Response: ')]
    responses = {entry['request_id']: entry for entry in lines if entry['message'].startswith('Response: ')}
    assert 'raw-secret-1' not in json.dumps(lines)
    assert [list(entry) for entry in requests] == [REQUEST_MEMBERS] * 3
    assert [(entry['method'], entry['path']) for entry in requests] == [
        ('GET', '/ping?access_token=***'), ('GET', '/read'), ('GET', '/login?name=bob&hold=' + hold)]
    for entry in requests:
        assert entry['message'] == 'GET %s%s' % (server.url, entry['path'])
    never_answered = [entry['request_id'] for entry in requests if entry['request_id'] not in responses]
    assert never_answered == ['hung-1']
    for entry in requests[:2]:
        response = responses[entry['request_id']]
        assert (response['method'], response['path']) == (entry['method'], entry['path'])


def _ask_and_ignore(url, path):
    """Ask ``path``, its worker to be killed before it answers: the connection's end is all that comes back."""
    try:
        Client(url).request('GET', path, headers={'X-Request-ID': 'hung-1'})
    except Exception:   # (the connection closed with no answer: what this request is for)
        pass


def test_a_held_back_quiet_routes_request_line_has_them_too(make_app, log_dir):
    """A ``log=False`` route's request line, held back and written once its answer is a 503, has ``method`` and
    ``path``; a POST's has ``POST``; a preflight's (at DEBUG) too."""
    app = make_app(log_format='json', log_level='DEBUG', cors='https://shop.example')
    app.route('/ready', callback=lambda: __import__('bottle').abort(503, 'down'), log=False)
    app.route('/items', method='POST', callback=lambda: 'made')
    browser = client(app)
    browser.get('/ready?password=raw-secret-2', headers={'X-Request-ID': 'quiet-1'}, status=503)
    browser.post('/items', headers={'X-Request-ID': 'post-1'})
    browser.options('/items', headers={'X-Request-ID': 'pre-1', 'Origin': 'https://shop.example',
                                       'Access-Control-Request-Method': 'POST'}, expect_errors=True)
    lines = entries(log_dir)
    assert 'raw-secret-2' not in json.dumps(lines)
    first = {}
    for entry in lines:
        first.setdefault(entry['request_id'], entry)
    assert (first['quiet-1']['method'], first['quiet-1']['path']) == ('GET', '/ready?password=***')
    assert (first['post-1']['method'], first['post-1']['path']) == ('POST', '/items')
    assert (first['pre-1']['level'], first['pre-1']['method'], first['pre-1']['path']) == ('DEBUG', 'OPTIONS', '/items')
    assert all(list(first[rid])[:8] == REQUEST_MEMBERS for rid in ('quiet-1', 'post-1', 'pre-1'))


def test_an_app_logs_own_lines_and_the_text_request_line_are_as_before(make_app, log_dir, tmp_path):
    """A line the app writes through ``app.log`` has no ``method`` or ``path``; a text log's request line is the
    same text as before, with nothing added."""
    app = make_app(log_format='json')
    app.route('/', callback=lambda: app.log.info('Hey!') or 'ok')
    client(app).get('/', headers={'X-Request-ID': 'own-1'})
    own = [entry for entry in entries(log_dir) if entry['message'] == 'Hey!']
    assert len(own) == 1 and list(own[0]) == MEMBERS
    text_dir = tmp_path / 'text'
    text_app = make_app(log_path=str(text_dir))
    text_app.route('/', callback=lambda: 'ok')
    client(text_app).get('/?q=1')
    text = read_log(text_dir)
    assert '"method"' not in text and text.count('   GET http://localhost:80/?q=1\n') == 1
