"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from infra.database import create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from tests.e2e.events import mug_store


@pytest.fixture
async def world(database_url: str) -> str:
    """A database holding the mug store, projected before any server starts."""
    engine = create_engine(database_url)
    try:
        events, errors = validate_events(mug_store())
        assert errors == []
        await append_events(engine, events)
        await catch_up(engine, all_projections())
    finally:
        await engine.dispose()
    return database_url
