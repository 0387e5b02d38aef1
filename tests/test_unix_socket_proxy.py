"""A proxy on a UNIX socket (nginx in front of ``gunicorn --bind unix:...``): the peer has no IP
address, and the ``unix`` entry of ``trusted_proxies`` is how an app trusts it.

Every request goes over the server's real UNIX socket with http.client (``servers.UnixHTTPConnection``),
carrying the X-Forwarded-For a proxy would add.
"""
from __future__ import annotations

import re

import pytest

import canister
from helpers import basic, client, read_log
from servers import AppServer

RIGHT = {'Authorization': basic('alice', 'wonderland')}
WRONG = {'Authorization': basic('alice', 'guess')}
ATTACKER, VICTIM = '203.0.113.66', '198.51.100.7'


def unix_server(tmp_path, trusted='', server='gunicorn', args=()):
    log_dir = tmp_path / 'logs'
    env = {'CANISTER_LOG_PATH': str(log_dir), 'CANISTER_TRUSTED_PROXIES': trusted,
           'CANISTER_AUTH_MAX_FAILURES': '2', 'HASH_ITERATIONS': '1000'}
    return AppServer('throttle_app:app', server=server, env=env, unix_socket=True, args=args), log_dir


def status(server, forwarded_for, headers, **more):
    connection = server.connection()
    try:
        connection.request('GET', '/me', headers=dict(headers, **more, **{'X-Forwarded-For': forwarded_for,
                                                                         'Connection': 'close'}))
        answer = connection.getresponse()
        answer.read()
        return answer.status, answer.getheader('Set-Cookie') or ''
    finally:
        connection.close()


def attack_then_log_in(server):
    """Two wrong passwords from the attacker, then the victim's right one: the statuses."""
    with server:
        return [status(server, ATTACKER, WRONG)[0] for _ in range(3)] + [status(server, VICTIM, RIGHT)[0]]


def test_with_unix_listed_each_client_behind_the_socket_proxy_has_its_own_throttle_count(tmp_path):
    server, log_dir = unix_server(tmp_path, trusted='unix')
    assert attack_then_log_in(server) == [401, 401, 429, 200]
    log = read_log(log_dir)
    assert re.search(r'\[%s-[^\]]*\] +GET ' % re.escape(ATTACKER), log), log
    assert re.search(r'\[%s-[^\]]*\] +GET ' % re.escape(VICTIM), log), log
    assert 'Too many failed logins from %s' % ATTACKER in log
    assert 'X-Forwarded-For came from' not in log


def test_without_unix_every_client_behind_the_socket_proxy_shares_one_count_and_a_warning_says_to_add_it(tmp_path):
    server, log_dir = unix_server(tmp_path)
    assert attack_then_log_in(server) == [401, 401, 429, 429]
    log = read_log(log_dir)
    assert not re.search(r'\[(%s|%s)-' % (re.escape(ATTACKER), re.escape(VICTIM)), log), log
    assert re.search(r'\[--[^\]]*\] +GET http://localhost/me', log), log
    warnings = [line for line in log.splitlines() if 'X-Forwarded-For came from' in line]
    assert len(warnings) == 1, log
    assert "a peer without an IP address (REMOTE_ADDR '': a proxy on a UNIX socket)" in warnings[0]
    assert 'add unix to trusted_proxies' in warnings[0]
    assert 'list the proxy in trusted_proxies' not in warnings[0]


@pytest.mark.parametrize('trusted', ['unix', ''])
def test_x_forwarded_host_from_the_socket_proxy_is_believed_only_with_unix(tmp_path, trusted):
    # (gunicorn itself believes X-Forwarded-Proto from a UNIX socket peer: the scheme is https either way)
    server, log_dir = unix_server(tmp_path, trusted=trusted)
    with server:
        status(server, VICTIM, RIGHT, **{'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'app.example.com'})
    assert ' GET https://%s/me' % ('app.example.com' if trusted else 'localhost') in read_log(log_dir)


@pytest.mark.parametrize('stand_in', ['localhost', '-'])
def test_a_unix_peers_stand_in_in_x_forwarded_for_is_no_trusted_proxy_so_never_the_logged_client(tmp_path, stand_in):
    """Only the peer itself is the UNIX socket proxy: ``localhost`` or ``-`` written in X-Forwarded-For (by a
    client, through a proxy that passes its header on) is no trusted hop, and the client left of it no
    IP address, so the client is logged as the proxy, ``-``."""
    server, log_dir = unix_server(tmp_path, trusted='unix')
    with server:
        status(server, 'not-an-address, ' + stand_in, RIGHT)
    log = read_log(log_dir)
    assert re.search(r'\[--[^\]]*\] +GET ', log), log
    assert not re.search(r'\[localhost-', log), log
    assert "with 'not-an-address' where the client's address belongs" not in log
    assert "with %r where the client's address belongs" % stand_in in log


def test_a_client_writing_unix_peer_stand_ins_in_x_forwarded_for_gets_no_throttle_count_of_its_own(tmp_path):
    server, log_dir = unix_server(tmp_path, trusted='unix')
    with server:
        statuses = [status(server, 'x, ' + stand_in, WRONG)[0] for stand_in in ('localhost', '-', 'localhost')]
    assert statuses == [401, 401, 429], read_log(log_dir)


@pytest.mark.parametrize('args, statuses', [(['--no-clear-untrusted-proxy-headers'], [401, 401, 429, 200]),
                                             ([], [401, 401, 429, 429])])
def test_waitress_on_a_unix_socket_gives_localhost_which_unix_trusts(tmp_path, args, statuses):
    """Unless told not to, waitress drops X-Forwarded-* from peers it does not trust itself."""
    server, log_dir = unix_server(tmp_path, trusted='unix', server='waitress', args=args)
    assert attack_then_log_in(server) == statuses
    shown = VICTIM if args else 'localhost'
    assert re.search(r'\[%s-[^\]]*\] +GET ' % re.escape(shown), read_log(log_dir))


def test_unix_trusts_no_tcp_peer(make_app, log_dir):
    """``unix`` names only a peer without an IP address: a client on TCP is counted by its own."""
    app = make_app(trusted_proxies='unix', auth_basic_username='alice', auth_basic_password='wonderland',
                   auth_max_failures=2)

    @app.get('/me')
    def me():
        return {'user': canister.session.user}

    def attempt(forwarded_for, headers):
        return client(app, REMOTE_ADDR='127.0.0.1', HTTP_X_FORWARDED_FOR=forwarded_for).get(
            '/me', headers=headers, expect_errors=True).status_int

    assert [attempt(ATTACKER, WRONG) for _ in range(3)] + [attempt(VICTIM, RIGHT)] == [401, 401, 429, 429]
    assert re.search(r' INFO     \[127\.0\.0\.1-', read_log(log_dir))


@pytest.mark.parametrize('entries', ['unix', 'UNIX', 'unix, 10.0.0.0/8', ['127.0.0.1', 'unix']])
def test_unix_installs_beside_ip_entries(make_app, entries):
    make_app(trusted_proxies=entries)


@pytest.mark.parametrize('entry', ['unix:/run/gunicorn.sock', 'socket', 'localhost'])
def test_any_other_entry_that_is_not_an_address_is_refused_at_install(make_app, entry):
    with pytest.raises(canister.ConfigError, match='is not an IP address or network, nor unix'):
        make_app(trusted_proxies=entry)
