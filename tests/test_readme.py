"""The README is the manual: its config table must list every key canister knows."""
import re

from helpers import ROOT

import canister


def test_every_config_key_is_in_the_readme_table():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    documented = set(re.findall(r'^\| `([a-z_]+)` \|', readme, re.M))
    assert set(canister.KEYS) - documented == set()


def test_the_readme_table_names_no_key_canister_does_not_know():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    table = readme.split('| key | default | meaning |', 1)[1].split('\n\n', 1)[0]
    documented = set(re.findall(r'^\| `([a-z_]+)` \|', table, re.M))
    assert documented - set(canister.KEYS) == set()


def test_the_readme_test_command_is_what_ci_runs():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    ci = (ROOT / '.ci' / 'run').read_text(encoding='utf-8')
    assert 'bash scripts/test.sh' in readme
    assert 'bash scripts/test.sh' in ci
