"""HTTP Basic authentication: credentials, hashes, users file, guards, throttling, log hygiene."""
from __future__ import annotations

import base64
import os
import re
import time

import bottle
import pytest

import canister
from canister import session
from helpers import basic, client, cookie_value, read_log, set_cookies, write_users

SHA256_MY_SECRET = '186ef76e9d6a723ecb570d4d9c287487d001e5d35f7ed4a313350a407950318e'


def raw_basic(raw: bytes):
    """An ``Authorization`` header value of the Basic scheme for credentials given as bytes."""
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def me_app(make_app, calls=None, **overrides):
    """An app whose /me route answers with the logged-in user (and counts its calls); /sid with the session id."""
    app = make_app(**overrides)
    calls = calls if calls is not None else []

    @app.get('/me')
    def me():
        calls.append(1)
        return 'user=%s' % session.user

    @app.get('/sid')
    def sid():
        return session.sid

    return app


def alice_app(make_app, calls=None, **overrides):
    overrides.setdefault('auth_basic_username', 'alice')
    overrides.setdefault('auth_basic_password', 'wonderland')
    return me_app(make_app, calls, **overrides)


def private_app(make_app, calls=None):
    """``alice_app`` with GET /private guarded by require_user: 'hello <user>' (and counts its calls)."""
    app = alice_app(make_app)
    calls = calls if calls is not None else []

    @app.get('/private')
    @canister.require_user
    def private():
        calls.append(1)
        return 'hello %s' % session.user

    return app


def assert_basic_challenge(response):
    challenges = response.headers.getall('WWW-Authenticate')
    assert any(c.startswith('Basic realm="') for c in challenges), challenges


# -- valid credentials ---------------------------------------------------------

def test_clear_password_logs_the_user_in(make_app):
    app = alice_app(make_app, auth_basic_encryption='clear')
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.status_int == 200
    assert response.text == 'user=alice'


def test_clear_password_is_the_default_for_a_plain_value(make_app):
    app = alice_app(make_app)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.text == 'user=alice'


def test_sha256_password_accepts_the_matching_clear_password(make_app):
    app = alice_app(make_app, auth_basic_password=SHA256_MY_SECRET, auth_basic_encryption='sha256')
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'my-secret')})
    assert response.text == 'user=alice'


def test_sha256_password_refuses_the_hash_itself_as_password(make_app):
    app = alice_app(make_app, auth_basic_password=SHA256_MY_SECRET, auth_basic_encryption='sha256')
    response = client(app).get('/me', headers={'Authorization': basic('alice', SHA256_MY_SECRET)},
                               expect_errors=True)
    assert response.status_int == 401


HASHES = [('pbkdf2', 1000, 's3cret?'), ('scrypt', 2 ** 10, 'nope')]


@pytest.mark.parametrize('scheme, iterations, wrong', HASHES, ids=[scheme for scheme, _, _ in HASHES])
def test_a_hash_is_recognised_by_its_prefix(make_app, scheme, iterations, wrong):
    stored = canister.hash_password('s3cret!', scheme, iterations=iterations)
    app = alice_app(make_app, auth_basic_password=stored)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 's3cret!')})
    assert response.text == 'user=alice'


@pytest.mark.parametrize('scheme, iterations, wrong', HASHES, ids=[scheme for scheme, _, _ in HASHES])
def test_a_hash_refuses_a_wrong_password(make_app, scheme, iterations, wrong):
    stored = canister.hash_password('s3cret!', scheme, iterations=iterations)
    app = alice_app(make_app, auth_basic_password=stored, auth_basic_encryption=scheme)
    response = client(app).get('/me', headers={'Authorization': basic('alice', wrong)}, expect_errors=True)
    assert response.status_int == 401


def test_a_slow_hash_checked_once_is_taken_without_hashing_for_5_minutes_then_checked_in_full_again(make_app,
                                                                                                    clock):
    """README: a successful check of a slow hash is remembered for 5 minutes.  100,000 rounds take tens of
    milliseconds, a remembered login about one: each full check must take five times the fastest remembered one."""
    app = alice_app(make_app, auth_basic_password=canister.hash_password('wonderland', 'pbkdf2', 100000))
    web = client(app)

    def login_time():
        started = time.perf_counter()
        assert web.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'
        return time.perf_counter() - started

    first = login_time()
    clock.advance(299)
    remembered = min(login_time() for _ in range(10))  # (the fastest of ten: the load of other jobs only adds)
    clock.advance(2)
    again = login_time()
    assert first > 5 * remembered and again > 5 * remembered, (first, remembered, again)


