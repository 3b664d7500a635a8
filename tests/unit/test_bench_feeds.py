"""The feeds phase's pure parts: which users, which pages, which tokens, what answers say,
and the report."""

from __future__ import annotations

from typing import Any

import click
import orjson
import pytest

from bench.cli import build_options
from bench.feeds import (
    BRIEF_WINDOWS,
    DEEP_PAGE,
    ENGAGED_RUNS,
    FEED,
    KINDS,
    RUNS,
    TRENDING,
    UserFollows,
    auth_headers,
    brief,
    choose_users,
    counter_grew,
    customer_token,
    engaged_cases,
    engagement_counts,
    engagement_plan,
    engagement_position,
    feed_body,
    feed_cases,
    feed_page,
    follow_stats,
    heaviest_user,
    median_user,
    trending_body,
    trending_count,
    trending_note,
)
from bench.load import LoadSettings
from bench.report import feeds_section, render_markdown
from bench.server import JWT_SECRET, PreflightError
from bench.workload import OWN_PHASE
from infra.auth import decode_token

ROWS = [
    UserFollows("u-1", 2000),
    UserFollows("u-2", 2),
    UserFollows("u-10", 2),
    UserFollows("u-3", 1),
    UserFollows("u-4", 7),
]
OPERATIONS = {FEED: "query Feed { feed { edges { cursor } } }", TRENDING: "query Trending { x }"}


def test_the_typical_user_has_the_median_follow_count() -> None:
    """Sorted u-3 1, u-2 2, u-10 2, u-4 7, u-1 2000: the third is u-10."""
    assert median_user(ROWS).user_id == "u-10"


def test_an_even_count_takes_the_lower_median_with_ties_in_natural_order() -> None:
    """u-3 1, u-2 2, u-5 2, u-10 2, u-4 7, u-1 2000: index 2 is u-5 ("u-5" before "u-10")."""
    rows = [*ROWS, UserFollows("u-5", 2)]
    assert median_user(rows).user_id == "u-5"
    assert median_user(list(reversed(rows))).user_id == "u-5"


def test_the_heaviest_user_follows_the_most_and_ties_go_in_natural_order() -> None:
    assert heaviest_user(ROWS) == UserFollows("u-1", 2000)
    tied = [UserFollows("u-10", 9), UserFollows("u-9", 9)]
    assert heaviest_user(tied).user_id == "u-9"
    assert choose_users(ROWS) == {"heaviest": ROWS[0], "typical": ROWS[2]}


def test_no_follows_is_an_error() -> None:
    from bench.feeds import FeedsError

    with pytest.raises(FeedsError):
        median_user([])
    with pytest.raises(FeedsError):
        heaviest_user([])


def test_follow_stats() -> None:
    assert follow_stats(ROWS) == {
        "users_following": 5,
        "follows": 2012,
        "median_follows": 2.0,
        "max_follows": 2000,
    }


def test_the_token_is_a_customer_token_for_the_user() -> None:
    token = customer_token("u-42", now=1_000_000.0)
    identity = decode_token(token, JWT_SECRET, now=1_000_010.0)
    assert identity.sub == "u-42"
    assert identity.roles == frozenset({"CUSTOMER"})
    assert identity.creator_id is None
    assert auth_headers(token) == {"Authorization": f"Bearer {token}"}
    assert auth_headers(None) == {}


def test_bodies() -> None:
    assert feed_body("q", None) == {"query": "q", "variables": {"first": 20}}
    assert feed_body("q", "c1", first=5) == {"query": "q", "variables": {"first": 5, "after": "c1"}}
    assert trending_body("q", "HOUR") == {
        "query": "q",
        "variables": {"window": "HOUR", "first": 20},
    }


def _feed_answer(posts: int, next_cursor: str | None) -> bytes:
    edges = [{"cursor": f"c{i}", "node": {"id": f"p{i}"}} for i in range(posts)]
    info = {"hasNextPage": next_cursor is not None, "endCursor": next_cursor or "last"}
    return orjson.dumps({"data": {"feed": {"pageInfo": info, "edges": edges}}})


