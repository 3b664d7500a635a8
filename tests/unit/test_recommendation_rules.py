"""The pure bought-together rules: pairs, the per-order cap, ranking, and place/cancel folding."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from readmodels.recommendations.folds import (
    MAX_ORDER_PRODUCTS,
    Pair,
    PairFold,
    Row,
    new_order,
    order_pairs,
    order_products,
    rank,
)

Event = tuple[str, str, tuple[str, ...]]  # ("place" | "cancel", order id, products)


def fold_batch(stored: dict[str, Row], batch: Sequence[Event]) -> dict[Pair, int]:
    """What the projection does with one batch, minus the SQL: load, fold, write back."""
    orders = {e[1]: dict(stored[e[1]]) for e in batch if e[1] in stored}
    fold = PairFold()
    for kind, order_id, products in batch:
        order = orders.setdefault(order_id, new_order(order_id))
        if kind == "place":
            fold.place(order, products)
        else:
            fold.cancel(order)
    stored.update(orders)
    return fold.changed()


def project(events: Sequence[Event], cuts: Sequence[bool]) -> dict[Pair, int]:
    """Counts after folding `events` in batches ending where `cuts` is true; zero pairs dropped."""
    stored: dict[str, Row] = {}
    counts: Counter[Pair] = Counter()
    batch: list[Event] = []
    for event, cut in zip(events, [*cuts, *[False] * len(events)], strict=False):
        batch.append(event)
        if cut:
            counts.update(fold_batch(stored, batch))
            batch = []
    counts.update(fold_batch(stored, batch))
    return {pair: n for pair, n in counts.items() if n}


def recount(events: Sequence[Event]) -> dict[Pair, int]:
    """From scratch: an order counts its first placement's pairs unless cancelled at any time."""
    placed: dict[str, tuple[str, ...]] = {}
    cancelled: set[str] = set()
    for kind, order_id, products in events:
        if kind == "place":
            placed.setdefault(order_id, products)
        else:
            cancelled.add(order_id)
    counts: Counter[Pair] = Counter()
    for order_id, products in placed.items():
        if order_id not in cancelled:
            counts.update(order_pairs(products))
    return dict(counts)


PRODUCTS = st.lists(st.sampled_from(["a", "b", "c", "d", "B"]), min_size=1, max_size=5)
EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.sampled_from(["o1", "o2", "o3", "o4"]), PRODUCTS.map(tuple)),
        st.tuples(st.just("cancel"), st.sampled_from(["o1", "o2", "o3", "o4"]), st.just(())),
    ),
    max_size=30,
)


def test_an_order_pairs_every_two_distinct_products_both_ways() -> None:
    """Each ordered pair of distinct products counts once, whatever the line order or repeats."""
    assert order_pairs(["c", "a", "c", "b"]) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "a"),
        ("b", "c"),
        ("c", "a"),
        ("c", "b"),
    ]


def test_a_single_product_order_has_no_pairs() -> None:
    """An order of one product (on several lines) pairs it with nothing, not with itself."""
    assert order_pairs(["a", "a"]) == []


def test_an_order_counts_only_its_first_50_distinct_products_in_id_order() -> None:
    """A huge order counts its 50 smallest ids, so its work is at most 50 * 49 pair updates."""
    ids = [f"p-{i:03d}" for i in range(80)] * 2
    random.Random(3).shuffle(ids)
    assert MAX_ORDER_PRODUCTS == 50
    assert order_products(ids) == [f"p-{i:03d}" for i in range(50)]
    assert len(order_pairs(ids)) == 2450


def test_rank_is_count_descending_then_id_and_never_the_product_itself() -> None:
    """Higher counts first, ties by id in code point order; the product and zero counts never."""
    counts = {"b": 2, "a": 2, "c": 5, "self": 9, "z": 0, "B": 2}
    assert rank("self", counts) == ["c", "B", "a", "b"]


def test_rank_keeps_the_top_20() -> None:
    """Of 25 partners with distinct counts, the 20 most bought remain, best first."""
    counts = {f"p{i:02d}": i for i in range(1, 26)}
    assert rank("x", counts) == [f"p{i:02d}" for i in range(25, 5, -1)]


def test_placing_an_order_twice_counts_it_once() -> None:
    """A second OrderPlaced of the same order (another event id) changes nothing."""
    fold = PairFold()
    order = new_order("o1")
    fold.place(order, ["a", "b"])
    fold.place(order, ["a", "b", "c"])
    assert (order, fold.changed()) == (
        {"order_id": "o1", "product_ids": ["a", "b"], "cancelled": False},
        {("a", "b"): 1, ("b", "a"): 1},
    )


def test_a_cancel_before_its_place_leaves_a_tombstone() -> None:
    """A cancellation that arrives first makes the later placement count nothing."""
    fold = PairFold()
    order = new_order("o1")
    fold.cancel(order)
    fold.place(order, ["b", "a"])
    assert (order, fold.changed()) == (
        {"order_id": "o1", "product_ids": ["a", "b"], "cancelled": True},
        {},
    )


def test_cancelling_twice_takes_the_pairs_back_once() -> None:
    """A repeated cancellation is a no-op: the pairs go back exactly once."""
    fold = PairFold()
    order = {"order_id": "o1", "product_ids": ["a", "b"], "cancelled": False}
    fold.cancel(order)
    fold.cancel(order)
    assert fold.changed() == {("a", "b"): -1, ("b", "a"): -1}


@given(EVENTS, st.lists(st.booleans(), max_size=30))
def test_any_batching_gives_the_counts_of_a_recount(events: list[Event], cuts: list[bool]) -> None:
    """Folding any place/cancel sequence in any batches gives exactly a recount's pair counts."""
    assert project(events, cuts) == recount(events)


@given(
    st.dictionaries(st.sampled_from(["o1", "o2", "o3", "o4"]), PRODUCTS, max_size=4),
    st.sets(st.sampled_from(["o1", "o2", "o3", "o4"])),
    st.randoms(use_true_random=False),
)
def test_the_order_of_places_and_cancels_does_not_matter(
    orders: dict[str, list[str]], cancelled: set[str], rng: random.Random
) -> None:
    """The same placements (some repeated) and cancellations in any order count the same."""
    events: list[Event] = [("place", o, tuple(p)) for o, p in orders.items()] * 2
    events += [("cancel", o, ()) for o in sorted(cancelled)]
    shuffled = list(events)
    rng.shuffle(shuffled)
    expected: Counter[Pair] = Counter()
    for order_id, products in orders.items():
        if order_id not in cancelled:
            expected.update(order_pairs(products))
    assert project(shuffled, [True] * len(shuffled)) == project(events, []) == dict(expected)
