"""What the edge's protections cost on ProductPage: auth, rate limiting, cost analysis.

Issue 9 asks for the overhead of each protection as a ratio against the same
run without it. Every configuration serves the same ProductPage bodies (the
load phase's Zipf-skewed workload) from its own server on the same dataset,
one after another, with the response cache off (this measures the work per
request, not the cache):

- **baseline**: anonymous requests; rate limits off; cost analysis as always
  (it is always on: the cost of a known document is computed once and kept
  with it, and `extensions.cost` is part of every answer, so its share is
  measured in-process, below);
- **auth**: the same server, each request carrying a CUSTOMER bearer token
  (token verification, plus the viewer's segments: one statement);
- **rate limits**: anonymous, rate limits on with quotas no run can reach,
  against Redis (one GCRA script call per request, IP and principal buckets in
  the same call);
- **rate limits, by cost**: the same, with the reads bucket charged by each
  operation's requested cost (and `throttleStatus` in `extensions.cost`);
- **all**: a token, rate limits charged by cost.

Every server starts before any load and stays up; the configurations then
take turns, in rounds, baseline first in each round, so a machine that gets
busier during the phase slows every configuration alike. Each configuration's
figure is its median over the rounds; the spread of the baseline's rounds is
reported beside the ratios, as the noise to read them against.

**Cost analysis in-process**: for the same bodies, the time of executing
ProductPage (graphql-core, read models in PostgreSQL) against the time of
what cost analysis adds to a request: the requested cost from the request's
variables (before execution) and the actual cost walked over the data
(after). Its ratio is the share of a request's execution that cost analysis
takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench.load import LoadSettings, measure_load, render_script, write_bodies
from bench.server import JWT_SECRET, Server, check_answer, post_json, running_server
from bench.viewers import auth_headers, ratio

OPERATION = "ProductPage"
CUSTOMER = "u-1"
TOKEN_TTL_SECONDS = 12 * 3600
# Quotas no run reaches (a 10 s run serves well under a million requests).
UNREACHABLE = "100000000/minute"
RATE_LIMITS_ON = {
    "VITRINE_RATE_LIMITS": "on",
    **{
        f"VITRINE_RATE_LIMIT_{name}": UNREACHABLE
        for name in (
            "READS",
            "READS_PER_IP",
            "WRITES",
            "WRITES_PER_IP",
            "EXPLAIN",
            "EXPLAIN_PER_IP",
            "EVENTS",
            "EVENTS_PER_IP",
        )
    },
}


# Five servers stay up together: small pools keep them inside PostgreSQL's
# max_connections (100 by default) beside whatever else uses the server; the
# same pool for every configuration, so the ratios stay fair.
POOL = {"VITRINE_POOL_SIZE": "5", "VITRINE_POOL_MAX_OVERFLOW": "5"}


class Config(NamedTuple):
    """One measured configuration: its server's environment and whether requests carry a token."""

    key: str
    label: str
    env: dict[str, str]
    token: bool


def configs(redis_url: str) -> tuple[Config, ...]:
    """The configurations in the order they take turns (the baseline first)."""
    limits = {**POOL, **RATE_LIMITS_ON, "VITRINE_REDIS_URL": redis_url}
    by_cost = {**limits, "VITRINE_RATE_LIMIT_COST_BUCKET": "true"}
    return (
        Config("baseline", "baseline (anonymous, rate limits off)", POOL, False),
        Config("auth", "+ auth (CUSTOMER bearer token)", POOL, True),
        Config("rate_limits", "+ rate limits (Redis)", limits, False),
        Config("rate_limits_cost", "+ rate limits charged by cost (Redis)", by_cost, False),
        Config("all", "auth + rate limits charged by cost", by_cost, True),
    )


def customer_token(secret: str = JWT_SECRET) -> str:
    from infra.auth import mint_token

    return mint_token(secret, sub=CUSTOMER, roles=["CUSTOMER"], ttl_seconds=TOKEN_TTL_SECONDS)


@dataclass
class SecurityContext:
    """What the phase needs from the suite."""

    database_url: str
    redis_url: str
    settings: LoadSettings
    scratch: Path
    logdir: Path
    workers: int = 1
    rounds: int = 3
    inprocess_bodies: int = 200


def measure_security(
    context: SecurityContext,
    bodies: Sequence[dict[str, Any]],
    tick: Callable[[float], None],
) -> dict[str, Any]:
    """Each configuration's throughput and CPU per request (medians over the rounds) and
    its ratio to the baseline; then cost analysis in-process."""
    path = context.scratch / "security-ProductPage.bodies"
    write_bodies(path, bodies)
    token = customer_token()
    chosen = configs(context.redis_url)
    rounds: dict[str, list[dict[str, Any]]] = {config.key: [] for config in chosen}
    with contextlib.ExitStack() as stack:
        servers = {}
        for config in chosen:
            log = context.logdir / f"security-{config.key}-server.log"
            server = stack.enter_context(
                running_server(context.database_url, log, workers=context.workers, extra=config.env)
            )
            _preflight(server, bodies[0], _headers(config, token), config)
            servers[config.key] = server
        for number in range(1, context.rounds + 1):
            for config in chosen:
                label = f"{config.key}-{number}"
                run = _measured(
                    context, servers[config.key], path, _headers(config, token), label, tick
                )
                rounds[config.key].append(run)
    found = summarize(chosen, rounds)
    found["cost_inprocess"] = asyncio.run(
        measure_cost_inprocess(context.database_url, bodies[: context.inprocess_bodies])
    )
    return found


