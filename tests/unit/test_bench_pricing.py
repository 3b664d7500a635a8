"""The pricing benchmark's pure parts: the synthetic store, its index, carts, counts, report.

Values only, never timings: the times are the benchmark's to report.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import click
import pytest

from bench.cli import build_options
from bench.pricing import (
    NOW,
    PromotionIndex,
    StoreSpec,
    apply_order,
    build_carts,
    build_offers,
    build_store,
    cart_lines,
    category_path,
    category_tree,
    count_work,
    measure_pricing,
    product_keys,
)
from bench.report import pricing_inprocess_section, render_markdown
from bench.workload import (
    REQUESTS_PER_OPERATION,
    Operation,
    Pools,
    Zipf,
    cart_product_ids,
    sample_requests,
    variant_requests,
)
from readmodels.pricing.folds import ANY_PRODUCT, index_targets
from readmodels.pricing.rows import ProductFacts
from resolvers.ids import decode_id_of
from resolvers.pricing.conditions import could_apply
from resolvers.pricing.engine import in_effect

SMALL = StoreSpec(
    promotions=300,
    products=400,
    collections=10,
    cart_lines=20,
    carts=12,
    cold_carts=2,
    warm_rounds=1,
    heavy_carts=3,
    other_seeds=(7,),
)


@pytest.fixture(scope="module")
def store() -> Any:
    return build_store(SMALL)


def test_category_tree_has_roots_children_and_grandchildren_parents_first() -> None:
    """The synthetic category tree lists every parent before its children."""
    parents = category_tree(2, 3, 4)
    assert len(parents) == 2 + 2 * 3 + 2 * 3 * 4
    assert [c for c, p in parents.items() if p is None] == ["c-1", "c-2"]
    order = list(parents)
    assert all(order.index(p) < order.index(c) for c, p in parents.items() if p is not None)
    grandchild = order[-1]
    assert category_path(grandchild, parents) == {grandchild, "c-8", "c-2"}


def test_product_keys_are_spelled_as_the_offers_query_spells_them() -> None:
    """A product is looked up under the same keys the offers statement builds."""
    facts = ProductFacts(
        "p-7", "s-1", frozenset({"c-1", "c-9"}), frozenset({"k-2"}), frozenset({"eco"})
    )
    assert product_keys(facts) == {"*", "p:p-7", "c:c-1", "c:c-9", "k:k-2", "t:eco"}


def test_store_is_seeded_and_every_promotion_is_in_effect(store: Any) -> None:
    """The same seed builds the same store, and every promotion in it applies now."""
    assert build_store(SMALL) == store
    assert build_store(replace(SMALL, seed=43)) != store
    assert len(store.promotions) == 300
    assert len(store.products) == 400
    assert all(in_effect(p, NOW) and p.store_id == "s-1" for p in store.promotions)
    assert len({p.id for p in store.promotions}) == 300


def test_store_draws_the_demo_mix_of_conditions_and_kinds(store: Any) -> None:
    """About a quarter "always" (null or {}), leaves of every kind, trees; three kinds."""
    always = sum(1 for p in store.promotions if not p.condition) / len(store.promotions)
    assert 0.15 < always < 0.35
    keys = {next(iter(p.condition)) for p in store.promotions if p.condition}
    assert {"productIn", "categoryIn", "collectionIn", "tagIn", "segmentIn"} <= keys
    assert {"minQuantity", "minSubtotal"} <= keys
    assert {"all", "any"} <= keys
    assert {p.kind.value for p in store.promotions} == {"PERCENT_OFF", "AMOUNT_OFF", "BUY_X_GET_Y"}
    assert 0.25 < sum(p.stackable for p in store.promotions) / len(store.promotions) < 0.55
    assert {p.priority for p in store.promotions} <= set(range(101))


def test_conditions_name_this_stores_catalogue(store: Any) -> None:
    """Conditions name only this store's products, categories and collections."""
    products = {row.id for row in store.products}
    for promo in store.promotions:
        for key in index_targets(promo.condition) - {ANY_PRODUCT}:
            kind, _, value = key.partition(":")
            known = {"p": products, "c": set(store.parents), "k": set(store.collections)}
            assert kind == "t" or value in known[kind], key


def test_index_candidates_are_the_brute_force_ones_in_apply_order(store: Any) -> None:
    """Indexed candidates are exactly a brute-force scan's, in the order they apply."""
    index = PromotionIndex(store.promotions)
    for row in store.products[:100]:
        facts = store.facts[row.id]
        keys = product_keys(facts)
        expected = apply_order(p for p in store.promotions if index_targets(p.condition) & keys)
        assert index.candidates(facts, NOW) == expected
        order = [(-p.priority, p.id) for p in expected]
        assert order == sorted(order)


