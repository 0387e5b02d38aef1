"""A JSON body sent without ``Content-Type: application/json`` (``requests.post(url, data=json.dumps(...))`` sends no
type, ``fetch`` with a string body ``text/plain``, ``curl -d`` a urlencoded form) fills no parameter: to a handler
whose parameters have defaults, the answer is unchanged, but the log says so at WARNING, once a minute per route."""
from __future__ import annotations

from typing import Any, Dict, Optional

import bottle

import canister
from helpers import read_log, readme_section
from servers import Client

BODY = b'{"title": "milk", "done": true}'
ADVICE = 'send a JSON object with Content-Type: application/json, or a form'
DEFAULTS = "Route POST /notes: the body filled no parameter, and the handler ran with the defaults of 'title', 'done'"
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def notes_app(make_app: Any) -> bottle.Bottle:
    """POST and GET /notes, whose parameters all have defaults, and POST /things, which takes ``**kwargs`` only."""
    app = make_app()

    @app.route('/notes', ['GET', 'POST'])
    def notes(title: str = 'untitled', done: Optional[bool] = None) -> Dict[str, Any]:
        return {'title': title, 'done': done}

    @app.post('/things')
    def things(**fields: Any) -> Dict[str, Any]:
        return fields

    return app


def post(base: str, body: bytes, headers: Optional[Dict[str, str]] = None, path: str = '/notes') -> Any:
    return Client(base).request('POST', path, body=body, headers=headers)


def test_a_json_body_sent_with_no_type_runs_the_handler_on_its_defaults_and_logs_a_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY)  # (http.client sends no Content-Type for bytes, as requests)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert ('WARNING  ' in read_log(log_dir)
            and '%s (the body, of no type, fills no parameter: %s); said at most once a minute for this route'
            % (DEFAULTS, ADVICE) in read_log(log_dir))


def test_a_json_body_sent_as_text_plain_logs_the_warning_naming_its_type(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, {'Content-Type': 'text/plain;charset=UTF-8'})
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert '%s (the body, of text/plain, fills no parameter: %s)' % (DEFAULTS, ADVICE) in read_log(log_dir)


def test_a_json_body_sent_as_a_urlencoded_form_as_curl_d_sends_it_logs_the_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, FORM)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert ('%s (the form body looks like JSON: send it with Content-Type: application/json)' % DEFAULTS
            in read_log(log_dir))


def test_only_the_parameters_the_query_did_not_send_are_named(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, path='/notes?title=tea')
    assert (answer.status, answer.json()) == (200, {'title': 'tea', 'done': None})
    assert ("Route POST /notes: the body filled no parameter, and the handler ran with the defaults of 'done' (the "
            "body, of no type" in read_log(log_dir))


def test_no_warning_when_the_query_sent_every_parameter(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, path='/notes?title=tea&done=1')
    assert (answer.status, answer.json()) == (200, {'title': 'tea', 'done': True})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_kwargs_handler_given_a_text_plain_json_body_logs_the_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, {'Content-Type': 'text/plain'}, path='/things')
    assert (answer.status, answer.json()) == (200, {})
    assert ("Route POST /things: the body filled no parameter, and the handler's **kwargs got none of it (the body, "
            "of text/plain, fills no parameter" in read_log(log_dir))


def test_the_warning_is_said_once_a_minute_for_a_route(make_app, serve, log_dir, monkeypatch):
    base = serve(notes_app(make_app))
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    for _ in range(3):
        assert post(base, BODY).status == 200
    clock[0] += 59
    assert post(base, BODY, {'Content-Type': 'text/plain'}).status == 200
    assert read_log(log_dir).count('the body filled no parameter') == 1
    clock[0] += 2
    assert post(base, BODY, {'Content-Type': 'text/plain'}).status == 200
    assert read_log(log_dir).count('the body filled no parameter') == 2
    assert post(base, BODY, path='/things').status == 200  # (another route: its own minute)
    assert read_log(log_dir).count('the body filled no parameter') == 3


