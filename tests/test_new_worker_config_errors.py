"""A fault that the running workers tolerate (503 on the session's routes) but that an install refuses with a
``ConfigError`` stops gunicorn at the next worker it starts: "Worker failed to boot", the routes that need no
session included (the README, *Redis down at install* under **Sessions**).  tests/apps/session_app.py on two real
gunicorn workers, on a SQLite file replaced by one that is not a database, and on a real redis-server whose
``requirepass`` is changed; one worker is killed (as a crash, ``--max-requests`` or ``--timeout`` would end it)."""
import os
import signal
import time

import pytest
import redis

from helpers import readme_section, sqlite_url
from servers import AppServer, Client, wait_until


def break_sqlite(path):
    """The file replaced by one that is not a database (its -wal and -shm removed)."""
    for leftover in ('-wal', '-shm'):
        if os.path.exists(path + leftover):
            os.remove(path + leftover)
    with open(path + '.new', 'wb') as garbage:
        garbage.write(b'not a database ' * 100)
    os.replace(path + '.new', path)
    time.sleep(1.1)  # (a connection looks once a second whether its file is still the one it opened)


@pytest.mark.parametrize('store', ['sqlite', 'redis'])
def test_a_fault_the_running_workers_answer_503_for_stops_gunicorn_at_the_next_worker_it_starts(
        store, tmp_path, request):
    if store == 'sqlite':
        path = str(tmp_path / 'sessions.db')
        url, refused = sqlite_url(path), 'the SQLite file %s cannot be used: file is not a database' % path
    else:
        redis_server = request.getfixturevalue('redis_server')
        url, refused = redis_server.url, 'canister.session_store: Redis refused the credentials: '
    server = AppServer('session_app:app', server='gunicorn', workers=2,
                       env={'CANISTER_SESSION_STORE': url, 'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    server.start()
    try:
        web = Client(server.url)
        assert web.get('/count').status == 200
        if store == 'sqlite':
            break_sqlite(path)
        else:
            admin = redis.Redis(port=redis_server.port)
            admin.config_set('requirepass', 'rotated')
            admin.execute_command('AUTH', 'rotated')
            admin.client_kill_filter(_type='normal', skipme=True)   # (the workers' connections: they AUTH anew)
            admin.close()
        assert [web.get('/count').status for _ in range(4)] == [503] * 4     # tolerated by the running workers,
        assert [web.get('/ping').status for _ in range(4)] == [200] * 4      # the other routes served
        master = server.proc.pid
        worker = next(pid for pid in server.pids() if pid != master)
        os.kill(worker, signal.SIGKILL)                                      # a crash: gunicorn starts another
        wait_until(lambda: server.proc.poll() is not None, 90, what='gunicorn to stop')   # (beyond its graceful timeout)
        output = server.output()
        assert 'Worker failed to boot' in output and refused in output
    finally:
        if store == 'redis':
            redis.Redis(port=redis_server.port, password='rotated').config_set('requirepass', '')
        server.cleanup()


def test_the_readme_says_so_where_it_tells_of_install_time_mistakes():
    sessions = readme_section('## Sessions')
    assert ('A fault of this kind that starts while the app runs (the SQLite file replaced by one that is not a '
            'database, Redis\'s `requirepass` changed) stops gunicorn too, only later.') in sessions
    assert 'So fix the store or the configuration, then start the server again.' in sessions
