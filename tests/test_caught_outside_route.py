"""An exception Bottle catches outside canister's route wrapper (a ``before_request`` hook's, or a
route's that canister does not wrap, ``skip=['canister']``) is in canister's log once, with its
traceback, as a handler's is; the client gets Bottle's usual 500.  One raised by Bottle's JSON plugin,
which wraps canister's wrapper, is logged as what it is: a returned dict that JSON cannot hold."""
import datetime
import urllib.error
import urllib.request

import bottle
import pytest

from helpers import client, read_log
from servers import wait_until


def failing_app(make_app, **config):
    app = make_app(catchall=True, **config)

    @app.hook('before_request')
    def hook():
        if bottle.request.path == '/hooked':
            raise LookupError('the hook failed: 7f3e')

    @app.get('/hooked')
    def hooked():
        return 'never'

    @app.get('/bare', skip=['canister'])
    def bare():
        raise KeyError('the bare route failed: 9c1d')

    @app.get('/wrapped')
    def wrapped():
        raise ValueError('the handler failed: 2b8a')

    return app


def test_a_before_request_hooks_exception_is_logged_once_with_its_traceback(make_app, log_dir):
    web = client(failing_app(make_app))
    assert web.get('/hooked', status=500, expect_errors=True).status_int == 500
    log = read_log(log_dir)
    assert log.count('LookupError: the hook failed: 7f3e') == 1
    assert ' ERROR ' in log and 'Traceback (most recent call last)' in log and 'in hook' in log


def test_a_route_canister_does_not_wrap_has_its_exception_logged_once(make_app, log_dir):
    web = client(failing_app(make_app))
    web.get('/bare', status=500, expect_errors=True)
    assert read_log(log_dir).count("KeyError: 'the bare route failed: 9c1d'") == 1


def test_a_handlers_exception_is_still_logged_once(make_app, log_dir):
    web = client(failing_app(make_app))
    web.get('/wrapped', status=500, expect_errors=True)
    assert read_log(log_dir).count('ValueError: the handler failed: 2b8a') == 1


def test_the_hooks_exception_is_logged_for_a_json_client_too(make_app, log_dir):
    app = failing_app(make_app)
    web = client(app)
    assert web.get('/hooked', headers={'Accept': 'application/json'}, status=500, expect_errors=True).json['error'] == \
        'Internal Server Error'
    assert read_log(log_dir).count('LookupError: the hook failed: 7f3e') == 1


def test_with_the_apps_own_500_page_the_hooks_exception_is_logged_once(make_app, log_dir):
    """Bottle 0.13 hands the caught exception on with the response; 0.12 gives it only to the error
    page, which is then the app's own: canister logs it as Bottle asks that page for its answer."""
    app = failing_app(make_app)

    @app.error(500)
    def page(error):
        return 'our own 500'

    assert client(app).get('/hooked', status=500, expect_errors=True).text == 'our own 500'
    log = read_log(log_dir)
    assert 'Response: 500' in log
    assert log.count('LookupError: the hook failed: 7f3e') == 1


@pytest.mark.parametrize('value, named', [
    (datetime.datetime(2024, 5, 31, 14, 30), 'Object of type datetime is not JSON serializable'),
    ({'green'}, 'Object of type set is not JSON serializable'),
])
def test_a_returned_dict_that_json_cannot_hold_is_logged_as_such_with_the_fix(make_app, log_dir, value, named):
    app = make_app(catchall=True)

    @app.get('/order')
    def order():
        return {'value': value}

    answer = client(app).get('/order', headers={'Accept': 'application/json'}, status=500, expect_errors=True)
    assert answer.json == {'error': 'Internal Server Error', 'message': 'Internal Server Error'}
    log = read_log(log_dir)
    assert ("Unhandled exception in GET /order: the handler returned a dict that Bottle's JSON plugin cannot turn "
            'into JSON (%s): convert such values in the handler (a datetime with .isoformat()' % named) in log
    assert 'outside the route' not in log
    assert log.count('Traceback (most recent call last)') == 1


def test_a_returned_dict_that_json_cannot_hold_is_logged_with_its_route_as_a_handlers_exception_is(
        make_app, log_dir, serve):
    """Over a server, on either bottle: the line names the method and the route's rule, as the line of an
    exception the handler raised does."""
    app = make_app(catchall=True)

    @app.get('/orders/<number>')
    def order(number):
        return {'when': datetime.datetime(2024, 5, 31, 14, 30)}

    origin = serve(app)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(origin + '/orders/7', timeout=30)
    assert answer.value.code == 500
    line = ("Unhandled exception in GET /orders/<number>: the handler returned a dict that Bottle's JSON plugin "
            'cannot turn into JSON (Object of type datetime is not JSON serializable): convert such values')
    wait_until(lambda: 'Response: 500' in read_log(log_dir), 30, what='the response line')
    assert line in read_log(log_dir)


class Unprintable(TypeError):
    """An exception of an app's whose text cannot be read."""

    def __str__(self) -> str:
        raise RuntimeError('no text')


def test_a_hooks_exception_whose_text_cannot_be_read_is_logged_as_the_hooks_with_its_traceback(make_app, log_dir):
    app = make_app(catchall=True)

    @app.hook('before_request')
    def hook():
        raise Unprintable()

    app.get('/hooked', callback=lambda: 'never')
    assert client(app).get('/hooked', status=500, expect_errors=True).status_int == 500
    log = read_log(log_dir)
    assert ('Unhandled exception (outside the route: a hook of the app, or a route canister does not wrap)\n'
            in log)
    assert 'Unprintable: <exception str() failed>' in log and 'in hook' in log
    assert 'RuntimeError' not in log
