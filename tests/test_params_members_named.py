"""Every container speaks the same way in a 400: a ``Dict``'s member and a record's field that does not convert are
named by their key (``its member 'b'``, ``its field 'qty'``) and only that value is shown after ``got``, not the
whole object; a secret-looking key still shows no value.  An item of a list of lists that is no JSON array is named
by its index, as an item of a list of tuples is.  A huge object with one bad member answers at once, briefly."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, NamedTuple, Tuple

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from helpers import least_time, read_log, readme_section, warning_lines
from param_kit import client_serving


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 0
    password: str = ''


class Point(NamedTuple):
    x: int
    y: int


class Line(TypedDict):
    sku: str
    qty: int


class Stock(BaseModel):
    sku: str
    qty: int
    pin: str = Field('', min_length=4)


ITEM = 'must be a JSON object with the fields of Item (name, qty, password)'
PRICES = 'must be a JSON object, each key str and each value int'


def handler(name, annotation):
    """A handler whose one parameter, ``name``, is annotated ``annotation``."""
    namespace = {'annotation': annotation}
    exec('def handle(%s: annotation):\n    return repr(%s)\n' % (name, name), namespace)
    return namespace['handle']


def refused(make_app, log_dir, handler, sent, query=''):
    """The 400's body and the last WARNING line for ``sent`` (a JSON body, or ``query``) to ``handler``."""
    web = client_serving(make_app, '/', handler, ['GET', 'POST'])
    answer = web.get('/?' + query, status=400) if query else web.post_json('/', sent, status=400)
    return answer.text, warning_lines(log_dir)[-1]


def assert_says(answer, message):
    text, line = answer
    assert text == 'Bad request: %s\n' % message
    assert line.endswith(message)


def test_an_item_of_a_list_of_lists_that_is_no_json_array_is_named_by_its_index_as_in_a_list_of_tuples(make_app,
                                                                                                   log_dir):
    assert_says(refused(make_app, log_dir, handler('rows', List[List[int]]),
                        {'rows': [[1], 5]}),
                "parameter 'rows' (at rows[1]) must be a JSON array (a List[int]), got 5")
    assert_says(refused(make_app, log_dir, handler('pairs', List[Tuple[int, int]]),
                        {'pairs': [[1, 2], 5]}),
                "parameter 'pairs' (at pairs[1]) must be a JSON array of 2 values (int, int), got 5")


def test_a_text_from_the_query_for_a_list_of_lists_is_named_by_its_index_as_for_a_list_of_tuples(make_app, log_dir):
    assert_says(refused(make_app, log_dir, handler('rows', List[List[int]]),
                        None, 'rows=1,2&rows=3'),
                "parameter 'rows' (at rows[0]) must be a JSON array (a List[int]), got '1,2'")
    assert_says(refused(make_app, log_dir, handler('pairs', List[Tuple[int, int]]),
                        None, 'pairs=1,2&pairs=3'),
                "parameter 'pairs' (at pairs[0]) must be a JSON array of 2 values (int, int), got '1,2'")


def test_a_dicts_member_that_does_not_convert_is_named_by_its_key_and_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('prices', Dict[str, int]),
                     {'prices': {'a': 1, 'b': 'x', 'c': 3}})
    assert_says(answer, "parameter 'prices' %s: its member 'b' must be an integer, got 'x'" % PRICES)


def test_a_dicts_secret_looking_member_shows_no_value(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('prices', Dict[str, int]),
                     {'prices': {'a': 1, 'password': 'hunter2'}})
    assert_says(answer, "parameter 'prices' %s: its member 'password' must be an integer (the value is not shown: "
                        "the name looks secret)" % PRICES)
    assert 'hunter2' not in read_log(log_dir) + answer[0]


def test_a_secret_looking_member_holding_a_list_shows_none_of_its_items(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('keys', Dict[str, List[int]]),
                     {'keys': {'api_key': [1, 'hunter2']}})
    assert_says(answer, "parameter 'keys' must be a JSON object, each key str and each value List[int]: its member "
                        "'api_key' (at api_key[1]) must be an integer (the value is not shown: the name looks secret)")
    assert 'hunter2' not in read_log(log_dir) + answer[0]


