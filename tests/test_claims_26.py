"""README's promises in "Writing a store", "Performance" and "Upgrading from canister 1.x" that no other test
held: a store of the four required methods cannot list a user's sessions, and says so; a store's ``load`` may
give its record as UTF-8 bytes; a store with an atomic ``update`` is never ``touch``ed, a request that changed
nothing setting the record it loaded to itself; ``tidy_sessions`` counts 0 for a store that tidies nothing;
the figures of the instruction and bytecode tables add up; and the plugin's ``log.warn`` writes the WARNING
line that 1.x's code meant, where Python's own ``warn`` is a deprecated name."""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import warnings
from typing import List, Optional, Tuple

import bottle
import pytest

import canister
from helpers import ROOT, basic, read_log, write_users
from helpers import readme_section as _readme_section
from servers import Client
from session_kit import Browser, anonymous, gated_app, hold_request
from test_store_optional_methods import AtomicDictStore, DictStore


def _number(text: str) -> int:
    return int(text.replace(',', '').replace('+', ''))


def _plugin(app: bottle.Bottle) -> canister.Canister:
    [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
    return plugin


# Writing a store ##########################################################################################

class FourMethodSubclass(canister.SessionStore):
    """A ``canister.SessionStore`` written for the four required methods alone, over ``inner`` (a DictStore if not
    given)."""

    def __init__(self, inner: Optional[DictStore] = None) -> None:
        self.inner = DictStore() if inner is None else inner

    def load(self, sid: str) -> Optional[str]:
        return self.inner.load(sid)

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.inner.save(sid, record, ttl)

    def touch(self, sid: str, ttl: float) -> None:
        self.inner.touch(sid, ttl)

    def delete(self, sid: str) -> bool:
        return self.inner.delete(sid)


def _login_app(make_app, store) -> bottle.Bottle:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # (no atomic update: said at install)
        app = make_app(store=store)

    @app.post('/login')
    def login() -> str:
        canister.session.user = 'alice'
        canister.session.data['n'] = 1
        return 'in'

    @app.get('/')
    def index() -> str:
        return str(canister.session.user)

    return app


@pytest.mark.parametrize('store', [DictStore, FourMethodSubclass])
def test_a_store_of_the_four_required_methods_keeps_its_logins_but_sessions_of_and_end_sessions_raise(
        make_app, serve, store):
    app = _login_app(make_app, store())
    browser = Client(serve(app))
    assert browser.request('POST', '/login').status == 200
    assert browser.request('GET', '/').text == 'alice'
    plugin = _plugin(app)
    with pytest.raises(canister.CanisterError, match='cannot list the sessions of a user'):
        plugin.sessions_of('alice')
    with pytest.raises(canister.CanisterError, match='cannot list the sessions of a user'):
        plugin.end_sessions('alice')
    assert browser.request('GET', '/').text == 'alice'   # (nothing ended)


class BytesStore(AtomicDictStore):
    """Gives its records back as UTF-8 bytes, as many database clients do."""

    def load(self, sid: str) -> Optional[str]:
        record = super().load(sid)
        return record.encode('utf-8') if record is not None else None  # type: ignore[return-value]


def test_a_store_whose_load_gives_utf8_bytes_serves_its_sessions_as_text_would(make_app, serve):
    app = make_app(store=BytesStore())

    @app.get('/')
    def index() -> str:
        canister.session.data['name'] = canister.session.data.get('name', 'Jörg') + '!'
        return canister.session.data['name']

    browser = Client(serve(app))
    assert [browser.request('GET', '/').text for _ in range(3)] == ['Jörg!', 'Jörg!!', 'Jörg!!!']


class CallCountingStore(AtomicDictStore):
    def __init__(self) -> None:
        super().__init__()
        self.updates: List[Tuple[str, str, str, float]] = []

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        self.updates.append((sid, expected, record, ttl))
        return super().update(sid, expected, record, ttl)


def test_with_an_atomic_update_a_request_that_changed_nothing_sets_the_record_it_loaded_to_itself_never_touch(
        make_app, serve):
    store = CallCountingStore()
    app = make_app(store=store, session_timeout=600)

    @app.post('/')
    def write() -> str:
        canister.session.data['n'] = 1
        return 'written'

    @app.get('/')
    def read() -> str:
        return str(canister.session.data.get('n'))

    browser = Client(serve(app))
    assert browser.request('POST', '/').status == 200
    [sid] = list(store.records)
    record = store.records[sid][0]
    store.calls.clear()
    del store.updates[:]
    assert browser.request('GET', '/').text == '1'
    assert 'touch' not in store.calls
    assert store.updates == [(sid, record, record, 600)]


def test_a_stores_ttl_is_whole_seconds_under_session_timeout_and_the_remaining_life_under_session_max_age(
        make_app, serve, clock):
    """README: "`ttl` is in seconds and may have a fractional part, as a session's remaining life under
    `session_max_age` does"."""
    lives = {}
    for config in ({'session_timeout': 60}, {'session_timeout': 60, 'session_max_age': 600}):
        store = AtomicDictStore()
        app = make_app(store=store, **config)
        app.route('/', callback=_counter_of_foo(False))
        browser = Client(serve(app))
        assert browser.request('GET', '/?foo=a').text == 'a 1'
        clock.advance(0.25)
        assert browser.request('GET', '/?foo=a').text == 'a 2'
        lives[len(config)] = [ttl for _, ttl in store.ttls]
    assert lives[1] == [60, 60]
    assert lives[2] == [60, 60]   # (the sliding timeout ends it first)
    store = AtomicDictStore()
    app = make_app(store=store, session_timeout=3600, session_max_age=600)
    app.route('/', callback=_counter_of_foo(False))
    browser = Client(serve(app))
    assert browser.request('GET', '/?foo=b').text == 'b 1'
    clock.advance(0.25)
    assert browser.request('GET', '/?foo=b').text == 'b 2'
    first, second = [ttl for _, ttl in store.ttls]
    assert 599 < first <= 600 and abs(first - 0.25 - second) < 0.002 and second % 1 > 0
    assert '`ttl` is in seconds and may have a fractional part' in _readme_section('### Writing a store')


class DeleteBug(AtomicDictStore):
    def delete(self, sid: str) -> bool:
        raise RuntimeError('store bug in delete')


@pytest.mark.parametrize('path', ['/regenerate-and-end', '/login-and-end'])
def test_a_store_whose_delete_raises_after_the_handler_answers_the_plain_500_and_logs_its_traceback(
        make_app, serve, log_dir, path):
    """A handler that moves its session to a new id and then ends it leaves canister a new id to delete."""
    app = make_app(store=DeleteBug())

    @app.get('/')
    def index() -> str:
        canister.session.data['n'] = canister.session.data.get('n', 0) + 1
        return str(canister.session.data['n'])

    @app.get('/regenerate-and-end')
    def regenerate_and_end() -> str:
        canister.session.regenerate()
        canister.session.invalidate()
        return 'ended'

    @app.get('/login-and-end')
    def login_and_end() -> str:
        canister.session.user = 'bob'
        canister.session.invalidate()
        return 'ended'

    browser = Client(serve(app))
    assert browser.request('GET', '/').text == '1'
    answer = browser.request('GET', path)
    assert (answer.status, answer.text) == (500, 'Internal server error: the session could not be saved\n')
    assert answer.headers['Content-Type'].startswith('text/plain')
    assert answer.headers.get_all('Set-Cookie') is None and 'store bug' not in answer.text
    log = read_log(log_dir)
    assert re.search(r'ERROR    \[[^]]*\]   Session not saved: the session store raised RuntimeError\n  Traceback '
                     r'[^\n]*\n(  .*\n)*  RuntimeError: store bug in delete\n', log), log
    assert browser.request('GET', '/').status == 200   # the next request is served


class TidyingNothing(FourMethodSubclass):
    """``canister.SessionStore``'s ``tidy`` (removes nothing), with an atomic update of its own."""

    def __init__(self) -> None:
        super().__init__(AtomicDictStore())

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        return self.inner.update(sid, expected, record, ttl)


@pytest.mark.parametrize('store', [AtomicDictStore, TidyingNothing])
def test_tidy_sessions_counts_nothing_removed_for_a_store_without_tidy_or_with_session_stores(make_app, serve,
                                                                                               store):
    app = _login_app(make_app, store())
    browser = Client(serve(app))
    assert browser.request('POST', '/login').status == 200
    assert _plugin(app).tidy_sessions() == 0
    assert browser.request('GET', '/').text == 'alice'


# Performance ##############################################################################################

def _instruction_rows() -> List[List[str]]:
    section = _readme_section('### Where the time goes, and why the two targets are missed')
    table = section.split('| app | what |', 1)[1].split('\n\n', 1)[0]
    return [[cell.strip() for cell in line.strip().strip('|').split('|')] for line in table.splitlines()[2:]]


def test_the_instruction_tables_steps_and_ratios_follow_from_its_counts():
    rows = {row[0]: row for row in _instruction_rows()}
    assert list(rows) == ['a', 'entry', 'bind', 'd', 'c', 'b']
    counts = {name: _number(row[2]) for name, row in rows.items()}
    before = {'entry': 'a', 'bind': 'entry', 'd': 'bind', 'c': 'd'}
    for name, previous in before.items():
        assert _number(rows[name][3]) == counts[name] - counts[previous], name
    for name, row in rows.items():
        assert row[4] == '%.2f' % (counts[name] / counts['a']), name


def test_the_performance_texts_figures_of_instructions_and_bytecodes_follow_from_the_tables():
    section = _readme_section('## Performance')
    counts = {row[0]: _number(row[2]) for row in _instruction_rows()}
    assert 'In instructions, c is %.2f of b and d %.2f times a' % (counts['c'] / counts['b'],
                                                                    counts['d'] / counts['a']) in section
    # the round's cuts: "d from 183,859 to 177,130 instructions (-3.7%) and c from 247,716 to 230,255 (-7.0%)"
    cuts = re.findall(r'from ([\d,]+) to ([\d,]+)(?: instructions)? \(-([\d.]+)%\)', section)
    assert len(cuts) == 2
    for old, new, percent in cuts:
        assert '%.1f' % (100 * (1 - _number(new) / _number(old))) == percent
    # the targets: "d at about 1.41 times the floor's instructions, about 14,800 fewer per request"
    assert abs(counts['d'] - 1.41 * counts['a'] - 14800) < 100
    assert abs(counts['c'] - counts['b'] / 2 - 43900) < 100 and 'c at about 199,200 instructions, 43,900 fewer' in section
    # "Of d's 1,954 bytecodes today, 1,163 are canister's own (...): the entry and end (257 ...), ..." adds up
    # (tests/test_benchmarks.py checks the figures against what the command prints)
    own, mine = re.search(r"Of d's [\d,]+ bytecodes today, ([\d,]+) are canister's own \([^)]*\): ([^;]*);",
                          section).groups()
    parts = [int(n) for n in re.findall(r'\((\d+)[:)]', mine)]
    assert len(parts) == 6 and sum(parts) == _number(own)
    # "the 947 that d adds about 66": d's bytecodes less the floor's, as *Small bytecodes* counts them (which
    # tests/test_benchmarks.py checks against the command), and the instructions d adds to the floor's for each
    floor, d_bytecodes = (_number(n) for n in re.search(
        r'counts ([\d,]+) bytecodes a request for the floor and ([\d,]+) for d', section).groups())
    added = d_bytecodes - floor
    assert 'the floor\'s bytecodes take about %d instructions each, the %d that d adds about %d (' % (
        round(counts['a'] / floor), added, round((counts['d'] - counts['a']) / added)) in section.lower()
    assert 'half of the %d that canister adds to the floor, rather than the %s instructions counted above' % (
        added, re.search(r'about ([\d,]+) fewer per request', section)[1]) in section


def test_the_earlier_versions_percentages_follow_from_their_counts():
    section = _readme_section('### Earlier versions')
    rows = re.findall(r'^\| [^|]+ \| ([\d,]+) \| ([\d,]+) \| (?:about )?([\d,]+) \| ([\d,]+) \| ([^|]*) \|$', section,
                      re.M)
    assert len(rows) == 9
    shown_in = [(row, re.fullmatch(r'([+-][\d.]+)% and ([+-][\d.]+)%', row[4].strip())) for row in rows]
    assert len([shown for _, shown in shown_in if shown]) == 2
    for (d_before, d_after, c_before, c_after, _), shown in shown_in:
        if shown:
            assert '%+.1f' % (100 * (_number(d_after) / _number(d_before) - 1)) == shown.group(1)
            assert '%+.1f' % (100 * (_number(c_after) / _number(c_before) - 1)) == shown.group(2)


def test_the_earlier_versions_rows_of_the_last_two_rounds_are_the_figures_the_text_above_gives():
    section = _readme_section('## Performance')
    rows = _readme_section('### Earlier versions')
    assert 'took d from 183,859 to 177,130 instructions (-3.7%) and c from 247,716 to 230,255 (-7.0%)' in section
    assert '| this round (`1cf515d` before): see above | 183,859 | 177,130 | 247,716 | 230,255 |' in rows
    assert 'd 176,055 before and 175,804 after, c 229,611 and 230,009' in section
    assert 'That took d from 1,962 to 1,951 bytecodes a request and c from 2,620 to 2,606' in section
    assert ('| 176,055 | 175,804 | 229,611 | 230,009 | within two runs\' difference; bytecodes d 1,962 to 1,951, '
            'c 2,620 to 2,606 |') in rows
    assert 'Instructions for d over the development of 2.0' in rows and '184,890 after the restructuring' in rows
    assert re.search(r'^\| threads named only while[^|]*\| 184,890 \|', rows, re.M)


def test_the_target_table_quotes_the_ratios_of_the_run_above_and_of_the_instruction_counts():
    section = _readme_section('## Performance')
    ratios = dict(re.findall(r'^\| (\w/\w) \| [^|]+ \| ([\d.]+) \|$', section, re.M))
    counts = {row[0]: _number(row[2]) for row in _instruction_rows()}
    targets = section.split('| target | measured |', 1)[1].split('\n\n', 1)[0]
    assert '**%s in the run above' % ratios['c/b'] in targets
    assert '; %.2f in instructions): missed**' % (counts['c'] / counts['b']) in targets
    assert '**%s in the run above' % ratios['d/a'] in targets
    assert '; %.2f in instructions): missed**' % (counts['d'] / counts['a']) in targets
    assert '| %s |' % ratios['c/e'] in targets


@pytest.mark.parametrize('script, defaults', [
    ('overhead.py', ['rounds (default 100)', 'requests per variant per round (default 300)']),
    ('memory_store.py', ['sessions (default 1,000,000)', 'cap on the latency run (default 100)']),
])
def test_the_benchmark_defaults_the_performance_section_names_are_the_scripts(script, defaults):
    """"100 rounds of 300 requests per variant" without options; "the default of 100 s" of the memory store's
    run over 1,000,000 sessions."""
    shown = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / script), '--help'], capture_output=True,
                           text=True, timeout=60, check=True).stdout
    assert all(default in ' '.join(shown.split()) for default in defaults), shown
    section = _readme_section('## Performance')
    assert 'with `python benchmarks/overhead.py --baseline DIR --markdown` (100 rounds of 300 requests per variant)' \
        in section
    assert 'Memory store at 1,000,000 live sessions' in section and 'the default of 100 s' in section


