"""Bearer tokens checked with a provider's JWKS under gevent.

Canister fetches the provider's keys on the first token, and again on a token whose ``kid`` it does
not know (at most every ``auth_jwt_jwks_refetch`` seconds), in a thread it waits for at most 5 s.
Under ``gevent.monkey.patch_all()`` that thread is a greenlet and the download a cooperative socket:
while the provider is slow, the other requests must still be answered.  Each test runs
tests/apps/gevent_app.py under ``bottle.run(server='gevent')`` in a subprocess, against a real JWKS
endpoint in a thread of this process (servers.JwksServer, serving keys made here; or one that never
answers, or a port where nothing listens), and checks the answers and the log lines.
"""
import contextlib
import json
import threading
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import bearer, claims, jwk, read_log
from servers import AppServer, Client, HangingServer, held_port, pings_sent_during, wait_until

#: How often an unknown kid may refetch the keys here (seconds): short, so rotations need little waiting.
REFETCH = 0.5


@pytest.fixture(scope='module')
def keys():
    """Two RSA keys of the provider: the one it signs with first, and the one it rotates to."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture
def serve_gevent(tmp_path):
    """Start gevent_app under ``bottle.run(server='gevent')`` checking tokens with the keys at a JWKS URL;
    its AppServer, with ``log_dir``."""
    started = []

    def start(jwks_url, max_age=''):
        server = AppServer('gevent_app:app', server='gevent', env={
            'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs'),
            'GEVENT_APP_JWKS_URL': jwks_url, 'GEVENT_APP_JWKS_REFETCH': str(REFETCH),
            'GEVENT_APP_JWKS_MAX_AGE': str(max_age)})
        server.log_dir = tmp_path / 'logs'
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.cleanup()


def rs256_token(key, kid, **extra):
    """A token of :func:`helpers.claims` for gevent_app's audience, signed with ``key`` and naming ``kid``."""
    return pyjwt.encode(claims(aud='gevent-app', **extra), key, algorithm='RS256', headers={'kid': kid})


def read_as(server, signed, number):
    """GET /read with ``signed`` as Bearer token, from the client 10.0.4.<number>: a servers.Response."""
    return Client(server.url).get('/read', headers={'X-Forwarded-For': '10.0.4.%d' % number, **bearer(signed)})


def log_messages(server, level):
    """The messages of the server's log lines at ``level``."""
    entries = [json.loads(line) for line in read_log(server.log_dir).splitlines()]
    return [entry['message'] for entry in entries if entry['level'] == level]


def assert_pings_answered_meanwhile(pings, stalled_from, stalled_until, call):
    """Three pings or more of :func:`servers.pings_sent_during`, sent once the JWKS endpoint had the download
    (``stalled_from``), were answered before it could end (``stalled_until``).  A server waiting for the download
    answers a ping sent then only after it; another job's load only makes the pings slower, each well under the
    download's seconds."""
    meanwhile = [(sent, answered) for sent, answered in pings if stalled_from <= sent and answered < stalled_until]
    assert len(meanwhile) >= 3, ('pings sent and answered while a Bearer request waited for the JWKS: %d of %s'
                                 % (len(meanwhile), [(round(sent - stalled_from, 2), round(answered - sent, 2))
                                                     for sent, answered in pings]), call)


def test_a_token_signed_with_a_key_of_the_jwks_logs_in_under_gevent(serve_gevent, jwks_server, keys):
    jwks_server.publish(jwk(keys[0], 'one'))
    server = serve_gevent(jwks_server.url)

    answer = read_as(server, rs256_token(keys[0], 'one'), 1)

    assert (answer.status, answer.json()['user']['sub']) == (200, 'alice')
    assert jwks_server.hits == 1
    assert "Fetched 1 signing keys from the JWKS URL; kids: 'one'" in log_messages(server, 'INFO')


