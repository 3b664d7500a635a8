"""/metrics over real HTTP: request durations by operation and outcome, execution costs
(resolver fields, DataLoader batches, statements per request), cache lookups, the read
pool, the projectors' progress and throughput; and one view of several uvicorn workers."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.e2e.events import event
from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e

PRODUCT_PAGE = 'query ProductPage { product(slug: "mug") { title } }'
INVALID = 'query Broken { product(slug: "mug") { nope } }'
BAD_ID = 'query BadId { product(id: "not-an-id") { title } }'
STRICT = "application/graphql-response+json"


def samples(url: str) -> dict[str, float]:
    """Every sample of /metrics, by its name and labels as written."""
    response = httpx.get(f"{url}/metrics", timeout=30)
    assert response.status_code == 200
    found = re.findall(r"^(\S+) (\S+)$", response.text, re.MULTILINE)
    return {name: float(value) for name, value in found}


def test_metrics_count_requests_and_report_pool_and_progress(world: str, tmp_path: Path) -> None:
    """After 2 good queries (the second a cache hit), 1 invalid document and 1 field error,
    the histogram counts each by operation and outcome; the two executed ones count their
    resolver, batch and statements; the cache its lookups; after 3 events the catalog
    projection counts them; pool limits, head and a zero lag read exactly once caught up."""
    with running_server(world, tmp_path, pool_size="3", pool_max_overflow="2") as server:
        for _ in range(2):
            page = server.graphql(PRODUCT_PAGE)
            assert (page.status_code, page.json()["data"]) == (200, {"product": {"title": "Mug"}})
        invalid = server.graphql(INVALID, accept=STRICT)
        assert invalid.status_code == 400
        assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        bad = server.graphql(BAD_ID)
        assert (bad.status_code, bad.json()["errors"][0]["extensions"]["code"]) == (
            200,
            "INVALID_ID",
        )
        prices = [
            event(
                "PriceSet",
                productId="p1",
                currencyCode="EUR",
                basePrice=base,
                tiers=[],
                segmentPrices=[],
            )
            for base in ("9.00", "9.50", "10.00")
        ]
        posted = server.post_events(orjson.dumps(prices))
        assert (posted.status_code, posted.json()["head"]) == (202, 6)  # the mug store's 3, +3

        deadline = time.monotonic() + 20
        while True:
            metrics = samples(server.url)
            lags = {
                k: v for k, v in metrics.items() if k.startswith("vitrine_projector_lag_events")
            }
            if metrics["vitrine_event_log_head"] == 6 and set(lags.values()) == {0.0}:
                break
            assert time.monotonic() < deadline, f"projectors never caught up: {lags}"

    count = "vitrine_http_request_duration_seconds_count"
    counts = {k: v for k, v in metrics.items() if k.startswith(count)}
    assert counts == {
        f'{count}{{operation="ProductPage",outcome="ok"}}': 2.0,
        f'{count}{{operation="",outcome="rejected"}}': 1.0,
        f'{count}{{operation="BadId",outcome="error"}}': 1.0,
    }
    assert len(lags) >= 1
    assert metrics["vitrine_projector_lag_seconds"] == 0.0
    assert metrics['vitrine_read_pool_max_connections{pool="generic"}'] == 5.0
    assert metrics['vitrine_read_pool_max_connections{pool="custom_plan"}'] == 2.0
    assert metrics['vitrine_read_pool_connections{pool="generic",state="in_use"}'] == 0.0
    # How many were opened depends on how the resolvers overlapped: at least the first one.
    assert metrics['vitrine_read_pool_connections{pool="generic",state="idle"}'] >= 1.0
    # Executed: ProductPage (one product by slug, 1 statement) and BadId (no statement: the
    # id does not decode); the second ProductPage came from the cache.
    assert matching(metrics, "vitrine_resolver_duration_seconds_count") == {
        '{field="Query.product"}': 2.0
    }
    assert matching(metrics, "vitrine_dataloader_batch_size_count") == {
        '{loader="ProductBySlugLoader"}': 1.0
    }
    assert (
        metrics['vitrine_dataloader_batch_size_bucket{le="1.0",loader="ProductBySlugLoader"}'] == 1
    )
    statements = matching(metrics, "vitrine_sql_statements_per_request_bucket")
    assert [statements[f'{{le="{le}"}}'] for le in ("0.0", "1.0", "2.0", "+Inf")] == [1, 2, 2, 2]
    assert metrics["vitrine_sql_statements_per_request_sum"] == 1.0
    assert matching(metrics, "vitrine_cache_lookups_total") == {
        '{level="l1",result="hit"}': 1.0,
        '{level="l1",result="miss"}': 2.0,
        '{level="l2",result="hit"}': 0.0,
        '{level="l2",result="miss"}': 0.0,
    }
    events = matching(metrics, "vitrine_projector_events_total")
    assert {labels: count for labels, count in events.items() if count} == {
        '{projection="catalog"}': 3.0
    }
    assert len(events) == len(lags)  # every projection ran a batch (of 0 events or more)


def matching(metrics: dict[str, float], name: str) -> dict[str, float]:
    """The samples of one series, by their labels as written."""
    return {k[len(name) :]: v for k, v in metrics.items() if re.fullmatch(rf"{name}(\{{.*}})?", k)}


def requests_by_worker(directory: Path) -> dict[str, float]:
    """/graphql requests each worker counted, read from its own file in the directory."""
    counts: dict[str, float] = {}
    for file in directory.glob("histogram_*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        for family in MultiProcessCollector.merge([str(file)]):
            for sample in family.samples:
                if sample.name == "vitrine_http_request_duration_seconds_count":
                    counts[pid] = counts.get(pid, 0.0) + sample.value
    return counts


def test_two_workers_report_every_request_on_every_scrape(world: str, tmp_path: Path) -> None:
    """Under `uvicorn --workers 2` with PROMETHEUS_MULTIPROC_DIR, requests answered by both
    workers all count on every scrape, counters summed, pool gauges summed, no counter split
    by pid; at exit the workers' live gauges leave the directory and their counts stay."""
    directory = tmp_path / "prometheus"
    with running_server(
        world,
        tmp_path,
        uvicorn_workers=2,
        environment={"PROMETHEUS_MULTIPROC_DIR": str(directory)},
        pool_size="2",
        pool_max_overflow="1",
        response_cache="false",  # every request executes, whichever worker answers
    ) as server:
        sent = 0
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(4) as pool:
            while True:
                # Concurrent requests, each on its own connection, land on both workers.
                pages = list(pool.map(lambda _: server.graphql(PRODUCT_PAGE), range(4)))
                assert [p.json()["data"] for p in pages] == [{"product": {"title": "Mug"}}] * 4
                sent += len(pages)
                workers = requests_by_worker(directory)
                if len(workers) == 2 and all(workers.values()):
                    break
                assert time.monotonic() < deadline, f"one worker answered everything: {workers}"

        count = 'vitrine_http_request_duration_seconds_count{operation="ProductPage",outcome="ok"}'
        # The worker that did not answer a scrape writes its execution counts every second.
        deadline = time.monotonic() + 20
        while True:
            metrics = samples(server.url)
            if (
                metrics.get(count) == sent
                and metrics["vitrine_sql_statements_per_request_count"] == sent
            ):
                break
            assert time.monotonic() < deadline, f"{sent} sent, scraped {metrics.get(count)}"
        for _ in range(8):
            metrics = samples(server.url)
            assert metrics[count] == sent
            assert metrics["vitrine_sql_statements_per_request_count"] == sent
            assert metrics['vitrine_resolver_duration_seconds_count{field="Query.product"}'] == sent
            assert (
                metrics['vitrine_dataloader_batch_size_count{loader="ProductBySlugLoader"}'] == sent
            )
            assert metrics['vitrine_read_pool_max_connections{pool="generic"}'] == 6.0  # 2 x 3
            by_pid = {re.sub(r"\{.*", "", k) for k in metrics if 'pid="' in k}
            assert by_pid == {"vitrine_promotion_predicate_hit_ratio"}
        pids = set(requests_by_worker(directory))
        assert {p.name for p in directory.glob("gauge_*.db")} == {
            f"gauge_{mode}_{pid}.db" for mode in ("liveall", "livemax", "livesum") for pid in pids
        }
    assert list(directory.glob("gauge_*.db")) == []
    assert sum(requests_by_worker(directory).values()) == sent
