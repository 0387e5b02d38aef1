"""Attack review 22: a stolen cookie used while its owner logs out every other device.

Real waitress servers, every store canister ships (a real redis-server).
"""
from __future__ import annotations

from session_kit import Browser, logged_in, plugin_of
from test_end_sessions_races import end_others_app


def test_end_other_sessions_leaves_a_copy_of_the_current_cookie_worthless(make_app, serve_with_gates, store_url):
    """The owner fears a stolen cookie and logs out every other device: the thief's copy of this very
    cookie is one of them, so the session moves to a new id that only the owner's answer carries."""
    app = end_others_app(make_app, store_url)
    origin = serve_with_gates(app)
    owner = logged_in(origin, 'alice', cart='3')
    thief = Browser(origin, owner.sid, follow=False)
    assert thief.read() == ['alice', {'cart': '3'}]

    answer = owner.get('/end-others')

    assert answer.status == 200 and answer.text == '0', answer
    assert answer.new_sid not in (None, '', thief.sid), answer
    assert thief.read() == [None, {}]
    assert owner.read() == ['alice', {'cart': '3'}]
    assert len(plugin_of(app).sessions_of('alice')) == 1
