"""The `vitrine` command line: serve, migrate, ingest, project, rebuild, seed, print."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from infra.auth_claims import ROLES
from infra.database import asyncpg_dsn, create_engine
from infra.embedded_postgres import EmbeddedPostgresError, embedded_postgres
from infra.keys_cli import keys
from infra.pq_cli import pq
from infra.progress import console, progress_bar
from infra.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from readmodels.segments.queries import SegmentDiffReport

T = TypeVar("T")


class CommandError(click.ClickException):
    """An error whose message tells the user what to do."""


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise CommandError(str(exc)) from exc


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database, or the embedded one under the data directory."""
    if settings.database_url:
        yield settings.database_url
        return
    try:
        with embedded_postgres(settings.data_dir) as url:
            yield url
    except EmbeddedPostgresError as exc:
        raise CommandError(str(exc)) from exc


def _run(coro: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro())  # type: ignore[arg-type]
    except OSError as exc:
        raise CommandError(
            f"cannot reach PostgreSQL ({exc}). Is it running, and is VITRINE_DATABASE_URL right?"
        ) from exc


async def _migrate(url: str) -> None:
    from readmodels.migrate import upgrade

    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@click.group()
def main() -> None:
    """Vitrine: a GraphQL read gateway for creator-commerce platforms."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default=None, help="Interface to bind (default VITRINE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default VITRINE_PORT).")
@click.option("--seed/--no-seed", default=None, help="Load demo data into an empty event log.")
def serve(host: str | None, port: int | None, seed: bool | None) -> None:
    """Migrate, seed on first run, catch projections up, and serve GraphQL."""
    import uvicorn

    from infra.api_key_wiring import service_key_notice
    from infra.app import create_app
    from infra.logging_setup import configure_logging

    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    seed = settings.seed_on_first_run if seed is None else seed
    with database_url(settings) as url:
        _run(lambda: _prepare(url, seed=seed))
        app = create_app(settings, database_url=url)
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(
            f"[bold green]Vitrine[/] serving on http://{bind_host}:{bind_port}/graphql"
            + (" (GraphiQL in your browser)" if settings.graphiql_enabled else "")
        )
        notice = service_key_notice(settings)
        if notice is not None:
            console.print(notice, soft_wrap=True)
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            loop="uvloop",
            http="httptools",
            access_log=False,  # ours is `vitrine.access` (VITRINE_ACCESS_LOG)
            log_level="warning",
            log_config=None,  # uvicorn's records go through our handler (infra/logging_setup.py)
            # The client address is ours to work out (VITRINE_TRUSTED_PROXIES, for rate
            # limits); uvicorn's own proxy handling would believe 127.0.0.1's X-Forwarded-For.
            proxy_headers=False,
        )


async def _prepare(url: str, *, seed: bool) -> None:
    from readmodels.demo.scales import SCALES
    from readmodels.eventlog.store import read_head

    await _migrate(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            head = await read_head(conn)
        if head == 0 and seed:
            console.print("Empty event log: loading the small demo world (first run only).")
            await _seed(engine, SCALES["small"])
        await _catch_up(engine)
    finally:
        await engine.dispose()


async def _seed(engine: Any, scale: Any) -> None:
    from readmodels.demo.seed import estimate_total, seed_demo

    with progress_bar() as progress:
        task = progress.add_task("appending demo events", total=estimate_total(scale))
        report = await seed_demo(
            engine,
            scale,
            now=datetime.now(UTC),
            on_progress=lambda n: progress.advance(task, n),
        )
        progress.update(task, total=report.events, completed=report.events)
    console.print(
        f"Appended {report.appended:,} of {report.events:,} events in {report.seconds:.1f}s"
    )


async def _catch_up(engine: Any) -> None:
    from infra.cache_wiring import batch_publisher
    from readmodels.eventlog.store import read_head
    from readmodels.projections import all_projections
    from readmodels.projector.checkpoints import read_checkpoints
    from readmodels.projector.runner import catch_up

    async with engine.connect() as conn:
        head = await read_head(conn)
        checkpoints = await read_checkpoints(conn)
    projections = all_projections()
    behind = sum(head - checkpoints.get(p.name, 0) for p in projections)
    if behind <= 0:
        return
    started = time.monotonic()
    url = engine.url.render_as_string(hide_password=False)
    # Running gateways may cache what these batches change: they must hear of it.
    async with batch_publisher(_settings(), asyncpg_dsn(url)) as publish:
        with progress_bar() as progress:
            task = progress.add_task("projecting read models", total=behind)

            def on_batch(outcome: Any) -> None:
                progress.advance(task, outcome.to_position - outcome.from_position)
                publish(outcome)

            await catch_up(engine, projections, on_batch=on_batch)
    console.print(f"Read models caught up in {time.monotonic() - started:.1f}s")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply Alembic migrations up to the newest revision."""
    settings = _settings()
    with database_url(settings) as url:
        _run(lambda: _migrate(url))
    console.print("Database is at the newest revision.")


