"""Attack review 22 (b): what a security review found, each pinned against a real server on 127.0.0.1
or the command line run as a user runs it.

* behind two trusted proxies that each append to ``X-Forwarded-Proto`` (a TLS terminator, then a plain
  HTTP hop: ``https, http``), canister took the last entry, the inner hop's ``http``: the session cookie
  lost ``Secure``, no HSTS was sent, and the CSRF check took the app's own origin for ``http://``.  It
  takes the entry of the outermost trusted proxy now, counted as ``X-Forwarded-For``'s are, and so for
  ``X-Forwarded-Host``.
* a token whose header ``kid`` is a list was refused by PyJWT from 2.6 on only: before, canister looked it up
  among the JWKS's keys, a TypeError.  canister refuses any ``kid`` that is not a string itself now, as
  malformed, whatever PyJWT's version.
* the demo's page built its links and its copy of the log line from Bottle's ``request.url``, which believes
  ``X-Forwarded-Host`` and ``-Proto`` from any client: it shows what canister believes now.
* the command line: ``tidy-sessions`` called a character device (``sqlite:////dev/zero``) "no such file", and
  so did an install its ``auth_basic_users_file``; the demo showed an unknown key of its ``--config`` under
  Python's warning header, naming a line of canister.py (no line of the user's).  Each is one plain line now.
"""
from __future__ import annotations

from typing import Any, Dict

import bottle
import pytest

import canister
from canister import ConfigError, session
from helpers import claims, demo_ctrl_c_can_stop, hand_made_token, jwk, read_log, run_canister
from servers import Client

#: Two proxies in front of the app: the TLS terminator 10.0.0.2 (which the client 198.51.100.7 talks to),
#: then a plain-HTTP hop on this host; each appends its peer to X-Forwarded-For, and its scheme and host.
TWO_HOPS = {'X-Forwarded-For': '198.51.100.7, 10.0.0.2', 'X-Forwarded-Proto': 'https, http',
            'X-Forwarded-Host': 'shop.example.com, app.internal:8000'}


def two_proxy_app(make_app: Any) -> bottle.Bottle:
    """An app behind the two proxies (``trusted_proxies``), with HSTS on: GET / counts in the session, POST /buy
    is a form's target."""
    app = make_app(trusted_proxies='127.0.0.1, 10.0.0.0/8', hsts_max_age=600)
    app.get('/', callback=lambda: str(session.data.setdefault('n', 1)))
    app.post('/buy', callback=lambda: 'bought')
    return app


def test_behind_two_appending_proxies_the_outer_tls_hop_decides_that_the_request_is_https(make_app, serve):
    origin = serve(two_proxy_app(make_app), clear_untrusted_proxy_headers=False)

    answer = Client(origin).get('/', headers=TWO_HOPS)

    assert answer.status == 200, answer
    assert '; secure' in answer.headers['Set-Cookie'].lower()
    assert answer.headers['Strict-Transport-Security'] == 'max-age=600'


def test_behind_two_appending_proxies_a_form_of_the_public_origin_passes_the_csrf_check(make_app, serve, log_dir):
    origin = serve(two_proxy_app(make_app), clear_untrusted_proxy_headers=False)

    answer = Client(origin).request('POST', '/buy', body=b'', headers=dict(TWO_HOPS, Origin='https://shop.example.com'))

    assert answer.status == 200, answer
    assert answer.text == 'bought'
    assert 'POST https://shop.example.com/buy' in read_log(log_dir)


def test_behind_two_appending_proxies_a_client_cannot_choose_the_scheme_or_host_by_sending_its_own(make_app, serve,
                                                                                                   log_dir):
    """The client's own headers come first, and the outer proxy (here over plain HTTP) appends to them."""
    origin = serve(two_proxy_app(make_app), clear_untrusted_proxy_headers=False)
    forged: Dict[str, str] = {'X-Forwarded-For': '203.0.113.1, 198.51.100.7, 10.0.0.2',
                              'X-Forwarded-Proto': 'https, http, http',
                              'X-Forwarded-Host': 'evil.example, shop.example.com, app.internal:8000'}

    answer = Client(origin).get('/', headers=forged)

    assert answer.status == 200, answer
    assert '; secure' not in answer.headers['Set-Cookie'].lower()
    assert 'Strict-Transport-Security' not in answer.headers
    assert '   GET http://shop.example.com/\n' in read_log(log_dir)


