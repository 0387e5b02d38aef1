"""A Decimal parameter is bounded in size, so that int() of it and ordinary arithmetic stay cheap and never overflow
the decimal module's default context: one past the bound is a 400, in whatever way it is sent."""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import List

import pytest

from helpers import ROOT, client, readme_section
from param_kit import assert_400_warned

#: What the 400 of a Decimal past the bound says.
PROBLEM = "parameter 'price' must be a number under 1e4300 in size, and 0 or at least 1e-4300"

#: Past the bound: what the decimal module takes (an exponent up to about ±10**18) and what it does not.
PAST = ['1e999999999', '-1e999999999', '1e-999999999', '1e4300', '-1e4300', '1e-4301', '9' * 4301,
        '0.' + '0' * 4300 + '1', '1e9999999999999999999', '-1e-9999999999999999999']

#: Within it: the largest and the smallest, which a handler can still turn into an int and multiply.
WITHIN = ['9' * 4300, '9.999e4299', '-9.999e4299', '1e-4300', '-1e-4300', '0e4300', '0']


@dataclasses.dataclass
class Line:
    price: Decimal
    quantity: int = 1


def sized_app(make_app, **overrides):
    app = make_app(**overrides)

    @app.route('/total', method=['GET', 'POST'])
    def total(price: Decimal, quantity: int = 1):
        # (what a handler does with a price: multiply it, take its whole units)
        return {'total': str(price * quantity), 'units': int(price).bit_length()}

    @app.route('/many', method=['GET', 'POST'])
    def many(price: List[Decimal]):
        return {'count': len(price), 'units': [int(item * 3).bit_length() for item in price]}

    @app.post('/line')
    def line(line: Line):
        return {'total': str(line.price * line.quantity)}

    return app


@pytest.mark.parametrize('text', PAST, ids=range(len(PAST)))
def test_a_decimal_past_the_bound_is_a_400_in_the_query_a_form_and_json(make_app, log_dir, text):
    web = client(sized_app(make_app))
    assert_400_warned(web.get('/total', {'price': text}, expect_errors=True), log_dir, PROBLEM)
    assert_400_warned(web.post('/total', {'price': text}, expect_errors=True), log_dir, PROBLEM)
    assert_400_warned(web.post('/total', '{"price": "%s"}' % text, content_type='application/json',
                               expect_errors=True), log_dir, PROBLEM)
    if not text.isdigit():  # (a JSON integer of 4,301 digits is more than Python reads: its own 400)
        assert_400_warned(web.post('/total', '{"price": %s, "quantity": 2}' % text, content_type='application/json',
                                   expect_errors=True), log_dir, PROBLEM)


@pytest.mark.parametrize('text', ['1e999999999', '1e-999999999', '-1e4300'])
def test_a_decimal_past_the_bound_is_a_400_in_a_list_a_bracketed_key_and_a_record(make_app, log_dir, text):
    web = client(sized_app(make_app))
    for response in (web.get('/many?price=1&price=%s' % text, expect_errors=True),
                     web.get('/many?price[]=1&price[]=%s' % text, expect_errors=True),
                     web.post('/many', '{"price": [1, %s]}' % text, content_type='application/json',
                              expect_errors=True),
                     web.post('/many', '{"price[]": [1.5, %s]}' % text, content_type='application/json',
                              expect_errors=True)):
        assert_400_warned(response, log_dir, PROBLEM.replace("'price'", "'price' (at price[1])"))
    response = web.post('/line', '{"line": {"price": %s, "quantity": 2}}' % text, content_type='application/json',
                        expect_errors=True)
    assert response.status_int == 400
    assert "its field 'price' must be a number under 1e4300 in size, and 0 or at least 1e-4300" in response.text


@pytest.mark.parametrize('text', WITHIN, ids=range(len(WITHIN)))
def test_the_largest_and_smallest_decimals_within_the_bound_are_usable(make_app, text):
    web = client(sized_app(make_app))
    expected = {'total': str(Decimal(text) * 3), 'units': int(Decimal(text)).bit_length()}
    assert web.get('/total', {'price': text, 'quantity': '3'}).json == expected
    assert web.post('/total', '{"price": %s, "quantity": 3}' % text, content_type='application/json').json == expected
    assert web.post('/many', '{"price[]": [%s, %s]}' % (text, text),
                    content_type='application/json').json == {'count': 2, 'units': [int(Decimal(text) * 3).bit_length()] * 2}
    # (and the bound itself is refused: the next number up, or down)
    bigger = '1e4300' if text.startswith('9') else '1e-4301'
    assert web.get('/total', {'price': bigger}, expect_errors=True).status_int == 400


def test_the_readme_states_the_bound_in_the_words_of_the_400(make_app):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    limits = re.search(r'\n  - \*Limits\.\* (.*)', readme).group(1)
    assert '`%s`' % PROBLEM in limits
    assert 'tests/test_decimal_size.py' in limits
    web = client(sized_app(make_app))
    assert PROBLEM in web.get('/total?price=1e999999999', expect_errors=True).text


def test_the_readme_says_a_large_json_body_costs_cpu_and_max_body_size_refuses_one_past_it(make_app):
    sentence = re.search(r'Reading a JSON body into parameters costs CPU.*?routes need\.',
                         readme_section('## Limits and error answers')).group(0)
    assert '`List[Decimal]`' in sentence and 'set `max_body_size` to what the app' in sentence
    web = client(sized_app(make_app, max_body_size=1000))
    body = '{"price": [%s]}' % ', '.join(['1.5'] * 400)
    assert web.post('/many', body, content_type='application/json', expect_errors=True).status_int == 413
    assert web.post('/many', '{"price": [%s]}' % ', '.join(['1.5'] * 100),
                    content_type='application/json').json['count'] == 100


@pytest.mark.parametrize('text', ['0E-999999999', '-0e-999999999', '0e999999999'])
def test_a_zero_with_a_huge_exponent_reaches_the_handler_as_a_zero_of_at_most_4300_places(make_app, text):
    """0E-999999999 is a zero, but ``format(x, 'f')``, how money is printed, would write it with a billion zeros."""
    app = make_app()

    @app.get('/show')
    def show(price: Decimal):
        return {'text': format(price, 'f'), 'zero': price == 0, 'negative': price.is_signed()}

    answer = client(app).get('/show', {'price': text}).json
    assert answer['zero'] and answer['negative'] == text.startswith('-')
    assert len(answer['text']) <= len('-0.') + 4300, len(answer['text'])
