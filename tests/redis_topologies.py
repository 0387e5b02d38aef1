"""Real Redis deployments for tests: Sentinel, Cluster and TLS, on 127.0.0.1 only.

Each class is a context manager that starts its processes in a temp dir of its own and, on
exit (also when the test failed, and at interpreter exit through tests/servers.py's cleanup),
SIGKILLs every process it started and removes the dir::

    with SentinelSetup() as sentinel:      # master, replica, three sentinels watching 'canister'
        sentinel.url                       # redis+sentinel://127.0.0.1:P1,...,127.0.0.1:P3/canister/0
        sentinel.kill_master()             # SIGKILL
        sentinel.wait_for_failover(20)     # the sentinels name a new master that takes writes

    with ClusterSetup() as cluster:        # three masters, three replicas
        cluster.url                        # redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
        cluster.kill_master_of('some-key')
        cluster.wait_for_failover(20)

    with TlsRedis() as tls:                # TLS port only; certificates made with openssl
        tls.url()                          # rediss://127.0.0.1:P/0?ssl_ca_certs=<ca.crt>
        tls.url(ca=tls.wrong_ca)           # a CA that did not sign the server's certificate

The sentinels are ``redis-server --sentinel`` (the same binary as the servers), so no
package beyond redis-server (and redis-tools for redis-cli, openssl for TLS) is needed.
"""
from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import sys
import subprocess
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from servers import (HOST, Client, PortTaken, ServerError, _redis_ping, _register, _terminate, _unregister,
                     free_port, redis_said_ready, port_was_taken, redis_server_binary, start_on_a_free_port, wait_until)

__all__ = ['ClusterSetup', 'FailoverLoad', 'FailoverReport', 'RedisNode', 'SentinelSetup', 'TlsRedis',
           'command_calls', 'key_in_slot', 'redis_cli_binary']

SERVICE = 'canister'
COOKIE = 'session_id'  # canister's default session cookie


def redis_cli_binary() -> str:
    path = shutil.which('redis-cli')
    if not path:
        raise ServerError('redis-cli was not found on PATH: the cluster tests join their nodes with it. '
                          'Install it (e.g. `apt-get install redis-tools`).')
    return path


def command_calls(client: Any) -> Dict[str, int]:
    """``{command: calls}`` from ``INFO commandstats`` of the server ``client`` talks to."""
    stats = client.info('commandstats')
    return {name[len('cmdstat_'):]: int(value['calls']) for name, value in stats.items()
            if name.startswith('cmdstat_')}


