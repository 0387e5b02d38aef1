"""Sessions on Redis beyond one plain server: Sentinel, Cluster and TLS, on real servers.

The deployments are started by tests/redis_topologies.py on 127.0.0.1 (a master, a replica and
three sentinels; six cluster nodes; a TLS-only redis-server with certificates made by openssl).
On each: concurrent per-key changes are all kept, logout sticks, ending a user's sessions ends
them everywhere, remember-me and expiry, keys under ``session_redis_prefix``, a client the app
built itself; the one-round-trip read counted on the server that holds the session; a wrong CA
refused with a WARNING and 503s; and failover under load through gunicorn, with the master
SIGKILLed: 503s in bounded time, recovery with no restart, and the sessions lost with and without
``session_redis_wait``. Run with ``-s`` to see the measured figures.
"""
from __future__ import annotations

import contextlib
import gc
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
import warnings

import pytest

import canister
from canister import session
import helpers
from helpers import (basic, counter_app, frozen, least_time, read_log, readme_section, sleep_until, warning_lines,
                     write_users)
from redis_topologies import (ClusterSetup, FailoverLoad, SentinelSetup, TlsRedis, command_calls, key_in_slot,
                             redis_cli_binary)
from servers import AppServer, wait_until
from session_kit import (Browser, add_session_routes, anonymous, assert_a_login_held_through_end_sessions_stays_out,
                         hold_request, logged_in, plugin_of, rotation_app, run_threads, start_held)
from test_end_sessions_races import end_others_app

UNAVAILABLE = 'Service unavailable: the session store cannot be reached, retry shortly'
TOPOLOGIES = ['sentinel', 'cluster', 'tls']
#: commands the servers run for themselves (sentinels, replicas, cluster clients, these tests)
BACKGROUND = re.compile(r'^(ping|info|publish|subscribe|replconf|config\|resetstat|cluster\|.*|command.*|'
                        r'client\|setname|client\|setinfo|role|select)$')


# --------------------------------------------------------------------------
# the deployments, one of each per module (``cluster``: conftest.py)

@pytest.fixture(scope='module')
def sentinel():
    with SentinelSetup() as setup:
        yield setup


@pytest.fixture(scope='module')
def tls():
    with TlsRedis() as setup:
        yield setup


def url_of(name, setup):
    return setup.url() if name == 'tls' else setup.url


@pytest.fixture(params=TOPOLOGIES)
def deployment(request):
    """(name, setup, session_store URL) of each deployment."""
    setup = request.getfixturevalue(request.param)
    return request.param, setup, url_of(request.param, setup)


def sweep(setup, name, prefix):
    """Delete the keys under ``prefix`` on every master of ``setup``; the keys found."""
    found = []
    for client in master_clients(setup, name):
        try:
            for key in client.scan_iter(match=prefix + '*', count=1000):
                found.append(key.decode())
                client.delete(key)
        finally:
            client.close()
    return found


def master_clients(setup, name):
    if name == 'sentinel':
        return [setup.master_client()]
    if name == 'cluster':
        return [setup.master_of_slot(slot).client() for slot in (0, 8000, 16383)]
    return [setup.client()]


def topology_app(make_app, url, gate=None, **config):
    """An app whose routes use the session features; ``/hold`` loads the session and waits on ``gate``."""
    if url is not None:
        config['session_store'] = url
    app = make_app(**config)
    plugin = plugin_of(app)

    add_session_routes(app)

    @app.get('/incr')
    def incr(key):
        value = session.data.get(key, 0) + 1
        time.sleep(0.005)  # as in tests/test_session_concurrency.py
        session.data[key] = value
        return str(value)

    @app.get('/read')
    def read():
        return {'user': session.user, 'data': dict(session.data)}

    @app.get('/peek')
    def peek():
        return {'counter': session.data.get('counter')}

    @app.get('/count')
    def count():
        counter = session.data.get('counter', 0)
        session.data['counter'] = counter + 1
        return {'counter': counter}

    @app.get('/remember')
    def remember(seconds: int):
        session.remember(seconds)
        return 'ok'

    @app.get('/hold')
    def hold(key, value):
        session.data.get(key)  # the session is loaded ...
        gate['loaded'].set()
        gate['release'].wait(30)  # ... and kept while other requests run (released sooner by the test)
        session.data[key] = value
        return 'held'

    app.plugin = plugin
    return app


@pytest.fixture
def prefix(request):
    """A key prefix of this test's own, so tests sharing a deployment do not see each other."""
    return 'canister-test:%s:' % re.sub(r'[^a-z0-9]+', '-', request.node.name.lower())


# --------------------------------------------------------------------------
# (a) the session guarantees on each deployment

def test_eight_threads_each_incrementing_its_own_key_keep_all_eighty(make_app, serve, deployment, prefix, log_dir):
    name, setup, url = deployment
    # (a timeout of 10 s: eight threads at once on a loaded machine may leave Redis, or a thread that has sent its
    # command, unscheduled for a second, and this test is about the counts, not the timeout)
    origin = serve(topology_app(make_app, url, session_redis_prefix=prefix, session_redis_timeout=10))
    owner = logged_in(origin, 'alice')
    seen = {}

    def client(number):
        def run():
            browser = Browser(origin, owner.sid, follow=False)
            seen[number] = [browser.get('/incr?key=k%d' % number).text for _ in range(10)]
        return run

    assert run_threads([client(number) for number in range(8)]) == []
    assert seen == {number: [str(value) for value in range(1, 11)] for number in range(8)}, errors_in(log_dir)
    assert Browser(origin, owner.sid, follow=False).read() == ['alice', {'k%d' % number: 10 for number in range(8)}]
    assert sweep(setup, name, prefix), 'the session is stored under the prefix'


def test_a_request_that_loaded_the_session_before_logout_does_not_bring_it_back_on_each_deployment(
        make_app, serve, deployment, prefix):
    name, setup, url = deployment
    gate = {'loaded': threading.Event(), 'release': threading.Event()}
    origin = serve(topology_app(make_app, url, gate=gate, session_redis_prefix=prefix))
    alice = logged_in(origin, 'alice')
    held = start_held(Browser(origin, alice.sid, follow=False), gate['loaded'], gate['release'],
                           '/hold?key=late&value=1')
    try:
        assert Browser(origin, alice.sid, follow=False).get('/logout').status == 200
    finally:
        answer = held()
    assert answer.status == 200, answer
    assert Browser(origin, alice.sid, follow=False).read() == [None, {}], 'logout sticks'
    left = left_under(setup, name, prefix, alice.sid)  # only the "ended" marker, for a minute
    assert list(left) == [prefix + alice.sid] and left[prefix + alice.sid][0] == '"ended"', left
    assert 0 < left[prefix + alice.sid][1] <= 60, left


def errors_in(log_dir):
    return '\n'.join(line for line in read_log(log_dir).splitlines() if ' INFO ' not in line)[-3000:]


def app_sessions(origin, setup, name, prefix, sid):
    """The keys left in Redis that name session ``sid``."""
    keys = []
    for client in master_clients(setup, name):
        try:
            keys += [k.decode() for k in client.scan_iter(match=prefix + '*' + sid + '*', count=1000)]
        finally:
            client.close()
    return keys


def left_under(setup, name, prefix, sid):
    """The keys left in Redis that name session ``sid``, each with what it holds and its time to live (s)."""
    left = {}
    for client in master_clients(setup, name):
        try:
            for key in client.scan_iter(match=prefix + '*' + sid + '*', count=1000):
                left[key.decode()] = (client.get(key).decode(), client.ttl(key))
        finally:
            client.close()
    return left


def test_end_sessions_ends_every_session_of_that_user_and_no_other(make_app, serve, deployment, prefix):
    name, setup, url = deployment
    app = topology_app(make_app, url, session_redis_prefix=prefix)
    origin = serve(app)
    alices = [logged_in(origin, 'alice') for _ in range(3)]
    bob = logged_in(origin, 'bob')
    assert len(app.plugin.sessions_of('alice')) == 3
    assert app.plugin.end_sessions('alice') == 3
    assert [Browser(origin, browser.sid, follow=False).read() for browser in alices] == [[None, {}]] * 3
    assert app.plugin.sessions_of('alice') == []
    assert Browser(origin, bob.sid, follow=False).read() == ['bob', {}]
    assert len(app.plugin.sessions_of('bob')) == 1
    sweep(setup, name, prefix)


