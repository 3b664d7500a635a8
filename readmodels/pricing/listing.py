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


_HAS_STORE = "EXISTS (SELECT 1 FROM stores s WHERE s.id = o.store_id)"
"""A promotion whose store is not known yet is not listed (`Promotion.store` is non-null)."""


def page_sql(query: PromotionQuery) -> tuple[str, list[Any]]:
    """One page plus one extra row (to know whether there is a next page), each row
    with `next_change`: when filtering by `active`, the first moment after `now` a
    promotion in the listing's scope starts or ends (the listing changes then,
    with no event to say so). An empty page still returns one row, all NULL but
    `next_change`."""
    args: list[Any] = []

    def param(value: Any, cast: str = "") -> str:
        args.append(value)
        return f"${len(args)}{cast}"

    conditions: list[str] = [_HAS_STORE]
    scope = ""
    if query.store_id is not None:
        store = param(query.store_id)
        conditions.append(f"o.store_id = {store}")
        scope = f" AND n.store_id = {store}"
    next_change = "NULL::timestamptz"
    if query.active is not None:
        now = param(query.now, "::timestamptz")
        effect = in_effect(now)
        conditions.append(effect if query.active else f"NOT {effect}")
        next_change = (
            "(SELECT min(m) FROM promotions n, LATERAL (VALUES (n.starts_at), (n.ends_at)) "
            f"AS v(m) WHERE n.active AND m > {now}{scope})"
        )
    if query.after is not None:
        conditions.append(f"o.first_position < {param(query.after, '::bigint')}")
    sql = (
        f"WITH page AS (SELECT {PROMOTION_COLUMNS} FROM promotions o "
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY o.first_position DESC LIMIT {param(query.first + 1)}) "
        f"SELECT page.*, w.next_change FROM (SELECT {next_change} AS next_change) w "
        "LEFT JOIN page ON true ORDER BY page.first_position DESC"
    )
    return sql, args


def _count(where: str) -> str:
    return (
        f"SELECT count(*) FROM promotions o WHERE {_HAS_STORE} AND {where}"
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
