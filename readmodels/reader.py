"""What read-model queries need from a database: run one SQL text with parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Reader(Protocol):
    """Implemented by infra.readpool.ReadPool (asyncpg); rows support `row["column"]`."""

    async def fetch(self, sql: str, *args: Any, custom_plan: bool = False) -> Sequence[Any]: ...
