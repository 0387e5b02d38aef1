"""Bearer JWT: how the provider's keys travel.  A plain ``http://`` JWKS URL to another host is reported at
install (anyone on the network path could hand out keys of their own); the download follows no redirect
from https to http, nor to a scheme other than those two.  The https endpoint is real: a TLS server on
127.0.0.1 with a certificate made by openssl, trusted through ``SSL_CERT_FILE`` as a system store would be.
A chunked answer is read too, and one whose chunk-size line trickles in is cut at the download's deadline."""
from __future__ import annotations

import http.server
import json
import ssl
import threading

import jwt as pyjwt
import pytest

from canister import session
from helpers import bearer, claims, client, install_warned, jwk, read_log
from redis_topologies import make_certificates
from servers import JwksServer, wait_until


@pytest.fixture(scope='module')
def certificates(tmp_path_factory):
    return make_certificates(str(tmp_path_factory.mktemp('certs')))


class RedirectingServer:
    """A real HTTPS (or HTTP) server on 127.0.0.1 whose every GET is answered with a 302 to ``location``
    (or, at ``/keys``, with ``body``); ``url(path)`` is its URL."""

    def __init__(self, certificates=None):
        self.location = ''
        self.body = b'{"keys": []}'
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == '/keys':
                    self.send_response(200)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)
                    return
                self.send_response(302)
                self.send_header('Location', owner.location)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.scheme = 'http'
        if certificates is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificates['server.crt'], certificates['server.key'])
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = 'https'
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def url(self, path):
        return '%s://127.0.0.1:%d%s' % (self.scheme, self.server.server_address[1], path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def https_server(certificates, monkeypatch):
    monkeypatch.setenv('SSL_CERT_FILE', certificates['ca.crt'])  # what urllib's default context trusts
    server = RedirectingServer(certificates)
    yield server
    server.close()


@pytest.fixture
def http_server():
    server = RedirectingServer()
    yield server
    server.close()


def who_is(make_app, jwks_url, token):
    """The status and body of GET /me with ``token`` on an app whose JWKS URL is ``jwks_url``."""
    app = make_app(auth_jwt_jwks_url=jwks_url, auth_jwt_client_id='my-api')

    @app.get('/me')
    def me():
        return {'user': session.user}

    response = client(app).get('/me', headers=bearer(token), expect_errors=True)
    return response.status_int, response.text


def rs256_api_token(rsa_key):
    return pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})


def plain_http_warning(url):
    return ("canister.auth_jwt_jwks_url = %s is plain http:// to another host: anyone on the network path can "
            "answer with keys of their own, and then sign tokens that log in; use the provider's https:// URL" % url)


@pytest.mark.parametrize('url', ['http://idp.example.com/keys', 'http://10.0.0.5:8080/jwks',
                                 'http://[2001:db8::1]/jwks'])
def test_a_plain_http_jwks_url_to_another_host_is_reported_at_install(tmp_path, url):
    _, said = install_warned(tmp_path, {'auth_jwt_jwks_url': url, 'auth_jwt_client_id': 'my-api'})
    assert said == [plain_http_warning(url)]
    assert ' WARNING ' in next(line for line in read_log(tmp_path).splitlines() if plain_http_warning(url) in line)


@pytest.mark.parametrize('url', ['https://idp.example.com/keys', 'http://127.0.0.1:8080/jwks',
                                 'http://127.9.9.9/jwks', 'http://localhost:8080/jwks', 'http://[::1]:8080/jwks'])
def test_an_https_or_loopback_jwks_url_is_not_reported(tmp_path, url):
    _, said = install_warned(tmp_path, {'auth_jwt_jwks_url': url, 'auth_jwt_client_id': 'my-api'})
    assert said == []


def test_keys_behind_a_redirect_from_https_to_https_are_taken(make_app, rsa_key, https_server):
    https_server.body = json.dumps({'keys': [jwk(rsa_key, 'key-1')]}).encode()
    https_server.location = https_server.url('/keys')
    status, body = who_is(make_app, https_server.url('/jwks'), rs256_api_token(rsa_key))
    assert status == 200 and '"alice"' in body


