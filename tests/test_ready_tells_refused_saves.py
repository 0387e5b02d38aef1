"""``plugin.store_problem()`` and the install say so when every save of a Redis store would answer 503 though Redis
answers a PING: a master with fewer replicas than ``session_redis_wait``, a URL naming a read-only replica.  And the
install names a store the app built, in its banner and its warnings.  Real redis-servers throughout."""
import re

import pytest
import redis

import canister
from helpers import client, count_route, read_log, readme_section, warning_lines
from servers import held_port, wait_until
from session_kit import FourMethodStore
from test_store_problem import ready_app


def not_ready_lines(log_dir):
    return [line.split('Not ready: ', 1)[1] for line in read_log(log_dir).splitlines() if 'Not ready: ' in line]


def replicas_connected(server, count):
    wait_until(lambda: server.info('replication').get('connected_slaves') == count, 30,
               what='the master to have %d replica(s) connected' % count)


def replica_online(server, replica):
    """Wait until ``replica`` has finished its sync with the master ``server``: its link up, and the master counting it
    online (a replica the master lists as connected may still be loading its copy: a WAIT meanwhile waits for it)."""
    wait_until(lambda: redis.Redis(port=replica.port).info('replication').get('master_link_status') == 'up'
               and server.info('replication').get('slave0', {}).get('state') == 'online', 30,
               what='the replica to be online again')


@pytest.fixture
def refusing_port():
    """A port of 127.0.0.1 where nothing listens while the test runs: a connection there is refused (a port
    ``free_port()`` handed out could meanwhile be taken by a server of a test run beside this one)."""
    with held_port() as port:
        yield port


# -- session_redis_wait and the replicas connected -----------------------------------------------------------

def test_the_ready_route_answers_503_while_the_only_replica_of_session_redis_wait_1_is_stopped(
        make_app, master_and_replica, log_dir):
    master, replica = master_and_replica
    # (a save the replica must confirm: its WAIT lasts up to 30 s, half the timeout, however slowly a loaded machine
    # lets the replica answer; the save no replica can confirm goes to an app whose WAIT gives up after 0.5 s)
    app, _ = ready_app(make_app, session_store=master.url, session_redis_wait=1, session_redis_timeout=60)
    count_route(app)
    web = client(app)
    unconfirmed = client(count_route(make_app(session_store=master.url, session_redis_wait=1)))
    unconfirmed.cookiejar = web.cookiejar   # (the same client: the same session)
    assert web.get('/count').text == '1'
    assert web.get('/ready').text == 'ready\n'
    replica.stop()
    server = redis.Redis(port=master.port)
    replicas_connected(server, 0)
    assert web.get('/ready', status=503).text == 'not ready\n'   # (before any save has failed)
    unconfirmed.get('/count?again', status=503)
    assert 'saved the session but only 0 of 1 replica(s) confirmed it' in read_log(log_dir)
    assert not_ready_lines(log_dir) == [
        'canister.session_redis_wait = 1, but the master has 0 replica(s) connected: every save answers 503 (the '
        'session is saved, but not confirmed by 1 replica(s)) until enough replicas connect; set session_redis_wait '
        'to at most the replicas each master keeps']
    replica.start()
    redis.Redis(port=replica.port).replicaof(replica.host, master.port)
    replicas_connected(server, 1)
    assert web.get('/ready').text == 'ready\n'
    replica_online(server, replica)
    assert web.get('/count?again').text == '3'   # (the save that answered 503 was saved, unconfirmed)


def test_the_ready_route_answers_503_with_session_redis_wait_2_and_one_replica_connected(
        make_app, master_and_replica, log_dir):
    master, _ = master_and_replica
    with pytest.warns(canister.CanisterWarning, match='has 1 replica'):
        app, plugin = ready_app(make_app, session_store=master.url, session_redis_wait=2)
    count_route(app)
    web = client(app)
    assert web.get('/ready', status=503).text == 'not ready\n'
    assert plugin.store_problem().startswith(
        'canister.session_redis_wait = 2, but the master has 1 replica(s) connected: every save answers 503')
    web.get('/count', status=503)
    # The install's WARNING says it, not a second one calling the store unreachable for now.
    assert any('replica(s) connected' in line for line in warning_lines(log_dir))
    assert not any('unreachable' in line for line in warning_lines(log_dir))


def test_the_readme_says_the_ready_probe_tells_a_master_short_of_session_redis_wait_replicas():
    readiness = readme_section('## Reliability').split('**Readiness checks.**', 1)[1]
    assert ('- *On Redis with `session_redis_wait`.* Each probe also asks `INFO replication`, one round trip more '
            '(on a Cluster, of each master). A master with fewer replicas connected than `session_redis_wait` is a '
            'problem, since every save answers 503 until enough replicas are back') in readiness
    scaling = readme_section('## Scaling out')
    assert ('while a master has too few, `store_problem()` says so, so that the `/ready` route answers 503') in scaling


