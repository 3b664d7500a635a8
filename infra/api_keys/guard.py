"""One endpoint's API-key check over a Starlette request: scope, signatures, body limit.

Two steps, so that an endpoint can act between them (a rate limit per key,
before any of the body is read): `identify` looks at the headers only;
`read_verified_body` reads the body within `max_bytes` and checks its
signature. `__call__` does both, for endpoints with nothing in between.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from infra.api_keys.authenticator import ApiKeyAuthenticator, ApiKeyRefusedError, Principal
from infra.request_limits import BodyTooLargeError, read_body


class ApiKeyGuard:
    """`scope` the endpoint needs; `signing_required` makes every request sign (/events).

    `disabled`, a (code, message) pair, turns a 401 into that 403 while no key
    at all has the scope, so an endpoint nobody was given access to says it is
    off rather than that the caller's key is wrong.
    """

    def __init__(
        self,
        authenticator: ApiKeyAuthenticator,
        *,
        scope: str,
        signing_required: bool,
        max_bytes: int,
        disabled: tuple[str, str] | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._scope = scope
        self._signing_required = signing_required
        self._max_bytes = max_bytes
        self._disabled = disabled

    async def identify(self, request: Request) -> Principal:
        try:
            return await self._authenticator.identify(
                request.headers.get("authorization"), self._scope
            )
        except ApiKeyRefusedError as exc:
            if (
                exc.status == 401
                and self._disabled is not None
                and not await self._authenticator.enabled(self._scope)
            ):
                code, message = self._disabled
                raise ApiKeyRefusedError(403, code, message, exc.reason) from None
            raise

    async def read_verified_body(self, request: Request, principal: Principal) -> bytes:
        """The raw body (at most `max_bytes`, else 413), its signature checked."""
        too_large = ApiKeyRefusedError(
            413,
            "PAYLOAD_TOO_LARGE",
            f"at most {self._max_bytes} bytes per request",
            "body too large",
        )
        try:
            # Stops reading as soon as the body passes the limit, chunked or not.
            body = await read_body(request, self._max_bytes)
        except BodyTooLargeError:
            raise too_large from None
        raw_path = request.scope.get("raw_path")
        await self._authenticator.verify_signature(
            principal,
            method=request.method,
            path=raw_path.decode("latin-1") if raw_path else request.url.path,
            query=request.scope.get("query_string", b"").decode("latin-1"),
            body=body,
            headers=request.headers,
            required=self._signing_required,
        )
        return body

    async def __call__(self, request: Request) -> Response | None:
        """None lets the request through; otherwise the refusal to send."""
        try:
            principal = await self.identify(request)
            await self.read_verified_body(request, principal)
        except ApiKeyRefusedError as exc:
            return refusal(exc)
        return None


def refusal(error: ApiKeyRefusedError) -> Response:
    """The JSON error response of a refused request (`WWW-Authenticate` on a 401)."""
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return Response(orjson.dumps(body), error.status, headers, media_type="application/json")
