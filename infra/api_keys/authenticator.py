"""Who a service request comes from: the API key, then (when required) its signature.

Every way to fail authentication (no key, an unknown or revoked key, a
missing, malformed, stale or wrong signature, a replayed nonce) is the same
401 UNAUTHENTICATED with the same message, so a prober learns nothing about
which part was wrong; the server log says which. A valid key without the
endpoint's scope is 403 FORBIDDEN. Keys are looked up through a
`CachedKeyLookup` (key_cache.py), which says how fast a revocation lands.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from infra.api_keys.key_cache import KeyLookup
from infra.api_keys.keys import key_id_of, key_matches
from infra.api_keys.nonces import NonceStore
from infra.api_keys.signing import SIGNATURE_HEADERS, SignatureError, parse_signed_parts, verify

log = logging.getLogger("vitrine.api_keys")

UNAUTHENTICATED_MESSAGE = (
    "authentication failed: send `Authorization: Bearer <API key>` and, where the key or "
    "the endpoint requires it, a valid request signature (see docs/security.md)"
)


class ApiKeyRefusedError(Exception):
    """The request is refused; `reason` is for the server log, never the response."""

    def __init__(self, status: int, code: str, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Principal:
    """The service a verified key stands for."""

    key_id: str
    name: str
    scopes: frozenset[str]
    signing_secrets: tuple[str, ...]
    signing_required: bool


@dataclass(frozen=True, slots=True)
class BootstrapKey:
    """A key from the environment (VITRINE_SERVICE_TOKEN, VITRINE_ADMIN_TOKEN), not the table."""

    token: str
    principal: Principal


class ApiKeyAuthenticator:
    """`identify` the key of a request, then `verify_signature` over its body.

    `keys` is the table (through its cache), `bootstrap` the keys from the
    environment, `wall_clock` the time signatures are checked against.
    """

    def __init__(
        self,
        keys: KeyLookup,
        nonces: NonceStore,
        *,
        bootstrap: Sequence[BootstrapKey] = (),
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._nonces = nonces
        self._bootstrap = [(key.token.encode(), key.principal) for key in bootstrap]
        self._wall_clock = wall_clock

    async def identify(self, authorization: str | None, scope: str) -> Principal:
        """The principal of a valid `Bearer` key that has `scope`."""
        scheme, _, token = (authorization or "").partition(" ")
        presented = token.strip()
        if scheme.lower() != "bearer" or not presented:
            raise _unauthenticated("no `Authorization: Bearer <key>` header")
        principal = self._bootstrap_key(presented) or await self._stored_key(presented)
        if scope not in principal.scopes:
            log.warning("API key %s refused: it lacks the %s scope", principal.key_id, scope)
            raise ApiKeyRefusedError(
                403,
                "FORBIDDEN",
                f"this API key may not call this endpoint: it lacks the `{scope}` scope",
                f"key {principal.key_id} lacks the {scope} scope",
            )
        return principal

    async def verify_signature(
        self,
        principal: Principal,
        *,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Mapping[str, str],
        required: bool,
    ) -> None:
        """Check the signature when the endpoint or the key requires one, or one is sent."""
        if not (
            required
            or principal.signing_required
            or any(name in headers for name in SIGNATURE_HEADERS)
        ):
            return
        try:
            parts = parse_signed_parts(headers)
            verify(
                parts,
                principal.signing_secrets,
                method=method,
                path=path,
                query=query,
                body=body,
                now=self._wall_clock(),
            )
        except SignatureError as exc:
            raise _unauthenticated(f"signature: {exc}", principal.key_id) from None
        if not await self._nonces.claim(principal.key_id, parts.nonce):
            raise _unauthenticated(f"nonce {parts.nonce} replayed", principal.key_id)

    async def enabled(self, scope: str) -> bool:
        """Whether any key (from the environment or the table) could pass for `scope`."""
        if any(scope in principal.scopes for _, principal in self._bootstrap):
            return True
        try:
            return await self._keys.has_active(scope)
        except (SQLAlchemyError, OSError) as exc:
            raise _store_unavailable(exc) from exc

    def _bootstrap_key(self, presented: str) -> Principal | None:
        candidate = presented.encode()
        found = None
        for token, principal in self._bootstrap:
            if hmac.compare_digest(candidate, token):
                found = principal
        return found

    async def _stored_key(self, presented: str) -> Principal:
        key_id = key_id_of(presented)
        if key_id is None:
            raise _unauthenticated("not a known bootstrap token nor of the vk_<id>_<secret> shape")
        try:
            stored = await self._keys.find(key_id)
        except (SQLAlchemyError, OSError) as exc:
            raise _store_unavailable(exc) from exc
        if stored is None:
            raise _unauthenticated("no such key", key_id)
        if not key_matches(presented, stored.key_sha256):
            raise _unauthenticated("the key's secret part is wrong", key_id)
        if stored.revoked_at is not None:
            raise _unauthenticated(f"revoked at {stored.revoked_at.isoformat()}", key_id)
        await self._keys.touch(key_id)
        return Principal(
            key_id=stored.id,
            name=stored.name,
            scopes=frozenset(stored.scopes),
            signing_secrets=stored.signing_secrets,
            signing_required=stored.signing_required,
        )


def _unauthenticated(reason: str, key_id: str | None = None) -> ApiKeyRefusedError:
    log.warning("API key request refused (key %s): %s", key_id or "unknown", reason)
    return ApiKeyRefusedError(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE, reason)


def _store_unavailable(exc: BaseException) -> ApiKeyRefusedError:
    log.error("API key lookup failed: %r", exc)
    return ApiKeyRefusedError(
        503,
        "SERVICE_UNAVAILABLE",
        "API keys cannot be checked right now (the database is unreachable): retry shortly",
        f"lookup failed: {exc!r}",
    )
