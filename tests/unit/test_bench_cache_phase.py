"""The cache phase's pure parts: bodies and items, the Lua slots, /metrics, ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
import orjson
import pytest

from bench.cache_phase import (
    TOKEN,
    apq_get_path,
    body_line,
    counter_deltas,
    hit_ratios,
    hottest_body,
    ideal_ratios,
    item_line,
    items_for,
    level_share,
    new_text_line,
    parse_metrics,
    ratio_to,
    render_cache_script,
    sent_indices,
    variables_items,
)
from bench.cli import build_options
from bench.report import render_markdown
from persisted_queries.hashing import sha256_hex

QUERY = 'query ProductPage($slug: String!) {\n  product(slug: $slug) { title }\n}\n# "quoted"\n'
METRICS = """# HELP vitrine_cache_l1_hits_total response cache: l1_hits
# TYPE vitrine_cache_l1_hits_total counter
vitrine_cache_l1_hits_total 90.0
vitrine_cache_l1_misses_total 10.0
vitrine_cache_l2_hits_total 4.0
vitrine_cache_l2_misses_total 6.0
vitrine_cache_l1_bytes 12345.0
something_labelled{level="l1"} 3.0
broken_line not-a-number
"""


def test_the_hottest_body_is_the_most_frequent_and_ties_go_to_the_first() -> None:
    """The top Zipf draw is the body sent most often, whatever the key order."""
    a = {"query": "q", "variables": {"slug": "a"}}
    b = {"variables": {"slug": "b"}, "query": "q"}
    b_again = {"query": "q", "variables": {"slug": "b"}}
    assert hottest_body([a, b, b_again, a, b]) == b
    assert hottest_body([a, b]) == a
    with pytest.raises(ValueError, match="no bodies"):
        hottest_body([])


def test_a_new_text_line_puts_the_token_in_a_graphql_comment() -> None:
    """Lua inserts the token between head and tail: the result is valid JSON whose query
    ends with a comment holding it, and nothing else changed."""
    body = {"query": QUERY, "variables": {"slug": "mug"}}
    head, tail = new_text_line(body).split("\t")
    sent = orjson.loads(head + "run-0-17" + tail)
    assert sent == {"query": QUERY + "\n# run-0-17", "variables": {"slug": "mug"}}
    assert "\n" not in head + tail
    assert orjson.loads(body_line(body)) == body
    assert "\t" not in body_line(body)


def test_variables_items_share_the_query_as_a_prefix() -> None:
    """prefix + line is each body, in order."""
    prefix, lines = variables_items(QUERY, [{"slug": "a"}, {"slug": 'b"\t'}])
    assert [orjson.loads(prefix + line) for line in lines] == [
        {"query": QUERY, "variables": {"slug": "a"}},
        {"query": QUERY, "variables": {"slug": 'b"\t'}},
    ]
    assert TOKEN not in prefix + "".join(lines)


def test_items_refuse_raw_tabs_and_newlines() -> None:
    assert item_line("a", "b") == "a\tb"
    assert item_line("a") == "a"
    with pytest.raises(ValueError, match="raw tab or newline"):
        item_line("a\tb")
    with pytest.raises(ValueError, match="raw tab or newline"):
        item_line("a", "b\n")


def test_the_apq_get_path_carries_the_hash_and_variables_but_no_query() -> None:
    """What PersistedQueryLink sends with useGETForHashedQueries."""
    path = apq_get_path(QUERY, {"slug": "mug"})
    parts = urlsplit(path)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/graphql"
    assert set(params) == {"extensions", "variables"}
    assert orjson.loads(params["extensions"]) == {
        "persistedQuery": {"version": 1, "sha256Hash": sha256_hex(QUERY)}
    }
    assert orjson.loads(params["variables"]) == {"slug": "mug"}
    assert " " not in path
    assert "\t" not in path
    assert "variables" not in apq_get_path(QUERY, {})


def test_the_cache_lua_template_gets_every_slot_filled() -> None:
    """Every slot is replaced; strings are Lua literals, headers a Lua table."""
    script = render_cache_script(
        items=Path("/tmp/a b/x.items"),
        result=Path("/tmp/r.json"),
        method="GET",
        request_path="/graphql",
        headers={"Apollo-Require-Preflight": "true"},
        threads=2,
        prefix='{"query":"q\\n","variables":',
        unique=True,
        nonce="cache-x-1",
        offset=1500,
    )
    assert "{{" not in script
    assert 'local items_path = "/tmp/a b/x.items"' in script
    assert 'local method = "GET"' in script
    assert 'local headers = { ["Apollo-Require-Preflight"] = "true" }' in script
    assert "local unique = true" in script
    assert "local offset = 1500" in script
    assert "local thread_count = 2" in script
    assert 'local prefix = "{\\"query\\":\\"q\\\\n\\",\\"variables\\":"' in script


def test_metrics_text_is_read_by_name_and_counters_are_differenced() -> None:
    """Unlabelled samples by name; deltas only for the cache counters present."""
    after = parse_metrics(METRICS)
    assert after["vitrine_cache_l1_hits_total"] == 90.0
    assert after["vitrine_cache_l1_bytes"] == 12345.0
    assert "broken_line" not in after
    before = {"vitrine_cache_l1_hits_total": 40.0, "vitrine_cache_l1_misses_total": 10.0}
    assert counter_deltas(before, after) == {
        "l1_hits": 50,
        "l1_misses": 0,
        "l2_hits": 4,
        "l2_misses": 6,
    }
    assert counter_deltas({}, {}) == {}


def test_hit_ratios_count_every_lookup_once() -> None:
    """Each lookup hits L1 or misses it; L2 sees only L1's misses."""
    ratios = hit_ratios({"l1_hits": 90, "l1_misses": 10, "l2_hits": 4, "l2_misses": 6})
    assert ratios == {
        "lookups": 100,
        "hits": 94,
        "overall": 0.94,
        "l1": 0.9,
        "l2": 0.04,
        "l2_of_l1_misses": 0.4,
    }
    assert hit_ratios({})["overall"] is None
    assert level_share({"l1_hits": 0, "l1_misses": 50, "l2_hits": 49}, "l2") == 0.98
    assert level_share({}, "l1") is None


