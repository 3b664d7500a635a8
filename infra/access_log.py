"""The access line: one `vitrine.access` record per HTTP request, written when it ends.

`RequestIds` (the outermost middleware that sees every answer, the masked 500s
included) calls `log_access` with the status it sent; the GraphQL endpoint
leaves what it learned on the way (operation type and name, the viewer's
roles, its server span's ids when that span recorded) in the ASGI scope,
and the cache status is read from the response's `Vitrine-Cache` header, so
no layer has to know about this one.

It runs on the hot path: nothing is computed unless the line is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import Scope

log = logging.getLogger("vitrine.access")

# Scope entries the GraphQL endpoint fills in for the access line.
OPERATION_KEY = "vitrine.operation"  # (operation type, operation name or None)
VIEWER_ROLES_KEY = "vitrine.viewer_roles"  # the authenticated viewer's roles
# The SpanContext of the request's server span, when it recorded: the span has ended
# (and is no longer current) by the time the line is written.
SPAN_KEY = "vitrine.span"
_CACHE_HEADER = b"vitrine-cache"


def access_fields(
    scope: Scope, status: int, headers: Iterable[tuple[bytes, bytes]], started: float
) -> dict[str, Any]:
    """The access line's fields (request_id comes from the bound context)."""
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    operation = scope.get(OPERATION_KEY)
    if operation is not None:
        fields["operation_type"], fields["operation_name"] = operation
    roles = scope.get(VIEWER_ROLES_KEY)
    if roles is not None:
        fields["viewer_roles"] = sorted(roles)
    span = scope.get(SPAN_KEY)
    if span is not None:
        fields["trace_id"] = format(span.trace_id, "032x")
        fields["span_id"] = format(span.span_id, "016x")
    for name, value in headers:
        if name == _CACHE_HEADER:
            fields["cache"] = value.decode("latin-1")
            break
    return fields


def log_access(
    scope: Scope, status: int, headers: Iterable[tuple[bytes, bytes]], started: float
) -> None:
    """Write the access line, if INFO is on for `vitrine.access`."""
    if not log.isEnabledFor(logging.INFO):
        return
    fields = access_fields(scope, status, headers, started)
    log.info("%s %s %d", fields["method"], fields["path"], status, extra=fields)
