"""Shared fixtures: an app factory with canister installed, the log directory, a clock to move
by hand, redis-servers and a Redis Cluster, app servers (in this process, or limits_app under gunicorn
or waitress), store URLs and a headless Chromium.  Helpers to import are in tests/helpers.py."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
from typing import Any, Callable, Iterator, List, Tuple

import bottle
import pytest
import redis

from helpers import Clock, settings_for_tests  # first: it puts the canister.py of this checkout on sys.path
import canister
from redis_topologies import ClusterSetup
from servers import (AppServer, HangingServer, InProcessWaitress, JwksServer, RedisServer, cleanup_all,
                     old_redis_server_binary, wait_until)
from session_kit import STORES, make_store_url

CHROMIUM = os.environ.get('CANISTER_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run', '--disable-quic']
BROWSER_TIMEOUT_MS = 30_000
INSTALL_HELP = (
    'The browser tests need Playwright for Python and a system Chromium. '
    'Install them with `pip install playwright` and `apt-get install chromium` '
    '(Debian/Ubuntu; the binary must be at /usr/bin/chromium, or set '
    '$CANISTER_CHROMIUM to its path). Do not run `playwright install`: '
    'these tests use the system Chromium.'
)


@pytest.fixture(autouse=True)
def once_warnings_unsaid() -> None:
    """Every test starts as a new process does: none of canister's once-per-process WARNINGs said yet
    (the check of gevent's monkey-patching), whatever tests ran before."""
    canister._forget_once_warnings()


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads switch as often as Python allows, so a gap of a few bytecodes is hit within a second."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.fixture
def log_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """Where the apps of one test write their logs."""
    return tmp_path / 'logs'


@pytest.fixture
def uninstall_at_end() -> Iterator[Callable[[bottle.Bottle], bottle.Bottle]]:
    """``uninstall_at_end(app)``: the app, whose plugins are uninstalled after the test (canister's log closed)."""
    apps: List[bottle.Bottle] = []

    def register(app: bottle.Bottle) -> bottle.Bottle:
        apps.append(app)
        return app

    yield register
    for app in apps:
        app.uninstall(True)


@pytest.fixture
def make_app(log_dir: pathlib.Path,
             uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]) -> Callable[..., bottle.Bottle]:
    """Build a Bottle app with canister installed: ``make_app(config={...}, **overrides)``.

    ``config`` goes through ``app.config.load_dict`` under ``canister``; keyword
    overrides go to ``Canister(...)``.  Logs go to the test's own directory, and a slow
    response writes no WARNING (``log_slow`` 0), unless the test gives those keys itself
    (``helpers.settings_for_tests``).
    """
    def factory(config: Any = None, catchall: bool = False, **overrides: Any) -> bottle.Bottle:
        app = bottle.Bottle()
        app.catchall = catchall  # bottle 0.13 deprecates the keyword; 0.12 has no config key for it
        if config:
            app.config.load_dict({'canister': config})
        app.install(canister.Canister(**settings_for_tests(log_dir, config, overrides)))
        return uninstall_at_end(app)

    return factory


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Canister's clock, stopped at the real time now; ``clock.advance(seconds)`` moves it on.

    Undone after the test, so a server thread of a later test sees the real clock again.
    """
    stopped = Clock(time.time())
    monkeypatch.setattr(canister, '_now', stopped)
    return stopped


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """canister's clock no NTP step moves (``_monotonic``), stopped at the real one now (a whole second, so that
    moves of whole and quarter seconds add up exactly); ``advance`` moves it on instead of a sleep.  Undone after the
    test."""
    stopped = Clock(float(int(time.monotonic())))
    monkeypatch.setattr(canister, '_monotonic', stopped)
    return stopped


@pytest.fixture
def fastapi(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stand-in ``fastapi`` package (FastAPI is not installed: ``test_newcomer_fastapi.STAND_INS`` imitates the
    classes canister knows it by), importable for the test, forgotten after it."""
    from test_newcomer_fastapi import STAND_INS
    for name, text in STAND_INS.items():
        (tmp_path / 'site' / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / 'site' / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / 'site'))
    yield __import__('fastapi')
    for name in [name for name in sys.modules if name.split('.')[0] in ('fastapi', 'starlette')]:
        del sys.modules[name]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server of the test's own, started (the test fails, never skips, without one)."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def master_and_replica(redis_server: RedisServer) -> Iterator[Tuple[RedisServer, RedisServer]]:
    """``redis_server`` and a second redis-server replicating it, its link up."""
    replica = RedisServer().start()
    try:
        master = redis.Redis(port=redis_server.port)
        master.config_set('repl-diskless-sync-delay', 0)  # (the first sync at once, not after 5 s)
        redis.Redis(port=replica.port).replicaof(replica.host, redis_server.port)
        wait_until(lambda: master.info('replication').get('connected_slaves') == 1
                   and redis.Redis(port=replica.port).info('replication').get('master_link_status') == 'up', 30,
                   what='the replica to follow the master')
        yield redis_server, replica
    finally:
        replica.thaw()
        replica.cleanup()


