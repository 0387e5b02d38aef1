"""Canister under gevent when the monkey-patching comes after bottle and canister were imported.

``gunicorn -k gevent --preload`` imports the app in the master and each worker patches after the
fork: the thread-locals bottle and canister made at import are then per thread, shared by every
greenlet of the worker, and two requests served at once would read each other's request, response
and session.  Canister refuses such a process's requests (500, and an ERROR line that says how to
fix it) rather than mix two users.  Each test runs a real gunicorn gevent worker (tests/apps/
gevent_app.py, whose ``/bump`` sleeps halfway so that the requests interleave) and real HTTP.
The right setup without --preload is in tests/test_gevent.py.
"""
import json

from helpers import log_entries
from servers import AppServer
from session_kit import Browser, run_threads

REFUSED = b'Internal server error: this server is misconfigured and refuses every request (see its log)\n'


def preloaded_gevent_worker(tmp_path, args=(), env=None, **options):
    """gevent_app under ``gunicorn -k gevent --preload`` and ``args``, one worker on the memory store, logging
    JSON lines to ``tmp_path``/logs (``log_dir``); started once GET /ping answers ``ready_status`` (None: anything)."""
    env = {'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs'), **(env or {})}
    server = AppServer('gevent_app:app', server='gunicorn', worker_class='gevent', args=['--preload', *args],
                       env=env, **options)
    server.log_dir = tmp_path / 'logs'
    return server.start()


def two_clients_at_once(origin):
    """alice and bob, each from an address of its own, log in, then bump their counters twice at the
    same time (each bump sleeping 0.2 s in the handler); each client's answers, as (status, body)."""
    answers = {}

    def run(name, address):
        browser = Browser(origin)
        headers = {'X-Forwarded-For': address}
        seen = answers[name] = [browser.get('/login?name=%s' % name, headers=headers)]
        for _ in range(2):
            seen.append(browser.get('/bump?name=%s&pause=0.2' % name, headers=headers))

    errors = run_threads([lambda: run('alice', '10.0.3.1'), lambda: run('bob', '10.0.3.2')])
    assert not errors, errors
    return {name: [(answer.status, answer.body) for answer in seen] for name, seen in answers.items()}


def test_a_gevent_worker_that_patched_after_the_app_was_imported_refuses_every_request_with_500(tmp_path):
    server = preloaded_gevent_worker(tmp_path, ready_status=None)
    try:
        answers = two_clients_at_once(server.url)
    finally:
        server.cleanup()

    assert answers == {name: [(500, REFUSED)] * 3 for name in ('alice', 'bob')}  # nobody's session, not even one's own


def test_the_refusals_error_line_says_to_patch_before_importing_bottle_and_canister(tmp_path):
    server = preloaded_gevent_worker(tmp_path, ready_status=None)
    try:
        answer = Browser(server.url).get('/login?name=carol', headers={'X-Request-ID': 'late-patch'})
    finally:
        server.cleanup()

    assert answer.status == 500
    lines = [(entry['level'], entry['message']) for entry in log_entries(server.log_dir)
             if entry['request_id'] == 'late-patch']
    assert lines[0] == ('INFO', 'GET http://%s/login?name=carol' % server.url[len('http://'):])
    level, message = lines[1]
    assert level == 'ERROR'
    assert message.startswith('Refused: threading.local was replaced (now gevent.'), message
    assert ('after bottle and canister were imported, so their request, response and session are shared by every '
            'greenlet of the thread and concurrent requests would see each other\'s. Call gevent.monkey.patch_all() '
            'before bottle and canister are imported: under gunicorn -k gevent, drop --preload, or call it at the '
            'top of a gunicorn config file (-c)') in message
    assert lines[2][0] == 'ERROR' and lines[2][1].startswith('Response: 500 ('), lines


def test_a_request_the_app_served_before_the_fork_does_not_spare_the_gevent_worker_the_check(tmp_path):
    # The master answers GET /ping once at import, unpatched; the worker it forks patches after.
    server = preloaded_gevent_worker(tmp_path, env={'GEVENT_APP_WARM_UP': '1'}, ready_status=None)
    try:
        answers = two_clients_at_once(server.url)
    finally:
        server.cleanup()

    assert answers == {name: [(500, REFUSED)] * 3 for name in ('alice', 'bob')}
    assert sum(entry['message'].startswith('Response: 200') for entry in log_entries(server.log_dir)) == 1  # the master's


def test_gunicorn_preload_with_a_config_file_that_patches_first_serves_each_client_its_own_session(tmp_path):
    config = tmp_path / 'gunicorn.conf.py'
    config.write_text('import gevent.monkey\ngevent.monkey.patch_all()\n')
    server = preloaded_gevent_worker(tmp_path, args=['--config', str(config)])
    try:
        answers = two_clients_at_once(server.url)
    finally:
        server.cleanup()

    for name, seen in answers.items():
        assert [status for status, _ in seen] == [200] * 3, seen
        bumps = [json.loads(body) for _, body in seen[1:]]
        assert [(bump['counter'], bump['user'], bump['owner']) for bump in bumps] == [(1, name, name), (2, name, name)]


def test_gevents_server_without_any_patching_refuses_every_request_with_500(tmp_path):
    """gevent's WSGIServer run without ``patch_all()`` (or with ``thread=False``): each request is a
    greenlet, and the thread-locals of bottle and canister are shared by all of them."""
    env = {'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs')}
    server = AppServer('gevent_app:app', server='gevent-unpatched', env=env, ready_status=None).start()
    try:
        answers = two_clients_at_once(server.url)
        refused = Browser(server.url).get('/ping', headers={'X-Request-ID': 'unpatched'})
    finally:
        server.cleanup()

    assert answers == {name: [(500, REFUSED)] * 3 for name in ('alice', 'bob')}
    assert refused.status == 500 and refused.body == REFUSED
    errors = [entry['message'] for entry in log_entries(tmp_path / 'logs')
              if entry['request_id'] == 'unpatched' and entry['level'] == 'ERROR']
    assert errors[0].startswith("Refused: this request is served by a greenlet (gevent's or eventlet's server) but "
                                'threading.local was never monkey-patched'), errors
    assert 'Call gevent.monkey.patch_all() (with thread=True, the default) before bottle and canister' in errors[0]


def test_a_preloaded_gevent_worker_boots_as_usual_and_a_health_check_request_is_what_finds_the_500(tmp_path):
    """The boot's output says nothing of it and the worker stays up; a request to a route that does not even touch
    the session (a health check's ``/ping``) answers the 500."""
    server = preloaded_gevent_worker(tmp_path, ready_status=None)
    try:
        ping = Browser(server.url).get('/ping')
        running = server.running
        with open(server.logfile, encoding='utf-8') as boot:
            output = boot.read()
    finally:
        server.cleanup()

    assert (ping.status, ping.body) == (500, REFUSED)
    assert running and 'Booting worker' in output, output
    assert not [line for line in output.splitlines() if not line.startswith('=== start ')  # (the command run)
                and any(word in line.lower() for word in ('canister', 'error', 'traceback', 'refused'))], output
