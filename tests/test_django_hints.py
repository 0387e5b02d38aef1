"""A Django developer's first hour: Django's settings at the top of the config, Django's session API on canister's
``session``, Django's ``request.META`` and helpers (``Http404``, ``JsonResponse``...) written on the module are each
answered with what canister (or Bottle) does instead, and a guard written above the route decorator is described as
canister really treats it."""
from __future__ import annotations

import re
import warnings
from typing import Any, Dict

import bottle
import pytest

import canister
from canister import session
from helpers import ROOT, client, read_log
from servers import Client

README = (ROOT / 'README.md').read_text(encoding='utf-8')


def install_warnings(app: bottle.Bottle, log_dir: Any) -> list:
    """Install canister on ``app`` and give back the texts of the CanisterWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    return [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def section_hint(name: str, log_dir: Any) -> str:
    """What canister says of ``name`` written under ``[canister]``: the text in the warning's parentheses."""
    app = bottle.Bottle()
    app.config['canister.' + name.lower()] = '1'
    try:
        said = install_warnings(app, log_dir)
    finally:
        app.uninstall(True)
    assert len(said) == 1 and said[0].startswith('unknown config key canister.%s (' % name.lower()), said
    return said[0][len('unknown config key canister.%s (' % name.lower()):-1]


# -- Django's settings at the top of the config ------------------------------------------------------------------

def test_session_cookie_age_at_the_top_of_the_config_says_the_cookie_then_ends_with_the_browser(log_dir):
    """Following "write canister.session_timeout" alone turns Django's two-week cookie into one that ends with the
    browser: the top-level note says so, in the words the ``[canister]`` spelling gets."""
    app = bottle.Bottle()
    app.config['SESSION_COOKIE_AGE'] = 1209600
    try:
        said = install_warnings(app, log_dir)
    finally:
        app.uninstall(True)
    hint = section_hint('session_cookie_age', log_dir)
    assert hint.startswith('did you mean session_timeout? ') and 'session_cookie_max_age' in hint
    assert said == ["app.config['SESSION_COOKIE_AGE'] is a Django setting, which canister does not read: write "
                    'canister.session_timeout (or Canister(session_timeout=...)): '
                    + hint[len('did you mean session_timeout? '):]]
    assert said[0] in README  # (the README quotes it whole)


def _unkeyed_passage() -> str:
    """The README's sentence on the Django settings at the top of the config that canister has no key for."""
    return README.split('Those it has no key for are reported with what their `[canister]` spellings get: ', 1)[1] \
        .split('. ', 1)[0]


