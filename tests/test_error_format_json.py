"""``error_format = json``: every error canister answers is JSON whatever the client's ``Accept`` (``fetch`` and
curl send ``*/*``), canister's own and the Bottle errors canister answers (not an app's own error page), without
``Vary: Accept``; the default, ``auto``, chooses by ``Accept`` as before; a bad value is refused at install (real
HTTP to Bottle's own server)."""
import base64
import json

import bottle
import pytest

import canister
from canister import session
from helpers import client, readme_section, warning_lines
from servers import AppServer, WsgirefServer, held_port, raw_request, status_of
from session_kit import Browser


def _answer(port, head, body=b''):
    """Status, headers (lower-cased names, repeated ones joined by ', ') and body of a raw HTTP/1.0 request."""
    answer = raw_request(port, head, body)
    head_part, _, payload = answer.partition(b'\r\n\r\n')
    headers = {}
    for line in head_part.split(b'\r\n')[1:]:
        name, _, value = line.decode('latin-1').partition(':')
        name = name.strip().lower()
        headers[name] = headers[name] + ', ' + value.strip() if name in headers else value.strip()
    return status_of(answer), headers, payload


def _request(method, path, *headers, body=b''):
    lines = ['%s %s HTTP/1.0' % (method, path), 'Host: localhost', 'Accept: */*'] + list(headers)
    if body:
        lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'), body


#: One request for each kind of error answer the README lists as following ``Accept``, and its status.
ERRORS = {
    'a bad Content-Length (400, before the app)': (400, _request('POST', '/item', 'Content-Length: 1x')),
    'a bad parameter (400, in the route)': (400, _request('GET', '/item?n=x')),
    'require_user (401)': (401, _request('GET', '/private')),
    'the CSRF check (403)': (403, _request('POST', '/item', 'Origin: https://evil.example', body=b'n=1')),
    'a body over max_body_size (413)': (413, _request('POST', '/item', body=b'n=' + b'1' * 200)),
    'a compressed body (415)': (415, _request('POST', '/item', 'Content-Type: application/json',
                                              'Content-Encoding: gzip', body=b'{"n": 1}')),
    'the login throttle (429)': (429, _request('GET', '/private', 'Authorization: Basic '
                                               + base64.b64encode(b'alice:wrong').decode())),
    'a Cookie over max_header_size (431)': (431, _request('GET', '/item', 'Cookie: c=' + 'x' * 400)),
    'a session store that is down (503)': (503, _request('GET', '/counter', 'Cookie: session_id=' + 'a' * 43)),
    "Bottle's router (404)": (404, _request('GET', '/nowhere')),
    "Bottle's router (405)": (405, _request('DELETE', '/item')),
    'abort() in a handler (409)': (409, _request('GET', '/taken')),
    'an exception in a handler (500)': (500, _request('GET', '/broken')),
}


def _api(make_app, store_port=None, **settings):
    """An app with a route for each error of ``ERRORS`` (``store_port``: its session store a Redis on that port,
    which nobody listens on (a ``servers.held_port()``), and which the login throttle shares too)."""
    if store_port:
        settings.update(session_store='redis://127.0.0.1:%d/0' % store_port, session_redis_timeout=0.2)
    app = make_app(catchall=True, max_body_size=100, max_header_size=256, auth_basic_username='alice',
                                   auth_basic_password='right-password-1', auth_max_failures=1, **settings)

    @app.route('/item', method=['GET', 'POST'])
    def item(n: int = 0):
        return {'n': n}

    @app.get('/private')
    @canister.require_user
    def private():
        return 'secret'

    @app.get('/counter')
    def counter():
        return {'n': canister.session.data.get('n', 0)}

    @app.get('/taken')
    def taken():
        bottle.abort(409, 'the name is taken')

    @app.get('/broken')
    def broken():
        raise RuntimeError('a bug')
    return app


@pytest.fixture
def serve(uninstall_at_end):
    servers = []

    def start(app):
        servers.append(WsgirefServer(uninstall_at_end(app)))
        return servers[-1].port
    yield start
    for server in servers:
        server.close()


