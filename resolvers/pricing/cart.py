"""`Query.priceCart`: lines checked, products and offers loaded in one batch each,
every line priced by the same engine as the product page. A pure read.

Every problem names its line: the error raised is the first line's problem
(`extensions.code`, `line`, `field`), and `extensions.problems` lists every
bad line with its own code, so a client can mark them all at once: the
arguments are checked and the products looked up before anything is raised.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from readmodels.catalog.rows import ProductRow
from readmodels.pricing.rows import ProductOffers
from resolvers.catalog.loaders import ProductByIdLoader
from resolvers.context import RequestContext
from resolvers.errors import (
    BadUserInputError,
    CartTooLargeError,
    ClientError,
    CurrencyMismatchError,
    InvalidIdError,
    InvalidQuantityError,
    PriceNotSetError,
    ProductNotFoundError,
)
from resolvers.futures import then
from resolvers.ids import decode_id_of
from resolvers.pricing import engine
from resolvers.pricing.fields import check_quantity, offers_of, segments_of

MAX_LINES = 100
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class CartLineArgs:
    product_id: str  # the global id, as sent
    quantity: int


def resolve_price_cart(
    context: RequestContext, lines: Sequence[CartLineArgs], currency_code: str | None
) -> asyncio.Future[engine.CartPriceView]:
    if len(lines) > MAX_LINES:
        raise CartTooLargeError(
            f"input.lines: a cart has at most {MAX_LINES} lines, got {len(lines)}",
            field="input.lines",
        )
    if currency_code is not None and not _CURRENCY.fullmatch(currency_code):
        raise BadUserInputError(
            "input.currencyCode: must be an ISO-4217 code such as EUR",
            field="input.currencyCode",
        )
    if not lines and currency_code is None:
        raise BadUserInputError(
            "input.currencyCode: an empty cart needs a currency code",
            field="input.currencyCode",
        )
    problems: list[ClientError] = []
    source_ids: list[str | None] = []
    for index, line in enumerate(lines):
        field = f"input.lines[{index}]"
        try:
            source_ids.append(decode_id_of("Product", line.product_id, argument=field))
        except InvalidIdError as error:
            source_ids.append(None)
            problems.append(_at(InvalidIdError(error.message), index, f"{field}.productId"))
        try:
            check_quantity(line.quantity, f"{field}.quantity")
        except InvalidQuantityError as error:
            problems.append(_at(error, index, f"{field}.quantity"))
    known = [source_id for source_id in source_ids if source_id is not None]
    if problems and not known:
        _raise_first(problems)  # nothing to look up: every problem is known already
    products = context.loader(ProductByIdLoader).load_many(known)
    offers = asyncio.gather(*(offers_of(context, product_id) for product_id in known))
    both = asyncio.gather(products, offers)
    segments = segments_of(context)

    def price(loaded: list[Any]) -> engine.CartPriceView:
        found = dict(zip(known, zip(*loaded, strict=True), strict=True)) if known else {}
        rows = [found[i][0] if i is not None else None for i in source_ids]
        all_offers = [found[i][1] if i is not None else None for i in source_ids]
        cart_lines, currency = _checked_lines(lines, rows, all_offers, currency_code, problems)
        for line_offers in all_offers:
            context.fresh_only_until(engine.next_change(line_offers, context.now))
        return engine.price_cart(cart_lines, currency=currency, segments=segments, now=context.now)

    return then(both, price)


def _checked_lines(
    lines: Sequence[CartLineArgs],
    rows: Sequence[ProductRow | None],
    offers: Sequence[ProductOffers | None],
    currency_code: str | None,
    problems: list[ClientError],
) -> tuple[list[engine.CartLine], str]:
    """The lines to price, once every line checks out; otherwise one error naming them
    all (`problems` arrives with what the arguments alone showed)."""
    bad = {int(p.extensions["line"]) for p in problems}
    currency = currency_code
    cart_lines: list[engine.CartLine] = []
    for index, (line, row, line_offers) in enumerate(zip(lines, rows, offers, strict=True)):
        field = f"input.lines[{index}].productId"
        if index in bad and row is None:
            continue  # its id did not decode: already named
        if row is None:
            problems.append(
                _at(ProductNotFoundError(f"{field}: no product {line.product_id!r}"), index, field)
            )
            continue
        if row.base_price is None or row.currency_code is None:
            problems.append(
                _at(
                    PriceNotSetError(f"{field}: product {row.slug!r} has no price yet"),
                    index,
                    field,
                )
            )
            continue
        if currency is None:
            currency = row.currency_code
        elif row.currency_code != currency:
            problems.append(
                _at(
                    CurrencyMismatchError(
                        f"{field}: product {row.slug!r} is priced in {row.currency_code},"
                        f" the cart in {currency}"
                    ),
                    index,
                    field,
                )
            )
            continue
        if index not in bad:
            cart_lines.append(engine.CartLine(row, line.quantity, line_offers))
    problems.sort(key=lambda p: int(p.extensions["line"]))  # stable: id before quantity
    _raise_first(problems)
    assert currency is not None  # an empty cart has a currency code (checked first)
    return cart_lines, currency


def _at(error: ClientError, line: int, field: str) -> ClientError:
    error.extensions.update(line=line, field=field)
    return error


def _raise_first(problems: list[ClientError]) -> None:
    if not problems:
        return
    first = problems[0]
    first.extensions["problems"] = [
        {"line": p.extensions["line"], "field": p.extensions["field"], "code": p.code,
         "message": p.message}
        for p in problems
    ]  # fmt: skip
    raise first
