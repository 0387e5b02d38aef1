"""A list parameter sent with brackets (``ids[]=1``, as jQuery, axios and PHP's forms write a list) follows the
README's order like any other: the body wins over the query, under either name.  Before, the query's plain name
won over the body's brackets, so a crafted link (``?ids=999``) replaced the list of a form posted to its own page.
Where one place sends both names, the request is refused with a 400 and a WARNING line: before, the plain name's
values were taken and the others dropped without a word.  Real requests to a wsgiref server."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import bottle
import pytest

from helpers import readme_section, warning_lines
from servers import HOST, Client, WsgirefServer

FORM = 'application/x-www-form-urlencoded'


@pytest.fixture
def web(make_app: Any) -> Iterator[Client]:
    """A client of a wsgiref server whose ``POST /delete`` answers the ids and files it was given, and its extras."""
    app = make_app()

    @app.post('/delete')
    def delete(ids: List[int], files: List[bottle.FileUpload] = (), **extra: Any) -> Dict[str, Any]:
        return {'ids': ids, 'files': [upload.filename for upload in files], 'extra': extra}

    server = WsgirefServer(app)
    try:
        yield Client('http://%s:%d' % (HOST, server.port))
    finally:
        server.close()


def multipart(*fields: tuple) -> bytes:
    """A multipart body (boundary ``B``) of ``(name, value)`` text fields and ``(name, filename, content)`` files."""
    parts = []
    for field in fields:
        disposition = 'form-data; name="%s"' % field[0]
        if len(field) == 3:
            disposition += '; filename="%s"' % field[1]
        parts.append(b'--B\r\nContent-Disposition: %s\r\n\r\n%s\r\n' % (disposition.encode(), field[-1].encode()))
    return b''.join(parts) + b'--B--\r\n'


def posted(web: Client, path: str, body: bytes, content_type: str) -> Dict[str, Any]:
    answer = web.request('POST', path, body, {'Content-Type': content_type})
    assert answer.status == 200, answer
    return answer.json()


@pytest.mark.parametrize('body, content_type, ids', [
    (b'ids%5B%5D=1', FORM, [1]),                                       # a PHP-style form, as a browser encodes it
    (b'ids[]=1&ids[]=2', FORM, [1, 2]),
    (b'{"ids[]": [1]}', 'application/json', [1]),                     # such a form's fields sent as JSON
    (multipart(('ids[]', '1')), 'multipart/form-data; boundary=B', [1]),
], ids=['form', 'form-of-two', 'json', 'multipart'])
def test_the_bodys_list_with_brackets_wins_over_the_querys_plain_name(web, body, content_type, ids):
    """A form without ``action`` posts to the page's URL with its query: ``?ids=999`` in a link chose the list."""
    assert posted(web, '/delete?ids=999', body, content_type) == {'ids': ids, 'files': [], 'extra': {}}


def test_the_bodys_list_wins_over_the_querys_brackets_too(web):
    assert posted(web, '/delete?ids[]=999', b'ids[]=1', FORM)['ids'] == [1]
    assert posted(web, '/delete?ids[]=999', b'ids=1', FORM)['ids'] == [1]


def test_the_query_fills_the_list_under_either_name_when_the_body_has_neither(web):
    assert posted(web, '/delete?ids[]=5&ids[]=6', b'other=x', FORM) == {'ids': [5, 6], 'files': [],
                                                                       'extra': {'other': 'x'}}
    assert posted(web, '/delete?ids=5', b'{"other": 1}', 'application/json')['ids'] == [5]


def refused(web: Client, path: str, body: bytes, content_type: str) -> str:
    answer = web.request('POST', path, body, {'Content-Type': content_type})
    assert answer.status == 400, answer
    return answer.text


@pytest.mark.parametrize('body, content_type, where', [
    (b'ids[]=2&ids=1', FORM, 'the form'),
    (b'ids=1&ids%5B%5D=2', FORM, 'the form'),
    (b'{"ids[]": [2], "ids": [1]}', 'application/json', 'the JSON body'),
    (b'{"ids": [], "ids[]": [2]}', 'application/json', 'the JSON body'),  # an empty list is sent too
    (multipart(('ids[]', '2'), ('ids', '1')), 'multipart/form-data; boundary=B', 'the form'),
], ids=['form', 'form-encoded', 'json', 'json-empty', 'multipart'])
def test_a_body_sending_both_names_is_a_400_saying_to_send_one(web, log_dir, body, content_type, where):
    """Before, the plain name's ``[1]`` was taken and ``ids[]``'s ``2`` dropped without a word, a 200."""
    message = "parameter 'ids' was sent both as ids and as ids[] in %s: send the list under one name, not both" % where
    assert refused(web, '/delete?ids=999', body, content_type) == 'Bad request: %s\n' % message
    assert [line for line in warning_lines(log_dir) if line.endswith('Bad request: ' + message)] != []


@pytest.mark.parametrize('path', ['/delete?ids[]=2&ids=1', '/delete?ids=1&ids%5B%5D=2'], ids=['raw', 'encoded'])
def test_a_query_sending_both_names_is_a_400_when_the_body_sends_neither(web, log_dir, path):
    message = "parameter 'ids' was sent both as ids and as ids[] in the query: send the list under one name, not both"
    assert refused(web, path, b'', FORM) == 'Bad request: %s\n' % message
    assert refused(web, '/delete?ids[]=2&ids=1', b'{"other": 1}', 'application/json') == 'Bad request: %s\n' % message
    assert [line for line in warning_lines(log_dir) if line.endswith('Bad request: ' + message)] != []


def test_a_query_sending_both_names_is_not_read_when_the_body_sends_the_list(web):
    """The body wins over the query, whatever the query holds: a crafted link cannot turn a form's post into a 400."""
    assert posted(web, '/delete?ids[]=2&ids=999', b'ids[]=1', FORM) == {'ids': [1], 'files': [], 'extra': {}}
    assert posted(web, '/delete?ids[]=2&ids=999', b'{"ids": [1]}', 'application/json')['ids'] == [1]


def test_files_sent_under_both_names_are_a_400(web):
    body = multipart(('ids', '1'), ('files', 'a.txt', 'a'), ('files[]', 'b.txt', 'b'))
    assert refused(web, '/delete', body, 'multipart/form-data; boundary=B') == (
        "Bad request: parameter 'files' was sent both as files and as files[] in the form: send the list under one "
        "name, not both\n")


def test_files_sent_with_brackets_are_taken_from_the_body(web):
    body = multipart(('ids', '1'), ('files[]', 'a.txt', 'a'), ('files[]', 'b.txt', 'b'))
    answer = posted(web, '/delete?files=x', body, 'multipart/form-data; boundary=B')
    assert answer == {'ids': [1], 'files': ['a.txt', 'b.txt'], 'extra': {}}


def test_the_readme_says_the_body_wins_under_either_name_and_what_both_names_give():
    section = readme_section('## Parameter unpacking')
    assert 'URL arguments win over the body, the body over the query' in section
    assert ('The body wins over the query under either name: `POST /delete?ids=999` with the form `ids[]=1`, or the '
            'JSON `{"ids[]": [1]}`, gives `[1]`') in section
    assert ("where one place sends both, `ids=1&ids[]=2` in the body or in the query, the answer is a 400, "
            "`parameter 'ids' was sent both as ids and as ids[] in the form: send the list under one name, not both`, "
            "as both lists cannot be taken and either alone drops the other's values (the query's are not read when "
            "the body sends the list), `tests/test_params_list_brackets_precedence.py`") in section
