"""The app's own decorators written as classes (README, Parameter unpacking, *Decorators of your own*): one that
calls ``functools.update_wrapper(self, f)`` in its ``__init__`` and sets the user in its ``__call__(self, *args,
**kwargs)`` has that ``__call__`` read as a function decorator's wrapper is, its call of ``self.f`` or
``self.__wrapped__`` being the wrapped call: the parameter is left to it (logged at INFO, naming it), never taken
from the client, and one it passes by position is a 400 for a client who sends it.  Served by a real waitress on
127.0.0.1."""
from __future__ import annotations

import functools

from helpers import (CookieBrowser, app_with_login, load_user, logged_in_as_bob, read_log, readme_section,
                     user_and_item, user_of_kwargs, warning_lines)


class SetDefault:
    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        kwargs.setdefault('current_user', load_user())
        return self.f(*args, **kwargs)


class Assign:
    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        kwargs['current_user'] = load_user()
        return self.f(*args, **kwargs)


class Keyword:
    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        return self.f(*args, current_user=load_user(), **kwargs)


class KeywordOnly:
    """Passes no ``**kwargs`` on: only the call of ``self.f`` shows the keyword is the wrapped call's."""

    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        return self.f(*args, current_user=load_user())


class ThroughWrapped:
    def __init__(self, f):
        functools.update_wrapper(self, f)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, current_user=load_user())


class Audited:
    """Gives ``current_user`` to another method of its own, not to the wrapped function."""

    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def audit(self, **kwargs):
        return kwargs

    def __call__(self, *args, **kwargs):
        self.audit(current_user=load_user())
        return self.f(*args, **kwargs)


class Positional:
    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        return self.f(load_user(), *args, **kwargs)


SETTERS = {'/setdefault': SetDefault, '/assign': Assign, '/keyword': Keyword}
#: Those that pass no **kwargs on, around a handler of the user only.
ONLY_THE_USER = {'/keyword-only': KeywordOnly, '/through-wrapped': ThroughWrapped}


def served(make_app, serve):
    app = app_with_login(make_app)

    def who(current_user):
        return 'user=%s' % current_user

    for path, decorator in SETTERS.items():
        app.get(path, callback=decorator(user_and_item))
    for path, decorator in ONLY_THE_USER.items():
        app.get(path, callback=decorator(who))
    app.get('/setdefault-extras', callback=SetDefault(user_of_kwargs))
    app.get('/audited', callback=Audited(user_and_item))
    app.get('/positional', callback=Positional(user_and_item))
    return logged_in_as_bob(app, serve)


def test_a_class_decorator_that_sets_the_user_keeps_the_clients_value_out(make_app, serve, log_dir):
    browser = served(make_app, serve)
    for path in SETTERS:
        assert browser.get(path + '?item=1&current_user=attacker') == (200, 'user=bob item=1'), path
        assert browser.get(path + '?item=1') == (200, 'user=bob item=1'), path
        assert CookieBrowser(browser.origin).get(path + '?current_user=attacker') == (200, 'user=anonymous item=x'), path
    for path in ONLY_THE_USER:
        assert browser.get(path + '?current_user=attacker') == (200, 'user=bob'), path
        assert CookieBrowser(browser.origin).get(path) == (200, 'user=anonymous'), path
    assert browser.get('/setdefault-extras?current_user=attacker') == (200, 'user=bob')
    log = read_log(log_dir)
    for path, decorator in {**SETTERS, **ONLY_THE_USER}.items():
        said = [line for line in log.splitlines() if 'Route GET %s: ' % path in line and 'left to the wrapper' in line]
        assert len(said) == 1 and ' INFO ' in said[0], (path, said)
        assert "parameter 'current_user' is left to the wrapper %s.__call__ (test_decorators_as_classes.py, line " \
            % decorator.__qualname__ in said[0], said
    assert not warning_lines(log_dir)


def test_a_keyword_given_to_another_method_sets_nothing(make_app, serve):
    browser = served(make_app, serve)
    assert browser.get('/audited?item=1&current_user=chosen') == (200, 'user=chosen item=1')
    assert browser.get('/audited?item=1')[0] == 400


def test_a_class_decorator_passing_the_user_by_position_is_a_400_for_a_client_who_sends_it(make_app, serve, log_dir):
    browser = served(make_app, serve)
    assert browser.get('/positional?item=1&current_user=attacker') == (
        400, "Bad request: parameter 'current_user' is not one to send: the route supplies it itself\n")
    said = [line for line in warning_lines(log_dir) if 'Route GET /positional: Bad request: ' in line]
    assert len(said) == 1, said
    assert "got multiple values for argument 'current_user'" in said[0], said
    assert 'wrapper Positional.__call__ (test_decorators_as_classes.py, line ' in said[0], said
    assert 'Traceback' not in read_log(log_dir)
    status, text = browser.get('/positional?item=1')
    assert status == 400 and "missing parameter 'current_user'" in text, text


def test_the_readme_says_so():
    text = ' '.join(readme_section('## Parameter unpacking').split())
    assert ('A decorator written as a class (`functools.update_wrapper(self, f)` in its `__init__`) is read the same '
            "way: its `__call__(self, *args, **kwargs)` is the wrapper, and its call of `self.f(...)` (an attribute "
            'holding the function it wraps) or `self.__wrapped__(...)` the wrapped call.') in text
    assert 'or a decorator that is a class' not in text
