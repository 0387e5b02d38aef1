"""Tidying the store: ``plugin.tidy_sessions()`` and ``python -m canister tidy-sessions``.

On a real redis-server: the ids of sessions that expired (for real, by their TTL) or were ended
leave their users' sets, live sessions stay listed (an idle one too), a set left empty goes, and
the command prints how many went.  On SQLite the expired rows go; on memory there is nothing to do.
"""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import redis
import webtest

import canister
from helpers import (COOKIE, ROOT, WriteLock, connected_to, cookie_value, run_canister, sigint_as_in_a_terminal,
                     sqlite_url, warning_lines)
from servers import held_port, wait_until
from session_kit import FourMethodStore, add_session_routes, make_store_url, plugin_of

PREFIX = 'canister:session:'


@pytest.fixture
def empty_redis_url(tmp_path, request):
    """The URL of the module's redis-server, emptied."""
    return make_store_url('redis', tmp_path, request)


def remembering_login_app(make_app, **config):
    """``/login?name=`` (``&remember=SECONDS`` gives the session that lifetime) and ``/logout``."""
    return add_session_routes(make_app(**config))


def log_in(app, name, remember=0):
    """Log ``name`` in on a session of its own; its id."""
    response = webtest.TestApp(app).get('/login?name=%s&remember=%d' % (name, remember))
    sid = cookie_value(response)
    assert sid
    return sid


def members(client, user, prefix=PREFIX):
    return {member.decode() for member in client.smembers(prefix + 'user:' + user)}


# --------------------------------------------------------------------------
# Redis

def test_tidy_takes_expired_ids_out_of_a_users_set_and_keeps_a_live_idle_one(make_app, empty_redis_url):
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url, session_timeout=1)
    expired = [log_in(app, 'alice') for _ in range(3)]
    idle = log_in(app, 'alice', remember=600)  # not used again: idle for longer than session_timeout, still live
    time.sleep(1.3)  # the three others expire in Redis by their TTL
    assert members(client, 'alice') == set(expired) | {idle}
    assert plugin_of(app).tidy_sessions() == 3
    assert members(client, 'alice') == {idle}
    assert len(plugin_of(app).sessions_of('alice')) == 1


def test_tidy_deletes_the_set_of_a_user_whose_sessions_all_ended(make_app, empty_redis_url):
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url, session_timeout=1)
    log_in(app, 'bob')
    log_in(app, 'bob')
    time.sleep(1.3)
    assert client.exists(PREFIX + 'user:bob')
    assert plugin_of(app).tidy_sessions() == 2
    assert not client.exists(PREFIX + 'user:bob')


def test_tidy_takes_out_the_ids_of_ended_sessions(make_app, empty_redis_url):
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url)
    ended = log_in(app, 'carol')
    kept = log_in(app, 'carol')
    webtest.TestApp(app).get('/logout', headers={'Cookie': '%s=%s' % (COOKIE, ended)})
    time.sleep(0.05)
    client.delete(PREFIX + ended)  # (as its marker's minute running out would)
    assert plugin_of(app).tidy_sessions() == 1
    assert members(client, 'carol') == {kept}


def test_tidy_leaves_an_id_whose_session_still_has_its_key(make_app, empty_redis_url):
    """A session ended a moment ago is its marker for a minute (a racing request must find it): its
    id stays listed until a later tidy."""
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url)
    ended = log_in(app, 'dave')
    webtest.TestApp(app).get('/logout', headers={'Cookie': '%s=%s' % (COOKIE, ended)})
    assert client.exists(PREFIX + ended)
    assert plugin_of(app).tidy_sessions() == 0
    assert members(client, 'dave') == {ended}


def test_tidy_touches_only_the_sets_under_its_own_prefix_even_one_with_glob_characters(make_app, empty_redis_url):
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url, session_redis_prefix='shop*[1]:')
    live = log_in(app, 'erin')
    client.sadd('shop*[1]:user:erin', 'gone-1', 'gone-2')
    client.sadd('shopX1:user:erin', 'gone-3')  # another app's set, which shop*[1]: as a pattern would match
    client.sadd('shop1:user:erin', 'gone-4')
    assert plugin_of(app).tidy_sessions() == 2
    assert members(client, 'erin', 'shop*[1]:') == {live}
    assert members(client, 'erin', 'shopX1:') == {'gone-3'} and members(client, 'erin', 'shop1:') == {'gone-4'}


