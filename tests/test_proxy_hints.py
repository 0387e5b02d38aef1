"""What canister says of a reverse proxy set up wrong: one it does not list that sends X-Forwarded-For (said at the
first session cookie too, not only at a login), one it lists whose forwarding headers never arrive (waitress removes
them by default; another proxy sends none), the CSRF refusal's advice when the proxy is listed already, and a
trusted_proxies network that takes in the whole Internet.  Real servers on 127.0.0.1 (wsgiref, waitress) behind a
small forwarding proxy of this file, which does what nginx's proxy_pass does."""
from __future__ import annotations

import http.client
import http.server
import re
import threading
from typing import Any, Dict, Iterator, List, Optional

import bottle
import pytest

import canister
from helpers import basic, install_warned, read_log
from servers import Client, InProcessWaitress, WsgirefServer

UNLISTED = r' WARNING .*X-Forwarded-For came from 127\.0\.0\.1, which is not in trusted_proxies.*'
NO_FORWARDING = r' WARNING .*A request came from 127\.0\.0\.1, which is in trusted_proxies, with.*'


class ForwardingProxy:
    """A reverse proxy on 127.0.0.1 in a thread, in front of ``upstream_port``: it passes each request on, as
    nginx's ``proxy_pass`` does, with ``Host`` the upstream's (nginx's default, ``$proxy_host``) or, with
    ``pass_host``, the client's (``proxy_set_header Host $host:$server_port;``); it appends its peer to
    X-Forwarded-For (``$proxy_add_x_forwarded_for``) when ``forward_for``, and adds the headers of ``add``."""

    def __init__(self, upstream_port: int, forward_for: bool = True, pass_host: bool = False,
                 add: Optional[Dict[str, str]] = None) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ('host', 'connection', 'x-forwarded-for')}
                headers['Host'] = self.headers['Host'] if pass_host else '127.0.0.1:%d' % upstream_port
                if forward_for:
                    sent = self.headers.get('X-Forwarded-For')
                    headers['X-Forwarded-For'] = (sent + ', ' if sent else '') + self.client_address[0]
                headers.update(add or {})
                upstream = http.client.HTTPConnection('127.0.0.1', upstream_port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ('connection', 'transfer-encoding', 'content-length', 'date', 'server'):
                        self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_port
        owner.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05},
                                        daemon=True)
        owner.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(30)


def shop_app(log_dir: Any, **settings: Any) -> bottle.Bottle:
    """An app whose /count stores a session (a cart, a counter), /ping does not, /me logs alice in with Basic and
    POST /buy is a form's target."""
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir), auth_basic_username='alice',
                                  auth_basic_password='wonderland', auth_basic_encryption='clear', **settings))

    @app.get('/ping')
    def ping() -> str:
        return 'pong'

    @app.get('/count')
    def count() -> Dict[str, Any]:
        data = canister.session.data
        data['count'] = data.get('count', 0) + 1
        return {'count': data['count']}

    @app.get('/me')
    def me() -> Dict[str, Any]:
        return {'user': canister.session.user}

    @app.post('/buy')
    def buy() -> str:
        return 'bought'

    return app


@pytest.fixture
def behind_a_proxy(log_dir: Any) -> Iterator[Any]:
    """``behind_a_proxy(server, proxy_options, **settings)``: shop_app served by ``server`` ('wsgiref', 'waitress'
    or 'waitress-keeping', started with clear_untrusted_proxy_headers=False) behind a ForwardingProxy; a Client
    of the proxy.  Everything is stopped and uninstalled at the end."""
    started: List[Any] = []
    apps: List[bottle.Bottle] = []

    def build(server: str, proxy: Optional[Dict[str, Any]] = None, **settings: Any) -> Client:
        app = shop_app(log_dir, **settings)
        apps.append(app)
        if server == 'wsgiref':
            served: Any = WsgirefServer(app)
        else:
            served = InProcessWaitress(app, **({} if server == 'waitress' else
                                               {'clear_untrusted_proxy_headers': False}))
        started.append(served)
        front = ForwardingProxy(served.port, **(proxy or {}))
        started.append(front)
        return Client(front.url)

    yield build
    for thing in reversed(started):
        thing.close()
    for app in apps:
        app.uninstall(True)


