"""A handler that serves part of its answer through another canister app of the process (an internal
sub-request: ``other_app(dict(bottle.request.environ), start_response)``): the other app serves it as
a request of its own, with its own settings, and the calling request's context is intact afterwards."""
from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Tuple

import bottle
import pytest

from helpers import ROOT, client, cookie_value, read_log, set_cookies, sub_request
from servers import Client, WsgirefServer, chunked, status_of, wsgiref_answer

import canister
from canister import session

README = (ROOT / 'README.md').read_text(encoding='utf-8')


@pytest.fixture
def two_apps(tmp_path: pathlib.Path, uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]) -> Any:
    """An app ``front`` whose /page asks the app ``back`` (each with canister, its own cookie and log) for /part."""
    front, back = bottle.Bottle(), bottle.Bottle()
    front.catchall = False  # (back answers its own 500, as a served app does)
    front.install(canister.Canister(log_path=str(tmp_path / 'front'), session_cookie='front_session'))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))
    uninstall_at_end(front)
    uninstall_at_end(back)
    answers: List[Any] = []

    @back.get('/part')
    def part(n: int = 0) -> Dict[str, Any]:
        session.data['back'] = n
        return {'sid': session.sid, 'rid': canister.request_id(), 'data': dict(session.data), 'n': n}

    @back.get('/crash')
    def crash() -> str:
        raise RuntimeError('back fails')

    @front.get('/page')
    def page() -> Dict[str, Any]:
        session.data['front'] = 'yes'
        before = (session.sid, canister.request_id())
        answers.append(sub_request(back, dict(bottle.request.environ), bottle.request.query.get('to', '/part')))
        return {'before': before, 'after': (session.sid, canister.request_id()), 'data': dict(session.data)}

    @front.get('/whole')
    def whole() -> bottle.HTTPResponse:  # a response of its own, which Bottle sends whatever its response holds
        session.data['front'] = 'whole'
        answers.append(sub_request(back, dict(bottle.request.environ), '/part'))
        return bottle.HTTPResponse('front %s' % canister.request_id())

    @front.get('/visit')
    def visit() -> Dict[str, Any]:
        return {'data': dict(session.data)}

    return front, answers, tmp_path


def test_a_sub_request_to_another_canister_app_gets_its_own_session_and_cookie(two_apps):
    front, answers, _ = two_apps
    res = client(front).get('/whole')
    status, headers, body = answers[0]
    assert status.startswith('200')
    back_cookies = [value for name, value in headers if name == 'Set-Cookie']
    assert len(back_cookies) == 1 and back_cookies[0].startswith('back_session=')
    assert [cookie.split('=')[0] for cookie in set_cookies(res)] == ['front_session']
    assert '"back": 0' in body and '"front"' not in body


def test_the_calling_request_keeps_its_session_and_request_id_through_a_sub_request(two_apps):
    front, answers, _ = two_apps
    web = client(front)
    res = web.get('/page')
    assert res.json['before'] == res.json['after']
    assert res.json['data'] == {'front': 'yes'}
    assert res.json['after'][1] == res.headers['X-Request-ID']
    assert cookie_value(res, 'front_session') == res.json['after'][0]
    assert web.get('/visit').json == {'data': {'front': 'yes'}}


def test_a_sub_request_binds_the_other_apps_parameters_and_has_its_own_request_id(two_apps):
    front, answers, _ = two_apps
    res = client(front).get('/whole?n=7')
    _, headers, body = answers[0]
    assert '"n": 7' in body
    back_id = dict(headers)['X-Request-ID']
    assert res.text == 'front %s' % res.headers['X-Request-ID'] and back_id != res.headers['X-Request-ID']
    assert '"rid": "%s"' % back_id in body


def test_a_sub_request_takes_the_request_id_the_client_sent_and_is_still_a_request_of_its_own(two_apps):
    front, answers, logs = two_apps
    res = client(front).get('/whole', headers={'X-Request-ID': 'report-42'})
    _, headers, body = answers[0]
    assert res.text == 'front report-42' and dict(headers)['X-Request-ID'] == 'report-42'
    assert '"rid": "report-42"' in body and '"back": 0' in body
    assert [value.split('=')[0] for name, value in headers if name == 'Set-Cookie'] == ['back_session']
    assert read_log(logs / 'back').count('GET http://localhost:80/part') == 1

