"""Three habits of Flask and FastAPI that Bottle (and canister) answered with a message a newcomer could not
act on: FastAPI's lone model parameter taking the whole JSON body, an app's own 500 page hiding the line about
a result Bottle cannot send, and Flask's ``<int:id>`` in a route's rule."""
from __future__ import annotations

import bottle
import pytest

import canister
from helpers import client, read_log, warning_lines
from test_newcomer_habits import WHAT_TO_WRITE, error_lines

#: The hint after FastAPI's lone parameter is found missing from a JSON object.
WHOLE_BODY = ("(the members of a JSON body fill the handler's parameters one by one, by name, and this body, %s, "
              "has no member 'item': to take the whole body as one object, give the handler no parameter for it "
              "and read bottle.request.json)")


def test_fastapis_lone_model_parameter_missing_from_a_json_object_says_how_to_take_the_whole_body(make_app, log_dir):
    app = make_app()

    @app.post('/items')
    def create(item):
        return item

    answer = client(app).post_json('/items', {'name': 'pen', 'price': 2}, status=400)
    message = "missing parameter 'item' " + WHOLE_BODY % "{'name': 'pen', 'price': 2}"
    assert answer.text == "Bad request: " + message + "\n"
    assert any(line.endswith('Bad request: ' + message) for line in warning_lines(log_dir))


def test_the_whole_body_hint_masks_the_members_whose_names_look_secret(make_app, log_dir):
    app = make_app()
    app.route('/items/<shop>', 'POST', callback=lambda shop, item: item)
    answer = client(app).post_json('/items/main', {'name': 'bob', 'password': 'hunter2'}, status=400)
    assert WHOLE_BODY % "{'name': 'bob', 'password': '***'}" in answer.text
    assert 'hunter2' not in answer.text and 'hunter2' not in read_log(log_dir)


@pytest.mark.parametrize('send', [
    lambda web: web.post_json('/items', {'title': 'pen'}, status=400),  # a handler of two parameters
    lambda web: web.post('/items', {'name': 'pen'}, status=400),        # a form
    lambda web: web.post('/items', status=400),                         # no body
])
def test_a_missing_parameter_gets_no_whole_body_hint_beside_another_or_without_a_json_object(make_app, send):
    app = make_app()
    app.route('/items', 'POST', callback=lambda item, title='': item)
    assert 'bottle.request.json' not in send(client(app)).text


def test_a_result_bottle_cannot_send_is_logged_on_an_app_with_its_own_500_page_which_still_answers(make_app, log_dir):
    app = make_app()

    @app.error(500)
    def oops(error):
        return 'Our own page: %s' % error.body

    @app.get('/items')
    def items():
        return [{'id': 1}, {'id': 2}]

    answer = client(app).get('/items', status=500)
    assert answer.text == "Our own page: Unsupported response type: <class 'dict'>"
    lines = [line for line in error_lines(log_dir) if 'Unsupported response type' in line]
    assert len(lines) == 1 and lines[0].endswith(
        "Unhandled exception in GET /items: the handler returned a list, tuple or generator of something other than "
        "text or bytes (Unsupported response type: <class 'dict'>): Bottle sends text, bytes, a file, a dict (as JSON, "
        "by its JSON plugin) or a list, tuple or generator of text or bytes: " + WHAT_TO_WRITE)


@pytest.mark.parametrize('rule, spelling', [
    ('/items/<int:id>', '<id:int>'), ('/files/<path:name>', '<name:path>'), ('/users/<string:name>', '<name>'),
    ('/orders/<uuid:order_id>', "<order_id> with the annotation uuid.UUID on the handler's parameter")])
def test_flasks_typed_wildcard_is_refused_where_the_route_is_added_with_bottles_spelling(make_app, rule, spelling):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        app.get(rule)(lambda **wildcards: 'item')
    wildcard = '<' + rule.split('<')[1]
    name, mode = wildcard[1:-1].split(':')
    assert str(refused.value) == (
        "canister: Route GET %s has the wildcard %s, Flask's spelling, which Bottle reads as the name %s with the "
        "filter %s, which it does not have: write %s (Bottle's: the name first, then the filter)"
        % (rule, wildcard, name, mode, spelling))


def test_a_filter_the_router_lacks_is_refused_naming_the_filters_it_has(make_app):
    app = make_app()
    with pytest.raises(canister.CanisterError, match=r"^canister: Route POST /items/<id:integer> has the wildcard "
                       r"<id:integer>, whose filter integer Bottle does not have: its filters are float, int, path, "
                       r"re \(app.router.add_filter adds one\)$"):
        app.post('/items/<id:integer>', callback=lambda id: id)


def test_a_filter_added_to_the_router_and_bottles_own_filters_still_route(make_app):
    app = make_app()
    app.router.add_filter('id', lambda config: (r'[a-z]+\d+', None, None))
    app.get('/items/<int:id>', callback=lambda int: 'item ' + int)
    app.get('/users/<user_id:int>', callback=lambda user_id: 'user %d' % user_id)
    web = client(app)
    assert web.get('/items/ab12').text == 'item ab12'
    assert web.get('/users/7').text == 'user 7'


def test_after_uninstall_bottle_adds_routes_itself_again(make_app):
    app = make_app()
    app.uninstall('canister')
    with pytest.raises(KeyError):
        app.get('/items/<int:id>', callback=lambda id: id)


def test_a_route_refused_for_flasks_typed_wildcard_is_left_out_of_the_apps_routes(make_app):
    app = make_app()
    with pytest.raises(canister.CanisterError):
        app.get('/items/<int:id>', callback=lambda id: id)
    assert app.routes == []  # (Bottle appends a route before its router refuses it)
    app.get('/items/<id:int>', callback=lambda id: 'item %d' % id)
    parent = bottle.Bottle()
    parent.merge(app)  # (a dead entry would be refused again here)
    assert [route.rule for route in parent.routes] == ['/items/<id:int>']


def test_after_uninstall_a_plugin_that_wrapped_canisters_add_route_gets_bottles_own(make_app):
    app = make_app()
    through_canister = app.add_route
    app.__dict__['add_route'] = lambda route: through_canister(route)  # (another plugin's, installed after canister)
    app.uninstall('canister')
    with pytest.raises(KeyError):
        app.get('/items/<id:integer>', callback=lambda id: id)
    app.get('/items/<id:int>', callback=lambda id: 'item %d' % id)
    assert client(app).get('/items/3').text == 'item 3'


def test_an_anonymous_wildcard_with_a_filter_the_router_lacks_is_refused_naming_the_filters_it_has(make_app):
    app = make_app()
    with pytest.raises(canister.CanisterError, match=r"^canister: Route GET /items/<:integer> has the wildcard "
                       r"<:integer>, whose filter integer Bottle does not have: its filters are float, int, path, "
                       r"re \(app.router.add_filter adds one\)$"):
        app.get('/items/<:integer>', callback=lambda: 'item')
