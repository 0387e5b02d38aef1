"""A Redis whose ``maxmemory-policy`` evicts keys once full, on real redis-servers.

Under ``allkeys-*`` Redis may evict any key once it holds ``maxmemory``: a user's set of sessions too, after
which ``end_sessions`` misses that user's sessions; under ``volatile-*`` any key with an expiry, which every
key canister writes but the users' sets has (sessions, markers, ``end_sessions``' notes, the throttle's counts).
Only ``noeviction`` keeps them: the install says so once, or the first probe after an install that found Redis down.
"""
import time
import warnings

import pytest
import redis

import canister
from canister import session
import helpers
from helpers import counter_app, warning_lines
from redis_topologies import ClusterSetup
from servers import RedisServer
from session_kit import Browser, anonymous, gated_app, hold_request, logged_in, plugin_of, wait_at_gate

#: The words of the warning, whatever the policy.
WARNED = 'once full it evicts keys canister needs besides sessions'


def policy_warnings(log_dir):
    return [line for line in warning_lines(log_dir) if WARNED in line]


@pytest.fixture
def evicting_redis(started):
    """A redis-server with maxmemory 64 MB under allkeys-lru (what many managed Redis ship with)."""
    server = RedisServer(args=['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']).start()
    started.append(server)
    return server


def test_a_redis_that_may_evict_any_key_is_a_warning_at_install_naming_noeviction(make_app, evicting_redis, log_dir):
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy allkeys-lru'):
        counter_app(make_app, session_store=evicting_redis.url)
    [line] = policy_warnings(log_dir)
    assert 'Redis has maxmemory 67108864 and maxmemory-policy allkeys-lru' in line, line
    assert "the users' sets of sessions (end_sessions" in line and 'set maxmemory-policy noeviction' in line, line


def test_a_redis_that_may_evict_keys_with_an_expiry_is_a_warning_without_the_users_sets(make_app, redis_server, log_dir):
    redis.Redis(port=redis_server.port).config_set('maxmemory-policy', 'volatile-lru')
    redis.Redis(port=redis_server.port).config_set('maxmemory', '64mb')
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy volatile-lru'):
        counter_app(make_app, session_store=redis_server.url)
    [line] = policy_warnings(log_dir)
    assert "login throttle's counts" in line and "users' sets" not in line, line


def test_noeviction_or_no_maxmemory_is_no_warning(make_app, redis_server, log_dir):
    client = redis.Redis(port=redis_server.port)
    client.config_set('maxmemory', '64mb')   # noeviction, Redis' default
    client.config_set('maxmemory-policy', 'noeviction')
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        counter_app(make_app, session_store=redis_server.url)
        client.config_set('maxmemory', '0')  # no maxmemory: nothing is ever evicted, whatever the policy
        client.config_set('maxmemory-policy', 'allkeys-lru')
        counter_app(make_app, session_store=redis_server.url)
    assert policy_warnings(log_dir) == []


def test_a_redis_that_refuses_config_is_no_warning(make_app, started, log_dir):
    server = RedisServer(args=['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru',
                               '--rename-command', 'CONFIG', 'hidden-config']).start()  # as managed Redis does
    started.append(server)
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app = counter_app(make_app, session_store=server.url)
    helpers.client(app).get('/')
    assert policy_warnings(log_dir) == []


def test_the_warning_of_a_redis_down_at_install_comes_once_with_the_first_probe_that_reaches_it(
        make_app, evicting_redis, log_dir):
    evicting_redis.stop()
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app = counter_app(make_app, session_store=evicting_redis.url)
    assert policy_warnings(log_dir) == []
    evicting_redis.start()
    assert plugin_of(app).store_problem() is None
    assert plugin_of(app).store_problem() is None
    assert len(policy_warnings(log_dir)) == 1


