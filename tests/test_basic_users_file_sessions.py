"""Basic: a user the users file drops, or gives another password, loses the sessions their cookie holds,
in every store, over real HTTP: a request with the session cookie alone is nobody then (``require_user``
answers 401).  The file is read anew by the first look a second after it changed (canister's clock moved
on by hand); the sessions end once a look finds it at rest, so a file half-written ends nobody."""
from __future__ import annotations

import gc
import hashlib
import json
import os
import pathlib
import re
import sqlite3
import threading
import time
import tracemalloc

import bottle
import pytest

import canister
from canister import session
from helpers import at_once, basic, canister_bytes, client, compose_child, read_log, sqlite_url, write_users
from session_kit import Browser, FourMethodStore, make_store_url, plugin_of


def users_app(make_app, users: pathlib.Path, **overrides):
    """An app whose Basic users are in ``users``; GET /me answers the user, 401 without one (and keeps the
    session: its cookie is the one a browser that logged in with Basic holds); GET /login?password= logs
    alice in as a login form does."""
    app = make_app(auth_basic_users_file=str(users), **overrides)

    @app.get('/login')
    def login(password):
        return {'in': canister.log_in('alice', password)}

    @app.get('/me')
    @canister.require_user
    def me():
        session.data['seen'] = True
        return {'user': session.user}

    return app


def basic_login(origin: str, username: str, password: str) -> Browser:
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
    alice, bob = basic_login(origin, 'alice', 'alice-password'), basic_login(origin, 'bob', 'bob-password')
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
    laptop, phone = basic_login(origin, 'alice', 'alice-password'), basic_login(origin, 'alice', 'alice-password')
    bob = basic_login(origin, 'bob', 'bob-password')
    replace_file(users, 'alice:%s\n%s' % (canister.hash_password('reset-password', iterations=1000),
                                          line_of(users, 'bob')))
    look_twice(clock, Browser(origin))

    assert laptop.get('/me').status == 401 and phone.get('/me').status == 401
    assert bob.get('/me').json() == {'user': 'bob'}
    assert basic_login(origin, 'alice', 'reset-password').get('/me').json() == {'user': 'alice'}
    [line] = ended_lines(log_dir)
    assert 'ended 2 session(s) of 1 user(s)' in line


def test_a_users_file_rewritten_as_it_was_ends_no_session(make_app, serve, store_url, tmp_path, log_dir, clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users, session_store=store_url))
    alice = basic_login(origin, 'alice', 'alice-password')

    replace_file(users, users.read_text())  # a new file (a new inode), the same lines
    look_twice(clock, alice)

    assert alice.get('/me').json() == {'user': 'alice'}
    assert ended_lines(log_dir) == []


def test_a_users_file_read_half_written_ends_no_session(make_app, serve, tmp_path, log_dir, clock):
    clock.advance(-10)  # (canister's clock behind the file's change time: a change is just made at a first look)
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    whole = users.read_text()
    origin = serve(users_app(make_app, users))
    alice = basic_login(origin, 'alice', 'alice-password')

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
    alice = basic_login(origin, 'alice', 'alice-password')

    users.unlink()  # (a deployment between removing the old file and writing the new one)
    look_twice(clock, alice)

    assert alice.get('/me').json() == {'user': 'alice'}
    assert 'Cannot read the users file' in read_log(log_dir) and ended_lines(log_dir) == []


def test_a_users_file_changed_a_second_ago_ends_the_sessions_at_the_first_look(make_app, serve, tmp_path, log_dir,
                                                                               clock):
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    origin = serve(users_app(make_app, users))
    alices = [basic_login(origin, 'alice', 'alice-password') for _ in range(2)]
    bob = basic_login(origin, 'bob', 'bob-password')

    replace_file(users, line_of(users, 'bob'))
    clock.advance(10)  # (canister's clock 10 s past the file's change: at rest when it is read)
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
    bob = basic_login(origin, 'bob', 'bob-password')

    replace_file(users, line_of(users, 'bob'))
    look_twice(clock, bob)

    assert bob.get('/me').json() == {'user': 'bob'}
    assert any(' WARNING ' in line and "sessions of 1 user(s) it dropped or gave another password cannot be ended"
               in line and 'has no sessions_of() method' in line for line in read_log(log_dir).splitlines())



