"""Sentinels that ask for a password of their own, apart from the master's: a ``redis+sentinel://`` URL has no place
for it (its password is the data nodes'), so the app builds the client, as the README shows, and canister runs on
it.  Real servers: a master and a replica with ``requirepass``, and three sentinels given a password of their own
(``ACL SETUSER default``, and ``sentinel-pass`` so that they still talk to each other).  A URL, which cannot give the
sentinels' password, is refused at install with a ConfigError that says so; sentinels that are down are an
outage, with the WARNING that the store is unreachable for now."""
import pytest
from redis.sentinel import Sentinel

import canister
from helpers import client, count_route, readme_section, warning_lines
from redis_topologies import SERVICE, SentinelSetup
from servers import held_port

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


@pytest.mark.parametrize('password', [MASTER_PASSWORD, None])
def test_a_sentinel_url_cannot_give_the_sentinels_password_and_its_install_is_refused_with_a_config_error(
        make_app, guarded_sentinels, log_dir, password):
    """The URL's password (or none) is the data nodes': every sentinel refuses the client, which stays so until
    someone changes the settings, so the install stops there rather than start an app that answers 503."""
    url = guarded_sentinels.url
    if password:
        url = url.replace('redis+sentinel://', 'redis+sentinel://:%s@' % password)
    with pytest.raises(canister.ConfigError) as caught:
        make_app(session_store=url)
    message = str(caught.value)
    assert message.startswith("canister.session_store: the sentinels refused the password: No master found for "
                              "'canister' : 127.0.0.1:"), message
    assert message.count('AuthenticationError') == 3, message  # (each of the three sentinels)
    assert ("(sentinels that ask for a password of their own are given it in sentinel_kwargs, which a "
            "redis+sentinel:// URL cannot set, its password being the data nodes': build the client, "
            "RedisStore(client=Sentinel([...], sentinel_kwargs={'password': ...}).master_for(...)), as the README "
            "shows under Scaling out)") in message
    assert MASTER_PASSWORD not in message and 'unreachable for now' not in ''.join(warning_lines(log_dir))


def test_a_client_given_with_a_wrong_password_for_the_sentinels_is_refused_with_a_config_error(make_app,
                                                                                                guarded_sentinels):
    sentinels = [('127.0.0.1', node.port) for node in guarded_sentinels.sentinels]
    store = canister.RedisStore(client=Sentinel(sentinels, sentinel_kwargs={
        'password': 'not-the-sentinels-password', 'socket_timeout': 10}).master_for(
            SERVICE, password=MASTER_PASSWORD, socket_timeout=10))
    with pytest.raises(canister.ConfigError, match='the sentinels refused the password: No master found'):
        make_app(store=store)


def test_sentinels_that_are_down_at_install_are_an_outage_with_the_unreachable_warning(make_app, log_dir):
    """Sentinels that refuse connections, rather than a password, may be back soon: the install goes on."""
    with held_port() as first, held_port() as second:
        url = 'redis+sentinel://:%s@127.0.0.1:%d,127.0.0.1:%d/%s/0' % (MASTER_PASSWORD, first, second, SERVICE)
        with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
            app = count_route(make_app(session_store=url))
        [warning] = [line for line in warning_lines(log_dir) if 'unreachable' in line]
        assert "No master found for 'canister' : 127.0.0.1:%d - " % first in warning, warning
        client(app).get('/count', status=503)


def test_the_readme_shows_how_to_give_the_sentinels_a_password_of_their_own():
    scaling = readme_section('## Scaling out')
    flat = ' '.join(scaling.split())
    assert ("when every sentinel it lists refuses it so, the install stops with a `ConfigError`, "
            "`canister.session_store: the sentinels refused the password: No master found for 'mymaster' : "
            "10.0.0.1:26379 - auth:AuthenticationError: ...`, which names `sentinel_kwargs` and the way below") in flat
    assert ("(A sentinel that is down, or does not answer, is an outage: with sentinels that cannot be reached the "
            "install gives the WARNING that the store is unreachable for now, and the store serves once they are "
            "back.)") in flat
    assert ('Sentinels that ask for a password of their own cannot be given it in a `redis+sentinel://` URL, whose '
            'password is the data nodes\'') in scaling
    assert ("`Canister(store=canister.RedisStore(client=Sentinel([('10.0.0.1', 26379), ('10.0.0.2', 26379), "
            "('10.0.0.3', 26379)], sentinel_kwargs={'password': 'sentinels-password', 'socket_timeout': 1})"
            ".master_for('mymaster', password='master-password', socket_timeout=1)))`") in scaling
