"""Pricing object and input types. Each object is a view over a row or a view the
pricing engine returns; resolvers live in `resolvers.pricing`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from readmodels.pricing.rows import PromotionKind, PromotionRow
from resolvers.pricing import fields
from resolvers.pricing.cart import CartLineArgs
from schema.node import Node, PageInfo

if TYPE_CHECKING:
    from schema.catalog.types import Money, Product, ProductPrice, Store

_CATALOG = "schema.catalog.types"
StoreRef = Annotated["Store", strawberry.lazy(_CATALOG)]
MoneyRef = Annotated["Money", strawberry.lazy(_CATALOG)]
ProductRef = Annotated["Product", strawberry.lazy(_CATALOG)]
ProductPriceRef = Annotated["ProductPrice", strawberry.lazy(_CATALOG)]

strawberry.enum(PromotionKind, name="PromotionKind")


@strawberry.type(name="Promotion")
class Promotion(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.promotion_id)
    name: str
    description: str | None
    kind: PromotionKind
    value: Decimal = strawberry.field(
        description='Percent for PERCENT_OFF (e.g. "15"), money amount for AMOUNT_OFF.'
    )
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int = strawberry.field(description="Higher runs first.")
    stackable: bool = strawberry.field(
        description="When false, no other promotion applies to the same line after this one."
    )
    active: bool
    store: StoreRef = strawberry.field(resolver=fields.promotion_store, graphql_type=StoreRef)

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, PromotionRow)


@strawberry.type(name="AppliedPromotion")
class AppliedPromotion:
    promotion: Promotion
    discount: MoneyRef = strawberry.field(description="Discount per unit at this quantity.")


@strawberry.type(name="PromotionEdge")
class PromotionEdge:
    cursor: str
    node: Promotion


@strawberry.type(name="PromotionConnection")
class PromotionConnection:
    edges: list[PromotionEdge]
    nodes: list[Promotion]
    page_info: PageInfo
    total_count: int = strawberry.field(resolver=fields.promotion_total, graphql_type=int)


@strawberry.type(name="CartLinePrice")
class CartLinePrice:
    product: ProductRef
    quantity: int
    unit_price: ProductPriceRef
    line_total: MoneyRef


@strawberry.type(name="CartPrice")
class CartPrice:
    lines: list[CartLinePrice]
    subtotal: MoneyRef
    discount_total: MoneyRef
    total: MoneyRef
    applied_promotions: list[AppliedPromotion]


@strawberry.input(name="CartLineInput")
class CartLineInput:
    product_id: strawberry.ID
    quantity: int

    def to_args(self) -> CartLineArgs:
        return CartLineArgs(str(self.product_id), self.quantity)


@strawberry.input(name="CartInput")
class CartInput:
    lines: list[CartLineInput]
    currency_code: str | None = strawberry.UNSET
