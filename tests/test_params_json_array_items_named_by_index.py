"""An item of a JSON array that does not convert is named by its index and shown alone after ``got``: in a list of
lists at both depths (``(at rows[1][1])``), and in a list of plain values even when the array holds one item
(``(at ids[0])``).  One value sent alone (a query's ``?ids=x``, ``?ids=1,2,3``, a JSON string) keeps its message,
with that value as sent after ``got`` (not the list it makes) and the hint to repeat the name for a text with commas;
a text for a list of lists, from the query or a form, is named by its index as no JSON array."""
from __future__ import annotations

import dataclasses
import json
from typing import Dict, List

from helpers import warning_lines
from servers import Client


@dataclasses.dataclass
class Order:
    ids: List[int]


def post_json(web: Client, path: str, value: object) -> object:
    return web.request('POST', path, json.dumps(value).encode(), {'Content-Type': 'application/json'})


def assert_refused(answer: object, message: str, log_dir: object) -> None:
    """A 400 saying ``message``, and the WARNING line of this very request saying it (the last one written)."""
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert warning_lines(log_dir)[-1].endswith(message)


def test_an_item_in_a_list_of_lists_is_named_by_both_indexes_and_shown_alone(make_app, serve, log_dir):
    app = make_app()

    @app.post('/rows')
    def rows(rows: List[List[int]]):
        return repr(rows)

    answer = post_json(Client(serve(app)), '/rows', {'rows': [[1], [2, 'x']]})
    assert_refused(answer, "parameter 'rows' (at rows[1][1]) must be an integer, got 'x'", log_dir)


def test_an_item_in_a_list_in_a_records_field_or_a_dicts_member_is_named_by_its_index(make_app, serve, log_dir):
    app = make_app()

    @app.post('/order')
    def order(order: Order):
        return repr(order)

    @app.post('/counts')
    def counts(counts: Dict[str, List[int]]):
        return repr(counts)

    web = Client(serve(app))
    assert_refused(post_json(web, '/order', {'order': {'ids': [1, 'x']}}),
                   "parameter 'order' must be a JSON object with the fields of Order (ids): its field 'ids' (at ids[1]) "
                   "must be an integer, got 'x'", log_dir)
    assert_refused(post_json(web, '/counts', {'counts': {'pens': [1, 'x']}}),
                   "parameter 'counts' must be a JSON object, each key str and each value List[int]: its member 'pens' "
                   "(at pens[1]) must be an integer, got 'x'", log_dir)


def test_a_text_for_a_list_of_lists_from_the_query_or_a_form_is_named_by_its_index_as_no_json_array(make_app, serve,
                                                                                                    log_dir):
    app = make_app()

    @app.route('/rows', ['GET', 'POST'])
    def rows(rows: List[List[int]]):
        return repr(rows)

    web = Client(serve(app))
    message = "parameter 'rows' (at rows[0]) must be a JSON array (a List[int]), got '12'"
    assert_refused(web.get('/rows?rows=12'), message, log_dir)
    assert_refused(web.request('POST', '/rows', b'rows=12', {'Content-Type': 'application/x-www-form-urlencoded'}),
                   message, log_dir)
    assert_refused(post_json(web, '/rows', {'rows': [[1], 5]}),
                   "parameter 'rows' (at rows[1]) must be a JSON array (a List[int]), got 5", log_dir)


def test_a_json_array_of_one_item_names_it_by_its_index(make_app, serve, log_dir):
    app = make_app()

    @app.post('/ids')
    def ids(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    assert_refused(post_json(web, '/ids', {'ids': ['x']}), "parameter 'ids' (at ids[0]) must be an integer, got 'x'",
                   log_dir)
    assert_refused(post_json(web, '/ids', {'ids': ['1,2']}),
                   "parameter 'ids' (at ids[0]) must be an integer, got '1,2'", log_dir)


def test_one_value_sent_alone_is_shown_as_sent_with_the_comma_hint(make_app, serve, log_dir):
    app = make_app()

    @app.route('/ids', ['GET', 'POST'])
    def ids(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    alone = "parameter 'ids' must be an integer, got 'x'"
    assert_refused(web.get('/ids?ids=x'), alone, log_dir)
    assert_refused(post_json(web, '/ids', {'ids': 'x'}), alone, log_dir)
    hint = ("parameter 'ids' must be an integer, got '1,2,3' (one value, commas and all: a list takes its name "
            "repeated, ?ids=...&ids=..., or a JSON array)")
    assert_refused(web.get('/ids?ids=1,2,3'), hint, log_dir)
