"""The insight metrics projection on real PostgreSQL: exact day, product and customer rows
under orders, cancellations in either order and traffic; replays, rebuilds, the two range
queries, and the work per batch."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn, count_statements
from infra.readpool import ReadPool
from readmodels.eventlog.store import read_events
from readmodels.insights.projection import METRICS_TABLES, InsightMetricsProjection
from readmodels.insights.queries import store_days, store_product_sales
from readmodels.insights.rows import DayRow, ProductSalesRow
from readmodels.projections import all_projections
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.checkpoints import read_checkpoints
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from tests.readmodels.streams import Raw, StreamBuilder, append_raw
from tests.readmodels.waiting import every_projection_at

Rows = dict[str, list[tuple[Any, ...]]]

D1, D2, D3, D4, D5 = (date(2026, 3, d) for d in range(1, 6))


def place(
    builder: StreamBuilder,
    order_id: str,
    *,
    store: str = "s-1",
    customer: str = "cu-1",
    day: date = D1,
    lines: list[tuple[str, int, str]],
    total: str | None = None,
) -> Raw:
    """An OrderPlaced at noon UTC of `day`; the total defaults to the lines' sum."""
    if total is None:
        total = str(sum((q * Decimal(u) for _, q, u in lines), Decimal(0)))
    return builder.add(
        "OrderPlaced",
        orderId=order_id,
        storeId=store,
        customerId=customer,
        placedAt=f"{day.isoformat()}T12:00:00Z",
        currencyCode="EUR",
        lines=[{"productId": p, "quantity": q, "unitPrice": u} for p, q, u in lines],
        total=total,
    )


def cancel(builder: StreamBuilder, order_id: str) -> Raw:
    return builder.add("OrderCancelled", orderId=order_id)


def traffic(builder: StreamBuilder, store: str, day: date, sessions: int) -> Raw:
    return builder.add(
        "StoreTrafficRecorded", storeId=store, date=day.isoformat(), sessions=sessions
    )


async def project(engine: AsyncEngine, builder: StreamBuilder, batch_size: int = 100) -> set[str]:
    """Append the builder's events (then forget them), catch up, return the tags announced."""
    await append_raw(engine, builder.events)
    builder.events.clear()
    outcomes: list[BatchOutcome] = []
    await catch_up(
        engine, [InsightMetricsProjection()], batch_size=batch_size, on_batch=outcomes.append
    )
    return set().union(*(o.tags for o in outcomes))


async def tables(engine: AsyncEngine) -> Rows:
    """The four metrics tables, rows ordered by all their columns (revenue as text, so the
    stored scale is compared too)."""
    async with engine.connect() as conn:
        return {
            table.name: [
                tuple(str(v) if isinstance(v, Decimal) else v for v in row)
                for row in await conn.execute(select(table).order_by(*table.c[:3]))
            ]
            for table in METRICS_TABLES
        }


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(database_url, max_size=2)
    yield pool
    await pool.close()


def random_stream(seed: int) -> StreamBuilder:
    """Orders over 3 stores, 6 customers, 5 days and 5 products with repeats, duplicate
    placements, cancellations either side of their placement and traffic updates."""
    builder = StreamBuilder(random.Random(seed))
    rng = builder.rng
    prices = ["1.00", "2.50", "0.125", "19.99", "7"]
    placed: list[str] = []
    cancel(builder, "o-early")
    for i in range(160):
        lines = [
            (f"p-{p}", rng.randint(1, 3), prices[p])
            for p in rng.sample(range(5), rng.randint(1, 3))
        ]
        kwargs: dict[str, Any] = {
            "store": f"s-{rng.randint(1, 3)}",
            "customer": f"cu-{rng.randint(1, 6)}",
            "day": date(2026, 3, rng.randint(1, 5)),
        }
        place(builder, f"o-{i}", lines=lines, **kwargs)
        placed.append(f"o-{i}")
        roll = rng.random()
        if roll < 0.2:
            cancel(builder, placed.pop(rng.randrange(len(placed))))
        elif roll < 0.25:
            place(builder, f"o-{i}", lines=lines[:1], total="1")  # again, another event id
        elif roll < 0.35:
            traffic(builder, f"s-{rng.randint(1, 3)}", date(2026, 3, rng.randint(1, 5)), i)
        if i == 80:
            place(builder, "o-early", lines=[("p-0", 5, "1.00")])
    cancel(builder, placed[0])
    cancel(builder, placed[0])
    return builder


