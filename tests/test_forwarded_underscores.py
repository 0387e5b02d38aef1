"""A client's own ``X_Forwarded_For`` header (underscores) behind a trusted proxy that passes it on.

A WSGI server turns a header name into ``HTTP_...`` by upper-casing it and replacing ``-`` with
``_``, so ``X_Forwarded_For`` and ``X-Forwarded-For`` land on the same key.  waitress and gunicorn
drop header names with underscores; the stdlib's wsgiref (``bottle.run()``'s default server) merges
them, and canister cannot tell the entries apart: the README says to run a real server behind a
proxy.  Real servers on 127.0.0.1 (listed in ``trusted_proxies``), real HTTP.
"""
import http.client
import json
import re

import bottle

import canister
from helpers import read_log
from servers import AppServer, InProcessWaitress, WsgirefServer

#: What the proxy adds (the client it saw), and what the client itself sent with underscores.
PROXIED, SMUGGLED = '203.0.113.7', '198.51.100.66'


def get_through_the_proxy(connection, path):
    """GET ``path`` as a proxy that passed on the client's ``X_Forwarded_For`` after adding its own
    ``X-Forwarded-For`` would send it; the answer must be a 200."""
    connection.putrequest('GET', path)
    connection.putheader('X-Forwarded-For', PROXIED)
    connection.putheader('X_Forwarded_For', SMUGGLED)
    connection.endheaders()
    assert connection.getresponse().status == 200
    connection.close()


def logged_client(make_app, log_dir, server_class):
    """The client address canister logged for one request through a proxy that passed on the client's
    ``X_Forwarded_For`` header after adding its own ``X-Forwarded-For``."""
    app = make_app(trusted_proxies='127.0.0.1')

    @app.get('/who')
    def who():
        return 'ok'

    server = server_class(app)
    try:
        get_through_the_proxy(http.client.HTTPConnection('127.0.0.1', server.port, timeout=30), '/who')
    finally:
        server.close()
    [client] = re.findall(r'\[([^\]-]+)-[^\]]*\]   GET http://\S+/who$', read_log(log_dir), re.M)
    return client


def test_waitress_drops_the_clients_underscored_header(make_app, log_dir):
    def waitress(app):  # (passing X-Forwarded-* on to the app, as it does not by default)
        return InProcessWaitress(app, clear_untrusted_proxy_headers=False)

    assert logged_client(make_app, log_dir, waitress) == PROXIED


def test_wsgiref_merges_it_into_x_forwarded_for_as_the_readme_warns(make_app, log_dir):
    assert logged_client(make_app, log_dir, WsgirefServer) == SMUGGLED


def test_gunicorn_drops_the_clients_underscored_header(tmp_path):
    # tests/apps/gevent_app.py (here on gunicorn's default sync worker) trusts 127.0.0.1 and logs JSON lines
    server = AppServer('gevent_app:app', server='gunicorn',
                       env={'CANISTER_LOG_PATH': str(tmp_path / 'logs')}).start()
    try:
        get_through_the_proxy(server.connection(), '/ping?who=1')
    finally:
        server.cleanup()
    entries = [json.loads(line) for line in read_log(tmp_path / 'logs').splitlines()]
    [thread] = [entry['thread'] for entry in entries if entry['message'].endswith('/ping?who=1')]
    assert thread.split('-')[0] == PROXIED


def client_seen(make_app, trusted, forwarded):
    """(canister.client_address(), bottle.request.remote_addr) in a handler, for one GET from
    127.0.0.1 over real HTTP on waitress with the header ``X-Forwarded-For: forwarded``."""
    app = make_app(trusted_proxies=trusted)

    @app.get('/who')
    def who():
        return {'canister': canister.client_address(), 'bottle': bottle.request.remote_addr}

    server = InProcessWaitress(app, clear_untrusted_proxy_headers=False)
    try:
        connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
        connection.request('GET', '/who', headers={'X-Forwarded-For': forwarded})
        seen = json.loads(connection.getresponse().read())
        connection.close()
    finally:
        server.close()
    return seen['canister'], seen['bottle']


def test_client_address_ignores_an_x_forwarded_for_a_client_wrote_itself_unlike_bottles_remote_addr(make_app):
    assert client_seen(make_app, '', SMUGGLED) == ('127.0.0.1', SMUGGLED)


def test_client_address_takes_the_client_a_trusted_proxy_names(make_app):
    assert client_seen(make_app, '127.0.0.1', '%s, %s' % (SMUGGLED, PROXIED)) == (PROXIED, SMUGGLED)


def test_client_address_outside_a_request_is_empty():
    assert canister.client_address() == ''
