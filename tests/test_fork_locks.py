"""Locks a forked child inherits: a child forked while another thread holds one of canister's
locks (the memory store's, Basic's users', the in-process login throttle's, a JWKS key cache's,
the SQLite files', the log's) must not wait forever on it.  Each test forks for real while a
thread holds the lock."""
from __future__ import annotations

import base64
import gc
import threading
import time
import weakref

import bottle
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

import canister
from helpers import (assert_keys_unavailable, bearer, claims, cookie_value, cookieless_client, finishes_in_child,
                     held_by_another_process, in_background, jwk, read_log, with_cookie, write_users)
from servers import HangingServer, JwksServer
from session_kit import add_session_routes, plugin_of


def held_for_a_while(lock, seconds=1.0):
    """A thread holds ``lock`` for ``seconds`` (as one in the middle of its work would); returned once it holds it."""
    holding = threading.Event()

    def hold():
        with lock:
            holding.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert holding.wait(30)
    return thread


class HeldOneInsideTheOther(threading.Thread):
    """A thread that takes ``outer`` and, ``seconds`` later, ``inner`` while it still holds ``outer``
    (as canister's own code nests them).  A fork that took ``inner`` first would wait for ``outer``
    forever, and the thread for ``inner``: the thread gives up after 30 s, and ``nested`` says whether
    it got ``inner``."""

    def __init__(self, outer, inner, seconds=0.5):
        super().__init__(daemon=True)
        self.outer, self.inner, self.seconds = outer, inner, seconds
        self.holding = threading.Event()
        self.nested = False

    def run(self):
        with self.outer:
            self.holding.set()
            time.sleep(self.seconds)
            self.nested = self.inner.acquire(timeout=30)
            if self.nested:
                self.inner.release()

    def started(self):
        self.start()
        assert self.holding.wait(30)
        return self


def alice_then_bob(make_app, store):
    """An app on ``store`` where alice logged in; its session id, and the work of a child: bob logs
    in and both sessions are read back (True if they are alice's and bob's)."""
    app = add_session_routes(make_app(store=store))
    app.route('/who', callback=lambda: str(canister.session.user))
    before = cookie_value(cookieless_client(app).get('/login?name=alice'))

    def child():
        web = cookieless_client(app)
        sid = cookie_value(web.get('/login?name=bob'))
        return web.get('/who', headers=with_cookie(sid)).text == 'bob' and \
            web.get('/who', headers=with_cookie(before)).text == 'alice'

    return app, before, child


def test_a_child_forked_while_a_thread_holds_the_memory_stores_lock_serves_sessions(make_app):
    store = canister.MemoryStore()
    app, before, child = alice_then_bob(make_app, store)

    holder = held_for_a_while(store._lock)
    assert finishes_in_child(child)
    holder.join(30)
    assert cookieless_client(app).get('/who', headers=with_cookie(before)).text == 'alice'


def test_a_child_forked_while_a_thread_holds_the_login_throttles_lock_counts_attempts():
    throttle = canister._Throttle(max_failures=2)
    assert throttle.claim('10.0.0.1')[0] == 0  # (the seconds to wait, then the end of the window)
    holder = held_for_a_while(throttle._lock)
    assert finishes_in_child(lambda: throttle.claim('10.0.0.1')[0] == 0 and throttle.claim('10.0.0.1')[0] > 0)
    holder.join(30)
    assert throttle.claim('10.0.0.1')[0] == 0 and throttle.claim('10.0.0.1')[0] > 0  # (the child's count is its own)


def test_a_child_forked_while_a_thread_holds_the_basic_users_lock_logs_in(make_app):
    app = make_app(config={'auth_basic_username': 'alice', 'auth_basic_password': 'secret-password'})
    app.route('/who', callback=lambda: str(canister.session.user))
    credentials = {'Authorization': 'Basic ' + base64.b64encode(b'alice:secret-password').decode()}
    assert cookieless_client(app).get('/who', headers=credentials).text == 'alice'
    users = plugin_of(app).auth.schemes['basic']
    holder = held_for_a_while(users._lock)
    assert finishes_in_child(lambda: cookieless_client(app).get('/who', headers=credentials).text == 'alice')
    holder.join(30)


