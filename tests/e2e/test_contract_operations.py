"""The contract's catalog operations over HTTP on the demo world, checked against the events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import pytest

from infra.auth import mint_token
from readmodels.demo import SCALES, generate_events
from resolvers.ids import encode_id
from tests.conftest import CONTRACT
from tests.e2e.reference import Cart, Priced, Reference
from tests.e2e.server import Server, running_server
from tests.e2e.worlds import seeded_demo

pytestmark = pytest.mark.e2e

# The world is seeded around the real clock (to the minute): the server prices with
# datetime.now(), and promotion windows are built around the seed's `now`.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SECRET = "e2e-jwt-secret-of-at-least-32-bytes!"
PRICED_SEGMENTS = {"vip", "wholesale", "students"}
OPERATIONS = {p.stem: p.read_text() for p in (CONTRACT / "operations").glob("*.graphql")}


@dataclass(frozen=True)
class Demo:
    server: Server
    ref: Reference


@pytest.fixture(scope="module")
async def demo_database(server_url: str, template_url: str) -> AsyncIterator[str]:
    """The small demo world, seeded through the ingest path and projected."""
    async with seeded_demo(server_url, template_url, NOW) as url:
        yield url


@pytest.fixture(scope="module")
def demo(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    ref = Reference.of(generate_events(SCALES["small"], now=NOW))
    data_dir = tmp_path_factory.mktemp("demo")
    with running_server(demo_database, data_dir, jwt_secret=SECRET) as server:
        yield Demo(server, ref)


def run_operation(
    demo: Demo, name: str, variables: dict[str, object], customer: str | None = None
) -> dict[str, Any]:
    """The operation's data, as `customer` (anonymous when None); fails on any error."""
    headers = {}
    if customer is not None:
        token = mint_token(SECRET, sub=customer, roles=["CUSTOMER"], ttl_seconds=600)
        headers["Authorization"] = f"Bearer {token}"
    response = demo.server.graphql(OPERATIONS[name], variables, **headers)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def test_product_page_agrees_with_the_events(demo: Demo) -> None:
    """ProductPage for the bestseller shows the title, price, range, stock and rating the events give."""
    ref = demo.ref
    product_id = max(ref.listed(), key=lambda p: ref.units.get(p, 0))
    source = ref.products[product_id]
    now = datetime.now(UTC)
    product = run_operation(demo, "ProductPage", {"slug": source["slug"]})["product"]
    assert isinstance(product, dict)
    low, high = ref.price_range(product_id)
    assert product["id"] == encode_id("Product", product_id)
    assert (product["title"], product["tags"]) == (source["title"], source["tags"])
    assert product["price"] == price_view(ref, ref.unit_price(product_id, 1, set(), now))
    assert product["priceRange"] == {
        "min": {"amount": f"{low:.2f}"},
        "max": {"amount": f"{high:.2f}"},
    }
    assert product["inventory"] == {
        "status": ref.status(product_id),
        "available": ref.available(product_id),
    }
    assert product["rating"] == ref.rating(product_id)
    assert product["store"]["name"] == ref.stores[source["storeId"]]["name"]


def test_category_listing_agrees_with_the_events(demo: Demo) -> None:
    """CategoryListing's counts and best sellers match the events, and pages join up."""
    ref = demo.ref
    root = next(c for c, d in ref.categories.items() if d["slug"] == "home-kitchen")
    in_tree = [p for p in ref.listed() if ref.in_subtree(ref.products[p]["categoryId"], root)]
    variables = {"slug": "home-kitchen", "first": 48, "sort": "BEST_SELLING"}
    category = run_operation(demo, "CategoryListing", variables)["category"]
    assert isinstance(category, dict)
    assert category["productCount"] == category["products"]["totalCount"] == len(in_tree)
    expected = sorted(in_tree, key=lambda p: (-ref.units.get(p, 0), [-ord(c) for c in p]))
    seen = [edge["node"]["id"] for edge in category["products"]["edges"]]
    assert seen == [encode_id("Product", p) for p in expected[:48]]
    following = run_operation(
        demo,
        "CategoryListing",
        {**variables, "after": category["products"]["pageInfo"]["endCursor"]},
    )
    more = [edge["node"]["id"] for edge in following["category"]["products"]["edges"]]
    assert more == [encode_id("Product", p) for p in expected[48:96]]
    children = {c["slug"]: c["productCount"] for c in category["children"]}
    for child_id, data in ref.categories.items():
        if data["parentId"] == root:
            count = sum(
                ref.in_subtree(ref.products[p]["categoryId"], child_id) for p in ref.listed()
            )
            assert children[data["slug"]] == count


