"""Promotion evaluation in-process: a 50-line cart against a store of 1,000 active promotions.

Issue 6's target is under 2 ms per cart, in-process. Everything here is pure
and seeded (no database, no clock): one store holds a catalogue (2,000
products over a three-level category tree, tags, collections, prices with the
demo's tiers and segment prices) and 1,000 promotions, all active now, whose
kinds, values, priorities, stackability and condition trees are drawn by the
demo world's own code (`readmodels.demo.promotions`: about 20% "always", 5%
`{}`, 35% a single leaf of any kind, 40% a small tree of depth 2-4), with the
leaves naming this store's products, categories, collections, tags and
segments.

Each line's `ProductOffers` is built as `readmodels.pricing.queries` builds
it: the candidates are the promotions whose `index_targets` meet the
product's keys (`*`, `p:<id>`, `c:<each category of its path>`,
`k:<each collection>`, `t:<each tag>`), active and not ended, sorted by
(-priority, id). Carts are 50 distinct products drawn with a Zipf skew over
the catalogue, quantities 1-6, a third of the viewers in one or two segments.

Measured per cart, `engine.price_cart` alone (offers already loaded):

- **cold**: a fresh `PredicateCache` for each cart, so every predicate the cart
  reaches is compiled during the call (a new process, or new promotion
  versions);
- **warm**: one cache shared by every cart, warmed by a pass over them; the
  median, p90 and p99 of `perf_counter_ns` over every cart, several rounds,
  and the same of the thread's CPU time (`thread_time_ns`): on a shared
  machine the wall-clock p99 is mostly other processes' time slices.

Beside the times, counted in a separate untimed pass: candidates per line
(what the index hands the engine), predicates evaluated per line (the chain
stops at the first non-stackable promotion that takes something), promotions
applied per line, and the predicate cache's hit rate over the run.

Four variants show what narrows the work: **indexed** (the real thing), **no
index** (every promotion a candidate of every line, as if all were filed
under `*`), and each of those with **every promotion stackable** (nothing
stops the chain: every candidate's predicate runs on every line). The last,
no index and all stackable, is the worst case a 1,000-promotion store can
reach.

`python -m bench.pricing` prints the table; the suite's pricing phase stores
the same dict in its results.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

from bench.stats import percentile
from bench.workload import Zipf
from readmodels.catalog.rows import ProductRow, TierRow
from readmodels.demo.catalog import price_data
from readmodels.demo.promotions import Conditions, promotion, random_condition, window
from readmodels.demo.words import RANDOM_TAGS, SEGMENTS
from readmodels.pricing.folds import ANY_PRODUCT, index_targets, upserted_promotion
from readmodels.pricing.rows import ProductFacts, ProductOffers, PromotionKind, PromotionRow
from resolvers.pricing import engine
from resolvers.pricing.conditions import Predicate, PredicateCache

NOW = datetime(2026, 11, 22, tzinfo=UTC)  # the benchmark's fixed `now` (bench.dataset.NOW)
STORE_ID = "s-1"
CURRENCY = "EUR"
TARGET_MS = 2.0
SEGMENTED_VIEWERS = 1 / 3

# (key, label, index narrowing, every promotion stackable), in the report's order.
VARIANTS: tuple[tuple[str, str, bool, bool], ...] = (
    ("indexed", "indexed (as served)", True, False),
    ("indexed_stackable", "indexed, every promotion stackable", True, True),
    ("no_index", "no index (all 1,000 candidates)", False, False),
    ("no_index_stackable", "no index, every promotion stackable (worst case)", False, True),
)


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """The size of the synthetic store and of the measurement."""

    promotions: int = 1_000
    products: int = 2_000
    category_roots: int = 8
    children_per_root: int = 4
    grandchildren_per_child: int = 3
    collections: int = 40
    cart_lines: int = 50
    carts: int = 300
    cold_carts: int = 30
    warm_rounds: int = 3
    heavy_carts: int = 100  # carts per run for the heavy variants (all but "indexed")
    seed: int = 42
    other_seeds: tuple[int, ...] = (43, 44, 45, 46)  # more stores, "indexed" only


@dataclass(frozen=True, slots=True)
class Store:
    """A catalogue and its promotions: what one store's read models would hold."""

    products: tuple[ProductRow, ...]  # most popular first
    facts: Mapping[str, ProductFacts]
    parents: Mapping[str, str | None]  # category id -> parent id
    collections: tuple[str, ...]
    promotions: tuple[PromotionRow, ...]