def test_sent_indices_follow_the_lua_threads_from_their_offsets() -> None:
    """Thread t starts at offset + t * stride and wraps around the items."""
    assert sent_indices(10, 2, 0, 5) == [0, 1, 2, 5, 6]
    assert sent_indices(10, 2, 4, 6) == [4, 5, 6, 9, 0, 1]
    assert sent_indices(10, 1, 0, 0) == []


def test_ideal_ratios_count_first_sightings_as_the_only_misses() -> None:
    """From cold, every distinct key misses once; the measured run only misses keys the
    warm-up did not send."""
    keys = ["a", "b", "a", "c", "a", "d"]
    ideal = ideal_ratios(keys, warmup=[0, 1, 2], measured=[3, 4, 5])
    assert ideal == {"from_cold": round(2 / 6, 4), "measured": round(1 / 3, 4), "distinct_sent": 4}
    assert ideal_ratios(keys, [], [])["from_cold"] is None


def test_items_for_a_hit_ratio_run_cover_it_with_a_margin_within_bounds() -> None:
    assert items_for(1000.0, 13.0) == 16_900
    assert items_for(10.0, 1.0) == 10_000
    assert items_for(1e9, 100.0) == 400_000
    assert items_for(None, 13.0) == 50_000
    assert ratio_to(500.0, 1000.0) == 0.5
    assert ratio_to(None, 1000.0) is None


def _cache_run(rps: float, status: str | None, ratio_to_floor: float | None) -> dict[str, Any]:
    return {
        "rps": rps,
        "latency_ms": {"p50": 1.5, "p95": 2.0, "p99": 3.25},
        "cpu_us_per_request": 400.0,
        "non_2xx": 0,
        "socket_errors": 0,
        "ratio_to_floor": ratio_to_floor,
        "probe": {"status": 200, "vitrine_cache": status, "cache_control": "no-store"},
    }


