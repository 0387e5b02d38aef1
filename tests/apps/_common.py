"""Shared bits for the app modules served by tests/servers.py.

These modules are imported by gunicorn/waitress in a subprocess, with
tests/apps and the repository root on PYTHONPATH (set by tests/servers.py).
"""
import os


def mark_ready():
    """Signal that this process finished importing the app.

    tests/servers.py passes TEST_READY_DIR; each worker process drops a file
    named after its pid there, so the harness can wait until every gunicorn
    worker is up (not only the first one).
    """
    ready_dir = os.environ.get('TEST_READY_DIR')
    if ready_dir:
        path = os.path.join(ready_dir, 'ready.%d' % os.getpid())
        with open(path, 'w') as f:
            f.write(str(os.getpid()))
