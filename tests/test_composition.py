"""Apps composed with Bottle's mount and merge: every request gets canister's work exactly once.

The matrix: a child app mounted (as a Bottle app, or wrapped as a plain WSGI callable) or
merged into a parent, with canister installed on the parent, on the child, or on both.
Bottle 0.13 copies a mounted Bottle app's routes into the parent (as ``merge`` does in
both versions), so the parent's WSGI entry serves them; bottle 0.12 calls the child's own.
"""
from __future__ import annotations

import base64
import pathlib
import re
from typing import Any, Callable, Dict, Iterator, List, Tuple

import bottle
import pytest
import webtest

from helpers import APP_ORIGIN as APP, EVIL_ORIGIN as EVIL, client, compose_child, read_log, set_cookies, sqlite_url
from servers import Client, InProcessWaitress

import canister
from canister import session

COMPOSITIONS = ['mount', 'mount_wsgi', 'mount_copy', 'merge']
PLACES = ['parent', 'child', 'both']
CONFIG = {
    'cors': APP, 'cors_credentials': True, 'max_body_size': 100,
    'auth_basic_username': 'alice', 'auth_basic_password': 'wonderland', 'auth_basic_encryption': 'clear',
}
ALICE = 'Basic ' + base64.b64encode(b'alice:wonderland').decode()
REQUEST_LINE = re.compile(r' (GET|POST|PUT|DELETE|OPTIONS) http://\S+$', re.M)
RESPONSE_LINE = re.compile(r' Response: \d{3} \(', re.M)


class Chunks:
    """A body of chunks that is no generator, as an app may write one (an iterator with a ``close``): each chunk
    says the request id it sees and stores it in the session; ``close`` is noted in ``calls``."""

    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.sent = 0

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> bytes:
        if self.sent == 2:
            raise StopIteration
        self.sent += 1
        session.data['chunk %d' % self.sent] = canister.request_id()
        return ('chunk %d of %s; ' % (self.sent, canister.request_id())).encode()

    def close(self) -> None:
        self.calls.append('closed')


def child_routes(child: bottle.Bottle, calls: list) -> None:
    @child.get('/whoami')
    def whoami() -> Dict[str, Any]:
        return {'user': session.user}

    @child.get('/login')
    def login() -> str:
        session.user = 'alice'
        session.data['secret'] = 'of alice'
        return 'logged in'

    @child.get('/set')
    def set_value() -> str:  # reads the query itself: canister on the parent alone binds no parameters here
        session.data[bottle.request.query.get('v', '')] = 'private'
        return 'set'

    @child.get('/peek')
    def peek() -> Dict[str, Any]:
        return {'user': session.user, 'data': session.data}

    @child.post('/post')
    def post() -> str:
        calls.append(bottle.request.body.read())
        return 'posted'

    @child.get('/typed')
    def typed(n: int = 0) -> Dict[str, Any]:
        return {'n': n}

    @child.get('/crash')
    def crash() -> str:
        raise RuntimeError('boom')

    @child.get('/stream')
    def stream() -> Iterator[str]:
        yield 'one '
        yield 'two'

    @child.get('/stream_path')
    def stream_path() -> Iterator[str]:
        yield 'first %s|%s|%s, ' % (bottle.request.script_name, bottle.request.path, bottle.request.route.rule)
        yield 'then %s|%s|%s' % (bottle.request.script_name, bottle.request.path, bottle.request.route.rule)

    @child.get('/item/<name>')
    def item(name: str) -> str:
        return 'item %s at %s' % (name, bottle.request.path)

    @child.get('/stream_fail')
    def stream_fail() -> Iterator[str]:
        yield 'first'
        raise RuntimeError('fails while streaming')

    @child.post('/end_everywhere')
    def end_everywhere() -> Dict[str, Any]:  # an admin route of the child, with the child's own plugin
        plugin = [plugin for plugin in child.plugins if isinstance(plugin, canister.Canister)][0]
        return {'listed': len(plugin.sessions_of('alice')), 'ended': plugin.end_sessions('alice')}

    @child.post('/skipped_post', skip=['canister'])
    def skipped_post() -> str:  # a route that opts out of canister's arguments (and of nothing else)
        calls.append(bottle.request.body.read())
        return 'posted'

    @child.get('/skipped_stream', skip=['canister'])
    def skipped_stream() -> Iterator[str]:
        session.data['streamed'] = canister.request_id()
        yield 'first %s, ' % canister.request_id()
        yield 'then %s' % canister.request_id()

    @child.get('/skipped_stream_fail', skip=['canister'])
    def skipped_stream_fail() -> Iterator[str]:
        yield 'first'
        raise RuntimeError('fails while streaming where canister is skipped')

    @child.get('/skipped_crash', skip=['canister'])
    def skipped_crash() -> str:
        raise RuntimeError('boom where canister is skipped')

    @child.get('/chunks')
    def chunks() -> Chunks:
        return Chunks(calls)

    @child.get('/stream_session')
    def stream_session() -> Iterator[str]:
        session.data['before'] = canister.request_id()    # a new session, before the first chunk
        yield 'first %s, ' % canister.request_id()
        session.data['after'] = canister.request_id()     # saved when the server closes the body
        yield 'then %s' % canister.request_id()