class Cart(NamedTuple):
    """A cart before its offers are attached: (product id, quantity) lines and the viewer."""

    lines: tuple[tuple[str, int], ...]
    segments: frozenset[str]


# --- the catalogue -----------------------------------------------------------


def category_tree(roots: int, children: int, grandchildren: int) -> dict[str, str | None]:
    """Category id -> parent id: roots, their children, then each child's grandchildren
    (parents always before their children, ids "c-1", "c-2"... in that order)."""
    parents: dict[str, str | None] = {}
    for _ in range(roots):
        parents[f"c-{len(parents) + 1}"] = None
    root_ids = list(parents)
    for root in root_ids:
        for _ in range(children):
            parents[f"c-{len(parents) + 1}"] = root
    middle_ids = [c for c, parent in parents.items() if parent is not None]
    for middle in middle_ids:
        for _ in range(grandchildren):
            parents[f"c-{len(parents) + 1}"] = middle
    return parents


def category_path(category: str, parents: Mapping[str, str | None]) -> frozenset[str]:
    """The category and every ancestor of it (what `categoryIn` matches against)."""
    path: list[str] = []
    current: str | None = category
    while current is not None:
        path.append(current)
        current = parents[current]
    return frozenset(path)


def product_keys(facts: ProductFacts) -> frozenset[str]:
    """The index keys a product is found under (as `queries._OFFERS` spells them)."""
    return frozenset(
        [
            ANY_PRODUCT,
            f"p:{facts.product_id}",
            *(f"c:{c}" for c in facts.category_path),
            *(f"k:{k}" for k in facts.collection_ids),
            *(f"t:{t}" for t in facts.tags),
        ]
    )


def _product_row(rng: Random, number: int, category: str, tags: list[str]) -> ProductRow:
    product_id = f"p-{number}"
    cents = rng.randint(300, 20_000)
    data = price_data(rng, product_id, cents, CURRENCY)
    base = Decimal(data["basePrice"])
    tiers = tuple(TierRow(t["minQuantity"], Decimal(t["unitPrice"])) for t in data["tiers"])
    segment_prices = {s["segment"]: Decimal(s["unitPrice"]) for s in data["segmentPrices"]}
    prices = [base, *(t.unit_price for t in tiers), *segment_prices.values()]
    return ProductRow(
        id=product_id,
        store_id=STORE_ID,
        slug=f"product-{number}",
        sku=f"SKU-{number:06d}",
        title=f"Product {number}",
        description=None,
        featured=False,
        listed=True,
        tags=tags,
        images=(),
        category_id=category,
        currency_code=CURRENCY,
        base_price=base,
        min_unit_price=min(prices),
        max_unit_price=base,
        tiers=tiers,
        segment_prices=segment_prices,
        on_hand=100,
        rating_sum=0,
        rating_count=0,
        units_sold=0,
        updated_at=NOW,
    )


