"""The command line: ``python -m canister hash-password`` and ``python -m canister demo``."""
from __future__ import annotations

import contextlib
import html
import os
import pathlib
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Tuple, Union

import bottle
import pytest

import canister
from helpers import ROOT, basic, client, demo_ctrl_c_can_stop, keys_listed, run_canister, sigint_as_in_a_terminal
from servers import Client, free_port, held_port, wait_until

HASH = re.compile(r'pbkdf2_sha256:\d+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+')


def ini_app(ini: pathlib.Path) -> bottle.Bottle:
    app = bottle.Bottle()
    app.config['catchall'] = False
    app.config.load_config(str(ini))
    app.install(canister.Canister())
    app.route('/me', callback=lambda: str(canister.session.user))
    return app


def users_file_app(tmp_path: pathlib.Path, content: bytes) -> bottle.Bottle:
    """:func:`ini_app` with a users file holding ``content`` (the test uninstalls it)."""
    users = tmp_path / 'users.txt'
    users.write_bytes(content)
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nauth_basic_users_file = %s\nlog_path = %s\n' % (users, tmp_path / 'logs'))
    return ini_app(ini)


# -- hash-password ---------------------------------------------------------------------

#: A password with the characters an ini file would interpolate (``%`` on bottle 0.12, ``$`` on 0.13).
PASSWORD = 'Per%cent$dollar-42'


@pytest.fixture(scope='module')
def config_line(tmp_path_factory) -> subprocess.CompletedProcess:
    """``python -m canister hash-password`` fed the password on a pipe (hashed once per module)."""
    return run_canister('hash-password', stdin=PASSWORD + '\n', cwd=tmp_path_factory.mktemp('cli'))


@pytest.fixture(scope='module')
def users_line(tmp_path_factory) -> subprocess.CompletedProcess:
    """``python -m canister hash-password --user bob`` fed the same password."""
    return run_canister('hash-password', '--user', 'bob', stdin=PASSWORD + '\n',
                        cwd=tmp_path_factory.mktemp('cli'))


def test_hash_password_reads_stdin_and_prints_a_config_line(config_line):
    assert config_line.returncode == 0, config_line.stderr
    lines = config_line.stdout.splitlines()
    assert len(lines) == 1
    match = re.fullmatch(r'auth_basic_password = (\S+)', lines[0])
    assert match and HASH.fullmatch(match.group(1))
    assert PASSWORD not in config_line.stdout + config_line.stderr


def test_hash_password_with_user_prints_a_users_file_line(users_line):
    assert users_line.returncode == 0, users_line.stderr
    lines = users_line.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith('bob:')
    assert HASH.fullmatch(lines[0][len('bob:'):])


def test_hash_password_salts_every_hash(config_line, users_line):
    assert config_line.stdout.split(' = ')[1].strip() != users_line.stdout.split(':', 1)[1].strip()


def test_hash_password_refuses_an_empty_password(tmp_path):
    result = run_canister('hash-password', stdin='\n', cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ''
    assert result.stderr == 'python -m canister hash-password: error: an empty password is not allowed\n'


def test_hash_password_with_nothing_on_stdin_says_so_rather_than_that_the_password_is_empty(tmp_path):
    result = run_canister('hash-password', stdin='', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister hash-password: error: nothing on stdin: pipe the password in as its '
                             'first line, or run the command on a terminal to be asked for it\n')


def test_the_hash_has_no_characters_an_ini_file_would_interpolate(config_line, users_line):
    for line in (config_line.stdout, users_line.stdout):
        assert line.strip() and '%' not in line and '$' not in line


def test_a_pasted_config_line_works_for_basic_auth_through_load_config(config_line, tmp_path):
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nauth_basic_username = bob\n%s\nlog_path = %s\n'
                   % (config_line.stdout.strip(), tmp_path / 'logs'))
    app = ini_app(ini)
    try:
        assert client(app).get('/me', headers={'Authorization': basic('bob', PASSWORD)}).text == 'bob'
        wrong = client(app).get('/me', headers={'Authorization': basic('bob', PASSWORD + 'x')}, status=401)
        assert wrong.headers['WWW-Authenticate'].startswith('Basic ')
    finally:
        app.uninstall(True)


def test_a_pasted_users_file_line_works_for_basic_auth(users_line, tmp_path):
    app = users_file_app(tmp_path, ('# user:hash\n%s\n' % users_line.stdout.strip()).encode('utf-8'))
    try:
        assert client(app).get('/me', headers={'Authorization': basic('bob', PASSWORD)}).text == 'bob'
        client(app).get('/me', headers={'Authorization': basic('bob', PASSWORD + 'x')}, status=401)
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('user', ['bo:b', '#carol', ' #carol', 'dave\nerin', 'dave\u2028erin', '', ' bob', 'bob ',
                                  b'bo\x85b'])
