"""The benchmark suite: dataset, workload, load against the floor, scaling, and the rest.

Every number is taken on the same machine in the same run as its
reference: each operation right after the floor (`/bench/floor`, same
stack, same request body, a precomputed response of the operation's typical
size), so their ratio says what GraphQL and the read models cost on top of
HTTP, whatever the machine. The phases that mutate data (rebuild,
freshness) run on a throwaway copy of the dataset, so the cached dataset
stays exactly what its fingerprint says.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.cache_phase import CacheContext, measure_cache, redis_url
from bench.dataset import (
    NOW,
    Dataset,
    bench_server,
    call,
    database_name,
    drop_database,
    ensure_dataset,
    recreate_database,
    server_version,
)
from bench.load import LoadSettings, measure_load, require_wrk, write_bodies
from bench.plans_phase import PlansContext, measure_plans
from bench.procstats import machine_info
from bench.server import Server, check_answer, post_json, preflight, running_server
from bench.viewers import ratio
from bench.workload import (
    OWN_PHASE,
    SCALING_OPERATION,
    Body,
    Catalogue,
    Operation,
    discover_operations,
    distinct,
    generator_for,
    hottest_category,
    listing_body,
    load_pools,
    sample_requests,
    variant_requests,
)
from infra.progress import console, progress_bar

SCALING_FIRST = (12, 24, 48, 100)
INPROCESS_BODIES = 20
# `--only pricing`: the operations whose answers run the pricing engine (PriceCart, with
# its 50-line variant, and ProductPage, with its recommendations priced too).
PRICING_OPERATIONS = ("PriceCart", "ProductPage")
# `--only security`: the operation the edge's protections are measured on (bench.security).
SECURITY_OPERATIONS = ("ProductPage",)
# `--only tracing`: the operations tracing's cost is measured on (bench.tracing).
TRACING_OPERATIONS = ("CategoryListing", "ProductPage")
FRESHNESS_TOKEN = "bench-freshness-token"


class SuiteError(Exception):
    """The benchmark cannot produce trustworthy numbers (errors in responses, bad options)."""


@dataclass(frozen=True)
class SuiteOptions:
    """Everything `vitrine bench` lets you choose."""

    load: LoadSettings
    main_scale: str
    scales: tuple[str, ...]
    workers: int = 1
    quick: bool = False
    operations: tuple[str, ...] | None = None
    freshness: bool = True
    rebuild: bool = True
    cache_phase: bool = True
    plans_phase: bool = True
    pricing_phase: bool = True
    dashboard_phase: bool = True
    feeds_phase: bool = True
    # "cache", "plans", "pricing", "security" or "tracing": the dataset, the workload, that phase;
    # "dashboard", "feeds": the dataset and that phase (they draw no workload).
    only: str | None = None
    # `--only tracing`: another checkout whose server (tracing off) joins the rounds.
    baseline_checkout: Path | None = None
    freshness_samples: int = 200
    results_dir: Path = Path(__file__).resolve().parent / "results"
    data_dir: Path = Path(".vitrine")


@dataclass
class Run:
    """The state of one suite run: where it writes, and how long each phase took."""

    options: SuiteOptions
    stamp: str
    workdir: Path
    phases: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def logdir(self) -> Path:
        return self.options.results_dir / self.stamp

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        console.rule(f"[bold]{name}")
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(time.monotonic() - started, 1)


def run_suite(options: SuiteOptions) -> dict[str, Any]:
    """Run every phase and return the results (bench.report writes them out)."""
    require_wrk()
    catalogue, chosen = _operations(options)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "timestamp": stamp,
        "machine": machine_info(),
        "settings": _settings(options),
    }
    with (
        tempfile.TemporaryDirectory(prefix="vitrine-bench-") as tmp,
        bench_server(options.data_dir) as server_url,
    ):
        run = Run(options, stamp, Path(tmp))
        run.logdir.mkdir(parents=True, exist_ok=True)
        results["logs"] = str(run.logdir)
        results["machine"]["postgres"] = asyncio.run(server_version(server_url))
        with run.phase("dataset"):
            datasets = _datasets(server_url, options)
        main = datasets[options.main_scale]
        results["datasets"] = {name: asdict(d) for name, d in datasets.items()}
        results["projections"] = {"seed": main.stats}
        if options.only == "dashboard":
            results["not_served"] = catalogue.skipped
            results["dashboard"] = _dashboard(run, main, chosen, catalogue.skipped)
            results["phases_seconds"] = run.phases
            results["problems"] = run.problems
            return results
        if options.only == "feeds":
            results["not_served"] = catalogue.skipped
            results["feeds"] = _feeds(run, server_url, main, chosen, catalogue.skipped)
            results["phases_seconds"] = run.phases
            results["problems"] = run.problems
            return results
        with run.phase("workload"):
            requests = _workload(main, catalogue, chosen)
        results["not_served"] = catalogue.skipped
        if options.only == "cache":
            results["cache"] = _cache(run, main, chosen, requests)
        elif options.only == "plans":
            results["plans"] = _plans(run, main, chosen, requests)
        elif options.only == "pricing":
            _pricing_only(run, main, requests, results)
        elif options.only == "security":
            results["security"] = _security(run, main, requests)
        elif options.only == "tracing":
            results["tracing"] = _tracing(run, main, requests)
        else:
            _all_phases(run, server_url, datasets, catalogue, chosen, requests, results)
    results["phases_seconds"] = run.phases
    results["problems"] = run.problems
    return results


def _all_phases(
    run: Run,
    server_url: str,
    datasets: dict[str, Dataset],
    catalogue: Catalogue,
    chosen: list[Operation],
    requests: dict[str, list[Body]],
    results: dict[str, Any],
) -> None:
    """Load, scaling and cache, then the in-process breakdown and the mutating phases."""
    options = run.options
    main = datasets[options.main_scale]
    with running_server(main.url, run.logdir / "server.log", workers=options.workers) as server:
        results["server_pids"] = server.pids()
        with run.phase("preflight"):
            sizes = preflight(server, requests)
        with run.phase("load"):
            results["operations"] = _load(run, server, requests, sizes)
        with run.phase("scaling"):
            results["scaling"] = {"first": _scaling_first(run, server, main)}
    # After the load server has stopped: the cache and plans phases run servers of their own.
    results["cache"] = _cache(run, main, chosen, requests)
    results["plans"] = _plans(run, main, chosen, requests)
    results["dashboard"] = _dashboard(run, main, chosen, catalogue.skipped)
    results["feeds"] = _feeds(run, server_url, main, chosen, catalogue.skipped)
    with run.phase("scales"):
        results["scaling"]["scales"] = _scaling_scales(run, datasets, results["scaling"])
    with run.phase("inprocess"):
        results["inprocess"] = _inprocess(run, main, requests)
    results["pricing"] = _pricing(run)
    _mutating_phases(run, server_url, main, results)


def _pricing_only(
    run: Run, main: Dataset, requests: dict[str, list[Body]], results: dict[str, Any]
) -> None:
    """`--only pricing`: load on the pricing operations, their statements, the engine."""
    with running_server(main.url, run.logdir / "server.log", workers=run.options.workers) as server:
        results["server_pids"] = server.pids()
        with run.phase("preflight"):
            sizes = preflight(server, requests)
        with run.phase("load"):
            results["operations"] = _load(run, server, requests, sizes)
    with run.phase("inprocess"):
        results["inprocess"] = _inprocess(run, main, requests)
    results["pricing"] = _pricing(run)


def _pricing(run: Run) -> dict[str, Any]:
    """Promotion evaluation in-process: a 50-line cart, 1,000 promotions (bench.pricing)."""
    if not run.options.pricing_phase:
        return {"skipped": "--no-pricing-phase"}
    from bench.pricing import StoreSpec, measure_pricing

    spec = StoreSpec(heavy_carts=40, cold_carts=20) if run.options.quick else StoreSpec()
    with run.phase("pricing"), console.status("pricing: 50-line carts, 1,000 promotions"):
        return _guarded(run, "pricing phase", lambda: measure_pricing(spec))


def _cache(
    run: Run, main: Dataset, chosen: list[Operation], requests: dict[str, list[Body]]
) -> dict[str, Any]:
    """The response cache, APQ GETs and the prepared-document cache (bench.cache_phase)."""
    if not run.options.cache_phase:
        return {"skipped": "--no-cache-phase"}
    context = CacheContext(
        database_url=main.url,
        settings=run.options.load,
        workers=run.options.workers,
        scratch=run.workdir,
        logdir=run.logdir,
        redis_url=redis_url(),
        problems=run.problems,
    )
    with run.phase("cache"):
        return _guarded(run, "cache phase", lambda: measure_cache(context, chosen, requests))


def _security(run: Run, main: Dataset, requests: dict[str, list[Body]]) -> dict[str, Any]:
    """Auth, rate limits and cost analysis on ProductPage, each against the same run
    without them (bench.security)."""
    from bench.security import OPERATION, SecurityContext, configs, measure_security

    context = SecurityContext(
        database_url=main.url,
        redis_url=redis_url(),
        settings=run.options.load,
        scratch=run.workdir,
        logdir=run.logdir,
        workers=run.options.workers,
        rounds=2 if run.options.quick else 3,
    )
    runs = len(configs(context.redis_url)) * context.rounds

    def work() -> dict[str, Any]:
        with _ticking(f"{OPERATION}: protections on and off", runs, run.options) as tick:
            return measure_security(context, requests[OPERATION], tick)

    with run.phase("security"):
        return _guarded(run, "security phase", work)


def _tracing(run: Run, main: Dataset, requests: dict[str, list[Body]]) -> dict[str, Any]:
    """CategoryListing and ProductPage with tracing off, sampled at 1 % and at 100 %,
    exporting over OTLP to a local sink, in interleaved rounds (bench.tracing)."""
    from bench.baseline import open_checkout
    from bench.tracing import OPERATIONS, TracingContext, configs_for, measure_tracing

    missing = [name for name in OPERATIONS if name not in requests]
    if missing:
        return {"skipped": f"not drawn: {', '.join(missing)}"}
    checkout = run.options.baseline_checkout
    context = TracingContext(
        database_url=main.url,
        settings=run.options.load,
        scratch=run.workdir,
        logdir=run.logdir,
        workers=run.options.workers,
        rounds=5,
        baseline=None if checkout is None else open_checkout(checkout),
    )
    configs = configs_for(context.baseline)
    runs = len(configs) * len(OPERATIONS) * context.rounds

    def work() -> dict[str, Any]:
        labels = ", ".join(config.label for config in configs)
        with _ticking(labels, runs, run.options) as tick:
            return measure_tracing(context, requests, tick)

    with run.phase("tracing"):
        return _guarded(run, "tracing phase", work)


def _plans(
    run: Run, main: Dataset, chosen: list[Operation], requests: dict[str, list[Body]]
) -> dict[str, Any]:
    """Compiled plans against graphql-core, served and in memory (bench.plans_phase)."""
    if not run.options.plans_phase:
        return {"skipped": "--no-plans-phase"}
    context = PlansContext(
        database_url=main.url,
        settings=run.options.load,
        scratch=run.workdir,
        logdir=run.logdir,
        problems=run.problems,
    )
    with run.phase("plans"):
        return _guarded(run, "plans phase", lambda: measure_plans(context, chosen, requests))


def _dashboard(
    run: Run, main: Dataset, chosen: list[Operation], skipped: dict[str, str]
) -> dict[str, Any]:
    """CreatorDashboard for the viral and a typical creator, with creator tokens
    (bench.dashboard), on a server of its own."""
    from bench.dashboard import OPERATION, RUNS, DashboardContext, measure_dashboard

    if not run.options.dashboard_phase:
        return {"skipped": "--no-dashboard-phase"}
    operation = next((op for op in chosen if op.name == OPERATION), None)
    if operation is None:
        reason = skipped.get(OPERATION, "not among --operations")
        return {"skipped": f"{OPERATION}: {reason}"}
    context = DashboardContext(
        database_url=main.url,
        settings=run.options.load,
        scratch=run.workdir,
        logdir=run.logdir,
        dataset_now=NOW.date(),
        problems=run.problems,
        inprocess_rounds=50 if run.options.quick else 100,
    )
    log = run.logdir / "dashboard-server.log"

    def work() -> dict[str, Any]:
        with (
            running_server(main.url, log, workers=run.options.workers) as server,
            _ticking(f"{OPERATION}: floor + dashboard", RUNS, run.options) as tick,
        ):
            found = measure_dashboard(context, operation, server, tick)
            found["server_pids"] = server.pids()
            return found

    with run.phase("dashboard"):
        return _guarded(run, "dashboard phase", work)


def _feeds(
    run: Run, server_url: str, main: Dataset, chosen: list[Operation], skipped: dict[str, str]
) -> dict[str, Any]:
    """Feed (heaviest follower, typical user) and Trending on a server of its own, then
    the recordEngagement-to-counters delay on a throwaway copy with projectors (bench.feeds)."""
    from bench.feeds import (
        ENGAGED_RUNS,
        FEED,
        RUNS,
        TRENDING,
        FeedsContext,
        measure_engaged_trending,
        measure_engagement,
        measure_feeds,
    )

    if not run.options.feeds_phase:
        return {"skipped": "--no-feeds-phase"}
    served = {op.name: op.query for op in chosen}
    missing = [name for name in (FEED, TRENDING) if name not in served]
    if missing:
        reasons = ", ".join(f"{n}: {skipped.get(n, 'not among --operations')}" for n in missing)
        return {"skipped": reasons}
    context = FeedsContext(
        database_url=main.url,
        settings=run.options.load,
        scratch=run.workdir,
        logdir=run.logdir,
        problems=run.problems,
        inprocess_rounds=50 if run.options.quick else 100,
        engagement_samples=50 if run.options.quick else 200,
    )

    def load() -> dict[str, Any]:
        log = run.logdir / "feeds-server.log"
        with (
            running_server(main.url, log, workers=run.options.workers) as server,
            _ticking("Feed + Trending: floor + operation", RUNS, run.options) as tick,
        ):
            found = measure_feeds(context, served, server, tick)
            found["server_pids"] = server.pids()
            return found

    def engagement(url: str) -> dict[str, Any]:
        log = run.logdir / "feeds-engagement-server.log"
        with running_server(
            url, log, workers=run.options.workers, run_projectors=True, token=FRESHNESS_TOKEN
        ) as server:
            samples = context.engagement_samples
            with console.status(f"recordEngagement -> counters, {samples} samples"):
                found = dict(call(measure_engagement, server.url, url, samples=samples))
            with _ticking("Trending after the engagements", ENGAGED_RUNS, run.options) as tick:
                found["trending"] = measure_engaged_trending(context, served, server, url, tick)
            if found["timeouts"]:
                run.problems.append(
                    f"engagement: {found['timeouts']} of {samples} samples never showed"
                )
            return found

    with run.phase("feeds"):
        results = _guarded(run, "feeds phase", load)
    scratch = database_name(main.scale) + "_feeds_scratch"
    with run.phase("feeds engagement"):
        try:
            url = asyncio.run(
                recreate_database(server_url, scratch, template=database_name(main.scale))
            )
            results["engagement"] = _guarded(run, "feeds engagement", lambda: engagement(url))
        finally:
            asyncio.run(drop_database(server_url, scratch))
    return results


def _settings(options: SuiteOptions) -> dict[str, Any]:
    return {
        "quick": options.quick,
        "workers": options.workers,
        "connections": options.load.connections,
        "threads": options.load.threads,
        "duration_s": options.load.duration,
        "warmup_s": options.load.warmup,
        "wrk_timeout_s": options.load.timeout,
        "main_scale": options.main_scale,
        "scales": list(options.scales),
        "operations": list(options.operations) if options.operations else "all served",
        "freshness": options.freshness,
        "rebuild": options.rebuild,
        "cache_phase": options.cache_phase,
        "plans_phase": options.plans_phase,
        "pricing_phase": options.pricing_phase,
        "dashboard_phase": options.dashboard_phase,
        "feeds_phase": options.feeds_phase,
        "only": options.only,
        "baseline_checkout": (
            None if options.baseline_checkout is None else str(options.baseline_checkout)
        ),
        "freshness_samples": options.freshness_samples,
        "now": NOW.isoformat(),
        "uvicorn": "uvloop, httptools, no access log",
    }


def _datasets(server_url: str, options: SuiteOptions) -> dict[str, Dataset]:
    ordered = dict.fromkeys((options.main_scale, *options.scales))
    datasets = {}
    for scale in ordered:
        dataset = ensure_dataset(server_url, scale, on_status=console.print)
        console.print(
            f"{scale}: {dataset.products:,} products, {dataset.events:,} events"
            + (" (reused)" if dataset.reused else " (seeded now)")
        )
        datasets[scale] = dataset
    return datasets


def _operations(options: SuiteOptions) -> tuple[Catalogue, list[Operation]]:
    """The served queries (checked before any slow step, so a typo fails at once)."""
    from schema.build import build_schema

    catalogue = discover_operations(build_schema()._schema)
    names = options.operations
    if names is None and options.only == "pricing":
        names = PRICING_OPERATIONS
    if names is None and options.only == "security":
        names = SECURITY_OPERATIONS
    if names is None and options.only == "tracing":
        names = TRACING_OPERATIONS
    return catalogue, _choose(catalogue, names)


def _workload(
    main: Dataset, catalogue: Catalogue, chosen: list[Operation]
) -> dict[str, list[Body]]:
    """~10k Zipf-drawn bodies per operation, from the main dataset's rankings."""
    pools = asyncio.run(load_pools(main.url))
    requests = {}
    for operation in chosen:
        if operation.name in OWN_PHASE:
            catalogue.skipped[operation.name] = OWN_PHASE[operation.name]
            continue
        generator = generator_for(operation)
        if generator is None:
            catalogue.skipped[operation.name] = "no variables generator in bench/workload.py"
            continue
        requests[operation.name] = sample_requests(operation, generator, pools)
    requests.update(variant_requests([op for op in chosen if op.name in requests], pools))
    for name, bodies in requests.items():
        console.print(f"{name}: {len(bodies):,} bodies, {len(distinct(bodies)):,} distinct")
    for name, reason in catalogue.skipped.items():
        console.print(f"[dim]{name}: skipped, {reason}")
    if not requests:
        raise SuiteError("no operation left to benchmark")
    return requests