@pytest.mark.parametrize('how', ['basic', 'form'])
def test_a_login_with_the_new_password_before_the_file_is_at_rest_keeps_its_session(make_app, serve, tmp_path,
                                                                                    log_dir, clock, how):
    clock.advance(-10)  # (canister's clock behind the file's change time: a change is just made at a first look)
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users))
    thief = basic_login(origin, 'alice', 'alice-password')

    replace_file(users, 'alice:%s\n' % canister.hash_password('reset-password', iterations=1000))
    clock.advance(2)
    assert thief.get('/me').status == 200  # this look read the new file, just changed: not at rest
    if how == 'basic':  # a reset flow logs her in with the new password at once
        alice = basic_login(origin, 'alice', 'reset-password')
    else:
        alice = Browser(origin)
        assert alice.get('/login?password=reset-password').json() == {'in': True}
    clock.advance(2)
    assert thief.get('/me').status == 401  # the old password's session ends all the same

    answer = alice.get('/me')  # but not the one the new password opened
    assert answer.status == 200 and answer.json() == {'user': 'alice'}


def test_a_login_with_the_new_password_on_the_old_session_moves_it_out_of_the_old_cookies_reach(
        make_app, serve, tmp_path, clock):
    clock.advance(-10)  # (canister's clock behind the file's change time: a change is just made at a first look)
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    origin = serve(users_app(make_app, users))
    alice = basic_login(origin, 'alice', 'alice-password')
    thief = Browser(origin, alice.sid, follow=False)  # a copy of her cookie

    replace_file(users, 'alice:%s\n' % canister.hash_password('reset-password', iterations=1000))
    clock.advance(2)
    assert thief.get('/me').status == 200  # this look read the new file, just changed: not at rest
    answer = alice.get('/me', headers={'Authorization': basic('alice', 'reset-password')})  # the same browser

    assert answer.status == 200 and answer.json() == {'user': 'alice'}
    assert alice.sid != thief.sid and alice.get('/me').json() == {'user': 'alice'}
    assert thief.get('/me').status == 401


def two_processes(make_app, serve, users: pathlib.Path, store) -> tuple:
    """The origins of two apps with the users file ``users`` and one session store (a URL, or a store object
    both share): two worker processes of one app."""
    key = 'session_store' if isinstance(store, str) else 'store'
    return tuple(serve(users_app(make_app, users, **{key: store})) for _ in range(2))


def reset_password(users: pathlib.Path, tmp_path) -> None:
    """Give alice the password new-password in the users file (a new file put in place of it)."""
    replace_file(users, write_users(tmp_path / 'reset.txt', alice='new-password').read_text())


@pytest.mark.parametrize('kind, how', [('sqlite', 'basic'), ('redis', 'basic'), ('sqlite', 'form')])
def test_under_two_processes_a_login_with_the_new_password_survives_the_process_that_sees_the_change_late(
        make_app, serve, tmp_path, clock, request, kind, how):
    """Two apps on one store and one users file stand for two worker processes of one app: the second
    serves its first request after the change only once alice has logged in again through the first."""
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    first, second = two_processes(make_app, serve, users, make_store_url(kind, tmp_path, request))
    stolen = basic_login(first, 'alice', 'old-password')

    reset_password(users, tmp_path)
    look_twice(clock, Browser(first))
    assert stolen.get('/me').status == 401  # the first process ended the old session
    if how == 'basic':
        again = basic_login(first, 'alice', 'new-password')
    else:  # a login form: canister.log_in with the users of the users file
        again = Browser(first)
        assert again.get('/login?password=new-password').json() == {'in': True}

    look_twice(clock, Browser(second))  # the second process sees the change only now
    assert again.get('/me').json() == {'user': 'alice'}
    assert Browser(second, again.sid).get('/me').json() == {'user': 'alice'}  # and serves her new session too
    assert Browser(second, stolen.sid).get('/me').status == 401


