"""Session features: a new user is a new session, private answers, data replacement, regenerate,
ending a user's sessions everywhere, remember me, private SQLite files, exact expiry, custom stores.

Requests go through WebTest with the session cookie sent by hand, on each store canister ships
(memory, SQLite, a real redis-server) where the store matters.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import time

import bottle
import pytest
import webtest

import canister
from canister import session
from helpers import COOKIE, basic, cookieless_client, read_log, signed_token, sleep_until, write_users
from session_kit import (STORES, FourMethodStore, add_session_routes, expires_cookie, make_store_url, plain_timeout,
                         plugin_of)


class Web:
    """WebTest without a cookie jar: ``get(path, sid)`` sends that session cookie, or none."""

    def __init__(self, app):
        self.test = cookieless_client(app)

    def get(self, path, sid=None, headers=None, status=200):
        sent = dict(headers or {})
        if sid:
            sent['Cookie'] = '%s=%s' % (COOKIE, sid)
        return self.test.get(path, headers=sent, status=status)

    def read(self, sid):
        """[user, data] of the session ``sid`` names."""
        return json.loads(self.get('/read', sid).text)

    def login(self, name, sid=None):
        """Log ``name`` in (on the session ``sid``, else a new one); the session id afterwards."""
        return new_sid(self.get('/login?name=' + name, sid)) or sid

    def remember(self, sid, seconds):
        """Remember the session ``sid`` for ``seconds``; its id afterwards."""
        return new_sid(self.get('/remember?seconds=%d' % seconds, sid)) or sid


def session_cookies(response):
    return [value for value in response.headers.getall('Set-Cookie') if value.startswith(COOKIE + '=')]


def new_sid(response):
    """The session id the answer's cookie sets (None if it sets none, '' if it expires it)."""
    for value in session_cookies(response):
        return '' if expires_cookie(value) else value.split(';')[0][len(COOKIE) + 1:]
    return None


def header_parts(response, name):
    return [part.strip() for value in response.headers.getall(name) for part in value.split(',')]


def feature_app(make_app, **overrides):
    """An app whose routes use every session feature."""
    app = make_app(**overrides)
    plugin = plugin_of(app)

    add_session_routes(app)

    @app.get('/login-sub')
    def login_sub(sub):
        session.user = {'sub': sub, 'role': 'member'}
        return 'ok'

    @app.get('/read')
    def read():
        return json.dumps([session.user, session.data])

    @app.get('/whoami')
    def whoami():
        return 'user=%s' % (session.user,)

    @app.get('/no-store')
    def no_store():
        bottle.response.set_header('Cache-Control', 'no-store')
        return json.dumps(session.data)

    @app.get('/forbidden')
    def forbidden():
        if session.user != 'root':
            bottle.abort(403, 'not for %s' % session.user)
        return 'ok'

    @app.get('/elsewhere')
    def elsewhere():
        bottle.redirect('/read?from=' + str(session.data.get('k')))

    @app.get('/vary')
    def vary():
        bottle.response.set_header('Vary', 'Accept-Encoding')
        return json.dumps(session.data)

    @app.get('/replace')
    def replace():
        session.data = {'new': 'yes'}
        return 'ok'

    @app.get('/regenerate')
    def regenerate():
        session.regenerate()
        return 'ok'

    @app.get('/remember')
    def remember(seconds: int):
        session.remember(seconds)
        return 'ok'

    @app.get('/nobody')
    def nobody():
        session.user = None
        return 'ok'

    @app.get('/fails')
    def fails():
        bottle.abort(502, 'the backend of %s is down' % session.user)

    @app.get('/export')
    def export():
        yield 'header line\n'
        yield 'rows of %s\n' % session.user       # the session first read after the response started

    @app.get('/unstorable')
    def unstorable():
        session.data['when'] = datetime.datetime(2026, 12, 5)  # no session can store it: a 500, nothing saved
        return 'ok'

    @app.get('/unstorable-late')
    def unstorable_late():
        yield 'header line\n'
        session.data['when'] = datetime.datetime(2026, 12, 5)  # the same, in a body already being sent

    @app.get('/end')
    def end(name):
        return str(plugin.end_sessions(name))

    @app.get('/mine')
    def mine():
        return json.dumps(plugin.sessions_of(session.user))

    @app.get('/sessions-of-alice')
    def sessions_of_alice():
        return json.dumps(plugin.sessions_of('alice'))

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    return app


# --------------------------------------------------------------------------
# a new user is a new session