def test_the_readme_names_the_unkeyed_django_settings_the_review_found():
    names = set(re.findall(r'`([A-Z][A-Z_*]+)`', _unkeyed_passage()))
    assert {'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'SESSION_SAVE_EVERY_REQUEST', 'CSRF_COOKIE_*'} <= names, names


@pytest.mark.parametrize('name', sorted(
    {name for name in re.findall(r'`([A-Z][A-Z_]+)`', _unkeyed_passage())}
    | {name.upper() for name in canister._DJANGO_SETTINGS if name.startswith('csrf_cookie_')}))
def test_each_unkeyed_django_setting_at_the_top_of_the_config_gets_what_its_section_spelling_gets(log_dir, name):
    app = bottle.Bottle()
    app.config[name] = '1'
    try:
        said = install_warnings(app, log_dir)
        assert said == ["app.config['%s'] is a Django setting, which canister does not read (%s)"
                        % (name, section_hint(name, log_dir))]
        assert said[0] in read_log(log_dir)
    finally:
        app.uninstall(True)


def test_every_csrf_cookie_setting_of_django_is_reported_at_the_top_of_the_config():
    assert {'csrf_cookie_name', 'csrf_cookie_age', 'csrf_cookie_domain', 'csrf_cookie_path', 'csrf_cookie_secure',
            'csrf_cookie_httponly', 'csrf_cookie_samesite'} <= set(canister._DJANGO_SETTINGS)


# -- Django's session API ------------------------------------------------------------------------------------------

def _session_passage() -> str:
    return README.split("Django's session methods raise `AttributeError` naming canister's: ", 1)[1].split('\n', 1)[0]


#: Each Django session call, and what the hint must name (a public name of canister's session, checked to exist).
DJANGO_SESSION_CALLS = {
    'set_expiry': (lambda: session.set_expiry(300), 'session.remember(seconds)'),
    'flush': (lambda: session.flush(), 'session.invalidate()'),
    'cycle_key': (lambda: session.cycle_key(), 'session.regenerate()'),
    'session_key': (lambda: session.session_key, 'session.sid'),
    'save': (lambda: session.save(), 'saves a changed session by itself'),
    'get_expiry_age': (lambda: session.get_expiry_age(), 'session_timeout'),
    'is_empty': (lambda: session.is_empty(), 'not session.data'),
}


def test_the_readme_names_each_django_session_call_tried_here():
    assert [name for name in DJANGO_SESSION_CALLS if '`%s`' % name not in _session_passage()] == []


@pytest.mark.parametrize('name', sorted(DJANGO_SESSION_CALLS))
def test_djangos_session_api_in_a_handler_raises_an_attribute_error_naming_canisters_own(make_app, name):
    call, instead = DJANGO_SESSION_CALLS[name]
    app = make_app()

    @app.get('/call')
    def handler() -> Dict[str, str]:
        with pytest.raises(AttributeError) as raised:
            call()
        return {'error': str(raised.value)}

    said = client(app).get('/call').json['error']
    assert said.startswith("canister's session has no %s: " % name) and instead in said, said
    for named in re.findall(r'session\.(\w+)', said):  # what it names is canister's own
        assert hasattr(canister.Session, named) and named not in canister.Session._ATTRIBUTE_HINTS, named


def test_what_the_django_session_hints_name_works(make_app):
    """``remember`` gives a persistent cookie, ``regenerate`` a new id, ``invalidate`` ends the session, and the
    data is saved without a ``save()``."""
    app = make_app()

    @app.get('/login')
    def login() -> str:
        session.data['cart'] = ['tea']
        session.remember(600)
        return session.sid

    @app.get('/cycle')
    def cycle() -> Dict[str, Any]:
        old = session.sid
        return {'moved': session.regenerate() != old, 'cart': session.data['cart'], 'empty': not session.data}

    @app.get('/flush')
    def flush() -> str:
        session.invalidate()
        return 'out'

    @app.get('/cart')
    def cart() -> Dict[str, Any]:
        return {'cart': session.data.get('cart'), 'empty': not session.data}

    web = client(app)
    cookie = [value for value in web.get('/login').headers.getall('Set-Cookie') if value.startswith('session_id=')]
    assert 'Max-Age=600' in cookie[0]
    assert web.get('/cycle').json == {'moved': True, 'cart': ['tea'], 'empty': False}
    assert web.get('/cart').json == {'cart': ['tea'], 'empty': False}
    web.get('/flush')
    assert web.get('/cart').json == {'cart': None, 'empty': True}


def test_setting_djangos_modified_on_the_session_says_the_same_as_flasks():
    with pytest.raises(AttributeError, match="takes no attribute 'modified'.*canister sees every change"):
        session.modified = True
    with pytest.raises(AttributeError, match="^canister's session has no modified: canister sees every change"):
        session.modified  # noqa: B018


# -- Django's request and helpers ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name, instead', [('META', 'bottle.request.environ'), ('COOKIES', 'bottle.request.cookies'),
                                           ('FILES', 'bottle.request.files')])
