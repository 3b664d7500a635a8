"""Promotion conditions: compiled predicates, `could_apply`, and the predicate cache."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings

from readmodels.events.conditions import MAX_DEPTH, MAX_LEAVES, check_condition
from readmodels.pricing.rows import PromotionKind, PromotionRow
from resolvers.pricing.conditions import (
    PredicateCache,
    compile_condition,
    condition_source,
    could_apply,
)
from tests.unit.condition_trees import (
    CONDITIONS,
    FACTS,
    Condition,
    Facts,
    holds,
    mentions_quantity_or_subtotal,
)

AT = datetime(2026, 11, 1, tzinfo=UTC)
EVIL = "x) or True or ("


def promotion(id: str, version: int, condition: Condition | None) -> PromotionRow:
    return PromotionRow(
        id=id,
        store_id="s1",
        name=id,
        description=None,
        kind=PromotionKind.PERCENT_OFF,
        value=Decimal("10"),
        buy_quantity=None,
        get_quantity=None,
        starts_at=None,
        ends_at=None,
        priority=0,
        stackable=True,
        active=True,
        condition=condition,
        first_position=1,
        version=version,
    )


def can(
    condition: Condition | None, product_id: str = "p1", segments: tuple[str, ...] = ()
) -> bool:
    return could_apply(
        condition,
        product_id,
        frozenset({"c1"}),
        frozenset({"k1"}),
        frozenset({"t1"}),
        frozenset(segments),
    )


@settings(max_examples=300, deadline=None)
@given(CONDITIONS, FACTS)
def test_compiled_predicate_agrees_with_the_reference_evaluator(
    condition: Condition | None, facts: Facts
) -> None:
    """On any tree the ingest guard accepts, the compiled predicate returns the reference's bool."""
    check_condition(condition)
    result = compile_condition(condition)(*facts)
    assert type(result) is bool
    assert result == holds(condition, facts)


@settings(max_examples=300, deadline=None)
@given(CONDITIONS, FACTS)
def test_could_apply_is_true_whenever_the_condition_holds(
    condition: Condition | None, facts: Facts
) -> None:
    """`could_apply` never rules out a line the condition accepts, and is exact without quantity or subtotal leaves."""
    possible = could_apply(condition, *facts[:5])
    if holds(condition, facts):
        assert possible is True
    if not mentions_quantity_or_subtotal(condition):
        assert possible is holds(condition, facts)


@settings(max_examples=50, deadline=None)
@given(FACTS)
def test_null_and_empty_conditions_always_hold(facts: Facts) -> None:
    """`null` and `{}` mean "always": compiled and three-valued alike."""
    assert compile_condition(None)(*facts) is True
    assert compile_condition({})(*facts) is True
    assert could_apply(None, *facts[:5]) is True
    assert could_apply({}, *facts[:5]) is True


def test_condition_values_never_enter_the_source() -> None:
    """A hostile value is a namespace constant, so it matches only itself and never becomes code."""
    condition = {"any": [{"productIn": [EVIL]}, {"tagIn": [EVIL, "__import__('os')"]}]}
    constants: dict[str, Any] = {}
    source = condition_source(condition, constants)
    assert EVIL not in source
    assert "__import__" not in source
    assert source == "((product_id in _k0) or (not _k1.isdisjoint(tags)))"
    assert constants == {"_k0": frozenset({EVIL}), "_k1": frozenset({EVIL, "__import__('os')"})}
    predicate = compile_condition(condition)
    nothing: frozenset[str] = frozenset()
    assert predicate("p1", nothing, nothing, frozenset({"t1"}), nothing, 1, Decimal(0)) is False
    assert predicate(EVIL, nothing, nothing, nothing, nothing, 1, Decimal(0)) is True
    assert predicate("p1", nothing, nothing, frozenset({EVIL}), nothing, 1, Decimal(0)) is True


