"""A SQLite session store on a disk that fills up (a real tmpfs of 1 MiB, mounted for the test: root only).

The client is told no more than for any store that is down (a 503 whose body says the store cannot
be reached, with ``Retry-After``): the state of the server's disk is not its business.  The operator
reads the cause in the log's ERROR line, SQLite's own words with the file's path; and once there is
room again, sessions are saved again with no restart.
"""
import errno
import os
import subprocess

import pytest

import canister
from helpers import client, read_log, sqlite_url

UNAVAILABLE = 'Service unavailable: the session store cannot be reached, retry shortly\n'


@pytest.fixture
def small_disk(tmp_path):
    """A directory on a file system of its own, 1 MiB in all."""
    path = tmp_path / 'disk'
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip('mounting a tmpfs needs root')
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here: %s' % mounted.stderr.decode(errors='replace').strip())
    try:
        yield path
    finally:
        subprocess.run(['umount', str(path)], check=True)


def fill(directory):
    """Write a file in ``directory`` until its file system has no room left; the file's path."""
    filler = directory / 'filler'
    with open(filler, 'wb', buffering=0) as file:
        try:
            while True:
                file.write(b'\0' * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_on_a_full_disk_the_client_gets_the_generic_503_and_the_log_names_the_cause(small_disk, make_app, log_dir):
    # (small_disk first: unmounted after make_app's uninstall has closed the connections)
    path = small_disk / 'sessions.db'
    app = make_app(session_store=sqlite_url(path))

    @app.get('/note')
    def note():
        canister.session.data['note'] = os.urandom(3000).hex()  # more than one page of SQLite's
        return 'saved'

    assert client(app).get('/note').text == 'saved'
    filler = fill(small_disk)
    answer = client(app).get('/note', status=503)
    assert answer.text == UNAVAILABLE  # nothing of the disk, the path or SQLite
    assert answer.headers['Retry-After'] == '1'
    errors = [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]
    assert len(errors) == 1 and errors[0].endswith(
        'the SQLite session store %s failed: database or disk is full' % path), errors
    filler.unlink()
    assert client(app).get('/note').text == 'saved'  # room again: no restart needed


def test_a_disk_full_at_install_fails_the_install_naming_the_cause(small_disk, make_app):
    fill(small_disk)
    path = small_disk / 'sessions.db'
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store=sqlite_url(path))
    assert str(raised.value) == ('canister.session_store: the SQLite file %s cannot be used: database or disk is full'
                                 % path)
