"""The SQLite store in forked processes: each process uses connections it opened itself.

SQLite forbids using a connection in a child process that did not open it: the child holds
none of its parent's file locks.  canister closes its connections before a fork (the parent
opens them again when it next uses the store), so a child after ``os.fork`` or a gunicorn
worker after ``--preload`` opens its own.
"""
import collections
import os
import shutil
import tempfile
import threading

import pytest

import canister
from helpers import at_once, basic, in_child
from servers import AppServer, Client


pytestmark = pytest.mark.usefixtures('nothing_left_running')


def exit_code(pid):
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_child_forked_after_the_store_was_used_writes_with_it_and_the_parent_reads_that_afterwards(tmp_path):
    store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
    store.save('parent', 'p', 60)

    def child():
        store.save('child', store.load('parent') + 'c', 60)
        store.close()  # as a worker's exit does: the parent's connection must not mind
        return True

    assert exit_code(in_child(child)) == 0
    assert store.load('child') == 'pc'
    store.save('parent', 'p2', 60)
    assert canister.SQLiteStore(str(tmp_path / 'sessions.db')).load('parent') == 'p2'


def test_a_childs_writes_survive_the_parent_closing_the_store_while_the_child_still_uses_it(tmp_path):
    """With the parent's connection in the child, the parent's close checked the WAL in and deleted
    it (the child held no lock to stop it): the child's later write went to the deleted file, lost."""
    path = str(tmp_path / 'sessions.db')
    store = canister.SQLiteStore(path)
    store.save('parent', 'p', 60)
    used, closed = os.pipe(), os.pipe()

    def child():
        ok = store.load('parent') == 'p'
        os.write(used[1], b'.')
        os.read(closed[0], 1)  # until the parent closed its store
        store.save('child', 'c', 60)
        return ok and store.load('child') == 'c'

    pid = in_child(child)
    try:
        assert os.read(used[0], 1) == b'.'
        store.close()
    finally:
        os.write(closed[1], b'.')
    assert exit_code(pid) == 0
    assert canister.SQLiteStore(path).load('child') == 'c'


def test_a_thread_whose_connection_a_fork_closed_opens_another(tmp_path):
    store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
    results, go, forked = [], threading.Event(), threading.Event()

    def other_thread():
        store.save('thread', '1', 60)  # its own connection, closed by the fork below
        go.set()
        forked.wait(30)
        results.append(store.load('thread'))

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert go.wait(30)
    pid = in_child(lambda: store.load('thread') == '1')
    forked.set()
    thread.join(30)
    assert exit_code(pid) == 0
    assert results == ['1']


def test_the_sqlite_login_throttle_counts_in_a_forked_child_too(tmp_path):
    store = canister.SQLiteStore(str(tmp_path / 'sessions.db'))
    throttle = canister._SQLiteThrottle(store, max_failures=2)
    assert throttle.claim('10.0.0.1')[0] == 0  # (the seconds to wait, then the end of the window)
    assert exit_code(in_child(lambda: throttle.claim('10.0.0.1')[0] == 0 and throttle.claim('10.0.0.1')[0] > 0)) == 0
    assert throttle.claim('10.0.0.1')[0] > 0


# --------------------------------------------------------------------------
# gunicorn --preload: the master installs canister (opening the store), then forks the workers

class PreloadedAppServer(AppServer):
    def command(self):
        command = super().command()
        return command[:3] + ['--preload'] + command[3:]


def test_gunicorn_preload_workers_count_sessions_and_logins_together_without_errors(tmp_path):
    server = PreloadedAppServer('preload_app:app', workers=3, env={
        'CANISTER_SESSION_STORE': 'sqlite:///' + str(tmp_path / 'sessions.db'),
        'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    server.start()
    try:
        clients = [Client(server.url) for _ in range(6)]

        def count_to(client, n):
            def run():
                bodies = [client.get('/count') for _ in range(n)]
                return [(b.status, b.json()['counter'] if b.status == 200 else None, b.json().get('pid'))
                        for b in bodies]
            return run

        runs = at_once([count_to(client, 15) for client in clients])
        pids = set()
        for run in runs:
            assert [status for status, _, _ in run] == [200] * 15, run
            assert [counter for _, counter, _ in run] == list(range(15)), run
            pids.update(pid for _, _, pid in run)
        assert len(pids) > 1, 'one worker answered everything'
        assert server.proc.pid not in pids

        web = Client(server.url)
        statuses = collections.Counter()
        for _ in range(4):
            statuses.update(at_once([lambda: web.get('/me', headers={'Authorization': basic('alice', 'wrong')}).status] * 5))
        assert statuses == {401: 5, 429: 15}, (statuses, server.output())
        assert 'Traceback' not in server.output()
    finally:
        server.cleanup()


def _uid_of_nobody():
    try:
        import pwd
        return pwd.getpwnam('nobody').pw_uid
    except (ImportError, KeyError):
        return None


@pytest.mark.skipif(os.geteuid() != 0 or _uid_of_nobody() is None, reason='needs root, and a user nobody to run workers as')
def test_workers_of_another_user_than_the_preloading_master_answer_503_and_log_why(tmp_path):
    """``gunicorn --preload --user nobody`` started as root: the master installs canister and makes the
    file as root, 0600; the workers, as nobody, cannot open it.  The 503s are right, and the ERROR line
    says why (SQLite itself only says ``unable to open database file``)."""
    directory = tempfile.mkdtemp()  # (not under tmp_path, whose parents nobody may not enter)
    os.chmod(directory, 0o755)
    path = os.path.join(directory, 'sessions.db')
    server = AppServer('preload_app:app', args=['--preload', '--user', 'nobody', '--group', str(os.getgid())],
                       env={'CANISTER_SESSION_STORE': 'sqlite:///' + path})
    server.start()
    try:
        answer = Client(server.url).get('/count')
        assert answer.status == 503
        assert answer.text == 'Service unavailable: the session store cannot be reached, retry shortly\n'
        assert ('the SQLite session store %s failed: unable to open database file; this process (uid %d) may not '
                'read and write %s (owner uid 0, mode 0600): the file and its directory must be writable by the user '
                'the app runs as (a gunicorn master started with --preload and --user makes them as its own user, '
                'at install)' % (path, _uid_of_nobody(), path)) in server.output()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_redis_store_used_before_a_fork_works_in_parent_and_child_at_once(redis_server):
    """redis-py opens new connections in a process whose pid changed (so no socket is shared)."""
    store = canister.RedisStore(redis_server.url)
    store.save('parent', 'p', 60)
    store.save('child', 'c', 60)

    def child():
        return all(store.load('child') == 'c' and store.save('child', 'c', 60) is None for _ in range(300))

    pid = in_child(child)
    assert all(store.load('parent') == 'p' for _ in range(300))
    assert exit_code(pid) == 0
    assert store.load('child') == 'c'
