"""Handler signatures written the FastAPI way: what canister's parameter unpacking makes of them.

A default of ``...`` (FastAPI's "required"), ``Annotated[int, ...]``, ``datetime.timedelta``, a dataclass,
``NamedTuple`` or ``TypedDict`` built from a JSON object, its fields converted by their annotations, ``dict[K, V]``
with its keys and values converted, a ``deque``, and classes that would make something else of a value.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import sys
import typing
from typing import Annotated, ClassVar, Deque, Dict, Generic, List, NamedTuple, Optional, TypedDict, TypeVar, Union

from typing_extensions import NotRequired, Required

import pytest

from helpers import client, read_log, warning_lines
from param_kit import client_serving, client_serving_posts


@dataclasses.dataclass
class Item:
    name: str
    qty: int = 1
    tags: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Order:
    item: Item
    note: Optional[str] = None


class Point(NamedTuple):
    x: int
    y: int = 0


class Event(TypedDict, total=False):
    title: str
    day: datetime.date


class Invite(TypedDict, total=False):
    email: Required[str]  # (under this module's future import, TypedDict itself takes no notice of it)
    note: str


class Reply(TypedDict):
    answer: str
    reason: NotRequired[str]


@dataclasses.dataclass
class Signup:
    name: str
    word: dataclasses.InitVar[str]
    rounds: dataclasses.InitVar[int] = 1
    minimum: ClassVar[int] = 3
    digest: str = dataclasses.field(init=False, default='')

    def __post_init__(self, word: str, rounds: int) -> None:
        self.digest = '%s*%d' % (word[::-1], rounds)


class Config:
    """A class of the app's named like one of canister's own."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return 'Config(%r)' % self.value


@dataclasses.dataclass
class Node:
    children: List[Node]


@dataclasses.dataclass
class Price:
    amount: decimal.Decimal


T = TypeVar('T')


