"""The text log layout is canister 1.x's, byte for byte, and so is the shape of the install banner."""
from __future__ import annotations

import itertools
import re
import threading

import pytest

import canister
from helpers import ROOT, BANNER_WIDTH, LogCollector, banner_setting, client, cookieless_client, read_log, with_cookie

#: The format string of canister 1.5.2's log handler.
FORMAT_1X = '%(asctime)s %(levelname)-8s [%(threadName)s]   %(message)s'


def test_every_text_line_is_the_one_the_1x_format_string_gives(make_app, log_dir):
    app = make_app(log_slow='0', catchall=True)
    # Every record formatted with the 1.x format string, as canister 1.5.2 did; its first line only, since
    # canister indents a traceback's lines by two spaces (1.x did not).
    collect = LogCollector(FORMAT_1X)
    app.log.addHandler(collect)  # a second handler sends canister's own lines through the logger too
    try:
        @app.get('/')
        def index():
            canister.session.data['n'] = 1
            app.log.warning('Hey %s!', 'there')
            app.log.debug('not written at INFO')
            return 'ok'

        @app.get('/boom')
        def boom():
            raise ValueError('bad')

        browser = client(app)
        worker = threading.Thread(target=lambda: browser.get('/'), name='Worker-7')
        worker.start()
        worker.join()
        browser.get('/boom', status=500, expect_errors=True)
    finally:
        app.log.removeHandler(collect)
    written = [line for line in read_log(log_dir).splitlines() if not line.startswith('  ')]
    # The install banner was written before the collector was attached.
    assert written[-len(collect.lines):] == collect.lines
    assert len(collect.lines) == 6
    text = '\n'.join(collect.lines)
    assert re.search(r',\d{3} WARNING  \[127\.0\.0\.1-[^\]]*\]   Hey there!$', text, re.M)
    assert re.search(r',\d{3} INFO     \[127\.0\.0\.1-\.\.\.\]   GET http://localhost:80/$', text, re.M)
    assert re.search(r',\d{3} ERROR    \[127\.0\.0\.1-[^\]]*\]   ', text, re.M)


def test_the_banner_keeps_the_shape_of_1x(make_app, log_dir):
    make_app(session_cookie='sid')
    messages = [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines()]
    assert messages[:3] == ['============', 'Initializing', '============']
    assert messages[3].startswith('python version: ')
    assert messages[4].startswith('bottle version: ')
    assert banner_setting('session_cookie', 'sid') in messages
    assert banner_setting('log_level', 'INFO') in messages
    assert messages[-1] == '-' * 42


def test_every_setting_of_the_banner_has_its_equals_sign_in_one_column_after_the_longest_key(make_app, log_dir):
    # (the keys were padded to 30 characters, as 1.x's: the four longer ones, content_security_policy, ... pushed
    # their = out of the column)
    make_app()
    settings = [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines() if ']   canister.' in line]
    assert len(settings) > 40
    assert {setting.index(' = ') for setting in settings} == {BANNER_WIDTH}
    assert max(len(setting.split(' ', 1)[0]) for setting in settings) == BANNER_WIDTH
    assert 'canister.content_security_policy = ' in settings
    assert banner_setting('session_cookie_max_age', 0) in settings
    banner = (ROOT / 'README.md').read_text(encoding='utf-8').split('- **Install banner.** ', 1)[1].split('\n', 1)[0]
    assert "the keys padded to the longest one's length (%d characters, `canister.content_security_policy`)" % (
        BANNER_WIDTH) in banner


def test_five_of_the_banners_keys_are_longer_than_the_30_characters_1x_padded_to(make_app, log_dir):
    make_app()
    keys = [line.split(']   ', 1)[1].split(' ', 1)[0] for line in read_log(log_dir).splitlines()
            if ']   canister.' in line and ' = ' in line]
    assert len([key for key in keys if len(key) > 30]) == 5
    banner = (ROOT / 'README.md').read_text(encoding='utf-8').split('- **Install banner.** ', 1)[1].split('\n', 1)[0]
    assert "(1.x padded to 30, which five of canister's keys pass)" in banner


#: The README's bullet on thread names, with its sub-items (the lines indented below it), joined by spaces.
THREAD_NAMES = ' '.join(itertools.takewhile(
    lambda line: not line.startswith('- '),
    (ROOT / 'README.md').read_text(encoding='utf-8').split('- **Thread names.** ', 1)[1].split('\n')))

