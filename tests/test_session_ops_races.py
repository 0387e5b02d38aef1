"""``regenerate()``, ``end_other_sessions()``, a login and ``plugin.sessions_of`` in a request that
another request of the same user overtakes: a logout or ``end_sessions`` that ends the session, a
``regenerate()`` that moves it, while the first is held open inside its handler.

Real waitress servers on 127.0.0.1, every store canister ships (a real redis-server), handlers
held open on events (``session_kit``).
"""
from __future__ import annotations

import json

import pytest

from canister import session
from helpers import warning_lines
from session_kit import (Browser, add_end_others_routes, expires_cookie, held_across, held_across_moves, logged_in,
                         plugin_of, rotation_app, wait_at_gate)


def ops_app(make_app, url, **config):
    """``rotation_app`` plus ``/end-others``, ``/hold-end-others?name=`` (``add_end_others_routes``),
    ``/hold-devices?name=`` (held, then answering ``sessions_of`` of the session's user) and ``/end-alice``."""
    app = add_end_others_routes(rotation_app(make_app, url, **config))
    plugin = plugin_of(app)

    @app.get('/hold-devices')
    def hold_devices(name):
        wait_at_gate(app, name)
        return json.dumps(plugin.sessions_of(session.user))

    @app.get('/end-alice')
    def end_alice():
        return str(plugin.end_sessions('alice'))

    return app


@pytest.mark.parametrize('held_path', ['/hold-then?name=a&action=regenerate', '/hold-end-others?name=a',
                                       '/hold?name=a&user=bob'])
@pytest.mark.parametrize('ending', ['/logout', '/end-alice'])
def test_a_move_that_loaded_the_session_before_a_logout_or_end_sessions_stores_nothing_and_expires_the_cookie(
        make_app, serve_with_gates, store_url, log_dir, held_path, ending):
    """A ``regenerate()``, ``end_other_sessions()`` or login of someone else that finds its session ended
    answers as any request that outlives a logout: nothing stored, a WARNING, and the cookie expired."""
    app = ops_app(make_app, store_url)
    origin = serve_with_gates(app)
    sid = logged_in(origin, cart='3').sid

    held = held_across(app, origin, sid, held_path, ending)

    assert held.status == 200, held
    assert held.set_cookies and all(expires_cookie(cookie) for cookie in held.set_cookies), held
    assert Browser(origin, sid).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == [] and plugin_of(app).sessions_of('bob') == []
    assert any('was ended (logout) by another request' in line for line in warning_lines(log_dir)), \
        warning_lines(log_dir)


def test_sessions_of_in_a_request_whose_session_a_parallel_regenerate_moved_lists_it_once_as_current(
        make_app, serve_with_gates, store_url):
    app = ops_app(make_app, store_url)
    origin = serve_with_gates(app)
    elsewhere = logged_in(origin)  # alice on another device
    browser = logged_in(origin)

    held = held_across_moves(app, origin, browser, '/hold-devices?name=a', '/regenerate')

    assert held.status == 200, held
    assert sorted(entry['current'] for entry in held.json()) == [False, True], held
    assert elsewhere.read()[0] == 'alice' and browser.read()[0] == 'alice'


def test_sessions_of_in_a_request_whose_session_a_parallel_logout_ended_lists_no_current_session(
        make_app, serve_with_gates, store_url):
    app = ops_app(make_app, store_url)
    origin = serve_with_gates(app)
    logged_in(origin)  # alice on another device
    sid = logged_in(origin).sid

    held = held_across(app, origin, sid, '/hold-devices?name=a', '/logout')

    assert held.status == 200, held
    assert [entry['current'] for entry in held.json()] == [False], held
