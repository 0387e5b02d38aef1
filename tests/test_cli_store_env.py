"""``--store-env NAME`` of ``tidy-sessions``, ``sessions`` and ``end-sessions``: the store URL read from an
environment variable, so that a Redis password stays out of ``ps`` and the crontab.

The sessions are made by a real app on a real SQLite file and a real redis-server that asks for a password; the
command runs as a user runs it (a subprocess), and its argv is read where ``ps`` reads it, ``/proc/PID/cmdline``.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
import webtest

import canister
from helpers import ROOT, cookie_value, readme_section, run_canister, with_cookie
from session_kit import add_session_routes

PASSWORD = 'Sh0p-r3dis-S3cret'
COMMANDS = [('tidy-sessions',), ('sessions', 'alice'), ('end-sessions', 'alice')]


def run_seen(args, cwd, **env):
    """``python -m canister ARGS`` with ``env`` added: its status, stdout, stderr and its argv as ``ps`` shows it
    (read from ``/proc/PID/cmdline`` while it runs: the interpreter's start alone takes longer than the reads)."""
    command = subprocess.Popen([sys.executable, '-m', 'canister', *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8', cwd=str(cwd),
                               env=dict(os.environ, PYTHONPATH=str(ROOT), **env))
    argv = ['']
    while argv == [''] and command.poll() is None:  # (empty for a moment while the child execs the interpreter)
        with open('/proc/%d/cmdline' % command.pid, 'rb') as cmdline:
            argv = cmdline.read().decode('utf-8').split('\0')
    stdout, stderr = command.communicate(timeout=30)
    assert 'canister' in argv, argv
    return command.returncode, stdout, stderr, ' '.join(argv)


def logged_in_app(make_app, url):
    """An app on the store ``url`` where alice is logged in on one session; the app and that session's id."""
    app = add_session_routes(make_app(config={'session_store': url}))
    app.route('/me', callback=lambda: str(canister.session.user))
    sid = cookie_value(webtest.TestApp(app).get('/login?name=alice'))
    assert sid
    return app, sid


def test_the_commands_read_a_redis_url_with_its_password_from_the_variable_and_show_the_password_nowhere(
        make_app, redis_server, tmp_path):
    redis.Redis(port=redis_server.port).config_set('requirepass', PASSWORD)
    url = 'redis://:%s@127.0.0.1:%d/0' % (PASSWORD, redis_server.port)
    app, sid = logged_in_app(make_app, url)
    results = [run_seen((*command, '--store-env', 'SHOP_SESSION_STORE'), tmp_path, SHOP_SESSION_STORE=url)
               for command in COMMANDS]
    for status, stdout, stderr, argv in results:
        assert (status, stderr) == (0, ''), stderr
        assert PASSWORD not in stdout and PASSWORD not in argv
        assert 'SHOP_SESSION_STORE' in argv
    assert results[0][1].startswith('Removed 0 entries of ended sessions from redis://')
    assert results[1][1].startswith('created ') and results[1][1].count('\n') == 1
    assert results[2][1] == 'Ended 1 session of alice\n'
    assert run_seen(('sessions', 'alice', '--store-env', 'SHOP_SESSION_STORE'), tmp_path,
                    SHOP_SESSION_STORE=url)[:3] == (0, 'alice has no live sessions\n', '')
    assert webtest.TestApp(app).get('/me', headers=with_cookie(sid)).text == 'None'


@pytest.mark.parametrize('command', COMMANDS)
def test_a_wrong_password_in_the_variable_is_one_line_that_does_not_show_it(redis_server, tmp_path, command):
    redis.Redis(port=redis_server.port).config_set('requirepass', PASSWORD)
    wrong = 'Wr0ng-' + PASSWORD
    url = 'redis://:%s@127.0.0.1:%d/0' % (wrong, redis_server.port)
    status, stdout, stderr, argv = run_seen((*command, '--store-env', 'SHOP_SESSION_STORE'), tmp_path,
                                            SHOP_SESSION_STORE=url)
    assert (status, stdout) == (1, '')
    assert stderr.startswith('python -m canister %s: ' % command[0]) and stderr.count('\n') == 1, stderr
    assert wrong not in stderr and wrong not in argv


def test_the_commands_read_a_sqlite_url_from_the_variable(make_app, tmp_path):
    url = 'sqlite:///' + str(tmp_path / 'sessions.db')
    app, sid = logged_in_app(make_app, url)
    env = {'SHOP_SESSION_STORE': url}
    listed = run_canister('sessions', 'alice', '--store-env', 'SHOP_SESSION_STORE', cwd=tmp_path, **env)
    assert (listed.returncode, listed.stderr, listed.stdout.count('\n')) == (0, '', 1)
    ended = run_canister('end-sessions', 'alice', '--store-env', 'SHOP_SESSION_STORE', cwd=tmp_path, **env)
    assert (ended.returncode, ended.stderr, ended.stdout) == (0, '', 'Ended 1 session of alice\n')
    tidied = run_canister('tidy-sessions', '--store-env', 'SHOP_SESSION_STORE', cwd=tmp_path, **env)
    assert (tidied.returncode, tidied.stderr) == (0, '')
    assert tidied.stdout.startswith('Removed ') and url in tidied.stdout


def test_the_variable_wins_over_the_config_files_store(make_app, tmp_path):
    url = 'sqlite:///' + str(tmp_path / 'sessions.db')
    logged_in_app(make_app, url)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_store = sqlite:///%s\n' % (tmp_path / 'other.db'))
    result = run_canister('sessions', 'alice', '--config', 'app.ini', '--store-env', 'SHOP_SESSION_STORE',
                          cwd=tmp_path, SHOP_SESSION_STORE=url)
    assert (result.returncode, result.stderr, result.stdout.count('\n')) == (0, '', 1)


def test_a_config_file_without_a_store_is_enough_with_the_variable(make_app, tmp_path):
    url = 'sqlite:///' + str(tmp_path / 'sessions.db')
    logged_in_app(make_app, url)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_timeout = 600\n')
    result = run_canister('tidy-sessions', '--config', 'app.ini', '--store-env', 'SHOP_SESSION_STORE',
                          cwd=tmp_path, SHOP_SESSION_STORE=url)
    assert (result.returncode, result.stderr) == (0, '')


@pytest.mark.parametrize('command', COMMANDS)
def test_a_missing_variable_is_a_bad_argument_said_in_one_line_that_names_it(tmp_path, command):
    env = {key: value for key, value in os.environ.items() if key != 'SHOP_SESSION_STORE'}
    result = subprocess.run([sys.executable, '-m', 'canister', *command, '--store-env', 'SHOP_SESSION_STORE'],
                            capture_output=True, encoding='utf-8', cwd=str(tmp_path), timeout=60,
                            env=dict(env, PYTHONPATH=str(ROOT)))
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr == ('python -m canister %s: error: --store-env SHOP_SESSION_STORE: no such variable in the '
                             'environment (a cron job does not see the variables of your shell or of the app: '
                             'export it in the script the job runs)\n' % command[0])


@pytest.mark.parametrize('value', ['', '  '])
@pytest.mark.parametrize('command', COMMANDS)
def test_an_empty_variable_is_a_bad_argument_said_in_one_line_that_names_it(tmp_path, command, value):
    result = run_canister(*command, '--store-env', 'SHOP_SESSION_STORE', cwd=tmp_path, SHOP_SESSION_STORE=value)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr == ('python -m canister %s: error: --store-env SHOP_SESSION_STORE: the variable is empty\n'
                             % command[0])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('command', COMMANDS)
def test_store_and_store_env_together_are_a_usage_error(tmp_path, command):
    result = run_canister(*command, '--store', 'memory', '--store-env', 'SHOP_SESSION_STORE', cwd=tmp_path,
                          SHOP_SESSION_STORE='memory')
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.startswith('usage: python -m canister %s' % command[0])
    assert result.stderr.endswith('python -m canister %s: error: argument --store-env: not allowed with argument '
                                  '--store\n' % command[0])


@pytest.mark.parametrize('command', COMMANDS)
def test_each_commands_help_names_store_env(tmp_path, command):
    result = run_canister(command[0], '--help', cwd=tmp_path)
    assert result.returncode == 0 and '--store-env NAME' in result.stdout


def test_the_readme_documents_store_env_under_command_line_and_points_to_it_from_deploying():
    text = readme_section('## Command line')
    assert ('`python -m canister tidy-sessions --config app.ini --store-env SHOP_SESSION_STORE`' in text)
    assert 'exit status 2' in text and '`--store` and `--store-env` together' in text
    assert '`--store-env SHOP_SESSION_STORE`' in readme_section('## Deploying')
