"""The log directory as another local user may have prepared it: a named pipe in a day's file's place (opened as
canister used to open it, the install, or every request that logs, would wait for a reader for good), a directory or
a day's file others may write or read, and ``log_path`` a symbolic link of theirs.  The tests run as root (as in CI),
who can give a file to another user, uid 1234, as that user could have made it."""
from __future__ import annotations

import errno
import io
import os
import pathlib
import re
import shutil
import sys
import tempfile
import time

import bottle
import pytest

import canister
from helpers import (client, day_file, finishes_in_child, install_warned, nobody_or_me, read_log, served_once, told,
                     warning_lines)

#: The other local user of these tests (no account needs to exist for a file to be owned by it).
OTHER = 1234


#: Canister's clock stopped for each test, so that the day's file a test names is the one canister writes (a day
#: taken from the real clock at another moment is the next one around midnight).
pytestmark = pytest.mark.usefixtures('clock')


def _as_root():
    """These tests give files to another user, which only root can do: CI runs them as root, never skipped."""
    assert os.geteuid() == 0, 'run as root (as CI does): the tests chown files to another user'


def _outcome_in_child(work, tmp_path, within=30.0):
    """What ``work()`` (a forked child's, which returns a text) returned, or 'still waiting' if it had not returned
    within ``within`` seconds (the child is then killed: a hang is a failure, not a hung suite)."""
    outcome = tmp_path / 'outcome'

    def child():
        try:
            outcome.write_text(work())
        except BaseException as error:
            outcome.write_text('raised %r' % error)
        return True

    finished = finishes_in_child(child, within)
    return outcome.read_text() if finished and outcome.exists() else 'still waiting after %s s' % within


def _install(log_dir):
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir)))
    app.route('/', callback=lambda: 'ok')
    return app


def _not_regular(log_dir, when=None):
    return ('%s is not a regular file (a named pipe, a device or a socket), which canister does not write to'
            % day_file(log_dir, when).name)


def test_an_install_over_a_named_pipe_as_the_days_file_fails_naming_it_instead_of_waiting_for_a_reader(log_dir,
                                                                                                      tmp_path):
    log_dir.mkdir(mode=0o777)
    os.mkfifo(day_file(log_dir))

    def install():
        try:
            _install(log_dir)
        except canister.ConfigError as error:
            return str(error)
        return 'installed'

    assert _outcome_in_child(install, tmp_path) == (
        'canister cannot write its log to %s: %s (fix canister.log_path, or set log_path = stderr)'
        % (log_dir, _not_regular(log_dir)))


