"""The development trace page over real HTTP: its JSON, its policy, its absence when off,
and the page itself in headless Chromium showing a CategoryListing waterfall."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.database import create_engine
from infra.trace_page.routes import PAGE_POLICY
from tests.conftest import CONTRACT, create_database, drop_database
from tests.e2e.node_packages import installed_node
from tests.e2e.server import Server, running_server
from tests.resolvers.world import load_world

pytestmark = pytest.mark.e2e

CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
LISTING_VARIABLES = {"slug": "kitchen", "first": 5}
# The resolver and DataLoader spans of that request (tests/infra/test_tracing.py has the tree).
LISTING_SPANS = [
    "dataloader CategoryByIdLoader",
    "dataloader CategoryBySlugLoader",
    "dataloader CategoryChildrenByParentLoader",
    "dataloader ListingPageLoader",
    "dataloader ListingTotalLoader",
    "dataloader OffersByProductLoader",
    "resolve Category.ancestors",
    "resolve Category.children",
    "resolve Category.products",
    *["resolve Product.price"] * 5,
    "resolve ProductConnection.totalCount",
    "resolve Query.category",
]
BROWSER_DIR = Path(__file__).parent / "browser"
REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWPORT = (1440, 900)  # the browser script's


@pytest.fixture(scope="module")
async def catalog_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The hand-made catalog of tests/resolvers/world.py (category `kitchen`), projected."""
    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    try:
        await load_world(engine)
    finally:
        await engine.dispose()
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def server(catalog_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A development server with the trace page on, which has served one CategoryListing."""
    with running_server(
        catalog_database,
        tmp_path_factory.mktemp("trace-page"),
        trace_page="true",
        run_projectors="false",
    ) as server:
        response = server.graphql(CATEGORY_LISTING, LISTING_VARIABLES)
        assert response.status_code == 200
        assert "errors" not in response.json(), response.json()["errors"]
        yield server


@pytest.fixture(scope="module")
def listing(server: Server) -> dict[str, Any]:
    """The CategoryListing trace as the page's API gives it."""
    (summary,) = get(server, "/api/traces").json()["traces"]
    body: dict[str, Any] = get(server, f"/api/traces/{summary['traceId']}").json()
    return body


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}/_vitrine/traces{path}", timeout=30)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_page_is_served_under_its_own_policy(server: Server) -> None:
    """The page allows only its own origin's script and style, and inlines neither."""
    response = get(server, "")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY
    assert '<script src="/_vitrine/traces/static/page.js" defer></script>' in response.text
    assert "<script>" not in response.text
    assert "<style" not in response.text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("page.js", "text/javascript; charset=utf-8"), ("page.css", "text/css; charset=utf-8")],
)
def test_assets_are_served(server: Server, name: str, media_type: str) -> None:
    """The script and the style sheet are served as what they are."""
    response = get(server, f"/static/{name}")
    assert (response.status_code, response.headers["content-type"]) == (200, media_type)


def test_unknown_asset_is_not_found(server: Server) -> None:
    """Only the page's own files are served under static/."""
    response = get(server, "/static/settings.py")
    assert (response.status_code, error_code(response)) == (404, "NOT_FOUND")


def test_list_shows_the_listing_trace(server: Server, listing: dict[str, Any]) -> None:
    """The list holds the one request served, named by its operation, with its span count."""
    response = get(server, "/api/traces")
    assert response.headers["cache-control"] == "no-store"
    (summary,) = response.json()["traces"]
    assert summary["traceId"] == listing["traceId"]
    assert (summary["name"], summary["error"], summary["status"]) == (
        "query CategoryListing",
        False,
        "UNSET",
    )
    assert summary["spanCount"] == len(listing["spans"])
    assert (summary["droppedSpans"], summary["durationNs"]) == (0, listing["durationNs"])


