"""The viewer-token keyring: HS256 rotation by kid, RS256 from a JWKS file, algorithm
confusion refused, issuer and audience, SERVICE standing alone, the verified-token cache."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from infra.auth import (
    MAX_TOKEN_CHARS,
    AuthenticationError,
    ClaimRules,
    Identity,
    TokenVerifier,
    mint_token,
)
from infra.auth_keys import build_keyring, load_jwks

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
EXPIRES = NOW + 3600
DEFAULT = "d" * 32
OLD = "o" * 32
NEW = "n" * 32
CLAIMS = {"sub": "cu-1", "exp": EXPIRES}
CUSTOMER = Identity("cu-1", frozenset({"CUSTOMER"}), None, EXPIRES)

PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256", **extra}


def write_jwks(path: Path, *keys: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps({"keys": list(keys)}))
    return path


@pytest.fixture
def verifier(tmp_path: Path) -> TokenVerifier:
    """Default secret, HS256 keys k-old and k-new, RSA key rsa-1 from a JWKS file."""
    jwks = write_jwks(tmp_path / "jwks.json", public_jwk(PRIVATE_KEY, "rsa-1"))
    keyring = build_keyring(DEFAULT, [("k-old", OLD), ("k-new", NEW)], load_jwks(jwks))
    return TokenVerifier(keyring)


def hs256(secret: str, kid: str | None = None, claims: dict[str, Any] = CLAIMS) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid} if kid else None)


def rs256(kid: str | None, private_key: rsa.RSAPrivateKey = PRIVATE_KEY) -> str:
    return jwt.encode(CLAIMS, private_key, algorithm="RS256", headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], secret: bytes) -> str:
    """A token HMAC-SHA256-signed with any bytes (PyJWT refuses a PEM as an HMAC secret)."""
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(CLAIMS))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def refusal(verifier: TokenVerifier, token: str, now: float = NOW) -> str:
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify(token, now=now)
    return caught.value.message


def test_two_active_kids_both_verify(verifier: TokenVerifier) -> None:
    """During a rotation, tokens of the old and the new key are both accepted."""
    assert verifier.verify(hs256(OLD, "k-old"), now=NOW) == CUSTOMER
    assert verifier.verify(hs256(NEW, "k-new"), now=NOW) == CUSTOMER


def test_a_token_without_kid_uses_the_default_secret_alone(verifier: TokenVerifier) -> None:
    """No kid: the default secret verifies it; a rotated key's secret does not."""
    assert verifier.verify(hs256(DEFAULT), now=NOW) == CUSTOMER
    assert refusal(verifier, hs256(NEW)) == (
        "the token's signature does not match: it was not signed with this server's secret"
    )


def test_a_removed_kid_is_refused_naming_it(tmp_path: Path) -> None:
    """Once k-old leaves the keyring its tokens are refused, the message naming the kid."""
    token = hs256(OLD, "k-old")
    rotated = TokenVerifier(build_keyring(DEFAULT, [("k-new", NEW)]))
    assert refusal(rotated, token) == (
        "the token's key 'k-old' is not one this server knows (retired, or never issued here)"
    )


def test_a_kid_signed_with_another_keys_secret_is_refused(verifier: TokenVerifier) -> None:
    """A token naming k-new but signed with k-old's secret does not match k-new."""
    assert refusal(verifier, hs256(OLD, "k-new")) == (
        "the token's signature does not match: it was not signed with key 'k-new'"
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            {"alg": "HS256", "kid": 7},
            "the token's header is invalid: Key ID header parameter must be a string",
        ),
        ({"alg": "HS256", "kid": ""}, "the token's header 'kid' must be a non-empty string"),
        (
            {"alg": "HS256", "kid": "x" * 200},
            "the token's key '" + "x" * 63 + "... is not one this server knows "
            "(retired, or never issued here)",
        ),
        (
            {"alg": "HS256", "kid": "k-new", "crit": ["x-later"]},
            "the token's header is invalid: Unsupported critical extension: x-later",
        ),
    ],
)
def test_ill_formed_headers_are_refused(
    verifier: TokenVerifier, header: dict[str, Any], message: str
) -> None:
    """A kid that is not a non-empty string or a critical extension we lack is refused;
    a long unknown kid is shown cut short."""
    assert refusal(verifier, hand_signed(header, NEW.encode())) == message


def test_rs256_tokens_verify_with_their_jwks_key(verifier: TokenVerifier) -> None:
    """An RS256 token naming rsa-1 is verified with that public key."""
    assert verifier.verify(rs256("rsa-1"), now=NOW) == CUSTOMER


def test_rs256_needs_a_kid_of_the_key_set(verifier: TokenVerifier) -> None:
    """RS256 without a kid, with an unknown kid, or signed by another private key is refused."""
    assert refusal(verifier, rs256(None)) == (
        "the token is signed with RS256 but names no key ('kid' header): "
        "an RS256 token must name a key of this server's key set"
    )
    assert refusal(verifier, rs256("rsa-9")) == (
        "the token's key 'rsa-9' is not one this server knows (retired, or never issued here)"
    )
    assert refusal(verifier, rs256("rsa-1", OTHER_PRIVATE_KEY)) == (
        "the token's signature does not match: it was not signed with key 'rsa-1'"
    )


def test_hs256_signed_with_the_rsa_public_key_is_refused(verifier: TokenVerifier) -> None:
    """Algorithm confusion: an HS256 token whose secret is the RSA public key's PEM is refused,
    whether it names the RSA key or no key."""
    assert refusal(verifier, hand_signed({"alg": "HS256", "kid": "rsa-1"}, PUBLIC_PEM)) == (
        "the token is signed with HS256: key 'rsa-1' verifies RS256 tokens only"
    )
    assert refusal(verifier, hand_signed({"alg": "HS256"}, PUBLIC_PEM)) == (
        "the token's signature does not match: it was not signed with this server's secret"
    )


