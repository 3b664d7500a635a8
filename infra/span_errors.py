"""Errors on spans without the values they quote.

A database driver's message often repeats what it was given (asyncpg's
`invalid input for query argument $1: 'jane@example.com'`, PostgreSQL's
`invalid input syntax for type integer: "..."`), and a span goes to a tracing
backend that keeps no secrets: statements are recorded without values, so
their errors must be too. A driver error (asyncpg's, or any exception with a
PostgreSQL SQLSTATE) is therefore described by its SQLSTATE, else its type
name, in the span's status, in the exception event's `exception.message`, and
in its `exception.stacktrace` (frames and types, the chain included, without
the driver's messages). Other exceptions (ours: fixed messages) are recorded
as the SDK records them, but the status description is their type name all
the same: a status is for grouping, the event has the detail.
"""

from __future__ import annotations

import traceback

from opentelemetry.trace import Span, Status, StatusCode

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def is_driver_error(error: BaseException) -> bool:
    """An exception raised by the database driver (its message may quote values)."""
    return isinstance(getattr(error, "sqlstate", None), str) or type(error).__module__.startswith(
        "asyncpg"
    )


def error_description(error: BaseException) -> str:
    """What a span's status says of `error`: the SQLSTATE of a driver error that has one,
    else the exception's type name (never its message)."""
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and is_driver_error(error):
        return sqlstate
    return type(error).__name__


def record_error(span: Span, error: BaseException) -> None:
    """`error` on `span`: an exception event (an Exception only: a cancellation has no
    stack worth keeping) and ERROR with `error_description`."""
    if isinstance(error, Exception):
        chain = _chain(error)
        if any(is_driver_error(link) for link in chain):
            span.record_exception(
                error,
                attributes={
                    "exception.message": _safe_message(error),
                    "exception.stacktrace": _safe_stacktrace(chain),
                },
            )
        else:
            span.record_exception(error)
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
