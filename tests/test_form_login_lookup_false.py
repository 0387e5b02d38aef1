"""A users lookup that answers an unknown name with a false value of its own (``name in db and db[name]`` gives
``False``; ``db.get(name, 0)``, ``db.get(name, {})``) has found no user, as with ``None``: the name, often a password
typed into the wrong field, is never logged, but the refusal is: the unknown name's WARNING, and no ERROR about an
unusable entry (which a value like ``5`` gets)."""
from __future__ import annotations

import bottle
import pytest

import canister
from canister import session
from helpers import client, read_log, readme_section, warning_lines

UNKNOWN = 'Authentication failed: unknown user name (not shown: it may be a password)'
DB = {'alice': canister.hash_password('wonderland', 'pbkdf2', iterations=1000)}

LOOKUPS = {
    'in-and': lambda name: name in DB and DB[name],
    'get-0': lambda name: DB.get(name, 0),
    'get-dict': lambda name: DB.get(name, {}),
}


def lookup_app(make_app, lookup):
    app = make_app()

    @app.post('/login')
    def login(username: str = '', password: str = ''):
        if not canister.log_in(username, password, lookup):
            bottle.abort(401, 'wrong user name or password')
        return 'user=%s' % session.user

    return app


@pytest.mark.parametrize('how', sorted(LOOKUPS))
def test_a_password_typed_as_the_name_is_not_logged_when_the_lookup_answers_false(make_app, log_dir, how):
    web = client(lookup_app(make_app, LOOKUPS[how]))
    answer = web.post('/login', {'username': 'Typed-Pa55-Zq7', 'password': 'wonderland'}, expect_errors=True)
    assert answer.status_int == 401
    log = read_log(log_dir)
    assert warning_lines(log_dir)[-1].endswith(UNKNOWN)
    assert 'Typed-Pa55-Zq7' not in log and ' ERROR ' not in log and 'unusable' not in log


def test_the_readme_says_a_false_value_is_refused_with_the_unknown_names_warning_and_no_error():
    sentence = readme_section('### A login form').split('*A false one*', 1)[1].split('\n', 1)[0]
    assert sentence.endswith('is no user, as `None` is: refused as an unknown name, with its WARNING `%s` and no '
                             'ERROR.' % UNKNOWN)


@pytest.mark.parametrize('how', sorted(LOOKUPS))
def test_the_same_lookup_still_logs_a_known_user_in(make_app, how):
    web = client(lookup_app(make_app, LOOKUPS[how]))
    assert web.post('/login', {'username': 'alice', 'password': 'wonderland'}).text == 'user=alice'
