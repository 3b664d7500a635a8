"""Relay connections: opaque cursors, page-size rules, and the connection rows."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from readmodels.catalog.listing import MAX_PAGE_SIZE, CursorKeyError, ProductSort, key_from_json
from readmodels.catalog.listing import key_to_json as _key_to_json
from resolvers.errors import BadUserInputError, InvalidCursorError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


class Edge(NamedTuple, Generic[T]):
    """One per listed item per request: a NamedTuple builds faster than a dataclass."""

    cursor: str
    node: T


@dataclass(slots=True)
class Connection(Generic[T]):
    """A page; `total` is resolved lazily (a count costs a statement only when asked)."""

    edges: list[Edge[T]]
    page_info: PageInfo
    total_key: Any = None

    @property
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


EMPTY_PAGE_INFO = PageInfo(False, False, None, None)


def connection(
    edges: list[Edge[T]], *, has_next: bool, has_previous: bool, total_key: Any = None
) -> Connection[T]:
    """A page of edges, its PageInfo cursors taken from its first and last edge."""
    info = PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges, info, total_key)


def page_size(first: int | None, *, default: int = 20) -> int:
    """`first` checked and capped at MAX_PAGE_SIZE; negative is an error, as Relay says."""
    if first is None:
        return default
    if first < 0:
        raise BadUserInputError("first: must not be negative", argument="first")
    return min(first, MAX_PAGE_SIZE)


def encode_cursor(sort: ProductSort, key: tuple[Any, ...]) -> str:
    return opaque_cursor([sort.value, *_key_to_json(sort, key)])


def opaque_cursor(values: list[Any]) -> str:
    """A cursor clients treat as opaque: the JSON of `values`, base64url without padding.
    Every listing's cursor is one of these (catalog sorts, promotions, posts)."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).rstrip(b"=").decode("ascii")


def cursor_values(cursor: str) -> Any:
    """What `opaque_cursor` encoded, or None when `cursor` is no such thing; each listing
    then checks the shape it expects."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        return orjson.loads(raw)
    except (binascii.Error, UnicodeError, ValueError, orjson.JSONDecodeError):
        return None


def decode_cursor(cursor: str, sort: ProductSort) -> tuple[Any, ...]:
    """The key after which the next page starts; InvalidCursorError for anything else."""
    values = cursor_values(cursor)
    if values is None:
        raise InvalidCursorError("after: not a cursor this API issued", argument="after")
    if not isinstance(values, list) or not values or values[0] != sort.value:
        raise InvalidCursorError(
            "after: this cursor belongs to a different sort; start again without `after`",
            argument="after",
        )
    try:
        return key_from_json(sort, values[1:])
    except CursorKeyError:
        raise InvalidCursorError("after: not a cursor this API issued", argument="after") from None
