"""CSRF and the session cookie between the sites of one domain, in a real headless Chromium.

Chromium finds every ``*.localhost`` name at 127.0.0.1 and treats it as loopback (a secure context, as an
HTTPS site is): the app with canister is ``http://app.site.localhost:<B>``, and one plain Bottle app
(no canister) serves the pages of every other name on port <P>: ``site.localhost`` (the parent domain),
``evil.site.localhost`` (a sibling subdomain, the same *site*), ``localhost`` and ``a.localhost`` (other
sites).  A recorder in front of the app keeps what the browser sent (Sec-Fetch-Site, Origin, Cookie).
The last tests use a Chromium that finds ``*.example.test`` at 127.0.0.1: a name no browser treats as
loopback, as a real site's over plain HTTP.  Requirements are those of tests/test_browser.py.
"""
from __future__ import annotations

from typing import Any, Tuple
from urllib.parse import quote, urlencode

import bottle
import pytest

from helpers import COOKIE, Server, SignalRecorder, page_app, read_log, transfer_app
from servers import wait_until

import canister
from canister import session

TOSSED = 'T' * 43  # a well-formed session id that names no session

# Runs inside a page: post a form with one field amount=5 to ``url`` (``enctype`` null: urlencoded).
POST_FORM = """([url, enctype]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = url;
  if (enctype) form.enctype = enctype;
  form.innerHTML = '<input type="hidden" name="amount" value="5">';
  document.body.appendChild(form);
  form.submit();
}"""


def pages_app() -> bottle.Bottle:
    """``page_app`` with /redirect?code=&to= (a redirect of that status, for GET and POST) and /toss?cookie=
    (an answer that sets that cookie)."""
    app = page_app()

    @app.route('/redirect', method=['GET', 'POST'])
    def redirect():
        bottle.response.status = int(bottle.request.query.code)
        bottle.response.set_header('Location', bottle.request.query.to)
        return ''

    @app.get('/toss')
    def toss():
        bottle.response.set_header('Set-Cookie', bottle.request.query.cookie)
        return 'tossed'

    return app


@pytest.fixture(scope='module')
def pages():
    """The pages of every other name, on one port."""
    server = Server(pages_app())
    yield server
    server.close()


def page_of(pages: Server, host: str, path: str = '/') -> str:
    """The URL of ``path`` on the page server under the name ``host``."""
    return 'http://%s:%d%s' % (host, pages.port, path)


def account_app() -> bottle.Bottle:
    """``transfer_app`` with POST /login/<name>, GET /me and /account/me ({"user": ...}), POST /account/note
    (writes to the session) and an own /page."""
    app = transfer_app()

    @app.post('/login/<name>')
    def login(name):
        session.user = name
        return {'user': name}

    @app.get('/me')
    @app.get('/account/me')
    def me():
        return {'user': session.user}

    @app.post('/account/note')
    def note():
        session.data['note'] = 'seen'
        return {'user': session.user}

    @app.get('/page')
    def own_page():
        return '<!doctype html><title>own page</title><p>own page</p>'

    return app


@pytest.fixture
def api(tmp_path):
    """api(host, **config) -> (the app's origin under ``host``, its recorder, its app): canister installed."""
    started = []

    def start(host: str = 'app.site.localhost', **config: Any) -> Tuple[str, SignalRecorder, bottle.Bottle]:
        app = account_app()
        app.install(canister.Canister(log_path=str(tmp_path / 'logs'), **config))
        recorder = SignalRecorder(app)
        server = Server(recorder)
        started.append((server, app))
        return 'http://%s:%d' % (host, server.port), recorder, app

    yield start
    for server, app in started:
        server.close()
        app.close()


def log_in(page: Any, origin: str, name: str = 'alice') -> None:
    """Log ``name`` in from the app's own page, as its login form would."""
    page.goto(origin + '/page')
    assert page.evaluate("url => fetch(url, {method: 'POST'}).then(r => r.status)", origin + '/login/' + name) == 200


