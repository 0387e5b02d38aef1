"""A Redis that refuses the app while it runs, on real servers: full, with a new password, or a replica.

tests/apps/load_app.py on gunicorn workers over a private ``redis-server``.  Full: its ``maxmemory`` is
set below what it holds (``CONFIG SET maxmemory 1``, ``maxmemory-policy noeviction``), and Redis refuses
every write with its ``OOM`` error, as it does once a real one fills up.  A new password: ``requirepass``
changed and the app's connections dropped, as a rotation with a restart of Redis does.  A replica: a URL
that names one (``REPLICAOF``) for good, whose every write is refused (``READONLY``).  What the client
and the on-call engineer see.
"""
import collections
import re
import time

import pytest
import redis

import canister
from helpers import at_once, client, read_log, with_cookie
from servers import AppServer, Client, RedisServer, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left_running')

#: A session id's characters (URL-safe base64).
_ID_CHARACTERS = '[A-Za-z0-9_-]'


@pytest.fixture
def full_redis_app(redis_server, tmp_path):
    """(app server, redis client, log dir): load_app on two gunicorn workers over ``redis_server``."""
    logs = tmp_path / 'logs'
    app = AppServer('load_app:app', server='gunicorn', workers=2,
                    env={'CANISTER_SESSION_STORE': redis_server.url, 'CANISTER_LOG_PATH': str(logs)})
    app.start()
    yield app, redis.Redis(port=redis_server.port), logs
    app.cleanup()


def make_redis_full(client):
    """Make Redis refuse every write as a full one does."""
    client.config_set('maxmemory-policy', 'noeviction')
    client.config_set('maxmemory', '1')


def non_response_error_lines(logs):
    """The ERROR lines of the log other than the Response lines of 5xx answers."""
    return [line for line in read_log(logs).splitlines() if ' ERROR ' in line and 'Response: ' not in line]


def test_a_full_redis_answers_503_and_its_log_line_holds_no_session_id(full_redis_app):
    app, client, logs = full_redis_app
    make_redis_full(client)
    answer = Client(app.url).get('/login?name=alice')
    assert answer.status == 503
    [line] = non_response_error_lines(logs)
    short = re.search(r'\[127\.0\.0\.1-(%s{6})\]' % _ID_CHARACTERS, line).group(1)
    assert not re.search(re.escape(short) + _ID_CHARACTERS, line.split(']', 1)[1]), line
    assert 'canister:session:' not in line and 'alice' not in line, line


def test_a_full_redis_is_named_in_the_log_with_what_to_do(full_redis_app):
    app, client, logs = full_redis_app
    web = Client(app.url)
    assert web.get('/bump').status == 200
    make_redis_full(client)
    assert web.get('/bump').status == 503  # a session already there cannot be changed either
    assert Client(app.url).get('/bump').status == 503  # nor a new one made
    lines = non_response_error_lines(logs)
    assert len(lines) == 2
    for line in lines:
        assert "Redis is full (maxmemory reached): raise maxmemory, and keep maxmemory-policy noeviction" in line, line


def test_a_redis_with_room_again_serves_the_same_session(full_redis_app):
    app, client, logs = full_redis_app
    web = Client(app.url)
    assert web.get('/bump').json()['counter'] == 1
    make_redis_full(client)
    assert web.get('/bump').status == 503
    client.config_set('maxmemory', '0')
    assert web.get('/bump').json()['counter'] == 2


def test_a_password_changed_on_redis_while_the_app_runs_is_a_503_whose_line_says_to_fix_it_and_restart(redis_server,
                                                                                                      tmp_path):
    setup = redis.Redis(port=redis_server.port)
    setup.config_set('requirepass', 'old-S3cret')
    logs = tmp_path / 'logs'
    app = AppServer('load_app:app', server='gunicorn', workers=1, env={
        'CANISTER_SESSION_STORE': 'redis://:old-S3cret@127.0.0.1:%d/0' % redis_server.port,
        'CANISTER_LOG_PATH': str(logs)})
    app.start()
    try:
        web = Client(app.url)
        assert web.get('/bump').status == 200
        rotated = redis.Redis(port=redis_server.port, password='old-S3cret')
        rotated.config_set('requirepass', 'new-S3cret')
        redis.Redis(port=redis_server.port, password='new-S3cret').client_kill_filter(_type='normal', skipme=True)
        assert web.get('/bump').status == 503
    finally:
        app.cleanup()
    [line] = non_response_error_lines(logs)
    assert line.endswith('the Redis session store is unavailable: invalid username-password pair or user is disabled. '
                         '(Redis refused the credentials: fix the user name and password of session_store, then '
                         'restart the app)')
    assert 'S3cret' not in read_log(logs)



