"""``session_max_per_user``: one account logging in again and again (no cookie, so a new session
each time) keeps at most that many sessions, the most recently used; everyone else's stay.

On each store canister ships (memory, SQLite, a real redis-server), through WebTest with the
session cookie sent by hand; the clock moves on between logins so that "most recent" is exact.
"""
from __future__ import annotations

import threading
import time

import pytest

import canister
from canister import session
from helpers import COOKIE, basic, cookieless_client, read_log, sqlite_url, warning_lines, write_users
from session_kit import Browser, FourMethodStore, add_session_routes, anonymous, plugin_of, run_threads


def cap_app(make_app, store=None, **config):
    app = make_app(config=dict({'session_max': 64}, **config), store=store)
    add_session_routes(app)

    @app.get('/who')
    def who():
        return str(session.user)

    return app


def sid_of(response):
    return next(value.split(';')[0][len(COOKIE) + 1:] for value in response.headers.getall('Set-Cookie')
                if value.startswith(COOKIE + '=') and 'Max-Age=0' not in value)


def who(web, sid):
    return web.get('/who', headers={'Cookie': '%s=%s' % (COOKIE, sid)}).text


def log_in_again_and_again(web, clock, name, times):
    """``times`` logins of ``name`` without a cookie; their session ids, oldest first."""
    sids = []
    for _ in range(times):
        clock.advance(0.01)
        sids.append(sid_of(web.get('/login?name=' + name)))
    return sids


def test_one_account_logging_in_again_and_again_keeps_its_latest_sessions_and_logs_no_one_out(
        make_app, store_url, clock, log_dir):
    app = cap_app(make_app, session_store=store_url, session_max_per_user=8)
    web = cookieless_client(app)
    victim = sid_of(web.get('/login?name=victim'))

    mallory = log_in_again_and_again(web, clock, 'mallory', 200)

    assert who(web, victim) == 'victim'
    assert len(plugin_of(app).sessions_of('mallory')) == 8
    assert [who(web, sid) for sid in mallory[-8:]] == ['mallory'] * 8
    assert who(web, mallory[-9]) == 'None'
    assert who(web, mallory[0]) == 'None'
    lines = [line for line in read_log(log_dir).splitlines() if 'beyond session_max_per_user' in line]
    assert len(lines) == 192
    assert all('INFO' in line and 'ended 1 session(s) of a user' in line and 'mallory' not in line for line in lines)


def test_a_login_into_an_anonymous_session_counts_against_the_cap_too(make_app, store_url, clock):
    app = cap_app(make_app, session_store=store_url, session_max_per_user=3)
    web = cookieless_client(app)
    logged_in = []
    for _ in range(6):
        clock.advance(0.01)
        anonymous = sid_of(web.get('/set?key=cart&value=1'))
        logged_in.append(sid_of(web.get('/login?name=mallory', headers={'Cookie': '%s=%s' % (COOKIE, anonymous)})))

    assert len(plugin_of(app).sessions_of('mallory')) == 3
    assert [who(web, sid) for sid in logged_in] == ['None'] * 3 + ['mallory'] * 3


def test_basic_credentials_sent_again_and_again_without_a_cookie_are_capped_too(make_app, store_url, clock, tmp_path):
    users = write_users(tmp_path / 'users', mallory='m-pw')
    app = cap_app(make_app, session_store=store_url, session_max_per_user=4, auth_basic_users_file=str(users))
    web = cookieless_client(app)
    victim = sid_of(web.get('/login?name=victim'))
    sids = []
    for _ in range(80):
        clock.advance(0.01)
        sids.append(sid_of(web.get('/set?key=k&value=v', headers={'Authorization': basic('mallory', 'm-pw')})))

    assert who(web, victim) == 'victim'
    assert len(plugin_of(app).sessions_of('mallory')) == 4
    assert [who(web, sid) for sid in sids[-5:]] == ['None'] + ['mallory'] * 4


@pytest.mark.parametrize('path', ['/who', '/plain'])
def test_basic_credentials_sent_again_and_again_to_a_route_making_no_session_store_nothing(
        make_app, store_url, tmp_path, path):
    """The README's security note: only a handler that creates a session makes one per such login (reading
    ``session.user`` creates none, nor does a route that does not touch the session)."""
    users = write_users(tmp_path / 'users', mallory='m-pw')
    app = cap_app(make_app, session_store=store_url, auth_basic_users_file=str(users))
    app.get('/plain', callback=lambda: 'mallory')
    web = cookieless_client(app)
    answers = [web.get(path, headers={'Authorization': basic('mallory', 'm-pw')}) for _ in range(5)]

    assert [answer.text for answer in answers] == ['mallory'] * 5
    assert [answer.headers.getall('Set-Cookie') for answer in answers] == [[]] * 5
    assert plugin_of(app).sessions_of('mallory') == []


