"""A move of a session within one person (``session.regenerate()``) notes its new id in the old id's record
until the old id is marked moved: the cap per user, ``sessions_of`` and ``end_sessions`` count the two ids
as one session meanwhile.  What else runs at that moment must neither drop the note nor be fooled by it: a
request saving into the old id, ``end_other_sessions`` of the same session, a move whose new id could not be
stored.  On each store canister ships, with real HTTP; the store holds the move between its two steps (its
``update`` of the old id to the marker waits) while the other requests run.  A move whose store ran the
write of the new id but lost its answer is staged on a real Redis with a replica (a connection cut while its
WAIT blocks), and so is a new anonymous session's.
"""
from __future__ import annotations

import threading
import time
from typing import Any, List, Tuple

import pytest

import canister
from canister import session
from helpers import read_log, warning_lines
from session_kit import (Browser, answer_cut_off, expires_cookie, gated_app, held_between_the_moves_steps, hold_request,
                         logged_in, plugin_of, start_held, wait_at_gate)


def _app_on(make_app: Any, serve: Any, store: Any, cap: int = 0) -> Tuple[Any, str]:
    """A gated app on ``store`` (under ``session_max_per_user = cap``, if given), with ``/end-others-then-hold``
    (``end_other_sessions()``, then held on the gate ``name`` before its answer is stored); and its origin."""
    app = gated_app(make_app, None, store=store, config={'session_max_per_user': cap} if cap else None)

    @app.get('/end-others-then-hold')
    def end_others_then_hold(name):
        ended = session.end_other_sessions()
        held = app.gates(name)
        held.loaded.set()
        assert held.release.wait(30), 'the test never released gate %s' % name
        return str(ended)

    @app.get('/hold-then-set')
    def hold_then_set(name, key, value):
        wait_at_gate(app, name)
        session.data[key] = value
        return 'set'

    return app, serve(app)


def _alice_on_two_devices(make_app: Any, serve: Any, store: Any) -> Tuple[Any, str, Any, Any]:
    """``_app_on(store)``, and alice logged in on it twice: on a tablet, then on a laptop with cart=1: (app, origin,
    tablet, laptop)."""
    app, origin = _app_on(make_app, serve, store)
    return app, origin, logged_in(origin), logged_in(origin, cart='1')


def _assert_no_session_left(app: Any, origin: str, tablet: Any, *sids: str) -> None:
    """None of ``sids`` names a session (a read finds no user, no data), the tablet's session ended, and alice
    has no session left."""
    for sid in sids:
        assert Browser(origin, sid).read() == [None, {}], sid
    assert tablet.read()[0] is None
    assert plugin_of(app).sessions_of('alice') == []


def _noted_writes(store: Any) -> List[str]:
    """Count the writes of a record noting a move (``update``, tried, of the old id): the list of the ids
    written, which grows as they come."""
    update, written = store.update, []

    def counted_update(sid, expected, record, ttl):
        if '"moving:' in record:
            written.append(sid)
        return update(sid, expected, record, ttl)

    store.update = counted_update
    return written


def _held_before_the_moves_note(store: Any) -> Tuple[threading.Event, threading.Event]:
    """Make ``store`` hold a move just before it writes its note into the old id's record (its first ``update``
    of a record noting a move): the events ``noting`` (set when the move gets there) and ``go_on``."""
    update, noting, go_on = store.update, threading.Event(), threading.Event()

    def held_update(sid, expected, record, ttl):
        if '"moving:' in record and not noting.is_set():
            noting.set()
            assert go_on.wait(30), 'the test never let the move note its new id'
        return update(sid, expected, record, ttl)

    store.update = held_update
    return noting, go_on


#: When the held request saves into the old id: while the move is held between its two steps, or just before
#: the move writes its note there (the move then held between its two steps all the same).
WHILE_IT_MOVES, JUST_BEFORE_THE_NOTE = 'while the session moves', 'just before the move notes its new id'
WHEN = pytest.mark.parametrize('when', [WHILE_IT_MOVES, JUST_BEFORE_THE_NOTE],
                               ids=['while-the-session-moves', 'just-before-the-move-notes-its-new-id'])


