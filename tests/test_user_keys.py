"""People who share a name across ways of logging in are two people: a Basic user ``alice`` and a provider's
token (one with an ``iss``) whose ``sub`` is ``alice`` (a provider whose subjects are names people pick), or the
same ``sub`` of two issuers, never end, list or crowd out each other's sessions (real HTTP to waitress, every
store)."""
import json
import sqlite3

import pytest

import canister
from canister import session
from helpers import ROOT, basic, bearer, signed_token, sqlite_url
from session_kit import STORES, Browser, add_session_routes, make_store_url, plugin_of

SECRET = 'Zq4Xw8Ve1Rt6Yu3Io9Pa2Sd7Fg5Hj0Kl-Mn8Bv4Cx1Za6Qw3Er9Ty2Ui7Op5As0Df'  # 64 bytes


@pytest.fixture(params=STORES)
def shared_app(request, make_app, serve, tmp_path):
    """An app with Basic user alice and tokens signed with ``SECRET``, on a store of each kind, served;
    ``/set?key=&value=`` (makes the session real), ``/who``, ``/mine`` (``sessions_of`` the user) and
    ``/end-others``: (app, origin)."""
    app = make_app(config={'auth_basic_username': 'alice',
                           'auth_basic_password': canister.hash_password('wonderland', iterations=1000),
                           'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'clear',
                           'session_store': make_store_url(request.param, tmp_path, request),
                           'session_max_per_user': '2'})
    add_session_routes(app)

    @app.get('/who')
    def who():
        return json.dumps(session.user)

    @app.get('/mine')
    def mine():
        return str(len(plugin_of(app).sessions_of(session.user)))

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    return app, serve(app)


def _add_user_routes(app, user):
    """``add_session_routes`` plus ``/as`` (logs the session in as ``user``, a claims dict or a name) and ``/who``
    (the session's user as JSON)."""
    add_session_routes(app)
    app.get('/who')(lambda: json.dumps(session.user))

    @app.get('/as')
    def log_in_as():
        session.user = user
        return 'ok'


def basic_alice(origin):
    """A browser whose session is the Basic user alice's."""
    browser = Browser(origin)
    assert browser.get('/set?key=cart&value=1', {'Authorization': basic('alice', 'wonderland')}).status == 200
    assert browser.get('/who').json() == 'alice'
    return browser


def token_of(sub='alice', iss='https://idp.example/', **extra):
    """Headers with a token of ``sub`` from the provider ``iss``, signed with ``SECRET``."""
    return bearer(signed_token(SECRET, sub=sub, iss=iss, **extra))


def test_a_token_whose_sub_is_a_basic_users_name_does_not_end_that_users_sessions_with_end_other_sessions(
        shared_app):
    app, origin = shared_app
    browser = basic_alice(origin)

    assert Browser(origin).get('/end-others', token_of()).text == '0'
    assert browser.get('/who').json() == 'alice'


def test_a_token_whose_sub_is_a_basic_users_name_does_not_list_that_users_sessions(shared_app):
    app, origin = shared_app
    basic_alice(origin)
    holder = Browser(origin)
    assert holder.get('/set?key=a&value=1', token_of()).status == 200

    assert holder.get('/mine', token_of()).text == '1'  # its own


def test_logins_of_a_token_whose_sub_is_a_basic_users_name_do_not_push_that_users_sessions_past_the_cap(shared_app):
    app, origin = shared_app
    browser = basic_alice(origin)

    for _ in range(3):
        assert Browser(origin).get('/set?key=a&value=1', token_of()).status == 200
    assert browser.get('/who').json() == 'alice'


def test_end_sessions_of_a_name_ends_that_basic_users_sessions_and_not_a_tokens_of_that_sub(shared_app):
    app, origin = shared_app
    browser = basic_alice(origin)
    holder = Browser(origin)
    assert holder.get('/set?key=a&value=1', token_of()).status == 200

    assert plugin_of(app).end_sessions('alice') == 1
    assert browser.get('/who').json() is None
    assert holder.get('/who').json()['sub'] == 'alice'


def test_end_sessions_of_a_tokens_claims_ends_the_sessions_of_its_issuer_and_sub_alone(shared_app):
    app, origin = shared_app
    ours, theirs = Browser(origin), Browser(origin)
    assert ours.get('/set?key=a&value=1', token_of(iss='https://ours.example')).status == 200
    assert theirs.get('/set?key=a&value=1', token_of(iss='https://theirs.example')).status == 200

    assert plugin_of(app).end_sessions({'iss': 'https://ours.example', 'sub': 'alice'}) == 1
    assert ours.get('/who').json() is None
    assert theirs.get('/who').json()['iss'] == 'https://theirs.example'


def test_a_name_spelled_as_a_tokens_key_is_still_another_person(shared_app):
    """No name (the Basic user's, or one an app assigns with ``session.user = name``) reaches a token's sessions,
    whatever it holds."""
    app, origin = shared_app
    holder = Browser(origin)
    assert holder.get('/set?key=a&value=1', token_of()).status == 200
    for name in ('alice', '\x1fsub ["https://idp.example/","alice"]', '\x1f"alice"', '{"sub":"alice"}'):
        assert plugin_of(app).end_sessions(name) == 0
    assert holder.get('/who').json()['sub'] == 'alice'