def test_djangos_request_attributes_are_logged_with_bottles_own(make_app, serve, log_dir, name, instead):
    app = make_app(catchall=True)
    app.get('/page', callback=lambda: str(getattr(bottle.request, name)))
    assert Client(serve(app)).request('GET', '/page').status == 500
    line = [line for line in read_log(log_dir).splitlines() if 'Unhandled exception in GET /page' in line]
    assert line and line[0].endswith(": bottle.request has no %s (Django's request.%s): Bottle's is %s%s" % (
        name, name, instead, line[0].split(instead, 1)[1])), line
    assert "Django's `request.META`, `COOKIES` and `FILES` are labelled as Django's, and name `%s`" % (
        'bottle.request.environ') in README and '`%s`' % instead in README


@pytest.mark.parametrize('name, instead', [('session', 'from canister import session'),
                                           ('user', 'session.user')])
def test_request_session_and_user_are_called_djangos_and_starlettes(make_app, serve, log_dir, name, instead):
    app = make_app(catchall=True)
    app.get('/page', callback=lambda: str(getattr(bottle.request, name)))
    Client(serve(app)).request('GET', '/page')
    assert ("bottle.request has no %s (Django's and Starlette's request.%s): " % (name, name)) in read_log(log_dir)
    assert instead in read_log(log_dir)


#: Django's helpers written on the module, and the word of Bottle's that the AttributeError must name.
DJANGO_HELPERS = {'Http404': 'bottle.abort(404', 'PermissionDenied': 'bottle.abort(403',
                  'get_object_or_404': 'bottle.abort(404', 'JsonResponse': 'return a dict',
                  'HttpResponse': 'bottle.HTTPResponse', 'redirect': 'bottle.redirect('}


@pytest.mark.parametrize('name', sorted(DJANGO_HELPERS))
def test_djangos_helpers_on_the_module_say_what_to_write_instead(name):
    with pytest.raises(AttributeError, match=r'^module canister has no %s: .*%s' % (name, re.escape(
            DJANGO_HELPERS[name]))):
        getattr(canister, name)
    assert '`%s`' % name in README.split("`bottle.abort(404, 'text')`), and Django's ", 1)[1].split(
        'Imported by name', 1)[0]


def test_what_the_django_helper_hints_name_answers_as_django_would(make_app):
    app = make_app()
    app.get('/missing', callback=lambda: bottle.abort(404, 'no such note'))
    app.get('/forbidden', callback=lambda: bottle.abort(403, 'not yours'))
    app.get('/json', callback=lambda: {'ok': True})
    app.get('/made', callback=lambda: bottle.HTTPResponse('made', status=201, headers={'X-Note': '1'}))
    app.post('/next', callback=lambda: bottle.redirect('/json'))
    web = client(app)
    assert web.get('/missing', status=404).status_int == 404
    assert web.get('/forbidden', status=403).status_int == 403
    assert web.get('/json').json == {'ok': True}
    made = web.get('/made', status=201)
    assert (made.text, made.headers['X-Note']) == ('made', '1')
    assert web.post('/next', headers={'Origin': 'http://localhost:80'}, status=(302, 303)).headers[
        'Location'].endswith('/json')  # (303 on HTTP/1.1, 302 on the HTTP/1.0 of this client)


# -- A guard above the route decorator -----------------------------------------------------------------------------

def test_the_warning_of_a_guard_above_the_route_decorator_does_not_say_it_guards_nothing(make_app, log_dir):
    """Canister does guard such a route (a 401 here), so its WARNING says Bottle alone would not, not that the
    guard guards nothing."""
    app = make_app()

    @canister.require_user
    @app.get('/me')
    def me() -> str:
        return 'me'

    assert client(app).get('/me', status=401).status_int == 401
    said = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line and 'above the route' in line]
    assert len(said) == 1, said
    assert 'guards nothing' not in said[0]
    assert said[0].endswith('is written above the route decorator of me, where Bottle alone would never run it: '
                            'canister finds it and guards the route anyway, but put it below the route decorator, '
                            "where it is part of the handler Bottle calls (and guards a child app's route too, which "
                            'canister does not see)')
