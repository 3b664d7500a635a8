"""Composition of persisted queries: the document provider, its store and the admin routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from infra.graphql_documents import DocumentCache
from infra.operation_limits import OperationLimits
from infra.readpool import ReadPool
from infra.settings import Settings
from persisted_queries.admin import AdminGuard, PersistedQueriesAdmin
from persisted_queries.plans import PlanCompiler
from persisted_queries.plans.compiler import PlanStats
from persisted_queries.provider import PersistedDocuments, SafelistMode
from persisted_queries.store import DocumentStore

# Short timeouts: a Redis that does not answer must cost a request little (the
# store then skips Redis for a few seconds and reads PostgreSQL).
REDIS_TIMEOUT_S = 0.5


def redis_client(url: str | None) -> Redis | None:
    """A Redis client for `VITRINE_REDIS_URL`, or None (PostgreSQL and memory only)."""
    if not url:
        return None
    return Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )


@dataclass
class PersistedQueries:
    """What the app serves persisted queries with; `close()` in the lifespan's exit."""

    documents: PersistedDocuments
    store: DocumentStore
    redis: Redis | None
    plans: PlanCompiler
    routes: list[Route] = field(default_factory=list)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def persisted_queries(
    settings: Settings,
    engine: AsyncEngine,
    reads: ReadPool,
    schema: GraphQLSchema,
    *,
    policy_of: Callable[[DocumentNode, str | None], Any] | None = None,
    admin_guard: AdminGuard | None = None,
) -> PersistedQueries:
    """`policy_of` gives each compiled plan its response-cache policy at compile time;
    `admin_guard` checks the admin routes' API keys (without one they answer 403)."""
    redis = redis_client(settings.redis_url)
    store = DocumentStore(engine, reads, redis=redis)
    introspection = settings.introspection_enabled
    plans = PlanCompiler(
        schema,
        enabled=settings.compiled_plans,
        policy_of=policy_of,
        hide_suggestions=not introspection,
    )
    documents = PersistedDocuments(
        DocumentCache(schema, introspection=introspection, limits=operation_limits(settings)),
        store,
        apq_enabled=settings.apq_enabled,
        mode=SafelistMode(settings.safelist_mode),
        on_persisted=plans.prepare,
    )
    admin = PersistedQueriesAdmin(store, schema, guard=admin_guard, provider=documents)
    return PersistedQueries(documents, store, redis, plans, admin.routes())


def operation_limits(settings: Settings) -> OperationLimits:
    """The limits free-form documents are held to (VITRINE_MAX_DEPTH, ..., _MAX_TOKENS)."""
    return OperationLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
        max_directives=settings.max_directives,
        max_tokens=settings.max_tokens,
    )


class PlanCollector(Collector):
    """/metrics view of the plan compiler: compiled operations, executions, fallbacks."""

    def __init__(self, stats: PlanStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Any]:
        stats = self._stats
        yield GaugeMetricFamily(
            "vitrine_plans_compiled",
            "operations compiled into execution plans",
            value=stats.compiled,
        )
        yield CounterMetricFamily(
            "vitrine_plan_executions",
            "persisted operations executed by compiled plans",
            value=stats.executions,
        )
        fallbacks = CounterMetricFamily(
            "vitrine_plan_fallbacks",
            "persisted operations run on the reference executor instead, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(stats.fallbacks.items()):
            fallbacks.add_metric([reason], count)
        yield fallbacks
