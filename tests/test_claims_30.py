"""README sentences added or changed on day 30 that no other test checks."""
from __future__ import annotations

import glob
import os
import re

from helpers import ROOT

README = (ROOT / 'README.md').read_text(encoding='utf-8')


def test_the_redis_tests_the_readme_says_run_on_redis_5_are_the_ones_that_start_it():
    """README, **Redis** under Sessions: the tests of a full Redis and of script replication run on Redis 5.0.6 too,
    the others on the system's redis-server only.  Every test file that starts a 5.0.6 server (``any_redis``, or
    ``old_redis_server_binary`` itself) is named there, and every file named there starts one."""
    sentence = re.search(r'the tests of a full Redis .*? run on 5\.0\.6 too;', README)
    assert sentence, 'the sentence on which Redis tests run on 5.0.6 is gone'
    named = set()
    for pattern in re.findall(r'`(tests/test_[^`]+\.py)`', sentence.group(0)):
        named.update(glob.glob(str(ROOT / pattern)))
    if 'of script replication (below)' in sentence.group(0):
        named.add(str(ROOT / 'tests' / 'test_redis_scripts_replicated_as_commands.py'))
    assert 'test_redis_before_6_2.py' in README
    starting = set()
    for path in glob.glob(str(ROOT / 'tests' / 'test_*.py')):
        text = open(path, encoding='utf-8').read()
        if re.search(r'^def test_\w+\([^)]*\bany_redis\b|RedisServer\(binary=old_redis_server_binary\(\)', text, re.M):
            starting.add(path)
    starting.discard(str(ROOT / 'tests' / 'test_redis_before_6_2.py'))  # named in the sentence before
    assert len(starting) >= 4, starting
    assert sorted(map(os.path.basename, named)) == sorted(map(os.path.basename, starting))
