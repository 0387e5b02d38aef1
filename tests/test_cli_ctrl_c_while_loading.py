"""Ctrl-C at ``python -m canister`` while it starts (Python importing canister's modules and bottle): status 130
and one line, as during a command, not Python's KeyboardInterrupt traceback and a death by signal."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT, run_canister, sigint_as_in_a_terminal

#: A ``bottle`` module put first on the path: it says on stderr that canister imports it, waits ``SLOW_BOTTLE``
#: seconds (Python's imports on a loaded machine, made as long as a test needs), then loads the real bottle.  With
#: ``SLOW_EXIT`` it makes Python's exit as slow, from the first of its exit handlers on (run before Python flushes
#: stdout), and says on stderr when that starts.
SLOW_BOTTLE = '''\
import atexit, importlib.machinery, importlib.util, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
sys.stderr.write('importing bottle\\n')
sys.stderr.flush()
time.sleep(float(os.environ['SLOW_BOTTLE']))
if os.environ.get('SLOW_EXIT'):
    atexit.register(time.sleep, float(os.environ['SLOW_EXIT']))
    atexit.register(lambda: (sys.stderr.write('exiting\\n'), sys.stderr.flush()))
spec = importlib.machinery.PathFinder.find_spec('bottle', [p for p in sys.path if os.path.abspath(p or '.') != here])
module = importlib.util.module_from_spec(spec)
sys.modules['bottle'] = module
spec.loader.exec_module(module)
'''


def ctrl_c_after_bottle_is_imported(tmp_path: pathlib.Path, delay: float, *args: str, slow: float = 0,
                                    slow_exit: float = 0) -> subprocess.CompletedProcess:
    """``python -m canister ARGS`` started as from a terminal, stdout a pipe, a Ctrl-C sent ``delay`` seconds after
    canister began importing bottle (which takes ``slow`` seconds more than it does), or with ``slow_exit`` that
    long after Python began its exit, which takes as much longer; its status, stdout and stderr."""
    (tmp_path / 'bottle.py').write_text(SLOW_BOTTLE)
    process = subprocess.Popen([sys.executable, '-m', 'canister', *args], cwd=str(ROOT), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8',
                               env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
                                        SLOW_BOTTLE=str(slow), SLOW_EXIT=str(slow_exit or '')),
                               preexec_fn=sigint_as_in_a_terminal)
    try:
        assert process.stderr.readline() == 'importing bottle\n'
        if slow_exit:
            assert process.stderr.readline() == 'exiting\n'
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize('args', [('--help',), ('keys',), ('hash-password',)])
def test_ctrl_c_while_canister_imports_bottle_exits_130_with_one_line_and_no_traceback(tmp_path, args):
    result = ctrl_c_after_bottle_is_imported(tmp_path, 0.2, *args, slow=10)
    assert (result.returncode, result.stdout, result.stderr) == (130, '', 'python -m canister: error: interrupted\n')


def test_ctrl_c_at_any_moment_of_the_start_either_exits_130_with_one_line_or_lets_the_command_finish(tmp_path):
    listed = run_canister('keys').stdout
    statuses = set()
    for step in range(20):  # (from the import of bottle through canister's module, argparse, the command and the exit)
        result = ctrl_c_after_bottle_is_imported(tmp_path, step * 0.02, 'keys')
        statuses.add(result.returncode)
        assert 'Traceback' not in result.stderr
        if result.returncode == 130:
            assert result.stderr.count('\n') == 1 and result.stderr.endswith(': error: interrupted\n'), result.stderr
        else:  # done, or done and Python had ended (its handlers put back): killed by the signal, saying nothing
            assert (result.returncode, result.stdout, result.stderr) in ((0, listed, ''), (-signal.SIGINT, listed, ''))
    assert 130 in statuses


def test_ctrl_c_during_pythons_exit_after_the_help_was_printed_into_a_pipe_keeps_the_help_and_exits_130(tmp_path):
    result = ctrl_c_after_bottle_is_imported(tmp_path, 0.2, '--help', slow_exit=10)
    assert result.stdout == run_canister('--help').stdout  # (all of it, not lost in the pipe's unflushed buffer)
    assert (result.returncode, result.stderr) == (130, 'python -m canister: error: interrupted\n')
