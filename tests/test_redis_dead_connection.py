"""Redis faults that used to hold every request of a process for a second: one pooled connection silently dead
(a NAT or firewall that forgot an idle flow, with no RST), in front of a healthy redis-server."""
import socket
import threading
import time

from canister import session
from helpers import cookie_value, cookieless_client, with_cookie


class BlackHoleProxy:
    """A TCP proxy to a real Redis that, on cue, swallows every byte of the connections open at that moment (the
    client waits for ever, as behind a NAT that forgot them), while new connections work."""

    def __init__(self, port):
        self.upstream = ('127.0.0.1', port)
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.url = 'redis://127.0.0.1:%d/0' % self.listener.getsockname()[1]
        self.connections, self.dead = [], set()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            number = len(self.connections)
            self.connections.append((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink, number), daemon=True).start()

    def _pump(self, source, sink, number):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if number not in self.dead:
                    sink.sendall(data)
        except OSError:
            pass

    def black_hole_all(self):
        self.dead.update(range(len(self.connections)))

    def close(self):
        self.listener.close()
        for pair in self.connections:
            for end in pair:
                end.close()


def test_one_silently_dead_pooled_connection_costs_one_503_not_a_second_of_them(make_app, redis_server):
    proxy = BlackHoleProxy(redis_server.port)
    try:
        app = make_app(session_store=proxy.url)

        @app.get('/count')
        def count():
            session.data['n'] = session.data.get('n', 0) + 1
            return str(session.data['n'])

        web = cookieless_client(app)
        sid = cookie_value(web.get('/count'))
        assert web.get('/count', headers=with_cookie(sid)).text == '2'   # served over the pool's one connection
        proxy.black_hole_all()                                            # that connection dies without a word
        started = time.monotonic()
        first = web.get('/count', headers=with_cookie(sid), status='*')  # meets it: waits out the 1 s timeout
        waited = time.monotonic() - started
        assert first.status_int == 503 and first.headers['Retry-After'] == '1', first
        statuses = []
        started = time.monotonic()
        while time.monotonic() - started < 1.0:                           # the second after it, as fast as it goes
            statuses.append(web.get('/count', headers=with_cookie(sid), status='*').status_int)
        last = web.get('/count', headers=with_cookie(sid)).text
    finally:
        proxy.close()
    assert waited >= 0.9, waited
    # the next request asked again at once on a new connection, and Redis, healthy, answered: all were served
    assert len(statuses) > 20 and statuses.count(503) <= 3, (statuses.count(503), len(statuses))
    assert last == str(2 + statuses.count(200) + 1), last  # no change answered 200 was lost
