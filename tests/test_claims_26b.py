"""README sentences added on day 26 that no test checked closely enough, checked over real HTTP and processes."""
from __future__ import annotations

import dataclasses
import json
import signal
import socket
import time
import warnings
from typing import Dict

import bottle
import jwt as pyjwt
import pytest
from pydantic_models import Key

import canister
from helpers import bearer, claims, client, demo_ctrl_c_can_stop, jwk, read_log
from servers import Client, wait_until
from test_jwt_hardening import jwks_app, pyjwt_warnings_of_a_1024_bit_key, short_rsa_key  # noqa: F401 (a fixture)

HIDDEN = '(its message is not shown: it holds the value sent, and the name looks secret)'


@dataclasses.dataclass
class Keyring:
    """A dataclass with a secret-looking field beside a Dict of models."""
    password: str
    keys: Dict[str, Key]


def test_a_ctrl_c_while_the_demo_reads_a_requests_body_lets_it_finish_that_answer_then_exits_0(tmp_path):
    """README (Try it): the demo serves until Ctrl-C, "one pressed while it answers a request too: it finishes that
    answer". The request's body is sent in two parts, the Ctrl-C between them: the answer still comes, whole."""
    answering = tmp_path / 'answering'
    script = (  # (the demo as ``python -m canister demo``, a file made as it takes the app for each request)
        'import pathlib, runpy, sys, wsgiref.simple_server\n'
        'take = wsgiref.simple_server.WSGIServer.get_app\n'
        'def taken(self):\n'
        '    pathlib.Path(%r).touch()\n'
        '    return take(self)\n'
        'wsgiref.simple_server.WSGIServer.get_app = taken\n'
        'sys.argv = ["canister", "demo", "--port", sys.argv[-1]]\n'
        'runpy.run_module("canister", run_name="__main__")\n' % str(answering))
    with demo_ctrl_c_can_stop(tmp_path, None, '-c', script, client_timeout=2) as (process, web):
        port = web.port
        body = json.dumps({'message': 'hello', 'times': 2}).encode()
        answering.unlink()
        with socket.create_connection(('127.0.0.1', port), timeout=30) as conn:
            conn.sendall(b'POST /api/echo HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n'
                         b'Content-Length: %d\r\n\r\n' % (port, len(body)) + body[:5])
            # (the demo has read the request's head, and answers: it waits for the rest of the body; a busy
            # machine may take longer than any fixed pause to get there)
            wait_until(answering.exists, 30, what='the demo answering the request')
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
            time.sleep(0.5)
            assert process.poll() is None  # still answering
            conn.sendall(body[5:])
            answer = b''
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, text = answer.partition(b'\r\n\r\n')
        assert head.split(b'\r\n')[0].split(b' ')[1] == b'200'
        assert json.loads(text) == {'echo': ['hello', 'hello']}
        assert process.wait(30) == 0
    assert 'Traceback' not in (tmp_path / 'output.txt').read_text()


def test_a_model_in_a_dict_of_a_dataclass_whose_message_quotes_the_dataclasss_secret_field_is_not_shown(make_app):
    """README (Parameters): nor is a message shown "for a model in a dataclass (a Dict, a list), one holding a value
    sent to a secret-looking field of what holds it" (the list case is tests/test_params_pydantic.py's)."""
    app = make_app()

    @app.post('/keyring')
    def keyring(ring: Keyring):
        return 'never'

    web = client(app)
    hidden = web.post_json('/keyring', {'ring': {'password': 'pass', 'keys': {'main': {'value': 'pass'}}}},
                           status=400).text
    assert HIDDEN in hidden and 'pass is too short' not in hidden
    shown = web.post_json('/keyring', {'ring': {'password': 'hunter22', 'keys': {'main': {'value': 'short'}}}},
                          status=400).text
    assert 'short is too short' in shown and HIDDEN not in shown  # (a message quoting no secret is shown)