def test_a_different_user_logging_in_on_the_same_browser_starts_with_empty_data(make_app):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    web.get('/set?key=card&value=4111', alice)
    assert web.read(alice) == ['alice', {'card': '4111'}]

    bob = web.login('bob', alice)
    assert bob and bob != alice
    assert web.read(bob) == ['bob', {}]


def test_the_same_user_logging_in_again_keeps_the_data(make_app):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    web.get('/set?key=card&value=4111', alice)
    again = web.login('alice', alice)
    assert web.read(again) == ['alice', {'card': '4111'}]


def test_the_anonymous_cart_survives_logging_in(make_app):
    web = Web(feature_app(make_app))
    anonymous = new_sid(web.get('/set?key=cart&value=3-books'))
    alice = web.login('alice', anonymous)
    assert web.read(alice) == ['alice', {'cart': '3-books'}]


def test_a_dict_user_with_another_sub_starts_with_empty_data(make_app):
    web = Web(feature_app(make_app))
    carol = new_sid(web.get('/login-sub?sub=carol'))
    web.get('/set?key=card&value=4111', carol)
    dave = new_sid(web.get('/login-sub?sub=dave', carol))
    assert dave and dave != carol
    assert web.read(dave) == [{'sub': 'dave', 'role': 'member'}, {}]


def test_logging_out_through_session_user_takes_the_data_along(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)

    @app.get('/nobody')
    def nobody():
        session.user = None
        return 'ok'

    web = Web(app)
    alice = web.login('alice')
    web.get('/set?key=card&value=4111', alice)
    anonymous = new_sid(web.get('/nobody', alice))
    assert anonymous and anonymous != alice
    assert web.read(anonymous) == [None, {}]
    bob = web.login('bob', anonymous)
    assert web.read(bob) == ['bob', {}]


# a token's login that lapses, and a refreshed token

JWT_SECRET = 'Vq3Lr8Zt1Wm6Xc4Bn9Hs2Jd7Fg5Pa0-Tq1Ye8Ui3Oo6Kl9Mz2Nx7Cv4Bb5Vn1Q'


def bearer_value(sub, seconds=600, **claims):
    """An Authorization header value sending a token of ``sub`` for ``seconds`` with these claims."""
    return 'Bearer ' + signed_token(JWT_SECRET, sub=sub, exp=int(time.time()) + seconds, **claims)


def jwt_feature_web(make_app, store_url):
    return Web(feature_app(make_app, session_store=store_url, auth_jwt_secret=JWT_SECRET))


def subject_and_data(response):
    user, data = json.loads(response.text)
    return [user and user['sub'], data]


def lapsed_session(web, clock):
    """alice's session (with her data) whose token login has lapsed: its id."""
    alice = new_sid(web.get('/set?key=note&value=private', headers={'Authorization': bearer_value('alice')}))
    assert subject_and_data(web.get('/read', alice)) == ['alice', {'note': 'private'}]
    clock.advance(601)
    assert web.read(alice) == [None, {'note': 'private'}]
    web.get('/set?key=seen&value=yes', alice)  # saved while nobody is logged in
    web.get('/remember?seconds=3600', alice)
    return alice


def test_after_a_token_login_lapses_another_person_logging_in_starts_with_empty_data(make_app, store_url, clock):
    web = jwt_feature_web(make_app, store_url)
    alice = lapsed_session(web, clock)
    response = web.get('/read', alice, headers={'Authorization': bearer_value('bob', 1200)})
    assert subject_and_data(response) == ['bob', {}]
    assert new_sid(response) not in (None, '', alice)


def test_after_a_token_login_lapses_the_same_person_logging_in_again_keeps_the_data(make_app, store_url, clock):
    web = jwt_feature_web(make_app, store_url)
    alice = lapsed_session(web, clock)
    response = web.get('/read', alice, headers={'Authorization': bearer_value('alice', 1200)})
    assert subject_and_data(response) == ['alice', {'note': 'private', 'seen': 'yes'}]


def test_a_logout_after_a_token_login_lapsed_moves_the_session_and_unlists_it(make_app, store_url, clock):
    web = jwt_feature_web(make_app, store_url)
    alice = lapsed_session(web, clock)
    response = web.get('/nobody', alice)
    assert new_sid(response) not in (None, '', alice)   # a logout gives a new id, as any other
    assert web.read(alice) == [None, {}]
    assert web.read(new_sid(response)) == [None, {}]
    assert plugin_of(web.test.app).sessions_of('alice') == []


