"""A value that failed in a position of a fixed-length tuple is named by that position, ``(at pair[1])``, wherever
the tuple stands (a parameter, an item of a list, a ``Dict``'s member, a record's field) and wherever the value came
from (the query, a form, a JSON body)."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

from helpers import client, warning_lines
from param_kit import client_serving, client_serving_posts


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 1


@dataclasses.dataclass
class Shape:
    corner: Optional[Tuple[int, int]] = None


ITEM = 'must be a JSON object with the fields of Item (name, qty)'


def test_a_position_beside_a_list_of_records_that_failed_is_named_by_its_position(make_app, log_dir):
    def pair(pair: Tuple[List[Item], int]):
        return 'never'

    web = client_serving(make_app, '/pair', pair)
    message = "parameter 'pair' (at pair[1]) must be an integer, got 'x'"
    assert web.post_json('/pair', {'pair': [[{'name': 'a'}], 'x']}, status=400).text == (
        'Bad request: %s\n' % message)
    assert any(message in line for line in warning_lines(log_dir))


def test_a_record_standing_in_a_position_that_failed_is_named_by_its_position(make_app):
    def pair(pair: Tuple[Item, int]):
        return repr(pair)

    web = client_serving(make_app, '/pair', pair)
    assert web.post_json('/pair', {'pair': [{'name': 'a'}, 3]}).text == repr((Item('a'), 3))
    assert web.post_json('/pair', {'pair': [{'x': 1}, 3]}, status=400).text == (
        "Bad request: parameter 'pair' (at pair[0]) %s: Item has no field 'x', got {'x': 1}\n" % ITEM)
    assert web.post_json('/pair', {'pair': [{'name': 'a'}, 'x']}, status=400).text == (
        "Bad request: parameter 'pair' (at pair[1]) must be an integer, got 'x'\n")


def test_a_position_that_failed_is_named_whether_the_values_came_from_the_query_a_form_or_json(make_app):
    app = make_app()

    @app.route('/point', method=['GET', 'POST'])
    def point(point: Tuple[str, int]):
        return repr(point)

    web = client(app)
    message = "Bad request: parameter 'point' (at point[1]) must be an integer, got 'x'\n"
    assert web.get('/point?point=a&point=x', status=400).text == message
    assert web.post('/point', [('point', 'a'), ('point', 'x')], status=400).text == message
    assert web.post_json('/point', {'point': ['a', 'x']}, status=400).text == message
    assert web.get('/point?point=a&point=5').text == repr(('a', 5))


def test_a_tuple_in_a_list_a_dicts_member_or_a_records_field_is_named_by_where_it_stands_then_its_position(make_app):
    def pairs(pairs: List[Tuple[int, str]]):
        return 'never'

    def corners(corners: Dict[str, Tuple[int, int]]):
        return 'never'

    def shape(shape: Shape):
        return 'never'

    web = client_serving_posts(make_app, pairs, corners, shape)
    assert web.post_json('/pairs', {'pairs': [[1, 'a'], ['x', 'b']]}, status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[1][0]) must be an integer, got 'x'\n")
    assert web.post_json('/corners', {'corners': {'top': [1, 'x']}}, status=400).text == (
        "Bad request: parameter 'corners' must be a JSON object, each key str and each value Tuple[int, int]: its "
        "member 'top' (at top[1]) must be an integer, got 'x'\n")
    assert web.post_json('/shape', {'shape': {'corner': ['x', 2]}}, status=400).text == (
        "Bad request: parameter 'shape' must be a JSON object with the fields of Shape (corner): its field 'corner' "
        "(at corner[0]) must be an integer, got 'x'\n")


def test_an_empty_flag_in_a_position_is_named_by_it_with_how_to_send_a_flag(make_app):
    def flags(flags: Tuple[int, bool]):
        return 'never'

    web = client_serving(make_app, '/flags', flags, 'GET')
    assert web.get('/flags?flags=1&flags=', status=400).text == (
        "Bad request: parameter 'flags' (at flags[1]) must be true or false, got an empty value (a bare ?flags, or "
        "?flags=, sends one): send ?flags=true or ?flags=false\n")


def test_a_secret_looking_tuples_position_is_named_with_its_value_kept_out(make_app, log_dir):
    def codes(api_token: Tuple[int, int]):
        return 'never'

    web = client_serving(make_app, '/codes', codes, 'GET')
    assert web.get('/codes?api_token=1&api_token=hunter2', status=400).text == (
        "Bad request: parameter 'api_token' (at api_token[1]) must be an integer (the value is not shown: the name "
        "looks secret)\n")
    assert 'hunter2' not in ''.join(warning_lines(log_dir))
