"""Canister on a child app alone, the child mounted or merged into a parent whose entry serves its routes
(bottle 0.13's ``mount``, ``merge`` on both versions; bottle 0.12's ``mount`` calls the child's own entry):
the errors of the child's routes are answered as the child served alone answers them.

Canister's own answers in the child's route (the 401 and 403 of a guard, the 401 of credentials that
fail) get the child's error page; an error page that raises gives Bottle's "Critical error" 500, whose
page is written to ``wsgi.errors`` as Bottle writes it; which app's hooks run, and when the child's page
runs among them, is Bottle's to say (the README's "Mounted and merged apps").  Real HTTP through a
waitress server, or the parent's WSGI callable called as a server calls it.
"""
from __future__ import annotations

import io
import pathlib
from typing import Any, Callable, Dict, List, Tuple

import bottle
import pytest

from helpers import basic, compose_child, logged_traceback, read_log, readme_section
from servers import Client

import canister

COMPOSITIONS = ['mount', 'merge']
#: Bottle calls the child's own entry for a mount on 0.12; on 0.13, and for a merge, the parent's serves its routes.
BOTTLE_012 = bottle.__version__.startswith('0.12')


@pytest.fixture
def with_canister(uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]) -> Callable[..., bottle.Bottle]:
    """``with_canister(log_path, **config)``: a new app (Bottle's defaults: ``catchall`` on) with canister installed,
    uninstalled after the test."""
    def make(log_path: Any, **config: Any) -> bottle.Bottle:
        app = bottle.Bottle()
        app.install(canister.Canister(log_path=str(log_path), **config))
        return uninstall_at_end(app)
    return make


def guarded_child(with_canister: Callable[..., bottle.Bottle], log_dir: pathlib.Path,
                  calls: List[str]) -> bottle.Bottle:
    """A child with canister (Basic, alice), a route for any user, one for root alone and one with a parameter,
    its own 400, 401 and 403 pages, and hooks that note when they run in ``calls``."""
    child = with_canister(log_dir, auth_basic_username='alice', auth_basic_password='wonderland',
                          auth_basic_encryption='clear')

    @child.get('/account')
    @canister.require_user
    def account() -> str:
        return 'the account of %s' % canister.session.user

    @child.get('/admin')
    @canister.require(lambda user: user == 'root', 'admins only')
    def admin() -> str:
        return 'admin'

    @child.get('/sum')
    def total(a: int) -> str:
        return str(a)

    for status in (400, 401, 403):
        @child.error(status)
        def page(error: bottle.HTTPError) -> str:
            calls.append('child page')
            bottle.response.set_header('X-Page', 'child')
            return '<p>the child page: %d %s (%s)</p>' % (error.status_code, error.body,
                                                          bottle.response.get_header('WWW-Authenticate', '-'))

    @child.hook('before_request')
    def child_before() -> None:
        calls.append('child before')

    @child.hook('after_request')
    def child_after() -> None:
        calls.append('child after')
        bottle.response.set_header('X-Child', 'after_request')
    return child


def parent_of(child: bottle.Bottle, composition: str, calls: List[str]) -> Tuple[bottle.Bottle, str]:
    """A parent without canister, with hooks that note when they run (the after one sets ``X-Parent``), and
    ``child`` in it as ``composition`` says; the parent and the prefix of the child's routes."""
    parent = bottle.Bottle()

    @parent.hook('before_request')
    def parent_before() -> None:
        calls.append('parent before')

    @parent.hook('after_request')
    def parent_after() -> None:
        calls.append('parent after')
        bottle.response.set_header('X-Parent', 'after_request')
    return parent, compose_child(parent, child, composition)


def answers(origin: str, prefix: str) -> List[Tuple[int, str, List[str]]]:
    """Status, body and challenges of the child's routes: nobody at /account, a wrong password there, alice at
    /admin, a parameter that is no number."""
    web = Client(origin)
    sent = [web.get(prefix + '/account'), web.get(prefix + '/account', headers={'Authorization': basic('alice', 'no')}),
            web.get(prefix + '/admin', headers={'Authorization': basic('alice', 'wonderland')}),
            web.get(prefix + '/sum?a=x')]
    return [(res.status, res.text, res.headers.get_all('WWW-Authenticate') or []) for res in sent]