def test_pyjwts_warning_of_a_short_jwks_key_stays_silenced_until_the_last_plugin_whose_jwks_gave_one_goes(
        make_app, short_rsa_key, jwks_server):  # noqa: F811 (short_rsa_key: the fixture imported above)
    """README (Authentication): the filter of PyJWT's InsecureKeyLengthWarning "goes when the last plugin whose JWKS
    gave such a key is uninstalled": with two such apps, uninstalling one leaves it; uninstalling both removes it."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', pyjwt.InsecureKeyLengthWarning)   # (PyJWT's, signing with it here)
        token = pyjwt.encode(claims(aud='my-api'), short_rsa_key, algorithm='RS256', headers={'kid': 'old-key'})
    apps = [jwks_app(make_app, jwks_server, jwk(short_rsa_key, 'old-key')) for _ in range(2)]
    for app in apps:
        assert client(app).get('/me', headers=bearer(token)).json['user']['sub'] == 'alice'

    def uninstall(app):
        app.uninstall(next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)))

    uninstall(apps[0])
    one_left = pyjwt_warnings_of_a_1024_bit_key(short_rsa_key)
    uninstall(apps[1])
    none_left = pyjwt_warnings_of_a_1024_bit_key(short_rsa_key)
    assert one_left == []
    assert len(none_left) == 1 and none_left[0].startswith('The RSA key is 1024 bits long'), none_left


@pytest.mark.parametrize('query', ['foo=bar', 'foo=a&foo=b', 'foo', 'foo=', 'foo=a=b', 'x=1&&foo=y&', '&foo=z',
                                   'foo=a;b', '=x&foo=1', 'foo=1&=&', 'Foo=1&foo=2', 'bar=1&foo=2&bar=3', 'foo=a?b',
                                   'foo=a#b', 'foo==', 'foo=/x/y', 'foo=1&foo', 'x', ''])
def test_a_text_parameter_from_a_plain_query_is_the_value_bottles_own_request_query_gives(make_app, serve, query):
    """README (Performance): for texts and a query with nothing to decode canister splits the query itself, "and
    gives exactly the values Bottle would": compared here with the handler's own ``request.query.get``."""
    app = make_app()

    @app.get('/plain')
    def plain(foo='(absent)', bar='(absent)') -> str:
        split_by_canister = 'bottle.request.query' not in bottle.request.environ
        return json.dumps([[foo, bar], [bottle.request.query.get(name, '(absent)') for name in ('foo', 'bar')],
                           split_by_canister])

    @app.get('/str')
    def annotated(foo: str = '(absent)', bar: str = '(absent)') -> str:
        split_by_canister = 'bottle.request.query' not in bottle.request.environ
        return json.dumps([[foo, bar], [bottle.request.query.get(name, '(absent)') for name in ('foo', 'bar')],
                           split_by_canister])

    browser = Client(serve(app))
    for path in ('/plain', '/str'):
        answer = browser.request('GET', path + ('?' + query if query else ''))
        assert answer.status == 200
        bound, bottles, split_by_canister = json.loads(answer.text)
        assert bound == bottles, (path, query)
        assert split_by_canister   # (Bottle's FormsDict was built only when the handler asked for it)


def logged_query(make_app, log_dir, name: str) -> str:
    """The request line canister logs for ``/echo?NAME=Qz7-Value``: the query as the log shows it."""
    app = make_app()
    app.route('/echo', callback=lambda **params: {'names': sorted(params)})
    client(app).get('/echo?%s=Qz7-Value' % name)
    [line] = [line for line in read_log(log_dir).splitlines() if ' GET http://localhost:80/echo?' in line]
    return line.split('/echo?', 1)[1]


@pytest.mark.parametrize('name', ['request_sigs', 'user_pws', 'apiSigs', 'old_pins', 'refresh_jwts', 'recovery_codes'])
def test_each_secret_word_the_readme_counts_in_the_plural_hides_its_value_as_the_last_of_several_words(
        make_app, log_dir, name):
    """README (Logging, The rule): `key`, `code`, `sig`, `signature`, `pw`, `otp`, `pin`, `jwt` and `ssn` count in
    the plural too as the last of several words (the others are in tests/test_secret_plural_names.py)."""
    assert logged_query(make_app, log_dir, name) == '%s=***' % name


@pytest.mark.parametrize('name', ['user_cookies', 'client_assertions', 'gift_cards', 'active_sessions', 'sigs', 'pws',
                                  'pins', 'otps'])
def test_the_plurals_the_readme_names_as_counts_or_lists_and_the_plurals_alone_are_logged_as_sent(
        make_app, log_dir, name):
    """README (Logging, The rule): "not alone", and `sessions`, `cookies`, `cards` and `assertions` do not count in
    the plural, as the last of several words either."""
    assert logged_query(make_app, log_dir, name) == '%s=Qz7-Value' % name
