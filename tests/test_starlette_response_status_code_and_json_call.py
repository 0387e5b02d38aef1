"""A newcomer from Starlette (or FastAPI) writes two of its habits in a Bottle handler: a response given its status
as ``HTTPResponse('created', status_code=201)``, which Bottle sends as a ``Status-Code`` header on a 200, and the
body read as ``request.json()``, which is a value in Bottle: each is logged with what to write instead."""
from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import sys
import threading

import bottle

from helpers import read_log, readme_section
from servers import Client

STATUS_NOTE = ("WARNING  [127.0.0.1-...]   Route POST /api/items: the answer has a header Status-Code: 201 and the "
               "status 200: bottle.HTTPResponse(body, status_code=201) makes that header, since Bottle sends a keyword "
               "it does not know as a header (status_code is Starlette's): write bottle.HTTPResponse(body, "
               "status=201), or set bottle.response.status = 201 (said once for this route)\n")

JSON_NOTE = ("Bottle's request.json is a value, the body's JSON (None without a JSON body), not a method (Starlette's "
             "await request.json()): write bottle.request.json, without the call; or give the handler parameters "
             "named as the JSON's keys, which canister fills\n")
BODY_NOTE = ("Bottle's request.body is a value, the body as a file, not a method (Starlette's await request.body()): "
             "write bottle.request.body.read() for its bytes (bottle.request.json for a JSON body, bottle.request.forms "
             "for a form)\n")
FORMS_NOTE = ("Bottle's request.forms is a value, the form's fields read already, not a method (Starlette's await "
              "request.form()): write bottle.request.forms, without the call, bottle.request.forms.getunicode('name') "
              "for a field; or give the handler parameters named as the fields, which canister fills\n")


def items_app(make_app, keyword: str) -> bottle.Bottle:
    app = make_app(catchall=True)

    @app.post('/api/items')
    def create():
        return bottle.HTTPResponse('created', **{keyword: 201})

    return app


def test_a_response_returned_with_starlettes_status_code_answers_200_and_is_logged_once_with_bottles_status(
        make_app, serve, log_dir):
    browser = Client(serve(items_app(make_app, 'status_code')))
    for _ in range(2):
        answer = browser.request('POST', '/api/items')
        assert (answer.status, answer.headers['Status-Code'], answer.text) == (200, '201', 'created')  # Bottle's
        assert answer.headers['X-Request-ID']  # canister's headers as on any answer
        assert answer.headers['X-Content-Type-Options'] == 'nosniff'
    assert read_log(log_dir).count(STATUS_NOTE) == 1


def test_a_response_returned_with_bottles_status_answers_201_and_logs_no_such_line(make_app, serve, log_dir):
    answer = Client(serve(items_app(make_app, 'status'))).request('POST', '/api/items')
    assert (answer.status, answer.text) == (201, 'created')
    assert 'Status-Code' not in answer.headers
    assert 'status_code' not in read_log(log_dir)


def test_each_route_that_returns_starlettes_status_code_is_logged_once(make_app, serve, log_dir):
    app = items_app(make_app, 'status_code')
    app.put('/api/items/<name>', callback=lambda name: bottle.HTTPResponse(name, status_code=201))
    browser = Client(serve(app))
    for path in ('/api/items/a', '/api/items/b'):
        assert browser.request('PUT', path).status == 200
    assert browser.request('POST', '/api/items').status == 200
    log = read_log(log_dir)
    assert log.count('the answer has a header Status-Code: 201') == 2
    assert log.count('Route PUT /api/items/<name>: the answer has a header Status-Code: 201 and the status 200') == 1
    assert STATUS_NOTE in log


