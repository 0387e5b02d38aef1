"""Request framing: Content-Length together with Transfer-Encoding, and absurd Content-Lengths.

Each is sent over real HTTP as raw bytes (the WSGI servers a Bottle app runs on differ in
what they pass on), and in-process through WebTest.
"""
from __future__ import annotations

import io
import json
import re
import socket

import bottle
import pytest

from helpers import client, read_log
from servers import InProcessWaitress, WsgirefServer, chunked, raw_request, status_of

CHUNKED_300K = b''.join(b'%x\r\n%s\r\n' % (1000, b'a' * 1000) for _ in range(300)) + b'0\r\n\r\n'


def body_app(make_app, calls, **overrides):
    app = make_app(**overrides)

    @app.post('/upload')
    def upload():
        calls.append(len(bottle.request.body.read()))
        return {'read': calls[-1]}

    return app


def servers_of(server_class):
    """The body of a fixture ``start(app)``: the app on a new ``server_class`` server, each closed after the test."""
    servers = []

    def start(app):
        servers.append(server_class(app))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def wsgiref_server():
    """``wsgiref_server(app)``: the app on a wsgiref server of its own (the server)."""
    yield from servers_of(WsgirefServer)


@pytest.fixture
def waitress_server():
    """``waitress_server(app)``: the app on a waitress server in this process (the server)."""
    yield from servers_of(InProcessWaitress)


SMUGGLED_HEAD = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n'
                 b'Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n')


# -- Content-Length with Transfer-Encoding ------------------------------------------

def test_content_length_with_chunked_body_is_refused_on_bottles_default_server(make_app, wsgiref_server, log_dir):
    calls = []
    server = wsgiref_server(body_app(make_app, calls, max_body_size=1000))
    answer = raw_request(server.port, SMUGGLED_HEAD, CHUNKED_300K)
    assert status_of(answer) == 400
    assert b'Content-Length and Transfer-Encoding together' in answer
    assert calls == []
    assert re.search(r' WARNING .*Content-Length and Transfer-Encoding together', read_log(log_dir))


def test_content_length_with_chunked_body_never_passes_the_limit_on_waitress(make_app, waitress_server):
    # waitress reads the chunks itself and hands the app their real length: 413, not a bypass.
    calls = []
    server = waitress_server(body_app(make_app, calls, max_body_size=1000))
    answer = raw_request(server.port, SMUGGLED_HEAD, CHUNKED_300K)
    assert status_of(answer) in (400, 413)
    assert calls == []


def test_content_length_with_transfer_encoding_gets_400_in_process(make_app, log_dir):
    calls = []
    app = body_app(make_app, calls)
    response = client(app).post('/upload', b'hello', headers={'Transfer-Encoding': 'chunked',
                                                              'Content-Type': 'application/octet-stream'},
                                expect_errors=True)
    assert response.status_int == 400
    assert 'Content-Length and Transfer-Encoding together' in response.text
    assert calls == []


def test_a_chunked_body_without_content_length_still_works(make_app, wsgiref_server):
    calls = []
    server = wsgiref_server(body_app(make_app, calls))
    head = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
            b'Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n')
    answer = raw_request(server.port, head, b'5\r\nhello\r\n0\r\n\r\n')
    assert status_of(answer) == 200
    assert calls == [5]


def typed_body_app(make_app, calls):
    app = make_app()

    @app.post('/order')
    def order(quantity: int = 1):
        calls.append(quantity)
        return {'quantity': quantity}

    return app


def send_order(server, coding):
    """POST /order the JSON body ``{"quantity": 5}`` in chunks, under ``Transfer-Encoding: <coding>``; the raw answer."""
    head = (b'POST /order HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: %s\r\n'
            b'Content-Type: application/json\r\nConnection: close\r\n\r\n' % coding)
    return raw_request(server.port, head, chunked(b'{"quantity": 5}', 0), timeout=30)


@pytest.mark.parametrize('coding', [b'gzip, chunked', b'chunked, chunked', b'identity', b'x-custom'])
def test_a_transfer_coding_other_than_chunked_alone_gets_400_on_bottles_default_server(make_app, wsgiref_server,
                                                                                        log_dir, coding):
    # Bottle reads 'gzip, chunked' as chunked and 'identity' as no body: the handler got its defaults
    calls = []
    answer = send_order(wsgiref_server(typed_body_app(make_app, calls)), coding)
    assert status_of(answer) == 400
    message = ("Bad request: Transfer-Encoding '%s' is not supported: send the body chunked (and no other "
               "coding), or with a Content-Length" % coding.decode())
    assert answer.endswith(message.encode() + b'\n')
    assert calls == []
    assert ' WARNING  [127.0.0.1-...]   %s\n' % message in read_log(log_dir)


