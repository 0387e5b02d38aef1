"""A child app with a canister of its own, mounted or merged into a parent that has one too ("On both" in the
README, "Mounted and merged apps"): the parent's canister serves the child's requests with its settings, so the
settings the child's canister was given that differ from the parent's are named in one WARNING of the parent's log,
and every line of such a request, the child's login and parameter lines included, is in the parent's log.
"""
from __future__ import annotations

import os
import pathlib
from typing import Any, Callable, List, Tuple

import bottle
import pytest

import canister
from canister import session
from helpers import (APP_ORIGIN, basic, bearer, claims, client, compose_child, jwk, preflight, read_log, readme_section,
                     sqlite_url, warning_lines, write_users)

compositions = pytest.mark.parametrize('composition', ['mount', 'merge'])

#: The start of the WARNING that names the child's settings the parent's canister does not apply.
NOT_APPLIED = 'A child app mounted or merged into this one has a canister of its own'


@pytest.fixture
def on_both(tmp_path: pathlib.Path) -> Any:
    """on_both(composition, **child_settings) -> (parent app, prefix of the child's routes, the child app): a child
    with its own canister (logging to tmp_path/child) put into a parent with a default canister (tmp_path/parent)."""
    apps: List[bottle.Bottle] = []

    def build(composition: str, **child_settings: Any) -> Tuple[bottle.Bottle, str, bottle.Bottle]:
        child = bottle.Bottle()
        child.install(canister.Canister(**dict({'log_path': str(tmp_path / 'child')}, **child_settings)))
        apps.append(child)

        @child.route('/api/items', method=['GET', 'POST'])
        def items() -> Any:
            return {'items': [1, 2]}

        parent = bottle.Bottle()
        parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
        apps.append(parent)
        if composition == 'mount':
            parent.mount('/shop/', child)
            return parent, '/shop', child
        parent.merge(child)
        return parent, '', child

    yield build
    for app in apps:
        app.uninstall(True)


def not_applied(log_dir: pathlib.Path) -> List[str]:
    """The WARNINGs of a log that name a child's settings the parent does not apply, from their message on."""
    return [line.split('] ', 1)[1].strip() for line in warning_lines(log_dir) if NOT_APPLIED in line]


def named(warning: str) -> List[str]:
    """The settings such a WARNING names."""
    return warning.split('differ from the child\'s in: ', 1)[1].split(';')[0].split(' (')[0].split(', ')


# -- the child's own settings ---------------------------------------------------------------------

@compositions
def test_the_childs_own_cors_csrf_frame_and_store_settings_are_named_in_one_warning_of_the_parents_log(
        on_both, tmp_path, composition):
    parent, prefix, _ = on_both(composition, cors=APP_ORIGIN, csrf=False, x_frame_options='SAMEORIGIN',
                                session_store=sqlite_url(tmp_path / 'api_sessions.db'))
    web = client(parent)
    for _ in range(3):
        answer = web.get(prefix + '/api/items', headers={'Origin': APP_ORIGIN})
    assert answer.headers['X-Frame-Options'] == 'DENY'                                      # the parent's
    assert web.post_json(prefix + '/api/items', {}, headers={'Origin': APP_ORIGIN}, status=403)   # the parent's CSRF
    assert preflight(web, prefix + '/api/items', method='POST').status_int == 405            # the parent has no CORS
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 1
    assert named(warned[0]) == ['cors', 'csrf', 'log_path', 'session_store', 'x_frame_options']
    assert "this app's canister serves the requests of the child (its routes, such as GET %s/api/items) with its own " \
           "settings" % prefix in warned[0]
    assert "(the child's session store is opened all the same, and keeps none of their sessions)" in warned[0]
    assert warned[0].endswith('set them on the canister of this app, or mount the child into a Bottle app without '
                              'canister')
    assert not_applied(tmp_path / 'child') == []


@compositions
def test_the_childs_settings_the_parent_shares_and_its_login_settings_are_not_named(on_both, tmp_path, composition):
    parent, prefix, _ = on_both(composition, csrf=True, x_frame_options='SAMEORIGIN', auth_realm='shop',
                                auth_basic_username='alice', auth_basic_password='sesame',
                                auth_basic_encryption='clear')
    assert client(parent).get(prefix + '/api/items').headers['X-Frame-Options'] == 'DENY'
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 1 and named(warned[0]) == ['log_path', 'x_frame_options']
    assert "session store" not in warned[0]


@compositions
def test_a_child_given_the_parents_settings_or_none_logs_no_such_warning(on_both, tmp_path, composition):
    parent, prefix, _ = on_both(composition, csrf=True, log_path=str(tmp_path / 'parent'), auth_basic_username='alice',
                                auth_basic_password='sesame', auth_basic_encryption='clear')
    client(parent).get(prefix + '/api/items')
    assert not_applied(tmp_path / 'parent') == []


