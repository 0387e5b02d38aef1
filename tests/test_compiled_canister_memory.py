"""README "Soak": a process that compiles ``canister.py`` at import keeps about N MiB more than one that reads
its ``.pyc``, and ``python -m compileall canister.py`` writes the ``.pyc`` that every process then reads, even
with ``PYTHONDONTWRITEBYTECODE=1``.

The figure is measured again here from an import of canister alone (the soak's server differs by the same
compilation, the rest of its memory being the same with or without the ``.pyc``), so that it follows
``canister.py`` as the module grows.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, readme_section

#: Imports bottle and waitress (as the soak's server does), then canister from the directory given, and prints
#: how many KiB of resident memory the import of canister added.
IMPORT_CANISTER = '''
import sys
import bottle, waitress

def rss_kib():
    with open('/proc/self/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmRSS:'))

before = rss_kib()
sys.path.insert(0, sys.argv[1])
import canister
assert canister.__file__.startswith(sys.argv[1]), canister.__file__
print(rss_kib() - before)
'''


def import_growth_mib(directory: Path) -> float:
    """The resident memory (MiB) that importing the ``canister.py`` of ``directory`` adds to a fresh process."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    run = subprocess.run([sys.executable, '-c', IMPORT_CANISTER, str(directory)], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return int(run.stdout) / 1024


def test_a_compiled_canister_saves_each_process_the_memory_the_soak_passage_gives(tmp_path: Path) -> None:
    figure = int(re.search(r'each process that compiles it keeps about (\d+) MiB more',
                           readme_section('## Reliability')).group(1))
    shutil.copy(ROOT / 'canister.py', tmp_path / 'canister.py')

    compiling = import_growth_mib(tmp_path)
    assert not (tmp_path / '__pycache__').exists(), 'PYTHONDONTWRITEBYTECODE=1 wrote a .pyc'

    subprocess.run([sys.executable, '-m', 'compileall', '-q', 'canister.py'], cwd=tmp_path, check=True, timeout=120)
    assert list((tmp_path / '__pycache__').glob('canister.*.pyc'))
    reading = import_growth_mib(tmp_path)

    saved = compiling - reading
    assert reading < compiling / 3, (compiling, reading)
    assert abs(saved - figure) <= 0.2 * figure, ('the README says about %d MiB; measured %.1f MiB (%.1f compiling, '
                                                 '%.1f reading the .pyc)' % (figure, saved, compiling, reading))