@pytest.mark.parametrize('coding', [b'chunked', b'Chunked', b' CHUNKED '])
def test_a_chunked_json_body_fills_parameters_on_bottles_default_server(make_app, wsgiref_server, coding):
    calls = []
    answer = send_order(wsgiref_server(typed_body_app(make_app, calls)), coding)
    assert status_of(answer) == 200
    assert calls == [5]


CHUNKED_HEAD = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
                b'Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n')


def test_a_chunked_body_past_the_limit_gets_413_without_waiting_for_more_of_it_on_wsgiref(make_app,
                                                                                           wsgiref_server):
    """wsgiref passes the chunk framing on and Bottle reads a chunk 100 KiB (MEMFILE_MAX) at a time: canister
    asks for at most one byte past the limit, so a client that sent that much gets its 413 at once."""
    calls = []
    server = wsgiref_server(body_app(make_app, calls, max_body_size=1000))
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
        sock.sendall(CHUNKED_HEAD + b'30d40\r\n' + b'x' * 1000)   # 1,007 bytes of a 200,000-byte chunk, then wait
        answer = b''.join(iter(lambda: sock.recv(65536), b''))   # until the server closes
    assert status_of(answer) == 413
    assert b'more than 1000 bytes (chunked)' in answer
    assert calls == []



def test_on_wsgiref_the_413_of_a_chunked_body_is_answered_in_the_route_by_the_apps_own_page(make_app, wsgiref_server):
    """The README: where the server hands the chunks over as they came, the 413 comes while the route
    reads the body, so an ``@app.error(413)`` of the app's answers it."""
    calls = []
    app = body_app(make_app, calls, max_body_size=1000)

    @app.error(413)
    def too_large(error):
        return 'our own 413 page'

    server = wsgiref_server(app)
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
        sock.sendall(CHUNKED_HEAD + b'30d40\r\n' + b'x' * 1000)
        answer = b''.join(iter(lambda: sock.recv(65536), b''))
    assert status_of(answer) == 413
    assert answer.endswith(b'our own 413 page')
    assert calls == []


class CountingInput(io.BytesIO):
    """A wsgi.input that counts the bytes it was asked for (a read of any size is a request for its size)."""

    asked = 0

    def read(self, size=-1):
        data = super().read(size)
        self.asked += size if size is not None and size >= 0 else len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.asked += size if size is not None and size >= 0 else len(data)
        return data


def test_a_chunked_body_is_never_asked_for_more_than_one_byte_past_the_limit(make_app):
    calls = []
    app = body_app(make_app, calls, max_body_size=1000)
    stream = CountingInput(b'30d40\r\n' + b'x' * 200000 + b'\r\n0\r\n\r\n')
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/upload', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
               'REMOTE_ADDR': '127.0.0.1', 'HTTP_TRANSFER_ENCODING': 'chunked', 'wsgi.input': stream,
               'wsgi.url_scheme': 'http', 'wsgi.errors': io.StringIO()}
    started = []
    b''.join(app(environ, lambda status, headers, exc_info=None: started.append(status)))
    assert started == ['413 Content Too Large']
    assert stream.asked <= 1001 and calls == []



def test_where_the_server_de_chunks_the_body_its_413_comes_before_routing_and_is_canisters(make_app):
    """The README: a server such as gunicorn de-chunks the body itself (``wsgi.input_terminated``): canister
    reads it before routing, so its 413 is an early answer, never the app's ``@app.error(413)`` page."""
    calls = []
    app = body_app(make_app, calls, max_body_size=1000)

    @app.error(413)
    def too_large(error):
        return 'our own 413 page'

    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/upload', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
               'REMOTE_ADDR': '127.0.0.1', 'HTTP_TRANSFER_ENCODING': 'chunked', 'wsgi.input_terminated': True,
               'wsgi.input': io.BytesIO(b'x' * 2000), 'wsgi.url_scheme': 'http', 'wsgi.errors': io.StringIO()}
    started = []
    body = b''.join(app(environ, lambda status, headers, exc_info=None: started.append(status)))
    assert started == ['413 Content Too Large']
    assert b'more than 1000 bytes' in body and b'our own' not in body
    assert calls == []


# -- absurd Content-Length -----------------------------------------------------------

def test_a_content_length_of_5000_digits_is_413_not_500(make_app, wsgiref_server, log_dir):
    calls = []
    server = wsgiref_server(body_app(make_app, calls, max_body_size=1000))
    head = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ' + b'9' * 5000
            + b'\r\nConnection: close\r\n\r\n')
    answer = raw_request(server.port, head, b'hello')
    assert status_of(answer) == 413
    assert b'a 5000-digit number of bytes' in answer
    assert calls == []
    log = read_log(log_dir)
    assert re.search(r' WARNING .*Request body too large: a 5000-digit number of bytes', log)
    assert '9' * 100 not in log


