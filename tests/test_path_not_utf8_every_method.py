"""A path that is not UTF-8 once its ``%xx`` escapes are decoded, sent as raw HTTP to a real server: canister's
own 400 and one WARNING line for every method, on both Bottles.  Only a change (POST, PUT, PATCH, DELETE) got it;
bottle 0.13 routed ``GET /u/a%FFb`` to the handler as ``ab``, and 0.12 answered its own 400."""
from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict, List, Tuple

import bottle
import pytest

from helpers import read_log, sub_request
from servers import WsgirefServer, raw_request, status_of

MESSAGE = "Bad request: the path is not valid UTF-8"


def _user_app(make_app: Any) -> Tuple[Any, List[str]]:
    """An app whose ``/u/<name>`` (any method) notes the name it was handed."""
    app, handed = make_app(), []

    @app.route('/u/<name>', method=['GET', 'HEAD', 'OPTIONS', 'DELETE'])
    def user(name: str) -> Dict[str, Any]:
        handed.append(name)
        return {'name': name}
    return app, handed


def _send(origin: str, method: str, path: str) -> bytes:
    port = urllib.parse.urlsplit(origin).port
    return raw_request(port, b'%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
                       % (method.encode(), path.encode()))


def _warnings(log_dir: Any) -> List[str]:
    return [line for line in read_log(log_dir).splitlines() if 'WARNING' in line and MESSAGE in line]


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'OPTIONS', 'DELETE'])
@pytest.mark.parametrize('path', ['/u/a%FFb', '/u/%FF%FE'])
def test_a_path_that_is_not_utf8_gets_canisters_400_and_one_warning_whatever_the_method(
        make_app: Any, serve: Any, log_dir: Any, method: str, path: str) -> None:
    app, handed = _user_app(make_app)
    answer = _send(serve(app), method, path)
    assert status_of(answer) == 400
    if method != 'HEAD':
        assert answer.endswith(b'\r\n\r\n' + MESSAGE.encode() + b'\n')
    assert len(_warnings(log_dir)) == 1
    assert handed == []


