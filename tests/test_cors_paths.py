"""``cors_paths``: CORS, and the trust CSRF protection gives listed origins, limited to some paths."""
from __future__ import annotations

import bottle
import pytest

import canister
from helpers import APP_ORIGIN as APP, EVIL_ORIGIN as EVIL, client, install_warned, preflight, read_log


def api_app(make_app, **config):
    """GET and PUT on /api, /api/items, /apix and /account; POST on /api/items and /account."""
    config.setdefault('cors', APP)
    config.setdefault('cors_credentials', True)
    config.setdefault('cors_paths', '/api')
    app = make_app(config=config)
    for path in ('/api', '/api/items', '/apix', '/account'):
        app.route(path, method=['GET', 'PUT', 'POST'], callback=lambda path=path: 'at ' + path)
    return app


def cross_site_form(test_client, path, origin=APP):
    return test_client.post(path, {'a': '1'}, headers={'Origin': origin, 'Sec-Fetch-Site': 'same-site'},
                            expect_errors=True)


@pytest.mark.parametrize('path', ['/api', '/api/items'])
def test_a_covered_path_gets_the_cors_headers(make_app, path):
    res = client(api_app(make_app)).get(path, headers={'Origin': APP})
    assert res.text == 'at ' + path
    assert res.headers['Access-Control-Allow-Origin'] == APP
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


@pytest.mark.parametrize('path', ['/account', '/apix'])
def test_a_path_outside_gets_no_cors_headers_so_a_listed_origin_cannot_read_it(make_app, path):
    res = client(api_app(make_app)).get(path, headers={'Origin': APP})
    assert res.text == 'at ' + path
    assert not [name for name in res.headers if name.lower().startswith('access-control-')]
    assert 'Origin' not in res.headers.get('Vary', '')


def test_a_preflight_for_a_covered_path_is_granted(make_app):
    res = preflight(client(api_app(make_app)), '/api/items')
    assert res.status_int == 204
    assert res.headers['Access-Control-Allow-Origin'] == APP
    assert 'PUT' in res.headers['Access-Control-Allow-Methods']


def test_a_preflight_for_a_path_outside_is_left_to_bottle_and_grants_nothing(make_app, log_dir):
    res = preflight(client(api_app(make_app)), '/account')
    assert res.status_int == 405  # the route takes no OPTIONS: the browser then sends no PUT
    assert not [name for name in res.headers if name.lower().startswith('access-control-')]
    assert 'OPTIONS ' in read_log(log_dir)


def test_a_listed_origin_may_post_a_form_to_a_covered_path(make_app):
    res = cross_site_form(client(api_app(make_app)), '/api/items')
    assert res.status_int == 200
    assert res.text == 'at /api/items'


def test_a_listed_origin_is_refused_by_csrf_protection_outside_the_paths(make_app, log_dir):
    res = cross_site_form(client(api_app(make_app)), '/account')
    assert res.status_int == 403
    assert 'Cross-site request refused: origin %s' % APP in res.text
    # the origin is listed already: the WARNING says the path is what keeps it out
    line = [line for line in read_log(log_dir).splitlines() if 'Cross-site request refused' in line][0]
    assert 'to let another origin in, list it in cors and a prefix of its path /account in cors_paths (cors does ' \
           'not apply outside them) or in csrf_trusted_origins (its forms may post on every path, its pages read no ' \
           'answer), or give a route csrf=False' in line, line


def test_with_cors_star_a_refusal_outside_the_paths_points_at_cors_paths_not_at_listing(make_app, log_dir):
    outside = client(api_app(make_app, cors='*', cors_credentials=False)).put(
        '/account', headers={'Origin': EVIL, 'Sec-Fetch-Site': 'cross-site'}, expect_errors=True)
    assert outside.status_int == 403
    line = [line for line in read_log(log_dir).splitlines() if 'Cross-site request refused' in line][0]
    assert 'a prefix of its path /account in cors_paths' in line and 'instead of *' not in line, line


