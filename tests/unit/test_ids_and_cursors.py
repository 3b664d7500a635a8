"""Opaque ids and cursors: round trips and the errors for anything else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from readmodels.catalog.listing import ProductSort
from resolvers.errors import BadUserInputError, InvalidCursorError, InvalidIdError
from resolvers.ids import decode_id, decode_id_of, encode_id
from resolvers.pagination import decode_cursor, encode_cursor, page_size


def test_global_ids_round_trip() -> None:
    """A global id decodes to its type and source id, colons included."""
    assert decode_id(encode_id("Product", "p:1")) == ("Product", "p:1")


@pytest.mark.parametrize("bad", ["", "abc", "@@@", encode_id("Product", "x")[:-3] + "!!!"])
def test_garbage_ids_are_invalid(bad: str) -> None:
    """Anything that is not one of our ids is INVALID_ID."""
    with pytest.raises(InvalidIdError):
        decode_id(bad)


def test_unknown_type_in_id_is_invalid() -> None:
    """A well-encoded id naming a type we do not serve is INVALID_ID."""
    forged = base64.urlsafe_b64encode(b"Secret:1").decode().rstrip("=")
    with pytest.raises(InvalidIdError):
        decode_id(forged)


def test_id_of_the_wrong_type_names_the_argument() -> None:
    """Passing a store id where a category id is expected names the argument."""
    with pytest.raises(InvalidIdError) as error:
        decode_id_of("Category", encode_id("Store", "s1"), argument="categoryId")
    assert error.value.extensions == {"code": "INVALID_ID", "argument": "categoryId"}


KEYS = {
    ProductSort.FEATURED: (True, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "p1"),
    ProductSort.NEWEST: (datetime(2026, 1, 2, tzinfo=UTC), "p1"),
    ProductSort.PRICE_ASC: (Decimal("19.90"), "p1"),
    ProductSort.PRICE_DESC: (Decimal("0"), "p2"),
    ProductSort.TOP_RATED: (Decimal("4.500"), 12, "p3"),
    ProductSort.BEST_SELLING: (1000, "p4"),
}


@pytest.mark.parametrize("sort", list(ProductSort))
def test_cursor_round_trips_for_every_sort(sort: ProductSort) -> None:
    """Every sort's key survives encoding with its exact types."""
    assert decode_cursor(encode_cursor(sort, KEYS[sort]), sort) == KEYS[sort]


def test_cursor_of_another_sort_is_rejected() -> None:
    """A cursor from one sort cannot page another."""
    cursor = encode_cursor(ProductSort.NEWEST, KEYS[ProductSort.NEWEST])
    with pytest.raises(InvalidCursorError, match="different sort"):
        decode_cursor(cursor, ProductSort.PRICE_ASC)


def raw_cursor(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "sort"),
    [
        ("", ProductSort.NEWEST),
        ("not-base64!", ProductSort.NEWEST),
        (raw_cursor(b"[]"), ProductSort.NEWEST),
        (raw_cursor(b'{"a": 1}'), ProductSort.NEWEST),
        (raw_cursor(b'["NEWEST"]'), ProductSort.NEWEST),
        (raw_cursor(b'["NEWEST", 1, 2]'), ProductSort.NEWEST),
        (raw_cursor(b'["NEWEST", "2026-01-01T00:00:00", "p1"]'), ProductSort.NEWEST),
        (raw_cursor(b'["PRICE_ASC", "NaN", "p1"]'), ProductSort.PRICE_ASC),
        (raw_cursor(b'["BEST_SELLING", true, "p1"]'), ProductSort.BEST_SELLING),
    ],
)
def test_malformed_cursors_are_rejected(cursor: str, sort: ProductSort) -> None:
    """Garbage, wrong arity, naive times, wrong types and NaN prices are INVALID_CURSOR."""
    with pytest.raises(InvalidCursorError) as error:
        decode_cursor(cursor, sort)
    assert error.value.extensions == {"code": "INVALID_CURSOR", "argument": "after"}


def test_page_size_is_capped_and_never_negative() -> None:
    """first defaults, caps at 100, and rejects negatives."""
    assert (page_size(None), page_size(48), page_size(5000)) == (20, 48, 100)
    with pytest.raises(BadUserInputError):
        page_size(-1)


@pytest.mark.parametrize("source_id", ["a\x00b", "tab\there", "x" * 201, ""])
def test_ids_no_source_system_issues_are_invalid(source_id: str) -> None:
    """A control character (the database refuses NUL), 201 characters, or nothing: INVALID_ID."""
    raw = base64.urlsafe_b64encode(f"Post:{source_id}".encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidIdError):
        decode_id(raw)


@pytest.mark.parametrize(
    "values",
    [
        ["feed", "2026-11-01T00:00:00+00:00", "po\x00-1"],
        ["feed", "0001-01-01T00:00:00+14:00", "po-1"],
        ["feed", "2026-11-01T00:00:00", "po-1"],
    ],
)
def test_post_cursors_outside_what_the_api_issues_are_invalid(values: list[str]) -> None:
    """A NUL in the id, an instant before year 1 in UTC, or no zone: INVALID_CURSOR."""
    from resolvers.feeds.fields import decode_post_cursor

    cursor = base64.urlsafe_b64encode(orjson.dumps(values)).rstrip(b"=").decode()
    with pytest.raises(InvalidCursorError):
        decode_post_cursor("feed", cursor)
