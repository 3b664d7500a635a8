"""What tracing costs: tracing off, sampled at 1 %, sampled at 100 %, in one run.

Issue 10 asks for throughput with tracing off, sampled at 1 % and at 100 %,
as ratios in one run, with the target that 1 % sampling costs under 5 %.
Three servers on the same dataset stay up together, each with its own
environment and everything else equal (response cache, rate limits, access
log and trace page off, the same small pool):

- **off**: `OTEL_TRACES_EXPORTER=none`;
- **1 %**: OTLP export, `OTEL_TRACES_SAMPLER=traceidratio`, argument 0.01;
- **100 %**: the same, argument 1.0.

The traced servers export over OTLP/HTTP (protobuf) to a real receiver,
`bench.otlp_sink`, in a process of its own so that its CPU is not theirs,
with the batch span processor at the SDK's defaults (`OTEL_BSP_*` set
explicitly, so the environment the benchmark runs in cannot change them).
The exporter's thread runs inside the server, so its CPU is part of what a
traced request costs.

Two operations, each the load phase's Zipf-drawn bodies: **CategoryListing**
with `first: 20` (a resolver span per non-trivial field of 20 products and a
span per DataLoader batch: the most spans per request) and **ProductPage**.
The servers take turns in rounds, each round every operation on every
server, the servers' order rotated from one round to the next, so a machine
that gets busier, or the run that follows another, weighs on every
configuration alike. Each figure is the median over the rounds; the spread
of the off server's rounds is reported beside the ratios as the noise to
read them against. When every server has stopped (which flushes its
exporter), the sink's counts give each traced configuration's share of
requests sampled and the spans and bytes each sampled request exported.

"Off" is not free: it pays for what the observability work added to every
request (per-resolver timing, the SDK's provider whose sampler drops, in
place of the no-op tracer). With a baseline checkout (`--baseline-checkout
DIR`, bench.baseline) a fourth server, **before**, runs that checkout's code
with tracing off in the same rounds, and every configuration also gets its
ratios to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from bench.baseline import Checkout
from bench.load import LoadSettings, measure_load, run_wrk, write_bodies
from bench.server import Server, check_answer, post_json, preflight, running_server
from bench.viewers import ratio

OPERATIONS = ("CategoryListing", "ProductPage")
LISTING_FIRST = 20
# The batch span processor's defaults (OpenTelemetry SDK), spelled out.
BSP_DEFAULTS = {
    "OTEL_BSP_SCHEDULE_DELAY": "5000",
    "OTEL_BSP_MAX_QUEUE_SIZE": "2048",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
    "OTEL_BSP_EXPORT_TIMEOUT": "30000",
}
# Three servers stay up together: small pools keep them inside PostgreSQL's
# max_connections beside whatever else uses it; the same pool for each, so the
# ratios stay fair. The response cache, rate limits and the access log are
# already off on every bench server (bench.server.server_env).
COMMON = {
    "VITRINE_POOL_SIZE": "5",
    "VITRINE_POOL_MAX_OVERFLOW": "5",
    "VITRINE_RESPONSE_CACHE": "false",
    "VITRINE_RATE_LIMITS": "off",
    "VITRINE_ACCESS_LOG": "false",
    "VITRINE_TRACE_PAGE": "false",
}
# What the batch span processor and the exporter log when spans are lost.
LOSS_MARKERS = ("Queue is full", "Failed to export", "dropped")


class Config(NamedTuple):
    """One measured configuration: its key, label, its sampling ratio (None: tracing off)
    and the checkout whose code it runs (None: this one)."""

    key: str
    label: str
    ratio: float | None
    checkout: Checkout | None = None

    @property
    def service(self) -> str:
        """OTEL_SERVICE_NAME of its server: how the sink tells the servers' spans apart."""
        return f"vitrine-bench-{self.key}"

    def env(self, traces_endpoint: str) -> dict[str, str]:
        if self.ratio is None:
            return {**COMMON, "OTEL_TRACES_EXPORTER": "none", "OTEL_SERVICE_NAME": self.service}
        return {
            **COMMON,
            **BSP_DEFAULTS,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces_endpoint,
            "OTEL_TRACES_SAMPLER": "traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": f"{self.ratio:g}",
            "OTEL_SERVICE_NAME": self.service,
        }


