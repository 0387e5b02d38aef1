"""Helpers shared by the session concurrency and session feature tests.

``make_store_url`` gives a test the URL of a fresh store of a kind: memory, a new SQLite
file, or the module's private redis-server (fixture ``module_redis_server``), emptied first.
``Browser`` is real HTTP to a server on 127.0.0.1, one connection per request, with the
session cookie carried by hand so that a test decides which cookie each request sends.
``gated_app`` serves routes whose handlers hold their loaded session open on a gate, and
``hold_request`` starts such a request and waits until it has loaded the session: what another
request does meanwhile is the scenario of each concurrency test (``held_across`` runs that
scenario; ``held_in_turn`` holds two requests and releases them in order).
"""
from __future__ import annotations

import collections
import http.client
import json
import re
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import canister
from helpers import COOKIE, FileEvent, in_background, sqlite_url

STORES = ['memory', 'sqlite', 'redis']


class FourMethodStore(canister.SessionStore):
    """A store written for the four methods of the original protocol: a dict."""

    def __init__(self):
        self.records = {}

    def load(self, sid):
        return self.records.get(sid)

    def save(self, sid, record, ttl):
        self.records[sid] = record

    def touch(self, sid, ttl):
        pass

    def delete(self, sid):
        self.records.pop(sid, None)


class BytesStore(canister.SessionStore):
    """A store with an atomic update whose records come back as UTF-8 bytes (a BLOB column, as many
    database clients give them)."""

    def __init__(self):
        self.rows = {}
        self.lock = threading.Lock()

    def load(self, sid):
        with self.lock:
            return self.rows.get(sid)

    def save(self, sid, record, ttl):
        with self.lock:
            self.rows[sid] = record.encode()

    def create(self, sid, record, ttl, user_key):
        self.save(sid, record, ttl)

    def touch(self, sid, ttl):
        pass

    def delete(self, sid):
        with self.lock:
            return self.rows.pop(sid, None) is not None

    def update(self, sid, expected, record, ttl):
        expected = expected.encode() if isinstance(expected, str) else expected
        with self.lock:
            current = self.rows.get(sid)
            if current is None or current != expected:
                return False, current
            self.rows[sid] = record.encode()
            return True, None


def add_session_routes(app: Any) -> Any:
    """The routes every session test app has: ``/login?name=`` (``&remember=SECONDS`` gives the session that
    lifetime), ``/logout``, ``/set?key=&value=``."""
    from canister import session

    @app.get('/login')
    def login(name, remember: int = 0):
        session.user = name
        if remember:
            session.remember(remember)
        return 'ok'

    @app.get('/logout')
    def logout():
        session.invalidate()
        return 'bye'

    @app.get('/set')
    def set_key(key, value):
        session.data[key] = value
        return 'ok'

    return app


def add_keep_routes(app: Any, path: str) -> Any:
    """``POST path`` keeps its parameter ``name`` in the session (answering ``kept``); ``GET path`` answers it."""
    from canister import session

    @app.post(path)
    def keep(name: str):
        session.data['name'] = name
        return 'kept'

    @app.get(path)
    def kept():
        return session.data['name']

    return app


def _empty_redis(url: str) -> None:
    import redis
    connection = redis.Redis.from_url(url)
    try:
        connection.flushdb()
    finally:
        connection.close()


def make_store_url(kind: str, tmp_path: Any, request: Any) -> str:
    """A URL of an empty store of ``kind`` (memory, sqlite or redis)."""
    if kind == 'memory':
        return 'memory'
    if kind == 'sqlite':
        return sqlite_url(tmp_path / 'sessions.db')
    server = request.getfixturevalue('module_redis_server')
    _empty_redis(server.url)
    return server.url


