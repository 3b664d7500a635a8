"""Errors on spans without the values they quote.

A database driver's message often repeats what it was given (asyncpg's
`invalid input for query argument $1: 'jane@example.com'`, PostgreSQL's
`invalid input syntax for type integer: "..."`), and a span goes to a tracing
backend that keeps no secrets: statements are recorded without values, so
their errors must be too. A driver error (asyncpg's, or any exception with a
PostgreSQL SQLSTATE, or SQLAlchemy's wrapper of one, whose message lists the
statement's parameters) is therefore described by its SQLSTATE, else its type
name, in the span's status, in the exception event's `exception.message`, and
in its `exception.stacktrace` (frames and types, the chain included, without
the driver's messages). Other exceptions (ours: fixed messages) are recorded
as the SDK records them, but the status description is their type name all
the same: a status is for grouping, the event has the detail.
"""

from __future__ import annotations

import traceback

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import Attributes
from sqlalchemy.exc import StatementError

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def is_driver_error(error: BaseException) -> bool:
    """An exception raised by the database driver, or wrapping one (its message may quote
    values): asyncpg's, anything with a SQLSTATE, SQLAlchemy's DBAPI adapters' errors and
    its `StatementError`s (`[SQL: ...] [parameters: (...)]` in their message)."""
    if isinstance(error, StatementError) or isinstance(_sqlstate(error), str):
        return True
    module = type(error).__module__
    if module.startswith(("asyncpg", "sqlalchemy.dialects.")):
        return True
    orig = getattr(error, "orig", None)
    return isinstance(orig, BaseException) and orig is not error and is_driver_error(orig)


def _sqlstate(error: BaseException) -> object:
    """The SQLSTATE a driver error carries (asyncpg: `sqlstate`, SQLAlchemy's adapter also
    `pgcode`), None when it has none."""
    return getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)


def error_description(error: BaseException) -> str:
    """What a span's status says of `error`: the SQLSTATE of a driver error that has one
    (a wrapper's from the error it wraps), else the exception's type name (never its
    message)."""
    if is_driver_error(error):
        for link in (error, getattr(error, "orig", None)):
            sqlstate = None if link is None else _sqlstate(link)
            if isinstance(sqlstate, str):
                return sqlstate
    return type(error).__name__


def record_error(
    span: Span,
    error: BaseException,
    *,
    attributes: Attributes = None,
    timestamp: int | None = None,
) -> None:
    """`error` on `span`: an exception event (an Exception only: a cancellation has no
    stack worth keeping) with `attributes` added, at `timestamp` (ns; now when None), and
    ERROR with `error_description`."""
    if isinstance(error, Exception):
        chain = _chain(error)
        event_attributes = dict(attributes or {})
        if any(is_driver_error(link) for link in chain):
            event_attributes["exception.message"] = _safe_message(error)
            event_attributes["exception.stacktrace"] = _safe_stacktrace(chain)
        span.record_exception(error, attributes=event_attributes or None, timestamp=timestamp)
    span.set_status(Status(StatusCode.ERROR, error_description(error)))


def _safe_message(error: BaseException) -> str:
    return error_description(error) if is_driver_error(error) else str(error)


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from or while handling, newest first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        current = cause
    return chain


def _safe_stacktrace(chain: list[BaseException]) -> str:
    """As `traceback.format_exception` lays a chain out, a driver error's message replaced."""
    parts: list[str] = []
    for index, error in enumerate(reversed(chain)):
        if index:
            parts.append(_CAUSE if error.__cause__ is not None else _CONTEXT)
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(error.__traceback__))
        module = type(error).__module__
        name = type(error).__qualname__
        qualified = name if module in ("builtins", "__main__") else f"{module}.{name}"
        parts.append(f"{qualified}: {_safe_message(error)}\n")
    return "".join(parts)
