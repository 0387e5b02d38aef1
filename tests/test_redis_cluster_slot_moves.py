"""With ``session_redis_wait`` on a Redis Cluster, a save whose session key's slot moves to another master while the
request runs (MOVED, or ASK while the slot is migrating) is not taken for confirmed: redis-py sends the write again on
its own to the new master, and the WAIT that went with it in the pipeline answered at the old one, for writes that
were not this one.  The request answers 503 with ``Retry-After``, as a save too few replicas confirmed does, and the
session keeps what it saved on its new master.  On a real six-node cluster, the slot moved by CLUSTER SETSLOT and
MIGRATE while the request is held between the load and the save of its session."""
from __future__ import annotations

import threading

import pytest

from helpers import read_log, readme_section
from redis_topologies import command_calls, finish_moving, start_moving
from session_kit import Browser, anonymous, start_held
from test_redis_topologies import topology_app


def save_while_the_slot_moves(make_app, serve, cluster, prefix, finish):
    """A change held between its load and its save while the session's slot moves (``finish``: to the end, so the
    old master answers MOVED; else left migrating, so it answers ASK); the held answer, the WAITs each master ran
    meanwhile (old, new), and what the session key holds on its new master then."""
    gate = {'loaded': threading.Event(), 'release': threading.Event()}
    # (a timeout of 10 s, so a WAIT of 5 s: a replica a loaded machine leaves unscheduled for half a second still
    # confirms the saves that must be confirmed)
    origin = serve(topology_app(make_app, cluster.url, gate=gate, session_redis_prefix=prefix, session_redis_wait=1,
                                session_redis_timeout=10))
    browser = anonymous(origin, value='before')
    key = prefix + browser.sid
    saved = start_held(Browser(origin, browser.sid, follow=False), gate['loaded'], gate['release'],
                            '/hold?key=value&value=after')
    try:
        source, target = start_moving(cluster, key)
        if finish:
            finish_moving(cluster, key, target)
        clients = [source.client(), target.client()]
        for client in clients:
            client.config_resetstat()
    finally:
        answer = saved(20)
    try:
        waits = tuple(command_calls(client).get('wait', 0) for client in clients)
        if not finish:
            finish_moving(cluster, key, target)
        stored = clients[1].get(key).decode()
    finally:
        for client in clients:
            client.close()
    return answer, waits, stored, browser


@pytest.fixture
def prefix(request):
    """A key prefix of this test's own."""
    return 'canister-test:%s:' % request.node.name


def test_a_save_whose_slot_moved_to_another_master_meanwhile_answers_503_with_retry_after_not_confirmed(
        make_app, serve, cluster, prefix, log_dir):
    answer, waits, stored, browser = save_while_the_slot_moves(make_app, serve, cluster, prefix, finish=True)
    # the WAIT went to the old master (it ran there, not at the new one): it does not speak for the write
    assert waits == (1, 0), waits
    assert (answer.status, answer.headers.get('Retry-After')) == (503, '1'), (answer.status, answer.text, waits)
    assert 'only 0 (the write was sent again alone, after a MOVED or ASK redirect' in read_log(log_dir)
    assert '"after"' in stored  # saved on the new master all the same: nothing lost
    assert browser.read()[1] == {'value': 'after'}
    assert browser.get('/set?key=value&value=later').status == 200  # the new master confirms the next save


def test_a_save_redirected_by_ask_while_its_slot_migrates_answers_503_with_retry_after_not_confirmed(
        make_app, serve, cluster, prefix, log_dir):
    answer, waits, stored, browser = save_while_the_slot_moves(make_app, serve, cluster, prefix, finish=False)
    assert waits[1] == 0, waits  # no WAIT at the master that got the write
    assert (answer.status, answer.headers.get('Retry-After')) == (503, '1'), (answer.status, answer.text, waits)
    assert 'only 0 (the write was sent again alone, after a MOVED or ASK redirect' in read_log(log_dir)
    assert '"after"' in stored
    assert browser.read()[1] == {'value': 'after'}
    assert browser.get('/set?key=value&value=later').status == 200


def test_the_readme_says_a_write_redis_py_sent_again_alone_answers_503_and_stays_on_the_new_master():
    scaling = readme_section('## Scaling out')
    assert 'A write that redis-py sends again on its own after the pipeline, on another connection' in scaling
    assert 'The write is kept on the new master, and the next save there is confirmed as usual' in scaling