async def test_orders_cancellations_and_traffic_give_exact_rows(engine: AsyncEngine) -> None:
    """Day, product, customer and order rows after two batches match the hand-computed
    metrics exactly, and each batch tags the stores whose metrics moved."""
    builder = StreamBuilder(random.Random(1))
    place(builder, "o-1", day=D1, lines=[("p-a", 2, "3.50"), ("p-b", 1, "4")], total="12.90")
    place(builder, "o-2", customer="cu-2", day=D1, lines=[("p-a", 1, "3.50")])
    place(builder, "o-3", day=D3, lines=[("p-b", 3, "4")])
    place(builder, "o-4", store="s-2", day=D2, lines=[("p-z", 1, "0.125")])
    traffic(builder, "s-1", D1, 120)
    traffic(builder, "s-1", D2, 40)
    first = await project(engine, builder)
    after_first = await tables(engine)
    cancel(builder, "o-3")
    place(builder, "o-5", day=D4, lines=[("p-a", 1, "3.50")])
    traffic(builder, "s-1", D1, 130)
    second = await project(engine, builder)
    assert first == {"store-metrics:s-1", "store-metrics:s-2"}
    assert after_first["store_daily"] == [
        ("s-1", D1, "16.400000", 2, 4, 120, 0),
        ("s-1", D2, "0.000000", 0, 0, 40, 0),
        ("s-1", D3, "12.000000", 1, 3, 0, 1),
        ("s-2", D2, "0.125000", 1, 1, 0, 0),
    ]
    assert second == {"store-metrics:s-1"}
    assert await tables(engine) == {
        "store_daily": [
            ("s-1", D1, "16.400000", 2, 4, 130, 0),
            ("s-1", D2, "0.000000", 0, 0, 40, 0),
            ("s-1", D4, "3.500000", 1, 1, 0, 1),
            ("s-2", D2, "0.125000", 1, 1, 0, 0),
        ],
        "store_product_daily": [
            ("s-1", D1, "p-a", 3, "10.500000"),
            ("s-1", D1, "p-b", 1, "4.000000"),
            ("s-1", D4, "p-a", 1, "3.500000"),
            ("s-2", D2, "p-z", 1, "0.125000"),
        ],
        "store_customers": [
            ("s-1", "cu-1", [D1, D4]),
            ("s-1", "cu-2", [D1]),
            ("s-2", "cu-1", [D2]),
        ],
        "insight_orders": [
            (
                "o-1",
                "s-1",
                "cu-1",
                D1,
                "12.900000",
                [["p-a", 2, "7.000000"], ["p-b", 1, "4.000000"]],
                False,
            ),
            ("o-2", "s-1", "cu-2", D1, "3.500000", [["p-a", 1, "3.500000"]], False),
            ("o-3", "s-1", "cu-1", D3, "12.000000", [["p-b", 3, "12.000000"]], True),
            ("o-4", "s-2", "cu-1", D2, "0.125000", [["p-z", 1, "0.125000"]], False),
            ("o-5", "s-1", "cu-1", D4, "3.500000", [["p-a", 1, "3.500000"]], False),
        ],
    }


