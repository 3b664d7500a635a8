"""The pure decision of /readyz: which checks make a gateway ready, and the body's shape."""

from __future__ import annotations

from infra.readiness import (
    database_check,
    decide,
    migrations_check,
    migrations_unreadable,
    projectors_check,
    redis_check,
)

PASSING = {
    "database": {"ok": True},
    "migrations": {"ok": True, "current": "0007", "head": "0007"},
    "projectors": {"ok": True, "lagEvents": 0},
}


def test_every_required_check_passing_is_ready_whatever_redis_says() -> None:
    """Redis up, down or absent never changes a ready answer."""
    for redis in (
        {"ok": True},
        {"ok": False, "detail": "unreachable or too slow"},
        {"ok": None, "detail": "not configured"},
    ):
        checks = {**PASSING, "redis": redis}
        assert decide(checks) == (200, {"status": "ready", "checks": checks})


def test_any_failing_required_check_is_not_ready() -> None:
    """A failing database, migrations or projectors check each make the answer 503."""
    for name, failed in (
        ("database", {"ok": False, "detail": "unreachable or too slow"}),
        ("migrations", {"ok": False, "current": "0006", "head": "0007"}),
        ("projectors", {"ok": False, "lagEvents": 10_001}),
    ):
        checks = {**PASSING, name: failed}
        assert decide(checks) == (503, {"status": "not_ready", "checks": checks})


def test_a_missing_required_check_counts_as_failed() -> None:
    """Without a projectors check at all the gateway is not ready."""
    checks = {"database": {"ok": True}, "migrations": PASSING["migrations"]}
    assert decide(checks) == (503, {"status": "not_ready", "checks": checks})


def test_migrations_are_current_only_at_exactly_the_head() -> None:
    """Older, newer and absent revisions all fail; only the head passes."""
    assert migrations_check("0007", "0007") == {"ok": True, "current": "0007", "head": "0007"}
    assert migrations_check("0006", "0007") == {"ok": False, "current": "0006", "head": "0007"}
    assert migrations_check("0008", "0007") == {"ok": False, "current": "0008", "head": "0007"}
    assert migrations_check(None, "0007") == {"ok": False, "current": None, "head": "0007"}
    assert migrations_unreadable("0007") == {
        "ok": False,
        "current": None,
        "head": "0007",
        "detail": "revision unreadable",
    }


def test_projector_lag_is_counted_in_events_up_to_the_threshold_inclusive() -> None:
    """Lag equal to the threshold passes, one more event fails, and lag is never negative."""
    assert projectors_check(90, 100, 10) == {"ok": True, "lagEvents": 10}
    assert projectors_check(89, 100, 10) == {"ok": False, "lagEvents": 11}
    assert projectors_check(100, 100, 0) == {"ok": True, "lagEvents": 0}
    assert projectors_check(100, 90, 0) == {"ok": True, "lagEvents": 0}


def test_database_and_redis_checks_carry_fixed_messages() -> None:
    """Failures read as fixed texts, never an exception's message."""
    assert database_check(True) == {"ok": True}
    assert database_check(False) == {"ok": False, "detail": "unreachable or too slow"}
    assert redis_check(configured=False, reachable=False) == {
        "ok": None,
        "detail": "not configured",
    }
    assert redis_check(configured=True, reachable=True) == {"ok": True}
    assert redis_check(configured=True, reachable=False) == {
        "ok": False,
        "detail": "unreachable or too slow",
    }
