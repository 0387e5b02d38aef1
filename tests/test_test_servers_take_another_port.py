"""The test servers' start, when the free port picked for them is taken before they bind it.

``free_port()`` binds port 0, closes, and hands the number out; the server binds it later. Meanwhile another
test run beside this one (scripts/test.sh runs two at a time) or an outgoing connection's ephemeral port may
take it. Here a listening socket holds a port and ``free_port()`` hands out that port first: each server must
still start (on another port) and answer, unless the test asked for that very port.
"""
import os
import socket
import subprocess
import sys

import pytest
import redis as redis_py

import redis_topologies
import servers
from helpers import demo_ctrl_c_can_stop
from servers import AppServer, Client, InProcessWaitress, PortTaken, RedisServer, served_on_a_free_port


@pytest.fixture
def taken_port(monkeypatch):
    """A port something else listens on, which ``free_port()`` hands out next each time ``taken_port.next()``
    was called (real free ports otherwise; ``next(after=N)``: after N real ones)."""
    with socket.socket() as holder:
        holder.bind(('127.0.0.1', 0))
        holder.listen(8)
        port = holder.getsockname()[1]
        real_free_port = servers.free_port
        queue = []

        def free_port(host=servers.HOST):
            return (queue.pop(0) if queue else None) or real_free_port(host)

        def take_next(after=0):
            queue.extend([None] * after + [port])

        monkeypatch.setattr(servers, 'free_port', free_port)
        monkeypatch.setattr(redis_topologies, 'free_port', free_port)
        yield type('TakenPort', (), {'port': port, 'next': staticmethod(take_next)})


def test_a_redis_server_whose_port_was_taken_starts_on_another_and_keeps_its_port_on_restart(taken_port):
    taken_port.next()
    with RedisServer() as redis:
        assert redis.port != taken_port.port
        client = redis_py.Redis.from_url(redis.url)
        client.set('key', 'value')
        client.close()
        redis.stop()
        redis.start()                                   # a restart keeps the port it got, and the data
        client = redis_py.Redis.from_url(redis.url)
        assert client.get('key') == b'value'
        client.close()


@pytest.mark.parametrize('server', ['gunicorn', 'waitress', 'gevent'])
def test_an_app_server_whose_port_was_taken_starts_on_another_and_serves_sessions(taken_port, server):
    taken_port.next()
    with RedisServer() as redis:
        taken_port.next()
        with AppServer('session_app:app', server=server, env={'CANISTER_SESSION_STORE': redis.url}) as app:
            assert taken_port.port not in (redis.port, app.port)
            client = Client(app.url)
            assert client.get('/count').json()['counter'] == 0
            assert client.get('/count').json()['counter'] == 1


def test_a_tls_redis_whose_port_was_taken_starts_on_another(taken_port):
    taken_port.next()
    with redis_topologies.TlsRedis() as tls:
        assert tls.port != taken_port.port
        client = tls.client()
        assert client.ping() is True
        client.close()


@pytest.mark.parametrize('args', [[], ['--error-logfile', 'errors.log']])
def test_an_app_server_asked_for_a_taken_port_fails_saying_so(taken_port, args):
    port = taken_port.port
    app = AppServer('plain_app:app', server='gunicorn', port=port, args=args)
    try:
        with pytest.raises(PortTaken, match='gunicorn could not listen on port %d: it was taken' % port):
            app.start()
        assert app.port == port
    finally:
        app.cleanup()


@pytest.mark.parametrize('error_log', [['--error-logfile', 'errors.log'], ['--error-logfile=errors.log']])
def test_a_gunicorn_writing_its_errors_to_a_file_whose_port_was_taken_starts_on_another(taken_port, error_log):
    """gunicorn writes "Connection in use" into its ``--error-logfile`` (here relative to its cwd), not to its
    output."""
    taken_port.next()
    app = AppServer('plain_app:app', server='gunicorn', args=error_log)
    try:
        app.start()
        assert app.port != taken_port.port
        assert Client(app.url).get('/ping').status == 200
        with open('%s/errors.log' % app.workdir) as errors:
            assert 'Connection in use' in errors.read()     # (the first try's, on the taken port)
    finally:
        app.cleanup()


def test_a_redis_server_asked_for_a_taken_port_fails_saying_so(taken_port):
    port = taken_port.port
    redis = RedisServer(port=port)
    try:
        with pytest.raises(PortTaken, match='redis-server could not listen on port %d: it was taken' % port):
            redis.start()
        assert redis.port == port
    finally:
        redis.cleanup()


def test_a_sentinel_set_up_whose_master_port_was_taken_has_its_replica_and_sentinels_follow_the_master(taken_port):
    taken_port.next()
    with redis_topologies.SentinelSetup() as sentinel:
        assert taken_port.port not in [node.port for node in sentinel.nodes]
        assert sentinel.master_port() == sentinel.servers[0].port     # (what the three sentinels agree on)
        client = sentinel.master_client()
        assert client.set('key', 'value') is True
        client.close()


