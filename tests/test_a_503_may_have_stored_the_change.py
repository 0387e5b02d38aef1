"""A 503 from a request that changes its session does not say the change was not stored: Redis may have run the
write and then lost the connection before its answer came back (a Redis shutting down does just that).  A client
that sends a non-idempotent change again (an increment) may then apply it twice.  Staged on a real Redis with a
replica: the change's write runs, then its connection is cut while its WAIT blocks (``session_kit.answer_cut_off``).
"""
from __future__ import annotations

import canister
from session_kit import answer_cut_off, gated_app, logged_in


def test_an_increment_answered_503_because_its_answer_was_lost_is_stored_all_the_same(
        make_app, serve, master_and_replica):
    master, replica = master_and_replica
    store = canister.RedisStore(master.url, wait=1, timeout=10)  # (its WAIT blocks up to 5 s)
    armed, cut = answer_cut_off(store, 'update', master, replica)
    origin = serve(gated_app(make_app, None, store=store))
    laptop = logged_in(origin)
    assert laptop.get('/incr?key=count').text == '1'
    sid = laptop.sid
    armed.set()

    failed = laptop.get('/incr?key=count')

    assert failed.status == 503 and failed.headers.get('Retry-After') == '1', failed
    assert cut == [sid, 'killed'] and laptop.sid == sid, cut
    assert laptop.read() == ['alice', {'count': 2}]
    assert laptop.get('/incr?key=count').text == '3'
