"""CSRF exemption per route: ``@app.post('/acs', csrf=False)`` or ``@canister.csrf_exempt`` lets a
cross-site form POST in (a SAML ACS, an OIDC form_post callback); the routes beside it stay protected.

Every request goes over real HTTP to a waitress server, with the headers a browser sends on a
cross-site form POST (a foreign ``Origin`` and ``Sec-Fetch-Site: cross-site``).
"""
from __future__ import annotations

import pathlib
from typing import Any, Callable, Iterator, List, Tuple

import bottle
import pytest

from helpers import compose_child, read_log
from servers import Client

import canister
from canister import session

IDP = 'https://idp.example.org'
FORM = 'application/x-www-form-urlencoded'
CROSS_SITE = {'Origin': IDP, 'Sec-Fetch-Site': 'cross-site', 'Content-Type': FORM}


def cross_site_post(origin: str, path: str, **headers: str) -> Any:
    """A form POST to ``path`` as a page of the identity provider sends it, over HTTP."""
    return Client(origin).request('POST', path, body='SAMLResponse=abc', headers=dict(CROSS_SITE, **headers))


def routes(app: bottle.Bottle, how: str) -> List[str]:
    """POST /acs exempt as ``how`` says, and POST /profile beside it (not exempt); the list of handlers run."""
    calls: List[str] = []

    def acs() -> str:
        calls.append('acs')
        session.user = 'alice'
        return 'welcome'

    if how == 'keyword':
        app.post('/acs', csrf=False)(acs)
    elif how == 'decorator below':
        app.post('/acs')(canister.csrf_exempt(acs))
    elif how == 'decorator with parentheses':  # @canister.csrf_exempt(), as a decorator factory is written
        app.post('/acs')(canister.csrf_exempt()(acs))
    else:  # above: @canister.csrf_exempt written over @app.post marks the function the route has
        canister.csrf_exempt(app.post('/acs')(acs))

    @app.post('/profile')
    def profile() -> str:
        calls.append('profile')
        return 'changed'

    return calls


@pytest.mark.parametrize('how', ['keyword', 'decorator below', 'decorator with parentheses', 'decorator above'])
def test_an_exempt_route_takes_a_cross_site_form_post_and_its_neighbour_is_still_refused(make_app, serve, how):
    app = make_app()
    calls = routes(app, how)
    origin = serve(app)
    res = cross_site_post(origin, '/acs')
    assert (res.status, res.text) == (200, 'welcome')
    res = cross_site_post(origin, '/profile')
    assert res.status == 403
    assert 'Cross-site request refused' in res.text
    assert calls == ['acs']


def test_an_exempt_route_also_takes_a_post_that_names_its_origin_by_referer_only(make_app, serve):
    app = make_app()
    calls = routes(app, 'keyword')
    origin = serve(app)
    headers = {'Content-Type': FORM, 'Referer': IDP + '/sso'}
    assert Client(origin).request('POST', '/acs', body='a=1', headers=headers).status == 200
    assert Client(origin).request('POST', '/profile', body='a=1', headers=headers).status == 403
    assert calls == ['acs']


def test_the_exempt_pass_is_logged_at_info_with_the_origin_and_the_route(make_app, serve, log_dir):
    app = make_app()
    routes(app, 'keyword')
    cross_site_post(serve(app), '/acs')
    lines = [line for line in read_log(log_dir).splitlines() if 'let in' in line]
    assert len(lines) == 1
    assert ' INFO ' in lines[0]
    assert lines[0].endswith('Cross-site POST from %s let in: route POST /acs is exempt from CSRF protection' % IDP)


def test_a_referer_is_logged_as_its_origin_only_without_its_query_or_password(make_app, serve, log_dir):
    app = make_app()
    routes(app, 'keyword')
    origin = serve(app)
    referer = 'https://bob:PASSWORD99@idp.example.org/authorize?access_token=TOKEN42&code=CODE42'
    headers = {'Content-Type': FORM, 'Referer': referer, 'Accept': 'application/json'}
    assert Client(origin).request('POST', '/acs', body='a=1', headers=headers).status == 200
    refused = Client(origin).request('POST', '/profile', body='a=1', headers=headers)
    assert refused.status == 403 and 'origin https://idp.example.org may not' in refused.text
    log = read_log(log_dir)
    assert 'Cross-site POST from https://idp.example.org let in' in log
    assert 'refused: origin https://idp.example.org may not' in log
    for secret in ('PASSWORD99', 'TOKEN42', 'CODE42'):
        assert secret not in log and secret not in refused.text


