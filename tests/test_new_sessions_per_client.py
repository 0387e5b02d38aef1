"""``session_new_max``: how many new sessions one client may make per minute in a process.

A client that keeps no cookie (a bot, a crawler, a flood) makes a new session at each request whose handler
writes the session; past the limit those requests answer 429 and store nothing, while other clients, and the
same client's logins, still get theirs.  The flood is sent through a trusted proxy on 127.0.0.1, which names
each client in X-Forwarded-For, as the login throttle's tests do.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
import redis

import canister
from canister import session
from helpers import (at_once, basic, client, cookieless_client, fill_up, warning_lines, with_cookie,
                     write_users)
from session_kit import Browser, plugin_of

FLOODER = '198.51.100.7'
NEIGHBOUR = '203.0.113.9'
BASIC_ALICE = basic('alice', 'right')


def flood_app(make_app: Any, tmp_path: Any, **config: Any) -> Any:
    """``/touch`` writes the session (a counter, as a cart would); ``POST /login`` is a form login of alice
    (password ``right``) from the users file; ``/me`` answers who is logged in."""
    config.setdefault('trusted_proxies', '127.0.0.1')
    app = make_app(auth_basic_users_file=str(write_users(tmp_path / 'users.txt', alice='right')), **config)

    @app.get('/touch')
    def touch():
        session.data['n'] = session.data.get('n', 0) + 1
        return {'n': session.data['n']}

    @app.post('/login')
    def login(username: str, password: str):
        return {'ok': canister.log_in(username, password)}

    app.get('/me')(lambda: {'user': session.user})
    return app


def from_(address: str) -> dict:
    return {'X-Forwarded-For': address}


def stored_sessions(app: Any, store_url: str) -> int:
    """How many sessions the app's store holds, read from the store itself."""
    if store_url == 'memory':
        return len(plugin_of(app).sessions.store)
    if store_url.startswith('sqlite'):
        with sqlite3.connect(store_url[len('sqlite:///'):]) as db:
            return db.execute('SELECT count(*) FROM canister_sessions').fetchone()[0]
    prefix = b'canister:session:'
    keys = redis.Redis.from_url(store_url).keys(prefix + b'*')
    return sum(1 for key in keys if re.fullmatch(rb'[A-Za-z0-9_-]{43,128}', key[len(prefix):]))


def test_a_cookieless_flood_from_one_client_gets_429_past_the_limit_while_another_client_gets_a_session_and_logs_in(
        make_app, tmp_path, serve, store_url):
    app = flood_app(make_app, tmp_path, session_store=store_url, session_new_max=20)
    origin = serve(app, clear_untrusted_proxy_headers=False)  # (the headers reach canister, which judges them)
    answers = [Browser(origin).get('/touch', from_(FLOODER)) for _ in range(30)]
    assert [answer.status for answer in answers] == [200] * 20 + [429] * 10
    refused = answers[-1]
    assert 0 < int(refused.headers['Retry-After']) <= 60 and not refused.set_cookies
    assert refused.body.startswith(b'Too many new sessions from this address: retry in ')
    assert stored_sessions(app, store_url) == 20

    neighbour = Browser(origin)
    assert neighbour.get('/touch', from_(NEIGHBOUR)).status == 200 and neighbour.sid
    assert neighbour.post('/login', {'username': 'alice', 'password': 'right'}, from_(NEIGHBOUR)).json() == {'ok': True}
    assert neighbour.get('/me', from_(NEIGHBOUR)).json() == {'user': 'alice'}


def test_a_login_from_the_flooding_address_still_makes_its_session(make_app, tmp_path, serve, store_url):
    """A login's new session (a form's, Basic's) is not counted: people behind the flood's address (a NAT) can still
    log in."""
    app = flood_app(make_app, tmp_path, session_store=store_url, session_new_max=3)
    origin = serve(app, clear_untrusted_proxy_headers=False)  # (the headers reach canister, which judges them)
    assert [Browser(origin).get('/touch', from_(FLOODER)).status for _ in range(5)] == [200] * 3 + [429] * 2
    person = Browser(origin)
    assert person.post('/login', {'username': 'alice', 'password': 'right'}, from_(FLOODER)).json() == {'ok': True}
    assert person.get('/me', from_(FLOODER)).json() == {'user': 'alice'}
    basic = Browser(origin).get('/touch', dict(from_(FLOODER), Authorization=BASIC_ALICE))
    assert basic.status == 200 and basic.set_cookies


