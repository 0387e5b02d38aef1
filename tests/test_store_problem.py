"""``plugin.store_problem()``: None while the session store can be reached, else why (passwords masked),
for a readiness route; never raising for an outage, and making no session.  A real redis-server, stopped
and started; a SQLite file replaced by one that is not a database; the memory store; stores of an app's own."""
import functools
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import types

import bottle
import pytest
import redis

import canister
from helpers import basic, client, count_route, directory_of_nobody, nobody_or_me, read_log, run_script, set_cookies, sqlite_url
from redis_topologies import command_calls
from servers import held_port
from session_kit import FourMethodStore, add_session_routes
from test_readme import readme_block_of_section


def ready_app(make_app, **overrides):
    """An app with the README's ``/ready`` block run as written, and the plugin the block makes and installs: its
    ``canister.Canister()`` takes make_app's keyword arguments (``overrides``, and the test's log directory)."""
    app = make_app(**overrides)
    made = next(p for p in app.plugins if isinstance(p, canister.Canister))
    app.uninstall(made)
    made_here = functools.partial(canister.Canister, **dict(made.overrides, **overrides))
    namespace = {'app': app, 'bottle': bottle, 'canister': types.SimpleNamespace(Canister=made_here)}
    exec(compile(readme_block_of_section('Reliability'), 'README.md', 'exec'), namespace)
    return app, namespace['plugin']


class FailingStore(FourMethodStore):
    """A store of the app's own whose ``check()`` raises its client's error, a URL with a password in it,
    once ``down`` is set."""

    down = False

    def check(self):
        if self.down:
            raise ConnectionError('cannot reach redis://:hunter2@10.0.0.9:6379/0')


def test_the_readme_ready_route_answers_503_while_redis_is_stopped_and_200_once_it_is_back(
        make_app, redis_server, log_dir):
    app, plugin = ready_app(make_app, session_store=redis_server.url)
    web = client(app)
    assert web.get('/ready').text == 'ready\n'
    redis_server.stop()
    down = web.get('/ready', status=503)
    assert down.text == 'not ready\n' and set_cookies(down) == []
    assert ('Not ready: the Redis session store is unavailable: Error 111 connecting to 127.0.0.1:%d'
            % redis_server.port in read_log(log_dir))
    redis_server.start()
    up = web.get('/ready')
    assert up.text == 'ready\n' and set_cookies(up) == []


def test_store_problem_outside_a_request_names_the_redis_server_that_is_stopped(make_app, redis_server):
    _, plugin = ready_app(make_app, session_store=redis_server.url)
    assert plugin.store_problem() is None
    redis_server.stop()
    assert 'connecting to 127.0.0.1:%d' % redis_server.port in plugin.store_problem()
    redis_server.start()
    assert plugin.store_problem() is None


def test_store_problem_of_a_stopped_redis_says_what_the_error_line_of_its_503_says(make_app, redis_server, log_dir):
    app, plugin = ready_app(make_app, session_store=redis_server.url)
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    redis_server.stop()
    client(app).get('/count', status=503)
    [error_line] = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response' not in line]
    problem = plugin.store_problem()
    assert problem.startswith('the Redis session store is unavailable: Error 111 connecting to 127.0.0.1:')
    assert error_line.endswith('   ' + problem)



def test_in_the_second_after_a_request_met_a_frozen_redis_the_ready_route_answers_at_once_in_its_words(
        make_app, redis_server, log_dir):
    app, plugin = ready_app(make_app, session_store=redis_server.url)
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    web = client(app)
    redis_server.freeze()                                       # SIGSTOP: nothing is answered
    try:
        for round_ in range(3):  # (a round again only when another job's load slowed the probe's answer)
            if round_:
                time.sleep(1.1)                                 # past that second: /count waits a timeout again
            web.get('/count', status=503)                       # waits for its 1 s timeout
            started = time.monotonic()
            down = web.get('/ready', status=503)
            waited = time.monotonic() - started
            assert down.text == 'not ready\n', down.text
            if waited < 0.5:
                break
    finally:
        redis_server.thaw()
    assert waited < 0.5, waited  # (a probe of its own would take the 1 s, in every round)
    # (redis-py 8 names the server, 7 (the last for Python 3.9) says 'socket')
    assert re.search(r'Not ready: the Redis session store is unavailable: Timeout reading from (127\.0\.0\.1:%d|socket)'
                     % redis_server.port, read_log(log_dir))


