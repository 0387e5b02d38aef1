"""A refreshed Bearer token keeps the session only if it has a ``sub`` claim: without one, the user
key is all the claims, so a refreshed token counts as another person (a new id, empty data)."""
from __future__ import annotations

import json

from canister import session
from helpers import bearer, cookie_value, cookieless_client, signed_token, with_cookie

SECRET = 'Vq3Lr8Zt1Wm6Xc4Bn9Hs2Jd7Fg5Pa0-Tq1Ye8Ui3Oo6Kl9Mz2Nx7Cv4Bb5Vn1Q'


def bearer_with(**claims):
    """Request headers sending a token of ``helpers.claims`` with these, signed with SECRET."""
    return bearer(signed_token(SECRET, **claims))


def cart_app(make_app):
    app = make_app(auth_jwt_secret=SECRET)

    @app.get('/put')
    def put():
        session.data['cart'] = 'tea'
        return 'ok'

    @app.get('/read')
    def read():
        return json.dumps(session.data)

    return app


def test_a_refreshed_token_without_sub_gets_a_new_session_id_and_empty_data(make_app):
    web = cookieless_client(cart_app(make_app))
    first = cookie_value(web.get('/put', headers=bearer_with(sub=None, name='alice', iat=1)))
    response = web.get('/read', headers=dict(with_cookie(first), **bearer_with(sub=None, name='alice', iat=2)))
    assert json.loads(response.text) == {}
    assert cookie_value(response) not in (None, '', first)


def test_a_refreshed_token_with_sub_keeps_the_session_id_and_data(make_app):
    web = cookieless_client(cart_app(make_app))
    first = cookie_value(web.get('/put', headers=bearer_with(sub='alice', iat=1)))
    response = web.get('/read', headers=dict(with_cookie(first), **bearer_with(sub='alice', iat=2)))
    assert json.loads(response.text) == {'cart': 'tea'}
    assert cookie_value(response) is None
