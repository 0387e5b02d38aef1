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
    for round_ in range(3):  # (a save again only when another job's load slowed this one: each pause is drawn up
        tried = store.tries  # to 32 times the last try's length, and load stretches the tries)
        started = time.monotonic()
        answer = web.get('/set/second-%d' % round_, status=503)
        took = time.monotonic() - started
        assert store.tries - tried == 1 + 10  # the save itself, then ten merges
        if took < 2:
            break
    assert took < 2, took  # the pauses between tries are bounded
    assert 'kept changing under concurrent requests' in read_log(log_dir)
    assert 'Service unavailable' in answer.text
