"""A file input left empty, which a browser sends as a multipart part with ``filename=""``, is an empty text under
a text parameter's name, as an empty text field is, on both bottles: 0.13 reads such a part as an empty text, and 0.12
(a nameless FileUpload, which answered 400 ``must be text, not a file upload``) is made to give the same.  Canister
tells it from an empty text field by no second reading of the body.  Real requests to a wsgiref server."""
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


@pytest.mark.parametrize('name, value', [('nickname', ''), ('age', None), ('tags', ['']), ('größe', '')])
def test_an_empty_file_input_under_a_text_parameters_name_is_an_empty_text(web, name, value):
    assert profile(web, empty_file(name), text('other', 'x')) == dict(DEFAULTS, **{name: value})
    assert profile(web, text(name, ''), text('other', 'x')) == dict(DEFAULTS, **{name: value})  # (as an empty field)


def test_an_empty_file_input_fills_a_required_text_parameter_with_an_empty_text(web):
    answer = post(web, empty_file('name'), path='/signup')
    assert (answer.status, answer.text) == (200, '')


@pytest.mark.parametrize('parts, value', [
    ((text('nickname', 'bob'), empty_file('nickname')), ''),
    ((empty_file('nickname'), text('nickname', 'bob')), 'bob'),
], ids=['text-first', 'file-input-first'])
def test_a_text_sent_with_an_empty_file_input_under_its_name_is_one_of_two_texts_the_last_winning(web, parts, value):
    assert profile(web, *parts)['nickname'] == value


def test_an_empty_file_input_is_a_value_of_the_body_which_comes_before_the_query(web):
    answer = web.request('POST', '/profile?nickname=from-query', empty_file('nickname') + b'--B--\r\n',
                         {'Content-Type': MULTIPART})
    assert answer.json()['nickname'] == ''


def test_empty_file_inputs_among_a_lists_texts_are_empty_texts(web):
    sent = profile(web, text('tags', ''), empty_file('tags'), text('tags', 'x'), empty_file('tags'), text('tags', ''))
    assert sent['tags'] == ['', '', 'x', '', '']


def test_a_chosen_file_under_a_text_parameters_name_is_still_refused(web):
    answer = post(web, chosen_file('nickname'))
    assert (answer.status, answer.text) == (400, "Bad request: parameter 'nickname' must be text, not a file upload\n")
    answer = post(web, chosen_file('nickname'), empty_file('nickname'))  # (a file and an empty text)
    assert (answer.status, answer.text) == (400, "Bad request: parameter 'nickname' was sent 1 file upload and 1 text "
                                                 "under one name: send texts only\n")


def test_the_readme_says_an_empty_file_input_is_an_empty_text_under_a_text_parameters_name():
    section = readme_section('## Parameter unpacking')
    assert ("under a text parameter's name it is an empty text on both bottles, as an empty text field is, so "
            "`nickname: str = 'unchanged'` gets `''` (`None` for `age: Optional[int] = None`), where 0.12 answered 400 "
            "`parameter 'nickname' must be text, not a file upload`, `tests/test_params_empty_file_input_to_text.py`"
            ) in section
