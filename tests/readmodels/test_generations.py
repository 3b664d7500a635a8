"""Read-model generations: a rebuild's swap starts a new one, and the watcher hears of it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn
from readmodels.catalog.projection import CatalogProjection
from readmodels.projections import all_projections
from readmodels.projector.checkpoints import read_generations
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import catch_up
from readmodels.projector.watcher import CheckpointWatcher
from tests.e2e.events import mug_store
from tests.readmodels.streams import append_raw
from tests.readmodels.waiting import wait_until


async def test_rebuild_bumps_the_generation_and_the_watcher_hears_it(
    engine: AsyncEngine, database_url: str
) -> None:
    """Generations start at 1; rebuilding the catalog makes it 2, announced by NOTIFY."""
    await append_raw(engine, mug_store())
    await catch_up(engine, all_projections())
    watcher = CheckpointWatcher(
        engine, asyncpg_dsn(database_url), ["catalog", "creators"], poll_interval=60
    )
    await watcher.start()
    try:
        assert dict(watcher.generations) == {"catalog": 1, "creators": 1}
        before = watcher.generations
        await rebuild(engine, CatalogProjection())

        async def bumped() -> bool:
            return watcher.generations["catalog"] == 2

        await wait_until(bumped, within=10, what="the watcher hears the new generation")
        assert dict(watcher.generations) == {"catalog": 2, "creators": 1}
        assert dict(before) == {"catalog": 1, "creators": 1}  # readers keep a consistent view
    finally:
        await watcher.stop()
    async with engine.connect() as conn:
        generations = await read_generations(conn)
        assert {name: generations[name] for name in ("catalog", "creators")} == {
            "catalog": 2,
            "creators": 1,
        }
        assert set(generations.values()) - {1, 2} == set()
