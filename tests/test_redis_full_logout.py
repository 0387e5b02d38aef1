"""A logout on a full Redis (``maxmemory`` reached under ``maxmemory-policy noeviction``), on Redis 7 and 5.0.6.

A full Redis refuses the "ended" marker a logout writes (a ``SET``) but still deletes (``DEL`` adds no memory):
the session is then deleted instead, only if it is still the record the logout read, so the user is logged out
(the app's answer, the cookie expired), and a WARNING says Redis is full and what the missing marker means.  A
request that loaded the session before the logout and saves after stores nothing, as after a marker evicted.
"""
import sys
import threading
import time

import pytest
import redis

import canister
from canister import session
from helpers import (client, cookie_value, fill_up, guarded_app, least_time, read_log, readme_section, warning_lines,
                     with_cookie)
from servers import wait_until
from session_kit import Browser, expires_cookie, gated_app, hold_request, logged_in, plugin_of, rotation_app

#: The words of the WARNING of a session ended by deleting it.
UNMARKED = ('ended by deleting it: Redis is full (maxmemory reached) and refused its "ended" marker; as after a '
            'marker evicted, a request that loaded the session before and saves after stores nothing')


#: How many logouts the test of WAIT's connection runs, and how many requests open the connections it needs.
LOGOUTS, READERS = 3, 4


def pool_call(frame, *names):
    """For a profile function (``sys.setprofile``): is ``frame`` that of one of redis-py's pool methods ``names``
    (``make_connection``: it makes one; ``get_connection``: it hands one out; ``release``: it takes one back)?"""
    return frame.f_code.co_name in names and frame.f_globals['__name__'] == 'redis.connection'


def taken_in_turn(app, master, full, sid, read):
    """The answer of a logout with the cookie ``sid`` in a thread whose pool connection, given back once the delete
    is done, another request takes at once: the master stopped (SIGSTOP), a request (``read``) takes that
    connection, then waits for its answer; the master goes on as soon as the logout takes a connection again."""
    key, answer, took, stopped = 'canister:session:' + sid, [], threading.Event(), []

    def in_turn(frame, event, arg):
        if event != 'return':
            return
        if stopped and pool_call(frame, 'get_connection'):
            master.thaw()
        elif not stopped and pool_call(frame, 'release') and not full.exists(key):  # (the delete's connection)
            master.freeze()
            stopped.append(threading.Thread(target=read, args=(took, 'get_connection')))
            stopped[0].start()
            assert took.wait(30), 'the other request took no connection'

    def log_out():
        sys.setprofile(in_turn)
        answer.append(client(app).get('/logout', headers=with_cookie(sid), expect_errors=True))

    out = threading.Thread(target=log_out)
    out.start()
    out.join(60)
    master.thaw()
    assert stopped, 'the logout deleted nothing'
    stopped[0].join(30)
    return answer[0]


def unmarked_lines(log_dir):
    return [line for line in warning_lines(log_dir) if UNMARKED in line]


def assert_ended_with_one_unmarked_line(app, origin, redis_client, sid, log_dir):
    """Session ``sid`` is gone from Redis and reads as no session, alice has none left, and one WARNING said its
    marker could not be left."""
    assert not redis_client.exists('canister:session:' + sid)
    assert Browser(origin, sid, follow=False).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []
    assert len(unmarked_lines(log_dir)) == 1


def test_on_a_full_redis_a_logout_logs_out_and_its_old_cookie_no_longer_logs_in(make_app, any_redis, log_dir):
    app = guarded_app(make_app, any_redis.url, catchall=True)
    web = client(app)
    sid = cookie_value(web.get('/login'))
    assert web.get('/me').text == 'me: alice'
    full = fill_up(any_redis)
    plugin = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))
    assert plugin.store_problem() is None   # (a PING: nothing refused yet)
    answer = web.get('/logout', expect_errors=True)
    assert (answer.status_int, answer.text) == (200, 'out'), answer
    assert expires_cookie(answer.headers['Set-Cookie']), answer.headers
    assert "used memory > 'maxmemory'" in plugin.store_problem()   # the README: "store_problem() says so too"
    assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401
    assert not full.exists('canister:session:' + sid)
    assert full.smembers('canister:session:user:alice') == set()  # its place in the user's set went too
    [line] = unmarked_lines(log_dir)
    assert 'Session: %s... ' % sid[:6] in line and sid not in line, line
    assert [line for line in warning_lines(log_dir) if 'Session:' in line] == [line]
    assert 'Traceback' not in read_log(log_dir)