def test_a_dict_the_app_makes_of_a_name_without_an_issuer_is_still_that_name(shared_app):
    """A handler that logs in ``alice`` and then gives her a dict with the roles it adds (no ``iss``): she is
    the same person, whom ``end_sessions('alice')`` ends (so is a token without ``iss``, the app's own)."""
    app, origin = shared_app

    @app.get('/with-roles')
    def with_roles():
        session.user = {'sub': 'alice', 'roles': ['admin']}
        return 'ok'

    browser, own_token = basic_alice(origin), Browser(origin)
    same = browser.get('/with-roles')
    assert same.status == 200 and same.new_sid is None, same  # (no new login: the same id)
    assert own_token.get('/set?key=a&value=1', token_of(iss=None)).status == 200

    assert plugin_of(app).end_sessions('alice') == 2
    assert browser.get('/who').json() is None and own_token.get('/who').json() is None


def test_a_providers_token_user_is_still_held_to_session_max_per_user(shared_app):
    app, origin = shared_app
    browsers = [Browser(origin) for _ in range(3)]
    for browser in browsers:
        assert browser.get('/set?key=a&value=1', token_of()).status == 200

    assert browsers[0].get('/who').json() is None  # the least recently used of three, past the cap of 2
    assert len(plugin_of(app).sessions_of({'iss': 'https://idp.example/', 'sub': 'alice'})) == 2


def listed_as_the_version_before_did(make_app, serve, tmp_path, user, key_before):
    """A browser logged in as ``user`` on an app on SQLite whose row is rewritten to list the session under
    ``key_before``, as the version before did: (app, browser)."""
    path = tmp_path / 'sessions.db'
    app = make_app(config={'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'clear', 'session_store': sqlite_url(path)})
    _add_user_routes(app, user)

    browser = Browser(serve(app))
    assert browser.get('/as').status == 200 and browser.get('/who').json() == user
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('UPDATE canister_sessions SET user_key = ? WHERE sid = ?',
                                  (key_before, browser.sid)).rowcount == 1
    connection.close()
    return app, browser


@pytest.mark.parametrize('user, key_before', [({'iss': 'https://idp.example/', 'sub': 'alice'}, 'alice'),
                                              ({'id': 5}, '{"id":5}')])
def test_a_session_the_version_before_listed_under_another_key_is_found_and_ended_by_its_user_alone(
        make_app, serve, tmp_path, user, key_before):
    """The version before listed a token's session under its ``sub`` alone, another user that is no name
    under its JSON text."""
    app, browser = listed_as_the_version_before_did(make_app, serve, tmp_path, user, key_before)

    assert plugin_of(app).end_sessions(key_before) == 0  # (the name it was listed under is another person)
    assert len(plugin_of(app).sessions_of(user)) == 1
    assert plugin_of(app).end_sessions(user) == 1
    assert browser.get('/who').json() is None


@pytest.mark.parametrize('user, key', [
    ('alice', 'alice'),
    ({'iss': 'https://idp.example/', 'sub': '2481'}, '\x1fsub ["https://idp.example/","2481"]'),
    ({'sub': 'alice'}, 'alice'),
    ({'id': 5}, '\x1f{"id":5}'),
    ('\x1fsub ["https://idp.example/","2481"]', '\x1f"\\u001fsub [\\"https://idp.example/\\",\\"2481\\"]"'),
])
def test_a_session_is_listed_under_the_key_the_readme_gives_for_its_kind_of_user(make_app, serve, tmp_path, user,
                                                                                   key):
    """The README's "A user's sessions": the key a store is given, here SQLite's ``user_key`` column."""
    path = tmp_path / 'sessions.db'
    app = make_app(config={'session_store': sqlite_url(path)})
    _add_user_routes(app, user)

    browser = Browser(serve(app))
    assert browser.get('/as').status == 200
    with sqlite3.connect(str(path)) as connection:
        keys = connection.execute('SELECT user_key FROM canister_sessions WHERE sid = ?', (browser.sid,)).fetchall()
    connection.close()
    assert keys == [(key,)]


def test_the_readmes_examples_of_keys_are_those_the_test_above_finds():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert '(`\\x1fsub ["https://idp.example/","2481"]`)' in readme
    assert '(`\\x1f{"id":5}`)' in readme


def list_also_under(store_kind, app, sid, key_before):
    """List the session ``sid`` under ``key_before`` as the version before did: beside its own key where the store
    lists a session under several keys (memory's index, Redis's sets), instead of it in SQLite's one column."""
    store = plugin_of(app).sessions.store
    if store_kind == 'memory':
        store._index(key_before, sid)
    elif store_kind == 'redis':
        store.client.sadd(store._user_set(key_before), sid)
    else:
        with sqlite3.connect(store.file_path) as connection:
            assert connection.execute('UPDATE canister_sessions SET user_key = ? WHERE sid = ?',
                                      (key_before, sid)).rowcount == 1
        connection.close()


@pytest.mark.parametrize('store_kind', STORES)
def test_a_session_listed_under_both_the_key_before_and_its_own_is_counted_once_by_sessions_of_and_end_sessions(
        make_app, serve, tmp_path, request, store_kind):
    user = {'iss': 'https://idp.example/', 'sub': 'alice'}
    app = make_app(config={'session_store': make_store_url(store_kind, tmp_path, request)})
    _add_user_routes(app, user)

    origin = serve(app)
    browsers = [Browser(origin), Browser(origin)]
    for browser in browsers:
        assert browser.get('/as').status == 200 and browser.get('/who').json() == user
    list_also_under(store_kind, app, browsers[0].sid, 'alice')  # the token's sub alone: the key before

    plugin = plugin_of(app)
    assert len(plugin.sessions_of(user)) == 2
    assert plugin.end_sessions(user) == 2
    assert [browser.get('/who').json() for browser in browsers] == [None, None]
    assert plugin.sessions_of(user) == []
