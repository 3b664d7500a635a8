"""The promotions listing: newest first, filtered by store and by being in effect now.

"Newest" is the position of a promotion's first upsert, unique per
promotion, so it alone is the keyset: the page after a cursor is
`first_position < cursor`, answered by walking `ix_promotions_newest` (or
`ix_promotions_store_newest` for one store) backwards from the cursor.
Each combination of filters gives its own fixed SQL text, so each is
prepared once and keeps an index-friendly plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PROMOTION_COLUMNS = (
    "o.id, o.store_id, o.name, o.description, o.kind, o.value, o.buy_quantity, "
    "o.get_quantity, o.starts_at, o.ends_at, o.priority, o.stackable, o.active, o.condition, "
    "o.first_position, o.version"
)


def in_effect(now: str) -> str:
    """SQL that is true when promotion `o` applies at the instant `now` (an SQL expression)."""
    return (
        f"(o.active AND (o.starts_at IS NULL OR o.starts_at <= {now}) "
        f"AND (o.ends_at IS NULL OR o.ends_at > {now}))"
    )


@dataclass(frozen=True, slots=True)
class PromotionQuery:
    """One page of `Query.promotions`.

    `active`: True for promotions in effect at `now`, False for every other
    one (deactivated, ended, not started yet), None for all. `after` is the
    `first_position` of the last promotion of the previous page.
    """

    active: bool | None
    store_id: str | None
    first: int
    after: int | None
    now: datetime


def page_sql(query: PromotionQuery) -> tuple[str, list[Any]]:
    """One page plus one extra row (to know whether there is a next page)."""
    args: list[Any] = []

    def param(value: Any, cast: str = "") -> str:
        args.append(value)
        return f"${len(args)}{cast}"

    conditions: list[str] = []
    if query.store_id is not None:
        conditions.append(f"o.store_id = {param(query.store_id)}")
    if query.active is not None:
        effect = in_effect(param(query.now, "::timestamptz"))
        conditions.append(effect if query.active else f"NOT {effect}")
    if query.after is not None:
        conditions.append(f"o.first_position < {param(query.after, '::bigint')}")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    sql = (
        f"SELECT {PROMOTION_COLUMNS} FROM promotions o {where}"
        f"ORDER BY o.first_position DESC LIMIT {param(query.first + 1)}"
    )
    return sql, args


def _count(where: str) -> str:
    return (
        f"SELECT count(*) FROM promotions o WHERE {where}"
        f"(k.active IS NULL OR k.active = {in_effect('k.now')})"
    )


# Totals of many (active, store, now) keys in one statement: keys naming a
# store count through the store's index, the others over every promotion.
TOTALS_SQL = (
    f"SELECT k.i, ({_count('o.store_id = k.store_id AND ')}) AS total "
    "FROM unnest($1::bool[], $2::text[], $3::timestamptz[]) WITH ORDINALITY "
    "AS k(active, store_id, now, i) WHERE k.store_id IS NOT NULL "
    f"UNION ALL SELECT k.i, ({_count('')}) AS total "
    "FROM unnest($1::bool[], $2::text[], $3::timestamptz[]) WITH ORDINALITY "
    "AS k(active, store_id, now, i) WHERE k.store_id IS NULL"
)
