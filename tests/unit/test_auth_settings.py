"""Viewer-token keys from the environment: VITRINE_JWT_KEYS and VITRINE_JWT_JWKS_FILE are
checked at start-up, each problem named by its variable, no secret ever echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from infra.app import jwt_secret
from infra.auth import TokenVerifier, mint_token
from infra.auth_wiring import signing_secret, token_verifier
from infra.settings import Settings, SettingsError, load_settings

SECRET_A = "a-secret-of-at-least-32-bytes-long!!"
SECRET_B = "b-secret-of-at-least-32-bytes-long!!"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(kid: str = "rsa-1", key: Any = RSA_KEY, **extra: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, **extra}


def jwks_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "jwks.json"
    path.write_bytes(content if isinstance(content, bytes) else orjson.dumps(content))
    return path


def settings_error(**overrides: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    return str(caught.value)


def verifier_error(settings: Settings) -> str:
    with pytest.raises(SettingsError) as caught:
        token_verifier(settings, jwt_secret)
    return str(caught.value)


def test_jwt_keys_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kid:secret,kid:secret` becomes pairs; a secret may hold a colon."""
    monkeypatch.setenv("VITRINE_JWT_KEYS", f" k1:{SECRET_A} , k2:x:{SECRET_B}")
    assert load_settings().jwt_keys == (("k1", SECRET_A), ("k2", f"x:{SECRET_B}"))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("k1:short-secret", "the secret of key 'k1' must be at least 32 bytes"),
        (f"k1{SECRET_A}", "entry 1 is not `kid:secret`"),
        (f"k1:{SECRET_A},k1:{SECRET_B}", "key id 'k1' is given twice"),
        (f"k 1:{SECRET_A}", "key id 'k 1' must be 1 to 64 letters, digits, dots, dashes"),
        (",", "entry 1 is not `kid:secret`"),
    ],
)
def test_bad_jwt_keys_stop_start_up_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    """Each malformed VITRINE_JWT_KEYS names the variable and the kid, never a secret."""
    monkeypatch.setenv("VITRINE_JWT_KEYS", value)
    message = settings_error()
    assert f"VITRINE_JWT_KEYS: Value error, {problem}" in message
    assert "(got a hidden value)" in message
    for secret in ("short-secret", SECRET_A, SECRET_B):
        assert secret not in message


def test_a_jwks_file_adds_rs256_keys(tmp_path: Path) -> None:
    """The keyring holds the default secret, the kids of VITRINE_JWT_KEYS and the JWKS's."""
    path = jwks_file(tmp_path, {"keys": [rsa_jwk(use="sig", alg="RS256")]})
    settings = load_settings(
        jwt_secret=SECRET_A, jwt_keys=f"k1:{SECRET_B}", jwt_jwks_file=str(path), data_dir=tmp_path
    )
    keyring = token_verifier(settings, jwt_secret).keyring
    assert keyring.default is not None
    assert keyring.default.material == SECRET_A
    assert {kid: key.algorithm for kid, key in keyring.by_kid.items()} == {
        "k1": "HS256",
        "rsa-1": "RS256",
    }
    assert keyring.algorithms == ("HS256", "RS256")


def small_rsa_jwk() -> dict[str, Any]:
    return rsa_jwk(key=rsa.generate_private_key(public_exponent=65537, key_size=1024))


def ec_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(
        ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True
    )
    return {**jwk, "kid": "ec-1"}


