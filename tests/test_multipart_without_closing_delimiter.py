"""A multipart body that ends before its closing delimiter (``--boundary--``) is a 400, on both Bottles: bottle 0.13's
parser refuses it, and 0.12's (``cgi.FieldStorage``) handed the handler the last part cut where the body ended, so a
truncated upload was saved as if whole.  So is one whose closing delimiter is not a line of its own, and an empty
form (the closing line first) with more after it, which 0.13 refuses and 0.12 read past; the closing line alone, what
a browser sends for a form of no fields, is an empty form on both.  Real requests: WebTest and wsgiref."""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import bottle
import pytest
from bottle import FileUpload

from helpers import client, warning_lines
from servers import WsgirefServer, raw_request, status_of

REFUSAL = 'Bad request: the form body is malformed'
CONTENT_TYPE = 'multipart/form-data; boundary=b0undary'
PART = b'--b0undary\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
WHOLE = PART + b'the whole file\r\n--b0undary--\r\n'


def upload_app(make_app: Any, **overrides: Any) -> Any:
    """``POST /upload`` binds a file parameter, ``POST /own`` reads ``request.files`` itself; ``app.saved`` lists
    the contents each handler got."""
    app = make_app(**overrides)
    app.saved = []

    @app.post('/upload')
    def upload(doc: FileUpload) -> str:
        app.saved.append(doc.file.read())
        return 'saved'

    @app.post('/own')
    def own() -> str:
        app.saved.append(bottle.request.files['doc'].file.read())
        return 'saved'

    return app


def post(app: Any, path: str, body: bytes, content_type: str = CONTENT_TYPE) -> Any:
    return client(app).request(path, method='POST', body=body, content_type=content_type, expect_errors=True)


@pytest.mark.parametrize('path', ['/upload', '/own'])
@pytest.mark.parametrize('body', [
    WHOLE[:-len(b'--b0undary--\r\n')],  # the last delimiter left out
    WHOLE[:-len(b'\r\n--b0undary--\r\n')],  # the file's last line with no delimiter after it
    PART + b'the whole fi',  # cut inside the file
], ids=['no-closing-delimiter', 'no-delimiter-after-the-file', 'cut-inside-the-file'])
def test_an_upload_that_ends_before_its_closing_delimiter_is_a_400_and_the_handler_never_runs(make_app, log_dir,
                                                                                               path, body):
    app = upload_app(make_app)
    answer = post(app, path, body)
    assert answer.status_int == 400
    assert answer.text.strip() == REFUSAL
    assert app.saved == []
    assert any(REFUSAL in line for line in warning_lines(log_dir))


def assert_refused_before_the_handler(make_app, log_dir, path: str, body: bytes) -> None:
    """``body`` posted to ``path`` of :func:`upload_app` is a 400 with a WARNING line, and nothing is saved."""
    app = upload_app(make_app)
    answer = post(app, path, body)
    assert (answer.status_int, answer.text.strip()) == (400, REFUSAL)
    assert app.saved == []
    assert any(REFUSAL in line for line in warning_lines(log_dir))


def ignoring_app(make_app) -> Tuple[bottle.Bottle, List[str]]:
    """An app whose ``/ignore`` handler never reads the body, and the list each of its calls is noted in."""
    app = make_app()
    calls: List[str] = []

    @app.post('/ignore')
    def ignore() -> str:
        calls.append('called')
        return 'ignored'

    return app, calls


def test_a_cut_form_is_a_400_for_a_handler_that_never_reads_it(make_app):
    app, calls = ignoring_app(make_app)

    answer = post(app, '/ignore', PART + b'the whole fi')
    assert (answer.status_int, answer.text.strip()) == (400, REFUSAL)
    assert calls == []
    assert post(app, '/ignore', WHOLE).text == 'ignored'


@pytest.mark.parametrize('path', ['/upload', '/own'])
@pytest.mark.parametrize('body', [
    PART + b'the whole file--b0undary--\r\n',  # the file's last line ends in the delimiter, with no CRLF before it
    PART + b'the whole file--b0undary--',
    WHOLE[:-2] + b' \r\n',  # a space after the closing delimiter (RFC 2046's transport padding, which 0.13 refuses)
    WHOLE.replace(b'\r\n', b'\n'),  # bare LF line ends, which 0.13 reads as one line with no delimiter in it
], ids=['inside-a-line', 'inside-the-last-line', 'space-after-it', 'bare-lf-line-ends'])
def test_an_upload_whose_closing_delimiter_is_no_line_of_its_own_is_a_400_and_the_handler_never_runs(
        make_app, log_dir, path, body):
    """Bottle 0.12 handed such a body on, the first two with the delimiter's text kept in the file."""
    assert_refused_before_the_handler(make_app, log_dir, path, body)


