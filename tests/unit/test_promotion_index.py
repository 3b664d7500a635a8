"""Pure promotion rules: the rows events leave, and the index keys that must never miss."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from readmodels.events.conditions import check_condition
from readmodels.pricing.folds import deactivated_promotion, index_targets, upserted_promotion

Condition = dict[str, Any]

EXAMPLE = {
    "all": [
        {"categoryIn": ["c-12", "c-40"]},
        {"any": [{"segmentIn": ["vip"]}, {"minQuantity": 3}]},
        {"not": {"tagIn": ["clearance"]}},
    ]
}


def payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "promotionId": "pr-1",
        "storeId": "s-1",
        "name": "Spring",
        "description": None,
        "kind": "PERCENT_OFF",
        "value": "15.00",
        "buyQuantity": None,
        "getQuantity": None,
        "startsAt": "2026-03-01T00:00:00Z",
        "endsAt": None,
        "priority": 5,
        "stackable": False,
        "active": True,
        "condition": {"tagIn": ["eco"]},
    }
    data.update(changes)
    return data


def test_first_upsert_takes_its_position_as_first_and_version() -> None:
    """A first upsert stores its payload, typed, at its own position for both positions."""
    assert upserted_promotion(None, payload(), 7) == {
        "id": "pr-1",
        "store_id": "s-1",
        "name": "Spring",
        "description": None,
        "kind": "PERCENT_OFF",
        "value": Decimal("15.00"),
        "buy_quantity": None,
        "get_quantity": None,
        "starts_at": datetime(2026, 3, 1, tzinfo=UTC),
        "ends_at": None,
        "priority": 5,
        "stackable": False,
        "active": True,
        "condition": {"tagIn": ["eco"]},
        "first_position": 7,
        "version": 7,
    }


def test_later_upsert_keeps_first_position_and_stores_empty_condition_as_null() -> None:
    """A later upsert keeps the first position, takes its own as version, and `{}` becomes None."""
    first = upserted_promotion(None, payload(), 7)
    later = upserted_promotion(first, payload(condition={}, priority=1), 12)
    assert (later["first_position"], later["version"], later["condition"], later["priority"]) == (
        7,
        12,
        None,
        1,
    )


def test_deactivation_clears_active_and_bumps_version() -> None:
    """A deactivation leaves the row inactive at the deactivation's position, all else kept."""
    first = upserted_promotion(None, payload(), 7)
    assert deactivated_promotion(first, 9) == {**first, "active": False, "version": 9}


def test_always_is_filed_store_wide() -> None:
    """Null and `{}` (always) are filed under the store-wide key."""
    assert (index_targets(None), index_targets({})) == (frozenset({"*"}), frozenset({"*"}))


def test_product_leaves_give_their_keys() -> None:
    """productIn, categoryIn, collectionIn and tagIn give one prefixed key per value."""
    assert index_targets({"productIn": ["p-1", "p-2"]}) == {"p:p-1", "p:p-2"}
    assert index_targets({"categoryIn": ["c-1"]}) == {"c:c-1"}
    assert index_targets({"collectionIn": ["k-1", "k-2"]}) == {"k:k-1", "k:k-2"}
    assert index_targets({"tagIn": ["eco"]}) == {"t:eco"}


def test_leaves_that_say_nothing_about_the_product_are_store_wide() -> None:
    """segmentIn, minQuantity, minSubtotal and any `not` are filed store-wide."""
    for condition in (
        {"segmentIn": ["vip"]},
        {"minQuantity": 3},
        {"minSubtotal": "50.00"},
        {"not": {"productIn": ["p-1"]}},
    ):
        assert index_targets(condition) == {"*"}


def test_all_takes_its_smallest_narrowed_child() -> None:
    """`all` is filed under its smallest non-store-wide child, store-wide only if all are."""
    both = {"all": [{"categoryIn": ["c-1", "c-2"]}, {"tagIn": ["eco"]}, {"minQuantity": 2}]}
    assert index_targets(both) == {"t:eco"}
    assert index_targets({"all": [{"segmentIn": ["vip"]}, {"minQuantity": 2}]}) == {"*"}
    assert index_targets(EXAMPLE) == {"c:c-12", "c:c-40"}


def test_any_is_the_union_unless_a_child_is_store_wide() -> None:
    """`any` is filed under every child's keys, or store-wide when one child is."""
    assert index_targets({"any": [{"productIn": ["p-1"]}, {"tagIn": ["eco"]}]}) == {
        "p:p-1",
        "t:eco",
    }
    assert index_targets({"any": [{"productIn": ["p-1"]}, {"segmentIn": ["vip"]}]}) == {"*"}


