"""The results as a markdown report, and the JSON file that keeps all of them.

The markdown is for reading and pasting into bench/README.md; the JSON is
for comparing runs (it holds every number, the settings and the machine).
Rendering is a pure function of the results dict, so it is unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.cache_phase import VARIANTS
from bench.plans_phase import INMEMORY_RUNS, P99_TARGET, SERVED_RUNS

MISSING = "-"


def number(value: Any, digits: int = 0) -> str:
    """A thousands-separated number, or a dash for None/NaN/non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else str(value)
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    return f"{value:,.{digits}f}"


def ratio(value: Any) -> str:
    """Three significant digits: ratios span 0.0003 to 1."""
    return f"{value:.3g}" if isinstance(value, int | float) and not math.isnan(value) else MISSING


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, left: int = 1) -> str:
    """A markdown table; the first `left` columns are left-aligned, the rest right."""
    align = ["---" if i < left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def flatten(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar entries of a nested dict as ("a.b", value), lists left out."""
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat += flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            flat.append((f"{prefix}{key}", value))
    return flat


def key_values(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "_not measured_"
    # Sorted: jsonb (the dataset cache) does not keep key order, and reruns should read alike.
    rows = [
        (key, number(v, 3) if isinstance(v, float) else number(v))
        for key, v in sorted(flatten(values), key=lambda kv: kv[0])
    ]
    return table(["measure", "value"], rows)


def _errors(run: Mapping[str, Any]) -> str:
    return number(run.get("non_2xx", 0) + run.get("socket_errors", 0))


def operations_table(results: Mapping[str, Any]) -> str:
    inprocess = results.get("inprocess") or {}
    rows = []
    for name, op in results.get("operations", {}).items():
        graphql, floor = op["graphql"], op["floor"]
        latency = graphql["latency_ms"]
        statements = (
            inprocess.get(name, {}).get("statements") if isinstance(inprocess, dict) else None
        )
        rows.append(
            [
                name,
                number(graphql["rps"]),
                number(floor["rps"]),
                ratio(op["ratio_to_floor"]),
                number(latency["p50"], 2),
                number(latency["p95"], 2),
                number(latency["p99"], 2),
                number(graphql["cpu_us_per_request"]),
                number(floor["cpu_us_per_request"]),
                number(graphql.get("db_cpu_us_per_request")),
                number(statements),
                number(op["response_bytes"]),
                _errors(graphql),
            ]
        )
    headers = [
        "operation",
        "req/s",
        "floor req/s",
        "ratio to floor",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "CPU µs/req",
        "floor CPU µs/req",
        "DB CPU µs/req",
        "statements",
        "response bytes",
        "errors",
    ]
    return table(headers, rows)


def memory_table(results: Mapping[str, Any]) -> str:
    rows = []
    for name, op in results.get("operations", {}).items():
        memory, floor = op["graphql"]["memory"], op["floor"]["memory"]
        rows.append(
            [
                name,
                number(memory["steady_rss_mb"], 1),
                number(memory["peak_rss_mb"], 1),
                number(floor["steady_rss_mb"], 1),
            ]
        )
    headers = ["operation", "steady RSS MB", "peak RSS MB", "floor steady RSS MB"]
    return table(headers, rows)


def scaling_tables(scaling: Mapping[str, Any]) -> str:
    by_first = [
        [
            str(p["first"]),
            number(p["rps"]),
            number(p["latency_ms"]["p50"], 2),
            number(p["latency_ms"]["p99"], 2),
            number(p["cpu_us_per_request"]),
            number(p.get("db_cpu_us_per_request")),
            number(p["response_bytes"]),
        ]
        for p in scaling.get("first", [])
    ]
    by_scale = [
        [
            p["scale"],
            number(p["products"]),
            number(p["events"]),
            number(p["rps"]),
            number(p["latency_ms"]["p50"], 2),
            number(p["latency_ms"]["p99"], 2),
            number(p["cpu_us_per_request"]),
            number(p.get("db_cpu_us_per_request")),
            number(p["memory"]["steady_rss_mb"], 1),
        ]
        for p in scaling.get("scales", [])
    ]
    return (
        "CategoryListing on the hottest category, by `first`:\n\n"
        + table(
            ["first", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "DB CPU µs/req", "bytes"],
            by_first,
        )
        + "\n\nCategoryListing (first=48) by dataset:\n\n"
        + table(
            [
                "scale",
                "products",
                "events",
                "req/s",
                "p50 ms",
                "p99 ms",
                "CPU µs/req",
                "DB CPU µs/req",
                "RSS MB",
            ],
            by_scale,
        )
    )


def inprocess_table(inprocess: Mapping[str, Any]) -> str:
    if not inprocess or "skipped" in inprocess or "error" in inprocess:
        return "_" + str(inprocess.get("skipped") or inprocess.get("error") or "not measured") + "_"
    columns = ("parse_us", "validate_us", "execute_us", "serialize_us", "statements", "rows")
    rows = [
        [
            name,
            *(number(row.get(c), 1 if c.endswith("_us") else 0) for c in columns),
            number(row.get("response_bytes")),
            str(row.get("errors") or ""),
        ]
        for name, row in inprocess.items()
    ]
    headers = ["operation", "parse µs", "validate µs", "execute µs", "serialize µs"]
    return table([*headers, "statements", "rows", "response bytes", "errors"], rows)


def percent(value: Any) -> str:
    """A share as a percentage to a tenth, or a dash."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return MISSING
    return f"{value * 100:.1f}%"


def _served_as(run: Mapping[str, Any]) -> str:
    if "skipped" in run:
        return "skipped"
    if "error" in run:
        return "error"
    probe = run.get("probe")
    if not probe:
        return MISSING
    return str(probe.get("vitrine_cache") or "cache off")


def cache_table(cache: Mapping[str, Any]) -> str:
    """One row per operation and variant: where the answer comes from, and what it costs."""
    rows = []
    for name, op in cache.get("operations", {}).items():
        for key, label in VARIANTS:
            run = op.get("variants", {}).get(key)
            if run is None:
                continue
            measured = "rps" in run
            latency = run.get("latency_ms", {})
            rows.append(
                [
                    name,
                    label,
                    number(run.get("rps")),
                    "1" if key == "floor" and measured else ratio(run.get("ratio_to_floor")),
                    number(latency.get("p50"), 2),
                    number(latency.get("p99"), 2),
                    number(run.get("cpu_us_per_request")),
                    "HTTP only" if key == "floor" and measured else _served_as(run),
                    _errors(run) if measured else MISSING,
                ]
            )
    headers = [
        "operation",
        "variant",
        "req/s",
        "ratio to floor",
        "p50 ms",
        "p99 ms",
        "CPU µs/req",
        "served as",
        "errors",
    ]
    return table(headers, rows, left=2)


def _skipped_variants(cache: Mapping[str, Any]) -> list[str]:
    notes = []
    for name, op in cache.get("operations", {}).items():
        for key, run in op.get("variants", {}).items():
            reason = run.get("skipped") or run.get("error")
            if reason:
                notes.append(f"{name} {key}: {reason}")
    return notes


def hit_ratio_line(hit: Mapping[str, Any] | None) -> str:
    if not hit:
        return "_hit ratio not measured_"
    if "skipped" in hit or "error" in hit:
        return f"Hit ratio: _{hit.get('skipped') or hit.get('error')}_"
    measured, cold, ideal = hit["measured"], hit["from_cold"], hit["ideal"]
    redis = (
        f", Redis {percent(measured['l2'])}; Redis answered"
        f" {percent(measured['l2_of_l1_misses'])} of L1's misses"
        if "Redis" in hit["levels"] and "not reachable" not in hit["levels"]
        else ""
    )
    line = (
        f"**Hit ratio**, {hit['operation']} with Zipf-skewed variables"
        f" ({number(hit['draws'])} draws, {number(hit['distinct_draws'])} distinct),"
        f" {hit['levels']}, from cold caches: **{percent(measured['overall'])}** of"
        f" {number(measured['lookups'])} lookups in the measured run (L1"
        f" {percent(measured['l1'])}{redis}),"
        f" {percent(cold['overall'])} counting the warm-up"
        f" ({number(hit['warmup_requests'])} requests). An unbounded cache would hit"
        f" {percent(ideal['measured'])} and {percent(ideal['from_cold'])} of the same draws."
    )
    if hit.get("wrapped"):
        line += " wrk went round the draws more than once: repeats inflate the ratio."
    return line


def document_cache_lines(cache: Mapping[str, Any]) -> str:
    lines = []
    for name, op in cache.get("operations", {}).items():
        cost = op.get("document_cache")
        if not cost:
            continue
        e2e = cost.get("end_to_end", {})
        lines.append(
            f"- {name}: prepared-document cache saves {number(cost['saving_us'])} µs per request"
            f" (parse + validate: {number(cost['parse_us'])} + {number(cost['validate_us'])} µs,"
            f" in-process); end to end, {number(e2e.get('rps_cached_document'))} req/s with the"
            f" document cached vs {number(e2e.get('rps_new_text'))} req/s with a new text every"
            f" request (server CPU {number(e2e.get('cpu_us_cached_document'))} vs"
            f" {number(e2e.get('cpu_us_new_text'))} µs/req: {number(e2e.get('cpu_us_saved'))} µs"
            " saved)"
        )
    return "\n".join(lines) if lines else "_not measured_"


def cache_section(cache: Mapping[str, Any] | None) -> list[str]:
    """The "Response cache" section: the table, the hit ratio, the parse/validate saving."""
    if not cache:
        return []
    parts = ["### Response cache"]
    if "skipped" in cache or "error" in cache:
        return [*parts, "_" + str(cache.get("skipped") or cache.get("error")) + "_"]
    parts += [
        "One fixed body per operation (its hottest Zipf draw) per run; the floor is"
        ' `/bench/floor` of that answer\'s size; "served as" is the `Vitrine-Cache`'
        " header of a probe right before the run.",
        cache_table(cache),
    ]
    skipped = _skipped_variants(cache)
    if skipped:
        parts.append("\n".join(f"- {note}" for note in skipped))
    parts += [
        hit_ratio_line(cache.get("hit_ratio")),
        "Parse and validation, skipped for every document already seen (free text, APQ or"
        " registered):",
        document_cache_lines(cache),
    ]
    return parts


def plans_served_table(plans: Mapping[str, Any]) -> str:
    """Per operation: the floor, graphql-core and the compiled plan, same persisted bodies."""
    rows = []
    for name, op in plans.get("operations", {}).items():
        for key, label in SERVED_RUNS:
            run = op.get("runs", {}).get(key)
            if not run:
                continue
            latency = run.get("latency_ms", {})
            rows.append(
                [
                    name,
                    label,
                    number(run.get("rps")),
                    "1" if key == "floor" else ratio(run.get("ratio_to_floor")),
                    ratio(op.get("compiled_over_reference")) if key == "compiled" else "",
                    number(latency.get("p50"), 2),
                    number(latency.get("p99"), 2),
                    number(run.get("p99_over_p50"), 2),
                    number(run.get("cpu_us_per_request")),
                    number(run.get("db_cpu_us_per_request")),
                    number((run.get("plan_counters") or {}).get("executions"))
                    if key != "floor"
                    else "",
                    _errors(run),
                ]
            )
    headers = [
        "operation",
        "executor",
        "req/s",
        "ratio to floor",
        "compiled / reference",
        "p50 ms",
        "p99 ms",
        "p99/p50",
        "CPU µs/req",
        "DB CPU µs/req",
        "plan executions",
        "errors",
    ]
    return table(headers, rows, left=2)


def plans_inmemory_table(inmemory: Mapping[str, Any]) -> str:
    runs = inmemory.get("runs", {})
    inprocess = inmemory.get("inprocess_us") or {}
    rows = []
    for key, label, _where, _path in INMEMORY_RUNS:
        run = runs.get(key)
        if run is None:
            continue
        if "rps" not in run:
            rows.append([label, f"_skipped: {run.get('skipped') or run.get('error')}_"] + [""] * 8)
            continue
        latency = run.get("latency_ms", {})
        rows.append(
            [
                label,
                number(run.get("rps")),
                "1" if key == "floor" else ratio(run.get("ratio_to_floor")),
                number(latency.get("p50"), 2),
                number(latency.get("p99"), 2),
                number(run.get("p99_over_p50"), 2),
                number(run.get("cpu_us_per_request")),
                number(inprocess.get(key), 1) if key != "floor" else "",
                number(run.get("response_bytes")),
                _errors(run),
            ]
        )
    headers = [
        "server",
        "req/s",
        "ratio to floor",
        "p50 ms",
        "p99 ms",
        "p99/p50",
        "CPU µs/req",
        "in-process µs/req",
        "response bytes",
        "errors",
    ]
    return table(headers, rows)


def _verdict(value: Any) -> str:
    return MISSING if value is None else ("met" if value else "**missed**")


def plans_targets_line(plans: Mapping[str, Any]) -> str:
    found = plans.get("targets") or {}
    runs = (plans.get("inmemory") or {}).get("runs", {})
    parts = []
    for key, label in (
        ("graphql_jit", "graphql-jit"),
        ("graphql_jit_fjs", "graphql-jit with fast-json-stringify"),
    ):
        run = runs.get(key) or {}
        if "rps" not in run:
            why = run.get("skipped") or run.get("error") or "not measured"
            parts.append(f"compiled ≥ {label}: not measured ({why})")
            continue
        parts.append(
            f"compiled ≥ {label}: {_verdict(found.get(f'compiled_at_least_{key}'))}"
            f" ({ratio(found.get(f'compiled_over_{key}'))}x its req/s;"
            f" in-process {ratio(found.get(f'inprocess_compiled_over_{key}'))}x its speed)"
        )
    parts.append(
        f"compiled p99 ≤ {P99_TARGET:g}x p50: {_verdict(found.get('compiled_p99_within_2x_p50'))}"
        f" (p99/p50 {number(found.get('compiled_p99_over_p50'), 2)})"
    )
    slow_tails = [
        f"{name} {number(op['runs']['compiled'].get('p99_over_p50'), 2)}x"
        for name, op in plans.get("operations", {}).items()
        if (op.get("runs", {}).get("compiled") or {}).get("p99_over_p50") is not None
        and op["runs"]["compiled"]["p99_over_p50"] > P99_TARGET
    ]
    line = "**Targets** (in memory): " + "; ".join(parts) + "."
    if slow_tails:
        line += f" Served operations with a compiled p99 above {P99_TARGET:g}x p50: " + ", ".join(
            slow_tails
        )
        line += "."
    return line


def plans_section(plans: Mapping[str, Any] | None) -> list[str]:
    """The "Compiled plans" section: served operations, the in-memory list, the targets."""
    if not plans:
        return []
    parts = ["### Compiled plans"]
    if "skipped" in plans or "error" in plans:
        return [*parts, "_" + str(plans.get("skipped") or plans.get("error")) + "_"]
    inmemory = plans.get("inmemory") or {}
    jit = inmemory.get("graphql_jit") or {}
    versions = (
        f"node {jit.get('node')}, graphql-jit {jit.get('graphql_jit')},"
        f" graphql-js {jit.get('graphql')}"
        if "skipped" not in jit
        else f"graphql-jit skipped: {jit['skipped']}"
    )
    parts += [
        "Persisted requests (APQ hash + the load phase's Zipf-drawn variables), 1 worker,"
        " response cache off; the reference server runs with `VITRINE_COMPILED_PLANS=false`."
        ' "plan executions" is the growth of `vitrine_plan_executions` over the run'
        " (warm-up included).",
        plans_served_table(plans),
        f"In memory: {number(inmemory.get('items'))} items of"
        f" {number(inmemory.get('fields_per_item'))} scalar fields"
        f" ({number(inmemory.get('fields'))} fields), no database; {versions}.",
        plans_inmemory_table(inmemory),
        '"in-process µs/req": the same request body answered without HTTP, in one process'
        " (JSON in, execute, JSON out; median of 15 batches of 100 after 1,000 warm-up calls,"
        " best of 3 passes taken in turns by Python and node):"
        " the executors alone, without the difference between the two HTTP stacks.",
        plans_targets_line(plans),
    ]
    return parts


def _ms(values: Mapping[str, Any] | None, key: str) -> str:
    return number((values or {}).get(key), 3)


def pricing_variants_table(pricing: Mapping[str, Any]) -> str:
    """One row per variant: the work per line, cold and warm times per cart, the target."""
    target = pricing.get("target_ms")
    rows = []
    for variant in (pricing.get("variants") or {}).values():
        warm = variant.get("warm_ms") or {}
        rows.append(
            [
                str(variant.get("label")),
                number(variant.get("candidates_per_line"), 1),
                number(variant.get("evaluated_per_line"), 2),
                number(variant.get("applied_per_line"), 2),
                _ms(variant.get("cold_ms"), "p50"),
                _ms(warm, "p50"),
                _ms(warm, "p90"),
                _ms(warm, "p99"),
                _ms(variant.get("warm_cpu_ms"), "p99"),
                number(variant.get("warm_us_per_line"), 1),
                percent((variant.get("predicates") or {}).get("hit_rate_from_cold")),
                _verdict(variant.get("meets_target")),
            ]
        )
    headers = [
        "variant",
        "candidates / line",
        "predicates evaluated / line",
        "applied / line",
        "cold p50 ms",
        "warm p50 ms",
        "warm p90 ms",
        "warm p99 ms",
        "warm CPU p99 ms",
        "warm µs / line",
        "predicate cache hits",
        f"< {number(target, 0)} ms",
    ]
    return table(headers, rows)


def pricing_stores_table(pricing: Mapping[str, Any]) -> str:
    """The as-served variant on other stores drawn the same way (other seeds)."""
    rows = [
        [
            str(store.get("seed")),
            number(store.get("store_wide")),
            number(store.get("candidates_per_line"), 1),
            number(store.get("evaluated_per_line"), 2),
            number(store.get("applied_per_line"), 2),
            _ms(store.get("cold_ms"), "p50"),
            _ms(store.get("warm_ms"), "p50"),
            _ms(store.get("warm_ms"), "p99"),
            _ms(store.get("warm_cpu_ms"), "p99"),
        ]
        for store in pricing.get("other_stores") or []
    ]
    headers = [
        "store seed",
        "filed under *",
        "candidates / line",
        "evaluated / line",
        "applied / line",
        "cold p50 ms",
        "warm p50 ms",
        "warm p99 ms",
        "warm CPU p99 ms",
    ]
    return table(headers, rows)


def pricing_inprocess_section(pricing: Mapping[str, Any] | None) -> list[str]:
    """The "Pricing engine" section: `price_cart` per 50-line cart, in-process."""
    if not pricing:
        return []
    parts = ["### Pricing engine (in-process)"]
    if "skipped" in pricing or "error" in pricing:
        return [*parts, "_" + str(pricing.get("skipped") or pricing.get("error")) + "_"]
    store = pricing.get("store") or {}
    kinds = ", ".join(f"{k} {number(v)}" for k, v in sorted((store.get("kinds") or {}).items()))
    compiled = pricing.get("compile_all") or {}
    page = pricing.get("product_page_us") or {}
    served = (pricing.get("variants") or {}).get("indexed") or {}
    warm = served.get("warm_ms") or {}
    target = pricing.get("target_ms")
    parts += [
        f"`engine.price_cart` on {number(pricing.get('cart_lines'))}-line carts (offers"
        f" loaded, seed {pricing.get('seed')}): one store of {number(store.get('promotions'))}"
        f" active promotions ({kinds}; {number(store.get('always'))} always,"
        f" {number(store.get('stackable'))} stackable; {number(store.get('store_wide'))} filed"
        f" under `*`, which the index cannot narrow), {number(store.get('products'))} products,"
        f" {number(store.get('categories'))} categories, {number(store.get('collections'))}"
        f" collections; {percent(pricing.get('segmented_viewers'))} of viewers in segments."
        " Cold: a fresh predicate cache per cart (compiling included); warm: one cache for"
        " all carts, after a pass over them; wall clock, and the thread's CPU time (a busy"
        " machine's preemptions land in the wall-clock tail, not in the CPU time).",
        pricing_variants_table(pricing),
        f"**Target** (< {number(target, 0)} ms per cart, warm median, as served):"
        f" {_verdict(served.get('meets_target'))} ({_ms(warm, 'p50')} ms, p99"
        f" {_ms(warm, 'p99')} ms). Compiling all {number(store.get('promotions'))} predicates:"
        f" {number(compiled.get('total_ms'), 1)} ms ({number(compiled.get('us_per_promotion'), 1)}"
        f" µs each). `product_page_price` (one line, quantity 1, warm): p50"
        f" {number(page.get('p50'), 1)} µs, p99 {number(page.get('p99'), 1)} µs.",
        "As served, on other stores drawn the same way:",
        pricing_stores_table(pricing),
    ]
    return parts


def dashboard_table(dashboard: Mapping[str, Any]) -> str:
    """One row per (creator, range): HTTP numbers beside the floor, and the statements."""
    rows = []
    for case in (dashboard.get("cases") or {}).values():
        graphql, floor = case["graphql"], case["floor"]
        latency = graphql["latency_ms"]
        inprocess = case.get("inprocess") or {}
        answer = case.get("answer") or {}
        rows.append(
            [
                f"{case['who']} {case['creator_id']}",
                case.get("range_label", case["range"]),
                number(graphql["rps"]),
                number(floor["rps"]),
                ratio(case["ratio_to_floor"]),
                number(latency["p50"], 2),
                number(latency["p99"], 2),
                number(graphql["cpu_us_per_request"]),
                number(graphql.get("db_cpu_us_per_request")),
                number(inprocess.get("statements")),
                number(inprocess.get("execute_us")),
                number(answer.get("orders")),
                number(case["response_bytes"]),
                _errors(graphql),
            ]
        )
    headers = [
        "creator",
        "range",
        "req/s",
        "floor req/s",
        "ratio to floor",
        "p50 ms",
        "p99 ms",
        "CPU µs/req",
        "DB CPU µs/req",
        "statements",
        "in-process execute µs",
        "orders in range",
        "response bytes",
        "errors",
    ]
    return table(headers, rows, left=2)


def dashboard_creators_line(dashboard: Mapping[str, Any]) -> str:
    creators = dashboard.get("creators") or {}
    largest = dashboard.get("largest_by_orders") or {}
    described = [
        f"{who} {c['creator_id']} (store {c['store_id']}, {number(c['orders'])} orders,"
        f" #{c['order_rank']} of {number(dashboard.get('creators_with_store'))} by orders)"
        for who, c in creators.items()
    ]
    verdict = (
        "the viral creator is also the largest by orders"
        if dashboard.get("viral_is_largest")
        else f"the largest by orders is {largest.get('creator_id')}"
        f" ({number(largest.get('orders'))} orders)"
    )
    return (
        f"Creators: {'; '.join(described)}; {verdict}. Each request carries that creator's"
        f" CREATOR token; response cache off. Ranges end at the dataset's now"
        f" ({dashboard.get('dataset_now')}); the default range is the server's last 7 days"
        f" (today {dashboard.get('server_today')}). Statements: in-process execution, as"
        " that creator; over HTTP the endpoint adds one (the viewer's segments)."
    )


def dashboard_section(dashboard: Mapping[str, Any] | None) -> list[str]:
    parts = ["### Creator dashboard (viral vs typical creator)"]
    if not dashboard:
        return [*parts, "_not measured_"]
    if "skipped" in dashboard or "error" in dashboard:
        return [*parts, "_" + str(dashboard.get("skipped") or dashboard.get("error")) + "_"]
    return [*parts, dashboard_creators_line(dashboard), dashboard_table(dashboard)]


def feeds_table(cases: Mapping[str, Any]) -> str:
    """One row per case: Feed per user and page, Trending per window."""
    rows = []
    for label, case in cases.items():
        graphql, floor = case["graphql"], case["floor"]
        latency = graphql["latency_ms"]
        inprocess = case.get("inprocess") or {}
        if case["operation"] == "Feed":
            what = f"Feed {case['who']} {case['user_id']}"
            detail = f"page {case['page']}"
        else:
            what = "Trending" + (" (engaged copy)" if label.endswith("-engaged") else "")
            detail = f"{case['window']}" + (
                f", {case['duration_s']:.3g} s" if case.get("duration_s") else ""
            )
        rows.append(
            [
                what,
                detail,
                number(graphql["rps"]),
                number(floor["rps"]),
                ratio(case["ratio_to_floor"]),
                number(latency["p50"], 2),
                number(latency["p99"], 2),
                number(graphql["cpu_us_per_request"]),
                number(graphql.get("db_cpu_us_per_request")),
                number(inprocess.get("statements")),
                number(inprocess.get("execute_us")),
                number(case.get("posts")),
                number(case["response_bytes"]),
                _errors(graphql),
            ]
        )
    headers = [
        "operation",
        "case",
        "req/s",
        "floor req/s",
        "ratio to floor",
        "p50 ms",
        "p99 ms",
        "CPU µs/req",
        "DB CPU µs/req",
        "statements",
        "in-process execute µs",
        "posts",
        "response bytes",
        "errors",
    ]
    return table(headers, rows, left=2)


def feeds_users_line(feeds: Mapping[str, Any]) -> str:
    users = feeds.get("users") or {}
    follows = feeds.get("follows") or {}
    walks = feeds.get("walks") or {}
    described = [
        f"{who} {u['user_id']} ({number(u['follows'])} follows,"
        f" {len(walks.get(who) or [])} pages walked)"
        for who, u in users.items()
    ]
    return (
        f"Users: {'; '.join(described)}, of {number(follows.get('users_following'))} users"
        f" with a follow (median {number(follows.get('median_follows'))}). Each Feed request"
        " carries that user's CUSTOMER token; Trending none; response cache off. The deep"
        " page is the last of the pages walked (at most 6). Statements: in-process execution"
        " as that user."
    )


def engagement_line(engagement: Mapping[str, Any] | None) -> str:
    if not engagement:
        return "_not measured_"
    if "error" in engagement or "skipped" in engagement:
        return "_" + str(engagement.get("error") or engagement.get("skipped")) + "_"
    ack, post = engagement.get("from_ack_ms") or {}, engagement.get("from_post_ms") or {}
    mutation = engagement.get("mutation_ms") or {}
    return (
        f"recordEngagement → counters changed in `post(id)` (no Vitrine-Min-Position,"
        f" projectors on, a copy of the dataset), {number(engagement.get('samples'))} samples"
        f" over {number(engagement.get('posts'))} posts: from the mutation's answer p50"
        f" {number(ack.get('p50'), 1)} ms, p99 {number(ack.get('p99'), 1)} ms, max"
        f" {number(ack.get('max'), 1)} ms; from its sending p50 {number(post.get('p50'), 1)} ms,"
        f" p99 {number(post.get('p99'), 1)} ms; the mutation itself p50"
        f" {number(mutation.get('p50'), 1)} ms; {number(engagement.get('timeouts'))} timeouts."
    )


def feeds_section(feeds: Mapping[str, Any] | None) -> list[str]:
    parts = ["### Feeds (2,000-follows vs typical user, trending, engagement delay)"]
    if not feeds:
        return [*parts, "_not measured_"]
    if "skipped" in feeds:
        return [*parts, "_" + str(feeds["skipped"]) + "_"]
    cases = dict(feeds.get("cases") or {})
    engagement = feeds.get("engagement") or {}
    if isinstance(engagement.get("trending"), Mapping):
        cases.update(engagement["trending"])
    if "error" in feeds:
        parts.append("_" + str(feeds["error"]) + "_")
    else:
        parts.append(feeds_users_line(feeds))
    if feeds.get("note"):
        parts.append(str(feeds["note"]))
    if cases:
        parts.append(feeds_table(cases))
    parts.append(engagement_line(engagement))
    return parts


def headline(results: Mapping[str, Any]) -> str:
    settings, machine = results["settings"], results["machine"]
    main = results["datasets"][settings["main_scale"]]
    workers = settings["workers"]
    return (
        f"{settings['main_scale']} dataset: {number(main['products'])} products,"
        f" {number(main['events'])} events · {workers} uvicorn worker{'s' if workers > 1 else ''}"
        f" · wrk {settings['threads']} threads, {settings['connections']} connections,"
        f" {settings['duration_s']:g} s after {settings['warmup_s']:g} s warm-up"
        f" · {machine['nproc']} cores ({machine['cpu_model']}), Python {machine['python']},"
        f" PostgreSQL {machine.get('postgres', '?')}"
    )


def render_markdown(results: Mapping[str, Any]) -> str:
    """The whole report: operations first, then the supporting sections."""
    parts = [f"## Vitrine bench {results['timestamp']}", headline(results)]
    only = results["settings"].get("only")
    if only == "pricing":
        parts += [
            "### Pricing over HTTP",
            operations_table(results),
            *pricing_inprocess_section(results.get("pricing")),
            "### In-process breakdown (medians)",
            inprocess_table(results.get("inprocess") or {}),
            "### Phases (seconds)",
            _phases(results),
        ]
        return _with_problems(parts, results)
    if only == "tracing":
        parts += [
            *tracing_section(results.get("tracing")),
            "### Phases (seconds)",
            _phases(results),
        ]
        return _with_problems(parts, results)
    if only == "security":
        parts += [
            *security_section(results.get("security")),
            "### Phases (seconds)",
            _phases(results),
        ]
        return _with_problems(parts, results)
    if only in ("dashboard", "feeds"):
        parts += [
            *(dashboard_section(results.get("dashboard")) if only == "dashboard" else []),
            *(feeds_section(results.get("feeds")) if only == "feeds" else []),
            "### Phases (seconds)",
            _phases(results),
        ]
        return _with_problems(parts, results)
    if only in ("cache", "plans"):
        parts += [
            *(cache_section(results.get("cache")) if only == "cache" else []),
            *(plans_section(results.get("plans")) if only == "plans" else []),
            "### Phases (seconds)",
            _phases(results),
        ]
        return _with_problems(parts, results)
    parts.append(operations_table(results))
    if results.get("not_served"):
        skipped = ", ".join(f"{name} ({why})" for name, why in results["not_served"].items())
        parts.append(f"Not benchmarked: {skipped}.")
    parts += cache_section(results.get("cache"))
    parts += plans_section(results.get("plans"))
    parts += pricing_inprocess_section(results.get("pricing"))
    parts += dashboard_section(results.get("dashboard"))
    parts += feeds_section(results.get("feeds"))
    projections = results.get("projections", {})
    parts += [
        "### Projections (seed and catch-up)",
        key_values(projections.get("seed")),
        "### Rebuild",
        key_values(projections.get("rebuild")),
        "### Freshness (event posted → visible in ProductPage)",
        key_values(results.get("freshness")),
        "### Memory (all server processes, under load)",
        memory_table(results),
        "### Scaling",
        scaling_tables(results.get("scaling", {})),
        "### In-process breakdown (medians)",
        inprocess_table(results.get("inprocess") or {}),
        "### Phases (seconds)",
        _phases(results),
    ]
    return _with_problems(parts, results)


def security_section(security: Mapping[str, Any] | None) -> list[str]:
    """The protections' overhead on ProductPage (bench.security)."""
    from bench.security import cost_line, security_table

    parts = ["### Protections on ProductPage (auth, rate limits, cost)"]
    if not security:
        return [*parts, "_not run_"]
    if "runs" not in security:
        return [*parts, "_" + str(security.get("error") or security.get("skipped")) + "_"]
    parts += [
        security_table(dict(security)),
        f"Medians of {security['rounds']} interleaved rounds; the baseline's rounds spread"
        f" {security['baseline_spread']}x (fastest / slowest): the noise to read the ratios"
        " against.",
    ]
    if security.get("cost_inprocess"):
        parts.append(cost_line(dict(security["cost_inprocess"])))
    return parts


def tracing_section(tracing: Mapping[str, Any] | None) -> list[str]:
    """Tracing off, sampled at 1 % and at 100 %, as ratios (bench.tracing)."""
    from bench.tracing import expected_line, target_lines, tracing_table

    parts = ["### Tracing overhead (off, 1 %, 100 % sampled; OTLP to a local sink)"]
    if not tracing:
        return [*parts, "_not run_"]
    if "operations" not in tracing:
        return [*parts, "_" + str(tracing.get("error") or tracing.get("skipped")) + "_"]
    return [
        *parts,
        tracing_table(tracing),
        f"Medians of {tracing['rounds']} interleaved rounds (servers' order rotated each round);"
        " ratios and CPU added are the medians of each round's against tracing off in the"
        f" same round. CategoryListing with `first: {tracing['listing_first']}`; sampler"
        f" `{tracing['sampler']}`. Sampled: traces the sink received of the requests the"
        " server answered (warm-ups included; wrk's completed plus one in flight per"
        " connection when it stopped).",
        *target_lines(tracing),
        *[line for line in [expected_line(tracing)] if line],
    ]


def _phases(results: Mapping[str, Any]) -> str:
    return " · ".join(f"{k} {v:g}" for k, v in results.get("phases_seconds", {}).items())


def _with_problems(parts: list[str], results: Mapping[str, Any]) -> str:
    if results.get("problems"):
        parts += ["### Problems", "\n".join(f"- {p}" for p in results["problems"])]
    return "\n\n".join(parts) + "\n"


def write_json(results: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    )
