"""``python -m canister sessions USER`` and ``end-sessions USER``: a user's sessions listed and ended from the shell.

The sessions are made by a real app reading the same ini file as the command, on a real SQLite file and a real
redis-server; the command runs as a user runs it (a subprocess), and the old cookies are sent to the app again
afterwards.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import webtest

import canister
from canister import session
from helpers import (ROOT, WriteLock, app_with_ini, cookie_value, fill_up, run_canister, sigint_as_in_a_terminal,
                     with_cookie)
from session_kit import add_session_routes, make_store_url, plugin_of

TOKEN_USER = {'iss': 'https://idp.example/', 'sub': '2481', 'email': 'alice@example.com'}
#: One line of ``sessions``: when made, when last used, whether remembered (never the id).
LINE = re.compile(r'created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, last used \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, '
                  r'(remembered|not remembered)')


@pytest.fixture(params=['sqlite', 'redis'])
def app_and_ini(request, tmp_path, uninstall_at_end):
    """An app whose sessions live in a real SQLite file or redis-server, as its app.ini says, and that ini's path."""
    url = make_store_url(request.param, tmp_path, request)
    if url.startswith('sqlite'):
        url = 'sqlite:///' + str(tmp_path / 'sessions.db')
    app = app_with_ini(tmp_path, '[canister]\nsession_store = %s\nlog_path = %s\n' % (url, tmp_path / 'logs'))
    app.install(canister.Canister())
    add_session_routes(app)

    @app.get('/token-login')
    def token_login():
        session.user = dict(TOKEN_USER)
        return 'ok'

    @app.get('/me')
    def me():
        return {'user': session.user}

    return uninstall_at_end(app), tmp_path / 'app.ini'


def logged_in(app, path):
    """The session id of a fresh browser that visited ``path`` (a login)."""
    sid = cookie_value(webtest.TestApp(app).get(path))
    assert sid
    return sid


def user_of(app, sid):
    """Who the app takes a browser sending the cookie ``sid`` for."""
    return webtest.TestApp(app).get('/me', headers=with_cookie(sid)).json['user']