def test_every_commit_the_performance_section_measures_beside_is_in_the_repository():
    """Each ``git worktree add --detach ../base COMMIT`` the section gives, and each "(`COMMIT` before)", works."""
    named = set(re.findall(r'`([0-9a-f]{7}\^?)`', _readme_section('## Performance')))
    assert {'1cf515d', '73ce115', '0d9ad93', '2bf4d21^', 'b03eac1'} <= named
    for commit in sorted(named):
        found = subprocess.run(['git', 'cat-file', '-t', commit], cwd=str(ROOT), capture_output=True, text=True)
        assert found.stdout.strip() == 'commit', (commit, found.stderr)


def test_the_child_that_strace_counted_serves_its_requests():
    """"`strace -f -c` on `python benchmarks/instructions.py --child d 1100` against `--child d 100`"."""
    for count in ('100', '1100'):
        run = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'instructions.py'), '--child', 'd', count],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and 'Traceback' not in run.stderr, run.stderr


def _counter_of_foo(annotated: bool):
    """The benchmark's handler, its ``foo`` unannotated or annotated ``str`` (a text either way)."""
    def index(foo) -> str:
        canister.session.data['n'] = canister.session.data.get('n', 0) + 1
        return '%s %d' % (foo, canister.session.data['n'])
    if annotated:
        index.__annotations__['foo'] = str
    return index