def _a_save_into_the_old_id(make_app, serve, clock, store_url, when, cap=0):
    """alice on the tablet, then the laptop (cart=1); a request of the laptop loads its session and is held; the
    laptop regenerates; the held request saves cart=2 into the old id ``when`` (``WHILE_IT_MOVES`` or
    ``JUST_BEFORE_THE_NOTE``); the move is then held between its two steps.  The app (``app.noted_writes``: the
    ids written with a note of the move), its origin, the tablet, the laptop and ``finish()`` (the move goes on,
    its answer)."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)
    noting, go_on = (_held_before_the_moves_note(store) if when == JUST_BEFORE_THE_NOTE
                     else (arrived, threading.Event()))
    noted = _noted_writes(store)
    app, origin = _app_on(make_app, serve, store, cap)
    app.noted_writes = noted
    tablet = logged_in(origin)
    clock.advance(1)
    laptop = logged_in(origin, cart='1')
    clock.advance(5)
    time.sleep(0.005)  # (Redis times a key's life by its own clock, which the test's clock does not move)
    saving = hold_request(app, origin, laptop.sid, '/hold-then-set?name=c&key=cart&value=2')
    finish = start_held(laptop, noting, release)
    clock.advance(0.01)
    assert saving().status == 200
    go_on.set()
    assert arrived.wait(30), 'the move never reached its second step'
    return app, origin, tablet, laptop, finish


@WHEN
def test_a_save_into_the_old_id_of_a_moving_session_leaves_it_listed_once(make_app, serve, clock, store_url, when):
    app, _, tablet, laptop, finish = _a_save_into_the_old_id(make_app, serve, clock, store_url, when)

    during = plugin_of(app).sessions_of('alice')
    moved = finish()

    assert moved.status == 200 and moved.new_sid, moved
    assert len(during) == 2
    assert laptop.read() == ['alice', {'cart': '2'}] and tablet.read()[0] == 'alice'
    assert len(plugin_of(app).sessions_of('alice')) == 2


@WHEN
def test_a_login_after_a_save_into_the_old_id_of_a_moving_session_ends_no_device_within_the_cap(
        make_app, serve, clock, store_url, when):
    app, origin, tablet, laptop, finish = _a_save_into_the_old_id(make_app, serve, clock, store_url, when, cap=3)
    phone = Browser(origin)

    assert phone.get('/login?name=alice').status == 200
    assert finish().new_sid

    assert [browser.read()[0] for browser in (tablet, laptop, phone)] == ['alice'] * 3
    assert laptop.read()[1] == {'cart': '2'}
    assert len(plugin_of(app).sessions_of('alice')) == 3


def test_end_sessions_after_a_save_into_the_old_id_of_a_moving_session_counts_it_once(
        make_app, serve, clock, store_url):
    app, _, tablet, laptop, finish = _a_save_into_the_old_id(
        make_app, serve, clock, store_url, WHILE_IT_MOVES)

    assert plugin_of(app).end_sessions('alice') == 2
    moved = finish()

    assert moved.new_sid == '' and laptop.read()[0] is None and tablet.read()[0] is None, moved
    assert plugin_of(app).sessions_of('alice') == []


def test_a_moves_note_costs_one_write_of_the_old_id(make_app, serve, store_url):
    store = canister.open_store(store_url)
    written = _noted_writes(store)
    _, origin = _app_on(make_app, serve, store)
    laptop = logged_in(origin, cart='1')
    old_sid = laptop.sid

    assert laptop.get('/regenerate').status == 200

    assert laptop.sid != old_sid and written == [old_sid]


def test_a_moves_note_costs_two_writes_of_the_old_id_when_a_save_came_just_before_it(
        make_app, serve, clock, store_url):
    app, _, _, laptop, finish = _a_save_into_the_old_id(
        make_app, serve, clock, store_url, JUST_BEFORE_THE_NOTE)
    old_sid = laptop.sid

    assert finish().new_sid
    assert app.noted_writes == [old_sid, old_sid]


def test_end_other_sessions_while_a_copy_of_the_cookie_moves_the_session_ends_the_copys_new_id_too(
        make_app, serve, store_url):
    """A thief holding a copy of the laptop's cookie regenerates; its move is held between its two steps (the
    new id stored, the old one noting it, not yet marked) while the owner, on the laptop, ends the other
    sessions.  The server cannot tell the copy from the browser: the copy's new id is ended with the tablet's
    session, and the old id then names no session either (the owner is logged out too: the safe failure)."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    old = laptop.sid
    thief = Browser(origin, old)
    finish = start_held(thief, arrived, release)
    ending = hold_request(app, origin, old, '/end-others-then-hold?name=e')

    moved = finish()
    ended = ending()

    assert moved.status == 200 and moved.new_sid not in (None, '', old), moved
    assert ended.status == 200 and ended.text == '2', ended
    assert ended.set_cookies == [], ended
    _assert_no_session_left(app, origin, tablet, moved.new_sid, old)


