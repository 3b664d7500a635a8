"""A handful of insight-state events, as if the story stores' owners had opened their dashboards.

The ids are placeholders of the stable form ("ins-<creator>-<rule>"); the
gateway's rules compute their own ids, so these only give the audit trail
and the seen/dismissed tables something to show.
"""

from __future__ import annotations

from collections.abc import Iterator

from readmodels.demo.timeline import HOUR, Draft
from readmodels.demo.world import DROP_STORE, LOW_STOCK_STORE, SPIKE_STORE, VIRAL_CREATOR, World


def insight_drafts(world: World) -> Iterator[Draft]:
    """InsightSeen by the story creators over the last hours, then two dismissals."""
    now = world.now
    owners = (DROP_STORE, SPIKE_STORE, LOW_STOCK_STORE, VIRAL_CREATOR)  # creator n owns store n
    rules = ("revenue-drop", "revenue-spike", "low-stock", "follower-growth")
    for step, (creator, rule) in enumerate(zip(owners, rules, strict=True)):
        yield (
            now - (5 - step) * HOUR,
            "InsightSeen",
            {
                "creatorId": f"cr-{creator}",
                "insightId": f"ins-cr-{creator}-{rule}",
            },
        )
    yield (
        now - HOUR,
        "InsightDismissed",
        {
            "creatorId": f"cr-{DROP_STORE}",
            "insightId": f"ins-cr-{DROP_STORE}-revenue-drop",
        },
    )
    yield (
        now - HOUR // 2,
        "InsightDismissed",
        {
            "creatorId": f"cr-{VIRAL_CREATOR}",
            "insightId": f"ins-cr-{VIRAL_CREATOR}-weekly-digest",
        },
    )