class RedisNode:
    """One redis-server process (a server, a replica, a cluster node or a sentinel) in ``directory``."""

    def __init__(self, directory: str, args: List[str], port: Optional[int] = None,
                 config: Union[None, str, Callable[[], str]] = None, tls: Optional[Dict[str, str]] = None) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self.port_pinned = port is not None  # (a port asked for, or one it has run on: start() keeps it)
        self.args = args
        # text of a config file to start from (sentinels need one they can rewrite), or what makes it at each start
        self.config = config
        self.tls = tls  # {'ca': path} when the node only speaks TLS (on ``port``, its plain port closed)
        self.logfile = os.path.join(directory, 'redis.log')
        self.proc: Optional[subprocess.Popen] = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> List[str]:
        cmd = [redis_server_binary()]
        if self.config is not None:
            path = os.path.join(self.directory, 'redis.conf')
            with open(path, 'w') as f:
                f.write(self.config() if callable(self.config) else self.config)
            cmd.append(path)
        cmd += ['--bind', HOST, '--dir', self.directory, '--daemonize', 'no', '--logfile', self.logfile]
        if self.tls is None:
            cmd += ['--port', str(self.port)]
        else:
            cmd += ['--port', '0', '--tls-port', str(self.port)]
        return cmd + self.args

    def start(self, timeout: float = 30) -> 'RedisNode':
        """Start and wait until it answers.  A node whose port (or cluster bus port) was taken meanwhile (free
        ports are picked from the range outgoing connections use too, and another test run picks from it as
        well) gets new ones and is started again, unless its port was given or it has run on it."""
        start_on_a_free_port(lambda: self._start_once(timeout), None if self.port_pinned else self._move)
        self.port_pinned = True
        return self

    def _move(self) -> None:
        self.port = free_port()
        if '--cluster-port' in self.args:
            self.args[self.args.index('--cluster-port') + 1] = str(free_port())

    def _start_once(self, timeout: float) -> None:
        if os.path.exists(self.logfile):
            os.remove(self.logfile)
        self.proc = subprocess.Popen(self.command(), cwd=self.directory, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if redis_said_ready(self.log(whole=True)) and self.ping():  # (its own word first: a PONG may be another run's)
                return
            if time.monotonic() > deadline:
                raise ServerError('redis-server on port %d did not answer within %.0f s:\n%s'
                                  % (self.port, timeout, self.log()))
            time.sleep(0.05)
        log = self.log()
        if port_was_taken(log):
            raise PortTaken('redis-server could not listen on port %d (or its bus port): it was taken:\n%s'
                            % (self.port, log))
        raise ServerError('redis-server on port %d exited:\n%s' % (self.port, log))

    def ping(self) -> bool:
        if self.tls is None:
            return _redis_ping(HOST, self.port)
        context = ssl.create_default_context(cafile=self.tls['ca'])
        if self.tls.get('cert'):
            context.load_cert_chain(self.tls['cert'], self.tls['key'])
        try:
            with socket.create_connection((HOST, self.port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname=HOST) as s:
                    s.sendall(b'PING\r\n')
                    return s.recv(64).startswith(b'+PONG')
        except OSError:
            return False

    def client(self, **options: Any) -> Any:
        import redis
        options.setdefault('socket_timeout', 10)
        options.setdefault('socket_connect_timeout', 10)
        if self.tls is not None:
            options.update(ssl=True, ssl_ca_certs=self.tls['ca'])
            if self.tls.get('cert'):
                options.update(ssl_certfile=self.tls['cert'], ssl_keyfile=self.tls['key'])
        return redis.Redis(host=HOST, port=self.port, **options)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, nothing is read or answered."""
        if self.alive:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.alive:
            os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye to replicas or sentinels."""
        if self.proc is not None:
            _terminate(self.proc, None, 0)
            self.proc = None

    def log(self, whole: bool = False) -> str:
        try:
            with open(self.logfile, errors='replace') as f:
                return f.read() if whole else f.read()[-5000:]
        except OSError:
            return ''


def kill_after_cutting_replication(master: RedisNode, replicas: List[RedisNode], seconds: float) -> float:
    """SIGKILL ``master``; the moment of the kill.

    With ``seconds`` > 0 its ``replicas`` are stopped first (SIGSTOP), their connections dropped
    on the master (CLIENT KILL TYPE replica) and the master killed ``seconds`` later, before the
    replicas go on (SIGCONT): what the master acknowledged meanwhile reached no replica, as in a
    network blip just before a crash.  Keep ``seconds`` well under the failure detection time
    (down-after-milliseconds, cluster-node-timeout) so the replicas still count as healthy.
    """
    if seconds <= 0:
        moment = time.monotonic()
        master.kill()
        return moment
    for replica in replicas:
        replica.freeze()
    try:
        client = master.client()
        try:
            client.client_kill_filter(_type='slave')
        finally:
            client.close()
        time.sleep(seconds)
        moment = time.monotonic()
        master.kill()
    finally:
        for replica in replicas:
            replica.thaw()
    return moment


class _Setup:
    """Bookkeeping shared by the setups: a temp dir, the nodes started in it, cleanup."""

    prefix = 'canister-topology-'

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix=self.prefix)
        self.nodes: List[RedisNode] = []

    def _node(self, name: str, args: List[str], **kw: Any) -> RedisNode:
        node = RedisNode(os.path.join(self.directory, name), args, **kw)
        self.nodes.append(node)
        return node

    def start(self) -> '_Setup':
        _register(self)
        try:
            self._start()
        except BaseException:
            logs = '\n'.join('--- %s ---\n%s' % (n.directory, n.log()[-1500:]) for n in self.nodes)
            self.cleanup()
            raise ServerError('%s did not start (%s); logs:\n%s' % (type(self).__name__, sys.exc_info()[1], logs)) from None
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def node_at(self, port: int) -> RedisNode:
        return next(n for n in self.nodes if n.port == port)

    def cleanup(self) -> None:
        try:
            for node in self.nodes:
                try:
                    node.kill()
                except Exception:
                    pass
        finally:
            _unregister(self)
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


# --------------------------------------------------------------------------
# Sentinel

class SentinelSetup(_Setup):
    """A master, ``replicas`` replicas of it (1), and three sentinels watching it as ``canister`` (quorum 2).

    The servers keep no data on disk (``--save ''``, no AOF): what survives the master's death is
    what reached the replica, which is what the failover figures are about.
    """

    prefix = 'canister-sentinel-'

    def __init__(self, down_after_ms: int = 1000, failover_timeout_ms: int = 3000, replicas: int = 1) -> None:
        super().__init__()
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        data = ['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0']
        self.servers = [self._node('master', list(data))]
        for index in range(replicas):
            self.servers.append(self._node('replica%d' % index, list(data)))
        self.sentinels = []
        for index in range(3):
            self.sentinels.append(self._node('sentinel%d' % index, ['--sentinel'],
                                             config=lambda index=index: self._sentinel_config(index)))

    def _sentinel_config(self, index: int) -> str:
        """Sentinel ``index``'s config, with the ports the master, the replicas and the other sentinels have
        now (a node moves to another port when its own was taken before it started).

        Each sentinel is told the others (and the replicas) in its config instead of waiting to meet them
        through hello messages on the master: on a loaded machine that meeting has taken more than 30 s,
        and a failover needs a majority that knows each other."""
        ids = ['%040x' % (number + 1) for number in range(3)]
        lines = ['sentinel myid %s' % ids[index],
                 'sentinel monitor %s %s %d 2' % (SERVICE, HOST, self.servers[0].port),
                 'sentinel down-after-milliseconds %s %d' % (SERVICE, self.down_after_ms),
                 'sentinel failover-timeout %s %d' % (SERVICE, self.failover_timeout_ms),
                 'sentinel parallel-syncs %s 1' % SERVICE]
        lines += ['sentinel known-replica %s %s %d' % (SERVICE, HOST, r.port) for r in self.servers[1:]]
        lines += ['sentinel known-sentinel %s %s %d %s' % (SERVICE, HOST, other.port, ids[o])
                  for o, other in enumerate(self.sentinels) if o != index]
        return ''.join(line + '\n' for line in lines)

    @property
    def url(self) -> str:
        return 'redis+sentinel://%s/%s/0' % (','.join('%s:%d' % (HOST, s.port) for s in self.sentinels), SERVICE)

    def _start(self) -> None:
        self.servers[0].start()
        for replica in self.servers[1:]:
            replica.args[:0] = ['--replicaof', HOST, str(self.servers[0].port)]  # (the port the master got)
            replica.start()
        wait_until(lambda: all(self._link_up(r) for r in self.servers[1:]) and self._replicas_online(), 40,
                   what='the replicas to sync with the master')
        ports = [sentinel.port for sentinel in self.sentinels]
        for sentinel in self.sentinels:
            sentinel.start()
        # a sentinel's config names the others' ports as they were at its start: the ones started before a later
        # one moved (its port taken) start again, with a config naming where that one listens
        moved = [index for index, sentinel in enumerate(self.sentinels) if sentinel.port != ports[index]]
        for sentinel in self.sentinels[:max(moved, default=0)]:
            sentinel.kill()
            sentinel.start()

        def sentinels_agree() -> bool:
            for sentinel in self.sentinels:
                info = self._sentinel_view(sentinel)
                if int(info['num-other-sentinels']) != 2 or int(info['num-slaves']) != len(self.servers) - 1:
                    return False
            return True

        # a failover needs a majority of sentinels that know each other (they meet through the master)
        wait_until(sentinels_agree, 30, interval=0.2, what='the three sentinels to find each other and the replica')
        # (and once the sentinels are connected, the replicas still acknowledge writes at once)
        wait_until(self._replicas_online, 30, what='the replicas to acknowledge writes')

    def _replicas_online(self) -> bool:
        """True once every replica acknowledges the master's writes (a ``WAIT`` for all of them is
        met at once): a replica that has just synced can take a second or more to answer one."""
        client = self.servers[0].client()
        try:
            client.set('canister-test:ready', '1')  # WAIT counts the replicas that have this write
            return client.execute_command('WAIT', len(self.servers) - 1, 100) == len(self.servers) - 1
        finally:
            client.close()

    @staticmethod
    def _link_up(replica: RedisNode) -> bool:
        client = replica.client()
        try:
            return client.info('replication').get('master_link_status') == 'up'
        finally:
            client.close()

    @staticmethod
    def _sentinel_view(sentinel: RedisNode) -> Dict[str, Any]:
        client = sentinel.client(decode_responses=True)
        try:
            reply = client.execute_command('SENTINEL', 'MASTER', SERVICE)
        finally:
            client.close()
        if isinstance(reply, dict):
            return reply
        return dict(zip(reply[::2], reply[1::2]))

    def sentinel_hosts(self) -> List[tuple]:
        return [(HOST, s.port) for s in self.sentinels]

    def _reported_master(self, sentinel: RedisNode) -> Optional[int]:
        client = sentinel.client(decode_responses=True)
        try:
            addr = client.execute_command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SERVICE)
        finally:
            client.close()
        return int(addr[1]) if addr else None

    def master_port(self) -> int:
        """The port of the master as the sentinels report it (a majority must agree)."""
        ports = [self._reported_master(s) for s in self.sentinels if s.alive]
        best = max(set(ports), key=ports.count)
        if best is None or ports.count(best) < 2:
            raise ServerError('the sentinels disagree on the master: %r' % ports)
        return best

    def master_node(self) -> RedisNode:
        return self.node_at(self.master_port())

    def master_client(self, **options: Any) -> Any:
        return self.master_node().client(**options)

    def replica_node(self) -> RedisNode:
        master = self.master_port()
        return next(n for n in self.servers if n.port != master and n.alive)

    def kill_master(self, cut_replicas: float = 0.0) -> int:
        """SIGKILL the current master; its port. With ``cut_replicas``, its replicas are cut off
        that many seconds before (see ``kill_after_cutting_replication``)."""
        node = self.master_node()
        replicas = [n for n in self.servers if n is not node and n.alive]
        self.kill_moment = kill_after_cutting_replication(node, replicas, cut_replicas)
        self.killed = node.port
        return node.port

    def wait_for_failover(self, timeout: float = 30) -> int:
        """Wait until every sentinel names a live master other than the killed one and it takes
        writes; its port."""
        killed = getattr(self, 'killed', None)

        def promoted() -> Optional[int]:
            ports = {self._reported_master(s) for s in self.sentinels if s.alive}
            if len(ports) != 1:
                return None
            port = ports.pop()
            if port is None or port == killed or not self.node_at(port).alive:
                return None
            client = self.node_at(port).client()
            try:
                client.set('canister-topology:probe', '1')  # READONLY error while still a replica
            finally:
                client.close()
            return port

        return wait_until(promoted, timeout, interval=0.1, what='the sentinels to promote the replica')


