"""A response that sets the session cookie is private whatever ``Cache-Control`` headers the
handler set: ``public`` goes from every one of them (several are joined into one header)."""
from __future__ import annotations

import bottle
import pytest

from canister import session
from helpers import cookie_value, cookieless_client


def cached_app(make_app, *values):
    app = make_app()

    @app.get('/')
    def index():
        for value in values:
            bottle.response.add_header('Cache-Control', value)
        session.data['x'] = 1
        return 'ok'

    return app


@pytest.mark.parametrize('values, directives', [
    (('max-age=600', 'public'), ['private', 'max-age=600']),
    (('public, max-age=600', 'must-revalidate'), ['private', 'max-age=600', 'must-revalidate']),
    (('no-store', 'public'), ['no-store']),
    (('public', 'private, max-age=60'), ['private', 'max-age=60']),
], ids=['public second', 'public first', 'no-store', 'private second'])
def test_every_cache_control_header_of_a_response_setting_the_cookie_is_made_private(make_app, values, directives):
    response = cookieless_client(cached_app(make_app, *values)).get('/')
    assert cookie_value(response)
    assert response.headers.getall('Cache-Control') == [', '.join(directives)]


def test_a_single_public_header_becomes_private_as_before(make_app):
    response = cookieless_client(cached_app(make_app, 'public, max-age=600')).get('/')
    assert response.headers.getall('Cache-Control') == ['private, max-age=600']
