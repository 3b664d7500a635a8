"""`vitrine pq`: push, list and remove trusted documents (persisted-query manifests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
import orjson

from infra.progress import console

if TYPE_CHECKING:
    from persisted_queries.documents import StoredDocument
    from persisted_queries.store import DocumentStore

# Imports of persisted_queries, the schema and infra.cli happen inside the
# commands: infra.cli imports this module, and every other command starts faster.

T = TypeVar("T")

CLIENT_HELP = (
    "The client list (the apps' `apollographql-client-name`); default: the shared list,"
    " which every client may use."
)


@click.group()
def pq() -> None:
    """Persisted queries: trusted-document manifests for releases."""


@pq.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--client", default="", help=CLIENT_HELP)
def pq_push(file: Path, client: str) -> None:
    """Register the documents of FILE (Apollo's manifest, or a Relay/Codegen id map).

    Every document is parsed and validated against the served schema first;
    one problem refuses the whole manifest, naming the operation. Pushing the
    same manifest again changes nothing.
    """
    from infra import cli
    from infra.graphql_documents import validation_rules
    from persisted_queries.manifest import ManifestError
    from persisted_queries.plans.report import plan_report
    from persisted_queries.registration import push_manifest
    from persisted_queries.store import DocumentIdConflictError
    from schema.build import build_schema

    schema = build_schema()._schema
    raw = file.read_bytes()
    rules = validation_rules(introspection=cli._settings().introspection_enabled)

    async def push(url: str) -> str:
        await cli._migrate(url)
        async with _store(url) as store:
            result = await push_manifest(store, schema, raw, client_name=client, rules=rules)
        where = f"the list of client {client!r}" if client else "the shared list"
        plans = plan_report(schema, result.bodies)
        lines = [
            f"Registered {result.count} operations from {file.name} in {where}"
            f" ({result.added} new, {result.count - result.added} already registered).",
            f"{plans.compiled} operations run on compiled plans.",
        ]
        lines += [
            f"{name or '(anonymous)'} runs on the reference executor: {reason}"
            for name, reason in plans.fallbacks
        ]
        return "\n".join(lines)

    try:
        message = _with_database(push)
    except ManifestError as exc:
        raise _refused(file, [str(p) for p in exc.problems]) from exc
    except DocumentIdConflictError as exc:
        raise _refused(file, [exc.describe(d) for d in exc.conflicts]) from exc
    console.print(message, soft_wrap=True)


def _refused(file: Path, problems: list[str]) -> click.ClickException:
    from infra import cli

    return cli.CommandError(
        f"{file}: nothing registered, {len(problems)} problem(s):\n  " + "\n  ".join(problems)
    )


@pq.command("list")
@click.option("--client", default=None, help="Only this client list ('' for the shared one).")
@click.option("--apq", is_flag=True, help="List APQ registrations instead of manifest documents.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document on stdout.")
def pq_list(client: str | None, apq: bool, as_json: bool) -> None:
    """The registered documents: client list, operation, type, id, registration time."""
    from rich.table import Table

    from infra import cli
    from persisted_queries.documents import APQ, MANIFEST

    async def fetch(url: str) -> list[StoredDocument]:
        await cli._migrate(url)
        async with _store(url) as store:
            return await store.list_documents(client_name=client, source=APQ if apq else MANIFEST)

    documents = _with_database(fetch)
    if as_json:
        for d in documents:
            click.echo(orjson.dumps(d.summary()))
        return
    table = Table(title=f"{len(documents)} {'APQ' if apq else 'manifest'} documents")
    for column in ("client", "operation", "type", "id", "registered"):
        table.add_column(column)
    for d in documents:
        table.add_row(
            d.client_name or "(shared)",
            d.operation_name or "(anonymous)",
            d.operation_type or "",
            d.id,
            d.created_at.isoformat(timespec="seconds") if d.created_at else "",
        )
    console.print(table)


@pq.command("remove")
@click.argument("document_id")
@click.option("--client", default="", help=CLIENT_HELP)
def pq_remove(document_id: str, client: str) -> None:
    """Remove one document by id (other replicas stop serving it within 30 s)."""
    from infra import cli

    async def remove(url: str) -> bool:
        await cli._migrate(url)
        async with _store(url) as store:
            return await store.remove(document_id, client)

    if not _with_database(remove):
        where = f"the list of client {client!r}" if client else "the shared list"
        raise cli.CommandError(f"no document {document_id!r} in {where} (see `vitrine pq list`)")
    console.print(f"Removed {document_id}.", soft_wrap=True)


def _with_database(action: Callable[[str], Awaitable[T]]) -> T:
    from infra import cli

    settings = cli._settings()
    with cli.database_url(settings) as url:
        return cli._run(lambda: action(url))


@asynccontextmanager
async def _store(url: str) -> AsyncIterator[DocumentStore]:
    from infra import cli
    from infra.database import create_engine
    from infra.pq_wiring import redis_client
    from infra.readpool import ReadPool
    from persisted_queries.store import DocumentStore

    engine = create_engine(url)
    reads = ReadPool(url)
    redis = redis_client(cli._settings().redis_url)
    try:
        yield DocumentStore(engine, reads, redis=redis)
    finally:
        if redis is not None:
            await redis.aclose()
        await reads.close()
        await engine.dispose()
