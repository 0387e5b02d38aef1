"""The day's log file rotated away under a running server (logrotate's ``create`` mode), on real servers.

tests/apps/session_app.py on two gunicorn workers logs to a directory.  The test does what logrotate's
``create`` mode does, renaming ``log.<today>`` to ``log.<today>.1`` and putting a new entry in its place,
but one the workers cannot open as their file (a directory here, since the tests run as root, who may
open any file: logrotate running as root with a wrong ``create`` owner gives the app's user the same refusal).
"""
import re
import time

import pytest

from helpers import today, told
from servers import AppServer, Client, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left_running')


@pytest.fixture
def logging_server(tmp_path):
    """(server, log dir): session_app on two gunicorn workers, logging to tmp_path/logs."""
    logs = tmp_path / 'logs'
    app = AppServer('session_app:app', server='gunicorn', workers=2, env={'CANISTER_LOG_PATH': str(logs)})
    app.start()
    yield app, logs
    app.cleanup()


def pings(web, tag, count, seconds):
    """``count`` requests ``/ping?tag=<tag>-<n>`` spread over ``seconds``."""
    for number in range(count):
        assert web.get('/ping?tag=%s-%d' % (tag, number)).status == 200
        time.sleep(seconds / count)


def test_lines_go_on_to_the_rotated_file_while_the_new_one_cannot_be_opened(logging_server):
    app, logs = logging_server
    web = Client(app.url)
    current = logs / ('log.' + today())
    current.rename(logs / ('log.%s.1' % today()))
    current.mkdir()                                   # the new file, which the workers cannot open
    pings(web, 'during', 30, 2.5)                     # the workers look again each second
    rotated = (logs / ('log.%s.1' % today())).read_text()
    assert [n for n in range(30) if 'tag=during-%d\n' % n not in rotated] == []
    said = told(app.output())
    assert 1 <= len(said) <= 2, said                 # once per worker that logged meanwhile
    for line in said:
        assert re.fullmatch(r"canister: cannot open %s: Is a directory; lines go on to the file open before "
                            r"\(log\.%s, or the name it was renamed to\) until it can" % (current, today()), line)


def test_lines_go_to_the_new_file_again_once_it_can_be_opened_and_stderr_says_so(logging_server):
    app, logs = logging_server
    web = Client(app.url)
    current = logs / ('log.' + today())
    current.rename(logs / ('log.%s.1' % today()))
    current.mkdir()
    pings(web, 'during', 10, 1.2)
    current.rmdir()                                   # room again: the next look opens a new file

    def said():
        return told(app.output())

    def back():  # (each worker that was told says so at its next line: go on until both have had one)
        pings(web, 'after', 4, 0.2)
        return (current.is_file() and current.read_text().count('tag=after-') >= 4
                and said().count('canister: logging to %s works again' % logs) == sum('cannot open' in line
                                                                                   for line in said()))
    wait_until(back, 15, what='lines in the new file, and each worker that was told saying it works again')
    assert 1 <= sum('cannot open' in line for line in said()) <= 2


def test_logrotate_copytruncate_leaves_no_hole_and_loses_no_later_line(logging_server):
    app, logs = logging_server
    web = Client(app.url)
    pings(web, 'before', 5, 0.1)
    current = logs / ('log.' + today())
    (logs / ('log.%s.1' % today())).write_bytes(current.read_bytes())   # copytruncate: copy, then truncate
    with open(current, 'r+b') as truncated:
        truncated.truncate(0)
    pings(web, 'after', 5, 0.1)
    text = current.read_bytes()
    assert b'\0' not in text and text.startswith(b'20')   # the next line starts at the file's new start
    assert [n for n in range(5) if b'tag=after-%d\n' % n not in text] == []
