"""Sessions under concurrent requests: logout sticks, changes to different keys are all kept.

Real concurrency on each store canister ships (memory, SQLite, a real redis-server): the
app is served over HTTP by waitress in this process, and a handler holds its loaded session
open on a ``threading.Event`` while other requests of the same session run and finish; then
several gunicorn worker processes sharing a SQLite file or a Redis server, with many client
threads on one cookie.  Nothing is mocked.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

import pytest

from helpers import sleep_until, warning_lines
from servers import AppServer, wait_until
from session_kit import (STORES, Browser, BytesStore, anonymous, expires_cookie, gated_app, held_across,
                         held_across_moves, held_in_turn, hold_request, logged_in, make_store_url, plain_timeout,
                         plugin_of, run_threads)


# --------------------------------------------------------------------------
# logout sticks

@pytest.mark.parametrize('change', [True, False], ids=['changing', 'reading'])
def test_a_request_that_loaded_the_session_before_logout_does_not_bring_it_back(
        make_app, serve_with_gates, store_url, log_dir, change):
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    alice = logged_in(origin, cart='3')
    sid = alice.sid
    release = hold_request(app, origin, sid, '/hold?name=a&key=note&value=late' if change else '/hold?name=a&key=note')

    assert alice.get('/logout').status == 200
    held = release()

    assert held.status == 200, held
    assert Browser(origin, sid).read() == [None, {}]
    if change:
        assert any(expires_cookie(cookie) for cookie in held.set_cookies), held
        assert any('ended' in line for line in warning_lines(log_dir)), warning_lines(log_dir)
    time.sleep(0.2)  # nothing written late either
    assert Browser(origin, sid).read() == [None, {}]


@pytest.mark.parametrize('move', ['/anonymous', '/regenerate', '/login?name=bob'])
def test_a_session_moved_to_a_new_id_stays_moved_on_a_store_that_returns_bytes(
        make_app, serve_with_gates, log_dir, move):
    app = gated_app(make_app, 'memory', store=BytesStore())
    origin = serve_with_gates(app)
    alice = logged_in(origin, cart='3')
    sid = alice.sid
    assert held_across_moves(app, origin, alice, '/hold?name=a&key=note&value=late', move).status == 200

    assert Browser(origin, sid).read() == [None, {}], 'the old id of a moved session is live again'
    assert not any('corrupt' in line for line in warning_lines(log_dir)), warning_lines(log_dir)


def test_a_request_that_loaded_a_session_before_end_sessions_does_not_bring_it_back(
        make_app, serve_with_gates, store_url, log_dir):
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    sid = logged_in(origin, cart='3').sid
    release = hold_request(app, origin, sid, '/hold?name=a&key=note&value=late')

    assert plugin_of(app).end_sessions('alice') == 1  # from outside any request
    held = release()

    assert held.status == 200, held
    assert any(expires_cookie(cookie) for cookie in held.set_cookies), held
    assert Browser(origin, sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_session_that_expired_while_a_request_held_it_is_not_brought_back(make_app, serve_with_gates, tmp_path, request,
                                                                          log_dir):
    """session_timeout=1: a request loads the session, holds it past the 1 s, then changes it.  It stores
    nothing and leaves the cookie alone: a session missing from the store may have ended or moved long
    ago, and the browser may hold a newer id by now.  A try whose held request loaded the session too late to be
    sure it was still alive (a loaded machine) proves nothing, and is made again with a new login."""
    expired = 'no longer in the store (it expired'
    for kind in STORES:
        app = gated_app(make_app, make_store_url(kind, tmp_path, request), session_timeout=1)
        origin = serve_with_gates(app)
        for attempt in range(3):
            name = 'a%d' % attempt
            last_use = time.time()   # (no later than the start of its last use: its 1 s from then on, at the least)
            browser = logged_in(origin, cart='3')
            before = len([line for line in warning_lines(log_dir) if expired in line])
            release = hold_request(app, origin, browser.sid, '/hold?name=%s&key=note&value=late' % name)
            if time.time() > last_use + 0.9:
                release()
                continue   # (the held request may have loaded it after its second: nothing to bring back)
            sleep_until(last_use + 1.4)   # past its 1 s (counted from no earlier than the set's start)
            held = release()
            assert held.status == 200, (kind, held)
            assert held.set_cookies == [], (kind, held)
            assert Browser(origin, browser.sid).read() == [None, {}], kind
            after = len([line for line in warning_lines(log_dir) if expired in line])
            assert after == before + 1, (kind, warning_lines(log_dir))
            break
        else:
            pytest.fail("the machine was too loaded for this test's timing in 3 tries (%s)" % kind)


@pytest.mark.parametrize('rotation', ['/login?name=alice', '/regenerate'])
def test_a_request_that_loaded_the_session_before_its_id_changed_does_not_log_the_browser_out(
        make_app, serve_with_gates, store_url, rotation):
    """A login (or regenerate) gives the browser a new session cookie while another request of the
    old id is running: that request's answer must not expire the cookie, which by its name is the
    browser's new one."""
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    held = held_across_moves(app, origin, browser, '/hold?name=a&key=note&value=late', rotation)

    assert held.status == 200, held
    assert not any(expires_cookie(cookie) for cookie in held.set_cookies), held
    assert browser.read()[1].get('cart') == '3'


