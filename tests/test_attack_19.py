"""An outside review's attacks (session 19) that found a defect, each against a real server on 127.0.0.1.

* a 400 for a parameter whose value does not convert shows the value, unless the parameter's name looks
  secret; but a JSON object sent to a parameter of another type (a ``str``, an ``int``, a class such as a
  dataclass, whose constructor takes no dict) was shown whole, in the answer and the WARNING line, passwords
  and tokens in its members included: ``got {'name': 'bob', 'password': 'hunter2'}``.  The members whose
  names look secret are shown as ``'***'`` now, at any level the message shows.
* canister makes its SQLite file readable and writable by its owner only, since it holds live session ids;
  but a file that was there before (the app's own database, made under the usual umask as 0644, or one another
  user made first in a shared directory) was used as it was, without a word: any local user could read the
  ids and be logged in as their users, or, given write access, make sessions of anyone.  The install says so
  now (a WARNING and a ``CanisterWarning``), naming the file, its owner and mode, and what to do; one that others may
  write, or another user owns, is refused (``tests/test_sqlite_hostile_file.py``).
* a query value is written as ``***`` when its name looks secret; a name ending in a word such as ``key`` or
  ``sig`` looked secret only with nothing after the word, so the brackets of the nested and array names that
  Rails, PHP and jQuery's ``$.param`` write (``user[api_key]``, ``sig[]``, ``key[0]``) let the value into the
  request line.  Such brackets may follow the word now.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from typing import List

import pytest

from canister import session
from helpers import install_warned, read_log, sqlite_url, warning_lines
from servers import Client

pytestmark = pytest.mark.usefixtures('nothing_left_running')


@dataclasses.dataclass
class Account:
    """A handler's annotation that canister builds from a JSON object's members."""

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
     "parameter 'ids' (at ids[1]) must be an integer, got {'access_token': '***'}"),
    ('/signup', {'account': {'name': 7, 'password': 'hunter2'}},
     "parameter 'account' must be a JSON object with the fields of Account (name, password): its field 'name' must be "
     "a string, got 7"),
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


def exposure_note(path, mode):
    """What the install says of a SQLite session file of this process's user with ``mode``."""
    return ("The SQLite session file %s can be read or written by other users than this process's (owner uid %d, "
            'mode %04o): it holds live session ids, with which whoever reads them is logged in as their users, and '
            "whoever may write it can make sessions of any user; make it this user's, readable and writable by "
            'its owner only (chmod 600 %s)' % (path, os.geteuid(), mode, path))


def a_group_not_of_this_process():
    """A group id this process is not in."""
    return next(gid for gid in range(4242, 5000) if gid not in {os.getegid(), *os.getgroups()})


@pytest.mark.parametrize('mode, foreign_group', [(0o644, False), (0o604, False), (0o640, True)])
def test_a_sqlite_session_file_that_other_users_may_read_or_write_is_reported_at_install(
        tmp_path, log_dir, serve, uninstall_at_end, mode, foreign_group):
    path = tmp_path / 'app.db'
    sqlite3.connect(str(path)).close()  # the app's own database, there before canister
    os.chmod(path, mode)
    if foreign_group:  # (the group bits give it to users this process does not know)
        os.chown(path, -1, a_group_not_of_this_process())  # (the tests run as root)
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)
    assert said == [exposure_note(path, mode)]
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == [exposure_note(path, mode)]

    @app.get('/')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    browser = Client(serve(app))
    assert [browser.get('/').text for _ in range(2)] == ['1', '2']  # (it still works, and is left as it was)
    assert os.stat(path).st_mode & 0o777 == mode


@pytest.mark.parametrize('mode', [0o660, 0o640], ids=['0660', '0640'])
def test_a_sqlite_session_file_shared_with_a_group_of_this_process_is_not_reported(
        tmp_path, log_dir, uninstall_at_end, mode):
    """An admin's ``chgrp app sessions.db; chmod 660``, for a second service of the app (tidy-sessions run
    from cron as another user): the usual umasks do not make it, and it is what they meant."""
    path = tmp_path / 'sessions.db'
    sqlite3.connect(str(path)).close()
    os.chown(path, -1, os.getegid())
    os.chmod(path, mode)
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)
    assert said == [] and warning_lines(log_dir) == []


def test_the_sqlite_session_file_canister_makes_is_reported_by_nobody(tmp_path, log_dir, uninstall_at_end):
    path = tmp_path / 'sessions.db'
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)
    assert said == [] and warning_lines(log_dir) == []
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize('name', ['user[api_key]', 'sig[]', 'key[0]', 'user[auth][key]', 'user%5Bapi_key%5D'])
def test_a_value_under_a_bracketed_secret_looking_name_is_written_as_stars(make_app, serve, log_dir, name):
    app = make_app()
    app.route('/echo', callback=lambda: 'ok')
    origin = serve(app)
    assert Client(origin).get('/echo?page=2&%s=Qz7-hidden&user[name]=bob' % name).status == 200
    log = read_log(log_dir)
    assert 'Qz7-hidden' not in log
    assert '   GET %s/echo?page=2&%s=***&user[name]=bob\n' % (origin, name) in log
