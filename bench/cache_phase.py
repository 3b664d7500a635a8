"""The cache phase: what the response cache, APQ and the prepared-document cache buy.

Per cacheable operation (ProductPage, CategoryListing, SearchProducts;
CreatorProfile is PRIVATE), every run sends one fixed body, the operation's
hottest Zipf draw, so that the variants differ only in where the answer
comes from:

- **floor**: `/bench/floor` of that answer's size, the same HTTP stack;
- **no cache**: `VITRINE_RESPONSE_CACHE=false`, executed every time (the
  prepared document is reused, as for any repeated text);
- **new text**: the same server, with a GraphQL comment that differs on every
  request (`# <run>-<thread>-<n>`), so no request finds its prepared document:
  each one is parsed and validated;
- **L1 hit**: cache on, the answer from the process's own memory;
- **Redis hit**: cache on with `VITRINE_CACHE_MEMORY_BYTES=0`, every answer
  from Redis (`VITRINE_BENCH_REDIS_URL`, default db 5, flushed first);
- **APQ GET**: the document registered by APQ, then GETs of
  `/graphql?extensions=...&variables=...` with `Apollo-Require-Preflight`
  (what a CDN in front would forward), answered from L1.

A probe before each run checks the answer (200, no errors) and its
`Vitrine-Cache` header; /metrics around each run says what share of lookups
actually hit the expected level. Then the **hit ratio** of a Zipf-skewed
ProductPage workload from cold caches (L1 + Redis): hits and misses per level
from /metrics, over the warm-up and over the measured run, beside the ideal
ratio of the same draws (an unbounded cache, no expiry, no concurrent misses).
Finally, in-process, parse and validation times per operation: what the
prepared-document cache saves on every request after the first.

Every run uses the load phase's wrk settings and `bench/lua/cache.lua`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.apq import forget_apq
from bench.load import LoadSettings, lua_string, measure_load, run_wrk
from bench.server import Server, check_answer, running_server
from bench.stats import percentile
from bench.workload import Body, Operation, generator_for, load_pools, sample_requests
from infra.progress import console, progress_bar

CACHEABLE_OPERATIONS = ("ProductPage", "CategoryListing", "SearchProducts")
HIT_RATIO_OPERATION = "ProductPage"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
REDIS_URL_VARIABLE = "VITRINE_BENCH_REDIS_URL"
TEMPLATE = Path(__file__).resolve().parent / "lua" / "cache.lua"
PREBUILD_LIMIT = 20_000
TOKEN = "@@BENCH-TOKEN@@"
CACHE_HEADER = "vitrine-cache"
PREFLIGHT_HEADERS = {"Apollo-Require-Preflight": "true"}
JSON_HEADERS = {"Content-Type": "application/json"}
# A level is "hit" by a variant when at least this share of its lookups hit it.
EXPECTED_HIT_SHARE = 0.99
HIT_RATIO_MIN_ITEMS = 10_000
HIT_RATIO_MAX_ITEMS = 400_000
DOCUMENT_ROUNDS = 100
PROBE_ATTEMPTS = 30

# (key, label), in the order of the report's table.
VARIANTS = (
    ("floor", "floor (HTTP only)"),
    ("no_cache", "no cache"),
    ("new_text", "no cache, new text every request"),
    ("l1_hit", "L1 hit"),
    ("redis_hit", "Redis hit"),
    ("apq_get", "APQ GET (L1 hit)"),
)
# The Vitrine-Cache status a probe must see before each variant's run.
EXPECTED_STATUS = {"l1_hit": "HIT-L1", "redis_hit": "HIT-L2", "apq_get": "HIT-L1"}
# The level whose hits must dominate each variant's lookups, per /metrics.
EXPECTED_LEVEL = {"l1_hit": "l1", "redis_hit": "l2", "apq_get": "l1"}
COUNTERS = (
    "l1_hits",
    "l1_misses",
    "l2_hits",
    "l2_misses",
    "l2_errors",
    "l2_breaker_rejected",
    "stale_served",
    "stores",
)
_METRIC_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)")


# Pure helpers (unit-tested in tests/unit/test_bench_cache_phase.py).


def body_key(body: Body) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def hottest_body(bodies: Sequence[Body]) -> Body:
    """The most frequent body (the top of the Zipf draw); ties go to the first seen."""
    if not bodies:
        raise ValueError("no bodies to choose from")
    counts = Counter(body_key(b) for b in bodies)
    best = max(counts.values())
    return next(b for b in bodies if counts[body_key(b)] == best)


def _split(text: str) -> tuple[str, str]:
    head, marker, tail = text.partition(TOKEN)
    if not marker:
        raise ValueError("the token marker is missing")
    return head, tail


def item_line(head: str, tail: str = "") -> str:
    """One line of cache.lua's items file: the text before and after the request's token."""
    if "\t" in head or "\t" in tail or "\n" in head or "\n" in tail:
        raise ValueError("an item cannot hold a raw tab or newline")
    return f"{head}\t{tail}" if tail else head


def body_line(body: Body) -> str:
    """A fixed JSON body (no token)."""
    return item_line(orjson.dumps(body).decode())


def new_text_line(body: Body) -> str:
    """The body with `# <token>` appended to its query: a text never seen before."""
    marked = {"query": f"{body['query']}\n# {TOKEN}", "variables": body.get("variables")}
    return item_line(*_split(orjson.dumps(marked).decode()))


def variables_items(query: str, variables: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """A common prefix (the query) and one line per variables object: the bodies of a
    long workload without repeating the query text in every line."""
    prefix, suffix = _split(orjson.dumps({"query": query, "variables": TOKEN}).decode())
    prefix = prefix[:-1]  # the opening quote of the marker string
    suffix = suffix[1:]  # its closing quote
    return prefix, [item_line(orjson.dumps(v).decode() + suffix) for v in variables]


def apq_extensions(query: str) -> dict[str, Any]:
    from persisted_queries.hashing import sha256_hex

    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}


def apq_get_path(query: str, variables: Mapping[str, Any] | None) -> str:
    """`/graphql?extensions=...&variables=...`: the hash only, as PersistedQueryLink sends it."""
    params = {"extensions": orjson.dumps(apq_extensions(query)).decode()}
    if variables:
        params["variables"] = orjson.dumps(dict(variables)).decode()
    return "/graphql?" + urlencode(params)


def lua_table(headers: Mapping[str, str]) -> str:
    pairs = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return "{ " + pairs + " }"


def render_cache_script(
    *,
    items: Path,
    result: Path,
    method: str,
    request_path: str,
    headers: Mapping[str, str],
    threads: int,
    prefix: str = "",
    unique: bool = False,
    nonce: str = "",
    offset: int = 0,
) -> str:
    """bench/lua/cache.lua with its slots filled. `prefix` goes before every item."""
    slots = {
        "ITEMS": lua_string(str(items)),
        "RESULT": lua_string(str(result)),
        "METHOD": lua_string(method),
        "PATH": lua_string(request_path),
        "HEADERS": lua_table(headers),
        "UNIQUE": "true" if unique else "false",
        "NONCE": lua_string(nonce),
        "OFFSET": str(offset),
        "THREADS": str(threads),
        "PREBUILD_LIMIT": str(PREBUILD_LIMIT),
        "PREFIX": lua_string(prefix),
    }
    script = TEMPLATE.read_text()
    for name, value in slots.items():
        script = script.replace("{{" + name + "}}", value)
    return script


def parse_metrics(text: str) -> dict[str, float]:
    """Unlabelled samples of Prometheus text, by name (comments and bad lines skipped)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _METRIC_LINE.match(line)
        if match is None:
            continue
        try:
            values[match.group(1)] = float(match.group(2))
        except ValueError:
            continue
    return values


