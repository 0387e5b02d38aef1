"""A record parameter's fields (a dataclass's, a ``NamedTuple``'s, a ``TypedDict``'s) get what a parameter gets.

Constraints inside ``Annotated[...]`` on a field (``qty: Annotated[int, Field(ge=1, le=100)]``) were neither checked
nor said: a bound that looked enforced let 1000 through.  They are now checked by pydantic, through a ``TypeAdapter``
made once when the route is added, as a parameter's are, and those canister cannot check are a WARNING then.  A field
of pydantic's secret types (``SecretStr``) takes a text only, and its value stays out of the 400 and its log line
whatever the field's name, as a pydantic model's field of a secret type does.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, List, NamedTuple, Optional, Union

import annotated_types
import pydantic
import pytest
from typing_extensions import NotRequired, TypedDict

from helpers import client, read_log, readme_section, warning_lines


@dataclasses.dataclass
class Line:
    qty: Annotated[int, pydantic.Field(ge=1, le=100)]
    phrase: pydantic.SecretStr


class LineDict(TypedDict):
    qty: Annotated[int, annotated_types.Le(100)]
    phrase: pydantic.SecretStr
    label: NotRequired[Annotated[str, pydantic.StringConstraints(max_length=5)]]


class LineTuple(NamedTuple):
    qty: Optional[Annotated[int, annotated_types.Ge(1)]]
    phrase: pydantic.SecretStr


@dataclasses.dataclass
class Card:
    holder: str
    number: pydantic.SecretStr
    backups: List[pydantic.SecretStr] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.holder == 'nobody':
            raise ValueError('no card %s for nobody' % self.number.get_secret_value())


@dataclasses.dataclass
class Order:
    line: Line
    tags: List[Annotated[str, annotated_types.MaxLen(3)]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Coupon:
    ref: Optional[Annotated[Union[int, str], annotated_types.MaxLen(3)]] = None


@dataclasses.dataclass
class Page:
    size: Annotated[int, annotated_types.Le(100)] = 10


def _lines_app(make_app):
    app = make_app()

    @app.post('/line')
    def line(line: Line):
        return {'qty': line.qty, 'phrase': line.phrase.get_secret_value()}

    @app.post('/dict')
    def as_dict(line: LineDict):
        return {'qty': line['qty'], 'label': line.get('label'), 'phrase': line['phrase'].get_secret_value()}

    @app.post('/tuple')
    def as_tuple(line: LineTuple):
        return {'qty': line.qty, 'phrase': line.phrase.get_secret_value()}

    @app.post('/orders')
    def orders(order: Order):
        return {'qty': order.line.qty, 'tags': order.tags}
    return app


@pytest.mark.parametrize('path, body, problem', [
    ('/line', {'qty': 1000, 'phrase': 'p'}, 'Input should be less than or equal to 100, got 1000'),
    ('/line', {'qty': 0, 'phrase': 'p'}, 'Input should be greater than or equal to 1, got 0'),
    ('/dict', {'qty': 1000, 'phrase': 'p'}, 'Input should be less than or equal to 100, got 1000'),
    ('/tuple', {'qty': 0, 'phrase': 'p'}, 'Input should be greater than or equal to 1, got 0'),
    ('/orders', {'order': {'line': {'qty': 101, 'phrase': 'p'}}}, 'Input should be less than or equal to 100, got 101'),
])
def test_a_bound_on_a_records_field_is_a_400_in_pydantics_words(make_app, log_dir, path, body, problem):
    refused = client(_lines_app(make_app)).post_json(path, body, status=400).text
    assert "its field 'qty' must meet the constraints of its annotation: %s" % problem in refused
    assert "its field 'qty' must meet the constraints of its annotation: %s" % problem in read_log(log_dir)


def test_values_within_a_fields_bounds_reach_the_handler_as_pydantic_gives_them(make_app, log_dir):
    web = client(_lines_app(make_app))
    assert web.post_json('/line', {'qty': 100, 'phrase': 'p-1'}).json == {'qty': 100, 'phrase': 'p-1'}
    assert web.post_json('/dict', {'qty': 7, 'phrase': 'p-2', 'label': 'abc'}).json == {
        'qty': 7, 'label': 'abc', 'phrase': 'p-2'}
    assert "its field 'label' must meet the constraints of its annotation: String should have at most 5 characters" \
        in web.post_json('/dict', {'qty': 7, 'phrase': 'p', 'label': 'abcdef'}, status=400).text
    assert web.post_json('/tuple', {'line': [None, 'p-3']}).json == {'qty': None, 'phrase': 'p-3'}
    assert web.post_json('/orders', {'line': {'qty': 1, 'phrase': 'p'}, 'tags': ['long']}).json == {
        'qty': 1, 'tags': ['long']}


def test_a_fields_constraint_canister_does_not_check_is_a_warning_when_the_route_is_added(make_app, log_dir):
    web = client(_lines_app(make_app))
    for path in ('/line', '/dict', '/tuple', '/orders'):  # (each route's plugins are applied at its first request)
        web.post_json(path, {}, expect_errors=True)
    told = [line for line in warning_lines(log_dir) if 'Route POST' in line]
    assert len(told) == 1, told  # (the checked fields say nothing)
    assert ("Route POST /orders: parameter 'order': field 'tags' of Order: the constraints MaxLen(max_length=3) of "
            "its annotation are not enforced: canister checks those of Annotated[X, ...] around a record's field's "
            'type only') in told[0]


def test_without_pydantic_a_fields_constraint_is_a_warning(make_app, log_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, 'pydantic', None)  # (as if pydantic were not installed: its import fails)
    app = make_app()

    @app.post('/pages')
    def pages(page: Page):
        return {'size': page.size}

    assert client(app).post_json('/pages', {'size': 1000}).json == {'size': 1000}
    assert any("Route POST /pages: parameter 'page': field 'size' of Page: the constraints Le(le=100) of its annotation "
               'are not enforced, since pydantic cannot validate here (' in line for line in warning_lines(log_dir))


def test_a_length_on_a_union_sent_a_number_is_a_400_not_a_500(make_app):
    app = make_app()

    @app.post('/coupons')
    def coupons(coupon: Coupon, ref: Annotated[Union[int, str], annotated_types.MaxLen(3)] = ''):
        return {'ref': coupon.ref}

    web = client(app)
    assert web.post_json('/coupons', {'coupon': {'ref': 'ab'}}).json == {'ref': 'ab'}
    for body in ({'coupon': {'ref': 7}}, {'coupon': {}, 'ref': 7}):  # (pydantic's TypeError: no len() of 7)
        assert ("must meet the constraints of its annotation: Unable to apply constraint 'max_length' to supplied "
                'value 7') in web.post_json('/coupons', body, status=400).text


def test_a_fields_check_is_made_once_when_the_route_is_added(make_app, monkeypatch):
    made = []
    adapter = pydantic.TypeAdapter

    def counting(*args, **kwargs):
        made.append(args[0])
        return adapter(*args, **kwargs)

    monkeypatch.setattr(pydantic, 'TypeAdapter', counting)
    web = client(_lines_app(make_app))
    web.post_json('/line', {'qty': 1, 'phrase': 'p'})
    after_first = len(made)
    for qty in (2, 3, 1000):
        web.post_json('/line', {'qty': qty, 'phrase': 'p'}, expect_errors=True)
    assert after_first >= 1 and len(made) == after_first


@pytest.mark.parametrize('sent', [{'$ne': None}, None, 4111111111111111, ['Kiwi-Phrase-1']])
def test_a_secretstr_field_takes_a_text_only_and_its_value_is_not_shown(make_app, log_dir, sent):
    web = client(_lines_app(make_app))
    assert web.post_json('/line', {'qty': 1, 'phrase': 'Kiwi-Phrase-0'}).json['phrase'] == 'Kiwi-Phrase-0'
    refused = web.post_json('/line', {'qty': 1, 'phrase': sent}, status=400).text
    assert ("its field 'phrase' must be a valid SecretStr: Input should be a valid string (the value is not shown: "
            'its field is of a secret type)') in refused
    assert '4111' not in refused + read_log(log_dir) and 'Kiwi-Phrase-1' not in refused + read_log(log_dir)


def _cards_app(make_app):
    app = make_app()

    @app.post('/cards')
    def add(payment: Card):
        return 'ok'

    @app.post('/many')
    def add_many(payments: List[Card]):
        return 'ok'

    @app.post('/dict')
    def add_dict(line: LineDict):
        return 'ok'
    return app


@pytest.mark.parametrize('path, body, shown', [
    ('/cards', {'holder': 'Ann', 'number': 'Kiwi-Card-1', 'extra': 1},
     "Card has no field 'extra', got {'holder': 'Ann', 'number': '***', 'extra': 1}"),
    ('/cards', {'number': 'Kiwi-Card-2'}, "the field 'holder' is missing, got {'number': '***'}"),
    ('/cards', {'holder': 'nobody', 'number': 'Kiwi-Card-3'}, "got {'holder': 'nobody', 'number': '***'}"),
    ('/cards', {'holder': 'Ann', 'number': 'ok', 'backups': ['Kiwi-Card-4', 5555]},
     "its field 'backups' (at backups[1]) must be a valid SecretStr: Input should be a valid string (the value is not "
     'shown: its field is of a secret type)'),
    ('/many', {'payments': [{'holder': 'Ann', 'number': 'ok'}, {'holder': 'Bo', 'number': 'Kiwi-Card-5', 'x': 1}]},
     "(at payments[1]) must be a JSON object with the fields of Card (holder, number, backups): Card has no field 'x', "
     "got {'holder': 'Bo', 'number': '***', 'x': 1}"),
    ('/dict', {'qty': 1, 'phrase': 'Kiwi-Card-6', 'extra': 1},
     "LineDict has no field 'extra', got {'qty': 1, 'phrase': '***', 'extra': 1}"),
])
def test_a_records_field_of_a_secret_type_is_never_shown_whatever_its_name(make_app, log_dir, path, body, shown):
    refused = client(_cards_app(make_app)).post_json(path, body, status=400).text
    assert shown in refused
    assert 'Kiwi-Card' not in refused and 'Kiwi-Card' not in read_log(log_dir)
    assert shown in read_log(log_dir)


def test_a_records_other_fields_values_are_still_shown(make_app):
    refused = client(_cards_app(make_app)).post_json('/cards', {'holder': 5, 'number': 'Kiwi'}, status=400).text
    assert refused.rstrip().endswith("its field 'holder' must be a string, got 5")


def test_the_readme_says_a_records_fields_are_checked_and_their_secrets_kept_out():
    parameters = readme_section('## Parameter unpacking')
    assert ('and around the type of a field of a dataclass, `NamedTuple` or `TypedDict` the parameter is (at any '
            'depth), checked the same way') in parameters
    assert ("its field 'qty' must meet the constraints of its annotation: Input should be less than or equal to 100, "
            'got 1000`') in parameters
    assert "and for a field `Route POST /orders: parameter 'order': field 'tags' of Order: the constraints" in parameters
    assert ('of a pydantic model, a dataclass, a `NamedTuple` or a `TypedDict` is a secret one whatever its name'
            in parameters)
    assert "(`got {'holder': 'a', 'phrase': '***', 'extra': 1}`" in parameters
