"""What a verified token's claims say: who it speaks for, with which roles, until when.

Pure: a mapping of claims and the current time in, an `Identity` or an
`AuthenticationError` out. `sub` and `exp` are required. Roles come as
`role` (one role, the spelling creator tokens use) or `roles` (a list), or
both (then `role` must be one of `roles`); CUSTOMER when neither is given.
SERVICE is a machine's role and combines with no other, so a service token
can never pass a check meant for a customer, a creator or an admin. The
creator profile of a CREATOR is `creator_id` or `creatorId` (both must then
agree). `iss` and `aud` are checked when the server names its issuer and
audience. Expiry is checked here rather than by PyJWT, so tests need no real
waiting and the messages stay ours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ROLES = ("CUSTOMER", "CREATOR", "ADMIN", "SERVICE")
SERVICE = "SERVICE"
DEFAULT_ROLES = frozenset({"CUSTOMER"})
# The instants a datetime can hold (years 1970 to 9999): a claim outside them, or not
# finite (JSON parsers accept Infinity and NaN, and 1e400 overflows to infinity), is
# refused like any malformed claim rather than crashing the arithmetic.
LATEST_INSTANT = 253_402_300_799


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


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What the server requires of claims beyond `sub` and `exp`: an issuer and an
    audience (None: not checked), and the seconds of clock skew tolerated."""

    leeway: float = 0
    issuer: str | None = None
    audience: str | None = None


NO_RULES = ClaimRules()


def identity_from_claims(
    claims: Mapping[str, Any], now: float, rules: ClaimRules = NO_RULES
) -> Identity:
    """The identity verified claims carry at `now` (seconds since the epoch)."""
    sub = _required(claims, "sub")
    if not isinstance(sub, str) or not sub:
        raise AuthenticationError("the token's claim 'sub' must be a non-empty string")
    if "\x00" in sub:  # no customer id holds one: PostgreSQL cannot even store it
        raise AuthenticationError("the token's claim 'sub' holds a NUL character")
    expires_at = _instant(_required(claims, "exp"), "exp")
    if now >= expires_at + rules.leeway:
        raise AuthenticationError(f"the token expired at {_iso(expires_at)}")
    not_before = claims.get("nbf")
    if not_before is not None and now + rules.leeway < _instant(not_before, "nbf"):
        raise AuthenticationError(f"the token is not valid before {_iso(not_before)}")
    if rules.issuer is not None and _required(claims, "iss") != rules.issuer:
        raise AuthenticationError("the token's claim 'iss' names another issuer than this server's")
    if rules.audience is not None and not _names(_required(claims, "aud"), rules.audience):
        raise AuthenticationError("the token's claim 'aud' does not name this server's audience")
    return Identity(
        sub=sub,
        roles=_roles(claims.get("role"), claims.get("roles")),
        creator_id=_creator_id(claims.get("creator_id"), claims.get("creatorId")),
        expires_at=int(expires_at),
    )


def check_roles(roles: frozenset[str]) -> None:
    """SERVICE stands alone: a machine is never also a customer, creator or admin."""
    if SERVICE in roles and len(roles) > 1:
        raise AuthenticationError(
            "the token's roles combine SERVICE with other roles: "
            "a SERVICE token speaks for a machine and carries no other role"
        )


def _required(claims: Mapping[str, Any], name: str) -> Any:
    value = claims.get(name)
    if value is None:
        raise AuthenticationError(f"the token lacks the required claim {name!r}")
    return value


def _names(aud: Any, audience: str) -> bool:
    """RFC 7519 4.1.3: `aud` is one string or a list of them."""
    if isinstance(aud, str):
        return aud == audience
    return isinstance(aud, list) and audience in aud


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
    check_roles(found)
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