def test_the_route_looks_at_one_body_a_minute_whatever_it_holds(make_app, serve, log_dir, monkeypatch):
    base = serve(notes_app(make_app))
    clock = [1000.0]
    monkeypatch.setattr(canister, '_monotonic', lambda: clock[0])
    assert post(base, b'2026-12-07 disk full', {'Content-Type': 'text/plain'}).status == 200  # (looked at: no JSON)
    clock[0] += 59
    assert post(base, BODY, {'Content-Type': 'text/plain'}).status == 200  # (not looked at: the minute is spent)
    assert 'the body filled no parameter' not in read_log(log_dir)
    clock[0] += 2
    assert post(base, BODY, {'Content-Type': 'text/plain'}).status == 200
    assert read_log(log_dir).count('the body filled no parameter') == 1


def test_an_ordinary_form_whose_fields_name_no_parameter_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), b'name=milk&qty=2', FORM)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_form_of_one_field_with_a_value_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), b'name=milk', FORM)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_multipart_form_whose_fields_name_no_parameter_logs_no_warning(make_app, serve, log_dir):
    body = b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nmilk\r\n--b--\r\n'
    answer = post(serve(notes_app(make_app)), body, {'Content-Type': 'multipart/form-data; boundary=b'})
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_another_type_is_the_handler_s_to_read_and_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), b'\x89PNG\r\n', {'Content-Type': 'application/octet-stream'})
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_get_s_body_fills_nothing_by_design_and_logs_no_warning(make_app, serve, log_dir):
    answer = Client(serve(notes_app(make_app))).request('GET', '/notes', body=BODY)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_json_body_sent_as_json_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), BODY, {'Content-Type': 'application/json'})
    assert (answer.status, answer.json()) == (200, {'title': 'milk', 'done': True})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_the_readme_says_a_body_that_filled_no_defaulted_parameter_is_logged():
    section = readme_section('## Parameter unpacking')
    assert ('the handler runs on them and the answer is unchanged, but a body of no type, of `text/plain`, or a '
            'urlencoded form that starts as a JSON object does (with `{`, after any whitespace) is logged once a minute '
            'at most for the route, at WARNING' in section)
    assert ('(other text, such as the log line a webhook\'s handler reads itself from `bottle.request.body`, a JSON '
            'array, a form whose fields name no parameter, a multipart form, another type, and the body of a GET or '
            'HEAD are not; to tell, canister reads the first 64 bytes of Bottle\'s `bottle.request.body` and puts it '
            'back at its start, so the handler reads it whole; it looks at one body a minute at most for the route, '
            'whatever that body holds, so in the rest of that minute a handler that never reads the body runs without '
            "waiting for it to come, a log shipper's lines included, and a JSON object sent then is not told of)"
            in section)
    assert canister._JSON_PEEK == 64
    assert ("`Route POST /notes: the body filled no parameter, and the handler ran with the defaults of 'title' (the body, "
            "of text/plain, fills no parameter: %s); said at most once a minute for this route`" % ADVICE in section)


def test_the_readme_s_example_line_is_the_one_logged(make_app, serve, log_dir):
    app = make_app()

    @app.post('/notes')
    def notes(title: str = 'untitled') -> str:
        return title

    assert post(serve(app), b'{"title": "milk"}', {'Content-Type': 'text/plain'}).text == 'untitled'
    line = [line for line in read_log(log_dir).splitlines() if 'the body filled no parameter' in line]
    assert len(line) == 1 and line[0].endswith(readme_section('## Parameter unpacking').split(
        'in the same words: `', 1)[1].split('`', 1)[0])


