"""A log file shared by processes, one of them killed with SIGKILL in the middle of writing a line.

The kernel may stop a write to a file at any page boundary when the writer gets SIGKILL (a gunicorn
worker past its timeout, the OOM killer), so part of a line is left at the end of the file. The
lines the other processes write next must not be glued onto it: each starts on a line of its own.
Real processes and a real file; what is asserted is the file's text.
"""
import os
import re
import signal
import subprocess
import sys
import time

import bottle

import canister
from helpers import read_log

#: Lines this long are written in a good part of the time a process takes to log them (a kill often cuts one).
LONG = 200_000
#: A line is taken as cut once the file went a second without changing, at a look (once a second): this process
#: looks when it logs before the kill, and again at its first line this long after the kill.
NOTICED = 1.2

#: The start of a log line (its date and time) anywhere but at the start of a line.
GLUED = re.compile(r'(?<=.)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ')

WRITER = '''
import sys, bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[1], log_level='INFO'))
while True:
    app.log.info('x' * %d)
''' % LONG


#: Processes that log long lines at once, and for how long (seconds): long enough for each to look at the file's
#: end a few times (once a second) while the others' lines are being written.
WRITERS = 6
SECONDS = 4

BUSY_WRITER = '''
import sys, time, bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[1], log_level='INFO'))
end = time.monotonic() + %d
number = 0
while time.monotonic() < end:
    number += 1
    app.log.info('writer %%s line %%d %%s' %% (sys.argv[2], number, 'x' * %d))
''' % (SECONDS, LONG)

#: A whole line of BUSY_WRITER: its date and time, then its message with all of its x's.  (``.*?``: the message
#: comes soon after the time, where ``.*`` would first run to the line's end and back, on a gigabyte of lines.)
START = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ')
WHOLE = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} .*? writer \d+ line \d+ x{%d}' % LONG)


def log_size(log_dir):
    """The bytes in the log files of ``log_dir``."""
    return sum(path.stat().st_size for path in log_dir.glob('log.*')) if log_dir.exists() else 0


def kill_a_writer_mid_line(log_dir):
    """Run a process logging long lines to ``log_dir`` and SIGKILL it until it leaves a line cut short."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _ in range(100):
        before = log_size(log_dir)
        writer = subprocess.Popen([sys.executable, '-c', WRITER, str(log_dir)], env=environment)
        deadline = time.monotonic() + 30
        while log_size(log_dir) < before + 3 * LONG and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        if not read_log(log_dir).endswith('\n'):
            return
    raise AssertionError('no kill left a line cut short in 100 tries')


def logging_app(log_dir, uninstall_at_end):
    """An app of this process logging to ``log_dir`` (its plugin uninstalled after the test)."""
    app = uninstall_at_end(bottle.Bottle())
    app.install(canister.Canister(log_path=str(log_dir), log_level='INFO'))
    return app


def glued_lines(log_dir):
    """The log's lines that hold a second line's start (its date and time) after their own: the ends of both."""
    return [(line[:match.start()][-20:], line[match.start():][:60])
            for line in read_log(log_dir).splitlines() for match in [GLUED.search(line)] if match]


def test_a_process_that_logs_after_another_was_killed_mid_line_starts_its_line_on_a_line_of_its_own(log_dir, uninstall_at_end):
    app = logging_app(log_dir, uninstall_at_end)
    app.log.info('before the kill')
    kill_a_writer_mid_line(log_dir)
    time.sleep(NOTICED)
    app.log.info('after the kill')
    assert glued_lines(log_dir) == []
    assert read_log(log_dir).endswith('after the kill\n')


def test_a_process_started_after_another_was_killed_mid_line_starts_its_first_line_on_a_line_of_its_own(
        log_dir, uninstall_at_end):
    kill_a_writer_mid_line(log_dir)
    app = logging_app(log_dir, uninstall_at_end)
    app.log.info('a new worker')
    assert glued_lines(log_dir) == []
    assert read_log(log_dir).endswith('a new worker\n')


def test_processes_logging_long_lines_at_once_leave_no_empty_line_and_no_line_broken_in_two(log_dir):
    # Another process's line may be in the file only in part at the moment one looks at its end (the kernel makes
    # the pages of a write visible one after the other): that is no line cut short, and must not be ended.
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    writers = [subprocess.Popen([sys.executable, '-c', BUSY_WRITER, str(log_dir), str(number)], env=environment)
               for number in range(WRITERS)]
    assert [writer.wait(SECONDS + 60) for writer in writers] == [0] * WRITERS
    text = read_log(log_dir)
    for path in log_dir.glob('log.*'):  # (a gigabyte or more: deleted before it all goes to the disk)
        path.unlink()
    assert text.endswith('\n') and text.count('\n') >= 2 * WRITERS
    # (Each process writes a few lines of its own at install: they start with a date as every line does.)
    # Each line is looked at where it is in the text, the text never copied into lines (a gigabyte more).
    bad = []
    start = number = 0
    while start < len(text):
        end = text.index('\n', start)
        if not (WHOLE.fullmatch(text, start, end) if text.find(' writer ', start, end) >= 0
                else START.match(text, start, end)):
            bad.append((number, text[start:start + 60], text[max(start, end - 20):end], end - start))
        start, number = end + 1, number + 1
    assert bad == [], '%d of %d lines are empty or not whole' % (len(bad), number)
