"""Attack review of parameter binding (session 21): a container inside a container.

``List[List[int]]`` used to convert only the outer list: each inner value went to ``list()`` as sent, so
a JSON ``[[1], [2, "x"]]`` reached the handler with the text ``'x'`` among its ints (a handler summing
them raised a TypeError, a 500), JSON ``[["2"]]`` gave the text ``'2'``, and the query's ``?rows=12``
gave ``[['1', '2']]``.  Now each inner value must be a JSON array whose items convert as the inner
annotation says, or the answer is a 400 with a message and a WARNING line.  Over waitress on 127.0.0.1.
"""
import decimal
import json
import pathlib
from typing import Iterator, List, Optional, Tuple

import bottle
import pytest

import canister
from helpers import read_log
from servers import InProcessWaitress, raw_request, status_of


@pytest.fixture(scope='module')
def nested_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[InProcessWaitress, pathlib.Path]]:
    """An app whose handlers take containers of containers, on waitress, and its log directory."""
    log_dir = tmp_path_factory.mktemp('attack-21-params') / 'logs'
    app = bottle.Bottle()
    app.catchall = True  # a crash is Bottle's 500, which the tests look for
    app.install(canister.Canister(log_path=str(log_dir)))

    @app.route('/rows', ['GET', 'POST'])
    def rows(rows: List[List[int]]):
        return {'rows': rows, 'sums': [sum(row) for row in rows]}

    @app.route('/pairs', ['GET', 'POST'])
    def pairs(pairs: List[Tuple[int, str]]):
        return {'pairs': [[number, text] for number, text in pairs]}

    @app.route('/grid', ['GET', 'POST'])
    def grid(grid: Optional[List[List[Optional[int]]]] = None):
        return {'grid': grid}

    @app.route('/prices', ['GET', 'POST'])
    def prices(prices: List[List[decimal.Decimal]]):
        return {'prices': [[repr(price) for price in row] for row in prices]}

    running = InProcessWaitress(app, threads=2)
    yield running, log_dir
    running.close()
    app.uninstall(True)


def answer(server: InProcessWaitress, target: str, body: Optional[dict] = None) -> Tuple[int, str]:
    """The status and body of a GET of ``target``, or of a POST of ``body`` as JSON."""
    if body is None:
        head = b'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' % target.encode()
        raw = raw_request(server.port, head)
    else:
        data = json.dumps(body).encode()
        head = (b'POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n'
                b'Content-Length: %d\r\n\r\n' % (target.encode(), len(data)))
        raw = raw_request(server.port, head, data)
    return status_of(raw), raw.split(b'\r\n\r\n', 1)[1].decode('utf-8')


def test_an_inner_item_that_is_no_integer_is_a_400_logged_not_handed_to_the_handler(nested_server):
    server, log_dir = nested_server
    status, body = answer(server, '/rows', {'rows': [[1], [2, 'x']]})
    assert status == 400, body
    assert "parameter 'rows' (at rows[1][1]) must be an integer, got 'x'" in body
    assert "WARNING" in read_log(log_dir) and "(at rows[1][1]) must be an integer, got 'x'" in read_log(log_dir)
    assert 'Traceback' not in read_log(log_dir)


def test_inner_items_are_converted_as_the_inner_annotation_says(nested_server):
    server, _ = nested_server
    status, body = answer(server, '/rows', {'rows': [[1, '2'], []]})
    assert (status, json.loads(body)) == (200, {'rows': [[1, 2], []], 'sums': [3, 0]})


def test_a_query_text_for_a_list_of_lists_is_a_400_saying_each_value_is_a_json_array(nested_server):
    server, log_dir = nested_server
    status, body = answer(server, '/rows?rows=12&rows=3,4')
    assert status == 400, body
    assert "parameter 'rows' (at rows[0]) must be a JSON array (a List[int]), got '12'" in body
    assert '(at rows[0]) must be a JSON array (a List[int])' in read_log(log_dir)


def test_one_comma_text_for_a_list_of_lists_is_not_told_to_repeat_the_name(nested_server):
    server, _ = nested_server
    status, body = answer(server, '/rows?rows=1,2')
    assert status == 400, body
    assert body.strip().endswith("(at rows[0]) must be a JSON array (a List[int]), got '1,2'")


def test_an_array_nested_deeper_than_the_annotation_is_a_400(nested_server):
    server, _ = nested_server
    status, body = answer(server, '/rows', {'rows': [[[1]]]})
    assert status == 400, body
    assert "parameter 'rows' (at rows[0][0]) must be an integer, got [1]" in body


def test_a_secret_member_inside_a_list_of_lists_is_masked_in_the_400_and_the_log(nested_server):
    server, log_dir = nested_server
    status, body = answer(server, '/rows', {'rows': [[{'password': 'hunter2-in-a-row'}]]})
    assert status == 400, body
    assert "(at rows[0][0]) must be an integer, got {'password': '***'}" in body
    assert 'hunter2-in-a-row' not in body and 'hunter2-in-a-row' not in read_log(log_dir)


def test_a_tuple_inside_a_list_of_another_length_is_a_400_naming_its_index_and_the_count(nested_server):
    server, _ = nested_server
    status, body = answer(server, '/pairs', {'pairs': [[1, 'a', 3]]})
    assert status == 400, body
    assert "parameter 'pairs' (at pairs[0]) must be a JSON array of 2 values (int, str)" in body
    status, body = answer(server, '/pairs', {'pairs': [['1', 'a'], [2, 'b']]})
    assert (status, json.loads(body)) == (200, {'pairs': [[1, 'a'], [2, 'b']]})


def test_optional_items_inside_a_list_of_lists_take_null(nested_server):
    server, _ = nested_server
    status, body = answer(server, '/grid', {'grid': [[None, '1']]})
    assert (status, json.loads(body)) == (200, {'grid': [[None, 1]]})
    status, body = answer(server, '/grid', {'grid': [['x']]})
    assert status == 400 and "parameter 'grid' (at grid[0][0]) must be an integer, got 'x'" in body


def test_json_numbers_in_a_list_of_lists_of_decimals_keep_their_own_digits(nested_server):
    server, _ = nested_server
    data = b'{"prices": [[0.1, 12345678901234567.89], [2]]}'
    head = (b'POST /prices HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n'
            b'Content-Length: %d\r\n\r\n' % len(data))
    raw = raw_request(server.port, head, data)
    assert status_of(raw) == 200, raw
    assert json.loads(raw.split(b'\r\n\r\n', 1)[1]) == {
        'prices': [["Decimal('0.1')", "Decimal('12345678901234567.89')"], ["Decimal('2')"]]}
