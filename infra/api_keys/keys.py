"""What an API key looks like, how one is made, and how a presented one is checked.

A key reads `vk_<id>_<secret>`: the 16-hex-digit id is public (listings,
logs, the nonce namespace) and lets the server find the row without a scan;
the secret is 256 random bits. Only the SHA-256 of the whole key is stored.

A fast hash is the right one here. Slow password hashes (bcrypt, argon2)
exist to make guessing a *low-entropy* password from its hash expensive; a
256-bit random key cannot be guessed at any speed, so a slow hash would only
add milliseconds to every cache miss. What matters is that a stolen table
yields no usable key (a hash cannot be presented) and that the comparison
does not leak through timing (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

EVENTS = "events"
ADMIN = "admin"
SCOPES = (EVENTS, ADMIN)

KEY_PREFIX = "vk_"
SIGNING_SECRET_PREFIX = "vsig_"
MAX_NAME_LENGTH = 100

_KEY_SHAPE = re.compile(r"vk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: `key` is shown once and then only `sha256` remains."""

    id: str
    key: str
    sha256: str


def new_key() -> NewKey:
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id, key, key_sha256(key))


def new_signing_secret() -> str:
    """256 random bits, prefixed so that secret scanners recognise a leaked one."""
    return SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)


def key_id_of(presented: str) -> str | None:
    """The id of a presented key of the right shape, else None (no lookup is worth making)."""
    match = _KEY_SHAPE.fullmatch(presented)
    return match.group(1) if match else None


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(presented: str, stored_sha256: str) -> bool:
    """Whether `presented` hashes to `stored_sha256`, compared in constant time."""
    return hmac.compare_digest(key_sha256(presented), stored_sha256)


def check_name(name: str) -> str:
    """The name, stripped; ValueError says what is wrong with it."""
    name = name.strip()
    if not name:
        raise ValueError("name the key (--name), e.g. after the service that will use it")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a key's name has at most {MAX_NAME_LENGTH} characters")
    return name


def check_scopes(scopes: tuple[str, ...], *, signing: bool) -> tuple[str, ...]:
    """The distinct scopes in a stable order; ValueError for a set no request could use."""
    if not scopes:
        raise ValueError(f"give the key at least one --scope ({' or '.join(SCOPES)})")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r} (known: {', '.join(SCOPES)})")
    if EVENTS in scopes and not signing:
        raise ValueError(
            "a key with the events scope must sign its requests (POST /events refuses "
            "unsigned ones): drop --no-signing"
        )
    return tuple(scope for scope in SCOPES if scope in scopes)
