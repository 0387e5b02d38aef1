"""Optional[X] parameters: absent gives the handler's default (None without one); sent empty gives None."""
from decimal import Decimal
from typing import List, Literal, Optional

from helpers import archived_app, client


def optional_params_app(make_app):
    """An app whose GET and POST /page take optional parameters with defaults, and /bare ones without."""
    app = make_app()

    @app.route('/page', method=['GET', 'POST'])
    def page(limit: Optional[int] = 10, name: Optional[str] = 'anon', sort: Optional[str] = None,
             tags: Optional[List[str]] = ('all',)):
        return repr((limit, name, sort, tags))

    @app.route('/bare', method=['GET', 'POST'])
    def bare(limit: Optional[int], name: Optional[str], amount: Optional[Decimal]):
        return repr((limit, name, amount))

    return app


def test_an_absent_optional_parameter_with_a_default_gets_the_default(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/page').text == "(10, 'anon', None, ('all',))"
    assert web.post_json('/page', {}).text == "(10, 'anon', None, ('all',))"
    assert web.post('/page', {'other': 'x'}).text == "(10, 'anon', None, ('all',))"


def test_an_absent_optional_parameter_without_a_default_is_none(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/bare').text == '(None, None, None)'
    assert web.post_json('/bare', {}).text == '(None, None, None)'


def test_an_optional_parameter_sent_empty_is_none_even_with_a_default(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/page?limit=&name=').text == "(None, None, None, ('all',))"
    assert web.post('/page', {'limit': '', 'name': ''}).text == "(None, None, None, ('all',))"
    assert web.post_json('/page', {'limit': None, 'name': None}).text == "(None, None, None, ('all',))"
    assert web.post_json('/page', {'name': ''}).text == "(10, None, None, ('all',))"


def test_an_optional_str_sent_empty_is_none(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/bare?name=').text == '(None, None, None)'
    assert web.get('/bare?limit=&amount=').text == '(None, None, None)'


def test_an_optional_parameter_sent_a_value_gets_it_converted(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/page?limit=5&name=bob&sort=asc&tags=a&tags=b').text == "(5, 'bob', 'asc', ['a', 'b'])"
    assert web.get('/bare?limit=7&name=%20&amount=0.5').text == "(7, ' ', Decimal('0.5'))"
    response = web.get('/page?limit=many', expect_errors=True)
    assert response.status_int == 400
    assert "parameter 'limit' must be an integer" in response.text


def test_an_optional_list_sent_empty_or_null_is_none(make_app):
    web = client(optional_params_app(make_app))
    assert web.get('/page?tags=').text == "(10, 'anon', None, None)"
    assert web.post('/page', {'tags': ''}).text == "(10, 'anon', None, None)"
    assert web.post_json('/page', {'tags': None}).text == "(10, 'anon', None, None)"
    assert web.post_json('/page', {'tags': []}).text == "(10, 'anon', None, [])"
    assert web.get('/page?tags=a&tags=').text == "(10, 'anon', None, ['a', ''])"


def test_a_parameter_whose_default_is_none_takes_an_empty_value_as_none(make_app):
    """``page: int = None`` accepts None, as ``Optional[int] = None`` does: ``?page=`` gives it, not a 400."""
    app = make_app()

    @app.route('/list', method=['GET', 'POST'])
    def list_(page: int = None, when: Decimal = None, tags: List[int] = None, flag: bool = None):
        return repr((page, when, tags, flag))

    web = client(app)
    assert web.get('/list?page=&when=&tags=&flag').text == '(None, None, None, None)'
    assert web.post('/list', {'page': ''}).text == '(None, None, None, None)'
    assert web.post_json('/list', {'page': None, 'flag': None}).text == '(None, None, None, None)'
    assert web.get('/list?page=2&tags=1&tags=3&flag=on').text == '(2, None, [1, 3], True)'
    assert web.get('/list').text == '(None, None, None, None)'


def test_an_empty_text_that_is_one_of_a_literals_values_is_that_value_not_none(make_app):
    """Before, ``sort: Literal['', 'asc'] = None`` was handed None for ``?sort=``, the value the handler allows.
    The same for ``Optional[Literal['', ...]]`` and a list of them; JSON ``null`` and absence still give None."""
    app = make_app()

    @app.route('/list', method=['GET', 'POST'])
    def list_(sort: Literal['', 'asc'] = None, order: Optional[Literal['', 'desc']] = 'desc',
              keys: Optional[List[Optional[Literal['', 'a']]]] = None, plain: Literal['asc'] = None):
        return repr((sort, order, keys, plain))

    web = client(app)
    assert web.get('/list?sort=&order=&keys=&plain=').text == "('', '', [''], None)"
    assert web.get('/list?keys=a&keys=').text == "(None, 'desc', ['a', ''], None)"
    assert web.post('/list', {'sort': '', 'order': ''}).text == "('', '', None, None)"
    assert web.post_json('/list', {'sort': '', 'order': None, 'keys': None}).text == "('', None, None, None)"
    assert web.post_json('/list', {'keys': ['', None]}).text == "(None, 'desc', ['', None], None)"
    assert web.get('/list').text == "(None, 'desc', None, None)"


def test_an_unannotated_parameter_whose_default_is_none_keeps_an_empty_text(make_app):
    """Without an annotation a value is text as sent, whatever the default: ``?q=`` is ``''``."""
    app = make_app()

    @app.get('/find')
    def find(q=None):
        return repr(q)

    web = client(app)
    assert web.get('/find?q=').text == "''"
    assert web.get('/find').text == 'None'


def test_an_optional_bool_sent_as_a_bare_name_is_none(make_app):
    web = client(archived_app(make_app, annotation=Optional[bool]))
    assert web.get('/items?archived').text == 'None'
    assert web.get('/items?archived=yes').text == 'True'
    assert web.get('/items').text == 'False'
