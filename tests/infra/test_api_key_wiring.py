"""The bootstrap service key: generated per data directory in development, configured in
production, and settings that fail at start naming the variable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infra.api_key_wiring import bootstrap_keys, service_credentials, service_key_notice
from infra.settings import Mode, Settings, SettingsError, load_settings

SECRET = "x" * 32


def test_development_generates_the_key_and_secret_once_per_data_dir(tmp_path: Path) -> None:
    """Unset in development, the token and signing secret are made once, owner-readable only."""
    settings = Settings(data_dir=tmp_path)
    token, signing = service_credentials(settings) or ("", ())
    assert (tmp_path / "service-token").read_text() == token + "\n"
    assert (tmp_path / "service-signing-secret").read_text() == signing[0] + "\n"
    assert signing[0].startswith("vsig_")
    for name in ("service-token", "service-signing-secret"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert service_credentials(settings) == (token, signing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["service-signing-secret", "service-token"]
    assert service_key_notice(settings) == (
        f"POST /events key: {tmp_path / 'service-token'}; signing secret: "
        f"{tmp_path / 'service-signing-secret'} (requests are signed: docs/security.md, or "
        "`vitrine keys create`)"
    )


def test_configured_secrets_are_used_and_several_may_be_valid(tmp_path: Path) -> None:
    """VITRINE_SERVICE_SIGNING_SECRET takes a comma-separated list during a rotation."""
    settings = load_settings(
        data_dir=tmp_path,
        service_token="tok",
        service_signing_secret=f"{SECRET}, {'y' * 40}",
        admin_token="adm",
    )
    assert service_credentials(settings) == ("tok", (SECRET, "y" * 40))
    service, admin = bootstrap_keys(settings)
    assert (service.token, service.principal.scopes, service.principal.signing_required) == (
        "tok",
        frozenset({"events"}),
        True,
    )
    assert (admin.token, admin.principal.scopes, admin.principal.signing_secrets) == (
        "adm",
        frozenset({"admin"}),
        (),
    )
    assert list(tmp_path.iterdir()) == []


def test_production_needs_the_signing_secret_of_a_configured_token(tmp_path: Path) -> None:
    """In production a token without its signing secret stops start-up naming the variable;
    no token means no bootstrap key (and no file)."""
    with pytest.raises(SettingsError, match="VITRINE_SERVICE_SIGNING_SECRET is required"):
        service_credentials(Settings(mode=Mode.PRODUCTION, data_dir=tmp_path, service_token="t"))
    unset = Settings(mode=Mode.PRODUCTION, data_dir=tmp_path)
    assert service_credentials(unset) is None
    assert service_key_notice(unset) is None
    assert list(tmp_path.iterdir()) == []


def test_a_short_signing_secret_fails_without_echoing_it() -> None:
    """A signing secret under 32 bytes is refused, its value hidden from the message."""
    with pytest.raises(SettingsError) as caught:
        load_settings(service_signing_secret=f"{SECRET},short")
    assert str(caught.value) == (
        "invalid configuration:\n  VITRINE_SERVICE_SIGNING_SECRET: Value error, each secret must "
        "be at least 32 bytes (python -c 'import secrets; print(secrets.token_urlsafe(32))') "
        "(got a hidden value)"
    )
