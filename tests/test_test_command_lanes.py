"""The test command's lanes stop on a Ctrl-C, on CI's SIGTERM and on a SIGHUP: every run under way gets a SIGINT
(pytest's KeyboardInterrupt, which stops its servers), no further run starts, and ``scripts/test.sh`` exits with 128 +
the signal's number once the runs have stopped; also when the script was started with SIGINT ignored, as a job that a
non-interactive shell puts in the background (``nohup sh -c 'bash scripts/test.sh &'``, CI wrappers) is.

The script is sourced, not run (its main part would ``pip install`` into the environments), and its lanes are started
with four fake runs in two lanes: a Python script that sleeps and notes when a KeyboardInterrupt stops it."""
import fcntl
import os
import pathlib
import select
import signal
import subprocess
import sys
import termios
import time
from typing import Any, Callable, List, Set

import pytest

from helpers import ROOT, sigint_as_in_a_terminal

#: A run: notes its pid and process group when it starts, sleeps, and when a KeyboardInterrupt comes takes a moment
#: (pytest stopping its servers), notes it and exits with 2 as pytest does.
FAKE_RUN = r'''
import os, pathlib, sys, time
marks = pathlib.Path(sys.argv[-1])
(marks / ('note-%d' % os.getpid())).write_text('%d' % os.getpgrp())
os.replace(str(marks / ('note-%d' % os.getpid())), str(marks / ('started-%d' % os.getpid())))
try:
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(0.5)
    (marks / ('interrupted-%d' % os.getpid())).write_text('')
    sys.exit(2)
'''

#: Sources scripts/test.sh ($1) and starts its lanes: four runs of the fake ($2, with the marks' directory $3 as the
#: pytest arguments) in two lanes.
START_LANES = '''source "$1"
pytest=("$2")
venvs=(.venv/run-1 .venv/run-2 .venv/run-3 .venv/run-4)
lanes=2
pytest_args=("$3")
run_all
'''


def sigint_ignored_as_in_a_background_job() -> None:
    """For a subprocess (``preexec_fn``): SIGINT ignored, as a non-interactive shell's background job has it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _marked(marks: pathlib.Path, kind: str) -> Set[int]:
    return {int(path.name.split('-')[1]) for path in marks.glob(kind + '-*')}


def _as_a_ci_job(preexec_fn: Callable[[], None]) -> None:
    """``preexec_fn``, with SIGTERM and SIGHUP at their default as a CI job has them: this suite may itself run under
    ``nohup``, which ignores SIGHUP, and bash can neither trap nor reset a signal ignored when it starts."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    preexec_fn()


def _fake_runs(tmp_path: pathlib.Path, source: str) -> pathlib.Path:
    """The fake run ``source`` in tmp_path, and the environments .venv/run-1 to run-4 whose python runs it."""
    fake = tmp_path / 'fake_run.py'
    fake.write_text(source)
    for number in range(1, 5):
        (tmp_path / '.venv' / ('run-%d' % number) / 'bin').mkdir(parents=True)
        (tmp_path / '.venv' / ('run-%d' % number) / 'bin' / 'python').symlink_to(sys.executable)
    return fake


def _test_script(start: str, fake: pathlib.Path, marks: pathlib.Path, **options: Any) -> subprocess.Popen:
    """Starts ``start`` in bash, in a session of its own and in the fake's folder, with scripts/test.sh, the fake and
    ``marks`` as its $1 to $3; ``options`` are Popen's (its stdio, its preexec_fn)."""
    return subprocess.Popen(['bash', '-c', start, 'bash', str(ROOT / 'scripts' / 'test.sh'), str(fake), str(marks)],
                            cwd=str(fake.parent), start_new_session=True, **options)


def _test_script_as_a_ci_job(start: str, fake: pathlib.Path, marks: pathlib.Path,
                             preexec_fn: Callable[[], None]) -> subprocess.Popen:
    """``_test_script`` as a CI job starts it (``_as_a_ci_job`` of ``preexec_fn``), no stdin, its output (both
    streams) written to output.txt beside the fake."""
    with open(fake.parent / 'output.txt', 'wb') as sink:
        return _test_script(start, fake, marks, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: _as_a_ci_job(preexec_fn))


