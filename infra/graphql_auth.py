"""The viewer's bearer token at /graphql: a header that identifies nobody is a 401,
never an anonymous request."""

from __future__ import annotations

from infra.auth import AuthenticationError, Identity, TokenVerifier
from infra.graphql_request import RequestError

# RFC 6750, section 3: how a refused bearer token is announced.
INVALID_TOKEN_HEADERS = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def unauthenticated(message: str) -> RequestError:
    """A request whose Authorization header identifies nobody: 401, never anonymous."""
    return RequestError(401, "UNAUTHENTICATED", message, headers=INVALID_TOKEN_HEADERS)


def authenticate(
    authorization: str, verifier: TokenVerifier, *, now: float | None = None
) -> Identity:
    """The identity of an `Authorization: Bearer <jwt>` header value, or UNAUTHENTICATED."""
    scheme, _, token = authorization.strip().partition(" ")
    if not scheme:
        raise unauthenticated(
            "the Authorization header is empty: send `Bearer <token>`, or no header at all"
        )
    if scheme.lower() != "bearer":
        # The value is not echoed: it may be a credential meant for someone else.
        raise unauthenticated("the Authorization header must be `Bearer <token>`")
    token = token.strip()
    if not token:
        raise unauthenticated("the Authorization header has no token after `Bearer`")
    try:
        return verifier.verify(token, now=now)
    except AuthenticationError as exc:
        raise unauthenticated(exc.message) from None
