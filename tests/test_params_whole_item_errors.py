"""A 400 names where a value failed inside a list when the item failed as a whole too (a tuple of another length,
``(at pairs[1])``), and in a list of ``Dict``s (``(at rows[1])``, then the member); a container that is no JSON array
of the right length, named where it stands, says what it must be there."""
from __future__ import annotations

import dataclasses
import decimal
import random
import re
from typing import Any, Dict, List, Optional, Tuple

from helpers import client, warning_lines
from param_kit import client_serving, client_serving_posts


@dataclasses.dataclass
class Shape:
    corner: Optional[Tuple[int, int]] = None
    edges: Optional[List[Tuple[int, int]]] = None


def test_a_tuple_of_another_length_inside_a_list_is_named_by_its_index(make_app, log_dir):
    app = make_app()

    @app.route('/pairs', method=['GET', 'POST'])
    def pairs(pairs: List[Tuple[int, int]]):
        return repr(pairs)

    web = client(app)
    message = "parameter 'pairs' (at pairs[1]) must be a JSON array of 2 values (int, int), got [3]"
    assert web.post_json('/pairs', {'pairs': [[1, 2], [3]]}, status=400).text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))
    assert web.post_json('/pairs', {'pairs': [[1, 2], 5]}, status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[1]) must be a JSON array of 2 values (int, int), got 5\n")
    assert web.get('/pairs?pairs=1', status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[0]) must be a JSON array of 2 values (int, int), got '1'\n")
    assert web.post_json('/pairs', {'pairs': [[1, 2], ['3', 4]]}).text == repr([(1, 2), (3, 4)])


def test_a_list_of_tuples_sent_as_one_text_with_commas_is_not_told_to_repeat_the_name(make_app):
    app = make_app()

    @app.get('/pairs')
    def pairs(pairs: List[Tuple[int, int]]):
        return repr(pairs)

    web = client(app)  # (?pairs=1&pairs=2 would be two texts, no JSON array either)
    assert web.get('/pairs?pairs=1,2', status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[0]) must be a JSON array of 2 values (int, int), got '1,2'\n")
    assert web.get('/pairs?pairs=1&pairs=2', status=400).text == (
        "Bad request: parameter 'pairs' (at pairs[0]) must be a JSON array of 2 values (int, int), got '1'\n")


def test_an_optional_tuple_of_another_length_inside_a_list_or_a_list_of_lists_is_named_by_its_index(make_app):
    def rows(rows: List[Optional[Tuple[int, int]]]):
        return repr(rows)

    def grid(grid: List[List[Tuple[int, int]]]):
        return repr(grid)

    web = client_serving_posts(make_app, rows, grid)
    assert web.post_json('/rows', {'rows': [None, [1]]}, status=400).text == (
        "Bad request: parameter 'rows' (at rows[1]) must be a JSON array of 2 values (int, int), got [1]\n")
    assert web.post_json('/rows', {'rows': [None, [1, 2]]}).text == repr([None, (1, 2)])
    assert web.post_json('/grid', {'grid': [[], [[1, 2], [1]]]}, status=400).text == (
        "Bad request: parameter 'grid' (at grid[1][1]) must be a JSON array of 2 values (int, int), got [1]\n")


def test_a_dict_that_failed_inside_a_list_is_named_by_its_index_then_its_member(make_app, log_dir):
    def rows(rows: List[Dict[str, Tuple[int, int]]]):
        return repr(rows)

    web = client_serving(make_app, '/rows', rows)
    dict_problem = 'must be a JSON object, each key str and each value Tuple[int, int]'
    message = "parameter 'rows' (at rows[1]) %s: its member 'a' (at a[1]) must be an integer, got 'x'" % dict_problem
    assert web.post_json('/rows', {'rows': [{}, {'a': [1, 'x']}]}, status=400).text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))
    assert web.post_json('/rows', {'rows': [{}, {'a': [1]}]}, status=400).text == (
        "Bad request: parameter 'rows' (at rows[1]) %s: its member 'a' must be a JSON array of 2 values (int, int), "
        "got [1]\n" % dict_problem)
    assert web.post_json('/rows', {'rows': [{}, 5]}, status=400).text == (
        "Bad request: parameter 'rows' (at rows[1]) %s, got 5\n" % dict_problem)
    assert web.post_json('/rows', {'rows': [{'a': [1, '2']}]}).text == repr([{'a': (1, 2)}])


def test_a_list_of_dicts_of_integers_names_the_dict_by_its_index_as_the_readme_shows(make_app):
    def rows(rows: List[Dict[str, int]]):
        return repr(rows)

    web = client_serving(make_app, '/rows', rows)
    assert web.post_json('/rows', {'rows': [{}, {'pen': 'x'}]}, status=400).text == (
        "Bad request: parameter 'rows' (at rows[1]) must be a JSON object, each key str and each value int: its member "
        "'pen' must be an integer, got 'x'\n")


def test_a_tuple_field_of_another_length_says_it_must_be_an_array_of_that_many_values(make_app):
    def shape(shape: Shape):
        return repr(shape)

    web = client_serving(make_app, '/shape', shape)
    problem = 'must be a JSON object with the fields of Shape (corner, edges)'
    assert web.post_json('/shape', {'shape': {'corner': [1]}}, status=400).text == (
        "Bad request: parameter 'shape' %s: its field 'corner' must be a JSON array of 2 values (int, int), got "
        "[1]\n" % problem)
    assert web.post_json('/shape', {'shape': {'edges': [[1, 2], [1]]}}, status=400).text == (
        "Bad request: parameter 'shape' %s: its field 'edges' (at edges[1]) must be a JSON array of 2 values "
        "(int, int), got [1]\n" % problem)


