"""Basic auth, and a form login's users from a mapping: an unknown user is checked against a hash of the same
scheme and cost as the users' (the most common one for a mix), so the time of a 401 does not tell which user
names exist, whichever users a client tried before.

Observed without timing: each hash library is wrapped to record the parameters it was given and how the check
ended (a mismatch after the full work, not an early "malformed hash" error, which costs nothing).
"""
from __future__ import annotations

import hashlib
import os
import statistics
import threading
import time
from typing import Any, Dict, List, Tuple

import bottle
import pytest

import canister
from helpers import b64url, basic, client, read_log
from test_form_login import form_app, post_login

bcrypt = pytest.importorskip('bcrypt', reason='the test extra installs bcrypt')
argon2 = pytest.importorskip('argon2', reason='the test extra installs argon2-cffi')


def scrypt_hash(password: str, n: int, r: int, p: int) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 ** 26)
    return 'scrypt:%d:%d:%d:%s:%s' % (n, r, p, b64url(salt), b64url(digest))


def argon2_hash(password: str, **params: Any) -> str:
    return argon2.PasswordHasher(**params).hash(password)


@pytest.fixture
def checks(monkeypatch) -> List[Tuple[Any, ...]]:
    """Every hash computed to check a password: (scheme, its cost parameters, how it ended)."""
    seen: List[Tuple[Any, ...]] = []

    def recording(scheme, real, cost):
        def check(*args, **kwargs):
            try:
                result = real(*args, **kwargs)
            except Exception as error:
                seen.append((scheme, cost(*args, **kwargs), type(error).__name__))
                raise
            seen.append((scheme, cost(*args, **kwargs), 'done'))
            return result
        return check

    monkeypatch.setattr(bcrypt, 'checkpw', recording('bcrypt', bcrypt.checkpw, lambda password, hashed: hashed[:7]))
    parameters = argon2.extract_parameters

    def argon2_cost(hasher, hash, password):
        found = parameters(hash)
        return (found.type, found.version, found.memory_cost, found.time_cost, found.parallelism, found.hash_len)
    monkeypatch.setattr(argon2.PasswordHasher, 'verify', recording('argon2', argon2.PasswordHasher.verify, argon2_cost))
    monkeypatch.setattr(hashlib, 'pbkdf2_hmac', recording(
        'pbkdf2', hashlib.pbkdf2_hmac, lambda name, secret, salt, rounds, *rest: rounds))
    monkeypatch.setattr(hashlib, 'scrypt', recording(
        'scrypt', hashlib.scrypt, lambda secret, salt, n, r, p, **rest: (n, r, p)))
    return seen


def users_file_client(make_app, tmp_path, *lines: str):
    path = tmp_path / 'users.txt'
    path.write_text(''.join(line + '\n' for line in lines))
    app = make_app(auth_basic_users_file=str(path), auth_max_failures=1000)
    app.route('/', callback=lambda: 'hi')
    return client(app), path


def cost_of_check(web, checks, user: str) -> Tuple[Any, ...]:
    """The one hash computed for a failed login of ``user``: (scheme, cost, how it ended)."""
    del checks[:]
    assert web.get('/', headers={'Authorization': basic(user, 'wrong-guess')}, status=401)
    assert len(checks) == 1, checks
    return checks[0]


BCRYPT_ALICE = bcrypt.hashpw(b'alice-pw', bcrypt.gensalt(5)).decode()
BCRYPT_BOB = bcrypt.hashpw(b'bob-pw', bcrypt.gensalt(5)).decode()


def test_an_unknown_user_costs_a_bcrypt_hash_of_the_users_cost(make_app, tmp_path, checks):
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + BCRYPT_ALICE)
    known = cost_of_check(web, checks, 'alice')
    assert known == ('bcrypt', b'$2b$05$', 'done')
    assert cost_of_check(web, checks, 'nobody') == known
    assert cost_of_check(web, checks, 'mallory') == known


def test_an_unknown_user_costs_an_argon2_hash_of_the_users_parameters(make_app, tmp_path, checks):
    stored = argon2_hash('alice-pw', time_cost=2, memory_cost=1024, parallelism=2, hash_len=24)
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + stored)
    known = cost_of_check(web, checks, 'alice')
    assert known[0] == 'argon2' and known[1][2:] == (1024, 2, 2, 24) and known[2] == 'VerifyMismatchError'
    assert cost_of_check(web, checks, 'nobody') == known


def test_an_unknown_user_costs_a_scrypt_hash_of_the_users_n_r_and_p(make_app, tmp_path, checks):
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + scrypt_hash('alice-pw', 2 ** 10, 4, 2))
    known = cost_of_check(web, checks, 'alice')
    assert known == ('scrypt', (2 ** 10, 4, 2), 'done')
    assert cost_of_check(web, checks, 'nobody') == known