def test_non_ascii_password_is_accepted(make_app):
    stored = canister.hash_password('pässwörd€', 'pbkdf2', iterations=1000)
    app = alice_app(make_app, auth_basic_password=stored)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'pässwörd€')})
    assert response.text == 'user=alice'


def test_password_containing_a_colon_is_accepted(make_app):
    app = alice_app(make_app, auth_basic_password='a:b:c')
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'a:b:c')})
    assert response.text == 'user=alice'


def test_scheme_name_is_case_insensitive(make_app):
    app = alice_app(make_app)
    header = basic('alice', 'wonderland').replace('Basic', 'bAsIc')
    response = client(app).get('/me', headers={'Authorization': header})
    assert response.text == 'user=alice'


def test_config_keys_from_app_config_enable_basic_auth(make_app):
    app = me_app(make_app, config={'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland'})
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'
    assert c.get('/me', headers={'Authorization': basic('alice', 'x')}, expect_errors=True).status_int == 401


def test_successful_login_writes_one_info_line_naming_the_user(make_app, log_dir):
    app = alice_app(make_app)
    client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    lines = [line for line in read_log(log_dir).splitlines() if 'Logged in as: alice' in line]
    assert len(lines) == 1
    assert ' INFO ' in lines[0]


def test_login_rotates_the_session_id_of_a_client_with_a_session(make_app):
    store = canister.MemoryStore()
    app = alice_app(make_app, store=store)

    @app.get('/start')
    def start():
        session.data['cart'] = ['apple']
        return session.sid

    c = client(app)
    first = c.get('/start')
    old_sid = cookie_value(first)
    assert old_sid and first.text == old_sid
    response = c.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    new_sid = cookie_value(response)
    assert response.text == 'user=alice'
    assert new_sid and new_sid != old_sid
    assert store.load(old_sid) in (None, canister._MOVED_TO % new_sid)  # for a minute, a marker naming the new id: no session
    assert store.load(new_sid) is not None
    assert c.get('/me', headers={'Cookie': 'session_id=' + old_sid}).text == 'user=None'


def test_rotated_session_keeps_its_data_and_user(make_app):
    app = alice_app(make_app)

    @app.get('/start')
    def start():
        session.data['cart'] = ['apple']
        return 'ok'

    @app.get('/state')
    def state():
        return '%s %s' % (session.user, session.data.get('cart'))

    c = client(app)
    c.get('/start')
    c.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert c.get('/state').text == "alice ['apple']"


def test_old_session_id_no_longer_works_after_login(make_app):
    app = alice_app(make_app)
    c = client(app)
    old_sid = c.get('/sid').text
    c.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    replay = client(app).get('/me', headers={'Cookie': 'session_id=' + old_sid})
    assert replay.text == 'user=None'


def test_stateless_credentials_leave_no_server_side_session(make_app):
    store = canister.MemoryStore()
    app = alice_app(make_app, store=store)
    c = client(app)
    for _ in range(5):
        response = c.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
        assert response.text == 'user=alice'
        assert set_cookies(response) == []
    assert len(store) == 0


def test_stateless_credentials_do_not_log_the_user_in_for_the_next_request(make_app):
    app = alice_app(make_app)
    c = client(app)
    c.get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert c.get('/me').text == 'user=None'


def test_handler_reading_the_sid_makes_a_basic_login_a_session(make_app):
    app = alice_app(make_app)
    c = client(app)
    response = c.get('/sid', headers={'Authorization': basic('alice', 'wonderland')})
    assert cookie_value(response) == response.text
    assert c.get('/me').text == 'user=alice'


# -- users file ----------------------------------------------------------------