@pytest.mark.parametrize('kind', ['sqlite', 'redis'])
def test_under_two_processes_the_old_password_logs_in_through_neither_once_one_has_seen_the_change(
        make_app, serve, tmp_path, clock, request, kind):
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    first, second = two_processes(make_app, serve, users, make_store_url(kind, tmp_path, request))
    assert basic_login(second, 'alice', 'old-password').get('/me').status == 200

    reset_password(users, tmp_path)
    look_twice(clock, Browser(first))
    for origin in (second, first):  # the second's first request since the change
        answer = Browser(origin).get('/me', headers={'Authorization': basic('alice', 'old-password')})
        assert answer.status == 401 and answer.new_sid is None
    assert basic_login(second, 'alice', 'new-password').get('/me').json() == {'user': 'alice'}


@pytest.mark.parametrize('change', ['another password', 'dropped'])
def test_a_session_from_before_the_change_is_nobody_in_every_process_even_where_the_store_cannot_list_it(
        make_app, serve, tmp_path, log_dir, clock, change):
    """A store of the app's own without ``sessions_of`` cannot have a user's sessions ended when the file
    changes: each is ended at its next use instead, in the store, so a process that has not looked at the
    file since the change (its look is at most once a second) has no session to serve either."""
    users = write_users(tmp_path / 'users.txt', alice='old-password', bob='bob-password')
    clock.advance(10)  # (canister's clock ahead of the file's change time: a change is at rest at a first look)
    first, second = two_processes(make_app, serve, users, FourMethodStore())
    alice, bob = basic_login(second, 'alice', 'old-password'), basic_login(second, 'bob', 'bob-password')
    assert Browser(first).get('/me').status == 401  # (the first process looked at the file now)
    clock.advance(2)
    assert Browser(second).get('/me').status == 401  # the second looked last now: not again for a second

    bob_line = line_of(users, 'bob')
    if change == 'dropped':
        replace_file(users, bob_line)
    else:
        replace_file(users, write_users(tmp_path / 'reset.txt', alice='new-password').read_text() + bob_line)
    answer = Browser(first, alice.sid).get('/me')  # the first reads the change, and ends her session
    assert answer.status == 401 and answer.new_sid == ''  # (its cookie expired)

    assert Browser(second, alice.sid).get('/me').status == 401  # the second has not looked at the file since
    assert bob.get('/me').json() == {'user': 'bob'}
    assert any(' INFO ' in line and 'ended: its user logged in with a password the users file no longer gives '
               'them' in line for line in read_log(log_dir).splitlines())


def test_a_process_that_read_the_file_before_the_change_keeps_a_login_with_the_new_password(
        make_app, serve, tmp_path, clock):
    """The second process last looked at the file before alice's password changed, and looks again only a
    second later: a session of her new password, which it finds its own view does not have, sends it to the
    file, which does (the view of a process that has not looked since must not end the newer login)."""
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    clock.advance(10)  # (canister's clock ahead of the file's change time: a change is at rest at a first look)
    first, second = two_processes(make_app, serve, users, sqlite_url(tmp_path / 'sessions.db'))
    assert Browser(first).get('/me').status == 401  # the first process looks at the file now
    clock.advance(0.5)
    assert Browser(second).get('/me').status == 401  # the second now: not again until half a second after the first

    reset_password(users, tmp_path)
    clock.advance(0.5)
    alice = basic_login(first, 'alice', 'new-password')  # the first reads the change

    assert Browser(second, alice.sid).get('/me').json() == {'user': 'alice'}
    look_twice(clock, Browser(second))
    assert alice.get('/me').json() == {'user': 'alice'}


def test_a_file_changed_while_no_process_ran_ends_the_old_passwords_session_at_its_next_use(
        make_app, serve, tmp_path, clock):
    users = write_users(tmp_path / 'users.txt', alice='old-password', bob='bob-password')
    store = sqlite_url(tmp_path / 'sessions.db')
    alice = basic_login(serve(users_app(make_app, users, session_store=store)), 'alice', 'old-password')
    bob = basic_login(serve(users_app(make_app, users, session_store=store)), 'bob', 'bob-password')

    replace_file(users, write_users(tmp_path / 'reset.txt', alice='new-password').read_text() + line_of(users, 'bob'))
    restarted = serve(users_app(make_app, users, session_store=store))  # reads the new file at install
    clock.advance(2)

    assert Browser(restarted, alice.sid).get('/me').status == 401
    assert Browser(restarted, bob.sid).get('/me').json() == {'user': 'bob'}


