"""Every 503 canister answers because the session store is down carries ``Retry-After: 1``, the
"retry shortly" of its message in a form a client can act on: found down in the handler, on a
login, or when the session is saved after it, and also when the app's own 503 page answers.
A real redis-server, stopped."""
import bottle

import canister
from helpers import basic, client, json_counter_app, read_log, vary_tokens

ALICE = {'Authorization': basic('alice', 'wonderland')}


def test_a_session_found_down_in_the_handler_answers_503_with_retry_after(make_app, redis_server):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    assert web.get('/count').json == {'n': 1}
    redis_server.stop()
    answer = web.get('/count', status=503)
    assert 'retry shortly' in answer.text
    assert answer.headers.getall('Retry-After') == ['1']


def test_a_new_session_that_cannot_be_saved_after_the_handler_answers_503_with_retry_after(make_app, redis_server):
    web = client(json_counter_app(make_app, session_store=redis_server.url))
    redis_server.stop()
    answer = web.get('/count', status=503)  # no cookie: nothing loaded, the save after the handler fails
    assert 'retry shortly' in answer.text
    assert answer.headers.getall('Retry-After') == ['1']
    assert 'Set-Cookie' not in answer.headers


def test_a_login_with_the_store_down_answers_503_with_retry_after(make_app, redis_server):
    web = client(json_counter_app(make_app, session_store=redis_server.url, auth_basic_username='alice',
                                  auth_basic_password='wonderland'))
    redis_server.stop()
    answer = web.get('/count', headers=ALICE, status=503)
    assert answer.headers.getall('Retry-After') == ['1']


def test_the_apps_own_503_page_keeps_the_retry_after(make_app, redis_server, log_dir):
    app = json_counter_app(make_app, session_store=redis_server.url)

    @app.error(503)
    def unavailable(error):
        return '<p>Back in a moment</p>'

    web = client(app)
    assert web.get('/count').json == {'n': 1}
    redis_server.stop()
    answer = web.get('/count', status=503)
    assert answer.text == '<p>Back in a moment</p>'
    assert answer.headers.getall('Retry-After') == ['1']
    assert 'the Redis session store is unavailable' in read_log(log_dir)



def test_a_guard_that_reads_the_session_from_a_store_that_is_down_answers_503_with_retry_after(
        make_app, redis_server, log_dir):
    app = json_counter_app(make_app, session_store=redis_server.url)

    @app.get('/mine')
    @canister.require_user
    def mine():
        return 'never'

    web = client(app)
    assert web.get('/count').json == {'n': 1}  # a session, so that the guard has one to read
    redis_server.stop()
    answer = web.get('/mine', status=503)
    assert 'retry shortly' in answer.text
    assert answer.headers.getall('Retry-After') == ['1']
    log = read_log(log_dir)
    assert 'the Redis session store is unavailable' in log and 'Unhandled exception' not in log


def test_a_before_request_hook_that_reads_the_session_from_a_store_that_is_down_answers_503_with_retry_after(
        make_app, redis_server, log_dir):
    """Outside the route (Bottle catches the hook's exception, and answers its 500 without canister)."""
    app = json_counter_app(make_app, session_store=redis_server.url, catchall=True)

    @app.hook('before_request')
    def who():
        bottle.request.environ['user'] = canister.session.user

    @app.get('/me')
    def me():
        return str(bottle.request.environ['user'])

    web = client(app)
    assert web.get('/count').json == {'n': 1}  # a session for the hook to read
    redis_server.stop()
    answer = web.get('/me', status=503, expect_errors=True)  # (Bottle writes its traceback to wsgi.errors first)
    assert answer.text == 'Service unavailable: the session store cannot be reached, retry shortly\n'
    assert answer.headers.getall('Retry-After') == ['1']
    log = read_log(log_dir)
    assert 'the Redis session store is unavailable' in log and 'Response: 503' in log
    assert 'Unhandled exception' not in log and 'Traceback' not in log


def test_every_503_of_a_store_that_is_down_varies_on_accept_and_on_cookie_when_the_session_was_read(
        make_app, redis_server):
    """Accept chooses the 503's body (text or JSON), so a shared cache must keep them apart, whichever way it
    comes: in the handler, a guard, a before_request hook, the save after the handler, a login."""
    app = json_counter_app(make_app, session_store=redis_server.url, catchall=True, auth_basic_username='alice',
                           auth_basic_password='wonderland')

    @app.get('/mine')
    @canister.require_user
    def mine():
        return 'never'

    @app.hook('before_request')
    def who():
        if bottle.request.path == '/hook':
            bottle.request.environ['user'] = canister.session.user

    app.route('/hook', callback=lambda: 'never')
    web = client(app)
    assert web.get('/count').json == {'n': 1}  # a session for the handler, the guard and the hook to read
    redis_server.stop()
    for accept in ({}, {'Accept': 'application/json'}):
        read = [web.get('/count', headers=accept, status=503), web.get('/mine', headers=accept, status=503),
                web.get('/hook', headers=accept, status=503, expect_errors=True),
                client(app).get('/count', headers=accept, status=503)]  # (no cookie: the save after it fails)
        for answer in read:
            assert answer.headers.getall('Retry-After') == ['1']
            assert sorted(vary_tokens(answer)) == ['accept', 'cookie'], answer.request.path
        login = client(app).get('/count', headers=dict(accept, **ALICE), status=503)
        assert vary_tokens(login).count('accept') == 1

