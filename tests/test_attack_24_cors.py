"""An attack review of CORS (session 24): origins a browser never sends refused at install, with the form it
does send; a list item of None or a boolean refused, not read as its str(); a preflight to a route whose filter
fails answered as any request to it, not by the server alone; an Origin's password masked in a refused preflight."""
from __future__ import annotations

import pytest

import canister
from helpers import APP_ORIGIN as APP, Server, page_app, page_fetch, raw_answer_and_log, read_log
from servers import Client, status_of


@pytest.mark.parametrize('origin', [
    'https://\u212aexample.com',  # the Kelvin sign, whose lower case is k
    'https://\u017fhop.example.com',  # the long s
    'https://\u0131nfo.example.com',  # the dotless i
])
def test_a_cors_origin_with_a_letter_that_only_looks_like_one_of_a_to_z_is_refused_at_install(make_app, origin):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(cors=origin)
    assert 'is not an origin as a browser sends it' in str(raised.value)


def test_an_internationalised_cors_origin_is_refused_with_a_word_on_the_form_a_browser_sends(make_app):
    with pytest.raises(canister.ConfigError) as raised:
        make_app(cors='https://caf\u00e9.example.com')
    assert str(raised.value) == (
        "canister.cors = 'https://caf\u00e9.example.com' is not valid: 'https://caf\u00e9.example.com' is not an "
        'origin as a browser sends it: a browser writes a host name with letters other than a-z in its ASCII '
        'form (xn--..., punycode), and cors must too')


def test_the_punycode_form_of_an_internationalised_origin_is_what_chromium_sends_and_what_cors_lets_in(
        make_app, page):
    pages = Server(page_app())
    try:
        app = make_app(cors='http://xn--caf-dma.localhost:%d' % pages.port)
        app.route('/hello', callback=lambda: 'hello')
        api = Server(app)
        try:
            page.goto('http://caf\u00e9.localhost:%d/' % pages.port)
            seen = page_fetch(page, api.origin + '/hello')
        finally:
            api.close()
    finally:
        pages.close()
    assert (seen['ok'], seen.get('status'), seen.get('body')) == (True, 200, 'hello'), seen


@pytest.mark.parametrize('key, value', [
    ('cors_headers', ['Content-Type', None]), ('cors_methods', ('GET', True)), ('cors_expose_headers', ['X-Request-ID', False]),
    ('cors', ['https://app.example.com', None]), ('trusted_proxies', ['10.0.0.1', None]),
])
def test_a_list_key_holding_none_or_a_boolean_is_refused_at_install_not_read_as_an_item_named_so(make_app, key, value):
    config = {'cors': APP} if key != 'cors' else {}
    config[key] = value
    with pytest.raises(canister.ConfigError) as raised:
        make_app(**config)
    assert str(raised.value).startswith('canister.%s = %r is not valid: expected items of text, not ' % (key, value))


def filtered_app(make_app):
    """An app (catching exceptions, as Bottle's default is) whose ANY route /items/<name:item> has a filter
    that raises LookupError for every name."""
    app = make_app(cors=APP, catchall=True)

    def item_filter(config):
        def to_python(text):
            raise LookupError('no item %s' % text)
        return r'[^/]+', to_python, str

    app.router.add_filter('item', item_filter)
    app.route('/items/<name:item>', method='ANY', callback=lambda name: name)
    return app


def test_a_preflight_to_a_route_whose_filter_fails_gets_bottles_500_with_canisters_headers_as_a_get_does(
        make_app, serve, log_dir):
    origin = serve(filtered_app(make_app))
    asked = Client(origin).request('OPTIONS', '/items/7', headers={'Origin': APP,
                                                                   'Access-Control-Request-Method': 'PUT'})
    got = Client(origin).request('GET', '/items/7', headers={'Origin': APP})
    for answer in (asked, got):
        assert answer.status == 500
        assert answer.headers['Access-Control-Allow-Origin'] == APP
        assert answer.headers['X-Frame-Options'] == 'DENY'
        assert answer.headers['X-Request-ID']
    assert read_log(log_dir).count('LookupError: no item 7') == 2



def test_an_origin_header_with_a_password_is_masked_in_a_refused_preflights_answer_and_warning(make_app, serve, log_dir):
    """No browser sends user information in ``Origin``, but any client can: as in the CSRF refusal, the password
    is masked."""
    app = make_app(cors=APP)
    app.route('/items', method='PUT', callback=lambda: 'items')
    answer, log = raw_answer_and_log(serve(app), log_dir,
                                     b'OPTIONS /items HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://bob:hunter2@evil.example\r\n'
                                     b'Access-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n')
    assert status_of(answer) == 403
    assert 'CORS preflight refused: origin http://bob:***@evil.example is not allowed' in log
    assert b'hunter2' not in answer
    assert 'hunter2' not in log