def test_an_origin_holding_a_password_is_logged_masked_when_an_exempt_route_lets_it_in(make_app, serve, log_dir):
    # (no browser sends one, any client can: the INFO line of the exempt pass wrote it as sent, where the
    # refusal beside it and a refused preflight mask it)
    app = make_app()
    calls = routes(app, 'keyword')
    assert cross_site_post(serve(app), '/acs', Origin='https://bob:PASSWORD99@idp.example.org').status == 200
    assert calls == ['acs']
    log = read_log(log_dir)
    assert 'Cross-site POST from https://bob:***@idp.example.org let in: route POST /acs' in log
    assert 'PASSWORD99' not in log


def test_an_exempt_request_gets_the_rest_of_canisters_work(make_app, serve, log_dir):
    app = make_app(cors=IDP)
    routes(app, 'keyword')
    origin = serve(app)
    res = cross_site_post(origin, '/acs', **{'Sec-Fetch-Site': 'cross-site', 'Origin': 'https://other.example'})
    assert res.status == 200
    assert 'session_id=' in res.headers['Set-Cookie']                 # the session the handler started
    assert res.headers['X-Request-ID']
    assert res.headers['X-Content-Type-Options'] == 'nosniff'
    assert 'Access-Control-Allow-Origin' not in res.headers            # CORS as usual: not a listed origin
    assert 'Origin' in res.headers['Vary']
    log = read_log(log_dir)
    assert 'POST %s/acs' % origin in log
    assert 'Response: 200' in log


def test_the_exempt_route_still_gets_the_other_early_checks(make_app, serve):
    app = make_app(max_body_size=10)
    calls = routes(app, 'keyword')
    res = cross_site_post(serve(app), '/acs', **{'Content-Length': '11'})
    assert res.status == 413
    assert calls == []


def test_only_a_request_about_to_be_refused_looks_up_its_route(make_app, serve):
    app = make_app()
    routes(app, 'keyword')
    asked: List[str] = []
    match = app.router.match

    def counted(environ: Any) -> Any:
        asked.append(environ['PATH_INFO'])
        return match(environ)

    app.router.match = counted  # Bottle routes each request once; canister adds a look-up only before a refusal
    origin = serve(app)
    own = {'Origin': origin, 'Sec-Fetch-Site': 'same-origin', 'Content-Type': FORM}
    assert Client(origin).request('POST', '/profile', body='a=1', headers=own).status == 200
    assert asked == ['/profile']
    assert cross_site_post(origin, '/acs').status == 200
    assert asked == ['/profile', '/acs', '/acs']


@pytest.mark.parametrize('value', [True, 'false', 0, None])
def test_only_csrf_false_exempts_a_route(make_app, serve, value):
    app = make_app()
    calls: List[str] = []
    app.post('/acs', csrf=value)(lambda: calls.append('acs') or 'in')
    assert cross_site_post(serve(app), '/acs').status == 403
    assert calls == []


def test_a_csrf_key_in_the_apps_own_config_exempts_no_route(make_app, serve):
    app = make_app()
    app.config['csrf'] = False  # a root key of the app (bottle 0.13 shows it in every route's config)
    calls = routes(app, 'keyword')
    origin = serve(app)
    assert cross_site_post(origin, '/profile').status == 403
    assert cross_site_post(origin, '/acs').status == 200
    assert calls == ['acs']


def test_unrouted_requests_stay_refused_and_never_fail(make_app, serve):
    app = make_app(catchall=True)
    routes(app, 'keyword')

    @app.get('/acs_get_only', csrf=False)
    def get_only() -> str:
        return 'read'

    def refuse(value: str) -> str:
        raise ValueError('not mine')

    app.router.add_filter('picky', lambda conf: (r'[a-z]+', refuse, str))

    @app.post('/picky/<name:picky>', csrf=False)
    def picky(name: str) -> str:
        return name

    origin = serve(app)
    for path in ('/nowhere', '/acs_get_only', '/acs/more', '/%ff', '/picky/abc'):
        res = cross_site_post(origin, path)
        assert res.status == 403, path
        assert 'Cross-site request refused' in res.text, path


