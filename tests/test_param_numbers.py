"""Numbers a parameter was given the wrong answer for, found by the log review of session 23.

* an integer of more digits than Python reads (``sys.get_int_max_str_digits()``, 4300 by default) got "must be an
  integer", which it is: the 400 names the limit now, in a query, a form and a JSON string; a JSON body holding such a
  number literal said "not valid JSON", which it is: it names the limit too.
* an ``enum.Flag`` refused the text of a combination of its flags (``?f=3`` for A|B, A=1 and B=2), which the class
  takes: it is taken now, and what the class refuses is a 400.
* a ``complex`` took ``nan``, ``inf`` and a run of digits too long for a float (as infinity): it is finite only now,
  as a ``float`` is.
* a ``complex`` took JSON ``true`` (as ``1+0j``), ``1_0`` and a number with blanks around it, which an ``int`` or a
  ``float`` refuses: it refuses them too.
"""
from __future__ import annotations

import enum
import json
import sys

import pytest

from helpers import client, read_log
from param_kit import assert_400_warned, post_json_text

needs_a_limit = pytest.mark.skipif(not hasattr(sys, 'get_int_max_str_digits'),
                                   reason='this Python reads integers of any length')


class Access(enum.Flag):
    READ = 1
    WRITE = 2


class Bits(enum.IntFlag):
    LOW = 1
    HIGH = 2


def numbers_app(make_app):
    """POST or GET /n (an int), /access (a Flag), /bits (an IntFlag), /z (a complex): each answers its value."""
    app = make_app()

    @app.route('/n', method=['GET', 'POST'])
    def n(n: int):
        return {'digits': len(str(n))}

    @app.route('/access', method=['GET', 'POST'])
    def access(access: Access):
        return {'access': access.value}

    @app.route('/bits', method=['GET', 'POST'])
    def bits(bits: Bits):
        return {'bits': int(bits)}

    @app.route('/z', method=['GET', 'POST'])
    def z(z: complex):
        return {'z': repr(z)}

    return app


def send(web, path, name, value, how, **options):
    """``name=value`` to ``path`` in a query, a form or a JSON body (the value as a JSON string, or as is)."""
    if how == 'query':
        return web.get(path, {name: value}, **options)
    if how == 'form':
        return web.post(path, {name: value}, **options)
    return web.post(path, json.dumps({name: value}), content_type='application/json', **options)


@needs_a_limit
@pytest.mark.parametrize('how', ['query', 'form', 'json'])
def test_an_integer_of_more_digits_than_python_reads_gets_a_400_that_names_the_limit(make_app, log_dir, how):
    limit = sys.get_int_max_str_digits()
    web = client(numbers_app(make_app))

    answer = send(web, '/n', 'n', '9' * (limit + 700), how, expect_errors=True)

    problem = ("parameter 'n' must be an integer of at most %d digits (Python's limit, sys.set_int_max_str_digits), "
               "not %d" % (limit, limit + 700))
    assert_400_warned(answer, log_dir, problem)
    assert 'must be an integer,' not in answer.text


@needs_a_limit
def test_a_negative_integer_of_more_digits_than_python_reads_names_the_limit_too(make_app):
    web = client(numbers_app(make_app))

    answer = web.get('/n', {'n': '-' + '9' * 5000}, expect_errors=True)

    assert answer.status_int == 400
    assert 'must be an integer of at most' in answer.text and 'not 5000' in answer.text


@needs_a_limit
def test_an_integer_of_as_many_digits_as_python_reads_binds(make_app):
    limit = sys.get_int_max_str_digits()
    web = client(numbers_app(make_app))

    assert web.get('/n', {'n': '9' * limit}).json == {'digits': limit}


@needs_a_limit
def test_a_json_body_with_a_number_of_more_digits_than_python_reads_gets_a_400_that_names_the_limit(make_app,
                                                                                                    log_dir):
    limit = sys.get_int_max_str_digits()
    web = client(numbers_app(make_app))

    answer = web.post('/n', '{"n": %s}' % ('9' * 5000), content_type='application/json', expect_errors=True)

    problem = ("the JSON body holds a number of more than %d digits (Python's limit, sys.set_int_max_str_digits)"
               % limit)
    assert_400_warned(answer, log_dir, problem)
    assert 'not valid JSON' not in answer.text


