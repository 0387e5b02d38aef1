"""A JSON body that stops at a common hand-written mistake is answered 400 with what JSON takes instead, and where
the mistake stands, rather than only "the body is not valid JSON": single quotes (``{'a': 1}``, as Python prints a
dict), a member name without quotes (``{a: 1}``, a JavaScript object literal), a trailing comma (``{"a": 1,}``,
``[1, 2,]``) and Python's ``True``, ``False`` and ``None``; the body itself is never shown.  So it is whether
canister reads the body for the handler's parameters or the handler reads ``bottle.request.json`` itself.  Other
invalid JSON keeps the plain message, the near misses of each mistake included: no hint is ever wrong."""
from __future__ import annotations

import bottle

from helpers import readme_section, warning_lines
from servers import Client

NOT_JSON = 'the body is not valid JSON: '
SINGLE_QUOTES = NOT_JSON + 'JSON strings and member names take double quotes, not single ones'
UNQUOTED_NAME = NOT_JSON + 'JSON member names take double quotes'
TRAILING_COMMA = NOT_JSON + "JSON takes no comma after an object's last member or an array's last item"
PYTHON_LITERAL = NOT_JSON + 'JSON writes true, false and null in lower case'
JSON = {'Content-Type': 'application/json'}


def json_app(make_app):
    app = make_app()

    @app.post('/notes')
    def notes(title: str = ''):
        return title

    @app.post('/raw')
    def raw():
        return repr(bottle.request.json)

    return app


def assert_told(web, log_dir, body, message, path='/notes'):
    """The body is answered 400 with ``message``, which the request's WARNING line says too."""
    answer = web.request('POST', path, body, JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message), body
    assert warning_lines(log_dir)[-1].endswith('Bad request: ' + message), body


def test_a_json_body_with_single_quoted_names_is_told_json_takes_double_quotes(make_app, serve, log_dir):
    web = Client(serve(json_app(make_app)))
    assert_told(web, log_dir, b"{'title': 'tea'}", SINGLE_QUOTES + ' (a single quote at line 1, column 2)')


def test_a_single_quoted_string_value_is_told_too_with_where_it_stands(make_app, serve):
    web = Client(serve(json_app(make_app)))
    answer = web.request('POST', '/notes', b'{\n  "title": \'tea\'\n}', JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s (a single quote at line 2, column 12)\n'
                                            % SINGLE_QUOTES)


def test_an_unquoted_member_name_is_told_json_names_take_double_quotes(make_app, serve, log_dir):
    web = Client(serve(json_app(make_app)))
    assert_told(web, log_dir, b'{title: "tea"}', UNQUOTED_NAME + ' (a name without them at line 1, column 2)')
    assert_told(web, log_dir, b'{"title": "tea",\n  tags: []}',
                UNQUOTED_NAME + ' (a name without them at line 2, column 3)')
    assert_told(web, log_dir, b'{"title": "tea", _id: 1}',
                UNQUOTED_NAME + ' (a name without them at line 1, column 18)')


def test_a_trailing_comma_is_told_json_takes_none_with_where_the_comma_stands(make_app, serve, log_dir):
    """Where the comma stands, not the bracket after it that Python's parser stops at before 3.13."""
    web = Client(serve(json_app(make_app)))
    assert_told(web, log_dir, b'{"title": "tea",}', TRAILING_COMMA + ' (a trailing comma at line 1, column 16)')
    assert_told(web, log_dir, b'{\n  "title": "tea",\n}', TRAILING_COMMA + ' (a trailing comma at line 2, column 17)')
    assert_told(web, log_dir, b'{"tags": ["a", "b", ]}', TRAILING_COMMA + ' (a trailing comma at line 1, column 19)')
    assert_told(web, log_dir, b'[1, 2,]', TRAILING_COMMA + ' (a trailing comma at line 1, column 6)')


def test_pythons_true_false_and_none_are_told_json_writes_them_in_lower_case(make_app, serve, log_dir):
    web = Client(serve(json_app(make_app)))
    assert_told(web, log_dir, b'{"title": "tea", "done": True}',
                PYTHON_LITERAL + " (Python's True at line 1, column 26)")
    assert_told(web, log_dir, b'{"title": "tea",\n "done": False}',
                PYTHON_LITERAL + " (Python's False at line 2, column 10)")
    assert_told(web, log_dir, b'{"title": None}', PYTHON_LITERAL + " (Python's None at line 1, column 11)")


def test_the_handlers_own_reading_of_bottle_request_json_is_told_the_same(make_app, serve, log_dir):
    web = Client(serve(json_app(make_app)))
    assert_told(web, log_dir, b"{'a': 1}", SINGLE_QUOTES + ' (a single quote at line 1, column 2)', '/raw')
    assert_told(web, log_dir, b'{a: 1}', UNQUOTED_NAME + ' (a name without them at line 1, column 2)', '/raw')
    assert_told(web, log_dir, b'[1, 2,\n]', TRAILING_COMMA + ' (a trailing comma at line 1, column 6)', '/raw')
    assert_told(web, log_dir, b'[None]', PYTHON_LITERAL + " (Python's None at line 1, column 2)", '/raw')


def test_a_large_body_is_not_echoed(make_app, serve, log_dir):
    web = Client(serve(json_app(make_app)))
    value = b'x' * 20000
    for body, message in ((b"{'title': '" + value + b"'}", SINGLE_QUOTES + ' (a single quote at line 1, column 2)'),
                          (b'{"title": "' + value + b'",}',
                           TRAILING_COMMA + ' (a trailing comma at line 1, column 20013)'),
                          (b'{"title": "' + value + b'", "done": None}',
                           PYTHON_LITERAL + " (Python's None at line 1, column 20023)")):
        assert_told(web, log_dir, body, message)
        assert 'xxx' not in warning_lines(log_dir)[-1]


def test_other_invalid_json_keeps_the_plain_message(make_app, serve, log_dir):
    """The near misses too: a comma before a bracket that closes nothing it opened, one after another comma or with
    nothing before it, a "]" after ":", a name that is no word, a word that only starts as True, or one where a
    comma was expected."""
    web = Client(serve(json_app(make_app)))
    for body in (b'{"title": "tea"', b'{"title": "it\'s"', b'{"title": }', b'{"title": ]', b'["tea", }',
                 b'{"title": "tea", ]', b'{"title": "tea",,}', b'[,]', b'{,}', b'{-1: 2}', b'{"title": Truely}',
                 b'[1 True]', b'{"title": "a,"  x}'):
        assert_told(web, log_dir, body, 'the body is not valid JSON')


def test_the_readme_quotes_the_hints():
    section = readme_section('## Parameter unpacking')
    for hint in (SINGLE_QUOTES + ' (a single quote at line 1, column 2)',
                 UNQUOTED_NAME + ' (a name without them at line 1, column 2)',
                 TRAILING_COMMA + ' (a trailing comma at line 1, column 9)',
                 PYTHON_LITERAL + " (Python's True at line 1, column 7)"):
        assert '`%s`' % hint in section, hint
