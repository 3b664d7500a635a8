"""Listing shapes: scopes, sorts and filters, and the keyset SQL that pages them.

Every sort orders `listing_entries` by columns all in one direction, ending
with the product id, so "the page after this cursor" is a row comparison
that PostgreSQL answers by walking one index from the cursor onwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

MAX_PAGE_SIZE = 100


class ProductSort(Enum):
    FEATURED = "FEATURED"
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    TOP_RATED = "TOP_RATED"
    BEST_SELLING = "BEST_SELLING"


@dataclass(frozen=True, slots=True)
class SortSpec:
    columns: tuple[str, ...]
    descending: bool


SORTS: dict[ProductSort, SortSpec] = {
    ProductSort.FEATURED: SortSpec(("featured", "created_at", "product_id"), True),
    ProductSort.NEWEST: SortSpec(("created_at", "product_id"), True),
    ProductSort.PRICE_ASC: SortSpec(("price", "product_id"), False),
    ProductSort.PRICE_DESC: SortSpec(("price", "product_id"), True),
    ProductSort.TOP_RATED: SortSpec(("rating", "rating_count", "product_id"), True),
    ProductSort.BEST_SELLING: SortSpec(("units_sold", "product_id"), True),
}


def category_scope(category_id: str, include_subcategories: bool = True) -> str:
    return f"c:{category_id}" if include_subcategories else f"cd:{category_id}"


def store_scope(store_id: str) -> str:
    return f"s:{store_id}"


def collection_scope(collection_id: str) -> str:
    return f"k:{collection_id}"


ALL_PRODUCTS = "all"


@dataclass(frozen=True, slots=True)
class ListingFilter:
    """Conditions beyond the listing's scope; hashable, so equal listings batch together."""

    also_in: tuple[str, ...] = ()
    in_stock: bool | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    tags: tuple[str, ...] = ()
    search: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == NO_FILTER


NO_FILTER = ListingFilter()


@dataclass(frozen=True, slots=True)
class ListingQuery:
    scope: str
    sort: ProductSort
    first: int
    after: tuple[Any, ...] | None = None
    filter: ListingFilter = NO_FILTER