def test_search_products_agrees_with_the_events(demo: Demo) -> None:
    """SearchProducts finds exactly the in-stock products whose title or tags contain the term."""
    ref = demo.ref
    term = "bamboo"
    matches = [
        p
        for p in ref.listed()
        if ref.available(p) > 0
        and term in " ".join([ref.products[p]["title"], *ref.products[p]["tags"]]).lower()
    ]
    products = run_operation(demo, "SearchProducts", {"search": "BAMBOO"})["products"]
    assert isinstance(products, dict)
    assert products["totalCount"] == len(matches) > 24
    assert products["pageInfo"]["hasNextPage"] is True
    assert {n["id"] for n in products["nodes"]} <= {encode_id("Product", p) for p in matches}


def test_creator_profile_store_part_agrees_with_the_events(demo: Demo) -> None:
    """CreatorProfile shows the creator and their store's products (posts come with feeds)."""
    ref = demo.ref
    creator = run_operation(demo, "CreatorProfile", {"handle": "creator2"})["creator"]
    assert isinstance(creator, dict)
    source = ref.creators["creator2"]
    assert (creator["name"], creator["bio"]) == (source["name"], source["bio"])
    assert creator["store"]["name"] == ref.stores[source["storeId"]]["name"]
    store_products = [p for p in ref.listed() if ref.products[p]["storeId"] == source["storeId"]]
    assert len(creator["store"]["products"]["nodes"]) == min(8, len(store_products))


@pytest.mark.parametrize(
    "name", ["ProductPage", "CategoryListing", "SearchProducts", "CreatorProfile", "PriceCart"]
)
def test_catalog_operations_run_without_errors_on_many_inputs(demo: Demo, name: str) -> None:
    """Each catalog operation answers without errors across many products, categories, creators and carts."""
    ref = demo.ref
    inputs: list[dict[str, object]] = {
        "ProductPage": [{"slug": ref.products[p]["slug"]} for p in sorted(ref.products)[:40]],
        "CategoryListing": [{"slug": d["slug"]} for d in ref.categories.values()],
        "SearchProducts": [
            {"search": word} for word in ("mug", "wireless", "organic", "zzz", "%", "_")
        ],
        "CreatorProfile": [{"handle": handle} for handle in sorted(ref.creators)[:20]],
        "PriceCart": [cart_input(lines) for lines in random_carts(ref, 60, seed=11)]
        + [{"input": {"lines": [], "currencyCode": "EUR"}}],
    }[name]
    for variables in inputs:
        run_operation(demo, name, variables)


def test_search_treats_wildcards_literally(demo: Demo) -> None:
    """A search for "%" matches titles containing a percent sign, not everything."""
    products = run_operation(demo, "SearchProducts", {"search": "%"})["products"]
    assert products["totalCount"] == 0


def test_unknown_slugs_are_null_not_errors(demo: Demo, tmp_path: Path) -> None:
    """Unknown product, category and creator are null without errors."""
    assert run_operation(demo, "ProductPage", {"slug": "nope"}) == {"product": None}
    assert run_operation(demo, "CategoryListing", {"slug": "nope"}) == {"category": None}
    assert run_operation(demo, "CreatorProfile", {"handle": "nope"}) == {"creator": None}


# Prices, promotions and recommendations against the reference's own pricing.


def number(source_id: str) -> int:
    """The number in a demo id ("p-12" -> 12), for a natural order."""
    return int(source_id.rsplit("-", 1)[1])


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": currency}


def price_view(ref: Reference, unit: Priced) -> dict[str, Any]:
    """ProductPage's `price(quantity: 1)` selection as the reference prices it."""
    currency = unit.currency
    return {
        "list": money(unit.listed, currency),
        "final": money(unit.final, currency),
        "compareAt": None if unit.compare_at is None else money(unit.compare_at, currency),
        "appliedPromotions": [
            {
                "promotion": {
                    "id": encode_id("Promotion", promotion),
                    "name": ref.promotions[promotion]["name"],
                    "kind": ref.promotions[promotion]["kind"],
                },
                "discount": money(discount, currency),
            }
            for promotion, discount in unit.applied
        ],
    }


def page_pricing(ref: Reference, product: str, segments: set[str], now: datetime) -> dict[str, Any]:
    """The pricing parts of ProductPage: price, promotions and recommendations."""
    recommended = ref.recommendations(product, 4)
    return {
        "price": price_view(ref, ref.unit_price(product, 1, segments, now)),
        "promotions": [
            {
                "id": encode_id("Promotion", promotion),
                "name": ref.promotions[promotion]["name"],
                "endsAt": ref.promotions[promotion]["endsAt"],
            }
            for promotion in ref.promotions_for(product, segments, now)
        ],
        "recommendations": [
            {
                "id": encode_id("Product", other),
                "slug": ref.products[other]["slug"],
                "title": ref.products[other]["title"],
                "price": {
                    "final": money(
                        ref.unit_price(other, 1, segments, now).final,
                        ref.prices[other]["currencyCode"],
                    )
                },
            }
            for other in recommended
        ],
    }


