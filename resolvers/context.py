"""Per-request state: the read engine, the request's tracer (or None), loaders, observations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry.trace import Span, Tracer

from readmodels.eventlog.writer import EventWriter
from readmodels.reader import Reader
from resolvers.observations import Observations

if TYPE_CHECKING:
    from collections.abc import Sequence

    from resolvers.insights.model import Rule
    from resolvers.viewer import Viewer

L = TypeVar("L")


@dataclass(slots=True)
class RequestContext:
    """Everything a resolver may use, built once per request by the app.

    `db` runs read-model queries (the app's asyncpg ReadPool).

    `tracer` is None when the request is not sampled: resolvers and loaders
    then create no spans at all, so an unsampled request pays nothing.

    `tags` collects the cache tags of everything the request read
    (`product:<id>`, `listing:<scope>`...): loaders add them as rows come
    back, and the endpoint stores the response under them, so a projector
    batch that touches one of them invalidates it.

    `fresh_until` is the first moment the answer changes by the clock alone
    (a promotion window opening or closing), which no event announces: the
    response cache keeps the answer no longer than that.

    `insight_rules` replaces the insight rules the dashboard runs (None: all of
    `resolvers.insights.pipeline.RULES`); the composition root or a test sets it.

    `events` appends the gateway's own events (its mutations' writes); the
    endpoint sets it for mutations only, so a query cannot write.

    `open_spans` holds the sampled resolver spans still waiting on a loader future
    (`resolvers.tracing`); the endpoint passes its request scope's set, to end those
    that never resolve before its server span ends.

    `observations` counts what the request did (loader batches, resolver
    durations; the endpoint adds its statements) on every request, sampled or
    not, for /metrics.
    """

    db: Reader
    now: datetime
    tracer: Tracer | None = None
    viewer: Viewer | None = None
    tags: set[str] = field(default_factory=set)
    fresh_until: datetime | None = None
    insight_rules: Sequence[Rule] | None = None
    events: EventWriter | None = None
    observations: Observations = field(default_factory=Observations)
    open_spans: set[Span] = field(default_factory=set)
    _loaders: dict[type, Any] = field(default_factory=dict)

    def fresh_only_until(self, moment: datetime | None) -> None:
        """What the request read stops being right at `moment` (a promotion starts or
        ends): a cached answer must not be served past it."""
        if moment is not None and (self.fresh_until is None or moment < self.fresh_until):
            self.fresh_until = moment

    def loader(self, loader_class: type[L]) -> L:
        """The request's instance of a loader class (created on first use)."""
        loader = self._loaders.get(loader_class)
        if loader is None:
            loader = self._loaders[loader_class] = loader_class(self)  # type: ignore[call-arg]
        return loader