@pytest.mark.parametrize('annotated', [False, True], ids=['foo', 'foo: str'])
def test_canister_makes_bottle_build_no_headers_dict_cookie_jar_or_forms_dict_it_would_not_build_anyway(
        make_app, serve, annotated):
    """The counter job with ``foo`` bound, CORS and the log on: after each request, its environ holds none of
    the objects Bottle builds on demand (``request.headers``, ``request.cookies``, ``request.query``); ``foo: str``
    as ``foo``, since a text needs no conversion to ``str``."""
    app = make_app(cors='*')
    app.route('/', callback=_counter_of_foo(annotated))

    built: List[List[str]] = []

    def watched(environ, start_response):
        body = b''.join(app(environ, start_response))
        built.append(sorted(key for key in environ if key.startswith('bottle.') and key not in BOTTLE_ALWAYS))
        return [body]

    browser = Client(serve(watched))
    origin = {'Origin': 'https://app.example.com'}
    assert [browser.request('GET', '/?foo=bar', headers=origin).text for _ in range(3)] == ['bar 1', 'bar 2', 'bar 3']
    assert built == [[], [], []]
    assert browser.request('GET', '/?foo=b%20r', headers=origin).text == 'b r 4'   # (text to decode: Bottle's)
    assert built[-1] == ['bottle.get', 'bottle.request.query']
    assert 'for a handler whose parameters are all texts (unannotated, or `str`) and a query string with nothing to ' \
        'decode' in _readme_section('## Performance')