def _sent(port, what):
    status, (head, body) = ERRORS[what]
    if what.startswith('the login throttle'):  # (the first wrong password is a 401, the next a 429)
        assert _answer(port, head, body)[0] == 401
    return status, _answer(port, head, body)


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')
@pytest.mark.parametrize('what', list(ERRORS))
def test_with_error_format_json_every_error_answer_is_json_to_a_client_that_accepts_anything(make_app, serve, what):
    with held_port() as nobody:
        port = serve(_api(make_app, nobody if '503' in what else None, error_format='json'))
        status, (got, headers, body) = _sent(port, what)
    assert got == status, body
    assert headers['content-type'] == 'application/json'
    document = json.loads(body)
    assert document['error'] == {413: 'Content Too Large'}.get(status, bottle.HTTP_CODES[status])
    assert isinstance(document['message'], str) and document['message']
    assert 'accept' not in [token.strip().lower() for token in headers.get('vary', '').split(',')]


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')
@pytest.mark.parametrize('what', list(ERRORS))
def test_by_default_the_same_errors_are_text_or_bottles_page_to_that_client_and_vary_on_accept(make_app, serve, what):
    with held_port() as nobody:
        port = serve(_api(make_app, nobody if '503' in what else None))
        status, (got, headers, body) = _sent(port, what)
    assert got == status, body
    assert headers['content-type'].startswith('text/')
    assert not body.startswith(b'{')
    assert 'accept' in [token.strip().lower() for token in headers['vary'].split(',')]


def test_error_format_json_answers_a_bottle_error_with_the_message_and_headers_it_carries(make_app):
    app = _api(make_app, error_format='json')
    answer = client(app).request('/item', method='DELETE', headers={'Accept': 'text/html'}, status=405)
    assert answer.json == {'error': 'Method Not Allowed', 'message': 'Method not allowed.'}
    assert set(answer.headers['Allow'].split(',')) == {'GET', 'POST'}
    assert client(app).get('/taken', status=409).json == {'error': 'Conflict', 'message': 'the name is taken'}


def test_error_format_json_leaves_the_apps_own_error_page_to_answer_its_status(make_app):
    app = _api(make_app, error_format='json')
    app.error(404)(lambda error: 'our own page')
    answer = client(app).get('/nowhere', status=404)
    assert answer.text == 'our own page'


def test_in_bottles_debug_mode_a_500_keeps_bottles_page_with_its_traceback_under_error_format_json(make_app):
    app = _api(make_app, error_format='json')
    bottle.debug(True)
    try:
        answer = client(app).get('/broken', headers={'Accept': 'application/json'}, status=500,
                                     expect_errors=True)
    finally:
        bottle.debug(False)
    assert answer.content_type == 'text/html'
    assert 'RuntimeError' in answer.text


def test_error_format_is_read_in_any_case_from_the_apps_config(make_app):
    app = make_app(config={'ERROR_FORMAT': 'JSON'})
    assert client(app).get('/nowhere', status=404).json == {'error': 'Not Found', 'message': "Not found: '/nowhere'"}


@pytest.mark.parametrize('value', ['xml', 'text', '', 'true'])
def test_a_bad_error_format_is_refused_at_install_naming_the_key_and_the_values_allowed(make_app, value):
    with pytest.raises(canister.ConfigError) as refused:
        make_app(error_format=value)
    assert str(refused.value) == "canister.error_format = %r is not valid: expected one of auto, json" % value


def _composed(tmp_path, composition, parent_settings, child_settings):
    """A child app with canister (a route that aborts 409, one that requires a user) mounted or merged into a
    parent with canister; the parent and the prefix of the child's routes."""
    child = bottle.Bottle()
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), **child_settings))
    child.get('/taken', callback=lambda: bottle.abort(409, 'the name is taken'))
    child.get('/private', callback=canister.require_user(lambda: 'secret'))
    parent = bottle.Bottle()
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), **parent_settings))
    if composition == 'mount':
        parent.mount('/shop/', child)
        return parent, child, '/shop'
    parent.merge(child)
    return parent, child, ''


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_with_canister_on_parent_and_child_the_parents_error_format_answers_the_childs_routes(tmp_path, composition):
    parent, child, prefix = _composed(tmp_path, composition, {'error_format': 'json'}, {})
    try:
        answer = client(parent).get(prefix + '/taken', status=409)
        assert answer.json == {'error': 'Conflict', 'message': 'the name is taken'}
        assert client(parent).get(prefix + '/private', status=401).json['error'] == 'Unauthorized'
    finally:
        parent.uninstall(True)
        child.uninstall(True)


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_a_childs_own_error_format_under_a_parent_with_canister_is_named_in_the_parents_warning(tmp_path, composition):
    parent, child, prefix = _composed(tmp_path, composition, {}, {'error_format': 'json'})
    try:
        answer = client(parent).get(prefix + '/taken', status=409)
        assert answer.content_type == 'text/html'
        assert 'accept' in answer.headers['Vary'].lower()
        assert client(parent).get(prefix + '/private', status=401).content_type == 'text/plain'
    finally:
        parent.uninstall(True)
        child.uninstall(True)
    warnings = [line for line in warning_lines(tmp_path / 'parent') if 'has a canister of its own' in line]
    assert len(warnings) == 1 and 'differ from the child\'s in: error_format, log_path;' in warnings[0]