def test_a_browser_that_sends_its_cookie_back_is_never_counted(make_app, tmp_path, serve, store_url):
    app = flood_app(make_app, tmp_path, session_store=store_url, session_new_max=2)
    origin = serve(app, clear_untrusted_proxy_headers=False)  # (the headers reach canister, which judges them)
    browser = Browser(origin)
    assert [browser.get('/touch', from_(FLOODER)).json()['n'] for _ in range(10)] == list(range(1, 11))
    # the browser's one session counted; the address has one new session left in its minute
    assert [Browser(origin).get('/touch', from_(FLOODER)).status for _ in range(2)] == [200, 429]
    assert browser.get('/touch', from_(FLOODER)).json() == {'n': 11}


def test_the_warning_is_written_once_per_client_per_minute_and_the_client_is_served_again_after_it(
        make_app, tmp_path, log_dir, monotonic):
    app = flood_app(make_app, tmp_path, session_new_max=2)
    bot = cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=FLOODER)
    assert [bot.get('/touch', expect_errors=True).status_int for _ in range(10)] == [200, 200] + [429] * 8
    monotonic.advance(45)
    refused = bot.get('/touch', expect_errors=True)
    assert refused.status_int == 429 and refused.headers['Retry-After'] == '15'
    assert cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=NEIGHBOUR).get('/touch').status_int \
        == 200
    warned = [line for line in warning_lines(log_dir) if 'session_new_max' in line]
    assert len(warned) == 1 and FLOODER in warned[0] and 'refused with 429 for 60s' in warned[0]
    monotonic.advance(16)
    assert [bot.get('/touch', expect_errors=True).status_int for _ in range(5)] == [200, 200, 429, 429, 429]
    assert len([line for line in warning_lines(log_dir) if 'session_new_max' in line]) == 2


def test_addresses_of_one_ipv6_64_share_a_count_and_another_64_has_its_own(make_app, tmp_path):
    app = flood_app(make_app, tmp_path, session_new_max=2)

    def touch(address):
        return cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=address).get(
            '/touch', expect_errors=True).status_int

    assert [touch('2001:db8:1:2::%x' % last) for last in range(1, 4)] == [200, 200, 429]
    assert touch('2001:db8:1:3::1') == 200


def test_a_proxy_not_in_trusted_proxies_is_named_in_the_warning(make_app, tmp_path, log_dir):
    """Every client behind an unlisted proxy counts as the proxy: the WARNING says what to do."""
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    proxy = cookieless_client(app, REMOTE_ADDR='10.0.0.2', HTTP_X_FORWARDED_FOR=FLOODER)
    assert [proxy.get('/touch', expect_errors=True).status_int for _ in range(2)] == [200, 429]
    warned = [line for line in warning_lines(log_dir) if 'session_new_max' in line]
    assert len(warned) == 1 and '10.0.0.2' in warned[0] and 'list it in trusted_proxies' in warned[0]


def flood_warning(app: Any, log_dir: Any, **environ: str) -> str:
    """The one WARNING of a client that makes two new sessions where one is allowed."""
    visitor = cookieless_client(app, **environ)
    assert [visitor.get('/touch', expect_errors=True).status_int for _ in range(2)] == [200, 429]
    warned = [line for line in warning_lines(log_dir) if 'session_new_max' in line]
    assert len(warned) == 1
    return warned[0]


@pytest.mark.parametrize('header', ['HTTP_FORWARDED', 'HTTP_X_REAL_IP'])
def test_a_private_proxy_sending_forwarded_or_x_real_ip_is_named_in_the_warning(make_app, tmp_path, log_dir, header):
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    value = 'for=%s' % FLOODER if header == 'HTTP_FORWARDED' else FLOODER
    assert 'list it in trusted_proxies' in flood_warning(app, log_dir, REMOTE_ADDR='192.168.1.2', **{header: value})