class Box(Generic[T]):
    """A parameterised class of the app's own, whose constructor takes the value as sent."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return 'Box(%r)' % (self.value,)


@dataclasses.dataclass
class Crate(Generic[T]):
    """A generic dataclass: ``Crate[int]`` holds an int."""
    value: T
    more: List[T] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Nest(Generic[T]):
    """A generic dataclass that holds itself, with other arguments at each level: ``Nest[List[T]]`` in ``Nest[T]``."""
    value: T
    inner: Optional[Nest[List[T]]] = None


@dataclasses.dataclass
class Checked:
    """A dataclass whose own check refuses some values, by an assert and by a ValueError."""
    name: str
    password: str = ''

    def __post_init__(self) -> None:
        if self.name == 'bad':  # (an assert's error, raised by hand: pytest rewrites this module's asserts)
            raise AssertionError('the name may not be bad')
        if len(self.password) < 4:
            raise ValueError('password %r is too short\n%s' % (self.password, 'x' * 200))


@dataclasses.dataclass
class Loud:
    """A dataclass whose check says a long message of two lines."""
    name: str

    def __post_init__(self) -> None:
        raise ValueError('line one\nline two ' + 'y' * 300)


@dataclasses.dataclass
class Named:
    """A record with a field named as the parameter that takes it."""
    item: str
    qty: int = 1


@dataclasses.dataclass
class Booking:
    where: Venue  # noqa: F821 - defined nowhere (imported under TYPE_CHECKING, say)


# --------------------------------------------------------------------------
# a default of ...

def test_a_default_of_ellipsis_makes_a_parameter_required_as_in_fastapi(make_app, log_dir):
    app = make_app()

    @app.get('/search')
    def search(q: int = ...):
        return repr(q)

    assert client(app).get('/search', status=400).text == "Bad request: missing parameter 'q'\n"
    assert "missing parameter 'q'" in read_log(log_dir)
    assert client(app).get('/search?q=3').text == '3'


def test_an_optional_parameter_with_a_default_of_ellipsis_must_be_sent_and_an_empty_value_gives_none(make_app):
    app = make_app()

    @app.get('/search')
    def search(limit: Optional[int] = ...):
        return repr(limit)

    assert "missing parameter 'limit'" in client(app).get('/search', status=400).text
    assert client(app).get('/search?limit=').text == 'None'
    assert client(app).get('/search?limit=5').text == '5'


# --------------------------------------------------------------------------
# Annotated

def test_an_annotated_parameter_converts_as_its_type_though_another_annotation_cannot_be_evaluated(make_app):
    app = make_app()

    @app.get('/items')
    def items(page: Annotated[int, 'Query(gt=0)'], sort: Unknown = None, ids: Optional[List[Annotated[int, 'x']]] = None):  # noqa: F821
        return repr((page, sort, ids))

    web = client(app)
    assert web.get('/items?page=2&ids=1&ids=2').text == repr((2, None, [1, 2]))
    assert "parameter 'page' must be an integer, got 'x'" in web.get('/items?page=x', status=400).text
    assert web.get('/items?page=-1').text == repr((-1, None, None))  # (the metadata is not read)


def test_a_forward_reference_inside_an_annotation_names_the_handlers_class_though_another_cannot_be_evaluated(
        make_app):
    app = make_app()

    def settings(sort, values):
        return repr(values)

    # (as a module without this one's future import has them: List['Config'] evaluated, 'Config' inside it not,
    # and that only once 'Unknown' failed)
    settings.__annotations__ = {'sort': 'Unknown', 'values': List['Config']}
    app.post('/settings')(settings)
    assert client(app).post_json('/settings', {'sort': 'a', 'values': ['dark']}).text == repr([Config('dark')])


# --------------------------------------------------------------------------
# timedelta

@pytest.mark.parametrize('sent, expected', [
    ('90', datetime.timedelta(seconds=90)), ('1.5', datetime.timedelta(seconds=1.5)),
    ('-30', datetime.timedelta(seconds=-30)), ('PT90S', datetime.timedelta(seconds=90)),
    ('P1DT2H', datetime.timedelta(days=1, hours=2)), ('-P2W', datetime.timedelta(weeks=-2)),
    ('PT1H30M0.5S', datetime.timedelta(hours=1, minutes=30, seconds=0.5)),
])
def test_a_timedelta_parameter_takes_a_number_of_seconds_or_an_iso_8601_duration(make_app, sent, expected):
    def wait(delay: datetime.timedelta):
        return repr(delay)

    web = client_serving(make_app, '/wait', wait, 'GET')
    assert web.get('/wait', {'delay': sent}).text == repr(expected)


def test_a_json_number_for_a_timedelta_is_seconds_not_days(make_app):
    def wait(delay: datetime.timedelta):
        return repr(delay)

    web = client_serving(make_app, '/wait', wait)
    assert web.post_json('/wait', {'delay': 5}).text == repr(datetime.timedelta(seconds=5))


@pytest.mark.parametrize('sent', ['P1Y', 'P1M', 'PT', 'P', '1:30', 'nan', '1e999', 'P99999999999D', ''])
def test_a_timedelta_parameter_refuses_other_text_with_a_400_saying_what_to_send(make_app, log_dir, sent):
    def wait(delay: datetime.timedelta):
        return repr(delay)

    web = client_serving(make_app, '/wait', wait, 'GET')
    message = ("parameter 'delay' must be a duration: a number of seconds such as 90 or 1.5, or ISO 8601 such as "
               "PT90S or P1DT2H, got %r" % sent)
    assert web.get('/wait', {'delay': sent}, status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)


def test_a_json_true_is_no_timedelta(make_app):
    def wait(delay: datetime.timedelta):
        return repr(delay)

    web = client_serving(make_app, '/wait', wait)
    assert "parameter 'delay' must be a duration" in web.post_json('/wait', {'delay': True}, status=400).text


# --------------------------------------------------------------------------
# dataclasses, NamedTuple, TypedDict

def record_app(make_app):
    """An app whose handlers take an ``Item``, an ``Order``, a list of ``Item``, a ``Point`` and an ``Event``."""
    app = make_app()

    @app.post('/item')
    def item(item: Item):
        return repr(item)

    @app.post('/order')
    def order(order: Order, extra: List[Item] = ()):
        return repr((order, extra))

    @app.post('/point')
    def point(at: Point):
        return repr(at)

    @app.post('/event')
    def event(event: Event):
        return repr(event)

    @app.post('/either')
    def either(value: Union[int, Event]):
        return repr(value)

    return app


def test_a_dataclass_parameter_is_built_from_a_json_object_its_fields_converted(make_app):
    web = client(record_app(make_app))
    assert web.post_json('/item', {'item': {'name': 'pen', 'qty': '2'}}).text == repr(Item('pen', 2))
    assert web.post_json('/item', {'item': {'name': 'pen'}}).text == repr(Item('pen'))


def test_dataclasses_inside_a_dataclass_and_in_a_list_are_built_too(make_app):
    sent = {'order': {'item': {'name': 'pen', 'tags': ['blue']}}, 'extra': [{'name': 'ink', 'qty': 3}]}
    expected = (Order(Item('pen', tags=['blue'])), [Item('ink', 3)])
    assert client(record_app(make_app)).post_json('/order', sent).text == repr(expected)


def test_a_named_tuple_and_a_typed_dict_are_built_from_a_json_object(make_app):
    web = client(record_app(make_app))
    assert web.post_json('/point', {'at': {'x': 1}}).text == repr(Point(1, 0))
    assert web.post_json('/event', {'event': {'title': 'launch', 'day': '2024-05-31'}}).text == \
        repr({'title': 'launch', 'day': datetime.date(2024, 5, 31)})


def test_a_typed_dict_in_a_union_takes_a_json_object_rather_than_failing_the_request(make_app):
    web = client(record_app(make_app))
    assert web.post_json('/either', {'value': {'title': 'launch'}}).text == repr({'title': 'launch'})
    assert web.post_json('/either', {'value': 7}).text == '7'


@pytest.mark.parametrize('path, sent, problem, shown', [
    ('/item', {'item': {'name': 'pen', 'qty': 'many'}}, "its field 'qty' must be an integer", 'many'),
    ('/item', {'item': {'qty': 2}}, "the field 'name' is missing", {'qty': 2}),
    ('/item', {'item': {'name': 'pen', 'colour': 'red'}}, "Item has no field 'colour'", {'name': 'pen', 'colour': 'red'}),
    ('/point', {'at': [1, 2, 3]}, 'Point has 2 fields, not 3', [1, 2, 3]),
    ('/event', {'event': {'day': 5}}, "its field 'day' must be an ISO 8601 date such as 2024-05-31", 5),
    ('/order', {'order': {'item': {'name': 7}}}, "its field 'item' must be a JSON object with the fields of Item "
                                                 "(name, qty, tags): its field 'name' must be a string", 7),
])
def test_a_record_that_does_not_fit_its_class_is_a_400_naming_the_parameter_and_the_field(
        make_app, log_dir, path, sent, problem, shown):
    name = next(iter(sent))
    kind = {'/item': 'Item (name, qty, tags)', '/point': 'Point (x, y), or a JSON array of them in that order',
            '/event': 'Event (title, day)',
            '/order': 'Order (item, note)'}[path]
    message = "parameter %r must be a JSON object with the fields of %s%s, got %r" % (
        name, kind, ': %s' % problem if problem else '', shown)
    assert client(record_app(make_app)).post_json(path, sent, status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)


def test_a_dataclass_parameter_sent_a_text_is_a_400_rather_than_a_text_in_its_first_field(make_app):
    web = client(record_app(make_app))
    assert web.post('/item', {'item': 'pen'}, status=400).text == (
        "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, tags), got 'pen'\n")


def test_a_dataclass_that_holds_itself_is_bound_as_sent_with_a_warning_naming_the_route_and_parameter(
        make_app, log_dir):
    def tree(root: Node):
        return repr(root)

    web = client_serving(make_app, '/tree', tree)
    assert web.post_json('/tree', {'root': {'children': []}}).text == repr({'children': []})
    assert any("Route POST /tree: parameter 'root' is bound as text: canister cannot convert to its annotation "
               "test_params_fastapi.Node (test_params_fastapi.Node holds itself in a field, at some depth)" in line
               for line in warning_lines(log_dir))


def test_a_generic_dataclass_that_holds_itself_with_other_arguments_is_bound_as_sent_with_the_same_warning(
        make_app, log_dir):
    def nest(root: Nest[int]):
        return repr(root)

    web = client_serving(make_app, '/nest', nest)
    assert web.post_json('/nest', {'root': {'value': '1'}}).text == repr({'value': '1'})
    assert any("Route POST /nest: parameter 'root' is bound as text: canister cannot convert to its annotation "
               "test_params_fastapi.Nest[int] (test_params_fastapi.Nest holds itself in a field, at some depth)" in line
               for line in warning_lines(log_dir))


def test_a_typed_dict_is_read_as_its_fields_say_and_not_as_a_plain_dict(make_app):
    web = client(record_app(make_app))
    assert "its field 'title' must be a string" in web.post_json('/event', {'event': {'title': 5}}, status=400).text


# --------------------------------------------------------------------------
# dict[K, V], deque, and classes that make something else of a value

def test_a_dict_parameter_converts_each_key_and_value_of_a_json_object(make_app):
    def stock(counts: dict[str, int], days: Optional[Dict[int, List[datetime.date]]] = None):
        return repr((counts, days))

    web = client_serving(make_app, '/stock', stock)
    sent = {'counts': {'pen': 2, 'ink': '3'}, 'days': {'1': ['2024-05-31']}}
    assert web.post_json('/stock', sent).text == repr(({'pen': 2, 'ink': 3}, {1: [datetime.date(2024, 5, 31)]}))


@pytest.mark.parametrize('sent, problem, shown', [
    ({'pen': 'many'}, ": its member 'pen' must be an integer", 'many'),
    ([['pen', 2]], '', [['pen', 2]]),
    ('pen=2', '', 'pen=2'),
])
def test_a_dict_parameter_refuses_a_value_that_does_not_fit_with_a_400(make_app, log_dir, sent, problem, shown):
    def stock(counts: Dict[str, int]):
        return repr(counts)

    web = client_serving(make_app, '/stock', stock)
    message = "parameter 'counts' must be a JSON object, each key str and each value int%s, got %r" % (problem, shown)
    assert web.post_json('/stock', {'counts': sent}, status=400).text == 'Bad request: %s\n' % message
    assert message in read_log(log_dir)


def test_a_bare_dict_parameter_takes_what_dict_takes_as_sent(make_app):
    app = make_app()

    @app.route('/prefs', ['GET', 'POST'])
    def prefs(prefs: dict):
        return repr(prefs)

    web = client(app)
    assert web.post_json('/prefs', {'prefs': {'theme': ['dark', 1]}}).text == repr({'theme': ['dark', 1]})
    assert web.post_json('/prefs', {'prefs': [['theme', 1]]}).text == repr({'theme': 1})
    assert web.get('/prefs?prefs=dark', status=400).text == "Bad request: parameter 'prefs' must be a valid dict, got 'dark'\n"


def test_a_deque_parameter_takes_repeated_keys_each_converted(make_app):
    def recent(ids: Deque[int]):
        return repr(ids)

    web = client_serving(make_app, '/recent', recent, 'GET')
    assert web.get('/recent?ids=1&ids=23').text == repr(collections.deque([1, 23]))
    assert "parameter 'ids' (at ids[1]) must be an integer, got 'abc'" in web.get('/recent?ids=1&ids=abc', status=400).text


def test_another_parameterised_class_is_read_as_its_class_with_its_items_as_sent(make_app):
    app = make_app()

    @app.route('/box', ['GET', 'POST'])
    def box(box: Box[int]):
        return repr(box)

    web = client(app)
    assert web.get('/box?box=5').text == "Box('5')"
    assert web.post_json('/box', {'box': [1, 'x']}).text == "Box([1, 'x'])"


@pytest.mark.parametrize('annotation, shown, reason', [
    (typing.Counter[str], 'Counter[str]', 'Counter() would count the letters of a text: write Dict[str, int]'),
    (typing.Type[int], 'Type[int]', 'a class is no value a request sends'),
    (typing.OrderedDict[str, int], 'OrderedDict[str, int]', 'write Dict[K, V], whose keys and values canister converts'),
    (typing.DefaultDict[str, int], 'DefaultDict[str, int]', 'write Dict[K, V], whose keys and values canister converts'),
    (typing.ChainMap[str, int], 'ChainMap[str, int]', 'write Dict[K, V], whose keys and values canister converts'),
])
def test_a_class_that_would_make_something_else_of_the_value_is_bound_as_text_with_a_warning(
        make_app, log_dir, annotation, shown, reason):
    app = make_app()

    def words(text):
        return repr(text)
    words.__annotations__ = {'text': annotation}
    app.route('/words', 'GET', words)

    assert client(app).get('/words?text=abc').text == repr('abc')
    assert any("Route GET /words: parameter 'text' is bound as text: canister cannot convert to its annotation "
               "%s (%s)" % (shown, reason) in line for line in warning_lines(log_dir))


def test_a_decimal_field_of_a_dataclass_from_a_json_number_keeps_the_number_as_written(make_app):
    def price(price: Price, fees: Dict[str, decimal.Decimal] = None):
        return repr((price.amount, fees))

    web = client_serving(make_app, '/price', price)
    sent = {'price': {'amount': 0.1}, 'fees': {'card': 2.35}}
    assert web.post_json('/price', sent).text == repr((decimal.Decimal('0.1'), {'card': decimal.Decimal('2.35')}))


def test_a_decimal_field_of_a_dataclass_from_a_json_number_keeps_the_digits_a_float_does_not(make_app):
    def price(price: Price):
        return repr(price.amount)

    web = client_serving(make_app, '/price', price)
    sent = b'{"price": {"amount": 0.12345678901234567891}}'
    response = web.post('/price', sent, headers={'Content-Type': 'application/json'})
    assert response.text == repr(decimal.Decimal('0.12345678901234567891'))


def test_a_dataclass_whose_fields_annotations_cannot_be_evaluated_is_bound_as_sent_with_a_warning(make_app, log_dir):
    def book(booking: Booking):
        return repr(booking)

    web = client_serving(make_app, '/book', book)
    assert web.post_json('/book', {'booking': {'where': 'x'}}).text == repr({'where': 'x'})
    assert any("Route POST /book: parameter 'booking' is bound as text: canister cannot convert to its annotation "
               in line and "(the annotations of the fields of" in line and "cannot be evaluated (NameError: name "
               "'Venue' is not defined)" in line for line in warning_lines(log_dir))


def test_a_lone_dataclass_parameter_takes_the_whole_json_body_as_in_fastapi(make_app):
    def create(item: Item):
        return repr(item)

    web = client_serving(make_app, '/items', create)
    assert web.post_json('/items', {'name': 'pen', 'qty': 2}).text == repr(Item('pen', 2))
    assert web.post_json('/items', {'item': {'name': 'ink'}}).text == repr(Item('ink'))
    assert web.post_json('/items', {'name': 'pen', 'colour': 'red'}, status=400).text == (
        "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, tags): Item has no "
        "field 'colour', got {'name': 'pen', 'colour': 'red'}\n")
    assert "missing parameter 'item'" in web.post('/items', {'name': 'pen'}, status=400).text


def test_a_lone_optional_record_parameter_takes_the_whole_json_body_too(make_app):
    """``item: Item | None`` (no default) was filled only from a member ``item``: FastAPI's body gave None."""
    app = make_app()

    def create(item: Item | None):
        return repr(item)

    if sys.version_info < (3, 10):  # (Python 3.9 cannot evaluate ``Item | None``: the same, spelt as it can)
        create.__annotations__['item'] = 'Optional[Item]'
    app.post('/items', callback=create)

    @app.post('/point')
    def point(where: Optional[Point]):
        return repr(where)

    @app.post('/event')
    def event(what: Union[Event, None] = None):
        return repr(what)

    web = client(app)
    assert web.post_json('/items', {'name': 'pen', 'qty': 2}).text == repr(Item('pen', 2))
    assert web.post_json('/items', {'item': {'name': 'ink'}}).text == repr(Item('ink'))
    assert web.post('/items').text == 'None'
    assert web.post('/items', b'null', headers={'Content-Type': 'application/json'}).text == 'None'
    assert web.post_json('/point', {'x': 3}).text == repr(Point(3))
    assert web.post_json('/event', {'title': 'launch', 'day': '2026-12-05'}).text == repr(
        {'title': 'launch', 'day': datetime.date(2026, 12, 5)})
    assert web.post('/event').text == 'None'
    assert "Item has no field 'colour'" in web.post_json('/items', {'name': 'pen', 'colour': 'red'}, status=400).text