def test_an_unknown_user_costs_a_pbkdf2_hash_of_the_users_rounds(make_app, tmp_path, checks):
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + canister.hash_password('alice-pw', iterations=1234))
    known = cost_of_check(web, checks, 'alice')
    assert known == ('pbkdf2', 1234, 'done')
    assert cost_of_check(web, checks, 'nobody') == known


def test_with_a_mix_an_unknown_user_costs_the_most_common_scheme_and_cost(make_app, tmp_path, checks):
    pbkdf2 = canister.hash_password('carol-pw', iterations=1000)
    web, path = users_file_client(make_app, tmp_path, 'carol:' + pbkdf2, 'alice:' + BCRYPT_ALICE, 'bob:' + BCRYPT_BOB)
    assert cost_of_check(web, checks, 'nobody') == ('bcrypt', b'$2b$05$', 'done')
    # the file changes: now most users have pbkdf2 at 2000 rounds
    path.write_text('alice:%s\nbob:%s\ncarol:%s\n' % (
        BCRYPT_ALICE, canister.hash_password('bob-pw', iterations=2000),
        canister.hash_password('carol-pw', iterations=2000)))
    os.utime(path, (os.path.getmtime(path) + 5,) * 2)
    deadline = time.monotonic() + 30
    while True:   # the file is looked at once a second at most
        check = cost_of_check(web, checks, 'nobody')
        if check[0] == 'pbkdf2' or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    assert check == ('pbkdf2', 2000, 'done')


def test_a_malformed_hash_does_not_stop_the_install_and_checks_stay_full_cost(make_app, tmp_path, checks):
    web, _ = users_file_client(make_app, tmp_path, 'eve:$2b$xx$broken', 'alice:' + BCRYPT_ALICE, 'bob:' + BCRYPT_BOB)
    assert cost_of_check(web, checks, 'nobody') == ('bcrypt', b'$2b$05$', 'done')


LEGACY_LINE = 'legacy:sha256:' + hashlib.sha256(b'legacy-pw').hexdigest()


def test_a_wrong_password_of_a_user_with_a_cheaper_hash_also_costs_the_unknown_users_hash(make_app, tmp_path, checks):
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + canister.hash_password('alice-pw', iterations=1234),
                               LEGACY_LINE)
    assert cost_of_check(web, checks, 'legacy') == cost_of_check(web, checks, 'nobody') == ('pbkdf2', 1234, 'done')
    del checks[:]
    assert web.get('/', headers={'Authorization': basic('legacy', 'legacy-pw')}).text == 'hi'
    assert checks == []   # (the right password is not slowed down)


def test_a_1x_sha256_user_among_pbkdf2_users_is_refused_as_slowly_as_an_unknown_name(make_app, tmp_path):
    """Measured side by side: the ratio of the two refusals' median times, not their length."""
    web, _ = users_file_client(make_app, tmp_path, 'alice:' + canister.hash_password('alice-pw', iterations=60000),
                               'bob:' + canister.hash_password('bob-pw', iterations=60000), LEGACY_LINE)
    times: Dict[str, List[float]] = {'legacy': [], 'nobody': []}
    for _ in range(7):
        for user in times:
            started = time.perf_counter()
            web.get('/', headers={'Authorization': basic(user, 'wrong-guess')}, status=401)
            times[user].append(time.perf_counter() - started)
    assert statistics.median(times['legacy']) / statistics.median(times['nobody']) > 0.5, times


# -- a form login's users from a mapping: the same rule, read from the mapping, not from the tries ---------

def failed_form_login(web, checks, user: str) -> List[Tuple[Any, ...]]:
    """The hashes computed for a refused form login of ``user`` (a wrong password)."""
    del checks[:]
    assert post_login(web, user, 'wrong-guess').status_int == 401
    return list(checks)


