"""A read of a Redis session never shortens its life: a remembered session ("remember me") keeps its own
length even when the request that read it never gets to save (a gunicorn worker killed by its ``--timeout``,
a process that dies), and a plain session still slides to ``session_timeout`` at each read.

A real redis-server, and tests/apps/remember_app.py under a real gunicorn whose ``--timeout`` (1 s) kills the
worker of a handler that sleeps past it; or an app in this process whose handler asks Redis what its session has
left, after the read and before any save: the read script finds the length at the end of the record, whatever the
record codec writes there (a users-file login's line follows it)."""
import json
import time

import pytest
import redis

from canister import session
from helpers import COOKIE, basic, client, cookie_value, with_cookie, write_users
from servers import AppServer, Client

KEY = 'canister:session:'


@pytest.fixture
def remember_server(redis_server, started, tmp_path):
    """``remember_server(timeout)``: remember_app under gunicorn (one sync worker, ``--timeout 1``) on the
    redis_server, with ``session_timeout`` = ``timeout``; its Client (a cookie jar) and a redis-py client."""
    database = redis.Redis(port=redis_server.port)

    def _serve(timeout):
        server = AppServer('remember_app:app', workers=1, args=['--timeout', '1'],
                           env={'CANISTER_SESSION_STORE': redis_server.url, 'REMEMBER_APP_TIMEOUT': str(timeout),
                                'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
        started.append(server)
        server.start()
        return Client(server.url), database

    yield _serve
    database.close()


def killed_mid_handler(browser):
    """Send a request whose handler reads the session, then sleeps past gunicorn's ``--timeout``: the worker is
    aborted in the handler (gunicorn's SIGABRT, a SystemExit there), before the response and the session's save,
    and gunicorn answers a 500 of its own; True once it did."""
    answer = browser.get('/stall?seconds=60', timeout=50)
    # (aborted by the --timeout, not by the client, and well before the handler's sleep would end, however slow a
    # loaded machine makes gunicorn's master to notice the timeout)
    assert answer.status == 500 and answer.elapsed < 40, answer
    return True


def test_a_remembered_redis_session_whose_request_is_killed_mid_handler_keeps_its_length_and_its_login(
        remember_server):
    browser, database = remember_server(timeout=3)
    assert browser.get('/login?name=alice&remember=3600').text == 'alice'
    sid = browser.cookies[COOKIE]
    assert database.pttl(KEY + sid) > 3590 * 1000
    read = time.monotonic()
    killed_mid_handler(browser)
    assert database.pttl(KEY + sid) > 3590 * 1000, 'the read cut the remembered session to session_timeout'
    time.sleep(max(3 + 0.5 - (time.monotonic() - read), 0))  # past session_timeout since that read
    assert browser.get('/whoami').text == 'alice'


def test_a_redis_session_remembered_for_less_than_the_timeout_keeps_its_own_length_when_its_request_is_killed(
        remember_server):
    browser, database = remember_server(timeout=600)
    assert browser.get('/login?name=alice&remember=30').text == 'alice'
    sid = browser.cookies[COOKIE]
    database.pexpire(KEY + sid, 10000)  # (20 s of its 30 gone)
    killed_mid_handler(browser)
    assert 20 * 1000 < database.pttl(KEY + sid) <= 30 * 1000, 'the read gave the session the timeout'
    assert browser.get('/whoami').text == 'alice'


def test_a_plain_redis_session_slides_to_the_timeout_at_each_read_also_when_the_request_is_killed(
        remember_server):
    """What stays as it was: a session without a length of its own is extended by its read."""
    browser, database = remember_server(timeout=600)
    assert browser.get('/login?name=bob').text == 'bob'
    sid = browser.cookies[COOKIE]
    for read in (lambda: browser.get('/whoami').text == 'bob', lambda: killed_mid_handler(browser)):
        database.pexpire(KEY + sid, 5000)
        assert read()
        assert 590 * 1000 < database.pttl(KEY + sid) <= 600 * 1000
    assert browser.get('/whoami').text == 'bob'


@pytest.fixture
def life_app(make_app, redis_server, tmp_path):
    """An app on the redis_server (session_timeout 600 s, a users file with alice) whose /life answers the session's
    user and what it has left in ms, asked of Redis in the handler: after the session's read, before any save."""
    users = write_users(tmp_path / 'users', alice='secret')
    app = make_app(session_store=redis_server.url, session_timeout=600, auth_basic_users_file=str(users))
    database = redis.Redis(port=redis_server.port)

    @app.get('/login')
    def login(seconds: int, name: str = ''):
        if name:
            session.user = name
        session.remember(seconds)
        return session.user

    @app.get('/life')
    def life():
        return '%s %d' % (session.user, database.pttl(KEY + session.sid))

    yield app, database
    database.close()


@pytest.mark.parametrize('login, credentials, fields', [
    ('/login?seconds=3600&name=bob', {}, 5),
    ('/login?seconds=3600', {'Authorization': basic('alice', 'secret')}, 6),  # (a users-file login: its line ends it)
], ids=['a user the app set', 'a users-file login'])
def test_the_read_of_a_remembered_redis_session_extends_it_to_its_own_length_whatever_ends_its_record(
        life_app, login, credentials, fields):
    app, database = life_app
    answer = client(app).get(login, headers=credentials)
    sid = cookie_value(answer)
    assert len(json.loads(database.get(KEY + sid))) == fields
    database.pexpire(KEY + sid, 5000)

    shown, left = client(app).get('/life', headers=dict(with_cookie(sid), **credentials)).text.split()

    assert shown == answer.text
    assert int(left) > 3590 * 1000, 'the read gave a remembered session session_timeout, not its own length'
