"""The note ``end_sessions`` leaves under ``ended:<user key>`` for a login under way, attacked: under the
memory store's bound on markers, at the very instant ``end_sessions`` returns, and named by a cookie
(on a real Redis Cluster: tests/test_redis_topologies.py).  Real stores, real servers."""
from __future__ import annotations

import pytest

from session_kit import STORES, Browser, hold_request, logged_in, make_store_url, plugin_of
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
