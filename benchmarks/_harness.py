"""Shared plumbing for the benchmark scripts in this directory.

- ``WsgiClient``: calls a WSGI callable directly (no server, no socket) with a
  fresh environ per request and a cookie jar carried between requests.
- ``Worker`` / ``serve``: a line-oriented JSON protocol between a parent
  process and one worker process per variant, so that variants which cannot
  share an interpreter (two modules named ``canister``) are still measured in
  one interleaved run.
- ``timing_options`` / ``run_or_work``: the options every interleaved timing
  script takes, and its entry point (the parent, or one hidden ``--worker``).
- ``add_counter_routes``: the job the canister variants are timed on.
- Small statistics and ``/proc`` helpers.

Not a benchmark by itself: the scripts next to it import it (they are run as
``python benchmarks/<name>.py``, which puts this directory on ``sys.path``).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

#: The repository root, where the ``canister.py`` under test lives.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Local cache for things the benchmarks fetch (ignored by git).
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


# ---------------------------------------------------------------------------
# Direct WSGI client
# ---------------------------------------------------------------------------

class Response:
    """What one WSGI call produced."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        """Every header called ``name`` (case-insensitive)."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers!r} {self.body[:80]!r}>"


class WsgiClient:
    """Calls ``app(environ, start_response)`` in-process, keeping cookies.

    Every request gets a brand-new environ dict (and ``wsgi.input``), as a
    real server would build, with the ``Cookie`` header rebuilt from the
    ``Set-Cookie`` headers seen so far. Cookie values are sent back verbatim
    (quoted values stay quoted), like a browser does.
    """

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 8080,
                 remote_addr: str = "127.0.0.1", headers: dict[str, str] | None = None) -> None:
        self.app = app
        #: The cookies sent with each request: read them here, change them with set_cookie().
        self.cookies: dict[str, str] = {}
        #: The Cookie header for ``cookies``, rebuilt when they change (not on every request,
        #: so that the client's own string building stays out of the app's time).
        self._cookie_header = ""
        self._template: dict[str, Any] = {
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SCRIPT_NAME": "",
            "REMOTE_ADDR": remote_addr,
            "HTTP_HOST": f"{host}:{port}",
            "HTTP_USER_AGENT": "canister-benchmark",
            "HTTP_ACCEPT": "*/*",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        _add_headers(self._template, headers)

    def request(self, path: str = "/", query: str = "", method: str = "GET",
                headers: dict[str, str] | None = None, body: bytes = b"") -> Response:
        """Perform one request and return the response (body fully read)."""
        environ = self._template.copy()
        environ["REQUEST_METHOD"] = method
        environ["PATH_INFO"] = path
        environ["QUERY_STRING"] = query
        environ["wsgi.input"] = io.BytesIO(body)
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
        if self._cookie_header:
            environ["HTTP_COOKIE"] = self._cookie_header
        _add_headers(environ, headers)
        started: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = (status, response_headers)
            return _no_write

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, response_headers = started
        for key, value in response_headers:
            if key.lower() == "set-cookie":
                self._remember_cookie(value)
        return Response(int(status[:3]), response_headers, data)

    def _remember_cookie(self, set_cookie: str) -> None:
        first, _, attributes = set_cookie.partition(";")
        name, _, value = first.strip().partition("=")
        attrs = attributes.lower().replace(" ", "")
        if "max-age=0" in attrs or "expires=thu,01jan1970" in attrs or "expires=thu,01-jan-1970" in attrs:
            self.set_cookie(name, None)
        else:
            self.set_cookie(name, value)

    def set_cookie(self, name: str, value: str | None) -> None:
        """Keep (or, with None, drop) a cookie for the next requests."""
        if value is None:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value
        self._cookie_header = "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def _add_headers(environ: dict[str, Any], headers: dict[str, str] | None) -> None:
    for key, value in (headers or {}).items():
        key = key.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value


def _no_write(data: bytes) -> None:
    raise RuntimeError("the benchmark client does not support write()")


def time_requests(client: WsgiClient, count: int, path: str = "/", query: str = "") -> float:
    """Run ``count`` requests back to back; return microseconds per request."""
    request = client.request
    start = time.perf_counter_ns()
    for _ in range(count):
        request(path, query)
    elapsed = time.perf_counter_ns() - start
    return elapsed / count / 1000.0


def add_counter_routes(app: Any, session: Any) -> None:
    """The job every canister variant is timed on: ``GET /?foo=...`` bumps the session's
    counter and echoes ``foo`` (a handler argument), ``GET /_counter`` reads the counter back."""

    @app.get("/")
    def index(foo):
        session.data["counter"] = session.data.get("counter", 0) + 1
        return foo

    @app.get("/_counter")
    def counter():
        return str(session.data.get("counter", 0))


# ---------------------------------------------------------------------------
# Parent <-> worker protocol (one JSON object per line)
# ---------------------------------------------------------------------------

class WorkerError(RuntimeError):
    """A worker reported an exception or died."""


class Worker:
    """A child Python process answering JSON requests on its stdin/stdout."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1, env=env)

    def call(self, op: str, **args: Any) -> Any:
        """Send one request and wait for its answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(f"worker {self.name} died (exit code {self.process.wait()})") from None
        line = self.process.stdout.readline()
        if not line:
            raise WorkerError(f"worker {self.name} died (exit code {self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"worker {self.name}: {answer['error']}")
        return answer["result"]

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to quit; kill it if it does not."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def serve(handlers: dict[str, Callable[..., Any]]) -> None:
    """Worker side: answer requests from stdin until ``quit`` or EOF.

    The protocol uses a private duplicate of fd 1; fd 1 itself is pointed at
    stderr so that nothing the code under test prints can corrupt it.
    """
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            result = handlers[op](**request)
            answer = {"result": result}
        except BaseException as exc:  # report everything, the parent decides
            import traceback
            answer = {"error": "".join(traceback.format_exception(exc)).rstrip()}
        out.write(json.dumps(answer) + "\n")
    out.close()


# ---------------------------------------------------------------------------
# Statistics, formatting, /proc
# ---------------------------------------------------------------------------

def timing_options(description: str, rounds: int, requests: int, warmup: int,
                   unit: str = "variant") -> argparse.ArgumentParser:
    """The options of an interleaved timing script (each adds its own after these)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds, help=f"rounds (default {rounds})")
    parser.add_argument("--requests", type=int, default=requests, help=f"requests per {unit} per round (default {requests})")
    parser.add_argument("--warmup", type=int, default=warmup, help=f"warm-up requests per {unit} (default {warmup})")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def run_or_work(parser: argparse.ArgumentParser, run: Callable[[Any], None],
                worker_main: Callable[[Any], None]) -> None:
    """Parse the command line; serve as one ``--worker`` if asked, else run the whole benchmark."""
    args = parser.parse_args()
    (worker_main if args.worker else run)(args)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median over rounds of the per-round ratio (robust to drifting machines)."""
    return statistics.median(n / d for n, d in zip(numerators, denominators))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """Render rows as an aligned text table or a Markdown table."""
    if markdown:
        numeric = [all(_is_number(row[i]) for row in rows) for i in range(len(headers))]
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if right else "---" for right in numeric) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    columns = list(zip(headers, *rows))
    widths = [max(len(str(c)) for c in col) for col in columns]
    numeric = [all(_is_number(c) for c in col[1:]) for col in columns]
    def fmt(row: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if right else str(c).ljust(w)
                         for c, w, right in zip(row, widths, numeric)).rstrip()
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def _is_number(text: str) -> bool:
    try:
        float(str(text).rstrip("x%"))
    except ValueError:
        return False
    return True


def rss_bytes() -> int:
    """Current resident set size of this process (VmRSS from /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def directory_size(path: Path) -> int:
    """Total size of the regular files directly under ``path`` (0 if missing)."""
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def wait_for_growth(path: Path, before: int, timeout: float = 2.0) -> int:
    """Size of ``path`` once it exceeds ``before`` (logging may be asynchronous)."""
    deadline = time.monotonic() + timeout
    size = directory_size(path)
    while size <= before and time.monotonic() < deadline:
        time.sleep(0.01)
        size = directory_size(path)
    return size


def environment_line() -> str:
    """One line naming the interpreter and the bottle version."""
    import bottle
    return (f"python {sys.version.split()[0]}, bottle {bottle.__version__}, "
            f"{os.cpu_count()} CPUs")
