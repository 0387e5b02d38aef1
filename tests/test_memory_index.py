"""The memory store's index of sessions by user: two users whose keys share an index entry
(the same 30 bits of their hash) are still told apart."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from helpers import ROOT

SCRIPT = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import bottle, canister, webtest
    from canister import session

    seen = {}
    for number in range(400000):   # with a fixed hash seed: two names whose index entries coincide
        name = 'user%d' % number
        other = seen.setdefault(hash(name) & 0x3FFFFFFF, name)
        if other != name:
            break
    else:
        raise SystemExit('no two names share an entry')

    app = bottle.Bottle()
    plugin = canister.Canister(log_path='stderr', log_level='WARNING')
    app.install(plugin)

    @app.get('/login/<user>')
    def login(user):
        session.user = user
        return 'ok'

    @app.get('/me')
    def me():
        return str(session.user)

    browsers = {user: webtest.TestApp(app) for user in (other, name)}
    for user, browser in browsers.items():
        browser.get('/login/' + user)
        browser.get('/login/' + user)  # (unchanged: one session each)
    print(len(plugin.sessions_of(other)), len(plugin.sessions_of(name)))
    print(plugin.end_sessions(other))
    print(browsers[other].get('/me').text, browsers[name].get('/me').text == name)
    print(len(plugin.sessions_of(other)), len(plugin.sessions_of(name)))
''')


def test_two_users_sharing_an_index_entry_are_listed_and_ended_apart(tmp_path):
    script = tmp_path / 'shared_entry.py'
    script.write_text(SCRIPT, encoding='utf-8')
    result = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONHASHSEED='1'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['1 1', '1', 'None True', '0 1']