@main.group()
def events() -> None:
    """The event log."""


@events.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=5000, show_default=True)
def events_import(file: Path, batch_size: int) -> None:
    """Append events from FILE (NDJSON, or a JSON array), validated first, all or nothing per batch.

    The whole file is validated before anything is appended, so a bad event
    stores nothing; a re-run after an interruption skips events already in
    the log (appends are idempotent by event id).
    """
    settings = _settings()
    with database_url(settings) as url:
        _run(lambda: _import(url, file, batch_size))


def _read_events(file: Path) -> Iterator[Any]:
    with file.open("rb") as handle:
        first = handle.read(1)
        while first and first.isspace():
            first = handle.read(1)
        handle.seek(0)
        if first == b"[":
            yield from orjson.loads(handle.read())
            return
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise CommandError(f"{file}:{number}: not valid JSON") from None


async def _import(url: str, file: Path, batch_size: int) -> None:
    from readmodels.eventlog.store import append_events
    from readmodels.events import validate_events

    await _migrate(url)
    total = 0
    problems: list[str] = []
    with progress_bar() as progress:
        task = progress.add_task("validating", total=None)
        batch: list[Any] = []
        for raw in _read_events(file):
            batch.append(raw)
            if len(batch) >= batch_size:
                problems += _problems(validate_events(batch)[1], total)
                total += len(batch)
                progress.advance(task, len(batch))
                batch = []
        problems += _problems(validate_events(batch)[1], total)
        total += len(batch)
        progress.update(task, total=total, completed=total)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CommandError(f"{file}: nothing imported, fix these events:\n  {shown}{more}")
    engine = create_engine(url)
    appended = 0
    try:
        with progress_bar() as progress:
            task = progress.add_task("appending", total=total)
            batch = []
            for raw in _read_events(file):
                batch.append(raw)
                if len(batch) >= batch_size:
                    appended += (await append_events(engine, validate_events(batch)[0])).appended
                    progress.advance(task, len(batch))
                    batch = []
            if batch:
                appended += (await append_events(engine, validate_events(batch)[0])).appended
                progress.advance(task, len(batch))
    finally:
        await engine.dispose()
    console.print(
        f"Appended {appended:,} new events ({total - appended:,} were already in the log)."
    )


def _problems(errors: list[Any], offset: int) -> list[str]:
    return [
        f"event {e.index + offset} (id {e.event_id}, type {e.event_type}): {e.field}: {e.message}"
        for e in errors
    ]


@main.group()
def projectors() -> None:
    """Projectors that keep read models fresh."""


