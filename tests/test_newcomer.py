"""A newcomer's first command: the README's demo command, run as written in a throwaway copy of the
repository with Debian's own /usr/bin/python3 first on the PATH (PEP 668: no `pip install` outside a
virtual environment, and no `python` command), answers HTTP 200."""
from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT
from servers import free_port
SYSTEM_PYTHON = Path('/usr/bin/python3')


#: What a newcomer's clone of the checkout leaves out: a clone has no caches, builds or logs (those of the checkout
#: change while the suite, another lane or a linter runs there: a copy taken meanwhile would meet a vanished file).
NOT_IN_A_CLONE = ('.*', '__pycache__', '*.pyc', 'logs', 'build', 'dist', '*.egg-info', 'docs')


def readme_commands() -> list:
    """The commands of the README's "The two commands" block, without comments."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme.split('## The two commands', 1)[1].split('\n## ', 1)[0]
    block = re.search(r'```sh\n(.*?)```', section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith('#')]


def test_the_readme_names_the_demo_script_and_the_test_script():
    assert readme_commands() == ['bash scripts/demo.sh', 'bash scripts/test.sh']


def test_the_two_commands_stay_short_and_send_the_reader_to_command_line_for_the_others():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme.split('\n## The two commands\n', 1)[1].split('\n## ', 1)[0]
    assert section.rstrip().endswith(
        "`python -m canister --help` lists canister's other commands: see [Command line](#command-line).")
    assert 'exit status' not in section.split('![The demo page]', 1)[1] and 'end-sessions' not in section
    command_line = readme.split('\n## Command line\n', 1)[1].split('\n## ', 1)[0]
    assert command_line.lstrip().startswith('`python -m canister --help` lists the commands (`demo`, ')
    assert '`python -m canister sessions USER --config app.ini` lists the live sessions of USER' in command_line
    contents = readme.split('\n## Install\n', 1)[0]
    assert '\n- [Command line](#command-line)\n  - [The demo](#the-demo)\n- [Development](#development)\n' in contents

def status_and_body(port: int, path: str = '/') -> tuple:
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        return response.status, response.read().decode('utf-8', 'replace')
    finally:
        connection.close()


def test_the_readme_demo_command_works_with_debians_python3_in_a_fresh_copy(tmp_path):
    if not SYSTEM_PYTHON.exists():
        pytest.fail('this test needs the system Python at /usr/bin/python3 (Debian: apt-get install python3)',
                    pytrace=False)
    copy = tmp_path / 'canister'
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    command = readme_commands()[0]
    # Only the system directories on the PATH, /usr/bin first: python3 is Debian's, and there is no `python`.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('PYTHON', 'PYENV', 'VIRTUAL_ENV', 'CONDA'))}
    env['PATH'] = '/usr/bin:/bin:/usr/sbin:/sbin'
    assert shutil.which('python3', path=env['PATH']) == str(SYSTEM_PYTHON)
    output = tmp_path / 'demo-output.txt'
    process = None
    try:
        for _ in range(5):  # (a port free when chosen may be taken by another job while the environment is made)
            port = free_port()
            with open(output, 'wb') as sink:
                process = subprocess.Popen(shlex.split(command) + ['--port', str(port)], cwd=str(copy), env=env,
                                           stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            deadline = time.monotonic() + 300  # making the environment and installing bottle from the index
            status = None
            while process.poll() is None:
                try:
                    status, page = status_and_body(port)
                    break
                except OSError:
                    assert time.monotonic() < deadline, 'the demo never answered:\n' + output.read_text()
                    time.sleep(0.5)
            if status is not None or 'Address already in use' not in output.read_text():
                break
        assert status is not None, 'the demo command exited:\n' + output.read_text()
        assert status == 200
        assert '<title>Canister demo</title>' in page
        assert status_and_body(port, '/hi?foo=John&bar=Smith') == (200, 'Hi John and Smith!')
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        if process is not None:
            process.wait(30)
    config = (copy / '.venv' / 'demo' / 'pyvenv.cfg').read_text()
    assert re.search(r'^home = /usr/bin$', config, re.M), config
    text = output.read_text()
    assert 'Canister demo on http://127.0.0.1:%d/' % port in text
    assert re.search(r'INFO     \[127\.0\.0\.1-\.\.\.\]   GET http://127\.0\.0\.1:%d/' % port, text)


def install_block() -> str:
    """The README's Install block of commands."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = readme.split('## Install\n', 1)[1].split('\n## ', 1)[0]
    return re.search(r'```sh\n(.*?)```', section, re.S).group(1)


