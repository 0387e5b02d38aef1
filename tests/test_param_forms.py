"""Typing forms beyond X, Optional[X] and List[X]: unions, tuples, sets, frozensets, abstract sequences."""
import abc
import collections.abc
import datetime
import typing
from typing import FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

import pytest

from helpers import client, read_log, shown
from param_kit import client_serving


def warnings_in(log):
    """The WARNING lines of the log, without their time and level."""
    return [line.split('] ', 1)[-1].strip() for line in log.splitlines() if line.split()[2:3] == ['WARNING']]


# --------------------------------------------------------------------------
# Union[A, B, ...]

def test_a_union_gives_the_most_exact_member_that_converts_whatever_the_order_written(make_app):
    def u(x: Union[int, str], y: Union[str, int] = '-', z: Union[float, int] = 0):
        return '%s / %s / %s' % (shown(x), shown(y), shown(z))

    web = client_serving(make_app, '/u', u, 'GET')
    assert web.get('/u?x=5&y=5&z=5').text == "int 5 / int 5 / int 5"
    assert web.get('/u?x=abc&y=abc&z=2.5').text == "str 'abc' / str 'abc' / float 2.5"


def test_a_union_inside_a_list_keeps_its_order_when_python_hands_it_over_reordered(make_app):
    """typing caches List[...] by equality, and Union[str, int] == Union[int, str]: a List[Union[int, str]]
    made after a List[Union[str, int]] is that earlier object, members in the other order."""
    assert List[Union[str, int]]  # made first: List[Union[int, str]] below may be this very object
    def u(tag: List[Union[int, str]]):
        return shown(tag)

    web = client_serving(make_app, '/u', u, 'GET')
    assert web.get('/u?tag=1&tag=a').text == "list [1, 'a']"


def test_a_json_value_that_already_is_a_member_of_the_union_is_kept_as_is(make_app):
    def u(x: Union[int, str] = 0, n: Union[float, int] = 0, flag: Union[bool, int] = 0):
        return '%s / %s / %s' % (shown(x), shown(n), shown(flag))

    web = client_serving(make_app, '/u', u)
    assert web.post_json('/u', {'x': 5, 'n': 5, 'flag': True}).text == 'int 5 / int 5 / bool True'
    assert web.post_json('/u', {'x': 'abc', 'n': 2.5, 'flag': 3}).text == "str 'abc' / float 2.5 / int 3"
    # a JSON string is a str: kept where str is a member, else the members are tried in order
    assert web.post_json('/u', {'x': '5', 'n': '5'}).text == "str '5' / int 5 / int 0"


def test_json_true_is_not_an_int_member_of_a_union(make_app, log_dir):
    def u(x: Union[int, str]):
        return shown(x)

    web = client_serving(make_app, '/u', u)
    refused = web.post_json('/u', {'x': True}, status=400)
    assert "parameter 'x' must be int or str, got True" in refused.text


def test_a_value_no_member_of_the_union_converts_is_a_400_naming_the_types_and_logged(make_app, log_dir):
    def u(when: Union[int, datetime.date, typing.Literal['never']]):
        return shown(when)

    web = client_serving(make_app, '/u', u, 'GET')
    assert web.get('/u?when=2024-05-31').text == 'date datetime.date(2024, 5, 31)'
    assert web.get('/u?when=never').text == "str 'never'"
    refused = web.get('/u?when=soon', status=400)
    message = "parameter 'when' must be one of Literal['never'], int or datetime.date, got 'soon'"
    assert message in refused.text
    assert 'Bad request: %s' % message in read_log(log_dir)


def test_none_in_a_union_makes_it_optional_as_optional_does(make_app):
    app = make_app()

    @app.route('/u', method=['GET', 'POST'])
    def u(a: Optional[Union[int, str]], b: Union[int, str, None] = 7):
        return '%s / %s' % (shown(a), shown(b))

    web = client(app)
    assert web.get('/u').text == 'NoneType None / int 7'
    assert web.get('/u?a=&b=').text == 'NoneType None / NoneType None'
    assert web.post_json('/u', {'a': None, 'b': None}).text == 'NoneType None / NoneType None'
    assert web.get('/u?a=5&b=x').text == "int 5 / str 'x'"


