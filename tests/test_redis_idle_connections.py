"""A pooled Redis connection left idle behind a NAT, a cloud load balancer or a firewall that forgets idle flows (AWS
NLB after 350 s, Azure after 4 min) without a word: canister's TCP keepalive probes keep it known there, so the first
request after a quiet spell is served, where it used to wait out the timeout and answer 503."""
import socket
import struct
import threading
import time

import pytest

from canister import ConfigError, RedisStore, session
from helpers import BlackHoleProxy, cookie_value, cookieless_client, with_cookie

#: Where ``tcpi_segs_in`` lies in Linux's ``struct tcp_info``: segments the socket received, empty ones included.
_SEGS_IN = 140


def _segments_in(sock):
    """How many TCP segments ``sock`` has received (a keepalive probe is one, though it carries no byte)."""
    return struct.unpack_from('I', sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232), _SEGS_IN)[0]


class ForgetfulNat(BlackHoleProxy):
    """A TCP proxy to a real Redis that behaves as a NAT does: a connection that carried no packet, either way, for
    ``idle`` seconds is forgotten (put in ``dead``).  From then on none of its bytes go through, and nothing says so
    (no RST: each end waits for ever), while new connections work.  Packets are counted by the kernel
    (``_segments_in``), so keepalive probes, which carry no byte and never reach this process's reads, are traffic,
    as they are to a NAT."""

    def __init__(self, port, idle):
        super().__init__(port)
        self.idle, self.closed = idle, False
        threading.Thread(target=self._forget_idle_ones, daemon=True).start()

    def _forget_idle_ones(self):
        """Every tenth of a second, forget each connection whose count of packets has not moved for ``idle`` s."""
        seen = {}  # number: (packets, when they were last seen to change)
        while not self.closed:
            now = time.monotonic()
            for number, pair in enumerate(list(self.connections)):
                try:
                    packets = sum(_segments_in(end) for end in pair)
                except OSError:
                    continue
                before, since = seen.get(number, (None, now))
                if packets != before:
                    seen[number] = (packets, now)
                elif now - since > self.idle:
                    self.dead.add(number)
            time.sleep(0.1)

    def close(self):
        self.closed = True
        super().close()


def counting_app(make_app, proxy, **config):
    app = make_app(session_store=proxy.url, **config)

    @app.get('/count')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    return app


def counted_twice(make_app, proxy, keepalive, **config):
    """A client of :func:`counting_app` through ``proxy`` with ``session_redis_keepalive`` set (and ``config``), and
    the id of its session, counted to 2."""
    web = cookieless_client(counting_app(make_app, proxy, session_redis_keepalive=keepalive, **config))
    sid = cookie_value(web.get('/count'))
    assert web.get('/count', headers=with_cookie(sid)).text == '2'
    return web, sid


def count_timed(web, sid):
    """GET /count with the session's cookie, any status: the answer, and the seconds it took."""
    started = time.monotonic()
    after = web.get('/count', headers=with_cookie(sid), status='*')
    return after, time.monotonic() - started


def test_a_connection_idle_longer_than_the_nat_keeps_it_is_kept_alive_by_keepalive_probes(make_app, redis_server):
    proxy = ForgetfulNat(redis_server.port, idle=3.0)
    try:
        # (a timeout of 3 s: a request a loaded machine slows by a second is a slow 200, measured again, not a 503)
        web, sid = counted_twice(make_app, proxy, keepalive=1, session_redis_timeout=3)
        for count in range(3, 6):  # (a quiet spell again only when another job's load slowed the request after it)
            time.sleep(6.0)  # quiet, twice as long as the NAT keeps an idle connection: only the probes went through
            after, waited = count_timed(web, sid)
            # (it used to wait the timeout, then answer 503)
            assert after.status_int == 200 and after.text == str(count), after
            if waited < 0.9:
                break
        forgotten, opened = set(proxy.dead), len(proxy.connections)
    finally:
        proxy.close()
    assert waited < 0.9, waited  # (no timeout met, nor a connection opened again after one: 3 s or more each time)
    assert forgotten == set() and opened >= 1, (forgotten, opened)


def test_without_probes_the_nat_forgets_the_idle_connection_and_the_next_request_answers_503(make_app, redis_server):
    """(What every request after a quiet spell met before: the test above's NAT is one that does forget.)"""
    proxy = ForgetfulNat(redis_server.port, idle=1.5)
    try:
        web, sid = counted_twice(make_app, proxy, keepalive=0)
        time.sleep(3.0)
        after, waited = count_timed(web, sid)
        forgotten = set(proxy.dead)
        again = web.get('/count', headers=with_cookie(sid))  # (a new connection: Redis itself is fine)
    finally:
        proxy.close()
    assert forgotten and after.status_int == 503 and after.headers['Retry-After'] == '1', (forgotten, after)
    assert waited >= 0.9, waited
    assert again.text == '3', again


def test_a_store_the_app_makes_refuses_a_keepalive_that_cannot_work():
    for wrong in (-1, 7201, 1.5, '30', True):
        with pytest.raises(ConfigError) as caught:
            RedisStore('redis://127.0.0.1:6379/0', keepalive=wrong)
        assert str(caught.value) == 'RedisStore(keepalive=%r): expected whole seconds, 0 to 7200' % (wrong,)
    assert RedisStore('redis://127.0.0.1:6379/0', keepalive=7200).keepalive == 7200