@projectors.command("run")
def projectors_run() -> None:
    """Run every projection (safe on several machines: one leader per projection)."""
    from infra.cache_wiring import batch_publisher
    from infra.span_errors import record_error
    from infra.telemetry import build_tracing
    from readmodels.projections import all_projections
    from readmodels.projector.runner import ProjectorRunner

    settings = _settings()
    # Batch spans (`project <projection>`) go where the gateway's do (OTEL_* variables).
    tracing = build_tracing(settings)

    async def run(url: str) -> None:
        await _migrate(url)
        engine = create_engine(url)
        try:
            # Every committed batch's tags go to the gateways' caches (and the CDN).
            async with batch_publisher(settings, asyncpg_dsn(url)) as publish:
                runner = ProjectorRunner(
                    engine,
                    asyncpg_dsn(url),
                    all_projections(),
                    batch_size=settings.projector_batch_size,
                    poll_interval=settings.projector_poll_interval_ms / 1000,
                    listeners=[publish],
                    tracer=tracing.tracer,
                    record_error=record_error,
                )
                loop = asyncio.get_running_loop()
                import signal

                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, runner.stop)
                console.print("Projectors running; Ctrl-C to stop.")
                await runner.run()
        finally:
            await engine.dispose()

    try:
        with database_url(settings) as url:
            _run(lambda: run(url))
    finally:
        if tracing.provider is not None:
            tracing.provider.shutdown()  # export what is still queued


@projectors.command("status")
def projectors_status() -> None:
    """Each projection's checkpoint, the log's head, and the lag."""
    from rich.table import Table

    from readmodels.eventlog.store import read_head
    from readmodels.projections import all_projections
    from readmodels.projector.checkpoints import read_checkpoints
    from readmodels.segments.queries import segment_diff_report

    settings = _settings()

    async def status(
        url: str,
    ) -> tuple[int, dict[str, int], dict[str, Any], SegmentDiffReport]:
        from sqlalchemy import text

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                head = await read_head(conn)
                checkpoints = await read_checkpoints(conn)
                rows = await conn.execute(
                    text("SELECT name, updated_at FROM projection_checkpoints")
                )
                updated = {r.name: r.updated_at for r in rows}
                diff = await segment_diff_report(conn)
            return head, checkpoints, updated, diff
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        head, checkpoints, updated, diff = _run(lambda: status(url))
    table = Table(title=f"event log head: {head}")
    for column in ("projection", "checkpoint", "behind (events)", "last advanced"):
        table.add_column(column)
    for projection in all_projections():
        position = checkpoints.get(projection.name, 0)
        when = updated.get(projection.name)
        table.add_row(
            projection.name,
            str(position),
            str(head - position),
            when.isoformat(timespec="seconds") if when else "never",
        )
    console.print(table)
    console.print(segment_diff_line(diff))


def segment_diff_line(diff: SegmentDiffReport) -> str:
    """What segment diffing saved: the share of requested membership rows it skipped."""
    if diff.skipped_share is None:
        return "segment diffing: no CustomerSegmentsChanged projected yet"
    return (
        f"segment diffing: skipped {diff.rows_skipped:,} of {diff.rows_requested:,} "
        f"requested rows ({diff.skipped_share:.1%}) over {diff.events:,} events"
    )


@main.group()
def token() -> None:
    """Viewer tokens (bearer JWTs for /graphql)."""


