"""Creator profile table."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text

from readmodels.metadata import metadata

creators = Table(
    "creators",
    metadata,
    Column("id", Text, primary_key=True),
    Column("handle", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("bio", Text),
    Column("avatar_url", Text),
    Column("store_id", Text, index=True),
    Column("follower_count", Integer, nullable=False, server_default="0"),
    Column("post_count", Integer, nullable=False, server_default="0"),
    Column("version", BigInteger, nullable=False),
)

CREATOR_TABLES = (creators,)
