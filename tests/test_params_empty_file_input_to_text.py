"""A file input left empty, which a browser sends as a multipart part with ``filename=""``, is absent under a text
parameter's name as under a file parameter's: the parameter keeps its default on both bottles.  Before, bottle 0.13
(which reads such a part as an empty text) gave the handler ``''``, and 0.12 (a nameless FileUpload) answered 400
``must be text, not a file upload``.  An empty text field is still an empty text.  Real requests to a wsgiref server."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

import pytest

from helpers import readme_section
from servers import HOST, Client, WsgirefServer

MULTIPART = 'multipart/form-data; boundary=B'


@pytest.fixture
def web(make_app: Any) -> Iterator[Client]:
    """A client of a wsgiref server whose ``POST /profile`` answers what its text parameters were given."""
    app = make_app()

    @app.post('/profile')
    def profile(nickname: str = 'unchanged', age: Optional[int] = None, tags: List[str] = (),
                größe: str = 'none') -> Dict[str, Any]:
        return {'nickname': nickname, 'age': age, 'tags': list(tags), 'größe': größe}

    @app.post('/signup')
    def signup(name: str) -> str:
        return name

    server = WsgirefServer(app)
    try:
        yield Client('http://%s:%d' % (HOST, server.port))
    finally:
        server.close()


def empty_file(name: str) -> bytes:
    """The part a browser sends for an untouched ``<input type=file name=...>``."""
    return ('--B\r\nContent-Disposition: form-data; name="%s"; filename=""\r\n'
            'Content-Type: application/octet-stream\r\n\r\n\r\n' % name).encode()


def text(name: str, value: str) -> bytes:
    return ('--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name, value)).encode()


def chosen_file(name: str) -> bytes:
    return ('--B\r\nContent-Disposition: form-data; name="%s"; filename="a.txt"\r\n'
            'Content-Type: text/plain\r\n\r\nhello\r\n' % name).encode()


def post(web: Client, *parts: bytes, path: str = '/profile') -> Any:
    return web.request('POST', path, b''.join(parts) + b'--B--\r\n', {'Content-Type': MULTIPART})


def profile(web: Client, *parts: bytes, path: str = '/profile') -> Dict[str, Any]:
    answer = post(web, *parts, path=path)
    assert answer.status == 200, answer
    return answer.json()


DEFAULTS = {'nickname': 'unchanged', 'age': None, 'tags': [], 'größe': 'none'}


@pytest.mark.parametrize('name', ['nickname', 'age', 'tags', 'größe'])
def test_an_empty_file_input_alone_leaves_a_text_parameter_to_its_default(web, name):
    assert profile(web, empty_file(name), text('other', 'x')) == DEFAULTS


def test_an_empty_file_input_leaves_a_required_text_parameter_missing(web):
    answer = post(web, empty_file('name'), path='/signup')
    assert (answer.status, answer.text) == (400, "Bad request: missing parameter 'name'\n")


@pytest.mark.parametrize('parts', [
    (text('nickname', 'bob'), empty_file('nickname')),
    (empty_file('nickname'), text('nickname', 'bob')),
], ids=['text-first', 'file-input-first'])
def test_a_text_sent_with_an_empty_file_input_under_its_name_is_the_value(web, parts):
    assert profile(web, *parts)['nickname'] == 'bob'


def test_an_empty_file_input_leaves_the_query_to_fill_the_parameter(web):
    answer = web.request('POST', '/profile?nickname=from-query', empty_file('nickname') + b'--B--\r\n',
                         {'Content-Type': MULTIPART})
    assert answer.json()['nickname'] == 'from-query'


def test_empty_file_inputs_among_a_lists_texts_are_left_out_and_empty_texts_kept(web):
    sent = profile(web, text('tags', ''), empty_file('tags'), text('tags', 'x'), empty_file('tags'), text('tags', ''))
    assert sent['tags'] == ['', 'x', '']


def test_an_empty_text_field_is_still_an_empty_text(web):
    assert profile(web, text('nickname', ''), empty_file('age'))['nickname'] == ''
    assert profile(web, empty_file('nickname'), text('nickname', ''))['nickname'] == ''


def test_a_chosen_file_under_a_text_parameters_name_is_still_refused(web):
    answer = post(web, chosen_file('nickname'), empty_file('nickname'))
    assert (answer.status, answer.text) == (400, "Bad request: parameter 'nickname' must be text, not a file upload\n")


def test_the_readme_says_an_empty_file_input_is_absent_under_a_text_parameters_name():
    section = readme_section('## Parameter unpacking')
    assert ("under a text parameter's name it is absent too, leaving `nickname: str = 'unchanged'` to its default (or "
            "to the query's value), where bottle 0.13 gave the handler an empty text and 0.12 answered 400 `parameter "
            "'nickname' must be text, not a file upload`, `tests/test_params_empty_file_input_to_text.py`") in section