def test_a_child_forked_during_a_jwks_download_answers_503_at_once(make_app):
    """A request waits for the download it started from a JWKS endpoint that never answers when the process forks
    (up to its auth_jwt_jwks_timeout of 60 s, twice the 30 s the child is given): the child does not wait for a
    download it does not have, which counts there as failed at the fork, so a token of a key it does not hold gets
    503 with the seconds until the child's own download may start, auth_jwt_jwks_refetch after the parent's began
    (not a 401: the token may be good); the parent's request, once its download gave up, answers 503 too.  The
    child answers while the parent's request still waits, however slow another job's load makes either."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = pyjwt.encode(claims(aud='app'), key, algorithm='RS256', headers={'kid': 'key-1'})
    server = HangingServer()
    try:
        app = make_app(auth_jwt_jwks_url=server.url, auth_jwt_client_id='app', auth_jwt_jwks_timeout=60,
                       auth_jwt_jwks_refetch=600)
        app.route('/who', callback=lambda: str(canister.session.user))
        answered = threading.Event()

        def retry_after_counts_from(began, response):
            """The 503 of keys out of reach, its Retry-After the seconds left of the 600 from the download's start,
            which was after ``began``."""
            retry_after = response.headers.get('Retry-After')
            assert_keys_unavailable(response, retry_after=retry_after)
            return 600 - (time.monotonic() - began) <= int(retry_after) <= 600

        def parents_request():
            try:
                return cookieless_client(app).get('/who', headers=bearer(token), expect_errors=True)
            finally:
                answered.set()

        began = time.monotonic()
        waiting = in_background(parents_request)
        assert server.accepted.wait(30), 'canister never asked the JWKS endpoint'
        assert finishes_in_child(lambda: retry_after_counts_from(began, cookieless_client(app).get(
            '/who', headers=bearer(token), expect_errors=True))), 'the child waited, or its 503 did not count from ' \
            "the parent's download"
        assert not answered.is_set()  # (the parent's request still waits for its download, which never ends)
    finally:
        server.close()  # (the parent's download fails now)
    assert retry_after_counts_from(began, waiting(30))


def test_a_child_forked_while_a_thread_holds_the_jwks_lock_answers_503_to_a_key_it_does_not_hold(make_app):
    """A thread holds the JWKS key cache's lock at the fork, as one does while it starts a download or puts
    the keys a download brought in place: the child cannot tell what the keys are then (the keys of a
    rotation may be in the download's answer but not yet held), so a token of a key it does not hold gets
    503 with the seconds until its own download may start, not a 401 that would make its client drop a
    token that may be good; a token of a key held is served."""
    server = JwksServer()
    try:
        first, second = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
        server.publish(jwk(first, 'key-1'))
        app = make_app(auth_jwt_jwks_url=server.url, auth_jwt_client_id='app')
        app.route('/who', callback=lambda: str(canister.session.user['sub']))
        held = pyjwt.encode(claims(aud='app'), first, algorithm='RS256', headers={'kid': 'key-1'})
        rotated = pyjwt.encode(claims(aud='app'), second, algorithm='RS256', headers={'kid': 'key-2'})
        assert cookieless_client(app).get('/who', headers=bearer(held)).text == 'alice'  # (key-1 fetched)

        def unavailable_then_served():
            response = cookieless_client(app).get('/who', headers=bearer(rotated), expect_errors=True)
            assert_keys_unavailable(response, retry_after=response.headers.get('Retry-After'))
            assert 8 <= int(response.headers['Retry-After']) <= 10  # (10 s after the parent's download began)
            return cookieless_client(app).get('/who', headers=bearer(held)).text == 'alice'

        holder = held_for_a_while(plugin_of(app).auth.schemes['bearer'].jwks._lock)
        assert finishes_in_child(unavailable_then_served)
        holder.join(30)
        assert cookieless_client(app).get('/who', headers=bearer(rotated), status=401).status_int == 401  # (parent)
    finally:
        server.close()


def test_a_memory_store_that_went_away_is_freed_and_a_later_fork_still_serves_sessions():
    gone = weakref.ref(canister.MemoryStore())
    gc.collect()
    assert gone() is None
    store = canister.MemoryStore()
    store.save('sid-1', 'record', 60)
    holder = held_for_a_while(store._lock)
    assert finishes_in_child(lambda: store.load('sid-1') == 'record')
    holder.join(30)


def test_a_fork_while_a_thread_opens_a_sqlite_connection_waits_for_it_and_the_child_serves_sessions(make_app, tmp_path):
    """Opening a connection holds the lock for opening SQLite files, then the file's lock inside it:
    the fork takes them in that order too (the other order would leave it and the thread waiting
    for each other)."""
    store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
    app, before, child = alice_then_bob(make_app, store)

    holder = HeldOneInsideTheOther(canister._SQLITE_OPENING, store._file._lock).started()
    assert finishes_in_child(child)
    holder.join(30)
    assert holder.nested
    assert cookieless_client(app).get('/who', headers=with_cookie(before)).text == 'alice'


def test_a_fork_while_a_request_waits_out_a_sqlite_file_another_process_holds_leaves_the_child_its_own_wait(tmp_path):
    """One request of a process waits out a file another process holds (a backup); the fork does not wait for
    it.  A request of the child that meets the lock still waits it out, as one of the process may: with the
    parent's wait still taken in the child, every one answered 503 after its quarter of a second, all through
    the lock (and every later one)."""
    path = tmp_path / 'sessions.db'
    store = canister.SQLiteStore(str(path))
    store.save('sid-1', 'record', 60)
    holder = held_by_another_process(path)
    parents = in_background(lambda: store.save('sid-2', 'parent', 60))
    time.sleep(0.6)  # past its quarter of a second: the parent's request waits on
    letting_go = threading.Timer(1.5, holder.communicate, args=('\n',), kwargs={'timeout': 30})
    letting_go.start()
    try:
        assert finishes_in_child(lambda: store.save('sid-3', 'child', 60) or store.load('sid-3') == 'child')
    finally:
        letting_go.join(30)
        holder.wait(30)
    parents()  # the parent's waited it out too
    assert (store.load('sid-2'), store.load('sid-3')) == ('parent', 'child')
    store.close()


def test_a_fork_while_a_plugin_takes_its_log_waits_for_it_and_the_child_logs(make_app, log_dir):
    """Installing or uninstalling a plugin holds the lock of the process's logs, then a log's lock
    inside it: the fork takes them in that order too, and the child can log and install a plugin."""
    app = make_app()
    app.route('/parent', callback=lambda: 'ok')
    sink = plugin_of(app).log.handler.sink

    def child():
        other = make_app()
        other.route('/child', callback=lambda: 'ok')
        return cookieless_client(other).get('/child').text == 'ok' and \
            cookieless_client(app).get('/parent').text == 'ok'

    holder = HeldOneInsideTheOther(canister._SINKS_LOCK, sink._lock).started()
    assert finishes_in_child(child)
    holder.join(30)
    assert holder.nested
    log = read_log(log_dir)
    assert '/child' in log and '/parent' in log


def test_a_fork_while_the_garbage_collector_frees_a_users_file_app_in_a_thread_holding_a_stores_lock_finishes(tmp_path):
    """The collector runs an object's finalizer in whichever thread allocates, whatever lock it holds: that of an
    app reading a users file takes the lock of the process's users files.  A fork takes that lock after all the
    others (the memory store's among them), so the thread finishes and the fork goes on; taken first, the fork
    and the thread waited for each other for good."""
    users = write_users(tmp_path / 'users.txt', alice='alice-password')
    store = canister.MemoryStore()
    store.save('sid-1', 'record', 60)

    def fork_while_collecting():
        gc.disable()
        app = bottle.Bottle()
        app.install(canister.Canister(log_path=str(tmp_path), auth_basic_users_file=str(users)))
        del app  # (held in cycles: the collection below frees it)
        holding = threading.Event()

        def collect_holding_the_store():
            with store._lock:
                holding.set()
                time.sleep(0.5)
                gc.collect()

        threading.Thread(target=collect_holding_the_store, daemon=True).start()
        assert holding.wait(30)
        return finishes_in_child(lambda: store.load('sid-1') == 'record')

    assert finishes_in_child(fork_while_collecting, within=60)
