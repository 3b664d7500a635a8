"""Creator profile types; posts and engagement arrive with the feeds domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from readmodels.creators.rows import CreatorRow
from readmodels.feeds.rows import PostRow
from resolvers.creators import fields
from resolvers.feeds import fields as feed_fields
from schema.catalog.types import Product, Store
from schema.node import Node, PageInfo


@strawberry.type(name="Engagement")
class Engagement:
    likes: int
    shares: int
    remixes: int


@strawberry.type(name="Post")
class Post(Node):
    id: strawberry.ID = strawberry.field(
        resolver=feed_fields.post_id,
        description="Globally unique, opaque id (Relay convention).",
    )
    author: Creator = strawberry.field(resolver=feed_fields.post_author)
    body: str
    published_at: datetime
    products: list[Product] = strawberry.field(
        resolver=feed_fields.post_products,
        graphql_type=list[Product],
        description="Products the post links to.",
    )
    engagement: Engagement = strawberry.field(
        resolver=feed_fields.post_engagement, graphql_type=Engagement
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, PostRow)


@strawberry.type(name="PostEdge")
class PostEdge:
    cursor: str
    node: Post


@strawberry.type(name="PostConnection")
class PostConnection:
    edges: list[PostEdge]
    nodes: list[Post]
    page_info: PageInfo


@strawberry.type(name="Creator")
class Creator(Node):
    id: strawberry.ID = strawberry.field(resolver=fields.creator_id)
    handle: str
    name: str
    bio: str | None
    avatar_url: str | None
    follower_count: int = strawberry.field(
        resolver=feed_fields.creator_follower_count, graphql_type=int
    )
    post_count: int = strawberry.field(resolver=feed_fields.creator_post_count, graphql_type=int)
    store: Store | None = strawberry.field(resolver=fields.creator_store, graphql_type=Store | None)
    viewer_follows: bool = strawberry.field(resolver=fields.creator_viewer_follows)
    posts: PostConnection = strawberry.field(
        resolver=feed_fields.creator_posts, graphql_type=PostConnection
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, CreatorRow)
