"""One frozen settings object, built from the environment once, at start-up.

Everything configurable is here so that a bad value fails at start with a
message naming the variable, never deep inside a request.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
# HS256 keys shorter than the hash are brute-forceable (RFC 7518, section 3.2).
MIN_JWT_SECRET_BYTES = 32
# Never echoed back in an error message.
_SECRET_VARIABLES = frozenset({"VITRINE_JWT_SECRET"})


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
        default=None, description="Bearer token for POST /events; generated per data dir if unset."
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
        default=None, description="Bearer token for /admin/persisted-queries; unset turns it off."
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