def test_index_never_misses_a_promotion_that_could_apply(store: Any) -> None:
    """Soundness, on this store: every promotion whose condition some quantity, subtotal
    and segments could satisfy for the product is among its candidates."""
    offers = build_offers(store, indexed=True, stackable=False)
    every_segment = frozenset({"vip", "wholesale", "students", "staff", "newsletter"})
    for row in store.products:
        facts = store.facts[row.id]
        candidates = {p.id for p in offers[row.id].promotions}
        for promo in store.promotions:
            if could_apply(
                promo.condition,
                row.id,
                facts.category_path,
                facts.collection_ids,
                facts.tags,
                every_segment,
            ):
                assert promo.id in candidates, (row.id, promo.condition)


def test_unindexed_offers_hand_every_promotion_to_every_product(store: Any) -> None:
    """Without the index every product gets every promotion as a candidate."""
    offers = build_offers(store, indexed=False, stackable=True)
    for found in list(offers.values())[:5]:
        assert len(found.promotions) == 300
        assert all(p.stackable for p in found.promotions)


def test_carts_are_distinct_products_with_quantities_one_to_six(store: Any) -> None:
    """Bench carts hold distinct products with quantities from one to six."""
    carts = build_carts(store, 30, 20, seed=1)
    assert carts == build_carts(store, 30, 20, seed=1)
    assert carts != build_carts(store, 30, 20, seed=2)
    for cart in carts:
        ids = [pid for pid, _ in cart.lines]
        assert len(ids) == len(set(ids)) == 20
        assert all(1 <= q <= 6 for _, q in cart.lines)
        assert cart.segments <= {"vip", "wholesale", "students", "staff", "newsletter"}
    assert any(cart.segments for cart in carts)
    assert not all(cart.segments for cart in carts)
    with pytest.raises(ValueError, match="distinct"):
        build_carts(store, 1, 401, seed=1)


def test_counts_without_a_stop_evaluate_every_candidate(store: Any) -> None:
    """All stackable: only a unit price brought to zero stops the chain, so far more
    predicates run than when, as drawn, non-stackable promotions stop it."""
    carts = build_carts(store, 5, 20, seed=3)
    rows = {row.id: row for row in store.products}
    viewers = [cart.segments for cart in carts]
    counts = {}
    for stackable in (False, True):
        offers = build_offers(store, indexed=True, stackable=stackable)
        built = [cart_lines(cart, rows, offers) for cart in carts]
        counts[stackable] = count_work(built, viewers, NOW)
    everything = counts[True]
    assert everything.lines == 100
    assert everything.evaluated <= everything.candidates
    assert counts[False].candidates == everything.candidates
    assert counts[False].evaluated < everything.evaluated
    assert counts[False].applied <= counts[False].evaluated


def test_measurement_reports_every_variant_and_the_target(store: Any) -> None:
    """The measurement covers the four variants, the other stores and the target line."""
    results = measure_pricing(SMALL)
    assert list(results["variants"]) == [
        "indexed",
        "indexed_stackable",
        "no_index",
        "no_index_stackable",
    ]
    served = results["variants"]["indexed"]
    assert served["carts"] == 12
    assert served["samples"] == 12
    assert served["predicates"]["hit_rate_measured"] == 1.0
    assert results["variants"]["no_index"]["candidates_per_line"] == 300
    worst = results["variants"]["no_index_stackable"]
    # Every candidate is evaluated until a line's price reaches zero (nothing left to take).
    assert 1 < worst["evaluated_per_line"] <= 300
    assert worst["carts"] == 3
    assert 1 < worst["predicates"]["compiled"] <= 300  # compiled as first evaluated
    assert [s["seed"] for s in results["other_stores"]] == [7]
    assert results["store"]["promotions"] == 300

    section = "\n\n".join(pricing_inprocess_section(results))
    assert section.count("\n| ") >= 4 + 1
    assert "no index, every promotion stackable (worst case)" in section
    assert "**Target** (< 2 ms per cart" in section


def test_the_pricing_section_tolerates_a_skipped_or_failed_phase() -> None:
    """A skipped or failed pricing phase renders as a note, not an error."""
    assert pricing_inprocess_section(None) == []
    assert pricing_inprocess_section({"skipped": "--no-pricing-phase"})[1] == (
        "_--no-pricing-phase_"
    )