def ingest_app(make_app: Any) -> bottle.Bottle:
    """POST /ingest, a log shipper's receiver that reads the body itself and has a defaulted parameter, and POST
    /stream, which reads ``wsgi.input`` itself."""
    app = make_app()

    @app.post('/ingest')
    def ingest(level: str = 'info') -> str:
        return '%s %s' % (level, bottle.request.body.read().decode())

    @app.post('/stream')
    def stream(level: str = 'info') -> str:
        environ = bottle.request.environ
        data = environ['wsgi.input'].read(int(environ['CONTENT_LENGTH']))
        return '%s %d %s' % (level, len(data), data[:20].decode())

    return app


def test_a_text_plain_log_line_read_by_the_handler_itself_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(ingest_app(make_app)), b'2026-12-07 disk full on host7\n', {'Content-Type': 'text/plain'},
                  path='/ingest')
    assert (answer.status, answer.text) == (200, 'info 2026-12-07 disk full on host7\n')
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_text_sent_with_no_type_that_is_no_json_object_logs_no_warning(make_app, serve, log_dir):
    base = serve(ingest_app(make_app))
    for text in (b'disk full', b'[ERROR] disk full', b'[{"title": "milk"}]', b'  \n'):
        answer = post(base, text, path='/ingest')
        assert (answer.status, answer.text) == (200, 'info %s' % text.decode())
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_form_of_one_bracketed_log_line_as_curl_d_sends_it_logs_no_warning(make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), b'[ERROR] disk full', FORM)
    assert (answer.status, answer.json()) == (200, {'title': 'untitled', 'done': None})
    assert 'the body filled no parameter' not in read_log(log_dir)


def test_a_text_plain_json_object_after_whitespace_logs_the_warning_and_the_handler_reads_all_of_it(
        make_app, serve, log_dir):
    body = b'\r\n\t  {"level": "error", "message": "disk full"}'
    answer = post(serve(ingest_app(make_app)), body, {'Content-Type': 'text/plain'}, path='/ingest')
    assert (answer.status, answer.text) == (200, 'info %s' % body.decode())
    assert ("Route POST /ingest: the body filled no parameter, and the handler ran with the defaults of 'level' (the "
            "body, of text/plain, fills no parameter: %s)" % ADVICE in read_log(log_dir))


def test_a_handler_reading_wsgi_input_itself_gets_the_whole_body_that_was_looked_at(make_app, serve, log_dir):
    base = serve(ingest_app(make_app))
    large = b'{"message": "' + b'x' * 300000 + b'"}'  # (over Bottle's MEMFILE_MAX: a temporary file)
    for body in (BODY, large):
        answer = post(base, body, path='/stream')
        assert (answer.status, answer.text) == (200, 'info %d %s' % (len(body), body[:20].decode()))
    assert read_log(log_dir).count('the body filled no parameter') == 1  # (once a minute)


def test_a_kwargs_handler_given_json_as_a_urlencoded_form_is_told_it_got_the_text_as_one_field(
        make_app, serve, log_dir):
    answer = post(serve(notes_app(make_app)), b'{"name": "x"}', FORM, path='/things')
    assert (answer.status, answer.json()) == (200, {'{"name": "x"}': ''})
    assert ("Route POST /things: the body filled no parameter, and the handler's **kwargs got its text as one form "
            "field (the form body looks like JSON: send it with Content-Type: application/json)" in read_log(log_dir))
    assert 'got none of it' not in read_log(log_dir)


def test_the_400_of_a_missing_parameter_says_looks_like_json_of_a_form_that_starts_as_a_json_object_only(
        make_app, serve):
    app = make_app()

    @app.post('/todos')
    def todos(title: str) -> str:
        return title

    base = serve(app)
    assert post(base, b' {"name": "milk"}', FORM, path='/todos').text == (
        "Bad request: missing parameter 'title' (the form body looks like JSON: send it with Content-Type: "
        "application/json)\n")
    for text in (b'[{"title": "milk"}]', b'[ERROR] disk full'):
        assert post(base, text, FORM, path='/todos').text == "Bad request: missing parameter 'title'\n"
    assert 'a JSON object sent as a urlencoded form (what `curl -d` sends' in readme_section('## Parameter unpacking')
