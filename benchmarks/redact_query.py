"""Time of the request line's quick look at a query, against reading every query by the full rule.

``canister._redact_query`` (what the request line logs of a query) first looks at the whole query once
(``_QUERY_STEM``: no ``%``, ASCII, and none of the secret words where a name ends, nor a ``"`` or an ``@``) and
logs a query that cannot hold a secret as it is; ``canister._masked_query`` is the full rule alone, which splits
the query at ``&`` and ``;``, decodes each name and looks at each value.  Both are timed on the same queries in
each round, side by side: ordinary ones (no secret, short and long), which the quick look lets through, and one
with a secret, for which it is an extra search.  Reported: the median microseconds per call of each, and the
median of the per-round ratios (full rule / quick look).  What one call saves in a whole request is what
``python benchmarks/instructions.py --bytecodes`` counts for variant c (``GET /?foo=bar``, logged) with and
without the quick look.

Run (from the repository root; a few seconds with the defaults):

    python benchmarks/redact_query.py [--rounds 30] [--calls 2000]
"""
from __future__ import annotations

import argparse
import os
import sys
import timeit
from typing import Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import canister  # noqa: E402
from _harness import environment_line, median, median_ratio, table  # noqa: E402

#: (name, query) of the queries timed.
QUERIES = {
    'foo=bar': 'foo=bar',
    'short': 'page=2&sort=name',
    'long': ('q=bottle+plugin&page=12&sort=-created&per_page=50&lang=en&filter=status:open&fields=id,title,author'
             '&utm_source=newsletter&utm_medium=email&utm_campaign=spring'),
    'secret': 'page=2&access_token=abc',
}


def per_call(function: Callable[[str], str], query: str, calls: int) -> float:
    """Microseconds per call, the best of three runs of ``calls`` calls."""
    return min(timeit.repeat(lambda: function(query), number=calls, repeat=3)) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=30, help='rounds (default 30)')
    parser.add_argument('--calls', type=int, default=2000, help='calls per query per round (default 2000)')
    args = parser.parse_args()
    quick: Dict[str, List[float]] = {name: [] for name in QUERIES}
    full: Dict[str, List[float]] = {name: [] for name in QUERIES}
    for query in QUERIES.values():
        assert canister._redact_query(query) == canister._masked_query(query), query
    for _ in range(args.rounds):
        for name, query in QUERIES.items():
            quick[name].append(per_call(canister._redact_query, query, args.calls))
            full[name].append(per_call(canister._masked_query, query, args.calls))
    print('_redact_query (quick look, then the full rule) against _masked_query (the full rule alone), '
          '%d rounds of %d calls; %s.\n' % (args.rounds, args.calls, environment_line()))
    rows = [[name, '%.2f' % median(quick[name]), '%.2f' % median(full[name]),
             '%.2f' % median_ratio(full[name], quick[name])] for name in QUERIES]
    print(table(['query', 'quick look µs', 'full rule µs', 'full/quick'], rows))


if __name__ == '__main__':
    main()
