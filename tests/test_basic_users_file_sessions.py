"""Basic: a user the users file drops, or gives another password, loses the sessions their cookie holds,
in every store, over real HTTP: a request with the session cookie alone is nobody then (``require_user``
answers 401).  The file is read anew by the first look a second after it changed (canister's clock moved
on by hand); the sessions end once a look finds it at rest, so a file half-written ends nobody."""
from __future__ import annotations

import os
import pathlib
import time

import pytest

import canister
from canister import session
from helpers import at_once, basic, read_log, sqlite_url, write_users
from session_kit import Browser, FourMethodStore


def users_app(make_app, users: pathlib.Path, **overrides):
    """An app whose Basic users are in ``users``; GET /me answers the user, 401 without one (and keeps the
    session: its cookie is the one a browser that logged in with Basic holds)."""
    app = make_app(auth_basic_users_file=str(users), **overrides)

    @app.get('/me')
    @canister.require_user
    def me():
        session.data['seen'] = True
        return {'user': session.user}

    return app


def logged_in(origin: str, username: str, password: str) -> Browser:
    """A browser holding the session cookie of a Basic login of ``username``."""
    browser = Browser(origin)
    answer = browser.get('/me', headers={'Authorization': basic(username, password)})
    assert answer.status == 200 and browser.sid, answer
    return browser


def replace_file(path: pathlib.Path, text: str) -> None:
    """Put a new file with ``text`` in place of ``path``, as an editor or a deployment does."""
    path.with_suffix('.new').write_text(text)
    os.replace(path.with_suffix('.new'), path)


def line_of(path: pathlib.Path, username: str) -> str:
    """The line of ``username`` in a users file, as it is (the same hash)."""
    return next(line for line in path.read_text().splitlines(True) if line.startswith(username + ':'))


def look_twice(clock, browser: Browser) -> None:
    """Two of canister's looks at the users file, a second apart (a request each): the first reads it anew,
    the second finds it at rest."""
    for _ in range(2):
        clock.advance(2)
        browser.get('/me')


def ended_lines(log_dir) -> list:
    """The log lines that say sessions were ended for a change of the users file."""
    return [line for line in read_log(log_dir).splitlines() if 'Users file' in line and 'ended' in line]


