"""The child side of bench.projections: seed, project or rebuild, reporting on stdout.

Run as `python -m bench.projections_worker seed <database-url> <scale> <now-iso>`
or `... rebuild <database-url>` (`python -m bench.projections` is the same
entry). It prints one JSON object per line: `progress` messages while it
works and one `result` at the end; diagnostics go to stderr. It exits 0
after the result, 1 when the work failed, 2 on bad arguments.
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import asyncpg_dsn, create_engine
from readmodels.catalog.projection import CatalogProjection
from readmodels.demo import SCALES
from readmodels.demo.seed import estimate_total, seed_demo
from readmodels.eventlog.store import read_head
from readmodels.migrate import upgrade
from readmodels.projections import all_projections
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.projection import Projection
from readmodels.projector.rebuild import rebuild
from readmodels.projector.runner import BatchListener, catch_up

USAGE = (
    "usage: python -m bench.projections_worker seed <database-url> <scale> <now-iso>\n"
    "       python -m bench.projections_worker rebuild <database-url>"
)


@dataclass(frozen=True, slots=True)
class StageProgress:
    """The child is at `done` of `total` (None when unknown) in one stage."""

    stage: str
    done: int
    total: int | None


@dataclass(frozen=True, slots=True)
class ChildResult:
    """The child's final measurements."""

    values: dict[str, Any]


def progress_line(stage: str, done: int, total: int | None) -> str:
    return orjson.dumps({"kind": "progress", "stage": stage, "done": done, "total": total}).decode()


def result_line(values: dict[str, Any]) -> str:
    return orjson.dumps({"kind": "result", "values": values}).decode()


def parse_line(line: str) -> StageProgress | ChildResult | None:
    """A protocol message, or None for any other output (a stray print must not break us)."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    kind = message.get("kind")
    if kind == "result" and isinstance(message.get("values"), dict):
        return ChildResult(message["values"])
    if kind == "progress" and isinstance(message.get("stage"), str):
        done, total = message.get("done"), message.get("total")
        if isinstance(done, int) and (total is None or isinstance(total, int)):
            return StageProgress(message["stage"], done, total)
    return None


def _emit(line: str) -> None:
    print(line, flush=True)


def _reporter(stage: str, total: int | None) -> Callable[[int], None]:
    """A callback that reports cumulative progress at most every 0.2 s, and at the end."""
    state = {"done": 0, "shown": 0.0}

    def report(increment: int) -> None:
        state["done"] += increment
        now = time.monotonic()
        if now - state["shown"] >= 0.2 or (total is not None and state["done"] >= total):
            state["shown"] = now
            _emit(progress_line(stage, int(state["done"]), total))

    _emit(progress_line(stage, 0, total))
    return report


async def _head(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await read_head(conn)


async def _count_events(engine: AsyncEngine, types: frozenset[str]) -> int:
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM event_log WHERE type = ANY(CAST(:types AS text[]))")
        return int((await conn.execute(query, {"types": sorted(types)})).scalar_one())


def _batch_reporter(stage: str, head: int) -> BatchListener:
    def report(outcome: BatchOutcome) -> None:
        _emit(progress_line(stage, outcome.to_position, head))

    _emit(progress_line(stage, 0, head))
    return report


async def _catch_up_one(engine: AsyncEngine, projection: Projection, head: int) -> dict[str, float]:
    stage = f"project {projection.name}"
    started = time.perf_counter()
    applied = await catch_up(engine, [projection], on_batch=_batch_reporter(stage, head))
    seconds = time.perf_counter() - started
    _emit(progress_line(stage, head, head))
    return {"seconds": round(seconds, 3), "events": applied}


async def _project(engine: AsyncEngine) -> dict[str, Any]:
    """Catch every projection up, one at a time so each gets its own time."""
    head = await _head(engine)
    per_projection: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for projection in all_projections():
        per_projection[projection.name] = await _catch_up_one(engine, projection, head)
    seconds = time.perf_counter() - started
    catalog_events = await _count_events(engine, CatalogProjection.event_types)
    catalog_seconds = per_projection["catalog"]["seconds"]
    return {
        "head": head,
        "project_seconds": round(seconds, 3),
        "project_events_per_s": round(head / seconds) if seconds else None,
        "catalog_events": catalog_events,
        "catalog_seconds": catalog_seconds,
        "catalog_events_per_s": round(catalog_events / catalog_seconds)
        if catalog_seconds
        else None,
        "projections": per_projection,
    }


async def _vacuum_analyze(database_url: str) -> float:
    """VACUUM (ANALYZE) the fresh database; returns its seconds.

    Projecting rewrites listing rows batch after batch: right after a seed,
    listing_entries holds several dead tuples per live one and no planner
    statistics, which slows listing and search queries until autovacuum gets
    to them at some random moment of a later load run. Doing it now makes
    every run start from the same steady state.
    """
    _emit(progress_line("vacuum analyze", 0, None))
    started = time.perf_counter()
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def seed_child(database_url: str, scale_name: str, now: datetime) -> dict[str, Any]:
    scale = SCALES[scale_name]
    engine = create_engine(database_url, application_name="vitrine-bench-seed")
    try:
        _emit(progress_line("migrate", 0, None))
        await upgrade(engine)
        report = await seed_demo(
            engine, scale, now=now, on_progress=_reporter("append", estimate_total(scale))
        )
        _emit(progress_line("append", report.events, report.events))
        projected = await _project(engine)
    finally:
        await engine.dispose()
    vacuum_seconds = await _vacuum_analyze(database_url)
    return {
        "scale": scale_name,
        "events": report.events,
        "appended": report.appended,
        "append_seconds": round(report.seconds, 3),
        "append_events_per_s": round(report.events / report.seconds) if report.seconds else None,
        **projected,
        "vacuum_seconds": round(vacuum_seconds, 3),
    }


async def rebuild_child(database_url: str) -> dict[str, Any]:
    engine = create_engine(database_url, application_name="vitrine-bench-rebuild")
    try:
        head = await _head(engine)
        stage = "rebuild catalog"
        _emit(progress_line(stage, 0, head))
        started = time.perf_counter()
        report = await rebuild(
            engine,
            CatalogProjection(),
            on_progress=lambda position, _applied: _emit(progress_line(stage, position, head)),
        )
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    # The swapped-in tables have no planner statistics yet: analyze them, untimed,
    # so whatever is measured next does not run on a cold plan.
    vacuum_seconds = await _vacuum_analyze(database_url)
    return {
        "seconds": round(seconds, 3),
        "events": report.events,
        "position": report.position,
        "vacuum_seconds": round(vacuum_seconds, 3),
    }


def main(argv: Sequence[str]) -> int:
    """The child's entry point: 0 after printing a result line, non-zero with a message."""
    if len(argv) == 4 and argv[0] == "seed" and argv[2] in SCALES:
        try:
            now = datetime.fromisoformat(argv[3])
        except ValueError:
            print(f"bench.projections: bad <now-iso> {argv[3]!r}\n{USAGE}", file=sys.stderr)
            return 2
        work = seed_child(argv[1], argv[2], now)
    elif len(argv) == 2 and argv[0] == "rebuild":
        work = rebuild_child(argv[1])
    else:
        print(f"bench.projections: bad arguments {list(argv)!r}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        values = asyncio.run(work)
    except Exception as exc:
        traceback.print_exc()
        print(f"bench.projections {argv[0]} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    _emit(result_line(values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