def _runs_started(marks: pathlib.Path, script: subprocess.Popen, count: int) -> Set[int]:
    """The pids of the runs started once ``count`` have (or the script ended, or 30 s passed)."""
    deadline = time.monotonic() + 30
    while len(_marked(marks, 'started')) < count and time.monotonic() < deadline and script.poll() is None:
        time.sleep(0.05)
    return _marked(marks, 'started')


def _stop_lanes(tmp_path: pathlib.Path, preexec_fn: Callable[[], None], send: Callable[[subprocess.Popen], None],
                expected_status: int) -> None:
    """Starts the lanes from a parent whose SIGINT is as ``preexec_fn`` leaves it, calls ``send`` once both lanes'
    first runs are under way, and checks what the script and the runs did."""
    marks = tmp_path / 'marks'
    marks.mkdir()
    fake = _fake_runs(tmp_path, FAKE_RUN)
    groups: List[int] = []
    script = _test_script_as_a_ci_job(START_LANES, fake, marks, preexec_fn)
    try:
        started = _runs_started(marks, script, 2)
        assert len(started) == 2, (tmp_path / 'output.txt').read_text()
        groups = [int((marks / ('started-%d' % pid)).read_text()) for pid in started]
        send(script)
        try:
            status = script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail('the script still runs 60 s after the signal; runs started: %s, interrupted: %s'
                        % (sorted(_marked(marks, 'started')), sorted(_marked(marks, 'interrupted'))))
        output = (tmp_path / 'output.txt').read_text()
        assert status == expected_status, output
        assert _marked(marks, 'interrupted') == started   # (noted before the script exited: it waited for them)
        for pid in started:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        for group in groups:   # (each lane's group: its shell is gone too, so no further run can start)
            with pytest.raises(ProcessLookupError):
                os.killpg(group, 0)
        time.sleep(1)
        assert _marked(marks, 'started') == started
        assert '== pytest in .venv/run-1 started' in output and '== pytest in .venv/run-2 started' in output
        assert 'run-3' not in output and 'run-4' not in output
        assert output.count('with status 2:') == 2, output
    finally:
        for group in [script.pid] + groups + [int(path.read_text()) for path in marks.glob('started-*')]:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        script.wait()


