"""Request logging: files, formats, the banner, levels, client identity, redaction and failures."""
from __future__ import annotations

import base64
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings

import bottle
import pytest

import canister
from helpers import (ROOT, at_once, banner_setting, bearer, client, days_since, directory_of_nobody, fill_file_system,
                     install_warned, nobody_or_me, read_log, run_script, served_once, signed_token, today, told)
from servers import Client, wait_until

STAMP = r'\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}'
#: A JSON line's time: RFC 3339, local time with its offset from UTC (``2026-12-06T23:39:23.266-05:00``).
ISO_STAMP = r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}'
LINE = re.compile(r'^(%s) (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\[([^\]]*)\]   (.*)$' % STAMP)


def log_lines(log: str) -> list:
    """The lines of a text log that start like a log line (timestamp, level, thread)."""
    return [line for line in log.splitlines() if LINE.match(line)]


def messages(log: str) -> list:
    return [LINE.match(line).group(4) for line in log_lines(log)]


def request_lines(log: str) -> list:
    """The log lines after the install banner (and its warnings)."""
    lines = log.splitlines()
    rules = [index for index, line in enumerate(lines) if line.endswith(']   ' + '-' * 42)]
    return lines[rules[-1] + 1:] if rules else lines


def thread_app(make_app, **overrides):
    """An app whose /start creates a session and whose /thread shows the thread's name."""
    app = make_app(**overrides)

    @app.get('/start')
    def start():
        canister.session.data['n'] = 1
        return canister.session.sid

    @app.get('/thread')
    def thread_name():
        return threading.current_thread().name

    return app


# -- files -------------------------------------------------------------------------

def test_by_default_logs_go_to_a_logs_directory_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = bottle.Bottle()
    app.config['catchall'] = False
    app.install(canister.Canister())
    try:
        app.route('/', callback=lambda: 'ok')
        app.log.debug('not at the default level')
        client(app).get('/')
        log = read_log(tmp_path / 'logs')
        assert re.search(r'^%s INFO     \[[^\]]*\]   GET http://localhost:80/$' % STAMP, log, re.M)
        assert 'not at the default level' not in log
        for key, value in (('log_level', 'INFO'), ('log_days', '30'), ('log_format', 'text'),
                           ('log_slow', '1.0'), ('session_timeout', '3600'), ('csrf', 'True')):
            assert re.search(r'\]   canister\.%s *= %s$' % (key, re.escape(value)), log, re.M), key
    finally:
        app.uninstall(True)


LONG_LINES = """
import sys, bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[1]))
for _ in range(40):
    app.log.info('%s', sys.argv[2] * 70000)
"""


def test_lines_longer_than_a_pipes_atomic_write_from_two_processes_stay_whole_in_a_file(log_dir):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert "Files do not have this limit: a line of any length is one append." in readme
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    processes = [subprocess.Popen([sys.executable, '-c', LONG_LINES, str(log_dir), letter], env=env)
                 for letter in 'ab']
    assert [process.wait(60) for process in processes] == [0, 0]
    long_lines = [message for message in messages(read_log(log_dir)) if len(message) > 4096]
    assert sorted(long_lines) == ['a' * 70000] * 40 + ['b' * 70000] * 40


SIGNALLED_PIPE = """
import signal, sys, bottle, canister
signal.signal(signal.SIGALRM, lambda *args: None)   # a handler that returns: the write goes on
signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
app = bottle.Bottle()
app.install(canister.Canister(log_path='stdout'))
app.log.info('%s', 'x' * 1000000)                  # far more than the pipe holds: the write waits
app.log.info('the next line')
signal.setitimer(signal.ITIMER_REAL, 0)
"""


def test_a_long_line_to_a_pipe_interrupted_by_signals_arrives_whole():
    # A pipe's reader (a container's log collector) slower than the app: the write waits for
    # room, and a signal arriving meanwhile ends it after part of the line.  The rest follows.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, '-c', SIGNALLED_PIPE], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b''
    while True:
        chunk = child.stdout.read1(8192)
        if not chunk:
            break
        out += chunk
        time.sleep(0.002)  # a slow reader
    err = child.stderr.read().decode()
    assert child.wait(60) == 0, err
    assert err == ''
    found = messages(out.decode())
    assert 'x' * 1000000 in found
    assert found[-1] == 'the next line'


SHORT_LINES = """
import sys, bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path='stderr'))
for number in range(300):
    app.log.info('%s %d', sys.argv[1] * 3500, number)
"""


def test_lines_shorter_than_a_pipes_atomic_write_from_three_processes_sharing_a_pipe_stay_whole():
    """README, Pipes: lines under 4,096 bytes that several processes write to one pipe are never interleaved."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    read_end, write_end = os.pipe()
    try:
        processes = [subprocess.Popen([sys.executable, '-c', SHORT_LINES, letter], env=env, stderr=write_end)
                     for letter in 'abc']
    finally:
        os.close(write_end)
    with os.fdopen(read_end, 'rb') as pipe:
        out = pipe.read().decode()
    assert [process.wait(60) for process in processes] == [0, 0, 0]
    found = [message for message in messages(out) if len(message) > 3500]
    assert len(found) == 900
    assert all(re.fullmatch(r'(a{3500}|b{3500}|c{3500}) \d+', message) for message in found)


def test_app_log_used_from_many_threads_at_once_writes_every_line_whole(make_app, log_dir):
    """README: app.log is thread safe: 8 threads each logging 200 lines of 3 KB at once lose no line and
    mix none into another."""
    app = make_app()

    def burst(thread: int) -> None:
        for line in range(200):
            app.log.info('thread %d line %d %s.', thread, line, str(thread) * 3000)

    at_once([lambda thread=thread: burst(thread) for thread in range(8)])
    written = [line for line in read_log(log_dir).splitlines() if ' thread ' in line]
    assert len(written) == 1600
    pattern = re.compile(r'\d{4}-\d\d-\d\d [\d:,]{12} INFO     \[[^\]]*\]   thread (\d) line (\d+) (\d{3000})\.')
    seen = set()
    for line in written:
        match = pattern.fullmatch(line)
        assert match and match.group(3) == match.group(1) * 3000, line[:120]
        seen.add((match.group(1), match.group(2)))
    assert len(seen) == 1600


def _clock_day(clock, days: int = 0) -> str:
    """The date of canister's clock (``clock``), or of ``days`` from it: the name of its log file after ``log.``."""
    return time.strftime('%Y-%m-%d', time.localtime(clock.now + days * 86400))


def test_the_log_file_is_named_after_the_day(make_app, log_dir, clock):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    assert [path.name for path in log_dir.iterdir()] == ['log.' + _clock_day(clock)]
    assert 'GET http://localhost:80/' in (log_dir / ('log.' + _clock_day(clock))).read_text()


def test_files_older_than_log_days_are_deleted_at_install(make_app, log_dir, clock):
    log_dir.mkdir()
    old = ['log.2000-01-01', 'log.' + _clock_day(clock, -40), 'log.' + _clock_day(clock, -10)]
    kept = ['log.' + _clock_day(clock, -1), 'log.' + _clock_day(clock, -5), 'log.notadate', 'notes.txt']
    for name in old + kept:
        (log_dir / name).write_text('old line\n')
    make_app(log_days=7)
    names = sorted(path.name for path in log_dir.iterdir())
    assert names == sorted(kept + ['log.' + _clock_day(clock)])


def test_log_days_keeps_everything_younger(make_app, log_dir, clock):
    log_dir.mkdir()
    (log_dir / ('log.' + _clock_day(clock, -20))).write_text('old line\n')
    make_app()
    assert (log_dir / ('log.' + _clock_day(clock, -20))).exists()


def test_a_wall_clock_leaping_a_year_ahead_deletes_no_log_file_and_says_so_once(make_app, log_dir, clock, capfd):
    """An NTP step a year ahead, set right again later: the day's file of the wrong date used to delete every
    file of the log, today's too, whose lines were gone when the clock came back."""
    app = make_app(log_days=30)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    (log_dir / ('log.' + _clock_day(clock, -3))).write_text('an earlier day\n')
    assert web.get('/?before').text == 'ok'
    capfd.readouterr()
    clock.advance(365 * 86400)
    assert web.get('/?leapt').text == 'ok'
    assert web.get('/?leapt-again').text == 'ok'
    clock.advance(-365 * 86400)
    assert web.get('/?set-right').text == 'ok'
    assert (log_dir / ('log.' + _clock_day(clock, -3))).read_text() == 'an earlier day\n'
    kept = (log_dir / ('log.' + _clock_day(clock))).read_text()
    assert '/?before' in kept and '/?set-right' in kept
    assert '/?leapt-again' in (log_dir / ('log.' + _clock_day(clock, 365))).read_text()
    assert told(capfd.readouterr().err) == [
        "canister: the date went from %s to %s, 365 days at once, more than log_days (30): no old log file is deleted "
        "now (a clock set ahead would take every file with it); those older than 30 days are deleted at the next "
        "day's file" % (_clock_day(clock), _clock_day(clock, 365))]