def test_session_max_per_user_keeps_the_latest_logins_of_a_user_and_no_one_else_loses_theirs(
        make_app, serve, deployment, prefix):
    name, setup, url = deployment
    app = topology_app(make_app, url, session_redis_prefix=prefix, session_max_per_user=3)
    origin = serve(app)
    bob = logged_in(origin, 'bob')
    alices = []
    for _ in range(8):
        time.sleep(0.01)  # (the least recently used is told to the millisecond)
        alices.append(logged_in(origin, 'alice'))
    assert [Browser(origin, browser.sid, follow=False).read()[0] for browser in alices] == [None] * 5 + ['alice'] * 3
    assert len(app.plugin.sessions_of('alice')) == 3
    assert Browser(origin, bob.sid, follow=False).read() == ['bob', {}]
    sweep(setup, name, prefix)


def test_remember_and_expiry_to_the_second(make_app, serve, deployment, prefix):
    """session_timeout=1: a session read 0.5 s after it was stored lives, one left unread is gone
    1.5 s after it was stored, a remembered one (remember(3)) still lives then.  A check of a session alive is made
    only if the load left its read within that session's life counted from the moment its login was sent; a try
    whose timing the load spoiled is made again, with new logins."""
    name, setup, url = deployment
    origin = serve(topology_app(make_app, url, session_redis_prefix=prefix, session_timeout=1))
    for _ in range(3):
        unread = logged_in(origin, 'b')
        unread_stored = time.monotonic()  # its expiry was set before this
        read_early_sent = time.monotonic()  # (and its expiry after this: 1 s later at the least)
        read_early = logged_in(origin, 'a')
        read_early_stored = time.monotonic()
        remembered_sent = time.monotonic()
        remembered = logged_in(origin, 'c')
        answer = remembered.get('/remember?seconds=3')
        assert answer.status == 200
        assert any(re.search(r';\s*Max-Age=3\s*(;|$)', cookie) for cookie in answer.set_cookies), answer
        remembered_in_time = time.monotonic() < remembered_sent + 0.95  # (within its login's second)
        sleep_until(read_early_stored + 0.5, time.monotonic)
        early = Browser(origin, read_early.sid, follow=False).read()
        if time.monotonic() > read_early_sent + 0.95:
            continue  # (the read may have come after the session's second: it proves nothing)
        assert early == ['a', {}], 'alive 0.5 s after it was stored'
        sleep_until(unread_stored + 1.5, time.monotonic)
        assert Browser(origin, unread.sid, follow=False).read() == [None, {}], 'gone 1.5 s after it was stored'
        late = Browser(origin, remembered.sid, follow=False).read()
        if not remembered_in_time or time.monotonic() > remembered_sent + 2.95:
            continue  # (remembered after its login's second, or read after its 3 s)
        assert late == ['c', {}], 'remembered: alive after the timeout'
        break
    else:
        pytest.fail("the machine was too loaded for this test's timing in 3 tries")
    sweep(setup, name, prefix)


def test_keys_go_under_the_prefix_and_two_prefixes_do_not_see_each_other(make_app, serve, deployment, prefix):
    name, setup, url = deployment
    first = serve(topology_app(make_app, url, session_redis_prefix=prefix + 'one:'))
    second = serve(topology_app(make_app, url, session_redis_prefix=prefix + 'two:'))
    browser = logged_in(first, 'alice')
    assert browser.get('/set?key=cart&value=3').status == 200
    assert Browser(first, browser.sid, follow=False).read() == ['alice', {'cart': '3'}]
    assert Browser(second, browser.sid, follow=False).read() == [None, {}], 'the other app does not see the session'
    keys = sweep(setup, name, prefix)
    assert keys and all(key.startswith(prefix + 'one:') for key in keys), keys
    assert any(browser.sid in key for key in keys), keys


def client_of(name, setup):
    """The redis-py client an app would build itself for this deployment."""
    import redis
    # (a 30 s timeout: the tests count on each answer, not on how soon a loaded machine gives it)
    if name == 'sentinel':
        return redis.Sentinel(setup.sentinel_hosts(), socket_timeout=30).master_for('canister', socket_timeout=30)
    if name == 'cluster':
        from redis.cluster import ClusterNode, RedisCluster
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in setup.startup_nodes()],
                            socket_timeout=30)
    return redis.Redis.from_url(setup.url(), socket_timeout=30)


def test_a_client_the_app_built_itself_stores_the_sessions(make_app, serve, deployment, prefix):
    name, setup, _ = deployment
    store = canister.RedisStore(client=client_of(name, setup), prefix=prefix)
    origin = serve(topology_app(make_app, None, store=store))
    browser = Browser(origin)
    assert [browser.get('/count').json()['counter'] for _ in range(3)] == [0, 1, 2]
    keys = sweep(setup, name, prefix)
    assert any(browser.sid in key for key in keys), keys


def test_tidy_sessions_takes_stale_ids_out_of_the_user_sets_on_every_master(make_app, serve, deployment, prefix):
    """``python -m canister tidy-sessions`` scans every master of a Cluster: each holds some of the sets."""
    name, setup, url = deployment
    origin = serve(topology_app(make_app, url, session_redis_prefix=prefix))
    alice = logged_in(origin, 'alice')
    stale = [key_in_slot(slot, prefix + 'user:u') for slot in (0, 8000, 16383)]  # (one per master of a Cluster)
    client = client_of(name, setup)
    try:
        for key in stale:
            client.sadd(key, 'gone-1', 'gone-2')
        client.sadd(prefix + 'user:alice', 'gone-3')
        client.set(prefix + 'user:settings', 'another app')  # (in a pipeline of SSCANs with the sets)
        result = helpers.run_canister('tidy-sessions', '--store', url, '--prefix', prefix, '--batch', '2')
        assert (result.returncode, result.stderr) == (0, '')
        assert result.stdout.startswith('Removed 7 entries of ended sessions from %s\nLeft alone 1 key under ' % url)
        assert client.exists(*stale) == 0
        assert client.smembers(prefix + 'user:alice') == {alice.sid.encode()}
    finally:
        client.close()
    sweep(setup, name, prefix)


def test_on_a_cluster_a_tidy_while_a_login_is_stored_leaves_the_new_sessions_id_listed(make_app, cluster, prefix):
    """The session's key and its user's set are on different masters.  The key's master takes no
    writes (``CLIENT PAUSE ... WRITE``; reads go on) while the login stores the session:
    a tidy and a listing of the user's sessions in that time must not take the id out of the set
    (it was: the set had the id, the key was not there yet), or ``end_sessions`` would miss it."""
    app = topology_app(make_app, cluster.url, session_redis_prefix=prefix)
    set_master = cluster.master_of(prefix + 'user:alice').port
    sid = next(candidate for candidate in ('cluster-login-race-%03d-%s' % (index, 'x' * 24) for index in range(100))
               if cluster.master_of(prefix + candidate).port != set_master)
    login_store = canister.RedisStore(cluster.url, prefix=prefix, timeout=30)  # (it waits out the pause)
    failures = []

    def log_in():
        try:
            login_store.create(sid, '[{},"alice",%d,0,0]' % (time.time() * 1000), 600, 'alice')
        except Exception as error:  # (told by the assert below)
            failures.append(error)

    paused, login = cluster.master_of(prefix + sid).client(), threading.Thread(target=log_in)
    try:
        # (paused until the tidy and the listing are done, however long a loaded machine takes to get there)
        paused.execute_command('CLIENT', 'PAUSE', 30000, 'WRITE')
        login.start()
        wait_until(lambda: any(client['cmd'] == 'set' and 'b' in client['flags'] for client in paused.client_list()),
                   30, what="the login's SET to wait out the pause")
        tidied, listed = app.plugin.tidy_sessions(), app.plugin.sessions_of('alice')
    finally:
        paused.execute_command('CLIENT', 'UNPAUSE')
        paused.close()
        if login.ident is not None:
            login.join(30)
        login_store.close()
    assert failures == [] and (tidied, listed) == (0, [])
    assert [entry['created'] > 0 for entry in app.plugin.sessions_of('alice')] == [True]
    assert app.plugin.end_sessions('alice') == 1
    sweep(cluster, 'cluster', prefix)