def commands_of(redis_server, probe) -> dict:
    """The commands (and how many of each) that ``probe()`` sent to ``redis_server``."""
    server = redis.Redis.from_url(redis_server.url)
    try:
        before = command_calls(server)
        probe()
        after = command_calls(server)
    finally:
        server.close()
    after['info'] -= 1                                          # (the INFO that read ``before``)
    return {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}


def test_a_readiness_probe_on_redis_is_one_ping_once_the_install_has_checked_the_server(make_app, redis_server):
    _, plugin = ready_app(make_app, session_store=redis_server.url)
    assert commands_of(redis_server, lambda: [plugin.store_problem() for _ in range(3)]) == {'ping': 3}


def test_the_first_check_redis_answers_after_an_install_that_found_it_down_checks_the_server_as_the_install_does(
        make_app, redis_server):
    redis_server.stop()
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        _, plugin = ready_app(make_app, session_store=redis_server.url)
    redis_server.start()
    first = commands_of(redis_server, plugin.store_problem)
    first.pop('hello', None), first.pop('client|setinfo', None)  # (redis-py's handshake of the new connection)
    # the read and update scripts loaded, then a key of its own written, both scripts run on it and it deleted, and
    # a user's set of its own written, read as logins and end_sessions read one, and deleted (one pipeline: the ACL's
    # rights, in a script and not), with what tidying runs besides, INFO cluster and CONFIG GET maxmemory* (the
    # eviction warning)
    assert first.pop('ping') == 1 and first.pop('script|load') == 2 and first.pop('info') == 1
    assert first.pop('evalsha') == 2 and first.pop('get') == 2 and first.pop('set') == 2
    assert first.pop('pttl') == 1 and first.pop('pexpire') == 2 and first.pop('del') == 2
    for command in ('sadd', 'srandmember', 'scard', 'smembers', 'pexpiretime', 'srem', 'scan', 'sscan', 'exists'):
        assert first.pop(command) == 1, command
    assert first.pop('config|get') == 1
    assert first == {}
    assert commands_of(redis_server, plugin.store_problem) == {'ping': 1}


