"""Two refusals of Bottle's own that had no log line: a body past Bottle's ``MEMFILE_MAX`` read by the handler
itself (``bottle.request.json``, ``bottle.request.forms``) is canister's 413 with a message and a WARNING line, as
a form bound to handler parameters was already; and a path that a route filter's pattern matches and its
conversion refuses (``1.2.3`` for ``<f:float>``) keeps Bottle's 400 and gets a WARNING line naming the path and
canister's checked conversion (README, *Limits and error answers* and *Parameter unpacking*)."""
from __future__ import annotations

import http.client
import json
from typing import Any

import bottle
import pytest

from helpers import ROOT, client, warning_lines

README = (ROOT / 'README.md').read_text(encoding='utf-8')

#: A valid JSON body of 198,899 bytes, past Bottle's MEMFILE_MAX of 100 KiB.
BIG_JSON = json.dumps({'ids': list(range(30000))}).encode()
#: A urlencoded form past MEMFILE_MAX.
BIG_FORM = b'name=' + b'x' * (bottle.BaseRequest.MEMFILE_MAX + 10)

JSON_SAYS = ('the JSON body is too large for bottle.request.json: Bottle reads at most 102400 bytes of it '
             '(bottle.BaseRequest.MEMFILE_MAX): raise that setting if your JSON bodies are bigger, or take the '
             "body's members as handler parameters, which canister reads up to max_body_size")
FORM_SAYS = ('the form body is too large for bottle.request.forms: Bottle reads at most 102400 bytes of a '
             'urlencoded form (bottle.BaseRequest.MEMFILE_MAX): raise that setting if your forms are bigger')
#: What the 413 says of a form past MEMFILE_MAX that canister reads for the handler's parameters.
BOUND_FORM_SAYS = ("the form body is too large for the handler's parameters: Bottle reads at most 102400 bytes of "
                   'a urlencoded form (bottle.BaseRequest.MEMFILE_MAX): raise that setting if your forms are bigger')


def self_reading_app(make_app: Any) -> bottle.Bottle:
    app = make_app()

    @app.post('/json')
    def read_json() -> Any:
        return {'count': len(bottle.request.json['ids'])}

    @app.post('/form')
    def read_form() -> Any:
        return {'length': len(bottle.request.forms.getunicode('name'))}

    @app.post('/bound')
    def bound(ids: list) -> Any:
        return {'count': len(ids)}

    @app.post('/named')
    def named(name: str) -> Any:
        return {'length': len(name)}

    return app


def test_the_readme_tells_of_the_413_and_of_the_filter_warning() -> None:
    assert 'A handler that reads the body itself (`bottle.request.json`, `bottle.request.forms`) gets that **413** ' \
           'and a WARNING line too' in README
    assert '`%s`' % JSON_SAYS in README
    assert ("A path that a filter's pattern matches and its conversion refuses (`1.2.3` for `<f:float>`) gets "
            "Bottle's own 400, `Path has wrong format.`, and a WARNING line") in README


@pytest.mark.parametrize('path, body, content_type, says', [
    ('/json', BIG_JSON, 'application/json', JSON_SAYS),
    ('/form', BIG_FORM, 'application/x-www-form-urlencoded', FORM_SAYS)])
def test_a_body_past_memfile_max_read_by_the_handler_is_a_413_with_a_warning(make_app, log_dir, path, body,
                                                                             content_type, says):
    app = self_reading_app(make_app)
    answer = client(app).post(path, body, content_type=content_type, status=413)
    assert answer.status == '413 Content Too Large'
    assert answer.text.strip() == says and '<html' not in answer.text.lower()
    as_json = client(app).post(path, body, content_type=content_type, headers={'Accept': 'application/json'},
                               status=413)
    assert as_json.json['error'] == 'Content Too Large' and says in json.dumps(as_json.json)
    warnings = warning_lines(log_dir)
    assert len(warnings) == 2 and all(line.endswith(says) for line in warnings), warnings


