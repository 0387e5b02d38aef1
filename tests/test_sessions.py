"""Server-side sessions: the cookie, laziness, expiry, rotation, saving and isolation."""
import http.client
import json
import re
import threading

import bottle
import pytest
import waitress

import canister
from canister import session
from helpers import COOKIE, client, cookie_value, cookieless_client, counter_app, read_log, set_cookies, with_cookie
from session_kit import add_session_routes
from servers import Client


def attributes(response, name=COOKIE):
    """The attributes of the cookie a response sets, lower-cased names: {'path': '/', ...}."""
    for header in set_cookies(response):
        if header.partition('=')[0] == name:
            result = {}
            for part in header.split(';')[1:]:
                key, _, value = part.strip().partition('=')
                result[key.lower()] = value
            return result
    raise AssertionError('no %s cookie in %r' % (name, set_cookies(response)))


def login_app(make_app, **overrides):
    """An app with the session routes /login?name=, /logout and /set, and /me: the session's user."""
    app = add_session_routes(make_app(**overrides))

    @app.get('/me')
    def me():
        return str(session.user)

    return app


class CountingStore(canister.MemoryStore):
    """A memory store that remembers how often it was written."""

    def __init__(self):
        super().__init__()
        self.saves = 0
        self.touches = 0

    def save(self, sid, record, ttl):
        self.saves += 1
        super().save(sid, record, ttl)

    def create(self, sid, record, ttl, user_key):
        self.saves += 1
        super().create(sid, record, ttl, user_key)

    def update(self, sid, expected, record, ttl):
        if record == expected:  # the record as it is, its life extended (a request that only read it)
            self.touches += 1
        else:
            self.saves += 1
        return super().update(sid, expected, record, ttl)

    def touch(self, sid, ttl):
        self.touches += 1
        super().touch(sid, ttl)


class RecordingStore(canister.MemoryStore):
    """A memory store that remembers the ttl of every save."""

    def __init__(self):
        super().__init__()
        self.ttls = []

    def save(self, sid, record, ttl):
        self.ttls.append(ttl)
        super().save(sid, record, ttl)

    def create(self, sid, record, ttl, user_key):
        self.ttls.append(ttl)
        super().create(sid, record, ttl, user_key)

    def update(self, sid, expected, record, ttl):
        self.ttls.append(ttl)
        return super().update(sid, expected, record, ttl)


# --------------------------------------------------------------------------
# the basics

def test_the_counter_example_counts_with_the_cookie(make_app):
    web = client(counter_app(make_app))
    assert [web.get('/').text for _ in range(3)] == ['0', '1', '2']


def test_a_session_id_is_at_least_43_url_safe_characters(make_app):
    app = make_app()

    @app.get('/')
    def index():
        return session.sid

    response = cookieless_client(app).get('/')
    assert re.fullmatch(r'[A-Za-z0-9_-]{43,}', response.text)
    assert cookie_value(response) == response.text


def test_two_clients_get_different_session_ids(make_app):
    app = make_app()

    @app.get('/')
    def index():
        return session.sid

    web = cookieless_client(app)
    assert web.get('/').text != web.get('/').text


def test_an_unknown_session_id_from_the_client_is_not_adopted(make_app):
    app = counter_app(make_app)
    forged = 'A' * 43
    response = cookieless_client(app).get('/', headers=with_cookie(forged))
    assert response.text == '0'
    assert cookie_value(response) not in (None, forged)


def test_a_malformed_session_id_from_the_client_is_not_adopted(make_app):
    app = make_app()

    @app.get('/')
    def index():
        return session.sid

    web = cookieless_client(app)
    for bad in ('short', 'x' * 42, 'A' * 40 + '!!!!', 'B' * 200):
        response = web.get('/', headers=with_cookie(bad))
        assert response.text != bad
        assert cookie_value(response) == response.text


def test_a_session_id_the_server_invalidated_is_not_adopted_again(make_app):
    app = make_app()

    @app.get('/login')
    def login():
        session.data['secret'] = 'mine'
        return session.sid

    @app.get('/logout')
    def logout():
        session.invalidate()
        return ''

    @app.get('/')
    def index():
        return json.dumps([session.sid, session.data])

    web = cookieless_client(app)
    old = web.get('/login').text
    web.get('/logout', headers=with_cookie(old))
    sid, data = json.loads(web.get('/', headers=with_cookie(old)).text)
    assert sid != old
    assert data == {}