def test_a_session_used_since_is_kept_before_a_newer_one_left_idle(make_app, store_url, clock):
    app = cap_app(make_app, session_store=store_url, session_max_per_user=2)
    web = cookieless_client(app)
    first, second = log_in_again_and_again(web, clock, 'alice', 2)
    clock.advance(1)
    time.sleep(0.005)  # (Redis times a key's life by its own clock, which the test's clock does not move)
    web.get('/set?key=seen&value=1', headers={'Cookie': '%s=%s' % (COOKIE, first)})
    time.sleep(0.005)

    third, = log_in_again_and_again(web, clock, 'alice', 1)

    assert [who(web, sid) for sid in (first, second, third)] == ['alice', 'None', 'alice']


def test_a_cap_of_zero_keeps_every_session_of_a_user(make_app, store_url, clock):
    app = cap_app(make_app, session_store=store_url, session_max_per_user=0, session_max=1000)
    web = cookieless_client(app)
    log_in_again_and_again(web, clock, 'mallory', 30)
    assert len(plugin_of(app).sessions_of('mallory')) == 30


def test_a_cap_of_zero_leaves_the_memory_store_to_evict_other_users_as_before(make_app, clock):
    app = cap_app(make_app, session_max_per_user=0)
    web = cookieless_client(app)
    victim = sid_of(web.get('/login?name=victim'))
    log_in_again_and_again(web, clock, 'mallory', 200)
    assert who(web, victim) == 'None'
    assert len(plugin_of(app).sessions_of('mallory')) == 64


def test_session_max_per_user_is_1000_unless_told():
    assert canister.KEYS['session_max_per_user'].default == 1000


CAP_NOTE = ('canister.session_max_per_user = %d is not below session_max = %d, the most sessions the memory store '
            'keeps: one user logging in again and again can fill the store, which then evicts the sessions of '
            'everyone else; set session_max_per_user well below session_max (say %d), or raise session_max')


@pytest.mark.parametrize('config, numbers', [({'session_max': 1000}, (1000, 1000, 100)),
                                             ({'session_max': 500}, (1000, 500, 50)),
                                             ({'session_max_per_user': 200000}, (200000, 100000, 10000))])
def test_a_cap_per_user_not_below_the_memory_stores_bound_is_warned_of_at_install(make_app, log_dir, config, numbers):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config=config)
    assert [str(warning.message) for warning in caught] == [CAP_NOTE % numbers]
    assert [line for line in warning_lines(log_dir) if line.endswith(CAP_NOTE % numbers)]


def test_the_warning_of_a_memory_store_given_to_the_plugin_names_its_max_sessions_and_not_session_max(make_app,
                                                                                                      log_dir):
    note = ('canister.session_max_per_user = 1000 is not below max_sessions = 64 of the MemoryStore given as '
            'Canister(store=...), the most sessions it keeps: one user logging in again and again can fill the '
            'store, which then evicts the sessions of everyone else; set session_max_per_user well below 64 (say 6), '
            'or make the store with a larger bound, MemoryStore(max_sessions=...) (session_max does not change it)')
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(store=canister.MemoryStore(64), config={'session_max': 100000})
    assert [str(warning.message) for warning in caught] == [note]
    assert [line for line in warning_lines(log_dir) if line.endswith(note)]


@pytest.mark.parametrize('config', [{}, {'session_max': 1001}, {'session_max': 64, 'session_max_per_user': 63},
                                    {'session_max': 64, 'session_max_per_user': 0}])
def test_a_cap_below_the_memory_stores_bound_or_none_is_not_warned_of(make_app, log_dir, config):
    make_app(config=config)
    assert not [line for line in warning_lines(log_dir) if 'session_max_per_user' in line]


def test_the_bound_of_the_memory_store_does_not_concern_a_sqlite_store(make_app, log_dir, tmp_path):
    make_app(config={'session_max': 10, 'session_store': sqlite_url(tmp_path / 'sessions.db')})
    assert not [line for line in warning_lines(log_dir) if 'session_max_per_user' in line]


@pytest.mark.parametrize('value', [-1, 'many', 1.5])
def test_session_max_per_user_that_is_no_whole_number_from_0_is_a_config_error(make_app, value):
    with pytest.raises(canister.ConfigError, match='session_max_per_user'):
        make_app(config={'session_max_per_user': value})