def test_a_dicts_key_that_does_not_convert_is_named_as_a_key_and_shown_not_its_value(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('counts', Dict[int, int]), {'counts': {'1': 2, 'x': 5}})
    assert_says(answer, "parameter 'counts' must be a JSON object, each key int and each value int: its key 'x' must "
                        "be an integer, got 'x'")


def test_a_long_secret_looking_key_cut_in_the_message_still_hides_its_value(make_app, log_dir):
    key = 'k' * 70 + '_password'
    answer = refused(make_app, log_dir, handler('prices', Dict[str, int]), {'prices': {key: 'hunter2'}})
    assert_says(answer, "parameter 'prices' %s: its member '%s' must be an integer (the value is not shown: the name "
                        "looks secret)" % (PRICES, 'k' * 60))
    assert 'hunter2' not in read_log(log_dir) + answer[0]


def test_an_item_of_a_list_in_a_dicts_member_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('m', Dict[str, List[int]]),
                     {'m': {'a': [1], 'b': [1, 'x']}})
    assert_says(answer, "parameter 'm' must be a JSON object, each key str and each value List[int]: its member 'b' "
                        "(at b[1]) must be an integer, got 'x'")


def test_a_member_of_a_dict_in_a_list_is_named_by_the_index_and_the_key_and_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('rows', List[Dict[str, int]]),
                     {'rows': [{'a': 1}, {'a': 'x', 'b': 2}]})
    assert_says(answer, "parameter 'rows' (at rows[1]) %s: its member 'a' must be an integer, got 'x'" % PRICES)


def test_a_secret_looking_member_of_a_dict_in_a_list_shows_no_value(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('rows', List[Dict[str, int]]),
                     {'rows': [{'token': 'abc123'}]})
    assert_says(answer, "parameter 'rows' (at rows[0]) %s: its member 'token' must be an integer (the value is not "
                        "shown: the name looks secret)" % PRICES)
    assert 'abc123' not in read_log(log_dir) + answer[0]


def test_a_dataclass_field_that_does_not_convert_is_shown_alone_not_its_other_fields(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('item', Item),
                     {'item': {'name': 'pen', 'qty': 'many', 'password': 'hunter2'}})
    assert_says(answer, "parameter 'item' %s: its field 'qty' must be an integer, got 'many'" % ITEM)
    assert 'hunter2' not in read_log(log_dir) + answer[0]


def test_a_dataclass_secret_looking_field_that_does_not_convert_shows_no_value(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('item', Item),
                     {'item': {'name': 'pen', 'password': 12345678}})
    assert_says(answer, "parameter 'item' %s: its field 'password' must be a string (the value is not shown: the "
                        "name looks secret)" % ITEM)
    assert '12345678' not in read_log(log_dir) + answer[0]


def test_a_named_tuple_field_is_shown_alone_from_an_object_or_an_array(make_app, log_dir):
    problem = 'must be a JSON object with the fields of Point (x, y), or a JSON array of them in that order'
    message = "parameter 'pt' %s: its field 'y' must be an integer, got 'z'" % problem
    assert_says(refused(make_app, log_dir, handler('pt', Point),
                        {'pt': {'x': 1, 'y': 'z'}}), message)
    assert_says(refused(make_app, log_dir, handler('pt', Point),
                        {'pt': [1, 'z']}), message)


def test_a_typed_dict_field_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('line', Line),
                     {'line': {'sku': 'A-1', 'qty': 'z'}})
    assert_says(answer, "parameter 'line' must be a JSON object with the fields of Line (sku, qty): its field 'qty' "
                        "must be an integer, got 'z'")


def test_a_field_of_a_record_in_a_list_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('items', List[Item]),
                     {'items': [
        {'name': 'first-pen'}, {'name': 'ink', 'qty': 'many', 'password': 'hunter2'}]})
    assert_says(answer, "parameter 'items' (at items[1]) %s: its field 'qty' must be an integer, got 'many'" % ITEM)
    assert 'hunter2' not in read_log(log_dir) + answer[0]


def test_a_field_of_a_record_in_a_dicts_member_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('stock', Dict[str, Item]),
                     {'stock': {'a': {'name': 'x', 'qty': 'q'}}})
    assert_says(answer, "parameter 'stock' must be a JSON object, each key str and each value %s: its member 'a' %s: "
                        "its field 'qty' must be an integer, got 'q'" % (Item.__module__ + '.Item', ITEM))


