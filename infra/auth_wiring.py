"""The viewer-token verifier the settings describe, built once at start-up.

Keys come from three places: VITRINE_JWT_SECRET (the default HS256 key, for
tokens without a `kid`), VITRINE_JWT_KEYS (HS256 keys by kid, for rotation)
and VITRINE_JWT_JWKS_FILE (RS256 public keys by kid). In development the
default key is generated per data directory when unset, so `vitrine token
create` works out of the box; in production nothing is generated, and a
server with no key at all does not start. Every problem is a SettingsError
naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable

from infra.auth import ClaimRules, TokenVerifier
from infra.auth_keys import VerificationKey, build_keyring, load_jwks
from infra.settings import Mode, Settings, SettingsError


def token_verifier(
    settings: Settings, generated_secret: Callable[[Settings], str]
) -> TokenVerifier:
    """The verifier of viewer tokens; `generated_secret` gives the default key when
    VITRINE_JWT_SECRET is unset (the data directory's, in development)."""
    keyed = bool(settings.jwt_keys) or settings.jwt_jwks_file is not None
    default = settings.jwt_secret
    if default is None and settings.mode is Mode.PRODUCTION:
        if not keyed:
            raise SettingsError(
                "VITRINE_JWT_SECRET, VITRINE_JWT_KEYS or VITRINE_JWT_JWKS_FILE is required in "
                "production mode: viewer tokens need keys shared by every gateway replica"
            )
    elif default is None:
        default = generated_secret(settings)
    try:
        keyring = build_keyring(default, settings.jwt_keys, _public_keys(settings))
    except ValueError as exc:
        raise SettingsError(
            f"VITRINE_JWT_KEYS and VITRINE_JWT_JWKS_FILE: {exc} across both"
        ) from None
    rules = ClaimRules(
        leeway=settings.jwt_leeway_seconds,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return TokenVerifier(keyring, rules, cache_size=settings.jwt_cache_size)


def signing_secret(settings: Settings, kid: str) -> str:
    """The HS256 secret of key `kid` of VITRINE_JWT_KEYS, to sign a token with."""
    for name, secret in settings.jwt_keys:
        if name == kid:
            return secret
    known = ", ".join(name for name, _ in settings.jwt_keys) or "none"
    raise SettingsError(f"VITRINE_JWT_KEYS has no key {kid!r} (known: {known})")


def _public_keys(settings: Settings) -> list[VerificationKey]:
    if settings.jwt_jwks_file is None:
        return []
    try:
        return load_jwks(settings.jwt_jwks_file)
    except ValueError as exc:
        raise SettingsError(f"VITRINE_JWT_JWKS_FILE: {exc}") from None
