"""Bottle's 500 for a result it cannot send (a list of dicts, a list of objects of the app's own class) tells
every client only ``Internal Server Error``, on Bottle's HTML page as in JSON: Bottle's words for it name the
returned type, which can be one of the app's own classes, and only canister's ERROR line says them.  An error
handler of the app's own for 500 still gets Bottle's error, words and all."""
from __future__ import annotations

import pathlib
from typing import Any, Callable, List

import bottle
import pytest

from helpers import log_after, readme_section
from servers import Client


class Item:
    """An object of the app's own class, which Bottle cannot send."""

    def __init__(self, name: str) -> None:
        self.name = name


def returned(result: str) -> List[Any]:
    """What the handler returns: a list of dicts, or of the app's own objects."""
    return [{'name': 'pen'}] if result == 'dicts' else [Item('pen')]


#: What Bottle's words name, for each result.
NAMED = {'dicts': "<class 'dict'>", 'objects': "<class '%s.Item'>" % __name__}


@pytest.mark.parametrize('result', ['dicts', 'objects'])
def test_bottles_page_for_a_result_it_cannot_send_says_only_internal_server_error(
        make_app: Callable[..., bottle.Bottle], serve: Callable[..., str], log_dir: pathlib.Path, result: str) -> None:
    app = make_app(catchall=True)
    app.route('/result', callback=lambda: returned(result))
    app.route('/crash', callback=lambda: 1 / 0)

    web = Client(serve(app))
    answer, crash = web.get('/result'), web.get('/crash')
    assert (answer.status, answer.headers['Content-Type']) == (500, 'text/html; charset=UTF-8')
    assert '<pre>Internal Server Error</pre>' in answer.text
    assert answer.text == crash.text.replace('/crash', '/result')  # (Bottle's page of any other 500)
    assert 'Unsupported response type' not in answer.text and 'class' not in answer.text
    assert 'Item' not in answer.text and 'dict' not in answer.text
    log = log_after(log_dir, '): Bottle sends text')   # (the line's words asserted below, all written)
    [line] = [line for line in log.splitlines() if ' ERROR ' in line and 'Unsupported response type' in line]
    assert ('Unhandled exception in GET /result: the handler returned a list, tuple or generator of something '
            'other than text or bytes (Unsupported response type: %s): Bottle sends text' % NAMED[result]) in line


@pytest.mark.parametrize('error_format', ['auto', 'json'])
def test_the_apps_own_500_page_still_gets_bottles_words_naming_the_returned_type(
        make_app: Callable[..., bottle.Bottle], serve: Callable[..., str], log_dir: pathlib.Path,
        error_format: str) -> None:
    app = make_app(catchall=True, error_format=error_format)
    app.route('/result', callback=lambda: returned('objects'))
    app.error(500)(lambda error: 'Our own page: %s' % error.body)

    answer = Client(serve(app)).get('/result')
    assert (answer.status, answer.text) == (500, 'Our own page: Unsupported response type: %s' % NAMED['objects'])
    assert NAMED['objects'] in log_after(log_dir, NAMED['objects'])


def test_the_readme_says_what_a_500_tells_the_client() -> None:
    assert ("The client is told only `Internal Server Error`, in JSON or on Bottle's HTML page, as for any other "
            "500: Bottle's words for such a result name the returned type, which can be one of the app's own "
            "classes, and stay in the log.") in readme_section('## Request logging')
    assert ("Bottle's 500, after an exception in a route or a hook or for a result it cannot send, tells the client "
            "only `Internal Server Error`, in JSON or on Bottle's HTML page, never the exception, its traceback or the "
            "type the handler returned") in readme_section('## Security notes')