# --------------------------------------------------------------------------
# the cookie

def test_the_session_cookie_is_http_only_path_root_and_samesite_lax(make_app):
    response = cookieless_client(counter_app(make_app)).get('/')
    cookie = attributes(response)
    assert 'httponly' in cookie
    assert cookie['path'] == '/'
    assert cookie['samesite'] == 'Lax'


def test_the_session_cookie_is_not_secure_over_plain_http(make_app):
    assert 'secure' not in attributes(cookieless_client(counter_app(make_app)).get('/'))


def test_the_session_cookie_has_no_max_age_by_default(make_app):
    cookie = attributes(cookieless_client(counter_app(make_app)).get('/'))
    assert 'max-age' not in cookie
    assert 'expires' not in cookie


def test_the_session_cookie_max_age_is_configurable(make_app):
    cookie = attributes(cookieless_client(counter_app(make_app, session_cookie_max_age=600)).get('/'))
    assert cookie['max-age'] == '600'


def test_the_cookie_max_age_counts_from_the_new_session_or_the_login_as_later_answers_do_not_send_it(make_app):
    """README: the Max-Age of session_cookie_max_age counts from when the cookie was set (a new session, a
    login), since the cookie is not sent again with each answer."""
    app = counter_app(make_app, session_cookie_max_age=600)
    app.route('/login', callback=lambda: setattr(session, 'user', 'alice') or 'in')
    web = client(app)
    assert attributes(web.get('/'))['max-age'] == '600'
    changed = web.get('/')
    assert changed.text == '1' and set_cookies(changed) == []
    assert attributes(web.get('/login'))['max-age'] == '600'
    assert set_cookies(web.get('/')) == []


def test_the_session_cookie_name_is_configurable(make_app):
    app = counter_app(make_app, session_cookie='sess')
    web = cookieless_client(app)
    response = web.get('/')
    assert cookie_value(response, 'sess') is not None
    assert cookie_value(response, COOKIE) is None
    sid = cookie_value(response, 'sess')
    assert web.get('/', headers=with_cookie(sid, 'sess')).text == '1'


def test_the_session_cookie_name_is_read_from_the_app_config(make_app):
    app = counter_app(make_app, config={'session_cookie': 'fromconfig'})
    assert cookie_value(cookieless_client(app).get('/'), 'fromconfig') is not None


def test_samesite_strict_is_configurable(make_app):
    cookie = attributes(cookieless_client(counter_app(make_app, session_samesite='Strict')).get('/'))
    assert cookie['samesite'] == 'Strict'
    assert 'secure' not in cookie


def test_samesite_none_forces_secure(make_app):
    cookie = attributes(cookieless_client(counter_app(make_app, session_samesite='None')).get('/'))
    assert cookie['samesite'] == 'None'
    assert 'secure' in cookie


def logout_app(make_app, **overrides):
    """``counter_app`` with GET /logout, which invalidates the session."""
    app = counter_app(make_app, **overrides)

    @app.get('/logout')
    def logout():
        session.invalidate()
        return 'bye'

    return app


def test_session_partitioned_marks_every_cookie_partitioned_and_secure(make_app):
    web = cookieless_client(logout_app(make_app, session_samesite='None', session_partitioned=True))
    created = web.get('/')
    cookie = attributes(created)
    assert 'partitioned' in cookie and 'secure' in cookie and cookie['samesite'] == 'None'
    # A browser removes a partitioned cookie only on a removal that is Partitioned too.
    removed = attributes(web.get('/logout', headers=with_cookie(cookie_value(created))))
    assert removed['max-age'] == '0'
    assert 'partitioned' in removed and 'secure' in removed and removed['samesite'] == 'None'


def test_the_cookie_that_removes_the_session_keeps_its_samesite(make_app):
    # Without SameSite=None a browser reads the removal as Lax, and refuses it from another site's page.
    web = cookieless_client(logout_app(make_app, session_samesite='None'))
    sid = cookie_value(web.get('/'))
    removed = attributes(web.get('/logout', headers=with_cookie(sid)))
    assert removed['max-age'] == '0' and removed['samesite'] == 'None' and 'secure' in removed
    assert 'partitioned' not in removed


def test_the_session_cookie_is_not_partitioned_by_default(make_app):
    assert 'partitioned' not in attributes(cookieless_client(counter_app(make_app)).get('/'))


def test_the_session_cookie_is_secure_over_https(make_app):
    response = cookieless_client(counter_app(make_app), **{'wsgi.url_scheme': 'https'}).get('/')
    assert 'secure' in attributes(response)


