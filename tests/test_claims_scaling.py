"""Claims of README's "Scaling out" section that no other test checked: a Redis password holding ``#`` and
``@`` written as it is, the password of a Sentinel URL reaching the data nodes through sentinels that have none, a
store built by the app taking ``wait=`` and not the config's ``session_redis_wait``, and
``bottle.run(server='gevent')`` refusing to start without gevent's patching, what gunicorn's SIGTERM and
``--graceful-timeout`` leave in the log, and a request id sent twice.  Real redis-servers, sentinels and gunicorn."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
import redis

import canister
from helpers import ROOT, client, cookie_value, least_time, read_log, run_canister, with_cookie
from redis_topologies import SERVICE, SentinelSetup
from servers import AppServer, Client, free_port, wait_until


def counting_app(make_app, **overrides):
    """``make_app(**overrides)`` whose GET / counts the session's requests from 1."""
    app = make_app(**overrides)

    @app.get('/')
    def index():
        canister.session.data['count'] = canister.session.data.get('count', 0) + 1
        return str(canister.session.data['count'])

    return app


def test_a_redis_password_holding_a_hash_and_an_at_sign_is_written_in_the_url_as_it_is(make_app, redis_server):
    redis.Redis(port=redis_server.port).config_set('requirepass', 'p#ss@word')
    app = counting_app(make_app, session_store='redis://:p#ss@word@127.0.0.1:%d/0' % redis_server.port)
    web = client(app)
    sid = cookie_value(web.get('/'))
    assert [web.get('/').text for _ in range(2)] == ['2', '3']
    assert redis.Redis(port=redis_server.port, password='p#ss@word').exists('canister:session:' + sid)


def test_the_password_of_a_sentinel_url_reaches_the_data_nodes_through_sentinels_that_have_none(make_app):
    """The servers ask for a password and the sentinels do not."""
    with SentinelSetup(replicas=1) as setup:
        master, replica = setup.servers
        replica.client().config_set('masterauth', 'S3cret')
        for node in (replica, master):
            node.client().config_set('requirepass', 'S3cret')
        for sentinel in setup.sentinels:
            sentinel.client().execute_command('SENTINEL', 'SET', SERVICE, 'auth-pass', 'S3cret')
        hosts = ','.join('127.0.0.1:%d' % sentinel.port for sentinel in setup.sentinels)
        app = counting_app(make_app, session_store='redis+sentinel://:S3cret@%s/%s/0' % (hosts, SERVICE))
        web = client(app)
        sid = cookie_value(web.get('/'))
        assert web.get('/').text == '2'
        assert master.client(password='S3cret').exists('canister:session:' + sid)


def test_a_redis_store_the_app_built_waits_for_replicas_as_its_wait_argument_says(make_app, redis_server):
    """A single server has no replica: with ``wait=1`` every save answers 503 within half the socket timeout."""
    store = canister.RedisStore(client=redis.Redis(port=redis_server.port), wait=1)
    with pytest.warns(canister.CanisterWarning, match='the master has 0 replica'):
        app = counting_app(make_app, store=store)

    def save():
        assert client(app).get('/', status=503).headers['Retry-After']

    # WAIT gives up after half the 1 s socket timeout (a second apart: past any second of answers at once)
    waited, tries = least_time(save, below=0.95, pause=1.05)
    assert 0.45 <= waited < 0.95, tries


def test_a_session_store_url_waits_1_s_for_a_frozen_redis_and_a_store_the_app_built_waits_its_timeout(
        make_app, redis_server):
    by_url = counting_app(make_app, session_store=redis_server.url)
    by_app = counting_app(make_app, store=canister.RedisStore(redis_server.url, timeout=0.25))
    waited = []
    redis_server.freeze()                               # SIGSTOP: nothing is answered
    try:  # (tries a timeout apart: past the time after a timeout in which requests answer at once)
        waited.append(least_time(lambda: client(by_url).get('/', status=503), below=1.5, pause=1.05))
        waited.append(least_time(lambda: client(by_app).get('/', status=503), below=0.7, pause=0.3))
    finally:
        redis_server.thaw()
    assert 0.95 <= waited[0][0] < 1.5 and 0.2 <= waited[1][0] < 0.7, waited


def test_a_redis_store_the_app_built_does_not_read_session_redis_wait_from_the_config(make_app, redis_server):
    store = canister.RedisStore(client=redis.Redis(port=redis_server.port))
    app = counting_app(make_app, store=store, session_redis_wait=1)
    first = client(app).get('/')
    assert first.text == '1'
    assert client(app).get('/', headers=with_cookie(cookie_value(first))).text == '2'


def test_bottles_gevent_server_will_not_start_without_gevents_patching(tmp_path):
    pytest.importorskip('gevent')
    script = ('import bottle, canister\napp = bottle.Bottle()\napp.install(canister.Canister(log_path="stderr"))\n'
              'bottle.run(app, server="gevent", host="127.0.0.1", port=%d, quiet=True)\n' % free_port())
    started = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True,
                             timeout=60, env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    assert started.returncode != 0
    assert 'gevent.monkey.patch_all()' in started.stderr