@pytest.fixture
def compose(tmp_path: pathlib.Path) -> Iterator[Callable[..., Any]]:
    """compose(composition, place) -> (parent, prefix, calls, log directories)."""
    installed = []

    def build(composition: str, place: str) -> Tuple[bottle.Bottle, str, list, Tuple[pathlib.Path, ...]]:
        calls: list = []
        child = bottle.Bottle()
        child.catchall = False
        parent = bottle.Bottle()
        parent.catchall = False
        logs = (tmp_path / 'parent-logs', tmp_path / 'child-logs')
        if place in ('child', 'both'):
            child.install(canister.Canister(log_path=str(logs[1]), **CONFIG))
            installed.append(child)
        child_routes(child, calls)

        @parent.get('/own')
        def own() -> Dict[str, Any]:
            return {'user': session.user}

        prefix = compose_child(parent, child, composition)
        if place in ('parent', 'both'):
            parent.install(canister.Canister(log_path=str(logs[0]), session_cookie='parent_session', **CONFIG))
            installed.append(parent)
        return parent, prefix, calls, logs

    yield build
    for app in installed:
        app.uninstall(True)


def logged(logs: Tuple[pathlib.Path, ...]) -> str:
    return ''.join(read_log(directory) for directory in logs)


matrix = pytest.mark.parametrize('composition,place', [(c, p) for c in COMPOSITIONS for p in PLACES])


