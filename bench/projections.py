"""Seeding, projecting and rebuilding, each measured in a child process.

The work runs in `python -m bench.projections_worker ...` so the parent can
sample the child's resident memory from /proc while it runs: the
projector's memory is a sizing input for deployments, and the bench process
itself (with its own imports and results) would blur it. The child speaks
one JSON object per stdout line (see bench.projections_worker): `progress`
messages, which the parent renders as rich progress bars so a long medium
seed visibly moves, and one final `result`. Other stdout lines are echoed;
the child's stderr tail ends up in the RuntimeError raised when it fails.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

from rich.progress import Progress as ProgressBars
from rich.progress import TaskID

from bench import projections_worker
from bench.projections_worker import ChildResult, StageProgress, parse_line
from bench.stats import percentile
from infra.progress import console, progress_bar
from readmodels.demo import SCALES

REPO_ROOT = Path(__file__).resolve().parents[1]
RSS_INTERVAL_S = 0.1
STDERR_TAIL_CHARS = 4000


# --- memory sampling (parent) ------------------------------------------------


def parse_vm_rss_mb(status: str) -> float | None:
    """VmRSS from the text of /proc/<pid>/status, in MiB; None when absent (a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1]) / 1024
    return None


def read_rss_mb(pid: int) -> float | None:
    try:
        return parse_vm_rss_mb(Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None


def rss_summary(samples: Sequence[float]) -> tuple[float, float]:
    """(peak, median) in MiB, rounded to a tenth."""
    if not samples:
        return float("nan"), float("nan")
    return round(max(samples), 1), round(percentile(samples, 50), 1)


# --- running a child (parent) ------------------------------------------------


@dataclass(slots=True)
class ChildRun:
    """What the parent saw of one child: its result (if any) and RSS samples by stage."""

    result: dict[str, Any] | None
    rss_by_stage: dict[str, list[float]]

    def rss(self, stage_prefix: str = "") -> list[float]:
        return [
            mb
            for stage, samples in self.rss_by_stage.items()
            if stage.startswith(stage_prefix)
            for mb in samples
        ]


def _pump(stream: IO[str], queue: Queue[str | None]) -> None:
    for line in stream:
        queue.put(line)
    queue.put(None)


class _Bars:
    """One rich progress bar per stage, created when the child first reports it.

    A stage ends when the next one starts, so a bar without a total (or with
    an estimated one) still ends full.
    """

    def __init__(self, bars: ProgressBars) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}
        self._current: TaskID | None = None

    def show(self, message: StageProgress) -> None:
        task = self._tasks.get(message.stage)
        if task is None:
            self.finish()
            task = self._tasks[message.stage] = self._bars.add_task(message.stage)
            self._current = task
        self._bars.update(task, completed=message.done, total=message.total)

    def finish(self) -> None:
        if self._current is not None:
            done = max(1, int(self._bars.tasks[self._current].completed))
            self._bars.update(self._current, completed=done, total=done)
            self._current = None


def run_child(args: Sequence[str]) -> tuple[dict[str, Any], ChildRun]:
    """Run `python -m bench.projections_worker <args>`, sampling its VmRSS every ~100 ms."""
    command = [sys.executable, "-m", "bench.projections_worker", *args]
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            run = _watch(process)
        except BaseException:
            process.kill()
            process.wait()
            raise
        stderr.seek(0)
        tail = stderr.read()[-STDERR_TAIL_CHARS:]
    if process.returncode != 0 or run.result is None:
        outcome = f"exited with {process.returncode}"
        if process.returncode == 0:
            outcome += " without a result line"
        raise RuntimeError(
            f"`python -m bench.projections_worker {args[0]}` {outcome}; stderr tail:\n{tail}"
        )
    return run.result, run


class _Watch:
    """Follows one child: samples its RSS under the current stage, renders its messages."""

    def __init__(self, process: subprocess.Popen[str], bars: _Bars) -> None:
        assert process.stdout is not None
        self.run = ChildRun(None, {})
        self.finished = False
        self._pid = process.pid
        self._bars = bars
        self._stage = "start"
        self._lines: Queue[str | None] = Queue()
        threading.Thread(target=_pump, args=(process.stdout, self._lines), daemon=True).start()

    def sample(self) -> None:
        rss = read_rss_mb(self._pid)
        if rss is not None:
            self.run.rss_by_stage.setdefault(self._stage, []).append(rss)

    def drain(self, seconds: float) -> None:
        """Handle the child's lines for up to `seconds`, or until its stdout closes."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except Empty:
                return
            if line is None:
                self.finished = True
                return
            self._handle(line)

    def _handle(self, line: str) -> None:
        message = parse_line(line)
        if isinstance(message, StageProgress):
            self._stage = message.stage
            self._bars.show(message)
        elif isinstance(message, ChildResult):
            self.run.result = message.values
        elif line.strip():
            console.print(line.rstrip(), style="dim", markup=False, highlight=False)


def _watch(process: subprocess.Popen[str]) -> ChildRun:
    with progress_bar() as progress:
        bars = _Bars(progress)
        watch = _Watch(process, bars)
        while not watch.finished:
            watch.sample()
            watch.drain(RSS_INTERVAL_S)
        bars.finish()
    process.wait()
    return watch.run


def measure_seed(database_url: str, scale_name: str, now: datetime) -> dict[str, Any]:
    """Migrate, seed `scale_name` and project it all, in a child; timings plus its RSS."""
    if scale_name not in SCALES:
        raise ValueError(f"unknown scale {scale_name!r} (known: {', '.join(SCALES)})")
    result, run = run_child(["seed", database_url, scale_name, now.isoformat()])
    peak, median = rss_summary(run.rss())
    append_peak, _ = rss_summary(run.rss("append"))
    project_peak, _ = rss_summary(run.rss("project"))
    return {
        **result,
        "projector_peak_rss_mb": peak,
        "projector_median_rss_mb": median,
        "append_peak_rss_mb": append_peak,
        "project_peak_rss_mb": project_peak,
    }


def measure_rebuild(database_url: str) -> dict[str, Any]:
    """Rebuild the catalog read model from the whole log, in a child; time plus its RSS."""
    result, run = run_child(["rebuild", database_url])
    peak, median = rss_summary(run.rss())
    return {**result, "peak_rss_mb": peak, "median_rss_mb": median}


if __name__ == "__main__":
    sys.exit(projections_worker.main(sys.argv[1:]))
