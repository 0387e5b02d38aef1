"""README's promises on CORS, CSRF, security headers and limits that no other test held, each checked
against a real server (the stdlib's wsgiref for the early answers, waitress for the rest, a real
redis-server for a store that goes down)."""
from __future__ import annotations

import pathlib
from typing import Any, Callable, Dict, List

import bottle
import pytest

import canister
from helpers import APP_ORIGIN as APP, EVIL_ORIGIN as EVIL, basic, compose_child, read_log, warning_lines
from servers import Client, WsgirefServer, chunked, status_of, wsgiref_answer

SECURITY = {'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY',
            'Referrer-Policy': 'strict-origin-when-cross-origin'}
FORM = 'application/x-www-form-urlencoded'


def assert_security_and_cors_headers(response: Any, origin: str = APP) -> None:
    """The three default security headers, each once, and the CORS headers of an allowed origin."""
    for name, value in SECURITY.items():
        assert response.headers.get_all(name) == [value], (response.status, name, response.headers)
    assert response.headers.get_all('Access-Control-Allow-Origin') == [origin], response.headers
    assert 'Origin' in response.headers['Vary'], response.headers


def upload_app(make_app: Callable[..., bottle.Bottle], calls: List[str], **config: Any) -> bottle.Bottle:
    """An app with canister (``cors`` listing APP) whose POST /upload binds a form field."""
    app = make_app(cors=APP, **config)

    @app.post('/upload')
    def upload(amount: str = ''):
        calls.append(amount)
        return 'uploaded'

    return app


# -- Limits and error answers: every early answer, on a real server ---------------------------------

#: (test id, the request's extra headers, its body, status, the message of the body and the WARNING line)
EARLY_ANSWERS = [
    ('content-length-past-max-body-size', {'Content-Length': '20000000'}, b'amount=1', 413,
     'Request body too large: 20000000 bytes, the limit is 10485760'),
    ('invalid-content-length', {'Content-Length': '12abc'}, b'', 400, 'Bad request: invalid Content-Length'),
    ('content-length-and-transfer-encoding', {'Content-Length': '8', 'Transfer-Encoding': 'chunked'},
     chunked(b'amount=1', 0), 400, 'Bad request: Content-Length and Transfer-Encoding together (RFC 9112 section '
     '6.1: a sign of request smuggling); send one of them'),
    ('transfer-encoding-other-than-chunked', {'Transfer-Encoding': 'gzip, chunked'}, chunked(b'amount=1', 0), 400,
     "Bad request: Transfer-Encoding 'gzip, chunked' is not supported: send the body chunked (and no other "
     "coding), or with a Content-Length"),
    ('authorization-past-max-header-size', {'Content-Length': '8', 'Authorization': 'Bearer ' + 'x' * 8186}, b'amount=1',
     431, 'Request header Authorization too large: the limit is 8192 bytes'),
    ('cookie-past-max-header-size', {'Content-Length': '8', 'Cookie': 'a=' + 'x' * 8191}, b'amount=1',
     431, 'Request header Cookie too large: the limit is 8192 bytes'),
]


@pytest.mark.parametrize('headers, body, status, message', [case[1:] for case in EARLY_ANSWERS],
                         ids=[case[0] for case in EARLY_ANSWERS])
def test_each_early_answer_gives_its_status_message_warning_and_every_header(make_app, log_dir, headers, body,
                                                                             status, message):
    calls: List[str] = []
    server = WsgirefServer(upload_app(make_app, calls))
    try:
        answer = Client('http://127.0.0.1:%d' % server.port).request(
            'POST', '/upload', body=body, headers=dict(headers, Origin=APP, **{'Content-Type': FORM}))
    finally:
        server.close()
    assert (answer.status, answer.text) == (status, message + '\n')
    assert_security_and_cors_headers(answer)
    assert [line.split(']', 1)[1].strip() for line in warning_lines(log_dir)] == [message]
    assert calls == []