def cluster_app(make_app, url, users, prefix):
    app = rotation_app(make_app, url, session_redis_prefix=prefix, auth_basic_users_file=str(users))

    @app.get('/me')
    @canister.require_user
    def me():
        return {'user': session.user}

    @app.get('/sign-in')
    def sign_in(name, password):
        return {'in': canister.log_in(name, password)}

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    return app


def masters(cluster, *keys):
    return {cluster.master_of(key).port: cluster.master_of(key) for key in keys}


def apart_prefix(cluster, stem, user='alice'):
    """A key prefix starting ``stem`` under which ``user``'s set and note are on different masters."""
    return next(prefix for prefix in ('%s-%d:' % (stem, index) for index in range(100))
                if len(masters(cluster, prefix + 'user:' + user, prefix + 'ended:' + user)) == 2)


def commands_by_master(cluster):
    """``{port: {command: calls}}`` of the Cluster's masters, the servers' own commands left out."""
    found = {}
    for slot in (0, 8000, 16383):
        node = cluster.master_of_slot(slot)
        client = node.client()
        try:
            found[node.port] = {command: calls for command, calls in command_calls(client).items()
                                if not BACKGROUND.match(command) and command != 'hello'}
        finally:
            client.close()
    return found


def test_on_a_cluster_a_login_stores_the_session_lists_it_and_reads_the_note_each_on_its_own_master(
        make_app, cluster):
    """No script or transaction spans the session's key, the user's set and the note (which would fail
    with CROSSSLOT): the set's master gets SADD, SRANDMEMBER (the 16 to tidy) and SCARD (the cap), the
    note's master one GET, and the session's key one SET, sent alone before the set lists it."""
    prefix = apart_prefix(cluster, 'notes21-commands')
    app = rotation_app(make_app, cluster.url, session_redis_prefix=prefix)
    web = helpers.client(app)
    assert helpers.client(app).get('/login?name=bob').status_int == 200  # (the install's first round trips)
    before = commands_by_master(cluster)

    assert web.get('/login?name=alice').status_int == 200

    after = commands_by_master(cluster)
    sent = {port: {command: calls - before[port].get(command, 0) for command, calls in after[port].items()
                   if calls != before[port].get(command, 0)} for port in after}
    set_master, note_master = (cluster.master_of(prefix + kind + 'alice').port for kind in ('user:', 'ended:'))
    assert {'sadd': 1, 'srandmember': 1, 'scard': 1}.items() <= sent[set_master].items(), sent
    assert sent[note_master].get('get') == 1, sent
    assert sum(calls for commands in sent.values() for calls in commands.values()) == 5, sent
    assert sum(commands.get('set', 0) for commands in sent.values()) == 1, sent
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_on_a_cluster_a_login_under_way_when_end_sessions_ran_does_not_stay_logged_in(
        make_app, serve_with_gates, cluster):
    prefix = apart_prefix(cluster, 'notes21-under-way')
    app = end_others_app(make_app, cluster.url, session_redis_prefix=prefix)
    origin = serve_with_gates(app)
    logged_in(origin, 'alice')
    assert_a_login_held_through_end_sessions_stays_out(app, origin, '/login-held?name=a&user=alice', 1)


def test_on_a_cluster_logins_end_sessions_a_users_file_change_and_tidy_work_across_slots(
        make_app, serve, cluster, tmp_path, clock):
    prefix = apart_prefix(cluster, 'notes21-flows')
    users = write_users(tmp_path / 'users.txt', alice='alice-password', bob='bob-password')
    app = cluster_app(make_app, cluster.url, users, prefix)
    plugin = plugin_of(app)
    web = helpers.client(app)
    assert web.get('/sign-in?name=alice&password=alice-password').json == {'in': True}
    phone = Browser(serve(app))
    assert phone.get('/sign-in?name=alice&password=alice-password').status == 200
    assert len(plugin.sessions_of('alice')) == 2
    assert web.get('/end-others').text == '1'
    assert len(plugin.sessions_of('alice')) == 1
    assert plugin.end_sessions('alice') == 1
    assert web.get('/me', expect_errors=True).status_int == 401
    # a login after end_sessions returned stays
    assert web.get('/sign-in?name=alice&password=alice-password').json == {'in': True}
    bob = Browser(serve(app))
    assert bob.get('/sign-in?name=bob&password=bob-password').status == 200
    users.write_text(''.join(line for line in users.read_text().splitlines(True) if line.startswith('alice:')))
    for _ in range(2):  # the file read anew, then found at rest: bob's sessions end
        clock.advance(2)
        assert web.get('/me').json == {'user': 'alice'}
    assert bob.get('/me').status == 401
    assert plugin.sessions_of('bob') == []
    assert plugin.tidy_sessions() >= 0


def test_on_a_cluster_a_login_whose_user_set_cannot_be_written_answers_503_and_hands_out_no_id(
        make_app, cluster, prefix):
    """The master of alice's set takes no writes for 2.5 s, longer than the store's 1 s timeout: the
    login answers 503 without a cookie (its key, if written, is never listed and nobody holds its id),
    and the next login, once the master is back, is listed as usual."""
    app = topology_app(make_app, cluster.url, session_redis_prefix=prefix)
    web = helpers.client(app)
    paused = cluster.master_of(prefix + 'user:alice').client()
    try:
        paused.execute_command('CLIENT', 'PAUSE', 2500, 'WRITE')
        refused = web.get('/login?name=alice', expect_errors=True)
        assert refused.status_int == 503
        assert 'Set-Cookie' not in refused.headers
        paused.execute_command('CLIENT', 'UNPAUSE')
    finally:
        paused.close()
    assert app.plugin.sessions_of('alice') == []
    assert web.get('/login?name=alice').status_int == 200
    assert len(app.plugin.sessions_of('alice')) == 1
    sweep(cluster, 'cluster', prefix)


def test_on_a_cluster_a_login_whose_user_set_cannot_be_written_leaves_no_key_of_its_session(
        make_app, cluster, prefix):
    """The master of alice's set is full (``maxmemory``, refusing writes): each login answers 503, and the
    session key it wrote on another master, which no set lists and no cookie names, is deleted, not left
    until it expires.  Six logins: a key on the set's own master is refused too, and one of them at least
    lands elsewhere."""
    app = topology_app(make_app, cluster.url, session_redis_prefix=prefix)
    full = cluster.master_of(prefix + 'user:alice').client()
    try:
        full.config_set('maxmemory', 1)
        for _ in range(6):
            assert helpers.client(app).get('/login?name=alice', expect_errors=True).status_int == 503
    finally:
        full.config_set('maxmemory', 0)
        full.close()
    assert app.plugin.sessions_of('alice') == []
    assert sweep(cluster, 'cluster', prefix) == []


def probe_prefix(cluster, same_node):
    """A key prefix under which the install's probe key and its user's set are on one master, or on two."""
    for index in range(100):
        prefix = 'canister-acl-%d:' % index
        masters = {cluster.master_of(prefix + key).port for key in ('ready-probe', 'user:\x1fready-probe')}
        if (len(masters) == 1) == same_node:
            return prefix
    raise AssertionError('no such prefix')


@contextlib.contextmanager
def cluster_user_app(cluster, prefix):
    """``(url, grant)``: the cluster's URL as the ACL user ``app``, and ``grant(*denied)``, which gives that user every
    command but ``denied`` on every node; the user deleted and ``prefix``'s keys swept at the end."""
    admins = [node.client() for node in cluster.nodes]

    def grant(*denied):
        for admin in admins:
            admin.acl_setuser('app', enabled=True, passwords=['+pw'], commands=['+@all'] + ['-' + c for c in denied],
                              keys=['*'])

    try:
        yield cluster.url.replace('redis+cluster://', 'redis+cluster://app:pw@'), grant
    finally:
        for admin in admins:
            admin.acl_deluser('app')
            admin.close()
        sweep(cluster, 'cluster', prefix)


