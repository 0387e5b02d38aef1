"""A value a session cannot store, in ``session.data`` or ``session.user``, is named by the path the app
reaches it by and by its type: ``session.user['roles'] holds a set``, not just "a dict"."""
from __future__ import annotations

import datetime
import enum
from typing import Any, Callable

import pytest

from helpers import ROOT, client, read_log

import canister
from canister import session


def refused_assignment(make_app: Callable[..., Any], assign: Callable[[], None]) -> str:
    """What a handler that runs ``assign`` answers: the SessionDataError's text, or 'stored'."""
    app = make_app()

    @app.get('/')
    def index() -> str:
        try:
            assign()
        except canister.SessionDataError as error:
            return str(error)
        return 'stored'

    return client(app).get('/').text


USER_RULE = "a user must be JSON-serializable (a str, or a dict such as a token's claims)"


@pytest.mark.parametrize('user, where, what', [
    ({'name': 'alice', 'roles': {'admin'}}, "session.user['roles']", 'a set'),
    ({'sub': 'alice', 'seen': datetime.datetime(2026, 1, 1)}, "session.user['seen']", 'a datetime'),
    ({'sub': 'alice', 'groups': [{'id': 1, 'owner': object()}]}, "session.user['groups'][0]['owner']", 'an object'),
])
def test_a_user_holding_a_value_a_session_cannot_store_is_refused_naming_that_member_and_its_type(
        make_app, user, where, what):
    assert refused_assignment(make_app, lambda: setattr(session, 'user', user)) == (
        '%s holds %s, which a session cannot store: %s' % (where, what, USER_RULE))


def test_a_user_a_session_cannot_store_as_a_whole_is_named_at_its_assignment(make_app):
    assert refused_assignment(make_app, lambda: setattr(session, 'user', object())) == (
        'session.user = an object, which a session cannot store: %s' % USER_RULE)


def test_a_user_dict_with_a_key_that_is_not_text_is_refused_as_data_is(make_app):
    assert refused_assignment(make_app, lambda: setattr(session, 'user', {'sub': 'alice', 7: 'x'})) == (
        'session.user holds the key 7 (an int), which a session cannot store: JSON keys are text, so it would '
        'come back as "7"; use text keys')


def test_a_text_key_of_a_str_subclass_is_refused_saying_it_would_come_back_as_plain_text(make_app):
    class Color(str, enum.Enum):
        RED = 'red'

    assert refused_assignment(make_app, lambda: setattr(session, 'user', {'sub': 'alice', Color.RED: 1})) == (
        "session.user holds the key %r (a Color), which a session cannot store: JSON keys are text, so it would "
        'come back as "red" (a plain str); use text keys' % Color.RED)


def test_a_user_that_holds_itself_is_refused_without_a_recursion_error(make_app):
    user: Any = {'sub': 'alice'}
    user['me'] = user
    assert refused_assignment(make_app, lambda: setattr(session, 'user', user)) == (
        "session.user['me'] holds the dict it is in, which a session cannot store: %s" % USER_RULE)


@pytest.mark.parametrize('value, logged', [
    ({'when': datetime.date(2026, 1, 1)}, "session.data['cart']['when'] holds a date"),
    ([1, 2, {3}], "session.data['cart'][2] holds a set"),
    ({(1, 2): 'x'}, "session.data['cart'] holds the key (1, 2) (a tuple), which a session cannot store: JSON keys "
                    "are text; use text keys"),
])
def test_a_data_value_a_session_cannot_store_is_logged_by_its_path_and_type(make_app, log_dir, value, logged):
    app = make_app()
    app.route('/', callback=lambda: session.data.update(cart=value))
    client(app).get('/', status=500)
    assert 'Session not saved: %s' % logged in read_log(log_dir)


def test_a_top_level_data_key_json_cannot_hold_is_named_not_blamed_on_the_user(make_app, log_dir):
    app = make_app()
    app.route('/', callback=lambda: session.data.update({(1, 2): 'x'}))
    client(app).get('/', status=500)
    log = read_log(log_dir)
    assert 'Session not saved: session.data holds the key (1, 2) (a tuple), which a session cannot store' in log
    assert 'session.user' not in log


def test_the_readme_quotes_the_errors_a_session_gives_for_a_value_it_cannot_store(make_app, log_dir):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    app = make_app()
    app.route('/', callback=lambda: session.data.update(cart={'when': datetime.datetime(2026, 1, 1)}))
    client(app).get('/', status=500)
    logged = "Session not saved: session.data['cart']['when'] holds a datetime, which a session cannot store"
    assert logged in read_log(log_dir) and '`%s`' % logged in readme
    refused = refused_assignment(make_app, lambda: setattr(session, 'user', {'sub': 'alice', 'roles': {'admin'}}))
    assert refused.startswith("session.user['roles'] holds a set, which a session cannot store: ")
    assert "`session.user['roles'] holds a set, which a session cannot store: ...`" in readme