def test_with_cors_star_a_preflighted_request_outside_the_paths_is_refused(make_app, log_dir):
    test_client = client(api_app(make_app, cors='*', cors_credentials=False))
    inside = test_client.put('/api/items', headers={'Origin': EVIL, 'Sec-Fetch-Site': 'cross-site'},
                             expect_errors=True)
    outside = test_client.put('/account', headers={'Origin': EVIL, 'Sec-Fetch-Site': 'cross-site'},
                              expect_errors=True)
    assert (inside.status_int, inside.headers.get('Access-Control-Allow-Origin')) == (200, '*')
    assert outside.status_int == 403
    assert 'list it in cors and a prefix of its path /account in cors_paths' in read_log(log_dir)


def test_the_app_s_own_pages_outside_the_paths_still_post(make_app):
    res = client(api_app(make_app)).post('/account', {'a': '1'}, headers={'Origin': 'http://localhost',
                                                                          'Sec-Fetch-Site': 'same-origin'})
    assert res.text == 'at /account'


def test_a_prefix_with_a_slash_covers_what_is_below_it_only(make_app):
    test_client = client(api_app(make_app, cors_paths='/api/'))
    below = test_client.get('/api/items', headers={'Origin': APP})
    itself = test_client.get('/api', headers={'Origin': APP})
    assert below.headers.get('Access-Control-Allow-Origin') == APP
    assert 'Access-Control-Allow-Origin' not in itself.headers


def test_several_prefixes_each_cover_their_paths(make_app):
    test_client = client(api_app(make_app, cors_paths='/account, /api/items'))
    for path in ('/account', '/api/items'):
        assert test_client.get(path, headers={'Origin': APP}).headers.get('Access-Control-Allow-Origin') == APP
    assert 'Access-Control-Allow-Origin' not in test_client.get('/api', headers={'Origin': APP}).headers


def test_a_non_ascii_prefix_covers_its_percent_encoded_path(make_app):
    app = make_app(config={'cors': APP, 'cors_paths': '/café'})
    app.route('/café/<n>', callback=lambda n: 'menu ' + n)
    res = client(app).get('/caf%C3%A9/1', headers={'Origin': APP})
    assert res.text == 'menu 1'
    assert res.headers['Access-Control-Allow-Origin'] == APP


@pytest.mark.parametrize('where', ['parent', 'child'])
def test_a_prefix_names_the_whole_path_of_a_mounted_app_s_route(make_app, log_dir, where):
    """Bottle's mount moves the prefix from PATH_INFO to SCRIPT_NAME (0.12) or leaves it (0.13): the prefix
    is matched alike, wherever canister is installed."""
    config = {'cors': APP, 'cors_paths': '/shop/api'}
    parent = make_app(config=config) if where == 'parent' else bottle.Bottle()
    child = bottle.Bottle() if where == 'parent' else make_app(config=config)
    child.route('/api/items', callback=lambda: 'items')
    child.route('/about', callback=lambda: 'about')
    parent.mount('/shop/', child)
    test_client = client(parent)
    inside = test_client.get('/shop/api/items', headers={'Origin': APP})
    outside = test_client.get('/shop/about', headers={'Origin': APP})
    assert (inside.text, inside.headers.get('Access-Control-Allow-Origin')) == ('items', APP)
    assert outside.text == 'about'
    assert 'Access-Control-Allow-Origin' not in outside.headers


@pytest.mark.parametrize('value', ['api', '/api/*', '/caf%C3%A9', '/api?x=1', '/api#top', '/a\x07b'])
def test_a_value_that_is_no_path_prefix_is_a_config_error(make_app, value):
    with pytest.raises(canister.ConfigError, match='cors_paths.*not a path prefix'):
        make_app(config={'cors': APP, 'cors_paths': value})


def test_cors_paths_without_cors_is_reported_at_install(log_dir):
    _app, said = install_warned(log_dir, {'cors_paths': '/api'})
    assert any('cors_paths is set without cors' in message for message in said)
    assert 'cors_paths is set without cors' in read_log(log_dir)


def test_cors_paths_and_cors_credentials_without_cors_are_both_reported(log_dir):
    _app, said = install_warned(log_dir, {'cors_paths': '/api', 'cors_credentials': 'true'})
    assert sorted(said) == ['canister.cors_credentials is set without cors: it has no effect',
                            'canister.cors_paths is set without cors: it has no effect']