def _headers(config: Config, token: str) -> dict[str, str]:
    return auth_headers(token if config.token else None)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summarize(chosen: Sequence[Config], rounds: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per configuration, ratios against the baseline's medians, and the
    baseline's own spread (max / min of its rounds' throughput)."""
    runs: dict[str, dict[str, Any]] = {}
    for config in chosen:
        measured = rounds[config.key]
        runs[config.key] = {
            "label": config.label,
            "rps": round(_median([r["rps"] for r in measured]), 1),
            "cpu_us_per_request": round(
                _median([r["cpu_us_per_request"] or 0.0 for r in measured]), 1
            ),
            "p99_ms": round(_median([r["latency_ms"]["p99"] for r in measured]), 1),
            "rounds": measured,
        }
    baseline = runs["baseline"]
    for run in runs.values():
        run["ratio_to_baseline"] = ratio(run["rps"], baseline["rps"])
        run["cpu_ratio_to_baseline"] = ratio(
            run["cpu_us_per_request"], baseline["cpu_us_per_request"]
        )
    spread = [r["rps"] for r in rounds["baseline"]]
    return {
        "operation": OPERATION,
        "runs": runs,
        "rounds": len(spread),
        "baseline_spread": ratio(max(spread), min(spread)),
    }


async def measure_cost_inprocess(
    database_url: str, bodies: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Median µs per request of executing ProductPage and of its cost analysis
    (requested cost from the variables, actual cost over the data)."""
    from datetime import UTC, datetime

    from infra.graphql_documents import DocumentCache, PreparedDocument
    from infra.graphql_execution import execute_document
    from infra.readpool import ReadPool
    from resolvers.context import RequestContext
    from schema.build import build_schema

    schema = build_schema()
    prepared = DocumentCache(schema._schema).get(bodies[0]["query"])
    if not isinstance(prepared, PreparedDocument):
        raise RuntimeError(f"{OPERATION} does not validate: {prepared}")
    cost = prepared.cost_of(bodies[0].get("operationName"))
    if cost is None:
        raise RuntimeError(f"{OPERATION} has no cost")
    db = ReadPool(database_url)
    executing, analysing = [], []
    try:
        for round_number in range(2):  # the first round warms the pool and the caches
            for body in bodies:
                variables = body.get("variables")
                context = RequestContext(db=db, now=datetime.now(UTC), tracer=None)
                started = time.perf_counter_ns()
                result = await execute_document(schema, prepared.document, context, variables)
                executed = time.perf_counter_ns()
                cost.requested(variables)
                cost.actual(result.data)
                analysed = time.perf_counter_ns()
                if round_number:
                    executing.append((executed - started) / 1000)
                    analysing.append((analysed - executed) / 1000)
    finally:
        await db.close()
    execute_us, cost_us = _median(executing), _median(analysing)
    return {
        "bodies": len(bodies),
        "execute_us": round(execute_us, 1),
        "cost_analysis_us": round(cost_us, 2),
        "share": ratio(cost_us, execute_us),
    }


def _preflight(
    server: Server, body: dict[str, Any], headers: dict[str, str], config: Config
) -> None:
    """One request must answer 200 without errors, with the protections of `config` visible."""
    import orjson

    status, answer = post_json(f"{server.url}/graphql", orjson.dumps(body), headers=headers)
    check_answer(f"{OPERATION} ({config.key})", body, status, answer)


def _measured(
    context: SecurityContext,
    server: Server,
    bodies: Path,
    headers: dict[str, str],
    label: str,
    tick: Callable[[float], None],
) -> dict[str, Any]:
    def script(result: Path, name: str) -> str:
        return render_script(
            bodies=bodies,
            result=result,
            request_path="/graphql",
            threads=context.settings.threads,
            headers=headers,
        )

    found = measure_load(
        server,
        settings=context.settings,
        bodies=bodies,
        request_path="/graphql",
        label=f"security-{label}",
        scratch=context.scratch,
        logdir=context.logdir,
        tick=tick,
        script=script,
    )
    if found["non_2xx"] or found["socket_errors"]:
        raise RuntimeError(
            f"{OPERATION} ({label}): {found['non_2xx']} non-2xx answers and "
            f"{found['socket_errors']} socket errors under load; a rate limit reached? "
            f"see {context.logdir}"
        )
    return found


def security_table(security: dict[str, Any]) -> str:
    """The report's table: one row per configuration (medians over the rounds)."""
    rows = [
        "| configuration | req/s | ratio to baseline | CPU µs/req | CPU ratio | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in security["runs"].values():
        rows.append(
            f"| {run['label']} | {run['rps']:,.0f} | {run['ratio_to_baseline']} "
            f"| {run['cpu_us_per_request']} | {run['cpu_ratio_to_baseline']} "
            f"| {run['p99_ms']:.1f} |"
        )
    return "\n".join(rows)


def cost_line(found: dict[str, Any]) -> str:
    """The in-process share of cost analysis, in one sentence."""
    return (
        f"Cost analysis in-process ({found['bodies']} bodies, medians):"
        f" {found['cost_analysis_us']} µs per request (requested + actual cost)"
        f" against {found['execute_us']} µs of execution: {found['share']} of it."
    )
