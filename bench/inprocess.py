"""Where a request's time goes without HTTP: parse, validate, execute, serialize.

The HTTP numbers say how fast the server is; these say which stage to work
on. Parsing and validation are measured uncached, although the server's
DocumentCache skips both for a known document: reporting them shows what the
cache saves (and what a cold or unique document costs). Execution is done
exactly as `infra.graphql_http.GraphQLEndpoint` does it, on a document that
was parsed and validated once, with the app's read pool on a real
database, whose connections and prepared statements were warmed first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLSchema,
    parse,
    specified_rules,
    validate,
)

from bench.stats import percentile
from infra.database import count_statements
from infra.graphql_documents import MAX_TOKENS
from infra.graphql_execution import execute_document
from infra.readpool import ReadPool
from readmodels.reader import Reader
from resolvers.context import RequestContext
from schema.build import build_schema

Body = dict[str, Any]


@dataclass(slots=True)
class StageSamples:
    """Per-round measurements of one operation (durations in nanoseconds)."""

    parse: list[int] = field(default_factory=list)
    validate: list[int] = field(default_factory=list)
    execute: list[int] = field(default_factory=list)
    serialize: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    response_bytes: list[int] = field(default_factory=list)
    requests: int = 0
    first_error: str | None = None
    error_count: int = 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if self.first_error is None:
            self.first_error = message

    def errors(self) -> str | None:
        """None when every request was clean, else the first error and how often one occurred."""
        if self.first_error is None:
            return None
        return f"{self.first_error} [{self.error_count} of {self.requests} requests]"


def median_us(nanoseconds: Sequence[int]) -> float:
    """The median of nanosecond durations, in microseconds to a tenth (NaN when empty)."""
    return round(percentile(nanoseconds, 50) / 1000, 1)


def median_count(values: Sequence[int]) -> int | None:
    return None if not values else int(percentile(values, 50))


def report(samples: StageSamples) -> dict[str, Any]:
    """The per-operation row: medians, per-request SQL, and the first error if any."""
    return {
        "parse_us": median_us(samples.parse),
        "validate_us": median_us(samples.validate),
        "execute_us": median_us(samples.execute),
        "serialize_us": median_us(samples.serialize),
        "total_us": median_us(samples.total),
        "statements": median_count(samples.statements),
        "rows": median_count(samples.rows),
        "response_bytes": median_count(samples.response_bytes),
        "errors": samples.errors(),
    }


def describe_errors(result: ExecutionResult) -> str | None:
    """The first error of a result as "message (at path)", None for a clean result."""
    if not result.errors:
        return None
    error = result.errors[0]
    where = ".".join(str(part) for part in error.path) if error.path else None
    return f"{error.message} (at {where})" if where else error.message


class Executor:
    """Runs a prepared document the way the endpoint does, on one read pool."""

    def __init__(self, db: Reader) -> None:
        self._strawberry_schema = build_schema()
        self.schema: GraphQLSchema = self._strawberry_schema._schema
        self._db = db

    async def run(self, document: DocumentNode, variables: dict[str, Any] | None) -> Any:
        context = RequestContext(db=self._db, now=datetime.now(UTC), tracer=None)
        return await execute_document(self._strawberry_schema, document, context, variables)


async def _execute_counted(
    executor: Executor, document: DocumentNode, body: Body, samples: StageSamples
) -> ExecutionResult | None:
    """Execute once, recording the time and SQL; None (and an error) if it raised."""
    with count_statements() as stats:
        started = time.perf_counter_ns()
        try:
            result: ExecutionResult = await executor.run(document, body.get("variables"))
        except Exception as exc:
            samples.error(f"execution raised {type(exc).__name__}: {exc}")
            return None
        samples.execute.append(time.perf_counter_ns() - started)
    samples.statements.append(stats.statements)
    samples.rows.append(stats.rows)
    return result


async def _round(
    executor: Executor, body: Body, document: DocumentNode, samples: StageSamples
) -> None:
    """One measured request: uncached parse and validate, then execute the prepared one."""
    samples.requests += 1
    started = time.perf_counter_ns()
    parsed = parse(body["query"], max_tokens=MAX_TOKENS)
    parsed_at = time.perf_counter_ns()
    invalid = validate(executor.schema, parsed, specified_rules)
    validated_at = time.perf_counter_ns()
    samples.parse.append(parsed_at - started)
    samples.validate.append(validated_at - parsed_at)
    if invalid:
        samples.error(f"validation: {invalid[0].message}")
        return
    result = await _execute_counted(executor, document, body, samples)
    if result is None:
        return
    if (message := describe_errors(result)) is not None:
        samples.error(message)
    serialize_started = time.perf_counter_ns()
    payload = orjson.dumps({"data": result.data})
    serialized = time.perf_counter_ns() - serialize_started
    samples.serialize.append(serialized)
    samples.response_bytes.append(len(payload))
    samples.total.append(validated_at - started + samples.execute[-1] + serialized)


def _prepare(bodies: Sequence[Body]) -> list[DocumentNode]:
    """Each body's document, parsed once (the server's cache would hold it)."""
    by_text: dict[str, DocumentNode] = {}
    for body in bodies:
        query = body["query"]
        if query not in by_text:
            by_text[query] = parse(query, max_tokens=MAX_TOKENS)
    return [by_text[body["query"]] for body in bodies]


async def measure_operation(
    executor: Executor, bodies: Sequence[Body], *, rounds: int
) -> dict[str, Any]:
    """Warm up, then `rounds` measured requests cycling through `bodies`."""
    if not bodies:
        raise ValueError("each operation needs at least one request body")
    documents = _prepare(bodies)
    warmup = StageSamples()
    for i in range(max(20, 3 * len(bodies))):
        await _round(executor, bodies[i % len(bodies)], documents[i % len(bodies)], warmup)
    samples = StageSamples()
    for i in range(rounds):
        await _round(executor, bodies[i % len(bodies)], documents[i % len(bodies)], samples)
    row = report(samples)
    if row["errors"] is None and (warmup_errors := warmup.errors()) is not None:
        row["errors"] = f"during warm-up only: {warmup_errors}"
    return row


async def breakdown(
    database_url: str, requests: dict[str, list[dict[str, Any]]], *, rounds: int = 200
) -> dict[str, dict[str, Any]]:
    """Per operation: median microseconds per stage, SQL per request, bytes, first error."""
    db = ReadPool(database_url)
    try:
        executor = Executor(db)
        return {
            name: await measure_operation(executor, bodies, rounds=rounds)
            for name, bodies in requests.items()
        }
    finally:
        await db.close()
