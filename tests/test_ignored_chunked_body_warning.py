"""The WARNING of a JSON object sent without ``Content-Type: application/json`` to a handler whose parameters have
defaults (tests/test_ignored_body_warning.py) for a body sent in chunks, with no Content-Length, on each server that
takes one: wsgiref, which passes the chunk framing on for Bottle to read, waitress and gunicorn, which de-chunk it.
And what the look at the body costs: only the request that says the WARNING reads it before the handler."""
from __future__ import annotations

import http.client
import socket
from typing import Any, Dict, Iterator, Optional

import bottle
import pytest

import canister
from helpers import read_log, readme_section
from servers import InProcessWaitress, WsgirefServer, status_of

# (a JSON object after whitespace, in pieces: http.client sends each as one chunk, the '{' alone in one)
PIECES = (b'\r\n  ', b'{', b'"title": "milk",', b' "done": true}')
BODY = b''.join(PIECES)
ADVICE = 'send a JSON object with Content-Type: application/json, or a form'
WARNED = ("Route POST /notes: the body filled no parameter, and the handler ran with the defaults of 'title', 'done' "
          "(the body, of text/plain, fills no parameter: %s); said at most once a minute for this route" % ADVICE)


def notes_app(log_dir: Any, **settings: Any) -> bottle.Bottle:
    """POST /notes, whose parameters have defaults and which never reads the body, and POST /read, which reads it
    itself (``bottle.request.body``) and answers its length and text."""
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), **settings))

    @app.post('/notes')
    def notes(title: str = 'untitled', done: Optional[bool] = None) -> Dict[str, Any]:
        return {'title': title, 'done': done}

    @app.post('/read')
    def read(level: str = 'info') -> str:
        text = bottle.request.body.read()
        return '%s %d %s' % (level, len(text), text.decode('latin-1'))

    return app


