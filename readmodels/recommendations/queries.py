"""Read-model queries of recommendations: one statement per call, results aligned with keys."""

from __future__ import annotations

from collections.abc import Sequence

from readmodels.reader import Reader

_RECOMMENDATIONS = "SELECT product_id, other_ids FROM recommendations WHERE product_id = ANY($1)"


async def recommendations_by_products(
    db: Reader, product_ids: Sequence[str]
) -> list[tuple[str, ...]]:
    """Each product's ranked bought-together ids (best first); an empty tuple for none.

    The ids are not filtered: whether each still exists, is listed and priced
    is the catalog's to say, at read time.
    """
    rows = await db.fetch(_RECOMMENDATIONS, list(product_ids))
    found = {r["product_id"]: tuple(r["other_ids"]) for r in rows}
    return [found.get(product_id, ()) for product_id in product_ids]
