"""The skeleton of a demo world: the category tree and one compact array per product field.

Streams that come later in the log (orders, promotions, posts) need to know
each product's store, price and state, so those are decided first and kept
as flat arrays indexed by product number (about 15 bytes a product). Titles
are recomputed from a hash of the product number instead of being stored.

Numbers are 1-based and ids are "<prefix>-<number>": store 3 is "s-3",
product 17 is "p-17", and array slot n - 1 holds product n.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from random import Random

from readmodels.demo.sampling import Weighted, Zipf, mix64, slugify
from readmodels.demo.scales import Scale
from readmodels.demo.timeline import DAY
from readmodels.demo.words import ADJECTIVES, CATEGORY_QUALIFIERS, MATERIALS, ROOT_CATEGORIES

LISTED = 1
FEATURED = 2
DELETED = 4

# The stories the insights and trending features are demonstrated with.
VIRAL_CREATOR = 1  # "cr-1": followed by users 1 .. scale.viral_followers, most engagement
POWER_USER = 1  # "u-1": follows scale.power_user_follows creators
DROP_STORE = 2  # "s-2": revenue falls sharply in the last 7 days
SPIKE_STORE = 3  # "s-3": revenue spikes in the last 7 days
LOW_STOCK_STORE = 4  # "s-4": its bestseller sells down to a handful of units late

# Products are created between these many days before `now` (oldest first).
CREATED_FROM_DAYS = 365
CREATED_UNTIL_DAYS = 125


@dataclass(frozen=True, slots=True)
class Category:
    number: int
    name: str
    slug: str
    parent: int | None
    position: int
    root: int  # index into ROOT_CATEGORIES


class World:
    """Everything later streams need to know about the catalog, built once per generation."""

    def __init__(self, scale: Scale, seed: int, now: int) -> None:
        self.scale = scale
        self.seed = seed
        self.now = now
        rng = Random(f"{seed}:world")
        self.categories = build_categories(scale)
        parents = {c.parent for c in self.categories}
        self.leaf_categories = [c.number for c in self.categories if c.number not in parents]
        self.middle_categories = [
            c.number for c in self.categories if c.parent is not None and c.number in parents
        ]
        self._title_salt = Random(f"{seed}:titles").getrandbits(64)
        self.product_store = array("I", bytes(4 * scale.products))
        self.product_category = array("I", bytes(4 * scale.products))
        self.product_price = array("I", bytes(4 * scale.products))  # cents
        self.product_stock = array("I", bytes(4 * scale.products))  # the first count
        self.product_flags = bytearray(scale.products)
        self._fill_products(rng)
        self.store_offsets, self.store_products = self._group_by_store()
        self._in_store = [Zipf(self.store_size(s), 1.1) for s in range(1, scale.stores + 1)]

    def _fill_products(self, rng: Random) -> None:
        scale = self.scale
        seeded = 3 * scale.stores  # the first products go round-robin: no store is empty
        by_catalog_size = Weighted([1.0 / s**0.7 for s in range(1, scale.stores + 1)])
        deleted = set(rng.sample(range(seeded + 1, scale.products + 1), deleted_count(scale)))
        leaves, middles = self.leaf_categories, self.middle_categories
        for n in range(1, scale.products + 1):
            i = n - 1
            if n <= seeded:
                self.product_store[i] = (n - 1) % scale.stores + 1
            else:
                self.product_store[i] = by_catalog_size.pick(rng) + 1
            pool = middles if rng.random() < 0.15 else leaves
            self.product_category[i] = pool[rng.randrange(len(pool))]
            euros = min(max(int(rng.lognormvariate(3.1, 0.8)), 1), 2_499)
            self.product_price[i] = euros * 100 + (99, 90, 50, 0)[rng.randrange(4)]
            roll = rng.random()
            if roll < 0.04:
                self.product_stock[i] = 0
            elif roll < 0.12:
                self.product_stock[i] = rng.randint(1, 5)
            else:
                self.product_stock[i] = rng.randint(6, 400)
            flags = FEATURED if rng.random() < 0.10 else 0
            if n <= seeded or rng.random() >= 0.05:
                flags |= LISTED
            if n in deleted:
                flags = DELETED
            self.product_flags[i] = flags

    def _group_by_store(self) -> tuple[array[int], array[int]]:
        """Orderable (listed, not deleted) products grouped by store, oldest first."""
        stores = self.scale.stores
        counts = [0] * (stores + 1)
        for i, store in enumerate(self.product_store):
            if self.product_flags[i] & LISTED:
                counts[store] += 1
        offsets = array("I", [0] * (stores + 1))
        for s in range(1, stores + 1):
            offsets[s] = offsets[s - 1] + counts[s]
        grouped = array("I", bytes(4 * offsets[stores]))
        cursor = list(offsets[:stores])
        for i, store in enumerate(self.product_store):
            if self.product_flags[i] & LISTED:
                grouped[cursor[store - 1]] = i + 1
                cursor[store - 1] += 1
        return offsets, grouped

    def store_size(self, store: int) -> int:
        return self.store_offsets[store] - self.store_offsets[store - 1]

    def store_product(self, store: int, rank: int) -> int:
        """The store's rank-th most popular orderable product (rank 0: its bestseller)."""
        return self.store_products[self.store_offsets[store - 1] + rank]

    def pick_product(self, rng: Random, store: int) -> int:
        """An orderable product of `store`, skewed towards its bestsellers."""
        return self.store_product(store, self._in_store[store - 1].pick(rng))

    def is_bestseller(self, product: int) -> bool:
        store = self.product_store[product - 1]
        top = min(2, self.store_size(store))
        return any(self.store_product(store, rank) == product for rank in range(top))

    def currency(self, store: int) -> str:
        """EUR for most stores, USD for about one in twelve."""
        return "USD" if store % 12 == 7 else "EUR"

    def title(self, product: int) -> str:
        """Adjective + material + noun, recomputed from a hash so titles need no storage."""
        h = mix64(self._title_salt ^ product)
        nouns = ROOT_CATEGORIES[self.categories[self.product_category[product - 1] - 1].root].nouns
        adjective = ADJECTIVES[h % len(ADJECTIVES)]
        material = MATERIALS[(h >> 20) % len(MATERIALS)]
        return f"{adjective} {material} {nouns[(h >> 40) % len(nouns)]}"

    def created_at(self, product: int) -> int:
        """Products appear oldest first, spread evenly over the creation window."""
        span = (CREATED_FROM_DAYS - CREATED_UNTIL_DAYS) * DAY
        return self.now - CREATED_FROM_DAYS * DAY + (product - 1) * span // self.scale.products


