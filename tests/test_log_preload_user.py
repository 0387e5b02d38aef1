"""``gunicorn --preload --user`` started as root: the master installs canister as root, so the log directory it
makes (0750) is root's, and the workers, of another user, may not open the day's file by its name there.  They write
to the file the master opened all the same: the first worker, the others, and one gunicorn starts in a killed one's
place.  The tests run as root (as in CI), who can start workers as another user, uid 1234."""
import os
import shutil
import signal
import tempfile
import time

from helpers import read_log, told
from servers import AppServer, Client

#: The workers' user and group (no account needs to exist for gunicorn to run them as it).
WORKERS = 1234


def _served_by(server, pids, first) -> int:
    """Send requests (``/ping?n=first``, ``n=first+1``, ...) until each of ``pids``, and no other pid, has answered
    one; the number of the next request."""
    seen, n, deadline = set(), first, time.monotonic() + 30
    while seen != set(pids) and time.monotonic() < deadline:
        answer = Client(server.url).get('/ping?n=%d' % n)
        assert answer.status == 200
        seen.add(answer.json()['pid'])
        n += 1
    assert seen == set(pids), (seen, pids)
    return n


def _workers(server) -> set:
    """The pids of the server's workers (its master's children), once there are two."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = set(server.pids()) - {server.proc.pid}
        if len(pids) == 2:
            return pids
        time.sleep(0.05)
    raise AssertionError('not two workers: %s' % server.pids())


def test_every_worker_of_a_preloading_root_master_with_user_logs_to_the_days_file_it_opened():
    assert os.geteuid() == 0, 'run as root (as CI does): gunicorn runs the workers as another user'
    directory = tempfile.mkdtemp()  # (not under tmp_path, whose parents the workers' user may not enter)
    os.chmod(directory, 0o755)
    logs = os.path.join(directory, 'logs')
    server = AppServer('preload_app:app', workers=2,
                       args=['--preload', '--user', str(WORKERS), '--group', str(WORKERS)],
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': logs,
                            'CANISTER_LOG_FORMAT': 'json'})
    server.start()
    try:
        assert os.stat(logs).st_uid == 0 and os.stat(logs).st_mode & 0o7777 == 0o750   # (the master's, as root)
        first = _workers(server)
        n = _served_by(server, first, 0)
        time.sleep(1.2)  # (each worker looks at its file once a second: a worker that may not look says nothing)
        n = _served_by(server, first, n)
        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while killed in _workers(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        n = _served_by(server, _workers(server), n)
        log = read_log(logs)
        assert [i for i in range(n) if '?n=%d"' % i not in log and '?n=%d ' % i not in log] == []
        assert told(server.output()) == [], server.output()
        assert 'canister:' not in server.output()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)
