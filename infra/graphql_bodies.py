"""Response bodies of executed operations, and the read-model position they reflect.

A client that just wrote may send `Vitrine-Min-Position`: the operation waits
(bounded) until the projectors reached it, and `extensions.readModel` says
whether they had (`minPositionReached`) and how long it waited. Every body
reports the position its answer reflects (a cached one: at least its entry's
stamp) and how far the read models are behind the log, and `extensions.cost`
what the operation was priced at and what its answer cost.
"""

from __future__ import annotations

import time
from typing import Any

from graphql import ExecutionResult

from infra.graphql_errors import format_error
from infra.graphql_execution import in_response_order
from readmodels.projector.watcher import CheckpointWatcher


class ResponseBodies:
    """Waits for a requested position, and shapes bodies with their extensions."""

    def __init__(self, watcher: CheckpointWatcher, min_position_wait: float) -> None:
        self._watcher = watcher
        self._min_position_wait = min_position_wait

    async def wait_for(self, min_position: int | None) -> float:
        """Seconds waited for the projectors to reach `min_position` (0: none asked)."""
        if min_position is None:
            return 0.0
        started = time.monotonic()
        await self._watcher.wait_for(min_position, within=self._min_position_wait)
        return time.monotonic() - started

    def body(
        self,
        result: ExecutionResult,
        waited: float,
        min_position: int | None,
        costs: dict[str, Any],
    ) -> dict[str, Any]:
        """`errors` (in response order, with codes), `data` and `extensions`."""
        body: dict[str, Any] = {}
        if result.errors:
            default = "BAD_USER_INPUT" if result.data is None else "INTERNAL_SERVER_ERROR"
            body["errors"] = [
                format_error(e, default_code=default)
                for e in in_response_order(list(result.errors), result.data)
            ]
        body["data"] = result.data
        body["extensions"] = self.extensions(waited, min_position, costs)
        return body

    def extensions(
        self,
        waited: float,
        min_position: int | None,
        costs: dict[str, Any],
        *,
        position: int | None = None,
    ) -> dict[str, Any]:
        """`readModel`: the position the answer reflects (a cached one: at least its stamp),
        and how far the read models are behind the log (`lagMs`, `lagEvents`); `cost`: what
        the operation was priced at and what its answer cost."""
        watcher = self._watcher
        position = watcher.position if position is None else position
        read_model: dict[str, Any] = {
            "position": position,
            "lagMs": watcher.lag_ms(),
            "lagEvents": max(watcher.head - watcher.position, 0),
        }
        if min_position is not None:
            read_model["minPosition"] = min_position
            read_model["minPositionReached"] = position >= min_position
            read_model["waitedMs"] = round(waited * 1000)
        return {"readModel": read_model, "cost": costs}
