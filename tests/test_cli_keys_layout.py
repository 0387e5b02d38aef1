"""``python -m canister keys`` as a table that stays in its columns: key, default, meaning."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import canister
from helpers import ROOT, default_shown, keys_listed, run_canister

MEANING_COLUMN = 38  # key (24), default (12), a space after each


def keys_output(columns: int) -> str:
    """What ``python -m canister keys`` prints on a terminal ``columns`` wide (it must succeed)."""
    result = run_canister('keys', COLUMNS=str(columns))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize('columns, width', [(100, 100), (90, 90), (200, 100), (40, 80)])
def test_every_line_of_keys_fits_the_terminal_width_from_80_to_100_columns(columns, width):
    lines = keys_output(columns).splitlines()
    too_long = [line for line in lines if len(line) > width]
    assert not too_long, too_long
    assert max(len(line) for line in lines) > width - 10  # the room is used, not wrapped far too early


def test_every_meaning_starts_in_its_column_even_after_a_long_default():
    lines = keys_output(100).splitlines()
    for line in lines:
        if line.startswith(' '):  # a meaning's next line, or one that follows a long default
            assert line[:MEANING_COLUMN] == ' ' * MEANING_COLUMN and line[MEANING_COLUMN] != ' ', line
        elif line.split()[0] in canister.KEYS:
            name = line.split()[0]
            shown = default_shown(canister.KEYS[name].default)
            if len(shown) > 12:  # alone on the line, the meaning on the next
                assert line == '%-24s %s' % (name, shown), line
            else:
                assert line.startswith('%-24s %-12s ' % (name, shown)) and line[MEANING_COLUMN] != ' ', line
    listed = keys_listed('\n'.join(lines))
    assert listed['referrer_policy'].startswith('referrer_policy          strict-origin-when-cross-origin '
                                                'Referrer-Policy of every answer')
    assert 'referrer_policy          strict-origin-when-cross-origin' in lines
    assert listed['session_redis_prefix'].split()[:3] == ['session_redis_prefix', 'canister:session:', 'prefix']


def test_keys_into_a_reader_that_stopped_reading_ends_without_a_traceback():
    """As in ``python -m canister keys | head -1``: the output goes to a pipe nobody reads any more."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, '-m', 'canister', 'keys'], stdout=write_end,
                                stderr=subprocess.PIPE, env=env, timeout=60)
    finally:
        os.close(write_end)
    assert result.stderr == b''
    assert result.returncode == 1