def test_a_dataclass_parameter_beside_another_takes_only_the_member_of_its_name(make_app):
    def create(item: Item, dry_run: bool = False):
        return repr((item, dry_run))

    web = client_serving(make_app, '/items', create)
    assert "missing parameter 'item'" in web.post_json('/items', {'name': 'pen'}, status=400).text
    assert web.post_json('/items', {'item': {'name': 'pen'}, 'dry_run': True}).text == repr((Item('pen'), True))


def test_a_lone_dataclass_parameter_with_a_default_takes_the_body_and_beside_kwargs_only_its_member(make_app):
    """``Optional[Item] = None`` is FastAPI's optional body: ``{"name": "pen"}`` was None, the member ``item`` alone read."""
    def maybe(item: Optional[Item] = None):
        return repr(item)

    def extra(item: Item, **rest):
        return repr((item, rest))

    web = client_serving_posts(make_app, maybe, extra)
    assert web.post_json('/maybe', {'name': 'pen'}).text == repr(Item('pen'))
    assert web.post('/maybe').text == 'None'
    assert web.post_json('/maybe', {'item': {'name': 'pen'}}).text == repr(Item('pen'))
    assert web.post_json('/extra', {'name': 'pen'}, status=400).text.startswith(
        "Bad request: missing parameter 'item' (this body, {'name': 'pen'}, has the fields of Item, but beside **kwargs "
        "a record parameter takes only the member of its name: send {\"item\": {...}}")
    assert web.post_json('/extra', {'item': {'name': 'pen'}, 'x': 1}).text == repr((Item('pen'), {'x': 1}))


