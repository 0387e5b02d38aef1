"""README's promises in "CORS", "Mounted and merged apps" and "Scaling out" that no other test held: a ``cors``
origin written with its scheme's default port lets in the origin a browser sends without it; a child mounted
through a WSGI wrapper is a WSGI app whose routes canister on the parent does not see; and under gevent the
password checks run in the hub's thread pool of 10 threads, whose ``maxsize`` set at start changes that."""
from __future__ import annotations

import subprocess
import sys

import bottle
import pytest

from helpers import ROOT, client, compose_child, read_log, warning_lines


@pytest.mark.parametrize('listed,sent', [
    ('https://app.example.com:443', 'https://app.example.com'),
    ('http://app.example.com:80', 'http://app.example.com'),
    ('https://app.example.com', 'https://app.example.com:443'),
    ('https://*.example.com:443', 'https://shop.example.com'),
])
def test_a_cors_origin_matches_whether_or_not_the_default_port_is_written(make_app, listed, sent):
    app = make_app(cors=listed, cors_credentials=True)
    app.route('/', callback=lambda: 'hello')
    res = client(app).get('/', headers={'Origin': sent})
    assert res.headers.getall('Access-Control-Allow-Origin') == [sent]  # echoed as the browser wrote it
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


@pytest.mark.parametrize('listed,sent', [
    ('https://app.example.com:8443', 'https://app.example.com'),
    ('https://app.example.com:443', 'http://app.example.com'),
    ('http://app.example.com:443', 'http://app.example.com'),
])
def test_a_cors_origin_with_another_port_or_scheme_than_the_default_does_not_match(make_app, listed, sent):
    app = make_app(cors=listed)
    app.route('/', callback=lambda: 'hello')
    assert 'Access-Control-Allow-Origin' not in client(app).get('/', headers={'Origin': sent}).headers


def test_a_child_mounted_through_a_wsgi_wrapper_is_a_wsgi_app_whose_routes_canister_does_not_see(make_app, log_dir):
    parent, bare = make_app(), bottle.Bottle()
    bare.route('/hello', callback=lambda name='world': 'hello %s' % name)
    parent.mount('/shop/', lambda environ, start_response: bare(environ, start_response))
    for _ in range(2):
        assert client(parent).get('/shop/hello?name=bob').text == 'hello world'
    assert warning_lines(log_dir) == []  # the same child mounted as itself is named in a WARNING (test_composition)


GEVENT_POOL = '''
import gevent.monkey
gevent.monkey.patch_all()
import sys
import gevent
import canister
pool = gevent.get_hub().threadpool
if len(sys.argv) > 1:
    pool.maxsize = int(sys.argv[1])
stored = canister.hash_password('correct horse', iterations=200000)
sizes = []
def watch():
    while True:
        sizes.append(pool.size)
        gevent.sleep(0.002)
watcher = gevent.spawn(watch)
checks = [gevent.spawn(canister.verify_password, 'correct horse', stored) for _ in range(11)]
gevent.joinall(checks)
watcher.kill()
print(all(check.value for check in checks), pool.maxsize, max(sizes))
'''


@pytest.mark.parametrize('maxsize,threads', [(None, 10), (12, 11)])
def test_under_gevent_eleven_password_checks_at_once_run_in_the_hubs_pool_of_10_threads_unless_its_maxsize_is_set(
        tmp_path, maxsize, threads):
    pytest.importorskip('gevent')
    argv = [sys.executable, '-c', GEVENT_POOL] + ([str(maxsize)] if maxsize else [])
    ran = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    assert ran.returncode == 0, ran.stderr
    right, pool_size, most_threads = ran.stdout.split()
    assert (right, int(pool_size), int(most_threads)) == ('True', maxsize or 10, threads)


def gone() -> None:
    bottle.abort(410, 'that item is gone')


def missing() -> None:
    raise bottle.HTTPError(404, 'no such item')


def crash() -> None:
    raise RuntimeError('the database password is hunter2')


@pytest.mark.parametrize('composition', ['mount', 'merge'])
@pytest.mark.parametrize('handler,status,message', [
    (gone, 410, 'that item is gone'), (missing, 404, 'no such item'), (crash, 500, 'Internal Server Error')])