def test_a_store_that_cannot_list_a_users_sessions_is_not_capped(make_app, clock):
    app = make_app(store=FourMethodStore(), config={'session_max_per_user': 1})
    add_session_routes(app)
    web = cookieless_client(app)
    first, second = log_in_again_and_again(web, clock, 'alice', 2)
    assert first != second
    assert len(plugin_of(app).sessions.store.records) == 2


def test_the_redis_set_of_a_capped_user_lists_only_the_sessions_kept(make_app, redis_server, clock):
    import redis
    app = cap_app(make_app, session_store=redis_server.url, session_max_per_user=8)
    kept = log_in_again_and_again(cookieless_client(app), clock, 'mallory', 50)[-8:]
    members = redis.Redis.from_url(redis_server.url).smembers('canister:session:user:mallory')
    assert sorted(member.decode() for member in members) == sorted(kept)


@pytest.mark.parametrize('into', ['a new session', 'an anonymous session'])
def test_two_logins_of_one_user_at_once_under_a_cap_of_one_leave_the_later_login_not_neither(
        make_app, serve, store_url, into):
    """Both logins have stored their session before either counts it, and both have listed the
    user's sessions before either ends one (the store waits for the other login at each): each sees
    the other's session besides its own.  The later one ends the earlier; the earlier one spares the
    later (the two ended each other: the person was logged out by logging in)."""
    store = canister.open_store(store_url)
    count_of, sessions_of = store.count_of, store.sessions_of
    both_stored, both_listed = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)
    store.count_of = lambda key: (both_stored.wait(), count_of(key))[1]
    store.sessions_of = lambda key: (sessions_of(key), both_listed.wait())[0]
    app = cap_app(make_app, session_max_per_user=1, store=store)
    origin = serve(app)
    browsers = [anonymous(origin, cart='1') if into == 'an anonymous session' else Browser(origin) for _ in range(2)]

    assert run_threads([lambda browser=browser: browser.get('/login?name=alice') for browser in browsers]) == []
    store.count_of, store.sessions_of = count_of, sessions_of

    assert sorted(browser.get('/who').text for browser in browsers) == ['None', 'alice']
    assert len(plugin_of(app).sessions_of('alice')) == 1


class ListingStore(canister.SessionStore):
    """A store of one's own that lists sessions by user (a dict of ids per user key), with an atomic
    update; ``count_of`` and ``unlist`` only where a test gives them.  ``listings`` counts ``sessions_of``."""

    def __init__(self, count_of=False, unlist=False):
        self.records, self.users, self.listings = {}, {}, 0
        self.lock = threading.Lock()
        if count_of:
            self.count_of = lambda user_key: len(self.users.get(user_key, ()))
        if unlist:
            self.unlist = self._unlist

    def load(self, sid):
        return self.records.get(sid)

    def save(self, sid, record, ttl):
        self.records[sid] = record

    def create(self, sid, record, ttl, user_key):
        with self.lock:
            self.records[sid] = record
            if user_key is not None:
                self.users.setdefault(user_key, []).append(sid)

    def touch(self, sid, ttl):
        pass

    def delete(self, sid):
        return self.records.pop(sid, None) is not None

    def update(self, sid, expected, record, ttl):
        with self.lock:
            current = self.records.get(sid)
            if current != expected:
                return False, current
            self.records[sid] = record
            return True, None

    def sessions_of(self, user_key):
        self.listings += 1
        return [(sid, self.records[sid], 0) for sid in self.users.get(user_key, ()) if sid in self.records]

    def _unlist(self, user_key, sids):
        self.users[user_key] = [sid for sid in self.users[user_key] if sid not in sids]


def test_a_store_of_ones_own_with_sessions_of_is_capped_and_lists_the_users_sessions_at_every_login(make_app, clock):
    store = ListingStore()
    app = cap_app(make_app, session_max_per_user=2, store=store)
    sids = log_in_again_and_again(cookieless_client(app), clock, 'alice', 5)

    assert [who(cookieless_client(app), sid) for sid in sids] == ['None'] * 3 + ['alice'] * 2
    assert store.listings == 5
    assert len(store.users['alice']) == 5  # without unlist() the ended ids stay in its list (their records are markers)
    assert len(plugin_of(app).sessions_of('alice')) == 2


