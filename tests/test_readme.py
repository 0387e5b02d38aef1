"""The README is the manual: its config table must list every key canister knows."""
import re

import webtest

from helpers import ROOT, default_shown

import canister


def readme_key_table() -> dict:
    """The README's config table: ``{key: (default as shown, meaning)}``."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    table = readme.split('| key | default | meaning |', 1)[1].split('\n\n', 1)[0]
    rows = re.findall(r'^\| `([a-z_]+)` \| (.*?) \| (.*) \|$', table, re.M)
    assert len(rows) == len(table.strip().splitlines()) - 1  # every row but the |---| line
    return {name: (default, meaning) for name, default, meaning in rows}


def test_every_config_key_is_in_the_readme_table():
    assert set(canister.KEYS) - set(readme_key_table()) == set()


def test_the_readme_table_names_no_key_canister_does_not_know():
    assert set(readme_key_table()) - set(canister.KEYS) == set()


def test_the_readme_table_holds_the_default_and_meaning_of_keys():
    """``python -m canister keys`` prints KEYS: the two say the same of every key, in the same order."""
    in_keys = [(spec.name, default_shown(spec.default, '`'), spec.meaning) for spec in canister.KEYS.values()]
    in_readme = [(name, default, meaning) for name, (default, meaning) in readme_key_table().items()]
    assert in_keys == in_readme


def test_the_readme_test_command_is_what_ci_runs():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    ci = (ROOT / '.ci' / 'run').read_text(encoding='utf-8')
    assert 'bash scripts/test.sh' in readme
    assert 'bash scripts/test.sh' in ci


def _development_section() -> str:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return readme.split('\n## Development\n', 1)[1].split('\n## ', 1)[0]


def test_the_readme_map_lists_the_sections_of_canister_py_in_their_order():
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    banners = [name.strip() for name in re.findall(r'^# ([A-Z][A-Za-z ]+?) #{3,}$', source, re.M)]
    mapped = re.findall(r'^\| ([A-Z][A-Za-z ]+?) \| ', _development_section(), re.M)
    assert mapped == banners


def test_every_name_in_the_readme_map_and_request_path_is_in_canister_py():
    """The code names of the map and of the request's path (``Class.member`` or a module-level name)."""
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    text = _development_section().split('| section | what it owns |', 1)[1]
    names = set(re.findall(r'`([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?)(?:\([^`]*\))?`', text))
    missing = set()
    for name in names - {'os.write', 'session', 'demo', 'keys', 'Authorization'}:
        owner, _, member = name.rpartition('.')
        if owner:
            body = re.split(r'\nclass %s\b[(:]' % owner, source, maxsplit=1)
            if len(body) < 2 or not re.search(r'^    (?:def )?%s\b' % member, body[1].split('\nclass ', 1)[0], re.M):
                missing.add(name)
        elif not re.search(r'^(?:class |def |    def |#: )?%s\b' % name, source, re.M):
            missing.add(name)
    assert missing == set()


def readme_python_blocks() -> list:
    """The README's ```python blocks, each with the README line it starts on."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return [(readme[:match.start()].count('\n') + 2, match.group(1))
            for match in re.finditer(r'```python\n(.*?)```', readme, re.S)]


def test_every_python_block_of_the_readme_compiles():
    blocks = readme_python_blocks()
    assert len(blocks) >= 7
    for line, block in blocks:
        compile('\n' * (line - 1) + block, 'README.md', 'exec')   # a SyntaxError names the README's line


def test_the_readme_store_skeleton_runs_and_names_the_methods_of_session_store():
    """"Writing a store": the block runs as written, and each method it shows is one canister.SessionStore has."""
    block = next(block for _, block in readme_python_blocks() if 'class MyStore(canister.SessionStore):' in block)
    namespace: dict = {}
    exec(compile(block, 'README.md', 'exec'), namespace)
    shown = [name for name in vars(namespace['MyStore']) if not name.startswith('_')]
    assert shown == ['load', 'save', 'touch', 'delete', 'update', 'create', 'sessions_of']
    assert all(callable(getattr(canister.SessionStore, name, None)) for name in shown)


def test_the_readme_first_app_counts_and_escapes_what_the_query_puts_in_the_page(tmp_path, monkeypatch):
    """"A first app", run as written (but for ``app.run()``) in a directory of its own: each reload
    counts 0, 1, 2, the log directory ./logs gets the request lines, and ``?foo=`` is escaped."""
    block = next(block for _, block in readme_python_blocks() if "session.data['counter'] += 1" in block)
    assert block.rstrip().endswith('app.run()')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block.rstrip()[:-len('app.run()')], 'README.md', 'exec'), namespace)
    app = namespace['app']
    try:
        web = webtest.TestApp(app, extra_environ={'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:8080'})
        assert "Session data: {'counter': 0}" in web.get('/').text
        page = web.get('/', {'foo': '<script>alert(1)</script>'}).text
        assert "Session data: {'counter': 1}" in page
        assert '"?foo=...": &lt;script&gt;alert(1)&lt;/script&gt;' in page and '<script>' not in page
        logs = list((tmp_path / 'logs').iterdir())
        assert len(logs) == 1 and 'GET http://localhost:8080/' in logs[0].read_text()
    finally:
        app.uninstall(True)