CONFIGS = (
    Config("off", "tracing off", None),
    Config("sampled_1", "OTLP, 1 % sampled", 0.01),
    Config("sampled_100", "OTLP, 100 % sampled", 1.0),
)
BASELINE = CONFIGS[0].key
# The baseline checkout's server, when there is one (with tracing off, like BASELINE).
BEFORE = "before"


def configs_for(checkout: Checkout | None) -> tuple[Config, ...]:
    """The run's configurations: the baseline checkout's first, when there is one."""
    if checkout is None:
        return CONFIGS
    return (Config(BEFORE, checkout.label, None, checkout), *CONFIGS)


@dataclass
class TracingContext:
    """What the phase needs from the suite."""

    database_url: str
    settings: LoadSettings
    scratch: Path
    logdir: Path
    workers: int = 1
    rounds: int = 3
    baseline: Checkout | None = None


def listing_bodies(bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """CategoryListing's drawn bodies with `first` = LISTING_FIRST."""
    return [
        {**body, "variables": {**body.get("variables", {}), "first": LISTING_FIRST}}
        for body in bodies
    ]


def rotated(configs: Sequence[Config], round_number: int) -> list[Config]:
    """The servers' order in round `round_number` (1-based): the first one moves on each round."""
    start = (round_number - 1) % len(configs)
    return [*configs[start:], *configs[:start]]


def measure_tracing(
    context: TracingContext,
    requests: Mapping[str, Sequence[dict[str, Any]]],
    tick: Callable[[float], None],
) -> dict[str, Any]:
    """Per operation, each configuration's throughput and CPU per request (medians over
    the rounds) and its ratios to tracing off (and to the baseline checkout's server,
    when there is one); then what the sink received."""
    bodies = {
        name: listing_bodies(requests[name]) if name == "CategoryListing" else list(requests[name])
        for name in OPERATIONS
    }
    paths = {}
    for name, chosen in bodies.items():
        paths[name] = context.scratch / f"tracing-{name}.bodies"
        write_bodies(paths[name], chosen)
    configs = configs_for(context.baseline)
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    sent: dict[tuple[str, str], int] = {}
    answers: dict[tuple[str, str], bytes] = {}
    checked: dict[str, int | None] = {}
    from bench.otlp_sink import running_sink

    with running_sink(context.logdir / "tracing-otlp-sink.log") as sink:
        with contextlib.ExitStack() as stack:
            servers: dict[str, Server] = {}
            for config in configs:
                log = context.logdir / f"tracing-{config.key}-server.log"
                servers[config.key] = stack.enter_context(
                    running_server(
                        context.database_url,
                        log,
                        workers=context.workers,
                        extra=config.env(sink.traces_endpoint),
                        checkout=config.checkout,
                    )
                )
                checked[config.key] = servers[config.key].checkout_modules
            sizes = preflight(servers[BASELINE], bodies)
            for config in configs:
                for name, chosen in bodies.items():
                    answers[(config.key, name)] = _check(
                        servers[config.key], name, chosen[0], config
                    )
                    sent[(config.key, name)] = 1
            for number in range(1, context.rounds + 1):
                for name in OPERATIONS:
                    for config in rotated(configs, number):
                        run, requests_sent = _measured(
                            context,
                            servers[config.key],
                            paths[name],
                            f"{name}-{config.key}-{number}",
                            tick,
                        )
                        rounds.setdefault((config.key, name), []).append(run)
                        sent[(config.key, name)] += requests_sent
        # Every server has stopped: its exporter flushed what it still held.
        received = sink.stats()
    found = summarize(rounds, sizes, configs)
    found["export"] = exported(received, sent, configs)
    found["export_totals"] = {k: received[k] for k in ("posts", "bytes", "spans")}
    found["loss_warnings"] = {
        config.key: loss_warnings(context.logdir / f"tracing-{config.key}-server.log")
        for config in configs
    }
    if context.baseline is not None:
        found[BEFORE] = {
            "root": str(context.baseline.root),
            "sha": context.baseline.sha,
            "modified": context.baseline.dirty,
            "modules_checked": checked[BEFORE],
            "same_data_as_off": {
                name: _data(answers[(BEFORE, name)]) == _data(answers[(BASELINE, name)])
                for name in OPERATIONS
            },
        }
    found["unsampled_span"] = unsampled_span_us()
    return found


def _check(server: Server, name: str, body: dict[str, Any], config: Config) -> bytes:
    """One request must answer 200 without errors; its answer."""
    status, answer = post_json(f"{server.url}/graphql", orjson.dumps(body))
    check_answer(f"{name} ({config.key})", body, status, answer)
    return answer


def _data(answer: bytes) -> Any:
    """An answer's `data` (its `extensions` may differ between commits, the data should not)."""
    return orjson.loads(answer).get("data")


def _measured(
    context: TracingContext,
    server: Server,
    bodies: Path,
    label: str,
    tick: Callable[[float], None],
) -> tuple[dict[str, Any], int]:
    """A warm-up and a measured run; also how many requests the server answered in both
    (the sink's traces are compared with it): those wrk completed, plus one per
    connection for the request in flight when wrk stopped, which the server still
    answers (and traces)."""
    settings = context.settings
    in_flight = settings.connections
    warmed = 0
    if settings.warmup > 0:
        warmup = run_wrk(
            server.url,
            bodies=bodies,
            request_path="/graphql",
            settings=settings,
            seconds=settings.warmup,
            workdir=context.scratch,
            label=f"tracing-{label}-warmup",
            on_progress=tick,
        )
        _require_clean(label + " warm-up", warmup.non_2xx, warmup.socket_errors, context)
        warmed = warmup.requests + in_flight
    found = measure_load(
        server,
        settings=dataclasses.replace(settings, warmup=0),
        bodies=bodies,
        request_path="/graphql",
        label=f"tracing-{label}",
        scratch=context.scratch,
        logdir=context.logdir,
        tick=tick,
    )
    _require_clean(label, found["non_2xx"], found["socket_errors"], context)
    return found, warmed + int(found["requests"]) + in_flight


def _require_clean(label: str, non_2xx: int, socket_errors: int, context: TracingContext) -> None:
    if non_2xx or socket_errors:
        raise RuntimeError(
            f"tracing {label}: {non_2xx} non-2xx answers and {socket_errors} socket errors"
            f" under load; see {context.logdir}"
        )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summarize(
    rounds: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    sizes: Mapping[str, int],
    configs: Sequence[Config] = CONFIGS,
) -> dict[str, Any]:
    """Per operation: medians per configuration; its ratios to tracing off, each the
    median of the rounds' ratios (a round's runs are back to back, so pairing them
    cancels the machine's slower drifts), and the same to the baseline checkout's
    server when there is one; tracing off's own spread (fastest / slowest round)."""
    operations: dict[str, Any] = {}
    for name in OPERATIONS:
        runs: dict[str, dict[str, Any]] = {}
        for config in configs:
            measured = rounds[(config.key, name)]
            runs[config.key] = {
                "label": config.label,
                "rps": round(_median([r["rps"] for r in measured]), 1),
                "cpu_us_per_request": round(
                    _median([r["cpu_us_per_request"] or 0.0 for r in measured]), 1
                ),
                "p50_ms": round(_median([r["latency_ms"]["p50"] for r in measured]), 2),
                "p99_ms": round(_median([r["latency_ms"]["p99"] for r in measured]), 2),
                "rounds": list(measured),
            }
        off = rounds[(BASELINE, name)]
        before = rounds[(BEFORE, name)] if any(c.key == BEFORE for c in configs) else None
        for config in configs:
            run, measured = runs[config.key], rounds[(config.key, name)]
            run["ratio_to_off"] = _paired(measured, off, "rps")
            run["cpu_ratio_to_off"] = _paired(measured, off, "cpu_us_per_request")
            run["cpu_us_added"] = _added(measured, off)
            if before is not None:
                run["ratio_to_before"] = _paired(measured, before, "rps")
                run["cpu_ratio_to_before"] = _paired(measured, before, "cpu_us_per_request")
                run["cpu_us_added_to_before"] = _added(measured, before)
        spread = [r["rps"] for r in rounds[(BASELINE, name)]]
        operations[name] = {
            "response_bytes": sizes.get(name),
            "runs": runs,
            "off_spread": ratio(max(spread), min(spread)),
        }
        if before is not None:
            before_spread = [r["rps"] for r in before]
            operations[name]["before_spread"] = ratio(max(before_spread), min(before_spread))
    return {
        "operations": operations,
        "rounds": len(rounds[(BASELINE, OPERATIONS[0])]),
        "listing_first": LISTING_FIRST,
        "sampler": "traceidratio",
    }


def _added(measured: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]]) -> float:
    """The median over the rounds of the CPU µs per request added to `reference`'s."""
    return round(
        _median(
            [
                (r["cpu_us_per_request"] or 0.0) - (o["cpu_us_per_request"] or 0.0)
                for r, o in zip(measured, reference, strict=True)
            ]
        ),
        1,
    )


