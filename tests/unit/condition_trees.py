"""Random promotion condition trees and a plain reference evaluator, shared by the tests
of the compiled predicates, the promotion index and the pricing properties."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from hypothesis import strategies as st

from readmodels.events.conditions import MAX_DEPTH

Condition = Mapping[str, Any]

PRODUCTS = ("p1", "p2", "p3")
CATEGORIES = ("c1", "c2", "c3")
COLLECTIONS = ("k1", "k2")
TAGS = ("t1", "t2", "t3")
SEGMENTS = ("vip", "staff")


class Facts(NamedTuple):
    """A line's facts, in the order a compiled predicate takes them."""

    product_id: str
    categories: frozenset[str]
    collections: frozenset[str]
    tags: frozenset[str]
    segments: frozenset[str]
    quantity: int
    subtotal: Decimal


def holds(condition: Condition | None, facts: Facts) -> bool:
    """The reference: events.md's condition tree evaluated by plain recursion."""
    if not condition:
        return True
    ((key, value),) = condition.items()
    if key == "all":
        return all(holds(child, facts) for child in value)
    if key == "any":
        return any(holds(child, facts) for child in value)
    if key == "not":
        return not holds(value, facts)
    if key == "productIn":
        return facts.product_id in value
    if key == "minQuantity":
        return bool(facts.quantity >= value)
    if key == "minSubtotal":
        return facts.subtotal >= Decimal(value)
    groups = {
        "categoryIn": facts.categories,
        "collectionIn": facts.collections,
        "tagIn": facts.tags,
        "segmentIn": facts.segments,
    }
    return any(v in groups[key] for v in value)


def mentions_quantity_or_subtotal(condition: Condition | None) -> bool:
    """Whether the tree has a `minQuantity` or `minSubtotal` leaf anywhere."""
    if not condition:
        return False
    ((key, value),) = condition.items()
    if key in ("all", "any"):
        return any(mentions_quantity_or_subtotal(child) for child in value)
    if key == "not":
        return mentions_quantity_or_subtotal(value)
    return key in ("minQuantity", "minSubtotal")


def _some(universe: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    # Empty lists too: ingest accepts them, and no product can meet them.
    return st.lists(st.sampled_from(universe), max_size=3, unique=True)


LEAVES: st.SearchStrategy[Condition] = st.one_of(
    _some(PRODUCTS).map(lambda v: {"productIn": v}),
    _some(CATEGORIES).map(lambda v: {"categoryIn": v}),
    _some(COLLECTIONS).map(lambda v: {"collectionIn": v}),
    _some(TAGS).map(lambda v: {"tagIn": v}),
    _some(SEGMENTS).map(lambda v: {"segmentIn": v}),
    st.integers(1, 10).map(lambda n: {"minQuantity": n}),
    st.decimals(0, 300, places=2).map(lambda d: {"minSubtotal": str(d)}),
)


@cache
def trees(depth: int = MAX_DEPTH) -> st.SearchStrategy[Condition]:
    """Well-formed condition trees at most `depth` levels deep (at most 3**5 leaves)."""
    if depth == 1:
        return LEAVES
    inner = trees(depth - 1)
    children = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        LEAVES,
        children.map(lambda c: {"all": c}),
        children.map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
    )


CONDITIONS: st.SearchStrategy[Condition | None] = st.one_of(st.none(), st.just({}), trees())

FACTS = st.builds(
    Facts,
    st.sampled_from(PRODUCTS),
    st.frozensets(st.sampled_from(CATEGORIES)),
    st.frozensets(st.sampled_from(COLLECTIONS)),
    st.frozensets(st.sampled_from(TAGS)),
    st.frozensets(st.sampled_from(SEGMENTS)),
    st.integers(1, 12),
    st.decimals(0, 300, places=2),
)
