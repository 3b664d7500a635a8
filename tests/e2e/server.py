"""Starting a real Vitrine server (uvicorn, uvloop, httptools) in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TOKEN = "e2e-service-token"


@dataclass(frozen=True)
class Server:
    url: str
    token: str

    def graphql(
        self, query: str, variables: dict[str, object] | None = None, **headers: str
    ) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(database_url: str, data_dir: Path, **settings: str) -> Iterator[Server]:
    """A server on a free port, ready (healthz answers) before the block runs."""
    port = free_port()
    env = {
        **os.environ,
        "VITRINE_DATABASE_URL": database_url,
        "VITRINE_SERVICE_TOKEN": TOKEN,
        "VITRINE_DATA_DIR": str(data_dir),
        **{f"VITRINE_{k.upper()}": v for k, v in settings.items()},
    }
    log = (data_dir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "infra.asgi:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(data_dir / f'server-{port}.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
        yield Server(url, TOKEN)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