def test_a_store_with_count_of_is_listed_only_by_the_logins_past_the_cap(make_app, clock):
    store = ListingStore(count_of=True)
    app = cap_app(make_app, session_max_per_user=2, store=store)
    sids = log_in_again_and_again(cookieless_client(app), clock, 'alice', 5)

    assert [who(cookieless_client(app), sid) for sid in sids] == ['None'] * 3 + ['alice'] * 2
    assert store.listings == 3


def test_a_store_with_unlist_is_told_the_ids_the_cap_ended(make_app, clock):
    store = ListingStore(count_of=True, unlist=True)
    app = cap_app(make_app, session_max_per_user=2, store=store)
    sids = log_in_again_and_again(cookieless_client(app), clock, 'alice', 5)

    assert store.users['alice'] == sids[-2:]
    assert store.listings == 3


def test_count_of_and_unlist_are_taken_from_the_store_at_install_not_at_each_login(make_app, clock):
    store = ListingStore()
    app = cap_app(make_app, session_max_per_user=2, store=store)
    store.count_of = lambda user_key: len(store.users.get(user_key, ()))  # added after the install: not used
    store.unlist = store._unlist
    log_in_again_and_again(cookieless_client(app), clock, 'alice', 5)

    assert store.listings == 5  # every login listed the user's sessions, as for a store without count_of
    assert len(store.users['alice']) == 5  # and none was unlisted


def _earlier_login_counts_last(make_app, serve, clock, store):
    """Two logins of alice under a cap of one: the earlier stores its session, then waits before it
    counts (or lists) until the later one has stored, counted, listed and ended the earlier's
    session; the two browsers."""
    name = 'count_of' if callable(getattr(store, 'count_of', None)) else 'sessions_of'
    method, arrived, release = getattr(store, name), threading.Event(), threading.Event()

    def first_waits(key):
        if not arrived.is_set():  # the earlier login's
            arrived.set()
            assert release.wait(30)
        return method(key)

    setattr(store, name, first_waits)
    origin = serve(cap_app(make_app, session_max_per_user=1, store=store))
    earlier, later = Browser(origin), Browser(origin)
    thread = threading.Thread(target=earlier.get, args=('/login?name=alice',), daemon=True)
    thread.start()
    assert arrived.wait(30)
    clock.advance(0.01)
    time.sleep(0.005)  # (Redis times a key's life by its own clock, which the test's clock does not move)
    assert later.get('/login?name=alice').status == 200
    release.set()
    thread.join(30)
    setattr(store, name, method)
    return earlier, later


@pytest.mark.parametrize('count_of', [False, True])
def test_a_login_whose_session_a_later_login_ended_meanwhile_ends_none_of_the_users_sessions(
        make_app, serve, clock, count_of):
    """The earlier login finds its own session gone when it counts: it ends nothing (it ended the later
    login's session too, as if the person's sessions were none of its own: logged out by logging in).
    A store of one's own without count_of, and with one that counts the ended ids it still lists."""
    earlier, later = _earlier_login_counts_last(make_app, serve, clock, ListingStore(count_of=count_of))
    assert (earlier.get('/who').text, later.get('/who').text) == ('None', 'alice')


def test_on_the_stores_canister_ships_a_login_ended_meanwhile_leaves_the_later_login(make_app, serve, clock,
                                                                                     store_url):
    earlier, later = _earlier_login_counts_last(make_app, serve, clock, canister.open_store(store_url))
    assert (earlier.get('/who').text, later.get('/who').text) == ('None', 'alice')


def test_a_login_into_an_older_anonymous_session_ends_another_devices_session_used_a_moment_before(
        make_app, store_url, clock):
    """The laptop's cart session was made before the phone's login; the phone was used half a second
    before the laptop logs in.  That is no login at the same time: the phone's session is the older
    login, and goes (it was spared, the two sessions kept under a cap of one)."""
    app = cap_app(make_app, session_store=store_url, session_max_per_user=1)
    web = cookieless_client(app)
    cart = sid_of(web.get('/set?key=cart&value=1'))
    clock.advance(10)
    phone = sid_of(web.get('/login?name=alice'))
    clock.advance(5)
    web.get('/set?key=seen&value=1', headers={'Cookie': '%s=%s' % (COOKIE, phone)})
    clock.advance(0.5)
    time.sleep(0.005)  # (Redis times a key's life by its own clock, which the test's clock does not move)
    laptop = sid_of(web.get('/login?name=alice', headers={'Cookie': '%s=%s' % (COOKIE, cart)}))

    assert (who(web, phone), who(web, laptop)) == ('None', 'alice')
    assert len(plugin_of(app).sessions_of('alice')) == 1
