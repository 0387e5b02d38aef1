"""A session store that is down fails every request that needs it: each keeps its ``Response: 503``
line, but the store's error is one ERROR line a second, the next saying how many requests met it
meanwhile.  A real redis-server, stopped mid-test."""
import json
import logging
import os
import re
import threading

import bottle
import pytest
import redis

import canister
from helpers import client, cookieless_client, json_counter_app, log_entries, read_log
from servers import AppServer, Client

DOWN = 'the Redis session store is unavailable: '


def counted(count, seconds):
    """The end of the line that says how many more requests of this process met the store's error."""
    return ' (and %d more like it in process %d in the last %ss)' % (count, os.getpid(), seconds)


def store_lines(log):
    return [line for line in log.splitlines() if DOWN in line]


def count_line_before(log, marker, note):
    """The outage's second store line, asserted to repeat the first with ``note`` and to stand just before
    the first line holding ``marker``."""
    first, second = store_lines(log)
    assert second.split(DOWN)[1] == first.split(DOWN)[1] + note
    lines = log.splitlines()
    assert lines.index(second) == [i for i, line in enumerate(lines) if marker in line][0] - 1
    return second


def down_after_one_count(make_app, redis_server, failures, **overrides):
    """``json_counter_app`` on ``redis_server``: one count, then the server stopped and ``failures`` requests
    answered 503; the app and its client."""
    app = json_counter_app(make_app, session_store=redis_server.url, **overrides)
    web = client(app)
    assert web.get('/count').json == {'n': 1}
    redis_server.stop()
    for _ in range(failures):
        web.get('/count', status=503)
    return app, web


def test_a_store_that_is_down_is_one_error_line_a_second_however_many_requests_meet_it(
        make_app, redis_server, log_dir, clock):
    _, web = down_after_one_count(make_app, redis_server, 5)
    log = read_log(log_dir)
    assert len(re.findall(r' ERROR .*Response: 503 \(\d+ms\)$', log, re.M)) == 5
    [line] = store_lines(log)
    assert ' ERROR ' in line and line.endswith('Connection refused.')
    clock.advance(1.5)
    web.get('/count', status=503)
    log = read_log(log_dir)
    assert len(re.findall(r'Response: 503 \(\d+ms\)$', log, re.M)) == 6
    first, second = store_lines(log)
    assert second == second.split(DOWN)[0] + DOWN + first.split(DOWN)[1] + counted(4, '1.5')


def test_a_store_that_is_down_again_after_a_quiet_second_is_one_plain_line(make_app, redis_server, log_dir, clock):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    web.get('/count')
    redis_server.stop()
    web.get('/count', status=503)
    clock.advance(1)
    web.get('/count', status=503)
    assert [line.endswith('Connection refused.') for line in store_lines(read_log(log_dir))] == [True, True]


def test_new_sessions_that_cannot_be_saved_share_the_line_of_the_store_that_is_down(
        make_app, redis_server, log_dir, clock):
    web = cookieless_client(json_counter_app(make_app, session_store=redis_server.url))
    redis_server.stop()
    for _ in range(3):
        assert 'Set-Cookie' not in web.get('/count', status=503).headers
    log = read_log(log_dir)
    assert len(re.findall(r'Response: 503 \(\d+ms\)$', log, re.M)) == 3
    assert len(store_lines(log)) == 1


def test_the_count_of_an_outage_that_ends_within_its_second_is_written_with_the_next_line(
        make_app, redis_server, log_dir, clock):
    _, web = down_after_one_count(make_app, redis_server, 3)
    redis_server.start()                      # the outage ends within the second of its first line
    clock.advance(0.5)
    assert web.get('/count').json == {'n': 2}
    assert len(store_lines(read_log(log_dir))) == 1   # within the second: still held back
    clock.advance(0.6)
    assert web.get('/count?after=outage').json == {'n': 3}
    second = count_line_before(read_log(log_dir), '/count?after=outage', counted(2, '1.1'))
    assert ' ERROR ' in second


def test_in_a_json_log_the_count_of_an_outage_that_ended_is_written_before_the_next_request_line(
        make_app, redis_server, log_dir, clock):
    """The request and response lines of a JSON log are written by writers of their own: the count held back
    comes before them all the same."""
    _, web = down_after_one_count(make_app, redis_server, 3, log_format='json')
    redis_server.start()
    clock.advance(1.1)
    assert web.get('/count?after=outage').json == {'n': 2}
    messages = [json.loads(line)['message'] for line in read_log(log_dir).splitlines()]
    counts = [index for index, message in enumerate(messages) if DOWN in message]
    assert len(counts) == 2 and messages[counts[1]].endswith(counted(2, '1.1')), messages
    assert counts[1] == [index for index, message in enumerate(messages) if '/count?after=outage' in message][0] - 1


