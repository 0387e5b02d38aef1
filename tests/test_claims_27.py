"""README sentences added or changed on day 27 that no test checked yet, each through real parts: a real fork
during a real JWKS download, a real ``python -m canister`` whose reader stops reading, and the README's passages
on a logout on a full Redis read together."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

import canister
from helpers import (ROOT, assert_keys_unavailable, bearer, claims, cookieless_client, finishes_in_child, in_background,
                     jwk, readme_section)
from servers import JwksServer, wait_until

README = (ROOT / 'README.md').read_text(encoding='utf-8')


class FirstHeld:
    """For ``JwksServer.held``: holds the first GET until ``set``, and lets every later one through at once."""

    def __init__(self) -> None:
        #: Set to let the first GET go on.
        self.first = threading.Event()
        #: How many GETs came to ``wait``.
        self.calls = 0

    def wait(self, timeout: float) -> bool:
        self.calls += 1
        return self.first.wait(timeout) if self.calls == 1 else True

    def set(self) -> None:
        self.first.set()


def _forked_during_a_download(make_app: Any, late: pathlib.Path) -> bool:
    """One try of the test below: False if the child asked too late to tell (and was let in)."""
    late.unlink(missing_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = JwksServer()
    try:
        server.publish(jwk(key, 'key-1'))
        held = server.held = FirstHeld()  # the parent's download under way until set
        app = make_app(auth_jwt_jwks_url=server.url, auth_jwt_client_id='app', auth_jwt_jwks_refetch=1)
        app.route('/who', callback=lambda: canister.session.user['sub'])
        token = pyjwt.encode(claims(aud='app'), key, algorithm='RS256', headers={'kid': 'key-1'})
        parents = in_background(lambda: cookieless_client(app).get('/who', headers=bearer(token)))
        wait_until(lambda: server.hits == 1, 30, what="the parent's download to reach the JWKS endpoint")

        def in_the_child() -> bool:  # (the child's own download is answered at once)
            first = cookieless_client(app).get('/who', headers=bearer(token), expect_errors=True)
            if first.status_int == 200:  # (asked more than the second after the parent's download began)
                late.touch()
                return first.text == 'alice'
            assert_keys_unavailable(first, retry_after='1')
            time.sleep(int(first.headers['Retry-After']))
            return cookieless_client(app).get('/who', headers=bearer(token)).text == 'alice'

        try:
            assert finishes_in_child(in_the_child, within=30)
            assert server.hits == 2  # the parent's download, then the child's own
        finally:
            held.set()
        assert parents(30).text == 'alice'  # the parent's download ended in the parent, with the key
    finally:
        server.close()
    return not late.exists()


def test_a_child_forked_during_a_jwks_download_downloads_the_keys_itself_once_its_retry_after_has_passed(
        make_app, tmp_path):
    """README, *Locks across a fork*: in the child, a token of a key it does not hold gets 503 "at once, its
    `Retry-After` the seconds until the child may start a download of its own": after those seconds the child's
    own download brings the key, and the token is let in.  The child must ask within the second
    (``auth_jwt_jwks_refetch``) after the parent's download began; a try whose fork load made later than that
    (the child then downloads at once, rightly) is made again, with a new server and app, up to 3 times."""
    late = tmp_path / 'late'
    for _ in range(3):
        if _forked_during_a_download(make_app, late):
            return
    raise AssertionError('the child asked later than a second after the parent\'s download began, 3 times')


def test_help_whose_reader_stopped_reading_ends_with_status_1_and_says_nothing(tmp_path):
    """README: "One whose reader stops reading (`python -m canister keys | head -3`) ends with status 1 and says
    nothing", a `--help` too (the sentence before puts it among the results written to stdout)."""
    for args in (('--help',), ('keys', '--help'), ('keys',)):
        read, write = os.pipe()
        os.close(read)
        try:
            result = subprocess.run([sys.executable, '-m', 'canister', *args], stdout=write, stderr=subprocess.PIPE,
                                    encoding='utf-8', cwd=str(tmp_path), timeout=60,
                                    env=dict(os.environ, PYTHONPATH=str(ROOT)))
        finally:
            os.close(write)
        assert (result.returncode, result.stderr) == (1, ''), args


def test_no_passage_of_the_readme_says_a_logout_on_a_full_redis_answers_503_and_stays_logged_in():
    """A logout on a full Redis logs out (tests/test_redis_full_logout.py); the passages on a full Redis say so,
    and none of them still says the logout answers 503 with its session kept."""
    faults = readme_section('## Reliability')
    scaling = readme_section('## Scaling out')
    assert 'as a login does (a password login' in faults and 'A logout still logs out: Redis refuses' in faults
    assert 'a logout still logs out: where Redis refuses its marker, the session is deleted instead' in scaling
    for passage in (faults, scaling):
        assert 'as a login and a logout do' not in passage
        assert 'a logout that did not happen' not in passage


class _FailingCreates(canister.MemoryStore):
    """A store of the README's *Writing a store* whose ``create`` fails, counting the ``delete``s it is sent."""

    failed_create_writes_nothing = False

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list = []

    def create(self, sid, record, ttl, user_key, moved_from=None):
        raise canister.StoreUnavailable('the test store is down')

    def delete(self, sid):
        self.deleted.append(sid)
        return super().delete(sid)


class _FailingCreatesThatWriteNothing(_FailingCreates):
    failed_create_writes_nothing = True


def test_a_new_sessions_failed_create_is_followed_by_a_delete_unless_the_store_says_it_wrote_nothing(make_app):
    """README, *Writing a store*: canister ``delete``s the new id after a failed ``create``, unless the store sets
    ``failed_create_writes_nothing = True``; ``canister.SessionStore`` has ``False``, the memory and SQLite stores
    ``True``."""
    for store, deletes in ((_FailingCreates(), 1), (_FailingCreatesThatWriteNothing(), 0)):
        app = make_app(store=store)
        app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
        assert cookieless_client(app).get('/count', status=503).status_int == 503
        assert len(store.deleted) == deletes
    assert canister.SessionStore.failed_create_writes_nothing is False
    assert canister.MemoryStore.failed_create_writes_nothing is True
    assert canister.SQLiteStore.failed_create_writes_nothing is True
    assert canister.RedisStore.failed_create_writes_nothing is False
    assert '`failed_create_writes_nothing = True` (`canister.SessionStore` has `False`)' in README
