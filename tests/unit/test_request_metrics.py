"""The /graphql duration histogram's labels: bounded operation names and outcomes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from infra.access_log import OPERATION_KEY
from infra.request_metrics import (
    GRAPHQL_ERRORS_KEY,
    OTHER_OPERATION,
    OperationLabels,
    RequestMetrics,
    outcome,
)

COUNT = "vitrine_http_request_duration_seconds_count"


def test_names_past_the_limit_fold_into_other() -> None:
    """The first `limit` distinct names keep their own label; later ones read `other`."""
    labels = OperationLabels(limit=2)
    assert [labels.label(n) for n in ("A", "B", "C", "A", "B", "D")] == [
        "A",
        "B",
        OTHER_OPERATION,
        "A",
        "B",
        OTHER_OPERATION,
    ]


def test_an_unknown_name_is_empty_and_takes_no_slot() -> None:
    """None and "" label as "" and do not use up the limit."""
    labels = OperationLabels(limit=1)
    assert [labels.label(n) for n in (None, "", "A", None, "B")] == ["", "", "A", "", "other"]


def test_outcome_by_status_and_errors() -> None:
    """5xx is failed, 4xx rejected, errors in a 200 error, the rest ok."""
    assert [
        outcome(200, False),
        outcome(200, True),
        outcome(304, False),
        outcome(400, True),
        outcome(429, False),
        outcome(499, False),
        outcome(500, True),
        outcome(504, False),
    ] == ["ok", "error", "ok", "rejected", "rejected", "rejected", "failed", "failed"]


def test_only_graphql_requests_are_observed_with_capped_labels() -> None:
    """/graphql requests count under their operation and outcome; other paths not at all."""
    registry = CollectorRegistry()
    metrics = RequestMetrics(registry, max_operations=1)
    metrics.observe({"path": "/graphql", OPERATION_KEY: ("query", "A")}, 200, 0.001)
    metrics.observe({"path": "/graphql", OPERATION_KEY: ("query", "A")}, 200, 0.002)
    metrics.observe({"path": "/graphql", OPERATION_KEY: ("query", "B")}, 200, 0.001)
    metrics.observe(
        {"path": "/graphql", OPERATION_KEY: ("query", "A"), GRAPHQL_ERRORS_KEY: True}, 200, 0.001
    )
    metrics.observe({"path": "/graphql"}, 400, 0.001)
    metrics.observe({"path": "/metrics"}, 200, 0.001)

    def count(operation: str, result: str) -> float | None:
        return registry.get_sample_value(COUNT, {"operation": operation, "outcome": result})

    assert [count("A", "ok"), count("other", "ok"), count("A", "error"), count("", "rejected")] == [
        2.0,
        1.0,
        1.0,
        1.0,
    ]
    assert (
        registry.get_sample_value(
            "vitrine_http_request_duration_seconds_sum", {"operation": "A", "outcome": "ok"}
        )
        == 0.003
    )
    assert count("", "ok") is None
