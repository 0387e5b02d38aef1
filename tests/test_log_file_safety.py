"""The log files as a local attacker or a careless operator meets them: a symbolic link in a day's file's place
(which canister does not follow: it would append lines a client chose to whatever file the link names), and the
modes canister gives the files and the directory it makes (the lines hold client addresses and session ids' first
characters)."""
from __future__ import annotations

import errno
import os
import re
import stat
import time

import pytest

import canister
from helpers import client, day_file, read_log, served_once, told


#: Canister's clock stopped for each test, so that the day's file a test names is the one canister writes (a day
#: taken from the real clock at another moment is the next one around midnight).
pytestmark = pytest.mark.usefixtures('clock')


def test_a_symbolic_link_put_in_place_of_the_days_file_is_not_followed_and_stderr_says_so(make_app, log_dir, tmp_path,
                                                                                          capfd):
    web = served_once(make_app)
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    day_file(log_dir).unlink()
    day_file(log_dir).symlink_to(victim)
    time.sleep(1.1)  # (the day's file is looked at once a second)
    assert web.get('/', {'written': 'here'}).text == 'ok'
    assert victim.read_text() == 'precious\n'
    [said] = told(capfd.readouterr().err)
    assert said == ('canister: logging to %s failed: [Errno %d] %s is a symbolic link, which canister does not follow'
                    % (log_dir, errno.ELOOP, day_file(log_dir).name)), said


def test_a_symbolic_link_waiting_as_the_next_days_file_is_not_followed_and_lines_go_on_to_the_day_before(
        make_app, log_dir, tmp_path, clock, capfd):
    web = served_once(make_app)
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    tomorrow = day_file(log_dir, clock.now + 86400)
    tomorrow.symlink_to(victim)
    clock.advance(86400)
    assert web.get('/', {'after': 'midnight'}).text == 'ok'
    assert victim.read_text() == 'precious\n'
    assert 'GET http://localhost:80/?after=midnight' in day_file(log_dir, clock.now - 86400).read_text()
    [said] = told(capfd.readouterr().err)
    assert said.startswith('canister: cannot open %s: %s is a symbolic link, which canister does not follow; lines go '
                           'on to the file open before' % (tomorrow, tomorrow.name)), said


def test_an_install_over_a_symbolic_link_as_the_days_file_fails_naming_it(make_app, log_dir, tmp_path):
    log_dir.mkdir()
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    day_file(log_dir).symlink_to(victim)
    with pytest.raises(canister.ConfigError, match=r'^canister cannot write its log to %s: %s is a symbolic link, which '
                       r'canister does not follow' % (re.escape(str(log_dir)), day_file(log_dir).name)):
        make_app()
    assert victim.read_text() == 'precious\n'


def test_a_log_directory_that_is_a_symbolic_link_is_followed(make_app, tmp_path):
    """Only the day's file is refused as a link: ``log_path`` may name a link to the directory (``/var/log/app``
    pointing to a larger disk)."""
    real = tmp_path / 'elsewhere'
    real.mkdir()
    (tmp_path / 'linked').symlink_to(real)
    app = make_app(log_path=str(tmp_path / 'linked'))
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok'
    assert 'Response: 200' in read_log(real)


@pytest.mark.parametrize('umask', [0o022, 0o000])
def test_log_files_and_the_directory_canister_makes_are_open_to_their_owner_and_group_only(make_app, log_dir, umask):
    """0640 and 0750 under the usual umasks and under 000 too (the SQLite file is 0600): the lines hold client
    addresses and the first characters of session ids, which a local user could otherwise read."""
    old = os.umask(umask)
    try:
        served_once(make_app)
    finally:
        os.umask(old)
    assert stat.S_IMODE(day_file(log_dir).stat().st_mode) == 0o640
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o750


@pytest.mark.parametrize('umask', [0o022, 0o000])
def test_each_missing_directory_above_the_log_directory_is_made_0750_too(make_app, tmp_path, umask):
    """``os.makedirs`` made them 0777 less the umask: 0777 under 000, where any local user could rename the log
    directory away."""
    log_dir = tmp_path / 'var' / 'log' / 'app'
    old = os.umask(umask)
    try:
        app = make_app(log_path=str(log_dir))
    finally:
        os.umask(old)
    app.route('/', callback=lambda: 'ok')
    assert client(app).get('/').text == 'ok'
    assert [stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / 'var', tmp_path / 'var' / 'log', log_dir)] \
        == [0o750, 0o750, 0o750]
    assert stat.S_IMODE(day_file(log_dir).stat().st_mode) == 0o640


def test_a_log_directory_and_days_file_that_already_exist_keep_their_modes(make_app, log_dir):
    """An operator's choice (a directory others may list, a file a log shipper's group may read and write) stands."""
    log_dir.mkdir()
    os.chmod(log_dir, 0o755)
    day_file(log_dir).write_text('')
    os.chmod(day_file(log_dir), 0o664)
    served_once(make_app)
    assert 'Response: 200' in read_log(log_dir)
    assert stat.S_IMODE(day_file(log_dir).stat().st_mode) == 0o664
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o755