def test_tidy_goes_through_sets_larger_than_a_batch(empty_redis_url):
    client = redis.Redis.from_url(empty_redis_url)
    store = canister.RedisStore(empty_redis_url)
    try:
        store.create('live-one', '[{},"frank",0,0,0]', 600, 'frank')
        client.sadd(PREFIX + 'user:frank', *['gone-%d' % index for index in range(300)])  # beyond a small set's encoding
        for index in range(20):
            client.sadd(PREFIX + 'user:user-%d' % index, 'gone')
        assert store.tidy(batch=7) == 320
    finally:
        store.close()
    assert members(client, 'frank') == {'live-one'}
    assert client.keys(PREFIX + 'user:*') == [(PREFIX + 'user:frank').encode()]


# --------------------------------------------------------------------------
# the command

def test_the_command_tidies_the_redis_store_the_config_names_and_prints_how_many(make_app, empty_redis_url, tmp_path):
    client = redis.Redis.from_url(empty_redis_url)
    app = remembering_login_app(make_app, session_store=empty_redis_url, session_redis_prefix='shop:')
    live = log_in(app, 'alice')
    client.sadd('shop:user:alice', 'gone-1', 'gone-2')
    client.sadd('shop:user:bob', 'gone-3')
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nsession_store = %s\nsession_redis_prefix = shop:\n' % empty_redis_url)
    result = run_canister('tidy-sessions', '--config', str(ini), '--batch', '2', cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, 'Removed 3 entries of ended sessions from %s\n' % empty_redis_url, '')
    assert members(client, 'alice', 'shop:') == {live} and not client.exists('shop:user:bob')
    again = run_canister('tidy-sessions', '--store', empty_redis_url, '--prefix', 'shop:', cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, 'Removed 0 entries of ended sessions from %s\n' % empty_redis_url)


def test_the_command_leaves_a_key_that_is_not_a_set_alone_tidies_the_others_and_says_so(empty_redis_url, tmp_path):
    client = redis.Redis.from_url(empty_redis_url)
    client.set(PREFIX + 'user:settings', 'an app of its own under the prefix')
    client.sadd(PREFIX + 'user:alice', 'gone')
    client.sadd(PREFIX + 'user:bob', 'gone')
    result = run_canister('tidy-sessions', '--store', empty_redis_url, '--batch', '1', cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, '')  # (was 1: "the Redis session store is unavailable: WRONGTYPE")
    assert result.stdout == ('Removed 2 entries of ended sessions from %s\nLeft alone 1 key under %suser: that is not '
                             "a set of session ids (does another app use the prefix '%s'?)\n" % (empty_redis_url, PREFIX, PREFIX))
    assert client.get(PREFIX + 'user:settings') == b'an app of its own under the prefix'
    assert not client.exists(PREFIX + 'user:alice', PREFIX + 'user:bob')


