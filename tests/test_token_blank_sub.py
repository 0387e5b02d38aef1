"""A Bearer token whose ``sub`` is empty or whitespace only names nobody: it logs in as a token without ``sub``
does, its login line shows ``?``, and its sessions are its own, not listed or capped together with every other
such token's under one blank name (real tokens signed by PyJWT, real HTTP to waitress, every store)."""
import json

import pytest

from canister import session
from helpers import bearer, read_log, readme_section, signed_token
from session_kit import STORES, Browser, add_session_routes, make_store_url, plugin_of

SECRET = 'Kt7Wq2Zr9Xm4Vb1Ns6Hd3Jf8Lp5Ga0-Ye2Uc7Io4Ox9Pl1Mk6Nj3Bh8Vg5Cf0Dx'  # 64 bytes
ISSUER = 'https://idp.example/'
BLANK = ['   ', '\t', '\u3000']  # (spaces, a tab, an ideographic space)


def token_of(sub, iss, client):
    """Headers with a token of ``sub`` (and ``iss``, None: none) for the machine client ``client``."""
    return bearer(signed_token(SECRET, sub=sub, iss=iss, client_id=client))


def served(make_app, serve, store_url, **config):
    """An app on ``store_url`` taking tokens signed with ``SECRET``, with ``add_session_routes`` and ``/mine``
    (how many sessions ``sessions_of`` lists for the request's user), ``/who`` and ``/data``, served: (app, origin)."""
    app = make_app(config=dict({'auth_jwt_secret': SECRET, 'auth_jwt_encoding': 'clear',
                                'session_store': store_url}, **config))
    add_session_routes(app)
    app.get('/mine')(lambda: str(len(plugin_of(app).sessions_of(session.user))))
    app.get('/who')(lambda: json.dumps(session.user))
    app.get('/data')(lambda: json.dumps(session.data))
    return app, serve(app)


@pytest.mark.parametrize('iss', [None, ISSUER])
@pytest.mark.parametrize('sub', [''] + BLANK)
def test_a_token_whose_sub_is_empty_or_blank_logs_in_and_its_login_line_shows_a_question_mark(
        make_app, serve, log_dir, sub, iss):
    _, origin = served(make_app, serve, 'memory')
    answer = Browser(origin).get('/who', token_of(sub, iss, 'reports'))
    assert answer.status == 200 and answer.json()['client_id'] == 'reports'
    lines = [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines() if 'Logged in as:' in line]
    assert lines == ['Logged in as: ?']


@pytest.mark.parametrize('iss', [None, ISSUER])
@pytest.mark.parametrize('sub', BLANK)
@pytest.mark.parametrize('store_kind', STORES)
def test_two_tokens_with_a_blank_sub_are_two_people_to_sessions_of(make_app, serve, tmp_path, request, store_kind,
                                                                   sub, iss):
    _, origin = served(make_app, serve, make_store_url(store_kind, tmp_path, request))
    reports, billing = Browser(origin), Browser(origin)
    assert reports.get('/set?key=a&value=1', token_of(sub, iss, 'reports')).status == 200
    assert billing.get('/set?key=a&value=1', token_of(sub, iss, 'billing')).status == 200
    assert reports.get('/mine', token_of(sub, iss, 'reports')).body == b'1'
    assert billing.get('/mine', token_of(sub, iss, 'billing')).body == b'1'


@pytest.mark.parametrize('iss', [None, ISSUER])
@pytest.mark.parametrize('store_kind', STORES)
def test_a_token_with_a_blank_sub_does_not_push_another_such_tokens_session_past_the_cap(
        make_app, serve, tmp_path, request, store_kind, iss):
    _, origin = served(make_app, serve, make_store_url(store_kind, tmp_path, request), session_max_per_user='1')
    reports, billing = Browser(origin), Browser(origin)
    assert reports.get('/set?key=a&value=1', token_of(' ', iss, 'reports')).status == 200
    assert billing.get('/set?key=a&value=1', token_of(' ', iss, 'billing')).status == 200
    assert reports.get('/data').json() == {'a': '1'}  # (its session, sent without the token: still there)


def test_the_readme_says_an_empty_or_blank_sub_counts_as_none():
    logged_in = ' '.join(readme_section('### How a request is logged in').split())
    assert ("`Logged in as: ?` for a token without one, whose claims are still the user); a `sub` that is empty "
            "(`\"\"`) or whitespace only names nobody, so it counts as none, here and in the user's key") in logged_in
    sessions = ' '.join(readme_section("### A user's sessions").split())
    assert ("and so for a dict whose `sub` is empty or whitespace only, which names nobody: tokens with such a `sub` "
            "are each a person of their own, as tokens without one are, rather than one person whose sessions "
            "`sessions_of` would list together and `session_max_per_user` would cap together.") in sessions
