"""The insight pipeline: stable, decodable ids, every rule run, and what the dashboard shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readmodels.insights.rows import DayRow
from resolvers.insights import pipeline
from resolvers.insights.model import (
    FIRST_DAY,
    Finding,
    InsightInputs,
    InsightKind,
    InsightSeverity,
    Period,
    RangeMetrics,
)
from resolvers.insights.pipeline import (
    InsightKey,
    format_key,
    insight_key,
    parse_insight_key,
    select,
)

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))
CRITICAL = InsightSeverity.CRITICAL
WARNING = InsightSeverity.WARNING
INFO = InsightSeverity.INFO


def finding(
    kind: InsightKind = InsightKind.REVENUE_DROP,
    severity: InsightSeverity = WARNING,
    subject: str = "s-2",
    period: Period = PERIOD,
    title: str = "t",
) -> Finding:
    return Finding(kind, severity, subject, period, title, "m", (), "r")


def metrics(period: Period, revenue: str, orders: int) -> RangeMetrics:
    first, *rest = period.each_day()
    zero = Decimal(0)
    days = (
        DayRow(first, Decimal(revenue), orders, orders, 0, 0),
        *(DayRow(day, zero, 0, 0, 0, 0) for day in rest),
    )
    return RangeMetrics(period, days, ())


def dropping() -> InsightInputs:
    """A store whose revenue fell by 80% on 60 orders: REVENUE_DROP fires and nothing else."""
    return InsightInputs(
        creator_id="cr-2",
        store_id="s-2",
        currency="EUR",
        now=NOW,
        current=metrics(PERIOD, "200.00", 60),
        previous=metrics(PERIOD.previous(), "1000.00", 60),
        stock={},
        ending_promotions=(),
    )


class StubRule:
    """A rule that returns the findings it was built with, or raises."""

    name = "stub"
    version = 1
    range_based = True

    def __init__(
        self,
        findings: list[Finding],
        kind: InsightKind = InsightKind.REVENUE_DROP,
        error: Exception | None = None,
    ) -> None:
        self.kind = kind
        self.findings = findings
        self.error = error

    def evaluate(self, inputs: InsightInputs) -> list[Finding]:
        if self.error is not None:
            raise self.error
        return list(self.findings)


# ---------------------------------------------------------------- rules


def test_rules_hold_one_rule_per_kind_in_contract_order() -> None:
    """RULES runs every InsightKind exactly once, in the order the contract lists the kinds."""
    assert [rule.kind for rule in pipeline.RULES] == list(InsightKind)


def test_rule_for_finds_each_kind() -> None:
    """rule_for returns the rule of every kind."""
    for kind in InsightKind:
        assert pipeline.rule_for(kind).kind is kind


# ---------------------------------------------------------------- keys


def test_insight_key_is_kind_creator_period_subject() -> None:
    """The key reads KIND:creator:start:end:subject."""
    assert insight_key("cr-2", finding()) == "REVENUE_DROP:cr-2:2026-11-16:2026-11-22:s-2"


def test_insight_key_escapes_colons_in_the_creator_and_keeps_the_subject_raw() -> None:
    """A ':' in the creator id is percent-encoded; the subject, last, needs no escaping."""
    key = insight_key("cr:9%", finding(subject="pr:1:x"))
    assert key == "REVENUE_DROP:cr%3A9%25:2026-11-16:2026-11-22:pr:1:x"
    assert parse_insight_key(key) == InsightKey(InsightKind.REVENUE_DROP, "cr:9%", "pr:1:x", PERIOD)


def test_insight_key_ignores_wording_severity_and_rule_version() -> None:
    """Only kind, creator, subject and period make the id, so a reworded or re-graded insight keeps it."""
    assert insight_key("cr-2", finding(severity=CRITICAL, title="other")) == insight_key(
        "cr-2", finding()
    )


@st.composite
def keys(draw: st.DrawFn) -> InsightKey:
    start = draw(st.dates(min_value=FIRST_DAY, max_value=date(9998, 12, 1)))
    end = start + timedelta(days=draw(st.integers(0, 30)))
    # Lone surrogates cannot reach an id: every way in (JSON bodies, tokens) is UTF-8.
    printable = st.characters(
        min_codepoint=32, blacklist_characters="\x7f", blacklist_categories=("Cs",)
    )
    text = st.text(printable, min_size=1)
    creator = draw(text | st.from_regex(r"[a-z:%\-0-9]{1,12}", fullmatch=True))
    subject = draw(text | st.from_regex(r"[a-z:\-0-9]{1,12}", fullmatch=True))
    return InsightKey(draw(st.sampled_from(InsightKind)), creator, subject, Period(start, end))


@given(keys())
def test_insight_key_round_trips(key: InsightKey) -> None:
    """Any kind, creator, subject (colons included) and period survive formatting and parsing."""
    text = insight_key(key.creator_id, finding(key.kind, subject=key.subject, period=key.period))
    assert parse_insight_key(text) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "REVENUE_DROP",
        "REVENUE_DROP:cr-2:2026-11-16:2026-11-22",  # no subject part
        "REVENUE_DROP:cr-2:2026-11-16:2026-11-22:",  # empty subject
        "REVENUE_DROP::2026-11-16:2026-11-22:s-2",  # empty creator
        "WEEKLY_DIGEST:cr-2:2026-11-16:2026-11-22:s-2",  # unknown kind
        "revenue_drop:cr-2:2026-11-16:2026-11-22:s-2",  # kinds are upper case
        "REVENUE_DROP:cr-2:2026-11-31:2026-12-01:s-2",  # no such day
        "REVENUE_DROP:cr-2:20261116:2026-11-22:s-2",  # another spelling of a day
        "REVENUE_DROP:cr-2:2026-11-22:2026-11-16:s-2",  # ends before it starts
        "REVENUE_DROP:cr%3a2:2026-11-16:2026-11-22:s-2",  # not the canonical escape
        "REVENUE_DROP:cr%FF:2026-11-16:2026-11-22:s-2",  # not UTF-8
        "REVENUE_DROP:cr%ZZ:2026-11-16:2026-11-22:s-2",  # a '%' that escapes nothing
        "ins-cr-2-revenue-drop",  # the demo's placeholder ids
    ],
)
def test_parse_insight_key_rejects_malformed_keys(key: str) -> None:
    """Anything insight_key could not have produced raises ValueError."""
    with pytest.raises(ValueError, match=r"insight|kind|creator|date"):
        parse_insight_key(key)


def test_insight_key_rejects_an_empty_subject() -> None:
    """A finding without a subject cannot be given an id."""
    with pytest.raises(ValueError, match="subject"):
        insight_key("cr-2", finding(subject=""))


# ---------------------------------------------------------------- run_rules


def test_run_rules_pairs_each_finding_with_its_rule() -> None:
    """On a store whose revenue fell 80%, the drop rule alone fires, paired with its rule."""
    [(rule, found)] = pipeline.run_rules(dropping())
    assert (rule.name, found.kind, found.severity, found.title) == (
        "revenue-drop",
        InsightKind.REVENUE_DROP,
        CRITICAL,
        "Revenue down 80%",
    )


def test_run_rules_gives_the_same_keys_for_the_same_inputs() -> None:
    """Recomputing from equal inputs yields the same ids, so dismissals hold."""
    first = [insight_key("cr-2", f) for _, f in pipeline.run_rules(dropping())]
    again = [insight_key("cr-2", f) for _, f in pipeline.run_rules(dropping())]
    assert first == again == ["REVENUE_DROP:cr-2:2026-11-16:2026-11-22:s-2"]


def test_run_rules_keeps_rule_order() -> None:
    """Findings come rule by rule, each rule's in the order it returned them."""
    a = StubRule([finding(subject="b"), finding(subject="a")])
    b = StubRule([finding(InsightKind.REVENUE_SPIKE)], kind=InsightKind.REVENUE_SPIKE)
    results = pipeline.run_rules(dropping(), [b, a])
    assert [(r.kind, f.subject) for r, f in results] == [
        (InsightKind.REVENUE_SPIKE, "s-2"),
        (InsightKind.REVENUE_DROP, "b"),
        (InsightKind.REVENUE_DROP, "a"),
    ]


