"""Starting a real Vitrine server (uvicorn, uvloop, httptools) in a subprocess."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.api_keys.signing import sign

TOKEN = "e2e-service-token"
SIGNING_SECRET = "e2e-service-signing-secret-0123456789abcdef"


def signed_headers(
    key: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """`Authorization` and the three signature headers of a request (docs/security.md)."""
    return {
        "Authorization": f"Bearer {key}",
        **sign(
            secret,
            method=method,
            path=path,
            query=query,
            body=body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            nonce=secrets.token_urlsafe(16) if nonce is None else nonce,
        ),
    }


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    signing_secret: str = SIGNING_SECRET

    def post_events(
        self, body: bytes, content_type: str = "application/json", **headers: str
    ) -> httpx.Response:
        """POST /events signed with the service key, as every client of /events must."""
        return httpx.post(
            f"{self.url}/events",
            content=body,
            headers={
                "Content-Type": content_type,
                **signed_headers(self.token, self.signing_secret, "POST", "/events", body),
                **headers,
            },
            timeout=30,
        )

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
def running_server(
    database_url: str,
    data_dir: Path,
    *,
    uvicorn_workers: int = 1,
    environment: Mapping[str, str] | None = None,
    **settings: str,
) -> Iterator[Server]:
    """A server on a free port, ready (healthz answers) before the block runs.

    `uvicorn_workers` > 1 runs `uvicorn --workers`; `environment` adds variables that
    are not VITRINE_ settings (PROMETHEUS_MULTIPROC_DIR).
    """
    port = free_port()
    env = {
        **os.environ,
        "VITRINE_DATABASE_URL": database_url,
        "VITRINE_SERVICE_TOKEN": TOKEN,
        "VITRINE_SERVICE_SIGNING_SECRET": SIGNING_SECRET,
        "VITRINE_DATA_DIR": str(data_dir),
        # Tests hammer servers from one address: rate limits only where a test asks for them.
        "VITRINE_RATE_LIMITS": "off",
        # No line per request (tests send thousands) unless a test asks: errors still log.
        "VITRINE_ACCESS_LOG": "false",
        # The trace page would record every request's spans: only where a test asks for it.
        "VITRINE_TRACE_PAGE": "false",
        **{f"VITRINE_{k.upper()}": v for k, v in settings.items()},
        **(environment or {}),
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
            # The client address is Vitrine's to work out (VITRINE_TRUSTED_PROXIES), not
            # uvicorn's: by default it believes X-Forwarded-For from 127.0.0.1.
            "--no-proxy-headers",
            *(["--workers", str(uvicorn_workers)] if uvicorn_workers > 1 else []),
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
