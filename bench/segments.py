"""The saving of segment diffing on a seeded world: the share of membership rows skipped.

`python -m bench.segments --scale medium` seeds the demo world (seed 42, the
benchmark's fixed `now`) into a scratch database on the benchmark's
PostgreSQL server, projects only the segments read model, prints what
diffing skipped against delete-all-then-insert-all, and drops the database.
`--database-url URL` measures an existing, seeded database instead (its
segments projection is caught up first; nothing else is touched).
`vitrine projectors status` prints the same line for the configured database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from bench.dataset import NOW, SEED, bench_server, drop_database, recreate_database
from infra.database import create_engine
from readmodels.demo.scales import SCALES
from readmodels.demo.seed import seed_demo
from readmodels.migrate import upgrade
from readmodels.projector.runner import catch_up
from readmodels.segments.projection import SegmentsProjection
from readmodels.segments.queries import SegmentDiffReport, segment_diff_report

SCRATCH = "vitrine_bench_segments"


@dataclass(frozen=True, slots=True)
class SegmentDiffMeasurement:
    """Counted per event (see readmodels.segments.folds.DiffStats): batching does not
    change the numbers."""

    scale: str | None
    report: SegmentDiffReport

    def line(self) -> str:
        report = self.report
        where = f"the {self.scale} world" if self.scale else "the database"
        if report.skipped_share is None:
            return f"segment diffing over {where}: no CustomerSegmentsChanged events"
        return (
            f"segment diffing over {where} ({report.events:,} events): "
            f"{report.rows_requested:,} rows requested, "
            f"{report.rows_written:,} written, {report.rows_skipped:,} skipped "
            f"({report.skipped_share:.1%})"
        )


async def project_and_report(url: str, *, batch_size: int = 10_000) -> SegmentDiffReport:
    """Catch the segments projection up on `url` and read its diff totals."""
    engine = create_engine(url)
    try:
        await catch_up(engine, [SegmentsProjection()], batch_size=batch_size)
        async with engine.connect() as conn:
            return await segment_diff_report(conn)
    finally:
        await engine.dispose()


async def measure_scale(
    server_url: str,
    scale_name: str,
    *,
    now: datetime = NOW,
    seed: int = SEED,
    batch_size: int = 10_000,
) -> SegmentDiffMeasurement:
    """Seed `scale_name` into a scratch database, project segments, report, drop it."""
    name = f"{SCRATCH}_{scale_name}"
    url = await recreate_database(server_url, name)
    try:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            await seed_demo(engine, SCALES[scale_name], seed=seed, now=now)
        finally:
            await engine.dispose()
        report = await project_and_report(url, batch_size=batch_size)
    finally:
        await drop_database(server_url, name)
    return SegmentDiffMeasurement(scale_name, report)


@click.command()
@click.option("--scale", type=click.Choice(sorted(SCALES)), default="medium", show_default=True)
@click.option("--database-url", default=None, help="Measure this seeded database instead.")
@click.option("--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True)
def main(scale: str, database_url: str | None, batch_size: int) -> None:
    """Print the share of segment membership rows that diffing skipped."""
    if database_url is not None:
        report = asyncio.run(project_and_report(database_url, batch_size=batch_size))
        click.echo(SegmentDiffMeasurement(None, report).line())
        return
    with bench_server(Path(".vitrine")) as server_url:
        measurement = asyncio.run(measure_scale(server_url, scale, batch_size=batch_size))
    click.echo(measurement.line())


if __name__ == "__main__":
    main()