def test_an_rs256_header_cannot_aim_at_a_secret(verifier: TokenVerifier) -> None:
    """An RS256 token naming an HS256 key is refused before any signature is checked."""
    assert refusal(verifier, rs256("k-new")) == (
        "the token is signed with RS256: key 'k-new' verifies HS256 tokens only"
    )


@pytest.mark.parametrize("kid", [None, "k-new", "rsa-1"])
def test_alg_none_is_refused_whatever_the_kid(verifier: TokenVerifier, kid: str | None) -> None:
    """An unsigned token is refused, with or without a kid."""
    header = {"alg": "none", **({"kid": kid} if kid else {})}
    token = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(CLAIMS))}."
    assert refusal(verifier, token) == (
        "the token is signed with 'none': only HS256 and RS256 tokens are accepted"
    )


def test_without_a_default_secret_a_kid_is_required() -> None:
    """A keyring of kids alone refuses a token that names no key."""
    keyed = TokenVerifier(build_keyring(None, [("k-new", NEW)]))
    assert refusal(keyed, hs256(DEFAULT)) == (
        "the token names no key ('kid' header): this server accepts only tokens that name their key"
    )
    assert keyed.verify(hs256(NEW, "k-new"), now=NOW) == CUSTOMER


def test_issuer_and_audience_are_checked_when_configured() -> None:
    """With an issuer and audience set, a token must carry both; `aud` may be a list."""
    rules = ClaimRules(issuer="https://id.example", audience="vitrine")
    strict = TokenVerifier(build_keyring(DEFAULT), rules)
    good = {**CLAIMS, "iss": "https://id.example", "aud": ["other", "vitrine"]}
    assert strict.verify(hs256(DEFAULT, claims=good), now=NOW) == CUSTOMER
    cases = [
        ({**good, "iss": None}, "the token lacks the required claim 'iss'"),
        (
            {**good, "iss": "https://evil.example"},
            "the token's claim 'iss' names another issuer than this server's",
        ),
        ({**good, "aud": None}, "the token lacks the required claim 'aud'"),
        ({**good, "aud": "other"}, "the token's claim 'aud' does not name this server's audience"),
        ({**good, "aud": 7}, "the token's claim 'aud' does not name this server's audience"),
    ]
    for claims, message in cases:
        token = hs256(DEFAULT, claims={k: v for k, v in claims.items() if v is not None})
        assert refusal(strict, token) == message


def test_mint_writes_kid_issuer_and_audience() -> None:
    """A minted token names its key and carries the configured iss and aud."""
    token = mint_token(
        NEW,
        sub="svc-1",
        roles=["SERVICE"],
        ttl_seconds=60,
        now=NOW,
        kid="k-new",
        issuer="https://id.example",
        audience="vitrine",
    )
    assert jwt.get_unverified_header(token)["kid"] == "k-new"
    rules = ClaimRules(issuer="https://id.example", audience="vitrine")
    verifier = TokenVerifier(build_keyring(None, [("k-new", NEW)]), rules)
    assert verifier.verify(token, now=NOW) == Identity(
        "svc-1", frozenset({"SERVICE"}), None, NOW + 60
    )


def test_service_stands_alone(verifier: TokenVerifier) -> None:
    """A token combining SERVICE with another role is refused, and never minted."""
    token = hs256(DEFAULT, claims={**CLAIMS, "roles": ["SERVICE", "CUSTOMER"]})
    assert refusal(verifier, token) == (
        "the token's roles combine SERVICE with other roles: "
        "a SERVICE token speaks for a machine and carries no other role"
    )
    with pytest.raises(ValueError, match="roles: SERVICE is a machine's role"):
        mint_token(DEFAULT, sub="s", roles=["SERVICE", "ADMIN"], ttl_seconds=60)


def test_an_oversized_token_is_refused_before_decoding(verifier: TokenVerifier) -> None:
    """A token longer than MAX_TOKEN_CHARS is refused by its length alone."""
    assert refusal(verifier, "a" * (MAX_TOKEN_CHARS + 1)) == (
        f"the token is {MAX_TOKEN_CHARS + 1} characters long: at most {MAX_TOKEN_CHARS}"
    )


def test_a_remembered_token_still_expires() -> None:
    """A verified token is remembered, yet refused once expired, with the expiry message."""
    verifier = TokenVerifier(build_keyring(DEFAULT))
    token = hs256(DEFAULT)
    assert verifier.verify(token, now=NOW) == CUSTOMER
    assert verifier.remembered == 1
    assert verifier.verify(token, now=NOW + 1) == CUSTOMER
    assert refusal(verifier, token, now=EXPIRES) == "the token expired at 2027-01-15T09:00:00Z"
    assert verifier.remembered == 0


def test_the_cache_is_bounded_and_keeps_no_forgery() -> None:
    """At most cache_size tokens are remembered (the oldest go first); refused ones never."""
    verifier = TokenVerifier(build_keyring(DEFAULT), cache_size=2)
    tokens = [hs256(DEFAULT, claims={**CLAIMS, "sub": f"cu-{n}"}) for n in range(3)]
    for token in tokens:
        verifier.verify(token, now=NOW)
    assert verifier.remembered == 2
    refusal(verifier, hs256(OLD))
    assert verifier.remembered == 2
    uncached = TokenVerifier(build_keyring(DEFAULT), cache_size=0)
    assert uncached.verify(tokens[0], now=NOW).sub == "cu-0"
    assert uncached.remembered == 0