def counter_deltas(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, int]:
    """The response cache's counters (COUNTERS) gained between two /metrics readings."""
    deltas = {}
    for name in COUNTERS:
        metric = f"vitrine_cache_{name}_total"
        if metric in after:
            deltas[name] = int(after[metric] - before.get(metric, 0.0))
    return deltas


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def hit_ratios(counters: Mapping[str, int]) -> dict[str, Any]:
    """Ratios of a window's lookups: overall, per level (as a share of all lookups), and
    L2's own (hits among the lookups that reached it)."""
    l1_hits, l1_misses = counters.get("l1_hits", 0), counters.get("l1_misses", 0)
    l2_hits, l2_misses = counters.get("l2_hits", 0), counters.get("l2_misses", 0)
    lookups = l1_hits + l1_misses
    return {
        "lookups": lookups,
        "hits": l1_hits + l2_hits,
        "overall": _share(l1_hits + l2_hits, lookups),
        "l1": _share(l1_hits, lookups),
        "l2": _share(l2_hits, lookups),
        "l2_of_l1_misses": _share(l2_hits, l2_hits + l2_misses),
    }


def level_share(counters: Mapping[str, int], level: str) -> float | None:
    """The share of lookups that hit `level` ("l1" or "l2")."""
    lookups = counters.get("l1_hits", 0) + counters.get("l1_misses", 0)
    return _share(counters.get(f"{level}_hits", 0), lookups)


