"""Pure parts of the benchmark's measurements: RSS parsing, the child protocol, prices, stats."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice

import orjson
from graphql import ExecutionResult, GraphQLError

from bench import freshness, inprocess, projections, projections_worker

STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  312000 kB
VmHWM:\t  120000 kB
VmRSS:\t   97484 kB
RssAnon:\t   60000 kB
Threads:\t3
"""

ZOMBIE_STATUS = """Name:\tpython
State:\tZ (zombie)
Threads:\t1
"""

EUR_PRODUCT = freshness.PricedProduct(
    id="p-7",
    slug="p-7-wool-cap",
    currency_code="EUR",
    base_price=Decimal("19.90"),
    tiers=[
        {"minQuantity": 1, "unitPrice": "18.00"},
        {"minQuantity": 5, "unitPrice": "17.50"},
    ],
)


def test_vm_rss_is_read_in_mebibytes() -> None:
    """VmRSS (not VmHWM or VmPeak) is taken from the status text and converted from kB."""
    assert projections.parse_vm_rss_mb(STATUS) == 97484 / 1024


def test_a_zombie_has_no_rss() -> None:
    """A process that has exited but not been reaped reports no VmRSS, hence None."""
    assert projections.parse_vm_rss_mb(ZOMBIE_STATUS) is None


def test_rss_summary_is_peak_and_median() -> None:
    """Peak is the maximum, median the nearest-rank p50, both rounded to a tenth."""
    assert projections.rss_summary([90.04, 120.26, 95.0, 94.0]) == (120.3, 94.0)
    peak, median = projections.rss_summary([])
    assert math.isnan(peak)
    assert math.isnan(median)


def test_rss_by_stage_prefix() -> None:
    """Samples are selected by stage-name prefix, so "project" covers every projection."""
    run = projections.ChildRun(
        None, {"append": [80.0], "project catalog": [90.0, 91.0], "project creators": [92.0]}
    )
    assert run.rss("project") == [90.0, 91.0, 92.0]
    assert run.rss() == [80.0, 90.0, 91.0, 92.0]


def test_progress_lines_round_trip() -> None:
    """A progress line parses back to the same stage, count and total."""
    line = projections_worker.progress_line("project catalog", 4000, 97100)
    assert projections_worker.parse_line(line) == projections_worker.StageProgress(
        "project catalog", 4000, 97100
    )
    assert projections_worker.parse_line(projections_worker.progress_line("migrate", 0, None)) == (
        projections_worker.StageProgress("migrate", 0, None)
    )


def test_result_line_round_trips() -> None:
    """The result line carries the child's measurements unchanged."""
    values = {"seconds": 4.755, "events": 29645, "position": 97100}
    line = projections_worker.result_line(values)
    assert projections_worker.parse_line(line + "\n") == projections_worker.ChildResult(values)


def test_other_output_is_not_a_message() -> None:
    """Stray prints, other JSON and malformed messages are ignored, not misread."""
    assert projections_worker.parse_line("NOTICE: pg_trgm unavailable\n") is None
    assert projections_worker.parse_line("[1, 2]") is None
    assert projections_worker.parse_line('{"kind": "progress", "stage": "x", "done": "3"}') is None
    assert projections_worker.parse_line('{"kind": "result", "values": [1]}') is None


def test_prices_step_by_the_minor_unit() -> None:
    """New prices start one cent above the base and never repeat."""
    assert list(islice(freshness.new_prices(Decimal("19.9"), "EUR"), 3)) == [
        Decimal("19.91"),
        Decimal("19.92"),
        Decimal("19.93"),
    ]


def test_zero_decimal_currencies_step_by_one() -> None:
    """A currency without minor units steps by whole units, rounded like the resolvers do."""
    assert freshness.minor_unit("JPY") == Decimal(1)
    assert freshness.minor_unit("KWD") == Decimal("0.001")
    assert list(islice(freshness.new_prices(Decimal("1200"), "JPY"), 2)) == [
        Decimal("1201"),
        Decimal("1202"),
    ]


def test_price_set_event_keeps_only_tiers_above_one() -> None:
    """The event sets the new base price; a quantity-1 tier would mask it, so it is dropped."""
    at = datetime(2026, 11, 22, 6, 47, tzinfo=UTC)
    event = freshness.price_set_event(EUR_PRODUCT, Decimal("19.91"), at)
    assert event["type"] == "PriceSet"
    assert event["occurredAt"] == "2026-11-22T06:47:00Z"
    assert event["data"] == {
        "productId": "p-7",
        "currencyCode": "EUR",
        "basePrice": "19.91",
        "tiers": [{"minQuantity": 5, "unitPrice": "17.50"}],
        "segmentPrices": [],
    }


def test_list_amount_is_read_from_a_product_page() -> None:
    """The list amount is found in a response; a missing product or bad body gives None."""
    body = {"data": {"product": {"price": {"list": {"amount": "19.91", "currencyCode": "EUR"}}}}}
    assert freshness.list_amount(orjson.dumps(body)) == Decimal("19.91")
    assert freshness.list_amount(orjson.dumps({"data": {"product": None}})) is None
    assert freshness.list_amount(b"Internal Server Error") is None


def test_stage_medians_are_in_microseconds() -> None:
    """Nanosecond samples become median microseconds; counts become median integers."""
    samples = inprocess.StageSamples(
        parse=[700_000, 650_000, 720_000],
        validate=[3_000_000],
        execute=[2_000_000, 2_500_000],
        serialize=[6_100],
        total=[6_000_000],
        statements=[4, 4, 5],
        rows=[5, 7, 9],
        response_bytes=[1097],
    )
    assert inprocess.report(samples) == {
        "parse_us": 700.0,
        "validate_us": 3000.0,
        "execute_us": 2000.0,
        "serialize_us": 6.1,
        "total_us": 6000.0,
        "statements": 4,
        "rows": 7,
        "response_bytes": 1097,
        "errors": None,
    }


def test_only_the_first_error_is_kept_but_all_are_counted() -> None:
    """An operation reports its first error message and how many requests had one."""
    samples = inprocess.StageSamples(requests=200)
    samples.error("product: not found")
    samples.error("timeout")
    assert inprocess.report(samples)["errors"] == "product: not found [2 of 200 requests]"


def test_result_errors_name_their_path() -> None:
    """An execution error is described by its message and the field path it belongs to."""
    result = ExecutionResult(
        data={"product": None},
        errors=[GraphQLError("the read model took too long", path=["product", "price"])],
    )
    assert inprocess.describe_errors(result) == "the read model took too long (at product.price)"
    assert inprocess.describe_errors(ExecutionResult(data={"product": None})) is None