async def test_emptied_rows_go(engine: AsyncEngine) -> None:
    """Cancelling a store's only order and zeroing its traffic leaves no day, product or
    customer row for it, as if nothing had happened."""
    builder = StreamBuilder(random.Random(2))
    place(builder, "o-1", day=D1, lines=[("p-a", 1, "5")])
    traffic(builder, "s-1", D2, 9)
    await project(engine, builder)
    cancel(builder, "o-1")
    traffic(builder, "s-1", D2, 0)
    tags = await project(engine, builder)
    rows = await tables(engine)
    assert tags == {"store-metrics:s-1"}
    assert (rows["store_daily"], rows["store_product_daily"], rows["store_customers"]) == (
        [],
        [],
        [],
    )


async def test_a_cancel_before_its_place_counts_nothing(engine: AsyncEngine) -> None:
    """An OrderCancelled in an earlier batch than its OrderPlaced leaves a tombstone and no
    metrics at all."""
    builder = StreamBuilder(random.Random(3))
    cancel(builder, "o-1")
    first = await project(engine, builder)
    place(builder, "o-1", day=D2, lines=[("p-a", 2, "1.5")])
    second = await project(engine, builder)
    assert (first, second) == (set(), set())
    assert await tables(engine) == {
        "store_daily": [],
        "store_product_daily": [],
        "store_customers": [],
        "insight_orders": [("o-1", "s-1", "cu-1", D2, "3.000000", [["p-a", 2, "3.000000"]], True)],
    }


async def test_second_order_day_moves_under_cancellations(engine: AsyncEngine) -> None:
    """A customer's new-repeat count sits on their second live order's day and moves when
    that order, then the first, is cancelled."""
    builder = StreamBuilder(random.Random(4))
    for order_id, day in (("o-1", D1), ("o-2", D3), ("o-3", D5)):
        place(builder, order_id, day=day, lines=[("p-a", 1, "1")])
    await project(engine, builder)
    repeat = text("SELECT day, new_repeat_customers FROM store_daily ORDER BY day")
    async with engine.connect() as conn:
        before = [tuple(r) for r in await conn.execute(repeat)]
    cancel(builder, "o-2")
    await project(engine, builder)
    async with engine.connect() as conn:
        moved = [tuple(r) for r in await conn.execute(repeat)]
    cancel(builder, "o-1")
    await project(engine, builder)
    async with engine.connect() as conn:
        single = [tuple(r) for r in await conn.execute(repeat)]
    assert before == [(D1, 0), (D3, 1), (D5, 0)]
    assert moved == [(D1, 0), (D5, 1)]
    assert single == [(D5, 0)]


async def test_applying_the_same_events_again_changes_nothing(engine: AsyncEngine) -> None:
    """A replayed batch (orders placed or cancelled again, traffic repeated) changes no row
    and tags nothing."""
    builder = random_stream(5)
    await append_raw(engine, builder.events)
    projection = InsightMetricsProjection()
    async with engine.begin() as conn:
        events = await read_events(conn, after=0, upto=10_000, limit=10_000)
        first = await projection.apply(conn, events)
    once = await tables(engine)
    async with engine.begin() as conn:
        again = await projection.apply(conn, events)
    assert first == {"store-metrics:s-1", "store-metrics:s-2", "store-metrics:s-3"}
    assert again == set()
    assert await tables(engine) == once


async def test_live_batches_and_a_rebuild_give_the_same_tables(engine: AsyncEngine) -> None:
    """One event per batch live and a rebuild in batches of 64 give identical rows, stored
    money scale included."""
    builder = random_stream(6)
    count = len(builder.events)
    await project(engine, builder, batch_size=1)
    live = await tables(engine)
    report = await rebuild(engine, InsightMetricsProjection(), batch_size=64)
    assert report.events == count
    assert await tables(engine) == live
    assert len(live["store_daily"]) == 15
    async with engine.connect() as conn:
        recount = await conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE NOT cancelled), sum(total) FILTER (WHERE NOT cancelled)"
                " FROM insight_orders"
            )
        )
        orders, revenue = recount.one()
        summed = await conn.execute(text("SELECT sum(orders), sum(revenue) FROM store_daily"))
    assert tuple(summed.one()) == (orders, revenue)