def served_pricing(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "price": product["price"],
        "promotions": product["promotions"],
        "recommendations": [
            {key: r[key] for key in ("id", "slug", "title", "price")}
            for r in product["recommendations"]
        ],
    }


def cart_view(ref: Reference, cart: Cart) -> dict[str, Any]:
    """PriceCart's selection as the reference prices the cart."""
    currency = cart.lines[0][2].currency if cart.lines else "EUR"
    return {
        "lines": [
            {
                "product": {
                    "id": encode_id("Product", product),
                    "title": ref.products[product]["title"],
                },
                "quantity": quantity,
                "unitPrice": {
                    "list": money(unit.listed, currency),
                    "final": money(unit.final, currency),
                    "tier": None if unit.tier is None else {"minQuantity": unit.tier},
                    "appliedPromotions": [
                        {
                            "promotion": {
                                "id": encode_id("Promotion", promotion),
                                "name": ref.promotions[promotion]["name"],
                            },
                            "discount": {"amount": str(discount)},
                        }
                        for promotion, discount in unit.applied
                    ],
                },
                "lineTotal": money(line_total, currency),
            }
            for product, quantity, unit, line_total in cart.lines
        ],
        "subtotal": money(cart.subtotal, currency),
        "discountTotal": money(cart.discount_total, currency),
        "total": money(cart.total, currency),
        "appliedPromotions": [
            {
                "promotion": {
                    "id": encode_id("Promotion", promotion),
                    "name": ref.promotions[promotion]["name"],
                    "kind": ref.promotions[promotion]["kind"],
                },
                "discount": {"amount": str(discount)},
            }
            for promotion, discount in cart.applied
        ],
    }


def cart_input(lines: list[tuple[str, int]]) -> dict[str, object]:
    return {
        "input": {
            "lines": [{"productId": encode_id("Product", p), "quantity": q} for p, q in lines]
        }
    }


def members(ref: Reference) -> list[str]:
    """Three customers whose segments carry segment prices between them: the one who
    changed segments most often, a vip-and-wholesale member, a student."""

    def first(segments: set[str]) -> str:
        return min((c for c, s in ref.segments.items() if s == segments), key=number)

    priced = [c for c, s in ref.segments.items() if s & PRICED_SEGMENTS]
    busiest = max(priced, key=lambda c: (ref.segment_changes[c], -number(c)))
    chosen = [busiest, first({"vip", "wholesale"}), first({"students"})]
    assert ref.segment_changes[busiest] > 1
    assert len(set(chosen)) == 3
    return chosen