def test_a_form_past_memfile_max_bound_to_parameters_is_a_413_that_says_which_setting_to_raise(make_app, log_dir):
    assert ('a larger form bound to handler parameters gets a **413** and a WARNING line that name that setting, '
            '`%s`' % BOUND_FORM_SAYS) in README
    app = self_reading_app(make_app)
    answer = client(app).post('/named', BIG_FORM, content_type='application/x-www-form-urlencoded', status=413)
    assert answer.status == '413 Content Too Large'
    assert answer.text.strip() == BOUND_FORM_SAYS and '<html' not in answer.text.lower()
    warnings = warning_lines(log_dir)
    assert len(warnings) == 1 and warnings[0].endswith(BOUND_FORM_SAYS), warnings
    bottle.BaseRequest.MEMFILE_MAX, before = len(BIG_FORM), bottle.BaseRequest.MEMFILE_MAX
    try:  # the setting the message names is the one that lets the form in
        assert client(app).post('/named', BIG_FORM, content_type='application/x-www-form-urlencoded').json == {
            'length': len(BIG_FORM) - len('name=')}
    finally:
        bottle.BaseRequest.MEMFILE_MAX = before


def test_the_same_json_body_bound_to_parameters_and_under_memfile_max_are_still_read(make_app, log_dir):
    app = self_reading_app(make_app)
    assert client(app).post('/bound', BIG_JSON, content_type='application/json').json == {'count': 30000}
    small = json.dumps({'ids': list(range(100))}).encode()
    assert client(app).post('/json', small, content_type='application/json').json == {'count': 100}
    assert warning_lines(log_dir) == []


def test_the_apps_own_413_is_its_own(make_app, log_dir):
    app = make_app()
    app.route('/full', 'POST', callback=lambda: bottle.abort(413, 'the queue is full'))
    answer = client(app).post('/full', BIG_JSON, content_type='application/json', status=413)
    assert 'the queue is full' in answer.text and 'MEMFILE_MAX' not in answer.text
    assert warning_lines(log_dir) == []


def test_a_chunked_json_body_past_memfile_max_through_waitress_is_the_413_with_its_warning(make_app, log_dir,
                                                                                            serve):
    app = self_reading_app(make_app)
    port = int(serve(app).rsplit(':', 1)[1])
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        chunks = (BIG_JSON[i:i + 8192] for i in range(0, len(BIG_JSON), 8192))
        connection.request('POST', '/json', body=chunks, headers={'Content-Type': 'application/json'},
                           encode_chunked=True)
        answer = connection.getresponse()
        text = answer.read().decode()
    finally:
        connection.close()
    assert answer.status == 413 and text.strip() == JSON_SAYS
    warnings = warning_lines(log_dir)
    assert len(warnings) == 1 and warnings[0].endswith(JSON_SAYS), warnings


@pytest.mark.parametrize('catch', [False, True])
def test_a_path_a_route_filter_cannot_convert_keeps_bottles_400_and_gets_a_warning(make_app, log_dir, catch):
    app = make_app()
    app.route('/price/<f:float>', callback=lambda f: {'f': f})
    if catch:  # (the app's own error page for 400 answers; the WARNING is written all the same)
        app.error(400)(lambda error: 'no such price')
    answer = client(app).get('/price/1.2.3', status=400)
    assert ('no such price' if catch else 'Path has wrong format.') in answer.text
    warnings = warning_lines(log_dir)
    assert len(warnings) == 1 and warnings[0].endswith(
        "Bad request: the path /price/1.2.3 fits a route's filter but does not convert as it asks (Bottle's router "
        "answered its own 400, 'Path has wrong format.'): for a 400 that names the part and what is wrong with it, "
        "write the wildcard without the filter and annotate the handler's parameter, which canister converts "
        "(<f> and f: float for <f:float>)"), warnings
    assert client(app).get('/price/1.5').json == {'f': 1.5}
    assert len(warning_lines(log_dir)) == 1
