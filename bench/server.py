"""The server under load: `uvicorn --factory infra.asgi:app_factory` in a subprocess,
and the preflight that checks it answers every benchmark request without errors.

It runs the way a deployment would (uvloop, httptools, no access log, N
workers) with the benchmark's floor route on, and writes its output to a
log file so that a server that dies mid-run fails the benchmark with the
reason instead of a wall of socket errors.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from rich.progress import TaskID

from bench.baseline import Checkout, launch_command, launch_env, verify_marker
from bench.procstats import process_tree

READY_TIMEOUT = 90.0
LOG_TAIL = 3000
PREFLIGHT_THREADS = 8
# Production mode refuses to start without a JWT secret; the load workload sends no viewer
# tokens, the dashboard phase mints creator tokens with this one (bench.dashboard).
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
# POST /events must be signed (docs/security.md); the freshness phase signs with this one.
SIGNING_SECRET = "bench-service-signing-secret-" + "x" * 32


class ServerError(Exception):
    """The server did not start, or died; the message carries its log's tail."""


class PreflightError(Exception):
    """The server answered a benchmark request with an error."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: its URL, its process tree, and a check that it is alive."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    workers: int
    database: str
    # Another checkout's server (bench.baseline): how many of our modules it was
    # checked to import from that checkout.
    checkout_modules: int | None = None

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL:]
        except OSError:
            return "(no log)"

    def check(self) -> None:
        """Raise ServerError with the log tail if the server has exited."""
        code = self.process.poll()
        if code is not None:
            raise ServerError(
                f"the server exited with code {code}; last lines of {self.log_path}:\n"
                + self.log_tail()
            )


def server_env(
    database_url: str,
    data_dir: Path,
    *,
    run_projectors: bool,
    token: str,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of the server under test: bench mode on, the response cache off
    (the load phase measures execution; the cache phase turns it on), the rest at
    their defaults."""
    return {
        **os.environ,
        "VITRINE_DATABASE_URL": database_url,
        "VITRINE_DATA_DIR": str(data_dir),
        "VITRINE_MODE": "production",
        "VITRINE_BENCH_MODE": "true",
        "VITRINE_RUN_PROJECTORS": "true" if run_projectors else "false",
        "VITRINE_SEED_ON_FIRST_RUN": "false",
        "VITRINE_SERVICE_TOKEN": token,
        "VITRINE_SERVICE_SIGNING_SECRET": SIGNING_SECRET,
        "VITRINE_JWT_SECRET": JWT_SECRET,
        "VITRINE_RESPONSE_CACHE": "false",
        # The load comes from one address, far above any per-IP quota.
        "VITRINE_RATE_LIMITS": "off",
        # Like uvicorn's (--no-access-log): a line per request would fill the log file.
        "VITRINE_ACCESS_LOG": "false",
        # Production mode has it off already; said here so no phase measures its spans.
        "VITRINE_TRACE_PAGE": "false",
        **(extra or {}),
    }


def uvicorn_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", *uvicorn_args(port, workers)]


def uvicorn_args(port: int, workers: int) -> list[str]:
    return [
        "--factory",
        "infra.asgi:app_factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--no-proxy-headers",
    ]


def post_json(
    url: str, body: bytes, timeout: float = 60, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """(status, response body) of one POST; 4xx/5xx answers are returned, not raised."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    run_projectors: bool = False,
    token: str = "bench-service-token",
    extra: dict[str, str] | None = None,
    checkout: Checkout | None = None,
) -> Iterator[Server]:
    """A server on a free port, answering /healthz with all its workers up; `extra`
    overrides its environment (the cache phase turns the response cache on);
    `checkout` runs another checkout's code (bench.baseline), checked once it is up."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = server_env(
        database_url, log_path.parent, run_projectors=run_projectors, token=token, extra=extra
    )
    command, cwd = uvicorn_command(port, workers), Path(__file__).resolve().parent.parent
    marker = log_path.with_suffix(".modules.json")
    if checkout is not None:
        marker.unlink(missing_ok=True)
        command = launch_command(checkout, marker, uvicorn_args(port, workers))
        env, cwd = launch_env(checkout, env), checkout.root
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    database = urlsplit(database_url).path.strip("/")
    server = Server(process, f"http://127.0.0.1:{port}", log_path, workers, database)
    try:
        _wait_ready(server)
        if checkout is not None:
            server.checkout_modules = verify_marker(checkout, marker)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    # With several workers, uvicorn's parent spawns them: wait for all of them.
    expected = 1 if server.workers == 1 else server.workers + 1
    while True:
        server.check()
        if len(server.pids()) >= expected and _healthy(server.url):
            return
        if time.monotonic() > deadline:
            raise ServerError(
                f"the server did not answer /healthz within {READY_TIMEOUT:.0f}s; "
                f"last lines of {server.log_path}:\n{server.log_tail()}"
            )
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def check_answer(name: str, body: dict[str, Any], status: int, answer: bytes) -> None:
    """Raise PreflightError unless the answer is HTTP 200 without GraphQL errors."""
    try:
        parsed = orjson.loads(answer)
    except orjson.JSONDecodeError:
        parsed = None
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if status != 200 or errors or parsed is None:
        shown = orjson.dumps(errors).decode() if errors else answer.decode(errors="replace")
        raise PreflightError(
            f"{name} answered HTTP {status} with errors for variables "
            f"{orjson.dumps(body.get('variables')).decode()}: {shown[:1500]}\n"
            "A benchmark of errors is worthless: fix the server or the variables generator "
            "(bench/workload.py) first."
        )


def preflight(server: Server, requests: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Send each distinct body once and fail on any error, before any load.

    Returns each operation's typical response size in bytes: the median over
    the bodies as they will be sent (so weighted by how often each is sent),
    which is the size of the floor it is compared with."""
    from bench.stats import percentile
    from infra.progress import progress_bar

    def key(body: dict[str, Any]) -> bytes:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    typical = {}
    with progress_bar() as progress, ThreadPoolExecutor(PREFLIGHT_THREADS) as pool:
        for name, bodies in requests.items():
            unique = {key(body): body for body in bodies}
            task = progress.add_task(f"checking {name}", total=len(unique))

            def send(
                body: dict[str, Any], task: TaskID = task, name: str = name
            ) -> tuple[bytes, int]:
                status, answer = post_json(f"{server.url}/graphql", orjson.dumps(body))
                progress.advance(task)
                check_answer(name, body, status, answer)
                return key(body), len(answer)

            size_of = dict(pool.map(send, unique.values()))
            server.check()
            typical[name] = int(percentile([size_of[key(b)] for b in bodies], 50))
    return typical
