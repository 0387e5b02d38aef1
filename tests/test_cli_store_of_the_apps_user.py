"""``sessions``, ``end-sessions`` and ``tidy-sessions`` run by root on the SQLite file of an app that runs as another
user (a review, session 37: the app as uid 65534, root running ``end-sessions alice`` after a leaked password).

The command refused the file as the app refuses another user's, and advised to ``chown 0`` it (after which the app
could no longer open its store: every request needing a session answered 503), or to delete it ("canister then makes
it", which the command does not).  It still refuses the file (its owner could swap it, between the check and the
opening, for a link to a database of root's), and now says to run the command as the file's owner, with ``sudo -u``.

The tests run as root, as on this machine and in CI; the app runs in a forked child as nobody, on a real SQLite file,
and the commands in real subprocesses.
"""
from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys

import bottle
import pytest
import webtest

import canister
from canister import session
from helpers import ROOT, cookie_value, directory_of_nobody, in_child, readme_section, run_canister, with_cookie

NOBODY = pwd.getpwnam('nobody').pw_uid
COMMANDS = {'end-sessions': ['alice'], 'sessions': ['alice'], 'tidy-sessions': []}


def test_the_tests_run_as_root():
    assert os.geteuid() == 0


def as_the_apps_user(work):
    """True if ``work()``, run in a forked child as nobody (the app's user), returned True."""
    def child():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return work()
    _, status = os.waitpid(in_child(child), 0)
    return os.waitstatus_to_exitcode(status) == 0


def client_of_the_app(url):
    """A client of an app (in the process of nobody) keeping its sessions in the SQLite file ``url``."""
    app = bottle.Bottle()
    app.catchall = False
    app.install(canister.Canister(session_store=url, log_path='stderr', log_level='ERROR', csrf=False))

    @app.get('/login')
    def login():
        session.user = 'alice'
        return 'in'

    @app.get('/me')
    def me():
        return {'user': session.user}
    return webtest.TestApp(app)


def alices_session(url, sid_file):
    """The app, as nobody, logs alice in on a new SQLite file ``url`` (nobody's, 0600) and writes her id in
    ``sid_file``."""
    def work():
        sid = cookie_value(client_of_the_app(url).get('/login'))
        with open(sid_file, 'w') as file:
            file.write(sid)
        return bool(sid)
    assert as_the_apps_user(work)
    with open(sid_file) as file:
        return file.read()


def user_seen_by_the_app(url, sid):
    """Whom the app, as nobody, takes the cookie ``sid`` for: ``alice`` or ``None`` (False if it cannot serve)."""
    seen = {}

    def work(user):
        response = client_of_the_app(url).get('/me', headers=with_cookie(sid), expect_errors=True)
        return response.status_int == 200 and response.json['user'] == user
    seen['alice'] = as_the_apps_user(lambda: work('alice'))
    seen[None] = as_the_apps_user(lambda: work(None))
    return [user for user, right in seen.items() if right]


def owners(directory):
    """The owner uid and mode of each file in ``directory``, by name."""
    return {name: (os.stat(os.path.join(directory, name)).st_uid, os.stat(os.path.join(directory, name)).st_mode
                   & 0o777) for name in os.listdir(directory)}


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_root_is_told_to_run_the_command_as_the_owner_of_the_apps_file_and_nothing_changes(command):
    with directory_of_nobody() as directory:
        path = os.path.join(directory, 'sessions.db')
        url = 'sqlite:///' + path
        sid = alices_session(url, os.path.join(directory, 'sid'))
        before = owners(directory)
        assert before['sessions.db'] == (NOBODY, 0o600)
        result = run_canister(command, *COMMANDS[command], '--store', url)
        assert (result.returncode, result.stdout) == (1, '')
        advice = 'sudo -u nobody %s -m canister %s' % (shlex.quote(sys.executable), ' '.join([command] + COMMANDS[command]))
        assert result.stderr == (
            "python -m canister %s: canister.session_store = %s: %s is owned by another user, nobody (uid %d), not by "
            "this process's (uid 0) nor root: the app's user, presumably; as the app does, the command refuses another "
            "user's file, whose owner could swap it (for a link to a database of this process's user, which would get "
            "canister's table) or write into it what the command reads; run the command as its owner, the user the app "
            "runs as, and it opens the file as the app does: %s --store %s\n"
            % (command, url, path, NOBODY, advice, url))
        assert 'chown' not in result.stderr and 'delete' not in result.stderr
        assert owners(directory) == before  # (the file still nobody's; no -wal or -shm of root's beside it)
        assert user_seen_by_the_app(url, sid) == ['alice']  # (the session still live: the app still opens its file)


def test_the_command_run_as_the_owner_as_advised_ends_the_sessions_and_the_app_still_opens_its_file():
    with directory_of_nobody() as directory:
        url = 'sqlite:///' + os.path.join(directory, 'sessions.db')
        sid = alices_session(url, os.path.join(directory, 'sid'))
        refused = run_canister('end-sessions', 'alice', '--store', url)
        advised = shlex.split(refused.stderr.split(': sudo -u ', 1)[1])
        assert advised[:4] == ['nobody', sys.executable, '-m', 'canister']
        out, err = os.path.join(directory, 'out'), os.path.join(directory, 'err')
        # (the sandbox's Python is in a directory nobody may not enter: the child runs canister's main as nobody)
        assert as_the_apps_user(lambda: main_to(advised[4:], out, err) == 0)
        with open(out) as stdout, open(err) as stderr:
            assert (stdout.read(), stderr.read()) == ('Ended 1 session of alice\n', '')
        assert {uid for name, (uid, _) in owners(directory).items() if name.startswith('sessions.db')} == {NOBODY}
        assert user_seen_by_the_app(url, sid) == [None]  # (alice logged out; the app serves, no 503)


