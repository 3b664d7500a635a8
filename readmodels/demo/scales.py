"""How big a demo world is: one frozen set of counts per named size.

The counts are targets, not exact totals: the generator draws from skewed
distributions, so order lines, reviews, cancellations and the like land near
the rates their modules document. What is exact: stores, creators,
categories, products, collections, promotions, orders, posts, the viral
creator's followers and the power user's follows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scale:
    """The counts of one demo world size."""

    name: str
    stores: int
    creators: int  # the first `stores` creators each own one store
    category_roots: int
    category_children: int  # per root; the rest of `categories` are grandchildren
    categories: int
    products: int
    collections: int
    promotions: int
    customers: int
    users: int  # social users (follows, engagement), "u-1" .. "u-<users>"
    orders: int
    posts: int
    follows: int  # background follows, besides the viral creator's and the power user's
    engagements: int
    viral_followers: int  # users "u-1" .. "u-<viral_followers>" all follow "cr-1"
    power_user_follows: int  # how many creators "u-1" follows

    def __post_init__(self) -> None:
        middle = self.category_roots * (1 + self.category_children)
        checks = {
            "4 <= stores <= creators": 4 <= self.stores <= self.creators,
            "categories > roots + children": self.categories > middle,
            "products >= 3 * stores": self.products >= 3 * self.stores,
            "viral_followers <= users": 0 < self.viral_followers <= self.users,
            "power_user_follows <= creators": 0 < self.power_user_follows <= self.creators,
            "posts, orders, engagements > 0": min(self.posts, self.orders, self.engagements) > 0,
            "promotions >= 12 (the coverage set)": self.promotions >= 12,
            "collections, customers > 0": min(self.collections, self.customers) > 0,
        }
        broken = [rule for rule, ok in checks.items() if not ok]
        if broken:
            raise ValueError(f"scale {self.name!r} breaks: {', '.join(broken)}")


SMALL = Scale(
    name="small",
    stores=50,
    creators=50,
    category_roots=6,
    category_children=3,
    categories=60,
    products=2_000,
    collections=20,
    promotions=200,
    customers=2_000,
    users=3_000,
    orders=20_000,
    posts=5_000,
    follows=6_000,
    engagements=50_000,
    viral_followers=1_200,
    power_user_follows=40,
)

MEDIUM = Scale(
    name="medium",
    stores=1_000,
    creators=3_000,
    category_roots=10,
    category_children=8,
    categories=800,
    products=50_000,
    collections=200,
    promotions=3_000,
    customers=30_000,
    users=150_000,
    orders=300_000,
    posts=60_000,
    follows=250_000,
    engagements=1_000_000,
    viral_followers=100_000,
    power_user_follows=2_000,
)

LARGE = Scale(
    name="large",
    stores=5_000,
    creators=15_000,
    category_roots=12,
    category_children=10,
    categories=2_000,
    products=1_000_000,
    collections=1_000,
    promotions=10_000,
    customers=300_000,
    users=1_000_000,
    orders=3_000_000,
    posts=300_000,
    follows=2_000_000,
    engagements=5_000_000,
    viral_followers=300_000,
    power_user_follows=5_000,
)

SCALES: dict[str, Scale] = {scale.name: scale for scale in (SMALL, MEDIUM, LARGE)}
