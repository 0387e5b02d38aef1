"""A class used as a converter: a value it cannot take is a 400 naming the parameter; anything
else it raises is a 500 logged with its traceback."""
import enum
import json
import re
import uuid

import pytest

from helpers import client, logged_traceback, read_log
from param_kit import client_serving


class Colour(enum.Enum):
    RED = 'red'


class ByName:
    """Looks the text up in a table: an unknown name raises KeyError."""
    TABLE = {'one': 1}

    def __init__(self, text):
        self.number = self.TABLE[text]


class Boom:
    """A converter class with a bug of its own: it raises an exception no bad input explains."""

    def __init__(self, text):
        raise RuntimeError('converter bug %s' % text)


@pytest.mark.parametrize('value', [5, 2.5, True, ['x'], {'a': 1}])
def test_a_uuid_parameter_given_a_json_value_that_is_not_a_string_answers_400(make_app, log_dir, value):
    def u(id: uuid.UUID):
        return str(id)

    web = client_serving(make_app, '/u', u)
    response = web.post_json('/u', {'id': value}, status=400)
    assert "parameter 'id' must be a valid UUID" in response.text
    log = read_log(log_dir)
    assert "WARNING  [127.0.0.1-...]   Bad request: parameter 'id' must be a valid UUID" in log
    assert 'Traceback' not in log


def test_a_uuid_parameter_still_takes_a_uuid_text_from_json(make_app):
    def u(id: uuid.UUID):
        return repr(id.version)

    web = client_serving(make_app, '/u', u)
    assert web.post_json('/u', {'id': '2f1c7a4e-8b0d-4c1e-9a57-3d6b2e8f0a11'}).text == '4'


def test_a_converter_class_raising_a_lookup_error_answers_400_naming_the_parameter(make_app):
    def n(number: ByName):
        return repr(number.number)

    web = client_serving(make_app, '/n', n, 'GET')
    assert web.get('/n?number=one').text == '1'
    response = web.get('/n?number=two', status=400)
    assert response.text == "Bad request: parameter 'number' must be a valid ByName, got 'two'\n"


def test_an_enum_parameter_answers_400_for_an_unknown_value(make_app):
    def c(colour: Colour):
        return colour.name

    web = client_serving(make_app, '/c', c)
    assert web.post_json('/c', {'colour': 'red'}).text == 'RED'
    response = web.post_json('/c', {'colour': ['red']}, expect_errors=True, headers={'Accept': 'application/json'})
    assert response.status_int == 400
    assert "parameter 'colour' must be a valid Colour" in json.loads(response.text)['message']


class Shade(enum.Enum):
    RED = 'red'
    DARK_RED = 'dark red'


Many = enum.IntEnum('Many', ['m%d' % number for number in range(12)])


def test_an_enum_parameter_given_a_members_name_answers_400_listing_the_values_to_send(make_app, log_dir):
    def c(shade: Shade):
        return shade.name

    web = client_serving(make_app, '/c', c, 'GET')
    assert web.get('/c?shade=dark+red').text == 'DARK_RED'
    message = "parameter 'shade' must be a valid Shade (its values: 'red', 'dark red'), got 'RED'"
    assert web.get('/c?shade=RED', status=400).text == 'Bad request: %s\n' % message
    assert 'WARNING  [127.0.0.1-...]   Bad request: %s' % message in read_log(log_dir)


def test_a_large_enum_lists_its_first_ten_values_and_how_many_more(make_app):
    def m(many: Many):
        return many.name

    web = client_serving(make_app, '/m', m, 'GET')
    assert web.get('/m?many=99', status=400).text == (
        "Bad request: parameter 'many' must be a valid Many (its values: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, and 2 more), "
        "got '99'\n")


def test_a_converter_raising_an_unexpected_exception_gives_the_usual_500_and_a_logged_traceback(make_app, log_dir):
    app = make_app(catchall=True)
    called = []

    @app.get('/b')
    def b(thing: Boom):
        called.append(thing)
        return 'not reached'

    response = client(app).get('/b?thing=x', expect_errors=True)
    assert response.status_int == 500
    assert 'Internal Server Error' in response.text  # Bottle's usual page
    assert 'converter bug' not in response.text and 'Traceback' not in response.text
    assert called == []
    log = read_log(log_dir)
    traceback = logged_traceback(log, 'Unhandled exception in GET /b (before the handler ran)')
    assert 'RuntimeError: converter bug x' in traceback
    assert log.count('RuntimeError: converter bug x') == 1
    assert re.search(r'\]   Response: 500 \(\d+ms\)$', log, re.M)


def test_a_converter_exception_escaping_the_app_is_logged_once(make_app, log_dir):
    def b(thing: Boom):
        return 'not reached'

    web = client_serving(make_app, '/b', b, 'GET', catchall=False)
    with pytest.raises(RuntimeError, match='converter bug y'):
        web.get('/b?thing=y')
    log = read_log(log_dir)
    assert log.count('RuntimeError: converter bug y') == 1
    assert re.search(r'\]   Response: 500 \(\d+ms\)$', log, re.M)


