"""``session_max_per_user`` and ``sessions_of`` while one of the user's sessions moves to a new id
(``session.regenerate()``).

A move stores the session under its new id, then turns the old id into a marker naming the new one.
Between the two steps both ids are listed under the user; the old id's record names the new one, so
that the moving session counts once.  On each store canister ships, with real HTTP: the store holds
the move between its two steps (its ``update`` of the old id to the marker waits) while another
device logs in, or the app lists or ends the user's sessions.
"""
from __future__ import annotations

import time
from typing import Any, Callable, List, Tuple

import canister
from session_kit import Answer, Browser, gated_app, held_between_the_moves_steps, logged_in, plugin_of, start_held


def _a_move_held(make_app: Any, serve: Any, clock: Any, store_url: str, cap: int,
                 devices: int = 0) -> Tuple[Any, str, List[Browser], Browser, Callable[[], Answer]]:
    """An app under ``session_max_per_user = cap`` where alice logged in on ``devices`` browsers, then on the
    laptop, which a few seconds later regenerates its session: held by the store between the move's two
    steps.  The app, its origin, those browsers, the laptop, and ``finish()``, which lets the move go on
    and gives the laptop's answer."""
    store = canister.open_store(store_url)
    arrived, release = held_between_the_moves_steps(store)  # (before the install, which takes the store's update)
    app = gated_app(make_app, None, store=store, config={'session_max_per_user': cap})
    origin = serve(app)
    others = []
    for _ in range(devices):
        others.append(logged_in(origin))
        clock.advance(1)
    laptop = logged_in(origin)
    clock.advance(5)
    time.sleep(0.005)  # (Redis times a key's life by its own clock, which the test's clock does not move)
    finish = start_held(laptop, arrived, release)
    clock.advance(0.01)
    time.sleep(0.005)
    return app, origin, others, laptop, finish


def test_a_login_on_another_device_while_a_session_moves_leaves_both_devices_logged_in_within_the_cap(
        make_app, serve, clock, store_url):
    app, origin, _, laptop, finish = _a_move_held(make_app, serve, clock, store_url, cap=2)
    phone = Browser(origin)

    assert phone.get('/login?name=alice').status == 200
    moved = finish()

    assert moved.status == 200 and moved.new_sid, moved
    assert (laptop.read()[0], phone.read()[0]) == ('alice', 'alice')
    assert len(plugin_of(app).sessions_of('alice')) == 2


def test_a_login_while_a_session_moves_ends_no_other_devices_session_within_the_cap(
        make_app, serve, clock, store_url):
    app, origin, [tablet], laptop, finish = _a_move_held(make_app, serve, clock, store_url, cap=3, devices=1)
    phone = Browser(origin)

    assert phone.get('/login?name=alice').status == 200
    assert finish().new_sid

    assert [browser.read()[0] for browser in (tablet, laptop, phone)] == ['alice'] * 3
    assert len(plugin_of(app).sessions_of('alice')) == 3


def test_a_session_the_cap_ends_while_it_moves_is_ended_under_both_ids(make_app, serve, clock, store_url):
    """Under a cap of one, the phone's login is the later: the laptop's session goes, as it would
    before or after its move, and the move stores nothing (its answer expires the cookie)."""
    app, origin, _, laptop, finish = _a_move_held(make_app, serve, clock, store_url, cap=1)
    phone = Browser(origin)

    assert phone.get('/login?name=alice').status == 200
    moved = finish()

    assert moved.status == 200 and moved.new_sid == '', moved
    assert (laptop.read()[0], phone.read()[0]) == (None, 'alice')
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_sessions_of_lists_a_session_that_moves_once(make_app, serve, clock, store_url):
    app, _, [tablet], laptop, finish = _a_move_held(make_app, serve, clock, store_url, cap=10, devices=1)

    during = plugin_of(app).sessions_of('alice')
    assert finish().new_sid

    assert len(during) == 2 and len(plugin_of(app).sessions_of('alice')) == 2
    assert [tablet.read()[0], laptop.read()[0]] == ['alice', 'alice']


def test_end_sessions_while_a_session_moves_ends_it_under_both_ids(make_app, serve, clock, store_url):
    app, _, _, laptop, finish = _a_move_held(make_app, serve, clock, store_url, cap=10)

    assert plugin_of(app).end_sessions('alice') == 1
    moved = finish()

    assert moved.new_sid == '' and laptop.read()[0] is None, moved
    assert plugin_of(app).sessions_of('alice') == []