def test_after_a_leap_of_the_date_the_next_days_file_deletes_the_old_files_as_usual(make_app, log_dir, clock):
    app = make_app(log_days=30)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/?before').text == 'ok'
    clock.advance(40 * 86400)                          # (the wall clock alone: a step 40 days ahead)
    assert web.get('/?forty-days-on').text == 'ok'
    assert (log_dir / ('log.' + _clock_day(clock, -40))).exists()
    clock.advance(86400)
    assert web.get('/?the-day-after').text == 'ok'
    assert sorted(path.name for path in log_dir.iterdir()) == ['log.' + _clock_day(clock, -1),
                                                               'log.' + _clock_day(clock)]



def test_a_process_started_with_the_wall_clock_a_year_ahead_deletes_no_log_file_and_the_next_day_deletes_as_usual(
        make_app, log_dir, clock, capfd):
    """A worker started in another's place, or a container restarted, while the clock is a year ahead: the guard of
    a running process did not hold at install, which deleted every file of the log."""
    log_dir.mkdir()
    earlier = ['log.' + _clock_day(clock, -days) for days in range(5)]
    for name in earlier:
        (log_dir / name).write_text('an earlier day\n')
    clock.advance(365 * 86400)
    app = make_app(log_days=30)
    assert sorted(path.name for path in log_dir.iterdir()) == sorted(earlier + ['log.' + _clock_day(clock)])
    assert told(capfd.readouterr().err) == [
        "canister: the date, %s, is 365 days past that of the newest log file, log.%s, more than log_days (30): no old "
        "log file is deleted now (a clock set ahead would take every file with it); those older than 30 days are "
        "deleted at the next day's file" % (_clock_day(clock), _clock_day(clock, -365))]
    app.route('/', callback=lambda: 'ok')
    clock.advance(86400)      # (a service really stopped for a year: its old files go a day later)
    assert client(app).get('/?the-day-after').text == 'ok'
    assert sorted(path.name for path in log_dir.iterdir()) == ['log.' + _clock_day(clock, -1),
                                                               'log.' + _clock_day(clock)]
    assert told(capfd.readouterr().err) == []


def test_a_process_started_after_a_day_or_two_deletes_the_old_files_at_install_and_says_nothing(
        make_app, log_dir, clock, capfd):
    log_dir.mkdir()
    for days in (2, 40, 400):
        (log_dir / ('log.' + _clock_day(clock, -days))).write_text('an earlier day\n')
    (log_dir / 'log.2000-02-30').write_text('a name of no date, older by its name\n')
    make_app(log_days=30)
    assert sorted(path.name for path in log_dir.iterdir()) == ['log.' + _clock_day(clock, -2),
                                                               'log.' + _clock_day(clock)]
    assert told(capfd.readouterr().err) == []


def test_an_app_that_logs_less_often_than_every_log_days_days_still_deletes_its_old_files(
        make_app, log_dir, clock, monkeypatch, capfd):
    # (the date alone took ten quiet days for a clock set ahead: such an app deleted no file, ever, and said so)
    app = make_app(log_days=3)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    (log_dir / ('log.' + _clock_day(clock, -20))).write_text('an old day\n')
    assert web.get('/?before').text == 'ok'
    capfd.readouterr()
    real_monotonic = canister._monotonic
    monkeypatch.setattr(canister, '_monotonic', lambda: real_monotonic() + 10 * 86400)  # ten days go by, really
    clock.advance(10 * 86400)
    assert web.get('/?ten-quiet-days-on').text == 'ok'
    assert sorted(path.name for path in log_dir.iterdir()) == ['log.' + _clock_day(clock)]
    assert told(capfd.readouterr().err) == []


def test_log_days_0_keeps_every_file_as_in_1x(make_app, log_dir, clock):
    log_dir.mkdir()
    old = ['log.2000-01-01', 'log.' + _clock_day(clock, -400), 'log.' + _clock_day(clock, -2)]
    for name in old:
        (log_dir / name).write_text('old line\n')
    make_app(config={'log_days': '0'})
    assert sorted(path.name for path in log_dir.iterdir()) == sorted(old + ['log.' + _clock_day(clock)])


def test_an_app_keeping_every_file_outlasts_another_sharing_its_directory(make_app, log_dir, clock):
    log_dir.mkdir()
    (log_dir / ('log.' + _clock_day(clock, -40))).write_text('old line\n')
    make_app(log_days=0)
    web = client(make_app(log_days=7))  # (the same directory: one set of files, kept as the longest asks)
    (log_dir / ('log.' + _clock_day(clock))).unlink()  # (what midnight does: a new file, and old ones deleted)
    time.sleep(1.1)  # (the day's file is looked for once a second)
    web.get('/nowhere', status=404)
    assert (log_dir / ('log.' + _clock_day(clock))).exists() and (log_dir / ('log.' + _clock_day(clock, -40))).exists()


def test_log_lines_take_their_time_and_their_days_file_from_canisters_clock(make_app, log_dir, clock):
    """A test that moves ``canister._now`` on sees its log lines at that time, in that day's file (they took the
    real clock, out of step with the time the test set)."""
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    clock.now = time.mktime((2030, 1, 2, 3, 4, 5, 0, 0, -1)) + 0.5
    assert client(app).get('/').text == 'ok'
    lines = (log_dir / 'log.2030-01-02').read_text().splitlines()
    assert [line[:24] for line in lines] == ['2030-01-02 03:04:05,500 '] * 2, lines
    assert 'GET http://localhost:80/' in lines[0] and 'Response: 200' in lines[1]


def test_the_apps_own_log_lines_take_their_time_and_their_days_file_from_canisters_clock(make_app, log_dir, clock):
    app = make_app()
    app.route('/', callback=lambda: app.log.info('from the handler') or 'ok')
    clock.now = time.mktime((2030, 1, 2, 23, 59, 59, 0, 0, -1)) + 0.5
    assert client(app).get('/').text == 'ok'
    clock.now += 1.0   # past midnight
    assert client(app).get('/').text == 'ok'
    for day, stamp in (('2030-01-02', '2030-01-02 23:59:59,500 '), ('2030-01-03', '2030-01-03 00:00:00,500 ')):
        lines = (log_dir / ('log.' + day)).read_text().splitlines()
        assert [line[:24] for line in lines] == [stamp] * 3, lines
        assert lines[1].endswith(']   from the handler'), lines


def test_once_the_app_adds_a_handler_to_its_log_that_handler_has_canisters_clock_as_the_file_has(
        make_app, log_dir, clock):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    clock.now = time.mktime((2030, 1, 2, 3, 4, 5, 0, 0, -1))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    app.log.addHandler(handler)
    try:
        assert client(app).get('/').text == 'ok'
    finally:
        app.log.removeHandler(handler)
    assert len(records) == 2 and all(record.created == clock.now and record.msecs == 0 for record in records)
    lines = (log_dir / 'log.2030-01-02').read_text().splitlines()
    assert [line[:24] for line in lines] == ['2030-01-02 03:04:05,000 '] * 2, lines
    assert 'GET http://localhost:80/' in lines[0] and 'Response: 200' in lines[1]


@pytest.mark.parametrize('day, kept, deleted', [
    ((2026, 4, 10), 'log.2026-03-11', 'log.2026-03-10'),   # 30 days back run over the spring change (a 23-hour day)
    ((2026, 11, 10), 'log.2026-10-11', 'log.2026-10-10'),  # and over the autumn one (a 25-hour day)
])
def test_log_days_counts_calendar_days_across_a_daylight_saving_change(make_app, log_dir, monkeypatch,
                                                                        day, kept, deleted):
    app = make_app(log_days=30)
    app.route('/', callback=lambda: 'ok')
    for name in (kept, deleted):
        (log_dir / name).write_text('old line\n')
    monkeypatch.setenv('TZ', 'Europe/Berlin')
    time.tzset()
    try:
        noon = time.mktime(day + (12, 0, 0, 0, 0, -1))
        monkeypatch.setattr(canister, '_now', lambda: noon)  # a line of that day: its file is opened, old ones deleted
        monkeypatch.setattr(time, 'time_ns', lambda: int(noon * 10**9))  # (the logging module's clock)
        assert client(app).get('/').text == 'ok'
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (log_dir / kept).exists()  # 30 days old
    assert not (log_dir / deleted).exists()  # 31


def test_disabled_writes_nothing_and_creates_no_directory(make_app, log_dir):
    app = make_app(log_level='DISABLED')

    @app.get('/')
    def index():
        app.log.critical('even this')
        return 'ok'

    assert client(app).get('/').text == 'ok'
    assert not log_dir.exists()


def test_log_path_stderr_writes_the_lines_to_standard_error(make_app, log_dir, capfd):
    app = make_app(log_path='stderr')
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    err = capfd.readouterr().err
    assert re.search(r'^%s INFO     \[[^\]]*\]   GET http://localhost:80/$' % STAMP, err, re.M)
    assert re.search(r'^%s INFO     \[[^\]]*\]   Response: 200 \(\d+ms\)$' % STAMP, err, re.M)
    assert not log_dir.exists()


def test_log_path_stdout_writes_the_lines_to_standard_output(make_app, capfd):
    app = make_app(log_path='stdout')
    app.route('/', callback=lambda: 'ok')
    client(app).get('/')
    captured = capfd.readouterr()
    assert 'GET http://localhost:80/' in captured.out
    assert 'GET http://localhost:80/' not in captured.err


