"""Resource exhaustion, tried as an attacker with a script would: what one client can make a process hold
or a store work through.  Real SQLite files and a real redis-server."""
from __future__ import annotations

import gc
import json
import tracemalloc

import redis

from canister import session
from helpers import basic, cookieless_client, sqlite_url
from session_kit import add_keep_routes, add_session_routes, plugin_of


def test_sessions_of_a_quarter_megabyte_each_on_a_sqlite_store_are_not_kept_in_the_process(make_app, tmp_path):
    """The decoded records a process keeps (up to 1,024) held the record and its values whatever their
    size: 64 drafts of 256 KiB kept 32 MiB in a process whose sessions live in a SQLite file."""
    app = add_keep_routes(make_app(session_store=sqlite_url(tmp_path / 'sessions.db')), '/draft')
    web = cookieless_client(app)
    web.post('/draft', json.dumps({'name': 'warm-up'}), content_type='application/json')
    text = 'x' * 262144
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        answers = [web.post('/draft', json.dumps({'name': text[:-2] + '%02d' % number}),
                            content_type='application/json') for number in range(64)]
        del answers[1:]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 4 << 20, grown
    cookie = answers[0].headers['Set-Cookie'].split(';')[0]
    assert web.get('/draft', headers={'Cookie': cookie}).text == text[:-2] + '00'


def test_logins_of_one_account_at_the_cap_list_its_sessions_once_per_tenth_of_the_cap(make_app, redis_server):
    """One account sending its Basic credentials again and again without a cookie: each request is a
    login, and each login at the cap listed all of the account's sessions to end one (on Redis, SMEMBERS
    and a GET and PTTL of each: 2,000 commands and 30 ms a request at the default cap, against 1 ms)."""
    app = make_app(session_store=redis_server.url, session_max_per_user=100, auth_basic_username='mallory',
                   auth_basic_password='m-pw', auth_basic_encryption='clear', auth_max_failures=1000)
    add_session_routes(app)
    web = cookieless_client(app)
    credentials = {'Authorization': basic('mallory', 'm-pw')}
    for _ in range(100):
        web.get('/set?key=k&value=v', headers=credentials)
    server = redis.Redis.from_url(redis_server.url)
    server.config_resetstat()

    for _ in range(50):
        web.get('/set?key=k&value=v', headers=credentials)

    listings = server.info('commandstats').get('cmdstat_smembers', {}).get('calls', 0)
    left = len(plugin_of(app).sessions_of('mallory'))
    assert 1 <= listings <= 5, listings
    assert 90 <= left <= 100, left


def logins_of_alice(make_app, tmp_path, clock, cap, logins):
    """An app on a SQLite store with ``session_max_per_user=cap`` and ``/who`` (the session's user), a client
    keeping no cookie, and the cookies of ``logins`` logins of alice, 10 ms apart: (app, client, cookies)."""
    app = make_app(session_store=sqlite_url(tmp_path / 'sessions.db'), session_max_per_user=cap)
    add_session_routes(app)

    @app.get('/who')
    def who():
        return str(session.user)

    web = cookieless_client(app)
    cookies = []
    for _ in range(logins):
        clock.advance(0.01)
        cookies.append(web.get('/login?name=alice').headers['Set-Cookie'].split(';')[0])
    return app, web, cookies


def test_a_login_past_a_cap_of_100_ends_the_11_least_recently_used_and_leaves_90(make_app, tmp_path, clock):
    app, web, cookies = logins_of_alice(make_app, tmp_path, clock, cap=100, logins=101)

    users = [web.get('/who', headers={'Cookie': cookie}).text for cookie in cookies]
    assert users == ['None'] * 11 + ['alice'] * 90
    assert len(plugin_of(app).sessions_of('alice')) == 90


def test_a_login_past_the_cap_ends_only_as_many_sessions_in_use_as_the_cap_requires(make_app, tmp_path, clock):
    """A shared account's browsers, each used after its login (a kiosk's): the 21st login past a cap of 20
    ended the 3 least recently used, 2 of them for the room alone; the room takes only sessions unused since
    their login, those a client sending its credentials without a cookie leaves."""
    app, web, cookies = logins_of_alice(make_app, tmp_path, clock, cap=20, logins=20)
    clock.advance(5)
    for cookie in cookies:
        clock.advance(0.01)
        assert web.get('/who', headers={'Cookie': cookie}).text == 'alice'
    clock.advance(5)
    web.get('/login?name=alice')

    users = [web.get('/who', headers={'Cookie': cookie}).text for cookie in cookies]
    assert users == ['None'] + ['alice'] * 19
