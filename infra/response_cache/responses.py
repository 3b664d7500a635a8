"""HTTP responses around cached data: the body spliced from cached bytes, and 304s.

A cached entry keeps the serialized `data` only; each response wraps it with
its own `extensions` (read-model position, waits), so serving a hit costs a
concatenation rather than a serialization of the whole answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def compose_body(data: bytes, extensions: Mapping[str, Any]) -> bytes:
    """`{"data": <data>, "extensions": ...}` from the serialized data."""
    return b'{"data":' + data + b',"extensions":' + orjson.dumps(extensions) + b"}"


def json_bytes_response(content: bytes, media_type: str, headers: Mapping[str, str]) -> Response:
    """A 200 with an already serialized JSON body in `media_type` (UTF-8)."""
    return Response(content, 200, dict(headers), media_type=f"{media_type}; charset=utf-8")


def not_modified_response(headers: Mapping[str, str]) -> Response:
    """304 Not Modified: the validators and caching headers, no body (RFC 9110 15.4.5)."""
    return Response(status_code=304, headers=dict(headers))