# --------------------------------------------------------------------------
# Cluster

def _cluster_info(client: Any) -> Dict[str, str]:
    reply = client.execute_command('CLUSTER', 'INFO')
    if isinstance(reply, bytes):
        reply = reply.decode()
    if isinstance(reply, dict):  # pragma: no cover - parsed by the client
        return {str(k): str(v) for k, v in reply.items()}
    return dict(line.split(':', 1) for line in reply.splitlines() if ':' in line)


def key_in_slot(slot: int, stem: str = 'canister-topology:probe:') -> str:
    """A key that hashes to cluster ``slot``."""
    from redis.crc import key_slot
    index = 0
    while key_slot(('%s%d' % (stem, index)).encode()) != slot:
        index += 1
    return '%s%d' % (stem, index)


class ClusterSetup(_Setup):
    """Three masters with ``replicas`` replicas each (six nodes by default), joined by
    ``redis-cli --cluster create``."""

    prefix = 'canister-cluster-'

    def __init__(self, node_timeout_ms: int = 1000, replicas: int = 1) -> None:
        super().__init__()
        self.replicas = replicas
        for index in range(3 * (1 + replicas)):
            self._node('node%d' % index, [
                '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
                '--cluster-node-timeout', str(node_timeout_ms),
                # the bus port is port+10000 unless given; free ports run up to 60999
                '--cluster-port', str(free_port()),
                # a replica may take over whatever the age of its data
                '--cluster-replica-validity-factor', '0',
                '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'])
        self.killed: List[int] = []

    @property
    def url(self) -> str:
        return 'redis+cluster://%s' % ','.join('%s:%d' % (HOST, n.port) for n in self.nodes[:3])

    def startup_nodes(self) -> List[tuple]:
        return [(HOST, n.port) for n in self.nodes[:3]]

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        cmd = [redis_cli_binary(), '--cluster', 'create'] + ['%s:%d' % (HOST, n.port) for n in self.nodes] + [
            '--cluster-replicas', str(self.replicas), '--cluster-yes']
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=60)
        if done.returncode != 0:
            raise ServerError('redis-cli --cluster create failed:\n%s' % done.stdout.decode(errors='replace'))
        wait_until(self._settled, 30, interval=0.2, what='cluster_state:ok and synced replicas on all nodes')

    def _settled(self) -> bool:
        live = [n for n in self.nodes if n.alive]
        for node in live:
            client = node.client(decode_responses=True)
            try:
                if _cluster_info(client).get('cluster_state') != 'ok':
                    return False
                # every live node must know the same masters as the others
                if len(self._masters(client)) != 3:
                    return False
                if client.info('replication').get('role') == 'slave' and \
                        client.info('replication').get('master_link_status') != 'up':
                    return False
            finally:
                client.close()
        return True

    @staticmethod
    def _masters(client: Any) -> Dict[int, List[tuple]]:
        """``{master port: [(first slot, last slot), ...]}`` as ``client``'s node sees the cluster."""
        masters: Dict[int, List[tuple]] = {}
        for entry in client.execute_command('CLUSTER', 'SLOTS'):
            if isinstance(entry, dict):  # pragma: no cover - parsed differently by some versions
                continue
            first, last, master = entry[0], entry[1], entry[2]
            masters.setdefault(int(master[1]), []).append((int(first), int(last)))
        return masters

    def _any_live(self) -> RedisNode:
        return next(n for n in self.nodes if n.alive)

    def slot_of(self, key: str) -> int:
        client = self._any_live().client()
        try:
            return int(client.execute_command('CLUSTER', 'KEYSLOT', key))
        finally:
            client.close()

    def master_of_slot(self, slot: int) -> RedisNode:
        client = self._any_live().client()
        try:
            masters = self._masters(client)
        finally:
            client.close()
        for port, ranges in masters.items():
            if any(first <= slot <= last for first, last in ranges):
                return self.node_at(port)
        raise ServerError('no master serves slot %d' % slot)

    def master_of(self, key: str) -> RedisNode:
        """The node that serves ``key``'s slot now."""
        return self.master_of_slot(self.slot_of(key))

    def replicas_of(self, master: RedisNode) -> List[RedisNode]:
        found = []
        for node in self.nodes:
            if node is master or not node.alive:
                continue
            client = node.client()
            try:
                info = client.info('replication')
            finally:
                client.close()
            if info.get('role') == 'slave' and int(info.get('master_port', 0)) == master.port:
                found.append(node)
        return found

    def master_client_for(self, key: str, **options: Any) -> Any:
        return self.master_of(key).client(**options)

    def kill_master_of(self, key: str, cut_replicas: float = 0.0) -> int:
        """SIGKILL the master serving ``key``'s slot; its port. With ``cut_replicas``, its replicas
        are cut off that many seconds before (see ``kill_after_cutting_replication``)."""
        self.killed_slot = self.slot_of(key)
        node = self.master_of_slot(self.killed_slot)
        self.kill_moment = kill_after_cutting_replication(node, self.replicas_of(node), cut_replicas)
        self.killed.append(node.port)
        return node.port

    def wait_for_failover(self, timeout: float = 30) -> int:
        """Wait until a live replica serves the killed master's slots, takes writes there, and every
        live node says cluster_state:ok; the new master's port."""
        slot = getattr(self, 'killed_slot', 0)
        probe = key_in_slot(slot)

        def promoted() -> Optional[int]:
            if not self._settled():
                return None
            node = self.master_of_slot(slot)
            if node.port in self.killed or not node.alive:
                return None
            client = node.client()
            try:
                client.set(probe, '1')  # MOVED or CLUSTERDOWN until the replica took over
                role = client.info('replication').get('role')
            finally:
                client.close()
            return node.port if role == 'master' else None

        return wait_until(promoted, timeout, interval=0.1, what='the cluster to promote a replica')


