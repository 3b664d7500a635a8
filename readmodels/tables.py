"""Imports every table module so the shared metadata knows them all (migrations, rebuild)."""

from readmodels.catalog.tables import CATALOG_TABLES
from readmodels.creators.tables import CREATOR_TABLES
from readmodels.eventlog.tables import event_log, event_log_head, projection_checkpoints

__all__ = [
    "CATALOG_TABLES",
    "CREATOR_TABLES",
    "event_log",
    "event_log_head",
    "projection_checkpoints",
]