def test_a_content_length_of_5000_digits_called_directly_is_413(make_app):
    # (WebTest's own checks call int() on it first, so the app is called as a server would.)
    calls = []
    app = body_app(make_app, calls)
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/upload', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
               'REMOTE_ADDR': '127.0.0.1', 'CONTENT_LENGTH': '7' * 5000, 'wsgi.input': io.BytesIO(b'hello'),
               'wsgi.url_scheme': 'http', 'wsgi.errors': io.StringIO()}
    started = []
    body = b''.join(app(environ, lambda status, headers, exc_info=None: started.append(status)))
    assert started == ['413 Content Too Large']
    assert b'Request body too large' in body
    assert calls == []


def test_a_content_length_padded_with_5000_zeros_is_its_value(make_app, wsgiref_server):
    calls = []
    server = wsgiref_server(body_app(make_app, calls, max_body_size=1000))
    head = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ' + b'0' * 5000 + b'5'
            + b'\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n')
    answer = raw_request(server.port, head, b'hello')
    assert status_of(answer) == 200
    assert calls == [5]


# -- a body gunicorn de-chunks (it keeps Transfer-Encoding, drops the framing, sets wsgi.input_terminated) --------

# (serve_limits: tests/apps/limits_app.py under gunicorn; chunked frames a body in 7-byte chunks)
UPLOAD_LIMIT = 150000  # over bottle.BaseRequest.MEMFILE_MAX (102400), so the body read is spooled to a file


def chunked_upload_head(boundary: bytes) -> bytes:
    return (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
            b'Content-Type: multipart/form-data; boundary=' + boundary + b'\r\nConnection: close\r\n\r\n')


def multipart_upload(boundary: bytes, size: int) -> bytes:
    """A multipart body: fields note and count, and a file part of ``size`` bytes."""
    return (b'--%s\r\nContent-Disposition: form-data; name="note"\r\n\r\nbig one\r\n'
            b'--%s\r\nContent-Disposition: form-data; name="count"\r\n\r\n3\r\n'
            b'--%s\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\n'
            b'Content-Type: application/octet-stream\r\n\r\n%s\r\n--%s--\r\n'
            % (boundary, boundary, boundary, b'z' * size, boundary))


def test_gunicorn_binds_the_parameters_of_a_chunked_upload_past_memfile_max(serve_limits):
    assert bottle.BaseRequest.MEMFILE_MAX < 130000 < UPLOAD_LIMIT
    server = serve_limits('gunicorn', CANISTER_MAX_BODY_SIZE=str(UPLOAD_LIMIT))
    body = multipart_upload(b'b0undary', 130000)
    answer = raw_request(server.port, chunked_upload_head(b'b0undary'), chunked(body, broken=0))
    assert status_of(answer) == 200, answer[:500]
    assert json.loads(answer.split(b'\r\n\r\n', 1)[1]) == {
        'size': 130000, 'filename': 'data.bin', 'note': 'big one', 'count': 3}


def test_gunicorn_answers_413_to_a_chunked_upload_as_soon_as_it_passes_the_limit(serve_limits, tmp_path):
    server = serve_limits('gunicorn', CANISTER_MAX_BODY_SIZE=str(UPLOAD_LIMIT))
    framed = chunked(multipart_upload(b'b0undary', 200000), broken=0)
    # Only the first 164,000 bytes or so of the body are sent (7-byte chunks, 12 bytes each framed), and
    # the connection is kept open: the answer cannot wait for more of it, nor for the 64 KiB a plain read
    # would ask.  (Some 14 KB past the limit, since gunicorn 23, the last for Python 3.9, reads ahead
    # of what it hands over.)
    sent = framed[:(UPLOAD_LIMIT // 7 + 2000) * 12]
    answer = raw_request(server.port, chunked_upload_head(b'b0undary'), sent, timeout=30)
    assert status_of(answer) == 413, answer[:500]
    assert b'more than %d bytes' % UPLOAD_LIMIT in answer and b'<html' not in answer.lower()
    assert 'Request body too large: more than %d bytes (chunked)' % UPLOAD_LIMIT in read_log(tmp_path / 'logs')


def test_waitress_receives_the_whole_body_before_canisters_413(serve_limits):
    """What the README says of waitress: it calls the app only once the body is in, so canister's
    413 comes after the upload (waitress's own max_request_body_size is the limit that spares it)."""
    server = serve_limits('waitress', CANISTER_MAX_BODY_SIZE='1000')
    announced = 2000000
    head = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: %d\r\nConnection: close\r\n\r\n' % announced)
    with socket.create_connection(('127.0.0.1', server.port), timeout=1.5) as sock:
        sock.sendall(head + b'n=1')
        with pytest.raises(socket.timeout):
            sock.recv(65536)  # no answer while most of the body is still to come
        sock.settimeout(30)
        sock.sendall(b'x' * (announced - 3))
        answer = b''.join(iter(lambda: sock.recv(65536), b''))   # until the server closes
    assert status_of(answer) == 413, answer[:300]