@pytest.mark.parametrize('parent', [sigint_ignored_as_in_a_background_job, sigint_as_in_a_terminal])
@pytest.mark.parametrize('signal_number, status', [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_sigterm_or_a_sighup_to_the_test_command_stops_every_run_under_way_and_starts_no_other(
        tmp_path, parent, signal_number, status):
    _stop_lanes(tmp_path, parent, lambda script: script.send_signal(signal_number), status)


def test_a_ctrl_c_at_the_test_command_stops_every_run_under_way_and_starts_no_other(tmp_path):
    """The terminal sends Ctrl-C's SIGINT to its foreground group: the script's (each lane has a group of its own)."""
    _stop_lanes(tmp_path, sigint_as_in_a_terminal, lambda script: os.killpg(script.pid, signal.SIGINT), 130)


def test_the_readme_says_what_stops_the_test_commands_lanes():
    readme = ' '.join((ROOT / 'README.md').read_text(encoding='utf-8').split())
    assert ('A Ctrl-C stops the runs under way (each pytest stops the servers it started) and starts no other. A '
            'SIGTERM or SIGHUP sent to the script (what CI sends a job it cancels) does the same, with one lane too and '
            'even one that comes while the lanes are starting, and the script exits with 143 or 129 (130 after a '
            'Ctrl-C with two lanes or more) once the runs have stopped. That holds too when the script was started '
            "with SIGINT ignored, as a job that a non-interactive shell puts in the background is (`nohup sh -c 'bash "
            "scripts/test.sh &'`, some CI "
            'wrappers): a SIGINT sent to the script itself then does nothing (nor, under `nohup`, a SIGHUP), but each '
            'pytest starts with SIGINT at its default, so the SIGINT the script passes on to the lanes still stops '
            "it. `tests/test_test_command_lanes.py` checks this on the script's own lanes, with fake runs in place of "
            'pytest; with `LANES=1` each pytest still reads the terminal, so `--pdb` works.') in readme
    # A signal while the lanes start, which the tests above cannot time: every trap is set before the first lane
    # starts, and no lane starts once one came.
    script = (ROOT / 'scripts' / 'test.sh').read_text(encoding='utf-8')
    traps = ["trap 'pass_on_interrupt 130' INT", "trap 'pass_on_interrupt 143' TERM", "trap 'pass_on_interrupt 129' HUP"]
    assert all(script.index(trap) < script.index('        lane "$n" &') for trap in traps)
    assert 'n < lanes && n < ${#venvs[@]} && signalled == 0; n++' in script


#: Sources scripts/test.sh ($1) and runs two runs of the fake ($2, the marks' directory $3 its arguments) in one lane.
START_ONE_LANE = START_LANES.replace('lanes=2', 'lanes=1').replace(' .venv/run-3 .venv/run-4', '')


@pytest.mark.parametrize('parent', [sigint_ignored_as_in_a_background_job, sigint_as_in_a_terminal])
@pytest.mark.parametrize('signal_number, status', [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_sigterm_or_a_sighup_to_the_test_command_in_one_lane_stops_its_run_and_starts_no_other(
        tmp_path, parent, signal_number, status):
    """``LANES=1``: the script's shell had pytest in its foreground and died of the signal, leaving pytest running."""
    marks = tmp_path / 'marks'
    marks.mkdir()
    fake = _fake_runs(tmp_path, FAKE_RUN)
    script = _test_script_as_a_ci_job(START_ONE_LANE, fake, marks, parent)
    try:
        started = _runs_started(marks, script, 1)
        assert len(started) == 1, (tmp_path / 'output.txt').read_text()
        script.send_signal(signal_number)
        try:
            code = script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail('the script still runs 60 s after the signal')
        output = (tmp_path / 'output.txt').read_text()
        assert code == status, output
        assert _marked(marks, 'interrupted') == started   # (noted before the script exited: it waited for it)
        with pytest.raises(ProcessLookupError):
            os.kill(started.pop(), 0)
        time.sleep(1)
        assert len(_marked(marks, 'started')) == 1
        assert '== pytest in .venv/run-1' in output and 'run-2' not in output
    finally:
        for pid in [script.pid] + [int(path.name.split('-')[1]) for path in marks.glob('started-*')]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        script.wait()


#: A run that reads a line from the terminal, as pytest's --pdb does, and says whether it was in the terminal's
#: foreground (else reading would stop it with SIGTTIN).
READING_RUN = r'''
import os, sys
foreground = os.tcgetpgrp(0) == os.getpgrp()
print('read %r in the foreground: %s' % (sys.stdin.readline().strip(), foreground), flush=True)
'''


def _terminal_of_its_own() -> None:
    """For a subprocess started in a session of its own (``preexec_fn``): its stdin, a pseudo-terminal, becomes its
    controlling terminal, as a terminal window's shell has it."""
    sigint_as_in_a_terminal()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_the_test_command_in_one_lane_leaves_each_run_the_terminal_to_read_as_pytests_pdb_does(tmp_path):
    fake = _fake_runs(tmp_path, READING_RUN)
    main, terminal = os.openpty()
    script = _test_script(START_ONE_LANE, fake, tmp_path, stdin=terminal, stdout=terminal, stderr=terminal,
                          preexec_fn=_terminal_of_its_own)
    os.close(terminal)
    output = b''
    try:
        deadline = time.monotonic() + 30
        for typed in (b'up\n', b'next\n'):
            while output.count(b'== pytest in') < (2 if typed == b'next\n' else 1) and time.monotonic() < deadline:
                if select.select([main], [], [], 0.1)[0]:
                    output += os.read(main, 4096)
            os.write(main, typed)
        assert script.wait(timeout=60) == 0
        while select.select([main], [], [], 0.1)[0]:
            output += os.read(main, 4096)
    except OSError:   # (EIO: the terminal's last process has closed it)
        pass
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        script.wait()
        os.close(main)
    text = output.decode()
    assert "read 'up' in the foreground: True" in text and "read 'next' in the foreground: True" in text, text