def test_a_session_from_before_this_version_keeps_its_login_and_ends_when_the_file_changes(
        make_app, serve, tmp_path, clock):
    """A record of the version before (``[data, user, created, user_expires, lifetime]``, no login line) stays
    logged in, and ends, in every process, as sessions did then when the user's line changes."""
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    first, second = two_processes(make_app, serve, users, sqlite_url(tmp_path / 'sessions.db'))
    sid = 'u' * 43
    store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
    store.create(sid, '[{"seen":true},"alice",%d,0,0]' % (time.time() * 1000), 3600, 'alice')
    store.close()
    assert Browser(first, sid).get('/me').json() == {'user': 'alice'}
    assert Browser(second, sid).get('/me').json() == {'user': 'alice'}

    reset_password(users, tmp_path)
    look_twice(clock, Browser(first))
    assert Browser(first, sid).get('/me').status == 401
    assert Browser(second, sid).get('/me').status == 401


def test_a_session_keeps_nothing_of_the_users_password_hash(make_app, serve, tmp_path):
    """The record of a users-file login (in a store that others may read: Redis, a file) keeps a short digest
    of the line, never the hash, its salt or its digest; for a hash without salt (``sha256:``), whose digest
    a dictionary could match, nothing at all, nor for a user the app logs in itself."""
    users = tmp_path / 'users.txt'
    bob_hash = canister.hash_password('bob-password', iterations=1000)
    users.write_text('alice:sha256:%s\nbob:%s\n' % (hashlib.sha256(b'alice-password').hexdigest(), bob_hash))
    app = users_app(make_app, users, session_store=sqlite_url(tmp_path / 'sessions.db'))

    @app.get('/become')
    def become(name):
        session.user = name  # the app's own login
        return 'ok'

    origin = serve(app)
    basic_login(origin, 'alice', 'alice-password')
    basic_login(origin, 'bob', 'bob-password')
    assert Browser(origin).get('/become?name=carol').status == 200

    with sqlite3.connect(str(tmp_path / 'sessions.db')) as connection:
        records = dict(connection.execute('SELECT user_key, record FROM canister_sessions').fetchall())
    alice, bob = json.loads(records['alice']), json.loads(records['bob'])
    assert len(alice) == 5 and len(json.loads(records['carol'])) == 5  # (as before this version)
    assert len(bob) == 6 and re.fullmatch(r'[A-Za-z0-9_-]{16}', bob[5])
    for part in bob_hash.split(':')[1:]:
        assert part not in records['bob']


def test_a_login_through_a_mounted_apps_own_users_file_is_not_judged_by_the_parents(tmp_path, clock,
                                                                                      uninstall_at_end):
    """A child app with a canister and a users file of its own, mounted in a parent whose canister has another:
    the session is the parent's (its store), its login line the child's file's, which the parent's file does
    not list at all."""
    child = bottle.Bottle()

    @child.get('/me')
    @canister.require_user
    def me():
        session.data['seen'] = True  # (the session of a Basic login is kept once the handler uses it)
        return {'user': session.user}

    child.install(canister.Canister(log_path=str(tmp_path / 'child'), auth_basic_users_file=str(
        write_users(tmp_path / 'admins.txt', carol='carol-password'))))
    parent = bottle.Bottle()
    compose_child(parent, child, 'mount')
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), auth_basic_users_file=str(
        write_users(tmp_path / 'users.txt', alice='alice-password'))))
    for app in (child, parent):
        uninstall_at_end(app)
    web = client(parent)

    assert web.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json == {'user': 'carol'}
    for _ in range(2):
        clock.advance(2)
        assert web.get('/a/me').json == {'user': 'carol'}


