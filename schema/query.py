"""The root Query type: argument handling only; answers come from `resolvers`."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.catalog import roots
from resolvers.context import RequestContext
from resolvers.creators.fields import resolve_creator
from resolvers.feeds.fields import resolve_feed, resolve_post
from resolvers.insights.dashboard import resolve_creator_dashboard
from resolvers.insights.lookup import resolve_explain_insight
from resolvers.nodes import resolve_node
from resolvers.pricing.cart import resolve_price_cart
from resolvers.pricing.listing import resolve_promotions
from resolvers.tracing import traced
from resolvers.trending.fields import resolve_trending
from schema.catalog import listing_fields
from schema.catalog.types import Category, Collection, Product, ProductConnection, Store
from schema.creators.types import Creator, Post, PostConnection
from schema.insights.types import CreatorDashboard, DateRangeInput, InsightExplanation
from schema.node import Node, unset_to_none
from schema.pricing.types import CartInput, CartPrice, PromotionConnection
from schema.viewer.types import Viewer, resolve_viewer

Ctx = Info[RequestContext, Any]


@traced
def _node(root: Any, info: Ctx, id: strawberry.ID) -> Any:
    return resolve_node(info.context, id)


@traced
def _product(
    root: Any,
    info: Ctx,
    id: strawberry.ID | None = strawberry.UNSET,
    slug: str | None = strawberry.UNSET,
) -> Any:
    return roots.resolve_product(info.context, unset_to_none(id), unset_to_none(slug))


@traced
def _category(
    root: Any,
    info: Ctx,
    id: strawberry.ID | None = strawberry.UNSET,
    slug: str | None = strawberry.UNSET,
) -> Any:
    return roots.resolve_category(info.context, unset_to_none(id), unset_to_none(slug))


@traced
def _categories(root: Any, info: Ctx, parent_id: strawberry.ID | None = strawberry.UNSET) -> Any:
    return roots.resolve_categories(info.context, unset_to_none(parent_id))


@traced
def _collection(root: Any, info: Ctx, slug: str) -> Any:
    return roots.resolve_collection(info.context, slug)


@traced
def _store(root: Any, info: Ctx, slug: str) -> Any:
    return roots.resolve_store(info.context, slug)


@traced
def _creator(root: Any, info: Ctx, handle: str) -> Any:
    return resolve_creator(info.context, handle)


@traced
def _feed(
    root: Any, info: Ctx, first: int | None = 20, after: str | None = strawberry.UNSET
) -> Any:
    return resolve_feed(info.context, first, unset_to_none(after))


@traced
def _post(root: Any, info: Ctx, id: strawberry.ID) -> Any:
    return resolve_post(info.context, id)


@traced
def _promotions(
    root: Any,
    info: Ctx,
    active: bool | None = True,
    store_id: strawberry.ID | None = strawberry.UNSET,
    first: int | None = 20,
    after: str | None = strawberry.UNSET,
) -> Any:
    return resolve_promotions(
        info.context,
        active=active,
        store_id=unset_to_none(store_id),
        first=first,
        after=unset_to_none(after),
    )


@traced
def _price_cart(root: Any, info: Ctx, input: CartInput) -> Any:
    return resolve_price_cart(
        info.context,
        [line.to_args() for line in input.lines],
        unset_to_none(input.currency_code),
    )


@traced
def _creator_dashboard(
    root: Any,
    info: Ctx,
    range: DateRangeInput | None = strawberry.UNSET,
    creator_id: strawberry.ID | None = strawberry.UNSET,
) -> Any:
    chosen = unset_to_none(range)
    creator = unset_to_none(creator_id)
    if chosen is None:
        return resolve_creator_dashboard(info.context, None, None, creator)
    return resolve_creator_dashboard(info.context, chosen.from_, chosen.to, creator)


@traced
def _explain_insight(root: Any, info: Ctx, id: strawberry.ID) -> Any:
    return resolve_explain_insight(info.context, id)


@strawberry.enum(name="TrendingWindow")
class TrendingWindow(Enum):
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"


@traced
def _trending(
    root: Any,
    info: Ctx,
    window: TrendingWindow | None = TrendingWindow.DAY,
    first: int | None = 20,
) -> Any:
    chosen = TrendingWindow.DAY if window is None else window
    return resolve_trending(info.context, chosen.value, first)


@strawberry.type(name="Query")
class Query:
    node: Node | None = strawberry.field(
        resolver=_node, graphql_type=Node | None, description="Any object by its global id."
    )
    product: Product | None = strawberry.field(
        resolver=_product,
        graphql_type=Product | None,
        description="A product by global id or by slug (exactly one of the two).",
    )
    products: ProductConnection = strawberry.field(
        resolver=listing_fields.all_products,
        graphql_type=ProductConnection,
        description="Products across the catalog. `first` is capped (100).",
    )
    category: Category | None = strawberry.field(
        resolver=_category,
        graphql_type=Category | None,
        description="A category by global id or by slug (exactly one of the two).",
    )
    categories: list[Category] = strawberry.field(
        resolver=_categories,
        graphql_type=list[Category],
        description="Child categories of `parentId`; root categories when it is null.",
    )
    collection: Collection | None = strawberry.field(
        resolver=_collection, graphql_type=Collection | None
    )
    store: Store | None = strawberry.field(resolver=_store, graphql_type=Store | None)
    creator: Creator | None = strawberry.field(resolver=_creator, graphql_type=Creator | None)
    trending: list[Post] = strawberry.field(
        resolver=_trending,
        graphql_type=list[Post],
        description="Posts ranked by time-decayed engagement.",
    )
    promotions: PromotionConnection = strawberry.field(
        resolver=_promotions,
        graphql_type=PromotionConnection,
        description="Promotions, newest first.",
    )
    price_cart: CartPrice = strawberry.field(
        resolver=_price_cart,
        graphql_type=CartPrice,
        description=(
            "Price a cart for the current viewer (segment prices, quantity tiers,\n"
            "promotions). Pure read: nothing is reserved or stored."
        ),
    )
    creator_dashboard: CreatorDashboard | None = strawberry.field(
        resolver=_creator_dashboard,
        graphql_type=CreatorDashboard | None,
        description=(
            "Creator dashboard of the authenticated creator. Requires a creator token.\n"
            "`creatorId`: an ADMIN reads that creator's dashboard (read-only support);\n"
            "a creator may name only themself."
        ),
    )
    explain_insight: InsightExplanation | None = strawberry.field(
        resolver=_explain_insight,
        graphql_type=InsightExplanation | None,
        description=(
            "Why an insight was generated: the rule, its inputs and thresholds.\n"
            "Only the insight's owner may ask."
        ),
    )
    feed: PostConnection = strawberry.field(
        resolver=_feed,
        graphql_type=PostConnection,
        description=(
            "Posts of the creators the viewer follows, newest first. Requires a user token."
        ),
    )
    post: Post | None = strawberry.field(resolver=_post, graphql_type=Post | None)
    viewer: Viewer | None = strawberry.field(
        resolver=resolve_viewer,
        graphql_type=Viewer | None,
        description="The authenticated caller; null for anonymous requests.",
    )