def test_a_url_that_names_a_replica_for_good_answers_503_with_the_replica_line_at_each_request(
        redis_server, started, make_app, log_dir):
    """A read-only replica refuses every write, a session's read too (its PEXPIRE, once the session has life to
    get back): each request that needs the session is a 503 whose ERROR line says why, the next one too (its
    connections dropped, it connects again to the same replica)."""
    replica = RedisServer()
    started.append(replica.start())
    replica_client = redis.Redis(port=replica.port)
    replica_client.replicaof('127.0.0.1', redis_server.port)
    wait_until(lambda: replica_client.info('replication')['master_link_status'] == 'up', 30, what='the replica')
    on_master = make_app(session_store=redis_server.url, log_path=str(log_dir / 'master'))
    on_replica = make_app(session_store=replica.url)
    for app in (on_master, on_replica):
        app.route('/write', callback=lambda: canister.session.data.update(n=1) or canister.session.sid)
        app.route('/read', callback=lambda: repr(canister.session.data))
    sid = client(on_master).get('/write').text
    wait_until(lambda: replica_client.dbsize() >= 1, 30, what='the session on the replica')
    time.sleep(0.01)  # (a read in the very millisecond of the save has no life to give back: no PEXPIRE, a 200)

    web = client(on_replica)
    answers = [web.get('/read', headers=with_cookie(sid), expect_errors=True), web.get('/write', expect_errors=True)]
    time.sleep(1.1)  # (a line said again within its second is counted, not written)
    answers.append(web.get('/read', headers=with_cookie(sid), expect_errors=True))

    assert [answer.status_int for answer in answers] == [503, 503, 503]
    # (the install found a replica: the hint is to point the URL at the master, not a failover's to connect again)
    refused = ("You can't write against a read only replica. (the server the URL names is a read-only replica, which "
               "refuses every write: point the URL at the master, or use a redis+sentinel:// URL, which finds the "
               "master (redis+cluster:// for a Cluster))")
    lines = non_response_error_lines(log_dir)
    assert len(lines) == 3, lines
    assert lines[0].endswith('the Redis session store is unavailable: ' + refused), lines  # the read
    assert lines[1].endswith('the Redis session store is unavailable: SET failed: ' + refused), lines  # a new one
    assert lines[2].endswith('the Redis session store is unavailable: ' + refused), lines  # and again


def test_requests_at_once_on_a_replica_each_answer_503_none_500(redis_server, started, make_app):
    """A request that meets READONLY drops the connections to the replica, but not those other threads are using
    at that moment: closing one under another thread's command failed that command with an AttributeError of
    redis-py's (a 500, ``the session store raised AttributeError``) or a ``Bad file descriptor``."""
    replica = RedisServer()
    started.append(replica.start())
    replica_client = redis.Redis(port=replica.port)
    replica_client.replicaof('127.0.0.1', redis_server.port)
    wait_until(lambda: replica_client.info('replication')['master_link_status'] == 'up', 30, what='the replica')
    app = make_app(session_store=replica.url, catchall=True)
    app.route('/write', callback=lambda: canister.session.data.update(n=1) or 'written')

    def requests_for_two_seconds():
        web, statuses, end = client(app), collections.Counter(), time.monotonic() + 2
        while time.monotonic() < end:
            statuses[web.get('/write', expect_errors=True).status_int] += 1
        return statuses

    statuses = sum(at_once([requests_for_two_seconds] * 8), collections.Counter())
    assert set(statuses) == {503}, statuses


#: The 503's text for a login the login throttle's store could not count.
THROTTLE_UNAVAILABLE = ('Service unavailable: the login cannot be counted against the limit of failed logins (the '
                        'session store that keeps the count cannot be reached or written), retry shortly\n')


def test_a_login_on_a_replica_answers_503_saying_the_login_cannot_be_counted_and_logs_that_it_is_a_replica(
        redis_server, started, make_app, log_dir):
    """The login throttle writes its count first: on a replica that write is refused.  The client learns that
    its login cannot be counted (nothing of the server's kind); the ERROR line says Redis is a read-only replica."""
    replica = RedisServer()
    started.append(replica.start())
    redis.Redis(port=replica.port).replicaof('127.0.0.1', redis_server.port)
    app = make_app(session_store=replica.url, auth_basic_username='alice', auth_basic_password='wonderland')
    app.route('/me', callback=lambda: canister.session.user)

    @app.post('/login')
    def login(username: str, password: str):
        return str(canister.log_in(username, password))

    web = client(app)
    basic_login = web.get('/me', headers={'Authorization': 'Basic YWxpY2U6d29uZGVybGFuZA=='}, status=503)
    time.sleep(1.1)  # (a line said again within its second is counted, not written)
    form_login = web.post('/login', {'username': 'alice', 'password': 'wonderland'}, status=503)

    assert basic_login.text == form_login.text == THROTTLE_UNAVAILABLE
    assert basic_login.headers['Retry-After'] == form_login.headers['Retry-After'] == '1'
    refused = ("the Redis login throttle is unavailable: You can't write against a read only replica. (the server "
               "the URL names is a read-only replica, which refuses every write: point the URL at the master, or use "
               "a redis+sentinel:// URL, which finds the master (redis+cluster:// for a Cluster))")
    lines = non_response_error_lines(log_dir)
    assert len(lines) == 2 and all(line.endswith(refused) for line in lines), lines
