"""A SQLite session store on a disk that fills up (a real tmpfs of 1 MiB, mounted for the test: root only).

The client is told no more than for any store that is down (a 503 whose body says the store cannot
be reached, with ``Retry-After``): the state of the server's disk is not its business.  The operator
reads the cause in the log's ERROR line, SQLite's own words with the file's path; and once there is
room again, sessions are saved again with no restart.  A logout (and ``end_sessions``, ``end_other_sessions()``)
is such a save, of the "ended" marker: there is no fallback as on a full Redis, since a delete needs more room still.
"""
import os
import sqlite3
import time

import pytest

import canister
from helpers import (UNAVAILABLE, basic, checkpoint, client, cookie_value, fill_after_emptying_the_wal, fill_file_system,
                     guarded_app, install_warned, read_log, sqlite_held_note, sqlite_url, warning_lines, with_cookie)
from session_kit import expires_cookie, plugin_of


def test_on_a_full_disk_the_client_gets_the_generic_503_and_the_log_names_the_cause(small_disk, make_app, log_dir):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = make_app(session_store=sqlite_url(path))

    @app.get('/note')
    def note():
        canister.session.data['note'] = os.urandom(3000).hex()  # more than one page of SQLite's
        return 'saved'

    assert client(app).get('/note').text == 'saved'
    filler = fill_file_system(small_disk)
    answer = client(app).get('/note', status=503)
    assert answer.text == UNAVAILABLE  # nothing of the disk, the path or SQLite
    assert answer.headers['Retry-After'] == '1'
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]
    assert len(errors) == 1 and errors[0].endswith(
        'the SQLite session store %s failed: database or disk is full' % path), errors
    filler.unlink()
    assert client(app).get('/note').text == 'saved'  # room again: no restart needed


def test_a_disk_full_at_install_warns_naming_the_file_and_the_app_starts_and_works_once_there_is_room(
        small_disk, uninstall_at_end, log_dir):
    # (small_disk first: unmounted after the uninstall has closed the connections)
    filler = fill_file_system(small_disk)
    path = small_disk / 'sessions.db'
    app, said = install_warned(log_dir, session_store=sqlite_url(path))
    uninstall_at_end(app)
    note = sqlite_held_note(path, 'database or disk is full')
    assert said == [note] and [line for line in warning_lines(log_dir) if line.endswith(note)]
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    app.route('/ping', callback=lambda: 'pong')
    assert client(app).get('/ping').text == 'pong'  # the app serves what needs no session
    answer = client(app).get('/count', status=503)
    assert answer.text == UNAVAILABLE and answer.headers['Retry-After'] == '1'
    filler.unlink()
    assert client(app).get('/count').text == '1'  # room again: the file is set up now, no restart
    app.uninstall(True)
    connection = sqlite3.connect(str(path))
    try:
        assert connection.execute('SELECT COUNT(*) FROM canister_sessions').fetchone() == (1,)
    finally:
        connection.close()


def noting_app(make_app, path):
    """An app on the SQLite file ``path`` whose ``/note`` saves more than one page of SQLite's in the session."""
    app = make_app(session_store=sqlite_url(path))

    @app.get('/note')
    def note():
        canister.session.data['note'] = os.urandom(3000).hex()
        return 'saved'
    return app


def test_store_problem_says_nothing_of_a_full_disk_while_saves_still_fit_in_the_wal(small_disk, make_app):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = noting_app(make_app, path)
    web = client(app)
    for _ in range(10):
        assert web.get('/note').text == 'saved'
    checkpoint(path)
    fill_file_system(small_disk)
    assert os.statvfs(str(small_disk)).f_bfree == 0
    for _ in range(5):
        assert web.get('/note').text == 'saved'  # the -wal's room, reused
        assert plugin_of(app).store_problem() is None  # so the instance stays in the load balancer's pool


def test_store_problem_says_the_disk_is_full_once_a_save_failed_for_want_of_room_until_there_is_room(
        small_disk, make_app):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = noting_app(make_app, path)
    plugin = plugin_of(app)
    assert client(app).get('/note').text == 'saved'
    filler = fill_file_system(small_disk)
    assert plugin.store_problem() is None  # no save has failed yet
    statuses = [client(app).get('/note', expect_errors=True).status_int for _ in range(60)]
    assert 503 in statuses
    failed = 'the SQLite session store %s failed: database or disk is full (0 bytes free)' % path
    assert [plugin.store_problem() for _ in range(3)] == [failed] * 3  # (no flapping: the probe saves nothing)
    filler.unlink()
    assert plugin.store_problem() is None
    assert client(app).get('/note').text == 'saved'


