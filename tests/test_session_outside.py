"""``canister.session`` where no request is served (import time, another thread, after the response):
reading gives nothing, and any change raises instead of being lost without a word."""
from __future__ import annotations

import threading

import bottle
import pytest

import canister
from canister import session
from helpers import client

CHANGES = {
    'sid': lambda: session.sid,
    'data item': lambda: session.data.__setitem__('x', 1),
    'data update': lambda: session.data.update(x=1),
    'data merged in place': lambda: session.data.__ior__({'x': 1}),  # what `data = session.data; data |= {...}` calls
    'data setdefault': lambda: session.data.setdefault('cart', []).append(1),
    'data pop': lambda: session.data.pop('x', None),
    'data delete': lambda: session.data.__delitem__('x'),
    'data clear': lambda: session.data.clear(),
    'data': lambda: setattr(session, 'data', {'x': 1}),
    'user': lambda: setattr(session, 'user', 'admin'),
    'invalidate': lambda: session.invalidate(),
    'regenerate': lambda: session.regenerate(),
    'remember': lambda: session.remember(60),
    'end_other_sessions': lambda: session.end_other_sessions(),
}


def test_reading_the_session_where_no_request_is_served_gives_nothing():
    assert session.data == {} and session.data.get('x') is None and session.user is None
    assert repr(session) == '<canister session (no request)>'


@pytest.mark.parametrize('change', sorted(CHANGES))
def test_a_change_where_no_request_is_served_raises_saying_why(change):
    with pytest.raises(canister.CanisterError, match='only available while canister serves a request'):
        CHANGES[change]()
    assert session.data == {}  # nothing kept for the next reader either


def test_merging_into_the_data_where_no_request_is_served_raises_and_keeps_nothing():
    data = session.data
    with pytest.raises(canister.CanisterError, match='only available while canister serves a request'):
        data |= {'x': 1}
    with pytest.raises(canister.CanisterError, match='only available while canister serves a request'):
        session.data |= {'y': 1}
    assert session.data == {} and dict(session.data) == {}


def test_a_thread_started_by_a_handler_is_told_its_change_would_be_lost(make_app):
    app = make_app()
    outcome = []

    def later():
        try:
            session.data['status'] = 'done'
        except canister.CanisterError as error:
            outcome.append(str(error))

    @app.get('/start')
    def start():
        session.data['status'] = 'started'
        worker = threading.Thread(target=later)
        worker.start()
        worker.join()
        return session.data['status']

    assert client(app).get('/start').text == 'started'
    assert outcome and outcome[0].startswith('canister.session is only available while canister serves a request')


def test_a_flask_habit_of_indexing_the_session_says_where_the_values_are(make_app):
    app = make_app()

    @app.get('/')
    def index():
        said = []
        for attempt in (lambda: session['cart'], lambda: session.__setitem__('cart', [])):
            try:
                attempt()
            except TypeError as error:
                said.append(str(error))
        return '|'.join(said)

    assert client(app).get('/').text == ("canister's session is not a dict: its values are session.data['cart']|"
                                         "canister's session is not a dict: write session.data['cart'] = ...")


def test_the_other_flask_habits_with_the_session_say_where_the_values_are(make_app):
    """``'cart' in session``, ``del session['cart']``, ``session.get('cart')``: each error names what the
    handler wrote and points at ``session.data``, never at an index the handler did not write."""
    app = make_app()

    @app.get('/')
    def index():
        said = []
        for attempt in (lambda: 'cart' in session, lambda: session.__delitem__('cart'), lambda: list(session),
                        lambda: session.get('cart'), lambda: session.pop('cart', None)):
            try:
                attempt()
            except TypeError as error:
                said.append('%s: %s' % (type(error).__name__, error))
        return '\n'.join(said)

    assert client(app).get('/').text.splitlines() == [
        "TypeError: canister's session is not a dict: its values are in session.data ('cart' in session.data)",
        "TypeError: canister's session is not a dict: write del session.data['cart']",
        "TypeError: canister's session is not a dict: its values are in session.data",
        "TypeError: canister's session is not a dict: its values are in session.data (session.data.get)",
        "TypeError: canister's session is not a dict: its values are in session.data (session.data.pop)",
    ]


def test_an_attribute_set_on_the_session_is_refused_since_it_would_be_every_users(make_app):
    """Flask's ``session.permanent = True``, or ``session.cart = [...]``: set on the one ``session`` object,
    the value would reach every request of every user."""
    app = make_app()

    @app.get('/')
    def index():
        said = []
        for name, value in (('permanent', True), ('modified', True), ('cart', ['tea'])):
            try:
                setattr(session, name, value)
            except AttributeError as error:
                said.append(str(error))
        session.user = 'alice'  # (the two that are set still are)
        session.data = {'cart': ['tea']}
        return '\n'.join(said)

    web = client(app)
    assert web.get('/').text.splitlines() == [
        "canister's session takes no attribute 'permanent': it is one object for every request, so its value would be "
        "every user's; for a persistent cookie, call session.remember(seconds)",
        "canister's session takes no attribute 'modified': it is one object for every request, so its value would be "
        "every user's; canister sees every change to session.data, nested values included, and saves it",
        "canister's session takes no attribute 'cart': it is one object for every request, so its value would be "
        "every user's; keep values in session.data['cart']",
    ]
    assert not hasattr(session, 'cart') and not hasattr(session, 'permanent')
    app.route('/who', callback=lambda: {'user': session.user, 'data': session.data})
    assert web.get('/who').json == {'user': 'alice', 'data': {'cart': ['tea']}}


def test_a_handler_of_an_app_without_canister_is_told_to_install_it_there(make_app):
    """A newcomer's slip: canister installed on one app (here one of its own; often bottle's default app, with
    ``bottle.install``) and the routes on another, which it never serves."""
    make_app()
    app = bottle.Bottle()
    app.catchall = False

    @app.post('/cart')
    def add():
        session.data['cart'] = ['tea']

    with pytest.raises(canister.CanisterError) as raised:
        client(app).post('/cart')
    assert str(raised.value) == ('canister.session is only available while canister serves a request, and the app '
                                 'bottle serves (or served last) in this thread has no canister installed: '
                                 'app.install(canister.Canister()) on the app whose routes use the session')
