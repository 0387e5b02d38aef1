"""Log lines to a full pipe under gevent (``log_path = stderr``, a collector that stops reading).

A write to a pipe with no room waits until the reader reads.  Under gevent every request is a
greenlet of one thread, so a write waiting inside ``os.write`` would stop them all, even those
that log nothing; canister waits for the room in gevent's hub instead.  Each test serves
tests/apps/gevent_app.py under ``bottle.run(server='gevent')`` in a subprocess whose stderr is a
pipe this test leaves unread, fills that pipe to the brim (through a descriptor of its own on it,
which does not wait), sends requests, and only then reads what is in the pipe.
"""
import json
import os
import re
import threading
import time

import pytest

from servers import AppServer, Client, wait_until


@pytest.fixture
def serve_gevent_to_pipe():
    """Start gevent_app logging JSON lines at ``level`` to its stderr, a pipe nobody reads yet; its AppServer."""
    started = []

    def start(level):
        server = AppServer('gevent_app:app', server='gevent', stderr_pipe=True, env={
            'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': 'stderr', 'CANISTER_LOG_LEVEL': level})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.cleanup()


def fill_stderr_pipe(server):
    """Fill the server's stderr pipe until it takes no more, through a descriptor of this process's
    own that does not wait (the server's stays as it was, one that waits for room)."""
    filler = os.open('/proc/%d/fd/2' % server.proc.pid, os.O_WRONLY | os.O_NONBLOCK)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(filler, b'\n' * size)
            except BlockingIOError:
                pass
    finally:
        os.close(filler)


def read_until(server, done):
    """Read the server's stderr until ``done(lines)`` is true of the JSON lines read (30 s at most); those lines."""
    os.set_blocking(server.stderr_pipe, False)  # (this process's end, which the server does not have)
    data = []

    def lines():
        return [json.loads(line) for line in b''.join(data).splitlines() if line.strip()]

    def arrived():
        try:
            data.append(os.read(server.stderr_pipe, 1 << 20))
        except BlockingIOError:
            return False
        return done(lines())

    wait_until(arrived, 30, what='the lines awaited on the server\'s stderr')
    return lines()


def messages_of(lines):
    """The messages of the log lines, in order."""
    return [line['message'] for line in lines]


def answered(lines):
    """The messages of each request to /warn whose three lines were read, by request id."""
    requests = {}
    for line in lines:
        if line['request_id']:
            requests.setdefault(line['request_id'], []).append(line['message'])
    return {request_id: texts for request_id, texts in requests.items()
            if len(texts) == 3 and texts[1].startswith('line-')}


def ping_or_none(server):
    """GET /ping, given 3 s: its servers.Response, or None if no answer came by then."""
    try:
        return Client(server.url, timeout=3).get('/ping')
    except TimeoutError:
        return None


def in_thread(call):
    """Start ``call`` in a thread; the thread, and a dict that gets its answer (``answer``) or error (``error``)."""
    held = {}

    def run():
        try:
            held['answer'] = call()
        except Exception as error:
            held['error'] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, held


def test_a_log_line_waiting_for_room_in_a_full_pipe_does_not_stop_the_other_requests_under_gevent(serve_gevent_to_pipe):
    server = serve_gevent_to_pipe('WARNING')  # a ping writes no line
    before = [ping_or_none(server) for _ in range(3)]  # (how long a ping takes on this machine now)
    assert None not in before, before
    fill_stderr_pipe(server)

    waiting, held = in_thread(lambda: Client(server.url).get('/warn?text=held-up'))
    time.sleep(0.5)  # (its line waits for room)
    slowest_before = max(answer.elapsed for answer in before)
    for _ in range(3):  # (pinged again, the line still waiting, only when another job's load made a ping slow)
        pings = [ping_or_none(server) for _ in range(3)]
        if None not in pings and max(answer.elapsed for answer in pings) < max(0.5, 4 * slowest_before):
            break
    answered_while_it_waited = waiting.is_alive()
    lines = read_until(server, lambda lines: 'held-up' in messages_of(lines))
    waiting.join(30)

    assert None not in pings, 'the server answered nothing while a line waited for room in the pipe: %r' % pings
    assert [answer.status for answer in pings] == [200] * 3
    assert max(answer.elapsed for answer in pings) < max(0.5, 4 * slowest_before), (pings, before)
    assert answered_while_it_waited, held
    assert held['answer'].status == 200
    # whole, once the pipe had room (then, if load made the request slower than log_slow's 1 s, its Response line)
    after = messages_of(lines)[messages_of(lines).index('held-up') + 1:]
    assert len(after) <= 1 and all(re.fullmatch(r'Response: 200 \(\d+ms\)', text) for text in after), after


def test_under_gevent_requests_that_log_wait_for_a_full_pipe_and_lose_no_line(serve_gevent_to_pipe):
    server = serve_gevent_to_pipe('INFO')  # every request writes its request line first
    fill_stderr_pipe(server)

    waiting = [in_thread(lambda number=number: Client(server.url).get('/warn?text=line-%d' % number))
               for number in range(3)]
    time.sleep(1)
    none_answered = all(thread.is_alive() for thread, _ in waiting)
    lines = read_until(server, lambda lines: len(answered(lines)) == 3)
    for thread, _ in waiting:
        thread.join(30)

    assert none_answered, 'a request was answered while its lines had no room in the pipe'
    assert [held['answer'].status for _, held in waiting] == [200] * 3
    requests = sorted(answered(lines).values(), key=lambda messages: messages[1])
    assert [messages[1] for messages in requests] == ['line-0', 'line-1', 'line-2']
    for messages in requests:  # each line whole: the request line, the handler's, the response line
        assert messages[0].startswith('GET http://') and messages[2].startswith('Response: 200 ('), messages

