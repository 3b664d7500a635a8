"""The trending DataLoader: one statement per batch of (window, first) keys.

Tagged by window, found or not: the projection announces `trending:<window>`
when a window's order changes. The posts themselves are tagged by the post
loader that resolves them.
"""

from __future__ import annotations

from functools import partial

from aiodataloader import DataLoader

from readmodels.trending import queries
from resolvers.context import RequestContext
from resolvers.dataloaders import run_query

TrendingKey = tuple[str, int]


class TrendingLoader(DataLoader[TrendingKey, list[str]]):
    """Ranked post ids (published, still inside the window now) by (window, first)."""

    def __init__(self, context: RequestContext) -> None:
        super().__init__()
        self.context = context

    async def batch_load_fn(self, keys: list[TrendingKey]) -> list[list[str]]:
        query = partial(queries.trending_page, now=self.context.now)
        pages: list[list[str]] = await run_query(
            self.context, type(self).__name__, query, list(keys)
        )
        self.context.tags.update(f"trending:{window}" for window, _ in keys)
        return pages