def _choose(catalogue: Catalogue, names: tuple[str, ...] | None) -> list[Operation]:
    if names is None:
        return catalogue.served
    served = {op.name: op for op in catalogue.served}
    chosen = []
    for name in names:
        if name in served:
            chosen.append(served[name])
        elif name in catalogue.skipped:
            raise SuiteError(f"--operations {name}: {catalogue.skipped[name]}")
        else:
            known = ", ".join(sorted([*served, *catalogue.skipped]))
            raise SuiteError(f"--operations {name}: no such operation (known: {known})")
    return chosen


def _measured(
    run: Run,
    server: Server,
    label: str,
    bodies: Path,
    request_path: str,
    tick: Callable[[float], None],
) -> dict[str, Any]:
    result = measure_load(
        server,
        settings=run.options.load,
        bodies=bodies,
        request_path=request_path,
        label=label,
        scratch=run.workdir,
        logdir=run.logdir,
        tick=tick,
    )
    if result["non_2xx"] or result["socket_errors"]:
        run.problems.append(
            f"{label}: {result['non_2xx']} non-2xx responses,"
            f" {result['socket_errors']} socket errors"
        )
    return result


@contextlib.contextmanager
def _ticking(
    description: str, runs: int, options: SuiteOptions
) -> Iterator[Callable[[float], None]]:
    """A progress bar over the planned seconds of `runs` warm-up + measured runs."""
    total = runs * (options.load.warmup + options.load.duration)
    with progress_bar() as progress:
        task = progress.add_task(description, total=total)
        yield lambda seconds: progress.advance(task, seconds)
        progress.update(task, completed=total)


