"""CSRF in a real headless Chromium: what the browser itself says in Sec-Fetch-Site decides.

The API app (canister installed) runs on ``http://127.0.0.1:<B>``.  Pages come from a plain
Bottle app (no canister) on two more ports: ``http://localhost:<E>`` is another *site*
(a different host), ``http://127.0.0.1:<A>`` is the same site on another origin.  Chromium
labels each request's ``Sec-Fetch-Site`` by itself; a recorder in front of the API keeps
what arrived, so each test checks the signal canister judged as well as the answer.
Requirements are those of tests/test_browser.py (Playwright and /usr/bin/chromium).
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from helpers import (Server, SignalRecorder, open_self_submitting_form, page_app, page_fetch, read_log,
                     transfer_app)
from servers import wait_until

import canister


@pytest.fixture(scope='module')
def pages():
    """The page app, served on two ports: (same-site origin A, cross-site origin E on localhost)."""
    same_site, cross_site = Server(page_app()), Server(page_app())
    yield same_site, cross_site
    same_site.close()
    cross_site.close()


@pytest.fixture
def api(tmp_path):
    """An app with canister on 127.0.0.1:<B>: a /transfer form target and a page of its own."""
    servers = []

    def start(host=None, **config):
        app = transfer_app()

        @app.get('/page')
        def own_page():
            return '<!doctype html><title>own page</title><p>own page</p>'

        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), **config))
        recorder = SignalRecorder(app, host)
        server = Server(recorder)
        servers.append((server, app))
        return server, recorder, app.transfers

    yield start
    for server, app in servers:
        server.close()
        app.close()


def test_a_cross_site_form_post_is_refused_on_the_browsers_word(page, pages, api):
    _, cross_site = pages
    server, recorder, transfers = api()
    transfer_url = server.url('/transfer')
    evil_page = 'http://localhost:%d/form?%s' % (cross_site.port, urlencode({'action': transfer_url, 'amount': '5'}))

    refused = open_self_submitting_form(page, evil_page, transfer_url)

    assert refused.status == 403
    assert transfers == []
    assert recorder.posts() == [('POST', '/transfer', 'cross-site', 'http://localhost:%d' % cross_site.port)]


def test_a_same_site_form_post_from_an_origin_not_allowed_is_refused(page, pages, api):
    same_site, _ = pages
    server, recorder, transfers = api()
    transfer_url = server.url('/transfer')

    refused = open_self_submitting_form(
        page, same_site.url('/form?' + urlencode({'action': transfer_url, 'amount': '5'})), transfer_url)

    assert refused.status == 403
    assert transfers == []
    assert recorder.posts() == [('POST', '/transfer', 'same-site', same_site.origin)]


def test_a_same_site_form_post_from_an_origin_listed_in_cors_passes(page, pages, api):
    same_site, _ = pages
    server, recorder, transfers = api(cors=same_site.origin)
    transfer_url = server.url('/transfer')

    accepted = open_self_submitting_form(
        page, same_site.url('/form?' + urlencode({'action': transfer_url, 'amount': '5'})), transfer_url)

    assert accepted.status == 200
    assert transfers == ['5']
    assert recorder.posts() == [('POST', '/transfer', 'same-site', same_site.origin)]


def test_a_same_origin_fetch_post_passes(page, pages, api):
    server, recorder, transfers = api()
    page.goto(server.url('/page'))

    result = page_fetch(page, server.url('/transfer'), method='POST',
                        headers={'Content-Type': 'application/x-www-form-urlencoded'}, body='amount=7')

    assert result['ok'], result
    assert result['status'] == 200
    assert transfers == ['7']
    assert recorder.posts() == [('POST', '/transfer', 'same-origin', server.origin)]


def test_a_same_origin_post_passes_even_when_a_proxy_hides_the_public_host(page, pages, api):
    # Judged by Origin alone, http://127.0.0.1:<B> against the Host the app sees (backend:8000)
    # would be foreign; the browser's own Sec-Fetch-Site says it is not.
    server, recorder, transfers = api(host='backend:8000')
    page.goto(server.url('/page'))

    result = page_fetch(page, server.url('/transfer'), method='POST',
                        headers={'Content-Type': 'application/x-www-form-urlencoded'}, body='amount=9')

    assert result['status'] == 200, result
    assert transfers == ['9']
    assert recorder.posts() == [('POST', '/transfer', 'same-origin', server.origin)]


def test_a_same_origin_form_post_passes_though_no_referrer_makes_its_origin_null(page, api):
    # Under Referrer-Policy: no-referrer the browser names no origin on a form's POST, even the
    # page's own (Origin: null, no Referer); its Sec-Fetch-Site still says same-origin.
    server, recorder, transfers = api(referrer_policy='no-referrer')
    page.goto(server.url('/page'))

    with page.expect_navigation(url=server.url('/transfer')) as navigation:
        page.evaluate("""() => {
                           const form = document.createElement('form');
                           form.method = 'post';
                           form.action = '/transfer';
                           form.innerHTML = '<input type="hidden" name="amount" value="3">';
                           document.body.appendChild(form);
                           form.submit();
                         }""")

    assert navigation.value.status == 200
    assert transfers == ['3']
    assert recorder.posts() == [('POST', '/transfer', 'same-origin', 'null')]


def test_a_same_site_form_post_that_names_no_origin_is_refused_though_cors_lists_null(page, pages, api):
    # A page of another origin of the same site, under no-referrer, posts a form: the browser sends
    # Origin: null and Sec-Fetch-Site: same-site (and a SameSite=Lax cookie with it). A null listed in cors
    # (which lets in the app's own such forms from browsers that send no Sec-Fetch-Site) does not let it in.
    same_site, _ = pages
    server, recorder, transfers = api(cors='null', referrer_policy='no-referrer')
    transfer_url = server.url('/transfer')
    page.goto(same_site.url('/'))

    with page.expect_navigation(url=transfer_url) as navigation:
        page.evaluate("""url => {
                           const meta = document.createElement('meta');
                           meta.name = 'referrer';
                           meta.content = 'no-referrer';
                           document.head.appendChild(meta);
                           const form = document.createElement('form');
                           form.method = 'post';
                           form.action = url;
                           form.innerHTML = '<input type="hidden" name="amount" value="5">';
                           document.body.appendChild(form);
                           form.submit();
                         }""", transfer_url)

    assert navigation.value.status == 403
    assert transfers == []
    assert recorder.posts() == [('POST', '/transfer', 'same-site', 'null')]


def test_a_links_ping_from_another_origin_of_the_same_site_is_refused_under_cors_star(page, pages, api, tmp_path):
    """A link's ``ping`` is a POST the browser sends by itself, with no preflight, though its content type
    (``text/ping``) is none a form sends; from another origin of the same site it carries a ``Lax`` session
    cookie, and its query reaches the handler's parameters."""
    same_site, _ = pages
    server, recorder, transfers = api(cors='*')
    page.goto(same_site.url('/'))

    page.evaluate("url => { const link = document.createElement('a'); link.href = '/'; link.ping = url;"
                  " document.body.appendChild(link); link.click(); }", server.url('/transfer?amount=5'))

    wait_until(lambda: 'Cross-site request refused' in read_log(tmp_path / 'logs'), 10, what='the refusal of the ping')
    assert recorder.posts() == [('POST', '/transfer', 'same-site', same_site.origin)]
    assert transfers == []
