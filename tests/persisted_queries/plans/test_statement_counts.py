"""Compiled plans issue exactly the SQL statements of the reference executor.

Each served contract query runs with several variable sets (5 and 48
products, hits and misses) on both executors: the answers are the same bytes
and the number of statements is the same, and it does not grow with the page
size (every level of a page is one batched load).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import CONTRACT
from tests.resolvers.execution import run
from tests.resolvers.world import (
    DESCENDANTS,
    Spec,
    catalog_world,  # noqa: F401 - the `world` fixture
)

OPERATIONS = CONTRACT / "operations"
SERVED_QUERIES = ("ProductPage", "CategoryListing", "SearchProducts", "CreatorProfile")


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


async def counts(engine: AsyncEngine, name: str, variables: dict[str, Any]) -> tuple[Any, int]:
    """The answer and statement count of the plan, after checking them against the
    reference executor's."""
    query = operation(name)
    reference, reference_count = await run(engine, query, variables)
    compiled, compiled_count = await run(engine, query, variables, compiled=True)
    assert orjson.dumps(compiled) == orjson.dumps(reference), (name, variables)
    assert compiled_count == reference_count, (name, variables, compiled_count, reference_count)
    return compiled, compiled_count


def test_the_served_queries_are_the_contract_queries() -> None:
    for name in SERVED_QUERIES:
        assert operation(name).lstrip().startswith(f"query {name}")


def listed(specs: list[Spec], category: str, *, in_stock: bool = False) -> int:
    """How many products a listing of `category` holds (worked out from the events)."""
    return sum(
        1
        for s in specs
        if s.visible_in_listings
        and s.category in DESCENDANTS[category]
        and (s.stock > 0 or not in_stock)
    )


@pytest.mark.parametrize(
    ("variables", "category", "in_stock"),
    [
        ({"slug": "home", "first": 5}, "c1", False),
        ({"slug": "home", "first": 48}, "c1", False),
        ({"slug": "home"}, "c1", False),
        (
            {"slug": "kitchen", "first": 48, "sort": "PRICE_ASC", "filter": {"inStock": True}},
            "c2",
            True,
        ),
        ({"slug": "mugs", "first": 5}, "c3", False),
        ({"slug": "mugs", "first": 48, "sort": "NEWEST"}, "c3", False),
        ({"slug": "home", "first": 0}, "c1", False),
    ],
)
async def test_category_listing(
    world: tuple[AsyncEngine, list[Spec]], variables: dict[str, Any], category: str, in_stock: bool
) -> None:
    engine, specs = world
    body, statements = await counts(engine, "CategoryListing", variables)
    products = body["data"]["category"]["products"]
    total = listed(specs, category, in_stock=in_stock)
    assert products["totalCount"] == total
    assert len(products["edges"]) == min(variables.get("first", 48), total)
    # The same statements for a page of 5 as for a page of 48 (no load per product);
    # an empty page has no product whose offers (promotions) to load.
    _, five = await counts(engine, "CategoryListing", {**variables, "first": 5})
    assert statements == (five - 1 if variables.get("first") == 0 else five)


async def test_a_listing_of_a_missing_category(world: tuple[AsyncEngine, list[Spec]]) -> None:
    engine, _ = world
    body, statements = await counts(engine, "CategoryListing", {"slug": "nowhere"})
    assert body == {"data": {"category": None}}
    assert statements == 1


@pytest.mark.parametrize("slug", ["product-1", "product-8", "product-60", "hidden", "gone", "nope"])
async def test_product_page(world: tuple[AsyncEngine, list[Spec]], slug: str) -> None:
    engine, specs = world
    body, statements = await counts(engine, "ProductPage", {"slug": slug})
    product = body["data"]["product"]
    visible = {s.slug for s in specs if not s.deleted}
    assert (product is not None) == (slug in visible)
    if product is not None:
        assert product["slug"] == slug
        _, first = await counts(engine, "ProductPage", {"slug": "product-1"})
        assert statements == first


@pytest.mark.parametrize(
    ("variables", "nodes"),
    [
        ({"search": "mug", "first": 5}, 5),
        ({"search": "mug", "first": 48}, None),
        ({"search": "cup"}, None),
        ({"search": "zzz"}, 0),
    ],
)
async def test_search_products(
    world: tuple[AsyncEngine, list[Spec]], variables: dict[str, Any], nodes: int | None
) -> None:
    engine, _ = world
    body, _statements = await counts(engine, "SearchProducts", variables)
    found = body["data"]["products"]["nodes"]
    if nodes is None:
        assert len(found) > 5
    else:
        assert len(found) == nodes


async def test_search_statements_do_not_grow_with_the_page(
    world: tuple[AsyncEngine, list[Spec]],
) -> None:
    engine, _ = world
    _, five = await counts(engine, "SearchProducts", {"search": "mug", "first": 5})
    _, many = await counts(engine, "SearchProducts", {"search": "mug", "first": 48})
    assert five == many


@pytest.mark.parametrize(("handle", "found"), [("ana", True), ("ben", True), ("nobody", False)])
async def test_creator_profile(
    world: tuple[AsyncEngine, list[Spec]], handle: str, found: bool
) -> None:
    engine, _ = world
    body, statements = await counts(engine, "CreatorProfile", {"handle": handle})
    creator = body["data"]["creator"]
    assert (creator is not None) == found
    if found:
        assert creator["handle"] == handle
        assert creator["store"]["products"]["nodes"]
        _, ana = await counts(engine, "CreatorProfile", {"handle": "ana"})
        assert statements == ana
