"""A JSON body whose text is not UTF-8, a lone surrogate escaped ("\\ud800") or as its raw bytes
(ED A0 80), answers 400 naming the parameter, logged at WARNING, as the same text in the query does;
surrogate pairs (an emoji escaped) and other text still arrive, and keep in the session."""
from __future__ import annotations

import json
from typing import Dict, List

import pytest

from helpers import read_log
from servers import Client
from session_kit import add_keep_routes

JSON = {'Content-Type': 'application/json'}


def surrogate_app(make_app):
    app = make_app()

    @app.post('/echo')
    def echo(name):
        return 'hi ' + name

    @app.post('/typed')
    def typed(name: str, tags: List[str] = (), extra: Dict[str, str] = None):
        return 'hi %s %s %s' % (name, ','.join(tags), extra)

    return add_keep_routes(app, '/keep')


@pytest.mark.parametrize('body', [b'{"name": "\\ud800"}', b'{"name": "\xed\xa0\x80"}', b'{"name": "a\\uDFFFb"}'],
                         ids=['escaped', 'raw bytes', 'escaped low half'])
def test_a_lone_surrogate_in_a_json_body_is_a_400_naming_the_parameter(make_app, serve, log_dir, body):
    client = Client(serve(surrogate_app(make_app)))
    response = client.request('POST', '/echo', body=body, headers=JSON)
    assert response.status == 400, response.text
    assert "parameter 'name' is not valid UTF-8" in response.text
    assert [line for line in read_log(log_dir).splitlines()
            if ' WARNING ' in line and "Bad request: parameter 'name' is not valid UTF-8" in line]


@pytest.mark.parametrize('body', [{'name': 'ok', 'tags': ['a', '\ud800']}, {'name': 'ok', 'extra': {'k': '\udc00'}},
                                  {'name': 'ok', 'extra': {'\ud800': 'v'}}], ids=['list item', 'dict value', 'dict key'])
def test_a_lone_surrogate_inside_a_list_or_dict_names_its_parameter(make_app, serve, body):
    client = Client(serve(surrogate_app(make_app)))
    response = client.request('POST', '/typed', body=json.dumps(body), headers=JSON)
    assert response.status == 400, response.text
    assert "parameter %r is not valid UTF-8" % sorted(set(body) - {'name'})[0] in response.text


def test_the_same_text_in_the_query_is_a_400_too(make_app, serve):
    client = Client(serve(surrogate_app(make_app)))
    response = client.request('POST', '/echo?name=%ED%A0%80')
    assert response.status == 400 and "parameter 'name' is not valid UTF-8" in response.text


@pytest.mark.parametrize('body', [b'{"name": "\\ud83d\\ude00 \\u00e9"}', '{"name": "\U0001f600 \u00e9"}'.encode()],
                         ids=['escaped', 'raw'])
def test_surrogate_pairs_and_other_text_arrive_and_keep_in_the_session(make_app, serve, body):
    client = Client(serve(surrogate_app(make_app)))
    assert client.request('POST', '/echo', body=body, headers=JSON).text == 'hi \U0001f600 \u00e9'
    assert client.request('POST', '/keep', body=body, headers=JSON).text == 'kept'
    assert client.get('/keep').text == '\U0001f600 \u00e9'


@pytest.mark.parametrize('content_type', ['application/json; charset=latin-1', 'application/json'])
def test_a_json_body_of_latin1_bytes_is_a_400_that_says_json_is_utf8(make_app, serve, log_dir, content_type):
    client = Client(serve(surrogate_app(make_app)))
    response = client.request('POST', '/echo', body='{"name": "Jérôme"}'.encode('latin-1'),
                              headers={'Content-Type': content_type})
    assert response.status == 400, response.text
    assert ('the JSON body is not valid UTF-8: JSON is sent as UTF-8, whatever charset the Content-Type names'
            in response.text)
    assert 'not valid JSON' not in response.text
    assert [line for line in read_log(log_dir).splitlines()
            if ' WARNING ' in line and 'the JSON body is not valid UTF-8' in line]


def test_a_json_body_whose_first_bytes_make_it_utf16_but_that_breaks_utf16_says_so_not_that_it_is_not_utf8(
        make_app, serve, log_dir):
    client = Client(serve(surrogate_app(make_app)))
    response = client.request('POST', '/echo', body='{"name": "x"}'.encode('utf-16-le') + b'\x00',
                              headers=JSON)
    assert response.status == 400, response.text
    assert 'the JSON body is not valid UTF-16-LE, which its first bytes make it: send JSON as UTF-8' in response.text
    assert 'not valid UTF-8' not in response.text
