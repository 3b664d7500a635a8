"""HMAC-SHA256 request signatures: the canonical string, signing, and verifying. No I/O.

A signed request carries three headers besides `Authorization: Bearer <key>`:

    Vitrine-Timestamp: <seconds since the epoch, UTC, an integer>
    Vitrine-Nonce: <16 to 128 characters of A-Z a-z 0-9 _ ->
    Vitrine-Signature: v1=<64 lowercase hex digits>[, v1=<...>]

and the signature is HMAC-SHA256, keyed with a signing secret of the key, of
the canonical string: these seven lines joined by "\\n" (no trailing newline)

    vitrine-v1
    <method, upper case>
    <path exactly as sent, percent-encoding included, without the query>
    <query string exactly as sent, without "?"; empty if none>
    <SHA-256 of the raw body, lowercase hex (of zero bytes when there is no body)>
    <the Vitrine-Timestamp value>
    <the Vitrine-Nonce value>

None of the parts can hold a newline, so the string is unambiguous. The
timestamp must lie within WINDOW_SECONDS of the server's clock either way;
the nonce must not have been seen in twice that long (the caller checks it,
this module has no memory). Several `v1=` entries let a client sign with an
old and a new secret during a rotation; one match suffices.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "vitrine-timestamp"
NONCE_HEADER = "vitrine-nonce"
SIGNATURE_HEADER = "vitrine-signature"
SIGNATURE_HEADERS = (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)

_DOMAIN = b"vitrine-v1"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SIGNATURE = re.compile(r"v1=([0-9a-f]{64})")
_MAX_SIGNATURES = 4


class SignatureError(Exception):
    """The signature does not hold; the message says why, for the server log only."""


@dataclass(frozen=True, slots=True)
class SignedParts:
    """The signature headers of a request, parsed."""

    timestamp: int
    nonce: str
    signatures: tuple[str, ...]


def canonical_string(
    *, method: str, path: str, query: str, body: bytes, timestamp: int, nonce: str
) -> bytes:
    body_sha256 = hashlib.sha256(body).hexdigest()
    parts = (method.upper(), path, query, body_sha256, str(timestamp), nonce)
    return b"\n".join([_DOMAIN, *(part.encode() for part in parts)])


def signature(secret: str, canonical: bytes) -> str:
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


def sign(
    secret: str,
    *,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    timestamp: int,
    nonce: str,
) -> dict[str, str]:
    """The three signature headers of a request (for clients: tests, bench, the CLI)."""
    canonical = canonical_string(
        method=method, path=path, query=query, body=body, timestamp=timestamp, nonce=nonce
    )
    return {
        "Vitrine-Timestamp": str(timestamp),
        "Vitrine-Nonce": nonce,
        "Vitrine-Signature": f"v1={signature(secret, canonical)}",
    }


def parse_signed_parts(headers: Mapping[str, str]) -> SignedParts:
    """The signature headers (lower-case names), or SignatureError naming what is wrong."""
    missing = [name for name in SIGNATURE_HEADERS if name not in headers]
    if missing:
        raise SignatureError(f"missing header(s) {', '.join(missing)}")
    timestamp = headers[TIMESTAMP_HEADER].strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("the timestamp is not an integer number of seconds")
    nonce = headers[NONCE_HEADER].strip()
    if not _NONCE.fullmatch(nonce):
        raise SignatureError("the nonce is not 16 to 128 characters of [A-Za-z0-9_-]")
    entries = [entry.strip() for entry in headers[SIGNATURE_HEADER].split(",")]
    if len(entries) > _MAX_SIGNATURES:
        raise SignatureError(f"more than {_MAX_SIGNATURES} signatures")
    found = tuple(m.group(1) for m in map(_SIGNATURE.fullmatch, entries) if m is not None)
    if not found:
        raise SignatureError("no v1=<64 hex digits> signature")
    return SignedParts(int(timestamp), nonce, found)


def verify(
    parts: SignedParts,
    secrets: Sequence[str],
    *,
    method: str,
    path: str,
    query: str,
    body: bytes,
    now: float,
    window: int = WINDOW_SECONDS,
) -> None:
    """Return if one signature is an HMAC of the request under one secret and the
    timestamp is within `window` seconds of `now`; raise SignatureError otherwise.

    The clock is read in whole seconds, like the timestamp, so the bounds are
    exact: `window` seconds away is accepted, one more is refused.
    """
    skew = int(now) - parts.timestamp
    if skew > window:
        raise SignatureError(f"the timestamp is {skew} s old (at most {window} s)")
    if skew < -window:
        raise SignatureError(f"the timestamp is {-skew} s ahead (at most {window} s)")
    if not secrets:
        raise SignatureError("the key has no active signing secret")
    canonical = canonical_string(
        method=method,
        path=path,
        query=query,
        body=body,
        timestamp=parts.timestamp,
        nonce=parts.nonce,
    )
    matched = False
    for secret in secrets:
        expected = signature(secret, canonical)
        for presented in parts.signatures:
            # Every pair is compared, in constant time: nothing leaks which one matched.
            matched |= hmac.compare_digest(expected, presented)
    if not matched:
        raise SignatureError("no signature matches the request under any active secret")
