"""A login form with ``canister.log_in``: what canister does for the Authorization header, in a handler.

* the right password sets ``session.user`` and gives the session a new id; a wrong one, an unknown
  user or an empty password returns False and logs a WARNING (never the password);
* the same login throttle as Basic, one counter for both: a place before the check, 429 with
  Retry-After while the client is locked out, a success gives its place back;
* an unknown user costs the hash of a known one (measured, with a generous margin);
* users from a mapping, a lookup function, or by default the users Basic is configured with;
* a clear error outside a request canister serves.
"""
from __future__ import annotations

import collections
import sqlite3
import threading
import time
import urllib.parse

import bottle
import pytest

import canister
from canister import session
from helpers import at_once, basic, client, cookie_value, read_log, sqlite_url, warning_lines, write_users
from servers import Client, InProcessWaitress
from session_kit import plugin_of


def quick_hash(password, iterations=1000):
    return canister.hash_password(password, 'pbkdf2', iterations=iterations)


USERS = {'alice': quick_hash('wonderland'), 'carol': ''}


def form_app(make_app, users=USERS, **overrides):
    """An app whose POST /login calls canister.log_in(username, password, users) (``users='configured'``: with
    no users, so the configured ones) and answers 401 when it is False; /me answers the user, /sid the session id."""
    app = make_app(**overrides)

    @app.post('/login')
    def login(username: str = '', password: str = ''):
        given = None if users == 'configured' else users
        if not canister.log_in(username, password, given):
            bottle.abort(401, 'wrong user name or password')
        return 'user=%s' % session.user

    @app.get('/me')
    def me():
        return 'user=%s' % session.user

    @app.get('/sid')
    def sid():
        return session.sid

    return app


def post_login(web, username, password, **kwargs):
    return web.post('/login', {'username': username, 'password': password}, expect_errors=True, **kwargs)


# -- right and wrong --------------------------------------------------------------------

def test_the_right_password_logs_the_user_in_with_a_new_session_id(make_app):
    web = client(form_app(make_app))
    before = web.get('/sid').text
    response = post_login(web, 'alice', 'wonderland')
    assert response.status_int == 200 and response.text == 'user=alice'
    after = cookie_value(response)
    assert after and after != before
    assert web.get('/me').text == 'user=alice'


def test_a_login_without_a_session_before_sets_a_session_cookie(make_app):
    web = client(form_app(make_app))
    response = post_login(web, 'alice', 'wonderland')
    assert response.text == 'user=alice' and cookie_value(response)
    assert web.get('/me').text == 'user=alice'


def test_another_sites_form_posting_a_right_password_cannot_log_its_visitor_in(make_app, log_dir):
    """README: the form's POST is checked against CSRF like any other (a login CSRF: the visitor logged in
    as the attacker, whose account then records what the visitor does)."""
    web = client(form_app(make_app))
    response = post_login(web, 'alice', 'wonderland',
                          headers={'Origin': 'https://attacker.example', 'Sec-Fetch-Site': 'cross-site'})
    assert response.status_int == 403 and cookie_value(response) is None
    assert web.get('/me').text == 'user=None'
    assert 'Logged in as' not in read_log(log_dir)


def test_a_wrong_password_logs_nobody_in_and_logs_a_warning_without_the_password(make_app, log_dir):
    web = client(form_app(make_app))
    response = post_login(web, 'alice', 'Guess-Zq81')
    assert response.status_int == 401
    assert cookie_value(response) is None
    assert web.get('/me').text == 'user=None'
    assert any("Authentication failed: wrong password for 'alice'" in line for line in warning_lines(log_dir))
    assert 'Guess-Zq81' not in read_log(log_dir)


def test_an_unknown_user_is_refused_and_its_name_is_not_logged(make_app, log_dir):
    web = client(form_app(make_app))
    assert post_login(web, 'Mistyped-Pa55', 'wonderland').status_int == 401
    log = read_log(log_dir)
    assert 'Authentication failed: unknown user name (not shown: it may be a password)' in log
    assert 'Mistyped-Pa55' not in log


def test_a_clear_text_password_in_the_users_mapping_logs_nobody_in_and_says_to_store_a_hash(make_app, log_dir):
    """As the users file refuses a clear-text line: ``{'bob': 'my-secret'}`` is a mistake, not a user."""
    web = client(form_app(make_app, {'alice': quick_hash('wonderland'), 'bob': 'my-secret'}))
    assert post_login(web, 'bob', 'my-secret').status_int == 401
    assert web.get('/me').text == 'user=None'
    assert any("Authentication failed: the stored password of 'bob' is no hash (clear text?) and is refused, as the "
               'users file refuses it: store canister.hash_password(password), or the hash python -m canister '
               'hash-password prints' in line for line in warning_lines(log_dir))
    assert 'my-secret' not in read_log(log_dir)