@matrix
def test_a_login_does_not_reach_the_next_client(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    alice = client(parent)
    assert alice.get(prefix + '/login').text == 'logged in'
    assert alice.get(prefix + '/peek').json == {'user': 'alice', 'data': {'secret': 'of alice'}}
    stranger = client(parent)
    assert stranger.get(prefix + '/set?v=mine').status_int == 200
    assert client(parent).get(prefix + '/peek').json == {'user': None, 'data': {}}
    assert stranger.get(prefix + '/peek').json == {'user': None, 'data': {'mine': 'private'}}


@pytest.mark.parametrize('composition', COMPOSITIONS)
@pytest.mark.parametrize('place', ['child', 'both'])
def test_basic_credentials_hold_for_their_request_only(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    res = client(parent).get(prefix + '/whoami', headers={'Authorization': ALICE})
    assert res.json == {'user': 'alice'}
    assert client(parent).get(prefix + '/set?v=private').status_int == 200
    assert client(parent).get(prefix + '/peek').json == {'user': None, 'data': {}}


@matrix
def test_a_cross_site_form_post_is_refused(compose, composition, place):
    parent, prefix, calls, _ = compose(composition, place)
    res = client(parent).post(prefix + '/post', {'amount': '5'}, headers={'Origin': EVIL}, status='*')
    assert res.status_int == 403
    assert 'Cross-site request refused' in res.text
    assert calls == []
    res = client(parent).post(prefix + '/post', {'amount': '5'}, headers={'Origin': APP}, status='*')
    assert res.status_int == 200
    assert calls == [b'amount=5']


@matrix
def test_a_cross_site_form_post_to_a_childs_route_that_skips_canister_is_refused_and_each_post_logged_once(
        compose, composition, place):
    # (with canister on the child alone, served through the parent's entry, such a route got none of canister's
    # work: the form of any site was let in, with no log line and no request id)
    parent, prefix, calls, logs = compose(composition, place)
    res = client(parent).post(prefix + '/skipped_post', {'amount': '5'}, headers={'Origin': EVIL}, status='*')
    assert (res.status_int, calls) == (403, [])
    res = client(parent).post(prefix + '/skipped_post', {'amount': '5'}, headers={'Origin': APP}, status='*')
    assert (res.status_int, calls) == (200, [b'amount=5'])
    assert len(res.headers.getall('X-Request-ID')) == 1
    text = logged(logs)
    assert len(REQUEST_LINE.findall(text)) == len(RESPONSE_LINE.findall(text)) == 2, text
    assert text.count('Cross-site request refused') == 1


@matrix
def test_a_stream_of_a_childs_route_that_skips_canister_has_its_session_and_request_id_in_every_chunk(
        compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    web = client(parent)
    res = web.get(prefix + '/skipped_stream')
    request_id = res.headers['X-Request-ID']
    assert res.text == 'first %s, then %s' % (request_id, request_id)
    assert web.get(prefix + '/peek').json['data'] == {'streamed': request_id}


@matrix
def test_an_exception_of_a_childs_route_that_skips_canister_is_logged_once_with_its_traceback(
        compose, composition, place):
    parent, prefix, _, logs = compose(composition, place)
    parent.catchall = True
    assert client(parent).get(prefix + '/skipped_crash', expect_errors=True).status_int == 500
    text = logged(logs)
    assert text.count('RuntimeError: boom where canister is skipped') == 1, text
    assert text.count('Response: 500') == 1, text


@matrix
def test_a_body_over_max_body_size_is_refused(compose, composition, place):
    parent, prefix, calls, _ = compose(composition, place)
    res = client(parent).post(prefix + '/post', b'x' * 5000, content_type='application/octet-stream', status='*')
    assert res.status_int == 413
    assert calls == []


@matrix
def test_cors_headers_are_sent_once(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    res = client(parent).get(prefix + '/peek', headers={'Origin': APP})
    assert res.headers.getall('Access-Control-Allow-Origin') == [APP]
    assert res.headers.getall('Access-Control-Allow-Credentials') == ['true']
    res = client(parent).get(prefix + '/peek', headers={'Origin': EVIL})
    assert 'Access-Control-Allow-Origin' not in res.headers


@matrix
def test_a_cors_preflight_is_answered_by_canister_unless_the_parent_answers_it_alone(compose, composition, place):
    parent, prefix, calls, _ = compose(composition, place)
    ask = {'Access-Control-Request-Method': 'POST'}
    allowed = client(parent).options(prefix + '/post', headers=dict(ask, Origin=APP), status='*')
    refused = client(parent).options(prefix + '/post', headers=dict(ask, Origin=EVIL), status='*')
    served_by_parent = place == 'child' and (composition == 'merge' or (
        composition == 'mount' and not bottle.__version__.startswith('0.12')))
    if served_by_parent:  # the parent's entry serves the child's routes, and no route takes OPTIONS
        assert (allowed.status_int, refused.status_int) == (405, 405)
        assert 'Access-Control-Allow-Origin' not in allowed.headers
    else:
        assert allowed.status_int == 204
        assert allowed.headers.getall('Access-Control-Allow-Origin') == [APP]
        assert refused.status_int == 403
        nowhere = client(parent).options(prefix + '/nowhere', headers=dict(ask, Origin=APP), status='*')
        if composition in ('mount_wsgi', 'mount_copy') and place != 'child':  # the parent's canister cannot see in
            assert allowed.headers['Access-Control-Allow-Methods'] == 'GET, HEAD, POST, PUT, PATCH, DELETE'
            assert nowhere.status_int == 204
        else:  # the route's own methods, and no route, no preflight
            assert allowed.headers['Access-Control-Allow-Methods'] == 'POST'
            assert nowhere.status_int == 404
        assert 'Access-Control-Allow-Origin' not in refused.headers
    assert calls == []  # a preflight never reaches the handler


@matrix
def test_security_headers_and_request_id_are_sent_once(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    for path in ('/peek', '/stream'):
        res = client(parent).get(prefix + path)
        assert res.headers.getall('X-Content-Type-Options') == ['nosniff']
        assert res.headers.getall('X-Frame-Options') == ['DENY']
        assert len(res.headers.getall('X-Request-ID')) == 1
    assert res.text == 'one two'


@matrix
def test_each_request_is_logged_once(compose, composition, place):
    parent, prefix, _, logs = compose(composition, place)
    test_client = client(parent)
    test_client.get(prefix + '/login')
    test_client.get(prefix + '/peek')
    test_client.post(prefix + '/post', {'a': '1'}, headers={'Origin': EVIL}, status=403)
    test_client.get(prefix + '/stream')
    text = logged(logs)
    assert len(REQUEST_LINE.findall(text)) == 4, text
    assert len(RESPONSE_LINE.findall(text)) == 4, text
    assert 'Response: 403' in text
    assert text.count('Cross-site request refused') == 1


@matrix
def test_the_parents_own_routes_get_canister_only_from_the_parent(compose, composition, place):
    parent, _, _, logs = compose(composition, place)
    res = client(parent).get('/own')
    assert res.json == {'user': None}
    text = logged(logs)
    if place == 'child':
        assert 'X-Request-ID' not in res.headers
        assert '/own' not in text
    else:
        assert 'X-Request-ID' in res.headers
        assert len(REQUEST_LINE.findall(text)) == 1


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_no_login_stays_in_the_slot_of_a_real_server_thread(compose, composition):
    parent, prefix, _, _ = compose(composition, 'child')
    server = InProcessWaitress(parent, threads=1)
    try:
        first = Client(server.origin)
        assert first.get(prefix + '/whoami', headers={'Authorization': ALICE}).json() == {'user': 'alice'}
        assert Client(server.origin).get(prefix + '/set?v=private').status == 200
        assert Client(server.origin).get(prefix + '/peek').json() == {'user': None, 'data': {}}
    finally:
        server.close()


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_canister_on_the_parent_alone_leaves_the_childs_routes_their_own_arguments_and_credentials(
        compose, composition):
    parent, prefix, _, _ = compose(composition, 'parent')
    res = client(parent).get(prefix + '/whoami', headers={'Authorization': ALICE})
    assert res.json == {'user': None}  # Bottle applies a parent's plugins to its own routes only
    assert len(res.headers.getall('X-Request-ID')) == 1
    assert client(parent).get(prefix + '/typed?n=5').json == {'n': 0}


UNBOUND = ("Route GET %s is of a child app mounted or merged into this one without canister, so its handler is called "
           "without the parameters canister fills from the request (n): whatever the request sends, each keeps its "
           "default (one without a default fails the call); install canister on the child app too")


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_canister_on_the_parent_alone_warns_once_of_a_childs_route_whose_arguments_it_leaves_unbound(
        compose, composition):
    parent, prefix, _, logs = compose(composition, 'parent')
    browser = client(parent)
    for n in (5, 6):
        assert browser.get(prefix + '/typed?n=%d' % n).json == {'n': 0}
    assert browser.get(prefix + '/item/x').text.startswith('item x')   # a URL argument only: Bottle passes it
    assert browser.get(prefix + '/whoami').json == {'user': None}      # no parameter: nothing to say
    warnings = [line for line in read_log(logs[0]).splitlines() if ' WARNING ' in line]
    assert [line.split('] ', 1)[1].strip() for line in warnings] == [UNBOUND % (prefix + '/typed')]


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_a_child_added_after_the_install_is_watched_too_and_one_with_canister_is_not_warned_of(
        make_app, log_dir, tmp_path, composition):
    parent = make_app()
    bare, served = bottle.Bottle(), bottle.Bottle()
    for child in (bare, served):
        child.route('/hello', callback=lambda name='world': 'hello %s' % name)
    served.install(canister.Canister(log_path=str(tmp_path / 'child-logs')))
    try:
        if composition == 'mount':
            parent.mount('/bare/', bare)
            parent.mount('/served/', served)
        else:
            parent.merge(bare.routes[:1])
            served.routes[0].rule = '/served'
            parent.merge(served)
        assert client(parent).get('/served?name=bob' if composition == 'merge' else '/served/hello?name=bob').text \
            == 'hello bob'
        bare_path = '/bare/hello' if composition == 'mount' else '/hello'
        for _ in range(2):
            assert client(parent).get(bare_path + '?name=bob').text == 'hello world'
    finally:
        served.uninstall(True)
    warnings = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line and '   Route ' in line]
    assert len(warnings) == 1
    assert 'Route GET %s is of a child app mounted or merged' % bare_path in warnings[0]
    assert '(name)' in warnings[0]


@pytest.mark.parametrize('composition', COMPOSITIONS)
@pytest.mark.parametrize('place', ['child', 'both'])
def test_canister_on_the_child_binds_its_handlers_arguments(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    assert client(parent).get(prefix + '/typed?n=5').json == {'n': 5}


@pytest.mark.parametrize('place', ['child', 'both'])
def test_with_canister_on_both_or_the_child_a_childs_route_checks_credentials(compose, place):
    parent, _, _, _ = compose('merge', place)
    res = client(parent).get('/whoami', headers={'Authorization': 'Basic ' + base64.b64encode(b'alice:no').decode()},
                             status=401)
    assert res.headers['WWW-Authenticate'].startswith('Basic realm="canister"')


def test_with_canister_on_the_child_alone_the_parents_own_answers_are_the_parents(compose):
    parent, _, _, logs = compose('merge', 'child')
    test_client = client(parent)
    preflight = {'Origin': APP, 'Access-Control-Request-Method': 'GET'}
    for res in (test_client.get('/nowhere', status=404), test_client.put('/peek', status=405),
                test_client.options('/peek', headers=preflight, status=405)):
        assert 'X-Request-ID' not in res.headers
        assert 'X-Content-Type-Options' not in res.headers
        assert 'Access-Control-Allow-Origin' not in res.headers
    assert logged(logs).count('GET http') == 0
    assert 'PUT' not in logged(logs)
    assert 'OPTIONS' not in logged(logs)


def test_with_canister_on_the_child_alone_the_500_of_a_childs_route_is_canisters_and_logged_once(compose):
    # (it was the parent's page, without canister's headers, and Bottle's HTML to a JSON client)
    parent, _, _, logs = compose('merge', 'child')
    parent.catchall = True
    res = client(parent).get('/crash', headers={'Accept': 'application/json'}, expect_errors=True)
    assert res.status_int == 500 and res.json['message'] == 'Internal Server Error'
    assert 'X-Request-ID' in res.headers
    text = logged(logs)
    assert text.count('Unhandled exception in GET /crash') == 1
    assert text.count('Response: 500') == 1


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_with_canister_on_both_the_parents_settings_govern_the_request(compose, composition):
    parent, prefix, _, logs = compose(composition, 'both')
    parent_plugin = [plugin for plugin in parent.plugins if isinstance(plugin, canister.Canister)][0]
    res = client(parent).get(prefix + '/login')
    assert parent_plugin.sessions.cookie_name == 'parent_session'
    assert res.headers['Set-Cookie'].startswith('parent_session=')
    assert '/login' in read_log(logs[0])
    assert read_log(logs[1]).count('GET http') == 0


@matrix
def test_a_streamed_body_has_its_session_and_request_id_in_every_chunk(compose, composition, place):
    parent, prefix, _, logs = compose(composition, place)
    web = client(parent)
    res = web.get(prefix + '/stream_session')
    request_id = res.headers['X-Request-ID']
    assert res.text == 'first %s, then %s' % (request_id, request_id)
    assert res.headers['Set-Cookie'].split('=')[0] in ('session_id', 'parent_session')
    assert web.get(prefix + '/peek').json['data'] == {'before': request_id, 'after': request_id}
    # (but, on both, the one that names the child's log_path, which the parent's canister does not use)
    assert [line for line in logged(logs).splitlines()
            if 'WARNING' in line and 'has a canister of its own, whose settings do not apply here' not in line] == []


@matrix
def test_a_body_of_chunks_that_is_no_generator_has_its_session_and_request_id_in_every_chunk(
        compose, composition, place):
    # (with canister on the child alone, served through the parent's entry, its chunks had no request:
    # request_id() was '' and the session none)
    parent, prefix, calls, _ = compose(composition, place)
    web = client(parent)
    res = web.get(prefix + '/chunks')
    request_id = res.headers['X-Request-ID']
    assert res.text == 'chunk 1 of %s; chunk 2 of %s; ' % (request_id, request_id)
    assert calls == ['closed']
    assert web.get(prefix + '/peek').json['data'] == {'chunk 1': request_id, 'chunk 2': request_id}


def streamed_on_a_server(parent: bottle.Bottle, path: str) -> Tuple[str, List[str]]:
    """GET ``path`` of ``parent`` on a real server, which reads the chunks after the mount point returned: the
    body, and the path that a WSGI middleware outside the app sees after the stream (``SCRIPT_NAME|PATH_INFO``)."""
    paths = []

    def server_side(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        body = parent(environ, start_response)
        yield from body
        body.close()
        paths.append(environ.get('SCRIPT_NAME', '').rstrip('/') + '|' + environ['PATH_INFO'])  # (Bottle: '' is '/')

    server = InProcessWaitress(server_side, threads=1)
    try:
        return Client(server.origin).get(path).text, paths
    finally:
        server.close()


@pytest.mark.parametrize('composition', COMPOSITIONS)
def test_with_canister_on_both_every_chunk_of_a_childs_stream_sees_its_path_and_the_server_the_parents(
        compose, composition):
    parent, prefix, _, _ = compose(composition, 'both')
    text, paths = streamed_on_a_server(parent, prefix + '/stream_path')
    first = text.partition(', ')[0].replace('first ', '')
    assert text == 'first %s, then %s' % (first, first)
    assert first in ('/a/|/stream_path|/stream_path', '/|/a/stream_path|/a/stream_path', '/|/stream_path|/stream_path')
    assert paths == ['|' + prefix + '/stream_path']


@pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy'])
@pytest.mark.parametrize('place', ['parent', 'child'])
def test_with_canister_on_one_side_every_chunk_of_a_childs_stream_sees_the_path_the_first_saw(
        compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    text, paths = streamed_on_a_server(parent, prefix + '/stream_path')
    first = text.partition(', ')[0].replace('first ', '')
    assert text == 'first %s, then %s' % (first, first)
    assert first in ('/a/|/stream_path|/stream_path', '/|/a/stream_path|/a/stream_path')
    # (a wrapper that copies the environ: Bottle shifts the copy back, and leaves the parent's shifted)
    assert paths == ['/a|/stream_path' if composition == 'mount_copy' else '|/a/stream_path']


@pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy'])
def test_with_canister_on_the_parent_alone_a_childs_stream_that_fails_is_logged_with_the_path_sent(
        compose, composition):
    parent, prefix, _, logs = compose(composition, 'parent')
    with pytest.raises(RuntimeError, match='fails while streaming'):
        client(parent).get(prefix + '/stream_fail')
    assert 'Unhandled exception while streaming GET /a/stream_fail\n' in read_log(logs[0])


@pytest.mark.parametrize('composition', ['merge', 'mount'])
def test_with_canister_on_the_child_alone_a_stream_of_its_route_that_skips_canister_names_the_route_when_it_fails_or_is_cut(
        compose, composition):
    # the parent's entry serves the child's route (merge; mount on bottle 0.13, which gives the route its mount point
    # after the child added it): the skipped route's stand-in streams the body and names the route as it is served.
    # (Bottle 0.12 mounts as WSGI: the child's own entry serves it, naming the path sent, the same here.)
    parent, prefix, _, logs = compose(composition, 'child')
    with pytest.raises(RuntimeError, match='fails while streaming where canister is skipped'):
        client(parent).get(prefix + '/skipped_stream_fail')
    assert 'Unhandled exception while streaming GET %s/skipped_stream_fail\n' % prefix in read_log(logs[1])
    request = webtest.TestRequest.blank(prefix + '/skipped_stream', environ={'REMOTE_ADDR': '127.0.0.1'})
    body = parent(request.environ, lambda status, headers, exc_info=None: None)
    assert next(iter(body)).startswith(b'first ')
    body.close()  # (the client went away after the first chunk)
    assert re.search(r'Stream of GET %s/skipped_stream cut after \d+ms' % prefix, read_log(logs[1]))


@pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy'])
@pytest.mark.parametrize('place', PLACES)
def test_a_non_ascii_path_through_a_mount_is_answered_as_by_bottle_alone_and_logged_as_the_client_sent_it(
        compose, composition, place):
    parent, prefix, _, logs = compose(composition, place)
    bare_child, bare_parent = bottle.Bottle(), bottle.Bottle()
    child_routes(bare_child, [])
    compose_child(bare_parent, bare_child, composition)
    path = prefix + '/item/caf%C3%A9'
    alone = client(bare_parent).get(path, expect_errors=True)  # (Bottle decodes the path twice: its own doing)
    res = client(parent).get(path, expect_errors=True)
    assert (res.status_int, res.text) == (alone.status_int, alone.text)
    assert 'GET http://localhost:80/a/item/caf%C3%A9\n' in logged(logs)


@pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy'])
@pytest.mark.parametrize('place', PLACES)
def test_a_non_ascii_path_through_a_mount_is_a_400_on_bottle_012_and_loses_its_characters_under_a_wsgi_mount_on_013(
        compose, composition, place):
    """What Bottle makes of ``/a/café`` under a mount, canister or not: bottle 0.12 calls every mounted app as
    WSGI and answers 400; 0.13 does so for a prefix without the trailing ``/`` or a wrapped child, whose path
    loses the characters, and serves a Bottle child mounted under ``/a/`` (the trailing ``/``) as its own routes."""
    parent, prefix, _, _ = compose(composition, place)
    res = client(parent).get(prefix + '/item/caf%C3%A9', expect_errors=True)
    if bottle.__version__.startswith('0.12'):
        assert res.status_int == 400
    elif composition == 'mount':
        assert res.text == 'item caf\u00e9 at /a/item/caf\u00e9'
    else:
        assert res.text == 'item caf at /item/caf'


@pytest.mark.parametrize('composition', COMPOSITIONS)
@pytest.mark.parametrize('place', ['child', 'both'])
def test_the_childs_plugin_ends_a_users_sessions_wherever_they_are_stored(compose, composition, place):
    parent, prefix, _, _ = compose(composition, place)
    browsers = [client(parent), client(parent)]
    for web in browsers:
        assert web.get(prefix + '/login').text == 'logged in'
    assert browsers[1].post(prefix + '/end_everywhere').json == {'listed': 2, 'ended': 2}
    assert browsers[0].get(prefix + '/whoami').json == {'user': None}


@pytest.mark.parametrize('composition', ['mount', 'mount_wsgi', 'mount_copy'])
def test_with_canister_on_both_and_other_cookies_and_stores_a_childs_route_has_the_parents_session_logged_once(
        tmp_path, uninstall_at_end, composition):
    parent, child = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), session_cookie='child_session',
                                    session_store=sqlite_url(tmp_path / 'child.db')))
    child_routes(child, [])
    prefix = compose_child(parent, child, composition)
    parent.route('/visit', callback=lambda: dict(session.data, visited='parent'))
    parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), session_cookie='parent_session'))
    web = client(parent)
    assert [cookie.split('=')[0] for cookie in set_cookies(web.get(prefix + '/login'))] == ['parent_session']
    assert web.get('/visit').json == {'secret': 'of alice', 'visited': 'parent'}  # one session for both apps
    assert web.get(prefix + '/whoami').json == {'user': 'alice'}
    plugins = [[plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)][0] for app in (parent, child)]
    assert [len(plugin.sessions_of('alice')) for plugin in plugins] == [1, 0]  # (from a script: each its own store)
    assert len(REQUEST_LINE.findall(read_log(tmp_path / 'parent'))) == 3
    assert REQUEST_LINE.findall(read_log(tmp_path / 'child')) == []


