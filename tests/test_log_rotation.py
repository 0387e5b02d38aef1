"""The day's log file rotated away under a running server (logrotate's ``create`` and ``nocreate`` modes, and
``copytruncate``), on real servers.

tests/apps/session_app.py on two gunicorn workers logs to a directory.  The test does what logrotate's
``create`` mode does, renaming ``log.<today>`` to ``log.<today>.1`` and putting a new entry in its place,
but one the workers cannot open as their file (a directory here, since the tests run as root, who may
open any file: logrotate running as root with a wrong ``create`` owner gives the app's user the same refusal).
"""
import os
import re
import stat
import time

import pytest

from helpers import noon_shift, readme_section, told
from servers import AppServer, Client, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left_running')


@pytest.fixture
def logging_server(tmp_path):
    """(server, log dir, its day's file): session_app on two gunicorn workers, logging to tmp_path/logs; the day's
    file is the one the workers write to, their clock put at noon of today (a run across midnight UTC would
    otherwise have its later pings in the next day's file)."""
    logs = tmp_path / 'logs'
    shift, day = noon_shift()
    app = AppServer('session_app:app', server='gunicorn', workers=2,
                    env={'CANISTER_LOG_PATH': str(logs), 'CANISTER_CLOCK_SHIFT': repr(shift)})
    app.start()
    current = logs / ('log.' + day)
    assert list(logs.glob('log.*')) == [current]
    yield app, logs, current
    app.cleanup()


def pings(web, tag, count, seconds):
    """``count`` requests ``/ping?tag=<tag>-<n>`` spread over ``seconds``."""
    for number in range(count):
        assert web.get('/ping?tag=%s-%d' % (tag, number)).status == 200
        time.sleep(seconds / count)


def test_lines_go_on_to_the_rotated_file_while_the_new_one_cannot_be_opened(logging_server):
    app, logs, current = logging_server
    web = Client(app.url)
    current.rename(logs / (current.name + '.1'))
    current.mkdir()                                   # the new file, which the workers cannot open
    pings(web, 'during', 30, 2.5)                     # the workers look again each second
    rotated = (logs / (current.name + '.1')).read_text()
    assert [n for n in range(30) if 'tag=during-%d\n' % n not in rotated] == []
    said = told(app.output())
    assert 1 <= len(said) <= 2, said                 # once per worker that logged meanwhile
    for line in said:
        assert re.fullmatch(r"canister: cannot open %s: Is a directory; lines go on to the file open before "
                            r"\(%s, or the name it was renamed to\) until it can" % (current, re.escape(current.name)), line)


def test_lines_go_to_the_new_file_again_once_it_can_be_opened_and_stderr_says_so(logging_server):
    app, logs, current = logging_server
    web = Client(app.url)
    current.rename(logs / (current.name + '.1'))
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
    app, logs, current = logging_server
    web = Client(app.url)
    pings(web, 'before', 5, 0.1)
    (logs / (current.name + '.1')).write_bytes(current.read_bytes())   # copytruncate: copy, then truncate
    with open(current, 'r+b') as truncated:
        truncated.truncate(0)
    pings(web, 'after', 5, 0.1)
    text = current.read_bytes()
    assert b'\0' not in text and text.startswith(b'20')   # the next line starts at the file's new start
    assert [n for n in range(5) if b'tag=after-%d\n' % n not in text] == []


def test_a_rotation_that_renames_and_makes_no_file_loses_no_line_and_canister_makes_the_new_one_0640(logging_server):
    app, logs, current = logging_server
    web = Client(app.url)
    rotated = logs / (current.name + '.1')
    current.rename(rotated)                           # logrotate's nocreate: the rename, and nothing in its place
    pings(web, 'during', 30, 2.5)                     # the workers look again each second
    made = current.stat()
    assert stat.S_ISREG(made.st_mode) and stat.S_IMODE(made.st_mode) == 0o640 and made.st_uid == os.getuid()
    both = rotated.read_text() + current.read_text()
    assert [n for n in range(30) if both.count('tag=during-%d\n' % n) != 1] == []
    assert 'tag=during-29\n' in current.read_text()


def test_a_tool_that_replaces_the_file_canister_made_after_a_rename_takes_its_lines_and_later_ones_go_to_its_file(
        logging_server):
    """``mv`` then, a moment later, ``install -m 640 /dev/null``: what logrotate's ``create`` does when canister's
    first line after the rename came before it."""
    app, logs, current = logging_server
    web = Client(app.url)
    current.rename(logs / (current.name + '.1'))
    pings(web, 'between', 20, 1.5)
    lost = re.findall(r'tag=(between-\d+)\n', current.read_text())
    assert lost                                       # canister made the file again, and wrote to it
    made = logs / 'made-by-the-tool'
    made.write_text('')
    made.chmod(0o640)
    os.replace(made, current)                         # the tool's file in its place: canister's is gone
    pings(web, 'after', 20, 2.5)
    both = (logs / (current.name + '.1')).read_text() + current.read_text()
    assert [tag for tag in lost if 'tag=%s\n' % tag in both] == []
    assert 'tag=after-19\n' in current.read_text()


def test_the_readme_says_to_rotate_by_renaming_with_nocreate_since_canister_makes_the_file_itself():
    section = readme_section('## Request logging')
    rotating = section.split('*Rotating by renaming.*', 1)[1].split('\n', 1)[0]
    assert 'canister makes it again itself, at its first line a second or less after the rename' in rotating
    assert '(0640, see Modes above)' in rotating and 'with logrotate, `nocreate`' in rotating
    assert 'deletes the lines canister wrote there in between' in rotating
