"""What the phases that measure as a viewer share (dashboard, feeds): the demo's id
order, the Authorization header, same-run ratios, and the in-process breakdown run
as a given viewer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any


def natural(source_id: str) -> tuple[int, str]:
    """ "cr-2" before "cr-10" (and "u-2" before "u-10"), as the demo world numbers them."""
    return len(source_id), source_id


def auth_headers(token: str | None) -> dict[str, str]:
    """The bearer header of `token`; none for an anonymous request."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference to four significant digits; None when either is missing."""
    if not value or not reference:
        return None
    return float(f"{value / reference:.4g}")


async def inprocess_as(
    database_url: str,
    chosen: Sequence[tuple[str, str | None, dict[str, Any]]],
    viewer_of: Callable[[str], Any],
    *,
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """`bench.inprocess.measure_operation` per (label, whom, body), as `viewer_of(whom)`
    (a `resolvers.viewer.Viewer`), or anonymously when `whom` is None."""
    from bench.inprocess import Executor, measure_operation
    from infra.graphql_execution import execute_document
    from infra.readpool import ReadPool
    from resolvers.context import RequestContext

    class ViewerExecutor(Executor):
        viewer: Any = None

        async def run(self, document: Any, variables: dict[str, Any] | None) -> Any:
            context = RequestContext(
                db=self._db, now=datetime.now(UTC), tracer=None, viewer=self.viewer
            )
            return await execute_document(self._strawberry_schema, document, context, variables)

    db = ReadPool(database_url)
    try:
        executor = ViewerExecutor(db)
        found = {}
        for label, whom, body in chosen:
            executor.viewer = None if whom is None else viewer_of(whom)
            found[label] = await measure_operation(executor, [body], rounds=rounds)
        return found
    finally:
        await db.close()