def test_a_form_posted_to_a_lone_dataclass_parameter_is_a_400_saying_to_send_json(make_app):
    def create(item: Item):
        return repr(item)

    web = client_serving(make_app, '/items', create)
    assert web.post('/items', {'name': 'pen'}, status=400).text == (
        "Bad request: missing parameter 'item' (it is built from a JSON object, which a form cannot hold: send the "
        "body as JSON, with Content-Type: application/json)\n")


def test_a_typed_dict_field_marked_required_or_not_required_is_so_under_a_future_import_of_annotations(make_app):
    def invite(invite: Invite):
        return invite['email']

    def reply(reply: Reply):
        return repr(reply)

    web = client_serving_posts(make_app, invite, reply)
    assert web.post_json('/invite', {'note': 'hi'}, status=400).text == (
        "Bad request: parameter 'invite' must be a JSON object with the fields of Invite (email, note): the field "
        "'email' is missing, got {'note': 'hi'}\n")
    assert web.post_json('/reply', {'answer': 'yes'}).text == repr({'answer': 'yes'})


def test_a_dataclass_takes_its_init_vars_converted_and_not_its_class_vars_or_init_false_fields(make_app, log_dir):
    def signup(user: Signup):
        return repr((user.name, user.digest) if isinstance(user, Signup) else user)

    web = client_serving(make_app, '/signup', signup)
    if sys.version_info < (3, 10):  # README: Python 3.9 cannot evaluate an InitVar written as text (the future import)
        assert web.post_json('/signup', {'user': 'ann'}).text == repr('ann')
        assert any("parameter 'user' is bound as text" in line and 'Signup cannot be evaluated' in line
                   for line in warning_lines(log_dir))
        return
    assert web.post_json('/signup', {'name': 'ann', 'word': 'abc', 'rounds': '2'}).text == repr(('ann', 'cba*2'))
    assert web.post_json('/signup', {'name': 'ann', 'word': 'abc'}).text == repr(('ann', 'cba*1'))
    for sent, problem in (({'name': 'ann'}, "the field 'word' is missing"),
                          ({'name': 'ann', 'word': 'abc', 'digest': 'x'}, "Signup has no field 'digest'"),
                          ({'name': 'ann', 'word': 'abc', 'minimum': 1}, "Signup has no field 'minimum'")):
        assert web.post_json('/signup', sent, status=400).text == (
            "Bad request: parameter 'user' must be a JSON object with the fields of Signup (name, word, rounds): "
            "%s, got %r\n" % (problem, sent))