@pytest.mark.parametrize('listed', ['', '10.0.0.2'], ids=['unlisted', 'listed'])
def test_a_proxy_sending_x_real_ip_alone_is_told_to_send_x_forwarded_for_which_alone_separates_its_clients(
        make_app, tmp_path, log_dir, listed):
    """trusted_proxies makes canister believe X-Forwarded-For only: listing a proxy that sends X-Real-IP alone
    leaves its clients one count, so the hint says to send X-Forwarded-For too (and to list the proxy);
    done, two of its clients each make their session."""
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies=listed)
    warning = flood_warning(app, log_dir, REMOTE_ADDR='10.0.0.2', HTTP_X_REAL_IP=FLOODER)
    assert ("10.0.0.2 made more than session_new_max = 1 new sessions within a minute (a client that keeps no "
            "cookie: a bot, a crawler, a flood?) (it sent X-Real-IP but no X-Forwarded-For, the only header canister "
            "takes a client's address from: if it is your proxy, have it send X-Forwarded-For (nginx: "
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for) and list it in trusted_proxies, else every "
            "client behind it counts as one)") in warning
    assert cookieless_client(app, REMOTE_ADDR='10.0.0.2', HTTP_X_REAL_IP=NEIGHBOUR).get(
        '/touch', expect_errors=True).status_int == 429                # (X-Real-IP: still the proxy's count)
    followed = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='10.0.0.2')
    assert [cookieless_client(followed, REMOTE_ADDR='10.0.0.2', HTTP_X_REAL_IP=address,
                              HTTP_X_FORWARDED_FOR=address).get('/touch').status_int
            for address in (FLOODER, NEIGHBOUR)] == [200, 200]


def test_a_proxy_sending_forwarded_and_x_real_ip_without_x_forwarded_for_is_named_with_both(
        make_app, tmp_path, log_dir):
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    warning = flood_warning(app, log_dir, REMOTE_ADDR='192.168.1.2', HTTP_FORWARDED='for=%s' % FLOODER,
                            HTTP_X_REAL_IP=FLOODER)
    assert '(it sent Forwarded and X-Real-IP but no X-Forwarded-For,' in warning


@pytest.mark.parametrize('listed', ['', '10.0.0.2'], ids=['unlisted', 'listed'])
def test_a_proxy_sending_x_forwarded_proto_and_host_alone_is_told_to_send_x_forwarded_for(
        make_app, tmp_path, log_dir, listed):
    """A proxy that says only its client's scheme and host (X-Forwarded-Proto, X-Forwarded-Host) counts all its
    clients as one just the same: the hint names the headers it sent, as the login's WARNING does."""
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies=listed)
    warning = flood_warning(app, log_dir, REMOTE_ADDR='10.0.0.2', HTTP_X_FORWARDED_PROTO='https',
                            HTTP_X_FORWARDED_HOST='example.com')
    assert ('(it sent X-Forwarded-Proto and X-Forwarded-Host but no X-Forwarded-For, the only header canister takes '
            "a client's address from: if it is your proxy, have it send X-Forwarded-For") in warning


def test_a_proxy_sending_x_forwarded_for_among_others_is_only_told_to_be_listed(make_app, tmp_path, log_dir):
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    warning = flood_warning(app, log_dir, REMOTE_ADDR='192.168.1.2', HTTP_X_FORWARDED_FOR=FLOODER,
                            HTTP_X_REAL_IP=FLOODER)
    assert ('(it sent X-Forwarded-For: if it is your proxy, list it in trusted_proxies, else every client behind it '
            'counts as one)') in warning


@pytest.mark.parametrize('peer', ['', 'localhost'])
def test_requests_without_a_client_address_are_told_to_trust_the_unix_socket_proxy(make_app, tmp_path, log_dir, peer):
    """A proxy on a UNIX socket that is not trusted gives no address at all: every visitor shares one count."""
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    assert 'add unix to trusted_proxies' in flood_warning(app, log_dir, REMOTE_ADDR=peer)


def test_a_client_sending_no_proxy_header_gets_no_proxy_hint(make_app, tmp_path, log_dir):
    app = flood_app(make_app, tmp_path, session_new_max=1, trusted_proxies='')
    assert 'trusted_proxies' not in flood_warning(app, log_dir, REMOTE_ADDR='10.0.0.2')