def test_under_allkeys_lru_a_full_redis_evicts_a_users_set_and_end_sessions_misses_the_session(make_app, started):
    """What the warning is about: the set goes, the session (used since) stays, and end_sessions cannot find it."""
    server = RedisServer(args=['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru',
                               '--maxmemory-samples', '64']).start()  # (the most exact LRU Redis has)
    started.append(server)
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy allkeys-lru'):
        app = counter_app(make_app, session_store=server.url)
    app.get('/login')(lambda: setattr(session, 'user', 'alice') or 'in')
    app.get('/who')(lambda: str(session.user))
    alice = helpers.client(app)
    alice.get('/login')
    client = redis.Redis(port=server.port)
    assert client.exists('canister:session:user:alice')
    time.sleep(1.1)                            # (Redis tells idle keys apart by the second)
    fill(client, 'early', 250)                 # 2.5 MB of other keys, under maxmemory, a second after the login
    assert client.exists('canister:session:user:alice')
    time.sleep(1.1)
    assert alice.get('/who').text == 'alice'   # alice's session is used: the newest key but the later ones
    fill(client, 'late', 100)                  # past maxmemory: the least recently used keys go
    assert not client.exists('canister:session:user:alice')
    assert plugin_of(app).end_sessions('alice') == 0  # it finds no session of alice's
    assert alice.get('/who').text == 'alice'          # which is still logged in


def fill(client, name, count, **options):
    """``count`` keys of 10 kB each."""
    pipe = client.pipeline(transaction=False)
    for index in range(count):
        pipe.set('filler:%s:%d' % (name, index), b'x' * 10000, **options)
    pipe.execute()


def test_under_volatile_lru_a_full_redis_evicts_the_throttle_count_and_a_guesser_gets_more_tries(make_app, started):
    """The login throttle's count has an expiry, so ``volatile-*`` may evict it: past the limit, guesses go on."""
    server = RedisServer(args=['--maxmemory', '4mb', '--maxmemory-policy', 'volatile-lru',
                               '--maxmemory-samples', '64']).start()
    started.append(server)
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy volatile-lru'):
        app = make_app(auth_basic_username='alice', auth_max_failures=2, session_store=server.url,
                       auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 1000))
    app.get('/me')(lambda: {'user': session.user})
    guesser = helpers.client(app)
    wrong = {'Authorization': helpers.basic('alice', 'guess')}
    assert [guesser.get('/me', headers=wrong, expect_errors=True).status_int for _ in range(3)] == [401, 401, 429]
    client = redis.Redis(port=server.port)
    time.sleep(1.1)                     # (Redis tells idle keys apart by the second)
    fill(client, 'late', 500, ex=3600)  # past maxmemory, keys that expire in an hour as sessions do
    assert not client.exists('canister:session:throttle:127.0.0.1')
    assert guesser.get('/me', headers=wrong, expect_errors=True).status_int == 401  # a guess past the limit, checked


def test_a_redis_restarted_without_persistence_has_lost_every_session_so_its_users_are_logged_out(make_app, started):
    """No append-only file and no snapshot (``--appendonly no --save ''``): a restart starts empty."""
    server = RedisServer(args=['--appendonly', 'no']).start()
    started.append(server)
    app = make_app(session_store=server.url)
    app.get('/login')(lambda: setattr(session, 'user', 'alice') or 'in')
    app.get('/who')(lambda: str(session.user))
    alice = helpers.client(app)
    alice.get('/login')
    assert alice.get('/who').text == 'alice'
    server.stop()
    server.start()
    assert alice.get('/who').text == 'None'


