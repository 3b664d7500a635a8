"""Field resolvers of the dashboard and insight types: plain functions of a view, the
request info and arguments, returning a value or a loader future."""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry.types import Info

from readmodels.creators.rows import CreatorRow
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.insights import dashboard
from resolvers.insights.dashboard import DashboardRoot
from resolvers.insights.views import InsightView, ProductSalesView, RevenueSummaryView
from resolvers.tracing import traced

Ctx = Info[RequestContext, Any]


def dashboard_creator(root: DashboardRoot) -> CreatorRow:
    return root.creator


@traced
def dashboard_revenue(root: DashboardRoot, info: Ctx) -> asyncio.Future[RevenueSummaryView]:
    return dashboard.dashboard_revenue(root, info.context)


@traced
def dashboard_top_products(
    root: DashboardRoot, info: Ctx, first: int | None = 5
) -> asyncio.Future[list[ProductSalesView]]:
    return dashboard.dashboard_top_products(root, info.context, first)


@traced
def dashboard_insights(
    root: DashboardRoot, info: Ctx, limit: int | None = 3
) -> asyncio.Future[list[InsightView]]:
    return dashboard.dashboard_insights(root, info.context, limit)


def insight_id(root: InsightView) -> str:
    return encode_id("Insight", root.key)