def deleted_count(scale: Scale) -> int:
    return max(3, scale.products // 500)


def build_categories(scale: Scale) -> list[Category]:
    """Roots, their children, then grandchildren spread evenly: parents always come first."""
    roots = ROOT_CATEGORIES[: scale.category_roots]
    children = scale.category_children
    grandchildren = scale.categories - len(roots) * (1 + children)
    per_child, extra = divmod(grandchildren, len(roots) * children)
    if scale.category_roots > len(ROOT_CATEGORIES) or children > len(roots[0].children):
        raise ValueError(f"scale {scale.name!r}: more categories than the word lists name")
    if per_child + (1 if extra else 0) > len(CATEGORY_QUALIFIERS):
        raise ValueError(f"scale {scale.name!r}: too many grandchildren per category")
    slugs: set[str] = set()
    tree: list[Category] = []

    def add(name: str, parent: int | None, position: int, root: int) -> None:
        number = len(tree) + 1
        slug = slugify(name)
        if slug in slugs:
            slug = f"{slug}-{number}"
        slugs.add(slug)
        tree.append(Category(number, name, slug, parent, position, root))

    for r, root in enumerate(roots):
        add(root.name, None, r, r)
    for r, root in enumerate(roots):
        for position, name in enumerate(root.children[:children]):
            add(name, r + 1, position, r)
    middles = list(tree[len(roots) :])
    for j, middle in enumerate(middles):
        for position in range(per_child + (1 if j < extra else 0)):
            name = f"{CATEGORY_QUALIFIERS[position]} {middle.name}"
            add(name, middle.number, position, middle.root)
    return tree
