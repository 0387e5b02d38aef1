"""Mistakes in a Redis ``session_store`` that used to pass for an outage: a certificate the app does not trust, or
made out to another host, is a ConfigError at install; a scheme that does not fit what the server speaks, and a
Redis at its ``maxclients``, get a hint in the install's WARNING and in each 503's ERROR line; a password that Redis
would not check gets a WARNING; a user whose ACL denies a command canister runs, or its keys, is a ConfigError naming
what to grant.  A server that is down at install still installs with the WARNING, with no hint.
Real redis-servers, TLS ones with certificates from openssl."""
from __future__ import annotations

import pytest
import redis

import canister
from helpers import ROOT, UNAVAILABLE, client, fill_up, read_log, warning_lines
from redis_topologies import TlsRedis, make_certificates
from servers import HOST, RedisServer, held_port, old_redis_server_binary
from session_kit import Browser, add_session_routes, plugin_of


@pytest.fixture(scope='module')
def tls():
    with TlsRedis() as setup:
        yield setup


def session_app(make_app, url, **config):
    """An app whose ``/count`` changes the session and ``/ping`` needs none."""
    app = make_app(config=dict({'session_store': url, 'session_redis_timeout': 0.5}, **config))

    @app.get('/count')
    def count():
        canister.session.data['count'] = canister.session.data.get('count', 0) + 1
        return str(canister.session.data['count'])

    @app.get('/ping')
    def ping():
        return 'pong'

    return add_session_routes(app)


def error_lines(log_dir):
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'store is unavailable' in line]


def unreachable_warnings(log_dir):
    return [line for line in warning_lines(log_dir) if 'session store is unreachable for now' in line]


def a_503_with_its_error_line(serve, app, log_dir):
    """The ERROR line of a session request that answered 503 (one whose session id Redis would be asked for)."""
    answer = Browser(serve(app), 'x' * 43, follow=False).get('/count')
    assert answer.status == 503 and UNAVAILABLE in answer.text, answer
    errors = error_lines(log_dir)
    assert errors, read_log(log_dir)[-2000:]
    return errors[-1]


# --------------------------------------------------------------------------
# certificates: a ConfigError at install, a hint at request time

def test_a_tls_url_without_ssl_ca_certs_to_a_self_signed_server_is_a_config_error_naming_ssl_ca_certs(
        make_app, tls):
    for url in ('rediss://%s:%d/0' % (HOST, tls.port), tls.url(ca=tls.wrong_ca)):
        with pytest.raises(canister.ConfigError) as refused:
            session_app(make_app, url)
        assert 'CERTIFICATE_VERIFY_FAILED' in str(refused.value), refused.value
        assert 'add ssl_ca_certs=path to the URL' in str(refused.value), refused.value


def test_a_certificate_made_out_to_another_host_is_a_config_error_naming_ssl_check_hostname(make_app, serve, tls):
    url = 'rediss://localhost:%d/0?ssl_ca_certs=%s' % (tls.port, tls.ca)  # (the certificate names 127.0.0.1)
    with pytest.raises(canister.ConfigError) as refused:
        session_app(make_app, url)
    assert 'Hostname mismatch' in str(refused.value), refused.value
    assert 'or add ssl_check_hostname=false to the URL' in str(refused.value), refused.value
    browser = Browser(serve(session_app(make_app, url + '&ssl_check_hostname=false')))
    assert [browser.get('/count').text for _ in range(2)] == ['1', '2']


def test_a_server_certificate_rotated_to_one_of_another_ca_gets_the_hint_in_the_error_line(
        make_app, serve, log_dir, tmp_path):
    with TlsRedis() as rotated:
        app = session_app(make_app, rotated.url())  # installs: the certificate is the CA's
        assert not unreachable_warnings(log_dir)
        other = make_certificates(str(tmp_path / 'other'))
        node = rotated.server
        node.kill()
        node.args[node.args.index('--tls-cert-file') + 1] = other['server.crt']
        node.args[node.args.index('--tls-key-file') + 1] = other['server.key']
        node.tls = {'ca': other['ca.crt']}
        node.start()
        line = a_503_with_its_error_line(serve, app, log_dir)
    assert 'CERTIFICATE_VERIFY_FAILED' in line and 'add ssl_ca_certs=path to the URL' in line, line


