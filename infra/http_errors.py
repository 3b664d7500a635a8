"""Starlette's own refusals in the error shape of every other answer.

The router answers a path nobody serves (404) and a method a route does not
take (405) by itself, in plain text. Everything else Vitrine answers is JSON
with a machine-readable `extensions.code`, so clients (and attackers probing
/events or /admin with odd methods) get that shape here too, headers such as
`Allow` kept.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

MESSAGES = {
    404: "nothing is served at this path",
    405: "this path does not answer this method (see Allow)",
}


async def http_error_response(request: Request, error: Exception) -> Response:
    """An HTTPException as `{"errors": [{"message", "extensions": {"code"}}]}`; the code is
    the status's name (NOT_FOUND, METHOD_NOT_ALLOWED...)."""
    assert isinstance(error, HTTPException)
    status = error.status_code
    try:
        code = HTTPStatus(status).name
    except ValueError:
        code = "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR"
    message = MESSAGES.get(status) or str(error.detail)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        orjson.dumps(body),
        status,
        headers=dict(error.headers or {}),
        media_type="application/json",
    )
