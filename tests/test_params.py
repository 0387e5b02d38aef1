"""Handler parameters filled from the URL, query string, form or JSON body, by annotation."""
import enum
import functools
import json
import pathlib
import sys
import typing
import urllib.parse
import uuid
from typing import List, Optional, Tuple

import bottle
import pytest

import canister
from helpers import archived_app, client, read_log, warning_lines
from param_kit import client_serving, client_serving_posts, title_app


# --------------------------------------------------------------------------
# where values come from

def test_a_parameter_is_filled_from_the_query_string(make_app):
    def index(name):
        return 'hello %s' % name

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?name=world').text == 'hello world'


def test_a_parameter_is_filled_from_an_urlencoded_form(make_app):
    def index(name):
        return 'hello %s' % name

    web = client_serving(make_app, '/', index)
    assert web.post('/', {'name': 'form'}).text == 'hello form'


def test_a_parameter_is_filled_from_a_multipart_form(make_app):
    def index(name):
        return 'hello %s' % name

    web = client_serving(make_app, '/', index)
    response = web.post('/', {'name': 'multi'}, content_type='multipart/form-data')
    assert response.text == 'hello multi'


def test_a_parameter_is_filled_from_a_json_object_body(make_app):
    def index(name, count: int):
        return '%s %d' % (name, count)

    web = client_serving(make_app, '/', index)
    assert web.post_json('/', {'name': 'json', 'count': 3}).text == 'json 3'


def test_a_url_argument_wins_over_the_body_and_the_query(make_app):
    def index(name):
        return name

    web = client_serving(make_app, '/item/<name>', index)
    response = web.post('/item/from-url?name=from-query', {'name': 'from-body'})
    assert response.text == 'from-url'


