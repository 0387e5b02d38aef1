"""A JSON log line's ``time`` is RFC 3339, local time with its offset from UTC, which ``datetime.fromisoformat``
reads as the instant the line was written, under a zone with daylight saving time too (in the hour a change
repeats); its ``pid`` is the process that wrote it, one per gunicorn worker sharing a log."""
import collections
import datetime
import json
import time
import zoneinfo

import pytest

from helpers import read_log, run_script
from servers import AppServer, Client

pytestmark = pytest.mark.usefixtures('nothing_left_running')

NEW_YORK = 'America/New_York'

#: An app logging JSON lines to stderr, whose clock (``canister._now``, its seam for time) is set to each time given
#: on the command line before a request is sent, the request's id naming that time's index; it prints its pid.
AT_FAKE_TIMES = r'''
import io, os, sys
import bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path='stderr', log_format='json'))
app.route('/', callback=lambda: 'ok')
for index, at in enumerate(sys.argv[1:]):
    canister._now = lambda at=float(at): at
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/', 'SERVER_NAME': 'h', 'SERVER_PORT': '80',
               'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_REQUEST_ID': 'at-%d' % index,
               'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(), 'wsgi.errors': sys.stderr}
    assert b''.join(app(environ, lambda status, headers, exc_info=None: None)) == b'ok'
print(os.getpid())
'''


def utc(*fields):
    """The time ``fields`` (year, month, day, hour, minute, second, microsecond) in UTC, in seconds since the epoch."""
    return datetime.datetime(*fields, tzinfo=datetime.timezone.utc).timestamp()


#: New York's times around its changes of 2026, in UTC, and the time each line of a request then shows.
NEW_YORK_CHANGES = [
    (utc(2026, 3, 8, 6, 59, 59, 500000), '2026-03-08T01:59:59.500-05:00'),   # the last second of EST
    (utc(2026, 3, 8, 7, 0, 0, 250000), '2026-03-08T03:00:00.250-04:00'),     # EDT: 02:00 to 03:00 never comes
    (utc(2026, 11, 1, 5, 30, 0, 500000), '2026-11-01T01:30:00.500-04:00'),   # the first 01:30, in EDT
    (utc(2026, 11, 1, 5, 59, 59, 500000), '2026-11-01T01:59:59.500-04:00'),  # the last second of EDT
    (utc(2026, 11, 1, 6, 0, 0, 250000), '2026-11-01T01:00:00.250-05:00'),    # the hour again, in EST
    (utc(2026, 11, 1, 6, 30, 0, 500000), '2026-11-01T01:30:00.500-05:00'),   # the second 01:30
    (utc(2026, 11, 1, 5, 30, 0, 500000), '2026-11-01T01:30:00.500-04:00'),   # the first again: the clock set back
]


def lines_at_fake_times(monkeypatch, zone, times):
    """The JSON lines of requests sent to ``AT_FAKE_TIMES`` under ``TZ=zone`` at ``times``, and its pid."""
    monkeypatch.setenv('TZ', zone)   # (the script's environment, which run_script copies from this process's)
    done = run_script(AT_FAKE_TIMES, *map(repr, times), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stderr.splitlines()], int(done.stdout)


def test_a_json_lines_time_carries_its_offset_across_new_yorks_daylight_saving_changes(monkeypatch):
    """A fake clock through canister's seam, ``canister._now``, steps across both changes of 2026 under
    ``TZ=America/New_York``: each line's time is the local time with the offset in force in that second, so the two
    01:30s of 1 November read as the two instants they are."""
    entries, pid = lines_at_fake_times(monkeypatch, NEW_YORK, [at for at, _ in NEW_YORK_CHANGES])
    by_request = collections.defaultdict(list)
    for entry in entries:
        by_request[entry['request_id']].append(entry)
    for index, (at, shown) in enumerate(NEW_YORK_CHANGES):
        mine = by_request['at-%d' % index]
        assert [entry['message'].split(' ', 1)[0] for entry in mine] == ['GET', 'Response:'], entries
        for entry in mine:
            assert entry['time'] == shown
            written = datetime.datetime.fromisoformat(entry['time'])
            assert written.tzinfo is not None and written.timestamp() == at
            assert entry['pid'] == pid


def test_a_json_lines_time_in_a_zone_half_an_hour_off_the_hour_reads_as_its_instant(monkeypatch):
    at = utc(2026, 12, 7, 4, 9, 23, 250000)
    entries, pid = lines_at_fake_times(monkeypatch, 'Asia/Kolkata', [at])
    request = [entry for entry in entries if entry['request_id'] == 'at-0']
    assert [entry['time'] for entry in request] == ['2026-12-07T09:39:23.250+05:30'] * 2
    assert datetime.datetime.fromisoformat(request[0]['time']).timestamp() == at and request[0]['pid'] == pid


@pytest.mark.parametrize('app, preload', [('load_app:app', False), ('preload_app:app', True)])
def test_two_gunicorn_workers_sharing_a_log_file_each_write_their_own_pid_and_the_time_of_now(tmp_path, app, preload):
    """A real gunicorn under ``TZ=America/New_York``, two workers logging JSON lines to one directory (each importing
    the app, or forked after ``--preload``): every request's lines, found in the shared file by its
    ``X-Request-ID``, carry the pid of the worker that answered it, both workers' pids appear, and each line's time
    reads as an aware time within the request's own span, at New York's offset of that instant."""
    logs = tmp_path / 'logs'
    server = AppServer(app, workers=2, args=['--preload'] if preload else [],
                       env={'TZ': NEW_YORK, 'CANISTER_LOG_PATH': str(logs), 'CANISTER_LOG_FORMAT': 'json',
                            'CANISTER_SESSION_STORE': 'memory'})
    server.start()
    try:
        answered = {}   # request id -> (the pid that answered, the time before it was sent, the time after)
        deadline = time.monotonic() + 30
        while (len({pid for pid, _, _ in answered.values()}) < 2 or len(answered) < 10) and time.monotonic() < deadline:
            before = time.time()
            answer = Client(server.url).get('/ping')
            after = time.time()
            assert answer.status == 200
            answered[answer.headers['X-Request-ID']] = (answer.json()['pid'], before, after)
        workers = {pid for pid, _, _ in answered.values()}
        assert len(workers) == 2 and server.proc.pid not in workers
        entries = [json.loads(line) for line in read_log(logs).splitlines()]
    finally:
        server.cleanup()
    seen = collections.defaultdict(list)
    for entry in entries:
        seen[entry['request_id']].append(entry)
    new_york = zoneinfo.ZoneInfo(NEW_YORK)
    for request_id, (pid, before, after) in answered.items():
        words = [entry['message'].split(' ', 1)[0] for entry in seen[request_id]]
        assert words[0] == 'GET' and words[-1] == 'Response:', seen[request_id]   # (and any WARNING of the request)
        for entry in seen[request_id]:
            assert entry['pid'] == pid
            written = datetime.datetime.fromisoformat(entry['time'])
            assert written.tzinfo is not None
            assert before - 0.001 <= written.timestamp() <= after    # (milliseconds, cut: never after the line)
            assert written.utcoffset() == datetime.datetime.fromtimestamp(written.timestamp(), new_york).utcoffset()
    assert {entry['pid'] for entry in entries if entry['request_id']} == workers   # each worker's pid in the file
