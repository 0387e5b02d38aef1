"""A move of a logged-in session to a new id (``session.regenerate()``, a login again) notes its new id in the old
id's record, then stores the new id.  When the store does not answer that second step in time (a SQLite file
another connection holds locked past the 5 s busy timeout, a Redis Cluster node that stalls), the request answers
503 after that one wait: the store is not asked again to take the note out or to remove the new id, which would
wait as long again.  The session goes on under its old id, and its next move goes through.  A timeout of the last
step, the old id's marker, may be run by the store after all (a frozen Redis, once it resumes): the browser, whose
cookie still names the old id, is then logged out, and the WARNING says so; SQLite rolls back a write that waited
out its busy timeout, so its WARNING says nothing of a marker to come.  Real SQLite files, a real Redis, a real
Redis Cluster and real HTTP; the store is held at the moment between the note and the create, or before the marker."""
from __future__ import annotations

import threading
import time
from typing import Any, Tuple

import canister
from helpers import (WriteLock, frozen, in_background, readme_section, sqlite_url, time_of_one_write,
                     warning_lines)
from redis_topologies import ClusterSetup
from servers import wait_until
from session_kit import Browser, gated_app, logged_in, plugin_of

#: A marker naming a new id, as a move writes it on its old id.
_MARKER = '"moved:%s"' % ('y' * 43)

#: The busy timeout of canister's SQLite connections, as the README states it.
SQLITE_BUSY_TIMEOUT = 5.0


def _held_before_the_moves_create(store: Any, step: str = 'create') -> Tuple[threading.Event, threading.Event,
                                                                             threading.Event]:
    """Make ``store`` hold, once the first event returned is set, its next ``create`` (the move's new id: its
    note is written by then) until the test lets it go on: the events ``armed``, ``creating``, ``go_on``.
    ``step='marker'``: its next ``update`` to the marker naming the new id instead (the new id is stored by then);
    ``step='created'``: right after that ``create``, before the move's next step."""
    method = 'update' if step == 'marker' else 'create'
    write, armed, creating, go_on = getattr(store, method), threading.Event(), threading.Event(), threading.Event()

    def hold():
        armed.clear()
        creating.set()
        assert go_on.wait(30), 'the test never let the move go on'

    def held(*arguments):
        holding = armed.is_set() and (step != 'marker' or arguments[2].startswith('"moved:'))
        if holding and step != 'created':
            hold()
        done = write(*arguments)
        if holding and step == 'created':
            hold()
        return done

    setattr(store, method, held)
    return armed, creating, go_on


def _a_regenerate_held_before_its_create(make_app, serve, store,
                                         step: str = 'create') -> Tuple[Any, Browser, str, Any, threading.Event]:
    """alice's laptop (cart=1) regenerates, held once its note is written and before its new id is created
    (``step='marker'``: once its new id is stored, before the marker on its old id): the app, the laptop, its id
    before, the function giving the regenerate's answer, and the event that lets it go on."""
    armed, creating, go_on = _held_before_the_moves_create(store, step)
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    laptop = logged_in(origin, cart='1')
    old = laptop.sid
    armed.set()
    moving = in_background(lambda: laptop.get('/regenerate'))
    assert creating.wait(30), 'the regenerate never came to create its new id'
    assert 'moving:' in store.load(old)  # (the note is there)
    return app, laptop, old, moving, go_on


def _a_login_held(make_app, serve, store, step: str) -> Tuple[Browser, str, Any, threading.Event]:
    """A phone's anonymous session (cart=1) logs in as alice, held where ``step`` says (as
    ``_held_before_the_moves_create`` takes it): the phone, its id before, the function giving the login's answer,
    and the event that lets it go on."""
    armed, reached, go_on = _held_before_the_moves_create(store, step)
    phone = Browser(serve(gated_app(make_app, None, store=store)))
    assert phone.get('/set?key=cart&value=1').status == 200
    old = phone.sid
    armed.set()
    moving = in_background(lambda: phone.get('/login?name=alice'))
    assert reached.wait(30), 'the login never came to the %s step the store holds' % step
    return phone, old, moving, go_on