def test_the_command_says_in_one_line_that_redis_cannot_be_reached_and_names_the_store(tmp_path):
    with held_port() as port:  # (nothing listens there)
        url = 'redis://127.0.0.1:%d/0' % port
        result = run_canister('tidy-sessions', '--store', url, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.startswith('python -m canister tidy-sessions: cannot reach %s, nothing was removed: '
                                    'the Redis session store is unavailable: ' % url)
    assert result.stderr.count('\n') == 1


def tidy_command(tmp_path, url: str, *args: str) -> subprocess.Popen:
    """``python -m canister tidy-sessions`` of the Redis store at ``url`` (a 30 s timeout: a frozen server keeps it
    waiting), started: stdout and stderr are pipes of text."""
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nsession_store = %s\nsession_redis_timeout = 30\n' % url)
    return subprocess.Popen([sys.executable, '-m', 'canister', 'tidy-sessions', '--config', str(ini), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8', cwd=str(tmp_path),
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=sigint_as_in_a_terminal)


def interrupted(command: subprocess.Popen, redis_server) -> tuple:
    """Ctrl-C to ``command`` waiting on the frozen ``redis_server``: its status, stdout and stderr (the server thawed)."""
    try:
        time.sleep(1)
        command.send_signal(signal.SIGINT)
        stdout, stderr = command.communicate(timeout=60)
    finally:
        redis_server.thaw()
    return command.returncode, stdout, stderr


def test_the_command_stopped_with_ctrl_c_says_interrupted_in_one_line_and_exits_130(redis_server, tmp_path):
    redis_server.freeze()  # (the command waits on its first answer: long enough to be stopped)
    command = tidy_command(tmp_path, redis_server.url)
    # (its start: the interpreter and its imports take seconds on a busy machine, where a Ctrl-C stops Python)
    wait_until(lambda: command.poll() is None and connected_to(command.pid, redis_server.port), 30,
               what='the command connected to Redis')
    assert interrupted(command, redis_server) == (
        130, '', 'python -m canister tidy-sessions: error: interrupted, nothing was removed from %s\n' % redis_server.url)


def config_writer_once_read(fifo, command: subprocess.Popen) -> int:
    """A writer of the FIFO ``fifo`` (a ``--config``), opened once ``command`` waits to read it, and held without
    writing: the command then waits in its config's read, as on a file system that does not answer."""
    deadline = time.monotonic() + 30  # (the interpreter's start and imports come first)
    while True:
        try:
            return os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # (ENXIO: no reader yet)
            assert command.poll() is None and time.monotonic() < deadline, command.communicate()
            time.sleep(0.05)


@pytest.mark.parametrize('store, said', [((), ''), (('--store', 'sqlite:///sessions.db'), ' from sqlite:///sessions.db')])
def test_the_command_stopped_with_ctrl_c_while_it_reads_its_config_says_that_nothing_was_removed(
        tmp_path, store, said):
    fifo = tmp_path / 'app.ini'
    os.mkfifo(str(fifo))
    command = subprocess.Popen([sys.executable, '-m', 'canister', 'tidy-sessions', '--config', str(fifo), *store],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8', cwd=str(tmp_path),
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=sigint_as_in_a_terminal)
    writer = config_writer_once_read(fifo, command)
    try:
        time.sleep(0.5)
        command.send_signal(signal.SIGINT)
        stdout, stderr = command.communicate(timeout=60)
    finally:
        os.close(writer)
    assert (command.returncode, stdout, stderr) == (
        130, '', 'python -m canister tidy-sessions: error: interrupted, nothing was removed%s\n' % said)


def test_the_command_stopped_with_ctrl_c_partway_says_how_many_entries_it_had_removed(redis_server, tmp_path):
    client = redis.Redis.from_url(redis_server.url)
    sets = 3000
    with client.pipeline(transaction=False) as pipe:
        for index in range(sets):
            pipe.sadd(PREFIX + 'user:user-%d' % index, 'gone')
        pipe.execute()
    command = tidy_command(tmp_path, redis_server.url, '--batch', '1')
    deadline = time.monotonic() + 30
    while client.dbsize() == sets and time.monotonic() < deadline:  # (until it has removed some)
        time.sleep(0.01)
    redis_server.freeze()
    status, stdout, stderr = interrupted(command, redis_server)
    gone = sets - client.dbsize()  # (what the server removed: the last batch may have gone unconfirmed)
    said = re.fullmatch(r'python -m canister tidy-sessions: error: interrupted after removing (\d+) entr(y|ies) of '
                        r'ended sessions from %s \(they stay removed\)\n' % re.escape(redis_server.url), stderr)
    assert (status, stdout) == (130, '') and said, stderr
    assert 0 < int(said.group(1)) <= gone < sets


@pytest.mark.parametrize('url, says', [
    ('redis://127.0.0.1:%d/99', 'canister.session_store: Redis refused the database number: DB index is out of range '
                                '(a Redis server has databases 0 to 15 unless its databases setting gives more)'),
    ('redis+cluster://127.0.0.1:%d', '(the URL is a Cluster URL, redis+cluster://, and the server is not a node of a '
                                     'Redis Cluster: use redis://host:port/db for a single server)'),
])
def test_the_command_refuses_in_one_line_what_an_install_refuses_of_a_redis_server(module_redis_server, tmp_path,
                                                                                     url, says):
    url %= module_redis_server.port
    result = run_canister('tidy-sessions', '--store', url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.startswith('python -m canister tidy-sessions: cannot use %s, nothing was removed: ' % url)
    assert result.stderr.endswith(says + '\n') and result.stderr.count('\n') == 1, result.stderr


def test_the_command_that_loses_redis_partway_says_how_many_ids_it_had_removed(redis_server, tmp_path):
    """The server is SIGKILLed while the command tidies 3,000 sets (one id each, whose session ended),
    a set at a time: its line names the store and counts what went before (at least what the server had
    taken out when it was killed, less the set whose answer was on its way)."""
    import subprocess
    import sys
    client = redis.Redis(port=redis_server.port)
    pipe = client.pipeline(transaction=False)
    for index in range(3000):
        pipe.sadd(PREFIX + 'user:u%d' % index, 'gone')
    pipe.execute()
    url = redis_server.url
    command = subprocess.Popen([sys.executable, '-m', 'canister', 'tidy-sessions', '--store', url, '--batch', '1'],
                               cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while client.dbsize() > 2900 and time.monotonic() < deadline:
            time.sleep(0.005)
        removed_at_least = 3000 - client.dbsize()
        redis_server.kill()
        stdout, stderr = command.communicate(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
        client.close()
    assert (command.returncode, stdout) == (1, '')
    counted = re.fullmatch(r'python -m canister tidy-sessions: tidying %s failed after removing (\d+) entries of '
                           r'ended sessions: the Redis session store is unavailable: [^\n]+\n' % re.escape(url), stderr)
    assert counted, stderr
    assert removed_at_least >= 100  # (the command was killed partway, not before it began)
    assert removed_at_least - 1 <= int(counted.group(1)) < 3000


def test_a_tidy_counts_what_it_removed_and_left_alone_in_batches_that_mix_sets_and_other_keys(redis_server):
    """``tidy_removed`` and ``tidy_skipped``, counted as the tidy goes (the command's line when it fails)."""
    client = redis.Redis(port=redis_server.port)
    for index in range(5):
        client.sadd(PREFIX + 'user:u%d' % index, 'gone')
    client.set(PREFIX + 'user:settings', 'not a set')
    store = canister.RedisStore(redis_server.url)
    try:
        assert store.tidy(batch=2) == 5 and store.tidy_removed == 5 and store.tidy_skipped == 1
        client.sadd(PREFIX + 'user:u9', 'gone')
        redis_server.kill()
        with pytest.raises(canister.StoreUnavailable):
            store.tidy()
        assert store.tidy_removed == 0
    finally:
        store.close()
        client.close()


def test_the_command_deletes_the_expired_rows_of_a_sqlite_file(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    app = remembering_login_app(make_app, session_store=sqlite_url(path), session_timeout=1)
    for _ in range(3):
        log_in(app, 'alice')
    time.sleep(1.3)
    # (the live session from an app with a longer timeout: the command's start may take over a second)
    live = log_in(remembering_login_app(make_app, session_store=sqlite_url(path), session_timeout=3600), 'alice')
    result = run_canister('tidy-sessions', '--store', sqlite_url(path), cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, 'Removed 3 entries of ended sessions from %s\n' % sqlite_url(path), '')
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT sid FROM canister_sessions').fetchall() == [(live,)]


def test_the_command_under_an_ascii_locale_tidies_a_sqlite_file_whose_name_is_not_ascii(make_app, tmp_path):
    app = remembering_login_app(make_app, session_store=sqlite_url(tmp_path / 'José.db'), session_timeout=1)
    for _ in range(2):
        log_in(app, 'alice')
    time.sleep(1.3)
    # (the name's UTF-8 bytes, which an ASCII locale's codec cannot decode: Python keeps them as lone surrogates)
    result = run_canister('tidy-sessions', '--store', 'sqlite:///José.db', cwd=tmp_path,
                          LC_ALL='C', PYTHONUTF8='0', PYTHONCOERCECLOCALE='0')
    assert (result.returncode, result.stdout, result.stderr) == (
        0, 'Removed 2 entries of ended sessions from sqlite:///José.db\n', '')


def test_the_command_does_not_make_a_sqlite_file_that_is_not_there(tmp_path):
    url = sqlite_url(tmp_path / 'typo.db')
    result = run_canister('tidy-sessions', '--store', url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == 'python -m canister tidy-sessions: canister.session_store = %s: there is no such file\n' % url
    assert list(tmp_path.iterdir()) == []


def test_the_command_says_a_sqlite_url_naming_a_directory_names_no_session_file(tmp_path):
    (tmp_path / 'data').mkdir()
    result = run_canister('tidy-sessions', '--store', 'sqlite:///data', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: canister.session_store = sqlite:///data: %s is a '
                             'directory, not a session file\n' % (tmp_path / 'data'))


@pytest.mark.parametrize('command', ['scan', 'sscan', 'exists'])
def test_the_command_that_redis_denies_a_command_of_the_tidy_says_it_cannot_use_the_store(redis_server, tmp_path,
                                                                                          command):
    # (session 37: "cannot reach" a server that had answered, refusing canister's user a command the tidy sends)
    client = redis.Redis.from_url(redis_server.url)
    client.sadd(PREFIX + 'user:alice', 'gone')
    client.acl_setuser('tidier', enabled=True, passwords=['+pw'], keys=['*'], commands=['+@all', '-' + command])
    url = 'redis://tidier:***@127.0.0.1:%d/0' % redis_server.port
    result = run_canister('tidy-sessions', '--store', url.replace('***', 'pw'), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.startswith('python -m canister tidy-sessions: cannot use %s, nothing was removed: the Redis '
                                    'session store is unavailable: ' % url), result.stderr
    assert "this user has no permissions to run the '%s' command" % command in result.stderr
    assert result.stderr.count('\n') == 1 and 'Traceback' not in result.stderr
    assert members(client, 'alice') == {'gone'}


def test_the_command_on_a_sqlite_file_another_connection_holds_says_so_and_to_run_it_again(make_app, tmp_path):
    # (session 37: "cannot reach" the file, which it had reached, and nothing said what to do)
    path = tmp_path / 'sessions.db'
    make_app(session_store=sqlite_url(path))
    with sqlite3.connect(str(path)) as connection:
        connection.execute("INSERT INTO canister_sessions VALUES ('gone', '[]', 1, NULL)")  # (expired long ago)
    lock = WriteLock(path, 60)
    try:
        result = run_canister('tidy-sessions', '--store', sqlite_url(path), cwd=tmp_path)
    finally:
        lock.release()
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == (
        'python -m canister tidy-sessions: cannot use %s, nothing was removed: the SQLite session store %s failed: '
        "database is locked; another connection held the file's write lock all the while (a long write transaction: "
        "another process's, or a sqlite3 shell left in a BEGIN): run the command again once it ends\n"
        % (sqlite_url(path), path))
    assert 'Traceback' not in result.stderr
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT sid FROM canister_sessions').fetchall() == [('gone',)]


def test_the_command_refuses_a_redis_prefix_for_a_sqlite_store(tmp_path):
    url = sqlite_url(tmp_path / 'sessions.db')
    (tmp_path / 'sessions.db').touch()
    result = run_canister('tidy-sessions', '--store', url, '--prefix', 'app1:', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: --prefix names the keys of a Redis store, and %s '
                             'is not one\n' % url)


def test_the_command_has_nothing_to_tidy_in_a_memory_store(tmp_path):
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nsession_store = memory\n')
    result = run_canister('tidy-sessions', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout.startswith('Nothing to tidy: a memory store lives in the process of the app')


@pytest.mark.parametrize('text, misspelt', [
    ('[canister]\nsession_timeout = 60\n', ''), ('[gunicorn]\nworkers = 4\n', ''), ('', ''),
    ('[canister]\nsesion_store = redis://127.0.0.1:6379/0\n', ' (sesion_store: did you mean session_store?)'),
    ('[canister]\nsession_type = sqlite:///s.db\n', ' (session_type: did you mean session_store?)'),
])
def test_the_command_refuses_a_config_file_that_names_no_store(tmp_path, text, misspelt):
    ini = tmp_path / 'app.ini'  # (the wrong file, or a misspelt key: not "nothing to tidy", exit 0, from cron forever)
    ini.write_text(text)
    result = run_canister('tidy-sessions', '--config', str(ini), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.endswith('python -m canister tidy-sessions: --config %s sets no session_store in its '
                                  '[canister] section%s: name the store there, or give --store URL or --store-env '
                                  'NAME\n' % (ini, misspelt))


@pytest.mark.parametrize('name, text, why', [
    ('no-section.ini', b'session_store = memory\n', 'File contains no section headers.'),
    ('latin-1.ini', '[canister]\nsession_store = memory\ncors = caf\xe9\n'.encode('latin-1'),
     "'utf-8' codec can't decode byte 0xe9"),
    ('twice.ini', b'[canister]\nsession_store = memory\nsession_store = memory\n', "option 'session_store' in section "
     "'canister' already exists"),
])
def test_the_command_names_the_config_file_it_cannot_parse(tmp_path, name, text, why):
    (tmp_path / name).write_bytes(text)
    result = run_canister('tidy-sessions', '--config', name, cwd=tmp_path, LC_ALL='C.UTF-8')
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr.startswith('python -m canister tidy-sessions: --config %s: ' % name) and why in result.stderr
    assert result.stderr.count('\n') == 1, result.stderr


def test_the_command_says_which_config_file_it_cannot_read(tmp_path):
    result = run_canister('tidy-sessions', '--config', 'missing.ini', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == ('python -m canister tidy-sessions: cannot read --config missing.ini: '
                             'No such file or directory\n')


@pytest.mark.parametrize('args, says', [
    ((), 'name the store: --config FILE, --store URL or --store-env NAME'),
    (('--store', 'memory', '--batch', '0'), "argument --batch: '0' is not a batch size"),
    (('--store', 'memory', '--batch', 'many'), "argument --batch: 'many' is not a batch size"),
    (('--store', 'memory', '--batch', '\u00b2'), "argument --batch: '\u00b2' is not a batch size"),
    (('--store', 'memory', '--all'), 'unrecognized arguments: --all'),
])
def test_the_command_refuses_bad_arguments_with_a_usage_error(tmp_path, args, says):
    result = run_canister('tidy-sessions', *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr.startswith('usage: python -m canister') and says in result.stderr


# --------------------------------------------------------------------------
# the plugin's method

def test_tidy_sessions_of_a_store_without_a_tidy_of_its_own_removes_nothing(make_app):
    app = remembering_login_app(make_app, store=FourMethodStore())
    log_in(app, 'alice')
    assert plugin_of(app).tidy_sessions() == 0


def tidy_refused(make_app, path, early, late):
    """``plugin.tidy_sessions()`` on a SQLite file of ``early`` expired rows and ``late`` ones that an app's
    trigger refuses to delete (the tidy deletes in batches of 1,000, oldest first): the StoreUnavailable it
    raised, and how many rows are left."""
    app = make_app(session_store=sqlite_url(path))
    connection = sqlite3.connect(str(path), isolation_level=None)
    try:
        connection.executemany('INSERT INTO canister_sessions (sid, record, expires) VALUES (?, ?, ?)',
                               [('early%04d' % n, '[]', 1000 + n) for n in range(early)]
                               + [('late%04d' % n, '[]', 5000 + n) for n in range(late)])
        connection.execute("CREATE TRIGGER refused BEFORE DELETE ON canister_sessions WHEN OLD.expires >= 5000 "
                           "BEGIN SELECT RAISE(ABORT, 'the app keeps these rows'); END")
        with pytest.raises(canister.StoreUnavailable) as raised:
            plugin_of(app).tidy_sessions()
        return raised.value, connection.execute('SELECT COUNT(*) FROM canister_sessions').fetchone()[0]
    finally:
        connection.close()


def test_tidy_sessions_that_fails_partway_tells_how_many_entries_it_had_removed(make_app, tmp_path, log_dir):
    """A SQLite file whose second batch of expired rows cannot be deleted (an app's trigger refuses it): the
    first batch, 1,000 rows, stays deleted, and the error the plugin raises says so, as does the log."""
    path = tmp_path / 'sessions.db'
    error, left = tidy_refused(make_app, path, early=1000, late=500)
    assert (error.removed, left) == (1000, 500)
    assert str(error) == 'the SQLite session store %s failed: the app keeps these rows' % path
    assert warning_lines(log_dir)[-1].endswith(
        'Session: tidying the store failed after removing 1000 entries of ended sessions: the SQLite session store '
        '%s failed: the app keeps these rows' % path)


def test_a_tidy_that_fails_at_once_says_nothing_was_removed(make_app, tmp_path, log_dir):
    path = tmp_path / 'sessions.db'
    error, left = tidy_refused(make_app, path, early=0, late=10)
    assert (error.removed, left) == (0, 10)
    assert warning_lines(log_dir)[-1].endswith(
        'Session: the store could not be tidied, nothing was removed: the SQLite session store %s failed: '
        'the app keeps these rows' % path)


def test_a_store_unavailable_raised_elsewhere_has_no_count_of_removed_entries():
    assert canister.StoreUnavailable('down').removed is None


def test_tidy_sessions_needs_the_plugin_installed():
    with pytest.raises(canister.CanisterError, match=r'tidy_sessions and store_problem need the plugin installed on an app'):
        canister.Canister().tidy_sessions()


def test_the_command_masks_the_password_of_the_url_it_names(redis_server, tmp_path):
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command('ACL', 'SETUSER', 'app', 'on', '>app-pw', '~*', '+@all')
    admin.sadd(PREFIX + 'user:alice', 'gone')
    admin.close()
    url = 'redis://app:app-pw@127.0.0.1:%d/0' % redis_server.port
    result = run_canister('tidy-sessions', '--store', url, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout == 'Removed 1 entry of ended sessions from redis://app:***@127.0.0.1:%d/0\n' % redis_server.port


def test_the_commands_store_and_prefix_win_over_the_config_file(empty_redis_url, tmp_path):
    client = redis.Redis.from_url(empty_redis_url)
    client.sadd('shop:user:alice', 'gone')
    client.sadd(PREFIX + 'user:alice', 'gone')
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\nsession_store = memory\nsession_redis_prefix = other:\n')
    result = run_canister('tidy-sessions', '--config', str(ini), '--store', empty_redis_url, '--prefix', 'shop:', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Removed 1 entry of ended sessions from %s\n' % empty_redis_url)
    assert not client.exists('shop:user:alice') and client.exists(PREFIX + 'user:alice')


class TidyingStore(FourMethodStore):
    """A store with a ``tidy`` written as the README gives it: ``tidy(batch)``, the batch required."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def tidy(self, batch):
        self.batches.append(batch)
        return 4


def test_tidy_sessions_calls_a_stores_own_tidy_with_a_batch(make_app):
    store = TidyingStore()
    app = make_app(store=store)
    assert plugin_of(app).tidy_sessions() == 4
    assert store.batches == [1000]


def test_the_command_from_cron_names_where_it_looked_for_a_relative_sqlite_file(tmp_path):
    app_dir, cron_dir = tmp_path / 'app', tmp_path / 'home'
    app_dir.mkdir()
    cron_dir.mkdir()
    (app_dir / 'app.ini').write_text('[canister]\nsession_store = sqlite:///sessions.db\n')
    sqlite3.connect(str(app_dir / 'sessions.db')).close()
    result = run_canister('tidy-sessions', '--config', str(app_dir / 'app.ini'), cwd=cron_dir)
    assert (result.returncode, result.stdout) == (1, '')
    assert result.stderr == (
        'python -m canister tidy-sessions: canister.session_store = sqlite:///sessions.db: there is no such file as '
        '%s (a relative path is read from the directory the command runs in, the home directory under cron: run it '
        'from the directory the app runs in, or write the path absolute, sqlite:////path/to/sessions.db)\n'
        % (cron_dir.resolve() / 'sessions.db'))
    assert list(cron_dir.iterdir()) == []
