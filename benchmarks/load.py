"""Load: many concurrent clients, each with its own session, against real servers.

The driver of tests/test_load.py, bigger: ``--clients`` threads start together, each
logs in as itself, bumps its own session counter ``--requests`` times in all (every
``--boom-every``-th request hits ``/boom``, a handler that writes poison into the
session and raises: a 500 that must leave nothing behind), then reads its session
back.  One connection per request, the cookie carried by hand
(tests/servers.py ``Client``).  The app is tests/apps/load_app.py, logging at
INFO to a temporary directory.

Setups (all on 127.0.0.1, every process started here is stopped at the end):

  memory-waitress   memory store, waitress with 8 threads
  sqlite-waitress   SQLite store (temp file), waitress with 8 threads
  redis-gunicorn3   Redis store (a private redis-server), gunicorn with 3 sync workers
  sqlite-gunicorn3  SQLite store shared by gunicorn's 3 sync workers

Reported per setup: clients, requests, errors (wrong status, wrong user or data,
another client's session, a timeout), lost updates (bumps answered 200 but missing
from the final counter), req/s (the client is Python threads opening a connection
per request, so this is the whole path, not the server alone), worst latency, the
number of server processes that answered, and whether the log holds exactly one
request and one response line per request.  The exit status is 1 if any setup had an
error, a lost update or a log mismatch.

Run (from the repository root; about half a minute with the defaults):

    python benchmarks/load.py [--clients 64] [--requests 100] [--boom-every 10]
                              [--setups memory-waitress,sqlite-waitress,redis-gunicorn3,sqlite-gunicorn3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / 'tests'))

from servers import AppServer, RedisServer, cleanup_all  # noqa: E402
from test_load import SETUPS, check_log, expected_requests, read_logs, run_load  # noqa: E402


def run_setup(name: str, clients: int, requests: int, boom_every: int, workdir: str) -> Dict[str, Any]:
    store, server_kind, workers = SETUPS[name]
    log_dir = os.path.join(workdir, name, 'logs')
    env = {'CANISTER_LOG_PATH': log_dir}
    started: List[Any] = []
    try:
        if store == 'redis':
            redis = RedisServer()
            started.append(redis)
            redis.start()
            env['CANISTER_SESSION_STORE'] = redis.url
        elif store == 'sqlite':
            env['CANISTER_SESSION_STORE'] = 'sqlite:///' + os.path.join(workdir, name, 'sessions.db')
        server = AppServer('load_app:app', server=server_kind, workers=workers, threads=8, env=env,
                           start_timeout=30)
        started.append(server)
        server.start()
        before = check_log(read_logs(log_dir))
        result = run_load(server.url, clients, requests, boom_every, timeout=30,
                          deadline=max(60.0, clients * requests / 50.0))
        after = check_log(read_logs(log_dir))
    finally:
        for item in reversed(started):
            item.cleanup()
    per_client = expected_requests(requests, boom_every)
    sent = clients * requests
    log_ok = (not after['broken'] and after['requests'] - before['requests'] == result.requests == sent
              and after['responses'] - before['responses'] == sent)
    statuses_ok = dict(result.paths) == {path: clients * count for path, count in per_client.items()}
    return {
        'setup': name, 'clients': clients, 'requests': result.requests, 'errors': len(result.errors),
        'lost': result.lost_updates, 'rate': result.rate, 'worst_ms': max(result.latencies or [0]) * 1000,
        'processes': len(result.pids), 'log_ok': log_ok and statuses_ok, 'first_errors': result.errors[:5],
        'seconds': result.seconds,
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--clients', type=int, default=64)
    parser.add_argument('--requests', type=int, default=100, help='requests per client (login + bumps + whoami)')
    parser.add_argument('--boom-every', type=int, default=10, help='every Nth request raises (0: never)')
    parser.add_argument('--setups', default=','.join(SETUPS), help='comma-separated, from: %s' % ', '.join(SETUPS))
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.setups.split(',') if name.strip()]
    unknown = [name for name in names if name not in SETUPS]
    if unknown or args.clients < 1 or args.requests < 3:
        parser.error('unknown setup %s' % ', '.join(unknown) if unknown else '--clients >= 1, --requests >= 3')
    workdir = tempfile.mkdtemp(prefix='canister-load-')
    rows = []
    try:
        for name in names:
            row = run_setup(name, args.clients, args.requests, args.boom_every, workdir)
            rows.append(row)
            print('%-17s %4d clients %7d requests %5d errors %4d lost updates %7.0f req/s  worst %5.0f ms  '
                  '%d process(es)  log %s' % (row['setup'], row['clients'], row['requests'], row['errors'],
                                             row['lost'], row['rate'], row['worst_ms'], row['processes'],
                                             'ok' if row['log_ok'] else 'MISMATCH'), flush=True)
            for error in row['first_errors']:
                print('    ' + error)
    finally:
        cleanup_all()
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [row for row in rows if row['errors'] or row['lost'] or not row['log_ok']]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
