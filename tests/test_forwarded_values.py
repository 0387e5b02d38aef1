"""What canister believes of a trusted proxy's X-Forwarded-For and X-Forwarded-Proto, found by the log review of
session 23: behind a proxy that passes the client's own headers on untouched, the client wrote there what it liked.

* an X-Forwarded-For entry that is not an IP address was taken as the client's address (escaped, cut to 64
  characters): ``FAKE]   forged`` went into the ``[...]`` part of the log lines, and each new text was a login-throttle
  count of its own.  Only an IP address is believed now; otherwise the client is the outermost trusted proxy, and
  one WARNING in each app's log says so.
* ``X-Forwarded-Proto`` was taken as any text (``javascript://...`` in the request line).  Only ``http`` and
  ``https`` are believed now; another value is ignored, and the server's scheme is used.

Real servers on 127.0.0.1 (waitress in this process passing the headers on, and gunicorn in one of its own).
"""
from __future__ import annotations

import re

import pytest

import canister
from helpers import read_log, with_cookie
from servers import Client
from test_login_throttle import RIGHT, WRONG, throttle_app_under_gunicorn


def client_app(make_app, **overrides):
    """An app behind the proxy 127.0.0.1 (and the 10.0.0.0/8 hops): GET /who answers the client's address."""
    app = make_app(trusted_proxies='127.0.0.1, 10.0.0.0/8', **overrides)
    app.get('/who', callback=canister.client_address)
    return app


def request_lines(log_dir):
    """The ``[...]`` part and the URL of each request line of the log."""
    return re.findall(r' INFO +\[(.*)\]   GET (\S+)$', read_log(log_dir), re.M)


def test_an_x_forwarded_for_entry_that_is_not_an_ip_address_is_not_the_client(make_app, serve, log_dir):
    web = Client(serve(client_app(make_app), clear_untrusted_proxy_headers=False))

    answer = web.get('/who', headers={'X-Forwarded-For': 'FAKE]   forged'})

    assert answer.status == 200, answer
    assert answer.text == '127.0.0.1'
    [(name, url)] = request_lines(log_dir)
    assert name == '127.0.0.1-...'
    assert 'forged' not in name


def test_behind_two_proxies_a_client_entry_that_is_not_an_ip_address_gives_the_outer_proxy(make_app, serve):
    web = Client(serve(client_app(make_app), clear_untrusted_proxy_headers=False))

    answer = web.get('/who', headers={'X-Forwarded-For': '198.51.100.7, unknown, 10.0.0.2'})

    assert answer.text == '10.0.0.2'


@pytest.mark.parametrize('entry, address', [
    ('203.0.113.7', '203.0.113.7'),
    ('203.0.113.7:51234', '203.0.113.7'),
    ('2001:db8::7', '2001:db8::7'),
    ('[2001:db8::7]', '2001:db8::7'),
    ('[2001:db8::7]:51234', '2001:db8::7'),
    ('fe80::7%eth0', 'fe80::7'),
    ('fe80::7%FAKE]   x', 'fe80::7'),
])
def test_an_x_forwarded_for_entry_that_is_an_ip_address_with_or_without_a_port_is_the_client(make_app, serve,
                                                                                             entry, address):
    web = Client(serve(client_app(make_app), clear_untrusted_proxy_headers=False))

    assert web.get('/who', headers={'X-Forwarded-For': entry}).text == address


@pytest.mark.parametrize('entry', ['203.0.113.7:port', '[FAKE]:80', '203.0.113.7%eth0', '203.0.113.300',
                                   '_hidden', '[2001:db8::7', '[2001:db8::7]x', '[2001:db8::7]:port',
                                   '[2001:db8::7]:'])
def test_an_x_forwarded_for_entry_almost_an_ip_address_is_not_the_client(make_app, serve, entry):
    web = Client(serve(client_app(make_app), clear_untrusted_proxy_headers=False))

    assert web.get('/who', headers={'X-Forwarded-For': entry}).text == '127.0.0.1'


