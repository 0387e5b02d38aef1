"""A multipart body that ends before its closing delimiter (``--boundary--``) is a 400, on both Bottles: bottle 0.13's
parser refuses it, and 0.12's (``cgi.FieldStorage``) handed the handler the last part cut where the body ended, so a
truncated upload was saved as if whole.  Real requests: WebTest and wsgiref."""
from __future__ import annotations

from typing import Any, List, Optional

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


def test_a_cut_form_is_a_400_for_a_handler_that_never_reads_it(make_app):
    app = make_app()
    calls: List[str] = []

    @app.post('/ignore')
    def ignore() -> str:
        calls.append('called')
        return 'ignored'

    answer = post(app, '/ignore', PART + b'the whole fi')
    assert (answer.status_int, answer.text.strip()) == (400, REFUSAL)
    assert calls == []
    assert post(app, '/ignore', WHOLE).text == 'ignored'


@pytest.mark.parametrize('path', ['/upload', '/own'])
@pytest.mark.parametrize('body', [WHOLE, WHOLE + b'an epilogue, which RFC 2046 lets a body have\r\n'],
                         ids=['whole', 'with-an-epilogue'])
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
