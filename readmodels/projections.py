"""Every projection Vitrine runs, by name."""

from __future__ import annotations

from readmodels.catalog.projection import CatalogProjection
from readmodels.creators.projection import CreatorsProjection
from readmodels.feeds.projection import FeedsProjection
from readmodels.insights.projection import InsightMetricsProjection
from readmodels.insights.state_projection import InsightStateProjection
from readmodels.pricing.projection import PromotionsProjection
from readmodels.projector.projection import Projection
from readmodels.recommendations.projection import RecommendationsProjection
from readmodels.segments.projection import SegmentsProjection
from readmodels.trending.projection import TrendingProjection


def all_projections() -> list[Projection]:
    return [
        CatalogProjection(),
        CreatorsProjection(),
        PromotionsProjection(),
        RecommendationsProjection(),
        SegmentsProjection(),
        InsightMetricsProjection(),
        InsightStateProjection(),
        FeedsProjection(),
        TrendingProjection(),
    ]


def projection_named(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections())
    raise KeyError(f"no projection named {name!r} (known: {known})")
