"""A small hand-made catalog whose every expected answer can be computed in Python."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import create_engine
from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.runner import catch_up

T0 = datetime(2026, 10, 1, tzinfo=UTC)
CATEGORIES = [  # id, slug, name, parent
    ("c1", "home", "Home", None),
    ("c2", "kitchen", "Kitchen", "c1"),
    ("c3", "mugs", "Mugs", "c2"),
    ("c4", "cups", "Cups", "c2"),
    ("c5", "garden", "Garden", None),
]
DESCENDANTS = {
    "c1": {"c1", "c2", "c3", "c4"},
    "c2": {"c2", "c3", "c4"},
    "c3": {"c3"},
    "c4": {"c4"},
    "c5": {"c5"},
}


@dataclass
class Spec:
    """What the events say about one product, for computing expectations."""

    id: str
    slug: str
    title: str
    store: str
    category: str
    price: Decimal
    featured: bool
    created_at: datetime
    tags: list[str]
    stock: int
    units: int = 0
    ratings: list[int] = field(default_factory=list)
    listed: bool = True
    deleted: bool = False
    priced: bool = True

    @property
    def visible_in_listings(self) -> bool:
        return self.listed and not self.deleted and self.priced

    @property
    def rating(self) -> Decimal:
        if not self.ratings:
            return Decimal(0)
        return (Decimal(sum(self.ratings)) / len(self.ratings)).quantize(Decimal("0.001"))


def build_specs() -> list[Spec]:
    rng = random.Random(7)
    specs = []
    for i in range(1, 61):
        specs.append(
            Spec(
                id=f"p{i}",
                slug=f"product-{i}",
                title=("Bamboo Mug" if i % 4 == 0 else "Steel Cup") + f" {i}",
                store="s1" if i % 2 else "s2",
                category=["c2", "c3", "c4", "c5"][i % 4],
                price=Decimal(5) + Decimal(i % 13) / 2,
                featured=i % 7 == 0,
                created_at=T0 + timedelta(hours=i % 17, minutes=i),
                tags=[t for t, m in (("eco", 3), ("gift", 5)) if i % m == 0],
                stock=i % 8,
                units=rng.choice([0, 1, 2, 3, 5, 8]),
                ratings=[rng.randint(1, 5) for _ in range(i % 4)],
            )
        )
    specs.append(
        Spec("p61", "hidden", "Hidden Mug", "s1", "c3", Decimal(9), False, T0, [], 5, listed=False)
    )
    specs.append(
        Spec("p62", "gone", "Gone Mug", "s1", "c3", Decimal(9), False, T0, [], 5, deleted=True)
    )
    specs.append(
        Spec(
            "p63",
            "unpriced",
            "Unpriced Mug",
            "s1",
            "c3",
            Decimal(0),
            False,
            T0,
            [],
            5,
            priced=False,
        )
    )
    return specs


COLLECTION = [f"p{i}" for i in range(1, 11)]


def world_events(specs: list[Spec]) -> list[dict[str, Any]]:
    ids = random.Random(11)

    def event(type_: str, **data: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
            "type": type_,
            "occurredAt": "2026-11-01T10:00:00Z",
            "data": data,
        }

    out = [
        event(
            "CreatorUpserted",
            creatorId="cr1",
            handle="ana",
            name="Ana",
            bio="Makes mugs",
            avatarUrl=None,
            storeId="s1",
        ),
        event(
            "CreatorUpserted",
            creatorId="cr2",
            handle="ben",
            name="Ben",
            bio=None,
            avatarUrl=None,
            storeId="s2",
        ),
        event(
            "StoreUpserted",
            storeId="s1",
            slug="ana-store",
            name="Ana's",
            currencyCode="EUR",
            ownerCreatorId="cr1",
        ),
        event(
            "StoreUpserted",
            storeId="s2",
            slug="ben-store",
            name="Ben's",
            currencyCode="EUR",
            ownerCreatorId="cr2",
        ),
    ]
    for position, (cid, slug, name, parent) in enumerate(CATEGORIES):
        out.append(
            event(
                "CategoryUpserted",
                categoryId=cid,
                slug=slug,
                name=name,
                parentId=parent,
                position=position,
            )
        )
    order = 0
    for s in specs:
        out.append(
            event(
                "ProductUpserted",
                productId=s.id,
                storeId=s.store,
                sku=s.id.upper(),
                slug=s.slug,
                title=s.title,
                description=f"About {s.title}",
                categoryId=s.category,
                tags=s.tags,
                images=[
                    {
                        "url": f"https://img.test/{s.id}.jpg",
                        "alt": s.title,
                        "width": 800,
                        "height": 600,
                    }
                ],
                featured=s.featured,
                listed=s.listed,
                createdAt=s.created_at.isoformat().replace("+00:00", "Z"),
            )
        )
        if s.priced:
            out.append(
                event(
                    "PriceSet",
                    productId=s.id,
                    currencyCode="EUR",
                    basePrice=str(s.price),
                    tiers=[{"minQuantity": 10, "unitPrice": str(s.price - 1)}],
                    segmentPrices=[],
                )
            )
        out.append(event("InventoryCounted", productId=s.id, onHand=s.stock + 2))
        out.append(event("InventoryAdjusted", productId=s.id, delta=-2, reason="sale"))
        for n, rating in enumerate(s.ratings):
            out.append(event("ReviewSubmitted", productId=s.id, customerId=f"cu{n}", rating=rating))
        if s.units:
            order += 1
            line = {"productId": s.id, "quantity": s.units, "unitPrice": str(s.price)}
            out.append(
                event(
                    "OrderPlaced",
                    orderId=f"o{order}",
                    storeId=s.store,
                    customerId="cu1",
                    placedAt="2026-11-01T10:00:00Z",
                    currencyCode="EUR",
                    lines=[line],
                    total=str(s.price * s.units),
                )
            )
            # A cancelled extra order must not count.
            order += 1
            out.append(
                event(
                    "OrderPlaced",
                    orderId=f"o{order}",
                    storeId=s.store,
                    customerId="cu2",
                    placedAt="2026-11-01T10:00:00Z",
                    currencyCode="EUR",
                    lines=[{**line, "quantity": 1}],
                    total=str(s.price),
                )
            )
            out.append(event("OrderCancelled", orderId=f"o{order}"))
        if s.deleted:
            out.append(event("ProductDeleted", productId=s.id))
    out.append(
        event(
            "CollectionUpserted",
            collectionId="k1",
            slug="gifts",
            title="Gifts",
            productIds=COLLECTION,
        )
    )
    return out


async def load_world(engine: AsyncEngine) -> list[Spec]:
    specs = build_specs()
    events, errors = validate_events(world_events(specs))
    assert errors == []
    await append_events(engine, events)
    await catch_up(engine, all_projections(), batch_size=50)
    return specs


def sort_key(sort: str, s: Spec) -> tuple[Any, ...]:
    """The order each ProductSort promises, written independently of the SQL."""
    return {
        "FEATURED": (not s.featured, -s.created_at.timestamp(), _desc(s.id)),
        "NEWEST": (-s.created_at.timestamp(), _desc(s.id)),
        "PRICE_ASC": (s.price, s.id),
        "PRICE_DESC": (-s.price, _desc(s.id)),
        "TOP_RATED": (-s.rating, -len(s.ratings), _desc(s.id)),
        "BEST_SELLING": (-s.units, _desc(s.id)),
    }[sort]


class _desc(str):
    """A string that sorts in reverse."""

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


@pytest.fixture(scope="module", name="world")
async def catalog_world(
    server_url: str, template_url: str
) -> AsyncIterator[tuple[AsyncEngine, list[Spec]]]:
    """This catalog in a database of its own, shared by a module's read-only tests
    (import `catalog_world` into the module to get the `world` fixture)."""
    from tests.conftest import create_database, drop_database
    from tests.resolvers.execution import close_read_pools

    url = await create_database(server_url, template_url)
    engine = create_engine(url)
    specs = await load_world(engine)
    yield engine, specs
    await engine.dispose()
    await close_read_pools()  # before the database goes: their connections would retry
    await drop_database(server_url, url)
