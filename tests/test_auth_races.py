"""Two requests at once about authentication state, on a real server and on every store.

* the login throttle: a login held inside its password check while another of the same client
  runs (a success and a failure at once with ``auth_max_failures = 1``; the client's window
  ending while the success is checked);
* the Basic users file read half-written (``cat > users.txt``) between two requests of a script;
* Bearer JWKS rotation: what a session logged in with a key the provider has since dropped keeps.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Dict

import bottle
import pytest

import canister
from helpers import at_once, basic, write_users
from servers import Client
from session_kit import STORES, Browser, plugin_of
from test_basic_users_file_sessions import users_app

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
            assert app.held.wait(20)
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
    assert app.entered.wait(10)
    app.finish = lambda: (app.held.set(), thread.join(20))
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
    plugin_of(app).authenticator.throttle.window = 1.0  # (a minute in production: the test waits for its end)
    origin = serve(app)
    held = begin_held_login(app, origin)
    time.sleep(1.2)  # the window of the held login's place ends
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
    assert set(guesses) <= {401, 429} and guesses.count(401) <= 1
    assert login(origin, 'alice', 'guess') == 429


# -- the Basic users file changing under requests ----------------------------------------

@pytest.mark.parametrize('store_url', STORES, indirect=True)
def test_a_script_sending_basic_while_the_users_file_is_read_half_written_is_served_again_once_it_is_whole(
        make_app, serve, store_url, tmp_path, clock):
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
