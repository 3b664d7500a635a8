"""Pure promotion rules: the rows events leave, and the index keys that must never miss."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings

from readmodels.events.conditions import check_condition
from readmodels.pricing.folds import deactivated_promotion, index_targets, upserted_promotion
from tests.unit.condition_trees import FACTS, Condition, Facts, holds, trees

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


def product_keys(facts: Facts) -> set[str]:
    """Every key a product is looked up under: what the index must intersect."""
    return {
        "*",
        f"p:{facts.product_id}",
        *(f"c:{c}" for c in facts.categories),
        *(f"k:{k}" for k in facts.collections),
        *(f"t:{t}" for t in facts.tags),
    }


@settings(max_examples=400, deadline=None)
@given(condition=trees(6), facts=FACTS)
def test_index_never_misses_a_condition_the_product_satisfies(
    condition: Condition, facts: Facts
) -> None:
    """Whenever a condition holds for a product, one of the product's keys is among its targets."""
    check_condition(condition)  # the trees are ones ingest accepts
    targets = index_targets(condition)
    assert targets == {"*"} or "*" not in targets
    if holds(condition, facts):
        assert product_keys(facts) & targets