# -- a URL naming a read-only replica ----------------------------------------------------------------------

@pytest.fixture
def read_only_replica(redis_server, refusing_port):
    """``redis_server`` made a read-only replica (of a master that is not there: it refuses every write)."""
    redis.Redis(port=redis_server.port).replicaof('127.0.0.1', refusing_port)
    return redis_server


def test_a_url_naming_a_read_only_replica_installs_with_a_warning_that_says_to_point_it_at_the_master(
        make_app, read_only_replica, log_dir):
    with pytest.warns(canister.CanisterWarning, match='names a read-only replica'):
        app, plugin = ready_app(make_app, session_store=read_only_replica.url)
    [warning] = {line.split(']   ', 1)[1] for line in warning_lines(log_dir) if 'replica' in line}  # (each install's)
    assert warning.startswith('canister.session_store = %s names a read-only replica (Redis refused the install\'s '
                              'test write: ' % read_only_replica.url), warning
    assert warning.endswith('): every save answers 503 while it is one; point the URL at the master, or use a '
                            'redis+sentinel:// URL, which finds the master (redis+cluster:// for a Cluster)'), warning
    count_route(app)
    web = client(app)
    assert web.get('/ready', status=503).text == 'not ready\n'
    [line] = set(not_ready_lines(log_dir))
    assert "read only replica" in line and 'the server the URL names is a read-only replica' in line, line
    web.get('/count', status=503)
    log = read_log(log_dir)
    error = next(line for line in log.splitlines() if ' ERROR ' in line and 'read only replica' in line)
    assert 'point the URL at the master' in error and 'as after a failover' not in error, error
    # Nothing was written: no WARNING that the new session "stays in the store until it expires".
    assert 'could not be removed' not in log
    assert redis.Redis(port=read_only_replica.port).keys('canister:session:*') == []


def test_the_ready_route_answers_200_once_the_replica_the_url_names_is_made_the_master(
        make_app, read_only_replica):
    with pytest.warns(canister.CanisterWarning, match='names a read-only replica'):
        app, _ = ready_app(make_app, session_store=read_only_replica.url)
    count_route(app)
    web = client(app)
    web.get('/ready', status=503)
    redis.Redis(port=read_only_replica.port).replicaof('NO', 'ONE')
    assert web.get('/ready').text == 'ready\n'
    assert web.get('/count').text == '1'


def test_a_replica_found_at_the_first_probe_after_an_install_without_redis_is_a_warning_then_once(
        make_app, redis_server, log_dir, refusing_port):
    redis_server.stop()
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app, plugin = ready_app(make_app, session_store=redis_server.url)
    redis_server.start()
    redis.Redis(port=redis_server.port).replicaof('127.0.0.1', refusing_port)
    problems = [plugin.store_problem() for _ in range(2)]
    assert all('the server the URL names is a read-only replica' in problem for problem in problems), problems
    told = [line for line in warning_lines(log_dir) if 'names a read-only replica' in line]
    assert len(told) == 1, told


def test_a_new_session_a_replica_refused_gets_no_warning_that_it_stays_in_the_store(
        make_app, redis_server, log_dir, refusing_port):
    app = count_route(make_app(session_store=redis_server.url))
    redis.Redis(port=redis_server.port).replicaof('127.0.0.1', refusing_port)   # (after install: as after a failover)
    client(app).get('/count', status=503)
    log = read_log(log_dir)
    assert "You can't write against a read only replica" in log
    assert 'could not be removed' not in log and 'stays in the store' not in log, log


def swap_roles(master, replica):
    """A failover by hand: ``replica`` made the master, ``master`` its replica."""
    redis.Redis(port=replica.port).replicaof('NO', 'ONE')
    redis.Redis(port=master.port).replicaof(master.host, replica.port)


def replica_error_line(log_dir):
    [line] = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'read only replica' in line]
    return line


def test_a_replica_at_install_that_became_the_master_and_then_a_replica_again_gets_the_failover_hint(
        make_app, master_and_replica, log_dir):
    master, replica = master_and_replica
    with pytest.warns(canister.CanisterWarning, match='names a read-only replica'):
        app = count_route(make_app(session_store=replica.url))
    web = client(app)
    swap_roles(master, replica)   # (the server the URL names is the master now: its saves pass)
    assert web.get('/count').text == '1'
    swap_roles(replica, master)   # (and at run time a failover makes it a replica again)
    web.get('/count', status=503)
    error = replica_error_line(log_dir)
    assert 'as after a failover' in error and 'point the URL at the master' not in error, error