def build_catalogue(
    rng: Random, spec: StoreSpec
) -> tuple[tuple[ProductRow, ...], dict[str, ProductFacts], dict[str, str | None], tuple[str, ...]]:
    """Products (most popular first) in the tree's leaf categories, 0-2 random tags (plus
    "bestseller" for the top 5% and "new" for one in ten), and collections of 10-50
    products drawn by popularity, as the demo's curated collections are."""
    parents = category_tree(
        spec.category_roots, spec.children_per_root, spec.grandchildren_per_child
    )
    leaves = [c for c in parents if c not in set(parents.values())]
    collections = tuple(f"k-{k}" for k in range(1, spec.collections + 1))
    popularity = Zipf(list(range(1, spec.products + 1)))
    members: dict[int, set[str]] = {}
    for collection in collections:
        for _ in range(rng.randint(10, 50)):
            members.setdefault(popularity.draw(rng), set()).add(collection)
    rows: list[ProductRow] = []
    facts: dict[str, ProductFacts] = {}
    for number in range(1, spec.products + 1):
        category = rng.choice(leaves)
        tags = sorted(rng.sample(RANDOM_TAGS, rng.randint(0, 2)))
        if number <= spec.products // 20:
            tags.append("bestseller")
        if rng.random() < 0.1:
            tags.append("new")
        row = _product_row(rng, number, category, tags)
        rows.append(row)
        facts[row.id] = ProductFacts(
            row.id,
            STORE_ID,
            category_path(category, parents),
            frozenset(members.get(number, ())),
            frozenset(tags),
        )
    return tuple(rows), facts, parents, collections


# --- the promotions ----------------------------------------------------------


class StoreConditions(Conditions):
    """The demo's condition trees (`Conditions.tree`, `random_condition`), with leaves
    drawn from this store's catalogue instead of the demo world's."""

    def __init__(
        self,
        rng: Random,
        products: Sequence[ProductRow],
        parents: Mapping[str, str | None],
        collections: Sequence[str],
    ) -> None:
        # Not Conditions.__init__: no demo World here; `tree` only needs `_rng` and `leaf`.
        self._rng = rng
        self._products = products
        self._popularity = Zipf(list(range(len(products))), 1.1)
        self._parents = parents
        self._collections = collections

    def leaf(self, store: int, kind: str) -> dict[str, Any]:
        rng = self._rng
        if kind == "productIn":
            picks = {self._pick().id for _ in range(rng.randint(1, 5))}
            return {kind: sorted(picks)}
        if kind == "categoryIn":
            categories: set[str] = set()
            for _ in range(rng.randint(1, 3)):
                category = self._pick().category_id
                assert category is not None
                parent = self._parents[category] if rng.random() < 0.3 else None
                categories.add(parent or category)
            return {kind: sorted(categories)}
        if kind == "collectionIn":
            count = min(len(self._collections), rng.randint(1, 2))
            return {kind: sorted(rng.sample(list(self._collections), count))}
        if kind == "tagIn":
            return {
                kind: sorted(rng.sample([*RANDOM_TAGS, "bestseller", "new"], rng.randint(1, 2)))
            }
        if kind == "segmentIn":
            return {kind: sorted(rng.sample(SEGMENTS, rng.randint(1, 2)))}
        if kind == "minQuantity":
            return {kind: rng.randint(2, 5)}
        return {kind: str(Decimal(500 * rng.randint(4, 30)).scaleb(-2))}

    def _pick(self) -> ProductRow:
        return self._products[self._popularity.draw(self._rng)]


def promotion_row(row: Mapping[str, Any]) -> PromotionRow:
    """A PromotionRow from a `promotions` row dict (as `queries.promotion_row` reads one)."""
    return PromotionRow(
        row["id"],
        row["store_id"],
        row["name"],
        row["description"],
        PromotionKind(row["kind"]),
        row["value"],
        row["buy_quantity"],
        row["get_quantity"],
        row["starts_at"],
        row["ends_at"],
        row["priority"],
        row["stackable"],
        row["active"],
        row["condition"],
        row["first_position"],
        row["version"],
    )


def build_promotions(
    rng: Random, conditions: StoreConditions, count: int, now: datetime = NOW
) -> tuple[PromotionRow, ...]:
    """`count` promotions, all active now: the demo's payloads (kind, value, priority,
    stackability, condition mix) folded into rows by `upserted_promotion`."""
    unix_now = int(now.timestamp())
    rows = []
    for p in range(1, count + 1):
        condition = random_condition(rng, conditions, 1)
        starts, ends = window(rng, unix_now, active_now=True)
        data = promotion(rng, p, 1, condition, starts, ends)
        data = {**data, "storeId": STORE_ID, "active": True}
        rows.append(promotion_row(upserted_promotion(None, data, position=p)))
    return tuple(rows)


