"""Security headers on every response, the outermost layer of the app.

Vitrine answers JSON (and, in development, the GraphiQL page), so the policy
is the strictest there is: nothing may be sniffed into another type, framed,
sent a referrer or load anything (`default-src 'none'`). The GraphiQL page
sets its own, looser policy (`ide_policy`) naming exactly what it loads; a
header a route set itself is never overwritten. Strict-Transport-Security is
only sent when configured: TLS usually ends at the proxy, which knows better.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
# What strawberry's GraphiQL page loads: scripts and styles from unpkg.com,
# an inline favicon, its own inline script (allowed by hash, not 'unsafe-inline'),
# and requests to this origin.
IDE_SOURCES = "https://unpkg.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def ide_policy(html: str) -> str:
    """The Content-Security-Policy of the GraphiQL page `html`."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'none'; "
        f"script-src {IDE_SOURCES} {hashes}; "
        f"style-src {IDE_SOURCES} 'unsafe-inline'; "
        f"font-src {IDE_SOURCES} data:; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def security_headers(*, hsts_seconds: int = 0) -> list[tuple[bytes, bytes]]:
    """The headers added to every response (raw, lower-case names)."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", JSON_POLICY.encode()),
    ]
    if hsts_seconds > 0:
        headers.append((b"strict-transport-security", f"max-age={hsts_seconds}".encode()))
    return headers


class SecurityHeaders:
    """ASGI middleware: adds `security_headers` a response does not already carry."""

    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0) -> None:
        self.app = app
        self._headers = security_headers(hsts_seconds=hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in added if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
