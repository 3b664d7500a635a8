"""The insight state loader: each creator's seen/dismissed insights, in one statement."""

from __future__ import annotations

from readmodels.insights.rows import InsightStateRow
from readmodels.insights.state_queries import insight_states
from resolvers.dataloaders import RowLoader


class InsightStateByCreatorLoader(
    RowLoader[str, dict[str, InsightStateRow]], query=insight_states, key_tag="insight-state"
):
    """A creator's insight states by insight id (empty for none); tagged
    `insight-state:<creator id>`, the tag the projection and the mutations announce."""