def plain_timeout(url: str, request: Any) -> Tuple[int, Callable[[], None]]:
    """For a test whose session must live through a few requests under the plain timeout and then be checked
    past it: the ``session_timeout`` to give the app, and what goes past it (call it after those requests).

    Memory and SQLite time sessions by canister's clock: it is stopped (fixture ``clock``), so the session lives
    its 1 s however slowly a loaded machine answers, and the 1.4 s pass when the clock is moved on.  Redis times
    them by its own clock, which no test stops: 30 s, which no load uses up in a few requests, and going past it
    expires at once every key Redis would have expired within 30.4 s (see :func:`_expire_within`), those of a
    session that has only the plain timeout left among them, while one still remembered for longer stays."""
    if url.startswith('redis'):
        return 30, lambda: _expire_within(url, 30.4)
    clock = request.getfixturevalue('clock')
    return 1, lambda: clock.advance(1.4)


def _expire_within(url: str, seconds: float) -> None:
    """What ``seconds`` of Redis' clock do to the keys of the Redis at ``url``: each that expires within them is
    expired now (``PEXPIRE 1``: Redis itself removes it); keys with a longer life, or none, stay."""
    import redis
    connection = redis.Redis.from_url(url)
    try:
        for key in connection.scan_iter(count=1000):
            if 0 <= connection.pttl(key) <= seconds * 1000:
                connection.pexpire(key, 1)
        deadline = time.monotonic() + 30
        while any(0 <= connection.pttl(key) <= 1 for key in connection.scan_iter(count=1000)):
            assert time.monotonic() < deadline, 'Redis kept keys expired a millisecond after'
            time.sleep(0.01)
    finally:
        connection.close()


def plugin_of(app: Any) -> canister.Canister:
    """The Canister plugin installed on a Bottle app."""
    return next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))


