"""An outside review's attacks on logins, CSRF and CORS that found a defect: each answer is a clear
refusal, never a 500.

* ``canister.log_in`` given a user name or password that is not text (a JSON number, list, object or
  boolean, which an unannotated handler parameter passes on as it came) or text with no UTF-8 form (a
  lone surrogate, which ``bottle.request.json`` lets through) returns False, logs the failure and
  counts it against the throttle; ``verify_password`` says False for such text.
"""
from __future__ import annotations

import json

import bottle
import pytest

import canister
from canister import session
from helpers import client, read_log

JSON = {'Content-Type': 'application/json'}
USERS = {'alice': canister.hash_password('wonderland', 'pbkdf2', iterations=1000)}


def login_app(make_app, **overrides):
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
    web = client(login_app(make_app))
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
    web = client(login_app(make_app))
    response = web.post('/raw', body, headers=JSON, expect_errors=True)
    assert response.status_int == 401, response.text
    log = read_log(log_dir)
    assert "Authentication failed: wrong password for 'alice'" in log and 'Traceback' not in log


def test_such_logins_count_against_the_throttle(make_app):
    web = client(login_app(make_app, auth_max_failures=2))
    for body in ({'username': 'alice', 'password': 1}, {'username': 'alice', 'password': ['x']}):
        assert web.post('/login', json.dumps(body), headers=JSON, expect_errors=True).status_int == 401
    locked = web.post('/login', json.dumps({'username': 'alice', 'password': 'wonderland'}), headers=JSON,
                      expect_errors=True)
    assert locked.status_int == 429 and locked.headers['Retry-After']


@pytest.mark.parametrize('stored', [USERS['alice'], 'clear-text', 'sha256:' + '0' * 64], ids=['pbkdf2', 'clear', 'sha256'])
def test_verify_password_says_false_for_text_with_a_lone_surrogate(stored):
    assert canister.verify_password('\ud800', stored) is False
    assert canister.verify_password('wonder\udfffland', stored) is False
