"""A parent app with a child app merged or mounted into it, for the gevent tests of composed apps.

tests/servers.py serves ``app`` (the parent) with ``bottle.run(server='gevent')`` after
``gevent.monkey.patch_all()``: ``time.sleep`` in a handler lets the other greenlets run.

Configured by environment variables:
  COMPOSED_PLACE     the app canister is installed on: parent, child or both
  COMPOSED_WAY       merge (the child's routes at /), or mount (at /c/)
  CANISTER_LOG_PATH  canister's log directory
127.0.0.1 is a trusted proxy, so each test client names its own address in ``X-Forwarded-For``.

Routes of the child (JSON or text answers; each reads the query itself, which every placement allows):
  GET /login?name=N      session.user = N and session.data['owner'] = N
  GET /stream            three chunks, a pause before each, each ``user|owner|request id|thread name;``
  GET /chunks            the same from an iterable object that is no generator (an iterator with close)
  GET /skipped_stream    /stream on a route that skips canister (skip=['canister'])
Routes of the parent: GET /ping; GET /leftovers (the request contexts still alive, and the threads' names).
"""
import gc
import os
import threading
import time

import bottle
import gevent.monkey

import canister
from canister import session

from _common import mark_ready, quiet_when_slow

PLACE = os.environ.get('COMPOSED_PLACE', 'parent')
WAY = os.environ.get('COMPOSED_WAY', 'merge')
SETTINGS = quiet_when_slow({'log_path': os.environ.get('CANISTER_LOG_PATH', 'stderr'), 'trusted_proxies': '127.0.0.1'})


def seen() -> str:
    """What a chunk sees of its request."""
    return '%s|%s|%s|%s;' % (session.user, session.data.get('owner'), canister.request_id(),
                             threading.current_thread().name)


class Chunks:
    """Three chunks of ``seen()``, a pause before each, from an iterator that is no generator."""

    def __init__(self) -> None:
        self.sent = 0

    def __iter__(self) -> 'Chunks':
        return self

    def __next__(self) -> bytes:
        if self.sent == 3:
            raise StopIteration
        self.sent += 1
        time.sleep(0.005)
        return seen().encode()

    def close(self) -> None:
        pass


def streamed():
    for _ in range(3):
        time.sleep(0.005)
        yield seen()


child = bottle.Bottle()
if PLACE in ('child', 'both'):
    child.install(canister.Canister(**SETTINGS))


@child.get('/login')
def login():
    session.user = session.data['owner'] = bottle.request.query.name
    return 'ok'


@child.get('/stream')
def stream():
    return streamed()


@child.get('/chunks')
def chunks():
    return Chunks()


@child.get('/skipped_stream', skip=['canister'])
def skipped_stream():
    return streamed()


app = bottle.Bottle()


@app.get('/ping')
def ping():
    return {'pong': True}


@app.get('/leftovers')
def leftovers():
    gc.collect()
    contexts = [item for item in gc.get_objects() if isinstance(item, canister._RequestContext)]
    return {'contexts': len(contexts), 'threads': [thread.name for thread in threading.enumerate()],
            'patched': gevent.monkey.is_module_patched('threading')}


if WAY == 'mount':
    app.mount('/c/', child)
else:
    app.merge(child)
if PLACE in ('parent', 'both'):
    app.install(canister.Canister(**SETTINGS))

mark_ready()
