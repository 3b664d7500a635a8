"""Reading a GraphQL-over-HTTP request: body or GET parameters, headers, request errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from infra.media_types import JSON, content_charset, media_type_essence
from infra.request_limits import BodyTooLargeError, read_body

MIN_POSITION_HEADER = "vitrine-min-position"


class RequestError(Exception):
    """A request that cannot be executed at all: an HTTP status and one GraphQL error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """One operation request. `query` may be absent when the document is persisted
    (`documentId`, or `extensions.persistedQuery` for Apollo's APQ)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None = None
    document_id: str | None = None


def parse_graphql_request(payload: Any) -> GraphQLRequest:
    """Check the shape of a GraphQL-over-HTTP request body or GET parameters."""
    if isinstance(payload, list):
        raise RequestError(400, "BATCHING_NOT_SUPPORTED", "send one operation per request")
    if not isinstance(payload, dict):
        raise RequestError(400, "BAD_REQUEST", "the body must be a JSON object")
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        # Any string is well-formed: one that does not parse is a GraphQL error, not an HTTP one.
        raise RequestError(400, "BAD_REQUEST", "`query` must be a string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "BAD_REQUEST", "`variables` must be an object")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "BAD_REQUEST", "`operationName` must be a string")
    extensions = payload.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "BAD_REQUEST", "`extensions` must be an object")
    document_id = payload.get("documentId")
    if document_id is not None and (not isinstance(document_id, str) or not document_id):
        raise RequestError(400, "BAD_REQUEST", "`documentId` must be a non-empty string")
    return GraphQLRequest(query, variables, operation_name or None, extensions, document_id)


def get_payload(params: Mapping[str, str]) -> dict[str, Any]:
    """GET parameters as a request payload (`variables` and `extensions` are JSON)."""
    payload: dict[str, Any] = dict(params)
    for name in ("variables", "extensions"):
        if name in payload:
            payload[name] = _json_param(payload[name], name)
    return payload


def parse_min_position(headers: Mapping[str, str]) -> int | None:
    raw = headers.get(MIN_POSITION_HEADER)
    if raw is None:
        return None
    # ASCII digits only: str.isdigit() also says yes to "²" (a latin-1 header byte), which
    # int() refuses.
    if not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 18:
        raise RequestError(
            400, "INVALID_HEADER", "Vitrine-Min-Position: must be a non-negative integer"
        )
    return int(raw)


def payload_too_large(limit: int) -> RequestError:
    """413 for a body over `limit` bytes (VITRINE_MAX_BODY_BYTES)."""
    return RequestError(
        413,
        "PAYLOAD_TOO_LARGE",
        f"the body is larger than {limit} bytes, the most this server accepts",
    )


def _json_param(raw: str, name: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, "BAD_REQUEST", f"`{name}` must be JSON") from None


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """A POST body: JSON in UTF-8 and nothing else (415 otherwise, 400 if it does not parse,
    413 past `max_bytes`, found before the rest is read)."""
    content_type = request.headers.get("content-type")
    if content_type is None or media_type_essence(content_type) != JSON:
        raise RequestError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as JSON, with Content-Type: application/json",
        )
    charset = content_charset(content_type)
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise RequestError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body encoded in UTF-8")
    try:
        body = await read_body(request, max_bytes)
    except BodyTooLargeError as exc:
        raise payload_too_large(exc.limit) from None
    if not body:
        raise RequestError(400, "INVALID_JSON", "the body is empty: send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "INVALID_JSON", "the body is not valid JSON") from None
