"""The login throttle against concurrency, address choice and several worker processes.

* an attempt that could confirm a guess takes its place against ``auth_max_failures`` before
  the password is checked, so simultaneous wrong passwords cannot all be checked;
* a password verified minutes ago (or a token) takes no place: parallel requests of a logged-in
  client never crowd each other out, and a locked-out client is still refused;
* IPv6 clients count per /64;
* with a shared session store (SQLite, Redis) every process counts in the same place;
* X-Forwarded-For from a peer that is not trusted is reported once per process and app (each app's log says it).
"""
from __future__ import annotations

import ast
import collections
import contextlib
import os
import re
import sqlite3
import stat

import pytest

import canister
from helpers import ROOT, at_once, basic, bearer, client, read_log, signed_token
from servers import AppServer, Client, InProcessWaitress
from session_kit import FourMethodStore


WRONG = {'Authorization': basic('alice', 'guess')}
RIGHT = {'Authorization': basic('alice', 'wonderland')}


def hashed_alice_app(make_app, iterations=1000, **overrides):
    """An app where alice logs in with 'wonderland' (a PBKDF2 hash in the config); /me answers {'user': ...}."""
    app = make_app(auth_basic_username='alice',
                   auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', iterations), **overrides)

    @app.get('/me')
    def me():
        return {'user': canister.session.user}

    return app


def statuses_at_once(count, send):
    """Run ``send()`` in ``count`` threads released together; how many times each status came back."""
    return collections.Counter(at_once([send] * count))


# -- concurrency ---------------------------------------------------------------------

def test_30_simultaneous_wrong_passwords_get_5_checks_and_25_refusals(make_app):
    # A slow hash (as in production) keeps the first attempts busy while the others arrive.
    app = hashed_alice_app(make_app, iterations=200000, auth_max_failures=5)
    server = InProcessWaitress(app, threads=30)
    try:
        web = Client(server.origin)
        statuses = statuses_at_once(30, lambda: web.get('/me', headers=WRONG).status)
        assert statuses == {401: 5, 429: 25}
        assert web.get('/me', headers=RIGHT).status == 429
    finally:
        server.close()


def test_a_successful_login_gives_its_place_back(make_app):
    c = client(hashed_alice_app(make_app, auth_max_failures=3))
    for _ in range(10):
        assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}
    for _ in range(3):
        assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401
    assert c.get('/me', headers=RIGHT, expect_errors=True).status_int == 429


@pytest.mark.parametrize('backend', ['memory', 'sqlite'])
def test_parallel_requests_with_a_known_password_never_crowd_each_other_out(make_app, tmp_path, backend):
    store = 'sqlite:///' + str(tmp_path / 'sessions.db') if backend == 'sqlite' else 'memory'
    app = hashed_alice_app(make_app, auth_max_failures=1, session_store=store)
    server = InProcessWaitress(app, threads=20)
    try:
        web = Client(server.origin)
        assert web.get('/me', headers=RIGHT).status == 200  # verified once: known for 5 minutes
        assert statuses_at_once(20, lambda: web.get('/me', headers=RIGHT).status) == {200: 20}
        assert web.get('/me', headers=WRONG).status == 401  # the one failure allowed
        assert statuses_at_once(5, lambda: web.get('/me', headers=RIGHT).status) == {429: 5}  # locked out all the same
    finally:
        server.close()


def test_parallel_requests_with_valid_tokens_take_no_place_and_never_crowd_each_other_out(make_app, tmp_path):
    secret = 'a shared secret of at least thirty-two bytes, for HS256'
    path = tmp_path / 'sessions.db'
    app = hashed_alice_app(make_app, auth_max_failures=1, auth_jwt_secret=secret, session_store='sqlite:///%s' % path)
    token = bearer(signed_token(secret))
    server = InProcessWaitress(app, threads=20)
    try:
        web = Client(server.origin)
        assert statuses_at_once(20, lambda: web.get('/me', headers=token).status) == {200: 20}
        with sqlite3.connect(str(path)) as connection:  # no attempt was counted, not even for a moment
            assert connection.execute('SELECT client, attempts FROM canister_throttle').fetchall() == []
        assert web.get('/me', headers={'Authorization': 'Bearer not.a.token'}).status == 401
        assert web.get('/me', headers=token).status == 429  # locked out: no token is checked
    finally:
        server.close()