def test_a_regenerate_by_a_copy_of_the_cookie_done_while_the_end_other_sessions_request_still_runs_keeps_no_session(
        make_app, serve, store_url):
    """The owner's request has called ``end_other_sessions()`` (the tablet's session ended) and still runs (a page
    rendered, say) when a thief holding a copy of its cookie regenerates, the whole move done.  When the owner's
    request stores its answer it finds the session moved: the thief's new id is ended there, the answer stores
    nothing and expires the cookie (the safe failure).  Was: the thief kept the session, the owner logged out."""
    store = canister.open_store(store_url)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    old = laptop.sid
    ending = hold_request(app, origin, old, '/end-others-then-hold?name=e')
    moved = Browser(origin, old).get('/regenerate')
    ended = ending()

    assert moved.status == 200 and moved.new_sid not in (None, '', old), moved
    assert ended.status == 200 and ended.text == '1', ended
    assert len(ended.set_cookies) == 1 and expires_cookie(ended.set_cookies[0]), ended
    _assert_no_session_left(app, origin, tablet, moved.new_sid, old)


def test_two_end_other_sessions_at_once_that_overlap_within_the_first_ones_move_log_the_browser_out(
        make_app, serve, store_url):
    """The first (from the browser, or from a copy of its cookie: the server cannot tell) is held between its
    move's two steps when the second runs: the second ends the first's new id, then finds its own session
    moved and stores nothing.  Neither id names a session; the tablet's session ended; no 500."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    old = laptop.sid
    app.gates('a').release.set()  # (the first is held by the store alone, in its move)
    finish = start_held(laptop, arrived, release, '/end-others-then-hold?name=a')
    second = hold_request(app, origin, old, '/end-others-then-hold?name=b')

    first = finish()
    ending = second()

    assert first.status == 200 and first.text == '1' and first.new_sid not in (None, '', old), first
    assert ending.status == 200
    assert laptop.read() == [None, {}]
    assert ending.text == '1' and ending.set_cookies == [], ending
    _assert_no_session_left(app, origin, tablet, old)


def _fails_once_armed(store: Any) -> threading.Event:
    """Make ``store``'s ``create`` fail once (the store cut off) after the returned event is set."""
    create, armed = store.create, threading.Event()

    def create_or_fail(*arguments):
        if armed.is_set():
            armed.clear()
            raise canister.StoreUnavailable('the test cut the store off')
        return create(*arguments)

    store.create = create_or_fail
    return armed


def _a_move_that_failed(make_app, serve, store_url):
    """alice on the tablet and the laptop (cart=1), whose regenerate failed storing its new id (503).  The app,
    its origin, the store, the tablet, the laptop, and the laptop's record before the regenerate."""
    store = canister.open_store(store_url)
    armed = _fails_once_armed(store)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    before, old = store.load(laptop.sid), laptop.sid
    armed.set()
    failed = laptop.get('/regenerate')
    assert failed.status == 503 and failed.new_sid is None and laptop.sid == old, failed
    return app, origin, store, tablet, laptop, before


def test_a_move_whose_new_id_could_not_be_stored_leaves_the_old_record_as_it_was(make_app, serve, store_url):
    _, _, store, _, laptop, before = _a_move_that_failed(make_app, serve, store_url)

    assert store.load(laptop.sid) == before
    assert laptop.read() == ['alice', {'cart': '1'}]


def test_after_a_move_that_failed_the_session_saves_moves_and_counts_once(make_app, serve, store_url):
    app, _, _, tablet, laptop, _ = _a_move_that_failed(make_app, serve, store_url)
    plugin = plugin_of(app)

    assert len(plugin.sessions_of('alice')) == 2
    assert laptop.get('/set?key=cart&value=2').status == 200
    assert len(plugin.sessions_of('alice')) == 2
    old = laptop.sid
    assert laptop.get('/regenerate').status == 200 and laptop.sid != old

    assert laptop.read() == ['alice', {'cart': '2'}] and tablet.read()[0] == 'alice'
    assert len(plugin.sessions_of('alice')) == 2
    assert plugin.end_sessions('alice') == 2


def _fails_then_holds_its_read(store: Any) -> Tuple[threading.Event, threading.Event, threading.Event]:
    """Make ``store``'s ``create`` fail once (the store cut off) after the first event returned is set, and the
    request it failed in wait after its next ``load`` (the move's read of the old id, to take its note out),
    before it writes: the events ``armed``, ``arrived`` (it read) and ``release`` (the test lets it go on)."""
    create, load = store.create, store.load
    armed, arrived, release, failed_in = threading.Event(), threading.Event(), threading.Event(), []

    def create_or_fail(*arguments):
        if armed.is_set():
            armed.clear()
            failed_in.append(threading.get_ident())
            raise canister.StoreUnavailable('the test cut the store off')
        return create(*arguments)

    def load_then_hold(sid):
        record = load(sid)
        if threading.get_ident() in failed_in and not arrived.is_set():
            arrived.set()
            assert release.wait(30), 'the test never released the move'
        return record

    store.create, store.load = create_or_fail, load_then_hold
    return armed, arrived, release


