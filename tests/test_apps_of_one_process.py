"""Two apps in one process, each with a Canister of its own: neither's log, session or warnings reach the other.

Both are served by real HTTP servers (Bottle's default, wsgiref, which passes X-Forwarded-For on as sent)
in this process.
"""
from __future__ import annotations

import pathlib
import re
from typing import Any, Callable, Dict, Iterator, Tuple

import bottle
import pytest

from helpers import basic, read_log
from servers import Client, WsgirefServer

import canister

ALICE = {'Authorization': basic('alice', 'wonderland')}


@pytest.fixture
def two_apps(tmp_path: pathlib.Path, uninstall_at_end: Callable[[bottle.Bottle], bottle.Bottle]
             ) -> Iterator[Callable[..., Tuple[Client, Client, pathlib.Path, pathlib.Path]]]:
    """two_apps(**settings): two apps with the same settings, each with its own canister and log directory,
    each served in this process: a Client of each, and the two log directories."""
    servers = []

    def build(**settings: Any) -> Tuple[Client, Client, pathlib.Path, pathlib.Path]:
        clients, logs = [], []
        for name in ('shop', 'admin'):
            app = bottle.Bottle()
            log_dir = tmp_path / name
            app.install(canister.Canister(log_path=str(log_dir), session_cookie=name + '_session',
                                          auth_basic_username='alice', auth_basic_password='wonderland',
                                          auth_basic_encryption='clear', **settings))

            @app.get('/me')
            def me() -> Dict[str, Any]:
                return {'user': canister.session.user}

            servers.append(WsgirefServer(uninstall_at_end(app)))
            clients.append(Client('http://127.0.0.1:%d' % servers[-1].port))
            logs.append(log_dir)
        return clients[0], clients[1], logs[0], logs[1]

    yield build
    for server in servers:
        server.close()


FORWARDING_WARNINGS = {
    'a peer not in trusted_proxies': (
        {}, {'X-Forwarded-For': '198.51.100.7'},
        r'X-Forwarded-For came from 127\.0\.0\.1, which is not in trusted_proxies'),
    'a client entry that is no IP address': (
        {'trusted_proxies': '127.0.0.1'}, {'X-Forwarded-For': 'unknown'},
        r'X-Forwarded-For came through the trusted proxy 127\.0\.0\.1 with \'unknown\''),
    'a trusted proxy that sends no X-Forwarded-For': (
        {'trusted_proxies': '127.0.0.1'}, {'X-Real-IP': '198.51.100.7'},
        r'A login came through the trusted proxy 127\.0\.0\.1 with X-Real-IP but no X-Forwarded-For'),
}


@pytest.mark.parametrize('case', FORWARDING_WARNINGS)
def test_each_app_of_a_process_warns_in_its_own_log_of_its_proxys_forwarding(two_apps, case):
    # (it was said once per process: the app whose login came first said it, and the other's log never did)
    settings, headers, warning = FORWARDING_WARNINGS[case]
    shop, admin, shop_log, admin_log = two_apps(**settings)
    for web in (shop, admin, shop, admin):
        assert web.get('/me', headers=dict(ALICE, **headers)).json() == {'user': 'alice'}
    for log_dir in (shop_log, admin_log):
        assert len(re.findall(r' WARNING .*' + warning, read_log(log_dir))) == 1, read_log(log_dir)