def test_on_a_full_redis_a_request_held_across_a_logout_stores_nothing_once_redis_has_room(
        make_app, any_redis, serve_with_gates, log_dir):
    """The held request loaded the session before the logout deleted it; it saves once Redis has room again,
    where it could bring the session back: it saves only over the record it read, finds nothing, and stores
    nothing (its answer expires the cookie, as after any logout it meets)."""
    app = gated_app(make_app, any_redis.url)
    origin = serve_with_gates(app)
    alice = logged_in(origin, cart='1')
    release = hold_request(app, origin, alice.sid, '/hold?name=a&key=cart&value=2')
    full = fill_up(any_redis)
    logout = Browser(origin, alice.sid, follow=False).get('/logout')
    assert logout.status == 200 and any(expires_cookie(cookie) for cookie in logout.set_cookies), logout
    full.config_set('maxmemory', '0')                 # room again, before the held request saves
    held = release()
    assert held.status == 200, held
    assert_ended_with_one_unmarked_line(app, origin, full, alice.sid, log_dir)


def test_on_a_full_redis_end_sessions_ends_every_session_of_the_user_saying_its_note_could_not_be_left(
        make_app, any_redis, log_dir):
    app = guarded_app(make_app, any_redis.url, catchall=True)
    sids = [cookie_value(client(app).get('/login')) for _ in range(2)]
    fill_up(any_redis)
    assert plugin_of(app).end_sessions('alice') == 2
    for sid in sids:
        assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401
    assert len(unmarked_lines(log_dir)) == 2
    [note] = [line for line in warning_lines(log_dir) if 'could not leave its note' in line]
    assert 'Redis is full (maxmemory reached)' in note, note


def test_on_a_full_redis_a_request_held_across_end_sessions_stores_nothing_once_redis_has_room(
        make_app, any_redis, serve_with_gates, log_dir):
    """An ``end_sessions`` on a full Redis cannot leave its markers (nor its note): it deletes the sessions, and a
    request that loaded one before saves only over the record it read, finds nothing, and stores nothing, also once
    Redis has room again (the README's *Which maxmemory-policy*)."""
    app = gated_app(make_app, any_redis.url)
    origin = serve_with_gates(app)
    alice = logged_in(origin, cart='1')
    release = hold_request(app, origin, alice.sid, '/hold?name=a&key=cart&value=2')
    full = fill_up(any_redis)
    try:
        assert plugin_of(app).end_sessions('alice') == 1
        full.config_set('maxmemory', '0')             # room again, before the held request saves
        held = release()
    finally:
        full.config_set('maxmemory', '0')
    assert held.status == 200, held
    assert_ended_with_one_unmarked_line(app, origin, full, alice.sid, log_dir)