def _paired(
    measured: Sequence[Mapping[str, Any]], off: Sequence[Mapping[str, Any]], key: str
) -> float | None:
    """The median over the rounds of measured[key] / off[key] in the same round."""
    ratios = [ratio(r[key], o[key]) for r, o in zip(measured, off, strict=True)]
    known = [value for value in ratios if value is not None]
    return ratio(_median(known), 1.0) if known else None


def exported(
    received: Mapping[str, Any],
    sent: Mapping[tuple[str, str], int],
    configs: Sequence[Config] = CONFIGS,
) -> dict[str, dict[str, Any]]:
    """Per traced configuration and operation: requests sent, traces the sink received
    (share sampled) and spans and bytes per sampled request.

    Bytes are the sink's total split over spans evenly (a post mixes operations)."""
    per_span = received["bytes"] / received["spans"] if received["spans"] else 0.0
    traces = {(t["service"], t["operation"]): t for t in received["traces"]}
    found: dict[str, dict[str, Any]] = {}
    for config in configs:
        for name in OPERATIONS:
            requests = sent.get((config.key, name), 0)
            group = traces.get((config.service, name), {"traces": 0, "spans": 0})
            found.setdefault(config.key, {})[name] = {
                "requests": requests,
                "traces": group["traces"],
                "sampled_share": ratio(group["traces"], requests) or 0.0,
                "spans_per_trace": (
                    round(group["spans"] / group["traces"], 1) if group["traces"] else None
                ),
                "bytes_per_trace": (
                    round(group["spans"] * per_span / group["traces"]) if group["traces"] else None
                ),
            }
    orphans = [t for t in received["traces"] if t["operation"] not in OPERATIONS]
    if orphans:
        found["other"] = {"traces": orphans}
    return found