def _load(
    run: Run, server: Server, requests: dict[str, list[Body]], sizes: dict[str, int]
) -> dict[str, Any]:
    """Per operation: the floor of its response size, then the operation itself."""
    results: dict[str, Any] = {}
    with _ticking("floor + operations", 2 * len(requests), run.options) as tick:
        for name, bodies in requests.items():
            path = run.workdir / f"{name}.bodies"
            write_bodies(path, bodies)
            floor = _measured(
                run, server, f"{name}-floor", path, f"/bench/floor?bytes={sizes[name]}", tick
            )
            graphql = _measured(run, server, name, path, "/graphql", tick)
            results[name] = {
                "response_bytes": sizes[name],
                "distinct_bodies": len(distinct(bodies)),
                "sample_variables": [b["variables"] for b in bodies[:3]],
                "graphql": graphql,
                "floor": floor,
                "ratio_to_floor": ratio(graphql["rps"], floor["rps"]),
                "cpu_ratio_to_floor": ratio(
                    graphql["cpu_us_per_request"], floor["cpu_us_per_request"]
                ),
            }
            console.print(
                f"{name}: {graphql['rps']:,.0f} req/s, floor {floor['rps']:,.0f} req/s"
                f" ({results[name]['ratio_to_floor']} of the floor)"
            )
    return results