# -- addresses -----------------------------------------------------------------------

def test_ipv6_clients_are_counted_per_64(make_app, log_dir):
    app = hashed_alice_app(make_app, auth_max_failures=3)
    for address in ('2001:db8::1', '2001:db8::2', '2001:db8::ffff:1'):
        assert client(app, REMOTE_ADDR=address).get('/me', headers=WRONG, expect_errors=True).status_int == 401
    neighbour = client(app, REMOTE_ADDR='2001:db8::abcd:1234').get('/me', headers=RIGHT, expect_errors=True)
    assert neighbour.status_int == 429
    assert ' WARNING ' in read_log(log_dir) and 'Too many failed logins from 2001:db8::/64' in read_log(log_dir)
    other_64 = client(app, REMOTE_ADDR='2001:db8:0:1::1').get('/me', headers=RIGHT)
    assert other_64.json == {'user': 'alice'}


def test_ipv4_clients_are_still_counted_per_address(make_app):
    app = hashed_alice_app(make_app, auth_max_failures=3)
    for _ in range(3):
        client(app, REMOTE_ADDR='192.0.2.1').get('/me', headers=WRONG, expect_errors=True)
    assert client(app, REMOTE_ADDR='192.0.2.1').get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    assert client(app, REMOTE_ADDR='192.0.2.2').get('/me', headers=RIGHT).json == {'user': 'alice'}
    mapped = client(app, REMOTE_ADDR='::ffff:192.0.2.1').get('/me', headers=RIGHT, expect_errors=True)
    assert mapped.status_int == 429



@pytest.mark.parametrize('prefix, shown', [('64:ff9b::', '192.0.2.1'), ('64:ff9b:1::', '64:ff9b:1::c000:201')])
def test_ipv4_clients_behind_a_nat64_translator_are_counted_each_by_its_own_address(make_app, log_dir, prefix,
                                                                                     shown):
    app = hashed_alice_app(make_app, auth_max_failures=3)
    locked = prefix + 'c000:201'  # 192.0.2.1
    for _ in range(3):
        client(app, REMOTE_ADDR=locked).get('/me', headers=WRONG, status=401)
    assert client(app, REMOTE_ADDR=locked).get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    assert 'Too many failed logins from %s:' % shown in read_log(log_dir)
    neighbour = client(app, REMOTE_ADDR=prefix + 'c000:202').get('/me', headers=RIGHT)  # 192.0.2.2, same /64
    assert neighbour.json == {'user': 'alice'}


def test_ipv4_clients_under_a_local_use_nat64_prefix_of_48_bits_are_counted_each_by_its_own_address(make_app):
    """RFC 6052 puts the IPv4 address of a /48 prefix in bits 48 to 87, around the u octet: the last 32 bits
    are zero for every client."""
    app = hashed_alice_app(make_app, auth_max_failures=3)
    locked = '64:ff9b:1:c000:2:100::'  # 192.0.2.1 under 64:ff9b:1::/48
    for _ in range(3):
        client(app, REMOTE_ADDR=locked).get('/me', headers=WRONG, status=401)
    assert client(app, REMOTE_ADDR=locked).get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    neighbour = client(app, REMOTE_ADDR='64:ff9b:1:c000:2:200::').get('/me', headers=RIGHT)  # 192.0.2.2
    assert neighbour.json == {'user': 'alice'}


# -- shared stores -------------------------------------------------------------------