def test_the_count_of_an_outage_is_written_before_the_next_line_of_the_apps_own_through_app_log(
        make_app, redis_server, log_dir, clock):
    app, _ = down_after_one_count(make_app, redis_server, 3)
    clock.advance(1.1)
    app.log.info('the app says something')    # (outside any request: a thread of the app's own, say)
    count_line_before(read_log(log_dir), 'the app says something', counted(2, '1.1'))


def test_the_count_of_an_outage_is_written_when_the_plugin_is_uninstalled_before_another_line(
        make_app, redis_server, log_dir, clock):
    app, web = down_after_one_count(make_app, redis_server, 2)
    clock.advance(0.25)
    app.uninstall(canister.Canister)
    [first, second] = store_lines(read_log(log_dir))
    assert second.split(DOWN)[1] == first.split(DOWN)[1] + counted(1, '0.2')


def test_an_outage_that_goes_on_is_still_one_error_line_a_second_with_the_count(make_app, redis_server, log_dir, clock):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    web.get('/count')
    redis_server.stop()
    for _ in range(12):
        web.get('/count', status=503)
        clock.advance(0.25)
    # (the first line after each second is the request line of the next failure, which the next count holds)
    assert [re.sub(r'^.*Connection refused\.', '', line) for line in store_lines(read_log(log_dir))] == [
        '', counted(3, '1.0'), counted(4, '1.0')]


def count_then_next_request(web, redis_server, log_dir, clock):
    """One count, three requests of an outage, then the store back and a request a second later: the
    JSON log entries of the held-back count and of that request's line."""
    web.get('/count')
    redis_server.stop()
    for _ in range(3):
        web.get('/count', status=503)
    redis_server.start()
    clock.advance(1.1)
    web.get('/count?after=outage', headers={'X-Request-ID': 'after-outage'})
    entries = log_entries(log_dir)
    [count] = [entry for entry in entries if entry['message'].endswith(counted(2, '1.1'))]
    [after] = [entry for entry in entries if entry['message'].endswith('/count?after=outage')]
    assert after['request_id'] == 'after-outage' and after['thread'] != threading.current_thread().name
    return count, after


def test_the_held_back_count_of_an_outage_claims_no_request_of_its_own(make_app, redis_server, log_dir, clock):
    web = client(json_counter_app(make_app, session_store=redis_server.url, log_format='json'))
    count, _ = count_then_next_request(web, redis_server, log_dir, clock)
    # (as a line written outside any request, at install or uninstall: the thread's own name, no request id)
    assert (count['thread'], count['request_id']) == (threading.current_thread().name, '')


def test_the_held_back_count_claims_no_request_when_the_app_added_a_handler_to_app_log(
        make_app, redis_server, log_dir, clock):
    app = json_counter_app(make_app, session_store=redis_server.url, log_format='json')
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append  # the app's own handler: canister's lines now go through the logging module
    app.log.addHandler(handler)
    try:
        count, _ = count_then_next_request(client(app), redis_server, log_dir, clock)
    finally:
        app.log.removeHandler(handler)
    assert (count['thread'], count['request_id']) == (threading.current_thread().name, '')
    assert any(record.getMessage() == count['message'] for record in seen)  # (the app's handler got it too)


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='no fork on this system')
def test_a_process_forked_while_a_count_is_held_back_leaves_that_count_to_its_parent(
        make_app, redis_server, log_dir, clock):
    app, web = down_after_one_count(make_app, redis_server, 2)  # (the second failure's line is held back: a count of 1)
    pid = os.fork()
    if pid == 0:  # the child writes a line of its own after that second: the count is none of its requests
        try:
            clock.advance(1.5)
            web.get('/nowhere', status=404)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    clock.advance(0.25)
    app.uninstall(canister.Canister)  # the parent, which served both requests, writes the count
    assert [line.split(DOWN)[1].endswith(counted(1, '0.2'))
            for line in store_lines(read_log(log_dir))] == [False, True]