@token.command("create")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="A role of the viewer; repeat for several (SERVICE stands alone).",
)
@click.option(
    "--sub",
    default=None,
    help="The customer id the token speaks for (default for a creator: the creator id).",
)
@click.option(
    "--ttl",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Seconds until the token expires.",
)
@click.option("--creator-id", default=None, help="The creator profile of a CREATOR viewer.")
@click.option(
    "--kid",
    default=None,
    help="Sign with this key of VITRINE_JWT_KEYS (named in the token's header).",
)
def token_create(
    roles: tuple[str, ...], sub: str | None, ttl: int, creator_id: str | None, kid: str | None
) -> None:
    """Print a token signed with this server's secret (VITRINE_JWT_SECRET, or the data
    directory's generated one in development; with `--kid`, that key of
    VITRINE_JWT_KEYS), for development and tests. A creator token (`--role
    CREATOR --creator-id ID`) carries `role` and `creator_id`; the token carries
    VITRINE_JWT_ISSUER and VITRINE_JWT_AUDIENCE when they are set."""
    from infra.app import jwt_secret
    from infra.auth import mint_token
    from infra.auth_wiring import signing_secret

    if sub is None:
        if creator_id is None:
            raise click.UsageError("Missing option '--sub'.")
        sub = creator_id
    if not sub.strip():
        raise CommandError("--sub: name the customer id the token speaks for")
    if creator_id is not None and "CREATOR" not in roles:
        raise CommandError("--creator-id needs --role CREATOR (only creators have a profile)")
    settings = _settings()
    try:
        secret = jwt_secret(settings) if kid is None else signing_secret(settings, kid)
    except SettingsError as exc:
        raise CommandError(str(exc)) from exc
    try:
        minted = mint_token(
            secret,
            sub=sub,
            roles=roles,
            ttl_seconds=ttl,
            creator_id=creator_id,
            kid=kid,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    sys.stdout.write(minted + "\n")


@main.group()
def readmodels() -> None:
    """Read models."""


@readmodels.command("rebuild")
@click.argument("name")
def readmodels_rebuild(name: str) -> None:
    """Replay the log into shadow tables for NAME and swap them in atomically."""
    from readmodels.projections import projection_named
    from readmodels.projector.rebuild import rebuild

    try:
        projection = projection_named(name)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    settings = _settings()

    async def run(url: str) -> None:
        from readmodels.eventlog.store import read_head

        await _migrate(url)
        engine = create_engine(url, statement_timeout_ms=600_000)
        try:
            async with engine.connect() as conn:
                head = await read_head(conn)
            started = time.monotonic()
            with progress_bar() as progress:
                task = progress.add_task(f"rebuilding {name}", total=head)
                report = await rebuild(
                    engine,
                    projection,
                    on_progress=lambda position, _n: progress.update(task, completed=position),
                )
                progress.update(task, total=report.position, completed=report.position)
            console.print(
                f"Rebuilt {name} from {report.events:,} events up to position {report.position}"
                f" in {time.monotonic() - started:.1f}s; swapped in atomically."
            )
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        _run(lambda: run(url))


@main.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@click.option("--scale", type=click.Choice(["small", "medium", "large"]), default="small")
@click.option("--project/--no-project", default=True, help="Catch read models up afterwards.")
def demo_seed(scale: str, project: bool) -> None:
    """Generate a deterministic creator-commerce world as events, through the ingest path."""
    from readmodels.demo.scales import SCALES

    settings = _settings()

    async def run(url: str) -> None:
        await _migrate(url)
        engine = create_engine(url)
        try:
            await _seed(engine, SCALES[scale])
            if project:
                await _catch_up(engine)
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        _run(lambda: run(url))


@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("print")
@click.option("--check", is_flag=True, help="Fail if schema/schema.graphql is out of date.")
def schema_print(check: bool) -> None:
    """Print the served schema as SDL into schema/schema.graphql (and to stdout)."""
    from schema.build import SDL_PATH, print_sdl

    sdl = print_sdl()
    if check:
        if not SDL_PATH.exists() or SDL_PATH.read_text() != sdl:
            raise CommandError("schema/schema.graphql is out of date: run `vitrine schema print`")
        console.print("schema/schema.graphql is up to date.")
        return
    SDL_PATH.write_text(sdl)
    sys.stdout.write(sdl)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Benchmark the server against its floor (from a source checkout; `vitrine bench --help`)."""
    try:
        from bench.cli import bench as bench_command
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.cli"):
            raise
        raise CommandError(
            "vitrine bench runs from a source checkout (bench/ is not installed)"
        ) from exc
    bench_command.main(args=list(args), prog_name="vitrine bench", standalone_mode=False)


main.add_command(pq)
main.add_command(keys)

if __name__ == "__main__":
    main()
