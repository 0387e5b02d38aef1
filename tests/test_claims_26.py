"""README's promises in "Writing a store", "Performance" and "Upgrading from canister 1.x" that no other test
held: a store of the four required methods cannot list a user's sessions, and says so; a store's ``load`` may
give its record as UTF-8 bytes; a store with an atomic ``update`` is never ``touch``ed, a request that changed
nothing setting the record it loaded to itself; ``tidy_sessions`` counts 0 for a store that tidies nothing;
the figures of the instruction and bytecode tables add up; and the plugin's ``log.warn`` writes the WARNING
line that 1.x's code meant, where Python's own ``warn`` is a deprecated name."""
from __future__ import annotations

import logging
import re
import warnings
from typing import List, Optional, Tuple

import bottle
import pytest

import canister
from helpers import ROOT, read_log
from servers import Client
from test_store_optional_methods import AtomicDictStore, DictStore


def _readme_section(title: str) -> str:
    """The README's section under the heading ``title`` (``## ...``), its subsections included."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    level = len(title.split(' ', 1)[0])
    return re.split(r'\n#{1,%d} ' % level, readme.split('\n%s\n' % title, 1)[1], maxsplit=1)[0]


def _number(text: str) -> int:
    return int(text.replace(',', '').replace('+', ''))


def _plugin(app: bottle.Bottle) -> canister.Canister:
    [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
    return plugin


# Writing a store ##########################################################################################

class FourMethodSubclass(canister.SessionStore):
    """A ``canister.SessionStore`` written for the four required methods alone."""

    def __init__(self) -> None:
        self.inner = DictStore()

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


class TidyingNothing(canister.SessionStore):
    """``canister.SessionStore``'s ``tidy`` (removes nothing), with an atomic update of its own."""

    def __init__(self) -> None:
        self.inner = AtomicDictStore()

    def load(self, sid: str) -> Optional[str]:
        return self.inner.load(sid)

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.inner.save(sid, record, ttl)

    def touch(self, sid: str, ttl: float) -> None:
        self.inner.touch(sid, ttl)

    def delete(self, sid: str) -> bool:
        return self.inner.delete(sid)

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
    # the targets: "d at about 1.41 times the floor's instructions, about 13,600 fewer per request"
    assert abs(counts['d'] - 1.41 * counts['a'] - 13600) < 100
    assert abs(counts['c'] - counts['b'] / 2 - 31600) < 100 and 'c at about 198,700 instructions, 31,600 fewer' in section
    # "Of d's 1,951 bytecodes, 1,160 are canister's own: the entry and end (257 ...), ..." adds up
    mine = section.split("Of d's 1,951 bytecodes, 1,160 are canister's own:", 1)[1].split(';', 1)[0]
    parts = [int(n) for n in re.findall(r'\((\d+)[:)]', mine)]
    assert len(parts) == 6 and sum(parts) == 1160
    # "the 944 that d adds": d's 1,951 bytecodes less the floor's 1,007
    assert 'the 944 that d adds' in section and 1951 - 1007 == 944


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
