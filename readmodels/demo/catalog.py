"""Catalog events: stores, creators, categories, products with prices and stock, collections."""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Any

from readmodels.demo.sampling import Weighted, money, percent_of, slugify
from readmodels.demo.timeline import Draft, stamp
from readmodels.demo.words import (
    COLLECTION_TITLES,
    CREATOR_TOPICS,
    DESCRIPTIONS,
    FIRST_NAMES,
    LAST_NAMES,
    PRICED_SEGMENTS,
    RANDOM_TAGS,
    STORE_PREFIXES,
    STORE_SUFFIXES,
)
from readmodels.demo.world import DELETED, FEATURED, LISTED, World

IMAGE_SIZES = ((800, 800), (1200, 900), (1080, 1350), (1600, 1600))
TIER_QUANTITIES = (3, 5, 10, 20, 50)
NEWEST_SHARE = 0.05  # the newest 5% of products are tagged "new"


def structure_drafts(world: World, at: int) -> Iterator[Draft]:
    """Stores, then creators (the first `stores` creators own one each), then categories."""
    scale = world.scale
    rng = Random(f"{world.seed}:structure")
    for s in range(1, scale.stores + 1):
        prefix = STORE_PREFIXES[(s - 1) % len(STORE_PREFIXES)]
        suffix = STORE_SUFFIXES[(s - 1) // len(STORE_PREFIXES) % len(STORE_SUFFIXES)]
        repeat = (s - 1) // (len(STORE_PREFIXES) * len(STORE_SUFFIXES))
        name = f"{prefix} {suffix}" + (f" {repeat + 1}" if repeat else "")
        yield (
            at,
            "StoreUpserted",
            {
                "storeId": f"s-{s}",
                "slug": f"store-{s}",
                "name": name,
                "currencyCode": world.currency(s),
                "ownerCreatorId": f"cr-{s}",
            },
        )
    for c in range(1, scale.creators + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        yield (
            at,
            "CreatorUpserted",
            {
                "creatorId": f"cr-{c}",
                "handle": f"creator{c}",
                "name": f"{first} {last}",
                "bio": f"{first} shares {rng.choice(CREATOR_TOPICS)} and small finds.",
                "avatarUrl": f"https://img.vitrine.example/avatars/cr-{c}.jpg",
                "storeId": f"s-{c}" if c <= scale.stores else None,
            },
        )
    for category in world.categories:
        yield (
            at,
            "CategoryUpserted",
            {
                "categoryId": f"c-{category.number}",
                "slug": category.slug,
                "name": category.name,
                "parentId": None if category.parent is None else f"c-{category.parent}",
                "position": category.position,
            },
        )


def product_drafts(world: World) -> Iterator[Draft]:
    """Each product's upsert, price and first stock count, at its creation time."""
    rng = Random(f"{world.seed}:products")
    newest = int(world.scale.products * (1 - NEWEST_SHARE))
    for n in range(1, world.scale.products + 1):
        i = n - 1
        at = world.created_at(n)
        store = world.product_store[i]
        title = world.title(n)
        flags = world.product_flags[i]
        tags = rng.sample(RANDOM_TAGS, rng.choice((0, 1, 1, 2, 2, 3)))
        if n > newest:
            tags.append("new")
        if flags & LISTED and world.is_bestseller(n):
            tags.append("bestseller")
        images = []
        for view in range(rng.randint(1, 4)):
            width, height = IMAGE_SIZES[rng.randrange(len(IMAGE_SIZES))]
            images.append(
                {
                    "url": f"https://img.vitrine.example/p/{n}/{view + 1}.jpg",
                    "alt": f"{title}, view {view + 1}",
                    "width": width,
                    "height": height,
                }
            )
        yield (
            at,
            "ProductUpserted",
            {
                "productId": f"p-{n}",
                "storeId": f"s-{store}",
                "sku": f"SKU-{store:05d}-{n:07d}",
                "slug": f"p-{n}-{slugify(title)}",
                "title": title,
                "description": f"{title}. {rng.choice(DESCRIPTIONS)}",
                "categoryId": f"c-{world.product_category[i]}",
                "tags": tags,
                "images": images,
                "featured": bool(flags & FEATURED),
                "listed": bool(flags & LISTED) or bool(flags & DELETED),
                "createdAt": stamp(at),
            },
        )
        yield (
            at,
            "PriceSet",
            price_data(rng, f"p-{n}", world.product_price[i], world.currency(store)),
        )
        yield at, "InventoryCounted", {"productId": f"p-{n}", "onHand": world.product_stock[i]}


def price_data(rng: Random, product_id: str, cents: int, currency: str) -> dict[str, Any]:
    """A base price; for some products 1-3 volume tiers and prices for customer segments."""
    tiers = []
    if rng.random() < 0.30:
        quantities = sorted(rng.sample(TIER_QUANTITIES, rng.randint(1, 3)))
        tiers = [
            {"minQuantity": q, "unitPrice": money(percent_of(cents, 5 * (k + 1)))}
            for k, q in enumerate(quantities)
        ]
    segment_prices = []
    if rng.random() < 0.15:
        for segment in rng.sample(PRICED_SEGMENTS, rng.randint(1, 2)):
            off = {"vip": 10, "wholesale": 20, "students": 15}[segment]
            segment_prices.append({"segment": segment, "unitPrice": money(percent_of(cents, off))})
    return {
        "productId": product_id,
        "currencyCode": currency,
        "basePrice": money(cents),
        "tiers": tiers,
        "segmentPrices": segment_prices,
    }


def collection_drafts(world: World, at: int) -> Iterator[Draft]:
    """Curated, cross-store collections of 10-50 popular orderable products."""
    rng = Random(f"{world.seed}:collections")
    stores = Weighted([1.0 / s for s in range(1, world.scale.stores + 1)])
    for k in range(1, world.scale.collections + 1):
        title = COLLECTION_TITLES[(k - 1) % len(COLLECTION_TITLES)]
        if k > len(COLLECTION_TITLES):
            title = f"{title} {(k - 1) // len(COLLECTION_TITLES) + 1}"
        wanted = rng.randint(10, 50)
        chosen: dict[int, None] = {}
        for _ in range(wanted * 4):
            chosen[world.pick_product(rng, stores.pick(rng) + 1)] = None
            if len(chosen) == wanted:
                break
        yield (
            at,
            "CollectionUpserted",
            {
                "collectionId": f"k-{k}",
                "slug": f"k-{k}-{slugify(title)}",
                "title": title,
                "productIds": [f"p-{n}" for n in chosen],
            },
        )


def deletion_drafts(world: World, start: int) -> Iterator[Draft]:
    """ProductDeleted for the few products the world marked deleted, spread over the window."""
    rng = Random(f"{world.seed}:deletions")
    deleted = [n for n, flags in enumerate(world.product_flags, start=1) if flags & DELETED]
    times = sorted(rng.randrange(start, world.now) for _ in deleted)
    for at, n in zip(times, deleted, strict=True):
        yield at, "ProductDeleted", {"productId": f"p-{n}"}