def test_with_session_redis_wait_a_logout_on_a_full_redis_whose_replica_does_not_confirm_the_delete_answers_503(
        make_app, master_and_replica, log_dir):
    """The delete waits for a replica as the marker would (``WAIT``): none confirms in time (the replica frozen),
    503; the delete reaches the replica once it answers again, and the old cookie finds no session."""
    master, replica = master_and_replica
    # (the login without WAIT, then seen on the replica: it does not depend on how soon a loaded machine lets the
    # replica confirm it)
    logins = guarded_app(make_app, master.url, catchall=True)
    app = make_app(session_store=master.url, session_redis_wait=1, session_redis_timeout=5, catchall=True)
    app.get('/logout')(lambda: session.invalidate() or 'out')
    app.get('/me')(canister.require_user(lambda: 'me: %s' % session.user))
    web = client(app)
    sid = cookie_value(client(logins).get('/login'))
    copy = redis.Redis(port=replica.port)
    wait_until(lambda: copy.exists('canister:session:' + sid), 30, what='the login to reach the replica')
    fill_up(master)
    replica.freeze()
    try:
        answer = web.get('/logout', headers=with_cookie(sid), expect_errors=True)
        assert (answer.status_int, answer.headers['Retry-After']) == (503, '1'), answer
        assert 'only 0 of 1 replica(s) confirmed it in time' in read_log(log_dir)
    finally:
        replica.thaw()
    wait_until(lambda: not copy.exists('canister:session:' + sid), 30, what='the delete to reach the replica')
    assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401


def test_with_session_redis_wait_a_logout_on_a_full_redis_whose_replica_does_not_confirm_takes_one_wait(
        make_app, master_and_replica):
    """The refused marker and the delete instead are one script, sent with one WAIT: the logout answers 503 after
    that WAIT (half the socket timeout), as a save does; not after a WAIT for the refused marker, then one for the
    delete.  Each time the least of three: load adds to a time, never takes from it."""
    master, replica = master_and_replica
    # (WAIT: 1 s, and 2 s for an answer; logins without WAIT, so that none depends on how soon a loaded machine lets
    # the replica confirm it)
    logins = guarded_app(make_app, master.url, catchall=True)
    app = guarded_app(make_app, master.url, catchall=True, session_redis_wait=1, session_redis_timeout=2)
    full, answers, logouts = redis.Redis(port=master.port), [], []
    for _ in range(3):
        full.config_set('maxmemory', '0')
        full.set('canister:test:caught-up', 'x')
        assert full.wait(1, 30000) == 1                 # (the replica thawed has caught up before the login)
        sid = cookie_value(client(logins).get('/login'))
        fill_up(master)
        replica.freeze()
        web = client(app)
        try:
            started = time.monotonic()
            answers.append(web.get('/logout', headers=with_cookie(sid), expect_errors=True).status_int)
            logouts.append(time.monotonic() - started)
        finally:
            replica.thaw()
        assert not full.exists('canister:session:' + sid)
    full.config_set('maxmemory', '0')

    def one_wait():
        full.set('canister:test:write', 'x')
        replica.freeze()
        try:
            assert full.wait(1, 1000) == 0
        finally:
            replica.thaw()

    wait, waits = least_time(one_wait, below=0)
    assert answers == [503] * 3
    assert min(logouts) < 1.5 * wait, (logouts, waits)


