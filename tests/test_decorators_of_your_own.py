"""The app's own decorators made with ``functools.wraps`` (README, Parameter unpacking, *Decorators of your own*):
canister binds the parameters of the function such a decorator wraps, but leaves to the decorator one whose keyword
its wrapper evidently sets (logged at INFO), so no client chooses it.  One the wrapper passes by position is bound
from the request: a client that sends it gets a 400 (not the 500 of the call's TypeError), logged at WARNING naming
the route and the wrapper; the 400 of one missing says to set ``__signature__``.  A wrapper that only passes its
arguments on (a ``login_required``) is not logged.  Served by a real waitress on 127.0.0.1."""
from __future__ import annotations

import functools
import inspect
import logging
import re
import urllib.error
import urllib.request

import bottle
import pytest

import canister
from canister import session
from helpers import (ROOT, CookieBrowser, DownStore, app_with_login, load_user, logged_in_as_bob,
                     read_log, readme_section, user_and_item, warning_lines)


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


def inject_by_a_name_in_a_variable(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        name = 'current_user'  # (a local variable: its value is no key the scan sees; one of the closure's is)
        return f(*args, **{name: load_user()}, **kwargs)
    return wrapper


def call_with_item_twice(item):
    return 'item=%s' % item


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


def served(make_app, serve):
    app = app_with_login(make_app)

    def defaulted(current_user=None, item='x'):
        return 'user=%s item=%s' % (current_user, item)

    for path, decorator in [('/setdefault', inject_setdefault), ('/assign', inject_assign),
                            ('/update', inject_update), ('/keyword', inject_keyword),
                            ('/positional', inject_positional), ('/signature', readme_with_user())]:
        app.get(path, callback=decorator(user_and_item))
    app.get('/defaulted', callback=inject_setdefault(defaulted))
    app.get('/dynamic', callback=inject_by_a_name_in_a_variable(user_and_item))

    def guarded_handler(current_user, item='x'):
        return 'user=%s item=%s' % (current_user, item)

    app.get('/positional-guarded', callback=inject_positional(canister.require_user(guarded_handler)))

    @app.get('/extra')
    @inject_setdefault
    def extra(current_user, **kwargs):
        return 'user=%s extra=%s' % (current_user, ','.join(sorted(kwargs)))

    @app.get('/twice-inside')
    @login_required
    def twice_inside(item):
        return call_with_item_twice(item, item=item)  # (the handler's own TypeError)

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

    @inject_positional
    def helper(current_user, item='x'):
        return 'user=%s' % current_user

    @app.get('/calls-a-helper-wrongly')
    @inject_positional
    def calls_a_helper_wrongly(current_user=None):
        return helper(current_user='someone')  # (the handler's own TypeError, raised in the same wrapper's code)

    @login_required
    def guarded_helper(item):
        return 'item=%s' % item

    @app.get('/twice-in-a-helper')
    @login_required
    def twice_in_a_helper(item):
        return guarded_helper(item, item=item)  # (the handler's own TypeError, raised in login_required's wrapper)

    @app.get('/extras-setdefault')
    @inject_setdefault
    def extras_setdefault(**kwargs):
        return 'user=%s extra=%s' % (kwargs.get('current_user'), ','.join(sorted(kwargs)))

    @app.get('/extras-keyword')
    @inject_keyword
    def extras_keyword(**kwargs):
        return 'user=%s extra=%s' % (kwargs.get('current_user'), ','.join(sorted(kwargs)))

    return logged_in_as_bob(app, serve)


SETTERS = ['/setdefault', '/assign', '/update', '/keyword', '/defaulted']


def test_a_parameter_whose_keyword_the_wrapper_sets_is_left_to_it_and_no_client_chooses_it(make_app, serve):
    browser = served(make_app, serve)
    for path in SETTERS:
        assert browser.get(path + '?item=1&current_user=admin') == (200, 'user=bob item=1'), path
        assert browser.get(path + '?item=1') == (200, 'user=bob item=1'), path
        assert CookieBrowser(browser.origin).get(path + '?item=1&current_user=admin') == (200, 'user=anonymous item=1')
    # nor does the client's value land in the handler's **kwargs
    assert browser.get('/extra?current_user=admin&other=1') == (200, 'user=bob extra=other')


def test_leaving_it_to_the_wrapper_is_logged_at_info_naming_the_parameter_and_the_wrapper(make_app, serve, log_dir):
    browser = served(make_app, serve)
    for path in SETTERS:
        browser.get(path + '?item=1')
    log = read_log(log_dir)
    for path in SETTERS:
        said = [line for line in log.splitlines() if 'Route GET %s: ' % path in line]
        assert len(said) == 1 and ' INFO ' in said[0], (path, said)
        assert "parameter 'current_user' is left to the wrapper " in said[0], said
        assert 'wrapper (test_decorators_of_your_own.py, line ' in said[0], said
        assert 'canister neither requires it from the request nor takes it from one' in said[0], said
    assert not warning_lines(log_dir)


def test_a_parameter_passed_by_position_and_sent_by_the_client_is_a_400_not_a_500(make_app, serve, log_dir):
    browser = served(make_app, serve)
    refused = (400, "Bad request: parameter 'current_user' is not one to send: the route supplies it itself\n")
    for path in ['/positional', '/dynamic', '/positional-guarded']:  # (under the guard, the call fails in its wrapper)
        assert browser.get(path + '?item=1&current_user=admin') == refused, path
    lines = warning_lines(log_dir)
    for path, wrapper in [('/positional', 'inject_positional'), ('/dynamic', 'inject_by_a_name_in_a_variable'),
                          ('/positional-guarded', 'inject_positional')]:
        said = [line for line in lines if 'Route GET %s: Bad request: ' % path in line]
        assert len(said) == 1, (path, lines)
        assert "parameter 'current_user' is not one to send" in said[0], said
        assert "got multiple values for " in said[0] and "argument 'current_user'" in said[0], said
        assert ('%s.<locals>.wrapper (test_decorators_of_your_own.py, line ' % wrapper in said[0]
                or 'wrapper wrapper (test_decorators_of_your_own.py, line ' in said[0]), said  # (3.9: no qualname)
        assert "have the decorator set the wrapper's __signature__ without 'current_user'" in said[0], said
    assert 'Traceback' not in read_log(log_dir)
    # a user the guard refuses gets its 401 first
    assert CookieBrowser(browser.origin).get('/positional-guarded?item=1&current_user=admin')[0] == 401


def test_a_typeerror_of_the_handlers_own_stays_a_500(make_app, serve):
    browser = served(make_app, serve)
    status, text = browser.get('/twice-inside?item=1')
    assert status == 500 and 'not one to send' not in text


def test_a_typeerror_of_the_handlers_own_call_of_another_decorated_function_stays_a_500(make_app, serve, log_dir):
    browser = served(make_app, serve)
    status, text = browser.get('/calls-a-helper-wrongly')  # (the client sent no current_user)
    assert status == 500 and 'not one to send' not in text, (status, text)
    log = read_log(log_dir)
    assert 'not one to send' not in log and 'canister bound' not in log, log
    assert log.count('Traceback') == 1 and "got multiple values for argument 'current_user'" in log, log
    # nor is one the client sent, given twice by the handler's own call through a wrapper of the same decorator
    status, text = browser.get('/twice-in-a-helper?item=1')
    assert status == 500 and 'not one to send' not in text, (status, text)
    assert 'not one to send' not in read_log(log_dir)
    # one who sends it gets the 400 of the route's own wrapper, which gives the handler the user twice
    assert browser.get('/calls-a-helper-wrongly?current_user=admin')[0] == 400


def test_a_handlers_kwargs_never_receive_a_keyword_the_wrapper_sets_from_the_client(make_app, serve):
    browser = served(make_app, serve)
    for path in ['/extras-setdefault', '/extras-keyword']:
        assert browser.get(path + '?current_user=admin&other=1') == (200, 'user=bob extra=current_user,other'), path
        assert browser.get(path + '?other=1') == (200, 'user=bob extra=current_user,other'), path
        assert CookieBrowser(browser.origin).get(path + '?current_user=admin') == (200, 'user=anonymous extra=current_user')


def test_the_400_of_such_a_parameter_says_to_set_its_signature_and_its_warning_names_the_wrapper(
        make_app, serve, log_dir):
    browser = served(make_app, serve)
    status, text = browser.get('/positional?item=1')
    assert (status, text) == (400, "Bad request: missing parameter 'current_user' ('current_user' reaches the "
                                   'handler through the *args, **kwargs of the wrapper of a decorator made with '
                                   'functools.wraps: canister binds the parameters of the function it wraps; if '
                                   "the decorator supplies 'current_user' itself, have it set the wrapper's "
                                   '__signature__ without it)\n'), text  # (no name of the app's code)
    said = [line for line in warning_lines(log_dir) if "Bad request: missing parameter 'current_user'" in line]
    assert len(said) == 1 and "the wrapper's __signature__ without it" in said[0], said
    # (the developer's log names it: 3.9 has no qualname)
    assert ('the wrapper inject_positional.<locals>.wrapper of a decorator' in said[0]
            or 'the wrapper wrapper of a decorator' in said[0]), said
    assert '.py' not in said[0], said  # (the source's file and line are for the log of the call's 400)
    # any parameter passed on by such a wrapper gets the hint (it says "if"); a handler without one, none
    status, text = browser.get('/guarded')
    assert status == 400 and "if the decorator supplies 'item' itself" in text, text
    assert browser.get('/plain') == (400, "Bad request: missing parameter 'item'\n")


def test_the_signature_recipe_and_the_session_take_the_user_from_the_session_only(make_app, serve, log_dir):
    browser = served(make_app, serve)
    assert CookieBrowser(browser.origin).get('/signature?item=1') == (200, 'user=None item=1')
    assert browser.get('/signature?item=1') == (200, 'user=bob item=1')
    assert browser.get('/signature?item=1&current_user=admin') == (200, 'user=bob item=1')
    assert browser.get('/from-session?item=1&current_user=admin') == (200, 'user=bob item=1')
    assert CookieBrowser(browser.origin).get('/from-session?item=1')[0] == 401
    assert not [line for line in warning_lines(log_dir) if '/signature' in line or '/from-session' in line]


def test_a_login_required_and_a_wrapper_passing_by_position_are_not_logged_when_applied(make_app, serve, log_dir):
    browser = served(make_app, serve)
    for path in ['/positional', '/guarded', '/signature', '/from-session']:
        browser.get(path + '?item=1&current_user=admin')
    assert browser.get('/guarded?item=1&current_user=admin') == (200, 'item=1')
    log = read_log(log_dir)
    # the user passed by position leaves no name to see; a login_required (which reads a key) sets none
    for path in ['/positional', '/guarded', '/signature', '/from-session']:
        assert 'Route GET %s: parameter' % path not in log, log


def test_the_readme_says_so():
    text = ' '.join(readme_section('## Parameter unpacking').split())
    assert '*Decorators of your own.*' in text
    for claim in ["is left to the decorator, as another plugin's parameter is: canister neither requires it from "
                  'the request nor takes it from the client', "`GET /orders?current_user=admin` gets the decorator's "
                  "user", "a handler's `**kwargs` receives the decorator's value only, never the client's",
                  'every keyword the wrapper evidently sets is left out of the extras canister passes, whether or not '
                  'the handler names it', 'logged at INFO when Bottle applies',
                  'or the same on a copy of `kwargs` that it passes on with `**`',
                  "a keyword the wrapper gives another call (`bottle.abort(403, text='banned')`, `log.info('...', "
                  "extra={'who': ...})`) sets nothing, and a client's `text` or `extra` reaches the handler's "
                  '`**kwargs` as any other', "A call the wrapper's bytecode leaves unclear (a function held in a local "
                  'variable, a builtin such as `dict(kwargs, current_user=...)`, arguments with a conditional '
                  "expression) counts as the wrapped function's, keeping its keywords from the client",
                  "a 400 `parameter 'current_user' is not one to send: the route supplies it itself`",
                  'logged at WARNING naming the route and the wrapper', "a 400 `missing parameter 'current_user'`",
                  "`__signature__`", '`canister.session.user`', '`@canister.require_user`',
                  'such as a `login_required`, is not logged, and its parameters are bound as usual']:
        assert claim in text, claim


def inject_system(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f('system', *args, **kwargs)
    return wrapper


def fixed_signature(f):
    @functools.wraps(f)
    def wrapper(current_user, item='x'):
        return f(current_user, item)
    return wrapper


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')  # (no atomic update: said at install)
def test_a_guard_that_finds_the_store_down_after_such_a_call_failed_is_a_503(make_app, serve, log_dir):
    app = make_app(store=DownStore())

    def handler(current_user, item='x'):
        return 'user=%s item=%s' % (current_user, item)

    # the guard under the fixed signature has not run when the wrapper's call fails: canister asks it then
    app.get('/guarded-below', callback=inject_system(fixed_signature(canister.require_user(handler))))
    request = urllib.request.Request(serve(app) + '/guarded-below?current_user=admin',
                                     headers={'Cookie': 'session_id=' + 'a' * 43})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 503
    assert 'the test store is down' in read_log(log_dir)


def audited(f):
    """A decorator that refuses a banned client with ``abort(..., text=...)`` and logs with ``extra=``: keywords of
    other calls, not of the wrapped one, while it sets ``current_user`` on a copy of its ``**kwargs``."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if bottle.request.query.get('banned'):
            bottle.abort(403, text='banned')
        logging.getLogger('audited').info('call of %s', f.__name__, extra={'who': load_user()})
        passed = dict(kwargs)
        passed.setdefault('current_user', load_user())
        return f(*args, **passed)
    return wrapper


def test_a_handlers_kwargs_keep_what_the_client_sent_under_keywords_the_wrapper_gives_another_call(make_app, serve):
    """README, *Decorators of your own*: only the keywords the wrapper sets on its call of the wrapped function (or
    on the dict it passes on) are kept from the client, not those it gives ``abort`` or a log call."""
    app = app_with_login(make_app)

    @app.get('/notes')
    @audited
    def notes(**kwargs):
        return ' '.join('%s=%s' % item for item in sorted(kwargs.items()))

    @app.get('/note')
    @audited
    def note(text, current_user):  # (a parameter named as abort's keyword is the client's too)
        return '%s by %s' % (text, current_user)

    browser = logged_in_as_bob(app, serve)
    assert browser.get('/notes?text=hi&extra=1&who=me&current_user=admin') == (
        200, 'current_user=bob extra=1 text=hi who=me')
    assert browser.get('/notes?banned=1')[0] == 403
    assert browser.get('/note?text=hi&current_user=admin') == (200, 'hi by bob')


def unclear(f):
    """A wrapper whose calls the bytecode leaves unclear: a builtin, a function in a local variable, an argument
    with a conditional expression."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        say = logging.getLogger('unclear').info
        say('call', extra={'who': load_user()})
        if bottle.request.query.get('banned'):
            bottle.abort(403, text='banned' if args else 'refused')
        return f(*args, **dict(kwargs, current_user=load_user()))
    return wrapper


def test_the_keywords_of_a_call_the_bytecode_leaves_unclear_are_kept_from_the_client(make_app, serve):
    app = app_with_login(make_app)

    @app.get('/unclear')
    @unclear
    def notes(**kwargs):
        return ' '.join('%s=%s' % item for item in sorted(kwargs.items()))

    browser = logged_in_as_bob(app, serve)
    assert browser.get('/unclear?text=hi&extra=1&who=me&current_user=admin&other=2') == (
        200, 'current_user=bob other=2 who=me')  # (who: a key of a value, no keyword)
