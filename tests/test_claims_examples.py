"""README examples that no other test ran, each run as a user would: the first app under a real
``gunicorn app:app`` (one worker and three) and a real ``waitress-serve app:app``; the Bearer block of a real
provider against a JWKS served by a real local HTTP server, with tokens PyJWT signs with a real RSA key; the
"Writing a store" skeleton filled in as its comments say and installed; the login form; the Security headers
block; the Redis block of Scaling out against a real TLS redis-server that asks for the password; and what Limits
and error answers says of gunicorn and waitress, on both."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import bottle
import pytest

import canister
from canister import session
from helpers import (ROOT, app_with_ini, bearer, client, cookie_value, hand_made_token, hs256_signer, jwk, read_log,
                     warning_lines, with_cookie)
from redis_topologies import TlsRedis
from servers import (Client, InProcessWaitress, chunked, raw_request, send_all_then_read, served_on_a_free_port,
                     status_of, wait_until)

README = (ROOT / 'README.md').read_text(encoding='utf-8')
BIN = Path(sys.executable).parent   # the console scripts of the environment the tests run in


def section(title: str) -> str:
    """The text of a README section (``## title`` or ``### title``) up to the next heading of any level."""
    return re.split(r'\n#{2,3} ', README.split('\n%s\n' % title, 1)[1], maxsplit=1)[0]


def blocks(title: str, language: str) -> List[str]:
    """The ```language blocks of a README section."""
    return re.findall(r'```%s\n(.*?)```' % language, section(title), re.S)


# -- A first app, under a production server ----------------------------------------------------------

#: The last lines of the README's first app: app.run() under the guard, as printed.
GUARDED_RUN = re.compile(r"\nif __name__ == '__main__':[^\n]*\n    app\.run\(\)\n$")


def first_app_file(directory: Path) -> None:
    """The README's first app as app.py, as printed (its ``app.run()`` under ``if __name__ == '__main__':``)."""
    text = section('## A first app')
    assert '`gunicorn app:app`' in text and '`waitress-serve app:app`' in text
    block = blocks('## A first app', 'python')[0]
    assert GUARDED_RUN.search(block), block[-200:]
    (directory / 'app.py').write_text(block)


def served(command: List[str], directory: Path, stderr_apart: bool = False) -> Tuple[subprocess.Popen, int]:
    """``command`` (``{port}`` in its parts: a free port) started in ``directory`` (canister of this checkout
    importable), polled until its port answers GET / with 200 (on another port if a test run beside this one took
    that one first): the process and its port. Its output in server-output.txt, its stderr in server-stderr.txt if
    ``stderr_apart``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED='1')
    outputs = [directory / 'server-output.txt'] + ([directory / 'server-stderr.txt'] if stderr_apart else [])

    def start(port: int) -> subprocess.Popen:
        output = open(outputs[0], 'wb')
        errors = open(outputs[1], 'wb') if stderr_apart else None
        process = subprocess.Popen([part.format(port=port) for part in command], cwd=str(directory), env=env,
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=errors or subprocess.STDOUT,
                                   start_new_session=True)
        output.close()
        if errors:
            errors.close()
        return process

    def answers(port: int) -> bool:
        return Client('http://127.0.0.1:%d' % port, timeout=2).get('/').status == 200

    return served_on_a_free_port(start, answers, outputs, what=' '.join(command))


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`served` and every process of its group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(60)


def counts(pages: List[Any]) -> List[str]:
    return [re.search(r'Session data: (.*)', page.text).group(1) for page in pages]


@pytest.mark.parametrize('server', ['gunicorn', 'waitress-serve'])
def test_the_first_app_with_its_guarded_last_line_counts_each_reload_under_a_production_server(tmp_path, server):
    first_app_file(tmp_path)
    listen = ['--bind', '127.0.0.1:{port}'] if server == 'gunicorn' else ['--listen=127.0.0.1:{port}']
    process, port = served([str(BIN / server), *listen, 'app:app'], tmp_path)
    try:
        browser = Client('http://127.0.0.1:%d' % port)
        pages = [browser.get('/?foo=bar') for _ in range(3)]
    finally:
        stop(process)
    assert counts(pages) == ["{'counter': 0}", "{'counter': 1}", "{'counter': 2}"]
    assert len({re.search(r'Session sid: (\S+)', page.text).group(1) for page in pages}) == 1
    log = read_log(tmp_path / 'logs')
    assert re.search(r'INFO     \[127\.0\.0\.1-[\w-]{6}\]   Response: 200 \(\d+ms\)', log), log
    assert 'The memory session store keeps sessions in this process' not in log
    assert 'Response: 200' not in (tmp_path / 'server-output.txt').read_text()   # nothing of it on the terminal


def test_the_first_app_with_log_path_stderr_in_its_ini_writes_its_log_lines_on_stderr(tmp_path):
    """"While developing, ``log_path = stderr`` under ``[canister]`` in ``app.ini`` puts them on the terminal
    instead": the first app as printed, under a real gunicorn, its stderr apart from its stdout."""
    assert ("While developing, `log_path = stderr` under `[canister]` in `app.ini` (or `Canister(log_path='stderr')`) "
            "puts them on the terminal instead.") in section('## A first app')
    first_app_file(tmp_path)
    (tmp_path / 'app.ini').write_text('[canister]\nlog_path = stderr\n')
    process, port = served([str(BIN / 'gunicorn'), '--bind', '127.0.0.1:{port}', 'app:app'], tmp_path,
                           stderr_apart=True)
    try:
        assert Client('http://127.0.0.1:%d' % port).get('/?foo=bar').status == 200
        wait_until(lambda: '?foo=bar' in (tmp_path / 'server-stderr.txt').read_text(), 30, what='the log line')
    finally:
        stop(process)
    stderr = (tmp_path / 'server-stderr.txt').read_text()
    assert re.search(r'INFO     \[127\.0\.0\.1-\.\.\.\]   GET http://127\.0\.0\.1:%d/\?foo=bar\n' % port, stderr), stderr
    assert re.search(r'INFO     \[127\.0\.0\.1-[\w-]{6}\]   Response: 200 \(\d+ms\)', stderr), stderr
    assert 'Response: 200' not in (tmp_path / 'server-output.txt').read_text()
    assert not (tmp_path / 'logs').exists()


def test_the_first_app_as_printed_runs_bottles_development_server_on_port_8080_with_python_app_py(tmp_path):
    """``python app.py``: the guarded ``app.run()`` of the first app as printed starts Bottle's development
    server, on 8080 (in a network namespace of its own, where 8080 is surely free)."""
    first_app_file(tmp_path)
    (tmp_path / 'own_network.py').write_text(IN_A_NETWORK_OF_ITS_OWN)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')   # (ip)
    done = subprocess.run(['unshare', '--net', sys.executable, 'own_network.py', sys.executable, 'app.py'],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)['development server'] == 200


def test_the_first_app_under_several_gunicorn_workers_warns_that_the_memory_store_is_per_process(tmp_path):
    """Scaling out: several workers on one host need another store than ``memory``, and the log says so."""
    first_app_file(tmp_path)
    process, _ = served([str(BIN / 'gunicorn'), '--workers', '3', '--bind', '127.0.0.1:{port}', 'app:app'], tmp_path)
    try:
        wait_until(lambda: 'The memory session store keeps sessions in this process' in read_log(tmp_path / 'logs'),
                   10, what='the WARNING about the memory store')
    finally:
        stop(process)
    warning = next(line for line in warning_lines(tmp_path / 'logs') if 'memory session store' in line)
    assert 'session_store = sqlite:///sessions.db' in warning and 'a Redis URL' in warning, warning


#: The first app behind each bridge from ASGI to WSGI, as ``bridged:asgi``.
BRIDGED = {'uvicorn': 'from uvicorn.middleware.wsgi import WSGIMiddleware\n',
           'starlette': 'from starlette.middleware.wsgi import WSGIMiddleware\n'}


def memory_warnings(directory: Path, command: List[str], bridge: str = '') -> Tuple[str, List[str]]:
    """The first app as printed, served by ``command`` with ``{port}`` a free port (behind ``bridge``'s
    WSGIMiddleware as ``bridged:asgi``, if given), asked six times and then until the log has the six answers; its log and the
    memory store's WARNING lines in it."""
    first_app_file(directory)
    if bridge:
        (directory / 'bridged.py').write_text(BRIDGED[bridge] + 'from app import app\nasgi = WSGIMiddleware(app)\n')
    process, port = served(command, directory)
    try:
        browser = Client('http://127.0.0.1:%d' % port)
        assert [browser.get('/?foo=bar').status for _ in range(6)] == [200] * 6
        wait_until(lambda: read_log(directory / 'logs').count('Response: 200') >= 7, 10, what='the log lines')
    finally:
        stop(process)
    return read_log(directory / 'logs'), [line for line in warning_lines(directory / 'logs')
                                           if 'The memory session store keeps sessions in this process' in line]


def uvicorns_memory_warnings(directory: Path, options: List[str]) -> Tuple[str, List[str]]:
    """The first app as printed under ``uvicorn --interface wsgi`` with ``options``: ``memory_warnings``."""
    return memory_warnings(directory, [str(BIN / 'uvicorn'), '--interface', 'wsgi', *options, 'app:app',
                                       '--port', '{port}'])


def gunicorns_uvicorn_workers(workers: int) -> List[str]:
    """gunicorn running ``workers`` of uvicorn's worker class on the bridged app."""
    return [str(BIN / 'gunicorn'), '--workers', str(workers), '--worker-class', 'uvicorn.workers.UvicornWorker',
            'bridged:asgi', '--bind', '127.0.0.1:{port}']


def assert_warned_by_each_worker(log: str, warnings_said: List[str]) -> None:
    assert 1 <= len(warnings_said) <= 2, log
    assert all('but the server runs several (as gunicorn or uvicorn with more than one worker)' in line
               and 'session_store = sqlite:///sessions.db' in line for line in warnings_said), warnings_said


@pytest.mark.parametrize('options', [[], ['--reload']], ids=['one process', 'reload'])
def test_the_first_app_under_uvicorns_wsgi_mode_in_one_process_is_not_warned_about_the_memory_store(
        tmp_path, options):
    """Uvicorn's WSGI mode says ``wsgi.multiprocess`` in every process; one process keeps every session all the same."""
    assert ('under an ASGI server, whose bridge to WSGI (uvicorn\'s WSGI mode, Starlette\'s `WSGIMiddleware`) says '
            'it in every process, its one too: there the WARNING comes from the workers of `--workers 2` or more '
            '(uvicorn\'s, or gunicorn\'s with `--worker-class uvicorn.workers.UvicornWorker`), not from '
            '`uvicorn --interface wsgi app:app`, nor with `--reload`' in README)
    log, warnings_said = uvicorns_memory_warnings(tmp_path, options)
    assert 'Response: 200' in log and warnings_said == [], log


def test_the_first_app_under_two_uvicorn_wsgi_workers_warns_that_the_memory_store_is_per_process(tmp_path):
    assert_warned_by_each_worker(*uvicorns_memory_warnings(tmp_path, ['--workers', '2']))


def test_the_first_app_under_two_gunicorn_workers_of_uvicorns_class_warns_that_the_memory_store_is_per_process(
        tmp_path):
    """gunicorn forks its workers (no ``multiprocessing`` parent); uvicorn's bridge says multiprocess in each."""
    assert_warned_by_each_worker(*memory_warnings(tmp_path, gunicorns_uvicorn_workers(2), 'uvicorn'))


def test_the_first_app_under_one_gunicorn_worker_of_uvicorns_class_is_not_warned_about_the_memory_store(tmp_path):
    log, warnings_said = memory_warnings(tmp_path, gunicorns_uvicorn_workers(1), 'uvicorn')
    assert 'Response: 200' in log and warnings_said == [], log


def test_the_first_app_behind_starlettes_wsgi_middleware_in_one_uvicorn_process_is_not_warned_about_the_memory_store(
        tmp_path):
    """Starlette's (and so FastAPI's) WSGIMiddleware says ``wsgi.multiprocess`` too."""
    log, warnings_said = memory_warnings(tmp_path, [str(BIN / 'uvicorn'), 'bridged:asgi', '--port', '{port}'],
                                         'starlette')
    assert 'Response: 200' in log and warnings_said == [], log


def test_the_first_app_with_a_sqlite_store_keeps_one_count_across_three_gunicorn_workers(tmp_path):
    """Scaling out's table: several workers on one host share ``sqlite:///sessions.db``, set in the app.ini the
    first app reads; the file is made readable and writable by its owner only."""
    first_app_file(tmp_path)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_store = sqlite:///sessions.db\n')
    process, port = served([str(BIN / 'gunicorn'), '--workers', '3', '--bind', '127.0.0.1:{port}', 'app:app'],
                           tmp_path)
    try:
        browser = Client('http://127.0.0.1:%d' % port)   # a connection per request: any worker may answer
        pages = [browser.get('/') for _ in range(6)]
    finally:
        stop(process)
    assert counts(pages) == ["{'counter': %d}" % n for n in range(6)]
    assert (tmp_path / 'sessions.db').stat().st_mode & 0o777 == 0o600
    assert 'The memory session store' not in read_log(tmp_path / 'logs')


#: Run in a network namespace of its own (port 8080, where Bottle's development server listens, is then
#: surely free): the server given on the command line; what GET / answers on 8080 and on 8000.
IN_A_NETWORK_OF_ITS_OWN = r"""
import http.client, json, os, signal, socket, subprocess, sys, time
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
server = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)

def get(port, timeout):
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        connection.request('GET', '/')
        return connection.getresponse().status
    except OSError as error:
        return 'TimeoutError' if isinstance(error, socket.timeout) else type(error).__name__
    finally:
        connection.close()

try:
    deadline = time.monotonic() + 30
    while get(8080, 2) != 200 and time.monotonic() < deadline and server.poll() is None:
        time.sleep(0.05)
    print(json.dumps({'development server': get(8080, 30), 'production server': get(8000, 1)}))
finally:
    os.killpg(server.pid, signal.SIGKILL)
"""


@pytest.mark.parametrize('server, listen, never', [
    ('gunicorn', '--bind=127.0.0.1:8000', 'TimeoutError'),        # the master accepts; no worker answers
    ('waitress-serve', '--listen=127.0.0.1:8000', 'ConnectionRefusedError'),   # it never got to listen
])
def test_the_first_app_as_written_starts_bottles_development_server_inside_the_production_server(
        tmp_path, server, listen, never):
    """"A bare ``app.run()`` at the end, as canister 1.x's example had, starts Bottle's development server inside
    the worker on import, and the worker then never serves a request of its own": the first app with its guard
    taken away."""
    assert "A bare `app.run()` at the end" in section('## A first app')
    block = blocks('## A first app', 'python')[0]
    (tmp_path / 'app.py').write_text(GUARDED_RUN.sub('\napp.run()\n', block))
    assert (tmp_path / 'app.py').read_text().endswith('\n\napp.run()\n')
    (tmp_path / 'unguarded.py').write_text(IN_A_NETWORK_OF_ITS_OWN)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')   # (ip)
    done = subprocess.run(['unshare', '--net', sys.executable, 'unguarded.py', str(BIN / server), listen, 'app:app'],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {'development server': 200, 'production server': never}


def test_the_readme_curl_with_a_token_of_the_secret_block_shows_alice_on_the_first_apps_page(tmp_path):
    """Bearer JWT: the secret block as the first app's app.ini, the token printed by the README's Python lines,
    and the README's curl command, all run as written (the port aside), against a real waitress-serve."""
    text = section('### Bearer JWT (OAuth2 / OIDC)')
    block = next(block for block in blocks('### Bearer JWT (OAuth2 / OIDC)', 'ini') if 'auth_jwt_secret' in block)
    first_app_file(tmp_path)
    (tmp_path / 'app.ini').write_text(block)
    printed = subprocess.run([sys.executable, '-c', blocks('### Bearer JWT (OAuth2 / OIDC)', 'python')[0]],
                             capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    command = re.search(r'`(curl -H "Authorization: Bearer \$TOKEN" http://127\.0\.0\.1:8080/\S*)`', text).group(1)
    shown = re.search(r'answers the page with `(Session user: \{.*?)\.\.\.\}`', text).group(1)   # up to exp's value
    process, port = served([str(BIN / 'waitress-serve'), '--listen=127.0.0.1:{port}', 'app:app'], tmp_path)
    try:
        done = subprocess.run(['bash', '-c', command.replace(':8080/', ':%d/' % port)], env=dict(os.environ, TOKEN=printed),
                              capture_output=True, text=True, timeout=30)
    finally:
        stop(process)
    assert shown in done.stdout, done.stdout + done.stderr
    assert 'Logged in as: alice' in read_log(tmp_path / 'logs')


# -- Bearer JWT with a provider's JWKS -----------------------------------------------------------------

TENANT = 'https://YOUR_TENANT.example-idp.com'
API = 'https://api.example.com'


@pytest.fixture
def provider_app(tmp_path, jwks_server, rsa_key):
    """An app configured by the README's provider block, the tenant's URL made the local JWKS server's."""
    block = next(block for block in blocks('### Bearer JWT (OAuth2 / OIDC)', 'ini') if 'auth_jwt_jwks_url' in block)
    assert 'auth_jwt_jwks_url = %s/.well-known/jwks.json' % TENANT in block
    provider = jwks_server.url.rsplit('/.well-known/', 1)[0]
    jwks_server.publish(jwk(rsa_key, 'key-1'))
    app = app_with_ini(tmp_path, block.replace(TENANT, provider))
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)   # http:// on this machine is not reported
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    app.route('/me', callback=lambda: dict(session.user or {}))
    yield app, provider
    app.uninstall(True)


def provider_token(rsa_key: Any, issuer: str, **claims: Any) -> str:
    import jwt
    payload = {'sub': 'alice', 'aud': API, 'iss': issuer + '/', 'exp': 4102444800}
    payload.update(claims)
    return jwt.encode(payload, rsa_key, algorithm='RS256', headers={'kid': 'key-1'})


def test_the_readme_provider_block_logs_in_a_token_the_provider_signed(provider_app, rsa_key, tmp_path, jwks_server):
    app, provider = provider_app
    me = client(app).get('/me', headers=bearer(provider_token(rsa_key, provider))).json
    assert me['sub'] == 'alice' and me['aud'] == API and me['iss'] == provider + '/'
    assert 'Logged in as: alice' in read_log(tmp_path / 'logs')
    assert client(app).get('/me', headers=bearer(provider_token(rsa_key, provider, sub='bob'))).json['sub'] == 'bob'
    assert jwks_server.hits == 1                       # fetched on first use, then cached


@pytest.mark.parametrize('claims, why', [
    ({'aud': 'https://other-api.example.com'}, 'audience'),
    ({'iss': 'https://other.example-idp.com/'}, 'issuer'),
])
def test_the_readme_provider_block_refuses_a_token_for_another_audience_or_from_another_issuer(
        provider_app, rsa_key, claims, why):
    app, provider = provider_app
    answer = client(app).get('/me', headers=bearer(provider_token(rsa_key, provider, **claims)), status=401)
    assert 'Bearer realm="canister", error="invalid_token"' in answer.headers['WWW-Authenticate']
    assert why in answer.headers['WWW-Authenticate'] + answer.text


def test_the_readme_provider_block_refuses_a_token_signed_with_the_public_key_as_an_hmac_secret(provider_app, rsa_key):
    """"a token 'signed' with the public key as an HMAC secret is refused", and so is ``alg: none``."""
    from cryptography.hazmat.primitives import serialization
    app, provider = provider_app
    public = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = {'sub': 'mallory', 'aud': API, 'iss': provider + '/', 'exp': 4102444800}
    for token in (hand_made_token({'alg': 'HS256', 'typ': 'JWT', 'kid': 'key-1'}, payload, hs256_signer(public)),
                  hand_made_token({'alg': 'none', 'typ': 'JWT'}, payload)):
        client(app).get('/me', headers=bearer(token), status=401)


# -- Writing a store -------------------------------------------------------------------------------

def filled_store_class() -> type:
    """The README's MyStore with each ``...`` filled in as its comment says: a dict, under one lock."""
    block = blocks('### Writing a store', 'python')[0]
    namespace: Dict[str, Any] = {}
    exec(compile(block, 'README.md', 'exec'), namespace)
    skeleton = namespace['MyStore']
    now = time.time

    class Filled(skeleton):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.records: Dict[str, Tuple[str, float]] = {}   # sid -> (record, expiry in s, 0: never)
            self.users: Dict[str, set] = {}
            self.calls: List[str] = []

        def _live(self, sid: str) -> Optional[str]:
            record, expiry = self.records.get(sid, (None, 0.0))
            return None if record is None or (expiry and expiry <= now()) else record

        def _expiry(self, ttl: float) -> float:
            return now() + ttl if ttl > 0 else 0.0

        def load(self, sid):
            self.calls.append('load')
            with self.lock:
                return self._live(sid)

        def save(self, sid, record, ttl):
            self.calls.append('save')
            with self.lock:
                self.records[sid] = (record, self._expiry(ttl))

        def touch(self, sid, ttl):
            self.calls.append('touch')
            with self.lock:
                record = self._live(sid)
                if record is not None:
                    self.records[sid] = (record, max(self.records[sid][1], self._expiry(ttl)))

        def delete(self, sid):
            self.calls.append('delete')
            with self.lock:
                return self.records.pop(sid, None) is not None

        def update(self, sid, expected, record, ttl):
            self.calls.append('update')
            with self.lock:
                current = self._live(sid)
                if current != expected or current is None:
                    return False, current
                self.records[sid] = (record, self._expiry(ttl))
                return True, None

        def create(self, sid, record, ttl, user_key):
            self.calls.append('create')
            with self.lock:
                self.records[sid] = (record, self._expiry(ttl))
                if user_key is not None:
                    self.users.setdefault(user_key, set()).add(sid)

        def sessions_of(self, user_key):
            self.calls.append('sessions_of')
            with self.lock:
                found = [(sid, self._live(sid), int(self.records[sid][1] * 1000)) for sid in self.users.get(user_key, ())]
                return [entry for entry in found if entry[1] is not None]

        def check(self):
            self.calls.append('check')
            return None

    return Filled


def test_the_readme_store_filled_in_as_its_comments_say_carries_every_guarantee(make_app, log_dir):
    store = filled_store_class()()
    app = make_app(store=store)
    assert store.calls == ['check']                                  # asked at install
    assert not [line for line in warning_lines(log_dir) if 'atomic' in line]  # an atomic update: no WARNING

    @app.post('/login')
    def login(name: str):
        session.user = name
        return 'in'

    @app.get('/count')
    def count():
        session.data['count'] = session.data.get('count', 0) + 1
        return str(session.data['count'])

    @app.post('/logout')
    def logout():
        session.invalidate()
        return 'out'

    phone, laptop = client(app), client(app)
    for browser in (phone, laptop):
        browser.post('/login', {'name': 'alice'})
    assert [phone.get('/count').text for _ in range(2)] == ['1', '2']
    plugin = next(p for p in app.plugins if isinstance(p, canister.Canister))
    assert len(plugin.sessions_of('alice')) == 2                     # create listed them, sessions_of finds them
    assert 'create' in store.calls and 'update' in store.calls
    sid = cookie_value(phone.get('/count'))
    phone.post('/logout')
    assert client(app).get('/count', headers=with_cookie(sid)).text == '1'   # ended: a fresh session, not count 4
    assert plugin.end_sessions('alice') == 1                         # the laptop's
    assert 'ended:alice' in store.records                            # the note for a login under way
    assert 'touch' not in store.calls                                # an atomic update extends instead
    assert plugin.store_problem() is None


# -- A login form ----------------------------------------------------------------------------------

def test_the_readme_login_form_logs_in_remembers_for_30_days_and_logs_out_as_written(make_app, log_dir):
    """The block of "A login form", as written: a wrong password is its 401, the right one with remember a
    persistent cookie of 30 days under a new id and ``Logged in as: alice``, and the logout expires it."""
    app = make_app()
    exec(blocks('### A login form', 'python')[0], {'app': app, 'bottle': bottle, 'canister': canister,
                                                   'session': session})
    web = client(app)
    wrong = web.post('/login', {'username': 'alice', 'password': 'guess'}, status=401)
    assert 'wrong user name or password' in wrong.text and cookie_value(wrong) is None
    right = web.post('/login', {'username': 'alice', 'password': 'my-secret', 'remember': 'true'})
    assert right.json == {'user': 'alice'}
    assert 'Max-Age=2592000' in right.headers['Set-Cookie']
    assert 'Logged in as: alice' in read_log(log_dir)
    out = web.post('/logout')
    assert out.json == {'user': None} and cookie_value(out) == ''


# -- Parameter unpacking ---------------------------------------------------------------------------

def parameter_app(make_app: Any) -> bottle.Bottle:
    """An app with the routes of the README's Parameter unpacking block, as written."""
    app = make_app()
    exec(blocks('## Parameter unpacking', 'python')[0], {'app': app})
    return app


@pytest.mark.parametrize('send, problem', [('json', "missing parameter 'file'"),
                                           ('urlencoded', "parameter 'file' must be a file upload")])
def test_the_readme_upload_route_sent_no_multipart_form_says_that_files_come_only_in_one(make_app, send, problem):
    assert "def upload(title: str, file: FileUpload):     # multipart form" in section('## Parameter unpacking')
    browser = client(parameter_app(make_app))
    fields = {'title': 'Report', 'file': 'report.pdf'}
    if send == 'json':
        answer = browser.post_json('/upload', fields, status=400)
    else:
        answer = browser.post('/upload', fields, status=400)
    told = (' (files come only in a multipart form, which '
            '<form method="post" enctype="multipart/form-data"> and curl -F send; ')
    assert answer.text.startswith("Bad request: %s%s" % (problem, told))
    assert "`missing parameter 'file'%s" % told in section('## Parameter unpacking')


def test_the_readme_upload_route_takes_a_multipart_form_and_words_a_missing_file_there_plainly(make_app):
    browser = client(parameter_app(make_app))
    assert browser.post('/upload', {'title': 'Report'}, upload_files=[('file', 'report.pdf', b'%PDF')]).status_int == 200
    answer = browser.post('/upload', {'title': 'Report'}, content_type='multipart/form-data', status=400)
    assert answer.text.strip() == "Bad request: missing parameter 'file'"


# -- Mounted and merged apps -----------------------------------------------------------------------

@pytest.mark.parametrize('on_the_child_too', [False, True])
def test_a_mounted_childs_parameter_with_a_default_keeps_it_unless_canister_is_on_the_child_too(
        make_app, log_dir, on_the_child_too):
    claim = ("A parameter with a default gets its default whatever the request sends (`def hello(name='world')` "
             "answers `?name=bob` with `world`): there too, install canister on the child. So that this does not pass "
             "unseen, the parent's canister logs one WARNING for each route of a mounted or merged Bottle child without "
             "canister whose handler takes parameters canister would fill (with a default or without), at the "
             "route's first request")
    assert claim in section('## Mounted and merged apps')
    told = ("`Route GET /shop/hello is of a child app mounted or merged into this one without canister, so its handler "
            "is called without the parameters canister fills from the request (name): ...; install canister on the "
            "child app too`")
    assert told in section('## Mounted and merged apps')
    parent = make_app()
    child = bottle.Bottle()
    child.route('/hello', callback=lambda name='world': 'hello %s' % name)
    if on_the_child_too:
        child.install(canister.Canister(log_path=str(log_dir)))
    parent.mount('/shop/', child)
    try:
        answers = [client(parent).get('/shop/hello?name=bob') for _ in range(2)]
    finally:
        child.uninstall(True)
    assert [answer.text for answer in answers] == ['hello bob' if on_the_child_too else 'hello world'] * 2
    warned = [line.split('] ', 1)[1].strip() for line in warning_lines(log_dir)]
    if on_the_child_too:
        assert warned == []
    else:
        start, end = told.strip('`').split(' ...')
        assert len(warned) == 1 and warned[0].startswith(start) and warned[0].endswith(end)


# -- Security headers ------------------------------------------------------------------------------

def test_the_readme_security_headers_block_sends_what_its_comments_say(tmp_path):
    block = blocks('## Security headers', 'ini')[0]
    app = app_with_ini(tmp_path, block)
    app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    app.route('/', callback=lambda: 'page')
    try:
        plain = client(app).get('/')
        secure = client(app, **{'wsgi.url_scheme': 'https'}).get('/')
    finally:
        app.uninstall(True)
    for answer in (plain, secure):
        assert answer.headers['X-Frame-Options'] == 'SAMEORIGIN'
        assert answer.headers['Referrer-Policy'] == 'same-origin'
        assert answer.headers['Content-Security-Policy'] == "default-src 'self'"
        assert answer.headers['X-Content-Type-Options'] == 'nosniff'
    assert 'Strict-Transport-Security' not in plain.headers                  # HTTPS answers only
    assert secure.headers['Strict-Transport-Security'] == 'max-age=31536000; includeSubDomains'


@pytest.mark.parametrize('fetch_site, status', [('same-origin', 200), (None, 403)])
def test_no_referrer_of_the_security_headers_block_keeps_out_the_apps_own_forms_only_without_sec_fetch_site(
        tmp_path, fetch_site, status):
    """Under ``no-referrer`` a browser posts the app's own forms with ``Origin: null``: one that labels the
    request ``Sec-Fetch-Site: same-origin`` is let in, one that sends no ``Sec-Fetch-Site`` is refused, as
    the block's comment says."""
    block = blocks('## Security headers', 'ini')[0]
    comment = "; empty: not sent (no-referrer keeps out the app's own forms in browsers that send no Sec-Fetch-Site"
    assert comment in block
    app = app_with_ini(tmp_path, block.replace('referrer_policy = same-origin', 'referrer_policy = no-referrer'))
    with pytest.warns(canister.CanisterWarning, match='one that sends no Sec-Fetch-Site'):
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    app.route('/comment', method='POST', callback=lambda: 'posted')
    headers = {'Origin': 'null', 'Sec-Fetch-Site': fetch_site} if fetch_site else {'Origin': 'null'}
    try:
        answer = client(app).post('/comment', {'text': 'hi'}, headers=headers, status=status)
    finally:
        app.uninstall(True)
    assert answer.headers['Referrer-Policy'] == 'no-referrer'


# -- Scaling out: the Redis block ------------------------------------------------------------------

def test_the_readme_redis_block_keeps_sessions_under_its_prefix_on_a_tls_redis_with_a_password(tmp_path, monkeypatch):
    block = next(block for block in blocks('## Scaling out', 'ini') if 'session_redis_prefix' in block)
    written = re.search(r'^session_store = (rediss://:password@redis\.example\.com:6380/0\?ssl_ca_certs=(\S+))$',
                        block, re.M)
    assert written, block
    with TlsRedis() as tls:
        tls.client().config_set('requirepass', 'password')
        (tmp_path / 'certs').mkdir()
        shutil.copy(tls.ca, tmp_path / written.group(2))                 # certs/redis-ca.pem, as the block names it
        monkeypatch.chdir(tmp_path)
        app = app_with_ini(tmp_path, block.replace('redis.example.com:6380', '127.0.0.1:%d' % tls.port))
        app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
        try:
            @app.get('/')
            def index():
                session.data['n'] = session.data.get('n', 0) + 1
                return str(session.data['n'])

            browser = client(app)
            first = browser.get('/')
            sid = cookie_value(first)
            assert [first.text, browser.get('/').text, browser.get('/').text] == ['1', '2', '3']
        finally:
            app.uninstall(True)
        stored = tls.client(password='password').get('shop:session:' + sid)
    assert {'n': 3} in json.loads(stored), stored   # the record: JSON text holding the data


# -- Limits and error answers: transfer codings other than chunked alone, on the production servers --------

REFUSED_CODING = ("Bad request: Transfer-Encoding 'gzip, chunked' is not supported: send the body chunked (and no "
                  "other coding), or with a Content-Length")

#: What each server makes of each coding: (status, the answer's body holds this). gunicorn passes ``gzip, chunked``
#: on (canister's 400) and refuses the other two itself; waitress refuses the codings it does not know with 501
#: and reads ``chunked, chunked`` as chunked, handing the app the body with its length.
#: gunicorn 23, the last release for Python 3.9, passes ``identity`` on to the app, to canister's 400; 27 answers it.
GUNICORN_PASSES_IDENTITY = int(importlib.metadata.version('gunicorn').split('.')[0]) <= 23
REFUSED_IDENTITY = REFUSED_CODING.replace("'gzip, chunked'", "'identity'")

CODINGS = {
    'gunicorn': {b'gzip, chunked': (400, REFUSED_CODING), b'chunked, chunked': (400, 'Invalid HTTP Header'),
                 b'identity': (400, REFUSED_IDENTITY if GUNICORN_PASSES_IDENTITY else 'Invalid HTTP Header')},
    'waitress': {b'gzip, chunked': (501, 'Transfer-Encoding'), b'chunked, chunked': (200, '"n": 5'),
                 b'identity': (501, 'Transfer-Encoding')},
}


@pytest.mark.parametrize('server', sorted(CODINGS))
def test_a_coding_other_than_chunked_alone_is_refused_by_canister_or_by_the_server_as_the_readme_says(
        serve_limits, tmp_path, server):
    text = section('## Limits and error answers')
    assert ('(waitress answers 501 to a coding it does not know and reads `chunked, chunked` as chunked, gunicorn '
            '27 answers its own 400 to `chunked, chunked` and `identity`, before the app sees them, where gunicorn 23, '
            'the last release for Python 3.9, passes `identity` on, to canister\'s 400; wsgiref passes them '
            'all on)') in text
    app = serve_limits(server)
    got = {}
    for coding in CODINGS[server]:
        head = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: %s\r\n'
                b'Content-Type: application/json\r\nConnection: close\r\n\r\n' % coding)
        answer = raw_request(app.port, head, chunked(b'{"n": 5}', 0), timeout=30)
        body = answer.split(b'\r\n\r\n', 1)[1].decode('utf-8', 'replace')
        status, words = CODINGS[server][coding]
        got[coding] = (status_of(answer), words if words in body else body[:200])
    assert got == CODINGS[server]
    warnings_logged = [line.split(']', 1)[1].strip() for line in warning_lines(tmp_path / 'logs')]
    assert warnings_logged == ([] if server != 'gunicorn' else
                               [REFUSED_CODING, REFUSED_IDENTITY] if GUNICORN_PASSES_IDENTITY else [REFUSED_CODING])


def test_a_body_cut_short_is_canisters_400_on_gunicorn_and_never_reaches_the_app_on_waitress(serve_limits, tmp_path):
    """"gunicorn and the stdlib's wsgiref hand over what came, waitress waits for the rest": a JSON body that is
    whole as text but short of its Content-Length, the client then done sending."""
    head = (b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n'
            b'Content-Type: application/json\r\nConnection: close\r\n\r\n')
    message = 'Bad request: the body ended after 8 of its 1000 bytes (Content-Length)'
    gunicorn = send_all_then_read(serve_limits('gunicorn').port, head + b'{"n": 5}')
    assert (status_of(gunicorn), gunicorn.split(b'\r\n\r\n', 1)[1]) == (400, message.encode() + b'\n')
    assert [line.split(']', 1)[1].strip() for line in warning_lines(tmp_path / 'logs')] == [message]
    waitress = serve_limits('waitress')
    assert send_all_then_read(waitress.port, head + b'{"n": 5}') == b''      # closed unanswered, the app never called
    assert read_log(tmp_path / 'logs').count('POST http://127.0.0.1') == 1   # gunicorn's request alone


def test_gunicorn_hands_over_a_body_past_max_body_size_at_once_so_canisters_413_comes_before_the_body(serve_limits):
    server = serve_limits('gunicorn')
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
        sock.sendall(b'POST /typed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20000000\r\n'
                     b'Content-Type: application/json\r\nConnection: close\r\n\r\n')   # and not a byte of the body
        # read until gunicorn closes the connection (the socket's timeout fails the test if it waited for the body)
        answer = b''.join(iter(lambda: sock.recv(65536), b''))
    assert status_of(answer) == 413
    assert answer.endswith(b'Request body too large: 20000000 bytes, the limit is 10485760\n')


# -- A message shown once (Sessions) -----------------------------------------------------------------

def test_the_readme_flash_message_is_shown_on_the_next_page_once_over_http(make_app):
    """The Sessions block of "A message shown once", as written, served by waitress: the POST's 303 leads to a
    page with the message, the page after has none, and a first visit without a message sets no cookie."""
    assert '- **A message shown once.**' in section('## Sessions')
    app = make_app()
    block = blocks('## Sessions', 'python')[1]
    assert "session.data.pop('flash', None)" in block
    exec(block, {'app': app, 'bottle': bottle, 'session': session})
    server = InProcessWaitress(app)
    try:
        browser = Client(server.origin)
        first = browser.get('/notes')
        assert (first.status, first.json()) == (200, {'flash': None, 'notes': []})
        assert first.headers.get('Set-Cookie') is None
        posted = browser.request('POST', '/notes', body='text=buy+milk', headers={
            'Content-Type': 'application/x-www-form-urlencoded', 'Origin': server.origin,
            'Sec-Fetch-Site': 'same-origin'})
        assert posted.status == 303 and posted.headers['Location'] == server.origin + '/notes'
        shown = browser.get('/notes')
        assert shown.json() == {'flash': 'Note saved', 'notes': ['buy milk']}
        assert browser.get('/notes').json() == {'flash': None, 'notes': ['buy milk']}
    finally:
        server.close()


def test_the_readme_flash_redirect_is_303_to_an_http_1_1_client_and_302_to_an_http_1_0_one(make_app):
    """Bottle's rule, as the block's comment says: HTTP/1.0 has no 303, so its client is sent 302."""
    block = blocks('## Sessions', 'python')[1]
    assert "bottle.redirect('/notes')                       # 303 (302 to an HTTP/1.0 client): the browser GETs " \
        "/notes next" in block
    app = make_app()
    exec(block, {'app': app, 'bottle': bottle, 'session': session})
    server = InProcessWaitress(app)
    try:
        for version, status in (('1.1', 303), ('1.0', 302)):
            body = b'text=buy+milk'
            head = ('POST /notes HTTP/%s\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\nSec-Fetch-Site: same-origin\r\n'
                    'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n'
                    '\r\n' % (version, server.port, server.origin, len(body))).encode()
            answer = raw_request(server.port, head, body)
            assert status_of(answer) == status, (version, answer[:200])
            assert b'\r\nLocation: ' + server.origin.encode() + b'/notes\r\n' in answer
    finally:
        server.close()


# -- A user's sessions, and Remember me (Sessions) --------------------------------------------------

def test_the_members_the_readme_lists_for_sessions_of_are_exactly_those_of_an_entry(make_app):
    """The comment of the Sessions block names each member of an entry, and the list under *Listing and ending
    them* describes each."""
    [line] = [line for line in blocks('## Sessions', 'python')[0].splitlines() if line.startswith('plugin.sessions_of(')]
    listed = re.findall(r"'(\w+)': ", line.split('#', 1)[1])
    assert listed == ['created', 'last_used', 'current', 'remembered']
    for key in listed:
        assert '\n    - `%s`' % key in README, key
    app = make_app()
    plugin = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))

    @app.post('/login')
    def login():
        session.user = 'alice'
        session.remember(86400)

    client(app).post('/login', headers={'Sec-Fetch-Site': 'same-origin'})
    [entry] = plugin.sessions_of('alice')
    assert sorted(entry) == sorted(listed)
    assert (entry['current'], entry['remembered']) == (False, True)


def test_a_remembered_sessions_cookie_max_age_is_capped_by_session_max_age_as_the_readme_says(make_app, clock):
    assert ('a persistent cookie whose `Max-Age` is that length capped the same way (the seconds the session has '
            'left before `session_max_age`, rounded up, when fewer: `remember(30 * 86400)` with `session_max_age = '
            '100` sends `Max-Age=100`)') in section('## Sessions')
    app = make_app(session_max_age=100)

    @app.post('/login/<seconds:int>')
    def login(seconds):
        session.user = 'alice'
        session.remember(seconds)

    @app.get('/me')
    def me():
        return {'user': session.user}

    def max_age(answer):
        [cookie] = answer.headers.getall('Set-Cookie')
        return int(re.search(r'; Max-Age=(\d+)', cookie).group(1))

    browser = client(app)
    assert max_age(browser.post('/login/%d' % (30 * 86400), headers={'Sec-Fetch-Site': 'same-origin'})) == 100
    clock.advance(1.2)  # (canister's clock: a loaded machine adds nothing to the 1.2 s)
    assert max_age(browser.get('/me')) == 99  # (98.8 seconds left, rounded up)
    assert max_age(client(app).post('/login/30', headers={'Sec-Fetch-Site': 'same-origin'})) == 30
