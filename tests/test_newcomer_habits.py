"""Habits a Flask or Starlette user brings to a first canister app, which Bottle alone answers with a
500 whose log line says nothing a newcomer can act on, or with a wrong answer and no word at all:
each now says what to write instead, or does what the habit meant."""
from __future__ import annotations

import warnings

import bottle

import canister
from canister import session
from helpers import client, read_log

#: The end of every log line about a result Bottle cannot send: what to write instead.
WHAT_TO_WRITE = ("return {'items': [...]} for a list of values, str() for a number, and set a status with "
                 "bottle.response.status = 201 before returning the body (or return bottle.HTTPResponse(body, "
                 "status=201)), not Flask's return body, 201")


def test_flasks_settings_at_the_top_of_the_config_are_reported_with_canisters_key(log_dir):
    app = bottle.Bottle()
    app.config['SESSION_COOKIE_SECURE'] = True
    app.config.update(CORS_ORIGINS='https://app.example.com', SECRET_KEY='not needed')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(log_dir)))
    said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
    assert said == ["app.config['SESSION_COOKIE_SECURE'] is a Flask setting, which canister does not read: write "
                    "canister.session_secure (or Canister(session_secure=...))",
                    "app.config['CORS_ORIGINS'] is a Flask setting, which canister does not read: write "
                    "canister.cors (or Canister(cors=...))"]
    assert all(' WARNING  [MainThread]   ' + message in read_log(log_dir) for message in said)
    app.uninstall(True)


def test_a_flask_login_that_puts_the_user_in_the_session_is_told_to_assign_session_user(make_app):
    app = make_app()

    @app.post('/login')
    def login():
        try:
            session['user_id'] = 'alice'
        except TypeError as error:
            return str(error)

    assert client(app).post('/login').text == (
        "canister's session is not a dict: for a login, assign session.user = ... (which gives the session a new "
        "id, against session fixation) or call canister.log_in(name, password); other values go in "
        "session.data['user_id'] = ...")
