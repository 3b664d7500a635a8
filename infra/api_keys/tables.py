"""The API-key tables, on their own MetaData (migrated by readmodels' Alembic, revision 0007).

`api_keys` holds one row per key: never the key itself, only its SHA-256.
`api_key_signing_secrets` holds the HMAC secrets a key signs requests with,
in clear: verifying an HMAC needs the secret itself, so it cannot be hashed.
A row stolen from this table alone still cannot call anything, since a call also
needs the key, of which only the hash is here. Treat the database and its
backups as the secret store they are.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("key_sha256", Text, nullable=False),
    Column("signing_required", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("id"),
    CheckConstraint(
        "scopes <@ ARRAY['events', 'admin'] AND cardinality(scopes) > 0", name="scopes"
    ),
    CheckConstraint("length(name) BETWEEN 1 AND 100", name="name"),
)

# `number` counts a key's secrets from 1; a retired secret stays (for the record) but
# no longer verifies anything.
api_key_signing_secrets = Table(
    "api_key_signing_secrets",
    metadata,
    Column("key_id", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("key_id", "number"),
    ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
)
