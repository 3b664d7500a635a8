"""Request ids: every request gets one, the client sees it, the log line carries it.

An unexpected error reaches the client as a fixed message and the request's
id; the server log holds the exception and its traceback under the same id
(and the current span records it, when one is recording). The client learns
nothing about the server, yet what it reports leads straight to the detail.

A sane incoming `X-Request-Id` (a proxy's or a client's: bounded, of a safe
alphabet, so it cannot forge log lines) is kept, so one id follows a request
across hops; anything else is replaced by a fresh one.

`RequestIds` is also the last line of defence for every route: an exception
nothing else handled is logged with the id and answered as a JSON 500, never
as a traceback or Starlette's plain-text page.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.access_log import log_access
from infra.span_errors import record_error

log = logging.getLogger("vitrine.errors")

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128
MASKED_MESSAGE = "Unexpected error."
INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"

_HEADER = REQUEST_ID_HEADER.encode()
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:=+/-]{1,%d}" % MAX_REQUEST_ID_LENGTH)
_current: ContextVar[str | None] = ContextVar("vitrine_request_id", default=None)


def new_request_id() -> str:
    """32 hex digits of randomness: unique across replicas without coordination."""
    return os.urandom(16).hex()


def accepted_request_id(raw: bytes | None) -> str:
    """The incoming id if it is sane, else a new one."""
    if raw is not None and _SAFE_ID.fullmatch(raw):
        return raw.decode("ascii")
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one)."""
    return _current.get()


def masked_entry(request_id: str | None) -> dict[str, Any]:
    """The client's whole view of an unexpected error."""
    extensions: dict[str, Any] = {"code": INTERNAL_ERROR}
    if request_id is not None:
        extensions["requestId"] = request_id
    return {"message": MASKED_MESSAGE, "extensions": extensions}


def log_unexpected(error: BaseException, where: str) -> str | None:
    """Log `error` with its traceback and the request's id; returns the id, for the
    masked answer. For an error already on the request's span (`report_unexpected`
    records it there as well)."""
    request_id = _current.get()
    log.error(
        "unexpected error %s (request id %s)",
        where,
        request_id,
        exc_info=error,
        extra={"request_id": request_id},
    )
    return request_id


def report_unexpected(error: BaseException, where: str) -> str | None:
    """`log_unexpected`, and `error` recorded on the current span (without a driver
    message's values: `infra.span_errors`); returns the id, for the masked answer."""
    request_id = log_unexpected(error, where)
    span = trace.get_current_span()
    if span.is_recording():
        record_error(span, error, attributes={"vitrine.request_id": request_id or ""})
    return request_id


class RequestIds:
    """ASGI middleware: assigns the request id, returns it in `X-Request-Id`, binds it
    to the log context (every line of the request carries it), answers any exception
    that escaped the app with a masked JSON 500, and writes the access line."""

    def __init__(
        self,
        app: ASGIApp,
        access_log: bool = False,
        metrics: Callable[[Scope, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics  # (scope, status, seconds), once per answered request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                incoming = value
                break
        request_id = accepted_request_id(incoming)
        header = (_HEADER, request_id.encode("ascii"))
        started = False
        began = time.perf_counter()
        response_start: Message | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal started, response_start
            if message["type"] == "http.response.start":
                started = True
                response_start = message
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = _current.set(request_id)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            pass  # nobody is left to answer
        except Exception as error:
            report_unexpected(error, f"answering {scope['method']} {scope['path']}")
            if not started:
                # Once a response started, nothing can replace it: the server closes
                # the connection on the incomplete response.
                await _send_masked(send_with_id, request_id)
        finally:
            # No response started: the client left first (nginx's 499).
            status = 499 if response_start is None else response_start["status"]
            if self.metrics is not None:
                self.metrics(scope, status, time.perf_counter() - began)
            if self.access_log:
                headers = () if response_start is None else response_start["headers"]
                log_access(scope, status, headers, began)
            structlog.contextvars.reset_contextvars(**bound)
            _current.reset(token)


async def _send_masked(send: Send, request_id: str) -> None:
    body = orjson.dumps({"errors": [masked_entry(request_id)]})
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