def test_nested_combinators_narrow_through_each_level() -> None:
    """An `any` inside an `all` contributes its union as one candidate child."""
    condition = {
        "all": [
            {"any": [{"productIn": ["p-1"]}, {"collectionIn": ["k-1"]}]},
            {"categoryIn": ["c-1", "c-2", "c-3"]},
        ]
    }
    assert index_targets(condition) == {"p:p-1", "k:k-1"}


def test_a_condition_no_product_can_meet_is_filed_nowhere() -> None:
    """An empty productIn matches nothing, so neither it nor an `all` over it is filed."""
    assert index_targets({"productIn": []}) == frozenset()
    assert index_targets({"all": [{"productIn": []}, {"tagIn": ["eco"]}]}) == frozenset()


# --- The property: the index never misses a promotion a product can satisfy. ---

PRODUCTS = ["p-1", "p-2", "p-3"]
CATEGORIES = ["c-1", "c-2", "c-3", "c-4"]
COLLECTIONS = ["k-1", "k-2", "k-3"]
TAGS = ["eco", "new", "sale"]
SEGMENTS = ["vip", "staff"]


class Situation(NamedTuple):
    """A product (with its category path), a viewer's segments and a cart line."""

    product_id: str
    category_path: frozenset[str]
    collection_ids: frozenset[str]
    tags: frozenset[str]
    segments: frozenset[str]
    quantity: int
    subtotal: Decimal


def holds(condition: Condition | None, s: Situation) -> bool:
    """The reference evaluator: events.md's semantics written as plainly as possible."""
    if not condition:
        return True
    ((key, value),) = condition.items()
    if key == "productIn":
        return s.product_id in value
    if key == "categoryIn":
        return bool(s.category_path & set(value))
    if key == "collectionIn":
        return bool(s.collection_ids & set(value))
    if key == "tagIn":
        return bool(s.tags & set(value))
    if key == "segmentIn":
        return bool(s.segments & set(value))
    if key == "minQuantity":
        return s.quantity >= int(value)
    if key == "minSubtotal":
        return s.subtotal >= Decimal(value)
    if key == "all":
        return all(holds(child, s) for child in value)
    if key == "any":
        return any(holds(child, s) for child in value)
    assert key == "not"
    return not holds(value, s)


def product_keys(s: Situation) -> set[str]:
    return {
        "*",
        f"p:{s.product_id}",
        *(f"c:{c}" for c in s.category_path),
        *(f"k:{k}" for k in s.collection_ids),
        *(f"t:{t}" for t in s.tags),
    }


def _values(pool: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), max_size=3, unique=True)


LEAVES: st.SearchStrategy[Condition] = st.one_of(
    _values(PRODUCTS).map(lambda v: {"productIn": v}),
    _values(CATEGORIES).map(lambda v: {"categoryIn": v}),
    _values(COLLECTIONS).map(lambda v: {"collectionIn": v}),
    _values(TAGS).map(lambda v: {"tagIn": v}),
    _values(SEGMENTS).map(lambda v: {"segmentIn": v}),
    st.integers(1, 5).map(lambda n: {"minQuantity": n}),
    st.integers(0, 120).map(lambda n: {"minSubtotal": f"{n}.00"}),
)


@cache
def conditions(depth: int) -> st.SearchStrategy[Condition]:
    """Trees at most `depth` levels deep; at depth 6, at most 3**5 = 243 leaves (guard: 256)."""
    if depth == 1:
        return LEAVES
    child = conditions(depth - 1)
    children = st.lists(child, min_size=1, max_size=3)
    return st.one_of(
        LEAVES,
        child.map(lambda c: {"not": c}),
        children.map(lambda cs: {"all": cs}),
        children.map(lambda cs: {"any": cs}),
    )


SITUATIONS = st.builds(
    Situation,
    st.sampled_from(PRODUCTS),
    st.frozensets(st.sampled_from(CATEGORIES), max_size=3),
    st.frozensets(st.sampled_from(COLLECTIONS), max_size=2),
    st.frozensets(st.sampled_from(TAGS), max_size=2),
    st.frozensets(st.sampled_from(SEGMENTS), max_size=2),
    st.integers(1, 6),
    st.integers(0, 120).map(Decimal),
)


@settings(max_examples=400, deadline=None)
@given(condition=conditions(6), situation=SITUATIONS)
def test_index_never_misses_a_condition_the_product_satisfies(
    condition: Condition, situation: Situation
) -> None:
    """Whenever a condition holds for a product, one of the product's keys is among its targets."""
    check_condition(condition)  # the trees are ones ingest accepts
    targets = index_targets(condition)
    assert targets == {"*"} or "*" not in targets
    if holds(condition, situation):
        assert product_keys(situation) & targets
