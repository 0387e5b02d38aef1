"""With ``session_redis_wait`` on a Redis Cluster, canister notes a write redis-py sends again on its own after the
pipeline (not confirmed by the WAIT that went with it): redis-py 6.1 and later send it through the pipeline's
``parent_execute_command``, older ones (4.2 to 6.0, which canister accepts) another way.  An app on redis-py 5.0.8
(installed by scripts/test.sh into ``.venv/redis-py-5.0.8``, first on the app's PYTHONPATH) logs in, saves, logs out,
and answers 503 with ``Retry-After`` for a save whose slot moved to another master meanwhile, as on a newer redis-py.
A real six-node Cluster, the app served by waitress in a process of its own; without that directory these tests
fail, never skip."""
from __future__ import annotations

import pytest

from helpers import FileEvent, read_log, readme_section
from redis_topologies import finish_moving, start_moving
from servers import OLD_REDIS_PY_VERSION, AppServer, old_redis_py_dir
from session_kit import Browser, start_held


@pytest.fixture
def old_app(cluster, tmp_path, request):
    """The topology app with ``session_redis_wait=1`` on ``cluster``, run on redis-py 5.0.8: a dict of its
    ``server``, its ``logs`` directory, the ``hold`` directory of its GET /hold, and its key ``prefix``."""
    app = {'logs': tmp_path / 'logs', 'hold': tmp_path / 'hold', 'prefix': 'canister-test:%s:' % request.node.name}
    app['logs'].mkdir()
    app['hold'].mkdir()
    app['server'] = AppServer('redis_topology_app:app', server='waitress', start_timeout=30, env={
        'PYTHONPATH': old_redis_py_dir(),
        'CANISTER_SESSION_STORE': cluster.url,
        'CANISTER_REDIS_WAIT': '1',
        # (a WAIT of 5 s: a replica a loaded machine leaves unscheduled for half a second still confirms)
        'CANISTER_REDIS_TIMEOUT': '10',
        'CANISTER_REDIS_PREFIX': app['prefix'],
        'CANISTER_LOG_PATH': str(app['logs']),
        'CANISTER_HOLD_DIR': str(app['hold'])})
    try:
        app['server'].start()
        assert Browser(app['server'].url).get('/redis-py').json() == {'version': OLD_REDIS_PY_VERSION}
        yield app
    finally:
        app['server'].cleanup()


def test_a_login_a_change_and_a_logout_on_a_cluster_with_wait_answer_200_on_redis_py_before_6_1(old_app):
    browser = Browser(old_app['server'].url)
    answers = [browser.get(path) for path in ('/login?name=alice', '/set?key=cart&value=1')]
    assert [answer.status for answer in answers] == [200, 200], (answers, old_app['server'].output()[-3000:])
    assert browser.read() == ['alice', {'cart': '1'}]
    assert browser.get('/logout').status == 200
    assert browser.read() == [None, {}]
    assert 'Traceback' not in read_log(old_app['logs']) + old_app['server'].output()


def test_a_save_whose_slot_moved_to_another_master_meanwhile_answers_503_with_retry_after_on_redis_py_before_6_1(
        old_app, cluster):
    origin, hold = old_app['server'].url, old_app['hold']
    browser = Browser(origin)
    assert browser.get('/set?key=value&value=before').status == 200
    key = old_app['prefix'] + browser.sid
    saved = start_held(Browser(origin, browser.sid, follow=False), FileEvent(hold / 'loaded'),
                            FileEvent(hold / 'release'), '/hold?key=value&value=after')
    try:
        _, target = start_moving(cluster, key)
        finish_moving(cluster, key, target)
    finally:
        answer = saved(20)
    assert (answer.status, answer.headers.get('Retry-After')) == (503, '1'), (answer, old_app['server'].output())
    assert 'only 0 (the write was sent again alone, after a MOVED or ASK redirect' in read_log(old_app['logs'])
    assert browser.read()[1] == {'value': 'after'}  # saved on the new master all the same
    assert browser.get('/set?key=value&value=later').status == 200  # the new master confirms the next save


def test_the_readme_says_redis_py_before_6_1_works_on_a_cluster_with_wait():
    scaling = readme_section('## Scaling out')
    assert 'redis-py 4.2 to 6.0 send such a write again another way, which canister notes too' in scaling
    assert 'scripts/test.sh installs that redis-py into `.venv/redis-py-5.0.8`' in scaling