def loss_warnings(log_path: Path) -> int:
    """Lines of a server's log that say spans were dropped or an export failed."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if any(m in line for m in LOSS_MARKERS))


def tracing_table(found: Mapping[str, Any]) -> str:
    """The report's table: per operation, one row per configuration (medians); with a
    baseline checkout, three more columns: ratios and CPU added to its server."""
    before = any(
        "ratio_to_before" in run
        for operation in found["operations"].values()
        for run in operation["runs"].values()
    )
    extra_head = (
        " | ratio to before | CPU ratio to before | CPU µs added to before" if before else ""
    )
    rows = [
        "| operation | configuration | req/s | ratio to off | CPU µs/req | CPU ratio"
        f" | CPU µs added{extra_head} | p50 ms | p99 ms | sampled | spans / sampled req"
        " | bytes / sampled req |",
        "|---|---|" + "---:|" * (10 + (3 if before else 0)),
    ]
    export = found.get("export", {})
    for name, operation in found["operations"].items():
        for key, run in operation["runs"].items():
            sink = export.get(key, {}).get(name, {})
            sampled = (
                "-"
                if key in (BASELINE, BEFORE)
                else f"{sink.get('traces', 0):,} of {sink.get('requests', 0):,}"
            )
            spans = sink.get("spans_per_trace")
            size = sink.get("bytes_per_trace")
            extra = (
                f" | {run['ratio_to_before']} | {run['cpu_ratio_to_before']}"
                f" | {run['cpu_us_added_to_before']:,.0f}"
                if before
                else ""
            )
            rows.append(
                f"| {name} | {run['label']} | {run['rps']:,.0f} | {run['ratio_to_off']}"
                f" | {run['cpu_us_per_request']:,.0f} | {run['cpu_ratio_to_off']}"
                f" | {run['cpu_us_added']:,.0f}{extra} | {run['p50_ms']:.1f}"
                f" | {run['p99_ms']:.1f} | {sampled} | {'-' if spans is None else spans}"
                f" | {'-' if size is None else f'{size:,}'} |"
            )
    return "\n".join(rows)


def target_lines(found: Mapping[str, Any]) -> list[str]:
    """The issue's target (1 % sampling costs under 5 %), checked per operation, and the noise."""
    lines = []
    for name, operation in found["operations"].items():
        one = operation["runs"]["sampled_1"]
        rps_cost = 1 - (one["ratio_to_off"] or 0.0)
        cpu_cost = (one["cpu_ratio_to_off"] or 0.0) - 1
        verdict = "met" if rps_cost < 0.05 and cpu_cost < 0.05 else "NOT met"
        lines.append(
            f"{name}: 1 % sampling costs {rps_cost:.1%} of throughput and {cpu_cost:+.1%} CPU"
            f" per request (target under 5 %: {verdict}); tracing off's rounds spread"
            f" {operation['off_spread']}x (fastest / slowest)."
        )
    lines.extend(before_lines(found))
    lost = {k: v for k, v in found.get("loss_warnings", {}).items() if v}
    if lost:
        lines.append(f"Span loss or export failures logged: {lost}.")
    return lines


