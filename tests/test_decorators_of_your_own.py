"""The app's own decorators made with ``functools.wraps`` (README, Parameter unpacking, *Decorators of your own*):
canister binds the parameters of the function such a decorator wraps, so one the decorator fills itself is one a
client can send too.  The 400 of one missing says to set ``__signature__`` (its WARNING names the wrapper); a wrapper that
evidently sets a parameter's keyword is logged at WARNING when the plugin applies itself; one that only passes its
arguments on (a ``login_required``) is not.  Served by a real waitress on 127.0.0.1."""
from __future__ import annotations

import functools
import http.cookiejar
import inspect
import re
import urllib.error
import urllib.request

import bottle

import canister
from canister import session
from helpers import ROOT, readme_section, warning_lines


def load_user():
    return session.user or 'anonymous'


def inject_setdefault(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs.setdefault('current_user', load_user())
        return f(*args, **kwargs)
    return wrapper


def inject_assign(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs['current_user'] = load_user()
        return f(*args, **kwargs)
    return wrapper


def inject_update(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs.update(current_user=load_user())
        return f(*args, **kwargs)
    return wrapper


def inject_keyword(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, current_user=load_user(), **kwargs)
    return wrapper


def inject_positional(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(load_user(), *args, **kwargs)
    return wrapper


def readme_with_user():
    """The README's decorator ``with_user``, run as written."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    block = next(block for block in re.findall(r'```python\n(.*?)```', readme, re.S) if 'def with_user(f):' in block)
    namespace = {'functools': functools, 'inspect': inspect, 'canister': canister}
    exec(compile(block, 'README.md', 'exec'), namespace)
    return namespace['with_user']


def login_required(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if not session.user or kwargs.get('item') == 'forbidden':
            bottle.abort(401, 'log in first')
        return f(*args, **kwargs)
    return wrapper


class Browser:
    """A client with a cookie jar, against the server at ``origin``."""

    def __init__(self, origin):
        self.origin = origin
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        try:
            with self.opener.open(self.origin + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def served(make_app, serve):
    app = make_app()

    @app.get('/login')
    def login(name):
        session.user = name
        return 'ok'

    def handler(current_user, item='x'):
        return 'user=%s item=%s' % (current_user, item)

    def defaulted(current_user=None, item='x'):
        return 'user=%s item=%s' % (current_user, item)

    for path, decorator in [('/setdefault', inject_setdefault), ('/assign', inject_assign),
                            ('/update', inject_update), ('/keyword', inject_keyword),
                            ('/positional', inject_positional), ('/signature', readme_with_user())]:
        app.get(path, callback=decorator(handler))
    app.get('/defaulted', callback=inject_setdefault(defaulted))

    @app.get('/guarded')
    @login_required
    def guarded(item):
        return 'item=%s' % item

    @app.get('/plain')
    def plain(item):
        return 'item=%s' % item

    @app.get('/from-session')
    @canister.require_user
    def from_session(item='x'):
        return 'user=%s item=%s' % (session.user, item)

    browser = Browser(serve(app))
    assert browser.get('/login?name=bob') == (200, 'ok')
    return browser


def test_a_parameter_the_decorator_fills_is_one_a_client_can_send(make_app, serve):
    browser = served(make_app, serve)
    # setdefault: the client's value wins, the decorator's user is lost
    assert browser.get('/setdefault?item=1&current_user=admin') == (200, 'user=admin item=1')
    # a default of None makes the 400 silent, not safe
    assert browser.get('/defaulted?item=1') == (200, 'user=bob item=1')
    assert browser.get('/defaulted?item=1&current_user=admin') == (200, 'user=admin item=1')
    # assigned over the client's value: still required from the request
    assert browser.get('/assign?item=1&current_user=admin') == (200, 'user=bob item=1')


def test_the_400_of_such_a_parameter_says_to_set_its_signature_and_its_warning_names_the_wrapper(
        make_app, serve, log_dir):
    browser = served(make_app, serve)
    paths = ['/setdefault', '/assign', '/update', '/keyword', '/positional']
    for path in paths:
        status, text = browser.get(path + '?item=1')
        assert (status, text) == (400, "Bad request: missing parameter 'current_user' ('current_user' reaches the "
                                       'handler through the *args, **kwargs of the wrapper of a decorator made with '
                                       'functools.wraps: canister binds the parameters of the function it wraps; if '
                                       "the decorator supplies 'current_user' itself, have it set the wrapper's "
                                       '__signature__ without it)\n'), (path, text)  # (no name of the app's code)
    said = [line for line in warning_lines(log_dir) if "Bad request: missing parameter 'current_user'" in line]
    assert len(said) == 5 and all("the wrapper's __signature__ without it" in line for line in said), said
    for path, line in zip(paths, said):  # (the developer's log names it: 3.9 has no qualname)
        assert ('the wrapper inject_%s.<locals>.wrapper of a decorator' % path[1:] in line
                or 'the wrapper wrapper of a decorator' in line), line
        assert '.py' not in line, line  # (the source's file and line are the apply WARNING's)
    # any parameter passed on by such a wrapper gets the hint (it says "if"); a handler without one, none
    status, text = browser.get('/guarded')
    assert status == 400 and "if the decorator supplies 'item' itself" in text, text
    assert browser.get('/plain') == (400, "Bad request: missing parameter 'item'\n")


def test_the_signature_recipe_and_the_session_take_the_user_from_the_session_only(make_app, serve, log_dir):
    browser = served(make_app, serve)
    assert Browser(browser.origin).get('/signature?item=1') == (200, 'user=None item=1')
    assert browser.get('/signature?item=1') == (200, 'user=bob item=1')
    assert browser.get('/signature?item=1&current_user=admin') == (200, 'user=bob item=1')
    assert browser.get('/from-session?item=1&current_user=admin') == (200, 'user=bob item=1')
    assert Browser(browser.origin).get('/from-session?item=1')[0] == 401
    assert not [line for line in warning_lines(log_dir) if '/signature' in line or '/from-session' in line]


def test_a_wrapper_that_sets_the_keyword_is_logged_at_warning_and_a_login_required_is_not(make_app, serve, log_dir):
    browser = served(make_app, serve)
    for path in ['/setdefault', '/assign', '/update', '/keyword', '/defaulted', '/positional', '/guarded',
                 '/signature', '/from-session']:
        browser.get(path + '?item=1')
    lines = warning_lines(log_dir)
    for path in ['/setdefault', '/assign', '/update', '/keyword', '/defaulted']:
        said = [line for line in lines if 'Route GET %s: ' % path in line]
        assert len(said) == 1, (path, lines)
        assert "parameter 'current_user' is one the wrapper" in said[0], said
        assert "set the wrapper's __signature__ without 'current_user'" in said[0], said
        assert ('a request without it gets a 400' in said[0]) == (path != '/defaulted'), said
    # the user passed by position leaves no name to see; a login_required (which reads a key) sets none
    assert not [line for line in lines if 'Route GET /positional' in line or 'Route GET /guarded' in line], lines
    assert not [line for line in lines if 'Route GET /signature' in line or 'Route GET /from-session' in line]


def test_the_readme_says_so():
    text = ' '.join(readme_section('## Parameter unpacking').split())
    assert '*Decorators of your own.*' in text
    for claim in ["`GET /orders?current_user=admin` chooses the user", "`__signature__`",
                  '`canister.session.user`', '`@canister.require_user`', 'logged at WARNING']:
        assert claim in text, claim
