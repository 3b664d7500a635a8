"""The composition root: `create_app(settings)` wires every part into one Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.api_key_wiring import admin_routes, api_keys, endpoint_limits
from infra.auth_wiring import token_verifier
from infra.cache_wiring import response_caching
from infra.database import asyncpg_dsn, create_engine
from infra.event_writer import EngineEventWriter
from infra.graphql_edge import GraphQLEdge
from infra.graphql_http import GRAPHQL_ROUTE_METHODS, GraphQLEndpoint
from infra.http_errors import http_error_response
from infra.ingest import EventsEndpoint
from infra.metrics_registry import gateway_metrics
from infra.pq_wiring import PlanCollector, persisted_queries
from infra.pricing_wiring import PredicateCollector
from infra.rate_limit_wiring import rate_limiting
from infra.readiness_probes import ReadinessProbes
from infra.readpool import ReadPool
from infra.request_ids import RequestIds
from infra.request_limits import time_limited
from infra.security_headers import SecurityHeaders
from infra.service_metrics import PoolCollector, ProgressCollector
from infra.settings import MIN_JWT_SECRET_BYTES, Mode, Settings, SettingsError
from infra.span_errors import record_error
from infra.telemetry import build_tracing, tracing_with
from infra.trace_page.buffer import TraceBuffer
from infra.trace_page.routes import trace_page_routes
from persisted_queries.admin import MAX_BYTES as ADMIN_MAX_BYTES
from readmodels.migrate import head_revision
from readmodels.projections import all_projections
from readmodels.projector.runner import ProjectorRunner
from readmodels.projector.watcher import CheckpointWatcher
from resolvers.errors import InvalidIdError
from resolvers.ids import decode_id
from resolvers.pricing.conditions import PREDICATES
from schema.build import build_schema

log = logging.getLogger("vitrine.app")


@dataclass
class Services:
    """What the app holds for its lifetime (created in the lifespan, closed at exit)."""

    engine: AsyncEngine
    watcher: CheckpointWatcher
    runner: ProjectorRunner | None = None
    tasks: list[object] = field(default_factory=list)


def _names_an_insight(global_id: str) -> bool:
    """Whether a `node(id:)` argument is an Insight's id: that lookup runs the insight
    pipeline, so the rate limits charge it to `explain` (infra cannot decode ids itself)."""
    try:
        return decode_id(global_id)[0] == "Insight"
    except InvalidIdError:
        return False


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner alone from the start (no moment at 0644)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def jwt_secret(settings: Settings) -> str:
    """The secret viewer tokens are signed with: VITRINE_JWT_SECRET, or in development
    one generated once per data directory (so `vitrine token create` and the server agree).
    """
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.mode is Mode.PRODUCTION:
        raise SettingsError(
            "VITRINE_JWT_SECRET is required in production mode: set it to a random secret "
            f"of at least {MIN_JWT_SECRET_BYTES} bytes, shared by every gateway replica"
        )
    path = Path(settings.data_dir) / "jwt-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: of several workers starting at
        # once, exactly one secret wins, and nobody reads a half-written file.
        draft = path.with_name(f".jwt-secret.{os.getpid()}.{secrets.token_hex(4)}")
        _write_private(draft, secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        raise SettingsError(
            f"{path} holds a secret shorter than {MIN_JWT_SECRET_BYTES} bytes: delete it "
            "(a new one is generated) or set VITRINE_JWT_SECRET"
        )
    return secret


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The Vitrine ASGI app. `database_url` overrides settings (the embedded server's URL)."""
    url = database_url or settings.database_url
    if url is None:
        raise ValueError("create_app needs a database URL (the CLI starts the embedded one)")
    tokens = token_verifier(settings, jwt_secret)  # a production app without keys does not start
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    reads = ReadPool(
        url,
        max_size=settings.pool_size + settings.pool_max_overflow,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    projections = all_projections()
    watcher = CheckpointWatcher(
        engine,
        asyncpg_dsn(url),
        [p.name for p in projections],
        poll_interval=settings.projector_poll_interval_ms / 1000,
    )
    # The development trace page keeps recent traces in memory: its buffer is one more
    # span processor, so with it on there is a provider even without an exporter.
    trace_buffer = (
        TraceBuffer(
            max_traces=settings.trace_page_max_traces, max_spans=settings.trace_page_max_spans
        )
        if settings.trace_page_enabled
        else None
    )
    if tracer_provider is None:
        tracing = build_tracing(settings, processors=() if trace_buffer is None else [trace_buffer])
    else:  # a test's provider: its sampler decides, and there is no debug extension
        tracing = tracing_with(tracer_provider)
        if trace_buffer is not None:
            tracer_provider.add_span_processor(trace_buffer)
    provider = tracing.provider
    schema = build_schema()
    caching = response_caching(
        settings, schema._schema, watcher, asyncpg_dsn(url), publish=settings.run_projectors
    )
    metrics = gateway_metrics(caching.registry)  # before anything counts (multiprocess files)
    keys = api_keys(settings, engine)
    persisted = persisted_queries(
        settings,
        engine,
        reads,
        schema._schema,
        policy_of=caching.front.policies.policy,
        admin_guard=keys.admin_guard(max_bytes=ADMIN_MAX_BYTES),
    )
    caching.registry.register(PlanCollector(persisted.plans.stats))
    caching.registry.register(PredicateCollector(PREDICATES))
    limiting = rate_limiting(settings, caching.registry, names_insight=_names_an_insight)
    rate_limits = None if limiting is None else limiting.gate
    caller_limits = None if rate_limits is None else endpoint_limits(settings, rate_limits)
    caching.registry.register(keys.collector())
    caching.registry.register(PoolCollector(reads))
    metrics.scraped(ProgressCollector(watcher))
    local_cache = caching.cache
    writer = EngineEventWriter(
        engine,
        local=None
        if local_cache is None
        else lambda message: local_cache.invalidate(message.tags, message.position),
    )
    graphql = GraphQLEndpoint(
        schema=schema,
        documents=persisted.documents,
        db=reads,
        watcher=watcher,
        tracer=tracing.tracer,
        debug=tracing.debug,
        graphiql=settings.graphiql_enabled,
        min_position_wait=settings.min_position_wait_ms / 1000,
        csrf_required_headers=settings.csrf_required_headers if settings.csrf_prevention else None,
        cache=caching.front,
        plans=persisted.plans,
        tokens=tokens,
        events=writer,
        max_body_bytes=settings.max_body_bytes,
        request_timeout=settings.request_timeout_ms / 1000,
        batching_max=settings.batching_max,
        hide_suggestions=not settings.introspection_enabled,
        rate_limits=rate_limits,
        max_cost=settings.max_cost,
        observe=metrics.execution.observe,
    )
    readiness = ReadinessProbes(
        reads,
        watcher,
        head_revision=head_revision(),  # read from the migration scripts once, at start
        max_lag_events=settings.ready_max_lag_events,
        redis_url=settings.redis_url,
    )
    events = EventsEndpoint(
        engine,
        guard=keys.events_guard(max_bytes=settings.ingest_max_bytes),
        max_events=settings.ingest_max_events,
        limits=None if caller_limits is None else caller_limits.events,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await watcher.start()
        await caching.start()
        await metrics.start()
        if limiting is not None:
            await limiting.start()
        runner = None
        run_task = None
        if settings.run_projectors:
            runner = ProjectorRunner(
                engine,
                asyncpg_dsn(url),
                projections,
                batch_size=settings.projector_batch_size,
                poll_interval=settings.projector_poll_interval_ms / 1000,
                listeners=[
                    lambda outcome: watcher.observe(outcome.projection, outcome.to_position),
                    caching.on_batch,
                    metrics.projectors.on_batch,
                ],
                tracer=tracing.tracer,
                record_error=record_error,
            )
            run_task = asyncio.create_task(runner.run(), name="projectors")
        app.state.services = Services(engine, watcher, runner)
        # Everything built so far (schema, resolvers, settings, modules) lives as long
        # as the process: out of the cyclic collector's reach, a full collection no
        # longer walks it, which was the longest pause in a request's tail.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if runner is not None and run_task is not None:
                runner.stop()
                with contextlib.suppress(Exception):
                    await run_task
            await caching.stop()
            await metrics.stop()
            await watcher.stop()
            await persisted.close()
            await keys.close()
            await readiness.close()
            if limiting is not None:
                await limiting.close()
            await reads.close()
            if provider is not None:
                provider.shutdown()
            await engine.dispose()

    async def healthz(request: Request) -> Response:
        return Response(orjson.dumps({"status": "ok"}), media_type="application/json")

    routes = [
        Route("/graphql", graphql.__call__, methods=GRAPHQL_ROUTE_METHODS),
        Route(
            "/events",
            time_limited(events.__call__, settings.request_timeout_ms / 1000),
            methods=["POST"],
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.endpoint, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *admin_routes(
            persisted.routes,
            None if caller_limits is None else caller_limits.admin,
            settings.request_timeout_ms / 1000,
        ),
    ]
    if settings.bench_mode:
        routes.append(Route("/bench/floor", FloorEndpoint().__call__, methods=["GET", "POST"]))
    if trace_buffer is not None:
        routes.extend(trace_page_routes(trace_buffer))
    return Starlette(
        debug=False,  # never a traceback in a response, whatever the mode
        routes=routes,
        lifespan=lifespan,
        # The router's own 404 and 405, as JSON with a code like every other answer.
        exception_handlers={HTTPException: http_error_response},
        middleware=[
            # Outermost first: every response, errors included, gets the headers and the id.
            Middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds),
            Middleware(
                RequestIds, access_log=settings.access_log, metrics=metrics.requests.observe
            ),
            Middleware(GraphQLEdge, endpoint=graphql),
        ],
    )


class FloorEndpoint:
    """The benchmark's baseline: a precomputed response of a requested size, served
    through the same server stack as /graphql (uvicorn, Starlette, routing),
    after reading the request body the way /graphql does."""

    def __init__(self) -> None:
        self._bodies: dict[int, bytes] = {}

    def body(self, size: int) -> bytes:
        body = self._bodies.get(size)
        if body is None:
            frame = b'{"data":{"floor":""}}'
            body = frame[:-3] + b"x" * max(size - len(frame), 0) + frame[-3:]
            self._bodies[size] = body
        return body

    async def __call__(self, request: Request) -> Response:
        await request.body()
        raw = request.query_params.get("bytes", "1024")
        size = min(int(raw), 10_000_000) if raw.isdigit() else 1024
        return Response(self.body(size), media_type="application/json")