def test_a_feed_page_gives_its_size_and_the_next_cursor() -> None:
    assert feed_page(_feed_answer(20, "abc")) == (20, "abc")
    # The end: endCursor is set but there is no next page.
    assert feed_page(_feed_answer(3, None)) == (3, None)
    with pytest.raises(PreflightError):
        feed_page(b'{"data": null, "errors": [{"message": "no"}]}')


def test_trending_count() -> None:
    assert trending_count(b'{"data": {"trending": [{"id": "a"}, {"id": "b"}]}}') == 2
    assert trending_count(b'{"data": {"trending": []}}') == 0
    with pytest.raises(PreflightError):
        trending_count(b"not json")


def test_engagement_counts_and_growth() -> None:
    answer = orjson.dumps(
        {"data": {"post": {"id": "x", "engagement": {"likes": 3, "shares": 1, "remixes": 0}}}}
    )
    before = engagement_counts(answer)
    assert before == {"likes": 3, "shares": 1, "remixes": 0}
    assert engagement_counts(b'{"data": {"post": null}}') is None
    grown = {"likes": 3, "shares": 2, "remixes": 0}
    assert counter_grew(before, grown, "SHARE")
    assert not counter_grew(before, grown, "LIKE")
    assert not counter_grew(before, None, "REMIX")


def test_engagement_position_needs_an_accepted_answer() -> None:
    ok = b'{"data": {"recordEngagement": {"accepted": true, "position": 1234}}}'
    assert engagement_position(ok) == 1234
    assert engagement_position(b'{"data": {"recordEngagement": {"accepted": true}}}') is None
    with pytest.raises(PreflightError):
        engagement_position(b'{"data": {"recordEngagement": {"accepted": false}}}')


def test_the_engagement_plan_goes_round_the_posts_with_a_new_user_each_time() -> None:
    plan = engagement_plan(["p1", "p2"], 5, "run")
    assert [post for post, _, _ in plan] == ["p1", "p2", "p1", "p2", "p1"]
    assert [kind for _, kind, _ in plan] == [*KINDS, *KINDS][:5]
    assert len({user for _, _, user in plan}) == 5


def test_cases_take_the_first_and_the_deepest_walked_page() -> None:
    users = choose_users(ROWS)
    walks: dict[str, Any] = {
        "heaviest": [(1, None, 20), *[(p, f"c{p}", 20) for p in range(2, DEEP_PAGE + 1)]],
        "typical": [(1, None, 20), (2, "t2", 7)],
    }
    found = feed_cases(OPERATIONS, users, walks)
    labels = [c.label for c in found]
    assert labels == [
        "feed-heaviest-first",
        "feed-heaviest-deep",
        "feed-typical-first",
        "feed-typical-deep",
        "trending-DAY",
        "trending-HOUR",
        "trending-WEEK",
    ]
    assert len(found) * 2 == RUNS
    engaged = engaged_cases(OPERATIONS)
    assert [c.label for c in engaged] == [f"trending-{w}-engaged" for w in ("DAY", "HOUR", "WEEK")]
    assert len(engaged) * 2 == ENGAGED_RUNS
    deep = found[1]
    assert (deep.page, deep.user_id) == (DEEP_PAGE, "u-1")
    assert deep.body["variables"] == {"first": 20, "after": f"c{DEEP_PAGE}"}
    assert found[3].body["variables"]["after"] == "t2"
    assert "after" not in found[0].body["variables"]
    assert {c.window for c in found if c.brief} == BRIEF_WINDOWS
    assert all(c.user_id is None for c in found if c.operation == TRENDING)


def test_the_trending_note_names_the_empty_windows() -> None:
    assert trending_note(["DAY", "WEEK"]).startswith("Trending DAY, WEEK listed no post")