def test_a_form_logins_unknown_name_costs_the_mappings_most_common_hash_whoever_was_tried_before(make_app, checks):
    users = {'cheap': canister.hash_password('cheap-pw', iterations=1000),
             'alice': canister.hash_password('alice-pw', iterations=5000),
             'bob': canister.hash_password('bob-pw', iterations=5000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    # a known user of a cheaper hash pays an unknown name's check too, and leaves it as it was
    assert failed_form_login(web, checks, 'cheap') == [('pbkdf2', 1000, 'done'), ('pbkdf2', 5000, 'done')]
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    assert failed_form_login(web, checks, 'alice') == [('pbkdf2', 5000, 'done')]


def test_a_form_logins_mapping_is_read_again_when_its_users_change_in_number(make_app, checks):
    users = {'alice': canister.hash_password('alice-pw', iterations=5000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    users.update(bob=canister.hash_password('bob-pw', iterations=2000),
                 carol=canister.hash_password('carol-pw', iterations=2000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 2000, 'done')]


def test_a_form_logins_mapping_holding_a_value_that_is_no_stored_form_still_logs_its_other_users_in(make_app, checks):
    # (reading the mapping's costs met the value and answered every form login with a 500)
    users = {'alice': canister.hash_password('alice-pw', iterations=5000), 'carol': 12345, 'dave': {'hash': 'x'}}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    assert post_login(web, 'alice', 'alice-pw').text == 'user=alice'
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]


def test_trying_a_cheap_known_user_first_does_not_make_a_form_logins_unknown_name_quick(make_app):
    """Measured side by side: the ratio of the median refusal times of an unknown name and a known one of
    the common cost, each taken right after a try of the known user whose hash is cheap."""
    users = {'cheap': canister.hash_password('cheap-pw', iterations=1000),
             'alice': canister.hash_password('alice-pw', iterations=60000),
             'bob': canister.hash_password('bob-pw', iterations=60000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    times: Dict[str, List[float]] = {'nobody': [], 'alice': []}
    for _ in range(7):
        for user in times:
            assert post_login(web, 'cheap', 'wrong-guess').status_int == 401
            started = time.perf_counter()
            assert post_login(web, user, 'wrong-guess').status_int == 401
            times[user].append(time.perf_counter() - started)
    assert statistics.median(times['nobody']) / statistics.median(times['alice']) > 0.5, times


def test_a_form_logins_mapping_whose_users_are_all_rehashed_in_place_gives_unknown_names_the_new_cost(make_app, checks):
    # (read again only when its size changed: the same users rehashed left unknown names at the old cost)
    users = {'alice': canister.hash_password('alice-pw', iterations=5000),
             'bob': canister.hash_password('bob-pw', iterations=5000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    for name in users:
        users[name] = canister.hash_password(name + '-pw', iterations=2000)
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 2000, 'done')]
    assert failed_form_login(web, checks, 'alice') == [('pbkdf2', 2000, 'done')]


def test_a_user_rehashed_in_place_is_refused_at_the_mappings_new_common_cost_and_so_are_unknown_names(make_app,
                                                                                                       checks):
    users = {'alice': canister.hash_password('alice-pw', iterations=5000),
             'bob': canister.hash_password('bob-pw', iterations=5000),
             'carol': canister.hash_password('carol-pw', iterations=2000)}
    web = client(form_app(make_app, users, auth_max_failures=1000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    users['bob'] = canister.hash_password('bob-pw', iterations=2000)   # (as an app upgrading a hash at login does)
    assert failed_form_login(web, checks, 'bob') == [('pbkdf2', 2000, 'done')]
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 2000, 'done')]
    assert failed_form_login(web, checks, 'alice') == [('pbkdf2', 5000, 'done'), ('pbkdf2', 2000, 'done')]


def test_a_form_logins_mapping_built_anew_for_each_request_keeps_its_users_cost_and_follows_a_rehash(make_app, checks):
    rows = {'alice': canister.hash_password('alice-pw', iterations=5000),
            'bob': canister.hash_password('bob-pw', iterations=5000)}
    app = make_app(auth_max_failures=1000)

    @app.post('/login')
    def login(username: str = '', password: str = ''):
        users = {name: ''.join(stored) for name, stored in rows.items()}   # (new dict, new strings: as read from a database)
        if not canister.log_in(username, password, users):
            bottle.abort(401, 'wrong user name or password')
        return 'user=%s' % canister.session.user

    web = client(app)
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    assert post_login(web, 'alice', 'alice-pw').text == 'user=alice'
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 5000, 'done')]
    rows.update(alice=canister.hash_password('alice-pw', iterations=2000),
                bob=canister.hash_password('bob-pw', iterations=2000))
    assert failed_form_login(web, checks, 'nobody') == [('pbkdf2', 2000, 'done')]


#: A bcrypt line whose salt is no salt (its 22nd character, "A", leaves bits a 16-byte salt cannot have): bcrypt
#: refuses it at once, so it names no cost of a check, and least of all cost 31 (days a check).
BCRYPT_BAD_SALT = '$2b$31$' + 'a' * 21 + 'A' + 'b' * 31


def test_a_users_file_bcrypt_line_whose_salt_is_no_salt_is_ignored_as_malformed(make_app, tmp_path, log_dir):
    path = tmp_path / 'users.txt'
    path.write_text('alice:%s\n' % BCRYPT_BAD_SALT)
    make_app(auth_basic_users_file=str(path))
    assert ('Users file %s line 1 ignored: its hash is not a whole bcrypt hash: a part of it is missing or malformed'
            % path) in read_log(log_dir)


def test_a_users_mapping_entry_whose_bcrypt_salt_is_no_salt_does_not_make_unknown_names_cost_its_cost(make_app):
    app = make_app()

    @app.post('/login')
    def login(username: str = '', password: str = ''):
        return 'in' if canister.log_in(username, password, {'alice': BCRYPT_BAD_SALT}) else 'out'

    web, answers = client(app), []
    worker = threading.Thread(target=lambda: answers.append(
        web.post('/login', {'username': 'nobody', 'password': 'pw'}, expect_errors=True).status_int), daemon=True)
    worker.start()
    worker.join(30)   # (a check at bcrypt's cost 31 would take days)
    assert answers == [200] and not worker.is_alive()
