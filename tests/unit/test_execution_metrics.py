"""Execution metrics: per-request observations aggregated into exact histogram buckets."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from infra.execution_metrics import ExecutionMetrics
from infra.metrics_histogram import OTHER_LABEL, PendingHistogram
from resolvers.observations import Observations

BUCKETS = (0.001, 0.01, 0.1)
VALUES = [0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 0.5, 3.0, 0.001]


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_pending_counts_equal_one_observe_per_value() -> None:
    """Values applied in one go give the same buckets, count and sum as observing each."""
    one_by_one, pending = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("h", "h", ["field"], buckets=BUCKETS, registry=one_by_one)
    for value in VALUES:
        direct.labels("Query.product").observe(value)
    direct.labels("Product.price").observe(0.02)
    histogram = PendingHistogram(
        Histogram("h", "h", ["field"], buckets=BUCKETS, registry=pending), BUCKETS, max_labels=5
    )
    histogram.observe_all("Query.product", VALUES[:4])
    histogram.observe_all("Query.product", VALUES[4:])
    histogram.observe("Product.price", 0.02)
    histogram.flush()
    assert _samples(pending) == _samples(one_by_one)
    assert pending.get_sample_value("h_bucket", {"field": "Query.product", "le": "0.001"}) == 3.0


def test_nothing_is_applied_twice_or_before_flush() -> None:
    """Pending counts reach the histogram at flush, once: a second flush adds nothing."""
    registry = CollectorRegistry()
    histogram = PendingHistogram(
        Histogram("h", "h", buckets=BUCKETS, registry=registry), BUCKETS, labelled=False
    )
    histogram.observe("", 0.005)
    histogram.observe_all("", [])
    assert registry.get_sample_value("h_count") == 0.0
    histogram.flush()
    histogram.flush()
    histogram.observe("", 2.0)
    histogram.flush()
    assert [
        registry.get_sample_value("h_bucket", {"le": le}) for le in ("0.001", "0.01", "0.1", "+Inf")
    ] == [0.0, 1.0, 1.0, 2.0]
    assert registry.get_sample_value("h_sum") == 2.005


def test_labels_past_the_cap_count_as_other() -> None:
    """Past `max_labels` distinct values, observations go to the `other` series."""
    registry = CollectorRegistry()
    histogram = PendingHistogram(
        Histogram("h", "h", ["loader"], buckets=BUCKETS, registry=registry), BUCKETS, max_labels=2
    )
    for loader in ("A", "B", "C", "D", "A"):
        histogram.observe(loader, 0.5)
    histogram.flush()
    counts = {
        labels: registry.get_sample_value("h_count", {"loader": labels})
        for labels in ("A", "B", "C", "D", OTHER_LABEL)
    }
    assert counts == {"A": 2.0, "B": 1.0, "C": None, "D": None, OTHER_LABEL: 2.0}


def test_execution_metrics_count_fields_batches_and_statements() -> None:
    """Two requests' observations show as exact buckets once the registry is collected."""
    registry = CollectorRegistry()
    metrics = ExecutionMetrics(registry)
    listing = Observations(
        statements=4,
        batches=[("ProductByIdLoader", 48), ("RatingByProductLoader", 48), ("CategoryLoader", 1)],
        fields={"Query.category": [0.0004], "Product.price": [0.00002] * 47 + [0.003]},
    )
    metrics.observe(listing)
    metrics.observe(Observations(statements=0))
    bucket = "vitrine_resolver_duration_seconds_bucket"
    assert [
        registry.get_sample_value(bucket, {"field": "Product.price", "le": le})
        for le in ("1e-05", "2.5e-05", "0.0025", "0.005", "+Inf")
    ] == [0.0, 47.0, 47.0, 48.0, 48.0]
    assert (
        registry.get_sample_value(
            "vitrine_resolver_duration_seconds_count", {"field": "Query.category"}
        )
        == 1.0
    )
    batch = "vitrine_dataloader_batch_size_bucket"
    assert [
        registry.get_sample_value(batch, {"loader": "ProductByIdLoader", "le": le})
        for le in ("25.0", "50.0")
    ] == [0.0, 1.0]
    assert (
        registry.get_sample_value("vitrine_dataloader_batch_size_sum", {"loader": "CategoryLoader"})
        == 1.0
    )
    statements = "vitrine_sql_statements_per_request_bucket"
    assert [
        registry.get_sample_value(statements, {"le": le}) for le in ("0.0", "3.0", "4.0", "+Inf")
    ] == [1.0, 1.0, 2.0, 2.0]
    assert registry.get_sample_value("vitrine_sql_statements_per_request_sum") == 4.0