def test_each_app_logs_the_sub_request_in_its_own_log(two_apps):
    front, _, logs = two_apps
    assert client(front).get('/page?to=/crash', expect_errors=True).status_int == 200  # (Bottle's own traceback)
    front_log, back_log = read_log(logs / 'front'), read_log(logs / 'back')
    assert front_log.count('GET http://localhost:80/page') == 1 and 'Response: 200' in front_log
    assert 'back fails' not in front_log
    assert back_log.count('GET http://localhost:80/crash') == 1
    assert 'Unhandled exception in GET /crash' in back_log and 'Response: 500' in back_log



def test_a_sub_request_from_a_later_chunk_of_a_streamed_body_leaves_the_callers_session_to_the_next(two_apps):
    front, answers, _ = two_apps

    @front.get('/stream')
    def stream() -> Any:
        session.data['front'] = 'streamed'
        yield 'first '
        answers.append(sub_request(front, dict(bottle.request.environ), '/visit'))  # (to the app itself)
        yield '%s %s' % (session.data.get('front'), canister.request_id())

    web = client(front)
    res = web.get('/stream')
    assert res.text == 'first streamed %s' % res.headers['X-Request-ID']
    assert answers[0][0].startswith('200') and '"data": {}' in answers[0][2]  # (its own request: no cookie yet)
    assert web.get('/visit').json == {'data': {'front': 'streamed'}}


def test_a_sub_request_given_the_callers_own_environ_leaves_the_caller_its_route_and_challenge(
        tmp_path, uninstall_at_end):
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    for app, realm in ((front, 'front'), (back, 'back')):
        app.install(canister.Canister(log_path=str(tmp_path / realm), auth_realm=realm, auth_basic_username='alice',
                                      auth_basic_password='wonderland', auth_basic_encryption='clear'))
    back.route('/', callback=lambda: 'the old app')

    @front.get('/')
    def forward() -> str:  # the request handed on as it is, then a guard of the caller's
        answers = sub_request(back, bottle.request.environ, '/')
        canister.require_user(lambda: None)()
        return answers[2]

    res = client(front).get('/', status=401)
    assert res.headers['WWW-Authenticate'].startswith('Basic realm="front"')


def test_the_later_chunks_of_a_streamed_sub_request_see_their_own_bottle_request(two_apps):
    front, answers, _ = two_apps
    back = bottle.Bottle()
    back.install(canister.Canister(log_path='stderr', log_level='DISABLED', session_cookie='back_session'))

    @back.get('/chunks')
    def chunks() -> Any:
        yield 'first %s, ' % bottle.request.path
        yield 'then %s' % bottle.request.path

    @front.get('/chunked')
    def chunked() -> str:
        return sub_request(back, dict(bottle.request.environ), '/chunks')[2] + ' in %s' % bottle.request.path

    try:
        assert client(front).get('/chunked').text == 'first /chunks, then /chunks in /chunked'
    finally:
        back.uninstall(True)


def answer_text(answer: bytes) -> str:
    """The body of a raw HTTP answer from wsgiref (which closes the connection after it)."""
    return answer.partition(b'\r\n\r\n')[2].decode()


def posted_chunked(app: bottle.Bottle, path: bytes, body: bytes) -> bytes:
    """POST the form ``body`` chunked to ``app`` on Bottle's default server (which hands the chunks on)."""
    return wsgiref_answer(app, b'POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: '
                          b'application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' % path,
                          chunked(body, 0))


def test_the_caller_reads_its_own_form_after_a_sub_request_read_it_from_the_same_stream(tmp_path, uninstall_at_end):
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))
    back.post('/sign', callback=lambda name: 'signed by %s' % name)

    @front.post('/form')
    def form() -> str:
        inner = sub_request(back, dict(bottle.request.environ), '/sign')[2]
        return '%s; front read %s' % (inner, bottle.request.forms.get('name'))

    answer = posted_chunked(front, b'/form', b'name=alice&city=paris')
    assert status_of(answer) == 200
    assert answer_text(answer) == 'signed by alice; front read alice'


