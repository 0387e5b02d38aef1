"""A newcomer runs the README's login form as written: a wrong password answers the app's own 401, which carries
no WWW-Authenticate, where "Every 401 carries a challenge" had promised one; the README now says whose 401s carry
it, and its one line that sends the challenge from the form works as written, on a real server."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.parse

import bottle

import canister
from canister import session
from helpers import ROOT, bearer, read_log, readme_section, signed_token
from servers import Client
from test_readme import readme_block_of_section

ABORT = "bottle.abort(401, 'wrong user name or password')"


def login_form_app(make_app, refusal=ABORT):
    """The README's login form and its 401 handler, as written (its refusal replaced by ``refusal``), beside a
    page that needs a login."""
    app = make_app()
    namespace = {'app': app, 'bottle': bottle, 'canister': canister, 'session': session}
    for index in (1, 2):  # (block 0 of the section is the guards')
        block = readme_block_of_section('Authentication', index)
        assert index == 2 or ABORT in block
        exec(compile(block.replace(ABORT, refusal), 'README.md', 'exec'), namespace)

    @app.get('/account')
    @canister.require_user
    def account():
        return 'Hello %s' % session.user

    return app


def wrong_password(browser):
    """A script's form post with a wrong password (no text/html in Accept: the 401 handler leaves it its 401)."""
    return browser.request('POST', '/login', urllib.parse.urlencode({'username': 'alice', 'password': 'wrong'}),
                           {'Content-Type': 'application/x-www-form-urlencoded', 'Accept': '*/*'})


def readme_httperror_line():
    """The line the README gives for a form's 401 that carries a challenge."""
    found = re.findall(r'`(raise bottle\.HTTPError\(401, [^`]*\))`', readme_section('## Authentication'))
    assert len(found) == 1, found
    return found[0]


def test_the_readme_says_the_login_forms_own_401_carries_no_challenge_as_a_real_server_shows(make_app, serve):
    browser = Client(serve(login_form_app(make_app)))
    refused = wrong_password(browser)
    assert (refused.status, refused.text) == (401, 'wrong user name or password')
    assert refused.headers.get_all('WWW-Authenticate') is None
    guarded = browser.get('/account', headers={'Accept': '*/*'})  # canister's own 401, on the same app
    assert (guarded.status, guarded.headers.get_all('WWW-Authenticate')) == (401, ['Session realm="canister"'])
    section = ' '.join(readme_section('## Authentication').split())
    assert ('**Every 401 of canister\'s carries a challenge** (a refused `Authorization` header, a guard\'s)'
            in section)
    assert ("the `%s` of the login form below carries no `WWW-Authenticate`, and canister adds none" % ABORT
            in section)


def test_the_readmes_line_for_a_forms_401_with_a_challenge_sends_it_as_written(make_app, serve):
    line = readme_httperror_line()
    assert line.startswith('raise ')
    browser = Client(serve(login_form_app(make_app, refusal=line)))
    refused = wrong_password(browser)
    assert (refused.status, refused.text) == (401, 'wrong user name or password')
    assert refused.headers.get_all('WWW-Authenticate') == ['Session realm="canister"']
    browser.request('POST', '/login', urllib.parse.urlencode({'username': 'alice', 'password': 'my-secret'}),
                    {'Content-Type': 'application/x-www-form-urlencoded'})
    assert browser.get('/account').text == 'Hello alice'  # the right password still logs in


#: The cookies a client of canister 1.x comes back with after the upgrade: its id signed by Bottle with the
#: process's secret (``response.set_cookie('session_id', sid, secret=...)`` on bottle 0.12), and the bare id.
COOKIES_OF_1X = ['session_id="!utVOm2qQaFtotthKRiV2xA==?gAWVKwAAAAAAAACMCnNlc3Npb25faWSUjBhWSjh6cTVHcTU1Y1ZzdEFKZzR6'
                 'Y0MyRTGUhpQu"', 'session_id=VJ8zq5Gq55cVstAJg4zcC2E1']