def test_entries_that_are_not_ip_addresses_share_the_proxys_login_throttle_count_and_are_reported_once(tmp_path):
    """Each new text was a count of its own before: a guesser behind the proxy was never throttled."""
    log_dir = tmp_path / 'logs'
    with throttle_app_under_gunicorn(log_dir, CANISTER_TRUSTED_PROXIES='127.0.0.1', CANISTER_AUTH_MAX_FAILURES='3',
                                     HASH_ITERATIONS='1000') as web:
        statuses = [web.get('/me', headers=dict(WRONG, **{'X-Forwarded-For': 'guesser-%d' % n})).status
                    for n in range(5)]
        assert web.get('/me', headers=dict(RIGHT, **{'X-Forwarded-For': 'guesser-6'})).status == 429
    assert statuses == [401, 401, 401, 429, 429]
    log = read_log(log_dir)
    warnings = re.findall(r' WARNING +\[[^\]]*\]   (X-Forwarded-For came through the trusted proxy .*)', log)
    assert warnings == [
        "X-Forwarded-For came through the trusted proxy 127.0.0.1 with 'guesser-0' where the client's address "
        "belongs, which is not an IP address: such an entry is not believed, and the client is logged and throttled "
        "as 127.0.0.1; a proxy that passes on the client's own X-Forwarded-For lets the client write there what it "
        "likes: have it append the address it sees (nginx: proxy_set_header X-Forwarded-For "
        "$proxy_add_x_forwarded_for) or set it"]
    assert 'guesser-1' not in log


def test_the_warning_of_an_entry_that_is_not_an_ip_address_is_named_as_the_requests_other_lines(tmp_path):
    """It was written before the request named its thread: its ``[...]`` was the server's thread's name."""
    log_dir = tmp_path / 'logs'
    with throttle_app_under_gunicorn(log_dir, CANISTER_TRUSTED_PROXIES='127.0.0.1') as web:
        sent = dict(with_cookie('AbCdEf' + 'x' * 37), **{'X-Forwarded-For': 'unknown'})
        assert web.get('/ping', headers=sent).status == 200
    log = read_log(log_dir)
    # (the server's readiness probe comes first, without the header)
    [(warned, named)] = re.findall(r' WARNING +\[([^\]]*)\]   X-Forwarded-For came through the trusted proxy .*\n'
                                   r'.* INFO +\[([^\]]*)\]   GET \S+/ping\n', log)
    assert warned == named == '127.0.0.1-AbCdEf', log


@pytest.mark.parametrize('sent', ['javascript://evil.example/%0a', 'ftp', 'https://', 'file'])
def test_an_x_forwarded_proto_that_is_neither_http_nor_https_is_ignored(make_app, serve, log_dir, sent):
    web = Client(serve(client_app(make_app, hsts_max_age=600), clear_untrusted_proxy_headers=False))

    answer = web.get('/who', headers={'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': sent})

    assert answer.status == 200, answer
    assert 'Strict-Transport-Security' not in answer.headers
    [(name, url)] = request_lines(log_dir)
    assert url.startswith('http://127.0.0.1:')


@pytest.mark.parametrize('sent', ['https', 'HTTPS', 'HttpS'])
def test_an_x_forwarded_proto_of_https_in_any_case_is_believed(make_app, serve, log_dir, sent):
    web = Client(serve(client_app(make_app, hsts_max_age=600), clear_untrusted_proxy_headers=False))

    answer = web.get('/who', headers={'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': sent})

    assert answer.headers['Strict-Transport-Security'] == 'max-age=600'
    [(name, url)] = request_lines(log_dir)
    assert url.startswith('https://127.0.0.1:')


@pytest.mark.parametrize('sent, scheme', [('wss', 'https'), ('WSS', 'https'), ('ws', 'http')])
def test_an_x_forwarded_proto_of_a_websocket_is_read_as_its_http_scheme(make_app, serve, log_dir, sent, scheme):
    """Traefik sends ``wss`` for a WebSocket's upgrade request that came over TLS: it was ignored, so the request
    counted as plain http behind a TLS proxy (no HSTS, no Secure cookie, the logged URL http://)."""
    web = Client(serve(client_app(make_app, hsts_max_age=600), clear_untrusted_proxy_headers=False))

    answer = web.get('/who', headers={'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': sent})

    assert ('Strict-Transport-Security' in answer.headers) == (scheme == 'https')
    [(name, url)] = request_lines(log_dir)
    assert url.startswith('%s://127.0.0.1:' % scheme)