def test_session_secure_makes_the_cookie_secure_over_http(make_app):
    assert 'secure' in attributes(cookieless_client(counter_app(make_app, session_secure=True)).get('/'))


def test_a_response_setting_the_cookie_is_private_and_varies_on_cookie(make_app):
    response = cookieless_client(counter_app(make_app)).get('/')
    cache_control = response.headers['Cache-Control']
    assert 'private' in cache_control or 'no-store' in cache_control
    assert 'Cookie' in [part.strip() for part in response.headers['Vary'].split(',')]


def test_a_public_cache_control_of_the_handler_is_made_private_with_the_cookie(make_app):
    app = make_app()

    @app.get('/')
    def index():
        bottle.response.set_header('Cache-Control', 'public, max-age=600')
        bottle.response.set_header('Vary', 'Accept-Encoding')
        session.data['x'] = 1
        return 'ok'

    response = cookieless_client(app).get('/')
    cache_control = response.headers['Cache-Control']
    assert 'private' in cache_control or 'no-store' in cache_control
    vary = [part.strip() for part in response.headers['Vary'].split(',')]
    assert 'Accept-Encoding' in vary and 'Cookie' in vary


# --------------------------------------------------------------------------
# laziness

def first_visit(make_app, index):
    """The answer to a first GET / (no cookie) of a new app serving ``index`` there, and the app's own MemoryStore."""
    store = canister.MemoryStore()
    app = make_app(store=store)
    app.get('/', callback=index)
    return cookieless_client(app).get('/'), store


def test_a_handler_that_ignores_the_session_sets_no_cookie_and_stores_nothing(make_app):
    response, store = first_visit(make_app, lambda: 'ok')
    assert set_cookies(response) == []
    assert len(store) == 0


def test_reading_data_and_user_without_a_cookie_gives_empty_values_and_no_cookie(make_app):
    def index():
        return json.dumps([session.data, session.user, session.data.get('missing')])

    response, store = first_visit(make_app, index)
    assert json.loads(response.text) == [{}, None, None]
    assert set_cookies(response) == []
    assert len(store) == 0


def test_reading_the_session_id_creates_the_session(make_app):
    def index():
        return session.sid

    response, store = first_visit(make_app, index)
    assert cookie_value(response) == response.text
    assert len(store) == 1


def test_writing_session_data_creates_the_session(make_app):
    def index():
        session.data['k'] = 'v'
        return 'ok'

    response, store = first_visit(make_app, index)
    assert cookie_value(response) is not None
    assert len(store) == 1


def test_the_cookie_holds_only_a_random_id_and_the_data_stays_on_the_server(make_app):
    """Security notes: session data lives on the server; the cookie is a random id, the same whatever
    the data, and a client holding only that id gets the data back from the store."""
    app = make_app()

    @app.get('/put')
    def put():
        session.data['card'] = 'S3cret-Value-1234'
        session.data['cart'] = list(range(50))
        return 'ok'

    @app.get('/get')
    def get():
        return session.data.get('card', 'none')

    first, second = (cookieless_client(app).get('/put') for _ in range(2))
    sids = [cookie_value(first), cookie_value(second)]
    assert sids[0] != sids[1]
    for sid, response in zip(sids, (first, second)):
        assert re.fullmatch(r'[A-Za-z0-9_-]{43}', sid)
        assert 'S3cret' not in ' '.join(set_cookies(response)) and 'cart' not in ' '.join(set_cookies(response))
    assert cookieless_client(app).get('/get', headers=with_cookie(sids[0])).text == 'S3cret-Value-1234'


def test_setting_the_user_creates_the_session(make_app):
    store = canister.MemoryStore()
    web = cookieless_client(login_app(make_app, store=store))
    sid = cookie_value(web.get('/login?name=alice'))
    assert sid is not None
    assert len(store) == 1
    assert web.get('/me', headers=with_cookie(sid)).text == 'alice'


def test_a_request_with_a_valid_cookie_that_ignores_the_session_sets_no_cookie(make_app):
    app = counter_app(make_app)

    @app.get('/plain')
    def plain():
        return 'plain'

    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    assert set_cookies(web.get('/plain', headers=with_cookie(sid))) == []
    assert set_cookies(web.get('/', headers=with_cookie(sid))) == []


# --------------------------------------------------------------------------
# expiry