def test_a_full_table_of_clients_forgets_the_oldest_instead_of_refusing_a_new_client(
        make_app, tmp_path, monkeypatch):
    assert canister._NEW_SESSIONS_CLIENTS == 10000  # (the README's number; a table of 3 here)
    monkeypatch.setattr(canister, '_NEW_SESSIONS_CLIENTS', 3)
    app = flood_app(make_app, tmp_path, session_new_max=1)

    def touch(address):
        return cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=address).get(
            '/touch', expect_errors=True).status_int

    assert [touch('192.0.2.%d' % last) for last in (1, 2, 3)] == [200, 200, 200]
    assert touch('192.0.2.1') == 429
    assert touch('192.0.2.4') == 200  # the table is full: 192.0.2.1, the oldest, is forgotten
    assert touch('192.0.2.1') == 200


def test_zero_lets_a_client_make_any_number_of_sessions(make_app, tmp_path):
    app = flood_app(make_app, tmp_path, session_new_max=0)
    bot = cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=FLOODER)
    assert {bot.get('/touch').status_int for _ in range(700)} == {200}


def test_by_default_a_client_makes_600_new_sessions_a_minute(make_app, tmp_path):
    app = flood_app(make_app, tmp_path)
    bot = cookieless_client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=FLOODER)
    assert [bot.get('/touch', expect_errors=True).status_int for _ in range(601)] == [200] * 600 + [429]


@pytest.mark.parametrize('value', [-1, 'lots', 2.5])
def test_a_bad_session_new_max_is_refused_at_install(make_app, value):
    with pytest.raises(canister.ConfigError, match='session_new_max'):
        make_app(session_new_max=value)


def test_a_json_client_gets_the_429_as_json_with_its_cookie_kept(make_app, tmp_path):
    """The refusal is an answer like canister's others: JSON to a client that asks for it."""
    app = flood_app(make_app, tmp_path, session_new_max=1)
    browser = client(app)
    sid = browser.get('/touch').headers['Set-Cookie'].split(';')[0].split('=', 1)[1]
    bot = cookieless_client(app)
    refused = bot.get('/touch', headers={'Accept': 'application/json'}, expect_errors=True)
    assert refused.status_int == 429 and refused.json['message'].startswith('Too many new sessions')
    assert 'Set-Cookie' not in refused.headers
    assert bot.get('/touch', headers=with_cookie(sid)).json == {'n': 2}


def test_a_flood_from_one_client_no_longer_fills_a_redis_under_noeviction_so_logins_go_on(
        make_app, tmp_path, serve, redis_server):
    """The review's attack, scaled down: a Redis with little room under ``noeviction``, 3,000 cookieless requests
    from one client on 8 connections at once.  Its sessions used to fill Redis, which then refused every
    login's session (503) until they expired, an hour later; past ``session_new_max`` they are refused instead."""
    app = flood_app(make_app, tmp_path, session_store=redis_server.url, session_new_max=100)
    origin = serve(app, clear_untrusted_proxy_headers=False)
    assert Browser(origin).get('/me', from_(NEIGHBOUR)).status == 200  # (the app's connections made first)
    admin = redis.Redis(port=redis_server.port)
    admin.config_set('maxmemory-policy', 'noeviction')
    admin.config_set('maxmemory', admin.info('memory')['used_memory'] + 400 * 1024)

    def flood():
        return [Browser(origin).get('/touch', from_(FLOODER)).status for _ in range(375)]

    statuses = sum(at_once([flood] * 8, timeout=300), [])
    person = Browser(origin)
    login = person.post('/login', {'username': 'alice', 'password': 'right'}, from_(NEIGHBOUR))
    assert login.status == 200 and login.json() == {'ok': True}
    assert person.get('/me', from_(NEIGHBOUR)).json() == {'user': 'alice'}
    assert statuses.count(200) == 100 and statuses.count(429) == 2900


def test_a_new_session_the_store_fails_to_create_does_not_count_against_the_client(make_app, tmp_path, redis_server):
    """A full Redis answers 503 to new sessions: once it has room again, the client gets its allowance whole."""
    app = flood_app(make_app, tmp_path, session_store=redis_server.url, session_new_max=1)
    visitor = cookieless_client(app, REMOTE_ADDR=FLOODER)
    full = fill_up(redis_server)
    assert [visitor.get('/touch', expect_errors=True).status_int for _ in range(3)] == [503, 503, 503]
    full.config_set('maxmemory', '0')
    assert [visitor.get('/touch', expect_errors=True).status_int for _ in range(2)] == [200, 429]