@pytest.mark.parametrize('query', ['foo=bar', 'foo=a&foo=b', 'foo', 'foo=', 'foo=a=b', 'x=1&&foo=y&', '&foo=z',
                                   'foo=a;b', 'foo=%00', 'foo=caf%C3%A9', 'foo=a+b', 'foo=%FF', 'x=1'])
def test_a_parameter_annotated_str_is_bound_from_the_query_as_an_unannotated_one_is(make_app, serve, query):
    app = make_app()

    @app.get('/text')
    def text(foo='(absent)') -> str:
        return json.dumps(foo)

    @app.get('/str')
    def annotated(foo: str = '(absent)') -> str:
        return json.dumps(foo)

    @app.get('/required')
    def required(foo: str, bar: str = '-') -> str:
        return json.dumps(foo)

    browser = Client(serve(app))
    as_text, as_str = (browser.request('GET', path + '?' + query) for path in ('/text', '/str'))
    assert (as_str.status, as_str.text) == (as_text.status, as_text.text)
    if as_text.status == 200 and as_text.text != '"(absent)"':
        assert browser.request('GET', '/required?' + query).text == as_text.text
        assert json.loads(as_text.text) == urllib.parse.parse_qs(query, keep_blank_values=True)['foo'][-1]
    else:
        assert browser.request('GET', '/required?' + query).status == 400


