"""A Redis store in a process forked while a thread of its parent was asking Redis: the child lacks that thread,
and must not wait for its answer for good.  Forked while a thread asked a frozen Redis (SIGSTOP: connections are
accepted, nothing is answered) whether it is back, the child's own next request asks Redis, and is served once
Redis answers, rather than answering 503 without asking, for ever; forked while a thread made the client of a
frozen Cluster, the child makes its own, rather than waiting for ever.  The child serves real HTTP, on a waitress
server of its own."""
import math
import os
import signal
import threading
import time

import pytest

import canister
from helpers import client, cookie_value, counter_app, frozen, in_child, with_cookie
from redis_topologies import ClusterSetup
from servers import Client, InProcessWaitress

#: The store's timeout: how long the thread asking the frozen Redis waits, during which the test forks (its child's
#: server, which a loaded machine can make take seconds to start, is waited for once Redis is thawed).
TIMEOUT = 5.0
#: The Cluster store's timeout: how long the thread making a client of frozen nodes waits, at least.
CLUSTER_TIMEOUT = 2.0

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def wait_for(condition, seconds=30.0, what='the condition'):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'waited %ss for %s' % (seconds, what)
        time.sleep(0.005)


def child_serving(app):
    """Fork a child that serves ``app`` on a waitress server of its own until the parent closes the pipe it
    listens to; (its pid, ``port()``, the write end of that pipe).  ``port()`` waits for the child's server to listen
    and gives its port: the fork is over when this returns, its server started in whatever time the machine's load
    lets it take.  The child exits 0 once it stopped its server."""
    told, tell = os.pipe()
    stop, stopping = os.pipe()

    def serve():
        os.close(told)
        os.close(stopping)
        server = InProcessWaitress(app, threads=2)
        os.write(tell, b'%d\n' % server.port)
        os.read(stop, 1)  # (b'' once the parent closed its end)
        server.close()
        return True

    pid = in_child(serve)
    os.close(tell)
    os.close(stop)

    def port():
        with os.fdopen(told, 'rb') as lines:
            number = int(lines.readline() or b'0')
        assert number, 'the child did not start its server'
        return number
    return pid, port, stopping


def stopped(pid, stopping, within=30.0):
    """Tell the child to stop, and its exit code (it is killed if it has not exited ``within`` seconds)."""
    os.close(stopping)
    deadline = time.monotonic() + within
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 'killed'
        time.sleep(0.05)


def test_a_child_forked_while_a_thread_asks_a_frozen_redis_asks_it_itself_and_serves_the_session(
        make_app, redis_server):
    store = canister.RedisStore('redis://127.0.0.1:%d/0' % redis_server.port, timeout=TIMEOUT)
    app = counter_app(make_app, store=store)
    web = client(app)
    first = web.get('/')
    sid = cookie_value(first)
    assert first.text == '0' and sid
    asked = []
    redis_server.freeze()
    try:
        assert web.get('/', status=503).status_int == 503     # waits out the timeout: Redis taken to be stalled
        wait_for(lambda: canister._monotonic() >= store._stalled_until, what='the stall window to end')
        asking = threading.Thread(target=lambda: asked.append(web.get('/', status='*').status_int), daemon=True)
        asking.start()                                        # this request asks Redis again, for TIMEOUT at most
        wait_for(lambda: store._stalled_until == math.inf, what='a thread to ask Redis')
        pid, port, stopping = child_serving(app)              # forked while it asks
        assert store._stalled_until == math.inf, 'the ask ended before the fork: the machine is too slow for the test'
    finally:
        redis_server.thaw()
    try:
        port = port()                                         # (its server started after the thaw, however slowly)
        asking.join(TIMEOUT + 10)
        assert asked == [200]                                 # the parent's ask got its answer
        child = Client('http://127.0.0.1:%d' % port, timeout=TIMEOUT + 10)
        answers = [child.get('/', headers=with_cookie(sid)) for _ in range(3)]  # the child's own first ask
        assert [(answer.status, answer.text) for answer in answers] == [(200, '2'), (200, '3'), (200, '4')], answers
    finally:
        code = stopped(pid, stopping)
    assert code == 0


def test_a_child_forked_while_a_thread_connects_to_a_frozen_redis_cluster_connects_itself_and_serves_the_session(
        make_app):
    with ClusterSetup(replicas=0) as cluster:
        store = canister.RedisStore(cluster.url, timeout=CLUSTER_TIMEOUT)
        with frozen(cluster.nodes):
            with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
                app = counter_app(make_app, store=store)     # no client made: a Cluster's connects as it is made
            outcome = []
            connecting = threading.Thread(target=lambda: outcome.append(client(app).get('/', status='*').status_int),
                                          daemon=True)
            connecting.start()                                # this request makes the client, holding the lock
            wait_for(store._connecting.locked, what='a thread to make the client')
            pid, port, stopping = child_serving(app)          # forked while it does
            assert store._connecting.locked(), 'the client was made before the fork: the machine is too slow'
        try:
            port = port()                                     # (its server started after the thaw, however slowly)
            connecting.join(CLUSTER_TIMEOUT * 10)
            assert outcome in ([200], [503])                  # the parent's request ended (served once thawed, or not)
            child = Client('http://127.0.0.1:%d' % port, timeout=CLUSTER_TIMEOUT * 10)
            answers = [child.get('/') for _ in range(2)]
            assert [(answer.status, answer.text) for answer in answers] == [(200, '0'), (200, '1')], answers
        finally:
            code = stopped(pid, stopping)
        assert code == 0
