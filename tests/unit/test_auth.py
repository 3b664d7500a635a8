"""Viewer tokens: what decode_token accepts, every way it refuses, and the header rules."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest

from infra.app import jwt_secret
from infra.auth import AuthenticationError, Identity, TokenVerifier, decode_token, mint_token
from infra.auth_keys import build_keyring
from infra.graphql_auth import INVALID_TOKEN_HEADERS, authenticate
from infra.graphql_request import RequestError
from infra.settings import SettingsError, load_settings

SECRET = "s" * 32
OTHER_SECRET = "o" * 32
NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
EXPIRES = NOW + 3600
VERIFIER = TokenVerifier(build_keyring(SECRET))


def signed(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def signed_raw(payload: bytes, *, secret: str = SECRET) -> str:
    """A correctly signed HS256 token whose payload is any bytes (not necessarily claims)."""
    return jwt.api_jws.encode(payload, secret, algorithm="HS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` token: header and payload, empty signature."""
    header = b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    return f"{header}.{b64(orjson.dumps(claims))}."


def refusal(token: str, *, now: float = NOW, leeway: float = 0) -> str:
    with pytest.raises(AuthenticationError) as caught:
        decode_token(token, SECRET, now=now, leeway=leeway)
    return caught.value.message


def test_a_minimal_token_is_a_customer() -> None:
    """`sub` and `exp` alone identify a CUSTOMER with no creator profile."""
    identity = decode_token(signed({"sub": "cu-1", "exp": EXPIRES}), SECRET, now=NOW)
    assert identity == Identity("cu-1", frozenset({"CUSTOMER"}), None, EXPIRES)


def test_roles_and_creator_id_are_read() -> None:
    """`roles` and `creatorId` claims come through as given."""
    token = signed(
        {"sub": "cu-1", "exp": EXPIRES, "roles": ["CREATOR", "CUSTOMER"], "creatorId": "cr-9"}
    )
    identity = decode_token(token, SECRET, now=NOW)
    assert identity == Identity("cu-1", frozenset({"CUSTOMER", "CREATOR"}), "cr-9", EXPIRES)


def test_mint_then_decode_round_trips() -> None:
    """A minted token decodes to the identity it was minted for, expiring after its ttl."""
    token = mint_token(
        SECRET, sub="cu-2", roles=["ADMIN", "CREATOR"], ttl_seconds=60, creator_id="cr-2", now=NOW
    )
    identity = decode_token(token, SECRET, now=NOW + 59)
    assert identity == Identity("cu-2", frozenset({"ADMIN", "CREATOR"}), "cr-2", NOW + 60)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_an_expired_token_is_refused_with_its_expiry() -> None:
    """At or after `exp` the token is refused, naming when it expired."""
    token = signed({"sub": "cu-1", "exp": NOW})
    assert refusal(token) == "the token expired at 2027-01-15T08:00:00Z"


def test_leeway_tolerates_clock_skew_and_no_more() -> None:
    """A token expired less than `leeway` seconds ago still passes; beyond it, it does not."""
    token = signed({"sub": "cu-1", "exp": NOW - 10})
    assert decode_token(token, SECRET, now=NOW, leeway=30).sub == "cu-1"
    assert refusal(token, leeway=10) == "the token expired at 2027-01-15T07:59:50Z"


def test_a_token_not_valid_yet_is_refused() -> None:
    """An `nbf` in the future (beyond the leeway) is refused, naming the instant."""
    token = signed({"sub": "cu-1", "exp": EXPIRES, "nbf": NOW + 60})
    assert refusal(token) == "the token is not valid before 2027-01-15T08:01:00Z"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    """A bad signature says the token was not signed with this server's secret."""
    token = signed({"sub": "cu-1", "exp": EXPIRES}, secret=OTHER_SECRET)
    assert refusal(token) == (
        "the token's signature does not match: it was not signed with this server's secret"
    )


def test_alg_none_is_refused() -> None:
    """An unsigned (`alg: none`) token is refused whatever it claims."""
    token = unsigned({"sub": "cu-1", "exp": EXPIRES, "roles": ["ADMIN"]})
    assert refusal(token) == "the token is signed with 'none': only HS256 tokens are accepted"


def test_other_algorithms_are_refused() -> None:
    """HS512 is refused before any signature check: HS256 only."""
    token = signed({"sub": "cu-1", "exp": EXPIRES}, secret=SECRET * 2, algorithm="HS512")
    assert refusal(token) == "the token is signed with 'HS512': only HS256 tokens are accepted"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "!!.??.##", "a.b.c.d"])
