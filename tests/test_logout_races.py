"""A logout whose handler then fails (``session.invalidate()``, then a 500) against other requests of the same
session and ``end_sessions`` from another thread: the session stays ended whatever comes in between.

Real waitress servers, every store canister ships (a real redis-server), handlers held open on events.
"""
from __future__ import annotations

from canister import session
from helpers import read_log
from session_kit import Browser, hold_request, logged_in, plugin_of, rotation_app


def failing_logout_app(make_app, store_url):
    """``rotation_app`` (Bottle's catchall on) plus ``/invalidate-then-fail?name=``: a logout held after its
    ``invalidate()``, whose handler then raises (a 500)."""
    app = rotation_app(make_app, store_url, catchall=True)

    @app.get('/invalidate-then-fail')
    def invalidate_then_fail(name):
        held = app.gates(name)
        session.invalidate()
        held.loaded.set()
        assert held.release.wait(30), 'the test never released gate %s' % name
        raise ValueError('the audit log could not be written')

    return app


def test_a_failing_logout_ends_the_session_that_another_request_saved_meanwhile(make_app, serve_with_gates, store_url):
    app = failing_logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice', cart='1')
    origin = 'http://%s:%d' % (browser.host, browser.port)
    release = hold_request(app, origin, browser.sid, '/invalidate-then-fail?name=out')

    assert Browser(origin, browser.sid).get('/set?key=cart&value=2').status == 200  # (stored while the logout runs)
    failed = release()

    assert failed.status == 500 and failed.new_sid == '', failed
    assert Browser(origin, browser.sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_request_that_loaded_the_session_before_a_failing_logout_cannot_bring_it_back(
        make_app, serve_with_gates, store_url):
    app = failing_logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice', cart='1')
    origin = 'http://%s:%d' % (browser.host, browser.port)
    release_cart = hold_request(app, origin, browser.sid, '/hold?name=cart&key=cart&value=2')
    release_logout = hold_request(app, origin, browser.sid, '/invalidate-then-fail?name=out')

    assert release_logout().status == 500
    cart = release_cart()

    assert cart.status == 200 and cart.new_sid == '', cart  # it learns that the session ended: its cookie expires
    assert Browser(origin, browser.sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


def test_a_failing_logout_after_end_sessions_ended_its_session_still_expires_the_cookie_without_an_error(
        make_app, serve_with_gates, store_url, log_dir):
    app = failing_logout_app(make_app, store_url)
    browser = logged_in(serve_with_gates(app), 'alice')
    origin = 'http://%s:%d' % (browser.host, browser.port)
    release = hold_request(app, origin, browser.sid, '/invalidate-then-fail?name=out')

    assert plugin_of(app).end_sessions('alice') == 1
    failed = release()

    assert failed.status == 500 and failed.new_sid == '', failed
    assert plugin_of(app).sessions_of('alice') == []
    assert 'could not be ended in the store' not in read_log(log_dir)
