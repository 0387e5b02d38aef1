"""Security headers on every answer: routes, Bottle's errors, static files, canister's own, streams."""
from __future__ import annotations

import bottle
import pytest

from helpers import client

import canister

DEFAULTS = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'strict-origin-when-cross-origin',
}
HTTPS = {'wsgi.url_scheme': 'https', 'HTTP_HOST': 'shop.example.com'}


def sample_app(make_app, tmp_path, **overrides):
    app = make_app(catchall=True, **overrides)
    (tmp_path / 'static.txt').write_text('static text')

    @app.get('/')
    def index():
        return 'hello'

    @app.get('/stream')
    def stream():
        yield 'one '
        yield 'two'

    @app.get('/static')
    def static():
        return bottle.static_file('static.txt', root=str(tmp_path))

    @app.get('/abort')
    def aborted():
        bottle.abort(409, 'conflict')

    @app.get('/redirect')
    def redirected():
        bottle.redirect('/')

    @app.get('/crash')
    def crash():
        raise RuntimeError('boom')

    @app.post('/upload')
    def upload():
        return 'uploaded'

    @app.get('/own')
    def own():
        bottle.response.set_header('X-Frame-Options', 'SAMEORIGIN')
        bottle.response.set_header('Referrer-Policy', 'no-referrer')
        return 'own'

    @app.get('/own-error')
    def own_error():
        raise bottle.HTTPError(418, 'teapot', **{'X-Frame-Options': 'SAMEORIGIN'})

    return app


def assert_defaults(res):
    for name, value in DEFAULTS.items():
        assert res.headers.getall(name) == [value], (res.status, name, res.headers)
    assert 'Strict-Transport-Security' not in res.headers
    assert 'Content-Security-Policy' not in res.headers


@pytest.mark.parametrize('path,status', [
    ('/', 200), ('/stream', 200), ('/static', 200), ('/abort', 409), ('/redirect', 302), ('/crash', 500),
    ('/missing', 404)])
def test_every_answer_of_a_get_carries_the_default_security_headers(make_app, tmp_path, path, status):
    app = sample_app(make_app, tmp_path)
    res = client(app).get(path, expect_errors=True)
    assert res.status_int == status
    assert_defaults(res)


def test_bottles_405_carries_the_security_headers(make_app, tmp_path):
    res = client(sample_app(make_app, tmp_path)).put('/', status='*')
    assert res.status_int == 405
    assert_defaults(res)


@pytest.mark.parametrize('headers,status', [
    ({'Origin': 'https://evil.example.net'}, 403),       # CSRF refusal
    ({'Content-Length': '999999999'}, 413),              # over max_body_size
    ({'Cookie': 'a=' + 'x' * 9000}, 431),                 # over max_header_size
])
def test_canisters_own_early_answers_carry_the_security_headers(make_app, tmp_path, headers, status):
    app = sample_app(make_app, tmp_path)
    environ = {'CONTENT_TYPE': 'application/x-www-form-urlencoded'}
    res = client(app).post('/upload', 'a=1', headers=headers, extra_environ=environ, status='*')
    assert res.status_int == status
    assert_defaults(res)


def test_a_cors_preflight_answer_carries_the_security_headers(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, cors='https://app.example.com')
    res = client(app).options('/upload', headers={'Origin': 'https://app.example.com',
                                                  'Access-Control-Request-Method': 'POST'})
    assert res.status_int == 204
    assert_defaults(res)


def test_a_header_the_handler_set_wins(make_app, tmp_path):
    res = client(sample_app(make_app, tmp_path)).get('/own')
    assert res.headers.getall('X-Frame-Options') == ['SAMEORIGIN']
    assert res.headers.getall('Referrer-Policy') == ['no-referrer']
    assert res.headers.getall('X-Content-Type-Options') == ['nosniff']


def test_a_header_an_http_error_carries_wins(make_app, tmp_path):
    res = client(sample_app(make_app, tmp_path)).get('/own-error', status=418)
    assert res.headers.getall('X-Frame-Options') == ['SAMEORIGIN']
    assert res.headers.getall('X-Content-Type-Options') == ['nosniff']


def test_x_frame_options_can_be_sameorigin(make_app, tmp_path):
    res = client(sample_app(make_app, tmp_path, x_frame_options='sameorigin')).get('/')
    assert res.headers.getall('X-Frame-Options') == ['SAMEORIGIN']


@pytest.mark.parametrize('key,header', [
    ('x_content_type_options', 'X-Content-Type-Options'), ('x_frame_options', 'X-Frame-Options'),
    ('referrer_policy', 'Referrer-Policy')])
def test_each_security_header_is_turned_off_by_an_empty_value(make_app, tmp_path, key, header):
    app = sample_app(make_app, tmp_path, **{key: ''})
    for path in ('/', '/missing'):
        res = client(app).get(path, status='*')
        assert header not in res.headers
        assert len([name for name in DEFAULTS if name in res.headers]) == 2


def test_all_security_headers_off_from_an_ini_style_config(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, config={'x_content_type_options': '', 'x_frame_options': '',
                                                 'referrer_policy': ''})
    res = client(app).get('/')
    assert not [name for name in DEFAULTS if name in res.headers]