def form_after_a_sub_request_that_stops_reading(tmp_path: pathlib.Path,
                                                uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle],
                                                to: str) -> bytes:
    """POST a form chunked to ``front``, which asks ``back`` for ``to`` (/sign: reads the form, over its
    ``max_body_size`` of 10; /peek: reads 4 bytes of the stream itself, /peek_into with ``readinto``, /peek1
    with ``read1``), then reads the form: its answer."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session', max_body_size=10))
    back.post('/sign', callback=lambda: 'signed by %s' % bottle.request.forms.get('name'))
    back.post('/peek', callback=lambda: 'peeked at %d bytes' % len(bottle.request.environ['wsgi.input'].read(4)))
    back.post('/peek_into', callback=lambda: 'peeked at %d bytes' % bottle.request.environ['wsgi.input'].readinto(
        bytearray(4)))
    back.post('/peek1', callback=lambda: 'peeked at %d bytes' % len(bottle.request.environ['wsgi.input'].read1(4)))

    @front.post('/form')
    def form() -> str:
        status, _, inner = sub_request(back, dict(bottle.request.environ), to)
        forms = bottle.request.forms
        return '%s %s; front read %s' % (status[:3], inner, sorted(forms.items()))

    return posted_chunked(front, b'/form', b'name=alice&city=paris')


def test_the_caller_reads_its_whole_chunked_form_after_a_sub_request_refused_it_part_way(tmp_path, uninstall_at_end):
    answer = form_after_a_sub_request_that_stops_reading(tmp_path, uninstall_at_end, '/sign')
    assert status_of(answer) == 200
    assert answer_text(answer).endswith("; front read [('city', 'paris'), ('name', 'alice')]")
    assert answer_text(answer).startswith('413 ')
    assert 'Request body too large: more than 10 bytes (chunked)' in read_log(tmp_path / 'back')


def test_the_caller_reads_its_whole_chunked_form_after_a_sub_request_read_part_of_its_stream(
        tmp_path, uninstall_at_end):
    answer = form_after_a_sub_request_that_stops_reading(tmp_path, uninstall_at_end, '/peek')
    assert status_of(answer) == 200
    assert answer_text(answer) == "200 peeked at 4 bytes; front read [('city', 'paris'), ('name', 'alice')]"


@pytest.mark.parametrize('to', ['/peek_into', '/peek1'])
def test_the_caller_reads_its_whole_chunked_form_after_a_sub_request_read_part_of_its_stream_into_a_buffer(
        tmp_path, uninstall_at_end, to):
    """Before, the bytes read with ``readinto`` or ``read1`` were not kept: the caller read a chunked body
    without its first bytes, a 400."""
    answer = form_after_a_sub_request_that_stops_reading(tmp_path, uninstall_at_end, to)
    assert status_of(answer) == 200
    assert answer_text(answer) == "200 peeked at 4 bytes; front read [('city', 'paris'), ('name', 'alice')]"


@pytest.mark.parametrize('how', ['readinto', 'read1', 'readlines'])
def test_the_caller_reads_its_whole_form_after_a_sub_request_read_all_of_it_itself(tmp_path, uninstall_at_end, how):
    """With a Content-Length, the other app's handler reads the caller's own stream: before, what it read
    with ``readinto``, ``read1`` or ``readlines`` was not kept, and the caller read an empty form."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))

    @back.post('/read')
    def read() -> str:
        stream = bottle.request.environ['wsgi.input']
        if how == 'readinto':
            return 'back read %d bytes' % stream.readinto(memoryview(bytearray(64)))
        return 'back read %d bytes' % len(stream.read1(64) if how == 'read1' else b''.join(stream.readlines()))

    @front.post('/form')
    def form() -> str:
        inner = sub_request(back, dict(bottle.request.environ), '/read')[2]
        return '%s; front read %s' % (inner, sorted(bottle.request.forms.items()))

    web = client(front)
    web.lint = False  # (WebTest's checks wrap the stream in one without readinto and read1)
    answer = web.post('/form', {'name': 'alice', 'city': 'paris'})
    assert answer.text == "back read 21 bytes; front read [('city', 'paris'), ('name', 'alice')]"


