"""Creator DataLoaders."""

from __future__ import annotations

from readmodels.creators import queries
from readmodels.creators.rows import CreatorRow
from resolvers.dataloaders import RowLoader


class CreatorByIdLoader(
    RowLoader[str, CreatorRow | None],
    query=queries.creators_by_ids,
    tag="creator",
    key_tag="creator",
):
    """Creator profiles by source id."""


class CreatorByHandleLoader(
    RowLoader[str, CreatorRow | None],
    query=queries.creators_by_handles,
    tag="creator",
    key_tag="creator-handle",
):
    """Creator profiles by handle."""
