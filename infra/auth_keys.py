"""Key material for viewer tokens: HS256 secrets by key id, RSA public keys from a JWKS.

The key decides the algorithm, never the token: each key is bound to one
algorithm when it is loaded (a secret to HS256, an RSA public key to
RS256), a token picks its key by the `kid` in its header (no `kid`: the
default secret), and is verified with that key's algorithm alone. So an
HS256 token "signed" with an RSA public key, an `alg: none` token, or an
RS256 token aimed at a secret are refused before any signature is checked.
Keys are never fetched from what a token says (`jku`, `x5u` and `jwk`
headers are ignored): they come from the environment and one file, read at
start-up.

Loading errors are ValueErrors whose messages name the key id, never a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from infra.auth_claims import AuthenticationError

HS256 = "HS256"
RS256 = "RS256"
# HS256 keys shorter than the hash are brute-forceable (RFC 7518, section 3.2).
MIN_SECRET_BYTES = 32
# NIST SP 800-131A: RSA under 2048 bits is no longer acceptable for signatures.
MIN_RSA_BITS = 2048
KID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Private members of an RSA JWK (RFC 7518, section 6.3.2): a JWKS we verify with is public.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")
_SHOWN_KID_CHARS = 64


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One key and the one algorithm it verifies: `material` is an HS256 secret or
    an RSA public key object."""

    kid: str | None
    algorithm: str
    material: Any


@dataclass(frozen=True, slots=True)
class Keyring:
    """The keys viewer tokens may be signed with: `default` (HS256) for tokens without
    a `kid`, `by_kid` for the others."""

    default: VerificationKey | None
    by_kid: Mapping[str, VerificationKey]

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The algorithms some key verifies, HS256 first."""
        keys = [*self.by_kid.values(), *([self.default] if self.default else [])]
        return tuple(a for a in (HS256, RS256) if any(k.algorithm == a for k in keys))

    def key_for(self, algorithm: Any, kid: Any) -> VerificationKey:
        """The key a token's header (`alg`, `kid`) asks for; AuthenticationError when the
        header names an algorithm or key this server does not hold, or a pair that
        does not belong together."""
        accepted = self.algorithms
        if algorithm not in accepted:
            raise AuthenticationError(
                f"the token is signed with {_shown(algorithm)}: "
                f"only {' and '.join(accepted)} tokens are accepted"
            )
        if kid is None:
            if algorithm != HS256:
                raise AuthenticationError(
                    f"the token is signed with {algorithm} but names no key ('kid' header): "
                    f"an {algorithm} token must name a key of this server's key set"
                )
            if self.default is None:
                raise AuthenticationError(
                    "the token names no key ('kid' header): this server accepts only "
                    "tokens that name their key"
                )
            return self.default
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("the token's header 'kid' must be a non-empty string")
        key = self.by_kid.get(kid)
        if key is None:
            raise AuthenticationError(
                f"the token's key {_shown(kid)} is not one this server knows "
                "(retired, or never issued here)"
            )
        if key.algorithm != algorithm:
            raise AuthenticationError(
                f"the token is signed with {algorithm}: key {kid!r} verifies "
                f"{key.algorithm} tokens only"
            )
        return key


def hs256_key(secret: str, kid: str | None = None) -> VerificationKey:
    return VerificationKey(kid, HS256, secret)


def build_keyring(
    default_secret: str | None,
    secrets: Iterable[tuple[str, str]] = (),
    public_keys: Iterable[VerificationKey] = (),
) -> Keyring:
    """One keyring from the default secret, HS256 secrets by kid and RS256 public keys;
    ValueError when two keys share a kid."""
    by_kid: dict[str, VerificationKey] = {}
    for key in [*(hs256_key(secret, kid) for kid, secret in secrets), *public_keys]:
        assert key.kid is not None
        if key.kid in by_kid:
            raise ValueError(f"key id {key.kid!r} names two keys: key ids must be unique")
        by_kid[key.kid] = key
    default = None if default_secret is None else hs256_key(default_secret)
    return Keyring(default, by_kid)


def parse_secrets(value: str) -> tuple[tuple[str, str], ...]:
    """`kid:secret,kid:secret` as pairs; ValueError naming the kid (never the secret)."""
    pairs = []
    for position, item in enumerate(value.split(","), start=1):
        kid, separator, secret = item.strip().partition(":")
        if not separator:
            raise ValueError(f"entry {position} is not `kid:secret`")
        pairs.append((kid.strip(), secret.strip()))
    return check_secrets(pairs)


def check_secrets(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Each kid well-formed and unique, each secret long enough."""
    checked: list[tuple[str, str]] = []
    for kid, secret in pairs:
        if not KID.fullmatch(kid):
            raise ValueError(
                f"key id {_shown(kid)} must be 1 to 64 letters, digits, dots, dashes or underscores"
            )
        if any(kid == seen for seen, _ in checked):
            raise ValueError(f"key id {kid!r} is given twice")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the secret of key {kid!r} must be at least {MIN_SECRET_BYTES} bytes "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        checked.append((kid, secret))
    if not checked:
        raise ValueError("name at least one `kid:secret` pair, or leave it unset")
    return tuple(checked)


def load_jwks(path: Path) -> list[VerificationKey]:
    """The RS256 public keys of a JSON Web Key Set file; ValueError saying what is wrong."""
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise ValueError(f"{path} is not JSON") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError(f"{path} must be a JSON Web Key Set: an object whose 'keys' is a list")
    # One PyJWK per key rather than a PyJWKSet: the set skips a key it cannot use,
    # and a key the operator published but we would ignore must stop start-up.
    found: list[VerificationKey] = []
    for position, raw in enumerate(keys, start=1):
        try:
            kid = _checked_jwk(raw, position)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        try:
            public_key = PyJWK(raw, RS256).key
        except PyJWTError as exc:
            raise ValueError(f"{path}: key {kid!r} is not a usable RSA key: {exc}") from None
        bits = public_key.key_size
        if bits < MIN_RSA_BITS:
            raise ValueError(f"{path}: key {kid!r} has {bits} bits, at least {MIN_RSA_BITS}")
        found.append(VerificationKey(kid, RS256, public_key))
    return found


def _checked_jwk(raw: Any, position: int) -> str:
    """The kid of one JWK, refused unless it is an RSA signing public key for RS256."""
    if not isinstance(raw, dict):
        raise ValueError(f"key {position} is not a JSON object")
    kid = raw.get("kid")
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise ValueError(
            f"key {position} needs a 'kid' of 1 to 64 letters, digits, dots, dashes or underscores"
        )
    if raw.get("kty") != "RSA":
        raise ValueError(f"key {kid!r} must be an RSA key (kty RSA), got {_shown(raw.get('kty'))}")
    if raw.get("alg", RS256) != RS256:
        raise ValueError(f"key {kid!r} is for {_shown(raw.get('alg'))}: only RS256 is accepted")
    if raw.get("use", "sig") != "sig":
        raise ValueError(f"key {kid!r} is for {_shown(raw.get('use'))}, not signatures ('sig')")
    if any(member in raw for member in _PRIVATE_MEMBERS):
        raise ValueError(f"key {kid!r} holds a private key: publish only the public key")
    return kid


def _shown(value: Any) -> str:
    """A value from a token or file, quoted and cut short for a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_KID_CHARS else text[:_SHOWN_KID_CHARS] + "..."
