"""On a Redis Cluster with ``session_redis_wait``, a save sends its compare-and-set script and WAIT in one pipeline.
When the connection drops while WAIT blocks (the script has run), redis-py resends each command on its own, the
script too, which then finds its own write there: the save counts as done (the store holds what it was asked to),
confirmed by the replicas as any save is, and a login or a ``regenerate()`` whose marker write met that keeps its
new id, with the data.  A real 6-node Cluster (one replica per master), real HTTP; the replica of the key's master
is frozen so that WAIT blocks, the connection blocked in WAIT is cut (``CLIENT KILL``), then the replica thawed."""
from __future__ import annotations

import threading
import time
from typing import Any, Dict

import canister
from redis_topologies import ClusterSetup
from session_kit import Browser, gated_app, logged_in, plugin_of
from helpers import read_log, readme_section, warning_lines


#: The stores' timeout: their WAIT blocks for half of it (10 s), time for the thread that looks for it (every 10 ms) to
#: find it however long another job's load delays that thread; it is cut as soon as found, so only a WAIT after the
#: cut, the replica left frozen (two tests), blocks the whole of it.  (The apps log no slow response: a request's WAIT
#: may take more than the second.)
TIMEOUT = 20


def _cut_while_waiting(master: Any, replica: Any, cut: threading.Event, thaw: bool = True) -> None:
    """Once ``master`` has a client blocked in WAIT, kill that client's connection (the write before it ran), then
    thaw ``replica`` (unless not ``thaw``: the test does); ``cut`` is set if a connection was cut."""
    admin = master.client(decode_responses=True)
    try:
        deadline = time.monotonic() + 30  # (it stops at the cut, seconds before)
        while time.monotonic() < deadline and not cut.is_set():
            for client in admin.client_list():
                if client.get('cmd') == 'wait':
                    admin.execute_command('CLIENT', 'KILL', 'ID', client['id'])
                    cut.set()
                    break
            else:
                time.sleep(0.01)
    finally:
        if thaw:
            replica.thaw()
        admin.close()


def _cut_at(cluster: ClusterSetup, store: canister.RedisStore, sid: str, thaw: bool = True) -> Dict[str, Any]:
    """Freeze the replica of ``sid``'s master and cut the connection that blocks in WAIT there: the thread doing
    it (``thread``), the event set once it cut one (``cut``) and the replica (thawed then, if ``thaw``)."""
    master = cluster.master_of(store.prefix + sid)
    replica = cluster.replicas_of(master)[0]
    replica.freeze()
    cut = threading.Event()
    thread = threading.Thread(target=_cut_while_waiting, args=(master, replica, cut, thaw))
    thread.start()
    return {'thread': thread, 'cut': cut, 'replica': replica}


def _cut_at_the_marker(cluster: ClusterSetup, store: canister.RedisStore, marker: str = '"moved:',
                       thaw: bool = True) -> Dict[str, Any]:
    """Make ``store`` cut the connection of its next marker write (one starting with ``marker``) once the test sets
    ``armed``: what ``_cut_at`` returns (``thaw`` as there), in the dict returned (with ``armed``)."""
    update, state = store.update, {'armed': threading.Event()}

    def cut_marker_write(sid, expected, record, ttl):
        if state['armed'].is_set() and record.startswith(marker):
            state['armed'].clear()
            state.update(_cut_at(cluster, store, sid, thaw))
        return update(sid, expected, record, ttl)

    store.update = cut_marker_write  # type: ignore[method-assign]
    return state


def _the_move_stands(app: Any, store: canister.RedisStore, browser: Browser, old: str, answer: Any,
                     state: Dict[str, Any], log_dir: Any) -> None:
    """What a user sees once the marker write whose connection was cut ran: the move stands (200, the new cookie,
    the session there with its data, listed once, the old id marked as moved there), and no WARNING."""
    state['thread'].join()
    assert state['cut'].is_set(), 'no connection was blocked in WAIT: the test did not cut the marker write'
    assert answer.status == 200, answer
    new = answer.new_sid
    assert new and new != old and browser.sid == new
    assert browser.read() == ['alice', {'cart': '1'}]
    assert store.load(old) == '"moved:%s"' % new
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert warning_lines(log_dir) == []


