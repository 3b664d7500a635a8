"""The contract's custom scalars: DateTime (UTC, Z), Date, and Decimal as a string."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import GraphQLError


def serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    raise GraphQLError(f"DateTime: expected an ISO-8601 date-time with a zone, got {value!r}")


def parse_decimal(value: Any) -> Decimal:
    # Amounts must arrive as strings (or integers): a float has already lost cents.
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = None
        if amount is not None and amount.is_finite():
            return amount
    raise GraphQLError(f'Decimal: expected a decimal string such as "19.90", got {value!r}')


def parse_date(value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise GraphQLError(f"Date: expected a calendar date such as 2026-11-22, got {value!r}")


DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="An ISO-8601 date-time in UTC, e.g. 2026-11-22T06:47:00Z.",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
DateScalar = strawberry.scalar(
    name="Date",
    description="A calendar date, e.g. 2026-11-22.",
    serialize=date.isoformat,
    parse_value=parse_date,
)
DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='A decimal amount serialized as a string, e.g. "19.90". Never a float.',
    serialize=str,
    parse_value=parse_decimal,
)

SCALAR_OVERRIDES: dict[object, Any] = {
    datetime: DateTimeScalar,
    date: DateScalar,
    Decimal: DecimalScalar,
}
