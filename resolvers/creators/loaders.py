"""Creator DataLoaders."""

from __future__ import annotations

from readmodels.creators import queries
from readmodels.creators.rows import CreatorRow
from resolvers.dataloaders import RowLoader


class CreatorByIdLoader(RowLoader[str, CreatorRow | None]):
    query = staticmethod(queries.creators_by_ids)


class CreatorByHandleLoader(RowLoader[str, CreatorRow | None]):
    query = staticmethod(queries.creators_by_handles)
