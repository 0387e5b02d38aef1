"""Django's CSRF_FAILURE_VIEW and ALLOWED_HOSTS (Flask users write csrf_failure_view and allowed_hosts too),
written as canister keys: the hint says what canister does instead, and what it says holds over HTTP."""
from __future__ import annotations

import http.client

import pytest

import canister
from helpers import Server, canister_warning_texts, read_log

CSRF_VIEW = ("canister has no such setting: the CSRF check's refusal is canister's own 403, with its message and a "
             "WARNING line, which the app's @app.error(403) handler does not replace")
HOSTS = ("canister has no such setting: it answers whatever the Host header names, so a reverse proxy (nginx's "
         "server_name) or a before_request hook of the app turns other hosts away; trusted_proxies takes the "
         "addresses of reverse proxies")


@pytest.mark.parametrize('name, hint', [('csrf_failure_view', CSRF_VIEW), ('CSRF_FAILURE_VIEW', CSRF_VIEW),
                                        ('allowed_hosts', HOSTS), ('ALLOWED_HOSTS', HOSTS)])
def test_csrf_failure_view_and_allowed_hosts_as_canister_keys_say_what_canister_does_instead(make_app, name, hint):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={name: 'x'})
    assert canister_warning_texts(caught) == ['unknown config key canister.%s (%s)' % (name.lower(), hint)]


def answer(server: Server, method: str, path: str, headers: dict) -> tuple:
    """Status and body of one request to the server."""
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
    try:
        connection.request(method, path, body=b'a=1' if method == 'POST' else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode('utf-8')
    finally:
        connection.close()


def test_the_csrf_refusal_is_canisters_403_whatever_the_apps_403_handler_and_any_host_is_answered(make_app, log_dir):
    app = make_app()
    app.route('/form', method=['GET', 'POST'], callback=lambda: 'handled')
    app.error(403)(lambda error: 'the app\'s own 403 page')
    server = Server(app)
    try:
        status, body = answer(server, 'POST', '/form', {'Sec-Fetch-Site': 'cross-site', 'Origin': 'https://evil.example',
                                                        'Content-Type': 'application/x-www-form-urlencoded'})
        assert status == 403 and body and 'handled' not in body and "the app's own 403 page" not in body
        assert ' WARNING ' in read_log(log_dir) and 'POST' in read_log(log_dir)
        assert answer(server, 'GET', '/form', {'Host': 'not-this-app.example'}) == (200, 'handled')
    finally:
        server.close()
