"""`Query.promotions`: newest first, keyset-paged, filtered by store and by being in effect."""

from __future__ import annotations

import asyncio
from typing import Any

from readmodels.pricing.queries import PromotionQuery
from readmodels.pricing.rows import PromotionPage, PromotionRow
from resolvers.context import RequestContext
from resolvers.errors import InvalidCursorError
from resolvers.futures import then
from resolvers.ids import decode_id_of
from resolvers.pagination import (
    Connection,
    Edge,
    connection,
    cursor_values,
    opaque_cursor,
    page_size,
)
from resolvers.pricing.loaders import PromotionPageLoader

_CURSOR_KIND = "promotions"


def encode_promotion_cursor(row: PromotionRow) -> str:
    return opaque_cursor([_CURSOR_KIND, row.first_position])


def decode_promotion_cursor(cursor: str) -> int:
    """The position after which the next page starts; InvalidCursorError otherwise."""
    values = cursor_values(cursor)
    if (
        not isinstance(values, list)
        or len(values) != 2
        or values[0] != _CURSOR_KIND
        or not isinstance(values[1], int)
        or isinstance(values[1], bool)
        or not 0 <= values[1] < 2**63  # a position: PostgreSQL's bigint
    ):
        raise InvalidCursorError("after: not a promotions cursor this API issued", argument="after")
    return values[1]


def resolve_promotions(
    context: RequestContext,
    *,
    active: bool | None,
    store_id: str | None,
    first: int | None,
    after: str | None,
) -> asyncio.Future[Connection[PromotionRow]]:
    store = None if store_id is None else decode_id_of("Store", store_id, argument="storeId")
    query = PromotionQuery(
        active=active,
        store_id=store,
        first=page_size(first),
        after=None if after is None else decode_promotion_cursor(after),
        now=context.now,
    )
    total_key = (active, store, context.now)
    page = context.loader(PromotionPageLoader).load(query)

    def connection(found: PromotionPage) -> Connection[PromotionRow]:
        context.fresh_only_until(found.next_change)  # a window opens or closes
        return _connection(found, after is not None, total_key)

    return then(page, connection)


def _connection(page: PromotionPage, has_previous: bool, total_key: Any) -> Connection[Any]:
    edges = [Edge(encode_promotion_cursor(row), row) for row in page.items]
    return connection(
        edges, has_next=page.has_next_page, has_previous=has_previous, total_key=total_key
    )
