"""Customer segment memberships, one row per (customer, segment).

`segment_diff_stats` counts, in the projection's own transaction, how many
membership rows CustomerSegmentsChanged events asked for and how many of
those were skipped because nothing changed (the diffing's saving); a rebuild
recounts them exactly.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, Table, Text

from readmodels.metadata import metadata

customer_segments = Table(
    "customer_segments",
    metadata,
    Column("customer_id", Text, nullable=False),
    Column("segment", Text, nullable=False),
    PrimaryKeyConstraint("customer_id", "segment"),
)

segment_diff_stats = Table(
    "segment_diff_stats",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("events", BigInteger, nullable=False),
    # Rows a full replacement would have deleted and inserted.
    Column("rows_requested", BigInteger, nullable=False),
    Column("rows_written", BigInteger, nullable=False),
    Column("rows_skipped", BigInteger, nullable=False),
)

SEGMENT_TABLES = (customer_segments, segment_diff_stats)