def test_a_response_raised_with_starlettes_status_code_is_logged_by_its_raise_alone(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.post('/api/items')
    def create():
        raise bottle.HTTPResponse('created', status_code=201)

    answer = Client(serve(app)).request('POST', '/api/items')
    assert (answer.status, answer.headers['Status-Code']) == (200, '201')
    log = read_log(log_dir)
    assert ("Route POST /api/items: HTTPResponse was raised with status_code=201, Starlette's keyword, which Bottle "
            'sends as a header (Status-Code: 201) and answers 200') in log
    assert log.count('Status-Code: 201') == 1


def json_app(make_app) -> bottle.Bottle:
    app = make_app(catchall=True)

    @app.post('/api/notes')
    def add_note():
        note = bottle.request.json()  # Starlette's await request.json()
        return {'note': note}

    @app.post('/api/fixed')
    def fixed():
        return {'note': bottle.request.json}

    return app


def test_starlettes_request_json_called_answers_500_and_the_log_says_to_read_it_without_the_call(
        make_app, serve, log_dir):
    browser = Client(serve(json_app(make_app)))
    with_body = browser.request('POST', '/api/notes', json.dumps({'text': 'hi'}), {'Content-Type': 'application/json'})
    without_body = browser.request('POST', '/api/notes')
    assert (with_body.status, without_body.status) == (500, 500)
    log = read_log(log_dir)
    assert log.count('ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/notes: ' + JSON_NOTE) == 2
    assert "TypeError: 'dict' object is not callable" in log  # the traceback still follows
    assert "TypeError: 'NoneType' object is not callable" in log


def test_starlettes_request_json_called_on_a_json_array_body_gets_the_same_hint(make_app, serve, log_dir):
    # (Bottle's request.json is whatever the body holds: a list for an array, as a bulk endpoint takes)
    answer = Client(serve(json_app(make_app))).request('POST', '/api/notes', json.dumps([{'text': 'hi'}]),
                                                        {'Content-Type': 'application/json'})
    assert answer.status == 500
    log = read_log(log_dir)
    assert log.count('ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/notes: ' + JSON_NOTE) == 1
    assert "TypeError: 'list' object is not callable" in log


def test_bottles_request_json_read_as_the_hint_says_is_the_bodys_json(make_app, serve):
    answer = Client(serve(json_app(make_app))).request('POST', '/api/fixed', json.dumps({'text': 'hi'}),
                                                        {'Content-Type': 'application/json'})
    assert (answer.status, answer.json()) == (200, {'note': {'text': 'hi'}})


def test_starlettes_request_json_called_in_a_before_request_hook_is_logged_with_the_same_hint(
        make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.hook('before_request')
    def read_body():
        bottle.request.note = bottle.request.json()

    app.post('/api/notes', callback=lambda: {'note': bottle.request.note})
    assert Client(serve(app)).request('POST', '/api/notes', '{}', {'Content-Type': 'application/json'}).status == 500
    assert ('Unhandled exception (outside the route: a hook of the app, or a route canister does not wrap): '
            + JSON_NOTE) in read_log(log_dir)


def test_another_value_called_that_is_no_function_gets_no_hint(make_app, serve, log_dir):
    app = make_app(catchall=True)
    counts = {'notes': 3}

    @app.get('/api/count')
    def count():
        return {'n': counts['notes']()}

    assert Client(serve(app)).request('GET', '/api/count').status == 500
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/count\n' in read_log(log_dir)


class Unprintable(TypeError):
    """An exception of an app's whose text cannot be read: a habit's note cannot read it either."""

    def __str__(self) -> str:
        raise RuntimeError('no text')


def test_a_type_error_whose_text_cannot_be_read_is_logged_as_the_handlers_with_its_traceback(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.get('/api/count')
    def count():
        raise Unprintable()

    assert Client(serve(app)).request('GET', '/api/count').status == 500
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/count\n' in log
    assert 'Unprintable: <exception str() failed>' in log
    assert 'RuntimeError' not in log and 'outside the route' not in log


def test_the_readme_says_what_these_two_habits_answer_and_log():
    passage = readme_section('## Limits and error answers').split('*Handlers written as in Starlette or Flask.*', 1)[1]
    assert ("Returned rather than raised, `bottle.HTTPResponse('created', status_code=201)` (Starlette's "
            "`Response(..., status_code=201)`) answers 200 with that header, and a WARNING, once for each route in each "
            "process too, says to write `status=201`.") in passage
    assert ("Starlette's `request.json()` raises `TypeError: 'dict' object is not callable` (`'list'` for a JSON "
            "array, `'NoneType'` without a JSON body), Bottle's `request.json` being the body's JSON itself, and the "
            "ERROR line says to read `bottle.request.json` without the call (only for Bottle's request: an app's own "
            '`mydata.json()` of a dict gets no such line).') in passage


def test_a_route_whose_threads_raise_and_return_starlettes_status_code_at_once_is_logged_once(make_app, serve,
                                                                                               log_dir):
    """Eight requests of one route let go together, from a barrier, into the raise or return of their answer: one
    WARNING for the route, not one for each thread that looked before another noted it (300 routes, with Python's
    thread switches made as frequent as it allows, where the look and the note used to be two steps)."""
    app = make_app(catchall=True)
    threads, routes = 8, 300
    barriers = [threading.Barrier(threads) for _ in range(routes)]

    def handler(number):
        def answer():
            barriers[number].wait(timeout=30)
            if number % 2:
                raise bottle.HTTPResponse('created', status_code=201)
            return bottle.HTTPResponse('created', status_code=201)
        return answer

    for number in range(routes):
        app.post('/api/r%d' % number, callback=handler(number))
    origin = serve(app, threads=threads)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for number in range(routes):
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                answers = list(pool.map(lambda path: Client(origin, timeout=30).request('POST', path),
                                        ['/api/r%d' % number] * threads))
            assert [answer.status for answer in answers] == [200] * threads
    finally:
        sys.setswitchinterval(interval)
    log = read_log(log_dir)
    counts = [log.count('Route POST /api/r%d: ' % number) for number in range(routes)]
    assert counts == [1] * routes, counts


class Notes:
    """An app's own object whose ``json`` is a dict, as Bottle's ``request.json`` is."""

    json = {'text': 'hi'}


def test_an_apps_own_json_dict_called_gets_no_hint_while_bottles_request_json_called_still_does(
        make_app, serve, log_dir):
    app = make_app(catchall=True)
    mydata = Notes()
    request = bottle.request

    app.get('/api/mine', callback=lambda: mydata.json())
    app.post('/api/request', callback=lambda: request.json())
    browser = Client(serve(app))
    assert browser.request('GET', '/api/mine').status == 500
    assert browser.request('POST', '/api/request', '{}', {'Content-Type': 'application/json'}).status == 500
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/mine\n' in log
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/request: ' + JSON_NOTE in log
    assert log.count("TypeError: 'dict' object is not callable") == 2


#: An app's module as a newcomer writes it: Bottle's request imported by name at its top, called as Starlette's
#: (Python 3.13 loads ``request.json`` as an attribute, then pushes the call's NULL, where 3.9 to 3.12 load a method).
NOTES_MODULE = '''\
from bottle import request


def add_note():
    return {'note': request.json()}


def raw():
    return {'size': len(request.body())}


def named():
    return {'name': request.forms()['name']}
'''


def test_starlettes_calls_on_a_request_imported_by_name_at_the_top_of_an_apps_module_get_the_same_hints(
        make_app, serve, log_dir, tmp_path):
    (tmp_path / 'notes_app.py').write_text(NOTES_MODULE)
    spec = importlib.util.spec_from_file_location('notes_app', str(tmp_path / 'notes_app.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = make_app(catchall=True)
    app.post('/api/notes', callback=module.add_note)
    app.post('/api/raw', callback=module.raw)
    app.post('/api/named', callback=module.named)
    browser = Client(serve(app))
    assert browser.request('POST', '/api/notes', '{}', {'Content-Type': 'application/json'}).status == 500
    form = ('name=ann', {'Content-Type': 'application/x-www-form-urlencoded'})
    assert [browser.request('POST', path, *form).status for path in ('/api/raw', '/api/named')] == [500, 500]
    log = read_log(log_dir)
    for path, note in (('/api/notes', JSON_NOTE), ('/api/raw', BODY_NOTE), ('/api/named', FORMS_NOTE)):
        assert log.count('ERROR    [127.0.0.1-...]   Unhandled exception in POST %s: %s' % (path, note)) == 1, path