@pytest.mark.parametrize('value', [98765432, 2.71828, {'hash': 'Zq-Secret-9'}, ['Zq-Secret-8']],
                         ids=['int', 'float', 'dict', 'list'])
@pytest.mark.parametrize('how', ['mapping', 'lookup'])
def test_a_users_value_that_is_no_stored_password_refuses_that_user_as_a_wrong_password_would(make_app, log_dir,
                                                                                              value, how):
    users = {'alice': quick_hash('wonderland'), 'carol': value}
    web = client(form_app(make_app, users if how == 'mapping' else users.get))
    wrong = post_login(web, 'alice', 'Guess-Zq81')
    refused = post_login(web, 'carol', 'wonderland')   # (was a 500: 'int' object has no attribute 'startswith')
    assert (refused.status_int, refused.text) == (wrong.status_int, wrong.text) == (401, wrong.text)
    assert cookie_value(refused) is None and web.get('/me').text == 'user=None'
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]
    assert len(errors) == 1, errors
    assert ("canister.log_in: the users entry of 'carol' is unusable: a value of type %s, not a stored password (text "
            "or bytes), so it logs nobody in" % type(value).__name__) in errors[0]
    assert repr(value) not in read_log(log_dir) and 'Traceback' not in read_log(log_dir)
    assert post_login(web, 'alice', 'wonderland').text == 'user=alice'


def test_a_stored_form_whose_rounds_hashlib_cannot_take_logs_nobody_in_with_a_401_not_a_500(make_app, log_dir):
    web = client(form_app(make_app, {'bob': 'pbkdf2_sha256:2147483648:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0'}))
    assert post_login(web, 'bob', 'anything').status_int == 401
    assert web.get('/me').text == 'user=None'
    assert "Authentication failed: wrong password for 'bob'" in read_log(log_dir)
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('username', ['alice', 'carol', 'mallory'],
                         ids=['known-user', 'user-without-a-stored-password', 'unknown-user'])
def test_an_empty_password_logs_nobody_in(make_app, username):
    web = client(form_app(make_app))
    assert post_login(web, username, '').status_int == 401
    assert 'session_id' not in web.cookies


def test_an_empty_password_is_refused_at_once_whoever_it_names(make_app):
    """README: an empty password is never right, and is refused at once (no hash of 100,000 rounds run for it,
    known user or not), so its refusal tells nothing of which names exist either."""
    web = client(form_app(make_app, {'alice': quick_hash('wonderland', iterations=100000)}, auth_max_failures=100))
    [wrong] = fastest_refusals(web, ['alice'])
    for username in ('alice', 'nobody'):
        empty = []
        for _ in range(3):
            started = time.perf_counter()
            assert post_login(web, username, '').status_int == 401
            empty.append(time.perf_counter() - started)
        assert min(empty) < wrong / 5, (username, empty, wrong)


# -- the throttle, shared with Basic -----------------------------------------------------

def test_after_auth_max_failures_a_form_login_gets_429_with_retry_after_even_with_the_right_password(make_app, log_dir):
    web = client(form_app(make_app, auth_max_failures=3))
    for _ in range(3):
        assert post_login(web, 'alice', 'guess').status_int == 401
    response = post_login(web, 'alice', 'wonderland')
    assert response.status_int == 429
    assert int(response.headers['Retry-After']) >= 1
    assert web.get('/me').text == 'user=None'
    assert 'Too many failed logins from 127.0.0.1' in read_log(log_dir)


def test_form_and_basic_failures_count_against_one_limit(make_app):
    app = form_app(make_app, users='configured', auth_basic_username='alice',
                   auth_basic_password=quick_hash('wonderland'), auth_max_failures=3)
    web = client(app)
    assert post_login(web, 'alice', 'guess').status_int == 401
    assert web.get('/me', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True).status_int == 401
    assert post_login(web, 'alice', 'guess').status_int == 401
    # both ways in are locked out now, with the same answer
    by_header = web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}, expect_errors=True)
    by_form = post_login(web, 'alice', 'wonderland')
    assert by_header.status_int == by_form.status_int == 429
    assert by_form.headers['Retry-After'] == by_header.headers['Retry-After']
    assert by_form.text == by_header.text


