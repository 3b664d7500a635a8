"""A token's subject must be able to name a customer: one holding a NUL never can."""

from __future__ import annotations

import jwt
import pytest

from infra.auth import AuthenticationError, decode_token

SECRET = "s" * 32
NOW = 1_800_000_000


def test_a_subject_with_a_nul_character_identifies_nobody() -> None:
    """A correctly signed token whose `sub` holds a NUL is refused (it reached the
    database, which cannot store one, and answered 500)."""
    token = jwt.encode({"sub": "cu\x001", "exp": NOW + 60}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError) as refused:
        decode_token(token, SECRET, now=NOW)
    assert refused.value.message == "the token's claim 'sub' holds a NUL character"