def test_the_largest_tree_the_guard_accepts_compiles() -> None:
    """A 6-level, 256-leaf condition passes the guard, compiles, and evaluates like the reference."""
    leaf_number = iter(range(MAX_LEAVES))

    def level(depth: int) -> Condition:
        if depth == MAX_DEPTH - 1:  # a `not` at depth 5 over a leaf at depth 6
            n = next(leaf_number)
            return {"not": {"tagIn": [f"t{n}"]} if n % 2 else {"minQuantity": n + 1}}
        return {("all" if depth % 2 else "any"): [level(depth + 1) for _ in range(4)]}

    condition = level(1)
    assert next(leaf_number, None) is None  # exactly 4**4 == 256 leaves were used
    check_condition(condition)
    predicate = compile_condition(condition)
    nothing: frozenset[str] = frozenset()
    every_odd_tag = frozenset(f"t{n}" for n in range(1, MAX_LEAVES, 2))
    all_true = Facts("p1", nothing, nothing, nothing, nothing, 1, Decimal(0))
    all_false = Facts("p1", nothing, nothing, every_odd_tag, nothing, 300, Decimal(0))
    assert (predicate(*all_true), predicate(*all_false)) == (True, False)
    for quantity in (1, 2, 64, 128, 257):
        for tags in (nothing, every_odd_tag, frozenset({"t1", "t3", "t5", "t7"})):
            facts = Facts("p1", nothing, nothing, tags, nothing, quantity, Decimal(0))
            assert predicate(*facts) is holds(condition, facts)


def test_could_apply_uses_three_valued_logic() -> None:
    """Quantity and subtotal leaves are unknown; product, taxonomy and segment leaves are known."""
    assert can({"not": {"minQuantity": 3}}) is True
    assert can({"minSubtotal": "50.00"}) is True
    assert can({"all": [{"productIn": ["other"]}, {"minQuantity": 2}]}) is False
    assert can({"all": [{"productIn": ["p1"]}, {"minQuantity": 2}]}) is True
    assert can({"any": [{"productIn": ["other"]}, {"minSubtotal": "10"}]}) is True
    assert can({"any": [{"productIn": ["other"]}, {"tagIn": ["t9"]}]}) is False
    assert can({"not": {"all": [{"categoryIn": ["c1"]}, {"collectionIn": ["k1"]}]}}) is False
    assert can({"not": {"any": [{"tagIn": ["t9"]}, {"minQuantity": 5}]}}) is True
    assert can({"segmentIn": ["vip"]}, segments=("vip",)) is True
    assert can({"segmentIn": ["vip"]}, segments=("staff",)) is False
    assert can({"segmentIn": ["vip"]}) is False
    assert can({"not": {"segmentIn": ["vip"]}}, segments=("vip",)) is False


def test_cache_counts_hits_and_misses() -> None:
    """The first lookup of a version compiles (a miss); later ones reuse it (hits)."""
    cache = PredicateCache()
    assert cache.stats.hit_rate == 0.0
    row = promotion("pr-1", 1, {"minQuantity": 2})
    first = cache.get(row)
    assert cache.get(row) is first
    assert cache.get(row) is first
    assert (cache.stats.hits, cache.stats.misses, cache.stats.compiled) == (2, 1, 1)
    assert cache.stats.hit_rate == 2 / 3
    assert len(cache) == 1


def test_a_new_version_recompiles_and_replaces_the_entry() -> None:
    """A promotion's new version gets a freshly compiled predicate in place of the old one."""
    cache = PredicateCache()
    nothing: frozenset[str] = frozenset()
    facts = Facts("p1", nothing, nothing, nothing, nothing, 1, Decimal(0))
    old = cache.get(promotion("pr-1", 1, {"productIn": ["p1"]}))
    new = cache.get(promotion("pr-1", 2, {"productIn": ["p2"]}))
    assert (old(*facts), new(*facts)) == (True, False)
    assert cache.get(promotion("pr-1", 2, {"productIn": ["p2"]})) is new
    assert (cache.stats.hits, cache.stats.misses, cache.stats.compiled) == (1, 2, 2)
    assert len(cache) == 1


def test_cache_evicts_the_least_recently_used_entry() -> None:
    """Past its bound the cache drops the entry looked up longest ago, not the oldest inserted."""
    cache = PredicateCache(max_entries=2)
    a, b, c = (promotion(i, 1, None) for i in ("a", "b", "c"))
    cache.get(a)
    cache.get(b)
    cache.get(a)  # a is now the most recently used
    cache.get(c)  # evicts b
    assert len(cache) == 2
    misses = cache.stats.misses
    cache.get(a)
    cache.get(c)
    assert cache.stats.misses == misses
    cache.get(b)
    assert cache.stats.misses == misses + 1
    assert (cache.stats.hits, cache.stats.misses) == (3, 4)
