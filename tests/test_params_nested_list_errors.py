"""A record that failed inside a list of records is named by its index, wherever the list stands: a handler's
``List[Item]`` parameter, a record's ``items: List[Item]`` field, a ``Dict``'s member, a list of lists."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

from pydantic_models import Key

from helpers import warning_lines
from param_kit import client_serving, client_serving_posts


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 1


@dataclasses.dataclass
class Order:
    items: List[Item]
    extras: Optional[Dict[str, List[Item]]] = None


@dataclasses.dataclass
class Shop:
    orders: List[Order]


@dataclasses.dataclass
class Grid:
    rows: List[List[Item]]


@dataclasses.dataclass
class Keyring:
    keys: List[Key]


ITEM = 'must be a JSON object with the fields of Item (name, qty)'


def test_a_list_of_records_in_a_records_field_names_the_item_that_failed_by_its_index(make_app, log_dir):
    def create(order: Order):
        return repr(order)

    web = client_serving(make_app, '/orders', create)
    assert web.post_json('/orders', {'order': {'items': [{'name': 'pen'}]}}).text == repr(Order([Item('pen')]))
    response = web.post_json('/orders', {'order': {'items': [{'name': 'pen'}, {'bad': 1}]}}, status=400)
    message = ("parameter 'order' must be a JSON object with the fields of Order (items, extras): its field 'items' "
               "(at items[1]) %s: Item has no field 'bad', got {'bad': 1}" % ITEM)
    assert response.text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))


def test_a_list_of_records_in_a_dicts_member_names_the_item_by_the_members_name_and_its_index(make_app):
    def create(order: Order):
        return 'never'

    web = client_serving(make_app, '/orders', create)
    response = web.post_json('/orders', {'order': {'items': [], 'extras': {'gift': [{'qty': 2}]}}}, status=400)
    assert ("its field 'extras' must be a JSON object, each key str and each value List[test_params_nested_list_errors."
            "Item]: its member 'gift' (at gift[0]) %s: the field 'name' is missing, got " % ITEM) in response.text


def test_records_in_lists_at_each_depth_are_named_by_the_index_of_each_list(make_app):
    def shop(shop: Shop):
        return 'never'

    def grid(grid: Grid):
        return 'never'

    def rows(rows: List[List[Item]]):
        return 'never'

    web = client_serving_posts(make_app, shop, grid, rows)
    assert ("parameter 'shop' must be a JSON object with the fields of Shop (orders): its field 'orders' (at orders[1]) "
            "must be a JSON object with the fields of Order (items, extras): its field 'items' (at items[0]) %s: Item "
            "has no field 'bad', got " % ITEM) in web.post_json(
        '/shop', {'shop': {'orders': [{'items': []}, {'items': [{'bad': 1}]}]}}, status=400).text
    assert "its field 'rows' (at rows[1][2]) %s: its field 'qty' must be an integer, got " % ITEM in web.post_json(
        '/grid', {'grid': {'rows': [[], [{'name': 'a'}, {'name': 'b'}, {'name': 'c', 'qty': 'x'}]]}}, status=400).text
    assert web.post_json('/rows', {'rows': [[{'name': 'a'}], [{'x': 1}]]}, status=400).text == (
        "Bad request: parameter 'rows' (at rows[1][0]) %s: Item has no field 'x', got {'x': 1}\n" % ITEM)


def test_a_pydantic_model_in_a_list_in_a_records_field_is_named_by_its_index_with_its_secrets_kept_out(make_app,
                                                                                                       log_dir):
    def keyring(keyring: Keyring):
        return 'never'

    def vault(api_token: Keyring):
        return 'never'

    web = client_serving_posts(make_app, keyring, vault)
    assert web.post_json('/keyring', {'keyring': {'keys': [{'value': 'long enough'}, {'value': 'short'}]}},
                         status=400).text == (
        "Bad request: parameter 'keyring' must be a JSON object with the fields of Keyring (keys): its field 'keys' "
        "(at keys[1]) must be a valid Key (field 'value': Value error, short is too short), got 'short'\n")
    assert web.post_json('/vault', {'api_token': {'keys': [{'value': 'hunter2'}]}}, status=400).text == (
        "Bad request: parameter 'api_token' must be a JSON object with the fields of Keyring (keys): its field 'keys' "
        "(at keys[0]) must be a valid Key (field 'value': (its message is not shown: it holds the value sent, and the "
        "name looks secret)) (the value is not shown: the name looks secret)\n")
    assert 'hunter2' not in ''.join(warning_lines(log_dir))


def test_a_list_of_records_in_a_fixed_length_tuple_parameter_names_the_item_by_the_parameter_and_both_indexes(
        make_app, log_dir):
    def pair(pair: Tuple[List[Item], int]):
        return 'never'

    def pairs(pairs: List[Tuple[List[Item], int]]):
        return 'never'

    web = client_serving_posts(make_app, pair, pairs)
    message = "parameter 'pair' (at pair[0][1]) %s: Item has no field 'x', got {'x': 1}" % ITEM
    assert web.post_json('/pair', {'pair': [[{'name': 'a'}, {'x': 1}], 3]}, status=400).text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))
    assert web.post_json('/pairs', {'pairs': [[[], 1], [[{'name': 'a'}, {'x': 1}], 3]]}, status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[1][0][1]) %s: Item has no field 'x', got {'x': 1}\n" % ITEM)