def test_a_refreshed_token_of_the_same_person_keeps_the_session_and_its_id(make_app, store_url):
    web = jwt_feature_web(make_app, store_url)
    alice = new_sid(web.get('/set?key=cart&value=tea', headers={'Authorization': bearer_value('alice', 300, iat=1)}))
    refreshed = bearer_value('alice', 900, iat=2)
    response = web.get('/read', alice, headers={'Authorization': refreshed})
    assert subject_and_data(response) == ['alice', {'cart': 'tea'}]
    assert new_sid(response) is None  # the same id: no new cookie
    assert json.loads(web.get('/read', alice).text)[0]['iat'] == 2  # the session holds the new claims


def basic_users_app(make_app, tmp_path):
    users = write_users(tmp_path / 'users', alice='a-pw', bob='b-pw')
    return Web(feature_app(make_app, auth_basic_users_file=str(users)))


def test_basic_bob_after_basic_alice_on_the_same_browser_does_not_see_her_data(make_app, tmp_path):
    web = basic_users_app(make_app, tmp_path)
    alice = new_sid(web.get('/set?key=card&value=4111', headers={'Authorization': basic('alice', 'a-pw')}))
    assert json.loads(web.get('/read', alice, headers={'Authorization': basic('alice', 'a-pw')}).text) == [
        'alice', {'card': '4111'}]

    response = web.get('/read', alice, headers={'Authorization': basic('bob', 'b-pw')})
    assert json.loads(response.text) == ['bob', {}]
    assert new_sid(response) not in (None, '', alice)


def test_an_anonymous_cart_survives_a_basic_login(make_app, tmp_path):
    web = basic_users_app(make_app, tmp_path)
    anonymous = new_sid(web.get('/set?key=cart&value=3-books'))
    response = web.get('/read', anonymous, headers={'Authorization': basic('alice', 'a-pw')})
    assert json.loads(response.text) == ['alice', {'cart': '3-books'}]


# --------------------------------------------------------------------------
# private answers

@pytest.mark.parametrize('path', ['/read', '/whoami'])
def test_an_answer_built_from_a_loaded_session_varies_on_the_cookie_and_is_private(make_app, path):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    response = web.get(path, alice)
    assert session_cookies(response) == []  # no new cookie: the headers come from reading the session
    assert 'Cookie' in header_parts(response, 'Vary')
    assert header_parts(response, 'Cache-Control') == ['private']


def test_a_cache_control_set_by_the_handler_is_kept_on_a_session_answer(make_app):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    response = web.get('/no-store', alice)
    assert response.headers['Cache-Control'] == 'no-store'
    assert 'Cookie' in header_parts(response, 'Vary')


@pytest.mark.parametrize('path, status', [('/forbidden', 403), ('/elsewhere', 303)])
def test_an_error_or_redirect_built_from_a_loaded_session_is_private_too(make_app, path, status):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    response = web.get(path, alice, status='*')
    assert response.status_int in (status, 302), response
    assert 'Cookie' in header_parts(response, 'Vary')
    assert 'private' in header_parts(response, 'Cache-Control')


def test_the_cookie_is_added_to_a_vary_header_set_by_the_handler(make_app):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    response = web.get('/vary', alice)
    assert set(header_parts(response, 'Vary')) == {'Accept-Encoding', 'Cookie'}


# --------------------------------------------------------------------------
# data replacement and regenerate

def test_assigning_session_data_replaces_it(make_app, store_url):
    web = Web(feature_app(make_app, session_store=store_url))
    alice = web.login('alice')
    web.get('/set?key=old&value=1', alice)
    assert web.get('/replace', alice).text == 'ok'
    assert web.read(alice) == ['alice', {'new': 'yes'}]


def test_regenerate_gives_a_new_id_that_keeps_data_and_user_and_ends_the_old_one(make_app, store_url):
    web = Web(feature_app(make_app, session_store=store_url))
    alice = web.login('alice')
    web.get('/set?key=k&value=v', alice)
    fresh = new_sid(web.get('/regenerate', alice))
    assert fresh and fresh != alice
    assert web.read(fresh) == ['alice', {'k': 'v'}]
    assert web.read(alice) == [None, {}]


# --------------------------------------------------------------------------
# ending a user's sessions everywhere

def three_alices_and_others(web):
    alices = [web.login('alice') for _ in range(3)]
    for number, sid in enumerate(alices):
        web.get('/set?key=device&value=%d' % number, sid)
    bob = web.login('bob')
    anonymous = new_sid(web.get('/set?key=cart&value=1'))
    return alices, bob, anonymous


def assert_entries_without_ids(entries, sids, started, current=None):
    now = time.time()
    for entry in entries:
        assert set(entry) >= {'created', 'last_used', 'current'}, entry
        assert isinstance(entry['created'], float) and started - 1 <= entry['created'] <= now + 1, entry
        last_used = entry['last_used']
        assert last_used is None or (isinstance(last_used, float) and entry['created'] - 1 <= last_used <= now + 1)
        text = repr(entry)
        assert not any(sid[:12] in text for sid in sids), 'an entry shows a session id: %r' % entry
    if current is not None:
        assert [entry['current'] for entry in entries].count(True) == current, entries