def user_at(page: Any, url: str) -> Any:
    """``session.user`` as a same-origin fetch of ``url`` (GET /me or /account/me) reports it."""
    return page.evaluate('url => fetch(url).then(r => r.json())', url)['user']


def post_form_from(page: Any, page_url: str, action: str, enctype: Any = None, lands: Any = None) -> int:
    """Open ``page_url`` and post a form from it to ``action``: the status of the answer the browser shows
    (at ``lands``, when a redirect takes it there)."""
    return form_answer_from(page, page_url, action, enctype, lands).status


def form_answer_from(page: Any, page_url: str, action: str, enctype: Any = None, lands: Any = None) -> Any:
    """``post_form_from``, but the answer itself (Playwright's ``Response``: its status and headers)."""
    page.goto(page_url)
    with page.expect_navigation(url=lands or action) as navigation:
        page.evaluate(POST_FORM, [action, enctype])
    return navigation.value


# -- csrf_trusted_origins lists a sibling subdomain, without CORS ----------------------------------------


def test_a_form_of_a_trusted_origin_posts_with_the_cookie_and_gets_no_cors_while_another_origins_is_refused(
        page, pages, api):
    www = page_of(pages, 'www.site.localhost')[:-1]
    origin, recorder, app = api(csrf_trusted_origins=www)
    log_in(page, origin)

    answer = form_answer_from(page, www + '/', origin + '/transfer')
    assert answer.status == 200
    assert app.transfers == ['5']
    assert recorder.posts()[-1] == ('POST', '/transfer', 'same-site', www)
    assert COOKIE + '=' in recorder.cookies[-1]  # the user's Lax cookie rode along
    assert not [name for name in answer.all_headers() if name.startswith('access-control-')]
    # its page's fetch reaches the app, but the browser keeps the answer from the page: no CORS
    page.goto(www + '/')
    read = page.evaluate("url => fetch(url, {method: 'POST', credentials: 'include'}).then(r => r.status, e => "
                         "'blocked')", origin + '/transfer')
    assert read == 'blocked'
    assert app.transfers == ['5', None]

    assert post_form_from(page, page_of(pages, 'evil.site.localhost'), origin + '/transfer') == 403
    assert app.transfers == ['5', None]


# -- cors lists the parent domain, with credentials ----------------------------------------------------


@pytest.mark.parametrize('enctype', [None, 'text/plain', 'multipart/form-data'])
def test_a_form_of_a_sibling_subdomain_is_refused_though_cors_lists_the_parent_domain(page, pages, api, enctype):
    origin, recorder, app = api(cors=page_of(pages, 'site.localhost')[:-1], cors_credentials=True)
    log_in(page, origin)
    sibling = page_of(pages, 'evil.site.localhost')

    assert post_form_from(page, sibling, origin + '/transfer', enctype) == 403
    assert app.transfers == []
    assert recorder.posts()[-1] == ('POST', '/transfer', 'same-site', sibling[:-1])
    assert COOKIE + '=' in recorder.cookies[-1]  # the Lax cookie rode along: only the check stopped it


def test_the_same_form_of_the_listed_parent_domain_passes(page, pages, api):
    origin, recorder, app = api(cors=page_of(pages, 'site.localhost')[:-1], cors_credentials=True)

    assert post_form_from(page, page_of(pages, 'site.localhost'), origin + '/transfer') == 200
    assert app.transfers == ['5']


def test_a_form_of_a_listed_host_over_http_is_refused_when_cors_lists_it_over_https(page, pages, api):
    origin, recorder, app = api(cors='https://a.localhost:%d' % pages.port, cors_credentials=True)

    assert post_form_from(page, page_of(pages, 'a.localhost'), origin + '/transfer') == 403
    assert app.transfers == []
    assert recorder.posts()[-1] == ('POST', '/transfer', 'cross-site', page_of(pages, 'a.localhost')[:-1])


