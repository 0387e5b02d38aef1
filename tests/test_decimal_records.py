"""A ``Decimal`` inside a record (a dataclass's, ``NamedTuple``'s or ``TypedDict``'s field, at any depth) or a ``Dict``
gets the JSON number's own digits, as a ``Decimal`` parameter does, however many: never those of a binary float."""
from __future__ import annotations

import copy
import dataclasses
import enum
import json
import pickle
from decimal import Decimal
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, TypedDict, Union

from pydantic import BaseModel, field_validator

from helpers import client, read_log, readme_section, warning_lines
from param_kit import client_serving, client_serving_posts, post_json_text, Price

HIDDEN = '(its message is not shown: it holds the value sent, and the name looks secret)'

LONG = '12345678901234567890.123'


@dataclasses.dataclass
class Order:
    prices: List[Price]
    tip: Optional[Decimal] = None


class Line(NamedTuple):
    amount: Decimal


class Entry(TypedDict):
    amount: Decimal


class Money(BaseModel):
    amount: Decimal


@dataclasses.dataclass
class Wallet:
    cash: Money
    share: Union[float, str]
    fee: Decimal


def test_a_decimal_field_of_a_dataclass_keeps_every_digit_of_a_json_number(make_app):
    def price(price: Price):
        return repr(price.amount)

    web = client_serving(make_app, '/price', price)
    assert post_json_text(web, '/price', '{"price": {"amount": %s}}' % LONG).text == repr(Decimal(LONG))
    assert post_json_text(web, '/price', '{"amount": %s}' % LONG).text == repr(Decimal(LONG))  # (the lone record: the body)
    assert post_json_text(web, '/price', '{"price": {"amount": 2.50}}').text == "Decimal('2.50')"  # (as a parameter's)
    assert post_json_text(web, '/price', '{"price": {"amount": 1e999}}').text == "Decimal('1E+999')"


def test_the_other_fields_of_that_record_get_the_float_a_json_number_is(make_app):
    def price(price: Price, ratio: float = 0.0):
        return json.dumps({'rate is a float': type(price.rate) is float, 'rate': price.rate, 'note': price.note,
                           'note holds a float': isinstance(price.note['x'][0], float), 'ratio': ratio})

    web = client_serving(make_app, '/price', price)
    response = post_json_text(web, '/price', '{"price": {"amount": 0.1, "rate": %s, "note": {"x": [0.1]}}, '
                                            '"ratio": 0.25}' % LONG)
    assert json.loads(response.text) == {'rate is a float': True, 'rate': float(LONG), 'note': {'x': [0.1]},
                                         'note holds a float': True, 'ratio': 0.25}


def test_a_decimal_at_any_depth_keeps_its_digits_in_a_list_of_records_a_dict_a_namedtuple_and_a_typeddict(make_app):
    def order(order: Order):
        return repr(([price.amount for price in order.prices], order.tip))

    def fees(fees: Dict[str, Decimal]):
        return repr(fees)

    def line(line: Line, entry: Entry):
        return repr((line.amount, entry['amount']))

    web = client_serving_posts(make_app, order, fees, line)
    assert post_json_text(web, '/order', '{"order": {"prices": [{"amount": 1.5}, {"amount": %s}], "tip": 0.10}}' % LONG).text \
        == repr(([Decimal('1.5'), Decimal(LONG)], Decimal('0.10')))
    assert post_json_text(web, '/fees', '{"fees": {"card": %s}}' % LONG).text == repr({'card': Decimal(LONG)})
    assert post_json_text(web, '/line', '{"line": [%s], "entry": {"amount": 0.30}}' % LONG).text == repr(
        (Decimal(LONG), Decimal('0.30')))


def test_a_bad_number_for_a_decimal_field_is_still_a_400(make_app):
    def price(price: Price):
        return 'never'

    web = client_serving(make_app, '/price', price)
    response = post_json_text(web, '/price', '{"price": {"amount": 1e99999999999999999999}}', status=400)
    assert response.text.startswith("Bad request: parameter 'price' must be a JSON object with the fields of Price "
                                    "(amount, rate, note): its field 'amount' must be a")


def test_a_union_with_float_gets_a_float_and_a_pydantic_model_reads_its_decimal_from_that_float(make_app):
    def wallet(wallet: Wallet):
        return repr((wallet.cash.amount, isinstance(wallet.share, float), wallet.share, wallet.fee))

    web = client_serving(make_app, '/wallet', wallet)
    response = post_json_text(web, '/wallet', '{"wallet": {"cash": {"amount": %s}, "share": 0.5, "fee": 0.10}}' % LONG)
    assert response.text == repr((Decimal('1.2345678901234567E+19'), True, 0.5, Decimal('0.10')))


class Rate(enum.Enum):
    LOW = 0.5
    HIGH = 1.5


@dataclasses.dataclass
class Charge:
    amount: Decimal
    rate: Rate


def test_an_enum_of_floats_beside_a_decimal_field_takes_its_member_as_it_does_alone(make_app):
    def charge(charge: Charge):
        return repr((charge.amount, charge.rate))

    web = client_serving(make_app, '/charge', charge)
    assert post_json_text(web, '/charge', '{"charge": {"amount": 0.10, "rate": 0.5}}').text == repr((Decimal('0.10'), Rate.LOW))
    assert post_json_text(web, '/charge', '{"charge": {"amount": 2, "rate": 1.5}}').text == repr((Decimal('2'), Rate.HIGH))
    response = post_json_text(web, '/charge', '{"charge": {"amount": 0.10, "rate": 0.7}}', status=400)
    assert "its field 'rate' must be a valid Rate (its values: 0.5, 1.5)" in response.text


