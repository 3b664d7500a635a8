"""SQL span names: the statement's verb and main table, worked out from its text alone."""

from __future__ import annotations

import pytest

from infra.sql_spans import statement_summary


@pytest.mark.parametrize(
    ("sql", "summary"),
    [
        ("SELECT id FROM products p WHERE p.id = ANY($1)", ("SELECT", "products")),
        (
            "select * from listing_entries e join products p on p.id = e.product_id",
            ("SELECT", "listing_entries"),
        ),
        # A set-returning function is not a table: the first real one is.
        (
            "SELECT k.i FROM unnest($1::text[]) AS k(i) JOIN promotions o ON true",
            ("SELECT", "promotions"),
        ),
        # Only the outermost level counts, unless it names no table at all.
        (
            "SELECT EXISTS (SELECT 1 FROM persisted_documents WHERE id = $1)",
            ("SELECT", "persisted_documents"),
        ),
        ("SELECT (SELECT count(*) FROM a) AS n FROM b", ("SELECT", "b")),
        # A WITH query: the main statement's verb, and a table that is not one of its CTEs.
        (
            "WITH f AS MATERIALIZED (SELECT id FROM products) SELECT * FROM f JOIN stores s ON true",
            ("SELECT", "stores"),
        ),
        ("WITH RECURSIVE t(n) AS (SELECT 1 FROM seeds) SELECT n FROM t", ("SELECT", "seeds")),
        ("INSERT INTO event_log (id, body) VALUES ($1, $2)", ("INSERT", "event_log")),
        ("UPDATE checkpoints SET position = $1", ("UPDATE", "checkpoints")),
        # Quoted text is no keyword.
        ("DELETE FROM cache WHERE note = 'FROM elsewhere'", ("DELETE", "cache")),
        ("SELECT 1", ("SELECT", None)),
    ],
)
def test_statement_summary(sql: str, summary: tuple[str, str | None]) -> None:
    """Each statement is summarised as its verb and the table it is about."""
    assert statement_summary(sql) == summary