@pytest.fixture(params=['wsgiref', 'waitress'])
def serve_chunked(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``serve_chunked(app)``: the app on wsgiref (the chunk framing passed on to the app) or on waitress (the body
    de-chunked before the app), in this process; its port."""
    servers: list = []

    def start(app: bottle.Bottle) -> int:
        if request.param == 'wsgiref':
            servers.append(WsgirefServer(app))
            return servers[-1].port
        servers.append(InProcessWaitress(app))
        return int(servers[-1].origin.rsplit(':', 1)[1])

    yield start
    for server in servers:
        server.close()


def post_chunked(port: int, path: str, pieces: Any, content_type: str = 'text/plain') -> http.client.HTTPResponse:
    """POST ``pieces`` (an iterable of bytes) with ``Transfer-Encoding: chunked``, one chunk each, no Content-Length."""
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    connection.request('POST', path, body=iter(pieces), encode_chunked=True,
                       headers={'Content-Type': content_type, 'Transfer-Encoding': 'chunked', 'Connection': 'close'})
    answer = connection.getresponse()
    answer.read()  # (for the caller: answer.data)
    connection.close()
    return answer


def test_a_chunked_json_object_sent_as_text_plain_logs_the_warning(serve_chunked, log_dir):
    port = serve_chunked(notes_app(log_dir))
    answer = post_chunked(port, '/notes', PIECES)
    assert answer.status == 200
    assert WARNED in read_log(log_dir)


def test_a_handler_reading_a_chunked_body_that_was_looked_at_gets_all_of_it(serve_chunked, log_dir):
    port = serve_chunked(notes_app(log_dir))
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    connection.request('POST', '/read', body=iter(PIECES), encode_chunked=True,
                       headers={'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked'})
    answer = connection.getresponse()
    assert (answer.status, answer.read()) == (200, b'info %d %s' % (len(BODY), BODY))
    connection.close()
    assert ("Route POST /read: the body filled no parameter, and the handler ran with the defaults of 'level'"
            in read_log(log_dir))


def test_a_chunked_body_of_other_text_logs_no_warning(serve_chunked, tmp_path):
    # (an app each: the route looks at one body a minute, and a handler that never reads one it did not look at
    # answers while http.client may still be sending it)
    for name, pieces in (('line', (b'2026-12-07 ', b'disk full')), ('array', (b'[{"title": ', b'"milk"}]'))):
        port = serve_chunked(notes_app(tmp_path / name))
        assert post_chunked(port, '/notes', pieces).status == 200
        assert 'the body filled no parameter' not in read_log(tmp_path / name)


def test_a_chunked_json_object_on_gunicorn_logs_the_warning(serve_limits, tmp_path):
    server = serve_limits('gunicorn')  # (tests/apps/hostile_app.py: POST /echo takes **params only)
    answer = post_chunked(server.port, '/echo', (b'{"title": ', b'"milk"}'), content_type='')
    assert answer.status == 200
    assert ("Route POST /echo: the body filled no parameter, and the handler's **kwargs got none of it (the body, of "
            "no type, fills no parameter: %s)" % ADVICE in read_log(tmp_path / 'logs'))


def test_a_chunked_body_past_max_body_size_is_not_looked_at_and_a_handler_that_never_reads_it_answers(log_dir):
    server = WsgirefServer(notes_app(log_dir, max_body_size=1000))
    try:
        # (one chunk whose framing makes 1,003 bytes, which canister counts: Bottle reads all but the last CRLF, as
        # of any chunked body, and is refused at the 1,001st, so wsgiref closes a connection with no more left unread
        # on it than it does after a body of any size)
        large = (b'{"title": "milk", "note": "' + b'x' * 962 + b'"}',)
        framed = b'%x\r\n%s\r\n0\r\n\r\n' % (len(large[0]), large[0])
        assert len(framed) == 1003
        head = (b'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
                b'Content-Type: text/plain\r\nConnection: close\r\n\r\n')
        for _ in range(3):  # (sent at once: a handler that never reads it may answer before it has all come)
            with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
                sock.sendall(head + framed)
                assert status_of(sock.recv(65536)) == 200
        log = read_log(log_dir)
        assert 'the body filled no parameter' not in log
        assert 'Request body too large' not in log  # (a handler that never reads it: the client's body, no WARNING)
        assert post_chunked(server.port, '/read', large).status == 413  # (the handler that reads it, as ever)
        assert read_log(log_dir).count('Request body too large: more than 1000 bytes (chunked)') == 1
    finally:
        server.close()


def test_chunk_framing_bottle_cannot_read_is_not_looked_at_and_a_handler_that_never_reads_it_answers(log_dir):
    server = WsgirefServer(notes_app(log_dir))
    try:
        head = (b'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
                b'Content-Type: text/plain\r\nConnection: close\r\n\r\n')
        with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
            sock.sendall(head + b'zz\r\n{"title": "milk"}\r\n0\r\n\r\n')
            answer = sock.recv(65536)
        assert status_of(answer) == 200
        assert 'the body filled no parameter' not in read_log(log_dir)
    finally:
        server.close()


def answer_to_a_short_body(port: int, text: bytes) -> bytes:
    """What POST /notes of ``text`` (text/plain) answers within 30 s when its Content-Length says 100 bytes more than
    come.  The client holds the rest back all that time, so a handler that waits for the whole body never answers,
    however long the limit: 30 s is for a loaded machine, the same verdict as any shorter one."""
    head = (b'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n'
            b'Connection: close\r\n\r\n' % (len(text) + 100))
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.sendall(head + text)
        try:
            return sock.recv(65536)
        except socket.timeout:
            return b'(no answer within 30 s: the handler waited for the whole body)'


def test_within_the_minute_after_the_warning_the_handler_runs_before_the_body_has_all_come(log_dir):
    """wsgiref hands the app the socket: the look at the body (Bottle reads all of it to give its first bytes) waits
    for the body, so only the request that says the WARNING waits; the others of its minute run at once."""
    server = WsgirefServer(notes_app(log_dir))
    try:
        connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
        connection.request('POST', '/notes', body=BODY, headers={'Content-Type': 'text/plain'})
        assert connection.getresponse().status == 200
        connection.close()
        assert read_log(log_dir).count('the body filled no parameter') == 1
        assert status_of(answer_to_a_short_body(server.port, BODY)) == 200
        assert read_log(log_dir).count('the body filled no parameter') == 1
    finally:
        server.close()


def test_after_a_look_at_other_text_the_handler_runs_before_the_body_has_all_come(log_dir):
    """A log shipper's text, which is no JSON object: the route looks at one body a minute whatever it finds, so
    the next request of the minute does not wait for its body."""
    server = WsgirefServer(notes_app(log_dir))
    try:
        assert post_chunked(server.port, '/notes', (b'2026-12-07 ', b'disk full')).status == 200
        assert status_of(answer_to_a_short_body(server.port, b'2026-12-07 disk full on host7\n')) == 200
        assert 'the body filled no parameter' not in read_log(log_dir)
    finally:
        server.close()


def test_the_readme_says_a_chunked_body_is_told_of_on_each_server_and_when_it_is_not():
    section = readme_section('## Parameter unpacking')
    assert ('A body sent in chunks, with no `Content-Length`, is told of in the same way on each server: wsgiref, which '
            'passes the chunks on for Bottle to read, and waitress and gunicorn, which join them first; one past '
            '`max_body_size`, or whose chunk framing Bottle cannot read, is not, and a handler that never reads it '
            'still answers, with no `Request body too large` WARNING in the log (one that reads it gets its 413, and '
            'that WARNING, as ever).' in section)