def test_a_clients_cookie_of_canister_1x_shows_no_id_in_its_request_line_as_the_readme_says(make_app, serve, log_dir):
    app = make_app()
    app.get('/', callback=lambda: 'counter %s' % session.data.setdefault('counter', 0))
    origin = serve(app)
    unknown = 'VJ8zq5' + 'x' * 37  # well-formed (43 URL-safe characters), in no store: its start is shown
    longest, too_long = 'LoNg28' + 'y' * 122, 'TooLng' + 'z' * 123  # 128 URL-safe characters are well-formed, 129 not
    for cookie in COOKIES_OF_1X + ['session_id=' + unknown, 'session_id=' + longest, 'session_id=' + too_long]:
        answer = Client(origin).get('/', headers={'Cookie': cookie})
        assert (answer.status, answer.text) == (200, 'counter 0')  # not adopted: a new session
    request_lines = [line[line.index('['):] for line in read_log(log_dir).splitlines()
                     if line.endswith('GET %s/' % origin)]
    assert request_lines == (['[127.0.0.1-...]   GET %s/' % origin] * 2 + ['[127.0.0.1-VJ8zq5]   GET %s/' % origin]
                             + ['[127.0.0.1-LoNg28]   GET %s/' % origin, '[127.0.0.1-...]   GET %s/' % origin])
    logging_section = ' '.join(readme_section('## Request logging').split())
    assert ("or `...` when it sent none, or none that is well-formed (43 to 128 URL-safe characters; canister draws "
            "43: a cookie of canister 1.x, signed or not, shows `...` too)") in logging_section
    upgrading = ' '.join(readme_section('## Upgrading from canister 1.x').split())
    assert ("A request without a cookie still starts with `-...`, and so does one that sends a cookie of 1.x"
            in upgrading)


def test_keys_whose_reader_leaves_after_the_whole_list_is_in_the_pipe_ends_0_as_the_readme_says(tmp_path):
    """`python -m canister keys | head -3`, with head a moment late: the list (some 9 KB) is in the pipe whole
    before head reads its 3 lines and leaves, so nothing failed and the status is 0 (a reader gone before the
    write is test_claims_27's status 1)."""
    read, write = os.pipe()
    try:
        result = subprocess.run([sys.executable, '-m', 'canister', 'keys'], stdout=write, stderr=subprocess.PIPE,
                                encoding='utf-8', cwd=str(tmp_path), timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        os.close(write)
        with os.fdopen(read, encoding='utf-8') as reader:
            first_lines = [reader.readline() for _ in range(3)]  # then head leaves, the rest unread
    finally:
        for fd in (read, write):
            try:
                os.close(fd)
            except OSError:
                pass
    assert (result.returncode, result.stderr) == (0, '')
    assert first_lines[0].startswith('log_path ')
    passage = ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split())  # (its section holds '# ' lines)
    assert ("One whose reader stops reading before the command has written everything (`python -m canister keys | "
            "head -3`, when `head` is gone before the last of the list) ends with status 1 and says nothing; a pipe "
            "holds what is written until it is read (64 KB on Linux), so a reader that leaves only once the whole "
            "result is in the pipe (the same `head -3`, a moment late) leaves it 0: nothing failed.") in passage


SECRET = 'a-newcomers-own-secret-of-more-than-32-bytes-Zq8Lw3Nv'


def test_a_token_without_sub_logs_in_with_its_claims_and_its_login_line_shows_a_question_mark(make_app, serve,
                                                                                                log_dir):
    """A client-credentials token (no sub, as some providers issue for a machine): it logs in, its claims are the
    user, and the login line, which names a token's user by its sub, shows ? as the README now says."""
    app = make_app(config={'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'clear'})
    app.get('/me', callback=lambda: {'user': session.user})
    answer = Client(serve(app)).get('/me', headers=bearer(signed_token(SECRET, sub=None, client_id='reports')))
    assert answer.status == 200 and answer.json()['user']['client_id'] == 'reports'
    assert 'INFO     [127.0.0.1-...]   Logged in as: ?\n' in read_log(log_dir)
    section = ' '.join(readme_section('## Authentication').split())
    assert ("one INFO line says `Logged in as: alice` (the user name, or the token's `sub`: `Logged in as: ?` for a "
            "token without one, whose claims are still the user)") in section