def test_only_pricing_renders_the_http_rows_and_the_engine() -> None:
    """`--only pricing` reports the HTTP rows of the pricing operations and the engine."""
    run = {"rps": 100.0, "cpu_us_per_request": 900.0, "non_2xx": 0, "socket_errors": 0}
    results: dict[str, Any] = {
        "timestamp": "T",
        "settings": {
            "only": "pricing",
            "main_scale": "small",
            "workers": 1,
            "threads": 2,
            "connections": 32,
            "duration_s": 3.0,
            "warmup_s": 1.0,
        },
        "machine": {"nproc": 2, "cpu_model": "cpu", "python": "3.11"},
        "datasets": {"small": {"products": 10, "events": 20}},
        "operations": {
            "PriceCart-50": {
                "graphql": {**run, "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0}},
                "floor": {**run, "rps": 10_000.0},
                "ratio_to_floor": 0.01,
                "response_bytes": 25_000,
            }
        },
        "inprocess": {"PriceCart-50": {"statements": 2}},
        "pricing": {"skipped": "--no-pricing-phase"},
    }
    text = render_markdown(results)
    assert "| PriceCart-50 | 100 | 10,000 | 0.01 |" in text
    assert "### Pricing engine (in-process)" in text


def test_only_pricing_contradicts_no_pricing_phase() -> None:
    """`--only pricing` with `--no-pricing-phase` is refused as a contradiction."""
    options: dict[str, Any] = {
        "quick": True,
        "workers": 1,
        "connections": 32,
        "threads": 2,
        "duration": None,
        "warmup": None,
        "operations": None,
        "scales": None,
        "freshness": True,
        "rebuild": True,
    }
    assert build_options(**options, only="pricing").only == "pricing"
    with pytest.raises(click.BadParameter, match="--no-pricing-phase"):
        build_options(**options, only="pricing", pricing_phase=False)


def _pools() -> Pools:
    return Pools(
        products=Zipf([(f"p-{i}", f"slug-{i}") for i in range(1, 301)]),
        categories=Zipf(["toys"]),
        creators=Zipf(["creator1"]),
        search_words=Zipf(["bamboo"]),
        cart_products=Zipf([f"p-{i}" for i in range(1, 201)]),
        recommended=Zipf([(f"p-{i}", f"slug-{i}") for i in range(101, 111)]),
    )


def test_cart_lines_are_distinct_with_quantities_one_to_six() -> None:
    """PriceCart bodies have distinct lines with quantities from one to six."""
    ranked = Zipf([f"p-{i}" for i in range(1, 61)])
    rng = random.Random(5)
    for _ in range(50):
        lines = cart_product_ids(ranked, rng, 3, 7)
        assert 3 <= len(lines) <= 7
        assert len({pid for pid, _ in lines}) == len(lines)
        assert all(1 <= q <= 6 for _, q in lines)
    assert len(cart_product_ids(Zipf(["a", "b"]), rng, 5, 5)) == 2  # capped, never endless


def test_price_cart_bodies_use_cart_products_and_the_50_line_variant() -> None:
    """PriceCart draws ~5 lines from the one-currency pool; PriceCart-50 gets 50 lines,
    its own seed and fewer bodies; ProductPage draws products with recommendations."""
    pools = _pools()
    price_cart = Operation("PriceCart", "query PriceCart($input: CartInput!) { x }", ("input",))
    page = Operation("ProductPage", "query ProductPage($slug: String!) { x }", ("slug",))
    from bench.workload import GENERATORS

    carts = sample_requests(price_cart, GENERATORS["PriceCart"], pools)
    assert len(carts) == REQUESTS_PER_OPERATION
    sizes = [len(b["variables"]["input"]["lines"]) for b in carts]
    assert min(sizes) == 3
    assert max(sizes) == 7
    assert 4.5 < sum(sizes) / len(sizes) < 5.5
    ids = {
        decode_id_of("Product", line["productId"], argument="x")
        for body in carts
        for line in body["variables"]["input"]["lines"]
    }
    assert ids <= {f"p-{i}" for i in range(1, 201)}

    extra = variant_requests([price_cart, page], pools)
    assert list(extra) == ["PriceCart-50"]
    fifty = extra["PriceCart-50"]
    assert len(fifty) == 1_500
    assert fifty[0]["query"] == price_cart.query
    assert all(len(b["variables"]["input"]["lines"]) == 50 for b in fifty)
    assert variant_requests([page], pools) == {}

    pages = sample_requests(page, GENERATORS["ProductPage"], pools)
    assert len(pages) == REQUESTS_PER_OPERATION
    assert {b["variables"]["slug"] for b in pages} <= {f"slug-{i}" for i in range(101, 111)}
