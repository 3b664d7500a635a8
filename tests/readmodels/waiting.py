"""Waiting on a condition with a deadline, instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from readmodels.projections import all_projections

POLL = 0.01


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    """Return as soon as `condition()` is true; fail the test if `within` seconds pass first."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting until {what}")
        await asyncio.sleep(POLL)


def every_projection_at(position: int) -> dict[str, int]:
    """The checkpoints after every projection has read the log up to `position`."""
    return {projection.name: position for projection in all_projections()}
