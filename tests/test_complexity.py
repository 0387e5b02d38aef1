"""The README's promise on readability: no function of ``canister.py`` is graded worse than B by radon."""
from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_radon_grades_no_function_or_class_of_canister_c_or_worse():
    result = subprocess.run([sys.executable, '-m', 'radon', 'cc', '--show-complexity', '--min', 'C',
                             str(ROOT / 'canister.py')], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '', 'radon grades these C or worse (split them):\n' + result.stdout


def test_the_check_above_would_see_a_complex_function(tmp_path):
    """radon is run the way the test above runs it, and does report a tangled function."""
    branches = '\n'.join('    if x == %d:\n        return %d' % (n, n) for n in range(12))
    source = tmp_path / 'tangled.py'
    source.write_text('def tangled(x):\n%s\n    return -1\n' % branches)
    result = subprocess.run([sys.executable, '-m', 'radon', 'cc', '--show-complexity', '--min', 'C', str(source)],
                            capture_output=True, text=True, timeout=120)
    assert 'tangled - C (13)' in result.stdout, result.stdout