def test_run_rules_lets_a_raising_rule_fail_the_run() -> None:
    """A rule that raises is not swallowed: the caller nulls the insights field."""
    broken = StubRule([], kind=InsightKind.REVENUE_SPIKE, error=ZeroDivisionError("boom"))
    with pytest.raises(ZeroDivisionError, match="boom"):
        pipeline.run_rules(dropping(), [*pipeline.RULES[:1], broken])


def test_run_rules_rejects_a_finding_of_another_kind() -> None:
    """A rule returning another kind's finding is a bug that fails the run."""
    rule = StubRule([finding(InsightKind.REVENUE_SPIKE)], kind=InsightKind.REVENUE_DROP)
    with pytest.raises(ValueError, match="returned a REVENUE_SPIKE finding"):
        pipeline.run_rules(dropping(), [rule])


def test_run_rules_rejects_two_findings_with_one_id() -> None:
    """Two findings with the same id would be two insights nobody could tell apart."""
    rule = StubRule([finding(), finding(severity=CRITICAL)])
    with pytest.raises(ValueError, match="twice"):
        pipeline.run_rules(dropping(), [rule])


# ---------------------------------------------------------------- select


def keyed(*findings: Finding) -> list[tuple[str, Finding]]:
    return [(insight_key("cr-2", f), f) for f in findings]


