"""A logout sent with the cookie a move had just replaced (``regenerate()``, ``end_other_sessions()``, a login):
the browser's request left before the move's answer came back, so it names the old id, which holds the move's
marker by the time the logout reads it.  The logout follows the marker and ends the session where it went, and
its answer expires the cookie, whichever answer reaches the browser last.

Real servers on 127.0.0.1, every store canister ships (a real redis-server), handlers held open on gates where
two requests overlap.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Dict

import pytest

from canister import session
from helpers import read_log, readme_section
from session_kit import Browser, anonymous, hold_request, logged_in, plugin_of, rotation_app, run_threads

FOLLOWED = 'before this logout came with it'


def logout_app(make_app: Any, store_url: str) -> Any:
    """``rotation_app`` plus ``/end-others`` (``end_other_sessions()``) and ``/wait-then-logout?name=``: a logout
    whose handler waits on its gate before it touches the session, then calls ``invalidate()``."""
    app = rotation_app(make_app, store_url)

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    @app.get('/wait-then-logout')
    def wait_then_logout(name):
        held = app.gates(name)
        held.loaded.set()  # (nothing loaded yet: the session is read by invalidate())
        assert held.release.wait(30), 'the test never released gate %s' % name
        session.invalidate()
        return 'bye'

    return app


def origin_of(browser: Browser) -> str:
    return 'http://%s:%d' % (browser.host, browser.port)


def assert_a_logout_with_the_cookie_ends_the_session_it_moved_to(browser: Browser, old: str) -> None:
    """A GET /logout sent with the cookie ``old`` (an id a move replaced) answers 200 expiring the cookie, and the
    session ``browser`` holds now (where the move put it) is ended: read with its id, no user and no data."""
    logout = Browser(origin_of(browser), old).get('/logout')
    assert logout.status == 200 and logout.new_sid == '', logout
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]


def test_a_logout_with_the_cookie_a_regenerate_replaced_ends_the_new_id_and_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice', cart='1')
    old = browser.sid
    assert browser.get('/regenerate').status == 200 and browser.sid != old

    assert_a_logout_with_the_cookie_ends_the_session_it_moved_to(browser, old)
    assert plugin_of(app).sessions_of('alice') == []
    assert 'Session: %s... moved to a new id (login, regenerate) %s: ended there too' % (old[:6], FOLLOWED) \
        in read_log(log_dir)


def test_a_logout_with_the_cookie_end_other_sessions_replaced_ends_the_new_id(make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    other_device = logged_in(origin_of(browser), 'alice')
    old = browser.sid
    assert browser.get('/end-others').text == '1' and browser.sid != old

    assert_a_logout_with_the_cookie_ends_the_session_it_moved_to(browser, old)
    assert other_device.read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_with_the_anonymous_cookie_a_login_replaced_ends_the_login(make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    browser = anonymous(serve_with_gates(app), cart='1')
    old = browser.sid
    assert browser.get('/login?name=alice').status == 200 and browser.sid != old

    assert_a_logout_with_the_cookie_ends_the_session_it_moved_to(browser, old)
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_with_the_cookie_of_two_moves_ago_ends_the_session_where_the_second_put_it(
        make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice', cart='1')
    first = browser.sid
    assert browser.get('/regenerate').status == 200
    assert browser.get('/regenerate').status == 200 and browser.sid != first

    assert_a_logout_with_the_cookie_ends_the_session_it_moved_to(browser, first)
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_with_a_moved_cookie_whose_new_id_was_ended_already_expires_it_and_ends_no_one_else(
        make_app, serve_with_gates, store_url, log_dir):
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    other_device = logged_in(origin_of(browser), 'alice', cart='2')
    old = browser.sid
    assert browser.get('/regenerate').status == 200
    assert browser.get('/logout').status == 200 and browser.sid is None  # (the new id ended by its own logout)

    logout = Browser(origin_of(browser), old).get('/logout')

    assert logout.status == 200 and logout.new_sid == '', logout
    assert other_device.read() == ['alice', {'cart': '2'}]
    assert "Session: %s... moved to a new id (login, regenerate) %s: nothing was left to end there" % (
        old[:6], FOLLOWED) in read_log(log_dir)


def test_a_logout_whose_cookie_a_regenerate_replaced_while_its_handler_waited_ends_the_new_id(
        make_app, serve_with_gates, store_url):
    """Two requests at once: the logout's handler starts first, the regenerate runs to its end (its answer gives
    the browser the new id), and only then does the logout read its session, under the old id."""
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    old = browser.sid
    release = hold_request(app, origin_of(browser), old, '/wait-then-logout?name=out')

    assert browser.get('/regenerate').status == 200 and browser.sid != old
    logout = release()

    assert logout.status == 200 and logout.new_sid == '', logout
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_following_a_move_while_end_sessions_ends_the_new_id_answers_200_and_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """The logout loads (finding the marker), then ``end_sessions`` from another thread (an admin's) ends the
    session where it moved before the logout ends it: the logout ends nothing more, and the cookie still goes."""
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    old = browser.sid
    assert browser.get('/regenerate').status == 200
    release = hold_request(app, origin_of(browser), old, '/hold-then?name=out&action=invalidate')

    assert plugin_of(app).end_sessions('alice') == 1
    logout = release()

    assert logout.status == 200 and logout.new_sid == '', logout
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]
    assert 'ERROR' not in read_log(log_dir)


def sent_at_once(origin: str, sid: str, path: str, barrier: threading.Barrier, answers: Dict[str, Any],
                 delay: float = 0.0) -> Any:
    """What a thread runs to send ``path`` with the cookie ``sid`` ``delay`` seconds after every thread of
    ``barrier`` is there, its answer kept in ``answers[path]``."""
    def run() -> None:
        barrier.wait(30)
        time.sleep(delay)
        answers[path] = Browser(origin, sid, follow=False).get(path)
    return run


@pytest.mark.parametrize('logout', ['/logout', '/anonymous'])  # (invalidate(), session.user = None)
def test_a_regenerate_and_a_logout_sent_at_once_never_leave_a_cookie_of_either_answer_logged_in(
        make_app, serve_with_gates, store_url, logout):
    """The attack's script: the same cookie sent with a ``regenerate()`` and a logout (``invalidate()``, or
    ``session.user = None``) at about the same moment, round after round; whichever runs first, no cookie (the old
    one, or one an answer handed out) is logged in after."""
    app = logout_app(make_app, store_url)
    origin = serve_with_gates(app)
    alive = []
    for round_ in range(16):  # (the logout sent 0 to 15 ms after the regenerate: before, during or after its move)
        sid = logged_in(origin, 'alice').sid
        answers: Dict[str, Any] = {}
        barrier = threading.Barrier(2)
        assert run_threads([sent_at_once(origin, sid, '/regenerate', barrier, answers),
                            sent_at_once(origin, sid, logout, barrier, answers, round_ / 1000)]) == []
        assert answers[logout].status == 200, answers[logout]
        handed = {answer.new_sid for answer in answers.values() if answer.new_sid} | {sid}
        alive += [cookie for cookie in handed if Browser(origin, cookie).read()[0] == 'alice']
    assert alive == []
    assert plugin_of(app).sessions_of('alice') == []


def test_a_logout_by_user_none_with_the_cookie_a_regenerate_replaced_ends_the_new_id_and_gives_a_new_anonymous_one(
        make_app, serve_with_gates, store_url, log_dir):
    """``session.user = None`` is a logout too: with the old cookie it ends the session where the move took it,
    then gives a new anonymous session, as it does without the race."""
    app = logout_app(make_app, store_url)
    browser = anonymous(serve_with_gates(app), cart='1')
    old = browser.sid
    assert browser.get('/login?name=alice').status == 200
    login_id = browser.sid
    assert browser.get('/regenerate').status == 200 and browser.sid not in (old, login_id)

    logout = Browser(origin_of(browser), login_id).get('/anonymous')

    assert logout.status == 200 and logout.new_sid not in (None, '', old, login_id, browser.sid), logout
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]
    assert Browser(origin_of(browser), logout.new_sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []
    assert 'Session: %s... moved to a new id (login, regenerate) %s: ended there too' % (login_id[:6], FOLLOWED) \
        in read_log(log_dir)


def test_a_logout_by_user_none_with_the_anonymous_cookie_a_login_replaced_ends_the_login(
        make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    browser = anonymous(serve_with_gates(app), cart='1')
    old = browser.sid
    assert browser.get('/login?name=alice').status == 200 and browser.sid != old

    logout = Browser(origin_of(browser), old).get('/anonymous')

    assert logout.status == 200 and logout.new_sid not in (None, '', old, browser.sid), logout
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_the_readme_says_a_logout_with_the_cookie_a_move_replaced_ends_the_new_id():
    sessions = readme_section('## Sessions')
    assert 'A logout that comes after the move, with the old cookie' in sessions
    assert 'ending is the safe failure' in sessions
    assert 'tests/test_logout_after_a_move.py' in sessions
    assert ('then `invalidate()` expires the cookie, and `session.user = None` gives a new anonymous session, as it '
            'does without the race') in sessions


def test_the_readme_says_an_id_known_before_login_gives_no_access_after_it_but_its_logout_ends_the_login():
    fixation = readme_section('## Sessions').split('**Ids and fixation.**', 1)[1].split('\n', 1)[0]
    upgrading = readme_section('## Upgrading from canister 1.x')
    assert 'worthless' not in fixation and 'worthless after' not in upgrading
    assert ('so an id known before login gives no access after it (for the minute of its move\'s marker, a logout '
            'sent with it still ends the login: see *A logout after a move, with the old cookie* below)') in fixation
    assert ('so an id known before login gives no access after it (session fixation; for a minute, a logout sent with '
            'it still ends the login: see *A logout after a move, with the old cookie* under [Sessions](#sessions))'
            ) in upgrading


def test_a_logout_whose_session_another_logout_ended_while_its_handler_waited_expires_the_cookie(
        make_app, serve_with_gates, store_url):
    """Two logouts of the same session in flight: the first ends it, and the second, reading it only then, finds it
    ended; its answer expires the cookie too (the browser asked to log out), whichever answer comes back last."""
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice', cart='1')
    release = hold_request(app, origin_of(browser), browser.sid, '/wait-then-logout?name=second')

    first = Browser(origin_of(browser), browser.sid, follow=False).get('/logout')
    second = release()

    assert first.status == 200 and first.new_sid == '', first
    assert second.status == 200 and second.new_sid == '', second
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]


def test_a_logout_sent_again_with_the_cookie_of_a_session_just_ended_expires_it_again(
        make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    sid = browser.sid
    assert Browser(origin_of(browser), sid).get('/logout').new_sid == ''

    again = Browser(origin_of(browser), sid).get('/logout')

    assert again.status == 200 and again.new_sid == '', again


def test_a_second_logout_with_the_cookie_a_move_replaced_after_a_stale_logout_ended_it_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """The first logout loaded the session before a ``regenerate()`` moved it and ended it where it went; a second
    logout sent with the old cookie after that still expires the cookie, and ends no one else."""
    app = logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    other_device = logged_in(origin_of(browser), 'alice', cart='2')
    old = browser.sid
    release = hold_request(app, origin_of(browser), old, '/hold-then?name=stale&action=invalidate')
    assert browser.get('/regenerate').status == 200 and browser.sid != old
    assert release().new_sid == ''

    second = Browser(origin_of(browser), old).get('/logout')

    assert second.status == 200 and second.new_sid == '', second
    assert Browser(origin_of(browser), browser.sid).read() == [None, {}]
    assert other_device.read() == ['alice', {'cart': '2'}]
    assert 'ERROR' not in read_log(log_dir)


def test_the_readme_says_a_logout_whose_cookie_names_an_ended_session_expires_it():
    sessions = readme_section('## Sessions')
    assert ('finds the "ended" marker there for that minute: it ends nothing more, and its answer expires the cookie '
            'too, since the browser asked to log out') in sessions
    assert 'A cookie naming an id the store does not hold at all (expired, or ended more than a minute ago) is left' \
        in sessions


def test_a_logout_with_a_cookie_naming_an_id_the_store_does_not_hold_leaves_the_cookie(
        make_app, serve_with_gates, store_url):
    app = logout_app(make_app, store_url)
    logout = Browser(serve_with_gates(app), 'x' * 43).get('/logout')
    assert logout.status == 200 and logout.new_sid is None, logout