@compositions
def test_the_warning_is_said_once_for_each_child_app(tmp_path, composition):
    parent = bottle.Bottle()
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
    children = []
    for name in ('a', 'b'):
        child = bottle.Bottle()
        child.install(canister.Canister(log_path=str(tmp_path / name), x_frame_options='SAMEORIGIN'))
        child.route('/%s/one' % name, callback=lambda: 'one')
        child.route('/%s/two' % name, callback=lambda: 'two')
        children.append(child)
        if composition == 'mount':
            parent.mount('/m%s/' % name, child)
        else:
            parent.merge(child)
    try:
        web = client(parent)
        for name, route in (('a', 'one'), ('a', 'two'), ('b', 'one'), ('b', 'two'), ('a', 'one')):
            web.get('%s/%s/%s' % ('/m' + name if composition == 'mount' else '', name, route))
    finally:
        for app in children + [parent]:
            app.uninstall(True)
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 2
    prefix = '/ma' if composition == 'mount' else ''
    assert '(its routes, such as GET %s/a/one)' % prefix in warned[0]


@compositions
def test_the_warning_is_in_the_parents_log_at_the_mount_or_merge_before_any_request(on_both, tmp_path, composition):
    # (it used to wait for the first request of one of the child's routes, which may come long after startup)
    on_both(composition, x_frame_options='SAMEORIGIN')
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 1 and named(warned[0]) == ['log_path', 'x_frame_options']
    assert '(its routes, such as GET %s/api/items)' % ('/shop' if composition == 'mount' else '') in warned[0]


@compositions
def test_a_child_put_in_before_the_parents_canister_is_installed_is_named_at_the_install(
        tmp_path, composition, uninstall_at_end):
    child = uninstall_at_end(bottle.Bottle())
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), csrf=False))
    child.route('/api/items', callback=lambda: 'items')
    parent = bottle.Bottle()
    compose_child(parent, child, composition)
    uninstall_at_end(parent).install(canister.Canister(log_path=str(tmp_path / 'parent')))
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 1 and named(warned[0]) == ['csrf', 'log_path']
    client(parent).get('/a/api/items' if composition == 'mount' else '/api/items')
    assert len(not_applied(tmp_path / 'parent')) == 1


@compositions
def test_a_child_given_its_canister_after_the_mount_or_merge_is_named_only_by_bottle_012s_mount(
        tmp_path, composition, uninstall_at_end):
    child = uninstall_at_end(bottle.Bottle())
    child.route('/api/items', callback=lambda: 'items')
    parent = uninstall_at_end(bottle.Bottle())
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
    prefix = compose_child(parent, child, composition)
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), x_frame_options='SAMEORIGIN'))
    assert not_applied(tmp_path / 'parent') == []
    client(parent).get(prefix + '/api/items')
    # (the child's install resets its routes: gone, the stand-in that would look at the first request; on bottle
    # 0.12 the mount point's own looks at the child's routes then, and its canister is handed the request)
    assert len(not_applied(tmp_path / 'parent')) == (1 if composition == 'mount' and bottle.__version__ < '0.13' else 0)


@pytest.mark.parametrize('composition', ['mount_wsgi', 'mount_copy', 'mount_entry'])
def test_a_child_mounted_as_a_plain_wsgi_callable_is_named_in_the_parents_log_at_its_first_request(
        tmp_path, composition, uninstall_at_end):
    """Mounted as a WSGI callable (inside middleware, or its own ``child.wsgi``), the child is nothing the parent's
    canister can see at the mount: the child's canister, handed the request the parent's serves, has it said there."""
    child = uninstall_at_end(bottle.Bottle())
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), x_frame_options='SAMEORIGIN'))
    child.route('/api/items', callback=lambda: 'items')
    child.route('/api/other', callback=lambda: 'other')
    parent = uninstall_at_end(bottle.Bottle())
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
    if composition == 'mount_entry':
        parent.mount('/a/', child.wsgi)
    else:
        compose_child(parent, child, composition)
    assert not_applied(tmp_path / 'parent') == []
    web = client(parent)
    for path in ('/a/api/other', '/a/api/items', '/a/api/other'):
        assert web.get(path).headers['X-Frame-Options'] == 'DENY'  # the parent's
    warned = not_applied(tmp_path / 'parent')
    assert len(warned) == 1 and named(warned[0]) == ['log_path', 'x_frame_options']
    assert '(its routes, such as GET /a/api/items)' in warned[0]
    assert not_applied(tmp_path / 'child') == []


# -- one request, one log -------------------------------------------------------------------------