def test_a_save_between_the_read_and_the_write_that_take_a_failed_moves_note_out_leaves_no_note(
        make_app, serve, store_url):
    """The laptop's regenerate fails storing its new id (503); as it reads the old id's record to take the
    note of its move out, a request of the laptop saves cart=2 there (keeping the note).  The note is taken
    out all the same: the record the laptop's cookie names is the one a save without any move leaves."""
    store = canister.open_store(store_url)
    armed, arrived, release = _fails_then_holds_its_read(store)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    old = laptop.sid
    armed.set()
    answers = {}
    moving = threading.Thread(target=lambda: answers.setdefault('moved', laptop.get('/regenerate')), daemon=True)
    moving.start()
    assert arrived.wait(30), 'the failed move never read the old id'

    assert Browser(origin, old, follow=False).get('/set?key=cart&value=2').status == 200
    release.set()
    moving.join(30)

    assert answers['moved'].status == 503 and laptop.sid == old, answers
    assert 'moving:' not in store.load(old), store.load(old)
    assert laptop.read() == ['alice', {'cart': '2'}] and tablet.read()[0] == 'alice'
    assert len(plugin_of(app).sessions_of('alice')) == 2


@pytest.fixture
def new_ids_answer_lost(make_app, serve, master_and_replica) -> Tuple[Any, Any, str, threading.Event, List[str]]:
    """A gated app (``_app_on``) on a RedisStore (``wait=1``) on ``master_and_replica`` that, once the event
    returned is set, loses the answer to its next write of a new id after Redis ran it
    (``session_kit.answer_cut_off``): the store, the app, its origin, that event and the list of what was cut."""
    master, replica = master_and_replica
    store = canister.RedisStore(master.url, wait=1, timeout=10)  # (its WAIT blocks up to 5 s)
    armed, cut = answer_cut_off(store, 'create', master, replica)
    app, origin = _app_on(make_app, serve, store)
    return store, app, origin, armed, cut


def test_a_move_whose_store_wrote_the_new_id_but_lost_the_answer_leaves_no_extra_session(
        log_dir, new_ids_answer_lost):
    """Redis ran the commands storing the laptop's new id, then its connection was cut before the answer came:
    the regenerate answers 503, the laptop keeps its old cookie and cart, and the new id, which no cookie
    holds, is removed: alice has two sessions, not three."""
    store, app, origin, armed, cut = new_ids_answer_lost
    tablet = logged_in(origin)
    laptop = logged_in(origin, cart='1')
    old = laptop.sid
    armed.set()

    failed = laptop.get('/regenerate')

    assert failed.status == 503 and failed.new_sid is None and laptop.sid == old, failed
    assert cut[1:] == ['killed'] and store.load(cut[0]) is None, cut
    assert laptop.read() == ['alice', {'cart': '1'}] and tablet.read()[0] == 'alice'
    assert [entry['current'] for entry in plugin_of(app).sessions_of('alice')] == [False, False]
    assert plugin_of(app).end_sessions('alice') == 2
    assert not [line for line in warning_lines(log_dir) if 'could not be removed' in line]


def test_a_login_without_a_session_whose_store_wrote_it_but_lost_the_answer_leaves_no_extra_session(
        log_dir, new_ids_answer_lost):
    """A phone with no cookie logs alice in; Redis ran the commands storing its new session (listed under
    alice), then its connection was cut before the answer came: the login answers 503 without a cookie, and
    that session, which no cookie holds, is removed: alice has the tablet's session only."""
    store, app, origin, armed, cut = new_ids_answer_lost
    tablet = logged_in(origin)
    phone = Browser(origin)
    armed.set()

    failed = phone.get('/login?name=alice')

    assert failed.status == 503 and failed.set_cookies == [] and phone.sid is None, failed
    assert cut[1:] == ['killed'] and store.load(cut[0]) is None, cut
    assert tablet.read()[0] == 'alice' and phone.read() == [None, {}]
    assert [entry['current'] for entry in plugin_of(app).sessions_of('alice')] == [False]
    assert plugin_of(app).end_sessions('alice') == 1
    assert not [line for line in warning_lines(log_dir) if 'could not be removed' in line]


