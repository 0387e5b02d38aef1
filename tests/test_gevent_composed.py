"""Composed apps under gevent: a child merged or mounted into a parent, canister on the parent, the child or
both, served by ``bottle.run(server='gevent')`` after ``gevent.monkey.patch_all()`` (tests/apps/composed_gevent_app.py).

Many clients at once stream from the child's routes, each chunk pausing so that the greenlets interleave:
every chunk must see its own request (user, session, request id, thread name), and nothing of a request may
stay behind once it ended.  Real HTTP from client threads to a real gevent server in a subprocess.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List

import pytest

from servers import AppServer
from session_kit import Browser, run_threads

CLIENTS = 12
PLACES = ['parent', 'child', 'both']


@pytest.fixture(scope='module', params=[(way, place) for way in ('merge', 'mount') for place in PLACES],
                ids=lambda param: '%s-%s' % param)
def composed_server(request: Any, tmp_path_factory: Any) -> Iterator[AppServer]:
    """composed_gevent_app with the child merged or mounted, canister where the param says, started."""
    way, place = request.param
    logs = tmp_path_factory.mktemp('composed-gevent') / 'logs'
    server = AppServer('composed_gevent_app:app', server='gevent',
                       env={'COMPOSED_WAY': way, 'COMPOSED_PLACE': place, 'CANISTER_LOG_PATH': str(logs)})
    server.prefix = '/c' if way == 'mount' else ''
    yield server.start()
    server.cleanup()


def stream_as(server: AppServer, number: int, paths: List[str], got: Dict[int, List[Any]]) -> None:
    """Client ``number`` (at 10.0.3.<number>) logs in as c<number>, then GETs each of ``paths`` three times."""
    browser = Browser(server.url)
    headers = {'X-Forwarded-For': '10.0.3.%d' % number}
    assert browser.get(server.prefix + '/login?name=c%d' % number, headers=headers).status == 200
    for _ in range(3):
        for path in paths:
            answer = browser.get(server.prefix + path, headers=headers)
            got[number].append((path, answer.status, answer.headers.get('X-Request-ID'), answer.text))


@pytest.mark.parametrize('path', ['/stream', '/chunks', '/skipped_stream'])
def test_under_gevent_every_chunk_of_a_childs_stream_sees_its_own_request(composed_server, path):
    got: Dict[int, List[Any]] = {number: [] for number in range(CLIENTS)}
    errors = run_threads([lambda number=number: stream_as(composed_server, number, [path], got)
                          for number in range(CLIENTS)])
    assert not errors, errors
    for number, answers in got.items():
        for _, status, request_id, text in answers:
            assert status == 200
            chunks = text.rstrip(';').split(';')
            mine = re.compile(r'c%d\|c%d\|%s\|10\.0\.3\.%d-\S{6}$' % (number, number, re.escape(request_id), number))
            assert len(chunks) == 3 and len(set(chunks)) == 1 and mine.match(chunks[0]), (number, request_id, text)


def test_under_gevent_nothing_of_a_composed_request_outlives_it(composed_server):
    got: Dict[int, List[Any]] = {number: [] for number in range(CLIENTS)}
    errors = run_threads([lambda number=number: stream_as(composed_server, number,
                                                          ['/stream', '/chunks', '/skipped_stream'], got)
                          for number in range(CLIENTS)])
    assert not errors, errors
    left = Browser(composed_server.url).get('/leftovers').json()
    assert left['patched']
    assert left['contexts'] <= 1  # this request's own, where canister serves the parent's routes
    assert [name for name in left['threads'] if re.search(r'10\.0\.3\.', name)] == [], left
