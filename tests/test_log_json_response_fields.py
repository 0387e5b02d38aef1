"""A JSON log's response line carries the request's ``method``, its ``path`` (and query, masked as the request line
masks them), its ``status`` as a number and its ``duration_ms``, each a member of its own beside the message, so that
a collector can select ``status >= 500`` or take the 99th percentile of ``duration_ms`` without a regex; the text
line stays as it was."""
import json
import logging
import re
import time

import pytest

from helpers import client, read_log
from servers import AppServer, Client

pytestmark = pytest.mark.usefixtures('nothing_left_running')

#: A JWT (three base64url parts, the first starting ``eyJ``), as a password reset link carries one in its path.
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLW9mLWJvYg'

#: The members every JSON line has, in their order, and the four a response line adds after them.
MEMBERS = ['time', 'level', 'pid', 'thread', 'request_id', 'message']
REQUEST_MEMBERS = MEMBERS + ['method', 'path']
RESPONSE_MEMBERS = MEMBERS + ['method', 'path', 'status', 'duration_ms']


def by_request(text):
    """The JSON lines of ``text``, by their request id."""
    lines = {}
    for line in text.splitlines():
        entry = json.loads(line)
        lines.setdefault(entry['request_id'], []).append(entry)
    return lines


def check_response_line(entry, method, path, status):
    """``entry`` is a response line with these members, its ``duration_ms`` the message's time before it was cut."""
    assert list(entry) == RESPONSE_MEMBERS, entry
    assert (entry['method'], entry['path'], entry['status']) == (method, path, status)
    assert type(entry['status']) is int and type(entry['duration_ms']) is float
    shown = re.fullmatch(r'Response: (\d+) \((\d+)ms\)', entry['message'])
    assert shown is not None and int(shown.group(1)) == status
    assert int(entry['duration_ms']) == int(shown.group(2)) and entry['duration_ms'] >= 0
    assert entry['duration_ms'] == round(entry['duration_ms'], 3)   # (to the microsecond)


def test_a_real_servers_json_response_lines_carry_method_path_status_and_duration(tmp_path):
    """A real gunicorn logging JSON lines: the response line of a 200, a 404, a handler's 500 (at ERROR) and a POST
    has each figure as a member of its own, a query's secret and a JWT in the path masked as in the request line;
    the request line has ``method`` and ``path`` too, the same."""
    logs = tmp_path / 'logs'
    server = AppServer('load_app:app', env={'CANISTER_LOG_PATH': str(logs), 'CANISTER_LOG_FORMAT': 'json',
                                            'CANISTER_SESSION_STORE': 'memory'})
    server.start()
    try:
        asked = [('GET', '/ping?page=2&access_token=raw-secret-1&q=x', 200, '/ping?page=2&access_token=***&q=x'),
                 ('GET', '/reset/%s?next=/home' % JWT, 404, '/reset/***?next=/home'),
                 ('GET', '/boom?name=x', 500, '/boom?name=x'),
                 ('POST', '/ping', 405, '/ping')]
        for index, (method, path, status, _) in enumerate(asked):
            answer = Client(server.url).request(method, path, headers={'X-Request-ID': 'asked-%d' % index})
            assert answer.status == status
    finally:
        server.cleanup()
    text = read_log(logs)
    assert 'raw-secret-1' not in text and JWT not in text
    lines = by_request(text)
    for index, (method, _, status, logged) in enumerate(asked):
        mine = lines['asked-%d' % index]
        assert list(mine[0]) == REQUEST_MEMBERS and mine[0]['message'].startswith('%s http://' % method)
        assert (mine[0]['method'], mine[0]['path']) == (method, logged)
        assert mine[0]['message'].endswith(logged)   # (the request line shows the path masked the same)
        response = mine[-1]
        check_response_line(response, method, logged, status)
        assert response['level'] == ('ERROR' if status >= 500 else 'INFO')


def test_a_slow_responses_warning_line_has_its_duration_in_milliseconds(make_app, log_dir):
    app = make_app(log_format='json', log_slow=0.05)
    app.route('/slow', callback=lambda: time.sleep(0.08) or 'ok')
    started = time.monotonic()
    client(app).get('/slow', headers={'X-Request-ID': 'slow-1'})
    took = time.monotonic() - started
    response = by_request(read_log(log_dir))['slow-1'][-1]
    check_response_line(response, 'GET', '/slow', 200)
    # (milliseconds: within the time the test saw the request take, however long load made it)
    assert response['level'] == 'WARNING' and 80 <= response['duration_ms'] <= took * 1000 + 1, (response, took)