def test_a_redis_restarted_from_a_snapshot_taken_before_a_logout_has_that_session_back(make_app, started):
    """Snapshots alone (RDB, no append-only file): what changed after the last one is lost, a logout too."""
    server = RedisServer(args=['--appendonly', 'no']).start()
    started.append(server)
    app = make_app(session_store=server.url)
    app.get('/login')(lambda: setattr(session, 'user', 'alice') or 'in')
    app.get('/logout')(lambda: session.invalidate() or 'out')
    app.get('/who')(lambda: str(session.user))
    alice = helpers.client(app)
    cookie = helpers.cookie_value(alice.get('/login'))
    assert helpers.client(app).get('/who', headers=helpers.with_cookie(cookie)).text == 'alice'
    redis.Redis(port=server.port).save()  # the snapshot (as a save point would take it)
    alice.get('/logout')
    assert helpers.client(app).get('/who', headers=helpers.with_cookie(cookie)).text == 'None'
    server.stop()
    server.start()
    assert helpers.client(app).get('/who', headers=helpers.with_cookie(cookie)).text == 'alice'


def test_with_session_max_age_the_volatile_warning_names_the_users_sets_too(make_app, redis_server, log_dir):
    client = redis.Redis(port=redis_server.port)
    client.config_set('maxmemory-policy', 'volatile-lfu')
    client.config_set('maxmemory', '64mb')
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy volatile-lfu'):
        counter_app(make_app, session_store=redis_server.url, session_max_age=86400)
    [line] = policy_warnings(log_dir)
    assert "the users' sets of sessions" in line, line


def test_a_logout_sticks_even_when_redis_evicts_its_ended_marker_before_a_held_request_saves(
        make_app, redis_server, serve_with_gates):
    """The update script writes only over the record it read: with the marker gone (``DEL``, what an eviction
    does) a request that loaded the session before the logout finds nothing when it saves, and stores nothing."""
    app = gated_app(make_app, redis_server.url)
    origin = serve_with_gates(app)
    alice = logged_in(origin, cart='1')
    client = redis.Redis(port=redis_server.port)
    release = hold_request(app, origin, alice.sid, '/hold?name=a&key=cart&value=2')
    assert Browser(origin, alice.sid, follow=False).get('/logout').status == 200
    assert client.get('canister:session:' + alice.sid) == b'"ended"'
    client.delete('canister:session:' + alice.sid)            # evicted
    assert release().status == 200
    assert not client.exists('canister:session:' + alice.sid)
    assert Browser(origin, alice.sid, follow=False).read() == [None, {}]
    assert plugin_of(app).sessions_of('alice') == []


@pytest.fixture(scope='module')
def cluster():
    """A Redis Cluster of three masters (no replicas) that the Cluster tests of this module share."""
    with ClusterSetup(replicas=0) as setup:
        yield setup


@pytest.fixture
def cluster_policy(cluster):
    """``cluster_policy(policy, nodes)``: ``maxmemory 64mb`` and ``policy`` on those nodes of ``cluster`` (all if
    none named); every node back to no ``maxmemory`` and ``noeviction`` after the test."""
    def set_policy(policy, nodes=None):
        for node in nodes or cluster.nodes:
            client = node.client()
            client.config_set('maxmemory', '64mb')
            client.config_set('maxmemory-policy', policy)
            client.close()

    yield set_policy
    for node in cluster.nodes:
        client = node.client()
        client.config_set('maxmemory', '0')
        client.config_set('maxmemory-policy', 'noeviction')
        client.close()


def test_a_redis_cluster_whose_nodes_may_evict_keys_is_the_same_warning_at_install(
        make_app, cluster, cluster_policy, log_dir):
    cluster_policy('allkeys-lru')
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy allkeys-lru'):
        counter_app(make_app, session_store=cluster.url)
    [line] = policy_warnings(log_dir)
    assert 'Redis has maxmemory 67108864 and maxmemory-policy allkeys-lru' in line, line
    assert "the users' sets of sessions (end_sessions" in line and 'set maxmemory-policy noeviction' in line, line


def test_a_redis_cluster_with_one_master_that_may_evict_keys_is_a_warning_naming_its_policy(
        make_app, cluster, cluster_policy, log_dir):
    """The sessions of that master's slots, and the other keys there, may go: the install asks every node."""
    cluster_policy('volatile-lfu', [cluster.nodes[2]])  # (not the first node the URL names)
    with pytest.warns(canister.CanisterWarning, match='maxmemory-policy volatile-lfu'):
        counter_app(make_app, session_store=cluster.url)
    [line] = policy_warnings(log_dir)
    assert "login throttle's counts" in line and "users' sets" not in line, line