def test_a_union_converts_a_url_argument_and_each_item_of_a_list_or_tuple(make_app):
    app = make_app()

    @app.route('/items/<key>', method=['GET', 'POST'])
    def items(key: Union[int, str], tag: List[Union[int, str]] = (), pair: Tuple[Union[int, str], int] = (0, 0)):
        return '%s / %s / %s' % (shown(key), shown(tag), shown(pair))

    web = client(app)
    assert web.get('/items/5?tag=1&tag=a&pair=2&pair=3').text == "int 5 / list [1, 'a'] / tuple (2, 3)"
    assert web.get('/items/abc').text == "str 'abc' / tuple () / tuple (0, 0)"
    assert web.post_json('/items/abc', {'tag': ['1', 2], 'pair': ['2', '3']}).text == \
        "str 'abc' / list ['1', 2] / tuple ('2', 3)"


def test_a_union_with_a_container_member_is_bound_as_text_and_logged_at_apply(make_app, log_dir):
    def u(x: Union[int, List[int]]):
        return shown(x)

    web = client_serving(make_app, '/u', u, 'GET')
    assert web.get('/u?x=5').text == "str '5'"
    web.get('/u?x=6')
    assert warnings_in(read_log(log_dir)) == [
        "Route GET /u: parameter 'x' is bound as text: canister cannot convert to its annotation "
        "Union[int, List[int]] (a union member, List[int], is a container)"]


# --------------------------------------------------------------------------
# Tuple

def test_a_fixed_length_tuple_converts_each_position(make_app):
    app = make_app()

    @app.route('/t', method=['GET', 'POST'])
    def t(point: Tuple[int, str], pair: tuple[float, bool] = (0.0, False)):
        return '%s / %s' % (shown(point), shown(pair))

    web = client(app)
    assert web.get('/t?point=5&point=abc').text == "tuple (5, 'abc') / tuple (0.0, False)"
    assert web.post('/t', {'point': ['5', 'abc'], 'pair': ['1.5', 'yes']}).text == \
        "tuple (5, 'abc') / tuple (1.5, True)"
    assert web.post_json('/t', {'point': [5, 'abc'], 'pair': [2, False]}).text == \
        "tuple (5, 'abc') / tuple (2.0, False)"
    refused = web.get('/t?point=abc&point=5', status=400)
    assert "parameter 'point' (at point[0]) must be an integer, got 'abc'" in refused.text


def test_a_fixed_length_tuple_sent_another_count_of_values_is_a_400_naming_the_count(make_app, log_dir):
    app = make_app()

    @app.route('/t', method=['GET', 'POST'])
    def t(point: Tuple[int, str]):
        return shown(point)

    web = client(app)
    refused = web.get('/t?point=5', status=400)
    assert "parameter 'point' must have 2 values (int, str), got '5'" in refused.text
    assert "Bad request: parameter 'point' must have 2 values (int, str), got '5'" in read_log(log_dir)
    assert 'must have 2 values' in web.post_json('/t', {'point': [1, 'a', 'b']}, status=400).text
    assert 'must have 2 values' in web.post_json('/t', {'point': 1}, status=400).text


def test_a_tuple_with_an_ellipsis_is_a_tuple_of_any_length(make_app):
    app = make_app()

    @app.route('/t', method=['GET', 'POST'])
    def t(ids: Tuple[int, ...] = ()):
        return shown(ids)

    web = client(app)
    assert web.get('/t?ids=1&ids=2&ids=3').text == 'tuple (1, 2, 3)'
    assert web.get('/t?ids=4').text == 'tuple (4,)'
    assert web.post_json('/t', {'ids': []}).text == 'tuple ()'
    assert "parameter 'ids' (at ids[1]) must be an integer, got 'x'" in web.get('/t?ids=1&ids=x', status=400).text