def before_lines(found: Mapping[str, Any]) -> list[str]:
    """With a baseline checkout: what tracing off costs against it, per operation, and
    whether its answers were the same as tracing off's (same data, same bytes)."""
    before = found.get(BEFORE)
    if not before:
        return []
    lines = [
        f"Before: commit {before['sha']}{' (modified)' if before['modified'] else ''} from"
        f" {before['root']}, tracing off; its server imported {before['modules_checked']}"
        " modules of ours, every one from that checkout; its first answer per operation"
        " had the same data as tracing off's: "
        + ", ".join(f"{name} {same}" for name, same in before["same_data_as_off"].items())
        + "."
    ]
    for name, operation in found["operations"].items():
        off = operation["runs"][BASELINE]
        rps_cost = 1 - (off["ratio_to_before"] or 0.0)
        cpu_cost = (off["cpu_ratio_to_before"] or 0.0) - 1
        lines.append(
            f"{name}: tracing off costs {rps_cost:.1%} of throughput and {cpu_cost:+.1%} CPU"
            f" per request ({off['cpu_us_added_to_before']:+,.0f} µs) against before;"
            f" before's rounds spread {operation.get('before_spread')}x."
        )
    return lines


def unsampled_span_us(iterations: int = 20_000, passes: int = 5) -> dict[str, float]:
    """What starting and ending the request's SERVER span costs when it is not sampled,
    in-process (best of `passes`, µs per request): the SDK's tracer with a ratio sampler
    that drops it, against the no-op tracer tracing off uses.

    With the 100 % row's CPU added, this gives what 1 % sampling should cost without
    the HTTP runs' noise: unsampled cost + 1 % of the sampled one."""
    import time

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
    from opentelemetry.trace import NoOpTracer, SpanKind, Tracer

    def timed(tracer: Tracer) -> float:
        best = float("inf")
        for _ in range(passes):
            started = time.perf_counter_ns()
            for _ in range(iterations):
                with tracer.start_as_current_span(
                    "query CategoryListing",
                    kind=SpanKind.SERVER,
                    attributes={
                        "graphql.operation.type": "query",
                        "graphql.operation.name": "CategoryListing",
                    },
                ) as span:
                    span.is_recording()
            best = min(best, (time.perf_counter_ns() - started) / iterations / 1000)
        return best

    dropping = TracerProvider(sampler=TraceIdRatioBased(0.0)).get_tracer("bench")
    noop, unsampled = timed(NoOpTracer()), timed(dropping)
    return {"noop_us": round(noop, 2), "unsampled_us": round(unsampled, 2)}


def expected_line(found: Mapping[str, Any]) -> str:
    """What 1 % sampling should cost per operation: the unsampled span plus 1 % of what
    a sampled request adds (the 100 % row), against tracing off's CPU per request."""
    spans = found.get("unsampled_span")
    if not spans:
        return ""
    added = spans["unsampled_us"] - spans["noop_us"]
    parts = []
    for name, operation in found["operations"].items():
        runs = operation["runs"]
        expected = added + 0.01 * runs["sampled_100"]["cpu_us_added"]
        share = expected / runs[BASELINE]["cpu_us_per_request"]
        parts.append(f"{name} {expected:.0f} µs ({share:.2%} of its CPU with tracing off)")
    return (
        f"In-process, an unsampled SERVER span costs {spans['unsampled_us']} µs against"
        f" {spans['noop_us']} µs with the no-op tracer of tracing off; with 1 % of the 100 %"
        f" row's CPU added, 1 % sampling should cost: {'; '.join(parts)}."
    )