def sent_indices(items: int, threads: int, offset: int, requests: int) -> list[int]:
    """The items a cache.lua run sent, assuming its threads sent equal shares: thread t
    walks from offset + t * stride, item after item, wrapping around."""
    stride = items // threads
    indices = []
    for thread in range(threads):
        count = requests // threads + (1 if thread < requests % threads else 0)
        start = offset + thread * stride
        indices += [(start + i) % items for i in range(count)]
    return indices


def ideal_ratios(
    keys: Sequence[str], warmup: Sequence[int], measured: Sequence[int]
) -> dict[str, Any]:
    """The hit ratio of an unbounded, never-expiring cache with no concurrent misses for
    the same draws: from cold (warm-up and measured run) and over the measured run."""
    seen_in_warmup = {keys[i] for i in warmup}
    measured_keys = [keys[i] for i in measured]
    total = len(warmup) + len(measured)
    distinct_all = len(seen_in_warmup | set(measured_keys))
    new_in_measured = len(set(measured_keys) - seen_in_warmup)
    return {
        "from_cold": _share(total - distinct_all, total),
        "measured": _share(len(measured_keys) - new_in_measured, len(measured_keys)),
        "distinct_sent": distinct_all,
    }


def items_for(rps: float | None, seconds: float) -> int:
    """How many draws a hit-ratio run needs so that wrk never wraps around (with margin)."""
    if not rps:
        return HIT_RATIO_MIN_ITEMS * 5
    wanted = math.ceil(rps * seconds * 1.3)
    return max(HIT_RATIO_MIN_ITEMS, min(wanted, HIT_RATIO_MAX_ITEMS))


def ratio_to(value: float | None, reference: float | None) -> float | None:
    if not value or not reference:
        return None
    return float(f"{value / reference:.4g}")


# The measurements.


@dataclass(frozen=True)
class Probe:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cache(self) -> str | None:
        return self.headers.get(CACHE_HEADER)


