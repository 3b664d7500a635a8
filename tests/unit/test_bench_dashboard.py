"""The dashboard phase's pure parts: which creators, which ranges, which tokens, the report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
import orjson
import pytest

from bench.cli import build_options
from bench.dashboard import (
    RANGES,
    RUNS,
    VIRAL_CREATOR_ID,
    CreatorOrders,
    DashboardError,
    auth_headers,
    cases,
    choose_creators,
    creator_token,
    dashboard_summary,
    largest_creator,
    median_creator,
    order_rank,
    range_variables,
)
from bench.load import lua_headers, render_script
from bench.report import dashboard_section, render_markdown
from bench.server import JWT_SECRET, PreflightError
from bench.workload import OWN_PHASE, Operation
from infra.auth import decode_token
from resolvers.ids import encode_id

ROWS = [
    CreatorOrders("cr-1", "s-1", 900),
    CreatorOrders("cr-2", "s-2", 40),
    CreatorOrders("cr-3", "s-3", 75),
    CreatorOrders("cr-10", "s-10", 40),
    CreatorOrders("cr-4", "s-4", 10),
]


def test_the_typical_creator_has_the_median_order_count() -> None:
    """The typical creator has the median order count."""
    # Sorted: cr-4 10, cr-2 40, cr-10 40, cr-3 75, cr-1 900 -> the third.
    assert median_creator(ROWS).creator_id == "cr-10"


def test_an_even_count_takes_the_lower_median_and_ties_go_in_natural_order() -> None:
    """An even count takes the lower median and ties go in natural order."""
    rows = [*ROWS, CreatorOrders("cr-5", "s-5", 40)]
    # cr-4 10, cr-2 40, cr-5 40, cr-10 40, cr-3 75, cr-1 900 -> index 2.
    assert median_creator(rows).creator_id == "cr-5"


def test_the_median_does_not_depend_on_the_rows_order() -> None:
    """The median does not depend on the rows order."""
    assert median_creator(list(reversed(ROWS))) == median_creator(ROWS)


def test_the_largest_creator_and_ranks_by_orders() -> None:
    """The largest creator and ranks by orders."""
    assert largest_creator(ROWS).creator_id == "cr-1"
    tie = [CreatorOrders("cr-12", "s-12", 5), CreatorOrders("cr-3", "s-3", 5)]
    assert largest_creator(tie).creator_id == "cr-3"
    assert order_rank(ROWS, "cr-1") == 1
    assert order_rank(ROWS, "cr-2") == 3  # after cr-3 (75); before cr-10 (40, natural order)
    assert order_rank(ROWS, "cr-4") == 5


def test_no_creators_is_an_error() -> None:
    """No creators is an error."""
    with pytest.raises(DashboardError):
        median_creator([])
    with pytest.raises(DashboardError):
        largest_creator([])


def test_the_viral_creator_is_cr_1_and_must_have_a_store() -> None:
    """The viral creator is cr 1 and must have a store."""
    assert VIRAL_CREATOR_ID == "cr-1"
    chosen = choose_creators(ROWS)
    assert (chosen["viral"].creator_id, chosen["typical"].creator_id) == ("cr-1", "cr-10")
    with pytest.raises(DashboardError, match="cr-1"):
        choose_creators(ROWS[1:])


def test_range_variables() -> None:
    """Range variables."""
    end = date(2026, 11, 22)
    assert range_variables(None, end) == {}
    assert range_variables(7, end) == {"range": {"from": "2026-11-16", "to": "2026-11-22"}}
    # 366 days, both ends included: the longest range the dashboard accepts.
    assert range_variables(366, end) == {"range": {"from": "2025-11-22", "to": "2026-11-22"}}
    assert range_variables(1, end) == {"range": {"from": "2026-11-22", "to": "2026-11-22"}}
    with pytest.raises(ValueError, match="at least one day"):
        range_variables(0, end)


def test_cases_cover_every_creator_and_range() -> None:
    """Cases cover every creator and range."""
    operation = Operation("CreatorDashboard", "query CreatorDashboard { x }", ())
    chosen = cases(operation, choose_creators(ROWS), date(2026, 11, 22))
    assert [c.label for c in chosen] == [
        "dashboard-viral-default",
        "dashboard-viral-7d",
        "dashboard-viral-366d",
        "dashboard-typical-default",
        "dashboard-typical-7d",
        "dashboard-typical-366d",
    ]
    assert [c.creator_id for c in chosen] == ["cr-1"] * 3 + ["cr-10"] * 3
    assert chosen[0].body == {"query": operation.query, "variables": {}}
    assert chosen[2].body["variables"]["range"]["from"] == "2025-11-22"
    assert RUNS == 2 * len(chosen) == 2 * 2 * len(RANGES)


def test_the_creator_token_decodes_with_the_bench_servers_secret() -> None:
    """The creator token decodes with the bench servers secret."""
    token = creator_token("cr-7", now=1_000_000)
    identity = decode_token(token, JWT_SECRET, now=1_000_100)
    assert identity.roles == frozenset({"CREATOR"})
    assert identity.creator_id == "cr-7"
    assert identity.sub == "bench-cr-7"
    assert auth_headers(token) == {"Authorization": f"Bearer {token}"}


def test_the_lua_script_sends_the_extra_headers() -> None:
    """The lua script sends the extra headers."""
    assert lua_headers() == '{ ["Content-Type"] = "application/json" }'
    assert lua_headers({"Authorization": 'Bearer a"b'}) == (
        '{ ["Content-Type"] = "application/json", ["Authorization"] = "Bearer a\\"b" }'
    )
    script = render_script(
        bodies=Path("/tmp/x.bodies"),
        result=Path("/tmp/r.json"),
        request_path="/graphql",
        threads=2,
        headers={"Authorization": "Bearer t"},
    )
    assert "{{" not in script
    assert 'local headers = { ["Content-Type"] = "application/json", ["Authorization"]' in script


def _answer(creator_id: str, **extra: Any) -> bytes:
    dashboard = {
        "creator": {"id": encode_id("Creator", creator_id), "handle": "h", "name": "n"},
        "revenue": {"orders": 12, "daily": [{"date": "2026-11-22"}] * 7},
        "topProducts": [{}, {}, {}],
        "insights": [{"kind": "REVENUE_DROP"}],
        **extra,
    }
    return orjson.dumps({"data": {"creatorDashboard": dashboard}})


def test_the_dashboard_summary_checks_the_creator() -> None:
    """The dashboard summary checks the creator."""
    assert dashboard_summary(_answer("cr-1"), "cr-1") == {
        "orders": 12,
        "days": 7,
        "top_products": 3,
        "insights": ["REVENUE_DROP"],
    }
    with pytest.raises(PreflightError, match="cr-2"):
        dashboard_summary(_answer("cr-1"), "cr-2")
    with pytest.raises(PreflightError):
        dashboard_summary(orjson.dumps({"data": {"creatorDashboard": None}}), "cr-1")


def test_the_load_phase_leaves_the_dashboard_to_its_phase() -> None:
    """The load phase leaves the dashboard to its phase."""
    assert "CreatorDashboard" in OWN_PHASE


def test_only_dashboard_and_no_dashboard_phase() -> None:
    """Only dashboard and no dashboard phase."""
    common: dict[str, Any] = dict(
        quick=True,
        workers=1,
        connections=32,
        threads=2,
        duration=None,
        warmup=None,
        operations=None,
        scales=None,
        freshness=True,
        rebuild=True,
    )
    assert build_options(**common).dashboard_phase is True
    assert build_options(**common, dashboard_phase=False).dashboard_phase is False
    assert build_options(**common, only="dashboard").only == "dashboard"
    with pytest.raises(click.BadParameter, match="contradicts"):
        build_options(**common, only="dashboard", dashboard_phase=False)


def _run(rps: float, p50: float = 10.0, p99: float = 40.0) -> dict[str, Any]:
    return {
        "rps": rps,
        "latency_ms": {"p50": p50, "p95": p99 / 2, "p99": p99},
        "cpu_us_per_request": 1500.0,
        "db_cpu_us_per_request": 300.0,
        "non_2xx": 0,
        "socket_errors": 0,
    }


DASHBOARD = {
    "creators": {
        "viral": {"creator_id": "cr-1", "store_id": "s-1", "orders": 900, "order_rank": 1},
        "typical": {"creator_id": "cr-10", "store_id": "s-10", "orders": 40, "order_rank": 3},
    },
    "largest_by_orders": {"creator_id": "cr-1", "store_id": "s-1", "orders": 900},
    "viral_is_largest": True,
    "creators_with_store": 5,
    "dataset_now": "2026-11-22",
    "server_today": "2026-12-04",
    "cases": {
        "dashboard-viral-366d": {
            "who": "viral",
            "creator_id": "cr-1",
            "range": "366d",
            "range_label": "366 days to the dataset's now",
            "response_bytes": 4321,
            "answer": {"orders": 900},
            "graphql": _run(123.4, 200.5, 412.25),
            "floor": _run(20000.0),
            "ratio_to_floor": 0.00617,
            "inprocess": {"statements": 7, "execute_us": 8123.4},
        }
    },
}


def test_the_dashboard_section_renders_each_case() -> None:
    """The dashboard section renders each case."""
    text = "\n\n".join(dashboard_section(DASHBOARD))
    assert "| viral cr-1 | 366 days to the dataset's now | 123 | 20,000 | 0.00617 |" in text
    assert "| 200.50 | 412.25 | 1,500 | 300 | 7 | 8,123 | 900 | 4,321 | 0 |" in text
    assert "the viral creator is also the largest by orders" in text
    assert "typical cr-10 (store s-10, 40 orders, #3 of 5 by orders)" in text
    assert dashboard_section({"skipped": "--no-dashboard-phase"})[-1] == "_--no-dashboard-phase_"


def test_the_report_of_only_dashboard() -> None:
    """The report of only dashboard."""
    results = {
        "timestamp": "T",
        "settings": {
            "only": "dashboard",
            "main_scale": "small",
            "workers": 1,
            "threads": 2,
            "connections": 32,
            "duration_s": 10,
            "warmup_s": 3,
        },
        "machine": {"nproc": 2, "cpu_model": "x", "python": "3.12"},
        "datasets": {"small": {"products": 1897, "events": 97106}},
        "dashboard": DASHBOARD,
        "phases_seconds": {"dashboard": 150.0},
        "problems": [],
    }
    text = render_markdown(results)
    assert "### Creator dashboard (viral vs typical creator)" in text
    assert "| viral cr-1 |" in text
    assert "### Phases (seconds)" in text