def test_a_bare_tuple_list_or_set_gives_its_class_holding_the_values_as_sent(make_app):
    app = make_app()

    @app.route('/t', method=['GET', 'POST'])
    def t(a: tuple = (), b: Tuple = (), c: set = (), d: list = ()):
        return ' / '.join(shown(value) for value in (a, b, c, d))

    web = client(app)
    assert web.get('/t?a=1&a=1&b=2&c=3&c=3&d=4').text == "tuple ('1', '1') / tuple ('2',) / set ['3'] / list ['4']"
    assert web.post_json('/t', {'a': [1, None]}).text == 'tuple (1, None) / tuple () / tuple () / tuple ()'


# --------------------------------------------------------------------------
# Set and FrozenSet

def test_a_frozenset_or_set_holds_the_repeated_values_converted(make_app):
    app = make_app()

    @app.route('/s', method=['GET', 'POST'])
    def s(tags: FrozenSet[str] = frozenset(), ids: frozenset[int] = frozenset(), seen: Set[int] = frozenset()):
        return ' / '.join(shown(value) for value in (tags, ids, seen))

    web = client(app)
    assert web.get('/s?tags=ab&tags=cd&tags=ab&ids=2&ids=1&ids=2&seen=3').text == \
        "frozenset ['ab', 'cd'] / frozenset [1, 2] / set [3]"
    assert web.post_json('/s', {'tags': ['x'], 'ids': [1, 1], 'seen': []}).text == \
        "frozenset ['x'] / frozenset [1] / set []"
    assert "parameter 'ids' must be an integer" in web.get('/s?ids=one', status=400).text


def test_a_json_array_or_object_in_a_set_is_a_400(make_app, log_dir):
    def s(items: frozenset):
        return shown(items)

    web = client_serving(make_app, '/s', s)
    assert web.post_json('/s', {'items': [1, 'a', 1]}).text == "frozenset ['a', 1]"
    refused = web.post_json('/s', {'items': [[1], {'a': 1}]}, status=400)
    assert "parameter 'items' must hold values a set can hold (a JSON array or object is not one)" in refused.text
    assert "Bad request: parameter 'items' must hold values a set can hold" in read_log(log_dir)


# --------------------------------------------------------------------------
# null in a list

def test_a_json_null_in_an_optional_list_of_a_type_is_a_400(make_app):
    def n(ids: Optional[List[int]] = None, names: Optional[List[str]] = None):
        return '%s / %s' % (shown(ids), shown(names))

    web = client_serving(make_app, '/n', n)
    assert "parameter 'ids' (at ids[0]) must be an integer, got None" in web.post_json('/n', {'ids': [None]},
                                                                                       status=400).text
    assert "parameter 'names' (at names[0]) must be a string" in web.post_json('/n', {'names': [None]},
                                                                               status=400).text
    assert web.post_json('/n', {'ids': None, 'names': ['']}).text == "NoneType None / list ['']"


def test_a_json_null_in_a_list_of_optional_items_is_none(make_app):
    app = make_app()

    @app.route('/n', method=['GET', 'POST'])
    def n(ids: Optional[List[Optional[int]]] = None):
        return shown(ids)

    web = client(app)
    assert web.post_json('/n', {'ids': [None]}).text == 'list [None]'
    assert web.post_json('/n', {'ids': [1, None, 2]}).text == 'list [1, None, 2]'
    assert web.post_json('/n', {'ids': None}).text == 'NoneType None'
    assert web.get('/n?ids=1&ids=&ids=3').text == 'list [1, None, 3]'


# --------------------------------------------------------------------------
# abstract containers, PEP 585