def test_a_new_anonymous_session_whose_store_wrote_it_but_lost_the_answer_is_removed(
        log_dir, new_ids_answer_lost):
    """A browser with no cookie puts a cart in a new anonymous session; Redis ran the command storing it, then
    its connection was cut before the answer came: the request answers 503 without a cookie, and that session,
    which no cookie holds, is removed rather than left taking room in the store until it expires."""
    store, _, origin, armed, cut = new_ids_answer_lost
    browser = Browser(origin)
    armed.set()

    failed = browser.get('/set?key=cart&value=3')

    assert failed.status == 503 and failed.set_cookies == [] and browser.sid is None, failed
    assert cut[1:] == ['killed'] and store.load(cut[0]) is None, cut
    assert browser.get('/set?key=cart&value=3').status == 200 and browser.read() == [None, {'cart': '3'}]
    assert not [line for line in warning_lines(log_dir) if 'could not be removed' in line]


def test_a_move_that_kept_losing_to_other_requests_reports_that_when_the_store_goes_down_as_its_new_id_goes(
        make_app, serve, log_dir, redis_server):
    """The laptop's regenerate loses every try to mark its old id moved (each finds the session changed by
    another request), and Redis stops as the new id is removed: the 503 is logged as the move's own failure,
    the session kept changing, not as the removal's, and a WARNING says the new id could not be removed."""
    store = canister.RedisStore(redis_server.url, timeout=30)
    update, delete, refused = store.update, store.delete, []

    def update_or_lose(sid, expected, record, ttl):
        if record.startswith('"moved:'):  # (the old id marked moved: another request always changed it first)
            refused.append(record[len('"moved:'):-1])
            return False, store.load(sid)
        return update(sid, expected, record, ttl)

    def delete_once_down(sid):
        if sid in refused:
            redis_server.stop()
        return delete(sid)

    store.update, store.delete = update_or_lose, delete_once_down
    app, origin = _app_on(make_app, serve, store)
    laptop = logged_in(origin, cart='1')
    old = laptop.sid

    failed = laptop.get('/regenerate')

    assert failed.status == 503 and failed.new_sid is None and laptop.sid == old, failed
    assert len(refused) == 10 and len(set(refused)) == 1, refused
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]
    assert [line for line in errors if 'kept changing under concurrent requests' in line], errors
    assert [line for line in warning_lines(log_dir) if refused[0][:6] + '... could not be removed' in line]


@pytest.mark.parametrize('path', ['/remember?seconds=600', '/login?name=alice'], ids=['remember', 'same-user-again'])
def test_remember_or_the_same_user_set_again_on_the_old_id_while_the_session_moves_leaves_it_listed_once(
        make_app, serve, store_url, path):
    """alice on the tablet and the laptop, whose regenerate is held between the move's two steps while another
    request of the laptop's old cookie runs ``path`` (answered 200): ``remember()``, or the same user set again."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)
    app, origin, tablet, laptop = _alice_on_two_devices(make_app, serve, store)
    old = laptop.sid
    finish = start_held(laptop, arrived, release)
    assert Browser(origin, old, follow=False).get(path).status == 200

    during = plugin_of(app).sessions_of('alice')
    assert finish().new_sid

    assert len(during) == 2 and len(plugin_of(app).sessions_of('alice')) == 2
    assert laptop.read() == ['alice', {'cart': '1'}] and tablet.read()[0] == 'alice'


def test_a_regenerate_on_the_old_id_that_overtakes_a_held_move_stores_no_note_of_that_move_under_its_new_id(
        make_app, serve, store_url):
    """The laptop's regenerate is held between the move's two steps (the old id's record notes its new id); a
    request of the old cookie regenerates too, waits a second for that move (which stays held), then moves the
    session all the same, and is first to mark the old id: the record under its new id is
    the session's, with no note of the other move, whose new id is gone (a version before would read such a
    record as corrupt, and each save kept the note)."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)
    app, origin = _app_on(make_app, serve, store)
    laptop = logged_in(origin, cart='1')
    old = laptop.sid
    finish = start_held(laptop, arrived, release)
    overtaking = Browser(origin, old, follow=False)
    answer = overtaking.get('/regenerate')
    assert answer.status == 200 and answer.new_sid not in (None, '', old), answer

    assert finish().status == 200

    record = store.load(answer.new_sid)
    record = record.decode() if isinstance(record, bytes) else record
    assert '"moving:' not in record, record
    assert Browser(origin, answer.new_sid).read() == ['alice', {'cart': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
