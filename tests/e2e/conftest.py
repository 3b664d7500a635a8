"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.e2e.events import mug_store
from tests.e2e.worlds import project_events


@pytest.fixture
async def world(database_url: str) -> str:
    """A database holding the mug store, projected before any server starts."""
    await project_events(database_url, mug_store())
    return database_url
