"""Two threads logging across midnight: a line stamped just before it but written just after another thread's line
of the new day goes to the new day's file, keeping its time; the log does not go back to the day before's file (and
forward again at the next line).  A clock really set back across midnight still takes the log back."""
from __future__ import annotations

import os
import threading
import time

import pytest

from helpers import Clock, in_child, readme_section
from servers import wait_until

import canister

BEFORE = time.mktime((2030, 1, 2, 23, 59, 59, 0, 0, -1)) + 0.9   # 2030-01-02 23:59:59,900
AFTER = BEFORE + 0.2                                              # 2030-01-03 00:00:00,100


class HeldClock(Clock):
    """``canister._now`` whose first reading in the thread named ``held`` is taken, then held until ``release`` is
    set: that thread's line is stamped with the time it read, and written only after the test has moved on."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.reading = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> float:
        now = self.now
        if threading.current_thread().name == 'held' and not self.reading.is_set():
            self.reading.set()
            assert self.release.wait(30)
        return now


def stamps(path) -> list:
    """The time and message of each line of the test's own (``line: ...``) in the file at ``path``."""
    return [(line[:23], line.split(']   line: ', 1)[1]) for line in path.read_text().splitlines()
            if ']   line: ' in line]


def across_midnight(app, clock: HeldClock, meanwhile=lambda: None) -> None:
    """The last line of the day; a thread's line stamped at 23:59:59,900 and held before it is written, while the
    new day's first line is written (at 00:00:00,100) and ``meanwhile()`` runs; then the next line."""
    app.log.info('line: the last line of the day')
    clock.now = BEFORE
    held = threading.Thread(target=app.log.info, args=('line: stamped before midnight, written after',), name='held')
    held.start()
    try:
        assert clock.reading.wait(30)                   # (its time is taken: 23:59:59,900)
        clock.now = AFTER
        app.log.info('line: the first line of the new day')  # (opens the new day's file)
        meanwhile()
    finally:
        clock.release.set()
        held.join(30)
    assert not held.is_alive()
    clock.now = AFTER + 0.1
    app.log.info('line: the next line')


def test_a_line_stamped_before_midnight_but_written_after_the_new_days_first_line_goes_to_the_new_days_file(
        make_app, log_dir, monkeypatch):
    clock = HeldClock(BEFORE - 0.4)
    monkeypatch.setattr(canister, '_now', clock)
    across_midnight(make_app(), clock)
    assert stamps(log_dir / 'log.2030-01-02') == [('2030-01-02 23:59:59,500', 'the last line of the day')]
    assert stamps(log_dir / 'log.2030-01-03') == [
        ('2030-01-03 00:00:00,100', 'the first line of the new day'),
        ('2030-01-02 23:59:59,900', 'stamped before midnight, written after'),
        ('2030-01-03 00:00:00,200', 'the next line')]


def open_and_deleted(name: str) -> bool:
    """True if this process has a file named ``name`` open that was deleted."""
    return any(os.readlink('/proc/self/fd/' + fd).endswith('/%s (deleted)' % name) for fd in os.listdir('/proc/self/fd')
               if os.path.islink('/proc/self/fd/' + fd))


@pytest.mark.parametrize('deleted', [False, True])
def test_after_a_fork_such_a_line_goes_to_the_new_days_file_too(make_app, log_dir, monkeypatch, deleted):
    """After a fork the parent takes its file up again at its next line (``deleted``: opens it again by its name,
    the file it kept for its next children deleted): a line stamped before midnight goes to the new day's file
    there too."""
    clock = HeldClock(BEFORE - 0.4)
    monkeypatch.setattr(canister, '_now', clock)

    def fork() -> None:
        os.waitpid(in_child(lambda: True), 0)
        if deleted:
            (log_dir / 'log.2030-01-03').unlink()
            wait_until(lambda: not open_and_deleted('log.2030-01-03'), timeout=10)  # (looked at once a second)

    across_midnight(make_app(), clock, fork)
    assert stamps(log_dir / 'log.2030-01-02') == [('2030-01-02 23:59:59,500', 'the last line of the day')]
    assert stamps(log_dir / 'log.2030-01-03') == [
        ('2030-01-03 00:00:00,100', 'the first line of the new day')] * (not deleted) + [
        ('2030-01-02 23:59:59,900', 'stamped before midnight, written after'),
        ('2030-01-03 00:00:00,200', 'the next line')]


def test_a_clock_set_back_across_midnight_takes_the_log_back_to_the_day_befores_file(make_app, log_dir, clock):
    """(An NTP step: the time of the line is the clock's, not a thread's that was paused.)"""
    clock.now = AFTER
    app = make_app()
    app.log.info('line: before the step')
    clock.now = BEFORE
    app.log.info('line: after the step back')
    assert stamps(log_dir / 'log.2030-01-03') == [('2030-01-03 00:00:00,100', 'before the step')]
    assert stamps(log_dir / 'log.2030-01-02') == [('2030-01-02 23:59:59,900', 'after the step back')]


def test_the_readme_says_where_such_a_line_goes():
    section = ' '.join(readme_section('### Files, streams and what a line holds').split())
    assert ('keeps its time and goes to the new day\'s file (`tests/test_log_midnight_race.py`)' in section)
