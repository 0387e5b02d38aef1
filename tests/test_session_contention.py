"""A save that keeps losing to other requests gives up after a bounded number of tries: a 503."""
from __future__ import annotations

import time

import canister
from canister import session
from helpers import client, read_log


class AlwaysChangedStore(canister.MemoryStore):
    """A memory store where, at every save, another request has just changed the session."""

    def __init__(self):
        super().__init__()
        self.tries = 0

    def update(self, sid, expected, record, ttl):
        self.tries += 1
        return False, self.load(sid)


def test_a_save_that_always_loses_answers_503_after_ten_tries(make_app, log_dir):
    store = AlwaysChangedStore()
    app = make_app(store=store)

    @app.get('/set/<value>')
    def set_value(value):
        session.data['value'] = value
        return 'ok'

    web = client(app)
    web.get('/set/first')  # a new session: created, not updated
    started = time.monotonic()
    answer = web.get('/set/second', status=503)
    assert store.tries == 1 + 10  # the save itself, then ten merges
    assert time.monotonic() - started < 2  # the pauses between tries are bounded
    assert 'kept changing under concurrent requests' in read_log(log_dir)
    assert 'Service unavailable' in answer.text
