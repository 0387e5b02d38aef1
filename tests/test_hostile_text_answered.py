"""Client text built to make the secret masking slow (``a.a.a.a...``, which the URL masking once read again from each
of its words, and ``\\"\\"\\"...``, which the JSON member search read a hundred times over) is answered as any text
is, its log line masked as before, while another request sent meanwhile is answered too: a threaded wsgiref server
in a subprocess, real sockets.  The old code took minutes to hours for the larger of them (seconds for the 8 MB
one): each answer here has a client timeout far above what the masking takes now."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, Tuple

import pytest

import canister
from helpers import read_log
from servers import raw_request, status_of, wait_until

APP = '''
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import bottle

import canister

app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[2]))


@app.get('/')
def index():
    return 'ok'


@app.route('/search', method=['GET', 'POST'])
def search(page: int = 1):
    return 'page %d' % page


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server('127.0.0.1', 0, app, server_class=Server, handler_class=Quiet)  # (a port of its own choosing)
with open(sys.argv[1] + '.part', 'w') as told:
    told.write(str(server.server_port))
os.rename(sys.argv[1] + '.part', sys.argv[1])
server.serve_forever()
'''

#: What wsgiref takes in one line (65,536 bytes): the request target and each header of the attacks.
RUN = 'a.' * 32000


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[Tuple[int, pathlib.Path]]:
    """The port of a threaded wsgiref server of an app with canister's defaults, and its log directory."""
    script, logs, told = tmp_path / 'app.py', tmp_path / 'logs', tmp_path / 'port'
    script.write_text(APP)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(canister.__file__)))
    process = subprocess.Popen([sys.executable, str(script), str(told), str(logs)], env=env)
    try:
        wait_until(told.exists, 30, what='the app telling its port')
        port = int(told.read_text())
        wait_until(lambda: status_of(raw_request(port, b'GET / HTTP/1.0\r\n\r\n', timeout=5)) == 200, 20,
                   what='the app answering')
        yield port, logs
    finally:
        process.kill()
        process.wait(30)


def timed_request(port: int, head: bytes, body: bytes = b'') -> Tuple[bytes, float]:
    """The answer to ``head`` and ``body``, and the seconds it took (a client timeout far above any limit here)."""
    started = time.monotonic()
    answer = raw_request(port, head, body, timeout=60)
    return answer, time.monotonic() - started


def answered_meanwhile(port: int, head: bytes, body: bytes = b'', limit: float = 5.0,
                       plain: Tuple[bytes, bytes] = (b'', b'')) -> bytes:
    """The answer to ``head`` and ``body``, which must come within ``limit`` seconds, checking that ``GET /``, sent
    while it is on its way, is answered 200 within 5 seconds.  ``plain`` is the same request with text of the same
    size that nothing makes slow (one long word), sent after them in the same round: the round is measured again
    (3 rounds at most) only when that one took a fifth of ``limit`` or more too, so when another job's load spoiled
    the round, while text that the masking reads again and again (seconds for 64 KB in older versions, the whole
    process held) fails in the first."""
    for _ in range(3):
        held: Dict[str, Any] = {}
        thread = threading.Thread(target=lambda into=held: into.update(zip(('answer', 'took'),
                                                                           timed_request(port, head, body))))
        thread.start()
        innocent, innocent_took = timed_request(port, b'GET / HTTP/1.0\r\n\r\n')
        thread.join(90)
        assert status_of(innocent) == 200, innocent[:200]
        assert 'answer' in held, 'no answer'
        _, plain_took = timed_request(port, *plain)
        if held['took'] < limit and innocent_took < 5:
            return held['answer']
        if plain_took < limit / 5:
            break
    raise AssertionError('answered in %.2fs (limit %ss), GET / meanwhile in %.2fs (limit 5s), while the same request '
                         'of plain text took %.2fs' % (held['took'], limit, innocent_took, plain_took))


#: What wsgiref takes in one line: the plain text of RUN's size, the baseline of the attacks in a request target or a
#: header.
PLAIN_RUN = 'a' * len(RUN)


def test_a_query_of_dotted_words_before_an_at_is_answered_and_logged_masked(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    answer = answered_meanwhile(port, b'GET /?next=https://bob:pw@host/&x=' + RUN.encode() + b'@ HTTP/1.0\r\n\r\n',
                                plain=(b'GET /?next=https://bob:pw@host/&x=' + PLAIN_RUN.encode() + b'@ HTTP/1.0\r\n\r\n',
                                       b''))
    assert status_of(answer) == 200
    line = '/?next=***&x=%s@\n' % RUN  # (no URL in x: shown as sent)
    wait_until(lambda: line in read_log(logs), 10, what='the masked request line')


def test_a_path_of_dotted_words_with_an_at_is_answered_404_and_logged_as_sent(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    answer = answered_meanwhile(port, b'GET /' + RUN.encode() + b'@ HTTP/1.0\r\n\r\n',
                                plain=(b'GET /' + PLAIN_RUN.encode() + b'@ HTTP/1.0\r\n\r\n', b''))
    assert status_of(answer) == 404
    wait_until(lambda: ('/%s@\n' % RUN) in read_log(logs), 10, what='the request line')


def test_a_form_parameter_of_dotted_words_before_an_at_is_answered_400(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    body = b'page=x%3D' + b'a.' * 49000 + b'%40'  # page = 'x=a.a.a....@', under Bottle's 100 KiB for a form
    head = b'POST /search HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n'
    answer = answered_meanwhile(port, head % len(body), body, plain=(head % len(body), body.replace(b'.', b'a')))
    assert status_of(answer) == 400
    assert b"parameter 'page' must be an integer, got 'x=a.a.a.a." in answer
    wait_until(lambda: "parameter 'page' must be an integer" in read_log(logs), 10, what='the 400 line')


def test_a_json_parameter_of_dotted_words_before_an_at_is_answered_400(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    body = json.dumps({'page': 'x=' + 'a.' * 500000 + '@'}).encode()  # a 1 MB JSON body
    head = b'POST /search HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
    answer = answered_meanwhile(port, head % len(body), body, limit=30,
                                plain=(head % len(body), body.replace(b'.', b'a')))
    assert status_of(answer) == 400
    assert b"parameter 'page' must be an integer, got 'x=a.a.a.a." in answer


def test_a_json_parameter_of_escaped_quotes_is_answered_400_at_once(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    body = json.dumps({'page': '"' + '\\"' * 2000000 + '":'}).encode()  # 8 MB: the old code took 13 s on its own
    plain = json.dumps({'page': 'a' * (len(body) - 13)}).encode()  # (as long, one long word)
    head = b'POST /search HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
    answer = answered_meanwhile(port, head % len(body), body, limit=6, plain=(head % len(plain), plain))
    assert status_of(answer) == 400
    assert b"parameter 'page' must be an integer, got '\"\\\\\"\\\\\"" in answer


def test_an_origin_of_dotted_words_on_a_cross_site_post_is_answered_403_masked(server: Tuple[int, pathlib.Path]) -> None:
    port, logs = server
    answer = answered_meanwhile(port, b'POST /search HTTP/1.0\r\nOrigin: https://x@ ' + RUN.encode()
                                + b'?\r\nContent-Length: 0\r\n\r\n',
                                plain=(b'POST /search HTTP/1.0\r\nOrigin: https://x@ ' + PLAIN_RUN.encode()
                                       + b'?\r\nContent-Length: 0\r\n\r\n', b''))
    assert status_of(answer) == 403
    assert b'https://***@ a.a.a.' in answer
    wait_until(lambda: 'https://***@ a.a.a.' in read_log(logs), 10, what='the 403 line')