def main_to(words, out, err):
    """``python -m canister WORDS``'s exit status, its stdout and stderr written to the files ``out`` and ``err``."""
    for name, stream in ((out, sys.stdout), (err, sys.stderr)):
        stream.flush()
        os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), stream.fileno())
    try:
        return canister.main(words)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def test_a_uid_without_a_name_is_given_to_sudo_as_hash_uid_and_a_store_from_the_environment_as_store(tmp_path):
    uid = next(uid for uid in range(4321, 5000) if not any(entry.pw_uid == uid for entry in pwd.getpwall()))
    path = tmp_path / 'sessions.db'
    url = 'sqlite:///%s' % path
    client_of_the_app(url).get('/login')  # (root's file, then another user's)
    os.chown(path, uid, uid)
    result = run_canister('end-sessions', '{"iss": "https://idp.example/", "sub": "2481"}', '--store-env',
                          'SHOP_SESSION_STORE', SHOP_SESSION_STORE=url)
    assert result.returncode == 1
    assert ("owned by another user, #%d (uid %d)" % (uid, uid)) in result.stderr
    assert result.stderr.endswith(
        """: sudo -u '#%d' %s -m canister end-sessions '{"iss": "https://idp.example/", "sub": "2481"}' --store %s\n"""
        % (uid, shlex.quote(sys.executable), url))
    assert os.stat(path).st_uid == uid


@pytest.mark.parametrize('run_as', ['file', 'module'])
def test_the_advice_runs_canister_as_the_command_was_run(tmp_path, run_as):
    """A checkout that is not installed, run as ``python /path/to/canister.py``: the advice said ``-m canister``,
    which there imports no canister, or another one.  It repeats the file's path; run as a module, ``-m canister``."""
    checkout, elsewhere = tmp_path / 'checkout', tmp_path / 'elsewhere'
    checkout.mkdir()
    elsewhere.mkdir()
    shutil.copy(ROOT / 'canister.py', checkout / 'canister.py')
    path = tmp_path / 'sessions.db'
    url = 'sqlite:///%s' % path
    client_of_the_app(url).get('/login')
    os.chown(path, NOBODY, NOBODY)
    env = {name: value for name, value in os.environ.items() if name != 'PYTHONPATH'}
    how = [str(checkout / 'canister.py')] if run_as == 'file' else ['-m', 'canister']
    result = subprocess.run([sys.executable, *how, 'end-sessions', 'alice', '--store', url], capture_output=True,
                            text=True, cwd=str(checkout if run_as == 'module' else elsewhere), env=env, timeout=60)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.endswith(': sudo -u nobody %s %s end-sessions alice --store %s\n'
                                  % (shlex.quote(sys.executable), ' '.join(how), url)), result.stderr
    assert os.stat(path).st_uid == NOBODY


def test_a_file_others_may_write_is_refused_with_chmod_advice_and_no_delete_nor_chown(tmp_path):
    path = tmp_path / 'sessions.db'
    url = 'sqlite:///%s' % path
    client_of_the_app(url).get('/login')
    os.chmod(path, 0o666)
    result = run_canister('tidy-sessions', '--store', url)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == (
        "python -m canister tidy-sessions: canister.session_store = %s: the SQLite session file %s can be written by "
        "other users than this process's (owner uid 0, mode 0666): whoever may write it can make a session of any "
        "user, and its owner can read the live session ids in it; make it readable and writable by its owner only "
        "(chmod 600 %s), then run the command again\n" % (url, path, path))
    os.chmod(path, 0o600)
    assert run_canister('tidy-sessions', '--store', url).returncode == 0


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_root_refuses_another_users_file_in_roots_group_and_leaves_it_unchanged(tmp_path, command):
    """A file of the app's user in group root, 0600 (or 0660, shared with a second service), is no less another
    user's: root ran end-sessions on it and wrote into it, where its owner could have swapped it for a link."""
    path = tmp_path / 'sessions.db'
    url = 'sqlite:///%s' % path
    client_of_the_app(url).get('/login')
    os.chown(path, NOBODY, 0)
    before, files = os.stat(path), sorted(os.listdir(tmp_path))
    result = run_canister(command, *COMMANDS[command], '--store', url)
    assert (result.returncode, result.stdout) == (1, '')
    assert ("%s: %s is owned by another user, nobody (uid %d), not by this process's (uid 0) nor root" % (url, path, NOBODY)
            in result.stderr)
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, after.st_mtime_ns, after.st_size) == (NOBODY, 0, before.st_mtime_ns, before.st_size)
    assert sorted(os.listdir(tmp_path)) == files


def test_the_readme_says_a_command_refuses_another_users_file_whatever_its_group():
    section = readme_section('## Command line')
    assert ('Run as another user, root included, a command refuses the file, whatever its group (a file shared with '
            'a group of the app\'s, which the app takes, is still its owner\'s to swap), as the app refuses another '
            'user\'s') in section


def test_the_readme_says_to_run_the_commands_as_the_apps_user_with_sudo_u():
    section = readme_section('## Command line')
    assert ("Run `tidy-sessions`, `sessions` and `end-sessions` as the user the app runs as, the owner of its SQLite "
            "file: `sudo -u www-data python -m canister end-sessions alice --config app.ini`." in section)