# --------------------------------------------------------------------------
# a scheme that does not fit the server: a hint in the WARNING and in the ERROR line

def test_a_redis_url_to_a_tls_only_port_installs_with_a_warning_that_asks_for_rediss(make_app, serve, log_dir, tls):
    app = session_app(make_app, 'redis://%s:%d/0' % (HOST, tls.port))
    warned = unreachable_warnings(log_dir)
    assert len(warned) == 1 and 'does the server require TLS? use rediss://' in warned[0], warned
    line = a_503_with_its_error_line(serve, app, log_dir)
    assert 'does the server require TLS? use rediss://' in line, line


def test_a_rediss_url_to_a_plain_port_installs_with_a_warning_that_asks_for_redis(
        make_app, serve, log_dir, redis_server):
    app = session_app(make_app, 'rediss://%s:%d/0' % (HOST, redis_server.port))
    warned = unreachable_warnings(log_dir)
    assert len(warned) == 1 and 'does the server speak TLS? if not, use redis://' in warned[0], warned
    line = a_503_with_its_error_line(serve, app, log_dir)
    assert 'does the server speak TLS? if not, use redis://' in line, line


def test_a_server_that_is_down_at_install_still_installs_with_the_warning_and_no_tls_hint(make_app, log_dir):
    with held_port() as port:  # (nothing listens there)
        for url in ('redis://%s:%d/0' % (HOST, port), 'rediss://%s:%d/0' % (HOST, port)):
            app = session_app(make_app, url)
            assert canister.Canister in [type(plugin) for plugin in app.plugins]
    warned = unreachable_warnings(log_dir)
    assert len(warned) == 2 and all('TLS' not in line and 'Connection refused' in line for line in warned), warned


# --------------------------------------------------------------------------
# maxclients: a hint, as for a full Redis

def test_a_redis_at_its_maxclients_gets_the_hint_to_raise_maxclients(make_app, serve, log_dir, redis_server):
    holder = redis.Redis(host=HOST, port=redis_server.port)
    holder.config_set('maxclients', 1)  # (this connection is the one)
    try:
        app = session_app(make_app, redis_server.url)
        warned = unreachable_warnings(log_dir)
        assert len(warned) == 1 and 'max number of clients reached' in warned[0], warned
        assert 'raise maxclients' in warned[0], warned
        line = a_503_with_its_error_line(serve, app, log_dir)
        assert 'max number of clients reached' in line and 'raise maxclients' in line, line
    finally:
        holder.config_set('maxclients', 10000)
        holder.close()


# --------------------------------------------------------------------------
# a password Redis does not check

def nopass_warnings(log_dir):
    return [line for line in warning_lines(log_dir) if 'nopass' in line]


def test_a_password_for_a_redis_user_with_nopass_gets_a_warning(make_app, log_dir, redis_server):
    for credentials in ('default:Hush-7731', ':Hush-7731'):  # (redis-py 8 takes a password alone too, as Redis 6+ does)
        url = 'redis://%s@%s:%d/0' % (credentials, HOST, redis_server.port)
        try:
            session_app(make_app, url)
        except canister.ConfigError as refused:  # (redis-py 7 sends AUTH <password>, which Redis refuses then)
            assert credentials == ':Hush-7731' and 'Redis refused the credentials' in str(refused), refused
    warned = nopass_warnings(log_dir)
    assert warned and "the Redis user 'default' has nopass: Redis takes any password for it" in warned[0], warned
    assert all('Hush-7731' not in line for line in read_log(log_dir).splitlines()), 'the password was logged'


def test_a_password_redis_checks_gets_no_warning_nor_one_of_a_user_who_may_not_look_at_acls(
        make_app, log_dir, redis_server):
    admin = redis.Redis(host=HOST, port=redis_server.port)
    try:
        admin.acl_setuser('shop', enabled=True, passwords=['+right'], keys=['*'], commands=['+@all'])
        admin.acl_setuser('quiet', enabled=True, nopass=True, keys=['*'], commands=['+@all', '-acl'])
        for credentials in ('shop:right', 'quiet:anything'):
            session_app(make_app, 'redis://%s@%s:%d/0' % (credentials, HOST, redis_server.port))
        assert not nopass_warnings(log_dir) and not unreachable_warnings(log_dir), warning_lines(log_dir)
        with pytest.raises(canister.ConfigError, match='Redis refused the credentials'):
            session_app(make_app, 'redis://shop:wrong@%s:%d/0' % (HOST, redis_server.port))
    finally:
        admin.close()


