"""Feed DataLoaders: posts by id, creators' post pages, users' feed pages, creator counts.

One statement per batch, results in key order. Pages are tagged by their
posts (`post:<id>`: an unpublish or a new like drops them) and by their
owner: `creator-posts:<creator>` (a new or unpublished post of the creator)
or `feed-of:<user>` (a follow or unfollow). A new post of a followed creator
does not announce every follower's feed (100k tags per post for the viral
creator): a cached feed page picks it up when its short max-age runs out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from readmodels.feeds import queries
from readmodels.feeds.queries import CreatorCounts, PostPageQuery
from readmodels.feeds.rows import PostPage, PostRow
from resolvers.dataloaders import RowLoader


class PostByIdLoader(
    RowLoader[str, PostRow | None], query=queries.posts_by_ids, tag="post", key_tag="post"
):
    """Published posts by source id; None for a missing or unpublished one."""


class _PostPageLoader(RowLoader[PostPageQuery, PostPage], query=queries.feed_pages, tag="post"):
    def result_tags(self, result: Any) -> Iterable[str]:
        page: PostPage = result
        return [f"post:{row.id}" for row in page.items]


class CreatorPostsLoader(
    _PostPageLoader,
    query=queries.creator_post_pages,
    tag="post",
    key_tag=lambda key: (f"creator-posts:{key.owner_id}",),
):
    """Pages of a creator's published posts, newest first."""


class FeedPageLoader(
    _PostPageLoader,
    query=queries.feed_pages,
    tag="post",
    key_tag=lambda key: (f"feed-of:{key.owner_id}",),
):
    """Pages of a user's feed: posts of the creators they follow, newest first."""


class CreatorCountsByCreatorLoader(
    RowLoader[str, CreatorCounts], query=queries.creator_counts, key_tag="creator-counts"
):
    """Follower and published-post counts by creator id."""