class _Params:
    """Positional parameters ($1, $2, ...) collected while a statement is assembled."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{cast}"


def _like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# A search term this long is looked up first (trigram index when the server
# has pg_trgm), then only its matches are sorted: cost grows with the
# matches, not with the listing. Shorter terms match so much that walking
# the listing's sort index finds a page sooner.
SEARCH_FIRST_MIN_LENGTH = 3


def _search_first(listing_filter: ListingFilter) -> bool:
    return len(listing_filter.search or "") >= SEARCH_FIRST_MIN_LENGTH


def _conditions(
    scope: str, listing_filter: ListingFilter, param: _Params, *, search_first: bool
) -> list[str]:
    conditions = [] if search_first else [f"e.scope = {param(scope)}"]
    for other in listing_filter.also_in:
        conditions.append(
            "EXISTS (SELECT 1 FROM listing_entries o "
            f"WHERE o.scope = {param(other)} AND o.product_id = e.product_id)"
        )
    if listing_filter.in_stock is True:
        conditions.append("e.available > 0")
    elif listing_filter.in_stock is False:
        conditions.append("e.available <= 0")
    if listing_filter.min_price is not None:
        conditions.append(f"e.price >= {param(listing_filter.min_price, '::numeric')}")
    if listing_filter.max_price is not None:
        conditions.append(f"e.price <= {param(listing_filter.max_price, '::numeric')}")
    if listing_filter.tags:
        conditions.append(f"p.tags @> {param(list(listing_filter.tags), '::text[]')}")
    if listing_filter.search and not search_first:
        conditions.append(f"p.search_text LIKE {param(_like_pattern(listing_filter.search))}")
    return conditions


def _source(query_scope: str, listing_filter: ListingFilter, param: _Params) -> str:
    """The FROM part: the listing's entries, or (search first) the matches' entries.

    The LIMIT 1 in the lateral probe (scope, product_id is the key) keeps
    PostgreSQL from flattening it into a hash join over the whole scope,
    which a generic prepared plan would otherwise pick, not knowing that
    the scope holds a million products.
    """
    if not _search_first(listing_filter):
        return "listing_entries e JOIN products p ON p.id = e.product_id"
    pattern = param(_like_pattern(listing_filter.search or ""))
    scope = param(query_scope)
    return (
        f"(SELECT id FROM products WHERE search_text LIKE {pattern}) AS m "
        "CROSS JOIN LATERAL (SELECT * FROM listing_entries e "
        f"WHERE e.scope = {scope} AND e.product_id = m.id LIMIT 1) AS e "
        "JOIN products p ON p.id = m.id"
    )


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)} " if conditions else ""


KEY_ALIASES = ("k0", "k1", "k2")


def page_sql(query: ListingQuery, product_columns: str) -> tuple[str, list[Any]]:
    """One page plus one extra row (to know whether there is a next page)."""
    spec = SORTS[query.sort]
    param = _Params()
    search_first = _search_first(query.filter)
    source = _source(query.scope, query.filter, param)
    conditions = _conditions(query.scope, query.filter, param, search_first=search_first)
    keys = [f"e.{column}" for column in spec.columns]
    if query.after is not None:
        cursor = ", ".join(param(value) for value in query.after)
        conditions.append(f"({', '.join(keys)}) {'<' if spec.descending else '>'} ({cursor})")
    direction = " DESC" if spec.descending else ""
    selected = ", ".join(f"{key} AS {alias}" for key, alias in zip(keys, KEY_ALIASES, strict=False))
    sql = (
        f"SELECT {product_columns}, {selected} FROM {source} "
        f"{_where(conditions)}"
        f"ORDER BY {', '.join(key + direction for key in keys)} "
        f"LIMIT {param(query.first + 1)}"
    )
    return sql, param.values


def count_sql(scope: str, listing_filter: ListingFilter) -> tuple[str, list[Any]]:
    param = _Params()
    search_first = _search_first(listing_filter)
    if search_first or listing_filter.tags or listing_filter.search:
        source = _source(scope, listing_filter, param)
    else:
        source = "listing_entries e"
    conditions = _conditions(scope, listing_filter, param, search_first=search_first)
    return f"SELECT count(*) AS total FROM {source} {_where(conditions)}".strip(), param.values


class CursorKeyError(ValueError):
    """A cursor's key does not fit the sort it is used with."""


def key_to_json(sort: ProductSort, key: tuple[Any, ...]) -> list[Any]:
    """The sort key as JSON values (decimals and instants as strings)."""
    out: list[Any] = []
    for value in key:
        if isinstance(value, Decimal):
            out.append(str(value))
        elif isinstance(value, datetime):
            out.append(value.isoformat())
        else:
            out.append(value)
    return out


def key_from_json(sort: ProductSort, values: list[Any]) -> tuple[Any, ...]:
    """Parse and type-check a key for `sort`; CursorKeyError when it does not fit."""
    columns = SORTS[sort].columns
    if len(values) != len(columns):
        raise CursorKeyError("wrong number of key values")
    key: list[Any] = []
    for column, value in zip(columns, values, strict=True):
        kind = _KEY_TYPES[column]
        try:
            if _plain_fits(kind, value):
                key.append(value)
            elif kind is Decimal and isinstance(value, str):
                number = Decimal(value)
                if not number.is_finite():
                    raise CursorKeyError(column)
                key.append(number)
            elif kind is datetime and isinstance(value, str):
                instant = datetime.fromisoformat(value)
                if instant.tzinfo is None:
                    raise CursorKeyError(column)
                key.append(instant)
            else:
                raise CursorKeyError(column)
        except (ArithmeticError, ValueError) as exc:
            raise CursorKeyError(column) from exc
    return tuple(key)


def _plain_fits(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return kind is str and isinstance(value, str)


_KEY_TYPES: dict[str, type] = {
    "featured": bool,
    "created_at": datetime,
    "price": Decimal,
    "rating": Decimal,
    "rating_count": int,
    "units_sold": int,
    "product_id": str,
}
