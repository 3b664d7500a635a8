"""Every event type Vitrine accepts, by name."""

from __future__ import annotations

from readmodels.events import catalog, feeds, insights
from readmodels.events.fields import Payload

EVENT_TYPES: dict[str, type[Payload]] = {
    model.__name__: model
    for model in (
        catalog.StoreUpserted,
        catalog.CategoryUpserted,
        catalog.CollectionUpserted,
        catalog.ProductUpserted,
        catalog.ProductDeleted,
        catalog.PriceSet,
        catalog.InventoryCounted,
        catalog.InventoryAdjusted,
        catalog.ReviewSubmitted,
        catalog.PromotionUpserted,
        catalog.PromotionDeactivated,
        catalog.CustomerSegmentsChanged,
        catalog.OrderPlaced,
        catalog.OrderCancelled,
        catalog.StoreTrafficRecorded,
        feeds.CreatorUpserted,
        feeds.PostPublished,
        feeds.PostUnpublished,
        feeds.Followed,
        feeds.Unfollowed,
        feeds.EngagementRecorded,
        insights.InsightSeen,
        insights.InsightDismissed,
    )
}
