"""A JSON body written with single quotes (``{'a': 1}``, as Python prints a dict) is answered 400 with what JSON
takes instead, double quotes, and where the first single quote stands, rather than only "the body is not valid
JSON"; the body itself is never shown.  So it is whether canister reads the body for the handler's parameters or the
handler reads ``bottle.request.json`` itself.  Other invalid JSON keeps the plain message."""
from __future__ import annotations

import bottle

from helpers import readme_section, warning_lines
from servers import Client

HINT = 'the body is not valid JSON: JSON strings and member names take double quotes, not single ones'
JSON = {'Content-Type': 'application/json'}


def single_quotes_app(make_app):
    app = make_app()

    @app.post('/notes')
    def notes(title: str = ''):
        return title

    @app.post('/raw')
    def raw():
        return repr(bottle.request.json)

    return app


def test_a_json_body_with_single_quoted_names_is_told_json_takes_double_quotes(make_app, serve, log_dir):
    web = Client(serve(single_quotes_app(make_app)))
    message = HINT + ' (a single quote at line 1, column 2)'
    answer = web.request('POST', '/notes', b"{'title': 'tea'}", JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert warning_lines(log_dir)[-1].endswith('Bad request: ' + message)


def test_a_single_quoted_string_value_is_told_too_with_where_it_stands(make_app, serve):
    web = Client(serve(single_quotes_app(make_app)))
    answer = web.request('POST', '/notes', b'{\n  "title": \'tea\'\n}', JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s (a single quote at line 2, column 12)\n' % HINT)


def test_the_handlers_own_reading_of_bottle_request_json_is_told_the_same(make_app, serve):
    web = Client(serve(single_quotes_app(make_app)))
    answer = web.request('POST', '/raw', b"{'a': 1}", JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s (a single quote at line 1, column 2)\n' % HINT)


def test_a_large_single_quoted_body_is_not_echoed(make_app, serve, log_dir):
    web = Client(serve(single_quotes_app(make_app)))
    answer = web.request('POST', '/notes', b"{'title': '" + b'x' * 20000 + b"'}", JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s (a single quote at line 1, column 2)\n' % HINT)
    assert 'xxx' not in warning_lines(log_dir)[-1]


def test_other_invalid_json_keeps_the_plain_message(make_app, serve):
    web = Client(serve(single_quotes_app(make_app)))
    for body in (b'{"title": "tea"', b'{title: "tea"}', b'{"title": "it\'s"'):
        answer = web.request('POST', '/notes', body, JSON)
        assert (answer.status, answer.text) == (400, 'Bad request: the body is not valid JSON\n'), body


def test_the_readme_quotes_the_hint():
    section = readme_section('## Parameter unpacking')
    assert "`%s (a single quote at line 1, column 2)`" % HINT in section
