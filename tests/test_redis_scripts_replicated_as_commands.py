"""canister's Lua scripts on a Redis that replicates a script by running it again (Redis 3.2 to 6.x under
``lua-replicate-commands no``, the default of 3.2 and 4): a real Redis 5.0.6 master so configured, a real replica,
and the master's append-only file read back by a restart.

Each script asks Redis to replicate the commands it ran instead (``redis.replicate_commands()``): run again, the
script would take another branch on the replica, which ignores ``maxmemory``, and count relative expiries from the
replay.  Redis 7 always replicates the commands (``tests/test_redis_full_logout.py`` runs the scripts on both).
"""
from typing import Any, Iterator, List, Tuple

import pytest
import redis

import canister
from helpers import (basic, client, cookie_value, cookieless_client, fill_up, guarded_app, readme_section,
                     with_cookie)
from servers import RedisServer, old_redis_server_binary, wait_until


@pytest.fixture
def script_replicated(started: List[Any]) -> Iterator[Tuple[RedisServer, RedisServer]]:
    """A Redis 5.0.6 master started with ``--lua-replicate-commands no`` (which it takes), and a Redis 5.0.6 replica
    of it, its link up."""
    master = RedisServer(binary=old_redis_server_binary(), args=['--lua-replicate-commands', 'no'])
    started.append(master.start())
    replica = RedisServer(binary=old_redis_server_binary())
    started.append(replica.start())
    redis.Redis(port=master.port).config_set('repl-diskless-sync-delay', 0)
    copy = redis.Redis(port=replica.port)
    copy.replicaof(replica.host, master.port)
    wait_until(lambda: copy.info('replication').get('master_link_status') == 'up', 30,
               what='the replica to follow the master')
    try:
        yield master, replica
    finally:
        replica.thaw()


def read_back(server: RedisServer) -> redis.Redis:
    """A client of ``server`` restarted (SIGTERM, then started again on its directory): what its AOF holds."""
    server.stop()
    server.start()
    return redis.Redis(port=server.port)


def test_a_logout_on_a_full_redis_that_replicates_scripts_by_running_them_leaves_no_marker_on_the_replica(
        make_app, script_replicated):
    """The master refuses the "ended" marker and deletes the session; run again on the replica (which ignores
    ``maxmemory``) or from the AOF (read with no ``maxmemory``), the script would set the marker there instead:
    the replica, and the master once restarted, would hold a key the master deleted."""
    master, replica = script_replicated
    app = guarded_app(make_app, master.url, catchall=True)
    web = client(app)
    sid = cookie_value(web.get('/login'))
    full = fill_up(master)
    answer = web.get('/logout', expect_errors=True)
    assert (answer.status_int, answer.text) == (200, 'out'), answer
    assert not full.exists('canister:session:' + sid)
    assert full.wait(1, 30000) == 1  # (the replica has every write of the master so far)
    assert redis.Redis(port=replica.port).get('canister:session:' + sid) is None
    assert read_back(master).get('canister:session:' + sid) is None
    assert client(app).get('/me', headers=with_cookie(sid), expect_errors=True).status_int == 401


def test_a_session_read_on_redis_that_replicates_scripts_by_running_them_keeps_its_expiry_after_a_restart(
        make_app, script_replicated):
    """A read extends a session's life (``PEXPIRE``, from now): replicated as that command, the AOF holds the
    time it ends (Redis writes a ``PEXPIREAT``); replayed as the script, the life would count from the restart."""
    master, _ = script_replicated
    app = guarded_app(make_app, master.url, catchall=True, session_timeout=600)
    web = client(app)
    sid = cookie_value(web.get('/login'))
    assert web.get('/me').text == 'me: alice'  # (the read script: its life extended to 600 s from now)
    key, before = 'canister:session:' + sid, redis.Redis(port=master.port)
    wait_until(lambda: before.pttl(key) < 598000, 30, what='two seconds of the session to pass')
    assert 0 < read_back(master).pttl(key) < 598000


def test_the_login_throttle_counts_on_redis_that_replicates_scripts_by_running_them(make_app, script_replicated):
    """Its scripts read a count's time left (``PTTL``, which such a Redis calls non-deterministic) before they
    write: run as scripts, Redis refuses those writes, and a third wrong password answered 503, not 429."""
    master, _ = script_replicated
    app = guarded_app(make_app, master.url, catchall=True, auth_basic_username='alice',
                      auth_basic_password='wonderland', auth_max_failures=2)
    attacker = cookieless_client(app, REMOTE_ADDR='203.0.113.66')
    wrong = {'Authorization': basic('alice', 'guess')}
    assert [attacker.get('/me', headers=wrong, expect_errors=True).status_int for _ in range(3)] == [401, 401, 429]
    right = cookieless_client(app, REMOTE_ADDR='198.51.100.7').get('/me', headers={
        'Authorization': basic('alice', 'wonderland')})
    assert right.text == 'me: alice'


def test_the_readme_says_each_script_has_its_commands_replicated():
    sessions = readme_section('## Sessions')
    assert ('Each script first calls `redis.replicate_commands()` (on a server that has it: Redis 3.2 and later), so '
            'that replicas and the append-only file get the commands it ran, not the script to run again.') in sessions
    scripts = [value for owner in (canister, canister._RedisThrottle) for value in vars(owner).values()
               if isinstance(value, str) and "redis.call(" in value]
    assert len(scripts) >= 6
    assert all(script.startswith('if redis.replicate_commands then redis.replicate_commands() end\n')
               for script in scripts)
    assert "which refused a script's write after its `PTTL`: a read that extends a session, and a third" in sessions
    assert '(`tests/test_redis_scripts_replicated_as_commands.py`, a Redis 5.0.6 master so started' in sessions
