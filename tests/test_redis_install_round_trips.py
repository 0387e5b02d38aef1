"""What the install's first check costs a real redis-server, counted by the server: the round trips and commands
the README's *Readiness checks* give, with a replica and ``session_redis_wait`` (one ``INFO replication`` more and
no write: no ``WAIT``) and with a password (``ACL WHOAMI`` and ``ACL GETUSER``).

Round trips are counted by a relay between canister and the server, on a connection the test opened first (what
opening one sends differs with redis-py's version and the server's: the README counts the check's own): each time
the client sends after an answer came back is one.  The commands are the server's own counts, of a URL's own
connection too."""
import contextlib
import selectors
import socket
import threading
import warnings

import bottle
import pytest
import redis

import canister
from helpers import readme_section
from servers import RedisServer, wait_until

#: What opens a connection (redis-py's ``HELLO``, ``AUTH``, ``CLIENT SETINFO``, ``SELECT``): not the check's.
HANDSHAKE = ('hello', 'auth', 'client|setinfo', 'client|maint_notifications', 'select')
#: The first check's pipeline: the two scripts loaded, what requests do on a key, on a user's set, and tidying's.
PIPELINE = {'script|load': 2, 'set': 1, 'evalsha': 2, 'del': 2, 'sadd': 1, 'pexpire': 1, 'srandmember': 1,
            'scard': 1, 'smembers': 1, 'pexpiretime': 1, 'srem': 1, 'scan': 1, 'sscan': 1, 'exists': 1}
#: What the two scripts run inside Redis (counted by the server too, in no round trip of their own).
SCRIPTS = {'get': 2, 'set': 1, 'pttl': 1, 'pexpire': 1}


class Relay:
    """A TCP relay on 127.0.0.1 to the Redis server on ``port``, for one connection, that counts its round trips:
    ``turns`` is how many times the client sent after the server's last answer (from ``count()`` on)."""

    def __init__(self, port):
        self.listener = socket.create_server(('127.0.0.1', 0))  # (held by the test: bound until closed)
        self.port, self.target, self.turns, self.counting = self.listener.getsockname()[1], port, 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        client, _ = self.listener.accept()
        server = socket.create_connection(('127.0.0.1', self.target))
        answered = True
        with selectors.DefaultSelector() as selector, client, server:
            selector.register(client, selectors.EVENT_READ, server)
            selector.register(server, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.fileobj is client:
                        self.turns += int(answered and self.counting)
                        answered = False
                    else:
                        answered = True
                    key.data.sendall(data)

    def count(self):
        self.turns, self.counting = 0, True

    def close(self):
        self.listener.close()


def counts(client):
    """{command: calls} of the server ``client`` talks to (the INFO that asks among them)."""
    info = client.info('commandstats')
    return {name[len('cmdstat_'):]: int(stats['calls']) for name, stats in info.items() if name.startswith('cmdstat_')}


def install_cost(server_client, relay=None, **options):
    """(round trips through ``relay``, {command: calls}) that installing canister with ``options`` cost the server
    ``server_client`` talks to (what opens a connection left out)."""
    before = counts(server_client)
    if relay:
        relay.count()
    app = bottle.Bottle()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)  # (a master short of replicas for the wait)
        app.install(canister.Canister(log_level='ERROR', **options))
    try:
        after = counts(server_client)
    finally:
        app.uninstall(True)
    calls = {name: number - before.get(name, 0) for name, number in after.items()}
    calls['info'] -= 1  # (the INFO that asked)
    for name in HANDSHAKE + ('replconf',):  # (and a replica's acknowledgements)
        calls.pop(name, None)
    return relay and relay.turns, {name: number for name, number in calls.items() if number}


def expected(*extra):
    """The commands of the first check: ``PING``, ``INFO cluster``, the pipeline, ``CONFIG GET``, and ``extra``."""
    calls = dict(PIPELINE)
    for name, number in SCRIPTS.items():
        calls[name] = calls.get(name, 0) + number
    for name in ('ping', 'info', 'config|get') + extra:
        calls[name] = calls.get(name, 0) + 1
    return calls


@contextlib.contextmanager
def relayed_store(port, **options):
    """A RedisStore of a client whose one connection, open already, goes through a ``Relay`` to the server on
    ``port``; and the relay."""
    relay = Relay(port)
    client = redis.Redis(port=relay.port, password=options.pop('password', None))
    try:
        client.ping()
        yield canister.RedisStore(client=client, **options), relay
    finally:
        client.close()
        relay.close()


@pytest.fixture
def server_client(redis_server):
    client = redis.Redis(port=redis_server.port)
    yield client
    client.close()


def test_the_install_costs_one_server_four_round_trips(redis_server, server_client):
    with relayed_store(redis_server.port) as (store, relay):
        assert install_cost(server_client, relay, store=store) == (4, expected())


def test_a_session_store_url_gets_the_same_commands(redis_server, server_client):
    assert install_cost(server_client, session_store=redis_server.url)[1] == expected()
    assert install_cost(server_client, session_store=redis_server.url, session_redis_wait=1)[1] == expected('info')


def test_with_session_redis_wait_the_install_costs_one_round_trip_more_and_no_write_with_or_without_a_replica(
        redis_server, server_client):
    def cost(wait):
        with relayed_store(redis_server.port, wait=wait) as (store, relay):
            return install_cost(server_client, relay, store=store)

    assert cost(1) == (5, expected('info'))
    replica = RedisServer().start()
    try:
        redis.Redis(port=replica.port).replicaof(replica.host, redis_server.port)
        wait_until(lambda: server_client.info('replication').get('connected_slaves') == 1, 30,
                   what='the replica to connect')
        assert cost(1) == (5, expected('info'))
        assert cost(0) == (4, expected())
        assert install_cost(server_client, session_store=redis_server.url, session_redis_wait=1)[1] == expected('info')
    finally:
        replica.cleanup()


def test_with_a_password_the_install_costs_two_round_trips_more(redis_server, server_client):
    server_client.config_set('requirepass', 'sesame')  # (its open connection stays logged in)
    with relayed_store(redis_server.port, password='sesame') as (store, relay):
        assert install_cost(server_client, relay, store=store) == (6, expected('acl|whoami', 'acl|getuser'))


def test_the_readme_gives_the_installs_round_trips_and_commands():
    readiness = readme_section('## Reliability').split('**Readiness checks.**', 1)[1]
    assert ("That is two `SCRIPT LOAD`s, the `SET`, two `EVALSHA`s, the `DEL`, the set's eight and tidying's "
            "three (`SCAN`, `SSCAN`, `EXISTS`) in one pipeline") in readiness
    assert ('That is four round trips, once, besides those that open the connection; five with '
            '`session_redis_wait`, whatever replicas the master has (the check writes nothing more: no `WAIT`)'
            ) in readiness
    assert 'and two more with a password' in readiness
