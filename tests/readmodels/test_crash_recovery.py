"""Projectors killed with SIGKILL at random moments resume from their checkpoints, applying nothing twice."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodels.catalog.projection import CatalogProjection
from readmodels.creators.projection import CreatorsProjection
from readmodels.eventlog.store import read_head
from readmodels.projector.checkpoints import read_checkpoints
from readmodels.projector.rebuild import rebuild
from tests.readmodels.streams import Raw, append_raw, catalog_stream, snapshot, snapshot_differences
from tests.readmodels.waiting import every_projection_at, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KILLS = 10
DEADLINE = 20.0

PROJECTOR_SCRIPT = """
import asyncio
import os

from infra.database import create_engine
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up


async def main() -> None:
    engine = create_engine(os.environ["VITRINE_DATABASE_URL"])
    try:
        await catch_up(engine, all_projections(), batch_size=5)
    finally:
        await engine.dispose()


asyncio.run(main())
"""


def expected_products(raw: list[Raw]) -> dict[str, tuple[int, int, int, int]]:
    """(units_sold, rating_count, rating_sum, on_hand) per product, straight from the events."""
    lines: dict[str, list[dict[str, Any]]] = {}
    cancelled: set[str] = set()
    ratings: dict[tuple[str, str], int] = {}
    on_hand: Counter[str] = Counter()
    products: set[str] = set()
    for event in raw:
        data = event["data"]
        match event["type"]:
            case "ProductUpserted" | "PriceSet" | "ProductDeleted":
                products.add(data["productId"])
            case "OrderPlaced":
                lines.setdefault(data["orderId"], data["lines"])
            case "OrderCancelled":
                # A cancellation counts even when it arrives before its order.
                cancelled.add(data["orderId"])
            case "ReviewSubmitted":
                products.add(data["productId"])
                ratings[(data["productId"], data["customerId"])] = data["rating"]
            case "InventoryCounted":
                products.add(data["productId"])
                on_hand[data["productId"]] = data["onHand"]
            case "InventoryAdjusted":
                products.add(data["productId"])
                on_hand[data["productId"]] += data["delta"]
    units: Counter[str] = Counter()
    for order_id, order_lines in lines.items():
        if order_id not in cancelled:
            for line in order_lines:
                units[line["productId"]] += line["quantity"]
    rating_count: Counter[str] = Counter()
    rating_sum: Counter[str] = Counter()
    for (product_id, _), rating in ratings.items():
        rating_count[product_id] += 1
        rating_sum[product_id] += rating
    return {p: (units[p], rating_count[p], rating_sum[p], on_hand[p]) for p in sorted(products)}


async def catalog_checkpoint(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await read_checkpoints(conn)).get("catalog", 0)


async def projector_is_writing(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        writing = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
        )
        return bool(writing.scalar_one())


async def start_projector(script: Path, database_url: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "VITRINE_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, str(script), cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )


async def test_killed_projectors_resume_without_applying_anything_twice(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """After ten SIGKILLs mid-run, the finished read model equals a rebuild and counts every event once."""
    raw = catalog_stream(21, products=150)
    head = (await append_raw(engine, raw)).head
    script = tmp_path / "project.py"
    script.write_text(PROJECTOR_SCRIPT)
    rng = random.Random(2026)
    targets = sorted(rng.sample(range(30, int(head * 0.8)), KILLS))
    kills = 0
    for target in targets:
        target = max(target, await catalog_checkpoint(engine) + 5)
        process = await start_projector(script, database_url)
        try:

            async def passed_target(
                process: asyncio.subprocess.Process = process, target: int = target
            ) -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"the projector exited early ({process.returncode})")
                return await catalog_checkpoint(engine) >= target

            await wait_until(passed_target, within=DEADLINE, what=f"checkpoint passes {target}")
            if kills % 2 == 0:
                # Kill inside a batch's transaction, after it has written rows.
                async def writing(process: asyncio.subprocess.Process = process) -> bool:
                    if process.returncode is not None:
                        raise AssertionError(f"the projector exited early ({process.returncode})")
                    return await projector_is_writing(engine)

                await wait_until(writing, within=DEADLINE, what="the projector is mid-write")
            else:
                # Jitter, so the kill lands anywhere in the batch cycle, commits included.
                await asyncio.sleep(rng.uniform(0, 0.03))
        finally:
            if process.returncode is None:
                process.kill()
            await asyncio.wait_for(process.wait(), DEADLINE)
        assert process.returncode == -9
        kills += 1
    assert kills == KILLS
    assert await catalog_checkpoint(engine) < head
    final = await start_projector(script, database_url)
    _, stderr = await asyncio.wait_for(final.communicate(), 60)
    assert (final.returncode, stderr.decode()[-2000:]) == (0, "")
    async with engine.connect() as conn:
        assert await read_checkpoints(conn) == every_projection_at(head)
        assert await read_head(conn) == head
        rows = await conn.execute(
            text("SELECT id, units_sold, rating_count, rating_sum, on_hand FROM products")
        )
        actual = {row.id: tuple(row[1:]) for row in rows}
    assert actual == expected_products(raw)
    crashed = await snapshot(engine)
    await rebuild(engine, CatalogProjection())
    await rebuild(engine, CreatorsProjection())
    assert snapshot_differences(crashed, await snapshot(engine)) == []