def test_users_file_accepts_each_listed_user(make_app, tmp_path):
    users = tmp_path / 'users'
    users.write_text('alice:%s\nbob:%s\n' % (canister.hash_password('a-pw', 'pbkdf2', iterations=1000),
                                             canister.hash_password('b-pw', 'scrypt', iterations=2 ** 10)))
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    assert c.get('/me', headers={'Authorization': basic('bob', 'b-pw')}).text == 'user=bob'


def test_users_file_accepts_sha256_lines(make_app, tmp_path):
    users = tmp_path / 'users'
    users.write_text('# comment\n\ncarol:sha256:%s\n' % SHA256_MY_SECRET)
    app = me_app(make_app, auth_basic_users_file=str(users))
    response = client(app).get('/me', headers={'Authorization': basic('carol', 'my-secret')})
    assert response.text == 'user=carol'


def test_users_file_refuses_a_wrong_password(make_app, tmp_path):
    users = write_users(tmp_path / 'users', alice='a-pw')
    app = me_app(make_app, auth_basic_users_file=str(users))
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'b-pw')}, expect_errors=True)
    assert response.status_int == 401


def test_a_users_file_that_is_missing_or_a_directory_fails_the_install_naming_the_path_it_read(
        make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(canister.ConfigError) as missing:
        make_app(auth_basic_users_file='users.txt')
    assert str(missing.value) == "canister.auth_basic_users_file = 'users.txt': no such file (%s)" % (
        tmp_path / 'users.txt')
    (tmp_path / 'conf').mkdir()
    with pytest.raises(canister.ConfigError) as directory:
        make_app(auth_basic_users_file='conf')
    assert str(directory.value) == "canister.auth_basic_users_file = 'conf': is a directory, not a file (%s)" % (
        tmp_path / 'conf')


def test_a_users_file_that_is_not_utf8_fails_the_install_saying_so(make_app, tmp_path):
    users = tmp_path / 'users.txt'
    users.write_bytes(b'jos\xe9:' + canister.hash_password('pw', 'pbkdf2', iterations=1000).encode('ascii') + b'\n')
    with pytest.raises(canister.ConfigError) as refused:
        make_app(auth_basic_users_file=str(users))
    message = str(refused.value)
    assert message.startswith("canister.auth_basic_users_file = %r cannot be read: " % str(users)), message
    assert "'utf-8' codec can't decode byte 0xe9" in message


def test_a_users_file_that_turns_unreadable_later_keeps_the_users_read_before_and_logs_why(
        make_app, tmp_path, clock, log_dir):
    users = write_users(tmp_path / 'users', alice='a-pw')
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    users.write_bytes(b'jos\xe9:sha256:00\n')
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(1.1)
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    assert 'Cannot read the users file %s: ' % users in read_log(log_dir)


def test_users_file_works_alongside_the_configured_user(make_app, tmp_path):
    users = write_users(tmp_path / 'users', bob='b-pw')
    app = alice_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'
    assert c.get('/me', headers={'Authorization': basic('bob', 'b-pw')}).text == 'user=bob'


def test_users_file_is_reloaded_when_it_changes(make_app, tmp_path, clock):
    users = write_users(tmp_path / 'users', alice='a-pw')
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    assert c.get('/me', headers={'Authorization': basic('dave', 'd-pw')}, expect_errors=True).status_int == 401
    users.write_text('dave:%s\n# alice was removed\n' % canister.hash_password('d-pw', 'pbkdf2', iterations=1000))
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(0.9)  # the file is looked at once a second: not yet
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    clock.advance(0.2)
    assert c.get('/me', headers={'Authorization': basic('dave', 'd-pw')}).text == 'user=dave'
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}, expect_errors=True).status_int == 401


def test_users_file_password_change_takes_effect_after_reload(make_app, tmp_path, clock):
    users = write_users(tmp_path / 'users', alice='old-pw')
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'old-pw')}).text == 'user=alice'
    write_users(users, alice='new-password')
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(0.9)  # the file is looked at once a second: not yet
    assert c.get('/me', headers={'Authorization': basic('alice', 'old-pw')}).text == 'user=alice'
    clock.advance(0.2)
    assert c.get('/me', headers={'Authorization': basic('alice', 'old-pw')}, expect_errors=True).status_int == 401
    assert c.get('/me', headers={'Authorization': basic('alice', 'new-password')}).text == 'user=alice'


