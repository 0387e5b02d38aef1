"""Two moves of one session at once: two requests with the same cookie each call ``session.regenerate()`` (a
browser's two tabs, or a thief's copy of the cookie racing the owner), or each log its user in again.  The
first move notes its new id in the old id's record; the second waits for it to finish rather than store a new
id of its own, so the session counts once throughout (``sessions_of``, the cap per user), and ``end_sessions``
meanwhile leaves no session to either cookie.  On each store canister ships, with real HTTP; the store holds
the first move between its two steps (its write of the marker waits) while the second one runs.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from typing import Any, Callable, List, Tuple

import canister
from canister import session
from helpers import in_background, warning_lines, write_users
from servers import wait_until
from session_kit import Answer, Browser, gated_app, hold_request, logged_in, plugin_of, wait_at_gate


def _second_move_held_or_waiting(store: Any) -> Tuple[threading.Event, threading.Event, threading.Event]:
    """Hold every move of ``store`` just before it marks the old id, until ``release``; the events ``first``
    (the first move got there), ``second_ready`` (a second move got there too, or reads the old id again, after
    the read that loaded its session, while the first is held: it waits for it) and ``release``."""
    update, reads = store.update, []
    first, second_ready, release = threading.Event(), threading.Event(), threading.Event()
    marking: List[str] = []

    def held_update(sid: str, expected: Any, record: str, ttl: float) -> Any:
        if record.startswith('"moved:'):
            marking.append(sid)
            (second_ready if first.is_set() else first).set()
            assert release.wait(30), 'the test never released the moves'
        return update(sid, expected, record, ttl)

    def watched(read: Callable[..., Any]) -> Callable[..., Any]:
        def watched_read(sid: str, *args: Any, **kwargs: Any) -> Any:
            if first.is_set() and not release.is_set() and sid in marking:
                reads.append(sid)
                if len(reads) > 1:
                    second_ready.set()
            return read(sid, *args, **kwargs)
        return watched_read

    store.update, store.load = held_update, watched(store.load)
    if hasattr(store, 'load_and_touch'):
        store.load_and_touch = watched(store.load_and_touch)
    return first, second_ready, release


def _waiting_as_long_as_the_test_holds(monkeypatch: Any) -> None:
    """A second move waits for the held first one until the test lets it go, not a second at most: the test's
    steps while it waits (an HTTP login elsewhere, ``end_sessions``) may take longer than that when another
    job loads the machine, and the second move would then take over (the tests of the stalled move cover that)."""
    monkeypatch.setattr(canister, '_MOVE_WAIT', 30.0)


def _two_moves_at_once(make_app: Any, serve: Any, store_url: str, monkeypatch: Any,
                       cap: int = 0) -> Tuple[Any, str, Browser, Browser, Browser, Callable[[], Tuple[Answer, Answer]]]:
    """alice on the tablet, then the laptop; the laptop regenerates, held between its move's two steps; a copy of
    the laptop's cookie regenerates too, and waits for it.  The app, its origin, the tablet, the laptop, the copy,
    and ``finish()`` (both moves go on; their answers, the laptop's first)."""
    _waiting_as_long_as_the_test_holds(monkeypatch)
    store = canister.open_store(store_url)
    first, second_ready, release = _second_move_held_or_waiting(store)
    app = gated_app(make_app, None, store=store, config={'session_max_per_user': cap} if cap else None)
    origin = serve(app)
    tablet = logged_in(origin)
    laptop = logged_in(origin, cart='1')
    copy = Browser(origin, laptop.sid)
    laptop_moved = in_background(lambda: laptop.get('/regenerate'))
    assert first.wait(30), 'the first move never reached its second step'
    copy_moved = in_background(lambda: copy.get('/regenerate'))
    wait_until(second_ready.is_set, 30, 0.005, 'the second move to reach its second step or wait')

    def finish() -> Tuple[Answer, Answer]:
        release.set()
        return laptop_moved(30), copy_moved(30)

    return app, origin, tablet, laptop, copy, finish


def test_two_regenerates_of_one_session_at_once_leave_it_listed_once_meanwhile(make_app, serve, store_url, monkeypatch):
    app, _, tablet, laptop, copy, finish = _two_moves_at_once(make_app, serve, store_url, monkeypatch)

    during = plugin_of(app).sessions_of('alice')
    answers = finish()

    assert len(during) == 2, during
    assert [answer.status for answer in answers] == [200, 200], answers
    assert answers[0].new_sid and answers[1].new_sid is None, answers
    assert laptop.read() == ['alice', {'cart': '1'}] and tablet.read()[0] == 'alice'
    assert len(plugin_of(app).sessions_of('alice')) == 2


def test_a_login_elsewhere_during_two_regenerates_of_one_session_ends_no_device_within_the_cap(
        make_app, serve, store_url, monkeypatch):
    app, origin, tablet, laptop, copy, finish = _two_moves_at_once(make_app, serve, store_url, monkeypatch, cap=3)
    phone = Browser(origin)

    assert phone.get('/login?name=alice').status == 200
    finish()

    assert [browser.read()[0] for browser in (tablet, laptop, phone)] == ['alice'] * 3
    assert len(plugin_of(app).sessions_of('alice')) == 3


def test_end_sessions_during_two_regenerates_of_one_session_ends_it_under_every_id_and_counts_it_once(
        make_app, serve, store_url, monkeypatch):
    app, _, tablet, laptop, copy, finish = _two_moves_at_once(make_app, serve, store_url, monkeypatch)

    ended = plugin_of(app).end_sessions('alice')
    answers = finish()

    assert [browser.read()[0] for browser in (tablet, laptop, copy)] == [None] * 3
    assert plugin_of(app).sessions_of('alice') == []
    assert [answer.new_sid for answer in answers] == ['', ''], answers
    assert ended == 2


def test_a_regenerate_that_loaded_the_session_before_another_one_noted_its_move_waits_for_it_too(
        make_app, serve, store_url, monkeypatch):
    """The copy's request loads the session and is held; the laptop's regenerate notes its move and is held
    between its two steps; the copy's request then regenerates: its note finds the laptop's, and it waits."""
    _waiting_as_long_as_the_test_holds(monkeypatch)
    store = canister.open_store(store_url)
    first, second_ready, release = _second_move_held_or_waiting(store)
    app = gated_app(make_app, None, store=store)

    @app.get('/hold-then-regenerate')
    def hold_then_regenerate(name):
        wait_at_gate(app, name)
        session.regenerate()
        return 'ok'

    origin = serve(app)
    tablet = logged_in(origin)
    laptop = logged_in(origin, cart='1')
    copy_moves = hold_request(app, origin, laptop.sid, '/hold-then-regenerate?name=copy')
    laptop_moved = in_background(lambda: laptop.get('/regenerate'))
    assert first.wait(30), 'the first move never reached its second step'
    copy_moved = in_background(copy_moves)
    wait_until(second_ready.is_set, 30, 0.005, 'the second move to reach its second step or wait')

    during = plugin_of(app).sessions_of('alice')
    release.set()

    assert len(during) == 2, during
    assert laptop_moved(30).status == 200 and copy_moved(30).status == 200
    assert laptop.read() == ['alice', {'cart': '1'}] and tablet.read()[0] == 'alice'
    assert len(plugin_of(app).sessions_of('alice')) == 2


def test_a_regenerate_waits_at_most_a_second_for_a_move_of_its_session_that_stalls_then_moves_it_logged(
        log_dir, make_app, serve, store_url):
    """The laptop's move stalls between its two steps (its worker died there, say): a regenerate of a copy of
    its cookie moves the session all the same after a second, with a WARNING, and the stalled move, let go on
    then, stores nothing.  The laptop's move is let go once the copy's has noted itself over it and is held
    before its own marker too (its WARNING comes before its note: let go at the WARNING, the laptop's move could
    mark the old id first, and then the copy's, the later one, would be the move that stores nothing)."""
    store = canister.open_store(store_url)
    first, second_ready, release = _second_move_held_or_waiting(store)
    markers: List[str] = []
    held_update = store.update

    def counted_update(sid: str, expected: Any, record: str, ttl: float) -> Any:
        if record.startswith('"moved:'):
            markers.append(record)
        return held_update(sid, expected, record, ttl)

    store.update = counted_update
    polls: List[float] = []  # (when the waiting move read the old id again: canister's own wait, on its clock)
    held_load = store.load

    def timed_load(sid: str) -> Any:
        if sys._getframe(1).f_code.co_name == '_other_move_done':
            polls.append(time.monotonic())
        return held_load(sid)

    store.load = timed_load
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    laptop = logged_in(origin, cart='1')
    copy = Browser(origin, laptop.sid)
    laptop_moved = in_background(lambda: laptop.get('/regenerate'))
    assert first.wait(30), 'the first move never reached its second step'
    started = time.monotonic()
    copy_moved = in_background(lambda: copy.get('/regenerate'))
    wait_until(lambda: len(warning_lines(log_dir)) > 0, 30, 0.01, 'the WARNING of the stalled move')
    waited = time.monotonic() - started
    wait_until(lambda: len(markers) == 2, 30, 0.005, "the copy's move to note itself and reach its marker")
    release.set()

    assert copy_moved(30).status == 200 and laptop_moved(30).status == 200
    # at least the second (load only makes it longer), and no read past the end of that second: the last read
    # comes after the last look at the clock that found the second not over, so at most one pause (the gap to the
    # read before it, however long load made that) past it, measured from the first read, which is after its start
    assert 0.9 < waited, waited
    assert len(polls) >= 2, polls
    assert polls[-1] - polls[0] < 1.0 + (polls[-1] - polls[-2]), (polls[-1] - polls[0], polls[-2:])  # (README: a second)
    assert [line for line in warning_lines(log_dir) if 'was still being moved to' in line], warning_lines(log_dir)
    assert copy.read() == ['alice', {'cart': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_a_stalled_move_let_go_after_another_move_took_over_stores_nothing_and_the_other_moves_the_session(
        log_dir, make_app, serve, store_url):
    """The laptop's move stalls past the second a move waits; the copy's then notes its own move over it and is
    held before marking the old id; the laptop's move goes on first: it stores nothing (the README: "the first,
    should it go on, stores nothing"), and the copy's moves the session.  (The laptop's move merged the copy's
    note as a save and marked the old id its own way: the copy's move was the one lost.)"""
    store = canister.open_store(store_url)
    update, marks = store.update, []
    arrived, let_go = (threading.Event(), threading.Event()), (threading.Event(), threading.Event())

    def held_update(sid: str, expected: Any, record: str, ttl: float) -> Any:
        if record.startswith('"moved:') and len(marks) < 2:  # the first try of each move to mark the old id
            turn = len(marks)
            marks.append(record)
            arrived[turn].set()
            assert let_go[turn].wait(30), 'the test never let the move go on'
        return update(sid, expected, record, ttl)

    store.update = held_update
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    laptop = logged_in(origin, cart='1')
    old = laptop.sid
    copy = Browser(origin, old)
    laptop_moved = in_background(lambda: laptop.get('/regenerate'))
    assert arrived[0].wait(30), 'the laptop\'s move never reached its second step'
    copy_moved = in_background(lambda: copy.get('/regenerate'))
    assert arrived[1].wait(30), 'the copy\'s move never reached its second step'  # (after waiting its second)
    let_go[0].set()
    laptop_answer = laptop_moved(30)
    let_go[1].set()
    copy_answer = copy_moved(30)

    assert (laptop_answer.status, copy_answer.status) == (200, 200)
    assert laptop_answer.new_sid is None and laptop.sid == old  # stored nothing, set no cookie
    assert copy_answer.new_sid and copy.sid != old
    assert copy.read() == ['alice', {'cart': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert [line for line in warning_lines(log_dir) if 'was still being moved to' in line], warning_lines(log_dir)


def test_two_tabs_logging_the_same_user_in_again_at_once_leave_one_session_and_the_first_tabs_cookie(
        make_app, serve, store_url, tmp_path, monkeypatch):
    """Two tabs of one browser (one cookie) on alice's session, made without a password line, both log alice in
    with her password at once (``canister.log_in``): each login moves the session to a new id.  The first is
    held between its steps while the second comes and waits for it; then both go on."""
    _waiting_as_long_as_the_test_holds(monkeypatch)
    store = canister.open_store(store_url)
    first, second_ready, release = _second_move_held_or_waiting(store)
    app = gated_app(make_app, None, store=store,
                    auth_basic_users_file=str(write_users(tmp_path / 'users.txt', alice='secret')))

    @app.get('/password-login')
    def password_login():
        return {'in': canister.log_in('alice', 'secret')}

    origin = serve(app)
    tablet = logged_in(origin)
    first_tab = logged_in(origin, cart='1')
    old = first_tab.sid
    second_tab = Browser(origin, old, follow=False)
    first_moved = in_background(lambda: first_tab.get('/password-login'))
    assert first.wait(30), 'the first login never reached its second step'
    second_moved = in_background(lambda: second_tab.get('/password-login'))
    wait_until(second_ready.is_set, 30, 0.005, 'the second login to reach its second step or wait')
    assert len(plugin_of(app).sessions_of('alice')) == 2  # (the tablet's, and the moving one once)
    release.set()
    first_answer, second_answer = first_moved(30), second_moved(30)

    assert first_answer.status == 200 and first_answer.json() == {'in': True}, first_answer
    assert second_answer.status == 200 and second_answer.json() == {'in': True}, second_answer
    # (the first sets the browser's cookie to the new id; the second, which found the session moved, leaves it)
    assert first_answer.new_sid not in (None, '', old) and second_answer.set_cookies == [], \
        (first_answer, second_answer)
    assert Browser(origin, first_answer.new_sid).read() == ['alice', {'cart': '1'}]
    assert tablet.read()[0] == 'alice'
    assert len(plugin_of(app).sessions_of('alice')) == 2


def _reads_of_a_move_waiting_for_another(make_app: Any, serve: Any, log_dir: Any) -> List[float]:
    """The laptop's move held between its two steps past the second a copy's move waits for it: the times
    between the copy's reads of the old id while it waited, and the WARNING of the wait is logged."""
    store = canister.open_store('memory')
    first, _, release = _second_move_held_or_waiting(store)
    reads: List[float] = []
    load = store.load
    watched: List[str] = []     # (the laptop's id, once it has one)

    def timed_load(sid, *args, **kwargs):
        if sid in watched and first.is_set() and not release.is_set():
            reads.append(time.monotonic())
        return load(sid, *args, **kwargs)

    store.load = timed_load     # (before the install, which takes the store's methods once)
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    laptop = logged_in(origin, cart='1')
    watched.append(laptop.sid)
    copy = Browser(origin, laptop.sid)
    warned = len(warning_lines(log_dir))
    laptop_moved = in_background(lambda: laptop.get('/regenerate'))
    assert first.wait(30), 'the first move never reached its second step'
    copy_moved = in_background(lambda: copy.get('/regenerate'))
    try:
        wait_until(lambda: len(warning_lines(log_dir)) > warned, 30, 0.01, 'the WARNING of the stalled move')
    finally:
        release.set()                                 # (the copy's move waits there too, once it goes on)
    assert copy_moved(30).status == 200 and laptop_moved(30).status == 200
    assert [line for line in warning_lines(log_dir)[warned:] if 'was still being moved to' in line]
    return [later - earlier for earlier, later in zip(reads, reads[1:])]  # (the wait's reads: 2 ms after its start)


def test_a_move_waiting_for_another_reads_the_old_id_after_2_ms_at_first_then_at_most_every_50_ms(
        make_app, serve, log_dir):
    """The second of two moves of one session waits for the first,
    reading the old id again, after 2 ms at first, then at most every 50 ms, for a second at most (the first is
    held between its two steps for longer here).  A round is measured again only when another job's load
    stretched its sleeps (fewer reads, longer gaps): load never makes reads more frequent, so the bounds against
    a busy loop hold of every round.  Up to eight rounds (about a second each): a loaded CI machine spoiled three
    in a row."""
    for _ in range(8):
        gaps = _reads_of_a_move_waiting_for_another(make_app, serve, log_dir)
        assert len(gaps) <= 40 and (gaps[6:] == [] or statistics.median(gaps[6:]) > 0.04), gaps  # no busy loop
        if len(gaps) >= 10 and min(gaps[:4]) < 0.025 and statistics.median(gaps[6:]) < 0.1:
            break
    assert 10 <= len(gaps) <= 40, gaps                # about 24 in its second: no busy loop, no long sleeps
    assert min(gaps[:4]) < 0.025, gaps                # 4 ms, 8 ms, 16 ms, ...
    assert 0.04 < statistics.median(gaps[6:]) < 0.1, gaps  # then 50 ms each