@pytest.mark.parametrize('length', [b'8 ', b'8\t', b'08 '])
def test_a_content_length_with_whitespace_after_it_is_read_as_its_number(make_app, length):
    """HTTP's whitespace around a field value is no part of it; wsgiref passes a trailing one on."""
    calls: List[str] = []
    answer = wsgiref_answer(upload_app(make_app, calls),
                            b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %s\r\n'
                            b'Connection: close\r\n\r\n' % (FORM.encode(), length), b'amount=5')
    assert (status_of(answer), answer.split(b'\r\n\r\n', 1)[1]) == (200, b'uploaded')
    assert calls == ['5']


def test_a_header_of_exactly_max_header_size_passes_and_one_byte_more_is_431(make_app, serve):
    calls: List[str] = []
    origin = serve(upload_app(make_app, calls, max_header_size=1000))
    web = Client(origin)
    form = {'Content-Type': FORM, 'Origin': origin}
    assert web.request('POST', '/upload', b'amount=1', dict(form, Cookie='a=' + 'x' * 998)).status == 200
    refused = web.request('POST', '/upload', b'amount=2', dict(form, Cookie='a=' + 'x' * 999))
    assert (refused.status, refused.text) == (431, 'Request header Cookie too large: the limit is 1000 bytes\n')
    assert calls == ['1']


def test_a_chunked_body_past_max_body_size_is_413_with_security_and_cors_headers(make_app, log_dir):
    calls: List[str] = []
    server = WsgirefServer(upload_app(make_app, calls, max_body_size=1000))
    try:
        answer = Client('http://127.0.0.1:%d' % server.port).request(
            'POST', '/upload', body=chunked(b'amount=' + b'9' * 2000, 0),
            headers={'Transfer-Encoding': 'chunked', 'Content-Type': FORM, 'Origin': APP})
    finally:
        server.close()
    assert (answer.status, answer.text) == (413, 'Request body too large: more than 1000 bytes (chunked)\n')
    assert_security_and_cors_headers(answer)
    assert 'Request body too large: more than 1000 bytes (chunked)' in read_log(log_dir)
    assert calls == []


# -- canister's 403, 429 and 503 carry the CORS and security headers -------------------------------------

def test_a_wrong_passwords_401_and_the_login_throttles_429_carry_the_cors_and_security_headers(make_app, serve):
    app = make_app(cors=APP, cors_credentials=True, auth_basic_username='bob',
                   auth_basic_password='right', auth_max_failures=1)
    app.route('/who', callback=lambda: str(canister.session.user))
    web = Client(serve(app))
    wrong = {'Origin': APP, 'Authorization': basic('bob', 'wrong')}
    refused = web.get('/who', headers=wrong)
    assert refused.status == 401
    assert_security_and_cors_headers(refused)
    throttled = web.get('/who', headers=wrong)
    assert throttled.status == 429
    assert throttled.headers['Retry-After'] == '60'
    assert_security_and_cors_headers(throttled)
    assert throttled.headers['Access-Control-Allow-Credentials'] == 'true'


def test_the_403_of_require_carries_the_cors_and_security_headers_for_a_listed_origin(make_app, serve):
    app = make_app(cors=APP, cors_credentials=True)
    app.route('/login', callback=lambda: setattr(canister.session, 'user', 'bob') or 'in')

    @app.get('/admin')
    @canister.require(lambda user: user == 'root', 'admins only')
    def admin() -> str:
        return 'secret'

    web = Client(serve(app))
    cookie = web.get('/login').headers['Set-Cookie'].split(';')[0]
    refused = web.get('/admin', headers={'Origin': APP, 'Cookie': cookie})
    assert (refused.status, refused.text) == (403, 'admins only\n')
    assert_security_and_cors_headers(refused)
    assert refused.headers['Access-Control-Allow-Credentials'] == 'true'