@pytest.mark.parametrize('frame', ['sandboxed', 'data-url'])
def test_a_form_in_a_frame_without_an_origin_on_a_listed_origins_page_is_refused(page, pages, api, frame,
                                                                                   tmp_path):
    listed = page_of(pages, 'site.localhost')
    origin, recorder, app = api(cors=listed[:-1], cors_credentials=True)
    page.goto(listed)
    form = ('<form method="post" action="%s"><input name="amount" value="5"></form>'
            '<script>document.forms[0].submit()</script>' % (origin + '/transfer'))

    page.evaluate("""([html, frame]) => {
                       const iframe = document.createElement('iframe');
                       if (frame === 'sandboxed') {
                         iframe.sandbox = 'allow-forms allow-scripts';
                         iframe.srcdoc = html;
                       } else {
                         iframe.src = 'data:text/html,' + encodeURIComponent(html);
                       }
                       document.body.appendChild(iframe);
                     }""", [form, frame])

    wait_until(lambda: 'Cross-site request refused' in read_log(tmp_path / 'logs'), 10, what='the refusal')
    assert app.transfers == []
    assert recorder.posts()[-1] == ('POST', '/transfer', 'cross-site', 'null')


@pytest.mark.parametrize('code', [307, 308])
@pytest.mark.parametrize('start', ['evil.site.localhost', 'localhost', 'site.localhost'])
def test_a_form_redirected_with_its_body_through_a_listed_origin_is_refused(page, pages, api, code, start):
    # 307 and 308 keep the method and the body; across origins the browser names no origin (Origin: null),
    # even when the listed origin's own page posted to its own redirect.
    listed = page_of(pages, 'site.localhost')
    origin, recorder, app = api(cors=listed[:-1], cors_credentials=True)
    redirect = listed + 'redirect?' + urlencode({'code': code, 'to': origin + '/transfer'})

    assert post_form_from(page, page_of(pages, start), redirect, lands=origin + '/transfer') == 403
    assert app.transfers == []
    assert recorder.posts()[-1][3] == 'null'


def test_a_form_posted_into_a_popup_by_another_sites_page_is_refused(page, pages, api):
    origin, recorder, app = api()
    log_in(page, origin)
    page.goto(page_of(pages, 'evil.site.localhost'))

    with page.expect_popup() as popup:
        page.evaluate("""url => {
                           const popup = window.open('about:blank', 'victim');
                           const form = popup.document.createElement('form');
                           form.method = 'post';
                           form.action = url;
                           form.innerHTML = '<input name="amount" value="5">';
                           popup.document.body.appendChild(form);
                           form.submit();
                         }""", origin + '/transfer')
    popup.value.wait_for_url(origin + '/transfer')

    assert app.transfers == []
    assert recorder.posts()[-1] == ('POST', '/transfer', 'same-site', page_of(pages, 'evil.site.localhost')[:-1])
    assert 'Cross-site request refused' in popup.value.content()


def test_a_refused_form_the_user_reloads_is_refused_again(page, pages, api):
    # The reload sends the POST again, as the page of the other site first sent it (Sec-Fetch-Site, Origin).
    origin, recorder, app = api()
    log_in(page, origin)
    sibling = page_of(pages, 'evil.site.localhost')
    assert post_form_from(page, sibling, origin + '/transfer') == 403

    assert page.reload().status == 403

    assert recorder.posts()[-2:] == [('POST', '/transfer', 'same-site', sibling[:-1])] * 2
    assert app.transfers == []


