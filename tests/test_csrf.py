"""CSRF: unsafe requests from foreign origins are refused before the handler runs.

The browser's Sec-Fetch-Site is judged first; credentials a browser sends by itself never exempt.
"""
from __future__ import annotations

import json

import bottle
import pytest
import webtest

import canister
from helpers import APP_ORIGIN as APP, EVIL_ORIGIN as EVIL, client, install_warned, read_log

from canister import session

OWN = 'http://localhost'
FORM = 'application/x-www-form-urlencoded'


def target_app(make_app, **overrides):
    """An app whose every method on /target records that the handler ran, and a /login as alice."""
    app = make_app(**overrides)
    app.calls = []

    @app.get('/login')
    def login():
        session.user = 'alice'
        return 'in'

    @app.route('/target', method=['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
    def target():
        app.calls.append(bottle.request.method)
        return 'done'

    return app


def send(test_client, method='POST', origin=None, referer=None, content_type=FORM, body='a=1', site=None,
         **headers):
    """A request to /target, with Sec-Fetch-Site ``site`` if given; returns the response whatever its status."""
    if site is not None:
        headers['Sec-Fetch-Site'] = site
    if origin is not None:
        headers['Origin'] = origin
    if referer is not None:
        headers['Referer'] = referer
    if content_type is not None:
        headers['Content-Type'] = content_type
    call = getattr(test_client, method.lower())
    if method in ('GET', 'HEAD', 'DELETE'):
        return call('/target', headers=headers, expect_errors=True)
    return call('/target', body, headers=headers, expect_errors=True)


# -- refused ----------------------------------------------------------------------

@pytest.mark.parametrize('method', ['POST', 'PUT', 'PATCH', 'DELETE'])
def test_csrf_refuses_unsafe_methods_from_a_foreign_origin(make_app, method):
    app = target_app(make_app)
    res = send(client(app), method, origin=EVIL)
    assert res.status_int == 403
    assert app.calls == []


def test_csrf_refusal_has_a_clear_message(make_app):
    app = target_app(make_app)
    res = send(client(app), origin=EVIL)
    assert res.status_int == 403
    assert res.content_type == 'text/plain'
    assert 'Cross-site request refused' in res.text
    assert EVIL in res.text
    assert 'done' not in res.text


def test_csrf_refusal_is_json_when_the_client_accepts_json(make_app):
    app = target_app(make_app)
    res = send(client(app), origin=EVIL, Accept='application/json')
    assert res.status_int == 403
    assert 'Cross-site request refused' in json.loads(res.text)['message']


def test_csrf_refusal_is_logged_as_a_warning(make_app, log_dir):
    app = target_app(make_app)
    assert send(client(app), origin=EVIL).status_int == 403
    lines = [line for line in read_log(log_dir).splitlines() if 'Cross-site request refused' in line]
    assert len(lines) == 1
    assert ' WARNING ' in lines[0]
    assert EVIL in lines[0]
    # and it says what lets such a request in, with the origin canister takes for the app's own
    assert lines[0].endswith('may not send POST requests here (this app sees its own origin as http://localhost; to '
                             'let another origin in, list it in cors (its pages may then read the answers too) or in '
                             'csrf_trusted_origins (its forms may post on every path, its pages read no answer), or '
                             'give a route csrf=False; behind a proxy that changes the host or scheme, list the '
                             'proxy in trusted_proxies)'), lines[0]


#: (test id, the target app's config, what the request sends) of cross-site requests refused with 403
REFUSED = [
    ('foreign-referer-without-origin', {}, {'referer': 'https://evil.example.net/attack.html'}),
    ('referer-that-only-starts-like-the-own-host', {}, {'referer': 'http://localhost.evil.example.net/attack.html'}),
    ('origin-with-another-scheme', {}, {'origin': 'https://localhost'}),
    ('origin-with-another-port', {}, {'origin': 'http://localhost:8080'}),
    ('null-origin', {}, {'origin': 'null'}),
    ('null-origin-not-listed-in-cors', {'cors': APP}, {'origin': 'null'}),
    ('json-post-from-an-origin-not-listed-in-cors', {'cors': APP},
     {'origin': EVIL, 'content_type': 'application/json', 'body': '{"a": 1}'}),
    ('origin-checked-before-referer', {}, {'origin': EVIL, 'referer': 'http://localhost/form'}),
    ('origin-only-looking-like-a-cors-wildcard', {'cors': 'https://*.partner.org'},
     {'origin': 'https://partner.org.evil.net'}),
]


@pytest.mark.parametrize('config,sent', [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_csrf_refuses_a_cross_site_request(make_app, config, sent):
    app = target_app(make_app, **config)
    assert send(client(app), **sent).status_int == 403
    assert app.calls == []


@pytest.mark.parametrize('method', ['post', 'patch'])
def test_csrf_checks_methods_whatever_their_case_as_bottle_routes_them(make_app, method):
    app = target_app(make_app)
    c = webtest.TestApp(app, lint=False, extra_environ={'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:80'})
    res = c.request('/target', method=method, body=b'a=1', expect_errors=True,
                    headers={'Origin': EVIL, 'Content-Type': FORM})
    assert res.status_int == 403
    assert app.calls == []


# -- allowed ------------------------------------------------------------------------

def test_csrf_same_origin_post_passes(make_app):
    app = target_app(make_app)
    res = send(client(app), origin=OWN)
    assert res.status_int == 200
    assert res.text == 'done'
    assert app.calls == ['POST']


#: (test id, the target app's config, what the request sends) of requests let through to the handler
PASSED = [
    ('same-origin-referer', {}, {'referer': 'http://localhost/form.html?x=1'}),
    ('request-without-origin-or-referer', {}, {'method': 'DELETE'}),
    ('request-with-an-authorization-header', {}, {'origin': EVIL, 'Authorization': 'Bearer some-token'}),
    ('csrf-false-turns-the-check-off', {'csrf': False}, {'origin': EVIL}),
    ('csrf-false-from-a-string-turns-the-check-off', {'config': {'csrf': 'false'}}, {'origin': EVIL}),
    ('origin-listed-in-cors', {'cors': '%s, https://*.partner.org' % APP}, {'origin': APP}),
    ('origin-matching-a-cors-wildcard', {'cors': '%s, https://*.partner.org' % APP},
     {'method': 'PUT', 'origin': 'https://shop.partner.org'}),
    ('referer-listed-in-cors', {'cors': APP}, {'referer': APP + '/page'}),
    ('null-origin-listed-in-cors', {'cors': 'null'}, {'origin': 'null'}),
]


@pytest.mark.parametrize('config,sent', [case[1:] for case in PASSED], ids=[case[0] for case in PASSED])
def test_csrf_lets_a_request_through_to_the_handler(make_app, config, sent):
    app = target_app(make_app, **config)
    res = send(client(app), **sent)
    assert res.status_int == 200
    assert app.calls == [sent.get('method', 'POST')]


@pytest.mark.parametrize('method', ['GET', 'HEAD'])
def test_csrf_never_checks_safe_methods(make_app, method):
    app = target_app(make_app)
    res = send(client(app), method, origin=EVIL, referer='https://evil.example.net/')
    assert res.status_int == 200
    assert app.calls == [method]


def test_csrf_does_not_check_a_plain_options_request(make_app):
    app = make_app()

    @app.route('/target', method='OPTIONS')
    def options():
        return 'options'

    res = client(app).options('/target', headers={'Origin': EVIL})
    assert res.status_int == 200
    assert res.text == 'options'


@pytest.mark.parametrize('site', ['same-site', 'cross-site'])
@pytest.mark.parametrize('origin', ['null', None])
def test_csrf_a_listed_null_does_not_let_in_a_form_post_the_browser_calls_foreign(make_app, site, origin):
    """Any site's page names no origin under no-referrer, or from a sandboxed frame: as with ``*``."""
    app = target_app(make_app, cors='null')
    res = send(client(app), origin=origin, site=site)
    assert res.status_int == 403
    assert app.calls == []


@pytest.mark.parametrize('method, content_type', [('POST', 'application/json'), ('PUT', FORM), ('DELETE', None)])
def test_csrf_a_listed_null_lets_in_a_request_the_browser_calls_foreign_after_a_preflight(
        make_app, method, content_type):
    """A sandboxed frame or a ``file:`` page calling the API with fetch: the preflight came first."""
    app = target_app(make_app, cors='null')
    res = send(client(app), method, origin='null', site='cross-site', content_type=content_type)
    assert res.status_int == 200
    assert app.calls == [method]


# -- cors = * ---------------------------------------------------------------------

@pytest.mark.parametrize('content_type', [
    FORM, 'multipart/form-data; boundary=xyz', 'text/plain', 'text/plain; charset=utf-8', None,
])
def test_csrf_with_cors_star_refuses_a_cross_origin_form_post(make_app, content_type):
    app = target_app(make_app, cors='*')
    res = send(client(app), origin=EVIL, content_type=content_type)
    assert res.status_int == 403
    assert app.calls == []


def test_csrf_with_cors_star_logs_that_a_form_needs_its_origin_listed_instead_of_star(make_app, log_dir):
    app = target_app(make_app, cors='*')
    assert send(client(app), origin=EVIL).status_int == 403
    line = [line for line in read_log(log_dir).splitlines() if 'Cross-site request refused' in line][0]
    assert line.endswith('to let another origin in, list it in cors instead of * (cors = * lets another origin send '
                         'only what a browser preflights: JSON, PUT, DELETE; never a form) or in csrf_trusted_origins '
                         '(its forms may post on every path, its pages read no answer), or give a route '
                         'csrf=False; behind a proxy that changes the host or scheme, list the proxy in '
                         'trusted_proxies)'), line


STAR_HINT = ' (cors = * admits no form posts from other sites: list the origin in cors)'


def test_the_403_of_a_form_that_cors_star_refused_says_to_list_the_origin_and_no_other_403_does(make_app):
    star = client(target_app(make_app, cors='*'))
    refused = 'Cross-site request refused: origin %s may not send POST requests here' % EVIL
    assert send(star, origin=EVIL).text == refused + STAR_HINT + '\n'
    assert send(star, origin=EVIL, site='cross-site', content_type='multipart/form-data; boundary=x').text == (
        refused + STAR_HINT + '\n')
    asked = send(star, origin=EVIL, Accept='application/json')
    assert json.loads(asked.text)['message'] == refused + STAR_HINT
    # a null origin (listing it would let every sandboxed page in), cors off, a listed origin's list, cors_paths
    null = send(star, origin='null', site='cross-site')
    assert null.status_int == 403 and STAR_HINT not in null.text
    for config in ({}, {'cors': APP}, {'cors': '*', 'cors_paths': '/api/'}):
        answer = send(client(target_app(make_app, **config)), origin=EVIL)
        assert answer.text == refused + '\n', (config, answer.text)


def test_csrf_with_cors_star_refuses_a_cross_origin_form_post_known_by_referer(make_app):
    app = target_app(make_app, cors='*')
    res = send(client(app), referer='https://evil.example.net/form.html')
    assert res.status_int == 403
    assert app.calls == []


def test_csrf_with_cors_star_passes_a_cross_origin_json_post(make_app):
    app = target_app(make_app, cors='*')
    res = send(client(app), origin=EVIL, content_type='application/json', body='{"a": 1}')
    assert res.status_int == 200
    assert app.calls == ['POST']


@pytest.mark.parametrize('method', ['PUT', 'PATCH', 'DELETE'])
def test_csrf_with_cors_star_passes_a_cross_origin_preflighted_method(make_app, method):
    app = target_app(make_app, cors='*')
    res = send(client(app), method, origin=EVIL)
    assert res.status_int == 200
    assert app.calls == [method]


def method_override(app, sent='POST'):
    """WSGI middleware in front of the app that turns a request of the method ``sent`` (a form POST) with
    ``_method=DELETE`` in its query into a DELETE, as some frameworks' method overrides do."""
    def middleware(environ, start_response):
        if environ['REQUEST_METHOD'] == sent and '_method=DELETE' in environ.get('QUERY_STRING', ''):
            environ['REQUEST_METHOD'] = 'DELETE'
        return app(environ, start_response)
    return middleware


def test_with_cors_star_a_method_override_in_front_of_canister_lets_a_cross_site_form_through(make_app):
    """The README's caveat: with ``cors = *`` canister takes a DELETE for a preflighted request, and a
    rewrite made before canister sees the request hides the form POST it came as.  Listing origins holds."""
    star = target_app(make_app, cors='*')
    web = webtest.TestApp(method_override(star), extra_environ={'HTTP_HOST': 'localhost:80'})
    answer = web.post('/target?_method=DELETE', 'a=1', headers={'Origin': EVIL, 'Content-Type': FORM})
    assert answer.status_int == 200 and star.calls == ['DELETE']
    listed = target_app(make_app, cors='https://app.example.org')
    web = webtest.TestApp(method_override(listed), extra_environ={'HTTP_HOST': 'localhost:80'})
    web.post('/target?_method=DELETE', 'a=1', headers={'Origin': EVIL, 'Content-Type': FORM}, status=403)
    assert listed.calls == []


def test_a_method_override_of_a_get_makes_another_sites_link_an_unsafe_request_naming_no_origin(make_app):
    """A link's GET names no origin (no Origin; no Referer under no-referrer), and over plain HTTP to a host
    that is not loopback no Sec-Fetch-Site either: once rewritten into a DELETE it looks like curl's, and
    passes, whatever cors says.  Where the browser labels it (HTTPS), it is refused."""
    app = target_app(make_app)
    web = webtest.TestApp(method_override(app, sent='GET'), extra_environ={'HTTP_HOST': 'localhost:80'})

    assert web.get('/target?_method=DELETE').status_int == 200
    web.get('/target?_method=DELETE', headers={'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate'},
            status=403)
    assert app.calls == ['DELETE']


def test_csrf_refusal_carries_cors_headers_for_cors_star(make_app):
    app = target_app(make_app, cors='*')
    res = send(client(app), origin=EVIL)
    assert res.status_int == 403
    assert res.headers.getall('Access-Control-Allow-Origin') == ['*']


# -- default ports and proxies -----------------------------------------------------

def test_csrf_origin_without_the_default_port_matches_a_host_with_it(make_app):
    app = target_app(make_app)
    res = send(client(app, HTTP_HOST='localhost:80'), origin='http://localhost')
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_csrf_origin_with_the_default_port_matches_a_host_without_it(make_app):
    app = target_app(make_app)
    res = send(client(app, HTTP_HOST='localhost'), origin='http://localhost:80')
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_csrf_https_default_port_is_normalised(make_app):
    app = target_app(make_app)
    c = client(app, HTTP_HOST='shop.example.com:443', **{'wsgi.url_scheme': 'https'})
    res = send(c, origin='https://shop.example.com')
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_csrf_own_origin_on_a_non_default_port_passes(make_app):
    app = target_app(make_app)
    res = send(client(app, HTTP_HOST='localhost:8080'), origin='http://localhost:8080')
    assert res.status_int == 200
    assert app.calls == ['POST']


def proxied(app, peer):
    return client(app, REMOTE_ADDR=peer, HTTP_HOST='backend:8000',
                  HTTP_X_FORWARDED_HOST='shop.example.com', HTTP_X_FORWARDED_PROTO='https',
                  HTTP_X_FORWARDED_FOR='198.51.100.7')


def test_csrf_believes_forwarded_host_and_proto_from_a_trusted_proxy(make_app):
    app = target_app(make_app, trusted_proxies='10.0.0.0/8')
    res = send(proxied(app, '10.1.2.3'), origin='https://shop.example.com')
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_csrf_ignores_forwarded_host_and_proto_from_an_untrusted_peer(make_app):
    app = target_app(make_app, trusted_proxies='10.0.0.0/8')
    res = send(proxied(app, '203.0.113.9'), origin='https://shop.example.com')
    assert res.status_int == 403
    assert app.calls == []


def test_csrf_ignores_forwarded_headers_when_no_proxy_is_trusted(make_app):
    app = target_app(make_app)
    res = send(proxied(app, '10.1.2.3'), origin='https://shop.example.com')
    assert res.status_int == 403
    assert app.calls == []


def test_csrf_untrusted_peer_is_still_judged_by_its_real_host(make_app):
    app = target_app(make_app, trusted_proxies='10.0.0.0/8')
    res = send(proxied(app, '203.0.113.9'), origin='http://backend:8000')
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_csrf_trusted_proxy_forwarded_proto_alone_changes_the_scheme(make_app):
    app = target_app(make_app, trusted_proxies='10.0.0.1')
    c = client(app, REMOTE_ADDR='10.0.0.1', HTTP_HOST='shop.example.com', HTTP_X_FORWARDED_PROTO='https')
    assert send(c, origin='https://shop.example.com').status_int == 200
    assert send(c, origin='http://shop.example.com').status_int == 403
    assert app.calls == ['POST']


def test_cached_basic_credentials_do_not_exempt_a_cross_site_post(make_app):
    app = make_app(auth_basic_username='alice', auth_basic_password='my-secret')
    called = []

    @app.post('/transfer')
    def transfer():
        called.append(True)
        return 'moved'

    res = client(app).post('/transfer', {'amount': '5'}, status='*',
                           headers={'Origin': 'https://evil.example',
                                    'Authorization': 'Basic YWxpY2U6bXktc2VjcmV0'})
    assert res.status_int == 403
    assert called == []


# -- credentials a browser attaches by itself -----------------------------------------

@pytest.mark.parametrize('authorization', [
    'Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag', 'NTLM TlRMTVNTUAABAAAAB4IIogAAAAA=',
    'Digest username="alice", realm="canister", nonce="abc", uri="/target", response="0123"',
    'Basic YWxpY2U6d29uZGVybGFuZA==', 'negotiate YIIGhg', '  NTLM TlRMTVNTUAAB'])
def test_a_cross_site_post_with_browser_sent_credentials_and_a_session_is_refused(make_app, authorization):
    app = target_app(make_app)
    browser = client(app)
    browser.get('/login')
    res = send(browser, origin=EVIL, Authorization=authorization)
    assert res.status_int == 403
    assert 'Cross-site request refused' in res.text
    assert app.calls == []


@pytest.mark.parametrize('authorization', ['Bearer some.jwt.token', 'bearer some.jwt.token'])
def test_a_bearer_token_still_exempts_a_request_from_the_check(make_app, authorization):
    app = target_app(make_app)
    res = send(client(app), origin=EVIL, Authorization=authorization)
    assert res.status_int == 200
    assert app.calls == ['POST']


# -- Sec-Fetch-Site ----------------------------------------------------------------------

@pytest.mark.parametrize('site', ['same-origin', 'none', 'Same-Origin'])
def test_sec_fetch_site_of_the_own_origin_passes_whatever_origin_says(make_app, site):
    # A proxy that rewrites Host without being listed in trusted_proxies makes the Origin
    # look foreign; the browser's own judgement still lets the request through.
    app = target_app(make_app)
    res = send(client(app), site=site, origin='https://public.example.com')
    assert res.status_int == 200
    assert app.calls == ['POST']


@pytest.mark.parametrize('site', ['cross-site', 'same-site'])
def test_sec_fetch_site_foreign_refuses_an_origin_not_listed_in_cors(make_app, site):
    app = target_app(make_app, cors=APP)
    res = send(client(app), site=site, origin=EVIL)
    assert res.status_int == 403
    assert app.calls == []


@pytest.mark.parametrize('site', ['cross-site', 'same-site'])
def test_sec_fetch_site_foreign_passes_an_origin_listed_in_cors(make_app, site):
    app = target_app(make_app, cors=APP)
    res = send(client(app), site=site, origin=APP)
    assert res.status_int == 200
    assert app.calls == ['POST']


def test_sec_fetch_site_foreign_is_believed_over_an_origin_that_looks_like_the_own(make_app):
    app = target_app(make_app)
    res = send(client(app), site='cross-site', origin=OWN)
    assert res.status_int == 403
    assert app.calls == []


def test_sec_fetch_site_foreign_without_origin_is_judged_by_referer(make_app):
    app = target_app(make_app, cors=APP)
    assert send(client(app), site='cross-site', referer=EVIL + '/page').status_int == 403
    assert send(client(app), site='cross-site', referer=APP + '/page').status_int == 200
    assert app.calls == ['POST']


def test_sec_fetch_site_foreign_without_origin_or_referer_is_refused(make_app):
    app = target_app(make_app)
    res = send(client(app), site='cross-site')
    assert res.status_int == 403
    assert 'origin null (the browser calls the request cross-site and names no origin)' in res.text
    assert app.calls == []


def test_sec_fetch_site_foreign_with_cors_star_passes_a_preflighted_request_only(make_app):
    app = target_app(make_app, cors='*')
    assert send(client(app), site='cross-site', origin=EVIL, content_type='application/json', body='{"a": 1}').status_int == 200
    assert send(client(app), site='cross-site', origin=EVIL, method='PUT').status_int == 200
    assert send(client(app), site='cross-site', origin=EVIL).status_int == 403
    assert app.calls == ['POST', 'PUT']


def test_sec_fetch_site_foreign_never_matters_for_a_safe_method(make_app):
    app = target_app(make_app)
    res = client(app).get('/target', headers={'Sec-Fetch-Site': 'cross-site', 'Origin': EVIL})
    assert res.status_int == 200
    assert app.calls == ['GET']


@pytest.mark.parametrize('origin,status', [(OWN, 200), (EVIL, 403)])
def test_an_unknown_sec_fetch_site_value_falls_back_to_origin(make_app, origin, status):
    app = target_app(make_app)
    assert send(client(app), site='somewhere-else', origin=origin).status_int == status


@pytest.mark.parametrize('origin,status', [(OWN, 200), (EVIL, 403)])
def test_without_sec_fetch_site_origin_decides(make_app, origin, status):
    app = target_app(make_app)
    assert send(client(app), origin=origin).status_int == status


def test_csrf_false_ignores_sec_fetch_site_too(make_app):
    app = target_app(make_app, csrf=False)
    assert send(client(app), site='cross-site', origin=EVIL).status_int == 200


# -- referrer_policy = no-referrer ------------------------------------------------

NO_REFERRER_WARNING = ('canister.referrer_policy = no-referrer with csrf on: under that policy a browser sends '
                       'Origin: null on the app\'s own form posts, and one that sends no Sec-Fetch-Site (any '
                       'browser over plain HTTP to a host that is not loopback, as localhost and 127.0.0.1 are, and an '
                       'older one, such as Safari before 16.4, over HTTPS too) is refused there with 403; keep another '
                       'policy, such as the default or same-origin')


@pytest.mark.parametrize('config', [{'referrer_policy': 'no-referrer'},
                                    {'referrer_policy': 'same-origin, No-Referrer', 'cors': APP}])
def test_csrf_with_no_referrer_policy_is_reported_at_install(tmp_path, config):
    app, said = install_warned(tmp_path, config)
    app.uninstall(canister.Canister)
    assert said == [NO_REFERRER_WARNING]
    assert ' WARNING ' in read_log(tmp_path) and NO_REFERRER_WARNING in read_log(tmp_path)


@pytest.mark.parametrize('config', [{}, {'referrer_policy': 'no-referrer', 'csrf': 'false'},
                                    {'referrer_policy': 'no-referrer, same-origin'},
                                    {'referrer_policy': 'no-referrer', 'cors': 'null'}])
def test_csrf_with_a_policy_that_names_the_origin_installs_without_a_word(tmp_path, config):
    app, said = install_warned(tmp_path, config)
    app.uninstall(canister.Canister)
    assert said == []
