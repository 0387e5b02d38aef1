"""Ordinary text (words, not a single long one) is masked about as fast as one long word: the URL search hands a
word without ``://`` to no Python code.  Measured as ``benchmarks/hostile_text.py`` reports it (the ``spaced`` rows:
one-letter words ``a a a ...`` before an ``@``, the hardest case of ordinary text, beside ``a`` repeated), since the
README quotes it; the older search called Python once a word and took six to fifteen times as long."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict

from helpers import ROOT


def ratios(kind: str) -> Dict[str, float]:
    run = subprocess.run([sys.executable, os.path.join('benchmarks', 'hostile_text.py'), '--sizes', '4000000'],
                         cwd=str(ROOT), capture_output=True, text=True, timeout=300, check=True)
    rows = [line.split() for line in run.stdout.splitlines()]
    return {row[1]: float(row[5]) for row in rows if row[0] == kind}


def test_one_letter_words_are_masked_about_as_fast_as_one_long_word_in_each_place() -> None:
    spaced = ratios('spaced')
    assert sorted(spaced) == ['origin', 'parameter', 'query']
    assert all(ratio < 3 for ratio in spaced.values()), spaced