def test_a_successful_form_login_gives_its_place_back(make_app):
    web = client(form_app(make_app, auth_max_failures=3))
    for _ in range(10):
        assert post_login(web, 'alice', 'wonderland').status_int == 200
    for _ in range(3):
        assert post_login(web, 'alice', 'guess').status_int == 401
    assert post_login(web, 'alice', 'wonderland').status_int == 429


def test_other_clients_are_not_locked_out(make_app):
    app = form_app(make_app, auth_max_failures=2)
    locked = client(app, REMOTE_ADDR='10.0.0.1')
    for _ in range(2):
        assert post_login(locked, 'alice', 'guess').status_int == 401
    assert post_login(locked, 'alice', 'wonderland').status_int == 429
    assert post_login(client(app, REMOTE_ADDR='10.0.0.2'), 'alice', 'wonderland').text == 'user=alice'


def test_simultaneous_wrong_form_logins_on_a_real_server_get_as_many_checks_as_the_limit(make_app):
    # A slow hash keeps the first checks busy while the others arrive: each took its place before its check.
    users = {'alice': quick_hash('wonderland', iterations=200000)}
    server = InProcessWaitress(form_app(make_app, users, auth_max_failures=5), threads=20)
    try:
        web = Client(server.origin)
        body = urllib.parse.urlencode({'username': 'alice', 'password': 'guess'})
        headers = {'Content-Type': 'application/x-www-form-urlencoded'}
        statuses = collections.Counter(at_once([lambda: web.request('POST', '/login', body, headers).status] * 20))
        assert statuses == {401: 5, 429: 15}
        right = urllib.parse.urlencode({'username': 'alice', 'password': 'wonderland'})
        assert web.request('POST', '/login', right, headers).status == 429
    finally:
        server.close()


