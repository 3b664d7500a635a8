"""How errors reach the client: a code in `extensions.code`, unexpected ones masked.

An unexpected error (a resolver that raised something without a code) shows
the client a fixed message and the request's id, nothing of the exception;
the log has the detail under that id (see `infra.request_ids`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from opentelemetry.trace import Span

from infra.request_ids import (
    INTERNAL_ERROR,
    MASKED_MESSAGE,
    current_request_id,
    log_unexpected,
    masked_entry,
)
from infra.span_errors import record_error

__all__ = ["MASKED_MESSAGE", "error_entry", "format_error", "masked_entry", "record_unexpected"]


def _is_unexpected(error: GraphQLError) -> bool:
    """A field's resolver raised something that says nothing to the client (no code)."""
    return (
        error.original_error is not None
        and error.path is not None
        and "code" not in (error.extensions or {})
    )


def record_unexpected(span: Span, errors: Iterable[GraphQLError]) -> None:
    """Record the unexpected errors of a result on the request's (recording) span, once
    each, without a driver message's values (`infra.span_errors`): `format_error` only
    logs them."""
    for error in errors:
        if _is_unexpected(error) and error.original_error is not None:
            attributes = {
                "graphql.path": str(error.path),
                "vitrine.request_id": current_request_id() or "",
            }
            record_error(span, error.original_error, attributes=attributes)


def format_error(error: GraphQLError, *, default_code: str) -> dict[str, Any]:
    """The client's view of an error: codes for known errors, a fixed message otherwise."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if original is not None and _is_unexpected(error):
        request_id = log_unexpected(original, f"in {error.path}")  # on the span already
        message, extensions = MASKED_MESSAGE, {"code": INTERNAL_ERROR}
        if request_id is not None:
            extensions["requestId"] = request_id
    extensions.setdefault("code", default_code)
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    formatted["extensions"] = extensions
    return formatted


def error_entry(message: str, code: str) -> dict[str, Any]:
    """One error of the response, for errors that are not GraphQLErrors (request errors)."""
    return {"message": message, "extensions": {"code": code}}