#: What Bottle puts in every request's environ, whatever the handler reads.
BOTTLE_ALWAYS = {'bottle.app', 'bottle.raw_path', 'bottle.request', 'bottle.route'}


# Upgrading from canister 1.x ##############################################################################

def test_the_plugins_log_warn_writes_a_warning_line_where_pythons_own_warn_is_a_deprecated_name(tmp_path,
                                                                                                 uninstall_at_end):
    app = uninstall_at_end(bottle.Bottle())
    plugin = canister.Canister(log_path=str(tmp_path / 'logs'))
    app.install(plugin)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        plugin.log.warn('as 1.x wrote it')
    assert ' WARNING  [MainThread]   as 1.x wrote it\n' in read_log(tmp_path / 'logs')
    with pytest.warns(DeprecationWarning, match="'warn' method is deprecated"):
        logging.getLogger('test_claims_26').warn('Python keeps the name, deprecated')
    section = _readme_section('## Upgrading from canister 1.x')
    intro = section.split('and its config keys', 1)[0]
    assert "writes a WARNING line here without the DeprecationWarning that Python's own loggers give" in intro


# A login form #############################################################################################

def _quick_hash(password: str) -> str:
    return canister.hash_password(password, 'pbkdf2', iterations=1000)


_FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def _form_app(make_app, users, **overrides) -> bottle.Bottle:
    app = make_app(**overrides)

    @app.post('/login')
    def login(username: str = '', password: str = '') -> str:
        return 'logged in' if canister.log_in(username, password, users) else 'refused'

    @app.post('/note')
    def note(text: str) -> str:
        canister.session.data['note'] = text
        return 'noted'

    @app.get('/me')
    def me() -> str:
        return '%s %s %s' % (canister.session.user, canister.session.data.get('note'), canister.session.sid)

    return app


