"""Claims of README's CORS and CSRF sections that only a real browser decides, in headless Chromium.

A page on one waitress origin calls an app with canister on another origin of the same site
(both on 127.0.0.1), so a ``Lax`` session cookie of the app would ride along if the browser let it; or, as
``localhost``, a page of another site, which a ``Lax`` cookie never goes with.
"""
from urllib.parse import urlencode

import bottle
import pytest

import canister
from helpers import COOKIE, Server, SignalRecorder, open_self_submitting_form, page_app, page_fetch, transfer_app


@pytest.fixture(scope="module")
def page_origin():
    """The origin of the page that calls the app."""
    server = Server(page_app())
    yield server
    server.close()


@pytest.fixture
def star_app(make_app):
    """An app with ``cors = *`` on its own origin: GET /remember starts a session, PUT /change records
    the Cookie header each call brought; (its server, the list of recorded headers)."""
    seen = []
    app = make_app(cors="*")

    @app.get("/remember")
    def remember():
        canister.session.data["seen"] = True
        return "remembered"

    @app.put("/change")
    def change():
        seen.append(bottle.request.get_header("Cookie"))
        return "changed"

    server = Server(app)
    yield server, seen
    server.close()


def test_with_cors_star_a_preflighted_request_never_carries_the_cookie_to_the_app(page, page_origin, star_app):
    server, seen = star_app
    page.goto(server.url("/remember"))
    assert [cookie["name"] for cookie in page.context.cookies(server.origin)] == [COOKIE]
    page.goto(page_origin.url("/"))

    with_cookie = page_fetch(page, server.url("/change"), method="PUT", credentials="include")
    without = page_fetch(page, server.url("/change"), method="PUT")

    assert not with_cookie["ok"], with_cookie  # `*` grants no credentials: the browser stops after the preflight
    assert (without["ok"], without.get("status"), without.get("body")) == (True, 200, "changed")
    assert seen == [None]  # the one PUT that reached the app came without the cookie


def test_with_cors_star_a_form_of_another_origin_is_refused(page, page_origin, log_dir, uninstall_at_end):
    app = uninstall_at_end(transfer_app())
    app.install(canister.Canister(cors="*", log_path=str(log_dir)))
    server = Server(app)
    try:
        transfer_url = server.url("/transfer")
        form_page = page_origin.url("/form?" + urlencode({"action": transfer_url, "amount": "5"}))
        refused = open_self_submitting_form(page, form_page, transfer_url)
    finally:
        server.close()
    assert refused.status == 403
    assert app.transfers == []



def test_with_cors_credentials_alone_a_page_of_another_site_gets_no_session_cookie_through(page, page_origin, make_app):
    """The page is on ``localhost``, the app on ``127.0.0.1``: another site, so the app's ``Lax`` cookie, set when
    the user visited the app itself, stays home (``session_samesite = None`` is needed too)."""
    other_site = "http://localhost:%d" % page_origin.port
    app = make_app(cors=other_site, cors_credentials=True)

    @app.get("/counter")
    def counter():
        count = canister.session.data.get("count", 0)
        canister.session.data["count"] = count + 1
        return str(count)

    recorder = SignalRecorder(app)
    server = Server(recorder)
    try:
        for _ in range(2):
            page.goto(server.url("/counter"))
        assert page.inner_text("body") == "1"  # the app's own pages keep their session
        page.goto(other_site + "/")
        counts = [page_fetch(page, server.url("/counter"), credentials="include") for _ in range(2)]
    finally:
        server.close()
    assert [(c["ok"], c["body"]) for c in counts] == [(True, "0"), (True, "0")], counts  # a new session each time
    sent = [cookie for (_, path, _, _), cookie in zip(recorder.seen, recorder.cookies) if path == "/counter"]
    assert sent[1] is not None and sent[2:] == [None, None], sent  # the cookie stays home, the browser keeps it