@pytest.mark.parametrize('replace', [False, True], ids=['rewritten', 'replaced'])
def test_a_password_change_is_seen_when_the_file_keeps_its_size_and_time(make_app, tmp_path, clock, replace):
    """rsync -t, cp -p and builds with fixed file times keep the time; a hash keeps its size."""
    users = write_users(tmp_path / 'users', alice='old-pw-1')
    stamp = os.stat(users).st_mtime_ns
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'old-pw-1')}).text == 'user=alice'
    target = tmp_path / 'users.new' if replace else users
    write_users(target, alice='new-pw-2')
    os.utime(target, ns=(stamp, stamp))
    if replace:
        os.replace(target, users)
    assert os.stat(users).st_mtime_ns == stamp
    clock.advance(1.1)
    assert c.get('/me', headers={'Authorization': basic('alice', 'old-pw-1')}, expect_errors=True).status_int == 401
    assert c.get('/me', headers={'Authorization': basic('alice', 'new-pw-2')}).text == 'user=alice'


def test_users_file_bad_line_is_skipped_with_a_warning(make_app, tmp_path, log_dir):
    users = tmp_path / 'users'
    users.write_text('no-hash-here\nalice:%s\n' % canister.hash_password('a-pw', 'pbkdf2', iterations=1000))
    app = me_app(make_app, auth_basic_users_file=str(users))
    assert client(app).get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    assert re.search(r'WARNING .*line 1 ignored', read_log(log_dir))


# -- invalid credentials ---------------------------------------------------------

def assert_refused(app, header, log_dir, calls, forbidden=()):
    response = client(app).get('/me', headers={'Authorization': header}, expect_errors=True)
    assert response.status_int == 401, response
    assert_basic_challenge(response)
    assert calls == []
    assert response.text.strip() != ''
    log = read_log(log_dir)
    warnings = [line for line in log.splitlines() if ' WARNING ' in line and 'Authentication failed' in line]
    assert len(warnings) == 1, log
    for secret in forbidden:
        assert secret not in log
    return response


#: (test id, the Authorization header, the app's config beyond alice_app's, texts that must not reach the log)
REFUSED = [
    ('wrong-password', basic('alice', 'open-sesame'), {}, ['open-sesame', 'wonderland']),
    ('unknown-user', basic('mallory', 'wonderland'), {}, ['wonderland']),
    ('unknown-user-with-hashed-passwords', basic('mallory', 'pw1'),
     {'auth_basic_password': canister.hash_password('pw1', 'pbkdf2', iterations=1000)}, ['pw1']),
    ('bad-base64', 'Basic !!!not-base64!!!', {}, []),
    ('non-ascii-instead-of-base64', 'Basic \u00e9\u00e8\u00ea==', {}, []),
    ('truncated-base64', basic('alice', 'wonderland')[:-3], {}, []),
    ('base64-of-non-utf8-bytes', raw_basic(b'alice:\xff\xfe\xfdwonderland'), {}, []),
    ('latin1-encoded', raw_basic('alice:p\u00e4ssword'.encode('latin-1')), {'auth_basic_password': 'p\u00e4ssword'}, []),
    ('no-colon', raw_basic(b'alicewonderland'), {}, ['alicewonderland']),
    ('too-many-parts', 'Basic a b', {}, []),
    ('credentials-split-by-a-space', basic('alice', 'wonderland') + ' extra', {}, []),
    ('bare-scheme', 'Basic', {}, []),
    ('bare-scheme-with-trailing-space', 'Basic   ', {}, []),
    ('empty-user-and-password', raw_basic(b':'), {}, []),
]


@pytest.mark.parametrize('header,config,forbidden', [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_invalid_credentials_are_refused_with_a_basic_challenge(make_app, log_dir, header, config, forbidden):
    calls = []
    app = alice_app(make_app, calls, **config)
    assert_refused(app, header, log_dir, calls, forbidden=forbidden)


def test_refusal_body_is_json_when_the_client_accepts_json(make_app):
    app = alice_app(make_app)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'x'), 'Accept': 'application/json'},
                               expect_errors=True)
    assert response.status_int == 401
    assert response.content_type == 'application/json'
    assert 'message' in response.json


