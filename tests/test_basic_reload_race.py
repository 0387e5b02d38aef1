"""Basic: a password check still running when the users file is re-read is not remembered, so a
replaced password stops working once the new file is read, even for a check that overlapped the re-read."""
from __future__ import annotations

import os
import sys
import threading
import time

import canister
from canister import session
from helpers import basic, write_users
from servers import Client, wait_until

SLOW = 2_000_000  # PBKDF2 rounds: a check takes about half a second, long enough to re-read the file during it


def users_file_me_app(make_app, users):
    """An app of the users file ``users`` whose GET /me answers the user logged in (401 for nobody)."""
    app = make_app(auth_basic_users_file=str(users))

    @app.get('/me')
    @canister.require_user
    def me():
        return session.user

    return app


def checking_a_pbkdf2_hash() -> bool:
    """Whether a thread of this process is inside canister's PBKDF2 check of a password (hashlib computes it
    with the GIL released, so the thread's innermost Python frame stays there until the check ends)."""
    return any(frame.f_code is canister._verify_pbkdf2.__code__ for frame in sys._current_frames().values())


def login_status(origin: str, username: str, password: str) -> int:
    """The status of GET /me with these Basic credentials, over a connection of its own."""
    return Client(origin, timeout=30).get('/me', headers={'Authorization': basic(username, password)}).status


def test_a_password_replaced_while_its_check_runs_stops_working(tmp_path, make_app, serve, clock):
    users = tmp_path / 'users.txt'
    users.write_text('alice:%s\nbob:%s\n' % (canister.hash_password('old-password', iterations=SLOW),
                                            canister.hash_password('bob-password', iterations=1000)))
    origin = serve(users_file_me_app(make_app, users))
    assert login_status(origin, 'bob', 'bob-password') == 200  # the file was just looked at: not again for a second
    answers = {}
    write_users(tmp_path / 'users.new', alice='new-password', bob='bob-password')
    alice = threading.Thread(target=lambda: answers.update(old=login_status(origin, 'alice', 'old-password')))
    alice.start()  # reads alice's old hash and checks it, slowly
    wait_until(checking_a_pbkdf2_hash, 30, interval=0.005, what="alice's check against the old hash")
    os.replace(tmp_path / 'users.new', users)  # the admin replaces alice's password
    clock.advance(2)  # past the second between looks at the file
    assert login_status(origin, 'bob', 'bob-password') == 200  # this request re-reads the file
    assert alice.is_alive(), 'the slow check ended before the re-read: the test shows nothing'
    alice.join()
    assert answers['old'] == 200  # checked against the file read when it started
    assert login_status(origin, 'alice', 'new-password') == 200  # the new file is in use
    assert login_status(origin, 'alice', 'old-password') == 401  # and the old password is not remembered


def writer_end(fifo):
    """A write end of the FIFO, once a reader waits in its open (None before: nobody reads it yet)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None


def test_a_read_of_the_users_file_that_ends_after_a_read_of_a_newer_file_is_not_taken(tmp_path, make_app, serve,
                                                                                      clock):
    users = write_users(tmp_path / 'users.txt', alice='old-password')
    old_content = users.read_bytes()
    origin = serve(users_file_me_app(make_app, users))
    # The file becomes a FIFO (a second name kept for its writer): a request that reads it waits until it is
    # written, as a read of a file on a slow disk would.
    os.mkfifo(tmp_path / 'pipe')
    os.link(tmp_path / 'pipe', tmp_path / 'pipe-writer')
    os.replace(tmp_path / 'pipe', users)
    clock.advance(2)  # past the second between looks at the file
    answers = {}
    slow = threading.Thread(target=lambda: answers.update(slow=login_status(origin, 'alice', 'old-password')))
    slow.start()
    writer = wait_until(lambda: writer_end(tmp_path / 'pipe-writer'), 30, what='the request reading the FIFO')
    time.sleep(0.05)  # (the next file's change time is later: the clock of the file system is coarse)
    write_users(tmp_path / 'users.new', alice='new-password')
    os.replace(tmp_path / 'users.new', users)  # the admin replaces alice's password
    clock.advance(2)
    newer = login_status(origin, 'alice', 'new-password')  # reads the new file, and takes it
    os.write(writer, old_content)
    os.close(writer)  # the slow read ends now, with what the file held before
    slow.join(30)

    assert newer == 200
    assert answers['slow'] == 401  # checked against the newer file, not the one it read itself
    assert login_status(origin, 'alice', 'new-password') == 200  # (within the second: the file is not looked at)
    assert login_status(origin, 'alice', 'old-password') == 401
