"""The README is the manual: its config table must list every key canister knows."""
import re

import bottle
from helpers import ROOT, banner_setting, banner_value, client, default_shown, read_log
from servers import Client

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


def test_the_readme_names_the_bottles_and_pythons_the_test_command_runs():
    script = (ROOT / 'scripts' / 'test.sh').read_text(encoding='utf-8')
    bottles = re.search(r'^BOTTLES=\$\{BOTTLES:-"([^"]*)"\}$', script, re.M).group(1).split()
    pairs = re.search(r'^EXTRA_PYTHONS=\$\{EXTRA_PYTHONS-"([^"]*)"\}$', script, re.M).group(1).split()
    section = _development_section()
    assert 'with `python3` on bottle %s and on %s' % tuple(bottles) in section
    for pair in pairs:
        python, bottle_version = pair.split(':')
        assert '(%s with %s)' % (python, bottle_version) in section
    assert 'EXTRA_PYTHONS="%s"' % ' '.join(pairs) in section


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
    assert shown == ['load', 'save', 'touch', 'delete', 'update', 'create', 'sessions_of', 'check']
    assert all(callable(getattr(canister.SessionStore, name, None)) for name in shown)


def readme_block_of_section(section: str, index: int = 0) -> str:
    """The ``index``-th ```python block of a README section, as a newcomer copies it."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    text = readme.split('\n## %s\n' % section, 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```python\n(.*?)```', text, re.S)[index]


def test_the_first_app_of_the_readme_counts_each_reload_logs_as_shown_and_escapes_foo(tmp_path, monkeypatch, serve):
    """"A first app", as printed, imported as a server would: served on a real server, each reload counts 0, 1, 2,
    and ./logs/ gets the request line and the response line in the layout shown."""
    block = readme_block_of_section('A first app')
    assert "\nif __name__ == '__main__':" in block        # (a bare app.run() would serve on 8080 here, for ever)
    monkeypatch.chdir(tmp_path)                         # its app.ini is optional: there is none here
    namespace: dict = {'__name__': 'app'}
    exec(compile(block, 'README.md', 'exec'), namespace)
    app = namespace['app']
    try:
        origin = serve(app)
        browser = Client(origin)
        pages = [browser.get('/?foo=bar') for _ in range(3)]
        assert [page.status for page in pages] == [200, 200, 200]
        assert [re.search(r"Session data: (.*)", page.text).group(1) for page in pages] == [
            "{'counter': 0}", "{'counter': 1}", "{'counter': 2}"]
        assert '"?foo=...": bar' in pages[0].text
        page = browser.get('/?foo=%3Cscript%3Ealert(1)%3C/script%3E').text  # escaped, as the README says
        assert '"?foo=...": &lt;script&gt;alert(1)&lt;/script&gt;' in page and '<script>' not in page
        assert len({re.search(r'Session sid: (\S+)', page.text).group(1) for page in pages}) == 1
        assert all(re.fullmatch(r'log\.\d{4}-\d\d-\d\d', path.name) for path in (tmp_path / 'logs').iterdir())
        log = read_log(tmp_path / 'logs')
        stamp = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}'
        assert re.search(r'^%s INFO     \[127\.0\.0\.1-\.\.\.\]   GET %s/\?foo=bar$' % (stamp, re.escape(origin)),
                         log, re.M), log
        assert re.search(r'^%s INFO     \[127\.0\.0\.1-[A-Za-z0-9_-]{6}\]   Response: 200 \(\d+ms\)$' % stamp, log, re.M)
    finally:
        app.uninstall(True)


def test_a_misspelled_ini_file_is_no_error_and_the_logs_first_lines_show_the_defaults_in_effect(
        tmp_path, uninstall_at_end):
    """Bottle's ``load_config`` (0.12 and 0.13) reads nothing from a file that is not there, without a word:
    the README's first app says so, and the install banner at the top of the log shows what is in effect."""
    assert '# optional: a [canister] section (a missing file is no error:' in readme_block_of_section('A first app')
    (tmp_path / 'app.ini').write_text('[canister]\nsession_store = sqlite:///%s\n' % (tmp_path / 'sessions.db'))
    app = bottle.Bottle()
    app.config.load_config(str(tmp_path / 'ap.ini'))  # the name misspelled: no error
    app.config['canister.log_path'] = str(tmp_path / 'logs')
    uninstall_at_end(app).install(canister.Canister())
    log = read_log(tmp_path / 'logs')
    assert banner_value(log, 'session_store') == 'memory'
    assert any(line.endswith(banner_setting('session_store', 'memory')) for line in log.splitlines()[:20])