def test_realm_in_the_challenge_comes_from_the_config(make_app):
    app = alice_app(make_app, auth_realm='Back Office')
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'x')}, expect_errors=True)
    assert any(c.startswith('Basic realm="Back Office"') for c in response.headers.getall('WWW-Authenticate'))


def test_failed_login_with_a_session_keeps_the_session_anonymous(make_app):
    app = alice_app(make_app)
    c = client(app)
    c.get('/sid')
    c.get('/me', headers={'Authorization': basic('alice', 'bad')}, expect_errors=True)
    assert c.get('/me').text == 'user=None'


def test_huge_authorization_header_is_refused_with_431(make_app):
    calls = []
    app = alice_app(make_app, calls)
    header = 'Basic ' + 'A' * 100 * 1024
    response = client(app).get('/me', headers={'Authorization': header}, expect_errors=True)
    assert response.status_int == 431
    assert calls == []


def test_authorization_header_just_under_the_limit_is_not_431(make_app):
    app = alice_app(make_app, max_header_size=1024)
    header = basic('alice', 'wonderland')
    header += ' ' * (1024 - len(header))
    response = client(app).get('/me', headers={'Authorization': header}, expect_errors=True)
    assert response.status_int == 200
    assert response.text == 'user=alice'


# -- anonymous and foreign schemes ------------------------------------------------

def test_request_without_authorization_is_anonymous(make_app):
    calls = []
    app = alice_app(make_app, calls)
    response = client(app).get('/me')
    assert response.status_int == 200
    assert response.text == 'user=None'
    assert calls == [1]


def test_unconfigured_scheme_reaches_the_handler(make_app):
    app = alice_app(make_app)

    @app.get('/custom')
    def custom():
        header = bottle.request.headers.get('Authorization')
        if header == 'Custom xyz':
            session.user = 'custom-user'
        return 'user=%s' % session.user

    response = client(app).get('/custom', headers={'Authorization': 'Custom xyz'})
    assert response.status_int == 200
    assert response.text == 'user=custom-user'


def test_bearer_header_is_left_alone_when_only_basic_is_configured(make_app):
    app = alice_app(make_app)
    response = client(app).get('/me', headers={'Authorization': 'Bearer abc.def.ghi'})
    assert response.status_int == 200
    assert response.text == 'user=None'


def test_unconfigured_scheme_failures_do_not_count_towards_throttling(make_app):
    app = alice_app(make_app, auth_max_failures=2)
    c = client(app)
    for _ in range(4):
        assert c.get('/me', headers={'Authorization': 'Custom nope'}).status_int == 200
    assert c.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'


def test_no_authentication_configured_leaves_basic_headers_alone(make_app):
    app = me_app(make_app)
    response = client(app).get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.status_int == 200
    assert response.text == 'user=None'


# -- guards ----------------------------------------------------------------------

def test_require_user_answers_401_with_a_challenge_when_nobody_is_logged_in(make_app):
    calls = []
    app = private_app(make_app, calls)
    response = client(app).get('/private', expect_errors=True)
    assert response.status_int == 401
    assert_basic_challenge(response)
    assert calls == []