def test_a_wildcard_that_names_no_parameter_of_the_handler_is_logged_at_the_first_request_with_both_names(
        make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/items/<id>')  # renamed on one side only
    def item(item_id: int):
        return 'item %d' % item_id

    @app.get('/users/<name>/<:re:[a-z]+>')
    def users():
        return 'users'

    web = client(app)
    web.get('/items/3', status=400)
    web.get('/items/3', status=400)
    web.get('/users/bob/x', status=500, expect_errors=True)
    said = [line.split('   ', 1)[1] for line in warning_lines(log_dir) if 'the wildcard <' in line]
    assert said == [
        "Route GET /items/<id>: the wildcard <id> of the rule is no parameter of the handler, which Bottle passes it "
        "to by name, id=... (a TypeError, a 500, once its other parameters are given): name a parameter id, or the "
        "wildcard after one of the handler's (item_id)",
        "Route GET /users/<name>/<:re:[a-z]+>: the wildcard <name> of the rule is no parameter of the handler, which "
        "Bottle passes it to by name, name=... (a TypeError, a 500, once its other parameters are given): give the "
        "handler a parameter name"]


def test_wildcards_a_handler_takes_by_name_or_in_its_keyword_arguments_are_not_logged(make_app, log_dir):
    app = make_app()
    app.get('/a/<x:int>/<y:re:[a-z]+>', callback=lambda x, y: '%d %s' % (x, y))
    app.get('/b/<x>/<y>', callback=lambda x, **rest: x + rest['y'])
    web = client(app)
    assert web.get('/a/1/z').text == '1 z'
    assert web.get('/b/1/z').text == '1z'
    assert 'the wildcard <' not in read_log(log_dir)


def test_the_body_wins_over_the_query_string(make_app):
    def index(name):
        return name

    web = client_serving(make_app, '/', index)
    assert web.post('/?name=from-query', {'name': 'from-body'}).text == 'from-body'


def test_a_json_body_wins_over_the_query_string(make_app):
    def index(name):
        return name

    web = client_serving(make_app, '/', index)
    assert web.post_json('/?name=from-query', {'name': 'from-json'}).text == 'from-json'


def test_the_query_string_fills_what_the_body_lacks(make_app):
    def index(name, page: int):
        return '%s/%d' % (name, page)

    web = client_serving(make_app, '/', index)
    assert web.post('/?page=4', {'name': 'x'}).text == 'x/4'


def test_a_default_is_used_when_the_parameter_is_absent(make_app):
    def index(name='nobody'):
        return name

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/').text == 'nobody'


# --------------------------------------------------------------------------
# text

def test_non_ascii_query_values_are_decoded_as_utf8(make_app):
    def index(name):
        return json.dumps(name)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?name=J%C3%A9r%C3%B4me').text) == 'Jérôme'


def test_non_ascii_urlencoded_form_values_are_decoded_as_utf8(make_app):
    def index(name):
        return json.dumps(name)

    web = client_serving(make_app, '/', index)
    response = web.post('/', 'name=J%C3%A9r%C3%B4me', content_type='application/x-www-form-urlencoded')
    assert json.loads(response.text) == 'Jérôme'


def test_non_ascii_multipart_values_are_decoded_as_utf8(make_app):
    def index(name):
        return json.dumps(name)

    web = client_serving(make_app, '/', index)
    response = web.post('/', {'name': 'Jérôme €'}, content_type='multipart/form-data')
    assert json.loads(response.text) == 'Jérôme €'


def test_a_query_value_that_is_not_utf8_is_a_400_not_a_500(make_app):
    app = make_app()
    called = []

    @app.get('/')
    def index(name):
        called.append(name)
        return 'ok'

    response = client(app).get('/?name=%FF', status='*')
    assert response.status_int == 400
    assert 'name' in response.text
    assert called == []


def test_a_form_value_that_is_not_utf8_is_a_400_not_a_500(make_app):
    def index(name):
        return 'ok'

    web = client_serving(make_app, '/', index)
    response = web.post('/', 'name=%FF%FE', content_type='application/x-www-form-urlencoded', status='*')
    assert response.status_int == 400


def multipart(name: bytes, value: bytes) -> bytes:
    return b'--XyZ\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b'\r\n--XyZ--\r\n'


@pytest.mark.parametrize('body', [multipart(b'name', b'caf\xe9'), multipart(b'\xff', b'1')], ids=['value', 'name'])
def test_a_multipart_field_that_is_not_utf8_is_a_400_on_either_bottle(make_app, body):
    app = make_app()
    called = []

    @app.post('/')
    def index(name='', **others):
        called.append((name, others))
        return 'ok'

    response = client(app).request('/', method='POST', body=body, content_type='multipart/form-data; boundary=XyZ',
                                   status='*')
    assert response.status_int == 400
    assert 'not valid UTF-8' in response.text
    assert called == []


def test_a_urlencoded_parameter_name_that_is_not_utf8_is_a_400_saying_so(make_app):
    def index(**others):
        return 'ok'

    web = client_serving(make_app, '/', index)
    response = web.post('/', '%FF=1', content_type='application/x-www-form-urlencoded', status=400)
    assert 'a parameter name is not valid UTF-8' in response.text


def test_a_non_ascii_parameter_name_is_matched_in_the_query_string(make_app):
    def index(café):
        return json.dumps(café)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?caf%C3%A9=cr%C3%A8me').text) == 'crème'


def test_a_parameter_without_annotation_is_a_string(make_app):
    def index(count):
        return type(count).__name__

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?count=12').text == 'str'


def test_a_repeated_key_for_a_scalar_gives_the_last_value(make_app):
    def index(name, count: int):
        return '%s %d' % (name, count)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?name=a&name=b&count=1&count=2').text == 'b 2'


# --------------------------------------------------------------------------
# conversions

def test_an_int_annotation_converts_the_value(make_app):
    def index(count: int):
        return repr(count + 1)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?count=41').text == '42'


def test_a_float_annotation_converts_the_value(make_app):
    def index(ratio: float):
        return repr(ratio * 2)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?ratio=1.25').text == '2.5'


def test_any_other_class_gets_the_text_and_a_400_when_it_refuses_it(make_app):
    def index(item: uuid.UUID):
        return '%s %s' % (type(item).__name__, item.version)

    web = client_serving(make_app, '/', index, 'GET')
    c = web
    assert c.get('/?item=2f1c7a4e-8b0d-4c1e-9a57-3d6b2e8f0a11').text == 'UUID 4'
    response = c.get('/?item=not-a-uuid', status=400)
    assert "parameter 'item' must be a valid UUID" in response.text


def test_a_bool_annotation_accepts_the_usual_words(make_app):
    def index(flag: bool):
        return repr(flag)

    web = client_serving(make_app, '/', index, 'GET')
    for word in ('true', 'True', '1', 'yes', 'on'):
        assert web.get('/?flag=' + word).text == 'True', word
    for word in ('false', 'FALSE', '0', 'no', 'off'):
        assert web.get('/?flag=' + word).text == 'False', word


def test_a_bool_that_is_not_a_known_word_is_a_400(make_app):
    def index(flag: bool):
        return repr(flag)

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/?flag=maybe', status=400)
    assert 'flag' in response.text


def test_a_json_boolean_fills_a_bool_parameter(make_app):
    def index(flag: bool):
        return repr(flag)

    web = client_serving(make_app, '/', index)
    assert web.post_json('/', {'flag': False}).text == 'False'


def test_a_list_of_str_collects_repeated_keys(make_app):
    def index(tag: list[str]):
        return json.dumps(tag)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?tag=a&tag=b&tag=c').text) == ['a', 'b', 'c']


def test_a_list_of_int_collects_and_converts_repeated_keys(make_app):
    def index(n: list[int]):
        return json.dumps(n)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?n=1&n=2&n=30').text) == [1, 2, 30]


def test_a_typing_list_of_int_collects_and_converts_repeated_keys(make_app):
    def index(n: typing.List[int]):
        return json.dumps(n)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?n=5&n=6').text) == [5, 6]


def test_a_list_parameter_takes_a_json_array(make_app):
    def index(n: List[int]):
        return json.dumps(n)

    web = client_serving(make_app, '/', index)
    assert json.loads(web.post_json('/', {'n': [3, 4]}).text) == [3, 4]


def test_an_absent_list_parameter_gets_the_handlers_default_and_a_json_empty_array_an_empty_list(make_app):
    app = make_app()

    @app.route('/', method=['GET', 'POST'])
    def index(tag: List[str] = ()):
        return repr(tag)

    @app.post('/needed')
    def needed(tag: List[str]):
        return repr(tag)

    web = client(app)
    assert web.get('/').text == '()'
    assert web.post('/', {'other': 'x'}).text == '()'
    assert web.post_json('/', {'other': 'x'}).text == '()'
    assert web.post_json('/?tag=q', {'tag': []}).text == '[]'
    assert web.post_json('/needed', {'tag': []}).text == '[]'
    assert "missing parameter 'tag'" in web.post_json('/needed', {}, status=400).text


def test_a_list_parameter_collects_repeated_form_keys(make_app):
    def index(n: List[int]):
        return json.dumps(n)

    web = client_serving(make_app, '/', index)
    response = web.post('/', 'n=7&n=8', content_type='application/x-www-form-urlencoded')
    assert json.loads(response.text) == [7, 8]


def test_a_list_with_a_value_that_does_not_convert_is_a_400(make_app):
    def index(n: List[int]):
        return json.dumps(n)

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/?n=1&n=two', status=400)
    assert "'n'" in response.text


def test_a_list_sent_as_one_value_with_commas_is_a_400_that_says_to_repeat_the_name(make_app, log_dir):
    def index(ids: List[int]):
        return json.dumps(ids)

    web = client_serving(make_app, '/', index, 'GET')
    message = ("parameter 'ids' must be an integer, got '1,2,3' (one value, commas and all: a list takes its name "
               "repeated, ?ids=...&ids=..., or a JSON array)")
    assert web.get('/?ids=1,2,3', status=400).text == 'Bad request: %s\n' % message
    assert 'WARNING  [127.0.0.1-...]   Bad request: %s' % message in read_log(log_dir)
    assert web.get('/?ids=1&ids=2,3', status=400).text == "Bad request: parameter 'ids' (at ids[1]) " \
                                                          "must be an integer, got '2,3'\n"
    assert web.get('/?ids=1&ids=2').text == '[1, 2]'


def test_a_json_array_of_one_value_with_commas_is_a_400_that_does_not_say_to_send_a_json_array(make_app):
    def index(ids: List[int]):
        return json.dumps(ids)

    web = client_serving(make_app, '/', index)
    answer = web.post_json('/', {'ids': ['1,2']}, status=400)
    assert answer.text == "Bad request: parameter 'ids' (at ids[0]) must be an integer, got '1,2'\n"


def test_string_annotations_are_converted_like_real_ones(make_app):
    def index(count: 'int', ratio: 'float' = 1.0):
        return repr(count * ratio)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?count=3&ratio=0.5').text == '1.5'


def test_string_annotations_still_convert_when_another_cannot_be_resolved(make_app):
    # As in a module with `from __future__ import annotations` whose handler
    # names a type imported only under TYPE_CHECKING.
    def index(count: 'int', note: 'Optional[NotImportedAtRuntime]' = None):  # noqa: F821
        return repr(count + 1)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?count=41').text == '42'


def test_an_annotation_that_cannot_be_evaluated_is_logged_once_and_the_parameter_is_bound_as_text(make_app, log_dir):
    # The app-factory pattern in a module with `from __future__ import annotations`: every annotation is
    # a string, and a type defined inside the factory is not among the module's names.
    app = make_app()

    class Sort(str):
        pass

    ascending = Sort('asc')

    @app.route('/items', method=['GET', 'POST'])
    def items(page: 'int' = 1, sort: 'Sort' = ascending):
        return repr((page, sort, type(sort).__name__))

    web = client(app)
    assert web.get('/items?page=2&sort=desc').text == "(2, 'desc', 'str')"
    assert web.get('/items?sort=up').text == "(1, 'up', 'str')"
    assert web.post_json('/items', {'sort': 5}).text == "(1, 5, 'int')"
    log = read_log(log_dir)
    line = ("Route GET /items: parameter 'sort' is bound as text: its annotation 'Sort' "
            "cannot be evaluated (NameError: name 'Sort' is not defined)\n")
    assert log.count(line) == 1
    assert [entry.split()[2] for entry in log.splitlines() if entry.endswith(line.strip())] == ['WARNING']
    assert "parameter 'page'" not in log


if sys.version_info < (3, 10):  # `int | None` evaluates from 3.10 on
    def test_a_pep604_annotation_on_python_3_9_is_logged_and_the_parameter_is_bound_as_text(make_app, log_dir):
        app = make_app()

        @app.get('/p')
        def p(page: 'int | None' = None):
            return repr(page)

        assert client(app).get('/p?page=2').text == "'2'"
        assert ("Route GET /p: parameter 'page' is bound as text: its annotation 'int | None' cannot be evaluated "
                "(TypeError: ") in read_log(log_dir)


def test_an_optional_parameter_without_default_is_none_when_absent(make_app):
    def index(page: Optional[int]):
        return repr(page)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/').text == 'None'


def test_an_optional_parameter_is_converted_when_present(make_app):
    def index(page: Optional[int]):
        return repr(page)

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?page=3').text == '3'


def test_an_optional_parameter_is_none_for_an_empty_form_value(make_app):
    def index(page: Optional[int]):
        return repr(page)

    web = client_serving(make_app, '/', index)
    assert web.post('/', 'page=', content_type='application/x-www-form-urlencoded').text == 'None'


def test_an_optional_parameter_is_none_for_a_json_null(make_app):
    def index(page: Optional[int]):
        return repr(page)

    web = client_serving(make_app, '/', index)
    assert web.post_json('/', {'page': None}, status='*').text == 'None'


if sys.version_info >= (3, 10):  # `int | None` is a syntax error in annotations before 3.10
    def test_a_pep604_optional_parameter_is_none_when_absent(make_app):
        app = make_app()

        @app.get('/')
        def index(page: int | None):
            return repr(page)

        web = client(app)
        assert web.get('/').text == 'None'
        assert web.get('/?page=9').text == '9'


def test_a_file_upload_parameter_receives_the_multipart_file(make_app):
    def upload(doc: bottle.FileUpload, title: str):
        return '%s:%s:%s' % (title, doc.raw_filename, doc.file.read().decode())

    web = client_serving(make_app, '/upload', upload)
    response = web.post('/upload', {'title': 'T'}, upload_files=[('doc', 'notes.txt', b'file body')])
    assert response.text == 'T:notes.txt:file body'


def test_a_list_of_file_uploads_receives_every_file(make_app):
    def upload(docs: List[bottle.FileUpload]):
        return ','.join(doc.raw_filename for doc in docs)

    web = client_serving(make_app, '/upload', upload)
    files = [('docs', 'a.txt', b'1'), ('docs', 'b.txt', b'2')]
    assert web.post('/upload', upload_files=files).text == 'a.txt,b.txt'


def test_a_missing_file_upload_is_a_400(make_app):
    def upload(doc: bottle.FileUpload):
        return 'ok'

    web = client_serving(make_app, '/upload', upload)
    response = web.post('/upload', {'doc': 'just text'}, content_type='multipart/form-data', status=400)
    assert 'doc' in response.text


def test_a_file_sent_for_a_text_parameter_and_a_text_for_a_file_one_are_400s_that_say_so(make_app):
    def upload(doc: bottle.FileUpload, title: str):
        return 'ok'

    web = client_serving(make_app, '/upload', upload)
    response = web.post('/upload', upload_files=[('doc', 'a.txt', b'1'), ('title', 't.txt', b'T')], status=400)
    assert "parameter 'title' must be text, not a file upload" in response.text
    response = web.post('/upload', {'doc': 'just text', 'title': 'T'}, content_type='multipart/form-data', status=400)
    assert "parameter 'doc' must be a file upload" in response.text


def test_a_plain_value_cannot_fill_a_file_upload_from_the_query(make_app):
    def upload(doc: bottle.FileUpload):
        return 'ok'

    web = client_serving(make_app, '/upload', upload)
    response = web.post('/upload?doc=x', {'other': '1'}, content_type='multipart/form-data', status='*')
    assert response.status_int == 400


def test_a_literal_parameter_takes_one_of_its_values(make_app):
    app = make_app()

    @app.route('/', method=['GET', 'POST'])
    def index(order: typing.Literal['asc', 'desc'] = 'asc', size: typing.Literal[10, 50] = 10,
              strict: typing.Literal[True] = True):
        return repr((order, size, strict))

    web = client(app)
    assert web.get('/').text == "('asc', 10, True)"
    assert web.get('/?order=desc&size=50&strict=yes').text == "('desc', 50, True)"
    assert web.post_json('/', {'order': 'desc', 'size': 50, 'strict': True}).text == "('desc', 50, True)"


def test_a_value_outside_a_literal_is_a_400_listing_the_allowed_values(make_app, log_dir):
    app = make_app()

    @app.route('/', method=['GET', 'POST'])
    def index(order: typing.Literal['asc', 'desc'] = 'asc', size: typing.Literal[10, 50] = 10):
        return 'called'

    web = client(app)
    response = web.get('/?order=up', status=400)
    assert response.text.strip() == "Bad request: parameter 'order' must be one of 'asc' or 'desc', got 'up'"
    assert "Bad request: parameter 'order' must be one of 'asc' or 'desc', got 'up'" in read_log(log_dir)
    assert "must be one of 10 or 50, got '20'" in web.get('/?size=20', status=400).text
    assert "must be one of 10 or 50, got 'ten'" in web.get('/?size=ten', status=400).text
    assert "must be one of 10 or 50, got True" in web.post_json('/', {'size': True}, status=400).text
    assert "must be one of 'asc' or 'desc', got 1" in web.post_json('/', {'order': 1}, status=400).text


def test_optional_and_list_of_a_literal_work_as_for_other_types(make_app):
    def index(order: Optional[typing.Literal['asc', 'desc']] = None,
              tags: List[typing.Literal['red', 'green']] = (), mode: typing.Literal['a', None] = 'a'):
        return repr((order, tags, mode))

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/').text == "(None, (), 'a')"
    assert web.get('/?order=desc&tags=red&tags=green&mode=').text == "('desc', ['red', 'green'], None)"
    assert web.get('/?order=').text == "(None, (), 'a')"
    assert "parameter 'tags' (at tags[1]) must be one of 'red' or 'green', got 'blue'" \
        in web.get('/?tags=red&tags=blue', status=400).text
    assert "parameter 'order' must be one of 'asc' or 'desc', got 'up'" in web.get('/?order=up', status=400).text


def test_a_literal_url_argument_is_checked(make_app):
    def index(order: typing.Literal['asc', 'desc']):
        return order

    web = client_serving(make_app, '/sort/<order>', index, 'GET')
    assert web.get('/sort/desc').text == 'desc'
    assert "must be one of 'asc' or 'desc', got 'up'" in web.get('/sort/up', status=400).text


# --------------------------------------------------------------------------
# errors

def test_a_missing_mandatory_parameter_is_a_400_naming_it(make_app):
    def index(username):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/', status=400)
    assert 'username' in response.text
    assert response.content_type == 'text/plain'


def test_a_value_that_does_not_convert_is_a_400_naming_the_parameter(make_app):
    def index(count: int):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/?count=ten', status=400)
    assert 'count' in response.text


def test_a_float_that_does_not_convert_is_a_400(make_app):
    def index(ratio: float):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    assert web.get('/?ratio=abc', status='*').status_int == 400


def test_a_json_string_for_an_int_parameter_that_does_not_convert_is_a_400(make_app):
    def index(count: int):
        return 'ok'

    web = client_serving(make_app, '/', index)
    assert web.post_json('/', {'count': [1]}, status='*').status_int == 400


def test_the_400_is_json_when_the_client_accepts_json(make_app):
    def index(username):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/', headers={'Accept': 'application/json'}, status=400)
    assert response.content_type == 'application/json'
    assert 'username' in response.json['message']


@pytest.mark.parametrize('accept, json_error', [
    ('application/json', True),
    ('Application/JSON; charset=utf-8', True),
    ('text/html, application/json;q=0.5', True),
    ('application/json;q=0', False),
    ('application/json; q=0.000, text/plain', False),
    ('application/jsonx', False),
    ('text/html, */*', False),
])
def test_the_400_is_json_only_when_accept_names_json_with_a_quality_above_zero(make_app, accept, json_error):
    def index(username):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    response = web.get('/', headers={'Accept': accept}, status=400)
    assert (response.content_type == 'application/json') is json_error
    assert 'username' in (response.json['message'] if json_error else response.text)


def test_a_bad_parameter_is_logged_at_warning(make_app, log_dir):
    def index(zipcode: int):
        return 'ok'

    web = client_serving(make_app, '/', index, 'GET')
    web.get('/?zipcode=abc', status='*')
    lines = [line for line in read_log(log_dir).splitlines() if 'Bad request' in line]
    assert len(lines) == 1
    assert ' WARNING ' in lines[0] and 'zipcode' in lines[0]


def test_the_handler_is_not_called_when_a_parameter_is_bad(make_app):
    app = make_app()
    called = []

    @app.get('/')
    def index(a: int, b: int):
        called.append((a, b))
        return 'ok'

    web = client(app)
    web.get('/?a=1', status=400)
    web.get('/?a=1&b=x', status=400)
    assert called == []


def test_an_invalid_json_body_is_a_400(make_app):
    def index(name='x'):
        return 'ok'

    web = client_serving(make_app, '/', index)
    response = web.post('/', '{"name": ', content_type='application/json', status=400)
    assert 'JSON' in response.text


@pytest.mark.parametrize('body', ['["name"]', 'null', '"text"', '3'])
def test_a_json_body_that_is_not_an_object_is_left_to_the_handler_and_the_query_fills_parameters(make_app, body):
    def index(name='x', dry_run: bool = False, **rest):
        return json.dumps([name, dry_run, rest, bottle.request.json])

    web = client_serving(make_app, '/', index)
    response = web.post('/?dry_run=1&page=2', body, content_type='application/json')
    assert json.loads(response.text) == ['x', True, {'page': '2'}, json.loads(body)]
    response = web.post('/', body, content_type='application/json')
    assert json.loads(response.text) == ['x', False, {}, json.loads(body)]


def test_a_json_body_that_is_not_an_object_fills_no_mandatory_parameter(make_app, log_dir):
    def index(name):
        return name

    web = client_serving(make_app, '/', index)
    response = web.post('/', '{"name": "x"}'.join('[]'), content_type='application/json', status=400)
    assert "missing parameter 'name'" in response.text
    assert "Bad request: missing parameter 'name'" in read_log(log_dir)


def test_a_missing_parameter_says_a_text_plain_body_fills_none_as_fetch_sends_json_by_default(make_app, log_dir):
    web = client(title_app(make_app))
    answer = web.post('/todos', '{"title": "milk"}', content_type='text/plain;charset=UTF-8', status=400)
    note = ("missing parameter 'title' (the body, of text/plain, fills no parameter: send a JSON object "
            "with Content-Type: application/json, or a form)")
    assert answer.text == 'Bad request: %s\n' % note
    assert 'Bad request: %s' % note in read_log(log_dir)


def test_a_missing_parameter_says_the_form_body_looks_like_json_as_curl_d_sends_it(make_app):
    web = client(title_app(make_app))
    answer = web.post('/todos', '{"title": "milk"}', content_type='application/x-www-form-urlencoded', status=400)
    assert answer.text == ("Bad request: missing parameter 'title' (the form body looks like JSON: send it with "
                           "Content-Type: application/json)\n")


def test_a_missing_parameter_says_the_json_body_is_not_an_object(make_app):
    web = client(title_app(make_app))
    answer = web.post('/todos', '[{"title": "milk"}]', content_type='application/json', status=400)
    assert answer.text == ("Bad request: missing parameter 'title' (the JSON body is not an object: only an "
                           "object's members fill parameters; the handler can read the body itself, a whole JSON array "
                           "say: bottle.request.json)\n")


def test_a_missing_parameter_of_a_form_or_no_body_says_nothing_more(make_app):
    web = client(title_app(make_app))  # (a JSON object says how its members fill parameters: test_newcomer_20.py)
    assert web.post('/todos', {'name': 'milk'}, status=400).text == "Bad request: missing parameter 'title'\n"
    assert web.post('/todos', status=400).text == "Bad request: missing parameter 'title'\n"


def test_a_content_type_is_named_back_only_when_it_is_a_plain_media_type(make_app, log_dir):
    web = client(title_app(make_app))
    answer = web.post('/todos', 'title', headers={'Content-Type': 'text/x\x7f<b>'}, status=400)
    assert '(the body, of another type, fills no parameter' in answer.text
    assert '<b>' not in read_log(log_dir)


def test_a_type_error_raised_inside_the_handler_is_a_500_not_a_400(make_app):
    def index(count: int):
        return len(count)  # TypeError: the handler's own bug

    web = client_serving(make_app, '/', index, 'GET', catchall=True)
    response = web.get('/?count=3', status='*', expect_errors=True)
    assert response.status_int == 500


# --------------------------------------------------------------------------
# special handlers

def test_positional_only_parameters_are_filled_and_passed_by_position(make_app):
    app = make_app()

    @app.get('/double')
    def double(n: int, /):
        return str(2 * n)

    @app.get('/page/<section>')
    def page(section, size: int = 10, start: int = 0, /, q='', **rest):
        return repr((section, size, start, q, rest))

    web = client(app)
    assert web.get('/double?n=3').text == '6'
    assert "missing parameter 'n'" in web.get('/double', status=400).text
    assert "parameter 'n' must be an integer, got 'x'" in web.get('/double?n=x', status=400).text
    assert web.get('/page/news?start=20&q=tea&x=1').text == "('news', 10, 20, 'tea', {'x': '1'})"
    assert web.get('/page/news').text == "('news', 10, 0, '', {})"


def test_a_handler_with_kwargs_receives_the_extra_parameters(make_app):
    def index(name, **extra):
        return json.dumps({'name': name, 'extra': extra}, sort_keys=True)

    web = client_serving(make_app, '/', index, 'GET')
    body = json.loads(web.get('/?name=n&colour=red&size=L').text)
    assert body == {'name': 'n', 'extra': {'colour': 'red', 'size': 'L'}}


def test_a_handler_with_kwargs_receives_extra_json_fields(make_app):
    def index(**extra):
        return json.dumps(extra, sort_keys=True)

    web = client_serving(make_app, '/', index)
    assert json.loads(web.post_json('/', {'a': 1, 'b': [2]}).text) == {'a': 1, 'b': [2]}


def test_extra_kwargs_from_the_body_win_over_the_query_string(make_app):
    def index(**extra):
        return extra['colour']

    web = client_serving(make_app, '/', index)
    assert web.post('/?colour=query', {'colour': 'body'}).text == 'body'


def test_extra_kwargs_are_decoded_as_utf8(make_app):
    def index(**extra):
        return json.dumps(extra)

    web = client_serving(make_app, '/', index, 'GET')
    assert json.loads(web.get('/?city=Z%C3%BCrich').text) == {'city': 'Zürich'}


class ItemViews:
    """Handlers as methods, as a class-based app routes them."""

    def search(self, q: str = '', **filters):
        return {'q': q, 'filters': filters}

    @classmethod
    def listing(cls, **filters):
        return {'filters': filters}

    def __call__(self, **filters):
        return {'filters': filters}


def listing_of(shop, page, **filters):
    return {'shop': shop, 'page': page, 'filters': filters}


@pytest.mark.parametrize('path, callback, expected', [
    ('/search?self=x&colour=red', ItemViews().search, {'q': '', 'filters': {'colour': 'red'}}),
    ('/search?cls=x&colour=red', ItemViews.listing, {'filters': {'colour': 'red'}}),
    ('/search?self=x&colour=red', ItemViews(), {'filters': {'colour': 'red'}}),
    ('/search?shop=evil&page=2&colour=red', functools.partial(listing_of, 'tea'),
     {'shop': 'tea', 'page': '2', 'filters': {'colour': 'red'}}),
], ids=['method', 'classmethod', 'callable-object', 'partial-positional'])
def test_a_key_naming_what_the_call_fills_itself_stays_out_of_kwargs(make_app, path, callback, expected):
    """``self`` of a method, ``cls``, a partial's positional argument: passed in ``**kwargs`` too, each
    would be a second value for it, a TypeError and a 500 that any client could cause."""
    app = make_app()
    app.route('/search', ['GET', 'POST'], callback=callback)
    web = client(app)
    assert web.get(path).json == expected
    assert web.post_json('/search', dict(pair.split('=') for pair in path.split('?')[1].split('&'))).json == expected


def test_a_route_skipping_canister_by_name_gets_no_unpacking(make_app):
    app = make_app()

    @app.get('/', skip=['canister'])
    def index(name='untouched'):
        return name

    assert client(app).get('/?name=given').text == 'untouched'


def test_a_route_skipping_canister_by_class_gets_no_unpacking(make_app):
    app = make_app()

    @app.get('/', skip=[canister.Canister])
    def index(name='untouched'):
        return name

    assert client(app).get('/?name=given').text == 'untouched'


def test_the_original_docs_example_says_hi_to_both(make_app):
    def hello(foo, bar=''):
        return 'Hi %s and %s!' % (foo, bar) if bar else 'Hi %s!' % foo

    web = client_serving(make_app, '/hi', hello, 'GET')
    assert web.get('/hi?foo=John&bar=Smith').text == 'Hi John and Smith!'
    assert web.get('/hi?foo=John').text == 'Hi John!'


@pytest.mark.parametrize('query', [
    'foo=bar', 'foo=a&foo=b', 'foo', 'foo=', 'foo=a=b', 'x=1&&foo=y&', '&foo=z', 'foo=a&x=1',
    'foo=a%20b', 'foo=a+b', 'foo=%2B', 'FOO=up&foo=down', 'foo=caf%C3%A9', 'x=1',
])
def test_a_bound_text_is_what_bottle_reads_from_the_query(make_app, query):
    """The binder reads plain query strings itself: it must agree with request.query."""
    def index(foo='(absent)'):
        values = bottle.request.query.getall('foo')
        expected = values[-1].encode('latin1').decode('utf-8') if values else '(absent)'
        return json.dumps([foo, expected])

    web = client_serving(make_app, '/', index, 'GET')
    bound, expected = json.loads(web.get('/?' + query).text)
    assert bound == expected


def test_a_non_ascii_parameter_keeps_its_converted_value_when_the_handler_takes_kwargs(make_app):
    app = make_app()

    @app.route('/', method=['GET', 'POST'])
    def index(größe: int = 0, **rest):
        return repr((größe, rest))

    web = client(app)
    assert web.get('/?gr%C3%B6%C3%9Fe=5&x=1').text == "(5, {'x': '1'})"
    assert web.post('/', 'gr%C3%B6%C3%9Fe=6&x=2', content_type='application/x-www-form-urlencoded').text \
        == "(6, {'x': '2'})"
    multipart = ('--b\r\nContent-Disposition: form-data; name="größe"\r\n\r\n7\r\n'
                 '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n3\r\n--b--\r\n').encode('utf-8')
    response = web.request('/', method='POST', body=multipart, content_type='multipart/form-data; boundary=b')
    assert response.text == "(7, {'x': '3'})"
    assert web.post_json('/?gr%C3%B6%C3%9Fe=9', {'größe': 8, 'x': 4}).text == "(8, {'x': 4})"


def test_a_parameterised_container_annotation_takes_what_its_container_takes(make_app):
    """``Dict[str, int]`` gives a ``dict`` (typing's aliases cannot be called), its keys and values converted."""
    def prefs(settings: typing.Dict[str, int]):
        return {'settings': settings, 'type': type(settings).__name__}

    web = client_serving(make_app, '/prefs', prefs)
    answer = web.post_json('/prefs', {'settings': {'page_size': 20}})
    assert answer.json == {'settings': {'page_size': 20}, 'type': 'dict'}
    refused = web.post_json('/prefs', {'settings': 'big'}, status=400)
    assert "parameter 'settings' must be a JSON object, each key str and each value int, got 'big'" in refused.text


# --------------------------------------------------------------------------
# a handler routed as functools.partial

class Database:
    def get(self, key):
        return 'row %s' % key


def test_the_keywords_a_partial_binds_are_not_taken_from_the_request(make_app):
    app = make_app()

    def dashboard(item: int, role: str):
        return 'item=%r role=%s' % (item, role)

    def show(key: str, db: Database):
        return db.get(key)

    app.route('/dash', ['GET', 'POST'], callback=functools.partial(dashboard, role='guest'))
    app.route('/show', callback=functools.partial(show, db=Database()))
    web = client(app)
    assert web.get('/dash?item=1&role=admin').text == 'item=1 role=guest'
    assert web.post_json('/dash', {'item': 2, 'role': 'admin'}).text == 'item=2 role=guest'
    assert web.get('/show?key=1&db=x').text == 'row 1'
    response = web.get('/dash?role=admin', status=400)
    assert 'item' in response.text and 'role' not in response.text


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Size(enum.Enum):
    SMALL = 0.5
    LARGE = 2.0


def test_an_enum_of_numbers_takes_its_values_from_the_query_the_form_and_the_url(make_app):
    """A query or a form holds text only: the member whose value that text writes (``Priority(2)``
    for ``?priority=2``), as from a JSON number."""
    app = make_app()

    @app.route('/tasks/<priority>', ['GET', 'POST'])
    def tasks(priority: Priority, size: Size = Size.SMALL, also: List[Priority] = ()):
        return {'priority': priority.name, 'size': size.name, 'also': [item.name for item in also]}

    web = client(app)
    expected = {'priority': 'HIGH', 'size': 'LARGE', 'also': ['LOW', 'HIGH']}
    assert web.get('/tasks/2?size=2.0&also=1&also=2').json == expected
    assert web.post('/tasks/2', {'size': '2.0', 'also': ['1', '2']}).json == expected
    assert web.post_json('/tasks/2', {'size': 2.0, 'also': [1, 2]}).json == expected
    assert web.get('/tasks/1').json == {'priority': 'LOW', 'size': 'SMALL', 'also': []}
    refused = web.get('/tasks/3', status=400)
    assert refused.text == "Bad request: parameter 'priority' must be a valid Priority (its values: 1, 2), got '3'\n"
    assert web.get('/tasks/HIGH', status=400).text.startswith("Bad request: parameter 'priority' must be")


class Switch(enum.Enum):
    ON = True
    OFF = False


def test_json_true_sent_to_an_int_enum_is_a_400_listing_its_values_as_for_an_int(make_app, log_dir):
    """Before, JSON ``true`` gave ``Priority.LOW`` (whose value, 1, equals True), where an ``int`` refuses it."""
    def tasks(priority: Priority, switch: Switch = Switch.OFF):
        return '%s %s' % (priority.name, switch.name)

    web = client_serving(make_app, '/tasks', tasks)
    message = "parameter 'priority' must be a valid Priority (its values: 1, 2), got True"
    assert web.post_json('/tasks', {'priority': True}, status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)
    assert web.post_json('/tasks', {'priority': 1, 'switch': True}).text == 'LOW ON'


def test_a_json_number_with_a_fraction_part_sent_to_an_int_enum_is_a_400_listing_its_values_as_for_an_int(
        make_app, log_dir):
    """Before, JSON ``1.0`` gave ``Priority.LOW`` (1.0 == 1), where an ``int`` parameter refuses ``3.0``."""
    def tasks(priority: Priority, size: Size = Size.SMALL):
        return '%s %s' % (priority.name, size.name)

    web = client_serving(make_app, '/tasks', tasks)
    message = "parameter 'priority' must be a valid Priority (its values: 1, 2), got 1.0"
    assert web.post_json('/tasks', {'priority': 1.0}, status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)
    assert web.post_json('/tasks', {'priority': 1, 'size': 2.0}).text == 'LOW LARGE'


def test_a_newtype_converts_as_its_type_and_object_takes_any_value(make_app):
    app = make_app()
    user_id = typing.NewType('UserId', int)

    @app.post('/user')
    def user(uid: user_id, tags: List[user_id], x: object):
        return '%s %r %r %r' % (type(uid).__name__, uid, tags, x)

    web = client(app)
    assert web.post('/user', {'uid': '5', 'tags': ['1', '2'], 'x': 'hello'}).text == "int 5 [1, 2] 'hello'"
    assert web.post_json('/user', {'uid': 5, 'tags': [3], 'x': {'a': 1}}).text == "int 5 [3] {'a': 1}"
    response = web.post('/user', {'uid': 'abc', 'tags': '1', 'x': ''}, status=400)
    assert "parameter 'uid' must be an integer" in response.text


def test_a_json_string_converts_as_query_text_would_and_other_json_types_must_match(make_app):
    """The README: from JSON, a string is read as the text a query would send ("3" for an int, "true"
    for a bool, a lone string for a list), while a value of another JSON type must be the parameter's."""
    def x(n: int, flag: bool, tags: List[str], ratio: float = 0.0):
        return {'n': n, 'flag': flag, 'tags': tags, 'ratio': ratio}

    web = client_serving(make_app, '/x', x)
    assert web.post_json('/x', {'n': '3', 'flag': 'true', 'tags': 'a', 'ratio': '2.5'}).json == {
        'n': 3, 'flag': True, 'tags': ['a'], 'ratio': 2.5}
    for body, problem in [({'n': 3.0, 'flag': True, 'tags': []}, "parameter 'n' must be an integer, got 3.0"),
                          ({'n': True, 'flag': True, 'tags': []}, "parameter 'n' must be an integer, got True"),
                          ({'n': 3, 'flag': 1, 'tags': []}, "parameter 'flag' must be true or false, got 1"),
                          ({'n': 3, 'flag': True, 'tags': [1]}, "parameter 'tags' (at tags[0]) must be a string, got 1")]:
        assert web.post_json('/x', body, status=400).text == 'Bad request: %s\n' % problem


def test_a_bool_sent_as_a_bare_name_is_a_400_that_says_how_to_send_it(make_app, log_dir):
    web = client(archived_app(make_app))
    message = ("parameter 'archived' must be true or false, got an empty value (a bare ?archived, or ?archived=, "
               "sends one): send ?archived=true or ?archived=false")
    assert message in web.get('/items?archived', status=400).text
    assert message in web.get('/items?archived=', status=400).text
    assert message in read_log(log_dir)
    assert web.get('/items?archived=true').text == 'True'


@pytest.mark.parametrize('content_type', ['application/x-www-form-urlencoded', 'multipart/form-data'])
def test_a_bool_sent_empty_in_a_form_is_a_400_that_names_the_form_field_not_the_query(make_app, log_dir,
                                                                                   content_type):
    """Before, an empty form field was answered as a query would be: `send ?archived=true`."""
    web = client(archived_app(make_app, 'POST'))
    message = ("parameter 'archived' must be true or false, got an empty value (the form field archived was sent "
               "empty): send archived=true or archived=false")
    assert web.post('/items?archived=true', {'archived': ''}, content_type=content_type,
                    status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)
    assert web.post('/items?archived=', {'other': 'x'}, content_type=content_type,
                    status=400).text.endswith('send ?archived=true or ?archived=false\n')


@pytest.mark.parametrize('send, said', [
    (lambda web: web.get('/flags?flags[]=true&flags[]=', status=400),
     '(a bare ?flags[], or ?flags[]=, sends one): send ?flags[]=true or ?flags[]=false'),
    (lambda web: web.post('/flags', 'flags[]=true&flags[]=', content_type='application/x-www-form-urlencoded',
                          status=400),
     '(the form field flags[] was sent empty): send flags[]=true or flags[]=false'),
])
def test_a_bool_list_sent_empty_under_its_name_with_brackets_is_told_to_send_that_name(make_app, send, said):
    """Before, the 400 said to send ?flags=true (or the form field flags), a name the client had not sent."""
    app = make_app()

    @app.route('/flags', method=['GET', 'POST'])
    def flags(flags: List[bool] = ()):
        return repr(flags)

    assert send(client(app)).text == ("Bad request: parameter 'flags' (at flags[1]) must be true or false, got an empty "
                                      "value %s\n" % said)


def test_a_bool_sent_empty_in_the_url_path_is_a_400_that_says_send_true_or_false(make_app):
    def items(archived: bool):
        return repr(archived)

    web = client_serving(make_app, '/items/<archived:re:[a-z]*>', items, 'GET')
    assert web.get('/items/', status=400).text == ("Bad request: parameter 'archived' must be true or false, got an "
                                                   "empty value: send true or false\n")
    assert web.get('/items/yes').text == 'True'


@pytest.mark.parametrize('text', ['%20true', 'yes%0A', '%091', 'off%20'])
def test_a_bool_with_blanks_around_it_is_a_400_as_a_number_is(make_app, text):
    """The rule of numbers (blanks around the value are no part of it): ``?flag=%20true`` means something else."""
    def items(archived: bool = False, key: typing.Union[bool, str] = ''):
        return repr((archived, key))

    web = client_serving(make_app, '/items', items, 'GET')
    assert "parameter 'archived' must be true or false, got " in web.get('/items?archived=' + text, status=400).text
    assert web.get('/items?key=' + text).text == repr((False, urllib.parse.unquote(text)))


@pytest.mark.parametrize('kind', [List[bottle.FileUpload], List[str], bottle.FileUpload, str])
def test_file_parts_and_text_parts_under_one_name_are_a_400_naming_the_parameter(make_app, log_dir, kind):
    def upload(docs: kind):
        return 'ok'

    web = client_serving(make_app, '/upload', upload)
    response = web.post('/upload', {'docs': 'a note'}, upload_files=[('docs', 'a.txt', b'1')], status=400)
    wanted = 'texts' if kind in (str, List[str]) else 'files'
    message = "parameter 'docs' was sent 1 file upload and 1 text under one name: send %s only" % wanted
    assert message in response.text
    assert message in read_log(log_dir)


def form_with_file_inputs(*parts: Tuple[str, Optional[bytes]]) -> bytes:
    """A multipart body as a browser sends a form: ``(name, content)`` for a file input with a file chosen
    (named ``<name>.txt``), ``(name, None)`` for one left empty (``filename=""``, no content), and a text
    field ``title=report`` first."""
    body = b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n'
    for name, content in parts:
        filename = '' if content is None else name + '.txt'
        body += ('--XyZ\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                 'Content-Type: application/octet-stream\r\n\r\n' % (name, filename)).encode() + (content or b'') + b'\r\n'
    return body + b'--XyZ--\r\n'


def posted_form(app, *parts: Tuple[str, Optional[bytes]], status: int = 200):
    return client(app).request('/upload', method='POST', body=form_with_file_inputs(*parts), status=status,
                               content_type='multipart/form-data; boundary=XyZ')


def test_a_file_input_left_empty_among_chosen_files_is_no_file_on_either_bottle(make_app):
    """A browser sends a file input with no file chosen as a part with ``filename=""``: Bottle 0.13 reads it
    as an empty text, 0.12 as a FileUpload without a name; neither is a file, nor a mix."""
    app = make_app()

    @app.post('/upload')
    def upload(title: str, docs: List[bottle.FileUpload]):
        return repr((title, [doc.raw_filename for doc in docs]))

    assert posted_form(app, ('docs', b'1'), ('docs', None)).text == repr(('report', ['docs.txt']))


def test_an_optional_file_input_left_empty_gives_the_handlers_default_on_either_bottle(make_app):
    app = make_app()

    @app.post('/upload')
    def upload(title: str, avatar: Optional[bottle.FileUpload] = None, docs: List[bottle.FileUpload] = ()):
        return repr((title, avatar and avatar.raw_filename, docs))

    assert posted_form(app, ('avatar', None), ('docs', None)).text == repr(('report', None, ()))
    assert posted_form(app, ('avatar', b'1')).text == repr(('report', 'avatar.txt', ()))


def test_a_required_file_input_left_empty_is_a_missing_parameter_on_either_bottle(make_app, log_dir):
    app = make_app()

    @app.post('/upload')
    def upload(avatar: bottle.FileUpload):
        return 'saved'

    assert "missing parameter 'avatar'" in posted_form(app, ('avatar', None), status=400).text
    assert "missing parameter 'avatar'" in read_log(log_dir)


def test_a_dataclass_with_one_required_field_is_built_from_the_json_objects_members_not_given_all_of_it(make_app):
    import dataclasses

    @dataclasses.dataclass
    class Wrapper:
        value: typing.Any
        note: str = ''

    @dataclasses.dataclass
    class Pair:
        left: int
        right: int

    def one(item: Wrapper):
        return repr(item.value)

    def two(item: Pair):
        return repr(item)

    web = client_serving_posts(make_app, one, two)
    assert web.post_json('/one', {'item': {'value': [1]}}).text == '[1]'
    response = web.post_json('/one', {'item': {'left': 1}}, status=400)
    assert "parameter 'item' must be a JSON object with the fields of Wrapper (value, note): Wrapper has no field " \
           "'left', got {'left': 1}" in response.text
    assert web.post_json('/two', {'item': {'left': 1, 'right': 2}}).text.endswith('Pair(left=1, right=2)')


def test_a_decomposed_unicode_query_key_fills_no_parameter_of_the_composed_name(make_app):
    """Python normalises a parameter name (NFKC): ``café`` is composed; ``cafe`` + U+0301 is another key, for ``**kwargs``."""
    app = make_app()

    @app.get('/menu')
    def menu(café='none', **rest):
        return repr((café, sorted(rest)))

    assert client(app).get('/menu?cafe%CC%81=latte').text == repr(('none', ['cafe\u0301']))
    assert client(app).get('/menu?caf%C3%A9=latte').text == repr(('latte', []))


def test_an_empty_value_for_a_path_is_a_400_as_for_an_int_not_the_current_directory(make_app, log_dir):
    app = make_app()

    @app.route('/read', ['GET', 'POST'])
    def read(path: pathlib.Path):
        return repr(path)

    @app.get('/maybe')
    def maybe(path: Optional[pathlib.PurePosixPath] = None):
        return repr(path)

    web = client(app)
    assert web.get('/read?path=notes.txt').text == repr(pathlib.Path('notes.txt'))
    assert web.get('/read?path=', status=400).text == "Bad request: parameter 'path' must be a path, got ''\n"
    assert web.post_json('/read', {'path': ''}, status=400).text == "Bad request: parameter 'path' must be a path, got ''\n"
    assert "parameter 'path' must be a path, got ''" in read_log(log_dir)
    assert web.get('/maybe?path=').text == 'None'


def test_a_bool_sent_empty_in_the_query_of_a_get_with_a_form_body_is_told_to_send_the_query(make_app):
    """A GET's body fills no parameter, so the 400 of ``?archived=`` names the query, even when that body is a form
    holding ``archived=``; before, it said the form field was sent empty."""
    web = client(archived_app(make_app))
    answer = web.request('/items?archived=', method='GET', body=b'archived=',
                         content_type='application/x-www-form-urlencoded', status=400)
    assert answer.text == ("Bad request: parameter 'archived' must be true or false, got an empty value (a bare "
                           "?archived, or ?archived=, sends one): send ?archived=true or ?archived=false\n")