def test_a_session_idle_longer_than_the_timeout_ends(make_app, clock):
    app = counter_app(make_app, session_timeout=1)
    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    clock.advance(0.99)
    assert web.get('/', headers=with_cookie(sid)).text == '1'  # idle just under the timeout
    clock.advance(1.01)
    response = web.get('/', headers=with_cookie(sid))
    assert response.text == '0'
    assert cookie_value(response) not in (None, sid)


@pytest.mark.parametrize('kind', ['memory', 'sqlite'])
def test_a_session_that_expires_while_a_request_only_reads_it_stays_expired(make_app, clock, kind, tmp_path):
    """The request loads the session a moment before it expires and ends after: the touch at
    its end must not give the expired session a new life.  (Redis expires keys by its own clock.)"""
    store = 'memory' if kind == 'memory' else 'sqlite:///' + str(tmp_path / 'sessions.db')
    app = make_app(session_timeout=60, session_store=store)

    @app.get('/set')
    def set_value():
        session.data['v'] = 'kept'
        return 'ok'

    @app.get('/slow')
    def slow():
        value = session.data.get('v', 'gone')
        clock.advance(2)  # the request runs past the session's expiry
        return value

    @app.get('/')
    def read():
        return session.data.get('v', 'gone')

    web = cookieless_client(app)
    sid = cookie_value(web.get('/set'))
    clock.advance(59)
    assert web.get('/slow', headers=with_cookie(sid)).text == 'kept'
    assert web.get('/', headers=with_cookie(sid)).text == 'gone'


def test_the_timeout_slides_while_the_session_is_used(make_app, clock):
    app = make_app(session_timeout=1)

    @app.get('/set')
    def set_value():
        session.data['v'] = 'kept'
        return 'ok'

    @app.get('/')
    def read():
        return session.data.get('v', 'gone')

    web = cookieless_client(app)
    sid = cookie_value(web.get('/set'))
    for _ in range(4):  # 2.4 s in all, past any 1 s expiry, but never idle for 1 s
        clock.advance(0.6)
        assert web.get('/', headers=with_cookie(sid)).text == 'kept'
    clock.advance(1.01)
    assert web.get('/', headers=with_cookie(sid)).text == 'gone'


def test_session_max_age_ends_a_session_even_while_it_is_used(make_app, clock):
    app = counter_app(make_app, session_timeout=3600, session_max_age=1)
    web = cookieless_client(app)
    sid = cookie_value(web.get('/'))
    seen = []
    for _ in range(5):  # a request every 0.3 s: used all the time, ended at 1 s all the same
        clock.advance(0.3)
        seen.append(web.get('/', headers=with_cookie(sid)).text)
    assert seen[0] == '1'
    assert seen[-1] == '0'
    assert seen == ['1', '2', '3', '0', '0']


def test_a_timeout_of_zero_keeps_sessions_without_expiry(make_app):
    store = RecordingStore()
    app = counter_app(make_app, store=store, session_timeout=0)
    cookieless_client(app).get('/')
    assert store.ttls == [0]


def test_the_timeout_setting_accepts_its_old_misspelling(make_app):
    store = RecordingStore()
    app = counter_app(make_app, store=store, session_timout=77)
    cookieless_client(app).get('/')
    assert store.ttls == [77]


# --------------------------------------------------------------------------
# login, logout

def test_setting_a_new_user_rotates_the_session_id_and_keeps_the_data(make_app):
    app = login_app(make_app)

    @app.get('/cart')
    def cart():
        session.data['cart'] = ['book']
        return 'ok'

    @app.get('/')
    def index():
        return json.dumps([session.user, session.data])

    web = cookieless_client(app)
    old = cookie_value(web.get('/cart'))
    new = cookie_value(web.get('/login?name=alice', headers=with_cookie(old)))
    assert new not in (None, old)
    assert json.loads(web.get('/', headers=with_cookie(new)).text) == ['alice', {'cart': ['book']}]
    assert json.loads(web.get('/', headers=with_cookie(old)).text) == [None, {}]


def test_a_redirect_after_login_carries_the_session_cookie(make_app):
    app = make_app()

    @app.get('/login')
    def login():
        session.user = 'alice'
        bottle.redirect('/me')

    @app.get('/me')
    def me():
        return str(session.user)

    web = cookieless_client(app)
    response = web.get('/login', status=302)
    sid = cookie_value(response)
    assert sid
    assert web.get('/me', headers=with_cookie(sid)).text == 'alice'