@pytest.fixture(scope='module')
def module_redis_server() -> Iterator[RedisServer]:
    """A private redis-server, started, that the tests of one module share (``store_url`` empties it)."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope='module')
def cluster() -> Iterator[ClusterSetup]:
    """A Redis Cluster of three masters, each with a replica, that the tests of one module share."""
    with ClusterSetup() as setup:
        yield setup


@pytest.fixture(scope='module')
def nothing_left_running() -> Iterator[None]:
    """For a module that starts servers in processes of their own: whatever it left running is stopped
    at its end (``pytestmark = pytest.mark.usefixtures('nothing_left_running')``)."""
    yield
    cleanup_all()


@pytest.fixture
def started() -> Iterator[List[Any]]:
    """Servers (AppServer, RedisServer) a test starts and appends: cleaned up, and checked gone, at its end."""
    servers: List[Any] = []
    yield servers
    for server in reversed(servers):
        server.cleanup()
        if isinstance(server, AppServer):
            assert not server.pids(), 'server processes left running'


@pytest.fixture(params=['redis-7', 'redis-5.0.6'])
def any_redis(request: pytest.FixtureRequest, started: List[Any]) -> RedisServer:
    """A private redis-server of today's Redis and one of Redis 5.0.6 (whose scripts meet a full Redis otherwise)."""
    server = RedisServer(binary=old_redis_server_binary() if request.param == 'redis-5.0.6' else None)
    started.append(server.start())
    return server


@pytest.fixture
def small_disk(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A directory on a file system of its own, 1 MiB in all (a real tmpfs, mounted for the test: root only).  Ask
    for it before ``make_app``, so that it is unmounted after the app's uninstall has closed its connections."""
    path = tmp_path / 'disk'
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip('mounting a tmpfs needs root')
    # (mode 0700: a tmpfs's root is 1777 by default, a directory others may write, which the install warns of)
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', str(path)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here: %s' % mounted.stderr.decode(errors='replace').strip())
    try:
        yield path
    finally:
        subprocess.run(['umount', str(path)], check=True)


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """``serve(app)``: the app on a waitress server in this process (8 threads, or ``threads=``; other keywords
    are waitress's options), closed after the test; its origin."""
    servers: List[InProcessWaitress] = []

    def start(app: bottle.Bottle, threads: int = 8, **options: Any) -> str:
        servers.append(InProcessWaitress(app, threads=threads, **options))
        return servers[-1].origin

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def serve_with_gates(serve: Callable[..., str]) -> Iterator[Callable[[bottle.Bottle], str]]:
    """``serve_with_gates(app)``: ``serve(app)`` for an app with ``app.all_gates`` (held handlers), each
    released at the end, so no handler waits on."""
    apps: List[bottle.Bottle] = []

    def start(app: bottle.Bottle) -> str:
        apps.append(app)
        return serve(app)

    yield start
    for app in apps:
        for gate in app.all_gates.values():
            gate.release.set()


@pytest.fixture
def serve_limits(tmp_path: Any) -> Iterator[Any]:
    """``serve_limits(server, **env)``: tests/apps/limits_app.py under a real gunicorn or waitress (one
    worker, ``env`` added to its environment, the log in tmp_path/logs), started; cleaned up at the end."""
    started: List[AppServer] = []

    def _serve(server: str, **env: str) -> AppServer:
        env.setdefault('CANISTER_LOG_PATH', str(tmp_path / 'logs'))
        app = AppServer('limits_app:app', server=server, workers=1, env=env)
        started.append(app)
        return app.start()

    yield _serve
    for app in started:
        app.cleanup()
        assert not app.pids()


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """The URL of an empty store of each kind canister ships."""
    return make_store_url(request.param, tmp_path, request)


@pytest.fixture(scope='module')
def chromium_browser() -> Iterator[Any]:
    """One headless system Chromium for the tests of a module (they fail, never skip, without it)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'Chromium not found at {CHROMIUM}. {INSTALL_HELP}', pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f'Playwright is not importable ({exc}). {INSTALL_HELP}', pytrace=False)
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # pragma: no cover - environment problem
            pytest.fail(f'Cannot launch {CHROMIUM}: {exc}. {INSTALL_HELP}', pytrace=False)
        yield browser
        browser.close()


@pytest.fixture(scope='module')
def chromium_named_hosts(chromium_browser: Any) -> Iterator[Any]:
    """A second headless Chromium (of the same Playwright) that finds every ``*.example.test`` at 127.0.0.1: a
    name no browser treats as loopback, as a real site's over plain HTTP (``*.localhost`` is loopback)."""
    browser = chromium_browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS + ['--host-resolver-rules=MAP *.example.test 127.0.0.1'],
        headless=True)
    yield browser
    browser.close()


def fresh_profile(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies, no preflight cache) of ``browser``, 1000x800, waiting 10 s at most."""
    context = browser.new_context(viewport={'width': 1000, 'height': 800})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def browser_context(chromium_browser: Any) -> Iterator[Any]:
    """A fresh browser profile of a test."""
    yield from fresh_profile(chromium_browser)


@pytest.fixture
def named_hosts_page(chromium_named_hosts: Any) -> Iterator[Any]:
    """A blank page in a fresh profile of the Chromium that finds ``*.example.test`` at 127.0.0.1."""
    for context in fresh_profile(chromium_named_hosts):
        yield context.new_page()


@pytest.fixture
def page(browser_context: Any) -> Any:
    """A blank page in the test's own browser profile."""
    return browser_context.new_page()


@pytest.fixture(scope='module')
def rsa_key() -> Any:
    """A 2048-bit RSA private key (cryptography's), one per test module."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    """A provider's JWKS endpoint on 127.0.0.1 (servers.JwksServer), publishing no keys yet."""
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def hanging_server() -> Iterator[HangingServer]:
    """A JWKS endpoint that accepts connections and never answers (servers.HangingServer)."""
    server = HangingServer()
    yield server
    server.close()
