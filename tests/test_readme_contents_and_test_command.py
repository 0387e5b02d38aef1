"""The README's Contents, for a newcomer who searches it ("quick start", the JSON log format, the Sessions stores, the
demo), and its "The two commands" section: what the test command installs with apt-get, how long it takes, and how
to run one file, as scripts/test.sh does it."""
import re

from helpers import ROOT

README = (ROOT / 'README.md').read_text(encoding='utf-8')
SCRIPT = (ROOT / 'scripts' / 'test.sh').read_text(encoding='utf-8')
CONTENTS = README.split('\n## Contents\n', 1)[1].split('\n## ', 1)[0]
TWO_COMMANDS = README.split('\n## The two commands\n', 1)[1].split('\n## ', 1)[0]


def section(title: str) -> str:
    return README.split('\n%s\n' % title, 1)[1].split('\n## ', 1)[0]


def test_quick_start_is_in_the_contents_and_leads_to_a_first_app_whose_anchor_is_unchanged():
    assert '\n- [A first app (quick start)](#a-first-app)\n' in CONTENTS
    assert '\n## A first app\n' in README          # the anchor other sections and tests link to
    assert README.count('](#a-first-app)') >= 3


def test_the_log_format_has_a_heading_of_its_own_listed_under_request_logging():
    assert ('\n- [Request logging](#request-logging)\n'
            '  - [Log format: text or JSON lines](#log-format-text-or-json-lines)\n'
            '  - [Files, streams and what a line holds](#files-streams-and-what-a-line-holds)\n'
            '- [Parameter unpacking](#parameter-unpacking)\n') in CONTENTS
    logging = section('## Request logging')
    assert '\n### Log format: text or JSON lines\n\n- **Format.** Text by default, or JSON lines' in logging
    assert '\n### Files, streams and what a line holds\n\n- **Files.** One file per day' in logging
    # each heading opens its part: the per-request bullets before the first, the others after the second
    format_part = logging.split('\n### Log format: text or JSON lines\n', 1)[1].split('\n### ', 1)[0]
    assert re.findall(r'^- \*\*([^*]+)\*\*', format_part, re.M) == ['Format.']


def github_anchors() -> dict:
    """Each heading's anchor as GitHub makes it (lower case, punctuation but ``-`` and ``_`` dropped, spaces made
    ``-``, a repeated one given ``-1``, ``-2``...), mapped to the heading's title; a ``#`` line of a code block is no
    heading."""
    anchors: dict = {}
    prose = re.sub(r'^```.*?^```', '', README, flags=re.S | re.M)
    for title in re.findall(r'^#{1,6} (.+)$', prose.split('\n## Contents\n', 1)[1], re.M):
        anchor = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
        repeated, count = anchor, 0
        while repeated in anchors:
            count += 1
            repeated = '%s-%d' % (anchor, count)
        anchors[repeated] = title
    return anchors


def test_every_heading_of_sessions_is_listed_under_it_and_every_contents_link_leads_to_a_heading():
    sessions = section('## Sessions')
    sub_headings = re.findall(r'^### (.+)$', sessions, re.M)
    assert sub_headings == ['Stores', 'Ids and new sessions', "A user's sessions",
                            'Saving, concurrent requests and logout', 'Writing a store']
    anchors = github_anchors()
    listed = re.findall(r'^( *)- \[([^]]+)\]\(#([^)]+)\)$', CONTENTS, re.M)
    assert len(listed) == len(CONTENTS.strip().splitlines())   # (every line of Contents is such a link)
    for _, _, anchor in listed:
        assert anchor in anchors, anchor
    start = [title for _, title, _ in listed].index('Sessions') + 1
    end = [indent for indent, _, _ in listed].index('', start)   # (the next top-level entry)
    under_sessions = [(title, anchor) for _, title, anchor in listed[start:end]]
    assert [title for title, _ in under_sessions] == sub_headings
    assert all(anchors[anchor] == title for title, anchor in under_sessions)


def test_every_link_to_a_heading_of_the_readme_leads_to_one():
    anchors = github_anchors()
    links = re.findall(r'\]\(#([^)\s]+)\)', README)
    assert len(links) > 100
    assert sorted({anchor for anchor in links if anchor not in anchors}) == []
    assert '# in your app\'s own directory, with the checkout in /path/to/canister\n' in README   # (not a heading)
    assert 'in-your-apps-own-directory-with-the-checkout-in-pathtocanister' not in anchors


def test_the_users_sessions_from_the_shell_link_to_the_command_line_section_that_describes_them():
    sessions = section('## Sessions')
    assert ('(from the shell: `python -m canister sessions USER` and `end-sessions USER`, see '
            '[Command line](#command-line))') in sessions
    assert '`python -m canister sessions USER --config app.ini` lists' in section('## Command line')