def test_an_optional_tuple_names_the_position_that_failed_wherever_it_stands(make_app):
    def point(point: Optional[Tuple[int, str]]):
        return repr(point)

    def corners(corners: Dict[str, Optional[Tuple[int, int]]]):
        return repr(corners)

    web = client_serving_posts(make_app, point, corners)
    assert web.post_json('/point', {'point': ['x', 'y']}, status=400).text == (
        "Bad request: parameter 'point' (at point[0]) must be an integer, got 'x'\n")
    assert web.post_json('/point', {'point': None}).text == 'None'
    assert web.post_json('/corners', {'corners': {'top': None, 'left': [1, 'x']}}, status=400).text == (
        "Bad request: parameter 'corners' must be a JSON object, each key str and each value "
        "Optional[Tuple[int, int]]: its member 'left' (at left[1]) must be an integer, got 'x'\n")


# Generated bodies ############################################################

SHAPES: Dict[str, Any] = {
    'pairs': List[Tuple[int, int]],
    'maybe_pairs': List[Optional[Tuple[int, str]]],
    'point': Optional[Tuple[int, str]],
    'rows': List[Dict[str, Tuple[int, int]]],
    'by_name': Dict[str, List[Tuple[int, int]]],
    'grid': List[List[Tuple[int, int]]],
    'shape': Shape,
    'prices': List[Tuple[decimal.Decimal, int]],
    'priced': List[Dict[str, Tuple[decimal.Decimal, int]]],
}

#: A place named in a 400: ``(at rows[1][0])`` (its indexes), or ``its member 'a'`` / ``its field 'a'`` (its name).
PLACE = re.compile(r"\(at [A-Za-z_0-9]*((?:\[\d+\])+)\)|its (?:member|field) '([A-Za-z_0-9]*)'")


def _junk(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return rng.randint(-3, 99)
    if choice == 1:
        return rng.choice([0.5, 2.25, 1e3])
    if choice == 2:
        return rng.choice(['x', '7', '', 'ab'])
    if choice == 3:
        return rng.choice([None, True, False])
    if choice == 4:
        return []
    if choice in (5, 6):
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice('abc'): _junk(rng, depth + 1) for _ in range(rng.randrange(3))}


def _value_for(kind: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value that fits ``kind`` most of the time, else junk, at any depth."""
    if rng.random() < 0.15 or depth > 4:
        return _junk(rng)
    if kind is Shape:
        return {name: _value_for(hint, rng, depth + 1) for name, hint in
                (('corner', Optional[Tuple[int, int]]), ('edges', Optional[List[Tuple[int, int]]])) if rng.random() < .7}
    origin, args = getattr(kind, '__origin__', None), getattr(kind, '__args__', ())
    if origin is list:
        return [_value_for(args[0], rng, depth + 1) for _ in range(rng.randrange(4))]
    if origin is tuple:
        count = len(args) + (rng.choice([-1, 1]) if rng.random() < 0.2 else 0)
        return [_value_for(args[index % len(args)], rng, depth + 1) for index in range(max(count, 0))]
    if origin is dict:
        return {rng.choice('abc'): _value_for(args[1], rng, depth + 1) for _ in range(rng.randrange(3))}
    if type(None) in args:  # Optional[X]
        return None if rng.random() < 0.3 else _value_for(args[0], rng, depth)
    if kind is int:
        return rng.choice([1, 42, '7', 'x', 2.5])
    if kind is decimal.Decimal:
        return rng.choice([1.5, '2.50', 3, 'x', 12345678901234567.89])
    return rng.choice(['a', 'b', 5])


def _walk(value: Any, message: str) -> None:
    """Follow each place the 400 names, in order, inside the value sent: each must exist there."""
    for match in PLACE.finditer(message.rpartition(', got ')[0]):
        indexes, name = match.groups()
        if name is not None:
            assert isinstance(value, dict) and name in value, (name, value, message)
            value = value[name]
            continue
        for index in map(int, re.findall(r'\d+', indexes)):
            assert isinstance(value, list) and index < len(value), (index, value, message)
            value = value[index]


def test_generated_bodies_for_tuples_in_lists_dicts_and_unions_get_a_400_that_names_places_they_hold(make_app):
    app = make_app()
    for name, kind in SHAPES.items():
        app.post('/' + name, callback=_one_parameter(name, kind))
    web = client(app)
    rng = random.Random(27)
    refused = 0
    for _ in range(600):
        name = rng.choice(list(SHAPES))
        value = _value_for(SHAPES[name], rng)
        answer = web.post_json('/' + name, {name: value}, expect_errors=True)
        assert answer.status_int in (200, 400), (name, value, answer.text)
        if answer.status_int == 400:
            refused += 1
            assert answer.text.startswith("Bad request: parameter %r " % name) and 'Traceback' not in answer.text
            # (a lone string sent to a list parameter is a list of one, whose item the 400 names at [0])
            many = getattr(SHAPES[name], '__origin__', None) is list
            _walk([value] if many and not isinstance(value, list) else value, answer.text)
    assert 100 < refused < 550  # (both kinds of answer, many of each)


def _one_parameter(name: str, kind: Any) -> Any:
    """A handler taking one parameter ``name`` annotated ``kind`` (canister reads the signature)."""
    namespace: Dict[str, Any] = {}
    exec('def %s(%s): return repr(%s)' % (name, name, name), namespace)  # noqa: S102 - a test's own text
    function = namespace[name]
    function.__annotations__ = {name: kind}
    return function
