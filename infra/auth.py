"""Bearer tokens: JWTs verified by a keyring, naming a customer (`sub`) and, optionally, roles.

A token picks its key by `kid` (`infra.auth_keys`: HS256 secrets for
rotation, RS256 public keys from a JWKS; no `kid` is the default secret),
and the key decides the algorithm. The claims are read by
`infra.auth_claims`. Every rejection raises `AuthenticationError` with a
message saying exactly what is wrong (naming a key id, never a secret), which
the /graphql endpoint returns as UNAUTHENTICATED.

Verifying costs ~40 us (HS256; RS256 more): `TokenVerifier` remembers the
tokens it verified, until they expire, in a bounded map, so a client that
sends the same token on every request pays a dictionary lookup (~1 us).
Only verified tokens enter it, so it cannot be filled by forgeries, and the
keys never change while the process runs, so a remembered answer stays right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt

from infra.auth_claims import (
    NO_RULES,
    ROLES,
    AuthenticationError,
    ClaimRules,
    Identity,
    check_roles,
    identity_from_claims,
)
from infra.auth_keys import HS256, Keyring, VerificationKey, build_keyring

__all__ = [
    "ROLES",
    "AuthenticationError",
    "ClaimRules",
    "Identity",
    "TokenVerifier",
    "decode_token",
    "mint_token",
]

# Far beyond any real token (a few hundred bytes); refused before anything is decoded.
MAX_TOKEN_CHARS = 8192
DEFAULT_CACHE_SIZE = 10_000

_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    # Checked by identity_from_claims, against `now`, with our own messages.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_aud": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


class TokenVerifier:
    """The identity of a bearer token, verified against `keyring` under `rules`.

    `cache_size` verified tokens are remembered until they expire (0: none);
    `clock` gives seconds since the epoch.
    """

    def __init__(
        self,
        keyring: Keyring,
        rules: ClaimRules = NO_RULES,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keyring = keyring
        self.rules = rules
        self._cache_size = cache_size
        self._clock = clock
        self._verified: dict[str, Identity] = {}

    @property
    def remembered(self) -> int:
        """How many verified tokens are remembered now."""
        return len(self._verified)

    def verify(self, token: str, *, now: float | None = None) -> Identity:
        """The identity `token` carries; AuthenticationError when it carries none."""
        moment = self._clock() if now is None else now
        known = self._verified.get(token)
        if known is not None:
            if moment < known.expires_at + self.rules.leeway:
                return known
            del self._verified[token]  # expired: verified again, for the message
        identity = self._verify(token, moment)
        if self._cache_size:
            if len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]  # the oldest goes
            self._verified[token] = identity
        return identity

    def _verify(self, token: str, now: float) -> Identity:
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationError(
                f"the token is {len(token)} characters long: at most {MAX_TOKEN_CHARS}"
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise AuthenticationError(
                "the token is malformed: expected a JWT (header.payload.signature in base64url)"
            ) from None
        except jwt.InvalidTokenError as exc:  # a `kid` that is not a string, a `crit` we lack
            raise AuthenticationError(f"the token's header is invalid: {exc}") from None
        key = self.keyring.key_for(header.get("alg"), header.get("kid"))
        try:
            claims = jwt.decode(
                token, key.material, algorithms=[key.algorithm], options=_DECODE_OPTIONS
            )
        except jwt.InvalidSignatureError:
            raise AuthenticationError(_signature_mismatch(key)) from None
        except jwt.DecodeError:
            raise AuthenticationError(
                "the token is malformed: its payload is not a JSON object of claims"
            ) from None
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"the token is invalid: {exc}") from None
        return identity_from_claims(claims, now, self.rules)


def _signature_mismatch(key: VerificationKey) -> str:
    if key.kid is None:
        return "the token's signature does not match: it was not signed with this server's secret"
    return f"the token's signature does not match: it was not signed with key {key.kid!r}"


def decode_token(
    token: str, secret: str, *, now: float | None = None, leeway: float = 0
) -> Identity:
    """The identity of an HS256 token signed with `secret` and no `kid` (tests, benchmarks).

    `now` is the current time in seconds since the epoch (the clock by
    default); `leeway` the seconds of clock skew tolerated on `exp` and `nbf`.
    """
    verifier = TokenVerifier(build_keyring(secret), ClaimRules(leeway=leeway), cache_size=0)
    return verifier.verify(token, now=now)


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    ttl_seconds: int,
    creator_id: str | None = None,
    now: float | None = None,
    kid: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token for development and tests; ValueError for what a verifier would refuse.

    It carries both spellings: `role` (the first role given) and `roles`, and
    `creator_id` and `creatorId` when there is a creator profile; `kid` in its
    header when given (a key of VITRINE_JWT_KEYS), `iss` and `aud` when given.
    """
    roles = list(dict.fromkeys(roles))
    if not sub:
        raise ValueError("sub: name the customer id the token speaks for")
    if not roles:
        raise ValueError("roles: name at least one role")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"roles: unknown role {unknown[0]!r} (known: {', '.join(ROLES)})")
    try:
        check_roles(frozenset(roles))
    except AuthenticationError:
        raise ValueError("roles: SERVICE is a machine's role and takes no other role") from None
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
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    headers = None if kid is None else {"kid": kid}
    return jwt.encode(claims, secret, algorithm=HS256, headers=headers)