def test_on_redis_5_a_password_for_a_server_without_one_is_a_config_error(make_app, started):
    old = RedisServer(binary=old_redis_server_binary())
    started.append(old.start())
    with pytest.raises(canister.ConfigError, match='Redis refused the credentials'):
        session_app(make_app, 'redis://:secret@%s:%d/0' % (HOST, old.port))


# --------------------------------------------------------------------------
# a user whose ACL denies canister a command or its keys: a ConfigError at install, as refused credentials are

#: ACL rules that deny canister's user (``app``) what canister needs: what Redis says, and the ACL SETUSER named.
DENIED = {
    'every command but PING': (dict(commands=['-@all', '+ping'], keys=['*']),
                               "no permissions to run the 'script|load' command", 'ACL SETUSER app +script|load'),
    'EVALSHA': (dict(commands=['+@all', '-evalsha'], keys=['*']),
                "no permissions to run the 'evalsha' command", 'ACL SETUSER app +evalsha'),
    'the keys under the prefix': (dict(commands=['+@all'], keys=['other:*']),
                                  'no permissions to access one of the keys', 'ACL SETUSER app ~shop:session:*'),
    # What canister's scripts run and a request's read alone does not: Redis 7.0 names no command then.
    'SET, which a save runs': (dict(commands=['+@all', '-set'], keys=['*']),
                               "no permissions to run the 'set' command", 'ACL SETUSER app +set'),
    'GET, run by the scripts': (dict(commands=['+@all', '-get'], keys=['*']),
                                "The user executing the script can't run this command",
                                'ACL SETUSER app +get +set +del +pttl +pexpire +incr +decr'),
    'PEXPIRE, run by the read script': (dict(commands=['+@all', '-pexpire'], keys=['*']),
                                        "The user executing the script can't run this command",
                                        'ACL SETUSER app +get +set +del +pttl +pexpire +incr +decr'),
    'the keys under the prefix for writes': (dict(commands=['+@all'], keys=['%R~shop:session:*']),
                                             'no permissions to access one of the keys',
                                             'ACL SETUSER app ~shop:session:*'),
    # What the users' sets need (logins, sessions_of, end_sessions, session_max_per_user): each used to pass the
    # install, then a login, or each end_sessions ("log out everywhere"), answered 503.
    'SADD, which lists a login in its user\'s set': (dict(commands=['+@all', '-sadd'], keys=['*']),
                                                   "no permissions to run the 'sadd' command", 'ACL SETUSER app +sadd'),
    'SRANDMEMBER, which a login reads its user\'s set with': (
        dict(commands=['+@all', '-srandmember'], keys=['*']),
        "no permissions to run the 'srandmember' command", 'ACL SETUSER app +srandmember'),
    'SCARD, which session_max_per_user counts with': (dict(commands=['+@all', '-scard'], keys=['*']),
                                                      "no permissions to run the 'scard' command",
                                                      'ACL SETUSER app +scard'),
    'SMEMBERS, which end_sessions and sessions_of list with': (dict(commands=['+@all', '-smembers'], keys=['*']),
                                                               "no permissions to run the 'smembers' command",
                                                               'ACL SETUSER app +smembers'),
    'PEXPIRETIME, which sessions_of reads expiries with': (dict(commands=['+@all', '-pexpiretime'], keys=['*']),
                                                           "no permissions to run the 'pexpiretime' command",
                                                           'ACL SETUSER app +pexpiretime'),
    'SREM, which takes ended sessions out of a user\'s set': (dict(commands=['+@all', '-srem'], keys=['*']),
                                                             "no permissions to run the 'srem' command",
                                                             'ACL SETUSER app +srem'),
    'the users\' sets under the prefix': (dict(commands=['+@all'], keys=['shop:session:[^u]*']),
                                         'no permissions to access one of the keys',
                                         'ACL SETUSER app ~shop:session:*'),
    'the users\' sets under the prefix for writes': (
        dict(commands=['+@all'], keys=['shop:session:[^u]*', '%R~shop:session:user:*']),
        'no permissions to access one of the keys', 'ACL SETUSER app ~shop:session:*'),
}


