"""How errors reach the client: a code in `extensions.code`, unexpected ones masked."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

log = logging.getLogger("vitrine.graphql")

MASKED_MESSAGE = "Unexpected error."


def format_error(error: GraphQLError, *, default_code: str) -> dict[str, Any]:
    """The client's view of an error: codes for known errors, a fixed message otherwise."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if original is not None and "code" not in extensions and error.path is not None:
        log.error("unexpected error in %s", error.path, exc_info=original)
        message, extensions = MASKED_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"}
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
