"""Payloads of the catalog and commerce events."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from readmodels.events.conditions import check_condition
from readmodels.events.fields import (
    Amount,
    CurrencyCode,
    Name,
    Payload,
    SourceId,
    Text,
    UtcDateTime,
)


class StoreUpserted(Payload):
    storeId: SourceId
    slug: SourceId
    name: Name
    currencyCode: CurrencyCode
    ownerCreatorId: SourceId


class CategoryUpserted(Payload):
    categoryId: SourceId
    slug: SourceId
    name: Name
    parentId: SourceId | None
    position: int = Field(ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _not_own_parent(self) -> CategoryUpserted:
        if self.parentId == self.categoryId:
            raise ValueError("parentId: a category cannot be its own parent")
        return self


class CollectionUpserted(Payload):
    collectionId: SourceId
    slug: SourceId
    title: Name
    productIds: list[SourceId] = Field(max_length=10_000)


class Image(Payload):
    url: Text
    alt: Text | None = None
    width: int | None = Field(default=None, ge=1, le=100_000)
    height: int | None = Field(default=None, ge=1, le=100_000)


class ProductUpserted(Payload):
    productId: SourceId
    storeId: SourceId
    sku: SourceId
    slug: SourceId
    title: Name
    description: Text | None
    categoryId: SourceId | None
    tags: list[SourceId] = Field(max_length=100)
    images: list[Image] = Field(max_length=50)
    featured: bool
    listed: bool
    createdAt: UtcDateTime


class ProductDeleted(Payload):
    productId: SourceId


class PriceTier(Payload):
    minQuantity: int = Field(ge=1, le=1_000_000)
    unitPrice: Amount


class SegmentPrice(Payload):
    segment: SourceId
    unitPrice: Amount


class PriceSet(Payload):
    productId: SourceId
    currencyCode: CurrencyCode
    basePrice: Amount
    tiers: list[PriceTier] = Field(default_factory=list, max_length=100)
    segmentPrices: list[SegmentPrice] = Field(default_factory=list, max_length=100)

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[PriceTier]) -> list[PriceTier]:
        quantities = [tier.minQuantity for tier in tiers]
        if len(set(quantities)) != len(quantities):
            raise ValueError("two tiers share the same minQuantity")
        return tiers


class InventoryCounted(Payload):
    productId: SourceId
    onHand: int = Field(ge=0, le=1_000_000_000)


class InventoryAdjusted(Payload):
    productId: SourceId
    delta: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: Literal["restock", "sale", "return", "correction"]


class ReviewSubmitted(Payload):
    productId: SourceId
    customerId: SourceId
    rating: int = Field(ge=1, le=5)


class PromotionUpserted(Payload):
    promotionId: SourceId
    storeId: SourceId
    name: Name
    description: Text | None
    kind: Literal["PERCENT_OFF", "AMOUNT_OFF", "BUY_X_GET_Y"]
    value: Amount
    buyQuantity: int | None = Field(default=None, ge=1, le=10_000)
    getQuantity: int | None = Field(default=None, ge=1, le=10_000)
    startsAt: UtcDateTime | None
    endsAt: UtcDateTime | None
    priority: int = Field(ge=-1_000_000, le=1_000_000)
    stackable: bool
    active: bool
    condition: dict[str, Any] | None

    @field_validator("condition")
    @classmethod
    def _guard_condition(cls, condition: dict[str, Any] | None) -> dict[str, Any] | None:
        check_condition(condition)
        return condition

    @model_validator(mode="after")
    def _kind_fields(self) -> PromotionUpserted:
        if self.kind == "PERCENT_OFF" and self.value > 100:
            raise ValueError("value: a PERCENT_OFF value is a percent between 0 and 100")
        if self.kind == "BUY_X_GET_Y" and (self.buyQuantity is None or self.getQuantity is None):
            raise ValueError("buyQuantity and getQuantity are required for BUY_X_GET_Y")
        if self.startsAt and self.endsAt and self.endsAt < self.startsAt:
            raise ValueError("endsAt: ends before it starts")
        return self


class PromotionDeactivated(Payload):
    promotionId: SourceId


class CustomerSegmentsChanged(Payload):
    customerId: SourceId
    segments: list[SourceId] = Field(max_length=100)


class OrderLine(Payload):
    productId: SourceId
    quantity: int = Field(ge=1, le=1_000_000)
    unitPrice: Amount


class OrderPlaced(Payload):
    orderId: SourceId
    storeId: SourceId
    customerId: SourceId
    placedAt: UtcDateTime
    currencyCode: CurrencyCode
    lines: list[OrderLine] = Field(min_length=1, max_length=1000)
    total: Amount


class OrderCancelled(Payload):
    orderId: SourceId


class StoreTrafficRecorded(Payload):
    storeId: SourceId
    date: date
    sessions: int = Field(ge=0, le=1_000_000_000)
