"""Cache hints of the served schema: how long each type or field's answer stays good.

Read by the response cache (`infra.response_cache.policy`, Apollo's rules):
an operation's max-age is the smallest over what it selects, and it is
PRIVATE as soon as one field is. Leaf fields inherit; an object or root field
without a hint (here or on its type) makes the operation uncacheable, so a
new type must be given a hint here to be cached at all.

Why these numbers: catalog entities change rarely and every change purges
them by tag, so the max-age only bounds what tags cannot see (clock-driven
changes, a lost invalidation); prices move with promotions (60 s); stock
moves with every order (30 s). Connections are as fresh as their pages
(60 s). Anything about the viewer is PRIVATE.

Entries naming types of domains not served yet (feeds, pricing, insights)
are ready for them; `tests/unit/test_cache_policy.py` lists them.
"""

from __future__ import annotations

from infra.response_cache.policy import CacheHint, Scope

PUBLIC, PRIVATE = Scope.PUBLIC, Scope.PRIVATE


def _public(seconds: int) -> CacheHint:
    return CacheHint(seconds, PUBLIC)


CACHE_HINTS: dict[str, CacheHint] = {
    # Catalog entities and their value types.
    "Product": _public(300),
    "Store": _public(300),
    "Category": _public(300),
    "Collection": _public(300),
    "Creator": _public(300),
    "Image": _public(300),
    "Money": _public(300),
    "PriceRange": _public(300),
    "Rating": _public(300),
    "ProductPrice": _public(60),
    "PriceTier": _public(60),
    "Promotion": _public(60),
    "AppliedPromotion": _public(60),
    "Inventory": _public(30),
    # Listings and pages.
    "ProductConnection": _public(60),
    "ProductEdge": _public(60),
    "PageInfo": _public(60),
    "PromotionConnection": _public(60),
    "PromotionEdge": _public(60),
    # Root fields.
    "Query.product": _public(300),
    "Query.products": _public(60),
    "Query.category": _public(300),
    "Query.categories": _public(300),
    "Query.collection": _public(300),
    "Query.store": _public(300),
    "Query.creator": _public(300),
    # No scope of its own: it takes the Node types' most restrictive, PRIVATE (an
    # Insight is its creator's), so an owner's `node(id)` answer never reaches another.
    "Query.node": CacheHint(300),
    "Query.promotions": _public(60),
    "Query.trending": _public(60),
    "Query.post": _public(60),
    # Social content: public, but engagement counts move quickly.
    "Post": _public(60),
    "PostConnection": _public(60),
    "PostEdge": _public(60),
    "Engagement": _public(30),
    # Anything about the viewer is private to them.
    "Creator.viewerFollows": CacheHint(scope=PRIVATE),
    "Query.feed": CacheHint(15, PRIVATE),
    "Query.viewer": CacheHint(60, PRIVATE),
    "Viewer": CacheHint(60, PRIVATE),
    "Query.creatorDashboard": CacheHint(30, PRIVATE),
    "Query.explainInsight": CacheHint(60, PRIVATE),
    # A creator's dashboard: their own numbers and insights, never shared.
    "CreatorDashboard": CacheHint(30, PRIVATE),
    "RevenueSummary": CacheHint(30, PRIVATE),
    "DailyRevenue": CacheHint(30, PRIVATE),
    "ProductSales": CacheHint(30, PRIVATE),
    "Insight": CacheHint(30, PRIVATE),
    "InsightExplanation": CacheHint(60, PRIVATE),
    "MetricInput": CacheHint(60, PRIVATE),
    # A cart is priced once: nothing to reuse.
    "Query.priceCart": CacheHint(0, PRIVATE),
}
