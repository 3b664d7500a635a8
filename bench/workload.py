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
    finally:
        await conn.close()
    return Pools(
        products=Zipf([(r["id"], r["slug"]) for r in products]),
        categories=Zipf([r["slug"] for r in categories]),
        creators=Zipf([r["handle"] for r in creators]),
        search_words=Zipf(rank_words([r["title"] for r in titles])),
    )


Generator = Callable[[Pools, random.Random], dict[str, Any]]


def _cart(pools: Pools, rng: random.Random) -> dict[str, Any]:
    from resolvers.ids import encode_id

    lines = [
        {
            "productId": encode_id("Product", pools.products.draw(rng)[0]),
            "quantity": rng.randint(1, 3),
        }
        for _ in range(rng.randint(1, 4))
    ]
    return {"input": {"lines": lines}}


GENERATORS: dict[str, Generator] = {
    "ProductPage": lambda pools, rng: {"slug": pools.products.draw(rng)[1]},
    "CategoryListing": lambda pools, rng: {"slug": pools.categories.draw(rng)},
    "SearchProducts": lambda pools, rng: {"search": pools.search_words.draw(rng)},
    "CreatorProfile": lambda pools, rng: {"handle": pools.creators.draw(rng)},
    "PriceCart": _cart,
    "Trending": lambda pools, rng: {"window": rng.choices(["HOUR", "DAY", "WEEK"], [1, 3, 1])[0]},
}


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
    count: int = REQUESTS_PER_OPERATION,
    seed: int = 42,
) -> list[Body]:
    """`count` request bodies, the same ones for the same seed and dataset."""
    rng = random.Random(f"{seed}:{operation.name}")
    return [{"query": operation.query, "variables": generator(pools, rng)} for _ in range(count)]


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
