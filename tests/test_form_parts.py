"""``max_form_parts``: a multipart body of more parts than the limit is refused with 413 before Bottle parses it
(bottle 0.12's ``cgi.FieldStorage`` and 0.13's parser spend microseconds on each part, so a body at
``max_body_size`` of tiny parts cost a second of CPU).  Real requests: WebTest, wsgiref and gunicorn."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

import bottle
import pytest

import canister
from helpers import client, warning_lines
from servers import WsgirefServer, chunked, raw_request, status_of

REFUSAL = 'Request body too large: a multipart form of more than 1000 parts (max_form_parts)'


def form(count: int, boundary: bytes = b'x', first_value: bytes = b'1') -> bytes:
    """A multipart body of ``count`` fields named f0, f1, ...; the first one's value is ``first_value``."""
    parts = [b'--%s\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n%s\r\n'
             % (boundary, number, first_value if number == 0 else b'1') for number in range(count)]
    return b''.join(parts) + b'--%s--\r\n' % boundary


def counting_app(make_app: Any, **overrides: Any) -> Any:
    """An app whose POST /count answers how many parts (fields and files) the form had; ``app.calls`` lists each call."""
    app = make_app(**overrides)
    app.calls = []

    @app.post('/count')
    def count() -> str:
        app.calls.append(1)
        return str(len(bottle.request.POST))

    return app


def post_form(app: Any, body: bytes, content_type: str = 'multipart/form-data; boundary=x',
              headers: Optional[Dict[str, str]] = None) -> Any:
    return client(app).request('/count', method='POST', body=body, content_type=content_type,
                               headers=headers or {}, expect_errors=True)


def test_a_multipart_form_of_2000_parts_gets_413_and_a_warning_before_the_handler_runs(make_app, log_dir):
    app = counting_app(make_app)
    answer = post_form(app, form(2000))
    assert answer.status_int == 413
    assert answer.text.strip() == REFUSAL
    assert app.calls == []
    assert any(REFUSAL in line for line in warning_lines(log_dir))


@pytest.mark.parametrize('count', [999, 1000])
def test_a_multipart_form_of_up_to_1000_parts_reaches_the_handler_whole(make_app, count):
    answer = post_form(counting_app(make_app), form(count))
    assert answer.status_int == 200
    assert answer.text == str(count)


def test_the_refusal_of_too_many_parts_is_json_to_a_client_that_accepts_json(make_app):
    answer = post_form(counting_app(make_app), form(1001), headers={'Accept': 'application/json'})
    assert answer.status_int == 413
    assert answer.json == {'error': 'Content Too Large', 'message': REFUSAL}


@pytest.mark.parametrize('size', [1000, 300000], ids=['in-memory', 'past-memfile-max'])
def test_a_handler_reading_wsgi_input_itself_reads_the_whole_form_canister_counted(make_app, size):
    """The parts are counted as canister reads the body before Bottle does (spooled to a file past
    MEMFILE_MAX); a handler that reads ``wsgi.input`` itself reads that copy, every byte of it."""
    app = make_app()

    @app.post('/raw')
    def raw() -> str:
        body = bottle.request.environ['wsgi.input'].read(int(bottle.request.environ['CONTENT_LENGTH']))
        return '%d %s' % (len(body), body == sent)

    sent = form(3, first_value=b'v' * size)
    answer = client(app).request('/raw', method='POST', body=sent, content_type='multipart/form-data; boundary=x')
    assert answer.text == '%d True' % len(sent)


def test_max_form_parts_sets_the_limit_and_zero_lifts_it(make_app):
    assert post_form(counting_app(make_app, max_form_parts=10), form(11)).status_int == 413
    answer = post_form(counting_app(make_app, max_form_parts=0), form(5000))
    assert answer.status_int == 200
    assert answer.text == '5000'


@pytest.mark.parametrize('value', [-1, 'many', 1.5])
def test_max_form_parts_that_is_no_count_is_refused_at_install(value):
    with pytest.raises(canister.ConfigError, match='max_form_parts'):
        bottle.Bottle().install(canister.Canister(log_path='stderr', max_form_parts=value))


@pytest.mark.parametrize('split_at', [1, 2, 3])
def test_a_delimiter_split_between_two_reads_of_the_body_is_counted(make_app, split_at):
    """Canister reads the body 64 KiB at a time: the second delimiter here starts ``split_at`` bytes
    before the end of the first read."""
    head = b'--x\r\nContent-Disposition: form-data; name="f0"\r\n\r\n'
    padding = b'p' * (65536 - split_at - len(head) - 2)  # (the CRLF before the delimiter is the part's)
    body = form(11, first_value=padding)
    assert body[65536 - split_at:65536 - split_at + 3] == b'--x'
    assert post_form(counting_app(make_app, max_form_parts=10), body).status_int == 413
    assert post_form(counting_app(make_app, max_form_parts=11), body).text == '11'


