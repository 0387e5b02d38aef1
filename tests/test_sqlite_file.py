"""Which file a sqlite:/// session store opens, and what canister does to a file that is not only its own.

A session_store that cannot work (an in-memory database, a directory, a URL with options) fails the
install with a ConfigError naming the key; a file the app already uses gets canister's tables beside
the app's, whose tables, user_version and journal mode stay as they were.
"""
import os
import sqlite3
import urllib.parse

import pytest

import canister
from helpers import basic, client, json_counter_app, sqlite_url


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory of the test's own (the logs are beside it)."""
    path = tmp_path / 'cwd'
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def run_sql(path, *statements):
    """Run ``statements`` on the SQLite file ``path`` (made if missing), and commit."""
    connection = sqlite3.connect(str(path))
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


def an_apps_database(path, user_version):
    """A file as an app keeps it: a table with a row, and its own schema version."""
    run_sql(path, 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)', "INSERT INTO items (name) VALUES ('kept')",
            'PRAGMA user_version = %d' % user_version)


def look_into(path):
    """The app's rows, user_version, journal mode and tables of a file, read by a connection of its own."""
    connection = sqlite3.connect(str(path))
    try:
        return {'items': connection.execute('SELECT name FROM items').fetchall(),
                'user_version': connection.execute('PRAGMA user_version').fetchone()[0],
                'journal_mode': connection.execute('PRAGMA journal_mode').fetchone()[0].lower(),
                'tables': sorted(row[0] for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"))}
    finally:
        connection.close()


# --------------------------------------------------------------------------
# an in-memory database is one per connection: refused

@pytest.mark.parametrize('url', ['sqlite:///:memory:', 'sqlite:///%3Amemory%3A', 'sqlite:///file::memory:',
                                 'sqlite:///file::memory:?cache=shared', 'sqlite:///file:sessions?mode=memory'])
def test_an_in_memory_sqlite_store_fails_at_install_pointing_to_memory(make_app, workdir, url):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=url)
    assert str(raised.value).startswith('canister.session_store = %r: an in-memory SQLite database' % url)
    assert 'canister opens one for each request using the store at the same moment' in str(raised.value)
    assert str(raised.value).endswith('use memory for sessions kept in this process')
    assert os.listdir(str(workdir)) == []  # no file made under a name that looks like one


def test_a_sqlite_store_made_in_code_refuses_an_in_memory_database():
    with pytest.raises(canister.ConfigError, match="canister.session_store = ':memory:': an in-memory SQLite"):
        canister.SQLiteStore(':memory:')


def test_a_sqlite_store_tells_its_file_by_absolute_path_beside_the_path_as_given(workdir):
    store = canister.SQLiteStore('sessions.db')
    try:
        assert store.path == 'sessions.db'
        assert store.file_path == str(workdir / 'sessions.db')
        with pytest.raises(AttributeError):
            store.file_path = 'elsewhere.db'  # read-only
    finally:
        store.close()


# --------------------------------------------------------------------------
# a directory is not a file

@pytest.mark.parametrize('name', ['sessions', 'sessions/'])
def test_a_sqlite_store_naming_a_directory_fails_at_install_naming_it(make_app, workdir, name):
    (workdir / 'sessions').mkdir()
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store='sqlite:///' + name)
    assert str(raised.value) == ('canister.session_store: %s is a directory, not a file: name a file in it, '
                                 'such as %s' % (workdir / 'sessions', workdir / 'sessions' / 'sessions.db'))
    assert os.listdir(str(workdir / 'sessions')) == []


def test_a_sqlite_store_naming_a_missing_directory_with_a_slash_fails_at_install_and_makes_no_file(
        make_app, workdir):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store='sqlite:///sessions/')
    assert str(raised.value) == 'canister.session_store: directory %s does not exist' % (workdir / 'sessions')
    assert os.listdir(str(workdir)) == []


def test_a_sqlite_file_in_a_missing_directory_fails_at_install_saying_to_create_it(make_app, workdir):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store='sqlite:///data/sessions.db')
    assert str(raised.value) == ('canister.session_store: directory %s does not exist: canister makes the file, '
                                 'not the directory it goes in; create it first' % (workdir / 'data'))
    assert os.listdir(str(workdir)) == []


def test_a_file_that_is_not_a_sqlite_database_fails_at_install_naming_it(make_app, tmp_path):
    path = tmp_path / 'notes.txt'
    path.write_text('not a database, but long enough to have a header: ' * 4)
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=sqlite_url(path))
    assert str(raised.value).startswith('canister.session_store: the SQLite file %s cannot be used: ' % path)
    assert path.read_text().startswith('not a database')


# --------------------------------------------------------------------------
# the URL: its path is percent-decoded, options are refused

@pytest.mark.parametrize('url', ['sqlite:///sessions.db?mode=ro', 'sqlite:///sessions.db?timeout=5',
                                 'sqlite:///sessions.db#main'])
def test_a_sqlite_url_with_options_fails_at_install_and_makes_no_file(make_app, workdir, url):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=url)
    assert str(raised.value) == ('canister.session_store = %r: a sqlite:/// URL names a file and takes no options '
                                 '(no ?... or #...); a file whose name holds ? or # is written %%3F or %%23' % url)
    assert os.listdir(str(workdir)) == []