def start_moving(cluster: ClusterSetup, key: str) -> Tuple[RedisNode, RedisNode]:
    """Set the slot of ``key`` migrating from its master to another, and MIGRATE its keys there: a write to the old
    master is now redirected (ASK).  The old and new masters."""
    slot = cluster.slot_of(key)
    source = cluster.master_of_slot(slot)
    target = next(node for node in (cluster.master_of_slot(s) for s in (0, 8000, 16383)) if node is not source)
    old, new = source.client(), target.client()
    try:
        old_id, new_id = (client.execute_command('CLUSTER', 'MYID') for client in (old, new))
        new.execute_command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', old_id)
        old.execute_command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', new_id)
        keys = old.execute_command('CLUSTER', 'GETKEYSINSLOT', slot, 1000)
        assert key.encode() in keys, keys
        old.execute_command('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', *keys)
    finally:
        old.close()
        new.close()
    return source, target


def finish_moving(cluster: ClusterSetup, key: str, target: RedisNode) -> None:
    """Give the slot of ``key`` to ``target`` on every master (``CLUSTER SETSLOT ... NODE``): the old one answers
    MOVED."""
    slot = cluster.slot_of(key)
    new = target.client()
    try:
        new_id = new.execute_command('CLUSTER', 'MYID')
    finally:
        new.close()
    for node in [target] + [cluster.master_of_slot(s) for s in (0, 8000, 16383)]:
        client = node.client()
        try:
            client.execute_command('CLUSTER', 'SETSLOT', slot, 'NODE', new_id)
        finally:
            client.close()