def test_malformed_tokens_are_refused(token: str) -> None:
    """Anything that is not a JWS compact serialization is malformed."""
    assert refusal(token) == (
        "the token is malformed: expected a JWT (header.payload.signature in base64url)"
    )


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"cu-1"'])
def test_a_signed_payload_that_is_not_claims_is_malformed(payload: bytes) -> None:
    """A correctly signed token whose payload is not a JSON object is malformed."""
    assert refusal(signed_raw(payload)) == (
        "the token is malformed: its payload is not a JSON object of claims"
    )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": EXPIRES}, "the token lacks the required claim 'sub'"),
        ({"sub": "cu-1"}, "the token lacks the required claim 'exp'"),
        ({"sub": "", "exp": EXPIRES}, "the token's claim 'sub' must be a non-empty string"),
        ({"sub": 42, "exp": EXPIRES}, "the token's claim 'sub' must be a non-empty string"),
        (
            {"sub": "cu-1", "exp": "tomorrow"},
            "the token's claim 'exp' must be a number of seconds since the epoch",
        ),
        (
            {"sub": "cu-1", "exp": True},
            "the token's claim 'exp' must be a number of seconds since the epoch",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "nbf": "soon"},
            "the token's claim 'nbf' must be a number of seconds since the epoch",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "roles": ["CUSTOMER", "SUPERUSER"]},
            "the token's claim 'roles' names an unknown role 'SUPERUSER' "
            "(known: CUSTOMER, CREATOR, ADMIN, SERVICE)",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "roles": ["customer"]},
            "the token's claim 'roles' names an unknown role 'customer' "
            "(known: CUSTOMER, CREATOR, ADMIN, SERVICE)",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "roles": []},
            "the token's claim 'roles' must be a non-empty list of roles",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "roles": "ADMIN"},
            "the token's claim 'roles' must be a non-empty list of roles",
        ),
        (
            {"sub": "cu-1", "exp": EXPIRES, "creatorId": 7},
            "the token's claim 'creatorId' must be a non-empty string",
        ),
    ],
)
def test_claims_are_checked_one_by_one(claims: dict[str, Any], message: str) -> None:
    """Each missing or ill-typed claim is refused with a message naming the claim."""
    token = signed_raw(orjson.dumps(claims))
    assert refusal(token) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sub": ""}, "sub: name the customer id the token speaks for"),
        ({"roles": []}, "roles: name at least one role"),
        (
            {"roles": ["ROOT"]},
            "roles: unknown role 'ROOT' (known: CUSTOMER, CREATOR, ADMIN, SERVICE)",
        ),
        ({"ttl_seconds": 0}, "ttl: must be a positive number of seconds"),
        ({"creator_id": ""}, "creator id: must not be empty"),
    ],
)
def test_mint_refuses_what_decode_would(kwargs: dict[str, Any], message: str) -> None:
    """mint_token raises ValueError for a token decode_token would refuse."""
    arguments: dict[str, Any] = {"sub": "cu-1", "roles": ["CUSTOMER"], "ttl_seconds": 60}
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        mint_token(SECRET, **{**arguments, **kwargs})
    assert str(caught.value) == message


def test_a_bearer_header_yields_the_identity() -> None:
    """`Bearer <jwt>` (any case of the scheme, extra spaces) identifies the token's customer."""
    token = signed({"sub": "cu-1", "exp": EXPIRES})
    for header in (f"Bearer {token}", f"bearer   {token} "):
        assert authenticate(header, VERIFIER, now=NOW).sub == "cu-1"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "the Authorization header is empty: send `Bearer <token>`, or no header at all"),
        ("   ", "the Authorization header is empty: send `Bearer <token>`, or no header at all"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be `Bearer <token>`"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.x", "the Authorization header must be `Bearer <token>`"),
        ("Bearer", "the Authorization header has no token after `Bearer`"),
        ("Bearer    ", "the Authorization header has no token after `Bearer`"),
        (
            "Bearer nope",
            "the token is malformed: expected a JWT (header.payload.signature in base64url)",
        ),
    ],
)
def test_bad_authorization_headers_are_unauthenticated(header: str, message: str) -> None:
    """Every header that identifies nobody is a 401 UNAUTHENTICATED with its reason."""
    with pytest.raises(RequestError) as caught:
        authenticate(header, VERIFIER, now=NOW)
    error = caught.value
    assert (error.status, error.code, error.message) == (401, "UNAUTHENTICATED", message)
    assert (
        error.headers
        == INVALID_TOKEN_HEADERS
        == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def test_a_short_jwt_secret_stops_start_up_without_echoing_it() -> None:
    """VITRINE_JWT_SECRET under 32 bytes is a settings error that names it and hides it."""
    with pytest.raises(SettingsError) as caught:
        load_settings(jwt_secret="short-secret")
    message = str(caught.value)
    assert "VITRINE_JWT_SECRET: Value error, must be at least 32 bytes" in message
    assert "(got a hidden value)" in message
    assert "short-secret" not in message


def test_production_requires_a_jwt_secret(tmp_path: Path) -> None:
    """In production an unset secret is a start-up error naming the variable."""
    settings = load_settings(mode="production", data_dir=tmp_path)
    with pytest.raises(SettingsError) as caught:
        jwt_secret(settings)
    assert str(caught.value) == (
        "VITRINE_JWT_SECRET is required in production mode: set it to a random secret "
        "of at least 32 bytes, shared by every gateway replica"
    )
    assert not (tmp_path / "jwt-secret").exists()


def test_development_generates_one_secret_per_data_dir(tmp_path: Path) -> None:
    """Unset in development, a secret is generated once into <data_dir>/jwt-secret and reused."""
    settings = load_settings(data_dir=tmp_path)
    first = jwt_secret(settings)
    assert len(first.encode()) >= 32
    assert jwt_secret(settings) == first
    assert (tmp_path / "jwt-secret").read_text() == first + "\n"
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [tmp_path / "jwt-secret"]
    configured = load_settings(data_dir=tmp_path, jwt_secret=OTHER_SECRET)
    assert jwt_secret(configured) == OTHER_SECRET


@pytest.mark.parametrize(
    "payload",
    [
        b'{"sub": "cu-1", "exp": 1e400}',
        b'{"sub": "cu-1", "exp": Infinity}',
        b'{"sub": "cu-1", "exp": NaN}',
        b'{"sub": "cu-1", "exp": -1e20}',
        b'{"sub": "cu-1", "exp": 1e20}',
        b'{"sub": "cu-1", "exp": 4102444800, "nbf": 1e20}',
    ],
)
def test_instants_no_clock_can_hold_are_refused_not_crashed_on(payload: bytes) -> None:
    """A signed exp or nbf that is infinite, not a number, or beyond year 9999 is a 401."""
    name = "nbf" if b"nbf" in payload else "exp"
    assert refusal(signed_raw(payload)) == (
        f"the token's claim {name!r} must be a number of seconds since the epoch"
    )
