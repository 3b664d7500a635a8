"""The benchmark harness's pure parts: sampling, wrk and /proc parsing, fingerprints, the report."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.cli import build_options
from bench.dataset import fingerprint, with_database
from bench.load import parse_wrk_json, render_script
from bench.procstats import cpu_model, parse_stat, parse_status_kb
from bench.report import number, ratio, render_markdown
from bench.workload import Operation, Pools, Zipf, distinct, rank_words, sample_requests

WRK_JSON = (
    '{"requests": 30210, "duration_us": 3001234, "bytes": 45315000, '
    '"errors": {"connect": 0, "read": 2, "write": 0, "status": 5, "timeout": 1}, '
    '"latency_us": {"p50": 1520, "p95": 4210, "p99": 9875, "mean": 1700.5, "max": 20123, "stdev": 800.2}}\n'
)
# A worker whose command name holds spaces and parentheses; utime 1234, stime 567.
STAT_LINE = (
    "4242 (python (uvicorn) w) S 4200 4200 4200 0 -1 4194304 2000 0 0 0 1234 567 0 0 20 0 "
    "3 0 12345 456789012 23456 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 1 0 0"
)
STATUS = "Name:\tpython\nVmPeak:\t  500000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n"


def _pools() -> Pools:
    return Pools(
        products=Zipf([(f"p-{i}", f"slug-{i}") for i in range(1, 1001)]),
        categories=Zipf(["toys", "books", "garden"]),
        creators=Zipf(["creator1", "creator2"]),
        search_words=Zipf(["bamboo", "midnight"]),
    )


def test_zipf_draws_are_deterministic_for_a_seed() -> None:
    """The same seed draws the same ranks; another seed draws others."""
    zipf = Zipf(list(range(1000)))

    def draws(seed: int) -> list[int]:
        rng = random.Random(seed)
        return [zipf.rank(rng) for _ in range(500)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_zipf_is_skewed_towards_the_top_ranks_with_a_long_tail() -> None:
    """Rank 0 is drawn about 1/H(n) of the time, the top 1% takes ~40%, and the tail is reached."""
    zipf = Zipf(list(range(1000)))
    rng = random.Random(42)
    counts = Counter(zipf.rank(rng) for _ in range(20_000))
    harmonic = sum(1 / k for k in range(1, 1001))
    assert counts[0] / 20_000 == pytest.approx(1 / harmonic, rel=0.1)
    top = sum(counts[r] for r in range(10)) / 20_000
    assert 0.35 < top < 0.45
    assert counts[0] > counts[1] > counts[5]
    assert any(rank >= 900 for rank in counts)
    assert all(0 <= rank < 1000 for rank in counts)


def test_zipf_refuses_an_empty_ranking() -> None:
    """An empty dataset is an error, not an endless loop or an IndexError later."""
    with pytest.raises(ValueError, match="empty"):
        Zipf([])


def test_sampled_requests_repeat_for_the_same_seed_and_differ_per_operation() -> None:
    """Two runs send the same bodies; each operation has its own sequence."""
    operation = Operation("ProductPage", "query ProductPage($slug: String!) { x }", ("slug",))
    twin = Operation("Twin", operation.query, ("slug",))

    def generator(pools: Pools, rng: random.Random) -> dict[str, Any]:
        return {"slug": pools.products.draw(rng)[1]}

    bodies = sample_requests(operation, generator, _pools(), count=300)
    assert bodies == sample_requests(operation, generator, _pools(), count=300)
    assert bodies != sample_requests(twin, generator, _pools(), count=300)
    assert all(b["query"] == operation.query for b in bodies)
    assert 1 < len(distinct(bodies)) < 300


def test_distinct_keeps_first_appearances_in_order() -> None:
    """Duplicates go, whatever the key order of their variables."""
    bodies = [
        {"query": "q", "variables": {"a": 1, "b": 2}},
        {"query": "q", "variables": {"b": 2, "a": 1}},
        {"query": "q", "variables": {"a": 3}},
    ]
    assert distinct(bodies) == [bodies[0], bodies[2]]


def test_search_words_are_ranked_by_how_many_titles_use_them() -> None:
    """Short words are ignored; a word counts once per title; ties sort alphabetically."""
    titles = ["Bamboo Bamboo Lamp", "Midnight Bamboo Mug", "Midnight Lamp", "Red Cup"]
    assert rank_words(titles) == ["bamboo", "lamp", "midnight"]


def test_wrk_json_is_parsed_into_seconds_and_milliseconds() -> None:
    """The Lua done() output becomes throughput, ms percentiles and error totals."""
    result = parse_wrk_json(WRK_JSON)
    assert result.requests == 30210
    assert result.duration_s == pytest.approx(3.001234)
    assert result.rps == pytest.approx(30210 / 3.001234)
    assert result.latency_ms == {
        "p50": 1.52,
        "p95": 4.21,
        "p99": 9.875,
        "mean": 1.7005,
        "max": 20.123,
    }
    assert (result.non_2xx, result.socket_errors) == (5, 3)
    assert result.as_dict()["rps"] == round(30210 / 3.001234, 1)


def test_the_lua_template_gets_every_slot_filled() -> None:
    """The generated script names the bodies, result file, path and thread count."""
    script = render_script(
        bodies=Path("/tmp/a b/x.bodies"),
        result=Path("/tmp/r.json"),
        request_path="/bench/floor?bytes=1170",
        threads=2,
    )
    assert "{{" not in script
    assert 'local bodies_path = "/tmp/a b/x.bodies"' in script
    assert 'local request_path = "/bench/floor?bytes=1170"' in script
    assert "local thread_count = 2" in script


def test_cpu_time_is_read_after_the_command_name() -> None:
    """utime and stime are fields 14 and 15, counted after the last ')'."""
    stat = parse_stat(STAT_LINE)
    assert (stat.pid, stat.ppid) == (4242, 4200)
    assert (stat.utime_ticks, stat.stime_ticks, stat.cpu_ticks) == (1234, 567, 1801)


def test_status_values_and_cpu_model_are_read_by_key() -> None:
    """VmRSS and VmHWM come out in kB; a missing key is None."""
    assert parse_status_kb(STATUS, "VmRSS") == 100000
    assert parse_status_kb(STATUS, "VmHWM") == 123456
    assert parse_status_kb(STATUS, "VmSwap") is None
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"


def test_fingerprint_follows_sources_scale_and_url_naming(tmp_path: Path) -> None:
    """Editing a fingerprinted file or choosing another scale changes the fingerprint."""
    demo = tmp_path / "readmodels" / "demo"
    demo.mkdir(parents=True)
    (demo / "world.py").write_text("A = 1\n")
    before = fingerprint("medium", root=tmp_path)
    assert before == fingerprint("medium", root=tmp_path)
    assert before != fingerprint("small", root=tmp_path)
    (demo / "world.py").write_text("A = 2\n")
    assert fingerprint("medium", root=tmp_path) != before
    assert (
        with_database("postgresql://u:p@h:5432/postgres?sslmode=off", "vitrine_bench_small")
        == "postgresql://u:p@h:5432/vitrine_bench_small?sslmode=off"
    )


def test_quick_options_use_the_small_dataset_and_short_runs() -> None:
    """--quick means small, 3 s runs after 1 s warm-up; explicit values still win."""
    options = build_options(
        quick=True,
        workers=1,
        connections=32,
        threads=2,
        duration=None,
        warmup=None,
        operations="ProductPage, SearchProducts",
        scales=None,
        freshness=True,
        rebuild=False,
    )
    assert (options.main_scale, options.scales) == ("small", ("small",))
    assert (options.load.duration, options.load.warmup) == (3.0, 1.0)
    assert options.operations == ("ProductPage", "SearchProducts")


def _run(rps: float, cpu: float | None) -> dict[str, Any]:
    return {
        "rps": rps,
        "latency_ms": {"p50": 1.234, "p95": 2.5, "p99": 4.0},
        "cpu_us_per_request": cpu,
        "db_cpu_us_per_request": 300.0 if cpu else None,
        "non_2xx": 0,
        "socket_errors": 1,
        "memory": {"steady_rss_mb": 101.5, "peak_rss_mb": 110.0},
    }


RESULTS: dict[str, Any] = {
    "timestamp": "20261122T080000Z",
    "settings": {
        "main_scale": "small",
        "workers": 1,
        "threads": 2,
        "connections": 32,
        "duration_s": 3.0,
        "warmup_s": 1.0,
    },
    "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "python": "3.11.7", "postgres": "16.4"},
    "datasets": {"small": {"products": 1897, "events": 97106}},
    "operations": {
        "ProductPage": {
            "graphql": _run(1234.5, 812.0),
            "floor": _run(10000.0, 95.0),
            "ratio_to_floor": 0.123,
            "response_bytes": 1170,
        }
    },
    "not_served": {"Feed": "not served yet (Cannot query field 'feed')"},
    "inprocess": {"ProductPage": {"statements": 4, "parse_us": 700.0}},
    "projections": {"seed": {"events": 97106, "projections": {"catalog": {"seconds": 7.5}}}},
    "freshness": {"skipped": "--no-freshness"},
    "scaling": {
        "first": [{"first": 12, "response_bytes": 8245, **_run(142.0, 5058.0)}],
        "scales": [{"scale": "small", "products": 1897, "events": 97106, **_run(58.0, None)}],
    },
    "phases_seconds": {"dataset": 14.9, "load": 36.6},
    "problems": [],
}


def test_markdown_has_one_row_per_operation_with_floor_ratio() -> None:
    """The operations table shows req/s, the ratio, ms latencies, CPU, statements and bytes."""
    markdown = render_markdown(RESULTS)
    assert "| operation | req/s | floor req/s | ratio to floor | p50 ms |" in markdown
    assert (
        "| ProductPage | 1,234 | 10,000 | 0.123 | 1.23 | 2.50 | 4.00 | 812 | 95 | 300 | 4 | 1,170 | 1 |"
        in markdown
    )
    assert "1,897 products, 97,106 events" in markdown
    assert "Feed (not served yet" in markdown


def test_markdown_sections_flatten_nested_values_and_tolerate_gaps() -> None:
    """Nested projection stats become dotted rows; missing numbers show a dash."""
    markdown = render_markdown(RESULTS)
    assert "| projections.catalog.seconds | 7.500 |" in markdown
    assert "| skipped | --no-freshness |" in markdown
    assert "| small | 1,897 | 97,106 | 58 | 1.23 | 4.00 | - | - | 101.5 |" in markdown
    assert "### Problems" not in markdown
    assert ratio(0.000312) == "0.000312"
    assert ratio(None) == "-"
    assert number(float("nan")) == "-"
    assert number(None) == "-"