def test_store_problem_names_a_sqlite_file_replaced_by_one_that_is_not_a_database(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    _, plugin = ready_app(make_app, session_store=sqlite_url(path))
    assert plugin.store_problem() is None
    garbage = tmp_path / 'garbage'
    garbage.write_bytes(b'not a database ' * 100)
    for leftover in ('-wal', '-shm'):
        if os.path.exists(str(path) + leftover):
            os.remove(str(path) + leftover)
    os.replace(garbage, path)
    time.sleep(1.1)  # (a connection looks once a second, on the monotonic clock, whether its file is still the one it opened)
    assert plugin.store_problem() == 'the SQLite session store %s failed: file is not a database' % path


def store_error_lines(log_dir):
    """The texts of the log's ERROR lines that are not a request's response line."""
    return [line.split(']', 1)[1].strip() for line in read_log(log_dir).splitlines()
            if ' ERROR ' in line and 'Response: ' not in line]


def test_store_problem_of_a_sqlite_file_that_is_not_a_database_is_the_error_line_of_a_request(
        make_app, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    app, plugin = ready_app(make_app, session_store=sqlite_url(path))
    count_route(app)
    web = client(app)
    assert web.get('/count').text == '1'
    for leftover in ('-wal', '-shm'):
        if os.path.exists(str(path) + leftover):
            os.remove(str(path) + leftover)
    (tmp_path / 'garbage').write_bytes(b'not a database ' * 100)
    os.replace(tmp_path / 'garbage', path)
    time.sleep(1.1)
    web.get('/count', status=503)
    said = 'the SQLite session store %s failed: file is not a database' % path
    assert store_error_lines(log_dir) == [said]
    assert plugin.store_problem() == said


def test_the_sqlite_file_s_directory_removed_is_named_alike_by_a_request_s_error_line_and_store_problem_until_it_is_back(
        make_app, tmp_path, log_dir):
    """A data volume's directory removed (``rm -rf``) while the app runs: said as such, not as a file that is missing
    (which canister would make again); once the directory is there again, the file is made anew in it."""
    directory = tmp_path / 'data'
    directory.mkdir()
    path = directory / 'sessions.db'
    app, plugin = ready_app(make_app, session_store=sqlite_url(path))
    count_route(app)
    web = client(app)
    assert [web.get('/count').text, web.get('/count').text] == ['1', '2']
    shutil.rmtree(str(directory))
    time.sleep(1.1)  # (a connection looks once a second whether its file is still the one it opened)
    web.get('/count', status=503)
    said = ('the SQLite session store %s failed: the directory %s of the SQLite file does not exist (canister makes '
            'the file anew once it does, not the directory)' % (path, directory))
    assert store_error_lines(log_dir) == [said]
    assert plugin.store_problem() == said
    directory.mkdir()
    assert plugin.store_problem() is None
    assert web.get('/count').text == '1'          # (a new file: every session ended with the old one)
    assert os.path.exists(str(path))


READ_ONLY = r'''
import json, os, sys
import bottle, canister
directory, user = sys.argv[1], int(sys.argv[2])
if user != os.geteuid():
    os.setuid(user)     # (as gunicorn's workers do: root may write any file, whatever its mode)
path = os.path.join(directory, 'sessions.db')
plugin = canister.Canister(session_store='sqlite:///' + path, log_path=os.path.join(directory, 'logs'))
bottle.Bottle().install(plugin)
said = [plugin.store_problem()]
os.chmod(path, 0o400)   # (say a restore, or an operator's chmod: the connections open now could still write)
said.append(plugin.store_problem())
os.chmod(path, 0o600)
said.append(plugin.store_problem())
print(json.dumps(said))
'''


def test_store_problem_names_a_sqlite_file_made_read_only_though_the_connections_open_could_still_write(tmp_path):
    """Run as nobody when the tests run as root."""
    with directory_of_nobody() as directory:
        user = nobody_or_me()
        done = run_script(READ_ONLY, directory, str(user), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        path = os.path.join(directory, 'sessions.db')
        assert json.loads(done.stdout) == [
            None,
            'the SQLite session store %s failed: this process (uid %d) may not read and write '
            '%s (owner uid %d, mode 0400): the file and its directory must be writable by the user the app runs as '
            '(a gunicorn master started with --preload and --user makes them as its own user, at install)'
            % (path, user, path, user),
            None]


def test_store_problem_names_a_sqlite_file_whose_write_lock_another_process_holds(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    _, plugin = ready_app(make_app, session_store=sqlite_url(path))
    other = sqlite3.connect(str(path), isolation_level=None)   # (a script, a backup tool: another process's connection)
    try:
        other.execute('BEGIN IMMEDIATE')                       # holds the lock every save needs
        started = time.monotonic()
        assert plugin.store_problem() == 'the SQLite session store %s failed: database is locked' % path
        assert 4.5 < time.monotonic() - started < 9.5          # (after SQLite's busy timeout, as a save: once, not twice)
        other.execute('ROLLBACK')
        assert plugin.store_problem() is None
    finally:
        other.close()


def test_store_problem_waits_for_a_sqlite_lock_let_go_within_the_busy_timeout_and_finds_nothing_wrong(
        make_app, tmp_path):
    """A backup holding the lock for 1.5 s: saves would wait and succeed, so the instance is ready (after the wait,
    which is why the README asks for a probe timeout above 5 s)."""
    path = tmp_path / 'sessions.db'
    _, plugin = ready_app(make_app, session_store=sqlite_url(path))
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        other.execute('BEGIN IMMEDIATE')
        released = []
        release = threading.Timer(1.5, lambda: released.append(other.execute('ROLLBACK') and time.monotonic()))
        release.start()
        started = time.monotonic()
        assert plugin.store_problem() is None
        answered = time.monotonic()
        release.join()
        # it waited for the lock, as a save does, and took it once let go: well within the 5 s busy timeout counted
        # from then (from the release, not from the start: a loaded machine may run the timer late)
        assert 1.4 < answered - started and 0 < answered - released[0] < 3, (started, released, answered)
    finally:
        other.close()


def test_a_sqlite_file_locked_too_long_is_told_in_the_same_words_by_the_ready_route_and_a_requests_503_line(
        make_app, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    app, _ = ready_app(make_app, session_store=sqlite_url(path))
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    other = sqlite3.connect(str(path), isolation_level=None)   # (another process's connection: a backup tool)
    try:
        other.execute('BEGIN IMMEDIATE')                       # held beyond the busy timeout
        assert client(app).get('/ready', status=503).text == 'not ready\n'
        assert client(app).get('/count', status=503).headers['Retry-After'] == '1'
    finally:
        other.close()
    log = read_log(log_dir)
    [not_ready] = re.findall(r'Not ready: (.*)', log)
    [error] = [line for line in log.splitlines() if ' ERROR ' in line and 'Response: ' not in line]
    assert not_ready == 'the SQLite session store %s failed: database is locked' % path
    assert error.endswith('   ' + not_ready), (error, not_ready)     # one condition, one text


def test_store_problem_of_the_memory_store_is_none_and_the_ready_route_sets_no_cookie(make_app):
    app, plugin = ready_app(make_app)
    assert plugin.store_problem() is None
    answer = client(app).get('/ready')
    assert answer.text == 'ready\n' and set_cookies(answer) == []


def test_store_problem_of_a_store_without_check_is_none(make_app):
    app, plugin = ready_app(make_app, store=FourMethodStore())
    assert plugin.store_problem() is None
    assert client(app).get('/ready').text == 'ready\n'


def test_store_problem_turns_the_error_a_check_raises_into_its_description_with_the_password_masked(
        make_app, log_dir):
    store = FailingStore()
    app, plugin = ready_app(make_app, store=store)
    store.down = True
    assert plugin.store_problem() == 'ConnectionError: cannot reach redis://:***@10.0.0.9:6379/0'
    assert client(app).get('/ready', status=503).text == 'not ready\n'
    assert 'hunter2' not in read_log(log_dir)


def test_a_store_of_the_apps_own_whose_check_raises_at_install_starts_with_a_warning_as_the_built_in_ones_do(
        make_app, log_dir):
    store = FailingStore()
    store.down = True
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app, plugin = ready_app(make_app, store=store)
    log = read_log(log_dir)
    assert re.search(r' WARNING .*The session store is unreachable for now \(ConnectionError: cannot reach '
                     r'redis://:\*\*\*@10\.0\.0\.9:6379/0\)', log), log
    assert 'hunter2' not in log
    assert client(app).get('/ready', status=503).text == 'not ready\n'


def counting_ready_app(make_app, redis_server):
    """The README's ``/ready`` app on ``redis_server`` with GET /count, which changes the session; its WebTest
    client (one count made) and a client of the server."""
    app, plugin = ready_app(make_app, session_store=redis_server.url)
    count_route(app)
    web = client(app)
    assert web.get('/count').text == '1'
    return web, redis.Redis(port=redis_server.port)


def test_the_ready_route_answers_503_once_a_full_redis_refused_a_save_and_200_once_it_takes_writes_again(
        make_app, redis_server, log_dir):
    web, server = counting_ready_app(make_app, redis_server)
    server.config_set('maxmemory-policy', 'noeviction')
    server.config_set('maxmemory', '1')                       # full: every write refused, PING still answered
    assert web.get('/ready').text == 'ready\n'                # (no save has failed yet: a PING cannot tell)
    web.get('/count?again', status=503)
    for _ in range(2):                                        # each probe asks again, and says so while it lasts
        assert web.get('/ready', status=503).text == 'not ready\n'
    [line] = {line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines() if 'Not ready: ' in line}
    assert line.startswith("Not ready: the Redis session store is unavailable: command not allowed when used "
                           "memory > 'maxmemory'. (Redis is full (maxmemory reached): raise maxmemory"), line
    server.config_set('maxmemory', '0')
    assert web.get('/ready').text == 'ready\n'
    assert web.get('/count?again').text == '2'
    assert server.keys('canister:session:ready-probe') == [b'canister:session:ready-probe']
    assert 0 < server.pttl('canister:session:ready-probe') <= 1000   # (the probe's key goes within a second)


def test_the_ready_route_answers_503_once_a_read_only_replica_refused_a_request_and_200_once_it_is_a_master(
        make_app, redis_server, log_dir):
    web, server = counting_ready_app(make_app, redis_server)
    with held_port() as nobody:                               # (till it is a master again: no master there)
        server.replicaof('127.0.0.1', nobody)                 # a replica (of a master that is not there yet)
        web.get('/count?again', status=503)                   # the read's PEXPIRE (the session's life) is a write
        assert web.get('/ready', status=503).text == 'not ready\n'
        assert ("Not ready: the Redis session store is unavailable: You can't write against a read only replica. "
                "(the server is a read-only replica now" in read_log(log_dir))
        server.replicaof('NO', 'ONE')
    assert web.get('/ready').text == 'ready\n'
    assert web.get('/count?again').text == '2'


def test_a_readiness_probe_after_a_refused_write_writes_nothing_once_redis_took_its_write(make_app, redis_server):
    web, server = counting_ready_app(make_app, redis_server)
    server.config_set('maxmemory-policy', 'noeviction')
    server.config_set('maxmemory', '1')
    web.get('/count?again', status=503)
    server.config_set('maxmemory', '0')
    web.get('/ready')                                         # the write that says Redis takes writes again
    assert commands_of(redis_server, lambda: [web.get('/ready') for _ in range(3)]) == {'ping': 3}


def test_the_ready_route_answers_503_once_a_redis_short_of_its_min_replicas_to_write_refused_a_save(
        make_app, redis_server, log_dir):
    web, server = counting_ready_app(make_app, redis_server)
    server.config_set('min-replicas-to-write', '1')           # it has none: every write refused (NOREPLICAS)
    web.get('/count?again', status=503)
    assert web.get('/ready', status=503).text == 'not ready\n'
    assert "Not ready: the Redis session store is unavailable: NOREPLICAS Not enough good replicas" in read_log(log_dir)
    server.config_set('min-replicas-to-write', '0')
    assert web.get('/ready').text == 'ready\n'



#: Ways a Redis that answers PING refuses writes: how to make it so (given a port nobody listens on, a
#: ``servers.held_port()``), what it says, how to undo it.
REFUSALS = {
    'short of replicas': (lambda server, _: server.config_set('min-replicas-to-write', '1'),  # it has none
                          'NOREPLICAS Not enough good replicas',
                          lambda server: server.config_set('min-replicas-to-write', '0')),
    'full': (lambda server, _: server.config_set('maxmemory-policy', 'noeviction') and server.config_set('maxmemory', '1'),
             "command not allowed when used memory > 'maxmemory'",
             lambda server: server.config_set('maxmemory', '0')),
    'a replica': (lambda server, nobody: server.replicaof('127.0.0.1', nobody),  # (of a master that is not there)
                  "You can't write against a read only replica",
                  lambda server: server.replicaof('NO', 'ONE')),
    'keys denied': (lambda server, _: server.acl_setuser('default', enabled=True, nopass=True, keys=['other:*'],
                                                         reset_keys=True),   # (PING and ACL SETUSER still allowed)
                    'this user has no permissions to access one of the keys used as arguments',
                    lambda server: server.acl_setuser('default', enabled=True, nopass=True, keys=['*'],
                                                      reset_keys=True)),
}


@pytest.mark.parametrize('refusal', sorted(REFUSALS))
def test_the_ready_route_answers_503_once_redis_refused_the_login_throttles_write_at_a_basic_login(
        make_app, redis_server, log_dir, refusal):
    refuse, words, undo = REFUSALS[refusal]
    app, _ = ready_app(make_app, session_store=redis_server.url, auth_basic_username='alice',
                       auth_basic_password='wonderland')
    app.route('/me', callback=lambda: canister.session.user)
    web = client(app)
    server = redis.Redis(port=redis_server.port)
    with held_port() as nobody:                             # (held till the refusal is undone)
        refuse(server, nobody)
        refused = web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}, status=503)
        assert 'retry shortly' in refused.text              # the login throttle's count, written first, was refused
        assert 'the Redis login throttle is unavailable: ' in read_log(log_dir)
        assert web.get('/ready', status=503).text == 'not ready\n'
        assert 'Not ready: the Redis session store is unavailable: %s' % words in read_log(log_dir)
        undo(server)
    assert web.get('/ready').text == 'ready\n'
    assert web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'alice'


def test_each_probe_writes_its_own_not_ready_line_and_the_outages_error_line_is_still_written_once_a_second(
        make_app, redis_server, log_dir, clock):
    app, _ = ready_app(make_app, session_store=redis_server.url)
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    web = client(app)
    redis_server.stop()
    for _ in range(3):
        web.get('/ready', status=503)
        web.get('/count', status=503)
    lines = read_log(log_dir).splitlines()
    down = 'the Redis session store is unavailable: Error 111 connecting'
    assert sum(' WARNING ' in line and 'Not ready: ' + down in line for line in lines) == 3   # one per probe
    assert sum(' ERROR ' in line and line.split(']   ', 1)[1].startswith(down) for line in lines) == 1
    clock.advance(1.5)
    web.get('/ready', status=503)                          # the next line brings the count of the requests alone
    assert re.search(re.escape(down) + r'[^\n]* \(and 2 more like it in process %d in the last' % os.getpid(),
                     read_log(log_dir))


#: Faults of a running app's Redis that only someone's act ends: how to make them (on a client of the server's
#: default user; the app logs in as ``app``), and how to end them.
UNUSABLE = {
    'credentials refused': (lambda admin: admin.acl_setuser('app', enabled=True, passwords=['-pw', '+rotated']),
                            'invalid username-password pair or user is disabled. (Redis refused the credentials: '
                            'fix the user name and password of session_store, then restart the app)'),
    'commands denied': (lambda admin: admin.acl_setuser('app', enabled=True, commands=['-@all', '+ping']),
                        "no permissions to run the 'evalsha' command (Redis refused the user of session_store a "
                        "command or key canister uses"),
    'a command of the scripts denied': (lambda admin: admin.acl_setuser('app', enabled=True, commands=['-get']),
                                        "The user executing the script can't run this command or subcommand (Redis "
                                        "refused the user of session_store a command or key canister uses"),
    'keys denied': (lambda admin: admin.acl_setuser('app', enabled=True, keys=['other:*'],
                                                                   reset_keys=True),
                    'no permissions to access one of the keys used as arguments (Redis refused the user of '
                    'session_store a command or key canister uses'),
}


@pytest.mark.parametrize('fault', sorted(UNUSABLE))
def test_store_problem_of_a_redis_that_refuses_canister_s_user_is_the_error_line_of_a_request_until_it_is_undone(
        make_app, redis_server, log_dir, fault):
    """Credentials or rights taken from the app's Redis user while the app runs (its connections dropped, as a restart
    of Redis does): ``store_problem()`` says what a request's ERROR line says, not the install's words, nor None."""
    refuse, words = UNUSABLE[fault]
    admin = redis.Redis(port=redis_server.port)
    admin.acl_setuser('app', enabled=True, passwords=['+pw'], commands=['+@all'], keys=['*'])
    app, plugin = ready_app(make_app, session_store='redis://app:pw@127.0.0.1:%d/0' % redis_server.port)
    count_route(app)
    web = client(app)
    assert web.get('/count').text == '1'
    refuse(admin)
    admin.client_kill_filter(_type='normal', skipme=True)     # (the app's connections: they log in anew)
    web.get('/count', status=503)
    [said] = store_error_lines(log_dir)
    assert said.startswith('the Redis session store is unavailable: ') and words in said, said
    assert plugin.store_problem() == said
    assert web.get('/ready', status=503).text == 'not ready\n'
    assert 'Not ready: ' + said in read_log(log_dir)
    admin.acl_setuser('app', enabled=True, passwords=['+pw'], commands=['+@all'], keys=['*'])
    assert plugin.store_problem() is None
    assert web.get('/count').text == '2'


@pytest.mark.parametrize('command', ['sadd', 'smembers'])
def test_store_problem_after_a_user_set_command_was_denied_says_so_until_the_user_may_run_it_again(
        make_app, redis_server, log_dir, command):
    """A command only the users' sets run (SADD at a login, SMEMBERS at end_sessions) taken from the app's Redis
    user while the app runs: the readiness check that follows does what those do on a set of its own, as well as
    what a save does, so it does not call Redis ready while every login, or end_sessions, answers 503."""
    admin = redis.Redis(port=redis_server.port)
    admin.acl_setuser('app', enabled=True, passwords=['+pw'], commands=['+@all'], keys=['*'])
    app, plugin = ready_app(make_app, session_store='redis://app:pw@127.0.0.1:%d/0' % redis_server.port)
    web = client(add_session_routes(app))
    assert web.get('/login?name=alice').text == 'ok'
    admin.acl_setuser('app', enabled=True, commands=['-' + command])
    if command == 'sadd':
        client(app).get('/login?name=alice', status=503)
        [said] = store_error_lines(log_dir)
    else:
        with pytest.raises(canister.StoreUnavailable) as failed:
            plugin.end_sessions('alice')
        said = str(failed.value)
    denied = "no permissions to run the '%s' command (Redis refused the user of session_store" % command
    assert denied in said, said
    problem = plugin.store_problem()  # (a login's words name the pipeline's command too: "SADD failed: ...")
    assert problem and problem.startswith('the Redis session store is unavailable: ') and denied in problem, problem
    assert web.get('/ready', status=503).text == 'not ready\n'
    admin.acl_setuser('app', enabled=True, commands=['+' + command])
    assert plugin.store_problem() is None
    assert client(app).get('/login?name=alice').text == 'ok'
    assert plugin.end_sessions('alice') == 2
    assert admin.keys('canister:session:user:\x1f*') == []  # (the probe's set is gone)
