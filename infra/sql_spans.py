"""Spans of SQL statements, named and described by the OpenTelemetry database conventions.

A span is named by its query summary, `{operation} {main table}` (`SELECT
products`), and carries the statement text as written: read-model statements
are fixed texts with positional parameters (`$1`), so no request's values ever
reach a span. The summary is worked out once per distinct text (a pure function,
cached), so a sampled statement pays a dictionary lookup for its name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from opentelemetry.trace import Span, SpanKind, Tracer

from infra.span_errors import record_error

DB_SYSTEM = "postgresql"
# A table a statement names after FROM, JOIN, INTO or UPDATE; a set-returning function
# (`FROM unnest($1...)`) is not one.
_TABLE = re.compile(
    r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)\b(?!\s*\()|\b(?:INTO|UPDATE)\s+([A-Za-z_][\w.]*)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z_]\w*")
# A common table expression's name: `WITH name AS (`, `, name AS MATERIALIZED (`...
_CTE = re.compile(
    r"(?:\bWITH(?:\s+RECURSIVE)?|,)\s*([A-Za-z_]\w*)\s*(?:\(\))?\s+AS\b", re.IGNORECASE
)
_MAIN_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES")


@lru_cache(maxsize=1024)
def statement_summary(sql: str) -> tuple[str, str | None]:
    """(operation, main table) of a statement: its verb (the main statement's, after any
    WITH clause) and the first table its outermost level names (else the first table
    anywhere, as for `SELECT EXISTS (SELECT 1 FROM t ...)`); None when it names none."""
    outer = _outermost(sql)
    ctes = (
        {name.lower() for name in _CTE.findall(outer)}
        if outer.lstrip()[:4].upper() == "WITH"
        else set()
    )
    words = [w.upper() for w in _WORD.findall(outer)]
    operation = words[0] if words else "SQL"
    if ctes:
        operation = next((w for w in words if w in _MAIN_VERBS), operation)
    for text in (outer, sql):
        for read, written in _TABLE.findall(text):
            table = read or written
            if table.lower() not in ctes:
                return operation, table
    return operation, None


def _outermost(sql: str) -> str:
    """`sql` without what is inside parentheses or quotes (the parentheses stay)."""
    kept: list[str] = []
    depth = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            if depth == 0:
                kept.append(char)
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
            if depth == 0:
                kept.append(char)
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def start_statement_span(tracer: Tracer, sql: str) -> Span:
    """A CLIENT span for one statement, a child of the current span."""
    operation, table = statement_summary(sql)
    attributes: dict[str, Any] = {
        "db.system": DB_SYSTEM,
        "db.operation.name": operation,
        "db.query.text": sql,
    }
    if table is not None:
        attributes["db.collection.name"] = table
    name = operation if table is None else f"{operation} {table}"
    return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)


def record_statement_error(span: Span, error: BaseException) -> None:
    """The statement's failure on its span: the exception and ERROR, described by
    PostgreSQL's SQLSTATE (also `db.response.status_code`) or the type name, never by
    the driver's message, which may quote the statement's values (`infra.span_errors`)."""
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        span.set_attribute("db.response.status_code", sqlstate)
    span.set_attribute("error.type", type(error).__qualname__)
    record_error(span, error)
