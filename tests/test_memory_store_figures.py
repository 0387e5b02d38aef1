"""README "Performance", *Stores*: the memory store's **RSS per session** with 1,000,000 sessions, and a session
with a user **N bytes more**, are what ``python benchmarks/memory_store.py --skip-latency`` prints today.

The script compiles ``canister.py`` to its ``.pyc`` before it imports it, as an install has it: compiled in the
measuring process, the memory the compiler frees is filled by the first sessions, and the figure per session reads
lower the larger the module grows (it read 204 bytes where the ``.pyc`` gives 237). So the run here starts from a
copy with no ``.pyc`` and ``PYTHONDONTWRITEBYTECODE=1``, the case that hid it. The README's figures are those of
the Python it names, and are compared there (8% and 10% allowed); other Pythons' objects differ (Python 3.9 prints
6% more per session, Python 3.13 a user's 74 bytes more against 90), so there the figures must be met within a
quarter, and the issue's targets (at most 400 bytes a session, at most 100 more with a user) on every Python.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, readme_section


def test_the_memory_stores_bytes_per_session_are_those_the_benchmark_prints(tmp_path: Path) -> None:
    section = readme_section('## Performance')
    said = re.search(r'\*\*RSS per session: (\d+) bytes\*\*[^\n]*?\(Python (\d+\.\d+)\.\d+, bottle', section)
    per_session, python = int(said.group(1)), said.group(2)
    with_user = int(re.search(r'\*\*A session with a user: (\d+) bytes more\*\*', section).group(1))
    shutil.copy(ROOT / 'canister.py', tmp_path / 'canister.py')
    (tmp_path / 'benchmarks').mkdir()
    for name in ('_harness.py', 'memory_store.py'):
        shutil.copy(ROOT / 'benchmarks' / name, tmp_path / 'benchmarks' / name)

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    run = subprocess.run([sys.executable, 'benchmarks/memory_store.py', '--skip-latency'], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    printed = int(re.search(r': (\d+) bytes per session \(target <= 400\)', run.stdout).group(1))
    printed_more = int(re.search(r'\+(\d+) bytes against an anonymous one', run.stdout).group(1))

    assert printed <= 400 and printed_more <= 100, run.stdout
    here = '%d.%d' % sys.version_info[:2] == python
    assert abs(printed - per_session) <= (0.08 if here else 0.25) * per_session, (per_session, run.stdout)
    assert abs(printed_more - with_user) <= (0.1 if here else 0.25) * with_user, (with_user, run.stdout)
