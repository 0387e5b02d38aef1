"""Attack review 22: attacks that found a defect, each against a real server on 127.0.0.1.

* ``session.end_other_sessions()`` kept the current session's id: a thief holding a copy of this very
  cookie (the device its owner means to log out) stayed logged in.  It moves the session to a new id
  now, which only its own answer carries (every store canister ships, a real redis-server).
* with ``cors = *``, a POST whose content type no form sends counted as preflighted, but a browser sends
  some such POSTs by itself, with no preflight: a link's ``ping`` (``text/ping``, its query bound to the
  handler's parameters) from another origin of the same site, with the ``Lax`` session cookie, ran the
  handler (tests/test_browser_csrf.py, in Chromium).  They are refused now, and so is any POST whose
  ``Sec-Fetch-Mode`` says the browser sent no preflight.
* the demo logged out on a GET, which any site's page makes a browser send with the session cookie (a
  link followed): a POST only now, as the README tells apps to do.
"""
from __future__ import annotations

import pytest

import canister
from helpers import basic, client, warning_lines
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


# -- cors = * and the requests a browser sends by itself -----------------------------------

FOREIGN = 'https://other.example'


def star_app(make_app):
    """An app with ``cors = *`` whose POST /transfer counts its calls in ``app.calls``."""
    app = make_app(cors='*')
    app.calls = []

    @app.post('/transfer')
    def transfer(amount: str = ''):
        app.calls.append(amount)
        return 'done'

    return app


@pytest.mark.parametrize('content_type', ['text/ping', 'application/csp-report', 'application/reports+json',
                                          'application/expect-ct-report+json', 'application/xss-auditor-report',
                                          'application/ocsp-request'])
def test_with_cors_star_a_post_of_a_type_the_browser_sends_by_itself_from_another_origin_is_refused(
        make_app, log_dir, content_type):
    """A link's ping and the reports whose URL a page names go without a preflight (as a browser without
    Sec-Fetch-Mode sends them), and so may the other types the Fetch standard lists as CORS protocol
    exceptions: they are no proof of one, as JSON is."""
    app = star_app(make_app)
    answer = client(app).post('/transfer?amount=5', 'PING', headers={'Origin': FOREIGN, 'Content-Type': content_type},
                              status=403)
    assert 'Cross-site request refused' in answer.text
    assert app.calls == []
    assert any('Cross-site request refused: origin %s' % FOREIGN in line for line in warning_lines(log_dir))


@pytest.mark.parametrize('mode', ['no-cors', 'navigate'])
def test_with_cors_star_a_post_the_browser_calls_no_cors_is_refused_whatever_its_type(make_app, mode):
    """``Sec-Fetch-Mode``, which no page can set, says the browser sent no preflight (a form's POST navigates)."""
    app = star_app(make_app)
    client(app).post('/transfer?amount=5', '{}', headers={'Origin': FOREIGN, 'Content-Type': 'application/x-report',
                                                          'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': mode},
                     status=403)
    assert app.calls == []


def test_with_cors_star_a_preflighted_json_post_from_another_origin_still_passes(make_app):
    app = star_app(make_app)
    answer = client(app).post('/transfer', '{"amount": "5"}', headers={
        'Origin': FOREIGN, 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors'})
    assert answer.text == 'done' and app.calls == ['5']
