"""The base of every DataLoader: one statement per batch, one span per batch.

A batch's span links to the spans of the resolvers whose loads it answers
(recorded only on sampled requests), and every batch, sampled or not, is
counted in the request's observations (loader name, batch size).

Subclasses name a read-model query function (`query`) that takes a
connection and the batch's keys and returns results aligned with the keys.
Database failures become client-facing errors with a code here, at the seam,
so a timed-out statement errors its fields and the rest of the response stands.

Loaders also record the response cache's tags on the request context, as
rows come back: `tag="product"` tags each row returned (`product:<id>`),
`key_tag` each key asked for, found or not (a prefix, or a function of the
key returning tags). Key tags are what make a cached "not found", a lookup
by slug or a list invalidatable: the projection announces the same tag
when a product takes that slug or a category gains a child.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from aiodataloader import DataLoader
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext

from infra.readpool import ReadInputError, ReadTimeoutError, ReadUnavailableError
from infra.span_errors import record_error
from readmodels.reader import Reader
from resolvers.context import RequestContext
from resolvers.errors import (
    BadUserInputError,
    ReadModelUnavailableError,
    StatementTimeoutError,
)

K = TypeVar("K")
V = TypeVar("V")

Query = Callable[[Reader, Any], Awaitable[Any]]
KeyTags = Callable[[Any], Iterable[str]]


async def run_query(
    context: RequestContext,
    name: str,
    query: Query,
    keys: Sequence[Any],
    links: Sequence[Link] = (),
) -> Any:
    """Run a read-model query on a pooled connection, inside a span when sampled.

    The batch is counted in the request's observations either way. Its span is a
    child of the span current when the batch was scheduled (the first resolver that
    asked) and links to every resolver span in `links`; a failure is recorded on it.
    """
    context.observations.batches.append((name, len(keys)))
    tracer = context.tracer
    if tracer is None:
        return await _execute(context, query, keys)
    with tracer.start_as_current_span(
        f"dataloader {name}",
        links=links,
        attributes={"vitrine.loader": name, "vitrine.batch_size": len(keys)},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            result = await _execute(context, query, keys)
        except BaseException as error:
            record_error(span, error)  # without a driver message's values
            raise
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
    except ReadInputError as exc:
        # Nothing stored can hold such a value (a NUL in a slug or a cursor's id, a number
        # past PostgreSQL's range): the argument is wrong, whichever it was.
        raise BadUserInputError(
            "an argument holds a value that cannot match anything: text with a NUL"
            " character, or a number or date out of range"
        ) from exc


class RowLoader(DataLoader[K, V]):
    """A per-request loader over one read-model query function.

    Subclasses name their query, and their cache tags, as class keywords:
    `class ProductByIdLoader(RowLoader[str, ProductRow | None],
    query=products_by_ids, tag="product", key_tag="product")`.
    """

    _query: ClassVar[Query]
    _tag: ClassVar[str | None]
    _key_tags: ClassVar[KeyTags | None]

    def __init_subclass__(
        cls,
        *,
        query: Query,
        tag: str | None = None,
        key_tag: str | KeyTags | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls._query = query
        cls._tag = tag
        if isinstance(key_tag, str):
            prefix = key_tag
            cls._key_tags = staticmethod(lambda key: (f"{prefix}:{key}",))
        else:
            cls._key_tags = staticmethod(key_tag) if key_tag is not None else None

    def __init__(self, context: RequestContext) -> None:
        super().__init__()
        self.context = context
        # On sampled requests: the span contexts of the resolvers that asked for each
        # key not answered yet, for the links of the batch that answers it.
        self._asked: dict[Any, list[SpanContext]] = {}

    def load(self, key: K) -> asyncio.Future[V]:
        if self.context.tracer is not None:
            answered = self._cache.get(self.get_cache_key(key)) if self.cache else None
            # Only a key waiting for the next batch: a new one, or one queued (asked for
            # already, its batch not started). A key whose batch is running gets no link,
            # and its entry would never be taken.
            if answered is None:
                asking = trace.get_current_span().get_span_context()
                self._asked.setdefault(key, []).append(asking)
            elif not answered.done() and (waiting := self._asked.get(key)) is not None:
                waiting.append(trace.get_current_span().get_span_context())
        return super().load(key)

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        cls = type(self)
        links = self._links(keys) if self._asked else ()
        results: list[V] = await run_query(
            self.context, cls.__name__, cls._query, list(keys), links
        )
        tags = self.context.tags
        if cls._key_tags is not None:
            for key in keys:
                tags.update(cls._key_tags(key))
        if cls._tag is not None:
            for result in results:
                if result is not None:
                    tags.update(self.result_tags(result))
        return results

    def _links(self, keys: list[K]) -> list[Link]:
        """Links to the resolver spans that asked for `keys`, each span once."""
        asking: dict[int, SpanContext] = {}
        for key in keys:
            for span_context in self._asked.pop(key, ()):
                if span_context.is_valid:
                    asking.setdefault(span_context.span_id, span_context)
        return [Link(span_context) for span_context in asking.values()]

    def result_tags(self, result: Any) -> Iterable[str]:
        """The tags of one result: `<tag>:<id>` of the row, or of each row of a list."""
        if isinstance(result, list):
            return [f"{self._tag}:{row.id}" for row in result]
        return (f"{self._tag}:{result.id}",)