def test_a_user_dropped_from_the_users_file_has_no_session_left(make_app, serve, store_url, tmp_path, log_dir,
                                                                 clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    origin = serve(users_app(make_app, users, session_store=store_url))
    alice, bob = logged_in(origin, 'alice', 'alice-password'), logged_in(origin, 'bob', 'bob-password')
    assert alice.get('/me').json() == {'user': 'alice'}  # the cookie alone: still alice

    replace_file(users, line_of(users, 'bob'))
    look_twice(clock, Browser(origin))

    assert alice.get('/me').status == 401  # whoever holds alice's cookie is nobody now
    assert bob.get('/me').json() == {'user': 'bob'}  # bob's session is untouched
    [line] = ended_lines(log_dir)
    assert ' INFO ' in line and 'ended 1 session(s) of 1 user(s)' in line and 'alice' not in line


def test_a_new_password_in_the_users_file_ends_every_session_of_that_user(make_app, serve, store_url, tmp_path,
                                                                          log_dir, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    origin = serve(users_app(make_app, users, session_store=store_url))
    laptop, phone = logged_in(origin, 'alice', 'alice-password'), logged_in(origin, 'alice', 'alice-password')
    bob = logged_in(origin, 'bob', 'bob-password')
    replace_file(users, 'alice:%s\n%s' % (canister.hash_password('reset-password', iterations=1000),
                                          line_of(users, 'bob')))
    look_twice(clock, Browser(origin))

    assert laptop.get('/me').status == 401 and phone.get('/me').status == 401
    assert bob.get('/me').json() == {'user': 'bob'}
    assert logged_in(origin, 'alice', 'reset-password').get('/me').json() == {'user': 'alice'}
    [line] = ended_lines(log_dir)
    assert 'ended 2 session(s) of 1 user(s)' in line


def test_a_users_file_rewritten_as_it_was_ends_no_session(make_app, serve, store_url, tmp_path, log_dir, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users, session_store=store_url))
    alice = logged_in(origin, 'alice', 'alice-password')

    replace_file(users, users.read_text())  # a new file (a new inode), the same lines
    look_twice(clock, alice)

    assert alice.get('/me').json() == {'user': 'alice'}
    assert ended_lines(log_dir) == []


def test_a_users_file_read_half_written_ends_no_session(make_app, serve, tmp_path, log_dir, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    whole = users.read_text()
    origin = serve(users_app(make_app, users))
    alice = logged_in(origin, 'alice', 'alice-password')

    users.write_text('')  # an editor or `cat >` has emptied the file, and not yet written it again
    clock.advance(2)
    assert alice.get('/me').json() == {'user': 'alice'}  # this look read it empty, just changed: not at rest
    users.write_text(whole)
    look_twice(clock, alice)

    assert alice.get('/me').json() == {'user': 'alice'}
    assert ended_lines(log_dir) == []


def test_a_users_file_that_cannot_be_read_ends_no_session(make_app, serve, tmp_path, log_dir, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users))
    alice = logged_in(origin, 'alice', 'alice-password')

    users.unlink()  # (a deployment between removing the old file and writing the new one)
    look_twice(clock, alice)

    assert alice.get('/me').json() == {'user': 'alice'}
    assert 'Cannot read the users file' in read_log(log_dir) and ended_lines(log_dir) == []


def test_a_users_file_changed_a_second_ago_ends_the_sessions_at_the_first_look(make_app, serve, tmp_path, log_dir,
                                                                               clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    origin = serve(users_app(make_app, users))
    alices = [logged_in(origin, 'alice', 'alice-password') for _ in range(2)]
    bob = logged_in(origin, 'bob', 'bob-password')

    replace_file(users, line_of(users, 'bob'))
    time.sleep(1.1)  # the file is at rest when it is read (its change time is the real clock's)
    clock.advance(2)
    # the first requests after the change come all at once: one of them ends alice's sessions, once
    answers = at_once([lambda: bob.get('/me') for _ in range(6)])

    assert [answer.status for answer in answers] == [200] * 6
    assert [browser.get('/me').status for browser in alices] == [401, 401]
    [line] = ended_lines(log_dir)
    assert 'ended 2 session(s) of 1 user(s)' in line


def test_a_store_that_cannot_list_a_users_sessions_says_they_were_not_ended(make_app, serve, tmp_path, log_dir,
                                                                            clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    origin = serve(users_app(make_app, users, store=FourMethodStore()))
    bob = logged_in(origin, 'bob', 'bob-password')

    replace_file(users, line_of(users, 'bob'))
    look_twice(clock, bob)

    assert bob.get('/me').json() == {'user': 'bob'}
    assert any(' WARNING ' in line and "sessions of 1 user(s) it dropped or gave another password cannot be ended"
               in line and 'has no sessions_of() method' in line for line in read_log(log_dir).splitlines())



@pytest.mark.parametrize('how', ['basic', 'form'])
def test_a_login_with_the_new_password_before_the_file_is_at_rest_keeps_its_session(make_app, serve, tmp_path,
                                                                                    log_dir, clock, how):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    app = users_app(make_app, users)

    @app.get('/login')
    def login():
        return {'in': canister.log_in('alice', 'reset-password')}

    origin = serve(app)
    thief = logged_in(origin, 'alice', 'alice-password')

    replace_file(users, 'alice:%s\n' % canister.hash_password('reset-password', iterations=1000))
    clock.advance(2)
    assert thief.get('/me').status == 200  # this look read the new file, just changed: not at rest
    if how == 'basic':  # a reset flow logs her in with the new password at once
        alice = logged_in(origin, 'alice', 'reset-password')
    else:
        alice = Browser(origin)
        assert alice.get('/login').json() == {'in': True}
    clock.advance(2)
    assert thief.get('/me').status == 401  # the old password's session ends all the same

    answer = alice.get('/me')  # but not the one the new password opened
    assert answer.status == 200 and answer.json() == {'user': 'alice'}


def test_a_login_with_the_new_password_on_the_old_session_moves_it_out_of_the_old_cookies_reach(
        make_app, serve, tmp_path, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users))
    alice = logged_in(origin, 'alice', 'alice-password')
    thief = Browser(origin, alice.sid, follow=False)  # a copy of her cookie

    replace_file(users, 'alice:%s\n' % canister.hash_password('reset-password', iterations=1000))
    clock.advance(2)
    assert thief.get('/me').status == 200  # this look read the new file, just changed: not at rest
    answer = alice.get('/me', headers={'Authorization': basic('alice', 'reset-password')})  # the same browser

    assert answer.status == 200 and answer.json() == {'user': 'alice'}
    assert alice.sid != thief.sid and alice.get('/me').json() == {'user': 'alice'}
    assert thief.get('/me').status == 401


def test_under_two_processes_the_later_to_see_the_change_ends_a_login_made_since_through_the_other(
        make_app, serve, tmp_path, clock):
    """What the README says of several worker processes: each ends the sessions when it first sees the change,
    so a process that sees it after the user logged in again with the new password through another ends that
    new session too (once: the user logs in again).  Two apps on one SQLite file and one users file stand for
    two worker processes of one app."""
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    store = sqlite_url(tmp_path / 'sessions.db')
    first = serve(users_app(make_app, users, session_store=store))
    second = serve(users_app(make_app, users, session_store=store))
    stolen = logged_in(first, 'alice', 'old-password')

    replace_file(users, write_users(tmp_path / 'reset.txt', alice='new-password').read_text())
    look_twice(clock, Browser(first))
    assert stolen.get('/me').status == 401  # the first process ended the old session
    again = logged_in(first, 'alice', 'new-password')
    assert again.get('/me').json() == {'user': 'alice'}

    look_twice(clock, Browser(second))  # the second process sees the change only now
    assert again.get('/me').status == 401
    third = logged_in(first, 'alice', 'new-password')
    look_twice(clock, Browser(second))
    look_twice(clock, Browser(first))
    assert third.get('/me').json() == {'user': 'alice'}  # once only: the change is settled in both now
