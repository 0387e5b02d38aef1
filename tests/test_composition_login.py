"""A child app with a canister of its own, mounted or merged into a parent that has one too: the
child's routes log in with the child's credentials, whichever way they are checked.

The child's canister checks the ``Authorization`` header on its routes ("On both" in the README);
``canister.log_in`` (a login form) and the 401 of ``canister.require_user`` follow the same
canister, not the parent's, which does the request's other work.
"""
from __future__ import annotations

from typing import Any, Dict

import bottle
import pytest

import canister
from canister import session
from helpers import basic, client, compose_child, read_log

CHILD_USERS = {'auth_basic_username': 'carol', 'auth_basic_password': 'sesame', 'auth_basic_encryption': 'clear'}
PARENT_USERS = {'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland', 'auth_basic_encryption': 'clear'}


@pytest.fixture
def composed(tmp_path, request):
    """composed(composition, parent_config) -> (parent app, path prefix of the child's routes)."""
    installed = []

    def build(composition: str, parent_config: Dict[str, Any], **child_config: Any):
        child = bottle.Bottle()
        child.install(canister.Canister(log_path=str(tmp_path / 'child'), **CHILD_USERS, **child_config))
        installed.append(child)

        @child.post('/login')
        def login(username: str = '', password: str = '') -> str:
            if not canister.log_in(username, password):
                bottle.abort(401, 'wrong user name or password')
            return 'user=%s' % session.user

        @child.get('/private')
        @canister.require_user
        def private() -> str:
            return 'user=%s' % session.user

        @child.post('/skipped_login', skip=['canister'])
        def skipped_login() -> str:
            return 'user=%s' % session.user if canister.log_in(bottle.request.forms.username,
                                                              bottle.request.forms.password) else 'refused'

        @child.get('/skipped', skip=['canister'])
        @canister.require_user
        def skipped() -> str:
            return 'user=%s' % session.user

        parent = bottle.Bottle()
        prefix = compose_child(parent, child, composition)
        parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), **parent_config))
        installed.append(parent)
        return parent, prefix

    yield build
    for app in installed:
        app.uninstall(True)


compositions = pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy', 'merge'])


@compositions
@pytest.mark.parametrize('parent_users', [False, True], ids=['parent-without-users', 'parent-with-users'])
def test_a_login_form_of_the_child_checks_the_childs_users(composed, composition, parent_users):
    parent, prefix = composed(composition, PARENT_USERS if parent_users else {})
    web = client(parent)

    assert web.post(prefix + '/login', {'username': 'alice', 'password': 'wonderland'}, status=401)
    res = web.post(prefix + '/login', {'username': 'carol', 'password': 'sesame'})
    assert res.text == 'user=carol'
    assert web.get(prefix + '/private').text == 'user=carol'


@compositions
def test_the_401_of_a_childs_guarded_route_challenges_with_the_childs_scheme(composed, composition):
    """The parent has no scheme configured; the child has Basic, which its routes accept."""
    parent, prefix = composed(composition, {})
    web = client(parent)

    refused = web.get(prefix + '/private', status=401)
    assert refused.headers['WWW-Authenticate'].startswith('Basic realm='), refused.headers
    assert web.get(prefix + '/private', headers={'Authorization': basic('carol', 'sesame')}).text == 'user=carol'


@compositions
def test_the_401_of_a_guarded_child_route_that_skips_canister_challenges_with_the_childs_scheme_it_checks(
        composed, composition):
    """The guard of a route that skips the child's canister logs in with the child's Basic: its 401 asks for it,
    not for the parent's schemes (none here: the parent's challenge would be its Session one)."""
    parent, prefix = composed(composition, {})
    web = client(parent)

    refused = web.get(prefix + '/skipped', status=401)
    assert refused.headers.getall('WWW-Authenticate') == ['Basic realm="canister", charset="UTF-8"']
    assert web.get(prefix + '/skipped', headers={'Authorization': basic('carol', 'sesame')}).text == 'user=carol'


@compositions
def test_a_login_form_on_a_child_route_that_skips_canister_checks_the_childs_users(composed, composition):
    parent, prefix = composed(composition, PARENT_USERS)
    web = client(parent)

    assert web.post(prefix + '/skipped_login', {'username': 'alice', 'password': 'wonderland'}).text == 'refused'
    assert web.post(prefix + '/skipped_login', {'username': 'carol', 'password': 'sesame'}).text == 'user=carol'


@compositions
def test_a_login_form_of_the_child_is_throttled_by_the_childs_auth_max_failures(composed, composition):
    """The parent allows 10 failures (the default), the child 2: the child's count locks the client out."""
    parent, prefix = composed(composition, PARENT_USERS, auth_max_failures=2)
    web = client(parent)

    statuses = [web.post(prefix + '/login', {'username': 'carol', 'password': 'guess'}, expect_errors=True).status_int
                for _ in range(4)]
    assert statuses == [401, 401, 429, 429]


@compositions
def test_the_guard_of_a_child_without_canister_checks_the_credentials_the_parents_401_challenges_for(
        tmp_path, uninstall_at_end, composition):
    # (the parent's canister checks Authorization on its own routes only: the guard's 401 challenged for the
    # parent's Basic, the right password was refused with the same challenge, and a browser asked for ever)
    child = bottle.Bottle()

    @child.get('/private')
    @canister.require_user
    def private() -> str:
        return 'user=%s' % session.user

    parent = bottle.Bottle()
    prefix = compose_child(parent, child, composition)
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), auth_max_failures=1, **PARENT_USERS))
    web = client(uninstall_at_end(parent))

    challenge = 'Basic realm="canister", charset="UTF-8"'
    assert web.get(prefix + '/private', status=401).headers.getall('WWW-Authenticate') == [challenge]
    assert web.get(prefix + '/private', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'
    assert 'Logged in as: alice' in read_log(tmp_path / 'parent')
    wrong = client(parent).get(prefix + '/private', headers={'Authorization': basic('alice', 'guess')}, status=401)
    assert wrong.headers.getall('WWW-Authenticate') == [challenge] and 'Authentication failed' in wrong.text
    client(parent).get(prefix + '/private', headers={'Authorization': basic('alice', 'guess')}, status=429)
