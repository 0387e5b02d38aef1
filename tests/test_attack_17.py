"""An outside review's attacks (session 17) that found a defect, each against a real server on 127.0.0.1.

* gunicorn refuses a chunk size that is not hex with an exception of its own (``InvalidChunkSize``, no
  ``OSError``) while canister reads the de-chunked body: canister logged it as an unhandled exception, with its
  traceback and a 500 response line, for a client's malformed body; it is a 400 with a WARNING now.
* bottle.run()'s server (wsgiref) passes the chunk framing on: a JSON body whose framing Bottle cannot read got
  Bottle's 400 and no WARNING line (a form's got canister's); and with an ``@app.error(413)`` of the app's, a
  chunked form past ``max_body_size`` reached that handler as "Bottle reads at most ... MEMFILE_MAX" (the wrong
  limit, with advice that cannot help), logged twice.
* ``tidy-sessions --store sqlite:///FILE`` naming an existing file that is not a session store (the app's own
  database, named by mistake) made canister's tables in it and said "Removed 0 entries", status 0: a cron job
  tidying nothing, and a file changed that should not be.  It is an error now (status 1), and the file is left
  as it was.
* bottle.run()'s server passes a chunked body on as it came, and canister counts it against ``max_body_size``
  as Bottle reads it; a handler reading ``wsgi.input`` itself as PEP 3333 allows got a 500 for iterating it
  (``TypeError``), and ``readlines()`` read past the limit, uncounted.  Both are counted now (and, since
  session 22, ``readinto`` and ``read1``).
* with ``cors_headers = *`` a preflight's ``Access-Control-Allow-Headers`` echoed whatever the client put in
  ``Access-Control-Request-Headers`` (spaces, tabs, control characters and bytes past ASCII on wsgiref): only
  header names are granted now.
* gunicorn and wsgiref hand a handler what came of a body when the client stops sending before its
  ``Content-Length``: the first fields of a form, or a JSON text that happens to be whole, were bound as the
  request (``amount=10`` of ``amount=1000``).  Such a body is a 400 now, saying how much of it came.
* a users file saved with a byte order mark (Notepad's "UTF-8") gave its first user a name starting with
  U+FEFF, who then never logged in, and nothing said why: the mark is no part of the name now.
"""
from __future__ import annotations

import base64
import sqlite3
from typing import List

import bottle
import pytest

import canister
from helpers import read_log, run_canister, sqlite_url, warning_lines
from servers import Client, WsgirefServer, chunked, raw_request, send_all_then_read, status_of, wsgiref_answer

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def _chunked_post(port: int, path: str, content_type: str, body: bytes) -> bytes:
    head = (b'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: %s\r\n'
            b'Connection: close\r\n\r\n' % (path.encode(), content_type.encode()))
    return raw_request(port, head, body, timeout=30)


def _body_of(answer: bytes) -> bytes:
    return answer.split(b'\r\n\r\n', 1)[1]


def test_a_chunk_size_gunicorn_refuses_is_a_400_with_a_warning_not_an_unhandled_exception(serve_limits, tmp_path):
    server = serve_limits('gunicorn')
    answer = _chunked_post(server.port, '/typed', 'application/json', chunked(b'{"n": 5}', broken=2))
    assert status_of(answer) == 400
    assert _body_of(answer) == b'Bad request: the body could not be read (InvalidChunkSize)\n'
    log = read_log(tmp_path / 'logs')
    assert 'WARNING  [127.0.0.1-...]   Bad request: the body could not be read (InvalidChunkSize)' in log
    assert 'Response: 400' in log
    assert 'ERROR' not in log and 'Traceback' not in log


def _wsgiref_app(log_dir, error_pages: bool) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), max_body_size=1000))
    if error_pages:
        @app.error(400)
        @app.error(413)
        def page(error: bottle.HTTPError) -> str:
            return "the app's page: %s" % error.body

    @app.post('/note')
    def note(text: str = '') -> str:
        return 'noted'

    return app


