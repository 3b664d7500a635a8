"""One frozen settings object, built from the environment once, at start-up.

Everything configurable is here so that a bad value fails at start with a
message naming the variable, never deep inside a request.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from infra.auth_keys import check_secrets, parse_secrets
from infra.operation_cost import DEFAULT_MAX_COST
from infra.operation_limits import OperationLimits
from infra.rate_limits.client_ip import parse_networks
from infra.rate_limits.policies import parse_quota

_LIMITS = OperationLimits()  # the operation limits' defaults
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
# HS256 keys shorter than the hash are brute-forceable (RFC 7518, section 3.2).
MIN_JWT_SECRET_BYTES = 32
# The same floor for request-signing secrets (HMAC-SHA256 too).
MIN_SIGNING_SECRET_BYTES = 32
# Never echoed back in an error message.
_SECRET_VARIABLES = frozenset(
    {"VITRINE_JWT_SECRET", "VITRINE_JWT_KEYS", "VITRINE_SERVICE_SIGNING_SECRET"}
)


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """The environment holds a value Vitrine cannot start with."""


class Settings(BaseSettings):
    """Vitrine's configuration; every field is read from `VITRINE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="VITRINE_", frozen=True, extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db; unset starts an embedded PostgreSQL.",
    )
    data_dir: Path = Field(default=Path(".vitrine"), description="Embedded PostgreSQL and state.")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    pool_size: int = Field(default=10, ge=1, le=500)
    pool_max_overflow: int = Field(default=10, ge=0, le=500)
    statement_timeout_ms: int = Field(default=5000, ge=1)
    min_position_wait_ms: int = Field(
        default=2000, ge=0, description="Longest wait for Vitrine-Min-Position."
    )
    service_token: str | None = Field(
        default=None,
        description="Bootstrap API key for POST /events, signed with "
        "VITRINE_SERVICE_SIGNING_SECRET; generated per data dir in development if unset.",
    )
    jwt_secret: str | None = Field(
        default=None,
        description="HS256 secret of viewer tokens (32+ bytes); generated per data dir in "
        "development, required in production.",
    )
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on a token's exp and nbf."
    )
    run_projectors: bool = Field(default=True, description="Run projectors inside `serve`.")
    projector_batch_size: int = Field(default=10_000, ge=1, le=100_000)
    projector_poll_interval_ms: int = Field(default=1000, ge=10)
    ingest_max_events: int = Field(default=10_000, ge=1, description="Events per POST /events.")
    ingest_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    seed_on_first_run: bool = True
    apq_enabled: bool = Field(
        default=True, description="Automatic persisted queries (Apollo's APQ) register on demand."
    )
    safelist_mode: Literal["off", "log_unknown", "safelist", "require_id"] = Field(
        default="off", description="Which operations run: all, all but logged, listed, ids only."
    )
    compiled_plans: bool = Field(
        default=True,
        description="Run persisted documents on compiled plans (false: graphql-core for all).",
    )
    admin_token: str | None = Field(
        default=None,
        description="Bootstrap API key for /admin/persisted-queries (besides `vitrine keys`).",
    )
    graphiql: bool | None = Field(default=None, description="Defaults to on in development.")
    csrf_prevention: bool = Field(
        default=True, description="GETs and simple POSTs to /graphql must show a preflight."
    )
    csrf_required_headers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("x-apollo-operation-name", "apollo-require-preflight"),
        description="Comma-separated headers, any of which marks a request as preflighted.",
    )
    bench_mode: bool = Field(
        default=False, description="Adds /bench/floor, the benchmark's same-stack baseline."
    )
    response_cache: bool = Field(default=True, description="Server-side response cache (L1+L2).")
    cache_memory_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="Budget of the in-process cache level."
    )
    cache_redis_timeout_ms: int = Field(
        default=50, ge=1, le=10_000, description="Per Redis call; slower trips the breaker."
    )
    cache_debounce_ms: int = Field(
        default=50, ge=0, le=60_000, description="Invalidations are coalesced this long."
    )
    cache_storm_per_second: int = Field(
        default=10_000, ge=1, description="Invalidated tags per second reported as a storm."
    )
    cdn_purge_url: str | None = Field(
        default=None, description="Purge call per invalidated tag, e.g. https://.../purge/{tag}."
    )
    cdn_purge_token: str | None = None
    cdn_purge_header: str = Field(
        default="Authorization", description="Header carrying the token (Bearer if Authorization)."
    )
    # --- hardening ---
    introspection: bool | None = Field(
        default=None,
        description="__schema/__type queries and field suggestions; on in development only.",
    )
    batching_max: int = Field(
        default=0, ge=0, le=100, description="Operations per JSON-array POST /graphql; 0 is off."
    )
    max_body_bytes: int = Field(
        default=2_000_000,
        ge=1024,
        le=1_000_000_000,
        description="Largest /graphql body or query string (413/414 beyond, before parsing).",
    )
    request_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        le=3_600_000,
        description="A /graphql or /events request still running then is cancelled: 504.",
    )
    hsts_seconds: int = Field(
        default=0,
        ge=0,
        le=63_072_000,
        description="Strict-Transport-Security max-age; 0 (default) sends none.",
    )

    # --- identity ---
    jwt_keys: Annotated[tuple[tuple[str, str], ...], NoDecode] = Field(
        default=(),
        description="HS256 keys by key id, `kid:secret,kid:secret` (32+ bytes each): a token "
        "whose header names a `kid` is verified with that key alone (rotation).",
    )
    jwt_jwks_file: Path | None = Field(
        default=None,
        description="A JSON Web Key Set of RSA public keys: RS256 tokens naming one by `kid`.",
    )
    jwt_issuer: str | None = Field(
        default=None, description="When set, every viewer token must carry this `iss`."
    )
    jwt_audience: str | None = Field(
        default=None, description="When set, every viewer token's `aud` must name this audience."
    )
    jwt_cache_size: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        description="Verified tokens remembered until they expire (0: verify every time).",
    )

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _parse_jwt_keys(cls, value: object) -> object:
        if not value:
            return ()
        if isinstance(value, str):
            return parse_secrets(value)
        if isinstance(value, dict):
            return check_secrets(value.items())
        return check_secrets(value)  # type: ignore[arg-type]

    @field_validator("jwt_jwks_file", "jwt_issuer", "jwt_audience", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    # --- service API keys and request signing ---
    service_signing_secret: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="HMAC secret(s) VITRINE_SERVICE_TOKEN signs requests with (32+ bytes; "
        "comma-separated during a rotation); generated per data dir in development if unset.",
    )
    api_key_cache_seconds: int = Field(
        default=5,
        ge=0,
        le=300,
        description="How long a process trusts a verified API key: a revocation takes this long.",
    )
    nonce_memory_size: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        description="Request nonces one process remembers (alone while Redis is unreachable).",
    )

    @field_validator("service_signing_secret", mode="before")
    @classmethod
    def _split_signing_secrets(cls, value: object) -> object:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple) and any(
            len(str(secret).encode()) < MIN_SIGNING_SECRET_BYTES for secret in value
        ):
            raise ValueError(
                f"each secret must be at least {MIN_SIGNING_SECRET_BYTES} bytes "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    # --- rate limits ---
    rate_limits: Literal["on", "shadow", "off"] = Field(
        default="on",
        description="on: 429 past a quota; shadow: log and count would-be 429s, refuse nothing.",
    )
    rate_limit_reads: str = Field(
        default="1200/minute", description="Queries per principal (token sub, API key), or off."
    )
    rate_limit_reads_per_ip: str = Field(default="6000/minute", description="Queries per IP.")
    rate_limit_writes: str = Field(default="120/minute", description="Mutations per principal.")
    rate_limit_writes_per_ip: str = Field(default="600/minute", description="Mutations per IP.")
    rate_limit_explain: str = Field(
        default="30/minute",
        description="explainInsight and Insight node(id) per principal (on top of reads).",
    )
    rate_limit_explain_per_ip: str = Field(default="120/minute")
    rate_limit_events: str = Field(default="600/minute", description="POST /events per API key.")
    rate_limit_events_per_ip: str = Field(default="1200/minute")
    rate_limit_admin_per_ip: str = Field(
        default="120/minute",
        description="/admin requests per IP, charged before the API key is looked up.",
    )
    rate_limit_cost_bucket: bool = Field(
        default=False,
        description="Count the reads quotas in query cost points (each query pays its requested "
        "cost) rather than in requests.",
    )
    rate_limit_redis_timeout_ms: int = Field(
        default=250,
        ge=1,
        le=10_000,
        description="Per shared check; slower is answered locally (and trips the breaker).",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated CIDRs whose X-Forwarded-For names the client (none: the "
        "direct peer is the client).",
    )

    @field_validator(
        "rate_limit_reads",
        "rate_limit_reads_per_ip",
        "rate_limit_writes",
        "rate_limit_writes_per_ip",
        "rate_limit_explain",
        "rate_limit_explain_per_ip",
        "rate_limit_events",
        "rate_limit_events_per_ip",
        "rate_limit_admin_per_ip",
    )
    @classmethod
    def _check_quota(cls, value: str) -> str:
        parse_quota(value)  # QuotaError is a ValueError: reported with the variable's name
        return value.strip()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_trusted_proxies(cls, value: object) -> object:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            parse_networks(str(part) for part in value)
        return value

    # --- operation limits and cost ---
    # Free-form text only (registered persisted documents are trusted); defaults and
    # their sources in the README (GraphQL Armor, Apollo Router).
    max_depth: int = Field(
        default=_LIMITS.max_depth, ge=1, le=1000, description="Deepest field of an operation."
    )
    max_aliases: int = Field(
        default=_LIMITS.max_aliases, ge=0, le=100_000, description="Aliases per operation."
    )
    max_root_fields: int = Field(
        default=_LIMITS.max_root_fields, ge=1, le=100_000, description="Root fields per operation."
    )
    max_directives: int = Field(
        default=_LIMITS.max_directives, ge=0, le=100_000, description="Directives per operation."
    )
    max_tokens: int = Field(
        default=_LIMITS.max_tokens,
        ge=1,
        le=100_000,
        description="Tokens per document: the parser stops reading there.",
    )
    max_cost: int = Field(
        default=DEFAULT_MAX_COST,
        ge=1,
        le=1_000_000_000,
        description="Requested cost of one operation, persisted ones included (extensions.cost).",
    )

    # --- health ---
    ready_max_lag_events: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000_000,
        description="/readyz answers 503 while the read models are more events behind the log.",
    )

    # --- logs ---
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="auto: JSON lines unless stdout is a terminal (then console rendering).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="The least severe level written (the access line is INFO)."
    )
    access_log: bool = Field(
        default=True, description="One `vitrine.access` line per HTTP request, at INFO."
    )

    # --- traces ---
    trace_parent_based_sampler: bool = Field(
        default=True,
        description="A caller's sampled or unsampled traceparent decides whether its request "
        "is traced; false: the caller's trace id and parent are kept, but OTEL_TRACES_SAMPLER's "
        "root (its ratio) decides (set false when callers are untrusted).",
    )

    # --- trace page ---
    trace_page: bool | None = Field(
        default=None,
        description="/_vitrine/traces: recent traces kept in memory, as waterfalls; on in "
        "development, refused in production.",
    )
    trace_page_max_traces: int = Field(
        default=200, ge=1, le=2_000, description="Traces the trace page keeps (the oldest go)."
    )
    trace_page_max_spans: int = Field(
        default=50_000,
        ge=100,
        le=500_000,
        description="Spans the trace page keeps across its traces (about 2.8 KB each); past "
        "it the oldest traces go.",
    )

    @field_validator("trace_page")
    @classmethod
    def _trace_page_in_development(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        # Every recorded span of every request, documents and attributes included, for
        # anyone who can reach the port: never in production.
        if value and info.data.get("mode") is Mode.PRODUCTION:
            raise ValueError("the trace page is for development only (VITRINE_MODE=production)")
        return value

    # --- debug extension ---
    debug_tracing: bool = Field(
        default=False,
        description="extensions.tracing in every /graphql response; development only (in "
        "production an ADMIN token asks per request with `Vitrine-Debug: tracing`).",
    )

    @field_validator("debug_tracing")
    @classmethod
    def _debug_tracing_in_development(cls, value: bool, info: ValidationInfo) -> bool:
        # Every request's resolver timings and SQL, for anyone: never in production.
        if value and info.data.get("mode") is Mode.PRODUCTION:
            raise ValueError(
                "debug tracing for every request is for development only "
                "(VITRINE_MODE=production): send `Vitrine-Debug: tracing` with an ADMIN token"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("must start with postgresql:// (Vitrine speaks PostgreSQL only)")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _check_jwt_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_JWT_SECRET_BYTES} bytes "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("csrf_required_headers", mode="before")
    @classmethod
    def _split_header_names(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        names = tuple(name.strip().lower() for name in value.split(",") if name.strip())
        if not names:
            raise ValueError("name at least one header (or set VITRINE_CSRF_PREVENTION=false)")
        for name in names:
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
        return names

    @field_validator("cdn_purge_url")
    @classmethod
    def _check_cdn_purge_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL, with {tag} for one call per tag")
        return value

    @property
    def graphiql_enabled(self) -> bool:
        return self.mode is Mode.DEVELOPMENT if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.mode is Mode.DEVELOPMENT if self.introspection is None else self.introspection

    @property
    def trace_page_enabled(self) -> bool:
        return self.mode is Mode.DEVELOPMENT if self.trace_page is None else self.trace_page


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "VITRINE_" + "_".join(str(part) for part in error["loc"]).upper()
            shown = "a hidden value" if name in _SECRET_VARIABLES else repr(error.get("input"))
            problems.append(f"{name}: {error['msg']} (got {shown})")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems)) from exc
