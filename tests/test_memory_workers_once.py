"""The memory-store warning of a server running several processes is written once per worker, even when
the worker's first requests arrive together."""
from __future__ import annotations

import sys

from helpers import at_once, client, finishes_in_child, read_log

NOTE = 'The memory session store keeps sessions in this process, but the server runs several'


def test_a_workers_first_requests_arriving_together_write_the_memory_store_warning_once(make_app, log_dir):
    """Each round forks a fresh worker (canister asks its first request again after a fork), whose first
    eight requests come at once from eight threads; thread switches are made as frequent as they go."""
    app = make_app()
    app.route('/ping', callback=lambda: 'pong')
    web = client(app, **{'wsgi.multiprocess': True})

    def worker() -> bool:
        before = read_log(log_dir).count(NOTE)
        sys.setswitchinterval(1e-6)
        answers = at_once([lambda: web.get('/ping').text for _ in range(8)])
        return answers == ['pong'] * 8 and read_log(log_dir).count(NOTE) == before + 1

    for _ in range(40):  # (the old code wrote it twice in about one round of ten)
        assert finishes_in_child(worker)