def test_the_exempt_route_of_a_post_to_a_method_it_lacks_is_refused(make_app, serve):
    app = make_app()
    routes(app, 'keyword')
    res = Client(serve(app)).request('PUT', '/acs', body='a=1', headers=CROSS_SITE)
    assert res.status == 403


def test_csrf_exempt_refuses_what_it_cannot_mark():
    with pytest.raises(TypeError, match='csrf=False'):
        canister.csrf_exempt(len)


# -- a child app's exempt route, mounted or merged ----------------------------------

Compose = Callable[[str, str], Tuple[bottle.Bottle, str, List[str]]]


@pytest.fixture
def compose_exempt(tmp_path: pathlib.Path) -> Iterator[Compose]:
    """compose_exempt(composition, place) -> (parent, prefix, calls): the child has /acs (exempt) and /profile,
    put in the parent as ``compose_child`` does."""
    installed: List[bottle.Bottle] = []

    def build(composition: str, place: str) -> Tuple[bottle.Bottle, str, List[str]]:
        parent, child = bottle.Bottle(), bottle.Bottle()
        parent.catchall = child.catchall = False
        if place in ('child', 'both'):
            child.install(canister.Canister(log_path=str(tmp_path / 'child')))
            installed.append(child)
        calls = routes(child, 'keyword')
        prefix = compose_child(parent, child, composition)
        if place in ('parent', 'both'):
            parent.install(canister.Canister(log_path=str(tmp_path / 'parent')))
            installed.append(parent)
        return parent, prefix, calls

    yield build
    for app in installed:
        app.uninstall(True)


@pytest.mark.parametrize('composition', ['mount', 'merge'])
@pytest.mark.parametrize('place', ['parent', 'child', 'both'])
def test_a_child_apps_exempt_route_is_exempt_and_its_neighbour_refused(compose_exempt, serve, composition, place):
    parent, prefix, calls = compose_exempt(composition, place)
    origin = serve(parent)
    assert cross_site_post(origin, prefix + '/acs').status == 200
    assert cross_site_post(origin, prefix + '/profile').status == 403
    assert calls == ['acs']


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_a_bottle_app_mounted_without_a_trailing_slash_keeps_its_exempt_route(tmp_path, serve):
    parent, child = bottle.Bottle(), bottle.Bottle()
    calls = routes(child, 'keyword')
    parent.mount('/a', child)  # bottle 0.13 mounts it as a WSGI app then: the parent's canister asks its router
    parent.install(canister.Canister(log_path=str(tmp_path)))
    try:
        origin = serve(parent)
        assert cross_site_post(origin, '/a/acs').status == 200
        assert cross_site_post(origin, '/a/profile').status == 403
        assert calls == ['acs']
    finally:
        parent.uninstall(True)


@pytest.mark.parametrize('place,status', [('child', 200), ('parent', 403), ('both', 403)])
def test_a_canister_cannot_see_an_exemption_inside_a_plain_wsgi_callable(compose_exempt, serve, place, status):
    parent, prefix, calls = compose_exempt('mount_wsgi', place)
    assert cross_site_post(serve(parent), prefix + '/acs').status == status
    assert calls == (['acs'] if status == 200 else [])


def test_a_bound_method_is_refused_by_the_decorator_and_its_neighbour_instance_stays_protected(make_app, serve):
    """Marking a bound method would mark its class's function: every instance's routes exempt."""
    class Resource:
        def __init__(self, name: str) -> None:
            self.name = name

        def post(self) -> str:
            return 'did ' + self.name

    webhook, admin = Resource('webhook'), Resource('admin')
    with pytest.raises(TypeError, match='keyword csrf=False instead'):
        canister.csrf_exempt(webhook.post)
    app = make_app()
    app.route('/webhook', 'POST', webhook.post, csrf=False)
    app.route('/admin/delete', 'POST', admin.post)
    origin = serve(app)
    assert cross_site_post(origin, '/webhook').text == 'did webhook'
    assert cross_site_post(origin, '/admin/delete').status == 403


def test_a_marked_function_is_exempt_on_every_route_it_is_given(make_app, serve):
    app = make_app()

    @canister.csrf_exempt
    def acs() -> str:
        return 'welcome'

    app.post('/saml/acs', callback=acs)
    app.post('/oidc/callback', callback=acs)
    origin = serve(app)
    assert cross_site_post(origin, '/saml/acs').text == 'welcome'
    assert cross_site_post(origin, '/oidc/callback').text == 'welcome'