@pytest.mark.parametrize('how', ['readinto', 'read1', 'readlines'])
def test_the_caller_reads_its_whole_stream_itself_after_a_sub_request_read_part_of_it(tmp_path, uninstall_at_end, how):
    """Before, ``readinto``, ``read1`` and ``readlines`` were the stream's own: the caller read its body
    without the bytes the other app had read."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))
    back.post('/peek', callback=lambda: 'peeked at %d bytes' % len(bottle.request.environ['wsgi.input'].read(4)))

    @front.post('/form')
    def form() -> str:
        inner = sub_request(back, dict(bottle.request.environ), '/peek')[2]
        stream = bottle.request.environ['wsgi.input']
        if how == 'readlines':
            return '%s; front read %s' % (inner, b''.join(stream.readlines()).decode())
        got, buffer = b'', bytearray(8)
        while True:  # (a little at a time: the bytes read again, then the rest of the stream)
            step = buffer[:stream.readinto(buffer)] if how == 'readinto' else stream.read1(8)
            if not step:
                return '%s; front read %s' % (inner, got.decode())
            got += step

    web = client(front)
    web.lint = False  # (WebTest's checks wrap the stream in one without readinto and read1)
    answer = web.post('/form', {'name': 'alice', 'city': 'paris'})
    assert answer.text == 'peeked at 4 bytes; front read name=alice&city=paris'


def temporary_files_open() -> int:
    """How many files of the temporary directory the process holds open."""
    paths = []
    for fd in os.listdir('/proc/self/fd'):
        try:
            paths.append(os.readlink('/proc/self/fd/%s' % fd))
        except OSError:  # (the descriptor listdir itself held)
            pass
    return sum(path.startswith(tempfile.gettempdir()) for path in paths)


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='counts open files in /proc')
def test_a_large_body_a_sub_request_read_whole_is_held_once_by_the_caller_not_twice_until_the_end(
        tmp_path, uninstall_at_end):
    """Before, the copy kept of what the other app read, on disk past Bottle's MEMFILE_MAX, stayed open
    beside the body Bottle read (which the caller gets) while the caller held the other app's streamed answer."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))

    @back.post('/size')
    def measure() -> Iterator[str]:  # (streamed: the caller holds what the call returned while it reads)
        yield str(len(bottle.request.body.read()))

    @front.post('/upload')
    def upload() -> str:
        before = temporary_files_open()
        inner = back(dict(bottle.request.environ, PATH_INFO='/size'), lambda status, headers, exc_info=None: None)
        try:
            return '%s read, %d more files open, front read %d' % (
                b''.join(inner).decode(), temporary_files_open() - before, len(bottle.request.body.read()))
        finally:
            inner.close()

    length = bottle.BaseRequest.MEMFILE_MAX * 2
    answer = client(front).post('/upload', b'x' * length, content_type='application/octet-stream')
    assert answer.text == '%d read, 1 more files open, front read %d' % (length, length)


def test_a_get_sub_request_made_of_a_post_without_its_length_leaves_the_caller_its_form(tmp_path, uninstall_at_end):
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))
    back.get('/look', callback=lambda: 'back read %s' % dict(bottle.request.forms))  # (no body: none read)

    @front.post('/form')
    def form() -> str:
        environ = dict(bottle.request.environ, REQUEST_METHOD='GET')
        del environ['CONTENT_LENGTH']
        inner = sub_request(back, environ, '/look')[2]
        return '%s; front read %s' % (inner, bottle.request.forms.get('name'))

    answer = wsgiref_answer(front, b'POST /form HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n'
                            b'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nname=alice')
    assert status_of(answer) == 200 and answer_text(answer) == 'back read {}; front read alice'


def test_the_other_apps_body_limit_stays_with_its_request_handed_the_callers_own_environ(tmp_path, uninstall_at_end):
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session', max_body_size=10))
    back.post('/ping', callback=lambda: 'pong')

    @front.post('/ping')
    def ping() -> str:  # back answers without reading the body: the caller reads it after, under its own limit
        inner = back(bottle.request.environ, lambda status, headers, exc_info=None: None)
        return '%s; front read %s' % (b''.join(inner).decode(), bottle.request.forms.get('name'))

    answer = posted_chunked(front, b'/ping', b'name=alice&city=paris')
    assert status_of(answer) == 200 and answer_text(answer) == 'pong; front read alice'
    assert 'too large' not in read_log(tmp_path / 'back')


