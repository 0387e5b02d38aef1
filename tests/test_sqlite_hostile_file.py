"""A SQLite session file that another local user put in canister's way (a security review, session 35, playing a
second user, uid 1234, with ``chown``; the kernel's ``protected_symlinks`` and ``protected_regular`` are off here).

* a file another user made first in a shared directory (``touch sessions.db; chmod 666``) was only warned about, after
  canister had written its tables into it: that user then read the live session ids and could write rows (a session of
  anyone).  Such a file is a ``ConfigError`` now, before anything is written; so is one others may write.
* a symbolic link in the file's place was followed: to another user's database (canister's table added to it), or to
  an empty file of theirs (made a 20 KB SQLite database).  A link another user owns is a ``ConfigError`` now, and a
  connection opened while the app runs refuses it too (a 503).
* a directory other users may write is warned about at install.

The tests run as root, as on this machine and in CI: only root gives a file to another user.
"""
from __future__ import annotations

import os
import sqlite3
import time

import pytest

import canister
from canister import session
from helpers import install_warned, read_log, sqlite_url, warning_lines
from servers import Client

#: The other local user.
OTHER = 1234


def test_the_tests_run_as_root():
    assert os.geteuid() == 0


def refused(log_dir, path):
    """The ConfigError's text of an install on the SQLite file ``path``."""
    with pytest.raises(canister.ConfigError) as caught:
        install_warned(log_dir, {'session_store': sqlite_url(path)})
    return str(caught.value)


def file_refusal(name, why, uid, mode, shown=None):
    """The ConfigError's text for a file (``shown``: its name with the link's target) that others may write."""
    return ("canister.session_store: the SQLite session file %s %s (owner uid %d, mode %04o): whoever may write it "
            "can make a session of any user, and its owner can read the live session ids in it; delete it (canister "
            "then makes it, this user's and 0600), or make it this user's and readable and writable by its owner "
            "only (chown 0 %s; chmod 600 %s)" % (shown or name, why, uid, mode, name, name))


ANOTHER_OWNER = "is owned by another user than this process's (uid 0) or root"
OTHERS_WRITE = "can be written by other users than this process's"


def a_group_not_of_this_process():
    return next(gid for gid in range(4242, 5000) if gid not in {os.getegid(), *os.getgroups()})


@pytest.mark.parametrize('mode', [0o666, 0o600])
def test_a_session_file_of_another_user_is_refused_before_anything_is_written(tmp_path, log_dir, mode):
    path = tmp_path / 'sessions.db'
    path.touch()
    os.chown(path, OTHER, OTHER)
    os.chmod(path, mode)
    assert refused(log_dir, path) == file_refusal(path, ANOTHER_OWNER, OTHER, mode)
    assert path.stat().st_size == 0 and not os.path.exists('%s-wal' % path)


@pytest.mark.parametrize('mode, group', [(0o606, 0), (0o662, 0), (0o660, None), (0o620, None)])
def test_a_session_file_others_or_a_group_not_of_this_process_may_write_is_refused(tmp_path, log_dir, mode, group):
    path = tmp_path / 'app.db'
    sqlite3.connect(str(path)).close()
    os.chown(path, -1, a_group_not_of_this_process() if group is None else group)
    os.chmod(path, mode)
    assert refused(log_dir, path) == file_refusal(path, OTHERS_WRITE, 0, mode)
    assert sqlite3.connect(str(path)).execute('SELECT name FROM sqlite_master').fetchall() == []


@pytest.mark.parametrize('suffix', ['-wal', '-shm'])
def test_a_wal_or_shm_of_another_user_is_refused(tmp_path, log_dir, suffix):
    path = tmp_path / 'sessions.db'
    beside = tmp_path / ('sessions.db' + suffix)
    beside.touch()
    os.chown(beside, OTHER, OTHER)
    os.chmod(beside, 0o600)
    assert refused(log_dir, path) == file_refusal(beside, ANOTHER_OWNER, OTHER, 0o600)
    assert not path.exists()


def test_a_file_of_another_user_shared_with_a_group_of_this_process_is_used(tmp_path, log_dir, uninstall_at_end):
    """Another user of the app's group (``chgrp`` needs the owner in it) shares the file on purpose: accepted."""
    path = tmp_path / 'sessions.db'
    path.touch()
    os.chown(path, OTHER, os.getegid())
    os.chmod(path, 0o660)
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)
    assert said == [] and warning_lines(log_dir) == []
    app.uninstall(True)
    for mode in (0o666, 0o664):  # (others too now: no longer shared on purpose)
        os.chmod(path, mode)
        assert refused(log_dir, path) == file_refusal(path, ANOTHER_OWNER, OTHER, mode)


