"""The command line names itself as it was run: ``python -m canister ...``, or ``python canister.py ...`` for a
checkout run as a file, in its error and warning lines and its usage."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT, readme_section

#: How each way of running it is named in its lines.
NAMED = {'file': 'python canister.py', 'module': 'python -m canister'}


def run(tmp_path, run_as, *args, stdin=''):
    """Run canister.py (a copy, in a checkout that is not installed) as a file from another directory, or as a
    module from the checkout."""
    checkout, elsewhere = tmp_path / 'checkout', tmp_path / 'elsewhere'
    checkout.mkdir(exist_ok=True)
    elsewhere.mkdir(exist_ok=True)
    shutil.copy(ROOT / 'canister.py', checkout / 'canister.py')
    how = [str(checkout / 'canister.py')] if run_as == 'file' else ['-m', 'canister']
    env = {name: value for name, value in os.environ.items() if name not in ('PYTHONPATH', 'NO_SUCH_VARIABLE')}
    return subprocess.run([sys.executable, *how, *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=str(checkout if run_as == 'module' else elsewhere), timeout=60)


@pytest.mark.parametrize('run_as', sorted(NAMED))
def test_a_commands_error_line_names_it_as_it_was_run(tmp_path, run_as):
    """Run as a file, its lines said ``python -m canister``, which there may import no canister, or another."""
    missing = tmp_path / 'missing.db'
    result = run(tmp_path, run_as, 'tidy-sessions', '--store', 'sqlite:///%s' % missing)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('%s tidy-sessions: canister.session_store = sqlite:///%s: there is no such file\n'
                             % (NAMED[run_as], missing))


@pytest.mark.parametrize('run_as', sorted(NAMED))
def test_a_bad_argument_names_the_command_as_it_was_run_in_its_usage_and_error_lines(tmp_path, run_as):
    result = run(tmp_path, run_as, 'tidy-sessions')
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr.startswith('usage: %s tidy-sessions [-h]' % NAMED[run_as])
    assert result.stderr.endswith('\n%s tidy-sessions: error: name the store: --config FILE, --store URL or '
                                  '--store-env NAME\n' % NAMED[run_as])
    result = run(tmp_path, run_as, 'sessions', 'alice', '--store-env', 'NO_SUCH_VARIABLE')
    assert (result.returncode, result.stderr.split(': error: ')[0]) == (2, NAMED[run_as] + ' sessions')


@pytest.mark.parametrize('run_as', sorted(NAMED))
def test_hash_passwords_errors_and_the_help_name_the_command_as_it_was_run(tmp_path, run_as):
    result = run(tmp_path, run_as, 'hash-password', stdin='')
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.startswith('%s hash-password: error: ' % NAMED[run_as])
    result = run(tmp_path, run_as, '--help')
    assert result.returncode == 0
    assert result.stdout.startswith('usage: %s [-h]' % NAMED[run_as])
    assert "%s COMMAND --help describes a command's options." % NAMED[run_as] in ' '.join(result.stdout.split())


def test_the_readme_says_a_file_run_is_named_so():
    text = ' '.join(readme_section('## Command line').split())
    assert 'then name the command that way, `python canister.py tidy-sessions: error: ...`' in text
