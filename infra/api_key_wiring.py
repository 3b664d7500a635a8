"""Composition of service API keys: the authenticator, its bootstrap keys, nonces, guards.

Keys live in the `api_keys` table (`vitrine keys create`). Two more come from
the environment, so that a deployment can start before any key exists and
development stays `make serve`:

- VITRINE_SERVICE_TOKEN, a key with the `events` scope that signs with
  VITRINE_SERVICE_SIGNING_SECRET (one or several, comma-separated, for a
  rotation). In development both are generated once per data directory
  (`service-token`, `service-signing-secret`) when unset; in production the
  token is optional but, if set, needs its signing secret.
- VITRINE_ADMIN_TOKEN, a key with the `admin` scope (unsigned, as before).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from infra.api_keys.authenticator import ApiKeyAuthenticator, BootstrapKey, Principal
from infra.api_keys.caller_limits import CallerLimits, ip_limited
from infra.api_keys.guard import ApiKeyGuard
from infra.api_keys.key_cache import CachedKeyLookup
from infra.api_keys.keys import ADMIN, EVENTS, new_signing_secret
from infra.api_keys.nonces import MemoryNonces, RedisNonces, ReplayGuard
from infra.api_keys.signing import WINDOW_SECONDS
from infra.api_keys.store import ApiKeyStore
from infra.pq_wiring import redis_client
from infra.rate_limit_wiring import policies_from
from infra.rate_limits.gate import RateLimitGate
from infra.rate_limits.policies import policy
from infra.request_limits import time_limited
from infra.settings import Mode, Settings, SettingsError

SERVICE_TOKEN_FILE = "service-token"
SERVICE_SIGNING_SECRET_FILE = "service-signing-secret"
# How far apart the replicas' clocks may be: a replica s seconds behind accepts a
# timestamp s seconds longer, so the nonce must be kept that much longer too.
CLOCK_SKEW_MARGIN_SECONDS = 60
# A timestamp T is accepted for wall-clock seconds T-300 to T+300 inclusive, 601 s in
# all: the nonce outlives that whole span, plus the clock-skew margin (661 s).
NONCE_TTL_SECONDS = 2 * WINDOW_SECONDS + 1 + CLOCK_SKEW_MARGIN_SECONDS


def service_credentials(settings: Settings) -> tuple[str, tuple[str, ...]] | None:
    """The bootstrap service key and its signing secrets, or None (production, unset)."""
    development = settings.mode is Mode.DEVELOPMENT
    token = settings.service_token
    if not token:
        if not development:
            return None
        token = _generated_once(
            Path(settings.data_dir) / SERVICE_TOKEN_FILE, lambda: secrets.token_urlsafe(32)
        )
    signing = settings.service_signing_secret
    if not signing:
        if not development:
            raise SettingsError(
                "VITRINE_SERVICE_SIGNING_SECRET is required in production mode when "
                "VITRINE_SERVICE_TOKEN is set: POST /events requests must be signed "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        signing = (
            _generated_once(
                Path(settings.data_dir) / SERVICE_SIGNING_SECRET_FILE, new_signing_secret
            ),
        )
    return token, signing


def _generated_once(path: Path, make: Callable[[], str]) -> str:
    """The file's content, creating it first if absent (owner-only, race-free across workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: of several workers starting at once,
        # exactly one value wins, and nobody reads a half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(make() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def bootstrap_keys(settings: Settings) -> list[BootstrapKey]:
    keys = []
    service = service_credentials(settings)
    if service is not None:
        token, signing = service
        keys.append(
            BootstrapKey(
                token,
                Principal(
                    "service-token", "VITRINE_SERVICE_TOKEN", frozenset({EVENTS}), signing, True
                ),
            )
        )
    if settings.admin_token:
        keys.append(
            BootstrapKey(
                settings.admin_token,
                Principal("admin-token", "VITRINE_ADMIN_TOKEN", frozenset({ADMIN}), (), False),
            )
        )
    return keys