def test_a_get_of_a_path_that_is_not_utf8_with_a_header_that_runs_the_early_checks_gets_the_same_400(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """A Content-Length or an Authorization header makes canister's early checks run: the answer is the same."""
    app, handed = _user_app(make_app)
    port = urllib.parse.urlsplit(serve(app)).port
    answer = raw_request(port, b'GET /u/a%FFb HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YTpi\r\n'
                               b'Content-Length: 0\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 400 and answer.endswith(MESSAGE.encode() + b'\n')
    assert len(_warnings(log_dir)) == 1
    assert handed == []


def test_a_path_that_is_utf8_outside_ascii_still_reaches_the_handler_decoded(make_app: Any, serve: Any,
                                                                            log_dir: Any) -> None:
    app, handed = _user_app(make_app)
    answer = _send(serve(app), 'GET', '/u/caf%C3%A9')
    assert status_of(answer) == 200
    assert json.loads(answer.partition(b'\r\n\r\n')[2]) == {'name': 'café'}
    assert handed == ['café']
    assert _warnings(log_dir) == []


def test_a_head_that_canister_refuses_itself_gets_no_body_even_from_a_server_that_sends_what_it_is_given(
        make_app: Any, log_dir: Any) -> None:
    """wsgiref sends the body an app returns to a HEAD; canister's own early answers return none for a HEAD (their
    Content-Length still that of the body a GET gets), as Bottle's answers do."""
    app, handed = _user_app(make_app)
    server = WsgirefServer(app)
    try:
        answer = _send('http://127.0.0.1:%d' % server.port, 'HEAD', '/u/a%FFb')
        get = _send('http://127.0.0.1:%d' % server.port, 'GET', '/u/a%FFb')
    finally:
        server.close()
    assert status_of(answer) == 400 and answer.endswith(b'\r\n\r\n')
    assert b'Content-Length: %d\r\n' % (len(MESSAGE) + 1) in answer
    assert get.endswith(b'\r\n\r\n' + MESSAGE.encode() + b'\n')
    assert handed == []


def test_a_path_that_is_not_utf8_of_a_child_app_mounted_in_a_plain_bottle_is_refused_not_handed_on_without_its_bytes(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """canister on the child only: the parent's Bottle decodes the path first (bottle 0.13 drops the bytes that are
    no UTF-8, and the child saw ``/u/ab``; 0.12 refuses it itself). The handler is never handed such a path; the
    path ``/u/ab`` itself still reaches it."""
    child, handed = _user_app(make_app)
    parent = bottle.Bottle()
    parent.mount('/c/', child)
    origin = serve(parent)
    answer = _send(origin, 'GET', '/c/u/a%FFb')
    assert status_of(answer) == 400
    assert handed == []
    good = _send(origin, 'GET', '/c/u/ab')
    assert status_of(good) == 200 and handed == ['ab']


def test_a_sub_request_from_a_plain_bottle_handler_to_a_path_that_is_not_utf8_gets_the_400_by_its_own_path(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """A handler of an app without canister calls one with it on a copy of its environ, whose ``bottle.raw_path``
    is still the caller's (``/go``), with a path in WSGI's form that is not UTF-8 (``%FF`` as a server passes
    it on): that path is judged, not the caller's (bottle 0.13 handed the handler ``ab``, 0.12 answered its own
    page), and the request line shows it as it came."""
    app, handed = _user_app(make_app)
    caller = bottle.Bottle()
    caller.route('/go', callback=lambda: bottle.HTTPResponse('%s | %s' % sub_request(  # (its own headers, not
        app, dict(bottle.request.environ), '/u/a\xffb')[::2]))                       # those the other app left)
    answer = _send(serve(caller), 'GET', '/go')
    assert answer.endswith(b'\r\n\r\n400 Bad Request | ' + MESSAGE.encode() + b'\n')
    assert handed == []
    assert len(_warnings(log_dir)) == 1
    assert 'GET http://127.0.0.1/u/a%FFb\n' in read_log(log_dir)  # (not the caller's decoding of it, a%C3%BFb)


def test_a_sub_request_of_a_canister_app_to_itself_with_a_path_that_is_not_utf8_gets_the_400_by_its_own_path(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """``bottle.request.app`` called on a copy of the request's environ with a path of its own, which a handler made
    of ``%FF`` with ``surrogateescape``: refused (bottle 0.13 handed the handler ``ab``, 0.12 answered its own
    page), though the caller's path is UTF-8."""
    app, handed = _user_app(make_app)
    path = urllib.parse.unquote('/u/a%FFb', errors='surrogateescape')
    app.route('/go', callback=lambda: '%s | %s' % sub_request(
        bottle.request.app, dict(bottle.request.environ), path)[::2])
    answer = _send(serve(app), 'GET', '/go')
    assert answer.endswith(b'\r\n\r\n400 Bad Request | ' + MESSAGE.encode() + b'\n')
    assert handed == []
    assert len(_warnings(log_dir)) == 1


def test_a_sub_request_from_a_plain_bottle_handler_to_a_utf8_path_still_reaches_the_handler(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    app, handed = _user_app(make_app)
    caller = bottle.Bottle()
    caller.route('/go', callback=lambda: bottle.HTTPResponse('%s | %s' % sub_request(
        app, dict(bottle.request.environ), '/u/café'.encode().decode('latin-1'))[::2]))
    answer = _send(serve(caller), 'GET', '/go')
    assert answer.endswith(b'\r\n\r\n200 OK | {"name": "caf\\u00e9"}')
    assert handed == ['café'] and _warnings(log_dir) == []


def _path_app(make_app: Any) -> Tuple[Any, List[str]]:
    """An app whose every path (``/<rest:path>``) notes the path it was handed."""
    app, handed = make_app(), []

    @app.route('/<rest:path>')
    def anything(rest: str) -> str:
        handed.append(rest)
        return 'handed ' + rest
    return app, handed


def _forwarder(app: Any, script_name: str = '') -> bottle.Bottle:
    """A Bottle without canister whose every path calls ``app`` on a copy of its environ with the path
    ``?to=`` names (in WSGI's form, as Bottle reads a query) and ``SCRIPT_NAME`` set to ``script_name``."""
    caller = bottle.Bottle()

    def forward(rest: str) -> bottle.HTTPResponse:
        environ = dict(bottle.request.environ)
        environ['SCRIPT_NAME'] = script_name
        return bottle.HTTPResponse('%s | %s' % sub_request(app, environ, bottle.request.query['to'])[::2])
    caller.route('/<rest:path>', callback=forward)
    return caller


@pytest.mark.parametrize('script_name', ['', '/p'])
@pytest.mark.parametrize('target', ['/fwd/x?to=/a%FFb/fwd/x', '/fwd/x/?to=/a%FFb/fwd/x', '/fwd/x?to=/a%FFb/fwd/x/',
                                    '/fwd/x?to=/a%FFb//fwd/x'])
def test_a_sub_request_whose_path_not_utf8_ends_with_the_callers_path_gets_the_400_by_its_own_path(
        make_app: Any, serve: Any, log_dir: Any, target: str, script_name: str) -> None:
    """A new path that ends with the caller's (with or without a trailing ``/``, under a ``SCRIPT_NAME`` of its
    own) is not the caller's: it is judged by itself (it was judged by the caller's valid one, and bottle 0.13
    handed the handler ``ab/fwd/x``, 0.12 answered its own page)."""
    app, handed = _path_app(make_app)
    answer = _send(serve(_forwarder(app, script_name)), 'GET', target)
    assert answer.endswith(b'\r\n\r\n400 Bad Request | ' + MESSAGE.encode() + b'\n')
    assert handed == []
    assert len(_warnings(log_dir)) == 1


def test_a_sub_request_whose_path_is_decoded_text_ending_with_the_callers_is_refused(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """``/café/fwd/x`` set as text, not in WSGI's form (its UTF-8 bytes as latin-1 text), which a Bottle reads as
    ``caf\\xe9``, not UTF-8: refused as such (it was judged by the caller's path: bottle 0.13
    handed the handler ``caf/fwd/x``, 0.12 answered its own page)."""
    app, handed = _path_app(make_app)
    caller = bottle.Bottle()
    caller.route('/fwd/x', callback=lambda: bottle.HTTPResponse('%s | %s' % sub_request(
        app, dict(bottle.request.environ), '/café/fwd/x')[::2]))
    answer = _send(serve(caller), 'GET', '/fwd/x')
    assert answer.endswith(b'\r\n\r\n400 Bad Request | ' + MESSAGE.encode() + b'\n')
    assert handed == [] and len(_warnings(log_dir)) == 1


@pytest.mark.parametrize('target', ['/fwd/x?to=/caf%C3%A9/fwd/x', '/fwd/x?to=/fwd/x', '/caf%C3%A9?to=/caf%C3%A9/x'])
def test_a_sub_request_to_a_utf8_path_ending_with_the_callers_or_not_still_reaches_the_handler(
        make_app: Any, serve: Any, log_dir: Any, target: str) -> None:
    app, handed = _path_app(make_app)
    to = urllib.parse.unquote(target.partition('?to=')[2])
    answer = _send(serve(_forwarder(app)), 'GET', target)
    assert answer.endswith(b'\r\n\r\n200 OK | handed ' + to[1:].encode())
    assert handed == [to[1:]] and _warnings(log_dir) == []


def _mounted_child(make_app: Any, script_name: str = '') -> Tuple[Any, List[str]]:
    """A Bottle without canister with a canister app mounted at ``/c/`` as a WSGI app (so on both Bottles: the
    parent decodes the path, then shifts ``/c`` into ``SCRIPT_NAME``), served under ``script_name``."""
    child, handed = _path_app(make_app)
    parent = bottle.Bottle()
    parent.mount('/c/', lambda environ, start_response: child(environ, start_response))

    def served(environ: Dict[str, Any], start_response: Any) -> Any:
        environ['SCRIPT_NAME'] = script_name
        return parent(environ, start_response)
    return served, handed


@pytest.mark.parametrize('script_name', ['', '/app', '/app/'])
@pytest.mark.parametrize('path', ['/c/u/a%FFb', '/c/u/a%FFb/', '/c//u/a%FFb', '/c/a%FF/'])
def test_a_path_that_is_not_utf8_under_a_mount_point_never_reaches_a_child_with_canister(
        make_app: Any, serve: Any, log_dir: Any, path: str, script_name: str) -> None:
    """bottle 0.13 decodes it dropping the bytes (``/c//u/ab``: ``//u/ab`` for the child, once handed to it as
    ``u/ab``), canister refuses it by the path as it came; 0.12 answers its own 400 before the mount."""
    parent, handed = _mounted_child(make_app, script_name)
    answer = _send(serve(parent), 'GET', path)
    assert status_of(answer) == 400
    if not bottle.__version__.startswith('0.12'):
        assert answer.endswith(b'\r\n\r\n' + MESSAGE.encode() + b'\n') and len(_warnings(log_dir)) == 1
    assert handed == []


@pytest.mark.parametrize('path', ['/c/u/caf%C3%A9', '/c//u/caf%C3%A9', '/c/caf%C3%A9/'])
def test_a_utf8_path_under_a_mount_point_is_logged_by_the_child_as_the_client_sent_it(
        make_app: Any, serve: Any, log_dir: Any, path: str) -> None:
    """Also with ``//`` right after the mount point (``//u/café`` for the child), which was logged as
    ``/c//u/caf%E9``, bytes the client never sent."""
    parent, _ = _mounted_child(make_app)
    _send(serve(parent), 'GET', path)
    assert 'GET http://127.0.0.1%s\n' % path in read_log(log_dir)


def test_a_sub_request_of_a_canister_app_whose_path_is_decoded_text_reaches_the_handler(
        make_app: Any, serve: Any, log_dir: Any) -> None:
    """A caller with canister hands a path set as text (``/café/go``, not in WSGI's form) on in WSGI's form."""
    app, handed = _path_app(make_app)
    app.route('/go', callback=lambda: '%s | %s' % sub_request(
        bottle.request.app, dict(bottle.request.environ), '/café/go')[::2])
    answer = _send(serve(app), 'GET', '/go')
    assert answer.endswith('\r\n\r\n200 OK | handed café/go'.encode())
    assert handed == ['café/go'] and _warnings(log_dir) == []