def test_an_update_on_a_cluster_with_wait_whose_connection_is_cut_while_wait_blocks_is_done():
    with ClusterSetup(replicas=1) as cluster:
        store = canister.RedisStore(cluster.url, timeout=TIMEOUT, wait=1)
        try:
            sid = 'a' * 43
            assert store.check() is None  # (as an install does: the scripts loaded, so the first update is one try)
            store.create(sid, '[{"n":0},null,0,0,0]', 60, None)
            state = _cut_at(cluster, store, sid)
            outcome = store.update(sid, '[{"n":0},null,0,0,0]', '[{"n":1},null,0,0,0]', 60)
            state['thread'].join()
            assert state['cut'].is_set()
            assert outcome == (True, None)
            assert store.load(sid) == '[{"n":1},null,0,0,0]'
        finally:
            store.close()


def test_an_update_on_a_cluster_with_wait_whose_connection_is_cut_while_the_replica_lags_is_unconfirmed():
    with ClusterSetup(replicas=1) as cluster:
        store = canister.RedisStore(cluster.url, timeout=TIMEOUT, wait=1)
        try:
            sid = 'b' * 43
            assert store.check() is None
            store.create(sid, '[{"n":0},null,0,0,0]', 60, None)
            state = _cut_at(cluster, store, sid, thaw=False)
            try:
                store.update(sid, '[{"n":0},null,0,0,0]', '[{"n":1},null,0,0,0]', 60)
            except canister.StoreUnavailable as error:
                outcome: Any = str(error)
            else:
                outcome = 'no StoreUnavailable'
            finally:
                state['thread'].join()
                state['replica'].thaw()
            assert state['cut'].is_set()
            assert outcome == ('the Redis session store saved the session but only 0 of 1 replica(s) confirmed it '
                               'in time')
            assert store.load(sid) == '[{"n":1},null,0,0,0]'
        finally:
            store.close()


def test_a_login_from_anonymous_whose_marker_write_is_cut_while_wait_blocks_keeps_the_login_and_the_cart(
        make_app, serve, log_dir):
    with ClusterSetup(replicas=1) as cluster:
        store = canister.RedisStore(cluster.url, timeout=TIMEOUT, wait=1)
        state = _cut_at_the_marker(cluster, store)
        app = gated_app(make_app, None, store=store, log_slow=0)
        browser = Browser(serve(app))
        assert browser.get('/set?key=cart&value=1').status == 200
        old = browser.sid
        state['armed'].set()
        answer = browser.get('/login?name=alice')
        _the_move_stands(app, store, browser, old, answer, state, log_dir)


def test_a_regenerate_whose_marker_write_is_cut_while_wait_blocks_moves_the_session(make_app, serve, log_dir):
    with ClusterSetup(replicas=1) as cluster:
        store = canister.RedisStore(cluster.url, timeout=TIMEOUT, wait=1)
        state = _cut_at_the_marker(cluster, store)
        app = gated_app(make_app, None, store=store, log_slow=0)
        laptop = logged_in(serve(app), cart='1')
        old = laptop.sid
        state['armed'].set()
        answer = laptop.get('/regenerate')
        _the_move_stands(app, store, laptop, old, answer, state, log_dir)


def test_a_logout_whose_ended_marker_write_is_cut_while_the_replica_stays_frozen_answers_503_with_retry_after(
        make_app, serve, log_dir):
    with ClusterSetup(replicas=1) as cluster:
        store = canister.RedisStore(cluster.url, timeout=TIMEOUT, wait=1)
        state = _cut_at_the_marker(cluster, store, marker='"ended"', thaw=False)
        app = gated_app(make_app, None, store=store, log_slow=0)
        laptop = logged_in(serve(app), cart='1')
        state['armed'].set()
        try:
            answer = laptop.get('/logout')
        finally:
            if 'thread' in state:
                state['thread'].join()
                state['replica'].thaw()
        assert state['cut'].is_set(), 'no connection was blocked in WAIT: the test did not cut the "ended" write'
        # redis-py sent the write again on its own and found the marker there: no replica confirmed it, and a
        # replica that took over now would hold the session, live
        assert (answer.status, answer.headers.get('Retry-After')) == (503, '1'), answer
        assert 'only 0 of 1 replica(s) confirmed it in time' in read_log(log_dir)
        assert laptop.get('/logout').status == 200  # the replica back: the logout is confirmed
        assert laptop.read()[0] is None


def test_the_readme_says_a_logout_whose_ended_marker_was_resent_is_confirmed_by_the_replicas():
    sessions = readme_section('## Sessions')
    assert 'A logout whose "ended" marker met that finds the marker there' in sessions
    assert 'while none has it, the logout answers 503 with `Retry-After: 1`' in sessions
