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
        def value(name: str) -> object:
            return unset_to_none(getattr(self, name))

        return ProductFilterArgs(
            category_id=value("category_id"),  # type: ignore[arg-type]
            include_subcategories=value("include_subcategories"),  # type: ignore[arg-type]
            collection_id=value("collection_id"),  # type: ignore[arg-type]
            store_id=value("store_id"),  # type: ignore[arg-type]
            in_stock=value("in_stock"),  # type: ignore[arg-type]
            min_price=value("min_price"),  # type: ignore[arg-type]
            max_price=value("max_price"),  # type: ignore[arg-type]
            tags=value("tags"),  # type: ignore[arg-type]
            search=value("search"),  # type: ignore[arg-type]
        )
