"""How findings read: money in the store's currency, rounded percentages, ranges.

Shared by every rule so that all insights speak alike. Money is written as
"1,234.50 EUR": the ISO code after the amount reads the same for every
currency without a symbol table, and zero-decimal currencies (JPY, KRW, ...)
show no cents. Percentages are whole numbers, rounded half up, so "down 25%"
is what a person would say for a 25.4% fall.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from resolvers.insights.model import Period

# ISO 4217 currencies without minor units that a store might sell in.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"}
)  # fmt: skip

HUNDRED = Decimal(100)


def money(amount: Decimal, currency: str) -> str:
    """`amount` with thousands separators and the currency's decimals, e.g. "1,234.50 EUR"."""
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f} {currency}"


def percent(ratio: Decimal) -> str:
    """A ratio (0.254) as a whole, unsigned percentage ("25%")."""
    return f"{(abs(ratio) * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def rate(ratio: Decimal) -> str:
    """A small rate (0.0213) as a percentage with one decimal ("2.1%")."""
    return f"{(ratio * HUNDRED).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def count(n: int) -> str:
    """An integer with thousands separators."""
    return f"{n:,}"


def span(period: Period) -> str:
    """ "on 2026-11-22" for one day, "from 2026-11-16 to 2026-11-22" otherwise."""
    if period.start == period.end:
        return f"on {period.start.isoformat()}"
    return f"from {period.start.isoformat()} to {period.end.isoformat()}"


def previous_span(period: Period) -> str:
    """How a message names the range before `period`: "the previous 7 days"."""
    return "the previous day" if period.days == 1 else f"the previous {period.days} days"


def rounded(value: Decimal, places: int = 1) -> float:
    """A MetricInput value: a float rounded half up to `places` decimals."""
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def change(current: Decimal, baseline: Decimal) -> Decimal:
    """Relative change of `current` against a positive `baseline` (-0.25 is a 25% fall)."""
    return (current - baseline) / baseline
