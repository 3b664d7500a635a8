"""Freshness: how long after `POST /events` changes a price does ProductPage show it.

This is the read-your-writes delay a client sees when it does not send
Vitrine-Min-Position: ingest, NOTIFY, the projector's batch, and the read.
Each sample sets a new, never-seen price on one of a few listed products
and polls ProductPage back to back (one keep-alive connection) until the
list price equals it. The delay is reported from when the POST was sent
and from when its 202 arrived. Prices are not restored: on a bench
database they simply drift upwards by one minor unit per sample.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.server import SIGNING_SECRET
from bench.stats import percentile, summary
from infra.api_keys.signing import sign
from infra.database import asyncpg_dsn
from resolvers.pricing.prices import money

PRODUCT_PAGE = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/contract/operations/ProductPage.graphql"
)
DEADLINE_S = 10.0
PRODUCTS = 8

_LISTED_PRODUCTS = """
SELECT id, slug, currency_code, base_price, tiers FROM products
WHERE upserted AND NOT deleted AND listed AND base_price IS NOT NULL AND slug IS NOT NULL
ORDER BY id
LIMIT $1
"""


@dataclass(frozen=True, slots=True)
class PricedProduct:
    """A listed product as the read model has it when the measurement starts."""

    id: str
    slug: str
    currency_code: str
    base_price: Decimal
    tiers: list[dict[str, Any]]


def minor_unit(currency_code: str) -> Decimal:
    """The smallest amount of a currency (0.01 EUR, 1 JPY), by the resolvers' own rule."""
    exponent = money(Decimal(0), currency_code).amount.as_tuple().exponent
    return Decimal(1).scaleb(int(exponent))


def new_prices(base: Decimal, currency_code: str) -> Iterator[Decimal]:
    """base + 1, + 2, + 3 ... minor units: every price differs from the current one."""
    step = minor_unit(currency_code)
    start = money(base, currency_code).amount
    n = 0
    while True:
        n += 1
        yield start + n * step


def upper_tiers(tiers: list[dict[str, Any]]) -> list[dict[str, str | int]]:
    """The product's volume tiers that cannot apply at quantity 1 (they would mask the base)."""
    return [
        {"minQuantity": int(t["minQuantity"]), "unitPrice": str(t["unitPrice"])}
        for t in tiers
        if int(t["minQuantity"]) > 1
    ]


def price_set_event(product: PricedProduct, price: Decimal, now: datetime) -> dict[str, Any]:
    """A PriceSet event (contract events.md) giving `product` the base price `price`."""
    return {
        "id": str(uuid.uuid4()),
        "type": "PriceSet",
        "occurredAt": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "productId": product.id,
            "currencyCode": product.currency_code,
            "basePrice": str(price),
            "tiers": upper_tiers(product.tiers),
            "segmentPrices": [],
        },
    }


def list_amount(content: bytes) -> Decimal | None:
    """`data.product.price.list.amount` of a ProductPage response body, None when absent."""
    try:
        body = orjson.loads(content)
        return Decimal(body["data"]["product"]["price"]["list"]["amount"])
    except (orjson.JSONDecodeError, KeyError, TypeError, InvalidOperation):
        return None


async def listed_products(database_url: str, count: int = PRODUCTS) -> list[PricedProduct]:
    """A handful of listed, priced products, in a stable order."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch(_LISTED_PRODUCTS, count)
    finally:
        await connection.close()
    if not rows:
        raise RuntimeError("no listed product with a price in the read models: seed first")
    return [
        PricedProduct(
            r["id"],
            r["slug"],
            r["currency_code"],
            Decimal(r["base_price"]),
            orjson.loads(r["tiers"]) if isinstance(r["tiers"], str) else list(r["tiers"]),
        )
        for r in rows
    ]


@dataclass(slots=True)
class Delays:
    """Observed delays in milliseconds, and samples that never showed their price."""

    from_post: list[float]
    from_ack: list[float]
    timeouts: int = 0


class FreshnessProbe:
    """Sets prices over HTTP and watches ProductPage for them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        deadline_s: float,
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"}
        self._signing_secret = signing_secret
        self._query = PRODUCT_PAGE.read_text()
        self._deadline_s = deadline_s

    async def post_price(self, product: PricedProduct, price: Decimal) -> tuple[float, float]:
        """Send the PriceSet; (sent, acknowledged) perf_counter times."""
        event = price_set_event(product, price, datetime.now(UTC))
        body = orjson.dumps([event])
        signature = sign(
            self._signing_secret,
            method="POST",
            path="/events",
            body=body,
            timestamp=int(time.time()),
            nonce=secrets.token_hex(16),
        )
        sent = time.perf_counter()
        response = await self._client.post(
            "/events", content=body, headers={**self._headers, **signature}
        )
        acked = time.perf_counter()
        if response.status_code != 202:
            raise RuntimeError(
                f"POST /events answered {response.status_code}: {response.text[:500]}"
            )
        return sent, acked

    async def wait_for_price(
        self, product: PricedProduct, price: Decimal, since: float
    ) -> float | None:
        """Poll ProductPage until it lists `price`: the perf_counter time it did, or None."""
        body = {
            "query": self._query,
            "variables": {"slug": product.slug},
            "operationName": "ProductPage",
        }
        content = orjson.dumps(body)
        headers = {"Content-Type": "application/json"}
        while True:
            response = await self._client.post("/graphql", content=content, headers=headers)
            seen = time.perf_counter()
            if list_amount(response.content) == price:
                return seen
            if seen - since > self._deadline_s:
                return None

    async def sample(self, product: PricedProduct, price: Decimal, delays: Delays) -> None:
        sent, acked = await self.post_price(product, price)
        seen = await self.wait_for_price(product, price, sent)
        if seen is None:
            delays.timeouts += 1
            return
        delays.from_post.append((seen - sent) * 1000)
        delays.from_ack.append((seen - acked) * 1000)


async def measure_freshness(
    server_url: str,
    token: str,
    database_url: str,
    *,
    samples: int = 200,
    deadline_s: float = DEADLINE_S,
) -> dict[str, Any]:
    """Delay from POST /events to ProductPage showing the new price, over `samples` prices."""
    products = await listed_products(database_url)
    prices = {p.id: new_prices(p.base_price, p.currency_code) for p in products}
    delays = Delays([], [])
    async with httpx.AsyncClient(
        base_url=server_url, timeout=deadline_s, limits=httpx.Limits(max_connections=1)
    ) as client:
        probe = FreshnessProbe(client, token, deadline_s)
        for i in range(samples):
            product = products[i % len(products)]
            await probe.sample(product, next(prices[product.id]), delays)
    return {
        "samples": samples,
        "timeouts": delays.timeouts,
        "from_post_ms": summary(delays.from_post),
        "from_ack_ms": summary(delays.from_ack),
        "p50_ms": percentile(delays.from_post, 50),
        "p99_ms": percentile(delays.from_post, 99),
    }
