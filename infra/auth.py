"""Bearer tokens: HS256 JWTs that name a customer (`sub`) and, optionally, roles.

Only HS256 is accepted, whatever the token's header says (`alg: none`, and
every asymmetric algorithm, which would let a public key pose as our secret,
are refused). `sub` and `exp` are required. Roles come as `role` (one role,
the spelling creator tokens use) or `roles` (a list), or both (then `role`
must be one of `roles`); CUSTOMER when neither is given. The creator profile
of a CREATOR is `creator_id` or `creatorId` (both must then agree). Tokens we
mint carry both spellings, so older and newer readers alike understand them.
Every rejection raises
`AuthenticationError` with a message saying exactly what is wrong, which the
/graphql endpoint returns as UNAUTHENTICATED.

Expiry is checked here against an injectable clock rather than by PyJWT, so
tests need no real waiting and the messages stay ours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

ALGORITHM = "HS256"
ROLES = ("CUSTOMER", "CREATOR", "ADMIN")
DEFAULT_ROLES = frozenset({"CUSTOMER"})
MIN_SECRET_BYTES = 32

_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    # Checked below, against `now`, with our own messages.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


class AuthenticationError(Exception):
    """A bearer token that identifies nobody; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token speaks for."""

    sub: str
    roles: frozenset[str]
    creator_id: str | None
    expires_at: int


def decode_token(
    token: str, secret: str, *, now: float | None = None, leeway: float = 0
) -> Identity:
    """The identity a token carries; AuthenticationError when it carries none.

    `now` is the current time in seconds since the epoch (the clock by
    default); `leeway` the seconds of clock skew tolerated on `exp` and `nbf`.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise AuthenticationError(
            "the token is malformed: expected a JWT (header.payload.signature in base64url)"
        ) from None
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        raise AuthenticationError(
            f"the token is signed with {algorithm!r}: only {ALGORITHM} tokens are accepted"
        )
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
    except jwt.InvalidSignatureError:
        raise AuthenticationError(
            "the token's signature does not match: it was not signed with this server's secret"
        ) from None
    except jwt.DecodeError:
        raise AuthenticationError(
            "the token is malformed: its payload is not a JSON object of claims"
        ) from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"the token is invalid: {exc}") from None
    return _identity(claims, time.time() if now is None else now, leeway)


def _identity(claims: Mapping[str, Any], now: float, leeway: float) -> Identity:
    sub = _required(claims, "sub")
    if not isinstance(sub, str) or not sub:
        raise AuthenticationError("the token's claim 'sub' must be a non-empty string")
    expires_at = _instant(_required(claims, "exp"), "exp")
    if now >= expires_at + leeway:
        raise AuthenticationError(f"the token expired at {_iso(expires_at)}")
    not_before = claims.get("nbf")
    if not_before is not None and now + leeway < _instant(not_before, "nbf"):
        raise AuthenticationError(f"the token is not valid before {_iso(not_before)}")
    return Identity(
        sub=sub,
        roles=_roles(claims.get("role"), claims.get("roles")),
        creator_id=_creator_id(claims.get("creator_id"), claims.get("creatorId")),
        expires_at=int(expires_at),
    )


def _required(claims: Mapping[str, Any], name: str) -> Any:
    value = claims.get(name)
    if value is None:
        raise AuthenticationError(f"the token lacks the required claim {name!r}")
    return value


# The instants a datetime can hold (years 1970 to 9999): a claim outside them, or not
# finite (JSON parsers accept Infinity and NaN, and 1e400 overflows to infinity), is
# refused like any malformed claim rather than crashing the arithmetic.
LATEST_INSTANT = 253_402_300_799


def _instant(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= LATEST_INSTANT
    ):
        raise AuthenticationError(
            f"the token's claim {name!r} must be a number of seconds since the epoch"
        )
    return float(value)


def _roles(role: Any, roles: Any) -> frozenset[str]:
    if role is None and roles is None:
        return DEFAULT_ROLES
    found: frozenset[str] = frozenset()
    if roles is not None:
        if not isinstance(roles, list) or not roles:
            raise AuthenticationError("the token's claim 'roles' must be a non-empty list of roles")
        for name in roles:
            _known_role(name, "roles")
        found = frozenset(roles)
    if role is not None:
        if not isinstance(role, str):
            raise AuthenticationError("the token's claim 'role' must be a role name")
        _known_role(role, "role")
        if roles is not None and role not in found:
            raise AuthenticationError(
                f"the token's claim 'role' ({role!r}) is not one of its claim 'roles'"
            )
        found = found | {role}
    return found


def _known_role(role: Any, claim: str) -> None:
    if role not in ROLES:
        raise AuthenticationError(
            f"the token's claim {claim!r} names an unknown role {role!r} "
            f"(known: {', '.join(ROLES)})"
        )


def _creator_id(snake: Any, camel: Any) -> str | None:
    for name, value in (("creator_id", snake), ("creatorId", camel)):
        if value is not None and (not isinstance(value, str) or not value):
            raise AuthenticationError(f"the token's claim {name!r} must be a non-empty string")
    if snake is not None and camel is not None and snake != camel:
        raise AuthenticationError("the token's claims 'creator_id' and 'creatorId' disagree")
    creator_id: str | None = snake if snake is not None else camel
    return creator_id


def _iso(seconds: Any) -> str:
    return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    ttl_seconds: int,
    creator_id: str | None = None,
    now: float | None = None,
) -> str:
    """A signed token for development and tests; ValueError for what `decode_token` would refuse.

    It carries both spellings: `role` (the first role given) and `roles`, and
    `creator_id` and `creatorId` when there is a creator profile.
    """
    roles = list(dict.fromkeys(roles))
    if not sub:
        raise ValueError("sub: name the customer id the token speaks for")
    if not roles:
        raise ValueError("roles: name at least one role")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"roles: unknown role {unknown[0]!r} (known: {', '.join(ROLES)})")
    if ttl_seconds <= 0:
        raise ValueError("ttl: must be a positive number of seconds")
    if creator_id is not None and not creator_id:
        raise ValueError("creator id: must not be empty")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": sub,
        "role": roles[0],
        "roles": roles,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    if creator_id is not None:
        claims["creator_id"] = creator_id
        claims["creatorId"] = creator_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
