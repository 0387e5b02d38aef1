"""A list parameter of plain values (``List[int]``) whose items do not all convert: its 400 names the first that
fails by its index and shows that item, not the whole list; a secret-looking name still shows no value."""
from __future__ import annotations

from typing import List

from servers import Client


def test_a_bad_item_among_several_is_named_by_its_index_and_shown_alone(make_app, serve):
    app = make_app()

    @app.get('/h')
    def h(ids: List[int]):
        return {'ids': ids}

    answer = Client(serve(app)).get('/h?ids=1&ids=2.5&ids=x')
    assert answer.status == 400
    assert "parameter 'ids' (at ids[1]) must be an integer, got '2.5'" in answer.text


def test_a_bad_item_of_a_secret_looking_list_is_named_by_its_index_without_its_value(make_app, serve):
    app = make_app()

    @app.get('/h')
    def h(api_keys: List[int]):
        return {'n': len(api_keys)}

    answer = Client(serve(app)).get('/h?api_keys=1&api_keys=s3cret')
    assert answer.status == 400
    assert ("parameter 'api_keys' (at api_keys[1]) must be an integer (the value is not shown: the name looks "
            "secret)") in answer.text
    assert 's3cret' not in answer.text