def test_setting_the_same_user_again_does_not_rotate_the_id(make_app):
    web = cookieless_client(login_app(make_app))
    sid = cookie_value(web.get('/login?name=alice'))
    response = web.get('/login?name=alice', headers=with_cookie(sid))
    assert cookie_value(response) is None


def test_invalidate_deletes_the_session_and_expires_the_cookie(make_app):
    store = canister.MemoryStore()
    web = cookieless_client(login_app(make_app, store=store))
    sid = cookie_value(web.get('/login?name=alice'))
    assert len(store) == 1
    response = web.get('/logout', headers=with_cookie(sid))
    assert len(store) == 0
    assert cookie_value(response) == ''
    assert attributes(response)['max-age'] == '0'
    assert web.get('/me', headers=with_cookie(sid)).text == 'None'


def test_invalidate_after_a_login_in_the_same_request_leaves_nothing_stored(make_app):
    store = canister.MemoryStore()
    app = make_app(store=store)

    @app.get('/cart')
    def cart():
        session.data['cart'] = 1
        return 'ok'

    @app.get('/')
    def login_then_logout():
        session.user = 'alice'
        session.invalidate()
        return 'ok'

    web = cookieless_client(app)
    sid = cookie_value(web.get('/cart'))
    web.get('/', headers=with_cookie(sid))
    assert len(store) == 0


# --------------------------------------------------------------------------
# saving

def nested_data_app(make_app, store):
    """An app on ``store`` whose /set stores {'a': {'b': 0}} and whose /read answers the session's data as JSON."""
    app = make_app(store=store)

    @app.get('/set')
    def set_value():
        session.data['a'] = {'b': 0}
        return 'ok'

    @app.get('/read')
    def read():
        return json.dumps(session.data)

    return app


def test_an_unchanged_session_is_not_saved_again(make_app):
    store = CountingStore()
    web = cookieless_client(nested_data_app(make_app, store))
    sid = cookie_value(web.get('/set'))
    assert store.saves == 1
    for _ in range(3):
        assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == {'a': {'b': 0}}
    assert store.saves == 1
    assert store.touches == 3


def test_a_nested_mutation_is_saved(make_app):
    store = CountingStore()
    app = nested_data_app(make_app, store)

    @app.get('/nested')
    def nested():
        session.data['a']['b'] = 1
        return 'ok'

    web = cookieless_client(app)
    sid = cookie_value(web.get('/set'))
    web.get('/nested', headers=with_cookie(sid))
    assert store.saves == 2
    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == {'a': {'b': 1}}


def test_a_value_that_is_not_json_serializable_is_a_500_naming_the_key(make_app):
    app = make_app()

    @app.get('/')
    def index():
        session.data['when'] = object()
        return 'ok'

    response = cookieless_client(app).get('/', status='*')
    assert response.status_int == 500
    assert 'when' in response.text


def test_a_value_that_is_not_json_serializable_is_logged_at_error_naming_the_key(make_app, log_dir):
    app = make_app()

    @app.get('/')
    def index():
        session.data['when'] = {1, 2}
        return 'ok'

    cookieless_client(app).get('/', status='*')
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line]
    assert any("'when'" in line for line in errors), errors


def test_a_value_that_is_not_json_serializable_leaves_the_previous_data_intact(make_app):
    app = make_app()

    @app.get('/good')
    def good():
        session.data['n'] = 1
        return 'ok'

    @app.get('/bad')
    def bad():
        session.data['n'] = 2
        session.data['when'] = object()
        return 'ok'

    @app.get('/read')
    def read():
        return json.dumps(session.data)

    web = cookieless_client(app)
    sid = cookie_value(web.get('/good'))
    assert web.get('/bad', headers=with_cookie(sid), status='*').status_int == 500
    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == {'n': 1}


# --------------------------------------------------------------------------
# the memory store's bound

def test_the_memory_store_evicts_the_oldest_session_beyond_session_max(make_app):
    app = counter_app(make_app, session_max=2, session_max_per_user=0)
    web = cookieless_client(app)
    first, second, third = (cookie_value(web.get('/')) for _ in range(3))
    assert web.get('/', headers=with_cookie(first)).text == '0'  # evicted: a new session
    assert web.get('/', headers=with_cookie(third)).text == '1'


