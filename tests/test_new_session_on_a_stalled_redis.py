"""A request that makes a new session on a Redis that stalls (SIGSTOP: connections are accepted, nothing is
answered) answers 503 after one ``session_redis_timeout``, not two: the new id whose save timed out is not
removed then (that second call would wait as long again), and one that no connection could send is not either."""
import time

import pytest

import canister
from helpers import cookieless_client, frozen, read_log, time_of_one_write
from redis_topologies import ClusterSetup
from test_stores import REDIS_URL_KINDS, add_store_routes

#: Long enough that the load of other jobs, which adds to each wait, stays well within the half of it the side by
#: side comparisons allow (1.5 timeouts against the 2 that a second wait would take at the least).
TIMEOUT = '1'


def a_503(web, **options):
    """How long the request took, which answered 503."""
    started = time.monotonic()
    response = web.get('/', status='*', **options)
    waited = time.monotonic() - started
    assert response.status_int == 503 and 'session store' in response.text, response.text
    return waited


def test_a_new_session_on_a_redis_cluster_that_stalls_answers_503_after_one_write_not_a_write_and_a_removal(
        make_app, log_dir):
    with ClusterSetup(replicas=0) as cluster:
        store = canister.RedisStore(cluster.url, timeout=float(TIMEOUT))
        web = cookieless_client(add_store_routes(make_app(store=store)))
        assert web.get('/').text == '0'              # connected
        with frozen(cluster.nodes):
            new = a_503(web)                         # its new id's write meets the stall
            one_write = time_of_one_write(lambda: store.create('x' * 43, '[{},null,0,0,0]', 60, None))
    assert new < 1.5 * one_write, (new, one_write)  # not a second call, to remove the new id, after the first
    assert 'may stay in the store until it expires' in read_log(log_dir)


@pytest.mark.parametrize('kind', ['redis+cluster', 'redis+sentinel'])
def test_a_new_session_through_a_frozen_sentinel_or_cluster_node_answers_503_as_soon_as_on_a_frozen_server(
        make_app, redis_server, kind):
    urls = {name: REDIS_URL_KINDS[name] % redis_server.port for name in ('redis', kind)}
    redis_server.freeze()                            # SIGSTOP: connections are accepted, nothing is answered
    try:
        with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
            webs = {name: cookieless_client(add_store_routes(make_app(session_store=url,
                                                                      session_redis_timeout=TIMEOUT)))
                    for name, url in urls.items()}
        time.sleep(1.1)                              # past the installs' own timeouts (the second after them)
        waited = {name: a_503(web) for name, web in webs.items()}
    finally:
        redis_server.thaw()
    assert waited[kind] < 1.5 * waited['redis'], waited  # no second wait for a master or node to remove the id
