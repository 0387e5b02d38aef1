"""A path that is not UTF-8 once its ``%xx`` escapes are decoded, sent as raw HTTP to a real server: canister's
own 400 and one WARNING line for every method, on both Bottles.  Only a change (POST, PUT, PATCH, DELETE) got it;
bottle 0.13 routed ``GET /u/a%FFb`` to the handler as ``ab``, and 0.12 answered its own 400."""
from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any, Dict, List, Tuple

import bottle
import pytest

from helpers import read_log, sub_request
from servers import WsgirefServer, raw_request, status_of

MESSAGE = 'Bad request: the path is not valid UTF-8'


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
    return [line for line in read_log(log_dir).splitlines() if re.search('WARNING.*' + MESSAGE, line)]


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
