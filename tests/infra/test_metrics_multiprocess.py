"""Multiprocess metrics without a server: worker processes mirror their process-local
counts into one directory, and the merge sums counters and merges gauges by mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.multiprocess import MultiProcessCollector

from infra.metrics_files import prepare_directory, run_of

ROOT = Path(__file__).resolve().parents[2]


def run_worker(directory: Path, steps: list[dict[str, Any]], *, released: bool = False) -> int:
    """Run tests/infra/metrics_worker.py in its own process; its pid."""
    finished = subprocess.run(
        [sys.executable, "-m", "tests.infra.metrics_worker", orjson.dumps(steps).decode()]
        + (["release"] if released else []),
        cwd=ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(finished.stdout.strip())


def merged(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every merged sample, as /metrics under workers shows it."""
    collector = MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def step(hits: float, rejected: dict[str, float], **gauges: float) -> dict[str, Any]:
    return {
        "counters": {"vitrine_cache_l1_hits": hits, "vitrine_rate_limit_rejected": rejected},
        "gauges": gauges,
    }


def test_counters_sum_and_gauges_merge_by_mode(tmp_path: Path) -> None:
    """Counters add up over workers (a restarted source counts anew); l1 bytes add up,
    compiled plans take the max, a ratio stays per pid; a released worker's gauges leave
    the merge while its counts stay."""
    first = run_worker(
        tmp_path,
        [
            step(3, {"graphql": 1}, vitrine_cache_l1_bytes=10),
            step(
                5,
                {"graphql": 2},
                vitrine_cache_l1_bytes=100,
                vitrine_plans_compiled=4,
                vitrine_promotion_predicate_hit_ratio=0.5,
            ),
        ],
    )
    second = run_worker(
        tmp_path,
        [
            step(7, {"events": 1}),
            step(
                2,
                {"events": 1},
                vitrine_cache_l1_bytes=50,
                vitrine_plans_compiled=6,
                vitrine_promotion_predicate_hit_ratio=0.25,
            ),
        ],
        released=False,
    )
    samples = merged(tmp_path)
    assert samples[("vitrine_cache_l1_hits_total", ())] == 5 + 7 + 2
    assert samples[("vitrine_rate_limit_rejected_total", (("policy", "graphql"),))] == 2
    assert samples[("vitrine_rate_limit_rejected_total", (("policy", "events"),))] == 1
    assert samples[("vitrine_cache_l1_bytes", ())] == 150
    assert samples[("vitrine_plans_compiled", ())] == 6
    ratios = {k: v for k, v in samples.items() if k[0] == "vitrine_promotion_predicate_hit_ratio"}
    assert ratios == {
        ("vitrine_promotion_predicate_hit_ratio", (("pid", str(first)),)): 0.5,
        ("vitrine_promotion_predicate_hit_ratio", (("pid", str(second)),)): 0.25,
    }

    released = run_worker(
        tmp_path,
        [step(1, {}, vitrine_cache_l1_bytes=1000, vitrine_plans_compiled=9)],
        released=True,
    )
    assert released not in (first, second)
    samples = merged(tmp_path)
    assert samples[("vitrine_cache_l1_hits_total", ())] == 15
    assert samples[("vitrine_cache_l1_bytes", ())] == 150
    assert samples[("vitrine_plans_compiled", ())] == 6


def test_a_new_run_removes_dead_processes_files(tmp_path: Path) -> None:
    """The first process of a new run removes every file of a dead process, keeps a live
    one's, and records the run."""
    gone, me = dead_pid(), os.getpid()
    names = [f"counter_{gone}.db", f"gauge_livesum_{gone}.db", f"histogram_{me}.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    prepare_directory(tmp_path, "process 1")
    assert sorted(p.name for p in tmp_path.glob("*.db")) == [f"histogram_{me}.db"]
    assert (tmp_path / ".run").read_text() == "process 1"


def test_joining_a_run_drops_only_dead_workers_live_gauges(tmp_path: Path) -> None:
    """A worker joining the same run removes a dead sibling's live gauges only: its
    counters and its non-live gauges stay."""
    gone = dead_pid()
    (tmp_path / ".run").write_text("workers of 42")
    names = [f"counter_{gone}.db", f"gauge_livemax_{gone}.db", f"gauge_max_{gone}.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    prepare_directory(tmp_path, "workers of 42")
    assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(
        [f"counter_{gone}.db", f"gauge_max_{gone}.db"]
    )


def test_a_missing_directory_is_created(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR may name a directory that does not exist yet."""
    directory = tmp_path / "a" / "b"
    prepare_directory(directory, "process 7")
    assert directory.is_dir()
    assert list(directory.glob("*.db")) == []


# A supervisor that forks its workers itself, as gunicorn does (no multiprocessing): each
# worker prepares the directory, writes a counter file, and prints its pid and run.
FORKING_SUPERVISOR = """
import os, sys
from pathlib import Path
from infra.metrics_files import current_run, prepare_directory
directory = Path(sys.argv[1])
for _ in range(2):  # the second worker starts once the first has exited, as a restart does
    pid = os.fork()
    if pid == 0:
        prepare_directory(directory, current_run())
        (directory / f"counter_{os.getpid()}.db").write_bytes(b"")
        print(os.getpid(), current_run(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
print(os.getpid(), flush=True)
"""


def supervise(directory: Path) -> tuple[int, list[tuple[int, str]]]:
    """Run FORKING_SUPERVISOR; its pid and each worker's (pid, run)."""
    finished = subprocess.run(
        [sys.executable, "-c", FORKING_SUPERVISOR, str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    *workers, supervisor = finished.stdout.splitlines()
    pairs = [line.split(" ", 1) for line in workers]
    return int(supervisor), [(int(pid), run) for pid, run in pairs]


def test_workers_forked_without_multiprocessing_share_a_run(tmp_path: Path) -> None:
    """Workers one supervisor forks (gunicorn's way) are one run named by the supervisor's
    pid and start time: a restarted worker keeps its dead sibling's counters. The next
    supervisor is a new run and clears the last run's files."""
    supervisor, workers = supervise(tmp_path)
    (first, run), (second, same) = workers
    assert run == same
    assert run.startswith(f"children of {supervisor} started ")
    assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(
        [f"counter_{first}.db", f"counter_{second}.db"]
    )
    _, [(third, next_run), (fourth, _)] = supervise(tmp_path)
    assert next_run != run
    assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(
        [f"counter_{third}.db", f"counter_{fourth}.db"]
    )


def test_a_run_is_named_by_pid_start_time_and_boot() -> None:
    """The start time is field 22 of /proc/<pid>/stat, read past a command name that holds
    spaces and parentheses; without a readable stat line, the pid alone names the run."""
    stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 5365760"
    assert (
        run_of("children of", 4242, stat, "b00t") == "children of 4242 started 987654 of boot b00t"
    )
    assert run_of("process", 1, stat, None) == "process 1 started 987654 of boot unknown"
    assert run_of("children of", 4242, None, "b00t") == "children of 4242"
    assert run_of("children of", 4242, "4242 (cut) S 1", "b00t") == "children of 4242"