def test_under_json_an_error_page_of_the_app_s_own_stays_its_own(make_app):
    """``@app.error(404)``: the app chose that answer, and it is left as the app wrote it (the README says every
    error canister answers is JSON, and Bottle's default pages, not the app's own)."""
    app = make_app(error_format='json')
    app.error(404)(lambda error: 'no such page here')
    answer = client(app).get('/nowhere', status=404)
    assert answer.text == 'no such page here'



def test_the_readme_says_json_errors_are_canister_s_and_bottle_s_default_pages_not_the_app_s_own():
    limits = readme_section('## Limits and error answers')
    assert 'every error answer of the app is then JSON' not in limits
    assert ("every error canister answers is then JSON, and so are Bottle's default pages (its 404, 405 and 500), to "
            "a browser that opens the URL too; a page of the app's own (`@app.error(404)`) stays as the app wrote "
            "it") in limits


#: What a browser opening the URL sends: no ``application/json`` anywhere.
BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'


def _assert_json_500(content_type, vary, body, message):
    assert content_type == 'application/json'
    assert json.loads(body) == {'error': 'Internal Server Error', 'message': message}
    assert 'accept' not in [token.strip().lower() for token in (vary or '').split(',')]


@pytest.mark.parametrize('error_format', ['json', 'auto'])
def test_the_500_of_a_session_that_cannot_be_saved_is_json_to_a_browser_under_error_format_json(make_app, error_format):
    """Canister's own 500, answered after the handler returned, in place of Bottle's response."""
    app = make_app(error_format=error_format)

    @app.get('/tags')
    def tags():
        session.data['tags'] = {'a', 'b'}  # a set: JSON cannot store it
        return 'saved?'
    answer = client(app).get('/tags', headers={'Accept': BROWSER_ACCEPT}, status=500)
    message = answer.text.strip() if error_format == 'auto' else answer.json['message']
    assert message.startswith('Internal server error: the session could not be saved: session.data'), message
    if error_format == 'auto':
        assert answer.headers['Content-Type'] == 'text/plain; charset=utf-8'
        assert 'accept' in [token.strip().lower() for token in answer.headers['Vary'].split(',')]
        return
    _assert_json_500(answer.headers['Content-Type'], answer.headers.get('Vary'), answer.body, message)


def test_the_500_after_an_exception_with_catchall_is_json_to_a_browser_under_error_format_json(make_app):
    app = _api(make_app, error_format='json')
    answer = client(app).get('/broken', headers={'Accept': BROWSER_ACCEPT}, status=500, expect_errors=True)
    _assert_json_500(answer.headers['Content-Type'], answer.headers.get('Vary'), answer.body, 'Internal Server Error')


def test_the_500_of_a_misconfigured_process_is_json_to_a_browser_under_error_format_json(tmp_path):
    """Canister's 500 that refuses every request of a process whose thread-locals greenlets share (gevent's own
    server, nothing monkey-patched), answered before Bottle sees the request (a real server)."""
    env = {'CANISTER_SESSION_STORE': 'memory', 'CANISTER_LOG_PATH': str(tmp_path / 'logs'),
           'CANISTER_ERROR_FORMAT': 'json'}
    server = AppServer('gevent_app:app', server='gevent-unpatched', env=env, ready_status=None).start()
    try:
        answer = Browser(server.url).get('/ping', headers={'Accept': BROWSER_ACCEPT})
    finally:
        server.cleanup()
    assert answer.status == 500
    _assert_json_500(answer.headers['Content-Type'], answer.headers.get('Vary'), answer.body,
                     canister._MISCONFIGURED)
