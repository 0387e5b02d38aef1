"""A Redis URL whose host name a name server must look up, and the name server stops answering: each lookup waits
the resolver's own timeout, which ``session_redis_timeout`` does not bound, and fails with ``Temporary failure in
name resolution`` (not a timeout).  A real resolver, glibc's, asks a real UDP socket that never answers: the
server runs in a mount namespace of its own (``unshare -m``) whose ``/etc/resolv.conf`` names that socket."""
import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time

import pytest

import canister
from servers import served_on_a_free_port, wait_until

APP = '''
import bottle, canister
app = bottle.Bottle()
app.install(canister.Canister(log_path=%r, session_store='redis://redis.canister-dns-test.internal:6379/0'))

@app.get('/ping')
def ping():
    return 'pong'

@app.get('/count')
def count():
    canister.session.data['n'] = canister.session.data.get('n', 0) + 1
    return str(canister.session.data['n'])
'''


def silent_name_server():
    """A UDP socket on port 53 of a loopback address that reads nothing and answers nothing."""
    for _ in range(50):
        address = '127.0.%d.%d' % (random.randrange(1, 255), random.randrange(2, 255))
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            server.bind((address, 53))
            return server, address
        except OSError:
            server.close()
    raise AssertionError('no loopback address had port 53 free')


def get(port, path):
    """(status, Retry-After, seconds) of one request on a connection of its own."""
    started = time.monotonic()
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader('Retry-After'), time.monotonic() - started
    finally:
        connection.close()


def test_while_the_name_server_does_not_answer_one_request_at_a_time_waits_on_it_and_threads_stay_free(tmp_path):
    name_server, address = silent_name_server()
    resolv_conf = tmp_path / 'resolv.conf'
    resolv_conf.write_text('nameserver %s\noptions timeout:2 attempts:1\n' % address)
    (tmp_path / 'dnsapp.py').write_text(APP % str(tmp_path / 'logs'))
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(canister.__file__), str(tmp_path)]))
    command = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'

    def start(port):
        with open(tmp_path / 'stderr.txt', 'wb') as stderr:
            return subprocess.Popen(  # (no skip where unshare is missing: CI runs as root, where it works)
                ['unshare', '--mount', 'sh', '-c', command, str(resolv_conf), sys.executable, '-m', 'gunicorn', '-k',
                 'gthread', '-w', '1', '--threads', '4', '--timeout', '120', '-b', '127.0.0.1:%d' % port, 'dnsapp:app'],
                cwd=str(tmp_path), env=environment, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        server, port = served_on_a_free_port(start, lambda port: get(port, '/ping')[0] == 200, [tmp_path / 'stderr.txt'],
                                             timeout=60, what='the app, installed on a Redis whose name is not answered')
    except BaseException:
        name_server.close()
        raise
    try:
        answers = []  # (the install's own lookup took the timeout: within the second after it, no request asks)

        def asked():
            answers.append(get(port, '/count'))
            status, retry_after, seconds = answers[-1]
            return not (status == 503 and retry_after == '1' and seconds < 1.5)  # (a 503 at once: it did not ask)

        wait_until(asked, 30, interval=0.1, what='a /count that asks the name server, the second after the install')
        status, retry_after, resolver_wait = answers[-1]               # asks: waits the resolver's 2 s
        assert status == 503 and retry_after == '1' and resolver_wait >= 1.5, (status, retry_after, resolver_wait)

        results, stop = {'/count': [], '/ping': []}, time.monotonic() + 2.5 * resolver_wait

        def load(path, pause):
            while time.monotonic() < stop:
                results[path].append(get(port, path))
                time.sleep(pause)

        threads = [threading.Thread(target=load, args=('/count', 0.02)) for _ in range(6)]
        threads.append(threading.Thread(target=load, args=('/ping', 0.1)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(30)
        name_server.close()
    pings, counts = results['/ping'], results['/count']
    assert all(status == 200 for status, _, _ in pings), pings
    slowest_ping = max(seconds for _, _, seconds in pings)
    assert slowest_ping < resolver_wait / 4, (slowest_ping, resolver_wait)     # a thread was free for it at once
    assert all(status == 503 and retry_after == '1' for status, retry_after, _ in counts), counts
    waited = [seconds for _, _, seconds in counts if seconds >= resolver_wait / 2]
    assert len(waited) <= 3 and len(counts) - len(waited) >= 20, (len(waited), len(counts), resolver_wait)


def test_after_a_slow_name_lookup_the_next_ask_waits_the_second_and_uses_a_connection_of_the_pool(redis_server, monkeypatch):
    """A new connection would look the name up again (another wait of the resolver's, every other request answering
    503 meanwhile): after a failure that took the timeout without being one, the store asks again once the second
    has passed, on an idle connection of its pool, which Redis itself counts (no new connection received)."""
    import redis
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    store = canister.RedisStore(redis_server.url)
    store.save('abc', '{"n": 1}', 60)  # (the pool holds a connection now)
    received = redis.Redis(port=redis_server.port).info('stats')['total_connections_received']
    lookup = redis.exceptions.ConnectionError('Error -3 connecting to redis.example:6379. Temporary failure in name '
                                              'resolution.')

    def slow_lookup(*args):  # (what redis-py raises once the resolver's wait, longer than the timeout, is over)
        clock[0] += store.timeout + 0.5
        raise lookup

    with monkeypatch.context() as patched:
        patched.setattr(store._client, 'get', slow_lookup)
        with pytest.raises(canister.StoreUnavailable):
            store._call('get', 'x')
    with pytest.raises(canister.StoreUnavailable):  # within the second: answered at once, Redis not asked
        store.load('abc')
    clock[0] += 1.5
    assert store.load('abc') == '{"n": 1}'
    assert redis.Redis(port=redis_server.port).info('stats')['total_connections_received'] == received + 1  # (ours)