def _after_the_503(app, laptop: Browser, old: str, answer, log_dir) -> None:
    """What a user sees after the regenerate answered 503 with the note left: the laptop's cookie unchanged and
    its session working, one WARNING naming only the ids' first six characters, and a next move that goes
    through once it waited a second for the failed one (logged), the session listed once."""
    assert answer.status == 503 and answer.headers['Retry-After'] == '1', answer
    assert answer.set_cookies == [] and laptop.sid == old
    kept = [line for line in warning_lines(log_dir) if 'keeps the note of its failed move' in line]
    assert len(kept) == 1 and old[:6] + '...' in kept[0] and old not in kept[0], kept
    assert 'goes on under its old id' in kept[0]
    assert laptop.read() == ['alice', {'cart': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert laptop.get('/regenerate').status == 200 and laptop.sid != old
    assert any('Session: %s... was still being moved' % old[:6] in line for line in warning_lines(log_dir))
    assert laptop.read() == ['alice', {'cart': '1'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1


def _answered_on_a_frozen_cluster(cluster, moving, go_on, lone_write) -> Tuple[Any, float, float]:
    """Let the held move go on with every node of ``cluster`` frozen, then time ``lone_write``, one such write on its
    own, on the frozen cluster: the move's answer, how long it took, and how long the lone write took to time out."""
    with frozen(cluster.nodes):
        started = time.monotonic()
        go_on.set()
        answer = moving(30)
        waited = time.monotonic() - started
        one_write = time_of_one_write(lone_write)
    return answer, waited, one_write


def test_a_regenerate_whose_new_id_meets_a_sqlite_file_locked_after_its_note_answers_503_after_one_busy_timeout(
        make_app, serve, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    store = canister.open_store(sqlite_url(path))
    app, laptop, old, moving, go_on = _a_regenerate_held_before_its_create(make_app, serve, store)
    lock = WriteLock(path, 30)                       # another connection holds the file from now on
    started = time.monotonic()
    go_on.set()
    try:
        answer = moving(30)
        waited = time.monotonic() - started
    finally:
        lock.release()

    assert 0.9 * SQLITE_BUSY_TIMEOUT <= waited < 1.6 * SQLITE_BUSY_TIMEOUT, waited  # one busy timeout, not two
    _after_the_503(app, laptop, old, answer, log_dir)


def test_a_regenerate_whose_new_id_meets_a_stalled_redis_cluster_after_its_note_answers_503_after_one_timeout(
        make_app, serve, log_dir):
    with ClusterSetup(replicas=0) as cluster:
        store = canister.RedisStore(cluster.url, timeout=0.5)
        app, laptop, old, moving, go_on = _a_regenerate_held_before_its_create(make_app, serve, store)
        answer, waited, one_write = _answered_on_a_frozen_cluster(
            cluster, moving, go_on, lambda: store.create('x' * 43, '[{},null,0,0,0]', 60, None))
        assert waited < 1.6 * one_write, (waited, one_write)  # not a second call (or a third) after the first
        _after_the_503(app, laptop, old, answer, log_dir)


def test_a_regenerate_whose_marker_meets_a_stalled_redis_cluster_answers_503_after_one_timeout(
        make_app, serve, log_dir):
    """The old id's marker is the move's last write: after a timeout, its record is not read back to see whether
    the write landed all the same (a second wait), nor is the new id removed."""
    with ClusterSetup(replicas=0) as cluster:
        store, alone = (canister.RedisStore(cluster.url, timeout=0.5) for _ in range(2))
        assert alone.load('x' * 43) is None  # (a store of its own, in the same state: connected, none timed out)
        app, laptop, old, moving, go_on = _a_regenerate_held_before_its_create(make_app, serve, store, 'marker')
        answer, waited, one_write = _answered_on_a_frozen_cluster(
            cluster, moving, go_on, lambda: alone.update('x' * 43, '[{},null,0,0,0]', _MARKER, 60))
        assert answer.status == 503 and answer.headers['Retry-After'] == '1', answer
        assert waited < 1.6 * one_write, (waited, one_write)  # not a read back after the write that timed out
        assert answer.set_cookies == [] and laptop.sid == old
        assert any('Session: %s... keeps the note of its failed move' % old[:6] in line
                   for line in warning_lines(log_dir))


def test_the_readme_says_a_marker_that_timed_out_is_not_read_back():
    assert ('a Cluster stalled at the marker on the old id, whose record is then not read back to see whether the '
            'marker landed all the same: one timeout before the 503, not two' in readme_section('## Sessions'))


def _answered_on_a_frozen_redis(redis_server, moving, go_on):
    """Let the held move go on with ``redis_server`` frozen (SIGSTOP: connections are accepted, nothing is
    answered), resumed (SIGCONT) once the move answered: its answer."""
    with frozen([redis_server]):
        go_on.set()
        return moving(30)


def _marker_run_after_the_503(redis_server, moving, go_on, old: str, store: Any):
    """Freeze ``redis_server`` (SIGSTOP) while the held move writes its marker on ``old``, let the move answer its
    503, then resume the server (SIGCONT), which runs the marker write it had buffered: the move's answer."""
    answer = _answered_on_a_frozen_redis(redis_server, moving, go_on)
    wait_until(lambda: (store.load(old) or '').startswith('"moved:'), 10, what='Redis to run the buffered marker')
    return answer


def _logged_out_after_a_late_marker(browser: Browser, old: str, answer, log_dir) -> str:
    """What the browser sees after its move answered 503 and Redis ran the marker after all: no cookie then, and
    none now; its old cookie names no session (no user, no data); the one WARNING of the move says so (its line)."""
    assert answer.status == 503 and answer.set_cookies == [] and browser.sid == old, answer
    again = browser.get('/read')
    assert again.status == 200 and again.set_cookies == [], again  # (the new id never reaches the old cookie)
    assert again.json() == {'user': None, 'data': {}}
    said = [line for line in warning_lines(log_dir) if 'unless the store still runs the write that marks' in line]
    assert len(said) == 1, warning_lines(log_dir)
    assert ('unless the store still runs the write that marks %s... moved (a stalled Redis does, once it resumes): '
            'the browser, whose cookie names that id, then finds no session there (it starts anew, logged out, its '
            'data gone: the user logs in again)' % old[:6]) in said[0]
    return said[0]


def test_a_regenerate_whose_marker_a_stalled_redis_runs_after_the_503_logs_the_browser_out_and_the_warning_says_so(
        make_app, serve, redis_server, log_dir):
    store = canister.RedisStore(redis_server.url, timeout=0.5)
    app, laptop, old, moving, go_on = _a_regenerate_held_before_its_create(make_app, serve, store, 'marker')
    answer = _marker_run_after_the_503(redis_server, moving, go_on, old, store)

    line = _logged_out_after_a_late_marker(laptop, old, answer, log_dir)
    assert 'Session: %s... keeps the note of its failed move' % old[:6] in line and old not in line
    assert [entry['current'] for entry in plugin_of(app).sessions_of('alice')] == [False]  # the new id, unnamed
    assert plugin_of(app).end_sessions('alice') == 1
    assert laptop.get('/login?name=alice').status == 200 and laptop.sid != old  # logging in again works
    assert laptop.read() == ['alice', {}]


def test_a_login_whose_marker_a_stalled_redis_runs_after_the_503_leaves_the_cart_behind_and_the_warning_says_so(
        make_app, serve, redis_server, log_dir):
    store = canister.RedisStore(redis_server.url, timeout=0.5)
    phone, old, moving, go_on = _a_login_held(make_app, serve, store, 'marker')
    answer = _marker_run_after_the_503(redis_server, moving, go_on, old, store)

    line = _logged_out_after_a_late_marker(phone, old, answer, log_dir)
    assert 'may stay in the store until it expires' in line and old not in line
    assert phone.get('/login?name=alice').status == 200 and phone.read() == ['alice', {}]


def test_the_readme_says_a_marker_run_after_the_503_logs_the_browser_out():
    section = readme_section('## Sessions')
    assert ('a stalled Redis that runs the marker\'s write once it resumes, after the 503, leaves the old id marked: '
            'the browser, whose cookie still names it, finds no session there and starts anew, logged out, its data '
            'gone' in section)


def _marker_locked_out(path, moving, go_on):
    """Let the held move write its marker on a SQLite file another connection holds locked past the busy timeout:
    the move's answer (the lock is released once it came)."""
    lock = WriteLock(path, 30)                       # another connection holds the file from now on
    try:
        go_on.set()
        return moving(30)
    finally:
        lock.release()


#: What the WARNING of a move whose marker timed out adds when the store may still run that write (a Redis).
_LATE_MARKER = 'unless the store still runs the write that marks'


def test_a_regenerate_whose_marker_meets_a_locked_sqlite_file_warns_of_no_marker_to_come(
        make_app, serve, tmp_path, log_dir):
    """A SQLite write that waited out its busy timeout was rolled back: nothing runs it later, so the WARNING says
    nothing of a marker that could still log the browser out, and the browser's session goes on under its old id."""
    path = tmp_path / 'sessions.db'
    store = canister.open_store(sqlite_url(path))
    app, laptop, old, moving, go_on = _a_regenerate_held_before_its_create(make_app, serve, store, 'marker')
    answer = _marker_locked_out(path, moving, go_on)

    assert answer.status == 503 and answer.set_cookies == [] and laptop.sid == old, answer
    said = [line for line in warning_lines(log_dir) if 'keeps the note of its failed move' in line]
    assert len(said) == 1 and 'Session: %s...' % old[:6] in said[0] and 'goes on under its old id' in said[0], said
    assert _LATE_MARKER not in said[0] and 'logged out' not in said[0], said[0]
    assert store.load(old) is not None and not store.load(old).startswith('"moved:')  # (and never will be)
    assert laptop.read() == ['alice', {'cart': '1'}] and laptop.sid == old


def test_a_login_whose_marker_meets_a_locked_sqlite_file_warns_of_no_marker_to_come(
        make_app, serve, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    store = canister.open_store(sqlite_url(path))
    phone, old, moving, go_on = _a_login_held(make_app, serve, store, 'marker')
    answer = _marker_locked_out(path, moving, go_on)

    assert answer.status == 503 and answer.set_cookies == [] and phone.sid == old, answer
    said = [line for line in warning_lines(log_dir) if 'did not answer in time while saving it' in line]
    assert len(said) == 1 and 'may stay in the store until it expires' in said[0], warning_lines(log_dir)
    assert 'The session goes on under its old id' in said[0], said[0]
    assert _LATE_MARKER not in said[0] and 'logged out' not in said[0], said[0]
    assert phone.read() == [None, {'cart': '1'}] and phone.sid == old
    assert phone.get('/login?name=alice').status == 200 and phone.read() == ['alice', {'cart': '1'}]


def test_the_readme_says_a_marker_that_met_a_locked_sqlite_file_never_lands_later():
    assert ('A SQLite file that another process holds locked past the busy timeout at the marker leaves no write to '
            'land later: SQLite rolled it back, so the session goes on under its old id for good, and the WARNING '
            'says nothing of a marker still to come' in readme_section('## Sessions'))


def test_a_login_whose_check_for_an_end_of_its_users_sessions_meets_a_stalled_redis_warns_of_no_marker_to_come(
        make_app, serve, redis_server, log_dir):
    """The login's new id is stored, then the read that asks whether ``end_sessions`` overtook the login times out,
    before the marker on the old id was ever sent: the WARNING says what stays, and nothing of a marker that
    could still log the browser out; the browser's session goes on under its old id, its cart kept."""
    store = canister.RedisStore(redis_server.url, timeout=0.5)
    phone, old, moving, go_on = _a_login_held(make_app, serve, store, 'created')
    answer = _answered_on_a_frozen_redis(redis_server, moving, go_on)

    assert answer.status == 503 and answer.set_cookies == [] and phone.sid == old, answer
    wait_until(lambda: phone.get('/read').status == 200, 10, what='Redis to answer again')
    assert phone.read() == [None, {'cart': '1'}] and phone.sid == old
    said = [line for line in warning_lines(log_dir) if 'did not answer in time while saving it' in line]
    assert len(said) == 1 and 'may stay in the store until it expires' in said[0], warning_lines(log_dir)
    assert 'The session goes on under its old id' in said[0], said[0]
    assert 'marks' not in said[0] and 'logs in again' not in said[0], said[0]
    assert phone.get('/login?name=alice').status == 200 and phone.read() == ['alice', {'cart': '1'}]