def two_children_app(shop_cookie: str, admin_cookie: str) -> bottle.Bottle:
    """Two child apps, each with a canister of its own (a memory store each), mounted in one parent."""
    parent = bottle.Bottle()
    for name, cookie in (('shop', shop_cookie), ('admin', admin_cookie)):
        child = bottle.Bottle()
        child.install(canister.Canister(log_path='stderr', log_level='DISABLED', session_cookie=cookie))

        @child.get('/login')
        def login() -> str:
            session.user = 'alice'
            return 'logged in'

        @child.get('/visit')
        def visit() -> str:
            session.data['visits'] = session.data.get('visits', 0) + 1
            return '%s %s' % (session.user, session.data['visits'])

        parent.mount('/%s/' % name, child)
    return parent


def test_two_children_with_their_own_canister_and_one_cookie_name_replace_each_others_cookie():
    web = client(two_children_app('session_id', 'session_id'))
    web.get('/shop/login')
    assert web.get('/shop/visit').text == 'alice 1'
    assert web.get('/admin/visit').text == 'None 1'
    assert web.get('/shop/visit').text == 'None 1'  # the README's warning: the shop's session is lost


def test_two_children_with_their_own_cookie_names_keep_both_sessions():
    web = client(two_children_app('shop_session', 'admin_session'))
    web.get('/shop/login')
    assert web.get('/shop/visit').text == 'alice 1'
    assert web.get('/admin/visit').text == 'None 1'
    assert web.get('/shop/visit').text == 'alice 2'
    assert web.get('/admin/visit').text == 'None 2'