def build_store(spec: StoreSpec) -> Store:
    rng = Random(f"{spec.seed}:pricing-store")
    products, facts, parents, collections = build_catalogue(rng, spec)
    conditions = StoreConditions(rng, products, parents, collections)
    promotions = build_promotions(rng, conditions, spec.promotions)
    return Store(products, facts, parents, collections, promotions)


# --- offers, as the read side builds them --------------------------------------


def apply_order(promotions: Iterable[PromotionRow]) -> tuple[PromotionRow, ...]:
    """Priority descending, then id: the order candidates apply in."""
    return tuple(sorted(promotions, key=lambda p: (-p.priority, p.id)))


def _candidate(promotion: PromotionRow, now: datetime) -> bool:
    """What `_OFFERS` keeps: active and not ended (not started yet is kept)."""
    return promotion.active and (promotion.ends_at is None or promotion.ends_at > now)


class PromotionIndex:
    """`promotion_targets` in memory: promotion ids by key, within the store."""

    def __init__(self, promotions: Iterable[PromotionRow]) -> None:
        self.by_key: dict[str, list[PromotionRow]] = {}
        for promo in promotions:
            for key in index_targets(promo.condition):
                self.by_key.setdefault(key, []).append(promo)

    def candidates(self, facts: ProductFacts, now: datetime) -> tuple[PromotionRow, ...]:
        found: dict[str, PromotionRow] = {}
        for key in product_keys(facts):
            for promo in self.by_key.get(key, ()):
                if _candidate(promo, now):
                    found[promo.id] = promo
        return apply_order(found.values())


def build_offers(
    store: Store, *, indexed: bool, stackable: bool, now: datetime = NOW
) -> dict[str, ProductOffers]:
    """Every product's offers: through the index, or every promotion for every product;
    with every promotion made stackable when `stackable`."""
    promotions = store.promotions
    if stackable:
        promotions = tuple(p._replace(stackable=True) for p in promotions)
    if not indexed:
        everything = apply_order(p for p in promotions if _candidate(p, now))
        return {pid: ProductOffers(facts, everything) for pid, facts in store.facts.items()}
    index = PromotionIndex(promotions)
    return {
        pid: ProductOffers(facts, index.candidates(facts, now))
        for pid, facts in store.facts.items()
    }


# --- carts ---------------------------------------------------------------------


def build_carts(store: Store, count: int, lines: int, seed: int) -> list[Cart]:
    """`count` carts of `lines` distinct products (Zipf over popularity), quantities 1-6;
    a third of the viewers in one or two segments."""
    if lines > len(store.products):
        raise ValueError(f"a cart of {lines} distinct products needs that many products")
    rng = Random(f"{seed}:pricing-carts")
    popularity = Zipf([row.id for row in store.products])
    carts = []
    for _ in range(count):
        chosen: dict[str, int] = {}
        while len(chosen) < lines:
            chosen.setdefault(popularity.draw(rng), rng.randint(1, 6))
        segments: frozenset[str] = frozenset()
        if rng.random() < SEGMENTED_VIEWERS:
            segments = frozenset(rng.sample(SEGMENTS, rng.randint(1, 2)))
        carts.append(Cart(tuple(chosen.items()), segments))
    return carts


def cart_lines(
    cart: Cart, rows: Mapping[str, ProductRow], offers: Mapping[str, ProductOffers]
) -> list[engine.CartLine]:
    return [engine.CartLine(rows[pid], quantity, offers[pid]) for pid, quantity in cart.lines]


# --- counting (untimed) and timing --------------------------------------------


@dataclass(slots=True)
class WorkCount:
    """What the engine did, counted through a wrapping predicate lookup."""

    lines: int = 0
    candidates: int = 0
    evaluated: int = 0
    applied: int = 0

    def per_line(self) -> dict[str, float]:
        lines = self.lines or 1
        return {
            "candidates_per_line": round(self.candidates / lines, 1),
            "evaluated_per_line": round(self.evaluated / lines, 2),
            "applied_per_line": round(self.applied / lines, 2),
        }


