"""A dict key that fails under a secret-looking name is not shown; a JSON number too large for a float is a 400."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, Dict, List

import pytest

from helpers import read_log, readme_section, warning_lines
from param_kit import Price, client_serving_posts, post_json_text

SECRET = 'sk_live_SEKRIT'


@dataclasses.dataclass
class Vault:
    """A record whose field has a secret-looking name and holds a dict."""

    tokens: Dict[int, str]


@dataclasses.dataclass
class Keyring:
    """A record whose secret-looking field holds a list of dicts."""

    api_keys: List[Dict[int, int]]


def vault_client(make_app):
    def nested(p: Dict[str, Dict[int, int]]):
        return 'never'

    def vault(vault: Vault):
        return 'never'

    def keyring(ring: Keyring):
        return 'never'

    def password(password: Dict[int, int]):
        return 'never'

    return client_serving_posts(make_app, nested, vault, keyring, password)


def assert_answer_and_log(answer, log_dir, message):
    assert answer.status_int == 400
    assert answer.text == 'Bad request: %s\n' % message
    assert warning_lines(log_dir)[-1].endswith('Bad request: %s' % message)
    assert SECRET not in answer.text
    assert SECRET not in read_log(log_dir)


#: (test id, path, JSON body, the message of the 400) of a key that fails under a secret-looking name: not shown
SECRET_KEYS = [
    ('under-a-secret-looking-member', '/nested', '{"p": {"api_key": {"%s": 1}}}' % SECRET,
     "parameter 'p' must be a JSON object, each key str and each value Dict[int, int]: its member 'api_key' must be a "
     "JSON object, each key int and each value int: a key of it must be an integer (the key is not shown: the name "
     "looks secret)"),
    ('under-a-secret-looking-field', '/vault', '{"vault": {"tokens": {"%s": "v"}}}' % SECRET,
     "parameter 'vault' must be a JSON object with the fields of Vault (tokens): its field 'tokens' must be a JSON "
     "object, each key int and each value str: a key of it must be an integer (the key is not shown: the name looks "
     "secret)"),
    ('in-a-list-under-a-secret-looking-field', '/keyring', '{"ring": {"api_keys": [{"1": 1}, {"%s": 1}]}}' % SECRET,
     "parameter 'ring' must be a JSON object with the fields of Keyring (api_keys): its field 'api_keys' (at "
     "api_keys[1]) must be a JSON object, each key int and each value int: a key of it must be an integer (the key is "
     "not shown: the name looks secret)"),
    ('of-a-secret-looking-parameter', '/password', '{"password": {"%s": 1}}' % SECRET,
     "parameter 'password' must be a JSON object, each key int and each value int: a key of it must be an integer "
     "(the key is not shown: the name looks secret)"),
]


@pytest.mark.parametrize('path,body,message', [case[1:] for case in SECRET_KEYS], ids=[case[0] for case in SECRET_KEYS])
def test_a_failing_key_under_a_secret_looking_name_is_not_shown(make_app, log_dir, path, body, message):
    answer = post_json_text(vault_client(make_app), path, body, status=400)
    assert_answer_and_log(answer, log_dir, message)


def test_a_failing_key_under_plain_names_is_still_shown(make_app, log_dir):
    web = vault_client(make_app)
    answer = post_json_text(web, '/nested', '{"p": {"counts": {"x": 1}}}', status=400)
    assert answer.text == ("Bad request: parameter 'p' must be a JSON object, each key str and each value "
                           "Dict[int, int]: its member 'counts' must be a JSON object, each key int and each value "
                           "int: its key 'x' must be an integer, got 'x'\n")


HUGE = "the JSON body holds a number too large for a float: parameter %r: it reads as Infinity, and NaN, " \
       "Infinity and -Infinity are not JSON values"


def huge_client(make_app):
    def loose(x, y=None):
        return {'x': repr(x)}

    def mapping(x: dict):
        return {'x': repr(x)}

    def anything(x: Any):
        return {'x': repr(x)}

    def many(x: list):
        return {'x': repr(x)}

    def number(x: float):
        return {'x': x}

    def extras(**rest):
        return {'rest': repr(rest)}

    return client_serving_posts(make_app, loose, mapping, anything, many, number, extras)


def test_a_json_number_too_large_for_a_float_is_a_400_wherever_it_lands(make_app, log_dir):
    web = huge_client(make_app)
    for path, body in [('/loose', '{"y": 1, "x": 1e999}'), ('/loose', '{"x": [1, {"a": -1e999}]}'),
                       ('/mapping', '{"x": {"a": 1e999}}'), ('/anything', '{"x": 1e999}'),
                       ('/many', '{"x": [1.5, 1e999]}'), ('/number', '{"x": 1e999}'), ('/extras', '{"x": 2e308}'),
                       ('/loose', '{"x": 1%s.0}' % ('0' * 400))]:
        answer = post_json_text(web, path, body, status=400)
        assert answer.text == 'Bad request: %s\n' % (HUGE % 'x'), (path, body)
        assert warning_lines(log_dir)[-1].endswith('Bad request: %s' % (HUGE % 'x'))
    assert 'Infinity' not in ''.join(line for line in read_log(log_dir).splitlines() if 'Response: 200' in line)


def test_large_finite_numbers_and_plain_bodies_still_bind(make_app):
    web = huge_client(make_app)
    assert post_json_text(web, '/loose', '{"x": 1.7976931348623157e308}').json == {'x': '1.7976931348623157e+308'}
    assert post_json_text(web, '/loose', '{"x": 1e-999}').json == {'x': '0.0'}
    assert post_json_text(web, '/many', '{"x": [0.5, 2, -3e10]}').json == {'x': '[0.5, 2, -30000000000.0]'}


def test_a_json_integer_of_more_digits_than_python_reads_is_a_400(make_app, log_dir):
    # (a guard: this was a 400 already, not a 500)
    web = huge_client(make_app)
    answer = post_json_text(web, '/loose', '{"x": 1%s}' % ('0' * 5000), status=400)
    assert answer.text.startswith('Bad request: the JSON body holds a number of more than ')
    assert '(Python\'s limit, sys.set_int_max_str_digits)' in warning_lines(log_dir)[-1]


def decimal_client(make_app):
    def pay(amount: Decimal, note: Any = None):
        return {'amount': repr(amount), 'note': repr(note)}

    def price(price: Price):
        return {'amount': repr(price.amount), 'note': repr(price.note)}

    return client_serving_posts(make_app, pay, price)


def test_a_decimal_still_takes_a_number_too_large_for_a_float(make_app):
    web = decimal_client(make_app)
    assert post_json_text(web, '/pay', '{"amount": 1e999}').json == {'amount': "Decimal('1E+999')", 'note': 'None'}
    assert post_json_text(web, '/price', '{"amount": 1e999, "note": 1}').json == {
        'amount': "Decimal('1E+999')", 'note': '1'}


def test_beside_a_decimal_a_number_too_large_for_a_float_is_still_a_400(make_app, log_dir):
    web = decimal_client(make_app)
    answer = post_json_text(web, '/pay', '{"amount": 1e999, "note": 1e999}', status=400)
    assert answer.text == 'Bad request: %s\n' % (HUGE % 'note')
    answer = post_json_text(web, '/price', '{"amount": 1, "note": [1e999]}', status=400)
    assert answer.text == ("Bad request: parameter 'price' must be a JSON object with the fields of Price (amount, "
                           "rate, note): its field 'note' holds a number too large for a float: it reads as Infinity, and "
                           "NaN, Infinity and -Infinity are not JSON values, got [1e999]\n")
    assert warning_lines(log_dir)[-1].endswith("its field 'note' holds a number too large for a float: it reads as "
                                               "Infinity, and NaN, Infinity and -Infinity are not JSON values, "
                                               "got [1e999]")


def test_beside_a_decimal_its_name_with_brackets_in_kwargs_cannot_hold_a_number_too_large_for_a_float(make_app, log_dir):
    # (a single Decimal is never sent as amount[]: that member goes to **kwargs, taken as sent)
    def tip(amount: Decimal, **rest):
        return {'amount': repr(amount), 'rest': repr(rest)}

    def tips(amounts: List[Decimal], **rest):
        return {'amounts': repr(amounts), 'rest': repr(rest)}

    web = client_serving_posts(make_app, tip, tips)
    answer = post_json_text(web, '/tip', '{"amount": 1, "amount[]": 1e999}', status=400)
    assert answer.text == 'Bad request: %s\n' % (HUGE % 'amount[]')
    assert warning_lines(log_dir)[-1].endswith('Bad request: %s' % (HUGE % 'amount[]'))
    assert post_json_text(web, '/tip', '{"amount": 1e999, "amount[]": 2}').json == {
        'amount': "Decimal('1E+999')", 'rest': "{'amount[]': 2}"}
    assert post_json_text(web, '/tips', '{"amounts[]": [1e999]}').json == {
        'amounts': "[Decimal('1E+999')]", 'rest': '{}'}


def test_the_readme_says_a_secret_key_and_a_number_too_large_for_a_float_are_not_shown_or_taken():
    section = readme_section('## Parameter unpacking')
    assert ("its member 'api_key' must be a JSON object, each key int and each value int: a key of it must be an "
            "integer (the key is not shown: the name looks secret)") in section
    assert 'A JSON body holding a number too large for a float (`1e999`' in section
    assert '`%s`' % (HUGE % 'x') in section
