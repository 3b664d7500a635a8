"""The contract's catalog operations over HTTP on the demo world, checked against the events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from infra.database import create_engine
from readmodels.demo import SCALES, generate_events
from readmodels.demo.seed import seed_demo
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up
from resolvers.ids import encode_id
from tests.conftest import CONTRACT, create_database, drop_database
from tests.e2e.reference import Reference
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 22, 6, 47, tzinfo=UTC)
OPERATIONS = {p.stem: p.read_text() for p in (CONTRACT / "operations").glob("*.graphql")}


@dataclass(frozen=True)
class Demo:
    server: Server
    ref: Reference


@pytest.fixture(scope="module")
async def demo_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The small demo world, seeded through the ingest path and projected."""
    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    try:
        await seed_demo(engine, SCALES["small"], now=NOW)
        await catch_up(engine, all_projections())
    finally:
        await engine.dispose()
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def demo(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    ref = Reference.of(generate_events(SCALES["small"], now=NOW))
    with running_server(demo_database, tmp_path_factory.mktemp("demo")) as server:
        yield Demo(server, ref)


def run_operation(demo: Demo, name: str, variables: dict[str, object]) -> dict[str, object]:
    response = demo.server.graphql(OPERATIONS[name], variables)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def test_product_page_agrees_with_the_events(demo: Demo) -> None:
    """ProductPage for the bestseller shows the title, price, range, stock and rating the events give."""
    ref = demo.ref
    product_id = max(ref.listed(), key=lambda p: ref.units.get(p, 0))
    source = ref.products[product_id]
    product = run_operation(demo, "ProductPage", {"slug": source["slug"]})["product"]
    assert isinstance(product, dict)
    low, high = ref.price_range(product_id)
    base = Decimal(ref.prices[product_id]["basePrice"])
    assert product["id"] == encode_id("Product", product_id)
    assert (product["title"], product["tags"]) == (source["title"], source["tags"])
    assert product["price"]["list"]["amount"] == f"{base:.2f}"
    assert product["price"]["final"] == product["price"]["list"]
    assert product["priceRange"] == {
        "min": {"amount": f"{low:.2f}"},
        "max": {"amount": f"{high:.2f}"},
    }
    assert product["inventory"] == {
        "status": ref.status(product_id),
        "available": ref.available(product_id),
    }
    assert product["rating"] == ref.rating(product_id)
    assert product["store"]["name"] == ref.stores[source["storeId"]]["name"]


def test_category_listing_agrees_with_the_events(demo: Demo) -> None:
    """CategoryListing's counts and best sellers match the events, and pages join up."""
    ref = demo.ref
    root = next(c for c, d in ref.categories.items() if d["slug"] == "home-kitchen")
    in_tree = [p for p in ref.listed() if ref.in_subtree(ref.products[p]["categoryId"], root)]
    variables = {"slug": "home-kitchen", "first": 48, "sort": "BEST_SELLING"}
    category = run_operation(demo, "CategoryListing", variables)["category"]
    assert isinstance(category, dict)
    assert category["productCount"] == category["products"]["totalCount"] == len(in_tree)
    expected = sorted(in_tree, key=lambda p: (-ref.units.get(p, 0), [-ord(c) for c in p]))
    seen = [edge["node"]["id"] for edge in category["products"]["edges"]]
    assert seen == [encode_id("Product", p) for p in expected[:48]]
    following = run_operation(
        demo,
        "CategoryListing",
        {**variables, "after": category["products"]["pageInfo"]["endCursor"]},
    )
    more = [edge["node"]["id"] for edge in following["category"]["products"]["edges"]]  # type: ignore[index]
    assert more == [encode_id("Product", p) for p in expected[48:96]]
    children = {c["slug"]: c["productCount"] for c in category["children"]}
    for child_id, data in ref.categories.items():
        if data["parentId"] == root:
            count = sum(
                ref.in_subtree(ref.products[p]["categoryId"], child_id) for p in ref.listed()
            )
            assert children[data["slug"]] == count


def test_search_products_agrees_with_the_events(demo: Demo) -> None:
    """SearchProducts finds exactly the in-stock products whose title or tags contain the term."""
    ref = demo.ref
    term = "bamboo"
    matches = [
        p
        for p in ref.listed()
        if ref.available(p) > 0
        and term in " ".join([ref.products[p]["title"], *ref.products[p]["tags"]]).lower()
    ]
    products = run_operation(demo, "SearchProducts", {"search": "BAMBOO"})["products"]
    assert isinstance(products, dict)
    assert products["totalCount"] == len(matches) > 24
    assert products["pageInfo"]["hasNextPage"] is True
    assert {n["id"] for n in products["nodes"]} <= {encode_id("Product", p) for p in matches}


def test_creator_profile_store_part_agrees_with_the_events(demo: Demo) -> None:
    """CreatorProfile shows the creator and their store's products (posts come with feeds)."""
    ref = demo.ref
    creator = run_operation(demo, "CreatorProfile", {"handle": "creator2"})["creator"]
    assert isinstance(creator, dict)
    source = ref.creators["creator2"]
    assert (creator["name"], creator["bio"]) == (source["name"], source["bio"])
    assert creator["store"]["name"] == ref.stores[source["storeId"]]["name"]
    store_products = [p for p in ref.listed() if ref.products[p]["storeId"] == source["storeId"]]
    assert len(creator["store"]["products"]["nodes"]) == min(8, len(store_products))


@pytest.mark.parametrize(
    "name", ["ProductPage", "CategoryListing", "SearchProducts", "CreatorProfile"]
)
def test_catalog_operations_run_without_errors_on_many_inputs(demo: Demo, name: str) -> None:
    """Each catalog operation answers without errors across many products, categories and creators."""
    ref = demo.ref
    inputs: list[dict[str, object]] = {
        "ProductPage": [{"slug": ref.products[p]["slug"]} for p in sorted(ref.products)[:40]],
        "CategoryListing": [{"slug": d["slug"]} for d in ref.categories.values()],
        "SearchProducts": [
            {"search": word} for word in ("mug", "wireless", "organic", "zzz", "%", "_")
        ],
        "CreatorProfile": [{"handle": handle} for handle in sorted(ref.creators)[:20]],
    }[name]
    for variables in inputs:
        run_operation(demo, name, variables)


def test_search_treats_wildcards_literally(demo: Demo) -> None:
    """A search for "%" matches titles containing a percent sign, not everything."""
    products = run_operation(demo, "SearchProducts", {"search": "%"})["products"]
    assert products["totalCount"] == 0  # type: ignore[index]


def test_unknown_slugs_are_null_not_errors(demo: Demo, tmp_path: Path) -> None:
    """Unknown product, category and creator are null without errors."""
    assert run_operation(demo, "ProductPage", {"slug": "nope"}) == {"product": None}
    assert run_operation(demo, "CategoryListing", {"slug": "nope"}) == {"category": None}
    assert run_operation(demo, "CreatorProfile", {"handle": "nope"}) == {"creator": None}
