"""Insight read models: per-store daily metrics pre-aggregated from orders and
traffic, and the seen/dismissed state of insights with its audit trail."""
