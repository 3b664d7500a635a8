"""The insight rules pipeline (pure): run every rule, key what fired, pick what to show.

`insight_key` is an insight's stable source id: its kind, creator, period and
subject, so the same rule firing for the same creator, subject and period
yields the same id whenever insights are recomputed, and a dismissal holds
(events.md). The rule's version is deliberately not part of it: a tuned
threshold must not resurrect dismissed insights. The key is decodable
(`parse_insight_key`), so `explainInsight` can rebuild the inputs from an id
alone: for range-based rules the period is the dashboard's range.

Key layout: `KIND:creator:start:end:subject`. The creator id is percent-encoded
(no ':' in it then); the subject comes last, raw, so any subject survives,
colons included. Dates are ISO (YYYY-MM-DD).

`run_rules` catches nothing: a rule that raises fails the whole `insights`
field, and the caller turns that into one error while revenue still renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple
from urllib.parse import quote, unquote

from resolvers.insights.model import (
    FIRST_DAY,
    LAST_DAY,
    MAX_RANGE_DAYS,
    Finding,
    InsightInputs,
    InsightKind,
    Period,
    Rule,
)
from resolvers.insights.rules import (
    conversion_drop,
    low_stock_bestseller,
    new_repeat_customers,
    promotion_ending,
    revenue_drop,
    revenue_spike,
    top_product_surge,
)

MAX_SHOWN = 3

RULES: tuple[Rule, ...] = (
    revenue_drop.RULE,
    revenue_spike.RULE,
    top_product_surge.RULE,
    low_stock_bestseller.RULE,
    conversion_drop.RULE,
    promotion_ending.RULE,
    new_repeat_customers.RULE,
)
"""Every rule, one per InsightKind, in the contract's order of kinds."""

_BY_KIND: dict[InsightKind, Rule] = {rule.kind: rule for rule in RULES}
if len(_BY_KIND) != len(RULES) or set(_BY_KIND) != set(InsightKind):
    raise RuntimeError("RULES must hold exactly one rule per InsightKind")

_KIND_ORDER = {kind: n for n, kind in enumerate(InsightKind)}


class InsightKey(NamedTuple):
    """The parts of an insight id."""

    kind: InsightKind
    creator_id: str
    subject: str
    period: Period


class RuleFinding(NamedTuple):
    """One finding and the rule that fired it (unpacks as `rule, finding`)."""

    rule: Rule
    finding: Finding


RuleResults = list[RuleFinding]
"""Every rule's findings, in rule order, each rule's in the order it returned them."""


def rule_for(kind: InsightKind) -> Rule:
    """The rule of `kind` among `RULES` (every kind has exactly one)."""
    return _BY_KIND[kind]


def insight_key(creator_id: str, finding: Finding) -> str:
    """The stable source id of `finding` for `creator_id`: `KIND:creator:start:end:subject`."""
    return format_key(InsightKey(finding.kind, creator_id, finding.subject, finding.period))


def format_key(key: InsightKey) -> str:
    """The text of `key`; raises ValueError for an empty creator or subject or a reversed period."""
    if not key.creator_id or not key.subject:
        raise ValueError("an insight key needs a creator id and a subject")
    start, end = key.period
    if end < start:
        raise ValueError(f"an insight period ends before it starts: {start} > {end}")
    creator = quote(key.creator_id, safe="")
    return f"{key.kind.value}:{creator}:{start.isoformat()}:{end.isoformat()}:{key.subject}"


def parse_insight_key(key: str) -> InsightKey:
    """The parts of an id made by `insight_key`; ValueError for anything else."""
    parts = key.split(":", 4)
    if len(parts) != 5:
        raise ValueError(f"malformed insight key: {key!r}")
    kind_text, creator, start_text, end_text, subject = parts
    try:
        kind = InsightKind(kind_text)
    except ValueError:
        raise ValueError(f"unknown insight kind in key: {kind_text!r}") from None
    try:
        creator_id = unquote(creator, errors="strict")
    except UnicodeDecodeError:
        raise ValueError(f"malformed creator id in insight key: {creator!r}") from None
    if not creator_id or quote(creator_id, safe="") != creator:
        raise ValueError(f"malformed creator id in insight key: {creator!r}")
    period = Period(_iso_date(start_text), _iso_date(end_text))
    parsed = InsightKey(kind, creator_id, subject, period)
    format_key(parsed)  # empty subject, reversed period
    # Ids are parsed from clients: a period no dashboard range could have (longer
    # than MAX_RANGE_DAYS, or out of FIRST_DAY..LAST_DAY) would make a lookup fold
    # years of empty days; a control character could not be stored in an event.
    if period.days > MAX_RANGE_DAYS or period.start < FIRST_DAY or period.end > LAST_DAY:
        raise ValueError(f"insight period out of range: {period.start}..{period.end}")
    if any(ord(c) < 32 or ord(c) == 127 for c in creator_id + subject):
        raise ValueError("control character in insight key")
    return parsed


def _iso_date(text: str) -> date:
    """Exactly YYYY-MM-DD (date.fromisoformat also takes other spellings of a day)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"malformed date in insight key: {text!r}") from None
    if day.isoformat() != text:
        raise ValueError(f"malformed date in insight key: {text!r}")
    return day


def run_rules(inputs: InsightInputs, rules: Sequence[Rule] = RULES) -> RuleResults:
    """Every rule's findings on `inputs`. Nothing is caught: a rule that raises fails
    the run. A rule returning another kind's finding, or two findings with the same
    id, is a bug in the rule and raises ValueError."""
    results: RuleResults = []
    keys: set[str] = set()
    for rule in rules:
        for finding in rule.evaluate(inputs):
            if finding.kind is not rule.kind:
                raise ValueError(f"rule {rule.name} returned a {finding.kind.value} finding")
            key = insight_key(inputs.creator_id, finding)
            if key in keys:
                raise ValueError(f"rule {rule.name} returned insight {key} twice")
            keys.add(key)
            results.append(RuleFinding(rule, finding))
    return results


def select(
    findings_with_keys: Iterable[tuple[str, Finding]],
    dismissed: set[str] | frozenset[str],
    limit: int | None,
) -> list[tuple[str, Finding]]:
    """What the dashboard shows: undismissed findings, most severe first (then in kind
    order, then the most urgent, then by key, so the choice is deterministic), at
    most `limit` capped at 3 (None: 3). A negative `limit` raises ValueError."""
    if limit is None:
        limit = MAX_SHOWN
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    shown = [(key, finding) for key, finding in findings_with_keys if key not in dismissed]
    shown.sort(key=_rank)
    return shown[: min(limit, MAX_SHOWN)]


def _rank(item: tuple[str, Finding]) -> tuple[int, int, float, str]:
    key, finding = item
    return (-finding.severity.rank, _KIND_ORDER[finding.kind], -finding.urgency, key)
