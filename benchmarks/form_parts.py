"""CPU time of a multipart body of tiny parts, at ``max_body_size``, with and without ``max_form_parts``.

Each part is a field of one byte (``--x``, a ``Content-Disposition`` line, the value: 52 bytes), so a
body at the default ``max_body_size`` (10 MiB) holds about 200,000 of them.  Two apps of this
checkout's canister, each with a handler that reads ``bottle.request.forms``: one with
``max_form_parts = 0`` (no limit: what every version before the key did), one with the default
(1,000).  Requests are WSGI calls made in-process, a fresh environ each; each round times one
request on each app (CPU time of this process), and the report gives the medians, the ratio of
the medians, and each app's answer (200 without the limit, 413 with it).

Run (from the repository root; a few seconds with the defaults):

    python benchmarks/form_parts.py [--rounds 5] [--parts 200000]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from typing import Any, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import bottle  # noqa: E402

import canister  # noqa: E402

PART = b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'


def build(log_dir: str, limit: int) -> bottle.Bottle:
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=log_dir, log_level='ERROR', max_form_parts=limit))

    @app.post('/form')
    def form() -> str:
        return str(len(bottle.request.forms.getall('a')))

    return app


def timed(app: bottle.Bottle, body: bytes) -> Tuple[float, str]:
    """CPU seconds of one POST of ``body``, and the status it got."""
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/form', 'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '80',
               'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': '127.0.0.1', 'wsgi.url_scheme': 'http',
               'CONTENT_TYPE': 'multipart/form-data; boundary=x', 'CONTENT_LENGTH': str(len(body)),
               'wsgi.input': io.BytesIO(body), 'wsgi.errors': sys.stderr, 'wsgi.version': (1, 0),
               'wsgi.multithread': False, 'wsgi.multiprocess': False, 'wsgi.run_once': False}
    statuses: List[str] = []
    start = time.process_time()
    result = app(environ, lambda status, headers, *_: statuses.append(status))
    b''.join(result)
    elapsed = time.process_time() - start
    getattr(result, 'close', lambda: None)()
    return elapsed, statuses[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--parts', type=int, default=200000, help='parts of the body (default: about 10 MiB of them)')
    args = parser.parse_args()
    body = PART * args.parts + b'--x--\r\n'
    with tempfile.TemporaryDirectory() as log_dir:
        unlimited, limited = build(log_dir, 0), build(log_dir, 1000)
        before: List[float] = []
        after: List[float] = []
        answers: List[Any] = []
        for _ in range(args.rounds):
            seconds, status_before = timed(unlimited, body)
            before.append(seconds)
            seconds, status_after = timed(limited, body)
            after.append(seconds)
            answers = [status_before, status_after]
        unlimited.uninstall(True)
        limited.uninstall(True)
    slow, fast = statistics.median(before), statistics.median(after)
    print('bottle %s, %d parts, %d bytes, %d rounds' % (bottle.__version__, args.parts, len(body), args.rounds))
    print('max_form_parts = 0:    %8.1f ms  (%s)' % (slow * 1000, answers[0]))
    print('max_form_parts = 1000: %8.1f ms  (%s)' % (fast * 1000, answers[1]))
    print('ratio: %.0f times less CPU with the limit' % (slow / fast if fast else float('inf')))


if __name__ == '__main__':
    main()
