"""Sentinels that ask for a password of their own, apart from the master's: a ``redis+sentinel://`` URL has no place
for it (its password is the data nodes'), so the app builds the client, as the README shows, and canister runs on
it.  Real servers: a master and a replica with ``requirepass``, and three sentinels given a password of their own
(``ACL SETUSER default``, and ``sentinel-pass`` so that they still talk to each other)."""
import pytest
from redis.sentinel import Sentinel

import canister
from helpers import client, count_route, readme_section, warning_lines
from redis_topologies import SERVICE, SentinelSetup

MASTER_PASSWORD, SENTINELS_PASSWORD = 'master-password', 'sentinels-password'


@pytest.fixture(scope='module')
def guarded_sentinels():
    """A SentinelSetup whose data nodes and sentinels each ask for their own password."""
    with SentinelSetup() as setup:
        for node in setup.servers:  # (the replica too: it may be promoted)
            server = node.client()
            server.config_set('masterauth', MASTER_PASSWORD)
            server.config_set('requirepass', MASTER_PASSWORD)
            server.close()
        for node in setup.sentinels:
            sentinel = node.client()
            sentinel.execute_command('SENTINEL', 'SET', SERVICE, 'auth-pass', MASTER_PASSWORD)
            sentinel.execute_command('SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', SENTINELS_PASSWORD)
            sentinel.close()
        for node in setup.sentinels:
            sentinel = node.client()
            sentinel.execute_command('ACL', 'SETUSER', 'default', 'resetpass', '>' + SENTINELS_PASSWORD)
            sentinel.close()
        yield setup


def test_a_client_built_with_the_sentinels_password_and_the_masters_runs_the_sessions(make_app, guarded_sentinels):
    sentinels = [('127.0.0.1', node.port) for node in guarded_sentinels.sentinels]
    store = canister.RedisStore(client=Sentinel(sentinels, sentinel_kwargs={
        'password': SENTINELS_PASSWORD, 'socket_timeout': 10}).master_for(
            SERVICE, password=MASTER_PASSWORD, socket_timeout=10))
    app = count_route(make_app(store=store))
    web = client(app)
    assert [web.get('/count').text for _ in range(3)] == ['1', '2', '3']


def test_a_sentinel_url_cannot_give_the_sentinels_password_and_installs_with_the_unreachable_warning(
        make_app, guarded_sentinels, log_dir):
    url = guarded_sentinels.url.replace('redis+sentinel://', 'redis+sentinel://:%s@' % MASTER_PASSWORD)
    with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
        app = count_route(make_app(session_store=url))
    [warning] = [line for line in warning_lines(log_dir) if 'unreachable' in line]
    assert "No master found for 'canister'" in warning and 'AuthenticationError' in warning, warning
    client(app).get('/count', status=503)


def test_the_readme_shows_how_to_give_the_sentinels_a_password_of_their_own():
    scaling = readme_section('## Scaling out')
    assert ('Sentinels that ask for a password of their own cannot be given it in a `redis+sentinel://` URL, whose '
            'password is the data nodes\'') in scaling
    assert ("`Canister(store=canister.RedisStore(client=Sentinel([('10.0.0.1', 26379), ('10.0.0.2', 26379), "
            "('10.0.0.3', 26379)], sentinel_kwargs={'password': 'sentinels-password', 'socket_timeout': 1})"
            ".master_for('mymaster', password='master-password', socket_timeout=1)))`") in scaling