def test_the_apps_own_form_passes_on_a_page_another_site_redirected_the_browser_to(page, pages, api):
    # The check judges the page that posts, not how the browser came to it.
    origin, recorder, app = api()
    page.goto(page_of(pages, 'localhost', '/redirect?' + urlencode({'code': 302, 'to': origin + '/page'})))
    assert page.url == origin + '/page'

    with page.expect_navigation(url=origin + '/transfer') as navigation:
        page.evaluate(POST_FORM, ['/transfer', None])

    assert navigation.value.status == 200
    assert recorder.posts()[-1] == ('POST', '/transfer', 'same-origin', origin)
    assert app.transfers == ['5']


@pytest.mark.parametrize('method', ['HEAD', 'GET'])
def test_another_sites_page_reaches_no_post_only_handler_with_a_safe_method(page, pages, api, method):
    # (the one other method a page sends without a preflight is POST; an OPTIONS it sends is a preflight,
    # which carries no cookie and is answered without the handler)
    origin, recorder, app = api()
    log_in(page, origin)
    page.goto(page_of(pages, 'evil.site.localhost'))

    page.evaluate("([url, method]) => fetch(url, {method, mode: 'no-cors', credentials: 'include'})"
                  ".then(() => null, () => null)", [origin + '/transfer', method])

    assert recorder.seen[-1][:2] == (method, '/transfer')
    assert app.transfers == []


# -- cookie tossing ------------------------------------------------------------------------------------


def toss(page: Any, pages: Server, cookie: str) -> None:
    """The sibling subdomain's answer sets ``cookie`` (a Set-Cookie header)."""
    page.goto(page_of(pages, 'evil.site.localhost', '/toss?cookie=' + quote(cookie)))


def test_a_sibling_subdomains_cookie_of_a_narrower_path_is_sent_first_and_makes_the_user_anonymous_there(
        page, pages, api):
    origin, recorder, app = api()
    log_in(page, origin)

    toss(page, pages, '%s=%s; Domain=site.localhost; Path=/account' % (COOKIE, TOSSED))
    page.goto(origin + '/page')

    assert user_at(page, origin + '/me') == 'alice'
    assert user_at(page, origin + '/account/me') is None
    assert recorder.cookies[-1].startswith('%s=%s; %s=' % (COOKIE, TOSSED, COOKIE))


def test_a_write_to_the_session_under_a_tossed_cookie_logs_the_user_out_everywhere(page, pages, api):
    # The write makes a new anonymous session, whose cookie (Path=/, no Domain) takes the place of the
    # user's own: the tossed one, for its Domain, stays.
    origin, recorder, app = api()
    log_in(page, origin)
    toss(page, pages, '%s=%s; Domain=site.localhost; Path=/account' % (COOKIE, TOSSED))
    page.goto(origin + '/page')

    assert page.evaluate("url => fetch(url, {method: 'POST'}).then(r => r.json())", origin + '/account/note') == {
        'user': None}

    assert user_at(page, origin + '/me') is None


def test_a_tossed_cookie_naming_the_attackers_live_session_logs_the_user_in_as_the_attacker_on_its_path(
        page, pages, api, chromium_browser):
    origin, recorder, app = api()
    attacker = chromium_browser.new_context()
    try:
        log_in(attacker.new_page(), origin, 'mallory')
        [attackers] = [cookie['value'] for cookie in attacker.cookies() if cookie['name'] == COOKIE]
    finally:
        attacker.close()
    log_in(page, origin)

    toss(page, pages, '%s=%s; Domain=site.localhost; Path=/account' % (COOKIE, attackers))
    page.goto(origin + '/page')

    assert user_at(page, origin + '/account/me') == 'mallory'
    assert user_at(page, origin + '/me') == 'alice'


