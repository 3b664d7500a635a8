"""Databases the end-to-end tests serve: events validated, appended and projected
before any server starts, so a test begins from a read model that is caught up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from infra.database import create_engine
from readmodels.demo import SCALES
from readmodels.demo.seed import seed_demo
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from tests.conftest import create_database, drop_database


async def project_events(database_url: str, events: list[dict[str, Any]]) -> None:
    """Append `events` (which must all be valid) to the log and project them."""
    valid, errors = validate_events(events)
    assert errors == []
    engine = create_engine(database_url)
    try:
        await append_events(engine, valid)
        await catch_up(engine, all_projections())
    finally:
        await engine.dispose()


@asynccontextmanager
async def projected_database(
    server_url: str, template_url: str, events: list[dict[str, Any]]
) -> AsyncIterator[str]:
    """A new database holding `events`, projected; dropped on exit."""
    url = await create_database(server_url, template_url)
    try:
        await project_events(url, events)
        yield url
    finally:
        await drop_database(server_url, url)


@asynccontextmanager
async def seeded_demo(server_url: str, template_url: str, now: datetime) -> AsyncIterator[str]:
    """A new database holding the small demo world, seeded through the ingest path as of
    `now` and projected; dropped on exit."""
    url = await create_database(server_url, template_url)
    try:
        engine = create_engine(url)
        try:
            await seed_demo(engine, SCALES["small"], now=now)
            await catch_up(engine, all_projections())
        finally:
            await engine.dispose()
        yield url
    finally:
        await drop_database(server_url, url)