@pytest.fixture
def wsgiref_app(log_dir):
    servers: List[WsgirefServer] = []

    def start(error_pages: bool) -> int:
        servers.append(WsgirefServer(_wsgiref_app(log_dir, error_pages)))
        return servers[-1].port

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize('content_type, body', [
    ('application/x-www-form-urlencoded', b'text=' + b'x' * 3000),
    ('application/json', b'{"text": "%s"}' % (b'x' * 3000)),
])
def test_a_chunked_body_past_max_body_size_reaches_the_apps_413_page_as_that_limit_once(wsgiref_app, log_dir,
                                                                                       content_type, body):
    answer = _chunked_post(wsgiref_app(True), '/note', content_type, chunked(body, broken=0))
    assert status_of(answer) == 413
    assert _body_of(answer) == b"the app's page: Request body too large: more than 1000 bytes (chunked)"
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [
        'Request body too large: more than 1000 bytes (chunked)']
    assert 'MEMFILE_MAX' not in read_log(log_dir)


@pytest.mark.parametrize('error_pages, expected', [
    (False, b'Bad request: the body could not be read (Error while parsing chunked transfer body)\n'),
    (True, b"the app's page: Bad request: the body could not be read (Error while parsing chunked transfer body)"),
])
def test_a_json_body_with_chunk_framing_bottle_cannot_read_is_canisters_400_with_a_warning(wsgiref_app, log_dir,
                                                                                          error_pages, expected):
    answer = _chunked_post(wsgiref_app(error_pages), '/note', 'application/json', chunked(b'{"text": "hi"}', broken=2))
    assert status_of(answer) == 400
    assert _body_of(answer) == expected
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [
        'Bad request: the body could not be read (Error while parsing chunked transfer body)']


def _tables(path) -> List[str]:
    connection = sqlite3.connect(str(path))
    try:
        return sorted(name for name, in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        connection.close()


def test_tidy_sessions_refuses_a_sqlite_file_that_is_not_a_session_store_and_leaves_it_alone(tmp_path):
    path = tmp_path / 'app.db'
    connection = sqlite3.connect(str(path))
    connection.execute('CREATE TABLE orders (id INTEGER PRIMARY KEY)')
    connection.commit()
    connection.close()
    before = path.read_bytes()
    result = run_canister('tidy-sessions', '--store', sqlite_url(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: canister.session_store = %s: the file has no '
                             'canister_sessions table, so no app keeps its sessions there (the wrong file?); it is '
                             'left as it was\n' % sqlite_url(path))
    assert _tables(path) == ['orders']
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['app.db']


def test_tidy_sessions_says_which_file_is_no_sqlite_database(tmp_path):
    path = tmp_path / 'notes.db'
    path.write_bytes(b'these are notes, not a database')
    result = run_canister('tidy-sessions', '--store', sqlite_url(path), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: canister.session_store = %s: file is not a database\n'
                             % sqlite_url(path))


def test_tidy_sessions_still_tidies_the_file_an_app_made(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    make_app(session_store=sqlite_url(path))
    result = run_canister('tidy-sessions', '--store', sqlite_url(path), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout == 'Removed 0 entries of ended sessions from %s\n' % sqlite_url(path)


def _lines_app(log_dir) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), max_body_size=1000))

    @app.post('/lines')
    def lines() -> str:
        stream = bottle.request.environ['wsgi.input']
        how = bottle.request.query.get('how')
        if how in ('readinto', 'read1'):  # into a buffer, or as it comes: until the end
            size, buffer = 0, bytearray(256)
            while True:
                step = stream.readinto(buffer) if how == 'readinto' else len(stream.read1(256))
                if not step:
                    return '%d bytes' % size
                size += step
        got = stream.readlines() if how == 'readlines' else list(stream)
        return '%d bytes' % sum(map(len, got))

    return app


@pytest.mark.parametrize('how', ['iter', 'readlines', 'readinto', 'read1'])
@pytest.mark.parametrize('size, status', [(500, 200), (5000, 413)])
def test_a_handler_reading_a_chunked_body_itself_gets_it_counted(log_dir, how, size, status):
    """Before (session 22), ``readinto`` and ``read1`` were the server's own: a handler reading that way
    read a chunked body past ``max_body_size``, uncounted (a 200 for 5000 bytes)."""
    server = WsgirefServer(_lines_app(log_dir))
    try:
        head = (b'POST /lines?how=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n'
                b'Content-Type: text/plain\r\nConnection: close\r\n\r\n' % how.encode())
        framed = chunked(b'line\n' * (size // 5), broken=0)  # (wsgiref hands the framing on: the handler reads it too)
        answer = send_all_then_read(server.port, head + framed)
    finally:
        server.close()
    assert status_of(answer) == status
    if status == 200:  # every line, the framing's included, reached the handler
        assert _body_of(answer) == b'%d bytes' % len(framed)
    if status == 413:
        assert _body_of(answer) == b'Request body too large: more than 1000 bytes (chunked)\n'
        assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [
            'Request body too large: more than 1000 bytes (chunked)']
    assert 'ERROR' not in read_log(log_dir)


def test_a_preflight_under_cors_headers_star_grants_header_names_and_echoes_nothing_else(log_dir):
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), cors='https://app.example.com', cors_headers='*'))

    @app.put('/item')
    def item() -> str:
        return 'put'

    answer = wsgiref_answer(app, b'OPTIONS /item HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n'
                            b'Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: X-Custom, '
                            b'content-type, a b, c\td, e\x01f, g\xffh\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 204
    granted = [line for line in answer.split(b'\r\n') if line.lower().startswith(b'access-control-allow-headers:')]
    assert granted == [b'Access-Control-Allow-Headers: X-Custom, content-type']


def _form_app(log_dir, calls: List[str]) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir)))

    @app.post('/pay')
    def pay(amount: int, note: str = '') -> str:
        calls.append('%d %s' % (amount, note))
        return 'paid %d' % amount

    return app