def test_the_members_are_kept_when_the_app_adds_a_handler_to_its_log(make_app, log_dir):
    """With a handler of the app's own on ``app.log``, lines go through the logging module: the response line
    in canister's file keeps its members, and the app's handler gets the same message."""
    app = make_app(log_format='json')
    app.route('/', callback=lambda: 'ok')
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    app.log.addHandler(Keep())
    client(app).get('/?password=raw-secret-2', headers={'X-Request-ID': 'handled-1'})
    text = read_log(log_dir)
    assert 'raw-secret-2' not in text
    response = by_request(text)['handled-1'][-1]
    check_response_line(response, 'GET', '/?password=***', 200)
    assert response['message'] in seen


def test_text_response_lines_are_as_before(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    client(app).get('/?access_token=raw-secret-3')
    text = read_log(log_dir)
    assert 'raw-secret-3' not in text and 'duration_ms' not in text and 'status' not in text
    assert re.search(r'^\S+ \S+ INFO     \[127\.0\.0\.1-\.\.\.\]   Response: 200 \(\d+ms\)$', text, re.M)


def _any_ms(message):
    """The message with the milliseconds of a response line left out."""
    return re.sub(r'\(\d+ms\)$', '(...ms)', message)


def test_each_member_of_every_json_line_means_what_the_readme_says(make_app, log_dir, tmp_path):
    """The same requests to an app logging text and to one logging JSON: ``level`` is the logging module's name
    of the level, ``thread`` what the text line has between ``[...]``, ``message`` what it has after it (masked and
    escaped alike), ``request_id`` the request's ``X-Request-ID`` (``""`` for the banner, written by
    ``MainThread``), and ``traceback`` only on the line of an exception, whole."""
    text_dir = tmp_path / 'text'
    apps = {'json': make_app(log_format='json', catchall=True),
            'text': make_app(log_path=str(text_dir), catchall=True)}
    for app in apps.values():
        app.route('/', callback=lambda: 'ok')
        app.route('/boom', callback=lambda: 1 / 0)
    for app in apps.values():
        browser = client(app)
        browser.get('/?password=raw-secret-4&x=%0Aforged', headers={'X-Request-ID': 'rid-ok'})
        browser.get('/boom', headers={'X-Request-ID': 'rid-boom'}, status=500, expect_errors=True)
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    text_lines = [line for line in read_log(text_dir).splitlines() if not line.startswith('  ')]
    assert len(entries) == len(text_lines)
    for entry, line in zip(entries, text_lines):
        shown = re.fullmatch(r'\S+ \S+ (\S+) +\[([^]]*)\]   (.*)', line)
        assert shown is not None, line
        assert entry['level'] == shown.group(1) and entry['level'] in ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
        if entry['request_id'] == 'rid-ok':   # (the 500's messages name the place: kept out of the comparison)
            # (each app times its own request: the milliseconds may differ, so each is compared with its own line)
            assert _any_ms(entry['message']) == _any_ms(shown.group(3))
            if 'duration_ms' in entry:
                assert entry['message'].endswith('(%dms)' % entry['duration_ms'])
        assert entry['thread'] == shown.group(2) or entry['request_id'] == ''   # (the banner's thread is named late)
        assert set(entry) in (set(MEMBERS), set(REQUEST_MEMBERS), set(RESPONSE_MEMBERS), set(MEMBERS) | {'traceback'})
    banner = [entry for entry in entries if entry['message'] == 'Initializing']
    assert banner and all(entry['request_id'] == '' and entry['thread'] == 'MainThread' for entry in banner)
    ok = [entry for entry in entries if entry['request_id'] == 'rid-ok']
    assert [entry['message'] for entry in ok][0] == 'GET http://localhost:80/?password=***&x=%0Aforged'
    assert all(entry['thread'] == '127.0.0.1-...' for entry in ok)
    assert 'raw-secret-4' not in json.dumps(entries)
    failed = [entry for entry in entries if 'traceback' in entry]
    assert len(failed) == 1 and failed[0]['request_id'] == 'rid-boom' and failed[0]['level'] == 'ERROR'
    assert failed[0]['traceback'].startswith('Traceback (most recent call last):\n')
    assert failed[0]['traceback'].rstrip().endswith('ZeroDivisionError: division by zero')


def test_a_streamed_bodys_duration_ms_is_the_time_to_its_first_chunk(make_app, log_dir):
    app = make_app(log_format='json')

    first_sent = []

    @app.get('/export')
    def export():
        yield 'first'
        first_sent.append(time.monotonic())  # (the server asks for more once the headers and first chunk went out)
        time.sleep(0.3)
        yield 'last'

    started = time.monotonic()
    client(app).get('/export', headers={'X-Request-ID': 'stream-1'})
    assert time.monotonic() - started >= 0.3
    response = by_request(read_log(log_dir))['stream-1'][-1]
    check_response_line(response, 'GET', '/export', 200)
    # (within the time to the first chunk as the test saw it, however long load made it; the whole is 0.3 s more)
    assert response['duration_ms'] <= (first_sent[0] - started) * 1000 + 1, (response, first_sent[0] - started)