def mounted_with_users(tmp_path, uninstall_at_end, parent_users, child_users, **parent_config):
    """A parent app with a canister (a users file of ``parent_users`` if given) and a child mounted at /a/
    with a canister and a users file of ``child_users`` of its own; both serve GET /me as ``users_app``
    does.  The users files (parent's, child's) and a webtest client of the parent."""
    apps, files = [], []
    for name, users in (('child', child_users), ('parent', parent_users)):
        app = bottle.Bottle()

        @app.get('/me')
        @canister.require_user
        def me():
            session.data['seen'] = True
            return {'user': session.user}

        path = write_users(tmp_path / (name + '-users.txt'), **users) if users is not None else None
        config = dict(parent_config) if name == 'parent' else {}
        if path is not None:
            config['auth_basic_users_file'] = str(path)
        if name == 'parent':
            compose_child(app, apps[0], 'mount')
        app.install(canister.Canister(log_path=str(tmp_path / name), **config))
        apps.append(uninstall_at_end(app))
        files.append(path)
    return files[1], files[0], client(apps[1])


def test_a_change_of_the_parents_users_file_leaves_alone_a_session_the_mounted_apps_file_logged_in(
        tmp_path, clock, uninstall_at_end):
    """The same name in both files: the parent's file gives alice another password, which ends the sessions
    its own file logged in, not the one the child's file did."""
    parent_file, _, web = mounted_with_users(tmp_path, uninstall_at_end, {'alice': 'parent-password'},
                                             {'alice': 'child-password'})
    child_login = client(web.app)
    assert child_login.get('/a/me', headers={'Authorization': basic('alice', 'child-password')}).json == {
        'user': 'alice'}
    assert web.get('/me', headers={'Authorization': basic('alice', 'parent-password')}).json == {'user': 'alice'}

    replace_file(parent_file, write_users(tmp_path / 'next.txt', alice='new-password').read_text())
    for _ in range(2):  # the parent's looks: it reads its file anew, then finds it at rest and ends sessions
        clock.advance(2)
        client(web.app).get('/me', status=401)

    assert web.get('/me', status=401)  # the parent's file's login ended
    assert child_login.get('/a/me').json == {'user': 'alice'}  # the child's file's login stays
    assert child_login.get('/me').json == {'user': 'alice'}


def test_a_mounted_apps_login_ends_at_its_next_use_when_its_users_file_drops_the_user_and_the_parent_has_none(
        tmp_path, clock, uninstall_at_end, log_dir):
    """The parent's canister, without a users file, loads the sessions of the child's logins: each is checked
    against the child's file at its next use, on the child's routes and the parent's (here in a store that
    cannot list a user's sessions, where the next use is the only way they end)."""
    _, child_file, web = mounted_with_users(tmp_path, uninstall_at_end, None,
                                            {'carol': 'carol-password', 'dave': 'dave-password'},
                                            store=FourMethodStore())
    carols = [client(web.app) for _ in range(2)]
    for browser in carols:
        assert browser.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json == {
            'user': 'carol'}

    replace_file(child_file, line_of(child_file, 'dave'))
    for _ in range(2):  # the child's looks at its file: read anew, then at rest (the store cannot list: no end)
        clock.advance(2)
        client(web.app).get('/a/me', status=401)

    carols[0].get('/a/me', status=401)
    carols[1].get('/me', status=401)
    assert 'its user logged in with a password the users file no longer gives them' in read_log(tmp_path / 'parent')


def held_login_app(make_app, users: pathlib.Path, **overrides):
    """``users_app`` with GET /held-login?password=, which logs alice in as a login form does (then, with
    ``then=``, that user in as the app's own login), and waits for ``app.release`` before its answer (and the
    session with it) is saved; ``app.checked`` is set once checked.  Without ``password=``, the request's Basic
    header logs in (checked before the handler runs), and the session is kept."""
    app = users_app(make_app, users, **overrides)
    app.checked, app.release = threading.Event(), threading.Event()

    @app.get('/held-login')
    def held_login(password='', then=''):
        if password:
            logged_in = canister.log_in('alice', password)
        else:
            session.data['held'] = logged_in = session.user is not None
        if then:
            session.user = then
        app.checked.set()
        app.release.wait(30)
        return {'in': logged_in}

    return app


def unsalted(password: str) -> str:
    """A users file's unsalted hash of ``password`` (``sha256:``), whose login keeps no login line."""
    return 'sha256:' + hashlib.sha256(password.encode()).hexdigest()