CACHE_RESULTS: dict[str, Any] = {
    "operations": {
        "ProductPage": {
            "variables": {"slug": "mug"},
            "response_bytes": 3000,
            "variants": {
                "floor": {**_cache_run(10000.0, None, None), "probe": None},
                "no_cache": _cache_run(500.0, None, 0.05),
                "new_text": _cache_run(250.0, None, 0.025),
                "l1_hit": _cache_run(6000.0, "HIT-L1", 0.6),
                "redis_hit": {"skipped": "Redis not reachable at redis://x"},
                "apq_get": _cache_run(6500.0, "HIT-L1", 0.65),
            },
            "document_cache": {
                "parse_us": 700.0,
                "validate_us": 2780.4,
                "saving_us": 3480.4,
                "end_to_end": {
                    "rps_cached_document": 500.0,
                    "rps_new_text": 250.0,
                    "cpu_us_cached_document": 2000.0,
                    "cpu_us_new_text": 4000.0,
                    "cpu_us_saved": 2000.0,
                },
            },
        }
    },
    "hit_ratio": {
        "operation": "ProductPage",
        "levels": "L1 + Redis",
        "draws": 20000,
        "distinct_draws": 3000,
        "warmup_requests": 4000,
        "wrapped": False,
        "measured": {
            "overall": 0.9612,
            "l1": 0.96,
            "l2": 0.0012,
            "l2_of_l1_misses": 0.03,
            "lookups": 15000,
        },
        "from_cold": {
            "overall": 0.91,
            "l1": 0.9,
            "l2": 0.01,
            "l2_of_l1_misses": 0.1,
            "lookups": 19000,
        },
        "ideal": {"measured": 0.965, "from_cold": 0.914, "distinct_sent": 1700},
    },
}


def _results(only: str | None) -> dict[str, Any]:
    return {
        "timestamp": "20261122T080000Z",
        "settings": {
            "main_scale": "medium",
            "workers": 1,
            "threads": 2,
            "connections": 32,
            "duration_s": 10.0,
            "warmup_s": 3.0,
            "only": only,
        },
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "python": "3.11.7", "postgres": "16.4"},
        "datasets": {"medium": {"products": 20000, "events": 900000}},
        "cache": CACHE_RESULTS,
        "phases_seconds": {"cache": 250.0},
        "problems": ["Redis not reachable at redis://x: the Redis variants are skipped"],
    }


def test_the_response_cache_table_has_a_row_per_operation_and_variant() -> None:
    """req/s, ratio to floor, p50, p99, CPU and the probe's Vitrine-Cache per variant."""
    markdown = render_markdown(_results(None))
    assert "### Response cache" in markdown
    assert (
        "| operation | variant | req/s | ratio to floor | p50 ms | p99 ms | CPU µs/req | served as | errors |"
        in markdown
    )
    assert (
        "| ProductPage | floor (HTTP only) | 10,000 | 1 | 1.50 | 3.25 | 400 | HTTP only | 0 |"
        in markdown
    )
    assert "| ProductPage | no cache | 500 | 0.05 | 1.50 | 3.25 | 400 | cache off | 0 |" in markdown
    assert "| ProductPage | L1 hit | 6,000 | 0.6 | 1.50 | 3.25 | 400 | HIT-L1 | 0 |" in markdown
    assert "| ProductPage | Redis hit | - | - | - | - | - | skipped | - |" in markdown
    assert "| ProductPage | APQ GET (L1 hit) | 6,500 | 0.65 |" in markdown
    assert "- ProductPage redis_hit: Redis not reachable at redis://x" in markdown


def test_the_hit_ratio_and_the_parse_validate_saving_are_reported() -> None:
    markdown = render_markdown(_results(None))
    assert "**96.1%** of 15,000 lookups in the measured run (L1 96.0%, Redis 0.1%" in markdown
    assert "91.0% counting the warm-up" in markdown
    assert "would hit 96.5% and 91.4% of the same draws" in markdown
    assert (
        "- ProductPage: prepared-document cache saves 3,480 µs per request (parse + validate:"
        " 700 + 2,780 µs, in-process); end to end, 500 req/s with the document cached vs 250"
        " req/s with a new text every request (server CPU 2,000 vs 4,000 µs/req: 2,000 µs saved)"
        in markdown
    )


def test_only_cache_reports_the_cache_section_and_the_problems_alone() -> None:
    markdown = render_markdown(_results("cache"))
    assert "### Response cache" in markdown
    assert "| operation | req/s | floor req/s |" not in markdown
    assert "### Scaling" not in markdown
    assert "### Problems" in markdown
    skipped = render_markdown({**_results(None), "cache": {"skipped": "--no-cache-phase"}})
    assert "_--no-cache-phase_" in skipped


def test_the_cache_phase_options() -> None:
    """--no-cache-phase and --only cache reach the suite's options; together they conflict."""
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
    assert build_options(**common).cache_phase is True
    assert build_options(**common, cache_phase=False).cache_phase is False
    assert build_options(**common, only="cache").only == "cache"
    with pytest.raises(click.BadParameter, match="contradicts"):
        build_options(**common, cache_phase=False, only="cache")