def test_sequence_iterable_and_pep585_list_give_a_list_of_converted_values(make_app):
    app = make_app()

    @app.route('/q', method=['GET', 'POST'])
    def q(a: Sequence[int] = (), b: Iterable[int] = (), c: collections.abc.Sequence[int] = (),
          d: list[int] = (), e: typing.Collection[int] = (), f: collections.abc.Iterable[int] = ()):
        return ' / '.join(shown(value) for value in (a, b, c, d, e, f))

    web = client(app)
    assert web.get('/q?a=1&a=2&b=3&c=4&d=5&e=6&f=7').text == \
        'list [1, 2] / list [3] / list [4] / list [5] / list [6] / list [7]'
    assert web.post_json('/q', {'a': [7], 'b': [], 'c': [8, 9]}).text == \
        'list [7] / list [] / list [8, 9] / tuple () / tuple () / tuple ()'
    assert "parameter 'b' must be an integer" in web.get('/q?b=x', status=400).text


class Shape(abc.ABC):
    """An abstract class of the app's."""

    @abc.abstractmethod
    def area(self) -> float:
        """Its area."""


def test_an_abstract_class_canister_cannot_make_is_bound_as_text_and_logged_at_apply(make_app, log_dir):
    app = make_app()

    @app.route('/m', method=['GET', 'POST'])
    def m(prefs: Shape = ''):  # (not None: before Python 3.11 that makes it Optional)
        return shown(prefs)

    web = client(app)
    assert web.get('/m?prefs=dark').text == "str 'dark'"
    assert web.post_json('/m', {'prefs': {'size': 2}}).text == "dict {'size': 2}"
    assert warnings_in(read_log(log_dir)) == [
        "Route GET /m: parameter 'prefs' is bound as text: canister cannot convert to its annotation "
        "test_param_forms.Shape (test_param_forms.Shape is an abstract class)",
        "Route POST /m: parameter 'prefs' is bound as text: canister cannot convert to its annotation "
        "test_param_forms.Shape (test_param_forms.Shape is an abstract class)"]


def test_a_mapping_parameter_converts_each_key_and_value_as_a_dict_one_does(make_app, log_dir):
    """``Mapping[K, V]`` and ``MutableMapping[K, V]`` were bound as text, with a WARNING at apply, where
    ``Dict[K, V]`` converts: now the same dict, and the same 400 for a value that does not fit."""
    def m(prefs: typing.Mapping[str, int] = {}, names: collections.abc.MutableMapping[int, str] = {},  # noqa: B006
          extra: typing.Mapping = {}):
        return shown((prefs, names, extra))

    web = client_serving(make_app, '/m', m)
    assert web.post_json('/m', {'prefs': {'size': 2}, 'names': {'1': 'a'}, 'extra': {'x': [1]}}).text == \
        "tuple ({'size': 2}, {1: 'a'}, {'x': [1]})"
    assert web.post_json('/m', {'prefs': {'size': 'big'}}, status=400).text == (
        "Bad request: parameter 'prefs' must be a JSON object, each key str and each value int: its member 'size' "
        "must be an integer, got 'big'\n")
    assert web.post('/m', {'prefs': 'dark'}, status=400).text == (
        "Bad request: parameter 'prefs' must be a JSON object, each key str and each value int, got 'dark'\n")
    assert not [line for line in warnings_in(read_log(log_dir)) if 'Route POST /m' in line]


@pytest.mark.parametrize('primed', [False, True])
def test_a_union_of_date_and_datetime_gives_a_date_for_a_date_whatever_python_hands_over(make_app, primed):
    if primed:
        assert List[Union[datetime.datetime, datetime.date]]  # made first: may come back for the one below
    def when(day: List[Union[datetime.date, datetime.datetime]]):
        return shown(day)

    web = client_serving(make_app, '/when', when, 'GET')
    assert web.get('/when?day=2024-01-02').text == 'list [datetime.date(2024, 1, 2)]'
    assert web.get('/when?day=2024-01-02T10:30').text == 'list [datetime.datetime(2024, 1, 2, 10, 30)]'
