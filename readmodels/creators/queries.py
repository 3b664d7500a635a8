"""Read-model queries of creator profiles, aligned with their keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.creators.rows import CreatorRow
from readmodels.creators.tables import creators
from readmodels.sql import any_of

_COLUMNS = (
    creators.c.id,
    creators.c.handle,
    creators.c.name,
    creators.c.bio,
    creators.c.avatar_url,
    creators.c.store_id,
    creators.c.follower_count,
    creators.c.post_count,
)


def _creator(r: Any) -> CreatorRow:
    return CreatorRow(
        r.id, r.handle, r.name, r.bio, r.avatar_url, r.store_id, r.follower_count, r.post_count
    )


async def creators_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[CreatorRow | None]:
    found = {
        r.id: _creator(r)
        for r in await conn.execute(select(*_COLUMNS).where(any_of(creators.c.id, ids)))
    }
    return [found.get(i) for i in ids]


async def creators_by_handles(
    conn: AsyncConnection, handles: Sequence[str]
) -> list[CreatorRow | None]:
    stmt = (
        select(*_COLUMNS)
        .ext(distinct_on(creators.c.handle))
        .where(any_of(creators.c.handle, handles))
        .order_by(creators.c.handle, creators.c.version.desc())
    )
    found = {r.handle: _creator(r) for r in await conn.execute(stmt)}
    return [found.get(h) for h in handles]
