"""NaN and Infinity never reach a handler that takes parameters: not as a float or Decimal parameter, not in a JSON
body; a handler without parameters reads the body through Bottle, as the Security notes say."""
from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from typing import List, Optional

import bottle
import pytest

from helpers import client, read_log, readme_section
from param_kit import assert_400_warned, post_json_text


def float_app(make_app):
    app = make_app()

    @app.route('/x', method=['GET', 'POST'])
    def x(x: float):
        return {'x': x}

    @app.get('/many')
    def many(x: List[float]):
        return {'x': x}

    @app.get('/maybe')
    def maybe(x: Optional[float] = None):
        return {'x': x}

    @app.post('/any')
    def anything(x, y=None):
        return {'x': repr(x)}

    return app


@pytest.mark.parametrize('text', ['nan', 'NaN', 'inf', '-inf', 'Infinity', '-Infinity', '1e999', '-1e999'])
def test_a_non_finite_float_parameter_gets_400_naming_it(make_app, log_dir, text):
    app = float_app(make_app)
    c = client(app)
    for path in ('/x', '/many', '/maybe'):
        response = c.get(path, {'x': text}, expect_errors=True)
        assert response.status_int == 400, (path, response)
        assert "parameter 'x' must be a finite number" in response.text
    assert re.search(r" WARNING .*Bad request: parameter 'x' must be a finite number", read_log(log_dir))


def test_finite_floats_still_bind(make_app):
    c = client(float_app(make_app))
    assert c.get('/x?x=1.5').json == {'x': 1.5}
    assert c.get('/x?x=-2e3').json == {'x': -2000.0}
    assert c.get('/many?x=1&x=0.25').json == {'x': [1.0, 0.25]}


def test_a_json_number_too_large_for_a_float_gets_400(make_app):
    c = client(float_app(make_app))
    response = post_json_text(c, '/x', '{"x": 1e999}', status=400)
    assert "number too large for a float: parameter 'x': it reads as Infinity" in response.text


@pytest.mark.parametrize('constant', ['NaN', 'Infinity', '-Infinity'])
def test_a_json_body_with_nan_or_infinity_is_not_json(make_app, log_dir, constant):
    c = client(float_app(make_app))
    for path in ('/x', '/any'):
        response = c.post(path, '{"y": 1, "x": %s}' % constant, content_type='application/json', expect_errors=True)
        assert response.status_int == 400, (path, response)
        assert "not valid JSON: parameter 'x'" in response.text
        assert 'are not JSON values' in response.text
    nested = c.post('/any', '{"x": 1, "y": {"deep": [1, [%s]]}}' % constant, content_type='application/json',
                    expect_errors=True)
    assert nested.status_int == 400
    assert "parameter 'y'" in nested.text
    assert re.search(r' WARNING .*not valid JSON.*are not JSON values', read_log(log_dir))



def test_nan_in_a_json_body_is_refused_where_the_handler_takes_parameters_and_not_where_it_takes_none(make_app):
    notes = readme_section('## Security notes')
    assert ('a JSON body holding `NaN` or `Infinity` anywhere is refused with 400 on a route whose handler takes '
            'parameters, also when the handler reads it as `bottle.request.json`') in notes
    assert ('A handler without parameters that reads `bottle.request.json` gets Bottle\'s reading of the body, where '
            '`NaN` and `Infinity` are numbers') in notes
    app = make_app()

    @app.post('/with')
    def with_a_parameter(dry_run: bool = False):
        return {'body': repr(bottle.request.json)}

    @app.post('/without')
    def without_parameters():
        return {'body': repr(bottle.request.json)}

    c = client(app)
    for constant in ('NaN', 'Infinity', '-Infinity'):
        for body in ('[1, %s]' % constant, '{"amount": %s}' % constant):
            refused = c.post('/with', body, content_type='application/json', expect_errors=True)
            assert refused.status_int == 400, (body, refused)
            assert 'are not JSON values' in refused.text
            read = c.post('/without', body, content_type='application/json').json['body']
            assert read == repr(json.loads(body)) and ('nan' in read or 'inf' in read), (body, read)
    assert c.post('/without', '{"amount": NaN}', content_type='application/json').json == {'body': "{'amount': nan}"}
    assert c.post('/with', '[1, 2.5]', content_type='application/json').json == {'body': '[1, 2.5]'}

def test_naming_the_parameter_that_holds_nan_takes_one_pass_over_the_body(make_app):
    # 400 objects deep around a list of 100,000 numbers: a search that went over the list once per
    # level of nesting took minutes of CPU for this one 200 KB request
    c = client(float_app(make_app))
    body = '{"y": 1, "x": ' + '{"a": ' * 400 + '[' + '0,' * 100000 + 'NaN]' + '}' * 400 + '}'
    started = time.process_time()
    response = c.post('/any', body, content_type='application/json', status=400)
    assert "not valid JSON: parameter 'x'" in response.text
    assert time.process_time() - started < 10  # (a bound for a hang: one pass takes well under a second)


def price_app(make_app):
    app = make_app()

    @app.route('/price', method=['GET', 'POST'])
    def price(amount: Decimal):
        return {'amount': str(amount), 'type': type(amount).__name__}

    return app


@pytest.mark.parametrize('text', ['NaN', 'nan', 'sNaN', '-NaN', 'Infinity', '-Infinity', 'inf'])
def test_a_non_finite_decimal_parameter_gets_400_naming_it(make_app, log_dir, text):
    c = client(price_app(make_app))
    response = c.get('/price', {'amount': text}, expect_errors=True)
    assert_400_warned(response, log_dir, "parameter 'amount' must be a finite number")


def test_decimals_bind_exactly_and_garbage_gets_400(make_app):
    c = client(price_app(make_app))
    assert c.get('/price?amount=19.99').json == {'amount': '19.99', 'type': 'Decimal'}
    assert c.post('/price', '{"amount": 3}', content_type='application/json').json == {'amount': '3', 'type': 'Decimal'}
    response = c.get('/price?amount=cheap', status=400)
    assert "parameter 'amount' must be a number" in response.text
