"""The note ``end_sessions`` leaves under ``ended:<user key>`` for a login under way, attacked: under the
memory store's bound on markers, at the very instant ``end_sessions`` returns, and named by a cookie
(on a real Redis Cluster: tests/test_redis_topologies.py).  Real stores, real servers."""
from __future__ import annotations

import threading
import time
import tracemalloc

import pytest

import canister
from helpers import basic, bearer, canister_bytes, claims, jwk
from servers import wait_until
from session_kit import (STORES, Browser, assert_a_login_held_through_end_sessions_stays_out, hold_request, logged_in,
                         make_store_url, plugin_of)
from test_end_sessions_races import end_others_app


def test_on_the_memory_store_logouts_filling_the_markers_bound_do_not_evict_the_note_of_end_sessions(
        make_app, serve_with_gates):
    """``session_max`` bounds the markers too (the oldest goes): eight logouts of other users after
    ``end_sessions('alice')`` evicted its note, and alice's login checked before it stayed logged in."""
    app = end_others_app(make_app, 'memory', session_max=4)
    origin = serve_with_gates(app)
    logged_in(origin, 'alice')
    release = hold_request(app, origin, None, '/login-held?name=a&user=alice')
    assert plugin_of(app).end_sessions('alice') == 1
    for index in range(8):
        assert logged_in(origin, 'user%d' % index).get('/logout').status == 200

    held = release()

    assert held.status == 200 and held.new_sid is None, held
    assert plugin_of(app).sessions_of('alice') == []


@pytest.mark.parametrize('kind', STORES)
def test_a_login_at_the_instant_end_sessions_ran_by_the_clock_stays_logged_in(make_app, serve, clock, kind,
                                                                              tmp_path, request):
    """The note kept the time to the microsecond, rounded: a time rounded up was later than a login
    checked at the same instant, after ``end_sessions`` returned, which was then ended."""
    clock.advance(next(step * 1e-7 for step in range(1, 40)
                       if float('%.6f' % (clock() + step * 1e-7)) > clock() + step * 1e-7))
    app = end_others_app(make_app, make_store_url(kind, tmp_path, request))
    origin = serve(app)
    logged_in(origin, 'alice')
    assert plugin_of(app).end_sessions('alice') == 1

    browser = logged_in(origin, 'alice')  # (canister's clock stopped: the same instant)

    assert browser.read() == ['alice', {}]
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_a_cookie_naming_the_note_of_end_sessions_is_no_session_and_changes_nothing(make_app, serve, store_url):
    app = end_others_app(make_app, store_url)
    origin = serve(app)
    logged_in(origin, 'alice')
    assert plugin_of(app).end_sessions('alice') == 1
    held = Browser(origin, 'ended:alice', follow=False)

    assert held.read() == [None, {}]
    written = held.get('/set?key=a&value=1')
    assert written.status == 200 and written.new_sid not in (None, 'ended:alice'), written
    assert logged_in(origin, 'alice').read() == ['alice', {}]  # (the note is as it was)


def test_on_the_memory_store_end_sessions_of_names_nobody_is_logging_in_as_keeps_nothing_for_its_minute(make_app):
    """A "forgot password" form that calls ``end_sessions`` with the name typed: a note per name for its
    minute (about 190 bytes each, never evicted) let memory grow with the rate of requests, for no login."""
    plugin = plugin_of(make_app())
    plugin.end_sessions('warm-up')
    tracemalloc.start()
    try:
        before = canister_bytes()
        for number in range(3000):
            assert plugin.end_sessions('%022d' % number) == 0
        grown = canister_bytes() - before
    finally:
        tracemalloc.stop()
    assert grown < 3000 * 10, grown