@pytest.mark.parametrize('written, stream', [('STDOUT', 'stdout'), ('Stderr', 'stderr'), (' StdErr ', 'stderr')])
def test_log_path_names_the_streams_in_any_case_and_makes_no_directory_of_them(make_app, tmp_path, monkeypatch,
                                                                             capfd, written, stream):
    monkeypatch.chdir(tmp_path)
    app = make_app({'log_path': written})                   # as an ini file's value would arrive
    app.route('/', callback=lambda: 'ok')
    client(app).get('/?case=any')
    captured = capfd.readouterr()
    output = captured.out if stream == 'stdout' else captured.err
    assert banner_setting('log_path', stream) in output
    assert 'GET http://localhost:80/?case=any' in output
    assert os.listdir(tmp_path) == []


# -- line formats --------------------------------------------------------------------

def test_text_lines_have_time_level_thread_and_message(make_app, log_dir, clock):
    app = thread_app(make_app)
    web = client(app)
    sid = web.get('/start').text
    web.get('/thread')
    lines = request_lines(read_log(log_dir))
    assert re.fullmatch(r'%s INFO     \[127\.0\.0\.1-\.\.\.\]   GET http://localhost:80/start' % STAMP, lines[0])
    assert re.fullmatch(r'%s INFO     \[127\.0\.0\.1-%s\]   Response: 200 \(\d+ms\)' % (STAMP, sid[:6]), lines[1])
    assert re.fullmatch(r'%s INFO     \[127\.0\.0\.1-%s\]   GET http://localhost:80/thread' % (STAMP, sid[:6]), lines[2])
    assert re.fullmatch(r'%s INFO     \[127\.0\.0\.1-%s\]   Response: 200 \(\d+ms\)' % (STAMP, sid[:6]), lines[3])
    assert len(lines) == 4
    assert lines[0][:10] == _clock_day(clock)


def test_the_logged_url_includes_the_query_string(make_app, log_dir):
    app = make_app()
    app.route('/search', callback=lambda: 'ok')
    client(app).get('/search?q=bottle&page=2')
    assert re.search(r'\]   GET http://localhost:80/search\?q=bottle&page=2$', read_log(log_dir), re.M)


def test_json_format_writes_one_object_per_line_with_the_request_id(make_app, log_dir):
    app = make_app(log_format='json')
    app.route('/', callback=lambda: 'ok')
    response = client(app).get('/')
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    rid = response.headers['X-Request-ID']
    mine = [entry for entry in entries if entry['request_id'] == rid]
    assert [entry['message'] for entry in mine] == ['GET http://localhost:80/', mine[1]['message']]
    assert re.fullmatch(r'Response: 200 \(\d+ms\)', mine[1]['message'])
    assert all(entry['level'] == 'INFO' and entry['thread'].startswith('127.0.0.1-') for entry in mine)
    assert re.fullmatch(ISO_STAMP, mine[0]['time']) and mine[0]['pid'] == os.getpid()


def test_json_format_gives_canisters_own_request_lines_the_request_id(make_app, log_dir):
    app = make_app(log_format='json', auth_basic_username='bob', auth_basic_password='pw-of-bob',
                   auth_basic_encryption='clear')

    @app.get('/')
    def index():
        app.log.info('from the handler')
        return 'ok'

    bad = base64.b64encode(b'bob:wrong').decode()
    client(app).get('/', headers={'Authorization': 'Basic ' + bad, 'X-Request-ID': 'rid-401'}, status=401)
    client(app).get('/', headers={'X-Request-ID': 'rid-200'})
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    failed = [entry for entry in entries if entry['message'].startswith('Authentication failed')]
    assert len(failed) == 1 and failed[0]['request_id'] == 'rid-401'
    mine = [entry for entry in entries if entry['message'] == 'from the handler']
    assert len(mine) == 1 and mine[0]['request_id'] == 'rid-200'


def test_json_format_puts_a_traceback_in_its_own_field(make_app, log_dir):
    app = make_app(log_format='json', catchall=True)

    @app.get('/boom')
    def boom():
        raise RuntimeError('kaboom')

    client(app).get('/boom', status=500, expect_errors=True)
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    errors = [entry for entry in entries if entry['level'] == 'ERROR' and 'traceback' in entry]
    assert len(errors) == 1
    assert 'RuntimeError: kaboom' in errors[0]['traceback']


# -- the install banner --------------------------------------------------------------

def test_the_banner_shows_versions_and_every_setting_between_rules(make_app, log_dir):
    make_app()
    said = messages(read_log(log_dir))
    assert said[:3] == ['============', 'Initializing', '============']
    assert said[3].startswith('python version: %s' % platform.python_version())
    assert said[4] == 'bottle version: %s' % bottle.__version__
    rules = [index for index, text in enumerate(said) if re.fullmatch(r'-{4,}', text)]
    assert len(rules) == 2
    shown = [text.split(' = ', 1)[0].rstrip()[len('canister.'):] for text in said[rules[0] + 1:rules[1]]]
    assert all(re.fullmatch(r'canister\.[a-z_]+ * = .*', text) for text in said[rules[0] + 1:rules[1]])
    assert set(shown) == set(canister.KEYS)
    assert len(shown) == len(set(shown))
    for key in ('log_path', 'log_level', 'log_days', 'log_format', 'log_slow', 'trusted_proxies',
                'max_body_size', 'max_header_size', 'session_store', 'session_cookie', 'session_timeout',
                'session_max_age', 'session_max', 'session_samesite', 'session_secure', 'session_cookie_max_age',
                'auth_basic_username', 'auth_basic_password', 'auth_basic_encryption', 'auth_basic_users_file',
                'auth_realm', 'auth_jwt_client_id', 'auth_jwt_secret', 'auth_jwt_encoding', 'auth_jwt_algorithms',
                'auth_jwt_public_key', 'auth_jwt_jwks_url', 'auth_jwt_issuer', 'auth_jwt_leeway',
                'auth_jwt_require_exp', 'auth_max_failures', 'cors', 'cors_credentials', 'cors_methods',
                'cors_headers', 'cors_expose_headers', 'cors_max_age', 'csrf'):
        assert key in shown


def test_the_banner_shows_the_values_in_use(make_app, log_dir):
    make_app(session_cookie='my_cookie', cors='https://a.example.com https://b.example.com', log_days='9')
    said = messages(read_log(log_dir))
    assert banner_setting('session_cookie', 'my_cookie') in said
    assert banner_setting('log_days', 9) in said
    assert banner_setting('log_path', log_dir) in said
    assert any(text.startswith('canister.cors ') and 'https://a.example.com' in text and 'https://b.example.com' in text
               for text in said)