def test_the_path_of_a_sqlite_url_is_percent_decoded(make_app, workdir):
    (workdir / 'my data').mkdir()
    absolute = 'sqlite:///' + urllib.parse.quote(str(workdir / 'my data' / 'a?b#c.db'), safe='')
    web = client(json_counter_app(make_app, session_store=absolute))
    assert [web.get('/count').json, web.get('/count').json] == [{'n': 1}, {'n': 2}]
    web.app.uninstall(True)  # (its -wal and -shm go with the last connection)
    assert os.listdir(str(workdir / 'my data')) == ['a?b#c.db']
    assert sorted(os.listdir(str(workdir))) == ['my data']  # no file named after the escapes


def test_a_sqlite_url_whose_escapes_are_not_utf8_fails_at_install(make_app, workdir):
    with pytest.raises(canister.ConfigError, match="'sqlite:///s%FF.db': its %-escapes are not UTF-8"):
        make_app(session_store='sqlite:///s%FF.db')
    assert os.listdir(str(workdir)) == []


# --------------------------------------------------------------------------
# a file the app already uses

@pytest.mark.parametrize('user_version', [0, 1, 2, 7])
def test_a_file_the_app_uses_gets_canisters_tables_and_keeps_the_apps_as_they_were(make_app, tmp_path, user_version):
    path = tmp_path / 'app.db'
    an_apps_database(path, user_version)
    app = json_counter_app(make_app, session_store=sqlite_url(path))
    web = client(app)
    assert [web.get('/count').json, web.get('/count').json] == [{'n': 1}, {'n': 2}]
    app.uninstall(True)
    assert look_into(path) == {'items': [('kept',)], 'user_version': user_version, 'journal_mode': 'delete',
                               'tables': ['canister_sessions', 'items']}


def test_sessions_in_the_apps_file_survive_a_restart(make_app, tmp_path):
    path = tmp_path / 'app.db'
    an_apps_database(path, 7)
    first = client(json_counter_app(make_app, session_store=sqlite_url(path)))
    assert first.get('/count').json == {'n': 1}
    first.app.uninstall(True)
    second = client(json_counter_app(make_app, session_store=sqlite_url(path)))
    second.cookiejar = first.cookiejar
    assert second.get('/count').json == {'n': 2}


def test_the_login_throttle_counts_in_the_apps_file_beside_its_tables(make_app, tmp_path):
    path = tmp_path / 'app.db'
    an_apps_database(path, 7)
    app = json_counter_app(make_app, session_store=sqlite_url(path), auth_max_failures=2, auth_basic_username='alice',
                           auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
    web = client(app)
    assert web.get('/count', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True).status_int == 401
    assert [web.get('/count').json, web.get('/count').json] == [{'n': 1}, {'n': 2}]
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT client, attempts FROM canister_throttle').fetchall() == [('127.0.0.1', 1)]
    app.uninstall(True)
    assert look_into(path) == {'items': [('kept',)], 'user_version': 7, 'journal_mode': 'delete',
                               'tables': ['canister_sessions', 'canister_throttle', 'items']}


def test_a_canister_sessions_table_of_another_shape_fails_the_install_and_is_left_alone(make_app, tmp_path):
    path = tmp_path / 'app.db'
    run_sql(path, 'CREATE TABLE canister_sessions (id INTEGER PRIMARY KEY, payload TEXT)',
            "INSERT INTO canister_sessions (payload) VALUES ('theirs')")
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=sqlite_url(path))
    assert str(raised.value) == ("canister.session_store: the SQLite file %s cannot be used: its table "
                                 "canister_sessions is not canister's (its columns: id, payload); give canister "
                                 "a file of its own" % path)
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT id, payload FROM canister_sessions').fetchall() == [(1, 'theirs')]
        assert connection.execute('PRAGMA user_version').fetchone()[0] == 0


def test_a_canister_throttle_table_of_another_shape_fails_the_install_and_is_left_alone(make_app, tmp_path):
    path = tmp_path / 'app.db'
    run_sql(path, 'CREATE TABLE canister_throttle (ip TEXT, hits INTEGER)',
            "INSERT INTO canister_throttle VALUES ('10.0.0.1', 3)")
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=sqlite_url(path), auth_basic_username='alice',
                 auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
    assert str(raised.value) == ("canister.session_store: the SQLite file %s cannot hold the login throttle: its "
                                 "table canister_throttle is not canister's (its columns: ip, hits); give canister "
                                 "a file of its own" % path)
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT ip, hits FROM canister_throttle').fetchall() == [('10.0.0.1', 3)]


def test_a_development_version_table_beside_the_apps_is_made_anew_and_the_apps_kept(make_app, tmp_path):
    path = tmp_path / 'app.db'
    an_apps_database(path, 1)
    run_sql(path, 'CREATE TABLE canister_sessions (sid TEXT PRIMARY KEY, record TEXT NOT NULL, expires INTEGER NOT NULL)')
    app = json_counter_app(make_app, session_store=sqlite_url(path))
    web = client(app)
    assert [web.get('/count').json, web.get('/count').json] == [{'n': 1}, {'n': 2}]
    app.uninstall(True)
    assert look_into(path) == {'items': [('kept',)], 'user_version': 1, 'journal_mode': 'delete',
                               'tables': ['canister_sessions', 'items']}
    with sqlite3.connect(str(path)) as connection:
        columns = [row[1] for row in connection.execute('PRAGMA table_info(canister_sessions)')]
    assert columns == ['sid', 'record', 'expires', 'user_key']


def test_a_file_canister_makes_is_in_wal_mode_with_no_user_version(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    app = json_counter_app(make_app, session_store=sqlite_url(path))
    client(app).get('/count')
    app.uninstall(True)
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('PRAGMA journal_mode').fetchone()[0].lower() == 'wal'
        assert connection.execute('PRAGMA user_version').fetchone()[0] == 0