def held_users_file_login(make_app, serve, users: pathlib.Path, query: str, change: str, clock, meanwhile=None,
                          headers=None, **overrides):
    """``held_login_app`` on ``users`` served, ``/held-login?<query>`` sent (with ``headers``) and held once
    checked against the file as it was, the file replaced by ``change`` and looked at twice (the changed users'
    sessions end), then ``meanwhile()`` if given, then the login let go on to be stored; its browser and its answer.
    ``overrides``: the app's configuration besides the users file."""
    app = held_login_app(make_app, users, **overrides)
    origin = serve(app)
    browser, answers = Browser(origin), []
    held = threading.Thread(target=lambda: answers.append(browser.get('/held-login?' + query, headers)))
    held.start()
    assert app.checked.wait(30)  # checked against the file as it was
    replace_file(users, change)
    look_twice(clock, Browser(origin))  # read anew, then at rest: the sessions of the users it changed end
    if meanwhile is not None:
        meanwhile()
    app.release.set()
    held.join(30)
    return browser, answers[0]


@pytest.mark.parametrize('change', ['new password', 'dropped'])
def test_an_unsalted_login_checked_before_a_change_that_ended_its_users_sessions_is_ended_when_saved(
        make_app, serve, tmp_path, log_dir, clock, change):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-password')))
    def alices_sessions_ended():  # (before this one is stored)
        assert 'ended 0 session(s) of 1 user(s)' in read_log(log_dir)

    thief, answer = held_users_file_login(
        make_app, serve, users, 'password=alice-password',
        ('alice:%s\n' % unsalted('reset-password') if change == 'new password' else '') + 'bob:%s\n' % unsalted('bob-password'),
        clock, alices_sessions_ended)

    assert answer.json() == {'in': True} and thief.sid
    assert thief.get('/me').status == 401
    assert ("ended: the users file dropped its user or changed their password while this login was checked, and "
            "ended that user's sessions") in read_log(log_dir)


@pytest.mark.parametrize('change', ['new password', 'dropped'])
def test_an_unsalted_basic_header_login_checked_before_a_change_that_ended_its_users_sessions_is_ended_when_saved(
        make_app, serve, tmp_path, log_dir, clock, change):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-password')))

    thief, answer = held_users_file_login(
        make_app, serve, users, '',
        ('alice:%s\n' % unsalted('reset-password') if change == 'new password' else '') + 'bob:%s\n' % unsalted('bob-password'),
        clock, headers={'Authorization': basic('alice', 'alice-password')})

    assert answer.json() == {'in': True} and thief.sid
    assert thief.get('/me').status == 401  # the cookie alone, the header no longer sent
    assert ("ended: the users file dropped its user or changed their password while this login was checked, and "
            "ended that user's sessions") in read_log(log_dir)


def test_an_unsalted_basic_header_login_checked_before_a_change_of_another_user_keeps_its_session(
        make_app, serve, tmp_path, log_dir, clock):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-password')))
    alice, answer = held_users_file_login(make_app, serve, users, '',
                                          'alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-reset')),
                                          clock, headers={'Authorization': basic('alice', 'alice-password')})

    assert answer.json() == {'in': True}
    answer = alice.get('/me')
    assert answer.status == 200 and answer.json() == {'user': 'alice'}


def test_an_unsalted_login_checked_before_a_change_of_another_user_keeps_its_session(
        make_app, serve, tmp_path, log_dir, clock):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-password')))
    alice, answer = held_users_file_login(make_app, serve, users, 'password=alice-password',
                                          'alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-reset')), clock)

    assert answer.json() == {'in': True}
    answer = alice.get('/me')
    assert answer.status == 200 and answer.json() == {'user': 'alice'}
    assert 'ended 0 session(s) of 1 user(s)' in read_log(log_dir)


def test_a_session_that_an_overtaken_unsalted_login_handed_to_another_user_in_the_same_request_stays(
        make_app, serve, tmp_path, clock):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\n' % unsalted('alice-password'))
    carol, answer = held_users_file_login(make_app, serve, users, 'password=alice-password&then=carol',
                                          'alice:%s\n' % unsalted('reset-password'), clock)

    assert answer.json() == {'in': True}
    answer = carol.get('/me')
    assert answer.status == 200 and answer.json() == {'user': 'carol'}


def salted(password: str) -> str:
    """A users file's salted hash of ``password`` (PBKDF2, cheap), whose login keeps a login line."""
    return canister.hash_password(password, iterations=1000)


