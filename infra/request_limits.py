"""Bounds on one request: how many bytes it may send, and how long it may run.

Body: a declared `Content-Length` over the limit is refused before a byte is
read, and a chunked body is read only until it passes the limit, so a huge
body costs neither memory nor parsing.

Time: the handler runs under `asyncio.timeout`; on expiry its task is
cancelled and the client gets a 504. Work the handler started in other tasks
(DataLoader batches run in their own) would outlive that cancellation, so the
deadline is also published in a context variable, which those tasks inherit:
the read pool bounds each statement by it (see `statement_timeout`), so the
database stops working for a request nobody waits for any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from types import TracebackType

import orjson
from starlette.requests import Request
from starlette.responses import Response

TIMEOUT_STATUS = 504
TIMEOUT_CODE = "REQUEST_TIMEOUT"
# A statement outlives the request's deadline by this much, so that the
# request's own timeout, not the statement's, decides how the request ends.
STATEMENT_GRACE_S = 0.05

_deadline: ContextVar[float | None] = ContextVar("vitrine_request_deadline", default=None)


class BodyTooLargeError(Exception):
    """The request body is larger than the limit (`limit`, in bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


def declared_too_large(content_length: str | None, limit: int) -> bool:
    """Whether a `Content-Length` value announces more than `limit` bytes."""
    return content_length is not None and content_length.isdigit() and int(content_length) > limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLargeError as soon as it passes `limit` bytes."""
    if declared_too_large(request.headers.get("content-length"), limit):
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    # Later readers (`request.body()`) get the same bytes instead of a consumed stream.
    request._body = body
    return body


def statement_timeout() -> float | None:
    """Seconds a statement started now may run for the current request (None: no
    deadline; 0 or less: the request's time is up)."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return deadline + STATEMENT_GRACE_S - asyncio.get_running_loop().time()


class Deadline:
    """`async with Deadline(seconds)`: the block is cancelled at the deadline (then
    `expired` is true and TimeoutError propagates), and statements honour it."""

    __slots__ = ("_seconds", "_timeout", "_token")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def __aenter__(self) -> Deadline:
        when = asyncio.get_running_loop().time() + self._seconds
        self._token: Token[float | None] = _deadline.set(when)
        self._timeout = asyncio.timeout_at(when)
        await self._timeout.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _deadline.reset(self._token)
        await self._timeout.__aexit__(kind, error, traceback)  # TimeoutError if it expired

    @property
    def expired(self) -> bool:
        return self._timeout.expired()


def timeout_message(seconds: float) -> str:
    return f"the request took longer than {seconds:g} s and was stopped; try again"


def time_limited(
    handler: Callable[[Request], Awaitable[Response]], seconds: float
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that answers 504 REQUEST_TIMEOUT when `handler` runs too long."""

    async def limited(request: Request) -> Response:
        deadline = Deadline(seconds)
        try:
            async with deadline:
                return await handler(request)
        except TimeoutError:
            if not deadline.expired:
                raise
        body = {
            "errors": [{"message": timeout_message(seconds), "extensions": {"code": TIMEOUT_CODE}}]
        }
        return Response(orjson.dumps(body), TIMEOUT_STATUS, media_type="application/json")

    return limited
