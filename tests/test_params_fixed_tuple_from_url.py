"""A fixed-length tuple of other than one value (``Tuple[int, int]``, ``Optional`` too) named as a wildcard of the
route's rule (``/points/<point>``) can never be filled: the wildcard is one value, so every request would be the 400
``must have 2 values``.  That is the handler's mistake, not its clients': canister raises ``CanisterError`` when
Bottle applies it to the route (at the route's first request), naming the route, the parameter and what to write."""
from __future__ import annotations

import typing
from typing import List, Optional, Tuple

import pytest

import canister
from helpers import client, read_log, readme_section


def test_a_tuple_of_two_named_as_a_url_wildcard_is_refused_when_the_route_is_applied(make_app):
    app = make_app()

    @app.get('/points/<point>')
    def point(point: Tuple[int, int]):
        return repr(point)

    web = client(app)
    for path in ('/points/5', '/points/5,6'):
        with pytest.raises(canister.CanisterError) as raised:
            web.get(path)
        assert str(raised.value) == (
            "canister: parameter 'point' of point (route /points/<point>) has the annotation Tuple[int, int] and is "
            'named as the wildcard <point> of the rule, which gives it one value: every request would answer 400 '
            '(must have 2 values (int, int)); write Tuple[int, ...] or List[int], which the wildcard fills with its '
            'one value, or take <point> out of the rule and send the values in the query (?point=...&point=...)')


def test_an_optional_tuple_a_tuple_of_two_types_and_an_empty_tuple_named_as_a_url_wildcard_are_refused_too(make_app):
    app = make_app()

    @app.get('/maybe/<point>')
    def maybe(point: Optional[Tuple[int, int]] = None):
        return repr(point)

    @app.get('/mixed/<pair>')
    def mixed(pair: tuple[int, str]):
        return repr(pair)

    @app.get('/empty/<nothing>')
    def empty(nothing: Tuple[()] = ()):
        return repr(nothing)

    web = client(app)
    for path, said in (('/maybe/5', 'has the annotation Optional[Tuple[int, int]] and'),
                       ('/mixed/5', '(must have 2 values (int, str)); write Tuple[str, ...] or List[str],'),
                       ('/empty/5', '(must have 0 values ()); write Tuple[str, ...] or List[str],')):
        with pytest.raises(canister.CanisterError) as raised:
            web.get(path)
        assert said in str(raised.value)


def test_the_refusal_is_the_routes_500_and_an_error_line_of_the_log_when_the_app_catches_it(make_app, log_dir):
    app = make_app(catchall=True)

    @app.get('/points/<point>')
    def point(point: typing.Tuple[int, int]):
        return repr(point)

    assert client(app).get('/points/5', expect_errors=True).status_int == 500
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]
    assert any("Unhandled exception in GET /points/<point>: canister: parameter 'point' of point (route "
               '/points/<point>) has the annotation typing.Tuple[int, int]' in line for line in errors)


def test_a_tuple_of_one_a_tuple_of_any_length_and_a_list_named_as_a_url_wildcard_still_take_its_value(make_app):
    app = make_app()

    @app.get('/one/<point>')
    def one(point: Tuple[int]):
        return repr(point)

    @app.get('/any/<point>')
    def any_length(point: Tuple[int, ...]):
        return repr(point)

    @app.get('/list/<point>')
    def as_list(point: List[int]):
        return repr(point)

    web = client(app)
    assert [web.get(path).text for path in ('/one/5', '/any/5', '/list/5')] == ['(5,)', '(5,)', '[5]']


def test_a_tuple_of_two_from_the_query_or_from_a_filter_of_the_apps_that_gives_a_tuple_is_left_alone(make_app):
    app = make_app()
    app.router.add_filter('pair', lambda conf: (r'\d+,\d+', lambda text: tuple(map(int, text.split(','))), None))

    @app.get('/points')
    def by_query(point: Tuple[int, int]):
        return repr(point)

    @app.get('/pairs/<point:pair>')
    def by_filter(point: Tuple[int, int]):
        return repr(point)

    web = client(app)
    assert [web.get(path).text for path in ('/points?point=5&point=6', '/pairs/5,6')] == ['(5, 6)', '(5, 6)']


def test_the_readme_says_a_fixed_tuple_named_as_a_url_wildcard_is_refused():
    section = readme_section('## Parameter unpacking')
    assert ('a fixed-length tuple of other than one value, `Tuple[int, int]` (or `Optional[Tuple[int, int]]`), named as '
            'a wildcard of the URL (`/points/<point>`) would answer every request 400, `must have 2 values`, so it '
            'raises `canister.CanisterError` when Bottle applies the plugin to its route') in section
    assert 'tests/test_params_fixed_tuple_from_url.py' in section