CHALLENGE = 'Basic realm="canister", charset="UTF-8"'
AS_SERVED_ALONE = [
    (401, '<p>the child page: 401 Authentication required (%s)</p>' % CHALLENGE, [CHALLENGE]),
    (401, '<p>the child page: 401 Authentication failed: wrong user name or password (%s)</p>' % CHALLENGE,
     [CHALLENGE]),
    (403, '<p>the child page: 403 admins only (-)</p>', []),
    (400, "<p>the child page: 400 Bad request: parameter 'a' must be an integer, got 'x' (-)</p>", []),
]


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_canisters_400_401_and_403_in_a_childs_route_get_the_childs_own_pages_through_the_parent(
        tmp_path, serve, with_canister, composition):
    # (through the parent's entry they were canister's text: the child's pages were looked for in the parent)
    alone = answers(serve(guarded_child(with_canister, tmp_path / 'alone', [])), '')
    assert alone == AS_SERVED_ALONE
    parent, prefix = parent_of(guarded_child(with_canister, tmp_path / 'child', []), composition, [])
    assert answers(serve(parent), prefix) == AS_SERVED_ALONE


def test_a_status_the_child_has_no_page_for_but_the_parent_has_gets_the_parents_page(tmp_path, serve, with_canister):
    child = guarded_child(with_canister, tmp_path, [])
    del child.error_handler[401]
    parent, prefix = parent_of(child, 'merge', [])
    parent.error(401)(lambda error: 'the parent page: %s' % error.body)
    res = Client(serve(parent)).get(prefix + '/account')
    assert (res.status, res.text, res.headers['WWW-Authenticate']) == (
        401, 'the parent page: Authentication required', CHALLENGE)


def to_the_form(error: bottle.HTTPError) -> str:
    """The README's ``@app.error(401)`` page (A login form): a page opened in the browser is sent to the form."""
    if 'text/html' in bottle.request.get_header('Accept', ''):
        bottle.response.status = 303
        bottle.response.set_header('Location', '/login')
        return ''
    return 'the parent page: %s' % error.body


@pytest.mark.parametrize('composition', COMPOSITIONS + ['mount_wsgi'])
def test_a_parents_page_that_sends_a_childs_401_to_the_login_form_sends_no_challenge(
        tmp_path, serve, with_canister, composition):
    # (the 303 carried the child's Basic challenge, which the parent's Bottle sent on with it: the browser then
    # follows no redirect that asks for a password, and the user never gets the form's dialog either)
    calls: List[str] = []
    child = guarded_child(with_canister, tmp_path, [])
    del child.error_handler[401]
    parent, prefix = parent_of(child, composition, calls)
    parent.error(401)(lambda error: calls.append('parent page') or to_the_form(error))
    web = Client(serve(parent))
    page = web.get(prefix + '/account', headers={'Accept': 'text/html'})
    script = web.get(prefix + '/account')
    if composition == 'mount_wsgi' or BOTTLE_012 and composition == 'mount':
        # the child's own entry answers, and Bottle sends its answer as it is: the parent's page is not asked
        assert (page.status, page.headers.get_all('WWW-Authenticate')) == (401, [CHALLENGE])
        assert 'parent page' not in calls
    else:
        assert calls[:3] == ['parent before', 'parent page', 'parent after']  # (inside the child's route)
        assert (page.status, page.headers['Location'].endswith('/login'), page.headers.get_all('WWW-Authenticate')) \
            == (303, True, None)
        assert (script.status, script.text, script.headers.get_all('WWW-Authenticate')) == (
            401, 'the parent page: Authentication required', [CHALLENGE])


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_the_hooks_that_run_around_a_childs_error_page_are_bottles_choice_as_without_canister(
        tmp_path, serve, with_canister, composition):
    """The child's page runs inside its route, before the parent's ``after_request`` hooks; the child's own hooks
    run only where Bottle calls the child's entry (bottle 0.12's mount), with canister or without."""
    calls: List[str] = []
    alone = Client(serve(guarded_child(with_canister, tmp_path / 'alone', calls))).get('/account')
    assert alone.status == 401 and calls == ['child before', 'child after', 'child page']
    # bottle 0.12 sends an error's own headers, leaving out those an after_request hook set; 0.13 keeps them
    assert alone.headers.get('X-Child') == (None if BOTTLE_012 else 'after_request')
    del calls[:]
    parent, prefix = parent_of(guarded_child(with_canister, tmp_path / 'child', calls), composition, calls)
    res = Client(serve(parent)).get(prefix + '/account')
    assert res.status == 401 and res.text.startswith('<p>the child page: 401') and res.headers['X-Page'] == 'child'
    if BOTTLE_012 and composition == 'mount':  # the child's entry serves it: its hooks around its route and page
        assert calls == ['parent before', 'child before', 'child after', 'child page', 'parent after']
    else:  # the parent's entry serves it, and runs its hooks alone
        assert calls == ['parent before', 'child page', 'parent after']
    assert res.headers.get('X-Parent') == (None if BOTTLE_012 else 'after_request')  # (as the child's, alone)


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_without_canister_the_same_hooks_run_for_a_childs_routes(serve, composition):
    """Which hooks run is Bottle's: without canister too the parent's entry runs the parent's hooks alone."""
    calls: List[str] = []
    child = bottle.Bottle()
    child.get('/gone', callback=lambda: bottle.abort(410, 'gone'))
    child.hook('before_request')(lambda: calls.append('child before'))
    child.hook('after_request')(lambda: calls.append('child after'))
    parent, prefix = parent_of(child, composition, calls)
    assert Client(serve(parent)).get(prefix + '/gone').status == 410
    if BOTTLE_012 and composition == 'mount':
        assert calls == ['parent before', 'child before', 'child after', 'parent after']
    else:
        assert calls == ['parent before', 'parent after']