@pytest.mark.parametrize('how', ['form', 'basic header'])
@pytest.mark.parametrize('change', ['new password', 'dropped'])
def test_a_salted_login_checked_before_a_change_that_ended_its_users_sessions_leaves_no_session_when_saved(
        make_app, serve, store_url, tmp_path, log_dir, clock, change, how):
    """Its line, the old password's, would end it at its next use; until then it was listed among the user's
    sessions (``sessions_of``, the cap) although the change had ended them all."""
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (salted('alice-password'), salted('bob-password')))
    bob = line_of(users, 'bob')

    thief, answer = held_users_file_login(
        make_app, serve, users, 'password=alice-password' if how == 'form' else '',
        ('alice:%s\n' % salted('reset-password') if change == 'new password' else '') + bob, clock,
        headers={'Authorization': basic('alice', 'alice-password')} if how == 'basic header' else None,
        session_store=store_url)

    assert answer.json() == {'in': True}
    assert answer.new_sid is None and thief.sid is None, answer  # no cookie: the session it stored is ended
    assert "its user's sessions were ended (end_sessions, or a change of the users file)" in read_log(log_dir)


def test_a_salted_login_with_the_new_password_checked_while_the_change_ended_the_old_sessions_keeps_its_session(
        make_app, serve, tmp_path, log_dir, clock):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\n' % salted('alice-password'))
    app = held_login_app(make_app, users)
    origin = serve(app)
    browser, answers = Browser(origin), []
    replace_file(users, 'alice:%s\n' % salted('reset-password'))
    clock.advance(2)  # read anew at the login's look: it ends alice's sessions but the new line's, and notes it
    held = threading.Thread(target=lambda: answers.append(browser.get('/held-login?password=reset-password')))
    held.start()
    assert app.checked.wait(30)
    clock.advance(2)
    Browser(origin).get('/me')  # at rest now: the settle ends alice's sessions but those of the new line
    app.release.set()
    held.join(30)

    assert answers[0].json() == {'in': True} and browser.sid, answers[0]
    assert browser.get('/me').json() == {'user': 'alice'}


def test_the_users_file_keeps_no_memory_of_the_users_each_change_ended_once_no_login_is_in_its_check(
        make_app, tmp_path, clock):
    """Each change notes whose sessions it ended, for the unsalted logins still in their check; with none in
    its check the notes go: a file whose thousand users change again and again holds no more memory.  (The
    store keeps a note per user for a minute too, for the logins under way in other processes: the changes
    here come a minute apart.)"""
    users = tmp_path / 'users.txt'

    def change(number):  # a thousand users, all new each time (those before dropped)
        clock.advance(canister._MOVED_TTL)
        replace_file(users, ''.join('u%d-%d:%s\n' % (number, user, unsalted('pw')) for user in range(1000)))
        for _ in range(2 if number else 0):  # read anew, then at rest: the sessions of the thousand dropped end
            clock.advance(2)
            web.get('/me', status=401)

    change(0)
    web = client(users_app(make_app, users))
    tracemalloc.start()
    try:
        for number in range(1, 3):
            change(number)
        before = canister_bytes()
        for number in range(3, 8):
            change(number)
        grown = canister_bytes() - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, grown


def test_an_unsalted_basic_header_sent_again_on_a_logged_in_session_during_a_change_leaves_it_ended(
        make_app, serve, tmp_path, log_dir, clock):
    # A repeat of the header on a session already alice's is no new login: the change ends that session,
    # and this request's save, of a session ended meanwhile, stores nothing.
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (unsalted('alice-password'), unsalted('bob-password')))
    header = {'Authorization': basic('alice', 'alice-password')}
    app = held_login_app(make_app, users)
    origin = serve(app)
    browser = Browser(origin)
    assert browser.get('/me', header).status == 200 and browser.sid
    answers = []
    held = threading.Thread(target=lambda: answers.append(browser.get('/held-login', header)))
    held.start()
    assert app.checked.wait(30)
    replace_file(users, 'bob:%s\n' % unsalted('bob-password'))
    look_twice(clock, Browser(origin))
    app.release.set()
    held.join(30)
    assert answers[0].json() == {'in': True}
    assert browser.get('/me').status == 401