def held_remembered_read(make_app, serve_with_gates, store_url):
    """A remembered session (``cart`` = 3) and a request held open that only reads it: the app, the
    browser, and ``release()`` of the held request."""
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    assert browser.get('/remember?seconds=3600').status == 200
    assert Browser(origin, browser.sid, follow=False).get('/read').new_sid == browser.sid  # the cookie, sent again
    release = hold_request(app, origin, browser.sid, '/hold?name=a')  # reads the session, changes nothing
    return app, browser, release


@pytest.mark.parametrize('rotation', ['/login?name=alice', '/regenerate'])
def test_a_remembered_session_read_across_a_login_leaves_the_browser_its_new_cookie(
        make_app, serve_with_gates, store_url, rotation):
    """A remembered session sends its persistent cookie again with every answer: not so from a
    request that only read the session while another one moved it to a new id."""
    app, browser, release = held_remembered_read(make_app, serve_with_gates, store_url)
    old = browser.sid

    assert browser.get(rotation).status == 200
    assert browser.sid and browser.sid != old
    held = release()

    assert held.status == 200, held
    assert held.set_cookies == [], held  # neither the old id again nor an expired cookie
    assert browser.read()[1].get('cart') == '3'


def test_a_remembered_session_read_across_a_change_sends_its_cookie_and_keeps_the_change(
        make_app, serve_with_gates, store_url):
    app, browser, release = held_remembered_read(make_app, serve_with_gates, store_url)
    assert browser.get('/set?key=note&value=meanwhile').status == 200
    held = release()

    assert held.status == 200, held
    assert held.new_sid == browser.sid  # still the session's id: its persistent cookie, sent again
    assert browser.read()[1] == {'cart': '3', 'note': 'meanwhile'}


def remembered_across_a_held_request(make_app, serve_with_gates, store_url, timeout, held, **config):
    """A session (``cart`` = 3) with the plain ``timeout``; a request (``held``, a /hold query) loads it,
    another one then calls ``remember(600)``, and the held one finishes: the browser."""
    app = gated_app(make_app, store_url, session_timeout=timeout, **config)
    origin = serve_with_gates(app)
    browser = logged_in(origin, cart='3')
    release = hold_request(app, origin, browser.sid, '/hold?name=a' + held)
    assert Browser(origin, browser.sid).get('/remember?seconds=600').status == 200
    assert release().status == 200
    return browser


@pytest.mark.parametrize('max_age', [0, 600], ids=['timeout', 'max_age'])
@pytest.mark.parametrize('held', ['', '&key=note&value=meanwhile'], ids=['reading', 'changing'])
def test_a_request_that_loaded_a_session_before_remember_does_not_cut_its_length(
        make_app, serve_with_gates, store_url, request, held, max_age):
    """A request that loaded the session with the plain timeout finishes after another one gave it
    a lifetime of its own: whether it only slides the session or merges a change into it, the
    session keeps the remembered length."""
    timeout, past_the_timeout = plain_timeout(store_url, request)
    browser = remembered_across_a_held_request(make_app, serve_with_gates, store_url, timeout, held,
                                               session_max_age=max_age)
    past_the_timeout()  # well within the remembered 600 s
    user, data = browser.read()
    assert user == 'alice' and data.get('cart') == '3', (user, data)
    assert data.get('note') == ('meanwhile' if held else None)