@pytest.mark.parametrize('kind', [bytes, bytearray])
@pytest.mark.parametrize('value', [200000000, 10 ** 15, [1, 2], None])
def test_a_bytes_parameter_given_a_json_number_answers_400_without_allocating_it(make_app, log_dir, kind, value):
    """bytes(200000000) would be a 200 MB object from a 20-byte body, bytes(10**15) a MemoryError."""
    def b(data: kind):
        return str(len(data))

    web = client_serving(make_app, '/b', b)
    response = web.post_json('/b', {'data': value}, expect_errors=True)
    assert response.status_int == 400, response.text
    assert "parameter 'data' must be text" in response.text
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('kind', [bytes, bytearray])
def test_a_bytes_parameter_holds_the_text_as_utf8_from_the_query_and_json(make_app, kind):
    app = make_app()

    @app.route('/b', method=['GET', 'POST'])
    def b(data: kind):
        assert type(data) is kind
        return data.hex()

    web = client(app)
    assert web.get('/b?data=%C3%A9t%C3%A9').text == 'c3a974c3a9'
    assert web.post_json('/b', {'data': 'été'}).text == 'c3a974c3a9'


@pytest.mark.parametrize('kind', [int, float, 'Decimal'])
@pytest.mark.parametrize('text', ['1_000', '%EF%BC%91', '%D9%A3', '1%E2%80%AF000', '%205%20', '5%0A', '%095', '5%20'])
def test_a_number_is_written_in_ascii_digits_without_underscores_or_blanks_around_it(make_app, kind, text):
    """Python's int() reads 1_000, a fullwidth １ and an Arabic-Indic ٣, and strips blanks around a number: a client
    means none of them as a number."""
    import decimal
    app = make_app()
    kind = decimal.Decimal if kind == 'Decimal' else kind

    @app.get('/n')
    def n(x: kind):
        return repr(x)

    assert "parameter 'x' must be" in client(app).get('/n?x=' + text, status=400).text
    assert client(app).get('/n?x=12').text == repr(kind('12'))


@pytest.mark.parametrize('sent, bound', [('1_000', "'1_000'"), ('1000', '1000'), ('%205', "' 5'")])
def test_an_id_or_slug_union_takes_plain_digits_as_a_number_and_keeps_underscores_or_blanks_as_text(
        make_app, sent, bound):
    from typing import Union
    def item(key: Union[int, str]):
        return repr(key)

    web = client_serving(make_app, '/item', item, 'GET')
    assert web.get('/item?key=' + sent).text == bound


def test_a_bottle_int_filter_is_bottles_own_and_an_annotation_is_canisters(make_app):
    """What the README says: <x:int> takes what int() takes; <x> with an int annotation takes ASCII digits."""
    app = make_app()
    app.route('/filtered/<x:int>', callback=lambda x: repr(x))

    @app.get('/annotated/<x>')
    def annotated(x: int):
        return repr(x)

    web = client(app)
    assert web.get('/filtered/%D9%A1%D9%A2').text == '12'
    assert web.get('/annotated/%D9%A1%D9%A2', expect_errors=True).status_int == 400
    assert web.get('/annotated/12').text == '12'


@pytest.mark.parametrize('kind', [int, float, 'Decimal'])
def test_a_number_may_carry_a_leading_sign(make_app, kind):
    import decimal
    app = make_app()
    kind = decimal.Decimal if kind == 'Decimal' else kind

    @app.get('/n')
    def n(x: kind):
        return repr(x)

    web = client(app)
    assert web.get('/n?x=%2B5').text == repr(kind('5'))
    assert web.get('/n?x=-5').text == repr(kind('-5'))


class Size(enum.Enum):
    """An enum whose ``_missing_`` refuses in its own words."""

    SMALL = 's'
    LARGE = 'l'

    @classmethod
    def _missing_(cls, value):
        raise ValueError('sizes are written in lower case')


class Tone(enum.Enum):
    """An enum whose ``_missing_`` is broken: it returns a text, no member (Python raises a TypeError)."""

    DARK = 'dark'

    @classmethod
    def _missing_(cls, value):
        return 'not a member'


def test_an_enum_whose_missing_raises_a_value_error_is_a_400_listing_the_values(make_app):
    def s(size: Size):
        return size.name

    web = client_serving(make_app, '/s', s, 'GET')
    assert web.get('/s?size=l').text == 'LARGE'
    assert web.get('/s?size=L', status=400).text == (
        "Bad request: parameter 'size' must be a valid Size (its values: 's', 'l'), got 'L'\n")


def test_an_enum_whose_missing_returns_no_member_is_the_usual_500_with_a_logged_traceback(make_app, log_dir):
    def shade(tone: Tone):
        return tone.name

    web = client_serving(make_app, '/shade', shade, 'GET', catchall=True)
    assert web.get('/shade?tone=dark').text == 'DARK'
    response = web.get('/shade?tone=pale', expect_errors=True)
    assert response.status_int == 500
    assert 'Internal Server Error' in response.text and 'Traceback' not in response.text
    log = read_log(log_dir)
    assert re.search(r' ERROR    \[[^\]]*\]   Unhandled exception in GET /shade \(before the handler ran\)\n', log)
    assert "  TypeError: error in Tone._missing_: returned 'not a member' instead of None or a valid member\n" in log
