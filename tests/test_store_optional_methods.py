"""A store of one's own with the four required methods alone, or with the optional check, close and
load_and_touch: what README "Writing a store" says canister does with each."""
from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

import pytest

import canister
from helpers import FourMethodStore, client, counter_app, read_log


class DictStore(FourMethodStore):
    """The four required methods alone (tests/helpers.py), under the name the messages show."""


class CheckedStore(DictStore):
    def check(self) -> Optional[str]:
        return 'the test says it is down'


class TouchingStore(DictStore):
    def load_and_touch(self, sid: str, ttl: float) -> Optional[str]:
        self.calls.append('load_and_touch')
        record = self.load(sid)
        if record is not None:
            self.touch(sid, ttl)
        return record


def test_a_store_with_the_four_required_methods_alone_installs_serves_and_uninstalls(make_app, log_dir):
    store = DictStore()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # the one about the missing atomic update()
        app = counter_app(make_app, store=store)
    web = client(app)
    assert [web.get('/').text for _ in range(3)] == ['0', '1', '2']
    assert len(store.records) == 1 and 'load' in store.calls
    app.uninstall(True)
    assert 'Traceback' not in read_log(log_dir)


def test_the_optional_check_is_called_at_install_when_the_store_has_it(make_app):
    with pytest.warns(canister.CanisterWarning, match='unreachable for now .the test says it is down'):
        make_app(store=CheckedStore())


def test_the_optional_load_and_touch_is_used_when_the_store_has_it(make_app):
    store = TouchingStore()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        web = client(counter_app(make_app, store=store))
    assert [web.get('/').text for _ in range(2)] == ['0', '1']
    assert 'load_and_touch' in store.calls


class OneStepStore(DictStore):
    """A load_and_touch that reads and extends in one step of its own (not through load and touch)."""

    def load_and_touch(self, sid: str, ttl: float) -> Optional[str]:
        self.calls.append('load_and_touch')
        record, expiry = self.records.get(sid, ('', 0.0))
        if not record or (expiry and expiry <= time.time()):
            return None
        self.records[sid] = (record, max(expiry, time.time() + ttl))
        return record


def read_twice(make_app: Any, store: DictStore, **config: Any) -> List[str]:
    """The calls ``store`` gets from a request that reads its session (made by an earlier one) and changes nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        app = counter_app(make_app, store=store, **config)
    app.route('/read', callback=lambda: str(canister.session.data['counter']))
    web = client(app)
    assert web.get('/').text == '0'
    store.calls.clear()
    assert web.get('/read').text == '0'
    return store.calls


def test_a_store_read_with_load_and_touch_is_not_touched_again_after_a_request_that_changed_nothing(make_app):
    """README: canister then skips the touch of a session the request left unchanged."""
    assert read_twice(make_app, OneStepStore()) == ['load_and_touch']


def test_with_session_max_age_a_store_with_load_and_touch_is_read_with_load(make_app):
    """README: load_and_touch is used whenever the expiry is the sliding session_timeout alone (no session_max_age),
    since the life left then depends on the session's age."""
    calls = read_twice(make_app, OneStepStore(), session_max_age=3600)
    assert 'load_and_touch' not in calls and calls[0] == 'load'


class LengthKeepingStore(DictStore):
    """A load_and_touch that never shortens a session (a remembered one keeps its own length), and says so."""

    keeps_lifetime_on_load = True

    def load_and_touch(self, sid: str, ttl: float) -> Optional[str]:
        self.calls.append('load_and_touch')
        record = self.load(sid)
        if record is not None and self.records[sid][1] - time.time() < ttl:
            self.touch(sid, ttl)
        return record