class Answer:
    """What a request got back: status, headers, body, and the session cookie it set."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.set_cookies: List[str] = [value for value in headers.get_all('Set-Cookie') or []
                                       if value.startswith(COOKIE + '=')]

    @property
    def text(self) -> str:
        return self.body.decode('utf-8', 'replace')

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def new_sid(self) -> Optional[str]:
        """The id of the session cookie this answer set (None if none, '' if it expired it)."""
        for value in self.set_cookies:
            sid = value.split(';')[0][len(COOKIE) + 1:]
            return '' if expires_cookie(value) else sid
        return None

    def header_values(self, name: str) -> List[str]:
        return [part.strip() for value in self.headers.get_all(name) or [] for part in value.split(',')]

    def __repr__(self) -> str:
        return '<Answer %s %r cookies=%r>' % (self.status, self.text[:200], self.set_cookies)


def expires_cookie(set_cookie: str) -> bool:
    """True for a Set-Cookie header that removes the cookie (Max-Age=0)."""
    return re.search(r';\s*max-age=0\s*(;|$)', set_cookie, re.IGNORECASE) is not None


def max_age(answer: Any) -> Optional[int]:
    """The Max-Age of the session cookie an answer set (None: no cookie, or one without it)."""
    for cookie in answer.set_cookies:
        found = re.search(r';\s*max-age=(\d+)', cookie, re.IGNORECASE)
        return int(found.group(1)) if found else None
    return None


class Browser:
    """Real HTTP to ``origin`` (http://127.0.0.1:port); ``sid`` is the session cookie it sends.

    ``follow`` (default True) adopts the session cookie of each answer, as a browser does;
    with ``follow=False`` every request sends the same cookie whatever the answers said.
    """

    def __init__(self, origin: str, sid: Optional[str] = None, follow: bool = True, timeout: float = 30) -> None:
        parts = urllib.parse.urlsplit(origin)
        self.host, self.port = parts.hostname, parts.port
        self.sid = sid
        self.follow = follow
        self.timeout = timeout

    def get(self, path: str, headers: Optional[Dict[str, str]] = None) -> Answer:
        return self.send('GET', path, headers)

    def post(self, path: str, form: Dict[str, str], headers: Optional[Dict[str, str]] = None) -> Answer:
        """A form POST (urlencoded) of ``form`` to ``path``, with ``headers`` (the page's ``Origin``, say)."""
        sent = {'Content-Type': 'application/x-www-form-urlencoded'}
        sent.update(headers or {})
        return self.send('POST', path, sent, urllib.parse.urlencode(form).encode())

    def send(self, method: str, path: str, headers: Optional[Dict[str, str]] = None,
             body: Optional[bytes] = None) -> Answer:
        sent = {'Connection': 'close'}
        if self.sid:
            sent['Cookie'] = '%s=%s' % (COOKIE, self.sid)
        sent.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            connection.close()
        if self.follow and answer.new_sid is not None:
            self.sid = answer.new_sid or None
        return answer

    def read(self) -> Any:
        """[user, data] of the session this browser's cookie names (GET /read)."""
        answer = self.get('/read')
        assert answer.status == 200, answer
        body = answer.json()
        return [body['user'], body['data']]


# -- handlers held open on a gate ------------------------------------------------------------

class Gate:
    """``loaded`` is set by a handler once it has its session; it then waits for ``release``."""

    def __init__(self) -> None:
        self.loaded = threading.Event()
        self.release = threading.Event()


def wait_at_gate(app: Any, name: str, key: str = '') -> None:
    """In a handler of a gated app: load the session (reading ``key``), say so on gate ``name``, and wait
    until the test releases that gate."""
    from canister import session

    held = app.gates(name)
    session.data.get(key)
    held.loaded.set()
    assert held.release.wait(30), 'the test never released gate %s' % name


def gated_app(make_app: Any, url: Optional[str], **config: Any) -> Any:
    """An app whose routes read, change and hold sessions; ``app.gates(name)`` is the gate of that name.
    ``url``: its store's, or None for a store object given as ``store=`` in ``config``."""
    from canister import session

    app = make_app(**config) if url is None else make_app(session_store=url, **config)
    gates: Dict[str, Gate] = collections.defaultdict(Gate)
    lock = threading.Lock()

    def gate(name):
        with lock:
            return gates[name]

    app.gates = gate
    app.all_gates = gates

    add_session_routes(app)

    @app.get('/del')
    def del_key(key):
        del session.data[key]
        return 'ok'

    @app.get('/incr')
    def incr(key, delay: float = 0.0):
        value = session.data.get(key, 0)
        time.sleep(delay)
        session.data[key] = value + 1
        return str(value + 1)

    @app.get('/regenerate')
    def regenerate():
        session.regenerate()
        return 'ok'

    @app.get('/anonymous')
    def anonymous():
        session.user = None  # a logout that keeps the browser's session: a new id, no user, no data
        return 'ok'

    @app.get('/read')
    def read():
        return {'user': session.user, 'data': session.data}

    @app.get('/remember')
    def remember(seconds: int = 600):
        session.remember(seconds)
        return 'ok'

    @app.get('/hold')
    def hold(name, key='', value='', delete='', user=''):
        """Load the session, wait for the test, then set (or delete) a key, log a user in, or change nothing."""
        wait_at_gate(app, name, key)
        if delete:
            del session.data[delete]
        if key and value:
            session.data[key] = value
        if user:
            session.user = user
        return 'held'

    return app


def add_end_others_routes(app: Any) -> Any:
    """On an app of ``gated_app``: ``/end-others`` ends the other sessions of the session's user
    (``session.end_other_sessions()``, answering how many), and ``/hold-end-others?name=`` does the same once
    held on gate ``name``."""
    from canister import session

    @app.get('/end-others')
    def end_others():
        return str(session.end_other_sessions())

    @app.get('/hold-end-others')
    def hold_end_others(name):
        wait_at_gate(app, name)
        return str(session.end_other_sessions())

    return app


def add_hold_remember_route(app: Any) -> Any:
    """On an app of ``gated_app``: ``/hold-remember?name=&seconds=`` calls ``session.remember(seconds)`` once held
    on gate ``name`` (answering ``remembered``)."""
    from canister import session

    @app.get('/hold-remember')
    def hold_remember(name, seconds: int):
        wait_at_gate(app, name)
        session.remember(seconds)
        return 'remembered'

    return app


def rotation_app(make_app, url, **config):
    """``gated_app`` plus routes that hold the session, then log out or move it."""
    from canister import session
    app = gated_app(make_app, url, **config)

    @app.get('/hold-then')
    def hold_then(name, action):
        wait_at_gate(app, name)
        if action == 'invalidate':
            session.invalidate()
        elif action == 'anonymous':
            session.user = None
        else:
            session.regenerate()
        return 'done'

    return app


def served_rotation_app(make_app: Any, serve_with_gates: Callable[[Any], str], url: Optional[str],
                        **config: Any) -> Tuple[Any, str]:
    """``rotation_app`` served by ``serve_with_gates`` (its held handlers released at the end): the app and its origin."""
    app = rotation_app(make_app, url, **config)
    return app, serve_with_gates(app)


def hold_request(app: Any, origin: str, sid: Optional[str], path: str,
                 send: Optional[Callable[[Browser], 'Answer']] = None) -> Callable[[], 'Answer']:
    """Start ``path`` (a request whose ``name`` query names its gate) with cookie ``sid`` in a thread, and
    wait until its handler has loaded the session; ``release()`` lets the handler go on and gives its answer.
    ``send``: how the request is sent, given the browser (a GET of ``path`` if not given)."""
    [name] = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)['name']
    result = {}
    holder = Browser(origin, sid, follow=False)

    def run():
        result['answer'] = send(holder) if send is not None else holder.get(path)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert app.gates(name).loaded.wait(30), 'the request held on gate %s never loaded its session' % name

    def release() -> Answer:
        app.gates(name).release.set()
        thread.join(30)
        assert not thread.is_alive(), 'the held request did not finish'
        return result['answer']

    return release


def assert_a_login_held_through_end_sessions_stays_out(app: Any, origin: str, path: str, ended: int,
                                                       ending: Any = None) -> None:
    """Hold the login ``path`` (no cookie) before it is stored while ``end_sessions('alice')`` of ``ending``
    (else ``app``) ends ``ended`` sessions; released, the login answers 200, sends no cookie and stores nothing."""
    release = hold_request(app, origin, None, path)

    assert plugin_of(ending or app).end_sessions('alice') == ended
    held = release()

    assert held.status == 200 and held.new_sid is None, held
    assert plugin_of(app).sessions_of('alice') == []


def held_across(app: Any, origin: str, sid: Optional[str], held: str, *meanwhile: str) -> 'Answer':
    """The answer to ``held`` (a /hold query with cookie ``sid``), which loads the session, waits while the
    ``meanwhile`` requests (the same cookie, each answered 200) run to their end, and then finishes."""
    release = hold_request(app, origin, sid, held)
    other = Browser(origin, sid, follow=False)
    for path in meanwhile:
        assert other.get(path).status == 200, path
    return release()


def held_between_the_moves_steps(store: Any) -> Tuple[threading.Event, threading.Event]:
    """Make ``store`` hold a move after it stored the new id, before it marks the old one: the
    events ``arrived`` (set when the move gets there) and ``release`` (the test lets it go on)."""
    update, arrived, release = store.update, threading.Event(), threading.Event()

    def held_update(sid, expected, record, ttl):
        if record.startswith('"moved:') and not arrived.is_set():
            arrived.set()
            assert release.wait(30)
        return update(sid, expected, record, ttl)

    store.update = held_update
    return arrived, release


def start_held(browser: Browser, arrived: Union[threading.Event, FileEvent],
               release: Union[threading.Event, FileEvent], path: str = '/regenerate') -> Callable[..., 'Answer']:
    """Start ``browser``'s ``path`` in a thread and wait until it is held (``arrived``): a move the store holds
    (``held_between_the_moves_steps`` gives both events), or a change whose handler holds it between the load and
    the save of its session; the ``finish(timeout=30)`` that sets ``release`` and gives its answer."""
    moved = in_background(lambda: browser.get(path))
    assert arrived.wait(30), 'the request %s never reached the place where it is held' % path

    def finish(timeout: float = 30) -> 'Answer':
        release.set()
        return moved(timeout)

    return finish


def held_across_moves(app: Any, origin: str, browser: Browser, held: str, *moves: str,
                      meanwhile: Optional[Callable[[], Any]] = None) -> 'Answer':
    """The answer to ``held`` (a gated query with the browser's cookie), which loads the session and waits
    while the browser requests each of ``moves`` (each answered 200 and moving the session to a new id) and
    then ``meanwhile()`` runs, if given."""
    release = hold_request(app, origin, browser.sid, held)
    for move in moves:
        moved_from = browser.sid
        assert browser.get(move).status == 200 and browser.sid not in (None, moved_from), move
    if meanwhile is not None:
        meanwhile()
    return release()


def held_in_turn(app: Any, origin: str, sid: Optional[str], first: str, second: str) -> Tuple['Answer', 'Answer']:
    """The answers to ``first`` and ``second`` (two /hold queries with cookie ``sid``), released in that order
    once both have loaded the session."""
    release_first = hold_request(app, origin, sid, first)
    release_second = hold_request(app, origin, sid, second)
    return release_first(), release_second()


def anonymous(origin: str, **data: str) -> Browser:
    """A browser whose anonymous session on ``origin`` holds ``data`` (no session without data)."""
    browser = Browser(origin)
    for key, value in data.items():
        assert browser.get('/set?key=%s&value=%s' % (key, value)).status == 200
    return browser


def logged_in(origin: str, name: str = 'alice', **data: str) -> Browser:
    """A browser logged in as ``name`` on ``origin``, its session holding ``data``."""
    browser = Browser(origin)
    assert browser.get('/login?name=' + name).status == 200
    for key, value in data.items():
        assert browser.get('/set?key=%s&value=%s' % (key, value)).status == 200
    assert browser.sid
    return browser


def run_threads(targets: List[Any], timeout: float = 60) -> List[BaseException]:
    """Run each callable in a thread of its own, all at once; the exceptions they raised."""
    errors: List[BaseException] = []

    def wrap(target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # reported to the test
                errors.append(error)
        return run

    threads = [threading.Thread(target=wrap(target), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), 'a client thread is still running after %ss' % timeout
    return errors



# -- a write Redis ran whose answer was lost ---------------------------------------------------

def answer_cut_off(store: Any, method: str, master: Any, replica: Any) -> Tuple[threading.Event, List[str]]:
    """Make ``store`` (a RedisStore with ``wait=1`` on ``master``, ``replica`` following it) lose, once the returned
    event is set, the answer to its next call of ``method`` (``create``: a session stored under a new id;
    ``update``: a change to a stored session) after Redis ran its commands: the replica is frozen, so the WAIT
    that ends them blocks, and a second connection kills the client waiting (CLIENT KILL); the replica then goes
    on.  The list gets the session id written, then ``'killed'`` once the client was killed."""
    import redis

    from servers import wait_until

    write, armed, cut = getattr(store, method), threading.Event(), []
    admin = redis.Redis(port=master.port)

    def kill_the_waiting_client() -> None:
        waiting = wait_until(lambda: [client['id'] for client in admin.client_list()
                                      if client['cmd'] == 'wait' and 'b' in client['flags']], 10,
                             what='the WAIT of the %s to block' % method)
        try:
            if admin.client_kill_filter(_id=waiting[0]) == 1:
                cut.append('killed')
        finally:
            replica.thaw()

    def write_then_cut(sid: str, *arguments: Any) -> Any:
        if not armed.is_set():
            return write(sid, *arguments)
        armed.clear()
        cut.append(sid)
        replica.freeze()
        killer = threading.Thread(target=kill_the_waiting_client, daemon=True)
        killer.start()
        try:
            return write(sid, *arguments)
        finally:
            killer.join(60)

    setattr(store, method, write_then_cut)
    return armed, cut