#: An empty form: its closing delimiter line, with no part before it.
EMPTY = b'--b0undary--\r\n'


def optional_and_own(make_app) -> bottle.Bottle:
    """An app with two routes: ``/optional``, whose handler takes an optional field and file and answers the field
    (``none`` without it), and ``/own``, whose handler reads ``request.forms`` itself and answers how many fields."""
    app = make_app()

    @app.post('/optional')
    def optional(note: str = 'none', doc: Optional[FileUpload] = None) -> str:
        return note

    @app.post('/own')
    def own() -> str:
        return 'fields: %d' % len(bottle.request.forms)

    return app


@pytest.mark.parametrize('body', [EMPTY, EMPTY[:-2], b'a preamble, which RFC 2046 lets a body have\r\n' + EMPTY],
                         ids=['closing-line', 'closing-line-without-crlf', 'after-a-preamble'])
def test_a_body_of_the_closing_delimiter_line_alone_is_an_empty_form_on_both_bottles(make_app, log_dir, body):
    """What Chromium sends for a multipart form of no fields (a fetch of ``new FormData()``, or a form whose only
    field is a checkbox left unchecked): ``------WebKitFormBoundary...--`` and a CRLF, no opening line."""
    app = optional_and_own(make_app)

    assert post(app, '/optional', body).text == 'none'
    assert post(app, '/own', body).text == 'fields: 0'
    assert warning_lines(log_dir) == []


#: Empty forms that go on past their closing delimiter line: bottle 0.13's parser refuses them ("Found data after
#: empty multipart stream"), 0.12's skipped every line up to an opening one, so that it handed on any part after.
EMPTY_GOING_ON = [EMPTY + WHOLE, b'a preamble\r\n' + EMPTY + WHOLE, EMPTY + b'an epilogue\r\n', EMPTY + b'\r\n']
EMPTY_GOING_ON_IDS = ['a-part-after-it', 'a-preamble-and-a-part-after-it', 'an-epilogue-after-it', 'a-crlf-after-it']


@pytest.mark.parametrize('path', ['/upload', '/own'])
@pytest.mark.parametrize('body', EMPTY_GOING_ON, ids=EMPTY_GOING_ON_IDS)
def test_an_empty_form_with_more_after_its_closing_delimiter_is_a_400_and_the_handler_never_runs(
        make_app, log_dir, path, body):
    assert_refused_before_the_handler(make_app, log_dir, path, body)


@pytest.mark.parametrize('body', EMPTY_GOING_ON, ids=EMPTY_GOING_ON_IDS)
def test_an_empty_form_that_goes_on_is_a_400_for_a_handler_that_never_reads_it(make_app, body):
    app, calls = ignoring_app(make_app)

    answer = post(app, '/ignore', body)
    assert (answer.status_int, answer.text.strip()) == (400, REFUSAL)
    assert calls == []


#: Neighbouring malformed forms, each with the status it gets from a handler's parameters and from a handler reading
#: ``request.forms`` itself, on bottle 0.13 and 0.12 (where these differ, canister has not made them alike yet).
NEIGHBOURS = {
    'no-boundary-parameter': ('multipart/form-data', WHOLE, {'0.13': (400, 400), '0.12': (400, 400)}),
    'boundary-and-an-empty-body': (CONTENT_TYPE, b'', {'0.13': (200, 400), '0.12': (200, 200)}),
    'a-part-without-headers': (CONTENT_TYPE, b'--b0undary\r\n\r\nthe whole file\r\n--b0undary--\r\n',
                               {'0.13': (400, 400), '0.12': (200, 200)}),
}


@pytest.mark.parametrize('shape', list(NEIGHBOURS))
def test_neighbouring_malformed_forms_are_no_500_on_either_bottle(make_app, shape):
    """Bottle 0.12 reads a part without headers as a field of no name, which fills no parameter."""
    content_type, body, statuses = NEIGHBOURS[shape]
    app = optional_and_own(make_app)

    answers = [post(app, path, body, content_type) for path in ('/optional', '/own')]
    assert tuple(answer.status_int for answer in answers) == statuses[bottle.__version__[:4]]
    assert all(answer.text.strip() == REFUSAL for answer in answers if answer.status_int == 400)


