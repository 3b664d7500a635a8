"""Catalog object types. Each is a view over a read-model row: plain fields are
row attributes, the rest are wired to resolver functions of `resolvers.catalog`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from readmodels.catalog.listing import ProductSort
from readmodels.catalog.rows import CategoryRow, CollectionRow, ProductRow, StoreRow
from resolvers.catalog import fields
from resolvers.pricing import fields as pricing_fields
from resolvers.recommendations import fields as recommendation_fields
from schema.catalog import listing_fields
from schema.node import Node, PageInfo

if TYPE_CHECKING:
    from schema.creators.types import Creator
    from schema.pricing.types import AppliedPromotion, Promotion

strawberry.enum(ProductSort, name="ProductSort")
strawberry.enum(fields.InventoryStatus, name="InventoryStatus")

CreatorRef = Annotated["Creator", strawberry.lazy("schema.creators.types")]
# Product, Store, Category and Collection refer to each other: lazy references
# let each class name the others before they are defined.
_HERE = "schema.catalog.types"
StoreRef = Annotated["Store", strawberry.lazy(_HERE)]
CategoryRef = Annotated["Category", strawberry.lazy(_HERE)]
CollectionRef = Annotated["Collection", strawberry.lazy(_HERE)]
ProductRef = Annotated["Product", strawberry.lazy(_HERE)]
_PRICING = "schema.pricing.types"
PromotionRef = Annotated["Promotion", strawberry.lazy(_PRICING)]
AppliedPromotionRef = Annotated["AppliedPromotion", strawberry.lazy(_PRICING)]


@strawberry.type(name="Money")
class Money:
    amount: Decimal
    currency_code: str = strawberry.field(description="ISO-4217 code, e.g. EUR.")


@strawberry.type(name="Image")
class Image:
    url: str
    alt: str | None
    width: int | None
    height: int | None


@strawberry.type(name="PriceRange")
class PriceRange:
    min: Money
    max: Money


@strawberry.type(name="PriceTier")
class PriceTier:
    min_quantity: int
    unit_price: Money


@strawberry.type(name="ProductPrice")
class ProductPrice:
    list_price: Money = strawberry.field(
        name="list", description="Unit list price for the viewer's segment and the quantity tier."
    )
    final: Money = strawberry.field(description="Unit price after promotions.")
    compare_at: Money | None = strawberry.field(
        description="Set when `final` is lower than the base list price."
    )
    tier: PriceTier | None
    applied_promotions: list[AppliedPromotionRef]


@strawberry.type(name="Inventory")
class Inventory:
    status: fields.InventoryStatus
    available: int = strawberry.field(
        description="Units that can be sold now (on hand minus reserved), never negative."
    )


@strawberry.type(name="Rating")
class Rating:
    average: float
    count: int


@strawberry.type(name="Product")
class Product(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.product_id)
    slug: str
    sku: str
    title: str
    description: str | None
    featured: bool
    tags: list[str]
    images: list[Image]
    store: Store = strawberry.field(resolver=fields.product_store, graphql_type=StoreRef)
    category: Category | None = strawberry.field(
        resolver=fields.product_category, graphql_type=CategoryRef | None
    )
    collections: list[Collection] = strawberry.field(
        resolver=fields.product_collections, graphql_type=list[CollectionRef]
    )
    price_range: PriceRange = strawberry.field(
        resolver=fields.product_price_range,
        graphql_type=PriceRange,
        description="List price range over quantity tiers, before promotions.",
    )
    price: ProductPrice = strawberry.field(
        resolver=pricing_fields.product_price,
        graphql_type=ProductPrice,
        description="Price for the current viewer at `quantity`, promotions applied.",
    )
    promotions: list[Promotion] = strawberry.field(
        resolver=pricing_fields.product_promotions,
        graphql_type=list[PromotionRef],
        description="Active promotions that can apply to this product.",
    )
    inventory: Inventory = strawberry.field(
        resolver=fields.product_inventory, graphql_type=Inventory
    )
    rating: Rating | None = strawberry.field(
        resolver=fields.product_rating, graphql_type=Rating | None
    )
    recommendations: list[Product] = strawberry.field(
        resolver=recommendation_fields.product_recommendations,
        graphql_type=list[ProductRef],
        description="Products often bought together with this one.",
    )
    updated_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, ProductRow)


@strawberry.type(name="ProductEdge")
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type(name="ProductConnection")
class ProductConnection:
    edges: list[ProductEdge]
    nodes: list[Product]
    page_info: PageInfo
    total_count: int = strawberry.field(resolver=fields.connection_total, graphql_type=int)


@strawberry.type(name="Store")
class Store(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.store_id)
    slug: str
    name: str
    currency_code: str
    owner: CreatorRef = strawberry.field(resolver=fields.store_owner, graphql_type=CreatorRef)
    products: ProductConnection = strawberry.field(
        resolver=listing_fields.store_products, graphql_type=ProductConnection
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, StoreRow)


@strawberry.type(name="Category")
class Category(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.category_id)
    slug: str
    name: str
    parent: Category | None = strawberry.field(
        resolver=fields.category_parent, graphql_type=CategoryRef | None
    )
    children: list[Category] = strawberry.field(
        resolver=fields.category_children, graphql_type=list[CategoryRef]
    )
    ancestors: list[Category] = strawberry.field(
        resolver=fields.category_ancestors,
        graphql_type=list[CategoryRef],
        description="Root-first list of ancestors, for breadcrumbs; excludes this category.",
    )
    product_count: int = strawberry.field(
        description="Number of listed products in this category and its descendants."
    )
    products: ProductConnection = strawberry.field(
        resolver=listing_fields.category_products, graphql_type=ProductConnection
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, CategoryRow)


@strawberry.type(name="Collection")
class Collection(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.collection_id)
    slug: str
    title: str
    products: ProductConnection = strawberry.field(
        resolver=listing_fields.collection_products, graphql_type=ProductConnection
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, CollectionRow)
