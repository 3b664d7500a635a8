"""Processes the cache's end-to-end tests need besides gateways: a private Redis that can be
killed, and `vitrine projectors run`; plus a recorder of requests under load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from tests.e2e.server import free_port


class RedisProcess:
    """`redis-server` on a free port, without persistence, that a test may kill and restart.
    Never the machine's Redis on 6379."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        assert self.port != 6379
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--bind", "127.0.0.1", "--dir", str(self._data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, exactly like a crash."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@contextmanager
def redis_process(data_dir: Path) -> Iterator[RedisProcess]:
    process = RedisProcess(data_dir)
    process.start()
    try:
        yield process
    finally:
        process.kill()


@contextmanager
def running_projectors(database_url: str, data_dir: Path, **settings: str) -> Iterator[None]:
    """`vitrine projectors run` in a subprocess (settings become VITRINE_<NAME>)."""
    env = {
        **os.environ,
        "VITRINE_DATABASE_URL": database_url,
        "VITRINE_DATA_DIR": str(data_dir),
        **{f"VITRINE_{k.upper()}": v for k, v in settings.items()},
    }
    log = (data_dir / "projectors.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "projectors", "run"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass(frozen=True)
class Sample:
    started: float
    finished: float
    target: str
    status: int
    body: dict[str, object] | None
    cache: str


@dataclass
class Recorder:
    """Sends requests in background threads until stopped, keeping every outcome."""

    send: Callable[[httpx.Client, str], httpx.Response]
    targets: list[str]
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for target in self.targets:
            thread = threading.Thread(target=self._run, args=(target,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def since(self, moment: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.started >= moment]

    def _run(self, target: str) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = self.send(client, target)
                    body = response.json() if response.status_code == 200 else None
                    sample = Sample(
                        started,
                        time.monotonic(),
                        target,
                        response.status_code,
                        body,
                        response.headers.get("vitrine-cache", ""),
                    )
                except (httpx.HTTPError, ValueError) as exc:
                    with self._lock:
                        self.failures.append(f"{target}: {type(exc).__name__}: {exc}")
                    continue
                with self._lock:
                    self.samples.append(sample)


def wait_for(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Return once `condition()` holds; fail the test when `within` seconds pass first."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting until {what}")
        time.sleep(0.01)