# --------------------------------------------------------------------------
# TLS

def _openssl(*args: str, cwd: str) -> None:
    done = subprocess.run(['openssl'] + list(args), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)
    if done.returncode != 0:
        raise ServerError('openssl %s failed:\n%s' % (' '.join(args), done.stdout.decode(errors='replace')))


def make_certificates(directory: str) -> Dict[str, str]:
    """A CA, a server certificate it signs for IP 127.0.0.1, a client certificate it signs, and an
    unrelated CA; paths by name."""
    if not shutil.which('openssl'):
        raise ServerError('openssl was not found on PATH: the TLS tests make their certificates with it.')
    os.makedirs(directory, exist_ok=True)
    for name in ('ca', 'wrong-ca'):
        _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-sha256',
                 '-subj', '/CN=canister test %s' % name, '-keyout', name + '.key', '-out', name + '.crt',
                 # what Python 3.13's strict verification (VERIFY_X509_STRICT) wants of a CA
                 '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
                 '-addext', 'subjectKeyIdentifier=hash', cwd=directory)
    _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=127.0.0.1',
             '-keyout', 'server.key', '-out', 'server.csr', cwd=directory)
    with open(os.path.join(directory, 'server.ext'), 'w') as f:
        f.write('subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n'
                'keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n'
                'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid,issuer\n')
    _openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
             '-days', '2', '-sha256', '-extfile', 'server.ext', '-out', 'server.crt', cwd=directory)
    _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=canister test client',
             '-keyout', 'client.key', '-out', 'client.csr', cwd=directory)
    with open(os.path.join(directory, 'client.ext'), 'w') as f:
        f.write('basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n'
                'extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid,issuer\n')
    _openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
             '-days', '2', '-sha256', '-extfile', 'client.ext', '-out', 'client.crt', cwd=directory)
    return {name: os.path.join(directory, name) for name in
            ('ca.crt', 'wrong-ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key')}


