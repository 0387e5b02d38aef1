"""An exception of the app's (or of its store's) whose ``str()`` fails, met where canister writes its text into a
log line or an answer: the answer is the one its kind gets (503, 400) and the line is written, its text named by
the exception's type, never a 500 of canister's own ``RuntimeError``."""
import dataclasses

import pytest

import canister
from canister import session
from helpers import client, cookieless_client, read_log, warning_lines
from session_kit import plugin_of


class Unreadable(Exception):
    """An exception of an app's whose text cannot be read."""

    def __str__(self) -> str:
        raise RuntimeError('no text')


class DriverDownStore(canister.MemoryStore):
    """A store of the app's own that wraps its driver's exception, whose text cannot be read, in StoreUnavailable."""

    def load(self, sid):
        raise canister.StoreUnavailable(Unreadable())

    def create(self, sid, record, ttl, user_key):
        raise canister.StoreUnavailable(Unreadable())


class BuggyStore(canister.MemoryStore):
    """A store of the app's own whose writes raise an exception whose text cannot be read (and which does not say
    that a failed create writes nothing, as a store of the app's own does not by default)."""

    failed_create_writes_nothing = False

    def create(self, sid, record, ttl, user_key):
        raise Unreadable()

    def delete(self, sid):
        raise Unreadable()


class UncheckableStore(canister.MemoryStore):
    """A store of the app's own whose ``check()`` raises an exception whose text cannot be read."""

    def check(self):
        raise Unreadable()


def counting(app):
    @app.get('/')
    def index():
        session.data['n'] = session.data.get('n', 0) + 1
        return str(session.data['n'])

    return app


def test_a_stores_unavailable_error_whose_text_cannot_be_read_answers_503_with_its_error_line(make_app, log_dir):
    web = cookieless_client(counting(make_app(catchall=True, store=DriverDownStore())))
    answer = web.get('/', status='*', expect_errors=True)
    assert answer.status_int == 503 and answer.headers['Retry-After'] == '1', answer.status
    assert 'session store' in answer.text and 'Critical error' not in answer.text
    log = read_log(log_dir)
    assert 'ERROR' in log and '<StoreUnavailable object (its str() failed)>' in log
    assert 'RuntimeError' not in log


def test_a_store_bug_whose_text_cannot_be_read_keeps_the_warning_that_the_new_id_could_not_be_removed(
        make_app, log_dir):
    web = cookieless_client(counting(make_app(catchall=True, store=BuggyStore())))
    answer = web.get('/', status='*', expect_errors=True)
    assert answer.status_int == 500 and 'the session could not be saved' in answer.text, answer.text
    log = read_log(log_dir)
    assert ('could not be removed after saving the session failed (it stays in the store until it expires): '
            '<Unreadable object (its str() failed)>') in log
    assert 'RuntimeError' not in log


def test_a_readiness_route_reading_store_problem_of_a_store_whose_check_raises_unreadable_says_so(make_app):
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):  # (the install asks it too)
        app = make_app(catchall=True, store=UncheckableStore())

    @app.get('/ready')
    def ready():
        return plugin_of(app).store_problem() or 'ok'

    answer = client(app).get('/ready', status='*', expect_errors=True)
    assert answer.status_int == 200 and answer.text == 'Unreadable: <Unreadable object (its str() failed)>', answer.text


@dataclasses.dataclass
class Order:
    qty: int

    def __post_init__(self) -> None:
        if self.qty < 1:
            raise ValueError(Unreadable())  # (its text is the Unreadable's)


def test_a_records_own_check_refusing_with_an_unreadable_text_answers_400_not_500(make_app, log_dir):
    app = make_app(catchall=True)

    @app.post('/orders')
    def order(item: Order):
        return str(item.qty)

    answer = client(app).post_json('/orders', {'qty': 0}, status='*', expect_errors=True)
    assert answer.status_int == 400 and '(<ValueError object (its str() failed)>)' in answer.text, answer.text
    assert 'Traceback' not in answer.text and 'Internal' not in answer.text
    assert 'WARNING' in read_log(log_dir) and 'RuntimeError' not in read_log(log_dir)


class Unprintable(ValueError):
    """A ValueError of the app's own whose text cannot be read (not one that wraps such an exception)."""

    def __str__(self) -> str:
        raise RuntimeError('no text')


@dataclasses.dataclass
class Booking:
    nights: int

    def __post_init__(self) -> None:
        if self.nights < 1:
            raise Unprintable('at least one night')


def test_a_records_check_raising_an_exception_whose_own_text_cannot_be_read_answers_400_naming_its_type(
        make_app, log_dir):
    app = make_app(catchall=True)

    @app.post('/bookings')
    def book(booking: Booking):
        return str(booking.nights)

    answer = client(app).post_json('/bookings', {'booking': {'nights': 0}}, expect_errors=True)
    assert answer.status_int == 400, answer.text
    assert '(<Unprintable object (its str() failed)>)' in answer.text, answer.text
    assert 'Traceback' not in answer.text
    assert [line for line in warning_lines(log_dir) if 'Unprintable object' in line]
    assert ' ERROR ' not in read_log(log_dir)