def victims_database(tmp_path):
    """Another user's 0600 database, with a table of theirs."""
    victim = tmp_path / 'victim'
    victim.mkdir()
    database = victim / 'app2.db'
    with sqlite3.connect(str(database)) as connection:
        connection.execute('CREATE TABLE orders (id INTEGER)')
    connection.close()
    os.chown(database, OTHER, OTHER)
    os.chmod(database, 0o600)
    return database


def tables(path):
    connection = sqlite3.connect(str(path))
    try:
        return [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        connection.close()


def link_refusal(name, uid, target):
    return ('canister.session_store: %s is a symbolic link of another user (owner uid %d) to %s, which canister does '
            'not follow: whoever made it chose the file that sessions would be written into; delete the link '
            '(canister then makes the file, 0600)' % (name, uid, target))


def test_a_link_of_another_user_is_refused_and_its_target_left_alone(tmp_path, log_dir, uninstall_at_end):
    database = victims_database(tmp_path)
    empty = tmp_path / 'victim' / 'notes.txt'
    empty.touch()
    os.chown(empty, OTHER, OTHER)
    for target in (database, empty):
        link = tmp_path / 'sessions.db'
        link.symlink_to(target)
        os.lchown(link, OTHER, OTHER)
        assert refused(log_dir, link) == link_refusal(link, OTHER, target)
        link.unlink()
    assert tables(database) == ['orders'] and empty.stat().st_size == 0
    # A link of this process's user to another user's file: the file's owner is refused, as the file would be.
    link = tmp_path / 'sessions.db'
    link.symlink_to(database)
    assert refused(log_dir, link) == file_refusal(link, ANOTHER_OWNER, OTHER, 0o600,
                                                  shown='%s (a link to %s)' % (link, database))
    assert tables(database) == ['orders']
    # And one to a file of this user's (a database on a larger disk, say) is followed, once the file is there.
    mine = tmp_path / 'big' / 'sessions.db'
    mine.parent.mkdir()
    link.unlink()
    link.symlink_to(mine)
    assert 'No such file or directory' in refused(log_dir, link) and not mine.exists()
    mine.touch(mode=0o600)  # (a dangling link is refused: canister makes the file, not the link's target)
    link.unlink()
    link.symlink_to(mine)
    app, said = install_warned(log_dir, {'session_store': sqlite_url(link)})
    uninstall_at_end(app)
    assert said == [] and tables(mine) == ['canister_sessions']


@pytest.mark.parametrize('planted', ['link', 'file'])
def test_a_link_or_file_another_user_puts_in_place_of_a_deleted_file_is_refused_while_the_app_runs(
        tmp_path, log_dir, serve, uninstall_at_end, planted):
    database = victims_database(tmp_path)
    path = tmp_path / 'sessions.db'
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)

    @app.get('/')
    def count():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    browser = Client(serve(app))
    assert browser.get('/').text == '1'
    for name in (path, '%s-wal' % path, '%s-shm' % path):
        if os.path.exists(name):
            os.remove(name)
    if planted == 'link':
        path.symlink_to(database)
        os.lchown(path, OTHER, OTHER)
        why = link_refusal(path, OTHER, database)
    else:
        path.touch()
        os.chown(path, OTHER, OTHER)
        os.chmod(path, 0o666)
        why = file_refusal(path, ANOTHER_OWNER, OTHER, 0o666)
    time.sleep(1.2)  # (each connection looks again at most once a second)
    assert browser.get('/').status == 503
    assert tables(database) == ['orders'] and (planted == 'link' or path.stat().st_size == 0)
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]   # (every day's file: at midnight too)
    assert why.split(': ', 1)[1] in errors[0] and 'Response: 503' in errors[1]


def directory_note(directory, path, uid, mode, tail):
    return ("The directory %s of the SQLite session file %s can be written by other users than this process's (owner "
            "uid %d, mode %04o): they can make the file, or its -wal or -shm, before canister does, which canister "
            "then refuses (at install, or when it makes the file again after it was deleted)%s; put the file in a "
            "directory only this user may write" % (directory, path, uid, mode, tail))


DELETE = ', and they can delete or rename it (logging everyone out)'


@pytest.mark.parametrize('mode, uid, group, tail', [(0o1777, 0, 0, ''), (0o777, 0, 0, DELETE),
                                                    (0o755, OTHER, 0, DELETE), (0o775, 0, None, DELETE)])
def test_a_directory_other_users_may_write_is_warned_about_at_install(
        tmp_path, log_dir, uninstall_at_end, mode, uid, group, tail):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chown(shared, uid, a_group_not_of_this_process() if group is None else group)
    os.chmod(shared, mode)
    path = shared / 'sessions.db'
    app, said = install_warned(log_dir, {'session_store': sqlite_url(path)})
    uninstall_at_end(app)
    assert said == [directory_note(shared, path, uid, mode, tail)]
    assert [line.split('   ', 1)[1] for line in warning_lines(log_dir)] == said
    assert path.stat().st_mode & 0o777 == 0o600