@pytest.mark.parametrize('path', ['/read', '/write'])
def test_canisters_503_for_a_store_that_went_down_carries_the_cors_and_security_headers(make_app, serve,
                                                                                        redis_server, path):
    app = make_app(cors=APP, cors_credentials=True, session_store=redis_server.url)

    @app.get('/read')
    def read():
        return str(canister.session.data.get('n'))  # the store is found down in the handler

    @app.get('/write')
    def write():
        canister.session.data['n'] = 1  # the store is found down when the session is saved after the handler
        return 'written'

    web = Client(serve(app))
    assert web.get('/write', headers={'Origin': APP}).status == 200
    redis_server.stop()
    answer = web.get(path, headers={'Origin': APP})
    assert (answer.status, answer.text) == (503, 'Service unavailable: the session store cannot be reached, '
                                                 'retry shortly\n')
    assert answer.headers['Retry-After'] == '1'
    assert_security_and_cors_headers(answer)
    assert sorted(token.strip() for token in answer.headers['Vary'].split(',')) == ['Accept', 'Cookie', 'Origin']


# -- Preflights: the methods granted ----------------------------------------------------------------

def served_preflight(origin: str, path: str, method: str) -> Any:
    """A browser's preflight from APP for ``method`` on ``path``."""
    return Client(origin).request('OPTIONS', path, headers={'Origin': APP, 'Access-Control-Request-Method': method})


def test_a_preflight_grants_the_methods_of_every_route_that_takes_the_path(make_app, serve):
    app = make_app(cors=APP)
    app.route('/items/special', callback=lambda: 'special')
    app.route('/items/<item_id>', method='POST', callback=lambda item_id: 'posted')
    app.route('/items/<item_id>', method='DELETE', callback=lambda item_id: 'deleted')
    answer = served_preflight(serve(app), '/items/special', 'DELETE')
    assert answer.status == 204
    assert sorted(answer.headers['Access-Control-Allow-Methods'].split(', ')) == ['DELETE', 'GET', 'POST']


def test_a_preflight_for_a_path_of_a_plain_wsgi_callable_grants_cors_methods(make_app, serve):
    app = make_app(cors=APP, cors_methods='GET, DELETE')

    def legacy(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'legacy']

    app.mount('/legacy/', legacy)
    answer = served_preflight(serve(app), '/legacy/anything', 'DELETE')
    assert answer.status == 204
    assert answer.headers['Access-Control-Allow-Methods'] == 'GET, DELETE'
    assert_security_and_cors_headers(answer)


def test_a_preflight_from_an_origin_not_listed_is_403_with_a_message_a_warning_and_no_cors_headers(make_app, serve,
                                                                                                   log_dir):
    app = make_app(cors=APP, log_level='DEBUG')
    app.route('/items', method=['GET', 'PUT'], callback=lambda: 'items')
    answer = Client(serve(app)).request('OPTIONS', '/items', headers={'Origin': EVIL,
                                                                      'Access-Control-Request-Method': 'PUT'})
    message = 'CORS preflight refused: origin %s is not allowed' % EVIL
    assert (answer.status, answer.text) == (403, message + '\n')
    assert not [name for name in answer.headers if name.lower().startswith('access-control-')]
    assert answer.headers['X-Frame-Options'] == 'DENY'
    assert [line.split(']', 1)[1].strip() for line in warning_lines(log_dir)] == [message]


@pytest.mark.parametrize('where, composition', [('parent', 'mount'), ('child', 'mount_wsgi')])
def test_a_preflight_under_cors_paths_is_matched_with_the_mount_prefix_wherever_canister_is(make_app, serve,
                                                                                           where, composition):
    config = {'cors': APP, 'cors_paths': '/a/api'}
    parent = make_app(config=config) if where == 'parent' else bottle.Bottle()
    child = bottle.Bottle() if where == 'parent' else make_app(config=config)
    child.route('/api/items', method=['GET', 'PUT'], callback=lambda: 'items')
    child.route('/about', method=['GET', 'PUT'], callback=lambda: 'about')
    prefix = compose_child(parent, child, composition)
    origin = serve(parent)
    inside, outside = served_preflight(origin, prefix + '/api/items', 'PUT'), served_preflight(origin, prefix + '/about', 'PUT')
    assert (inside.status, inside.headers['Access-Control-Allow-Methods']) == (204, 'GET, PUT')
    assert inside.headers['Access-Control-Allow-Origin'] == APP
    assert (outside.status, outside.headers['Allow']) == (405, 'GET,PUT')
    assert 'Access-Control-Allow-Origin' not in outside.headers


