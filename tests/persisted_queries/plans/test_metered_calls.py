"""On an unsampled request a compiled plan times `@traced` resolvers without a resolve info of
their own: a field whose arguments use variables is called in its metered form too."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.readpool import ReadPool
from persisted_queries.plans import PlanCompiler
from resolvers.context import RequestContext
from tests.resolvers.execution import DOCUMENTS, SCHEMA

CATEGORY = "query C($slug: String!) { category(slug: $slug) { name } }"


async def test_a_field_with_variables_is_metered_on_the_shared_info(database_url: str) -> None:
    """`category(slug: $slug)` calls its metered form with the request's shared info unless
    sampled (no `r.field_info(...)` per call), and its duration is observed."""
    compiler = PlanCompiler(SCHEMA._schema)
    plan = compiler.plan(DOCUMENTS.get(CATEGORY), None)  # type: ignore[arg-type]
    assert plan is not None
    pool = ReadPool(database_url, max_size=1)
    try:
        context = RequestContext(db=pool, now=datetime.now(UTC))
        result = await plan.execute(context, {"slug": "nowhere"})
    finally:
        await pool.close()
    assert result is not None
    assert (result.data, result.errors) == ({"category": None}, None)
    assert {name: len(d) for name, d in context.observations.fields.items()} == {
        "Query.category": 1
    }
    (variant,) = plan.variants.values()
    (call,) = [
        line for line in variant.source.splitlines() if "'category'" in line and "GA(" in line
    ]
    assert "(r.field_info(" in call
    assert " if tr else info)" in call  # the per-call info is built for sampled requests only
    assert "if not tr else" in call  # and the metered form is called otherwise