def _sentinels_known_to(node):
    """What ``SENTINEL SENTINELS`` answers on the sentinel ``node``, each a dict of text, read off one connection of
    its own: redis-py 7.0's parser of that answer fails on the keyword its client passes it (each entry a flat list
    of names and values, or with hiredis a dict)."""
    connection = redis_py.Connection(host=servers.HOST, port=node.port)
    try:
        connection.send_command('SENTINEL', 'SENTINELS', redis_topologies.SERVICE)
        answer = connection.read_response()
    finally:
        connection.disconnect()
    pairs = [fields.items() if isinstance(fields, dict) else zip(fields[::2], fields[1::2]) for fields in answer]
    return [{_text(key): _text(value) for key, value in fields} for fields in pairs]


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def test_a_sentinel_set_up_whose_second_sentinels_port_was_taken_has_each_sentinel_know_where_the_others_listen(
        taken_port):
    """The first sentinel starts before the second moves to another port: the config it was started with named
    the taken port (and it logged "+sentinel-address-switch" once the moved one's hello told it otherwise)."""
    taken_port.next(after=3)                            # (the master, the replica, the first sentinel: free ports)
    with redis_topologies.SentinelSetup() as sentinel:
        ports = [node.port for node in sentinel.sentinels]
        assert taken_port.port not in ports
        for node in sentinel.sentinels:
            known = _sentinels_known_to(node)
            assert sorted(int(other['port']) for other in known) == sorted(set(ports) - {node.port})
            assert '+sentinel-address-switch' not in node.log(whole=True)


@pytest.mark.parametrize('kind', ['server', 'cluster node'])
def test_a_redis_whose_port_another_runs_redis_took_starts_its_own_and_does_not_talk_to_the_other(monkeypatch, tmp_path,
                                                                                                kind):
    """The port is taken by a real redis-server of "another run", which answers PING: the new server must not take
    that PONG for its own start (its own process failed to listen), but start on another port, empty."""
    with RedisServer() as other:
        theirs = redis_py.Redis.from_url(other.url)
        theirs.set('theirs', 'yes')
        queue = [other.port]
        real_free_port = servers.free_port

        def free_port(host=servers.HOST):
            return queue.pop() if queue else real_free_port(host)

        monkeypatch.setattr(servers, 'free_port', free_port)
        monkeypatch.setattr(redis_topologies, 'free_port', free_port)
        if kind == 'server':
            with RedisServer() as mine:
                assert mine.port != other.port
                assert redis_py.Redis.from_url(mine.url).get('theirs') is None
        else:
            node = redis_topologies.RedisNode(str(tmp_path / 'node'), ['--save', '', '--appendonly', 'no'])
            try:
                node.start()
                assert node.port != other.port
                assert redis_py.Redis(host=servers.HOST, port=node.port).get('theirs') is None
            finally:
                node.kill()
        assert theirs.get('theirs') == b'yes'
        theirs.close()


def test_the_demo_whose_port_was_taken_starts_on_another_and_answers(taken_port, tmp_path):
    """``helpers.demo_ctrl_c_can_stop`` picks the port: the demo says the one picked was taken, and exits 1; it is
    started again on another."""
    taken_port.next()
    with demo_ctrl_c_can_stop(tmp_path) as (_, web):
        assert web.port != taken_port.port
        assert web.get('/hi?foo=Ann').text == 'Hi Ann!'


def test_the_demo_whose_port_another_runs_server_took_does_not_take_that_servers_answers_for_its_own(monkeypatch,
                                                                                                    tmp_path):
    """Another run's server on the port picked answers every request with 200, sooner than the demo says it could
    not listen there: the demo is still started again on another port, and the client talks to it."""
    def theirs(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'theirs']
    other = InProcessWaitress(theirs)
    try:
        queue = [other.port]
        real_free_port = servers.free_port
        monkeypatch.setattr(servers, 'free_port', lambda host=servers.HOST: queue.pop() if queue else real_free_port(host))
        with demo_ctrl_c_can_stop(tmp_path) as (_, web):
            assert web.port != other.port
            assert web.get('/hi?foo=Ann').text == 'Hi Ann!'
    finally:
        other.close()


def test_uvicorn_whose_port_was_taken_starts_on_another(taken_port, tmp_path):
    """uvicorn says "address already in use", in lower case."""
    taken_port.next()

    def start(port):
        with open(tmp_path / 'output.txt', 'wb') as output:
            return subprocess.Popen([sys.executable, '-m', 'uvicorn', '--interface', 'wsgi', '--port', str(port),
                                     'plain_app:app'], cwd=servers.APPS_DIR, stdout=output, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, PYTHONPATH=servers.APPS_DIR), start_new_session=True)
    process, port = served_on_a_free_port(start, lambda port: Client('http://127.0.0.1:%d' % port).get('/ping').status
                                          == 200, [tmp_path / 'output.txt'], what='uvicorn')
    try:
        assert port != taken_port.port
        assert Client('http://127.0.0.1:%d' % port).get('/ping').json()['pong'] is True
    finally:
        servers._end(process)