def probe(
    url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Probe:
    """One request (POST when there is a body), its status, lower-cased headers and body."""
    request = urllib.request.Request(
        url, data=body, headers=dict(headers or {}), method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Probe(
                int(response.status),
                {k.lower(): v for k, v in response.headers.items()},
                bytes(response.read()),
            )
    except urllib.error.HTTPError as error:
        return Probe(
            int(error.code), {k.lower(): v for k, v in error.headers.items()}, bytes(error.read())
        )


def read_metrics(server: Server) -> dict[str, float]:
    found = probe(f"{server.url}/metrics")
    if found.status != 200:
        raise RuntimeError(f"GET /metrics answered {found.status}")
    return parse_metrics(found.body.decode(errors="replace"))


def redis_problem(url: str) -> str | None:
    """None when Redis answers (its database is flushed), else why it cannot be used."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
            client.flushdb()
        finally:
            client.close()
    except Exception as exc:
        return f"Redis not reachable at {url} ({type(exc).__name__}: {exc})"
    return None


def document_costs(queries: Mapping[str, str], *, rounds: int = DOCUMENT_ROUNDS) -> dict[str, Any]:
    """Median parse and validation times per operation, uncached, in this process: what
    the prepared-document cache saves on every request after a document's first."""
    from graphql import parse, specified_rules, validate

    from infra.graphql_documents import MAX_TOKENS
    from schema.build import build_schema

    schema = build_schema()._schema
    costs = {}
    for name, query in queries.items():
        parse_ns: list[int] = []
        validate_ns: list[int] = []
        for i in range(rounds + 5):
            started = time.perf_counter_ns()
            document = parse(query, max_tokens=MAX_TOKENS)
            parsed = time.perf_counter_ns()
            validate(schema, document, specified_rules)
            validated = time.perf_counter_ns()
            if i >= 5:
                parse_ns.append(parsed - started)
                validate_ns.append(validated - parsed)
        parse_us = percentile(parse_ns, 50) / 1000
        validate_us = percentile(validate_ns, 50) / 1000
        costs[name] = {
            "parse_us": round(parse_us, 1),
            "validate_us": round(validate_us, 1),
            "saving_us": round(parse_us + validate_us, 1),
            "rounds": rounds,
        }
    return costs


@dataclass
class CacheContext:
    """What the phase needs from the suite."""

    database_url: str
    settings: LoadSettings
    workers: int
    scratch: Path
    logdir: Path
    redis_url: str = DEFAULT_REDIS_URL
    problems: list[str] = dataclasses.field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)
        console.print(f"[bold red]{message}")


@dataclass(frozen=True)
class Script:
    """How one variant's wrk runs are scripted (see render_cache_script)."""

    items: Path
    method: str = "POST"
    request_path: str = "/graphql"
    headers: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(JSON_HEADERS))
    prefix: str = ""
    unique: bool = False
    offset: int = 0

    def factory(self, threads: int) -> Callable[[Path, str], str]:
        def render(result: Path, label: str) -> str:
            return render_cache_script(
                items=self.items,
                result=result,
                method=self.method,
                request_path=self.request_path,
                headers=self.headers,
                threads=threads,
                prefix=self.prefix,
                unique=self.unique,
                nonce=f"{label}-{time.time_ns()}",
                offset=self.offset,
            )

        return render


def _measure(
    ctx: CacheContext,
    server: Server,
    label: str,
    script: Script,
    tick: Callable[[float], None],
    *,
    settings: LoadSettings | None = None,
) -> dict[str, Any]:
    """A warm-up and a measured run (measure_load), with the cache counters around them."""
    metrics_before = read_metrics(server)
    result = measure_load(
        server,
        settings=settings or ctx.settings,
        bodies=script.items,
        request_path=script.request_path,
        label=label,
        scratch=ctx.scratch,
        logdir=ctx.logdir,
        tick=tick,
        script=script.factory(ctx.settings.threads),
    )
    counters = counter_deltas(metrics_before, read_metrics(server))
    if counters:
        result["cache_counters"] = counters
    if result["non_2xx"] or result["socket_errors"]:
        ctx.problem(
            f"{label}: {result['non_2xx']} non-2xx responses,"
            f" {result['socket_errors']} socket errors"
        )
    return result