def test_the_parameter_block_of_the_readme_binds_what_its_comments_say(make_app):
    """"Parameter unpacking": each handler, its body replaced by one that shows what it got, given the
    request its comment names."""
    block = readme_block_of_section('Parameter unpacking')
    assert block.count('    ...') == 3
    app = make_app()
    namespace = {'app': app}
    exec(compile(block.replace('    ...', '    return repr(sorted(locals().items()))'), 'README.md', 'exec'), namespace)
    web = client(app)
    assert web.get('/hi?foo=John&bar=Smith').text == 'Hi John and Smith!'
    assert web.get('/hi?foo=John').text == 'Hi John!'
    assert web.get('/search?q=tea&page=2&tag=green&tag=black').text == repr(sorted(
        {'q': 'tea', 'page': 2, 'exact': False, 'tag': ['green', 'black'], 'near': None}.items()))
    uploaded = web.post('/upload', {'title': 'Notes'}, upload_files=[('file', 'notes.txt', b'hello')]).text
    assert uploaded.startswith("[('file', <bottle.FileUpload object") and uploaded.endswith("('title', 'Notes')]")
    assert web.put_json('/items/7', {'name': 'tea', 'colour': 'green'}).text == repr(
        [('extra', {'colour': 'green'}), ('item_id', 7), ('name', 'tea')])


def test_the_configuration_block_of_the_readme_fills_the_config_all_four_ways(tmp_path, monkeypatch):
    """"Configuration": an ini file, load_dict, update and a keyword argument, each read at install."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_cookie = from_ini\n', encoding='utf-8')
    app = bottle.Bottle()
    exec(compile(readme_block_of_section('Configuration'), 'README.md', 'exec'), {'app': app, 'canister': canister})
    try:
        @app.get('/')
        def visit():
            canister.session.data['n'] = 1
            return 'ok'
        answer = client(app).get('/', headers={'Origin': 'https://elsewhere.example'})
        assert answer.headers['Set-Cookie'].startswith('from_ini=')           # the ini file's
        assert answer.headers['Access-Control-Allow-Origin'] == '*'           # app.config.update's
        assert (tmp_path / 'sessions.db').is_file()                           # the keyword argument's store
        log = read_log(tmp_path / 'logs')
        assert re.search(r'canister\.log_level +  = DEBUG$', log, re.M)       # load_dict's
        assert re.search(r'canister\.session_store +  = sqlite:///sessions\.db$', log, re.M)
    finally:
        app.uninstall(True)


def test_the_readme_names_every_package_the_test_command_installs_with_apt_get():
    """Both places that list them: the fresh machine's comment and the paragraph on the test command."""
    script = (ROOT / 'scripts' / 'test.sh').read_text(encoding='utf-8')
    packages = {name for added in re.findall(r'need\+=\(([^)]*)\)', script) for name in added.split()}
    assert {'redis-server', 'chromium', 'gcc', 'python3-venv'} <= packages
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    comment = readme.split('# install everything the tests need', 1)[1].split('bash scripts/test.sh', 1)[0]
    paragraph = readme.split('The test command runs the suite', 1)[1].split('\n\n', 1)[0]
    for package in sorted(packages):
        assert re.search(r'\b%s\b' % re.escape(package), comment), package
        assert '`%s`' % package in paragraph, package


def test_the_readme_says_how_the_test_command_spreads_its_runs_over_lanes():
    """Twice the cores in lanes on two cores or more, one on one core; run N goes to lane N modulo the lanes; LANES
    overrides."""
    script = (ROOT / 'scripts' / 'test.sh').read_text(encoding='utf-8')
    assert 'lanes=${LANES:-$(( cores >= 2 ? 2 * cores : 1 ))}' in script
    assert 'for ((index = $1; index < ${#venvs[@]}; index += lanes)); do' in script
    assert "> \"$log\" 2>&1" in script and 'ended after $((SECONDS - started)) s with status $code:' in script
    section = ' '.join(_development_section().split())
    assert 'The test command runs the suite four times, all four at once where there are two cores,' in section
    assert ('on a machine with two cores or more the runs go in lanes, twice as many as the cores: all four at once '
            'on two cores. With fewer lanes than runs, run N goes to lane N modulo the lanes (`LANES=2`: runs 1 and 3 '
            'one after the other in the first, 2 and 4 in the second). Each run\'s output goes to `.venv/logs/` and is '
            'printed whole when the run ends, with its time and exit status. `LANES=1` runs them one after the '
            'other') in section
    # (what stops the lanes, on a Ctrl-C, a SIGTERM or a SIGHUP: tests/test_test_command_lanes.py)