def test_after_the_provider_rotates_its_key_a_token_of_the_new_kid_logs_in_under_gevent(serve_gevent, jwks_server, keys):
    jwks_server.publish(jwk(keys[0], 'one'))
    server = serve_gevent(jwks_server.url)
    assert read_as(server, rs256_token(keys[0], 'one'), 2).status == 200

    jwks_server.publish(jwk(keys[1], 'two'))
    assert read_as(server, rs256_token(keys[1], 'two', sub='bob'), 2).status == 401  # within REFETCH of the first fetch
    Client(server.url).get('/slow?seconds=%g' % REFETCH)  # (the server's time, while it serves)
    answer = read_as(server, rs256_token(keys[1], 'two', sub='bob'), 2)

    assert (answer.status, answer.json()['user']['sub']) == (200, 'bob')
    assert jwks_server.hits == 2


def test_while_the_jwks_endpoint_is_slow_the_gevent_server_answers_the_other_requests(serve_gevent, jwks_server, keys):
    jwks_server.publish(jwk(keys[0], 'one'))
    jwks_server.delay = 3.0  # slower than a request should be, within canister's 5 s
    server = serve_gevent(jwks_server.url)

    login, pings = pings_sent_during(server, lambda: read_as(server, rs256_token(keys[0], 'one'), 3))

    assert (login.status, login.json()['user']['sub']) == (200, 'alice')
    assert login.elapsed > 2.5, login  # it waited for the keys
    [asked] = jwks_server.hit_at
    assert_pings_answered_meanwhile(pings, asked, asked + jwks_server.delay, login)


def test_while_a_new_kid_refetches_slowly_a_token_of_a_known_kid_logs_in_at_once_under_gevent(serve_gevent, jwks_server, keys):
    jwks_server.publish(jwk(keys[0], 'one'))
    server = serve_gevent(jwks_server.url)
    assert read_as(server, rs256_token(keys[0], 'one'), 4).status == 200
    jwks_server.publish(jwk(keys[0], 'one'), jwk(keys[1], 'two'))
    jwks_server.held = threading.Event()  # (the refetch under way until the test lets it answer)
    Client(server.url).get('/slow?seconds=%g' % REFETCH)

    held = {}
    thread = threading.Thread(target=lambda: held.update(answer=read_as(server, rs256_token(keys[1], 'two', sub='bob'), 4)))
    thread.start()
    wait_until(lambda: jwks_server.hits == 2, 30, what='the refetch for the new kid')
    fetching_since = time.monotonic()
    known = read_as(server, rs256_token(keys[0], 'one', sub='carol'), 5)
    answered_while_it_fetched = thread.is_alive()
    time.sleep(max(0.0, 3.0 - (time.monotonic() - fetching_since)))  # (a refetch of 3 s: slower than a request)
    jwks_server.held.set()
    thread.join(30)

    assert (known.status, known.json()['user']['sub']) == (200, 'carol')
    assert answered_while_it_fetched, known
    # (the refetch, let go only once the known kid was answered, still brought the new kid's keys: the known kid
    # waited for none of it; had it waited, the refetch would have given up at canister's 5 s, and bob had a 503)
    rotated = held['answer']
    assert (rotated.status, rotated.json()['user']['sub']) == (200, 'bob')
    assert rotated.elapsed > 2.5 and jwks_server.hits == 2, rotated


def test_keys_downloaded_again_once_old_leave_every_request_answered_meanwhile_under_gevent(serve_gevent, jwks_server,
                                                                                             keys):
    jwks_server.publish(jwk(keys[0], 'one'), jwk(keys[1], 'two'))
    server = serve_gevent(jwks_server.url, max_age=1.0)  # (5 minutes in production)
    assert read_as(server, rs256_token(keys[0], 'one'), 10).status == 200
    jwks_server.publish(jwk(keys[0], 'one'))  # the provider drops the key 'two'
    jwks_server.held = threading.Event()  # (the download under way until the test lets it answer)
    Client(server.url).get('/slow?seconds=1.1')  # (the server's time, while it serves: the keys grow old)

    try:
        known = read_as(server, rs256_token(keys[0], 'one', sub='carol'), 11)
        assert (known.status, known.json()['user']['sub']) == (200, 'carol')
        wait_until(lambda: jwks_server.hits == 2, 30, what='the download of the old keys')
        _, pings_while_downloading = pings_sent_during(server, lambda: Client(server.url).get('/slow?seconds=1.5'))
    finally:
        jwks_server.held.set()  # (let go only now: the known kid was answered with the download held)
    asked = jwks_server.hit_at[1]  # (held by the test, or given up by canister's 5 s: not answered before 4 s)
    assert_pings_answered_meanwhile(pings_while_downloading, asked, asked + 4.0, 'the download under way')
    # (it started the download and waited for none of it: had it waited, the download would have given up at
    # canister's 5 s, with no INFO line below and the key 'two' still held)
    wait_until(lambda: any('the keys held being 1s old or more' in message for message in log_messages(server, 'INFO')),
               10, what='the INFO line of the download')
    assert read_as(server, rs256_token(keys[1], 'two', sub='bob'), 12).status == 401


