"""Redis URLs of ``session_store``: parsed and checked at install, the same rules for every form."""
from __future__ import annotations

import time

import pytest
import redis
import redis.cluster
import redis.sentinel

import canister
from helpers import client, least_time, read_log
from redis_topologies import ClusterSetup
from servers import AppServer, ServerError
from session_kit import FourMethodStore


@pytest.mark.parametrize('url, why', [
    ('redis://:S3cret@127.0.0.1:1/x', "'x' is not a database number"),
    ('redis://:S3cret@127.0.0.1:port/0', "'port' is not a port number"),
    ('redis://:S3cret@127.0.0.1:1/0?socket_timeout=5', "unknown option 'socket_timeout'"),
    ('rediss://:S3cret@127.0.0.1:1/0?ssl_ca_certs=/no/such/ca.pem', 'ssl_ca_certs: no file /no/such/ca.pem'),
    ('rediss://:S3cret@127.0.0.1:1/0?ssl_cert_reqs=maybe', 'ssl_cert_reqs: expected one of'),
    ('redis://:S3cret@127.0.0.1:1/0?ssl_cert_reqs=none', 'TLS options need a rediss:// scheme'),
    ('redis://:S3cret@127.0.0.1:1,127.0.0.1:2/0', 'a plain Redis URL names one host'),
    ('redis+sentinel://:S3cret@127.0.0.1:26379', 'name the service after the hosts'),
    ('redis+cluster://:S3cret@127.0.0.1:7000/3', 'Redis Cluster has only database 0'),
    ('redis+sentinal://:S3cret@127.0.0.1:26379/m/0', 'the scheme must be one of'),
    ('redis://:S3cret@127.0.0.1:99999/0', "'99999' is not a port number: use 1 to 65535"),
    ('redis://:S3cret@127.0.0.1:0/0', "'0' is not a port number: use 1 to 65535"),
    ('redis+sentinel://:S3cret@127.0.0.1:26379,127.0.0.1:263790/m/0', "'263790' is not a port number: use 1 to 65535"),
    ('redis+cluster://:S3cret@127.0.0.1:70000', "'70000' is not a port number: use 1 to 65535"),
    ('redis://:S3cret@[::1:6379/0', "'[::1:6379': write an IPv6 address in brackets, then the port: [::1]:6379"),
    ('redis://:S3cret@::1/0', "'::1': write an IPv6 address in brackets"),
    ('redis+sentinel://:S3cret@[::1]:26379,[::2/m/0', "'[::2': write an IPv6 address in brackets"),
    ('unix://:S3cret@/run/redis/redis.sock?db=x', "canister.session_store = 'unix://:***@/run/redis/redis.sock?db=x' "
                                                   "is not a valid Redis URL: Invalid value for 'db'"),
])
def test_a_bad_redis_url_is_refused_at_install_saying_why_without_its_password(make_app, log_dir, url, why):
    with pytest.raises(canister.ConfigError) as caught:
        make_app(session_store=url)
    assert why in str(caught.value)
    assert 'S3cret' not in str(caught.value) and 'S3cret' not in read_log(log_dir)


def _output_of_a_gunicorn_that_stops_at_boot(url: str) -> str:
    """What a 2-worker gunicorn serving tests/apps/session_app.py on the store ``url`` wrote, its start having
    failed (it exits within a few seconds: the start stops waiting then), and none of its processes left."""
    server = AppServer('session_app:app', server='gunicorn', workers=2, env={'CANISTER_SESSION_STORE': url},
                       start_timeout=30)  # (the start stops waiting as soon as it exits)
    try:
        with pytest.raises(ServerError):
            server.start()
        left = server.pids()
        # (its master may still be taking its workers down: 90 s, past its 30 s graceful timeout, which it can spend
        # on a second worker still booting, with the slack of a loaded machine)
        for _ in range(900):
            if not left:
                break
            time.sleep(0.1)
            left = server.pids()
        output = server.output()
    finally:
        server.cleanup()
    assert not left, output
    return output


def test_a_cluster_url_whose_port_is_out_of_range_stops_gunicorn_at_boot_saying_why():
    """It used to start, every worker answering 503 for ever, its WARNING calling the store unreachable for now."""
    url = 'redis+cluster://127.0.0.1:70000'
    output = _output_of_a_gunicorn_that_stops_at_boot(url)
    assert ("canister.session_store = %r is not a valid Redis URL: '70000' is not a port number: use 1 to 65535"
            % url) in output
    assert 'unreachable for now' not in output


def test_a_database_number_redis_does_not_have_stops_gunicorn_at_boot_saying_why(redis_server):
    """It used to start, every worker answering 503 for ever, its WARNING calling the store unreachable for now."""
    url = redis_server.url.replace('/0', '/16')     # a server has databases 0 to 15 by default
    output = _output_of_a_gunicorn_that_stops_at_boot(url)
    assert ('canister.session_store: Redis refused the database number: DB index is out of range (a Redis server '
            'has databases 0 to 15 unless its databases setting gives more)') in output
    assert 'unreachable for now' not in output


def test_a_cluster_url_naming_a_single_server_stops_gunicorn_at_boot_saying_why(redis_server):
    """It used to start, every worker answering 503 for ever, its WARNING calling the store unreachable for now."""
    url = 'redis+cluster://127.0.0.1:%d' % redis_server.port
    output = _output_of_a_gunicorn_that_stops_at_boot(url)
    assert ('Cluster mode is not enabled on this node (the URL is a Cluster URL, redis+cluster://, and the server '
            'is not a node of a Redis Cluster: use redis://host:port/db for a single server)') in output
    assert 'unreachable for now' not in output