def test_a_refused_form_login_leaves_the_session_as_it_was_its_id_user_and_data(make_app, serve):
    app = _form_app(make_app, {'alice': _quick_hash('wonderland'), 'bob': _quick_hash('builder')})
    browser = Client(serve(app))
    assert browser.request('POST', '/login', 'username=alice&password=wonderland', _FORM).text == 'logged in'
    assert browser.request('POST', '/note', 'text=kept', _FORM).text == 'noted'
    before = browser.request('GET', '/me').text
    assert before.startswith('alice kept ')
    for name, password in [('bob', 'wonderland'), ('alice', 'builder'), ('nobody', 'x'), ('bob', '')]:
        refused = browser.request('POST', '/login', 'username=%s&password=%s' % (name, password), _FORM)
        assert refused.text == 'refused' and refused.headers.get_all('Set-Cookie') is None
        assert browser.request('GET', '/me').text == before


def test_a_form_login_with_the_configured_users_file_reads_it_again_when_it_changes(make_app, serve, tmp_path,
                                                                                      clock):
    users = tmp_path / 'users'
    users.write_text('alice:%s\n' % _quick_hash('old-password'))
    app = _form_app(make_app, None, auth_basic_users_file=str(users))
    browser = Client(serve(app))
    assert browser.request('POST', '/login', 'username=alice&password=old-password', _FORM).text == 'logged in'
    users.write_text('alice:%s\n' % _quick_hash('new-password'))
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(1.1)   # (the file is looked at once a second)
    assert browser.request('POST', '/login', 'username=alice&password=old-password', _FORM).text == 'refused'
    assert browser.request('POST', '/login', 'username=alice&password=new-password', _FORM).text == 'logged in'


def test_a_form_login_from_another_thread_than_the_requests_raises_canister_error(make_app, serve, log_dir):
    app = make_app()
    raised: List[BaseException] = []

    @app.post('/login')
    def login() -> str:
        def elsewhere() -> None:
            try:
                canister.log_in('alice', 'wonderland', {'alice': _quick_hash('wonderland')})
            except BaseException as error:  # (what the thread met, for the test to see)
                raised.append(error)
        helper = threading.Thread(target=elsewhere)
        helper.start()
        helper.join()
        return str(canister.session.user)

    browser = Client(serve(app))
    assert browser.request('POST', '/login').text == 'None'
    assert len(raised) == 1 and isinstance(raised[0], canister.CanisterError), raised
    assert 'in the thread that serves it' in str(raised[0])


def test_verify_password_warns_of_a_clear_text_stored_form_once_per_line_of_the_app_that_calls_it(tmp_path):
    script = tmp_path / 'app.py'
    script.write_text('import canister\n'
                      'for attempt in range(3):\n'
                      '    canister.verify_password("secret", "secret")\n'
                      'canister.verify_password("secret", "secret")\n'
                      'print(canister.verify_password("secret", "secret", "clear"))\n')
    run = subprocess.run([sys.executable, str(script)], cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS=''))
    assert run.returncode == 0, run.stderr
    assert run.stdout == 'True\n'
    warned = [line for line in run.stderr.splitlines() if 'CanisterWarning' in line]
    assert [line.split(':', 2)[1] for line in warned] == ['3', '4'], run.stderr
    assert all('canister.verify_password: the stored form is no hash' in line for line in warned)


def test_a_form_logins_mapping_may_hold_stored_forms_as_bytes(make_app, serve):
    """"`users` is a mapping of name to stored form (any form `verify_password` takes, `bytes` included)"."""
    app = _form_app(make_app, {'alice': _quick_hash('wonderland').encode('utf-8')})
    browser = Client(serve(app))
    assert browser.request('POST', '/login', 'username=alice&password=guess', _FORM).text == 'refused'
    assert browser.request('POST', '/login', 'username=alice&password=wonderland', _FORM).text == 'logged in'
    assert browser.request('GET', '/me').text.startswith('alice None ')