def test_with_canister_on_the_child_alone_an_error_of_a_childs_route_the_parent_serves_is_json_as_served_alone(
        make_app, log_dir, composition, handler, status, message):
    # (it was Bottle's HTML page, rendered by the parent, with canister's headers, and for a 500 without them)
    child, parent = make_app(catchall=True), bottle.Bottle()
    child.route('/oops', callback=handler)
    wants_json = {'Accept': 'application/json'}
    alone = client(child).get('/oops', headers=wants_json, status=status, expect_errors=True)  # (Bottle logs a 500)
    assert alone.json == {'error': alone.status[4:], 'message': message}
    prefix = compose_child(parent, child, composition)
    res = client(parent).get(prefix + '/oops', headers=wants_json, status=status, expect_errors=True)
    assert res.json == alone.json and res.headers['Vary'] == 'Accept'
    assert len(res.headers.getall('X-Request-ID')) == 1 and res.headers['X-Frame-Options'] == 'DENY'
    page = client(parent).get(prefix + '/oops', status=status, expect_errors=True)  # any other client: Bottle's page
    assert page.content_type == 'text/html' and '<h1>Error: %d' % status in page.text and message in page.text
    assert 'X-Request-ID' in page.headers and page.headers['Vary'] == 'Accept'
    assert read_log(log_dir).count('Response: %d' % status) == 3
    assert read_log(log_dir).count('RuntimeError: the database password') == (3 if status == 500 else 0)


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_the_childs_own_error_page_answers_its_routes_the_parent_serves(
        make_app, composition):
    child, parent = make_app(), bottle.Bottle()
    child.route('/oops', callback=gone)
    child.error(410)(lambda error: {'gone': error.body})  # (a dict: sent as JSON, as served alone)
    parent.error(410)(lambda error: 'the parent page')
    prefix = compose_child(parent, child, composition)
    res = client(parent).get(prefix + '/oops', status=410)
    assert res.json == {'gone': 'that item is gone'} and 'X-Request-ID' in res.headers


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_the_parents_own_error_page_answers_a_status_the_child_has_none_for(
        make_app, composition):
    as_alone = bottle.__version__.startswith('0.12') and composition == 'mount'  # (0.12 calls a mounted app as a
    child, parent = make_app(), bottle.Bottle()  # WSGI app: the child's own entry answers, as when alone)
    child.route('/oops', callback=gone)
    parent.error(410)(lambda error: 'the parent page')
    prefix = compose_child(parent, child, composition)
    res = client(parent).get(prefix + '/oops', headers={'Accept': 'application/json'}, status=410)
    if as_alone:
        assert res.json['message'] == 'that item is gone'
    else:
        assert res.text == 'the parent page' and 'X-Request-ID' in res.headers



def broken_error_page(error: bottle.HTTPError) -> str:
    raise RuntimeError('the error page cannot be built')


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_a_childs_error_page_that_raises_is_bottles_critical_500_as_served_alone(
        make_app, log_dir, composition):
    # (it was the parent's 500 page, without canister's headers, and canister's log held no word of the exception)
    child, parent = make_app(catchall=True), bottle.Bottle()
    child.route('/oops', callback=gone)
    child.error(410)(broken_error_page)
    alone = client(child).get('/oops', status=500, expect_errors=True)  # (Bottle writes its page to wsgi.errors)
    prefix = compose_child(parent, child, composition)
    as_bottle_012_mount = bottle.__version__.startswith('0.12') and composition == 'mount'
    res = client(parent).get(prefix + '/oops', status=500, expect_errors=True)  # (the page on wsgi.errors, as alone)
    if as_bottle_012_mount:
        # (bottle 0.12's mount point raises the child's exception again in its parent: the parent's own 500 page,
        # Bottle's doing; canister's log still holds the exception)
        assert 'Error: 500 Internal Server Error' in res.text
        assert 'RuntimeError: the error page cannot be built' in read_log(log_dir)
        return
    assert res.status == alone.status == '500 INTERNAL SERVER ERROR'
    assert res.text == '<h1>Critical error while processing request: %s/oops</h1>' % prefix
    assert 'X-Request-ID' in res.headers and res.headers['X-Frame-Options'] == 'DENY'
    log = read_log(log_dir)
    assert log.count('in an error handler of the app (@app.error)') == 2
    assert 'Unhandled exception in GET /oops in an error handler of the app (@app.error)' in log  # (alone)
    assert 'Unhandled exception in GET %s/oops in an error handler of the app (@app.error)' % prefix in log
    assert log.count('RuntimeError: the error page cannot be built') == 2


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_a_route_reset_in_a_childs_route_calls_it_again_as_served_alone(
        make_app, composition):
    # (it was a 500: the reset was taken for an exception of the route)
    child, parent = make_app(catchall=True), bottle.Bottle()
    calls = []

    @child.get('/again')
    def again() -> str:
        calls.append(1)
        if len(calls) % 2:
            raise bottle.RouteReset()
        return 'called %d times' % len(calls)
    assert client(child).get('/again').text == 'called 2 times'
    prefix = compose_child(parent, child, composition)
    assert client(parent).get(prefix + '/again').text == 'called 4 times'


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_a_childs_stream_failing_in_its_first_chunk_is_answered_as_served_alone(
        make_app, composition):
    # (it was Bottle's 500 of a route, "Internal Server Error" and its traceback on wsgi.errors, where Bottle
    # answers a body's first chunk with "Unhandled exception" and writes nothing)
    child, parent = make_app(catchall=True), bottle.Bottle()

    @child.get('/export')
    def export():
        raise RuntimeError('the export cannot start')
        yield 'row'  # (a generator)
    wants_json = {'Accept': 'application/json'}
    alone = client(child).get('/export', headers=wants_json, status=500)
    assert alone.json == {'error': 'Internal Server Error', 'message': 'Unhandled exception'}
    prefix = compose_child(parent, child, composition)
    res = client(parent).get(prefix + '/export', headers=wants_json, status=500)
    assert res.json == alone.json and 'X-Request-ID' in res.headers
