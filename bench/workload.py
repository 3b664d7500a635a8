"""What the benchmark sends: the contract's operations with variables drawn from the dataset.

Real traffic is skewed: a few products, categories and creators take most
requests and a long tail takes the rest. A uniform draw would make every
request a cache miss somewhere (Postgres buffers, plan caches, our own
caches to come) and a single fixed request would make every one a hit;
both lie. So each operation's variables come from a Zipf draw over the
dataset's own ranking (bestsellers, biggest categories, most-followed
creators, most frequent title words), seeded so that two runs send the
same sequence.

Operations are picked up from tests/fixtures/contract/operations: one that
does not validate against the served schema is "not served yet" (pricing,
insights and feeds arrive later and join the benchmark by themselves);
mutations are left out (the benchmark reads a static dataset).
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from graphql import (
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "tests/fixtures/contract/operations"
SCALING_OPERATION = "CategoryListing"
ZIPF_EXPONENT = 1.0
REQUESTS_PER_OPERATION = 10_000
WORD = re.compile(r"[a-z]{4,}")
# Ties (no sales yet, no followers yet) in the ids' natural order: "cr-2" before
# "cr-10", as the demo world numbers its most prominent entities first.
NATURAL = "length(id), id"

T = TypeVar("T")
Body = dict[str, Any]


class Zipf(Generic[T]):
    """Draws items by rank with probability proportional to 1 / rank**exponent."""

    def __init__(self, ranked: Sequence[T], exponent: float = ZIPF_EXPONENT) -> None:
        if not ranked:
            raise ValueError("cannot draw from an empty ranking")
        self.ranked = ranked
        self._cumulative = list(
            itertools.accumulate(1 / (rank**exponent) for rank in range(1, len(ranked) + 1))
        )

    def rank(self, rng: random.Random) -> int:
        """A 0-based rank."""
        point = rng.random() * self._cumulative[-1]
        return min(bisect.bisect_right(self._cumulative, point), len(self.ranked) - 1)

    def draw(self, rng: random.Random) -> T:
        return self.ranked[self.rank(rng)]


@dataclass(frozen=True)
class Operation:
    """One contract operation: its name, document and variables it cannot do without."""

    name: str
    query: str
    required_variables: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The served operations, and why the others are left out."""

    served: list[Operation]
    skipped: dict[str, str]


def discover_operations(schema: GraphQLSchema, directory: Path = OPERATIONS_DIR) -> Catalogue:
    """Every query in `directory` that validates against `schema`."""
    served: list[Operation] = []
    skipped: dict[str, str] = {}
    for path in sorted(directory.glob("*.graphql")):
        document = parse(path.read_text())
        definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        if definition.operation is not OperationType.QUERY:
            skipped[path.stem] = f"{definition.operation.value}: not benchmarked yet"
            continue
        errors = validate(schema, document)
        if errors:
            skipped[path.stem] = f"not served yet: {errors[0].message}"
            continue
        required = tuple(
            v.variable.name.value
            for v in definition.variable_definitions or ()
            if isinstance(v.type, NonNullTypeNode) and v.default_value is None
        )
        served.append(Operation(path.stem, path.read_text(), required))
    return Catalogue(served, skipped)


@dataclass(frozen=True)
class Pools:
    """The dataset's rankings that variables are drawn from, hottest first."""

    products: Zipf[tuple[str, str]]  # (id, slug) by units sold
    categories: Zipf[str]  # slugs by product count
    creators: Zipf[str]  # handles by follower count
    search_words: Zipf[str]  # title words by frequency
    # Ids of priced products in the commonest currency, by units sold: a cart is one currency.
    cart_products: Zipf[str] | None = None
    # (id, slug) of products with at least one recommendation to show, by units sold.
    recommended: Zipf[tuple[str, str]] | None = None


