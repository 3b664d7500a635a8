"""CPU time and memory of the server's processes, read from /proc.

CPU time per request is steadier than throughput on a shared two-core
machine: wrk and the server compete for the same cores, so requests per
second move with whatever else runs, while the CPU the server spends on one
request barely does. uvicorn with several workers is a parent plus worker
children, so every figure here sums the whole process tree.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import percentile

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class StatLine:
    """The fields of one /proc/<pid>/stat line the benchmark needs."""

    pid: int
    ppid: int
    utime_ticks: int
    stime_ticks: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime_ticks + self.stime_ticks


def parse_stat(line: str) -> StatLine:
    """Parse /proc/<pid>/stat; the command name may hold spaces and parentheses,
    so fields are counted from the last ')'."""
    close = line.rindex(")")
    pid = int(line[: line.index("(")].strip())
    rest = line[close + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return StatLine(
        pid=pid, ppid=int(rest[1]), utime_ticks=int(rest[11]), stime_ticks=int(rest[12])
    )


def parse_status_kb(text: str, key: str) -> int | None:
    """A `Key:   1234 kB` value of /proc/<pid>/status, in kB."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def _read_stat(pid: int) -> StatLine | None:
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError):
        return None


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants (uvicorn's parent and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _read_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat.ppid, []).append(stat.pid)
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue.extend(children.get(pid, []))
    return sorted(tree)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds."""
    ticks = sum(stat.cpu_ticks for pid in pids if (stat := _read_stat(pid)) is not None)
    return ticks / CLOCK_TICKS


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process, in seconds."""
    return {
        pid: stat.cpu_ticks / CLOCK_TICKS for pid in pids if (stat := _read_stat(pid)) is not None
    }


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends serving `database`, when the server runs on this machine.

    Their title is "postgres: [cluster: ]user database host state"; on a
    shared two-core machine the database's CPU is part of what a request
    costs, so it is reported beside the server's."""
    pids = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            title = command_line(int(entry.name), limit=300)
            if title.startswith("postgres:") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of one process in kB, or None when it is gone."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    rss, hwm = parse_status_kb(text, "VmRSS"), parse_status_kb(text, "VmHWM")
    if rss is None or hwm is None:
        return None
    return rss, hwm


def command_line(pid: int, limit: int = 120) -> str:
    """The process's command line, shortened (tells the uvicorn parent from its workers)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:limit]


@dataclass
class RssSampler:
    """Samples VmRSS of each process in a background thread while a load runs.

    Steady RSS is the median of the samples (what the process holds under
    load); peak is VmHWM at the end (the kernel's own high-water mark, which
    also catches spikes between samples)."""

    pids: list[int]
    interval: float = 0.2
    samples: dict[int, list[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            for pid in self.pids:
                memory = memory_kb(pid)
                if memory is not None:
                    self.samples.setdefault(pid, []).append(memory[0])
            if self._stop.wait(self.interval):
                return

    def result(self) -> dict[str, object]:
        """Per process and summed: steady (median VmRSS) and peak (VmHWM), in MB."""
        processes: list[dict[str, object]] = []
        totals: list[tuple[float, float]] = []
        for pid in self.pids:
            memory = memory_kb(pid)
            samples = self.samples.get(pid, [])
            steady = percentile(samples, 50) / 1024 if samples else 0.0
            peak = memory[1] / 1024 if memory else (max(samples) / 1024 if samples else 0.0)
            totals.append((steady, peak))
            processes.append(
                {
                    "pid": pid,
                    "command": command_line(pid),
                    "steady_rss_mb": round(steady, 1),
                    "peak_rss_mb": round(peak, 1),
                }
            )
        return {
            "processes": processes,
            "steady_rss_mb": round(sum(steady for steady, _ in totals), 1),
            "peak_rss_mb": round(sum(peak for _, peak in totals), 1),
        }


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine_info() -> dict[str, object]:
    """What the numbers depend on: cores, CPU, memory, Python, wrk, load at the start."""
    import platform
    import subprocess

    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    def first_line(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        return (
            (done.stdout or done.stderr).strip().splitlines()[0]
            if (done.stdout or done.stderr).strip()
            else "unknown"
        )

    memory = parse_status_kb(read("/proc/meminfo"), "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(read("/proc/cpuinfo")),
        "memory_gb": round(memory / 1024 / 1024, 1) if memory else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": first_line(["wrk", "--version"]),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": first_line(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"]
        ),
    }