@pytest.mark.parametrize('split_at', [1, 8, 15, 16])
def test_a_first_delimiter_line_split_between_two_reads_of_the_body_is_found(make_app, split_at):
    """The line (its CRLF before it, 16 bytes for the closing one) starts ``split_at`` bytes before the end of the
    first 64 KiB read, after a preamble of no line break: the closing line first is an empty form that goes on, the
    opening line first a form like any other."""
    preamble = b'p' * (65536 - split_at)
    app = upload_app(make_app)
    assert (preamble + b'\r\n' + EMPTY + WHOLE)[65536 - split_at:].startswith(b'\r\n' + EMPTY)
    assert post(app, '/upload', preamble + b'\r\n' + EMPTY + WHOLE).status_int == 400
    assert post(app, '/upload', preamble + b'\r\n' + WHOLE).status_int == 200
    assert app.saved == [b'the whole file']


@pytest.mark.parametrize('path', ['/upload', '/own'])
@pytest.mark.parametrize('body', [WHOLE, WHOLE + b'an epilogue, which RFC 2046 lets a body have\r\n', WHOLE[:-2]],
                         ids=['whole', 'with-an-epilogue', 'no-crlf-after-the-closing-delimiter'])
def test_a_whole_upload_reaches_the_handler(make_app, path, body):
    app = upload_app(make_app)
    answer = post(app, path, body)
    assert answer.status_int == 200, answer.text
    assert app.saved == [b'the whole file']


@pytest.mark.parametrize('split_at', [1, 3, 5])
def test_a_closing_delimiter_split_between_two_reads_of_the_body_is_found(make_app, split_at):
    """Canister reads the body 64 KiB at a time: the closing delimiter starts ``split_at`` bytes before the end of
    the first read."""
    padding = b'p' * (65536 - split_at - len(PART) - 2)  # (the CRLF before the delimiter is the part's)
    body = PART + padding + b'\r\n--b0undary--\r\n'
    assert body[65536 - split_at:].startswith(b'--b0undary--')
    app = upload_app(make_app)
    assert post(app, '/upload', body).status_int == 200
    assert app.saved == [padding]


def test_an_empty_multipart_body_is_still_no_form_rather_than_a_malformed_one(make_app):
    app = make_app()

    @app.post('/optional')
    def optional(note: str = 'none', doc: Optional[FileUpload] = None) -> str:
        return note

    assert post(app, '/optional', b'').text == 'none'


def test_wsgiref_answers_400_to_an_upload_cut_before_its_closing_delimiter(make_app):
    app = upload_app(make_app)
    server = WsgirefServer(app)
    try:
        answers: List[bytes] = []
        for body in (WHOLE[:-len(b'--b0undary--\r\n')], WHOLE):
            head = (b'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nContent-Type: %s\r\n'
                    b'Connection: close\r\n\r\n' % (len(body), CONTENT_TYPE.encode()))
            answers.append(raw_request(server.port, head, body))
    finally:
        server.close()
    assert status_of(answers[0]) == 400, answers[0][:300]
    assert REFUSAL.encode() in answers[0]
    assert status_of(answers[1]) == 200, answers[1][:300]
    assert app.saved == [b'the whole file']


def test_wsgiref_answers_400_to_an_empty_form_with_a_part_after_its_closing_delimiter(make_app):
    app = make_app()
    uploads: List[Optional[FileUpload]] = []

    @app.post('/optional')
    def optional(doc: Optional[FileUpload] = None) -> str:
        uploads.append(doc)
        return 'no file' if doc is None else 'a file'

    server = WsgirefServer(app)
    try:
        answers: List[bytes] = []
        for body in (EMPTY + WHOLE, EMPTY):
            head = (b'POST /optional HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nContent-Type: %s\r\n'
                    b'Connection: close\r\n\r\n' % (len(body), CONTENT_TYPE.encode()))
            answers.append(raw_request(server.port, head, body))
    finally:
        server.close()
    assert status_of(answers[0]) == 400, answers[0][:300]
    assert REFUSAL.encode() in answers[0]
    assert status_of(answers[1]) == 200, answers[1][:300]
    assert answers[1].endswith(b'no file')
    assert uploads == [None]


def test_with_max_form_parts_0_canister_leaves_a_cut_form_to_bottle(make_app):
    """Canister looks for the closing delimiter as it counts the parts, which ``max_form_parts = 0`` turns off:
    bottle 0.13's parser still refuses the form (canister's 400, in its usual words), 0.12's hands the cut part on."""
    app = upload_app(make_app, max_form_parts=0)
    answer = post(app, '/upload', PART + b'the whole fi')
    if bottle.__version__.startswith('0.12'):
        assert answer.status_int == 200
        assert app.saved == [b'the whole fi']
    else:
        assert answer.status_int == 400
        assert answer.text.strip() == 'Bad request: the form body is malformed'
        assert app.saved == []
