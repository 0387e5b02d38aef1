"""A request whose session the store no longer holds at all when it saves (no record, no marker)
stores nothing and leaves the browser's cookie alone, unless it is a login, which keeps the person
logged in, in a new session; one whose session another request ended meanwhile (the "ended" marker
is there) expires the cookie.

The marker a login or logout leaves on the old id lives a minute: a request that loaded the session
before and runs longer finds nothing under the id, while the browser's cookie is by then the new id
of a login.  ``store.delete(old id)`` stands for that minute running out (or for a store that lost
the marker: a Redis restarted without persistence).  Real waitress servers, every store canister
ships (a real redis-server), handlers held open on events.
"""
from __future__ import annotations

import pytest

from canister import session
from helpers import warning_lines
from session_kit import (Browser, anonymous, expires_cookie, held_across_moves, hold_request, logged_in, plugin_of, rotation_app,
                         served_rotation_app)

#: The held request: one that changes the session, and one that only reads a remembered session
#: (whose answer sends the cookie again once the store confirms that the session lives).
HELD = {'changing': '/hold?name=a&key=note&value=late', 'reading': '/hold?name=a'}


def add_held_stream(app, path, late):
    """``GET path?name=G``: a streamed body that loads the session and sends its first chunk, waits
    until the test releases gate G, then calls ``late()`` and sends its second chunk."""
    @app.get(path)
    def stream(name):
        held = app.gates(name)
        session.data.get('')
        held.loaded.set()
        yield 'first '
        assert held.release.wait(30), 'the test never released gate %s' % name
        late()
        yield 'second'


def absent_lines(log_dir):
    return [line for line in warning_lines(log_dir) if 'is no longer in the store' in line]


@pytest.mark.parametrize('held_kind', sorted(HELD))
@pytest.mark.parametrize('before_login', ['nothing', 'logout'])
def test_a_request_that_outlived_the_old_ids_marker_leaves_the_browsers_new_login_alone(
        make_app, serve_with_gates, store_url, log_dir, held_kind, before_login):
    """The browser logs in (after logging out, or straight from its anonymous session) while a request
    of its old id runs; the old id's marker is gone by the time that request saves."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, cart='3')
    assert browser.get('/remember').status == 200
    old = browser.sid
    release = hold_request(app, origin, old, HELD[held_kind])

    if before_login == 'logout':
        assert browser.get('/logout').status == 200 and browser.sid is None
    assert browser.get('/login?name=alice').status == 200 and browser.sid not in (None, old)
    plugin_of(app).sessions.store.delete(old)  # the marker's minute runs out
    held = release()

    assert held.status == 200 and held.text == 'held', held
    assert held.set_cookies == [], held
    assert browser.read() == ['alice', {'cart': '3'} if before_login == 'nothing' else {}]
    assert Browser(origin, old).read() == [None, {}]
    assert len(absent_lines(log_dir)) == 1, warning_lines(log_dir)


def test_a_request_that_loaded_the_session_before_a_logout_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir):
    """The logout's "ended" marker is still there when the held request saves."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, cart='3')
    old = browser.sid
    release = hold_request(app, origin, old, HELD['changing'])

    assert browser.get('/logout').status == 200
    held = release()

    assert held.status == 200, held
    assert [expires_cookie(cookie) for cookie in held.set_cookies] == [True], held
    assert Browser(origin, old).read() == [None, {}]
    assert any('was ended (logout) by another request' in line for line in warning_lines(log_dir)), \
        warning_lines(log_dir)
    assert absent_lines(log_dir) == []