@pytest.mark.parametrize('same_node', [True, False], ids=['set-beside-the-key', 'set-on-another-master'])
def test_on_a_cluster_a_user_whose_acl_denies_what_a_users_set_needs_is_a_config_error_at_install(
        make_app, cluster, same_node):
    """The install's probe does on a user's set of its own what logins and end_sessions do, on its master: a
    user that may not run SMEMBERS (end_sessions would answer 503) is refused at install, as one denied SET is."""
    prefix = probe_prefix(cluster, same_node)
    with cluster_user_app(cluster, prefix) as (url, grant):
        grant('smembers')
        with pytest.raises(canister.ConfigError, match="no permissions to run the 'smembers' command .*"
                                                       "ACL SETUSER app \\+smembers"):
            topology_app(make_app, url, session_redis_prefix=prefix)
        grant()
        app = topology_app(make_app, url, session_redis_prefix=prefix)
        assert sweep(cluster, 'cluster', prefix) == []  # (the probe's key and set are gone)
        assert helpers.client(app).get('/login?name=alice').status_int == 200
        assert app.plugin.end_sessions('alice') == 1


@pytest.mark.parametrize('same_node', [True, False], ids=['set-beside-the-key', 'set-on-another-master'])
def test_on_a_cluster_a_user_whose_acl_denies_what_tidying_runs_installs_with_a_warning_naming_the_grant(
        make_app, cluster, log_dir, same_node):
    """The install's probe runs tidy's SCAN, SSCAN and EXISTS on its set's master: a user denied SSCAN installs
    (no request runs it) with a WARNING naming the grant, and tidy_sessions then fails as it says."""
    prefix = probe_prefix(cluster, same_node)
    with cluster_user_app(cluster, prefix) as (url, grant):
        grant('sscan')
        with pytest.warns(canister.CanisterWarning, match="tidying the users' sets runs: this user has no "
                                                          "permissions to run the 'sscan' command;"):
            app = topology_app(make_app, url, session_redis_prefix=prefix)
        assert [line for line in warning_lines(log_dir) if 'tidying' in line][0].endswith(
            '(if it tidies: ACL SETUSER app +sscan)')
        assert helpers.client(app).get('/login?name=alice').status_int == 200
        with pytest.raises(canister.StoreUnavailable, match="'sscan'"):
            app.plugin.tidy_sessions()
        assert app.plugin.end_sessions('alice') == 1


def connections_to(setup):
    """The sockets of this process connected to a node of ``setup`` (servers and sentinels), by inode."""
    ports = {node.port for node in setup.nodes}
    ours = set()
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue
        if target.startswith('socket:['):
            ours.add(target[len('socket:['):-1])
    found = set()
    for table in ('/proc/self/net/tcp', '/proc/self/net/tcp6'):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in ours and int(fields[2].rpartition(':')[2], 16) in ports:
                    found.add(fields[9])
    return found


def test_uninstall_closes_every_connection_the_store_opened(make_app, deployment, prefix):
    name, setup, url = deployment
    gc.collect()  # (what earlier tests left is not counted)
    before = connections_to(setup)
    app = topology_app(make_app, url, session_redis_prefix=prefix)
    web = helpers.client(app)
    assert [web.get('/count').json['counter'] for _ in range(3)] == [0, 1, 2]
    assert connections_to(setup) - before  # the store talked to the deployment
    app.uninstall(app.plugin)
    # The plugin object is still referenced (app.plugin): nothing is left to the garbage collector.
    assert connections_to(setup) - before == set()


def keepalive_settings(setup, before):
    """What the kernel holds of each socket of this process connected to a node of ``setup`` (and not in ``before``):
    (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)."""
    inodes, settings = connections_to(setup) - before, []
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue
        if target.startswith('socket:[') and target[len('socket:['):-1] in inodes:
            with socket.socket(fileno=os.dup(int(fd))) as sock:
                settings.append((sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),) + tuple(
                    sock.getsockopt(socket.IPPROTO_TCP, option)
                    for option in (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT)))
    return settings


@pytest.mark.parametrize('keepalive', [7, 0])
def test_every_connection_to_a_deployment_is_probed_by_tcp_keepalive_after_session_redis_keepalive_seconds(
        make_app, deployment, prefix, keepalive):
    """(The servers and the sentinels: a NAT or firewall that forgets idle connections keeps each of them.)"""
    name, setup, url = deployment
    gc.collect()
    before = connections_to(setup)
    app = topology_app(make_app, url, session_redis_prefix=prefix, session_redis_keepalive=keepalive)
    web = helpers.client(app)
    assert [web.get('/count').json['counter'] for _ in range(3)] == [0, 1, 2]
    settings = keepalive_settings(setup, before)
    app.uninstall(app.plugin)
    assert settings, name
    if keepalive:
        # on, the first probe after 7 idle seconds, then up to 3 unanswered ones 5 s apart before the kernel gives up
        assert set(settings) == {(1, 7, 5, 3)}, (name, settings)
    else:  # off, redis-py 8's own keepalive too
        assert {setting[0] for setting in settings} == {0}, (name, settings)


def test_on_a_cluster_a_readiness_probe_is_one_ping_to_one_node_and_nothing_else(make_app, cluster, prefix):
    """README, Readiness checks: after the install's check, store_problem() sends PING to the one node redis-py
    sends such commands to (not to every master), and no SCRIPT LOAD or INFO."""
    plugin = plugin_of(counter_app(make_app, session_store=cluster.url, session_redis_prefix=prefix))
    clients = [node.client() for node in cluster.nodes]
    try:
        for client in clients:
            client.config_resetstat()
        assert [plugin.store_problem() for _ in range(3)] == [None] * 3
        calls = [command_calls(client) for client in clients]
    finally:
        for client in clients:
            client.close()
    sent = {name: sum(each.get(name, 0) for each in calls) for name in ('ping', 'script|load', 'info')}
    assert sent == {'ping': 3, 'script|load': 0, 'info': 0}
    assert sorted(each.get('ping', 0) for each in calls)[-1] == 3              # all three to one node


def test_session_redis_wait_above_the_replicas_of_a_plain_server_is_a_warning_at_install(
        make_app, redis_server, log_dir):
    with pytest.warns(canister.CanisterWarning, match='session_redis_wait = 1, but the master has 0 replica'):
        app = counter_app(make_app, session_store=redis_server.url, session_redis_wait=1)
    assert [line for line in warning_lines(log_dir) if 'every save answers 503' in line]
    helpers.client(app).get('/', status=503)  # as the warning says


def test_a_redis_store_the_app_made_with_wait_names_its_wait_argument_in_the_replica_warning(
        make_app, redis_server, log_dir):
    import redis
    client = redis.Redis(port=redis_server.port)
    try:
        with pytest.warns(canister.CanisterWarning, match=r'RedisStore\(wait=1\), but the master has 0 replica'):
            make_app(store=canister.RedisStore(client=client, wait=1))
    finally:
        client.close()
    lines = [line for line in warning_lines(log_dir) if 'every save answers 503' in line]
    assert len(lines) == 1 and 'session_redis_wait' not in lines[0], lines
    assert "set RedisStore's wait to at most the replicas each master keeps" in lines[0]


def replica_warnings(log_dir):
    return [line for line in warning_lines(log_dir)
            if 'session_redis_wait = 1, but the master has 0 replica(s) connected: every save answers 503' in line]


def test_session_redis_wait_above_the_replicas_is_a_warning_once_at_the_first_probe_redis_answers_after_install(
        make_app, redis_server, log_dir):
    redis_server.stop()
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app = counter_app(make_app, session_store=redis_server.url, session_redis_wait=1)
    assert replica_warnings(log_dir) == []
    redis_server.start()
    problems = [plugin_of(app).store_problem() for _ in range(2)]   # (not ready: every save would answer 503)
    assert all(problem.startswith('canister.session_redis_wait = 1, but the master has 0 replica(s) connected: '
                                  'every save answers 503') for problem in problems), problems
    assert len(replica_warnings(log_dir)) == 1
    helpers.client(app).get('/', status=503)
    assert len(replica_warnings(log_dir)) == 1