def test_a_relative_sqlite_path_is_named_absolute_by_the_install_warning_the_503_line_and_store_problem(
        small_disk, uninstall_at_end, log_dir, monkeypatch):
    """``sqlite:///sessions.db`` names a file in the working directory, which the operator reading the log
    cannot see: every text of a file it cannot use for now names it by its absolute path."""
    # (small_disk first: unmounted after the uninstall has closed the connections)
    monkeypatch.chdir(small_disk)
    filler = fill_file_system(small_disk)
    app, said = install_warned(log_dir, session_store='sqlite:///sessions.db', auth_basic_username='alice',
                               auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
    uninstall_at_end(app)
    path = small_disk / 'sessions.db'
    assert said == [sqlite_held_note(path, 'database or disk is full')]
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    client(app).get('/count', status=503)
    client(app).get('/count', headers={'Authorization': basic('alice', 'wrong')}, status=503)  # (the throttle counts it)
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]
    assert errors[0].endswith('the SQLite session store %s failed: database or disk is full' % path), errors
    assert errors[1].endswith('the SQLite login throttle %s failed: database or disk is full' % path), errors
    assert plugin_of(app).store_problem().startswith('the SQLite session store %s failed: database or disk is full' % path)
    filler.unlink()


def test_store_problem_says_the_disk_is_full_once_the_login_throttles_write_failed_for_want_of_room(
        small_disk, make_app, log_dir):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = make_app(session_store=sqlite_url(path), auth_basic_username='alice', auth_basic_password='wonderland',
                   auth_max_failures=1000)
    app.get('/me', callback=lambda: canister.session.user)
    plugin = plugin_of(app)
    guess = {'Authorization': basic('alice', 'guess')}        # a failed login writes the throttle's count alone
    client(app).get('/me', headers=guess, status=401)
    connection = sqlite3.connect(str(path))
    try:                                                      # the -wal emptied: its next write needs room
        assert connection.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0] == 0
    finally:
        connection.close()
    filler = fill_file_system(small_disk)
    statuses = [client(app).get('/me', headers=guess, expect_errors=True).status_int for _ in range(20)]
    assert 503 in statuses and 'the SQLite login throttle %s failed: database or disk is full' % path in read_log(log_dir)
    failed = 'the SQLite session store %s failed: database or disk is full (0 bytes free)' % path
    assert plugin.store_problem() == failed                   # as a save that failed for want of room makes it say
    filler.unlink()
    assert plugin.store_problem() is None
    assert client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'alice'



def test_a_disk_full_as_canister_makes_its_table_in_the_apps_own_file_warns_with_sqlites_reason_and_starts(
        small_disk, uninstall_at_end, log_dir):
    """SQLite rolls the set-up back itself when its COMMIT finds the disk full (the file must grow): the install
    used to fail with a ConfigError saying 'cannot rollback - no transaction is active'."""
    # (small_disk first: unmounted after the uninstall has closed the connections)
    path = small_disk / 'app.db'
    connection = sqlite3.connect(str(path))  # the app's own file, whose journal mode canister keeps
    try:
        connection.execute('PRAGMA journal_mode=PERSIST')  # (its journal's room stays: the COMMIT is what fails)
        connection.execute('CREATE TABLE notes (body TEXT)')
        connection.execute('INSERT INTO notes VALUES (?)', (os.urandom(20000).hex(),))
        connection.commit()
    finally:
        connection.close()
    filler = fill_file_system(small_disk)
    app, said = install_warned(log_dir, session_store=sqlite_url(path))
    uninstall_at_end(app)
    assert sqlite_held_note(path, 'database or disk is full') in said
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    assert client(app).get('/count', status=503).text == UNAVAILABLE
    filler.unlink()
    assert client(app).get('/count').text == '1'  # room again: the table is made now, no restart


@pytest.fixture
def alice_on_a_small_disk(small_disk, make_app):
    """alice logged in to a ``guarded_app`` on a SQLite file of the small disk (which has room still): the file's
    path, the app, the client holding her cookie, and her session id."""
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = guarded_app(make_app, sqlite_url(path))
    web = client(app)
    return path, app, web, cookie_value(web.get('/login'))


def test_on_a_full_disk_a_logout_still_logs_out_while_it_fits_in_the_wal(small_disk, alice_on_a_small_disk):
    path, app, web, sid = alice_on_a_small_disk
    checkpoint(path)                                  # the -wal's room kept, as after SQLite's own checkpoints
    fill_file_system(small_disk)
    assert os.statvfs(str(small_disk)).f_bfree == 0
    answer = web.get('/logout')
    assert answer.text == 'out' and expires_cookie(answer.headers['Set-Cookie'])
    assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401


