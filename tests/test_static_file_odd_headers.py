"""Bad conditional and range headers sent for a file that ``bottle.static_file`` serves get the file, a 304 or a
416, never a 500, over a real server on both Bottles: bottle 0.12.25 compares an empty ``If-Modified-Since`` with
the file's time (a TypeError) and answers an empty ``Range`` 416, where 0.13 ignores both."""
from __future__ import annotations

import calendar
import os
from typing import Any

import bottle
import pytest

from helpers import read_log
from servers import WsgirefServer, raw_request, status_of

#: The file's modification time: 2020-01-01 00:00:00 UTC.
MODIFIED = calendar.timegm((2020, 1, 1, 0, 0, 0))
TEXT = b'static text, 28 bytes long.\n'


def static_app(app: bottle.Bottle, tmp_path: Any) -> bottle.Bottle:
    """``app`` serving /static/<name> from ``tmp_path`` with ``static_file``, and file.txt there."""
    path = tmp_path / 'file.txt'
    path.write_bytes(TEXT)
    os.utime(path, (MODIFIED, MODIFIED))

    @app.get('/static/<name>')
    def static(name):
        return bottle.static_file(name, root=str(tmp_path))
    return app


def answer(app: bottle.Bottle, header: str) -> bytes:
    """The raw answer of ``app``, served by wsgiref, to a GET of /static/file.txt with ``header`` as sent."""
    server = WsgirefServer(app)
    try:
        return raw_request(server.port, b'GET /static/file.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n\r\n'
                           % header.encode('latin-1'))
    finally:
        server.close()


def body_of(raw: bytes) -> bytes:
    return raw.split(b'\r\n\r\n', 1)[1]


@pytest.mark.parametrize('header', ['If-Modified-Since:', 'If-Modified-Since: ', 'Range:'])
def test_an_empty_if_modified_since_or_range_gets_the_whole_file_not_a_500(make_app, tmp_path, log_dir, header):
    raw = answer(static_app(make_app(catchall=True), tmp_path), header)
    assert status_of(raw) == 200, raw[:300]
    assert body_of(raw) == TEXT
    assert 'Unhandled exception' not in read_log(log_dir)


def test_an_empty_if_modified_since_gets_the_file_from_a_child_with_canister_merged_into_a_plain_app(
        make_app, tmp_path):
    parent = bottle.Bottle()
    parent.merge(static_app(make_app(catchall=True), tmp_path))
    raw = answer(parent, 'If-Modified-Since:')
    assert status_of(raw) == 200, raw[:300]
    assert body_of(raw) == TEXT


@pytest.mark.parametrize('date', ['Wed, 01 Jan 2020 00:00:00 GMT', 'Thu, 02 Jan 2020 00:00:00 GMT; length=28'])
def test_an_if_modified_since_at_or_after_the_files_time_still_gets_304(make_app, tmp_path, date):
    raw = answer(static_app(make_app(catchall=True), tmp_path), 'If-Modified-Since: ' + date)
    assert status_of(raw) == 304, raw[:300]
    assert body_of(raw) == b''


@pytest.mark.parametrize('date', ['yesterday', ';', 'Tue, 31 Dec 2019 23:59:59 GMT', 'Mon, 32 Foo 2020 25:61:61 GMT'])
def test_an_if_modified_since_that_is_no_date_or_before_the_files_time_gets_the_whole_file(make_app, tmp_path, date):
    raw = answer(static_app(make_app(catchall=True), tmp_path), 'If-Modified-Since: ' + date)
    assert status_of(raw) == 200, raw[:300]
    assert body_of(raw) == TEXT


@pytest.mark.parametrize('value', ['', '*', '"x", W/"y"', '\xff'])
def test_an_odd_if_none_match_gets_the_whole_file(make_app, tmp_path, value):
    raw = answer(static_app(make_app(catchall=True), tmp_path), 'If-None-Match: ' + value)
    assert status_of(raw) == 200, raw[:300]
    assert body_of(raw) == TEXT


@pytest.mark.parametrize('value', ['bytes=', 'bytes=abc', 'bytes=5-1', 'bytes=-', 'bytes=0--1', 'bytes=28-',
                                   'bytes=%s-' % ('9' * 30), 'bytes=0-%s' % ('9' * 5000), 'items=0-1'])
def test_a_malformed_or_unsatisfiable_range_gets_416(make_app, tmp_path, log_dir, value):
    raw = answer(static_app(make_app(catchall=True), tmp_path), 'Range: ' + value)
    assert status_of(raw) == 416, raw[:300]
    assert 'Unhandled exception' not in read_log(log_dir)


@pytest.mark.parametrize('value, part', [('bytes=1-3', b'tat'), ('bytes=-3', b'g.\n'), ('bytes=-%s' % ('9' * 30), TEXT),
                                         ('bytes=7-9,', b'tex')])
def test_a_range_gets_that_part_of_the_file(make_app, tmp_path, value, part):
    raw = answer(static_app(make_app(catchall=True), tmp_path), 'Range: ' + value)
    assert status_of(raw) == 206, raw[:300]
    assert body_of(raw) == part


@pytest.mark.parametrize('name', ['If-Modified-Since', 'Range'])
def test_a_handler_reads_an_empty_if_modified_since_or_range_as_none_on_bottle_0_12_and_empty_on_0_13(make_app, name):
    app = make_app(catchall=True)

    @app.get('/static/file.txt')
    def header():
        return repr(bottle.request.get_header(name))
    raw = answer(app, name + ':')
    assert status_of(raw) == 200, raw[:300]
    assert body_of(raw) == (b'None' if bottle.__version__.startswith('0.12') else b"''")
