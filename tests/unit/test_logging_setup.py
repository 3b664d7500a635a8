"""The log processors and formats (infra/logging_setup.py, infra/access_log.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from infra.access_log import OPERATION_KEY, VIEWER_ROLES_KEY, access_fields, log_access
from infra.logging_setup import add_trace_ids, configure_logging, wants_json


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging configured as JSON into a buffer; the previous root setup restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("json", "INFO", stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_trace_ids_are_added_when_a_span_is_current() -> None:
    """Within a recording span the event gets its trace and span ids as 32 and 16 hex digits."""
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("op") as span:
        context = span.get_span_context()
        event = add_trace_ids(None, "info", {"event": "x"})
    assert event == {
        "event": "x",
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
    }
    assert len(event["trace_id"]) == 32
    assert len(event["span_id"]) == 16


def test_trace_ids_are_absent_without_a_span() -> None:
    """Outside any span (the invalid context) the event is left as it was."""
    assert add_trace_ids(None, "info", {"event": "x"}) == {"event": "x"}


def test_stdlib_line_is_json_with_request_id_and_trace(captured: io.StringIO) -> None:
    """A standard-library record becomes one JSON line with the bound request id and trace ids."""
    tracer = TracerProvider().get_tracer("test")
    structlog.contextvars.bind_contextvars(request_id="req-1")
    with tracer.start_as_current_span("op") as span:
        logging.getLogger("vitrine.test").warning("hello %s", "world")
        context = span.get_span_context()
    (line,) = lines(captured)
    assert set(line) == {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "trace_id",
        "span_id",
    }
    assert line["event"] == "hello world"
    assert line["level"] == "warning"
    assert line["logger"] == "vitrine.test"
    assert line["request_id"] == "req-1"
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert line["timestamp"].endswith("Z")


def test_exception_traceback_is_in_the_line(captured: io.StringIO) -> None:
    """An exception logged with exc_info carries its traceback in `exception`."""
    try:
        raise ValueError("broken")
    except ValueError as error:
        logging.getLogger("vitrine.errors").error("failed", exc_info=error)
    (line,) = lines(captured)
    assert line["event"] == "failed"
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert line["exception"].endswith("ValueError: broken")
    assert "request_id" not in line


def test_access_line_fields(captured: io.StringIO) -> None:
    """The access line holds the request, the operation, the roles, the cache status and the id."""
    structlog.contextvars.bind_contextvars(request_id="req-2")
    scope = {
        "method": "POST",
        "path": "/graphql",
        OPERATION_KEY: ("query", "ProductPage"),
        VIEWER_ROLES_KEY: frozenset({"CREATOR", "CUSTOMER"}),
    }
    log_access(scope, 200, [(b"vitrine-cache", b"HIT-L1")], 0.0)
    (line,) = lines(captured)
    assert line["logger"] == "vitrine.access"
    assert line["level"] == "info"
    assert line["event"] == "POST /graphql 200"
    assert line["request_id"] == "req-2"
    assert line["operation_type"] == "query"
    assert line["operation_name"] == "ProductPage"
    assert line["viewer_roles"] == ["CREATOR", "CUSTOMER"]
    assert line["cache"] == "HIT-L1"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)


def test_access_fields_of_a_plain_route() -> None:
    """A route that is not GraphQL gets method, path, status and duration only."""
    fields = access_fields({"method": "GET", "path": "/healthz"}, 200, [], 0.0)
    assert set(fields) == {"method", "path", "status", "duration_ms"}
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/healthz", 200)


def test_access_line_is_skipped_below_its_level(captured: io.StringIO) -> None:
    """At VITRINE_LOG_LEVEL=WARNING no access line is written."""
    configure_logging("json", "WARNING", captured)
    log_access({"method": "GET", "path": "/healthz"}, 200, [], 0.0)
    assert captured.getvalue() == ""


@pytest.mark.parametrize(
    ("log_format", "tty", "expected"),
    [("auto", False, True), ("auto", True, False), ("json", True, True), ("console", False, False)],
)
def test_format_choice(log_format: Any, tty: bool, expected: bool) -> None:
    """auto is JSON unless stdout is a terminal; json and console are taken as asked."""

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert wants_json(log_format, Stream()) is expected


async def test_request_ids_binds_the_id_for_the_request(captured: io.StringIO) -> None:
    """Every line logged while RequestIds answers carries the request's id; the access line too."""
    import httpx
    from starlette.types import Receive, Scope, Send

    from infra.request_ids import RequestIds

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logging.getLogger("vitrine.test").info("inside")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=RequestIds(app, access_log=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/thing", headers={"X-Request-Id": "req-3"})
    logging.getLogger("vitrine.test").info("after")
    inside, access, after = [line for line in lines(captured) if line["logger"] != "httpx"]
    assert response.status_code == 204
    assert inside["request_id"] == "req-3"
    assert (access["logger"], access["status"], access["request_id"]) == (
        "vitrine.access",
        204,
        "req-3",
    )
    assert "request_id" not in after