async def test_all_projections_reach_the_head(engine: AsyncEngine) -> None:
    """Registered with every other projection, insight-metrics catches up to the log's head."""
    builder = random_stream(7)
    count = len(builder.events)
    await append_raw(engine, builder.events)
    await catch_up(engine, all_projections())
    async with engine.connect() as conn:
        assert await read_checkpoints(conn) == every_projection_at(count)


async def test_store_days_reads_each_range_in_one_statement(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Each (store, first, last) gets its day rows by day in key order, inclusive ends, an
    empty tuple for a store or range without rows, all in one statement."""
    builder = StreamBuilder(random.Random(8))
    place(builder, "o-1", day=D1, lines=[("p-a", 2, "2.50")])
    place(builder, "o-2", customer="cu-2", day=D3, lines=[("p-b", 1, "0.125")], total="1.125")
    place(builder, "o-3", day=D3, lines=[("p-a", 1, "2.50")])
    place(builder, "o-4", store="s-2", day=D2, lines=[("p-c", 4, "10")])
    traffic(builder, "s-1", D2, 50)
    await project(engine, builder)
    keys = [("s-1", D1, D3), ("s-2", D1, D5), ("s-1", D4, D5), ("s-9", D1, D5), ("s-1", D1, D3)]
    with count_statements() as counted:
        found = await store_days(reader, keys)
    day1 = DayRow(D1, Decimal("5.00"), 1, 2, 0, 0)
    day2 = DayRow(D2, Decimal("0.00"), 0, 0, 50, 0)
    day3 = DayRow(D3, Decimal("3.625"), 2, 2, 0, 1)
    assert found == [
        (day1, day2, day3),
        (DayRow(D2, Decimal("40.00"), 1, 4, 0, 0),),
        (),
        (),
        (day1, day2, day3),
    ]
    assert [str(row.revenue) for row in found[0]] == ["5.00", "0.00", "3.625"]
    assert counted.statements == 1
    assert await store_days(reader, []) == []


async def test_store_product_sales_sums_each_range_in_one_statement(
    engine: AsyncEngine, reader: ReadPool
) -> None:
    """Each range's products are summed over its days, revenue descending then id in code
    point order, cancelled sales gone, all in one statement."""
    builder = StreamBuilder(random.Random(9))
    place(builder, "o-1", day=D1, lines=[("p-a", 2, "5"), ("B", 1, "10"), ("a", 1, "10")])
    place(builder, "o-2", day=D2, lines=[("p-a", 1, "5"), ("p-c", 1, "1")])
    place(builder, "o-3", day=D3, lines=[("p-c", 30, "1")])
    place(builder, "o-4", day=D2, lines=[("p-d", 1, "99")])
    cancel(builder, "o-4")
    place(builder, "o-5", store="s-2", day=D1, lines=[("p-x", 1, "0.5")])
    await project(engine, builder)
    keys = [("s-1", D1, D2), ("s-1", D1, D5), ("s-2", D1, D1), ("s-1", D4, D5)]
    with count_statements() as counted:
        found = await store_product_sales(reader, keys)
    assert found == [
        (
            ProductSalesRow("p-a", 3, Decimal("15.00")),
            ProductSalesRow("B", 1, Decimal("10.00")),
            ProductSalesRow("a", 1, Decimal("10.00")),
            ProductSalesRow("p-c", 1, Decimal("1.00")),
        ),
        (
            ProductSalesRow("p-c", 31, Decimal("31.00")),
            ProductSalesRow("p-a", 3, Decimal("15.00")),
            ProductSalesRow("B", 1, Decimal("10.00")),
            ProductSalesRow("a", 1, Decimal("10.00")),
        ),
        (ProductSalesRow("p-x", 1, Decimal("0.50")),),
        (),
    ]
    assert counted.statements == 1


async def apply_counted(engine: AsyncEngine, builder: StreamBuilder) -> int:
    """Append the builder's events as one batch and apply it; the statements `apply` ran."""
    appended = await append_raw(engine, builder.events)
    builder.events.clear()
    async with engine.begin() as conn:
        events = await read_events(
            conn, after=min(appended.positions) - 1, upto=appended.head, limit=10_000
        )
        with count_statements() as stats:
            await InsightMetricsProjection().apply(conn, events)
    return stats.statements


async def test_work_per_batch_is_bounded(engine: AsyncEngine) -> None:
    """A batch of 200 orders and 200 traffic events runs as many statements as a batch of
    one of each; a batch of cancellations adds only the deletion of emptied rows."""
    builder = StreamBuilder(random.Random(10))
    place(builder, "o-x", lines=[("p-a", 1, "1")])
    traffic(builder, "s-1", D1, 5)
    one = await apply_counted(engine, builder)
    for i in range(200):
        day = date(2026, 3, 1 + i // 10)
        lines = [("p-a", 1, "1"), (f"p-{i % 9}", 2, "3")]
        place(builder, f"o-{i}", customer=f"cu-{i % 17}", day=day, lines=lines)
        traffic(builder, f"s-{i % 5}", day, i + 1)
    many = await apply_counted(engine, builder)
    for i in range(0, 200, 3):
        cancel(builder, f"o-{i}")
    cancelled = await apply_counted(engine, builder)
    # Load orders, load customers, write orders, write customers, add days, set sessions,
    # add products; the cancellations set no sessions but drop emptied days and products.
    assert (one, many, cancelled) == (7, 7, 8)


async def generic_plan(database_url: str, sql: str) -> str:
    """The plan PostgreSQL caches for `sql` once it stops planning per call."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE q(text[], date[], date[]) AS {sql}")
        rows = await conn.fetch(
            "EXPLAIN (COSTS OFF) EXECUTE q('{s-1}', '{2026-03-01}', '{2026-03-05}')"
        )
        return "\n".join(row[0] for row in rows)
    finally:
        await conn.close()


async def test_both_queries_read_primary_key_ranges_even_with_a_generic_plan(
    engine: AsyncEngine, reader: ReadPool, database_url: str
) -> None:
    """With a year of rows for 200 stores, the cached generic plans of both range queries
    probe the tables' primary keys per key instead of scanning the tables."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO store_daily SELECT 's-' || s, DATE '2026-01-01' + d, 1, 1, 1, 1, 0 "
                "FROM generate_series(1, 200) s, generate_series(0, 365) d"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO store_product_daily "
                "SELECT 's-' || s, DATE '2026-01-01' + d, 'p-' || p, 1, 1 "
                "FROM generate_series(1, 200) s, generate_series(0, 365) d, generate_series(1, 3) p"
            )
        )
        await conn.execute(text("ANALYZE store_daily"))
        await conn.execute(text("ANALYZE store_product_daily"))
    with count_statements(keep_text=True) as counted:
        days = await store_days(reader, [("s-1", D1, D5)])
        sales = await store_product_sales(reader, [("s-1", D1, D5)])
    assert counted.texts is not None
    days_plan, products_plan = [await generic_plan(database_url, sql) for sql in counted.texts]
    assert [len(days[0]), len(sales[0])] == [5, 3]
    index_cond = (
        "Index Cond: ((store_id = k.store_id) AND (day >= k.first_day) AND (day <= k.last_day))"
    )
    assert "Index Scan using pk_store_daily" in days_plan
    assert "Index Scan on pk_store_product_daily" in products_plan  # a bitmap index scan
    assert index_cond in days_plan
    assert index_cond in products_plan
    assert "Seq Scan" not in days_plan + products_plan
