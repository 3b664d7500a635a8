"""The persisted-document table, on its own MetaData (migrated by readmodels' Alembic)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per (client list, document id). `client_name` '' is the shared list;
# a named list belongs to the `apollographql-client-name` of that value.
# `sha256` is the hash of `body` (what APQ and `documentId: sha256:...` look
# up); `normalized_hash` is only set for manifest rows, so APQ registrations
# can never make text pass the safelist.
persisted_documents = Table(
    "persisted_documents",
    metadata,
    Column("client_name", Text, nullable=False, server_default=text("''")),
    Column("id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("operation_name", Text, nullable=True),
    Column("operation_type", Text, nullable=True),
    Column("body", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("normalized_hash", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("client_name", "id"),
    CheckConstraint("source IN ('manifest', 'apq')", name="source"),
    Index("ix_persisted_documents_sha256", "sha256"),
    Index("ix_persisted_documents_normalized_hash", "normalized_hash"),
)
