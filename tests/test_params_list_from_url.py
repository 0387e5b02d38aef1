"""A list parameter (``List[int]``, ``list[str]``, a set, a tuple of any length) named as a wildcard of the route's
rule (``/users/<ids>``) is filled from that one text as from a query's lone value, ``?ids=5``: a list of one, its
item converted, and an item that does not convert the 400 (and the WARNING line) of the same value in the query.
The handler used to get the wildcard's text, unconverted.  A value a filter of Bottle's converted is passed on."""
from __future__ import annotations

from typing import List, Optional, Set, Tuple

from helpers import readme_section, warning_lines
from servers import Client


def test_a_list_parameter_from_a_url_wildcard_is_a_list_of_its_one_value_converted(make_app, serve):
    app = make_app()

    @app.get('/users/<ids>')
    def users(ids: List[int]):
        return repr(ids)

    @app.get('/names/<names>')
    def names(names: list[str]):
        return repr(names)

    @app.get('/tags/<tags>')
    def tags(tags: Set[int]):
        return repr(tags)

    @app.get('/points/<points>')
    def points(points: Tuple[int, ...]):
        return repr(points)

    @app.get('/maybe/<ids>')
    def maybe(ids: Optional[List[int]] = None):
        return repr(ids)

    web = Client(serve(app))
    assert [web.get(path).text for path in ('/users/5', '/names/bob', '/tags/7', '/points/3', '/maybe/4')] == [
        '[5]', "['bob']", '{7}', '(3,)', '[4]']


def test_an_item_of_a_url_wildcard_that_does_not_convert_is_the_400_of_the_same_value_in_the_query(
        make_app, serve, log_dir):
    app = make_app()

    @app.get('/users/<ids>')
    def users(ids: List[int]):
        return repr(ids)

    @app.get('/users')
    def users_by_query(ids: List[int]):
        return repr(ids)

    web = Client(serve(app))
    message = "parameter 'ids' must be an integer, got 'x'"
    from_url = web.get('/users/x')
    assert (from_url.status, from_url.text) == (400, 'Bad request: %s\n' % message)
    assert warning_lines(log_dir)[-1].endswith('Bad request: ' + message)
    from_query = web.get('/users?ids=x')
    assert (from_query.status, from_query.text) == (from_url.status, from_url.text)


def test_a_url_wildcard_with_commas_is_one_value_and_its_400_says_so_without_pointing_to_the_query(
        make_app, serve, log_dir):
    app = make_app()

    @app.get('/users/<ids>')
    def users(ids: List[int]):
        return repr(ids)

    answer = Client(serve(app)).get('/users/1,2')
    message = ("parameter 'ids' must be an integer, got '1,2' (one value, commas and all: a wildcard of the URL "
               'fills a list with one value)')
    assert (answer.status, answer.text) == (400, 'Bad request: %s\n' % message)
    assert warning_lines(log_dir)[-1].endswith('Bad request: ' + message)


def test_a_value_a_filter_of_bottles_converted_is_passed_on_as_the_filter_gives_it(make_app, serve):
    app = make_app()

    @app.get('/users/<ids:int>')
    def users(ids: List[int]):
        return repr(ids)

    assert Client(serve(app)).get('/users/5').text == '5'


def test_the_readme_says_a_url_wildcard_gives_a_list_of_one():
    section = readme_section('## Parameter unpacking')
    assert ("a wildcard of the URL is one value too, and gives a list of one, as `?ids=5` does: `/users/5` for "
            "`@app.get('/users/<ids>')` over `ids: List[int]` gives `[5]`") in section
    assert '(one value, commas and all: a wildcard of the URL fills a list with one value)' in section
