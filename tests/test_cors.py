"""CORS: which origins get Access-Control-* headers, on which responses, and preflights."""
from __future__ import annotations

import re

import bottle
import pytest
import webtest

import canister
from helpers import (APP_ORIGIN as APP, EVIL_ORIGIN as EVIL, basic, client, preflight, read_log, readme_section,
                     vary_tokens)

OTHER = 'https://other.example.org'


def acao(res):
    """Every Access-Control-Allow-Origin header of a response."""
    return res.headers.getall('Access-Control-Allow-Origin')


def hello_app(make_app, **overrides):
    app = make_app(**overrides)

    @app.route('/')
    def index():
        return 'hello'

    return app


def granted_headers(res):
    """The request headers a preflight answer grants (Access-Control-Allow-Headers), lower-cased."""
    return {name.strip().lower() for name in res.headers.get('Access-Control-Allow-Headers', '').split(',')}


def granted_methods(res):
    """The methods a preflight answer grants (Access-Control-Allow-Methods)."""
    return {name.strip() for name in res.headers.get('Access-Control-Allow-Methods', '').split(',')}


def items_app(make_app, **overrides):
    """An app with PUT /items (answering 'items'): a route whose cross-origin requests need a preflight."""
    app = make_app(**overrides)
    app.route('/items', method='PUT', callback=lambda: 'items')
    return app


def read_app(make_app, **overrides):
    """An app with GET /read only (answering 'read')."""
    app = make_app(**overrides)
    app.route('/read', callback=lambda: 'read')
    return app


def webtest_no_lint(app):
    """A client without WebTest's lint, to send a request lint would stop."""
    return webtest.TestApp(app, lint=False, extra_environ={'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:80'})


# -- cors = * ---------------------------------------------------------------

def test_cors_star_gives_any_origin_star_and_no_credentials(make_app):
    res = client(hello_app(make_app, cors='*')).get('/', headers={'Origin': EVIL})
    assert res.status_int == 200
    assert res.text == 'hello'
    assert acao(res) == ['*']
    assert 'Access-Control-Allow-Credentials' not in res.headers


def test_cors_star_adds_nothing_to_requests_without_origin(make_app):
    res = client(hello_app(make_app, cors='*')).get('/')
    assert res.status_int == 200
    assert 'Access-Control-Allow-Origin' not in res.headers


def test_cors_star_answer_without_origin_varies_on_origin_so_caches_keep_it_from_browsers(make_app):
    res = client(hello_app(make_app, cors='*')).get('/')
    assert 'Origin' in [token.strip() for token in res.headers['Vary'].split(',')]


def test_cors_star_is_read_from_an_ini_file_with_an_upper_case_key(tmp_path, log_dir):
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nCORS = *\nlog_path = %s\n' % log_dir, encoding='utf-8')
    app = bottle.Bottle()
    app.config.load_config(str(ini))
    app.install(canister.Canister())
    try:
        @app.route('/')
        def index():
            return 'hello'

        res = client(app).get('/', headers={'Origin': EVIL})
        assert acao(res) == ['*']
    finally:
        app.uninstall(True)


def test_cors_off_by_default_adds_no_cors_headers(make_app):
    res = client(hello_app(make_app)).get('/', headers={'Origin': APP})
    assert res.status_int == 200
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'origin' not in vary_tokens(res)


def test_cors_star_with_credentials_is_a_config_error_at_install(make_app):
    with pytest.raises(canister.ConfigError):
        make_app(cors='*', cors_credentials=True)


def test_cors_star_with_credentials_from_strings_is_a_config_error_at_install(make_app):
    with pytest.raises(canister.ConfigError):
        make_app(config={'cors': '*', 'cors_credentials': 'true'})


# -- origin lists -----------------------------------------------------------

