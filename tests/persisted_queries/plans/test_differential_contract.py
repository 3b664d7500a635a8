"""Compiled plans against the reference executor on the contract operations.

Every persisted contract operation, with varied variables (including bad
ones), must answer byte for byte as graphql-core does, in no more SQL
statements.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.conftest import CONTRACT
from tests.resolvers.execution import run
from tests.resolvers.world import (
    Spec,
    catalog_world,  # noqa: F401 - the `world` fixture
)

OPERATIONS = CONTRACT / "operations"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def cases(specs: list[Spec]) -> list[tuple[str, dict[str, Any]]]:
    slugs = [s.slug for s in specs]
    listing: list[dict[str, Any]] = [
        {"slug": "home"},
        {"slug": "kitchen", "first": 3},
        {"slug": "mugs", "first": 2, "sort": "PRICE_ASC"},
        {"slug": "home", "sort": "NEWEST", "filter": {"inStock": True}},
        {"slug": "home", "sort": "PRICE_DESC", "filter": {"minPrice": "5", "maxPrice": "40"}},
        {"slug": "home", "filter": {"includeSubcategories": False}},
        {"slug": "home", "filter": {"tags": ["mug"], "search": "mug"}},
        {"slug": "home", "first": 1000},
        {"slug": "home", "first": -1},
        {"slug": "home", "after": "not-a-cursor"},
        {"slug": "nowhere"},
        {"slug": "home", "filter": {"categoryId": "bad id"}},
        {"slug": "home", "sort": "NOT_A_SORT"},
        {"slug": 12},
        {},
        {"slug": "home", "filter": {"minPrice": "NaN"}},
        {"slug": "home", "filter": {"unknownField": 1}},
    ]
    pages: list[tuple[str, dict[str, Any]]] = [("ProductPage", {"slug": slug}) for slug in slugs]
    return (
        pages
        + [("ProductPage", {"slug": "no-such-product"}), ("ProductPage", {"slug": None})]
        + [("CategoryListing", v) for v in listing]
        + [("SearchProducts", {"search": t}) for t in ("mug", "ga", "cup", "zzz", "x" * 300)]
        + [("SearchProducts", {"search": "mug", "first": 1, "after": None})]
        + [("CreatorProfile", {"handle": h}) for h in ("ana", "bo", "nobody")]
    )


async def compare(engine: AsyncEngine, query: str, variables: dict[str, Any]) -> None:
    reference, reference_count = await run(engine, query, variables)
    compiled, compiled_count = await run(engine, query, variables, compiled=True)
    assert orjson.dumps(compiled) == orjson.dumps(reference), (variables, compiled, reference)
    assert compiled_count <= reference_count, (variables, compiled_count, reference_count)


async def test_contract_operations_answer_as_the_reference_executor(
    world: tuple[AsyncEngine, list[Spec]],
) -> None:
    engine, specs = world
    checked = 0
    for name, variables in cases(specs):
        await compare(engine, operation(name), variables)
        checked += 1
    assert checked > 40


async def test_node_and_product_by_id(world: tuple[AsyncEngine, list[Spec]]) -> None:
    engine, specs = world
    product, category = encode_id("Product", specs[0].id), encode_id("Category", "c3")
    query = (
        "query Nodes {"
        ' a: node(id: "x") { id }'
        ' product(id: "Zm9v") { id }'
        f' n1: node(id: "{product}") {{ __typename id ... on Product {{ title store {{ name }} }} }}'
        f' n2: node(id: "{category}") {{ __typename ... on Category {{ name parent {{ name }} }} }}'
        " }"
    )
    await compare(engine, query, {})