class GatePlugin:
    """A plugin of the app's own that lets through only a logged-in user (it reads the session)."""

    name = 'gate'
    api = 2

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        def gate(*args: Any, **kwargs: Any) -> Any:
            if route.rule.endswith('/whoami') and session.user is None:
                return bottle.HTTPResponse('the gate: nobody is logged in', status=401)
            return callback(*args, **kwargs)
        return gate


def gated_child_app(composition: str, place: str, logs: pathlib.Path,
                    uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]) -> Tuple[bottle.Bottle, str]:
    """A child with the gate installed before canister, put in a parent as ``composition`` says."""
    child, parent = uninstall_at_end(bottle.Bottle()), uninstall_at_end(bottle.Bottle())
    child.install(GatePlugin())
    child.install(canister.Canister(log_path=str(logs / 'child')))
    child_routes(child, [])
    prefix = compose_child(parent, child, composition)
    if place == 'both':
        parent.install(canister.Canister(log_path=str(logs / 'parent')))
    return parent, prefix


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_a_plugin_installed_before_canister_on_a_child_the_parent_serves_is_named_in_a_warning(
        tmp_path, uninstall_at_end, composition):
    parent, prefix = gated_child_app(composition, 'child', tmp_path, uninstall_at_end)
    web = client(parent)
    web.get(prefix + '/login')
    answer = web.get(prefix + '/whoami', expect_errors=True)
    log = read_log(tmp_path / 'child')
    if answer.status_int == 200:  # bottle 0.12's mount: the child's own entry serves it, inside canister's work
        assert answer.json == {'user': 'alice'} and 'WARNING' not in log
    else:  # the parent's entry serves it: the gate ran before canister began the request
        assert answer.text == 'the gate: nobody is logged in'
        assert log.count('plugins installed on this app before canister (gate) run before canister') == 1


@pytest.mark.parametrize('composition', ['mount', 'merge'])
def test_a_plugin_installed_before_canister_on_a_child_sees_the_user_with_canister_on_the_parent_too(
        tmp_path, uninstall_at_end, composition):
    parent, prefix = gated_child_app(composition, 'both', tmp_path, uninstall_at_end)
    web = client(parent)
    web.get(prefix + '/login')
    assert web.get(prefix + '/whoami').json == {'user': 'alice'}
    assert 'WARNING' not in read_log(tmp_path / 'child')