def private_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    return {**jwk, "kid": "rsa-1"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "{path} is not JSON"),
        ({"keys": []}, "{path} must be a JSON Web Key Set: an object whose 'keys' is a list"),
        ([rsa_jwk()], "{path} must be a JSON Web Key Set: an object whose 'keys' is a list"),
        ({"keys": ["x"]}, "{path}: key 1 is not a JSON object"),
        (
            {"keys": [{**rsa_jwk(), "kid": None}]},
            "{path}: key 1 needs a 'kid' of 1 to 64 letters, digits, dots, dashes or underscores",
        ),
        ({"keys": [ec_jwk()]}, "{path}: key 'ec-1' must be an RSA key (kty RSA), got 'EC'"),
        (
            {"keys": [rsa_jwk(alg="RS512")]},
            "{path}: key 'rsa-1' is for 'RS512': only RS256 is accepted",
        ),
        (
            {"keys": [rsa_jwk(use="enc")]},
            "{path}: key 'rsa-1' is for 'enc', not signatures ('sig')",
        ),
        (
            {"keys": [private_jwk()]},
            "{path}: key 'rsa-1' holds a private key: publish only the public key",
        ),
        ({"keys": [small_rsa_jwk()]}, "{path}: key 'rsa-1' has 1024 bits, at least 2048"),
        (
            {"keys": [{**rsa_jwk(), "n": "AQAB!"}]},
            "{path}: key 'rsa-1' is not a usable RSA key: "
            "Unable to construct key from JWK: e must be >= 3 and < n.",
        ),
    ],
)
def test_a_bad_jwks_file_stops_start_up(tmp_path: Path, content: Any, problem: str) -> None:
    """Each problem of the JWKS file is a start-up error naming VITRINE_JWT_JWKS_FILE."""
    path = jwks_file(tmp_path, content)
    settings = load_settings(jwt_jwks_file=str(path), data_dir=tmp_path)
    message = verifier_error(settings)
    assert message == "VITRINE_JWT_JWKS_FILE: " + problem.format(path=path)


def test_a_missing_jwks_file_is_named(tmp_path: Path) -> None:
    """A JWKS path nobody can read names the variable, the path and why."""
    settings = load_settings(jwt_jwks_file=str(tmp_path / "nope.json"), data_dir=tmp_path)
    assert verifier_error(settings) == (
        f"VITRINE_JWT_JWKS_FILE: cannot read {tmp_path / 'nope.json'}: No such file or directory"
    )


def test_one_kid_for_two_keys_stops_start_up(tmp_path: Path) -> None:
    """A kid both in VITRINE_JWT_KEYS and in the JWKS is refused."""
    path = jwks_file(tmp_path, {"keys": [rsa_jwk("k1")]})
    settings = load_settings(jwt_keys=f"k1:{SECRET_A}", jwt_jwks_file=str(path), data_dir=tmp_path)
    assert verifier_error(settings) == (
        "VITRINE_JWT_KEYS and VITRINE_JWT_JWKS_FILE: key id 'k1' names two keys: "
        "key ids must be unique across both"
    )


def test_production_needs_some_key(tmp_path: Path) -> None:
    """In production with no key at all the server does not start; generated nothing."""
    settings = load_settings(mode="production", data_dir=tmp_path)
    assert verifier_error(settings) == (
        "VITRINE_JWT_SECRET, VITRINE_JWT_KEYS or VITRINE_JWT_JWKS_FILE is required in "
        "production mode: viewer tokens need keys shared by every gateway replica"
    )
    assert list(tmp_path.iterdir()) == []


def test_production_with_kids_alone_has_no_default_key(tmp_path: Path) -> None:
    """Production with VITRINE_JWT_KEYS only: no secret is generated, tokens must name a kid."""
    settings = load_settings(mode="production", jwt_keys=f"k1:{SECRET_A}", data_dir=tmp_path)
    verifier: TokenVerifier = token_verifier(settings, jwt_secret)
    assert verifier.keyring.default is None
    assert list(tmp_path.iterdir()) == []
    token = mint_token(signing_secret(settings, "k1"), sub="a", roles=["ADMIN"], ttl_seconds=60)
    with pytest.raises(SettingsError, match=r"VITRINE_JWT_KEYS has no key 'k9' \(known: k1\)"):
        signing_secret(settings, "k9")
    assert verifier.keyring.key_for("HS256", "k1").material == SECRET_A
    assert token.count(".") == 2


def test_development_keeps_a_generated_default_beside_kids(tmp_path: Path) -> None:
    """In development the data directory's secret stays the default key next to the kids."""
    settings = load_settings(jwt_keys=f"k1:{SECRET_A}", data_dir=tmp_path)
    keyring = token_verifier(settings, jwt_secret).keyring
    assert keyring.default is not None
    assert keyring.default.material == (tmp_path / "jwt-secret").read_text().strip()