SPIKE = finding(InsightKind.REVENUE_SPIKE, INFO)
LOW_STOCK_A = finding(InsightKind.LOW_STOCK_BESTSELLER, CRITICAL, subject="p-2")
LOW_STOCK_B = finding(InsightKind.LOW_STOCK_BESTSELLER, CRITICAL, subject="p-1")
DROP = finding(InsightKind.REVENUE_DROP, CRITICAL)
PROMOTION = finding(InsightKind.PROMOTION_ENDING, WARNING, subject="pr-1")
REPEAT = finding(InsightKind.NEW_REPEAT_CUSTOMERS, INFO)


def test_select_orders_by_severity_then_kind_then_key() -> None:
    """CRITICAL before WARNING before INFO; ties by the contract's kind order, then by id."""
    items = keyed(SPIKE, REPEAT, LOW_STOCK_A, PROMOTION, LOW_STOCK_B, DROP)
    chosen = select(items, set(), 6)
    assert [f for _, f in chosen] == [DROP, LOW_STOCK_B, LOW_STOCK_A]
    shown = {key for key, _ in chosen}
    assert [f for _, f in select(items, shown, 3)] == [PROMOTION, SPIKE, REPEAT]


def test_select_never_shows_dismissed_insights() -> None:
    """A dismissed id is dropped before the limit applies, so the next one takes its place."""
    items = keyed(DROP, LOW_STOCK_A, PROMOTION, SPIKE)
    dismissed = {insight_key("cr-2", DROP), "REVENUE_DROP:cr-9:2026-01-01:2026-01-07:s-9"}
    assert [f for _, f in select(items, dismissed, 3)] == [LOW_STOCK_A, PROMOTION, SPIKE]


@pytest.mark.parametrize(
    ("limit", "shown"), [(None, 3), (0, 0), (1, 1), (2, 2), (3, 3), (4, 3), (1000, 3)]
)
def test_select_caps_the_limit_at_three(limit: int | None, shown: int) -> None:
    """At most `limit` insights and never more than three; no limit means three."""
    items = keyed(DROP, LOW_STOCK_A, LOW_STOCK_B, PROMOTION, SPIKE)
    assert len(select(items, set(), limit)) == shown


def test_select_rejects_a_negative_limit() -> None:
    """A negative limit raises ValueError (the resolver answers BAD_USER_INPUT)."""
    with pytest.raises(ValueError, match="negative"):
        select(keyed(DROP), set(), -1)


@given(st.permutations(keyed(SPIKE, REPEAT, LOW_STOCK_A, PROMOTION, LOW_STOCK_B, DROP)))
def test_select_does_not_depend_on_input_order(items: list[tuple[str, Finding]]) -> None:
    """The same findings in any order give the same choice."""
    assert [f for _, f in select(items, set(), 3)] == [DROP, LOW_STOCK_B, LOW_STOCK_A]


def test_among_equals_the_more_urgent_shows_first() -> None:
    """Two WARNING promotion endings: the one ending sooner comes first, whatever its key."""
    period = Period(date(2026, 11, 22), date(2026, 11, 22))

    def ending(subject: str, seconds_left: float) -> Finding:
        return Finding(
            InsightKind.PROMOTION_ENDING, InsightSeverity.WARNING, subject, period,
            "t", "m", (), "r", urgency=-seconds_left,
        )  # fmt: skip

    later, sooner = ending("pr-1", 17 * 3600), ending("pr-9", 3600)
    chosen = select([("a-later", later), ("z-sooner", sooner)], set(), 3)
    assert [key for key, _ in chosen] == ["z-sooner", "a-later"]


@pytest.mark.parametrize(
    ("period", "subject"),
    [
        (Period(date(2020, 1, 1), date(2021, 1, 1)), "s-1"),  # 367 days
        (Period(date(1969, 12, 31), date(1969, 12, 31)), "s-1"),  # before 1970
        (Period(date(9999, 1, 1), date(9999, 1, 2)), "s-1"),  # past 9998
        (Period(date(2026, 11, 1), date(2026, 11, 7)), "s\x00"),  # a control character
    ],
)
def test_keys_no_dashboard_could_issue_are_refused(period: Period, subject: str) -> None:
    """Ids come from clients: a period a lookup would fold for years, or a subject an
    event cannot carry, is malformed."""
    key = format_key(InsightKey(InsightKind.REVENUE_DROP, "cr-1", subject, period))
    with pytest.raises(ValueError, match=r"insight period out of range|control character"):
        parse_insight_key(key)