def test_a_replica_at_install_that_a_check_found_taking_writes_gets_the_failover_hint_when_it_is_a_replica_again(
        make_app, master_and_replica, log_dir):
    master, replica = master_and_replica
    with pytest.warns(canister.CanisterWarning, match='names a read-only replica'):
        app, plugin = ready_app(make_app, session_store=replica.url)
    count_route(app)
    swap_roles(master, replica)
    assert plugin.store_problem() is None   # (its write of a key of its own passed: no save of a session yet)
    swap_roles(replica, master)
    client(app).get('/count', status=503)
    error = replica_error_line(log_dir)
    assert 'as after a failover' in error and 'point the URL at the master' not in error, error


def test_a_replica_at_install_whose_save_as_the_master_no_replica_confirmed_gets_the_failover_hint_when_a_replica_again(
        make_app, master_and_replica, log_dir):
    master, replica = master_and_replica
    with pytest.warns(canister.CanisterWarning):   # (a read-only replica; and short of replicas for the wait)
        app = count_route(make_app(session_store=replica.url, session_redis_wait=1))
    redis.Redis(port=replica.port).replicaof('NO', 'ONE')   # (the master now, with no replica to confirm a save)
    client(app).get('/count', status=503)
    assert 'saved the session but only 0 of 1 replica(s) confirmed it' in read_log(log_dir)   # (the server took it)
    redis.Redis(port=replica.port).replicaof(master.host, master.port)   # (a replica again, as after a failover)
    replica_online(redis.Redis(port=master.port), replica)
    client(app).get('/count', status=503)
    error = replica_error_line(log_dir)
    assert 'as after a failover' in error and 'point the URL at the master' not in error, error


def test_the_readme_says_the_wrong_url_hint_lasts_until_the_server_takes_a_write():
    assert ('That hint lasts only while the server has taken no write of the process since the install: once a '
            'session was saved there, or a readiness check\'s own write passed (it had become the master), a later '
            'refusal is a failover\'s, and its line gives the failover\'s hint') in readme_section('## Reliability')

# -- a store the app built -----------------------------------------------------------------------------------

def banner_line(log, key):
    return re.search(r'\]   canister\.%s *= (.*)$' % key, log, re.M).group(1)


def test_the_banner_names_a_redis_store_the_app_built_with_its_password_masked_and_its_own_timeout(
        make_app, redis_server, log_dir):
    url = 'redis://default:hunter2@127.0.0.1:%d/0' % redis_server.port   # (the default user has nopass: any password)
    with pytest.warns(canister.CanisterWarning):   # (a timeout of its own, long enough for a loaded machine's Redis)
        make_app(store=canister.RedisStore(url, timeout=30.0))
    log = read_log(log_dir)
    assert banner_line(log, 'session_store') == (
        "memory (not used: the store in use is RedisStore(redis://default:***@127.0.0.1:%d/0, prefix='canister:session:', "
        "wait=0, timeout=30.0), given as Canister(store=...))" % redis_server.port)
    assert banner_line(log, 'session_redis_timeout') == '1.0 (not used: the store is given as Canister(store=...))'
    assert 'hunter2' not in log
    [nopass] = [line for line in warning_lines(log_dir) if 'nopass' in line]
    assert 'the RedisStore given as Canister(store=...) gives a password' in nopass, nopass
    assert 'canister.session_store gives a password' not in nopass


def test_the_banner_of_a_configured_store_shows_its_settings_without_a_note(make_app, redis_server, log_dir):
    make_app(session_store=redis_server.url)
    log = read_log(log_dir)
    assert banner_line(log, 'session_store') == redis_server.url
    assert banner_line(log, 'session_redis_timeout') == '1.0'


class DownStore(FourMethodStore):
    """A store of the app's own whose ``check()`` says it is down."""

    def check(self):
        return 'the queue is not there'


def test_a_custom_stores_check_problem_is_worded_for_what_canister_knows_of_it(make_app, log_dir):
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        make_app(store=DownStore())
    [warning] = [line.split(']   ', 1)[1] for line in warning_lines(log_dir) if 'unreachable' in line]
    assert warning == (
        'The session store is unreachable for now (the queue is not there), as the check() of '
        'test_ready_tells_refused_saves.DownStore says; requests that need a session answer as its methods do '
        'meanwhile: 503 where they raise canister.StoreUnavailable, 500 where they raise another error')
    assert 'answer 503 until it is back' not in warning


def test_a_built_in_stores_check_problem_still_says_requests_answer_503_until_it_is_back(
        make_app, log_dir, refusing_port):
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        make_app(session_store='redis://127.0.0.1:%d/0' % refusing_port)   # (no server there: refused)
    assert any('requests that need a session answer 503 until it is back' in line for line in warning_lines(log_dir))
