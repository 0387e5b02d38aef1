"""A session store that fails part-way through a login: whatever the answer, the browser can go on.

A login moves the session to a new id in steps (the new id stored, ``end_sessions``'s note read, the old
id marked as moved, the person's sessions capped).  A store that fails between them once left a session
no cookie named, listed among the user's sessions and counted toward ``session_max_per_user``, or a 503
without a cookie while the browser's old one named a marker: the cart was lost.  Now a failure before the
move is complete leaves the old session as it was (its cookie works, nothing new is listed), and one after
it leaves the login standing, its cookie sent.  The store here is one of the app's own, written on each
store canister ships (a real redis-server), that fails on the call a test chooses, once.
"""
from __future__ import annotations

from typing import Any, Callable, Tuple

import pytest

import canister
from helpers import warning_lines
from session_kit import STORES, Browser, anonymous, gated_app, make_store_url, plugin_of

#: The records a store is asked to write over the old id when a login moves the session on.
MOVED_MARKER = '"moved'


def failing_store(kind: str, tmp_path: Any, request: Any) -> Any:
    """A store of ``kind`` whose calls fail with StoreUnavailable where the test says, as a database does that
    goes away for a moment: the first call for which ``store.failures[0](method, *args)`` is true fails, and
    that test is taken off the list.  ``update`` is asked twice: as ``'update'`` before it writes, and as
    ``'update ran'`` after, as a Redis connection cut once the command ran fails."""
    base: Any = {'memory': canister.MemoryStore, 'sqlite': canister.SQLiteStore, 'redis': canister.RedisStore}[kind]

    class OnceFailingStore(base):  # type: ignore[misc, valid-type]
        failures: Tuple[Callable[..., bool], ...] = ()

        def _maybe_fail(self, method: str, *args: Any) -> None:
            if self.failures and self.failures[0](method, *args):
                self.failures = self.failures[1:]
                raise canister.StoreUnavailable('the session store went away (%s)' % method)

        def load(self, sid):
            self._maybe_fail('load', sid)
            return super().load(sid)

        def update(self, sid, expected, record, ttl):
            self._maybe_fail('update', sid, record)
            done = super().update(sid, expected, record, ttl)
            self._maybe_fail('update ran', sid, record)  # (the write is done, its answer lost)
            return done

        def delete(self, sid):
            self._maybe_fail('delete', sid)
            return super().delete(sid)

        def count_of(self, user_key):
            self._maybe_fail('count_of', user_key)
            return super().count_of(user_key)

    if kind == 'memory':
        return OnceFailingStore()
    if kind == 'sqlite':
        return OnceFailingStore(str(tmp_path / 'sessions.db'))
    return OnceFailingStore(make_store_url('redis', tmp_path, request))


def marking_the_old_id(method: str, *args: Any) -> bool:
    return method == 'update' and args[1].startswith(MOVED_MARKER)


def losing_the_answer_to_marking_the_old_id(method: str, *args: Any) -> bool:
    return method == 'update ran' and args[1].startswith(MOVED_MARKER)


def reading_the_end_sessions_note(method: str, *args: Any) -> bool:
    return method == 'load' and args[0].startswith('ended:')


def counting_the_users_sessions(method: str, *args: Any) -> bool:
    return method == 'count_of'


def removing(method: str, *args: Any) -> bool:
    return method == 'delete'


@pytest.fixture(params=STORES)
def kind(request: Any) -> str:
    return request.param


def shop(make_app: Any, serve: Any, tmp_path: Any, request: Any, kind: str, **config: Any) -> Any:
    """An app on a ``failing_store`` of ``kind``, its origin, and the store: ``(app, origin, store)``."""
    store = failing_store(kind, tmp_path, request)
    app = gated_app(make_app, None, store=store, **config)
    return app, serve(app), store


@pytest.mark.parametrize('failure', [marking_the_old_id, reading_the_end_sessions_note])
def test_a_login_whose_store_fails_before_its_move_completes_leaves_the_cart_and_no_other_session(
        make_app, serve, tmp_path, request, kind, failure):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind)
    browser = anonymous(origin, cart='3')
    store.failures = (failure,)

    answer = browser.get('/login?name=alice')

    assert answer.status == 503 and answer.new_sid is None, answer
    assert plugin_of(app).sessions_of('alice') == []
    assert browser.read() == [None, {'cart': '3'}]
    assert browser.get('/login?name=alice').status == 200
    assert browser.read() == ['alice', {'cart': '3'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_a_login_whose_store_fails_while_it_marks_the_old_id_is_not_counted_toward_the_cap(
        make_app, serve, tmp_path, request, kind):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind, session_max_per_user=2)
    other = Browser(origin)
    assert other.get('/login?name=alice').status == 200
    browser = anonymous(origin, cart='3')
    store.failures = (marking_the_old_id,)
    assert browser.get('/login?name=alice').status == 503

    assert Browser(origin).get('/login?name=alice').status == 200  # alice's second session: within the cap

    assert other.read() == ['alice', {}]
    assert len(plugin_of(app).sessions_of('alice')) == 2


def test_a_login_whose_store_wrote_the_old_ids_marker_but_lost_the_answer_stands_with_the_cart(
        make_app, serve, tmp_path, request, kind, log_dir):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind)
    browser = anonymous(origin, cart='3')
    store.failures = (losing_the_answer_to_marking_the_old_id,)

    answer = browser.get('/login?name=alice')

    assert answer.status == 200 and answer.new_sid, answer
    assert browser.read() == ['alice', {'cart': '3'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert any('but the old id is marked: the move stands' in line for line in warning_lines(log_dir))


def test_a_login_without_a_session_whose_store_fails_while_it_reads_the_end_sessions_note_leaves_no_session(
        make_app, serve, tmp_path, request, kind):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind)
    store.failures = (reading_the_end_sessions_note,)

    answer = Browser(origin).get('/login?name=alice')

    assert answer.status == 503 and answer.new_sid is None, answer
    assert plugin_of(app).sessions_of('alice') == []


def test_a_login_whose_store_fails_while_it_caps_the_users_sessions_stands_with_its_cookie_and_a_warning(
        make_app, serve, tmp_path, request, kind, log_dir, clock):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind, session_max_per_user=1)
    other = Browser(origin)
    assert other.get('/login?name=alice').status == 200
    browser = anonymous(origin, cart='3')
    store.failures = (counting_the_users_sessions,)
    clock.advance(1)

    answer = browser.get('/login?name=alice')

    assert answer.status == 200 and answer.new_sid, answer
    assert browser.read() == ['alice', {'cart': '3'}]
    assert any('could not be ended (left to the next login)' in line for line in warning_lines(log_dir))
    clock.advance(1)  # (a login in the same millisecond as another is taken as its parallel twin, which it spares)
    third = Browser(origin)
    assert third.get('/login?name=alice').status == 200  # the next login caps: alice keeps one session
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert third.read()[0] == 'alice'



def test_a_login_whose_store_is_still_down_when_it_removes_the_new_id_says_so_and_leaves_the_cart(
        make_app, serve, tmp_path, request, kind, log_dir):
    app, origin, store = shop(make_app, serve, tmp_path, request, kind)
    browser = anonymous(origin, cart='3')
    store.failures = (marking_the_old_id, removing)

    assert browser.get('/login?name=alice').status == 503

    assert any('could not be removed after saving the session failed' in line for line in warning_lines(log_dir))
    assert browser.read() == [None, {'cart': '3'}]
