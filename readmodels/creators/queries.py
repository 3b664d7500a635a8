"""Read-model queries of creator profiles, aligned with their keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from readmodels.creators.rows import CreatorRow
from readmodels.reader import Reader

_COLUMNS = "id, handle, name, bio, avatar_url, store_id, follower_count, post_count"
_BY_IDS = f"SELECT {_COLUMNS} FROM creators WHERE id = ANY($1)"
_BY_HANDLES = (
    f"SELECT DISTINCT ON (handle) {_COLUMNS} FROM creators "
    "WHERE handle = ANY($1) ORDER BY handle, version DESC"
)


def _creator(r: Any) -> CreatorRow:
    return CreatorRow(
        r["id"],
        r["handle"],
        r["name"],
        r["bio"],
        r["avatar_url"],
        r["store_id"],
        r["follower_count"],
        r["post_count"],
    )


async def creators_by_ids(db: Reader, ids: Sequence[str]) -> list[CreatorRow | None]:
    found = {r["id"]: _creator(r) for r in await db.fetch(_BY_IDS, list(ids))}
    return [found.get(i) for i in ids]


async def creators_by_handles(db: Reader, handles: Sequence[str]) -> list[CreatorRow | None]:
    found = {r["handle"]: _creator(r) for r in await db.fetch(_BY_HANDLES, list(handles))}
    return [found.get(h) for h in handles]