def count_work(
    carts: Sequence[list[engine.CartLine]], segments: Sequence[frozenset[str]], now: datetime
) -> WorkCount:
    """Candidates, predicate evaluations and applied promotions over the carts."""
    count = WorkCount()
    cache = PredicateCache()
    counted: dict[str, Predicate] = {}

    def predicate_of(promotion: PromotionRow) -> Predicate:
        wrapped = counted.get(promotion.id)
        if wrapped is None:
            inner = cache.get(promotion)

            def counting(*args: Any) -> bool:
                count.evaluated += 1
                return inner(*args)

            wrapped = counted[promotion.id] = counting
        return wrapped

    for lines, viewer in zip(carts, segments, strict=True):
        priced = engine.price_cart(
            lines, currency=CURRENCY, segments=viewer, now=now, predicate_of=predicate_of
        )
        for line, result in zip(lines, priced.lines, strict=True):
            count.lines += 1
            count.candidates += len(line.offers.promotions) if line.offers else 0
            count.applied += len(result.unit_price.applied_promotions)
    return count


PredicateOf = Callable[[PromotionRow], Predicate]


def time_cart(
    lines: Sequence[engine.CartLine], viewer: frozenset[str], predicate_of: PredicateOf
) -> tuple[int, int]:
    """Nanoseconds of one `price_cart` call: wall clock, and this thread's CPU time (which
    a busy machine's preemptions do not inflate)."""
    cpu = time.thread_time_ns()
    started = time.perf_counter_ns()
    engine.price_cart(lines, currency=CURRENCY, segments=viewer, now=NOW, predicate_of=predicate_of)
    return time.perf_counter_ns() - started, time.thread_time_ns() - cpu