def test_a_record_that_fails_as_a_whole_in_a_dicts_member_shows_that_member(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('stock', Dict[str, Item]),
                     {'stock': {'a': {'name': 'x'}, 'b': 5}})
    assert_says(answer, "parameter 'stock' must be a JSON object, each key str and each value %s: its member 'b' %s, "
                        "got 5" % (Item.__module__ + '.Item', ITEM))


def test_a_dict_of_ten_thousand_members_with_one_bad_answers_at_once_with_a_short_message(make_app, log_dir):
    prices = {'k%d' % number: number for number in range(10000)}
    prices['k5000'] = 'bad'
    answers = []
    # (the least of up to 3 tries: another job's load only adds to a try's time)
    took, tries = least_time(lambda: answers.append(refused(make_app, log_dir, handler('prices', Dict[str, int]),
                                                             {'prices': prices})), below=2)
    assert took < 2, tries
    answer = answers[-1]
    assert_says(answer, "parameter 'prices' %s: its member 'k5000' must be an integer, got 'bad'" % PRICES)


def test_a_huge_bad_member_and_a_huge_key_are_cut_short(make_app, log_dir):
    key = 'k' * 100000
    answer = refused(make_app, log_dir, handler('prices', Dict[str, int]),
                     {'prices': {'a': 1, key: 'v' * 100000}})
    assert_says(answer, "parameter 'prices' %s: its member '%s' must be an integer, got '%s..."
                % (PRICES, 'k' * 60, 'v' * 56))


def test_a_pydantic_models_one_failing_field_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('stock', Stock), {'stock': {'sku': 'A-1', 'qty': 'z', 'pin': '9876'}})
    assert_says(answer, "parameter 'stock' must be a valid Stock (field 'qty': Input should be a valid integer, unable "
                        "to parse string as an integer), got 'z'")
    assert '9876' not in read_log(log_dir) + answer[0]


def test_a_pydantic_models_failing_field_in_a_dicts_member_is_shown_alone(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('stocks', Dict[str, Stock]),
                     {'stocks': {'a': {'sku': 'A-1', 'qty': 1}, 'b': {'sku': 'B-2', 'qty': 'z'}}})
    assert_says(answer, "parameter 'stocks' must be a JSON object, each key str and each value %s.Stock: its member "
                        "'b' must be a valid Stock (field 'qty': Input should be a valid integer, unable to parse "
                        "string as an integer), got 'z'" % Stock.__module__)


def test_a_pydantic_models_secret_looking_field_that_fails_shows_no_value_of_it(make_app, log_dir):
    # (a pin no timestamp or request id can hold: a '#')
    answer = refused(make_app, log_dir, handler('stock', Stock), {'stock': {'sku': 'A-1', 'qty': 1, 'pin': '9#7'}})
    assert_says(answer, "parameter 'stock' must be a valid Stock (field 'pin': String should have at least 4 "
                        "characters) (the value is not shown: the name looks secret)")
    assert '9#7' not in read_log(log_dir) + answer[0]


def test_a_pydantic_model_with_several_failing_fields_shows_the_object_with_its_secrets_masked(make_app, log_dir):
    answer = refused(make_app, log_dir, handler('stock', Stock), {'stock': {'sku': 5, 'qty': 'z', 'pin': '9#7'}})
    assert answer[0].endswith(", got {'sku': 5, 'qty': 'z', 'pin': '***'}\n")
    assert '9#7' not in read_log(log_dir) + answer[0]


def test_the_readme_shows_a_members_value_alone_and_a_list_of_lists_item_by_its_index():
    section = readme_section('## Parameter unpacking')
    assert "its member 'pen' must be an integer, got 'many'`, that member alone after `got`, however large" in section
    assert "`its member 'password' must be an integer (the value is not shown: the name looks secret)`" in section
    assert "its field 'qty' must be an integer, got 'x'`. A field that does not convert is named by its name" in section
    assert "`parameter 'rows' (at rows[1]) must be a JSON array (a List[int]), got 5` for `{\"rows\": [[1], 5]}`" in section
    assert "or a `Dict`'s member or a record's field whose name does: then neither the answer nor the log" in section