def test_store_problem_describes_credentials_redis_refuses_since_the_install_and_does_not_raise(make_app, redis_server):
    """README, Readiness checks: a ConfigError the check raises (refused credentials) becomes the description."""
    redis.Redis(port=redis_server.port).config_set('requirepass', 'old-S3cret')
    app = make_app(session_store='redis://:old-S3cret@127.0.0.1:%d/0' % redis_server.port)
    plugin = next(p for p in app.plugins if isinstance(p, canister.Canister))
    assert plugin.store_problem() is None
    redis.Redis(port=redis_server.port, password='old-S3cret').config_set('requirepass', 'new-S3cret')
    redis.Redis(port=redis_server.port, password='new-S3cret').client_kill_filter(_type='normal', skipme=True)
    problem = plugin.store_problem()
    assert problem is not None and 'Redis refused the credentials' in problem and 'S3cret' not in problem


@pytest.mark.parametrize('batch, status', [('1', 0), ('100000', 0), ('100001', 2)])
def test_tidy_sessions_takes_a_batch_from_1_to_100000(redis_server, tmp_path, batch, status):
    result = run_canister('tidy-sessions', '--store', redis_server.url, '--batch', batch, cwd=tmp_path)
    assert result.returncode == status, result.stderr
    assert (result.stdout.startswith('Removed 0 entries') if status == 0
            else "argument --batch: '100001' is not a batch size" in result.stderr)


def test_at_sigterm_gunicorn_finishes_the_request_in_flight_and_answers_no_new_one_not_even_with_a_503(
        tmp_path, started):
    """What a preStop hook (or a deregistration delay) is for: a request a load balancer still sends after
    SIGTERM gets no answer at all, its connection reset once the worker ends (then refused): no ``/ready``
    turns 503 first."""
    logs = tmp_path / 'logs'
    server = AppServer('concurrency_app:app', workers=1,
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(logs)})
    started.append(server.start())
    held = {}
    in_flight = threading.Thread(target=lambda: held.update(
        answer=Client(server.url).get('/login?name=alice&delay=2')))   # (the handler sleeps 2 s)
    in_flight.start()
    wait_until(lambda: '/login?name=alice' in read_log(logs), 30, what='the request in flight')
    os.kill(server.proc.pid, signal.SIGTERM)
    with pytest.raises(ConnectionError):                # reset (or refused): never an answer
        Client(server.url).get('/ping')
    in_flight.join(30)
    assert held['answer'].status == 200 and held['answer'].json()['user'] == 'alice'


def test_a_request_gunicorn_kills_at_its_graceful_timeout_leaves_its_request_line_and_no_response_line(
        tmp_path, started):
    """Nothing else tells of it: a request line without its ``Response:`` line is a request the server killed."""
    logs = tmp_path / 'logs'
    server = AppServer('concurrency_app:app', workers=1, args=('--graceful-timeout', '1'),
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(logs),
                            'CANISTER_LOG_FORMAT': 'json'})
    started.append(server.start())
    held = {}

    def in_flight():
        try:
            Client(server.url).get('/login?name=alice&delay=5', headers={'X-Request-ID': 'killed-1'})
        except ConnectionError as error:
            held['error'] = error

    request = threading.Thread(target=in_flight)
    request.start()
    wait_until(lambda: 'killed-1' in read_log(logs), 30, what='the request in flight')
    os.kill(server.proc.pid, signal.SIGTERM)
    server.proc.wait(60)                                # (the worker killed after 1 s, the master gone)
    request.join(60)
    assert isinstance(held.get('error'), ConnectionError)
    entries = [json.loads(line) for line in read_log(logs).splitlines()]
    mine = [entry['message'] for entry in entries if entry['request_id'] == 'killed-1']
    assert len(mine) == 1 and mine[0].startswith('GET http://') and '/login?name=alice&delay=5' in mine[0]
    assert entries[-1]['request_id'] == 'killed-1'  # (nothing after it says the request was killed)


def test_an_x_request_id_sent_twice_which_gunicorn_joins_with_a_comma_is_replaced(tmp_path, started):
    """Why ``,`` is not kept in a request id: ``a,b`` would be sent back as one header that reads as two ids."""
    server = AppServer('concurrency_app:app', workers=1,
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    started.append(server.start())
    connection = server.connection()
    try:
        connection.putrequest('GET', '/ping')
        connection.putheader('X-Request-ID', 'first')
        connection.putheader('X-Request-ID', 'second')
        connection.endheaders()
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    assert answer.status == 200
    (rid,) = answer.headers.get_all('X-Request-ID')
    assert rid not in ('first,second', 'first', 'second') and ',' not in rid