def test_the_memory_store_keeps_a_recently_used_session(make_app):
    app = counter_app(make_app, session_max=2, session_max_per_user=0)

    @app.get('/peek')
    def peek():
        return str(session.data.get('counter'))  # a read: nothing to save

    web = cookieless_client(app)
    first = cookie_value(web.get('/'))
    second = cookie_value(web.get('/'))
    assert web.get('/peek', headers=with_cookie(first)).text == '0'  # first is now the most recent
    cookie_value(web.get('/'))  # a third session pushes one out
    assert web.get('/peek', headers=with_cookie(first)).text == '0'
    assert web.get('/peek', headers=with_cookie(second)).text == 'None'


def test_the_memory_store_never_holds_more_than_session_max(make_app):
    store = canister.MemoryStore(max_sessions=5)
    app = counter_app(make_app, store=store, session_max_per_user=0)
    web = cookieless_client(app)
    for _ in range(20):
        web.get('/')
    assert len(store) == 5


# --------------------------------------------------------------------------
# isolation

def test_many_threads_each_only_ever_see_their_own_session(make_app):
    app = make_app()

    @app.get('/')
    def index(me: str):
        owner = session.data.setdefault('owner', me)
        session.data['hits'] = session.data.get('hits', 0) + 1
        return json.dumps([owner, session.data['hits'], session.user])

    @app.get('/login')
    def login(me: str):
        session.user = me
        return session.sid

    server = waitress.create_server(app, host='127.0.0.1', port=0, threads=16)
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    port = server.effective_port
    problems = []

    def worker(index):
        me = 'client%d' % index
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        try:
            connection.request('GET', '/login?me=' + me)
            response = connection.getresponse()
            sid = response.read().decode()
            for hit in range(1, 50):
                connection.request('GET', '/?me=' + me, headers=with_cookie(sid))
                response = connection.getresponse()
                answer = json.loads(response.read())
                if answer != [me, hit, me] or response.getheader('Set-Cookie'):
                    problems.append((me, hit, answer))
                    return
        except Exception as error:  # noqa: BLE001 - reported below
            problems.append((me, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        runner.join(5)
    assert problems == []


def test_session_values_do_not_leak_to_the_next_request_on_the_same_thread(make_app):
    app = make_app()

    @app.get('/set')
    def set_value():
        session.data['secret'] = 'alice-only'
        session.user = 'alice'
        return 'ok'

    @app.get('/')
    def index():
        return json.dumps([session.data, session.user])

    web = cookieless_client(app)
    web.get('/set')
    assert json.loads(web.get('/').text) == [{}, None]


def test_session_values_do_not_leak_after_a_handler_raised(make_app):
    app = make_app(catchall=True)

    @app.get('/boom')
    def boom():
        session.data['secret'] = 'alice-only'
        session.user = 'alice'
        raise RuntimeError('handler failed')

    @app.get('/')
    def index():
        return json.dumps([session.data, session.user])

    web = cookieless_client(app)
    assert web.get('/boom', status='*', expect_errors=True).status_int == 500
    response = web.get('/')
    assert json.loads(response.text) == [{}, None]
    assert set_cookies(response) == []


def test_session_values_do_not_leak_after_an_uncaught_exception(make_app):
    app = make_app()  # catchall=False: the exception leaves the app

    @app.get('/boom')
    def boom():
        session.data['secret'] = 'alice-only'
        raise RuntimeError('handler failed')

    @app.get('/')
    def index():
        return json.dumps(session.data)

    web = cookieless_client(app)
    try:
        web.get('/boom')
    except RuntimeError:
        pass
    assert json.loads(web.get('/').text) == {}


def test_a_session_is_not_saved_when_the_handler_failed(make_app):
    store = canister.MemoryStore()
    app = make_app(catchall=True, store=store)

    @app.get('/boom')
    def boom():
        session.data['half'] = 'done'
        raise RuntimeError('handler failed')

    response = cookieless_client(app).get('/boom', status='*', expect_errors=True)
    assert response.status_int == 500
    assert cookie_value(response) is None
    assert len(store) == 0


def test_the_session_outside_a_request_is_empty_and_harmless():
    assert session.data == {}
    assert session.user is None


# --------------------------------------------------------------------------
# the decoded-record cache: a request gets exactly what decoding its record gives

def test_values_come_back_as_json_gives_them_not_as_they_were_stored(make_app):
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    app = make_app()

    @app.get('/set')
    def set_values():
        session.data['level'] = Level.HIGH
        session.data['pair'] = (1, 2)
        return 'ok'

    @app.get('/read')
    def read():
        return json.dumps([sorted(map(repr, session.data)), type(session.data['level']).__name__,
                           type(session.data['pair']).__name__])

    web = client(app)
    web.get('/set')
    keys, level_type, pair_type = json.loads(web.get('/read').text)
    assert keys == ["'level'", "'pair'"]
    assert level_type == 'int' and pair_type == 'list'


def test_a_handler_keeping_its_data_dict_cannot_change_a_later_request(make_app):
    app = make_app()
    kept = []

    @app.get('/set')
    def set_value():
        session.data['n'] = 1
        kept.append(session.data)
        return 'set'

    @app.get('/keep')
    def keep():
        kept.append(session.data)  # read only: the session is unchanged
        return 'kept'

    @app.get('/read')
    def read():
        for data in kept:
            data['n'] = 'changed behind the session'
        return str(session.data['n'])

    web = client(app)
    web.get('/set')
    web.get('/keep')
    assert web.get('/read').text == '1'
    assert web.get('/read').text == '1'


def test_a_session_changed_by_another_process_is_read_acookieless_client(make_app, tmp_path):
    """Two apps on one SQLite file stand for two worker processes sharing the store."""
    store = 'sqlite:///' + str(tmp_path / 'shared.db')
    first, second = counter_app(make_app, session_store=store), counter_app(make_app, session_store=store)
    web = client(first)
    assert web.get('/').text == '0'
    assert web.get('/').text == '1'  # the first app now holds the record it saved
    sid = web.cookies[COOKIE]
    assert cookieless_client(second).get('/', headers=with_cookie(sid)).text == '2'
    assert cookieless_client(second).get('/', headers=with_cookie(sid)).text == '3'
    assert web.get('/').text == '4'


# -- handlers that stream their body (return a generator) ---------------------------------

def chunked_session_app(make_app, **overrides):
    """An app whose /login starts a session and /seen shows its data; each test adds a /stream that yields chunks."""
    app = make_app(**overrides)

    @app.get('/login')
    def login():
        session.data['name'] = 'ada'
        return 'ok'

    @app.get('/seen')
    def seen():
        return json.dumps(session.data)

    return app


def test_a_streamed_body_sees_its_session_in_every_chunk(make_app):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        for _ in range(3):
            yield '%s;' % session.data.get('name')

    web = client(app)
    web.get('/login')
    assert web.get('/stream').text == 'ada;ada;ada;'


def test_session_changes_made_after_the_first_chunk_are_saved(make_app):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        yield 'a'
        session.data['chunks'] = session.data.get('chunks', 0) + 1
        yield 'b'

    web = client(app)
    web.get('/login')
    web.get('/stream')
    web.get('/stream')
    assert json.loads(web.get('/seen').text) == {'name': 'ada', 'chunks': 2}


def test_a_session_first_read_after_the_first_chunk_is_saved_too(make_app):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        yield 'a'
        session.data['late'] = session.data['name'] + '!'
        yield 'b'

    web = client(app)
    web.get('/login')
    assert web.get('/stream').text == 'ab'
    assert json.loads(web.get('/seen').text) == {'name': 'ada', 'late': 'ada!'}


def test_a_session_started_after_the_first_chunk_is_not_stored_and_says_why(make_app, log_dir):
    store = canister.MemoryStore()
    app = chunked_session_app(make_app, store=store)

    @app.get('/stream')
    def stream():
        yield 'a'
        session.data['late'] = True
        yield 'b'

    response = client(app).get('/stream')
    assert response.text == 'ab'
    assert cookie_value(response) is None
    assert len(store) == 0
    log = read_log(log_dir)
    assert re.search(r' WARNING  \[127\.0\.0\.1-\.\.\.\]   Session: .*new session cookie, which can no longer be sent',
                     log)


def test_a_logout_after_the_first_chunk_ends_the_session_in_the_store(make_app):
    store = canister.MemoryStore()
    app = chunked_session_app(make_app, store=store)

    @app.get('/stream')
    def stream():
        yield 'a'
        session.invalidate()
        yield 'b'

    web = client(app)
    web.get('/login')
    assert len(store) == 1
    assert web.get('/stream').text == 'ab'
    assert len(store) == 0
    assert web.get('/seen').text == '{}'


def test_a_login_after_the_first_chunk_does_not_keep_the_old_session(make_app, log_dir):
    store = canister.MemoryStore()
    app = chunked_session_app(make_app, store=store)

    @app.get('/stream')
    def stream():
        yield 'a'
        session.user = 'mallory'
        yield 'b'

    web = client(app)
    web.get('/login')
    web.get('/stream')
    assert len(store) == 0
    assert 'the change was not saved' in read_log(log_dir)


def test_later_chunks_log_with_their_request_thread_name_and_see_its_request_id(make_app, log_dir):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        yield 'a'
        app.log.info('second chunk')
        yield canister.request_id()

    web = client(app)
    sid = cookie_value(web.get('/login'))
    response = web.get('/stream', headers={'X-Request-ID': 'stream-42'})
    assert response.text == 'astream-42'
    assert re.search(r' INFO     \[127\.0\.0\.1-%s\]   second chunk$' % re.escape(sid[:6]), read_log(log_dir), re.M)


def test_an_exception_in_a_later_chunk_is_logged_with_its_traceback(make_app, log_dir):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        yield 'a'
        raise ZeroDivisionError('late failure')

    with pytest.raises(ZeroDivisionError):  # WebTest, acting as the server, gets the exception
        client(app).get('/stream')
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception while streaming GET /stream' in log
    assert 'ZeroDivisionError: late failure' in log


def test_an_abort_in_a_later_chunk_is_logged_with_its_traceback_on_a_real_server(make_app, log_dir, serve):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        yield 'a' * 10
        bottle.abort(403, 'too late to refuse')

    origin = serve(app)
    connection = http.client.HTTPConnection(origin[len('http://'):], timeout=30)
    connection.request('GET', '/stream')
    response = connection.getresponse()
    assert response.status == 200  # sent with the first chunk: the abort can only cut the body short
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    log = read_log(log_dir)
    assert ('ERROR    [127.0.0.1-...]   HTTPError raised while streaming GET /stream, after the response started '
            'with 200: the client gets that response cut short') in log
    assert "bottle.HTTPError: (403, 'too late to refuse')" in log
    assert "    bottle.abort(403, 'too late to refuse')\n" in log  # the line of the handler that raised it


def test_an_abort_before_the_first_chunk_is_bottles_answer_and_no_error(make_app, log_dir):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        bottle.abort(403, 'refused')
        yield 'a'

    assert client(app).get('/stream', status=403).status_int == 403
    assert ' ERROR ' not in read_log(log_dir)


def test_an_exception_before_the_first_chunk_is_logged_with_its_traceback(make_app, log_dir):
    app = chunked_session_app(make_app)

    @app.get('/stream')
    def stream():
        raise ZeroDivisionError('early failure')
        yield 'a'

    with pytest.raises(ZeroDivisionError):  # (the test apps set catchall = False: no 500 page)
        client(app).get('/stream')
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception while streaming GET /stream' in log
    assert 'ZeroDivisionError: early failure' in log


def test_a_head_request_to_a_streaming_route_saves_its_session_once_and_quietly(make_app, log_dir):
    store = canister.MemoryStore()
    app = chunked_session_app(make_app, store=store)

    @app.get('/stream')
    def stream():
        session.data['started'] = True
        yield 'a'
        yield 'b'

    response = client(app).head('/stream')
    assert response.status_int == 200 and response.body == b''
    assert cookie_value(response) is not None
    assert len(store) == 1
    assert ' WARNING ' not in read_log(log_dir)


@pytest.mark.parametrize('store', ['memory', 'sqlite'])
def test_data_nested_as_deep_as_a_handler_can_store_it_is_read_back_on_a_real_server(make_app, serve, tmp_path,
                                                                                      store):
    app = make_app(session_store='memory' if store == 'memory' else 'sqlite:///%s' % (tmp_path / 'sessions.db'))

    @app.post('/save')
    def save():
        session.data['tree'] = bottle.request.json['tree']  # what the client sent, as it came
        return 'saved'

    @app.get('/depth')
    def depth():
        tree, levels = session.data['tree'], 0
        while tree:
            tree, levels = tree[0], levels + 1
        return str(levels)

    browser = Client(serve(app))
    for levels in range(1000, 800, -4):  # the deepest JSON the stack lets Bottle read and canister store
        body = '{"tree": %s}' % ('[' * levels + ']' * levels)
        if browser.request('POST', '/save', body, {'Content-Type': 'application/json'}).status == 200:
            break
    assert browser.cookies, 'no depth from 1000 down to 800 was stored'
    answer = browser.get('/depth')
    assert (answer.status, answer.text) == (200, str(levels - 1))
