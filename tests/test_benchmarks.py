"""The benchmark commands the README gives run and print their figures.

Each script runs here as small as it goes (one round, a few requests), so this is no
measurement: it only shows that a reader who types the README's command gets a report,
not a traceback.  A script's exit status 1 is its verdict on a target (a lost update, a
latency above its bound), which small runs on a shared machine say nothing about; a crash
also exits 1, but prints a traceback, which fails the test.
``benchmarks/instructions.py`` runs only with ``--bytecodes``: otherwise it runs each app under
valgrind, minutes even when small.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT

#: (script and its arguments, a line of its report that must show up, or several)
RUNS = {
    'overhead': (['overhead.py', '--rounds', '1', '--requests', '20', '--warmup', '5', '--variants', 'abcdfCD',
                  '--baseline', str(ROOT), '--markdown'], '| d/D |'),
    'stores': (['stores.py', '--rounds', '1', '--requests', '10', '--warmup', '2'],
               'Redis per request that only reads its session'),
    'stores_baseline': (['stores.py', '--rounds', '1', '--requests', '10', '--warmup', '2', '--baseline', str(ROOT)],
                        ('Redis of --baseline', 'redis vs redis-baseline')),
    'stores_topologies': (['stores_topologies.py', '--rounds', '1', '--requests', '5', '--warmup', '1'],
                          'cluster+wait'),
    'instructions_bytecodes': (['instructions.py', '--bytecodes', '--requests', '5', '--markdown'],
                               '| d | + the session counter (variant d) |'),
    'memory_store': (['memory_store.py', '--sessions', '5000', '--skip-latency'], 'bytes per session'),
    'load': (['load.py', '--clients', '2', '--requests', '8'], 'sqlite-gunicorn3'),
    'load_concurrent_keys': (['load.py', '--concurrent-keys', '2', '--clients', '2', '--requests', '8',
                              '--setups', 'memory-waitress,sqlite-waitress'], 'resurrected'),
    'form_parts': (['form_parts.py', '--rounds', '1', '--parts', '3000'], 'max_form_parts = 1000:'),
    'soak': (['soak.py', '--seconds', '2'], 'summary:'),
    'failover': (['failover.py', '--topology', 'sentinel', '--clients', '2', '--seconds', '1'],
                 'every client back to 200 after'),
    # (about 9 s and 6 s here)
    'failover_cluster': (['failover.py', '--topology', 'cluster', '--clients', '2', '--seconds', '1'],
                         ('cluster (3 masters x 2 replica(s)), session_redis_wait=0', 'every client back to 200 after')),
    'failover_wait': (['failover.py', '--topology', 'sentinel', '--wait', '1', '--clients', '2', '--seconds', '1'],
                      ('session_redis_wait=1, 2 clients', 'every client back to 200 after')),
}


@pytest.mark.parametrize('name', list(RUNS))
def test_the_benchmark_command_prints_its_report(name: str) -> None:
    arguments, expected = RUNS[name]
    run = subprocess.run([sys.executable, os.path.join('benchmarks', arguments[0])] + arguments[1:], cwd=str(ROOT),
                         capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert 'Traceback' not in output, output[-4000:]
    assert run.returncode in (0, 1), output[-4000:]
    for line in (expected,) if isinstance(expected, str) else expected:
        assert line in run.stdout, output[-4000:]


def test_the_lower_bound_prototype_applies_to_the_commit_the_readme_names_and_runs_the_job(tmp_path):
    """README "How far any restructuring could go": the patch applies to 73ce115's canister.py, and the
    prototype it makes serves the benchmark's job (overhead.py's warm-up asserts the job happens)."""
    old = subprocess.run(['git', 'show', '73ce115:canister.py'], cwd=ROOT, capture_output=True, check=False)
    assert old.returncode == 0, 'this checkout lacks commit 73ce115 (a shallow clone?): %s' % old.stderr.decode()
    (tmp_path / 'canister.py').write_bytes(old.stdout)
    applied = subprocess.run(['git', 'apply', str(ROOT / 'benchmarks' / 'lower_bound.patch')], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / 'canister.py').read_bytes() != old.stdout
    done = subprocess.run([sys.executable, 'overhead.py', '--rounds', '1', '--requests', '20', '--warmup', '5',
                           '--variants', 'aCD', '--baseline', str(tmp_path)], cwd=ROOT / 'benchmarks',
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1) and 'Traceback' not in done.stderr, done.stderr[-2000:]
    assert 'D/a' in done.stdout