def test_sessions_of_lists_each_live_session_of_a_user_without_its_id(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web, started = plugin_of(app), Web(app), time.time()
    alices, bob, anonymous = three_alices_and_others(web)

    entries = plugin.sessions_of('alice')  # from outside any request
    assert len(entries) == 3
    assert_entries_without_ids(entries, alices + [bob, anonymous], started, current=0)
    assert len(plugin.sessions_of('bob')) == 1
    assert plugin.sessions_of('nobody') == []


def test_sessions_of_lists_the_oldest_session_first(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web = plugin_of(app), Web(app)
    for _ in range(3):
        web.login('alice')
        time.sleep(0.01)
    created = [entry['created'] for entry in plugin.sessions_of('alice')]
    assert len(created) == 3 and created == sorted(created) and created[0] < created[2], created


def test_last_used_is_none_for_a_session_without_timeout(make_app, store_url):
    app = feature_app(make_app, session_store=store_url, session_timeout=0)
    plugin, web = plugin_of(app), Web(app)
    web.login('alice')
    assert [entry['last_used'] for entry in plugin.sessions_of('alice')] == [None]


def test_last_used_is_none_for_a_session_whose_expiry_is_its_session_max_age(make_app, store_url):
    """README: last_used is None where the expiry does not tell, such as a session at its session_max_age (its
    expiry then is its creation plus that, whenever it was last used)."""
    app = feature_app(make_app, session_store=store_url, session_timeout=600, session_max_age=300)
    plugin, web = plugin_of(app), Web(app)
    web.read(web.login('alice'))
    assert [entry['last_used'] for entry in plugin.sessions_of('alice')] == [None]


def test_last_used_follows_the_sliding_timeout(make_app, store_url):
    app = feature_app(make_app, session_store=store_url, session_timeout=600)
    plugin, web = plugin_of(app), Web(app)
    alice = web.login('alice')
    time.sleep(0.3)
    before = time.time()
    web.read(alice)
    (entry,) = plugin.sessions_of('alice')
    assert entry['last_used'] is not None and before - 0.05 <= entry['last_used'] <= time.time() + 0.05, entry
    assert entry['last_used'] - entry['created'] >= 0.25, entry


def test_sessions_of_inside_a_request_marks_the_current_session(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    web, started = Web(app), time.time()
    alices, bob, anonymous = three_alices_and_others(web)
    entries = json.loads(web.get('/mine', alices[1]).text)
    assert len(entries) == 3
    assert_entries_without_ids(entries, alices + [bob, anonymous], started, current=1)


def test_end_sessions_from_a_script_ends_every_session_of_that_user_and_no_other(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web = plugin_of(app), Web(app)
    alices, bob, anonymous = three_alices_and_others(web)

    assert plugin.end_sessions('alice') == 3
    for sid in alices:
        assert web.read(sid) == [None, {}]
    assert plugin.sessions_of('alice') == []
    assert web.read(bob) == ['bob', {}]
    assert web.read(anonymous) == [None, {'cart': '1'}]
    assert plugin.end_sessions('alice') == 0


@pytest.mark.parametrize('when', ['before install', 'after uninstall'])
def test_end_sessions_and_sessions_of_of_a_plugin_not_installed_say_to_install_it(when):
    plugin = canister.Canister(log_path='stderr', log_level='DISABLED')
    if when == 'after uninstall':
        app = bottle.Bottle()
        app.install(plugin)
        app.uninstall(plugin)
    for call in (plugin.end_sessions, plugin.sessions_of):
        with pytest.raises(canister.CanisterError, match=r'need the plugin installed on an app \(app.install'):
            call('alice')


def test_end_sessions_in_a_request_ends_every_session_of_that_user(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    web = Web(app)
    alices, bob, anonymous = three_alices_and_others(web)
    assert web.get('/end?name=alice', bob).text == '3'
    for sid in alices:
        assert web.read(sid) == [None, {}]
    assert web.read(bob) == ['bob', {}]


def test_end_other_sessions_keeps_only_the_current_one(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web = plugin_of(app), Web(app)
    alices, bob, anonymous = three_alices_and_others(web)

    answer = web.get('/end-others', alices[0])
    assert answer.text == '2'
    assert web.read(new_sid(answer)) == ['alice', {'device': '0'}]
    for sid in alices[1:]:
        assert web.read(sid) == [None, {}]
    assert len(plugin.sessions_of('alice')) == 1
    assert web.read(bob) == ['bob', {}]


def test_a_dict_user_is_found_and_ended_by_its_sub_claim(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web = plugin_of(app), Web(app)
    carols = [new_sid(web.get('/login-sub?sub=carol')) for _ in range(2)]
    assert len(plugin.sessions_of('carol')) == 2
    assert plugin.end_sessions('carol') == 2
    for sid in carols:
        assert web.read(sid) == [None, {}]


def test_a_logged_out_session_is_no_longer_listed(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    plugin, web = plugin_of(app), Web(app)
    alices = [web.login('alice') for _ in range(2)]
    web.get('/logout', alices[0])
    assert len(plugin.sessions_of('alice')) == 1


# --------------------------------------------------------------------------
# remember me

def test_remember_gives_the_session_a_persistent_cookie_with_that_max_age(make_app, store_url):
    web = Web(feature_app(make_app, session_store=store_url))
    alice = web.login('alice')
    web.get('/set?key=a&value=1', alice)
    response = web.get('/remember?seconds=1209600', alice)
    cookies = session_cookies(response)
    assert len(cookies) == 1 and re.search(r';\s*Max-Age=1209600\s*(;|$)', cookies[0]), cookies
    remembered = new_sid(response)
    assert web.read(remembered) == ['alice', {'a': '1'}]


def test_the_remembered_cookie_is_sent_again_with_each_answer(make_app, store_url):
    web = Web(feature_app(make_app, session_store=store_url))
    alice = web.login('alice')
    remembered = new_sid(web.get('/remember?seconds=86400', alice)) or alice
    cookies = session_cookies(web.get('/read', remembered))
    assert len(cookies) == 1 and cookies[0].startswith('%s=%s;' % (COOKIE, remembered)), cookies
    assert re.search(r';\s*Max-Age=86400\s*(;|$)', cookies[0]), cookies


def test_with_a_max_age_a_users_redis_set_expires_after_the_last_of_its_sessions(make_app, redis_server):
    import redis
    server = redis.Redis.from_url(redis_server.url)
    app = feature_app(make_app, session_store=redis_server.url, session_max_age=600)
    web = Web(app)
    first = web.login('alice')
    assert 0 < server.pttl('canister:session:user:alice') <= 600000
    time.sleep(0.05)
    before = server.pttl('canister:session:user:alice')
    second = web.login('alice')  # a later session: the set lives until that one must end
    assert before < server.pttl('canister:session:user:alice') <= 600000
    assert len(plugin_of(app).sessions_of('alice')) == 2
    assert plugin_of(app).end_sessions('alice') == 2
    assert web.read(first) == web.read(second) == [None, {}]


def test_a_redis_login_costs_the_same_however_many_sessions_the_user_has(make_app, redis_server):
    import redis
    server = redis.Redis.from_url(redis_server.url)
    web = Web(feature_app(make_app, session_store=redis_server.url))

    def commands_of_one_login():
        before = sum(stats['calls'] for stats in server.info('commandstats').values())
        web.login('alice')
        return sum(stats['calls'] for stats in server.info('commandstats').values()) - before - 1  # (INFO itself)

    for _ in range(20):
        web.login('alice')
    with_20 = commands_of_one_login()
    for _ in range(200):
        web.login('alice')
    # (up to 16 ids looked at, each a GET, a PTTL and, on Redis 7, a PEXPIRETIME, in one pipeline: one round trip)
    assert commands_of_one_login() == with_20 <= 3 * 16 + 8


def test_a_redis_login_takes_ended_sessions_out_of_the_users_set(make_app, redis_server):
    import redis
    server = redis.Redis.from_url(redis_server.url)
    web = Web(feature_app(make_app, session_store=redis_server.url))
    sids = [web.login('alice') for _ in range(20)]
    server.delete(*['canister:session:' + sid for sid in sids[:18]])   # as if they had expired
    logins = 0
    while server.smismember('canister:session:user:alice', sids[:18]) != [0] * 18 and logins < 30:
        web.login('alice')
        logins += 1
    assert logins < 30, 'the ended sessions stayed in the set'
    assert len(plugin_of(web.test.app).sessions_of('alice')) == 2 + logins


def test_a_redis_store_built_by_the_app_takes_its_max_age_as_an_argument(make_app, redis_server):
    import redis
    server = redis.Redis.from_url(redis_server.url)
    store = canister.RedisStore(client=server, max_age=300)
    web = Web(feature_app(make_app, store=store, session_max_age=300))
    web.login('alice')
    assert 0 < server.pttl('canister:session:user:alice') <= 300000


def test_without_a_max_age_a_users_redis_set_has_no_expiry_of_its_own(make_app, redis_server):
    import redis
    web = Web(feature_app(make_app, session_store=redis_server.url))
    web.login('alice')
    assert redis.Redis.from_url(redis_server.url).pttl('canister:session:user:alice') == -1


@pytest.mark.parametrize('path', ['/fails', '/export', '/unstorable', '/unstorable-late'])
def test_a_remembered_session_keeps_its_length_through_an_error_or_a_late_read(make_app, store_url, request, path):
    """An error answer stores nothing, and a streamed body that reads the session late stores it
    after the response; a value no session can store, in the handler or in a streamed body, stores nothing
    either: none may leave the session the plain timeout (Redis extends it at each read)."""
    timeout, past_the_timeout = plain_timeout(store_url, request)
    web = Web(feature_app(make_app, session_store=store_url, session_timeout=timeout))
    alice = web.login('alice')
    remembered = new_sid(web.get('/remember?seconds=600', alice)) or alice
    web.get(path, remembered, status='*')
    past_the_timeout()  # well within the remembered 600 s
    assert web.read(remembered) == ['alice', {}]


def test_a_session_first_read_after_the_response_started_slides_too(make_app, store_url):
    """Under a 2 s timeout: a streamed read a second after the login, then a read past the login's 2 s that only
    the streamed read's slide keeps the session for.  Each try checks its own timing, as the machine's load made it
    (the streamed read answered within the login's 2 s, the last read within the streamed read's): a try whose
    timing the load spoiled proves nothing either way and is made again, with a new login."""
    web = Web(feature_app(make_app, session_store=store_url, session_timeout=2))
    for _ in range(3):
        before_login = time.monotonic()
        alice = web.login('alice')
        logged_in = time.monotonic()                  # the login's expiry: within 2 s of this
        sleep_until(logged_in + 1, time.monotonic)
        before_export = time.monotonic()              # the streamed read's expiry: 2 s after this at the least
        exported = web.get('/export', alice).text
        if time.monotonic() >= before_login + 2:
            continue                                  # (the streamed read may have come after the login's expiry)
        assert exported == 'header line\nrows of alice\n'
        sleep_until(logged_in + 2.2, time.monotonic)  # past the login's expiry: without the slide, no session
        read = web.read(alice)
        if time.monotonic() < before_export + 2:      # (else it may have come after the streamed read's expiry)
            assert read == ['alice', {}]
            return
    pytest.fail("the machine was too loaded for this test's timing in 3 tries")


def test_another_persons_login_starts_a_session_of_its_own_age(make_app, clock):
    app = feature_app(make_app, session_max_age=600)
    web = Web(app)
    alice = web.login('alice')
    clock.advance(500)
    bob = web.login('bob', alice)
    assert [round(entry['created']) for entry in plugin_of(app).sessions_of('bob')] == [round(clock.now)]
    clock.advance(200)  # past alice's 600 s, within bob's
    assert web.read(bob) == ['bob', {}]


def test_sessions_of_marks_the_current_session_when_called_first_thing_in_a_handler(make_app):
    web = Web(feature_app(make_app))
    alice = web.login('alice')
    other = web.login('alice')
    listed = json.loads(web.get('/sessions-of-alice', alice).text)   # the handler reads nothing before
    assert sorted(entry['current'] for entry in listed) == [False, True]
    assert other != alice


def test_end_sessions_ends_a_remembered_session(make_app, store_url):
    app = feature_app(make_app, session_store=store_url)
    web = Web(app)
    alice = web.login('alice')
    remembered = new_sid(web.get('/remember?seconds=1209600', alice)) or alice
    assert plugin_of(app).end_sessions('alice') == 1
    assert web.read(remembered) == [None, {}]


def test_logout_ends_a_remembered_session(make_app, store_url):
    web = Web(feature_app(make_app, session_store=store_url))
    alice = web.login('alice')
    remembered = new_sid(web.get('/remember?seconds=1209600', alice)) or alice
    assert new_sid(web.get('/logout', remembered)) == ''
    assert web.read(remembered) == [None, {}]


def wait_for_second_start(fraction=0.05):
    """Sleep until just after a whole second: expiry rounded up to whole seconds would show."""
    now = time.time()
    time.sleep((1 + fraction - (now % 1)) % 1)


def timed(call, *args):
    """``(before, result, after)``: ``call(*args)`` and the time (``time.time()``) just before and just after it."""
    before = time.time()
    result = call(*args)
    return before, result, time.time()


class Timeline:
    """The checks of one try of a timeline under real time: each is made if the load left its timing fit to tell
    (a check whose timing is fit and fails is a failure at once), and ``spoiled`` says whether any was not."""

    #: Seconds between the test's clock and a store's deadline that count as the same moment (Redis's own clock).
    MARGIN = 0.05

    def __init__(self):
        #: The checks the load made unfit, by what each would have told.
        self.spoiled = []

    def check(self, fit, seen, expected, what):
        """``seen == expected`` if ``fit`` (the timing tells it), else a note that this try proves nothing of it."""
        if not fit:
            self.spoiled.append(what)
        else:
            assert seen == expected, what


def test_a_remembered_session_outlives_the_timeout_slides_and_is_capped_by_max_age(make_app, tmp_path, request):
    """One timeline for every store: session_timeout=1; remember(2) and, with session_max_age=2, remember(100).
    Each check is made only if its timing, as the machine's load made it, tells it (the time just before and after
    every request is noted); a try whose timing the load spoiled is made again, with new logins."""
    webs = {}
    for kind in STORES:
        url = make_store_url(kind, tmp_path, request)
        webs[kind] = (Web(feature_app(make_app, session_store=url, session_timeout=1)),
                      Web(feature_app(make_app, session_store=url.replace('sessions.db', 'capped.db'),
                                      session_timeout=1, session_max_age=2)))
    margin = Timeline.MARGIN
    for _ in range(3):
        timeline, start, made, fit = Timeline(), time.time(), {}, {}
        for kind, (web, capped) in webs.items():
            plain = timed(web.login, 'alice')
            remembered = timed(web.login, 'alice')
            kept = timed(web.remember, remembered[1], 2)
            capped_login = timed(capped.login, 'alice')
            capped_kept = timed(capped.remember, capped_login[1], 100)
            # (each remember came within the 1 s timeout of its login, else there was nothing left to remember: each
            # later check of a session is fit only if every earlier one it builds on was)
            fit[kind] = {'kept': kept[2] <= remembered[0] + 1 - margin,
                         'capped': capped_kept[2] <= capped_login[0] + 1 - margin}
            made[kind] = plain, kept, capped_login, capped_kept

        sleep_until(start + 1.4)
        first_reads = {}
        for kind, (web, capped) in webs.items():
            plain, kept, capped_login, capped_kept = made[kind]
            read = timed(web.read, plain[1])
            timeline.check(read[0] >= plain[2] + 1 + margin, read[1][0], None, '%s: plain at 1.4 s' % kind)
            read = first_reads[kind] = timed(web.read, kept[1])   # (this read slides the remembered one: 2 s from it)
            fit[kind]['kept'] &= read[2] <= kept[0] + 2 - margin
            timeline.check(fit[kind]['kept'], read[1][0], 'alice', '%s: remembered at 1.4 s' % kind)
            read = timed(capped.read, capped_kept[1])
            timeline.check(fit[kind]['capped'] and read[2] <= capped_login[0] + 2 - margin, read[1][0], 'alice',
                           '%s: capped at 1.4 s' % kind)

        sleep_until(start + 2.6)  # the remembered one slid: without the slide, past its 2 s
        second_reads = {}
        for kind, (web, capped) in webs.items():
            plain, kept, capped_login, capped_kept = made[kind]
            read = second_reads[kind] = timed(web.read, kept[1])
            fit[kind]['kept'] &= read[0] >= kept[2] + 2 + margin and read[2] <= first_reads[kind][0] + 2 - margin
            timeline.check(fit[kind]['kept'], read[1][0], 'alice', '%s: remembered at 2.6 s (slid)' % kind)
            read = timed(capped.read, capped_kept[1])
            timeline.check(fit[kind]['capped'] and read[0] >= capped_login[2] + 2 + margin, read[1][0], None,
                           '%s: capped at 2.6 s' % kind)

        sleep_until(start + 5.0)  # 2.4 s after its last use
        for kind, (web, _) in webs.items():
            read = timed(web.read, made[kind][1][1])
            timeline.check(fit[kind]['kept'] and read[0] >= second_reads[kind][2] + 2 + margin, read[1][0], None,
                           '%s: remembered at 5.0 s' % kind)
        if not timeline.spoiled:
            return
    pytest.fail("the machine was too loaded for this test's timing in 3 tries: %s" % timeline.spoiled)


# --------------------------------------------------------------------------
# exact expiry

def test_expiry_is_exact_to_the_millisecond_on_every_store(make_app, tmp_path, request):
    """Under a 1 s timeout, sessions made just after a whole second are read 0.7 s after that second (alive) and
    1.35 s after their login (gone: a deadline rounded up to whole seconds would keep them to the second after
    next).  Each check is made only if its timing, as the machine's load made it, tells it; a try whose timing
    the load spoiled is made again, with new logins."""
    webs = {kind: Web(feature_app(make_app, session_store=make_store_url(kind, tmp_path, request),
                                  session_timeout=1)) for kind in STORES}
    margin = Timeline.MARGIN
    for _ in range(3):
        timeline = Timeline()
        wait_for_second_start()
        start = time.time()
        sessions = {kind: (timed(web.login, 'alice'), timed(web.login, 'alice')) for kind, web in webs.items()}
        sleep_until(start + 0.7)
        for kind in STORES:
            login = sessions[kind][0]
            read = timed(webs[kind].read, login[1])
            timeline.check(read[2] <= login[0] + 1 - margin, read[1][0], 'alice', '%s: alive at 0.7 s' % kind)
        sleep_until(max(login[2] for _, login in sessions.values()) + 1.35)
        for kind in STORES:
            login = sessions[kind][1]
            read = timed(webs[kind].read, login[1])
            # (gone once its exact second is up, and before the whole second it would be rounded up to)
            rounded_up = int(login[0]) + 2
            timeline.check(read[0] >= login[2] + 1 + margin and read[2] <= rounded_up - margin, read[1][0], None,
                           '%s: gone at 1.35 s (rounded up to a whole second: alive until the second after next)'
                           % kind)
        if not timeline.spoiled:
            return
    pytest.fail("the machine was too loaded for this test's timing in 3 tries: %s" % timeline.spoiled)


# --------------------------------------------------------------------------
# private SQLite files

def test_the_sqlite_file_and_its_wal_and_shm_are_readable_by_their_owner_only(make_app, tmp_path):
    path = tmp_path / 'private.db'
    previous = os.umask(0o022)  # the usual umask: files made without care would be 0644
    try:
        web = Web(feature_app(make_app, session_store='sqlite:///' + str(path)))
        alice = web.login('alice')
        assert web.read(alice) == ['alice', {}]
    finally:
        os.umask(previous)
    for name in ('private.db', 'private.db-wal', 'private.db-shm'):
        mode = (tmp_path / name).stat().st_mode & 0o777
        assert mode == 0o600, '%s is %o' % (name, mode)


def test_an_existing_sqlite_file_keeps_its_mode(make_app, tmp_path):
    path = tmp_path / 'shared.db'
    path.touch()
    path.chmod(0o640)
    web = Web(feature_app(make_app, session_store='sqlite:///' + str(path)))
    assert web.read(web.login('alice')) == ['alice', {}]
    assert path.stat().st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------
# custom stores

def test_a_custom_store_with_the_four_original_methods_works_with_a_warning_naming_the_weaker_guarantee(
        make_app, log_dir):
    store = FourMethodStore()
    web = Web(feature_app(make_app, store=store))
    warnings = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]
    assert any('concurrent' in line for line in warnings), warnings

    alice = web.login('alice')
    web.get('/set?key=k&value=v', alice)
    assert web.read(alice) == ['alice', {'k': 'v'}]
    assert list(store.records) == [alice]
    web.get('/logout', alice)
    assert store.records == {alice: canister._ENDING}  # the record is gone; the ended marker lives a minute
    assert web.read(alice) == [None, {}]


def test_a_custom_store_with_the_four_original_methods_cannot_list_or_end_a_users_sessions(make_app):
    app = feature_app(make_app, store=FourMethodStore())
    Web(app).login('alice')
    with pytest.raises(canister.CanisterError):
        plugin_of(app).sessions_of('alice')
    with pytest.raises(canister.CanisterError):
        plugin_of(app).end_sessions('alice')


def test_the_stores_canister_ships_give_no_warning_about_concurrent_requests(make_app, log_dir, store_url):
    Web(feature_app(make_app, session_store=store_url)).login('alice')
    assert not any('concurrent' in line for line in read_log(log_dir).splitlines() if ' WARNING ' in line)


@pytest.mark.parametrize('kind', ['memory', 'sqlite'])
def test_a_user_of_a_str_subclass_is_listed_and_ended_as_that_text(make_app, tmp_path, kind):
    class Username(str):
        pass

    store = 'memory' if kind == 'memory' else 'sqlite:///%s' % (tmp_path / 'sessions.db')
    app = make_app(session_store=store)
    app.route('/login', callback=lambda: setattr(session, 'user', Username('alice')) or 'in')
    app.route('/me', callback=lambda: repr(session.user))
    web = webtest.TestApp(app)
    web.get('/login')
    assert web.get('/me').text == "'alice'"
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert plugin_of(app).end_sessions(Username('alice')) == 1
    assert web.get('/me').text == 'None'
