"""A Decimal parameter filled from a JSON number gets that number's own digits, never a binary float's."""
import sys
from decimal import Decimal
from typing import List, Optional, Tuple, Union

import pytest

from helpers import client


def decimal_app(make_app):
    app = make_app()

    @app.post('/pay')
    def pay(amount: Decimal, note=None, ratio: float = 1.0):
        return {'amount': repr(amount), 'note': repr(note), 'ratio': repr(ratio)}

    @app.post('/many')
    def many(amounts: List[Decimal], maybe: Optional[Decimal] = None):
        return {'amounts': [repr(amount) for amount in amounts], 'maybe': repr(maybe)}

    return app


def post(web, path, body, **kwargs):
    return web.post(path, body, content_type='application/json', **kwargs)


@pytest.mark.parametrize('number, expected', [
    ('0.1', "Decimal('0.1')"),
    ('12345678901234567.89', "Decimal('12345678901234567.89')"),
    ('0.1000000000000000000000000000000000000001', "Decimal('0.1000000000000000000000000000000000000001')"),
    ('-2.50', "Decimal('-2.50')"),
    ('1e-7', "Decimal('1E-7')"),
    ('1E+3', "Decimal('1E+3')"),
    ('1e999', "Decimal('1E+999')"),  # as the text 1e999 in the query: a finite Decimal
    ('3', "Decimal('3')"),
    ('123456789012345678901234567890', "Decimal('123456789012345678901234567890')"),
])
def test_a_json_number_gives_a_decimal_parameter_its_exact_digits(make_app, number, expected):
    web = client(decimal_app(make_app))
    assert post(web, '/pay', '{"amount": %s}' % number).json['amount'] == expected


def test_other_parameters_of_the_same_body_keep_their_floats(make_app):
    web = client(decimal_app(make_app))
    response = post(web, '/pay', '{"amount": 0.1, "note": {"x": [0.1]}, "ratio": 0.1}')
    assert response.json == {'amount': "Decimal('0.1')", 'note': "{'x': [0.1]}", 'ratio': '0.1'}
    assert post(web, '/pay', '{"amount": 0.1, "note": 0.5}').json['note'] == '0.5'


def test_a_list_and_an_optional_decimal_get_exact_digits_from_json(make_app):
    web = client(decimal_app(make_app))
    response = post(web, '/many', '{"amounts": [0.1, 0.2, 3, "0.3"], "maybe": 0.7}')
    assert response.json == {'amounts': ["Decimal('0.1')", "Decimal('0.2')", "Decimal('3')", "Decimal('0.3')"],
                             'maybe': "Decimal('0.7')"}
    assert post(web, '/many', '{"amounts": [1.5], "maybe": null}').json['maybe'] == 'None'


def test_an_exponent_too_large_for_the_decimal_module_answers_400(make_app):
    web = client(decimal_app(make_app))
    response = post(web, '/pay', '{"amount": 1e9999999999999999999}', expect_errors=True)
    assert response.status_int == 400
    assert "parameter 'amount' must be a number" in response.text


def test_a_decimal_given_a_string_or_a_query_value_is_exact_as_before(make_app):
    web = client(decimal_app(make_app))
    assert post(web, '/pay', '{"amount": "0.1"}').json['amount'] == "Decimal('0.1')"
    assert web.post('/pay?amount=0.1').json['amount'] == "Decimal('0.1')"
    response = post(web, '/pay', '{"amount": true}', expect_errors=True)
    assert response.status_int == 400
    assert "parameter 'amount' must be a number" in response.text


@pytest.mark.skipif(not hasattr(sys, 'get_int_max_str_digits'), reason='this Python reads integers of any length')
def test_a_json_integer_longer_than_pythons_limit_gets_a_400_that_names_the_limit(make_app):
    web = client(decimal_app(make_app))
    digits = sys.get_int_max_str_digits()
    assert post(web, '/pay', '{"amount": %s}' % ('9' * digits)).json['amount'] == "Decimal('%s')" % ('9' * digits)
    response = post(web, '/pay', '{"amount": %s}' % ('9' * (digits + 1)), expect_errors=True)
    assert response.status_int == 400
    assert 'the JSON body holds a number of more than %d digits' % digits in response.text


def test_a_query_value_of_a_decimal_union_converts_as_from_the_query_whatever_numbers_the_body_sends(make_app):
    # (a fraction in the body, read again for the Decimal, made the query's texts convert as JSON values: '5' stayed
    # a str for Union[Decimal, str], where the query gives Decimal('5'))
    app = make_app()

    @app.post('/quote')
    def quote(price: Decimal, q: Union[Decimal, str] = None, pair: Tuple[Union[Decimal, str], int] = None):
        return {'q': repr(q), 'pair': repr(pair)}

    web = client(app)
    expected = {'q': "Decimal('5')", 'pair': "(Decimal('5'), 6)"}
    assert post(web, '/quote?q=5&pair=5&pair=6', '{"price": 1}').json == expected
    assert post(web, '/quote?q=5&pair=5&pair=6', '{"price": 1.5}').json == expected
