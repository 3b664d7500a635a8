"""Small set-wise SQL helpers shared by projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement


async def upsert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE for many rows (batched by SQLAlchemy's insertmanyvalues).

    `update` lists the columns a conflict overwrites; by default every
    non-key column of the rows.
    """
    if not rows:
        return
    stmt = insert(table)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    await conn.execute(stmt, list(rows))


def any_of(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column = ANY($1)` with one array parameter: the statement text (and so its
    prepared plan) stays the same whatever the number of keys, unlike IN (...)."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type), unique=True))