def test_a_number_taken_as_sent_beside_a_decimal_field_pickles_and_copies_as_a_plain_float(make_app):
    # (it was pickled as canister's own private class, which the pickle then needed to load: another process without
    # canister, or a later canister without that class, could not read it back)
    def price(price: Price):
        pickled = pickle.dumps(price.note)
        return json.dumps({'names canister': b'canister' in pickled, 'back': repr(pickle.loads(pickled)),
                           'copied': type(copy.deepcopy(price.note)[0]).__name__})

    web = client_serving(make_app, '/price', price)
    response = post_json_text(web, '/price', '{"price": {"amount": 0.10, "note": [0.25]}}')
    assert json.loads(response.text) == {'names canister': False, 'back': '[0.25]', 'copied': 'float'}


@dataclasses.dataclass
class Invoice:
    total: Decimal
    extra: Any
    meta: Dict[str, Any]
    items: List[Any]
    share: Union[float, str]
    pair: Tuple[Decimal, Any]


INVOICE = ('{"total": %s, "extra": 0.5, "meta": {"ratio": 0.25}, "items": [1.75, {"x": 2.5}], "share": 0.125, '
           '"pair": [0.10, 3.5]}' % LONG)


def test_values_taken_as_sent_beside_a_decimal_field_sent_a_fraction_are_plain_floats(make_app):
    # (they were a float subclass keeping the number's text: type(x) is float was False, and orjson refused them)
    app = make_app()

    def kinds(invoice):
        return {'total': repr(invoice.total), 'extra': type(invoice.extra).__name__,
                'meta': type(invoice.meta['ratio']).__name__, 'item': type(invoice.items[0]).__name__,
                'nested': type(invoice.items[1]['x']).__name__, 'share': type(invoice.share).__name__,
                'pair': [repr(invoice.pair[0]), type(invoice.pair[1]).__name__]}

    @app.post('/invoice')
    def lone(invoice: Invoice):
        return kinds(invoice)

    @app.post('/named')
    def named(invoice: Invoice, note: Any = None):
        return dict(kinds(invoice), note=type(note[0]).__name__)

    @app.post('/optional')
    def optional(invoice: Optional[Invoice] = None):
        return kinds(invoice)

    expected = {'total': repr(Decimal(LONG)), 'extra': 'float', 'meta': 'float', 'item': 'float', 'nested': 'float',
                'share': 'float', 'pair': [repr(Decimal('0.10')), 'float']}
    web = client(app)
    assert post_json_text(web, '/invoice', INVOICE).json == expected
    assert post_json_text(web, '/optional', INVOICE).json == expected
    assert post_json_text(web, '/named', '{"invoice": %s, "note": [0.5]}' % INVOICE).json == dict(expected, note='float')


def test_a_400_for_a_record_with_a_decimal_field_shows_its_numbers_as_the_body_wrote_them(make_app, log_dir):
    def price(price: Price):
        return 'never'

    web = client_serving(make_app, '/price', price)
    message = ("parameter 'price' must be a JSON object with the fields of Price (amount, rate, note): its field "
               "'amount' must be a number, got [0.10, 2.50E+1]")
    response = post_json_text(web, '/price', '{"price": {"amount": [0.10, 2.50E+1], "rate": 0.10}}', status=400)
    assert response.text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))


class Check(BaseModel):
    value: float

    @field_validator('value')
    @classmethod
    def small(cls, value):
        if value > 100:
            raise ValueError('%s is too large' % value)
        return value


@dataclasses.dataclass
class Payment:
    pin: float
    check: Check
    fee: Decimal = Decimal(0)


def test_a_model_beside_a_decimal_field_hides_a_message_quoting_a_secret_field_however_the_body_wrote_the_number(
        make_app, log_dir):
    # (the body read again for the Decimal kept the secret's text, 1234.50, and looked for that in the model's
    # message, which quotes the float the model got, 1234.5)
    def pay(payment: Payment):
        return 'never'

    web = client_serving(make_app, '/pay', pay)
    for pin in ('1234.5', '1234.50', '1.2345e3'):
        response = post_json_text(web, '/pay', '{"payment": {"pin": %s, "check": {"value": %s}, "fee": 0.5}}' % (pin, pin),
                        status=400)
        assert "its field 'check' must be a valid Check (field 'value': %s)" % HIDDEN in response.text, pin
    assert '1234.5 is too large' not in read_log(log_dir)


def test_a_400_for_another_parameter_of_a_body_read_again_for_a_decimal_shows_the_float_as_without_it(make_app):
    def price(price: Price, ratio: int = 0):
        return 'never'

    web = client_serving(make_app, '/price', price)
    response = post_json_text(web, '/price', '{"price": {"amount": 1.50}, "ratio": 0.10}', status=400)
    assert response.text == "Bad request: parameter 'ratio' must be an integer, got 0.1\n"
    assert ("one for another parameter of that body shows the float, as it would without the `Decimal` (`parameter "
            "'ratio' must be an integer, got 0.1` for `0.10`)") in readme_section('## Parameter unpacking')
