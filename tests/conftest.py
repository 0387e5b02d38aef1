"""Shared fixtures: an app factory with canister installed, a WebTest client, the log."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Callable, Iterator, List

import bottle
import pytest
import webtest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import canister  # noqa: E402


@pytest.fixture
def log_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """Where the apps of one test write their logs."""
    return tmp_path / 'logs'


@pytest.fixture
def make_app(log_dir: pathlib.Path) -> Iterator[Callable[..., bottle.Bottle]]:
    """Build a Bottle app with canister installed: ``make_app(config={...}, **overrides)``.

    ``config`` goes through ``app.config.load_dict`` under ``canister``; keyword
    overrides go to ``Canister(...)``.  Logs go to the test's own directory.
    """
    apps: List[bottle.Bottle] = []

    def factory(config: Any = None, catchall: bool = False, **overrides: Any) -> bottle.Bottle:
        app = bottle.Bottle()
        app.catchall = catchall  # bottle 0.13 deprecates the keyword; 0.12 has no config key for it
        if config:
            app.config.load_dict({'canister': config})
        if not config or not any(str(k).lower() == 'log_path' for k in config):
            overrides.setdefault('log_path', str(log_dir))
        app.install(canister.Canister(**overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.uninstall(True)


def client(app: bottle.Bottle, **environ: Any) -> webtest.TestApp:
    """A WebTest client that keeps cookies, as if from 127.0.0.1."""
    extra = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': 'localhost:80'}
    extra.update(environ)
    return webtest.TestApp(app, extra_environ=extra)


def read_log(log_dir: pathlib.Path) -> str:
    """Everything written to the log files of a directory, in date order."""
    if not log_dir.exists():
        return ''
    return ''.join(path.read_text(encoding='utf-8') for path in sorted(log_dir.glob('log.*')))