def remembered_session_after_an_error_answer(make_app: Any, store: DictStore) -> List[str]:
    """The calls ``store`` gets from a request answering 500 on a session ``session.remember`` gave an hour."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        app = make_app(store=store, catchall=True, session_timeout=600)

    @app.get('/remember')
    def remember() -> str:
        canister.session.remember(3600)
        return 'kept'

    @app.get('/broken')
    def broken() -> str:
        canister.session.data['lost'] = True
        raise RuntimeError('a bug in the handler')

    web = client(app)
    assert web.get('/remember').text == 'kept'
    store.calls.clear()
    assert web.get('/broken', expect_errors=True).status_int == 500
    return store.calls


def test_a_store_whose_read_cuts_a_remembered_session_to_the_timeout_is_given_its_length_back_after_an_error(
        make_app):
    store = TouchingStore()
    calls = remembered_session_after_an_error_answer(make_app, store)
    assert calls[:3] == ['load_and_touch', 'load', 'touch'] and len(calls) > 3  # the read, then one more call
    [(_, expiry)] = store.records.values()
    assert 3590 < expiry - time.time() <= 3600


def test_a_store_whose_read_keeps_a_sessions_own_length_gets_nothing_more_after_an_error_answer(make_app):
    store = LengthKeepingStore()
    assert remembered_session_after_an_error_answer(make_app, store) == ['load_and_touch', 'load']
    [(_, expiry)] = store.records.values()
    assert 3590 < expiry - time.time() <= 3600


class ClosingStore(DictStore):
    """A store with the optional close(), which notes that it was called."""

    def close(self) -> None:
        self.calls.append('close')


class ConfigCheckedStore(DictStore):
    """A store whose check() finds something no wait would fix (a table of the wrong shape, say)."""

    def check(self) -> Optional[str]:
        raise canister.ConfigError('the sessions table has no expiry column')


def test_a_store_the_app_passes_in_stays_open_after_uninstall_and_serves_the_next_install(make_app):
    """README: close() is called at uninstall for the stores canister opens; a store you pass in stays yours."""
    store = ClosingStore()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # the one about the missing atomic update()
        first = counter_app(make_app, store=store)
        web = client(first)
        assert [web.get('/').text for _ in range(2)] == ['0', '1']
        first.uninstall(True)
        assert 'close' not in store.calls
        web.app = counter_app(make_app, store=store)               # the same browser, on an app installed anew
    assert web.get('/').text == '2'


def test_a_store_whose_check_raises_a_config_error_fails_the_install_with_it(make_app):
    """README: an exception check() raises is a WARNING and the app starts, unless it is canister's ConfigError."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        with pytest.raises(canister.ConfigError, match='^the sessions table has no expiry column$'):
            make_app(store=ConfigCheckedStore())


class AtomicDictStore(DictStore):
    """A store of one's own with the guarantees (atomic ``update``, ``create`` listing by user), whose expiry
    follows README's "ttl <= 0: forever" on canister's clock; every ttl it is handed, by method."""

    def __init__(self) -> None:
        super().__init__()
        self.ttls: List[Tuple[str, float]] = []
        self.users: Dict[str, List[str]] = {}

    def _expiry(self, ttl: float) -> float:
        return canister._now() + ttl if ttl > 0 else 0.0

    def load(self, sid: str) -> Optional[str]:
        record, expiry = self.records.get(sid, ('', 0.0))
        return record if record and (not expiry or expiry > canister._now()) else None

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.ttls.append(('save', ttl))
        self.records[sid] = (record, self._expiry(ttl))

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        self.ttls.append(('create', ttl))
        self.records[sid] = (record, self._expiry(ttl))
        if user_key is not None:
            self.users.setdefault(user_key, []).append(sid)

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        self.ttls.append(('update', ttl))
        current = self.load(sid)
        if current != expected:
            return False, current
        self.records[sid] = (record, self._expiry(ttl))
        return True, None

    def sessions_of(self, user_key: str) -> List[Tuple[str, str, int]]:
        listed = [(sid, self.records[sid]) for sid in self.users.get(user_key, []) if self.load(sid) is not None]
        return [(sid, record, int(expiry * 1000)) for sid, (record, expiry) in listed]


def _login_counter_app(make_app: Any, store: AtomicDictStore, timeout: int) -> Any:
    app = counter_app(make_app, store=store, session_timeout=timeout)

    @app.post('/login')
    def login() -> str:
        canister.session.user = 'alice'
        return 'in'
    return app


@pytest.mark.parametrize('timeout', [0, -1])
def test_a_store_of_ones_own_is_handed_a_ttl_of_zero_or_less_with_no_timeout_and_the_session_never_ends(
        make_app, clock, timeout):
    """README, Writing a store: ``ttl <= 0`` is "forever", what ``session_timeout = 0`` (or less) hands every
    method; canister itself ends no such session either, ten years on."""
    store = AtomicDictStore()
    app = _login_counter_app(make_app, store, timeout)
    web = client(app)
    web.post('/login')
    assert [web.get('/').text for _ in range(2)] == ['0', '1']
    clock.advance(10 * 365 * 86400)
    assert web.get('/').text == '2'
    assert ('create', 0) in store.ttls and all(ttl <= 0 for _, ttl in store.ttls), store.ttls
    [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
    assert [entry['last_used'] for entry in plugin.sessions_of('alice')] == [None]  # (its expiry: never)


def test_a_store_of_ones_own_is_handed_the_timeout_and_the_session_ends_after_it(make_app, clock):
    """The case above with a timeout, which the same ten years end: so the test above can fail."""
    store = AtomicDictStore()
    web = client(_login_counter_app(make_app, store, 60))
    web.post('/login')
    assert web.get('/').text == '0'
    clock.advance(10 * 365 * 86400)
    assert web.get('/').text == '0'
    assert ('create', 60) in store.ttls