@pytest.mark.parametrize('content_type, body', [
    ('application/x-www-form-urlencoded', b'amount=10'),
    ('application/json', b'{"amount": 10}'),
])
def test_a_body_that_ends_before_its_content_length_is_a_400_and_the_handler_is_not_called(log_dir, content_type,
                                                                                           body):
    calls: List[str] = []
    server = WsgirefServer(_form_app(log_dir, calls))
    try:
        head = (b'POST /pay HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\nContent-Type: %s\r\n'
                b'Connection: close\r\n\r\n' % content_type.encode())
        answer = send_all_then_read(server.port, head + body)
    finally:
        server.close()
    message = 'Bad request: the body ended after %d of its 1000 bytes (Content-Length)' % len(body)
    assert status_of(answer) == 400
    assert _body_of(answer) == message.encode() + b'\n'
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [message]
    assert calls == []


def test_a_whole_body_is_bound_as_before(log_dir):
    calls: List[str] = []
    server = WsgirefServer(_form_app(log_dir, calls))
    try:
        for content_type, body in (('application/x-www-form-urlencoded', b'amount=1000&note=rent'),
                                   ('application/json', b'{"amount": 1000, "note": "rent"}')):
            head = (b'POST /pay HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nContent-Type: %s\r\n'
                    b'Connection: close\r\n\r\n' % (len(body), content_type.encode()))
            assert status_of(send_all_then_read(server.port, head + body)) == 200
    finally:
        server.close()
    assert calls == ['1000 rent', '1000 rent']


def test_the_first_user_of_a_users_file_with_a_byte_order_mark_logs_in(tmp_path, log_dir, serve):
    users = tmp_path / 'users.txt'
    users.write_bytes(b'\xef\xbb\xbfalice:' + canister.hash_password('first', iterations=1000).encode() + b'\r\n'
                      + b'bob:' + canister.hash_password('second', iterations=1000).encode() + b'\r\n')
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), auth_basic_users_file=str(users)))

    @app.get('/me')
    @canister.require_user
    def me() -> str:
        return canister.session.user

    origin = serve(app)
    for name, password in (('alice', 'first'), ('bob', 'second')):
        basic = base64.b64encode(('%s:%s' % (name, password)).encode()).decode()
        response = Client(origin).get('/me', headers={'Authorization': 'Basic ' + basic})
        assert (response.status, response.text) == (200, name)
