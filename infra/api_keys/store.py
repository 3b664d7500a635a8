"""The API-key store: PostgreSQL rows of `api_keys` and their signing secrets.

Reads go to the primary (the `engine`), never a replica: a revocation must be
seen by the next lookup, not after a replica's lag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.api_keys.keys import check_name, check_scopes, new_key, new_signing_secret
from infra.api_keys.tables import api_key_signing_secrets as secrets_table
from infra.api_keys.tables import api_keys as keys_table


class KeyNotFoundError(LookupError):
    """No key has that id."""


class KeyRevokedError(Exception):
    """The key was revoked (at `revoked_at`): it cannot be changed any more."""

    def __init__(self, key_id: str, revoked_at: datetime) -> None:
        super().__init__(f"key {key_id} was revoked at {revoked_at.isoformat()}")
        self.revoked_at = revoked_at


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as stored: its hash, never the key; `signing_secrets` are the active ones."""

    id: str
    name: str
    scopes: tuple[str, ...]
    key_sha256: str
    signing_required: bool
    signing_secrets: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """What `create` hands out once: the key, and its signing secret if it signs."""

    id: str
    key: str
    signing_secret: str | None


class ApiKeyStore:
    """Create, find, list, revoke keys and rotate their signing secrets."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.lookups = 0  # `find` calls: /metrics `vitrine_api_key_lookups_total`

    async def create(self, name: str, scopes: tuple[str, ...], *, signing: bool) -> CreatedKey:
        """A new key; ValueError (with what to do) for a bad name or scope set."""
        name = check_name(name)
        scopes = check_scopes(scopes, signing=signing)
        made = new_key()
        secret = new_signing_secret() if signing else None
        async with self._engine.begin() as conn:
            await conn.execute(
                keys_table.insert().values(
                    id=made.id,
                    name=name,
                    scopes=list(scopes),
                    key_sha256=made.sha256,
                    signing_required=signing,
                )
            )
            if secret is not None:
                await conn.execute(
                    secrets_table.insert().values(key_id=made.id, number=1, secret=secret)
                )
        return CreatedKey(made.id, made.key, secret)

    async def find(self, key_id: str) -> StoredKey | None:
        self.lookups += 1
        async with self._engine.connect() as conn:
            found = await _keys(conn, keys_table.c.id == key_id)
        return found[0] if found else None

    async def list_keys(self) -> list[StoredKey]:
        """Every key, revoked ones included, oldest first."""
        async with self._engine.connect() as conn:
            return await _keys(conn, None)

    async def has_active(self, scope: str) -> bool:
        """Whether any unrevoked key has `scope`."""
        query = select(
            select(keys_table.c.id)
            .where(keys_table.c.revoked_at.is_(None))
            .where(keys_table.c.scopes.any_() == scope)
            .exists()
        )
        async with self._engine.connect() as conn:
            return bool((await conn.execute(query)).scalar_one())

    async def revoke(self, key_id: str) -> datetime:
        """Revoke the key now (the time returned); KeyRevokedError if it already was."""
        async with self._engine.begin() as conn:
            await _lock_unrevoked(conn, key_id)
            revoked_at: datetime = (
                await conn.execute(
                    update(keys_table)
                    .where(keys_table.c.id == key_id)
                    .values(revoked_at=func.now())
                    .returning(keys_table.c.revoked_at)
                )
            ).scalar_one()
        return revoked_at

    async def rotate_secret(self, key_id: str, *, retire_old: bool) -> str:
        """Add a signing secret (returned) to the key; `retire_old` retires all others."""
        secret = new_signing_secret()
        async with self._engine.begin() as conn:
            await _lock_unrevoked(conn, key_id)
            number = (
                await conn.execute(
                    select(func.coalesce(func.max(secrets_table.c.number), 0) + 1).where(
                        secrets_table.c.key_id == key_id
                    )
                )
            ).scalar_one()
            if retire_old:
                await conn.execute(
                    update(secrets_table)
                    .where(secrets_table.c.key_id == key_id)
                    .where(secrets_table.c.retired_at.is_(None))
                    .values(retired_at=func.now())
                )
            await conn.execute(
                secrets_table.insert().values(key_id=key_id, number=number, secret=secret)
            )
        return secret

    async def retire_old_secrets(self, key_id: str) -> int:
        """Retire every active signing secret of the key but the newest; how many."""
        async with self._engine.begin() as conn:
            await _lock_unrevoked(conn, key_id)
            newest = (
                select(func.max(secrets_table.c.number))
                .where(secrets_table.c.key_id == key_id)
                .where(secrets_table.c.retired_at.is_(None))
                .scalar_subquery()
            )
            result = await conn.execute(
                update(secrets_table)
                .where(secrets_table.c.key_id == key_id)
                .where(secrets_table.c.retired_at.is_(None))
                .where(secrets_table.c.number < newest)
                .values(retired_at=func.now())
            )
        return int(result.rowcount)

    async def touch(self, key_id: str) -> None:
        """Record that the key was just used (`last_used_at`)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(keys_table).where(keys_table.c.id == key_id).values(last_used_at=func.now())
            )


async def _lock_unrevoked(conn: AsyncConnection, key_id: str) -> None:
    """Lock the key's row for this transaction; KeyNotFoundError, KeyRevokedError."""
    row = (
        await conn.execute(
            select(keys_table.c.revoked_at).where(keys_table.c.id == key_id).with_for_update()
        )
    ).first()
    if row is None:
        raise KeyNotFoundError(key_id)
    if row.revoked_at is not None:
        raise KeyRevokedError(key_id, row.revoked_at)


async def _keys(conn: AsyncConnection, where: ColumnElement[bool] | None) -> list[StoredKey]:
    query = select(keys_table).order_by(keys_table.c.created_at, keys_table.c.id)
    if where is not None:
        query = query.where(where)
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    secret_rows = await conn.execute(
        select(secrets_table.c.key_id, secrets_table.c.secret)
        .where(secrets_table.c.key_id.in_([row.id for row in rows]))
        .where(secrets_table.c.retired_at.is_(None))
        .order_by(secrets_table.c.key_id, secrets_table.c.number)
    )
    secrets: dict[str, list[str]] = {}
    for key_id, secret in secret_rows:
        secrets.setdefault(key_id, []).append(secret)
    return [
        StoredKey(
            id=row.id,
            name=row.name,
            scopes=tuple(row.scopes),
            key_sha256=row.key_sha256,
            signing_required=row.signing_required,
            signing_secrets=tuple(secrets.get(row.id, ())),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]
