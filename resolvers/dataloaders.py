"""The base of every DataLoader: one statement per batch, one span per batch.

Subclasses name a read-model query function (`query`) that takes a
connection and the batch's keys and returns results aligned with the keys.
Database failures become client-facing errors with a code here, at the seam,
so a timed-out statement errors its fields and the rest of the response stands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

from aiodataloader import DataLoader

from infra.readpool import ReadTimeoutError, ReadUnavailableError
from readmodels.reader import Reader
from resolvers.context import RequestContext
from resolvers.errors import ReadModelUnavailableError, StatementTimeoutError

K = TypeVar("K")
V = TypeVar("V")

Query = Callable[[Reader, Any], Awaitable[Any]]


async def run_query(context: RequestContext, name: str, query: Query, keys: Sequence[Any]) -> Any:
    """Run a read-model query on a pooled connection, inside a span when sampled."""
    tracer = context.tracer
    if tracer is None:
        return await _execute(context, query, keys)
    with tracer.start_as_current_span(
        f"dataloader {name}",
        attributes={"vitrine.loader": name, "vitrine.batch_size": len(keys)},
    ) as span:
        result = await _execute(context, query, keys)
        if isinstance(result, list):
            span.set_attribute("vitrine.rows", sum(1 for item in result if item))
        return result


async def _execute(context: RequestContext, query: Query, keys: Sequence[Any]) -> Any:
    try:
        return await query(context.db, keys)
    except ReadTimeoutError as exc:
        raise StatementTimeoutError(
            "the read model took too long to answer; try again or narrow the request"
        ) from exc
    except ReadUnavailableError as exc:
        raise ReadModelUnavailableError("the read models are unavailable right now") from exc


class RowLoader(DataLoader[K, V]):
    """A per-request loader over one read-model query function.

    Subclasses name their query as a class keyword:
    `class ProductByIdLoader(RowLoader[str, ProductRow | None], query=products_by_ids)`.
    """

    _query: ClassVar[Query]

    def __init_subclass__(cls, *, query: Query, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._query = query

    def __init__(self, context: RequestContext) -> None:
        super().__init__()
        self.context = context

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        return await run_query(self.context, type(self).__name__, type(self)._query, list(keys))  # type: ignore[no-any-return]
