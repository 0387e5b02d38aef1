"""A request that only read its session slides the session's life only while the session is as it
loaded it: the length another request gave it meanwhile (``remember``) stands, longer or shorter,
the cookie a remembered session gets again carries that length, and a moved session's marker
keeps its own minute.

On each store canister ships (memory and SQLite under the ``clock`` fixture, a real redis-server
read with ``PTTL``), served over HTTP, with a request held open on a gate (``hold_request``).
"""
from __future__ import annotations

import pytest

import canister
from session_kit import anonymous, Browser, gated_app, hold_request, make_store_url

#: The stores, and Redis with ``session_max_age``, where a read is a GET and the slide a step of its own.
KINDS = ['memory', 'sqlite', 'redis', 'redis+max_age']


class Life:
    """A store of one kind given to an app, and how long it keeps an id: the clock moved on for a
    look (memory, SQLite), the TTL Redis reports."""

    def __init__(self, kind, clock, tmp_path, request):
        self.clock = clock
        self.url, self.redis = 'memory', None
        if kind == 'memory':
            self.store = canister.MemoryStore()
        elif kind == 'sqlite':
            self.store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
        else:
            import redis
            self.url = make_store_url('redis', tmp_path, request)
            self.redis = redis.Redis.from_url(self.url)
            request.addfinalizer(self.redis.close)
        #: What the app is given besides the URL: the store object, or Redis's ``session_max_age``.
        self.config = {'session_max_age': 100000 if kind == 'redis+max_age' else 0} if self.redis else \
            {'store': self.store}

    def lives(self, sid, seconds):
        """Whether the store still holds something under ``sid`` ``seconds`` from now."""
        if self.redis is not None:
            left = self.redis.pttl('canister:session:' + sid)
            return left == -1 or left > seconds * 1000
        self.clock.advance(seconds)
        try:
            return self.store.load(sid) is not None
        finally:
            self.clock.advance(-seconds)


@pytest.fixture(params=KINDS)
def life(request, clock, tmp_path):
    return Life(request.param, clock, tmp_path, request)


def remember_app(make_app, life, **config):
    """``gated_app`` (its ``/remember?seconds=``) on the store of ``life``."""
    return gated_app(make_app, life.url, **dict(life.config, **config))


def test_a_request_that_only_read_the_session_leaves_it_the_shorter_length_set_meanwhile(
        make_app, serve_with_gates, life):
    app = remember_app(make_app, life, session_timeout=600)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    release = hold_request(app, origin, browser.sid, '/hold?name=a')  # loads it with the 600 s timeout
    assert browser.get('/remember?seconds=60').status == 200
    held = release()

    assert held.status == 200 and held.set_cookies == [], held
    assert life.lives(browser.sid, 50)
    assert not life.lives(browser.sid, 61), 'the read-only request gave the session its 600 s back'


@pytest.mark.parametrize('length', [2592000, 30], ids=['longer', 'shorter'])
def test_a_remembered_session_read_across_a_new_length_sends_the_cookie_of_that_length(
        make_app, serve_with_gates, life, length):
    app = remember_app(make_app, life)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    assert browser.get('/remember?seconds=60').status == 200
    release = hold_request(app, origin, browser.sid, '/hold?name=a')  # loads it remembered for 60 s
    assert browser.get('/remember?seconds=%d' % length).status == 200
    held = release()

    assert held.status == 200 and held.new_sid == browser.sid, held
    if life.config.get('session_max_age'):  # capped by the session's age
        length = min(length, 100000)
    assert held.set_cookies[0].endswith('; Max-Age=%d' % length), held
    assert life.lives(browser.sid, length - 10) and not life.lives(browser.sid, length + 1)


def test_a_request_in_flight_across_a_login_leaves_the_old_id_its_marker_of_a_minute(
        make_app, serve_with_gates, life):
    app = remember_app(make_app, life, session_timeout=600)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    old = browser.sid
    release = hold_request(app, origin, old, '/hold?name=a')  # only reads the session
    assert browser.get('/login?name=alice').status == 200 and browser.sid != old
    held = release()

    assert held.status == 200 and held.set_cookies == [], held
    assert life.lives(old, 50)  # the marker naming the new id
    assert not life.lives(old, 61), 'the read-only request gave the marker the session timeout'
    assert browser.read() == ['alice', {'cart': '3'}]


def test_requests_that_send_the_old_id_of_a_redis_session_never_lengthen_its_marker(
        make_app, serve, tmp_path, request):
    """Redis reads with a script that gives a session at least the session timeout, but not a marker: a
    client polling the old id (here 20 seconds into the marker's minute, each time) leaves it what it had."""
    import redis
    url = make_store_url('redis', tmp_path, request)
    origin = serve(gated_app(make_app, url, session_timeout=3600))
    client = redis.Redis.from_url(url)
    request.addfinalizer(client.close)
    browser = anonymous(origin, cart='3')
    old = browser.sid
    assert browser.get('/login?name=alice').status == 200 and browser.sid != old

    for left in (40000, 20000, 1000):
        client.pexpire('canister:session:' + old, left)  # as if the minute had run on to here
        assert Browser(origin, old, follow=False).read() == [None, {}]
        assert client.get('canister:session:' + old).startswith(b'"moved:')
        assert 0 < client.pttl('canister:session:' + old) <= left, 'the read lengthened the marker'
    assert browser.read() == ['alice', {'cart': '3'}]