def _listing_point(
    run: Run, server: Server, slug: str, first: int, label: str, tick: Callable[[float], None]
) -> dict[str, Any]:
    body = listing_body(slug, first)
    status, answer = post_json(f"{server.url}/graphql", orjson.dumps(body))
    check_answer(SCALING_OPERATION, body, status, answer)
    path = run.workdir / f"{label}.bodies"
    write_bodies(path, [body])
    result = _measured(run, server, label, path, "/graphql", tick)
    return {"first": first, "slug": slug, "response_bytes": len(answer), **result}


def _scaling_first(run: Run, server: Server, main: Dataset) -> list[dict[str, Any]]:
    """CategoryListing on the hottest category at each page size."""
    slug = asyncio.run(hottest_category(main.url))
    points = []
    with _ticking(f"{SCALING_OPERATION} by first", len(SCALING_FIRST), run.options) as tick:
        for first in SCALING_FIRST:
            points.append(_listing_point(run, server, slug, first, f"scaling-first-{first}", tick))
    return points


def _scaling_scales(
    run: Run, datasets: dict[str, Dataset], scaling: dict[str, Any]
) -> list[dict[str, Any]]:
    """CategoryListing (first=48) on each dataset of --scales, beside its size."""
    points = []
    at_48 = next(p for p in scaling["first"] if p["first"] == 48)
    for scale in run.options.scales:
        dataset = datasets[scale]
        if scale == run.options.main_scale:
            point = at_48
        else:
            slug = asyncio.run(hottest_category(dataset.url))
            log = run.logdir / f"server-{scale}.log"
            with (
                running_server(dataset.url, log, workers=run.options.workers) as server,
                _ticking(f"{SCALING_OPERATION} on {scale}", 1, run.options) as tick,
            ):
                point = _listing_point(run, server, slug, 48, f"scaling-{scale}", tick)
        points.append(
            {"scale": scale, "products": dataset.products, "events": dataset.events, **point}
        )
    return points


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A function of a sibling bench module that may not exist yet."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None
    function: Callable[..., Any] | None = getattr(found, name, None)
    return function