def test_a_bad_item_of_a_list_of_dataclasses_is_a_400_naming_it_by_its_index(make_app, log_dir):
    sent = [{'name': 'pen'}, {'name': 'ink', 'qty': 'many'}]
    message = ("parameter 'extra' (at extra[1]) must be a JSON object with the fields of Item (name, qty, tags): its "
               "field 'qty' must be an integer, got 'many'")
    response = client(record_app(make_app)).post_json('/order', {'order': {'item': {'name': 'x'}}, 'extra': sent},
                                                      status=400)
    assert response.text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))


def test_an_assert_in_a_dataclass_post_init_is_a_400_with_its_message_and_a_warning_not_a_500(make_app, log_dir):
    def check(entry: Checked):
        return entry.name

    web = client_serving(make_app, '/check', check)
    assert web.post_json('/check', {'entry': {'name': 'ann', 'password': 'long enough'}}).text == 'ann'
    message = "parameter 'entry' must be a valid Checked (the name may not be bad), got {'name': 'bad', 'password': '***'}"
    assert web.post_json('/check', {'entry': {'name': 'bad', 'password': 'long enough'}}, status=400).text == (
        'Bad request: %s\n' % message)
    assert any(message in line for line in warning_lines(log_dir))
    assert 'Traceback' not in read_log(log_dir)