def test_session_redis_wait_above_the_replicas_is_a_warning_once_at_the_first_503_after_an_install_without_redis(
        make_app, redis_server, log_dir):
    redis_server.stop()
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app = counter_app(make_app, session_store=redis_server.url, session_redis_wait=1)
    redis_server.start()
    web = helpers.client(app)
    for _ in range(2):
        assert web.get('/', status=503).headers['Retry-After']
    assert len(replica_warnings(log_dir)) == 1
    assert 'but the master has 0 replica(s) connected' in plugin_of(app).store_problem()
    assert len(replica_warnings(log_dir)) == 1


def test_a_new_session_that_too_few_replicas_confirmed_answers_503_and_leaves_nothing_on_the_master(
        make_app, redis_server, log_dir):
    """The master took the new session's SET, then WAIT found no replica to confirm it: the 503 sends no cookie,
    and the session it names nowhere is removed from the master, not left there until it expires."""
    import redis
    with pytest.warns(canister.CanisterWarning, match='every save answers 503'):
        app = counter_app(make_app, session_store=redis_server.url, session_redis_wait=1)
    master = redis.Redis(port=redis_server.port)

    answer = helpers.client(app).get('/', status=503)

    assert 'Set-Cookie' not in answer.headers, answer
    assert 'the Redis session store saved the session but only 0 of 1 replica(s) confirmed it' in read_log(log_dir)
    assert master.keys('canister:session:*') == []


def redis_cutting_replication_info_once(port):
    """A redis client whose connection is cut once, as its first INFO replication goes out (at install);
    its ``cut`` is false once that happened."""
    import redis

    class InfoCutOnce(redis.Redis):
        cut = True

        def info(self, *args, **kwargs):
            if args[:1] == ('replication',) and InfoCutOnce.cut:
                InfoCutOnce.cut = False
                raise redis.ConnectionError('Connection reset by peer')
            return super().info(*args, **kwargs)

    return InfoCutOnce(port=port)


@pytest.mark.parametrize('then', ['probe', 'request'])
def test_session_redis_wait_above_the_replicas_is_a_warning_once_redis_answers_info_it_failed_at_install(
        make_app, redis_server, log_dir, then):
    client = redis_cutting_replication_info_once(redis_server.port)
    try:
        app = counter_app(make_app, store=canister.RedisStore(client=client, wait=1))
        assert not client.cut and warning_lines(log_dir) == []
        if then == 'probe':   # (not ready: every save would answer 503)
            assert 'RedisStore(wait=1), but the master has 0 replica(s)' in plugin_of(app).store_problem()
        else:
            helpers.client(app).get('/', status=503)
        lines = [line for line in warning_lines(log_dir) if 'every save answers 503' in line]
        assert len(lines) == 1 and 'RedisStore(wait=1), but the master has 0 replica(s)' in lines[0], lines
    finally:
        client.close()


def test_the_replica_warning_is_logged_once_when_threads_probe_at_once_each_pausing_at_every_line(
        make_app, redis_server, log_dir):
    def pause_in_the_teller(frame, event, arg):  # each thread yields at each line of the function that logs it
        if frame.f_code.co_name != '_tell_wait_note':
            return None

        def at_each_line(frame, event, arg):
            if event == 'line':
                time.sleep(0.02)
            return at_each_line
        return at_each_line

    client = redis_cutting_replication_info_once(redis_server.port)
    try:
        app = counter_app(make_app, store=canister.RedisStore(client=client, wait=1))
        threading.settrace(pause_in_the_teller)
        try:
            problems = helpers.at_once([plugin_of(app).store_problem] * 4)
        finally:
            threading.settrace(None)
        # (each probe says the store is not ready: every save would answer 503)
        assert all('RedisStore(wait=1), but the master has 0 replica(s)' in problem for problem in problems), problems
        lines = [line for line in warning_lines(log_dir) if 'every save answers 503' in line]
        assert len(lines) == 1, lines
    finally:
        client.close()


def test_session_redis_wait_is_not_checked_where_an_acl_refuses_info(make_app, redis_server, log_dir):
    import redis
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command('ACL', 'SETUSER', 'app', 'on', '>app-pw', '~*', '+@all', '-info')
    admin.close()
    url = 'redis://app:app-pw@127.0.0.1:%d/0' % redis_server.port
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        make_app(session_store=url, session_redis_wait=1)  # installs, says nothing
    assert warning_lines(log_dir) == []


@pytest.mark.parametrize('name', ['sentinel', 'cluster'])
def test_session_redis_wait_is_a_warning_at_install_only_above_the_replicas_each_master_has(
        make_app, request, name, log_dir):
    setup = request.getfixturevalue(name)  # one replica per master
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        make_app(session_store=setup.url, session_redis_wait=1)
    with pytest.warns(canister.CanisterWarning, match='session_redis_wait = 2, but .* has 1 replica'):
        make_app(session_store=setup.url, session_redis_wait=2)
    assert len([line for line in warning_lines(log_dir) if 'session_redis_wait' in line]) == 1


# --------------------------------------------------------------------------
# (b) one round trip to read, counted on the master that holds the session

@pytest.mark.parametrize('name', ['sentinel', 'cluster'])
def test_a_read_is_one_evalsha_and_a_change_adds_one_more_on_the_master_holding_the_session(
        make_app, serve, request, name, prefix):
    setup = request.getfixturevalue(name)
    origin = serve(topology_app(make_app, setup.url, session_redis_prefix=prefix))
    browser = Browser(origin)
    for _ in range(2):  # a session, and connections and the script in place
        assert browser.get('/count').status == 200
    [key] = app_sessions(origin, setup, name, prefix, browser.sid)
    master = setup.master_client() if name == 'sentinel' else setup.master_of(key).client()

    def commands_for(path):
        master.pexpire(key, 30000)  # (less left than the timeout: the read extends it)
        master.config_resetstat()
        assert browser.get(path).status == 200
        return {command: calls for command, calls in command_calls(master).items()
                if not BACKGROUND.match(command)}

    try:
        # the read script, with its get, pttl and pexpire inside
        assert commands_for('/peek') == {'evalsha': 1, 'get': 1, 'pttl': 1, 'pexpire': 1}
        # then the update script, with its get and set: a change is two round trips
        assert commands_for('/count') == {'evalsha': 2, 'get': 2, 'pttl': 1, 'pexpire': 1, 'set': 1}
    finally:
        master.close()
    sweep(setup, name, prefix)


def test_with_session_redis_wait_a_change_sends_the_script_and_wait_together(make_app, serve, sentinel, prefix):
    """No SCRIPT EXISTS before each save (what a script object in a pipeline would send): the
    update and WAIT go in one pipeline."""
    origin = serve(topology_app(make_app, sentinel.url, session_redis_prefix=prefix, session_redis_wait=1,
                                session_redis_timeout=10))  # (a WAIT of 5 s: confirmed under load too)
    browser = Browser(origin)
    for _ in range(2):
        assert browser.get('/count').status == 200
    [key] = app_sessions(origin, sentinel, 'sentinel', prefix, browser.sid)
    master = sentinel.master_client()
    try:
        master.pexpire(key, 30000)  # (less left than the timeout: the read extends it)
        master.config_resetstat()
        assert browser.get('/count').status == 200
        calls = {command: count for command, count in command_calls(master).items() if not BACKGROUND.match(command)}
        assert calls == {'evalsha': 2, 'get': 2, 'pttl': 1, 'pexpire': 1, 'set': 1, 'wait': 1}
        master.script_flush()  # as after a restart or a failover: the server no longer knows the scripts
        assert browser.get('/count').status == 200
        assert browser.get('/peek').status == 200
    finally:
        master.close()
    sweep(sentinel, 'sentinel', prefix)


#: The README's table of what each deployment costs (Scaling out): its row for ``(name, wait)``.
TABLE_ROWS = {('sentinel', 0): 'Sentinel', ('sentinel', 1): 'Sentinel + `session_redis_wait = 1`',
              ('cluster', 0): 'Cluster', ('cluster', 1): 'Cluster + `session_redis_wait = 1`'}


