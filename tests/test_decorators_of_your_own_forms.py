"""More forms of the app's own ``functools.wraps`` decorators (README, Parameter unpacking, *Decorators of your
own*): 3.13's fused instructions, a key held in a name of the wrapper's module or closure, a handler that takes only
``**kwargs`` given a keyword twice by the wrapper, and a ``TypeError`` of another call in the wrapper (the app's: a
500, not blamed on the request).  Served by a real waitress on 127.0.0.1."""
from __future__ import annotations

import functools

from helpers import (app_with_login, load_user, logged_in_as_bob, read_log, readme_section, user_and_item,
                     user_of_kwargs, warning_lines)

KEY = 'current_user'


def stored_then_setdefault(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        user = load_user(); kwargs.setdefault('current_user', user)  # noqa: E702  (3.13: STORE_FAST_LOAD_FAST)
        return f(*args, **kwargs)
    return wrapper


def copy_then_setdefault(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        passed = dict(kwargs); passed.setdefault('current_user', load_user()); return f(*args, **passed)  # noqa: E702
    return wrapper


def module_key_setdefault(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs.setdefault(KEY, load_user())
        return f(*args, **kwargs)
    return wrapper


def module_key_assign(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs[KEY] = load_user()
        return f(*args, **kwargs)
    return wrapper


def closure_key_setdefault(f):
    name = 'current_user'

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs.setdefault(name, load_user())
        return f(*args, **kwargs)
    return wrapper


def extra_dict_merged(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        extra = {'current_user': load_user()}
        return f(*args, **kwargs, **extra)
    return wrapper


def audit(current_user, **kwargs):
    return current_user


def audited(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        audit(kwargs.get('current_user'), **kwargs)
        return f(*args, **kwargs)
    return wrapper


def merged_over(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **{'current_user': load_user(), **kwargs})
    return wrapper


def new_dict(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs = {**kwargs, 'current_user': load_user()}
        return f(*args, **kwargs)
    return wrapper


def served(make_app, serve):
    app = app_with_login(make_app)
    for path, decorator in [('/stored', stored_then_setdefault), ('/copy', copy_then_setdefault),
                            ('/module-key', module_key_setdefault), ('/module-key-assign', module_key_assign),
                            ('/closure-key', closure_key_setdefault)]:
        app.get(path, callback=decorator(user_and_item))
        app.get(path + '-extras', callback=decorator(user_of_kwargs))
    app.get('/merged-extras', callback=extra_dict_merged(user_of_kwargs))
    app.get('/merged-over', callback=merged_over(user_and_item))
    app.get('/new-dict', callback=new_dict(user_and_item))
    app.get('/audited', callback=audited(user_and_item))
    app.get('/audited-extras', callback=audited(user_of_kwargs))
    return logged_in_as_bob(app, serve)


SETTERS = ['/stored', '/copy', '/module-key', '/module-key-assign', '/closure-key']


def test_fused_loads_and_keys_held_in_names_leave_the_parameter_to_the_wrapper(make_app, serve, log_dir):
    browser = served(make_app, serve)
    for path in SETTERS:
        assert browser.get(path + '?item=1&current_user=admin') == (200, 'user=bob item=1'), path
        assert browser.get(path + '?item=1') == (200, 'user=bob item=1'), path
        assert browser.get(path + '-extras?current_user=admin') == (200, 'user=bob'), path
    log = read_log(log_dir)
    for path in SETTERS:
        assert "Route GET %s: parameter 'current_user' is left to the wrapper " % path in log, path
    assert not warning_lines(log_dir)


def test_a_keyword_a_wrapper_gives_a_handler_of_only_kwargs_twice_is_a_400_not_a_500(make_app, serve, log_dir):
    browser = served(make_app, serve)
    assert browser.get('/merged-extras') == (200, 'user=bob')
    assert browser.get('/merged-extras?current_user=admin') == (
        400, "Bad request: parameter 'current_user' is not one to send: the route supplies it itself\n")
    said = [line for line in warning_lines(log_dir) if 'Route GET /merged-extras: Bad request: ' in line]
    assert len(said) == 1 and ('extra_dict_merged' in said[0] or 'wrapper wrapper' in said[0]), said


def test_a_typeerror_of_another_call_in_the_wrapper_is_the_apps_500_and_blames_no_decorator(make_app, serve, log_dir):
    browser = served(make_app, serve)
    assert browser.get('/audited-extras') == (200, 'user=None')
    for path in ['/audited?item=1&current_user=admin', '/audited-extras?current_user=admin']:
        assert browser.get(path)[0] == 500, path
    assert not [line for line in warning_lines(log_dir) if 'not one to send' in line]


def test_a_form_the_scan_does_not_list_leaves_the_parameter_to_the_request(make_app, serve):
    """README: the forms listed only; the client's value wins over a dict it is merged over, and a new dict keeps
    it out but a request without it is a 400."""
    browser = served(make_app, serve)
    assert browser.get('/merged-over?current_user=admin') == (200, 'user=admin item=x')
    assert browser.get('/new-dict?current_user=admin') == (200, 'user=bob item=x')
    assert browser.get('/new-dict')[0] == 400
    assert "missing parameter 'current_user'" in browser.get('/new-dict')[1]


def test_the_readme_says_so():
    text = ' '.join(readme_section('## Parameter unpacking').split())
    for claim in ["such as `passed = dict(kwargs)` then `passed.setdefault('current_user', ...)`; the key a literal "
                  "text or a name of the wrapper's module or closure holding one) is left to the decorator",
                  'The same holds for a handler that takes only `**kwargs` when the wrapper gives it a keyword the '
                  'client sent too (`f(*args, **kwargs, **extra)`)', "a `TypeError` of another call in the wrapper "
                  "(`audit(kwargs.get('current_user'), **kwargs)` where `audit` names `current_user`) is the app's "
                  "own bug and stays a 500", "The wrapper's bytecode is read for the forms listed above only; any "
                  'other leaves the parameter to the request, where a client may choose it',
                  "a dict that `kwargs` is merged over (`{'current_user': ..., **kwargs}`",
                  "a new dict built with the user (`kwargs = {**kwargs, 'current_user': ...}`, `kwargs |= {...}`) "
                  "keeps the client's value out but makes a request without it a 400 `missing parameter "
                  "'current_user'`", "Setting the wrapper's `__signature__` is the reliable way"]:
        assert claim in text, claim