@pytest.mark.parametrize('denied', sorted(DENIED))
def test_a_user_whose_acl_denies_what_canister_needs_is_a_config_error_at_install_naming_it(
        make_app, log_dir, redis_server, denied):
    rules, words, grant = DENIED[denied]
    admin = redis.Redis(host=HOST, port=redis_server.port)
    url = 'redis://app:pw@%s:%d/0' % (HOST, redis_server.port)
    try:
        admin.acl_setuser('app', enabled=True, passwords=['+pw'], **rules)
        with pytest.raises(canister.ConfigError) as refused:
            session_app(make_app, url, session_redis_prefix='shop:session:')
        said = str(refused.value)
        assert "Redis refused the user 'app' a command or key canister uses: " in said, said
        assert words in said and grant in said, said
        assert not unreachable_warnings(log_dir), warning_lines(log_dir)
        admin.acl_setuser('app', enabled=True, commands=['+@all'], keys=['shop:session:*'], reset_keys=True)
        app = session_app(make_app, url, session_redis_prefix='shop:session:')
        assert admin.keys('shop:session:*') == []  # (the probe's key and set are gone)
        web = client(app)
        assert [web.get('/count').text for _ in range(2)] == ['1', '2']
        assert not unreachable_warnings(log_dir), warning_lines(log_dir)
        assert [client(app).get('/login?name=alice').text for _ in range(2)] == ['ok', 'ok']
        assert len(plugin_of(app).sessions_of('alice')) == 2
        assert plugin_of(app).end_sessions('alice') == 2
        assert plugin_of(app).sessions_of('alice') == []
    finally:
        admin.close()


def test_a_redis_that_refuses_writes_for_now_at_install_still_installs_and_serves_once_it_takes_them(
        make_app, log_dir, redis_server):
    """The install's probe writes a key of its own: a full Redis refuses it, and that is no ConfigError (it passes)."""
    full = fill_up(redis_server)
    try:
        app = session_app(make_app, redis_server.url, session_redis_prefix='shop:session:')
        assert not unreachable_warnings(log_dir), warning_lines(log_dir)
        assert full.keys('shop:session:*') == []
        full.config_set('maxmemory', '0')
        web = client(app)
        assert [web.get('/count').text for _ in range(2)] == ['1', '2']
    finally:
        full.config_set('maxmemory', '0')
        full.close()


# --------------------------------------------------------------------------
# a user whose ACL denies what tidying runs: a WARNING at install naming the grant (no request needs them)

#: ACL rules that deny canister's user (``app``) a command ``tidy_sessions`` runs: what Redis says, and the grant.
TIDY_DENIED = {
    'SCAN, which walks the keys for the users\' sets': (['+@all', '-scan'], "no permissions to run the 'scan' command",
                                                       'ACL SETUSER app +scan)'),
    'SSCAN, which reads a user\'s set': (['+@all', '-sscan'], "no permissions to run the 'sscan' command",
                                         'ACL SETUSER app +sscan)'),
    'EXISTS, which looks for a listed session\'s key': (['+@all', '-exists'],
                                                        "no permissions to run the 'exists' command",
                                                        'ACL SETUSER app +exists)'),
    'all three': (['+@all', '-scan', '-sscan', '-exists'], "no permissions to run the 'scan' command",
                  'ACL SETUSER app +scan +sscan +exists)'),
}


def tidy_warnings(log_dir):
    return [line for line in warning_lines(log_dir) if 'a command that tidying the users\' sets runs' in line]


