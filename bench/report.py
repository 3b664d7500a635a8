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
    parts = [
        f"## Vitrine bench {results['timestamp']}",
        headline(results),
        operations_table(results),
    ]
    if results.get("not_served"):
        skipped = ", ".join(f"{name} ({why})" for name, why in results["not_served"].items())
        parts.append(f"Not benchmarked: {skipped}.")
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
        " · ".join(f"{k} {v:g}" for k, v in results.get("phases_seconds", {}).items()),
    ]
    if results.get("problems"):
        parts += ["### Problems", "\n".join(f"- {p}" for p in results["problems"])]
    return "\n\n".join(parts) + "\n"


def write_json(results: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    )
