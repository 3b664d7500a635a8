"""A persisted document as stored: the record PostgreSQL keeps and Redis caches."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import orjson

MANIFEST, APQ = "manifest", "apq"


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """One persisted document of one client list ('' is the shared list).

    `source` is MANIFEST (registered by a push: trusted, safelisted) or APQ
    (registered on demand by a client: served, never safelisted)."""

    client_name: str
    id: str
    source: str
    body: str
    sha256: str
    operation_name: str | None
    operation_type: str | None
    normalized_hash: str | None
    created_at: datetime | None = None

    def with_client(self, client_name: str) -> StoredDocument:
        return replace(self, client_name=client_name)

    def summary(self) -> dict[str, Any]:
        """What listings show (no body)."""
        return {
            "id": self.id,
            "client": self.client_name,
            "name": self.operation_name,
            "type": self.operation_type,
            "source": self.source,
            "createdAt": self.created_at.isoformat() if self.created_at else None,
        }

    def columns(self) -> dict[str, Any]:
        """The table's columns (created_at is the database's)."""
        return {k: v for k, v in asdict(self).items() if k != "created_at"}

    def to_json(self) -> bytes:
        return orjson.dumps(self.columns())

    @classmethod
    def from_json(cls, raw: bytes | str) -> StoredDocument | None:
        try:
            return cls(**orjson.loads(raw))
        except (orjson.JSONDecodeError, TypeError):
            return None

    @classmethod
    def from_mapping(cls, row: Any) -> StoredDocument:
        return cls(
            client_name=row["client_name"],
            id=row["id"],
            source=row["source"],
            body=row["body"],
            sha256=row["sha256"],
            operation_name=row["operation_name"],
            operation_type=row["operation_type"],
            normalized_hash=row["normalized_hash"],
            created_at=row.get("created_at"),
        )