def readme_cost_table(row):
    """``{column: figure}`` of ``row`` in the README's table of what each Redis deployment costs per request."""
    rows = [[cell.strip() for cell in line.strip().strip('|').split('|')]
            for line in readme_section('## Scaling out').splitlines() if line.startswith('| ')]
    header = next(cells for cells in rows if 'round trips, change' in cells)
    [found] = [cells for cells in rows[rows.index(header):] if cells[0] == row]
    return dict(zip(header, found))


@pytest.mark.parametrize('name,wait', list(TABLE_ROWS))
def test_the_round_trips_of_a_change_counted_on_the_sessions_master_are_those_of_the_readme_table(
        make_app, serve, request, name, wait, prefix):
    """Read events on the master that holds the session, as benchmarks/stores_topologies.py counts them: those of
    the app's commands, and with ``session_redis_wait`` the replica's acknowledgement that each WAIT asks for.  A
    change is the read script, then the update script (with its WAIT, in the same pipeline on the same connection):
    two round trips, three with the acknowledgement, on Sentinel as on Cluster."""
    setup = request.getfixturevalue(name)
    origin = serve(topology_app(make_app, setup.url, session_redis_prefix=prefix, session_redis_wait=wait,
                                session_redis_timeout=10))  # (a WAIT of 5 s: confirmed under load too)
    browser = Browser(origin)
    for _ in range(2):  # a session, and connections and the scripts in place
        assert browser.get('/count').status == 200
    [key] = app_sessions(origin, setup, name, prefix, browser.sid)
    master = setup.master_client() if name == 'sentinel' else setup.master_of(key).client()
    changes = 10
    try:
        master.config_resetstat()  # (its own read event counted before the reset)
        for _ in range(changes):
            assert browser.get('/count').status == 200
        info = master.info('stats', 'commandstats')  # one read event of its own
    finally:
        master.close()
    calls = {stat[len('cmdstat_'):]: int(value['calls']) for stat, value in info.items() if stat.startswith('cmdstat_')}
    # the servers' own commands (the sentinels' PING and PUBLISH, the replica's REPLCONF ACK): a read event each
    background = sum(count for command, count in calls.items()
                     if BACKGROUND.match(command) and command not in ('info', 'config|resetstat'))
    apps = int(info['total_reads_processed']) - 1 - background
    assert calls.get('wait', 0) == changes * wait
    round_trips = round(apps / changes) + wait  # (+ the acknowledgement each WAIT asks of the replica)
    assert round_trips == 2 + wait, (apps, calls)
    assert readme_cost_table(TABLE_ROWS[name, wait])['round trips, change'] == '%.2f' % round_trips
    sweep(setup, name, prefix)


@pytest.mark.parametrize('name', ['plain'] + TOPOLOGIES)
def test_after_script_flush_a_read_a_save_and_the_login_throttle_load_their_scripts_again_with_no_error(
        make_app, serve, request, name, prefix, log_dir):
    """Redis forgets the scripts at a restart, a failover to a replica that never loaded them, or a SCRIPT
    FLUSH: each is loaded again where it is missing (on a Cluster, the node of the key's slot), and the
    request goes on."""
    import redis
    if name == 'plain':
        setup = request.getfixturevalue('redis_server')
        url, holders = setup.url, [redis.Redis(port=setup.port)]
    else:
        setup = request.getfixturevalue(name)
        url, holders = url_of(name, setup), master_clients(setup, name)
    origin = serve(topology_app(make_app, url, session_redis_prefix=prefix, auth_basic_username='alice',
                                auth_basic_password='wonderland', auth_max_failures=2))
    browser = Browser(origin)
    assert browser.get('/count').json() == {'counter': 0}
    if name == 'cluster':
        [key] = app_sessions(origin, setup, name, prefix, browser.sid)
        holders.append(setup.master_of(key).client())  # (the master of the session's slot, counted below)
    try:
        for holder in holders:
            holder.script_flush()
        holders[-1].config_resetstat()
        read = browser.get('/peek')  # the read script alone
        assert (read.status, read.text) == (200, '{"counter": 1}'), read
        changes = [browser.get('/count') for _ in range(2)]  # the update script too
        assert [(answer.status, answer.text) for answer in changes] == [(200, '{"counter": 1}'),
                                                                          (200, '{"counter": 2}')], changes
        wrong = Browser(origin, follow=False)
        assert [wrong.get('/read', {'Authorization': basic('alice', 'guess')}).status
                for _ in range(3)] == [401, 401, 429]
        assert command_calls(holders[-1]).get('script|load', 0) >= 2, 'the scripts were not missing there'
    finally:
        for holder in holders:
            holder.close()
    assert ' ERROR ' not in read_log(log_dir), errors_in(log_dir)
    if name != 'plain':
        sweep(setup, name, prefix)


# --------------------------------------------------------------------------
# (c) TLS with a CA that did not sign the server's certificate

def test_a_wrong_ca_is_a_config_error_at_install_and_nothing_is_sent_in_plaintext(make_app, tls, log_dir):
    checker = tls.client()
    try:
        checker.config_resetstat()
        with pytest.raises(canister.ConfigError, match='CERTIFICATE_VERIFY_FAILED.*add ssl_ca_certs=path to the URL'):
            topology_app(make_app, tls.url(ca=tls.wrong_ca))
        # the server ran no command but this checker's INFO, and never saw anything but TLS
        assert {k: v for k, v in command_calls(checker).items() if k != 'config|resetstat'} == {}
    finally:
        checker.close()
    server_log = tls.log()
    assert 'wrong version number' not in server_log and 'http request' not in server_log.lower(), server_log[-2000:]
    assert 'Accepted 127.0.0.1' in server_log, 'the app did try to connect'


def test_the_right_ca_reaches_the_tls_server(make_app, serve, tls, log_dir):
    origin = serve(topology_app(make_app, tls.url(), session_redis_prefix='canister-test:tls-ok:'))
    assert 'unreachable' not in read_log(log_dir)
    browser = Browser(origin)
    assert [browser.get('/count').json()['counter'] for _ in range(2)] == [0, 1]
    assert sweep(tls, 'tls', 'canister-test:tls-ok:')


def test_a_client_certificate_from_ssl_certfile_and_ssl_keyfile_is_presented(make_app, serve, log_dir):
    with TlsRedis(auth_clients=True) as server:
        with_cert = serve(topology_app(make_app, server.url(client_cert=True)))
        assert 'unreachable' not in read_log(log_dir)
        browser = Browser(with_cert)
        assert [browser.get('/count').json()['counter'] for _ in range(2)] == [0, 1]
        without = serve(topology_app(make_app, server.url()))
        assert re.search(r'WARNING.*session store is unreachable', read_log(log_dir))
        answer = Browser(without).get('/count')
        assert answer.status == 503 and UNAVAILABLE in answer.text, answer


def test_ssl_cert_reqs_none_turns_the_server_check_off(make_app, serve, tls, log_dir):
    origin = serve(topology_app(make_app, tls.url(ca=tls.wrong_ca) + '&ssl_cert_reqs=none',
                                session_redis_prefix='canister-test:no-check:'))
    browser = Browser(origin)
    assert [browser.get('/count').json()['counter'] for _ in range(2)] == [0, 1]
    assert sweep(tls, 'tls', 'canister-test:no-check:')


# --------------------------------------------------------------------------
# (e) failover under load: SIGKILL the master behind gunicorn

@contextlib.contextmanager
def running_apps(url, tmp_path):
    """The topology app on gunicorn (3 workers) twice on ``url``, started: without and with session_redis_wait=1
    (by name, 'wait=0' and 'wait=1'); both cleaned up at the end."""
    apps = {}
    for wait in (0, 1):
        logs = tmp_path / ('logs-wait%d' % wait)
        logs.mkdir()
        apps['wait=%d' % wait] = AppServer('redis_topology_app:app', server='gunicorn', workers=3,
                                           start_timeout=30, env={
                                               'CANISTER_SESSION_STORE': url,
                                               'CANISTER_REDIS_WAIT': str(wait),
                                               'CANISTER_REDIS_PREFIX': 'canister-failover-%d:' % wait,
                                               'CANISTER_LOG_PATH': str(logs),
                                               'CANISTER_LOG_LEVEL': 'WARNING'})
    try:
        for app in apps.values():
            app.start()
        yield apps
    finally:
        for app in apps.values():
            app.cleanup()