def test_require_user_lets_a_logged_in_user_through(make_app):
    app = private_app(make_app)
    response = client(app).get('/private', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.status_int == 200
    assert response.text == 'hello alice'


def test_require_answers_403_when_the_predicate_fails(make_app):
    calls = []
    app = alice_app(make_app)

    @app.get('/admin')
    @canister.require(lambda user: user == 'root')
    def admin():
        calls.append(1)
        return 'admin area'

    response = client(app).get('/admin', headers={'Authorization': basic('alice', 'wonderland')},
                               expect_errors=True)
    assert response.status_int == 403
    assert calls == []


def test_require_answers_200_when_the_predicate_passes(make_app):
    app = alice_app(make_app)

    @app.get('/admin')
    @canister.require(lambda user: user == 'alice')
    def admin():
        return 'admin area'

    response = client(app).get('/admin', headers={'Authorization': basic('alice', 'wonderland')})
    assert response.status_int == 200
    assert response.text == 'admin area'


@pytest.mark.parametrize('mode', ['cors', 'same-origin', 'no-cors'])
def test_a_page_scripts_401_has_no_basic_challenge_that_would_open_the_browsers_login_dialog(make_app, mode):
    web = client(private_app(make_app))
    fetch = {'Sec-Fetch-Mode': mode, 'Sec-Fetch-Dest': 'empty'}
    nobody = web.get('/private', headers=fetch, status=401)
    wrong = web.get('/me', headers=dict(fetch, Authorization=basic('alice', 'x')), status=401)
    # RFC 9110 wants a challenge on every 401: the Session one, which no browser answers with a dialog
    assert nobody.headers.getall('WWW-Authenticate') == ['Session realm="canister"']
    assert wrong.headers.getall('WWW-Authenticate') == ['Session realm="canister"']
    assert nobody.text == 'Authentication required\n'
    assert wrong.text == 'Authentication failed: wrong user name or password\n'


def test_a_navigation_still_gets_the_basic_challenge(make_app):
    app = alice_app(make_app)
    navigation = {'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document'}
    assert_basic_challenge(client(app).get('/me', headers=dict(navigation, Authorization=basic('alice', 'x')),
                                           status=401))


def test_require_answers_401_not_403_when_nobody_is_logged_in(make_app):
    app = alice_app(make_app)

    @app.get('/admin')
    @canister.require(lambda user: False)
    def admin():
        return 'admin area'

    response = client(app).get('/admin', expect_errors=True)
    assert response.status_int == 401
    assert_basic_challenge(response)


# -- a login form checked with verify_password -------------------------------------

def form_login_app(make_app):
    """An app whose POST /login checks a form with verify_password, as the README's login form does."""
    users = {'alice': canister.hash_password('wonderland', 'pbkdf2', iterations=1000), 'carol': ''}
    app = make_app()

    @app.post('/login')
    def login(username: str, password: str):
        if not canister.verify_password(password, users.get(username, '')):
            bottle.abort(401, 'wrong user name or password')
        session.user = username
        return 'user=%s' % session.user

    return app


def test_a_login_form_lets_in_the_right_password_and_refuses_a_wrong_one(make_app):
    web = client(form_login_app(make_app))
    assert web.post('/login', {'username': 'alice', 'password': 'nope'}, status=401)
    assert web.post('/login', {'username': 'alice', 'password': 'wonderland'}).text == 'user=alice'


@pytest.mark.parametrize('username', ['mallory', 'carol'], ids=['unknown-user', 'user-without-a-stored-password'])
def test_a_login_form_refuses_an_empty_password_where_no_password_is_stored(make_app, username):
    web = client(form_login_app(make_app))
    assert web.post('/login', {'username': username, 'password': ''}, status=401)
    assert 'session_id' not in web.cookies


@pytest.mark.parametrize('stored', [None, ''])
def test_verify_password_is_false_without_a_stored_form(stored):
    assert canister.verify_password('anything', stored) is False
    assert canister.verify_password('', stored) is False
    assert canister.verify_password('', stored, 'clear') is False


@pytest.mark.parametrize('stored', [
    'pbkdf2_sha256:2147483648:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',            # more rounds than hashlib takes
    'scrypt:18446744073709551616:8:1:c2FsdHNhbHQ:ZGlnZXN0ZGlnZXN0',     # an n no C number holds
])
def test_verify_password_is_false_for_a_stored_form_whose_costs_hashlib_cannot_take(stored):
    assert canister.verify_password('anything', stored) is False


def test_verify_password_refuses_a_clear_text_stored_form_with_a_warning_that_says_to_store_a_hash():
    """As the users file does (README: it takes "any form the users file takes")."""
    with pytest.warns(canister.CanisterWarning) as caught:
        assert canister.verify_password('my-secret', 'my-secret') is False
    assert str(caught[0].message) == (
        'canister.verify_password: the stored form is no hash (clear text?) and is refused, as the users file '
        'refuses it: store canister.hash_password(password), or the hash python -m canister hash-password prints')
    assert caught[0].filename == __file__   # the app's line that called it


@pytest.mark.parametrize('stored', [98765432, 2.5, {'hash': 'x'}], ids=['int', 'float', 'dict'])
def test_verify_password_refuses_a_stored_form_that_is_no_text_with_a_warning_not_an_exception(stored):
    # (was AttributeError: 'int' object has no attribute 'startswith')
    with pytest.warns(canister.CanisterWarning) as caught:
        assert canister.verify_password('my-secret', stored) is False
    assert str(caught[0].message) == ('canister.verify_password: the stored form is a value of type %s, not a stored '
                                      'password (text or bytes), and is refused' % type(stored).__name__)
    assert caught[0].filename == __file__   # the app's line that called it


def test_verify_password_compares_clear_text_when_told_the_scheme_is_clear():
    assert canister.verify_password('my-secret', 'my-secret', 'clear') is True
    assert canister.verify_password('other', 'my-secret', 'clear') is False


def test_verify_password_reads_a_stored_form_given_as_utf8_bytes():
    stored = canister.hash_password('s3cret!', 'pbkdf2', iterations=1000)
    assert canister.verify_password('s3cret!', stored.encode('utf-8')) is True
    assert canister.verify_password('other', stored.encode('utf-8')) is False


# -- throttling ------------------------------------------------------------------

def fail(c, times):
    for _ in range(times):
        assert c.get('/me', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True).status_int == 401


def test_too_many_failures_from_one_ip_get_429_with_retry_after(make_app):
    app = alice_app(make_app, auth_max_failures=3)
    c = client(app)
    fail(c, 3)
    response = c.get('/me', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True)
    assert response.status_int == 429
    assert int(response.headers['Retry-After']) >= 1


def test_throttled_ip_gets_429_even_with_the_right_password(make_app):
    calls = []
    app = alice_app(make_app, calls, auth_max_failures=3)
    c = client(app)
    fail(c, 3)
    response = c.get('/me', headers={'Authorization': basic('alice', 'wonderland')}, expect_errors=True)
    assert response.status_int == 429
    assert 'Retry-After' in response.headers
    assert calls == []


def test_failures_below_the_limit_do_not_throttle(make_app):
    app = alice_app(make_app, auth_max_failures=3)
    c = client(app)
    fail(c, 2)
    assert c.get('/me', headers={'Authorization': basic('alice', 'wonderland')}).text == 'user=alice'


def test_throttled_ip_without_credentials_is_unaffected(make_app):
    app = alice_app(make_app, auth_max_failures=3)
    c = client(app)
    fail(c, 3)
    response = c.get('/me')
    assert response.status_int == 200
    assert response.text == 'user=None'


def test_throttling_one_ip_leaves_another_ip_unaffected(make_app):
    app = alice_app(make_app, auth_max_failures=3)
    fail(client(app, REMOTE_ADDR='10.0.0.1'), 3)
    assert client(app, REMOTE_ADDR='10.0.0.1').get(
        '/me', headers={'Authorization': basic('alice', 'wonderland')}, expect_errors=True).status_int == 429
    other = client(app, REMOTE_ADDR='10.0.0.2').get('/me', headers={'Authorization': basic('alice', 'wonderland')})
    assert other.status_int == 200
    assert other.text == 'user=alice'


def test_throttling_is_logged_as_a_warning(make_app, log_dir):
    app = alice_app(make_app, auth_max_failures=3)
    c = client(app)
    fail(c, 3)
    c.get('/me', headers={'Authorization': basic('alice', 'guess')}, expect_errors=True)
    assert re.search(r' WARNING .*Too many failed logins from 127\.0\.0\.1', read_log(log_dir))


# -- log hygiene -----------------------------------------------------------------

def test_no_secret_ever_reaches_the_log_files(make_app, log_dir, tmp_path):
    clear_pw = 'Clear-Pa55word-Zq'
    file_pw = 'File-Pa55word-Xk'
    file_hash = canister.hash_password(file_pw, 'pbkdf2', iterations=1000)
    users = tmp_path / 'users'
    users.write_text('bob:%s\ncarol:sha256:%s\n' % (file_hash, SHA256_MY_SECRET))
    wrong_pw = 'Wrong-Pa55word-Jv'
    app = alice_app(make_app, auth_basic_password=clear_pw, auth_basic_users_file=str(users), log_level='DEBUG',
                    auth_max_failures=100)

    @app.get('/login')
    def login():
        return session.sid

    c = client(app)
    headers = [basic('alice', clear_pw), basic('bob', file_pw), basic('carol', 'my-secret'),
               basic('alice', wrong_pw), basic('bob', wrong_pw), basic('nobody', clear_pw),
               raw_basic(wrong_pw.encode()), 'Basic ' + wrong_pw]
    for header in headers:
        c.get('/me', headers={'Authorization': header}, expect_errors=True)
        c.get('/login?password=%s' % wrong_pw, headers={'Authorization': header}, expect_errors=True)
    log = ''.join(path.read_text(encoding='utf-8', errors='replace') for path in log_dir.iterdir())
    assert 'Logged in as: bob' in log and 'Authentication failed' in log  # the run did log
    for secret in [clear_pw, file_pw, file_hash, file_hash.split(':')[-1], SHA256_MY_SECRET, 'my-secret',
                   wrong_pw] + [h.split(' ', 1)[1] for h in headers if ' ' in h]:
        assert secret not in log, secret


# -- a password given as bytes or another type -----------------------------------

def test_a_password_hash_given_as_bytes_is_the_hash_not_its_repr(make_app):
    stored = canister.hash_password('s3cret!', 'pbkdf2', iterations=1000).encode('ascii')  # as bcrypt.hashpw gives
    app = alice_app(make_app, auth_basic_password=stored)
    assert client(app).get('/me', headers={'Authorization': basic('alice', 's3cret!')}).text == 'user=alice'
    forged = client(app).get('/me', headers={'Authorization': basic('alice', str(stored))}, expect_errors=True)
    assert forged.status_int == 401


@pytest.mark.parametrize('value', [['wonderland'], ('wonderland',), {'wonderland'}, True, object()])
def test_a_password_that_is_not_text_is_refused_at_install_without_echoing_it(make_app, value):
    with pytest.raises(canister.ConfigError) as refused:
        alice_app(make_app, auth_basic_password=value)
    assert 'canister.auth_basic_password' in str(refused.value) and 'expected text' in str(refused.value)
    assert 'wonderland' not in str(refused.value)


def test_a_password_in_bytes_that_are_not_utf8_is_refused_at_install(make_app):
    with pytest.raises(canister.ConfigError, match='not UTF-8'):
        alice_app(make_app, auth_basic_password=b'\xff\xfewonderland')


def test_a_bcrypt_password_longer_than_72_bytes_logs_in_as_older_bcrypt_hashed_it(make_app, tmp_path):
    """bcrypt before 5.0 hashed a longer password as its first 72 bytes (5.0 refuses to): the
    user whose long password such a version hashed logs in with it, and with nothing else."""
    bcrypt = pytest.importorskip('bcrypt', reason='the test extra installs bcrypt')
    password = 'correct horse battery staple, ' * 3  # 90 bytes
    stored = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(4)).decode()  # what bcrypt 4 stored
    users = tmp_path / 'users'
    users.write_text('carol:%s\n' % stored)
    web = client(me_app(make_app, auth_basic_users_file=str(users)))
    assert web.get('/me', headers={'Authorization': basic('carol', password)}).text == 'user=carol'
    assert web.get('/me', headers={'Authorization': basic('carol', password[:60])}, status=401)


def test_a_wall_clock_set_back_an_hour_does_not_keep_a_removed_user_of_the_users_file_for_the_hour(
        make_app, tmp_path, clock):
    """The file is looked at once a second by the wall clock: an NTP step back of an hour used to put off the
    next look by the hour, and a user taken out of the file kept logging in meanwhile."""
    users = write_users(tmp_path / 'users', alice='a-pw', dave='d-pw')
    app = me_app(make_app, auth_basic_users_file=str(users))
    c = client(app)
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}).text == 'user=alice'
    clock.advance(-3600)
    write_users(users, dave='d-pw')
    stamp = time.time() + 5
    os.utime(users, (stamp, stamp))
    clock.advance(1.1)
    assert c.get('/me', headers={'Authorization': basic('alice', 'a-pw')}, expect_errors=True).status_int == 401
    assert c.get('/me', headers={'Authorization': basic('dave', 'd-pw')}).text == 'user=dave'
