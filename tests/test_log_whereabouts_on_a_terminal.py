"""With the log in files (the default, ``./logs/``), a process whose stderr is a terminal (a newcomer's
``python app.py``) is told there, in one line, where the log goes and how to see it there instead; a process whose
stderr is a pipe (a server under systemd, CI) is told nothing (README "A first app")."""
from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT, readme_section, told

#: A first app as the README's: canister installed twice (two apps, one log), then a request served.
APP = """
import bottle, canister, webtest
for _ in range(2):
    app = bottle.Bottle()
    app.install(canister.Canister())
    app.route('/', callback=lambda: 'ok')
assert webtest.TestApp(app).get('/').text == 'ok'
"""

#: An app whose canister is uninstalled (its log files closed), then installed again.
REINSTALLED = """
import bottle, canister
app = bottle.Bottle()
for _ in range(2):
    plugin = app.install(canister.Canister())
    app.uninstall(plugin)
"""


def read_terminal(controller, until=None, within=60.0):
    """What a child wrote to the pseudo-terminal ``controller``: until it closes it, or, with ``until``, until
    ``until(text so far)`` is true (or ``within`` seconds pass)."""
    written = b''
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not (until and until(written.decode(errors='replace'))):
        if not select.select([controller], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # (EIO: the child closed the terminal)
            break
        if not chunk:
            break
        written += chunk
    return written.decode().replace('\r\n', '\n')


def run_app(directory, terminal, app=APP, **env):
    """What the app (``APP``, or the code ``app``) wrote to stderr run in ``directory``, its stderr a
    pseudo-terminal or a pipe."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    command = [sys.executable, '-c', app]
    if not terminal:
        result = subprocess.run(command, cwd=str(directory), env=environ, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stderr
    controller, tty = pty.openpty()
    child = subprocess.Popen(command, cwd=str(directory), env=environ, stdout=subprocess.DEVNULL, stderr=tty)
    os.close(tty)
    written = read_terminal(controller)
    os.close(controller)
    assert child.wait(timeout=60) == 0, written
    return written


def test_a_terminal_is_told_once_where_the_log_goes_and_how_to_see_it_there(tmp_path):
    assert told(run_app(tmp_path, terminal=True)) == [
        "canister: the log goes to files in %s, not to this terminal: set log_path = stderr (under [canister], or "
        "Canister(log_path='stderr')) to see it here" % (tmp_path / 'logs')]
    assert (tmp_path / 'logs').is_dir()


def test_an_install_after_an_uninstall_does_not_tell_the_terminal_again(tmp_path):
    """The uninstall closes the log's files and the next install opens them again: still once a process for each
    directory, as the README says (before, each install after an uninstall said it again)."""
    assert len(told(run_app(tmp_path, terminal=True, app=REINSTALLED))) == 1


@pytest.mark.parametrize('why', ['a pipe', "the child of Bottle's reloader"])
def test_a_pipe_or_the_reloaders_child_is_told_nothing(tmp_path, why):
    env = {'BOTTLE_CHILD': 'true'} if why != 'a pipe' else {}
    assert run_app(tmp_path, terminal=why != 'a pipe', **env) == ''


def test_gunicorn_in_a_terminal_has_each_worker_say_it_as_each_says_it_boots(tmp_path):
    (tmp_path / 'shop.py').write_text('import bottle, canister\napp = bottle.Bottle()\napp.install(canister.Canister())\n')
    controller, tty = pty.openpty()
    gunicorn = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), 'gunicorn'), '-w', '2', '-b',
                                 '127.0.0.1:0', 'shop:app'], cwd=str(tmp_path),
                                env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=tty, stderr=tty)
    os.close(tty)
    try:
        written = read_terminal(controller, until=lambda text: text.count('canister: the log goes') == 2)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
        os.close(controller)
    assert written.count('Booting worker') == 2, written
    assert len([line for line in told(written) if line.startswith('canister: the log goes to files in %s, not to '
                                                                 'this terminal' % (tmp_path / 'logs'))]) == 2


def test_a_first_app_says_the_terminal_is_told():
    assert ("When stderr is a terminal, the first install says so there, in one line: `canister: the log goes to "
            "files in /home/me/shop/logs, not to this terminal: set log_path = stderr") in readme_section(
                '## A first app')