def check_failover(apps, reports, failover_seconds, title):
    print('\n%s (failover reported by the servers %.2f s after the kill)' % (title, failover_seconds))
    for report in reports.values():
        for line in report.lines():
            print('  ' + line)
    for name, report in reports.items():
        assert set(report.statuses) <= {200, 503}, '%s: %s (never a 500)\n%s' % (
            name, report.statuses, apps[name].output()[-3000:])
        assert report.failures > 0, '%s: the kill was noticed' % name
        # each within about a second, the socket timeout (the README's claim), beyond what the machine's load made an
        # answer Redis served take in the same run: a loaded machine slows them all
        assert report.slowest < 3 + report.baseline, '%s: an answer took %.2f s, one Redis served %.2f s' % (
            name, report.slowest, report.baseline)
        assert report.all_back and report.back_after < 30, '%s: not every client came back\n%s' % (
            name, '\n'.join(report.lines()))
        assert report.acknowledged == report.clients > 0
    waited = reports['wait=1']
    assert waited.fresh_acknowledged > 10
    assert waited.lost == 0, 'session_redis_wait=1 loses nothing acknowledged'
    assert waited.same_cookie == waited.clients, 'every client is back with its own cookie'


# The master is cut off from its replicas CUT seconds before it is killed (a network blip just
# before a crash): what it acknowledges meanwhile is lost unless the save waited for a replica.
CUT = 0.3

# Two replicas: after the failover the new master still has one, so session_redis_wait=1 can be met.
# (With a single replica, nothing is left to wait for once it is promoted: every save with
# session_redis_wait=1 answers 503 until a replica joins again.)

def test_sentinel_failover_under_load(tmp_path):
    with SentinelSetup(replicas=2) as setup, running_apps(setup.url, tmp_path) as apps:
        load = FailoverLoad({name: app.url for name, app in apps.items()}, clients=4)

        def kill():
            setup.kill_master(cut_replicas=CUT)
            return setup.kill_moment

        reports = load.run(kill, setup.wait_for_failover)
        check_failover(apps, reports, load.failover_seconds,
                       'Sentinel (master, 2 replicas, 3 sentinels) failover, 4 clients per app on gunicorn x3')
        # what the master acknowledged while cut off is lost without the wait: the check has teeth
        assert reports['wait=0'].lost > 0


def test_cluster_failover_under_load(tmp_path):
    with ClusterSetup(replicas=2) as setup, running_apps(setup.url, tmp_path) as apps:
        load = FailoverLoad({name: app.url for name, app in apps.items()}, clients=4)

        def kill():  # the master of the first client's session
            client = load.groups['wait=0'][0].client
            [key] = app_sessions(None, setup, 'cluster', 'canister-failover-0:', client.cookies['session_id'])
            setup.kill_master_of(key, cut_replicas=CUT)
            return setup.kill_moment

        reports = load.run(kill, setup.wait_for_failover)
        check_failover(apps, reports, load.failover_seconds,
                       'Cluster (3 masters x 2 replicas) failover, 4 clients per app on gunicorn x3')


def test_with_wait_1_and_a_single_replica_saves_answer_503_after_failover_until_a_replica_joins(
        make_app, serve, log_dir):
    """Nothing is left to WAIT for once the only replica is the master: changes answer 503 (reads
    still work), and go through again, with no restart of the app, once the old master is back
    (the sentinels make it a replica)."""
    with SentinelSetup(replicas=1) as setup:
        origin = serve(topology_app(make_app, setup.url, session_redis_wait=1))
        # (the changes before the kill through an app whose WAIT is 5 s, as the replica then confirms them on a loaded
        # machine too; the app under test, with the timeout the README speaks of, reads the session before the kill)
        before = Browser(serve(topology_app(make_app, setup.url, session_redis_wait=1, session_redis_timeout=10)))
        assert [before.get('/count').json()['counter'] for _ in range(2)] == [0, 1]
        browser = Browser(origin, before.sid)
        assert browser.get('/peek').json() == {'counter': 2}
        killed = setup.node_at(setup.kill_master())
        setup.wait_for_failover(30)
        deadline = time.monotonic() + 30
        while True:  # the app may first meet the dead master's closed connections
            answer = browser.get('/peek')
            if answer.status == 200 or time.monotonic() > deadline:
                break
        assert answer.status == 200 and answer.json() == {'counter': 2}, answer
        answers = []
        # (the least of 3: another job's load only adds to a request's time; every one answers 503)
        took, tries = least_time(lambda: answers.append(browser.get('/count')), below=0, tries=3)
        assert all(answer.status == 503 and UNAVAILABLE in answer.text for answer in answers), answers
        assert took < 3, tries
        assert 'replica' in errors_in(log_dir)
        sid = browser.sid
        killed.start()  # empty, as a master: the sentinels turn it into a replica of the new one
        rejoined = time.monotonic()
        deadline = rejoined + 30
        while browser.get('/count').status != 200:
            assert time.monotonic() < deadline, 'saves never went through again'
            time.sleep(0.1)
        print('\nsession_redis_wait=1 with one replica: saves answer 503 after the failover; '
              'back %.1f s after the old master restarted' % (time.monotonic() - rejoined))
        assert browser.sid == sid
        assert browser.get('/peek').json()['counter'] >= 3


def test_a_cluster_with_every_node_down_answers_503_and_an_app_installed_then_recovers(make_app, serve, log_dir):
    """redis-py raises its Cluster errors outside RedisError: they are the store's being down too."""
    import warnings
    with ClusterSetup(replicas=0) as setup:
        app = topology_app(make_app, setup.url)
        app.route('/plain', callback=lambda: 'plain')
        browser = Browser(serve(app))
        assert browser.get('/count').json() == {'counter': 0}
        for node in setup.nodes:
            node.kill()
        for path in ('/peek', '/count'):
            answer = browser.get(path)
            assert answer.status == 503 and 'session store cannot be reached' in answer.text, answer
        assert browser.get('/plain').status == 200  # (a route that leaves the session alone)
        assert any(' ERROR ' in line and 'the Redis session store is unavailable: ' in line
                   for line in read_log(log_dir).splitlines())  # (a node's connection error, or the Cluster's)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            late = topology_app(make_app, setup.url)  # installed while the whole cluster is down
        assert any('session store is unreachable for now' in str(w.message) for w in caught), caught
        late_browser = Browser(serve(late))
        assert late_browser.get('/count').status == 503
        for node in setup.nodes:
            node.start()
        deadline = time.monotonic() + 30
        while late_browser.get('/count').status != 200:
            assert time.monotonic() < deadline, 'the app installed while the cluster was down never recovered'
            time.sleep(0.2)
        assert late_browser.get('/peek').json() == {'counter': 1}


def test_on_a_cluster_none_of_whose_nodes_answers_each_failed_login_warns_that_its_new_id_may_stay_in_the_store(
        make_app, serve, log_dir):
    """redis-py 8 says "Redis Cluster cannot be connected" also of a SET it sent and got no answer to (its topology
    refresh since reached no node): the node may store it once it answers, so no login takes its id for unwritten."""
    with ClusterSetup(replicas=0) as setup:
        origin = serve(topology_app(make_app, setup.url, session_redis_timeout=0.3))
        assert Browser(origin).get('/count').status == 200  # (the client is made, the nodes known)
        with frozen(setup.nodes):
            statuses = [Browser(origin).get('/login?name=alice').status for _ in range(4)]
        log = read_log(log_dir)
    assert statuses == [503] * 4
    assert 'Redis Cluster cannot be connected' in log  # (what redis-py says once a refresh reached no node)
    assert log.count('may stay in the store until it expires: the store did not answer in time') == 4, log[-3000:]