def lines(log_dir: Any, pattern: str) -> List[str]:
    return re.findall(pattern, read_log(log_dir))


# -- 1. X-Forwarded-For from a proxy not in trusted_proxies, in an app without logins -------------------------

def test_an_unlisted_proxy_is_warned_of_at_the_first_session_it_stores_in_an_app_without_logins(behind_a_proxy,
                                                                                                 log_dir):
    # gunicorn or wsgiref behind nginx, trusted_proxies left out: every client is logged as 127.0.0.1
    web = behind_a_proxy('wsgiref')
    assert web.get('/ping').status == 200   # stores nothing: nothing said yet
    assert lines(log_dir, UNLISTED) == []
    for _ in range(3):
        web.cookies.clear()   # three clients, each a new session
        assert web.get('/count').status == 200
    said = lines(log_dir, UNLISTED)
    assert len(said) == 1, read_log(log_dir)
    assert 'clients are logged and throttled by that address' in said[0]


def test_the_session_and_the_login_share_one_warning_of_an_unlisted_proxy(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref')
    assert web.get('/count').status == 200
    assert web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).status == 200
    assert 'Logged in as: alice' in read_log(log_dir)
    assert len(lines(log_dir, UNLISTED)) == 1, read_log(log_dir)


def test_a_listed_proxy_stores_sessions_without_the_unlisted_warning(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref', trusted_proxies='127.0.0.1')
    assert web.get('/count', headers={'X-Forwarded-For': '198.51.100.7'}).status == 200
    assert lines(log_dir, UNLISTED) == []
    assert '[198.51.100.7' in read_log(log_dir)


# -- 2. a listed proxy whose forwarding headers never arrive ---------------------------------------------------

def test_waitress_removing_a_listed_proxys_headers_is_warned_of_once_with_the_option_that_keeps_them(
        behind_a_proxy, log_dir):
    web = behind_a_proxy('waitress', {'add': {'X-Forwarded-Proto': 'https'}}, trusted_proxies='127.0.0.1')
    for _ in range(2):
        web.cookies.clear()
        assert web.get('/count', headers={'X-Forwarded-For': '198.51.100.7'}).status == 200
    said = lines(log_dir, NO_FORWARDING)
    assert len(said) == 1, read_log(log_dir)
    assert 'without X-Forwarded-For, X-Forwarded-Proto or Forwarded: waitress removes them' in said[0]
    assert '--no-clear-untrusted-proxy-headers (serve(app, clear_untrusted_proxy_headers=False))' in said[0]
    assert '[198.51.100.7' not in read_log(log_dir)   # what the warning is about: the client is lost


def test_waitress_keeping_the_headers_lets_canister_read_the_listed_proxys_client(behind_a_proxy, log_dir):
    web = behind_a_proxy('waitress-keeping', {'add': {'X-Forwarded-Proto': 'https'}}, trusted_proxies='127.0.0.1')
    answer = web.get('/count', headers={'X-Forwarded-For': '198.51.100.7'})
    assert answer.status == 200
    assert '; Secure' in answer.headers['Set-Cookie']
    assert lines(log_dir, NO_FORWARDING) == []
    assert '[198.51.100.7' in read_log(log_dir)


def test_a_listed_proxy_that_sends_no_forwarding_header_at_all_is_warned_of_once(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref', {'forward_for': False}, trusted_proxies='127.0.0.1')
    assert web.get('/ping').status == 200   # a health check stores no session: nothing said
    assert lines(log_dir, NO_FORWARDING) == []
    for _ in range(2):
        web.cookies.clear()
        assert web.get('/count').status == 200
    said = lines(log_dir, NO_FORWARDING)
    assert len(said) == 1, read_log(log_dir)
    assert ('with none of the headers a proxy sends about its client (X-Forwarded-For, X-Forwarded-Proto, '
            'X-Forwarded-Host, Forwarded, X-Real-IP): if it came through your proxy') in said[0]
    assert 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;' in said[0]


def test_a_login_straight_from_a_listed_proxys_host_is_told_that_it_sent_no_forwarding_header(behind_a_proxy,
                                                                                                 log_dir):
    web = behind_a_proxy('wsgiref', {'forward_for': False}, trusted_proxies='127.0.0.1')
    assert web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).status == 200
    assert 'Logged in as: alice' in read_log(log_dir)
    assert len(lines(log_dir, NO_FORWARDING)) == 1, read_log(log_dir)
    assert 'A login came through the trusted proxy' not in read_log(log_dir)   # (that one is of X-Real-IP alone)


def test_a_listed_proxy_that_sends_x_forwarded_for_is_not_warned_of(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref', trusted_proxies='127.0.0.1')
    assert web.get('/count').status == 200
    assert lines(log_dir, NO_FORWARDING) == []


# -- 3. the CSRF refusal's advice behind a listed proxy -------------------------------------------------------

def refusal(log_dir: Any) -> str:
    found = re.findall(r' WARNING .*Cross-site request refused.*', read_log(log_dir))
    assert len(found) == 1, read_log(log_dir)
    return found[0]


def post_a_form(web: Any, origin: str, host: Optional[str] = None) -> Any:
    """The answer to a form POSTed to /buy from ``origin``, the client sending ``host`` as Host (else its own)."""
    headers = {'Origin': origin} if host is None else {'Origin': origin, 'Host': host}
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    return web.request('POST', '/buy', body='item=1', headers=headers)


#: ForwardingProxy options: nginx's ``proxy_set_header Host $host:$server_port;``, and with X-Forwarded-Proto too.
PASS_HOST: Dict[str, Any] = {'pass_host': True}
PASS_HOST_AND_SCHEME: Dict[str, Any] = {'pass_host': True, 'add': {'X-Forwarded-Proto': 'https'}}


def refused(behind_a_proxy: Any, log_dir: Any, proxy: Optional[Dict[str, Any]], host: str,
            origin: str = 'https://shop.example') -> str:
    """The log line of the 403 to a form POSTed from ``origin`` with Host ``host`` through a proxy in
    trusted_proxies that has the options ``proxy``."""
    web = behind_a_proxy('wsgiref', proxy, trusted_proxies='127.0.0.1')
    assert post_a_form(web, origin, host).status == 403
    return refusal(log_dir)


def test_a_csrf_refusal_behind_a_listed_proxy_with_nginx_defaults_says_what_the_proxy_sent(behind_a_proxy, log_dir):
    # the proxy sends the upstream's Host and no X-Forwarded-Proto
    line = refused(behind_a_proxy, log_dir, None, 'shop.example')
    upstream = re.search(r'this app sees its own origin as http://(127\.0\.0\.1:\d+);', line)
    assert upstream, line
    assert line.endswith("; if it is this app's own page, the proxy 127.0.0.1 (in trusted_proxies) sent Host %s and "
                         'no X-Forwarded-Host (nginx: proxy_set_header Host $host:$server_port;) and no '
                         'X-Forwarded-Proto (nginx: proxy_set_header X-Forwarded-Proto $scheme;))'
                         % upstream.group(1)), line
    assert 'list the proxy in trusted_proxies' not in line


def test_a_csrf_refusal_behind_a_listed_proxy_that_passes_the_host_names_only_x_forwarded_proto(behind_a_proxy,
                                                                                                log_dir):
    line = refused(behind_a_proxy, log_dir, PASS_HOST, 'shop.example')
    assert line.endswith("; if it is this app's own page, the proxy 127.0.0.1 (in trusted_proxies) sent no "
                         'X-Forwarded-Proto (nginx: proxy_set_header X-Forwarded-Proto $scheme;))'), line


def test_a_listed_proxy_that_sends_the_public_host_and_scheme_lets_the_apps_own_form_in(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref', PASS_HOST_AND_SCHEME, trusted_proxies='127.0.0.1')
    answer = post_a_form(web, 'https://shop.example', 'shop.example')
    assert answer.status == 200, read_log(log_dir)


def test_a_foreign_origin_refused_behind_a_listed_proxy_that_passes_the_public_host_gets_no_proxy_advice(
        behind_a_proxy, log_dir):
    # the proxy set up right (nginx's $host:$server_port and X-Forwarded-Proto): its headers are not why
    line = refused(behind_a_proxy, log_dir, PASS_HOST_AND_SCHEME, 'localhost:8943', 'https://evil.example')
    assert 'this app sees its own origin as https://localhost:8943; ' in line, line
    assert line.endswith('or give a route csrf=False)'), line
    assert 'proxy' not in line, line


def test_a_csrf_refusal_behind_a_listed_proxy_that_passes_host_and_port_but_no_scheme_names_only_the_scheme(
        behind_a_proxy, log_dir):
    # nginx on 443 passes shop.example:443, which the app, told no X-Forwarded-Proto, reads as http's port 443
    line = refused(behind_a_proxy, log_dir, PASS_HOST, 'shop.example:443')
    assert line.endswith("; if it is this app's own page, the proxy 127.0.0.1 (in trusted_proxies) sent no "
                         'X-Forwarded-Proto (nginx: proxy_set_header X-Forwarded-Proto $scheme;))'), line


def test_a_csrf_refusal_behind_a_listed_proxy_that_passes_a_loopback_host_without_port_says_what_it_sent(
        behind_a_proxy, log_dir):
    # nginx's proxy_pass to a unix socket sends Host localhost: the app sees nothing of the public host
    line = refused(behind_a_proxy, log_dir, PASS_HOST_AND_SCHEME, 'localhost')
    assert line.endswith("; if it is this app's own page, the proxy 127.0.0.1 (in trusted_proxies) sent Host "
                         'localhost and no X-Forwarded-Host (nginx: proxy_set_header Host $host:$server_port;))'), line


def test_a_csrf_refusal_behind_an_unlisted_proxy_still_says_to_list_it(behind_a_proxy, log_dir):
    web = behind_a_proxy('wsgiref')
    answer = post_a_form(web, 'https://shop.example')
    assert answer.status == 403
    assert refusal(log_dir).endswith('; behind a proxy that changes the host or scheme, list the proxy in '
                                     'trusted_proxies)')


# -- 4. a trusted_proxies network that takes in public addresses ----------------------------------------------

@pytest.mark.parametrize('network', ['0.0.0.0/0', '::/0', '0.0.0.0/1', '2000::/3'])
def test_a_trusted_proxies_network_wider_than_a_slash_8_with_public_addresses_is_warned_at_install(log_dir, network):
    app, said = install_warned(log_dir, {'trusted_proxies': '127.0.0.1 ' + network})
    app.uninstall(True)
    assert len(said) == 1, said
    assert said[0].startswith('canister.trusted_proxies lists %s, which takes in public addresses: any client '
                              'there may then write its own address in X-Forwarded-For' % network), said
    assert ' WARNING  [MainThread]   ' + said[0] in read_log(log_dir)


@pytest.mark.parametrize('network', ['127.0.0.1', '10.0.0.0/8', '172.16.0.0/12', 'fc00::/7', '203.0.113.0/24',
                                     'unix'])
def test_a_trusted_proxies_entry_of_private_or_narrow_addresses_is_not_warned(log_dir, network):
    app, said = install_warned(log_dir, {'trusted_proxies': network})
    app.uninstall(True)
    assert said == []
