"""The creators projection: creator profiles from CreatorUpserted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.creators.tables import CREATOR_TABLES, creators
from readmodels.events import StoredEvent
from readmodels.sql import upsert

PROFILE_COLUMNS = ("handle", "name", "bio", "avatar_url", "store_id", "version")


class CreatorsProjection:
    """Creator profiles; follower and post counts belong to the feeds projection."""

    name = "creators"
    event_types = frozenset({"CreatorUpserted"})
    tables: tuple[Table, ...] = CREATOR_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        latest = {}
        for event in events:
            data = event.data
            latest[data["creatorId"]] = {
                "id": data["creatorId"],
                "handle": data["handle"],
                "name": data["name"],
                "bio": data["bio"],
                "avatar_url": data["avatarUrl"],
                "store_id": data["storeId"],
                "version": event.position,
            }
        await upsert(conn, creators, list(latest.values()), keys=["id"], update=PROFILE_COLUMNS)
        tags = {f"creator:{creator_id}" for creator_id in latest}
        # Lookups by handle are tagged by the handle (see resolvers/creators/loaders.py).
        return tags | {f"creator-handle:{row['handle']}" for row in latest.values()}
