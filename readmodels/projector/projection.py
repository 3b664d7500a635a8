"""What a projection is: a name (its checkpoint key), the events it handles, its tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent


class Projection(Protocol):
    """A read model kept fresh from the log.

    `apply` receives a batch of the events it declared, in position order, on a
    connection whose transaction also advances its checkpoint: it must not
    commit, and must be idempotent per event (upserts), because rebuild replays
    through the very same code. It returns the cache tags the batch touched.
    Its SQL names tables without a schema, so rebuild can point it at shadow
    tables through the search_path.
    """

    name: str
    event_types: frozenset[str]
    tables: tuple[Table, ...]

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]: ...

    def extra_ddl(self) -> Sequence[str]:
        """Statements that create what the metadata cannot express (optional indexes)."""
        ...
