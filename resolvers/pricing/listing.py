"""`Query.promotions`: newest first, keyset-paged, filtered by store and by being in effect."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import orjson

from readmodels.pricing.queries import PromotionQuery
from readmodels.pricing.rows import PromotionPage, PromotionRow
from resolvers.context import RequestContext
from resolvers.errors import InvalidCursorError
from resolvers.futures import then
from resolvers.ids import decode_id_of
from resolvers.pagination import Connection, Edge, PageInfo, page_size
from resolvers.pricing.loaders import PromotionPageLoader

_CURSOR_KIND = "promotions"


def encode_promotion_cursor(row: PromotionRow) -> str:
    raw = orjson.dumps([_CURSOR_KIND, row.first_position])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_promotion_cursor(cursor: str) -> int:
    """The position after which the next page starts; InvalidCursorError otherwise."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        values = orjson.loads(raw)
    except (binascii.Error, UnicodeError, ValueError, orjson.JSONDecodeError):
        values = None
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
    info = PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges, info, total_key)