def front_and_old_app(tmp_path, uninstall_at_end):
    """Two canister apps: ``front``, and ``back`` (its own log and cookie), which answers any path with
    ``old app at <its request's path>``."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))
    back.route('/<anything:path>', callback=lambda anything: 'old app at %s' % bottle.request.path)
    return front, back


def test_a_sub_request_handed_the_callers_own_environ_sees_its_utf8_path_and_leaves_the_caller_its_own(
        tmp_path, uninstall_at_end):
    front, back = front_and_old_app(tmp_path, uninstall_at_end)

    @front.get('/shop/<item>')
    def shop(item: str) -> str:  # a request handed on as it is (Bottle decoded its path to UTF-8 already)
        inner = sub_request(back, bottle.request.environ, bottle.request.environ['PATH_INFO'])[2]
        return '%s; %s at %s %s' % (inner, item, bottle.request.path, bottle.request.url_args)

    res = client(front).get('/shop/caf%C3%A9')
    assert res.text == "old app at /shop/café; café at /shop/café {'item': 'café'}"


def test_a_sub_request_path_the_handler_wrote_in_the_wsgi_form_reaches_the_other_app_decoded_once(
        tmp_path, uninstall_at_end):
    front, back = front_and_old_app(tmp_path, uninstall_at_end)

    @front.get('/go')
    def go() -> str:  # PEP 3333's PATH_INFO: the UTF-8 bytes as latin-1 text
        return sub_request(back, dict(bottle.request.environ), '/café'.encode('utf-8').decode('latin-1'))[2]

    assert client(front).get('/go').text == 'old app at /café'


def test_a_callers_own_path_is_handed_on_as_bottle_decoded_it_though_it_reads_as_wsgis_form(tmp_path, uninstall_at_end):
    front, back = front_and_old_app(tmp_path, uninstall_at_end)
    front.route('/<anything:path>', callback=lambda anything: sub_request(
        back, dict(bottle.request.environ), bottle.request.environ['PATH_INFO'])[2])

    assert client(front).get('/%C3%83%C2%A9').text == 'old app at /\u00c3\u00a9'  # (Ã©, sent as such)


def test_the_chunks_of_a_sub_request_handed_the_callers_own_environ_see_their_own_route_then_the_caller_its(
        two_apps):
    front, _, _ = two_apps
    back = bottle.Bottle()
    back.install(canister.Canister(log_path='stderr', log_level='DISABLED', session_cookie='back_session'))

    @back.get('/chunks/<n>')
    def chunks(n: str) -> Any:
        yield 'first %s %s, ' % (bottle.request.route.rule, n)
        yield 'then %s %s' % (bottle.request.route.rule, bottle.request.url_args)

    @front.get('/chunked/<m>')
    def chunked_page(m: str) -> str:
        environ = bottle.request.environ
        text = sub_request(back, environ, '/chunks/%s' % m)[2]
        environ['PATH_INFO'] = '/chunked/%s' % m
        return '%s in %s %s' % (text, bottle.request.route.rule, bottle.request.url_args)

    try:
        assert client(front).get('/chunked/7').text == ("first /chunks/<n> 7, then /chunks/<n> {'n': '7'} "
                                                        "in /chunked/<m> {'m': '7'}")
    finally:
        back.uninstall(True)


def test_what_the_callers_start_response_sets_on_bottle_response_is_the_callers_response(tmp_path, uninstall_at_end):
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))

    @back.post('/orders')
    def order() -> str:
        session.data['ordered'] = True
        bottle.response.status = 201
        return 'created'

    @front.route('/old/<rest:path>', method='ANY')
    def proxy(rest: str) -> Any:  # the old app answers in the caller's name: its status and cookies
        def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> None:
            bottle.response.status = status
            for name, value in headers:
                if name == 'Set-Cookie':
                    bottle.response.add_header(name, value)
        bottle.request.environ['PATH_INFO'] = '/' + rest
        return back(bottle.request.environ, start_response)

    server = WsgirefServer(front)
    try:
        res = Client('http://127.0.0.1:%d' % server.port).request('POST', '/old/orders')
    finally:
        server.close()
    assert (res.status, res.text) == (201, 'created')
    assert [cookie.split('=')[0] for cookie in res.headers.get_all('Set-Cookie')] == ['back_session']


# -- two apps with the same session cookie: the other app's session is the caller's ---------------------

def apps_of_one_store(tmp_path: pathlib.Path, uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle],
                      back_cookie: str = 'session_id', **front_config: Any) -> Tuple[bottle.Bottle, bottle.Bottle]:
    """``front``, whose /call/<path> reads its session, asks ``back`` for /<path> (forwarding back's cookies, as
    a handler answering in back's name does) and then writes its session; and ``back``, with ``back_cookie``.
    Both keep sessions in one SQLite file; ``front`` logs alice in at /login."""
    store = 'sqlite:///%s' % (tmp_path / 'sessions.db')
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front'), session_store=store, **front_config))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_store=store, session_cookie=back_cookie))

    @back.get('/whoami')
    def whoami() -> Dict[str, Any]:
        session.data['back'] = 'written by back'
        return {'user': session.user, 'data': dict(session.data)}

    back.route('/logout', callback=lambda: session.invalidate())

    @front.get('/login')
    def login() -> str:
        session.user = 'alice'
        return 'in'

    @front.get('/call/<path>')
    def call(path: str) -> str:
        session.data.get('loaded')  # loaded before the other app runs, saved after it
        status, headers, body = sub_request(back, dict(bottle.request.environ), '/' + path)
        for name, value in headers:
            if name == 'Set-Cookie':
                bottle.response.add_header(name, value)
        session.data['front'] = 'written by front'
        return body

    front.route('/logout_then_call', callback=lambda: (session.invalidate(),
                                                       sub_request(back, dict(bottle.request.environ), '/whoami'))[1][2])
    front.route('/mine', callback=lambda: {'user': session.user, 'data': dict(session.data)})
    return front, back


def test_an_app_with_the_same_session_cookie_and_store_serves_a_sub_request_in_the_callers_session(
        tmp_path, uninstall_at_end, serve):
    front, _ = apps_of_one_store(tmp_path, uninstall_at_end)
    browser = Client(serve(front))
    browser.get('/login')
    assert json.loads(browser.get('/call/whoami').text) == {'user': 'alice', 'data': {'back': 'written by back'}}
    assert json.loads(browser.get('/mine').text) == {
        'user': 'alice', 'data': {'back': 'written by back', 'front': 'written by front'}}
    assert ("With the same `session_cookie` name and the same store (one SQLite file, or one Redis with one "
            "`session_redis_prefix`), its session is the caller's, with the caller's logged-in user. What it writes "
            "lands in the caller's session.") in README


def test_a_logout_in_the_other_app_of_the_same_session_sticks_though_the_caller_saves_after_it(
        tmp_path, uninstall_at_end, serve):
    front, _ = apps_of_one_store(tmp_path, uninstall_at_end)
    browser = Client(serve(front))
    browser.get('/login')
    answer = browser.get('/call/logout')
    assert answer.status == 200 and 'session_id' not in browser.cookies
    assert json.loads(browser.get('/mine').text) == {'user': None, 'data': {}}
    assert 'was ended (logout) by another request while this request ran: nothing was saved' in read_log(
        tmp_path / 'front')


def test_a_logout_in_the_caller_sticks_though_the_other_app_saved_the_same_session_during_it(
        tmp_path, uninstall_at_end, serve):
    front, _ = apps_of_one_store(tmp_path, uninstall_at_end)
    browser = Client(serve(front))
    browser.get('/login')
    sid = browser.cookies['session_id']
    assert json.loads(browser.get('/logout_then_call').text)['user'] == 'alice'  # (the logout is stored after)
    assert 'session_id' not in browser.cookies
    browser.cookies['session_id'] = sid  # the old cookie, kept by whoever copied it
    assert json.loads(browser.get('/mine').text) == {'user': None, 'data': {}}


def test_another_session_cookie_name_keeps_the_other_apps_session_apart_in_the_same_store(
        tmp_path, uninstall_at_end, serve):
    front, _ = apps_of_one_store(tmp_path, uninstall_at_end, back_cookie='back_session')
    browser = Client(serve(front))
    browser.get('/login')
    assert json.loads(browser.get('/call/whoami').text) == {'user': None, 'data': {'back': 'written by back'}}
    assert json.loads(browser.get('/mine').text) == {'user': 'alice', 'data': {'front': 'written by front'}}
    assert sorted(browser.cookies) == ['back_session', 'session_id']
    assert 'To keep the two apart, give the other app a `session_cookie` name of its own.' in README


def test_another_store_alone_does_not_keep_them_apart_when_the_other_apps_cookie_is_passed_on(
        tmp_path, uninstall_at_end, serve):
    front, back = apps_of_one_store(tmp_path, uninstall_at_end)
    back.uninstall(canister.Canister)
    back.install(canister.Canister(log_path=str(tmp_path / 'back')))  # its own memory store, the same cookie name
    browser = Client(serve(front))
    browser.get('/login')
    assert json.loads(browser.get('/call/whoami').text)['user'] is None
    assert json.loads(browser.get('/mine').text)['user'] is None  # back's cookie replaced the login's


# -- a sub-request the handler makes a POST: the other app's CSRF check sees the browser's headers -------

#: What a browser sends with a GET it makes for another site's page (a link followed): no Origin on a GET.
CROSS_SITE_GET = {'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Referer': 'https://evil.example/'}


def app_posting_to_another(tmp_path: pathlib.Path, uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle],
                           drop_browser_headers: bool) -> bottle.Bottle:
    """``front``, whose GET /reorder POSTs to /orders of ``back`` (both with canister) on a copy of its environ,
    the browser's Origin, Referer and Sec-Fetch-Site left out of the copy when ``drop_browser_headers``."""
    front, back = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    front.install(canister.Canister(log_path=str(tmp_path / 'front')))
    back.install(canister.Canister(log_path=str(tmp_path / 'back'), session_cookie='back_session'))

    @back.post('/orders')
    def order() -> str:
        bottle.response.status = 201
        return 'ordered'

    @front.get('/reorder')
    def reorder() -> str:
        environ = dict(bottle.request.environ, REQUEST_METHOD='POST')
        if drop_browser_headers:  # (the README's way: the call is the app's own, not the browser's)
            for name in ('HTTP_ORIGIN', 'HTTP_REFERER', 'HTTP_SEC_FETCH_SITE'):
                environ.pop(name, None)
        status, _, body = sub_request(back, environ, '/orders')
        return '%s %s' % (status[:3], body)

    return front


def test_a_sub_request_made_a_post_of_a_cross_site_get_is_refused_by_the_other_apps_csrf_check(
        tmp_path, uninstall_at_end, serve):
    front = app_posting_to_another(tmp_path, uninstall_at_end, drop_browser_headers=False)
    answer = Client(serve(front)).get('/reorder', headers=CROSS_SITE_GET)
    assert answer.status == 200 and answer.text.startswith('403 ')
    assert ('Cross-site request refused: origin https://evil.example may not send POST requests here'
            in read_log(tmp_path / 'back'))
    assert "when that GET came from another site's page (a link followed) the other app answers 403" in README


def test_a_sub_request_made_a_post_passes_the_other_apps_csrf_check_without_the_browsers_origin_headers(
        tmp_path, uninstall_at_end, serve):
    front = app_posting_to_another(tmp_path, uninstall_at_end, drop_browser_headers=True)
    answer = Client(serve(front)).get('/reorder', headers=CROSS_SITE_GET)
    assert (answer.status, answer.text) == (200, '201 ordered')
    assert ("for name in ('HTTP_ORIGIN', 'HTTP_REFERER', 'HTTP_SEC_FETCH_SITE'): environ.pop(name, None)"
            in README)


def test_a_sub_request_made_a_post_of_a_same_origin_get_passes_the_other_apps_csrf_check_as_it_is(
        tmp_path, uninstall_at_end, serve):
    front = app_posting_to_another(tmp_path, uninstall_at_end, drop_browser_headers=False)
    answer = Client(serve(front)).get('/reorder', headers={'Sec-Fetch-Site': 'same-origin'})
    assert (answer.status, answer.text) == (200, '201 ordered')
