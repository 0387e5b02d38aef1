"""The plural of a word that names one secret, as the last of several words, looks secret too (`api_keys`,
`private_keys`), in the request line and in a 400, while ordinary words holding it (`keyboard`, `monkeys`), the
plural alone (`keys`, a JWKS's member) and the plurals that name counts or lists (`sessions`, `cookies`) are shown
as sent."""
from __future__ import annotations

import json
import re

import pytest

from helpers import client, read_log


def echo_app(make_app):
    app = make_app()

    @app.route('/echo', method=['GET', 'POST'])
    def echo(**params):
        return {'names': sorted(params)}

    return app


@pytest.mark.parametrize('name', ['api_keys', 'apikeys', 'apiKeys', 'private_keys', 'privatekeys', 'privatekey',
                                  'access_tokens', 'client_secrets', 'passwords', 'backup_codes', 'user[api_keys]',
                                  'x_keys[]', 'id_jwts', 'user_otps', 'card_pins', 'x_signatures', 'user_ssns'])
def test_a_plural_or_compound_secret_name_in_the_query_is_written_as_stars(make_app, log_dir, name):
    client(echo_app(make_app)).get('/echo?page=2&%s=Qz7-Hidden-Value&next=3' % name)
    log = read_log(log_dir)
    assert 'Qz7-Hidden-Value' not in log
    assert re.search(r'\]   GET http://localhost:80/echo\?page=2&%s=\*\*\*&next=3$' % re.escape(name), log, re.M), log


@pytest.mark.parametrize('name', ['keyboard', 'monkey', 'monkeys', 'hotkeys', 'turkeys', 'keys_count', 'keystore',
                                  'sides', 'spins', 'passes', 'keys', 'codes', 'user_sessions', 'cookies', 'cards',
                                  'assertions'])
def test_an_ordinary_word_holding_a_secret_word_or_its_plural_is_logged_as_sent(make_app, log_dir, name):
    client(echo_app(make_app)).get('/echo?%s=plain-value-7' % name)
    assert re.search(r'\]   GET http://localhost:80/echo\?%s=plain-value-7$' % name, read_log(log_dir), re.M)


def test_a_name_containing_token_looks_secret_even_when_it_is_a_tokenizer(make_app, log_dir):
    # `token` counts anywhere in a name (`refreshtoken`, `tokenid`): the list errs on the side of hiding.
    client(echo_app(make_app)).get('/echo?tokenizer=Qz7-Hidden-Value')
    assert re.search(r'\]   GET http://localhost:80/echo\?tokenizer=\*\*\*$', read_log(log_dir), re.M)


def test_a_400_for_a_parameter_named_api_keys_does_not_show_its_value(make_app, log_dir):
    app = make_app()

    @app.get('/keys')
    def keys(api_keys: int):
        return 'ok'

    response = client(app).get('/keys?api_keys=Qz7-Hidden-Value', expect_errors=True)
    assert response.status_int == 400
    assert response.text == ("Bad request: parameter 'api_keys' must be an integer "
                             "(the value is not shown: the name looks secret)\n")
    log = read_log(log_dir)
    assert 'Qz7-Hidden-Value' not in log
    assert re.search(r" WARNING .*Bad request: parameter 'api_keys' must be an integer \(the value is not shown", log)


def test_a_400_showing_a_json_object_hides_the_value_of_its_private_keys_member(make_app, log_dir):
    app = make_app()

    @app.post('/note')
    def note(note: str):
        return 'ok'

    response = client(app).post('/note', json.dumps({'note': {'name': 7, 'private_keys': ['Qz7-Hidden-Value']}}),
                                content_type='application/json', expect_errors=True)
    assert response.status_int == 400
    assert response.text == ("Bad request: parameter 'note' must be a string, "
                             "got {'name': 7, 'private_keys': '***'}\n")
    assert 'Qz7-Hidden-Value' not in read_log(log_dir)