def test_with_a_sqlite_store_form_logins_count_in_its_file_made_at_the_first_login(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    web = client(form_app(make_app, session_store=sqlite_url(path)))
    with sqlite3.connect(str(path)) as connection:  # no table before a login needs one
        assert not connection.execute("SELECT name FROM sqlite_master WHERE name = 'canister_throttle'").fetchall()
    assert post_login(web, 'alice', 'guess').status_int == 401
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT client, attempts FROM canister_throttle').fetchall() == [('127.0.0.1', 1)]


def test_with_a_redis_store_two_apps_share_the_form_login_limit(make_app, redis_server):
    first = client(form_app(make_app, auth_max_failures=2, session_store=redis_server.url))
    second = client(form_app(make_app, auth_max_failures=2, session_store=redis_server.url))
    for _ in range(2):
        assert post_login(first, 'alice', 'guess').status_int == 401
    assert post_login(second, 'alice', 'wonderland').status_int == 429


def test_with_redis_down_a_form_login_answers_503(make_app, redis_server):
    web = client(form_app(make_app, session_store=redis_server.url))
    assert post_login(web, 'alice', 'wonderland').text == 'user=alice'
    redis_server.stop()
    assert post_login(web, 'alice', 'wonderland').status_int == 503


# -- an unknown user costs a known one's hash ------------------------------------------

def fastest_refusals(web, usernames, rounds=5):
    """The shortest time of a refused login (a wrong password) of each user name, over ``rounds`` rounds
    that take them in turn (so a busy moment of the machine slows both alike)."""
    fastest = {username: float('inf') for username in usernames}
    for _ in range(rounds):
        for username in usernames:
            started = time.perf_counter()
            assert post_login(web, username, 'wrong-guess').status_int == 401
            fastest[username] = min(fastest[username], time.perf_counter() - started)
    return [fastest[username] for username in usernames]


#: How many times a timing comparison is measured again before it counts as failed: a busy moment of a loaded
#: machine (CI runs two suites on two cores) can slow one side of a round three times over, never every round,
#: while a broken check (a refusal at once, or at 600,000 rounds) is off by far more in every round.
TIMING_TRIES = 5


def measured_until(measure, holds):
    """The values ``measure()`` gives the first time ``holds(*values)`` is true, else those of the last of
    ``TIMING_TRIES`` tries (for the assertion's message)."""
    for _ in range(TIMING_TRIES):
        values = measure()
        if holds(*values):
            break
    return values


@pytest.mark.parametrize('source', ['mapping', 'users-file'])
def test_an_unknown_user_takes_as_long_to_refuse_as_a_known_one(make_app, tmp_path, source):
    # 100,000 rounds take tens of milliseconds: a check that returned at once would be hundreds of
    # times faster; the margin (a third) leaves room for a busy machine.
    if source == 'mapping':
        app = form_app(make_app, {'alice': quick_hash('wonderland', iterations=100000)}, auth_max_failures=100)
    else:
        path = tmp_path / 'users.txt'
        path.write_text('alice:%s\n' % quick_hash('wonderland', iterations=100000))
        app = form_app(make_app, 'configured', auth_basic_users_file=str(path), auth_max_failures=100)
    web = client(app)
    known, unknown = measured_until(lambda: fastest_refusals(web, ['alice', 'nobody']),
                                    lambda known, unknown: known / 3 < unknown < known * 3)
    assert unknown > known / 3, (known, unknown)
    assert unknown < known * 3, (known, unknown)   # the users' cost, not hash_password's default of 600,000


def test_a_user_with_a_clear_text_password_takes_as_long_to_refuse_as_a_known_one(make_app):
    """Refused at an unknown user's cost, which a clear-text user does not lower for those after it."""
    users = {'alice': quick_hash('wonderland', iterations=100000), 'bob': 'my-secret'}
    web = client(form_app(make_app, users, auth_max_failures=100))
    known, clear, unknown = measured_until(
        lambda: fastest_refusals(web, ['alice', 'bob', 'nobody']),
        lambda known, clear, unknown: known / 3 < clear < known * 3 and known / 3 < unknown < known * 3)
    assert known / 3 < clear < known * 3, (known, clear)
    assert known / 3 < unknown < known * 3, (known, unknown)


def test_an_unknown_user_refused_before_any_known_one_logs_in_costs_the_mappings_hash(make_app):
    """A process's first refusal (a fresh app) is of an unknown name: it costs the hash of the mapping's
    users, not ``hash_password``'s default of 600,000 rounds (thirty times those of alice here)."""
    users = {'alice': quick_hash('wonderland', iterations=20000)}

    def firsts_and_known():
        firsts = []
        for _ in range(3):
            web = client(form_app(make_app, users, auth_max_failures=100))
            started = time.perf_counter()
            assert post_login(web, 'nobody', 'wrong-guess').status_int == 401
            firsts.append(time.perf_counter() - started)
        [known] = fastest_refusals(web, ['alice'])
        return firsts, known

    firsts, known = measured_until(firsts_and_known, lambda firsts, known: known / 3 < min(firsts) < known * 3)
    assert known / 3 < min(firsts) < known * 3, (firsts, known)


def test_with_a_lookup_function_an_unknown_user_costs_the_default_hash_then_the_last_known_users(make_app):
    """A function gives no users to look at before it is asked: an unknown name refused before any known
    one costs ``hash_password``'s 600,000 rounds (thirty times alice's here), and afterwards alice's cost."""
    users = {'alice': quick_hash('wonderland', iterations=20000)}

    def first_known_unknown():
        web = client(form_app(make_app, users.get, auth_max_failures=100))
        started = time.perf_counter()
        assert post_login(web, 'nobody', 'wrong-guess').status_int == 401
        first = time.perf_counter() - started
        return (first,) + tuple(fastest_refusals(web, ['alice', 'nobody']))

    first, known, unknown = measured_until(
        first_known_unknown, lambda first, known, unknown: first > known * 5 and known / 3 < unknown < known * 3)
    assert first > known * 5, (first, known)
    assert known / 3 < unknown < known * 3, (known, unknown)


# -- where the users come from ---------------------------------------------------------

def test_by_default_the_users_of_the_configured_users_file_log_in(make_app, tmp_path):
    path = write_users(tmp_path / 'users.txt', bob='builder', dora='explorer')
    web = client(form_app(make_app, 'configured', auth_basic_users_file=str(path)))
    assert post_login(web, 'bob', 'explorer').status_int == 401
    assert post_login(web, 'dora', 'explorer').text == 'user=dora'
    assert web.get('/me').text == 'user=dora'
    # the same users log in with Basic
    assert client(form_app(make_app, 'configured', auth_basic_users_file=str(path))).get(
        '/me', headers={'Authorization': basic('bob', 'builder')}).text == 'user=bob'


def test_by_default_the_configured_basic_user_logs_in(make_app):
    web = client(form_app(make_app, 'configured', auth_basic_username='alice',
                          auth_basic_password=quick_hash('wonderland')))
    assert post_login(web, 'alice', 'wonderland').text == 'user=alice'


def test_a_lookup_function_gives_the_stored_form_of_a_name(make_app):
    asked = []
    stored = {'alice': quick_hash('wonderland').encode('utf-8')}   # as bytes, as a database may give it

    def lookup(name):
        asked.append(name)
        return stored.get(name)

    web = client(form_app(make_app, lookup))
    assert post_login(web, 'nobody', 'wonderland').status_int == 401
    assert post_login(web, 'alice', 'wonderland').text == 'user=alice'
    assert asked == ['nobody', 'alice']


def test_the_user_is_the_name_as_given_so_an_app_whose_lookup_ignores_case_normalises_it_first(make_app):
    """The README's claim: ``session.user`` is the name handed to ``log_in``, not the one the lookup
    found, so ``ALICE`` through a lookup that ignores case is a user of its own to ``end_sessions``."""
    stored = {'alice': quick_hash('wonderland')}

    def lookup(name):
        return stored.get(name.lower())

    as_typed = form_app(make_app, lookup)
    web = client(as_typed)
    assert post_login(web, 'ALICE', 'wonderland').text == 'user=ALICE'
    assert plugin_of(as_typed).end_sessions('alice') == 0
    assert web.get('/me').text == 'user=ALICE'

    normalised = make_app()
    normalised.route('/login', method='POST', callback=lambda username, password: (
        str(canister.log_in(username.strip().lower(), password, lookup)) + ' user=%s' % session.user))
    normalised.route('/me', callback=lambda: 'user=%s' % session.user)
    web = client(normalised)
    assert web.post('/login', {'username': 'ALICE', 'password': 'wonderland'}).text == 'True user=alice'
    assert plugin_of(normalised).end_sessions('alice') == 1
    assert web.get('/me').text == 'user=None'


def test_a_mapping_that_other_threads_add_users_to_while_logins_fail_answers_each_login_401(make_app,
                                                                                               frequent_switches):
    """A dict the app's sign-up route adds to while log_in reads its users (the cost of an unknown name, read again
    when the size changes): each failed login is a 401, never ``dictionary changed size during iteration``."""
    stored = quick_hash('password')
    users = {'user%d' % number: stored for number in range(3000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))

    def sign_up():
        for count in range(300):
            users['new%d' % count] = stored
            time.sleep(0.001)

    signing_up = threading.Thread(target=sign_up, daemon=True)
    signing_up.start()
    statuses = set()
    while signing_up.is_alive():
        statuses.add(post_login(web, 'nobody', 'wrong-guess').status_int)
    assert statuses == {401}


def test_without_users_and_without_configured_ones_the_handler_fails_saying_so(make_app):
    web = client(form_app(make_app, 'configured'))
    with pytest.raises(canister.CanisterError, match='no users given, and none configured'):
        post_login(web, 'alice', 'wonderland')


# -- where it cannot work ---------------------------------------------------------------

def test_outside_a_request_it_raises_a_clear_error():
    raised = []

    def elsewhere():  # a thread that serves no request (as a handler's worker thread, or import time)
        try:
            canister.log_in('alice', 'wonderland', USERS)
        except canister.CanisterError as error:
            raised.append(str(error))

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join(30)
    assert len(raised) == 1 and 'only available in a handler of a request canister serves' in raised[0], raised


def test_in_an_app_without_canister_it_raises_a_clear_error():
    app = bottle.Bottle()
    app.catchall = False

    @app.post('/login')
    def login():
        return str(canister.log_in('alice', 'wonderland', USERS))

    with pytest.raises(canister.CanisterError, match='has no canister installed'):
        client(app).post('/login')


def test_a_form_login_whose_sqlite_file_cannot_hold_the_throttle_answers_503_saying_the_login_cannot_be_counted(
        make_app, tmp_path, log_dir):
    path = tmp_path / 'app.db'
    web = client(form_app(make_app, session_store=sqlite_url(path)))
    with sqlite3.connect(str(path)) as connection:  # (the app's own table of that name, made before the first login)
        connection.execute('CREATE TABLE canister_throttle (ip TEXT, hits INTEGER)')
    answer = post_login(web, 'alice', 'wonderland')
    assert answer.status_int == 503
    assert answer.text == ('Service unavailable: the login cannot be counted against the limit of failed logins (the '
                           'session store that keeps the count cannot be reached or written), retry shortly\n')
    assert ("the SQLite file %s cannot hold the login throttle: its table canister_throttle is not canister's" % path
            in read_log(log_dir))
