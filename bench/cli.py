"""`vitrine bench` / `python -m bench`: options in, results files and a markdown table out."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from bench.baseline import BaselineError, open_checkout
from bench.chart import ChartError, write_chart
from bench.dataset import DatasetError
from bench.load import LoadError, LoadSettings, require_wrk
from bench.report import render_markdown, write_json
from bench.server import PreflightError, ServerError
from bench.suite import SuiteError, SuiteOptions, run_suite
from infra.progress import console

SCALE_NAMES = ("small", "medium", "large")
ONLY_PHASES = ("cache", "plans", "pricing", "dashboard", "feeds", "security", "tracing")
# Per-request and start-up INFO lines would bury the progress bars.
QUIET_LOGGERS = ("httpx", "httpcore", "pgserver", "alembic")
FAILURES = (
    BaselineError,
    ChartError,
    DatasetError,
    LoadError,
    PreflightError,
    ServerError,
    SuiteError,
)


def _names(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    return names or None


def build_options(
    *,
    quick: bool,
    workers: int,
    connections: int,
    threads: int,
    duration: float | None,
    warmup: float | None,
    operations: str | None,
    scales: str | None,
    freshness: bool,
    rebuild: bool,
    cache_phase: bool = True,
    plans_phase: bool = True,
    only: str | None = None,
    pricing_phase: bool = True,
    dashboard_phase: bool = True,
    feeds_phase: bool = True,
    baseline_checkout: Path | None = None,
) -> SuiteOptions:
    """The suite's options from the command line, with --quick's shorter defaults."""
    if only == "cache" and not cache_phase:
        raise click.BadParameter("--only cache contradicts --no-cache-phase", param_hint="--only")
    if only == "plans" and not plans_phase:
        raise click.BadParameter("--only plans contradicts --no-plans-phase", param_hint="--only")
    if only == "pricing" and not pricing_phase:
        raise click.BadParameter(
            "--only pricing contradicts --no-pricing-phase", param_hint="--only"
        )
    if only == "dashboard" and not dashboard_phase:
        raise click.BadParameter(
            "--only dashboard contradicts --no-dashboard-phase", param_hint="--only"
        )
    if only == "feeds" and not feeds_phase:
        raise click.BadParameter("--only feeds contradicts --no-feeds-phase", param_hint="--only")
    if baseline_checkout is not None and only != "tracing":
        raise click.BadParameter(
            "only the tracing phase runs a baseline checkout (--only tracing)",
            param_hint="--baseline-checkout",
        )
    if connections < threads:
        raise click.BadParameter(
            "needs at least one connection per thread", param_hint="--connections"
        )
    main_scale = "small" if quick else "medium"
    chosen_scales = _names(scales) or (main_scale,)
    unknown = [s for s in chosen_scales if s not in SCALE_NAMES]
    if unknown:
        raise click.BadParameter(
            f"unknown scale {', '.join(unknown)} (known: {', '.join(SCALE_NAMES)})",
            param_hint="--scales",
        )
    load = LoadSettings(
        connections=connections,
        threads=threads,
        duration=duration if duration is not None else (3.0 if quick else 10.0),
        warmup=warmup if warmup is not None else (1.0 if quick else 3.0),
    )
    return SuiteOptions(
        load=load,
        main_scale=main_scale,
        scales=chosen_scales,
        workers=workers,
        quick=quick,
        operations=_names(operations),
        freshness=freshness,
        rebuild=rebuild,
        cache_phase=cache_phase,
        plans_phase=plans_phase,
        pricing_phase=pricing_phase,
        dashboard_phase=dashboard_phase,
        feeds_phase=feeds_phase,
        only=only,
        baseline_checkout=baseline_checkout,
        freshness_samples=50 if quick else 200,
        data_dir=Path(os.environ.get("VITRINE_DATA_DIR") or ".vitrine"),
    )


@click.command("bench")
@click.option("--quick", is_flag=True, help="Small dataset and short runs: a smoke check.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="uvicorn worker processes.",
)
@click.option(
    "--connections",
    type=click.IntRange(1),
    default=32,
    show_default=True,
    help="wrk connections kept open.",
)
@click.option(
    "--threads", type=click.IntRange(1), default=2, show_default=True, help="wrk threads."
)
@click.option(
    "--duration",
    type=click.FloatRange(1),
    default=None,
    help="Seconds per measured run [default: 10, --quick 3].",
)
@click.option(
    "--warmup",
    type=click.FloatRange(0),
    default=None,
    help="Seconds of warm-up before each run [default: 3, --quick 1].",
)
@click.option(
    "--operations",
    default=None,
    metavar="A,B",
    help="Only these operations [default: every served query].",
)
@click.option(
    "--scales",
    default=None,
    metavar="small,medium",
    help="Datasets of the scaling curve [default: the main one; large takes long to seed].",
)
@click.option("--freshness/--no-freshness", default=True, help="Measure event-to-read freshness.")
@click.option("--rebuild/--no-rebuild", default=True, help="Measure a full catalog rebuild.")
@click.option(
    "--cache-phase/--no-cache-phase",
    default=True,
    help="Measure the response cache, APQ GETs and the prepared-document cache.",
)
@click.option(
    "--plans-phase/--no-plans-phase",
    default=True,
    help="Measure compiled plans against graphql-core (served, and a 400-field list in memory).",
)
@click.option(
    "--pricing-phase/--no-pricing-phase",
    default=True,
    help="Measure promotion evaluation in-process (50-line carts, 1,000 promotions).",
)
@click.option(
    "--dashboard-phase/--no-dashboard-phase",
    default=True,
    help="Measure CreatorDashboard for the viral and a typical creator, with creator tokens.",
)
@click.option(
    "--feeds-phase/--no-feeds-phase",
    default=True,
    help="Measure Feed (2,000-follows vs typical user), Trending and the engagement delay.",
)
@click.option(
    "--only",
    type=click.Choice(ONLY_PHASES),
    default=None,
    help="Run only this phase (after the dataset and workload it needs).",
)
@click.option(
    "--baseline-checkout",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="With --only tracing: also run this checkout's code (an older commit) with tracing"
    " off in the same rounds, as the 'before' row.",
)
def bench(
    quick: bool,
    workers: int,
    connections: int,
    threads: int,
    duration: float | None,
    warmup: float | None,
    operations: str | None,
    scales: str | None,
    freshness: bool,
    rebuild: bool,
    cache_phase: bool,
    plans_phase: bool,
    pricing_phase: bool,
    dashboard_phase: bool,
    feeds_phase: bool,
    only: str | None,
    baseline_checkout: Path | None,
) -> None:
    """Benchmark Vitrine against its floor: writes bench/results/<timestamp>.json and .png."""
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    options = build_options(
        quick=quick,
        workers=workers,
        connections=connections,
        threads=threads,
        duration=duration,
        warmup=warmup,
        operations=operations,
        scales=scales,
        freshness=freshness,
        rebuild=rebuild,
        cache_phase=cache_phase,
        plans_phase=plans_phase,
        only=only,
        pricing_phase=pricing_phase,
        dashboard_phase=dashboard_phase,
        feeds_phase=feeds_phase,
        baseline_checkout=baseline_checkout,
    )
    try:
        if options.baseline_checkout is not None:
            open_checkout(options.baseline_checkout)  # before the dataset and the workload
        require_wrk()
        _require_matplotlib()
        results = run_suite(options)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from exc
    stem = options.results_dir / results["timestamp"]
    json_path, png_path = stem.with_suffix(".json"), stem.with_suffix(".png")
    write_json(results, json_path)
    write_chart(results, png_path)
    sys.stdout.write(render_markdown(results))
    sys.stdout.flush()
    console.print(f"Results: {_shown(json_path)}, chart: {_shown(png_path)}, logs: {_shown(stem)}/")
    if results["problems"]:
        raise click.ClickException("results written, but: " + "; ".join(results["problems"]))


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ChartError(
            "matplotlib is missing: pip install -e '.[bench]' (make bench does it)"
        ) from exc


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