def test_on_a_disk_too_full_for_saves_a_logout_answers_503_and_the_session_stays_logged_in_until_there_is_room(
        alice_on_a_small_disk, log_dir):
    """A logout writes the "ended" marker over the session; a delete instead would need more room still (SQLite
    writes the table's page and both indexes' to the ``-wal``, or the rollback journal), so there is no fallback
    as on a full Redis, which still deletes: the logout fails as a save does, and works once there is room."""
    path, app, web, sid = alice_on_a_small_disk
    filler = fill_after_emptying_the_wal(path)
    answer = web.get('/logout', expect_errors=True)
    assert (answer.status_int, answer.text, answer.headers['Retry-After']) == (503, UNAVAILABLE, '1')
    assert 'Set-Cookie' not in answer.headers         # the browser keeps its cookie: the logout did not happen
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert 'the SQLite session store %s failed: database or disk is full' % path in read_log(log_dir)
    filler.unlink()
    assert web.get('/me').text == 'me: alice'         # still logged in, once there is room to serve it
    assert expires_cookie(web.get('/logout').headers['Set-Cookie'])
    assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401


def test_on_a_disk_too_full_for_saves_end_sessions_answers_503_and_every_session_stays_logged_in(
        small_disk, make_app):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = guarded_app(make_app, sqlite_url(path))
    sids = [cookie_value(client(app).get('/login')) for _ in range(2)]
    filler = fill_after_emptying_the_wal(path)
    answer = client(app).get('/end', expect_errors=True)
    assert (answer.status_int, answer.text) == (503, UNAVAILABLE)
    with pytest.raises(canister.StoreUnavailable, match='database or disk is full'):
        plugin_of(app).end_sessions('alice')          # (a script's call: the same cause)
    assert len(plugin_of(app).sessions_of('alice')) == 2
    filler.unlink()
    for sid in sids:
        assert client(app).get('/me', headers=with_cookie(sid)).text == 'me: alice'
    assert client(app).get('/end').text == '2'
    for sid in sids:
        assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401


def room_needed(directory, journal, change):
    """The fewest 4 KiB blocks free on the disk with which ``change(store, sid)`` succeeds on a session's row, the
    ``-wal`` emptied first (``journal='wal'``: a file of canister's own), or in the app's own file, which keeps
    its rollback journal (``'delete'``, SQLite's default); a fresh file each try."""
    path = directory / 'sessions.db'
    for blocks in range(16):
        for name in os.listdir(str(directory)):
            os.unlink(str(directory / name))
        if journal == 'delete':
            connection = sqlite3.connect(str(path))
            connection.execute('CREATE TABLE notes (body TEXT)')  # the app's: canister leaves the journal mode
            connection.close()
        store = canister.SQLiteStore(str(path))
        try:
            for n in range(20):
                store.create('sid%d' % n, '[{"note": "%s"}, "alice"]' % ('x' * 100), 3600, 'alice')
            if journal == 'wal':
                checkpoint(path, 'TRUNCATE')
            filler = fill_file_system(directory)
            os.truncate(str(filler), max(os.path.getsize(str(filler)) - blocks * 4096, 0))
            try:
                change(store, 'sid5')
                return blocks
            except canister.StoreUnavailable as error:
                assert 'database or disk is full' in str(error)
        finally:
            store.close()
    raise AssertionError('no room found')


@pytest.mark.parametrize('journal', ['wal', 'delete'])
def test_deleting_a_session_needs_more_room_than_writing_its_ended_marker_so_a_logout_has_no_fallback(
        small_disk, journal):
    """What the README says of a logout on a full disk: where the marker does not fit, a delete does not either."""
    marker = room_needed(small_disk, journal, lambda store, sid: store.update(sid, store.load(sid), '"ended"', 60))
    delete = room_needed(small_disk, journal, lambda store, sid: store.delete(sid))
    assert 0 < marker < delete, (marker, delete)


def unextended_line(path):
    """The end of the WARNING of a read served without extending its session's life, for want of room."""
    return ('was read, but its life was not extended (the request is served; the session ends at the expiry it had, '
            'unless a read once there is room extends it): the SQLite session store %s failed: database or disk is '
            'full' % path)


def test_on_a_disk_too_full_for_saves_a_read_of_a_logged_in_session_is_served_with_one_warning(
        alice_on_a_small_disk, log_dir):
    """Extending a session's life is an UPDATE of its expiry, which the disk has no room for: the read is served all
    the same, with the session as loaded, as on a full Redis (where PEXPIRE adds no memory)."""
    path, app, web, sid = alice_on_a_small_disk
    filler = fill_after_emptying_the_wal(path)
    for _ in range(3):
        answer = web.get('/me')
        assert answer.text == 'me: alice' and 'Set-Cookie' not in answer.headers
    warned = [line for line in warning_lines(log_dir) if line.endswith(unextended_line(path))]
    assert len(warned) == 1 and ' Session: %s... was read' % sid[:6] in warned[0], warned  # (once a second at most)
    assert ' ERROR ' not in read_log(log_dir)
    filler.unlink()
    assert web.get('/me').text == 'me: alice'


