"""`vitrine keys`: create, list, revoke service API keys and rotate their signing secrets.

A key and a signing secret are printed once, on stdout (so a script can
capture them), with a warning on stderr: only the key's hash is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import click
import orjson

from infra.progress import console

if TYPE_CHECKING:
    from infra.api_keys.store import ApiKeyStore, StoredKey

T = TypeVar("T")

NOT_SHOWN_AGAIN = (
    "[bold yellow]Store {what} now: {it} will not be shown again.[/] Vitrine keeps only the"
    " key's SHA-256{and_secret}; a lost key is replaced, not recovered"
    " (`vitrine keys create`, then `vitrine keys revoke {id}`)."
)


@click.group()
def keys() -> None:
    """Service API keys for POST /events (scope events) and /admin (scope admin)."""


@keys.command("create")
@click.option("--name", required=True, help="Who uses the key, e.g. the service's name.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["events", "admin"]),
    help="events: POST /events; admin: /admin/persisted-queries. Repeat for both.",
)
@click.option(
    "--signing/--no-signing",
    default=True,
    show_default=True,
    help="Every request must be HMAC-signed (always so for the events scope).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the key as one JSON object.")
def keys_create(name: str, scopes: tuple[str, ...], signing: bool, as_json: bool) -> None:
    """Create a key and print it (and its signing secret) once."""
    from infra import cli
    from infra.api_keys.keys import check_name, check_scopes

    try:  # before anything touches the database
        check_name(name)
        check_scopes(scopes, signing=signing)
    except ValueError as exc:
        raise cli.CommandError(str(exc)) from exc

    async def create(store: ApiKeyStore) -> tuple[str, str, str | None]:
        created = await store.create(name, scopes, signing=signing)
        return created.id, created.key, created.signing_secret

    try:
        key_id, key, secret = _with_store(create)
    except ValueError as exc:
        raise cli.CommandError(str(exc)) from exc
    if as_json:
        click.echo(orjson.dumps({"id": key_id, "key": key, "signingSecret": secret}))
    else:
        click.echo(f"id:             {key_id}")
        click.echo(f"key:            {key}")
        if secret is not None:
            click.echo(f"signing secret: {secret}")
    console.print(
        NOT_SHOWN_AGAIN.format(
            what="the key and its signing secret" if secret else "the key",
            it="they" if secret else "it",
            and_secret=" (and the signing secret, to verify signatures)" if secret else "",
            id=key_id,
        ),
        soft_wrap=True,
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key on stdout.")
def keys_list(as_json: bool) -> None:
    """Every key: id, name, scopes, signing, created, revoked, last used (never a secret)."""
    from rich.table import Table

    async def fetch(store: ApiKeyStore) -> list[StoredKey]:
        return await store.list_keys()

    found = _with_store(fetch)
    if as_json:
        for key in found:
            click.echo(orjson.dumps(_summary(key)))
        return
    table = Table(title=f"{len(found)} API keys")
    table.add_column("id", no_wrap=True)
    for column in ("name", "scopes", "signing"):
        table.add_column(column)
    for column in ("created", "revoked", "last used"):
        table.add_column(column, overflow="fold")
    for key in found:
        summary = _summary(key)
        table.add_row(
            key.id,
            key.name,
            ", ".join(key.scopes),
            _signing(key),
            str(summary["created"]),
            str(summary["revoked"] or ""),
            str(summary["lastUsed"] or "never"),
        )
    console.print(table)


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke the key KEY_ID: refused by every server within VITRINE_API_KEY_CACHE_SECONDS."""
    with _explained(key_id, when_revoked="nothing to do"):
        revoked_at = _with_store(lambda store: store.revoke(key_id))
    console.print(f"Revoked {key_id} at {_utc(revoked_at)}.", soft_wrap=True)


@keys.command("rotate-secret")
@click.argument("key_id")
@click.option(
    "--retire-old",
    is_flag=True,
    help="Retire the key's other secrets at once (a leaked secret); by default they stay"
    " valid until `vitrine keys retire-secrets`, so clients can switch over.",
)
def keys_rotate_secret(key_id: str, retire_old: bool) -> None:
    """Add a signing secret to KEY_ID and print it once."""
    with _explained(key_id, when_revoked="create a new key instead"):
        secret = _with_store(lambda store: store.rotate_secret(key_id, retire_old=retire_old))
    click.echo(f"signing secret: {secret}")
    if retire_old:
        older = "the key's older secrets are retired"
    else:
        older = (
            "the older secrets stay valid: once every client signs with the new one, run"
            f" `vitrine keys retire-secrets {key_id}`"
        )
    console.print(
        "[bold yellow]Store the signing secret now: it will not be shown again.[/] Servers"
        f" accept it within VITRINE_API_KEY_CACHE_SECONDS; {older}.",
        soft_wrap=True,
    )


@keys.command("retire-secrets")
@click.argument("key_id")
def keys_retire_secrets(key_id: str) -> None:
    """Retire every signing secret of KEY_ID but the newest (the end of a rotation)."""
    with _explained(key_id, when_revoked="its secrets verify nothing any more"):
        retired = _with_store(lambda store: store.retire_old_secrets(key_id))
    console.print(
        f"Retired {retired} signing secret{'s' if retired != 1 else ''} of {key_id}"
        " (servers refuse them within VITRINE_API_KEY_CACHE_SECONDS).",
        soft_wrap=True,
    )


@contextmanager
def _explained(key_id: str, *, when_revoked: str) -> Iterator[None]:
    """Store errors about KEY_ID as messages that say what to do."""
    from infra import cli
    from infra.api_keys.store import KeyNotFoundError, KeyRevokedError

    try:
        yield
    except KeyNotFoundError as exc:
        raise cli.CommandError(f"no API key {key_id!r} (see `vitrine keys list`)") from exc
    except KeyRevokedError as exc:
        raise cli.CommandError(f"{exc}: {when_revoked}") from exc


def _summary(key: StoredKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": list(key.scopes),
        "signingRequired": key.signing_required,
        "signingSecrets": len(key.signing_secrets),
        "created": _utc(key.created_at),
        "revoked": _utc(key.revoked_at) if key.revoked_at else None,
        "lastUsed": _utc(key.last_used_at) if key.last_used_at else None,
    }


def _signing(key: StoredKey) -> str:
    count = len(key.signing_secrets)
    secrets = f"{count} secret{'s' if count != 1 else ''}"
    return f"required, {secrets}" if key.signing_required else f"optional, {secrets}"


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_store(action: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    from infra import cli

    settings = cli._settings()

    async def run(url: str) -> T:
        await cli._migrate(url)
        async with _store(url) as store:
            return await action(store)

    with cli.database_url(settings) as url:
        return cli._run(lambda: run(url))


@asynccontextmanager
async def _store(url: str) -> AsyncIterator[ApiKeyStore]:
    from infra.api_keys.store import ApiKeyStore
    from infra.database import create_engine

    engine = create_engine(url)
    try:
        yield ApiKeyStore(engine)
    finally:
        await engine.dispose()
