"""Logs: one format for every line, JSON for machines and colours for people.

The codebase logs through the standard library (`logging.getLogger(...)`);
`configure_logging` routes those records, uvicorn's included, through
structlog's `ProcessorFormatter`, so every line (tracebacks too) comes out the
same way and carries the request's id and, when a span is current, its trace
and span ids: a log line leads to its trace, a client's report to its lines.

JSON lines when stdout is not a terminal (a deployment, a test server) or when
asked; structlog's console rendering at a terminal. Called once at start-up, by
`vitrine serve` and by the ASGI app factory.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import orjson
import structlog
from opentelemetry import trace

LogFormat = Literal["auto", "json", "console"]
# Their own handlers are dropped: their records reach the root handler, in our format.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def add_trace_ids(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """`trace_id` and `span_id` (32 and 16 hex digits) of the current span, if valid."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _json_serializer(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=repr).decode()


def shared_processors() -> list[Any]:
    """What every line gets, from structlog or the standard library alike."""
    return [
        structlog.contextvars.merge_contextvars,  # request_id, bound per request
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def wants_json(log_format: LogFormat, stream: TextIO) -> bool:
    """JSON unless asked for the console, or left to `auto` at a terminal."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def formatter(json: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_serializer)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.format_exc_info)  # the console renders its own
    final.append(renderer)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=final,
    )


def configure_logging(
    log_format: LogFormat = "auto", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route all logging to `stream` (stdout) in one format; idempotent."""
    out = sys.stdout if stream is None else stream
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(wants_json(log_format, out)))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    structlog.configure(
        processors=[
            *shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