# -- an error page that raises -------------------------------------------------

def teapot_child(with_canister: Callable[..., bottle.Bottle], log_path: Any) -> bottle.Bottle:
    """A child with canister whose route answers 418 and whose 418 page raises."""
    child = with_canister(log_path)
    child.get('/teapot', callback=lambda: bottle.abort(418, 'short and stout'))

    @child.error(418)
    def broken_page(error: bottle.HTTPError) -> str:
        raise RuntimeError('the error page broke')
    return child


def served_by_wsgi(app: Callable[..., Any], path: str) -> Tuple[str, bytes, str]:
    """Call ``app`` as a WSGI server does, for ``GET path``: the status line, the body and what the app wrote
    to the request's ``wsgi.errors``."""
    errors = io.StringIO()
    environ: Dict[str, Any] = {
        'REQUEST_METHOD': 'GET', 'PATH_INFO': path, 'SCRIPT_NAME': '', 'QUERY_STRING': '', 'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '8080', 'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1', 'wsgi.version': (1, 0),
        'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(), 'wsgi.errors': errors, 'wsgi.multithread': True,
        'wsgi.multiprocess': False, 'wsgi.run_once': False}
    status: List[str] = []
    body = app(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        sent = b''.join(body)
    finally:
        getattr(body, 'close', lambda: None)()
    return status[0], sent, errors.getvalue()


CRITICAL_PAGE = '<h1>Critical error while processing request: %s</h1>'


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_a_childs_error_page_that_raises_writes_bottles_page_to_wsgi_errors_through_the_parent(
        tmp_path, with_canister, composition):
    # (through the parent's entry wsgi.errors got nothing, where the child's own entry writes Bottle's page)
    alone = served_by_wsgi(teapot_child(with_canister, tmp_path / 'alone'), '/teapot')
    assert alone == ('500 INTERNAL SERVER ERROR', (CRITICAL_PAGE % '/teapot').encode(), CRITICAL_PAGE % '/teapot')
    parent = bottle.Bottle()
    prefix = compose_child(parent, teapot_child(with_canister, tmp_path / 'child'), composition)
    status, body, errors = served_by_wsgi(parent, prefix + '/teapot')
    if BOTTLE_012 and composition == 'mount':
        # (the child's entry writes its page, the child's path; its mount point raises the exception again in the
        # parent, whose own 500 page answers and whose catchall writes the traceback too: Bottle's doing)
        assert status == '500 Internal Server Error' and b'Internal Server Error' in body
        assert errors.startswith(CRITICAL_PAGE % '/teapot' + 'Traceback (most recent call last)')
    else:
        assert (status, body, errors) == ('500 INTERNAL SERVER ERROR', (CRITICAL_PAGE % (prefix + '/teapot')).encode(),
                                          CRITICAL_PAGE % (prefix + '/teapot'))
    rule = '/teapot' if BOTTLE_012 else prefix + '/teapot'  # (bottle 0.13 mounts the child's routes on the parent)
    traceback = logged_traceback(read_log(tmp_path / 'child'), 'Unhandled exception in GET %s in an error handler '
                                 'of the app (@app.error), or in Bottle while it built the answer' % rule)
    assert 'RuntimeError: the error page broke' in traceback


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_in_debug_mode_the_page_written_to_wsgi_errors_holds_the_exception_and_its_traceback_as_bottles_does(
        tmp_path, monkeypatch, with_canister, composition):
    monkeypatch.setattr(bottle, 'DEBUG', True)
    _, alone_body, alone_errors = served_by_wsgi(teapot_child(with_canister, tmp_path / 'alone'), '/teapot')
    parent = bottle.Bottle()
    prefix = compose_child(parent, teapot_child(with_canister, tmp_path / 'child'), composition)
    _, body, errors = served_by_wsgi(parent, prefix + '/teapot')
    for written in (alone_errors, errors):
        assert '<h2>Error:</h2>\n<pre>\nRuntimeError(&#039;the error page broke&#039;)\n</pre>' in written
        assert '<h2>Traceback:</h2>\n<pre>\nTraceback (most recent call last):' in written
    assert alone_errors == alone_body.decode()
    if not (BOTTLE_012 and composition == 'mount'):  # (there the parent's 500 page answers: see above)
        assert errors == body.decode()


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_where_canister_logs_to_stderr_bottles_page_stays_out_of_wsgi_errors_through_the_parent_as_served_alone(
        with_canister, capfd, composition):
    """The exception is in canister's lines on the stream, once; the page Bottle writes is left out there."""
    assert served_by_wsgi(teapot_child(with_canister, 'stderr'), '/teapot')[2] == ''
    parent = bottle.Bottle()
    prefix = compose_child(parent, teapot_child(with_canister, 'stderr'), composition)
    assert served_by_wsgi(parent, prefix + '/teapot')[2] == ''
    assert capfd.readouterr().err.count('RuntimeError: the error page broke') == 2


# -- a session store that is down in a streamed route ----------------------------

class StoreDown(canister.MemoryStore):
    """A session store that cannot be reached: every read fails, as a database that went away."""

    def load(self, sid: str) -> Any:
        raise canister.StoreUnavailable('the session store went away')


def streaming_child(uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle], log_path: Any) -> bottle.Bottle:
    """A child with canister on a store that is down, a route that streams and reads the session in its first
    chunk, and its own 503 page."""
    child = bottle.Bottle()
    child.install(canister.Canister(StoreDown(), log_path=str(log_path)))
    uninstall_at_end(child)

    @child.get('/feed')
    def feed() -> Any:
        yield 'hello %s' % canister.session.user

    @child.error(503)
    def page(error: bottle.HTTPError) -> str:
        return '<p>the child page: %d %s</p>' % (error.status_code, error.body)
    return child


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_the_503_of_a_store_down_in_a_childs_streamed_route_gets_the_childs_page_through_the_parent(
        tmp_path, serve, uninstall_at_end, composition):
    # (through the parent's entry it was Bottle's HTML page of the parent, which has none: the child's page answered
    # with canister's 503, which the parent then took as an error of its own)
    sid = {'Cookie': 'session_id=' + 'a' * 43}
    alone = Client(serve(streaming_child(uninstall_at_end, tmp_path / 'alone'))).get('/feed', headers=sid)
    expected = (503, '<p>the child page: 503 Service unavailable: the session store cannot be reached, retry shortly</p>')
    assert (alone.status, alone.text) == expected
    parent, prefix = parent_of(streaming_child(uninstall_at_end, tmp_path / 'child'), composition, [])
    res = Client(serve(parent)).get(prefix + '/feed', headers=sid)
    assert (res.status, res.text) == expected


def test_the_readme_says_a_parents_page_that_redirects_a_childs_401_sends_no_challenge():
    page = readme_section('## Mounted and merged apps').split("*The parent's page.*", 1)[1].split('\n', 1)[0]
    assert ("A page that answers canister's 401 with another status (a 303 to the login form, as in [A login form]"
            "(#a-login-form)) sends no `WWW-Authenticate`" in page)
    assert "runs the parent's page for such a 401 inside the child's route (before the parent's `after_request` hooks)" \
        in page
    assert ("(bottle 0.12's `mount`, or a child mounted as a WSGI callable), Bottle sends the child's answer as it is and "
            "never asks the parent's page: the 401 goes out with its challenge") in page