def test_hash_password_refuses_a_user_name_the_users_file_would_read_otherwise(tmp_path, user):
    """Read back, each line would be another user (bo), a comment, two lines, no user, or an unreadable file."""
    assert ('`--user` refuses a name that the users file would read back as something else, before asking for '
            'the password, with one line on stderr and exit status 2' in (ROOT / 'README.md').read_text(encoding='utf-8'))
    result = run_canister('hash-password', '--user', user, stdin=PASSWORD + '\n', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith('python -m canister hash-password: error: --user ')
    assert 'the users file would not read that name back' in result.stderr


def test_hash_password_user_with_spaces_and_accents_logs_in_from_the_users_file(tmp_path):
    result = run_canister('hash-password', '--user', 'José de la Vega', stdin=PASSWORD + '\n', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    app = users_file_app(tmp_path, result.stdout.encode('utf-8'))
    try:
        assert client(app).get('/me', headers={'Authorization': basic('José de la Vega', PASSWORD)}).text == \
            'José de la Vega'
    finally:
        app.uninstall(True)


# -- hash-password whatever the locale: the line is UTF-8, as the users file is read -------------------

#: A user name and a password that ASCII cannot write.
ACCENTED_USER, ACCENTED_PASSWORD = 'José de la Vega', 'pässwörd-€'


def assert_logs_in_with_the_accented_password(tmp_path: pathlib.Path, users_file: bytes) -> None:
    """An app reading this users file lets ACCENTED_USER in with ACCENTED_PASSWORD, and not with another."""
    app = users_file_app(tmp_path, users_file)
    try:
        web = client(app)
        right = web.get('/me', headers={'Authorization': basic(ACCENTED_USER, ACCENTED_PASSWORD)})
        assert right.text == ACCENTED_USER
        web.get('/me', headers={'Authorization': basic(ACCENTED_USER, ACCENTED_PASSWORD + 'x')}, status=401)
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('environment, piped', [
    ({'LC_ALL': 'C', 'PYTHONUTF8': '0'}, 'utf-8'),  # an ASCII locale: the UTF-8 bytes it cannot decode
    ({'PYTHONIOENCODING': 'ascii'}, 'utf-8'),
    ({'PYTHONIOENCODING': 'iso8859-15'}, 'iso8859-15'),  # stdin declared Latin-9 (it has the €), and piped so
], ids=['ascii-locale', 'ascii-stdio', 'latin-9-stdio'])
def test_hash_password_prints_the_users_file_line_in_utf8_whatever_the_locales_encoding(tmp_path, environment, piped):
    assert ('The line is written in UTF-8, as the users file is read, whatever the locale'
            in ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split()))
    result = run_canister('hash-password', '--user', ACCENTED_USER, stdin=(ACCENTED_PASSWORD + '\n').encode(piped),
                          cwd=tmp_path, **environment)
    assert (result.returncode, result.stderr) == (0, b''), result.stderr
    assert re.fullmatch(rb'Jos\xc3\xa9 de la Vega:pbkdf2_sha256:\S+\n', result.stdout), result.stdout
    assert_logs_in_with_the_accented_password(tmp_path, result.stdout)


def test_hash_password_under_an_ascii_locale_still_refuses_a_name_that_is_not_utf8(tmp_path):
    result = run_canister('hash-password', '--user', b'bo\x85b', stdin=PASSWORD.encode() + b'\n', cwd=tmp_path,
                          LC_ALL='C', PYTHONUTF8='0')
    assert (result.returncode, result.stdout) == (2, b'')
    assert result.stderr.startswith(b'python -m canister hash-password: error: --user ')
    assert len(result.stderr.splitlines()) == 1


def test_hash_password_refuses_a_piped_password_that_is_not_text_with_one_line(tmp_path):
    result = run_canister('hash-password', stdin=b'p\xe4ss\n', cwd=tmp_path, PYTHONIOENCODING='utf-8')  # Latin-1 bytes
    assert (result.returncode, result.stdout) == (1, b'')
    assert result.stderr == (b"python -m canister hash-password: error: the password on stdin is not text in the "
                             b"locale's encoding (utf-8) nor UTF-8\n")


def typed_at_the_prompt(tmp_path: pathlib.Path, typed: Union[str, Tuple[Union[str, bytes], ...]], *args: str,
                        **env: str) -> Tuple[int, bytes]:
    """Run ``python -m canister hash-password ARGS`` on a terminal of its own (a pty, which getpass opens),
    typing ``typed`` in UTF-8 at each prompt (or its texts, one at each, a ``bytes`` one as keys pressed
    without Enter: ``b'\\x03'`` is Ctrl-C); its exit status and all it wrote to the terminal."""
    answers = (typed, typed) if isinstance(typed, str) else typed
    pid, terminal = pty.fork()
    if pid == 0:  # the child, whose controlling terminal is the pty
        try:
            os.chdir(str(tmp_path))
            sigint_as_in_a_terminal()  # (Ctrl-C typed at it: a SIGINT)
            os.execve(sys.executable, [sys.executable, '-m', 'canister', 'hash-password', *args],
                      dict(os.environ, PYTHONPATH=str(ROOT), **env))
        finally:
            os._exit(127)
    deadline = time.monotonic() + 30
    output = b''

    def read_until(marker: bytes) -> bool:
        """Read what the command writes until ``marker``; False if it closed the terminal first (it ended)."""
        nonlocal output
        while marker not in output:
            if not select.select([terminal], [], [], max(deadline - time.monotonic(), 0))[0]:
                os.kill(pid, 9)
                raise AssertionError('the command said no %r in 30 s: %r' % (marker, output))
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the command ended
                chunk = b''
            if not chunk:
                return False
            output += chunk
        return True

    try:
        for prompt, answer in zip((b'Password: ', b'Again: '), answers):
            if not read_until(prompt):
                break
            # (after the prompt: getpass flushes earlier input)
            os.write(terminal, answer if isinstance(answer, bytes) else answer.encode('utf-8') + b'\n')
        read_until(b'\0never written')
    finally:
        os.close(terminal)
        status = os.waitpid(pid, 0)[1]
    return os.waitstatus_to_exitcode(status), output


def test_hash_password_typed_at_the_prompt_prints_a_utf8_users_file_line_that_logs_in(tmp_path):
    status, output = typed_at_the_prompt(tmp_path, ACCENTED_PASSWORD, '--user', ACCENTED_USER, LC_ALL='C.UTF-8')
    assert status == 0, output
    line = re.search(rb'^Jos\xc3\xa9 de la Vega:pbkdf2_sha256:\S+\r\n', output, re.M)
    assert line, output
    assert_logs_in_with_the_accented_password(tmp_path, line.group(0))


def test_hash_password_refuses_a_typed_password_the_terminals_encoding_cannot_decode_with_one_line(tmp_path):
    status, output = typed_at_the_prompt(tmp_path, ACCENTED_PASSWORD, LC_ALL='C', PYTHONUTF8='0')
    assert status == 1, output
    assert output.startswith(b'Password: ')
    assert output[len(b'Password: '):] == (b"python -m canister hash-password: error: the password typed is not text "
                                           b"in the terminal's encoding (ascii): set a UTF-8 locale, such as "
                                           b"LC_ALL=C.UTF-8\r\n")


def test_hash_password_compares_a_second_line_from_a_pipe(tmp_path):
    same = run_canister('hash-password', stdin=PASSWORD + '\n' + PASSWORD + '\n', cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert re.fullmatch(r'auth_basic_password = (\S+)\n', same.stdout)
    differ = run_canister('hash-password', stdin=PASSWORD + '\n' + PASSWORD + 'x\n', cwd=tmp_path)
    assert differ.returncode == 1
    assert differ.stdout == ''
    assert differ.stderr == ('python -m canister hash-password: error: the passwords differ (the second line of the '
                             'input must repeat the first)\n')


def test_hash_password_refuses_two_different_passwords_typed_at_the_prompt_with_its_error_line(tmp_path):
    status, output = typed_at_the_prompt(tmp_path, (PASSWORD, PASSWORD + 'x'))
    assert status == 1, output
    assert output.endswith(b'Again: \r\npython -m canister hash-password: error: the passwords differ\r\n'), output


def test_hash_password_help_says_what_it_reads_from_a_pipe(tmp_path):
    result = run_canister('hash-password', '--help', cwd=tmp_path)
    assert result.returncode == 0
    text = ' '.join(result.stdout.split())
    assert 'From a pipe the first line is the password; a second line, if there is one, must repeat it' in text


def test_keys_lists_every_config_key_with_its_default(tmp_path):
    result = run_canister('keys', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = keys_listed(result.stdout)
    assert set(canister.KEYS) | set(canister.ALIASES) == set(listed)
    assert re.match(r'session_timeout +3600 ', listed['session_timeout'])
    assert re.match(r'cors +\(empty\) ', listed['cors'])


def test_keys_prints_the_readme_tables_meanings_as_plain_text(tmp_path):
    result = run_canister('keys', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = keys_listed(result.stdout)
    assert listed['auth_jwt_algorithms'].endswith('accepted algorithms (default: HS256/384/512 with a secret; '
                                                  'RS256/384/512, ES256/384/512, PS256/384/512 and EdDSA with a '
                                                  'public key or a JWKS URL)')
    assert listed['session_store'].endswith('redis+cluster://host:port,... (see Scaling out in the README)')
    assert listed['auth_jwt_leeway'].endswith('seconds of clock skew allowed on exp/nbf/iat')
    assert '`' not in result.stdout and '](#' not in result.stdout


def test_no_command_prints_usage_and_fails(tmp_path):
    result = run_canister(cwd=tmp_path)
    assert result.returncode == 2
    assert 'demo' in result.stderr and 'hash-password' in result.stderr and 'keys' in result.stderr


# -- what the commands do when stdin or stdout fails, or the user stops them ----------------

def run_canister_without(fd: int, *args: str, stdout: Union[int, None] = subprocess.PIPE,
                         cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """``python -m canister ARGS`` with its file descriptor ``fd`` closed (0: stdin, 1: stdout, 2: stderr), as a
    shell's ``<&-``, ``>&-`` or ``2>&-`` leaves it (``-1``: none closed), stdout given as ``stdout``; a password
    piped to stdin (if open), stderr as text."""
    return subprocess.run([sys.executable, '-m', 'canister', *args], input=PASSWORD + '\n', stdout=stdout,
                          stderr=subprocess.PIPE, encoding='utf-8', cwd=str(cwd), timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          preexec_fn=(lambda: os.close(fd)) if fd >= 0 else None)


def test_hash_password_with_stdin_closed_says_in_one_line_that_nothing_is_on_it(tmp_path):
    result = run_canister_without(0, 'hash-password', cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ''
    assert result.stderr == ('python -m canister hash-password: error: nothing on stdin: pipe the password in as its '
                             'first line, or run the command on a terminal to be asked for it\n')


@pytest.mark.parametrize('args', [('hash-password',), ('keys',), ('tidy-sessions', '--store', 'memory')])
def test_a_command_with_stdout_closed_says_so_in_one_line_and_fails(tmp_path, args):
    result = run_canister_without(1, *args, cwd=tmp_path)
    assert result.returncode == 1
    if bottle.__version__.startswith('0.12'):  # (its import reads sys.stdout.write, before canister runs)
        assert 'bottle.py' in result.stderr and result.stderr.startswith('Traceback')
    else:
        assert result.stderr == ('python -m canister %s: error: cannot write to stdout: it is closed (>&-): send it '
                                 'to a file, or to /dev/null\n' % args[0])


@pytest.mark.parametrize('args', [('hash-password',), ('keys',), ('tidy-sessions', '--store', 'memory')])
def test_a_command_whose_stdout_is_full_says_so_in_one_line_and_fails(tmp_path, args):
    with open('/dev/full', 'wb') as full:
        result = run_canister_without(-1, *args, stdout=full.fileno(), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == 'python -m canister %s: error: cannot write to stdout: No space left on device\n' % args[0]


@pytest.mark.parametrize('args, prog', [(('--help',), 'python -m canister'),
                                        (('keys', '--help'), 'python -m canister keys'),
                                        (('demo', '--help'), 'python -m canister demo')])
def test_help_whose_stdout_is_full_says_so_in_one_line_and_fails(tmp_path, args, prog):
    """As the README says: "A command that cannot write its result to stdout, or its `--help`, says so"."""
    assert 'A command that cannot write its result to stdout, or its `--help`, says so' in (
        ROOT / 'README.md').read_text(encoding='utf-8')
    with open('/dev/full', 'wb') as full:
        result = run_canister_without(-1, *args, stdout=full.fileno(), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, '%s: error: cannot write to stdout: No space left on device\n'
                                                  % prog)


def test_help_with_stdout_closed_says_so_in_one_line_and_fails(tmp_path):
    result = run_canister_without(1, '--help', cwd=tmp_path)
    assert result.returncode == 1
    if bottle.__version__.startswith('0.12'):  # (its import reads sys.stdout.write, before canister runs)
        assert 'bottle.py' in result.stderr and result.stderr.startswith('Traceback')
    else:
        assert result.stderr == ('python -m canister: error: cannot write to stdout: it is closed (>&-): send it to '
                                 'a file, or to /dev/null\n')


def test_help_read_to_its_end_is_argparses_help_with_status_0(tmp_path):
    result = run_canister_without(-1, 'keys', '--help', cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout.startswith('usage: python -m canister keys [-h]\n\nList every config key')
    assert result.stdout.endswith('show this help message and exit\n')


@pytest.mark.parametrize('args', [('hash-password',), ('keys',)])
def test_a_command_whose_reader_stopped_reading_fails_without_a_word(tmp_path, args):
    read, write = os.pipe()
    os.close(read)  # (as `| head -1` has, once it has its line)
    try:
        result = run_canister_without(-1, *args, stdout=write, cwd=tmp_path)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (1, '')


@pytest.mark.parametrize('args, status', [(('hash-password', '--user', 'bo:b'), 2),
                                          (('tidy-sessions', '--store', 'sqlite:///missing.db'), 1),
                                          (('demo', '--config', 'missing.ini'), 1)])
def test_a_command_with_stderr_closed_writes_its_error_nowhere_and_keeps_its_status(tmp_path, args, status):
    result = run_canister_without(2, *args, cwd=tmp_path)
    assert result.stdout == ''  # (not the error line: a script reads stdout as the result)
    if bottle.__version__.startswith('0.12'):  # (its import reads sys.stderr.write, before canister runs)
        status = 1
    assert result.returncode == status


@pytest.mark.parametrize('args, status', [(('hash-password', '--user', 'bo:b'), 2),
                                          (('tidy-sessions', '--store', 'sqlite:///missing.db'), 1),
                                          (('demo', '--config', 'missing.ini'), 1),
                                          (('demo', '--port', '0'), 2),
                                          (('no-such-command',), 2)])
def test_a_command_whose_stderr_is_full_loses_its_error_line_and_keeps_its_status(tmp_path, args, status):
    with open('/dev/full', 'wb') as full:
        result = subprocess.run([sys.executable, '-m', 'canister', *args], input=PASSWORD + '\n', stdout=subprocess.PIPE,
                                stderr=full, encoding='utf-8', cwd=str(tmp_path), timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert (result.returncode, result.stdout) == (status, '')


def test_hash_password_stopped_with_ctrl_c_at_the_prompt_says_interrupted_and_exits_130(tmp_path):
    status, output = typed_at_the_prompt(tmp_path, (b'\x03',))
    assert status == 130, output
    assert output == b'Password: \r\npython -m canister hash-password: error: interrupted\r\n'


def test_hash_password_given_ctrl_d_at_the_prompt_says_no_password_was_typed(tmp_path):
    status, output = typed_at_the_prompt(tmp_path, (b'\x04',))
    assert status == 1, output
    assert output == (b'Password: \r\npython -m canister hash-password: error: no password was typed (Ctrl-D ends '
                      b'the input): type it, then Enter\r\n')


# -- --help ------------------------------------------------------------------------------

def help_text(*args: str, cwd: pathlib.Path) -> str:
    """What ``python -m canister ARGS --help`` prints, its whitespace folded to single spaces."""
    result = run_canister(*args, '--help', cwd=cwd)
    assert result.returncode == 0, result.stderr
    return ' '.join(result.stdout.split())


def test_help_names_the_exit_statuses(tmp_path):
    assert ('Exit status: 0 when done, 1 when the command could not do it (one line on stderr says why), 2 for bad '
            'arguments, 130 when Ctrl-C stops it (but the demo, which serves until then: 0).'
            in help_text(cwd=tmp_path))


def test_the_demos_help_says_what_the_demo_does(tmp_path):
    assert ('Serve a small app showing every feature, on one page that explains what canister did for each request, '
            'until Ctrl-C.' in help_text('demo', cwd=tmp_path))


def test_the_help_of_keys_says_what_it_lists(tmp_path):
    assert 'List every config key of the [canister] section with its default and meaning' in help_text(
        'keys', cwd=tmp_path)


def test_hash_passwords_help_describes_its_scheme_option(tmp_path):
    assert '--scheme {pbkdf2,scrypt} the hash function (default: pbkdf2)' in help_text('hash-password', cwd=tmp_path)


def test_tidy_sessions_help_names_what_each_option_takes(tmp_path):
    usage = ' '.join(help_text('tidy-sessions', cwd=tmp_path).split())  # (argparse wraps the usage line)
    assert '[--config FILE] [--store URL | --store-env NAME] [--prefix PREFIX] [--batch N]' in usage

# -- demo ------------------------------------------------------------------------------

def counter(page: str) -> int:
    match = re.search(r"<code id=\"data\">\{'counter': (\d+)\}</code>", html.unescape(page))
    assert match, page
    return int(match.group(1))


def test_the_demo_serves_the_counter_page_and_hi(tmp_path):
    with demo_ctrl_c_can_stop(tmp_path) as (process, web):
        port = web.port
        web.cookies.clear()
        answer = web.get('/')
        assert answer.status == 200
        assert counter(answer.text) == 0
        assert answer.headers['Set-Cookie'].startswith('session_id=')
        assert counter(web.get('/').text) == 1
        assert counter(web.get('/').text) == 2
        answer = web.get('/hi?foo=John&bar=Smith')
        assert (answer.status, answer.text) == (200, 'Hi John and Smith!')
        assert web.get('/hi').status == 400
    assert process.returncode is not None
    output = (tmp_path / 'output.txt').read_text()
    assert 'http://127.0.0.1:%d/' % port in output
    assert 'GET http://127.0.0.1:%d/hi?foo=John&bar=Smith' % port in output


def test_the_demo_stopped_with_ctrl_c_while_it_answers_requests_stops_at_once_with_status_0(tmp_path):
    """A Ctrl-C that comes while the demo writes an answer (wsgiref's handler used to catch it there, print its
    traceback and serve on, until a second Ctrl-C) stops it too."""
    with demo_ctrl_c_can_stop(tmp_path) as (process, web):
        answered = []

        def ask_until_it_stops() -> None:  # requests back to back: a Ctrl-C meanwhile most likely lands in one
            with contextlib.suppress(OSError):
                while process.poll() is None:
                    answered.append(web.get('/').status)

        asker = threading.Thread(target=ask_until_it_stops)
        asker.start()
        deadline = time.monotonic() + 30
        while not answered:  # (a busy machine may take longer than any fixed pause to answer the first)
            assert time.monotonic() < deadline and asker.is_alive(), 'no answer in 30 s'
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        asker.join(30)
        assert answered and set(answered) == {200}
    assert 'Traceback' not in (tmp_path / 'output.txt').read_text()


def test_the_demo_stopped_with_ctrl_c_before_it_calls_the_app_answers_that_request_and_stops_with_status_0(tmp_path):
    """A Ctrl-C that comes after wsgiref read a request but before canister's app is called (a busy machine
    widens that window; here wsgiref's environ building waits for the Ctrl-C) was caught by wsgiref's handler,
    which answered 500. Now that request is answered as usual and the demo stops."""
    script = (
        'import os, runpy, sys, time, wsgiref.handlers\n'
        'build = wsgiref.handlers.BaseHandler.setup_environ\n'
        'def slowly(self):\n'
        '    if self.base_env.get("QUERY_STRING") == "foo=Ann":  # (the request read, its environ not yet built)\n'
        '        open("reading", "w").close()\n'
        '        while not os.path.exists("sent"):  # (until the test has sent its Ctrl-C)\n'
        '            time.sleep(0.01)\n'
        '    build(self)\n'
        'wsgiref.handlers.BaseHandler.setup_environ = slowly\n'
        'sys.argv = ["canister", "demo", "--port", sys.argv[-1]]\n'
        'runpy.run_module("canister", run_name="__main__")\n')
    with demo_ctrl_c_can_stop(tmp_path, None, '-c', script) as (process, web):
        answered = []
        asker = threading.Thread(target=lambda: answered.append(web.get('/hi?foo=Ann')))
        asker.start()
        wait_until(lambda: (tmp_path / 'reading').exists(), 30, what='the demo reading the request')
        process.send_signal(signal.SIGINT)
        (tmp_path / 'sent').touch()
        asker.join(30)
        assert [(reply.status, reply.text) for reply in answered] == [(200, 'Hi Ann!')]
        assert process.wait(30) == 0
    assert 'Traceback' not in (tmp_path / 'output.txt').read_text()


def test_the_demo_sums_whole_numbers_to_a_whole_number_and_decimals_to_a_decimal():
    app = canister._demo_app(None)
    try:
        web = client(app)
        assert web.get('/api/sum?a=1&a=2&a=3').text.startswith('{"sum": 6,')
        assert web.get('/api/sum?a=1&a=2.5').json['sum'] == 3.5
        assert 'a=1&amp;a=2.5</code> gives 3.5' in web.get('/').text
    finally:
        app.uninstall(True)


def test_the_demos_429_to_a_page_of_another_origin_lets_it_read_retry_after_as_the_readme_says_to_keep_it():
    readme = (ROOT / 'README.md').read_text()
    assert 'a list of your own replaces the default: keep `Retry-After` and `WWW-Authenticate` in it' in readme
    app = canister._demo_app(None)
    try:
        web = client(app)
        other_origin = {'Origin': 'http://localhost:8080', 'Authorization': basic('alice', 'wrong')}
        for _ in range(10):
            web.get('/api/me', headers=other_origin, status=401)
        answer = web.get('/api/me', headers=other_origin, status=429)
    finally:
        app.uninstall(True)
    assert answer.headers['Retry-After']
    exposed = [name.strip() for name in answer.headers['Access-Control-Expose-Headers'].split(',')]
    assert 'Retry-After' in exposed and 'WWW-Authenticate' in exposed and 'Access-Control-Allow-Origin' in exposed


def test_the_demo_echo_takes_message_and_times_from_json_a_form_or_the_query():
    app = canister._demo_app(None)
    try:
        web = client(app)
        assert web.post_json('/api/echo', {'message': 'hi', 'times': 2}).json == {'echo': ['hi', 'hi']}
        assert web.post('/api/echo', {'message': 'hi', 'times': '3'}).json == {'echo': ['hi', 'hi', 'hi']}
        assert web.get('/api/echo?message=hi').json == {'echo': ['hi']}
        assert 'times' in web.get('/api/echo?message=hi&times=two', status=400).text
        assert web.get('/api/sum?a=1&a=2&a=3').json['sum'] == 6
        assert web.post('/logout').json == {'logged_out': True}
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('name, text, why', [
    ('no-such-file.ini', None, 'cannot read --config no-such-file.ini: No such file or directory'),
    ('no-section.ini', 'log_path = stderr\n', '--config no-section.ini: File contains no section headers.'),
    ('bad-value.ini', '[canister]\nlog_level = LOUD\n',
     "--config bad-value.ini: canister.log_level = 'LOUD' is not valid: expected one of"),
    ('latin-1.ini', '[canister]\ncors = caf\xe9\n'.encode('latin-1'),
     "--config latin-1.ini: 'utf-8' codec can't decode byte 0xe9"),
    ('a-directory.ini', 'directory', 'cannot read --config a-directory.ini: Is a directory'),
    # (the store's error may name the key or not: the line names the file, and no traceback follows)
    ('store-dir.ini', '[canister]\nlog_path = demo-logs\nsession_store = sqlite:///sessions\n', '--config store-dir.ini: '),
    ('log-under-a-file.ini', '[canister]\nlog_path = a-file/logs\n',
     '--config log-under-a-file.ini: canister cannot write its log to '),
])
def test_the_demo_with_a_config_file_it_cannot_read_stops_with_one_line_naming_it(tmp_path, name, text, why):
    assert ('A `FILE` that cannot be read (a path that does not exist, a directory, text the locale cannot decode) '
            'or is not an ini file stops the demo before it starts, with one line that names the file, and exit '
            'status 1; so does one with a setting canister refuses, the line saying which and why, or cannot act on '
            '(a log directory it cannot write, a session store it cannot open).'
            in ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split()))
    (tmp_path / 'sessions').mkdir()                   # a directory where store-dir.ini names its database
    (tmp_path / 'a-file').write_text('')              # a file where log-under-a-file.ini puts a directory
    if text == 'directory':
        (tmp_path / name).mkdir()
    elif isinstance(text, bytes):
        (tmp_path / name).write_bytes(text)
    elif text is not None:
        (tmp_path / name).write_text(text)
    with held_port(reuse_address=True) as port:   # (free for the demo's look at it, taken by no other test run)
        result = run_canister('demo', '--config', name, '--port', str(port), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.startswith('python -m canister demo: ' + why)
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / 'logs').exists()


def test_the_demo_on_a_port_already_taken_stops_with_one_line_and_status_1(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run_canister('demo', '--port', str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ['python -m canister demo: cannot serve on 127.0.0.1:%d: '
                                                'Address already in use' % port], done.stderr  # (no banner first)
    assert done.stdout == ''  # (no "Canister demo on ..." for a server that never started)


def test_the_demo_on_an_address_not_this_hosts_stops_with_one_line_and_status_1(tmp_path):
    port = free_port()
    done = run_canister('demo', '--host', '203.0.113.1', '--port', str(port), cwd=tmp_path)  # TEST-NET-3
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'python -m canister demo: cannot serve on 203.0.113.1:%d: ' % port), done.stderr
    assert done.stdout == ''


def test_the_demo_listens_on_127_0_0_1_port_8080_unless_told_otherwise(tmp_path):
    """The README's usage line, ``[--host 127.0.0.1] [--port 8080]``: with 8080 taken (here, or by another
    program), the demo without arguments names that address in its one line."""
    readme = ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split())
    assert '`python -m canister demo [--config FILE] [--host 127.0.0.1] [--port 8080]`' in readme
    with socket.socket() as taken:
        try:
            taken.bind(('127.0.0.1', 8080))
            taken.listen(1)
        except OSError:
            pass                                      # already taken by another program: the same answer
        done = run_canister('demo', cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith('python -m canister demo: cannot serve on 127.0.0.1:8080: '), done.stderr
    helped = run_canister('demo', '--help', cwd=tmp_path).stdout
    assert '[--config FILE]' in helped and '(default: 127.0.0.1)' in helped and '(default: 8080)' in helped


def test_the_demo_reads_a_config_file(tmp_path):
    logs = tmp_path / 'demo-logs'
    ini = tmp_path / 'demo.ini'
    ini.write_text('[canister]\nlog_path = %s\nsession_cookie = demo_sid\n' % logs)
    with demo_ctrl_c_can_stop(tmp_path, config=str(ini)) as (_, web):
        port = web.port
        answer = web.get('/')
        assert answer.status == 200
        assert answer.headers['Set-Cookie'].startswith('demo_sid=')
        assert 'curl -u USER:PASSWORD http://127.0.0.1:%d/api/me' % port in answer.text
        assert 'the demo logs to %s' % logs in answer.text
    log = ''.join(path.read_text() for path in logs.glob('log.*'))
    assert 'GET http://127.0.0.1:%d/\n' % port in log


@pytest.mark.parametrize('text', ['[app]\nsession_timeout = 60\n', '[canister]\n'])
def test_the_demo_with_a_config_file_of_no_canister_key_says_it_runs_on_the_defaults(tmp_path, text):
    ini = tmp_path / 'other.ini'
    ini.write_text(text)
    with demo_ctrl_c_can_stop(tmp_path, config=str(ini)):
        pass  # (it answered /hi?foo=x with 200)
    assert ("python -m canister demo: warning: --config %s sets no key of a [canister] section: the demo runs on "
            "canister's defaults\n" % ini) in (tmp_path / 'output.txt').read_text()


def test_the_demo_reads_a_capitalised_canister_section_without_a_warning_on_either_bottle(tmp_path):
    ini = tmp_path / 'capitalised.ini'
    ini.write_text('[Canister]\nsession_cookie = demo_sid\nlog_path = stderr\n')
    with demo_ctrl_c_can_stop(tmp_path, config=str(ini)) as (_, web):
        answer = web.get('/')
        assert answer.status == 200
        assert answer.headers['Set-Cookie'].startswith('demo_sid=')
    assert 'warning' not in (tmp_path / 'output.txt').read_text()

def test_the_demo_with_an_empty_host_stops_with_a_usage_error_and_status_2(tmp_path):
    result = run_canister('demo', '--host', '', '--port', str(free_port()), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.endswith("python -m canister demo: error: argument --host: an empty address names no host: "
                                  'use 0.0.0.0 to listen on every address\n')

# -- hash-password --scheme: each scheme it offers, logged in with over a real server -------------------

@pytest.mark.parametrize('scheme, prefix', [('pbkdf2', 'pbkdf2_sha256:'), ('scrypt', 'scrypt:')])
def test_hash_password_scheme_prints_a_hash_that_logs_in_over_a_real_server(scheme, prefix, tmp_path, serve):
    printed = run_canister('hash-password', '--scheme', scheme, stdin=PASSWORD + '\n', cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    line = printed.stdout.strip()
    assert line.startswith('auth_basic_password = ' + prefix), line
    bob_logs_in_over_a_real_server(tmp_path, serve, 'auth_basic_username = bob\n%s' % line)


def bob_logs_in_over_a_real_server(tmp_path, serve, settings):
    """An app configured by an ini file with these ``settings``: bob logs in with PASSWORD, not without."""
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\n%s\nlog_path = %s\n' % (settings, tmp_path / 'logs'))
    app = ini_app(ini)
    try:
        web = Client(serve(app))
        right = web.get('/me', headers={'Authorization': basic('bob', PASSWORD)})
        assert (right.status, right.text) == (200, 'bob')
        wrong = web.get('/me', headers={'Authorization': basic('bob', PASSWORD + 'x')})
        assert wrong.status == 401 and wrong.headers['WWW-Authenticate'].startswith('Basic ')
    finally:
        app.uninstall(True)


def test_hash_password_scheme_scrypt_with_user_prints_a_users_file_line_that_logs_in(tmp_path, serve):
    printed = run_canister('hash-password', '--scheme', 'scrypt', '--user', 'bob', stdin=PASSWORD + '\n',
                           cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith('bob:scrypt:')
    users = tmp_path / 'users.txt'
    users.write_text(printed.stdout)
    bob_logs_in_over_a_real_server(tmp_path, serve, 'auth_basic_users_file = %s' % users)


@pytest.mark.parametrize('port', ['99999', '-1', '0', 'http'])
def test_the_demo_on_a_port_out_of_range_stops_with_a_usage_error_and_status_2(tmp_path, port):
    done = run_canister('demo', '--port', port, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        'python -m canister demo: error: argument --port: %s' % (repr(port) if port == 'http' else port)), done.stderr
    assert 'Traceback' not in done.stderr and 'Initializing' not in done.stderr and done.stdout == ''