def test_sessions_stores_and_the_demo_are_listed_where_github_anchors_them():
    assert '\n- [Sessions](#sessions)\n  - [Stores](#stores)\n' in CONTENTS
    # GitHub anchors the first "Stores" heading as #stores (a later one is #stores-1): the one of Sessions
    headings = re.findall(r'^(#{2,3}) (.+)$', README, re.M)
    first_stores = [title for _, title in headings].index('Stores')
    assert [title for level, title in headings[:first_stores] if level == '##'][-1] == 'Sessions'
    assert '\n- [Command line](#command-line)\n  - [The demo](#the-demo)\n- [Development](#development)\n' in CONTENTS
    assert '\n### The demo\n' in section('## Command line')


def apt_packages() -> list:
    """The packages scripts/test.sh installs with apt-get when they are missing, in its order."""
    body = SCRIPT.split('install_system_packages() {', 1)[1].split('\n}\n', 1)[0]
    return [name for names in re.findall(r'need\+=\(([^)]*)\)', body) for name in names.split()]


def test_the_test_commands_comment_names_what_it_installs_with_apt_get_and_how_long_it_takes():
    comment = ' '.join(line.lstrip('# ') for line in TWO_COMMANDS.splitlines()
                       if line.startswith('# install everything') or line.startswith('# and gcc')
                       or line.startswith('# 0.12 and 0.13'))
    named = re.search(r'\(([^)]*), via apt-get when missing', comment).group(1)
    assert named == ('redis-server, redis-tools, openssl, chromium, nginx-light, python3-venv, tzdata, and gcc, make '
                     'and libc6-dev for an old Redis')
    listed = re.findall(r'[a-z0-9][a-z0-9.-]*[a-z0-9]', named.replace('for an old Redis', '').replace(' and ', ', '))
    assert sorted(listed) == sorted(apt_packages()) and len(apt_packages()) == 10
    assert comment.endswith('and on Python 3.9 and 3.13 too when they are installed: about 40 minutes on 2 cores')
    # the figure is the Development section's measure, rounded: 39 minutes, all four runs at once on 2 cores
    assert ("*Time.* On this round's 2-core machine, with nothing else running, the four runs took 39 minutes "
            'all at once') in section('## Development')
    assert 'lanes=${LANES:-$(( cores >= 2 ? 2 * cores : 1 ))}' in SCRIPT


def test_the_sentence_beside_it_says_apt_get_sudo_the_time_and_a_one_file_run_that_the_script_takes():
    assert ('The test command needs `apt-get` (and `sudo` unless you are root) for what is missing, and takes about '
            '40 minutes (see *Time* under [Development](#development)). To run one file once, on bottle 0.13.5 alone: '
            '`BOTTLES=0.13.5 EXTRA_PYTHONS= bash scripts/test.sh tests/test_cors.py` (its arguments go to `pytest`, '
            'after `ruff` and `mypy`, which every call runs first).') in TWO_COMMANDS
    assert '[ "$(id -u)" -eq 0 ] || SUDO="sudo"' in SCRIPT and '$SUDO apt-get install' in SCRIPT
    assert (ROOT / 'tests' / 'test_cors.py').exists()
    # BOTTLES names the runs on python3, EXTRA_PYTHONS empty adds none, the arguments go to every run's pytest
    assert 'BOTTLES=${BOTTLES:-"0.12.25 0.13.5"}' in SCRIPT and 'EXTRA_PYTHONS=${EXTRA_PYTHONS-' in SCRIPT
    assert 'pytest_args=("$@")' in SCRIPT and '"${pytest[@]}" -q -p no:cacheprovider "$@"' in SCRIPT
    prepare = SCRIPT.split('\nprepare() {', 1)[1].split('\n}\n', 1)[0]
    assert '-m ruff check canister.py tests benchmarks' in prepare and '-m mypy canister.py' in prepare
    assert 'BOTTLES=0.13.5 EXTRA_PYTHONS= bash scripts/test.sh -k cors' in section('## Development')


def test_what_the_test_command_installs_once_apart_from_the_environments_is_named_in_development():
    """*What it installs*: each directory the script fills once with ``pip install --target`` (the old Redis, the
    old redis-py) is named there with the package and version it pins."""
    once = dict(re.findall(r'^(old_redis\w*)=(\.venv/\S+)$', SCRIPT, re.M))
    assert sorted(once) == ['old_redis', 'old_redis_py']
    pinned = re.findall(r"--target \"\$(old_redis\w*)\" \\?\s*'([\w.=-]+)'", SCRIPT)
    assert sorted(name for name, _ in pinned) == sorted(once), pinned
    what = section('## Development').split('- *What it installs.*', 1)[1].split('\n- ', 1)[0]
    for name, package in pinned:
        assert '`%s`' % once[name] in what and '`%s`' % package in what, (once[name], package)