class TlsRedis(_Setup):
    """A redis-server that listens on a TLS port only (``--port 0``), with certificates from openssl.

    Clients need not present a certificate (``--tls-auth-clients no``) unless ``auth_clients``: then
    they must present one signed by the CA (``client_cert``, ``client_key``). The log is at
    ``verbose`` so refused handshakes and anything that is not TLS show up in it (``log()``).
    """

    prefix = 'canister-tls-'

    def __init__(self, auth_clients: bool = False) -> None:
        super().__init__()
        self.certs = make_certificates(os.path.join(self.directory, 'certs'))
        self.ca = self.certs['ca.crt']
        self.wrong_ca = self.certs['wrong-ca.crt']
        self.client_cert = self.certs['client.crt']
        self.client_key = self.certs['client.key']
        self.server = self._node('server', [
            '--tls-cert-file', self.certs['server.crt'], '--tls-key-file', self.certs['server.key'],
            '--tls-ca-cert-file', self.ca, '--tls-auth-clients', 'yes' if auth_clients else 'no',
            '--save', '', '--appendonly', 'no', '--loglevel', 'verbose'],
            tls={'ca': self.ca, 'cert': self.client_cert, 'key': self.client_key})

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, ca: Optional[str] = None, db: int = 0, client_cert: bool = False) -> str:
        url = 'rediss://%s:%d/%d?ssl_ca_certs=%s' % (HOST, self.port, db, ca or self.ca)
        if client_cert:
            url += '&ssl_certfile=%s&ssl_keyfile=%s' % (self.client_cert, self.client_key)
        return url

    def _start(self) -> None:
        self.server.start()

    def client(self, **options: Any) -> Any:
        return self.server.client(**options)

    def log(self) -> str:
        try:
            with open(self.server.logfile, errors='replace') as f:
                return f.read()
        except OSError:
            return ''


# --------------------------------------------------------------------------
# failover under load

class _LoadClient(threading.Thread):
    """One browser with one session cookie, calling ``/count`` in a loop and keeping every answer."""

    def __init__(self, origin: str, stop: threading.Event, pause: float, timeout: float, fresh_every: int) -> None:
        super().__init__(daemon=True)
        self.origin = origin
        self.timeout = timeout
        self.fresh_every = fresh_every
        #: (ended, cookie) of the one-request sessions it started, acknowledged with a 200
        self.fresh: List[Tuple[float, str]] = []
        self.client = Client(origin, timeout=timeout)
        self.stop = stop
        self.pause = pause
        #: (started, ended, status, cookie sent, cookie after, counter or None)
        self.answers: List[Tuple[float, float, int, Optional[str], Optional[str], Optional[int]]] = []
        self.first_session = threading.Event()
        #: when the request now on its way was sent (None between requests); set under ``lock``
        self.in_flight_since: Optional[float] = None
        self.lock = threading.Lock()

    def run(self) -> None:
        iteration = 0
        while not self.stop.is_set():
            iteration += 1
            if self.fresh_every and iteration % self.fresh_every == 0:
                self._fresh_session()
            sent = self.client.cookies.get(COOKIE)
            with self.lock:
                started = self.in_flight_since = time.monotonic()
            try:
                answer = self.client.get('/count')
                status = answer.status
                counter = answer.json()['counter'] if status == 200 else None
            except (OSError, ValueError, KeyError, http.client.HTTPException):
                status, counter = 0, None  # no answer at all: counted as a failure
            self.answers.append((started, time.monotonic(), status, sent, self.client.cookies.get(COOKIE), counter))
            self.in_flight_since = None
            if status == 200 and self.client.cookies.get(COOKIE):
                self.first_session.set()
            time.sleep(self.pause)

    def _fresh_session(self) -> None:
        """A request from a new browser: a new session with counter 1, acknowledged by its 200."""
        fresh = Client(self.origin, timeout=self.timeout)
        try:
            if fresh.get('/count').status == 200 and fresh.cookies.get(COOKIE):
                self.fresh.append((time.monotonic(), fresh.cookies[COOKIE]))
        except (OSError, http.client.HTTPException):
            pass

    def lost_fresh_sessions(self, before: float) -> Tuple[int, int]:
        """(acknowledged before ``before``, of which gone now): read back with their cookies."""
        acknowledged = [cookie for ended, cookie in self.fresh if ended < before]
        lost = 0
        for cookie in acknowledged:
            reader = Client(self.origin, timeout=self.timeout)
            reader.cookies[COOKIE] = cookie
            answer = reader.get('/peek')
            if answer.status != 200:
                raise ServerError('reading a session back answered %s' % answer)
            if answer.json()['counter'] != 1:
                lost += 1
        return len(acknowledged), lost

    def sent_before(self, moment: float) -> bool:
        """Whether a request sent before ``moment`` is still waiting for its answer."""
        with self.lock:  # a request is either sent after ``moment`` or already marked in flight here
            return self.in_flight_since is not None and self.in_flight_since < moment

    def ok_since(self, before: float = float('inf')) -> Optional[float]:
        """Start of the streak of 200s that kept the same cookie, up to the last request sent before
        ``before`` (None if that one failed)."""
        since = None
        for started, _, status, sent, after, _ in reversed(self.answers):
            if started >= before:
                continue
            if status != 200 or sent != after:
                break
            since = started
        return since