def test_a_host_prefixed_session_cookie_cannot_be_tossed_by_a_sibling_subdomain(page, pages, api):
    name = '__Host-' + COOKIE
    origin, recorder, app = api(session_cookie=name, session_secure=True)
    log_in(page, origin)
    toss(page, pages, '%s=%s; Domain=site.localhost; Path=/account; Secure' % (name, TOSSED))
    for cookie in ('%s=%s; Domain=site.localhost; Path=/account; Secure' % (name, TOSSED),
                   '%s=%s; Path=/account; Secure' % (name, TOSSED),  # host-only, for evil.site.localhost itself
                   '=%s=%s; Domain=site.localhost; Path=/account' % (name, TOSSED)):  # no name: its value looks so
        page.evaluate('cookie => { document.cookie = cookie; }', cookie)
    page.goto(origin + '/page')

    assert user_at(page, origin + '/account/me') == 'alice'
    assert page.evaluate("url => fetch(url, {method: 'POST'}).then(r => r.json())", origin + '/account/note') == {
        'user': 'alice'}
    assert user_at(page, origin + '/me') == 'alice'
    assert TOSSED not in recorder.cookies[-1]


@pytest.mark.parametrize('prefix', ['__Host-', '__Secure-', '__Http-', '__HTTP-', '__Host-Http-'])
def test_chromium_drops_a_prefixed_cookie_with_canisters_attributes_but_without_secure(page, pages, prefix):
    # Why install refuses such a session_cookie name without session_secure: the cookie canister would send
    # (Path=/, HttpOnly, SameSite, no Domain) is kept only with Secure, even on a loopback name.
    name = prefix + COOKIE
    for value, secure in (('plain', ''), ('secure', '; Secure')):
        toss(page, pages, '%s=%s; Path=/; HttpOnly; SameSite=Lax%s' % (name, value, secure))
    page.goto(page_of(pages, 'evil.site.localhost'))

    assert [cookie['value'] for cookie in page.context.cookies() if cookie['name'] == name] == ['secure']


@pytest.mark.parametrize('name', ['__Http-' + COOKIE, '__Host-Http-' + COOKIE])
def test_an_http_prefixed_session_cookie_with_session_secure_keeps_the_login_in_chromium(page, api, name):
    origin, recorder, app = api(session_cookie=name, session_secure=True)
    log_in(page, origin)

    assert user_at(page, origin + '/me') == 'alice'
    assert recorder.cookies[-1].startswith(name + '=')


# -- plain HTTP to a host that is no loopback ----------------------------------------------------------


def own_form_post(page: Any, origin: str) -> int:
    """The status of a form the app's own page posts to its /transfer."""
    page.goto(origin + '/page')
    with page.expect_navigation(url=origin + '/transfer') as navigation:
        page.evaluate(POST_FORM, ['/transfer', None])
    return navigation.value.status


def test_over_plain_http_to_a_named_host_the_browser_sends_no_sec_fetch_site_and_origin_decides(
        named_hosts_page, api):
    origin, recorder, app = api('app.example.test')

    assert own_form_post(named_hosts_page, origin) == 200
    assert recorder.posts()[-1] == ('POST', '/transfer', None, origin)
    assert post_form_from(named_hosts_page, origin.replace('app.', 'evil.') + '/page', origin + '/transfer') == 403
    assert recorder.posts()[-1] == ('POST', '/transfer', None, origin.replace('app.', 'evil.'))
    assert app.transfers == ['5']


def test_over_plain_http_to_a_named_host_no_referrer_keeps_out_the_apps_own_forms(named_hosts_page, api):
    origin, recorder, app = api('app.example.test', referrer_policy='no-referrer')

    assert own_form_post(named_hosts_page, origin) == 403
    assert recorder.posts()[-1] == ('POST', '/transfer', None, 'null')
    assert app.transfers == []


def test_over_plain_http_to_a_named_host_chromium_keeps_no_prefixed_session_cookie_so_no_login_lasts(
        named_hosts_page, api):
    # What loopback names allow (the tests above) a real site's name does not: Secure needs HTTPS there.
    origin, recorder, app = api('app.example.test', session_cookie='__Host-' + COOKIE, session_secure=True)
    log_in(named_hosts_page, origin)

    assert user_at(named_hosts_page, origin + '/me') is None
    assert named_hosts_page.context.cookies() == []
