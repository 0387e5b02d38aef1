"""WSGI middleware and canister, served by waitress: middleware assigned to ``app.wsgi`` (Bottle's idiom,
``app.wsgi = ProxyFix(app.wsgi)``) stays through installing again and uninstalling, is named at WARNING, and
an uninstalled canister that such middleware still calls hands the requests straight on; the README's
*WSGI middleware* paragraph."""
from __future__ import annotations

import pathlib
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterable, Optional

import bottle
import pytest

import canister
from helpers import read_log, readme_section, warning_lines

BOTTLE_0_12 = bottle.__version__.startswith('0.12')


class Tag:
    """WSGI middleware that adds ``X-Mw: yes`` to every answer."""

    def __init__(self, inner: Callable[..., Iterable[bytes]]) -> None:
        self.inner = inner

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def tagged(status: str, headers: Any, exc_info: Any = None) -> Any:
            return start_response(status, list(headers) + [('X-Mw', 'yes')], exc_info)
        return self.inner(environ, tagged)


class ProxyFix:
    """WSGI middleware that takes the client's address from ``X-Real-IP``, as werkzeug's ProxyFix does from
    ``X-Forwarded-For``."""

    def __init__(self, inner: Callable[..., Iterable[bytes]]) -> None:
        self.inner = inner

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get('HTTP_X_REAL_IP'):
            environ['REMOTE_ADDR'] = environ['HTTP_X_REAL_IP']
        return self.inner(environ, start_response)


def _app() -> bottle.Bottle:
    app = bottle.Bottle()

    @app.get('/x')
    def x() -> str:
        return 'canister=%s server=%s' % (canister.client_address(), bottle.request.environ['REMOTE_ADDR'])
    return app


def _get(origin: str, headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The status, body and the headers that tell who served ``/x``."""
    try:
        answer = urllib.request.urlopen(urllib.request.Request(origin + '/x', headers=headers or {}), timeout=30)
    except urllib.error.HTTPError as error:
        answer = error
    return {'status': answer.status, 'body': answer.read().decode(), 'mw': answer.headers.get('X-Mw'),
            'id': answer.headers.get('X-Request-ID'), 'frame': answer.headers.get('X-Frame-Options')}


def _uninstall_canister(app: bottle.Bottle) -> None:
    for plugin in list(app.plugins):
        if isinstance(plugin, canister.Canister):
            app.uninstall(plugin)


def test_middleware_given_before_the_install_stays_through_installing_again_and_uninstalling(
        serve: Callable[..., str], log_dir: pathlib.Path) -> None:
    app = _app()
    app.wsgi = Tag(app.wsgi)
    middleware = app.wsgi
    app.install(canister.Canister(log_path=str(log_dir)))
    origin = serve(app)
    first = _get(origin)
    assert (first['status'], first['mw'], first['frame']) == (200, 'yes', 'DENY') and first['id']
    app.install(canister.Canister(log_path=str(log_dir)))  # another one replaces it
    again = _get(origin)
    assert (again['status'], again['mw'], again['frame']) == (200, 'yes', 'DENY') and again['id']
    plugin = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))
    app.install(plugin)  # the same one, set up anew
    same = _get(origin)
    assert (same['status'], same['mw'], same['frame']) == (200, 'yes', 'DENY') and same['id']
    _uninstall_canister(app)
    assert app.__dict__['wsgi'] is middleware
    lines = read_log(log_dir).count('Response: 200')
    after = _get(origin)
    assert (after['status'], after['mw'], after['id'], after['frame']) == (200, 'yes', None, None)
    assert read_log(log_dir).count('Response: 200') == lines


def test_middleware_on_app_wsgi_runs_inside_canister_and_the_install_says_so(
        serve: Callable[..., str], log_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    app = _app()
    app.wsgi = ProxyFix(app.wsgi)
    app.install(canister.Canister(log_path=str(log_dir)))
    answer = _get(serve(app), {'X-Real-IP': '203.0.113.9'})
    assert answer['body'] == 'canister=127.0.0.1 server=203.0.113.9'
    warned = [line for line in warning_lines(log_dir) if "The app's wsgi is WSGI middleware" in line]
    assert len(warned) == 1
    said = warned[0].split('   ', 1)[1]
    assert said.startswith("The app's wsgi is WSGI middleware (app.wsgi = ProxyFix(app.wsgi)), which runs inside "
                           'canister: canister logs, throttles and counts sessions by the address the server gave')
    assert said.endswith('; wrap the app object instead, application = ProxyFix(app), and serve application (for a '
                         "reverse proxy, canister's trusted_proxies reads its X-Forwarded-For)")
    paragraph = readme_section('## Configuration').split('*WSGI middleware.*', 1)[1].split('\n', 1)[0]
    head, tail = said.split(': ', 1)[0], said.rsplit('; ', 1)[1]
    assert '`%s: ...; %s`' % (head, tail) in paragraph
    # wrapped as the README says, the middleware runs first, and nothing is said
    other_logs = tmp_path / 'other'
    wrapped = _app()
    wrapped.install(canister.Canister(log_path=str(other_logs)))
    answer = _get(serve(ProxyFix(wrapped)), {'X-Real-IP': '203.0.113.9'})
    assert answer['body'] == 'canister=203.0.113.9 server=203.0.113.9' and answer['id']
    assert warning_lines(other_logs) == []
    _uninstall_canister(app)
    _uninstall_canister(wrapped)


def test_middleware_given_after_the_install(serve: Callable[..., str], log_dir: pathlib.Path) -> None:
    app = _app()
    plugin = canister.Canister(log_path=str(log_dir))
    app.install(plugin)
    if not BOTTLE_0_12:  # bottle 0.13 refuses a name the app's __dict__ holds, canister's WSGI callable
        with pytest.raises(AttributeError, match='Attribute wsgi already defined. Plugin conflict?'):
            app.wsgi = Tag(app.wsgi)
        _uninstall_canister(app)
        return
    app.wsgi = Tag(app.wsgi)
    origin = serve(app)
    first = _get(origin)
    assert (first['status'], first['mw'], first['frame']) == (200, 'yes', 'DENY') and first['id']
    app.uninstall(plugin)
    lines = read_log(log_dir).count('Response: 200')
    after = _get(origin)  # the uninstalled canister hands the request straight on
    assert (after['status'], after['mw'], after['id'], after['frame']) == (200, 'yes', None, None)
    assert read_log(log_dir).count('Response: 200') == lines
    app.install(canister.Canister(log_path=str(log_dir)))
    for _ in range(3):
        again = _get(origin)
        assert (again['status'], again['mw'], again['frame']) == (200, 'yes', 'DENY') and again['id']
    assert read_log(log_dir).count('Response: 200') == lines + 3
    _uninstall_canister(app)