def test_a_sentinel_url_naming_a_redis_server_instead_of_sentinels_is_refused_at_install(make_app, redis_server):
    """It used to install with a WARNING that the store was unreachable for now, and answer 503 for ever."""
    with pytest.raises(canister.ConfigError) as caught:
        make_app(session_store='redis+sentinel://127.0.0.1:%d/mymaster/0' % redis_server.port)
    # (then redis-py's own words, which differ by version: "No master found for 'mymaster' : 127.0.0.1:...",
    # or the server's "unknown command 'SENTINEL'")
    assert str(caught.value).startswith('canister.session_store: ')
    assert str(caught.value).endswith('(the URL is a Sentinel URL, redis+sentinel://, and an address it lists is a '
                                      'Redis server, not a sentinel: list the sentinels (port 26379 by default), or '
                                      'use redis://host:port/db for a single server)')


def test_a_single_server_url_naming_a_node_of_a_cluster_is_refused_at_install(make_app, log_dir):
    """It used to install, and about two requests in three that made a session answered 503 (``MOVED``)."""
    with ClusterSetup() as cluster:
        node = cluster.url.split('//', 1)[1].split(',')[0]
        with pytest.raises(canister.ConfigError) as caught:
            make_app(session_store='redis://%s/0' % node)
    assert str(caught.value) == ('canister.session_store: the server is a node of a Redis Cluster, which answers only '
                                 'for its own slots (most sessions would answer 503): use redis+cluster://host:port,... '
                                 'to name the Cluster')


def test_a_sentinel_url_makes_a_client_of_the_master_the_sentinels_name():
    store = canister.RedisStore('redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/mymaster/3')
    pool = store.client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == 'mymaster'
    assert pool.connection_kwargs['db'] == 3 and pool.connection_kwargs['password'] == 'pw'
    sentinels = [sentinel.connection_pool.connection_kwargs for sentinel in pool.sentinel_manager.sentinels]
    assert [(kwargs['host'], kwargs['port']) for kwargs in sentinels] == [('127.0.0.1', 1), ('127.0.0.1', 2)]


def test_a_tls_url_gives_its_options_to_the_connections(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('')
    store = canister.RedisStore('rediss://127.0.0.1:6380/2?ssl_ca_certs=%s&ssl_cert_reqs=required' % ca)
    kwargs = store.client.connection_pool.connection_kwargs
    assert store.client.connection_pool.connection_class is redis.SSLConnection
    assert kwargs['ssl_ca_certs'] == str(ca) and kwargs['ssl_cert_reqs'] == 'required' and kwargs['db'] == 2


def test_the_banner_masks_the_password_of_every_redis_url_form(make_app, log_dir):
    apps = []
    # sentinels that refuse connections are not retried for seconds (the least of up to 3 installs: another job's
    # load only adds to an install's time)
    took, tries = least_time(lambda: apps.append(
        make_app(session_store='redis+sentinel://app:S3cret@127.0.0.1:1,127.0.0.1:2/mymaster/0')), below=3)
    assert took < 3, tries
    app = apps[-1]
    app.route('/count', callback=lambda: canister.session.data.update(n=1))  # a session to save
    assert client(app).get('/count', status='*').status_int == 503
    log = read_log(log_dir)
    error = next(line for line in log.splitlines() if ' ERROR ' in line)
    assert "unavailable: No master found for 'mymaster' : 127.0.0.1:1 - " in error and len(error) < 400
    assert 'The session store is unreachable for now' in log
    assert 'S3cret' not in log
    assert 'redis+sentinel://app:***@127.0.0.1:1,127.0.0.1:2/mymaster/0' in log
    # redis-py's text of each sentinel's connection object is cut to its address
    warning = next(line for line in log.splitlines() if 'unreachable for now' in line)
    assert "No master found for 'mymaster' : 127.0.0.1:1 - " in warning and ', 127.0.0.1:2 - ' in warning
    assert 'ConnectionPool' not in log and len(warning) < 450  # (its why in the 503's words, prefix and all)


def test_a_redis_store_takes_a_url_or_a_client_not_both():
    with pytest.raises(canister.ConfigError):
        canister.RedisStore()
    with pytest.raises(canister.ConfigError):
        canister.RedisStore('redis://127.0.0.1:1/0', client=redis.Redis(port=1))


def test_an_unreachable_store_is_reported_on_the_terminal_at_install(make_app):
    with pytest.warns(canister.CanisterWarning, match='The session store is unreachable for now'):
        make_app(session_store='redis://:S3cret@127.0.0.1:1/0')


def test_a_store_without_an_atomic_update_is_reported_on_the_terminal_at_install(make_app):
    with pytest.warns(canister.CanisterWarning, match='has no atomic update'):
        make_app(store=FourMethodStore())


@pytest.mark.parametrize('credentials', [':wrong-password@', 'nobody:wrong-password@', ''])
def test_credentials_redis_refuses_fail_the_install_saying_so(make_app, log_dir, credentials):
    from servers import RedisServer
    server = RedisServer().start()
    try:
        redis.Redis(port=server.port).config_set('requirepass', 'the-right-one')
        url = 'redis://%s127.0.0.1:%d/0' % (credentials, server.port)
        with pytest.raises(canister.ConfigError) as caught:
            make_app(session_store=url)
        assert str(caught.value).startswith('canister.session_store: Redis refused the credentials: ')
        assert 'wrong-password' not in str(caught.value) and 'wrong-password' not in read_log(log_dir)
        assert 'Install failed: canister.session_store: Redis refused the credentials' in read_log(log_dir)
        make_app(session_store='redis://:the-right-one@127.0.0.1:%d/0' % server.port)   # the right one installs
    finally:
        server.cleanup()
