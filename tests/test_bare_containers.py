"""Bare container annotations (``set``, ``frozenset``, ``tuple`` and their typing forms, no item type):
the handler gets that class, holding the values as sent (text; from JSON, the JSON values as they are)."""
import typing

import pytest

import canister
from helpers import client, shown


def bare_app(make_app):
    app = make_app()

    @app.route('/c', method=['GET', 'POST'])
    def containers(s: set = None, f: frozenset = None, t: tuple = None, ts: typing.Set = None,
                   tf: typing.FrozenSet = None, tt: typing.Tuple = None):
        return ' / '.join(shown(value) for value in (s, f, t, ts, tf, tt))

    return app


def test_bare_set_frozenset_and_tuple_give_their_class_of_the_texts_sent(make_app):
    web = client(bare_app(make_app))
    assert web.get('/c?s=b&s=a&s=b&f=1&f=1&t=x&t=1&t=x&ts=2&tf=3&tt=4&tt=4').text == \
        "set ['a', 'b'] / frozenset ['1'] / tuple ('x', '1', 'x') / set ['2'] / frozenset ['3'] / tuple ('4', '4')"


def test_bare_set_frozenset_and_tuple_give_their_class_of_the_json_values_sent(make_app):
    web = client(bare_app(make_app))
    body = {'s': [1, 'a', 1], 'f': [True], 't': [1, None, {'k': 'v'}], 'ts': [], 'tf': [2.5], 'tt': []}
    assert web.post_json('/c', body).text == \
        "set ['a', 1] / frozenset [True] / tuple (1, None, {'k': 'v'}) / set [] / frozenset [2.5] / tuple ()"


def test_a_json_array_or_object_in_a_bare_set_is_a_400(make_app):
    web = client(bare_app(make_app))
    for name in ('s', 'f', 'ts', 'tf'):
        for inside in ([1], {'k': 1}):
            answer = web.post_json('/c', {name: ['a', inside]}, status=400).text
            assert "parameter '%s'" % name in answer and 'a JSON array or object is not one' in answer


def test_an_empty_tuple_annotation_takes_no_value(make_app):
    app = make_app()

    @app.route('/e', method=['GET', 'POST'])
    def empty(nothing: typing.Tuple[()] = ()):
        return shown(nothing)

    web = client(app)
    assert web.get('/e').text == 'tuple ()'
    assert web.post_json('/e', {'nothing': []}).text == 'tuple ()'
    assert "parameter 'nothing' must have 0 values" in web.get('/e?nothing=1', status=400).text


def test_an_empty_tuple_annotation_without_a_default_is_refused_when_the_route_is_applied(make_app):
    """Only a JSON ``[]`` would fill it (a query or form value is one value): a mistake in the handler,
    said on the route's first request rather than as a 400 to every client."""
    app = make_app()

    @app.route('/e', method=['GET', 'POST'])
    def empty(nothing: typing.Tuple[()]):
        return shown(nothing)

    web = client(app)
    for send in (lambda: web.get('/e'), lambda: web.post_json('/e', {'nothing': []})):
        with pytest.raises(canister.CanisterError) as raised:
            send()
        assert str(raised.value) == (
            "canister: parameter 'nothing' of empty (route /e) is a Tuple[()] without a default, which only a "
            "JSON [] would fill: give it the default () or the annotation Optional[Tuple[()]], or write "
            "Tuple[str, ...] for a tuple of any length")


def test_an_optional_empty_tuple_annotation_without_a_default_is_none_when_absent(make_app):
    app = make_app()

    @app.route('/e', method=['GET', 'POST'])
    def empty(nothing: typing.Optional[typing.Tuple[()]]):
        return shown(nothing)

    web = client(app)
    assert web.get('/e').text == 'NoneType None'
    assert web.post_json('/e', {'nothing': []}).text == 'tuple ()'
