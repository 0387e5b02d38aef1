"""csrf_trusted_origins (Django's CSRF_TRUSTED_ORIGINS): origins whose unsafe requests, forms among them, pass the
CSRF check without being granted CORS (a form on www.example.com posting to the app on app.example.com)."""
from __future__ import annotations

import pytest

import canister
from helpers import EVIL_ORIGIN as EVIL, canister_warning_texts, client, warning_lines
from test_csrf import send, target_app

WWW = 'https://www.example.com'


@pytest.mark.parametrize('site', ['same-site', 'cross-site', None])
def test_a_form_from_a_trusted_origin_passes_the_csrf_check(make_app, site):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    res = send(client(app), origin=WWW, site=site)
    assert (res.status_int, res.text) == (200, 'done')
    assert app.calls == ['POST']


def test_a_trusted_origin_named_by_its_referer_alone_passes(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    assert send(client(app), referer=WWW + '/contact?x=1', site='same-site').status_int == 200


@pytest.mark.parametrize('method', ['PUT', 'PATCH', 'DELETE'])
def test_a_trusted_origin_may_send_every_unsafe_method(make_app, method):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    assert send(client(app), method, origin=WWW, site='cross-site').status_int == 200


def test_a_trusted_origin_is_granted_no_cors_headers(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    res = send(client(app), origin=WWW, site='same-site')
    assert res.status_int == 200
    assert not [name for name in res.headers if name.lower().startswith('access-control-')]


def test_a_trusted_origin_is_granted_no_cors_headers_beside_a_cors_list_of_others(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW, cors='https://api.example.net', cors_credentials=True)
    trusted = send(client(app), origin=WWW, site='same-site')
    listed = send(client(app), origin='https://api.example.net', site='cross-site')
    assert trusted.status_int == listed.status_int == 200
    assert 'Access-Control-Allow-Origin' not in trusted.headers
    assert 'Access-Control-Allow-Credentials' not in trusted.headers
    assert listed.headers['Access-Control-Allow-Origin'] == 'https://api.example.net'


def test_a_trusted_origins_preflight_is_refused_as_any_origin_cors_does_not_list(make_app, log_dir):
    app = target_app(make_app, csrf_trusted_origins=WWW, cors='https://api.example.net')
    res = client(app).options('/target', headers={'Origin': WWW, 'Access-Control-Request-Method': 'PUT'},
                              expect_errors=True)
    assert res.status_int == 403
    assert 'Access-Control-Allow-Origin' not in res.headers


def test_another_origin_is_still_refused_beside_a_trusted_one(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    for origin in (EVIL, 'https://www.example.com.evil.net', 'http://www.example.com', 'https://example.com'):
        assert send(client(app), origin=origin, site='cross-site').status_int == 403, origin
    assert app.calls == []


def test_a_wildcard_trusts_every_subdomain_and_nothing_else(make_app):
    app = target_app(make_app, csrf_trusted_origins='https://*.example.com')
    assert send(client(app), origin='https://shop.eu.example.com', site='same-site').status_int == 200
    assert send(client(app), origin='https://example.com', site='same-site').status_int == 403
    assert send(client(app), origin='https://example.com.evil.net', site='cross-site').status_int == 403


def test_a_trusted_origin_is_matched_as_cors_matches_one_in_any_case_and_without_its_default_port(make_app):
    app = target_app(make_app, config={'csrf_trusted_origins': 'HTTPS://WWW.Example.com:443/, http://a.example.org'})
    assert send(client(app), origin=WWW, site='same-site').status_int == 200
    assert send(client(app), origin='http://a.example.org:80', site='cross-site').status_int == 200


def test_a_trusted_origin_passes_outside_cors_paths(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW, cors=WWW, cors_paths='/api')
    assert send(client(app), origin=WWW, site='same-site').status_int == 200


def test_a_trusted_origin_passes_with_cors_star_for_a_form(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW, cors='*')
    res = send(client(app), origin=WWW, site='same-site')
    assert res.status_int == 200
    assert res.headers['Access-Control-Allow-Origin'] == '*'  # (cors = * answers every origin so)


def test_a_request_naming_no_origin_is_still_refused_when_the_browser_calls_it_foreign(make_app):
    app = target_app(make_app, csrf_trusted_origins=WWW)
    assert send(client(app), site='cross-site').status_int == 403
    assert send(client(app), origin='null', site='cross-site').status_int == 403
    assert send(client(app), origin='null').status_int == 403


def test_the_refusal_warning_names_csrf_trusted_origins_beside_cors(make_app, log_dir):
    app = target_app(make_app)
    assert send(client(app), origin=EVIL, site='cross-site').status_int == 403
    [line] = [line for line in warning_lines(log_dir) if 'Cross-site request refused' in line]
    assert ('to let another origin in, list it in cors (its pages may then read the answers too) or in '
            'csrf_trusted_origins (its forms may post on every path, its pages read no answer), or give a route '
            'csrf=False;') in line, line


def test_the_refusal_warning_under_cors_star_names_csrf_trusted_origins_too(make_app, log_dir):
    app = target_app(make_app, cors='*')
    assert send(client(app), origin=EVIL, site='cross-site').status_int == 403
    [line] = [line for line in warning_lines(log_dir) if 'Cross-site request refused' in line]
    assert ('list it in cors instead of * (cors = * lets another origin send only what a browser preflights: JSON, '
            'PUT, DELETE; never a form) or in csrf_trusted_origins (its forms may post on every path, its pages '
            'read no answer), or give a route csrf=False') in line, line


def test_the_refusal_warning_of_a_request_naming_no_origin_does_not_name_csrf_trusted_origins(make_app, log_dir):
    app = target_app(make_app)
    assert send(client(app), origin='null', site='cross-site').status_int == 403
    [line] = [line for line in warning_lines(log_dir) if 'Cross-site request refused' in line]
    assert 'or in csrf_trusted_origins' not in line and 'list it' not in line, line  # (no list lets it in)


@pytest.mark.parametrize('value, said', [
    ('*', "canister.csrf_trusted_origins = '*' is not valid: * would let every site's forms post here with the "
          "user's cookie: list the origins, or set csrf = false to turn the check off"),
    ('null', "canister.csrf_trusted_origins = 'null' is not valid: null is the origin any site's page can send from "
             "a sandboxed frame: it cannot be trusted"),
    ('www.example.com', "canister.csrf_trusted_origins = 'www.example.com' is not valid: 'www.example.com' is not an "
                        "origin: expected scheme://host[:port] with scheme http or https (the host may start with *.)"),
    ('https://www.example.com/contact', "is not an origin: expected scheme://host[:port]"),
    ('https://www.example.com:0443', 'a browser never sends the port 0443'),
    ('http://127.1', 'a browser reads a host that ends in a number as an IPv4 address'),
    ('https://café.example.com', "and csrf_trusted_origins must too"),
    ('https://*.com', "canister.csrf_trusted_origins: 'https://*.com' would trust every site under the top-level "
                      "domain 'com'"),
    ('https://www.*.example.com', "'https://www.*.example.com' is not an origin"),
])
def test_a_bad_trusted_origin_is_refused_at_install_as_in_cors(make_app, value, said):
    with pytest.raises(canister.ConfigError) as refused:
        make_app(config={'csrf_trusted_origins': value})
    assert said in str(refused.value)


def test_a_bad_wildcard_is_refused_at_install_with_csrf_off_too(make_app):
    with pytest.raises(canister.ConfigError, match='top-level domain'), pytest.warns(canister.CanisterWarning):
        make_app(csrf=False, csrf_trusted_origins='https://*.com')


@pytest.mark.parametrize('value, suffix', [('https://*.co.uk', 'co.uk'), ('https://*.com.au', 'com.au'),
                                           ('https://*.qc.ca', 'qc.ca'), ('https://*.nsw.au', 'nsw.au'),
                                           ('https://*.sp.gov.br', 'sp.gov.br'), ('https://*.tokyo.jp', 'tokyo.jp'),
                                           ('https://*.mi.it', 'mi.it'), ('https://*.pvt.k12.ma.us', 'pvt.k12.ma.us')])
def test_a_wildcard_over_a_country_or_regional_registry_domain_is_refused_at_install_as_in_cors(
        make_app, value, suffix):
    with pytest.raises(canister.ConfigError) as refused:
        make_app(csrf_trusted_origins=value)
    assert str(refused.value) == (
        'canister.csrf_trusted_origins: %r would trust every site under the public suffix %r (a registry hands '
        'out the names under it): name your own domain after the wildcard, as https://*.example.%s'
        % (value, suffix, suffix))


@pytest.mark.parametrize('value, origin', [
    ('https://*.example.co.uk', 'https://www.example.co.uk'), ('https://*.example.com', 'https://www.example.com'),
])
def test_a_wildcard_over_a_domain_of_ones_own_lets_its_subdomains_forms_in(make_app, value, origin):
    app = target_app(make_app, csrf_trusted_origins=value)
    assert send(client(app), origin=origin, site='cross-site').status_int == 200
    assert send(client(app), origin='https://evil.co.uk', site='cross-site').status_int == 403
    assert app.calls == ['POST']


@pytest.mark.parametrize('value, origin', [('https://*.example.ny.us', 'https://www.example.ny.us'),
                                           ('https://*.example.k12.ca.us', 'https://www.example.k12.ca.us')])
def test_a_wildcard_over_a_domain_of_ones_own_under_a_us_state_lets_its_subdomains_forms_in(make_app, value, origin):
    app = target_app(make_app, csrf_trusted_origins=value)
    assert send(client(app), origin=origin, site='cross-site').status_int == 200
    assert send(client(app), origin='https://evil.ny.us', site='cross-site').status_int == 403
    assert send(client(app), origin='https://evil.k12.ca.us', site='cross-site').status_int == 403
    assert app.calls == ['POST']


@pytest.mark.parametrize('value, origin, other', [
    ('https://*.example.qc.ca', 'https://www.example.qc.ca', 'https://evil.qc.ca'),
    ('https://*.example.com.au', 'https://www.example.com.au', 'https://evil.nsw.au'),
    ('https://*.example.tokyo.jp', 'https://www.example.tokyo.jp', 'https://evil.tokyo.jp'),
    ('https://*.example.mi.it', 'https://www.example.mi.it', 'https://evil.mi.it'),
    ('https://*.nsw.gov.au', 'https://service.nsw.gov.au', 'https://evil.vic.gov.au'),
])
def test_a_wildcard_over_a_site_of_its_own_in_a_region_lets_its_subdomains_forms_in(make_app, value, origin, other):
    app = target_app(make_app, csrf_trusted_origins=value)
    assert send(client(app), origin=origin, site='cross-site').status_int == 200
    assert send(client(app), origin=other, site='cross-site').status_int == 403
    assert app.calls == ['POST']


def test_trusted_origins_with_csrf_off_are_reported_at_install(make_app):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(csrf=False, csrf_trusted_origins=WWW)
    assert canister_warning_texts(caught) == [
        'canister.csrf_trusted_origins is set with csrf = false: it has no effect (every origin passes when the '
        'check is off)']


def test_djangos_trusted_origins_name_written_without_csrf_points_at_the_key(make_app):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={'trusted_origins': WWW})
    assert canister_warning_texts(caught) == [
        'unknown config key canister.trusted_origins (did you mean csrf_trusted_origins? an origin it lists passes '
        'the CSRF check (cors lets its pages read the answers too); trusted_proxies takes the addresses of reverse '
        'proxies)']