def test_a_redis_cluster_under_noeviction_is_no_warning(make_app, cluster, cluster_policy, log_dir):
    cluster_policy('noeviction')
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        counter_app(make_app, session_store=cluster.url)
    assert policy_warnings(log_dir) == []


@pytest.mark.parametrize('evicted', [False, True])
def test_a_login_held_across_a_logout_stays_out_unless_redis_evicts_the_marker_then_it_is_kept_in_a_new_session(
        make_app, redis_server, serve_with_gates, log_dir, evicted):
    """A login (``session.user =`` after the wait) loaded an anonymous session; a logout of that session leaves its
    "ended" marker, and the login, saving after it, stores nothing and expires the cookie.  With the marker evicted
    (``DEL``) before the login saves, the store holds nothing under the old id, as for a session that expired or
    that the store lost: the login is kept in a new session, with the anonymous data it loaded.  The old id stays
    ended either way; no 500."""
    app = gated_app(make_app, redis_server.url, catchall=True)
    origin = serve_with_gates(app)
    browser = anonymous(origin, cart='1')
    old = browser.sid
    release = hold_request(app, origin, old, '/hold?name=a&user=alice')
    assert Browser(origin, old, follow=False).get('/logout').status == 200
    if evicted:
        redis.Redis(port=redis_server.port).delete('canister:session:' + old)
    held = release()
    assert held.status == 200, held
    assert Browser(origin, old, follow=False).read() == [None, {}]
    if evicted:
        assert held.new_sid not in (None, '', old), held
        assert Browser(origin, held.new_sid).read() == ['alice', {'cart': '1'}]
        assert len(plugin_of(app).sessions_of('alice')) == 1
        assert any('was no longer in the store when the login of this request saved it' in line
                   for line in warning_lines(log_dir)), warning_lines(log_dir)
    else:
        assert held.new_sid == '' and plugin_of(app).sessions_of('alice') == [], held


def login_held_app(make_app, url):
    """``gated_app`` plus ``/login-held?name=G``: logs alice in (``session.user =``), then waits at gate G."""
    app = gated_app(make_app, url, catchall=True)

    @app.get('/login-held')
    def login_held(name):
        session.user = 'alice'
        wait_at_gate(app, name)
        return 'held'

    return app


@pytest.mark.parametrize('evicted', [False, True])
def test_a_login_under_way_that_end_sessions_overtakes_stays_logged_in_only_when_redis_evicts_its_note(
        make_app, redis_server, serve_with_gates, log_dir, evicted):
    """What the warning says of ``end_sessions``' notes: with its note (``<prefix>ended:<user>``) the login made
    before ``end_sessions`` ran is ended as it stores (no cookie, a WARNING); with the note evicted (``DEL``)
    it cannot tell, and stays logged in, in the session it made.  No 500 either way."""
    app = login_held_app(make_app, redis_server.url)
    origin = serve_with_gates(app)
    first = logged_in(origin)
    release = hold_request(app, origin, None, '/login-held?name=a')
    assert plugin_of(app).end_sessions('alice') == 1
    client = redis.Redis(port=redis_server.port)
    assert client.exists('canister:session:ended:alice')
    if evicted:
        client.delete('canister:session:ended:alice')
    held = release()
    assert held.status == 200, held
    assert Browser(origin, first.sid, follow=False).read() == [None, {}]  # the session end_sessions ended stays so
    if evicted:
        assert Browser(origin, held.new_sid).read() == ['alice', {}]
        assert len(plugin_of(app).sessions_of('alice')) == 1
    else:
        assert held.new_sid is None and plugin_of(app).sessions_of('alice') == [], held
        assert any("its user's sessions were ended" in line for line in warning_lines(log_dir))
