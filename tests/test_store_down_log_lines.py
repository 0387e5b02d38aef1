"""A session store that is down fails every request that needs it: each keeps its ``Response: 503``
line, but the store's error is one ERROR line a second, the next saying how many requests met it
meanwhile.  A real redis-server, stopped mid-test."""
import re

from helpers import client, cookieless_client, json_counter_app, read_log

DOWN = 'the Redis session store is unavailable: '


def store_lines(log):
    return [line for line in log.splitlines() if DOWN in line]


def test_a_store_that_is_down_is_one_error_line_a_second_however_many_requests_meet_it(
        make_app, redis_server, log_dir, clock):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    assert web.get('/count').json == {'n': 1}
    redis_server.stop()
    for _ in range(5):
        web.get('/count', status=503)
    log = read_log(log_dir)
    assert len(re.findall(r' ERROR .*Response: 503 \(\d+ms\)$', log, re.M)) == 5
    [line] = store_lines(log)
    assert ' ERROR ' in line and line.endswith('Connection refused.')
    clock.advance(1.5)
    web.get('/count', status=503)
    log = read_log(log_dir)
    assert len(re.findall(r'Response: 503 \(\d+ms\)$', log, re.M)) == 6
    first, second = store_lines(log)
    assert second == second.split(DOWN)[0] + DOWN + first.split(DOWN)[1] + ' (and 4 more like it in the last 1.5s)'


def test_a_store_that_is_down_again_after_a_quiet_second_is_one_plain_line(make_app, redis_server, log_dir, clock):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    web.get('/count')
    redis_server.stop()
    web.get('/count', status=503)
    clock.advance(1)
    web.get('/count', status=503)
    assert [line.endswith('Connection refused.') for line in store_lines(read_log(log_dir))] == [True, True]


def test_new_sessions_that_cannot_be_saved_share_the_line_of_the_store_that_is_down(
        make_app, redis_server, log_dir, clock):
    web = cookieless_client(json_counter_app(make_app, session_store=redis_server.url))
    redis_server.stop()
    for _ in range(3):
        assert 'Set-Cookie' not in web.get('/count', status=503).headers
    log = read_log(log_dir)
    assert len(re.findall(r'Response: 503 \(\d+ms\)$', log, re.M)) == 3
    assert len(store_lines(log)) == 1
