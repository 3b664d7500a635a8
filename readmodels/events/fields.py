"""Field types shared by the event payloads: ids, money strings, UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

SourceId = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=False)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

MAX_AMOUNT = Decimal("1000000000")


def _parse_amount(value: object) -> Decimal:
    # Amounts travel as decimal strings: a float would already have lost cents.
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "19.90"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount >= MAX_AMOUNT:
        raise ValueError("is too large")
    if amount.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError("has more than 6 decimal places")
    return amount


Amount = Annotated[Decimal, BeforeValidator(_parse_amount)]


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339, e.g. 2026-11-22T06:47:00Z)")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_require_utc)]


class Payload(BaseModel):
    """Base of every event payload: unknown fields are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
