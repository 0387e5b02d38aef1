"""MemoryStore.load takes no lock, yet never misses a live session while another thread's write
moves it to the end of its dict (taking it out and putting it back)."""
from __future__ import annotations

import time

import pytest

import canister
from helpers import at_once

CREATED_MS = int(time.time() * 1000)


@pytest.mark.parametrize('user', ['alice', None])
def test_a_live_session_is_always_found_while_other_threads_touch_it(frequent_switches, user):
    store = canister.MemoryStore(1000)  # one shard (about 4096 sessions each): A and B share its dicts
    record = '[{},%s,%d,0,0]' % ('null' if user is None else '"%s"' % user, CREATED_MS)
    for sid in ('A' * 43, 'B' * 43):
        store.create(sid, record, 3600, user)
    stop = time.monotonic() + 1.0
    loads, missed = [0], [0]

    def toucher():
        while time.monotonic() < stop and not missed[0]:
            store.touch('A' * 43, 3600)  # A goes to the end of its dict, taken out and put back...
            store.touch('B' * 43, 3600)  # ...then B after it, so the next touch of A moves it again

    def loader():
        while time.monotonic() < stop and not missed[0]:
            loads[0] += 1
            if store.load('A' * 43) != record:
                missed[0] += 1

    at_once([toucher, loader])  # (a touch or load that raised fails the test)
    assert loads[0] > 1000
    assert missed[0] == 0, 'a live session was not found in %d loads' % loads[0]
