"""Posts, follows and engagement.

`posts` holds every post with its counters; an unpublished one keeps its row
with `published` false, so it disappears everywhere (every read filters it)
and a late event about it changes nothing visible. `ix_posts_creator_newest`
is the per-creator index a feed page walks: newest first by
(published_at, id), the keyset of every post listing. `follows` is the graph
both ways: by user (a feed, `Viewer.following`) through its primary key, by
creator (`viewerFollows`, follower counts) through `ix_follows_creator`.
`engagements` remembers who did what to which post, so a repeated like
counts once and counters stay exact under replay.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from readmodels.metadata import metadata

posts = Table(
    "posts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("creator_id", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("product_ids", ARRAY(Text), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("likes", Integer, nullable=False),
    Column("shares", Integer, nullable=False),
    Column("remixes", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Index("ix_posts_creator_newest", "creator_id", "published_at", "id"),
    Index("ix_posts_newest", "published_at", "id"),
)

follows = Table(
    "follows",
    metadata,
    Column("user_id", Text, nullable=False),
    Column("creator_id", Text, nullable=False),
    # Position of the Followed event: `Viewer.following` lists newest follows first.
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "creator_id"),
    Index("ix_follows_creator", "creator_id", "user_id"),
    Index("ix_follows_user_newest", "user_id", "position"),
)

engagements = Table(
    "engagements",
    metadata,
    Column("post_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # LIKE, SHARE, REMIX
    PrimaryKeyConstraint("post_id", "user_id", "kind"),
)

# Follower and post counts per creator, kept by the feeds projection (the
# creators table belongs to the creators projection: a rebuild of one must not
# reset the other's columns).
creator_counts = Table(
    "creator_counts",
    metadata,
    Column("creator_id", Text, primary_key=True),
    Column("followers", Integer, nullable=False),
    Column("posts", Integer, nullable=False),
)

FEED_TABLES = (posts, follows, engagements, creator_counts)