def _write_items(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _checked(name: str, body: Body, found: Probe) -> Probe:
    check_answer(name, body, found.status, found.body)
    return found


def _probe_until(make: Callable[[], Probe], expected: str, attempts: int = PROBE_ATTEMPTS) -> Probe:
    """Probe until the answer says `expected` in Vitrine-Cache (stores to Redis are
    asynchronous); the last probe either way."""
    found = make()
    for _ in range(attempts - 1):
        if found.cache == expected:
            break
        time.sleep(0.1)
        found = make()
    return found


@contextmanager
def _server(ctx: CacheContext, name: str, extra: dict[str, str]) -> Iterator[Server]:
    log = ctx.logdir / f"cache-{name}-server.log"
    with running_server(ctx.database_url, log, workers=ctx.workers, extra=extra) as server:
        yield server


def _variant(ctx: CacheContext, label: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One variant; its failure is recorded and the phase goes on."""
    try:
        return work()
    except Exception as exc:
        ctx.problem(f"cache phase, {label}: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _check_level(ctx: CacheContext, label: str, key: str, run: dict[str, Any]) -> None:
    level = EXPECTED_LEVEL.get(key)
    counters = run.get("cache_counters")
    if level is None or not counters or ctx.workers != 1:
        return
    share = level_share(counters, level)
    run["expected_level_share"] = share
    if share is not None and share < EXPECTED_HIT_SHARE:
        ctx.problem(
            f"{label}: only {share:.1%} of lookups hit {level.upper()}"
            f" (counters {orjson.dumps(counters).decode()})"
        )


def measure_cache(
    ctx: CacheContext,
    operations: Sequence[Operation],
    requests: Mapping[str, Sequence[Body]],
) -> dict[str, Any]:
    """Every variant per cacheable operation, the hit ratio, and the parse/validate saving."""
    chosen = [op for op in operations if op.name in CACHEABLE_OPERATIONS and op.name in requests]
    if not chosen:
        return {"skipped": "none of " + ", ".join(CACHEABLE_OPERATIONS) + " is benchmarked"}
    redis_error = redis_problem(ctx.redis_url)
    if redis_error is not None:
        ctx.problem(f"{redis_error}: the Redis variants are skipped")
    hot = {op.name: hottest_body(requests[op.name]) for op in chosen}
    results: dict[str, Any] = {
        "redis_url": ctx.redis_url,
        "redis": "ok" if redis_error is None else redis_error,
        "operations": {
            op.name: {"variables": hot[op.name].get("variables"), "variants": {}} for op in chosen
        },
    }
    by_name = {op.name: op for op in chosen}
    runs = len(chosen) * (len(VARIANTS) if redis_error is None else len(VARIANTS) - 1)
    hit_op = next((op for op in operations if op.name == HIT_RATIO_OPERATION), None)
    plan_hit_ratio = hit_op is not None and hit_op.name in requests
    per_run = ctx.settings.warmup + ctx.settings.duration
    total = runs * per_run + (per_run if plan_hit_ratio else 0)
    apq_hashes: list[str] = []
    try:
        with progress_bar() as progress:
            task = progress.add_task("cache variants", total=total)

            def tick(seconds: float) -> None:
                progress.advance(task, seconds)

            _uncached_runs(ctx, by_name, hot, results, tick)
            _l1_runs(ctx, by_name, hot, results, tick, apq_hashes)
            if redis_error is None:
                _redis_runs(ctx, by_name, hot, results, tick)
            for op in chosen:
                results["operations"][op.name]["variants"].setdefault(
                    "redis_hit", {"skipped": redis_error or "not measured"}
                )
            if plan_hit_ratio and hit_op is not None:
                results["hit_ratio"] = _variant(
                    ctx,
                    "hit ratio",
                    lambda: _hit_ratio(ctx, hit_op, results, redis_error, tick),
                )
            else:
                results["hit_ratio"] = {"skipped": f"{HIT_RATIO_OPERATION} is not benchmarked"}
            progress.update(task, completed=total)
    finally:
        _forget_apq(ctx, apq_hashes)
        if redis_error is None:
            redis_problem(ctx.redis_url)  # flushes what the runs left behind
    with console.status("parse and validation times (in-process)"):
        costs = document_costs({op.name: op.query for op in chosen})
    for name, cost in costs.items():
        entry = results["operations"][name]
        variants = entry["variants"]
        cached, fresh = variants.get("no_cache", {}), variants.get("new_text", {})
        cost["end_to_end"] = {
            "rps_cached_document": cached.get("rps"),
            "rps_new_text": fresh.get("rps"),
            "cpu_us_cached_document": cached.get("cpu_us_per_request"),
            "cpu_us_new_text": fresh.get("cpu_us_per_request"),
            "cpu_us_saved": _difference(
                fresh.get("cpu_us_per_request"), cached.get("cpu_us_per_request")
            ),
        }
        entry["document_cache"] = cost
    return results


def _difference(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a - b, 1)


def _finish(run: dict[str, Any], floor: Mapping[str, Any] | None, found: Probe) -> dict[str, Any]:
    run["ratio_to_floor"] = ratio_to(run.get("rps"), (floor or {}).get("rps"))
    run["probe"] = {
        "status": found.status,
        "vitrine_cache": found.cache,
        "cache_control": found.headers.get("cache-control"),
    }
    return run


def _uncached_runs(
    ctx: CacheContext,
    operations: Mapping[str, Operation],
    hot: Mapping[str, Body],
    results: dict[str, Any],
    tick: Callable[[float], None],
) -> None:
    """Floor, no cache and new text, on a server with the response cache off."""
    with _server(ctx, "off", {"VITRINE_RESPONSE_CACHE": "false"}) as server:
        for name in operations:
            body = hot[name]
            entry = results["operations"][name]
            variants = entry["variants"]
            payload = orjson.dumps(body)
            found = _checked(
                name, body, probe(f"{server.url}/graphql", body=payload, headers=JSON_HEADERS)
            )
            entry["response_bytes"] = len(found.body)
            fixed = Script(_write_items(ctx.scratch / f"cache-{name}.items", [body_line(body)]))
            floor_script = dataclasses.replace(
                fixed, request_path=f"/bench/floor?bytes={len(found.body)}"
            )
            fresh = Script(
                _write_items(ctx.scratch / f"cache-{name}-new.items", [new_text_line(body)]),
                unique=True,
            )
            floor = variants["floor"] = _variant(
                ctx,
                f"{name} floor",
                partial(_measure, ctx, server, f"cache-{name}-floor", floor_script, tick),
            )
            for key, script in (("no_cache", fixed), ("new_text", fresh)):
                label = f"cache-{name}-{key.replace('_', '-')}"
                variants[key] = _variant(
                    ctx,
                    f"{name} {key}",
                    partial(_finished, floor, found, ctx, server, label, script, tick),
                )


def _finished(
    floor: Mapping[str, Any] | None,
    found: Probe,
    ctx: CacheContext,
    server: Server,
    label: str,
    script: Script,
    tick: Callable[[float], None],
) -> dict[str, Any]:
    return _finish(_measure(ctx, server, label, script, tick), floor, found)


def _l1_runs(
    ctx: CacheContext,
    operations: Mapping[str, Operation],
    hot: Mapping[str, Body],
    results: dict[str, Any],
    tick: Callable[[float], None],
    apq_hashes: list[str],
) -> None:
    """L1 hits by POST, then APQ GETs, on a server with the cache on and no Redis."""
    with _server(ctx, "l1", {"VITRINE_RESPONSE_CACHE": "true"}) as server:
        for name in operations:
            body = hot[name]
            variants = results["operations"][name]["variants"]
            floor = variants.get("floor")
            variants["l1_hit"] = _variant(
                ctx,
                f"{name} L1 hit",
                partial(_level_hit, "l1_hit", ctx, server, name, body, floor, tick),
            )
            variants["apq_get"] = _variant(
                ctx,
                f"{name} APQ GET",
                partial(_apq_get, ctx, server, name, body, floor, tick, apq_hashes),
            )


def _expect(ctx: CacheContext, label: str, found: Probe, status: str) -> None:
    if found.cache != status:
        ctx.problem(f"{label}: the probe was answered {found.cache!r}, not {status}")


_LEVELS = {
    "l1_hit": ("L1 hit", "HIT-L1", "l1-hit"),
    "redis_hit": ("Redis hit", "HIT-L2", "redis-hit"),
}


def _level_hit(
    level: str,
    ctx: CacheContext,
    server: Server,
    name: str,
    body: Body,
    floor: Mapping[str, Any] | None,
    tick: Callable[[float], None],
) -> dict[str, Any]:
    """One body repeated until every request is a hit at `level` ("l1_hit" or "redis_hit")."""
    label, header, slug = _LEVELS[level]
    url, payload = f"{server.url}/graphql", orjson.dumps(body)
    _checked(name, body, probe(url, body=payload, headers=JSON_HEADERS))
    found = _probe_until(lambda: probe(url, body=payload, headers=JSON_HEADERS), header)
    _checked(name, body, found)
    _expect(ctx, f"{name} {label}", found, EXPECTED_STATUS[level])
    items = _write_items(ctx.scratch / f"cache-{name}.items", [body_line(body)])
    run = _measure(ctx, server, f"cache-{name}-{slug}", Script(items), tick)
    _check_level(ctx, f"{name} {label}", level, run)
    return _finish(run, floor, found)


def _apq_get(
    ctx: CacheContext,
    server: Server,
    name: str,
    body: Body,
    floor: Mapping[str, Any] | None,
    tick: Callable[[float], None],
    apq_hashes: list[str],
) -> dict[str, Any]:
    query, variables = body["query"], body.get("variables")
    extensions = apq_extensions(query)
    path = apq_get_path(query, variables)
    # With several workers, the others would remember this miss for a moment.
    unknown = probe(f"{server.url}{path}", headers=PREFLIGHT_HEADERS) if ctx.workers == 1 else None
    registration = {"query": query, "variables": variables, "extensions": extensions}
    apq_hashes.append(extensions["persistedQuery"]["sha256Hash"])
    registered = probe(
        f"{server.url}/graphql", body=orjson.dumps(registration), headers=JSON_HEADERS
    )
    _checked(name, body, registered)
    found = _probe_until(lambda: probe(f"{server.url}{path}", headers=PREFLIGHT_HEADERS), "HIT-L1")
    _checked(name, body, found)
    _expect(ctx, f"{name} APQ GET", found, EXPECTED_STATUS["apq_get"])
    if not (found.headers.get("cache-control") or "").startswith("public"):
        ctx.problem(
            f"{name} APQ GET: Cache-Control is {found.headers.get('cache-control')!r}, not public"
        )
    items = _write_items(ctx.scratch / f"cache-{name}-apq.items", [item_line(path)])
    script = Script(items, method="GET", request_path="/graphql", headers=PREFLIGHT_HEADERS)
    run = _measure(ctx, server, f"cache-{name}-apq-get", script, tick)
    _check_level(ctx, f"{name} APQ GET", "apq_get", run)
    run["apq"] = {
        "before_registration": None
        if unknown is None
        else {"status": unknown.status, "error": _first_error_code(unknown.body)},
        "registration_status": registered.status,
        "get_status": found.status,
        "etag": found.headers.get("etag"),
        "surrogate_key": found.headers.get("surrogate-key"),
        "path_bytes": len(path),
    }
    return _finish(run, floor, found)


def _first_error_code(answer: bytes) -> str | None:
    try:
        parsed = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return None
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not errors:
        return None
    code = (errors[0].get("extensions") or {}).get("code")
    return str(code) if code else str(errors[0].get("message"))


def _redis_runs(
    ctx: CacheContext,
    operations: Mapping[str, Operation],
    hot: Mapping[str, Body],
    results: dict[str, Any],
    tick: Callable[[float], None],
) -> None:
    """Every answer from Redis: the cache on, L1 given no memory at all."""
    redis_problem(ctx.redis_url)  # a clean database
    extra = {
        "VITRINE_RESPONSE_CACHE": "true",
        "VITRINE_CACHE_MEMORY_BYTES": "0",
        "VITRINE_REDIS_URL": ctx.redis_url,
    }
    with _server(ctx, "redis", extra) as server:
        for name in operations:
            body = hot[name]
            variants = results["operations"][name]["variants"]
            floor = variants.get("floor")

            variants["redis_hit"] = _variant(
                ctx,
                f"{name} Redis hit",
                partial(_level_hit, "redis_hit", ctx, server, name, body, floor, tick),
            )


def _hit_ratio(
    ctx: CacheContext,
    operation: Operation,
    results: Mapping[str, Any],
    redis_error: str | None,
    tick: Callable[[float], None],
) -> dict[str, Any]:
    """A Zipf-skewed ProductPage workload from cold caches (L1, and Redis when it answers)."""
    import asyncio

    if ctx.workers != 1:
        return {"skipped": "/metrics is per worker: the hit ratio needs --workers 1"}
    generator = generator_for(operation)
    if generator is None:
        return {"skipped": f"no variables generator for {operation.name}"}
    settings = ctx.settings
    l1 = results["operations"].get(operation.name, {}).get("variants", {}).get("l1_hit", {})
    count = items_for(l1.get("rps"), settings.warmup + settings.duration)
    pools = asyncio.run(load_pools(ctx.database_url))
    bodies = sample_requests(operation, generator, pools, count=count)
    variables = [body["variables"] for body in bodies]
    keys = [orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode() for v in variables]
    prefix, lines = variables_items(operation.query, variables)
    items = _write_items(ctx.scratch / "cache-hit-ratio.items", lines)
    extra = {"VITRINE_RESPONSE_CACHE": "true"}
    if redis_error is None:
        redis_problem(ctx.redis_url)
        extra["VITRINE_REDIS_URL"] = ctx.redis_url
    script = Script(items, prefix=prefix)
    threads = settings.threads
    with _server(ctx, "hit-ratio", extra) as server:
        cold = read_metrics(server)
        warmup_requests = 0
        if settings.warmup > 0:
            warm = run_wrk(
                server.url,
                bodies=items,
                request_path="/graphql",
                settings=settings,
                seconds=settings.warmup,
                workdir=ctx.scratch,
                label="cache-hit-ratio-warmup",
                on_progress=tick,
                script=script.factory(threads),
            )
            warmup_requests = warm.requests
        warmed = read_metrics(server)
        offset = math.ceil(warmup_requests / threads)
        measured_script = dataclasses.replace(script, offset=offset)
        run = measure_load(
            server,
            settings=dataclasses.replace(settings, warmup=0),
            bodies=items,
            request_path="/graphql",
            label="cache-hit-ratio",
            scratch=ctx.scratch,
            logdir=ctx.logdir,
            tick=tick,
            script=measured_script.factory(threads),
        )
        after = read_metrics(server)
    if run["non_2xx"] or run["socket_errors"]:
        ctx.problem(
            f"hit ratio: {run['non_2xx']} non-2xx responses, {run['socket_errors']} socket errors"
        )
    warmup_sent = sent_indices(len(lines), threads, 0, warmup_requests)
    measured_sent = sent_indices(len(lines), threads, offset, run["requests"])
    wrapped = warmup_requests + run["requests"] > len(lines)
    measured_counters = counter_deltas(warmed, after)
    cold_counters = counter_deltas(cold, after)
    return {
        "operation": operation.name,
        "levels": "L1 + Redis" if redis_error is None else "L1 only (Redis not reachable)",
        "draws": len(lines),
        "distinct_draws": len(set(keys)),
        "warmup_requests": warmup_requests,
        "wrapped": wrapped,
        "measured": {**hit_ratios(measured_counters), "counters": measured_counters},
        "from_cold": {**hit_ratios(cold_counters), "counters": cold_counters},
        "ideal": ideal_ratios(keys, warmup_sent, measured_sent),
        "run": run,
    }


def _forget_apq(ctx: CacheContext, hashes: Sequence[str]) -> None:
    """Remove the phase's APQ registrations: the dataset stays as seeded."""
    forget_apq(ctx.database_url, hashes, ctx.problem, "cache")


def redis_url() -> str:
    return os.environ.get(REDIS_URL_VARIABLE) or DEFAULT_REDIS_URL
