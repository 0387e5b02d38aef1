"""Password checks under gevent: a login's hash does not stop the other greenlets.

A check of a stored password (PBKDF2 at 600,000 rounds by default, scrypt, bcrypt, argon2) is
most of a second of CPU.  Under gevent every request is a greenlet of one thread, so a check run
there answers nothing else meanwhile; canister runs it in gevent's thread pool instead, where the
hash releases the GIL.  Each test logs in to a real gevent server (tests/apps/gevent_app.py, whose
Basic user ``slow`` has a PBKDF2 hash of about 0.8 s) while another client pings it, and checks
that the pings were answered at once, and the login as before; ``canister.log_in`` and a handler's
own ``verify_password`` too.
"""
import hashlib
import time
import urllib.parse

import pytest

import canister
from helpers import basic, read_log
from servers import AppServer, Client, pinged_during

#: About how long the server takes to check the password of its user ``slow`` (once calibrated).
HASH_SECONDS = 0.8
PASSWORD = 'correct horse'


def rounds_taking(seconds):
    """PBKDF2-SHA256 rounds that take about ``seconds`` on this machine, and the time they took (the
    shorter of two tries: a machine busy with other work makes a single try run long)."""
    started = time.perf_counter()
    hashlib.pbkdf2_hmac('sha256', b'password', b'salt' * 4, 100000)
    rounds = int(100000 * seconds / (time.perf_counter() - started))
    took = []
    for _ in range(2):
        started = time.perf_counter()
        hashlib.pbkdf2_hmac('sha256', b'password', b'salt' * 4, rounds)
        took.append(time.perf_counter() - started)
    return rounds, min(took)


@pytest.fixture(scope='module')
def slow_hash_server(tmp_path_factory):
    """gevent_app under ``bottle.run(server='gevent')`` with the Basic user ``slow``, started; its
    AppServer, with ``hash_seconds``, what a check of the hash took here."""
    app = started_slow_hash_server(tmp_path_factory)
    yield app
    app.cleanup()


def started_slow_hash_server(tmp_path_factory):
    """A :func:`slow_hash_server` of its own, started (the caller cleans it up)."""
    rounds, took = rounds_taking(HASH_SECONDS)
    workdir = tmp_path_factory.mktemp('gevent-logins')
    app = AppServer('gevent_app:app', server='gevent', env={
        'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(workdir / 'logs'),
        'GEVENT_APP_SLOW_HASH': canister.hash_password(PASSWORD, 'pbkdf2', iterations=rounds)})
    app.hash_seconds = took
    app.hash_rounds = rounds
    app.log_dir = workdir / 'logs'
    return app.start()


def from_address(number, **headers):
    """Headers naming the client 10.0.3.<number> (each test a client of its own for the login throttle)."""
    return {'X-Forwarded-For': '10.0.3.%d' % number, **headers}


def one_hash_seconds(rounds):
    """What one check of a hash of ``rounds`` takes here now."""
    started = time.perf_counter()
    hashlib.pbkdf2_hmac('sha256', b'password', b'salt' * 4, rounds)
    return time.perf_counter() - started


def pinged_during_a_login(slow_hash_server, call):
    """:func:`servers.pinged_during` for a login; the login sent again (up to 3 times) only when another job's load
    made a ping slow beside it or left fewer than three pings (a server stopped by the hash fails each time).  Not for
    a Basic login that succeeds: canister remembers the password checked, and a second one costs no hash."""
    for _ in range(3):
        login, pings = pinged_during(slow_hash_server, call)
        if len(pings) >= 3 and max(pings) < login.elapsed / 3:
            break
    return login, pings


def assert_pings_answered_during_login(slow_hash_server, login, pings):
    # the hash was checked, and took its time: at least half of what one check takes, at calibration or now (the
    # shorter: a machine busier during the calibration than during the login made it look long)
    hash_seconds = min(slow_hash_server.hash_seconds, one_hash_seconds(slow_hash_server.hash_rounds))
    assert login.elapsed > hash_seconds / 2, (login, hash_seconds)
    assert max(pings) < login.elapsed / 3, 'a ping waited %.2fs for a login of %.2fs' % (max(pings), login.elapsed)
    assert len(pings) >= 3, (login.elapsed, pings)


def test_a_basic_login_under_gevent_lets_the_other_requests_be_answered_meanwhile(slow_hash_server, tmp_path_factory):
    headers = from_address(1, Authorization=basic('slow', PASSWORD))
    # Once per server: a password checked right is then remembered for 5 minutes, and would cost no hash.  So a
    # login sent again (up to 3 times, only when another job's load made a ping slow beside it or left fewer than
    # three pings, as pinged_during_a_login does) goes to a server of its own, which has checked no password yet.
    server, started = slow_hash_server, []
    try:
        for _ in range(3):
            login, pings = pinged_during(server, lambda url=server.url: Client(url).get('/read', headers=headers))
            if len(pings) >= 3 and max(pings) < login.elapsed / 3:
                break
            server = started_slow_hash_server(tmp_path_factory)
            started.append(server)

        assert (login.status, login.json()['user']) == (200, 'slow')
        assert_pings_answered_during_login(server, login, pings)
    finally:
        for other in started:
            other.cleanup()


def test_a_basic_login_of_an_unknown_user_under_gevent_costs_the_hash_but_stops_no_one(slow_hash_server):
    headers = from_address(2, Authorization=basic('nobody', PASSWORD))
    login, pings = pinged_during_a_login(slow_hash_server, lambda: Client(slow_hash_server.url).get('/read', headers=headers))

    assert login.status == 401
    assert_pings_answered_during_login(slow_hash_server, login, pings)


def form_login(slow_hash_server, username, password, number):
    """POST /form-login (canister.log_in) from the client 10.0.3.<number>."""
    body = urllib.parse.urlencode({'username': username, 'password': password})
    return Client(slow_hash_server.url).request('POST', '/form-login', body=body, headers=from_address(
        number, **{'Content-Type': 'application/x-www-form-urlencoded'}))


def test_a_form_login_under_gevent_lets_the_other_requests_be_answered_meanwhile(slow_hash_server):
    login, pings = pinged_during_a_login(slow_hash_server, lambda: form_login(slow_hash_server, 'slow', PASSWORD, 3))
    wrong, wrong_pings = pinged_during_a_login(slow_hash_server, lambda: form_login(slow_hash_server, 'slow', 'wrong horse', 3))

    assert (login.status, login.json()['user']) == (200, 'slow')
    assert wrong.status == 401
    assert_pings_answered_during_login(slow_hash_server, login, pings)
    assert_pings_answered_during_login(slow_hash_server, wrong, wrong_pings)


def test_verify_password_in_a_handler_under_gevent_lets_the_other_requests_be_answered_meanwhile(slow_hash_server):
    login, pings = pinged_during_a_login(slow_hash_server,
                                         lambda: Client(slow_hash_server.url).get('/verify?password=correct+horse'))

    assert (login.status, login.json()) == (200, {'right': True})
    assert_pings_answered_during_login(slow_hash_server, login, pings)


def test_a_stored_form_that_cannot_be_read_is_a_wrong_password_under_gevent_too(slow_hash_server):
    answer = form_login(slow_hash_server, 'broken', PASSWORD, 4)  # its check raises ValueError, in the pool

    assert answer.status == 401
    assert 'Traceback' not in slow_hash_server.output()
    assert "Authentication failed: wrong password for 'broken'" in read_log(slow_hash_server.log_dir)
