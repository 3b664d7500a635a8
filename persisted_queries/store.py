"""The persisted-document store: PostgreSQL is the record, Redis the shared cache.

Every replica reads the same documents: a manifest pushed once, or an APQ
registration made through any replica, is found by all of them. Lookups run
on the request path and never raise: a Redis or PostgreSQL outage is logged
and answered as "not found" (for APQ the client then sends the text, which is
served). Writes from the CLI and the admin endpoint do raise, so a push that
did not happen is never reported as done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.readpool import ReadInputError, ReadPool, ReadTimeoutError, ReadUnavailableError
from persisted_queries.documents import APQ, MANIFEST, StoredDocument
from persisted_queries.shared_cache import SharedDocumentCache
from persisted_queries.tables import persisted_documents as table

log = logging.getLogger("vitrine.persisted_queries")

_READ_ERRORS = (
    ReadUnavailableError,
    ReadTimeoutError,
    ReadInputError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)
_INSERT_CHUNK = 1000

_FIND = """
SELECT client_name, id, source, body, sha256, operation_name, operation_type, normalized_hash
FROM persisted_documents
WHERE client_name IN ('', $2) AND (id = $1 OR sha256 = $1)
ORDER BY client_name = $2 DESC, source = 'manifest' DESC
LIMIT 1
"""
_SAFELISTED = """
SELECT EXISTS (
    SELECT 1 FROM persisted_documents
    WHERE normalized_hash = $1 AND source = 'manifest' AND client_name IN ('', $2)
)
"""


@dataclass(frozen=True, slots=True)
class PushResult:
    """A stored manifest: its documents, how many were new, and for which client list."""

    count: int
    added: int
    client_name: str
    bodies: tuple[str, ...] = ()


class DocumentIdConflictError(Exception):
    """An id of the manifest is already registered with a different document."""

    def __init__(self, conflicts: list[StoredDocument]) -> None:
        self.conflicts = conflicts
        super().__init__("; ".join(self.describe(d) for d in conflicts))

    @staticmethod
    def describe(document: StoredDocument) -> str:
        return (
            f"operation {document.operation_name or '(anonymous)'} (id {document.id}): the id is"
            " already registered with a different document (remove it first with"
            " `vitrine pq remove`)"
        )


class DocumentStore:
    """PostgreSQL (`engine` for writes, `reads` for lookups) with an optional Redis cache."""

    def __init__(
        self,
        engine: AsyncEngine,
        reads: ReadPool,
        *,
        redis: Redis | None = None,
        redis_ttl: int = 3600,
    ) -> None:
        self._engine = engine
        self._reads = reads
        self._cache = SharedDocumentCache(redis, ttl=redis_ttl) if redis is not None else None

    async def find(self, key: str, client_name: str = "") -> StoredDocument | None:
        """The document whose id or SHA-256 is `key`, the client's own list first."""
        if self._cache is not None:
            cached = await self._cache.get(client_name, key)
            if cached is not None:
                return cached
        try:
            rows = await self._reads.fetch(_FIND, key, client_name)
        except _READ_ERRORS as exc:
            log.warning("persisted-document lookup failed, answering not found: %r", exc)
            return None
        if not rows:
            return None
        document = StoredDocument.from_mapping(rows[0])
        if self._cache is not None:
            await self._cache.put([document], overwrite=document.source == MANIFEST)
        return document

    async def is_safelisted(self, normalized_hash: str, client_name: str = "") -> bool:
        """Whether a manifest document of the client's or the shared list normalizes alike."""
        try:
            rows = await self._reads.fetch(_SAFELISTED, normalized_hash, client_name)
        except _READ_ERRORS as exc:
            log.warning("safelist lookup failed, answering not in the list: %r", exc)
            return False
        return bool(rows[0][0])

    async def save_apq(self, document: StoredDocument) -> None:
        """Record an APQ registration in the shared list; never replaces a manifest document."""
        document = replace(document, client_name="", source=APQ, normalized_hash=None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(table).values(document.columns()).on_conflict_do_nothing()
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("APQ registration not stored in PostgreSQL: %r", exc)
        if self._cache is not None:
            await self._cache.put([document], overwrite=False)

    async def add_manifest(
        self, documents: Sequence[StoredDocument], client_name: str = ""
    ) -> PushResult:
        """Store checked manifest documents in one transaction; ids already registered
        with the same document are kept, with another one refuse the whole push."""
        documents = [replace(d, client_name=client_name, source=MANIFEST) for d in documents]
        async with self._engine.begin() as conn:
            existing = {
                row.id: row
                for row in await conn.execute(
                    select(table.c.id, table.c.source, table.c.body)
                    .where(table.c.client_name == client_name)
                    .where(table.c.id.in_([d.id for d in documents]))
                    .with_for_update()
                )
            }
            conflicts = [
                d
                for d in documents
                if d.id in existing
                and existing[d.id].source == MANIFEST
                and existing[d.id].body != d.body
            ]
            if conflicts:
                raise DocumentIdConflictError(conflicts)
            added = sum(
                1 for d in documents if d.id not in existing or existing[d.id].source != MANIFEST
            )
            for start in range(0, len(documents), _INSERT_CHUNK):
                statement = insert(table).values(
                    [d.columns() for d in documents[start : start + _INSERT_CHUNK]]
                )
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.c.client_name, table.c.id],
                        set_={
                            name: statement.excluded[name]
                            for name in documents[0].columns()
                            if name not in ("client_name", "id")
                        },
                        where=table.c.source == APQ,
                    )
                )
        if self._cache is not None:
            await self._cache.put(documents, overwrite=True)
        return PushResult(len(documents), added, client_name, tuple(d.body for d in documents))

    async def list_documents(
        self, *, client_name: str | None = None, source: str | None = MANIFEST
    ) -> list[StoredDocument]:
        """Registered documents, by client list and operation name."""
        query = select(table).order_by(table.c.client_name, table.c.operation_name, table.c.id)
        if client_name is not None:
            query = query.where(table.c.client_name == client_name)
        if source is not None:
            query = query.where(table.c.source == source)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [StoredDocument.from_mapping(dict(row)) for row in rows]

    async def remove(self, document_id: str, client_name: str = "") -> bool:
        """Delete one document (and its cached copies); False if there was none."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    delete(table)
                    .where(table.c.client_name == client_name)
                    .where(table.c.id == document_id)
                    .returning(table.c.sha256)
                )
            ).first()
        if row is None:
            return False
        if self._cache is not None:
            await self._cache.delete(client_name, [document_id, row.sha256])
        return True