def test_a_post_init_value_error_quoting_a_secret_field_is_a_400_that_does_not_show_its_message(make_app, log_dir):
    def check(entry: Checked):
        return entry.name

    web = client_serving(make_app, '/check', check)
    response = web.post_json('/check', {'entry': {'name': 'ann', 'password': 'abc'}}, status=400)
    assert response.text == ("Bad request: parameter 'entry' must be a valid Checked (its message is not shown: it "
                             "holds the value sent, and the name looks secret), got {'name': 'ann', 'password': '***'}\n")
    assert "'abc'" not in read_log(log_dir)


def test_a_post_init_message_is_escaped_and_cut_to_one_short_line(make_app, log_dir):
    def loud(loud: Loud):
        return loud.name

    web = client_serving(make_app, '/loud', loud)
    text = web.post_json('/loud', {'loud': {'name': 'ann'}}, status=400).text
    assert text == ("Bad request: parameter 'loud' must be a valid Loud (line one\\nline two %s...), got {'name': 'ann'}\n"
                    % ('y' * 98))
    assert not any('line two' in line and 'line one' not in line for line in read_log(log_dir).splitlines())


def test_a_parameterised_generic_dataclass_converts_its_fields_by_its_arguments(make_app):
    def crate(crate: Crate[int], label: str = ''):
        return repr(crate)

    def lone(crate: Crate[datetime.date]):
        return repr(crate)

    def bare(crate: Crate, label: str = ''):
        return repr(crate)

    web = client_serving_posts(make_app, crate, lone, bare)
    assert web.post_json('/crate', {'crate': {'value': '5', 'more': [6, '7']}}).text == repr(Crate(5, [6, 7]))
    assert web.post_json('/crate', {'crate': {'value': 'five'}}, status=400).text == (
        "Bad request: parameter 'crate' must be a JSON object with the fields of Crate (value, more): its field "
        "'value' must be an integer, got 'five'\n")
    assert web.post_json('/lone', {'value': '2026-12-05'}).text == repr(Crate(datetime.date(2026, 12, 5)))
    assert web.post_json('/bare', {'crate': {'value': '5'}}).text == repr(Crate('5'))