@pytest.mark.parametrize('content_type', [
    'multipart/form-data; boundary="x"',
    'multipart/form-data; BOUNDARY=x',
    'multipart/form-data; boundary=x; note="boundary=decoy"',
    'multipart/form-data; note="boundary=decoy"; boundary=x',
])
def test_a_boundary_however_written_is_counted(make_app, content_type):
    app = counting_app(make_app)
    assert post_form(app, form(1001), content_type).status_int == 413
    assert post_form(app, form(1000), content_type).status_int == 200


def test_a_file_full_of_lines_starting_with_two_dashes_is_one_part(make_app):
    lines = b'-- a line of a diff or a signature\r\n' * 5000
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="f"; filename="a.diff"\r\n\r\n%s\r\n'
            b'--b0undary--\r\n' % lines)
    answer = post_form(counting_app(make_app), body, 'multipart/form-data; boundary=b0undary')
    assert answer.status_int == 200
    assert answer.text == '1'


def post_head(boundary: bytes, length: Optional[int]) -> bytes:
    framing = b'Content-Length: %d' % length if length is not None else b'Transfer-Encoding: chunked'
    return (b'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nContent-Type: multipart/form-data; boundary=%s\r\n'
            b'Connection: close\r\n\r\n' % (framing, boundary))


def echoed_keys(answer: bytes) -> List[str]:
    return json.loads(answer.split(b'\r\n\r\n', 1)[1])['keys']


def keys_echo_server(make_app: Any) -> WsgirefServer:
    """A wsgiref server of an app whose ``POST /echo`` answers the sorted names of the fields it was sent."""
    app = make_app()

    @app.post('/echo')
    def echo(**params: Any) -> Dict[str, Any]:
        return {'keys': sorted(params)}

    return WsgirefServer(app)


def assert_2000_parts_get_413_and_1000_are_read(sent: Callable[[bytes], bytes]) -> None:
    """``sent(body)`` posts a form to /echo: one of 2,000 parts is refused with a 413, one of 1,000 is read whole."""
    refused = sent(form(2000))
    assert status_of(refused) == 413, refused[:300]
    assert REFUSAL.encode() in refused
    answer = sent(form(1000))
    assert status_of(answer) == 200, answer[:300]
    assert len(echoed_keys(answer)) == 1000


def test_wsgiref_answers_413_to_a_form_of_too_many_parts(make_app):
    server = keys_echo_server(make_app)
    try:
        assert_2000_parts_get_413_and_1000_are_read(
            lambda body: raw_request(server.port, post_head(b'x', len(body)), body))
    finally:
        server.close()


@pytest.mark.parametrize('framing', ['length', 'chunked'])
def test_gunicorn_answers_413_to_a_form_of_too_many_parts(serve_limits, framing):
    """Chunked: gunicorn de-chunks the body itself, and canister counts what it hands over."""
    server = serve_limits('gunicorn')

    def sent(body: bytes) -> bytes:
        if framing == 'chunked':
            return raw_request(server.port, post_head(b'x', None), chunked(body, broken=0))
        return raw_request(server.port, post_head(b'x', len(body)), body)

    assert_2000_parts_get_413_and_1000_are_read(sent)


def test_a_content_type_naming_more_than_4_boundaries_gets_400(make_app, log_dir):
    content_type = 'multipart/form-data; ' + '; '.join('n%d="boundary=b%d"' % (n, n) for n in range(4)) + '; boundary=x'
    answer = post_form(counting_app(make_app), form(3), content_type)
    assert answer.status_int == 400
    assert answer.text.strip() == 'Bad request: the Content-Type names more than 4 multipart boundaries'
    assert any('more than 4 multipart boundaries' in line for line in warning_lines(log_dir))


def test_a_raw_chunked_form_that_wsgiref_passes_on_is_not_counted(make_app):
    """Its chunk framing may split a delimiter, so canister leaves it to ``max_body_size`` (README)."""
    server = keys_echo_server(make_app)
    try:
        answer = raw_request(server.port, post_head(b'x', None), chunked(form(1500), broken=0))
        assert status_of(answer) == 200, answer[:300]
        assert len(echoed_keys(answer)) == 1500
    finally:
        server.close()