def test_cors_listed_origin_is_echoed(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': APP})
    assert acao(res) == [APP]


def test_cors_origin_list_may_be_comma_separated(make_app):
    c = client(hello_app(make_app, cors='%s,%s' % (APP, OTHER)))
    assert acao(c.get('/', headers={'Origin': APP})) == [APP]
    assert acao(c.get('/', headers={'Origin': OTHER})) == [OTHER]


def test_cors_origin_list_may_be_space_separated(make_app):
    c = client(hello_app(make_app, cors='%s   %s' % (APP, OTHER)))
    assert acao(c.get('/', headers={'Origin': APP})) == [APP]
    assert acao(c.get('/', headers={'Origin': OTHER})) == [OTHER]


def test_cors_origin_list_may_be_a_python_list(make_app):
    c = client(hello_app(make_app, cors=[APP, OTHER]))
    assert acao(c.get('/', headers={'Origin': OTHER})) == [OTHER]


def test_cors_unlisted_origin_gets_no_allow_origin(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': EVIL})
    assert res.status_int == 200
    assert res.text == 'hello'
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'Access-Control-Expose-Headers' not in res.headers


@pytest.mark.parametrize('origin', [
    'https://app.example.com.evil.net',
    'https://app.example.co',
    'https://xapp.example.com',
    'http://app.example.com',
    'https://app.example.com:8443',
    'https://sub.app.example.com',
])
def test_cors_origin_list_matches_whole_origins_only(make_app, origin):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': origin})
    assert 'Access-Control-Allow-Origin' not in res.headers


@pytest.mark.parametrize('origin', ['https://a.example.com', 'https://a.b.example.com', 'https://my_app.example.com'])
def test_cors_wildcard_accepts_subdomains(make_app, origin):
    res = client(hello_app(make_app, cors='https://*.example.com')).get('/', headers={'Origin': origin})
    assert acao(res) == [origin]


@pytest.mark.parametrize('origin', [
    'https://example.com.evil.net',
    'https://evil-example.com',
    'http://a.example.com',
    'https://example.com',
    'https://a.example.com.evil.net',
    'https://a.example.com:8443',
    'https://evil.net/.example.com',
    'https://evil.net?.example.com',
])
def test_cors_wildcard_rejects_lookalikes(make_app, origin):
    res = client(hello_app(make_app, cors='https://*.example.com')).get('/', headers={'Origin': origin})
    assert 'Access-Control-Allow-Origin' not in res.headers


@pytest.mark.parametrize('pattern', [
    'https://ex*ample.com', 'https://*example.com', 'https://*.*.example.com', '*.example.com', 'https://a.*.com',
])
def test_cors_invalid_wildcard_is_a_config_error(make_app, pattern):
    with pytest.raises(canister.ConfigError):
        make_app(cors=pattern)


@pytest.mark.parametrize('pattern', ['https://*.com', 'https://*.io:8443', 'http://*.dev/'])
def test_cors_wildcard_over_a_top_level_domain_is_a_config_error_naming_it(make_app, pattern):
    with pytest.raises(canister.ConfigError, match='every site under the top-level domain'):
        make_app(cors=pattern)


@pytest.mark.parametrize('pattern, suffix', [
    ('https://*.co.uk', 'co.uk'), ('https://*.com.au', 'com.au'), ('http://*.AC.JP:8080', 'ac.jp'),
])
def test_cors_wildcard_over_a_country_registry_domain_is_a_config_error_naming_it(make_app, pattern, suffix):
    with pytest.raises(canister.ConfigError) as refused:
        make_app(cors=pattern, cors_credentials=True)
    assert str(refused.value) == (
        'canister.cors: %r would trust every site under the public suffix %r (a registry hands out the names under '
        'it): name your own domain after the wildcard, as https://*.example.%s' % (pattern, suffix, suffix))


def registry_words_the_readme_lists():
    """The words the CORS section lists as those of a country's registry domain (``co`` of ``co.uk``)."""
    listed = readme_section('## CORS').split('written as one of the words ', 1)[1].split(' and a two-letter', 1)[0]
    return re.findall(r'`([a-z]+)`', listed)


def test_the_readme_lists_many_registry_words():
    assert {'co', 'com', 'ac', 'gov', 'net', 'org'} <= set(registry_words_the_readme_lists())


@pytest.mark.parametrize('word', registry_words_the_readme_lists())
def test_cors_wildcard_over_each_registry_word_the_readme_lists_is_refused(make_app, word):
    with pytest.raises(canister.ConfigError, match=re.escape('under the public suffix %r' % (word + '.br'))):
        make_app(cors='https://*.%s.br' % word)


def us_registry_examples_the_readme_gives():
    """The wildcards over a US state's registry domain the CORS section says are refused, and the one allowed."""
    listed = readme_section('## CORS').split("or a US state's, alone or with the sector of its schools, community "
                                            'colleges or libraries (', 1)[1].split(')', 1)[0]
    refused, allowed = listed.split(';')
    return re.findall(r'`([^`]+)`', refused), re.findall(r'`([^`]+)`', allowed)


def test_the_readme_gives_a_state_and_its_three_sectors_as_refused():
    assert us_registry_examples_the_readme_gives() == (
        ['https://*.ny.us', 'https://*.k12.ca.us', 'https://*.cc.ca.us', 'https://*.lib.ca.us'],
        ['https://*.example.ny.us'])


@pytest.mark.parametrize('pattern, origin', [
    (us_registry_examples_the_readme_gives()[1][0], 'https://shop.example.ny.us'),
    ('https://*.example.k12.ca.us', 'https://www.example.k12.ca.us'),  # (a school's own domain)
    ('https://*.example.us', 'https://shop.example.us'), ('https://*.ab.us', 'https://shop.ab.us'),
])
def test_a_wildcard_over_a_domain_of_ones_own_under_us_installs_and_matches_its_subdomains(make_app, pattern,
                                                                                           origin):
    app = hello_app(make_app, cors=pattern, csrf_trusted_origins=pattern)
    assert acao(client(app).get('/', headers={'Origin': origin})) == [origin]
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': 'https://evil.ny.us'}).headers


def regional_registry_examples_the_readme_gives():
    """The wildcards over another regional registry's domain the CORS section says are refused, and those allowed."""
    listed = readme_section('## CORS').split("or another region's that the Public Suffix List holds as a registry: ",
                                            1)[1].split(' (`', 1)[1].split('), in `cors`', 1)[0]
    refused, allowed = ('`' + listed).split(';')
    return re.findall(r'`([^`]+)`', refused), re.findall(r'`([^`]+)`', allowed)


def test_the_readme_gives_a_region_of_each_country_as_refused_and_the_one_site_ones_as_allowed():
    assert regional_registry_examples_the_readme_gives() == (
        ['https://*.qc.ca', 'https://*.nsw.au', 'https://*.vic.gov.au', 'https://*.sp.gov.br', 'https://*.tokyo.jp',
         'https://*.chuo.kobe.jp', 'https://*.mi.it', 'https://*.pvt.k12.ma.us'],
        ['https://*.example.qc.ca', 'https://*.example.tokyo.jp', 'https://*.city.kobe.jp', 'https://*.k12.hi.us',
         'https://*.nsw.gov.au'])


@pytest.mark.parametrize('pattern', regional_registry_examples_the_readme_gives()[0] + [
    'https://*.on.ca', 'https://*.gc.ca', 'https://*.vic.au', 'https://*.act.au', 'https://*.nsw.edu.au',
    'https://*.catholic.edu.au', 'https://*.schools.nsw.edu.au', 'https://*.qld.gov.au', 'https://*.RJ.gov.br',
    'https://*.osaka.jp', 'https://*.hokkaido.jp', 'https://*.kobe.jp', 'https://*.naka.yokohama.jp',
    'http://*.to.it:8080', 'https://*.vv.it', 'https://*.chtr.k12.ma.us', 'https://*.paroch.k12.ma.us',
    'https://*.ann-arbor.mi.us', 'https://*.lib.de.us', 'https://*.lg.jp', 'https://*.ed.jp', 'https://*.gr.jp',
    'https://*.ad.jp'] + us_registry_examples_the_readme_gives()[0] + [
    'http://*.DC.us:8080', 'https://*.pr.us', 'https://*.k12.wy.us'])
@pytest.mark.parametrize('key', ['cors', 'csrf_trusted_origins'])
def test_a_wildcard_over_a_regional_registry_domain_is_a_config_error_naming_it(make_app, pattern, key):
    # (a US state's, ``*.ny.us``, among them)
    suffix = pattern.split('*.', 1)[1].split(':')[0].lower()
    with pytest.raises(canister.ConfigError) as refused:
        make_app(**{key: pattern})
    assert str(refused.value) == (
        'canister.%s: %r would trust every site under the public suffix %r (a registry hands out the names under '
        'it): name your own domain after the wildcard, as https://*.example.%s' % (key, pattern, suffix, suffix))


@pytest.mark.parametrize('pattern', regional_registry_examples_the_readme_gives()[1] + [
    'https://*.example.com.au', 'https://*.example.nsw.au', 'https://*.example.sp.gov.br', 'https://*.example.mi.it',
    'https://*.ab.it', 'https://*.xy.ca', 'https://*.example.pvt.k12.ma.us', 'https://*.act.gov.au',
    'https://*.k12.wv.us', 'https://*.lib.wv.us', 'https://*.city.yokohama.jp', 'https://*.example.chuo.kobe.jp',
    'https://*.example.lg.jp', 'https://*.lg.de'])
def test_a_wildcard_over_a_site_of_its_own_in_a_region_installs_and_matches_its_subdomains(make_app, pattern):
    origin = pattern.replace('*', 'shop')
    app = hello_app(make_app, cors=pattern, cors_credentials=True, csrf_trusted_origins=pattern)
    res = client(app).get('/', headers={'Origin': origin})
    assert acao(res) == [origin]
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': 'https://evil.qc.ca'}).headers


@pytest.mark.parametrize('word', ['web', 'info', 'me', 'shop'])
def test_cors_wildcard_over_another_word_and_a_country_code_installs(make_app, word):
    res = client(hello_app(make_app, cors='https://*.%s.de' % word)).get(
        '/', headers={'Origin': 'https://mail.%s.de' % word})
    assert acao(res) == ['https://mail.%s.de' % word]


@pytest.mark.parametrize('pattern, origin', [
    ('https://*.example.co.uk', 'https://shop.example.co.uk'),
    ('https://*.example.com', 'https://shop.example.com'),
    ('https://*.example.de', 'https://shop.example.de'),
    ('https://*.co.com', 'https://shop.co.com'),
])
def test_cors_wildcard_over_a_domain_of_ones_own_installs_and_matches_its_subdomains(make_app, pattern, origin):
    app = hello_app(make_app, cors=pattern, cors_credentials=True)
    res = client(app).get('/', headers={'Origin': origin})
    assert acao(res) == [origin]
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': 'https://evil.co.uk'}).headers


def other_registry_examples_the_readme_gives():
    """The wildcards over another registry's domain the CORS section says install, the app's to judge."""
    listed = readme_section('## CORS').split("or another registry's domain (", 1)[1].split(') installs', 1)[0]
    return re.findall(r'`([^`]+)`', listed)


def test_the_readme_gives_an_austrian_a_japanese_city_and_an_italian_province_registry_as_the_apps_to_judge():
    assert other_registry_examples_the_readme_gives() == [
        'https://*.gv.at', 'https://*.shibuya.tokyo.jp', 'https://*.milano.it']


@pytest.mark.parametrize('pattern', other_registry_examples_the_readme_gives())
def test_cors_wildcard_over_another_public_suffix_is_the_apps_to_judge(make_app, pattern):
    origin = pattern.replace('*', 'agency')
    res = client(hello_app(make_app, cors=pattern)).get('/', headers={'Origin': origin})
    assert acao(res) == [origin]


@pytest.mark.parametrize('pattern', ['https://*.internal', 'https://*.local', 'http://*.test:8080'])
def test_cors_wildcard_over_a_private_top_level_name_installs(make_app, pattern):
    make_app(cors=pattern)


def test_cors_wildcard_over_localhost_is_allowed_for_development(make_app):
    res = client(hello_app(make_app, cors='http://*.localhost:8080')).get(
        '/', headers={'Origin': 'http://app.localhost:8080'})
    assert acao(res) == ['http://app.localhost:8080']


def test_cors_wildcard_over_a_shared_hosting_domain_trusts_every_site_there(make_app):
    res = client(hello_app(make_app, cors='https://*.github.io')).get(
        '/', headers={'Origin': 'https://someone-else.github.io'})
    assert acao(res) == ['https://someone-else.github.io']


def test_cors_null_origin_is_refused_unless_listed(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': 'null'})
    assert 'Access-Control-Allow-Origin' not in res.headers


def test_cors_null_origin_is_allowed_when_listed_literally(make_app):
    res = client(hello_app(make_app, cors='null %s' % APP)).get('/', headers={'Origin': 'null'})
    assert acao(res) == ['null']


# -- credentials ------------------------------------------------------------

def test_cors_credentials_add_allow_credentials_for_a_listed_origin(make_app):
    res = client(hello_app(make_app, cors=APP, cors_credentials=True)).get('/', headers={'Origin': APP})
    assert acao(res) == [APP]
    assert res.headers.getall('Access-Control-Allow-Credentials') == ['true']


def test_cors_credentials_are_not_granted_to_an_unlisted_origin(make_app):
    res = client(hello_app(make_app, cors=APP, cors_credentials=True)).get('/', headers={'Origin': EVIL})
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'Access-Control-Allow-Credentials' not in res.headers


def test_cors_allowed_origin_does_not_leak_between_credentialed_requests(make_app):
    c = client(hello_app(make_app, cors=[APP, OTHER], cors_credentials=True))
    assert acao(c.get('/', headers={'Origin': APP})) == [APP]
    res = c.get('/', headers={'Origin': EVIL})
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'Access-Control-Allow-Credentials' not in res.headers
    assert acao(c.get('/', headers={'Origin': OTHER})) == [OTHER]


# -- one header, Vary ---------------------------------------------------------

def test_cors_replaces_an_allow_origin_the_handler_set(make_app):
    app = make_app(cors=APP, cors_credentials=True)

    @app.route('/')
    def index():
        bottle.response.set_header('Access-Control-Allow-Origin', EVIL)
        bottle.response.add_header('Access-Control-Allow-Origin', '*')
        bottle.response.set_header('Access-Control-Allow-Credentials', 'true')
        return 'hello'

    res = client(app).get('/', headers={'Origin': APP})
    assert acao(res) == [APP]
    assert res.headers.getall('Access-Control-Allow-Credentials') == ['true']


def test_cors_star_replaces_an_allow_origin_the_handler_set(make_app):
    app = make_app(cors='*')

    @app.route('/')
    def index():
        bottle.response.set_header('Access-Control-Allow-Origin', EVIL)
        return 'hello'

    res = client(app).get('/', headers={'Origin': APP})
    assert acao(res) == ['*']


def test_cors_origin_list_varies_on_origin_for_an_allowed_origin(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': APP})
    assert vary_tokens(res) == ['origin']


def test_cors_origin_list_varies_on_origin_for_a_disallowed_origin(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': EVIL})
    assert vary_tokens(res) == ['origin']


def test_cors_origin_list_varies_on_origin_without_an_origin(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/')
    assert vary_tokens(res) == ['origin']


def test_cors_vary_origin_merges_with_the_session_vary_cookie(make_app):
    app = make_app(cors=APP)

    @app.route('/')
    def index():
        canister.session.data['n'] = 1
        return 'hello'

    res = client(app).get('/', headers={'Origin': APP})
    assert 'Set-Cookie' in res.headers
    assert len(res.headers.getall('Vary')) == 1
    assert sorted(vary_tokens(res)) == ['cookie', 'origin']


def vary_app(make_app, vary):
    """An app (cors=APP) whose / sets the Vary header ``vary`` itself."""
    app = make_app(cors=APP)

    @app.route('/')
    def index():
        bottle.response.set_header('Vary', vary)
        return 'hello'

    return app


def test_cors_vary_origin_merges_with_a_vary_the_handler_set(make_app):
    res = client(vary_app(make_app, 'Accept-Encoding')).get('/', headers={'Origin': EVIL})
    assert len(res.headers.getall('Vary')) == 1
    assert vary_tokens(res) == ['accept-encoding', 'origin']


def test_cors_vary_origin_is_not_repeated_when_the_handler_set_it(make_app):
    res = client(vary_app(make_app, 'Origin')).get('/', headers={'Origin': APP})
    assert vary_tokens(res) == ['origin']


# -- expose headers -------------------------------------------------------------

def test_cors_exposes_x_request_id_retry_after_and_www_authenticate_by_default(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Request-ID, Retry-After, WWW-Authenticate']
    assert res.headers['X-Request-ID']


def exposed_names(res):
    """The names of the response headers a page of another origin may read (Access-Control-Expose-Headers)."""
    return [name.strip() for name in res.headers.get('Access-Control-Expose-Headers', '').split(',')]


def test_a_page_of_another_origin_may_read_the_retry_after_of_the_login_throttles_429(make_app):
    app = make_app(cors=APP, auth_basic_username='bob', auth_basic_password='right', auth_max_failures=1)
    app.route('/who', callback=lambda: str(canister.session.user))
    wrong = {'Origin': APP, 'Authorization': basic('bob', 'wrong')}
    web = client(app)
    assert web.get('/who', headers=wrong, expect_errors=True).status_int == 401
    throttled = web.get('/who', headers=wrong, expect_errors=True)
    assert throttled.status_int == 429
    assert throttled.headers['Retry-After'] == '60'
    assert 'Retry-After' in exposed_names(throttled)


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')  # (the store is down from the start)
def test_a_page_of_another_origin_may_read_the_retry_after_of_a_503_for_a_store_down(make_app):
    app = make_app(cors='*', session_store='redis://127.0.0.1:1/0')

    @app.get('/write')
    def write():
        canister.session.data['n'] = 1
        return 'written'

    answer = client(app).get('/write', headers={'Origin': OTHER}, expect_errors=True)
    assert answer.status_int == 503
    assert answer.headers['Retry-After'] == '1'
    assert 'Retry-After' in exposed_names(answer)


def test_cors_expose_headers_are_configurable(make_app):
    res = client(hello_app(make_app, cors='*', cors_expose_headers='X-Total, X-Page')).get(
        '/', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Total, X-Page']


def test_cors_empty_expose_headers_sends_none(make_app):
    res = client(hello_app(make_app, cors=APP, cors_expose_headers='')).get('/', headers={'Origin': APP})
    assert acao(res) == [APP]
    assert 'Access-Control-Expose-Headers' not in res.headers


def expose_app(make_app, exposed, **overrides):
    """An app whose route sets its own Access-Control-Expose-Headers (``exposed``)."""
    app = make_app(**overrides)

    @app.route('/')
    def index():
        bottle.response.set_header('Access-Control-Expose-Headers', exposed)
        return 'hello'

    return app


@pytest.mark.parametrize('cors', [APP, '*'])
def test_cors_expose_headers_of_the_app_and_canister_are_one_header(make_app, cors):
    res = client(expose_app(make_app, 'X-Total', cors=cors)).get('/', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Total, X-Request-ID, Retry-After, WWW-Authenticate']


def test_cors_expose_headers_named_by_the_app_and_canister_are_named_once(make_app):
    app = expose_app(make_app, 'x-request-id, X-Total', cors=APP, cors_expose_headers='X-Request-ID, X-Page')
    res = client(app).get('/', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Expose-Headers') == ['x-request-id, X-Total, X-Page']


def test_cors_expose_headers_of_the_app_stay_without_canisters(make_app):
    res = client(expose_app(make_app, 'X-Total', cors='*', cors_expose_headers='')).get(
        '/', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Total']
    assert acao(res) == ['*']


def test_cors_expose_headers_of_an_http_error_join_canisters(make_app):
    app = make_app(cors=APP)

    @app.route('/teapot')
    def teapot():
        raise bottle.HTTPError(418, 'teapot', **{'Access-Control-Expose-Headers': 'X-Brew'})

    res = client(app).get('/teapot', headers={'Origin': APP}, status=418)
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Brew, X-Request-ID, Retry-After, WWW-Authenticate']
    assert acao(res) == [APP]


# -- every kind of response -----------------------------------------------------

def test_cors_headers_on_an_abort_raised_by_the_handler(make_app):
    app = make_app(cors=APP)

    @app.route('/teapot')
    def teapot():
        bottle.abort(418, 'I am a teapot')

    res = client(app).get('/teapot', headers={'Origin': APP}, status=418)
    assert acao(res) == [APP]
    assert 'origin' in vary_tokens(res)


def test_cors_headers_on_a_redirect(make_app):
    app = make_app(cors=APP)

    @app.route('/old')
    def old():
        bottle.redirect('/new')

    res = client(app).get('/old', headers={'Origin': APP})
    assert res.status_int in (302, 303)
    assert res.headers['Location'].endswith('/new')
    assert acao(res) == [APP]


def test_cors_headers_on_an_http_response_returned_by_the_handler(make_app):
    app = make_app(cors='*')

    @app.route('/created')
    def created():
        return bottle.HTTPResponse('made', status=201)

    res = client(app).get('/created', headers={'Origin': APP}, status=201)
    assert res.text == 'made'
    assert acao(res) == ['*']


def test_cors_headers_on_bottles_404_page(make_app):
    res = client(hello_app(make_app, cors=APP)).get('/missing', headers={'Origin': APP}, status=404)
    assert acao(res) == [APP]
    assert 'origin' in vary_tokens(res)


def test_cors_headers_on_bottles_405_page(make_app):
    res = client(hello_app(make_app, cors=APP)).delete('/', headers={'Origin': APP}, status=405)
    assert acao(res) == [APP]


def test_cors_headers_on_bottles_500_page(make_app):
    app = make_app(cors=APP, catchall=True)

    @app.route('/boom')
    def boom():
        raise RuntimeError('boom')

    res = client(app).get('/boom', headers={'Origin': APP}, expect_errors=True)
    assert res.status_int == 500
    assert acao(res) == [APP]
    assert res.headers.getall('Access-Control-Expose-Headers') == ['X-Request-ID, Retry-After, WWW-Authenticate']


def test_cors_headers_on_a_static_file(make_app, tmp_path):
    (tmp_path / 'static').mkdir()
    (tmp_path / 'static' / 'hello.txt').write_text('static hello', encoding='utf-8')
    app = make_app(cors=APP, cors_credentials=True)

    @app.route('/static/<name>')
    def static(name):
        return bottle.static_file(name, root=str(tmp_path / 'static'))

    res = client(app).get('/static/hello.txt', headers={'Origin': APP})
    assert res.text == 'static hello'
    assert acao(res) == [APP]
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


def test_cors_headers_on_canisters_400_for_a_bad_parameter(make_app):
    app = make_app(cors=APP)

    @app.route('/n')
    def number(n: int):
        return str(n)

    res = client(app).get('/n?n=abc', headers={'Origin': APP}, status=400)
    assert 'n' in res.text
    assert acao(res) == [APP]


def test_cors_headers_on_canisters_400_for_a_bad_content_length(make_app):
    app = hello_app(make_app, cors=APP)
    res = webtest_no_lint(app).get('/', headers={'Origin': APP}, extra_environ={'CONTENT_LENGTH': 'abc'},
                                   status=400)
    assert 'Content-Length' in res.text
    assert acao(res) == [APP]


def test_cors_headers_on_canisters_401_for_require_user(make_app):
    app = make_app(cors=APP)

    @app.route('/me')
    @canister.require_user
    def me():
        return 'secret'

    res = client(app).get('/me', headers={'Origin': APP}, status=401)
    assert 'secret' not in res.text
    assert acao(res) == [APP]


def test_cors_headers_on_canisters_401_for_a_wrong_password(make_app):
    app = make_app(cors=APP, auth_basic_username='alice', auth_basic_password='right',
                   auth_basic_encryption='clear')

    @app.route('/')
    def index():
        return 'hello'

    c = client(app)
    c.authorization = ('Basic', ('alice', 'wrong'))
    res = c.get('/', headers={'Origin': APP}, status=401)
    assert acao(res) == [APP]


def test_cors_headers_on_canisters_413_for_a_large_body(make_app):
    app = make_app(cors=APP, max_body_size=10)

    @app.post('/upload')
    def upload():
        return 'stored'

    res = client(app).post('/upload', 'x' * 100, headers={'Origin': APP, 'Content-Type': 'text/plain'},
                           status=413)
    assert 'stored' not in res.text
    assert acao(res) == [APP]


def test_cors_headers_on_canisters_431_for_a_large_cookie(make_app):
    app = hello_app(make_app, cors=APP, max_header_size=256)
    res = client(app).get('/', headers={'Origin': APP, 'Cookie': 'big=' + 'x' * 300}, status=431)
    assert acao(res) == [APP]
    assert 'origin' in vary_tokens(res)


def test_cors_canister_refusals_give_no_allow_origin_to_a_disallowed_origin(make_app):
    app = hello_app(make_app, cors=APP, max_header_size=256)
    res = client(app).get('/', headers={'Origin': EVIL, 'Cookie': 'big=' + 'x' * 300}, status=431)
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'origin' in vary_tokens(res)


# -- preflight --------------------------------------------------------------------

def test_cors_preflight_answers_204_with_the_allowed_origin(make_app):
    app = make_app(cors=APP)

    @app.route('/items', method=['GET', 'PUT'])
    def items():
        return 'items'

    res = preflight(client(app), '/items', method='PUT')
    assert res.status_int == 204
    assert res.body == b''
    assert acao(res) == [APP]
    assert 'origin' in vary_tokens(res)


def test_cors_preflight_with_star_answers_star(make_app):
    app = make_app(cors='*')

    @app.route('/items', method=['GET', 'PUT'])
    def items():
        return 'items'

    res = preflight(client(app), '/items', origin=EVIL, method='PUT')
    assert res.status_int == 204
    assert acao(res) == ['*']


def test_cors_preflight_allows_the_methods_the_route_accepts(make_app):
    app = make_app(cors=APP)

    @app.route('/items', method=['GET', 'PUT'])
    def items():
        return 'items'

    @app.delete('/items')
    def remove():
        return 'removed'

    assert granted_methods(preflight(client(app), '/items', method='DELETE')) == {'GET', 'PUT', 'DELETE'}


def test_cors_preflight_for_put_on_a_get_only_route_does_not_grant_put(make_app):
    app = read_app(make_app, cors=APP)
    res = preflight(client(app), '/read', method='PUT')
    methods = granted_methods(res)
    assert 'PUT' not in methods
    assert 'GET' in methods


def test_cors_preflight_on_a_dynamic_route_allows_its_methods(make_app):
    app = make_app(cors=APP)

    @app.post('/items/<item_id:int>')
    def update(item_id):
        return 'updated'

    res = preflight(client(app), '/items/7', method='POST', headers='Content-Type')
    assert res.status_int == 204
    assert res.headers['Access-Control-Allow-Methods'] == 'POST'


def test_cors_preflight_on_an_any_route_allows_every_method(make_app):
    app = make_app(cors=APP)

    @app.route('/any', method='ANY')
    def anything():
        return 'any'

    res = preflight(client(app), '/any', method='PATCH')
    methods = granted_methods(res)
    assert {'GET', 'POST', 'PUT', 'PATCH', 'DELETE'} <= methods


def test_cors_preflight_uses_cors_methods_when_configured(make_app):
    app = make_app(cors=APP, cors_methods='GET, POST')

    @app.route('/any', method='ANY')
    def anything():
        return 'any'

    assert granted_methods(preflight(client(app), '/any', method='POST')) == {'GET', 'POST'}


def test_cors_preflight_cors_methods_never_grant_a_method_the_route_refuses(make_app):
    app = read_app(make_app, cors=APP, cors_methods='GET, PUT')
    assert granted_methods(preflight(client(app), '/read', method='PUT')) == {'GET'}


def test_cors_preflight_grants_only_allowed_request_headers(make_app):
    app = items_app(make_app, cors=APP)
    res = preflight(client(app), '/items', headers='Content-Type, X-Evil')
    granted = granted_headers(res)
    assert 'content-type' in granted
    assert 'x-evil' not in granted


def test_cors_preflight_grants_configured_request_headers(make_app):
    app = items_app(make_app, cors=APP, cors_headers='X-Custom')
    assert granted_headers(preflight(client(app), '/items', headers='X-Custom, Content-Type')) == {'x-custom'}


def test_cors_preflight_with_any_header_grants_every_requested_header(make_app):
    app = items_app(make_app, cors=APP, cors_headers='*')
    assert granted_headers(preflight(client(app), '/items', headers='X-One, X-Two')) == {'x-one', 'x-two'}


def test_cors_preflight_sends_the_default_max_age(make_app):
    app = items_app(make_app, cors=APP)
    assert preflight(client(app), '/items').headers['Access-Control-Max-Age'] == '600'


def test_cors_preflight_sends_the_configured_max_age(make_app):
    app = items_app(make_app, cors=APP, cors_max_age='42')
    assert preflight(client(app), '/items').headers['Access-Control-Max-Age'] == '42'


def test_cors_preflight_with_credentials_allows_credentials(make_app):
    app = items_app(make_app, cors=APP, cors_credentials=True)
    res = preflight(client(app), '/items')
    assert acao(res) == [APP]
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


def test_cors_preflight_does_not_call_the_handler(make_app):
    app = make_app(cors=APP)
    calls = []

    @app.route('/items', method=['GET', 'PUT', 'OPTIONS'])
    def items():
        calls.append(bottle.request.method)
        return 'items'

    res = preflight(client(app), '/items')
    assert res.status_int == 204
    assert calls == []


def test_cors_preflight_to_a_route_that_requires_a_user_is_not_refused(make_app):
    app = make_app(cors=APP, auth_basic_username='alice', auth_basic_password='right',
                   auth_basic_encryption='clear')

    @app.put('/me')
    @canister.require_user
    def me():
        return 'secret'

    res = preflight(client(app), '/me', headers='Authorization, Content-Type')
    assert res.status_int == 204
    assert acao(res) == [APP]
    granted = granted_headers(res)
    assert granted == {'authorization', 'content-type'}


def test_cors_preflight_creates_no_session(make_app):
    store = canister.MemoryStore()
    app = make_app(cors=APP, store=store)

    @app.route('/items', method=['PUT', 'OPTIONS'])
    def items():
        canister.session.data['touched'] = True
        return 'items'

    res = preflight(client(app), '/items')
    assert res.status_int == 204
    assert 'Set-Cookie' not in res.headers
    assert len(store) == 0


def test_cors_preflight_is_logged_at_debug(make_app, log_dir):
    app = items_app(make_app, cors=APP, log_level='DEBUG')
    assert preflight(client(app), '/items').status_int == 204
    lines = [line for line in read_log(log_dir).splitlines() if 'OPTIONS' in line or 'Response: 204' in line]
    assert len(lines) == 2
    assert all(' DEBUG ' in line for line in lines)


def test_cors_preflight_writes_nothing_at_the_default_info_level(make_app, log_dir):
    app = items_app(make_app, cors=APP)
    assert preflight(client(app), '/items').status_int == 204
    log = read_log(log_dir)
    assert 'OPTIONS' not in log
    assert 'Response: 204' not in log


def test_cors_preflight_from_a_disallowed_origin_gets_no_cors_headers(make_app):
    app = make_app(cors=APP, cors_credentials=True)
    calls = []

    @app.put('/items')
    def items():
        calls.append(1)
        return 'items'

    res = preflight(client(app), '/items', origin=EVIL)
    assert res.status_int != 204
    assert not [name for name in res.headers if name.lower().startswith('access-control-')]
    assert calls == []


def test_cors_preflight_to_an_unrouted_path_is_404(make_app):
    app = items_app(make_app, cors=APP)
    res = preflight(client(app), '/nowhere')
    assert res.status_int == 404
    assert 'Access-Control-Allow-Methods' not in res.headers


def test_cors_plain_options_on_a_get_only_route_is_bottles_405(make_app):
    app = read_app(make_app, cors=APP)
    res = client(app).options('/read', expect_errors=True)
    assert res.status_int == 405
    assert 'Access-Control-Allow-Methods' not in res.headers


def test_cors_options_with_origin_but_no_request_method_is_not_a_preflight(make_app):
    app = read_app(make_app, cors=APP)
    res = client(app).options('/read', headers={'Origin': APP}, expect_errors=True)
    assert res.status_int == 405
    assert 'Access-Control-Allow-Methods' not in res.headers


def test_cors_plain_options_runs_an_explicit_options_handler(make_app):
    app = make_app(cors=APP)

    @app.route('/items', method='OPTIONS')
    def options():
        return 'my options'

    res = client(app).options('/items')
    assert res.status_int == 200
    assert res.text == 'my options'


def test_cors_preflight_is_not_answered_when_cors_is_off(make_app):
    app = read_app(make_app)
    res = preflight(client(app), '/read', method='GET')
    assert res.status_int == 405
    assert 'Access-Control-Allow-Origin' not in res.headers


def test_cors_methods_star_grants_the_methods_the_route_accepts(make_app):
    app = make_app(cors=APP, cors_methods='*')

    @app.route('/items', method=['GET', 'PUT', 'DELETE'])
    def items():
        return 'items'

    res = preflight(client(app), '/items', method='PUT')
    assert res.status_int == 204
    assert granted_methods(res) == {'GET', 'PUT', 'DELETE'}


@pytest.mark.parametrize('origins, allowed', [('*', '*'), (APP, None), ('%s null' % APP, 'null')])
def test_the_null_origin_is_allowed_by_star_or_when_listed_and_otherwise_not(make_app, origins, allowed):
    res = client(hello_app(make_app, cors=origins)).get('/', headers={'Origin': 'null'})
    assert acao(res) == ([allowed] if allowed else [])