def rank_words(titles: Sequence[str], limit: int = 2000) -> list[str]:
    """Title words (4+ letters) by how many titles use them, most frequent first."""
    counts = Counter(word for title in titles for word in set(WORD.findall(title.lower())))
    return [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


async def load_pools(database_url: str) -> Pools:
    """Read the rankings from the read models (one query each)."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        visible = "upserted AND NOT deleted AND listed"
        products = await conn.fetch(
            f"SELECT id, slug FROM products WHERE {visible} ORDER BY units_sold DESC, {NATURAL}"
        )
        categories = await conn.fetch(
            f"SELECT slug FROM categories ORDER BY product_count DESC, {NATURAL}"
        )
        creators = await conn.fetch(
            f"SELECT handle FROM creators ORDER BY follower_count DESC, post_count DESC, {NATURAL}"
        )
        titles = await conn.fetch(f"SELECT title FROM products WHERE {visible}")
        cart_products = await conn.fetch(_CART_PRODUCTS)
        recommended = await conn.fetch(_RECOMMENDED)
    finally:
        await conn.close()
    return Pools(
        products=Zipf([(r["id"], r["slug"]) for r in products]),
        categories=Zipf([r["slug"] for r in categories]),
        creators=Zipf([r["handle"] for r in creators]),
        search_words=Zipf(rank_words([r["title"] for r in titles])),
        cart_products=Zipf([r["id"] for r in cart_products]) if cart_products else None,
        recommended=Zipf([(r["id"], r["slug"]) for r in recommended]) if recommended else None,
    )


_PRICED = "upserted AND NOT deleted AND listed AND base_price IS NOT NULL"
_CART_PRODUCTS = f"""
SELECT id FROM products WHERE {_PRICED} AND currency_code = (
    SELECT currency_code FROM products WHERE {_PRICED}
    GROUP BY currency_code ORDER BY count(*) DESC, currency_code LIMIT 1)
ORDER BY units_sold DESC, {NATURAL}
"""
# What `Product.recommendations` shows: ranked ids that exist, are listed, priced and not
# the product itself (resolvers.recommendations.fields.recommendable).
_RECOMMENDED = """
SELECT p.id, p.slug FROM products p
WHERE p.upserted AND NOT p.deleted AND p.listed AND EXISTS (
    SELECT 1 FROM recommendations r, unnest(r.other_ids) AS o(id)
    JOIN products q ON q.id = o.id
    WHERE r.product_id = p.id AND q.id <> p.id
        AND q.upserted AND NOT q.deleted AND q.listed AND q.base_price IS NOT NULL)
ORDER BY p.units_sold DESC, length(p.id), p.id
"""


Generator = Callable[[Pools, random.Random], dict[str, Any]]


def cart_product_ids(
    ranked: Zipf[str], rng: random.Random, low: int, high: int
) -> list[tuple[str, int]]:
    """`low`-`high` distinct products (Zipf over units sold) with quantities 1-6."""
    wanted = min(rng.randint(low, high), len(ranked.ranked))
    chosen: dict[str, int] = {}
    while len(chosen) < wanted:
        chosen.setdefault(ranked.draw(rng), rng.randint(1, 6))
    return list(chosen.items())


def cart_generator(low: int, high: int) -> Generator:
    """PriceCart variables: a cart of `low`-`high` lines, priced products of one currency."""

    def generate(pools: Pools, rng: random.Random) -> dict[str, Any]:
        from resolvers.ids import encode_id

        ranked = pools.cart_products or Zipf(
            [product_id for product_id, _ in pools.products.ranked]
        )
        lines = [
            {"productId": encode_id("Product", product_id), "quantity": quantity}
            for product_id, quantity in cart_product_ids(ranked, rng, low, high)
        ]
        return {"input": {"lines": lines}}

    return generate


def _product_page(pools: Pools, rng: random.Random) -> dict[str, Any]:
    """A product that has recommendations to show (the page's last, batched, level)."""
    return {"slug": (pools.recommended or pools.products).draw(rng)[1]}


GENERATORS: dict[str, Generator] = {
    "ProductPage": _product_page,
    "CategoryListing": lambda pools, rng: {"slug": pools.categories.draw(rng)},
    "SearchProducts": lambda pools, rng: {"search": pools.search_words.draw(rng)},
    "CreatorProfile": lambda pools, rng: {"handle": pools.creators.draw(rng)},
    "PriceCart": cart_generator(3, 7),
    "Trending": lambda pools, rng: {"window": rng.choices(["HOUR", "DAY", "WEEK"], [1, 3, 1])[0]},
}

# Extra workloads of an operation's document with other variables, benchmarked beside
# it under their own name: name -> (operation, generator).
VARIANTS: dict[str, tuple[str, Generator]] = {
    "PriceCart-50": ("PriceCart", cart_generator(50, 50)),
}
# Served queries the load phase leaves to a phase of their own: they need a viewer token.
OWN_PHASE: dict[str, str] = {
    "CreatorDashboard": "needs a creator token: measured by the dashboard phase",
    "Feed": "needs a customer token: measured by the feeds phase",
}
# Bodies per workload where 10,000 would only slow the preflight (which sends each
# distinct one, and nearly every 50-line cart is distinct): wrk sends fewer than
# 1,500 of those in a 10 s run after 3 s of warm-up.
REQUEST_COUNTS: dict[str, int] = {"PriceCart-50": 1_500}


def _no_variables(pools: Pools, rng: random.Random) -> dict[str, Any]:
    return {}


def generator_for(operation: Operation) -> Generator | None:
    """The operation's generator; one without required variables needs none."""
    found = GENERATORS.get(operation.name)
    if found is None and not operation.required_variables:
        return _no_variables
    return found


def sample_requests(
    operation: Operation,
    generator: Generator,
    pools: Pools,
    *,
    count: int | None = None,
    seed: int = 42,
) -> list[Body]:
    """`count` request bodies (default: the operation's REQUEST_COUNTS entry, else
    REQUESTS_PER_OPERATION), the same ones for the same seed and dataset."""
    if count is None:
        count = REQUEST_COUNTS.get(operation.name, REQUESTS_PER_OPERATION)
    rng = random.Random(f"{seed}:{operation.name}")
    return [{"query": operation.query, "variables": generator(pools, rng)} for _ in range(count)]


def variant_requests(chosen: Sequence[Operation], pools: Pools) -> dict[str, list[Body]]:
    """The VARIANTS of the chosen operations, each with its own seeded draws."""
    by_name = {op.name: op for op in chosen}
    found = {}
    for name, (base, generator) in VARIANTS.items():
        if base in by_name:
            operation = Operation(name, by_name[base].query, by_name[base].required_variables)
            found[name] = sample_requests(operation, generator, pools)
    return found


def distinct(bodies: Sequence[Body]) -> list[Body]:
    """Each distinct body once, in order of first appearance."""
    seen: set[bytes] = set()
    unique = []
    for body in bodies:
        key = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        if key not in seen:
            seen.add(key)
            unique.append(body)
    return unique


async def hottest_category(database_url: str) -> str:
    """The slug of the category with the most products (the scaling curve's listing)."""
    import asyncpg

    from infra.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        slug = await conn.fetchval(
            f"SELECT slug FROM categories ORDER BY product_count DESC, {NATURAL}"
        )
    finally:
        await conn.close()
    if slug is None:
        raise ValueError(f"no categories in {database_url}")
    return str(slug)


def listing_body(slug: str, first: int) -> Body:
    """The scaling curve's request: CategoryListing of one category at a page size."""
    query = (OPERATIONS_DIR / f"{SCALING_OPERATION}.graphql").read_text()
    return {"query": query, "variables": {"slug": slug, "first": first}}
