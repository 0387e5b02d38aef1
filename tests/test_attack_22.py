"""Attack review 22: attacks that found a defect, each against a real server on 127.0.0.1.

* ``session.end_other_sessions()`` kept the current session's id: a thief holding a copy of this very
  cookie (the device its owner means to log out) stayed logged in.  It moves the session to a new id
  now, which only its own answer carries (every store canister ships, a real redis-server).
* the demo logged out on a GET, which any site's page makes a browser send with the session cookie (a
  link followed): a POST only now, as the README tells apps to do.
"""
from __future__ import annotations

import canister
from helpers import basic
from servers import Client
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

# -- the demo's logout -----------------------------------------------------------------------

def test_a_link_on_another_site_does_not_log_the_demos_user_out(serve):
    """A GET is what any site's page makes a browser send, with the session cookie (``SameSite=Lax``
    sends it on a link followed): the README says to keep GET handlers free of side effects, and the
    demo, the first app a newcomer reads, logs out on a POST only."""
    origin = serve(canister._demo_app(None))
    browser = Client(origin)
    assert browser.get('/').status == 200  # the demo's page: a session (its counter)
    assert browser.get('/api/me', headers={'Authorization': basic('alice', 'my-secret')}).status == 200

    followed = browser.get('/logout', headers={'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate',
                                               'Referer': 'https://elsewhere.example/'})

    assert followed.status == 405
    assert browser.get('/api/me').json() == {'user': 'alice'}
    own = browser.request('POST', '/logout', headers={'Sec-Fetch-Site': 'same-origin', 'Origin': origin})
    assert own.json() == {'logged_out': True}
    assert browser.get('/api/me').status == 401
