"""A union with ``Any`` among its members (``Union[int, Any]``): ``Any`` takes whatever was sent, as it does
alone; on Python 3.11 and later ``typing.Any`` is a class, which once made such a union a 500."""
from dataclasses import dataclass
from typing import Any, Union

import typing_extensions

from helpers import client


def union_app(make_app):
    app = make_app()

    @app.route('/one', method=['GET', 'POST'])
    def one(s: Union[int, Any]):
        return repr(s)

    @dataclass
    class Box:
        s: Union[int, Any]

    @app.post('/box')
    def box(box: Box):
        return repr(box.s)

    return app


def test_a_union_with_any_takes_what_was_sent_and_converts_to_its_other_member_first(make_app):
    web = client(union_app(make_app))
    assert web.get('/one?s=x').text == "'x'"
    assert web.get('/one?s=7').text == '7'
    assert web.post_json('/one', {'s': 'x'}).text == "'x'"
    assert web.post_json('/one', {'s': [1, 'y']}).text == "[1, 'y']"
    assert web.post_json('/one', {'s': 7}).text == '7'
    assert web.post_json('/box', {'box': {'s': 'x'}}).text == "'x'"
    assert web.post_json('/box', {'s': {'a': None}}).text == "{'a': None}"


def test_typing_extensions_any_alone_or_in_a_union_takes_what_was_sent_as_typing_any_does(make_app):
    # (before Python 3.11 typing_extensions.Any is a class of its own: alone it was 'must be a valid Any', a 400, and
    # in a union a 500, isinstance refusing it)
    app = make_app()

    @app.route('/alone', method=['GET', 'POST'])
    def alone(s: typing_extensions.Any):
        return repr(s)

    @app.route('/union', method=['GET', 'POST'])
    def union(s: Union[int, typing_extensions.Any]):
        return repr(s)

    web = client(app)
    assert web.get('/alone?s=x').text == "'x'"
    assert web.post_json('/alone', {'s': [1, 'y']}).text == "[1, 'y']"
    assert web.get('/union?s=x').text == "'x'"
    assert web.get('/union?s=7').text == '7'
    assert web.post_json('/union', {'s': {'a': None}}).text == "{'a': None}"
