"""The embedded default database: a real PostgreSQL started from the pgserver wheel.

With no VITRINE_DATABASE_URL, Vitrine runs its own PostgreSQL under the data
directory, so a newcomer needs nothing but Python. It speaks the same SQL as a
production server: there is one dialect everywhere.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class EmbeddedPostgresError(Exception):
    """The embedded PostgreSQL could not be started."""


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the PostgreSQL under `data_dir/postgres` and yield its URL.

    pgserver shares one server between processes using the same directory and
    stops it when the last of them exits, so `vitrine serve` and a
    `vitrine demo seed` in another terminal cooperate.
    """
    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            server: Any = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:  # pgserver raises bare exceptions from initdb/pg_ctl
        raise EmbeddedPostgresError(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc}. "
            "Delete that directory to start afresh, or set VITRINE_DATABASE_URL "
            "to use your own PostgreSQL server."
        ) from exc
    try:
        yield str(server.get_uri())
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()
