"""A store method that raises an unexpected exception while canister saves the session (after the
handler): the client gets canister's plain 500, the log the exception at ERROR with its traceback."""
import re

import pytest

import canister
from canister import session
from helpers import cookie_value, cookieless_client, counter_app, logged_traceback, read_log, with_cookie
from session_kit import FourMethodStore


class FaultyStore(canister.MemoryStore):
    """The memory store, with the methods named in ``broken`` raising a RuntimeError (a bug in the store)."""

    def __init__(self):
        super().__init__()
        self.broken = set()

    def _fault(self, method):
        if method in self.broken:
            raise RuntimeError('store bug in %s' % method)

    def save(self, sid, record, ttl):
        self._fault('save')
        return super().save(sid, record, ttl)

    def create(self, sid, record, ttl, user_key):
        self._fault('create')
        return super().create(sid, record, ttl, user_key)

    def update(self, sid, expected, record, ttl):
        self._fault('update')
        return super().update(sid, expected, record, ttl)

    def touch(self, sid, ttl):
        self._fault('touch')
        return super().touch(sid, ttl)

    def delete(self, sid):
        self._fault('delete')
        return super().delete(sid)


class FourMethodSaveBug(FourMethodStore):
    """A store with only the four required methods, whose save has a bug."""

    def save(self, sid, record, ttl):
        raise RuntimeError('store bug in save')


def store_app(make_app, store, catchall=True):
    """The counter app of ``helpers`` on ``store``, with a route that only reads the session and a logout."""
    app = counter_app(make_app, store=store, catchall=catchall)

    @app.get('/read')
    def read():
        return repr(session.data.get('counter'))

    @app.get('/logout')
    def logout():
        session.invalidate()
        return 'bye'

    return app


def assert_plain_500_and_logged_traceback(response, log_dir, method):
    assert response.status_int == 500
    assert response.content_type == 'text/plain'
    assert response.text == 'Internal server error: the session could not be saved\n'
    assert 'Critical error' not in response.text and 'store bug' not in response.text
    assert cookie_value(response) is None
    assert response.headers['X-Request-ID']
    log = read_log(log_dir)
    assert 'RuntimeError: store bug in %s' % method in logged_traceback(
        log, 'Session not saved: the session store raised RuntimeError')
    assert log.count('RuntimeError: store bug in %s' % method) == 1
    assert re.search(r'\]   Response: 500 \(\d+ms\)$', log, re.M)


@pytest.mark.parametrize('catchall', [True, False])
def test_a_store_whose_create_raises_gives_a_plain_500_and_a_logged_traceback(make_app, log_dir, catchall):
    store = FaultyStore()
    store.broken = {'create'}
    response = cookieless_client(store_app(make_app, store, catchall)).get('/', expect_errors=True)
    assert_plain_500_and_logged_traceback(response, log_dir, 'create')


def test_a_four_method_store_whose_save_raises_gives_a_plain_500_and_a_logged_traceback(make_app, log_dir):
    with pytest.warns(canister.CanisterWarning):
        app = store_app(make_app, FourMethodSaveBug())
    response = cookieless_client(app).get('/', expect_errors=True)
    assert_plain_500_and_logged_traceback(response, log_dir, 'save')


@pytest.mark.parametrize('method, path', [('update', '/'), ('update', '/read'), ('update', '/logout')])
def test_a_store_method_raising_after_the_handler_gives_a_plain_500_and_a_logged_traceback(make_app, log_dir,
                                                                                           method, path):
    store = FaultyStore()
    app = store_app(make_app, store)
    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    assert web.get('/', headers=with_cookie(sid)).text == '1'
    store.broken = {method}
    response = web.get(path, headers=with_cookie(sid), expect_errors=True)
    assert_plain_500_and_logged_traceback(response, log_dir, method)
    store.broken = set()
    assert web.get('/read', headers=with_cookie(sid)).status_int == 200  # the next request is served


class FourMethodTouchBug(FourMethodStore):
    """A store with only the four required methods, whose touch has a bug."""

    def touch(self, sid, ttl):
        raise RuntimeError('store bug in touch')


def test_a_four_method_store_whose_touch_raises_gives_a_plain_500_and_a_logged_traceback(make_app, log_dir):
    """A store without an atomic update is touched by a request that only read its session (one with
    an update has the record compared and set to itself instead)."""
    with pytest.warns(canister.CanisterWarning):
        app = store_app(make_app, FourMethodTouchBug())
    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    response = web.get('/read', headers=with_cookie(sid), expect_errors=True)
    assert_plain_500_and_logged_traceback(response, log_dir, 'touch')


class LoadBug(FourMethodSaveBug):
    """A store whose load has a bug (and whose save works)."""

    def load(self, sid):
        raise RuntimeError('store bug in load')

    def save(self, sid, record, ttl):
        self.records[sid] = record


def test_a_store_whose_load_raises_is_an_unhandled_exception_of_the_handler(make_app, log_dir):
    with pytest.warns(canister.CanisterWarning):
        app = store_app(make_app, LoadBug())
    response = cookieless_client(app).get('/read', headers=with_cookie('s' * 43), expect_errors=True)
    assert response.status_int == 500
    assert 'Internal Server Error' in response.text and 'store bug' not in response.text  # Bottle's usual page
    log = read_log(log_dir)
    assert 'RuntimeError: store bug in load' in logged_traceback(log, 'Unhandled exception in GET /read')
    assert log.count('RuntimeError: store bug in load') == 1


def test_a_store_failing_to_end_a_session_whose_logout_then_failed_is_logged_and_the_cookie_still_expires(
        make_app, log_dir):
    store = FaultyStore()
    app = store_app(make_app, store)

    @app.get('/logout-fails')
    def logout_fails():
        session.invalidate()
        raise ValueError('the audit log could not be written')

    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    store.broken = {'save', 'update', 'delete'}

    response = web.get('/logout-fails', headers=with_cookie(sid), status=500, expect_errors=True)

    assert [value for value in response.headers.getall('Set-Cookie') if 'Max-Age=0' in value]
    assert 'RuntimeError: store bug in update' in logged_traceback(
        read_log(log_dir), 'Session: a session this request ended could not be ended in the store with its error answer')
