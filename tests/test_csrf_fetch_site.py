"""CSRF: the browser's Sec-Fetch-Site first, and credentials a browser sends by itself never exempt."""
from __future__ import annotations

import bottle
import pytest

from helpers import client

from canister import session

OWN = 'http://localhost'
APP = 'https://app.example.com'
EVIL = 'https://evil.example.net'
FORM = 'application/x-www-form-urlencoded'


def target_app(make_app, **overrides):
    """An app with a login route and a /target that records every call."""
    app = make_app(**overrides)
    app.calls = []

    @app.get('/login')
    def login():
        session.user = 'alice'
        return 'in'

    @app.route('/target', method=['GET', 'POST', 'PUT', 'DELETE'])
    def target():
        app.calls.append(bottle.request.method)
        return 'done'

    return app


def post(test_client, site=None, origin=None, referer=None, content_type=FORM, method='POST', **headers):
    if site is not None:
        headers['Sec-Fetch-Site'] = site
    if origin is not None:
        headers['Origin'] = origin
    if referer is not None:
        headers['Referer'] = referer
    headers['Content-Type'] = content_type
    body = '{"a": 1}' if content_type == 'application/json' else 'a=1'
    return test_client.request('/target', method=method, body=body.encode(), headers=headers, expect_errors=True)


# -- credentials a browser attaches by itself -----------------------------------------

@pytest.mark.parametrize('authorization', [
    'Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag', 'NTLM TlRMTVNTUAABAAAAB4IIogAAAAA=',
    'Digest username="alice", realm="canister", nonce="abc", uri="/target", response="0123"',
    'Basic YWxpY2U6d29uZGVybGFuZA==', 'negotiate YIIGhg', '  NTLM TlRMTVNTUAAB'])
def test_a_cross_site_post_with_browser_sent_credentials_and_a_session_is_refused(make_app, authorization):
    app = target_app(make_app)
    browser = client(app)
    browser.get('/login')
    res = post(browser, origin=EVIL, Authorization=authorization)
    assert res.status_int == 403
    assert 'Cross-site request refused' in res.text
    assert app.calls == []


@pytest.mark.parametrize('authorization', ['Bearer some.jwt.token', 'bearer some.jwt.token'])
def test_a_bearer_token_still_exempts_a_request_from_the_check(make_app, authorization):
    app = target_app(make_app)
    res = post(client(app), origin=EVIL, Authorization=authorization)
    assert res.status_int == 200
    assert app.calls == ['POST']


# -- Sec-Fetch-Site ----------------------------------------------------------------------

@pytest.mark.parametrize('site', ['same-origin', 'none', 'Same-Origin'])
def test_sec_fetch_site_of_the_own_origin_passes_whatever_origin_says(make_app, site):
    # A proxy that rewrites Host without being listed in trusted_proxies makes the Origin
    # look foreign; the browser's own judgement still lets the request through.
    app = target_app(make_app)
    res = post(client(app), site=site, origin='https://public.example.com')
    assert res.status_int == 200
    assert app.calls == ['POST']


@pytest.mark.parametrize('site', ['cross-site', 'same-site'])
def test_sec_fetch_site_foreign_refuses_an_origin_not_listed_in_cors(make_app, site):
    app = target_app(make_app, cors=APP)
    res = post(client(app), site=site, origin=EVIL)
    assert res.status_int == 403
    assert app.calls == []


@pytest.mark.parametrize('site', ['cross-site', 'same-site'])
def test_sec_fetch_site_foreign_passes_an_origin_listed_in_cors(make_app, site):
    app = target_app(make_app, cors=APP)
    res = post(client(app), site=site, origin=APP)
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_sec_fetch_site_foreign_is_believed_over_an_origin_that_looks_like_the_own(make_app):
    app = target_app(make_app)
    res = post(client(app), site='cross-site', origin=OWN)
    assert res.status_int == 403
    assert app.calls == []


def test_sec_fetch_site_foreign_without_origin_is_judged_by_referer(make_app):
    app = target_app(make_app, cors=APP)
    assert post(client(app), site='cross-site', referer=EVIL + '/page').status_int == 403
    assert post(client(app), site='cross-site', referer=APP + '/page').status_int == 200
    assert app.calls == ['POST']


def test_sec_fetch_site_foreign_without_origin_or_referer_is_refused(make_app):
    app = target_app(make_app)
    res = post(client(app), site='cross-site')
    assert res.status_int == 403
    assert 'origin null' in res.text
    assert app.calls == []


def test_sec_fetch_site_foreign_with_cors_star_passes_a_preflighted_request_only(make_app):
    app = target_app(make_app, cors='*')
    assert post(client(app), site='cross-site', origin=EVIL, content_type='application/json').status_int == 200
    assert post(client(app), site='cross-site', origin=EVIL, method='PUT').status_int == 200
    assert post(client(app), site='cross-site', origin=EVIL).status_int == 403
    assert app.calls == ['POST', 'PUT']


def test_sec_fetch_site_foreign_never_matters_for_a_safe_method(make_app):
    app = target_app(make_app)
    res = client(app).get('/target', headers={'Sec-Fetch-Site': 'cross-site', 'Origin': EVIL})
    assert res.status_int == 200
    assert app.calls == ['GET']


@pytest.mark.parametrize('origin,status', [(OWN, 200), (EVIL, 403)])
def test_an_unknown_sec_fetch_site_value_falls_back_to_origin(make_app, origin, status):
    app = target_app(make_app)
    assert post(client(app), site='somewhere-else', origin=origin).status_int == status


@pytest.mark.parametrize('origin,status', [(OWN, 200), (EVIL, 403)])
def test_without_sec_fetch_site_origin_decides(make_app, origin, status):
    app = target_app(make_app)
    assert post(client(app), origin=origin).status_int == status


def test_csrf_false_ignores_sec_fetch_site_too(make_app):
    app = target_app(make_app, csrf=False)
    assert post(client(app), site='cross-site', origin=EVIL).status_int == 200
