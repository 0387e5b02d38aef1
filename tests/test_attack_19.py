"""An outside review's attacks (session 19) that found a defect, each against a real server on 127.0.0.1.

* a 400 for a parameter whose value does not convert shows the value, unless the parameter's name looks
  secret; but a JSON object sent to a parameter of another type (a ``str``, an ``int``, a class such as a
  dataclass, whose constructor takes no dict) was shown whole, in the answer and the WARNING line, passwords
  and tokens in its members included: ``got {'name': 'bob', 'password': 'hunter2'}``.  The members whose
  names look secret are shown as ``'***'`` now, at any level the message shows.
"""
from __future__ import annotations

import dataclasses
import json
from typing import List

import pytest

from helpers import read_log
from servers import Client

pytestmark = pytest.mark.usefixtures('nothing_left_running')


@dataclasses.dataclass
class Account:
    """A handler's annotation that canister calls with the JSON value: a dataclass takes no dict."""

    name: str
    password: str


def profile_app(make_app):
    """An app whose handlers take a ``str``, a list of ``int`` and an ``Account``."""
    app = make_app()

    @app.post('/profile')
    def profile(user: str):
        return user

    @app.post('/numbers')
    def numbers(ids: List[int]):
        return str(ids)

    @app.post('/signup')
    def signup(account: Account):
        return account.name

    return app


def post_json(origin, path, value):
    """POST ``value`` as a JSON body to the app at ``origin``; the answer."""
    return Client(origin).request('POST', path, json.dumps(value).encode(), {'Content-Type': 'application/json'})


@pytest.mark.parametrize('path, sent, shown', [
    ('/profile', {'user': {'pin': 'hunter2', 'keys': {'api_key': 'k-hunter2'}}},
     "parameter 'user' must be a string, got {'pin': '***', 'keys': {'api_key': '***'}}"),
    ('/numbers', {'ids': [1, {'access_token': 'tok-hunter2'}]},
     "parameter 'ids' must be an integer, got [1, {'access_token': '***'}]"),
    ('/signup', {'account': {'name': 'bob', 'password': 'hunter2'}},
     "parameter 'account' must be a valid Account, got {'name': 'bob', 'password': '***'}"),
])
def test_a_secret_inside_a_json_value_that_does_not_convert_is_neither_answered_nor_logged(
        make_app, serve, log_dir, path, sent, shown):
    answer = post_json(serve(profile_app(make_app)), path, sent)
    assert answer.status == 400
    assert answer.text == 'Bad request: %s\n' % shown
    log = read_log(log_dir)
    assert 'WARNING  [127.0.0.1-...]   Bad request: %s\n' % shown in log
    assert 'hunter2' not in log


def test_a_json_value_without_secrets_is_still_shown_as_sent(make_app, serve):
    answer = post_json(serve(profile_app(make_app)), '/profile', {'user': {'name': 'bob', 'tags': [1, 2]}})
    assert answer.status == 400
    assert answer.text == "Bad request: parameter 'user' must be a string, got {'name': 'bob', 'tags': [1, 2]}\n"