def ms_summary(nanoseconds: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99 and max in milliseconds, to the microsecond."""
    return {f"p{p}": round(percentile(nanoseconds, p) / 1e6, 3) for p in (50, 90, 99)} | {
        "max": round(max(nanoseconds) / 1e6, 3) if nanoseconds else float("nan")
    }


def measure_variant(
    store: Store, carts: Sequence[Cart], spec: StoreSpec, *, indexed: bool, stackable: bool
) -> dict[str, Any]:
    """Cold and warm `price_cart` times, and the work counted per line, for one variant."""
    offers = build_offers(store, indexed=indexed, stackable=stackable)
    rows = {row.id: row for row in store.products}
    built = [cart_lines(cart, rows, offers) for cart in carts]
    viewers = [cart.segments for cart in carts]
    work = count_work(built, viewers, NOW)
    cold: list[int] = []
    compiled: list[int] = []
    for lines, viewer in list(zip(built, viewers, strict=True))[: spec.cold_carts]:
        fresh = PredicateCache()
        cold.append(time_cart(lines, viewer, fresh.get)[0])
        compiled.append(fresh.stats.compiled)
    cache = PredicateCache()
    for lines, viewer in zip(built, viewers, strict=True):  # the warm-up pass
        time_cart(lines, viewer, cache.get)
    before = (cache.stats.hits, cache.stats.misses)
    warm: list[int] = []
    warm_cpu: list[int] = []
    gc.collect()
    gc.freeze()  # as the server does after start-up
    try:
        for _ in range(spec.warm_rounds):
            for lines, viewer in zip(built, viewers, strict=True):
                wall, cpu = time_cart(lines, viewer, cache.get)
                warm.append(wall)
                warm_cpu.append(cpu)
    finally:
        gc.unfreeze()
    hits, misses = cache.stats.hits - before[0], cache.stats.misses - before[1]
    warm_ms = ms_summary(warm)
    return {
        "carts": len(carts),
        "samples": len(warm),
        "cold_ms": ms_summary(cold),
        "cold_compiled_per_cart": round(sum(compiled) / len(compiled), 1) if compiled else None,
        "warm_ms": warm_ms,
        "warm_cpu_ms": ms_summary(warm_cpu),
        "warm_us_per_line": round(warm_ms["p50"] * 1000 / spec.cart_lines, 2),
        **work.per_line(),
        "predicates": {
            "compiled": cache.stats.compiled,
            "hit_rate_from_cold": round(cache.stats.hit_rate, 5),
            "hit_rate_measured": round(hits / (hits + misses), 5) if hits + misses else None,
            "lookups_per_cart": round((hits + misses) / len(warm), 1) if warm else None,
        },
        "meets_target": warm_ms["p50"] < TARGET_MS,
    }


def compile_all(store: Store) -> dict[str, float]:
    """Every promotion's predicate compiled once: a new process's worst first minute."""
    cache = PredicateCache()
    started = time.perf_counter_ns()
    for promo in store.promotions:
        cache.get(promo)
    elapsed = time.perf_counter_ns() - started
    return {
        "total_ms": round(elapsed / 1e6, 1),
        "us_per_promotion": round(elapsed / 1e3 / len(store.promotions), 1),
    }


def product_page_us(store: Store) -> dict[str, float]:
    """`product_page_price` at quantity 1, anonymous, warm cache: one per product."""
    offers = build_offers(store, indexed=True, stackable=False)
    cache = PredicateCache()
    samples: list[int] = []
    for _round in range(2):  # the first round warms the cache; the second is kept
        samples = []
        for row in store.products:
            started = time.perf_counter_ns()
            engine.product_page_price(
                row, 1, offers[row.id], segments=frozenset(), now=NOW, predicate_of=cache.get
            )
            samples.append(time.perf_counter_ns() - started)
    return {f"p{p}": round(percentile(samples, p) / 1e3, 1) for p in (50, 90, 99)}


def store_summary(store: Store) -> dict[str, Any]:
    """What the store holds, and how much of it the index can narrow."""
    targets = [index_targets(p.condition) for p in store.promotions]
    store_wide = sum(1 for t in targets if ANY_PRODUCT in t)
    kinds: dict[str, int] = {}
    for promo in store.promotions:
        kinds[promo.kind.value] = kinds.get(promo.kind.value, 0) + 1
    return {
        "promotions": len(store.promotions),
        "store_wide": store_wide,
        "always": sum(1 for p in store.promotions if not p.condition),
        "stackable": sum(1 for p in store.promotions if p.stackable),
        "kinds": kinds,
        "products": len(store.products),
        "categories": len(store.parents),
        "collections": len(store.collections),
    }


def other_store(spec: StoreSpec) -> dict[str, Any]:
    """The "indexed" variant on another store drawn the same way: how far down the
    candidates the chain goes depends on which promotions happen to rank first."""
    store = build_store(spec)
    carts = build_carts(store, spec.carts, spec.cart_lines, spec.seed)
    measured = measure_variant(store, carts, spec, indexed=True, stackable=False)
    return {"seed": spec.seed, "store_wide": store_summary(store)["store_wide"], **measured}


def measure_pricing(spec: StoreSpec | None = None) -> dict[str, Any]:
    """The whole measurement: the store, each variant, compiling, product pages."""
    spec = spec or StoreSpec()
    store = build_store(spec)
    carts = build_carts(store, spec.carts, spec.cart_lines, spec.seed)
    variants = {}
    for key, label, indexed, stackable in VARIANTS:
        subset = carts if key == "indexed" else carts[: spec.heavy_carts]
        variants[key] = {
            "label": label,
            **measure_variant(store, subset, spec, indexed=indexed, stackable=stackable),
        }
    return {
        "target_ms": TARGET_MS,
        "cart_lines": spec.cart_lines,
        "seed": spec.seed,
        "store": store_summary(store),
        "segmented_viewers": round(sum(1 for c in carts if c.segments) / len(carts), 3),
        "variants": variants,
        "other_stores": [other_store(replace(spec, seed=seed)) for seed in spec.other_seeds],
        "compile_all": compile_all(store),
        "product_page_us": product_page_us(store),
    }


def main() -> None:
    import sys

    from bench.report import pricing_inprocess_section

    results = measure_pricing()
    sys.stdout.write("\n\n".join(pricing_inprocess_section(results)) + "\n")


if __name__ == "__main__":
    main()
