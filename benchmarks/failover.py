"""Failover of the Redis session store under load: SIGKILL the master, measure what clients see.

Starts on 127.0.0.1, in temp dirs, and stops at the end:

  sentinel  a master, ``--replicas`` replicas and three sentinels (``redis-server --sentinel``)
            watching it as ``canister`` (quorum 2, down-after 1000 ms)
  cluster   three masters with ``--replicas`` replicas each (``--cluster-node-timeout 1000``),
            joined with ``redis-cli --cluster create``

and tests/apps/redis_topology_app.py on gunicorn (``--workers`` sync workers) with
``session_redis_wait = --wait``. ``--clients`` threads each keep one session cookie and call
``GET /count`` in a loop (every third request also starts a new session from a new browser).
After ``--seconds`` the master (sentinel), or the master of the first client's session key
(cluster), is killed with SIGKILL, ``--cut`` seconds after it was cut off from its replicas (they
are stopped with SIGSTOP, their connections dropped, and go on after the kill: a network blip just
before a crash, so that what the master acknowledges meanwhile reaches no replica); the load
goes on until every client has had 1.5 s of 200s with its own cookie (at most 30 s).

Printed: for how long requests answered 503 (first to last failed answer after the kill), the
slowest answer, the seconds from the kill until every client was back to 200 with its same
cookie, and how many sessions acknowledged (answered 200) before the kill are lost afterwards
(gone, or a counter older than acknowledged).

With ``--wait 1`` keep at least two replicas per master: once the only replica is promoted,
nothing is left to wait for and every save answers 503 until a replica joins again.

Run (from the repository root; about 15 s):

    python benchmarks/failover.py --topology sentinel --clients 8 --seconds 3 --wait 0
    python benchmarks/failover.py --topology cluster --clients 8 --seconds 3 --wait 1 --cut 0.3
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))

from redis_topologies import ClusterSetup, FailoverLoad, SentinelSetup  # noqa: E402
from servers import AppServer  # noqa: E402

PREFIX = 'canister-failover:'


def session_key(setup: ClusterSetup, sid: str) -> str:
    """The Redis key that holds session ``sid`` (found by scanning the masters)."""
    for slot in (0, 8000, 16383):
        client = setup.master_of_slot(slot).client()
        try:
            for key in client.scan_iter(match=PREFIX + '*' + sid + '*', count=1000):
                return key.decode()
        finally:
            client.close()
    raise SystemExit('the session %s is not in the cluster' % sid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--topology', choices=['sentinel', 'cluster'], default='sentinel')
    parser.add_argument('--clients', type=int, default=8, help='client threads, one session cookie each (8)')
    parser.add_argument('--seconds', type=float, default=3.0, help='seconds of load before the kill (3)')
    parser.add_argument('--wait', type=int, choices=[0, 1], default=0, help='session_redis_wait (0)')
    parser.add_argument('--replicas', type=int, default=2, help='replicas of each master (2)')
    parser.add_argument('--workers', type=int, default=3, help='gunicorn sync workers (3)')
    parser.add_argument('--cut', type=float, default=0.3,
                        help='seconds the master runs cut off from its replicas before the kill (0.3; 0: none)')
    args = parser.parse_args()

    started = time.monotonic()
    setup = (SentinelSetup if args.topology == 'sentinel' else ClusterSetup)(replicas=args.replicas)
    with setup, tempfile.TemporaryDirectory(prefix='canister-failover-') as logs:
        app = AppServer('redis_topology_app:app', server='gunicorn', workers=args.workers, start_timeout=30, env={
            'CANISTER_SESSION_STORE': setup.url, 'CANISTER_REDIS_WAIT': str(args.wait),
            'CANISTER_REDIS_PREFIX': PREFIX, 'CANISTER_LOG_PATH': logs, 'CANISTER_LOG_LEVEL': 'WARNING'})
        try:
            app.start()
            load = FailoverLoad({'app': app.url}, clients=args.clients)
            if isinstance(setup, ClusterSetup):
                cluster = setup

                def kill() -> float:
                    sid = load.groups['app'][0].client.cookies['session_id']
                    cluster.kill_master_of(session_key(cluster, sid), cut_replicas=args.cut)
                    return cluster.kill_moment
            else:
                sentinel = setup

                def kill() -> float:
                    sentinel.kill_master(cut_replicas=args.cut)
                    return sentinel.kill_moment
            report = load.run(kill, setup.wait_for_failover, before=args.seconds)['app']
        finally:
            app.cleanup()
    nodes = ('a master, %d replica(s), 3 sentinels' % args.replicas if args.topology == 'sentinel'
             else '3 masters x %d replica(s)' % args.replicas)
    print('%s (%s), session_redis_wait=%d, %d clients, gunicorn x%d, %.0f s of load before the kill, '
          'master cut off from its replicas %.1f s before it' % (args.topology, nodes, args.wait, args.clients,
                                                                args.workers, args.seconds, args.cut))
    print('  servers reported the new master     %.2f s after the kill' % (load.failover_seconds or 0))
    print('  503s for                            %.2f s (%d answers, statuses seen %s, slowest %.2f s)'
          % (report.outage, report.failures, report.statuses, report.slowest))
    back = '%.2f s' % report.back_after if report.back_after is not None else 'never (within 30 s)'
    print('  every client back to 200 after      %s (%d of %d with the same cookie)'
          % (back, report.same_cookie, report.clients))
    print('  sessions acknowledged before kill   %d, lost %d'
          % (report.fresh_acknowledged + report.acknowledged, report.lost))
    print('  (%.0f s in all)' % (time.monotonic() - started))
    ok = set(report.statuses) <= {200, 503} and report.all_back
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
