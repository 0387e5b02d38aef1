"""An outside review's attacks on logins, CSRF and CORS that found a defect: each answer is a clear
refusal, never a 500.

* ``canister.log_in`` given a user name or password that is not text (a JSON number, list, object or
  boolean, which an unannotated handler parameter passes on as it came) or text with no UTF-8 form (a
  lone surrogate, which ``bottle.request.json`` lets through) returns False, logs the failure and
  counts it against the throttle; ``verify_password`` says False for such a password.
* a proxy listed in ``trusted_proxies`` by its IPv4 address is trusted when the server gives it as an
  IPv4-mapped address (gunicorn bound to ``[::]``): its clients are throttled and logged each by its own
  address, not all as the proxy (where one client's failures locked every other out), and its
  X-Forwarded-Proto and -Host are believed (a same-origin POST through it was refused as foreign).
"""
from __future__ import annotations

import json
import re

import bottle
import pytest

import canister
from canister import session
from helpers import basic, client, read_log
from servers import AppServer, Client

JSON = {'Content-Type': 'application/json'}
USERS = {'alice': canister.hash_password('wonderland', 'pbkdf2', iterations=1000)}


def log_in_app(make_app, **overrides):
    """POST /login hands unannotated parameters to canister.log_in; POST /raw hands it bottle.request.json's
    values; each answers 401 for a refused login and the user for a good one."""
    app = make_app(**overrides)

    def answer(ok):
        if not ok:
            bottle.abort(401, 'wrong user name or password')
        return 'user=%s' % session.user

    @app.post('/login')
    def login(username, password):
        return answer(canister.log_in(username, password, USERS))

    @app.post('/raw')
    def raw():
        body = bottle.request.json
        return answer(canister.log_in(body['username'], body['password'], USERS))

    return app


@pytest.mark.parametrize('body', [{'username': 'alice', 'password': 123}, {'username': 'alice', 'password': ['wonderland']},
                                  {'username': 'alice', 'password': {'a': 'b'}}, {'username': 'alice', 'password': True},
                                  {'username': ['alice'], 'password': 'wonderland'},
                                  {'username': {'alice': 1}, 'password': 'wonderland'}, {'username': 7, 'password': 7}],
                         ids=['number', 'list', 'object', 'boolean', 'name list', 'name object', 'both numbers'])
def test_a_login_with_a_name_or_password_that_is_not_text_is_refused_not_a_500(make_app, log_dir, body):
    web = client(log_in_app(make_app))
    response = web.post('/login', json.dumps(body), headers=JSON, expect_errors=True)
    assert response.status_int == 401, response.text
    log = read_log(log_dir)
    assert 'Authentication failed: ' in log and 'Traceback' not in log and ' ERROR ' not in log
    assert web.post('/login', json.dumps({'username': 'alice', 'password': 'wonderland'}),
                    headers=JSON).text == 'user=alice'


@pytest.mark.parametrize('body', [b'{"username": "alice", "password": "\\ud800"}',
                                  b'{"username": "alice", "password": "wonder\\udfffland"}'],
                         ids=['lone high half', 'lone low half'])
def test_a_password_with_a_lone_surrogate_from_bottles_json_is_a_refused_login(make_app, log_dir, body):
    web = client(log_in_app(make_app))
    response = web.post('/raw', body, headers=JSON, expect_errors=True)
    assert response.status_int == 401, response.text
    log = read_log(log_dir)
    assert "Authentication failed: wrong password for 'alice'" in log and 'Traceback' not in log


def test_such_logins_count_against_the_throttle(make_app):
    web = client(log_in_app(make_app, auth_max_failures=2))
    for body in ({'username': 'alice', 'password': 1}, {'username': 'alice', 'password': ['x']}):
        assert web.post('/login', json.dumps(body), headers=JSON, expect_errors=True).status_int == 401
    locked = web.post('/login', json.dumps({'username': 'alice', 'password': 'wonderland'}), headers=JSON,
                      expect_errors=True)
    assert locked.status_int == 429 and locked.headers['Retry-After']


@pytest.mark.parametrize('stored, scheme', [(USERS['alice'], None), ('clear-text', 'clear'), ('sha256:' + '0' * 64, None)],
                         ids=['pbkdf2', 'clear', 'sha256'])
def test_verify_password_says_false_for_text_with_a_lone_surrogate(stored, scheme):
    assert canister.verify_password('\ud800', stored, scheme) is False
    assert canister.verify_password('wonder\udfffland', stored, scheme) is False


