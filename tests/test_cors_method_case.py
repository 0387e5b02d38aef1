"""A page's ``fetch(url, {method: 'patch'})`` asks its preflight for ``patch`` (browsers upper-case only DELETE,
GET, HEAD, OPTIONS, POST and PUT), which the ``PATCH`` canister grants does not match: the browser blocks the
request without a word to the app, so a WARNING says why and what to write instead, once a second at most."""
from __future__ import annotations

import os
import re
from typing import Any, List

from helpers import warning_lines
from servers import WsgirefServer, raw_request, status_of
from test_csrf import target_app

ORIGIN = 'https://app.example.com'


def preflights(app: Any, *methods: str) -> List[bytes]:
    """Raw preflights from ORIGIN for ``methods`` to /target on a wsgiref server of ``app``: the answers."""
    server = WsgirefServer(app)
    try:
        return [raw_request(server.port, b'OPTIONS /target HTTP/1.0\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n'
                                         b'Access-Control-Request-Method: %s\r\n\r\n' % (ORIGIN.encode(), method.encode()))
                for method in methods]
    finally:
        server.close()


def case_lines(log_dir: Any) -> List[str]:
    """The WARNING lines about a method granted only in capitals."""
    return [line for line in warning_lines(log_dir) if 'granted only as' in line]


def test_a_preflight_for_the_method_patch_in_lower_case_is_not_granted_it_and_a_warning_says_to_write_patch(
        make_app, log_dir):
    [answer] = preflights(target_app(make_app, cors=ORIGIN), 'patch')
    assert status_of(answer) == 204
    [granted] = re.findall(rb'\r\nAccess-Control-Allow-Methods: ([^\r]*)', answer)
    assert b'PATCH' in granted.split(b', ') and b'patch' not in granted, granted  # (PATCH only, as written)
    [line] = case_lines(log_dir)
    assert line.endswith("CORS preflight from https://app.example.com asks for the method 'patch', granted only as "
                         "'PATCH': browsers compare methods case by case and block the request; write PATCH in the "
                         "page's fetch"), line


def test_preflights_for_a_method_granted_only_in_capitals_are_logged_once_a_second_at_most(make_app, log_dir, clock):
    app = target_app(make_app, cors=ORIGIN)
    preflights(app, 'patch', 'Patch', 'patch')
    assert len(case_lines(log_dir)) == 1
    clock.advance(1.5)
    preflights(app, 'delete')
    lines = [line for line in warning_lines(log_dir) if 'CORS preflight' in line]
    assert len(lines) == 2, lines
    assert lines[1].endswith("CORS preflight: a method granted only in capitals: browsers compare methods case by "
                             "case and block the request; write it in capitals in the page's fetch (and 2 more "
                             "like it in process %d in the last 1.5s)" % os.getpid()), lines


def test_a_preflight_for_patch_in_capitals_logs_no_warning(make_app, log_dir):
    [answer] = preflights(target_app(make_app, cors=ORIGIN), 'PATCH')
    assert status_of(answer) == 204
    assert not [line for line in warning_lines(log_dir) if 'CORS preflight' in line]


def test_a_preflight_for_a_method_in_lower_case_the_route_does_not_take_logs_no_warning(make_app, log_dir):
    [answer] = preflights(target_app(make_app, cors=ORIGIN, cors_methods='GET, POST'), 'patch')
    assert status_of(answer) == 204
    assert not case_lines(log_dir)
