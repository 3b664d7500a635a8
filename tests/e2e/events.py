"""Building raw events for end-to-end tests."""

from __future__ import annotations

import uuid
from typing import Any


def event(type_: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "occurredAt": "2026-11-22T08:00:00Z",
        "data": data,
    }


def mug_store(price: str = "12.00") -> list[dict[str, Any]]:
    """A store with one listed, priced product (slug "mug")."""
    return [
        event(
            "StoreUpserted",
            storeId="s1",
            slug="s",
            name="S",
            currencyCode="EUR",
            ownerCreatorId="cr1",
        ),
        event(
            "ProductUpserted",
            productId="p1",
            storeId="s1",
            sku="M",
            slug="mug",
            title="Mug",
            description=None,
            categoryId=None,
            tags=[],
            images=[],
            featured=False,
            listed=True,
            createdAt="2026-11-01T00:00:00Z",
        ),
        event(
            "PriceSet",
            productId="p1",
            currencyCode="EUR",
            basePrice=price,
            tiers=[],
            segmentPrices=[],
        ),
    ]


def ana_mug_store(price: str = "12.00") -> list[dict[str, Any]]:
    """Creator ana (cr1) and her store's one listed, priced mug."""
    creator = event(
        "CreatorUpserted",
        creatorId="cr1",
        handle="ana",
        name="Ana",
        bio=None,
        avatarUrl=None,
        storeId="s1",
    )
    return [creator, *mug_store(price)]
