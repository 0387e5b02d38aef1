"""The apps the tests serve from gunicorn or waitress (tests/apps, their plugin through ``_common.canister_app``) write
no WARNING for a slow response unless the test asks with $CANISTER_LOG_SLOW, as make_app's apps in the test process do
(log_slow 0): under another job's load any request can take longer than log_slow's default 1 s, and its WARNING line
would upset a test that counts WARNINGs or reads the last line."""
import re
import time

import pytest

from helpers import read_log
from servers import AppServer, Client


@pytest.mark.parametrize('log_slow, warned', [(None, False), ('0.5', True)], ids=['not-asked', 'asked'])
def test_a_served_test_app_warns_of_a_slow_response_only_when_the_test_asks(tmp_path, log_slow, warned):
    env = {'CANISTER_LOG_PATH': str(tmp_path), 'CANISTER_SESSION_STORE': 'memory'}
    if log_slow:
        env['CANISTER_LOG_SLOW'] = log_slow
    with AppServer('concurrency_app:app', env=env) as server:
        assert Client(server.url).get('/incr?key=k&delay=1.2').status == 200   # slower than log_slow's default, 1 s
        assert Client(server.url).get('/ping').status == 200
        deadline = time.monotonic() + 30
        while _since_incr(read_log(tmp_path)).count('Response: 200') < 2 and time.monotonic() < deadline:
            time.sleep(0.02)   # (the response lines of both: the slow one's is written, whatever its level)
    log = _since_incr(read_log(tmp_path))

    assert log.count('Response: 200') == 2, log
    assert bool(re.search(r' WARNING .*Response: 200 \(\d+ms\)', log)) is warned, log


def _since_incr(log):
    """The log from the slow request's line on ('' before it)."""
    return log[log.index('/incr?'):] if '/incr?' in log else ''