def test_a_body_that_is_not_json_is_still_called_so(make_app):
    web = client(numbers_app(make_app))

    answer = post_json_text(web, '/n', '{"n": 5', status=400)

    assert 'the body is not valid JSON' in answer.text


@pytest.mark.parametrize('how', ['query', 'form', 'json'])
def test_a_flag_parameter_takes_a_combination_of_its_flags(make_app, how):
    web = client(numbers_app(make_app))

    assert send(web, '/access', 'access', '3', how).json == {'access': 3}
    assert send(web, '/access', 'access', '2', how).json == {'access': 2}


def test_a_flag_parameter_takes_a_combination_as_a_json_number(make_app):
    web = client(numbers_app(make_app))

    assert web.post('/access', '{"access": 3}', content_type='application/json').json == {'access': 3}


@pytest.mark.parametrize('value', ['4', '7', 'READ', '1.0', '3x', '9' * 5000])
def test_a_flag_parameter_refuses_what_the_class_refuses_with_a_400(make_app, log_dir, value):
    web = client(numbers_app(make_app))

    answer = web.get('/access', {'access': value}, expect_errors=True)

    assert answer.status_int == 400
    assert "parameter 'access' must be a valid Access (its values: 1, 2, or a sum of them)" in answer.text
    assert ' WARNING ' in read_log(log_dir)


@pytest.mark.parametrize('path, name', [('/access', 'access'), ('/bits', 'bits')])
@pytest.mark.parametrize('how', ['query', 'form', 'json', 'json number'])
def test_a_flag_parameter_refuses_a_negative_number_which_python_reads_as_every_flag(make_app, log_dir, path, name,
                                                                                        how):
    web = client(numbers_app(make_app))

    if how == 'json number':
        answer = web.post(path, '{"%s": -1}' % name, content_type='application/json', expect_errors=True)
    else:
        answer = send(web, path, name, '-1', how, expect_errors=True)

    assert answer.status_int == 400, answer
    assert "parameter '%s' must be a valid %s" % (name, name.title()) in answer.text
    assert ' WARNING ' in read_log(log_dir)


def test_an_int_flag_parameter_takes_a_combination_of_its_flags(make_app):
    web = client(numbers_app(make_app))

    assert web.get('/bits?bits=3').json == {'bits': 3}


@pytest.mark.parametrize('value', ['nan', 'inf', '-inf', 'infj', 'nanj', '1+infj', '1e999', '9' * 400, '9' * 5000])
@pytest.mark.parametrize('how', ['query', 'form', 'json'])
def test_a_complex_parameter_that_is_not_finite_gets_a_400(make_app, log_dir, value, how):
    web = client(numbers_app(make_app))

    answer = send(web, '/z', 'z', value, how, expect_errors=True)

    assert_400_warned(answer, log_dir, "parameter 'z' must be a finite number")


def test_a_finite_complex_parameter_still_binds(make_app):
    web = client(numbers_app(make_app))

    assert web.get('/z', {'z': '1+2j'}).json == {'z': '(1+2j)'}
    assert web.post('/z', '{"z": 2.5}', content_type='application/json').json == {'z': '(2.5+0j)'}
    assert web.get('/z', {'z': 'abc'}, expect_errors=True).status_int == 400


@pytest.mark.parametrize('value, how', [(True, 'json'), (False, 'json'), ('1_0', 'query'), ('1_0', 'json'),
                                        (' 1 ', 'query'), ('1\n', 'form'), (' 1+2j', 'json'), ('١', 'query')])
def test_a_complex_parameter_refuses_what_an_int_or_a_float_parameter_refuses(make_app, log_dir, value, how):
    web = client(numbers_app(make_app))

    answer = send(web, '/z', 'z', value, how, expect_errors=True)

    assert_400_warned(answer, log_dir, "parameter 'z' must be a valid complex")