def test_the_readme_tells_of_the_warning_for_what_tidying_runs():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert "What only tidying runs (`SCAN`, `SSCAN`, `EXISTS`; see *Tidying the users' sets* below) is checked too, " \
           'and a user denied it gets a WARNING at install, not an error' in readme
    words, grant = TIDY_DENIED["SCAN, which walks the keys for the users' sets"][1:]
    assert ("`canister.session_store: Redis refuses the user 'app' a command that tidying the users' sets runs: this "
            'user has %s; plugin.tidy_sessions() and python -m canister tidy-sessions fail with this user, and the '
            'sets keep the ids of ended sessions (if it tidies: %s`' % (words, grant)) in readme


@pytest.mark.parametrize('denied', sorted(TIDY_DENIED))
def test_a_user_whose_acl_denies_what_tidying_runs_installs_with_a_warning_naming_the_grant(
        make_app, log_dir, redis_server, denied):
    commands, words, grant = TIDY_DENIED[denied]
    admin = redis.Redis(host=HOST, port=redis_server.port)
    url = 'redis://app:pw@%s:%d/0' % (HOST, redis_server.port)
    try:
        admin.acl_setuser('app', enabled=True, passwords=['+pw'], keys=['shop:session:*'], commands=commands,
                          reset_keys=True)
        with pytest.warns(canister.CanisterWarning) as caught:
            app = session_app(make_app, url, session_redis_prefix='shop:session:')
        said = tidy_warnings(log_dir)
        assert len(said) == 1 and said[0].endswith(
            "canister.session_store: Redis refuses the user 'app' a command that tidying the users' sets runs: this "
            'user has %s; plugin.tidy_sessions() and python -m canister tidy-sessions fail with this user, and the '
            'sets keep the ids of ended sessions (if it tidies: %s' % (words, grant)), said
        assert any(said[0].endswith(str(warning.message)) for warning in caught), [str(w.message) for w in caught]
        assert [client(app).get('/login?name=alice').text for _ in range(2)] == ['ok', 'ok']  # (requests work)
        assert plugin_of(app).end_sessions('alice') == 2
        with pytest.raises(canister.StoreUnavailable, match=words):  # (what the warning said fails, fails)
            plugin_of(app).tidy_sessions()
        admin.acl_setuser('app', commands=['+@all'])
        assert plugin_of(app).tidy_sessions() == 0  # (end_sessions took the ids out already)
        assert admin.keys('shop:session:*ready-probe*') == []  # (the probe's set is gone)
    finally:
        admin.close()


def test_a_user_who_may_run_what_tidying_runs_gets_no_warning_of_it(make_app, log_dir, redis_server):
    admin = redis.Redis(host=HOST, port=redis_server.port)
    try:
        admin.acl_setuser('app', enabled=True, passwords=['+pw'], keys=['shop:session:*'], reset_keys=True,
                          commands=['-@all', '+ping', '+script|load', '+evalsha', '+get', '+set', '+del', '+pttl',
                                    '+pexpire', '+incr', '+decr', '+sadd', '+srandmember', '+scard', '+smembers',
                                    '+pexpiretime', '+srem', '+scan', '+sscan', '+exists', '+info', '+config|get'])
        session_app(make_app, 'redis://app:pw@%s:%d/0' % (HOST, redis_server.port),
                    session_redis_prefix='shop:session:')
        assert warning_lines(log_dir) == []
    finally:
        admin.close()


def test_the_tidying_warning_is_logged_by_the_first_check_redis_answers_after_an_install_that_found_it_down(
        make_app, log_dir, redis_server):
    admin = redis.Redis(host=HOST, port=redis_server.port)
    try:
        admin.acl_setuser('app', enabled=True, passwords=['+pw'], keys=['shop:session:*'], reset_keys=True,
                          commands=['+@all', '-scan'])
        redis_server.freeze()
        try:
            with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
                app = session_app(make_app, 'redis://app:pw@%s:%d/0' % (HOST, redis_server.port),
                                  session_redis_prefix='shop:session:')
        finally:
            redis_server.thaw()
        assert tidy_warnings(log_dir) == []
        assert plugin_of(app).store_problem() is None
        assert plugin_of(app).store_problem() is None
        said = tidy_warnings(log_dir)
        assert len(said) == 1 and said[0].endswith('(if it tidies: ACL SETUSER app +scan)'), said
    finally:
        admin.close()