@dataclass
class ApiKeys:
    """The app's key checking; `close()` in the lifespan's exit."""

    authenticator: ApiKeyAuthenticator
    redis: Redis | None
    store: ApiKeyStore

    def events_guard(self, *, max_bytes: int) -> ApiKeyGuard:
        """POST /events: the `events` scope, and every request signed."""
        return ApiKeyGuard(
            self.authenticator, scope=EVENTS, signing_required=True, max_bytes=max_bytes
        )

    def admin_guard(self, *, max_bytes: int) -> ApiKeyGuard:
        """/admin: the `admin` scope; signed when the key says so. Off (403) with no admin key."""
        return ApiKeyGuard(
            self.authenticator,
            scope=ADMIN,
            signing_required=False,
            max_bytes=max_bytes,
            disabled=(
                "ADMIN_DISABLED",
                "the admin endpoint is off: set VITRINE_ADMIN_TOKEN, or create a key with "
                "`vitrine keys create --name NAME --scope admin`",
            ),
        )

    def collector(self) -> Collector:
        return ApiKeyCollector(self.store)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


class ApiKeyCollector(Collector):
    """/metrics: `vitrine_api_key_lookups_total`, the key lookups that reached the database
    (a rising rate with few known callers means keys are being guessed)."""

    def __init__(self, store: ApiKeyStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Any]:
        yield CounterMetricFamily(
            "vitrine_api_key_lookups",
            "API-key lookups that queried the database",
            value=self._store.lookups,
        )


@dataclass(frozen=True)
class EndpointLimits:
    """The rate limits of the API-key endpoints, each charging the client IP before the key."""

    events: CallerLimits
    admin: CallerLimits


def endpoint_limits(settings: Settings, gate: RateLimitGate) -> EndpointLimits:
    """/events: the `events` policy (per IP, then per key); /admin: `admin`, per IP."""
    return EndpointLimits(
        events=CallerLimits(
            gate.limiter, policies_from(settings).events, gate.client, operation="POST /events"
        ),
        admin=CallerLimits(
            gate.limiter,
            policy("admin", "off", settings.rate_limit_admin_per_ip),
            gate.client,
            operation="/admin",
        ),
    )


def admin_routes(routes: list[Route], limits: CallerLimits | None, seconds: float) -> list[Route]:
    """The /admin routes under the request deadline (504 past it), like /graphql and
    /events, and, with rate limits on, charged per client IP before the key is checked."""
    wrapped = []
    for route in routes:
        handler = route.endpoint if limits is None else ip_limited(route.endpoint, limits)
        wrapped.append(
            Route(route.path, time_limited(handler, seconds), methods=sorted(route.methods or ()))
        )
    return wrapped


def api_keys(settings: Settings, engine: AsyncEngine) -> ApiKeys:
    redis = redis_client(settings.redis_url)
    nonces = ReplayGuard(
        MemoryNonces(ttl=NONCE_TTL_SECONDS, max_entries=settings.nonce_memory_size),
        RedisNonces(redis, ttl=NONCE_TTL_SECONDS) if redis is not None else None,
    )
    store = ApiKeyStore(engine)
    authenticator = ApiKeyAuthenticator(
        CachedKeyLookup(store, ttl=settings.api_key_cache_seconds),
        nonces,
        bootstrap=bootstrap_keys(settings),
    )
    return ApiKeys(authenticator, redis, store)


def service_key_notice(settings: Settings) -> str | None:
    """Where `serve` tells a developer to find the bootstrap service key, if there is one."""
    data_dir = Path(settings.data_dir)
    token = (
        "VITRINE_SERVICE_TOKEN" if settings.service_token else str(data_dir / SERVICE_TOKEN_FILE)
    )
    secret = (
        "VITRINE_SERVICE_SIGNING_SECRET"
        if settings.service_signing_secret
        else str(data_dir / SERVICE_SIGNING_SECRET_FILE)
    )
    if settings.mode is not Mode.DEVELOPMENT and not settings.service_token:
        return None
    return (
        f"POST /events key: {token}; signing secret: {secret}"
        " (requests are signed: docs/security.md, or `vitrine keys create`)"
    )