def test_an_unsalted_basic_header_on_every_request_of_a_session_leaves_no_garbage_cycle_per_request(
        make_app, tmp_path, log_dir):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\n' % unsalted('alice-password'))
    web = client(users_app(make_app, users))
    header = {'Authorization': basic('alice', 'alice-password')}
    web.get('/me', headers=header)
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            assert web.get('/me', headers=header).json == {'user': 'alice'}
        found = gc.collect()  # objects only the collector could free
    finally:
        gc.enable()
    assert found < 50


def test_a_change_of_the_users_file_noted_after_end_sessions_keeps_what_end_sessions_ended(
        make_app, serve, tmp_path, log_dir, clock):
    # Two apps on one store and one users file (as two processes are): a login of the first, checked with
    # the new password (settled there), held; the admin's end_sessions; then the second app's look settles
    # the same change, noting the new line as spared: the end_sessions of the moment before still ends it.
    users, store = tmp_path / 'users.txt', sqlite_url(tmp_path / 'sessions.db')
    users.write_text('alice:%s\n' % canister.hash_password('old-password', iterations=1000))
    app = held_login_app(make_app, users, session_store=store)
    other = serve(users_app(make_app, users, session_store=store))
    origin = serve(app)
    clock.advance(2)
    replace_file(users, 'alice:%s\n' % canister.hash_password('new-password', iterations=1000))
    browser, answers = Browser(origin), []
    held = threading.Thread(target=lambda: answers.append(browser.get('/held-login?password=new-password')))
    held.start()
    assert app.checked.wait(30)
    clock.advance(0.5)
    plugin_of(app).end_sessions('alice')
    look_twice(clock, Browser(other))  # the other app settles the change
    app.release.set()
    held.join(30)
    assert answers[0].json() == {'in': True}
    assert browser.get('/me').status == 401


@pytest.mark.parametrize('other_goes', ['uninstalled', 'dropped'])
def test_a_mounted_apps_login_still_ends_when_another_app_of_the_same_users_file_goes_away(
        tmp_path, clock, uninstall_at_end, other_goes):
    """Another app of the process reads the child's users file too, installed after it, then uninstalled (or
    dropped without an uninstall): the parent's canister, without a users file, still checks the child's logins
    against that file, which the child still reads."""
    _, child_file, web = mounted_with_users(tmp_path, uninstall_at_end, None,
                                            {'carol': 'carol-password', 'dave': 'dave-password'},
                                            store=FourMethodStore())
    other = bottle.Bottle()
    other.install(canister.Canister(log_path=str(tmp_path / 'other'), auth_basic_users_file=str(child_file)))
    if other_goes == 'uninstalled':
        other.uninstall(True)
    del other
    gc.collect()
    carol = client(web.app)
    assert carol.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json == {'user': 'carol'}

    replace_file(child_file, line_of(child_file, 'dave'))
    for _ in range(2):  # the child's looks at its file: read anew, then at rest (the store cannot list: no end)
        clock.advance(2)
        client(web.app).get('/a/me', status=401)

    carol.get('/me', status=401)


def test_two_apps_of_one_users_file_uninstalled_at_once_from_two_threads_both_uninstall(
        tmp_path, frequent_switches, uninstall_at_end):
    """Each uninstall takes its reading of the file out of the process's list of readers, which the other's
    looks through for one to hand the file's logins to: done without a lock, the look could fail (``RuntimeError:
    Set changed size during iteration``, more likely the longer the list: 300 apps read another file here)."""
    users = write_users(tmp_path / 'users.txt', carol='carol-password')
    others = write_users(tmp_path / 'others.txt', dave='dave-password')
    for _ in range(300):
        uninstall_at_end(bottle.Bottle()).install(canister.Canister(log_path=str(tmp_path),
                                                                    auth_basic_users_file=str(others)))
    for _ in range(50):
        apps = [bottle.Bottle() for _ in range(2)]
        for app in apps:
            app.install(canister.Canister(log_path=str(tmp_path), auth_basic_users_file=str(users)))
        at_once([lambda app=app: app.uninstall(True) for app in apps])  # (fails the test if one raised)
