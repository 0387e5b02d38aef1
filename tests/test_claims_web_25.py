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


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_the_child_alone_an_abort_of_a_childs_route_the_parent_serves_is_bottles_page_with_its_headers(
        make_app, log_dir, composition):
    as_alone = bottle.__version__.startswith('0.12') and composition == 'mount'  # (0.12 calls a mounted app as a
    child, parent = make_app(), bottle.Bottle()
    child.route('/gone', callback=lambda: bottle.abort(410, 'that item is gone'))
    wants_json = {'Accept': 'application/json'}
    alone = client(child).get('/gone', headers=wants_json, status=410)
    assert alone.json['message'] == 'that item is gone'  # served alone, canister answers a JSON client in JSON
    prefix = compose_child(parent, child, composition)
    res = client(parent).get(prefix + '/gone', headers=wants_json, status=410)
    if as_alone:  # WSGI app: the child's own entry answers, as when alone)
        assert res.json['message'] == 'that item is gone'
    else:
        assert res.content_type == 'text/html' and 'that item is gone' in res.text  # Bottle's page: never JSON
    assert len(res.headers.getall('X-Request-ID')) == 1 and res.headers['X-Frame-Options'] == 'DENY'
    assert read_log(log_dir).count('Response: 410') == 2

