"""The shapes of /graphql's own answers: a JSON body in the negotiated media type,
`no-store` unless told otherwise, request errors and the masked 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from infra.graphql_errors import error_entry
from infra.graphql_request import RequestError
from infra.media_types import GRAPHQL_RESPONSE_JSON
from infra.request_ids import masked_entry, report_unexpected

NOT_CACHEABLE = "no-store"


def graphql_response(
    body: dict[str, Any],
    media_type: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON response in `media_type`, UTF-8, `no-store` unless `headers` say otherwise."""
    merged = {"cache-control": NOT_CACHEABLE}
    if headers:
        merged.update((name.lower(), value) for name, value in headers.items())
    return Response(orjson.dumps(body), status, merged, media_type=f"{media_type}; charset=utf-8")


def error_response(error: RequestError, media_type: str) -> Response:
    return graphql_response(
        {"errors": [error_entry(error.message, error.code)]},
        media_type,
        error.status,
        error.headers,
    )


def request_errors_response(errors: list[dict[str, Any]], media_type: str) -> Response:
    """GraphQL request errors (parse, validation, operation, variables): nothing ran, so
    no `data`; 400 under graphql-response+json, 200 under legacy application/json."""
    status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
    return graphql_response({"errors": errors}, media_type, status)


def unexpected_response(error: Exception, request: Request, media_type: str) -> Response:
    """500 with the fixed message and the request id; the detail goes to the log."""
    request_id = report_unexpected(error, f"answering {request.method} /graphql")
    return graphql_response({"errors": [masked_entry(request_id)]}, media_type, 500)