class FailoverReport:
    """What one app saw around the kill; see ``FailoverLoad``."""

    def __init__(self, name: str, clients: List[_LoadClient], killed_at: float, ended: float = float('inf')) -> None:
        self.name = name
        #: seconds the measurement went on after the kill (the load's bound, if not every client settled)
        self.window = ended - killed_at
        for client in clients:  # the answers to requests sent before the measurement ended
            client.answers = [a for a in client.answers if a[0] < ended]
        answers = [a for c in clients for a in c.answers]
        after = [a for a in answers if a[1] >= killed_at]
        failed = [a for a in after if a[2] != 200]
        self.requests = len(answers)
        self.statuses = sorted({a[2] for a in answers})
        self.failures = len(failed)
        self.failure_statuses = sorted({a[2] for a in failed})
        #: seconds from the first to the end of the last failed answer after the kill
        self.outage = (max(a[1] for a in failed) - min(a[0] for a in failed)) if failed else 0.0
        self.slowest = max(a[1] - a[0] for a in after) if after else 0.0
        self.slowest_failure = max((a[1] - a[0] for a in failed), default=0.0)
        #: the slowest answer of all that Redis served (a 200 that ended before the kill, or sent after the last
        #: failed answer ended): what the machine's load alone made an answer of this run take
        outage_end = max((a[1] for a in failed), default=killed_at)
        self.baseline = max((a[1] - a[0] for a in answers if a[2] == 200 and (a[1] < killed_at or a[0] >= outage_end)),
                            default=0.0)
        self.acknowledged = 0  # clients' sessions with a 200 answer that ended before the kill
        self.sessions_lost = 0  # ... whose first answer after the kill came with another cookie
        self.updates_lost = 0  # ... whose counter came back lower than acknowledged
        self.same_cookie = 0  # clients whose cookie after recovery is the one they had before the kill
        recovered: List[Optional[float]] = []
        #: for each client that never had a 200 after its last failure: its last answers, in
        #: seconds from the kill (start, end, status), to tell a stuck client from a stuck server
        self.stragglers: List[str] = []
        for client in clients:
            before = [a for a in client.answers if a[1] < killed_at and a[2] == 200]
            later = [a for a in client.answers if a[0] >= killed_at and a[2] == 200]
            if not before:
                continue
            self.acknowledged += 1
            cookie, counter = before[-1][4], before[-1][5]
            if later:
                first = later[0]
                if first[3] != cookie or first[4] != cookie:
                    self.sessions_lost += 1
                elif first[5] is None or counter is None or first[5] < counter + 1:
                    self.updates_lost += 1
                if later[-1][4] == cookie:
                    self.same_cookie += 1
            # back: the first 200 after the client's last failure (or after the kill)
            bad_end = max((a[1] for a in client.answers if a[0] >= killed_at and a[2] != 200), default=killed_at)
            back = [a for a in client.answers if a[0] >= bad_end and a[2] == 200]
            recovered.append(back[0][1] - killed_at if back else None)
            if not back:
                self.stragglers.append(' '.join('(%.2f, %.2f, %d)' % (a[0] - killed_at, a[1] - killed_at, a[2])
                                                for a in client.answers[-6:]))
        self.clients = len(recovered)
        self.all_back = all(r is not None for r in recovered) and bool(recovered)
        #: seconds from the kill until every client had a 200 again (None if some never did)
        self.back_after = max(r for r in recovered) if self.all_back else None  # type: ignore[type-var]
        #: one-request sessions acknowledged before the kill, and how many of them are gone after it
        self.fresh_acknowledged = self.fresh_lost = 0
        for client in clients:
            acknowledged, lost = client.lost_fresh_sessions(killed_at)
            self.fresh_acknowledged += acknowledged
            self.fresh_lost += lost

    def lines(self) -> List[str]:
        back = '%.2f s' % self.back_after if self.back_after is not None else 'NOT ALL'
        return [
            '%s: %d requests, statuses %s, measured until %.1f s after the kill'
            % (self.name, self.requests, self.statuses, self.window),
            '  failed answers after the kill: %d %s over %.2f s (slowest %.2f s; slowest of all after the kill '
            '%.2f s; slowest while Redis served %.2f s)'
            % (self.failures, self.failure_statuses, self.outage, self.slowest_failure, self.slowest, self.baseline),
            '  every client back to 200 after: %s; with the same cookie: %d of %d'
            % (back, self.same_cookie, self.clients),
            '  sessions acknowledged before the kill: %d; lost: %d (clients\' sessions: %d, lost %d, updates lost %d)'
            % (self.fresh_acknowledged + self.acknowledged, self.fresh_lost + self.sessions_lost,
               self.acknowledged, self.sessions_lost, self.updates_lost),
        ] + ['  a client not back, its last answers: ' + line for line in self.stragglers]

    @property
    def lost(self) -> int:
        """Sessions acknowledged before the kill that are gone, or came back with an older counter."""
        return self.fresh_lost + self.sessions_lost + self.updates_lost


