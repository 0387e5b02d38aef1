"""Attack review 20b: two requests at once, sessions and logins.

A users-file login whose user the file dropped is ended at the session's next use.  That check
compared the login with this process's last reading of the file, which only a route's look (at
most once a second, before the handler) brought up to date: a session read with no route (an
error page) or on the routes of the app a users-file app is mounted in (which never look at the
child's file) was judged against a file read long ago, and served its old user.  (A route's look
ends such sessions in the store, the request's own too: a before_request hook is covered.)
Real waitress servers and every store; the file changes as a deployment changes it.
"""
from __future__ import annotations

import gc
import os
import pathlib
import time

import bottle
import pytest
import canister
from canister import session
from helpers import basic, compose_child, write_users
from servers import AppServer, Client
from session_kit import Browser


def replace_users(path: pathlib.Path, **passwords: str) -> None:
    """Put a new users file in place of ``path`` (a rename, as a deployment does), and let it come to rest:
    canister ends nobody by a file changed less than a second ago, which may be half-written."""
    write_users(path.with_suffix('.new'), **passwords)
    os.replace(path.with_suffix('.new'), path)
    time.sleep(1.1)


def add_me(app: bottle.Bottle) -> None:
    """GET /me: the user, 401 for nobody (the session kept, as a browser's after a Basic login)."""
    @app.get('/me')
    @canister.require_user
    def me():
        session.data['seen'] = True
        return {'user': session.user}


def test_a_session_an_error_page_reads_is_nobody_once_the_users_file_dropped_its_user(make_app, serve, store_url, tmp_path):
    """A 404 is answered before any route runs, so before any route's look at the file."""
    users = write_users(tmp_path / 'users.txt', carol='carol-password', dave='dave-password')
    app = make_app(session_store=store_url, auth_basic_users_file=str(users))
    add_me(app)

    @app.error(404)
    def not_found(error):
        return 'Not here, %s' % (session.user or 'stranger')

    origin = serve(app)
    thief = Browser(origin)
    assert thief.get('/me', headers={'Authorization': basic('carol', 'carol-password')}).json() == {'user': 'carol'}

    replace_users(users, dave='dave-password')  # carol's password leaked: the admin takes her out
    answer = thief.get('/nowhere')

    assert answer.status == 404 and answer.text == 'Not here, stranger', answer
    assert thief.get('/me').status == 401


def carol_on_a_mounted_app(serve, tmp_path, uninstall_at_end, **parent_config):
    """A parent without a users file, a child mounted at /a/ with one (carol and dave), both served with /me;
    the users file, and a browser that carol logged in on the child's route."""
    users = write_users(tmp_path / 'users.txt', carol='carol-password', dave='dave-password')
    child, parent = bottle.Bottle(), bottle.Bottle()
    add_me(child)
    add_me(parent)
    compose_child(parent, child, 'mount')
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), auth_basic_users_file=str(users)))
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), **parent_config))
    uninstall_at_end(child)
    thief = Browser(serve(uninstall_at_end(parent)))
    assert thief.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json() == {'user': 'carol'}
    return users, thief


def test_a_mounted_apps_login_used_only_on_the_parents_routes_ends_once_the_childs_users_file_drops_the_user(
        serve, store_url, tmp_path, uninstall_at_end):
    users, thief = carol_on_a_mounted_app(serve, tmp_path, uninstall_at_end, session_store=store_url)
    assert thief.get('/me').json() == {'user': 'carol'}

    replace_users(users, dave='dave-password')
    for _ in range(3):  # the thief keeps off the child's routes, whose looks at its file would end the session
        answer = thief.get('/me')
        assert answer.status == 401, answer
        time.sleep(0.5)
    assert thief.get('/a/me').status == 401


def test_a_mounted_apps_login_used_only_on_the_parents_routes_ends_in_every_worker_sharing_a_redis_store(
        redis_server, tmp_path):
    users = write_users(tmp_path / 'users.txt', carol='carol-password', dave='dave-password')
    with AppServer('mounted_users_app:app', workers=2, env={
            'CANISTER_SESSION_STORE': redis_server.url, 'CANISTER_LOG_PATH': str(tmp_path / 'logs'),
            'MOUNTED_USERS_FILE': str(users)}) as server:
        thief = Client(server.url)
        assert thief.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json()['user'] == 'carol'
        workers, deadline = set(), time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:  # (each request on a connection of its own)
            workers.add(thief.get('/me').json()['pid'])
        assert len(workers) == 2, 'one worker served every request: the test shows nothing'

        replace_users(users, dave='dave-password')
        answers = [thief.get('/me').status for _ in range(6)]

    assert answers == [401] * 6


def test_a_failed_install_naming_the_same_users_file_leaves_the_mounted_apps_logins_judged_by_it(
        serve, tmp_path, uninstall_at_end):
    """A second install that names the file while it is malformed fails, and must not take the file's place
    in the registry the parent's canister asks (the failed reading is dropped, and the name then answers nobody)."""
    users, thief = carol_on_a_mounted_app(serve, tmp_path, uninstall_at_end)

    good = users.read_bytes()
    users.write_bytes(good + b'erin:\xff\n')  # (not UTF-8: the file cannot be read)
    with pytest.raises(canister.ConfigError):
        bottle.Bottle().install(canister.Canister(log_path=str(tmp_path / 'other'), auth_basic_users_file=str(users)))
    gc.collect()
    users.write_bytes(good)
    replace_users(users, dave='dave-password')
    assert thief.get('/me').status == 401
