"""`vitrine keys` run as a user would, against a real database."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from infra.api_keys.store import ApiKeyStore
from infra.database import create_engine

pytestmark = pytest.mark.e2e

KEY = re.compile(r"^key: +(vk_([0-9a-f]{16})_[A-Za-z0-9_-]{43})$", re.MULTILINE)
SECRET = re.compile(r"^signing secret: +(vsig_[A-Za-z0-9_-]{43})$", re.MULTILINE)


def vitrine(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VITRINE_DATABASE_URL": database_url,
        "VITRINE_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "keys", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_create_prints_the_key_and_secret_once_and_stores_the_hash(
    database_url: str, tmp_path: Path
) -> None:
    """create prints key and signing secret on stdout with a warning; only the hash is stored."""
    made = vitrine(database_url, tmp_path, "create", "--name", "billing", "--scope", "events")
    assert made.returncode == 0, made.stderr
    key_match = KEY.search(made.stdout)
    secret_match = SECRET.search(made.stdout)
    assert key_match is not None, made.stdout
    assert secret_match is not None, made.stdout
    key, key_id = key_match.group(1), key_match.group(2)
    assert made.stdout.splitlines()[0] == f"id:             {key_id}"
    assert "Store the key and its signing secret now: they will not be shown again." in " ".join(
        made.stderr.split()
    )
    engine = create_engine(database_url)
    try:
        stored = await ApiKeyStore(engine).find(key_id)
    finally:
        await engine.dispose()
    assert stored is not None
    assert (stored.name, stored.scopes, stored.signing_required) == ("billing", ("events",), True)
    assert stored.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert stored.signing_secrets == (secret_match.group(1),)


def test_list_shows_keys_but_never_a_secret(database_url: str, tmp_path: Path) -> None:
    """list names every key with its scopes and state, and prints no key or signing secret."""
    made = vitrine(
        database_url, tmp_path, "create", "--name", "deploys", "--scope", "admin", "--json"
    )
    created = orjson.loads(made.stdout)
    assert created["signingSecret"].startswith("vsig_")
    listed = vitrine(database_url, tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (summary,) = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert {k: v for k, v in summary.items() if k != "created"} == {
        "id": created["id"],
        "name": "deploys",
        "scopes": ["admin"],
        "signingRequired": True,
        "signingSecrets": 1,
        "revoked": None,
        "lastUsed": None,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", summary["created"])
    table = vitrine(database_url, tmp_path, "list")
    assert created["id"] in table.stderr
    assert "deploys" in table.stderr
    for shown in (listed.stdout + table.stdout + table.stderr,):
        assert created["key"] not in shown
        assert created["key"].split("_", 2)[2] not in shown
        assert created["signingSecret"] not in shown


def test_revoke_marks_the_key_and_explains_mistakes(database_url: str, tmp_path: Path) -> None:
    """revoke stamps the key; revoking it again or an unknown id fails, saying what to do."""
    made = vitrine(
        database_url, tmp_path, "create", "--name", "ingest", "--scope", "events", "--json"
    )
    key_id = orjson.loads(made.stdout)["id"]
    revoked = vitrine(database_url, tmp_path, "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert re.search(rf"Revoked {key_id} at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.", revoked.stderr)
    (summary,) = [
        orjson.loads(line)
        for line in vitrine(database_url, tmp_path, "list", "--json").stdout.splitlines()
    ]
    assert summary["revoked"] is not None
    again = vitrine(database_url, tmp_path, "revoke", key_id)
    assert again.returncode == 1
    assert f"Error: key {key_id} was revoked at " in again.stderr
    assert ": nothing to do" in again.stderr
    unknown = vitrine(database_url, tmp_path, "revoke", "0000000000000000")
    assert unknown.returncode == 1
    assert "Error: no API key '0000000000000000' (see `vitrine keys list`)" in unknown.stderr
    rotate = vitrine(database_url, tmp_path, "rotate-secret", key_id)
    assert rotate.returncode == 1
    assert ": create a new key instead" in rotate.stderr


def test_create_refuses_what_no_request_could_use(database_url: str, tmp_path: Path) -> None:
    """An events key without signing, an unknown scope or a blank name is refused; nothing stored."""
    unsigned = vitrine(
        database_url, tmp_path, "create", "--name", "x", "--scope", "events", "--no-signing"
    )
    assert unsigned.returncode == 1
    assert "must sign its requests" in unsigned.stderr
    assert "drop --no-signing" in unsigned.stderr
    unknown = vitrine(database_url, tmp_path, "create", "--name", "x", "--scope", "root")
    assert unknown.returncode == 2
    assert "Invalid value for '--scope': 'root' is not one of 'events', 'admin'." in unknown.stderr
    blank = vitrine(database_url, tmp_path, "create", "--name", " ", "--scope", "admin")
    assert blank.returncode == 1
    assert "name the key (--name)" in blank.stderr
    assert vitrine(database_url, tmp_path, "list", "--json").stdout == ""


def test_rotate_secret_adds_one_and_retire_secrets_keeps_the_newest(
    database_url: str, tmp_path: Path
) -> None:
    """rotate-secret prints a new secret (the old stays); retire-secrets keeps only the newest."""
    made = vitrine(
        database_url, tmp_path, "create", "--name", "ingest", "--scope", "events", "--json"
    )
    key_id = orjson.loads(made.stdout)["id"]
    rotated = vitrine(database_url, tmp_path, "rotate-secret", key_id)
    assert rotated.returncode == 0, rotated.stderr
    assert SECRET.search(rotated.stdout) is not None
    assert f"vitrine keys retire-secrets {key_id}" in " ".join(rotated.stderr.split())

    def secrets_count() -> int:
        listed = vitrine(database_url, tmp_path, "list", "--json").stdout
        return int(orjson.loads(listed)["signingSecrets"])

    assert secrets_count() == 2
    retired = vitrine(database_url, tmp_path, "retire-secrets", key_id)
    assert retired.returncode == 0, retired.stderr
    assert f"Retired 1 signing secret of {key_id}" in retired.stderr
    assert secrets_count() == 1
    hard = vitrine(database_url, tmp_path, "rotate-secret", key_id, "--retire-old")
    assert hard.returncode == 0, hard.stderr
    assert secrets_count() == 1
