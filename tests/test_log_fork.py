"""canister's log in a forked process: a child never inherits the log's lock held by another thread, nor
the ids its parent gives requests."""
import collections
import os
import threading
import time

import bottle
import pytest

import canister
from helpers import client, finishes_in_child, in_child, read_log
from servers import AppServer, Client, wait_until


def test_a_child_forked_while_another_thread_writes_a_log_line_can_log(tmp_path):
    """A thread is stuck in the middle of writing a line (the log is stdout, a FIFO nobody reads yet: canister
    refuses one as a day's file) when the main thread forks: the fork waits for the line, and the child's own line
    goes out."""
    fifo = str(tmp_path / 'stdout')
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    filler = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    stdout = os.dup(1)
    blocking = os.open(fifo, os.O_WRONLY)  # (an open of its own: O_NONBLOCK is the open's, not the pipe's)
    os.dup2(blocking, 1)
    os.close(blocking)
    app = bottle.Bottle()
    app.config['catchall'] = False
    app.route('/', callback=lambda: 'ok')
    app.install(canister.Canister(log_path='stdout', session_store='memory'))
    try:
        while True:  # fill the pipe: canister's next line waits in os.write, its sink's lock held
            os.write(filler, b'x' * 4096)
    except BlockingIOError:
        pass
    writer = threading.Thread(target=lambda: client(app).get('/'))
    writer.start()
    time.sleep(0.3)
    assert writer.is_alive()
    drained, stop = [], threading.Event()

    def drain():
        time.sleep(1.0)
        while not stop.is_set():
            try:
                drained.append(os.read(reader, 65536))
            except BlockingIOError:
                time.sleep(0.01)

    drainer = threading.Thread(target=drain)
    drainer.start()
    try:
        assert finishes_in_child(lambda: client(app).get('/').text == 'ok', within=30), \
            'the child was stuck on its first log line for 30 s, or its request failed'
        writer.join(30)
        deadline = time.monotonic() + 30  # (both lines are in the pipe now: until the drainer has read them)
        while b''.join(drained).count(b'Response: 200') < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        drainer.join(30)
        app.uninstall(canister.Canister)
        os.dup2(stdout, 1)
        os.close(stdout)
        os.close(filler)
        os.close(reader)
    assert b''.join(drained).count(b'Response: 200') == 2, b''.join(drained)[-2000:]  # the thread's, the child's


@pytest.mark.usefixtures('nothing_left_running')
def test_gunicorn_workers_forked_after_preload_give_requests_ids_no_other_worker_gives(tmp_path):
    """The master imports the app (--preload) and forks three workers: each makes its own request ids,
    so an id in their shared log names one request."""
    server = AppServer('preload_app:app', workers=3, args=['--preload'],
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs')})
    server.start()
    try:
        ids, pids = collections.Counter(), set()
        deadline = time.monotonic() + 30
        while (len(pids) < 3 or sum(ids.values()) < 30) and time.monotonic() < deadline:
            answer = Client(server.url).get('/ping')
            assert answer.status == 200
            ids[answer.headers['X-Request-ID']] += 1
            pids.add(answer.json()['pid'])
        assert len(pids) == 3
        assert [rid for rid, count in ids.items() if count > 1] == []
        prefixes = {rid.rsplit('-', 1)[0] for rid in ids}
        assert len(prefixes) == 3, prefixes   # one per worker
    finally:
        server.cleanup()


def _files_held_in(pid: int, directory) -> list:
    """The files in ``directory`` (deleted ones too) that process ``pid`` holds open."""
    held = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except FileNotFoundError:  # (a descriptor closed meanwhile)
            continue
        if target.startswith(str(directory) + os.sep):
            held.append(target)
    return held


@pytest.mark.usefixtures('nothing_left_running')
def test_the_gunicorn_master_after_preload_holds_no_log_file_open_so_deleting_it_gives_its_room_back(tmp_path):
    """The master installs canister (--preload), writes the banner, forks its workers and writes no line after: it
    held the day's file open for good, so once log_days (or anyone) deleted it, its room stayed taken.  It keeps the
    file for the workers it forks later, until the file is deleted."""
    logs = tmp_path / 'logs'
    server = AppServer('preload_app:app', workers=2, args=['--preload'],
                       env={'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(logs)})
    server.start()
    try:
        # (the master's banner: in the file of the day it started, whenever midnight comes)
        [day_file] = [path for path in logs.glob('log.*') if 'Initializing' in path.read_text()]
        day_file.unlink()
        time.sleep(1.2)
        for _ in range(4):
            assert Client(server.url).get('/ping').status == 200
        wait_until(lambda: _files_held_in(server.proc.pid, logs) == [], 30,  # (it looks once a second)
                   what='the master letting go of the deleted file')
        assert 'GET http://' in read_log(logs)                  # (the workers write on, to the day's file made again)
    finally:
        server.cleanup()


def forked_and_waited() -> None:
    """Fork a child that exits at once (as a ``multiprocessing`` worker might), and wait for it."""
    os.waitpid(in_child(lambda: True), 0)


def test_a_parent_that_forks_is_not_held_up_at_its_next_line_by_a_line_another_process_left_unended(make_app,
                                                                                                     log_dir, clock):
    """The parent opens the day's file again at its next line, as it was: a line another process has just left
    unended (being written, or cut short by a kill) is not waited for, as at the day's first line, but looked at
    once a second as on a file that stayed open."""
    app = make_app()
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    assert web.get('/?before').text == 'ok'
    for round_ in range(3):  # (a fork again only when another job's load slowed the request: one waiting for the
        forked_and_waited()  # line to be a second old would take that second in every round)
        with open(log_dir / ('log.' + time.strftime('%Y-%m-%d', time.localtime(clock.now))), 'ab') as day_file:
            day_file.write(b'another process, mid-line')
        started = time.monotonic()
        assert web.get('/?after-the-fork-%d' % round_).text == 'ok'
        took = time.monotonic() - started
        assert 'GET http://localhost:80/?after-the-fork-%d' % round_ in read_log(log_dir)
        if took < 0.5:
            break
    assert took < 0.5, took


def test_old_files_are_deleted_at_a_new_days_file_not_at_a_parents_next_line_after_a_fork(make_app, log_dir, clock):
    app = make_app(log_days=7)
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    old = log_dir / 'log.2000-01-01'
    old.write_text('a file of long ago, put back after the install\n')
    forked_and_waited()
    assert web.get('/?after-the-fork').text == 'ok'
    assert old.exists()
    assert 'GET http://localhost:80/?after-the-fork' in read_log(log_dir)
    clock.advance(86400)
    assert web.get('/?the-day-after').text == 'ok'
    assert not old.exists()