# "A request that only read a session leaves it the length another request gave it meanwhile" (Writing a store)

class NeverShorteningTouch(DictStore):
    """The four required methods, ``touch`` extending a live session's life and never shortening it; expiry on
    canister's clock (as :class:`AtomicDictStore`), so that a test can stop it."""

    def load(self, sid: str) -> Optional[str]:
        self.calls.append('load')
        record, expiry = self.records.get(sid, ('', 0.0))
        return record if record and (not expiry or expiry > canister._now()) else None

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.calls.append('save')
        self.records[sid] = (record, canister._now() + ttl if ttl > 0 else 0.0)

    def touch(self, sid: str, ttl: float) -> None:
        self.calls.append('touch')
        if self.load(sid) is not None:
            record, expiry = self.records[sid]
            self.records[sid] = (record, 0.0 if ttl <= 0 or not expiry else max(expiry, canister._now() + ttl))


def _read_held_across_remember(make_app, serve_with_gates, clock, store, timeout: int, remembered: int) -> Browser:
    """A session (``cart`` = 3) with ``session_timeout = timeout``; a request that only reads it is held while
    another one calls ``remember(remembered)``, then finishes; the browser, once the shorter length is past.

    The stores time sessions by canister's clock, stopped (``clock``): the requests take none of the session's
    length however slowly a loaded machine answers them, and the clock is moved past the shorter length."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # (a store without an atomic update)
        app = gated_app(make_app, None, store=store, session_timeout=timeout)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    release = hold_request(app, origin, browser.sid, '/hold?name=a')
    assert Browser(origin, browser.sid).get('/remember?seconds=%d' % remembered).status == 200
    assert release().status == 200
    clock.advance(min(timeout, remembered) + 0.4)   # past the shorter of the two lengths, well within the longer
    return browser


@pytest.mark.parametrize('store', [AtomicDictStore, NeverShorteningTouch])
def test_a_read_held_across_a_longer_remember_leaves_the_longer_length_with_an_atomic_update_or_a_never_shortening_touch(
        make_app, serve_with_gates, clock, store):
    browser = _read_held_across_remember(make_app, serve_with_gates, clock, store(), timeout=3, remembered=600)
    assert browser.read() == [None, {'cart': '3'}]


def test_a_read_held_across_a_shorter_remember_leaves_the_shorter_length_with_an_atomic_update(
        make_app, serve_with_gates, clock):
    browser = _read_held_across_remember(make_app, serve_with_gates, clock, AtomicDictStore(), timeout=3600,
                                         remembered=1)
    assert browser.read() == [None, {}]


def test_a_read_held_across_a_shorter_remember_gives_session_timeout_back_with_only_touch(make_app, serve_with_gates,
                                                                                          clock):
    browser = _read_held_across_remember(make_app, serve_with_gates, clock, NeverShorteningTouch(), timeout=3600,
                                         remembered=1)
    assert browser.read() == [None, {'cart': '3'}]


def test_a_users_file_change_that_ends_a_users_sessions_saves_the_ended_note_in_a_store_of_ones_own(
        make_app, serve, tmp_path, clock):
    """"On a store with `sessions_of`, `end_sessions` (and a change of the Basic users file that ends a user's
    sessions) also `save`s ... a short note under the key `ended:<user key>`"."""
    users = write_users(tmp_path / 'users', alice='old-password', bob='builder')
    store = AtomicDictStore()
    app = make_app(store=store, auth_basic_users_file=str(users))
    app.route('/', callback=_counter_of_foo(False))
    browser = Client(serve(app))
    assert browser.request('GET', '/?foo=a', headers={'Authorization': basic('alice', 'old-password')}).text == 'a 1'
    assert browser.request('GET', '/?foo=a').text == 'a 2'
    assert not [key for key in store.records if key.startswith('ended:')]
    users.write_text(''.join(line for line in users.read_text().splitlines(True) if line.startswith('bob:'))
                     + 'alice:%s\n' % _quick_hash('new-password'))
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(10)   # (looked at once a second, and taken once at rest: 10 s past the file's change time)
    assert browser.request('GET', '/?foo=a').text == 'a 1'   # ended: a new session
    assert [key for key in store.records if key.startswith('ended:')] == ['ended:alice']
