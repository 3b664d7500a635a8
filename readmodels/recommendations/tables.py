"""Bought-together tables.

`copurchases` counts, for each ordered pair of products, the live (not
cancelled) orders holding both. `recommendations` keeps each product's top
20 of them (count descending, then product id), recomputed only for the
products an order touched, so a request reads one short row.
`recommendation_orders` remembers each order's products, so a cancellation
takes exactly its pairs back out (one that arrives first leaves a tombstone).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

from readmodels.metadata import metadata

copurchases = Table(
    "copurchases",
    metadata,
    Column("product_id", Text, nullable=False),
    Column("other_id", Text, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("product_id", "other_id"),
    Index("ix_copurchases_top", "product_id", "count", "other_id"),
)

recommendations = Table(
    "recommendations",
    metadata,
    Column("product_id", Text, primary_key=True),
    Column("other_ids", ARRAY(Text), nullable=False),
    Column("counts", ARRAY(Integer), nullable=False),
)

recommendation_orders = Table(
    "recommendation_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("product_ids", ARRAY(Text)),
    Column("cancelled", Boolean, nullable=False),
)

RECOMMENDATION_TABLES = (copurchases, recommendations, recommendation_orders)
