"""The `vitrine` command line, run as a user would, against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from infra.database import create_engine
from readmodels.projections import all_projections
from tests.e2e.events import event, mug_store

pytestmark = pytest.mark.e2e


def vitrine(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VITRINE_DATABASE_URL": database_url, "VITRINE_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


EVENTS = [
    event(
        "CreatorUpserted",
        creatorId="cr1",
        handle="ana",
        name="Ana",
        bio=None,
        avatarUrl=None,
        storeId="s1",
    ),
    *mug_store("4.00"),
]


async def count(database_url: str, sql: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


async def test_import_appends_a_file_once(database_url: str, tmp_path: Path) -> None:
    """events import appends an NDJSON file; importing it again appends nothing."""
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    first = vitrine(database_url, tmp_path, "events", "import", str(path))
    assert first.returncode == 0, first.stderr
    assert "Appended 4 new events (0 were already in the log)." in first.stderr
    again = vitrine(database_url, tmp_path, "events", "import", str(path))
    assert "Appended 0 new events (4 were already in the log)." in again.stderr
    assert await count(database_url, "SELECT count(*) FROM event_log") == 4


async def test_import_of_a_bad_file_stores_nothing_and_names_the_event(
    database_url: str, tmp_path: Path
) -> None:
    """A file with one bad event is refused whole, naming the event and the field."""
    bad = [
        *EVENTS,
        event(
            "PriceSet",
            productId="p1",
            currencyCode="eur",
            basePrice="1",
            tiers=[],
            segmentPrices=[],
        ),
    ]
    path = tmp_path / "events.json"
    path.write_bytes(orjson.dumps(bad))
    result = vitrine(database_url, tmp_path, "events", "import", str(path))
    assert result.returncode == 1
    assert f"event 4 (id {bad[4]['id']}, type PriceSet): data.currencyCode" in result.stderr
    assert "Traceback" not in result.stderr
    assert await count(database_url, "SELECT count(*) FROM event_log") == 0


async def test_status_rebuild_and_schema_check(database_url: str, tmp_path: Path) -> None:
    """projectors status shows the lag, rebuild brings the read models to the head, the SDL is current."""
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    assert vitrine(database_url, tmp_path, "events", "import", str(path)).returncode == 0
    status = vitrine(database_url, tmp_path, "projectors", "status")
    assert status.returncode == 0, status.stderr
    assert "event log head: 4" in status.stderr
    rebuild = vitrine(database_url, tmp_path, "readmodels", "rebuild", "catalog")
    assert rebuild.returncode == 0, rebuild.stderr
    assert "up to position 4" in rebuild.stderr
    assert (
        await count(database_url, "SELECT count(*) FROM listing_entries WHERE product_id = 'p1'")
        == 2
    )
    unknown = vitrine(database_url, tmp_path, "readmodels", "rebuild", "nope")
    assert unknown.returncode == 1
    known = ", ".join(p.name for p in all_projections())
    assert f"no projection named 'nope' (known: {known})" in unknown.stderr
    assert known.startswith("catalog, creators, promotions")
    check = vitrine(database_url, tmp_path, "schema", "print", "--check")
    assert check.returncode == 0, check.stderr


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    """A malformed setting stops the command with a message naming the variable."""
    result = vitrine("mysql://nope", tmp_path, "db", "migrate")
    assert result.returncode == 1
    assert "VITRINE_DATABASE_URL: Value error, must start with postgresql://" in result.stderr
    assert "Traceback" not in result.stderr
