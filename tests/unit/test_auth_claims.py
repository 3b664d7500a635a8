"""Creator tokens: both claim spellings (`role`/`roles`, `creator_id`/`creatorId`)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from infra.auth import AuthenticationError, Identity, decode_token, mint_token

SECRET = "s" * 32
NOW = 1_800_000_000
EXPIRES = NOW + 3600


def decoded(**claims: Any) -> Identity:
    token = jwt.encode({"sub": "cu-1", "exp": EXPIRES, **claims}, SECRET, algorithm="HS256")
    return decode_token(token, SECRET, now=NOW)


def refusal(**claims: Any) -> str:
    with pytest.raises(AuthenticationError) as caught:
        decoded(**claims)
    return caught.value.message


def test_the_issue_spelling_identifies_a_creator() -> None:
    """`role: CREATOR` and `creator_id` identify a creator with that profile."""
    assert decoded(role="CREATOR", creator_id="cr-1") == Identity(
        "cu-1", frozenset({"CREATOR"}), "cr-1", EXPIRES
    )


def test_both_spellings_together_are_read_as_one() -> None:
    """`role` within `roles`, and equal creator ids, give the union of the roles."""
    identity = decoded(role="CREATOR", roles=["CUSTOMER", "CREATOR"], creator_id="c", creatorId="c")
    assert identity == Identity("cu-1", frozenset({"CUSTOMER", "CREATOR"}), "c", EXPIRES)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"role": ["CREATOR"]}, "the token's claim 'role' must be a role name"),
        (
            {"role": "OWNER"},
            "the token's claim 'role' names an unknown role 'OWNER' "
            "(known: CUSTOMER, CREATOR, ADMIN, SERVICE)",
        ),
        (
            {"role": "CREATOR", "roles": ["CUSTOMER"]},
            "the token's claim 'role' ('CREATOR') is not one of its claim 'roles'",
        ),
        ({"creator_id": ""}, "the token's claim 'creator_id' must be a non-empty string"),
        (
            {"creator_id": "cr-1", "creatorId": "cr-2"},
            "the token's claims 'creator_id' and 'creatorId' disagree",
        ),
    ],
)
def test_ill_formed_or_contradictory_claims_are_refused(
    claims: dict[str, Any], message: str
) -> None:
    """A bad `role` or `creator_id`, or two spellings that disagree, is refused by name."""
    assert refusal(**claims) == message


def test_minted_creator_tokens_carry_both_spellings() -> None:
    """mint_token writes `role` (the first role) and `roles`, `creator_id` and `creatorId`."""
    token = mint_token(
        SECRET, sub="cu-3", roles=["CREATOR"], ttl_seconds=60, creator_id="cr-3", now=NOW
    )
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {
        "sub": "cu-3",
        "role": "CREATOR",
        "roles": ["CREATOR"],
        "creator_id": "cr-3",
        "creatorId": "cr-3",
        "iat": NOW,
        "exp": NOW + 60,
    }
    assert decode_token(token, SECRET, now=NOW) == Identity(
        "cu-3", frozenset({"CREATOR"}), "cr-3", NOW + 60
    )
