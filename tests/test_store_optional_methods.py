"""A store of one's own with only the four required methods (no check, close or load_and_touch):
README "Writing a store" says the others are optional."""
from __future__ import annotations

import time
import warnings
from typing import Dict, List, Optional, Tuple

import pytest

import canister
from helpers import client, counter_app, read_log


class DictStore:
    """load, save, touch, delete and nothing else (not a canister.SessionStore)."""

    def __init__(self) -> None:
        self.records: Dict[str, Tuple[str, float]] = {}
        self.calls: List[str] = []

    def load(self, sid: str) -> Optional[str]:
        self.calls.append('load')
        record, expiry = self.records.get(sid, ('', 0.0))
        return record if record and (not expiry or expiry > time.time()) else None

    def save(self, sid: str, record: str, ttl: float) -> None:
        self.calls.append('save')
        self.records[sid] = (record, time.time() + ttl if ttl > 0 else 0.0)

    def touch(self, sid: str, ttl: float) -> None:
        self.calls.append('touch')
        if sid in self.records:
            self.records[sid] = (self.records[sid][0], time.time() + ttl if ttl > 0 else 0.0)

    def delete(self, sid: str) -> bool:
        self.calls.append('delete')
        return self.records.pop(sid, None) is not None


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
