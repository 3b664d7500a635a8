"""Catalog input types."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.catalog.listings import ProductFilterArgs
from schema.node import unset_to_none


@strawberry.input(name="ProductFilter")
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.UNSET
    include_subcategories: bool | None = strawberry.field(
        default=True, description="Includes products of descendant categories when true."
    )
    collection_id: strawberry.ID | None = strawberry.UNSET
    store_id: strawberry.ID | None = strawberry.UNSET
    in_stock: bool | None = strawberry.UNSET
    min_price: Decimal | None = strawberry.UNSET
    max_price: Decimal | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Case-insensitive match on title and tags."
    )

    def to_args(self) -> ProductFilterArgs:
        return ProductFilterArgs(
            category_id=unset_to_none(self.category_id),
            include_subcategories=unset_to_none(self.include_subcategories),
            collection_id=unset_to_none(self.collection_id),
            store_id=unset_to_none(self.store_id),
            in_stock=unset_to_none(self.in_stock),
            min_price=unset_to_none(self.min_price),
            max_price=unset_to_none(self.max_price),
            tags=unset_to_none(self.tags),
            search=unset_to_none(self.search),
        )