def test_a_proxy_that_overwrites_x_forwarded_proto_behind_one_that_appends_is_still_believed(make_app, serve):
    """Fewer entries than proxies: one of them set the header instead of appending (nginx's
    ``proxy_set_header X-Forwarded-Proto $scheme`` on the outer one, the inner one passing it on)."""
    origin = serve(two_proxy_app(make_app), clear_untrusted_proxy_headers=False)

    answer = Client(origin).get('/', headers=dict(TWO_HOPS, **{'X-Forwarded-Proto': 'https'}))

    assert '; secure' in answer.headers['Set-Cookie'].lower()


# -- a kid that is not a string --------------------------------------------------------------------------

def test_a_token_whose_kid_is_a_list_is_refused_as_malformed_by_canister_itself(make_app, serve, rsa_key, jwks_server,
                                                                                log_dir):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_client_id='shop')
    app.get('/me', callback=lambda: {'user': session.user})
    origin = serve(app)
    token = hand_made_token({'alg': 'RS256', 'typ': 'JWT', 'kid': ['key-1']}, claims(aud='shop'),
                            lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))

    answer = Client(origin).get('/me', headers={'Authorization': 'Bearer ' + token})

    assert answer.status == 401, answer
    assert answer.text == 'Authentication failed: the token is malformed: its key id (kid) is not a string\n'
    assert 'error_description="the token is malformed: its key id (kid) is not a string"' in \
        answer.headers['WWW-Authenticate']
    assert 'the token is malformed: its key id (kid) is not a string' in read_log(log_dir)


# -- the demo's links --------------------------------------------------------------------------------------

def test_the_demos_links_name_the_server_not_a_host_any_client_sent(serve):
    origin = serve(canister._demo_app(None), clear_untrusted_proxy_headers=False)

    page = Client(origin).get('/', headers={'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https'}).text

    assert '<a href="%s/hi?foo=John&amp;bar=Smith">' % origin in page
    assert 'curl -u alice:my-secret %s/api/me' % origin in page
    assert '   GET %s/</pre>' % origin in page
    assert 'evil.example' not in page


# -- the command line ----------------------------------------------------------------------------------------

def test_tidy_sessions_on_a_character_device_says_it_is_not_a_regular_file(tmp_path):
    done = run_canister('tidy-sessions', '--store', 'sqlite:////dev/zero', cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr == ('python -m canister tidy-sessions: canister.session_store = sqlite:////dev/zero: '
                           '/dev/zero is a character device, not a regular file\n')


def test_a_users_file_that_is_a_character_device_is_refused_as_not_a_regular_file(make_app):
    with pytest.raises(ConfigError) as refused:
        make_app(auth_basic_users_file='/dev/null')

    assert str(refused.value) == ("canister.auth_basic_users_file = '/dev/null': is a character device, not a "
                                  "regular file (/dev/null)")


def test_the_demo_says_an_unknown_key_of_its_config_in_one_line_after_its_own_name(tmp_path):
    ini = tmp_path / 'demo.ini'
    ini.write_text('[canister]\nlog_path = %s\nsesion_timeout = 60\n' % (tmp_path / 'logs'))

    with demo_ctrl_c_can_stop(tmp_path, config=str(ini)):
        pass  # (it answered /hi?foo=x with 200)

    output = (tmp_path / 'output.txt').read_text()
    assert output.startswith('python -m canister demo: warning: unknown config key canister.sesion_timeout (did you '
                             'mean session_timeout?)\nCanister demo on '), output
    assert 'CanisterWarning' not in output and 'canister.py' not in output