def hammer(url, attempts=30, together=5):
    """Wrong passwords in waves of simultaneous connections (each a new connection, so a
    sync gunicorn worker busy with one leaves the next to another worker)."""
    web = Client(url)
    statuses = collections.Counter()
    for _ in range(attempts // together):
        statuses.update(statuses_at_once(together, lambda: web.get('/me', headers=WRONG).status))
    return statuses


@pytest.mark.parametrize('backend', ['sqlite', 'redis'])
def test_gunicorn_workers_sharing_a_store_share_the_limit(backend, tmp_path, request):
    if backend == 'redis':
        store = request.getfixturevalue('redis_server').url
    else:
        store = 'sqlite:///' + str(tmp_path / 'sessions.db')
    server = AppServer('throttle_app:app', server='gunicorn', workers=3,
                       env={'CANISTER_SESSION_STORE': store, 'CANISTER_AUTH_MAX_FAILURES': '5',
                            'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    server.start()
    try:
        statuses = hammer(server.url)
        assert statuses[401] == 5, (statuses, server.output())
        assert statuses[429] == 25
        for _ in range(6):  # the right password is refused, whichever worker answers
            assert Client(server.url).get('/me', headers=RIGHT).status == 429
    finally:
        server.cleanup()


def test_the_redis_throttle_keys_expire_with_the_window(make_app, redis_server):
    import redis
    app = hashed_alice_app(make_app, auth_max_failures=2, session_store=redis_server.url)
    c = client(app)
    for _ in range(2):
        c.get('/me', headers=WRONG, expect_errors=True)
    response = c.get('/me', headers=WRONG, expect_errors=True)
    assert response.status_int == 429
    assert 55 <= int(response.headers['Retry-After']) <= 60
    keys = redis.Redis.from_url(redis_server.url).keys('canister:session:throttle:*')
    assert keys == [b'canister:session:throttle:127.0.0.1']
    assert 0 < redis.Redis.from_url(redis_server.url).pttl(keys[0]) <= 60000


def evalsha_calls(url):
    import redis
    stats = redis.Redis.from_url(url).info('commandstats')
    return stats.get('cmdstat_evalsha', {}).get('calls', 0)


def test_with_redis_each_attempt_costs_the_throttle_one_round_trip_and_a_new_password_two(make_app, redis_server):
    import redis
    app = hashed_alice_app(make_app, auth_max_failures=5, session_store=redis_server.url)
    c = client(app)
    assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}  # new: claim and release (loads both scripts)
    assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}  # known: a look (loads its script)
    redis.Redis.from_url(redis_server.url).config_resetstat()
    assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}
    assert evalsha_calls(redis_server.url) == 1
    assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401
    assert evalsha_calls(redis_server.url) == 2
    fresh = client(hashed_alice_app(make_app, auth_max_failures=5, session_store=redis_server.url))
    redis.Redis.from_url(redis_server.url).config_resetstat()
    assert fresh.get('/me', headers=RIGHT).json == {'user': 'alice'}  # a password not verified yet
    assert evalsha_calls(redis_server.url) == 2  # takes a place and gives it back


def test_with_redis_down_a_login_attempt_answers_503(make_app, redis_server):
    app = hashed_alice_app(make_app, session_store=redis_server.url)
    c = client(app)
    assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}
    redis_server.stop()
    response = c.get('/me', headers=RIGHT, expect_errors=True)
    assert response.status_int == 503
    assert c.get('/me', expect_errors=True).json == {'user': None}  # no credentials: no store needed