def test_a_request_that_loaded_a_remembered_session_keeps_a_shorter_length_set_meanwhile(
        make_app, serve_with_gates, store_url):
    """A remembered session slides by its own length when a request only read it; if another
    request shortened that length meanwhile, the session slides by the new one."""
    app, browser, release = held_remembered_read(make_app, serve_with_gates, store_url)
    assert browser.get('/remember?seconds=1').status == 200
    assert release().status == 200
    time.sleep(1.4)  # past the new 1 s, well within the 3600 s the held request loaded
    assert browser.read() == [None, {}]


def test_two_overlapping_logins_on_one_session_leave_one_session(make_app, serve_with_gates, store_url, log_dir):
    """Two requests of one anonymous session both log in the same person (an app firing two requests
    at once, or a form submitted twice): the first to save moves the session to its new id; the
    second finds it moved there and adopts that id, so its answer sends the same cookie and no second
    session lingers."""
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    moved, late = held_in_turn(app, origin, browser.sid, '/hold?name=a&user=alice', '/hold?name=b&user=alice')

    assert moved.status == late.status == 200
    assert moved.new_sid and late.new_sid == moved.new_sid  # both send the one new cookie
    assert len(plugin_of(app).sessions_of('alice')) == 1
    assert Browser(origin, moved.new_sid).read() == ['alice', {'cart': '3'}]


# --------------------------------------------------------------------------
# no lost updates between keys

def test_two_overlapping_requests_setting_different_keys_both_keep_their_change(make_app, serve_with_gates, store_url):
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, base='0')
    assert held_across(app, origin, owner.sid, '/hold?name=a&key=a&value=1', '/set?key=b&value=2').status == 200

    assert owner.read() == ['alice', {'base': '0', 'a': '1', 'b': '2'}]


def test_overlapping_deletions_and_additions_of_different_keys_are_all_kept(make_app, serve_with_gates, store_url):
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, x='1', y='1')
    held = held_across(app, origin, owner.sid, '/hold?name=a&delete=x', '/del?key=y', '/set?key=z&value=1')
    assert held.status == 200

    assert owner.read() == ['alice', {'z': '1'}]


def test_two_overlapping_requests_setting_the_same_key_keep_the_later_save(make_app, serve_with_gates, store_url):
    app = gated_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, k='first')
    release = hold_request(app, origin, owner.sid, '/hold?name=a&key=k&value=held')

    assert Browser(origin, owner.sid, follow=False).get('/set?key=k&value=quick').status == 200
    assert owner.read() == ['alice', {'k': 'quick'}]
    assert release().status == 200

    assert owner.read() == ['alice', {'k': 'held'}]


def test_eight_threads_each_incrementing_its_own_key_ten_times_keep_all_eighty(make_app, serve_with_gates, store_url):
    origin = serve_with_gates(gated_app(make_app, store_url))
    owner = logged_in(origin)
    answers = collections.defaultdict(list)

    def client(number):
        def run():
            browser = Browser(origin, owner.sid, follow=False)
            for _ in range(10):
                answer = browser.get('/incr?key=k%d&delay=0.005' % number)
                answers[number].append((answer.status, answer.text))
        return run

    assert run_threads([client(number) for number in range(8)]) == []

    for number in range(8):  # each thread saw its own key go 1, 2, ... 10
        assert answers[number] == [(200, str(value)) for value in range(1, 11)], answers[number]
    assert owner.read() == ['alice', {'k%d' % number: 10 for number in range(8)}]


# --------------------------------------------------------------------------
# several gunicorn workers on one SQLite file or one Redis server

@pytest.fixture(scope='module', params=['sqlite', 'redis'])
def workers(request, tmp_path_factory):
    """tests/apps/concurrency_app.py on gunicorn with three sync workers, sharing one store."""
    directory = tmp_path_factory.mktemp('workers')
    url = make_store_url(request.param, directory, request)
    (directory / 'logs').mkdir()
    server = AppServer('concurrency_app:app', server='gunicorn', workers=3, start_timeout=30,
                       env={'CANISTER_SESSION_STORE': url, 'CANISTER_LOG_PATH': str(directory / 'logs')})
    server.start()
    yield server
    server.cleanup()
    assert not server.pids(), 'server processes left running'


