"""Promotion read-model tables.

`promotions` holds one row per promotion as its last PromotionUpserted left it
(a deactivation clears `active`). `promotion_targets` is the index that finds
the candidate promotions of a product without scanning every promotion: each
promotion is filed under the keys its condition cannot match without, within
its store: `*` (any product of the store), `p:<product>`, `c:<category>`
(matches its descendants too), `k:<collection>` or `t:<tag>`. A product's
candidates are the promotions filed under its store's `*` or under one of its
own keys; the compiled condition then decides.
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
from sqlalchemy.dialects.postgresql import JSONB

from readmodels.metadata import metadata

promotions = Table(
    "promotions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("store_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("kind", Text, nullable=False),
    Column("value", Numeric, nullable=False),
    Column("buy_quantity", Integer),
    Column("get_quantity", Integer),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("priority", Integer, nullable=False),
    Column("stackable", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    # The predicate tree of events.md; NULL means "always" ({} is stored as NULL).
    Column("condition", JSONB),
    # Position of the first PromotionUpserted: "newest first" and the listing cursor.
    Column("first_position", BigInteger, nullable=False),
    # Position of the last change: compiled predicates are cached by (id, version).
    Column("version", BigInteger, nullable=False),
    Index("ix_promotions_newest", "first_position"),
    Index("ix_promotions_store_newest", "store_id", "first_position"),
)

promotion_targets = Table(
    "promotion_targets",
    metadata,
    Column("store_id", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("promotion_id", Text, nullable=False),
    PrimaryKeyConstraint("store_id", "target", "promotion_id"),
    Index("ix_promotion_targets_promotion", "promotion_id"),
)

PRICING_TABLES = (promotions, promotion_targets)