def test_the_install_section_installs_2_0_from_a_checkout_with_extras_that_exist():
    block = install_block()
    targets = re.findall(r"^pip install (\S+)", block, re.M)
    assert targets == ['/path/to/canister', "'/path/to/canister[jwt]'", "'/path/to/canister[redis]'"]
    pyproject = (ROOT / 'pyproject.toml').read_text(encoding='utf-8')
    extras = pyproject.split('[project.optional-dependencies]', 1)[1].split('\n[', 1)[0]
    for extra in ('jwt', 'redis'):
        assert re.search(r'^%s = \[' % extra, extras, re.M)
    # Not released yet: the checkout's version is a development version of 2.0.
    assert re.search(r'^version = "2\.0\.0\.dev\d+"$', pyproject, re.M)
    assert 'python3 -m venv .venv/app' in block


def assert_installs_canister(commands: list, cwd: Path, tmp_path: Path) -> None:
    """Each ``pip install ...`` of ``commands``, run in ``cwd``, installs this canister 2.0, and an extra it
    names is one the installed package provides (--no-deps: the extras' own packages are the package index's
    business, not this README's)."""
    for number, command in enumerate(commands):
        target = tmp_path / ('site%d' % number)
        done = subprocess.run([sys.executable, '-m'] + shlex.split(command) + ['--no-deps', '--target', str(target)],
                              cwd=str(cwd), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (target / 'canister.py').read_text(encoding='utf-8') == (ROOT / 'canister.py').read_text(encoding='utf-8')
        metadata = next(target.glob('canister-2.0*.dist-info')).joinpath('METADATA').read_text(encoding='utf-8')
        for extra in re.findall(r'\[(\w+)\]', command):
            assert re.search(r'^Provides-Extra: %s$' % extra, metadata, re.M), (command, metadata)


def checkout_copy(tmp_path: Path) -> Path:
    """A copy of this checkout, as a newcomer's clone holds what pip builds from."""
    copy = tmp_path / 'canister'
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE, 'tests', 'benchmarks'))
    return copy


def test_the_install_commands_work_from_an_apps_own_directory(tmp_path):
    # Run as written from another directory (the app's), the checkout's path for /path/to/canister.
    copy = checkout_copy(tmp_path)
    app_dir = tmp_path / 'app'
    app_dir.mkdir()
    commands = [line.split('#', 1)[0].replace('/path/to/canister', str(copy))
                for line in install_block().splitlines() if line.startswith('pip install ')]
    assert len(commands) == 3
    assert_installs_canister(commands, app_dir, tmp_path)


def test_the_install_commands_with_a_dot_work_inside_the_checkout(tmp_path):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    sentence = readme.split('Inside the checkout itself, ', 1)[1].split('\n', 1)[0]
    commands = re.findall(r'`(pip install [^`]+)`', sentence)
    assert commands == ['pip install .', "pip install '.[jwt]'"]
    assert_installs_canister(commands, checkout_copy(tmp_path), tmp_path)


def test_every_line_of_the_sessions_code_block_reads_at_a_glance():
    # A comment there says what a line does; the details are in the prose after the block.
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    block = re.search(r'```python\n(.*?)```', readme.split('\n## Sessions\n', 1)[1], re.S).group(1)
    assert "session.data                   # a dict of JSON-serializable values" in block
    assert max(len(line) for line in block.splitlines()) <= 120