#: The ``[...]`` of a request's lines: the client's address and what it shows of the session id.
REQUEST_THREAD = re.compile(r'\[127\.0\.0\.1-([^\]]*)\]   (.*)$', re.M)


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')  # (the store is down from the start)
def test_a_503_on_a_first_request_logs_six_characters_of_an_id_never_stored_after_its_request_line(make_app, log_dir):
    assert 'its request line with `...` and the rest with the new id, even when the store then fails' in THREAD_NAMES
    assert 'never stored and never sent (the answer sets no cookie)' in THREAD_NAMES
    app = make_app(session_store='redis://127.0.0.1:1/0')

    @app.get('/write')
    def write():
        canister.session.data['n'] = 1
        return 'written'

    answer = cookieless_client(app).get('/write', expect_errors=True)
    assert answer.status_int == 503
    assert 'Set-Cookie' not in answer.headers
    lines = REQUEST_THREAD.findall(read_log(log_dir))
    assert lines[0] == ('...', 'GET http://localhost:80/write')
    assert lines[-1][1].startswith('Response: 503 ')
    assert len({shown for shown, _ in lines[1:]}) == 1 and re.fullmatch(r'[A-Za-z0-9_-]{6}', lines[1][0]), lines


def test_a_cookie_of_a_session_the_store_does_not_have_names_the_request_lines_all_the_same(make_app, log_dir):
    assert 'the one the request\'s cookie sent (whether or not the store still has that session)' in THREAD_NAMES
    app = make_app()
    app.route('/', callback=lambda: 'hello')
    cookieless_client(app).get('/', headers=with_cookie('Gone42' + 'x' * 37))
    lines = REQUEST_THREAD.findall(read_log(log_dir))
    assert [shown for shown, _ in lines] == ['Gone42', 'Gone42']
    assert lines[0][1] == 'GET http://localhost:80/' and lines[1][1].startswith('Response: 200 ')


def test_a_login_names_the_lines_after_it_by_the_new_id_it_gives_the_session(make_app, log_dir):
    assert 'a login, which gives the session a new id), its lines carry the new one' in THREAD_NAMES
    app = make_app()

    @app.get('/start')
    def start():
        canister.session.data['cart'] = ['tea']
        return canister.session.sid

    @app.get('/login')
    def login():
        app.log.info('before the login')
        canister.session.user = 'alice'
        app.log.info('after the login')
        return canister.session.sid

    web = cookieless_client(app)
    old = web.get('/start').text
    new = web.get('/login', headers=with_cookie(old)).text
    assert new != old
    lines = REQUEST_THREAD.findall(read_log(log_dir).split('GET http://localhost:80/login', 1)[1])
    assert [shown for shown, _ in lines] == [old[:6], new[:6], new[:6]], lines
    assert lines[0][1] == 'before the login' and lines[1][1] == 'after the login'


def test_reading_session_sid_names_the_lines_after_it_by_the_id_it_draws(make_app, log_dir):
    assert 'reading `session.sid`' in THREAD_NAMES
    app = make_app()

    @app.get('/')
    def index():
        app.log.info('before the id is read')
        sid = canister.session.sid
        app.log.info('after the id is read')
        return sid

    sid = cookieless_client(app).get('/').text
    lines = REQUEST_THREAD.findall(read_log(log_dir))
    assert [shown for shown, _ in lines] == ['...', '...', sid[:6], sid[:6]], lines


def test_text_lines_keep_1x_layout_without_the_request_id_which_a_handler_can_log_itself(make_app, log_dir):
    """The text layout has no place for the request id: the README says to use JSON lines, or to log it."""
    app = make_app()

    @app.get('/')
    def index():
        app.log.info('request id %s', canister.request_id())
        return 'ok'

    answer = client(app).get('/', headers={'X-Request-ID': 'trace-4f2a'})
    assert answer.headers['X-Request-ID'] == 'trace-4f2a'
    lines = [line for line in read_log(log_dir).splitlines() if '[127.0.0.1-' in line]
    assert len(lines) == 3 and [line for line in lines if 'trace-4f2a' in line] == [lines[1]]
    assert lines[1].endswith(']   request id trace-4f2a')