def test_on_a_cluster_a_new_session_whose_node_died_under_its_write_warns_that_its_id_may_stay_in_the_store(
        make_app, serve, log_dir):
    """redis-py sends again, one at a time, the commands of a Cluster pipeline whose connection failed once they were
    sent, whatever retries the client has: the SET of a new session whose node dies while it waits fails at last
    with "Error 111 connecting to ...", said of a SET that node may have stored (the one sent first)."""
    with ClusterSetup(replicas=0) as setup:
        # (a timeout of 20 s: the request found still waiting after 5 s is the one held by the frozen node, however
        # slow a loaded machine makes the others, and the kill comes well before its timeout)
        origin = serve(topology_app(make_app, setup.url, session_redis_timeout=20))
        assert Browser(origin).get('/count').status == 200  # (the client is made, the nodes known)
        node, answers = setup.nodes[0], []
        for _ in range(40):  # until a new session's id falls in one of the frozen node's slots (one in three)
            node.freeze()
            request = threading.Thread(target=lambda: answers.append(Browser(origin).get('/count')))
            request.start()
            request.join(5)
            if request.is_alive():  # (its SET was sent to the frozen node, which does not answer)
                break
            node.thaw()
        else:
            raise AssertionError('no new session fell in the frozen node\'s slots')
        node.kill()
        request.join(30)
        log = read_log(log_dir)
    assert answers[-1].status == 503
    # (the SET redis-py sent again, refused: or, where the node's death reached the first connection as a reset
    # before redis-py sent it again, that reset, met reading the answer or writing the command sent again; either
    # way the SET may have been stored)
    assert re.search(r'SET failed: Error (111 connecting to|while reading|104 while writing)', log), log[-3000:]
    assert 'could not be removed after saving the session failed (it stays in the store until it expires)' in log


def test_on_a_cluster_a_login_that_cannot_list_its_session_leaves_the_old_session_a_parallel_request_changed(
        make_app, serve_with_gates, cluster, prefix):
    """A login from an anonymous session, held while a request of the same browser adds to the cart, then
    refused by the full master of alice's set: the key it deletes is its own new id's, never the old id,
    whose cookie keeps the cart and the parallel change (three rounds: the new key lands on another master
    than the set's in most of them, and is deleted there)."""
    app = end_others_app(make_app, cluster.url, session_redis_prefix=prefix)
    origin = serve_with_gates(app)
    full = cluster.master_of(prefix + 'user:alice')
    for round in range(3):
        browser = anonymous(origin, cart='1')
        while cluster.master_of(prefix + browser.sid).port == full.port:  # (its writes must go through)
            sweep(cluster, 'cluster', prefix)
            browser = anonymous(origin, cart='1')
        release = hold_request(app, origin, browser.sid, '/login-held?name=%d&user=alice' % round)
        assert Browser(origin, browser.sid).get('/set?key=wish&value=2').status == 200
        client = full.client()
        try:
            client.config_set('maxmemory', 1)
            held = release()
        finally:
            client.config_set('maxmemory', 0)
            client.close()

        assert held.status == 503 and held.set_cookies == [], held
        assert browser.read() == [None, {'cart': '1', 'wish': '2'}]
        assert plugin_of(app).sessions_of('alice') == []
        assert sweep(cluster, 'cluster', prefix) == [prefix + browser.sid]  # (the login's new key is gone)


def test_on_a_cluster_with_session_redis_wait_a_login_and_a_change_wait_for_the_replica_of_the_keys_master(
        make_app, cluster, prefix, log_dir):
    """A new session's SET goes with its WAIT to the master of the key's slot, in one pipeline, and a change's
    script then its WAIT: 200 while its replica confirms them, 503 while it is frozen, 200 again once it answers."""
    # (a timeout of 4 s, so a WAIT of 2 s: the replica confirms under load too, and the frozen one is waited 2 s)
    app = topology_app(make_app, cluster.url, session_redis_prefix=prefix, session_redis_wait=1, catchall=True,
                       session_redis_timeout=4)
    web = helpers.client(app)
    sid = helpers.cookie_value(web.get('/login?name=alice'))
    assert [web.get('/count').json['counter'] for _ in range(3)] == [0, 1, 2]
    [replica] = cluster.replicas_of(cluster.master_of(prefix + sid))
    with frozen([replica]):
        unconfirmed = web.get('/count', expect_errors=True)
    assert (unconfirmed.status_int, unconfirmed.headers['Retry-After']) == (503, '1'), unconfirmed
    assert 'only 0 of 1 replica(s) confirmed it in time' in read_log(log_dir)
    assert web.get('/count').json['counter'] == 4  # (the change the 503 answered was saved, if not confirmed)
    assert helpers.client(app).get('/login?name=bob').status_int == 200


#: A command in ``redis-cli monitor``'s output: the client's address (``lua`` for a script's own) and the command.
MONITORED = re.compile(r'^\d+\.\d+ \[\d+ (\S+)\] "([A-Za-z]+)"')


def test_on_a_cluster_with_session_redis_wait_each_change_is_confirmed_by_a_wait_on_its_own_connection(
        make_app, serve, cluster, prefix):
    """WAIT counts the replicas that have the writes of its own connection: sent on another of the pool's, it can
    confirm at once a change that no replica has.  Eight threads change their sessions at once (all in one slot,
    the prefix a hash tag), thread switches made frequent: each WAIT the key's master gets follows the change's
    script on the same connection."""
    tagged = '{%s}' % prefix
    origin = serve(topology_app(make_app, cluster.url, session_redis_prefix=tagged, session_redis_wait=1,
                                session_redis_timeout=10))  # (a WAIT of 5 s: confirmed under MONITOR and load too)
    browsers = [logged_in(origin, 'user%d' % number) for number in range(8)]
    master = cluster.master_of(tagged + browsers[0].sid)
    capture = open(os.path.join(master.directory, 'monitor.txt'), 'wb')
    monitor = subprocess.Popen([redis_cli_binary(), '-h', '127.0.0.1', '-p', str(master.port), 'monitor'],
                               stdout=capture, stderr=subprocess.STDOUT)
    switch_interval = sys.getswitchinterval()
    try:
        wait_until(lambda: os.path.getsize(capture.name) > 0, 30, what='MONITOR to start')  # (its OK)
        sys.setswitchinterval(1e-6)
        try:
            statuses = {}
            assert run_threads([lambda browser=browser: statuses.setdefault(browser.sid, [
                browser.get('/count').status for _ in range(15)]) for browser in browsers]) == []
        finally:
            sys.setswitchinterval(switch_interval)
        # (a command sent after every request ended is captured after all of theirs: once it is in the capture, so
        # are they, however late a loaded machine writes it)
        marker, probe = 'canister-test:end-of-capture', master.client()
        try:
            probe.echo(marker)  # (a command of no key: any node of a Cluster runs it)
        finally:
            probe.close()
        wait_until(lambda: marker in pathlib.Path(capture.name).read_text(errors='replace'), 30,
                   what='the last commands in the MONITOR capture')
    finally:
        monitor.terminate()
        monitor.wait(30)
        capture.close()
    last, unconfirmed, waits = {}, [], 0
    with open(capture.name) as lines:
        for line in lines:
            match = MONITORED.match(line)
            if not match or match.group(1) == 'lua':
                continue
            client, command = match.group(1), match.group(2).upper()
            if command == 'WAIT':
                waits += 1
                if last.get(client) not in ('EVALSHA', 'SET'):
                    unconfirmed.append('WAIT after %s on %s' % (last.get(client), client))
            last[client] = command
    assert list(statuses.values()) == [[200] * 15] * 8
    assert waits >= 8 * 15 and unconfirmed == [], (waits, unconfirmed[:5])
    assert [Browser(origin, browser.sid).get('/peek').json() for browser in browsers] == [{'counter': 15}] * 8
    sweep(cluster, 'cluster', tagged)


def test_the_readme_says_wait_rides_the_writes_connection_on_a_cluster_and_what_a_failed_login_warns_there():
    scaling = readme_section('## Scaling out')
    assert 'On one server, Sentinel and Cluster the script and `WAIT` go in one pipeline' in scaling
    assert 'with redis-py 7 as with 8 (the script goes as a bare `EVALSHA` command' in scaling
    assert ('each `WAIT` follows the script on its own connection' in scaling
            and 'its WARNING says the new id may stay in the store until it expires' in scaling)
