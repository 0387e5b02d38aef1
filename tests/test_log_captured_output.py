"""``log_path = stderr`` under gunicorn's ``--capture-output``, where the workers' stderr is the master's
``--error-logfile`` (a file opened for appending, as journald's stream is one collector for every process): three
workers writing request lines longer than a pipe's atomic write (4,096 bytes) at once leave every line whole, one
record per line in JSON, no colour codes in either format.  Real gunicorn (tests/apps/load_app.py), real HTTP."""
import concurrent.futures
import json
import os
import re
import string
import urllib.request

import pytest

from servers import AppServer

#: A line gunicorn writes itself, with its own stamp.
GUNICORNS_OWN = re.compile(r'\[\d{4}-\d\d-\d\d [\d:]+ [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ')
#: The start of a text record.
RECORD = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ +\[')


def captured_output(log_format, requests=240):
    """The error log of a 3-worker gunicorn after ``requests`` concurrent GETs, each with a query of 9,000 letters
    of one kind (every fourth a /boom, whose traceback is logged), and the queries sent."""
    server = AppServer('load_app:app', workers=3, env={'CANISTER_LOG_PATH': 'stderr', 'CANISTER_LOG_FORMAT': log_format},
                       args=['--threads', '4', '--capture-output', '--limit-request-line', '0'])
    error_log = os.path.join(server.workdir, 'errors.log')
    server.args += ['--error-logfile', error_log]
    queries = ['name=' + string.ascii_letters[n % 52] * 9000 for n in range(requests)]

    def get(number):
        path = '/boom' if number % 4 == 0 else '/bump'
        try:
            urllib.request.urlopen('%s%s?%s' % (server.url, path, queries[number]), timeout=30).read()
        except urllib.error.HTTPError as error:
            assert error.code == 500
    try:
        server.start()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(get, range(requests)))
        server.stop()
        with open(error_log, encoding='utf-8') as output:
            return output.read(), queries
    finally:
        server.cleanup()


def long_request_lines(messages):
    return sorted(message.split('?', 1)[1] for message in messages if message.startswith('GET ') and '?name=' in message)


@pytest.mark.parametrize('log_format', ['json', 'text'])
def test_workers_capturing_their_output_into_one_error_log_leave_long_lines_whole_and_uncoloured(log_format):
    output, queries = captured_output(log_format)
    assert '\x1b' not in output
    ours = [line for line in output.splitlines() if not GUNICORNS_OWN.match(line)]
    if log_format == 'json':
        records = [json.loads(line) for line in ours]   # (every line one object: one journald entry per record)
        messages = [record['message'] for record in records]
        assert sum(1 for record in records if 'RuntimeError: boom' in record.get('traceback', '')) == len(queries) // 4
    else:
        assert [line for line in ours if not RECORD.match(line) and not line.startswith('  ')] == []
        messages = [line.split(']   ', 1)[1] for line in ours if RECORD.match(line)]
    assert long_request_lines(messages) == sorted(queries)