def test_with_session_redis_wait_logouts_on_a_full_redis_answer_503_while_other_requests_share_the_connections(
        make_app, master_and_replica, log_dir):
    """WAIT counts the replicas that have the writes of the connection it is sent on: it goes with the delete, on
    its connection.  Sent on its own, it could take another connection of the pool, one that had nothing to do since
    before the delete, and answer 1 at once: a 200 for a delete no replica had.  It does when another request's
    thread takes the delete's connection in between, which ``taken_in_turn`` makes happen each time (a pool hands
    out the connection given back last); the replica frozen anew for each logout, once it has every write before."""
    master, replica = master_and_replica
    # (logins without WAIT: the logins before the test do not depend on timing)
    logins = guarded_app(make_app, master.url, catchall=True)
    # (a timeout of 4 s, so a WAIT of 2 s: a request that waits on the stopped master while a loaded machine is slow to
    # go on still gets its answer, and each logout waits 2 s for the frozen replica)
    app = guarded_app(make_app, master.url, catchall=True, session_redis_wait=1, session_redis_timeout=4)
    sids = [cookie_value(client(logins).get('/login')) for _ in range(LOGOUTS)]
    ended = client(logins)
    ended_sid = cookie_value(ended.get('/login'))
    ended.get('/logout')  # its cookie names the "ended" marker now: a request reading it writes nothing
    full = fill_up(master)
    seen = []

    def read(took=None, *steps):  # (took: set once one of the pool's methods steps has returned)
        if took is not None:
            sys.setprofile(lambda frame, event, arg: event == 'return' and pool_call(frame, *steps) and took.set())
        seen.append(client(app).get('/me', headers=with_cookie(ended_sid), expect_errors=True).status_int)

    # The pool holds connections idle since before any logout: requests that each took one (the pool's, or a new one
    # it made) while Redis was stopped.
    took = [threading.Event() for _ in range(READERS)]
    readers = [threading.Thread(target=read, args=(event, 'make_connection', 'get_connection')) for event in took]
    master.freeze()
    try:
        for reader in readers:
            reader.start()
        assert all(event.wait(30) for event in took), 'the requests took no connections'
    finally:
        master.thaw()
    for reader in readers:
        reader.join(30)
    answers = []
    for sid in sids:
        full.pexpire('canister:session:' + ended_sid, 60000)  # (a write Redis takes when full)
        assert full.wait(1, 30000) == 1  # the replica has every write so far (the last logout's delete among them)
        replica.freeze()
        try:
            answers.append(taken_in_turn(app, master, full, sid, read).status_int)
        finally:
            replica.thaw()
    assert answers == [503] * len(sids)
    assert seen == [401] * (READERS + LOGOUTS), seen
    assert 'only 0 of 1 replica(s) confirmed it in time' in read_log(log_dir)
    assert not any(full.exists('canister:session:' + sid) for sid in sids)  # (deleted: not confirmed in time)


def test_the_readme_quotes_the_warning_of_a_logout_on_a_full_redis_as_it_is_logged():
    faults = readme_section('## Reliability')
    assert ('one WARNING says so (`Session: 1a2b3c... %s' % UNMARKED.split('; as after')[0]) in faults
    assert 'A logout still logs out: Redis refuses' in faults
    assert ('the delete waits for the replicas as the marker would, in one `WAIT` (up to half the socket timeout, as '
            "a save's: the refused marker and the delete are one script)") in faults
    assert '`tests/test_redis_full_logout.py`, on Redis 7 and 5.0.6' in faults
    memory = readme_section('## Scaling out')
    assert 'a logout still logs out: where Redis refuses its marker, the session is deleted instead' in memory


def test_the_readme_says_wait_goes_on_the_connection_of_the_write_it_confirms():
    scaling = readme_section('## Scaling out')
    assert ('`WAIT` counts the replicas that have the writes of the connection it is sent on. So it now goes with the '
            'write it confirms, in one pipeline on one connection') in scaling
    assert ("with the replica frozen while another request's thread takes the delete's connection as soon as it is "
            'back in the pool: every logout answers 503') in scaling



def test_on_a_full_redis_a_logout_whose_session_a_regenerate_moved_logs_out_the_session_where_it_went(
        make_app, any_redis, serve_with_gates, log_dir):
    """The logout's request loaded the session, then a regenerate moved it, leaving its marker under the old id: the
    logout finds the marker there, and the "ended" marker that replaces it is refused by a full Redis, so the move's
    marker is deleted instead, and the session it named is ended all the same: the answer expires the cookie, and
    the new id no longer reads as alice's."""
    app = rotation_app(make_app, any_redis.url)
    origin = serve_with_gates(app)
    alice = logged_in(origin, 'alice', cart='1')
    old = alice.sid
    release = hold_request(app, origin, old, '/hold-then?name=out&action=invalidate')
    assert alice.get('/regenerate').status == 200 and alice.sid != old
    full = fill_up(any_redis)
    try:
        logout = release()
        assert logout.status == 200 and any(expires_cookie(cookie) for cookie in logout.set_cookies), logout
        assert Browser(origin, alice.sid, follow=False).read() == [None, {}]
        assert not full.exists('canister:session:' + alice.sid)
        assert plugin_of(app).sessions_of('alice') == []
    finally:
        full.config_set('maxmemory', '0')
    assert 'Traceback' not in read_log(log_dir)


