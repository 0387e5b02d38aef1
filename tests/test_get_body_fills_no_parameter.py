"""A GET's or HEAD's body fills no parameter: they come from the URL and the query string, so a shared cache that
keys answers on the URL cannot be handed an answer chosen by a body (web cache poisoning); the body is the handler's."""
from __future__ import annotations

from typing import Any, Dict, Optional

import bottle

from helpers import read_log, readme_section
from servers import Client

POISON = b'{"name": "<poisoned>"}'
JSON = {'Content-Type': 'application/json'}
NOTE = ("missing parameter 'title' (the body of a GET request fills no parameter: send the parameters in the query "
        "string, or the body with POST; the handler can read the body itself: bottle.request.json, bottle.request.forms)")


def greeting_app(make_app: Any) -> bottle.Bottle:
    """GET and POST /greet (``name``, the answer and its header ``X-Name``), GET /title (``title``, required) and
    GET /search, which reads its JSON body itself."""
    app = make_app()

    @app.route('/greet', ['GET', 'POST'])
    def greet(name: str = 'world') -> Dict[str, str]:
        bottle.response.set_header('X-Name', name)
        return {'hello': name}

    @app.get('/title')
    def title(title: str) -> str:
        return title

    @app.get('/search')
    def search(size: int = 10) -> Dict[str, Any]:
        query: Optional[Dict[str, Any]] = bottle.request.json
        return {'query': query, 'size': size}

    return app


def test_a_get_with_a_json_body_is_answered_from_its_query_not_from_its_body(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/greet?name=bob', body=POISON, headers=JSON)
    assert (answer.status, answer.json(), answer.headers['X-Name']) == (200, {'hello': 'bob'}, 'bob')


def test_a_get_whose_query_lacks_the_parameter_gets_its_default_whatever_the_body_says(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/greet', body=POISON, headers=JSON)
    assert (answer.status, answer.json()) == (200, {'hello': 'world'})


def test_a_get_with_a_form_body_is_answered_from_its_query_too(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request(
        'GET', '/greet?name=bob', body=b'name=eve', headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert (answer.status, answer.json()) == (200, {'hello': 'bob'})


def test_a_head_with_a_body_runs_the_handler_with_the_query_s_values(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('HEAD', '/greet?name=bob', body=POISON, headers=JSON)
    assert (answer.status, answer.headers['X-Name'], answer.body) == (200, 'bob', b'')


def test_a_post_s_body_still_wins_over_its_query(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('POST', '/greet?name=bob', body=b'{"name": "eve"}',
                                                           headers=JSON)
    assert (answer.status, answer.json()) == (200, {'hello': 'eve'})


def test_a_get_that_sends_its_required_parameter_in_the_body_gets_a_400_saying_why_and_a_warning(make_app, log_dir,
                                                                                                  serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/title', body=b'{"title": "x"}', headers=JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % NOTE)
    assert 'WARNING' in read_log(log_dir) and 'Bad request: %s' % NOTE in read_log(log_dir)


def test_a_get_s_json_body_is_left_to_the_handler_which_can_read_it(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request(
        'GET', '/search?size=5', body=b'{"query": {"match": {"title": "tea"}}, "size": 50}', headers=JSON)
    assert (answer.status, answer.json()) == (200, {'query': {'query': {'match': {'title': 'tea'}}, 'size': 50}, 'size': 5})


def test_a_get_s_body_that_is_not_valid_json_is_no_400_since_canister_does_not_read_it(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/greet?name=bob', body=b'{"name": ', headers=JSON)
    assert (answer.status, answer.json()) == (200, {'hello': 'bob'})


def test_the_readme_says_a_get_s_or_head_s_body_fills_no_parameter():
    section = readme_section('## Parameter unpacking')
    assert 'URL arguments win over the body, the body over the query' in section
    assert 'The body of a GET or HEAD request fills no parameter' in section
    assert "`%s`" % NOTE in section


def test_the_security_notes_and_the_upgrade_notes_say_a_get_s_body_fills_no_parameter():
    assert 'the parameters of a GET or HEAD come from its URL and query string only, never its body' in readme_section(
        '## Security notes')
    assert ("1.x filled parameters from a form sent as a GET's body (Bottle's `request.params`)"
            in readme_section('## Upgrading from canister 1.x'))


def test_a_get_that_names_json_without_a_body_is_told_to_use_the_query_not_that_its_body_is_empty(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/title', body=b'', headers=JSON)
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % NOTE)


def test_a_get_without_a_body_still_fills_parameters_from_its_query(make_app, serve):
    answer = Client(serve(greeting_app(make_app))).request('GET', '/title?title=tea')
    assert (answer.status, answer.text) == (200, 'tea')