def test_on_the_memory_store_a_basic_login_whose_check_was_under_way_when_end_sessions_ran_does_not_stay(
        make_app, serve):
    """The header names its user only once decoded: the login counts as under way for everyone meanwhile."""
    iterations = 1000
    while True:  # a hash that takes a second or more here (making one takes as long as checking it)
        started = time.perf_counter()
        slow = canister.hash_password('pw', 'pbkdf2', iterations)
        took = time.perf_counter() - started
        if took >= 1.0:
            break
        iterations = int(iterations * max(2.0, 2.0 / max(took, 1e-4)))  # (aimed at 2 s from this one's time)
    app = end_others_app(make_app, 'memory', auth_basic_username='alice', auth_basic_password=slow)
    origin = serve(app)
    header = {'Authorization': basic('alice', 'pw')}
    browser, answers = Browser(origin), []
    thread = threading.Thread(target=lambda: answers.append(browser.get('/set?key=a&value=1', header)))  # (made real)
    thread.start()
    wait_until(lambda: plugin_of(app).sessions.store.logins_under_way, 10,
               what='the login registered as under way, its check of a second or more begun')

    assert plugin_of(app).end_sessions('alice') == 0
    thread.join(30)

    assert answers[0].status == 200 and answers[0].new_sid is None, answers[0]
    assert plugin_of(app).sessions_of('alice') == []


def test_on_the_memory_store_a_token_login_whose_check_was_under_way_when_end_sessions_ran_does_not_stay(
        make_app, serve, rsa_key, jwks_server):
    """A token names its user once checked: meanwhile (the provider's keys on their way) its login counts as
    under way for every user, the one ``end_sessions`` names too."""
    import jwt
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    jwks_server.held = threading.Event()
    app = end_others_app(make_app, 'memory', auth_jwt_jwks_url=jwks_server.url)
    origin = serve(app)
    header = bearer(jwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'}))
    browser, answers = Browser(origin), []
    thread = threading.Thread(target=lambda: answers.append(browser.get('/set?key=a&value=1', header)))  # (made real)
    thread.start()
    wait_until(lambda: jwks_server.hits == 1, 10, what='the keys asked for')  # (the check under way until they come)

    assert plugin_of(app).end_sessions('alice') == 0
    jwks_server.held.set()
    thread.join(30)

    assert answers[0].status == 200 and answers[0].new_sid is None, answers[0]
    assert plugin_of(app).sessions_of('alice') == []


def test_two_apps_on_one_memory_store_object_see_each_others_logins_under_way(make_app, serve_with_gates):
    """``end_sessions`` of one app keeps its note for a login under way in the other (the register is the
    store's): that login, stored after the listing, is ended."""
    store = canister.MemoryStore()
    logging_in = end_others_app(make_app, 'memory', store=store)
    ending = end_others_app(make_app, 'memory', store=store)
    origin = serve_with_gates(logging_in)
    assert_a_login_held_through_end_sessions_stays_out(logging_in, origin, '/login-held?name=a&user=alice', 0,
                                                       ending=ending)


def test_on_the_memory_store_a_note_kept_for_a_login_under_way_takes_about_200_bytes_with_a_22_character_key(
        make_app, serve, rsa_key, jwks_server):
    """The README's figure for a note (``ended:<user key>``, one per user for its minute): measured while a
    token's login, whose user is unknown until its check ends, keeps every ``end_sessions`` noting."""
    import jwt
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    jwks_server.delay = 5.0
    app = end_others_app(make_app, 'memory', auth_jwt_jwks_url=jwks_server.url)
    origin = serve(app)
    header = bearer(jwt.encode(claims(), rsa_key, algorithm='RS256', headers={'kid': 'key-1'}))
    thread = threading.Thread(target=lambda: Browser(origin).get('/set?key=a&value=1', header))  # (made real)
    thread.start()
    wait_until(lambda: jwks_server.hits == 1, 10, what='the keys asked for')  # (the check under way: 5 s)
    plugin = plugin_of(app)
    plugin.end_sessions('%022d' % 0)  # (warm-up)
    tracemalloc.start()
    try:
        before = canister_bytes()
        for number in range(1, 2001):
            plugin.end_sessions('%022d' % number)
        per_note = (canister_bytes() - before) / 2000
    finally:
        tracemalloc.stop()
        thread.join(30)
    assert 160 <= per_note <= 240, per_note