def _guarded(run: Run, label: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run an auxiliary measurement; its failure is reported, not fatal to the load results."""
    try:
        return work()
    except Exception as exc:
        run.problems.append(f"{label} failed: {type(exc).__name__}: {exc}")
        console.print(f"[bold red]{label} failed[/]: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _inprocess(run: Run, main: Dataset, requests: dict[str, list[Body]]) -> dict[str, Any]:
    breakdown = _optional("bench.inprocess", "breakdown")
    if breakdown is None:
        return {"skipped": "bench/inprocess.py is not there yet"}
    subset = {
        name: [
            {"query": b["query"], "variables": b["variables"]} for b in bodies[:INPROCESS_BODIES]
        ]
        for name, bodies in requests.items()
    }
    with console.status("in-process breakdown (parse, validate, execute, serialize)"):
        rows = _guarded(
            run, "in-process breakdown", lambda: dict(call(breakdown, main.url, subset))
        )
    for name, row in rows.items():
        if isinstance(row, dict) and row.get("errors"):
            run.problems.append(f"in-process {name}: {row['errors']}")
    return rows


def _mutating_phases(run: Run, server_url: str, main: Dataset, results: dict[str, Any]) -> None:
    """Rebuild and freshness, on a copy of the dataset that is dropped afterwards."""
    options = run.options
    rebuild = _optional("bench.projections", "measure_rebuild") if options.rebuild else None
    freshness = _optional("bench.freshness", "measure_freshness") if options.freshness else None
    results["projections"]["rebuild"] = (
        {"skipped": "--no-rebuild"}
        if not options.rebuild
        else {"skipped": "bench/projections.py has no measure_rebuild yet"}
    )
    results["freshness"] = (
        {"skipped": "--no-freshness"}
        if not options.freshness
        else {"skipped": "bench/freshness.py is not there yet"}
    )
    if rebuild is None and freshness is None:
        return
    scratch = database_name(main.scale) + "_scratch"
    with run.phase("scratch copy"):
        url = asyncio.run(
            recreate_database(server_url, scratch, template=database_name(main.scale))
        )
    try:
        if rebuild is not None:
            with run.phase("rebuild"):
                results["projections"]["rebuild"] = _guarded(
                    run, "rebuild", lambda: dict(call(rebuild, url))
                )
        if freshness is not None:
            with run.phase("freshness"):
                results["freshness"] = _guarded(
                    run, "freshness", lambda: _freshness(run, freshness, url)
                )
    finally:
        asyncio.run(drop_database(server_url, scratch))


def _freshness(run: Run, measure: Callable[..., Any], url: str) -> dict[str, Any]:
    log = run.logdir / "freshness-server.log"
    with running_server(url, log, workers=1, run_projectors=True, token=FRESHNESS_TOKEN) as server:
        return dict(
            call(
                measure,
                server.url,
                FRESHNESS_TOKEN,
                url,
                samples=run.options.freshness_samples,
            )
        )