def racing_full_store(server):
    """A Redis store on ``server``, full whenever canister writes a marker to it: just before each such write a thief
    holding a copy of the session's cookie changes the session with a real request (Redis given room for it, then
    full again), so that a logout or ``end_sessions`` loses every compare-and-set try and writes its "ended" marker
    without comparing, on a full Redis.  ``store.thief``: that browser, once set; ``store.raced``: how many times."""
    full = fill_up(server)
    full.config_set('maxmemory', '0')

    class RacingFullStore(canister.RedisStore):
        thief = None
        raced = 0

        def update(self, sid, expected, record, ttl):
            if record.startswith('"ended"') and self.thief is not None:
                self.raced += 1
                full.config_set('maxmemory', '0')
                assert self.thief.get('/incr?key=n').status == 200
                full.config_set('maxmemory', '1')
            return super().update(sid, expected, record, ttl)

    return RacingFullStore(server.url), full


@pytest.mark.parametrize('end', ['logout', 'end_sessions'])
def test_on_a_full_redis_a_session_whose_thief_keeps_changing_it_is_ended_all_the_same(
        make_app, any_redis, serve, log_dir, end):
    """Every try of the logout (or ``end_sessions``) loses to the thief's changes, and its "ended" marker, written
    without comparing, is refused by a full Redis: the session is deleted instead, as for a try that won.  The
    logout answers 200 and expires the cookie (it answered 503 and left both logged in), and the thief's copy of the
    cookie no longer logs in."""
    store, full = racing_full_store(any_redis)
    app = gated_app(make_app, None, store=store)
    origin = serve(app)
    owner = Browser(origin)
    assert owner.get('/login?name=alice').status == 200 and owner.sid
    stolen = owner.sid
    store.thief = Browser(origin, stolen, follow=False)
    try:
        if end == 'logout':
            answer = owner.get('/logout')
            assert answer.status == 200 and answer.new_sid == '', answer  # the owner's cookie expired
        else:
            assert plugin_of(app).end_sessions('alice') == 1
        store.thief = None
        assert store.raced >= 10                        # the thief's change came before every try
        assert Browser(origin, stolen, follow=False).read() == [None, {}], 'the thief is still logged in'
        assert not full.exists('canister:session:' + stolen)
        assert plugin_of(app).sessions_of('alice') == []
    finally:
        full.config_set('maxmemory', '0')
    log = read_log(log_dir)
    assert 'kept changing under concurrent requests while it was ended' in log
    assert len(unmarked_lines(log_dir)) == 1
    assert 'Traceback' not in log
    assert ('A session that other requests kept changing through all ten tries, whose marker then goes without that '
            'check (*The "ended" marker* under [Sessions](#sessions)), is deleted without it too, so the logout logs '
            'out all the same, and so does `end_sessions`.') in readme_section('## Reliability')


@pytest.mark.parametrize('kind', ['memory', 'sqlite', 'redis'])
def test_an_update_that_expects_an_empty_record_replaces_no_live_session_on_any_store(kind, tmp_path, redis_server):
    """No record is empty: expecting '' matches none, on Redis as on the other stores (only the "ended" marker of a
    logout that lost every try to other requests is written whatever the record, and not by this value)."""
    store = {'memory': lambda: canister.MemoryStore(), 'sqlite': lambda: canister.SQLiteStore(str(tmp_path / 's.db')),
             'redis': lambda: canister.RedisStore(redis_server.url)}[kind]()
    store.save('abc', '{"live": "record A"}', 60)
    assert store.update('abc', '', '{"other": "B"}', 60) == (False, '{"live": "record A"}')
    assert store.load('abc') == '{"live": "record A"}'
    assert store.update('abc', '', canister._ENDING, 60)[0] is False
    assert store.load('abc') == '{"live": "record A"}'