def test_on_a_disk_too_full_for_saves_a_read_of_a_remembered_session_sends_no_cookie_promising_a_longer_life(
        alice_on_a_small_disk):
    """A remembered session's cookie slides with each read, its Max-Age the life the store gave it: where the disk had
    no room to extend that life, the read is served without the cookie, which keeps the Max-Age of the stored expiry."""
    path, app, web, sid = alice_on_a_small_disk
    app.get('/remember')(lambda: canister.session.remember(3600) or 'remembered')
    assert 'Max-Age=3600' in web.get('/remember').headers['Set-Cookie']
    assert 'Max-Age=3600' in web.get('/me').headers['Set-Cookie']  # (a read with room sends it again: it slides)
    filler = fill_after_emptying_the_wal(path)
    answer = web.get('/me')
    assert answer.text == 'me: alice' and 'Set-Cookie' not in answer.headers
    filler.unlink()
    assert 'Max-Age=3600' in web.get('/me').headers['Set-Cookie']  # room again: the read extends it, and says so


def test_the_warnings_of_reads_whose_life_was_not_extended_never_write_the_full_session_id(
        alice_on_a_small_disk, log_dir):
    """The store tells the full id to ``extension_failed``; the log gets its first 6 characters only, in the first
    WARNING, and none in the line that counts the reads met within its second."""
    path, app, web, sid = alice_on_a_small_disk
    filler = fill_after_emptying_the_wal(path)
    for _ in range(3):
        assert web.get('/me').text == 'me: alice'
    time.sleep(1.1)
    assert web.get('/me').text == 'me: alice'         # (writes the count of the second before)
    log = read_log(log_dir)
    assert 'more like it' in log and sid[:6] in log and sid not in log
    filler.unlink()


def test_on_a_disk_too_full_for_saves_a_change_of_a_session_that_reads_are_served_still_answers_503(
        alice_on_a_small_disk):
    path, app, web, sid = alice_on_a_small_disk
    app.get('/note')(lambda: canister.session.data.__setitem__('note', 'kept') or 'noted')
    filler = fill_after_emptying_the_wal(path)
    assert web.get('/me').text == 'me: alice'
    answer = web.get('/note', expect_errors=True)
    assert (answer.status_int, answer.text, answer.headers['Retry-After']) == (503, UNAVAILABLE, '1')
    assert web.get('/me').text == 'me: alice'
    filler.unlink()
    assert web.get('/note').text == 'noted'


def test_on_a_disk_too_full_for_saves_a_session_that_is_only_read_ends_at_its_unextended_timeout(
        small_disk, make_app):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = make_app(config={'session_store': sqlite_url(path), 'session_timeout': 2})
    app.get('/login')(lambda: setattr(canister.session, 'user', 'alice') or 'in')
    app.get('/me')(canister.require_user(lambda: 'me: %s' % canister.session.user))
    web = client(app)
    logged_in = time.monotonic()
    web.get('/login')
    filler = fill_after_emptying_the_wal(path)
    while time.monotonic() - logged_in < 1.5:         # reads that would each have given it 2 s more
        assert web.get('/me').text == 'me: alice'
        time.sleep(0.25)
    time.sleep(max(0.0, logged_in + 2.3 - time.monotonic()))
    assert web.get('/me', expect_errors=True).status_int == 401  # ended 2 s after the login: no read extended it
    filler.unlink()


def test_store_problem_says_the_disk_is_full_once_a_reads_extension_failed_for_want_of_room(alice_on_a_small_disk):
    """A read served without extending its session's life met a write that failed for want of room: the readiness
    probe says so, as after a save that failed (every change, login and logout answers 503 meanwhile)."""
    path, app, web, sid = alice_on_a_small_disk
    plugin = plugin_of(app)
    filler = fill_after_emptying_the_wal(path)
    assert plugin.store_problem() is None             # no write has failed yet
    assert web.get('/me').text == 'me: alice'
    failed = 'the SQLite session store %s failed: database or disk is full (0 bytes free)' % path
    assert [plugin.store_problem() for _ in range(2)] == [failed] * 2
    filler.unlink()
    assert plugin.store_problem() is None


def test_a_read_whose_extension_meets_a_file_locked_beyond_the_busy_timeout_still_answers_503(tmp_path, make_app):
    """Only a want of room lets a read go without its extension: a lock (or any other error) is a 503 as before."""
    path = tmp_path / 'sessions.db'
    app = guarded_app(make_app, sqlite_url(path))
    web = client(app)
    web.get('/login')
    holder = sqlite3.connect(str(path), isolation_level=None)
    try:
        holder.execute('BEGIN IMMEDIATE')             # the write lock, held past the 5 s busy timeout
        answer = web.get('/me', expect_errors=True)
        assert (answer.status_int, answer.text) == (503, UNAVAILABLE)
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    assert web.get('/me').text == 'me: alice'
