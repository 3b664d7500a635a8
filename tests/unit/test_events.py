"""Event validation: what ingest accepts and the errors it names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from readmodels.events import validate_events
from readmodels.events.conditions import ConditionError, check_condition


def event(type_: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "occurredAt": "2026-11-01T10:00:00Z",
        "data": data,
    }


PRICE = {
    "productId": "p1",
    "currencyCode": "EUR",
    "basePrice": "19.90",
    "tiers": [],
    "segmentPrices": [],
}


def test_valid_event_is_normalised() -> None:
    """A valid event comes back with UTC time and its payload as plain JSON values."""
    raw = event("PriceSet", **{**PRICE, "tiers": [{"minQuantity": 3, "unitPrice": "17.5"}]})
    raw["occurredAt"] = "2026-11-01T12:00:00+02:00"
    events, errors = validate_events([raw])
    assert errors == []
    assert events[0].occurred_at.isoformat() == "2026-11-01T10:00:00+00:00"
    assert events[0].data["tiers"] == [{"minQuantity": 3, "unitPrice": "17.5"}]


def test_unknown_type_is_named() -> None:
    """An unknown type is rejected with UNKNOWN_EVENT_TYPE and the event's index and id."""
    raw = event("PriceChanged", productId="p1")
    _, errors = validate_events([event("ProductDeleted", productId="p0"), raw])
    assert [(e.index, e.event_id, e.field, e.code) for e in errors] == [
        (1, raw["id"], "type", "UNKNOWN_EVENT_TYPE")
    ]


def test_missing_and_wrong_fields_are_named_with_their_path() -> None:
    """Each bad field of the payload is reported with its path under data."""
    raw = event(
        "OrderPlaced",
        orderId="o1",
        storeId="s1",
        customerId="c1",
        placedAt="2026-11-01T10:00:00Z",
        currencyCode="EUR",
        lines=[{"productId": "p1", "quantity": 0, "unitPrice": 3.5}],
        total="7.00",
    )
    _, errors = validate_events([raw])
    assert sorted(e.field for e in errors) == ["data.lines[0].quantity", "data.lines[0].unitPrice"]


def test_float_money_is_rejected() -> None:
    """Amounts must be decimal strings: a float has already lost cents."""
    _, errors = validate_events([event("PriceSet", **{**PRICE, "basePrice": 19.9})])
    assert [(e.field, e.message) for e in errors] == [
        ("data.basePrice", 'Value error, must be a decimal string such as "19.90"')
    ]


def test_envelope_errors() -> None:
    """A bad id, a naive time and extra envelope fields are each reported."""
    raw = event("ProductDeleted", productId="p1")
    raw.update(id="nope", occurredAt="2026-11-01T10:00:00", extra=1)
    _, errors = validate_events([raw])
    assert sorted(e.field for e in errors) == ["extra", "id", "occurredAt"]


def test_non_object_event() -> None:
    """A JSON value that is not an object is rejected."""
    _, errors = validate_events([[1, 2]])
    assert [(e.index, e.message) for e in errors] == [(0, "an event must be a JSON object")]


def test_unknown_payload_field_is_rejected() -> None:
    """Unknown payload fields are mistakes (a typo would silently drop data)."""
    _, errors = validate_events([event("ProductDeleted", productId="p1", productID="p1")])
    assert [e.field for e in errors] == ["data.productID"]


def test_category_cannot_be_its_own_parent() -> None:
    """A category naming itself as parent is rejected."""
    raw = event("CategoryUpserted", categoryId="c1", slug="a", name="A", parentId="c1", position=0)
    _, errors = validate_events([raw])
    assert len(errors) == 1
    assert "own parent" in errors[0].message


def nested(depth: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"minQuantity": 2}
    for _ in range(depth - 1):
        condition = {"not": condition}
    return condition


def test_condition_depth_limit() -> None:
    """Six levels are accepted, seven are rejected."""
    check_condition(nested(6))
    with pytest.raises(ConditionError, match="deeper than 6 levels"):
        check_condition(nested(7))