def test_brief_runs_are_a_third_as_long() -> None:
    settings = LoadSettings(connections=32, threads=2, duration=10, warmup=3)
    assert brief(settings) == LoadSettings(32, 2, 10 / 3, 1.0)
    assert brief(LoadSettings(32, 2, 2, 0)).duration == 1.0


def test_feed_needs_its_own_phase_and_the_options() -> None:
    assert FEED in OWN_PHASE
    common: dict[str, Any] = {
        "quick": True,
        "workers": 1,
        "connections": 32,
        "threads": 2,
        "duration": None,
        "warmup": None,
        "operations": None,
        "scales": None,
        "freshness": True,
        "rebuild": True,
    }
    assert build_options(**common, only="feeds").only == "feeds"
    assert not build_options(**common, feeds_phase=False).feeds_phase
    with pytest.raises(click.BadParameter):
        build_options(**common, only="feeds", feeds_phase=False)


def _run(rps: float) -> dict[str, Any]:
    return {
        "rps": rps,
        "latency_ms": {"p50": 1.5, "p99": 9.25},
        "cpu_us_per_request": 1234.0,
        "db_cpu_us_per_request": 321.0,
        "non_2xx": 0,
        "socket_errors": 0,
    }


def _feeds_results() -> dict[str, Any]:
    case = {
        "operation": FEED,
        "who": "heaviest",
        "user_id": "u-1",
        "page": 6,
        "window": None,
        "posts": 20,
        "response_bytes": 9000,
        "duration_s": 10.0,
        "graphql": _run(400.0),
        "floor": _run(4000.0),
        "ratio_to_floor": 0.1,
        "inprocess": {"statements": 4, "execute_us": 2500.0},
    }
    trending = {
        **case,
        "operation": TRENDING,
        "who": None,
        "user_id": None,
        "page": None,
        "window": "DAY",
    }
    return {
        "users": {"heaviest": {"user_id": "u-1", "follows": 2000}},
        "follows": {"users_following": 10, "median_follows": 2},
        "walks": {"heaviest": [{"page": 1, "posts": 20}]},
        "cases": {"feed-heaviest-deep": case, "trending-DAY": trending},
        "note": "Trending DAY listed no post",
        "engagement": {
            "samples": 200,
            "posts": 40,
            "timeouts": 0,
            "from_ack_ms": {"p50": 12.5, "p99": 80.0, "max": 95.0},
            "from_post_ms": {"p50": 15.0, "p99": 90.0},
            "mutation_ms": {"p50": 2.5},
            "trending": {"trending-DAY-engaged": {**trending, "posts": 20}},
        },
    }


def test_the_report_section() -> None:
    text = "\n".join(feeds_section(_feeds_results()))
    assert (
        "| Feed heaviest u-1 | page 6 | 400 | 4,000 | 0.1 | 1.50 | 9.25 | 1,234 | 321 | 4 |" in text
    )
    assert "| Trending | DAY, 10 s |" in text
    assert "| Trending (engaged copy) | DAY, 10 s |" in text
    assert "p50 12.5 ms, p99 80.0 ms" in text
    assert "Trending DAY listed no post" in text
    assert "_--no-feeds-phase_" in "\n".join(feeds_section({"skipped": "--no-feeds-phase"}))


def test_only_feeds_renders_the_feeds_section() -> None:
    results = {
        "timestamp": "t",
        "settings": {
            "main_scale": "small",
            "workers": 1,
            "threads": 2,
            "connections": 32,
            "duration_s": 3,
            "warmup_s": 1,
            "only": "feeds",
        },
        "machine": {"nproc": 2, "cpu_model": "x", "python": "3.12"},
        "datasets": {"small": {"products": 1, "events": 2}},
        "feeds": _feeds_results(),
        "phases_seconds": {"feeds": 1.0},
        "problems": [],
    }
    text = render_markdown(results)
    assert "### Feeds" in text
    assert "Creator dashboard" not in text
