"""VITRINE_TRACE_PAGE: on in development by default, off in production, refused there."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("mode", "trace_page", "enabled"),
    [
        ("development", None, True),
        ("development", "false", False),
        ("development", "true", True),
        ("production", None, False),
        ("production", "false", False),
    ],
)
def test_trace_page_defaults_to_the_mode(
    monkeypatch: pytest.MonkeyPatch, mode: str, trace_page: str | None, enabled: bool
) -> None:
    """Unset, the page follows the mode; set, the variable decides (off is always allowed)."""
    monkeypatch.setenv("VITRINE_MODE", mode)
    if trace_page is None:
        monkeypatch.delenv("VITRINE_TRACE_PAGE", raising=False)
    else:
        monkeypatch.setenv("VITRINE_TRACE_PAGE", trace_page)
    assert load_settings().trace_page_enabled is enabled


def test_trace_page_in_production_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for the trace page in production is a SettingsError naming the variable."""
    monkeypatch.setenv("VITRINE_MODE", "production")
    monkeypatch.setenv("VITRINE_TRACE_PAGE", "true")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid configuration:\n  VITRINE_TRACE_PAGE: Value error, the trace page is for "
        "development only (VITRINE_MODE=production) (got 'true')"
    )


def test_trace_page_keeps_a_bounded_number_of_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    """VITRINE_TRACE_PAGE_MAX_TRACES is read, and 0 is refused."""
    monkeypatch.setenv("VITRINE_TRACE_PAGE_MAX_TRACES", "50")
    assert load_settings().trace_page_max_traces == 50
    monkeypatch.setenv("VITRINE_TRACE_PAGE_MAX_TRACES", "0")
    with pytest.raises(SettingsError, match="VITRINE_TRACE_PAGE_MAX_TRACES"):
        load_settings()
