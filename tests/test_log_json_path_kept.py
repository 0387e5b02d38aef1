"""A JSON response line's ``path`` is the path and query its request line shows, the text kept when that line was
written, not read again from the environ when the response goes out: by then Bottle's ``mount()`` has moved the
prefix into ``SCRIPT_NAME`` (on bottle 0.12, ``//app``), or a hook has rewritten ``PATH_INFO``."""
import json

import bottle
import pytest

from helpers import client, read_log

#: A JWT (three base64url parts, the first starting ``eyJ``), as a password reset link carries one in its path.
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLW9mLWJvYg'


def request_and_response(log_dir, request_id):
    """The message of the request line and the ``path`` of the response line of the request ``request_id``."""
    mine = [entry for entry in map(json.loads, read_log(log_dir).splitlines()) if entry['request_id'] == request_id]
    assert mine[-1]['message'].startswith('Response: ')
    return mine[0]['message'], mine[-1]['path']


@pytest.mark.parametrize('installed_on', ['parent', 'child'])
def test_a_mounted_apps_response_line_has_the_path_of_its_request_line(make_app, log_dir, installed_on):
    """On both bottles, canister on the parent or on the child mounted at ``/app/``: the response line's ``path`` is
    ``/app/reset/***?page=2``, as the request line shows it."""
    child = make_app(log_format='json') if installed_on == 'child' else bottle.Bottle()
    parent = make_app(log_format='json') if installed_on == 'parent' else bottle.Bottle()
    child.route('/reset/<token>', callback=lambda token: 'ok')
    parent.mount('/app/', child)
    client(parent).get('/app/reset/%s?page=2&password=raw-secret-1' % JWT, headers={'X-Request-ID': 'mounted-1'})
    text = read_log(log_dir)
    assert JWT not in text and 'raw-secret-1' not in text
    request_line, path = request_and_response(log_dir, 'mounted-1')
    assert request_line == 'GET http://localhost:80/app/reset/***?page=2&password=***'
    assert path == '/app/reset/***?page=2&password=***'


def test_a_hook_rewriting_path_info_leaves_the_response_lines_path_as_the_request_line_shows_it(make_app, log_dir):
    app = make_app(log_format='json')
    app.route('/p/<token>', callback=lambda token: 'not here')
    app.route('/rewritten', callback=lambda: 'rewritten')
    app.add_hook('before_request', lambda: bottle.request.environ.update(PATH_INFO='/rewritten'))
    answer = client(app).get('/p/%s' % JWT, headers={'X-Request-ID': 'hooked-1'})
    assert answer.text == 'rewritten'   # (the hook did rewrite it)
    request_line, path = request_and_response(log_dir, 'hooked-1')
    assert (request_line, path) == ('GET http://localhost:80/p/***', '/p/***')


def test_user_information_in_the_host_is_not_taken_for_the_path(make_app, log_dir):
    """A Host with user information (``bob:pw@shop.example``), masked in the request line: the path is what follows
    the origin as the line shows it."""
    app = make_app(log_format='json')
    app.route('/x', callback=lambda: 'ok')
    client(app).get('/x?q=1', headers={'X-Request-ID': 'host-1', 'Host': 'bob:pw@shop.example'})
    request_line, path = request_and_response(log_dir, 'host-1')
    assert (request_line, path) == ('GET http://bob:***@shop.example/x?q=1', '/x?q=1')


def test_at_warning_the_response_line_of_a_5xx_still_has_the_path_as_of_the_request(make_app, log_dir):
    """With ``log_level = WARNING`` no request line is written; a 5xx's response line (ERROR) has the path the
    request came with, not the one a hook rewrote it to."""
    app = make_app(log_format='json', log_level='WARNING')
    app.route('/q/<token>', callback=lambda token: 'not here')
    app.route('/rewritten', callback=lambda: bottle.abort(503, 'down'))
    app.add_hook('before_request', lambda: bottle.request.environ.update(PATH_INFO='/rewritten'))
    client(app).get('/q/%s' % JWT, headers={'X-Request-ID': 'quiet-1'}, status=503)
    entries = [json.loads(line) for line in read_log(log_dir).splitlines()]
    mine = [entry for entry in entries if entry['request_id'] == 'quiet-1']
    assert [entry['path'] for entry in mine if entry['message'].startswith('Response: ')] == ['/q/***']