class FailoverLoad:
    """Clients on one or more app origins calling ``/count`` in a loop, each with its own cookie, and
    every ``fresh_every`` requests once more from a new browser (a new session, read back at the end);
    ``run(kill)`` kills the master after ``before`` seconds and keeps going until every client has had
    ``settle`` seconds of 200s with its cookie (or ``bound`` seconds passed); a ``FailoverReport`` per origin."""

    def __init__(self, origins: Dict[str, str], clients: int = 4, pause: float = 0.02, timeout: float = 10,
                 fresh_every: int = 3) -> None:
        self.stop = threading.Event()
        self.groups = {name: [_LoadClient(origin, self.stop, pause, timeout, fresh_every) for _ in range(clients)]
                       for name, origin in origins.items()}
        self.killed_at = 0.0
        self.failover_seconds: Optional[float] = None

    def run(self, kill: Any, wait_for_failover: Any = None, before: float = 2.0, settle: float = 1.5,
            bound: float = 30.0) -> Dict[str, FailoverReport]:
        everyone = [c for group in self.groups.values() for c in group]
        for client in everyone:
            client.start()
        try:
            for client in everyone:
                if not client.first_session.wait(30):
                    raise ServerError('a client got no session in 30 s: %r' % (client.answers[-3:],))
            time.sleep(before)
            self.killed_at = time.monotonic()
            killed_at = kill()  # the moment of the SIGKILL, if kill() waits before it
            if isinstance(killed_at, float):
                self.killed_at = killed_at
            if wait_for_failover is not None:
                wait_for_failover(bound)
                self.failover_seconds = time.monotonic() - self.killed_at
            deadline = self.killed_at + bound
            ended = self._settled_at(everyone, settle, deadline)
        finally:
            self.stop.set()
            for client in everyone:
                client.join(30)
        # (requests sent after the measurement ended are not part of it)
        return {name: FailoverReport(name, group, self.killed_at, ended) for name, group in self.groups.items()}

    def _settled_at(self, everyone: List[_LoadClient], settle: float, deadline: float) -> float:
        """The first moment at which every client has had ``settle`` seconds of 200s with its cookie
        since the kill, counting the answers to requests still in flight then (or ``deadline``)."""
        def settled(moment: float) -> bool:
            streaks = [c.ok_since(before=moment) for c in everyone]
            return all(s is not None and s > self.killed_at and moment - s >= settle for s in streaks)

        while time.monotonic() < deadline:
            moment = time.monotonic()
            if settled(moment):
                # a request sent just before ``moment`` can still fail (a replica resyncing makes a
                # WAIT time out, for one): wait for those answers, then decide again
                while any(c.sent_before(moment) for c in everyone) and time.monotonic() < deadline:
                    time.sleep(0.02)
                if settled(moment):
                    return moment
            time.sleep(0.1)
        return time.monotonic()