def test_an_install_over_a_named_pipe_that_another_process_reads_fails_too(log_dir):
    """With its reader there the open does not wait, but the lines would go to whoever reads the pipe, until it is
    full, and then every request would wait."""
    log_dir.mkdir()
    os.mkfifo(day_file(log_dir))
    reader = os.open(day_file(log_dir), os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(canister.ConfigError, match=re.escape(_not_regular(log_dir))):
            _install(log_dir)
    finally:
        os.close(reader)


def test_a_named_pipe_put_in_place_of_the_days_file_while_running_is_told_and_requests_go_on(make_app, log_dir,
                                                                                            tmp_path):
    web = served_once(make_app)

    def request_after_the_swap():
        sys.stderr = io.StringIO()
        os.mkfifo(tmp_path / 'pipe')
        os.rename(tmp_path / 'pipe', day_file(log_dir))
        time.sleep(1.1)  # (the day's file is looked at once a second)
        answers = [web.get('/', {'n': str(n)}).text for n in range(2)]
        return '%s %s' % (answers, told(sys.stderr.getvalue()))

    assert _outcome_in_child(request_after_the_swap, tmp_path) == "['ok', 'ok'] %s" % [
        'canister: logging to %s failed: [Errno %d] %s' % (log_dir, errno.ENXIO, _not_regular(log_dir))]


def test_a_named_pipe_waiting_as_the_next_days_file_is_not_opened_and_lines_go_on_to_the_day_before(
        make_app, log_dir, tmp_path, clock):
    web = served_once(make_app)
    tomorrow = day_file(log_dir, clock.now + 86400)
    os.mkfifo(tomorrow)

    def request_after_midnight():
        sys.stderr = io.StringIO()
        clock.advance(86400)
        answer = web.get('/', {'after': 'midnight'}).text
        return '%s %s' % (answer, told(sys.stderr.getvalue()))

    outcome = _outcome_in_child(request_after_midnight, tmp_path)
    assert outcome.startswith("ok ['canister: cannot open %s: %s; lines go on to the file open before"
                              % (tomorrow, _not_regular(log_dir, clock.now + 86400))), outcome
    assert 'after=midnight' in day_file(log_dir).read_text()


def test_a_log_directory_others_may_write_is_a_warning_at_install(log_dir):
    log_dir.mkdir()
    os.chmod(log_dir, 0o777)
    app, said = install_warned(log_dir)
    note = ("The log directory %s can be written by other users than this process's (owner uid %d, mode 0777): "
            "whoever may write there can put a file of their own, a named pipe or a link in the place of a day's "
            "file, or delete the log's files; make it this user's, writable by its owner only (chmod 750 %s)"
            % (log_dir, os.geteuid(), log_dir))
    assert said == [note]
    assert any(line.endswith(note) for line in warning_lines(log_dir))
    app.uninstall(True)


def test_a_log_directory_of_another_user_is_a_warning_at_install(log_dir):
    _as_root()
    log_dir.mkdir(mode=0o750)
    os.chown(log_dir, OTHER, -1)
    app, said = install_warned(log_dir)
    assert said == ["The log directory %s can be written by other users than this process's (owner uid %d, mode "
                    "0750): whoever may write there can put a file of their own, a named pipe or a link in the place "
                    "of a day's file, or delete the log's files; make it this user's, writable by its owner only "
                    "(chmod 750 %s)" % (log_dir, OTHER, log_dir)]
    app.uninstall(True)


def _file_note(path, owner, mode):
    return ("The log file %s can be read or written by other users than this process's (owner uid %d, mode %04o): "
            "its lines hold client addresses and the first characters of session ids, and whoever may write it can "
            "add lines of their own; make it this user's, writable by its owner only (chmod 640 %s)"
            % (path, owner, mode, path))


def test_a_days_file_of_another_user_is_a_warning_at_install(log_dir):
    """Made before the app by whoever could write in the directory, mode 0666: canister appends to it all the same
    (as to logrotate's ``create``), and says so."""
    _as_root()
    log_dir.mkdir(mode=0o750)
    day_file(log_dir).write_text('')
    os.chmod(day_file(log_dir), 0o666)
    os.chown(day_file(log_dir), OTHER, -1)
    app, said = install_warned(log_dir)
    assert said == [_file_note(day_file(log_dir), OTHER, 0o666)]
    app.uninstall(True)
    assert 'The log file' in read_log(log_dir)


@pytest.mark.parametrize('mode', [0o644, 0o662])
def test_a_days_file_others_may_read_or_write_is_a_warning_at_install(log_dir, mode):
    log_dir.mkdir(mode=0o750)
    day_file(log_dir).write_text('')
    os.chmod(day_file(log_dir), mode)
    app, said = install_warned(log_dir)
    assert said == [_file_note(day_file(log_dir), os.geteuid(), mode)]
    app.uninstall(True)


@pytest.mark.parametrize('directory_mode, file_mode', [(None, None), (0o770, 0o660), (0o755, 0o640)])
def test_a_directory_and_days_file_of_this_user_and_its_group_are_no_warning(log_dir, directory_mode, file_mode):
    """Canister's own (0750 and 0640), shared with this process's group on purpose, or listed by anyone."""
    if directory_mode is not None:
        log_dir.mkdir()
        os.chmod(log_dir, directory_mode)
        day_file(log_dir).write_text('')
        os.chmod(day_file(log_dir), file_mode)
    app, said = install_warned(log_dir)
    assert said == []
    app.uninstall(True)


def test_a_log_path_that_is_a_symbolic_link_of_another_user_fails_the_install_and_deletes_nothing(tmp_path):
    _as_root()
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    old = theirs / 'log.2001-01-01'
    old.write_text('their line\n')
    link = tmp_path / 'logs'
    link.symlink_to(theirs)
    os.lchown(link, OTHER, -1)
    with pytest.raises(canister.ConfigError, match=r'^canister cannot write its log to %s: %s is a symbolic link of '
                       r'another user \(uid %d\), which canister does not follow' % (re.escape(str(link)),
                                                                                      re.escape(str(link)), OTHER)):
        _install(link)
    assert old.read_text() == 'their line\n'
    assert os.listdir(theirs) == ['log.2001-01-01']


def test_old_files_are_deleted_through_a_log_path_that_is_a_symbolic_link_of_this_user(make_app, tmp_path):
    real = tmp_path / 'elsewhere'
    real.mkdir()
    old, kept = day_file(real, canister._now() - 40 * 86400), day_file(real, canister._now() - 86400)
    old.write_text('old\n')
    kept.write_text('yesterday\n')
    (tmp_path / 'linked').symlink_to(real)
    app = make_app(log_path=str(tmp_path / 'linked'))
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok'
    assert sorted(os.listdir(real)) == [kept.name, day_file(real).name]


def _not_followed(log_dir, why):
    return ('canister: %s %s after the install, which canister does not follow; lines go on to the log directory '
            'opened before, wherever it was moved, until %s is a directory of this user again' % (log_dir, why, log_dir))


def _link_in_place_of(log_dir, tmp_path):
    """The log directory renamed away (to ``moved``) and a link to another user's directory, ``theirs``, put in its
    place; both returned."""
    theirs, moved = tmp_path / 'theirs', tmp_path / 'moved'
    theirs.mkdir()
    (theirs / 'log.2001-01-01').write_text('their line\n')
    os.rename(log_dir, moved)
    log_dir.symlink_to(theirs)
    return theirs, moved


def test_a_link_put_in_place_of_the_log_directory_while_running_is_not_written_through_at_midnight(
        make_app, log_dir, tmp_path, clock, capfd):
    """The next day's file is made in the directory opened at install, wherever it was moved, never in the one the
    link leads to; and no old file is deleted there."""
    web = served_once(make_app)
    theirs, moved = _link_in_place_of(log_dir, tmp_path)
    clock.advance(86400)
    assert web.get('/', {'after': 'midnight'}).text == 'ok'
    assert web.get('/', {'again': 'after'}).text == 'ok'
    assert os.listdir(theirs) == ['log.2001-01-01']
    assert (theirs / 'log.2001-01-01').read_text() == 'their line\n'
    lines = day_file(moved, clock.now).read_text()
    assert 'after=midnight' in lines and 'again=after' in lines
    said = told(capfd.readouterr().err)
    assert said == [_not_followed(log_dir, 'became a symbolic link')], said


def test_a_link_put_in_place_of_the_log_directory_while_running_is_not_written_through_within_the_day(
        make_app, log_dir, tmp_path, capfd):
    """The day's file is looked at once a second by its name: the name through the link leads to no such file, and
    still none is made there."""
    web = served_once(make_app)
    theirs, moved = _link_in_place_of(log_dir, tmp_path)
    time.sleep(1.1)
    for n in range(3):
        assert web.get('/', {'n': str(n)}).text == 'ok'
    assert os.listdir(theirs) == ['log.2001-01-01']
    assert 'n=2' in day_file(moved).read_text()
    said = told(capfd.readouterr().err)
    assert said == [_not_followed(log_dir, 'became a symbolic link')], said


def test_once_the_link_is_replaced_by_a_directory_of_this_user_lines_go_there(
        make_app, log_dir, tmp_path, capfd):
    web = served_once(make_app)
    theirs, moved = _link_in_place_of(log_dir, tmp_path)
    time.sleep(1.1)
    assert web.get('/', {'through': 'link'}).text == 'ok'
    log_dir.unlink()
    log_dir.mkdir()
    time.sleep(1.1)
    assert web.get('/', {'in': 'new'}).text == 'ok'
    assert 'in=new' in day_file(log_dir).read_text()
    assert 'through=link' in day_file(moved).read_text() and 'in=new' not in day_file(moved).read_text()
    assert os.listdir(theirs) == ['log.2001-01-01']
    assert told(capfd.readouterr().err) == [_not_followed(log_dir, 'became a symbolic link'),
                                            'canister: logging to %s works again' % log_dir]


def test_a_log_directory_renamed_away_and_made_again_by_an_admin_is_followed_within_a_second(
        make_app, log_dir, tmp_path, capfd):
    """``mv logs logs.old; mkdir logs`` (a rotation of the whole directory): the next lines go to the new one."""
    web = served_once(make_app)
    os.rename(log_dir, tmp_path / 'logs.old')
    log_dir.mkdir(mode=0o750)
    deadline = time.monotonic() + 30
    while not day_file(log_dir).exists() and time.monotonic() < deadline:
        assert web.get('/').text == 'ok'
        time.sleep(0.05)
    assert web.get('/', {'in': 'new'}).text == 'ok'
    assert 'in=new' in day_file(log_dir).read_text()
    assert 'in=new' not in day_file(tmp_path / 'logs.old').read_text()
    assert capfd.readouterr().err == ''


def test_a_log_directory_deleted_and_made_again_before_canister_looks_is_followed(make_app, log_dir, capfd):
    """``rm -rf logs; mkdir logs``, both within the second before canister looks at the day's file again."""
    web = served_once(make_app)
    shutil.rmtree(log_dir)
    log_dir.mkdir(mode=0o750)
    time.sleep(1.1)
    assert web.get('/', {'in': 'new'}).text == 'ok'
    assert 'in=new' in day_file(log_dir).read_text()
    assert capfd.readouterr().err == ''


def _served_then_replaced_by_a_directory_of_another_user(make_app, log_dir, tmp_path, clock):
    """An app served, its log directory moved to ``moved`` and one of user OTHER made in its place, at midnight."""
    _as_root()
    web = served_once(make_app)
    os.rename(log_dir, tmp_path / 'moved')
    log_dir.mkdir(mode=0o755)
    os.chown(log_dir, OTHER, -1)
    clock.advance(86400)
    return web


def test_a_directory_of_another_user_put_in_place_of_the_log_directory_is_not_followed(
        make_app, log_dir, tmp_path, clock, capfd):
    web = _served_then_replaced_by_a_directory_of_another_user(make_app, log_dir, tmp_path, clock)
    assert web.get('/', {'after': 'midnight'}).text == 'ok'
    assert os.listdir(log_dir) == []
    assert 'after=midnight' in day_file(tmp_path / 'moved', clock.now).read_text()
    said = told(capfd.readouterr().err)
    assert said == [_not_followed(log_dir, 'became a directory of another user (uid %d)' % OTHER)], said


def test_once_the_directory_of_another_user_is_made_this_users_lines_go_there_and_stderr_says_it_works_again(
        make_app, log_dir, tmp_path, clock, capfd):
    """Every other outage told on stderr is told over too: so is this one."""
    web = _served_then_replaced_by_a_directory_of_another_user(make_app, log_dir, tmp_path, clock)
    assert web.get('/', {'while': 'refused'}).text == 'ok'
    os.chown(log_dir, os.geteuid(), -1)
    clock.advance(86400)
    assert web.get('/', {'once': 'fixed'}).text == 'ok'
    assert 'once=fixed' in read_log(log_dir)
    assert 'while=refused' in read_log(tmp_path / 'moved')
    said = told(capfd.readouterr().err)
    assert said == [_not_followed(log_dir, 'became a directory of another user (uid %d)' % OTHER),
                    'canister: logging to %s works again' % log_dir], said


def test_a_directory_of_the_owner_of_the_one_opened_at_install_put_in_its_place_is_followed(log_dir, tmp_path):
    """The app ran in another user's directory (a WARNING at install), which that user makes again."""
    _as_root()
    log_dir.mkdir(mode=0o770)
    os.chown(log_dir, OTHER, -1)
    app, _ = install_warned(log_dir)
    app.route('/', callback=lambda: 'ok')
    try:
        os.rename(log_dir, tmp_path / 'moved')
        log_dir.mkdir(mode=0o770)
        os.chown(log_dir, OTHER, -1)
        time.sleep(1.1)
        assert client(app).get('/', {'in': 'new'}).text == 'ok'
    finally:
        app.uninstall(True)
    assert 'in=new' in day_file(log_dir).read_text()


def test_a_process_forked_after_a_link_took_the_log_directorys_place_writes_in_the_directory_opened_before(
        log_dir, tmp_path):
    """gunicorn ``--preload``: the master installed the app, and forks its workers after the swap; the master's
    file is closed at the fork (``Forks``), and opened again in the same directory, as the worker's is."""
    app = _install(log_dir)
    assert client(app).get('/').text == 'ok'
    theirs, moved = _link_in_place_of(log_dir, tmp_path)
    sys.stderr = io.StringIO()
    try:
        assert finishes_in_child(lambda: client(app).get('/', {'by': 'child'}).text == 'ok')
        time.sleep(1.1)
        assert client(app).get('/', {'by': 'parent'}).text == 'ok'
    finally:
        sys.stderr = sys.__stderr__
        app.uninstall(True)
    lines = day_file(moved).read_text()
    assert 'by=child' in lines and 'by=parent' in lines
    assert os.listdir(theirs) == ['log.2001-01-01']


def test_a_days_file_that_a_group_this_user_is_not_in_may_read_is_no_warning(log_dir):
    """logrotate's ``create 0640 www-data adm``: the adm group reads the logs on purpose."""
    _as_root()
    log_dir.mkdir(mode=0o750)
    day_file(log_dir).write_text('')
    os.chmod(day_file(log_dir), 0o640)
    os.chown(day_file(log_dir), -1, OTHER)
    app, said = install_warned(log_dir)
    assert said == []
    app.uninstall(True)


def test_a_log_directory_of_root_is_no_warning_to_another_user(tmp_path):
    """A directory root made for the app (``/var/log/app``, mode 0755), where the day's file is the app's user's."""
    _as_root()
    parent = tempfile.mkdtemp()
    try:
        os.chmod(parent, 0o755)
        logs = pathlib.Path(parent, 'logs')
        logs.mkdir(mode=0o755)
        day_file(logs).write_text('')
        os.chmod(day_file(logs), 0o640)
        os.chown(day_file(logs), nobody_or_me(), -1)

        def installed_as_nobody_without_a_warning():
            os.setgid(nobody_or_me())
            os.setgroups([])
            os.setuid(nobody_or_me())
            app, said = install_warned(logs)
            return said == [] and os.geteuid() != 0

        assert finishes_in_child(installed_as_nobody_without_a_warning)
    finally:
        shutil.rmtree(parent)


def test_a_directory_and_days_file_a_group_this_user_is_not_in_may_write_are_warnings(log_dir):
    _as_root()
    log_dir.mkdir()
    os.chmod(log_dir, 0o770)
    os.chown(log_dir, -1, OTHER)
    day_file(log_dir).write_text('')
    os.chmod(day_file(log_dir), 0o660)
    os.chown(day_file(log_dir), -1, OTHER)
    app, said = install_warned(log_dir)
    assert [note.split(' can be ')[0] for note in said] == ['The log directory %s' % log_dir,
                                                             'The log file %s' % day_file(log_dir)]
    assert _file_note(day_file(log_dir), os.geteuid(), 0o660) in said
    app.uninstall(True)
