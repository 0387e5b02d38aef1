"""Request logging under ``app.run()`` with ``log_path = stderr``: Bottle's development server (the stdlib's
wsgiref) writes its own access line to stderr for every request, beside canister's, unless run with
``quiet=True`` (README, Request logging).  A real ``app.run`` in a subprocess, on 127.0.0.1, real HTTP."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from typing import List, Tuple

import pytest

from helpers import ROOT
from servers import Client, served_on_a_free_port, wait_until

README = (ROOT / 'README.md').read_text(encoding='utf-8')

#: An app with its log on stderr, served by its own ``app.run()`` (quiet or not, as argv[2] says).
DEV_APP = """import sys
import bottle
import canister

app = bottle.Bottle()
app.install(canister.Canister(log_path='stderr'))

@app.get('/<name>')
def page(name):
    return 'ok'

app.run(host='127.0.0.1', port=int(sys.argv[1]), quiet=sys.argv[2] == 'quiet')
"""
#: wsgiref's access line: ``127.0.0.1 - - [05/Dec/2026 14:40:22] "GET /probe HTTP/1.1" 200 2``.
ACCESS_LINE = re.compile(r'127\.0\.0\.1 - - \[[^]]+\] "GET /probe HTTP/1\.1" 200 2')
#: The message of one of canister's text lines at INFO.
CANISTER_LINE = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO     \[127\.0\.0\.1-\.\.\.\]   (.*)')


def stderr_of_one_request(tmp_path: pathlib.Path, quiet: bool) -> Tuple[List[str], List[str]]:
    """The lines on the app's stderr from its request line of one GET /probe to that of the next request
    (the server serves one request at a time, so the first is done, access line and all, when the next begins),
    and all of them."""
    (tmp_path / 'dev_app.py').write_text(DEV_APP, encoding='utf-8')
    def stderr() -> List[str]:
        return (tmp_path / 'stderr').read_text(encoding='utf-8').splitlines()

    def start(port: int) -> subprocess.Popen:
        with open(tmp_path / 'stderr', 'wb') as errors:
            return subprocess.Popen([sys.executable, 'dev_app.py', str(port), 'quiet' if quiet else 'loud'],
                                    cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=errors)
    server, port = served_on_a_free_port(start, lambda port: Client('http://127.0.0.1:%d' % port).get('/probe').status
                                         == 200, [tmp_path / 'stderr'], what='app.run to answer')
    origin = 'http://127.0.0.1:%d' % port
    try:
        assert Client(origin).get('/next').status == 200
        wait_until(lambda: any(line.endswith('GET %s/next' % origin) for line in stderr()), 10, what='/next')
    finally:
        server.terminate()
        server.wait(30)
    lines = stderr()
    first = [index for index, line in enumerate(lines) if line.endswith('GET %s/probe' % origin)]
    last = [index for index, line in enumerate(lines) if line.endswith('GET %s/next' % origin)]
    assert len(first) == len(last) == 1
    return [re.sub(CANISTER_LINE, r'canister: \1', line) for line in lines[first[0]:last[0]]], lines


@pytest.mark.parametrize('quiet', [True, False], ids=['quiet', 'not-quiet'])
def test_under_app_run_the_servers_access_line_joins_canisters_on_stderr_unless_quiet(tmp_path, quiet):
    assert ("With `log_path = stderr` under `app.run()` (Bottle's development server, the stdlib's wsgiref), that "
            "server writes an access line of its own to stderr for every request") in README
    assert "run it as `app.run(quiet=True)`, and canister's lines are the only ones there" in README
    lines, everything = stderr_of_one_request(tmp_path, quiet)
    assert any(line.startswith('Bottle v') for line in everything) is not quiet   # Bottle's start-up lines
    assert lines[0].startswith('canister: GET http://127.0.0.1:') and lines[0].endswith('/probe')
    assert re.fullmatch(r'canister: Response: 200 \(\d+ms\)', lines[1])
    if quiet:
        assert len(lines) == 2
    else:
        assert len(lines) == 3 and ACCESS_LINE.fullmatch(lines[2])