# -- Security headers: answers not covered elsewhere ------------------------------------------------

def test_security_headers_are_on_the_answers_of_a_plain_wsgi_callable_and_its_own_header_wins(make_app, serve):
    app = make_app(cors=APP)

    def legacy(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        start_response('200 OK', [('Content-Type', 'text/plain'), ('x-frame-options', 'SAMEORIGIN')])
        return [b'legacy']

    app.mount('/legacy/', legacy)
    answer = Client(serve(app)).get('/legacy/page', headers={'Origin': APP})
    assert (answer.status, answer.text) == (200, 'legacy')
    assert answer.headers.get_all('X-Frame-Options') == ['SAMEORIGIN']
    assert answer.headers['X-Content-Type-Options'] == 'nosniff'
    assert answer.headers['Referrer-Policy'] == 'strict-origin-when-cross-origin'


def test_security_headers_are_on_a_head_answer_and_a_static_files_304(make_app, serve, tmp_path: pathlib.Path):
    app = make_app(cors=APP)
    (tmp_path / 'page.txt').write_text('text')
    app.route('/page.txt', callback=lambda: bottle.static_file('page.txt', root=str(tmp_path)))
    web = Client(serve(app))
    head = web.request('HEAD', '/page.txt', headers={'Origin': APP})
    not_modified = web.get('/page.txt', headers={'Origin': APP, 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT'})
    assert (head.status, head.body, not_modified.status) == (200, b'', 304)
    assert_security_and_cors_headers(head)
    assert_security_and_cors_headers(not_modified)


# -- CSRF protection: every unsafe method and every form type ---------------------------------------

@pytest.mark.parametrize('method', ['POST', 'PUT', 'PATCH', 'DELETE'])
@pytest.mark.parametrize('content_type', [FORM, 'multipart/form-data; boundary=x', 'text/plain', 'application/json'])
def test_every_unsafe_method_with_any_content_type_from_a_foreign_origin_is_refused(make_app, serve, log_dir,
                                                                                   method, content_type):
    calls: List[str] = []
    app = make_app()
    app.route('/change', method=['POST', 'PUT', 'PATCH', 'DELETE'], callback=lambda: calls.append('called') or 'ok')
    answer = Client(serve(app)).request(method, '/change', b'', {'Origin': EVIL, 'Content-Type': content_type})
    assert answer.status == 403
    assert answer.text.startswith('Cross-site request refused: origin %s may not send %s requests here' % (EVIL, method))
    assert calls == []
    assert len([line for line in warning_lines(log_dir) if 'Cross-site request refused' in line]) == 1


@pytest.mark.parametrize('content_type', ['TEXT/PLAIN', 'Multipart/Form-Data; boundary=x',
                                          'Application/X-WWW-Form-Urlencoded;charset=UTF-8'])
def test_with_cors_star_a_form_type_in_any_case_is_refused_as_a_form(make_app, serve, content_type):
    calls: List[str] = []
    app = make_app(cors='*')
    app.route('/change', method='POST', callback=lambda: calls.append('called') or 'ok')
    web = Client(serve(app))
    foreign = {'Origin': EVIL, 'Sec-Fetch-Site': 'cross-site'}
    assert web.request('POST', '/change', b'', dict(foreign, **{'Content-Type': content_type})).status == 403
    assert web.request('POST', '/change', b'{}', dict(foreign, **{'Content-Type': 'application/json'})).status == 200
    assert calls == ['called']