@pytest.fixture
def split_log_app(tmp_path: pathlib.Path) -> Any:
    """split_log_app(composition, **parent_settings) -> (parent app, prefix of the child's routes): a child whose
    canister checks Basic (alice:sesame) and logs to tmp_path/child, in a parent whose canister logs to
    tmp_path/parent."""
    apps: List[bottle.Bottle] = []

    def build(composition: str, **parent_settings: Any) -> Tuple[bottle.Bottle, str]:
        child = bottle.Bottle()
        child.install(canister.Canister(log_path=str(tmp_path / 'child'), auth_basic_username='alice',
                                        auth_basic_password='sesame', auth_basic_encryption='clear'))
        apps.append(child)

        @child.get('/c/me')
        @canister.require_user
        def me() -> str:
            return 'me=%s' % session.user

        @child.get('/c/n')
        def number(k: int) -> str:
            return str(k)

        @child.post('/c/login')
        def login(username: str, password: str) -> str:
            return 'in' if canister.log_in(username, password) else 'out'

        @child.get('/c/boom')
        def boom() -> str:
            raise ZeroDivisionError('child handler failed')

        parent = bottle.Bottle()
        parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), **parent_settings))
        apps.append(parent)
        if composition == 'mount':
            parent.mount('/shop/', child)
            return parent, '/shop'
        parent.merge(child)
        return parent, ''

    yield build
    for app in apps:
        app.uninstall(True)


def request_lines(log_dir: pathlib.Path) -> List[str]:
    """The messages of a log's lines written while serving a request (not its install banner, nor the WARNING
    that names the child's settings)."""
    return [line.split('] ', 1)[1].strip() for line in read_log(log_dir).splitlines()
            if '] ' in line and '[MainThread]' not in line and NOT_APPLIED not in line]


def lines_of(request: Callable[[], Any], log_dir: pathlib.Path) -> List[str]:
    """The request lines ``request()`` adds to the log of ``log_dir``."""
    before = len(request_lines(log_dir))
    request()
    return request_lines(log_dir)[before:]


@compositions
def test_a_basic_login_on_the_childs_route_is_logged_with_its_request_in_the_parents_log(
        split_log_app, tmp_path, composition):
    parent, prefix = split_log_app(composition)
    web = client(parent)
    logged = lines_of(lambda: web.get(prefix + '/c/me', headers={'Authorization': basic('alice', 'sesame')}),
                      tmp_path / 'parent')
    assert [line.split(' http')[0] for line in logged] == ['GET', 'Logged in as: alice', 'Response: 200 (%s' %
                                                           logged[-1].split('(', 1)[1]]
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_a_wrong_password_on_the_childs_route_is_logged_in_the_parents_log(split_log_app, tmp_path, composition):
    parent, prefix = split_log_app(composition)
    web = client(parent)
    logged = lines_of(lambda: web.get(prefix + '/c/me', headers={'Authorization': basic('alice', 'wrong')},
                                      status=401), tmp_path / 'parent')
    assert "Authentication failed: wrong password for 'alice'" in logged
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_a_bad_parameter_of_the_childs_route_is_logged_in_the_parents_log(split_log_app, tmp_path, composition):
    parent, prefix = split_log_app(composition)
    logged = lines_of(lambda: client(parent).get(prefix + '/c/n?k=x', status=400), tmp_path / 'parent')
    assert "Bad request: parameter 'k' must be an integer, got 'x'" in logged
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_a_form_login_in_the_childs_handler_is_logged_in_the_parents_log(split_log_app, tmp_path, composition):
    parent, prefix = split_log_app(composition)
    web = client(parent)
    logged = lines_of(lambda: web.post(prefix + '/c/login', {'username': 'alice', 'password': 'sesame'}),
                      tmp_path / 'parent')
    assert 'Logged in as: alice' in logged
    logged = lines_of(lambda: web.post(prefix + '/c/login', {'username': 'alice', 'password': 'nope'}),
                      tmp_path / 'parent')
    assert "Authentication failed: wrong password for 'alice'" in logged
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_the_503_of_the_parents_session_store_found_down_on_the_childs_route_is_logged_in_the_parents_log(
        split_log_app, tmp_path, composition, redis_server):
    parent, prefix = split_log_app(composition, session_store=redis_server.url)
    web = client(parent)
    assert web.post(prefix + '/c/login', {'username': 'alice', 'password': 'sesame'}).text == 'in'
    redis_server.stop()
    logged = lines_of(lambda: web.get(prefix + '/c/me', status=503), tmp_path / 'parent')
    assert [line.split(': Error ')[0] for line in logged] == [
        'GET http://localhost:80%s/c/me' % prefix, 'the Redis session store is unavailable', 'Response: 503 (%s' %
        logged[-1].split('(', 1)[1]]
    assert [line.split(': Error ')[0].split('] ', 1)[1].strip() for line in read_log(tmp_path / 'parent').splitlines()
            if ' ERROR ' in line and 'Response: ' not in line] == ['the Redis session store is unavailable']
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_an_exception_in_the_childs_handler_is_logged_in_the_parents_log(split_log_app, tmp_path, composition):
    parent, prefix = split_log_app(composition)
    logged = lines_of(lambda: client(parent).get(prefix + '/c/boom', status=500, expect_errors=True), tmp_path / 'parent')
    assert [line for line in logged if line.startswith('Unhandled exception in GET ')] == [
        'Unhandled exception in GET %s/c/boom' % (prefix if composition == 'mount' and bottle.__version__ >= '0.13'
                                                 else '')]
    assert 'child handler failed' not in read_log(tmp_path / 'child')