def test_the_banner_masks_passwords_secrets_and_tokens_and_shows_a_key_files_path(make_app, log_dir, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_file = tmp_path / 'provider-key-file.pem'
    key_file.write_bytes(pem)
    make_app(auth_basic_username='bob', auth_basic_password='Pa55-plain-secret', auth_basic_encryption='clear',
             auth_jwt_secret='jwt-shared-Secret-123', auth_jwt_public_key=str(key_file))
    log = read_log(log_dir)
    said = messages(log)
    assert banner_setting('auth_basic_password', '***') in said
    assert banner_setting('auth_jwt_secret', '***') in said
    assert banner_setting('auth_jwt_public_key', str(key_file)) in said  # (a file's path is no secret)
    assert banner_setting('auth_basic_username', 'bob') in said
    for secret in ('Pa55-plain-secret', 'jwt-shared-Secret-123', pem.decode().splitlines()[1]):
        assert secret not in log


def test_the_banner_shows_whether_cors_credentials_is_on_though_its_name_looks_secret(make_app, log_dir):
    make_app(cors='https://app.example.com', cors_credentials=True)
    assert banner_setting('cors_credentials', True) in messages(read_log(log_dir))


def test_empty_secret_settings_are_not_masked(make_app, log_dir):
    make_app()
    assert banner_setting('auth_basic_password', '') in messages(read_log(log_dir))


# -- levels -----------------------------------------------------------------------------

def slow_app(make_app, seconds, **overrides):
    """An app whose GET /slow takes ``seconds`` to answer 'done'."""
    app = make_app(**overrides)
    app.route('/slow', callback=lambda: time.sleep(seconds) or 'done')
    return app


def slow_then_quicker(app, log_dir, quicker):
    """The request lines in ``log_dir`` after GET /slow, then GET ``quicker``: that one asked again (three times at
    the most) only while another job's load made it slower than log_slow too."""
    web = client(app)
    web.get('/slow')
    for _ in range(3):
        web.get(quicker)
        lines = request_lines(read_log(log_dir))
        if ' INFO ' in lines[-1]:
            break
    return lines


def test_a_slow_response_is_logged_at_warning(make_app, log_dir):
    app = slow_app(make_app, 0.3, log_slow=0.25)
    app.route('/fast', callback=lambda: 'done')
    lines = slow_then_quicker(app, log_dir, '/fast')
    warned = re.fullmatch(r'%s WARNING  \[[^\]]*\]   Response: 200 \((\d+)ms\)' % STAMP, lines[1])
    assert warned and int(warned.group(1)) >= 300
    assert re.fullmatch(r'%s INFO     \[[^\]]*\]   Response: 200 \(\d+ms\)' % STAMP, lines[-1])


def test_by_default_a_response_slower_than_a_second_is_logged_at_warning(log_dir, uninstall_at_end):
    """log_slow's default, 1 s (the README's table of settings), as an app without the key has it (make_app's
    apps have log_slow 0 unless a test gives it)."""
    app = uninstall_at_end(bottle.Bottle())
    app.catchall = False
    app.install(canister.Canister(log_path=str(log_dir)))
    app.route('/slow', callback=lambda: time.sleep(1.1) or 'done')
    app.route('/quicker', callback=lambda: time.sleep(0.7) or 'done')
    lines = slow_then_quicker(app, log_dir, '/quicker')
    warned = re.fullmatch(r'%s WARNING  \[[^\]]*\]   Response: 200 \((\d+)ms\)' % STAMP, lines[1])
    assert warned and int(warned.group(1)) >= 1100, lines
    assert re.fullmatch(r'%s INFO     \[[^\]]*\]   Response: 200 \(\d+ms\)' % STAMP, lines[-1]), lines


def test_a_slow_response_is_still_logged_when_the_level_is_warning(make_app, log_dir):
    app = slow_app(make_app, 0.1, log_slow='0.05', log_level='WARNING')
    client(app).get('/slow')
    assert re.search(r' WARNING  \[[^\]]*\]   Response: 200 \(\d+ms\)$', read_log(log_dir), re.M)


def test_log_slow_zero_never_warns(make_app, log_dir):
    app = slow_app(make_app, 0.06, log_slow=0)
    client(app).get('/slow')
    assert ' WARNING ' not in read_log(log_dir)


def test_log_slow_zero_logs_a_served_slow_answer_at_info(log_dir, serve, uninstall_at_end):
    """The README's table says log_slow 0 = never: over a real server, an answer of 0.3 s has its Response line
    at INFO, and no WARNING is written."""
    import urllib.request
    app = uninstall_at_end(bottle.Bottle())
    app.install(canister.Canister(log_path=str(log_dir), log_slow=0))
    app.route('/slow', callback=lambda: time.sleep(0.3) or 'done')
    with urllib.request.urlopen(serve(app) + '/slow', timeout=10) as answer:
        assert (answer.status, answer.read()) == (200, b'done')
    wait_until(lambda: 'Response: 200' in read_log(log_dir), 10)
    response = [line for line in request_lines(read_log(log_dir)) if 'Response: ' in line]
    timed = re.fullmatch(r'%s INFO     \[[^\]]*\]   Response: 200 \((\d+)ms\)' % STAMP, response[0])
    assert timed and int(timed.group(1)) >= 300, response
    assert ' WARNING ' not in read_log(log_dir)


def test_an_unhandled_exception_is_logged_at_error_with_its_traceback(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/boom')
    def boom():
        raise RuntimeError('kaboom')

    response = client(app).get('/boom', status=500, expect_errors=True)
    assert response.status_int == 500
    log = read_log(log_dir)
    error = re.search(r'^%s ERROR    \[127\.0\.0\.1-[^\]]*\]   .*\n((?:(?!\d{4}-).*\n)+)' % STAMP, log, re.M)
    assert error, log
    traceback = error.group(1)
    assert traceback.startswith('  Traceback (most recent call last):')
    assert all(line.startswith('  ') for line in traceback.splitlines()), 'continuation lines are indented'
    assert 'in boom' in traceback
    assert 'RuntimeError: kaboom' in traceback
    assert log.count('RuntimeError: kaboom') == 1
    assert re.search(r'\]   Response: 500 \(\d+ms\)$', log, re.M)


def test_an_exception_escaping_the_app_is_logged_once_with_a_500_line(make_app, log_dir):
    app = make_app(catchall=False)

    @app.get('/boom')
    def boom():
        raise RuntimeError('kaboom')

    with pytest.raises(RuntimeError):
        client(app).get('/boom')
    log = read_log(log_dir)
    assert log.count('RuntimeError: kaboom') == 1
    assert re.search(r' ERROR    \[[^\]]*\]   Response: 500 \(\d+ms\)$', log, re.M)


def test_an_abort_is_logged_with_its_status(make_app, log_dir):
    app = make_app()

    @app.get('/missing')
    def missing():
        bottle.abort(404, 'no such thing')

    client(app).get('/missing', status=404)
    log = read_log(log_dir)
    assert re.search(r'\]   Response: 404 \(\d+ms\)$', log, re.M)
    assert 'Traceback' not in log and ' ERROR ' not in log


def test_a_5xx_the_handler_returns_itself_has_its_response_line_at_error_and_no_traceback(make_app, log_dir):
    app = make_app()

    @app.get('/ready')
    def ready():
        return bottle.HTTPResponse('not ready\n', status=503)

    client(app).get('/ready', status=503)
    log = read_log(log_dir)
    assert re.search(r' ERROR    \[[^\]]*\]   Response: 503 \(\d+ms\)$', log, re.M)
    assert 'Traceback' not in log


def test_a_redirect_is_logged_with_its_status(make_app, log_dir):
    app = make_app()

    @app.get('/old')
    def old():
        bottle.redirect('/new', 302)

    response = client(app).get('/old', status=302)
    assert response.headers['Location'].endswith('/new')
    assert re.search(r'\]   Response: 302 \(\d+ms\)$', read_log(log_dir), re.M)


def test_an_http_response_raised_by_a_handler_is_logged_with_its_status(make_app, log_dir):
    app = make_app()

    @app.get('/teapot')
    def teapot():
        raise bottle.HTTPResponse('short and stout', status=418)

    client(app).get('/teapot', status=418)
    assert re.search(r'\]   Response: 418 \(\d+ms\)$', read_log(log_dir), re.M)


def test_an_unrouted_path_is_logged_as_404(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    client(app).get('/nowhere', status=404)
    assert re.search(r'\]   Response: 404 \(\d+ms\)$', read_log(log_dir), re.M)


# -- threads and clients -------------------------------------------------------------------

def test_the_thread_is_named_after_client_and_session_during_the_request(make_app):
    app = thread_app(make_app)
    web = client(app, REMOTE_ADDR='192.0.2.10')
    sid = web.get('/start').text
    assert web.get('/thread').text == '192.0.2.10-' + sid[:6]


def test_the_thread_name_is_restored_after_the_request(make_app):
    app = thread_app(make_app)
    before = threading.current_thread().name
    web = client(app)
    web.get('/start')
    web.get('/thread')
    assert threading.current_thread().name == before


def test_the_thread_name_is_restored_after_an_exception(make_app):
    app = make_app()

    @app.get('/boom')
    def boom():
        raise RuntimeError('kaboom')

    before = threading.current_thread().name
    with pytest.raises(RuntimeError):
        client(app).get('/boom')
    assert threading.current_thread().name == before


def test_the_thread_is_named_with_the_new_session_once_it_is_created(make_app):
    app = make_app()

    @app.get('/')
    def index():
        before = threading.current_thread().name
        sid = canister.session.sid
        return '%s %s %s' % (before, threading.current_thread().name, sid)

    before, during, sid = client(app).get('/').text.split()
    assert before == '127.0.0.1-...'
    assert during == '127.0.0.1-' + sid[:6]


def test_with_the_log_disabled_the_thread_keeps_its_own_name(make_app):
    app = thread_app(make_app, log_level='DISABLED')
    web = client(app, REMOTE_ADDR='192.0.2.10')
    web.get('/start')
    assert web.get('/thread').text == threading.current_thread().name  # (the test client serves in this thread)


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(make_app, log_dir):
    app = thread_app(make_app)
    web = client(app, REMOTE_ADDR='198.51.100.7')
    response = web.get('/thread', headers={'X-Forwarded-For': '203.0.113.99'})
    assert response.text.startswith('198.51.100.7-')
    log = read_log(log_dir)
    assert '203.0.113.99' not in log
    assert '[198.51.100.7-' in log


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(make_app, log_dir):
    app = thread_app(make_app, trusted_proxies='10.0.0.0/8')
    web = client(app, REMOTE_ADDR='10.1.2.3')
    response = web.get('/thread', headers={'X-Forwarded-For': '203.0.113.99, 10.9.9.9'})
    assert response.text.startswith('203.0.113.99-')
    assert '[203.0.113.99-' in read_log(log_dir)


def test_x_forwarded_for_from_a_peer_outside_the_trusted_proxies_is_ignored(make_app):
    app = thread_app(make_app, trusted_proxies='10.0.0.1')
    web = client(app, REMOTE_ADDR='10.0.0.2')
    assert web.get('/thread', headers={'X-Forwarded-For': '203.0.113.99'}).text.startswith('10.0.0.2-')


def test_x_forwarded_proto_and_host_are_ignored_from_an_untrusted_peer(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: bottle.request.url)
    client(app, REMOTE_ADDR='198.51.100.7').get(
        '/', headers={'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example.com'})
    log = read_log(log_dir)
    assert re.search(r'\]   GET http://localhost:80/$', log, re.M)
    assert 'evil.example.com' not in log
    assert 'https://' not in log


def test_x_forwarded_proto_and_host_are_believed_from_a_trusted_proxy(make_app, log_dir):
    app = make_app(trusted_proxies='10.0.0.1')
    app.route('/', callback=lambda: 'ok')
    client(app, REMOTE_ADDR='10.0.0.1').get(
        '/', headers={'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.example.com'})
    assert re.search(r'\]   GET https://www\.example\.com/$', read_log(log_dir), re.M)


# -- what never reaches the log ------------------------------------------------------

def test_the_full_session_id_never_appears_in_the_log(make_app, log_dir):
    app = thread_app(make_app, log_level='DEBUG')
    web = client(app)
    sid = web.get('/start').text
    web.get('/thread')
    web.get('/start')
    log = read_log(log_dir)
    assert sid[:6] in log
    assert sid not in log
    assert sid[:12] not in log


def test_basic_auth_passwords_and_header_values_never_appear_in_the_log(make_app, log_dir):
    app = make_app(auth_basic_username='bob', auth_basic_password='Correct-Horse-9', auth_basic_encryption='clear')

    @app.get('/me')
    def me():
        return str(canister.session.user)

    web = client(app)
    good = base64.b64encode(b'bob:Correct-Horse-9').decode()
    bad = base64.b64encode(b'bob:Wrong-Guess-7').decode()
    assert web.get('/me', headers={'Authorization': 'Basic ' + good}).text == 'bob'
    web.get('/me', headers={'Authorization': 'Basic ' + bad}, status=401)
    log = read_log(log_dir)
    assert 'Authentication failed' in log
    for secret in ('Correct-Horse-9', 'Wrong-Guess-7', good, bad):
        assert secret not in log


def test_bearer_tokens_never_appear_in_the_log(make_app, log_dir):
    secret = 'a-jwt-secret-that-is-long-enough-for-hs256'
    app = make_app(auth_jwt_secret=secret)

    @app.get('/me')
    def me():
        return str(canister.session.user)

    token = signed_token(secret, sub='carol')
    forged = signed_token('another-secret-another-secret-xx', sub='mallory')
    web = client(app)
    web.get('/me', headers=bearer(token))
    web.get('/me', headers=bearer(forged), status=401)
    log = read_log(log_dir)
    for text in (token, forged, token.split('.')[2], forged.split('.')[2], secret):
        assert text not in log


def test_an_access_token_in_the_query_string_is_redacted(make_app, log_dir):
    app = make_app()
    app.route('/cb', callback=lambda: 'ok')
    client(app).get('/cb?state=xyz&access_token=SuperSecretTok3n&password=Hunter2pass')
    log = read_log(log_dir)
    assert 'SuperSecretTok3n' not in log
    assert 'Hunter2pass' not in log
    assert re.search(r'\]   GET http://localhost:80/cb\?state=xyz&access_token=\*\*\*&password=\*\*\*$', log, re.M)


def test_cr_lf_in_the_path_does_not_forge_log_lines(make_app, log_dir):
    app = make_app()
    forged = '/x\r\n2026-07-02 09:38:31,022 INFO [1.2.3.4-abcdef] GET http://localhost:80/admin'
    client(app, PATH_INFO=forged).get('/', status=404)
    lines = request_lines(read_log(log_dir))
    assert len(lines) == 2
    assert lines[0].endswith('GET http://localhost:80/x%0D%0A2026-07-02%2009:38:31,022%20INFO%20%5B1.2.3.4-abcdef%5D'
                             '%20GET%20http://localhost:80/admin')


def test_cr_lf_and_control_characters_in_the_query_do_not_forge_log_lines(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    client(app, QUERY_STRING='a=1\r\n2026-07-02 09:38:31,022 ERROR [x] forged\x1b[31m\x00').get('/')
    log = read_log(log_dir)
    lines = request_lines(log)
    assert len(lines) == 2
    assert '\x1b' not in log and '\x00' not in log and '\r' not in log
    assert not any(' ERROR ' in line for line in log.splitlines())


def test_cr_lf_in_the_host_header_does_not_forge_log_lines(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    client(app, HTTP_HOST='localhost\r\n2026-07-02 09:38:31,022 INFO [x] forged\x07').get('/')
    log = read_log(log_dir)
    assert len(request_lines(log)) == 2
    assert '\x07' not in log and '\r' not in log


def test_cr_lf_in_a_trusted_forwarded_header_does_not_forge_log_lines(make_app, log_dir):
    app = make_app(trusted_proxies='10.0.0.1')
    app.route('/', callback=lambda: 'ok')
    client(app, REMOTE_ADDR='10.0.0.1',
           HTTP_X_FORWARDED_FOR='1.2.3.4\r\nforged by the client',
           HTTP_X_FORWARDED_HOST='h\r\nforged by the client too').get('/')
    log = read_log(log_dir)
    lines = request_lines(log)
    # the entry is no IP address: the WARNING that says so (the process's first), the request line, the response
    assert len(lines) == 3 and ' WARNING ' in lines[0], log
    assert 'X-Forwarded-For came through the trusted proxy 10.0.0.1 with' in lines[0]
    assert not any(line.startswith('forged') for line in log.splitlines())
    assert '\r' not in log


def test_the_warning_of_an_x_forwarded_for_entry_that_is_no_ip_address_is_said_once_in_each_apps_log(
        make_app, tmp_path):
    apps = [make_app(trusted_proxies='10.0.0.1', log_path=str(tmp_path / name)) for name in ('one', 'two')]
    for app in apps:
        app.route('/', callback=lambda: 'ok')
    for app, entries in zip(apps, (['unknown', 'forged'], ['other'])):
        for entry in entries:
            client(app, REMOTE_ADDR='10.0.0.1', HTTP_X_FORWARDED_FOR=entry).get('/')
    said = [[line.split(']   ', 1)[1] for line in read_log(tmp_path / name).splitlines() if ' WARNING ' in line]
            for name in ('one', 'two')]
    assert [len(lines) for lines in said] == [1, 1]
    assert said[0][0].startswith("X-Forwarded-For came through the trusted proxy 10.0.0.1 with 'unknown' where")
    assert said[1][0].startswith("X-Forwarded-For came through the trusted proxy 10.0.0.1 with 'other' where")


def test_cr_lf_in_a_basic_auth_user_name_does_not_forge_log_lines(make_app, log_dir):
    app = make_app(auth_basic_username='bob', auth_basic_password='pw-for-bob', auth_basic_encryption='clear')
    app.route('/', callback=lambda: 'ok')
    credentials = base64.b64encode(b'eve\n2026-07-02 09:38:31,022 INFO [x] Logged in as: admin:pw').decode()
    client(app).get('/', headers={'Authorization': 'Basic ' + credentials}, status=401)
    log = read_log(log_dir)
    assert len(request_lines(log)) == 3
    assert not any(line.startswith('2026-07-02 09:38:31,022') for line in log.splitlines())


def test_cr_lf_in_an_exception_message_from_the_query_does_not_forge_log_lines(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/')
    def index():
        raise ValueError('bad value: %s' % bottle.request.query.q)

    forged = '2026-07-02 09:38:31,022 INFO [6.6.6.6-abcdef] Logged in as: admin'
    client(app).get('/', params={'q': 'x\r\n' + forged}, status=500, expect_errors=True)
    log = read_log(log_dir)
    assert 'ValueError: bad value: x' in log
    assert 'Logged in as: admin' in log
    assert not any(line.startswith('2026-07-02 09:38:31,022') for line in log.splitlines())
    assert '\r' not in log


# -- request ids ---------------------------------------------------------------------------

def test_a_well_formed_request_id_is_echoed(make_app, log_dir):
    app = make_app(log_format='json')
    app.route('/', callback=lambda: canister.request_id())
    response = client(app).get('/', headers={'X-Request-ID': 'abc-123_DEF.456'})
    assert response.headers['X-Request-ID'] == 'abc-123_DEF.456'
    assert response.text == 'abc-123_DEF.456'
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    assert len([entry for entry in entries if entry['request_id'] == 'abc-123_DEF.456']) == 2


#: The request ids of common proxies, which a log joins canister's by.
PROXY_IDS = {'haproxy unique-id': '7F000001:8296_7F00001E:1F90_4F7B0A69_0003:790A',
             'base64': '0zcLwYgAAAAB+Ma8y/2Pq4RLl3uA=',
             'kong': 'de305d54-75b4-431b-adb2-eb6b9e546014#1'}


@pytest.mark.parametrize('wanted', ['a', 'Z', '7', '-', '_', '.', 'x' * 128, 'aZ09-_.' * 18 + 'aZ',
                                    "!#$&'()*+/:;<=>?@[]^`{|}~", *PROXY_IDS.values()])
def test_a_request_id_of_1_to_128_visible_ascii_characters_but_four_is_kept(make_app, wanted):
    app = make_app()
    app.route('/', callback=lambda: canister.request_id())
    response = client(app, HTTP_X_REQUEST_ID=wanted).get('/')
    assert response.headers.getall('X-Request-ID') == [wanted]
    assert response.text == wanted


@pytest.mark.parametrize('log_format', ['text', 'json'])
@pytest.mark.parametrize('proxy', sorted(PROXY_IDS))
def test_a_proxys_request_id_is_echoed_and_logged_as_sent_on_a_real_server(make_app, log_dir, serve, log_format, proxy):
    """The README's two ways to have the id in the log: JSON lines' ``request_id``, and in text lines a
    handler's ``app.log.info('request id %s', canister.request_id())``."""
    rid = PROXY_IDS[proxy]
    app = make_app(log_format=log_format)

    @app.get('/')
    def index():
        app.log.info('request id %s', canister.request_id())
        return 'ok'

    answer = Client(serve(app)).get('/', headers={'X-Request-ID': rid})
    assert answer.status == 200 and answer.headers.get_all('X-Request-ID') == [rid]
    log = read_log(log_dir)
    if log_format == 'text':
        assert re.search(r'^\S+ \S+ INFO +\[[^]]+\]   request id %s$' % re.escape(rid), log, re.M), log
    else:
        mine = [entry['message'] for entry in map(json.loads, log.splitlines()) if entry['request_id'] == rid]
        assert [message.split(' ')[0] for message in mine] == ['GET', 'request', 'Response:'], log
        assert mine[1] == 'request id ' + rid and mine[2].startswith('Response: 200 ')
        assert '"request_id": "%s"' % rid in log  # (as sent: a search of the file for it finds its lines)


def test_a_handler_finds_the_request_id_in_the_environ_too(make_app):
    app = make_app()
    app.route('/', callback=lambda: '%s %s' % (bottle.request.environ['canister.request_id'], canister.request_id()))
    kept = client(app, HTTP_X_REQUEST_ID='order-7').get('/')
    assert kept.text == 'order-7 order-7'
    drawn = client(app).get('/')
    assert drawn.text == '%s %s' % (drawn.headers['X-Request-ID'], drawn.headers['X-Request-ID'])


@pytest.mark.parametrize('wanted', ['has space', 'x' * 129, 'quo"te', 'back\\slash', 'a,b', '100%', 'new\nline',
                                    'bell\x07', 'del\x7f', 'caf\xe9', 'tab\tbed', ''])
def test_a_malformed_request_id_is_replaced_by_a_generated_one(make_app, wanted):
    app = make_app()
    app.route('/', callback=lambda: canister.request_id())
    response = client(app, HTTP_X_REQUEST_ID=wanted).get('/')
    rid = response.headers['X-Request-ID']
    assert rid != wanted
    assert re.fullmatch(r'[A-Za-z0-9._-]{1,128}', rid)
    assert response.text == rid


def test_generated_request_ids_differ_between_requests(make_app):
    app = make_app()
    app.route('/', callback=lambda: canister.request_id())
    web = client(app)
    first, second = web.get('/'), web.get('/')
    assert first.text == first.headers['X-Request-ID']
    assert second.text == second.headers['X-Request-ID']
    assert first.text != second.text


def test_errors_carry_the_request_id_too(make_app):
    app = make_app()
    response = client(app).get('/nowhere', headers={'X-Request-ID': 'trace-404'}, status=404)
    assert response.headers['X-Request-ID'] == 'trace-404'


@pytest.mark.parametrize('path', ['/set', '/raised'])
def test_an_x_request_id_the_app_sets_gives_way_to_the_one_in_the_log_on_a_real_server(make_app, log_dir, serve,
                                                                                       path):
    app = make_app(log_format='json')

    @app.get('/set')
    def set_own():
        bottle.response.set_header('X-Request-ID', 'the-apps-own')
        return 'set'

    @app.get('/raised')
    def raised():
        raise bottle.HTTPResponse('raised', headers={'X-Request-ID': 'the-apps-own'})

    answer = Client(serve(app)).get(path, headers={'X-Request-ID': 'trace-7'})
    assert answer.status == 200
    assert answer.headers.get_all('X-Request-ID') == ['trace-7']
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    assert [entry['request_id'] for entry in entries if 'Response: 200' in entry['message']] == ['trace-7']


# -- when the log cannot be written ------------------------------------------------------

def test_a_log_path_under_a_regular_file_fails_the_install_clearly(make_app, tmp_path):
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('just a file\n')
    with pytest.raises(canister.CanisterError) as caught:
        make_app(log_path=str(blocker / 'logs'))
    message = str(caught.value)
    assert str(blocker / 'logs') in message
    assert 'log_path' in message


def test_a_log_path_that_is_a_regular_file_fails_the_install_clearly(make_app, tmp_path):
    blocker = tmp_path / 'logs-file'
    blocker.write_text('just a file\n')
    with pytest.raises(canister.CanisterError, match='logs-file'):
        make_app(log_path=str(blocker))


def test_a_log_directory_whose_days_file_cannot_be_written_fails_the_install_clearly(make_app, log_dir, clock):
    """README, Failure: a directory that cannot be written at install (here the day's file is a directory,
    which root cannot write either) fails the install, naming the place, the reason and what to do."""
    (log_dir / ('log.' + _clock_day(clock))).mkdir(parents=True)
    with pytest.raises(canister.ConfigError) as caught:
        make_app()
    assert str(caught.value) == ('canister cannot write its log to %s: Is a directory (fix canister.log_path, or set '
                                 'log_path = stderr)' % log_dir)



def test_an_install_on_a_full_disk_whose_days_file_ends_in_a_cut_line_serves_and_ends_that_line_once_there_is_room(
        small_disk, make_app, clock, capfd):
    """README, Failure: a full disk is no install failure.  A worker started in another's place while the disk is
    full finds the day's file ending in the line the full disk cut short, and cannot write the newline that ends it:
    that used to fail the install with a ConfigError (gunicorn: "Worker failed to boot", and it stopped)."""
    logs = small_disk / 'logs'
    logs.mkdir()
    day_file = logs / ('log.' + _clock_day(clock))
    day_file.write_text('X' * 4096)   # a line cut short at a page's end: a newline after it needs a new page
    os.utime(day_file, (time.time() - 10, time.time() - 10))
    filler = fill_file_system(small_disk)
    app = make_app(log_path=str(logs))
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/?full').text == 'ok'
    assert day_file.read_text() == 'X' * 4096
    filler.unlink()
    assert web.get('/?room-again').text == 'ok'
    lines = day_file.read_text().splitlines()
    assert lines[0] == 'X' * 4096
    assert [line for line in lines[1:] if not LINE.match(line)] == []   # each on a line of its own
    said = messages('\n'.join(lines[1:]))
    assert len(said) == 2 and said[0] == 'GET http://localhost:80/?room-again', said
    assert re.fullmatch(r'Response: 200 \(\d+ms\)', said[1])
    assert told(capfd.readouterr().err) == ['canister: logging to %s failed: [Errno 28] No space left on device' % logs,
                                            'canister: logging to %s works again' % logs]


def _fail_the_days_file(log_dir, clock):
    """Make the day's file of a log already open fail: a link to /dev/full in its place, which canister does not follow
    (``tests/test_log_file_safety.py``), looked at within a second (the day of canister's stopped ``clock``)."""
    (log_dir / ('log.' + _clock_day(clock))).unlink()
    os.symlink('/dev/full', log_dir / ('log.' + _clock_day(clock)))
    time.sleep(1.1)


def test_failing_writes_do_not_fail_requests_and_say_so_once_on_stderr(make_app, log_dir, clock, capfd):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    _fail_the_days_file(log_dir, clock)
    for _ in range(3):
        assert web.get('/').text == 'ok'
    app.log.error('still failing')
    err = capfd.readouterr().err.splitlines()
    assert len(err) == 1
    assert 'logging' in err[0] and 'failed' in err[0] and str(log_dir) in err[0]


def test_a_log_directory_deleted_while_the_app_runs_is_made_again_within_a_second(make_app, log_dir, capfd):
    web = served_once(make_app)
    shutil.rmtree(log_dir)
    deadline = time.monotonic() + 30
    while not log_dir.exists() and time.monotonic() < deadline:
        assert web.get('/').text == 'ok'
        time.sleep(0.05)
    assert log_dir.exists(), 'the log directory was not made again'
    assert web.get('/?after=deletion').text == 'ok'
    assert '/?after=deletion' in read_log(log_dir)
    assert capfd.readouterr().err == ''  # nothing failed: nothing to report


def test_a_days_file_deleted_while_the_app_runs_is_made_again_within_a_second(make_app, log_dir, capfd, clock):
    web = served_once(make_app)
    days_file = log_dir / ('log.' + _clock_day(clock))
    for _ in range(3):  # (deleted again only when another job's load slowed the requests: a file looked for less
        days_file.unlink()  # often than every second would take longer in every round)
        deleted = time.monotonic()
        while not days_file.exists() and time.monotonic() < deleted + 30:
            assert web.get('/').text == 'ok'
            time.sleep(0.05)
        assert days_file.exists(), "the day's file was not made again"
        made_again = time.monotonic() - deleted
        if made_again < 2:
            break
    assert made_again < 2, made_again  # (a second, and the slack of a loaded machine)
    assert web.get('/?after=deletion').text == 'ok'
    assert '/?after=deletion' in days_file.read_text()
    assert capfd.readouterr().err == ''  # nothing failed: nothing to report


def test_a_log_directory_deleted_and_replaced_by_a_file_is_reported_once_on_stderr(make_app, log_dir, capfd):
    web = served_once(make_app)
    shutil.rmtree(log_dir)
    log_dir.write_text('now a regular file\n')
    deadline = time.monotonic() + 30
    err = []
    while not err and time.monotonic() < deadline:  # detection may be per write or periodic
        assert web.get('/').text == 'ok'
        err = capfd.readouterr().err.splitlines()
        time.sleep(0.05)
    for _ in range(3):
        assert web.get('/').text == 'ok'
    err += capfd.readouterr().err.splitlines()
    assert len(err) == 1, 'expected one line on stderr saying logging failed, got %r' % err
    assert 'logging' in err[0] and 'failed' in err[0] and str(log_dir) in err[0]
    assert log_dir.read_text() == 'now a regular file\n'


def test_a_log_directory_replaced_by_a_file_at_the_day_change_does_not_fail_requests(make_app, log_dir, capfd,
                                                                                  monkeypatch):
    web = served_once(make_app)
    shutil.rmtree(log_dir)
    log_dir.write_text('now a regular file\n')
    real_time, real_time_ns = time.time, time.time_ns
    monkeypatch.setattr(canister, '_now', lambda: real_time() + 86400)  # the next day: a new file is needed
    monkeypatch.setattr(time, 'time_ns', lambda: real_time_ns() + 86400 * 10**9)  # (the logging module's clock)
    for _ in range(3):
        assert web.get('/').text == 'ok'
    monkeypatch.undo()
    err = capfd.readouterr().err.splitlines()
    assert len(err) == 1
    assert 'logging' in err[0] and 'failed' in err[0]
    assert log_dir.read_text() == 'now a regular file\n'


def test_when_the_next_days_file_cannot_be_opened_its_lines_go_on_to_the_days_before_and_both_ends_are_told(
        make_app, log_dir, clock, capfd, monkeypatch):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/').text == 'ok'
    yesterday, tomorrow = log_dir / ('log.' + _clock_day(clock)), log_dir / ('log.' + _clock_day(clock, 1))
    tomorrow.mkdir()                                   # at midnight the new day's file cannot be opened
    real_time_ns = time.time_ns
    clock.advance(86400)
    monkeypatch.setattr(time, 'time_ns', lambda: real_time_ns() + 86400 * 10**9)  # (the logging module's clock)
    for _ in range(3):
        assert web.get('/?during=outage').text == 'ok'
    tomorrow.rmdir()                                   # room again: the outage ends
    time.sleep(1.1)                                    # (opening is tried again a second after it failed)
    for _ in range(2):
        assert web.get('/?after=outage').text == 'ok'
    monkeypatch.undo()
    err = told(capfd.readouterr().err)
    assert err == ['canister: cannot open %s: Is a directory; lines go on to the file open before (%s, or the name '
                   'it was renamed to) until it can' % (tomorrow, yesterday.name),
                   'canister: logging to %s works again' % log_dir]
    assert yesterday.read_text().count('/?during=outage') == 3   # none lost
    assert tomorrow.read_text().count('/?after=outage') == 2


def test_an_old_log_file_that_cannot_be_deleted_is_told_once_on_stderr_and_the_days_file_is_used(
        make_app, log_dir, clock, capfd):
    log_dir.mkdir()
    stuck = log_dir / ('log.' + _clock_day(clock, -40))
    stuck.mkdir()                                      # what os.remove cannot delete, even for root
    (stuck / 'inside').write_text('x\n')
    (log_dir / ('log.' + _clock_day(clock, -1))).write_text('yesterday\n')   # (no leap of the date at install)
    app = make_app(log_days=30)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/?first').text == 'ok'
    (log_dir / ('log.' + _clock_day(clock))).unlink()  # the next look opens the day's file again, and deletes again
    time.sleep(1.1)
    assert web.get('/?second').text == 'ok'
    assert told(capfd.readouterr().err) == ['canister: cannot delete the old log file %s: Is a directory' % stuck]
    assert '/?second' in (log_dir / ('log.' + _clock_day(clock))).read_text()



SHARED_INSTALL = r'''
import os, sys, time
import bottle, canister
logs, go, ready = sys.argv[1], sys.argv[2], sys.argv[3]
open(os.path.join(ready, str(os.getpid())), 'w').close()
while not os.path.exists(go):
    time.sleep(0.001)
bottle.Bottle().install(canister.Canister(log_path=logs))
'''


def test_workers_that_delete_the_same_old_log_files_at_once_tell_nothing(tmp_path):
    """Three processes installing at the same moment on one directory (gunicorn's workers booting) each delete
    the files older than log_days: a file another deleted first is no failure."""
    logs = tmp_path / 'logs'
    logs.mkdir()
    started = time.time()
    for days in range(31, 3031):
        (logs / ('log.' + today(-days, at=started))).touch()
    (logs / ('log.' + today(-1, at=started))).touch()   # (they ran yesterday: no leap of the date)
    go, ready = tmp_path / 'go', tmp_path / 'ready'
    ready.mkdir()
    workers = [subprocess.Popen([sys.executable, '-c', SHARED_INSTALL, str(logs), str(go), str(ready)],
                                cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)), stderr=subprocess.PIPE,
                                text=True)
               for _ in range(3)]
    # (each has imported canister and waits: seconds on a busy machine, where a fixed pause let them start apart)
    wait_until(lambda: len(list(ready.iterdir())) == 3, 60, what='the three workers importing canister')
    go.touch()
    said = [told(worker.communicate(timeout=60)[1]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0]
    assert said == [[], [], []]
    assert sorted(path.name for path in logs.iterdir()) in [['log.' + today(-1, at=started), 'log.' + day]
                                                            for day in days_since(started)]  # (a midnight may pass)


#: For the scripts below (run with ``python -c``), after their ``app`` is made: ``get()`` serves a GET of / in
#: process (``get(query)`` with that query string), asserting that it answers ok.
GET_OK = r'''
import io, sys
environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/', 'SERVER_NAME': 'h', 'SERVER_PORT': '80', 'REMOTE_ADDR': '127.0.0.1',
           'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(), 'wsgi.errors': sys.stderr}
def get(query=None):
    sent = dict(environ) if query is None else dict(environ, QUERY_STRING=query)
    assert b''.join(app(sent, lambda status, headers, exc_info=None: None)) == b'ok'
'''

UNLISTABLE = r'''
import io, os, sys, time
import bottle, canister
logs, user, now = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
canister._now = lambda: now   # (canister's clock stopped: the day's file is the one of the test's day)
day_file = os.path.join(logs, 'log.' + time.strftime('%Y-%m-%d', time.localtime(now)))
if user != os.geteuid():
    os.setuid(user)     # (as gunicorn's workers do: imported as root, then another user)
app = bottle.Bottle()
app.install(canister.Canister(log_path=logs))
app.route('/', callback=lambda: 'ok')
''' + GET_OK + r'''get('before')
os.chmod(logs, 0o300)   # files can still be made and written in it, but its names cannot be listed
os.remove(day_file)
for query in ('after-1', 'after-2'):
    time.sleep(1.1)     # (the day's file is looked for once a second)
    get(query)
'''


def test_a_log_directory_whose_names_cannot_be_listed_is_told_as_such_and_the_new_file_is_used(tmp_path):
    """Not "cannot open": the day's file opened, only listing the old files to delete them failed.  Run as
    nobody when the tests run as root (who may list any directory)."""
    with directory_of_nobody('logs') as logs:
        now = time.time()
        done = run_script(UNLISTABLE, logs, str(nobody_or_me()), repr(now), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        day_file = os.path.join(logs, 'log.' + today(at=now))
        assert told(done.stderr) == ['canister: cannot delete the log files older than 30 days: cannot list %s: '
                                     'Permission denied; lines go on to %s' % (logs, day_file)]
        with open(day_file) as lines:
            written = lines.read()
        assert 'after-1' in written and 'after-2' in written


UNLISTABLE_DAYS = r'''
import io, os, sys, time
import bottle, canister
logs, user, now = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
canister._now = lambda: now   # (canister's clock stopped: the day's file is the one of the test's day)
day_file = os.path.join(logs, 'log.' + time.strftime('%Y-%m-%d', time.localtime(now)))
if user != os.geteuid():
    os.setuid(user)
app = bottle.Bottle()
app.install(canister.Canister(log_path=logs))
app.route('/', callback=lambda: 'ok')
''' + GET_OK + r'''for mode in (0o300, 0o300, 0o700, 0o300):   # unlistable for two new files, listable, then unlistable again
    os.chmod(logs, mode)
    os.remove(day_file)                                                  # (what midnight does: a new file)
    time.sleep(1.1)                                                      # (the day's file is looked for once a second)
    get('m%o' % mode)
'''


def test_a_log_directory_that_cannot_be_listed_is_told_once_until_it_can_be_again_not_at_every_new_file(tmp_path):
    """Run as nobody when the tests run as root (who may list any directory)."""
    with directory_of_nobody('logs') as logs:
        now = time.time()
        done = run_script(UNLISTABLE_DAYS, logs, str(nobody_or_me()), repr(now), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        line = ('canister: cannot delete the log files older than 30 days: cannot list %s: Permission denied; '
                'lines go on to %s' % (logs, os.path.join(logs, 'log.' + today(at=now))))
        assert told(done.stderr) == [line, line]       # the first new file, then the first after it could be listed


def test_canisters_lines_on_stderr_start_with_the_time_as_its_log_lines_do(make_app, log_dir, clock, capfd):
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    _fail_the_days_file(log_dir, clock)
    clock.advance(7.25)   # (canister's clock, stopped: the time its lines take)
    assert client(app).get('/').text == 'ok'
    [line] = capfd.readouterr().err.splitlines()
    stamp = re.match(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} canister: logging to %s failed: ' % re.escape(str(log_dir)),
                     line)
    assert stamp, line
    assert stamp.group(1) == time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(clock.now)), line


def test_apps_sharing_a_log_directory_keep_the_files_of_the_longest_log_days(make_app, log_dir, clock):
    log_dir.mkdir()
    month_old = log_dir / ('log.' + _clock_day(clock, -20))
    month_old.write_text('old line\n')
    audited = make_app(log_days=30)
    audited.route('/', callback=lambda: 'ok')
    health = make_app(log_days=1)              # another app of the process, writing to the same directory

    def reopen_todays_file() -> None:          # what midnight does: the next line opens a new file
        today_file = log_dir / ('log.' + _clock_day(clock))
        today_file.unlink()
        deadline = time.monotonic() + 30
        while not today_file.exists() and time.monotonic() < deadline:
            client(audited).get('/')
            time.sleep(0.05)
        assert today_file.exists()

    reopen_todays_file()
    assert month_old.exists(), "the 30 days of one app were cut to another app's 1"
    health.uninstall(True)
    reopen_todays_file()
    assert month_old.exists()



def test_an_app_in_another_process_sharing_the_directory_deletes_by_its_own_log_days(make_app, log_dir):
    log_dir.mkdir()
    month_old = log_dir / ('log.' + today(-20))
    month_old.write_text('old line\n')
    (log_dir / ('log.' + today(-1))).write_text('a line of yesterday\n')
    make_app(log_days=30)                      # this process keeps 30 days
    other = 'import bottle, canister\nbottle.Bottle().install(canister.Canister(log_path=%r, log_days=7))\n'
    run_script(other % str(log_dir), check=True)
    assert not month_old.exists(), 'the other process deletes by its own 7 days (the README says so)'


def test_an_app_writing_json_to_the_directory_of_an_app_writing_text_is_warned_and_the_file_says_so(log_dir):
    text_app = bottle.Bottle()
    text_app.install(canister.Canister(log_path=str(log_dir)))
    try:
        json_app, said = install_warned(log_dir, log_format='json')
        try:
            expected = ('canister.log_format = json, but another app of this process writes text lines to the files in '
                        '%s, which will hold lines of both formats: give this app a log_path of its own, or the same '
                        'log_format' % log_dir)
            assert said == [expected]
            entries = [json.loads(line) for line in read_log(log_dir).splitlines() if line.startswith('{')]
            assert [(entry['level'], entry['message']) for entry in entries if entry['level'] == 'WARNING'] == [
                ('WARNING', expected)]
        finally:
            json_app.uninstall(True)
    finally:
        text_app.uninstall(True)


def test_apps_writing_one_format_to_one_place_and_an_app_reinstalled_with_the_other_are_not_warned(log_dir):
    first, said_first = install_warned(log_dir, log_format='json')
    second, said_second = install_warned(log_dir, log_format='json')
    try:
        assert said_first == said_second == []
        second.uninstall(True)
        first.uninstall(True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            first.install(canister.Canister(log_path=str(log_dir)))    # text now: no app writes json there any more
        assert [warning for warning in caught if warning.category is canister.CanisterWarning] == []
        assert 'of both formats' not in read_log(log_dir)
    finally:
        first.uninstall(True)


FULL_DISK = r'''
import io, os, resource, signal, sys
import bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[1]))
app.route('/', callback=lambda: app.log.info('X' * 300) or 'ok')
path = os.path.join(sys.argv[1], os.listdir(sys.argv[1])[0])
''' + GET_OK + r'''signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
for room in (150, 0):   # the disk has room for half a line, then none: two outages
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + room, resource.RLIM_INFINITY))
    get()
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    get()
'''


def test_a_full_disk_cuts_no_line_into_the_next_and_each_outage_is_told_on_stderr(log_dir):
    """Simulated with a file size limit: the kernel writes what fits, then refuses."""
    log_dir.mkdir()
    done = subprocess.run([sys.executable, '-c', FULL_DISK, str(log_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    said = told(done.stderr)
    assert len(said) == 4 and 'failed: a line was cut short (is the disk full?)' in said[0] and 'File too large' in said[2], said
    assert said[1] == said[3] == 'canister: logging to %s works again' % log_dir
    lines = read_log(log_dir).splitlines()
    assert all(re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ', line) for line in lines if line.strip('X') != '')
    assert sum(1 for line in lines if line.endswith('X' * 300)) >= 2   # the lines written after each outage, whole


CUT_THEN_TRUNCATED = r'''
import io, os, resource, signal, sys
import bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=sys.argv[1]))
app.route('/', callback=lambda: app.log.info('X' * 300) or 'ok')
path = os.path.join(sys.argv[1], os.listdir(sys.argv[1])[0])
''' + GET_OK + r'''signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 150, resource.RLIM_INFINITY))
get()   # the disk has room for half a line: the line is cut short
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
os.truncate(path, 0)   # logrotate's copytruncate, before the next line
get()
'''


def test_a_line_cut_short_then_emptied_by_copytruncate_leaves_no_empty_line_at_the_files_start(log_dir):
    log_dir.mkdir()
    done = run_script(CUT_THEN_TRUNCATED, str(log_dir), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'failed: a line was cut short (is the disk full?)' in told(done.stderr)[0]
    log = read_log(log_dir)
    assert re.match(STAMP + ' INFO ', log), log[:80]
    assert all(LINE.match(line) for line in log.splitlines()), log


FULL_STREAM = r'''
import io, os, resource, signal, sys
import bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path='stderr', log_format='json'))
app.route('/', callback=lambda: 'ok')
''' + GET_OK + r'''signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.fstat(2).st_size, resource.RLIM_INFINITY))   # no room left
get()
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
get()
'''


def test_with_json_lines_on_stderr_canisters_notices_about_its_log_are_json_objects_in_the_stream_too(tmp_path):
    """The log is stderr (a file here, so that a size limit can fill it): the notice that logging works again
    lands among the log's JSON lines, and a collector parsing them gets an object like theirs."""
    stream = tmp_path / 'stderr'
    with open(stream, 'w') as into:
        done = run_script(FULL_STREAM, stderr=into)
    lines = stream.read_text().splitlines()
    assert done.returncode == 0, lines
    entries = [json.loads(line) for line in lines]     # every line of the stream is an object
    notices = [entry for entry in entries if entry['message'].startswith('canister: logging to stderr')]
    assert notices and notices[-1]['message'] == 'canister: logging to stderr works again', lines
    for notice in notices:
        assert sorted(notice) == ['level', 'message', 'pid', 'request_id', 'thread', 'time'] and notice['request_id'] == ''
        assert re.fullmatch(ISO_STAMP, notice['time']) and notice['pid'] != os.getpid()
        assert {entry['pid'] for entry in entries} == {notice['pid']}   # (the script's, as its request lines')
    assert notices[-1]['level'] == 'INFO' and all(notice['level'] == 'ERROR' for notice in notices[:-1])
    [response] = [entry for entry in entries[entries.index(notices[-1]):] if entry['message'].startswith('Response:')]
    assert notices[-1]['thread'] == response['thread'] == '127.0.0.1-...'   # (the request's, as its own lines)


def streamed_past_uninstall(make_app, tmp_path):
    """An app whose streamed response goes on after its canister is uninstalled (between two chunks):
    the session it changes then cannot be saved (the store is closed), which canister logs at ERROR,
    and the handler logs a line of its own."""
    app = make_app(session_store='sqlite:///%s' % (tmp_path / 'sessions.db'))

    @app.get('/stream')
    def stream():
        canister.session.data['a'] = 1
        yield 'first '
        app.uninstall(canister.Canister)
        canister.session.data['b'] = 2
        app.log.warning('the handler after the uninstall')
        yield 'second'

    return app


def test_a_line_logged_after_uninstall_is_dropped_not_printed_on_stderr(make_app, tmp_path, log_dir, capfd):
    app = streamed_past_uninstall(make_app, tmp_path)
    assert client(app).get('/stream').text == 'first second'
    out, err = capfd.readouterr()
    assert 'Session not saved' not in err and 'the handler after the uninstall' not in err, err
    log = read_log(log_dir)
    assert 'Session not saved' not in log and 'the handler after the uninstall' not in log


def test_a_handler_the_app_added_to_its_log_still_gets_the_lines_logged_after_uninstall(make_app, tmp_path):
    app = streamed_past_uninstall(make_app, tmp_path)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    app.log.addHandler(handler)
    try:
        client(app).get('/stream')
    finally:
        app.log.removeHandler(handler)
    messages = [record.getMessage() for record in records]
    assert 'the handler after the uninstall' in messages
    assert any(message.startswith('Session not saved after the streamed response: ') for message in messages)