@pytest.mark.parametrize('password', [123, 1.5, True, ['wonderland'], {'wonderland': 1}, b'wonderland'],
                         ids=['int', 'float', 'bool', 'list', 'dict', 'bytes'])
def test_verify_password_says_false_for_a_password_that_is_not_text(password):
    """What an app that checks passwords itself gets from ``bottle.request.json['password']``: never a 500."""
    assert canister.verify_password(password, USERS['alice']) is False
    assert canister.verify_password(password, 'wonderland') is False


# -- a trusted proxy seen through a server listening on [::] ----------------------------------

RIGHT = {'Authorization': basic('alice', 'wonderland')}
WRONG = {'Authorization': basic('alice', 'nope')}


@pytest.mark.parametrize('peer, listed', [('::ffff:10.0.0.5', '10.0.0.5'), ('::ffff:10.0.0.5', '10.0.0.0/8'),
                                          ('::FFFF:10.0.0.5', '10.0.0.5')],
                         ids=['mapped peer, listed address', 'mapped peer, listed network', 'upper case'])
def test_a_trusted_proxy_given_as_an_ipv4_mapped_address_is_trusted(make_app, log_dir, peer, listed):
    app = make_app(auth_basic_username='alice', auth_basic_password=USERS['alice'], auth_max_failures=2,
                   trusted_proxies=listed)

    @app.get('/me')
    def me():
        return 'user=%s' % session.user

    def attempt(client_address, headers):
        return client(app, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=client_address).get(
            '/me', headers=headers, expect_errors=True).status_int

    assert [attempt('198.51.100.1', WRONG) for _ in range(2)] == [401, 401]
    assert attempt('198.51.100.1', RIGHT) == 429
    assert attempt('198.51.100.2', RIGHT) == 200  # another client of the proxy is not locked out
    log = read_log(log_dir)
    assert re.search(r' INFO     \[198\.51\.100\.2-', log) and 'X-Forwarded-For came from' not in log


def test_the_public_origin_a_mapped_trusted_proxy_names_passes_csrf(make_app):
    """Its X-Forwarded-Proto and -Host are believed: a same-origin POST from a browser without
    Sec-Fetch-Site, through a TLS-terminating proxy, is the app's own (it was refused as foreign)."""
    app = make_app(trusted_proxies='10.0.0.5')

    @app.post('/items')
    def items():
        return 'made'

    web = client(app, REMOTE_ADDR='::ffff:10.0.0.5', HTTP_X_FORWARDED_PROTO='https',
                 HTTP_X_FORWARDED_HOST='app.example.com', HTTP_X_FORWARDED_FOR='198.51.100.3')
    assert web.post('/items', headers={'Origin': 'https://app.example.com'}).text == 'made'
    assert web.post('/items', headers={'Origin': 'https://evil.example'}, expect_errors=True).status_int == 403


def test_a_mapped_trusted_proxy_in_the_forwarded_chain_is_skipped(make_app, log_dir):
    app = make_app(trusted_proxies='10.0.0.0/8')

    @app.get('/ping')
    def ping():
        return 'pong'

    chain = '203.0.113.9, ::ffff:10.0.0.7'  # a second proxy, on a dual-stack listener, added its peer
    assert client(app, REMOTE_ADDR='10.0.0.5', HTTP_X_FORWARDED_FOR=chain).get('/ping').text == 'pong'
    assert re.search(r' INFO     \[203\.0\.113\.9-', read_log(log_dir))


def test_gunicorn_on_a_dual_stack_listener_throttles_each_client_of_a_trusted_ipv4_proxy(tmp_path):
    log_dir = tmp_path / 'logs'
    server = AppServer('throttle_app:app', server='gunicorn', host='::',
                       env={'CANISTER_LOG_PATH': str(log_dir), 'CANISTER_TRUSTED_PROXIES': '127.0.0.1',
                            'CANISTER_AUTH_MAX_FAILURES': '2', 'HASH_ITERATIONS': '1000'})
    server.start()
    try:
        web = Client('http://127.0.0.1:%d' % server.port)  # over IPv4: gunicorn gives ::ffff:127.0.0.1
        statuses = [web.get('/me', headers=dict(WRONG, **{'X-Forwarded-For': '198.51.100.1'})).status
                    for _ in range(3)]
        assert statuses == [401, 401, 429]
        other = web.get('/me', headers=dict(RIGHT, **{'X-Forwarded-For': '198.51.100.2'}))
        assert other.status == 200 and other.json()['user'] == 'alice'
    finally:
        server.cleanup()
    log = read_log(log_dir)
    assert 'X-Forwarded-For came from' not in log
    assert re.search(r' INFO     \[198\.51\.100\.2-', log)