def test_an_unreachable_jwks_endpoint_gives_503_at_once_and_a_warning_under_gevent(serve_gevent, keys):
    ports = []
    with contextlib.ExitStack() as held:  # (each port held till the end: nothing listens there meanwhile)
        for _ in range(3):  # (measured again, on a new server, only when another job's load made the answer take 4 s)
            port = held.enter_context(held_port())
            ports.append(port)
            server = serve_gevent('http://127.0.0.1:%d/jwks' % port)
            answer = read_as(server, rs256_token(keys[0], 'one'), 6)
            assert (answer.status, answer.headers['Retry-After']) == (503, '1'), answer  # (auth_jwt_jwks_refetch: 0.5 s)
            if answer.elapsed < 4:
                break
        warnings = log_messages(server, 'WARNING')
    assert answer.elapsed < 4, answer  # (three times later: a canister waiting for its download would take its 5 s)
    assert 'WWW-Authenticate' not in answer.headers
    earlier = ['127.0.0.1:%d/' % number for number in ports[:-1]]  # (the lines of a round measured again, if any)
    [warning] = [message for message in warnings
               if 'JWKS' in message and not message.startswith('Authentication failed')
               and not any(url in message for url in earlier)]
    assert warning.startswith('Cannot fetch the JWKS keys from http://127.0.0.1:%d/jwks: ' % port), warning
    assert 'Connection refused' in warning, warning


def test_a_jwks_endpoint_that_never_answers_gives_503_within_5_s_and_stops_no_one_under_gevent(serve_gevent, keys):
    for _ in range(3):  # (measured again only when another job's load made the answer later than 6.5 s)
        hanging = HangingServer()
        try:
            server = serve_gevent(hanging.url)
            refused, pings = pings_sent_during(server, lambda server=server: read_as(server, rs256_token(keys[0], 'one'), 7))
        finally:
            hanging.close()
        assert refused.status == 503
        assert 4.5 < refused.elapsed, refused
        if refused.elapsed < 6.5:
            break
    assert refused.elapsed < 6.5, refused  # (three times later: canister waited longer than its 5 s)
    [asked] = hanging.accepted_at  # (never answered; given up by canister's 5 s: not before 4 s)
    assert_pings_answered_meanwhile(pings, asked, asked + 4.0, refused)
    assert ('Cannot fetch the JWKS keys from %s: no complete answer within 5s' % hanging.url
            in log_messages(server, 'WARNING'))


def test_while_the_jwks_endpoint_hangs_another_unknown_kid_is_answered_503_at_once_under_gevent(serve_gevent, keys,
                                                                                                hanging_server):
    server = serve_gevent(hanging_server.url)
    held = {}
    first = threading.Thread(target=lambda: held.update(answer=read_as(server, rs256_token(keys[0], 'one'), 8)))
    first.start()
    assert hanging_server.accepted.wait(30), 'canister never asked the JWKS endpoint'

    for _ in range(3):  # (asked again, the first still waiting, only when another job's load made it take 1 s)
        other = read_as(server, rs256_token(keys[1], 'two', sub='bob'), 9)
        if other.elapsed < 1:
            break
    first_still_waits = first.is_alive()
    first.join(30)

    assert (other.status, other.headers['Retry-After'], first_still_waits) == (503, '1', True), other
    assert held['answer'].status == 503
    assert other.elapsed * 4 < held['answer'].elapsed, (other, held['answer'])  # (the first waits 5 s)
