"""CPU time of the secret masking of client text: text built to be slow to mask, and plain text, side by side.

What a client sends reaches the masking in several places: the request line's query and path, a parameter's 400
(a form field or a JSON member, up to ``max_body_size``), the ``Origin`` of a refused cross-site request.  Each
row masks one text of a given size as those places do (``_redact_query`` for a query, ``_text_without_secrets``
for a parameter's value, ``_shown_origin`` for an ``Origin``), in this process, and gives the CPU time of the
hostile text beside that of a plain one of the same size (``a`` repeated) and their ratio:

- ``dotted``: ``a.a.a.a...`` before an ``@`` (a ``?`` in an ``Origin``, after ``https://x@ ``): every word a
  place where a URL's scheme could start.  Before the
  fix, the URL search read the run again from each of its words: a time growing with the square of the size.
- ``escaped``: ``"\\"\\"\\"...`` then ``":``: every ``"`` a place where a JSON member's name could start.  Before
  the fix, each read up to 100 escapes on: a hundred steps for each character.
- ``spaced`` and ``prose``: ordinary text, not hostile: one-letter words (``a a a ...``) and English-like prose
  holding a few URLs and addresses, with an ``@`` (a ``?`` in an ``Origin``) at the end so that the URL search
  runs: every word a place where a URL's scheme could start, as in ``dotted``.

Run (from the repository root; a few seconds with the defaults):

    python benchmarks/hostile_text.py [--sizes 16000,128000,1000000,8000000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import canister  # noqa: E402

#: The masking of each place, and how the text reaches it.
PLACES = {
    'query': lambda text: canister._redact_query('next=' + text),
    'parameter': lambda text: canister._text_without_secrets('x=' + text),
    'origin': lambda text: canister._shown_origin('https://x@ ' + text),
}


#: Words of English-like prose, a URL and an address among them (the ``prose`` rows).
PROSE = ('the quick brown fox jumps over a lazy dog and then reads https://example.com/a?page=2 before it '
         'writes to bob@example.org again').split()


def hostile(kind: str, place: str, size: int) -> str:
    end = '?' if place == 'origin' else '@'
    if kind == 'dotted':  # (an Origin's last @ is before the run: the run is read by the URL search, not masked)
        return 'a.' * (size // 2) + end
    if kind == 'spaced':
        return 'a ' * (size // 2) + end
    if kind == 'prose':
        return ' '.join(PROSE[i % len(PROSE)] for i in range(size // 5))[:size] + end
    return '"' + '\\"' * (size // 2) + '":'


def cpu(call: Callable[[str], object], text: str) -> float:
    start = time.process_time()
    call(text)
    return time.process_time() - start


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='16000,128000,1000000,8000000',
                        help='the sizes of the texts, in characters, separated by commas')
    sizes = [int(size) for size in parser.parse_args(argv).sizes.split(',')]
    print('%-8s %-10s %10s %11s %10s %7s' % ('text', 'place', 'size', 'hostile', 'plain', 'ratio'))
    for kind in ('dotted', 'escaped', 'spaced', 'prose'):
        for place, call in PLACES.items():
            if kind == 'escaped' and place != 'parameter':
                continue  # (a JSON member's name is looked for in a parameter's value, and a query's)
            for size in sizes:
                slow, plain = cpu(call, hostile(kind, place, size)), cpu(call, 'a' * size)
                print('%-8s %-10s %10d %10.3fs %9.3fs %7.1f' % (kind, place, size, slow, plain,
                                                               slow / plain if plain else float('nan')))


if __name__ == '__main__':
    main(sys.argv[1:])
