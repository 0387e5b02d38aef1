"""MemoryStore.save, public though canister itself never calls it: a record that gains, loses or
changes its user is listed under the user it names, as create and update list it."""
from __future__ import annotations

import time

import canister
from session_kit import plugin_of


CREATED_MS = int(time.time() * 1000)


def record(user):
    return '[{"k":"v"},%s,%d,0,0]' % ('null' if user is None else '"%s"' % user, CREATED_MS)


def listed(store, user):
    return [sid for sid, _, _ in store.sessions_of(user)]


def test_a_session_saved_with_a_user_is_listed_under_it():
    store = canister.MemoryStore()
    store.save('s1', record('alice'), 600)
    assert listed(store, 'alice') == ['s1']


def test_a_session_saved_again_without_its_user_is_no_longer_listed():
    store = canister.MemoryStore()
    store.create('s1', record('alice'), 600, 'alice')
    store.save('s1', record(None), 600)
    assert listed(store, 'alice') == []
    assert store.load('s1') == record(None) and len(store) == 1


def test_a_session_that_gains_a_user_by_save_is_listed_under_it():
    store = canister.MemoryStore()
    store.save('s1', record(None), 600)
    store.save('s1', record('alice'), 600)
    assert listed(store, 'alice') == ['s1'] and len(store) == 1


def test_a_session_saved_with_another_user_moves_to_that_users_list():
    store = canister.MemoryStore()
    store.create('s1', record('alice'), 600, 'alice')
    store.save('s1', record('bob'), 600)
    assert listed(store, 'alice') == [] and listed(store, 'bob') == ['s1']


def test_end_sessions_ends_a_session_saved_for_the_user_and_spares_one_saved_away_from_it(make_app):
    store = canister.MemoryStore()
    app = make_app(store=store)
    app.route('/', callback=lambda: 'ok')
    store.save('gained', record('alice'), 600)
    store.create('lost', record('alice'), 600, 'alice')
    store.save('lost', record('bob'), 600)
    assert [entry['current'] for entry in plugin_of(app).sessions_of('alice')] == [False]
    assert plugin_of(app).end_sessions('alice') == 1
    assert store.load('gained') == canister._ENDING and store.load('lost') == record('bob')
    assert plugin_of(app).end_sessions('bob') == 1 and store.load('lost') == canister._ENDING


def test_a_flood_of_anonymous_saves_does_not_evict_a_session_saved_with_a_user():
    """The user decides which dict a session is in: anonymous ones are evicted first."""
    store = canister.MemoryStore(max_sessions=10)
    store.save('anonymous', record(None), 600)
    store.save('anonymous', record('alice'), 600)
    for number in range(100):
        store.save('bot-%d' % number, record(None), 600)
    assert store.load('anonymous') is not None and len(store) == 10
