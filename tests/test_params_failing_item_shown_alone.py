"""A fixed-length tuple, a list of records or a list of tuples one of whose values does not convert: its 400 names
that value by where it stands (``(at pair[1])``) and shows it alone after ``got``, as a plain list does, not the
whole list; a secret-looking name still shows no value.  The other containers of plain values give the same shape."""
from __future__ import annotations

import dataclasses
import json
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple

import pytest

from helpers import warning_lines
from param_kit import server_client_serving
from servers import Client, Response


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 0
    password: str = ''


def post_json(web: Client, path: str, value: object) -> Response:
    return web.request('POST', path, json.dumps(value).encode(), {'Content-Type': 'application/json'})


def assert_400_logged(answer: Response, message: str, log_dir: object) -> None:
    """``answer`` is a 400 whose body is ``Bad request: message``, and a WARNING line of the log ends with it."""
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert any(line.endswith(message) for line in warning_lines(log_dir))


def test_a_fixed_length_tuple_shows_only_the_position_that_failed(make_app, serve, log_dir):
    def pair(pair: Tuple[int, int]):
        return repr(pair)

    web = server_client_serving(make_app, serve, '/pair', pair, 'GET')
    answer = web.get('/pair?pair=1234&pair=x')
    message = "parameter 'pair' (at pair[1]) must be an integer, got 'x'"
    assert_400_logged(answer, message, log_dir)


def test_a_list_of_records_shows_only_the_record_that_failed_with_its_secrets_kept_out(make_app, serve, log_dir):
    def items(items: List[Item]):
        return repr(items)

    web = server_client_serving(make_app, serve, '/items', items, 'POST')
    answer = post_json(web, '/items', {'items': [
        {'name': 'first-pen', 'qty': 1}, {'name': 'ink', 'qty': 'many', 'password': 'hunter2'}]})
    message = ("parameter 'items' (at items[1]) must be a JSON object with the fields of Item (name, qty, password): "
               "its field 'qty' must be an integer, got 'many'")
    assert_400_logged(answer, message, log_dir)
    assert 'first-pen' not in answer.text and 'hunter2' not in answer.text


def test_a_position_of_a_tuple_in_a_list_shows_only_that_value(make_app, serve, log_dir):
    def pairs(pairs: List[Tuple[int, str]]):
        return repr(pairs)

    web = server_client_serving(make_app, serve, '/pairs', pairs, 'POST')
    answer = post_json(web, '/pairs', {'pairs': [[1, 'a'], ['x', 'b']]})
    message = "parameter 'pairs' (at pairs[1][0]) must be an integer, got 'x'"
    assert_400_logged(answer, message, log_dir)


def test_a_fixed_length_tuple_with_a_secret_looking_name_shows_no_value(make_app, serve, log_dir):
    def keys(api_keys: Tuple[int, int]):
        return repr(api_keys)

    web = server_client_serving(make_app, serve, '/keys', keys, 'GET')
    answer = web.get('/keys?api_keys=1234&api_keys=s3cret')
    message = "parameter 'api_keys' (at api_keys[1]) must be an integer (the value is not shown: the name looks secret)"
    assert_400_logged(answer, message, log_dir)
    assert not any('s3cret' in line or '1234' in line for line in warning_lines(log_dir) + [answer.text])


@pytest.mark.parametrize('annotation', [Set[int], FrozenSet[int], Sequence[int], Optional[List[int]],
                                        Tuple[int, ...]], ids=repr)  # (Union[List[int], None] is Optional[List[int]])
def test_other_containers_of_integers_show_only_the_item_that_failed_from_the_query_or_a_json_array(
        make_app, serve, log_dir, annotation):
    def ids(ids):
        return repr(ids)
    ids.__annotations__['ids'] = annotation

    web = server_client_serving(make_app, serve, '/ids', ids, ['GET', 'POST'])
    message = "parameter 'ids' (at ids[1]) must be an integer, got 'x'"
    for answer in web.get('/ids?ids=1234&ids=x&ids=y'), post_json(web, '/ids', {'ids': [1234, 'x', 'y']}):
        assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert sum(line.endswith(message) for line in warning_lines(log_dir)) == 2