def _reached(hold: Any) -> Callable[[], bool]:
    """Whether the request held on the file ``hold`` (``?hold=``: tests/apps/concurrency_app.py) got there."""
    return lambda: hold.with_name(hold.name + '.reached').exists()


def test_concurrent_increments_of_different_keys_through_three_workers_are_all_kept(workers):
    owner = logged_in(workers.url)
    answers = collections.defaultdict(list)
    pids = set()

    def client(number):
        def run():
            browser = Browser(workers.url, owner.sid, follow=False)
            for _ in range(8):
                answer = browser.get('/incr?key=k%d&delay=0.01' % number)
                assert answer.status == 200, answer
                answers[number].append(answer.json()['value'])
                pids.add(answer.json()['pid'])
        return run

    assert run_threads([client(number) for number in range(6)]) == []

    for number in range(6):
        assert answers[number] == list(range(1, 9)), answers[number]
    assert owner.read() == ['alice', {'k%d' % number: 8 for number in range(6)}]
    assert len(pids) > 1, 'one worker answered everything: the test shows nothing about processes'


def test_a_login_under_way_in_one_worker_when_end_sessions_ran_in_another_does_not_stay_logged_in(workers, tmp_path):
    name = 'user-late-login'
    logged_in(workers.url, name=name)
    late, result, hold = Browser(workers.url), {}, tmp_path / 'login'
    login = threading.Thread(target=lambda: result.update(answer=late.get('/login?name=%s&hold=%s' % (name, hold))))
    login.start()
    wait_until(_reached(hold), 20, what='the login made in its worker (session.user set), held before it is stored')

    ended = Browser(workers.url).get('/end?name=' + name)
    hold.touch()
    login.join(30)

    assert ended.json()['ended'] == 1, ended
    assert result['answer'].status == 200 and ended.json()['pid'] != result['answer'].json()['pid']
    assert late.sid is None, result['answer']  # no cookie: the session the login made was ended
    assert Browser(workers.url).get('/end?name=' + name).json()['ended'] == 0


def test_a_regenerate_under_way_in_one_worker_when_a_logout_ran_in_another_stores_nothing_and_expires_the_cookie(
        workers, tmp_path):
    owner = logged_in(workers.url, name='user-regenerating', cart='1')
    sid = owner.sid
    result, hold = {}, tmp_path / 'regenerate'
    moving = threading.Thread(target=lambda: result.update(
        answer=Browser(workers.url, sid, follow=False).get('/regenerate?hold=%s' % hold)))
    moving.start()
    wait_until(_reached(hold), 20, what='the move made in its worker (a new id), held before it is stored')

    out = Browser(workers.url, sid, follow=False).get('/logout')
    hold.touch()
    moving.join(30)

    moved = result['answer']
    assert out.status == 200 and moved.status == 200 and out.json()['pid'] != moved.json()['pid'], (out, moved)
    assert moved.new_sid == '', moved  # the cookie is expired, as after any request that outlives a logout
    assert Browser(workers.url, sid).read() == [None, {}]
    assert Browser(workers.url).get('/end?name=user-regenerating').json()['ended'] == 0


@pytest.mark.parametrize('ending', ['logout', 'end_sessions'])
def test_ending_a_session_during_concurrent_writes_through_three_workers_never_brings_it_back(workers, ending):
    owner = logged_in(workers.url, name='user-' + ending, cart='1')
    sid = owner.sid
    started = threading.Event()

    def client(number):
        def run():
            browser = Browser(workers.url, sid, follow=False)  # always the old cookie
            for round_number in range(6):
                answer = browser.get('/incr?key=k%d&delay=0.1' % number)
                assert answer.status == 200, answer
                if round_number == 1:
                    started.set()
        return run

    def end():
        assert started.wait(30)
        if ending == 'logout':
            assert Browser(workers.url, sid, follow=False).get('/logout').status == 200
        else:
            answer = Browser(workers.url).get('/end?name=user-' + ending)
            assert answer.json()['ended'] == 1, answer

    assert run_threads([client(number) for number in range(4)] + [end]) == []

    assert Browser(workers.url, sid).read() == [None, {}]
    time.sleep(0.3)
    assert Browser(workers.url, sid).read() == [None, {}]
