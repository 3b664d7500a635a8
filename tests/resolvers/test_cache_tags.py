"""Cache tags: what each operation read, as collected on the request context by the loaders,
and what the projections announce when the same things change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from graphql import execute
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.execution.is_awaitable import optimized_is_awaitable

from readmodels.eventlog.store import append_events
from readmodels.events import validate_events
from readmodels.projections import all_projections
from readmodels.projector.batch import BatchOutcome
from readmodels.projector.runner import catch_up
from resolvers.context import RequestContext
from tests.conftest import CONTRACT
from tests.e2e.events import event
from tests.resolvers.execution import DOCUMENTS, SCHEMA, reader_for

PRODUCT_PAGE = (CONTRACT / "operations" / "ProductPage.graphql").read_text()
CATEGORY_LISTING = (CONTRACT / "operations" / "CategoryListing.graphql").read_text()
CREATOR_PROFILE = (CONTRACT / "operations" / "CreatorProfile.graphql").read_text()
MISSING = '{ product(slug: "nope") { id } collection(slug: "none") { id } }'
BY_ID = '{ node(id: "Q29sbGVjdGlvbjprMQ") { id } categories { slug } }'


def world() -> list[dict[str, Any]]:
    return [
        event("CreatorUpserted", creatorId="cr1", handle="ana", name="Ana", bio=None,
              avatarUrl=None, storeId="s1"),
        event("StoreUpserted", storeId="s1", slug="ana-shop", name="Ana's", currencyCode="EUR",
              ownerCreatorId="cr1"),
        event("CategoryUpserted", categoryId="c1", slug="home", name="Home", parentId=None,
              position=0),
        event("CategoryUpserted", categoryId="c2", slug="mugs", name="Mugs", parentId="c1",
              position=0),
        event("ProductUpserted", productId="p1", storeId="s1", sku="M", slug="mug", title="Mug",
              description=None, categoryId="c2", tags=[], images=[], featured=False, listed=True,
              createdAt="2026-11-01T00:00:00Z"),
        event("PriceSet", productId="p1", currencyCode="EUR", basePrice="12.00", tiers=[],
              segmentPrices=[]),
        event("CollectionUpserted", collectionId="k1", slug="gifts", title="Gifts",
              productIds=["p1"]),
    ]  # fmt: skip


async def load(engine: AsyncEngine, raw: list[dict[str, Any]]) -> list[BatchOutcome]:
    events, errors = validate_events(raw)
    assert errors == []
    await append_events(engine, events)
    outcomes: list[BatchOutcome] = []
    await catch_up(engine, all_projections(), on_batch=outcomes.append)
    return outcomes


async def tags_of(engine: AsyncEngine, query: str, variables: dict[str, Any]) -> set[str]:
    context = RequestContext(db=reader_for(engine), now=datetime.now(UTC))
    prepared = DOCUMENTS.get(query)
    result = execute(
        SCHEMA._schema,
        prepared.document,  # type: ignore[union-attr]
        context_value=context,
        variable_values=variables,
        executor_class=SCHEMA.execution_context_class,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
    )
    if optimized_is_awaitable(result):
        result = await result  # type: ignore[misc]
    assert result.errors is None, result.errors  # type: ignore[union-attr]
    return context.tags


async def test_operations_collect_the_tags_of_what_they_read(engine: AsyncEngine) -> None:
    """Every row read adds its entity tag; lookups by slug, lists and listings add their keys'."""
    await load(engine, world())
    assert await tags_of(engine, PRODUCT_PAGE, {"slug": "mug"}) == {
        "product-slug:mug",
        "product:p1",
        "price:p1",
        # Its offers: a new promotion of the store, or a collection it joins, may apply.
        "store-promotions:s1",
        "product-collections:p1",
        "recommendations:p1",
        "store:s1",
        "category:c2",
        "category:c1",
    }
    assert await tags_of(engine, CATEGORY_LISTING, {"slug": "home"}) == {
        "category-slug:home",
        "category:c1",
        "category-children:c1",
        "category:c2",
        "listing:c:c1",
        "product:p1",
        "price:p1",
        "store-promotions:s1",
        "product-collections:p1",
    }
    assert await tags_of(engine, CREATOR_PROFILE, {"handle": "ana"}) == {
        "creator-handle:ana",
        "creator:cr1",
        # Its counts and posts (none here): a follow or a new post changes them.
        "creator-counts:cr1",
        "creator-posts:cr1",
        "store:s1",
        "listing:s:s1",
        "product:p1",
        "price:p1",
        "store-promotions:s1",
        "product-collections:p1",
        "category:c2",  # the product's category path decides `categoryIn` promotions
        "category:c1",
    }


async def test_lookups_that_find_nothing_are_tagged_by_their_key(engine: AsyncEngine) -> None:
    """A cached "not found" carries the key's tag, which the projection announces on creation."""
    await load(engine, world())
    assert await tags_of(engine, MISSING, {}) == {"product-slug:nope", "collection-slug:none"}
    assert await tags_of(engine, BY_ID, {}) == {
        "collection:k1",
        "category-children:root",
        "category:c1",
    }


async def test_projections_announce_the_tags_the_loaders_use(engine: AsyncEngine) -> None:
    """Creating, moving and regrouping announce the key tags that reads of them carry."""
    first = await load(engine, world())
    assert set().union(*(o.tags for o in first)) == {
        "creator:cr1",
        "creator-handle:ana",
        "store:s1",
        "store-slug:ana-shop",
        "category:c1",
        "category:c2",
        "category-slug:home",
        "category-slug:mugs",
        "category-children:root",
        "category-children:c1",
        "product:p1",
        "product-slug:mug",
        "price:p1",
        "collection:k1",
        "collection-slug:gifts",
        "product-collections:p1",
        "listing:all",
        "listing:s:s1",
        "listing:k:k1",
        "listing:c:c1",
        "listing:c:c2",
        "listing:cd:c2",
    }
    moved = await load(
        engine,
        [
            event(
                "CategoryUpserted",
                categoryId="c3",
                slug="kitchen",
                name="Kitchen",
                parentId=None,
                position=1,
            ),
            event(
                "CategoryUpserted",
                categoryId="c2",
                slug="mugs",
                name="Mugs",
                parentId="c3",
                position=0,
            ),
        ],
    )
    (catalog,) = [o for o in moved if o.projection == "catalog"]
    assert catalog.tags == {
        "category:c1",  # productCount fell
        "category:c2",
        "category:c3",
        "category-slug:kitchen",
        "category-slug:mugs",
        "category-children:root",
        "category-children:c1",
        "category-children:c3",
        "listing:all",
        "listing:s:s1",
        "listing:k:k1",
        "listing:c:c1",
        "listing:c:c2",
        "listing:c:c3",
        "listing:cd:c2",
    }
    regrouped = await load(
        engine,
        [
            event(
                "CollectionUpserted", collectionId="k1", slug="gifts", title="Gifts", productIds=[]
            )
        ],
    )
    (catalog,) = [o for o in regrouped if o.projection == "catalog"]
    assert catalog.tags == {
        "collection:k1",
        "collection-slug:gifts",
        "product-collections:p1",  # p1 left k1
        "listing:all",
        "listing:s:s1",
        "listing:k:k1",
        "listing:c:c3",
        "listing:c:c2",
        "listing:cd:c2",
    }
