"""A request that says its body is JSON and sends none: the 400 of a missing parameter says the body is empty."""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from helpers import client, read_log, readme_section
from param_kit import title_app
from servers import raw_request

NOTE = "missing parameter 'title' (the JSON body is empty)"


def test_an_empty_json_body_is_named_in_the_400_of_a_missing_parameter_and_in_the_log(make_app, log_dir, serve):
    origin = serve(title_app(make_app))
    request = urllib.request.Request(origin + '/todos', data=b'', method='POST',
                                     headers={'Content-Type': 'application/json; charset=utf-8'})
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert (status, body) == (400, 'Bad request: %s\n' % NOTE)
    assert 'Bad request: %s' % NOTE in read_log(log_dir)


def test_an_empty_chunked_json_body_is_named_too(make_app, serve):
    port = urllib.parse.urlsplit(serve(title_app(make_app))).port
    answer = raw_request(port, b'POST /todos HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n'
                               b'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n', b'0\r\n\r\n')
    assert answer.startswith(b'HTTP/1.1 400 ')
    assert answer.endswith(('Bad request: %s\n' % NOTE).encode())


def test_no_body_of_another_type_says_nothing_more(make_app):
    web = client(title_app(make_app))
    answer = web.post('/todos', b'', headers={'Content-Type': 'text/plain'}, status=400)
    assert answer.text == "Bad request: missing parameter 'title'\n"


def test_the_readme_names_the_empty_json_body_hint_among_the_unread_body_notes():
    section = readme_section('## Parameter unpacking')
    assert "names `application/json` and sends no body at all gets `%s`" % NOTE in section
