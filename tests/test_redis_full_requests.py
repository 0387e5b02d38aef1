"""What each kind of request gets from a Redis that is full, on real redis-servers (7.x and 5.0.6).

Full: ``maxmemory`` below what Redis holds under ``maxmemory-policy noeviction`` (``CONFIG SET maxmemory 1``), as a
real one that filled up: Redis refuses every command that may add memory (``SET``, ``SADD``, the login throttle's
``INCR``: ``OOM command not allowed when used memory > 'maxmemory'``) and answers the others (``GET``, ``PTTL``, and
``PEXPIRE``, which adds none).  So the read script, which reads a session and extends its life, still runs: a request
that only reads its session is served, logged in as before, and its session's life is extended; one that changes
its session, makes one or logs in answers 503 with ``Retry-After: 1``, and an ERROR line says Redis is full (a logout
logs out all the same: tests/test_redis_full_logout.py).  Never a 500, never a traceback.
"""
import time

import pytest

import canister
from canister import session
from helpers import UNAVAILABLE, basic, client, count_route, fill_up, read_log, with_cookie

THROTTLE_UNAVAILABLE = ('Service unavailable: the login cannot be counted against the limit of failed logins (the '
                        'session store that keeps the count cannot be reached or written), retry shortly\n')
#: The end of the ERROR line of a write Redis refused, the same on each Redis (no Lua script's note before 7).
FULL = ("command not allowed when used memory > 'maxmemory'. (Redis is full (maxmemory reached): raise maxmemory, and "
        "keep maxmemory-policy noeviction: a policy that evicts would take keys canister needs besides sessions, the "
        "login throttle's counts among them)")


def full_app(make_app, server):
    """An app whose routes read, count and log in on ``server``; catchall on, so that an exception is a 500."""
    app = make_app(session_store=server.url, session_timeout=600, catchall=True,
                   auth_basic_username='alice', auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
    app.get('/read')(lambda: {'read': [session.user, session.data]})
    app.get('/login')(lambda: setattr(session, 'user', 'alice') or 'in')
    count_route(app, 'count')

    @app.post('/form-login')
    def form_login(username: str, password: str):
        return str(canister.log_in(username, password))

    return app


def error_lines(log_dir):
    """The log's ERROR lines other than the Response lines of 5xx answers."""
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]


def assert_no_traceback(answer, log_dir):
    assert 'Traceback' not in answer.text and 'Traceback' not in read_log(log_dir)


def test_on_a_full_redis_a_request_that_only_reads_its_session_is_served_and_extends_its_life(
        make_app, any_redis, log_dir):
    app = full_app(make_app, any_redis)
    web = client(app)
    web.get('/count')
    sid = web.get('/login').headers['Set-Cookie'].split('=', 1)[1].split(';')[0]
    full = fill_up(any_redis)
    time.sleep(0.05)                                  # (the session has some life to get back)
    before = full.pttl('canister:session:' + sid)
    answer = web.get('/read', headers=with_cookie(sid), expect_errors=True)
    assert answer.status_int == 200 and answer.json['read'] == ['alice', {'count': 1}], answer
    assert full.pttl('canister:session:' + sid) > before  # PEXPIRE adds no memory: a full Redis takes it
    assert error_lines(log_dir) == []
    assert_no_traceback(answer, log_dir)


def test_on_a_full_redis_that_lost_the_read_script_a_read_loads_it_again_and_is_served(make_app, any_redis, log_dir):
    """``SCRIPT FLUSH`` stands for a Redis that restarted full (or a replica that took over): the read meets
    ``NOSCRIPT``, and ``SCRIPT LOAD``, which a full Redis takes, then the read script."""
    app = full_app(make_app, any_redis)
    web = client(app)
    web.get('/login')
    full = fill_up(any_redis)
    full.script_flush()
    answer = web.get('/read', expect_errors=True)
    assert answer.status_int == 200 and answer.json['read'] == ['alice', {}], answer
    assert error_lines(log_dir) == []


def test_on_a_full_redis_a_request_that_changes_its_session_answers_503_and_the_session_stays_as_it_was(
        make_app, any_redis, log_dir):
    app = full_app(make_app, any_redis)
    web = client(app)
    assert web.get('/count').text == '1'
    full = fill_up(any_redis)
    answer = web.get('/count', expect_errors=True)
    assert (answer.status_int, answer.headers['Retry-After'], answer.text) == (503, '1', UNAVAILABLE)
    [line] = error_lines(log_dir)
    assert line.endswith('the Redis session store is unavailable: ' + FULL), line  # (the update script's)
    full.config_set('maxmemory', '0')
    assert web.get('/count').text == '2'              # the change was not half made
    assert_no_traceback(answer, log_dir)


def test_on_a_full_redis_a_login_answers_503_and_the_browser_stays_logged_out(make_app, any_redis, log_dir):
    """The login of a browser that has a session (``session.user =``, which moves it to a new id): 503, no cookie
    of a new session, and the old one still answers, anonymous, with its data."""
    app = full_app(make_app, any_redis)
    web = client(app)
    web.get('/count')
    full = fill_up(any_redis)
    answer = web.get('/login', expect_errors=True)
    assert (answer.status_int, answer.headers['Retry-After'], answer.text) == (503, '1', UNAVAILABLE)
    assert 'Set-Cookie' not in answer.headers
    assert web.get('/read').json['read'] == [None, {'count': 1}]
    [line] = error_lines(log_dir)
    assert line.endswith('the Redis session store is unavailable: SET failed: ' + FULL), line
    full.config_set('maxmemory', '0')
    assert [key for key in full.keys('canister:session:*') if b':user:' in key] == []  # no set lists a login
    assert_no_traceback(answer, log_dir)


@pytest.mark.parametrize('how', ['basic', 'form'])
def test_on_a_full_redis_a_password_login_answers_503_saying_it_cannot_be_counted(make_app, any_redis, log_dir, how):
    app = full_app(make_app, any_redis)
    fill_up(any_redis)
    web = client(app)
    if how == 'basic':
        answer = web.get('/read', headers={'Authorization': basic('alice', 'wonderland')}, expect_errors=True)
    else:
        answer = web.post('/form-login', {'username': 'alice', 'password': 'wonderland'}, expect_errors=True)
    assert (answer.status_int, answer.headers['Retry-After'], answer.text) == (503, '1', THROTTLE_UNAVAILABLE)
    [line] = error_lines(log_dir)
    assert line.endswith('the Redis login throttle is unavailable: ' + FULL), line  # (the throttle's script)
    assert_no_traceback(answer, log_dir)
