"""Many logins of one user at once under ``session_max_per_user``, and ``sessions_of`` while a session moves:
what the README promises of them (*Two logins at once under the cap*, *The note*) on real servers, with the
steps of the requests put in order by events inside the store's calls, not left to luck.

- At most one session more than the cap is left, however many logins run at once (each login that spared
  every later session left them all: a cap of one kept three).
- The most recent session is kept whoever lists the user's sessions, on Redis too (a login ordered the
  sessions alike only where their last uses differed; on a tie, each login could take the other's session
  for the older one, and end it).
- ``sessions_of`` on Redis lists a session that a regenerate moves while it reads (it read the ids, the move
  ended, and it found the old id's marker and never read the new id).
"""
from __future__ import annotations

import threading

import pytest

import canister
from helpers import sqlite_url
from session_kit import Browser, add_session_routes, plugin_of, run_threads

EVENT_WAIT = 10


def cap_app(make_app, store, **config):
    app = make_app(config=dict({'session_max': 64}, **config), store=store)
    add_session_routes(app)

    @app.get('/who')
    def who():
        from canister import session
        return str(session.user)

    @app.get('/regenerate')
    def regenerate():
        from canister import session
        session.regenerate()
        return 'ok'

    @app.get('/count')
    def count(name):
        return str(len(plugin_of(app).sessions_of(name)))

    return app


def who(origin, sid):
    return Browser(origin, sid=sid, follow=False).get('/who').text


def _stored_in_reverse(store, logins):
    """Make the store hold each of ``logins`` new sessions back until all have come, then store them one at a
    time, the highest id first, each login's request answered before the next is stored: with the clock standing
    still all were used in the same millisecond, so the id orders them and the most recent is stored first (as
    when a login is descheduled between taking its time and storing).  Each login lists only those stored before
    its own.  A callable that runs the logins and returns the ids, most recent first."""
    create, arrived, lock = store.create, [], threading.Lock()
    turn = {}
    all_came = threading.Event()

    def held_create(sid, record, ttl, user_key):
        with lock:
            turn[sid] = threading.Event()
            arrived.append(sid)
            if len(arrived) == logins:
                all_came.set()
        assert turn[sid].wait(EVENT_WAIT)
        return create(sid, record, ttl, user_key)

    store.create = held_create

    def run(origin):
        answered = {}
        done = threading.Condition()

        def log_in():
            browser = Browser(origin)
            assert browser.get('/login?name=alice').status == 200
            with done:
                answered[browser.sid] = True
                done.notify_all()

        threads = [threading.Thread(target=log_in, daemon=True) for _ in range(logins)]
        for thread in threads:
            thread.start()
        assert all_came.wait(EVENT_WAIT)
        order = sorted(arrived, reverse=True)
        for sid in order:
            turn[sid].set()
            with done:
                assert done.wait_for(lambda sid=sid: sid in answered, EVENT_WAIT)
        for thread in threads:
            thread.join(EVENT_WAIT)
        return order

    return run


@pytest.mark.parametrize('kind', ['memory', 'sqlite'])
@pytest.mark.parametrize('cap', [1, 2])
def test_logins_at_once_leave_at_most_one_session_more_than_the_cap_the_most_recent_kept(
        make_app, serve, clock, tmp_path, kind, cap):
    """cap + 2 logins at once: the most recent stores first and lists alone, each later one lists those stored
    before, the least recent lists them all.  It spares the cap's most recent and ends the others past the cap
    (before, it spared every later one: cap + 2 sessions stayed)."""
    store = canister.open_store('memory' if kind == 'memory' else sqlite_url(tmp_path / 'sessions.db'))
    run = _stored_in_reverse(store, cap + 2)
    origin = serve(cap_app(make_app, store, session_max_per_user=cap))
    order = run(origin)

    alive = [sid for sid in order if who(origin, sid) == 'alice']
    assert len(alive) == cap + 1
    assert alive[:cap] == order[:cap]  # the most recent ones
    assert Browser(origin).get('/count?name=alice').text == str(cap + 1)


def test_twelve_logins_at_once_leave_the_cap_each_login_ordering_the_sessions_alike(make_app, serve, clock,
                                                                                     store_url):
    """Twelve logins at once under a cap of two, for eight users one after the other: all store their sessions
    at once, all have stored before any counts, and all list before any ends one (barriers in the store's calls),
    so that each sees all twelve, used in the same millisecond (the clock stands still; on Redis, whose own clock
    times the keys, many of them).  The two most recent stay, whichever login lists: the logins order the
    sessions alike, to the id.  (They ordered ties by the order the store listed them in, but spared by the id:
    each of the two most recent could take the other for the older, and only one session stayed.)"""
    store = canister.open_store(store_url)
    create, count_of, sessions_of = store.create, store.count_of, store.sessions_of
    logins, state = 12, {}

    def created(sid, record, ttl, user_key):
        state['made'].wait()
        return create(sid, record, ttl, user_key)

    def counted(key):
        state['stored'].wait()
        return count_of(key)

    def listed(key):
        found = sessions_of(key)
        state['listed'].wait()
        return found

    store.create, store.count_of, store.sessions_of = created, counted, listed
    origin = serve(cap_app(make_app, store, session_max_per_user=2), threads=logins + 2)
    for name in ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'):
        state['made'] = threading.Barrier(logins, timeout=EVENT_WAIT)
        state['stored'] = threading.Barrier(logins, timeout=EVENT_WAIT)
        state['listed'] = threading.Barrier(logins, timeout=EVENT_WAIT)
        browsers = [Browser(origin) for _ in range(logins)]
        assert run_threads([lambda browser=browser, name=name: browser.get('/login?name=' + name)
                            for browser in browsers]) == []
        alive = sorted(browser.sid for browser in browsers if browser.get('/who').text == name)
        assert len(alive) == 2
        if not store_url.startswith('redis'):  # (Redis orders them by its own clock first)
            assert alive == sorted(browser.sid for browser in browsers)[-2:]
    store.create, store.count_of, store.sessions_of = create, count_of, sessions_of


def test_sessions_of_on_redis_lists_a_session_a_regenerate_moves_while_it_reads(make_app, serve, redis_server):
    """The listing has read the user's set of ids when the laptop's regenerate runs, and reads the records once
    the regenerate has answered: the laptop's old id holds the marker of the move, its new id was not in the set
    read.  Both sessions are listed (the laptop's was left out: one of two)."""
    store = canister.open_store(redis_server.url)
    client = store.client
    smembers, read, moved = client.smembers, threading.Event(), threading.Event()

    def held_smembers(*args, **kwargs):
        members = smembers(*args, **kwargs)
        if not read.is_set():
            read.set()
            assert moved.wait(EVENT_WAIT)
        return members

    origin = serve(cap_app(make_app, store, session_max_per_user=5))
    phone, laptop = Browser(origin), Browser(origin)
    for _ in range(5):
        for browser in (phone, laptop):
            assert browser.get('/login?name=alice').status == 200
        read.clear()
        moved.clear()
        client.smembers = held_smembers
        counts = []
        thread = threading.Thread(target=lambda counts=counts: counts.append(Browser(origin).get('/count?name=alice').text),
                                  daemon=True)
        thread.start()
        try:
            assert read.wait(EVENT_WAIT)
            before = laptop.sid
            assert laptop.get('/regenerate').status == 200 and laptop.sid != before
        finally:
            moved.set()
        thread.join(EVENT_WAIT)
        client.smembers = smembers
        assert counts == ['2']
        assert Browser(origin).get('/count?name=alice').text == '2'
        for browser in (phone, laptop):
            browser.get('/logout')