def child_in_parent(composition: str, tmp_path: pathlib.Path, **child_settings: Any) -> Tuple[bottle.Bottle, str]:
    """(parent app, prefix of the child's routes): a child whose canister has ``child_settings`` and logs to
    tmp_path/child, its GET /c/me answering the user (401 without one) and its POST /c/login logging one in with
    ``canister.log_in``, in a parent logging to tmp_path/parent."""
    child = bottle.Bottle()
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), **child_settings))

    @child.get('/c/me')
    @canister.require_user
    def me() -> Any:
        return {'user': session.user}

    @child.post('/c/login')
    def login(username: str, password: str) -> Any:
        return {'in': canister.log_in(username, password)}

    parent = bottle.Bottle()
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
    if composition == 'mount':
        parent.mount('/shop/', child)
        return parent, '/shop'
    parent.merge(child)
    return parent, ''


@compositions
def test_the_childs_users_file_change_is_logged_in_the_parents_log_with_the_sessions_it_ended_in_the_parents_store(
        tmp_path, composition, clock, uninstall_at_end):
    users = write_users(tmp_path / 'users.txt', alice='a-pw', bob='b-pw')
    parent, prefix = child_in_parent(composition, tmp_path, auth_basic_users_file=str(users))
    uninstall_at_end(parent)
    web = client(parent)
    assert web.post(prefix + '/c/login', {'username': 'alice', 'password': 'a-pw'}).json == {'in': True}
    assert web.get(prefix + '/c/me').json == {'user': 'alice'}  # (her session, in the parent's store)
    (tmp_path / 'users.new').write_text(next(line for line in users.read_text().splitlines(True)
                                             if line.startswith('bob:')))
    os.replace(tmp_path / 'users.new', users)  # alice dropped
    logged: List[str] = []
    for _ in range(2):  # (a look reads the file anew, one finds it at rest: at requests of another client)
        clock.advance(2)
        logged += lines_of(lambda: client(parent).get(prefix + '/c/me', status=401), tmp_path / 'parent')
    assert [line for line in logged if line.startswith('Users file ')] == [
        'Users file %s changed: ended 1 session(s) of 1 user(s) it dropped or gave another password' % users]
    assert web.get(prefix + '/c/me', expect_errors=True).status_int == 401
    assert request_lines(tmp_path / 'child') == []


@compositions
def test_the_childs_download_of_jwks_keys_for_a_request_is_logged_in_the_parents_log(
        tmp_path, composition, rsa_key, jwks_server, uninstall_at_end):
    import jwt
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    parent, prefix = child_in_parent(composition, tmp_path, auth_jwt_jwks_url=jwks_server.url)
    uninstall_at_end(parent)
    token = jwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    logged = lines_of(lambda: client(parent).get(prefix + '/c/me', headers=bearer(token)), tmp_path / 'parent')
    assert "Fetched 1 signing keys from the JWKS URL; kids: 'key-1'" in logged
    assert request_lines(tmp_path / 'child') == []


# -- the README ---------------------------------------------------------------------------------

def test_the_readme_says_what_the_parent_logs_of_the_childs_own_settings_and_where_its_lines_go():
    section = readme_section('## Mounted and merged apps')
    both = section.split('- **On both**', 1)[1].split('\n- ', 1)[0]
    assert ('the settings the child\'s canister was given that differ from the parent\'s are named in one WARNING '
            'of the parent\'s log') in both
    assert ('`%s, whose settings do not apply here' % NOT_APPLIED) in both
    assert "Every line of a request of the child's, its login and its parameters' included, is in the parent's " \
           "log" in both
    assert ("named in one WARNING of the parent's log (once per child app, on bottle 0.12 and 0.13). It comes at the "
            "`mount` or `merge`, or at the install of the parent's canister for a child put in before it.") in both
    assert ("A child given its canister after its `mount` or `merge` is named only on bottle 0.12's `mount`, at its "
            "first request") in both
    assert ("A child mounted as a plain WSGI callable (`parent.mount('/c/', child.wsgi)`, or inside WSGI middleware), "
            "which the parent cannot see into, is named at its first request: its canister, handed the request the "
            "parent's serves, has the parent's log say it then") in both