def test_a_named_tuple_takes_a_json_array_of_its_fields_in_order_as_pydantic_does(make_app):
    web = client(record_app(make_app))
    assert web.post_json('/point', {'at': [1, '2']}).text == repr(Point(1, 2))
    assert web.post_json('/point', {'at': [4]}).text == repr(Point(4, 0))
    assert "its field 'y' must be an integer" in web.post_json('/point', {'at': [1, 'y']}, status=400).text
    assert "the field 'x' is missing" in web.post_json('/point', {'at': []}, status=400).text


def test_a_lone_record_with_a_field_named_as_its_parameter_takes_the_whole_body_as_in_fastapi(make_app):
    app = make_app()

    @app.post('/items')
    def create(item: Named):
        return repr(item)

    @app.post('/maybe')
    def maybe(item: Optional[Named] = None):
        return repr(item)

    @app.post('/beside')
    def beside(item: Named, dry_run: bool = False):
        return repr(item)

    web = client(app)
    assert web.post_json('/items', {'item': 'pen', 'qty': 2}).text == repr(Named('pen', 2))
    assert web.post_json('/items', {'item': 'pen'}).text == repr(Named('pen'))
    assert web.post_json('/maybe', {'item': 'ink', 'qty': '3'}).text == repr(Named('ink', 3))
    assert web.post('/maybe').text == 'None'
    assert web.post_json('/beside', {'item': {'item': 'pen'}}).text == repr(Named('pen'))


def test_a_lone_record_without_a_field_of_its_name_reads_a_member_of_its_name_as_the_record_whatever_its_value(
        make_app):
    def create(item: Item):
        return repr(item)

    web = client_serving(make_app, '/items', create)
    assert web.post_json('/items', {'item': 1, 'name': 'pen'}, status=400).text == (
        "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, tags), got 1\n")
