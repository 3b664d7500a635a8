"""The promotions projection: one row per promotion, and the index of its targets.

Each batch loads the promotions its events name (one statement), folds the
events over them in memory with the pure rules of `folds`, then writes the
changed rows with one upsert and replaces their index entries (one delete,
one insert), so a batch costs four statements whatever its size.

Only active promotions are filed in `promotion_targets`: a deactivated one
can never be a candidate, so it should cost no lookups. An upsert that
reactivates it files it again. Expired promotions stay filed (time, not an
event, ends them); the read side filters them out.

A PromotionDeactivated for a promotion never upserted is a no-op, not a
tombstone: an upsert carries the whole state, `active` included, and the
log is read in position order, so a later upsert is the truth whatever
came before it. (There is nothing to write either: a promotion's store and
name are unknown until its upsert.)

An event at or before a row's version is already reflected in it and is
skipped, so re-applying a batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, null, text
from sqlalchemy.ext.asyncio import AsyncConnection

from readmodels.events import StoredEvent
from readmodels.pricing import folds
from readmodels.pricing.tables import PRICING_TABLES, promotions
from readmodels.sql import upsert

Row = dict[str, Any]

_LOAD = text("SELECT * FROM promotions WHERE id = ANY(CAST(:ids AS text[]))")
_UNFILE = text("DELETE FROM promotion_targets WHERE promotion_id = ANY(CAST(:ids AS text[]))")
_FILE = text(
    """
    INSERT INTO promotion_targets (store_id, target, promotion_id)
    SELECT s, t, p FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), CAST(:p AS text[]))
        AS u(s, t, p)
    """
)

LISTING_TAG = "promotions"


def promotion_tag(promotion_id: str) -> str:
    return f"promotion:{promotion_id}"


def store_promotions_tag(store_id: str) -> str:
    """Everything priced with a store's promotions (its products' prices, its listing)."""
    return f"store-promotions:{store_id}"


class PromotionsProjection:
    """Promotions as their last event left them, filed under the keys of their condition."""

    name = "promotions"
    event_types = frozenset({"PromotionUpserted", "PromotionDeactivated"})
    tables: tuple[Table, ...] = PRICING_TABLES

    def extra_ddl(self) -> Sequence[str]:
        return ()

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> set[str]:
        ids = sorted({event.data["promotionId"] for event in events})
        loaded = await conn.execute(_LOAD, {"ids": ids})
        rows: dict[str, Row] = {row["id"]: dict(row) for row in loaded.mappings()}
        stores_before = {i: row["store_id"] for i, row in rows.items()}
        changed: set[str] = set()
        for event in events:
            if _fold(rows, event):
                changed.add(event.data["promotionId"])
        if not changed:
            return set()
        written = [rows[i] for i in sorted(changed)]
        await upsert(conn, promotions, [_storable(row) for row in written], keys=["id"])
        await _refile(conn, written)
        tags = {LISTING_TAG}
        for row in written:
            tags.add(promotion_tag(row["id"]))
            tags.add(store_promotions_tag(row["store_id"]))
            if row["id"] in stores_before:  # its store before the batch: it may have moved
                tags.add(store_promotions_tag(stores_before[row["id"]]))
        return tags


def _fold(rows: dict[str, Row], event: StoredEvent) -> bool:
    """Apply one event to the batch's rows; whether it changed anything."""
    promotion_id = event.data["promotionId"]
    previous = rows.get(promotion_id)
    if previous is not None and event.position <= previous["version"]:
        return False  # already applied
    if event.type == "PromotionUpserted":
        rows[promotion_id] = folds.upserted_promotion(previous, event.data, event.position)
        return True
    if previous is None:
        return False  # deactivating a promotion never upserted: see the module docstring
    rows[promotion_id] = folds.deactivated_promotion(previous, event.position)
    return True


def _storable(row: Row) -> Row:
    """SQLAlchemy writes Python None to JSONB as JSON `null`; "always" is SQL NULL."""
    return row if row["condition"] is not None else {**row, "condition": null()}


async def _refile(conn: AsyncConnection, written: Sequence[Row]) -> None:
    """Replace the index entries of the written promotions (active ones only)."""
    await conn.execute(_UNFILE, {"ids": [row["id"] for row in written]})
    entries = [
        (row["store_id"], target, row["id"])
        for row in written
        if row["active"]
        for target in sorted(folds.index_targets(row["condition"]))
    ]
    if entries:
        await conn.execute(
            _FILE,
            {
                "s": [e[0] for e in entries],
                "t": [e[1] for e in entries],
                "p": [e[2] for e in entries],
            },
        )
