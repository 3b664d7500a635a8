"""Catalog read-model tables, shaped for the queries that read them.

`products` holds one row per product with everything a listing shows, so a
listing page never joins. `listing_entries` holds one row per product and
listing scope (the whole catalog, a store, a category including its
subcategories, a category alone, a collection) carrying the sort keys, so
every sort of every listing is a keyset walk over one index.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from readmodels.metadata import metadata

stores = Table(
    "stores",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("currency_code", Text, nullable=False),
    Column("owner_creator_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
)

categories = Table(
    "categories",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("parent_id", Text, index=True),
    Column("position", Integer, nullable=False),
    # Root-first ids of the ancestors, excluding the category itself.
    Column("ancestor_ids", ARRAY(Text), nullable=False),
    Column("product_count", Integer, nullable=False, server_default="0"),
    Column("version", BigInteger, nullable=False),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("product_ids", ARRAY(Text), nullable=False),
    Column("version", BigInteger, nullable=False),
)

collection_products = Table(
    "collection_products",
    metadata,
    Column("collection_id", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("collection_id", "product_id"),
    Index("ix_collection_products_product", "product_id"),
)

products = Table(
    "products",
    metadata,
    Column("id", Text, primary_key=True),
    # False until ProductUpserted arrives (prices or stock may come first).
    Column("upserted", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("store_id", Text),
    Column("sku", Text),
    Column("slug", Text, index=True),
    Column("title", Text),
    Column("description", Text),
    Column("category_id", Text, index=True),
    Column("tags", ARRAY(Text), nullable=False),
    Column("images", JSONB, nullable=False),
    Column("featured", Boolean, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("currency_code", Text),
    Column("base_price", Numeric),
    Column("min_unit_price", Numeric),
    Column("max_unit_price", Numeric),
    Column("tiers", JSONB, nullable=False),
    Column("segment_prices", JSONB, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("rating_sum", Integer, nullable=False),
    Column("rating_count", Integer, nullable=False),
    Column("units_sold", Integer, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
)

product_reviews = Table(
    "product_reviews",
    metadata,
    Column("product_id", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("rating", Integer, nullable=False),
    PrimaryKeyConstraint("product_id", "customer_id"),
)

# Lines of each order, so a cancellation can take its units back out of
# BEST_SELLING; a cancellation that arrives first leaves a tombstone.
order_units = Table(
    "order_units",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("lines", JSONB),
    Column("cancelled", Boolean, nullable=False),
)

listing_entries = Table(
    "listing_entries",
    metadata,
    Column("scope", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("featured", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("price", Numeric, nullable=False),
    Column("rating", Numeric, nullable=False),
    Column("rating_count", Integer, nullable=False),
    Column("units_sold", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    PrimaryKeyConstraint("scope", "product_id"),
    # One index per sort; descending sorts walk the same index backwards.
    Index("ix_listing_featured", "scope", "featured", "created_at", "product_id"),
    Index("ix_listing_newest", "scope", "created_at", "product_id"),
    Index("ix_listing_price", "scope", "price", "product_id"),
    Index("ix_listing_top_rated", "scope", "rating", "rating_count", "product_id"),
    Index("ix_listing_best_selling", "scope", "units_sold", "product_id"),
    Index("ix_listing_product", "product_id"),
)

listing_counts = Table(
    "listing_counts",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("count", Integer, nullable=False),
)

CATALOG_TABLES = (
    stores,
    categories,
    collections,
    collection_products,
    products,
    product_reviews,
    order_units,
    listing_entries,
    listing_counts,
)