def test_sessions_lists_each_live_session_of_a_user_oldest_first_never_its_id(app_and_ini, tmp_path):
    app, ini = app_and_ini
    sids = [logged_in(app, '/login?name=alice'), logged_in(app, '/login?name=alice&remember=600'),
            logged_in(app, '/login?name=bob')]
    result = run_canister('sessions', 'alice', '--config', str(ini), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(LINE.fullmatch(line) for line in lines), result.stdout
    assert sorted(line.rsplit(', ', 1)[1] for line in lines) == ['not remembered', 'remembered']
    assert not any(sid in result.stdout for sid in sids)
    assert result.stderr == ''


def test_end_sessions_logs_a_user_out_everywhere_and_says_how_many(app_and_ini, tmp_path):
    app, ini = app_and_ini
    alices = [logged_in(app, '/login?name=alice'), logged_in(app, '/login?name=alice&remember=600')]
    bob = logged_in(app, '/login?name=bob')
    result = run_canister('end-sessions', 'alice', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, 'Ended 2 sessions of alice\n', '')
    assert [user_of(app, sid) for sid in alices] == [None, None]
    assert user_of(app, bob) == 'bob'
    listed = run_canister('sessions', 'alice', '--config', str(ini), cwd=tmp_path)
    assert (listed.returncode, listed.stdout) == (0, 'alice has no live sessions\n')


def test_a_tokens_user_is_named_by_its_iss_and_sub_in_json_and_is_not_the_name_of_its_sub(app_and_ini, tmp_path):
    app, ini = app_and_ini
    token = logged_in(app, '/token-login')
    name = logged_in(app, '/login?name=2481')
    user = '{"iss": "https://idp.example/", "sub": "2481"}'
    listed = run_canister('sessions', user, '--config', str(ini), cwd=tmp_path)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1, listed
    result = run_canister('end-sessions', user, '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Ended 1 session of %s\n' % user)
    assert user_of(app, token) is None
    assert user_of(app, name) == '2481'


def test_sessions_of_a_user_without_sessions_says_so_in_one_line_and_succeeds(app_and_ini, tmp_path):
    app, ini = app_and_ini
    logged_in(app, '/login?name=bob')
    result = run_canister('sessions', 'nobody-here', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, 'nobody-here has no live sessions\n', '')
    user = '{"iss": "https://idp.example/", "sub": "2481"}'
    result = run_canister('sessions', user, '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, '%s has no live sessions\n' % user, '')


def test_the_readme_shows_the_line_sessions_prints_for_a_user_without_any():
    text = (ROOT / 'README.md').read_text().split('\n## Command line\n', 1)[1].split('\n## ', 1)[0]
    assert 'a user without any gets one line saying so, `alice has no live sessions` (exit status 0)' in text


def test_end_sessions_of_a_user_without_sessions_ends_none_and_succeeds(app_and_ini, tmp_path):
    _, ini = app_and_ini
    result = run_canister('end-sessions', 'nobody-here', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Ended 0 sessions of nobody-here\n')


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
@pytest.mark.parametrize('user, why', [('', 'an empty name is nobody: name the user'),
                                       ('{"sub": 2481', "'{\"sub\": 2481' begins with { but is no JSON object"),
                                       ('{}x', "'{}x' begins with { but is no JSON object")])
def test_a_user_that_names_nobody_is_a_usage_error(tmp_path, command, user, why):
    result = run_canister(command, user, '--store', 'sqlite:///sessions.db', cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ''
    assert 'python -m canister %s: error: argument USER: %s' % (command, why) in result.stderr
    assert not (tmp_path / 'sessions.db').exists()


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
def test_naming_no_store_is_a_usage_error(tmp_path, command):
    result = run_canister(command, 'alice', cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith('python -m canister %s: error: name the store: --config FILE, --store URL or '
                                  '--store-env NAME\n' % command)


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
def test_a_memory_store_is_refused_since_no_other_process_sees_its_sessions(tmp_path, command):
    result = run_canister(command, 'alice', '--store', 'memory', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister %s: a memory store lives in the process of the app, and no other '
                             'process sees its sessions: call plugin.sessions_of(user) or plugin.end_sessions(user) '
                             'in the app\n' % command)


def test_a_missing_sqlite_file_is_said_and_not_made(tmp_path):
    result = run_canister('end-sessions', 'alice', '--store', 'sqlite:///sessions.db', cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith('python -m canister end-sessions: canister.session_store = sqlite:///sessions.db: '
                                    'there is no such file')
    assert not (tmp_path / 'sessions.db').exists()


def test_the_help_lists_every_command_the_readme_names(tmp_path):
    listed = re.search(r'\{([a-z,-]+)\}', run_canister('--help', cwd=tmp_path).stdout).group(1).split(',')
    readme = (ROOT / 'README.md').read_text()
    named = re.search(r'`python -m canister --help` lists the commands \(([^)]*)\)', readme).group(1)
    assert sorted(listed) == sorted(re.findall(r'`([a-z-]+)`', named))
    assert {'sessions', 'end-sessions'} <= set(listed)


def test_the_readme_documents_both_commands_with_the_lines_they_print():
    text = (ROOT / 'README.md').read_text().split('\n## Command line\n', 1)[1].split('\n## ', 1)[0]
    assert '`python -m canister sessions USER --config app.ini`' in text
    assert '`python -m canister end-sessions USER --config app.ini`' in text
    assert LINE.fullmatch(re.search(r'as `plugin.sessions_of` does: `([^`]+)`', text).group(1))
    assert "USER is a name, or, beginning with `{`, a user held as a dict, in JSON" in text
    assert ('text after `{` that is no JSON object (or one holding `NaN`, `Infinity`, or a `\\ud800` that no UTF-8 '
            'stands for, refused as in a body or a token)') in text
    assert '(a control character of USER shown escaped, `\\x1b`, as the log shows it)' in text


def test_a_session_whose_last_use_the_expiry_does_not_tell_is_listed_as_last_used_unknown(tmp_path, uninstall_at_end):
    url = 'sqlite:///' + str(tmp_path / 'sessions.db')
    app = app_with_ini(tmp_path, '[canister]\nsession_store = %s\nsession_timeout = 0\nlog_path = %s\n'
                       % (url, tmp_path / 'logs'))
    app.install(canister.Canister())
    uninstall_at_end(add_session_routes(app))
    logged_in(app, '/login?name=alice')
    result = run_canister('sessions', 'alice', '--config', str(tmp_path / 'app.ini'), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r'created \S+Z, last used unknown, not remembered\n', result.stdout), result.stdout


def test_plugin_sessions_of_tells_which_sessions_are_remembered(app_and_ini):
    app, _ = app_and_ini
    logged_in(app, '/login?name=alice')
    logged_in(app, '/login?name=alice&remember=600')
    assert sorted(entry['remembered'] for entry in plugin_of(app).sessions_of('alice')) == [False, True]


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
def test_a_user_in_json_nested_too_deeply_to_read_is_a_usage_error_not_a_traceback(tmp_path, command):
    user = '{"a": ' + '[' * 20000 + ']' * 20000 + '}'
    result = run_canister(command, user, '--store', 'sqlite:///sessions.db', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert 'Traceback' not in result.stderr
    assert result.stderr.startswith('usage: python -m canister %s ' % command)
    assert result.stderr.splitlines()[-1] == (
        'python -m canister %s: error: argument USER: %r begins with { but is no JSON object canister can read: it '
        'nests too deeply' % (command, user[:60]))


@pytest.mark.parametrize('user', ['{"sub": NaN}', '{"sub": Infinity}', '{"iss": "x", "sub": [-Infinity]}',
                                  '{"sub": 1e999}'])
def test_a_user_in_json_holding_nan_or_infinity_is_a_usage_error_not_the_name_nan_or_inf(app_and_ini, tmp_path, user):
    app, ini = app_and_ini
    nan, inf = logged_in(app, '/login?name=nan'), logged_in(app, '/login?name=inf')
    result = run_canister('end-sessions', user, '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.splitlines()[-1] == (
        "python -m canister end-sessions: error: argument USER: %r: its field 'sub' is not a finite number (NaN, "
        'Infinity and -Infinity are not JSON values)' % user)
    assert (user_of(app, nan), user_of(app, inf)) == ('nan', 'inf')


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
def test_a_user_in_json_holding_a_lone_surrogate_is_a_usage_error_saying_it_is_not_utf8(tmp_path, command):
    user = '{"sub": "\\ud800"}'
    result = run_canister(command, user, '--store', 'sqlite:///sessions.db', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.splitlines()[-1] == (
        "python -m canister %s: error: argument USER: %r: its field 'sub' is not valid UTF-8 (it holds a lone "
        'surrogate)' % (command, user))
    assert not (tmp_path / 'sessions.db').exists()


def test_end_sessions_shows_control_characters_of_the_user_escaped_as_the_log_does(app_and_ini, tmp_path):
    app, ini = app_and_ini
    sid = logged_in(app, '/login?name=ali%1B%5B2Jce%C2%85')
    result = run_canister('end-sessions', 'ali\x1b[2Jce\x85', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Ended 1 session of ali\\x1b[2Jce\\x85\n')
    assert user_of(app, sid) is None
    user = '{"iss": "https://idp.example/", "sub": "2481\\u001b[2J\\u2028"}'  # (JSON's escapes of ESC, U+2028)
    result = run_canister('end-sessions', user, '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Ended 0 sessions of %s\n' % user)


def sqlite_app_and_ini(tmp_path, uninstall_at_end):
    """An app whose sessions live in a real SQLite file, as its app.ini says; the app, the ini's path, the file's."""
    path = tmp_path / 'sessions.db'
    app = app_with_ini(tmp_path, '[canister]\nsession_store = sqlite:///%s\nlog_path = %s\n' % (path, tmp_path / 'logs'))
    app.install(canister.Canister())
    add_session_routes(app)
    app.get('/me')(lambda: {'user': session.user})
    return uninstall_at_end(app), tmp_path / 'app.ini', path


def refuse_ends_past(path, ended):
    """Have the SQLite file at ``path`` refuse to mark a session ended once ``ended`` are (an app's trigger, as a
    disk or lock failing midway would): every end past them fails with ``the app keeps these rows``."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute('CREATE TRIGGER refused BEFORE UPDATE OF record ON canister_sessions WHEN NEW.record = '
                       '\'"ended"\' AND (SELECT COUNT(*) FROM canister_sessions WHERE record = \'"ended"\') >= %d '
                       "BEGIN SELECT RAISE(ABORT, 'the app keeps these rows'); END" % ended)
    connection.close()


def test_end_sessions_whose_store_fails_partway_says_how_many_it_had_ended(tmp_path, uninstall_at_end):
    """The SQLite file refuses the third end (an app's trigger, as a disk or lock failing midway would): the line
    says that 2 sessions were ended before it failed, and they stay ended."""
    app, ini, path = sqlite_app_and_ini(tmp_path, uninstall_at_end)
    alices = [logged_in(app, '/login?name=alice') for _ in range(4)]
    refuse_ends_past(path, 2)

    result = run_canister('end-sessions', 'alice', '--config', str(ini), cwd=tmp_path)

    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister end-sessions: ending the sessions of alice failed after ending 2 '
                             'sessions (they stay ended): the SQLite session store %s failed: the app keeps these '
                             'rows\n' % path)
    assert sorted(str(user_of(app, sid)) for sid in alices) == ['None', 'None', 'alice', 'alice']


def test_end_sessions_whose_store_fails_before_ending_any_says_only_why(tmp_path, uninstall_at_end):
    app, ini, path = sqlite_app_and_ini(tmp_path, uninstall_at_end)
    alice = logged_in(app, '/login?name=alice')
    refuse_ends_past(path, 0)

    result = run_canister('end-sessions', 'alice', '--config', str(ini), cwd=tmp_path)

    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister end-sessions: the SQLite session store %s failed: the app keeps '
                             'these rows\n' % path)
    assert user_of(app, alice) == 'alice'


def test_plugin_end_sessions_whose_store_fails_partway_raises_saying_how_many_it_had_ended(tmp_path,
                                                                                           uninstall_at_end):
    app, _, path = sqlite_app_and_ini(tmp_path, uninstall_at_end)
    for _ in range(3):
        logged_in(app, '/login?name=alice')
    refuse_ends_past(path, 1)
    with pytest.raises(canister.StoreUnavailable) as raised:
        plugin_of(app).end_sessions('alice')
    assert raised.value.removed == 1


def test_end_other_sessions_whose_store_fails_partway_raises_saying_how_many_it_had_ended(tmp_path,
                                                                                        uninstall_at_end):
    """As ``plugin.end_sessions``: the README says ``removed`` is set wherever a user's sessions are ended."""
    app, _, path = sqlite_app_and_ini(tmp_path, uninstall_at_end)

    @app.get('/others-counted')
    def others_counted():
        try:
            return 'ended %d' % session.end_other_sessions()
        except canister.StoreUnavailable as error:
            return 'failed after %r' % error.removed

    alice = logged_in(app, '/login?name=alice')
    for _ in range(2):
        logged_in(app, '/login?name=alice')
    refuse_ends_past(path, 1)
    answer = webtest.TestApp(app).get('/others-counted', headers=with_cookie(alice), expect_errors=True)
    assert answer.text == 'failed after 1', answer


def test_the_readme_says_what_end_sessions_ended_before_its_store_failed():
    readme = (ROOT / 'README.md').read_text()
    assert ('and on a `StoreUnavailable` raised anywhere else but a call that ends sessions of a user '
            '(`plugin.end_sessions(user)`, `session.end_other_sessions()`), whose `removed` says how many sessions it '
            'had ended before the store failed (they stay ended; 0 if none)') in readme
    assert ('A store that fails partway through `end-sessions` gives that line with how many sessions were ended by '
            'then, which stay ended: `python -m canister end-sessions: ending the sessions of alice failed after '
            'ending 2 sessions (they stay ended): ...`') in readme


def test_a_name_that_begins_with_a_brace_is_given_as_a_sub_and_its_sessions_end(app_and_ini, tmp_path):
    app, ini = app_and_ini
    odd = logged_in(app, '/login?name=%7Bodd')
    plain = logged_in(app, '/login?name=odd')
    result = run_canister('end-sessions', '{"sub": "{odd"}', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Ended 1 session of {"sub": "{odd"}\n')
    assert user_of(app, odd) is None
    assert user_of(app, plain) == 'odd'


@pytest.mark.parametrize('command', ['sessions', 'end-sessions'])
def test_a_name_that_begins_with_a_brace_given_as_it_is_is_a_usage_error_saying_how_to_write_it(tmp_path, command):
    result = run_canister(command, '{odd', '--store', 'sqlite:///sessions.db', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.endswith(
        '"sub": "2481"}, and a name that begins with { as {"sub": "{odd"}\n'), result.stderr


def test_the_help_and_the_readme_say_how_to_write_a_name_that_begins_with_a_brace(tmp_path):
    shown = ' '.join(run_canister('end-sessions', '--help', cwd=tmp_path).stdout.split())
    assert 'write a name that begins with { so: \'{"sub": "{name"}\'' in shown
    readme = (ROOT / 'README.md').read_text()
    assert ('so a name that itself begins with `{` is written `\'{"sub": "{alice"}\'` (given as it is, it is no JSON, '
            'and the usage error says so, with that way to write it)') in readme


def test_the_stores_warnings_in_end_sessions_read_as_lines_of_the_command(tmp_path, redis_server, uninstall_at_end):
    """A full Redis (``maxmemory`` reached) refuses ``end_sessions``'s note and "ended" markers, which its WARNINGs
    say: on the command's stderr each reads as the command's own line, without the log's time, level and thread."""
    app = app_with_ini(tmp_path, '[canister]\nsession_store = %s\nlog_path = %s\n' % (redis_server.url,
                                                                                  tmp_path / 'logs'))
    app.install(canister.Canister())
    add_session_routes(app)
    uninstall_at_end(app)
    for _ in range(2):
        logged_in(app, '/login?name=alice')
    fill_up(redis_server).close()

    result = run_canister('end-sessions', 'alice', '--config', str(tmp_path / 'app.ini'), cwd=tmp_path)

    assert (result.returncode, result.stdout) == (0, 'Ended 2 sessions of alice\n')
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith('python -m canister end-sessions: warning: Session: ')
                                   for line in lines), result.stderr
    assert sum('could not leave its note for a login under way: Redis is full' in line for line in lines) == 1
    assert sum('ended by deleting it: Redis is full (maxmemory reached)' in line for line in lines) == 2


def test_the_readme_says_the_stores_warnings_come_as_lines_of_the_command():
    text = (ROOT / 'README.md').read_text().split('\n## Command line\n', 1)[1].split('\n## ', 1)[0]
    assert ('A WARNING of the store meanwhile (a full Redis refusing the "ended" markers, say) comes on stderr as a '
            "line of the command too, not in the log's layout: `python -m canister end-sessions: warning: Session: "
            'AbCdEf... ended by deleting it: Redis is full ...`') in text


@pytest.mark.parametrize('app_and_ini', ['sqlite'], indirect=True)  # (a Redis server has no write lock)
def test_end_sessions_on_a_sqlite_file_another_connection_holds_says_nothing_changed_and_to_run_it_again(
        app_and_ini, tmp_path):
    # (session 37: SQLite's "database is locked" alone, which said neither whether a session had ended nor what to do)
    app, ini = app_and_ini
    alice = logged_in(app, '/login?name=alice')
    path = tmp_path / 'sessions.db'
    lock = WriteLock(path, 60)
    try:
        result = run_canister('end-sessions', 'alice', '--config', str(ini), cwd=tmp_path)
    finally:
        lock.release()
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == (
        'python -m canister end-sessions: the SQLite session store %s failed: database is locked; nothing was changed: '
        "another connection held the file's write lock all the while (a long write transaction: another process's, or "
        'a sqlite3 shell left in a BEGIN): run the command again once it ends\n' % path)
    assert 'Traceback' not in result.stderr
    assert user_of(app, alice) == 'alice'


@pytest.mark.parametrize('app_and_ini', ['sqlite'], indirect=True)  # (the rows of a file: many made at once)
def test_end_sessions_stopped_with_ctrl_c_partway_says_how_many_sessions_it_had_ended(app_and_ini, tmp_path):
    # (session 37: "interrupted" alone, after thousands of sessions had been ended)
    app, ini = app_and_ini
    logged_in(app, '/login?name=alice')
    path = tmp_path / 'sessions.db'
    sessions = 100000  # (about 5 s of ends: the interrupt comes long before the last, however loaded the machine)
    with sqlite3.connect(str(path)) as connection:  # (as many copies of alice's session, each under an id of its own)
        _, record, expires, key = connection.execute('SELECT * FROM canister_sessions').fetchone()
        connection.executemany('INSERT INTO canister_sessions VALUES (?, ?, ?, ?)',
                               [(secrets.token_urlsafe(32), record, expires, key) for _ in range(sessions - 1)])

    def ended():
        with sqlite3.connect(str(path)) as connection:
            return connection.execute("SELECT count(*) FROM canister_sessions WHERE record = '\"ended\"'").fetchone()[0]

    command = subprocess.Popen([sys.executable, '-m', 'canister', 'end-sessions', 'alice', '--config', str(ini)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8', cwd=str(tmp_path),
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 60
    # (until it has ended two: the first one's count then taken, as the command counts each before it ends the next)
    while ended() < 2 and command.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    command.send_signal(signal.SIGINT)
    stdout, stderr = command.communicate(timeout=60)
    said = re.fullmatch(r'python -m canister end-sessions: error: interrupted after ending (\d+) sessions? of alice '
                        r'\(they stay ended\)\n', stderr)
    assert (command.returncode, stdout) == (130, '') and said, stderr
    assert 0 < int(said.group(1)) <= ended() < sessions  # (the last may have ended unconfirmed)
    left = run_canister('sessions', 'alice', '--config', str(ini), cwd=tmp_path)
    assert left.stdout.count('\n') == sessions - ended()
