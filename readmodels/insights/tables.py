"""Metrics and insight-state tables.

A dashboard never scans orders: the `insights` projection folds every order
into `store_daily` (one row per store and day: revenue, orders, units,
sessions, customers whose second order fell that day) and
`store_product_daily` (one row per store, day and product sold), so a range
of up to 366 days reads at most 366 day rows per store (and the previous
range as many again), plus the product rows of those days. A cancellation
subtracts what its order added, through `insight_orders`, which remembers
each order's contribution (a cancellation that arrives first leaves a
tombstone). `store_customers` keeps each customer's live order days per
store, so "second order" is exact under cancellations.

`insight_state` is the seen/dismissed state by creator and insight (the
primary key serves both lookups), and `insight_audit` every seen/dismiss
action, one row per event (keyed by event id, so a replay or a write-through
from the mutation and the projector's later pass write it once).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from readmodels.metadata import metadata

store_daily = Table(
    "store_daily",
    metadata,
    Column("store_id", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("revenue", Numeric, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("new_repeat_customers", Integer, nullable=False),
    PrimaryKeyConstraint("store_id", "day"),
)

store_product_daily = Table(
    "store_product_daily",
    metadata,
    Column("store_id", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("units", Integer, nullable=False),
    Column("revenue", Numeric, nullable=False),
    PrimaryKeyConstraint("store_id", "day", "product_id"),
)

store_customers = Table(
    "store_customers",
    metadata,
    Column("store_id", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    # Days of the customer's live (not cancelled) orders at this store, sorted.
    Column("order_days", ARRAY(Date), nullable=False),
    PrimaryKeyConstraint("store_id", "customer_id"),
)

insight_orders = Table(
    "insight_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("store_id", Text),
    Column("customer_id", Text),
    Column("day", Date),
    Column("total", Numeric),
    # [[productId, units, revenue-as-string], ...] as the order added them.
    Column("lines", JSONB),
    Column("cancelled", Boolean, nullable=False),
)

insight_state = Table(
    "insight_state",
    metadata,
    Column("creator_id", Text, nullable=False),
    Column("insight_id", Text, nullable=False),
    Column("seen_at", DateTime(timezone=True)),
    Column("dismissed_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("creator_id", "insight_id"),
)

insight_audit = Table(
    "insight_audit",
    metadata,
    Column("event_id", UUID(as_uuid=False), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("creator_id", Text, nullable=False),
    Column("insight_id", Text, nullable=False),
    Column("action", Text, nullable=False),  # "seen" or "dismissed"
    Column("actor", Text),  # the token's subject, when the gateway wrote it
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_insight_audit_creator", "creator_id", "at"),
)

INSIGHT_TABLES = (
    store_daily,
    store_product_daily,
    store_customers,
    insight_orders,
    insight_state,
    insight_audit,
)