def test_trace_is_a_waterfall_of_resolvers_and_loaders(listing: dict[str, Any]) -> None:
    """The trace's spans come server first, every batch under the resolver that asked."""
    spans = listing["spans"]
    server = spans[0]
    assert (server["name"], server["kind"], server["category"], server["depth"]) == (
        "query CategoryListing",
        "SERVER",
        "server",
        0,
    )
    assert (server["startOffsetNs"], server["durationNs"]) == (0, listing["durationNs"])
    shown = sorted(s["name"] for s in spans if s["category"] in ("resolver", "dataloader"))
    assert shown == LISTING_SPANS
    by_name = {s["name"]: s for s in spans}
    products = by_name["resolve Category.products"]
    batch = by_name["dataloader ListingPageLoader"]
    assert batch["parentId"] == products["spanId"]
    assert batch["depth"] == products["depth"] + 1
    assert batch["attributes"]["vitrine.batch_size"] == 1
    assert by_name["resolve Query.category"]["parentId"] == server["spanId"]


@pytest.mark.parametrize("trace_id", ["xyz", "0" * 31, "g" * 32, "0" * 33])
def test_malformed_trace_id_is_refused(server: Server, trace_id: str) -> None:
    """A trace id that is not 32 hexadecimal digits is a 400 BAD_TRACE_ID."""
    response = get(server, f"/api/traces/{trace_id}")
    assert (response.status_code, error_code(response)) == (400, "BAD_TRACE_ID")


def test_unknown_trace_is_not_found(server: Server) -> None:
    """A well-formed id of a trace the buffer does not hold is a 404 TRACE_NOT_FOUND."""
    response = get(server, "/api/traces/" + "ab" * 16)
    assert (response.status_code, error_code(response)) == (404, "TRACE_NOT_FOUND")


def test_trace_page_off_is_an_unknown_path(
    catalog_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With VITRINE_TRACE_PAGE=false the page and its API are 404s like any unknown path."""
    with running_server(
        catalog_database,
        tmp_path_factory.mktemp("trace-page-off"),
        trace_page="false",
        run_projectors="false",
    ) as off:
        for path in ("", "/api/traces", "/static/page.js"):
            response = get(off, path)
            assert (response.status_code, error_code(response)) == (404, "NOT_FOUND")


# --- the page in headless Chromium ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_script() -> list[str]:
    """The command that drives Chromium; installs playwright-core (`npm ci`) on first use."""
    node = installed_node(
        BROWSER_DIR,
        "playwright-core",
        needs=("chromium",),
        missing="node, npm and chromium are needed for the trace page's browser test",
        required_by="VITRINE_TEST_REQUIRE_BROWSER",
    )
    return [node, str(BROWSER_DIR / "trace_page.mjs")]


def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (VITRINE_TEST_ARTIFACTS, gitignored)."""
    path = Path(os.environ.get("VITRINE_TEST_ARTIFACTS") or REPO / ".artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_page_shows_the_listing_waterfall_in_chromium(
    browser_script: list[str], server: Server, listing: dict[str, Any]
) -> None:
    """In Chromium the page lists the CategoryListing trace; opening it draws the server,
    resolver and DataLoader spans; clicking a batch shows its batch size; a screenshot is
    saved, and nothing on the page breaks its policy."""
    screenshot = artifacts_dir() / "trace-page.png"
    screenshot.unlink(missing_ok=True)
    chromium = shutil.which("chromium")
    assert chromium is not None
    finished = subprocess.run(
        [*browser_script, server.url, str(screenshot), chromium],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout)
    assert (seen["status"], seen["title"], seen["traceRows"]) == (200, "Vitrine traces", 1)
    assert seen["problems"] == []  # no console error: no CSP violation, no script error
    rows = seen["rows"]
    assert [row["name"] for row in rows] == [span["name"] for span in listing["spans"]]
    assert rows[0] == {
        "name": "query CategoryListing",
        "category": "server",
        "indent": "0px",
        "left": "0%",
        "width": "100%",
    }
    drawn = sorted(row["name"] for row in rows if row["category"] in ("resolver", "dataloader"))
    assert drawn == LISTING_SPANS
    depth = {span["name"]: span["depth"] for span in listing["spans"]}
    batch = next(row for row in rows if row["name"] == "dataloader ListingPageLoader")
    assert batch["indent"] == f"{14 * depth['dataloader ListingPageLoader']}px"
    assert seen["selected"] == "dataloader ListingPageLoader"
    assert seen["attributes"]["vitrine.batch_size"] == "1"
    assert seen["attributes"]["vitrine.loader"] == "ListingPageLoader"
    png = screenshot.read_bytes()
    assert png[:8] == PNG_SIGNATURE
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == VIEWPORT
    assert len(png) > 20_000  # a drawn page, not a blank one