def sample_products(ref: Reference, viewers: list[str], now: datetime) -> list[str]:
    """40 listed products: a few of each pricing situation, then an even spread."""
    listed = sorted(ref.listed(), key=number)
    anon = {p: ref.unit_price(p, 1, set(), now) for p in listed}
    member = {(v, p): ref.unit_price(p, 1, ref.segments[v], now) for v in viewers for p in listed}
    offered = {p: ref.promotions_for(p, set(), now) for p in listed}

    def kinds(unit: Priced) -> set[str]:
        return {ref.promotions[promotion]["kind"] for promotion, _ in unit.applied}

    groups = [
        [p for p in listed if "PERCENT_OFF" in kinds(anon[p])],
        [p for p in listed if "AMOUNT_OFF" in kinds(anon[p])],
        [p for p in listed if len(anon[p].applied) > 1],
        [p for p in listed if any(member[v, p].listed < anon[p].listed for v in viewers)],
        [p for p in listed if any(member[v, p].applied != anon[p].applied for v in viewers)],
        [p for p in listed if ref.prices[p]["tiers"]],
        [p for p in listed if offered[p] and not anon[p].applied],
        [p for p in listed if any(ref.promotions[o]["kind"] == "BUY_X_GET_Y" for o in offered[p])],
        [p for p in listed if any(anon[r].applied for r in ref.recommendations(p, 4))],
        [p for p in listed if not offered[p]],
        [p for p in listed if ref.prices[p]["currencyCode"] == "USD"],
    ]
    chosen: dict[str, None] = {}
    for group in groups:
        assert group, "the demo world lacks a pricing situation the sample needs"
        chosen.update(dict.fromkeys([group[0], group[len(group) // 2], group[-1]]))
    for p in listed[:: len(listed) // 40]:
        if len(chosen) >= 40:
            break
        chosen.setdefault(p)
    return list(chosen)


def random_carts(ref: Reference, count: int, *, seed: int) -> list[list[tuple[str, int]]]:
    """Carts of 1-6 lines of one currency, quantities 1-12, the odd product twice."""
    rng = Random(seed)
    by_currency: dict[str, list[str]] = {}
    for p in sorted(ref.listed(), key=number):
        by_currency.setdefault(ref.prices[p]["currencyCode"], []).append(p)
    carts = []
    for _ in range(count):
        pool = by_currency["USD" if rng.random() < 0.15 else "EUR"]
        lines = [
            (rng.choice(pool), rng.choice((1, 1, 2, 3, 4, 6, 12))) for _ in range(rng.randint(1, 6))
        ]
        carts.append(lines)
    return carts


def crafted_carts(ref: Reference, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Carts built to cross a minSubtotal threshold, reach tiers and fill buy-x-get-y."""
    listed = sorted(ref.listed(), key=number)
    carts: dict[str, list[tuple[str, int]]] = {}
    for promotion in sorted(ref.promotions.values(), key=lambda p: number(p["promotionId"])):
        condition = promotion["condition"] or {}
        if list(condition) != ["minSubtotal"] or not ref.in_effect(promotion, now):
            continue
        threshold = Decimal(condition["minSubtotal"])
        store = [p for p in listed if ref.products[p]["storeId"] == promotion["storeId"]]
        for a in store:
            small = ref.list_price(a, 1, set())[0]
            if small >= threshold or promotion["promotionId"] in dict(
                ref.cart([(a, 1)], set(), now).applied
            ):
                continue
            b = next(p for p in store if p != a)
            more = int((threshold - small) / ref.list_price(b, 1, set())[0]) + 1
            crossing = [(a, 1), (b, more)]
            if promotion["promotionId"] in dict(ref.cart(crossing, set(), now).applied):
                carts["below-min-subtotal"] = [(a, 1)]
                carts["crossing-min-subtotal"] = [*crossing, (store[-1], 1)]
                break
        if "crossing-min-subtotal" in carts:
            break
    for promotion in sorted(ref.promotions.values(), key=lambda p: number(p["promotionId"])):
        if promotion["kind"] != "BUY_X_GET_Y" or not ref.in_effect(promotion, now):
            continue
        bundle = promotion["buyQuantity"] + promotion["getQuantity"]
        for p in listed:
            if ref.products[p]["storeId"] != promotion["storeId"]:
                continue
            lines = [(p, 2 * bundle + 1), (p, bundle - 1)]
            if promotion["promotionId"] in dict(ref.cart(lines, set(), now).applied):
                carts[f"buy-{promotion['buyQuantity']}-get-1"] = lines
                break
    tiered = [
        p
        for p in listed
        if len(ref.prices[p]["tiers"]) > 1 and ref.prices[p]["currencyCode"] == "EUR"
    ]
    top = [(p, max(t["minQuantity"] for t in ref.prices[p]["tiers"])) for p in tiered[:2]]
    low = [(p, min(t["minQuantity"] for t in ref.prices[p]["tiers"]) - 1) for p in tiered[2:4]]
    carts["tiers"] = top + low
    segment_priced = [
        p
        for p in listed
        if ref.prices[p]["segmentPrices"] and ref.prices[p]["currencyCode"] == "EUR"
    ]
    carts["segment-prices"] = [(p, 2) for p in segment_priced[:5]]
    usd = [p for p in listed if ref.prices[p]["currencyCode"] == "USD"]
    carts["usd"] = [(usd[0], 1), (usd[1], 3), (usd[2], 5)]
    return carts


@pytest.fixture(scope="module")
def pricing_sample(demo: Demo) -> tuple[list[str], list[str], dict[str, list[tuple[str, int]]]]:
    """Segment members, sampled products and carts, chosen from the reference at the start."""
    ref, now = demo.ref, datetime.now(UTC)
    viewers = members(ref)
    carts = crafted_carts(ref, now)
    carts.update({f"random-{i}": lines for i, lines in enumerate(random_carts(ref, 8, seed=3))})
    return viewers, sample_products(ref, viewers, now), carts


def test_product_page_pricing_agrees_with_the_reference(
    demo: Demo, pricing_sample: tuple[list[str], list[str], dict[str, list[tuple[str, int]]]]
) -> None:
    """ProductPage's price, applied promotions, promotions and recommendations equal the reference for 40 products, anonymously and for three segment members."""
    ref = demo.ref
    viewers, products, _ = pricing_sample
    assert len(products) == 40
    seen: set[str] = set()
    for viewer in [None, *viewers]:
        segments = set() if viewer is None else ref.segments[viewer]
        for p in products:
            now = datetime.now(UTC)
            data = run_operation(demo, "ProductPage", {"slug": ref.products[p]["slug"]}, viewer)
            expected = page_pricing(ref, p, segments, now)
            assert served_pricing(data["product"]) == expected, (viewer, p)
            price = expected["price"]
            seen.update(a["promotion"]["kind"] for a in price["appliedPromotions"])
            if len(price["appliedPromotions"]) > 1:
                seen.add("stacked")
            if price["list"] != money(
                ref.list_price(p, 1, set())[0], price["list"]["currencyCode"]
            ):
                seen.add("segment price")
            if expected["recommendations"]:
                seen.add("recommendations")
    assert seen == {"PERCENT_OFF", "AMOUNT_OFF", "stacked", "segment price", "recommendations"}


def test_category_listing_prices_agree_with_the_reference(
    demo: Demo, pricing_sample: tuple[list[str], list[str], dict[str, list[tuple[str, int]]]]
) -> None:
    """Every CategoryListing node's final and compare-at price equals the reference, anonymously and for a member."""
    ref = demo.ref
    viewers, _, _ = pricing_sample
    products = {encode_id("Product", p): p for p in ref.listed()}
    root = next(c for c, d in ref.categories.items() if d["slug"] == "home-kitchen")
    child = min((c for c, d in ref.categories.items() if d["parentId"] == root), key=number)
    pages = [
        ("home-kitchen", "FEATURED", None),
        ("home-kitchen", "PRICE_ASC", viewers[1]),
        (ref.categories[child]["slug"], "PRICE_DESC", None),
        (ref.categories[child]["slug"], "BEST_SELLING", viewers[0]),
    ]
    discounted = 0
    for slug, sort, viewer in pages:
        segments = set() if viewer is None else ref.segments[viewer]
        now = datetime.now(UTC)
        data = run_operation(demo, "CategoryListing", {"slug": slug, "sort": sort}, viewer)
        nodes = [edge["node"] for edge in data["category"]["products"]["edges"]]
        assert len(nodes) == 48
        for node in nodes:
            unit = ref.unit_price(products[node["id"]], 1, segments, now)
            expected = price_view(ref, unit)
            assert node["price"] == {k: expected[k] for k in ("final", "compareAt")}, node["id"]
            discounted += unit.compare_at is not None
    assert discounted > 20


def test_price_cart_agrees_with_the_reference(
    demo: Demo, pricing_sample: tuple[list[str], list[str], dict[str, list[tuple[str, int]]]]
) -> None:
    """Every PriceCart line, total and applied promotion equals the reference, anonymously and for three segment members."""
    ref = demo.ref
    viewers, _, carts = pricing_sample
    crossing = ref.cart(carts["crossing-min-subtotal"], set(), datetime.now(UTC))
    below = ref.cart(carts["below-min-subtotal"], set(), datetime.now(UTC))
    gained = {p for p, _ in crossing.applied} - {p for p, _ in below.applied}
    assert [p for p in gained if list(ref.promotions[p]["condition"] or {}) == ["minSubtotal"]]
    seen: set[str] = set()
    for viewer in [None, *viewers]:
        segments = set() if viewer is None else ref.segments[viewer]
        for label, lines in carts.items():
            now = datetime.now(UTC)
            data = run_operation(demo, "PriceCart", cart_input(lines), viewer)
            cart = ref.cart(lines, segments, now)
            assert data["priceCart"] == cart_view(ref, cart), (viewer, label)
            seen.update(ref.promotions[p]["kind"] for p, _ in cart.applied)
            seen.update("tier" for _, _, unit, _ in cart.lines if unit.tier is not None)
            seen.update(
                "segment price"
                for p, q, unit, _ in cart.lines
                if unit.listed < ref.list_price(p, q, set())[0]
            )
    assert seen == {"PERCENT_OFF", "AMOUNT_OFF", "BUY_X_GET_Y", "tier", "segment price"}


# The creator dashboard and insights, as the story creators (docs/insights.md).

KINDS = {
    "REVENUE_DROP",
    "REVENUE_SPIKE",
    "TOP_PRODUCT_SURGE",
    "LOW_STOCK_BESTSELLER",
    "CONVERSION_DROP",
    "PROMOTION_ENDING",
    "NEW_REPEAT_CUSTOMERS",
}


def as_creator(demo: Demo, name: str, variables: dict[str, object], creator: str) -> Any:
    """The operation's data as creator `creator` (a creator token); fails on any error."""
    token = mint_token(
        SECRET, sub=f"u-{creator}", roles=["CREATOR", "CUSTOMER"], ttl_seconds=600,
        creator_id=creator,
    )  # fmt: skip
    response = demo.server.graphql(OPERATIONS[name], variables, Authorization=f"Bearer {token}")
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, (creator, body["errors"])
    return body["data"]


def this_week() -> tuple[date, date]:
    """The dashboard's default range at the server's clock: the last 7 days, today included."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=6), today


def insight_gid(kind: str, creator: str, subject: str) -> str:
    first, last = this_week()
    return encode_id("Insight", f"{kind}:{creator}:{first}:{last}:{subject}")


def explain(demo: Demo, insight_id: str, creator: str) -> Any:
    return as_creator(demo, "ExplainInsight", {"id": insight_id}, creator)["explainInsight"]


def test_story_creators_see_every_insight_kind(demo: Demo) -> None:
    """Over the last 7 days cr-2 sees both drops, cr-3 the spike, surge and repeat customers,
    cr-4 its best seller running low, and a promotion ending shows for some creator."""
    shown: dict[str, list[tuple[str, str]]] = {}
    for creator in ("cr-2", "cr-3", "cr-4"):
        dashboard = as_creator(demo, "CreatorDashboard", {}, creator)["creatorDashboard"]
        shown[creator] = [(i["kind"], i["severity"]) for i in dashboard["insights"]]
    assert shown["cr-2"][:2] == [("REVENUE_DROP", "CRITICAL"), ("CONVERSION_DROP", "CRITICAL")]
    assert shown["cr-3"][0] == ("REVENUE_SPIKE", "WARNING")
    assert ("TOP_PRODUCT_SURGE", "INFO") in shown["cr-3"]
    assert shown["cr-4"][0] == ("LOW_STOCK_BESTSELLER", "CRITICAL")
    # Crowded out of three slots or not, each fires: explainInsight finds it by its id.
    repeat = explain(demo, insight_gid("NEW_REPEAT_CUSTOMERS", "cr-3", "s-3"), "cr-3")
    assert (repeat["insight"]["kind"], repeat["rule"]) == (
        "NEW_REPEAT_CUSTOMERS",
        "new-repeat-customers",
    )
    ending = [
        creator
        for creator in (f"cr-{n}" for n in range(1, 21))
        if any(
            i["kind"] == "PROMOTION_ENDING"
            for i in as_creator(demo, "CreatorDashboard", {}, creator)["creatorDashboard"][
                "insights"
            ]
        )
    ]
    assert "cr-4" in ending
    assert len(ending) >= 3
    seen = {kind for kinds in shown.values() for kind, _ in kinds}
    assert seen | {"NEW_REPEAT_CUSTOMERS", "PROMOTION_ENDING"} == KINDS


def test_dashboards_and_explanations_agree_with_the_events(demo: Demo) -> None:
    """For 20 creators CreatorDashboard runs without errors, its revenue equals a naive sum of
    the orders, and every insight shown explains as itself."""
    ref = demo.ref
    first, last = this_week()
    explained = 0
    for n in range(1, 21):
        creator = f"cr-{n}"
        store = f"s-{n}"
        dashboard = as_creator(demo, "CreatorDashboard", {}, creator)["creatorDashboard"]
        revenue = dashboard["revenue"]
        total, orders = ref.revenue(store, first, last)
        assert (Decimal(revenue["total"]["amount"]), revenue["orders"]) == (total, orders)
        assert [d["date"] for d in revenue["daily"]] == [
            (first + timedelta(days=k)).isoformat() for k in range(7)
        ]
        assert sum(Decimal(d["total"]["amount"]) for d in revenue["daily"]) == total
        for insight in dashboard["insights"]:
            explanation = explain(demo, insight["id"], creator)
            assert explanation["insight"] == {
                k: insight[k] for k in ("id", "kind", "severity", "title")
            }
            explained += 1
    assert explained >= 10


# Feeds, trending and creator profiles against the reference's fold of the social events.

FEED_PAGE = 100


def creators_by_id(ref: Reference) -> dict[str, dict[str, Any]]:
    return {d["creatorId"]: d for d in ref.creators.values()}


def post_products(ref: Reference, post: str, now: datetime) -> list[dict[str, Any]]:
    """The post's linked products that are listed and not deleted, in the post's order."""
    shown = []
    for product in ref.posts[post]["productIds"]:
        data = ref.products.get(product)
        if data is None or not data["listed"] or product in ref.deleted:
            continue
        unit = ref.unit_price(product, 1, set(), now)
        shown.append(
            {
                "id": encode_id("Product", product),
                "slug": data["slug"],
                "title": data["title"],
                "price": {"final": money(unit.final, unit.currency)},
            }
        )
    return shown


def feed_node(ref: Reference, post: str, now: datetime) -> dict[str, Any]:
    """Feed's node selection as the reference folds the events."""
    data = ref.posts[post]
    author = creators_by_id(ref)[data["creatorId"]]
    return {
        "id": encode_id("Post", post),
        "body": data["body"],
        "publishedAt": data["publishedAt"],
        "author": {
            "id": encode_id("Creator", author["creatorId"]),
            "handle": author["handle"],
            "name": author["name"],
            "avatarUrl": author["avatarUrl"],
        },
        "products": post_products(ref, post, now),
        "engagement": ref.counters(post),
    }


def walk_feed(demo: Demo, user: str, first: int) -> list[dict[str, Any]]:
    """Every node of `user`'s feed, page after page with `after`; checks each page's cursors."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        feed = run_operation(demo, "Feed", {"first": first, "after": after}, user)["feed"]
        edges = feed["edges"]
        assert 0 < len(edges) <= first or (after is None and not edges)
        nodes += [edge["node"] for edge in edges]
        info = feed["pageInfo"]
        if not info["hasNextPage"]:
            assert len(edges) <= first
            return nodes
        assert len(edges) == first
        assert info["endCursor"] == edges[-1]["cursor"]
        after = info["endCursor"]


def follow_counts(ref: Reference) -> dict[str, int]:
    counts: dict[str, int] = {}
    for user, _ in ref.follows:
        counts[user] = counts.get(user, 0) + 1
    return counts


def typical_user(ref: Reference) -> str:
    """The first user (by number) following the median number of creators with more than
    two pages of feed at 7 a page."""
    counts = follow_counts(ref)
    median = sorted(counts.values())[len(counts) // 2]
    return next(
        u for u in sorted(counts, key=number) if counts[u] == median and len(ref.feed(u)) > 14
    )


@pytest.mark.parametrize(("who", "first"), [("typical", 7), ("heaviest", FEED_PAGE)])
def test_feed_pages_agree_with_the_events(demo: Demo, who: str, first: int) -> None:
    """Walking every Feed page with `after` gives exactly the reference's feed, newest first,
    each post once, with its author, listed products, price and counters."""
    ref = demo.ref
    counts = follow_counts(ref)
    user = typical_user(ref) if who == "typical" else max(counts, key=lambda u: counts[u])
    if who == "heaviest":
        assert (user, counts[user]) == ("u-1", 40)
    expected = ref.feed(user)
    assert len(expected) > 2 * first
    nodes = walk_feed(demo, user, first)
    assert [n["id"] for n in nodes] == [encode_id("Post", p) for p in expected]
    now = datetime.now(UTC)
    assert nodes == [feed_node(ref, p, now) for p in expected]


def test_feeds_leave_out_unpublished_posts(demo: Demo) -> None:
    """A follower of a creator whose post was taken down never sees it, yet sees the rest."""
    ref = demo.ref
    gone = sorted(p for p in ref.unpublished if p in ref.posts)
    assert gone
    post = gone[0]
    creator = ref.posts[post]["creatorId"]
    follower = min((u for u, c in ref.follows if c == creator), key=number)
    ids = {n["id"] for n in walk_feed(demo, follower, FEED_PAGE)}
    assert encode_id("Post", post) not in ids
    assert len(ids) == len(ref.feed(follower)) > 0
    assert run_operation(demo, "Trending", {"window": "WEEK", "first": 100})["trending"]


@pytest.mark.parametrize("window", ["HOUR", "DAY", "WEEK"])
def test_trending_agrees_with_the_events(demo: Demo, window: str) -> None:
    """Trending's order in each window equals the reference's decayed score of the raw
    EngagementRecorded events, with each post's author and counters."""
    ref = demo.ref
    length = {"HOUR": timedelta(hours=1), "DAY": timedelta(days=1), "WEEK": timedelta(days=7)}
    for _ in range(2):  # a request that straddles an hour boundary is asked again
        before = datetime.now(UTC)
        posts = run_operation(demo, "Trending", {"window": window, "first": 50})["trending"]
        after = datetime.now(UTC)
        if (before - length[window]).hour == (after - length[window]).hour:
            break
    expected = ref.trending(window, after, 50)
    assert len(expected) >= 10
    assert [p["id"] for p in posts] == [encode_id("Post", p) for p in expected]
    authors = creators_by_id(ref)
    assert posts == [
        {
            "id": encode_id("Post", p),
            "body": ref.posts[p]["body"],
            "publishedAt": ref.posts[p]["publishedAt"],
            "author": {
                "handle": authors[ref.posts[p]["creatorId"]]["handle"],
                "name": authors[ref.posts[p]["creatorId"]]["name"],
            },
            "engagement": ref.counters(p),
        }
        for p in expected
    ]


def test_trending_windows_differ(demo: Demo) -> None:
    """The last hour's burst on a non-viral creator's post leads HOUR, and the top ten of
    HOUR, DAY and WEEK are three different lists."""
    tops = {
        window: [
            p["id"]
            for p in run_operation(demo, "Trending", {"window": window, "first": 10})["trending"]
        ]
        for window in ("HOUR", "DAY", "WEEK")
    }
    hour = run_operation(demo, "Trending", {"window": "HOUR", "first": 1})["trending"]
    assert hour[0]["author"]["handle"] != creators_by_id(demo.ref)["cr-1"]["handle"]
    assert len({tuple(ids) for ids in tops.values()}) == 3


def test_creator_profile_posts_and_counts_agree_with_the_events(demo: Demo) -> None:
    """CreatorProfile's follower and post counts, viewerFollows and first 10 posts equal the
    reference, for a follower, a non-follower and anonymously."""
    ref = demo.ref
    gone = {ref.posts[p]["creatorId"] for p in ref.unpublished if p in ref.posts}
    chosen = ["cr-1", "cr-2", min(gone, key=number), "cr-50"]
    checked = 0
    for creator in chosen:
        data = creators_by_id(ref)[creator]
        followers = sorted((u for u, c in ref.follows if c == creator), key=number)
        others = [u for u in ("u-2999", "u-3000") if (u, creator) not in ref.follows]
        posts = ref.creator_posts(creator)
        for viewer, follows in [(followers[0], True), (others[0], False), (None, False)]:
            profile = run_operation(demo, "CreatorProfile", {"handle": data["handle"]}, viewer)
            profile = profile["creator"]
            assert profile["id"] == encode_id("Creator", creator)
            assert (profile["followerCount"], profile["postCount"]) == (
                ref.followers(creator),
                len(posts),
            ), creator
            assert profile["viewerFollows"] is follows
            assert profile["posts"]["pageInfo"]["hasNextPage"] is (len(posts) > 10)
            assert profile["posts"]["nodes"] == [
                {
                    "id": encode_id("Post", p),
                    "body": ref.posts[p]["body"],
                    "publishedAt": ref.posts[p]["publishedAt"],
                    "engagement": ref.counters(p),
                }
                for p in posts[:10]
            ]
            checked += 1
    assert ref.followers("cr-1") >= 1200
    assert checked == 12


# The mutations last: they write to the demo world (and then put the follow graph back).

FOLLOW_AT = "mutation F($id: ID!) { follow(creatorId: $id) { following position } }"
UNFOLLOW = "mutation U($id: ID!) { unfollow(creatorId: $id) { following position } }"
FOLLOWED = "query P($h: String!) { creator(handle: $h) { followerCount viewerFollows } }"


def test_follow_and_record_engagement_run_on_demo_data(demo: Demo) -> None:
    """Follow twice is one follow, counted once (the contract's Follow, read at the first
    follow's position); the unfollow puts the count back; RecordEngagement is accepted."""
    ref = demo.ref
    user = "u-3000"
    creator = next(f"cr-{n}" for n in range(2, 51) if (user, f"cr-{n}") not in ref.follows)
    handle = next(h for h, c in ref.creators.items() if c["creatorId"] == creator)
    count = ref.followers(creator)
    variables = {"creatorId": encode_id("Creator", creator)}
    token = mint_token(SECRET, sub=user, roles=["CUSTOMER"], ttl_seconds=600)
    as_user = {"Authorization": f"Bearer {token}"}

    def send(query: str, variables: dict[str, object], at: int | None = None) -> dict[str, Any]:
        """The data as `user`, read at position `at` or later when given."""
        headers = as_user if at is None else {**as_user, "Vitrine-Min-Position": str(at)}
        response = demo.server.graphql(query, variables, **headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        if at is not None:
            assert body["extensions"]["readModel"]["minPositionReached"] is True
        return body["data"]  # type: ignore[no-any-return]

    first = send(FOLLOW_AT, {"id": variables["creatorId"]})["follow"]
    assert first["following"] is True
    assert send(OPERATIONS["Follow"], variables, first["position"]) == {
        "follow": {
            "following": True,
            "creator": {"id": encode_id("Creator", creator), "followerCount": count + 1},
        }
    }
    gone = send(UNFOLLOW, {"id": variables["creatorId"]})["unfollow"]
    assert gone["following"] is False
    assert gone["position"] == first["position"] + 2  # the contract's Follow appended between
    assert send(FOLLOWED, {"h": handle}, gone["position"]) == {
        "creator": {"followerCount": count, "viewerFollows": False}
    }
    post = ref.feed("u-1")[0]
    for kind in ("LIKE", "SHARE", "REMIX"):
        variables = {"postId": encode_id("Post", post), "kind": kind}
        assert run_operation(demo, "RecordEngagement", variables, user) == {
            "recordEngagement": {"accepted": True}
        }