def test_condition_leaf_limit() -> None:
    """256 leaves are accepted, 257 are rejected."""
    check_condition({"any": [{"tagIn": ["a"]}] * 256})
    with pytest.raises(ConditionError, match="more than 256 leaves"):
        check_condition({"any": [{"tagIn": ["a"]}] * 257})


def test_condition_unknown_leaf_and_always() -> None:
    """null and {} mean always; an unknown leaf is named."""
    check_condition(None)
    check_condition({})
    with pytest.raises(ConditionError, match="unknown condition 'colourIn'"):
        check_condition({"all": [{"colourIn": ["red"]}]})


def test_promotion_condition_errors_name_the_promotion_field() -> None:
    """A promotion whose condition is too deep is rejected at ingest, naming it and the field."""
    raw = event(
        "PromotionUpserted",
        promotionId="pr1",
        storeId="s1",
        name="Deep",
        description=None,
        kind="PERCENT_OFF",
        value="10",
        startsAt=None,
        endsAt=None,
        priority=1,
        stackable=True,
        active=True,
        condition=nested(7),
    )
    _, errors = validate_events([raw])
    assert [(e.event_id, e.field) for e in errors] == [(raw["id"], "data.condition")]
    assert errors[0].message == (
        "promotion 'pr1': Value error, condition.not.not.not.not.not.not: deeper than 6 levels"
    )


def test_an_over_wide_condition_names_the_promotion() -> None:
    """257 leaves are refused at ingest with a message naming the promotion and the limit."""
    raw = event(
        "PromotionUpserted",
        promotionId="pr-wide",
        storeId="s1",
        name="Wide",
        description=None,
        kind="PERCENT_OFF",
        value="10",
        startsAt=None,
        endsAt=None,
        priority=1,
        stackable=True,
        active=True,
        condition={"any": [{"tagIn": ["a"]}] * 257},
    )
    accepted, errors = validate_events([raw])
    assert accepted == []
    assert [(e.field, e.message) for e in errors] == [
        ("data.condition", "promotion 'pr-wide': Value error, condition: more than 256 leaves")
    ]


def test_an_event_dated_beyond_tomorrow_is_refused() -> None:
    """A day of clock skew is accepted; an event from 2099 is INVALID_EVENT on occurredAt."""
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    soon = {**event("PostUnpublished", postId="po-1"), "occurredAt": "2026-12-05T11:00:00Z"}
    late = {**event("PostUnpublished", postId="po-1"), "occurredAt": "2099-01-01T00:00:00Z"}
    accepted, errors = validate_events([soon], now=now)
    assert (len(accepted), errors) == (1, [])
    accepted, errors = validate_events([late], now=now)
    assert accepted == []
    assert [(e.field, e.message, e.code) for e in errors] == [
        ("occurredAt", "is in the future (after 2026-12-05T12:00:00Z)", "INVALID_EVENT")
    ]


def test_a_nul_character_anywhere_in_the_payload_is_named() -> None:
    """A NUL in any string of the payload, or in a key, is refused at its path (the log's JSONB
    cannot store one: it failed the whole append with a 500)."""
    raw = event(
        "ProductUpserted",
        productId="p1",
        storeId="s1\x00",
        sku="M",
        slug="mug",
        title="Mug",
        description=None,
        categoryId=None,
        tags=["ok", "bad\x00"],
        images=[],
        featured=False,
        listed=True,
        createdAt="2026-11-01T00:00:00Z",
    )
    raw["data"]["odd\x00key"] = 1
    events, errors = validate_events([raw])
    assert events == []
    nul = [(e.field, e.code) for e in errors if "NUL" in e.message]
    assert nul == [
        ("data.odd\\u0000key", "INVALID_EVENT"),
        ("data.storeId", "INVALID_EVENT"),
        ("data.tags[1]", "INVALID_EVENT"),
    ]
    # The unknown key is refused for what it is, too.
    assert [e.field for e in errors if "NUL" not in e.message] == ["data.odd\x00key"]
