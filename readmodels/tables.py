"""Imports every table module so the shared metadata knows them all (migrations, rebuild)."""

from readmodels.catalog.tables import CATALOG_TABLES
from readmodels.creators.tables import CREATOR_TABLES
from readmodels.eventlog.tables import event_log, event_log_head, projection_checkpoints
from readmodels.feeds.tables import FEED_TABLES
from readmodels.insights.tables import INSIGHT_TABLES
from readmodels.pricing.tables import PRICING_TABLES
from readmodels.recommendations.tables import RECOMMENDATION_TABLES
from readmodels.segments.tables import SEGMENT_TABLES
from readmodels.trending.tables import TRENDING_TABLES

__all__ = [
    "CATALOG_TABLES",
    "CREATOR_TABLES",
    "FEED_TABLES",
    "INSIGHT_TABLES",
    "PRICING_TABLES",
    "RECOMMENDATION_TABLES",
    "SEGMENT_TABLES",
    "TRENDING_TABLES",
    "event_log",
    "event_log_head",
    "projection_checkpoints",
]