def test_the_sqlite_throttle_keeps_the_session_files_private(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    app = hashed_alice_app(make_app, auth_max_failures=2, session_store='sqlite:///' + str(path))
    c = client(app)
    for _ in range(3):
        c.get('/me', headers=WRONG, expect_errors=True)
    assert c.get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    names = [name for name in os.listdir(tmp_path) if name.startswith('sessions.db')]
    assert 'sessions.db' in names
    for name in names:
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    with sqlite3.connect(str(path)) as connection:
        rows = connection.execute('SELECT client, attempts FROM canister_throttle').fetchall()
    assert rows == [('127.0.0.1', 2)]


def test_two_apps_on_one_sqlite_file_share_the_limit(make_app, tmp_path):
    store = 'sqlite:///' + str(tmp_path / 'sessions.db')
    first = client(hashed_alice_app(make_app, auth_max_failures=4, session_store=store))
    second = client(hashed_alice_app(make_app, auth_max_failures=4, session_store=store))
    for c in (first, second, first, second):
        assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401
    assert first.get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    assert second.get('/me', headers=RIGHT, expect_errors=True).status_int == 429


def test_a_custom_store_keeps_the_throttle_in_the_process(make_app):
    app = hashed_alice_app(make_app, auth_max_failures=2, store=FourMethodStore())
    c = client(app)
    for _ in range(2):
        assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401
    assert c.get('/me', headers=RIGHT, expect_errors=True).status_int == 429


# -- X-Forwarded-For from an untrusted peer ----------------------------------------------

@contextlib.contextmanager
def throttle_app_under_gunicorn(log_dir, **env):
    """throttle_app served by one gunicorn worker, logging to ``log_dir`` (``env``: more CANISTER_* settings): a
    Client of it, the server stopped at the end (gunicorn passes X-Forwarded-For on as sent; waitress drops it from
    untrusted peers itself)."""
    server = AppServer('throttle_app:app', server='gunicorn', workers=1, env=dict(env, CANISTER_LOG_PATH=str(log_dir)))
    server.start()
    try:
        yield Client(server.url)
    finally:
        server.cleanup()


def forwarded_warnings(log_dir):
    return re.findall(r' WARNING .*X-Forwarded-For came from 127\.0\.0\.1, which is not in trusted_proxies.*',
                      read_log(log_dir))


def test_x_forwarded_for_from_an_untrusted_peer_is_reported_once_per_process(tmp_path):
    log_dir = tmp_path / 'logs'
    with throttle_app_under_gunicorn(log_dir) as web:
        # A request without credentials is not counted, so it says nothing: the first login does.
        assert web.get('/ping', headers={'X-Forwarded-For': '198.51.100.6'}).status == 200
        assert not forwarded_warnings(log_dir), read_log(log_dir)
        for address in ('198.51.100.7', '198.51.100.8', '198.51.100.9'):
            assert web.get('/me', headers=dict(RIGHT, **{'X-Forwarded-For': address})).json()['user'] == 'alice'
        web.get('/me', headers=dict(WRONG, **{'X-Forwarded-For': '198.51.100.10'}))
    warnings = forwarded_warnings(log_dir)
    assert len(warnings) == 1, read_log(log_dir)
    assert 'clients are logged and throttled by that address' in warnings[0]


def test_x_forwarded_for_from_a_trusted_proxy_is_not_reported(tmp_path):
    log_dir = tmp_path / 'logs'
    with throttle_app_under_gunicorn(log_dir, CANISTER_TRUSTED_PROXIES='127.0.0.1') as web:
        assert web.get('/me', headers=dict(RIGHT, **{'X-Forwarded-For': '198.51.100.7'})).json()['user'] == 'alice'
    log = read_log(log_dir)
    assert 'Logged in as: alice' in log
    assert 'X-Forwarded-For came from' not in log


def unforwarded_warnings(log_dir):
    return re.findall(r' WARNING +\[[^\]]*\]   (A login came through the trusted proxy 127\.0\.0\.1 with .*)',
                      read_log(log_dir))


def test_a_trusted_proxy_that_sends_x_real_ip_but_no_x_forwarded_for_is_reported_once(tmp_path):
    """nginx with ``proxy_set_header X-Real-IP $remote_addr`` alone: every client counts as the proxy."""
    log_dir = tmp_path / 'logs'
    with throttle_app_under_gunicorn(log_dir, CANISTER_TRUSTED_PROXIES='127.0.0.1') as web:
        assert web.get('/me', headers=RIGHT).json()['user'] == 'alice'   # straight from the proxy's host: nothing to say
        assert not unforwarded_warnings(log_dir)
        for address in ('198.51.100.7', '198.51.100.8'):
            proxied = dict(RIGHT, **{'X-Real-IP': address, 'X-Forwarded-Proto': 'https'})
            assert web.get('/me', headers=proxied).json()['user'] == 'alice'
    assert unforwarded_warnings(log_dir) == [
        "A login came through the trusted proxy 127.0.0.1 with X-Real-IP, X-Forwarded-Proto but no X-Forwarded-For, the "
        "only header canister takes the client's address from: every client of that proxy is logged and throttled as "
        "the proxy, and one client's failed logins lock all of them out; have the proxy send X-Forwarded-For (nginx: "
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; waitress drops it unless started with "
        "--no-clear-untrusted-proxy-headers)"]


def test_a_trusted_proxy_that_sends_x_forwarded_for_beside_x_real_ip_is_not_reported(make_app, log_dir):
    app = hashed_alice_app(make_app, trusted_proxies='10.0.0.1')
    assert client(app, REMOTE_ADDR='10.0.0.1', HTTP_X_REAL_IP='198.51.100.7',
                  HTTP_X_FORWARDED_FOR='198.51.100.7').get('/me', headers=RIGHT).status_int == 200
    assert 'Logged in as: alice' in read_log(log_dir) and 'A login came through the trusted proxy' not in read_log(log_dir)


@pytest.mark.parametrize('forwarded', ['203.0.113.7:%d', '[2001:db8::7]:%d'])
def test_a_client_a_trusted_proxy_names_with_its_port_is_counted_by_its_address(make_app, log_dir, forwarded):
    """Some proxies (Azure Application Gateway) write address:port, a new port for each connection."""
    app = hashed_alice_app(make_app, auth_max_failures=3, trusted_proxies='10.0.0.1')

    def attempt(port, headers):
        return client(app, REMOTE_ADDR='10.0.0.1', HTTP_X_FORWARDED_FOR=forwarded % port).get(
            '/me', headers=headers, expect_errors=True).status_int

    assert [attempt(40000 + number, WRONG) for number in range(3)] == [401, 401, 401]
    assert attempt(50000, RIGHT) == 429
    client_address = forwarded.partition(':%d')[0].strip('[]') if forwarded[0] == '[' else '203.0.113.7'
    assert re.search(r' INFO     \[%s-' % re.escape(client_address), read_log(log_dir))


def test_the_count_is_per_client_so_guesses_from_many_addresses_each_meet_the_limit_apart(make_app):
    app = hashed_alice_app(make_app, auth_max_failures=2)
    for last in range(1, 6):  # five addresses, each guessing up to its own limit
        for _ in range(2):
            assert client(app, REMOTE_ADDR='198.51.100.%d' % last).get(
                '/me', headers=WRONG, expect_errors=True).status_int == 401
    assert client(app, REMOTE_ADDR='198.51.100.9').get('/me', headers=RIGHT).json == {'user': 'alice'}


@pytest.mark.parametrize('listed, other_client', [(False, 429), (True, 200)], ids=['proxy-not-listed', 'proxy-listed'])
def test_clients_behind_a_reverse_proxy_share_one_count_unless_it_is_in_trusted_proxies(make_app, listed,
                                                                                       other_client):
    """Security notes: list the reverse proxy in trusted_proxies, or every client behind it shares one count."""
    app = hashed_alice_app(make_app, auth_max_failures=2, **({'trusted_proxies': '10.0.0.2'} if listed else {}))

    def via_proxy(forwarded_for):
        return client(app, REMOTE_ADDR='10.0.0.2', HTTP_X_FORWARDED_FOR=forwarded_for)

    for _ in range(2):
        assert via_proxy('198.51.100.7').get('/me', headers=WRONG, expect_errors=True).status_int == 401
    assert via_proxy('198.51.100.7').get('/me', headers=RIGHT, expect_errors=True).status_int == 429
    assert via_proxy('203.0.113.9').get('/me', headers=RIGHT, expect_errors=True).status_int == other_client


def test_a_wall_clock_set_back_an_hour_does_not_lock_a_sqlite_throttled_client_out_for_the_hour(
        make_app, tmp_path, clock):
    """The SQLite counts end their windows by the wall clock, which every process shares: an NTP step back
    of an hour used to stretch a minute's lockout to an hour and a minute (``Retry-After: 3660``)."""
    app = hashed_alice_app(make_app, auth_max_failures=1, session_store='sqlite:///' + str(tmp_path / 'sessions.db'))
    c = client(app)
    assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401
    locked = c.get('/me', headers=RIGHT, expect_errors=True)
    assert locked.status_int == 429 and int(locked.headers['Retry-After']) == 60
    clock.advance(-3600)
    assert c.get('/me', headers=RIGHT).json == {'user': 'alice'}
    assert c.get('/me', headers=WRONG, expect_errors=True).status_int == 401   # a new window, counted as before
    assert c.get('/me', headers=RIGHT, expect_errors=True).status_int == 429


# -- a bounded count -------------------------------------------------------------------

#: The most clients the memory throttle counts at once (``_Throttle.max_clients``).
MOST_CLIENTS = 10000


def from_64(web, number, headers):
    """A request to /me from the /64 number ``number`` (an attacker's /48 holds 65,536 of them)."""
    return web.get('/me', headers=headers, expect_errors=True,
                   extra_environ={'REMOTE_ADDR': '2001:db8:1:%x::1' % number})


def test_more_clients_than_the_memory_throttle_counts_do_not_make_it_forget_a_locked_out_one(make_app, log_dir):
    """Were the oldest count dropped for a new client, an attacker taking turns among 10,001 /64s would find
    each count gone at its next turn: guesses without end.  A new client waits for a window to end instead."""
    app = hashed_alice_app(make_app, iterations=1, auth_max_failures=2)
    web = client(app)
    statuses = [from_64(web, 0, WRONG).status_int for _ in range(3)]
    assert statuses == [401, 401, 429]
    statuses = collections.Counter(from_64(web, number, WRONG).status_int for number in range(1, MOST_CLIENTS + 1))
    assert statuses == {401: MOST_CLIENTS - 1, 429: 1}  # the last finds every place a client's in its window
    refused = from_64(web, MOST_CLIENTS + 1, RIGHT)
    assert refused.status_int == 429 and 0 < int(refused.headers['Retry-After']) <= 60
    assert refused.text.startswith('Too many clients with failed logins at once: retry in ')
    assert from_64(web, 0, RIGHT).status_int == 429  # the first one is still locked out
    log = read_log(log_dir)
    assert log.count('The login throttle of this process counts 10000 clients, its most, each with failed logins in '
                     'its window (a guessing attack from many addresses?): logins from clients it does not count yet '
                     'are refused with 429 until the first window ends, rather than forgetting a count') == 1
    assert from_64(web, 1, RIGHT).json == {'user': 'alice'}  # a client counted already is checked as before


def test_a_forged_token_while_the_memory_throttle_counts_its_most_clients_is_refused_as_a_guess_would_be(
        make_app, log_dir):
    """README (A bounded count in memory): a client not counted yet is refused with 429 while the throttle is
    full.  A forged token takes no place before its check, but its failure must: with no room for it, 429 too."""
    secret = 'a shared secret of at least thirty-two bytes, for HS256'
    app = hashed_alice_app(make_app, iterations=1, auth_max_failures=2, auth_jwt_secret=secret)
    web = client(app)
    assert all(from_64(web, number, WRONG).status_int == 401 for number in range(MOST_CLIENTS))
    forged = from_64(web, MOST_CLIENTS, bearer(signed_token('not the secret, but thirty-two bytes or more')))
    assert forged.status_int == 429 and 0 < int(forged.headers['Retry-After']) <= 60
    assert forged.text.startswith('Too many clients with failed logins at once: retry in ')
    assert read_log(log_dir).count('The login throttle of this process counts 10000 clients, its most') == 1


def test_successful_form_logins_take_no_room_in_the_memory_throttle(make_app):
    """Every form login takes a place before its check; a success gives it back, and its client's count with it."""
    app = hashed_alice_app(make_app, iterations=1, auth_max_failures=2)
    users = {'alice': canister.hash_password('wonderland', 'pbkdf2', 1)}
    app.post('/login')(lambda username, password: str(canister.log_in(username, password, users)))
    web = client(app)

    def form_login_from_64(number, password):
        return web.post('/login', {'username': 'alice', 'password': password}, expect_errors=True,
                        extra_environ={'REMOTE_ADDR': '2001:db8:1:%x::1' % number})

    assert all(form_login_from_64(number, 'wonderland').text == 'True' for number in range(MOST_CLIENTS + 1))
    assert form_login_from_64(MOST_CLIENTS + 1, 'guess').text == 'False'  # checked: there was room for its count


def test_the_hand_written_counters_are_about_as_many_lines_as_the_readme_says():
    """README (Why hand-written counters): "about 200 lines here": the throttle's classes and the function that
    picks one, without blank lines and comments, within a tenth of that."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert 'fixed-window counter with "take a place, give it back, or only look" semantics: about 200 lines' in readme
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    defined = {node.name: node for node in ast.parse(source).body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    lines = source.splitlines()[defined['_Throttle'].lineno - 1:defined['_throttle_for'].end_lineno]
    code = [line for line in lines if line.strip() and not line.strip().startswith('#')]
    assert 180 <= len(code) <= 220, len(code)
