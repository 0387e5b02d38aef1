"""Session records without the C JSON accelerator (PyPy, some embedded builds)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import ROOT

SCRIPT = textwrap.dedent('''
    import json, json.encoder, json.scanner, sys
    json.encoder.c_make_encoder = None   # as on an interpreter without the _json module
    json.scanner.c_make_scanner = None
    sys.path.insert(0, sys.argv[1])
    import bottle, canister, webtest
    from canister import session

    app = bottle.Bottle()
    app.install(canister.Canister(log_path='stderr', log_level='WARNING'))

    @app.get('/')
    def count():
        session.data['counter'] = session.data.get('counter', -1) + 1
        session.data['text'] = 'caf\\u00e9'
        return str(session.data['counter'])

    @app.get('/login')
    def login():
        session.user = {'sub': 'alice', 'roles': ['admin']}
        return 'ok'

    @app.get('/show')
    def show():
        return json.dumps([session.user, session.data])

    web = webtest.TestApp(app)
    print(' '.join(web.get('/').text for _ in range(3)))
    web.get('/login')
    print(web.get('/show').text)
    print(len(app.plugins[-1].sessions_of('alice')))
''')


def test_sessions_are_stored_and_read_without_the_c_json_encoder(tmp_path):
    script = tmp_path / 'no_c_json.py'
    script.write_text(SCRIPT, encoding='utf-8')
    result = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '0 1 2'
    assert lines[1] == '[{"sub": "alice", "roles": ["admin"]}, {"counter": 2, "text": "caf\\u00e9"}]'
    assert lines[2] == '1'
