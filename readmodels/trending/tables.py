"""Trending rankings, one per window.

`trending_buckets` counts each post's weighted engagement per hour, the unit
every window is made of. `trending` holds, per window (HOUR, DAY, WEEK), the
precomputed score of each post with engagement inside it, so a request reads
the top N of a window through `ix_trending_rank` and computes nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from readmodels.metadata import metadata

trending_buckets = Table(
    "trending_buckets",
    metadata,
    Column("post_id", Text, nullable=False),
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("likes", Integer, nullable=False),
    Column("shares", Integer, nullable=False),
    Column("remixes", Integer, nullable=False),
    # Position of the last event counted: a replayed event is not counted twice.
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("post_id", "hour"),
    Index("ix_trending_buckets_hour", "hour"),
)

trending = Table(
    "trending",
    metadata,
    Column("window", Text, nullable=False),
    Column("post_id", Text, nullable=False),
    Column("score", Float, nullable=False),
    # When the score was computed: scores decay from there (see the projection).
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("window", "post_id"),
    Index("ix_trending_rank", "window", "score", "post_id"),
)

# The latest engagement time seen (one row): the moment every ranking is as of.
# Kept apart from the rankings so it survives every bucket being pruned or
# dropped, which keeps a rebuild equal to live whatever the batch sizes.
trending_clock = Table(
    "trending_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", DateTime(timezone=True), nullable=False),
)

TRENDING_TABLES = (trending_buckets, trending, trending_clock)
