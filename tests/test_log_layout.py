"""The text log layout is canister 1.x's, byte for byte, and so is the shape of the install banner."""
from __future__ import annotations

import re
import threading

import canister
from helpers import LogCollector, client, read_log

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
    assert 'canister.session_cookie        = sid' in messages
    assert 'canister.log_level             = INFO' in messages
    assert messages[-1] == '-' * 42