def test_referrer_policy_takes_a_list_of_fallbacks(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, referrer_policy='no-referrer,Strict-Origin-When-Cross-Origin')
    res = client(app).get('/')
    assert res.headers['Referrer-Policy'] == 'no-referrer, strict-origin-when-cross-origin'


def test_content_security_policy_is_sent_when_configured(make_app, tmp_path):
    policy = "default-src 'self'; img-src 'self' data:"
    app = sample_app(make_app, tmp_path, content_security_policy=policy)
    for path in ('/', '/missing', '/stream'):
        res = client(app).get(path, status='*')
        assert res.headers.getall('Content-Security-Policy') == [policy]


def test_hsts_is_not_sent_by_default_even_over_https(make_app, tmp_path):
    res = client(sample_app(make_app, tmp_path), **HTTPS).get('/')
    assert 'Strict-Transport-Security' not in res.headers


def test_hsts_is_sent_on_https_answers_when_configured(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, hsts_max_age=31536000)
    for path in ('/', '/missing', '/stream'):
        res = client(app, **HTTPS).get(path, status='*')
        assert res.headers.getall('Strict-Transport-Security') == ['max-age=31536000']
    res = client(app, **HTTPS).post('/upload', 'a=1', headers={'Origin': 'https://evil.example.net'}, status=403)
    assert res.headers.getall('Strict-Transport-Security') == ['max-age=31536000']


def test_hsts_is_never_sent_on_plain_http_answers(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, hsts_max_age=31536000)
    assert 'Strict-Transport-Security' not in client(app).get('/').headers
    res = client(app).post('/upload', 'a=1', headers={'Origin': 'https://evil.example.net'}, status=403)
    assert 'Strict-Transport-Security' not in res.headers


def test_hsts_can_include_subdomains(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, hsts_max_age=600, hsts_include_subdomains=True)
    res = client(app, **HTTPS).get('/')
    assert res.headers['Strict-Transport-Security'] == 'max-age=600; includeSubDomains'


def test_hsts_follows_the_scheme_a_trusted_proxy_forwards(make_app, tmp_path):
    app = sample_app(make_app, tmp_path, hsts_max_age=600, trusted_proxies='10.0.0.0/8')
    proxied = {'HTTP_X_FORWARDED_PROTO': 'https'}
    assert 'Strict-Transport-Security' in client(app, REMOTE_ADDR='10.0.0.2', **proxied).get('/').headers
    assert 'Strict-Transport-Security' not in client(app, REMOTE_ADDR='203.0.113.9', **proxied).get('/').headers


@pytest.mark.parametrize('key,value', [
    ('x_frame_options', 'ALLOW-FROM https://example.com'), ('x_content_type_options', 'sniff'),
    ('referrer_policy', 'everywhere'), ('referrer_policy', 'no-referrer, bogus'), ('hsts_max_age', -1),
    ('hsts_max_age', 'a year'), ('content_security_policy', "default-src 'self'\r\nSet-Cookie: x=1"),
    ('content_security_policy', "default-src 'self' \u00e9")])
def test_a_bad_security_header_setting_is_refused_at_install(key, value):
    app = bottle.Bottle()
    with pytest.raises(canister.ConfigError, match='canister.%s' % key):
        app.install(canister.Canister(log_level='DISABLED', **{key: value}))


def test_x_frame_options_sameorigin_or_empty_from_an_ini_file(make_app, tmp_path):
    same = sample_app(make_app, tmp_path, config={'X_FRAME_OPTIONS': 'SAMEORIGIN'})
    assert client(same).get('/').headers['X-Frame-Options'] == 'SAMEORIGIN'


def test_an_http_response_a_handler_raises_or_returns_carries_the_security_headers_and_its_own_header_wins(
        make_app, tmp_path):
    app = sample_app(make_app, tmp_path)

    @app.get('/raised')
    def raised():
        raise bottle.HTTPResponse('made', status=201)

    @app.get('/returned')
    def returned():
        return bottle.HTTPResponse('made', status=203)

    @app.get('/raised-own')
    def raised_own():
        raise bottle.HTTPResponse('made', status=202, **{'X-Frame-Options': 'SAMEORIGIN'})

    web = client(app)
    assert_defaults(web.get('/raised', status=201))
    assert_defaults(web.get('/returned', status=203))
    own = web.get('/raised-own', status=202)
    assert own.headers.getall('X-Frame-Options') == ['SAMEORIGIN']
    assert own.headers.getall('X-Content-Type-Options') == ['nosniff']
    assert own.headers.getall('Referrer-Policy') == ['strict-origin-when-cross-origin']


def test_canisters_400_of_a_parameter_and_415_of_a_compressed_body_carry_the_security_headers(make_app, tmp_path):
    app = sample_app(make_app, tmp_path)

    @app.post('/typed')
    def typed(count: int):
        return str(count)

    web = client(app)
    assert_defaults(web.post('/typed', 'count=many', content_type='application/x-www-form-urlencoded', status=400))
    assert_defaults(web.post('/typed', b'\x1f\x8b', content_type='application/x-www-form-urlencoded',
                             headers={'Content-Encoding': 'gzip'}, status=415))
