"""The test command read from stdin (``cat scripts/test.sh | bash``) runs as ``bash scripts/test.sh`` does, in the
working directory, which must be the repository's root; it failed at its own guard, ``BASH_SOURCE[0]: unbound
variable``. A ``LANES`` that is no number stops it at its first check, before it installs anything."""
import os
import pathlib
import subprocess

from helpers import ROOT

SCRIPT = (ROOT / 'scripts' / 'test.sh').read_bytes()


def _bash(cwd: pathlib.Path, *args: str, stdin: bytes = b'') -> subprocess.CompletedProcess:
    return subprocess.run(['bash', *args], input=stdin, cwd=str(cwd), capture_output=True, timeout=30,
                          env=dict(os.environ, LANES='many'))


def test_the_test_command_piped_into_bash_at_the_repositorys_root_runs_as_the_file_does():
    piped, run = _bash(ROOT, stdin=SCRIPT), _bash(ROOT, 'scripts/test.sh')
    assert piped.returncode == run.returncode == 2
    assert piped.stderr == run.stderr == b"LANES must be a whole number from 1 up, not 'many'\n"


def test_the_test_command_piped_into_bash_elsewhere_says_where_to_run_it(tmp_path):
    piped = _bash(tmp_path, stdin=SCRIPT)
    assert piped.returncode == 2
    assert piped.stderr.decode() == (
        "scripts/test.sh read from stdin (cat scripts/test.sh | bash) runs in the working directory, which must be the "
        "repository's root (canister.py, scripts/test.sh): %s is not; run it there, or run bash scripts/test.sh\n"
        % tmp_path)


def test_the_test_command_sourced_runs_nothing():
    sourced = _bash(ROOT, '-c', 'source scripts/test.sh && echo "sourced, lanes ${lanes:-unset}"')
    assert (sourced.returncode, sourced.stdout, sourced.stderr) == (0, b'sourced, lanes unset\n', b'')


def test_the_readme_says_how_the_test_command_runs_read_from_stdin():
    readme = ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split())
    assert ("Read from stdin (`cat scripts/test.sh | bash`), the script runs in the working directory, which must be "
            "the repository's root; elsewhere it says so and exits with 2 (`tests/test_test_command_from_stdin.py`)."
            ) in readme
