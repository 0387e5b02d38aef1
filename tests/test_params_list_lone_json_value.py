"""A list parameter (``List[int]``, a set, a tuple) takes a JSON array from a JSON body, or a lone JSON string, which
stands for the text a query would send and is a list of one, as ``?ids=5`` is.  Any other lone JSON value (a number,
``true``, ``null``, an object) is a 400 that says a JSON array is wanted, whatever the list holds, rather than a list of
one; ``null`` stays None for an ``Optional`` list.  A value that fails alone is shown as it was sent (a query's text,
the JSON value), shortened as other parameter messages are, never in a list the client did not send."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Set, Tuple

from helpers import warning_lines
from servers import Client


def post_json(web: Client, path: str, value: object) -> object:
    return web.request('POST', path, json.dumps(value).encode(), {'Content-Type': 'application/json'})


def assert_refused(answer: object, message: str, log_dir: object) -> None:
    """A 400 saying ``message``, and the WARNING line of this very request saying it (the last one written)."""
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert warning_lines(log_dir)[-1].endswith(message)


def test_a_lone_json_number_null_or_object_for_a_list_is_refused_as_no_array(make_app, serve, log_dir):
    app = make_app()

    @app.post('/ids')
    def ids(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    wanted = "parameter 'ids' must be a JSON array (a List[int]), got "
    assert_refused(post_json(web, '/ids', {'ids': 5}), wanted + '5', log_dir)
    assert_refused(post_json(web, '/ids', {'ids': True}), wanted + 'True', log_dir)
    assert_refused(post_json(web, '/ids', {'ids': None}), wanted + 'None', log_dir)
    assert_refused(post_json(web, '/ids', {'ids': {'a': 1}}), wanted + "{'a': 1}", log_dir)
    assert_refused(post_json(web, '/ids', {'ids[]': 5}), wanted + '5', log_dir)


def test_the_refusal_holds_for_every_item_type_and_container(make_app, serve, log_dir):
    app = make_app()

    @app.post('/anything')
    def anything(values: List[Any]):
        return repr(values)

    @app.post('/counts')
    def counts(counts: List[Dict[str, int]]):
        return repr(counts)

    @app.post('/tags')
    def tags(tags: Set[str] = frozenset()):
        return repr(tags)

    @app.post('/point')
    def point(point: Tuple[int, int]):
        return repr(point)

    web = Client(serve(app))
    assert_refused(post_json(web, '/anything', {'values': None}),
                   "parameter 'values' must be a JSON array (a List[Any]), got None", log_dir)
    assert_refused(post_json(web, '/counts', {'counts': {'pen': 1}}),
                   "parameter 'counts' must be a JSON array (a List[Dict[str, int]]), got {'pen': 1}", log_dir)
    assert_refused(post_json(web, '/tags', {'tags': 7}), "parameter 'tags' must be a JSON array (a Set[str]), got 7",
                   log_dir)
    assert_refused(post_json(web, '/point', {'point': 5}),
                   "parameter 'point' must have 2 values (int, int), got 5", log_dir)


def test_a_lone_json_string_is_a_list_of_one_as_a_query_text_is(make_app, serve):
    app = make_app()

    @app.route('/ids', ['GET', 'POST'])
    def ids(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    assert (post_json(web, '/ids', {'ids': '5'}).text, web.get('/ids?ids=5').text) == ('[5]', '[5]')
    assert post_json(web, '/ids', {'ids': [5]}).text == '[5]'


def test_json_null_for_an_optional_list_is_still_none(make_app, serve):
    app = make_app()

    @app.post('/ids')
    def ids(ids: Optional[List[int]] = (0,)):
        return repr(ids)

    web = Client(serve(app))
    assert post_json(web, '/ids', {'ids': None}).text == 'None'
    assert post_json(web, '/ids', {}).text == '(0,)'


def test_a_value_that_fails_alone_is_shown_as_sent_from_the_query_a_form_or_json(make_app, serve, log_dir):
    app = make_app()

    @app.route('/ids', ['GET', 'POST'])
    def ids(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    message = "parameter 'ids' must be an integer, got 'x'"
    assert_refused(web.get('/ids?ids=x'), message, log_dir)
    assert_refused(web.request('POST', '/ids', b'ids=x', {'Content-Type': 'application/x-www-form-urlencoded'}),
                   message, log_dir)
    assert_refused(post_json(web, '/ids', {'ids': 'x'}), message, log_dir)


def test_a_long_lone_json_value_is_shortened_as_other_messages_shorten_one(make_app, serve, log_dir):
    app = make_app()

    @app.post('/ids')
    def ids(ids: List[int]):
        return repr(ids)

    @app.post('/one')
    def one(id: int):
        return repr(id)

    web = Client(serve(app))
    sent = {'password': 'hunter2', 'name': 'x' * 100}
    shown = post_json(web, '/one', {'id': sent}).text.rpartition(', got ')[2].rstrip('\n')
    assert shown.startswith("{'password': '***', 'name': 'xxx") and shown.endswith("xxx...") and len(shown) == 60
    assert_refused(post_json(web, '/ids', {'ids': sent}),
                   "parameter 'ids' must be a JSON array (a List[int]), got " + shown, log_dir)