def test_the_count_of_an_outage_is_written_when_a_gunicorn_worker_is_stopped_before_another_line(
        redis_server, tmp_path, started):
    server = AppServer('session_app:app', workers=1, env={'CANISTER_SESSION_STORE': redis_server.url,
                                                          'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    started.append(server.start())
    web = Client(server.url)
    assert web.get('/count').status == 200
    redis_server.stop()
    assert [web.get('/count').status for _ in range(4)] == [503] * 4
    [worker] = set(server.pids()) - {server.proc.pid}
    server.stop()                                 # SIGTERM: gunicorn stops its worker, which uninstalls nothing
    first, second = store_lines(read_log(tmp_path / 'logs'))
    # (the count line names the worker whose requests it counts: its thread's name, MainThread, is every worker's)
    assert re.fullmatch(re.escape(first.split(DOWN)[1]) + r' \(and 3 more like it in process %d in the last [0-9.]+s\)'
                        % worker, second.split(DOWN)[1])
    assert '[MainThread]' in second


@pytest.mark.parametrize('sigterm_exits', [False, True])
def test_under_waitress_the_count_is_written_at_sigterm_only_once_the_app_makes_sigterm_a_normal_exit(
        redis_server, tmp_path, started, sigterm_exits):
    """waitress leaves SIGTERM to Python's default, which runs no atexit: the README's two lines in the app's
    module make it a normal exit, and the count is written."""
    env = {'CANISTER_SESSION_STORE': redis_server.url, 'CANISTER_LOG_PATH': str(tmp_path / 'logs')}
    if sigterm_exits:
        env['SESSION_APP_SIGTERM_EXITS'] = '1'
    server = AppServer('session_app:app', server='waitress', env=env)
    started.append(server.start())
    web = Client(server.url)
    assert web.get('/count').status == 200
    redis_server.stop()
    assert [web.get('/count').status for _ in range(4)] == [503] * 4
    server.stop()                                 # SIGTERM
    lines = store_lines(read_log(tmp_path / 'logs'))
    assert len(re.findall(r'Response: 503', read_log(tmp_path / 'logs'))) == 4   # (each request's own line, always)
    if not sigterm_exits:
        assert len(lines) == 1                    # the count of the 3 after the first is lost with the process
        return
    first, second = lines
    assert re.fullmatch(re.escape(first.split(DOWN)[1]) + r' \(and 3 more like it in process \d+ in the last [0-9.]+s\)',
                        second.split(DOWN)[1])


def test_a_session_that_cannot_be_saved_after_streamed_responses_is_one_error_line_a_second_with_the_count(
        make_app, redis_server, log_dir, clock):
    """Redis fills up (``maxmemory``, ``noeviction``) while each response streams: the session it changed after
    its first chunk cannot be saved once the body ends.  That is one ERROR line a second, as at any other save."""
    app = make_app(session_store=redis_server.url)
    full = redis.Redis(port=redis_server.port)

    @app.get('/stream')
    def stream():
        yield 'first '
        full.config_set('maxmemory-policy', 'noeviction')
        full.config_set('maxmemory', '1')                     # Redis refuses every write from here on
        canister.session.data['n'] = canister.session.data.get('n', 0) + 1
        yield 'second'

    @app.get('/start')
    def start():
        canister.session.data['n'] = 0
        return 'started'

    web = client(app)
    web.get('/start')
    for _ in range(4):
        full.config_set('maxmemory', '0')
        assert web.get('/stream').text == 'first second'
    clock.advance(1.5)
    full.config_set('maxmemory', '0')
    web.get('/stream')
    lines = [line for line in read_log(log_dir).splitlines() if 'Session not saved after the streamed response' in line]
    assert len(lines) == 2, lines
    assert ' ERROR ' in lines[0] and "used memory > 'maxmemory'" in lines[0]
    assert lines[1].endswith(lines[0].split(']   ', 1)[1] + counted(3, '1.5')), lines


def messages_of(log_dir, log_format):
    """The message of each line of the log (the lines of a text log's traceback left out)."""
    lines = read_log(log_dir).splitlines()
    if log_format == 'json':
        return [json.loads(line)['message'] for line in lines]
    return [line.split(']   ', 1)[1] for line in lines if not line.startswith('  ')]


@pytest.mark.parametrize('log_format', ['text', 'json'])
def test_a_quiet_routes_request_that_meets_a_held_count_writes_the_count_first_then_its_request_line(
        make_app, redis_server, log_dir, clock, log_format):
    """A route given ``log=False`` holds its request line back while a store outage's count is held too: when the
    count's second passes during such a request, a line about it writes the count, then its request line, then
    the line itself; and its success, which writes neither of its own lines, still writes the count."""
    app, web = down_after_one_count(make_app, redis_server, 3, log_format=log_format)

    @app.get('/ping', log=False)
    def ping():
        clock.advance(1.1)  # (the count's second passes while the request is served)
        if bottle.request.query.get('note'):
            app.log.warning('Pinged while the store is down')
        return 'ok'

    [first] = [message for message in messages_of(log_dir, log_format) if DOWN in message]
    before = len(messages_of(log_dir, log_format))
    assert web.get('/ping?note=1').text == 'ok'
    count, request, note, response = messages_of(log_dir, log_format)[before:]
    assert count == first + counted(2, '1.1')
    assert request.startswith('GET http://') and request.endswith('/ping?note=1')
    assert note == 'Pinged while the store is down' and response.startswith('Response: 200 (')

    for _ in range(2):
        web.get('/count', status=503)
    before = len(messages_of(log_dir, log_format))
    assert web.get('/ping').text == 'ok'
    assert messages_of(log_dir, log_format)[before:] == [first + counted(2, '1.1')]