def test_a_change_streamed_after_the_old_ids_marker_is_gone_says_so_and_leaves_the_login(
        make_app, serve_with_gates, store_url, log_dir):
    """A streamed body changes the session after its first chunk (saved when the server closes the
    body, with no cookie to send): the WARNING says the session is no longer in the store."""
    app = rotation_app(make_app, store_url)
    add_held_stream(app, '/stream', lambda: session.data.update(note='late'))

    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='3')
    old = browser.sid
    held = held_across_moves(app, origin, browser, '/stream?name=s', '/login?name=alice',
                             meanwhile=lambda: plugin_of(app).sessions.store.delete(old))

    assert held.status == 200 and held.text == 'first second', held
    assert held.set_cookies == [], held
    assert browser.read() == ['alice', {'cart': '3'}]
    assert len(absent_lines(log_dir)) == 1, warning_lines(log_dir)


def kept_login_lines(log_dir):
    return [line for line in warning_lines(log_dir) if 'the login was kept in a new session' in line]


@pytest.mark.parametrize('before', ['anonymous', 'bob'])
def test_a_login_whose_session_vanished_while_it_ran_is_kept_in_a_new_session(
        make_app, serve_with_gates, store_url, log_dir, before):
    """The session a login request loaded is gone when it saves (it expired meanwhile, or the store
    lost it): the credentials were checked, so the person is logged in, in a new session."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = anonymous(origin, cart='3') if before == 'anonymous' else logged_in(origin, 'bob', cart='3')
    old = browser.sid
    release = hold_request(app, origin, old, '/hold?name=a&user=alice&key=note&value=x')

    plugin_of(app).sessions.store.delete(old)
    held = release()

    assert held.status == 200 and held.text == 'held', held
    assert held.new_sid not in (None, '', old), held
    user, data = Browser(origin, held.new_sid).read()
    assert user == 'alice'
    assert data == ({'cart': '3', 'note': 'x'} if before == 'anonymous' else {}), data  # bob's data stays his
    assert Browser(origin, old).read() == [None, {}]
    assert len(kept_login_lines(log_dir)) == 1, warning_lines(log_dir)
    assert absent_lines(log_dir) == []


@pytest.mark.parametrize('action', ['regenerate', 'anonymous'])
def test_a_new_id_for_a_session_that_vanished_meanwhile_is_not_stored(
        make_app, serve_with_gates, store_url, log_dir, action):
    """Not a login (``regenerate()``, a logout by ``session.user = None``): a session gone from the
    store while the request ran stays gone, and the browser's cookie is left alone."""
    app, origin = served_rotation_app(make_app, serve_with_gates, store_url)
    browser = logged_in(origin, 'alice', cart='3')
    old = browser.sid
    release = hold_request(app, origin, old, '/hold-then?name=h&action=' + action)

    plugin_of(app).sessions.store.delete(old)
    held = release()

    assert held.status == 200 and held.text == 'done', held
    assert held.set_cookies == [], held
    assert Browser(origin, old).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []
    assert len(absent_lines(log_dir)) == 1 and kept_login_lines(log_dir) == [], warning_lines(log_dir)


def test_a_logout_streamed_after_the_answer_started_still_ends_the_session_for_requests_in_flight(
        make_app, serve_with_gates, store_url, log_dir):
    """A streamed body calls ``invalidate()`` after its first chunk, then stores something (which
    needs a new cookie it can no longer send: not stored).  The session still ends as any logout
    does: a request that loaded it before learns that it was ended, and expires the cookie."""
    app = rotation_app(make_app, store_url)

    def log_out_then_store():
        session.invalidate()
        session.data['after'] = 'logout'

    add_held_stream(app, '/stream-logout', log_out_then_store)

    origin = serve_with_gates(app)
    browser = logged_in(origin, 'alice', cart='3')
    old = browser.sid
    release_other = hold_request(app, origin, old, HELD['changing'])
    streamed = hold_request(app, origin, old, '/stream-logout?name=s')()
    assert streamed.status == 200 and streamed.text == 'first second', streamed

    other = release_other()

    assert other.status == 200, other
    assert [expires_cookie(cookie) for cookie in other.set_cookies] == [True], other
    assert Browser(origin, old).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []
    assert any('was ended (logout) by another request' in line for line in warning_lines(log_dir)), \
        warning_lines(log_dir)
    assert absent_lines(log_dir) == []
