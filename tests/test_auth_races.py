"""Two requests at once about authentication state, on a real server and on every store.

* the login throttle: a login held inside its password check while another of the same client
  runs (a success and a failure at once with ``auth_max_failures = 1``; the client's window
  ending while the success is checked);
* the Basic users file read half-written (``cat > users.txt``) between two requests of a script;
* a user the users file drops while a request of theirs runs; a password changed, and the user's
  sessions ended, by an admin's request while another browser logs in with the old one;
* the provider's keys (JWKS): a key it drops goes without a token of a new kid; what a session
  logged in with it keeps.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any, Dict

import bottle
import jwt as pyjwt
import pytest

import canister
from helpers import at_once, basic, bearer, claims, jwk, read_log, write_users
from servers import AppServer, Client, wait_until
from session_kit import STORES, Browser, plugin_of
from test_basic_users_file_sessions import basic_login, ended_lines, line_of, look_twice, replace_file, users_app

#: Every user's stored password is 'wonderland' (a cheap hash: the test holds the check itself).
WONDERLAND = canister.hash_password('wonderland', 'pbkdf2', 1000)


def held_login_app(make_app: Any, store_url: str) -> Any:
    """An app whose GET /login?username=&password= logs in by form with ``auth_max_failures = 1``; the
    user ``slow`` is looked up only once ``app.held.set()`` (``app.entered`` tells the check has begun)."""
    app = make_app(session_store=store_url, auth_max_failures=1)
    app.entered, app.held = threading.Event(), threading.Event()

    def users(name: str) -> str:
        if name == 'slow':
            app.entered.set()
            assert app.held.wait(30)
        return WONDERLAND

    @app.get('/login')
    def login(username: str, password: str) -> Dict[str, Any]:
        if not canister.log_in(username, password, users):
            bottle.abort(401, 'wrong user name or password')
        return {'user': canister.session.user}

    return app


def login(origin: str, username: str, password: str) -> int:
    """The status of a form login of ``username`` from a client of its own (same address: 127.0.0.1)."""
    return Client(origin).get('/login?username=%s&password=%s' % (username, password)).status


def begin_held_login(app: Any, origin: str) -> Dict[str, int]:
    """Start the right password of ``slow`` in a thread, held in its check; its status lands in the dict."""
    answer: Dict[str, int] = {}
    thread = threading.Thread(target=lambda: answer.update(status=login(origin, 'slow', 'wonderland')))
    thread.start()
    assert app.entered.wait(30)
    app.finish = lambda: (app.held.set(), thread.join(30))
    return answer


@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_with_one_failure_allowed_a_guess_sent_while_a_right_password_is_checked_is_refused_and_then_gets_its_check(
        make_app, serve, store_url):
    app = held_login_app(make_app, store_url)
    origin = serve(app)
    held = begin_held_login(app, origin)
    assert login(origin, 'alice', 'guess') == 429  # the one place is the right password's, while it is checked
    app.finish()
    assert held['status'] == 200
    assert login(origin, 'alice', 'guess') == 401  # given back: the guess is checked once
    assert login(origin, 'alice', 'guess') == 429
    assert login(origin, 'alice', 'wonderland') == 429


@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_a_right_password_checked_across_the_end_of_its_throttle_window_gives_back_no_place_of_the_next(
        make_app, serve, store_url):
    app = held_login_app(make_app, store_url)
    plugin_of(app).authenticator.throttle.window = 2.0  # (a minute in production: the test waits for its end)
    origin = serve(app)
    held = begin_held_login(app, origin)
    time.sleep(2.2)  # the window of the held login's place ends
    assert login(origin, 'alice', 'guess') == 401  # a new window: its one place is this guess's
    app.finish()
    assert held['status'] == 200
    assert login(origin, 'alice', 'guess') == 429  # the old window's success gave back nothing of it
    assert login(origin, 'alice', 'wonderland') == 429


@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_guesses_interleaved_with_right_passwords_of_the_same_client_get_one_check_in_all(make_app, serve, store_url):
    app = held_login_app(make_app, store_url)
    origin = serve(app)
    guess, right = (lambda: login(origin, 'alice', 'guess')), (lambda: login(origin, 'bob', 'wonderland'))
    statuses = at_once([guess, right] * 4)
    for _ in range(3):
        statuses += at_once([guess, right])
    guesses = statuses[0::2]
    assert set(guesses) <= {401, 429}
    guesses.append(login(origin, 'alice', 'guess'))
    if guesses[-1] == 401:  # every guess above met a right password's place held at that moment: none was checked
        guesses.append(login(origin, 'alice', 'guess'))
    assert guesses.count(401) == 1 and guesses[-1] == 429


# -- the Basic users file changing under requests ----------------------------------------

@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_a_script_sending_basic_while_the_users_file_is_read_half_written_is_served_again_once_it_is_whole(
        make_app, serve, store_url, tmp_path, clock):
    clock.advance(-10)  # (canister's clock behind the file's change time: a change is just made at a first look)
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    whole = users.read_text()
    origin = serve(users_app(make_app, users, session_store=store_url, auth_max_failures=1))
    script = Browser(origin, follow=False)  # no cookie: credentials on every request
    alice = {'Authorization': basic('alice', 'alice-password')}
    assert script.get('/me', headers=alice).status == 200

    users.write_text('')  # `cat > users.txt`: the file emptied, not yet written again
    clock.advance(2)
    assert script.get('/me', headers=alice).status == 401  # read now: no alice in it, for the moment
    users.write_text(whole)  # ... and written whole a moment later (within the second)
    assert script.get('/me', headers=alice).status == 200  # read again at once, and alice was no guess
    assert script.get('/me', headers=alice).status == 200
    assert script.get('/me', headers={'Authorization': basic('alice', 'guess')}).status == 401
    assert script.get('/me', headers=alice).status == 429  # a real failure still counts


def test_a_users_file_read_half_written_is_read_again_at_the_next_request_not_a_second_later(
        make_app, serve, tmp_path, clock):
    clock.advance(-10)  # (canister's clock behind the file's change time: a change is just made at a first look)
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    whole = users.read_text()
    origin = serve(users_app(make_app, users, auth_max_failures=100))
    script = Browser(origin, follow=False)
    alice = {'Authorization': basic('alice', 'alice-password')}
    users.write_text('alice:pbkdf2_sha256:1000:')  # an editor's write, cut where the read came
    clock.advance(2)
    assert script.get('/me', headers=alice).status == 401
    users.write_text(whole)
    assert [script.get('/me', headers=alice).status for _ in range(3)] == [200, 200, 200]  # canister's clock stood


@pytest.mark.parametrize('scheme', ['pbkdf2', 'sha256'])  # (sha256: a session without a login line)
@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_a_request_of_a_user_the_users_file_drops_while_it_runs_finishes_as_the_user_and_its_save_keeps_no_session(
        make_app, serve, store_url, tmp_path, clock, log_dir, scheme):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\ndave:%s\n' % (stored_form('alice-password', scheme), stored_form('dave-password', scheme)))
    app = users_app(make_app, users, session_store=store_url)
    app.entered, app.held = threading.Event(), threading.Event()

    @app.get('/hold')
    def hold():
        assert canister.session.user == 'alice'  # (loaded before the change)
        app.entered.set()
        assert app.held.wait(30)
        canister.session.data['cart'] = 'book'  # a change to save after the change of the file ended the session
        return {'user': canister.session.user}

    origin = serve(app)
    alice = basic_login(origin, 'alice', 'alice-password')
    held: Dict[str, Any] = {}
    thread = threading.Thread(target=lambda: held.update(answer=Browser(origin, alice.sid).get('/hold')))
    thread.start()
    assert app.entered.wait(30)
    replace_file(users, 'dave:%s\n' % stored_form('dave-password', scheme))
    look_twice(clock, Browser(origin))
    assert len(ended_lines(log_dir)) == 1
    app.held.set()
    thread.join(30)

    assert held['answer'].status == 200 and held['answer'].json() == {'user': 'alice'}  # under way: finished as alice
    assert held['answer'].new_sid == ''  # its cookie expired
    assert alice.get('/me').status == 401  # but its save brought nothing back
    assert 'cart' not in str(plugin_of(app).sessions_of('alice'))
    assert plugin_of(app).sessions_of('alice') == []


def stored_form(password: str, scheme: str) -> str:
    """A users-file hash of ``password``: a quick PBKDF2, or the unsalted SHA-256 of 1.x."""
    if scheme == 'sha256':
        return 'sha256:' + hashlib.sha256(password.encode()).hexdigest()
    return canister.hash_password(password, 'pbkdf2', iterations=1000)


# -- a password change with end_sessions, in an admin's request -----------------------------

@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_a_login_with_the_old_password_checked_while_an_admin_request_changes_it_and_ends_sessions_stays_out(
        make_app, serve, store_url):
    accounts = {'alice': canister.hash_password('old-password', 'pbkdf2', 1000)}
    app = make_app(session_store=store_url)
    plugin = plugin_of(app)
    looked_up, held = threading.Event(), threading.Event()

    def users(name: str) -> Any:
        stored = accounts.get(name)  # (read from the database before the change ...)
        if name == 'alice' and not held.is_set():
            looked_up.set()
            assert held.wait(30)
        return stored  # (... and checked after it)

    @app.get('/login')
    def login(password: str) -> Dict[str, Any]:
        return {'in': canister.log_in('alice', password, users), 'user': canister.session.user}

    @app.get('/me')
    def me() -> Dict[str, Any]:
        return {'user': canister.session.user}

    @app.get('/admin/reset')
    def reset(password: str) -> Dict[str, Any]:
        accounts['alice'] = canister.hash_password(password, 'pbkdf2', 1000)
        return {'ended': plugin.end_sessions('alice')}

    origin = serve(app)
    held.set()
    laptop = Browser(origin)
    assert laptop.get('/login?password=old-password').json() == {'in': True, 'user': 'alice'}
    held.clear()
    phone, answers = Browser(origin), []
    thread = threading.Thread(target=lambda: answers.append(phone.get('/login?password=old-password')))
    thread.start()
    assert looked_up.wait(30)
    assert Browser(origin).get('/admin/reset?password=new-password').json() == {'ended': 1}
    held.set()
    thread.join(30)

    assert answers[0].json() == {'in': True, 'user': 'alice'}  # checked against the old hash, as read
    assert answers[0].new_sid is None  # but no live cookie: the login was overtaken
    assert phone.get('/me').json() == {'user': None}
    assert laptop.get('/me').json() == {'user': None}
    assert plugin.sessions_of('alice') == []
    assert Browser(origin).get('/login?password=old-password').json() == {'in': False, 'user': None}
    assert Browser(origin).get('/login?password=new-password').json() == {'in': True, 'user': 'alice'}


# -- the provider's keys (JWKS) changing ------------------------------------------------------

def test_a_key_the_provider_drops_from_its_jwks_stops_logging_in_once_the_keys_are_old_though_no_kid_is_new(
        make_app, serve, rsa_key, jwks_server, monotonic, log_dir):
    from cryptography.hazmat.primitives.asymmetric import rsa
    revoked, kept = rsa_key, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish(jwk(revoked, 'revoked'), jwk(kept, 'kept'))
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=0.5)

    @app.get('/me')
    def me() -> Dict[str, Any]:
        canister.session.data['seen'] = True  # (a real session: a browser's, logged in by a page's token)
        return {'user': canister.session.user}

    origin = serve(app)
    revoked_token = pyjwt.encode(claims(sub='mallory'), revoked, algorithm='RS256', headers={'kid': 'revoked'})
    kept_token = pyjwt.encode(claims(), kept, algorithm='RS256', headers={'kid': 'kept'})
    logged_in = Browser(origin)
    assert logged_in.get('/me', headers=bearer(revoked_token)).json()['user']['sub'] == 'mallory'
    assert Browser(origin).get('/me', headers=bearer(kept_token)).json()['user']['sub'] == 'alice'
    assert jwks_server.hits == 1

    jwks_server.publish(jwk(kept, 'kept'))  # the provider revokes a key, and signs with the other as before
    monotonic.advance(300)  # (canister's clock: 5 minutes)
    assert Browser(origin).get('/me', headers=bearer(kept_token)).status == 200  # starts a download, waits for none
    wait_until(lambda: "Fetched 1 signing keys from the JWKS URL, the keys held being 300s old or more; kids: 'kept'"
               in read_log(log_dir), timeout=30)
    assert jwks_server.hits == 2
    assert Browser(origin).get('/me', headers=bearer(revoked_token)).status == 401
    assert Browser(origin).get('/me', headers=bearer(kept_token)).status == 200
    # A session logged in with the dropped key keeps its user until the token's exp (end_sessions ends it sooner).
    assert logged_in.get('/me').json()['user']['sub'] == 'mallory'


def test_keys_that_cannot_be_downloaded_again_once_old_are_kept_with_a_warning(
        make_app, serve, rsa_key, jwks_server, monotonic, log_dir):
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_refetch=0.5)

    @app.get('/me')
    def me() -> Dict[str, Any]:
        return {'user': canister.session.user}

    origin = serve(app)
    token = pyjwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'})
    assert Browser(origin).get('/me', headers=bearer(token)).status == 200
    jwks_server.status = 500  # the provider fails
    monotonic.advance(300)  # (canister's clock: 5 minutes)
    assert Browser(origin).get('/me', headers=bearer(token)).status == 200  # starts a download, waits for none
    wait_until(lambda: 'the keys fetched before are kept' in read_log(log_dir), timeout=30)
    [line] = [line for line in read_log(log_dir).splitlines() if 'the keys fetched before are kept' in line]
    assert ' WARNING ' in line and 'Cannot fetch the JWKS keys from %s' % jwks_server.url in line, line
    assert 'a download of keys 300s old or more' in line, line
    assert jwks_server.hits == 2
    assert Browser(origin).get('/me', headers=bearer(token)).json()['user']['sub'] == 'alice'


@pytest.mark.parametrize('backend', ['sqlite', 'redis'])
def test_under_two_gunicorn_workers_a_users_file_changed_once_ends_a_dropped_users_session_at_its_next_use_in_each(
        backend, tmp_path, request):
    store = (request.getfixturevalue('redis_server').url if backend == 'redis'
             else 'sqlite:///' + str(tmp_path / 'sessions.db'))
    users = write_users(tmp_path / 'users.txt', carol='carol-password', dave='dave-password')
    with AppServer('mounted_users_app:app', workers=2, env={
            'CANISTER_SESSION_STORE': store, 'CANISTER_LOG_PATH': str(tmp_path / 'logs'),
            'MOUNTED_USERS_FILE': str(users)}) as server:
        carol, dave = Client(server.url), Client(server.url)
        assert carol.get('/a/me', headers={'Authorization': basic('carol', 'carol-password')}).json()['user'] == 'carol'
        assert dave.get('/a/me', headers={'Authorization': basic('dave', 'dave-password')}).json()['user'] == 'dave'
        workers, deadline = set(), time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:  # (each request on a connection of its own)
            workers.add(dave.get('/a/me').json()['pid'])
        assert len(workers) == 2, 'one worker served every request: the test shows nothing'

        replace_file(users, line_of(users, 'dave'))  # once, by a rename, as a deployment does
        time.sleep(1.1)  # (at rest)
        answers = [carol.get('/a/me') for _ in range(6)]
        kept = [dave.get('/a/me') for _ in range(6)]

    assert [answer.status for answer in answers] == [401] * 6
    assert {answer.json()['user'] for answer in kept} == {'dave'}