def test_keys_behind_a_redirect_from_https_to_http_are_refused(make_app, rsa_key, https_server, http_server,
                                                               log_dir):
    http_server.body = json.dumps({'keys': [jwk(rsa_key, 'key-1')]}).encode()
    https_server.location = http_server.url('/keys')  # a network attacker's keys, over plain http

    status, _ = who_is(make_app, https_server.url('/jwks'), rs256_api_token(rsa_key))

    assert status == 503
    assert ('Cannot fetch the JWKS keys from %s: <urlopen error refused the redirect (302) from https:// to %s>'
            % (https_server.url('/jwks'), http_server.url('/keys'))) in read_log(log_dir)


def test_a_redirect_to_a_scheme_other_than_http_or_https_is_refused(make_app, rsa_key, http_server, log_dir):
    http_server.location = 'ftp://127.0.0.1/keys'
    status, _ = who_is(make_app, http_server.url('/jwks'), rs256_api_token(rsa_key))
    assert status == 503
    assert ('Cannot fetch the JWKS keys from %s: <urlopen error refused the redirect (302) from http:// to '
            'ftp://127.0.0.1/keys>' % http_server.url('/jwks')) in read_log(log_dir)


def test_a_redirect_to_plain_http_on_another_host_is_refused(make_app, rsa_key, http_server, log_dir):
    http_server.location = 'http://idp.invalid/keys'  # (where anyone on the network path could answer)
    status, _ = who_is(make_app, http_server.url('/jwks'), rs256_api_token(rsa_key))
    assert status == 503
    assert ('Cannot fetch the JWKS keys from %s: <urlopen error refused the redirect (302) from %s to '
            'http://idp.invalid/keys: plain http:// to another host>' % (http_server.url('/jwks'), http_server.url('/jwks'))
            ) in read_log(log_dir)


def test_a_redirect_over_plain_http_that_stays_on_this_machine_is_followed(make_app, rsa_key, http_server):
    http_server.body = json.dumps({'keys': [jwk(rsa_key, 'key-1')]}).encode()
    http_server.location = http_server.url('/keys').replace('127.0.0.1', 'localhost')
    status, body = who_is(make_app, http_server.url('/jwks'), rs256_api_token(rsa_key))
    assert status == 200 and '"alice"' in body


def test_keys_sent_in_a_chunked_answer_are_taken(make_app, rsa_key, jwks_server):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    jwks_server.chunked = True

    status, text = who_is(make_app, jwks_server.url, rs256_api_token(rsa_key))

    assert status == 200
    assert json.loads(text)['user']['sub'] == 'alice'


@pytest.fixture(params=['http', 'https'])
def either_jwks_server(request, certificates, monkeypatch):
    """A JwksServer over plain http, then over https (its certificate trusted as a system store's would be)."""
    monkeypatch.setenv('SSL_CERT_FILE', certificates['ca.crt'])
    server = JwksServer(certificates if request.param == 'https' else None)
    yield server
    server.close()


def test_a_chunked_answer_whose_chunk_size_line_trickles_in_is_cut_and_the_next_download_brings_the_keys(
        make_app, rsa_key, either_jwks_server, log_dir, monotonic):
    # (http.client reads a chunk-size line with readline, inside one read1: only the cut at the deadline ends it)
    jwks_server = either_jwks_server
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    jwks_server.chunked = True
    jwks_server.trickle = 0.2  # (the first answer's chunk-size line alone would take a minute)
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_timeout=1.0, auth_jwt_jwks_refetch=1.0)
    app.route('/me', callback=lambda: {'user': session.user})
    browser = client(app)
    token = bearer(pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'}))

    first = browser.get('/me', headers=token, expect_errors=True)
    monotonic.advance(1.0)  # (auth_jwt_jwks_refetch, on canister's clock)
    answers = []
    wait_until(lambda: answers.append(browser.get('/me', headers=token, expect_errors=True))
               or answers[-1].status_int == 200, 30, interval=0.5, what='a download after the trickling one')

    assert first.status_int == 503
    assert 'Cannot fetch the JWKS keys from %s: no complete answer within 1s' % jwks_server.url in read_log(log_dir)
    assert answers[-1].json['user']['sub'] == 'alice'
    assert jwks_server.hits == 2
