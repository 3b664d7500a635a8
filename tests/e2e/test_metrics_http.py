"""/metrics over real HTTP: the /graphql duration histogram by operation and outcome, the
read pool's connections and the projectors' progress."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import orjson
import pytest

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
    """After 2 good queries, 1 invalid document and 1 field error, the histogram counts each by
    operation and outcome; pool limits, head and a zero lag read exactly once caught up."""
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
        price = event(
            "PriceSet",
            productId="p1",
            currencyCode="EUR",
            basePrice="9.00",
            tiers=[],
            segmentPrices=[],
        )
        posted = server.post_events(orjson.dumps([price]))
        assert (posted.status_code, posted.json()["head"]) == (202, 4)  # the mug store's 3, +1

        deadline = time.monotonic() + 20
        while True:
            metrics = samples(server.url)
            lags = {
                k: v for k, v in metrics.items() if k.startswith("vitrine_projector_lag_events")
            }
            if metrics["vitrine_event_log_head"] == 4 and set(lags.values()) == {0.0}:
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
