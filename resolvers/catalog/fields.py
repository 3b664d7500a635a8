"""Field resolvers of catalog types: plain functions of a row, the request info and arguments.

Each returns a value or a loader future; none is `async`, so graphql-core
resolves every other field on its fast synchronous path.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from strawberry.types import Info

from readmodels.catalog.folds import available, inventory_status
from readmodels.catalog.rows import CategoryRow, CollectionRow, ProductRow, StoreRow
from readmodels.creators.rows import CreatorRow
from resolvers.catalog.loaders import (
    CategoryByIdLoader,
    CategoryChildrenByParentLoader,
    CollectionsByProductLoader,
    ListingTotalLoader,
    StoreByIdLoader,
)
from resolvers.context import RequestContext
from resolvers.creators.loaders import CreatorByIdLoader
from resolvers.errors import PriceNotSetError
from resolvers.futures import resolved, then
from resolvers.ids import encode_id
from resolvers.pagination import Connection
from resolvers.pricing import prices
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]


class InventoryStatus(Enum):
    IN_STOCK = "IN_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"


class InventoryView(NamedTuple):
    status: InventoryStatus
    available: int


@dataclass(frozen=True, slots=True)
class RatingView:  # a dataclass: a NamedTuple's `count` would shadow tuple.count
    average: float
    count: int


def product_id(root: ProductRow) -> str:
    return encode_id("Product", root.id)


def store_id(root: StoreRow) -> str:
    return encode_id("Store", root.id)


def category_id(root: CategoryRow) -> str:
    return encode_id("Category", root.id)


def collection_id(root: CollectionRow) -> str:
    return encode_id("Collection", root.id)


@traced
def product_store(root: ProductRow, info: Ctx) -> asyncio.Future[StoreRow | None]:
    return info.context.loader(StoreByIdLoader).load(root.store_id)


@traced
def product_category(root: ProductRow, info: Ctx) -> asyncio.Future[CategoryRow | None] | None:
    if root.category_id is None:
        return None
    return info.context.loader(CategoryByIdLoader).load(root.category_id)


@traced
def product_collections(root: ProductRow, info: Ctx) -> asyncio.Future[list[CollectionRow]]:
    return info.context.loader(CollectionsByProductLoader).load(root.id)


def product_price_range(root: ProductRow) -> prices.PriceRangeView:
    if root.min_unit_price is None:
        raise PriceNotSetError(f"product {root.slug!r} has no price yet")
    return prices.price_range(root)


def product_inventory(root: ProductRow) -> InventoryView:
    units = available({"on_hand": root.on_hand})
    return InventoryView(_STATUSES[inventory_status(units)], units)


_STATUSES = {status.value: status for status in InventoryStatus}


def product_rating(root: ProductRow) -> RatingView | None:
    if root.rating_count == 0:
        return None
    return RatingView(round(root.rating_sum / root.rating_count, 2), root.rating_count)


@traced
def category_parent(root: CategoryRow, info: Ctx) -> asyncio.Future[CategoryRow | None] | None:
    if root.parent_id is None:
        return None
    return info.context.loader(CategoryByIdLoader).load(root.parent_id)


@traced
def category_children(root: CategoryRow, info: Ctx) -> asyncio.Future[list[CategoryRow]]:
    return info.context.loader(CategoryChildrenByParentLoader).load(root.id)


@traced
def category_ancestors(root: CategoryRow, info: Ctx) -> asyncio.Future[list[CategoryRow]]:
    if not root.ancestor_ids:
        return resolved([])
    found = info.context.loader(CategoryByIdLoader).load_many(root.ancestor_ids)
    return then(found, lambda rows: [row for row in rows if row is not None])


@traced
def store_owner(root: StoreRow, info: Ctx) -> asyncio.Future[CreatorRow | None]:
    return info.context.loader(CreatorByIdLoader).load(root.owner_creator_id)


@traced
def connection_total(root: Connection[Any], info: Ctx) -> asyncio.Future[int] | int:
    if root.total_key is None:
        return len(root.edges)
    return info.context.loader(ListingTotalLoader).load(root.total_key)
